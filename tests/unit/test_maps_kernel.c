/* The same operation sequences on the kernel's maps (bpf() syscall) and on Skep's:
 * the same return values and errno, the same bytes out, the same iteration order
 * where the kernel defines one (arrays).  Hash maps order keys by their own hash, so
 * for them the set of keys an iteration visits is compared, and get_next_key is only
 * compared where the answer does not depend on the order (NULL or a missing key). */
#include <errno.h>
#include <linux/bpf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "kmap.h"
#include "maps/map.h"
#include "skep/map.h"

static int ncpu;

/* ---- one map on both sides */
struct pair {
	int kfd;
	skep_map *s;
	uint32_t type, ks, vs, max, flags;
	uint32_t hvs;   /* value bytes the host passes (per-CPU: ncpus * round8) */
};

static int is_pcpu(uint32_t t)
{
	return t == BPF_MAP_TYPE_PERCPU_ARRAY || t == BPF_MAP_TYPE_PERCPU_HASH || t == BPF_MAP_TYPE_LRU_PERCPU_HASH;
}
static int is_hash(uint32_t t)
{
	return t == BPF_MAP_TYPE_HASH || t == BPF_MAP_TYPE_PERCPU_HASH || t == BPF_MAP_TYPE_LRU_HASH ||
	       t == BPF_MAP_TYPE_LRU_PERCPU_HASH;
}

static int pair_open(struct pair *p, uint32_t type, uint32_t ks, uint32_t vs, uint32_t max, uint32_t flags)
{
	memset(p, 0, sizeof *p);
	p->type = type, p->ks = ks, p->vs = vs, p->max = max, p->flags = flags;
	p->hvs = is_pcpu(type) ? (uint32_t)ncpu * ((vs + 7) & ~7u) : vs;
	p->kfd = kmap_create(type, ks, vs, max, flags, 0);
	struct skep_map_create_opts o = { .sz = sizeof o, .map_flags = flags };
	p->s = skep_map_create(type, "cmp", ks, vs, max, &o);
	if (p->kfd < 0 || !p->s) {
		printf("cannot create type %u: kernel %d, skep %s\n", type, p->kfd, skep_map_error(NULL));
		if (p->kfd >= 0)
			close(p->kfd);
		skep_map_close(p->s);
		return -1;
	}
	return 0;
}

static void pair_close(struct pair *p)
{
	close(p->kfd);
	skep_map_close(p->s);
}

/* A deterministic PRNG. */
static uint64_t rs = 88172645463325252ull;
static uint64_t rnd(void)
{
	rs ^= rs << 13;
	rs ^= rs >> 7;
	rs ^= rs << 17;
	return rs;
}

static void fill(uint8_t *b, uint32_t n, uint64_t v)
{
	for (uint32_t i = 0; i < n; i++)
		b[i] = (uint8_t)(v >> ((i % 8) * 8)) ^ (uint8_t)(i / 8 * 37);
}

enum { OP_UPDATE, OP_LOOKUP, OP_DELETE, OP_NEXT, OP_LAD, OP_FREEZE, OP_ITER, OP_NOPS };
static const char *op_name[] = { "update", "lookup", "delete", "next_key", "lookup_and_delete", "freeze", "iterate" };

/* Run op on side k (1 = kernel); outputs go to out (pre-filled with 0xa5). */
static int run(struct pair *p, int k, int op, const void *key, const void *val, uint64_t fl, uint8_t *out)
{
	switch (op) {
	case OP_UPDATE: return k ? kmap_update(p->kfd, key, val, fl) : skep_map_update_elem(p->s, key, val, fl);
	case OP_LOOKUP: return k ? kmap_lookup(p->kfd, key, out, fl) : skep_map_lookup_elem_flags(p->s, key, out, fl);
	case OP_DELETE: return k ? kmap_delete(p->kfd, key) : skep_map_delete_elem(p->s, key);
	case OP_NEXT: return k ? kmap_next_key(p->kfd, key, out) : skep_map_get_next_key(p->s, key, out);
	case OP_LAD:
		return k ? kmap_lookup_and_delete(p->kfd, key, out, fl)
			 : skep_map_lookup_and_delete_elem_flags(p->s, key, out, fl);
	case OP_FREEZE: return k ? kmap_freeze(p->kfd) : skep_map_freeze(p->s);
	}
	return -999;
}

/* Keys of a whole iteration, sorted, into out; returns the count or -errno. */
static int cmp_key4(const void *a, const void *b) { return memcmp(a, b, 4); }
static int iterate(struct pair *p, int k, uint8_t *out, uint32_t cap)
{
	uint8_t cur[64], nxt[64];
	int n = 0, r;
	const void *prev = NULL;
	while ((r = run(p, k, OP_NEXT, prev, NULL, 0, nxt)) == 0 && (uint32_t)n < cap) {
		memcpy(out + (size_t)n * p->ks, nxt, p->ks);
		memcpy(cur, nxt, p->ks);
		prev = cur;
		n++;
	}
	if (r != -ENOENT)
		return r;
	qsort(out, (size_t)n, p->ks, cmp_key4);
	return n;
}

static int differ;
static void compare(const char *label, int step, int op, int rk, int rs_, const uint8_t *ok, const uint8_t *os, size_t n)
{
	char name[160];
	snprintf(name, sizeof name, "%s step %d %s", label, step, op_name[op]);
	if (rk != rs_) {
		CHECK(0, name, "kernel returned %d, skep %d (%s)", rk, rs_, skep_map_error(NULL));
		differ++;
	} else if (n && memcmp(ok, os, n)) {
		size_t i = 0;
		while (ok[i] == os[i])
			i++;
		CHECK(0, name, "output differs at byte %zu: kernel %02x skep %02x", i, ok[i], os[i]);
		differ++;
	}
}

