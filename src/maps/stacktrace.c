/* STACK_TRACE: round_pow2(max_entries) buckets of { hash, nr, ips[value_size / 8] };
 * a stack id is a bucket index, as the kernel's stackmap.c.  bpf_get_stackid() (the
 * helper layer collects the ips) stores a trace with the kernel's rules for
 * BPF_F_FAST_STACK_CMP and BPF_F_REUSE_STACKID; the host reads (zero-padded) traces,
 * iterates ids in order and deletes them.  One robust lock guards the buckets. */
#include <string.h>

#include "maps/map.h"

#define STACK_FLAGS (SKEP_F_NUMA_NODE | SKEP_F_RDONLY | SKEP_F_WRONLY | (1u << 5) /* BUILD_ID */)
#define F_FAST_STACK_CMP (1ull << 9)
#define F_REUSE_STACKID (1ull << 10)
#define MAX_STACK 127   /* sysctl kernel.perf_event_max_stack default */

struct st_ctl { map_lock_t lock; uint32_t nbuckets; };
struct st_bucket { uint32_t used, hash, nr, pad; uint64_t ip[]; };

static int st_check(struct map_attr *a, char *err, size_t n)
{
	if (a->map_flags & ~STACK_FLAGS)
		return attr_fail(err, n, -EINVAL, "stack trace: map flags 0x%x", a->map_flags);
	if (a->map_flags & (1u << 5))
		return attr_fail(err, n, -ENOTSUPP, "stack trace: BPF_F_STACK_BUILD_ID is not supported");
	if (!a->max_entries || a->key_size != 4 || a->value_size < 8 || a->value_size % 8 ||
	    a->value_size / 8 > MAX_STACK)
		return attr_fail(err, n, -EINVAL,
				 "stack trace: key_size 4, value_size a multiple of 8 up to %u (is %u), max_entries > 0",
				 MAX_STACK * 8, a->value_size);
	if (a->max_entries > (1u << 31))
		return attr_fail(err, n, -E2BIG, "stack trace: max_entries %u too large", a->max_entries);
	return 0;
}

static uint64_t st_layout(const struct map_attr *a, uint64_t *d, uint64_t *l)
{
	return MAP_HDR_SIZE + 64 + round_pow2(a->max_entries) * (16 + (uint64_t)a->value_size);
}

static void st_attach(struct skep_map *m)
{
	m->ctl = m->base + MAP_HDR_SIZE;
	m->data = m->base + MAP_HDR_SIZE + 64;
	m->esize = 16 + m->value_size;
	m->mask = (uint32_t)round_pow2(m->max_entries) - 1;
}

static void st_init(struct skep_map *m) { ((struct st_ctl *)m->ctl)->nbuckets = m->mask + 1; }

static inline struct st_bucket *B(struct skep_map *m, uint32_t i) { return (struct st_bucket *)(m->data + (size_t)i * m->esize); }

long map_stack_get_id(struct skep_map *m, const uint64_t *ips, uint32_t n, uint64_t flags)
{
	if (m->type != SKEP_MAP_TYPE_STACK_TRACE)
		return -EINVAL;
	if (n > m->value_size / 8)
		n = m->value_size / 8;
	if (!n)
		return -EFAULT;
	uint32_t h = map_hash(ips, n * 8, 0), id = h & m->mask;
	struct st_ctl *c = m->ctl;
	map_lock(&c->lock);
	struct st_bucket *b = B(m, id);
	long ret = id;
	int match = b->used && b->hash == h;
	if (match && (flags & F_FAST_STACK_CMP))
		goto out;
	if (match && b->nr == n && !memcmp(b->ip, ips, n * 8))
		goto out;
	if (b->used && !(flags & F_REUSE_STACKID)) {
		ret = -EEXIST;
		goto out;
	}
	b->used = 1;
	b->hash = h;
	b->nr = n;
	memcpy(b->ip, ips, n * 8);
out:
	map_unlock(&c->lock);
	return ret;
}

static int st_copy(struct skep_map *m, const void *key, void *value, int del)
{
	uint32_t id = k32(key);
	if (id > m->mask)
		return map_fail(m, -ENOENT, "stack id %u out of range", id);
	struct st_ctl *c = m->ctl;
	map_lock(&c->lock);
	struct st_bucket *b = B(m, id);
	int used = b->used;
	if (used) {
		memcpy(value, b->ip, b->nr * 8);
		memset((uint8_t *)value + b->nr * 8, 0, m->value_size - b->nr * 8);
		if (del)
			b->used = 0;
	}
	map_unlock(&c->lock);
	return used ? 0 : map_fail(m, -ENOENT, "no stack with id %u", id);
}

static int st_lookup(struct skep_map *m, const void *key, void *value, uint64_t flags) { return st_copy(m, key, value, 0); }
static int st_lad(struct skep_map *m, const void *key, void *value, uint64_t flags) { return st_copy(m, key, value, 1); }

static int st_next(struct skep_map *m, const void *key, void *next)
{
	uint32_t id = 0;
	if (key) {
		id = k32(key);
		id = id > m->mask || !__atomic_load_n(&B(m, id)->used, __ATOMIC_ACQUIRE) ? 0 : id + 1;
	}
	while (id <= m->mask && !__atomic_load_n(&B(m, id)->used, __ATOMIC_ACQUIRE))
		id++;
	if (id > m->mask)
		return map_fail(m, -ENOENT, "no more stacks");
	put32(next, id);
	return 0;
}

static int st_delete(struct skep_map *m, const void *key)
{
	uint32_t id = k32(key);
	if (id > m->mask)
		return map_fail(m, -E2BIG, "stack id %u out of range", id);
	struct st_ctl *c = m->ctl;
	map_lock(&c->lock);
	int used = B(m, id)->used;
	B(m, id)->used = 0;
	map_unlock(&c->lock);
	return used ? 0 : map_fail(m, -ENOENT, "no stack with id %u", id);
}

static int st_update(struct skep_map *m, const void *key, const void *value, uint64_t flags)
{
	return map_fail(m, -EINVAL, "stack traces are stored by bpf_get_stackid() only");
}

const struct map_ops map_stack_trace_ops = {
	.name = "stack_trace", .check = st_check, .layout = st_layout, .init = st_init, .attach = st_attach,
	.lookup = st_lookup, .update = st_update, .delete = st_delete, .next_key = st_next,
	.lookup_and_delete = st_lad,
};
