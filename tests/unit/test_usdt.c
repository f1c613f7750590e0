/* USDT (src/attach/usdt.c, elf_symbols.c): argument specs parsed as libbpf 1.1 parses
 * them; this program's own .note.stapsdt (probes below, from <sys/sdt.h>) read as
 * `readelf -n` prints it; and end to end: a program written with libbpf's usdt.bpf.h
 * (tests/objects/usdt_args.bpf.c) attached in-process to skeptest:hit, the semaphore
 * counted while attached, the arguments it records asserted. */
#define _SDT_HAS_SEMAPHORES 1
#include <sys/sdt.h>

#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "attach/elf_symbols.h"
#include "attach/usdt.h"
#include "skep/attach.h"
#include "skep/object.h"

#include <bpf/libbpf.h>

__extension__ unsigned short skeptest_hit_semaphore __attribute__((unused)) __attribute__((section(".probes")));
__extension__ unsigned short skeptest_plain_semaphore __attribute__((unused)) __attribute__((section(".probes")));

/* Two sites of skeptest:hit (5 arguments: registers, a stack slot) and one of
 * skeptest:plain (a register and a constant). */
__attribute__((noinline)) long probed(int a, long b, short c, unsigned char e)
{
	long d[2] = {b * 3, 0};
	__asm__ volatile("" : : "r"(d) : "memory");
	if (skeptest_hit_semaphore)
		STAP_PROBE5(skeptest, hit, a, b, c, d[0], e);
	STAP_PROBE2(skeptest, plain, a, 42);
	if (skeptest_hit_semaphore)
		STAP_PROBE5(skeptest, hit, -a, b + 1, c, d[0], e);
	return d[0];
}
static long (*volatile call_probed)(int, long, short, unsigned char) = probed;

static int has(const char *s, const char *sub) { return s && strstr(s, sub) != NULL; }

/* ---- argument specs */

struct want_arg { int type; int16_t reg; int64_t val; int sign; int shift; };
static const struct {
	const char *spec;
	int rc, n;
	struct want_arg a[2];
	const char *err;
} specs[] = {
	{"-4@%edi", 0, 1, {{USDT_ARG_REG, 112, 0, 1, 32}}, NULL},
	{"8@%rax", 0, 1, {{USDT_ARG_REG, 80, 0, 0, 0}}, NULL},
	{"-2@%dx", 0, 1, {{USDT_ARG_REG, 96, 0, 1, 48}}, NULL},
	{"1@%cl", 0, 1, {{USDT_ARG_REG, 88, 0, 0, 56}}, NULL},
	{"1@%sil", 0, 1, {{USDT_ARG_REG, 104, 0, 0, 56}}, NULL},
	{"8@%rip", 0, 1, {{USDT_ARG_REG, 128, 0, 0, 0}}, NULL},
	{"8@%r15", 0, 1, {{USDT_ARG_REG, 0, 0, 0, 0}}, NULL},
	{"4@%r8d", 0, 1, {{USDT_ARG_REG, 72, 0, 0, 32}}, NULL},
	{"2@%r13w", 0, 1, {{USDT_ARG_REG, 16, 0, 0, 48}}, NULL},
	{"-1@%r9b", 0, 1, {{USDT_ARG_REG, 64, 0, 1, 56}}, NULL},
	{"8@-8(%rbp)", 0, 1, {{USDT_ARG_REG_DEREF, 32, -8, 0, 0}}, NULL},
	{"-4@-1204(%rbp)", 0, 1, {{USDT_ARG_REG_DEREF, 32, -1204, 1, 32}}, NULL},
	{"8@(%rsp)", 0, 1, {{USDT_ARG_REG_DEREF, 152, 0, 0, 0}}, NULL},
	{"4@16(%rbx)", 0, 1, {{USDT_ARG_REG_DEREF, 40, 16, 0, 32}}, NULL},
	{"4@$5", 0, 1, {{USDT_ARG_CONST, 0, 5, 0, 32}}, NULL},
	{"-4@$-9", 0, 1, {{USDT_ARG_CONST, 0, -9, 1, 32}}, NULL},
	{" 8 @ 16 ( %rbx) ", 0, 1, {{USDT_ARG_REG_DEREF, 40, 16, 0, 0}}, NULL},  /* sscanf's spaces... */
	{"-4@%edi -4@$42", 0, 2, {{USDT_ARG_REG, 112, 0, 1, 32}, {USDT_ARG_CONST, 0, 42, 1, 32}}, NULL},
	{"8@%rsi 8@-24(%rsp)", 0, 2, {{USDT_ARG_REG, 104, 0, 0, 0}, {USDT_ARG_REG_DEREF, 152, -24, 0, 0}}, NULL},
	{"", 0, 0, {{0}}, NULL},
	{"3@%eax", -EINVAL, 0, {{0}}, "USDT argument #0 '3@%eax': unsupported size 3"},
	{"16@%rax", -EINVAL, 0, {{0}}, "unsupported size 16"},
	{"8@%xmm0", -ENOENT, 0, {{0}}, "USDT argument #0 '8@%xmm0': unrecognized register 'xmm0'"},
	{"8@%ah", -ENOENT, 0, {{0}}, "unrecognized register 'ah'"},
	{"8@(%rax,%rdx,8)", -ENOENT, 0, {{0}}, "scaled-index addressing"},
	{"8@-8(%rbp,%rax,4)", -ENOENT, 0, {{0}}, "scaled-index addressing"},
	{"8@foo(%rip)", -EINVAL, 0, {{0}}, "USDT argument #0: unrecognized spec '8@foo(%rip)'"},
	{"8@0x10(%rax)", -EINVAL, 0, {{0}}, "unrecognized spec"},
	{"@%eax", -EINVAL, 0, {{0}}, "unrecognized spec '@%eax'"},
	{"8@%rax junk", -EINVAL, 0, {{0}}, "USDT argument #1: unrecognized spec 'junk'"},
	{"8@$", -EINVAL, 0, {{0}}, "unrecognized spec"},
	{"8@( %rbx )", -ENOENT, 0, {{0}}, "unrecognized register 'rbx '"},   /* ...and their limits */
};

