/* The JIT's inlined array lookups (jit_x86_64.c: inline_lookup): bpf_map_lookup_elem on
 * an ARRAY or PERCPU_ARRAY map known at the call is native code. Every case runs on the
 * interpreter, on the JIT with the inline code and on the JIT calling the helper
 * (JIT_OFF_INLINE), and all three must return the same pointer (or NULL) for edge
 * indexes; a program where the map is not known at the call must not be inlined. */
#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "exec/exec.h"
#include "exec/jit.h"
#include "insn_macros.h"
#include "maps/map.h"
#include "skep/map.h"
#include "skep/prog.h"

/* lddw DST, map id: both halves at p[n], p[n + 1] */
static size_t map_ld(struct skep_insn *p, size_t n, int dst, uint32_t id)
{
	struct skep_insn two[2] = {BPF_LD_IMM64_RAW(dst, BPF_PSEUDO_MAP_FD, id)};
	p[n] = two[0], p[n + 1] = two[1];
	return n + 2;
}

enum { DIRECT, VIA_R6, READ, JOIN, NSHAPES };
static const char *const shape_name[] = {"lddw r1 before the call", "r6 = map; r1 = r6",
					 "r1 read between lddw and call", "a jump target between lddw and call"};

/* r0 = bpf_map_lookup_elem(map, &(u32)r1) in one of three shapes. */
static size_t build(struct skep_insn *p, uint32_t id, int shape)
{
	size_t n = 0;
	p[n++] = BPF_STX_MEM(BPF_W, 10, 1, -4);
	p[n++] = BPF_MOV64_REG(2, 10);
	p[n++] = BPF_ALU64_IMM(BPF_ADD, 2, -4);
	switch (shape) {
	case DIRECT:
		n = map_ld(p, n, 1, id);
		break;
	case VIA_R6:
		n = map_ld(p, n, 6, id);
		p[n++] = BPF_MOV64_IMM(3, 7);
		p[n++] = BPF_MOV64_REG(1, 6);
		break;
	case READ:   /* r1 = map; r3 = r1 (the lddw keeps its code) */
		n = map_ld(p, n, 1, id);
		p[n++] = BPF_MOV64_REG(3, 1);
		break;
	case JOIN:   /* r1 = map; if r2 != 0 goto L; L: call: the call is a jump target */
		n = map_ld(p, n, 1, id);
		p[n++] = BPF_JMP_IMM(BPF_JNE, 2, 0, 0);
		break;
	}
	p[n++] = BPF_CALL_HELPER(1);
	p[n++] = BPF_EXIT_INSN();
	return n;
}

/* Is the call's code the inline lookup (it starts with mov eax, [rsi]) rather than a
 * call (e8 rel32, or movabs r11 + call r11)? -1: no code. */
static int inlined(skep_prog *p, size_t call)
{
	struct skep_jited jd;
	if (skep_prog_jited(p, &jd))
		return -1;
	const uint8_t *c = jd.code + jd.insn_off[call];
	return c[0] == 0x8b && c[1] == 0x06;
}

/* r0 as an offset into the program's own handle on the map (each program maps it). */
static uint64_t rel(const skep_prog *p, uint64_t r0)
{
	return r0 ? r0 - (uint64_t)(uintptr_t)p->maps[0]->data : UINT64_MAX;
}

static skep_prog *load(const struct skep_insn *in, size_t n, enum skep_engine e)
{
	skep_prog *p = skep_prog_new();
	if (!p)
		return NULL;
	if (skep_prog_load(p, in, n) || skep_prog_set_engine(p, e) || skep_prog_engine(p) != e) {
		fprintf(stderr, "load: %s\n", skep_prog_error(p));
		skep_prog_free(p);
		return NULL;
	}
	return p;
}

static void pin_cpu(int cpu)
{
	cpu_set_t s;
	CPU_ZERO(&s);
	CPU_SET(cpu, &s);
	sched_setaffinity(0, sizeof s, &s);
}

