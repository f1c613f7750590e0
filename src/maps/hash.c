/* Hash maps: HASH, PERCPU_HASH, LRU_HASH, LRU_PERCPU_HASH, HASH_OF_MAPS.
 *
 * Position independent: buckets hold element indices, elements live in one pool.
 * Readers take no lock: chains end in a "nulls" marker naming their bucket (as the
 * kernel's hlist_nulls), so a reader that followed an element recycled into another
 * bucket notices and restarts.  Writers lock the bucket (LRU maps: one LRU lock for
 * all writers, since eviction touches any bucket); replacing a value links a new
 * element before unlinking the old one, so readers see the old or the new value,
 * never a mix.  Every link change is one atomic store, so a writer that dies holding
 * a lock leaves valid chains (see lock.c for how the lock is recovered).
 *
 * Elements are taken from a free list, then from the never-used tail of the pool; the
 * pool's pages are only touched when used, so BPF_F_NO_PREALLOC costs no memory up front
 * either way.  Capacity: max_entries keys; plain hash maps have ncpus spare elements
 * for replacing values of a full map, as the kernel's extra_elems.
 *
 * LRU: each element has a reference bit set by program lookups; eviction takes the
 * least recently inserted element whose bit is clear, giving set ones a second
 * chance (moved to the head, bit cleared), as the kernel's bpf_lru.  One common list
 * (BPF_F_NO_COMMON_LRU is accepted and shares it); the map never holds more than
 * max_entries elements, and like the kernel an update may evict before it inserts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "maps/map.h"

#define NULLS 0x80000000u
#define NONE  0u            /* list links are index + 1 */

struct htab_ctl {
	map_lock_t free_lock;
	uint32_t free_head;      /* index + 1 */
	uint32_t next_unused;
	uint32_t nelems;
	uint32_t count;
	uint32_t seed;
	map_lock_t lru_lock;
	uint32_t lru_head, lru_tail;   /* index + 1; head = newest */
	uint32_t nbuckets;
	uint64_t reserved;       /* BPF_F_NO_PREALLOC: bytes backed so far */
};

struct bucket {
	map_lock_t lock;
	uint32_t head;           /* element index, or NULLS | bucket */
};

struct helem {
	uint32_t next, hash;
	uint32_t lru_prev, lru_next;   /* LRU list; lru_next is the free-list link too */
	uint32_t ref, pad;
	uint8_t key[];
};

#define HTAB_FLAGS (SKEP_F_NO_PREALLOC | SKEP_F_NO_COMMON_LRU | SKEP_F_NUMA_NODE | SKEP_F_RDONLY | \
		    SKEP_F_WRONLY | SKEP_F_RDONLY_PROG | SKEP_F_WRONLY_PROG | SKEP_F_ZERO_SEED)

static int is_lru(uint32_t t) { return t == SKEP_MAP_TYPE_LRU_HASH || t == SKEP_MAP_TYPE_LRU_PERCPU_HASH; }
static int is_pcpu(uint32_t t) { return t == SKEP_MAP_TYPE_PERCPU_HASH || t == SKEP_MAP_TYPE_LRU_PERCPU_HASH; }

