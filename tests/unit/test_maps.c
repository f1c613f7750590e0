/* Map behaviour the kernel comparison cannot reach from bpf(): the program-side fast
 * paths, per-CPU slots, BPF_F_LOCK, mmap, LRU under pressure, map-in-map, queues,
 * bloom filters, stack traces, ring and perf buffers (with two producer processes),
 * thread concurrency, bad input, and the time per operation. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "maps/map.h"
#include "skep/map.h"
#include "skep/prog.h"

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static uint32_t map_count(skep_map *m, uint32_t ks)
{
	uint8_t a[64], b[64];
	uint32_t n = 0;
	const void *prev = NULL;
	while (skep_map_get_next_key(m, prev, b) == 0 && n < 100000) {
		memcpy(a, b, ks);
		prev = a;
		n++;
	}
	return n;
}

/* ---- per-CPU */
static void percpu(void)
{
	int nc = skep_num_possible_cpus();
	skep_map *a = skep_map_create(SKEP_MAP_TYPE_PERCPU_ARRAY, "pc", 4, 12, 2, NULL);
	skep_map *h = skep_map_create(SKEP_MAP_TYPE_PERCPU_HASH, "ph", 4, 8, 8, NULL);
	CHECK(a && h, "create per-CPU maps", "%s", skep_map_error(NULL));
	if (!a || !h)
		return;
	uint32_t k = 1;
	uint8_t *v = map_lookup_fast(a, &k);
	int cpu = (int)((v - (uint8_t *)map_lookup_percpu_fast(a, &k, 0)) / 16);   /* the slot it chose */
	v[0] = 0x5a;
	uint8_t all[16 * 64];
	memset(all, 0xee, sizeof all);
	CHECK(skep_map_lookup_elem(a, &k, all) == 0 && all[cpu * 16] == 0x5a, "per-CPU array: program writes its CPU's slot",
	      "slot %d has %02x", cpu, all[cpu * 16]);
	int ok = 1;
	for (int c = 0; c < nc; c++)
		ok &= map_lookup_percpu_fast(a, &k, (uint32_t)c) == (uint8_t *)v - cpu * 16 + c * 16;
	CHECK(ok && !map_lookup_percpu_fast(a, &k, (uint32_t)nc), "bpf_map_lookup_percpu_elem", "slots misplaced");
	void *mb;
	size_t ml;
	map_memory(a, &mb, &ml);
	uint8_t *slot0 = map_lookup_percpu_fast(a, &k, 0);
	CHECK(slot0 >= (uint8_t *)mb && slot0 + 16 * nc <= (uint8_t *)mb + ml, "values lie in map_memory()", "%s", "outside");
	uint64_t one = 77;
	CHECK(map_update_fast(h, &k, &one, SKEP_ANY) == 0, "per-CPU hash: program update", "%s", skep_map_error(h));
	uint64_t vals[64];
	memset(vals, 0xee, sizeof vals);
	skep_map_lookup_elem(h, &k, vals);
	int set = 0, zero = 0;
	for (int c = 0; c < nc; c++)
		set += vals[c] == 77u, zero += vals[c] == 0;
	ok = set == 1 && zero == nc - 1;
	CHECK(ok, "per-CPU hash: new element has the value in one slot, zero elsewhere", "%llu %llu",
	      (unsigned long long)vals[0], (unsigned long long)vals[nc > 1]);
	skep_map_close(a);
	skep_map_close(h);
}

/* ---- BPF_F_LOCK: no torn values under concurrent locked updates */
struct lv { uint32_t lock, pad; uint64_t a, b; };
static skep_map *lockmap;
static volatile int torn;

static void *lock_writer(void *p)
{
	uint32_t k = 0;
	for (uint64_t i = 0; i < 20000; i++) {
		struct lv v = { 0, 0, i, i };
		skep_map_update_elem(lockmap, &k, &v, SKEP_F_LOCK);
	}
	return NULL;
}

static void *lock_reader(void *p)
{
	uint32_t k = 0;
	for (int i = 0; i < 20000; i++) {
		struct lv v;
		if (skep_map_lookup_elem_flags(lockmap, &k, &v, SKEP_F_LOCK) == 0 && (v.a != v.b || v.lock))
			torn = 1;
	}
	return NULL;
}

