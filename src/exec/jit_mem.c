/* The JIT's executable memory, runs, and its public entry points.
 *
 * W^X: code is written into a private read+write mapping, which is then switched to
 * read+exec before anything can run it, and unmapped with the program. */
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "exec.h"
#include "jit.h"

void *jit_mem_map(size_t size, const void *hint, size_t *mapped)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	size_t sz = (size + pg - 1) / pg * pg;
	if (!sz)
		sz = pg;
	void *m = mmap((void *)hint, sz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return NULL;
	*mapped = sz;
	return m;
}

int jit_mem_seal(void *mem, size_t mapped)
{
	return mprotect(mem, mapped, PROT_READ | PROT_EXEC) ? -errno : 0;
}

void jit_mem_unmap(void *mem, size_t mapped)
{
	if (mem)
		munmap(mem, mapped);
}

void jit_free(struct jit_image *img)
{
	if (!img)
		return;
	jit_mem_unmap(img->code, img->map_size);
	free(img->insn_off);
	free(img->funcs);
	free(img);
}

int jit_run(struct skep_prog *p, const struct skep_run_args *args, uint64_t *r0)
{
	const struct jit_image *img = p->jit;
	if (__builtin_expect(!img, 0))
		return prog_fail(p, -EINVAL, "the program is not JIT-compiled");
	if (!img->block) /* nothing can fail and nothing reads the block */
		return *r0 = img->entry(args->r[0], args->r[1], args->r[2], args->r[3], args->r[4], NULL), 0;
	struct jit_block blk = {0, args->pkt, args->pkt ? args->pkt_len : 0, 0, 0, -1};
	*r0 = img->entry(args->r[0], args->r[1], args->r[2], args->r[3], args->r[4], &blk);
	if (__builtin_expect(blk.fault_insn >= 0, 0))
		return prog_fail(p, -E2BIG, "insn %lld: the call stack of %d frames is too deep",
				 (long long)blk.fault_insn, SKEP_MAX_CALL_DEPTH + 1);
	return 0;
}

skep_prog_fn skep_prog_func(skep_prog *p)
{
	return prog_jit(p) ? NULL : p->jit->fast;
}

int skep_prog_set_jit_harden(skep_prog *p, int on)
{
	if (p->jit_harden != !!on) {
		p->jit_harden = !!on;
		jit_free(p->jit);
		p->jit = NULL;
		prog_reg_changed(p);  /* a tail-call target keeps native code */
	}
	return 0;
}

int skep_prog_jited(skep_prog *p, struct skep_jited *out)
{
	int err = prog_jit(p);
	if (err)
		return err;
	const struct jit_image *img = p->jit;
	out->code = img->code;
	out->size = img->size;
	out->insn_off = img->insn_off;
	out->n = img->n;
	out->funcs = img->funcs;
	out->nfuncs = img->nfuncs;
	out->entry = img->entry_off;
	return 0;
}
