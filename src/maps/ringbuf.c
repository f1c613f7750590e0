/* RINGBUF with the kernel's layout and protocol: a consumer page (consumer_pos), a
 * producer page (producer_pos), then the data area, mapped twice in a row so a
 * record that wraps is contiguous.  Records have the kernel's 8-byte header
 * (u32 len with BPF_RINGBUF_BUSY_BIT / DISCARD_BIT, u32 page offset of the header from
 * the map's start) and 8-byte alignment.  The consumer needs no lock.  Consumers
 * sleep on a futex word that a commit bumps when the kernel would wake them.
 *
 * Producers (any process) reserve as the kernel's __bpf_ringbuf_reserve does: under
 * the ring's spinlock (here the robust map lock), read the positions, write the BUSY
 * header, publish producer_pos.  The header must be written before producer_pos
 * passes it (a consumer reads every header below producer_pos), so a lock-free
 * fetch-add on producer_pos would let a consumer read a stale header; the lock stays,
 * with only those few stores inside it (the kernel's pending-record walk runs only
 * when the stale pending position would refuse the record, as only then it matters).
 *
 * A producer that dies between reserve and commit leaves a BUSY record that would stop
 * the consumer for good (the kernel's verifier guarantees a commit; a user process can
 * be killed).  Each producer thread counts its records in flight in a slot of its own
 * (its own cache line; claimed once per thread and ring, outside the lock), raised
 * before it reserves and lowered after it commits.  A consumer stuck behind a BUSY
 * record discards it (BUSY cleared, DISCARD set) when no live thread has a record in
 * flight: then its owner is dead.  Threads that find no free slot share one counter,
 * and while it is nonzero nothing is discarded. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "maps/map.h"

#define RB_SLOTS 24
struct rb_slot {                  /* a producer thread: two cache lines (so that the
				   * adjacent-line prefetcher does not pair two threads') */
	uint32_t tid;             /* 0: free */
	uint32_t n;               /* records in flight (written by its thread only) */
	uint32_t pad[30];
};

struct rb_ctl {
	map_lock_t lock;          /* producers' line: lock, pending_pos (not producer_pos's:
				   * a waiter spinning on the lock would take that line from
				   * the holder about to publish; measured worse) */
	uint32_t pad0;
	uint64_t pending_pos;     /* oldest record that may still be busy */
	uint64_t mask;
	uint32_t pad1[10];
	uint32_t wake_seq;        /* consumers' line: bumped to wake consumers */
	uint32_t waiters;         /* consumers about to sleep */
	uint32_t untracked;       /* records in flight of threads without a slot */
	uint32_t pad2[13];
	struct rb_slot slot[RB_SLOTS];
};
_Static_assert(sizeof(struct rb_ctl) <= 4096 - MAP_HDR_SIZE, "rb_ctl fits before the consumer page");
_Static_assert(offsetof(struct rb_ctl, slot) % 64 == 0, "slots on their own cache lines");

#define RB_MAX_RECORD (UINT32_MAX >> 2)

static inline uint64_t pg(void) { return map_page_size(); }

static int rb_check(struct map_attr *a, char *err, size_t n)
{
	if (a->map_flags & ~SKEP_F_NUMA_NODE)
		return attr_fail(err, n, -EINVAL, "ringbuf: unknown map flags 0x%x", a->map_flags);
	if (a->key_size || a->value_size || !a->max_entries || (a->max_entries & (a->max_entries - 1)) ||
	    a->max_entries % pg())
		return attr_fail(err, n, -EINVAL,
				 "ringbuf: key_size and value_size must be 0, max_entries a power of 2 "
				 "and a multiple of the page size (is %u)", a->max_entries);
	return 0;
}

static uint64_t rb_layout(const struct map_attr *a, uint64_t *dup_off, uint64_t *dup_len)
{
	*dup_off = 3 * pg();
	*dup_len = a->max_entries;
	return 3 * pg() + a->max_entries;
}

static void rb_attach(struct skep_map *m)
{
	m->ctl = m->base + MAP_HDR_SIZE;
	m->data = m->base + 3 * pg();
	m->mask = m->max_entries - 1;
}

