/* The registry of program types: the built-in descriptors and the embedder's, and the
 * access rules every descriptor's fields imply (the kernel's is_valid_access). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "progtypes.h"
#include "skep/helpers.h"

static const struct skep_prog_type_desc *const builtin[] = {
	&pt_socket_filter, &pt_kprobe, &pt_sched_cls, &pt_sched_act, &pt_tracepoint, &pt_xdp,
	&pt_perf_event, &pt_cgroup_skb, &pt_cgroup_sock, &pt_sock_ops, &pt_raw_tracepoint,
	&pt_cgroup_sock_addr,
};
#define NBUILTIN (sizeof builtin / sizeof builtin[0])

/* Embedder types: a small array under a lock (registration is rare, lookups cheap). */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static const struct skep_prog_type_desc **user;
static size_t nuser, capuser;

const struct skep_prog_type_desc *skep_prog_type_by_id(uint32_t type)
{
	for (size_t i = 0; i < NBUILTIN; i++)
		if (builtin[i]->type == type)
			return builtin[i];
	const struct skep_prog_type_desc *d = NULL;
	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < nuser && !d; i++)
		if (user[i]->type == type)
			d = user[i];
	pthread_mutex_unlock(&lock);
	return d;
}

const struct skep_prog_type_desc *skep_prog_type_by_name(const char *name)
{
	if (!name)
		return NULL;
	for (size_t i = 0; i < NBUILTIN; i++)
		if (!strcmp(builtin[i]->name, name))
			return builtin[i];
	const struct skep_prog_type_desc *d = NULL;
	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < nuser && !d; i++)
		if (!strcmp(user[i]->name, name))
			d = user[i];
	pthread_mutex_unlock(&lock);
	return d;
}

int skep_prog_type_foreach(int (*fn)(void *arg, const struct skep_prog_type_desc *d), void *arg)
{
	pthread_mutex_lock(&lock);
	size_t n = 0, cap = NBUILTIN + nuser;
	const struct skep_prog_type_desc **all = malloc(cap * sizeof *all);
	if (all) {
		for (size_t i = 0; i < NBUILTIN; i++)
			all[n++] = builtin[i];
		for (size_t i = 0; i < nuser; i++)
			all[n++] = user[i];
	}
	pthread_mutex_unlock(&lock);
	if (!all)
		return -ENOMEM;
	for (size_t i = 1; i < n; i++)   /* id order (insertion sort: few types) */
		for (size_t j = i; j > 0 && all[j - 1]->type > all[j]->type; j--) {
			const struct skep_prog_type_desc *t = all[j];
			all[j] = all[j - 1], all[j - 1] = t;
		}
	int r = 0;
	for (size_t i = 0; i < n && !r; i++)
		r = fn(arg, all[i]);
	free(all);
	return r;
}

static int valid_desc(const struct skep_prog_type_desc *d)
{
	if (!d->name || !*d->name || d->type < SKEP_PROG_TYPE_EMBEDDER_BASE || !d->ctx_size ||
	    d->ctx_size > 65535 || d->real_ctx_size > 65535 || (d->nfields && !d->fields) ||
	    (d->nhelpers && !d->helpers) || (d->nbinds && !d->binds))
		return 0;
	for (size_t i = 0; i < d->nfields; i++) {
		const struct skep_ctx_field *f = &d->fields[i];
		if (!f->size || f->off + f->size > d->ctx_size || !f->access ||
		    f->real_off + f->real_size > d->real_ctx_size || f->kind > SKEP_CTX_SOCK_OR_NULL)
			return 0;
		if (f->kind != SKEP_CTX_SCALAR && (f->real_size != 8 || (f->access & SKEP_CTX_WRITE)))
			return 0;
		if (f->kind == SKEP_CTX_SCALAR && (f->real_size > f->size || !f->real_size ||
						   (f->real_size & (f->real_size - 1)) ||
						   (f->real_size < f->size && f->size > 8)))
			return 0;
		for (size_t j = 0; j < i; j++) {
			const struct skep_ctx_field *g = &d->fields[j];
			if (f->off < g->off + g->size && g->off < f->off + f->size)
				return 0;
		}
	}
	for (size_t i = 0; i < d->nbinds; i++)
		if (!d->binds[i].fn)
			return 0;
	return 1;
}

