/* The verifier's accept/refuse cases (tests/verifier/ ** / *.case, format in
 * tests/verifier/README.md): each is verified by Skep (verdict and message fragment)
 * and, when bpf() works here, by the running kernel (its verdict must match the
 * expected one unless the case says the kernel differs). Also a few API checks. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/bpf.h>

#include "cases.h"
#include "check.h"
#include "kernel.h"
#include "kmap.h"
#include "skep/insn.h"
#include "skep/map.h"
#include "skep/helpers.h"
#include "skep/prog.h"
#include "skep/verifier.h"
/* src/verifier/kprotos.c: the verify-only prototypes (its header clashes with linux/bpf.h) */
const struct skep_helper_proto *kernel_helper_proto(uint32_t id);
size_t kernel_helper_count(void);

struct vmapdef {
	uint32_t type, key, value, entries, flags;
	uint32_t inner_type, inner_key, inner_value;   /* map-in-map: the inner template */
	int32_t spin_lock;
	int kfd;
};

struct vcase {
	char *path;
	char *asm_text;
	int prog_type;
	uint32_t attach;      /* expected_attach_type */
	struct vmapdef maps[8];
	int nmaps;
	int verdict;          /* 1 accept, 0 refuse, -1 missing */
	char *error;
	char *kernel;         /* "skip: ..." or "differs: ..." */
	unsigned flags;
};

static char *dupn(const char *s, size_t n)
{
	char *d = malloc(n + 1);
	memcpy(d, s, n);
	d[n] = 0;
	return d;
}

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t' || *s == '\n')
		s++;
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n'))
		s[--n] = 0;
	return s;
}

static const struct { const char *name; uint32_t type; } map_types[] = {
	{"hash", 1}, {"array", 2}, {"prog_array", 3}, {"perf_event_array", 4}, {"percpu_hash", 5},
	{"percpu_array", 6}, {"stack_trace", 7}, {"lru_hash", 9}, {"array_of_maps", 12},
	{"hash_of_maps", 13}, {"queue", 22}, {"stack", 23}, {"ringbuf", 27}, {"bloom_filter", 30},
};

static int parse_map(const char *line, struct vmapdef *m, char *err, size_t errlen)
{
	char name[32];
	memset(m, 0, sizeof *m);
	m->spin_lock = -1;
	m->kfd = -1;
	if (sscanf(line, "%31s", name) != 1)
		return snprintf(err, errlen, "empty map line"), -1;
	m->type = 0;
	for (size_t i = 0; i < sizeof map_types / sizeof map_types[0]; i++)
		if (!strcmp(name, map_types[i].name))
			m->type = map_types[i].type;
	if (!m->type)
		return snprintf(err, errlen, "unknown map type '%s'", name), -1;
	const char *p = line + strlen(name);
	char k[32];
	long v;
	int used;
	while (sscanf(p, " %31[a-z_]=%li%n", k, &v, &used) == 2) {
		if (!strcmp(k, "key")) m->key = (uint32_t)v;
		else if (!strcmp(k, "value")) m->value = (uint32_t)v;
		else if (!strcmp(k, "entries")) m->entries = (uint32_t)v;
		else if (!strcmp(k, "spin_lock")) m->spin_lock = (int32_t)v;
		else if (!strcmp(k, "flags")) m->flags = (uint32_t)v;
		else if (!strcmp(k, "inner_type")) m->inner_type = (uint32_t)v;
		else if (!strcmp(k, "inner_key")) m->inner_key = (uint32_t)v;
		else if (!strcmp(k, "inner_value")) m->inner_value = (uint32_t)v;
		else return snprintf(err, errlen, "unknown map field '%s'", k), -1;
		p += used;
	}
	return 0;
}

