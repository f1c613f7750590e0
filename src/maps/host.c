/* The host-side calls: the checks bpf() makes before a map sees the call (access
 * flags, frozen maps, BPF_F_LOCK, pointers), then the family; and the program-side
 * entry points that need no family-specific shape. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "maps/map.h"

/* ---- host calls: bpf()'s checks, then the family */
static int can_read(skep_map *m)
{
	if (m->flags & SKEP_F_WRONLY)
		return map_fail(m, -EPERM, "map %s was created write-only (BPF_F_WRONLY)", m->hdr->name);
	return 0;
}

static int can_write(skep_map *m)
{
	if (m->flags & SKEP_F_RDONLY)
		return map_fail(m, -EPERM, "map %s was created read-only (BPF_F_RDONLY)", m->hdr->name);
	if (__atomic_load_n(&m->hdr->frozen, __ATOMIC_ACQUIRE))
		return map_fail(m, -EPERM, "map %s is frozen", m->hdr->name);
	return 0;
}

static int check_ptrs(skep_map *m, const void *key, const void *value, int need_value)
{
	if (m->key_size && !key)
		return map_fail(m, -EFAULT, "key is NULL (key_size %u)", m->key_size);
	if (need_value && !value)
		return map_fail(m, -EFAULT, "value is NULL");
	return 0;
}

static int lock_flag_ok(skep_map *m, uint64_t flags)
{
	if ((flags & SKEP_F_LOCK) && !m->lock_off)
		return map_fail(m, -EINVAL, "BPF_F_LOCK on a map whose value has no bpf_spin_lock");
	return 0;
}

static int unsupported(skep_map *m, const char *what)
{
	return map_fail(m, -ENOTSUPP, "%s is not supported by %s maps", what, m->ops->name);
}

int skep_map_lookup_elem_flags(skep_map *m, const void *key, void *value, uint64_t flags)
{
	int e;
	if (flags & ~SKEP_F_LOCK)
		return map_fail(m, -EINVAL, "lookup flags 0x%llx: only BPF_F_LOCK is allowed",
				(unsigned long long)flags);
	if ((e = can_read(m)) || (e = lock_flag_ok(m, flags)) || (e = check_ptrs(m, key, value, 1)))
		return e;
	if (!m->ops->lookup)
		return unsupported(m, "lookup");
	return m->ops->lookup(m, key, value, flags);
}

int skep_map_lookup_elem(skep_map *m, const void *key, void *value)
{
	return skep_map_lookup_elem_flags(m, key, value, 0);
}

int skep_map_update_elem(skep_map *m, const void *key, const void *value, uint64_t flags)
{
	int e;
	if ((e = can_write(m)) || (e = lock_flag_ok(m, flags)) || (e = check_ptrs(m, key, value, 1)))
		return e;
	if (!m->ops->update)
		return unsupported(m, "update");
	return m->ops->update(m, key, value, flags);
}

int skep_map_delete_elem_flags(skep_map *m, const void *key, uint64_t flags)
{
	int e;
	if (flags)
		return map_fail(m, -EINVAL, "delete takes no flags");
	if ((e = can_write(m)) || (e = check_ptrs(m, key, NULL, 0)))
		return e;
	if (!m->ops->delete)
		return unsupported(m, "delete");
	return m->ops->delete(m, key);
}

int skep_map_delete_elem(skep_map *m, const void *key) { return skep_map_delete_elem_flags(m, key, 0); }

int skep_map_get_next_key(skep_map *m, const void *key, void *next)
{
	int e;
	if ((e = can_read(m)))
		return e;
	if (!next)
		return map_fail(m, -EFAULT, "next_key is NULL");
	if (!m->ops->next_key)
		return unsupported(m, "get_next_key");
	return m->ops->next_key(m, key, next);
}

int skep_map_lookup_and_delete_elem_flags(skep_map *m, const void *key, void *value, uint64_t flags)
{
	int e;
	if (flags & ~SKEP_F_LOCK)
		return map_fail(m, -EINVAL, "lookup_and_delete flags 0x%llx: only BPF_F_LOCK",
				(unsigned long long)flags);
	if (flags && (m->type == SKEP_MAP_TYPE_QUEUE || m->type == SKEP_MAP_TYPE_STACK))
		return map_fail(m, -EINVAL, "pop takes no flags");
	if ((e = can_read(m)) || (e = can_write(m)) || (e = lock_flag_ok(m, flags)) ||
	    (e = check_ptrs(m, key, value, 1)))
		return e;
	if (!m->ops->lookup_and_delete)
		return unsupported(m, "lookup_and_delete");
	return m->ops->lookup_and_delete(m, key, value, flags);
}

