/* PERF_EVENT_ARRAY: one perf ring per index ("CPU"), in the map's shared memory.
 * Each ring is a control page laid out as perf_event_mmap_page (data_head at 1024,
 * data_tail at 1032, data_offset, data_size) followed by a power-of-2 data area that
 * holds perf records: PERF_RECORD_SAMPLE { header; u32 size; raw data padded so the
 * record is 8-byte aligned } and PERF_RECORD_LOST { header; u64 id; u64 lost }, as
 * libbpf's perf_buffer reads them.  In the kernel an index holds a perf event fd;
 * here an index is "enabled" (update, or a consumer attaching) or not (-ENOENT on
 * output).  Producers of one ring serialise on its robust lock (two threads may share
 * a CPU slot in user space); the consumer takes no lock. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "maps/map.h"

#define PERF_RECORD_LOST 2
#define PERF_RECORD_SAMPLE 9

struct perf_ctl {
	uint32_t wake_seq, waiters, pages, pad;
	uint64_t rings_off, ring_size;   /* first ring and bytes per ring (control page + data) */
};

/* The control page of one ring: our fields first, perf's where perf has them. */
struct perf_page {
	uint32_t enabled;
	map_lock_t lock;
	uint64_t lost;
	uint8_t pad[1024 - 16];
	uint64_t data_head, data_tail, data_offset, data_size;
};

struct perf_hdr {
	uint32_t type;
	uint16_t misc, size;
};

static inline uint64_t pg(void) { return map_page_size(); }

static int perf_check(struct map_attr *a, char *err, size_t n)
{
	if (a->value_size != 4 || a->key_size != 4 || !a->max_entries)
		return attr_fail(err, n, -EINVAL, "perf event array: key_size and value_size 4, max_entries > 0");
	if (a->map_flags & ~(SKEP_F_NUMA_NODE | SKEP_F_RDONLY | SKEP_F_WRONLY | SKEP_F_PRESERVE_ELEMS))
		return attr_fail(err, n, -EINVAL, "perf event array: map flags 0x%x", a->map_flags);
	if (!a->perf_pages)
		a->perf_pages = 8;
	if (a->perf_pages & (a->perf_pages - 1) || a->perf_pages > 4096)
		return attr_fail(err, n, -EINVAL, "perf_pages %u: a power of 2 up to 4096", a->perf_pages);
	return 0;
}

static uint64_t ring_size(uint32_t pages) { return (1 + (uint64_t)pages) * pg(); }

static uint64_t perf_layout(const struct map_attr *a, uint64_t *d, uint64_t *l)
{
	return pg() + (uint64_t)a->max_entries * ring_size(a->perf_pages);
}

static void perf_attach(struct skep_map *m)
{
	m->ctl = m->base + MAP_HDR_SIZE;
	m->data = m->base + pg();
}

static void perf_init(struct skep_map *m)
{
	struct perf_ctl *c = m->ctl;
	c->pages = m->hdr->perf_pages;
	c->rings_off = pg();
	c->ring_size = ring_size(c->pages);
	for (uint32_t i = 0; i < m->max_entries; i++) {
		struct perf_page *p = (struct perf_page *)(m->data + i * c->ring_size);
		p->data_offset = pg();
		p->data_size = (uint64_t)c->pages * pg();
	}
}

static inline struct perf_page *ring(struct skep_map *m, uint32_t i)
{
	return (struct perf_page *)(m->data + i * ((struct perf_ctl *)m->ctl)->ring_size);
}

static void put(struct perf_page *p, uint64_t pos, const void *src, uint64_t n)
{
	uint8_t *d = (uint8_t *)p + p->data_offset;
	uint64_t off = pos & (p->data_size - 1), first = p->data_size - off < n ? p->data_size - off : n;
	memcpy(d + off, src, first);
	memcpy(d, (const uint8_t *)src + first, n - first);
}

