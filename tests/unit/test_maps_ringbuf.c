/* The ring buffer's producer side (src/maps/ringbuf.c): the kernel's record layout for
 * every size, two producer threads mixing reserve/submit/discard and output (nothing
 * lost, order kept per producer), and the in-flight accounting that lets a consumer
 * discard the record of a producer that died but never the record of a live one, also
 * with more producer threads than the ring has slots. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "maps/map.h"
#include "skep/map.h"

struct seen {
	int n, bad;
	uint32_t last[3];      /* per producer: the last sequence number + 1 */
	uint32_t sizes[128];
};

static int rec_cb(void *ctx, void *data, size_t size)
{
	struct seen *s = ctx;
	uint32_t v[2];
	if (size >= 8) {
		memcpy(v, data, 8);
		if (v[0] < 3) {   /* producer id, sequence: in order per producer */
			s->bad += v[1] + 1 <= s->last[v[0]];
			s->last[v[0]] = v[1] + 1;
		}
	}
	if (size < 128)
		s->sizes[size]++;
	s->n++;
	return 0;
}

static void layout(void)
{
	skep_map *m = skep_map_create(SKEP_MAP_TYPE_RINGBUF, "rbl", 0, 0, 4096 * 4, NULL);
	CHECK(m != NULL, "create ring", "%s", skep_map_error(NULL));
	if (!m)
		return;
	struct seen s = {0};
	skep_ringbuf_consumer *rc = skep_ringbuf_consumer_new(m, rec_cb, &s);
	int ok = 1;
	uint64_t pos = 0;
	for (uint32_t size = 1; size < 100; size++) {
		uint8_t *r = map_ringbuf_reserve(m, size, 0);
		if (!r) {
			ok = 0;
			break;
		}
		uint32_t hdr[2];
		memcpy(hdr, r - 8, 8);
		ok &= ((uintptr_t)r & 7) == 0;                                   /* 8-byte aligned */
		ok &= hdr[0] == (size | SKEP_RINGBUF_BUSY_BIT);                  /* busy until committed */
		ok &= hdr[1] == (uint32_t)((r - 8 - m->base) / 4096);            /* page offset */
		ok &= r - 8 == m->data + pos;                                    /* right after the last */
		pos += (size + 8 + 7) & ~7u;
		memset(r, 0xee, size);
		if (size % 3)
			map_ringbuf_submit(r, 0);
		else
			map_ringbuf_discard(r, 0);
		memcpy(hdr, r - 8, 8);
		ok &= hdr[0] == (size | (size % 3 ? 0 : SKEP_RINGBUF_DISCARD_BIT));
	}
	CHECK(ok && map_ringbuf_query(m, 3) == pos, "record layout: header, page offset, 8-byte alignment",
	      "prod %llu want %llu", (unsigned long long)map_ringbuf_query(m, 3), (unsigned long long)pos);
	int n = skep_ringbuf_consumer_consume(rc), sizes_ok = 1;
	for (uint32_t size = 1; size < 100; size++)
		sizes_ok &= s.sizes[size] == (size % 3 != 0);
	CHECK(n == 66 && s.n == 66 && sizes_ok, "consumer: committed records of every size, discarded skipped", "n %d", n);
	skep_ringbuf_consumer_free(rc);
	skep_map_close(m);
}

/* ---- two producer threads */
#define PER_THREAD 50000
static skep_map *ring;
static volatile int stop;

static void *producer(void *arg)
{
	uint32_t id = (uint32_t)(uintptr_t)arg, k = 0;
	for (uint32_t i = 0; i < PER_THREAD;) {
		uint32_t v[4] = {id, i, 0, 0};
		if (i % 2) {
			if (map_ringbuf_output(ring, v, 16, 0) == 0)
				i++;
			else
				sched_yield();   /* full: let the consumer run */
			continue;
		}
		uint32_t *r = map_ringbuf_reserve(ring, 16 + (i % 5) * 8, 0);
		if (!r) {
			sched_yield();
			continue;
		}
		if (k++ % 7 == 0) {   /* discarded: not counted, the same i again */
			map_ringbuf_discard(r, 0);
			continue;
		}
		memcpy(r, v, 16);
		map_ringbuf_submit(r, 0);
		i++;
	}
	return NULL;
}

