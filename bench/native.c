/* The native side: the same inline function compiled by gcc -O2, behind a
 * non-inlined symbol native_NAME (the harness keeps the buffer opaque). */
#include PROG_FILE

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)

const char CAT(SYM, _desc)[] = BENCH_DESC;

__attribute__((noinline)) u64 SYM(u8 *m)
{
	return bench_fn(m);
}
