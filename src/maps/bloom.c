/* BLOOM_FILTER: a bit array sized as the kernel's (max_entries * k * 7 / 5 bits,
 * rounded to a power of two, k = map_extra & 0xf or 5), set with atomic ORs, so
 * pushes from several processes need no lock.  push adds a value, peek tests it. */
#include <string.h>

#include "maps/map.h"

#define BLOOM_FLAGS (SKEP_F_NUMA_NODE | SKEP_F_ZERO_SEED | SKEP_F_RDONLY | SKEP_F_WRONLY | \
		     SKEP_F_RDONLY_PROG | SKEP_F_WRONLY_PROG)

struct bloom_ctl { uint32_t seed, nhash, mask, pad; };

static int bloom_check(struct map_attr *a, char *err, size_t n)
{
	if (a->key_size || !a->value_size || !a->max_entries || (a->map_flags & ~BLOOM_FLAGS) ||
	    (a->map_extra & ~0xfull))
		return attr_fail(err, n, -EINVAL,
				 "bloom filter: key_size must be 0 (is %u), value_size and max_entries > 0, "
				 "map_extra (hash functions) 0..15, flags 0x%x", a->key_size, a->map_flags);
	if (a->value_size > (1u << 22))
		return attr_fail(err, n, -E2BIG, "bloom filter: value_size %u too large", a->value_size);
	return 0;
}

static uint64_t nbits(const struct map_attr *a)
{
	uint64_t k = a->map_extra & 0xf ? a->map_extra & 0xf : 5;
	uint64_t b = (uint64_t)a->max_entries * k;
	if (b > UINT32_MAX || b / 5 * 7 > (1ull << 31))
		return 1ull << 32;
	b = b / 5 * 7;
	return b <= 64 ? 64 : round_pow2(b);
}

static uint64_t bloom_layout(const struct map_attr *a, uint64_t *d, uint64_t *l)
{
	return MAP_HDR_SIZE + 64 + nbits(a) / 8;
}

static void bloom_attach(struct skep_map *m)
{
	m->ctl = m->base + MAP_HDR_SIZE;
	m->data = m->base + MAP_HDR_SIZE + 64;
}

static void bloom_init(struct skep_map *m)
{
	struct bloom_ctl *c = m->ctl;
	struct map_attr a = { .max_entries = m->max_entries, .map_extra = m->hdr->map_extra };
	c->nhash = a.map_extra & 0xf ? (uint32_t)(a.map_extra & 0xf) : 5;
	c->mask = (uint32_t)(nbits(&a) - 1);
	if (!(m->flags & SKEP_F_ZERO_SEED))
		c->seed = m->hdr->uid * 0x85ebca6bu;
}

static uint32_t bit_of(struct skep_map *m, const void *value, uint32_t i)
{
	struct bloom_ctl *c = m->ctl;
	return map_hash(value, m->value_size, c->seed + i) & c->mask;
}

static int bloom_push(struct skep_map *m, const void *value, uint64_t flags)
{
	if (flags != SKEP_ANY)
		return map_fail(m, -EINVAL, "bloom filter push flags must be BPF_ANY");
	uint32_t k = ((struct bloom_ctl *)m->ctl)->nhash;
	for (uint32_t i = 0; i < k; i++) {
		uint32_t b = bit_of(m, value, i);
		__atomic_fetch_or((uint64_t *)m->data + b / 64, 1ull << (b % 64), __ATOMIC_RELAXED);
	}
	return 0;
}

static int bloom_pop(struct skep_map *m, void *value, int peek)
{
	if (!peek)
		return map_fail(m, -EOPNOTSUPP, "bloom filters cannot pop");
	uint32_t k = ((struct bloom_ctl *)m->ctl)->nhash;
	for (uint32_t i = 0; i < k; i++) {
		uint32_t b = bit_of(m, value, i);
		if (!(__atomic_load_n((uint64_t *)m->data + b / 64, __ATOMIC_RELAXED) & (1ull << (b % 64))))
			return -ENOENT;
	}
	return 0;
}

static int bloom_lookup(struct skep_map *m, const void *key, void *value, uint64_t flags)
{
	int e = bloom_pop(m, value, 1);
	return e ? map_fail(m, e, "value is not in the filter") : 0;
}
static int bloom_update(struct skep_map *m, const void *key, const void *value, uint64_t flags) { return bloom_push(m, value, flags); }
static int bloom_delete(struct skep_map *m, const void *key) { return map_fail(m, -EINVAL, "bloom filters cannot delete"); }
static int bloom_next(struct skep_map *m, const void *key, void *next) { return map_fail(m, -EOPNOTSUPP, "bloom filters have no keys"); }

const struct map_ops map_bloom_ops = {
	.name = "bloom_filter", .check = bloom_check, .layout = bloom_layout, .init = bloom_init,
	.attach = bloom_attach, .lookup = bloom_lookup, .update = bloom_update, .delete = bloom_delete,
	.next_key = bloom_next, .push = bloom_push, .pop = bloom_pop,
};