/* A random sequence of n operations over keys 0..nkeys-1 (arrays: a few past the end). */
static void sequence(const char *label, uint32_t type, uint32_t ks, uint32_t vs, uint32_t max, uint32_t flags,
		     uint32_t nkeys, int n, int with_freeze)
{
	struct pair p;
	if (pair_open(&p, type, ks, vs, max, flags)) {
		CHECK(0, label, "create failed");
		return;
	}
	int before = differ, hash = is_hash(type);
	size_t obuf = (size_t)p.hvs + 64 + (size_t)max * ks;
	uint8_t *ok = malloc(obuf), *os = malloc(obuf), *val = malloc(p.hvs + 8);
	static const uint64_t uflags[] = { 0, 0, 0, BPF_NOEXIST, BPF_EXIST, BPF_EXIST | BPF_NOEXIST, BPF_F_LOCK, 8 };
	static const uint64_t lflags[] = { 0, 0, 0, 0, BPF_F_LOCK, 2 };
	for (int i = 0; i < n; i++) {
		int op = (int)(rnd() % 10);
		op = op < 4 ? OP_UPDATE : op < 6 ? OP_LOOKUP : op < 7 ? OP_DELETE : op < 8 ? OP_NEXT : op < 9 ? OP_LAD : OP_ITER;
		if (with_freeze && i == n * 3 / 4)
			op = OP_FREEZE;
		uint8_t key[64];
		fill(key, ks, rnd() % nkeys);
		fill(val, p.hvs, rnd());
		uint64_t fl = op == OP_UPDATE ? uflags[rnd() % 8] : lflags[rnd() % 6];
		const void *kp = key;
		if (op == OP_NEXT && rnd() % 3 == 0)
			kp = NULL;
		if (op == OP_NEXT && hash && kp && kmap_lookup(p.kfd, kp, ok, 0) == 0)
			kp = NULL;   /* order-free: only NULL or missing keys */
		if (op == OP_ITER) {
			int rk = iterate(&p, 1, ok, max + 8), rs2 = iterate(&p, 0, os, max + 8);
			compare(label, i, op, rk, rs2, ok, os, rk > 0 ? (size_t)rk * ks : 0);
			continue;
		}
		memset(ok, 0xa5, obuf);
		memset(os, 0xa5, obuf);
		int rk = run(&p, 1, op, kp, val, fl, ok);
		int rs2 = run(&p, 0, op, kp, val, fl, os);
		size_t cmpn = op == OP_NEXT ? (hash ? 0 : ks) : p.hvs;
		if (op == OP_NEXT && hash && rk == 0 && rs2 == 0) {   /* some existing key */
			uint8_t tmp[512];
			CHECK(skep_map_lookup_elem(p.s, os, tmp) == 0, label, "next_key gave a key that is not there");
		}
		compare(label, i, op, rk, rs2, ok, os, cmpn);
	}
	CHECK(differ == before, label, "%d differences in %d operations", differ - before, n);
	free(ok);
	free(os);
	free(val);
	pair_close(&p);
}

