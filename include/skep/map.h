/* Skep: eBPF maps in user space, with the kernel's types, flags, semantics and errno.
 *
 * A map lives in one shared-memory object that holds no pointers (only offsets and
 * indices), so several processes can map it at once and update it concurrently.
 * skep_map_pin() names that object (/dev/shm/skep-<name>); skep_map_open_pinned()
 * maps it in another process.  Every call returns 0 or a negative errno (the one the
 * kernel's bpf() returns for the same call); skep_map_error() then says why.
 *
 * Per-CPU maps: a "CPU" is a slot among skep_num_possible_cpus() slots (the possible
 * CPUs of the machine, as libbpf_num_possible_cpus()); a thread uses the slot of
 * sched_getcpu().  From the host a per-CPU value is read and written as an array of
 * skep_num_possible_cpus() values of round_up(value_size, 8) bytes, as with the kernel.
 */
#ifndef SKEP_MAP_H
#define SKEP_MAP_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct skep_map skep_map;

/* Map types: the kernel's BPF_MAP_TYPE_* numbers. */
enum skep_map_type {
	SKEP_MAP_TYPE_HASH = 1,
	SKEP_MAP_TYPE_ARRAY = 2,
	SKEP_MAP_TYPE_PROG_ARRAY = 3,
	SKEP_MAP_TYPE_PERF_EVENT_ARRAY = 4,
	SKEP_MAP_TYPE_PERCPU_HASH = 5,
	SKEP_MAP_TYPE_PERCPU_ARRAY = 6,
	SKEP_MAP_TYPE_STACK_TRACE = 7,
	SKEP_MAP_TYPE_LRU_HASH = 9,
	SKEP_MAP_TYPE_LRU_PERCPU_HASH = 10,
	SKEP_MAP_TYPE_LPM_TRIE = 11,
	SKEP_MAP_TYPE_ARRAY_OF_MAPS = 12,
	SKEP_MAP_TYPE_HASH_OF_MAPS = 13,
	SKEP_MAP_TYPE_QUEUE = 22,
	SKEP_MAP_TYPE_STACK = 23,
	SKEP_MAP_TYPE_RINGBUF = 27,
	SKEP_MAP_TYPE_BLOOM_FILTER = 30,
};

/* Element update flags (BPF_ANY, BPF_NOEXIST, BPF_EXIST, BPF_F_LOCK). */
#define SKEP_ANY      0ULL
#define SKEP_NOEXIST  1ULL
#define SKEP_EXIST    2ULL
#define SKEP_F_LOCK   4ULL

/* Map creation flags: the kernel's BPF_F_* values. */
#define SKEP_F_NO_PREALLOC   (1U << 0)
#define SKEP_F_NO_COMMON_LRU (1U << 1)
#define SKEP_F_NUMA_NODE     (1U << 2)
#define SKEP_F_RDONLY        (1U << 3)   /* read-only for the host (syscall side) */
#define SKEP_F_WRONLY        (1U << 4)
#define SKEP_F_ZERO_SEED     (1U << 6)
#define SKEP_F_RDONLY_PROG   (1U << 7)
#define SKEP_F_WRONLY_PROG   (1U << 8)
#define SKEP_F_MMAPABLE      (1U << 10)
#define SKEP_F_PRESERVE_ELEMS (1U << 11)
#define SKEP_F_INNER_MAP     (1U << 12)

/* Ring buffer output flags (BPF_RB_*), perf output index flags (BPF_F_*). */
#define SKEP_RB_NO_WAKEUP    1ULL
#define SKEP_RB_FORCE_WAKEUP 2ULL
#define SKEP_F_INDEX_MASK    0xffffffffULL
#define SKEP_F_CURRENT_CPU   SKEP_F_INDEX_MASK
#define SKEP_F_CTXLEN_MASK   (0xfffffULL << 32)
/* Ring buffer record header bits, as the kernel. */
#define SKEP_RINGBUF_BUSY_BIT    (1U << 31)
#define SKEP_RINGBUF_DISCARD_BIT (1U << 30)
#define SKEP_RINGBUF_HDR_SZ      8

