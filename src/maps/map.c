/* Maps: creation in shared memory, pinning, opening, closing, facts. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "maps/map.h"

static __thread char last_err[256];

int map_fail(struct skep_map *m, int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(m ? m->err : last_err, sizeof m->err, fmt, ap);
	va_end(ap);
	return err;
}

int attr_fail(char *buf, size_t n, int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, n, fmt, ap);
	va_end(ap);
	return err;
}

const char *skep_map_error(const skep_map *m) { return m ? m->err : last_err; }

/* ---- the family of each type */
static const struct map_ops *ops_of(uint32_t type)
{
	switch (type) {
	case SKEP_MAP_TYPE_HASH: return &map_hash_ops;
	case SKEP_MAP_TYPE_ARRAY: return &map_array_ops;
	case SKEP_MAP_TYPE_PROG_ARRAY: return &map_prog_array_ops;
	case SKEP_MAP_TYPE_PERF_EVENT_ARRAY: return &map_perf_array_ops;
	case SKEP_MAP_TYPE_PERCPU_HASH: return &map_percpu_hash_ops;
	case SKEP_MAP_TYPE_PERCPU_ARRAY: return &map_percpu_array_ops;
	case SKEP_MAP_TYPE_STACK_TRACE: return &map_stack_trace_ops;
	case SKEP_MAP_TYPE_LRU_HASH: return &map_lru_hash_ops;
	case SKEP_MAP_TYPE_LRU_PERCPU_HASH: return &map_lru_percpu_hash_ops;
	case SKEP_MAP_TYPE_LPM_TRIE: return &map_lpm_ops;
	case SKEP_MAP_TYPE_ARRAY_OF_MAPS: return &map_array_of_maps_ops;
	case SKEP_MAP_TYPE_HASH_OF_MAPS: return &map_hash_of_maps_ops;
	case SKEP_MAP_TYPE_QUEUE: return &map_queue_ops;
	case SKEP_MAP_TYPE_STACK: return &map_stack_ops;
	case SKEP_MAP_TYPE_RINGBUF: return &map_ringbuf_ops;
	case SKEP_MAP_TYPE_BLOOM_FILTER: return &map_bloom_ops;
	}
	return NULL;
}

/* Whether Skep implements map type (for skep feature probe). */
int skep_map_type_supported(uint32_t type) { return ops_of(type) != NULL; }

/* ---- shared memory */
const char *skep_map_pin_dir(void)
{
	const char *d = getenv("SKEP_PIN_DIR");
	return d && *d ? d : "/dev/shm";
}

static int pin_path(char *buf, size_t n, const char *name, char *err, size_t en)
{
	size_t len = name ? strlen(name) : 0;
	if (!len || len > 200 || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, ".."))
		return attr_fail(err, en, -EINVAL, "bad pin name '%s': 1..200 characters, no '/'",
				 name ? name : "(null)");
	snprintf(buf, n, "%s/skep-%s", skep_map_pin_dir(), name);
	return 0;
}

static int shm_create(uint64_t size, uint64_t prealloc)
{
	int fd = open(skep_map_pin_dir(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
#ifdef MFD_CLOEXEC
	if (fd < 0)
		fd = memfd_create("skep-map", MFD_CLOEXEC);  /* works, but cannot be pinned */
#endif
	if (fd < 0)
		return -errno;
	int e = ftruncate(fd, (off_t)size) < 0 ? -errno : 0;
	if (!e && prealloc && posix_fallocate(fd, 0, (off_t)prealloc))
		e = -ENOMEM;   /* memory is committed now, as the kernel preallocates */
	if (e) {
		close(fd);
		return e;
	}
	return fd;
}

/* Map [0,size) and, if dup_len, [dup_off, dup_off+dup_len) again right after it. */
static int shm_map(struct skep_map *m, int fd, uint64_t size, uint64_t dup_off, uint64_t dup_len)
{
	size_t total = size + dup_len;
	void *base = mmap(NULL, total, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED)
		return -errno;
	if (mmap(base, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0) == MAP_FAILED ||
	    (dup_len && mmap((char *)base + size, dup_len, PROT_READ | PROT_WRITE,
			     MAP_SHARED | MAP_FIXED, fd, (off_t)dup_off) == MAP_FAILED)) {
		int e = -errno;
		munmap(base, total);
		return e;
	}
	m->base = base;
	m->hdr = base;
	m->map_len = total;
	m->fd = fd;
	return 0;
}

static void fill_handle(struct skep_map *m)
{
	struct map_hdr *h = m->hdr;
	m->type = h->type;
	m->key_size = h->key_size;
	m->value_size = h->value_size;
	m->max_entries = h->max_entries;
	m->flags = h->map_flags;
	m->ncpus = h->ncpus;
	m->vsize8 = round8(h->value_size);
	m->ksize8 = round8(h->key_size);
	m->lock_off = h->lock_off;
	m->ops = ops_of(h->type);
	m->ops->attach(m);
}

static void handle_free(struct skep_map *m)
{
	if (m->ops && m->ops->detach)
		m->ops->detach(m);
	if (m->base)
		munmap(m->base, m->map_len);
	if (m->fd >= 0)
		close(m->fd);
	free(m);
}

static int name_ok(const char *name)
{
	if (!name)
		return 1;
	size_t i;
	for (i = 0; name[i] && i < MAP_NAME_LEN; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= 'A' && name[i] <= 'Z') ||
		      (name[i] >= '0' && name[i] <= '9') || name[i] == '_' || name[i] == '.'))
			return 0;
	return i < MAP_NAME_LEN;
}

