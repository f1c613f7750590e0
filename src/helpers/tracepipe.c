/* The trace pipe: bpf_trace_printk's output. A ring buffer map holds one record per
 * message (time, pid, tid, cpu, comm, text); the host consumes them as lines. Private to
 * the process unless skep_trace_pipe_use() (or SKEP_TRACE_PIPE) names a pinned one that
 * every process using the name shares, as the kernel's one trace buffer. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"
#include "maps/map.h"

struct rec {
	uint64_t ts;
	uint32_t pid, tid, cpu;
	char comm[16];
	char msg[];
};

static struct skep_map *pipe_map;          /* writers load it without the lock */
static skep_ringbuf_consumer *consumer;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int env_done;
static uint64_t dropped;
static char carry[SKEP_TRACE_MSG_MAX + 128];  /* a line read but not yet returned */
static size_t carry_len;

static struct skep_map *open_named(const char *name)
{
	for (int tries = 0; tries < 3; tries++) {
		struct skep_map *m = skep_map_open_pinned(name);
		if (m)
			return m->type == SKEP_MAP_TYPE_RINGBUF ? m : (skep_map_close(m), NULL);
		m = skep_map_create(SKEP_MAP_TYPE_RINGBUF, "trace_pipe", 0, 0, SKEP_TRACE_PIPE_SIZE, NULL);
		if (!m)
			return NULL;
		if (!skep_map_pin(m, name))
			return m;
		skep_map_close(m);  /* another process pinned one first: open that */
	}
	return NULL;
}

/* Under lock: switch to name (NULL: a private pipe). The old map stays mapped, since
 * writers may hold it. */
static int use_locked(const char *name)
{
	struct skep_map *m = name ? open_named(name)
				  : skep_map_create(SKEP_MAP_TYPE_RINGBUF, "trace_pipe", 0, 0,
						    SKEP_TRACE_PIPE_SIZE, NULL);
	if (!m)
		return errno ? -errno : -EINVAL;
	if (consumer)
		skep_ringbuf_consumer_free(consumer);
	consumer = NULL;
	carry_len = 0;
	__atomic_store_n(&pipe_map, m, __ATOMIC_RELEASE);
	return 0;
}

static int ensure_locked(void)
{
	if (pipe_map)
		return 0;
	if (!env_done) {
		env_done = 1;
		const char *e = getenv("SKEP_TRACE_PIPE");
		if (e && *e && !use_locked(e))
			return 0;
	}
	return use_locked(NULL);
}

int skep_trace_pipe_use(const char *name)
{
	pthread_mutex_lock(&lock);
	env_done = 1;
	int err = use_locked(name);
	pthread_mutex_unlock(&lock);
	return err;
}

void trace_pipe_write(const char *msg)
{
	struct skep_map *m = __atomic_load_n(&pipe_map, __ATOMIC_ACQUIRE);
	if (!m) {
		pthread_mutex_lock(&lock);
		ensure_locked();
		m = pipe_map;
		pthread_mutex_unlock(&lock);
		if (!m)
			return;
	}
	size_t len = strlen(msg);
	struct rec *r = map_ringbuf_reserve(m, sizeof *r + len + 1, 0);
	if (!r) {
		__atomic_fetch_add(&dropped, 1, __ATOMIC_RELAXED);
		return;
	}
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	r->ts = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	r->pid = (uint32_t)getpid();
	r->tid = map_tid();
	int cpu = sched_getcpu();
	r->cpu = cpu < 0 ? 0 : (uint32_t)cpu;
	current_comm(r->comm);
	memcpy(r->msg, msg, len + 1);
	map_ringbuf_submit(r, 0);
}

uint64_t skep_trace_pipe_dropped(void) { return __atomic_load_n(&dropped, __ATOMIC_RELAXED); }

int skep_trace_line_format(const struct skep_trace_line *l, char *buf, size_t size)
{
	size_t n = strlen(l->msg);
	if (n && l->msg[n - 1] == '\n')  /* one line per message: its own newline is the end */
		n--;
	return snprintf(buf, size, "%16.16s-%-7u [%03u] ..... %llu.%06llu: bpf_trace_printk: %.*s\n",
			l->comm, l->tid, l->cpu, (unsigned long long)(l->ts_ns / 1000000000u),
			(unsigned long long)(l->ts_ns % 1000000000u / 1000u), (int)n, l->msg);
}

struct sink {
	skep_trace_line_fn cb;
	void *ctx;
};

static int on_sample(void *ctx, void *data, size_t size)
{
	struct sink *s = ctx;
	struct rec *r = data;
	if (size < sizeof *r + 1)
		return 0;
	char comm[16];
	memcpy(comm, r->comm, 16);
	comm[15] = 0;
	((char *)data)[size - 1] = 0;  /* bounded, whatever a writer did */
	struct skep_trace_line l = {r->ts, r->pid, r->tid, r->cpu, {0}, r->msg};
	memcpy(l.comm, comm, 16);
	return s->cb(s->ctx, &l);
}

static struct sink cur_sink;   /* the consumer's ctx, pointed at each call's callback */

static int consume_locked(skep_trace_line_fn cb, void *ctx, int timeout_ms)
{
	int err = ensure_locked();
	if (err)
		return err;
	if (!consumer && !(consumer = skep_ringbuf_consumer_new(pipe_map, on_sample, &cur_sink)))
		return -errno;
	cur_sink = (struct sink){cb, ctx};
	return skep_ringbuf_consumer_poll(consumer, timeout_ms);
}

int skep_trace_pipe_consume(skep_trace_line_fn cb, void *ctx, int timeout_ms)
{
	if (!cb)
		return -EINVAL;
	pthread_mutex_lock(&lock);
	int n = consume_locked(cb, ctx, timeout_ms);
	pthread_mutex_unlock(&lock);
	return n;
}

struct rd {
	char *buf;
	size_t size, len;
};

#define STOP (-ENOBUFS)

static int to_text(void *ctx, const struct skep_trace_line *l)
{
	struct rd *r = ctx;
	char line[sizeof carry];
	int n = skep_trace_line_format(l, line, sizeof line);
	size_t len = n < 0 ? 0 : (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;
	if (r->len + len < r->size) {
		memcpy(r->buf + r->len, line, len);
		r->len += len;
		return 0;
	}
	memcpy(carry, line, len);  /* next time */
	carry_len = len;
	return STOP;
}

ssize_t skep_trace_pipe_read(char *buf, size_t size, int timeout_ms)
{
	if (!buf || !size)
		return -EINVAL;
	pthread_mutex_lock(&lock);
	struct rd r = {buf, size, 0};
	if (carry_len) {
		size_t n = carry_len < size - 1 ? carry_len : size - 1;  /* cut only if it can never fit */
		memcpy(buf, carry, n);
		r.len = n;
		carry_len = 0;
		timeout_ms = 0;
	}
	int err = r.len + 1 < size ? consume_locked(to_text, &r, timeout_ms) : 0;
	pthread_mutex_unlock(&lock);
	buf[r.len] = 0;
	if (err < 0 && err != STOP && !r.len)
		return err;
	return (ssize_t)r.len;
}
