/* Copy the 1 KiB input into the scratch half in 8-byte words, 32 passes each
 * rotated by one more word; a word of every pass is read back so none is dead. */
#include "bench.h"
#define BENCH_DESC "copy 1 KiB in 8-byte words, 32 passes"

INLINE u64 bench_fn(u8 *m)
{
	u64 acc = 0;
	for (u32 pass = 0; pass < 32; pass++) {
		for (u32 i = 0; i < IN_SIZE; i += 8)
			SST64(m, i + pass * 8, LD64(m, i));
		acc = acc * 3 + SLD64(m, pass * 24);
	}
	return acc;
}
