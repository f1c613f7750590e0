/* A tokenizer over the (text-like) input: numbers, words, separators, anything
 * else; data-dependent branches on every byte. */
#include "bench.h"
#define BENCH_DESC "tokenizer over 1 KiB of text, 2 passes"

INLINE u64 bench_fn(u8 *m)
{
	u64 sum = 0, hash = 5381, other = 0;
	u32 num = 0, tokens = 0, fields = 0, lines = 0, intok = 0;
	for (u32 pass = 0; pass < 2; pass++) {
		for (u32 i = 0; i < IN_SIZE; i++) {
			u32 c = LD8(m, i);
			if (c >= '0' && c <= '9') {
				num = num * 10 + (c - '0');
				intok = 1;
			} else if (c >= 'a' && c <= 'z') {
				hash = hash * 33 + c;
			} else if (c == ' ' || c == ',' || c == '\n') {
				if (intok) {
					sum += num;
					tokens++;
				}
				num = 0;
				intok = 0;
				if (c == ',')
					fields++;
				else if (c == '\n')
					lines++;
			} else {
				other = other * 7 + c;
			}
		}
	}
	return sum ^ hash ^ other ^ ((u64)tokens << 48) ^ ((u64)fields << 32) ^ ((u64)lines << 16);
}
