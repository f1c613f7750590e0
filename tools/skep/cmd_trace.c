/* skep trace OBJ.o [options] -- CMD ARGS...: run CMD with the object's programs attached
 * to it, stream their output, print their maps.
 *
 * How a session works:
 *  - skep makes a session directory under the pin directory (/dev/shm/skep-trace.XXXXXX)
 *    and points SKEP_PIN_DIR at it; opens the object, names every map's pin
 *    "map.<name>" (skep_object_map_set_pin_name) and loads it: the maps now exist in
 *    shared memory and the programs were verified here, so errors show before CMD runs.
 *    The trace pipe (bpf_trace_printk) is pinned as "trace_pipe", and a QUEUE map
 *    "agent" carries the agent's messages back.
 *  - CMD runs with LD_PRELOAD=libskep-agent.so (found as $SKEP_AGENT, or beside the skep
 *    binary, or in ../lib/skep/) and SKEP_TRACE_OBJ, SKEP_TRACE_SPECS, SKEP_TRACE_PIPE,
 *    SKEP_PIN_DIR. The agent's constructor opens the same object, reuses the pinned maps
 *    (libbpf's pin reuse: same name, same parameters), loads and attaches every program
 *    before main(): by --uprobe/--uretprobe/--usdt specs naming it, else by its
 *    section ("uprobe/PATH:SYMBOL", "usdt/PATH:PROVIDER:NAME", ...). It never writes to
 *    CMD's stdout or stderr; skep prints its messages on stderr (what was attached in
 *    CMD's own process, errors from any process, and how many other processes armed)
 *    or, with -j, as JSON events for every process. A program whose binary a process
 *    does not map is skipped in that process (which then loads nothing). If the
 *    agent fails in CMD's own process, that process exits before main() and skep exits
 *    1; a failure in a descendant is reported, the descendant runs untraced, and skep
 *    exits 1 at the end.
 *  - skep streams trace pipe lines and ring buffer records as they come (every 50 ms at
 *    most), prints the maps every --interval seconds and when CMD exits, removes the
 *    session and exits with CMD's status (128+N if a signal N killed it). SIGINT and
 *    SIGQUIT reach CMD from the terminal and skep waits for it; SIGTERM and SIGHUP are
 *    forwarded.
 *  - Forks: children inherit the patched code, the programs and the shared maps: the
 *    whole process tree is traced. Exec: LD_PRELOAD and the session variables are
 *    inherited, so the agent arms again in the new image (tested by tests/cli/trace.sh).
 *  - A static or setuid CMD ignores LD_PRELOAD: when no process reported in, skep says
 *    that nothing was traced. Programs must be uprobe/uretprobe/usdt (kprobe type).
 *  - --pid-filter: only CMD's own process (the pid skep started, across its execs) is
 *    traced; a child it forks detaches every probe in itself, and descendants that exec
 *    do not arm.
 *
 * Perf buffers (PERF_EVENT_ARRAY maps, bpf_perf_event_output) stream like ring buffers.
 *
 * Printing: maps by BTF type, one entry a line ("@name[key]: value", bpftrace-like, the
 * key and value in their JSON form), arrays without their all-zero slots, empty maps not
 * at all, .rodata, .kconfig and libbpf's own maps ("__bpf_usdt_*") never. A map whose
 * name starts with "hist" is a log2 histogram (slot 0: the value 0, slot k:
 * [2^(k-1), 2^k), bcc's log2l), printed as bpftrace prints hist(): either its key
 * (u32/u64) is the slot and its value (u32/u64) the count, or its value is an array of
 * u64 (u32 if the size is not a multiple of 8) slot counts, one histogram per key; a
 * value BTF types as a struct is never a histogram. Ring and perf buffer records are
 * printed by the BTF struct "<map>_event" (else "event") when the object has one. With
 * Keys of maps named for call sites (…_sites, …_ip, …: see trace_print.c) print as
 * "func+0x1a (path)", from /proc/PID/maps texts captured while the processes live. With
 * -j, every event and every map dump is one JSON object per line ("type": "printk",
 * "ringbuf", "perf", "map", "hist", "agent", "error", "exit"). -o FILE sends skep's
 * output there (CMD keeps the terminal).
 *
 * Exit status: CMD's; 1 when skep refused or failed (the reason on stderr), 2 on bad
 * usage (with a one-line hint). With -j (before --) skep's own errors are also one JSON
 * object {"type": "error", "error": ...} where its output goes. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../agent/agent_proto.h"
#include "cmds.h"
#include "skep/helpers.h"
#include "skep/map.h"
#include "skep/object.h"
#include "skep/progtype.h"
#include "trace.h"
#include "util.h"

static const char usage_text[] =
	"usage: skep trace OBJ.o [--pid-filter] [--interval S] [-j] [-o FILE]\n"
	"                  [--uprobe PROG=PATH:SYMBOL[+OFF]] [--uretprobe PROG=PATH:SYMBOL[+OFF]]\n"
	"                  [--usdt PROG=PATH:PROVIDER:NAME] -- CMD [ARGS...]\n"
	"Runs CMD with OBJ's programs attached inside it (uprobes, uretprobes, USDT), streams\n"
	"bpf_trace_printk, ring and perf buffer output, prints maps every S seconds and at exit\n"
	"(maps named hist* as log2 histograms), and exits with CMD's status.\n"
	"  --pid-filter   trace only CMD's own process, not its children\n"
	"  -j             one JSON object per event and per map dump\n";

struct session {
	char dir[PATH_MAX];
	skep_object *obj;
	skep_map *msgs;
	skep_ringbuf_consumer *rb;
	skep_perfbuf_consumer *pb[16];
	int npb;
	struct trace_out out;
	int agent_errors, ready, others;
	struct timespec t0;
};

static volatile sig_atomic_t child_pid;

static int json_errors;      /* -j: errors as JSON too */
static FILE *json_err_f;     /* where (skep's output: stdout, or -o's file once open) */

