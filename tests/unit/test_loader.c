/* The ELF object loader on objects clang builds from tests/objects/NAME.bpf.c: programs,
 * sections, subprogram linking, relocations, maps (BTF, legacy, global data), BTF and
 * line info, runs on both engines, refusals; cross-checked against llvm-readelf-19 (the
 * ELF fields) and libbpf (program and map lists, loaded with dlopen). */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "loader/loader.h"
#include "skep/map.h"
#include "skep/object.h"
#include "skep/prog.h"

static char objdir[512];

static char *path_of(const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", objdir, name);
	return buf;
}

static skep_object *open_named(const char *name)
{
	char p[600];
	skep_object *obj = NULL;
	int rc = skep_object_open_file(path_of(name, p, sizeof p), NULL, &obj);
	CHECK(rc == 0 && obj, name, "open: %d %s", rc, skep_object_error(NULL));
	return obj;
}

static int has(const char *s, const char *sub) { return s && strstr(s, sub) != NULL; }

/* ---- llvm-readelf cross-check of sections and symbols */
static void check_readelf(const char *name)
{
	char p[600], cmd[800], line[512];
	size_t len;
	FILE *f = fopen(path_of(name, p, sizeof p), "rb");
	if (!f) {
		CHECK(0, name, "cannot read");
		return;
	}
	fseek(f, 0, SEEK_END);
	len = (size_t)ftell(f);
	rewind(f);
	uint8_t *buf = malloc(len);
	if (fread(buf, 1, len, f) != len)
		len = 0;
	fclose(f);
	struct elf_file ef;
	char err[256];
	int rc = elf_parse(&ef, buf, len, err, sizeof err);
	CHECK(rc == 0, "readelf parse", "%s: %s", name, err);
	snprintf(cmd, sizeof cmd, "llvm-readelf-19 -S -s --wide %s 2>&1", p);
	FILE *r = popen(cmd, "r");
	int secs = 0, syms = 0, bad = 0;
	while (r && fgets(line, sizeof line, r)) {
		unsigned idx;
		char nm[128], type[32];
		unsigned long long addr, off, size, es;
		int lk, inf, al;
		char flg[16];
		if (sscanf(line, " [%u] %127s %31s %llx %llx %llx %llx %15s %d %d %d", &idx, nm, type, &addr, &off,
			   &size, &es, flg, &lk, &inf, &al) == 11 ||
		    (sscanf(line, " [%u] %127s %31s %llx %llx %llx %llx %d %d %d", &idx, nm, type, &addr, &off,
			    &size, &es, &lk, &inf, &al) == 10 && (flg[0] = 0, 1))) {
			if (idx >= ef.nsecs || strcmp(ef.secs[idx].name, nm) || ef.secs[idx].off != off ||
			    ef.secs[idx].size != size || (int)ef.secs[idx].link != lk || (int)ef.secs[idx].info != inf) {
				bad++;
				fprintf(stderr, "section %u differs: %s\n", idx, line);
			}
			secs++;
		}
		unsigned num;
		unsigned long long val, sz;
		char st[16], bind[16], vis[16], ndx[16], sname[128] = "";
		int k = sscanf(line, " %u: %llx %llu %15s %15s %15s %15s %127s", &num, &val, &sz, st, bind, vis, ndx, sname);
		if (k >= 7 && num < ef.nsyms) {
			const struct elf_sym *y = &ef.syms[num];
			unsigned long long sh = strcmp(ndx, "UND") ? strtoull(ndx, NULL, 10) : 0;
			if (!strcmp(ndx, "ABS"))
				sh = 0xfff1;
			if (y->value != val || y->size != sz || y->shndx != sh ||
			    (k == 8 && y->type != STT_SECTION && strcmp(y->name, sname))) {
				bad++;
				fprintf(stderr, "symbol %u differs: %s", num, line);
			}
			syms++;
		}
	}
	if (r)
		pclose(r);
	CHECK(secs + 1 == (int)ef.nsecs && syms + 1 >= (int)ef.nsyms && !bad, "llvm-readelf agrees",
	      "%s: %d/%zu sections, %d/%zu symbols, %d differ", name, secs, ef.nsecs, syms, ef.nsyms, bad);
	elf_free(&ef);
	free(buf);
}

/* ---- libbpf cross-check: program names, sections, types; map definitions */
struct libbpf {
	void *h;
	void *(*open)(const char *, const void *);
	void (*close)(void *);
	void *(*next_prog)(const void *, void *);
	const char *(*prog_name)(const void *);
	const char *(*prog_sec)(const void *);
	int (*prog_type)(const void *);
	int (*prog_eat)(const void *);
	void *(*next_map)(const void *, void *);
	const char *(*map_name)(const void *);
	int (*map_type)(const void *);
	uint32_t (*key_size)(const void *), (*value_size)(const void *), (*max_entries)(const void *),
		(*map_flags)(const void *);
};