static int htab_check(struct map_attr *a, char *err, size_t n)
{
	int lru = is_lru(a->type), pcpu = is_pcpu(a->type);
	int prealloc = !(a->map_flags & SKEP_F_NO_PREALLOC), pcpu_lru = a->map_flags & SKEP_F_NO_COMMON_LRU;
	if (a->type == SKEP_MAP_TYPE_HASH_OF_MAPS && a->value_size != 4)
		return attr_fail(err, n, -EINVAL, "hash of maps: value_size must be 4 (is %u)", a->value_size);
	if (a->map_flags & ~HTAB_FLAGS)
		return attr_fail(err, n, -EINVAL, "hash: unknown map flags 0x%x", a->map_flags & ~HTAB_FLAGS);
	if (!lru && pcpu_lru)
		return attr_fail(err, n, -EINVAL, "BPF_F_NO_COMMON_LRU is for LRU maps");
	if (lru && !prealloc)
		return attr_fail(err, n, -ENOTSUPP, "LRU maps are always preallocated (BPF_F_NO_PREALLOC)");
	if ((a->map_flags & SKEP_F_NUMA_NODE) && pcpu_lru)
		return attr_fail(err, n, -EINVAL, "BPF_F_NUMA_NODE with BPF_F_NO_COMMON_LRU");
	if (!a->max_entries || !a->key_size || !a->value_size)
		return attr_fail(err, n, -EINVAL,
				 "hash: key_size (%u), value_size (%u) and max_entries (%u) must be > 0",
				 a->key_size, a->value_size, a->max_entries);
	if ((uint64_t)a->key_size + a->value_size >= (1u << 22) - 48)   /* kmalloc-able element */
		return attr_fail(err, n, -E2BIG, "hash: key_size %u + value_size %u too large", a->key_size,
				 a->value_size);
	if (pcpu && round8(a->value_size) > 32768)
		return attr_fail(err, n, -E2BIG, "per-CPU value of %u bytes exceeds 32768", a->value_size);
	if (pcpu_lru) {   /* the kernel rounds max_entries to a multiple of the CPUs */
		uint64_t r = ((uint64_t)a->max_entries + a->ncpus - 1) / a->ncpus * a->ncpus;
		a->max_entries = r > UINT32_MAX ? a->max_entries / a->ncpus * a->ncpus : (uint32_t)r;
	}
	if (round_pow2(a->max_entries) >= (1u << 28))   /* the kernel's bucket array limit */
		return attr_fail(err, n, -E2BIG, "hash: max_entries %u too large", a->max_entries);
	return 0;
}

static uint32_t nelems_of(const struct map_attr *a)
{
	int extra = !is_lru(a->type) && !is_pcpu(a->type);
	return a->max_entries + (extra ? a->ncpus : 0);
}

static uint32_t esize_of(uint32_t type, uint32_t ks, uint32_t vs, uint32_t ncpus)
{
	return (uint32_t)sizeof(struct helem) + round8(ks) + round8(vs) * (is_pcpu(type) ? ncpus : 1);
}

#define CTL_OFF MAP_HDR_SIZE
#define BUCKETS_OFF (CTL_OFF + 64)

static uint64_t pool_off(uint64_t nbuckets) { return (BUCKETS_OFF + nbuckets * sizeof(struct bucket) + 63) & ~63ull; }

static uint64_t htab_lazy(const struct map_attr *a)
{
	return (a->map_flags & SKEP_F_NO_PREALLOC) ? pool_off(round_pow2(a->max_entries)) : 0;
}

static uint64_t htab_layout(const struct map_attr *a, uint64_t *dup_off, uint64_t *dup_len)
{
	uint64_t nb = round_pow2(a->max_entries);
	return pool_off(nb) + (uint64_t)nelems_of(a) * esize_of(a->type, a->key_size, a->value_size, a->ncpus);
}

static void htab_init(struct skep_map *m)
{
	struct htab_ctl *c = m->ctl;
	c->reserved = pool_off(m->mask + 1);
	struct map_attr a = { .type = m->type, .max_entries = m->max_entries, .ncpus = m->ncpus };
	c->nelems = nelems_of(&a);
	c->nbuckets = m->mask + 1;
	if (!(m->flags & SKEP_F_ZERO_SEED))
		c->seed = m->hdr->uid * 0x9e3779b1u;
	m->seed = c->seed;
	struct bucket *b = (struct bucket *)m->buckets;
	for (uint32_t i = 0; i < c->nbuckets; i++)
		b[i].head = NULLS | i;
}

static void htab_attach(struct skep_map *m)
{
	uint64_t nb = round_pow2(m->max_entries);
	m->ctl = m->base + CTL_OFF;
	m->buckets = (uint32_t *)(m->base + BUCKETS_OFF);
	m->data = m->base + pool_off(nb);
	m->mask = (uint32_t)nb - 1;
	m->esize = esize_of(m->type, m->key_size, m->value_size, m->ncpus);
	m->seed = ((struct htab_ctl *)m->ctl)->seed;
}

#define CTL(m) ((struct htab_ctl *)(m)->ctl)
#define BKT(m, i) (&((struct bucket *)(m)->buckets)[i])
static inline struct helem *EL(const struct skep_map *m, uint32_t i) { return (struct helem *)(m->data + (size_t)i * m->esize); }
static inline uint32_t IDX(const struct skep_map *m, const struct helem *e) { return (uint32_t)(((const uint8_t *)e - m->data) / m->esize); }
static inline uint8_t *VAL(const struct skep_map *m, struct helem *e) { return e->key + m->ksize8; }