static int vcase_load(const char *path, struct vcase *c, char *err, size_t errlen)
{
	memset(c, 0, sizeof *c);
	c->path = strdup(path);
	c->verdict = -1;
	c->prog_type = -1;
	FILE *f = fopen(path, "r");
	if (!f)
		return snprintf(err, errlen, "%s: cannot open", path), -1;
	char *text = NULL;
	size_t cap = 0;
	ssize_t len = getdelim(&text, &cap, 0, f);
	fclose(f);
	if (len < 0) {
		free(text);
		return snprintf(err, errlen, "%s: empty", path), -1;
	}
	char *sec = NULL, *body = NULL;
	char *p = text;
	int rc = 0;
	for (;;) {
		char *nl = strchr(p, '\n');
		bool at_end = !*p;
		bool header = !at_end && !strncmp(p, "-- ", 3);
		if (at_end || header) {
			if (sec) {
				size_t blen = (size_t)(p - body);
				char *b = dupn(body, blen), *t = trim(b);
				if (!strcmp(sec, "type")) {
					c->prog_type = skep_verify_type_by_name(t);
					if (c->prog_type < 0)
						rc = -1, snprintf(err, errlen, "%s: unknown type '%s'", path, t);
				} else if (!strcmp(sec, "asm")) {
					c->asm_text = strdup(b);
				} else if (!strcmp(sec, "maps")) {
					char *save = NULL;
					for (char *ln = strtok_r(b, "\n", &save); ln && !rc; ln = strtok_r(NULL, "\n", &save)) {
						ln = trim(ln);
						if (!*ln || *ln == '#')
							continue;
						if (c->nmaps == 8 || parse_map(ln, &c->maps[c->nmaps++], err, errlen))
							rc = -1;
					}
				} else if (!strcmp(sec, "verdict")) {
					if (!strcmp(t, "accept")) c->verdict = 1;
					else if (!strcmp(t, "refuse")) c->verdict = 0;
					else rc = -1, snprintf(err, errlen, "%s: verdict must be accept or refuse", path);
				} else if (!strcmp(sec, "error")) {
					c->error = strdup(t);
				} else if (!strcmp(sec, "attach")) {
					c->attach = (uint32_t)strtoul(t, NULL, 0);
				} else if (!strcmp(sec, "kernel")) {
					c->kernel = strdup(t);
				} else if (!strcmp(sec, "flags")) {
					if (strstr(t, "allow_uninit_stack")) c->flags |= SKEP_VERIFY_ALLOW_UNINIT_STACK;
					if (strstr(t, "unpriv")) c->flags |= SKEP_VERIFY_UNPRIV;
				} else {
					rc = -1, snprintf(err, errlen, "%s: unknown section '%s'", path, sec);
				}
				free(b);
				free(sec);
				sec = NULL;
			}
			if (at_end || rc)
				break;
			char *e = nl ? nl : p + strlen(p);
			sec = dupn(p + 3, (size_t)(e - p - 3));
			char *ts = trim(sec);
			memmove(sec, ts, strlen(ts) + 1);
			p = nl ? nl + 1 : e;
			body = p;
			continue;
		}
		p = nl ? nl + 1 : p + strlen(p);
	}
	free(sec);
	free(text);
	if (!rc && !c->asm_text)
		rc = -1, snprintf(err, errlen, "%s: no asm section", path);
	if (!rc && c->verdict < 0)
		rc = -1, snprintf(err, errlen, "%s: no verdict section", path);
	if (!rc && c->prog_type < 0)
		rc = -1, snprintf(err, errlen, "%s: no type section", path);
	if (!rc && c->verdict == 0 && !c->error)
		rc = -1, snprintf(err, errlen, "%s: a refuse case needs an error section", path);
	return rc;
}

static void vcase_free(struct vcase *c)
{
	for (int i = 0; i < c->nmaps; i++)
		if (c->maps[i].kfd >= 0)
			close(c->maps[i].kfd);
	free(c->path);
	free(c->asm_text);
	free(c->error);
	free(c->kernel);
}

