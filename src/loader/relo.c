/* Programs of an object and their relocations, as libbpf builds them:
 *  - every function symbol of an executable section other than .text is a program
 *    (a section without any is one program named after it);
 *  - a program calls .text subprograms (call with src=BPF_PSEUDO_CALL, or a callback's
 *    address: lddw with src=BPF_PSEUDO_FUNC): each one it reaches is appended once, and
 *    the call's imm becomes the relative offset in the combined program;
 *  - lddw of a map symbol becomes src=BPF_PSEUDO_MAP_FD, of global data
 *    src=BPF_PSEUDO_MAP_VALUE with the offset in the next imm; the map's id goes in at
 *    load (until then imm is the map's index in the object). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "loader.h"
#include "isa/isa.h"

#define CODE_CALL (BPF_JMP | BPF_CALL)
#define CODE_LDDW (BPF_LD | BPF_IMM | BPF_DW)

static int cmp_prog(const void *a, const void *b)
{
	const struct skep_program *x = a, *y = b;
	if (x->sec != y->sec)
		return x->sec < y->sec ? -1 : 1;
	return x->sec_insn < y->sec_insn ? -1 : x->sec_insn > y->sec_insn;
}

/* A function symbol's extent in instructions; st_size 0 (hand-written assembly) runs
 * to the next function or the section's end. */
static int func_extent(skep_object *obj, size_t si, const struct elf_sym *y, uint32_t *start, uint32_t *n)
{
	const struct elf_sec *s = &obj->ef.secs[si];
	if (y->value % 8 || y->size % 8 || y->value >= s->size || y->size > s->size - y->value)
		return obj_fail(obj, -EINVAL, "section '%s': function '%s' (offset %llu, %llu bytes) is not whole "
				"instructions inside the section (%llu bytes)", s->name, y->name,
				(unsigned long long)y->value, (unsigned long long)y->size, (unsigned long long)s->size);
	uint64_t end = y->size ? y->value + y->size : s->size;
	if (!y->size)
		for (size_t i = 1; i < obj->ef.nsyms; i++) {
			const struct elf_sym *o = &obj->ef.syms[i];
			if (o->shndx == si && o->type == STT_FUNC && o->value > y->value && o->value < end)
				end = o->value;
		}
	*start = (uint32_t)(y->value / 8);
	*n = (uint32_t)((end - y->value) / 8);
	return 0;
}

static int add_prog(skep_object *obj, size_t si, const char *name, uint32_t start, uint32_t n)
{
	struct skep_program *v = realloc(obj->progs, (obj->nprogs + 1) * sizeof *v);
	if (!v)
		return obj_fail(obj, -ENOMEM, "out of memory");
	obj->progs = v;
	struct skep_program *p = &v[obj->nprogs++];
	memset(p, 0, sizeof *p);
	p->obj = obj;
	p->sec = si;
	p->sec_insn = start;
	p->ninsn = n;
	p->autoload = 1;
	if (!(p->name = strdup(name)))
		return obj_fail(obj, -ENOMEM, "out of memory");
	p->def = sec_def_find(obj->ef.secs[si].name, &p->target);
	if (p->def) {
		p->type = p->def->prog_type;
		p->attach_type = p->def->attach_type;
	}
	return 0;
}