static inline int key_eq(const struct skep_map *m, const uint8_t *a, const void *b)
{
	switch (m->key_size) {
	case 4: return k32(a) == k32(b);
	case 8: { uint64_t x, y; memcpy(&x, a, 8); memcpy(&y, b, 8); return x == y; }
	}
	return !memcmp(a, b, m->key_size);
}

static inline struct helem *find(struct skep_map *m, uint32_t h, const void *key)
{
	uint32_t bi = h & m->mask;
	struct bucket *b = BKT(m, bi);
again:;
	uint32_t n = __atomic_load_n(&b->head, __ATOMIC_ACQUIRE);
	while (!(n & NULLS)) {
		struct helem *e = EL(m, n);
		if (e->hash == h && key_eq(m, e->key, key))
			return e;
		n = __atomic_load_n(&e->next, __ATOMIC_ACQUIRE);
	}
	if (n != (NULLS | bi))
		goto again;
	return NULL;
}

static inline uint32_t hash_key(struct skep_map *m, const void *key)
{
	if (m->key_size == 4) {   /* the common u32 key: one multiply-xorshift */
		uint64_t h = (k32(key) ^ (uint64_t)m->seed << 32) * 0x9e3779b97f4a7c15ULL;
		return (uint32_t)(h >> 32) ^ (uint32_t)h;
	}
	return map_hash(key, m->key_size, m->seed);
}

/* ---- element pool */
static struct helem *pool_pop(struct skep_map *m)
{
	struct htab_ctl *c = CTL(m);
	struct helem *e = NULL;
	map_lock(&c->free_lock);
	if (c->free_head) {
		e = EL(m, c->free_head - 1);
		c->free_head = e->lru_next;
	} else if (c->next_unused < c->nelems) {
		uint64_t end = (uint64_t)(m->data - m->base) + (uint64_t)(c->next_unused + 1) * m->esize;
		if (!(m->flags & SKEP_F_NO_PREALLOC) || !map_reserve(m, &c->reserved, end))
			e = EL(m, c->next_unused++);
	}
	map_unlock(&c->free_lock);
	return e;
}

static void pool_push(struct skep_map *m, struct helem *e)
{
	struct htab_ctl *c = CTL(m);
	map_lock(&c->free_lock);
	e->lru_next = c->free_head;
	c->free_head = IDX(m, e) + 1;
	map_unlock(&c->free_lock);
}

/* The link that points at e in its bucket (writer lock held). */
static uint32_t *link_of(struct skep_map *m, struct bucket *b, uint32_t idx)
{
	uint32_t *l = &b->head;
	while (!(*l & NULLS) && *l != idx)
		l = &EL(m, *l)->next;
	return *l == idx ? l : NULL;
}

static void unlink_elem(struct skep_map *m, struct bucket *b, struct helem *e)
{
	uint32_t *l = link_of(m, b, IDX(m, e));
	if (l)
		__atomic_store_n(l, e->next, __ATOMIC_RELEASE);
}

static void link_head(struct bucket *b, struct helem *e, uint32_t idx)
{
	e->next = b->head;
	__atomic_store_n(&b->head, idx, __ATOMIC_RELEASE);
}

/* ---- LRU list (lru_lock held) */
static void lru_remove(struct skep_map *m, struct helem *e)
{
	struct htab_ctl *c = CTL(m);
	if (e->lru_prev)
		EL(m, e->lru_prev - 1)->lru_next = e->lru_next;
	else
		c->lru_head = e->lru_next;
	if (e->lru_next)
		EL(m, e->lru_next - 1)->lru_prev = e->lru_prev;
	else
		c->lru_tail = e->lru_prev;
	e->lru_prev = e->lru_next = NONE;
}

static void lru_add_head(struct skep_map *m, struct helem *e)
{
	struct htab_ctl *c = CTL(m);
	uint32_t i = IDX(m, e) + 1;
	e->lru_prev = NONE;
	e->lru_next = c->lru_head;
	if (c->lru_head)
		EL(m, c->lru_head - 1)->lru_prev = i;
	else
		c->lru_tail = i;
	c->lru_head = i;
}

