/* A small program with USDT probes (<sys/sdt.h> from systemtap-sdt-dev), for
 * `skep list usdt` (tests/cli/list.sh) and USDT examples:
 *   victim:start   one site, no arguments
 *   victim:work    two sites, three arguments, guarded by its semaphore
 *   victim:done    one site, a register and a constant
 * (every probe of the file has a semaphore: _SDT_HAS_SEMAPHORES is per file)
 * Usage: usdt_victim [N]  runs N rounds of work (default 3) and prints the total. */
#define _SDT_HAS_SEMAPHORES 1
#include <sys/sdt.h>
#include <stdio.h>
#include <stdlib.h>

__extension__ unsigned short victim_work_semaphore __attribute__((unused)) __attribute__((section(".probes")));
__extension__ unsigned short victim_start_semaphore __attribute__((unused)) __attribute__((section(".probes")));
__extension__ unsigned short victim_done_semaphore __attribute__((unused)) __attribute__((section(".probes")));

__attribute__((noinline)) static long work(int round, long acc)
{
	long sq = (long)round * round;
	if (victim_work_semaphore)
		DTRACE_PROBE3(victim, work, round, acc, sq);
	acc += sq;
	if (victim_work_semaphore && round % 2)
		DTRACE_PROBE3(victim, work, -round, acc, sq);
	return acc;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 3;
	long acc = 0;
	DTRACE_PROBE(victim, start);
	for (int i = 1; i <= n; i++)
		acc = work(i, acc);
	DTRACE_PROBE2(victim, done, acc, 7);
	printf("total %ld\n", acc);
	return 0;
}