/* skep's own error: on stderr (a hint on bad usage), and as JSON with -j. Returns rc. */
static int fail(int rc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(int rc, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	fprintf(stderr, "skep trace: %s%s\n", msg, rc == 2 ? " (try: skep trace --help)" : "");
	if (json_errors) {
		struct json j;
		json_init(&j, json_err_f ? json_err_f : stdout);
		json_obj(&j, NULL);
		json_str(&j, "type", "error");
		json_str(&j, "error", msg);
		json_end(&j);
		json_nl(&j);
	}
	return rc;
}

static void forward(int sig)
{
	if (child_pid > 0)
		kill(child_pid, sig);
}

static double elapsed(const struct session *s)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - s->t0.tv_sec) + (double)(t.tv_nsec - s->t0.tv_nsec) / 1e9;
}

static int on_line(void *ctx, const struct skep_trace_line *l)
{
	struct session *s = ctx;
	if (s->out.json) {
		struct json *j = &s->out.j;
		json_obj(j, NULL);
		json_str(j, "type", "printk");
		json_u64(j, "ts_ns", l->ts_ns);
		json_u64(j, "pid", l->pid);
		json_u64(j, "tid", l->tid);
		json_u64(j, "cpu", l->cpu);
		json_str(j, "comm", l->comm);
		size_t n = strlen(l->msg);
		json_strn(j, "msg", l->msg, n && l->msg[n - 1] == '\n' ? n - 1 : n);  /* as the text line */
		json_end(j);
		json_nl(j);
		return 0;
	}
	char buf[SKEP_TRACE_MSG_MAX + 128];
	skep_trace_line_format(l, buf, sizeof buf);
	fputs(buf, s->out.f);
	return 0;
}

struct rb_ctx {
	struct session *s;
	const char *map;
};

static int on_record(void *ctx, void *data, size_t size)
{
	struct rb_ctx *c = ctx;
	trace_print_record(&c->s->out, c->s->obj, "ringbuf", c->map, data, size);
	return 0;
}

static void on_sample(void *ctx, int cpu, void *data, uint32_t size)
{
	struct rb_ctx *c = ctx;
	trace_print_record(&c->s->out, c->s->obj, "perf", c->map, data, size);
}

static void on_lost(void *ctx, int cpu, uint64_t cnt)
{
	struct rb_ctx *c = ctx;
	fprintf(stderr, "skep trace: %s: %llu records lost on CPU %d\n", c->map, (unsigned long long)cnt, cpu);
}

