/* Array maps: ARRAY (optionally BPF_F_MMAPABLE: global data), PERCPU_ARRAY, and the
 * id arrays PROG_ARRAY and ARRAY_OF_MAPS.  Values sit at data + index * stride with
 * stride = round_up(value_size, 8) (per-CPU: ncpus strides per index).  An mmapable
 * array's values start on a page boundary so they can be mapped directly. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "exec/exec.h"
#include "maps/map.h"

#define ARRAY_FLAGS (SKEP_F_NUMA_NODE | SKEP_F_MMAPABLE | SKEP_F_RDONLY | SKEP_F_WRONLY | \
		     SKEP_F_RDONLY_PROG | SKEP_F_WRONLY_PROG | SKEP_F_PRESERVE_ELEMS | SKEP_F_INNER_MAP)

struct wmap { void *addr; size_t len; struct wmap *next; };

static inline uint64_t page_size(void) { return map_page_size(); }

int map_array_check(struct map_attr *a, char *err, size_t n)
{
	int percpu = a->type == SKEP_MAP_TYPE_PERCPU_ARRAY;
	if (!a->max_entries || a->key_size != 4 || !a->value_size)
		return attr_fail(err, n, -EINVAL,
				 "array: key_size must be 4 (is %u), value_size > 0 (is %u), max_entries > 0 (is %u)",
				 a->key_size, a->value_size, a->max_entries);
	if (a->map_flags & ~ARRAY_FLAGS)
		return attr_fail(err, n, -EINVAL, "array: unknown map flags 0x%x", a->map_flags & ~ARRAY_FLAGS);
	if (percpu && (a->map_flags & SKEP_F_NUMA_NODE))
		return attr_fail(err, n, -EINVAL, "per-CPU array: BPF_F_NUMA_NODE not allowed");
	if (a->type != SKEP_MAP_TYPE_ARRAY && (a->map_flags & (SKEP_F_MMAPABLE | SKEP_F_INNER_MAP)))
		return attr_fail(err, n, -EINVAL, "BPF_F_MMAPABLE and BPF_F_INNER_MAP are for ARRAY maps only");
	if (a->type != SKEP_MAP_TYPE_PERF_EVENT_ARRAY && (a->map_flags & SKEP_F_PRESERVE_ELEMS))
		return attr_fail(err, n, -EINVAL, "BPF_F_PRESERVE_ELEMS is for PERF_EVENT_ARRAY only");
	if (a->value_size > INT32_MAX)
		return attr_fail(err, n, -E2BIG, "array: value_size %u too large", a->value_size);
	if (percpu && round8(a->value_size) > 32768)
		return attr_fail(err, n, -E2BIG, "per-CPU value of %u bytes exceeds 32768", a->value_size);
	return 0;
}

static int fd_array_check(struct map_attr *a, char *err, size_t n)
{
	if (a->value_size != 4)
		return attr_fail(err, n, -EINVAL, "%s: value_size must be 4 (is %u)",
				 a->type == SKEP_MAP_TYPE_PROG_ARRAY ? "prog array" : "map array", a->value_size);
	if (a->map_flags & (SKEP_F_RDONLY_PROG | SKEP_F_WRONLY_PROG))
		return attr_fail(err, n, -EINVAL, "BPF_F_RDONLY_PROG/BPF_F_WRONLY_PROG not allowed here");
	return map_array_check(a, err, n);
}

static uint64_t values_off(const struct map_attr *a)
{
	return (a->map_flags & SKEP_F_MMAPABLE) ? page_size() : MAP_HDR_SIZE;
}

static uint64_t array_layout(const struct map_attr *a, uint64_t *dup_off, uint64_t *dup_len)
{
	uint64_t per = (uint64_t)round8(a->value_size) * (a->type == SKEP_MAP_TYPE_PERCPU_ARRAY ? a->ncpus : 1);
	uint64_t sz = values_off(a) + per * a->max_entries;
	if (a->map_flags & SKEP_F_MMAPABLE)
		sz = (sz + page_size() - 1) & ~(page_size() - 1);
	return sz;
}

static void array_attach(struct skep_map *m)
{
	struct map_attr a = { .map_flags = m->flags };
	m->data = m->base + values_off(&a);
	m->esize = m->type == SKEP_MAP_TYPE_PERCPU_ARRAY ? m->vsize8 * m->ncpus : m->vsize8;
}

static inline uint8_t *slot(struct skep_map *m, const void *key)
{
	uint32_t i = k32(key);
	return i < m->max_entries ? m->data + (size_t)i * m->esize : NULL;
}

/* ---- program side */
static void *array_elem(struct skep_map *m, const void *key) { return slot(m, key); }