static void one_map(uint32_t type, uint32_t vsize, uint32_t max)
{
	skep_map *m = skep_map_create(type, "inl", 4, vsize, max, NULL);
	CHECK(m != NULL, "map created", "%s", skep_map_error(NULL));
	if (!m)
		return;
	char what[96];
	snprintf(what, sizeof what, "%s value %u max %u", type == SKEP_MAP_TYPE_ARRAY ? "array" : "percpu array",
		 vsize, max);
	for (int shape = 0; shape < NSHAPES; shape++) {
		struct skep_insn in[16];
		size_t n = build(in, skep_map_id(m), shape), call = n - 2;
		skep_prog *pi = load(in, n, SKEP_ENGINE_INTERP), *pj = load(in, n, SKEP_ENGINE_JIT);
		jit_off = JIT_OFF_INLINE;
		skep_prog *ph = load(in, n, SKEP_ENGINE_JIT);
		jit_off = 0;
		CHECK(pi && pj && ph, "programs load", "%s, %s", what, shape_name[shape]);
		if (!pi || !pj || !ph)
			goto next;
		int si = inlined(pj, call), sh = inlined(ph, call);
		CHECK(sh == 0, "JIT_OFF_INLINE calls the helper", "%s, %s: %d", what, shape_name[shape], sh);
		if (shape == JOIN)
			CHECK(si == 0, "not inlined where the map is unknown at the call", "%s: %d", what, si);
		else
			CHECK(si == 1, "inlined", "%s, %s: %d", what, shape_name[shape], si);
		static const int64_t idx[] = {0, 1, -1 /* max-1 */, -2 /* max */, 0xffffffff, -5, 0x100000000LL,
					      0x7fffffff, 0x80000000};
		int bad = 0, cpus = type == SKEP_MAP_TYPE_PERCPU_ARRAY ? 2 : 1;
		long online = sysconf(_SC_NPROCESSORS_ONLN);
		for (int c = 0; c < cpus && c < online; c++) {
			if (cpus > 1)
				pin_cpu(c);
			for (size_t k = 0; k < sizeof idx / sizeof idx[0]; k++) {
				uint64_t r1 = idx[k] == -1 ? max - 1 : idx[k] == -2 ? max : (uint64_t)idx[k];
				struct skep_run_args a = {.r = {r1}};
				uint64_t ri = 1, rj = 2, rh = 3;
				int e1 = skep_prog_run(pi, &a, &ri), e2 = skep_prog_run(pj, &a, &rj),
				    e3 = skep_prog_run(ph, &a, &rh);
				uint32_t want_in = (uint32_t)r1 < max;
				if (e1 || e2 || e3 || rel(pi, ri) != rel(pj, rj) || rel(pj, rj) != rel(ph, rh) ||
				    (ri != 0) != want_in) {
					bad++;
					fprintf(stderr, "%s, %s, index 0x%llx cpu %d: interp %d %#llx, jit %d %#llx, "
						"helper %d %#llx\n", what, shape_name[shape], (unsigned long long)r1, c,
						e1, (unsigned long long)ri, e2, (unsigned long long)rj, e3,
						(unsigned long long)rh);
				}
				if (want_in && ri) {   /* the value is the one the host sees */
					uint64_t tag = 0x1111111111111111ULL * (k + 1);
					uint32_t key = (uint32_t)r1;
					memcpy((void *)(uintptr_t)ri, &tag, vsize < 8 ? vsize : 8);
					uint8_t host[4096];
					skep_map_lookup_elem(m, &key, host);
					int slot = type == SKEP_MAP_TYPE_PERCPU_ARRAY ? sched_getcpu() % (int)m->ncpus : 0;
					bad += memcmp(host + (size_t)slot * m->vsize8, &tag, vsize < 8 ? vsize : 8) != 0;
				}
			}
		}
		CHECK(!bad, "inline lookup = helper lookup = interpreter", "%s, %s: %d differ", what,
		      shape_name[shape], bad);
	next:
		skep_prog_free(pi);
		skep_prog_free(pj);
		skep_prog_free(ph);
	}
	skep_map_close(m);
}

int main(void)
{
	one_map(SKEP_MAP_TYPE_ARRAY, 8, 1024);     /* stride 8: shift */
	one_map(SKEP_MAP_TYPE_ARRAY, 12, 5);       /* stride 16 */
	one_map(SKEP_MAP_TYPE_ARRAY, 20, 7);       /* stride 24: imul */
	one_map(SKEP_MAP_TYPE_ARRAY, 1, 1);        /* stride 8, one entry */
	one_map(SKEP_MAP_TYPE_PERCPU_ARRAY, 8, 4);
	one_map(SKEP_MAP_TYPE_PERCPU_ARRAY, 20, 3);
	return t_done();
}