static void test_specs(void)
{
	char err[256];
	for (size_t i = 0; i < sizeof specs / sizeof *specs; i++) {
		struct usdt_spec sp;
		int rc = usdt_parse_spec(specs[i].spec, 77, &sp, err, sizeof err);
		int ok = rc == specs[i].rc;
		if (ok && !rc) {
			ok = sp.arg_cnt == specs[i].n && sp.usdt_cookie == 77;
			for (int k = 0; ok && k < specs[i].n; k++) {
				const struct want_arg *w = &specs[i].a[k];
				const struct usdt_arg_spec *g = &sp.args[k];
				ok = g->arg_type == (uint32_t)w->type && g->reg_off == w->reg && g->val_off == (uint64_t)w->val &&
				     g->arg_signed == w->sign && g->arg_bitshift == w->shift;
			}
		} else if (ok) {
			ok = has(err, specs[i].err);
		}
		char name[80];
		snprintf(name, sizeof name, "spec '%s'", specs[i].spec);
		CHECK(ok, name, "rc %d (want %d) err '%s' n %d type %u reg %d val %lld sign %d shift %d", rc, specs[i].rc,
		      err, sp.arg_cnt, sp.args[0].arg_type, sp.args[0].reg_off, (long long)sp.args[0].val_off,
		      sp.args[0].arg_signed, sp.args[0].arg_bitshift);
	}
	/* 13 arguments: one more than BPF_USDT_MAX_ARG_CNT */
	char many[256] = "";
	for (int i = 0; i < 13; i++)
		strcat(many, "8@%rax ");
	struct usdt_spec sp;
	int rc = usdt_parse_spec(many, 0, &sp, err, sizeof err);
	CHECK(rc == -E2BIG && has(err, "more than 12 USDT arguments"), "13 arguments refused", "%d %s", rc, err);
	many[strlen(many) - 7] = 0;
	rc = usdt_parse_spec(many, 0, &sp, err, sizeof err);
	CHECK(rc == 0 && sp.arg_cnt == 12, "12 arguments", "%d %s", rc, err);
	/* the layout usdt.bpf.h reads */
	CHECK(sizeof(struct usdt_arg_spec) == 16 && sizeof(struct usdt_spec) == 208 &&
	      __builtin_offsetof(struct usdt_spec, usdt_cookie) == 192 && __builtin_offsetof(struct usdt_spec, arg_cnt) == 200,
	      "struct __bpf_usdt_spec layout", "%zu %zu", sizeof(struct usdt_arg_spec), sizeof(struct usdt_spec));
}

/* ---- notes vs readelf -n */

