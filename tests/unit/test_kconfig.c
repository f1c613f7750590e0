/* .kconfig externs (tests/objects/kconfig_*.bpf.c): the ones libbpf resolves itself
 * (LINUX_KERNEL_VERSION, LINUX_HAS_BPF_COOKIE, LINUX_HAS_SYSCALL_WRAPPER) live in a
 * read-only ".kconfig" array map with lddw map-value relocations; __weak unknown ones are
 * 0; strong CONFIG_* are refused by name. The map's bytes are compared with the ones
 * libbpf builds for the kernel (libbpf dlopen'ed), and the program's results with the
 * kernel's test run. */
#include <dlfcn.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include <bpf/libbpf.h>
#include <bpf/bpf.h>

#include "check.h"
#include "skep/object.h"
#include "skep/prog.h"

static char objdir[512];

static char *path_of(const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", objdir, name);
	return buf;
}

static int has(const char *s, const char *sub) { return s && strstr(s, sub) != NULL; }

static uint64_t kernel_version(void)
{
	struct utsname u;
	unsigned a, b, c;
	if (uname(&u) || sscanf(u.release, "%u.%u.%u", &a, &b, &c) != 3)
		return 0;
	return ((uint64_t)a << 16) + (b << 8) + (c > 255 ? 255 : c);
}

/* What Skep gives: the .kconfig map's bytes and the program's .bss after one run. */
struct result {
	uint8_t kcfg[64];
	size_t kcfg_size;
	uint64_t out[5];
	uint64_t r0;
};

static int run_skep(const char *path, struct result *r)
{
	skep_object *obj;
	int rc = skep_object_open_file(path, NULL, &obj);
	CHECK(rc == 0, "open kconfig_vars", "%d %s", rc, skep_object_error(NULL));
	if (rc)
		return -1;
	int ok = -1;
	skep_object_map *m = skep_object_find_map_by_name(obj, "kconfig.kconfig");
	CHECK(m && skep_object_map_type(m) == 2 && skep_object_map_max_entries(m) == 1 &&
	      skep_object_map_flags(m) == ((1u << 10) | (1u << 7)) && skep_object_map_value_size(m) == 18,
	      "kconfig map as libbpf builds it", "map %p type %u flags 0x%x value %u", (void *)m,
	      m ? skep_object_map_type(m) : 0, m ? skep_object_map_flags(m) : 0, m ? skep_object_map_value_size(m) : 0);
	/* the last map: after global data, as libbpf's bpf_object__init_maps */
	skep_object_map *last = NULL;
	for (skep_object_map *x = skep_object_next_map(obj, NULL); x; x = skep_object_next_map(obj, x))
		last = x;
	CHECK(m && last == m, "kconfig map comes last", "%s", last ? skep_object_map_name(last) : "none");
	/* relocations: every lddw of an extern became a map value of the .kconfig map */
	skep_program *p = skep_object_find_program_by_name(obj, "read_kconfig");
	size_t n = 0;
	const struct skep_insn *in = p ? skep_program_insns(p, &n) : NULL;
	int lddw_kcfg = 0;
	size_t kidx = 0;
	for (skep_object_map *x = skep_object_next_map(obj, NULL); x && x != m; x = skep_object_next_map(obj, x))
		kidx++;
	for (size_t i = 0; in && i + 1 < n; i++)
		if (in[i].code == 0x18 && in[i].src == 2 && in[i].imm == (int32_t)kidx)
			lddw_kcfg++;
	CHECK(lddw_kcfg == 5, "5 lddw map-value relocations into .kconfig", "%d", lddw_kcfg);
	if (!m || (rc = skep_object_load(obj))) {
		CHECK(0, "load kconfig_vars", "%d %s", rc, skep_object_error(obj));
		goto out;
	}
	size_t sz = 0;
	const void *v = skep_object_map_initial_value(m, &sz);
	CHECK(v && sz == 18, "kconfig map memory", "%zu", sz);
	if (!v || sz > sizeof r->kcfg)
		goto out;
	memcpy(r->kcfg, v, sz);
	r->kcfg_size = sz;
	uint8_t pkt[64] = {0};
	rc = skep_prog_run_mem(skep_program_prog(p), pkt, sizeof pkt, &r->r0);
	size_t bsz = 0;
	const uint8_t *b = skep_object_bss(obj, &bsz);
	CHECK(rc == 0 && b && bsz == sizeof r->out, "run read_kconfig", "rc %d bss %zu", rc, bsz);
	if (rc || !b)
		goto out;
	memcpy(r->out, b, sizeof r->out);
	ok = 0;
out:
	skep_object_close(obj);
	return ok;
}