int map_perf_output(struct skep_map *m, uint64_t flags, const void *data, uint64_t size)
{
	if (m->type != SKEP_MAP_TYPE_PERF_EVENT_ARRAY || (flags & ~SKEP_F_INDEX_MASK))
		return -EINVAL;
	uint64_t idx = flags & SKEP_F_INDEX_MASK;
	if (idx == SKEP_F_CURRENT_CPU)
		idx = map_cpu(m);
	if (idx >= m->max_entries)
		return -E2BIG;
	struct perf_page *p = ring(m, (uint32_t)idx);
	if (!__atomic_load_n(&p->enabled, __ATOMIC_ACQUIRE))
		return -ENOENT;
	uint64_t raw = ((size + 4 + 7) & ~7ull) - 4, total = sizeof(struct perf_hdr) + 4 + raw;
	if (total > 0xffff)
		return -E2BIG;
	map_lock(&p->lock);
	uint64_t head = p->data_head, tail = __atomic_load_n(&p->data_tail, __ATOMIC_ACQUIRE);
	if (p->lost && p->data_size - (head - tail) >= 24 + total) {
		struct { struct perf_hdr h; uint64_t id, lost; } l = { { PERF_RECORD_LOST, 0, 24 }, 0, p->lost };
		put(p, head, &l, sizeof l);
		head += sizeof l;
		p->lost = 0;
	}
	int ret = 0;
	if (p->data_size - (head - tail) < total) {
		p->lost++;
		ret = -ENOSPC;
	} else {
		struct { struct perf_hdr h; uint32_t size; } s = { { PERF_RECORD_SAMPLE, 0, (uint16_t)total }, (uint32_t)raw };
		put(p, head, &s, sizeof s);
		put(p, head + sizeof s, data, size);
		static const uint8_t zero[8];
		put(p, head + sizeof s + size, zero, raw - size);
		head += total;
	}
	__atomic_store_n(&p->data_head, head, __ATOMIC_RELEASE);
	map_unlock(&p->lock);
	struct perf_ctl *c = m->ctl;
	if (!ret && __atomic_load_n(&c->waiters, __ATOMIC_SEQ_CST))
		map_wake(&c->wake_seq);
	return ret;
}

/* ---- host side: an index is enabled by an update, as the kernel stores an event fd */
static int perf_update(struct skep_map *m, const void *key, const void *value, uint64_t flags)
{
	uint32_t i = k32(key);
	if (flags != SKEP_ANY)
		return map_fail(m, -EINVAL, "update flags must be BPF_ANY");
	if (i >= m->max_entries)
		return map_fail(m, -E2BIG, "index %u out of range (max_entries %u)", i, m->max_entries);
	__atomic_store_n(&ring(m, i)->enabled, 1, __ATOMIC_RELEASE);
	return 0;
}

static int perf_delete(struct skep_map *m, const void *key)
{
	uint32_t i = k32(key);
	if (i >= m->max_entries)
		return map_fail(m, -E2BIG, "index %u out of range (max_entries %u)", i, m->max_entries);
	if (!__atomic_exchange_n(&ring(m, i)->enabled, 0, __ATOMIC_ACQ_REL))
		return map_fail(m, -ENOENT, "no event at index %u", i);
	return 0;
}

static int perf_lookup(struct skep_map *m, const void *key, void *value, uint64_t flags)
{
	return map_fail(m, -ENOTSUPP, "perf event arrays cannot be read from the host");
}

int map_array_next_key(struct skep_map *m, const void *key, void *next);

const struct map_ops map_perf_array_ops = {
	.name = "perf_event_array", .check = perf_check, .layout = perf_layout, .init = perf_init,
	.attach = perf_attach, .lookup = perf_lookup, .update = perf_update, .delete = perf_delete,
	.next_key = map_array_next_key,
};

/* ---- the consumer, like libbpf's perf_buffer */
struct skep_perfbuf_consumer {
	skep_map *m;
	skep_perfbuf_sample_fn sample;
	skep_perfbuf_lost_fn lost;
	void *ctx;
	uint8_t *buf;   /* a record that wraps is copied here */
};

