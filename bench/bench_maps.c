/* make bench, "Map operations": ns per map operation measured from inside programs.
 *
 * Each progs_maps/NAME.c is an XDP program looping N times over one operation (see
 * progs_maps/mapop.h) and returning how many succeeded. The same object DIR/maps_NAME.o
 * is loaded into the kernel (libbpf, BPF_PROG_TEST_RUN) and into Skep (skep_object_*,
 * JIT engine, skep_prog_test_run), its map filled the same way from the host (key k ->
 * value k, every CPU's slot for per-CPU maps), and timed the same way: a repeat count
 * sized to about CALL_NS per test-run call, the best of ROUNDS calls, ns per op = the
 * reported ns per run / N. Every call's result must be N, and for the ring buffer the
 * records drained after each call must be producers * repeat * N. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "skep/map.h"
#include "skep/object.h"
#include "skep/progtype.h"
#include "skep/testrun.h"

int bench_maps(FILE *f, const char *dir);

#define N         1024              /* operations per run: as progs_maps/mapop.h */
#define ROUNDS    15
#define CALL_NS   2e6               /* short calls: best-of-ROUNDS finds one not preempted */
#define RING_SIZE (4u << 20)        /* holds a whole test-run call of records; cache-sized */
#define REC_SIZE  (8 + 32)          /* header + the 32-byte record */

static const struct mop {
	const char *name, *obj, *map;
	int producers;
} mops[] = {
	{ "array (1 K) lookup", "array_lookup", "m", 1 },
	{ "array (1 K) update", "array_update", "m", 1 },
	{ "hash (1 K) lookup", "hash1k_lookup", "m", 1 },
	{ "hash (1 K) update", "hash1k_update", "m", 1 },
	{ "hash (1 M) lookup", "hash1m_lookup", "m", 1 },
	{ "hash (1 M) update", "hash1m_update", "m", 1 },
	{ "LRU hash (1 K) lookup", "lru1k_lookup", "m", 1 },
	{ "LRU hash (1 K) update", "lru1k_update", "m", 1 },
	{ "per-CPU hash (1 K) lookup", "percpu1k_lookup", "m", 1 },
	{ "per-CPU hash (1 K) update", "percpu1k_update", "m", 1 },
	{ "ringbuf output 32 B, 1 producer", "ringbuf_output", "rb", 1 },
	{ "ringbuf output 32 B, 2 producers (ns per op per producer)", "ringbuf_output", "rb", 2 },
};
#define NMOPS (sizeof mops / sizeof mops[0])

/* One side (the kernel or Skep) with one op's object loaded. */
struct side {
	int kernel;
	struct bpf_object *kobj;
	int kfd;
	struct ring_buffer *krb;
	skep_object *sobj;
	skep_prog *sp[2];           /* [1]: a second program for the second producer */
	skep_prog *own;             /* sp[0] when loaded here rather than by the object */
	skep_ringbuf_consumer *src;
	uint64_t drained;
	char note[160];             /* e.g. the JIT's fallback */
};

struct cell {
	double ns;                  /* < 0: n/a */
	char why[200];
};

static int cpus[2] = { -1, -1 };   /* the CPUs of two producers */

static double best(const double *v, int n)
{
	double b = v[0];
	for (int i = 1; i < n; i++)
		b = v[i] < b ? v[i] : b;
	return b;
}

static int count_rec(void *ctx, void *data, size_t size)
{
	(void)data;
	*(uint64_t *)ctx += size == 32;
	return 0;
}

/* The kernel's ring_buffer callback has another signature. */
static int kcount_rec(void *ctx, void *data, size_t size)
{
	return count_rec(ctx, data, size);
}