static int libbpf_init(struct libbpf *l)
{
	l->h = dlopen("libbpf.so.1", RTLD_NOW);
	if (!l->h)
		return -1;
#define S(f, n) *(void **)&l->f = dlsym(l->h, n)
	S(open, "bpf_object__open_file");
	S(close, "bpf_object__close");
	S(next_prog, "bpf_object__next_program");
	S(prog_name, "bpf_program__name");
	S(prog_sec, "bpf_program__section_name");
	S(prog_type, "bpf_program__type");
	S(prog_eat, "bpf_program__expected_attach_type");
	S(next_map, "bpf_object__next_map");
	S(map_name, "bpf_map__name");
	S(map_type, "bpf_map__type");
	S(key_size, "bpf_map__key_size");
	S(value_size, "bpf_map__value_size");
	S(max_entries, "bpf_map__max_entries");
	S(map_flags, "bpf_map__map_flags");
#undef S
	return l->open && l->map_flags ? 0 : -1;
}

static int silent(int level, const char *fmt, va_list ap) { return 0; }

static void check_libbpf(struct libbpf *l, const char *name)
{
	char p[600];
	void *lo = l->open(path_of(name, p, sizeof p), NULL);
	if (!lo || (uintptr_t)lo >= (uintptr_t)-4095) {
		CHECK(0, "libbpf opens", "%s", name);
		return;
	}
	skep_object *obj = open_named(name);
	if (!obj) {
		l->close(lo);
		return;
	}
	int np = 0, nm = 0, bad = 0;
	skep_program *sp = NULL;
	for (void *lp = l->next_prog(lo, NULL); lp; lp = l->next_prog(lo, lp), np++) {
		sp = skep_object_next_program(obj, sp);
		if (!sp || strcmp(skep_program_name(sp), l->prog_name(lp)) ||
		    strcmp(skep_program_section_name(sp), l->prog_sec(lp))) {
			bad++;
			fprintf(stderr, "%s: program %d: libbpf %s/%s, skep %s\n", name, np, l->prog_name(lp),
				l->prog_sec(lp), sp ? skep_program_name(sp) : "(none)");
			break;
		}
		/* libbpf 1.1 does not know the newest names (tc/ingress ...): 0 there */
		if (l->prog_type(lp) && ((int)skep_program_type(sp) != l->prog_type(lp) ||
					 (int)skep_program_expected_attach_type(sp) != l->prog_eat(lp))) {
			bad++;
			fprintf(stderr, "%s: %s: libbpf type %d/%d, skep %u/%u\n", name, l->prog_name(lp),
				l->prog_type(lp), l->prog_eat(lp), skep_program_type(sp),
				skep_program_expected_attach_type(sp));
		}
	}
	if (skep_object_next_program(obj, sp))
		bad++;
	skep_object_map *sm = NULL;
	for (void *lm = l->next_map(lo, NULL); lm; lm = l->next_map(lo, lm), nm++) {
		sm = skep_object_next_map(obj, sm);
		if (!sm || strcmp(skep_object_map_name(sm), l->map_name(lm)) ||
		    (int)skep_object_map_type(sm) != l->map_type(lm) ||
		    skep_object_map_key_size(sm) != l->key_size(lm) ||
		    skep_object_map_value_size(sm) != l->value_size(lm) ||
		    skep_object_map_max_entries(sm) != l->max_entries(lm) ||
		    skep_object_map_flags(sm) != l->map_flags(lm)) {
			bad++;
			fprintf(stderr, "%s: map %d: libbpf %s t%d k%u v%u n%u f%#x; skep %s t%u k%u v%u n%u f%#x\n", name,
				nm, l->map_name(lm), l->map_type(lm), l->key_size(lm), l->value_size(lm),
				l->max_entries(lm), l->map_flags(lm), sm ? skep_object_map_name(sm) : "-",
				sm ? skep_object_map_type(sm) : 0, sm ? skep_object_map_key_size(sm) : 0,
				sm ? skep_object_map_value_size(sm) : 0, sm ? skep_object_map_max_entries(sm) : 0,
				sm ? skep_object_map_flags(sm) : 0);
		}
	}
	if (skep_object_next_map(obj, sm))
		bad++;
	CHECK(!bad && np > 0, "libbpf agrees", "%s: %d programs, %d maps, %d differ", name, np, nm, bad);
	skep_object_close(obj);
	l->close(lo);
}

/* ---- globals.o */
static const skep_object_map *map_named(skep_object *obj, const char *n)
{
	skep_object_map *m = skep_object_find_map_by_name(obj, n);
	CHECK(m != NULL, "map found", "%s", n);
	return m;
}