static void rb_init(struct skep_map *m) { ((struct rb_ctl *)m->ctl)->mask = m->max_entries - 1; }

#define CONS(base) ((uint64_t *)((base) + pg()))
#define PROD(base) ((uint64_t *)((base) + 2 * pg()))

static inline uint64_t rec_len(uint32_t len)
{
	return ((uint64_t)(len & ~(SKEP_RINGBUF_BUSY_BIT | SKEP_RINGBUF_DISCARD_BIT)) + SKEP_RINGBUF_HDR_SZ + 7) & ~7ull;
}

/* The calling thread's slot in the ring at ctl, claimed on first use (cached per
 * thread for a few rings, and checked to still hold our thread id: a child of fork
 * has another, and another ring may be mapped where one was); NULL when every slot
 * belongs to a live thread. */
static __thread struct { struct rb_ctl *c; struct rb_slot *s; } slot_cache[4];
static __thread unsigned slot_next;

static struct rb_slot *my_slot_slow(struct rb_ctl *c, uint32_t tid)
{
	struct rb_slot *got = NULL;
	for (unsigned k = 1; k < 4; k++)
		if (slot_cache[k].c == c && __atomic_load_n(&slot_cache[k].s->tid, __ATOMIC_RELAXED) == tid)
			return slot_cache[k].s;
	for (uint32_t pass = 0; pass < 2 && !got; pass++)   /* free slots, then dead threads' */
		for (uint32_t i = 0; i < RB_SLOTS && !got; i++) {
			struct rb_slot *sl = &c->slot[(tid + i) % RB_SLOTS];
			uint32_t cur = __atomic_load_n(&sl->tid, __ATOMIC_ACQUIRE);
			if (cur == tid) {   /* ours already (fell out of the cache): n is right */
				got = sl;
				break;
			}
			if (pass == 0 ? cur != 0 : !cur || map_tid_alive(cur))
				continue;
			if (!__atomic_compare_exchange_n(&sl->tid, &cur, tid, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
				continue;
			__atomic_store_n(&sl->n, 0, __ATOMIC_RELEASE);
			got = sl;
		}
	if (got) {   /* most recent first */
		unsigned k = 1 + slot_next++ % 3;
		slot_cache[k] = slot_cache[0];
		slot_cache[0].c = c, slot_cache[0].s = got;
	}
	return got;
}

static inline struct rb_slot *my_slot(struct rb_ctl *c)
{
	uint32_t tid = map_tid();
	if (__builtin_expect(slot_cache[0].c == c && __atomic_load_n(&slot_cache[0].s->tid, __ATOMIC_RELAXED) == tid, 1))
		return slot_cache[0].s;
	return my_slot_slow(c, tid);
}

/* A record goes in flight (before reserving) or out of it (after committing).  Only
 * this thread writes its n: a plain store.  The raise is published by the release
 * store of producer_pos that makes the record visible; a consumer that sees the lower
 * value sees the committed header too (release here, acquire there). */
static inline void in_flight(struct rb_ctl *c, struct rb_slot *sl, int d)
{
	/* a record reserved while the thread had no slot is counted in untracked even
	 * if the thread has a slot by its commit (then its n is 0) */
	if (sl && (d > 0 || __atomic_load_n(&sl->n, __ATOMIC_RELAXED)))
		__atomic_store_n(&sl->n, __atomic_load_n(&sl->n, __ATOMIC_RELAXED) + (uint32_t)d,
				 d > 0 ? __ATOMIC_RELAXED : __ATOMIC_RELEASE);
	else
		__atomic_fetch_add(&c->untracked, (uint32_t)d, __ATOMIC_SEQ_CST);
}

static void *reserve(struct skep_map *m, uint64_t size)
{
	struct rb_ctl *c = m->ctl;
	uint8_t *base = m->base;
	if (size > RB_MAX_RECORD)
		return NULL;
	uint64_t len = (size + SKEP_RINGBUF_HDR_SZ + 7) & ~7ull;
	if (len > c->mask + 1)
		return NULL;
	struct rb_slot *sl = my_slot(c);
	in_flight(c, sl, 1);
	uint64_t cons = __atomic_load_n(CONS(base), __ATOMIC_ACQUIRE);
	map_lock(&c->lock);
	uint64_t pend = c->pending_pos, prod = *PROD(base), np = prod + len;
	if (np - pend > c->mask) {   /* the kernel's walk over records already committed */
		while (pend < prod) {
			uint32_t l = __atomic_load_n((uint32_t *)(m->data + (pend & c->mask)), __ATOMIC_ACQUIRE);
			if (l & SKEP_RINGBUF_BUSY_BIT)
				break;
			pend += rec_len(l);
		}
		c->pending_pos = pend;
	}
	if (np - cons > c->mask || np - pend > c->mask) {
		map_unlock(&c->lock);
		in_flight(c, sl, -1);
		return NULL;
	}
	uint32_t *hdr = (uint32_t *)(m->data + (prod & c->mask));
	hdr[1] = (uint32_t)((uint64_t)((uint8_t *)hdr - base) >> __builtin_ctzll(pg()));  /* / page size */
	__atomic_store_n(&hdr[0], (uint32_t)size | SKEP_RINGBUF_BUSY_BIT, __ATOMIC_RELAXED);
	__atomic_store_n(PROD(base), np, __ATOMIC_RELEASE);
	map_unlock(&c->lock);
	return hdr + 2;
}

void *map_ringbuf_reserve(struct skep_map *m, uint64_t size, uint64_t flags)
{
	if (flags || m->type != SKEP_MAP_TYPE_RINGBUF)
		return NULL;
	return reserve(m, size);
}

static void commit(void *sample, uint64_t flags, int discard)
{
	uint32_t *hdr = (uint32_t *)sample - 2;
	uint64_t p = pg();
	uint8_t *base = (uint8_t *)((uintptr_t)hdr & ~(uintptr_t)(p - 1)) - (uint64_t)hdr[1] * p;
	struct rb_ctl *c = (struct rb_ctl *)(base + MAP_HDR_SIZE);
	uint8_t *data = base + 3 * p;
	uint32_t nl = (__atomic_load_n(&hdr[0], __ATOMIC_RELAXED) ^ SKEP_RINGBUF_BUSY_BIT) |
		      (discard ? SKEP_RINGBUF_DISCARD_BIT : 0);
	__atomic_exchange_n(&hdr[0], nl, __ATOMIC_SEQ_CST);
	in_flight(c, my_slot(c), -1);
	uint64_t rec = (uint64_t)((uint8_t *)hdr - data);
	uint64_t cons = __atomic_load_n(CONS(base), __ATOMIC_ACQUIRE) & c->mask;
	int wake = (flags & SKEP_RB_FORCE_WAKEUP) || (cons == rec && !(flags & SKEP_RB_NO_WAKEUP));
	if (wake && __atomic_load_n(&c->waiters, __ATOMIC_SEQ_CST))
		map_wake(&c->wake_seq);
}

void map_ringbuf_submit(void *sample, uint64_t flags) { commit(sample, flags, 0); }
void map_ringbuf_discard(void *sample, uint64_t flags) { commit(sample, flags, 1); }

int map_ringbuf_output(struct skep_map *m, const void *data, uint64_t size, uint64_t flags)
{
	if ((flags & ~(SKEP_RB_NO_WAKEUP | SKEP_RB_FORCE_WAKEUP)) || m->type != SKEP_MAP_TYPE_RINGBUF)
		return -EINVAL;
	void *rec = reserve(m, size);
	if (!rec)
		return -EAGAIN;
	memcpy(rec, data, size);
	commit(rec, flags, 0);
	return 0;
}

uint64_t map_ringbuf_query(struct skep_map *m, uint64_t flags)
{
	if (m->type != SKEP_MAP_TYPE_RINGBUF)
		return 0;
	uint64_t cons = __atomic_load_n(CONS(m->base), __ATOMIC_ACQUIRE);
	uint64_t prod = __atomic_load_n(PROD(m->base), __ATOMIC_ACQUIRE);
	switch (flags) {
	case 0: return prod - cons;             /* BPF_RB_AVAIL_DATA */
	case 1: return (uint64_t)m->mask + 1;   /* BPF_RB_RING_SIZE */
	case 2: return cons;                    /* BPF_RB_CONS_POS */
	case 3: return prod;                    /* BPF_RB_PROD_POS */
	}
	return 0;
}

static int rb_nope(struct skep_map *m, int e) { return map_fail(m, e, "ring buffers have no elements"); }
static int rb_lookup(struct skep_map *m, const void *k, void *v, uint64_t f) { return rb_nope(m, -EINVAL); }
static int rb_update(struct skep_map *m, const void *k, const void *v, uint64_t f) { return rb_nope(m, -EINVAL); }
static int rb_delete(struct skep_map *m, const void *k) { return rb_nope(m, -EINVAL); }
static int rb_next(struct skep_map *m, const void *k, void *n) { return rb_nope(m, -ENOTSUPP); }
static int rb_lad(struct skep_map *m, const void *k, void *v, uint64_t f) { return rb_nope(m, -EINVAL); }

const struct map_ops map_ringbuf_ops = {
	.name = "ringbuf", .check = rb_check, .layout = rb_layout, .init = rb_init, .attach = rb_attach,
	.lookup = rb_lookup, .update = rb_update, .delete = rb_delete, .next_key = rb_next,
	.lookup_and_delete = rb_lad,
};

/* ---- the consumer (host side), like libbpf's ring_buffer */
struct ring {
	skep_map *m;
	skep_ringbuf_sample_fn cb;
	void *ctx;
};

struct skep_ringbuf_consumer {
	struct ring *r;
	int n;
};

int skep_ringbuf_consumer_add(skep_ringbuf_consumer *rb, skep_map *m, skep_ringbuf_sample_fn cb, void *ctx)
{
	if (m->type != SKEP_MAP_TYPE_RINGBUF)
		return map_fail(m, -EINVAL, "map %s is not a ring buffer", m->hdr->name);
	struct ring *r = realloc(rb->r, (size_t)(rb->n + 1) * sizeof *r);
	if (!r)
		return -ENOMEM;
	rb->r = r;
	r[rb->n++] = (struct ring){ m, cb, ctx };
	return 0;
}

skep_ringbuf_consumer *skep_ringbuf_consumer_new(skep_map *m, skep_ringbuf_sample_fn cb, void *ctx)
{
	skep_ringbuf_consumer *rb = calloc(1, sizeof *rb);
	if (!rb) {
		errno = ENOMEM;
		return NULL;
	}
	int e = skep_ringbuf_consumer_add(rb, m, cb, ctx);
	if (e) {
		free(rb);
		errno = -e;
		return NULL;
	}
	return rb;
}

void skep_ringbuf_consumer_free(skep_ringbuf_consumer *rb)
{
	if (rb)
		free(rb->r);
	free(rb);
}

static int64_t process(struct ring *r)
{
	struct skep_map *m = r->m;
	uint64_t *cp = CONS(m->base), *pp = PROD(m->base);
	uint64_t cons = __atomic_load_n(cp, __ATOMIC_ACQUIRE);
	int64_t cnt = 0;
	int more;
	do {
		more = 0;
		uint64_t prod = __atomic_load_n(pp, __ATOMIC_ACQUIRE);
		while (cons < prod) {
			uint32_t *hdr = (uint32_t *)(m->data + (cons & m->mask));
			uint32_t len = __atomic_load_n(hdr, __ATOMIC_ACQUIRE);
			if (len & SKEP_RINGBUF_BUSY_BIT)
				return cnt;
			more = 1;
			cons += rec_len(len);
			if (!(len & SKEP_RINGBUF_DISCARD_BIT)) {
				int e = r->cb ? r->cb(r->ctx, hdr + 2, len & ~SKEP_RINGBUF_DISCARD_BIT) : 0;
				if (e < 0) {
					__atomic_store_n(cp, cons, __ATOMIC_RELEASE);
					return e;
				}
				cnt++;
			}
			__atomic_store_n(cp, cons, __ATOMIC_RELEASE);
		}
	} while (more);
	return cnt;
}

/* The record at the consumer position is busy: if no live thread has a record in
 * flight, its producer died between reserve and commit: discard it (clearing BUSY,
 * setting DISCARD, as a discard would).  Returns 1 if it did. */
static int reap(struct skep_map *m)
{
	struct rb_ctl *c = m->ctl;
	uint64_t cons = __atomic_load_n(CONS(m->base), __ATOMIC_ACQUIRE);
	if (cons >= __atomic_load_n(PROD(m->base), __ATOMIC_ACQUIRE))
		return 0;
	uint32_t *hdr = (uint32_t *)(m->data + (cons & m->mask));
	uint32_t len = __atomic_load_n(hdr, __ATOMIC_ACQUIRE);
	if (!(len & SKEP_RINGBUF_BUSY_BIT) || __atomic_load_n(&c->untracked, __ATOMIC_SEQ_CST))
		return 0;
	for (uint32_t i = 0; i < RB_SLOTS; i++) {
		uint32_t tid = __atomic_load_n(&c->slot[i].tid, __ATOMIC_ACQUIRE);
		if (tid && __atomic_load_n(&c->slot[i].n, __ATOMIC_ACQUIRE) && map_tid_alive(tid))
			return 0;
	}
	uint32_t nl = (len & ~SKEP_RINGBUF_BUSY_BIT) | SKEP_RINGBUF_DISCARD_BIT;
	return __atomic_compare_exchange_n(hdr, &len, nl, 0, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED);
}

int skep_ringbuf_consumer_consume(skep_ringbuf_consumer *rb)
{
	int64_t total = 0;
	for (int i = 0; i < rb->n; i++) {
		int64_t c = process(&rb->r[i]);
		while (c >= 0 && reap(rb->r[i].m)) {
			int64_t more = process(&rb->r[i]);
			c = more < 0 ? more : c + more;
		}
		if (c < 0)
			return (int)c;
		total += c;
	}
	return total > INT32_MAX ? INT32_MAX : (int)total;
}

uint64_t skep_ringbuf_avail(skep_ringbuf_consumer *rb, int i)
{
	return i >= 0 && i < rb->n ? map_ringbuf_query(rb->r[i].m, 0) : 0;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int has_data(struct ring *r)
{
	struct skep_map *m = r->m;
	uint64_t cons = __atomic_load_n(CONS(m->base), __ATOMIC_ACQUIRE);
	return cons < __atomic_load_n(PROD(m->base), __ATOMIC_ACQUIRE);
}

int skep_ringbuf_consumer_poll(skep_ringbuf_consumer *rb, int timeout_ms)
{
	int n = skep_ringbuf_consumer_consume(rb);
	if (n || !timeout_ms || !rb->n)
		return n;
	int forever = timeout_ms < 0;
	int64_t end = now_ms() + timeout_ms;
	for (;;) {
		int64_t left = end - now_ms();
		if (!forever && left <= 0)
			return 0;
		/* one ring: sleep on its word; several: slices on the first */
		struct rb_ctl *c = rb->r[0].m->ctl;
		int slice = rb->n > 1 ? 5 : forever ? -1 : (int)left;
		if (!forever && slice > left)
			slice = (int)left;
		uint32_t seen = __atomic_load_n(&c->wake_seq, __ATOMIC_ACQUIRE);
		__atomic_fetch_add(&c->waiters, 1, __ATOMIC_SEQ_CST);
		int ready = 0;
		for (int i = 0; i < rb->n; i++)
			ready |= has_data(&rb->r[i]);
		if (!ready) {
			int e = map_wait(&c->wake_seq, seen, slice);
			if (e == -EINTR) {
				__atomic_fetch_sub(&c->waiters, 1, __ATOMIC_SEQ_CST);
				return -EINTR;
			}
		}
		__atomic_fetch_sub(&c->waiters, 1, __ATOMIC_SEQ_CST);
		n = skep_ringbuf_consumer_consume(rb);
		if (n)
			return n;
		if (ready) {   /* only a busy (reserved, not yet committed) record: back off */
			struct timespec ts = { 0, 50000 };
			nanosleep(&ts, NULL);
		}
	}
}