static struct helem *lru_evict(struct skep_map *m)
{
	struct htab_ctl *c = CTL(m);
	while (c->lru_tail) {
		struct helem *e = EL(m, c->lru_tail - 1);
		lru_remove(m, e);
		if (__atomic_load_n(&e->ref, __ATOMIC_RELAXED)) {   /* second chance */
			__atomic_store_n(&e->ref, 0, __ATOMIC_RELAXED);
			lru_add_head(m, e);
			continue;
		}
		unlink_elem(m, BKT(m, e->hash & m->mask), e);
		__atomic_fetch_sub(&c->count, 1, __ATOMIC_RELAXED);
		return e;
	}
	return NULL;
}

static struct helem *pop_or_evict(struct skep_map *m)
{
	struct helem *e = pool_pop(m);
	return e ? e : lru_evict(m);
}

/* The writers' lock for bucket b: the bucket's own, or the LRU lock. */
static map_lock_t *wlock(struct skep_map *m, struct bucket *b)
{
	return is_lru(m->type) ? &CTL(m)->lru_lock : &b->lock;
}

/* A writer died holding the LRU lock, maybe halfway through relinking the LRU or
 * free list: rebuild both and the count from the buckets, whose chains are always
 * consistent (every chain change is one atomic store).  All LRU writers are locked
 * out meanwhile. */
static void lru_repair(struct skep_map *m)
{
	struct htab_ctl *c = CTL(m);
	map_lock(&c->free_lock);
	uint32_t used = c->next_unused, count = 0;
	for (uint32_t i = 0; i < used; i++)
		EL(m, i)->pad = 0;
	c->lru_head = c->lru_tail = NONE;
	for (uint32_t b = 0; b <= m->mask; b++) {
		uint32_t steps = 0;
		for (uint32_t n = BKT(m, b)->head; !(n & NULLS) && n < used && steps++ < used; n = EL(m, n)->next) {
			EL(m, n)->pad = 1;
			lru_add_head(m, EL(m, n));
			count++;
		}
	}
	c->free_head = NONE;
	for (uint32_t i = 0; i < used; i++)
		if (!EL(m, i)->pad) {
			EL(m, i)->lru_next = c->free_head;
			c->free_head = i + 1;
		}
	__atomic_store_n(&c->count, count, __ATOMIC_RELAXED);
	map_unlock(&c->free_lock);
}

static void wl_lock(struct skep_map *m, map_lock_t *l)
{
	if (map_lock(l) && is_lru(m->type))
		lru_repair(m);
}

/* ---- values */
static void fill_value(struct skep_map *m, struct helem *e, const void *value, int host, int fresh)
{
	uint8_t *v = VAL(m, e);
	if (!is_pcpu(m->type)) {
		if (fresh && m->lock_off)
			memset(v + m->lock_off - 1, 0, 4);
		map_copy_value(m, v, value);
		return;
	}
	if (host) {
		for (uint32_t c = 0; c < m->ncpus; c++)
			memcpy(v + (size_t)c * m->vsize8, (const uint8_t *)value + (size_t)c * m->vsize8, m->vsize8);
		return;
	}
	uint32_t cpu = map_cpu(m);
	if (fresh)
		memset(v, 0, (size_t)m->vsize8 * m->ncpus);
	memcpy(v + (size_t)cpu * m->vsize8, value, m->value_size);
}

static void copy_out(struct skep_map *m, struct helem *e, void *value, uint64_t flags)
{
	if (is_pcpu(m->type))
		memcpy(value, VAL(m, e), (size_t)m->vsize8 * m->ncpus);
	else
		map_value_out(m, value, VAL(m, e), (int)(flags & SKEP_F_LOCK));
}