/* Fill keys 0..entries-1 with value = key (per-CPU: every slot). */
static int fill(struct side *s, const char *mapname, char *why, size_t whysize)
{
	uint32_t type, entries;
	int ncpu, kfd = -1, err = 0;
	skep_map *sm = NULL;
	if (s->kernel) {
		struct bpf_map *m = bpf_object__find_map_by_name(s->kobj, mapname);
		if (!m)
			return snprintf(why, whysize, "no map '%s'", mapname), -ENOENT;
		type = bpf_map__type(m), entries = bpf_map__max_entries(m), kfd = bpf_map__fd(m);
		ncpu = libbpf_num_possible_cpus();
	} else {
		skep_object_map *m = skep_object_find_map_by_name(s->sobj, mapname);
		if (!m || !(sm = skep_object_map_handle(m)))
			return snprintf(why, whysize, "no map '%s'", mapname), -ENOENT;
		type = skep_map_type(sm), entries = skep_map_max_entries(sm);
		ncpu = skep_num_possible_cpus();
	}
	if (type == BPF_MAP_TYPE_RINGBUF)
		return 0;
	int percpu = type == BPF_MAP_TYPE_PERCPU_HASH || type == BPF_MAP_TYPE_PERCPU_ARRAY ||
		     type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
	uint64_t *val = calloc(percpu ? ncpu : 1, sizeof *val);
	if (!val)
		return -ENOMEM;
	for (uint32_t k = 0; k < entries && !err; k++) {
		for (int c = 0; c < (percpu ? ncpu : 1); c++)
			val[c] = k;
		err = s->kernel ? (bpf_map_update_elem(kfd, &k, val, BPF_ANY) ? -errno : 0)
				: skep_map_update_elem(sm, &k, val, SKEP_ANY);
	}
	if (err)
		snprintf(why, whysize, "filling '%s': %s%s%s", mapname, strerror(-err), s->kernel ? "" : ": ",
			 s->kernel ? "" : skep_map_error(sm));
	free(val);
	return err;
}

static void side_close(struct side *s)
{
	ring_buffer__free(s->krb);
	bpf_object__close(s->kobj);
	skep_ringbuf_consumer_free(s->src);
	skep_prog_free(s->sp[1]);
	skep_prog_free(s->own);
	skep_object_close(s->sobj);
}

