/* Batch operations: bpf()'s checks, and the kernel's generic implementations
 * (lookup by get_next_key, update and delete one key at a time); hash maps bring
 * their own bucket-wise lookup(-and-delete). */
#include <stdlib.h>
#include <string.h>

#include "maps/map.h"

static uint32_t host_value_size(const struct skep_map *m)
{
	int percpu = m->type == SKEP_MAP_TYPE_PERCPU_ARRAY || m->type == SKEP_MAP_TYPE_PERCPU_HASH ||
		     m->type == SKEP_MAP_TYPE_LRU_PERCPU_HASH;
	return percpu ? m->vsize8 * m->ncpus : m->value_size;
}

static int elem_flags_ok(struct skep_map *m, uint64_t f)
{
	if (f & ~SKEP_F_LOCK)
		return map_fail(m, -EINVAL, "batch elem_flags 0x%llx: only BPF_F_LOCK", (unsigned long long)f);
	if ((f & SKEP_F_LOCK) && !m->lock_off)
		return map_fail(m, -EINVAL, "BPF_F_LOCK on a map whose value has no bpf_spin_lock");
	return 0;
}

int map_generic_lookup_batch(struct skep_map *m, void *in_batch, void *out_batch, void *keys,
			     void *values, uint32_t *count, uint64_t elem_flags, int del)
{
	uint32_t max = *count, vs = host_value_size(m), cp = 0;
	int err = elem_flags_ok(m, elem_flags);
	if (err)
		return err;
	if (!max)
		return 0;
	*count = 0;
	uint8_t *buf = malloc(2 * (size_t)m->ksize8), *prev = NULL, *key;
	if (!buf)
		return -ENOMEM;
	key = buf + m->ksize8;
	if (in_batch) {
		memcpy(buf, in_batch, m->key_size);
		prev = buf;
	}
	for (cp = 0; cp < max;) {
		if ((err = m->ops->next_key(m, prev, key)))
			break;
		err = m->ops->lookup(m, key, (uint8_t *)values + (size_t)cp * vs, elem_flags);
		if (err && err != -ENOENT)   /* a key deleted meanwhile (or an empty slot) is skipped */
			goto out;
		if (!err)
			memcpy((uint8_t *)keys + (size_t)cp++ * m->key_size, key, m->key_size);
		if (!prev)
			prev = buf;
		uint8_t *t = prev;
		prev = key;
		key = t;
	}
	*count = cp;
	if (cp)
		memcpy(out_batch, prev, m->key_size);
out:
	free(buf);
	if (err == -ENOENT)
		map_fail(m, -ENOENT, "end of map");
	return err;
}

static int batch_check(struct skep_map *m, unsigned what, int rd, int wr, const struct skep_map_batch_opts *o,
		       uint64_t *elem_flags, uint64_t *flags)
{
	struct skep_map_batch_opts z = { 0 };
	if (o)
		memcpy(&z, o, o->sz && o->sz < sizeof z ? o->sz : sizeof z);
	*elem_flags = z.elem_flags;
	*flags = z.flags;
	if (rd && (m->flags & SKEP_F_WRONLY))
		return map_fail(m, -EPERM, "map was created write-only");
	if (wr && (m->flags & SKEP_F_RDONLY))
		return map_fail(m, -EPERM, "map was created read-only");
	if (wr && __atomic_load_n(&m->hdr->frozen, __ATOMIC_ACQUIRE))
		return map_fail(m, -EPERM, "map is frozen");
	if (!(m->ops->batch & what))
		return map_fail(m, -ENOTSUPP, "this batch operation is not supported by %s maps", m->ops->name);
	return 0;
}

int skep_map_lookup_batch(skep_map *m, void *in_batch, void *out_batch, void *keys, void *values,
			  uint32_t *count, const struct skep_map_batch_opts *opts)
{
	uint64_t ef, f;
	int e = batch_check(m, BATCH_LOOKUP, 1, 0, opts, &ef, &f);
	if (e)
		return e;
	if (f && m->ops->lookup_batch != map_generic_lookup_batch)
		return map_fail(m, -EINVAL, "batch flags must be 0");
	return m->ops->lookup_batch(m, in_batch, out_batch, keys, values, count, ef, 0);
}

int skep_map_lookup_and_delete_batch(skep_map *m, void *in_batch, void *out_batch, void *keys,
				     void *values, uint32_t *count, const struct skep_map_batch_opts *opts)
{
	uint64_t ef, f;
	int e = batch_check(m, BATCH_LOOKUP_DELETE, 1, 1, opts, &ef, &f);
	if (e)
		return e;
	if (f)
		return map_fail(m, -EINVAL, "batch flags must be 0");
	return m->ops->lookup_batch(m, in_batch, out_batch, keys, values, count, ef, 1);
}

int skep_map_update_batch(skep_map *m, const void *keys, const void *values, uint32_t *count,
			  const struct skep_map_batch_opts *opts)
{
	uint64_t ef, f;
	int e = batch_check(m, BATCH_UPDATE, 0, 1, opts, &ef, &f);
	if (e)
		return e;
	if ((e = elem_flags_ok(m, ef)))
		return e;
	uint32_t max = *count, vs = host_value_size(m), cp;
	if (!max)
		return 0;
	*count = 0;
	for (cp = 0; cp < max; cp++)
		if ((e = m->ops->update(m, (const uint8_t *)keys + (size_t)cp * m->key_size,
					(const uint8_t *)values + (size_t)cp * vs, ef)))
			break;
	*count = cp;
	return e;
}

int skep_map_delete_batch(skep_map *m, const void *keys, uint32_t *count,
			  const struct skep_map_batch_opts *opts)
{
	uint64_t ef, f;
	int e = batch_check(m, BATCH_DELETE, 0, 1, opts, &ef, &f);
	if (e)
		return e;
	if ((e = elem_flags_ok(m, ef)))
		return e;
	uint32_t max = *count, cp;
	if (!max)
		return 0;
	*count = 0;
	for (cp = 0; cp < max; cp++)
		if ((e = m->ops->delete(m, (const uint8_t *)keys + (size_t)cp * m->key_size)))
			break;
	*count = cp;
	return e;
}