/* The same object in the kernel through libbpf. */
static int run_kernel(const char *path, struct result *r, char *why, size_t wlen)
{
	void *h = dlopen("libbpf.so.1", RTLD_NOW);
	if (!h) {
		snprintf(why, wlen, "no libbpf.so.1: %s", dlerror());
		return 1;
	}
	struct {
		__typeof__(bpf_object__open_file) *open;
		__typeof__(bpf_object__load) *load;
		__typeof__(bpf_object__close) *close;
		__typeof__(bpf_object__find_map_by_name) *find_map;
		__typeof__(bpf_object__find_program_by_name) *find_prog;
		__typeof__(bpf_program__fd) *prog_fd;
		__typeof__(bpf_map__initial_value) *initial_value;
		__typeof__(bpf_map__fd) *map_fd;
		__typeof__(bpf_map_lookup_elem) *lookup;
		__typeof__(bpf_prog_test_run_opts) *test_run;
		__typeof__(libbpf_set_print) *set_print;
	} lb;
#define S(f, n) *(void **)&lb.f = dlsym(h, #n)
	S(open, bpf_object__open_file); S(load, bpf_object__load); S(close, bpf_object__close);
	S(find_map, bpf_object__find_map_by_name); S(find_prog, bpf_object__find_program_by_name);
	S(prog_fd, bpf_program__fd); S(initial_value, bpf_map__initial_value); S(map_fd, bpf_map__fd);
	S(lookup, bpf_map_lookup_elem); S(test_run, bpf_prog_test_run_opts); S(set_print, libbpf_set_print);
#undef S
	int rc = 1;
	lb.set_print(NULL);
	struct bpf_object *obj = lb.open(path, NULL);
	if (!obj || (uintptr_t)obj >= (uintptr_t)-4095) {
		snprintf(why, wlen, "libbpf cannot open %.120s", path);
		goto close_lib;
	}
	if (lb.load(obj)) {
		snprintf(why, wlen, "the kernel refuses the program (no privileges?)");
		goto close_obj;
	}
	struct bpf_map *km = lb.find_map(obj, ".kconfig"), *bss = lb.find_map(obj, ".bss");
	size_t sz = 0;
	const void *v = km ? lb.initial_value(km, &sz) : NULL;
	if (!v || sz > sizeof r->kcfg || !bss) {
		snprintf(why, wlen, "libbpf has no .kconfig map");
		rc = -1;
		goto close_obj;
	}
	memcpy(r->kcfg, v, sz);
	r->kcfg_size = sz;
	uint8_t pkt[64] = {0};
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt, .data_size_in = sizeof pkt, .repeat = 1);
	int key = 0;
	if (lb.test_run(lb.prog_fd(lb.find_prog(obj, "read_kconfig")), &o) ||
	    lb.lookup(lb.map_fd(bss), &key, r->out)) {
		snprintf(why, wlen, "test run failed: %s", strerror(errno));
		rc = -1;
		goto close_obj;
	}
	r->r0 = o.retval;
	rc = 0;
close_obj:
	lb.close(obj);
close_lib:
	dlclose(h);
	return rc;
}