/* "a ... b" matches text containing a, later b. */
static bool frag_match(const char *text, const char *frag)
{
	char *f = strdup(frag), *save = NULL;
	const char *at = text;
	bool ok = true;
	for (char *part = f; ok; ) {
		char *sep = strstr(part, " ... ");
		if (sep)
			*sep = 0;
		const char *hit = strstr(at, part);
		if (!hit)
			ok = false;
		else
			at = hit + strlen(part);
		if (!sep)
			break;
		part = sep + 5;
	}
	(void)save;
	free(f);
	return ok;
}

static int case_map_info(void *ctx, int src, int32_t imm, struct skep_verifier_map *out)
{
	struct vcase *c = ctx;
	if (src != 1 || imm < 1 || imm > c->nmaps)
		return -EBADF;
	const struct vmapdef *m = &c->maps[imm - 1];
	out->type = m->type;
	out->key_size = m->key;
	out->value_size = m->value;
	out->max_entries = m->entries;
	out->spin_lock_off = m->spin_lock;
	out->map_flags = m->flags;
	out->inner_type = m->inner_type;
	out->inner_key_size = m->inner_key;
	out->inner_value_size = m->inner_value;
	return 0;
}

static char klog[1 << 16];

/* kernel_prog_load with an expected_attach_type (cgroup_sock_addr needs one) */
static int kload(const struct vcase *c, const struct skep_insn *insns, size_t n)
{
	union bpf_attr a;
	memset(&a, 0, sizeof a);
	a.prog_type = (uint32_t)c->prog_type;
	a.expected_attach_type = c->attach;
	a.insns = (uint64_t)(uintptr_t)insns;
	a.insn_cnt = (uint32_t)n;
	a.license = (uint64_t)(uintptr_t)"GPL";
	klog[0] = 0;
	a.log_buf = (uint64_t)(uintptr_t)klog;
	a.log_size = sizeof klog;
	a.log_level = 1;
	long fd = syscall(__NR_bpf, BPF_PROG_LOAD, &a, sizeof a);
	if (fd < 0 && errno == EAGAIN)
		fd = syscall(__NR_bpf, BPF_PROG_LOAD, &a, sizeof a);
	return fd < 0 ? -errno : (int)fd;
}

/* the agreement report */
static int n_skep_only, n_kernel_only, n_differs_explained;

