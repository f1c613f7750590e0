/* Map references at load, as the kernel's resolve_pseudo_ldimm64: lddw with
 * src=BPF_PSEUDO_MAP_FD (imm = a map's id, skep_map_id) becomes the map's address, with
 * src=BPF_PSEUDO_MAP_VALUE (imm = id, next imm = offset) the value's address; both then
 * are plain lddw (src 0), as the kernel leaves them. The program holds its own handle on
 * every map it references, so closing the caller's handle does not pull a map from
 * under a loaded program. A PROG_ARRAY's lddw becomes the address of its tail-call table
 * (struct skep_prog_array, kept by src/exec/prog_registry.c), what the engines follow. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "exec/exec.h"
#include "isa/isa.h"
#include "maps/map.h"

void prog_release_maps(struct skep_prog *p)
{
	for (uint32_t i = 0; i < p->nmaps; i++)
		skep_map_close(p->maps[i]);
	free(p->maps);
	p->maps = NULL;
	p->nmaps = 0;
}

/* The program's handle on map id, taken on first use. */
static int use_map(struct skep_prog *p, size_t i, uint32_t id, uint32_t *ids, struct skep_map **out)
{
	for (uint32_t k = 0; k < p->nmaps; k++)
		if (ids[k] == id) {
			*out = p->maps[k];
			return 0;
		}
	struct skep_map *m = skep_map_by_id(id);
	if (!m)
		return prog_fail(p, -EBADF, "insn %zu: map id %u does not exist", i, id);
	struct skep_map *h = skep_map_dup(m);
	if (!h)
		return prog_fail(p, -ENOMEM, "insn %zu: cannot take a handle on map id %u", i, id);
	int err;
	if (h->type == SKEP_MAP_TYPE_PROG_ARRAY && !prog_array_use(h, p->type, &err)) {
		skep_map_close(h);
		return err == -ENOMEM ? prog_fail(p, err, "insn %zu: out of memory for prog array %u", i, id)
			: prog_fail(p, err, "insn %zu: prog array %u holds programs of another type "
				    "(this one is of type %u)", i, id, p->type);
	}
	p->maps[p->nmaps] = h;
	ids[p->nmaps++] = id;
	*out = h;
	return 0;
}

int prog_resolve_maps(struct skep_prog *p)
{
	prog_release_maps(p);
	size_t refs = 0;
	for (size_t i = 0; i < p->n; i++)
		refs += p->insns[i].code == (BPF_LD | BPF_IMM | BPF_DW) && p->insns[i].src;
	if (!refs)
		return 0;
	uint32_t *ids = malloc(refs * sizeof *ids);
	p->maps = calloc(refs, sizeof *p->maps);
	if (!ids || !p->maps) {
		free(ids);
		return prog_fail(p, -ENOMEM, "out of memory resolving %zu map references", refs);
	}
	int err = 0;
	for (size_t i = 0; i + 1 < p->n && !err; i++) {
		struct skep_insn *in = &p->insns[i];
		if (in->code != (BPF_LD | BPF_IMM | BPF_DW))
			continue;
		struct skep_map *m;
		uint64_t v;
		switch (in->src) {
		case BPF_PSEUDO_MAP_FD:
			if ((err = use_map(p, i, (uint32_t)in->imm, ids, &m)))
				break;
			/* a prog array: the engines' tail-call table (prog_registry.c) */
			v = (uint64_t)(uintptr_t)(prog_array_shadow(m) ? (const void *)prog_array_shadow(m)
									: (const void *)m);
			goto rewrite;
		case BPF_PSEUDO_MAP_VALUE:
			if ((err = use_map(p, i, (uint32_t)in->imm, ids, &m)))
				break;
			if ((err = map_direct_value_addr(m, &v, (uint32_t)in[1].imm))) {
				err = prog_fail(p, err, "insn %zu: map id %u: %s", i, (uint32_t)in->imm,
						skep_map_error(m));
				break;
			}
		rewrite:
			in->src = 0;
			in->imm = (int32_t)(uint32_t)v;
			in[1].imm = (int32_t)(uint32_t)(v >> 32);
			break;
		case BPF_PSEUDO_MAP_IDX:
		case BPF_PSEUDO_MAP_IDX_VALUE:
			err = prog_fail(p, -EPROTO, "insn %zu: fd_idx without fd_array is invalid", i);
			break;
		}
		i++;
	}
	free(ids);
	if (err)
		prog_release_maps(p);
	return err;
}

/* The programs a run may reach: p and, transitively, those its prog arrays hold now
 * (a tail call's target runs with the caller's regions). NULL when out of memory. */
