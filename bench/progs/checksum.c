/* Internet checksum (RFC 1071) over the 1 KiB input, 16-bit words, 8 passes each
 * seeded by the last so none can be merged. */
#include "bench.h"
#define BENCH_DESC "RFC 1071 checksum of 1 KiB, 8 passes"

INLINE u64 bench_fn(u8 *m)
{
	u64 acc = 0;
	for (u32 pass = 0; pass < 8; pass++) {
		u64 s = (acc & 0xffff) + pass;
		for (u32 i = 0; i < IN_SIZE; i += 2)
			s += LD16(m, i);
		s = (s & 0xffff) + (s >> 16);   /* 512 words < 2^25: three folds suffice */
		s = (s & 0xffff) + (s >> 16);
		s = (s & 0xffff) + (s >> 16);
		acc = (acc << 16 | acc >> 48) ^ (~s & 0xffff);
	}
	return acc;
}