int main(int argc, char **argv)
{
	const char *s = strrchr(argv[0], '/');
	snprintf(objdir, sizeof objdir, "%.*s/../objects", s ? (int)(s - argv[0]) : 1, s ? argv[0] : ".");
	(void)argc;
	char p[600];

	struct result sk = {0}, k = {0};
	if (!run_skep(path_of("kconfig_vars.o", p, sizeof p), &sk)) {
		uint64_t kv = kernel_version();
		CHECK(sk.out[0] == kv && kv > 0x050000, "LINUX_KERNEL_VERSION from uname", "0x%llx, want 0x%llx",
		      (unsigned long long)sk.out[0], (unsigned long long)kv);
		CHECK(sk.out[1] == 1 && sk.out[2] == 1, "LINUX_HAS_BPF_COOKIE and LINUX_HAS_SYSCALL_WRAPPER are 1",
		      "%llu %llu", (unsigned long long)sk.out[1], (unsigned long long)sk.out[2]);
		CHECK(sk.out[3] == 0 && sk.out[4] == 0, "__weak unknown externs are 0", "%llu %llu",
		      (unsigned long long)sk.out[3], (unsigned long long)sk.out[4]);
		CHECK(sk.r0 == 2, "program sees the kernel version", "r0 %llu", (unsigned long long)sk.r0);
		/* libbpf's layout: by alignment descending, then size, then name */
		static const struct { size_t off, size; uint64_t val; const char *name; } lay[] = {
			{0, 8, 0, "CONFIG_SKEP_NOT_THERE"}, {8, 4, 1, "LINUX_KERNEL_VERSION"},
			{12, 4, 0, "LINUX_SKEP_UNKNOWN"}, {16, 1, 1, "LINUX_HAS_BPF_COOKIE"},
			{17, 1, 1, "LINUX_HAS_SYSCALL_WRAPPER"},
		};
		for (size_t i = 0; i < sizeof lay / sizeof *lay; i++) {
			uint64_t got = 0, want = lay[i].val == 1 && lay[i].size == 4 ? kv : lay[i].val;
			if (sk.kcfg_size >= lay[i].off + lay[i].size)
				memcpy(&got, sk.kcfg + lay[i].off, lay[i].size);
			CHECK(sk.kcfg_size == 18 && got == want, lay[i].name, "at offset %zu: 0x%llx, want 0x%llx (map %zu bytes)",
			      lay[i].off, (unsigned long long)got, (unsigned long long)want, sk.kcfg_size);
		}

		char why[256];
		int kr = run_kernel(p, &k, why, sizeof why);
		if (kr > 0) {
			t_skip("kconfig map bytes as libbpf's", "%s", why);
		} else {
			CHECK(kr == 0 && k.kcfg_size == sk.kcfg_size, "kconfig map size as libbpf's", "%s; %zu vs %zu",
			      kr ? why : "", sk.kcfg_size, k.kcfg_size);
			/* all but LINUX_HAS_SYSCALL_WRAPPER (offset 17, out[2]): libbpf probes it by
			 * opening a kprobe on __x64_sys_bpf, which fails where kprobes are not
			 * available; Skep says 1 (x86-64 kernels since 4.17 have the wrappers) */
			int same = kr == 0 && !memcmp(k.kcfg, sk.kcfg, 17) && k.kcfg[17] <= 1;
			CHECK(same, "kconfig map bytes as libbpf's", "differ");
			CHECK(kr == 0 && k.out[0] == sk.out[0] && k.out[1] == sk.out[1] && k.out[3] == sk.out[3] &&
			      k.out[4] == sk.out[4] && k.r0 == sk.r0, "program results as the kernel's",
			      "kernel %llx %llu %llu %llu %llu r0 %llu", (unsigned long long)k.out[0],
			      (unsigned long long)k.out[1], (unsigned long long)k.out[2], (unsigned long long)k.out[3],
			      (unsigned long long)k.out[4], (unsigned long long)k.r0);
		}
	}

	/* a strong CONFIG_ extern is refused by name */
	skep_object *obj = NULL;
	int rc = skep_object_open_file(path_of("kconfig_strong.o", p, sizeof p), NULL, &obj);
	CHECK(rc == -EOPNOTSUPP && !obj && has(skep_object_error(NULL), "extern 'CONFIG_HZ'") &&
	      has(skep_object_error(NULL), "__weak"), "strong CONFIG_HZ refused by name", "%d %s", rc,
	      skep_object_error(NULL));
	skep_object_close(obj);
	return t_done();
}
