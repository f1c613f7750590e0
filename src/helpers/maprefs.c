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

struct skep_region *prog_map_regions(const struct skep_prog *p, const struct skep_run_args *a,
				     struct skep_run_args *out)
{
	if (!p->nmaps)
		return NULL;
	size_t np, nm;
	const struct skep_prog **v = reachable(p, &np, &nm);
	struct skep_region *r = v ? malloc((a->nregions + nm) * sizeof *r) : NULL;
	if (!r)
		return free(v), NULL;
	if (a->nregions)
		memcpy(r, a->regions, a->nregions * sizeof *r);
	size_t n = a->nregions;
	for (size_t k = 0; k < np; k++)
		for (uint32_t i = 0; i < v[k]->nmaps; i++) {
			const struct skep_map *m = v[k]->maps[i];
			size_t j = a->nregions;
			while (j < n && ((const struct map_hdr *)r[j].base)->uid != m->hdr->uid)
				j++;  /* one region per map, whichever handle */
			if (j == n)
				r[n++] = (struct skep_region){m->base, m->map_len, !(m->flags & SKEP_F_RDONLY_PROG)};
		}
	free(v);
	*out = *a;
	out->regions = r;
	out->nregions = n;
	return r;
}
