/* Shared by the families: the per-CPU slot of a thread, value copies that respect a
 * bpf_spin_lock, and the hash function. */
#include <fcntl.h>
#include <sched.h>
#include <unistd.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "maps/map.h"

/* ---- possible CPUs, as libbpf_num_possible_cpus(): /sys/devices/system/cpu/possible */
static int ncpus_cached;

static int parse_possible(void)
{
	FILE *f = fopen("/sys/devices/system/cpu/possible", "r");
	if (!f)
		return -1;
	char buf[256];
	int n = -1;
	if (fgets(buf, sizeof buf, f)) {
		n = 0;
		for (char *p = buf; *p && *p != '\n';) {
			char *e;
			long a = strtol(p, &e, 10), b = a;
			if (e == p)
				break;
			if (*e == '-')
				b = strtol(e + 1, &e, 10);
			n += (int)(b - a + 1);
			p = *e == ',' ? e + 1 : e;
		}
	}
	fclose(f);
	return n;
}

int skep_num_possible_cpus(void)
{
	int n = __atomic_load_n(&ncpus_cached, __ATOMIC_RELAXED);
	if (n > 0)
		return n;
	n = parse_possible();
	if (n <= 0)
		n = (int)sysconf(_SC_NPROCESSORS_CONF);
	if (n <= 0)
		n = 1;
	__atomic_store_n(&ncpus_cached, n, __ATOMIC_RELAXED);
	return n;
}

uint32_t map_cpu(const struct skep_map *m)
{
	int c = sched_getcpu();
	return c < 0 ? 0 : (uint32_t)c % m->ncpus;
}

/* ---- values with a bpf_spin_lock: copies skip the lock word */
void map_copy_value(const struct skep_map *m, void *dst, const void *src)
{
	if (!m->lock_off) {
		memcpy(dst, src, m->value_size);
		return;
	}
	uint32_t off = m->lock_off - 1;
	memcpy(dst, src, off);
	memcpy((char *)dst + off + 4, (const char *)src + off + 4, m->value_size - off - 4);
}

void map_value_out(const struct skep_map *m, void *dst, void *src, int lock)
{
	if (!m->lock_off) {
		memcpy(dst, src, m->value_size);
		return;
	}
	map_lock_t *l = (map_lock_t *)((char *)src + m->lock_off - 1);
	if (lock)
		map_lock(l);
	map_copy_value(m, dst, src);
	if (lock)
		map_unlock(l);
	memset((char *)dst + m->lock_off - 1, 0, 4);
}

void map_value_in(const struct skep_map *m, void *dst, const void *src, int lock)
{
	map_lock_t *l = (map_lock_t *)((char *)dst + m->lock_off - 1);
	if (lock && m->lock_off)
		map_lock(l);
	map_copy_value(m, dst, src);
	if (lock && m->lock_off)
		map_unlock(l);
}

/* murmur3-style mixing: fast for 4- and 8-byte keys, fine for any length. */
uint32_t map_hash(const void *key, uint32_t len, uint32_t seed)
{
	const uint8_t *p = key;
	uint64_t h = seed ^ ((uint64_t)len * 0x9e3779b97f4a7c15ULL);
	for (; len >= 8; len -= 8, p += 8) {
		uint64_t k;
		memcpy(&k, p, 8);
		h = (h ^ (k * 0xff51afd7ed558ccdULL)) * 0xc4ceb9fe1a85ec53ULL;
		h ^= h >> 29;
	}
	if (len) {
		uint64_t k = 0;
		memcpy(&k, p, len);
		h = (h ^ (k * 0xff51afd7ed558ccdULL)) * 0xc4ceb9fe1a85ec53ULL;
	}
	h ^= h >> 32;
	h *= 0x9e3779b97f4a7c15ULL;
	return (uint32_t)(h >> 32);
}

int map_reserve(struct skep_map *m, uint64_t *reserved, uint64_t end)
{
	uint64_t r = __atomic_load_n(reserved, __ATOMIC_ACQUIRE);
	if (end <= r)
		return 0;
	uint64_t to = (end + 0xffff) & ~0xffffull;
	if (to > m->hdr->size)
		to = m->hdr->size;
	if (posix_fallocate(m->fd, (off_t)r, (off_t)(to - r)))
		return -ENOMEM;
	__atomic_store_n(reserved, to, __ATOMIC_RELEASE);
	return 0;
}

/* sysconf is a libc call; ring buffer producers need the page size per record */
uint64_t map_page_size(void)
{
	static uint64_t pg;
	uint64_t v = __atomic_load_n(&pg, __ATOMIC_RELAXED);
	if (!v) {
		v = (uint64_t)sysconf(_SC_PAGESIZE);
		__atomic_store_n(&pg, v, __ATOMIC_RELAXED);
	}
	return v;
}