static void *percpu_elem(struct skep_map *m, const void *key)
{
	uint8_t *v = slot(m, key);
	return v ? v + (size_t)map_cpu(m) * m->vsize8 : NULL;
}

static int update_flags(struct skep_map *m, uint64_t flags, uint64_t allowed, const void *key)
{
	if ((flags & ~allowed) > SKEP_EXIST)
		return map_fail(m, -EINVAL, "update flags 0x%llx", (unsigned long long)flags);
	if (k32(key) >= m->max_entries)
		return map_fail(m, -E2BIG, "index %u out of range (max_entries %u)",
				k32(key), m->max_entries);
	if (flags & SKEP_NOEXIST)
		return map_fail(m, -EEXIST, "BPF_NOEXIST: array elements always exist");
	return 0;
}

static int array_elem_update(struct skep_map *m, const void *key, const void *value, uint64_t flags)
{
	int e = update_flags(m, flags, SKEP_F_LOCK, key);
	if (e)
		return e;
	if ((flags & SKEP_F_LOCK) && !m->lock_off)
		return -EINVAL;
	map_value_in(m, slot(m, key), value, (int)(flags & SKEP_F_LOCK));
	return 0;
}

static int percpu_elem_update(struct skep_map *m, const void *key, const void *value, uint64_t flags)
{
	int e = update_flags(m, flags, 0, key);
	if (e)
		return e;
	memcpy(slot(m, key) + (size_t)map_cpu(m) * m->vsize8, value, m->value_size);
	return 0;
}

static int array_delete(struct skep_map *m, const void *key)
{
	return map_fail(m, -EINVAL, "array elements cannot be deleted");
}

/* ---- host side */
static int array_lookup(struct skep_map *m, const void *key, void *value, uint64_t flags)
{
	uint8_t *v = slot(m, key);
	if (!v)
		return map_fail(m, -ENOENT, "index %u out of range (max_entries %u)", k32(key),
				m->max_entries);
	map_value_out(m, value, v, (int)(flags & SKEP_F_LOCK));
	return 0;
}

static int percpu_lookup(struct skep_map *m, const void *key, void *value, uint64_t flags)
{
	uint8_t *v = slot(m, key);
	if (!v)
		return map_fail(m, -ENOENT, "index %u out of range (max_entries %u)", k32(key),
				m->max_entries);
	for (uint32_t c = 0; c < m->ncpus; c++)
		memcpy((uint8_t *)value + (size_t)c * m->vsize8, v + (size_t)c * m->vsize8, m->vsize8);
	return 0;
}

static int percpu_update(struct skep_map *m, const void *key, const void *value, uint64_t flags)
{
	if (flags > SKEP_EXIST)
		return map_fail(m, -EINVAL, "update flags 0x%llx", (unsigned long long)flags);
	int e = update_flags(m, flags, 0, key);
	if (e)
		return e;
	uint8_t *v = slot(m, key);
	for (uint32_t c = 0; c < m->ncpus; c++)
		memcpy(v + (size_t)c * m->vsize8, (const uint8_t *)value + (size_t)c * m->vsize8, m->vsize8);
	return 0;
}

int map_array_next_key(struct skep_map *m, const void *key, void *next)
{
	uint32_t i = key ? k32(key) : UINT32_MAX;
	if (i >= m->max_entries) {
		put32(next, 0);
		return 0;
	}
	if (i == m->max_entries - 1)
		return -ENOENT;
	put32(next, i + 1);
	return 0;
}