static void run_case(const char *path, int have_kernel, int *kacc_srefuse, int *n_kernel_checked)
{
	struct vcase c;
	char err[512];
	const char *name = path + strlen(t_root()) + 1;
	if (vcase_load(path, &c, err, sizeof err)) {
		CHECK(0, name, "%s", err);
		vcase_free(&c);
		return;
	}
	struct skep_insn *insns = NULL;
	size_t n = 0;
	struct skep_diag d;
	if (skep_assemble(c.asm_text, &insns, &n, &d)) {
		CHECK(0, name, "does not assemble: %s", d.msg);
		vcase_free(&c);
		return;
	}
	static char log[1 << 16];
	struct skep_verify_opts o = {.sz = sizeof o, .prog_type = (uint32_t)c.prog_type, .log_level = 1,
				     .log_buf = log, .log_size = sizeof log, .flags = c.flags,
				     .expected_attach_type = c.attach,
				     .map_info = case_map_info, .map_ctx = &c};
	struct skep_verify_result r;
	int rc = skep_verify(insns, n, &o, &r);
	if (rc) {
		CHECK(0, name, "skep_verify failed: %s", strerror(-rc));
	} else if (c.verdict == 1) {
		CHECK(r.accepted, name, "refused: %s", r.msg);
	} else {
		CHECK(!r.accepted && frag_match(r.msg, c.error), name, "%s (expected refusal with '%s')",
		      r.accepted ? "accepted" : r.msg, c.error);
	}
	if (!rc && r.accepted)
		CHECK(r.mem_safe && r.n == n, name, "accepted without the per-insn facts");
	int skep_acc = !rc && r.accepted;
	char skep_msg[256];
	snprintf(skep_msg, sizeof skep_msg, "%s", r.msg);
	skep_verify_result_free(&r);

	/* the kernel */
	if (have_kernel && (!c.kernel || strncmp(c.kernel, "skip", 4))) {
		char kname[600];
		snprintf(kname, sizeof kname, "%s[kernel]", name);
		bool ok = true;
		for (int i = 0; i < c.nmaps && ok; i++) {
			struct vmapdef *m = &c.maps[i];
			if (m->inner_type) {
				int ifd = kmap_create(m->inner_type, m->inner_key, m->inner_value, 1, 0, 0);
				m->kfd = ifd < 0 ? ifd : kmap_create_inner(m->type, m->key, m->value, m->entries, m->flags, ifd);
				if (ifd >= 0)
					close(ifd);
			} else {
				m->kfd = kmap_create(m->type, m->key, m->value, m->entries, m->flags, 0);
			}
			if (m->kfd < 0) {
				t_skip(kname, "kernel map %d: %s", i + 1, strerror(-m->kfd));
				ok = false;
			}
		}
		if (ok) {
			for (size_t i = 0; i < n; i++)
				if (insns[i].code == 0x18 && insns[i].src == 1 && insns[i].imm >= 1 && insns[i].imm <= c.nmaps)
					insns[i].imm = c.maps[insns[i].imm - 1].kfd;
			int fd = kload(&c, insns, n);
			int kacc = fd >= 0;
			if (fd >= 0)
				close(fd);
			(*n_kernel_checked)++;
			/* SKEP_VCASE_REPORT: both verdicts, for writing cases */
			if (getenv("SKEP_VCASE_REPORT")) {
				char *st = strstr(klog, "\nprocessed ");
				if (st)
					*st = 0;
				char *last = strrchr(klog, '\n');
				printf("vreport %s skep=%d kernel=%d msg=%s klog=%s\n", name, skep_acc, kacc, skep_msg,
				       last ? last + 1 : klog);
			}
			bool differs = c.kernel && !strncmp(c.kernel, "differs", 7);
			if (differs)
				CHECK(kacc != c.verdict, kname, "the case says the kernel differs (%s), but it agrees",
				      c.kernel);
			else
				CHECK(kacc == c.verdict, kname, "kernel %s (%s)", kacc ? "accepts" : "refuses",
				      kacc ? "" : klog + (strlen(klog) > 300 ? strlen(klog) - 300 : 0));
			if (!kacc && c.verdict == 1 && !differs)
				(*kacc_srefuse)++;
			if (kacc != c.verdict) {
				n_differs_explained += differs;
				if (kacc)
					n_kernel_only++;
				else
					n_skep_only++;
			}
		}
	}
	free(insns);
	vcase_free(&c);
}