static void flock_tests(void)
{
	for (int t = 0; t < 2; t++) {
		struct skep_map_create_opts o = { .sz = sizeof o, .has_spin_lock = 1, .spin_lock_off = 0 };
		lockmap = skep_map_create(t ? SKEP_MAP_TYPE_HASH : SKEP_MAP_TYPE_ARRAY, "lk", 4, sizeof(struct lv), 4, &o);
		if (!lockmap) {
			CHECK(0, "create lock map", "%s", skep_map_error(NULL));
			return;
		}
		uint32_t k = 0;
		struct lv v = { 0xffff, 0, 1, 1 };
		CHECK(skep_map_update_elem(lockmap, &k, &v, SKEP_ANY) == 0, "F_LOCK: plain update", "%s",
		      skep_map_error(lockmap));
		torn = 0;
		pthread_t th[3];
		pthread_create(&th[0], NULL, lock_writer, NULL);
		pthread_create(&th[1], NULL, lock_writer, NULL);
		pthread_create(&th[2], NULL, lock_reader, NULL);
		for (int i = 0; i < 3; i++)
			pthread_join(th[i], NULL);
		CHECK(!torn, t ? "hash F_LOCK: no torn value" : "array F_LOCK: no torn value", "a torn value was read");
		CHECK(skep_map_freeze(lockmap) == -ENOTSUPP, "freeze a map with bpf_spin_lock: ENOTSUPP", "%s", "failed");
		skep_map_close(lockmap);
	}
	skep_map *m = skep_map_create(SKEP_MAP_TYPE_ARRAY, NULL, 4, 8, 1, NULL);
	uint32_t k = 0;
	uint64_t v = 0;
	CHECK(skep_map_update_elem(m, &k, &v, SKEP_F_LOCK) == -EINVAL && strstr(skep_map_error(m), "spin_lock"),
	      "F_LOCK without a lock: EINVAL with a message", "%s", skep_map_error(m));
	skep_map_close(m);
	struct skep_map_create_opts o = { .sz = sizeof o, .has_spin_lock = 1, .spin_lock_off = 6 };
	CHECK(!skep_map_create(SKEP_MAP_TYPE_ARRAY, NULL, 4, 8, 1, &o) && errno == EINVAL, "misaligned spin lock: EINVAL",
	      "%s", skep_map_error(NULL));
}

/* ---- BPF_F_MMAPABLE arrays and direct value access (global data) */
static void mmap_tests(void)
{
	skep_map *m = skep_map_create(SKEP_MAP_TYPE_ARRAY, ".bss", 4, 12, 300, &(struct skep_map_create_opts){
		.sz = sizeof(struct skep_map_create_opts), .map_flags = SKEP_F_MMAPABLE });
	if (!m) {
		CHECK(0, "create mmapable", "%s", skep_map_error(NULL));
		return;
	}
	size_t sz = 0;
	uint8_t *p = skep_map_mmap(m, 1, &sz);
	CHECK(p && sz >= 300 * 16 && sz % 4096 == 0, "mmap writable", "%s", skep_map_error(m));
	if (!p)
		return;
	uint32_t k = 299;
	uint8_t out[12];
	memcpy(p + 299 * 16, "hello world", 12);
	CHECK(skep_map_lookup_elem(m, &k, out) == 0 && !memcmp(out, "hello world", 12), "mapping and map share values", "%s", "failed");
	CHECK(skep_map_freeze(m) == -EBUSY, "freeze with a writable mapping: EBUSY", "%s", skep_map_error(m));
	skep_map_munmap(m, p, sz);
	CHECK(skep_map_freeze(m) == 0, "freeze after munmap", "%s", skep_map_error(m));
	CHECK(!skep_map_mmap(m, 1, &sz) && errno == EPERM, "writable mmap of a frozen map: EPERM", "%s", "failed");
	p = skep_map_mmap(m, 0, &sz);
	CHECK(p && !memcmp(p + 299 * 16, "hello world", 12), "read-only mmap of a frozen map", "%s", "failed");
	if (p)
		skep_map_munmap(m, p, sz);
	uint64_t addr;
	CHECK(map_direct_value_addr(m, &addr, 0) == -ENOTSUPP, "direct value: needs max_entries 1", "%s", "failed");
	skep_map_close(m);
	m = skep_map_create(SKEP_MAP_TYPE_ARRAY, ".data", 4, 64, 1, &(struct skep_map_create_opts){
		.sz = sizeof(struct skep_map_create_opts), .map_flags = SKEP_F_MMAPABLE | SKEP_F_RDONLY_PROG });
	k = 0;
	CHECK(map_direct_value_addr(m, &addr, 8) == 0 && (uint8_t *)(uintptr_t)addr == (uint8_t *)map_lookup_fast(m, &k) + 8,
	      "direct value address = value + off", "%s", "failed");
	CHECK(map_direct_value_addr(m, &addr, 64) == -EINVAL, "direct value: off beyond the value", "%s", "failed");
	skep_map_close(m);
	m = skep_map_create(SKEP_MAP_TYPE_HASH, NULL, 4, 4, 1, NULL);
	CHECK(!skep_map_mmap(m, 0, &sz) && errno == EINVAL, "mmap of a hash map: EINVAL", "%s", "failed");
	skep_map_close(m);
}

/* ---- LRU under pressure */
static skep_map *lru;
static volatile int lru_over;

static void *lru_thread(void *p)
{
	uint64_t s = (uintptr_t)p * 7919 + 1;
	for (int i = 0; i < 30000; i++) {
		s = s * 6364136223846793005ull + 1442695040888963407ull;
		uint32_t k = (uint32_t)(s >> 40) % 1000;
		uint64_t v = k;
		if (skep_map_update_elem(lru, &k, &v, SKEP_ANY))
			lru_over = 2;
		if (map_hash_count(lru) > 100)
			lru_over = 1;
		uint64_t *pv = map_lookup_fast(lru, &k);
		if (pv && *pv != k)
			lru_over = 3;
	}
	return NULL;
}

