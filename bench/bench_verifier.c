/* make bench, "Verifier": for every program of the example and test objects
 * (DIR/objects/NAME.o, DIR/examples/NAME.o, clang -O2 -g -target bpf), Skep's verification
 * time and processed instructions next to the kernel's for the same program.
 *
 * Skep: skep_program_verify (type from the section, maps from the object, no log), the
 * best of SROUNDS runs timed with CLOCK_MONOTONIC around the call.  Kernel: the object
 * loaded through libbpf with the program's log at level 4 (BPF_LOG_STATS: the statistics
 * only, no per-instruction log to slow it down), its "verification time N usec" and
 * "processed N insns" read from the log, the best of KROUNDS loads.  An object is loaded
 * whole (libbpf initialises prog arrays from the programs); when that fails, each
 * program is loaded alone, the others' autoload off.  Ratios (Skep / kernel time) are
 * over programs both accept, with the kernel's time floored at 1 usec (its resolution). */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "skep/object.h"
#include "skep/verifier.h"

int bench_verifier(FILE *f, const char *dir);

#define SROUNDS  20
#define KROUNDS  5
#define KLOG     (1u << 20)
#define MAXPROGS 64

struct vrow {
	char obj[64], prog[64];
	size_t insns;
	int s_ok, k_ok;                 /* 1 accepted, 0 refused, -1 not run */
	double s_us;                    /* best Skep time, usec */
	uint64_t s_proc;
	long k_us, k_proc;              /* best kernel time; -1 unknown */
	char why[320];                  /* a refusal */
};