static void test_notes(const char *exe)
{
	struct usdt_note *v;
	size_t n;
	char err[512];
	int rc = elf_usdt_notes(exe, &v, &n, err, sizeof err);
	CHECK(rc == 0 && n == 3, "own USDT notes", "%d %s n=%zu", rc, err, n);
	if (rc)
		return;
	char cmd[PATH_MAX + 32], line[1024];
	snprintf(cmd, sizeof cmd, "readelf -n '%s'", exe);
	FILE *f = popen(cmd, "r");
	size_t seen = 0, matched = 0;
	char prov[128] = "", name[128] = "";
	unsigned long long loc = 0, base = 0, sema = 0;
	while (f && fgets(line, sizeof line, f)) {
		char *s = line + strspn(line, " ");
		s[strcspn(s, "\n")] = 0;
		if (sscanf(s, "Provider: %127s", prov) == 1 || sscanf(s, "Name: %127s", name) == 1)
			continue;
		if (sscanf(s, "Location: %llx, Base: %llx, Semaphore: %llx", &loc, &base, &sema) == 3)
			continue;
		if (strncmp(s, "Arguments:", 10))
			continue;
		const char *args = s + 10 + (s[10] == ' ');
		seen++;
		for (size_t i = 0; i < n; i++)
			if (!strcmp(v[i].provider, prov) && !strcmp(v[i].name, name) && v[i].pc == loc && v[i].sema == sema &&
			    !strcmp(v[i].args, args)) {
				matched++;
				break;
			}
	}
	if (f)
		pclose(f);
	CHECK(seen == n && matched == n, "notes as readelf -n prints them", "readelf %zu, skep %zu, matching %zu", seen, n,
	      matched);
	/* the sites are inside probed(), the semaphores at their variables */
	uint64_t off, size, addr;
	char path[PATH_MAX];
	rc = elf_resolve(exe, "probed", &off, &size, err, sizeof err);
	int inside = 0, semas = 0;
	for (size_t i = 0; !rc && i < n; i++) {
		if (!proc_map_offset(NULL, v[i].pc_offset, &addr, path, sizeof path, err, sizeof err) &&
		    addr >= (uint64_t)(uintptr_t)probed && addr < (uint64_t)(uintptr_t)probed + size)
			inside++;
		uint64_t sa = 0;
		void *want = !strcmp(v[i].name, "hit") ? (void *)&skeptest_hit_semaphore : (void *)&skeptest_plain_semaphore;
		if (!proc_map_offset(NULL, v[i].sema_offset, &sa, path, sizeof path, err, sizeof err) &&
		    sa == (uint64_t)(uintptr_t)want)
			semas++;
	}
	CHECK(inside == 3, "sites map into probed()", "%d of 3", inside);
	CHECK(semas == 3, "semaphores map to their variables", "%d of 3", semas);
	usdt_notes_free(v, n);
	/* a binary without notes */
	rc = elf_usdt_notes("/lib/x86_64-linux-gnu/libm.so.6", &v, &n, err, sizeof err);
	CHECK(rc == 0 && n == 0, "no notes: none", "%d %s %zu", rc, err, n);
	if (!rc)
		usdt_notes_free(v, n);
}

/* ---- end to end */

struct seen {
	uint64_t count;
	int64_t a, b, c, d, e;
	int64_t argcnt;
	uint64_t cookie;
	int64_t missing;
	uint64_t ip;
};