static void lru_tests(void)
{
	for (int pc = 0; pc < 2; pc++) {
		skep_map *m = skep_map_create(pc ? SKEP_MAP_TYPE_LRU_PERCPU_HASH : SKEP_MAP_TYPE_LRU_HASH, "lru", 4, 8, 64, NULL);
		uint64_t vals[64] = { 0 };
		int over = 0;
		for (uint32_t k = 0; k < 200; k++) {
			vals[0] = k;
			if (skep_map_update_elem(m, &k, vals, SKEP_ANY))
				over = -1;
			if (map_count(m, 4) > 64)
				over = 1;
		}
		int kept = 0;
		for (uint32_t k = 136; k < 200; k++)
			kept += skep_map_lookup_elem(m, &k, vals) == 0;
		CHECK(!over && kept == 64, pc ? "lru_percpu: newest 64 of 200 kept, never over 64" : "lru: newest 64 of 200 kept, never over 64",
		      "over %d kept %d", over, kept);
		skep_map_close(m);
	}
	/* recently looked-up entries survive (the reference bit) */
	skep_map *m = skep_map_create(SKEP_MAP_TYPE_LRU_HASH, "lru2", 4, 8, 64, NULL);
	for (uint32_t k = 0; k < 64; k++) {
		uint64_t v = k;
		skep_map_update_elem(m, &k, &v, SKEP_ANY);
	}
	for (uint32_t k = 0; k < 32; k++)
		map_lookup_fast(m, &k);
	for (uint32_t k = 64; k < 96; k++) {
		uint64_t v = k;
		skep_map_update_elem(m, &k, &v, SKEP_ANY);
	}
	int hot = 0, cold = 0;
	for (uint32_t k = 0; k < 64; k++) {
		uint64_t v;
		if (skep_map_lookup_elem(m, &k, &v) == 0)
			*(k < 32 ? &hot : &cold) += 1;
	}
	CHECK(hot == 32 && cold == 0, "lru: referenced entries survive, the others go first", "hot %d cold %d", hot, cold);
	skep_map_close(m);
	/* two threads hammering a small LRU */
	lru = skep_map_create(SKEP_MAP_TYPE_LRU_HASH, "lru3", 4, 8, 100, NULL);
	lru_over = 0;
	pthread_t t[2];
	for (uintptr_t i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, lru_thread, (void *)i);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	uint32_t n = map_count(lru, 4);
	CHECK(!lru_over && n <= 100 && n == map_hash_count(lru), "lru: two threads, never over max_entries",
	      "flag %d, %u keys, count %u", lru_over, n, map_hash_count(lru));
	skep_map_close(lru);
}

/* ---- hash maps: full, replace when full, threads */
static skep_map *hm;
static volatile int hbad;

static void *hash_thread(void *p)
{
	uint32_t base = (uint32_t)(uintptr_t)p * 1000;
	for (int r = 0; r < 300; r++) {
		for (uint32_t k = base; k < base + 40; k++) {
			uint64_t v = k;
			if (skep_map_update_elem(hm, &k, &v, SKEP_NOEXIST))
				hbad = 1;
		}
		for (uint32_t k = base; k < base + 40; k++) {
			uint64_t *v = map_lookup_fast(hm, &k);
			if (!v || *v != k)
				hbad = 2;
			uint64_t nv = k;
			if (map_update_fast(hm, &k, &nv, SKEP_EXIST))
				hbad = 3;
		}
		for (uint32_t k = base; k < base + 40; k++)
			if (map_delete_fast(hm, &k))
				hbad = 4;
	}
	return NULL;
}