skep_map *skep_map_create(uint32_t type, const char *name, uint32_t key_size, uint32_t value_size,
			  uint32_t max_entries, const struct skep_map_create_opts *opts)
{
	struct skep_map_create_opts o = { 0 };
	if (opts)
		memcpy(&o, opts, opts->sz && opts->sz < sizeof o ? opts->sz : sizeof o);
	const struct map_ops *ops = ops_of(type);
	int err = 0;
	if (!ops)
		err = attr_fail(last_err, sizeof last_err, -EINVAL, "unknown map type %u", type);
	else if (!name_ok(name))
		err = attr_fail(last_err, sizeof last_err, -EINVAL,
				"map name '%s': at most 15 characters of [A-Za-z0-9_.]", name);
	else if ((o.map_flags & SKEP_F_RDONLY) && (o.map_flags & SKEP_F_WRONLY))
		err = attr_fail(last_err, sizeof last_err, -EINVAL, "BPF_F_RDONLY and BPF_F_WRONLY together");
	else if ((o.map_flags & SKEP_F_RDONLY_PROG) && (o.map_flags & SKEP_F_WRONLY_PROG))
		err = attr_fail(last_err, sizeof last_err, -EINVAL,
				"BPF_F_RDONLY_PROG and BPF_F_WRONLY_PROG together");
	else if (o.map_extra && type != SKEP_MAP_TYPE_BLOOM_FILTER)
		err = attr_fail(last_err, sizeof last_err, -EINVAL, "map_extra is only for bloom filters");
	else if (o.has_spin_lock && (o.spin_lock_off % 4 || (uint64_t)o.spin_lock_off + 4 > value_size))
		err = attr_fail(last_err, sizeof last_err, -EINVAL,
				"bpf_spin_lock at %u does not fit a %u-byte value", o.spin_lock_off, value_size);
	else if (o.has_spin_lock && type != SKEP_MAP_TYPE_HASH && type != SKEP_MAP_TYPE_ARRAY &&
		 type != SKEP_MAP_TYPE_LRU_HASH)
		err = attr_fail(last_err, sizeof last_err, -ENOTSUPP,
				"bpf_spin_lock is only allowed in hash, array and LRU hash values");
	if (err) {
		errno = -err;
		return NULL;
	}
	struct map_attr a = {
		.type = type, .key_size = key_size, .value_size = value_size,
		.max_entries = max_entries, .map_flags = o.map_flags,
		.ncpus = (uint32_t)skep_num_possible_cpus(), .map_extra = o.map_extra,
		.lock_off = o.has_spin_lock ? o.spin_lock_off + 1 : 0, .perf_pages = o.perf_pages,
	};
	if (type == SKEP_MAP_TYPE_ARRAY_OF_MAPS || type == SKEP_MAP_TYPE_HASH_OF_MAPS) {
		const skep_map *in = o.inner_map;
		if (!in || in->type == SKEP_MAP_TYPE_ARRAY_OF_MAPS || in->type == SKEP_MAP_TYPE_HASH_OF_MAPS) {
			errno = EINVAL;
			map_fail(NULL, -EINVAL, in ? "maps of maps cannot be nested"
					      : "map-in-map needs an inner map template (inner_map)");
			return NULL;
		}
		if (in->type == SKEP_MAP_TYPE_PROG_ARRAY) {
			errno = ENOTSUPP;
			map_fail(NULL, -ENOTSUPP, "a prog array cannot be an inner map");
			return NULL;
		}
		uint32_t t[5] = { in->type, in->key_size, in->value_size, in->max_entries, in->flags };
		memcpy(a.inner, t, sizeof t);
	}
	if ((err = ops->check(&a, last_err, sizeof last_err))) {
		errno = -err;
		return NULL;
	}
	uint64_t dup_off = 0, dup_len = 0;
	uint64_t size = ops->layout(&a, &dup_off, &dup_len);
	if (!size || size > ((uint64_t)1 << 40)) {
		errno = E2BIG;
		map_fail(NULL, -E2BIG, "map of %u entries of %u+%u bytes is too large", max_entries,
			 key_size, value_size);
		return NULL;
	}
	struct skep_map *m = calloc(1, sizeof *m);
	if (!m) {
		errno = ENOMEM;
		map_fail(NULL, -ENOMEM, "out of memory");
		return NULL;
	}
	m->fd = -1;
	uint64_t lazy = ops->lazy ? ops->lazy(&a) : 0;
	int fd = shm_create(size, lazy ? lazy : size);
	if (fd < 0 || (err = shm_map(m, fd, size, dup_off, dup_len))) {
		err = fd < 0 ? fd : err;
		if (fd >= 0)
			close(fd);
		free(m);
		errno = -err;
		map_fail(NULL, err, "shared memory for the map: %s", strerror(-err));
		return NULL;
	}
	struct map_hdr *h = m->hdr;
	h->magic = MAP_MAGIC;
	h->version = MAP_VERSION;
	h->hdr_size = MAP_HDR_SIZE;
	h->type = type;
	h->key_size = a.key_size;
	h->value_size = a.value_size;
	h->max_entries = a.max_entries;
	h->map_flags = a.map_flags;
	h->ncpus = a.ncpus;
	h->map_extra = a.map_extra;
	h->size = size;
	h->dup_off = dup_off;
	h->dup_len = dup_len;
	h->uid = map_new_uid();
	h->lock_off = a.lock_off;
	h->perf_pages = a.perf_pages;
	memcpy(h->inner, a.inner, sizeof h->inner);
	if (name)
		strncpy(h->name, name, MAP_NAME_LEN - 1);
	m->ops = ops;
	fill_handle(m);
	if (ops->init)
		ops->init(m);
	__atomic_store_n(&h->ready, 1, __ATOMIC_RELEASE);
	if ((err = map_reg_add(m))) {
		handle_free(m);
		errno = -err;
		map_fail(NULL, err, "out of memory");
		return NULL;
	}
	return m;
}

