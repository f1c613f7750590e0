/* The checked engine's helper-call check: before a helper runs, r1..r5 are validated
 * against the helper's prototype (include/skep/helpers.h, in the kernel's vocabulary),
 * as the kernel's check_helper_call does statically, but on the values at hand:
 *
 *   CONST_MAP_PTR      one of the maps the running program references (or an inner map
 *                      a map-in-map lookup of this run returned)
 *   MAP_KEY/VALUE      key_size / value_size bytes of the map argument before it
 *   PTR_TO_MEM (+SIZE) [ptr, ptr + size) inside one frame or region, writable unless
 *                      MEM_RDONLY; NULL only with a zero size (or MAYBE_NULL)
 *   CTX                the run's context (r1 at entry of the outermost run)
 *   SPIN_LOCK          4-aligned in a referenced map that has a lock (array: exactly
 *                      a value's lock word)
 *   RINGBUF_MEM        a record this run reserved and has not submitted or discarded,
 *                      its header intact
 *   FUNC               a callback descriptor of the running code, for this engine
 *   STACK              NULL (when allowed) or inside an active frame
 *   CONST_STR          NUL-terminated inside one readable frame or region
 *
 * Only helpers bound to their table implementation (Skep's, or an embedder's registered
 * one) are checked: a binding made with skep_prog_set_helper has no prototype (its
 * author bound it explicitly) and is let through, as are ids with no prototype. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "exec.h"
#include "isa/isa.h"
#include "maps/map.h"
#include "skep/helpers.h"

__thread struct hc_run *hc_cur;

void hc_begin(struct hc_run *h, uint64_t ctx, int top)
{
	memset(h, 0, sizeof *h);
	h->prev = hc_cur;
	h->top = top || !h->prev;
	h->ctx = h->top ? ctx : h->prev->ctx;
	if (!h->top && exec_run_cur)
		h->pstack = exec_run_cur->stack, h->pstack_size = exec_run_cur->stack_size;
	hc_cur = h;
}

static uint64_t page(void) { return (uint64_t)sysconf(_SC_PAGESIZE); }

/* Is the record's header still the one reserve wrote (commit finds the ring from it)? */
static int rec_intact(const struct hc_rec *r)
{
	uint64_t hdr = (uint64_t)(uintptr_t)r->rec - 8, pg = page();
	uint64_t lo = (uint64_t)(uintptr_t)r->map->base;
	uint32_t pgoff;
	memcpy(&pgoff, (const void *)(uintptr_t)(hdr + 4), 4);
	return (hdr & ~(pg - 1)) - (uint64_t)pgoff * pg == lo;
}

void hc_end(struct hc_run *h)
{
	/* a record the program leaked would stop the ring's consumer: discard it */
	for (uint32_t i = 0; i < h->nrec; i++)
		if (rec_intact(&h->rec[i]))
			map_ringbuf_discard(h->rec[i].rec, 0);
	hc_cur = h->prev;
}

/* Runs of this program's run: h and its enclosing callback runs, up to the top one. */
#define FOR_RUNS(x) for (struct hc_run *x = hc_cur; x; x = x->top ? NULL : x->prev)

static struct skep_map *find_map(const struct skep_prog *p, const struct skep_prog *cur, uint64_t v)
{
	struct skep_map *m = (struct skep_map *)(uintptr_t)v;
	for (uint32_t i = 0; i < cur->nmaps; i++)
		if (cur->maps[i] == m)
			return m;
	for (uint32_t i = 0; i < p->nmaps; i++)
		if (p->maps[i] == m)
			return m;
	FOR_RUNS(h)
		for (uint32_t i = 0; i < h->ninner; i++)
			if (h->inner[i] == m)
				return m;
	return NULL;
}

/* The frame or region holding [addr, addr + size): its end, or 0. *ro: read-only. */
static uint64_t find_mem(const struct hc_env *e, uint64_t addr, uint64_t size, int write, int *ro)
{
	uint64_t end = addr + size;
	*ro = 0;
	if (end < addr)
		return 0;
	uint64_t lo = (uint64_t)(uintptr_t)e->stack;
	if (addr >= lo && end <= lo + e->stack_size) {  /* within one frame, as loads */
		uint64_t fend = lo + ((addr - lo) / SKEP_STACK_SIZE + 1) * SKEP_STACK_SIZE;
		if (end <= fend)
			return fend;
	}
	for (size_t i = 0; i < e->a->nregions; i++) {
		const struct skep_region *r = &e->a->regions[i];
		uint64_t rlo = (uint64_t)(uintptr_t)r->base;
		if (addr < rlo || end > rlo + r->size)
			continue;
		if (!write || r->writable)
			return rlo + r->size;
		*ro = 1;
	}
	return 0;
}

static const char *const wr[] = {"readable", "writable"};