static void on_msg(struct session *s, const struct agent_msg *m)
{
	char text[sizeof m->text + 1];
	memcpy(text, m->text, sizeof m->text);
	text[sizeof m->text] = 0;
	static const char *const kinds[] = {"", "attached", "error"};
	const char *kind = m->kind > 0 && m->kind <= AGENT_ERROR ? kinds[m->kind] : "?";
	if (m->kind == AGENT_ERROR)
		s->agent_errors++;
	if (m->kind == AGENT_READY)
		s->ready++;
	sym_capture(m->pid);  /* its mappings, for call sites (it may be gone at the final dump) */
	if (s->out.json) {
		struct json *j = &s->out.j;
		json_obj(j, NULL);
		json_str(j, "type", m->kind == AGENT_ERROR ? "error" : "agent");
		json_str(j, "event", kind);
		json_i64(j, "pid", m->pid);
		if (m->kind == AGENT_ERROR)
			json_i64(j, "errno", -m->err);
		json_str(j, "msg", text);
		json_end(j);
		json_nl(j);
	}
	if (m->kind == AGENT_ERROR)
		fprintf(stderr, "skep trace: pid %d: %s%s\n", m->pid, text,
			m->first ? " (the command did not run)" : " (that process runs untraced)");
	else if (!s->out.json && m->first)
		fprintf(stderr, "skep trace: pid %d: %s\n", m->pid, text);
	else if (!s->out.json)
		s->others++;  /* descendants: counted, not listed (a shell script runs many) */
}

/* Everything that came; wait up to wait_ms for the trace pipe. Returns events seen. */
static int drain(struct session *s, int wait_ms)
{
	int total = 0, n;
	struct agent_msg m;
	while (s->msgs && skep_map_lookup_and_delete_elem(s->msgs, NULL, &m) == 0) {
		on_msg(s, &m);
		total++;
	}
	if ((n = skep_trace_pipe_consume(on_line, s, total ? 0 : wait_ms)) > 0)
		total += n;
	if (s->rb && (n = skep_ringbuf_consumer_consume(s->rb)) > 0)
		total += n;
	for (int i = 0; i < s->npb; i++)
		if ((n = skep_perfbuf_consumer_consume(s->pb[i])) > 0)
			total += n;
	fflush(s->out.f);
	return total;
}

static void cleanup(struct session *s)
{
	if (s->rb)
		skep_ringbuf_consumer_free(s->rb);
	for (int i = 0; i < s->npb; i++)
		skep_perfbuf_consumer_free(s->pb[i]);
	if (s->msgs)
		skep_map_close(s->msgs);
	skep_object_close(s->obj);
	sym_free();
	if (!*s->dir)
		return;
	DIR *d = opendir(s->dir);
	struct dirent *e;
	while (d && (e = readdir(d)))
		if (!strncmp(e->d_name, "skep-", 5)) {
			char p[PATH_MAX + 300];
			snprintf(p, sizeof p, "%s/%s", s->dir, e->d_name);
			unlink(p);
		}
	if (d)
		closedir(d);
	rmdir(s->dir);
}

static int find_agent(char *out, size_t len)
{
	const char *e = getenv("SKEP_AGENT");
	if (e && *e) {
		snprintf(out, len, "%s", e);
		return access(out, R_OK) ? -1 : 0;
	}
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n <= 0)
		return -1;
	exe[n] = 0;
	char *slash = strrchr(exe, '/');
	*slash = 0;
	if ((size_t)snprintf(out, len, "%s/libskep-agent.so", exe) < len && !access(out, R_OK))
		return 0;
	if ((size_t)snprintf(out, len, "%s/../lib/skep/libskep-agent.so", exe) >= len)
		return -1;
	return access(out, R_OK) ? -1 : 0;
}

/* "PROG=PATH:REST" into a spec line "KIND PROG ABSPATH:REST"; the path is made absolute
 * when it names a file (has a '/'); bare names are sonames. */
static int add_spec(char **specs, size_t *len, const char *kind, const char *arg, const skep_object *obj)
{
	const char *eq = strchr(arg, '='), *colon = eq ? strchr(eq + 1, ':') : NULL;
	if (!eq || eq == arg || !colon || colon == eq + 1 || !colon[1])
		return fail(2, "--%s %s: want PROG=PATH:%s", kind, arg,
			    strcmp(kind, "usdt") ? "SYMBOL[+OFFSET]" : "PROVIDER:NAME");
	char prog[256], path[PATH_MAX], abs[PATH_MAX];
	snprintf(prog, sizeof prog, "%.*s", (int)(eq - arg), arg);
	snprintf(path, sizeof path, "%.*s", (int)(colon - eq - 1), eq + 1);
	skep_program *p = skep_object_find_program_by_name(obj, prog);
	if (!p) {
		char names[1024] = "";
		size_t k = 0;
		for (p = skep_object_next_program(obj, NULL); p && k < sizeof names; p = skep_object_next_program(obj, p))
			k += (size_t)snprintf(names + k, sizeof names - k, " %s", skep_program_name(p));
		return fail(2, "--%s: no program '%s' in the object; it has:%s", kind, prog, names);
	}
	if (strchr(path, '/')) {
		if (!realpath(path, abs))
			return fail(1, "--%s %s: %s: %s", kind, arg, path, strerror(errno));
		snprintf(path, sizeof path, "%s", abs);
	}
	size_t add = strlen(kind) + strlen(prog) + strlen(path) + strlen(colon) + 4;
	char *n = realloc(*specs, *len + add);
	if (!n)
		return 1;
	*specs = n;
	*len += (size_t)snprintf(n + *len, add, "%s %s %s%s\n", kind, prog, path, colon);
	return 0;
}

