/* bpf_get_stackid and bpf_get_stack: the user stack of the thread running the program,
 * by glibc's backtrace() (unwind tables, so the host needs no frame pointers).
 * Addresses are return addresses, innermost first, from the engine that runs the
 * program outwards (the kernel starts at the probed function; here the first frames
 * are Skep's own, so stacks from the same call site still compare equal); flags & 0xff
 * skips more frames. JIT code has no unwind tables: from a JIT-compiled program the
 * stack ends at the program's code. Only user stacks exist here: BPF_F_USER_STACK is
 * accepted and implied, BPF_F_USER_BUILD_ID is -EINVAL. */
#include <errno.h>
#include <execinfo.h>
#include <string.h>

#include "helpers.h"
#include "maps/map.h"

#define F_SKIP_MASK 0xffull
#define F_USER_STACK (1ull << 8)
#define F_FAST_STACK_CMP (1ull << 9)
#define F_REUSE_STACKID (1ull << 10)
#define F_USER_BUILD_ID (1ull << 11)
#define MAX_DEPTH 127   /* kernel.perf_event_max_stack */

/* Return addresses of the helper's callers (the helper itself and skip more are left
 * out); returns the count. */
static __attribute__((noinline)) uint32_t walk(uint64_t *ips, uint32_t max, uint32_t skip)
{
	void *buf[MAX_DEPTH + 2 + 255];
	int n = backtrace(buf, (int)(max + 2 + skip));  /* [walk, the helper, callers...] */
	uint32_t out = 0;
	for (int i = 2 + (int)skip; i < n && out < max; i++)
		ips[out++] = (uint64_t)(uintptr_t)buf[i];
	return out;
}

#define OWN_FRAMES 0

HELPER(get_stackid)
{
	struct skep_map *m = PTR(r2);
	uint64_t flags = r3;
	if (flags & ~(F_SKIP_MASK | F_USER_STACK | F_FAST_STACK_CMP | F_REUSE_STACKID))
		return RET(-EINVAL);
	uint64_t ips[MAX_DEPTH];
	uint32_t n = walk(ips, MAX_DEPTH, OWN_FRAMES + (uint32_t)(flags & F_SKIP_MASK));
	return RET(map_stack_get_id(m, ips, n, flags & ~F_SKIP_MASK));
}

HELPER(get_stack)
{
	uint8_t *buf = PTR(r2);
	uint32_t size = (uint32_t)r3;
	uint64_t flags = r4;
	if (flags & ~(F_SKIP_MASK | F_USER_STACK | F_USER_BUILD_ID) || (flags & F_USER_BUILD_ID) ||
	    size % 8) {
		memset(buf, 0, size);
		return RET(-EINVAL);
	}
	uint64_t ips[MAX_DEPTH];
	uint32_t max = size / 8 < MAX_DEPTH ? size / 8 : MAX_DEPTH;
	uint32_t n = walk(ips, max, OWN_FRAMES + (uint32_t)(flags & F_SKIP_MASK));
	memcpy(buf, ips, n * 8);
	if (n * 8 < size)
		memset(buf + n * 8, 0, size - n * 8);
	return n * 8;
}
