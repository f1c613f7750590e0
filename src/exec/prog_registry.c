/* The process's program registry: ids as the kernel's prog ids (the "prog fd" a
 * PROG_ARRAY update takes, what a lookup returns), and the tail-call tables.
 *
 * A PROG_ARRAY map stores program ids in shared memory; ids only mean something in the
 * process that loaded the programs. The engines follow a struct skep_prog_array (exec.h),
 * so each PROG_ARRAY this process uses has a shadow here, one per map (by global uid),
 * shared by every handle that needs it (a program's handle: its lddw resolves to the
 * shadow; a handle the host updates through). Updates and deletes write the map's slot
 * and the shadow under one lock; a shadow created late is filled from the map's ids.
 * A program freed while in an array leaves it (slot and shadow), as if deleted. As in
 * the kernel, a table has an owner program type (the first program that references it
 * or is inserted) and refuses programs of another type. On x86-64 a program is
 * JIT-compiled when inserted, so a JIT caller finds native code there. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "exec.h"
#include "maps/map.h"

struct shadow {
	struct skep_prog_array arr;     /* first: the engines' view (lddw resolves here) */
	struct shadow *next;
	uint32_t uid;
	uint32_t owner;                 /* program type + 1, 0 = none yet */
	struct skep_map **holders;      /* handles whose priv points here */
	uint32_t nholders;
	struct skep_prog *slots[];
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct skep_prog **progs;   /* sorted by id (ids only grow) */
static size_t nprogs, cap;
static uint32_t next_id = 1;
static struct shadow *shadows;