static void test_globals(void)
{
	skep_object *obj = open_named("globals.o");
	if (!obj)
		return;
	const char *names[] = {"xdp_one", "xdp_two", "sock_prog"}, *secs[] = {"xdp", "xdp", "socket"};
	uint32_t types[] = {6, 6, 1};
	int i = 0;
	for (skep_program *p = skep_object_next_program(obj, NULL); p; p = skep_object_next_program(obj, p), i++)
		CHECK(i < 3 && !strcmp(skep_program_name(p), names[i]) && !strcmp(skep_program_section_name(p), secs[i]) &&
		      skep_program_type(p) == types[i] && !skep_program_unsupported(p), "globals programs",
		      "%d: %s in %s type %u", i, skep_program_name(p), skep_program_section_name(p), skep_program_type(p));
	CHECK(i == 3, "globals program count", "%d", i);
	CHECK(!skep_object_find_program_by_name(obj, "add3") && !skep_object_find_program_by_name(obj, "twice"),
	      "subprograms are not programs", "found");
	CHECK(!strcmp(skep_object_license(obj), "GPL") && !strcmp(skep_object_name(obj), "globals"), "license, name",
	      "%s %s", skep_object_license(obj), skep_object_name(obj));

	const skep_object_map *counts = map_named(obj, "counts"), *pairs = map_named(obj, "pairs");
	const skep_object_map *data = map_named(obj, "globals.data"), *ro = map_named(obj, "globals.rodata"),
		*bss = map_named(obj, "globals.bss");
	if (!counts || !pairs || !data || !ro || !bss)
		goto out;
	CHECK(skep_object_map_type(counts) == 1 && skep_object_map_key_size(counts) == 4 &&
	      skep_object_map_value_size(counts) == 8 && skep_object_map_max_entries(counts) == 64, "btf hash map",
	      "t%u k%u v%u n%u", skep_object_map_type(counts), skep_object_map_key_size(counts),
	      skep_object_map_value_size(counts), skep_object_map_max_entries(counts));
	CHECK(skep_object_map_value_size(pairs) == 16, "btf struct value size", "%u", skep_object_map_value_size(pairs));
	const struct skep_btf *btf = skep_object_btf(obj);
	struct skep_btf_type bt;
	CHECK(btf && !skep_btf_type(btf, skep_object_map_btf_value_type_id(pairs), &bt) && bt.kind == SKEP_BTF_STRUCT &&
	      !strcmp(bt.name, "pair") && bt.vlen == 2, "value BTF type is struct pair", "kind %u name %s", bt.kind, bt.name);
	struct skep_btf_member mb;
	CHECK(btf && !skep_btf_member(btf, skep_object_map_btf_value_type_id(pairs), 1, &mb) && !strcmp(mb.name, "b") &&
	      mb.bit_offset == 64, "struct pair member b at 8", "%s at %u", mb.name, mb.bit_offset);
	CHECK(skep_object_map_value_size(data) == 32 && skep_object_map_value_size(ro) == 18 &&
	      skep_object_map_value_size(bss) == 12 && skep_object_map_flags(ro) == (1u << 10 | 1u << 7) &&
	      skep_object_map_flags(bss) == 1u << 10, "global data maps", "sizes %u %u %u flags %#x",
	      skep_object_map_value_size(data), skep_object_map_value_size(ro), skep_object_map_value_size(bss),
	      skep_object_map_flags(ro));

	/* xdp_one: 20 instructions, then twice (4) and add3 (4) appended in call order */
	skep_program *p = skep_object_find_program_by_name(obj, "xdp_one");
	size_t n;
	const struct skep_insn *in = skep_program_insns(p, &n);
	int ro_idx = (int)(ro - skep_object_next_map(obj, NULL)), bss_idx = (int)(bss - skep_object_next_map(obj, NULL));
	CHECK(n == 28, "linked length", "%zu", n);
	CHECK(n == 28 && in[0].code == 0x18 && in[0].src == 2 && in[0].imm == ro_idx && in[1].imm == 0 &&
	      in[3].src == 2 && in[3].imm == bss_idx && in[4].imm == 8, "map value relocations",
	      "src %d imm %d/%d, src %d imm %d/%d", in[0].src, in[0].imm, in[1].imm, in[3].src, in[3].imm, in[4].imm);
	CHECK(n == 28 && in[14].code == 0x85 && in[14].src == 1 && in[14].imm == 5 && in[22].imm == 1,
	      "call offsets in the combined program", "%d %d", in[14].imm, n == 28 ? in[22].imm : 0);
	size_t nl, nf;
	const struct skep_line_info *li = skep_program_line_info(p, &nl);
	const struct skep_func_info *fi = skep_program_func_info(p, &nf);
	int saw = 0;
	for (size_t k = 0; k < nl; k++)
		saw |= has(li[k].text, "bss_hits++") && has(li[k].file, "globals.bpf.c");
	CHECK(nl > 5 && saw, "line info", "%zu lines", nl);
	CHECK(nf == 3 && fi[0].insn == 0 && !strcmp(fi[0].name, "xdp_one") && fi[1].insn == 20 &&
	      !strcmp(fi[1].name, "twice") && fi[2].insn == 24 && !strcmp(fi[2].name, "add3"), "func info",
	      "%zu funcs", nf);
	/* sock_prog: lddw of the map -> MAP_FD; string in .rodata at offset 12 */
	p = skep_object_find_program_by_name(obj, "sock_prog");
	in = skep_program_insns(p, &n);
	int fd_ok = 0, str_ok = 0;
	for (size_t k = 0; k + 1 < n; k++) {
		fd_ok += in[k].code == 0x18 && in[k].src == 1 && in[k].imm == 0;
		str_ok += in[k].code == 0x18 && in[k].src == 2 && in[k].imm == ro_idx && in[k + 1].imm == 12;
	}
	CHECK(fd_ok == 1 && str_ok == 1, "map fd and string relocation", "%d %d", fd_ok, str_ok);

	/* rodata set before load shows in the map */
	size_t rsz;
	uint8_t *rod = skep_object_rodata(obj, &rsz);
	CHECK(rod && rsz == 18 && *(uint32_t *)rod == 100 && !memcmp(rod + 4, "skep", 4), "rodata image", "%zu", rsz);
	if (rod)
		*(uint32_t *)rod = 55;
	int rc = skep_object_load(obj);
	CHECK(rc == 0, "globals load", "%d %s", rc, skep_object_error(obj));
	if (rc)
		goto out;
	uint32_t key = 0;
	uint8_t val[32];
	CHECK(!skep_map_lookup_elem(skep_object_map_handle(ro), &key, val) && *(uint32_t *)val == 55, "rodata in map",
	      "%u", *(uint32_t *)val);
	CHECK(!skep_map_lookup_elem(skep_object_map_handle(data), &key, val) && *(uint32_t *)val == 7 &&
	      *(int64_t *)(val + 24) == 3, "data in map", "%u", *(uint32_t *)val);
	in = skep_program_insns(skep_object_find_program_by_name(obj, "xdp_one"), &n);
	CHECK(in[0].imm == (int32_t)skep_map_id(skep_object_map_handle(ro)), "relocated map id", "%d", in[0].imm);
	/* run xdp_one: bss_hits++, bss_last = ro_limit, returns twice(7) + 3 = 17 */
	static const enum skep_engine engines[] = {SKEP_ENGINE_INTERP, SKEP_ENGINE_JIT};
	uint8_t pkt[64] = {0};
	for (int e = 0; e < 2; e++) {
		skep_prog *sp = skep_program_prog(skep_object_find_program_by_name(obj, "xdp_one"));
		uint64_t r0 = 0;
		skep_prog_set_engine(sp, engines[e]);
		rc = skep_prog_run_mem(sp, pkt, sizeof pkt, &r0);
		size_t bsz;
		uint8_t *b = skep_object_bss(obj, &bsz);
		CHECK(rc == 0 && r0 == 17 && b && *(uint64_t *)b == (uint64_t)e + 1 && *(uint32_t *)(b + 8) == 55,
		      e ? "globals run (jit)" : "globals run (interp)", "rc %d r0 %llu hits %llu last %u", rc,
		      (unsigned long long)r0, b ? (unsigned long long)*(uint64_t *)b : 0ull, b ? *(uint32_t *)(b + 8) : 0);
	}
out:
	skep_object_close(obj);
}

