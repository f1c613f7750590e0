/* The verifier's accept/refuse cases (tests/verifier/ ** / *.case, format in
 * tests/verifier/README.md): each is verified by Skep (verdict and message fragment)
 * and, when bpf() works here, by the running kernel (its verdict must match the
 * expected one unless the case says the kernel differs). Also a few API checks. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cases.h"
#include "check.h"
#include "kernel.h"
#include "kmap.h"
#include "skep/insn.h"
#include "skep/map.h"
#include "skep/verifier.h"

struct vmapdef {
	uint32_t type, key, value, entries;
	int32_t spin_lock;
	int kfd;
};

struct vcase {
	char *path;
	char *asm_text;
	int prog_type;
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
	return 0;
}

static char klog[1 << 16];

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
	skep_verify_result_free(&r);

	/* the kernel */
	if (have_kernel && (!c.kernel || strncmp(c.kernel, "skip", 4))) {
		char kname[600];
		snprintf(kname, sizeof kname, "%s[kernel]", name);
		bool ok = true;
		for (int i = 0; i < c.nmaps && ok; i++) {
			struct vmapdef *m = &c.maps[i];
			uint32_t flags = m->type == 27 ? 0 : 0;
			m->kfd = kmap_create(m->type, m->key, m->value, m->entries, flags, 0);
			if (m->kfd < 0) {
				t_skip(kname, "kernel map %d: %s", i + 1, strerror(-m->kfd));
				ok = false;
			}
		}
		if (ok) {
			for (size_t i = 0; i < n; i++)
				if (insns[i].code == 0x18 && insns[i].src == 1 && insns[i].imm >= 1 && insns[i].imm <= c.nmaps)
					insns[i].imm = c.maps[insns[i].imm - 1].kfd;
			int fd = kernel_prog_load(c.prog_type, insns, n, klog, sizeof klog);
			int kacc = fd >= 0;
			if (fd >= 0)
				close(fd);
			(*n_kernel_checked)++;
			bool differs = c.kernel && !strncmp(c.kernel, "differs", 7);
			if (differs)
				CHECK(kacc != c.verdict, kname, "the case says the kernel differs (%s), but it agrees",
				      c.kernel);
			else
				CHECK(kacc == c.verdict, kname, "kernel %s (%s)", kacc ? "accepts" : "refuses",
				      kacc ? "" : klog + (strlen(klog) > 300 ? strlen(klog) - 300 : 0));
			if (!kacc && c.verdict == 1 && !differs)
				(*kacc_srefuse)++;
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
	CHECK(n >= 150, "cases/count", "%zu cases", n);
	printf("verifier cases: %zu, kernel-checked %d\n", n, checked);
	case_list_free(paths, n);
	api_checks();
	return t_done();
}
