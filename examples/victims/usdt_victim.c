/* A program with USDT probes (<sys/sdt.h>, Debian's systemtap-sdt-dev):
 *   skep_victim:tick(int i, long i*i)  once per iteration, N times (default 5)
 *   skep_victim:done(int n)            once at the end
 * Prints "usdt_victim: N ticks" and exits 0. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/sdt.h>

__attribute__((noinline)) static long tick(int i)
{
	long sq = (long)i * i;
	DTRACE_PROBE2(skep_victim, tick, i, sq);
	return sq;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 5;
	long total = 0;
	for (int i = 1; i <= n; i++)
		total += tick(i);
	DTRACE_PROBE1(skep_victim, done, n);
	printf("usdt_victim: %d ticks, total %ld\n", n, total);
	return 0;
}