static void test_calls(void)
{
	skep_object *obj = open_named("calls.o");
	if (!obj)
		return;
	skep_program *lp = skep_object_find_program_by_name(obj, "with_loop");
	size_t n;
	const struct skep_insn *in = lp ? skep_program_insns(lp, &n) : NULL;
	/* the callback's address: lddw src=BPF_PSEUDO_FUNC, imm to loop_cb appended at the end */
	size_t at = 0;
	while (in && at < n && !(in[at].code == 0x18 && in[at].src == 4))
		at++;
	CHECK(in && at < n && (long)at + 1 + in[at].imm == (long)n - 5, "callback address", "n %zu at %zu imm %d", n, at,
	      in && at < n ? in[at].imm : 0);
	skep_program_set_autoload(lp, 0);  /* bpf_loop runs once the helpers bind it */
	int rc = skep_object_load(obj);
	CHECK(rc == 0, "calls load", "%d %s", rc, skep_object_error(obj));
	const char *names[] = {"calc_a", "calc_b", "calc_c"};
	const uint64_t want[] = {37, 18, 42};
	for (int e = 0; e < 2 && !rc; e++)
		for (int i = 0; i < 3; i++) {
			skep_prog *sp = skep_program_prog(skep_object_find_program_by_name(obj, names[i]));
			uint64_t r0 = 0;
			uint8_t mem[8] = {0};
			skep_prog_set_engine(sp, e ? SKEP_ENGINE_JIT : SKEP_ENGINE_CHECKED);
			int r = skep_prog_run_mem(sp, mem, sizeof mem, &r0);
			CHECK(r == 0 && r0 == want[i], "bpf-to-bpf calls run", "%s %s: rc %d r0 %llu", names[i],
			      e ? "jit" : "checked", r, (unsigned long long)r0);
		}
	CHECK(skep_program_prog(lp) == NULL, "not autoloaded", "loaded");
	skep_object_close(obj);
}

