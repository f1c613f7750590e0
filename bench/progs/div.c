/* 64- and 32-bit unsigned division and modulo on every input word (divisors
 * forced non-zero so native C and BPF agree), 2 passes. */
#include "bench.h"
#define BENCH_DESC "4 div/mod (64 and 32 bit) per word, 2 passes"

INLINE u64 bench_fn(u8 *m)
{
	u64 acc = 0;
	for (u32 pass = 0; pass < 2; pass++) {
		for (u32 i = 0; i < IN_SIZE; i += 8) {
			u64 a = LD64(m, i);
			u64 b = (LD32(m, i + 12) >> pass) | 1;
			u32 x = (u32)a ^ pass, y = (u32)(a >> 40) | 1;
			acc += a / b;
			acc ^= a % (b | 0x100);
			acc += x / y + x % (y + 7);
		}
	}
	return acc;
}