static const struct skep_prog **reachable(const struct skep_prog *p, size_t *n, size_t *nmaps)
{
	size_t cap = 8;
	const struct skep_prog **v = malloc(cap * sizeof *v);
	if (!v)
		return NULL;
	v[0] = p, *n = 1, *nmaps = 0;
	for (size_t k = 0; k < *n; k++) {
		*nmaps += v[k]->nmaps;
		for (uint32_t i = 0; i < v[k]->nmaps; i++) {
			const struct skep_prog_array *t = prog_array_shadow(v[k]->maps[i]);
			for (uint32_t s = 0; t && s < t->max_entries; s++) {
				const struct skep_prog *q = __atomic_load_n(&t->progs[s], __ATOMIC_ACQUIRE);
				size_t j = 0;
				while (q && j < *n && v[j] != q)
					j++;
				if (!q || j < *n)
					continue;
				if (*n == cap) {
					const struct skep_prog **w = realloc(v, (cap *= 2) * sizeof *v);
					if (!w)
						return free(v), NULL;
					v = w;
				}
				v[(*n)++] = q;
			}
		}
	}
	return v;
}

/* The checked engine's regions, grown as maps are added; one entry per mapping (each
 * handle maps the map on its own: the program's, the registry's that inner-map lookups
 * return). */
struct regs {
	struct skep_region *r;
	size_t n, cap;
	const uint8_t **seen;       /* mappings added so far */
	size_t nseen, capseen;
	int oom;
};

static void add_region(struct regs *v, void *base, size_t size, int writable)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? 2 * v->cap : 16;
		struct skep_region *r = realloc(v->r, cap * sizeof *r);
		if (!r) {
			v->oom = 1;
			return;
		}
		v->r = r, v->cap = cap;
	}
	v->r[v->n++] = (struct skep_region){base, size, writable};
}

/* Values live in the family's data area (m->data to the end of the mapping, the ring
 * buffer's both copies included); a program gets pointers there only. The rest (the
 * header, control blocks, hash buckets) it may read but not write, and maps whose
 * lookups return no pointers into them (queues, bloom filters, stack traces, perf and
 * id arrays) are read-only as a whole. */
static int has_values(uint32_t t)
{
	switch (t) {
	case SKEP_MAP_TYPE_ARRAY: case SKEP_MAP_TYPE_PERCPU_ARRAY: case SKEP_MAP_TYPE_HASH:
	case SKEP_MAP_TYPE_PERCPU_HASH: case SKEP_MAP_TYPE_LRU_HASH: case SKEP_MAP_TYPE_LRU_PERCPU_HASH:
	case SKEP_MAP_TYPE_LPM_TRIE: case SKEP_MAP_TYPE_RINGBUF:
		return 1;
	}
	return 0;
}

static void add_map(struct regs *v, struct skep_map *m, int depth);

static long add_inner(struct skep_map *outer, void *key, void *value, void *ctx)
{
	struct skep_map *in = value ? map_by_uid(__atomic_load_n((uint32_t *)value, __ATOMIC_ACQUIRE)) : NULL;
	if (in)
		add_map(ctx, in, 1);
	return 0;
}

long map_hash_for_each(struct skep_map *m, long (*cb)(struct skep_map *, void *, void *, void *), void *ctx);

static void add_map(struct regs *v, struct skep_map *m, int depth)
{
	for (size_t k = 0; k < v->nseen; k++)
		if (v->seen[k] == m->base)
			return;
	if (v->nseen == v->capseen) {
		size_t cap = v->capseen ? 2 * v->capseen : 16;
		const uint8_t **u = realloc(v->seen, cap * sizeof *u);
		if (!u) {
			v->oom = 1;
			return;
		}
		v->seen = u, v->capseen = cap;
	}
	v->seen[v->nseen++] = m->base;
	size_t head = has_values(m->type) ? (size_t)(m->data - m->base) : m->map_len;
	add_region(v, m->base, head, 0);
	if (head < m->map_len)
		add_region(v, m->data, m->map_len - head, !(m->flags & SKEP_F_RDONLY_PROG));
	/* map-in-map: the inner maps present now (lookups return them; one level, as the
	 * kernel allows no deeper nesting) */
	if (depth)
		return;
	if (m->type == SKEP_MAP_TYPE_ARRAY_OF_MAPS)
		for (uint32_t i = 0; i < m->max_entries; i++)
			add_inner(m, NULL, m->data + (size_t)i * m->esize, v);
	else if (m->type == SKEP_MAP_TYPE_HASH_OF_MAPS)
		map_hash_for_each(m, add_inner, v);
}

struct skep_region *prog_map_regions(const struct skep_prog *p, const struct skep_run_args *a,
				     struct skep_run_args *out)
{
	if (!p->nmaps)
		return NULL;
	size_t np, nm;
	const struct skep_prog **v = reachable(p, &np, &nm);
	if (!v)
		return NULL;
	struct regs rg = {0};
	for (size_t i = 0; i < a->nregions; i++)
		add_region(&rg, a->regions[i].base, a->regions[i].size, a->regions[i].writable);
	for (size_t k = 0; k < np && !rg.oom; k++)
		for (uint32_t i = 0; i < v[k]->nmaps && !rg.oom; i++)
			add_map(&rg, v[k]->maps[i], 0);
	free(v);
	free(rg.seen);
	if (rg.oom) {
		free(rg.r);
		return NULL;
	}
	*out = *a;
	out->regions = rg.r;
	out->nregions = rg.n;
	return rg.r;
}
