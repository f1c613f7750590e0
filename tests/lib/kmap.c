#include "kmap.h"

#include <errno.h>
#include <linux/bpf.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static long sys_bpf(int cmd, union bpf_attr *a)
{
	long r = syscall(SYS_bpf, cmd, a, sizeof *a);
	return r < 0 ? -errno : r;
}

static uint64_t P(const void *p) { return (uint64_t)(uintptr_t)p; }

int kmap_create_inner(uint32_t type, uint32_t ks, uint32_t vs, uint32_t max, uint32_t flags, int inner)
{
	union bpf_attr a;
	memset(&a, 0, sizeof a);
	a.map_type = type;
	a.key_size = ks;
	a.value_size = vs;
	a.max_entries = max;
	a.map_flags = flags;
	a.inner_map_fd = (uint32_t)inner;
	return (int)sys_bpf(BPF_MAP_CREATE, &a);
}

int kmap_create(uint32_t type, uint32_t ks, uint32_t vs, uint32_t max, uint32_t flags, uint64_t extra)
{
	union bpf_attr a;
	memset(&a, 0, sizeof a);
	a.map_type = type;
	a.key_size = ks;
	a.value_size = vs;
	a.max_entries = max;
	a.map_flags = flags;
	a.map_extra = extra;
	return (int)sys_bpf(BPF_MAP_CREATE, &a);
}

static int elem(int cmd, int fd, const void *key, const void *value, uint64_t flags)
{
	union bpf_attr a;
	memset(&a, 0, sizeof a);
	a.map_fd = (uint32_t)fd;
	a.key = P(key);
	a.value = P(value);
	a.flags = flags;
	return (int)sys_bpf(cmd, &a);
}

int kmap_lookup(int fd, const void *k, void *v, uint64_t f) { return elem(BPF_MAP_LOOKUP_ELEM, fd, k, v, f); }
int kmap_update(int fd, const void *k, const void *v, uint64_t f) { return elem(BPF_MAP_UPDATE_ELEM, fd, k, v, f); }
int kmap_delete(int fd, const void *k) { return elem(BPF_MAP_DELETE_ELEM, fd, k, NULL, 0); }
int kmap_lookup_and_delete(int fd, const void *k, void *v, uint64_t f)
{
	return elem(BPF_MAP_LOOKUP_AND_DELETE_ELEM, fd, k, v, f);
}

int kmap_next_key(int fd, const void *key, void *next)
{
	union bpf_attr a;
	memset(&a, 0, sizeof a);
	a.map_fd = (uint32_t)fd;
	a.key = P(key);
	a.next_key = P(next);
	return (int)sys_bpf(BPF_MAP_GET_NEXT_KEY, &a);
}

int kmap_freeze(int fd)
{
	union bpf_attr a;
	memset(&a, 0, sizeof a);
	a.map_fd = (uint32_t)fd;
	return (int)sys_bpf(BPF_MAP_FREEZE, &a);
}

int kmap_batch(int cmd, int fd, void *in, void *out, void *keys, void *values, uint32_t *count,
	       uint64_t elem_flags, uint64_t flags)
{
	union bpf_attr a;
	memset(&a, 0, sizeof a);
	a.batch.map_fd = (uint32_t)fd;
	a.batch.in_batch = P(in);
	a.batch.out_batch = P(out);
	a.batch.keys = P(keys);
	a.batch.values = P(values);
	a.batch.count = *count;
	a.batch.elem_flags = elem_flags;
	a.batch.flags = flags;
	int r = (int)sys_bpf(cmd, &a);
	*count = a.batch.count;
	return r;
}

int kmap_available(void)
{
	int fd = kmap_create(BPF_MAP_TYPE_ARRAY, 4, 4, 1, 0, 0);
	if (fd < 0)
		return 0;
	close(fd);
	return 1;
}
