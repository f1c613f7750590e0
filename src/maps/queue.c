/* QUEUE (FIFO) and STACK (LIFO): a ring of max_entries + 1 value slots under one
 * robust lock, as the kernel's queue_stack_maps.c.  Keys are absent (key_size 0);
 * BPF_EXIST on a full map overwrites the oldest element. */
#include <string.h>

#include "maps/map.h"

struct qs_ctl {
	map_lock_t lock;
	uint32_t head, tail, size;
};

#define QS_FLAGS (SKEP_F_NUMA_NODE | SKEP_F_RDONLY | SKEP_F_WRONLY | SKEP_F_RDONLY_PROG | SKEP_F_WRONLY_PROG)

static int qs_check(struct map_attr *a, char *err, size_t n)
{
	if (!a->max_entries || a->key_size || !a->value_size || (a->map_flags & ~QS_FLAGS))
		return attr_fail(err, n, -EINVAL,
				 "queue/stack: key_size must be 0 (is %u), value_size and max_entries > 0, "
				 "flags 0x%x", a->key_size, a->map_flags);
	if (a->value_size > (1u << 22))
		return attr_fail(err, n, -E2BIG, "queue/stack: value_size %u too large", a->value_size);
	return 0;
}

static uint64_t qs_layout(const struct map_attr *a, uint64_t *d, uint64_t *l)
{
	return MAP_HDR_SIZE + 64 + ((uint64_t)a->max_entries + 1) * a->value_size;
}

static void qs_attach(struct skep_map *m)
{
	m->ctl = m->base + MAP_HDR_SIZE;
	m->data = m->base + MAP_HDR_SIZE + 64;
}

static void qs_init(struct skep_map *m) { ((struct qs_ctl *)m->ctl)->size = m->max_entries + 1; }

static int qs_push(struct skep_map *m, const void *value, uint64_t flags)
{
	struct qs_ctl *q = m->ctl;
	if ((flags & SKEP_NOEXIST) || flags > SKEP_EXIST)
		return map_fail(m, -EINVAL, "push flags 0x%llx: BPF_ANY or BPF_EXIST", (unsigned long long)flags);
	map_lock(&q->lock);
	uint32_t h = q->head + 1 >= q->size ? 0 : q->head + 1;
	if (h == q->tail) {
		if (!(flags & SKEP_EXIST)) {
			map_unlock(&q->lock);
			return map_fail(m, -E2BIG, "%s is full", m->ops->name);
		}
		q->tail = q->tail + 1 >= q->size ? 0 : q->tail + 1;
	}
	memcpy(m->data + (size_t)q->head * m->value_size, value, m->value_size);
	__atomic_store_n(&q->head, h, __ATOMIC_RELEASE);
	map_unlock(&q->lock);
	return 0;
}

/* Programs get a zeroed value from an empty map; bpf() leaves the caller's buffer. */
static int qs_do(struct skep_map *m, void *value, int peek, int zero)
{
	struct qs_ctl *q = m->ctl;
	map_lock(&q->lock);
	if (q->head == q->tail) {
		map_unlock(&q->lock);
		if (zero)
			memset(value, 0, m->value_size);
		return map_fail(m, -ENOENT, "%s is empty", m->ops->name);
	}
	uint32_t i;
	if (m->type == SKEP_MAP_TYPE_QUEUE) {
		i = q->tail;
		if (!peek)
			q->tail = i + 1 >= q->size ? 0 : i + 1;
	} else {
		i = q->head ? q->head - 1 : q->size - 1;
		if (!peek)
			q->head = i;
	}
	memcpy(value, m->data + (size_t)i * m->value_size, m->value_size);
	map_unlock(&q->lock);
	return 0;
}

static int qs_pop(struct skep_map *m, void *value, int peek) { return qs_do(m, value, peek, 1); }
static int qs_lookup(struct skep_map *m, const void *key, void *value, uint64_t flags) { return qs_do(m, value, 1, 0); }
static int qs_update(struct skep_map *m, const void *key, const void *value, uint64_t flags) { return qs_push(m, value, flags); }
static int qs_lad(struct skep_map *m, const void *key, void *value, uint64_t flags) { return qs_do(m, value, 0, 0); }
static int qs_delete(struct skep_map *m, const void *key) { return map_fail(m, -EINVAL, "queue/stack: use pop"); }
static int qs_next(struct skep_map *m, const void *key, void *next) { return map_fail(m, -EINVAL, "queue/stack have no keys"); }

#define QS_OPS .check = qs_check, .layout = qs_layout, .init = qs_init, .attach = qs_attach, \
	.lookup = qs_lookup, .update = qs_update, .delete = qs_delete, .next_key = qs_next, \
	.lookup_and_delete = qs_lad, .push = qs_push, .pop = qs_pop
const struct map_ops map_queue_ops = { .name = "queue", QS_OPS };
const struct map_ops map_stack_ops = { .name = "stack", QS_OPS };