int map_direct_value_addr(struct skep_map *m, uint64_t *addr, uint32_t off)
{
	if (m->type != SKEP_MAP_TYPE_ARRAY)
		return map_fail(m, -EINVAL, "direct value access needs an ARRAY map");
	if (m->max_entries != 1)
		return map_fail(m, -ENOTSUPP, "direct value access needs max_entries 1 (is %u)", m->max_entries);
	if (off >= m->value_size)
		return map_fail(m, -EINVAL, "value offset %u beyond value_size %u", off, m->value_size);
	*addr = (uint64_t)(uintptr_t)(m->data + off);
	return 0;
}

void *skep_map_mmap(skep_map *m, int writable, size_t *size)
{
	int e = 0;
	if (m->type != SKEP_MAP_TYPE_ARRAY || !(m->flags & SKEP_F_MMAPABLE))
		e = map_fail(m, -EINVAL, "only BPF_F_MMAPABLE arrays can be mapped");
	else if (writable && __atomic_load_n(&m->hdr->frozen, __ATOMIC_ACQUIRE))
		e = map_fail(m, -EPERM, "map is frozen: read-only mappings only");
	else if (writable && (m->flags & SKEP_F_RDONLY))
		e = map_fail(m, -EPERM, "map is read-only for the host");
	if (e) {
		errno = -e;
		return NULL;
	}
	size_t len = (size_t)(m->hdr->size - (uint64_t)(m->data - m->base));
	if (writable)
		__atomic_fetch_add(&m->hdr->writecnt, 1, __ATOMIC_ACQ_REL);
	void *p = mmap(NULL, len, PROT_READ | (writable ? PROT_WRITE : 0), MAP_SHARED, m->fd,
		       (off_t)(m->data - m->base));
	if (p == MAP_FAILED) {
		e = errno;
		if (writable)
			__atomic_fetch_sub(&m->hdr->writecnt, 1, __ATOMIC_ACQ_REL);
		map_fail(m, -e, "mmap: %s", strerror(e));
		errno = e;
		return NULL;
	}
	if (writable) {   /* remember it, so munmap knows to drop writecnt */
		struct wmap *w = malloc(sizeof *w);
		if (w) {
			w->addr = p;
			w->len = len;
			w->next = m->priv;
			m->priv = w;
		}
	}
	if (size)
		*size = len;
	return p;
}

int skep_map_munmap(skep_map *m, void *addr, size_t size)
{
	for (struct wmap **pw = (struct wmap **)&m->priv; *pw; pw = &(*pw)->next)
		if ((*pw)->addr == addr) {
			struct wmap *w = *pw;
			*pw = w->next;
			free(w);
			__atomic_fetch_sub(&m->hdr->writecnt, 1, __ATOMIC_ACQ_REL);
			break;
		}
	return munmap(addr, size) < 0 ? -errno : 0;
}

static void array_detach(struct skep_map *m)
{
	while (m->priv) {   /* mappings left at close stay valid but no longer block freeze */
		struct wmap *w = m->priv;
		m->priv = w->next;
		__atomic_fetch_sub(&m->hdr->writecnt, 1, __ATOMIC_ACQ_REL);
		free(w);
	}
}

/* ---- id arrays: PROG_ARRAY (program ids, for tail calls) and ARRAY_OF_MAPS (map uids) */
static int fd_update(struct skep_map *m, const void *key, const void *value, uint64_t flags)
{
	if (flags != SKEP_ANY)
		return map_fail(m, -EINVAL, "update flags must be BPF_ANY for %s maps", m->ops->name);
	uint8_t *v = slot(m, key);
	if (!v)
		return map_fail(m, -E2BIG, "index %u out of range (max_entries %u)", k32(key),
				m->max_entries);
	uint32_t id = k32(value);
	if (m->type == SKEP_MAP_TYPE_ARRAY_OF_MAPS) {
		struct skep_map *in = skep_map_by_id(id);
		if (!in)
			return map_fail(m, -EBADF, "no map with id %u in this process", id);
		if (!map_inner_compatible(m, in))
			return map_fail(m, -EINVAL, "map %u does not match the inner map template", id);
		id = in->hdr->uid;
	} else   /* a program id (the kernel takes a prog fd): checked and mirrored there */
		return prog_array_update(m, k32(key), id);
	__atomic_store_n((uint32_t *)v, id, __ATOMIC_RELEASE);
	return 0;
}