/* Open, size the ring, load, fill; 0 or a negative errno with why set. */
static int side_open(struct side *s, const char *dir, const struct mop *op, char *why, size_t whysize)
{
	char path[4096];
	int ring = !strcmp(op->map, "rb"), err;
	snprintf(path, sizeof path, "%s/maps_%s.o", dir, op->obj);
	if (s->kernel) {
		struct bpf_program *p;
		if (!(s->kobj = bpf_object__open_file(path, NULL)))
			return snprintf(why, whysize, "open %s: %s", path, strerror(errno)), -errno;
		if (ring && (err = bpf_map__set_max_entries(bpf_object__find_map_by_name(s->kobj, "rb"), RING_SIZE)))
			return snprintf(why, whysize, "ring size: %s", strerror(-err)), err;
		if ((err = bpf_object__load(s->kobj)))
			return snprintf(why, whysize, "load: %s", strerror(-err)), err;
		if (!(p = bpf_object__find_program_by_name(s->kobj, "bench")))
			return snprintf(why, whysize, "no program 'bench'"), -ENOENT;
		s->kfd = bpf_program__fd(p);
		if (ring && !(s->krb = ring_buffer__new(bpf_map__fd(bpf_object__find_map_by_name(s->kobj, "rb")),
							kcount_rec, &s->drained, NULL)))
			return snprintf(why, whysize, "ring_buffer__new: %s", strerror(errno)), -errno;
	} else {
		skep_program *p;
		if ((err = skep_object_open_file(path, NULL, &s->sobj)))
			return snprintf(why, whysize, "open: %s", skep_object_error(NULL)), err;
		if (ring && (err = skep_object_map_set_max_entries(skep_object_find_map_by_name(s->sobj, "rb"), RING_SIZE)))
			return snprintf(why, whysize, "ring size: %s", skep_object_error(s->sobj)), err;
		if (!(p = skep_object_find_program_by_name(s->sobj, "bench")))
			return snprintf(why, whysize, "no program 'bench'"), -ENOENT;
		if ((err = skep_object_load(s->sobj))) {
			/* Skep's verifier refused what the kernel's accepts: measure the same
			 * instructions loaded as trusted (skep_prog_load: any engine), and say so. */
			char verr[512];
			struct skep_object_load_opts lo = { .sz = sizeof lo, .no_verify = 1 };
			snprintf(verr, sizeof verr, "%s", skep_object_error(s->sobj));
			skep_object_close(s->sobj);
			s->sobj = NULL;
			if ((err = skep_object_open_file(path, NULL, &s->sobj)) ||
			    (ring && (err = skep_object_map_set_max_entries(skep_object_find_map_by_name(s->sobj, "rb"),
									     RING_SIZE))) ||
			    !(p = skep_object_find_program_by_name(s->sobj, "bench")) ||
			    (err = skep_object_load_with(s->sobj, &lo)))
				return snprintf(why, whysize, "load: %s", verr), err ? err : -ENOENT;
			size_t n;
			const struct skep_insn *in = skep_program_insns(p, &n);
			if (!(s->own = skep_prog_new()) || (err = skep_prog_set_type(s->own, BPF_PROG_TYPE_XDP)) ||
			    (err = skep_prog_load(s->own, in, n)))
				return snprintf(why, whysize, "trusted load: %s",
						s->own ? skep_prog_error(s->own) : "out of memory"), err ? err : -ENOMEM;
			snprintf(s->note, sizeof s->note, "loaded unverified, Skep's verifier refused: %.100s", verr);
		}
		s->sp[0] = s->own ? s->own : skep_program_prog(p);
		if (op->producers > 1) {
			/* Its own program for the second thread, over the same maps (the loaded
			 * instructions carry the map ids). */
			size_t n;
			const struct skep_insn *in = skep_program_insns(p, &n);
			if (!(s->sp[1] = skep_prog_new()) || (err = skep_prog_set_type(s->sp[1], BPF_PROG_TYPE_XDP)) ||
			    (err = skep_prog_load(s->sp[1], in, n)))
				return snprintf(why, whysize, "second program: %s",
						s->sp[1] ? skep_prog_error(s->sp[1]) : "out of memory"), err ? err : -ENOMEM;
		}
		for (int i = 0; i < op->producers; i++) {
			if ((err = skep_prog_set_engine(s->sp[i], SKEP_ENGINE_JIT)))
				return snprintf(why, whysize, "JIT: %s", skep_prog_error(s->sp[i])), err;
			if (skep_prog_engine(s->sp[i]) != SKEP_ENGINE_JIT)   /* the more important note */
				snprintf(s->note, sizeof s->note, "interpreter: %s", skep_prog_fallback_reason(s->sp[i]));
		}
		if (ring && !(s->src = skep_ringbuf_consumer_new(skep_object_map_handle(skep_object_find_map_by_name(s->sobj, "rb")),
								 count_rec, &s->drained)))
			return snprintf(why, whysize, "ring consumer: %s", strerror(errno)), -errno;
	}
	return fill(s, op->map, why, whysize);
}

struct job {
	struct side *s;
	int i, repeat, err, cpu;
	uint32_t dur, ret;
	char why[160];
	pthread_barrier_t *start;
};

static void *run_job(void *arg)
{
	struct job *j = arg;
	uint8_t pkt[64] = { 0 };
	if (j->cpu >= 0) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(j->cpu, &set);
		pthread_setaffinity_np(pthread_self(), sizeof set, &set);
	}
	if (j->start)
		pthread_barrier_wait(j->start);
	if (j->s->kernel) {
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt, .data_size_in = sizeof pkt, .repeat = j->repeat);
		if (bpf_prog_test_run_opts(j->s->kfd, &o))
			j->err = -errno, snprintf(j->why, sizeof j->why, "BPF_PROG_TEST_RUN: %s", strerror(errno));
		j->dur = o.duration, j->ret = o.retval;
	} else {
		/* The thread's CPU time, not o.duration (wall): the kernel's test-run timer
		 * stops while the kernel reschedules (bpf_test_timer_continue), so time other
		 * processes take the CPU is not counted there either. */
		struct skep_test_run_opts o = { .data_in = pkt, .data_size_in = sizeof pkt, .repeat = j->repeat };
		struct timespec t0, t1;
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
		if ((j->err = skep_prog_test_run(j->s->sp[j->i], &o)))
			snprintf(j->why, sizeof j->why, "test run: %s", skep_prog_error(j->s->sp[j->i]));
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t1);
		j->dur = (uint32_t)(((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / j->repeat);
		j->ret = o.retval;
	}
	return NULL;
}