/* ---- creation: the same attributes give the same verdict */
static void creation(void)
{
	struct { uint32_t type, ks, vs, max, flags; uint64_t extra; } c[] = {
		{ BPF_MAP_TYPE_ARRAY, 4, 8, 4, 0, 0 },
		{ BPF_MAP_TYPE_ARRAY, 8, 8, 4, 0, 0 },
		{ BPF_MAP_TYPE_ARRAY, 4, 0, 4, 0, 0 },
		{ BPF_MAP_TYPE_ARRAY, 4, 8, 0, 0, 0 },
		{ BPF_MAP_TYPE_ARRAY, 4, 8, 4, BPF_F_NO_PREALLOC, 0 },
		{ BPF_MAP_TYPE_ARRAY, 4, 8, 4, BPF_F_MMAPABLE, 0 },
		{ BPF_MAP_TYPE_ARRAY, 4, 8, 4, BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG, 0 },
		{ BPF_MAP_TYPE_ARRAY, 4, 8, 4, BPF_F_RDONLY | BPF_F_WRONLY, 0 },
		{ BPF_MAP_TYPE_ARRAY, 4, 8, 4, 1u << 20, 0 },
		{ BPF_MAP_TYPE_ARRAY, 4, 8, 4, BPF_F_PRESERVE_ELEMS, 0 },
		{ BPF_MAP_TYPE_ARRAY, 4, 8, 4, 0, 3 },
		{ BPF_MAP_TYPE_PERCPU_ARRAY, 4, 8, 4, BPF_F_MMAPABLE, 0 },
		{ BPF_MAP_TYPE_PERCPU_ARRAY, 4, 40000, 4, 0, 0 },
		{ BPF_MAP_TYPE_PERCPU_ARRAY, 4, 32768, 4, 0, 0 },
		{ BPF_MAP_TYPE_HASH, 4, 8, 4, 0, 0 },
		{ BPF_MAP_TYPE_HASH, 0, 8, 4, 0, 0 },
		{ BPF_MAP_TYPE_HASH, 4, 0, 4, 0, 0 },
		{ BPF_MAP_TYPE_HASH, 4, 8, 0, 0, 0 },
		{ BPF_MAP_TYPE_HASH, 513, 8, 4, 0, 0 },
		{ BPF_MAP_TYPE_HASH, 512, 8, 4, 0, 0 },
		{ BPF_MAP_TYPE_HASH, 4, 8, 4, BPF_F_NO_PREALLOC, 0 },
		{ BPF_MAP_TYPE_HASH, 4, 8, 4, BPF_F_NO_COMMON_LRU, 0 },
		{ BPF_MAP_TYPE_HASH, 4, 8, 4, BPF_F_MMAPABLE, 0 },
		{ BPF_MAP_TYPE_HASH, 4, 8, 4, BPF_F_ZERO_SEED, 0 },
		{ BPF_MAP_TYPE_HASH, 4, 1u << 22, 4, 0, 0 },
		{ BPF_MAP_TYPE_HASH, 4, 4194250, 4, BPF_F_NO_PREALLOC, 0 },
		{ BPF_MAP_TYPE_HASH, 4, 4194252, 4, BPF_F_NO_PREALLOC, 0 },
		{ BPF_MAP_TYPE_HASH, 4, 8, (1u << 27) + 1, BPF_F_NO_PREALLOC, 0 },
		{ BPF_MAP_TYPE_HASH, 4, 8, 1u << 31, BPF_F_NO_PREALLOC, 0 },
		{ BPF_MAP_TYPE_LPM_TRIE, 8, 4194024, 4, BPF_F_NO_PREALLOC, 0 },
		{ BPF_MAP_TYPE_LPM_TRIE, 8, 4194025, 4, BPF_F_NO_PREALLOC, 0 },
		{ BPF_MAP_TYPE_STACK_TRACE, 4, 8 * 127, 4, 0, 0 },
		{ BPF_MAP_TYPE_STACK_TRACE, 4, 8 * 128, 4, 0, 0 },
		{ BPF_MAP_TYPE_STACK_TRACE, 4, 8, 4, BPF_F_RDONLY_PROG, 0 },
		{ BPF_MAP_TYPE_QUEUE, 0, (1u << 22) + 1, 4, 0, 0 },
		{ BPF_MAP_TYPE_PERCPU_HASH, 4, 32769, 4, 0, 0 },
		{ BPF_MAP_TYPE_LRU_HASH, 4, 8, 4, BPF_F_NO_PREALLOC, 0 },
		{ BPF_MAP_TYPE_LRU_HASH, 4, 8, 4, BPF_F_NO_COMMON_LRU, 0 },
		{ BPF_MAP_TYPE_LRU_PERCPU_HASH, 4, 8, 4, BPF_F_NO_COMMON_LRU | BPF_F_NUMA_NODE, 0 },
		{ BPF_MAP_TYPE_QUEUE, 0, 8, 4, 0, 0 },
		{ BPF_MAP_TYPE_QUEUE, 4, 8, 4, 0, 0 },
		{ BPF_MAP_TYPE_QUEUE, 0, 8, 0, 0, 0 },
		{ BPF_MAP_TYPE_QUEUE, 0, 8, 4, BPF_F_NO_PREALLOC, 0 },
		{ BPF_MAP_TYPE_STACK, 0, 0, 4, 0, 0 },
		{ BPF_MAP_TYPE_BLOOM_FILTER, 0, 8, 4, 0, 0 },
		{ BPF_MAP_TYPE_BLOOM_FILTER, 0, 8, 4, 0, 3 },
		{ BPF_MAP_TYPE_BLOOM_FILTER, 0, 8, 4, 0, 16 },
		{ BPF_MAP_TYPE_BLOOM_FILTER, 4, 8, 4, 0, 0 },
		{ BPF_MAP_TYPE_BLOOM_FILTER, 0, 8, 4, BPF_F_ZERO_SEED, 0 },
		{ BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 4, 0, 0 },
		{ BPF_MAP_TYPE_PROG_ARRAY, 4, 8, 4, 0, 0 },
		{ BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 4, BPF_F_RDONLY_PROG, 0 },
		{ BPF_MAP_TYPE_RINGBUF, 0, 0, 4096, 0, 0 },
		{ BPF_MAP_TYPE_RINGBUF, 0, 0, 4095, 0, 0 },
		{ BPF_MAP_TYPE_RINGBUF, 0, 0, 12288, 0, 0 },
		{ BPF_MAP_TYPE_RINGBUF, 4, 0, 4096, 0, 0 },
		{ BPF_MAP_TYPE_RINGBUF, 0, 0, 4096, BPF_F_NO_PREALLOC, 0 },
		{ BPF_MAP_TYPE_LPM_TRIE, 8, 8, 4, BPF_F_NO_PREALLOC, 0 },
		{ BPF_MAP_TYPE_LPM_TRIE, 8, 8, 4, 0, 0 },
		{ BPF_MAP_TYPE_LPM_TRIE, 4, 8, 4, BPF_F_NO_PREALLOC, 0 },
		{ BPF_MAP_TYPE_LPM_TRIE, 5, 8, 4, BPF_F_NO_PREALLOC, 0 },
		{ BPF_MAP_TYPE_LPM_TRIE, 261, 8, 4, BPF_F_NO_PREALLOC, 0 },
		{ BPF_MAP_TYPE_LPM_TRIE, 8, 0, 4, BPF_F_NO_PREALLOC, 0 },
		{ BPF_MAP_TYPE_STACK_TRACE, 4, 64, 4, 0, 0 },
		{ BPF_MAP_TYPE_STACK_TRACE, 4, 60, 4, 0, 0 },
		{ BPF_MAP_TYPE_STACK_TRACE, 8, 64, 4, 0, 0 },
		{ BPF_MAP_TYPE_PERF_EVENT_ARRAY, 4, 4, 2, 0, 0 },
		{ BPF_MAP_TYPE_PERF_EVENT_ARRAY, 4, 8, 2, 0, 0 },
		{ 1000, 4, 4, 2, 0, 0 },
	};
	for (size_t i = 0; i < sizeof c / sizeof *c; i++) {
		int k = kmap_create(c[i].type, c[i].ks, c[i].vs, c[i].max, c[i].flags, c[i].extra);
		struct skep_map_create_opts o = { .sz = sizeof o, .map_flags = c[i].flags, .map_extra = c[i].extra };
		skep_map *s = skep_map_create(c[i].type, NULL, c[i].ks, c[i].vs, c[i].max, &o);
		int se = s ? 0 : -errno, ke = k < 0 ? k : 0;
		char name[128];
		snprintf(name, sizeof name, "create type %u ks %u vs %u max %u flags 0x%x extra %llu", c[i].type,
			 c[i].ks, c[i].vs, c[i].max, c[i].flags, (unsigned long long)c[i].extra);
		CHECK(ke == se, name, "kernel %d, skep %d (%s)", ke, se, s ? "" : skep_map_error(NULL));
		if (k >= 0)
			close(k);
		skep_map_close(s);
	}
}