static void test_maps(void)
{
	skep_object *obj = open_named("maps.o");
	if (!obj)
		return;
	struct { const char *name; uint32_t type, k, v, n, flags, pin; } want[] = {
		{"stats", 1, 4, 16, 128, 1, 0}, {"pcpu", 6, 4, 8, 2, 0, 0}, {"lru", 9, 8, 4, 16, 0, 0},
		{"events", 27, 0, 0, 4096, 0, 0}, {"skep_ldr_pinned", 2, 4, 4, 1, 0, 1}, {"inner_a", 2, 4, 4, 4, 0, 0},
		{"inner_b", 2, 4, 4, 4, 0, 0}, {"outer", 12, 4, 4, 3, 0, 0}, {"jumps", 3, 4, 4, 4, 0, 0},
	};
	const skep_object_map *m = NULL;
	size_t i = 0;
	for (m = skep_object_next_map(obj, NULL); m; m = skep_object_next_map(obj, m))
		i++;
	CHECK(i == 9, "btf map count", "%zu", i);
	for (i = 0; i < 9; i++) {
		if (!(m = skep_object_find_map_by_name(obj, want[i].name))) {
			CHECK(0, "btf map found", "%s", want[i].name);
			continue;
		}
		CHECK(skep_object_map_type(m) == want[i].type &&
		      skep_object_map_key_size(m) == want[i].k && skep_object_map_value_size(m) == want[i].v &&
		      skep_object_map_max_entries(m) == want[i].n && skep_object_map_flags(m) == want[i].flags &&
		      skep_object_map_pinning(m) == want[i].pin, "btf map definition", "%zu %s t%u k%u v%u n%u f%u",
		      i, want[i].name, skep_object_map_type(m), skep_object_map_key_size(m),
		      skep_object_map_value_size(m), skep_object_map_max_entries(m), skep_object_map_flags(m));
	}
	const skep_object_map *outer = skep_object_find_map_by_name(obj, "outer");
	const skep_object_map *inner = outer ? skep_object_map_inner(outer) : NULL;
	CHECK(inner && skep_object_map_type(inner) == 2 && skep_object_map_max_entries(inner) == 4 &&
	      !strcmp(skep_object_map_name(inner), "outer.inner"), "inner map template", "%p", (void *)inner);
	const struct skep_object_map *jm = skep_object_find_map_by_name(obj, "jumps");
	CHECK(jm && jm->ninit == 2 && jm->init[0].slot == 1 && !strcmp(obj->progs[jm->init[0].prog].name, "tail_a") &&
	      jm->init[1].slot == 3 && !strcmp(obj->progs[jm->init[1].prog].name, "tail_b"), "prog array initial values",
	      "%zu", jm ? jm->ninit : 0);
	char dir[] = "/dev/shm/skep-ldr-XXXXXX";
	if (!mkdtemp(dir)) {
		CHECK(0, "pin dir", "%s", strerror(errno));
		goto out;
	}
	setenv("SKEP_PIN_DIR", dir, 1);
	skep_program_set_autoload(skep_object_find_program_by_name(obj, "entry"), 0);  /* tail calls: later */
	int rc = skep_object_load(obj);
	CHECK(rc == 0, "maps load", "%d %s", rc, skep_object_error(obj));
	if (!rc) {
		uint32_t k = 0, v = 0;
		skep_map *om = skep_object_map_handle(outer);
		uint32_t ia = skep_map_uid(skep_object_map_handle(skep_object_find_map_by_name(obj, "inner_a")));
		CHECK(!skep_map_lookup_elem(om, &k, &v) && v == ia, "map-in-map slot 0", "%u vs %u", v, ia);
		k = 1;
		CHECK(skep_map_lookup_elem(om, &k, &v) == -ENOENT, "map-in-map slot 1 empty", "found %u", v);
		/* a second object reuses the pinned map */
		skep_object *o2 = open_named("maps.o");
		if (o2) {
			skep_program_set_autoload(skep_object_find_program_by_name(o2, "entry"), 0);
			rc = skep_object_load(o2);
			skep_map *a = skep_object_map_handle(skep_object_find_map_by_name(obj, "skep_ldr_pinned"));
			skep_map *b = o2 && !rc ? skep_object_map_handle(skep_object_find_map_by_name(o2, "skep_ldr_pinned")) : NULL;
			CHECK(rc == 0 && a && b && skep_map_uid(a) == skep_map_uid(b), "pinned map reused", "%d %s", rc,
			      skep_object_error(o2));
			skep_object_close(o2);
		}
		skep_map_unpin("skep_ldr_pinned");
	}
	rmdir(dir);
	unsetenv("SKEP_PIN_DIR");
out:
	skep_object_close(obj);
}

