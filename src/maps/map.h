/* The map layer's internals: the shared-memory header, the process handle, the ops
 * table every family fills, robust cross-process locks, and the fast paths the
 * helpers call (they return pointers into the shared mapping, as the kernel returns
 * pointers to values).
 *
 * Layout of a map object (one file in /dev/shm, O_TMPFILE until pinned):
 *   [0, 256)          struct map_hdr: magic+version, type, sizes, flags, state
 *   [256, ...)        the family's own control block and data, at offsets computed
 *                     from the attributes alone (layout()), so every process finds
 *                     them without pointers.  A family may ask for one range
 *                     (dup_off, dup_len) to be mapped twice in a row (the ring
 *                     buffer's data, so records wrap contiguously).
 */
#ifndef SKEP_MAPS_MAP_H
#define SKEP_MAPS_MAP_H

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>

#include "skep/map.h"

#ifndef ENOTSUPP
#define ENOTSUPP 524   /* the kernel's internal "not supported", which bpf() leaks */
#endif

#define MAP_MAGIC   0x0050414d50454b53ULL   /* "SKEPMAP" */
#define MAP_VERSION 1u
#define MAP_HDR_SIZE 256u
#define MAP_NAME_LEN 16

/* ---- robust cross-process lock: a u32 holding the owner's thread id (0 = free).
 * A waiter that finds the owner gone (kill(tid, 0) == ESRCH) takes the lock over.
 * Every structural change inside a map is published by one atomic store while the
 * lock is held, so a dead owner leaves a consistent structure (at worst one element
 * counted but unreachable).  struct bpf_spin_lock is the same u32, so value locks
 * (BPF_F_LOCK, bpf_spin_lock()) work across processes the same way. */
typedef uint32_t map_lock_t;
extern __thread uint32_t map_tid_cache;
uint32_t map_tid_slow(void);
int map_lock_slow(map_lock_t *l, uint32_t tid);
static inline uint32_t map_tid(void)
{
	uint32_t t = map_tid_cache;
	return t ? t : map_tid_slow();
}
/* Returns 1 when the lock was taken over from a dead owner (callers whose structure
 * needs several stores to stay consistent repair it then), else 0. */
static inline int map_lock(map_lock_t *l)
{
	uint32_t z = 0, t = map_tid();
	if (__builtin_expect(__atomic_compare_exchange_n(l, &z, t, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED), 1))
		return 0;
	return map_lock_slow(l, t);
}
/* Is the thread id alive? (kill(tid, 0) != ESRCH) */
int map_tid_alive(uint32_t tid);
static inline void map_unlock(map_lock_t *l) { __atomic_store_n(l, 0, __ATOMIC_RELEASE); }
/* Locks taken over from dead owners in this process (for tests and diagnostics). */
extern uint64_t map_lock_recoveries;

/* ---- the shared header */
struct map_hdr {
	uint64_t magic;
	uint32_t version, hdr_size;
	uint32_t type, key_size, value_size, max_entries;
	uint32_t map_flags, ncpus;
	uint64_t map_extra;
	uint64_t size;               /* bytes of the object */
	uint64_t dup_off, dup_len;   /* range mapped a second time after the object */
	uint32_t uid;                /* global id (map-in-map values name maps by it) */
	uint32_t lock_off;           /* offset of bpf_spin_lock in a value + 1 (0: none) */
	uint32_t inner[5];           /* map-in-map template: type, key, value, max, flags */
	uint32_t frozen;
	uint32_t writecnt;           /* writable mmaps (freeze refuses while > 0) */
	uint32_t perf_pages;
	uint32_t ready;              /* set last, once the object is initialised */
	char name[MAP_NAME_LEN];
};

/* Attributes a map is created from (validated by the family's check()). */
struct map_attr {
	uint32_t type, key_size, value_size, max_entries, map_flags, ncpus;
	uint64_t map_extra;
	uint32_t lock_off;           /* +1, 0 = none */
	uint32_t perf_pages;
	uint32_t inner[5];
};

struct map_ops;