/* Optional creation parameters (zero-initialise; sz = sizeof). */
struct skep_map_create_opts {
	size_t sz;
	uint32_t map_flags;       /* SKEP_F_* */
	uint32_t numa_node;       /* accepted and ignored (needs SKEP_F_NUMA_NODE) */
	uint64_t map_extra;       /* bloom filter: number of hash functions (0 = 5) */
	const skep_map *inner_map;/* map-in-map: the template inner map (kernel: inner_map_fd) */
	int has_spin_lock;        /* the value holds a struct bpf_spin_lock (from BTF) ... */
	uint32_t spin_lock_off;   /* ... at this offset (4-byte aligned) */
	uint32_t perf_pages;      /* PERF_EVENT_ARRAY: data pages per CPU buffer (power of 2, 0 = 8) */
};

/* Create a map.  name may be NULL (at most 15 characters are kept).  NULL with errno
 * set (EINVAL, E2BIG, ENOMEM, ...) on failure; skep_map_error(NULL) says why. */
skep_map *skep_map_create(uint32_t type, const char *name, uint32_t key_size,
			  uint32_t value_size, uint32_t max_entries,
			  const struct skep_map_create_opts *opts);
/* Open a map pinned under name (by any process).  NULL with errno: ENOENT when no
 * such pin, EINVAL when the object is not a Skep map of this version. */
skep_map *skep_map_open_pinned(const char *name);
/* Another handle on the same map (shares the memory; close each). */
skep_map *skep_map_dup(const skep_map *map);
/* Drop this handle; the memory goes when no handle and no pin is left. */
void skep_map_close(skep_map *map);

/* Pin: give the map's memory a name (/dev/shm/skep-<name>); -EEXIST if taken,
 * -EINVAL for a name that is empty, too long or has '/'. */
int skep_map_pin(skep_map *map, const char *name);
/* Remove a pin (the map lives on while handles exist).  -ENOENT if none. */
int skep_map_unpin(const char *name);
/* Directory that holds pins ("/dev/shm"); SKEP_PIN_DIR overrides it. */
const char *skep_map_pin_dir(void);

/* The last error of this map (or, with NULL, of this thread's last create/open). */
const char *skep_map_error(const skep_map *map);

/* Element access from the host.  Per-CPU maps take and give arrays of values. */
int skep_map_lookup_elem(skep_map *map, const void *key, void *value);
int skep_map_lookup_elem_flags(skep_map *map, const void *key, void *value, uint64_t flags);
int skep_map_update_elem(skep_map *map, const void *key, const void *value, uint64_t flags);
int skep_map_delete_elem(skep_map *map, const void *key);
int skep_map_delete_elem_flags(skep_map *map, const void *key, uint64_t flags);
/* Next key after key (NULL or a missing key: the first); -ENOENT after the last. */
int skep_map_get_next_key(skep_map *map, const void *key, void *next_key);
/* Hash maps: lookup then delete; QUEUE/STACK: pop (key NULL). */
int skep_map_lookup_and_delete_elem(skep_map *map, const void *key, void *value);
int skep_map_lookup_and_delete_elem_flags(skep_map *map, const void *key, void *value,
					  uint64_t flags);
/* Make the map read-only for the host (programs may still write). */
int skep_map_freeze(skep_map *map);

/* Batch operations with libbpf's conventions: in_batch NULL starts; *count is the
 * room on entry and the number done on return; -ENOENT when the end was reached. */
struct skep_map_batch_opts {
	size_t sz;
	uint64_t elem_flags;
	uint64_t flags;
};
int skep_map_lookup_batch(skep_map *map, void *in_batch, void *out_batch, void *keys,
			  void *values, uint32_t *count, const struct skep_map_batch_opts *opts);
int skep_map_lookup_and_delete_batch(skep_map *map, void *in_batch, void *out_batch,
				     void *keys, void *values, uint32_t *count,
				     const struct skep_map_batch_opts *opts);
int skep_map_update_batch(skep_map *map, const void *keys, const void *values,
			  uint32_t *count, const struct skep_map_batch_opts *opts);