static void test_legacy(void)
{
	skep_object *obj = open_named("legacy.o");
	if (obj) {
		const skep_object_map *c = map_named(obj, "counters"), *f = map_named(obj, "flows");
		CHECK(c && f && skep_object_map_type(c) == 2 && skep_object_map_value_size(c) == 8 &&
		      skep_object_map_max_entries(c) == 16 && skep_object_map_type(f) == 1 && skep_object_map_key_size(f) == 8 &&
		      skep_object_map_value_size(f) == 16 && skep_object_map_flags(f) == 4 &&
		      !strcmp(skep_object_map_section(c), "maps"), "legacy 28-byte bpf_map_def", "%s", c ? skep_object_map_name(c) : "-");
		CHECK(skep_object_kversion(obj) == 0x060c00, "version section", "%#x", skep_object_kversion(obj));
		int rc = skep_object_load(obj);
		CHECK(rc == 0 && skep_object_map_handle(c) && skep_map_max_entries(skep_object_map_handle(f)) == 1024,
		      "legacy load", "%d %s", rc, skep_object_error(obj));
		skep_object_close(obj);
	}
	obj = open_named("elfmap.o");
	if (obj) {
		const skep_object_map *o = map_named(obj, "cls_outer"), *in = o ? skep_object_map_inner(o) : NULL;
		CHECK(o && in && skep_object_map_type(o) == 12 && skep_object_map_type(in) == 1 &&
		      skep_object_map_max_entries(in) == 8, "bpf_elf_map 36 bytes with inner_idx", "%p", (void *)in);
		skep_program *p = skep_object_find_program_by_name(obj, "cls_main");
		CHECK(p && skep_program_type(p) == 3, "classifier section", "%u", p ? skep_program_type(p) : 0);
		int rc = skep_object_load(obj);
		CHECK(rc == 0, "bpf_elf_map load", "%d %s", rc, skep_object_error(obj));
		skep_object_close(obj);
	}
}

static void test_refusals(void)
{
	skep_object *obj = open_named("bad_core.o");
	if (obj) {
		int rc = skep_object_load(obj);
		CHECK(rc == -EOPNOTSUPP && has(skep_object_error(obj), "CO-RE relocation") &&
		      has(skep_object_error(obj), "struct task_like") && has(skep_object_error(obj), "field byte offset"),
		      "CO-RE refused by name", "%d %s", rc, skep_object_error(obj));
		skep_object_close(obj);
	}
	char p[600];
	int rc = skep_object_open_file(path_of("bad_kconfig.o", p, sizeof p), NULL, &obj);
	CHECK(rc == -EOPNOTSUPP && !obj && has(skep_object_error(NULL), "extern 'CONFIG_HZ'"), "kconfig extern refused",
	      "%d %s", rc, skep_object_error(NULL));

	obj = open_named("sections.o");
	if (!obj)
		return;
	struct { const char *prog; uint32_t type, eat; const char *target; int runs; } want[] = {
		{"s_xdp", 6, 37, "", 1}, {"s_socket", 1, 0, "", 1}, {"s_tc", 3, 0, "", 1}, {"s_action", 4, 0, "", 1},
		{"s_tc_ingress", 3, 46, "", 1}, {"s_uprobe", 2, 0, "libc.so.6:malloc", 1},
		{"s_uretprobe", 2, 0, "/usr/bin/bash:readline", 1}, {"s_usdt", 2, 0, "libc.so.6:libc:setjmp", 1},
		{"s_tracepoint", 5, 0, "syscalls/sys_enter_read", 1}, {"s_tp", 5, 0, "sched/sched_switch", 1},
		{"s_raw_tp", 17, 0, "sys_enter", 1}, {"s_perf_event", 7, 0, "", 1}, {"s_kprobe", 2, 0, "do_sys_open", 0},
		{"s_fentry", 26, 24, "do_unlinkat", 0}, {"s_cgroup_skb", 8, 0, "", 0}, {"s_connect4", 18, 10, "", 0},
		{"s_lsm", 29, 27, "file_open", 0}, {"s_xdp_frags", 6, 37, "", 1}, {"s_flow", 22, 17, "", 0},
	};
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		skep_program *sp = skep_object_find_program_by_name(obj, want[i].prog);
		CHECK(sp && skep_program_type(sp) == want[i].type && skep_program_expected_attach_type(sp) == want[i].eat &&
		      !strcmp(skep_program_attach_target(sp), want[i].target) &&
		      (skep_program_unsupported(sp) == NULL) == want[i].runs, "section table", "%s: type %u eat %u target '%s'",
		      want[i].prog, sp ? skep_program_type(sp) : 0, sp ? skep_program_expected_attach_type(sp) : 0,
		      sp ? skep_program_attach_target(sp) : "");
	}
	rc = skep_object_load(obj);
	CHECK(rc == -EOPNOTSUPP && has(skep_object_error(obj), "kernel"), "unsupported type refused at load", "%d %s", rc,
	      skep_object_error(obj));
	skep_object_close(obj);
}

/* ---- malformed objects */
static uint8_t *slurp(const char *name, size_t *len)
{
	char p[600];
	FILE *f = fopen(path_of(name, p, sizeof p), "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	*len = (size_t)ftell(f);
	rewind(f);
	uint8_t *b = malloc(*len);
	if (fread(b, 1, *len, f) != *len)
		*len = 0;
	fclose(f);
	return b;
}

static void put32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> 8 * i); }
static void put64(uint8_t *p, uint64_t v) { for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> 8 * i); }