/* ---- update, shared by host (host = 1: per-CPU values for all CPUs) and programs */
static int htab_update(struct skep_map *m, const void *key, const void *value, uint64_t flags, int host)
{
	struct htab_ctl *c = CTL(m);
	int pcpu = is_pcpu(m->type), lru = is_lru(m->type);
	uint64_t op = flags & ~SKEP_F_LOCK;
	if ((pcpu || lru) ? flags > SKEP_EXIST : op > SKEP_EXIST)
		return map_fail(m, -EINVAL, "update flags 0x%llx", (unsigned long long)flags);
	uint32_t h = hash_key(m, key);
	struct bucket *b = BKT(m, h & m->mask);
	if (flags & SKEP_F_LOCK) {   /* in place under the value's lock, no bucket lock */
		struct helem *e = find(m, h, key);
		if (e) {
			if (op == SKEP_NOEXIST)
				return map_fail(m, -EEXIST, "key exists (BPF_NOEXIST)");
			map_value_in(m, VAL(m, e), value, 1);
			return 0;
		}
	}
	map_lock_t *l = wlock(m, b);
	wl_lock(m, l);
	struct helem *n = NULL;
	if (lru && !pcpu)   /* the kernel takes a node (maybe evicting) before looking */
		n = pop_or_evict(m);
	struct helem *old = find(m, h, key);
	int err = 0;
	if (old && op == SKEP_NOEXIST)
		err = map_fail(m, -EEXIST, "key exists (BPF_NOEXIST)");
	else if (!old && op == SKEP_EXIST)
		err = map_fail(m, -ENOENT, "no such key (BPF_EXIST)");
	if (err)
		goto out;
	if (old && (pcpu || (flags & SKEP_F_LOCK))) {
		if (pcpu)
			fill_value(m, old, value, host, 0);
		else
			map_value_in(m, VAL(m, old), value, 1);
		if (lru)
			__atomic_store_n(&old->ref, 1, __ATOMIC_RELAXED);
		goto out;
	}
	if (!old && !lru) {
		if (__atomic_fetch_add(&c->count, 1, __ATOMIC_RELAXED) >= m->max_entries) {
			__atomic_fetch_sub(&c->count, 1, __ATOMIC_RELAXED);
			err = map_fail(m, -E2BIG, "map is full (%u entries)", m->max_entries);
			goto out;
		}
	}
	if (!n)
		n = lru ? pop_or_evict(m) : pool_pop(m);
	if (!n) {
		if (old) {   /* no spare element: replace in place */
			fill_value(m, old, value, host, 0);
			goto out;
		}
		if (!lru)
			__atomic_fetch_sub(&c->count, 1, __ATOMIC_RELAXED);
		err = map_fail(m, lru || CTL(m)->next_unused < CTL(m)->nelems ? -ENOMEM : -E2BIG,
			       "no free element (or no memory for one)");
		goto out;
	}
	n->hash = h;
	n->ref = 0;
	memcpy(n->key, key, m->key_size);
	fill_value(m, n, value, host, 1);
	link_head(b, n, IDX(m, n));
	if (lru) {
		lru_add_head(m, n);
		__atomic_fetch_add(&c->count, 1, __ATOMIC_RELAXED);
	}
	if (old) {
		unlink_elem(m, b, old);
		if (lru) {
			n->ref = 1;
			lru_remove(m, old);
			__atomic_fetch_sub(&c->count, 1, __ATOMIC_RELAXED);
		}
		pool_push(m, old);
	}
	n = NULL;
out:
	if (n)
		pool_push(m, n);
	map_unlock(l);
	return err;
}

static int host_update(struct skep_map *m, const void *key, const void *value, uint64_t flags)
{
	return htab_update(m, key, value, flags, 1);
}

static int prog_update(struct skep_map *m, const void *key, const void *value, uint64_t flags)
{
	return htab_update(m, key, value, flags, 0);
}

static int del_locked(struct skep_map *m, struct bucket *b, struct helem *e)
{
	unlink_elem(m, b, e);
	if (is_lru(m->type))
		lru_remove(m, e);
	__atomic_fetch_sub(&CTL(m)->count, 1, __ATOMIC_RELAXED);
	pool_push(m, e);
	return 0;
}

static int htab_delete(struct skep_map *m, const void *key)
{
	uint32_t h = hash_key(m, key);
	struct bucket *b = BKT(m, h & m->mask);
	map_lock_t *l = wlock(m, b);
	wl_lock(m, l);
	struct helem *e = find(m, h, key);
	int err = e ? del_locked(m, b, e) : map_fail(m, -ENOENT, "no such key");
	map_unlock(l);
	return err;
}