/* ---- batches: exact for arrays, as sets for hash maps */
static void batches(void)
{
	struct pair p;
	uint32_t keys[64], kk[64], ks[64], cnt, ck, cs;
	uint64_t vals[64], vk[64 * 4], vsv[64 * 4];
	for (int t = 0; t < 2; t++) {
		uint32_t type = t ? BPF_MAP_TYPE_PERCPU_ARRAY : BPF_MAP_TYPE_ARRAY;
		if (pair_open(&p, type, 4, 8, 10, 0))
			return;
		uint32_t per = p.hvs / 8;
		for (uint32_t i = 0; i < 12; i++) {
			keys[i] = i;
			for (uint32_t c = 0; c < per; c++)
				vk[i * per + c] = i * 100 + c;
		}
		for (uint32_t n = 0; n <= 12; n += 3) {  /* update batch, past the end too */
			ck = cs = n;
			int rk = kmap_batch(BPF_MAP_UPDATE_BATCH, p.kfd, NULL, NULL, keys, vk, &ck, 0, 0);
			int r2 = skep_map_update_batch(p.s, keys, vk, &cs, NULL);
			CHECK(rk == r2 && ck == cs, "array update_batch", "type %u n %u: kernel %d/%u skep %d/%u",
			      type, n, rk, ck, r2, cs);
		}
		ck = cs = 3;
		uint64_t efl[] = { BPF_NOEXIST, BPF_EXIST, BPF_F_LOCK, 16 };
		for (int f = 0; f < 4; f++) {
			ck = cs = 3;
			struct skep_map_batch_opts bo = { .sz = sizeof bo, .elem_flags = efl[f] };
			int rk = kmap_batch(BPF_MAP_UPDATE_BATCH, p.kfd, NULL, NULL, keys, vk, &ck, efl[f], 0);
			int r2 = skep_map_update_batch(p.s, keys, vk, &cs, &bo);
			CHECK(rk == r2 && ck == cs, "array update_batch elem_flags",
			      "flags %llu: kernel %d/%u skep %d/%u", (unsigned long long)efl[f], rk, ck, r2, cs);
		}
		for (uint32_t step = 1; step <= 11; step += 3) {   /* lookup in chunks */
			uint32_t inb = 0, outk = 0, outs = 0;
			void *in = NULL;
			for (int round = 0; round < 8; round++) {
				ck = cs = step;
				memset(vk, 0xa5, sizeof vk);
				memset(vsv, 0xa5, sizeof vsv);
				int rk = kmap_batch(BPF_MAP_LOOKUP_BATCH, p.kfd, in, &outk, kk, vk, &ck, 0, 0);
				int r2 = skep_map_lookup_batch(p.s, in, &outs, ks, vsv, &cs, NULL);
				int same = rk == r2 && ck == cs && !memcmp(kk, ks, ck * 4) &&
					   !memcmp(vk, vsv, (size_t)ck * p.hvs) && (!ck || outk == outs);
				CHECK(same, "array lookup_batch", "type %u step %u round %d: kernel %d/%u out %u, skep %d/%u out %u",
				      type, step, round, rk, ck, outk, r2, cs, outs);
				if (rk)
					break;
				inb = outk;
				in = &inb;
			}
		}
		ck = cs = 2;
		int rk = kmap_batch(BPF_MAP_DELETE_BATCH, p.kfd, NULL, NULL, keys, NULL, &ck, 0, 0);
		int r2 = skep_map_delete_batch(p.s, keys, &cs, NULL);
		CHECK(rk == r2, "array delete_batch", "kernel %d skep %d", rk, r2);
		ck = cs = 2;
		rk = kmap_batch(BPF_MAP_LOOKUP_AND_DELETE_BATCH, p.kfd, NULL, &kk[0], kk, vk, &ck, 0, 0);
		r2 = skep_map_lookup_and_delete_batch(p.s, NULL, &ks[0], ks, vsv, &cs, NULL);
		CHECK(rk == r2, "array lookup_and_delete_batch", "kernel %d skep %d", rk, r2);
		pair_close(&p);
	}
	/* hash: update batch with a duplicate under NOEXIST stops at the same place */
	for (int t = 0; t < 3; t++) {
		uint32_t type = t == 0 ? BPF_MAP_TYPE_HASH : t == 1 ? BPF_MAP_TYPE_PERCPU_HASH : BPF_MAP_TYPE_LRU_HASH;
		if (pair_open(&p, type, 4, 8, 64, 0))
			return;
		uint32_t per = p.hvs / 8;
		for (uint32_t i = 0; i < 40; i++) {
			keys[i] = i * 7 + 1;
			for (uint32_t c = 0; c < per; c++)
				vk[i * per + c] = i * 1000 + c;
		}
		keys[30] = keys[3];
		ck = cs = 40;
		int rk = kmap_batch(BPF_MAP_UPDATE_BATCH, p.kfd, NULL, NULL, keys, vk, &ck, BPF_NOEXIST, 0);
		int r2 = skep_map_update_batch(p.s, keys, vk, &cs,
					       &(struct skep_map_batch_opts){ .sz = sizeof(struct skep_map_batch_opts),
									      .elem_flags = BPF_NOEXIST });
		CHECK(rk == r2 && ck == cs, "hash update_batch NOEXIST", "type %u: kernel %d/%u skep %d/%u", type, rk, ck, r2, cs);
		/* delete batch with a missing key in the middle */
		uint32_t dk[4] = { keys[0], keys[1], 99999, keys[2] };
		ck = cs = 4;
		rk = kmap_batch(BPF_MAP_DELETE_BATCH, p.kfd, NULL, NULL, dk, NULL, &ck, 0, 0);
		r2 = skep_map_delete_batch(p.s, dk, &cs, NULL);
		CHECK(rk == r2 && ck == cs, "hash delete_batch", "type %u: kernel %d/%u skep %d/%u", type, rk, ck, r2, cs);
		/* lookup batch through the whole map, in chunks of 5, then lookup-and-delete it all */
		for (int del = 0; del < 2; del++) {
			uint32_t got_k[64], got_s[64], nk = 0, ns = 0, ink = 0, ins = 0, ok_ = 0, os_ = 0;
			int ek = 0, es = 0;
			for (int side = 0; side < 2; side++) {
				uint32_t *got = side ? got_s : got_k, *n = side ? &ns : &nk, *inb = side ? &ins : &ink;
				uint32_t *outb = side ? &os_ : &ok_;
				int *e = side ? &es : &ek;
				void *in = NULL;
				for (int round = 0; round < 100; round++) {
					uint32_t c = del ? 64 : 5;
					uint32_t kb[64];
					int r = side ? (del ? skep_map_lookup_and_delete_batch(p.s, in, outb, kb, vsv, &c, NULL)
							    : skep_map_lookup_batch(p.s, in, outb, kb, vsv, &c, NULL))
						     : kmap_batch(del ? BPF_MAP_LOOKUP_AND_DELETE_BATCH : BPF_MAP_LOOKUP_BATCH,
								  p.kfd, in, outb, kb, vk, &c, 0, 0);
					if (r == -ENOSPC)   /* a bucket larger than the chunk: the kernel's rule */
						c = 0;
					for (uint32_t j = 0; j < c && *n < 64; j++)
						got[(*n)++] = kb[j];
					if (r) {
						*e = r == -ENOSPC ? 0 : r;
						if (r != -ENOSPC)
							break;
						continue;
					}
					*inb = *outb;
					in = inb;
				}
			}
			qsort(got_k, nk, 4, cmp_key4);
			qsort(got_s, ns, 4, cmp_key4);
			CHECK(ek == es && nk == ns && !memcmp(got_k, got_s, nk * 4), del ? "hash lookup_and_delete_batch" : "hash lookup_batch",
			      "type %u: kernel %d/%u keys, skep %d/%u keys", type, ek, nk, es, ns);
		}
		for (int side = 0; side < 2; side++) {   /* empty now */
			uint32_t nk2;
			int r = side ? skep_map_get_next_key(p.s, NULL, &nk2) : kmap_next_key(p.kfd, NULL, &nk2);
			CHECK(r == -ENOENT, "hash empty after lookup_and_delete_batch", "side %d: %d", side, r);
		}
		/* batch flags must be 0; elem_flags only BPF_F_LOCK */
		uint32_t c1 = 4, c2 = 4, o1, o2;
		rk = kmap_batch(BPF_MAP_LOOKUP_BATCH, p.kfd, NULL, &o1, kk, vk, &c1, 0, 1);
		r2 = skep_map_lookup_batch(p.s, NULL, &o2, ks, vsv, &c2, &(struct skep_map_batch_opts){ .sz = sizeof(struct skep_map_batch_opts), .flags = 1 });
		CHECK(rk == r2, "hash lookup_batch flags", "kernel %d skep %d", rk, r2);
		c1 = c2 = 4;
		rk = kmap_batch(BPF_MAP_LOOKUP_BATCH, p.kfd, NULL, &o1, kk, vk, &c1, BPF_F_LOCK, 0);
		r2 = skep_map_lookup_batch(p.s, NULL, &o2, ks, vsv, &c2, &(struct skep_map_batch_opts){ .sz = sizeof(struct skep_map_batch_opts), .elem_flags = BPF_F_LOCK });
		CHECK(rk == r2, "hash lookup_batch elem_flags", "kernel %d skep %d", rk, r2);
		pair_close(&p);
	}
	(void)vals;
	(void)cnt;
}