/* One test-run call per producer (concurrently for two), then drain and check.
 * Returns the mean ns per run, or < 0 with why set. */
static double call(struct side *s, const struct mop *op, int repeat, char *why, size_t whysize)
{
	struct job j[2];
	pthread_barrier_t b;
	int np = op->producers;
	memset(j, 0, sizeof j);
	for (int i = 0; i < np; i++)
		j[i] = (struct job){ .s = s, .i = i, .repeat = repeat, .cpu = np > 1 ? cpus[i] : -1,
				     .start = np > 1 ? &b : NULL };
	if (np == 1)
		run_job(&j[0]);
	else {
		pthread_t t[2];
		pthread_barrier_init(&b, NULL, np);
		for (int i = 0; i < np; i++)
			if (pthread_create(&t[i], NULL, run_job, &j[i]))
				return snprintf(why, whysize, "pthread_create failed"), -1;
		for (int i = 0; i < np; i++)
			pthread_join(t[i], NULL);
		pthread_barrier_destroy(&b);
	}
	double sum = 0;
	for (int i = 0; i < np; i++) {
		if (j[i].err)
			return snprintf(why, whysize, "%s", j[i].why), -1;
		if (j[i].ret != N)
			return snprintf(why, whysize, "**WRONG COUNT**: %u of %d operations succeeded", j[i].ret, N), -1;
		sum += j[i].dur;
	}
	if (s->krb || s->src) {
		uint64_t want = (uint64_t)np * repeat * N;
		int got;
		s->drained = 0;
		while ((got = s->kernel ? ring_buffer__consume(s->krb) : skep_ringbuf_consumer_consume(s->src)) > 0)
			;
		if (got < 0)
			return snprintf(why, whysize, "drain: %s", strerror(-got)), -1;
		if (s->drained != want)
			return snprintf(why, whysize, "**WRONG COUNT**: %llu records drained, %llu output",
					(unsigned long long)s->drained, (unsigned long long)want), -1;
	}
	return sum / np;
}

static void measure(const char *dir, const struct mop *op, int kernel, struct cell *c)
{
	struct side s = { .kernel = kernel, .kfd = -1 };
	double v[ROUNDS], d;
	int repeat = 16;
	c->ns = -1;
	c->why[0] = 0;
	if (op->producers > 1 && cpus[1] < 0) {
		snprintf(c->why, sizeof c->why, "needs two CPUs online");
		return;
	}
	if (side_open(&s, dir, op, c->why, sizeof c->why))
		goto out;
	if (s.krb || s.src) {
		/* Steady state: go once around the ring first. The kernel allocates a ring's
		 * pages at creation; Skep's shared memory gets them at first touch, at the
		 * cost of a page fault each (~15 us on this kind of VM). */
		int full = (int)(0.9 * RING_SIZE / ((double)op->producers * N * REC_SIZE));
		for (int k = 0; k < 2; k++)
			if (call(&s, op, full, c->why, sizeof c->why) < 0)
				goto out;
	}
	if ((d = call(&s, op, repeat, c->why, sizeof c->why)) < 0)
		goto out;
	double rep = CALL_NS / (d > 1 ? d : 1);
	if (s.krb || s.src) {   /* the ring holds a whole call */
		double cap = 0.9 * RING_SIZE / ((double)op->producers * N * REC_SIZE);
		rep = rep > cap ? cap : rep;
	}
	repeat = rep < 1 ? 1 : (int)rep;
	for (int k = 0; k < ROUNDS; k++)
		if ((v[k] = call(&s, op, repeat, c->why, sizeof c->why)) < 0)
			goto out;
	c->ns = best(v, ROUNDS) / N;
	if (s.note[0])
		snprintf(c->why, sizeof c->why, "%s", s.note);
out:
	side_close(&s);
}

static const char *fmt(char *buf, const struct cell *c)
{
	if (c->ns < 0)
		return snprintf(buf, 256, "n/a: %s", c->why), buf;
	snprintf(buf, 256, c->ns >= 100 ? "%.0f%s%s" : "%.1f%s%s", c->ns, c->why[0] ? " — " : "", c->why);
	return buf;
}