int progs_collect(skep_object *obj)
{
	for (size_t si = 1; si < obj->ef.nsecs; si++) {
		const struct elf_sec *s = &obj->ef.secs[si];
		if (s->type != SHT_PROGBITS || !(s->flags & SHF_EXECINSTR))
			continue;
		if (s->size % 8)
			return obj_fail(obj, -EINVAL, "section '%s': %llu bytes is not a whole number of instructions",
					s->name, (unsigned long long)s->size);
		if (si == obj->text_sec || !s->size)
			continue;
		size_t before = obj->nprogs;
		for (size_t i = 1; i < obj->ef.nsyms; i++) {
			const struct elf_sym *y = &obj->ef.syms[i];
			if (y->shndx != si || y->type != STT_FUNC)
				continue;
			if (y->bind == STB_LOCAL)
				return obj_fail(obj, -EOPNOTSUPP, "section '%s': program '%s' is static: programs must be "
						"global functions (as libbpf requires)", s->name, y->name);
			uint32_t start, n;
			int rc = func_extent(obj, si, y, &start, &n);
			if (!rc && !n)
				rc = obj_fail(obj, -EINVAL, "section '%s': program '%s' has no instructions", s->name, y->name);
			if (!rc)
				rc = add_prog(obj, si, y->name, start, n);
			if (rc)
				return rc;
		}
		if (obj->nprogs == before) {   /* no symbols: the section is one program */
			int rc = add_prog(obj, si, s->name, 0, (uint32_t)(s->size / 8));
			if (rc)
				return rc;
		}
	}
	if (obj->nprogs)
		qsort(obj->progs, obj->nprogs, sizeof *obj->progs, cmp_prog);
	return 0;
}

/* ---- linking */

struct linker {
	skep_object *obj;
	struct skep_program *p;
	struct link_piece *pieces;
	size_t npieces;
	struct skep_insn *insns;
	uint8_t *done;       /* instructions whose relocation fixed them */
	size_t n, cap;
};

static int piece_add(struct linker *l, size_t sec, uint32_t src, uint32_t n)
{
	if (l->n + n > SKEP_MAX_INSNS)
		return obj_fail(l->obj, -E2BIG, "program '%s': more than %u instructions with its subprograms",
				l->p->name, SKEP_MAX_INSNS);
	if (l->n + n > l->cap) {
		size_t cap = (l->n + n) * 2;
		struct skep_insn *v = realloc(l->insns, cap * sizeof *v);
		uint8_t *d = v ? realloc(l->done, cap) : NULL;
		if (v)
			l->insns = v;
		if (!d)
			return obj_fail(l->obj, -ENOMEM, "out of memory");
		l->done = d;
		l->cap = cap;
	}
	struct link_piece *pc = realloc(l->pieces, (l->npieces + 1) * sizeof *pc);
	if (!pc)
		return obj_fail(l->obj, -ENOMEM, "out of memory");
	l->pieces = pc;
	pc[l->npieces++] = (struct link_piece){sec, src, n, (uint32_t)l->n};
	memcpy(l->insns + l->n, l->obj->ef.secs[sec].data + (size_t)src * 8, (size_t)n * 8);
	memset(l->done + l->n, 0, n);
	l->n += n;
	return 0;
}

/* Where the instruction at (sec, idx) lands in the combined program, appending the
 * .text function that starts there if needed.  -1 (with the error set) if none. */
static long call_target(struct linker *l, size_t at, size_t sec, int64_t idx)
{
	skep_object *obj = l->obj;
	for (size_t k = 0; k < l->npieces; k++) {
		const struct link_piece *pc = &l->pieces[k];
		if (pc->sec == sec && idx >= pc->src && idx < (int64_t)pc->src + pc->n)
			return (long)(pc->dst + (idx - pc->src));
	}
	if (sec != obj->text_sec || !sec) {
		obj_fail(obj, -EINVAL, "program '%s': the call at instruction %zu goes to instruction %lld of section '%s', "
			 "which is neither in the program nor a .text subprogram", l->p->name, at, (long long)idx,
			 obj->ef.secs[sec].name);
		return -1;
	}
	for (size_t i = 1; i < obj->ef.nsyms; i++) {
		const struct elf_sym *y = &obj->ef.syms[i];
		uint32_t start, n;
		if (y->shndx != sec || y->type != STT_FUNC || y->value != (uint64_t)idx * 8)
			continue;
		if (func_extent(obj, sec, y, &start, &n) || !n || piece_add(l, sec, start, n))
			return -1;
		return (long)l->pieces[l->npieces - 1].dst;
	}
	obj_fail(obj, -EINVAL, "program '%s': the call at instruction %zu goes to instruction %lld of '.text', which "
		 "is not the start of a function", l->p->name, at, (long long)idx);
	return -1;
}