/* ---- access flags and freezing */
static void access_flags(void)
{
	uint32_t fl[] = { BPF_F_RDONLY, BPF_F_WRONLY, BPF_F_RDONLY_PROG, BPF_F_WRONLY_PROG };
	uint32_t types[] = { BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_QUEUE };
	for (int t = 0; t < 3; t++)
		for (int f = 0; f < 4; f++) {
			struct pair p;
			uint32_t ks = types[t] == BPF_MAP_TYPE_QUEUE ? 0 : 4;
			if (pair_open(&p, types[t], ks, 8, 4, fl[f]))
				continue;
			uint32_t k = 1;
			uint64_t v = 7, o1 = 0, o2 = 0, n1, n2;
			const void *kp = ks ? &k : NULL;
			int r[2][6];
			for (int side = 0; side < 2; side++) {
				uint64_t *o = side ? &o2 : &o1, *nn = side ? &n2 : &n1;
				r[side][0] = run(&p, !side, OP_UPDATE, kp, &v, 0, NULL);
				r[side][1] = run(&p, !side, OP_LOOKUP, kp, NULL, 0, (uint8_t *)o);
				r[side][2] = ks ? run(&p, !side, OP_NEXT, NULL, NULL, 0, (uint8_t *)nn) : 0;
				r[side][3] = run(&p, !side, OP_LAD, kp, NULL, 0, (uint8_t *)o);
				r[side][4] = run(&p, !side, OP_FREEZE, NULL, NULL, 0, NULL);
				r[side][5] = run(&p, !side, OP_UPDATE, kp, &v, 0, NULL);
			}
			char name[96];
			snprintf(name, sizeof name, "access type %u flags 0x%x", types[t], fl[f]);
			CHECK(!memcmp(r[0], r[1], sizeof r[0]), name,
			      "kernel %d %d %d %d %d %d, skep %d %d %d %d %d %d", r[0][0], r[0][1], r[0][2], r[0][3],
			      r[0][4], r[0][5], r[1][0], r[1][1], r[1][2], r[1][3], r[1][4], r[1][5]);
			pair_close(&p);
		}
	/* freeze twice, then writes */
	struct pair p;
	if (!pair_open(&p, BPF_MAP_TYPE_ARRAY, 4, 8, 4, 0)) {
		uint32_t k = 1;
		uint64_t v = 1;
		int a[4], b[4];
		a[0] = kmap_freeze(p.kfd), b[0] = skep_map_freeze(p.s);
		a[1] = kmap_freeze(p.kfd), b[1] = skep_map_freeze(p.s);
		a[2] = kmap_update(p.kfd, &k, &v, 0), b[2] = skep_map_update_elem(p.s, &k, &v, 0);
		a[3] = kmap_lookup(p.kfd, &k, &v, 0), b[3] = skep_map_lookup_elem(p.s, &k, &v);
		CHECK(!memcmp(a, b, sizeof a), "freeze", "kernel %d %d %d %d, skep %d %d %d %d", a[0], a[1], a[2], a[3],
		      b[0], b[1], b[2], b[3]);
		pair_close(&p);
	}
}