static int has_spec(const char *specs, const char *prog)
{
	size_t n = strlen(prog);
	for (const char *s = specs; s && *s; s = strchr(s, '\n') ? strchr(s, '\n') + 1 : "") {
		const char *sp = strchr(s, ' ');
		if (sp && !strncmp(sp + 1, prog, n) && sp[1 + n] == ' ')
			return 1;
	}
	return 0;
}

static int start_session(struct session *s, const char *objpath, char *err, size_t errlen)
{
	snprintf(s->dir, sizeof s->dir, "%s/skep-trace.XXXXXX", skep_map_pin_dir());
	if (!mkdtemp(s->dir)) {
		snprintf(err, errlen, "cannot make a session directory %.900s: %s", s->dir, strerror(errno));
		*s->dir = 0;
		return 1;
	}
	setenv("SKEP_PIN_DIR", s->dir, 1);
	char pin[300];
	for (skep_object_map *m = skep_object_next_map(s->obj, NULL); m; m = skep_object_next_map(s->obj, m)) {
		snprintf(pin, sizeof pin, AGENT_PIN_MAP "%s", skep_object_map_name(m));
		skep_object_map_set_pin_name(m, pin);
	}
	int rc = skep_object_load(s->obj);
	if (rc) {
		snprintf(err, errlen, "%s: %s", objpath, skep_object_error(s->obj));
		return 1;
	}
	if ((rc = skep_trace_pipe_use(AGENT_PIN_PIPE))) {
		snprintf(err, errlen, "trace pipe: %s", strerror(-rc));
		return 1;
	}
	s->msgs = skep_map_create(SKEP_MAP_TYPE_QUEUE, "agent", 0, sizeof(struct agent_msg), AGENT_MSGS_MAX, NULL);
	if (!s->msgs || (rc = skep_map_pin(s->msgs, AGENT_PIN_MSGS))) {
		snprintf(err, errlen, "agent queue: %s", skep_map_error(s->msgs));
		return 1;
	}
	static struct rb_ctx ctxs[64];
	size_t nrb = 0;
	for (skep_object_map *m = skep_object_next_map(s->obj, NULL); m && nrb < 64; m = skep_object_next_map(s->obj, m)) {
		uint32_t t = skep_object_map_type(m);
		if (t != SKEP_MAP_TYPE_RINGBUF && t != SKEP_MAP_TYPE_PERF_EVENT_ARRAY)
			continue;
		ctxs[nrb] = (struct rb_ctx){s, skep_object_map_name(m)};
		skep_map *h = skep_object_map_handle(m);
		if (t == SKEP_MAP_TYPE_PERF_EVENT_ARRAY) {  /* a consumer enables every CPU's ring */
			if (s->npb == 16 || !(s->pb[s->npb] = skep_perfbuf_consumer_new(h, on_sample, on_lost, &ctxs[nrb]))) {
				snprintf(err, errlen, "perf buffer %s: %s", skep_object_map_name(m),
					 s->npb == 16 ? "more than 16" : strerror(errno));
				return 1;
			}
			s->npb++;
			nrb++;
			continue;
		}
		if (!s->rb ? !(s->rb = skep_ringbuf_consumer_new(h, on_record, &ctxs[nrb]))
			   : skep_ringbuf_consumer_add(s->rb, h, on_record, &ctxs[nrb]) < 0) {
			snprintf(err, errlen, "ring buffer %s: %s", skep_object_map_name(m), strerror(errno));
			return 1;
		}
		nrb++;
	}
	return 0;
}