/* Error for argument i; returns err. */
#define FAIL(err, ...) arg_fail(e, i, (err), __VA_ARGS__)
static int arg_fail(const struct hc_env *e, int i, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int arg_fail(const struct hc_env *e, int i, int err, const char *fmt, ...)
{
	char why[200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	return prog_fail(e->p, err, "insn %zu: %s arg %d (r%d) %s", e->insn, e->proto->name, i + 1,
			 i + 1, why);
}

static int check_mem(const struct hc_env *e, int i, uint64_t addr, uint64_t size, int write,
		     int maybe_null)
{
	int ro;
	if (!addr && (!size || maybe_null))  /* NULL: with a zero size, as the kernel */
		return 0;
	if (!size) {  /* the pointer must still point into (or just past) some memory */
		if (find_mem(e, addr, 0, 0, &ro) || (addr && find_mem(e, addr - 1, 1, 0, &ro)))
			return 0;
		return FAIL(-EFAULT, "= 0x%llx is not a pointer into the stack, context or caller memory",
			    (unsigned long long)addr);
	}
	if (find_mem(e, addr, size, write, &ro))
		return 0;
	return FAIL(-EFAULT, "= 0x%llx: %llu %s bytes there are %s", (unsigned long long)addr,
		    (unsigned long long)size, wr[write],
		    ro ? "in read-only memory" : "outside the stack, context and caller memory");
}

/* In an active frame of this run or of the runs that called back into it? */
static int on_stack(const struct hc_env *e, uint64_t v)
{
	uint64_t lo = (uint64_t)(uintptr_t)e->stack;
	if (v >= lo && v < lo + e->stack_size)
		return 1;
	FOR_RUNS(h) {
		lo = (uint64_t)(uintptr_t)h->pstack;
		if (h->pstack && v >= lo && v < lo + h->pstack_size)
			return 1;
	}
	return 0;
}

static int check_spin_lock(const struct hc_env *e, int i, uint64_t v)
{
	const struct skep_prog *p = e->cur;
	for (int pass = 0; pass < 2; pass++, p = e->p)
		for (uint32_t k = 0; k < p->nmaps; k++) {
			const struct skep_map *m = p->maps[k];
			uint64_t lo = (uint64_t)(uintptr_t)m->data, hi = (uint64_t)(uintptr_t)m->base + m->map_len;
			if (!m->lock_off || v < lo || v + 4 > hi || (v & 3))
				continue;
			if (m->type == SKEP_MAP_TYPE_ARRAY &&
			    ((v - lo) % m->esize != m->lock_off - 1 || (v - lo) / m->esize >= m->max_entries))
				continue;
			return 0;
		}
	return FAIL(-EFAULT, "= 0x%llx is not the bpf_spin_lock of a map value", (unsigned long long)v);
}

static int check_cstr(const struct hc_env *e, int i, uint64_t v)
{
	int ro;
	uint64_t end = v ? find_mem(e, v, 1, 0, &ro) : 0;
	if (end && memchr((const void *)(uintptr_t)v, 0, end - v))
		return 0;
	return FAIL(-EFAULT, "= 0x%llx is not a NUL-terminated string inside readable memory",
		    (unsigned long long)v);
}

static int check_record(const struct hc_env *e, int i, uint64_t v)
{
	FOR_RUNS(h)
		for (uint32_t k = 0; k < h->nrec; k++) {
			if ((uint64_t)(uintptr_t)h->rec[k].rec != v)
				continue;
			if (!rec_intact(&h->rec[k]))
				return FAIL(-EFAULT, "= 0x%llx: the ring buffer record's header was overwritten",
					    (unsigned long long)v);
			h->rec[k] = h->rec[--h->nrec];  /* submit and discard release it */
			return 0;
		}
	return FAIL(-EFAULT, "= 0x%llx is not a ring buffer record this run reserved and has "
		    "not submitted or discarded", (unsigned long long)v);
}

int helper_check(const struct hc_env *e, uint32_t id, skep_helper_fn fn, const uint64_t r[5])
{
	const struct skep_helper_proto *pr = skep_helper_proto(id);
	if (!pr || fn != skep_helper_impl(id))
		return 0;  /* no prototype, or bound by hand: the binder's responsibility */
	struct hc_env env = *e;
	env.proto = pr;
	env.ctx = hc_cur ? hc_cur->ctx : e->ctx;
	e = &env;
	const struct skep_map *map = NULL;
	int err = 0;
	for (int i = 0; i < 5 && !err; i++) {
		unsigned t = pr->arg[i], base = t & SKEP_ARG__BASE;
		int null_ok = !!(t & SKEP_ARG_MAYBE_NULL), write = !(t & SKEP_ARG_RDONLY);
		uint64_t v = r[i];
		switch (base) {
		case SKEP_ARG_CONST_MAP_PTR:
			if (!(map = find_map(e->p, e->cur, v)))
				err = FAIL(-EFAULT, "is not a map this program references");
			break;
		case SKEP_ARG_PTR_TO_MAP_KEY:
		case SKEP_ARG_PTR_TO_MAP_VALUE:
			if (!map)
				err = FAIL(-EINVAL, "has no map argument before it");
			else
				err = check_mem(e, i, v, base == SKEP_ARG_PTR_TO_MAP_KEY ? map->key_size : map->value_size,
						!!(t & SKEP_ARG_UNINIT), null_ok);
			break;
		case SKEP_ARG_PTR_TO_MEM: {
			unsigned next = i < 4 ? pr->arg[i + 1] & SKEP_ARG__BASE : 0;
			uint64_t size = t & SKEP_ARG_FIXED_SIZE ? pr->arg_size[i]
					: next == SKEP_ARG_CONST_SIZE || next == SKEP_ARG_CONST_SIZE_OR_ZERO ? r[i + 1] : 1;
			int sized = next == SKEP_ARG_CONST_SIZE || next == SKEP_ARG_CONST_SIZE_OR_ZERO;
			if (next == SKEP_ARG_CONST_SIZE && !size)
				err = arg_fail(e, i + 1, -EINVAL, "size must not be 0");
			else  /* a sized NULL only with size 0 (check_helper_mem_access) */
				err = check_mem(e, i, v, size, write, null_ok && !sized);
			break;
		}
		case SKEP_ARG_PTR_TO_CTX:
			if (v != e->ctx && !(null_ok && !v))
				err = FAIL(-EFAULT, "= 0x%llx is not the program's context", (unsigned long long)v);
			break;
		case SKEP_ARG_PTR_TO_SPIN_LOCK:
			err = check_spin_lock(e, i, v);
			break;
		case SKEP_ARG_PTR_TO_RINGBUF_MEM:
			err = check_record(e, i, v);
			break;
		case SKEP_ARG_PTR_TO_FUNC:
			if ((v & EXEC_CB_MASK) != EXEC_CB_MASK || !interp_callback_valid(e->code, v))
				err = FAIL(-EFAULT, "= 0x%llx is not a callback of this program", (unsigned long long)v);
			break;
		case SKEP_ARG_PTR_TO_STACK:
			if (!(null_ok && !v) && !on_stack(e, v))
				err = FAIL(-EFAULT, "= 0x%llx is not a pointer to the stack", (unsigned long long)v);
			break;
		case SKEP_ARG_PTR_TO_CONST_STR:
			err = check_cstr(e, i, v);
			break;
		default:  /* sizes (checked with their memory), ANYTHING, DONTCARE */
			break;
		}
	}
	return err;
}

uint64_t helper_checked_ret(uint32_t id, skep_helper_fn fn, const uint64_t r[5], uint64_t r0)
{
	struct hc_run *h = hc_cur;
	if (!h || !r0 || !skep_helper_proto(id) || fn != skep_helper_impl(id))
		return r0;
	struct skep_map *m = (struct skep_map *)(uintptr_t)r[0];
	if (id == SKEP_FUNC_ringbuf_reserve) {
		if (h->nrec < HC_MAX_RECORDS) {
			h->rec[h->nrec++] = (struct hc_rec){(void *)(uintptr_t)r0, m};
			return r0;
		}
		map_ringbuf_discard((void *)(uintptr_t)r0, 0);  /* too many in flight: as if full */
		return 0;
	}
	if (id == SKEP_FUNC_map_lookup_elem && h->ninner < HC_MAX_INNER &&
	    (m->type == SKEP_MAP_TYPE_ARRAY_OF_MAPS || m->type == SKEP_MAP_TYPE_HASH_OF_MAPS))
		h->inner[h->ninner++] = (struct skep_map *)(uintptr_t)r0;
	return r0;
}

/* bpf_tail_call(ctx, prog_array, index): a jump inside the engine, checked as the kernel's
 * prototype says (CTX, CONST_MAP_PTR of a PROG_ARRAY): r2 must be the tail-call table of
 * a prog array the running program (or the one run) references. */
int helper_check_tail_call(const struct hc_env *e, const uint64_t r[5])
{
	struct hc_env env = *e;
	env.proto = skep_helper_proto(SKEP_HELPER_TAIL_CALL);
	env.ctx = hc_cur ? hc_cur->ctx : e->ctx;
	e = &env;
	int i = 0;
	if (!e->proto)
		return prog_fail(e->p, -EFAULT, "insn %zu: bpf_tail_call has no prototype", e->insn);
	if (r[0] != e->ctx)
		return FAIL(-EFAULT, "= 0x%llx is not the program's context", (unsigned long long)r[0]);
	i = 1;
	const struct skep_prog *ps[2] = {e->cur, e->p};
	for (int k = 0; k < 2; k++)
		for (uint32_t m = 0; m < ps[k]->nmaps; m++) {
			const struct skep_prog_array *t = prog_array_shadow(ps[k]->maps[m]);
			if (t && (uint64_t)(uintptr_t)t == r[1])
				return 0;
		}
	return FAIL(-EFAULT, "= 0x%llx is not a prog array this program references", (unsigned long long)r[1]);
}