static int htab_lookup_and_delete(struct skep_map *m, const void *key, void *value, uint64_t flags)
{
	uint32_t h = hash_key(m, key);
	struct bucket *b = BKT(m, h & m->mask);
	map_lock_t *l = wlock(m, b);
	wl_lock(m, l);
	struct helem *e = find(m, h, key);
	int err = -ENOENT;
	if (e) {
		copy_out(m, e, value, flags);
		err = del_locked(m, b, e);
	} else
		map_fail(m, -ENOENT, "no such key");
	map_unlock(l);
	return err;
}

static int htab_lookup(struct skep_map *m, const void *key, void *value, uint64_t flags)
{
	struct helem *e = find(m, hash_key(m, key), key);
	if (!e)
		return map_fail(m, -ENOENT, "no such key");
	copy_out(m, e, value, flags);
	return 0;
}

static int htab_next_key(struct skep_map *m, const void *key, void *next)
{
	uint32_t i = 0;
	if (key) {
		uint32_t h = hash_key(m, key);
		struct helem *e = find(m, h, key);
		if (e) {
			uint32_t n = __atomic_load_n(&e->next, __ATOMIC_ACQUIRE);
			if (!(n & NULLS)) {
				memcpy(next, EL(m, n)->key, m->key_size);
				return 0;
			}
			i = (h & m->mask) + 1;
		}
	}
	for (; i <= m->mask; i++) {
		uint32_t n = __atomic_load_n(&BKT(m, i)->head, __ATOMIC_ACQUIRE);
		if (!(n & NULLS)) {
			memcpy(next, EL(m, n)->key, m->key_size);
			return 0;
		}
	}
	return map_fail(m, -ENOENT, "no more keys");
}

/* ---- program side */
static void *elem_lookup(struct skep_map *m, const void *key)
{
	struct helem *e = find(m, hash_key(m, key), key);
	if (!e)
		return NULL;
	return VAL(m, e);
}

static void *lru_elem_lookup(struct skep_map *m, const void *key)
{
	struct helem *e = find(m, hash_key(m, key), key);
	if (!e)
		return NULL;
	if (!__atomic_load_n(&e->ref, __ATOMIC_RELAXED))
		__atomic_store_n(&e->ref, 1, __ATOMIC_RELAXED);
	return VAL(m, e);
}

static void *pcpu_elem_lookup(struct skep_map *m, const void *key)
{
	struct helem *e = find(m, hash_key(m, key), key);
	return e ? VAL(m, e) + (size_t)map_cpu(m) * m->vsize8 : NULL;
}

static void *lru_pcpu_elem_lookup(struct skep_map *m, const void *key)
{
	uint8_t *v = lru_elem_lookup(m, key);
	return v ? v + (size_t)map_cpu(m) * m->vsize8 : NULL;
}

static void *hom_elem_lookup(struct skep_map *m, const void *key)
{
	uint32_t *v = elem_lookup(m, key);
	return v ? map_by_uid(__atomic_load_n(v, __ATOMIC_ACQUIRE)) : NULL;
}

/* ---- hash of maps: the host passes a map id, the map stores its uid */
static int hom_update(struct skep_map *m, const void *key, const void *value, uint64_t flags)
{
	uint32_t id = k32(value);
	struct skep_map *in = skep_map_by_id(id);
	if (!in)
		return map_fail(m, -EBADF, "no map with id %u in this process", id);
	if (!map_inner_compatible(m, in))
		return map_fail(m, -EINVAL, "map %u does not match the inner map template", id);
	uint32_t uid = in->hdr->uid;
	return htab_update(m, key, &uid, flags, 1);
}