static void test_attach(const char *objdir)
{
	char p[PATH_MAX + 16];
	snprintf(p, sizeof p, "%s/usdt_args.o", objdir);
	skep_object *obj;
	int rc = skep_object_open_file(p, NULL, &obj);
	CHECK(rc == 0, "open usdt_args.o", "%d %s", rc, skep_object_error(NULL));
	if (rc)
		return;
	rc = skep_object_load(obj);
	CHECK(rc == 0, "load usdt_args.o", "%d %s", rc, skep_object_error(obj));
	skep_program *prog = skep_object_find_program_by_name(obj, "on_hit");
	skep_object_map *sm = skep_object_find_map_by_name(obj, "seen");
	if (rc || !prog || !sm) {
		skep_object_close(obj);
		return;
	}
	skep_map *seen = skep_object_map_handle(sm);
	call_probed(1, 2, 3, 4);   /* not attached: nothing */
	skep_link *l = NULL;
	rc = skep_attach_usdt(prog, NULL, "skeptest", "hit", 0xc00c1e, &l);
	CHECK(rc == 0 && l, "attach skeptest:hit", "%d %s", rc, skep_attach_error());
	if (rc) {
		skep_object_close(obj);
		return;
	}
	CHECK(skeptest_hit_semaphore == 2 && skeptest_plain_semaphore == 0, "semaphore counts the 2 attached sites",
	      "hit %u plain %u", skeptest_hit_semaphore, skeptest_plain_semaphore);
	CHECK(has(skep_link_desc(l), ":skeptest:hit") && has(skep_link_desc(l), "usdt:"), "link description", "%s",
	      skep_link_desc(l));
	long r = call_probed(-5, 1000000000000L, -300, 200);
	CHECK(r == 3000000000000L, "probed function still works", "%ld", r);
	struct seen s0 = {0}, s1 = {0};
	uint32_t k0 = 1, k1 = 0;   /* slot 1: a < 0 (first site), slot 0: -a > 0 (second) */
	skep_map_lookup_elem(seen, &k0, &s0);
	skep_map_lookup_elem(seen, &k1, &s1);
	CHECK(s0.count == 1 && s0.a == -5 && s0.b == 1000000000000L && s0.c == -300 && s0.d == 3000000000000L &&
	      s0.e == 200, "first site: the five arguments", "count %llu a %lld b %lld c %lld d %lld e %lld",
	      (unsigned long long)s0.count, (long long)s0.a, (long long)s0.b, (long long)s0.c, (long long)s0.d,
	      (long long)s0.e);
	CHECK(s1.count == 1 && s1.a == 5 && s1.b == 1000000000001L && s1.c == -300 && s1.d == 3000000000000L &&
	      s1.e == 200, "second site: its own arguments", "count %llu a %lld b %lld c %lld d %lld e %lld",
	      (unsigned long long)s1.count, (long long)s1.a, (long long)s1.b, (long long)s1.c, (long long)s1.d,
	      (long long)s1.e);
	CHECK(s0.argcnt == 5 && s1.argcnt == 5, "bpf_usdt_arg_cnt", "%lld %lld", (long long)s0.argcnt, (long long)s1.argcnt);
	CHECK(s0.cookie == 0xc00c1e && s1.cookie == 0xc00c1e, "bpf_usdt_cookie", "%llx", (unsigned long long)s0.cookie);
	CHECK(s0.missing == -ENOENT, "bpf_usdt_arg past the arguments: -ENOENT", "%lld", (long long)s0.missing);
	CHECK(s0.ip >= (uint64_t)(uintptr_t)probed && s0.ip < (uint64_t)(uintptr_t)probed + 256 && s0.ip != s1.ip,
	      "PT_REGS_IP at the sites", "%llx %llx", (unsigned long long)s0.ip, (unsigned long long)s1.ip);

	/* a second program on skeptest:plain too: its nop is the byte after hit's first */
	skep_link *l2 = NULL;
	rc = skep_attach_usdt(prog, NULL, "skeptest", "plain", 0, &l2);
	CHECK(rc == 0 && skeptest_plain_semaphore == 1, "attach skeptest:plain (adjacent nop)", "%d %s", rc,
	      skep_attach_error());
	call_probed(7, 1, 2, 3);
	skep_map_lookup_elem(seen, &k1, &s1);
	/* plain's "-4@%edi -4@$42": a = 7, b = 42 */
	CHECK(s1.count == 3 && s1.argcnt == 2 && s1.a == 7 && s1.b == 42, "plain: register and constant arguments",
	      "count %llu argcnt %lld a %lld b %lld", (unsigned long long)s1.count, (long long)s1.argcnt,
	      (long long)s1.a, (long long)s1.b);
	skep_link_destroy(l2);
	CHECK(skeptest_plain_semaphore == 0, "plain detached: semaphore back", "%u", skeptest_plain_semaphore);

	skep_link_destroy(l);
	CHECK(skeptest_hit_semaphore == 0, "detach: semaphore back to 0", "%u", skeptest_hit_semaphore);
	struct seen b0, b1;
	skep_map_lookup_elem(seen, &k0, &b0);
	skep_map_lookup_elem(seen, &k1, &b1);
	skeptest_hit_semaphore = 1;   /* even with the probe sites executed */
	call_probed(-9, 1, 2, 3);
	skeptest_hit_semaphore = 0;
	skep_map_lookup_elem(seen, &k0, &s0);
	skep_map_lookup_elem(seen, &k1, &s1);
	CHECK(b0.count == 2 && s0.count == b0.count && s1.count == b1.count, "detached: no more hits",
	      "%llu -> %llu, %llu -> %llu", (unsigned long long)b0.count, (unsigned long long)s0.count,
	      (unsigned long long)b1.count, (unsigned long long)s1.count);

	/* by the executable's path, with two programs' links on one site at once */
	char exe[PATH_MAX];
	ssize_t k = readlink("/proc/self/exe", exe, sizeof exe - 1);
	exe[k > 0 ? k : 0] = 0;
	skep_link *la = NULL, *lb = NULL;
	rc = skep_attach_usdt(prog, exe, "skeptest", "hit", 1, &la);
	int rc2 = skep_attach_usdt(prog, exe, "skeptest", "hit", 2, &lb);
	CHECK(rc == 0 && rc2 == 0 && skeptest_hit_semaphore == 4, "attach by path, twice", "%d %d %s sema %u", rc, rc2,
	      skep_attach_error(), skeptest_hit_semaphore);
	skep_map_lookup_elem(seen, &k0, &b0);
	call_probed(-1, 5, 6, 7);
	skep_map_lookup_elem(seen, &k0, &s0);
	CHECK(s0.count == b0.count + 2 && s0.b == 5 && s0.e == 7 && (s0.cookie == 1 || s0.cookie == 2),
	      "both links run, each with its spec", "%llu -> %llu cookie %llu", (unsigned long long)b0.count,
	      (unsigned long long)s0.count, (unsigned long long)s0.cookie);
	skep_link_destroy(lb);
	skep_map_lookup_elem(seen, &k0, &b0);
	call_probed(-1, 5, 6, 7);
	skep_map_lookup_elem(seen, &k0, &s0);
	CHECK(s0.count == b0.count + 1 && s0.cookie == 1 && skeptest_hit_semaphore == 2, "one link left: its cookie",
	      "%llu -> %llu cookie %llu sema %u", (unsigned long long)b0.count, (unsigned long long)s0.count,
	      (unsigned long long)s0.cookie, skeptest_hit_semaphore);
	skep_link_destroy(la);
	CHECK(skeptest_hit_semaphore == 0, "all detached", "%u", skeptest_hit_semaphore);

	/* refusals */
	rc = skep_attach_usdt(prog, NULL, "skeptest", "nope", 0, &l);
	CHECK(rc == -ENOENT && has(skep_attach_error(), "no USDT probe skeptest:nope"), "unknown probe", "%d %s", rc,
	      skep_attach_error());
	rc = skep_attach_usdt(prog, "libnotthere.so.3", "a", "b", 0, &l);
	CHECK(rc == -ENOENT && has(skep_attach_error(), "libnotthere.so.3: not mapped"), "unmapped binary", "%d %s", rc,
	      skep_attach_error());
	skep_object_close(obj);
}