int skep_map_lookup_and_delete_elem(skep_map *m, const void *key, void *value)
{
	return skep_map_lookup_and_delete_elem_flags(m, key, value, 0);
}

int skep_map_freeze(skep_map *m)
{
	int e;
	if (m->lock_off)
		return map_fail(m, -ENOTSUPP, "a map with bpf_spin_lock values cannot be frozen");
	if ((e = can_write(m)))
		return e;
	if (__atomic_load_n(&m->hdr->writecnt, __ATOMIC_ACQUIRE))
		return map_fail(m, -EBUSY, "map has writable mappings");
	uint32_t z = 0;
	if (!__atomic_compare_exchange_n(&m->hdr->frozen, &z, 1, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
		return map_fail(m, -EBUSY, "map is already frozen");
	return 0;
}

/* ---- program-side entry points that need no family-specific shape */
int map_update_fast(struct skep_map *m, const void *key, const void *value, uint64_t flags)
{
	return m->ops->elem_update ? m->ops->elem_update(m, key, value, flags) : -EINVAL;
}

int map_delete_fast(struct skep_map *m, const void *key)
{
	return m->ops->elem_delete ? m->ops->elem_delete(m, key) : -EINVAL;
}

int map_push_fast(struct skep_map *m, const void *value, uint64_t flags)
{
	return m->ops->push ? m->ops->push(m, value, flags) : -ENOTSUPP;
}

int map_pop_fast(struct skep_map *m, void *value)
{
	return m->ops->pop ? m->ops->pop(m, value, 0) : -ENOTSUPP;
}

int map_peek_fast(struct skep_map *m, void *value)
{
	return m->ops->pop ? m->ops->pop(m, value, 1) : -ENOTSUPP;
}

void *map_lookup_percpu_fast(struct skep_map *m, const void *key, uint32_t cpu)
{
	if (!map_is_percpu(m->type) || cpu >= m->ncpus)
		return NULL;
	uint8_t *v = m->ops->elem_raw(m, key);
	return v ? v + (size_t)cpu * m->vsize8 : NULL;
}

int map_inner_compatible(const struct skep_map *outer, const struct skep_map *in)
{
	const uint32_t *t = outer->hdr->inner;
	uint32_t f = SKEP_F_INNER_MAP;
	if (in->type != t[0] || in->key_size != t[1] || in->value_size != t[2] ||
	    ((in->flags ^ t[4]) & ~f) ||
	    (!((t[4] | in->flags) & f) && in->max_entries != t[3]))
		return 0;
	return 1;
}

long map_hash_for_each(struct skep_map *m, long (*cb)(struct skep_map *, void *, void *, void *), void *ctx);

/* bpf_for_each_map_elem: arrays and hash maps, this CPU's value for per-CPU maps;
 * returns the number of elements visited. */
long map_for_each(struct skep_map *m, long (*cb)(struct skep_map *, void *key, void *value, void *ctx), void *ctx)
{
	switch (m->type) {
	case SKEP_MAP_TYPE_ARRAY:
	case SKEP_MAP_TYPE_PERCPU_ARRAY: {
		long n = 0;
		for (uint32_t i = 0; i < m->max_entries; i++) {
			uint32_t k = i;
			n++;
			if (cb(m, &k, m->ops->elem_lookup(m, &k), ctx))
				break;
		}
		return n;
	}
	case SKEP_MAP_TYPE_HASH:
	case SKEP_MAP_TYPE_PERCPU_HASH:
	case SKEP_MAP_TYPE_LRU_HASH:
	case SKEP_MAP_TYPE_LRU_PERCPU_HASH:
		return map_hash_for_each(m, cb, ctx);
	}
	return -EINVAL;
}

void map_memory(const struct skep_map *m, void **base, size_t *len)
{
	*base = m->base;
	*len = m->map_len;
}