static int add_relo(struct linker *l, uint32_t insn, uint32_t map, uint32_t off, uint8_t src)
{
	struct skep_program *p = l->p;
	struct prog_relo *v = realloc(p->relos, (p->nrelos + 1) * sizeof *v);
	if (!v)
		return obj_fail(l->obj, -ENOMEM, "out of memory");
	p->relos = v;
	v[p->nrelos++] = (struct prog_relo){insn, map, off, src};
	return 0;
}

static int is_exec(const skep_object *obj, size_t sec)
{
	return sec && sec < obj->ef.nsecs && (obj->ef.secs[sec].flags & SHF_EXECINSTR);
}

/* One relocation of the piece's section (rs: the REL section, ri: its index). */
static int apply_rel(struct linker *l, size_t k, size_t rs, size_t ri, const struct elf_rel *rel)
{
	skep_object *obj = l->obj;
	const struct link_piece pc = l->pieces[k];
	const char *rname = obj->ef.secs[rs].name;
	size_t at = pc.dst + (rel->off / 8 - pc.src);
	struct skep_insn *in = &l->insns[at];
	if (rel->sym >= obj->ef.nsyms)
		return obj_fail(obj, -EINVAL, "section '%s': relocation %zu: symbol index %u is past the symbol table "
				"(%zu symbols)", rname, ri, rel->sym, obj->ef.nsyms);
	const struct elf_sym *y = &obj->ef.syms[rel->sym];
	if (in->code == CODE_CALL && (in->src == BPF_PSEUDO_KFUNC_CALL || y->shndx == SHN_UNDEF))
		return obj_fail(obj, -EOPNOTSUPP, "section '%s': relocation %zu: call to extern function '%s' (a kernel "
				"function) does not exist in Skep", rname, ri, y->name);
	if (in->code == CODE_CALL && in->src == BPF_PSEUDO_CALL) {
		if (!is_exec(obj, y->shndx) || y->value % 8)
			return obj_fail(obj, -EINVAL, "section '%s': relocation %zu: call to '%s', which is not a function",
					rname, ri, y->name);
		long t = call_target(l, at, y->shndx, (int64_t)(y->value / 8) + l->insns[at].imm + 1);
		if (t < 0)
			return -EINVAL;
		in = &l->insns[at];  /* may have moved */
		in->imm = (int32_t)(t - (long)at - 1);
		l->done[at] = 1;
		return 0;
	}
	if (in->code != CODE_LDDW)
		return obj_fail(obj, -EINVAL, "section '%s': relocation %zu: instruction %llu (code 0x%02x) is neither "
				"lddw nor a call", rname, ri, (unsigned long long)(rel->off / 8), in->code);
	if (rel->off / 8 + 1 >= (uint64_t)pc.src + pc.n)
		return obj_fail(obj, -EINVAL, "section '%s': relocation %zu: lddw at instruction %llu has no second half",
				rname, ri, (unsigned long long)(rel->off / 8));
	if (y->shndx == SHN_UNDEF) {   /* a .kconfig extern: its slot in the .kconfig map, as libbpf */
		uint32_t koff;
		int ki = kconfig_ref(obj, y->name, &koff);
		if (ki < 0)
			return obj_fail(obj, -EOPNOTSUPP, "section '%s': relocation %zu: extern '%s' (a kernel symbol, "
					"or a .kconfig variable without BTF) does not exist in Skep", rname, ri, y->name);
		l->done[at] = 1;
		in->src = BPF_PSEUDO_MAP_VALUE;
		in->imm = ki;
		in[1].imm = (int32_t)koff;
		return add_relo(l, (uint32_t)at, (uint32_t)ki, koff, BPF_PSEUDO_MAP_VALUE);
	}
	if (is_exec(obj, y->shndx)) {   /* a callback's address */
		int64_t off = (int64_t)y->value + in->imm;
		if (off % 8)
			return obj_fail(obj, -EINVAL, "section '%s': relocation %zu: function address %lld is not an "
					"instruction", rname, ri, (long long)off);
		long t = call_target(l, at, y->shndx, off / 8);
		if (t < 0)
			return -EINVAL;
		in = &l->insns[at];
		in->src = BPF_PSEUDO_FUNC;
		in->imm = (int32_t)(t - (long)at - 1);
		in[1].imm = 0;
		l->done[at] = 1;
		return 0;
	}
	uint64_t off;
	int mi = map_by_sym(obj, y, &off);
	if (mi < 0)
		return obj_fail(obj, -EINVAL, "section '%s': relocation %zu: lddw refers to '%s' in section '%s', which "
				"is not a map or global data", rname, ri, y->name,
				y->shndx < obj->ef.nsecs ? obj->ef.secs[y->shndx].name : "(special)");
	const struct skep_object_map *m = &obj->maps[mi];
	l->done[at] = 1;
	if (m->kind != MAP_DATA) {
		in->src = BPF_PSEUDO_MAP_FD;
		in->imm = mi;
		in[1].imm = 0;
		return add_relo(l, (uint32_t)at, (uint32_t)mi, 0, BPF_PSEUDO_MAP_FD);
	}
	int64_t voff = (int64_t)off + in->imm;
	if (voff < 0 || (uint64_t)voff >= m->data_size)
		return obj_fail(obj, -EINVAL, "section '%s': relocation %zu: offset %lld of '%s' is outside '%s' "
				"(%zu bytes)", rname, ri, (long long)voff, y->name, m->name, m->data_size);
	in->src = BPF_PSEUDO_MAP_VALUE;
	in->imm = mi;
	in[1].imm = (int32_t)voff;
	return add_relo(l, (uint32_t)at, (uint32_t)mi, (uint32_t)voff, BPF_PSEUDO_MAP_VALUE);
}