skep_perfbuf_consumer *skep_perfbuf_consumer_new(skep_map *m, skep_perfbuf_sample_fn sample_cb,
						 skep_perfbuf_lost_fn lost_cb, void *ctx)
{
	if (m->type != SKEP_MAP_TYPE_PERF_EVENT_ARRAY) {
		map_fail(m, -EINVAL, "map %s is not a perf event array", m->hdr->name);
		errno = EINVAL;
		return NULL;
	}
	skep_perfbuf_consumer *pb = calloc(1, sizeof *pb);
	uint8_t *buf = malloc(0x10000);
	if (!pb || !buf) {
		free(pb);
		free(buf);
		errno = ENOMEM;
		return NULL;
	}
	*pb = (skep_perfbuf_consumer){ m, sample_cb, lost_cb, ctx, buf };
	for (uint32_t i = 0; i < m->max_entries; i++)
		__atomic_store_n(&ring(m, i)->enabled, 1, __ATOMIC_RELEASE);
	return pb;
}

void skep_perfbuf_consumer_free(skep_perfbuf_consumer *pb)
{
	if (!pb)
		return;
	for (uint32_t i = 0; i < pb->m->max_entries; i++)
		__atomic_store_n(&ring(pb->m, i)->enabled, 0, __ATOMIC_RELEASE);
	free(pb->buf);
	free(pb);
}

static int drain(skep_perfbuf_consumer *pb, uint32_t cpu)
{
	struct perf_page *p = ring(pb->m, cpu);
	uint8_t *d = (uint8_t *)p + p->data_offset;
	uint64_t head = __atomic_load_n(&p->data_head, __ATOMIC_ACQUIRE), tail = p->data_tail, mask = p->data_size - 1;
	int n = 0;
	while (tail < head) {
		struct perf_hdr h;
		uint64_t off = tail & mask;
		uint8_t *rec = d + off;
		if (off + sizeof h > p->data_size || off + ((struct perf_hdr *)rec)->size > p->data_size) {
			/* wraps: copy it out (header first, it may wrap too) */
			uint64_t first = p->data_size - off < sizeof h ? p->data_size - off : sizeof h;
			memcpy(&h, rec, first);
			memcpy((uint8_t *)&h + first, d, sizeof h - first);
			first = p->data_size - off < h.size ? p->data_size - off : h.size;
			memcpy(pb->buf, rec, first);
			memcpy(pb->buf + first, d, h.size - first);
			rec = pb->buf;
		}
		memcpy(&h, rec, sizeof h);
		if (!h.size)
			break;   /* cannot happen with a sane producer; never loop forever */
		if (h.type == PERF_RECORD_SAMPLE && pb->sample) {
			uint32_t sz;
			memcpy(&sz, rec + sizeof h, 4);
			pb->sample(pb->ctx, (int)cpu, rec + sizeof h + 4, sz);
		} else if (h.type == PERF_RECORD_LOST && pb->lost) {
			uint64_t cnt;
			memcpy(&cnt, rec + sizeof h + 8, 8);
			pb->lost(pb->ctx, (int)cpu, cnt);
		}
		tail += h.size;
		n++;
	}
	__atomic_store_n(&p->data_tail, tail, __ATOMIC_RELEASE);
	return n;
}

int skep_perfbuf_consumer_consume(skep_perfbuf_consumer *pb)
{
	int n = 0;
	for (uint32_t i = 0; i < pb->m->max_entries; i++)
		n += drain(pb, i);
	return n;
}

static int pending(skep_perfbuf_consumer *pb)
{
	for (uint32_t i = 0; i < pb->m->max_entries; i++) {
		struct perf_page *p = ring(pb->m, i);
		if (__atomic_load_n(&p->data_head, __ATOMIC_ACQUIRE) != p->data_tail)
			return 1;
	}
	return 0;
}

int skep_perfbuf_consumer_poll(skep_perfbuf_consumer *pb, int timeout_ms)
{
	struct perf_ctl *c = pb->m->ctl;
	int n = skep_perfbuf_consumer_consume(pb);
	if (n || !timeout_ms)
		return n;
	uint32_t seen = __atomic_load_n(&c->wake_seq, __ATOMIC_ACQUIRE);
	__atomic_fetch_add(&c->waiters, 1, __ATOMIC_SEQ_CST);
	int e = pending(pb) ? 0 : map_wait(&c->wake_seq, seen, timeout_ms);
	__atomic_fetch_sub(&c->waiters, 1, __ATOMIC_SEQ_CST);
	if (e == -EINTR)
		return -EINTR;
	return skep_perfbuf_consumer_consume(pb);
}