static void two_threads(void)
{
	ring = skep_map_create(SKEP_MAP_TYPE_RINGBUF, "rb2", 0, 0, 1 << 16, NULL);
	CHECK(ring != NULL, "create ring", "%s", skep_map_error(NULL));
	if (!ring)
		return;
	struct seen s = {0};
	skep_ringbuf_consumer *rc = skep_ringbuf_consumer_new(ring, rec_cb, &s);
	pthread_t t[2];
	for (uintptr_t i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, producer, (void *)(i + 1));
	while (s.n < 2 * PER_THREAD && skep_ringbuf_consumer_poll(rc, 1000) >= 0)
		;
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	skep_ringbuf_consumer_consume(rc);
	CHECK(s.n == 2 * PER_THREAD && !s.bad && s.last[1] == PER_THREAD && s.last[2] == PER_THREAD,
	      "two producer threads through a small ring: nothing lost, order kept per producer",
	      "got %d of %d, %d out of order", s.n, 2 * PER_THREAD, s.bad);
	skep_ringbuf_consumer_free(rc);
	skep_map_close(ring);
}

/* ---- a dead producer's record behind and before a live one's */
static void dead_and_live(void)
{
	skep_map *m = skep_map_create(SKEP_MAP_TYPE_RINGBUF, "rbd", 0, 0, 4096, NULL);
	CHECK(m != NULL, "create ring", "%s", skep_map_error(NULL));
	if (!m)
		return;
	struct seen s = {0};
	skep_ringbuf_consumer *rc = skep_ringbuf_consumer_new(m, rec_cb, &s);
	uint32_t *mine = map_ringbuf_reserve(m, 8, 0);   /* live, in flight */
	pid_t pid = fork();
	if (pid == 0)   /* reserves after it and dies without committing */
		_exit(map_ringbuf_reserve(m, 8, 0) == NULL);
	int st;
	waitpid(pid, &st, 0);
	uint32_t v[2] = {0, 7};
	int out = map_ringbuf_output(m, v, 8, 0);
	int n1 = skep_ringbuf_consumer_consume(rc);
	uint32_t h0;
	memcpy(&h0, (uint8_t *)mine - 8, 4);
	CHECK(WIFEXITED(st) && !WEXITSTATUS(st) && out == 0 && n1 == 0 && h0 == (8 | SKEP_RINGBUF_BUSY_BIT),
	      "a live producer's record in flight is never discarded", "consumed %d, header %#x", n1, h0);
	v[1] = 3;
	memcpy(mine, v, 8);
	map_ringbuf_submit(mine, 0);
	int n2 = skep_ringbuf_consumer_consume(rc);
	CHECK(n2 == 2 && s.n == 2 && s.last[0] == 8 && !s.bad,
	      "then the dead producer's record is discarded and the records after it delivered",
	      "consumed %d, seen %d", n2, s.n);
	skep_ringbuf_consumer_free(rc);
	skep_map_close(m);
}

/* ---- more producer threads than slots, each holding a record: nothing discarded */
#define MANY 48
static pthread_barrier_t held, release;

static void *holder(void *arg)
{
	uint32_t *r = map_ringbuf_reserve(ring, 8, 0);
	pthread_barrier_wait(&held);
	pthread_barrier_wait(&release);
	if (r) {
		uint32_t v[2] = {9, 0};
		memcpy(r, v, 8);
		map_ringbuf_submit(r, 0);
	}
	return arg;
}

static void many_threads(void)
{
	ring = skep_map_create(SKEP_MAP_TYPE_RINGBUF, "rbm", 0, 0, 4096, NULL);
	CHECK(ring != NULL, "create ring", "%s", skep_map_error(NULL));
	if (!ring)
		return;
	struct seen s = {0};
	skep_ringbuf_consumer *rc = skep_ringbuf_consumer_new(ring, rec_cb, &s);
	pthread_t t[MANY];
	pthread_barrier_init(&held, NULL, MANY + 1);
	pthread_barrier_init(&release, NULL, MANY + 1);
	for (int i = 0; i < MANY; i++)
		pthread_create(&t[i], NULL, holder, NULL);
	pthread_barrier_wait(&held);
	int n1 = skep_ringbuf_consumer_consume(rc);
	uint64_t avail = map_ringbuf_query(ring, 0);
	pthread_barrier_wait(&release);
	for (int i = 0; i < MANY; i++)
		pthread_join(t[i], NULL);
	int n2 = skep_ringbuf_consumer_consume(rc);
	CHECK(n1 == 0 && avail == MANY * 16 && n2 == MANY && s.n == MANY,
	      "48 producer threads (more than the ring's slots) holding records: none discarded",
	      "before %d (avail %llu), after %d", n1, (unsigned long long)avail, n2);
	pthread_barrier_destroy(&held);
	pthread_barrier_destroy(&release);
	skep_ringbuf_consumer_free(rc);
	skep_map_close(ring);
}

int main(void)
{
	alarm(120);   /* a hang fails instead of blocking the suite */
	layout();
	two_threads();
	dead_and_live();
	many_threads();
	return t_done();
}