/* ---- queue, stack, bloom filter: push/pop/peek sequences */
static void queues(void)
{
	for (int t = 0; t < 2; t++) {
		uint32_t type = t ? BPF_MAP_TYPE_STACK : BPF_MAP_TYPE_QUEUE;
		struct pair p;
		if (pair_open(&p, type, 0, 12, 5, 0))
			continue;
		int before = differ;
		static const uint64_t fl[] = { 0, 0, BPF_EXIST, BPF_NOEXIST, 4 };
		for (int i = 0; i < 400; i++) {
			uint8_t val[16], ok[16], os[16];
			fill(val, 12, rnd());
			memset(ok, 0xa5, 16);
			memset(os, 0xa5, 16);
			int op = (int)(rnd() % 6), rk, r2;
			uint64_t f = fl[rnd() % 5];
			if (op < 3)
				op = OP_UPDATE;
			else if (op == 3)
				op = OP_LOOKUP, f = 0;
			else if (op == 4)
				op = OP_LAD, f = rnd() % 4 ? 0 : BPF_F_LOCK;
			else
				op = rnd() % 2 ? OP_DELETE : OP_NEXT;
			rk = run(&p, 1, op, NULL, val, f, ok);
			r2 = run(&p, 0, op, NULL, val, f, os);
			compare(t ? "stack" : "queue", i, op, rk, r2, ok, os, 16);
		}
		CHECK(differ == before, t ? "stack sequence" : "queue sequence", "%d differences", differ - before);
		pair_close(&p);
	}
	struct pair p;
	if (!pair_open(&p, BPF_MAP_TYPE_BLOOM_FILTER, 0, 8, 100, 0)) {
		int same = 1;
		for (uint64_t v = 0; v < 60; v += 2) {
			int rk = kmap_update(p.kfd, NULL, &v, 0), r2 = skep_map_update_elem(p.s, NULL, &v, 0);
			same &= rk == r2;
			rk = kmap_update(p.kfd, NULL, &v, BPF_EXIST), r2 = skep_map_update_elem(p.s, NULL, &v, BPF_EXIST);
			same &= rk == r2;
		}
		for (uint64_t v = 0; v < 60; v += 2) {
			uint64_t a = v, b = v;
			same &= kmap_lookup(p.kfd, NULL, &a, 0) == 0 && skep_map_lookup_elem(p.s, NULL, &b) == 0;
		}
		int fk = 0, fs = 0;
		for (uint64_t v = 1001; v < 3001; v += 2) {
			uint64_t a = v, b = v;
			fk += kmap_lookup(p.kfd, NULL, &a, 0) == 0;
			fs += skep_map_lookup_elem(p.s, NULL, &b) == 0;
		}
		uint64_t v = 1, nk;
		int a[3] = { kmap_delete(p.kfd, &v), kmap_next_key(p.kfd, NULL, &nk), kmap_lookup_and_delete(p.kfd, NULL, &v, 0) };
		int b[3] = { skep_map_delete_elem(p.s, &v), skep_map_get_next_key(p.s, NULL, &nk),
			     skep_map_lookup_and_delete_elem(p.s, NULL, &v) };
		CHECK(same, "bloom push/peek", "members differ");
		CHECK(fs < 100 && fk < 100, "bloom false positives", "kernel %d, skep %d of 1000", fk, fs);
		CHECK(!memcmp(a, b, sizeof a), "bloom delete/next/pop", "kernel %d %d %d skep %d %d %d", a[0], a[1], a[2],
		      b[0], b[1], b[2]);
		pair_close(&p);
	}
}

/* ---- LPM trie: matches, errors and the kernel's postorder iteration, exactly */
static void lpm(void)
{
	struct pair p;
	uint32_t fl = BPF_F_NO_PREALLOC;
	if (pair_open(&p, BPF_MAP_TYPE_LPM_TRIE, 8, 8, 24, fl))
		return;
	int before = differ;
	static const uint8_t nets[][4] = { { 10, 0, 0, 0 }, { 10, 1, 0, 0 }, { 10, 1, 2, 0 }, { 192, 168, 0, 0 },
					   { 192, 168, 1, 0 }, { 192, 169, 0, 0 }, { 0, 0, 0, 0 }, { 10, 1, 2, 3 } };
	for (int i = 0; i < 3000; i++) {
		uint8_t key[8], ok[512], os[512];
		uint32_t plen = (uint32_t)(rnd() % 34);
		memcpy(key + 4, nets[rnd() % 8], 4);
		if (rnd() % 4 == 0)
			key[7] ^= (uint8_t)rnd(), key[6] ^= (uint8_t)(rnd() & 3);
		int op = (int)(rnd() % 10);
		op = op < 4 ? OP_UPDATE : op < 6 ? OP_LOOKUP : op < 8 ? OP_DELETE : op < 9 ? OP_NEXT : OP_ITER;
		if (op == OP_LOOKUP && rnd() % 2)
			plen = 32;
		memcpy(key, &plen, 4);
		uint64_t val = rnd();
		static const uint64_t ufl[] = { 0, 0, BPF_NOEXIST, BPF_EXIST, 3 };
		uint64_t f = op == OP_UPDATE ? ufl[rnd() % 5] : 0;
		if (op == OP_ITER) {   /* the whole postorder sequence */
			int nk = 0, ns = 0, rk = 0, r2 = 0;
			const void *pk = NULL, *ps = NULL;
			uint8_t bk[8], bs[8];
			while (nk < 64 && (rk = kmap_next_key(p.kfd, pk, ok + nk * 8)) == 0)
				memcpy(bk, ok + nk * 8, 8), pk = bk, nk++;
			while (ns < 64 && (r2 = skep_map_get_next_key(p.s, ps, os + ns * 8)) == 0)
				memcpy(bs, os + ns * 8, 8), ps = bs, ns++;
			compare("lpm", i, op, rk * 1000 + nk, r2 * 1000 + ns, ok, os, (size_t)nk * 8);
			continue;
		}
		const void *kp = op == OP_NEXT && rnd() % 4 == 0 ? NULL : key;
		memset(ok, 0xa5, sizeof ok);
		memset(os, 0xa5, sizeof os);
		int rk = run(&p, 1, op, kp, &val, f, ok), r2 = run(&p, 0, op, kp, &val, f, os);
		compare("lpm", i, op, rk, r2, ok, os, op == OP_NEXT ? 8 : 8);
	}
	CHECK(differ == before, "lpm sequence", "%d differences", differ - before);
	pair_close(&p);
}

/* ---- ring buffer: the host-side calls the kernel refuses */
static void ringbuf(void)
{
	int k = kmap_create(BPF_MAP_TYPE_RINGBUF, 0, 0, 4096, 0, 0);
	skep_map *s = skep_map_create(BPF_MAP_TYPE_RINGBUF, NULL, 0, 0, 4096, NULL);
	if (k < 0 || !s) {
		CHECK(0, "ringbuf create", "kernel %d skep %s", k, s ? "ok" : skep_map_error(NULL));
		return;
	}
	uint64_t v = 0, key = 0;
	int a[5] = { kmap_lookup(k, &key, &v, 0), kmap_update(k, &key, &v, 0), kmap_delete(k, &key),
		     kmap_next_key(k, NULL, &key), kmap_lookup_and_delete(k, &key, &v, 0) };
	int b[5] = { skep_map_lookup_elem(s, &key, &v), skep_map_update_elem(s, &key, &v, 0), skep_map_delete_elem(s, &key),
		     skep_map_get_next_key(s, NULL, &key), skep_map_lookup_and_delete_elem(s, &key, &v) };
	CHECK(!memcmp(a, b, sizeof a), "ringbuf host calls", "kernel %d %d %d %d %d skep %d %d %d %d %d", a[0], a[1], a[2],
	      a[3], a[4], b[0], b[1], b[2], b[3], b[4]);
	close(k);
	skep_map_close(s);
}