static void child_exec(char **cmd, const char *agent, const char *objabs, const char *specs, int pid_filter,
		       int errfd)
{
	char pid[32], preload[PATH_MAX * 2];
	snprintf(pid, sizeof pid, "%d", (int)getpid());
	const char *old = getenv("LD_PRELOAD");
	/* after what is there: the agent interposes nothing, and a sanitizer runtime must come first */
	snprintf(preload, sizeof preload, "%s%s%s", old && *old ? old : "", old && *old ? ":" : "", agent);
	setenv("LD_PRELOAD", preload, 1);
	setenv(AGENT_ENV_OBJ, objabs, 1);
	setenv(AGENT_ENV_SPECS, specs ? specs : "", 1);
	setenv(AGENT_ENV_PIPE, AGENT_PIN_PIPE, 1);
	setenv(AGENT_ENV_FIRST, pid, 1);
	if (pid_filter)
		setenv(AGENT_ENV_ROOT, pid, 1);
	else
		unsetenv(AGENT_ENV_ROOT);
	signal(SIGINT, SIG_DFL);
	signal(SIGQUIT, SIG_DFL);
	execvp(cmd[0], cmd);
	int e = errno;
	if (write(errfd, &e, sizeof e) < 0)
		_exit(127);
	_exit(127);
}

