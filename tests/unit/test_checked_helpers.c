/* The checked engine validates helper arguments against the helpers' prototypes
 * (src/exec/helper_check.c): for each argument kind a valid call runs and returns what
 * the fast engine returns, and each kind of bad argument is refused (-EFAULT/-EINVAL)
 * with a message naming the instruction, the helper and the argument; then random
 * r1..r5 go into every implemented helper and the run never crashes. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "insn_macros.h"
#include "skep/helpers.h"
#include "skep/map.h"
#include "skep/prog.h"

enum { R0, R1, R2, R3, R4, R5, R6, R7, R8, R9, R10 };

struct pb {
	struct skep_insn in[256];
	size_t n;
};
static void add_n(struct pb *b, const struct skep_insn *x, size_t n)
{
	for (size_t k = 0; k < n && b->n < sizeof b->in / sizeof b->in[0]; k++)
		b->in[b->n++] = x[k];
}
#define A(b, ...) add_n(b, (struct skep_insn[]){__VA_ARGS__}, \
			sizeof((struct skep_insn[]){__VA_ARGS__}) / sizeof(struct skep_insn))
static void ld_map(struct pb *b, int reg, const skep_map *m)
{
	A(b, BPF_LD_IMM64_RAW(reg, BPF_PSEUDO_MAP_FD, skep_map_id(m)));
}
/* rX = r10 + off */
static void fp(struct pb *b, int reg, int off) { A(b, BPF_MOV64_REG(reg, R10), BPF_ALU64_IMM(BPF_ADD, reg, off)); }

static char why[512];
/* Run on engine e with r1 = mem (writable) and r2 = rom (read-only, may be NULL). */
static int run(enum skep_engine e, const struct pb *b, void *mem, size_t len, void *rom, size_t romlen,
	       uint64_t *r0)
{
	skep_prog *p = skep_prog_new();
	int err = skep_prog_load(p, b->in, b->n);
	if (!err)
		err = skep_prog_set_engine(p, e);
	struct skep_region reg[2] = {{mem, len, 1}, {rom, romlen, 0}};
	struct skep_run_args a = {{(uintptr_t)mem, (uintptr_t)rom}, reg, rom ? 2 : 1, NULL, 0};
	*r0 = 0;
	if (!err)
		err = skep_prog_run(p, &a, r0);
	snprintf(why, sizeof why, "%s", err ? skep_prog_error(p) : "");
	skep_prog_free(p);
	return err;
}

/* a valid call: the checked engine runs it and agrees with the fast one */
static void ok(const char *name, const struct pb *b)
{
	uint8_t m1[64] = "hello", m2[64] = "hello";
	uint64_t r_fast, r_chk;
	int e1 = run(SKEP_ENGINE_INTERP, b, m1, sizeof m1, NULL, 0, &r_fast);
	int e2 = run(SKEP_ENGINE_CHECKED, b, m2, sizeof m2, NULL, 0, &r_chk);
	CHECK(e1 == 0 && e2 == 0 && r_fast == r_chk && !memcmp(m1, m2, sizeof m1), name,
	      "fast %d r0 %" PRIu64 ", checked %d r0 %" PRIu64 ": %s", e1, r_fast, e2, r_chk, why);
}

/* a bad call: refused with err and a message containing frag */
static void bad(const char *name, const struct pb *b, int err, const char *frag)
{
	uint8_t m[64] = "hello", rom[16] = "read only";
	uint64_t r0;
	int rc = run(SKEP_ENGINE_CHECKED, b, m, sizeof m, rom, sizeof rom, &r0);
	CHECK(rc == err && strstr(why, frag), name, "rc %d (want %d) \"%s\" (want \"%s\")", rc, err, why, frag);
}

static void exit0(struct pb *b) { A(b, BPF_EXIT_INSN()); }
static uint64_t test_double(uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e) { return 2 * a; }

