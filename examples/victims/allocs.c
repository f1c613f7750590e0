/* A program to trace (skep trace examples): deterministic calls to probe.
 *
 *   allocs [N [EXIT]]   calls compute() N times (default 10), allocates 12345 bytes at
 *                       one call site exactly 7 times and 100 bytes at another N times,
 *                       prints "allocs: N calls, sum S" and exits with status EXIT
 *   allocs --fork N     the same, N calls in the parent and N in a forked child
 *   allocs --exec N     runs itself again through execv (as "allocs N") and exits with
 *                       its status
 *   allocs --threads T N  T threads each calling compute() N times
 *
 * compute() spins for about (x % 4 + 1) microseconds, so its latency histogram has
 * known shape. Built with -O1 -fno-inline so each function is a real call site. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

__attribute__((noinline)) int compute(int x)
{
	uint64_t until = now_ns() + (uint64_t)(x % 4 + 1) * 1000;
	int acc = x;
	while (now_ns() < until)
		acc = acc * 31 + 7;
	return x * 2 + (acc & 0);
}

__attribute__((noinline)) void *big_alloc(void) { return malloc(12345); }
__attribute__((noinline)) void *small_alloc(void) { return malloc(100); }

static long run(int n)
{
	long sum = 0;
	for (int i = 0; i < n; i++)
		sum += compute(i);
	void *big[7];
	for (int i = 0; i < 7; i++)
		big[i] = big_alloc();
	for (int i = 0; i < 7; i++)
		free(big[i]);
	for (int i = 0; i < n; i++)
		free(small_alloc());
	return sum;
}

static void *thread_main(void *arg)
{
	return (void *)run((int)(intptr_t)arg);
}

int main(int argc, char **argv)
{
	if (argc > 2 && !strcmp(argv[1], "--exec")) {
		char *args[] = {argv[0], argv[2], NULL};
		fflush(stdout);
		execv("/proc/self/exe", args);
		perror("execv");
		return 127;
	}
	if (argc > 2 && !strcmp(argv[1], "--fork")) {
		int n = atoi(argv[2]);
		fflush(stdout);
		pid_t pid = fork();
		long sum = run(n);
		if (pid == 0) {
			printf("allocs child: %d calls, sum %ld\n", n, sum);
			return 0;
		}
		int st = 0;
		waitpid(pid, &st, 0);
		printf("allocs parent: %d calls, sum %ld, child status %d\n", n, sum, WEXITSTATUS(st));
		return 0;
	}
	if (argc > 3 && !strcmp(argv[1], "--threads")) {
		int t = atoi(argv[2]), n = atoi(argv[3]);
		pthread_t th[64];
		if (t > 64)
			t = 64;
		for (int i = 0; i < t; i++)
			pthread_create(&th[i], NULL, thread_main, (void *)(intptr_t)n);
		long sum = 0;
		for (int i = 0; i < t; i++) {
			void *r;
			pthread_join(th[i], &r);
			sum += (long)r;
		}
		printf("allocs: %d threads x %d calls, sum %ld\n", t, n, sum);
		return 0;
	}
	int n = argc > 1 ? atoi(argv[1]) : 10;
	int code = argc > 2 ? atoi(argv[2]) : 0;
	long sum = run(n);
	printf("allocs: %d calls, sum %ld\n", n, sum);
	return code;
}
