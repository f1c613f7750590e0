/* Calling a program's own function from a helper (bpf_loop, bpf_for_each_map_elem):
 * the value the program passed tells the engine (exec.h); the JIT's functions are
 * called natively with the run's block in r12, the interpreter's through
 * interp_callback with a fresh set of frames. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "exec.h"

__thread struct exec_run *exec_run_cur;

#if defined(__x86_64__)
/* exec_cb_native(r1, r2, r3, r4, r5, fn, blk): call JIT code at fn with r12 = blk (the
 * stack stays 16-byte aligned at the call: one push after our own return address). */
__attribute__((visibility("hidden"))) uint64_t exec_cb_native(uint64_t, uint64_t, uint64_t, uint64_t,
							       uint64_t, uint64_t, uint64_t);
__asm__(".text\n.globl exec_cb_native\n.hidden exec_cb_native\n.type exec_cb_native, @function\n"
	"exec_cb_native:\n\tpush %r12\n\tmov 16(%rsp), %r12\n\tcall *%r9\n\tpop %r12\n\tret\n"
	".size exec_cb_native, .-exec_cb_native\n");
#endif

int exec_cb_begin(struct exec_cb *cb, uint64_t fn, uint64_t blk, const void *extra, size_t extra_size)
{
	memset(cb, 0, sizeof *cb);
	cb->fn = fn;
	cb->blk = blk;
	if (!(fn & EXEC_CB_INTERP)) {
#if defined(__x86_64__)
		return fn >= 4096 ? 0 : -EINVAL;
#else
		return -EOPNOTSUPP;
#endif
	}
	if (!(fn & EXEC_CB_CHECKED))
		return 0;
	/* the callback may touch what its caller may: the run's regions and the caller's
	 * active frames (where a loop's context usually lives) */
	struct exec_run *run = exec_run_cur;
	if (!run)
		return -EINVAL;
	size_t n = run->args->nregions;
	cb->regions = malloc((n + 2) * sizeof *cb->regions);
	if (!cb->regions)
		return -ENOMEM;
	if (n)
		memcpy(cb->regions, run->args->regions, n * sizeof *cb->regions);
	cb->regions[n++] = (struct skep_region){run->stack, run->stack_size, 1};
	if (extra)
		cb->regions[n++] = (struct skep_region){(void *)(uintptr_t)extra, extra_size, 0};
	cb->args.regions = cb->regions;
	cb->args.nregions = n;
	return 0;
}

int exec_cb_call(struct exec_cb *cb, uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4,
		 uint64_t r5, uint64_t *r0)
{
	if (!(cb->fn & EXEC_CB_INTERP)) {
#if defined(__x86_64__)
		*r0 = exec_cb_native(r1, r2, r3, r4, r5, cb->fn, cb->blk);
		return 0;
#else
		return -EOPNOTSUPP;
#endif
	}
	cb->args.r[0] = r1, cb->args.r[1] = r2, cb->args.r[2] = r3;
	cb->args.r[3] = r4, cb->args.r[4] = r5;
	struct exec_run *run = cb->fn & EXEC_CB_CHECKED ? exec_run_cur : NULL;
	char msg[256];
	int err = interp_callback(cb->fn, &cb->args, r0, msg, sizeof msg);
	if (err && run && !run->err) {
		run->err = err;
		memcpy(run->msg, msg, sizeof run->msg);
	}
	return err;
}

void exec_cb_end(struct exec_cb *cb)
{
	free(cb->regions);
	cb->regions = NULL;
}
