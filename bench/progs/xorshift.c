/* xorshift64 from a seed read from the input, 4096 steps: pure ALU, no memory. */
#include "bench.h"
#define BENCH_DESC "xorshift64, 4096 steps"

INLINE u64 bench_fn(u8 *m)
{
	u64 x = LD64(m, 0) | 1, acc = 0;
	for (u32 i = 0; i < 4096; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		acc += x ^ i;
	}
	return acc;
}