static int link_piece(struct linker *l, size_t k)
{
	skep_object *obj = l->obj;
	size_t sec = l->pieces[k].sec;
	for (size_t rs = 1; rs < obj->ef.nsecs; rs++) {
		const struct elf_sec *r = &obj->ef.secs[rs];
		if (r->type != SHT_REL || r->info != sec)
			continue;
		for (size_t i = 0; i < r->size / 16; i++) {
			struct elf_rel rel;
			elf_rel(&obj->ef, rs, i, &rel);
			const struct link_piece pc = l->pieces[k];
			if (rel.off / 8 < pc.src || rel.off / 8 >= (uint64_t)pc.src + pc.n)
				continue;
			if (rel.off % 8)
				return obj_fail(obj, -EINVAL, "section '%s': relocation %zu: offset %llu is not at an instruction",
						r->name, i, (unsigned long long)rel.off);
			int rc = apply_rel(l, k, rs, i, &rel);
			if (rc)
				return rc;
		}
	}
	/* calls and callbacks inside the section, which need no relocation */
	for (uint32_t j = 0; j < l->pieces[k].n; j++) {
		const struct link_piece pc = l->pieces[k];
		size_t at = pc.dst + j;
		struct skep_insn in = l->insns[at];
		int call = in.code == CODE_CALL && in.src == BPF_PSEUDO_CALL;
		int func = in.code == CODE_LDDW && in.src == BPF_PSEUDO_FUNC;
		if (in.code == CODE_LDDW)
			j++;
		if (l->done[at] || (!call && !func))
			continue;
		long t = call_target(l, at, sec, (int64_t)pc.src + (at - pc.dst) + in.imm + 1);
		if (t < 0)
			return -EINVAL;
		l->insns[at].imm = (int32_t)(t - (long)at - 1);
		l->done[at] = 1;
	}
	return 0;
}

int prog_link(skep_object *obj, struct skep_program *p)
{
	struct linker l = {.obj = obj, .p = p};
	int rc = piece_add(&l, p->sec, p->sec_insn, p->ninsn);
	for (size_t k = 0; !rc && k < l.npieces; k++)   /* pieces grow as calls are found */
		rc = link_piece(&l, k);
	if (!rc)
		rc = btf_ext_apply(obj, p, l.pieces, l.npieces);
	free(l.pieces);
	free(l.done);
	if (rc) {
		free(l.insns);
		return rc;
	}
	p->insns = l.insns;
	p->n = l.n;
	return 0;
}
