/* Helpers that call back into the program: bpf_loop and bpf_for_each_map_elem. The
 * callback is a function of the running program; exec_cb_* (src/exec/callback.c) call
 * it on whichever engine runs the program. Their entry stubs pass the caller's r12 (the
 * JIT's per-run block) as a sixth argument. */
#include <errno.h>
#include <string.h>

#include "exec/exec.h"
#include "helpers.h"
#include "maps/map.h"

#define MAX_LOOPS (8u << 20)   /* the kernel's BPF_MAX_LOOPS */

EXEC_CB_HELPER(hlp_loop, hlp_loop_impl);
EXEC_CB_HELPER(hlp_for_each_map_elem, hlp_for_each_map_elem_impl);

uint64_t hlp_loop_impl(u64 nr, u64 fn, u64 ctx, u64 flags, u64 r5, u64 blk)
{
	uint32_t n = (uint32_t)nr, i;
	if (flags)
		return RET(-EINVAL);
	if (n > MAX_LOOPS)
		return RET(-E2BIG);
	struct exec_cb cb;
	int err = exec_cb_begin(&cb, fn, blk, NULL, 0);
	if (err)
		return RET(err);
	uint64_t ret = 0;
	for (i = 0; i < n; i++) {
		if ((err = exec_cb_call(&cb, i, ctx, 0, 0, 0, &ret)))
			break;
		if (ret) {  /* 1: stop (the verifier allows only 0 and 1) */
			i++;
			break;
		}
	}
	exec_cb_end(&cb);
	return err ? RET(err) : i;
}

struct each {
	struct exec_cb cb;
	uint64_t ctx;
	int err;
	uint32_t key_size;
	uint8_t key[512];   /* the callback sees a copy of the key, as the kernel's stack copy */
};

static long each_elem(struct skep_map *m, void *key, void *value, void *arg)
{
	struct each *e = arg;
	uint64_t ret = 0;
	void *k = key;
	if (e->key_size <= sizeof e->key) {
		memcpy(e->key, key, e->key_size);
		k = e->key;
	}
	e->err = exec_cb_call(&e->cb, (uintptr_t)m, (uintptr_t)k, (uintptr_t)value, e->ctx, 0, &ret);
	return e->err || ret;
}

uint64_t hlp_for_each_map_elem_impl(u64 map, u64 fn, u64 ctx, u64 flags, u64 r5, u64 blk)
{
	struct skep_map *m = PTR(map);
	if (flags)
		return RET(-EINVAL);
	struct each e = {.ctx = ctx, .key_size = m->key_size};
	int err = exec_cb_begin(&e.cb, fn, blk, e.key, m->key_size <= sizeof e.key ? m->key_size : 0);
	if (err)
		return RET(err);
	long n = map_for_each(m, each_elem, &e);
	exec_cb_end(&e.cb);
	return e.err ? RET(e.err) : RET(n);
}
