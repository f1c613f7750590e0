/* Map references at load, as the kernel's resolve_pseudo_ldimm64: lddw with
 * src=BPF_PSEUDO_MAP_FD (imm = a map's id, skep_map_id) becomes the map's address, with
 * src=BPF_PSEUDO_MAP_VALUE (imm = id, next imm = offset) the value's address; both then
 * are plain lddw (src 0), as the kernel leaves them. The program holds its own handle on
 * every map it references, so closing the caller's handle does not pull a map from
 * under a loaded program. */
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
	if (m->type == SKEP_MAP_TYPE_PROG_ARRAY)
		return prog_fail(p, -EOPNOTSUPP, "insn %zu: map id %u is a PROG_ARRAY: tail calls "
				 "through prog array maps are not supported yet", i, id);
	struct skep_map *h = skep_map_dup(m);
	if (!h)
		return prog_fail(p, -ENOMEM, "insn %zu: cannot take a handle on map id %u", i, id);
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
			v = (uint64_t)(uintptr_t)m;
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

struct skep_region *prog_map_regions(const struct skep_prog *p, const struct skep_run_args *a,
				     struct skep_run_args *out)
{
	if (!p->nmaps)
		return NULL;
	struct skep_region *r = malloc((a->nregions + p->nmaps) * sizeof *r);
	if (!r)
		return NULL;
	if (a->nregions)
		memcpy(r, a->regions, a->nregions * sizeof *r);
	for (uint32_t i = 0; i < p->nmaps; i++) {
		const struct skep_map *m = p->maps[i];
		r[a->nregions + i] = (struct skep_region){m->base, m->map_len, !(m->flags & SKEP_F_RDONLY_PROG)};
	}
	*out = *a;
	out->regions = r;
	out->nregions = a->nregions + p->nmaps;
	return r;
}