/* Open a mutated copy; expect failure with a message containing want. */
static void expect_bad(const uint8_t *orig, size_t len, void (*mut)(uint8_t *, const struct elf_file *), const char *what,
		       const char *want)
{
	uint8_t *b = malloc(len);
	memcpy(b, orig, len);
	struct elf_file ef;
	char err[256];
	elf_parse(&ef, orig, len, err, sizeof err);
	mut(b, &ef);
	skep_object *obj = NULL;
	int rc = skep_object_open_mem(b, len, NULL, &obj);
	if (!rc && obj)  /* some damage shows only at load */
		rc = skep_object_load(obj), snprintf(err, sizeof err, "%s", skep_object_error(obj));
	else
		snprintf(err, sizeof err, "%s", skep_object_error(NULL));
	CHECK(rc < 0 && has(err, want), what, "rc %d: %s", rc, err);
	skep_object_close(obj);
	elf_free(&ef);
	free(b);
}

static size_t sec_named(const struct elf_file *ef, const char *n)
{
	for (size_t i = 1; i < ef->nsecs; i++)
		if (!strcmp(ef->secs[i].name, n))
			return i;
	return 0;
}
static uint8_t *shdr(uint8_t *b, size_t i) { return b + elf_u64(b + 40) + i * 64; }

static void m_shoff(uint8_t *b, const struct elf_file *ef) { put64(b + 40, ef->len + 100); }
static void m_secoff(uint8_t *b, const struct elf_file *ef) { put64(shdr(b, sec_named(ef, "xdp")) + 24, 1ull << 40); }
static void m_secsize(uint8_t *b, const struct elf_file *ef) { put64(shdr(b, sec_named(ef, "xdp")) + 32, ~0ull - 8); }
static void m_overlap(uint8_t *b, const struct elf_file *ef)
{
	put64(shdr(b, sec_named(ef, "xdp")) + 24, ef->secs[sec_named(ef, ".text")].off + 8);
}
static void m_bss(uint8_t *b, const struct elf_file *ef) { put64(shdr(b, sec_named(ef, ".bss")) + 32, 1ull << 40); }
static void m_relsym(uint8_t *b, const struct elf_file *ef)
{
	put32(b + ef->secs[sec_named(ef, ".relxdp")].off + 12, 999);
}
static void m_reloff(uint8_t *b, const struct elf_file *ef) { put64(b + ef->secs[sec_named(ef, ".relxdp")].off, 4); }
static void m_symsec(uint8_t *b, const struct elf_file *ef)
{
	size_t st = ef->symtab;
	for (size_t i = 1; i < ef->nsyms; i++)
		if (!strcmp(ef->syms[i].name, "xdp_one"))
			b[ef->secs[st].off + i * 24 + 6] = 0xe7, b[ef->secs[st].off + i * 24 + 7] = 3;
}
static void m_symname(uint8_t *b, const struct elf_file *ef) { put32(b + ef->secs[ef->symtab].off + 24 * 5, 1u << 30); }
static void m_machine(uint8_t *b, const struct elf_file *ef) { b[18] = 62; }
static void m_class(uint8_t *b, const struct elf_file *ef) { b[4] = 1; }
static void m_endian(uint8_t *b, const struct elf_file *ef) { b[5] = 2; }
static void m_btfmagic(uint8_t *b, const struct elf_file *ef) { b[ef->secs[sec_named(ef, ".BTF")].off] = 0; }
static void m_btflen(uint8_t *b, const struct elf_file *ef) { put32(b + ef->secs[sec_named(ef, ".BTF")].off + 12, 1u << 30); }
static void m_btfref(uint8_t *b, const struct elf_file *ef)
{
	/* type 1's referenced type (the "type" field at +8) past the end */
	const struct elf_sec *s = &ef->secs[sec_named(ef, ".BTF")];
	uint32_t hdr = elf_u32(s->data + 4), toff = elf_u32(s->data + 8);
	uint8_t *t = b + s->off + hdr + toff;
	/* find a PTR (kind 2) */
	for (uint32_t off = 0; off + 12 <= elf_u32(s->data + 12);) {
		uint32_t info = elf_u32(t + off + 4), kind = info >> 24 & 0x1f, vlen = info & 0xffff;
		if (kind == 2) {
			put32(t + off + 8, 1u << 28);
			return;
		}
		off += 12 + (kind == 1 ? 4 : kind == 3 ? 12 : kind == 4 || kind == 5 || kind == 15 ? 12 * vlen
			     : kind == 6 || kind == 13 ? 8 * vlen : kind == 14 ? 4 : 0);
	}
}
static void m_extrec(uint8_t *b, const struct elf_file *ef)
{
	const struct elf_sec *s = &ef->secs[sec_named(ef, ".BTF.ext")];
	uint32_t hdr = elf_u32(s->data + 4), loff = elf_u32(s->data + 16);
	put32(b + s->off + hdr + loff, 3);  /* line_info record size */
}
static void m_callsym(uint8_t *b, const struct elf_file *ef)
{
	/* the call's relocation points at a data symbol */
	size_t rs = sec_named(ef, ".relxdp"), data = 0;
	for (size_t i = 1; i < ef->nsyms; i++)
		if (!strcmp(ef->syms[i].name, "data_var"))
			data = i;
	for (size_t i = 0; i < ef->secs[rs].size / 16; i++)
		if ((elf_u64(ef->secs[rs].data + i * 16 + 8) & 0xffffffff) == 10)
			put32(b + ef->secs[rs].off + i * 16 + 12, (uint32_t)data);
}

