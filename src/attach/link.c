/* Links: what an attach returns and a detach takes. A single link is one program on
 * one site; a group link owns several (the sites of a USDT probe). */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "uprobe.h"

struct skep_link {
	struct site *site;          /* NULL for a group */
	skep_prog *prog;
	int ret;
	uint64_t cookie;
	uint64_t hits;              /* approximate under contention: a plain relaxed add */
	char *desc;
	struct skep_link **sub;     /* group members */
	size_t nsub;
	void (*on_destroy)(void *);
	void *arg;
};

struct skep_link *link_new(struct site *s, skep_prog *prog, int ret, uint64_t cookie,
			   const char *desc, const char *mode)
{
	struct skep_link *l = calloc(1, sizeof *l);
	if (!l || !(l->desc = strdup(desc))) {
		free(l);
		return NULL;
	}
	l->site = s;
	l->prog = prog;
	l->ret = ret;
	l->cookie = cookie;
	(void)mode;
	return l;
}

/* No locked instruction on the hot path: counts may be lost when threads race. */
HOT void link_hit(struct skep_link *l)
{
	__atomic_store_n(&l->hits, __atomic_load_n(&l->hits, __ATOMIC_RELAXED) + 1, __ATOMIC_RELAXED);
}

struct site *link_site(const struct skep_link *l) { return l->site; }

int link_group_new(skep_link **links, size_t n, const char *desc, void (*on_destroy)(void *),
		   void *arg, skep_link **out)
{
	*out = NULL;
	struct skep_link *l = calloc(1, sizeof *l);
	if (!l || !(l->desc = strdup(desc ? desc : "group")) ||
	    !(l->sub = malloc((n ? n : 1) * sizeof *l->sub))) {
		if (l)
			free(l->desc);
		free(l);
		return attach_error(ENOMEM, "out of memory");
	}
	memcpy(l->sub, links, n * sizeof *links);
	l->nsub = n;
	l->on_destroy = on_destroy;
	l->arg = arg;
	*out = l;
	return 0;
}

int skep_link_destroy(skep_link *l)
{
	if (!l)
		return 0;
	int rc = 0;
	if (l->site) {
		/* A thread may still be running the program from the list it read before the
		 * detach (there is no RCU here): the link stays allocated, kept reachable, and
		 * the caller should let a running program finish before freeing it. */
		static struct skep_link *dead;
		static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
		rc = site_detach(l);
		free(l->desc);
		l->desc = NULL;
		pthread_mutex_lock(&mu);
		l->sub = (struct skep_link **)dead;
		dead = l;
		pthread_mutex_unlock(&mu);
		return rc;
	} else {
		for (size_t i = 0; i < l->nsub; i++) {
			int r = skep_link_destroy(l->sub[i]);
			rc = rc ? rc : r;
		}
		if (l->on_destroy)
			l->on_destroy(l->arg);
		free(l->sub);
	}
	free(l->desc);
	free(l);
	return rc;
}

const char *skep_link_desc(const skep_link *l) { return l ? l->desc : ""; }

uint64_t skep_link_addr(const skep_link *l)
{
	if (!l)
		return 0;
	if (l->site)
		return l->site->addr;
	return l->nsub ? skep_link_addr(l->sub[0]) : 0;
}

const char *skep_link_mode(const skep_link *l)
{
	if (!l)
		return "";
	if (!l->site)
		return l->nsub ? skep_link_mode(l->sub[0]) : "";
	return l->site->mode == MODE_JMP ? "jmp" : "int3";
}

uint64_t skep_link_hits(const skep_link *l)
{
	if (!l)
		return 0;
	uint64_t h = __atomic_load_n(&l->hits, __ATOMIC_RELAXED);
	for (size_t i = 0; i < l->nsub; i++)
		h += skep_link_hits(l->sub[i]);
	return h;
}