static size_t find(uint32_t id)   /* index of the first entry with id >= id */
{
	size_t lo = 0, hi = nprogs;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (progs[mid]->id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static struct skep_prog *by_id(uint32_t id)
{
	size_t i = find(id);
	return i < nprogs && progs[i]->id == id ? progs[i] : NULL;
}

int prog_reg_add(struct skep_prog *p)
{
	if (p->id)
		return 0;
	pthread_mutex_lock(&lock);
	int err = 0;
	if (nprogs == cap) {
		size_t c = cap ? cap * 2 : 16;
		struct skep_prog **n = realloc(progs, c * sizeof *n);
		if (!n)
			err = -ENOMEM;
		else
			progs = n, cap = c;
	}
	if (!err) {
		p->id = next_id++;
		progs[nprogs++] = p;
	}
	pthread_mutex_unlock(&lock);
	return err ? prog_fail(p, err, "out of memory registering the program") : 0;
}

static uint32_t *slot_word(struct shadow *s, uint32_t i)
{
	struct skep_map *m = s->holders[0];
	return (uint32_t *)(m->data + (size_t)i * m->esize);
}

void prog_reg_del(struct skep_prog *p)
{
	if (!p->id)
		return;
	pthread_mutex_lock(&lock);
	size_t i = find(p->id);
	if (i < nprogs && progs[i] == p)
		memmove(progs + i, progs + i + 1, (--nprogs - i) * sizeof *progs);
	for (struct shadow *s = shadows; s; s = s->next)
		for (uint32_t k = 0; k < s->arr.max_entries; k++)
			if (s->slots[k] == p) {
				uint32_t id = p->id;
				__atomic_store_n(&s->slots[k], NULL, __ATOMIC_RELEASE);
				__atomic_compare_exchange_n(slot_word(s, k), &id, 0, 0, __ATOMIC_ACQ_REL,
							    __ATOMIC_RELAXED);
			}
	pthread_mutex_unlock(&lock);
	p->id = 0;
}

uint32_t skep_prog_id(const skep_prog *p) { return p->id; }

skep_prog *skep_prog_by_id(uint32_t id)
{
	pthread_mutex_lock(&lock);
	struct skep_prog *p = by_id(id);
	pthread_mutex_unlock(&lock);
	return p;
}

/* m's shadow, created (and filled from the map's ids) on first use; m becomes a holder.
 * Under the lock. NULL when out of memory. */
static struct shadow *shadow_of(struct skep_map *m)
{
	if (m->priv)
		return m->priv;
	struct shadow *s;
	for (s = shadows; s && s->uid != m->hdr->uid; s = s->next)
		;
	if (!s) {
		s = calloc(1, sizeof *s + (size_t)m->max_entries * sizeof s->slots[0]);
		if (!s)
			return NULL;
		s->uid = m->hdr->uid;
		s->arr.max_entries = m->max_entries;
		s->arr.progs = s->slots;
		for (uint32_t k = 0; k < m->max_entries; k++) {
			uint32_t id = map_prog_array_get(m, k);
			s->slots[k] = id ? by_id(id) : NULL;
			if (s->slots[k] && !s->owner)
				s->owner = s->slots[k]->type + 1;
		}
		s->next = shadows;
		shadows = s;
	}
	struct skep_map **h = realloc(s->holders, (s->nholders + 1) * sizeof *h);
	if (!h) {
		if (!s->nholders) {
			shadows = s->next;
			free(s);
		}
		return NULL;
	}
	h[s->nholders++] = m;
	s->holders = h;
	m->priv = s;
	return s;
}

static int owner_ok(struct shadow *s, uint32_t type)
{
	if (!s->owner)
		s->owner = type + 1;
	return s->owner == type + 1;
}

const struct skep_prog_array *prog_array_use(struct skep_map *m, uint32_t type, int *err)
{
	pthread_mutex_lock(&lock);
	struct shadow *s = shadow_of(m);
	*err = !s ? -ENOMEM : !owner_ok(s, type) ? -EINVAL : 0;
	pthread_mutex_unlock(&lock);
	return *err ? NULL : &s->arr;
}

const struct skep_prog_array *prog_array_shadow(const struct skep_map *m)
{
	return m->type == SKEP_MAP_TYPE_PROG_ARRAY ? m->priv : NULL;
}

int prog_array_update(struct skep_map *m, uint32_t idx, uint32_t id)
{
	pthread_mutex_lock(&lock);
	int err = 0;
	struct skep_prog *p = by_id(id);
	struct shadow *s = NULL;
	if (!p || !p->insns)
		err = map_fail(m, -EBADF, "no loaded program with id %u in this process", id);
	else if (!(s = shadow_of(m)))
		err = map_fail(m, -ENOMEM, "out of memory for the tail-call table");
	else if (!owner_ok(s, p->type))
		err = map_fail(m, -EINVAL, "program %u is of type %u, the prog array's programs of type %u",
			       id, p->type, s->owner - 1);
#if defined(__x86_64__)
	/* JIT callers jump to native code (an unverified program has none: they fall through) */
	else if (p->verification != SKEP_PROG_UNVERIFIED && (err = prog_jit(p)))
		map_fail(m, err, "program %u cannot be JIT-compiled for tail calls: %s", id, p->err);
#endif
	if (!err) {
		__atomic_store_n(&s->slots[idx], p, __ATOMIC_RELEASE);
		__atomic_store_n(slot_word(s, idx), id, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&lock);
	return err;
}

int prog_array_delete(struct skep_map *m, uint32_t idx)
{
	pthread_mutex_lock(&lock);
	uint32_t *w = (uint32_t *)(m->data + (size_t)idx * m->esize);
	uint32_t old = __atomic_exchange_n(w, 0, __ATOMIC_ACQ_REL);
	for (struct shadow *s = shadows; s; s = s->next)
		if (s->uid == m->hdr->uid)
			__atomic_store_n(&s->slots[idx], NULL, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&lock);
	return old ? 0 : map_fail(m, -ENOENT, "no entry at index %u", idx);
}

void prog_array_release(struct skep_map *m)
{
	struct shadow *s = m->priv;
	if (!s)
		return;
	pthread_mutex_lock(&lock);
	for (uint32_t i = 0; i < s->nholders; i++)
		if (s->holders[i] == m) {
			s->holders[i] = s->holders[--s->nholders];
			break;
		}
	if (!s->nholders) {
		struct shadow **ps = &shadows;
		while (*ps != s)
			ps = &(*ps)->next;
		*ps = s->next;
		free(s->holders);
		free(s);
	}
	pthread_mutex_unlock(&lock);
	m->priv = NULL;
}

/* A program that changed (reloaded, helpers or hardening) while in a table keeps native
 * code there: compiled again now rather than on its next direct run. */
void prog_reg_changed(struct skep_prog *p)
{
#if defined(__x86_64__)
	if (!p->id || !p->insns)
		return;
	pthread_mutex_lock(&lock);
	int in = 0;
	for (struct shadow *s = shadows; s && !in; s = s->next)
		for (uint32_t k = 0; k < s->arr.max_entries && !in; k++)
			in = s->slots[k] == p;
	pthread_mutex_unlock(&lock);
	if (in)
		(void)prog_jit(p);  /* a failure stays in p->err; JIT callers then fall through */
#else
	(void)p;
#endif
}
