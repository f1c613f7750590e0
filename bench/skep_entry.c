/* Skep's side: the program as a plain memory program, u64 entry(u8 *mem, u64 len)
 * (r1 = mem, r2 = len), the only function in .text, so the raw section is the
 * bytecode (no relocations: the Makefile checks). */
#include PROG_FILE

u64 entry(u8 *m, u64 len)
{
	return bench_fn(m);
}