int skep_prog_type_register(const struct skep_prog_type_desc *d)
{
	if (!d || !valid_desc(d))
		return -EINVAL;
	if (skep_prog_type_by_id(d->type) || skep_prog_type_by_name(d->name))
		return -EEXIST;
	int err = 0;
	pthread_mutex_lock(&lock);
	if (nuser == capuser) {
		size_t cap = capuser ? capuser * 2 : 8;
		const struct skep_prog_type_desc **u = realloc(user, cap * sizeof *u);
		if (!u)
			err = -ENOMEM;
		else
			user = u, capuser = cap;
	}
	if (!err)
		user[nuser++] = d;
	pthread_mutex_unlock(&lock);
	return err;
}

int skep_prog_type_unregister(uint32_t type)
{
	int err = -ENOENT;
	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < nuser; i++)
		if (user[i]->type == type) {
			memmove(&user[i], &user[i + 1], (nuser - i - 1) * sizeof *user);
			nuser--;
			err = 0;
			break;
		}
	if (!nuser) {
		free(user);
		user = NULL;
		capuser = 0;
	}
	pthread_mutex_unlock(&lock);
	return err;
}

const struct skep_ctx_field *skep_ctx_field_at(const struct skep_prog_type_desc *d,
					       uint32_t off, uint32_t size)
{
	for (size_t i = 0; i < d->nfields; i++) {
		const struct skep_ctx_field *f = &d->fields[i];
		if (off >= f->off && off < (uint32_t)f->off + f->size)
			return (uint64_t)off + size <= (uint64_t)f->off + f->size ? f : NULL;
	}
	return NULL;
}

int skep_ctx_access_check(const struct skep_prog_type_desc *d, uint32_t off, uint32_t size,
			  int access, char *why, size_t whylen)
{
	const char *op = access == SKEP_CTX_WRITE ? "write" : "read";
	char dummy[8];
	if (!why || !whylen)
		why = dummy, whylen = sizeof dummy;
	if (size != 1 && size != 2 && size != 4 && size != 8) {
		snprintf(why, whylen, "%u-byte %s of the %s context", size, op, d->name);
		return -EACCES;
	}
	if ((uint64_t)off + size > d->ctx_size || off % size) {
		snprintf(why, whylen, "invalid bpf_context access off=%u size=%u (%s, context of %u bytes%s)",
			 off, size, d->name, d->ctx_size, off % size ? ", misaligned" : "");
		return -EACCES;
	}
	const struct skep_ctx_field *f = skep_ctx_field_at(d, off, size);
	if (!f) {
		snprintf(why, whylen, "invalid bpf_context access off=%u size=%u (%s: no field there)",
			 off, size, d->name);
		return -EACCES;
	}
	if (!(f->access & access)) {
		snprintf(why, whylen, "%s of %s.%s (off %u) is not allowed", op, d->name, f->name, off);
		return -EACCES;
	}
	if (f->flags & SKEP_CTX_ANY_SIZE)
		return 0;
	if (size == f->size && off == f->off)
		return 0;
	if (size < f->size && access == SKEP_CTX_READ && (f->flags & SKEP_CTX_NARROW))
		return 0;
	snprintf(why, whylen, "%u-byte %s of %s.%s (off %u, %u bytes) is not allowed", size, op,
		 d->name, f->name, off, f->size);
	return -EACCES;
}

int skep_prog_type_allows_helper(const struct skep_prog_type_desc *d, uint32_t id)
{
	for (size_t i = 0; i < d->nhelpers; i++)
		if (d->helpers[i] == id)
			return 1;
	return 0;
}

int skep_prog_type_helper_runs(const struct skep_prog_type_desc *d, uint32_t id)
{
	for (size_t i = 0; i < d->nbinds; i++)
		if (d->binds[i].id == id)
			return 1;
	return skep_helper_runs(id);
}