static int fd_lookup(struct skep_map *m, const void *key, void *value, uint64_t flags)
{
	uint8_t *v = slot(m, key);
	uint32_t id = v ? __atomic_load_n((uint32_t *)v, __ATOMIC_ACQUIRE) : 0;
	if (!id)
		return map_fail(m, -ENOENT, "no entry at index %u", k32(key));
	put32(value, id);
	return 0;
}

static int fd_delete(struct skep_map *m, const void *key)
{
	uint8_t *v = slot(m, key);
	if (!v)
		return map_fail(m, -E2BIG, "index %u out of range (max_entries %u)", k32(key),
				m->max_entries);
	if (m->type == SKEP_MAP_TYPE_PROG_ARRAY)
		return prog_array_delete(m, k32(key));
	if (!__atomic_exchange_n((uint32_t *)v, 0, __ATOMIC_ACQ_REL))
		return map_fail(m, -ENOENT, "no entry at index %u", k32(key));
	return 0;
}

static void *map_array_elem(struct skep_map *m, const void *key)
{
	uint8_t *v = slot(m, key);
	return v ? map_by_uid(__atomic_load_n((uint32_t *)v, __ATOMIC_ACQUIRE)) : NULL;
}

uint32_t map_prog_array_get(struct skep_map *m, uint32_t index)
{
	return m->type == SKEP_MAP_TYPE_PROG_ARRAY && index < m->max_entries ? __atomic_load_n((uint32_t *)(m->data + (size_t)index * m->esize),
							__ATOMIC_ACQUIRE) : 0;
}

int map_generic_lookup_batch(struct skep_map *m, void *in_batch, void *out_batch, void *keys,
			     void *values, uint32_t *count, uint64_t elem_flags, int del);

const struct map_ops map_array_ops = {
	.name = "array", .check = map_array_check, .layout = array_layout, .attach = array_attach,
	.detach = array_detach,
	.lookup = array_lookup, .update = array_elem_update, .delete = array_delete,
	.next_key = map_array_next_key, .lookup_batch = map_generic_lookup_batch,
	.batch = BATCH_LOOKUP | BATCH_UPDATE,
	.elem_lookup = array_elem, .elem_raw = array_elem, .elem_update = array_elem_update,
	.elem_delete = array_delete,
};

const struct map_ops map_percpu_array_ops = {
	.name = "percpu_array", .check = map_array_check, .layout = array_layout, .attach = array_attach,
	.lookup = percpu_lookup, .update = percpu_update, .delete = array_delete,
	.next_key = map_array_next_key, .lookup_batch = map_generic_lookup_batch,
	.batch = BATCH_LOOKUP | BATCH_UPDATE,
	.elem_lookup = percpu_elem, .elem_raw = array_elem, .elem_update = percpu_elem_update,
	.elem_delete = array_delete,
};

const struct map_ops map_prog_array_ops = {
	.name = "prog_array", .check = fd_array_check, .layout = array_layout, .attach = array_attach,
	.detach = prog_array_release,
	.lookup = fd_lookup, .update = fd_update, .delete = fd_delete, .next_key = map_array_next_key,
};

const struct map_ops map_array_of_maps_ops = {
	.name = "array_of_maps", .check = fd_array_check, .layout = array_layout, .attach = array_attach,
	.lookup = fd_lookup, .update = fd_update, .delete = fd_delete, .next_key = map_array_next_key,
	.lookup_batch = map_generic_lookup_batch, .batch = BATCH_LOOKUP | BATCH_UPDATE,
	.elem_lookup = map_array_elem,
};