/* ---- stack trace and perf event array: what the host can do without a program */
static void fd_like(void)
{
	uint32_t key = 0, nk, big = 99;
	uint64_t v[16] = { 0 };
	int k = kmap_create(BPF_MAP_TYPE_STACK_TRACE, 4, 64, 4, 0, 0);
	skep_map *s = skep_map_create(BPF_MAP_TYPE_STACK_TRACE, NULL, 4, 64, 4, NULL);
	if (k >= 0 && s) {
		int a[6] = { kmap_lookup(k, &key, v, 0), kmap_update(k, &key, v, 0), kmap_delete(k, &key),
			     kmap_next_key(k, NULL, &nk), kmap_delete(k, &big), kmap_lookup_and_delete(k, &key, v, 0) };
		int b[6] = { skep_map_lookup_elem(s, &key, v), skep_map_update_elem(s, &key, v, 0),
			     skep_map_delete_elem(s, &key), skep_map_get_next_key(s, NULL, &nk), skep_map_delete_elem(s, &big),
			     skep_map_lookup_and_delete_elem(s, &key, v) };
		CHECK(!memcmp(a, b, sizeof a), "stack_trace host calls", "kernel %d %d %d %d %d %d skep %d %d %d %d %d %d",
		      a[0], a[1], a[2], a[3], a[4], a[5], b[0], b[1], b[2], b[3], b[4], b[5]);
	}
	if (k >= 0)
		close(k);
	skep_map_close(s);
	k = kmap_create(BPF_MAP_TYPE_PERF_EVENT_ARRAY, 4, 4, 2, 0, 0);
	s = skep_map_create(BPF_MAP_TYPE_PERF_EVENT_ARRAY, NULL, 4, 4, 2, NULL);
	if (k >= 0 && s) {
		uint32_t fd = 0, k5 = 5;
		int a[7] = { kmap_lookup(k, &key, v, 0), kmap_delete(k, &key), kmap_next_key(k, NULL, &nk),
			     kmap_update(k, &k5, &fd, 0), kmap_update(k, &key, &fd, BPF_NOEXIST), kmap_delete(k, &k5),
			     kmap_lookup_and_delete(k, &key, v, 0) };
		int b[7] = { skep_map_lookup_elem(s, &key, v), skep_map_delete_elem(s, &key), skep_map_get_next_key(s, NULL, &nk),
			     skep_map_update_elem(s, &k5, &fd, 0), skep_map_update_elem(s, &key, &fd, BPF_NOEXIST),
			     skep_map_delete_elem(s, &k5), skep_map_lookup_and_delete_elem(s, &key, v) };
		CHECK(!memcmp(a, b, sizeof a), "perf_event_array host calls",
		      "kernel %d %d %d %d %d %d %d skep %d %d %d %d %d %d %d", a[0], a[1], a[2], a[3], a[4], a[5], a[6], b[0],
		      b[1], b[2], b[3], b[4], b[5], b[6]);
	}
	if (k >= 0)
		close(k);
	skep_map_close(s);
	/* prog array and array of maps: errors the kernel gives without programs */
	k = kmap_create(BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 2, 0, 0);
	s = skep_map_create(BPF_MAP_TYPE_PROG_ARRAY, NULL, 4, 4, 2, NULL);
	if (k >= 0 && s) {
		uint32_t fd = 1, k5 = 5;
		int a[6] = { kmap_lookup(k, &key, v, 0), kmap_delete(k, &key), kmap_next_key(k, NULL, &nk),
			     kmap_update(k, &k5, &fd, 0), kmap_update(k, &key, &fd, BPF_NOEXIST), kmap_delete(k, &k5) };
		int b[6] = { skep_map_lookup_elem(s, &key, v), skep_map_delete_elem(s, &key), skep_map_get_next_key(s, NULL, &nk),
			     skep_map_update_elem(s, &k5, &fd, 0), skep_map_update_elem(s, &key, &fd, BPF_NOEXIST),
			     skep_map_delete_elem(s, &k5) };
		CHECK(!memcmp(a, b, sizeof a), "prog_array host calls", "kernel %d %d %d %d %d %d skep %d %d %d %d %d %d",
		      a[0], a[1], a[2], a[3], a[4], a[5], b[0], b[1], b[2], b[3], b[4], b[5]);
	}
	if (k >= 0)
		close(k);
	skep_map_close(s);
}

