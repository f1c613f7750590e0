/* The process registry: the id of each open handle (what a program's "map fd" and a
 * map-in-map update name) and the global ids that map-in-map slots store. */
#include <pthread.h>
#include <time.h>
#include <unistd.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "maps/map.h"

/* ---- the process registry: id -> handle */
static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct skep_map **reg;
static uint32_t reg_cap;

int map_reg_add(struct skep_map *m)
{
	pthread_mutex_lock(&reg_lock);
	uint32_t i;
	for (i = 0; i < reg_cap && reg[i]; i++)
		;
	if (i == reg_cap) {
		uint32_t cap = reg_cap ? reg_cap * 2 : 16;
		struct skep_map **n = realloc(reg, cap * sizeof *n);
		if (!n) {
			pthread_mutex_unlock(&reg_lock);
			return -ENOMEM;
		}
		memset(n + reg_cap, 0, (cap - reg_cap) * sizeof *n);
		reg = n;
		reg_cap = cap;
	}
	reg[i] = m;
	m->id = i + 1;
	pthread_mutex_unlock(&reg_lock);
	return 0;
}

void map_reg_del(struct skep_map *m)
{
	pthread_mutex_lock(&reg_lock);
	if (m->id && m->id <= reg_cap && reg[m->id - 1] == m)
		reg[m->id - 1] = NULL;
	int empty = 1;
	for (uint32_t i = 0; i < reg_cap; i++)
		empty &= reg[i] == NULL;
	if (empty) {
		free(reg);
		reg = NULL;
		reg_cap = 0;
	}
	pthread_mutex_unlock(&reg_lock);
}

skep_map *skep_map_by_id(uint32_t id)
{
	pthread_mutex_lock(&reg_lock);
	skep_map *m = id && id <= reg_cap ? reg[id - 1] : NULL;
	pthread_mutex_unlock(&reg_lock);
	return m;
}

struct skep_map *map_by_uid(uint32_t uid)
{
	skep_map *m = NULL;
	pthread_mutex_lock(&reg_lock);
	for (uint32_t i = 0; uid && i < reg_cap && !m; i++)
		if (reg[i] && reg[i]->hdr->uid == uid)
			m = reg[i];
	pthread_mutex_unlock(&reg_lock);
	return m;
}

uint32_t map_new_uid(void)
{
	static uint32_t counter;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	for (;;) {
		uint64_t x = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30) ^
			     ((uint64_t)getpid() << 40) ^ __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED);
		uint32_t u = map_hash(&x, sizeof x, 0x5ce9) & 0x7fffffff;
		if (u && !map_by_uid(u))
			return u;
		ts.tv_nsec++;
	}
}