static void test_malformed(void)
{
	size_t len = 0;
	uint8_t *orig = slurp("globals.o", &len);
	if (!orig || !len) {
		CHECK(0, "malformed: globals.o", "missing");
		free(orig);
		return;
	}
	expect_bad(orig, len, m_shoff, "section table past the end", "section header table offset");
	expect_bad(orig, len, m_secoff, "section offset past the end", "is past the end of the file");
	expect_bad(orig, len, m_secsize, "huge section", "is past the end of the file");
	expect_bad(orig, len, m_overlap, "overlapping sections", "overlap");
	expect_bad(orig, len, m_bss, "huge .bss", "1 GiB");
	expect_bad(orig, len, m_relsym, "relocation symbol index",
		   "section '.relxdp': relocation 0: symbol index 999 is past the symbol table");
	expect_bad(orig, len, m_reloff, "relocation offset", "relocation 0: offset 4 is not at an instruction");
	expect_bad(orig, len, m_symsec, "symbol section index", "'xdp_one': section index 999 is past the section table");
	expect_bad(orig, len, m_symname, "symbol name", "symbol 5: name offset");
	expect_bad(orig, len, m_machine, "machine", "not a BPF object");
	expect_bad(orig, len, m_class, "class", "64-bit");
	expect_bad(orig, len, m_endian, "endianness", "little-endian");
	expect_bad(orig, len, m_btfmagic, "BTF magic", "BTF: bad magic");
	expect_bad(orig, len, m_btflen, "BTF type section length", "BTF: type section");
	expect_bad(orig, len, m_btfref, "BTF type reference", "past the last type");
	expect_bad(orig, len, m_extrec, "BTF.ext record size", ".BTF.ext: line_info record size 3");
	expect_bad(orig, len, m_callsym, "call to data", "not a function");

	/* every truncation fails cleanly */
	int ok = 1;
	for (size_t cut = 0; cut < len; cut += (cut < 128 ? 1 : 7)) {
		skep_object *obj = NULL;
		int rc = skep_object_open_mem(orig, cut, NULL, &obj);
		if (rc == 0 || obj || !*skep_object_error(NULL)) {
			ok = 0;
			fprintf(stderr, "truncated to %zu: rc %d\n", cut, rc);
		}
		skep_object_close(obj);
	}
	CHECK(ok, "truncated objects are refused", "see above");
	/* random damage: never a crash; either refused with a message or opened */
	srand(1);
	uint8_t *b = malloc(len);
	int refused = 0;
	for (int i = 0; i < 3000; i++) {
		memcpy(b, orig, len);
		for (int k = 0; k < 1 + i % 4; k++)
			b[(size_t)rand() % len] = (uint8_t)rand();
		skep_object *obj = NULL;
		int rc = skep_object_open_mem(b, len, NULL, &obj);
		if (rc) {
			refused++;
			ok &= *skep_object_error(NULL) != 0;
		}
		skep_object_close(obj);
	}
	CHECK(ok && refused > 0, "random damage", "%d refused", refused);
	free(b);
	free(orig);
}

int main(int argc, char **argv)
{
	const char *s = strrchr(argv[0], '/');
	snprintf(objdir, sizeof objdir, "%.*s/../objects", s ? (int)(s - argv[0]) : 1, s ? argv[0] : ".");
	if (getenv("SKEP_OBJDIR"))
		snprintf(objdir, sizeof objdir, "%s", getenv("SKEP_OBJDIR"));
	const char *dirs[2] = {"", "/v4"};
	char base[512];
	snprintf(base, sizeof base, "%s", objdir);
	for (int d = 0; d < 2; d++) {
		snprintf(objdir, sizeof objdir, "%s%s", base, dirs[d]);
		if (d && access(objdir, F_OK))
			break;  /* no clang-19 */
		printf("objects in %s\n", objdir);
		test_globals();
		test_calls();
		test_maps();
		test_legacy();
		test_refusals();
		test_malformed();
		static const char *const all[] = {"globals.o", "calls.o", "maps.o", "legacy.o", "elfmap.o", "sections.o"};
		for (size_t i = 0; i < sizeof all / sizeof *all; i++)
			check_readelf(all[i]);
	}
	snprintf(objdir, sizeof objdir, "%s", base);
	struct libbpf l = {0};
	if (libbpf_init(&l) == 0) {
		void (*set_print)(void *) = (void (*)(void *))dlsym(l.h, "libbpf_set_print");
		if (set_print)
			set_print((void *)silent);
		static const char *const cmp[] = {"globals.o", "calls.o", "maps.o", "sections.o", "bad_core.o"};
		for (size_t i = 0; i < sizeof cmp / sizeof *cmp; i++)
			check_libbpf(&l, cmp[i]);
		dlclose(l.h);
	} else {
		CHECK(0, "libbpf", "cannot dlopen libbpf.so.1 (apt-get install libbpf-dev)");
	}
	return t_done();
}