static int libbpf_quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_WARN)
		vfprintf(stderr, fmt, ap);
	return 0;
}

/* Append the "## Map operations" section to f. Nonzero when a loop did not do its
 * operations (a wrong count). */
int bench_maps(FILE *f, const char *dir)
{
	struct cell sk[NMOPS], kn[NMOPS];
	char a[256], b[256], r[32];
	int bad = 0, met = 1, all = 1;
	const char *only = getenv("BENCH_MAPS_ONLY");
	cpu_set_t set;

	libbpf_set_print(libbpf_quiet);
	CPU_ZERO(&set);
	for (int c = 0, n = 0; c < CPU_SETSIZE && n < 2; c++) {
		CPU_SET(c, &set);
		if (sched_setaffinity(0, sizeof set, &set) == 0)   /* c is usable */
			cpus[n++] = c;
		CPU_CLR(c, &set);
	}
	CPU_ZERO(&set);
	CPU_SET(cpus[0], &set);
	sched_setaffinity(0, sizeof set, &set);

	for (size_t i = 0; i < NMOPS; i++) {
		if (only && !strstr(mops[i].name, only)) {   /* for profiling one op */
			sk[i].ns = kn[i].ns = -1;
			snprintf(sk[i].why, sizeof sk[i].why, "skipped (BENCH_MAPS_ONLY)");
			strcpy(kn[i].why, sk[i].why);
			continue;
		}
		fprintf(stderr, "bench: map op: %s\n", mops[i].name);
		measure(dir, &mops[i], 0, &sk[i]);
		measure(dir, &mops[i], 1, &kn[i]);
		bad |= strstr(sk[i].why, "WRONG COUNT") || strstr(kn[i].why, "WRONG COUNT");
	}

	fprintf(f, "\n## Map operations\n\n"
		"ns per operation, measured from inside an XDP program looping %d times over it "
		"(progs_maps/*.c, the same object for both sides), best of %d test-run calls of about "
		"%.0f ms; Skep on its JIT with skep_prog_test_run timed by the calling thread's CPU time, "
		"the kernel with BPF_PROG_TEST_RUN (whose timer stops while it reschedules: neither "
		"counts time other processes take).\n\n"
		"| op | Skep ns/op | kernel ns/op | Skep/kernel |\n|---|--:|--:|--:|\n", N, ROUNDS, CALL_NS / 1e6);
	for (size_t i = 0; i < NMOPS; i++) {
		if (sk[i].ns >= 0 && kn[i].ns > 0)
			snprintf(r, sizeof r, "%.2fx", sk[i].ns / kn[i].ns), met &= sk[i].ns <= kn[i].ns;
		else
			snprintf(r, sizeof r, "n/a"), all = 0;
		fprintf(f, "| %s | %s | %s | %s |\n", mops[i].name, fmt(a, &sk[i]), fmt(b, &kn[i]), r);
	}
	fprintf(f, "\n**Target** (every Skep figure at or below the kernel's ns per operation): %s%s.\n",
		met ? "met" : "NOT met", all ? "" : " where both have a figure");
	fprintf(f, "\nMethod: keys are the next %d values of a counter in .bss, scrambled by a "
		"multiplicative hash, so successive runs walk the whole map; the maps are filled "
		"from the host before timing (key k -> value k; every CPU's slot for per-CPU maps; "
		"32-bit keys, 64-bit values), lookups check the value, updates store it again (BPF_ANY). "
		"Every call must return %d successful operations. Ring buffer: 32-byte "
		"bpf_ringbuf_output records (flags 0) into a %u MiB ring sized to hold a whole call, "
		"drained after each call and counted, after two warm-up calls that go around the ring. Two producers: two threads on CPUs %d and %d, "
		"each running one test-run call at once on the same ring (the kernel: two "
		"BPF_PROG_TEST_RUN calls, each on its thread's CPU; Skep: two programs loaded from "
		"the same instructions); the figure is the mean of the two producers' ns per op.\n",
		N, N, RING_SIZE >> 20, cpus[0], cpus[1]);
	return bad;
}