static void api_checks(void)
{
	struct skep_insn prog[2] = {{.code = 0xb7, .dst = 0, .imm = 0}, {.code = 0x95}};
	struct skep_verify_result r;
	struct skep_verify_opts o = {.sz = sizeof o, .prog_type = 0};
	CHECK(skep_verify(prog, 2, &o, &r) == 0 && !r.accepted && r.error == -EOPNOTSUPP, "api/memory_type",
	      "type 0 must be refused as unverifiable: %s", r.msg);
	o.prog_type = 9999;
	CHECK(skep_verify(prog, 2, &o, &r) == 0 && !r.accepted && strstr(r.msg, "unknown program type"),
	      "api/unknown_type", "%s", r.msg);
	o.prog_type = 6;
	char small[16];
	o.log_buf = small;
	o.log_size = sizeof small;
	o.log_level = 2;
	CHECK(skep_verify(prog, 2, &o, &r) == 0 && r.accepted && strlen(small) == 15, "api/log_truncated",
	      "log '%s'", small);
	CHECK(r.processed_insns == 2, "api/processed", "%llu", (unsigned long long)r.processed_insns);
	skep_verify_result_free(&r);
	CHECK(skep_verify(NULL, 2, &o, &r) == -EINVAL, "api/null", "NULL insns");
	CHECK(skep_verify_type_by_name("xdp") == 6 && skep_verify_type_by_name("socket") == 1 &&
	      skep_verify_type_by_name("tc") == 3 && skep_verify_type_by_name("nope") == -1 &&
	      !strcmp(skep_verify_type_name(6), "xdp"), "api/type_names", "names");
	/* the stats line and the failing path at level 1 */
	static char log[4096];
	struct skep_insn bad[3] = {{.code = 0xb7, .dst = 0, .imm = 0}, {.code = 0x61, .dst = 0, .src = 2}, {.code = 0x95}};
	o.log_buf = log;
	o.log_size = sizeof log;
	o.log_level = 1;
	CHECK(skep_verify(bad, 3, &o, &r) == 0 && !r.accepted && r.insn == 1 &&
	      strstr(log, "1: (61) r0 = *(u32 *)(r2 + 0)") && strstr(log, "R2 !read_ok") &&
	      strstr(log, "processed 2 insns (limit 1000000) max_states_per_insn"), "api/log_level1", "%s", log);
	/* default map resolution: skep_map_id */
	skep_map *m = skep_map_create(SKEP_MAP_TYPE_ARRAY, "v", 4, 8, 1, NULL);
	if (m) {
		int32_t id = (int32_t)skep_map_id(m);
		struct skep_insn lk[] = {
			{.code = 0x18, .dst = 1, .src = 1, .imm = id}, {0},
			{.code = 0xbf, .dst = 2, .src = 10}, {.code = 0x07, .dst = 2, .imm = -4},
			{.code = 0x62, .dst = 10, .off = -4, .imm = 0},
			{.code = 0x85, .imm = 1},
			{.code = 0x15, .dst = 0, .off = 1, .imm = 0},
			{.code = 0x61, .dst = 0, .src = 0, .off = 4},
			{.code = 0xb7, .dst = 0, .imm = 0},
			{.code = 0x95}};
		o.log_level = 0;
		o.prog_type = 1;
		CHECK(skep_verify(lk, sizeof lk / sizeof lk[0], &o, &r) == 0 && r.accepted, "api/skep_map_id",
		      "%s", r.msg);
		skep_verify_result_free(&r);
		lk[7].off = 8;
		CHECK(skep_verify(lk, sizeof lk / sizeof lk[0], &o, &r) == 0 && !r.accepted &&
		      strstr(r.msg, "invalid access to map value, value_size=8 off=8 size=4"), "api/skep_map_id_bad",
		      "%s", r.msg);
		skep_map_close(m);
	} else {
		t_skip("api/skep_map_id", "cannot create a map: %s", skep_map_error(NULL));
	}
}

/* Every helper of libbpf's bpf_helper_defs.h has a prototype (Skep's or verify-only)
 * under the same name; and a verified program that calls one the runtime lacks is
 * refused at run time with a message naming it. */
