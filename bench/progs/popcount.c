/* Population count (SWAR, no popcnt instruction in BPF) of every 64-bit word,
 * 8 passes over the input with a different mask each. */
#include "bench.h"
#define BENCH_DESC "SWAR popcount of 128 words, 8 passes"

INLINE u64 bench_fn(u8 *m)
{
	u64 c = 0;
	for (u32 pass = 0; pass < 8; pass++) {
		u64 k = (u64)pass * 0x9e3779b97f4a7c15ull;
		for (u32 i = 0; i < IN_SIZE; i += 8) {
			u64 x = LD64(m, i) ^ k;
			x = x - ((x >> 1) & 0x5555555555555555ull);
			x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
			x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0full;
			c += (x * 0x0101010101010101ull) >> 56;
		}
		c = c * 31 + pass;
	}
	return c;
}