int skep_map_delete_batch(skep_map *map, const void *keys, uint32_t *count,
			  const struct skep_map_batch_opts *opts);

/* A new mapping of a BPF_F_MMAPABLE array's values (stride round_up(value_size, 8)),
 * shared with every other process; writable needs a map that is not frozen.  NULL
 * with errno set on failure.  Unmap with skep_map_munmap. */
void *skep_map_mmap(skep_map *map, int writable, size_t *size);
int skep_map_munmap(skep_map *map, void *addr, size_t size);

/* Facts about a map. */
struct skep_map_info {
	uint32_t type, id, key_size, value_size, max_entries, map_flags;
	uint64_t map_extra;
	uint32_t frozen, ncpus;
	char name[16];
};
int skep_map_get_info(const skep_map *map, struct skep_map_info *info);
uint32_t skep_map_type(const skep_map *map);
/* 1 if Skep implements map type (a BPF_MAP_TYPE_* number), else 0. */
int skep_map_type_supported(uint32_t type);
uint32_t skep_map_key_size(const skep_map *map);
uint32_t skep_map_value_size(const skep_map *map);
uint32_t skep_map_max_entries(const skep_map *map);
/* The handle's id in this process (what a program's "map fd" means, and the "fd"
 * a map-in-map update takes); skep_map_by_id() finds the handle again. */
uint32_t skep_map_id(const skep_map *map);
skep_map *skep_map_by_id(uint32_t id);
/* The map's global id (what a map-in-map lookup from the host returns). */
uint32_t skep_map_uid(const skep_map *map);
/* The shared-memory file descriptor (for poll-free sharing, e.g. passing over a socket). */
int skep_map_fd(const skep_map *map);
/* Number of per-CPU slots (possible CPUs). */
int skep_num_possible_cpus(void);

/* Ring buffer consumer (like libbpf's ring_buffer): one callback per committed,
 * not discarded record, in order; a negative return stops and is returned. */
typedef int (*skep_ringbuf_sample_fn)(void *ctx, void *data, size_t size);
typedef struct skep_ringbuf_consumer skep_ringbuf_consumer;
skep_ringbuf_consumer *skep_ringbuf_consumer_new(skep_map *map, skep_ringbuf_sample_fn cb,
						 void *ctx);
int skep_ringbuf_consumer_add(skep_ringbuf_consumer *rb, skep_map *map,
			      skep_ringbuf_sample_fn cb, void *ctx);
/* Wait up to timeout_ms (-1: forever, 0: no wait) for records, then consume them.
 * Returns the number of records consumed or a negative errno. */
int skep_ringbuf_consumer_poll(skep_ringbuf_consumer *rb, int timeout_ms);
int skep_ringbuf_consumer_consume(skep_ringbuf_consumer *rb);
/* Bytes committed but not yet consumed in ring i. */
uint64_t skep_ringbuf_avail(skep_ringbuf_consumer *rb, int i);
void skep_ringbuf_consumer_free(skep_ringbuf_consumer *rb);

/* Perf buffer consumer (like libbpf's perf_buffer) over a PERF_EVENT_ARRAY map:
 * sample_cb per PERF_RECORD_SAMPLE (raw data), lost_cb per PERF_RECORD_LOST. */
typedef void (*skep_perfbuf_sample_fn)(void *ctx, int cpu, void *data, uint32_t size);
typedef void (*skep_perfbuf_lost_fn)(void *ctx, int cpu, uint64_t cnt);
typedef struct skep_perfbuf_consumer skep_perfbuf_consumer;
skep_perfbuf_consumer *skep_perfbuf_consumer_new(skep_map *map, skep_perfbuf_sample_fn sample_cb,
						 skep_perfbuf_lost_fn lost_cb, void *ctx);
int skep_perfbuf_consumer_poll(skep_perfbuf_consumer *pb, int timeout_ms);
int skep_perfbuf_consumer_consume(skep_perfbuf_consumer *pb);
void skep_perfbuf_consumer_free(skep_perfbuf_consumer *pb);

#ifdef __cplusplus
}
#endif
#endif