static void helper_protos(void)
{
	FILE *f = fopen("/usr/include/bpf/bpf_helper_defs.h", "r");
	if (!f) {
		t_skip("helpers/all_known", "no /usr/include/bpf/bpf_helper_defs.h");
	} else {
		char line[512], name[128];
		int ids = 0, missing = 0;
		/* "static long (* const bpf_x)(...) = (void *) 12;" spans lines: the name is on
		 * the first, the id on the last */
		name[0] = 0;
		while (fgets(line, sizeof line, f)) {
			char *b = strstr(line, "(*bpf_");
			if (!b)
				b = strstr(line, "(* const bpf_");
			if (b && !strncmp(line, "static ", 7)) {
				char *s = strstr(b, "bpf_");
				size_t k = strcspn(s, ")");
				snprintf(name, sizeof name, "%.*s", (int)k, s);
			}
			char *e = strstr(line, ") = (void *) ");
			if (e && *name) {
				int id = atoi(e + 13);
				const struct skep_helper_proto *p = skep_helper_proto((uint32_t)id);
				if (!p)
					p = kernel_helper_proto((uint32_t)id);
				ids++;
				if (!p || strcmp(p->name, name)) {
					missing++;
					CHECK(0, "helpers/all_known", "%s (#%d): %s", name, id, p ? p->name : "no prototype");
				}
				name[0] = 0;
			}
		}
		fclose(f);
		CHECK(ids >= 200 && !missing, "helpers/all_known", "%d helpers, %d without a prototype", ids, missing);
		printf("helper prototypes: %d helpers in bpf_helper_defs.h, %zu verify-only\n", ids,
		       kernel_helper_count());
	}
	/* exit's off is not checked (the kernel ignores it too) */
	struct skep_insn ex[] = {{.code = 0xb7, .dst = 0, .imm = 0}, {.code = 0x95, .off = 3}};
	struct skep_verify_opts eo = {.sz = sizeof eo, .prog_type = 1};
	struct skep_verify_result er;
	CHECK(skep_verify(ex, 2, &eo, &er) == 0 && er.accepted, "structure/exit_off", "%s", er.msg);
	skep_verify_result_free(&er);
	char why[128];
	if (kernel_available(why, sizeof why)) {
		int fd = kernel_prog_load(1, ex, 2, NULL, 0);
		CHECK(fd >= 0, "structure/exit_off[kernel]", "the kernel refuses exit with off 3: %s", strerror(-fd));
		if (fd >= 0)
			close(fd);
	}
	/* tc: bpf_skb_vlan_pop (#19) verifies; running it names the helper */
	struct skep_insn prog[] = {{.code = 0x85, .imm = 19}, {.code = 0xb7, .dst = 0, .imm = 0}, {.code = 0x95}};
	struct skep_verify_opts o = {.sz = sizeof o, .prog_type = 3};
	struct skep_verify_result r;
	CHECK(skep_verify(prog, 3, &o, &r) == 0 && r.accepted, "helpers/verify_only_accepted", "%s", r.msg);
	skep_verify_result_free(&r);
	skep_prog *p = skep_prog_new();
	uint8_t ctx[256] = {0};
	struct skep_region reg = {ctx, sizeof ctx, 1};
	struct skep_run_args a;
	memset(&a, 0, sizeof a);
	a.r[0] = (uint64_t)(uintptr_t)ctx;
	a.regions = &reg;
	a.nregions = 1;
	uint64_t r0;
	int rc = p ? skep_prog_load(p, prog, 3) : -ENOMEM;
	if (!rc)
		rc = skep_prog_run(p, &a, &r0);
	CHECK(rc == -ENOSYS && strstr(skep_prog_error(p), "bpf_skb_vlan_pop"), "helpers/verify_only_run",
	      "rc %d: %s", rc, p ? skep_prog_error(p) : "");
	skep_prog_free(p);
}

int main(void)
{
	char dir[4096], why[256];
	snprintf(dir, sizeof dir, "%s/tests/verifier", t_root());
	char **paths;
	size_t n;
	if (case_list(dir, &paths, &n)) {
		CHECK(0, "cases", "cannot list %s", dir);
		return t_done();
	}
	int have_kernel = kernel_available(why, sizeof why) && kmap_available();
	if (!have_kernel)
		t_skip("kernel", "%s", why);
	int gaps = 0, checked = 0;
	for (size_t i = 0; i < n; i++)
		run_case(paths[i], have_kernel, &gaps, &checked);
	CHECK(n >= 500, "cases/count", "%zu cases", n);
	printf("verifier cases: %zu, kernel-checked %d\n", n, checked);
	printf("agreement on cases: Skep accepts/kernel refuses %d, kernel accepts/Skep refuses %d "
	       "(each explained in its case file: %d)\n", n_skep_only, n_kernel_only, n_differs_explained);
	case_list_free(paths, n);
	api_checks();
	helper_protos();
	return t_done();
}