/* The same object loads in the kernel with libbpf (not attached). */
static void test_kernel_load(const char *objdir)
{
	char p[PATH_MAX + 16];
	snprintf(p, sizeof p, "%s/usdt_args.o", objdir);
	void *h = dlopen("libbpf.so.1", RTLD_NOW);
	__typeof__(bpf_object__open_file) *op = h ? (__typeof__(op))dlsym(h, "bpf_object__open_file") : NULL;
	__typeof__(bpf_object__load) *ld = h ? (__typeof__(ld))dlsym(h, "bpf_object__load") : NULL;
	__typeof__(bpf_object__close) *cl = h ? (__typeof__(cl))dlsym(h, "bpf_object__close") : NULL;
	__typeof__(libbpf_set_print) *pr = h ? (__typeof__(pr))dlsym(h, "libbpf_set_print") : NULL;
	if (!op || !ld || !cl || !pr) {
		t_skip("usdt_args.o loads in the kernel", "no libbpf.so.1");
		if (h)
			dlclose(h);
		return;
	}
	pr(NULL);
	struct bpf_object *o = op(p, NULL);
	if (!o || (uintptr_t)o >= (uintptr_t)-4095) {
		CHECK(0, "usdt_args.o opens in libbpf", "%s", p);
	} else {
		int rc = ld(o);
		if (rc == -EPERM)
			t_skip("usdt_args.o loads in the kernel", "no privileges");
		else
			CHECK(rc == 0, "usdt_args.o loads in the kernel", "libbpf: %d", rc);
		cl(o);
	}
	dlclose(h);
}

int main(int argc, char **argv)
{
	(void)argc;
	char exe[PATH_MAX], objdir[PATH_MAX];
	ssize_t k = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (k <= 0)
		return 1;
	exe[k] = 0;
	const char *s = strrchr(argv[0], '/');
	snprintf(objdir, sizeof objdir, "%.*s/../objects", s ? (int)(s - argv[0]) : 1, s ? argv[0] : ".");
	test_specs();
	test_notes(exe);
	test_attach(objdir);
	test_kernel_load(objdir);
	return t_done();
}