/* A process's handle on a map: where it is mapped and cached facts. */
struct skep_map {
	uint8_t *base;               /* the shared mapping (struct map_hdr first) */
	struct map_hdr *hdr;
	const struct map_ops *ops;
	size_t map_len;              /* bytes mapped, including the duplicated range */
	int fd;
	uint32_t id;                 /* slot in the process registry */
	uint32_t type, key_size, value_size, max_entries, flags, ncpus;
	uint32_t vsize8;             /* round_up(value_size, 8) */
	uint32_t lock_off;           /* as in the header */
	/* family cache, filled by attach() */
	void *ctl;                   /* control block in shared memory */
	uint8_t *data;               /* main area: array values, element pool, ring data */
	uint32_t *buckets;           /* hash: bucket heads */
	uint32_t esize;              /* element stride */
	uint32_t mask;               /* hash: buckets - 1; ring: data size - 1 */
	uint32_t ksize8;             /* round_up(key_size, 8) */
	uint32_t seed;               /* hash seed (hash maps) */
	void *priv;                  /* family's process-local state */
	char err[256];
};

/* What a family implements.  Host-side calls (lookup/update/...) take per-CPU
 * values as arrays; the program-side calls (elem_*) see one CPU's value. */
struct map_ops {
	const char *name;
	int (*check)(struct map_attr *a, char *err, size_t n);
	uint64_t (*layout)(const struct map_attr *a, uint64_t *dup_off, uint64_t *dup_len);
	/* Where memory stops being reserved at creation (0: all of it, as the kernel
	 * preallocates); beyond it the family reserves pages as it uses them
	 * (map_reserve), so a full /dev/shm gives -ENOMEM instead of SIGBUS. */
	uint64_t (*lazy)(const struct map_attr *a);
	void (*init)(struct skep_map *m);       /* fresh zeroed memory */
	void (*attach)(struct skep_map *m);     /* fill the handle's family cache */
	void (*detach)(struct skep_map *m);     /* free priv (optional) */
	/* host side (NULL: the kernel's "not supported" errno, see map.c) */
	int (*lookup)(struct skep_map *m, const void *key, void *value, uint64_t flags);
	int (*update)(struct skep_map *m, const void *key, const void *value, uint64_t flags);
	int (*delete)(struct skep_map *m, const void *key);
	int (*next_key)(struct skep_map *m, const void *key, void *next);
	int (*lookup_and_delete)(struct skep_map *m, const void *key, void *value, uint64_t flags);
	int (*lookup_batch)(struct skep_map *m, void *in_batch, void *out_batch, void *keys,
			    void *values, uint32_t *count, uint64_t elem_flags, int del);
	unsigned batch;              /* BATCH_* supported */
	/* program side */
	void *(*elem_lookup)(struct skep_map *m, const void *key);
	void *(*elem_raw)(struct skep_map *m, const void *key);   /* per-CPU: slot 0's value */
	int (*elem_update)(struct skep_map *m, const void *key, const void *value, uint64_t flags);
	int (*elem_delete)(struct skep_map *m, const void *key);
	int (*push)(struct skep_map *m, const void *value, uint64_t flags);
	int (*pop)(struct skep_map *m, void *value, int peek);
};
#define BATCH_LOOKUP 1u
#define BATCH_LOOKUP_DELETE 2u
#define BATCH_UPDATE 4u
#define BATCH_DELETE 8u

extern const struct map_ops map_array_ops, map_percpu_array_ops, map_prog_array_ops,
	map_array_of_maps_ops, map_perf_array_ops, map_hash_ops, map_percpu_hash_ops,
	map_lru_hash_ops, map_lru_percpu_hash_ops, map_hash_of_maps_ops, map_lpm_ops,
	map_queue_ops, map_stack_ops, map_bloom_ops, map_ringbuf_ops, map_stack_trace_ops;