/* ---- map in map: the same return codes for the same sequence (ids differ by nature) */
static void map_in_map(void)
{
	int kin[3] = { kmap_create(BPF_MAP_TYPE_ARRAY, 4, 8, 4, 0, 0), kmap_create(BPF_MAP_TYPE_ARRAY, 4, 8, 4, 0, 0),
		       kmap_create(BPF_MAP_TYPE_ARRAY, 4, 16, 4, 0, 0) };
	skep_map *sin[3] = { skep_map_create(BPF_MAP_TYPE_ARRAY, NULL, 4, 8, 4, NULL),
			     skep_map_create(BPF_MAP_TYPE_ARRAY, NULL, 4, 8, 4, NULL),
			     skep_map_create(BPF_MAP_TYPE_ARRAY, NULL, 4, 16, 4, NULL) };
	for (int t = 0; t < 2; t++) {
		uint32_t type = t ? BPF_MAP_TYPE_HASH_OF_MAPS : BPF_MAP_TYPE_ARRAY_OF_MAPS;
		int k = kmap_create_inner(type, 4, 4, 4, 0, kin[0]);
		struct skep_map_create_opts o = { .sz = sizeof o, .inner_map = sin[0] };
		skep_map *s = skep_map_create(type, NULL, 4, 4, 4, &o);
		if (k < 0 || !s) {
			CHECK(0, "map-in-map create", "kernel %d skep %s", k, s ? "ok" : skep_map_error(NULL));
			continue;
		}
		int before = differ;
		for (int i = 0; i < 300; i++) {
			uint32_t key = (uint32_t)(rnd() % 6), which = (uint32_t)(rnd() % 3), kfd = (uint32_t)kin[which];
			uint32_t sid = skep_map_id(sin[which]), ok = 0, os = 0;
			static const uint64_t fl[] = { 0, 0, BPF_NOEXIST, BPF_EXIST, 7 };
			uint64_t f = fl[rnd() % 5];
			int op = (int)(rnd() % (t ? 3 : 4)), rk, r2;   /* hash order differs: no next_key */
			if (op == 0)
				rk = kmap_update(k, &key, &kfd, f), r2 = skep_map_update_elem(s, &key, &sid, f);
			else if (op == 1)
				rk = kmap_lookup(k, &key, &ok, 0), r2 = skep_map_lookup_elem(s, &key, &os);
			else if (op == 2)
				rk = kmap_delete(k, &key), r2 = skep_map_delete_elem(s, &key);
			else
				rk = kmap_next_key(k, &key, &ok), r2 = skep_map_get_next_key(s, &key, &os);
			if (op == 3 && !t && ok != os)
				rk = 1000;   /* arrays iterate in index order */
			compare(t ? "hash_of_maps" : "array_of_maps", i, op == 0 ? OP_UPDATE : op == 1 ? OP_LOOKUP : op == 2 ? OP_DELETE : OP_NEXT,
				rk, r2, NULL, NULL, 0);
		}
		uint32_t c1 = 6, c2 = 6, kb[8], vb[8], o1, o2;
		int rk = kmap_batch(BPF_MAP_LOOKUP_BATCH, k, NULL, &o1, kb, vb, &c1, 0, 0);
		int r2 = skep_map_lookup_batch(s, NULL, &o2, kb, vb, &c2, NULL);
		CHECK(rk == r2 && c1 == c2, t ? "hash_of_maps lookup_batch" : "array_of_maps lookup_batch", "kernel %d/%u skep %d/%u", rk, c1, r2, c2);
		c1 = c2 = 1;
		rk = kmap_batch(BPF_MAP_UPDATE_BATCH, k, NULL, NULL, kb, (uint32_t[]){ (uint32_t)kin[0] }, &c1, 0, 0);
		r2 = skep_map_update_batch(s, kb, (uint32_t[]){ skep_map_id(sin[0]) }, &c2, NULL);
		CHECK(rk == r2 && c1 == c2, t ? "hash_of_maps update_batch" : "array_of_maps update_batch", "kernel %d/%u skep %d/%u", rk, c1, r2, c2);
		c1 = c2 = 2;
		kb[0] = 0, kb[1] = 1;
		rk = kmap_batch(BPF_MAP_DELETE_BATCH, k, NULL, NULL, kb, NULL, &c1, 0, 0);
		r2 = skep_map_delete_batch(s, kb, &c2, NULL);
		CHECK(rk == r2 && c1 == c2, t ? "hash_of_maps delete_batch" : "array_of_maps delete_batch", "kernel %d/%u skep %d/%u", rk, c1, r2, c2);
		c1 = c2 = 6;
		rk = kmap_batch(BPF_MAP_LOOKUP_AND_DELETE_BATCH, k, NULL, &o1, kb, vb, &c1, 0, 0);
		r2 = skep_map_lookup_and_delete_batch(s, NULL, &o2, kb, vb, &c2, NULL);
		CHECK(rk == r2 && c1 == c2, t ? "hash_of_maps lookup_and_delete_batch" : "array_of_maps lookup_and_delete_batch", "kernel %d/%u skep %d/%u", rk, c1, r2, c2);
		CHECK(differ == before, t ? "hash_of_maps sequence" : "array_of_maps sequence", "%d differences", differ - before);
		close(k);
		skep_map_close(s);
	}
	for (int i = 0; i < 3; i++) {
		close(kin[i]);
		skep_map_close(sin[i]);
	}
}

/* ---- what a bpf() call costs, for the report beside Skep's numbers in test_maps */
static void timing(void)
{
	int fd = kmap_create(BPF_MAP_TYPE_HASH, 4, 8, 1024, 0, 0);
	uint64_t v = 1;
	for (uint32_t k = 0; k < 1024; k++)
		kmap_update(fd, &k, &v, 0);
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (uint32_t k = 0; k < 100000; k++) {
		uint32_t kk = k & 1023;
		kmap_lookup(fd, &kk, &v, 0);
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("bench: kernel hash lookup through bpf(): %.1f ns\n",
	       ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / 100000);
	close(fd);
}

int main(void)
{
	ncpu = skep_num_possible_cpus();
	if (!kmap_available()) {
		t_skip("kernel maps", "bpf(BPF_MAP_CREATE) is not available here (need root)");
		return t_done();
	}
	creation();
	sequence("array", BPF_MAP_TYPE_ARRAY, 4, 12, 8, 0, 11, 600, 0);
	sequence("array frozen", BPF_MAP_TYPE_ARRAY, 4, 8, 8, 0, 10, 200, 1);
	sequence("percpu_array", BPF_MAP_TYPE_PERCPU_ARRAY, 4, 12, 6, 0, 8, 400, 0);
	sequence("hash", BPF_MAP_TYPE_HASH, 4, 12, 16, 0, 24, 1500, 0);
	sequence("hash key8", BPF_MAP_TYPE_HASH, 8, 8, 8, 0, 12, 800, 1);
	sequence("hash nopre", BPF_MAP_TYPE_HASH, 4, 16, 10, BPF_F_NO_PREALLOC, 16, 800, 0);
	sequence("hash key13", BPF_MAP_TYPE_HASH, 13, 3, 12, 0, 16, 800, 0);
	sequence("percpu_hash", BPF_MAP_TYPE_PERCPU_HASH, 4, 12, 10, 0, 16, 800, 0);
	/* LRU without pressure (room for every key) behaves as a hash map */
	sequence("lru_hash", BPF_MAP_TYPE_LRU_HASH, 4, 8, 256, 0, 16, 800, 0);
	sequence("lru_percpu_hash", BPF_MAP_TYPE_LRU_PERCPU_HASH, 4, 8, 256, 0, 16, 800, 0);
	sequence("lru no common", BPF_MAP_TYPE_LRU_HASH, 4, 8, 512, BPF_F_NO_COMMON_LRU, 16, 400, 0);
	sequence("array value 1", BPF_MAP_TYPE_ARRAY, 4, 1, 5, 0, 7, 300, 1);
	sequence("percpu_hash nopre", BPF_MAP_TYPE_PERCPU_HASH, 4, 4, 8, BPF_F_NO_PREALLOC, 12, 600, 0);
	sequence("hash key64", BPF_MAP_TYPE_HASH, 64, 100, 12, 0, 20, 600, 0);
	sequence("hash rdonly_prog", BPF_MAP_TYPE_HASH, 4, 8, 8, BPF_F_RDONLY_PROG, 12, 300, 1);
	batches();
	access_flags();
	queues();
	lpm();
	ringbuf();
	fd_like();
	map_in_map();
	timing();
	return t_done();
}