/* The header's attributes pass the family's checks and give exactly this layout:
 * a damaged or foreign header is refused before anything trusts its offsets. */
static int hdr_consistent(const struct map_hdr *h)
{
	const struct map_ops *ops = ops_of(h->type);
	if (!ops || !h->ncpus || h->ncpus > 65536 || h->lock_off > h->value_size)
		return 0;
	struct map_attr a = {
		.type = h->type, .key_size = h->key_size, .value_size = h->value_size,
		.max_entries = h->max_entries, .map_flags = h->map_flags, .ncpus = h->ncpus,
		.map_extra = h->map_extra, .lock_off = h->lock_off, .perf_pages = h->perf_pages,
	};
	memcpy(a.inner, h->inner, sizeof a.inner);
	char err[128];
	uint64_t d = 0, l = 0;
	if (ops->check(&a, err, sizeof err) || a.max_entries != h->max_entries || a.perf_pages != h->perf_pages)
		return 0;
	return ops->layout(&a, &d, &l) == h->size && d == h->dup_off && l == h->dup_len;
}

static skep_map *open_fd(int fd, char *err, size_t en)
{
	struct stat st;
	struct map_hdr h;
	int e = 0;
	if (fstat(fd, &st) < 0)
		e = -errno;
	else if ((uint64_t)st.st_size < MAP_HDR_SIZE || pread(fd, &h, sizeof h, 0) != (ssize_t)sizeof h)
		e = attr_fail(err, en, -EINVAL, "not a Skep map (too small)");
	else if (h.magic != MAP_MAGIC)
		e = attr_fail(err, en, -EINVAL, "not a Skep map (bad magic)");
	else if (h.version != MAP_VERSION || h.hdr_size != MAP_HDR_SIZE)
		e = attr_fail(err, en, -EINVAL, "Skep map version %u, this library reads %u",
			      h.version, MAP_VERSION);
	else if (h.size != (uint64_t)st.st_size || !hdr_consistent(&h))
		e = attr_fail(err, en, -EINVAL, "Skep map header is inconsistent (type %u, size %llu)",
			      h.type, (unsigned long long)h.size);
	else if (!__atomic_load_n(&h.ready, __ATOMIC_ACQUIRE))
		e = attr_fail(err, en, -EAGAIN, "map is still being created");
	if (e) {
		errno = -e;
		return NULL;
	}
	struct skep_map *m = calloc(1, sizeof *m);
	if (!m) {
		errno = ENOMEM;
		return NULL;
	}
	m->fd = -1;
	if ((e = shm_map(m, fd, h.size, h.dup_off, h.dup_len))) {
		free(m);
		errno = -e;
		attr_fail(err, en, e, "mapping the map: %s", strerror(-e));
		return NULL;
	}
	fill_handle(m);
	if ((e = map_reg_add(m))) {
		m->fd = -1;
		handle_free(m);
		errno = -e;
		return NULL;
	}
	return m;
}