/* ---- helpers shared by the families */
int map_fail(struct skep_map *m, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int attr_fail(char *buf, size_t n, int err, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Keys and values from callers may be unaligned. */
static inline uint32_t k32(const void *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static inline void put32(void *p, uint32_t v) { memcpy(p, &v, 4); }
static inline uint32_t round8(uint32_t x) { return (x + 7u) & ~7u; }
static inline uint64_t round_pow2(uint64_t x)
{
	uint64_t p = 1;
	while (p < x)
		p <<= 1;
	return p;
}
static inline int map_is_percpu(uint32_t t)
{
	return t == SKEP_MAP_TYPE_PERCPU_ARRAY || t == SKEP_MAP_TYPE_PERCPU_HASH ||
	       t == SKEP_MAP_TYPE_LRU_PERCPU_HASH;
}
/* Registry (registry.c): add/remove a handle (sets m->id), a fresh global id. */
int map_reg_add(struct skep_map *m);
void map_reg_del(struct skep_map *m);
uint32_t map_new_uid(void);
/* The calling thread's per-CPU slot: sched_getcpu() modulo the map's slots. */
uint32_t map_cpu(const struct skep_map *m);
uint64_t map_page_size(void);
/* Copy a value skipping its bpf_spin_lock word.  _out: from the map to the caller
 * (lock word zeroed, under the value's lock if lock); _in: from the caller into the map. */
void map_copy_value(const struct skep_map *m, void *dst, const void *src);
void map_value_out(const struct skep_map *m, void *dst, void *src, int lock);
void map_value_in(const struct skep_map *m, void *dst, const void *src, int lock);
/* Back the object's bytes up to end with memory (in 64 KiB steps from *reserved,
 * a watermark in shared memory, under the caller's lock).  0 or -ENOMEM. */
int map_reserve(struct skep_map *m, uint64_t *reserved, uint64_t end);
/* Cross-process wake-up on a shared u32 (futex on Linux; sleeping poll elsewhere). */
void map_wake(uint32_t *word);
int map_wait(uint32_t *word, uint32_t seen, int timeout_ms);
/* Hash of bytes (seeded), shared by hash, bloom filter and stack trace maps. */
uint32_t map_hash(const void *key, uint32_t len, uint32_t seed);
/* Maps this process has open, by global id (map-in-map). */
struct skep_map *map_by_uid(uint32_t uid);
/* The inner-map template check of map-in-map updates. */
int map_inner_compatible(const struct skep_map *outer, const struct skep_map *inner);

/* ==== fast paths for the helper layer (program side; no host permission checks) ====
 * A program's `lddw rX, map_fd` resolves to the skep_map * of that id (skep_map_by_id)
 * and `lddw rX, map_value` to map_direct_value_addr() + off. */
int map_direct_value_addr(struct skep_map *m, uint64_t *addr, uint32_t off);
/* The map's whole mapping (values returned by lookups lie inside it): for the checked
 * engine's regions. */
void map_memory(const struct skep_map *m, void **base, size_t *len);
/* bpf_spin_lock / bpf_spin_unlock: map_lock / map_unlock on the value's lock word.
 * A JIT may inline ARRAY lookups as the kernel's map_gen_lookup does:
 * idx < m->max_entries ? m->data + idx * m->esize : NULL (not for per-CPU arrays). */
/* bpf_map_lookup_elem: pointer to the value (this CPU's for per-CPU maps) or NULL.
 * ARRAY_OF_MAPS/HASH_OF_MAPS return the inner struct skep_map *. */
static inline void *map_lookup_fast(struct skep_map *m, const void *key)
{
	return m->ops->elem_lookup ? m->ops->elem_lookup(m, key) : NULL;
}
int map_update_fast(struct skep_map *m, const void *key, const void *value, uint64_t flags);
int map_delete_fast(struct skep_map *m, const void *key);
/* bpf_map_push_elem / pop / peek (QUEUE, STACK, BLOOM_FILTER push = add, peek = test). */
int map_push_fast(struct skep_map *m, const void *value, uint64_t flags);
int map_pop_fast(struct skep_map *m, void *value);
int map_peek_fast(struct skep_map *m, void *value);
/* bpf_map_lookup_percpu_elem: the value of slot cpu, NULL if cpu >= slots. */
void *map_lookup_percpu_fast(struct skep_map *m, const void *key, uint32_t cpu);
/* Ring buffer: bpf_ringbuf_reserve/submit/discard/output/query.  submit and discard
 * find the ring from the record (its header's page offset), as the kernel. */
void *map_ringbuf_reserve(struct skep_map *m, uint64_t size, uint64_t flags);
void map_ringbuf_submit(void *sample, uint64_t flags);
void map_ringbuf_discard(void *sample, uint64_t flags);
int map_ringbuf_output(struct skep_map *m, const void *data, uint64_t size, uint64_t flags);
uint64_t map_ringbuf_query(struct skep_map *m, uint64_t flags);
/* bpf_perf_event_output: flags = index or SKEP_F_CURRENT_CPU. */
int map_perf_output(struct skep_map *m, uint64_t flags, const void *data, uint64_t size);
/* bpf_get_stackid: store ips[0..n) and return the id, or a negative errno. */
long map_stack_get_id(struct skep_map *m, const uint64_t *ips, uint32_t n, uint64_t flags);
/* bpf_tail_call: the program id at index (0 = none). */
uint32_t map_prog_array_get(struct skep_map *m, uint32_t index);
/* Elements in a hash map (any hash family). */
uint32_t map_hash_count(struct skep_map *m);
/* bpf_for_each_map_elem-style walk over (key, value pointer); cb returns 1 to stop. */
long map_for_each(struct skep_map *m, long (*cb)(struct skep_map *, void *key, void *value, void *ctx),
		  void *ctx);

#endif