static double now_us(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

/* libbpf's first warning: why a load failed before the kernel's verifier ran. */
static char libbpf_msg[256];

static int quiet(enum libbpf_print_level l, const char *fmt, va_list ap)
{
	if (l == LIBBPF_WARN && !libbpf_msg[0]) {
		vsnprintf(libbpf_msg, sizeof libbpf_msg, fmt, ap);
		libbpf_msg[strcspn(libbpf_msg, "\n")] = 0;
	}
	return 0;
}

/* "... verification time 12 usec ... processed 34 insns ..." */
static void parse_klog(const char *log, long *us, long *proc)
{
	const char *t = strstr(log, "verification time ");
	const char *p = strstr(log, "processed ");
	*us = t ? strtol(t + 18, NULL, 10) : -1;
	*proc = p ? strtol(p + 10, NULL, 10) : -1;
}

/* The last line of a kernel log that says something (the refusal), into why. */
static void klog_reason(const char *log, char *why, size_t len)
{
	const char *end = log + strlen(log), *best = NULL, *bend = NULL;
	for (const char *s = log; s < end;) {
		const char *e = strchr(s, '\n');
		e = e ? e : end;
		if (e > s && strncmp(s, "processed ", 10) && strncmp(s, "verification time", 17) &&
		    strncmp(s, "stack depth", 11) && strncmp(s, "-- END", 6))
			best = s, bend = e;
		s = e + 1;
	}
	snprintf(why, len, "kernel: %.*s", best ? (int)(bend - best) : 7, best ? best : "refused");
}

/* Load path's programs into the kernel, all at once (only = NULL) or only one; fill
 * the rows of the programs loaded.  0, or -1 when the load failed. */
static int kload(const char *path, const char *only, struct vrow *rows, size_t nrows, char **logs)
{
	libbpf_msg[0] = 0;
	struct bpf_object *o = bpf_object__open_file(path, NULL);
	if (!o) {
		for (size_t i = 0; i < nrows; i++)
			if (!only || !strcmp(rows[i].prog, only))
				snprintf(rows[i].why, sizeof rows[i].why, "kernel: n/a: libbpf cannot open the object: %s",
					 libbpf_msg);
		return -1;
	}
	struct bpf_program *p;
	size_t i = 0;
	bpf_object__for_each_program(p, o) {
		if (i >= nrows)
			break;
		int mine = !only || !strcmp(bpf_program__name(p), only);
		bpf_program__set_autoload(p, mine);
		logs[i][0] = 0;
		if (mine) {
			bpf_program__set_log_buf(p, logs[i], KLOG);
			bpf_program__set_log_level(p, 4);
		}
		i++;
	}
	int err = bpf_object__load(o);
	i = 0;
	bpf_object__for_each_program(p, o) {
		if (i >= nrows)
			break;
		struct vrow *r = &rows[i];
		if (!only || !strcmp(bpf_program__name(p), only)) {
			long us, proc;
			parse_klog(logs[i], &us, &proc);
			if (!err) {
				r->k_ok = 1;
				if (us >= 0 && (r->k_us < 0 || us < r->k_us))
					r->k_us = us;
				r->k_proc = proc;
			} else if (only && us < 0 && proc < 0 && !strstr(logs[i], "\n")) {
				/* no verifier output: libbpf failed first (maps, BTF, attach target) */
				snprintf(r->why, sizeof r->why, "kernel: n/a: not loaded: %s", libbpf_msg);
			} else if (only) {
				r->k_ok = 0;
				klog_reason(logs[i], r->why, sizeof r->why);
			}
		}
		i++;
	}
	bpf_object__close(o);
	return err ? -1 : 0;
}

static size_t bench_object(const char *path, const char *label, struct vrow *rows, size_t cap, char **logs)
{
	skep_object *obj = NULL;
	if (skep_object_open_file(path, NULL, &obj)) {
		fprintf(stderr, "bench: verifier: %s: %s (skipped)\n", path, skep_object_error(NULL));
		return 0;
	}
	size_t n = 0;
	for (skep_program *p = skep_object_next_program(obj, NULL); p && n < cap;
	     p = skep_object_next_program(obj, p), n++) {
		struct vrow *r = &rows[n];
		memset(r, 0, sizeof *r);
		snprintf(r->obj, sizeof r->obj, "%s", label);
		snprintf(r->prog, sizeof r->prog, "%s", skep_program_name(p));
		skep_program_insns(p, &r->insns);
		r->k_ok = -1, r->k_us = r->k_proc = -1, r->s_us = -1;
		for (int k = 0; k < SROUNDS; k++) {
			struct skep_verify_result res;
			double t0 = now_us();
			int e = skep_program_verify(p, NULL, &res);
			double t = now_us() - t0;
			if (e) {
				r->s_ok = -1;
				snprintf(r->why, sizeof r->why, "skep: the verifier could not run: %s", strerror(-e));
				break;
			}
			r->s_ok = res.accepted;
			r->s_proc = res.processed_insns;
			if (!res.accepted)
				snprintf(r->why, sizeof r->why, "skep: %s", res.msg);
			skep_verify_result_free(&res);
			if (r->s_us < 0 || t < r->s_us)
				r->s_us = t;
		}
	}
	skep_object_close(obj);
	for (int k = 0; k < KROUNDS; k++)
		if (kload(path, NULL, rows, n, logs))
			break;
	if (n && rows[0].k_ok < 0)  /* the whole object did not load: one program at a time */
		for (size_t i = 0; i < n; i++)
			for (int k = 0; k < KROUNDS; k++)
				if (kload(path, rows[i].prog, rows, n, logs))
					break;
	return n;
}

static size_t bench_dir(const char *dir, const char *sub, struct vrow *rows, size_t cap, char **logs)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", dir, sub);
	struct dirent **ents;
	int ne = scandir(path, &ents, NULL, alphasort);
	if (ne < 0) {
		fprintf(stderr, "bench: verifier: %s: %s\n", path, strerror(errno));
		return 0;
	}
	size_t n = 0;
	for (int i = 0; i < ne; i++) {
		size_t len = strlen(ents[i]->d_name);
		if (len > 2 && !strcmp(ents[i]->d_name + len - 2, ".o") && n < cap) {
			char file[4200], label[64];
			snprintf(file, sizeof file, "%s/%s", path, ents[i]->d_name);
			snprintf(label, sizeof label, "%s/%.*s", sub, (int)(len - 2), ents[i]->d_name);
			fprintf(stderr, "bench: verifier: %s\n", label);
			n += bench_object(file, label, rows + n, cap - n, logs);
		}
		free(ents[i]);
	}
	free(ents);
	return n;
}