int cmd_trace(int argc, char **argv)
{
	const char *objpath = NULL, *outpath = NULL;
	int json = 0, pid_filter = 0, rc = 0;
	double interval = 0;
	char **cmd = NULL;
	const char *specs_args[64][2];
	size_t nspecs = 0;
	json_errors = 0;
	json_err_f = NULL;
	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)  /* CMD's own -j is not ours */
		json_errors |= !strcmp(argv[i], "-j") || !strcmp(argv[i], "--json");
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--")) {
			cmd = argv + i + 1;
			break;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			fputs(usage_text, stdout);
			return 0;
		} else if (!strcmp(a, "-j") || !strcmp(a, "--json")) {
			json = 1;
		} else if (!strcmp(a, "--pid-filter")) {
			pid_filter = 1;
		} else if (!strcmp(a, "--interval") || !strcmp(a, "-o") || !strcmp(a, "--uprobe") ||
			   !strcmp(a, "--uretprobe") || !strcmp(a, "--usdt")) {
			if (i + 1 >= argc)
				return fail(2, "%s needs a value", a);
			const char *v = argv[++i];
			if (!strcmp(a, "-o")) {
				outpath = v;
			} else if (!strcmp(a, "--interval")) {
				char *end;
				interval = strtod(v, &end);
				if (*end || !(interval > 0) || interval > 86400)
					return fail(2, "--interval %s: want seconds > 0 (at most a day)", v);
			} else if (nspecs < 64) {
				specs_args[nspecs][0] = a + 2;
				specs_args[nspecs++][1] = v;
			} else {
				return fail(2, "at most 64 attach specs");
			}
		} else if (a[0] == '-' && a[1]) {
			return fail(2, "unknown option '%s'", a);
		} else if (!objpath) {
			objpath = a;
		} else {
			return fail(2, "unexpected '%s' (the command goes after --)", a);
		}
	}
	if (!objpath || !cmd || !cmd[0])
		return fail(2, "%s", !objpath ? "missing OBJ.o" : "missing -- CMD");

	struct session s = {0};
	char err[1024], objabs[PATH_MAX], agent[PATH_MAX];
	char *specs = NULL;
	size_t specs_len = 0;
	if (!realpath(objpath, objabs))
		return fail(1, "%s: %s", objpath, strerror(errno));
	if (!(s.obj = open_object(objpath, err, sizeof err)))
		return fail(1, "%s", err);
	for (size_t i = 0; i < nspecs; i++)
		if ((rc = add_spec(&specs, &specs_len, specs_args[i][0], specs_args[i][1], s.obj)))
			goto done;
	for (skep_program *p = skep_object_next_program(s.obj, NULL); p; p = skep_object_next_program(s.obj, p)) {
		const char *t = skep_program_attach_target(p), *why = skep_program_unsupported(p);
		if (why) {
			rc = fail(1, "program %s (%s): %s", skep_program_name(p), skep_program_section_name(p), why);
			goto done;
		}
		if (skep_program_type(p) != SKEP_PROG_TYPE_KPROBE) {
			rc = fail(1, "program %s is a %s program (section '%s'): skep trace attaches "
				  "uprobe, uretprobe and usdt programs", skep_program_name(p),
				  skep_prog_type_str(skep_program_type(p)), skep_program_section_name(p));
			goto done;
		}
		if ((!t || !*t) && !has_spec(specs, skep_program_name(p))) {
			rc = fail(2, "program %s: section '%s' names no target: give --uprobe %s=PATH:SYMBOL "
				  "(or --uretprobe, --usdt)", skep_program_name(p), skep_program_section_name(p),
				  skep_program_name(p));
			goto done;
		}
	}
	if (find_agent(agent, sizeof agent)) {
		rc = fail(1, "cannot find libskep-agent.so beside the skep binary (build it with make, "
			  "or set SKEP_AGENT)");
		goto done;
	}
	s.out.f = stdout;
	if (outpath && !(s.out.f = fopen(outpath, "we"))) {
		s.out.f = NULL;
		rc = fail(1, "-o %s: %s", outpath, strerror(errno));
		goto done;
	}
	json_err_f = s.out.f;
	s.out.json = json;
	json_init(&s.out.j, s.out.f);
	if (start_session(&s, objpath, err, sizeof err)) {
		rc = fail(1, "%s", err);
		goto done;
	}

	int errpipe[2];
	if (pipe2(errpipe, O_CLOEXEC)) {
		rc = fail(1, "pipe: %s", strerror(errno));
		goto done;
	}
	fflush(NULL);
	clock_gettime(CLOCK_MONOTONIC, &s.t0);
	pid_t pid = fork();
	if (pid < 0) {
		rc = fail(1, "fork: %s", strerror(errno));
		goto done;
	}
	if (pid == 0) {
		close(errpipe[0]);
		child_exec(cmd, agent, objabs, specs, pid_filter, errpipe[1]);
	}
	child_pid = pid;
	close(errpipe[1]);
	int e = 0;
	ssize_t got = read(errpipe[0], &e, sizeof e);
	close(errpipe[0]);
	int status = 0;
	if (got == (ssize_t)sizeof e) {
		waitpid(pid, &status, 0);
		rc = fail(1, "cannot run '%s': %s", cmd[0], strerror(e));
		goto done;
	}
	sym_capture(pid);  /* exec done: CMD's executable is mapped */
	struct sigaction ign = {.sa_handler = SIG_IGN}, fwd = {.sa_handler = forward};
	sigaction(SIGINT, &ign, NULL);
	sigaction(SIGQUIT, &ign, NULL);
	sigaction(SIGPIPE, &ign, NULL);  /* a reader gone (| head): still wait and clean up */
	sigaction(SIGTERM, &fwd, NULL);
	sigaction(SIGHUP, &fwd, NULL);

	double next = interval;
	for (;;) {
		sym_capture(pid);  /* shared libraries mapped since (a zombie's empty maps are ignored) */
		pid_t w = waitpid(pid, &status, WNOHANG);
		drain(&s, w == pid ? 0 : 50);
		if (w == pid || (w < 0 && errno != EINTR))
			break;
		if (interval > 0 && elapsed(&s) >= next) {
			trace_dump_maps(&s.out, s.obj, elapsed(&s), 0);
			next += interval;
		}
	}
	while (drain(&s, 0) > 0)
		;
	trace_dump_maps(&s.out, s.obj, elapsed(&s), 1);
	rc = WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
	if (s.out.json) {
		json_obj(&s.out.j, NULL);
		json_str(&s.out.j, "type", "exit");
		json_i64(&s.out.j, "pid", pid);
		json_i64(&s.out.j, "status", rc);
		if (WIFSIGNALED(status))
			json_i64(&s.out.j, "signal", WTERMSIG(status));
		json_end(&s.out.j);
		json_nl(&s.out.j);
	}
	if (s.others)
		fprintf(stderr, "skep trace: the agent also started in %d other process%s of the command's tree\n",
			s.others, s.others > 1 ? "es" : "");
	if (!s.ready && !s.agent_errors)
		fprintf(stderr, "skep trace: the agent started in no process of '%s' (a static or setuid program "
			"ignores LD_PRELOAD): nothing was traced\n", cmd[0]);
	if (s.agent_errors) {
		fprintf(stderr, "skep trace: the agent reported %d error%s (command status %d)\n", s.agent_errors,
			s.agent_errors > 1 ? "s" : "", rc);
		rc = 1;
	}
done:
	if (s.out.f && s.out.f != stdout)
		fclose(s.out.f);
	cleanup(&s);
	free(specs);
	return rc;
}
