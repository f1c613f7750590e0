/* The kernel's maps through the bpf() syscall, for tests that compare Skep's maps
 * with them.  Every call returns >= 0 or a negative errno. */
#ifndef SKEP_TEST_KMAP_H
#define SKEP_TEST_KMAP_H

#include <stdint.h>

int kmap_create(uint32_t type, uint32_t key_size, uint32_t value_size, uint32_t max_entries,
		uint32_t flags, uint64_t map_extra);
/* Hash/array of maps with inner_fd as template. */
int kmap_create_inner(uint32_t type, uint32_t key_size, uint32_t value_size, uint32_t max_entries,
		      uint32_t flags, int inner_fd);
int kmap_lookup(int fd, const void *key, void *value, uint64_t flags);
int kmap_update(int fd, const void *key, const void *value, uint64_t flags);
int kmap_delete(int fd, const void *key);
int kmap_next_key(int fd, const void *key, void *next);
int kmap_lookup_and_delete(int fd, const void *key, void *value, uint64_t flags);
int kmap_freeze(int fd);
/* cmd: BPF_MAP_LOOKUP_BATCH, BPF_MAP_LOOKUP_AND_DELETE_BATCH, BPF_MAP_UPDATE_BATCH,
 * BPF_MAP_DELETE_BATCH. */
int kmap_batch(int cmd, int fd, void *in_batch, void *out_batch, void *keys, void *values,
	       uint32_t *count, uint64_t elem_flags, uint64_t flags);
/* 1 if this process can create kernel maps (root, bpf() available). */
int kmap_available(void);

#endif