int bench_verifier(FILE *f, const char *dir)
{
	static struct vrow rows[512];
	char *logs[MAXPROGS];
	for (int i = 0; i < MAXPROGS; i++)
		if (!(logs[i] = malloc(KLOG)))
			return 1;
	libbpf_print_fn_t old = libbpf_set_print(quiet);
	size_t n = bench_dir(dir, "objects", rows, 512, logs);
	n += bench_dir(dir, "examples", rows + n, 512 - n, logs);
	libbpf_set_print(old);
	for (int i = 0; i < MAXPROGS; i++)
		free(logs[i]);

	fprintf(f, "\n## Verifier\n\n"
		"Every program of the test and example objects (`%s/objects/*.o`, `%s/examples/*.o`): "
		"verification time (best of %d for Skep, of %d loads for the kernel) and processed "
		"instructions. \"refused\" rows name the reason below the table.\n\n",
		"build", "build", SROUNDS, KROUNDS);
	fprintf(f, "| object | program | insns | Skep us | kernel us | Skep/kernel | Skep processed | kernel processed |\n"
		"|---|---|---:|---:|---:|---:|---:|---:|\n");
	double lsum = 0, psum = 0;
	int nratio = 0, nboth = 0, s_acc = 0, k_acc = 0, gaps = 0, unsound = 0;
	for (size_t i = 0; i < n; i++) {
		const struct vrow *r = &rows[i];
		char s[32], k[32], ratio[32] = "-", sp[32], kp[32];
		snprintf(s, sizeof s, r->s_ok == 1 ? "%.1f" : r->s_ok == 0 ? "refused" : "n/a", r->s_us);
		if (r->k_ok == 1 && r->k_us >= 0)
			snprintf(k, sizeof k, "%ld", r->k_us);
		else
			snprintf(k, sizeof k, "%s", r->k_ok == 0 ? "refused" : "n/a");
		snprintf(sp, sizeof sp, "%llu", (unsigned long long)r->s_proc);
		snprintf(kp, sizeof kp, r->k_proc >= 0 ? "%ld" : "-", r->k_proc);
		s_acc += r->s_ok == 1;
		k_acc += r->k_ok == 1;
		gaps += r->s_ok == 0 && r->k_ok == 1;
		unsound += r->s_ok == 1 && r->k_ok == 0;
		if (r->s_ok == 1 && r->k_ok == 1 && r->k_us >= 0) {
			double kt = r->k_us < 1 ? 1 : (double)r->k_us;
			snprintf(ratio, sizeof ratio, "%.2f", r->s_us / kt);
			lsum += log(r->s_us / kt);
			nratio++;
			if (r->k_proc > 0 && r->s_proc > 0) {
				psum += log((double)r->s_proc / (double)r->k_proc);
				nboth++;
			}
		}
		fprintf(f, "| %s | %s | %zu | %s | %s | %s | %s | %s |\n", r->obj, r->prog, r->insns, s, k, ratio,
			r->s_ok == 1 ? sp : "-", kp);
	}
	fprintf(f, "\n%zu programs: Skep accepts %d, the kernel %d; accepted by the kernel and refused by "
		"Skep (verifier gaps): %d; accepted by Skep and refused by the kernel: %d.\n", n, s_acc,
		k_acc, gaps, unsound);
	if (nratio)
		fprintf(f, "Geomean Skep/kernel verification time: **%.2f** over %d programs (target: at or below 1).\n",
			exp(lsum / nratio), nratio);
	if (nboth)
		fprintf(f, "Geomean Skep/kernel processed instructions: %.2f over %d programs.\n",
			exp(psum / nboth), nboth);
	int any = 0;
	for (size_t i = 0; i < n; i++)
		if (rows[i].why[0] && (rows[i].s_ok != 1 || rows[i].k_ok != 1)) {
			if (!any++)
				fprintf(f, "\nRefusals:\n\n");
			fprintf(f, "- %s %s: %s\n", rows[i].obj, rows[i].prog, rows[i].why);
		}
	if (!n)
		fprintf(f, "\nNo objects found: build them with `make objects examples`.\n");
	return 0;
}

#ifdef BENCH_VERIFIER_MAIN
int main(int argc, char **argv)
{
	return bench_verifier(stdout, argc > 1 ? argv[1] : "build");
}
#endif