static void hash_tests(void)
{
	for (int np = 0; np < 2; np++) {
		skep_map *m = skep_map_create(SKEP_MAP_TYPE_HASH, "full", 4, 8, 16,
					      &(struct skep_map_create_opts){ .sz = sizeof(struct skep_map_create_opts),
									     .map_flags = np ? SKEP_F_NO_PREALLOC : 0 });
		uint64_t v = 1;
		for (uint32_t k = 0; k < 16; k++)
			skep_map_update_elem(m, &k, &v, SKEP_ANY);
		uint32_t k = 100;
		int r = skep_map_update_elem(m, &k, &v, SKEP_ANY), ok = 1;
		for (int i = 0; i < 100; i++) {
			k = (uint32_t)i % 16;
			v = (uint64_t)i;
			ok &= skep_map_update_elem(m, &k, &v, SKEP_EXIST) == 0;
		}
		CHECK(r == -E2BIG && ok && map_count(m, 4) == 16, np ? "hash no-prealloc full: E2BIG, replacing still works" : "hash full: E2BIG, replacing still works",
		      "r %d ok %d", r, ok);
		skep_map_close(m);
	}
	/* memory of non-preallocated maps is backed as it is used, across many chunks */
	skep_map *big = skep_map_create(SKEP_MAP_TYPE_HASH, "big", 4, 100, 20000,
					&(struct skep_map_create_opts){ .sz = sizeof(struct skep_map_create_opts),
								       .map_flags = SKEP_F_NO_PREALLOC });
	skep_map *lpm = skep_map_create(SKEP_MAP_TYPE_LPM_TRIE, "lpm", 8, 8, 20000,
					&(struct skep_map_create_opts){ .sz = sizeof(struct skep_map_create_opts),
								       .map_flags = SKEP_F_NO_PREALLOC });
	int okb = big && lpm;
	uint8_t val[100];
	for (uint32_t k = 0; okb && k < 20000; k++) {
		memset(val, (int)k, sizeof val);
		uint32_t lk[2] = { 32, __builtin_bswap32(k * 2654435761u) };
		okb &= skep_map_update_elem(big, &k, val, SKEP_NOEXIST) == 0;
		okb &= skep_map_update_elem(lpm, lk, &(uint64_t){ k }, SKEP_NOEXIST) == 0;
	}
	for (uint32_t k = 0; okb && k < 20000; k += 7) {
		uint32_t lk[2] = { 32, __builtin_bswap32(k * 2654435761u) };
		uint64_t lv = 0;
		okb &= skep_map_lookup_elem(big, &k, val) == 0 && val[99] == (uint8_t)k;
		okb &= skep_map_lookup_elem(lpm, lk, &lv) == 0 && lv == k;
	}
	uint32_t k20 = 20000;
	CHECK(okb && skep_map_update_elem(big, &k20, val, 0) == -E2BIG, "no-prealloc hash and LPM trie: 20000 entries",
	      "%s", skep_map_error(big));
	skep_map_close(big);
	skep_map_close(lpm);
	hm = skep_map_create(SKEP_MAP_TYPE_HASH, "thr", 4, 8, 128, NULL);
	hbad = 0;
	pthread_t t[3];
	for (uintptr_t i = 0; i < 3; i++)
		pthread_create(&t[i], NULL, hash_thread, (void *)i);
	for (int i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	CHECK(!hbad && map_count(hm, 4) == 0 && map_hash_count(hm) == 0, "hash: three threads insert/replace/delete",
	      "error %d, %u left", hbad, map_count(hm, 4));
	skep_map_close(hm);
}

/* ---- map in map, prog array */
static void map_in_map(void)
{
	skep_map *in = skep_map_create(SKEP_MAP_TYPE_ARRAY, "inner", 4, 8, 4, NULL);
	skep_map *in2 = skep_map_create(SKEP_MAP_TYPE_ARRAY, "inner2", 4, 8, 4, NULL);
	skep_map *bad = skep_map_create(SKEP_MAP_TYPE_ARRAY, "bad", 4, 16, 4, NULL);
	struct skep_map_create_opts o = { .sz = sizeof o, .inner_map = in };
	skep_map *ao = skep_map_create(SKEP_MAP_TYPE_ARRAY_OF_MAPS, "ao", 4, 4, 4, &o);
	skep_map *ho = skep_map_create(SKEP_MAP_TYPE_HASH_OF_MAPS, "ho", 8, 4, 4, &o);
	CHECK(ao && ho, "create map-in-map", "%s", skep_map_error(NULL));
	if (!ao || !ho)
		return;
	CHECK(!skep_map_create(SKEP_MAP_TYPE_ARRAY_OF_MAPS, "x", 4, 4, 4, NULL) && errno == EINVAL,
	      "map-in-map without inner: EINVAL", "%d", errno);
	CHECK(!skep_map_create(SKEP_MAP_TYPE_ARRAY_OF_MAPS, "x", 4, 4, 4, &(struct skep_map_create_opts){
		.sz = sizeof(struct skep_map_create_opts), .inner_map = ao }) && errno == EINVAL,
	      "map of maps of maps: EINVAL", "%d", errno);
	uint32_t k = 2, id = skep_map_id(in2), out = 0, bid = skep_map_id(bad), none = 99999;
	uint64_t hk = 7;
	CHECK(skep_map_update_elem(ao, &k, &id, 0) == 0 && skep_map_update_elem(ho, &hk, &id, 0) == 0,
	      "map-in-map update with a map id", "%s", skep_map_error(ao));
	CHECK(skep_map_lookup_elem(ao, &k, &out) == 0 && out == skep_map_uid(in2), "array of maps: host lookup gives the map's id",
	      "%u", out);
	CHECK(map_lookup_fast(ao, &k) == in2 && map_lookup_fast(ho, &hk) == in2, "map-in-map: program lookup gives the map", "%s", "failed");
	CHECK(skep_map_update_elem(ao, &k, &bid, 0) == -EINVAL, "incompatible inner map: EINVAL", "%s", skep_map_error(ao));
	CHECK(skep_map_update_elem(ao, &k, &none, 0) == -EBADF, "unknown map id: EBADF", "%s", "failed");
	CHECK(skep_map_update_elem(ao, &k, &id, SKEP_NOEXIST) == -EINVAL, "array of maps: flags must be BPF_ANY", "%s", "failed");
	k = 1;
	CHECK(!map_lookup_fast(ao, &k) && skep_map_lookup_elem(ao, &k, &out) == -ENOENT, "empty slot", "%s", "failed");
	skep_map *pa = skep_map_create(SKEP_MAP_TYPE_PROG_ARRAY, "jmp", 4, 4, 8, NULL);
	/* values are program ids (skep_prog_id), as the kernel takes prog fds */
	static const struct skep_insn ret0[] = {{.code = 0xb7}, {.code = 0x95}};
	skep_prog *tp = skep_prog_new();
	skep_prog_load(tp, ret0, 2);
	uint32_t prog = skep_prog_id(tp), noprog = prog + 1000;
	k = 3;
	CHECK(skep_map_update_elem(pa, &k, &noprog, 0) == -EBADF, "prog array: unknown program id: EBADF", "%s", skep_map_error(pa));
	CHECK(skep_map_update_elem(pa, &k, &prog, 0) == 0 && map_prog_array_get(pa, 3) == prog && map_prog_array_get(pa, 4) == 0 &&
	      map_prog_array_get(pa, 100) == 0, "prog array: tail call target", "%s", skep_map_error(pa));
	CHECK(skep_map_delete_elem(pa, &k) == 0 && map_prog_array_get(pa, 3) == 0, "prog array: delete", "%s", "failed");
	skep_map_close(pa);
	skep_prog_free(tp);
	skep_map_close(ao);
	skep_map_close(ho);
	skep_map_close(in);
	skep_map_close(in2);
	skep_map_close(bad);
}

/* ---- queue, stack, bloom and stack trace fast paths */
static void small_types(void)
{
	skep_map *q = skep_map_create(SKEP_MAP_TYPE_QUEUE, "q", 0, 8, 3, NULL);
	skep_map *s = skep_map_create(SKEP_MAP_TYPE_STACK, "s", 0, 8, 3, NULL);
	uint64_t v, out = 1;
	for (v = 1; v <= 3; v++)
		map_push_fast(q, &v, 0), map_push_fast(s, &v, 0);
	v = 4;
	CHECK(map_push_fast(q, &v, 0) == -E2BIG && map_push_fast(q, &v, SKEP_EXIST) == 0, "queue: full, BPF_EXIST overwrites", "%s", "failed");
	CHECK(map_peek_fast(q, &out) == 0 && out == 2 && map_pop_fast(q, &out) == 0 && out == 2, "queue: FIFO", "%llu",
	      (unsigned long long)out);
	CHECK(map_pop_fast(s, &out) == 0 && out == 3, "stack: LIFO", "%s", "failed");
	map_pop_fast(s, &out), map_pop_fast(s, &out);
	out = 5;
	CHECK(map_pop_fast(s, &out) == -ENOENT && out == 0, "stack: empty pop zeroes the value (helper)", "%s", "failed");
	skep_map_close(q);
	skep_map_close(s);
	skep_map *b = skep_map_create(SKEP_MAP_TYPE_BLOOM_FILTER, "b", 0, 8, 1000,
				      &(struct skep_map_create_opts){ .sz = sizeof(struct skep_map_create_opts), .map_extra = 3 });
	int ok = 1, fp = 0;
	for (v = 0; v < 1000; v++)
		ok &= map_push_fast(b, &v, 0) == 0;
	for (v = 0; v < 1000; v++)
		ok &= map_peek_fast(b, &v) == 0;
	for (v = 100000; v < 110000; v++)
		fp += map_peek_fast(b, &v) == 0;
	CHECK(ok && fp < 1000, "bloom: members found, few false positives", "fp %d/10000", fp);
	skep_map_close(b);
	skep_map *st = skep_map_create(SKEP_MAP_TYPE_STACK_TRACE, "st", 4, 32, 1, NULL);
	uint64_t ips[5] = { 1, 2, 3, 4, 5 }, ips2[2] = { 9, 9 }, got[4];
	long id = map_stack_get_id(st, ips, 5, 0), id2 = map_stack_get_id(st, ips, 5, 0);
	uint32_t key = (uint32_t)id;
	CHECK(id == 0 && id2 == 0, "stackid: same stack, same id (truncated to value size)", "%ld %ld", id, id2);
	CHECK(map_stack_get_id(st, ips2, 2, 0) == -EEXIST && map_stack_get_id(st, ips2, 2, 1ull << 10) == 0,
	      "stackid: collision EEXIST, BPF_F_REUSE_STACKID replaces", "%s", "failed");
	CHECK(skep_map_lookup_elem(st, &key, got) == 0 && got[0] == 9 && got[1] == 9 && got[2] == 0 && got[3] == 0,
	      "stack trace: lookup is zero padded", "%s", "failed");
	CHECK(map_stack_get_id(st, ips, 0, 0) == -EFAULT, "stackid: empty stack EFAULT", "%s", "failed");
	skep_map_close(st);
}

/* ---- ring buffer */
struct rbctx { int n; uint32_t last[4]; int bad; size_t bytes; };

static int rb_cb(void *ctx, void *data, size_t size)
{
	struct rbctx *c = ctx;
	uint32_t rec[2];
	if (size < 8) {
		c->bad = 1;
		return 0;
	}
	memcpy(rec, data, 8);
	uint8_t *d = data;
	for (size_t i = 8; i < size; i++)
		if (d[i] != (uint8_t)(rec[1] + i))
			c->bad = 2;
	if (rec[0] < 4) {
		if (rec[1] != c->last[rec[0]] + 1)
			c->bad = 3;
		c->last[rec[0]] = rec[1];
	}
	c->bytes += size;
	c->n++;
	return 0;
}

static int produce(skep_map *m, uint32_t who, uint32_t n)
{
	uint8_t buf[300];
	for (uint32_t i = 1; i <= n; i++) {
		uint32_t size = 8 + (i * 37 + who) % 200;
		uint32_t rec[2] = { who, i };
		memcpy(buf, rec, 8);
		for (uint32_t j = 8; j < size; j++)
			buf[j] = (uint8_t)(i + j);
		int r, tries = 0;
		while ((r = map_ringbuf_output(m, buf, size, 0)) == -EAGAIN && tries++ < 10000000)
			sched_yield();
		if (r)
			return 1;
	}
	return 0;
}

static void ringbuf_tests(void)
{
	skep_map *m = skep_map_create(SKEP_MAP_TYPE_RINGBUF, "rb", 0, 0, 4096, NULL);
	if (!m) {
		CHECK(0, "create ringbuf", "%s", skep_map_error(NULL));
		return;
	}
	struct rbctx c = { 0 };
	skep_ringbuf_consumer *rc = skep_ringbuf_consumer_new(m, rb_cb, &c);
	/* layout: header with BUSY while reserved, page offset, 8-byte aligned records */
	uint32_t *r1 = map_ringbuf_reserve(m, 13, 0);
	uint32_t *r2 = map_ringbuf_reserve(m, 8, 0);
	CHECK(r1 && r2 && (uint8_t *)r2 - (uint8_t *)r1 == 24 && r1[-2] == (13u | SKEP_RINGBUF_BUSY_BIT) &&
	      r1[-1] == (uint32_t)(((uint8_t *)(r1 - 2) - m->base) / 4096), "ringbuf record header", "%x", r1 ? r1[-2] : 0);
	CHECK(map_ringbuf_reserve(m, 8, 1) == NULL, "reserve with flags fails", "%s", "failed");
	uint32_t rec[2] = { 0, 1 };
	memcpy(r2, rec, 8);
	map_ringbuf_submit(r2, 0);
	CHECK(skep_ringbuf_consumer_consume(rc) == 0, "busy first record holds back later ones", "%s", "failed");
	map_ringbuf_discard(r1, 0);
	CHECK(skep_ringbuf_consumer_consume(rc) == 1 && c.n == 1 && !c.bad, "discarded skipped, committed delivered", "n %d", c.n);
	CHECK(map_ringbuf_reserve(m, 4096, 0) == NULL && map_ringbuf_output(m, rec, 8, 4) == -EINVAL,
	      "too large / bad flags", "%s", "failed");
	CHECK(map_ringbuf_query(m, 1) == 4096 && map_ringbuf_query(m, 0) == 0 && map_ringbuf_query(m, 2) == 40,
	      "bpf_ringbuf_query", "%llu", (unsigned long long)map_ringbuf_query(m, 2));
	/* wrap-around with one producer */
	memset(&c, 0, sizeof c);
	int ok = 1;
	for (int round = 0; round < 50; round++) {
		ok &= produce(m, 0, 10) == 0;
		skep_ringbuf_consumer_consume(rc);
		c.last[0] = 0;
	}
	CHECK(ok && c.n == 500 && !c.bad, "ringbuf wraps with records intact", "n %d bad %d", c.n, c.bad);
	skep_ringbuf_consumer_free(rc);
	skep_map_close(m);

	/* two producer processes, one consumer: nothing lost, order kept per producer */
	m = skep_map_create(SKEP_MAP_TYPE_RINGBUF, "rb2", 0, 0, 16384, NULL);
	char pin[64];
	snprintf(pin, sizeof pin, "t%d-rb", (int)getpid());
	skep_map_pin(m, pin);
	memset(&c, 0, sizeof c);
	rc = skep_ringbuf_consumer_new(m, rb_cb, &c);
	const uint32_t N = 20000;
	pid_t pids[2];
	for (uint32_t w = 0; w < 2; w++)
		if ((pids[w] = fork()) == 0) {
			skep_map *mm = w ? skep_map_open_pinned(pin) : m;   /* one opens the pin, one inherits */
			_exit(!mm || produce(mm, w + 1, N));
		}
	double t0 = now_ns();
	while (c.n < (int)(2 * N) && now_ns() - t0 < 20e9)
		if (skep_ringbuf_consumer_poll(rc, 100) < 0)
			break;
	int st0, st1;
	waitpid(pids[0], &st0, 0);
	waitpid(pids[1], &st1, 0);
	skep_ringbuf_consumer_consume(rc);
	CHECK(WIFEXITED(st0) && !WEXITSTATUS(st0) && WIFEXITED(st1) && !WEXITSTATUS(st1), "producers exit cleanly", "%s", "failed");
	CHECK(c.n == (int)(2 * N) && !c.bad && c.last[1] == N && c.last[2] == N,
	      "ringbuf: two producer processes, nothing lost, order kept per producer", "got %d of %u, bad %d", c.n, 2 * N,
	      c.bad);
	/* poll times out when there is nothing */
	double t1 = now_ns();
	int pr = skep_ringbuf_consumer_poll(rc, 50);
	double dt = (now_ns() - t1) / 1e6;
	CHECK(pr == 0 && dt >= 40 && dt < 1000, "poll timeout", "returned %d after %.1f ms", pr, dt);
	/* a producer wakes a sleeping consumer */
	pid_t p = fork();
	if (p == 0) {
		usleep(30000);
		_exit(produce(m, 3, 1));
	}
	memset(&c, 0, sizeof c);
	t1 = now_ns();
	pr = skep_ringbuf_consumer_poll(rc, 5000);
	dt = (now_ns() - t1) / 1e6;
	waitpid(p, &st0, 0);
	CHECK(pr == 1 && dt < 2000, "poll wakes on a record from another process", "returned %d after %.1f ms", pr, dt);
	/* one consumer over two rings */
	skep_map *m2 = skep_map_create(SKEP_MAP_TYPE_RINGBUF, "rb3", 0, 0, 4096, NULL);
	struct rbctx c2 = { 0 };
	CHECK(skep_ringbuf_consumer_add(rc, m2, rb_cb, &c2) == 0, "consumer_add", "%s", skep_map_error(m2));
	memset(&c, 0, sizeof c);
	produce(m, 0, 3);
	produce(m2, 1, 5);
	CHECK(skep_ringbuf_avail(rc, 1) > 0 && skep_ringbuf_consumer_poll(rc, 100) == 8 && c.n == 3 && c2.n == 5,
	      "one consumer, two rings", "%d %d", c.n, c2.n);
	skep_map *notrb = skep_map_create(SKEP_MAP_TYPE_ARRAY, NULL, 4, 4, 1, NULL);
	CHECK(skep_ringbuf_consumer_add(rc, notrb, rb_cb, &c2) == -EINVAL, "consumer_add of a non-ring: EINVAL", "%s", "accepted");
	skep_map_close(notrb);
	skep_ringbuf_consumer_free(rc);
	skep_map_unpin(pin);
	skep_map_close(m);
	skep_map_close(m2);
}

/* ---- perf buffer */
struct pbctx { int n, lost_cb; uint64_t lost; int cpu_seen[4]; int bad; };

static void pb_sample(void *ctx, int cpu, void *data, uint32_t size)
{
	struct pbctx *c = ctx;
	uint32_t v;
	memcpy(&v, data, 4);
	if (size % 8 != 4 || size < 12 || (int)(v & 1) != cpu)
		c->bad = 1;
	c->cpu_seen[cpu & 3]++;
	c->n++;
}

static void pb_lost(void *ctx, int cpu, uint64_t cnt)
{
	struct pbctx *c = ctx;
	c->lost += cnt;
	c->lost_cb++;
}

static void perf_tests(void)
{
	skep_map *m = skep_map_create(SKEP_MAP_TYPE_PERF_EVENT_ARRAY, "ev", 4, 4, 2,
				      &(struct skep_map_create_opts){ .sz = sizeof(struct skep_map_create_opts), .perf_pages = 1 });
	if (!m) {
		CHECK(0, "create perf array", "%s", skep_map_error(NULL));
		return;
	}
	uint32_t v = 0;
	uint8_t buf[64] = { 0 };
	CHECK(map_perf_output(m, 0, buf, 8) == -ENOENT, "perf output without a consumer: ENOENT", "%s", "failed");
	struct pbctx c = { 0 };
	skep_perfbuf_consumer *pb = skep_perfbuf_consumer_new(m, pb_sample, pb_lost, &c);
	CHECK(map_perf_output(m, 2, buf, 8) == -E2BIG && map_perf_output(m, 1ull << 40, buf, 8) == -EINVAL,
	      "perf output: index and flags checked", "%s", "failed");
	int sent = 0, nospc = 0;
	for (v = 0; v < 400; v++) {
		memcpy(buf, &v, 4);
		int r = map_perf_output(m, v & 1, buf, 8 + v % 20);
		sent += r == 0;
		nospc += r == -ENOSPC;
	}
	int got = skep_perfbuf_consumer_consume(pb);
	CHECK(c.n == sent && nospc > 0 && !c.bad && c.cpu_seen[0] && c.cpu_seen[1] && got == sent,
	      "perf buffer: samples per CPU, ENOSPC when full", "n %d sent %d nospc %d bad %d", c.n, sent, nospc, c.bad);
	memcpy(buf, &(uint32_t){ 0 }, 4);
	map_perf_output(m, 0, buf, 8);
	memcpy(buf, &(uint32_t){ 1 }, 4);
	map_perf_output(m, 1, buf, 8);
	skep_perfbuf_consumer_poll(pb, 10);
	CHECK(c.lost == (uint64_t)nospc && c.lost_cb == 2, "perf buffer: PERF_RECORD_LOST counts drops", "lost %llu of %d, %d records",
	      (unsigned long long)c.lost, nospc, c.lost_cb);
	/* wrap-around: many rounds through a 4 KiB ring */
	memset(&c, 0, sizeof c);
	int ok = 1;
	for (int round = 0; round < 200; round++) {
		for (v = 0; v < 10; v += 2) {
			memcpy(buf, &v, 4);
			ok &= map_perf_output(m, 0, buf, 36) == 0;
		}
		skep_perfbuf_consumer_consume(pb);
	}
	CHECK(ok && c.n == 1000 && !c.bad && !c.lost, "perf buffer wraps", "n %d bad %d", c.n, c.bad);
	/* a sample from another process wakes a sleeping poll */
	memset(&c, 0, sizeof c);
	pid_t p = fork();
	if (p == 0) {
		usleep(30000);
		memcpy(buf, &(uint32_t){ 1 }, 4);
		_exit(map_perf_output(m, 1, buf, 8) != 0);
	}
	double t1 = now_ns();
	int pr = skep_perfbuf_consumer_poll(pb, 5000);
	double dt = (now_ns() - t1) / 1e6;
	waitpid(p, NULL, 0);
	CHECK(pr == 1 && c.n == 1 && dt < 2000, "perf poll wakes on a sample from another process", "%d after %.1f ms", pr, dt);
	skep_perfbuf_consumer_free(pb);
	skep_map_close(m);
}

/* ---- bad input */
static void bad_input(void)
{
	errno = 0;
	CHECK(!skep_map_create(99, NULL, 4, 4, 1, NULL) && errno == EINVAL && strstr(skep_map_error(NULL), "unknown map type"),
	      "unknown type: EINVAL with a message", "%s", skep_map_error(NULL));
	CHECK(!skep_map_create(SKEP_MAP_TYPE_ARRAY, "a-name-that-is-too-long", 4, 4, 1, NULL) && errno == EINVAL,
	      "name too long: EINVAL", "%s", "failed");
	CHECK(!skep_map_create(SKEP_MAP_TYPE_ARRAY, NULL, 4, 4, 0, NULL) && strstr(skep_map_error(NULL), "max_entries"),
	      "zero max_entries: message names the field", "%s", skep_map_error(NULL));
	skep_map *m = skep_map_create(SKEP_MAP_TYPE_HASH, NULL, 4, 4, 4, NULL);
	uint32_t v = 0;
	CHECK(skep_map_lookup_elem(m, NULL, &v) == -EFAULT && skep_map_update_elem(m, &v, NULL, 0) == -EFAULT &&
	      skep_map_get_next_key(m, NULL, NULL) == -EFAULT, "NULL pointers: EFAULT", "%s", "failed");
	CHECK(skep_map_delete_elem_flags(m, &v, 1) == -EINVAL, "delete flags: EINVAL", "%s", "failed");
	skep_map_close(m);
}

/* ---- time per operation, host side and program side */
static void timing(void)
{
	enum { N = 2000000 };
	skep_map *a = skep_map_create(SKEP_MAP_TYPE_ARRAY, "ta", 4, 8, 1024, NULL);
	skep_map *h = skep_map_create(SKEP_MAP_TYPE_HASH, "th", 4, 8, 1024, NULL);
	uint64_t v = 1, sum = 0;
	for (uint32_t k = 0; k < 1024; k++)
		skep_map_update_elem(h, &k, &v, 0);
	double r[6];
	skep_map *maps[2] = { a, h };
	for (int i = 0; i < 2; i++) {
		double t0 = now_ns();
		for (uint32_t k = 0; k < N; k++) {
			uint32_t kk = k & 1023;
			skep_map_lookup_elem(maps[i], &kk, &v);
			sum += v;
		}
		double t1 = now_ns();
		for (uint32_t k = 0; k < N; k++) {
			uint32_t kk = k & 1023;
			v = k;
			skep_map_update_elem(maps[i], &kk, &v, 0);
		}
		double t2 = now_ns();
		for (uint32_t k = 0; k < N; k++) {
			uint32_t kk = k & 1023;
			uint64_t *p = map_lookup_fast(maps[i], &kk);
			sum += *p;
		}
		double t3 = now_ns();
		r[i * 3] = (t1 - t0) / N, r[i * 3 + 1] = (t2 - t1) / N, r[i * 3 + 2] = (t3 - t2) / N;
	}
	printf("bench: array host lookup %.1f ns, update %.1f ns, program lookup %.1f ns\n", r[0], r[1], r[2]);
	printf("bench: hash  host lookup %.1f ns, update %.1f ns, program lookup %.1f ns (sum %llu)\n", r[3], r[4], r[5],
	       (unsigned long long)(sum & 1));
	CHECK(r[5] < 5000 && r[4] < 20000, "hash operations take bounded time", "%.1f %.1f", r[5], r[4]);
	skep_map_close(a);
	skep_map_close(h);
}

int main(void)
{
	percpu();
	flock_tests();
	mmap_tests();
	lru_tests();
	hash_tests();
	map_in_map();
	small_types();
	ringbuf_tests();
	perf_tests();
	bad_input();
	timing();
	return t_done();
}