static void test_kinds(void)
{
	skep_map *arr = skep_map_create(SKEP_MAP_TYPE_ARRAY, "ca", 4, 8, 4, NULL);
	skep_map *other = skep_map_create(SKEP_MAP_TYPE_ARRAY, "co", 4, 8, 4, NULL);
	skep_map *q = skep_map_create(SKEP_MAP_TYPE_QUEUE, "cq", 0, 8, 4, NULL);
	skep_map *rb = skep_map_create(SKEP_MAP_TYPE_RINGBUF, "cr", 0, 0, 4096, NULL);
	struct skep_map_create_opts lo = {.sz = sizeof lo, .has_spin_lock = 1, .spin_lock_off = 0};
	skep_map *lk = skep_map_create(SKEP_MAP_TYPE_ARRAY, "cl", 4, 8, 2, &lo);
	CHECK(arr && other && q && rb && lk, "maps created", "%s", skep_map_error(NULL));
	if (!arr || !other || !q || !rb || !lk)
		return;
	uint32_t k = 1;
	uint64_t v = 77;
	skep_map_update_elem(arr, &k, &v, 0);
	struct pb b;

	/* CONST_MAP_PTR + MAP_KEY: lookup of key 1, r0 = *value */
#define LOOKUP(MAPSRC, KEYSRC) \
	b.n = 0; A(&b, BPF_ST_MEM(BPF_W, R10, -8, 1)); MAPSRC; KEYSRC; \
	A(&b, BPF_CALL_HELPER(1), BPF_JMP_IMM(BPF_JEQ, R0, 0, 1), BPF_LDX_MEM(BPF_DW, R0, R0, 0)); exit0(&b)
	LOOKUP(ld_map(&b, R1, arr), fp(&b, R2, -8));
	ok("map_lookup_elem with a referenced map and a stack key", &b);
	LOOKUP(A(&b, BPF_MOV64_IMM(R1, 0)), fp(&b, R2, -8));
	bad("map arg: NULL", &b, -EFAULT, "insn 4: bpf_map_lookup_elem arg 1 (r1) is not a map this program references");
	LOOKUP(A(&b, BPF_LD_IMM64(R1, (uintptr_t)other)), fp(&b, R2, -8));
	bad("map arg: a map the program does not reference", &b, -EFAULT, "arg 1 (r1) is not a map this program references");
	LOOKUP(ld_map(&b, R1, arr); A(&b, BPF_ALU64_IMM(BPF_ADD, R1, 8)), fp(&b, R2, -8));
	bad("map arg: a map pointer plus 8", &b, -EFAULT, "arg 1 (r1) is not a map");
	LOOKUP(ld_map(&b, R1, arr), A(&b, BPF_MOV64_IMM(R2, 0)));
	bad("key arg: NULL", &b, -EFAULT, "bpf_map_lookup_elem arg 2 (r2) = 0x0: 4 readable bytes there are outside");
	LOOKUP(ld_map(&b, R1, arr), fp(&b, R2, -2));
	bad("key arg: past the top of the frame", &b, -EFAULT, "arg 2 (r2) = 0x");
	LOOKUP(ld_map(&b, R1, arr), A(&b, BPF_LD_IMM64(R2, 0xdead0000)));
	bad("key arg: garbage", &b, -EFAULT, "arg 2 (r2) = 0xdead0000");
	LOOKUP(ld_map(&b, R1, arr), A(&b, BPF_MOV64_REG(R2, R1), BPF_ALU64_IMM(BPF_ADD, R2, 62)));
	bad("key arg: straddling the end of the context", &b, -EFAULT, "arg 2 (r2)");

	/* MAP_VALUE (read) and UNINIT_MAP_VALUE (written) */
	b.n = 0;
	A(&b, BPF_MOV64_REG(R6, R1), BPF_ST_MEM(BPF_DW, R10, -16, 5));
	ld_map(&b, R1, q), fp(&b, R2, -16), A(&b, BPF_MOV64_IMM(R3, 0), BPF_CALL_HELPER(87));
	ld_map(&b, R1, q), A(&b, BPF_MOV64_REG(R2, R6), BPF_CALL_HELPER(88), BPF_LDX_MEM(BPF_DW, R0, R6, 0));
	exit0(&b);
	ok("push_elem from the stack, pop_elem into the context", &b);
	b.n = 0;
	ld_map(&b, R1, q), A(&b, BPF_MOV64_REG(R2, R2), BPF_CALL_HELPER(88));
	exit0(&b);
	bad("pop_elem into read-only memory", &b, -EFAULT, "bpf_map_pop_elem arg 2 (r2) = 0x");
	bad("pop_elem into read-only memory names why", &b, -EFAULT, "in read-only memory");
	b.n = 0;
	ld_map(&b, R1, q), fp(&b, R2, -4), A(&b, BPF_MOV64_IMM(R3, 0), BPF_CALL_HELPER(87));
	exit0(&b);
	bad("push_elem: value_size bytes past the frame", &b, -EFAULT, "bpf_map_push_elem arg 2 (r2)");

	/* PTR_TO_MEM + CONST_SIZE(_OR_ZERO), fixed sizes */
	b.n = 0;
	fp(&b, R1, -16), A(&b, BPF_MOV64_IMM(R2, 16), BPF_CALL_HELPER(16), BPF_LDX_MEM(BPF_B, R0, R10, -16));
	exit0(&b);
	uint64_t r0a, r0b;
	uint8_t m[64];
	int e1 = run(SKEP_ENGINE_CHECKED, &b, m, sizeof m, NULL, 0, &r0a);
	int e2 = run(SKEP_ENGINE_INTERP, &b, m, sizeof m, NULL, 0, &r0b);
	CHECK(e1 == 0 && e2 == 0 && r0a == r0b && r0a, "get_current_comm into the stack", "%d %d %s", e1, e2, why);
	b.n = 0;
	fp(&b, R1, -16), A(&b, BPF_MOV64_IMM(R2, 17), BPF_CALL_HELPER(16));
	exit0(&b);
	bad("mem arg: size one byte past the frame", &b, -EFAULT, "insn 3: bpf_get_current_comm arg 1 (r1) = 0x");
	b.n = 0;
	fp(&b, R1, -16), A(&b, BPF_MOV64_IMM(R2, 0), BPF_CALL_HELPER(16));
	exit0(&b);
	bad("CONST_SIZE of 0", &b, -EINVAL, "bpf_get_current_comm arg 2 (r2) size must not be 0");
	b.n = 0;
	fp(&b, R1, -16), A(&b, BPF_MOV64_IMM(R2, -1), BPF_CALL_HELPER(16));
	exit0(&b);
	bad("mem arg: a huge size", &b, -EFAULT, "arg 1 (r1)");
	b.n = 0;
	A(&b, BPF_MOV64_IMM(R1, 0), BPF_MOV64_IMM(R2, 0), BPF_MOV64_IMM(R3, 0), BPF_CALL_HELPER(4));
	exit0(&b);
	ok("probe_read of 0 bytes into NULL", &b);
	b.n = 0;
	A(&b, BPF_MOV64_IMM(R1, 0), BPF_MOV64_IMM(R2, 8), BPF_MOV64_IMM(R3, 0), BPF_CALL_HELPER(4));
	exit0(&b);
	bad("NULL with a non-zero size", &b, -EFAULT, "bpf_probe_read arg 1 (r1) = 0x0: 8 writable bytes");
	b.n = 0;  /* strtol("123", 4, 0, &res): res is 8 bytes, fixed */
	A(&b, BPF_ST_MEM(BPF_W, R10, -8, 0x333231));
	fp(&b, R1, -8), A(&b, BPF_MOV64_IMM(R2, 4), BPF_MOV64_IMM(R3, 0)), fp(&b, R4, -16);
	A(&b, BPF_CALL_HELPER(105), BPF_LDX_MEM(BPF_DW, R0, R10, -16));
	exit0(&b);
	ok("strtol with an 8-byte result on the stack", &b);
	b.n = 0;
	A(&b, BPF_ST_MEM(BPF_W, R10, -8, 0x333231));
	fp(&b, R1, -8), A(&b, BPF_MOV64_IMM(R2, 4), BPF_MOV64_IMM(R3, 0)), fp(&b, R4, -4);
	A(&b, BPF_CALL_HELPER(105));
	exit0(&b);
	bad("fixed-size arg: 8 bytes at r10-4", &b, -EFAULT, "bpf_strtol arg 4 (r4) = 0x");
	b.n = 0;  /* read-only memory is fine for a MEM_RDONLY argument */
	A(&b, BPF_MOV64_REG(R1, R2), BPF_MOV64_IMM(R2, 4), BPF_MOV64_IMM(R3, 0)), fp(&b, R4, -16);
	A(&b, BPF_CALL_HELPER(106));
	exit0(&b);
	{
		uint8_t mm[64], rom[8] = "42";
		uint64_t r0;
		int rc = run(SKEP_ENGINE_CHECKED, &b, mm, sizeof mm, rom, sizeof rom, &r0);
		CHECK(rc == 0 && r0 == 2, "read-only memory for a read-only argument", "rc %d r0 %" PRIu64 " %s", rc, r0, why);
	}

	/* CTX */
	b.n = 0;
	A(&b, BPF_CALL_HELPER(173));
	exit0(&b);
	ok("get_func_ip(ctx)", &b);
	b.n = 0;
	A(&b, BPF_MOV64_REG(R1, R10), BPF_CALL_HELPER(173));
	exit0(&b);
	bad("ctx arg: the stack", &b, -EFAULT, "insn 1: bpf_get_func_ip arg 1 (r1) = 0x");
	bad("ctx arg: names why", &b, -EFAULT, "is not the program's context");

	/* SPIN_LOCK */
	b.n = 0;
	A(&b, BPF_ST_MEM(BPF_W, R10, -8, 1));
	ld_map(&b, R1, lk), fp(&b, R2, -8), A(&b, BPF_CALL_HELPER(1), BPF_JMP_IMM(BPF_JEQ, R0, 0, 6), BPF_MOV64_REG(R6, R0));
	A(&b, BPF_MOV64_REG(R1, R6), BPF_CALL_HELPER(93), BPF_MOV64_REG(R1, R6), BPF_CALL_HELPER(94), BPF_MOV64_IMM(R0, 9));
	exit0(&b);
	ok("spin_lock/unlock on a map value's lock", &b);
	b.n = 0;
	A(&b, BPF_ST_MEM(BPF_W, R10, -8, 1));
	ld_map(&b, R1, lk), fp(&b, R2, -8), A(&b, BPF_CALL_HELPER(1), BPF_JMP_IMM(BPF_JEQ, R0, 0, 2), BPF_MOV64_REG(R1, R0));
	A(&b, BPF_ALU64_IMM(BPF_ADD, R1, 4), BPF_CALL_HELPER(93));
	exit0(&b);
	bad("spin_lock: 4 bytes past the lock", &b, -EFAULT, "bpf_spin_lock arg 1 (r1) = 0x");
	b.n = 0;
	fp(&b, R1, -8), A(&b, BPF_CALL_HELPER(93));
	exit0(&b);
	bad("spin_lock on the stack", &b, -EFAULT, "is not the bpf_spin_lock of a map value");

	/* RINGBUF_MEM: reserve, write, submit; bad records */
	b.n = 0;
	ld_map(&b, R1, rb), A(&b, BPF_MOV64_IMM(R2, 8), BPF_MOV64_IMM(R3, 0), BPF_CALL_HELPER(131));
	A(&b, BPF_JMP_IMM(BPF_JEQ, R0, 0, 4), BPF_ST_MEM(BPF_DW, R0, 0, 5), BPF_MOV64_REG(R1, R0), BPF_MOV64_IMM(R2, 0),
	  BPF_CALL_HELPER(132));
	exit0(&b);
	ok("ringbuf reserve, write, submit", &b);
	b.n = 0;
	ld_map(&b, R1, rb), A(&b, BPF_MOV64_IMM(R2, 8), BPF_MOV64_IMM(R3, 0), BPF_CALL_HELPER(131));
	A(&b, BPF_JMP_IMM(BPF_JEQ, R0, 0, 6), BPF_MOV64_REG(R6, R0), BPF_MOV64_REG(R1, R6), BPF_MOV64_IMM(R2, 0),
	  BPF_CALL_HELPER(132), BPF_MOV64_REG(R1, R6), BPF_CALL_HELPER(133));
	exit0(&b);
	bad("ringbuf: discard after submit", &b, -EFAULT,
	    "insn 11: bpf_ringbuf_discard arg 1 (r1) = 0x");
	bad("ringbuf: released record names why", &b, -EFAULT, "not submitted or discarded");
	b.n = 0;
	fp(&b, R1, -8), A(&b, BPF_MOV64_IMM(R2, 0), BPF_CALL_HELPER(132));
	exit0(&b);
	bad("ringbuf: submit of a stack pointer", &b, -EFAULT, "bpf_ringbuf_submit arg 1 (r1)");
	b.n = 0;  /* the header's page offset overwritten by the program */
	ld_map(&b, R1, rb), A(&b, BPF_MOV64_IMM(R2, 8), BPF_MOV64_IMM(R3, 0), BPF_CALL_HELPER(131));
	A(&b, BPF_JMP_IMM(BPF_JEQ, R0, 0, 4), BPF_ST_MEM(BPF_W, R0, -4, 999), BPF_MOV64_REG(R1, R0), BPF_MOV64_IMM(R2, 0),
	  BPF_CALL_HELPER(132));
	exit0(&b);
	bad("ringbuf: a record whose header was overwritten", &b, -EFAULT, "header was overwritten");
	{
		/* a leaked record is discarded when the run ends: the ring stays usable */
		skep_map *rb2 = skep_map_create(SKEP_MAP_TYPE_RINGBUF, "cr2", 0, 0, 4096, NULL);
		b.n = 0;
		ld_map(&b, R1, rb2), A(&b, BPF_MOV64_IMM(R2, 8), BPF_MOV64_IMM(R3, 0), BPF_CALL_HELPER(131));
		A(&b, BPF_MOV64_IMM(R0, 0));
		exit0(&b);
		uint8_t mm[8];
		uint64_t r0;
		int rc = run(SKEP_ENGINE_CHECKED, &b, mm, sizeof mm, NULL, 0, &r0);
		b.n = 0;
		A(&b, BPF_ST_MEM(BPF_DW, R10, -8, 1)), ld_map(&b, R1, rb2), fp(&b, R2, -8);
		A(&b, BPF_MOV64_IMM(R3, 8), BPF_MOV64_IMM(R4, 0), BPF_CALL_HELPER(130));
		exit0(&b);
		int rc2 = run(SKEP_ENGINE_CHECKED, &b, mm, sizeof mm, NULL, 0, &r0);
		CHECK(rc == 0 && rc2 == 0 && r0 == 0, "ringbuf: a leaked record is discarded at the end of the run",
		      "%d %d %" PRIu64 " %s", rc, rc2, r0, why);
		skep_map_close(rb2);
	}

	/* FUNC and STACK(_OR_NULL): bpf_loop(4, cb, ctx, 0); cb adds 1 to *ctx */
#define LOOP(OFF, FN, CTX) \
	b.n = 0; A(&b, BPF_ST_MEM(BPF_DW, R10, -8, 0), BPF_MOV64_IMM(R1, 4)); FN; CTX; \
	A(&b, BPF_MOV64_IMM(R4, 0), BPF_CALL_HELPER(181), BPF_LDX_MEM(BPF_DW, R0, R10, -8), BPF_EXIT_INSN(), \
	  BPF_JMP_IMM(BPF_JEQ, R2, 0, 3), BPF_LDX_MEM(BPF_DW, R3, R2, 0), BPF_ALU64_IMM(BPF_ADD, R3, 1), \
	  BPF_STX_MEM(BPF_DW, R2, R3, 0), BPF_MOV64_IMM(R0, 0), BPF_EXIT_INSN())
	/* the callback is at insn 10 (lddw at 2, two instructions of context): offset 7 */
	LOOP(7, A(&b, BPF_LD_IMM64_RAW(R2, BPF_PSEUDO_FUNC, 7)), fp(&b, R3, -8));
	ok("bpf_loop with a callback and a stack context", &b);
	LOOP(7, A(&b, BPF_LD_IMM64_RAW(R2, BPF_PSEUDO_FUNC, 7)), A(&b, BPF_MOV64_IMM(R3, 0), BPF_MOV64_IMM(R3, 0)));
	ok("bpf_loop with a NULL context", &b);
	LOOP(7, A(&b, BPF_LD_IMM64_RAW(R2, BPF_PSEUDO_FUNC, 7)), A(&b, BPF_MOV64_REG(R3, R10), BPF_ALU64_IMM(BPF_ADD, R3, 8)));
	bad("loop context outside the stack", &b, -EFAULT, "insn 7: bpf_loop arg 3 (r3) = 0x");
	LOOP(7, A(&b, BPF_LD_IMM64(R2, 0x123456)), fp(&b, R3, -8));
	bad("loop callback: a number", &b, -EFAULT, "bpf_loop arg 2 (r2) = 0x123456 is not a callback of this program");
	LOOP(8, A(&b, BPF_LD_IMM64_RAW(R2, BPF_PSEUDO_FUNC, 8)), A(&b, BPF_LD_IMM64(R3, 1ull << 62), BPF_ALU64_REG(BPF_XOR, R2, R3)));
	bad("loop callback: a fast-engine descriptor", &b, -EFAULT, "bpf_loop arg 2 (r2)");
	LOOP(7, A(&b, BPF_LD_IMM64_RAW(R2, BPF_PSEUDO_FUNC, 7)), A(&b, BPF_ALU64_IMM(BPF_ADD, R2, 8), BPF_MOV64_IMM(R3, 0)));
	bad("loop callback: a descriptor plus 8", &b, -EFAULT, "is not a callback of this program");

	/* CONST_STR: strncmp(s, 4, cstr) */
	b.n = 0;
	A(&b, BPF_ST_MEM(BPF_W, R10, -8, 0x636261), BPF_ST_MEM(BPF_W, R10, -16, 0x636261));
	fp(&b, R1, -8), A(&b, BPF_MOV64_IMM(R2, 4)), fp(&b, R3, -16), A(&b, BPF_CALL_HELPER(182));
	exit0(&b);
	ok("strncmp with a string on the stack", &b);
	b.n = 0;
	fp(&b, R3, -8), A(&b, BPF_ST_MEM(BPF_W, R10, -8, 0x636261), BPF_MOV64_IMM(R2, 4), BPF_ALU64_IMM(BPF_ADD, R1, 62),
			   BPF_CALL_HELPER(182));
	exit0(&b);
	bad("strncmp: mem arg past the context", &b, -EFAULT, "insn 5: bpf_strncmp arg 1 (r1)");
	b.n = 0;  /* the last 8 bytes of the context: no NUL up to its end */
	A(&b, BPF_LD_IMM64(R7, 0x4141414141414141ull), BPF_STX_MEM(BPF_DW, R1, R7, 56), BPF_MOV64_REG(R3, R1),
	  BPF_ALU64_IMM(BPF_ADD, R3, 56), BPF_MOV64_IMM(R2, 4), BPF_CALL_HELPER(182));
	exit0(&b);
	bad("strncmp: string without a NUL before the end of its region", &b, -EFAULT,
	    "bpf_strncmp arg 3 (r3) = 0x");
	b.n = 0;
	A(&b, BPF_MOV64_IMM(R2, 4), BPF_MOV64_IMM(R3, 0), BPF_CALL_HELPER(182));
	exit0(&b);
	bad("strncmp: string arg NULL", &b, -EFAULT, "bpf_strncmp arg 3 (r3) = 0x0 is not a NUL-terminated string");

	/* a hand-bound helper has no prototype and is let through */
	b.n = 0;
	A(&b, BPF_MOV64_IMM(R1, 3), BPF_CALL_HELPER(1));
	exit0(&b);
	{
		skep_prog *p = skep_prog_new();
		int rc = skep_prog_load(p, b.in, b.n);
		skep_prog_set_engine(p, SKEP_ENGINE_CHECKED);
		skep_prog_set_helper(p, 1, test_double);
		uint64_t r0 = 0;
		if (!rc)
			rc = skep_prog_run_mem(p, NULL, 0, &r0);
		CHECK(rc == 0 && r0 == 6, "a helper bound by hand is not checked", "rc %d r0 %" PRIu64 " %s", rc, r0,
		      skep_prog_error(p));
		skep_prog_free(p);
	}
	skep_map_close(arr), skep_map_close(other), skep_map_close(q), skep_map_close(rb), skep_map_close(lk);
}