/* ---- batch: bucket by bucket, with the kernel's u32 bucket cursor */
static int htab_batch(struct skep_map *m, void *in_batch, void *out_batch, void *keys, void *values,
		      uint32_t *count, uint64_t elem_flags, int del)
{
	if (elem_flags & ~SKEP_F_LOCK)
		return map_fail(m, -EINVAL, "batch elem_flags 0x%llx", (unsigned long long)elem_flags);
	if ((elem_flags & SKEP_F_LOCK) && !m->lock_off)
		return map_fail(m, -EINVAL, "BPF_F_LOCK on a map whose value has no bpf_spin_lock");
	uint32_t max = *count, total = 0, batch = 0;
	uint32_t vs = is_pcpu(m->type) ? m->vsize8 * m->ncpus : m->value_size;
	if (!max)
		return 0;
	*count = 0;
	if (in_batch)
		memcpy(&batch, in_batch, sizeof batch);
	if (batch > m->mask)
		return map_fail(m, -ENOENT, "batch cursor past the last bucket");
	int ret = 0;
	for (;;) {
		struct bucket *b = BKT(m, batch);
		map_lock_t *l = wlock(m, b);
		wl_lock(m, l);
		uint32_t cnt = 0;
		for (uint32_t n = b->head; !(n & NULLS); n = EL(m, n)->next)
			cnt++;
		if (cnt > max - total) {
			if (!total)
				ret = map_fail(m, -ENOSPC, "a bucket holds %u elements, more than count %u", cnt, max);
			map_unlock(l);
			break;
		}
		uint32_t k = total;
		for (uint32_t n = b->head; !(n & NULLS);) {
			struct helem *e = EL(m, n);
			n = e->next;
			memcpy((uint8_t *)keys + (size_t)k * m->key_size, e->key, m->key_size);
			copy_out(m, e, (uint8_t *)values + (size_t)k * vs, elem_flags);
			if (del)
				del_locked(m, b, e);
			k++;
		}
		map_unlock(l);
		total += cnt;
		batch++;
		if (batch > m->mask) {
			ret = map_fail(m, -ENOENT, "end of map");
			break;
		}
	}
	memcpy(out_batch, &batch, sizeof batch);
	*count = total;
	return ret;
}

static void *elem_raw(struct skep_map *m, const void *key)
{
	struct helem *e = find(m, hash_key(m, key), key);
	return e ? VAL(m, e) : NULL;
}

long map_hash_for_each(struct skep_map *m, long (*cb)(struct skep_map *, void *, void *, void *), void *ctx)
{
	long n = 0;
	for (uint32_t i = 0; i <= m->mask; i++)
		for (uint32_t x = __atomic_load_n(&BKT(m, i)->head, __ATOMIC_ACQUIRE); !(x & NULLS);) {
			struct helem *e = EL(m, x);
			x = __atomic_load_n(&e->next, __ATOMIC_ACQUIRE);
			n++;
			uint8_t *v = VAL(m, e) + (is_pcpu(m->type) ? (size_t)map_cpu(m) * m->vsize8 : 0);
			if (cb(m, e->key, v, ctx))
				return n;
		}
	return n;
}

uint32_t map_hash_count(struct skep_map *m) { return __atomic_load_n(&CTL(m)->count, __ATOMIC_RELAXED); }

#define HTAB_COMMON \
	.check = htab_check, .layout = htab_layout, .lazy = htab_lazy, .init = htab_init, .attach = htab_attach, \
	.lookup = htab_lookup, .delete = htab_delete, .next_key = htab_next_key, \
	.lookup_and_delete = htab_lookup_and_delete, .lookup_batch = htab_batch, \
	.batch = BATCH_LOOKUP | BATCH_LOOKUP_DELETE | BATCH_UPDATE | BATCH_DELETE, \
	.elem_raw = elem_raw, .elem_update = prog_update, .elem_delete = htab_delete

const struct map_ops map_hash_ops = { .name = "hash", HTAB_COMMON, .update = host_update,
				      .elem_lookup = elem_lookup };
const struct map_ops map_percpu_hash_ops = { .name = "percpu_hash", HTAB_COMMON, .update = host_update,
					     .elem_lookup = pcpu_elem_lookup };
const struct map_ops map_lru_hash_ops = { .name = "lru_hash", HTAB_COMMON, .update = host_update,
					  .elem_lookup = lru_elem_lookup };
const struct map_ops map_lru_percpu_hash_ops = { .name = "lru_percpu_hash", HTAB_COMMON,
						 .update = host_update, .elem_lookup = lru_pcpu_elem_lookup };
const struct map_ops map_hash_of_maps_ops = {
	.name = "hash_of_maps", .check = htab_check, .layout = htab_layout, .lazy = htab_lazy, .init = htab_init,
	.attach = htab_attach, .lookup = htab_lookup, .update = hom_update, .delete = htab_delete,
	.next_key = htab_next_key, .lookup_batch = htab_batch,
	.batch = BATCH_LOOKUP | BATCH_LOOKUP_DELETE | BATCH_UPDATE | BATCH_DELETE,
	.elem_lookup = hom_elem_lookup, .elem_delete = htab_delete,
};