skep_map *skep_map_open_pinned(const char *name)
{
	char path[512];
	int e = pin_path(path, sizeof path, name, last_err, sizeof last_err);
	if (e) {
		errno = -e;
		return NULL;
	}
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		e = errno;
		map_fail(NULL, -e, "no map pinned as '%s' (%s): %s", name, path, strerror(e));
		errno = e;
		return NULL;
	}
	skep_map *m = open_fd(fd, last_err, sizeof last_err);
	if (!m) {
		e = errno;
		close(fd);
		errno = e;
	}
	return m;
}

skep_map *skep_map_dup(const skep_map *map)
{
	int fd = fcntl(map->fd, F_DUPFD_CLOEXEC, 0);
	if (fd < 0)
		return NULL;
	skep_map *m = open_fd(fd, last_err, sizeof last_err);
	if (!m)
		close(fd);
	return m;
}

void skep_map_close(skep_map *m)
{
	if (!m)
		return;
	map_reg_del(m);
	handle_free(m);
}

int skep_map_pin(skep_map *m, const char *name)
{
	char path[512], proc[64];
	int e = pin_path(path, sizeof path, name, m->err, sizeof m->err);
	if (e)
		return e;
	snprintf(proc, sizeof proc, "/proc/self/fd/%d", m->fd);
	if (linkat(AT_FDCWD, proc, AT_FDCWD, path, AT_SYMLINK_FOLLOW) == 0)
		return 0;
	e = errno;
	if (e != EEXIST && linkat(m->fd, "", AT_FDCWD, path, AT_EMPTY_PATH) == 0)
		return 0;
	if (e == EEXIST)
		return map_fail(m, -EEXIST, "pin '%s' exists (%s)", name, path);
	return map_fail(m, -e, "cannot pin as %s: %s", path, strerror(e));
}

int skep_map_unpin(const char *name)
{
	char path[512];
	int e = pin_path(path, sizeof path, name, last_err, sizeof last_err);
	if (e)
		return e;
	if (unlink(path) < 0)
		return map_fail(NULL, -errno, "unpin %s: %s", path, strerror(errno));
	return 0;
}

/* ---- facts */
int skep_map_get_info(const skep_map *m, struct skep_map_info *info)
{
	memset(info, 0, sizeof *info);
	info->type = m->type;
	info->id = m->hdr->uid;
	info->key_size = m->key_size;
	info->value_size = m->value_size;
	info->max_entries = m->max_entries;
	info->map_flags = m->flags;
	info->map_extra = m->hdr->map_extra;
	info->frozen = __atomic_load_n(&m->hdr->frozen, __ATOMIC_RELAXED);
	info->ncpus = m->ncpus;
	memcpy(info->name, m->hdr->name, MAP_NAME_LEN);
	info->name[MAP_NAME_LEN - 1] = 0;
	return 0;
}
uint32_t skep_map_type(const skep_map *m) { return m->type; }
uint32_t skep_map_key_size(const skep_map *m) { return m->key_size; }
uint32_t skep_map_value_size(const skep_map *m) { return m->value_size; }
uint32_t skep_map_max_entries(const skep_map *m) { return m->max_entries; }
uint32_t skep_map_id(const skep_map *m) { return m->id; }
uint32_t skep_map_uid(const skep_map *m) { return m->hdr->uid; }
int skep_map_fd(const skep_map *m) { return m->fd; }