/* ---- random arguments into every implemented helper: never a crash */
static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
	rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
	return rng;
}

static void test_random(void)
{
	skep_map *maps[5] = {
		skep_map_create(SKEP_MAP_TYPE_ARRAY, "ra", 4, 8, 4, NULL),
		skep_map_create(SKEP_MAP_TYPE_HASH, "rh", 4, 8, 8, NULL),
		skep_map_create(SKEP_MAP_TYPE_QUEUE, "rq", 0, 8, 4, NULL),
		skep_map_create(SKEP_MAP_TYPE_RINGBUF, "rr", 0, 0, 4096, NULL),
		skep_map_create(SKEP_MAP_TYPE_PERCPU_ARRAY, "rp", 4, 8, 2, NULL),
	};
	for (int i = 0; i < 5; i++)
		if (!maps[i]) {
			CHECK(0, "random: maps created", "%s", skep_map_error(NULL));
			return;
		}
	int runs = 0, passed = 0, refused = 0, other = 0, helpers = 0;
	char first_other[600] = "";
	for (uint32_t id = 1; id < 256; id++) {
		/* tail calls are a jump (not a helper call); signals would hit this process */
		if (!skep_helper_impl(id) || id == 12 || id == 109 || id == 117)
			continue;
		helpers++;
		for (int it = 0; it < 300; it++) {
			struct pb b = {.n = 0};
			uint8_t mem[128], rom[32];
			for (size_t k = 0; k < sizeof mem; k++)
				mem[k] = (uint8_t)(rnd() % 4 ? 'a' + rnd() % 26 : 0);
			memset(rom, 'r', sizeof rom), rom[sizeof rom - 1] = rnd() & 1 ? 0 : 'x';
			A(&b, BPF_MOV64_REG(R6, R1), BPF_MOV64_REG(R7, R2));
			for (int r = R1; r <= R5; r++) {
				uint64_t x = rnd();
				switch (rnd() % 8) {
				case 0: A(&b, BPF_MOV64_REG(r, R6), BPF_ALU64_IMM(BPF_ADD, r, (int32_t)(x % 160))); break;
				case 1: A(&b, BPF_MOV64_REG(r, R7), BPF_ALU64_IMM(BPF_ADD, r, (int32_t)(x % 40))); break;
				case 2: fp(&b, r, -(int32_t)(x % 600)); break;
				case 3: A(&b, BPF_MOV64_IMM(r, (int32_t)(x % 70) - 3)); break;
				case 4: ld_map(&b, r, maps[x % 5]); break;
				case 5: A(&b, BPF_LD_IMM64_RAW(r, BPF_PSEUDO_FUNC, 0)); break;  /* patched below */
				case 6: A(&b, BPF_LD_IMM64(r, x)); break;
				default: A(&b, BPF_MOV64_IMM(r, 0)); break;
				}
			}
			if (id == SKEP_FUNC_loop)  /* keep the iteration count small */
				A(&b, BPF_ALU64_IMM(BPF_AND, R1, 63));
			A(&b, BPF_CALL_HELPER((int32_t)id), BPF_EXIT_INSN());
			size_t cb = b.n;  /* callback: r0 = 0 */
			A(&b, BPF_MOV64_IMM(R0, 0), BPF_EXIT_INSN());
			for (size_t k = 0; k < cb; k++)
				if (b.in[k].code == (BPF_LD | BPF_IMM | BPF_DW) && b.in[k].src == BPF_PSEUDO_FUNC)
					b.in[k].imm = (int32_t)(cb - k - 1);
			uint64_t r0;
			int rc = run(SKEP_ENGINE_CHECKED, &b, mem, sizeof mem, rom, sizeof rom, &r0);
			runs++;
			if (rc == 0)
				passed++;
			else if ((rc == -EFAULT || rc == -EINVAL) && strstr(why, "arg "))
				refused++;
			else if (!other++)
				snprintf(first_other, sizeof first_other, "helper %u: rc %d %s", id, rc, why);
		}
	}
	CHECK(helpers >= 40 && passed > runs / 20 && refused > runs / 5 && !other,
	      "random arguments into every helper: runs or refusals, never a crash",
	      "%d helpers, %d runs: %d ran, %d refused, %d other (%s)", helpers, runs, passed, refused, other,
	      first_other);
	printf("# random helper calls: %d helpers, %d runs, %d ran, %d refused\n", helpers, runs, passed, refused);
	for (int i = 0; i < 5; i++)
		skep_map_close(maps[i]);
}

int main(void)
{
	test_kinds();
	test_random();
	return t_done();
}
