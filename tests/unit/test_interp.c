/* The interpreter, fast and checked: every op kind, the kernel's edge cases, calls,
 * helpers, packet loads, and the checked engine's refusals. Programs are built with
 * the filter.h-style macros of insn_macros.h. Every program that should run is run on
 * both engines, which must agree on r0 and on the memory they leave behind. */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "exec/exec.h"
#include "insn_macros.h"
#include "skep/prog.h"

#define P(...) ((const struct skep_insn[]){__VA_ARGS__}), \
	(sizeof((const struct skep_insn[]){__VA_ARGS__}) / sizeof(struct skep_insn))
#define R0 0
#define R1 1
#define R2 2
#define R3 3
#define R4 4
#define R5 5
#define R6 6
#define R7 7
#define R8 8
#define R9 9
#define R10 10

static const char *engine_name[] = {"interp", "checked", "jit"};

/* Load and run on engine e over mem (r1 = mem, r2 = len). Returns the run's status. */
static int run_on(enum skep_engine e, const struct skep_insn *insns, size_t n, void *mem,
		  size_t len, uint64_t *r0, char *err, size_t errlen)
{
	skep_prog *p = skep_prog_new();
	int rc = skep_prog_load(p, insns, n);
	if (!rc)
		rc = skep_prog_set_engine(p, e);
	if (!rc)
		rc = skep_prog_run_mem(p, mem, len, r0);
	if (err)
		snprintf(err, errlen, "%s", skep_prog_error(p));
	skep_prog_free(p);
	return rc;
}

/* Both engines run the program on copies of a 64-byte buffer and must return want and
 * leave identical memory; the buffer after the run is copied to out if given. */
static void expect_mem(const char *name, uint64_t want, const struct skep_insn *insns, size_t n,
		       const uint8_t *init, uint8_t *out)
{
	uint8_t m[2][64];
	uint64_t r[2] = {0, 0};
	char err[512];
	for (int e = 0; e < 2; e++) {
		memset(m[e], 0, 64);
		if (init)
			memcpy(m[e], init, 64);
		int rc = run_on((enum skep_engine)e, insns, n, m[e], 64, &r[e], err, sizeof err);
		if (rc) {
			CHECK(0, name, "%s engine failed: %d %s", engine_name[e], rc, err);
			return;
		}
	}
	CHECK(r[0] == want && r[1] == want && !memcmp(m[0], m[1], 64), name,
	      "want 0x%llx, interp 0x%llx, checked 0x%llx%s", (unsigned long long)want,
	      (unsigned long long)r[0], (unsigned long long)r[1],
	      memcmp(m[0], m[1], 64) ? ", memory differs" : "");
	if (out)
		memcpy(out, m[0], 64);
}

static void expect(const char *name, uint64_t want, const struct skep_insn *insns, size_t n)
{
	expect_mem(name, want, insns, n, NULL, NULL);
}

/* A failing run: status want_rc on the given engine and a message containing frag. */
static void expect_fail(const char *name, enum skep_engine e, int want_rc, const char *frag,
			const struct skep_insn *insns, size_t n)
{
	uint8_t m[64] = {0};
	uint64_t r0 = 0;
	char err[512];
	int rc = run_on(e, insns, n, m, sizeof m, &r0, err, sizeof err);
	CHECK(rc == want_rc && strstr(err, frag), name, "%s engine: rc %d (want %d), message '%s' (want '%s')",
	      engine_name[e], rc, want_rc, err, frag);
}

/* r0 = a OP b for 64-bit registers, through the REG and the IMM form (when b fits). */
static void alu64(const char *name, uint8_t op, int16_t off, uint64_t a, uint64_t b, uint64_t want)
{
	char nm[128];
	snprintf(nm, sizeof nm, "%s reg", name);
	expect(nm, want, P(BPF_LD_IMM64(R0, a), BPF_LD_IMM64(R1, b),
			   BPF_ALU64_REG_OFF(op, R0, R1, off), BPF_EXIT_INSN()));
	if ((int64_t)b == (int32_t)b) {
		snprintf(nm, sizeof nm, "%s imm", name);
		expect(nm, want, P(BPF_LD_IMM64(R0, a), BPF_ALU64_IMM_OFF(op, R0, (int32_t)b, off),
				   BPF_EXIT_INSN()));
	}
}

/* Same for 32-bit ops: b's high half is garbage in the REG form and must be ignored. */
static void alu32(const char *name, uint8_t op, int16_t off, uint64_t a, uint32_t b, uint64_t want)
{
	char nm[128];
	snprintf(nm, sizeof nm, "%s reg", name);
	expect(nm, want, P(BPF_LD_IMM64(R0, a), BPF_LD_IMM64(R1, 0xdead000000000000ull | b),
			   BPF_ALU32_REG_OFF(op, R0, R1, off), BPF_EXIT_INSN()));
	snprintf(nm, sizeof nm, "%s imm", name);
	expect(nm, want, P(BPF_LD_IMM64(R0, a), BPF_ALU32_IMM_OFF(op, R0, (int32_t)b, off), BPF_EXIT_INSN()));
}

static void test_alu(void)
{
	alu64("add64", BPF_ADD, 0, 0xffffffffffffffffull, 2, 1);
	alu64("add64 imm sign-extends", BPF_ADD, 0, 1, (uint64_t)-2, (uint64_t)-1);
	alu32("add32 wraps and zero-extends", BPF_ADD, 0, 0x12345678ffffffffull, 2, 1);
	alu64("sub64", BPF_SUB, 0, 5, 7, (uint64_t)-2);
	alu32("sub32", BPF_SUB, 0, 5, 7, 0xfffffffeull);
	alu64("mul64", BPF_MUL, 0, 0x100000001ull, 3, 0x300000003ull);
	alu32("mul32", BPF_MUL, 0, 0x80000001ull, 4, 4);
	alu64("or64", BPF_OR, 0, 0xf0, 0x0f, 0xff);
	alu32("or32 clears high half", BPF_OR, 0, 0xffffffff000000f0ull, 0x0f, 0xff);
	alu64("and64", BPF_AND, 0, 0xff00ff00ff00ff00ull, (uint64_t)-256, 0xff00ff00ff00ff00ull);
	alu32("and32", BPF_AND, 0, 0xffffffffffffffffull, 0x0ff0, 0x0ff0);
	alu64("xor64", BPF_XOR, 0, 0xff, 0x0f, 0xf0);
	alu32("xor32", BPF_XOR, 0, 0x1000000ffull, 0xffffffff, 0xffffff00ull);
	expect("mov32 imm zero-extends", 0xffffffffull, P(BPF_MOV32_IMM(R0, -1), BPF_EXIT_INSN()));
	expect("mov64 imm sign-extends", (uint64_t)-1, P(BPF_MOV64_IMM(R0, -1), BPF_EXIT_INSN()));
	expect("mov32 reg", 0x89abcdefull, P(BPF_LD_IMM64(R1, 0x0123456789abcdefull),
					     BPF_MOV32_REG(R0, R1), BPF_EXIT_INSN()));
	expect("mov64 reg", 0x0123456789abcdefull, P(BPF_LD_IMM64(R1, 0x0123456789abcdefull),
						     BPF_MOV64_REG(R0, R1), BPF_EXIT_INSN()));
	expect("neg64", (uint64_t)-5, P(BPF_MOV64_IMM(R0, 5), BPF_NEG64(R0), BPF_EXIT_INSN()));
	expect("neg32", 0xfffffffbull, P(BPF_MOV64_IMM(R0, 5), BPF_NEG32(R0), BPF_EXIT_INSN()));
	expect("lddw", 0x8000000000000001ull, P(BPF_LD_IMM64(R0, 0x8000000000000001ull), BPF_EXIT_INSN()));
	/* (map sources are resolved at load: test_helpers) */
	expect("lddw with a pseudo source loads imm64", 0x0000000700000005ull,
	       P(BPF_LD_IMM64_RAW(R0, BPF_PSEUDO_BTF_ID, 0x0000000700000005ull), BPF_EXIT_INSN()));
}

static void test_shifts(void)
{
	alu64("lsh64", BPF_LSH, 0, 1, 63, 0x8000000000000000ull);
	alu64("lsh64 masks 65 to 1", BPF_LSH, 0, 3, 65, 6);
	alu32("lsh32 masks 33 to 1 and zero-extends", BPF_LSH, 0, 0x80000003ull, 33, 6);
	alu64("rsh64 logical", BPF_RSH, 0, 0x8000000000000000ull, 63, 1);
	alu64("rsh64 masks 64 to 0", BPF_RSH, 0, 0x1234, 64, 0x1234);
	alu32("rsh32 ignores the high half", BPF_RSH, 0, 0xffffffff80000000ull, 31, 1);
	alu64("arsh64", BPF_ARSH, 0, 0x8000000000000000ull, 63, (uint64_t)-1);
	alu64("arsh64 masks 68 to 4", BPF_ARSH, 0, (uint64_t)-32, 68, (uint64_t)-2);
	alu32("arsh32 sign of bit 31, zero-extended", BPF_ARSH, 0, 0x80000000ull, 31, 0xffffffffull);
	alu32("arsh32 masks 36 to 4", BPF_ARSH, 0, 0xffffffe0ull, 36, 0xfffffffeull);
}

static void test_div(void)
{
	const uint64_t M64 = 0x8000000000000000ull;
	alu64("div64", BPF_DIV, 0, 100, 7, 14);
	alu64("div64 by 0 is 0", BPF_DIV, 0, 100, 0, 0);
	alu64("div64 imm -1 is unsigned max", BPF_DIV, 0, 100, (uint64_t)-1, 0);
	alu32("div32", BPF_DIV, 0, 0xffffffff00000064ull, 7, 14);
	alu32("div32 by 0 is 0", BPF_DIV, 0, 0xffffffff00000064ull, 0, 0);
	alu32("div32 unsigned", BPF_DIV, 0, 0xfffffffeull, 2, 0x7fffffffull);
	alu64("mod64", BPF_MOD, 0, 100, 7, 2);
	alu64("mod64 by 0 keeps dst", BPF_MOD, 0, 0xffffffff00000064ull, 0, 0xffffffff00000064ull);
	alu32("mod32", BPF_MOD, 0, 100, 7, 2);
	alu32("mod32 by 0 keeps the zero-extended low half", BPF_MOD, 0, 0xffffffff00000064ull, 0, 100);
	alu64("sdiv64", BPF_DIV, 1, (uint64_t)-7, 2, (uint64_t)-3);
	alu64("sdiv64 negative divisor", BPF_DIV, 1, 7, (uint64_t)-2, (uint64_t)-3);
	alu64("sdiv64 by 0 is 0", BPF_DIV, 1, (uint64_t)-7, 0, 0);
	alu64("sdiv64 INT_MIN / -1", BPF_DIV, 1, M64, (uint64_t)-1, M64);
	alu64("sdiv64 by -1 negates", BPF_DIV, 1, 5, (uint64_t)-1, (uint64_t)-5);
	alu64("smod64", BPF_MOD, 1, (uint64_t)-7, 2, (uint64_t)-1);
	alu64("smod64 sign follows dividend", BPF_MOD, 1, 7, (uint64_t)-2, 1);
	alu64("smod64 by 0 keeps dst", BPF_MOD, 1, (uint64_t)-7, 0, (uint64_t)-7);
	alu64("smod64 INT_MIN % -1", BPF_MOD, 1, M64, (uint64_t)-1, 0);
	alu32("sdiv32", BPF_DIV, 1, 0xfffffff9ull, 2, 0xfffffffdull);
	alu32("sdiv32 by 0 is 0", BPF_DIV, 1, 0xfffffff9ull, 0, 0);
	alu32("sdiv32 INT_MIN / -1", BPF_DIV, 1, 0x80000000ull, 0xffffffff, 0x80000000ull);
	alu32("sdiv32 uses the low half", BPF_DIV, 1, 0x12345678fffffff9ull, 0xfffffffe, 3);
	alu32("smod32", BPF_MOD, 1, 0xfffffff9ull, 2, 0xffffffffull);
	alu32("smod32 by 0 keeps the zero-extended low half", BPF_MOD, 1, 0x12345678fffffff9ull, 0,
	      0xfffffff9ull);
	alu32("smod32 INT_MIN % -1", BPF_MOD, 1, 0x80000000ull, 0xffffffff, 0);
	alu32("sdiv32 by -1 negates", BPF_DIV, 1, 5, 0xffffffff, 0xfffffffbull);
	alu32("smod32 by -1 is 0", BPF_MOD, 1, 0xfffffff9ull, 0xffffffff, 0);
	alu64("smod64 by -1 is 0", BPF_MOD, 1, (uint64_t)-7, (uint64_t)-1, 0);
	alu32("sdiv32 imm truncates toward zero", BPF_DIV, 1, 7, 0xfffffffe, 0xfffffffdull);
	alu32("smod32 sign follows dividend", BPF_MOD, 1, 7, 0xfffffffe, 1);
}

static void test_movsx_end(void)
{
	const uint64_t V = 0x1122334455667788ull;
	struct { const char *name; int16_t off; int is64; uint64_t in, want; } sx[] = {
		{"movsx32 s8", 8, 0, 0x1234567880ull, 0xffffff80ull},
		{"movsx32 s16", 16, 0, 0x12348000ull, 0xffff8000ull},
		{"movsx64 s8", 8, 1, 0x17full, 0x7full},
		{"movsx64 s8 negative", 8, 1, 0x80ull, 0xffffffffffffff80ull},
		{"movsx64 s16", 16, 1, 0xffff8001ull, 0xffffffffffff8001ull},
		{"movsx64 s32", 32, 1, 0x80000000ull, 0xffffffff80000000ull},
	};
	for (size_t i = 0; i < sizeof sx / sizeof sx[0]; i++)
		expect(sx[i].name, sx[i].want,
		       P(BPF_LD_IMM64(R1, sx[i].in),
			 sx[i].is64 ? BPF_MOVSX64_REG(R0, R1, sx[i].off) : BPF_MOVSX32_REG(R0, R1, sx[i].off),
			 BPF_EXIT_INSN()));
	struct { const char *name; struct skep_insn insn; uint64_t want; } en[] = {
		{"le16", BPF_ENDIAN(BPF_TO_LE, R0, 16), 0x7788},
		{"le32", BPF_ENDIAN(BPF_TO_LE, R0, 32), 0x55667788},
		{"le64", BPF_ENDIAN(BPF_TO_LE, R0, 64), V},
		{"be16", BPF_ENDIAN(BPF_TO_BE, R0, 16), 0x8877},
		{"be32", BPF_ENDIAN(BPF_TO_BE, R0, 32), 0x88776655},
		{"be64", BPF_ENDIAN(BPF_TO_BE, R0, 64), 0x8877665544332211ull},
		{"bswap16", BPF_BSWAP(R0, 16), 0x8877},
		{"bswap32", BPF_BSWAP(R0, 32), 0x88776655},
		{"bswap64", BPF_BSWAP(R0, 64), 0x8877665544332211ull},
	};
	for (size_t i = 0; i < sizeof en / sizeof en[0]; i++)
		expect(en[i].name, en[i].want, P(BPF_LD_IMM64(R0, V), en[i].insn, BPF_EXIT_INSN()));
}

/* r0 = (a OP b) ? 1 : 2, for the jump op in class cls (BPF_JMP/BPF_JMP32), REG and IMM. */
static void jcc(const char *name, uint8_t cls, uint8_t op, uint64_t a, uint64_t b, int taken)
{
	char nm[128];
	uint64_t want = taken ? 1 : 2;
	snprintf(nm, sizeof nm, "%s reg", name);
	expect(nm, want, P(BPF_LD_IMM64(R1, a), BPF_LD_IMM64(R2, b), BPF_MOV64_IMM(R0, 1),
			   BPF_RAW_INSN(cls | op | BPF_X, R1, R2, 1, 0), BPF_MOV64_IMM(R0, 2), BPF_EXIT_INSN()));
	if (cls == BPF_JMP32 || (int64_t)b == (int32_t)b) {
		snprintf(nm, sizeof nm, "%s imm", name);
		expect(nm, want, P(BPF_LD_IMM64(R1, a), BPF_MOV64_IMM(R0, 1),
				   BPF_RAW_INSN(cls | op | BPF_K, R1, 0, 1, (int32_t)b), BPF_MOV64_IMM(R0, 2),
				   BPF_EXIT_INSN()));
	}
}

static void test_jumps(void)
{
	const uint64_t NEG = (uint64_t)-1;
	jcc("jeq taken", BPF_JMP, BPF_JEQ, 5, 5, 1);
	jcc("jeq not", BPF_JMP, BPF_JEQ, 5, 6, 0);
	jcc("jeq 64-bit compares high half", BPF_JMP, BPF_JEQ, 0x100000005ull, 5, 0);
	jcc("jne", BPF_JMP, BPF_JNE, 5, 6, 1);
	jcc("jgt unsigned", BPF_JMP, BPF_JGT, NEG, 1, 1);
	jcc("jge equal", BPF_JMP, BPF_JGE, 7, 7, 1);
	jcc("jlt unsigned", BPF_JMP, BPF_JLT, 1, NEG, 1);
	jcc("jle", BPF_JMP, BPF_JLE, 8, 7, 0);
	jcc("jsgt signed", BPF_JMP, BPF_JSGT, NEG, 1, 0);
	jcc("jsge", BPF_JMP, BPF_JSGE, (uint64_t)-3, (uint64_t)-3, 1);
	jcc("jslt signed", BPF_JMP, BPF_JSLT, NEG, 1, 1);
	jcc("jsle", BPF_JMP, BPF_JSLE, 2, (uint64_t)-3, 0);
	jcc("jset", BPF_JMP, BPF_JSET, 0x10, 0x30, 1);
	jcc("jset clear", BPF_JMP, BPF_JSET, 0x10, 0x20, 0);
	jcc("jset high bits", BPF_JMP, BPF_JSET, 0x100000000ull, 0x100000000ull, 1);
	jcc("jeq32 low halves", BPF_JMP32, BPF_JEQ, 0x100000005ull, 0x200000005ull, 1);
	jcc("jne32", BPF_JMP32, BPF_JNE, 0x100000005ull, 5, 0);
	jcc("jgt32 unsigned", BPF_JMP32, BPF_JGT, 0x80000000ull, 1, 1);
	jcc("jge32", BPF_JMP32, BPF_JGE, 3, 4, 0);
	jcc("jlt32", BPF_JMP32, BPF_JLT, 0xffffffff00000001ull, 2, 1);
	jcc("jle32", BPF_JMP32, BPF_JLE, 2, 2, 1);
	jcc("jsgt32 signed", BPF_JMP32, BPF_JSGT, 0x80000000ull, 1, 0);
	jcc("jsge32", BPF_JMP32, BPF_JSGE, 0x1ffffffffull, 0xffffffffull, 1);
	jcc("jslt32 signed", BPF_JMP32, BPF_JSLT, 0xffffffffull, 0, 1);
	jcc("jsle32", BPF_JMP32, BPF_JSLE, 0x7fffffffull, 0x80000000ull, 0);
	jcc("jset32 ignores high half", BPF_JMP32, BPF_JSET, 0x100000000ull, 0x100000000ull, 0);
	expect("ja", 1, P(BPF_MOV64_IMM(R0, 1), BPF_JMP_A(1), BPF_MOV64_IMM(R0, 2), BPF_EXIT_INSN()));
	expect("ja backwards", 3, P(BPF_MOV64_IMM(R0, 0), BPF_JMP_A(2), BPF_ALU64_IMM(BPF_ADD, R0, 1),
				    BPF_EXIT_INSN(), BPF_MOV64_IMM(R0, 2), BPF_JMP_A(-4)));
	expect("gotol uses imm", 1, P(BPF_MOV64_IMM(R0, 1), BPF_JMP32_A(1), BPF_MOV64_IMM(R0, 2),
				      BPF_EXIT_INSN()));
	expect("jump over lddw", 7, P(BPF_MOV64_IMM(R0, 7), BPF_JMP_A(2), BPF_LD_IMM64(R0, 9),
				      BPF_EXIT_INSN()));
	/* sum 1..100 with a counted loop */
	expect("loop sum", 5050, P(BPF_MOV64_IMM(R0, 0), BPF_MOV64_IMM(R1, 1),
				   BPF_ALU64_REG(BPF_ADD, R0, R1), BPF_ALU64_IMM(BPF_ADD, R1, 1),
				   BPF_JMP_IMM(BPF_JLE, R1, 100, -3), BPF_EXIT_INSN()));
}

static void test_memory(void)
{
	uint8_t init[64] = {0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x80, 0xff, 0xfe, 0xff,
			    0xff, 0x80, 0, 0};
	uint8_t out[64];
	expect_mem("ldx u8/u16/u32/u64", 0x8877665544332211ull + 0x44332211 + 0x2211 + 0x11,
		   P(BPF_LDX_MEM(BPF_DW, R0, R1, 0), BPF_LDX_MEM(BPF_W, R2, R1, 0),
		     BPF_ALU64_REG(BPF_ADD, R0, R2), BPF_LDX_MEM(BPF_H, R2, R1, 0),
		     BPF_ALU64_REG(BPF_ADD, R0, R2), BPF_LDX_MEM(BPF_B, R2, R1, 0),
		     BPF_ALU64_REG(BPF_ADD, R0, R2), BPF_EXIT_INSN()),
		   init, NULL);
	expect_mem("ldx unaligned", 0x5544332211ull >> 8 | 0x66ull << 32,
		   P(BPF_LDX_MEM(BPF_W, R0, R1, 1), BPF_LDX_MEM(BPF_B, R2, R1, 5), BPF_ALU64_IMM(BPF_LSH, R2, 32),
		     BPF_ALU64_REG(BPF_OR, R0, R2), BPF_EXIT_INSN()),
		   init, NULL);
	expect_mem("ldsx s8", (uint64_t)-128, P(BPF_LDX_MEMSX(BPF_B, R0, R1, 8), BPF_EXIT_INSN()), init, NULL);
	expect_mem("ldsx s16", (uint64_t)-2, P(BPF_LDX_MEMSX(BPF_H, R0, R1, 10), BPF_EXIT_INSN()), init, NULL);
	expect_mem("ldsx s32", 0xffffffff80fffffeull, P(BPF_LDX_MEMSX(BPF_W, R0, R1, 10), BPF_EXIT_INSN()),
		   init, NULL);
	expect_mem("st/stx to the data", 0,
		   P(BPF_ST_MEM(BPF_B, R1, 16, 0x1ab), BPF_ST_MEM(BPF_H, R1, 18, 0x1cdef),
		     BPF_ST_MEM(BPF_W, R1, 20, 0x12345678), BPF_ST_MEM(BPF_DW, R1, 24, -2),
		     BPF_LD_IMM64(R2, 0x0102030405060708ull), BPF_STX_MEM(BPF_DW, R1, R2, 32),
		     BPF_STX_MEM(BPF_W, R1, R2, 40), BPF_STX_MEM(BPF_H, R1, R2, 44), BPF_STX_MEM(BPF_B, R1, R2, 46),
		     BPF_MOV64_IMM(R0, 0), BPF_EXIT_INSN()),
		   init, out);
	static const uint8_t want[] = {0xab, 0, 0xef, 0xcd, 0x78, 0x56, 0x34, 0x12,
				       0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
				       8, 7, 6, 5, 4, 3, 2, 1, 8, 7, 6, 5, 8, 7, 8, 0};
	CHECK(!memcmp(out + 16, want, sizeof want), "st/stx bytes", "stored bytes differ");
	expect("stack store and load", 0x1234,
	       P(BPF_ST_MEM(BPF_DW, R10, -8, 0x1234), BPF_LDX_MEM(BPF_DW, R0, R10, -8), BPF_EXIT_INSN()));
	expect("stack bottom byte", 0x5a,
	       P(BPF_ST_MEM(BPF_B, R10, -512, 0x5a), BPF_LDX_MEM(BPF_B, R0, R10, -512), BPF_EXIT_INSN()));
	/* the checked engine clears every frame it enters (the fast one, like the kernel, not):
	 * a second callee does not see what the first left in the same memory */
	const struct skep_insn dirty[] = {
		BPF_CALL_REL(4), BPF_CALL_REL(5), BPF_LDX_MEM(BPF_DW, R1, R10, -256),
		BPF_ALU64_REG(BPF_ADD, R0, R1), BPF_EXIT_INSN(),
		BPF_ST_MEM(BPF_DW, R10, -8, 0x66), BPF_EXIT_INSN(),
		BPF_LDX_MEM(BPF_DW, R0, R10, -8), BPF_EXIT_INSN(),
	};
	uint8_t m[8];
	uint64_t r0 = 1;
	int rc = run_on(SKEP_ENGINE_CHECKED, dirty, sizeof dirty / sizeof dirty[0], m, 8, &r0, NULL, 0);
	CHECK(rc == 0 && r0 == 0, "checked: frames start zeroed", "rc %d r0 0x%llx", rc, (unsigned long long)r0);
	expect("r2 is the length", 64, P(BPF_MOV64_REG(R0, R2), BPF_EXIT_INSN()));
}

static void test_atomics(void)
{
	const uint64_t A = 0x00000000f0f0f0f0ull, B = 0x00000001ff00ff00ull;
	struct { const char *name; int32_t op; uint64_t mem64, r_fetch64; uint32_t mem32; } t[] = {
		{"add", BPF_ADD, A + B, A, (uint32_t)A + (uint32_t)B},
		{"or", BPF_OR, A | B, A, (uint32_t)(A | B)},
		{"and", BPF_AND, A & B, A, (uint32_t)(A & B)},
		{"xor", BPF_XOR, A ^ B, A, (uint32_t)(A ^ B)},
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		for (int fetch = 0; fetch < 2; fetch++) {
			char nm[96];
			uint8_t init[64] = {0}, out[64];
			uint64_t v;
			memcpy(init + 8, &A, 8);
			memcpy(init + 16, &A, 8);
			/* 64-bit at [8], 32-bit at [16]; r0 = fetched value (or src if no fetch) */
			snprintf(nm, sizeof nm, "atomic %s%s 64", fetch ? "fetch_" : "", t[i].name);
			expect_mem(nm, fetch ? A : B,
				   P(BPF_LD_IMM64(R2, B), BPF_ATOMIC_OP(BPF_DW, t[i].op | (fetch ? BPF_FETCH : 0), R1, R2, 8),
				     BPF_MOV64_REG(R0, R2), BPF_EXIT_INSN()),
				   init, out);
			memcpy(&v, out + 8, 8);
			CHECK(v == t[i].mem64, nm, "memory 0x%llx, want 0x%llx", (unsigned long long)v,
			      (unsigned long long)t[i].mem64);
			snprintf(nm, sizeof nm, "atomic %s%s 32", fetch ? "fetch_" : "", t[i].name);
			/* the 32-bit fetch zero-extends what it loads; without fetch src stays */
			expect_mem(nm, fetch ? (uint32_t)A : B,
				   P(BPF_LD_IMM64(R2, B), BPF_ATOMIC_OP(BPF_W, t[i].op | (fetch ? BPF_FETCH : 0), R1, R2, 16),
				     BPF_MOV64_REG(R0, R2), BPF_EXIT_INSN()),
				   init, out);
			memcpy(&v, out + 16, 8);
			CHECK(v == (t[i].mem32 | (A & 0xffffffff00000000ull)), nm, "memory 0x%llx",
			      (unsigned long long)v);
		}
	}
	uint8_t init[64] = {0}, out[64];
	uint64_t v;
	memcpy(init + 8, &B, 8);
	expect_mem("xchg64", B, P(BPF_MOV64_IMM(R2, 7), BPF_ATOMIC_OP(BPF_DW, BPF_XCHG, R1, R2, 8),
				  BPF_MOV64_REG(R0, R2), BPF_EXIT_INSN()), init, out);
	memcpy(&v, out + 8, 8);
	CHECK(v == 7, "xchg64 memory", "0x%llx", (unsigned long long)v);
	expect_mem("xchg32 zero-extends", 0xff00ff00ull,
		   P(BPF_LD_IMM64(R2, 0x500000007ull), BPF_ATOMIC_OP(BPF_W, BPF_XCHG, R1, R2, 8),
		     BPF_MOV64_REG(R0, R2), BPF_EXIT_INSN()), init, out);
	memcpy(&v, out + 8, 8);
	CHECK(v == 0x100000007ull, "xchg32 memory", "0x%llx", (unsigned long long)v);
	expect_mem("cmpxchg64 match swaps", B,
		   P(BPF_LD_IMM64(R0, B), BPF_MOV64_IMM(R2, 9), BPF_ATOMIC_OP(BPF_DW, BPF_CMPXCHG, R1, R2, 8),
		     BPF_EXIT_INSN()), init, out);
	memcpy(&v, out + 8, 8);
	CHECK(v == 9, "cmpxchg64 match memory", "0x%llx", (unsigned long long)v);
	expect_mem("cmpxchg64 mismatch keeps", B,
		   P(BPF_MOV64_IMM(R0, 1), BPF_MOV64_IMM(R2, 9), BPF_ATOMIC_OP(BPF_DW, BPF_CMPXCHG, R1, R2, 8),
		     BPF_EXIT_INSN()), init, out);
	memcpy(&v, out + 8, 8);
	CHECK(v == B, "cmpxchg64 mismatch memory", "0x%llx", (unsigned long long)v);
	expect_mem("cmpxchg32 compares low half of r0, zero-extends", 0xff00ff00ull,
		   P(BPF_LD_IMM64(R0, 0x77ff00ff00ull), BPF_MOV64_IMM(R2, 9),
		     BPF_ATOMIC_OP(BPF_W, BPF_CMPXCHG, R1, R2, 8), BPF_EXIT_INSN()), init, out);
	memcpy(&v, out + 8, 8);
	CHECK(v == 0x100000009ull, "cmpxchg32 memory", "0x%llx", (unsigned long long)v);
	expect_mem("cmpxchg32 mismatch", 0xff00ff00ull,
		   P(BPF_MOV64_IMM(R0, 0), BPF_MOV64_IMM(R2, 9),
		     BPF_ATOMIC_OP(BPF_W, BPF_CMPXCHG, R1, R2, 8), BPF_EXIT_INSN()), init, out);
	memcpy(&v, out + 8, 8);
	CHECK(v == B, "cmpxchg32 mismatch memory", "0x%llx", (unsigned long long)v);
	expect("atomic on the stack", 0x15,
	       P(BPF_ST_MEM(BPF_DW, R10, -8, 0x10), BPF_MOV64_IMM(R2, 5),
		 BPF_ATOMIC_OP(BPF_DW, BPF_ADD, R10, R2, -8), BPF_LDX_MEM(BPF_DW, R0, R10, -8), BPF_EXIT_INSN()));
}

/* Several threads add to one counter through one program: atomic means no lost update. */
struct thr { skep_prog *p; uint64_t *counter; int rc; };
static void *adder(void *arg)
{
	struct thr *t = arg;
	for (int i = 0; i < 20000 && !t->rc; i++) {
		uint64_t r0;
		t->rc = skep_prog_run_mem(t->p, t->counter, 8, &r0);
	}
	return NULL;
}

static void test_atomic_threads(void)
{
	const struct skep_insn prog[] = {BPF_MOV64_IMM(R2, 1), BPF_ATOMIC_OP(BPF_DW, BPF_ADD, R1, R2, 0),
					 BPF_MOV64_IMM(R0, 0), BPF_EXIT_INSN()};
	for (int e = 0; e < 2; e++) {
		skep_prog *p = skep_prog_new();
		skep_prog_load(p, prog, 4);
		skep_prog_set_engine(p, (enum skep_engine)e);
		uint64_t counter = 0;
		struct thr t[4];
		pthread_t th[4];
		for (int i = 0; i < 4; i++) {
			t[i] = (struct thr){p, &counter, 0};
			pthread_create(&th[i], NULL, adder, &t[i]);
		}
		int rc = 0;
		for (int i = 0; i < 4; i++) {
			pthread_join(th[i], NULL);
			rc |= t[i].rc;
		}
		CHECK(rc == 0 && counter == 80000, e ? "atomic add from 4 threads (checked)" : "atomic add from 4 threads",
		      "rc %d, counter %llu", rc, (unsigned long long)counter);
		skep_prog_free(p);
	}
}

static void test_calls(void)
{
	/* main: r6..r9 = 6..9, r1 = 5, call f, r0 += r6 + r7 + r8 + r9 (30) and the stack value;
	 * f: clobbers r6..r9, writes its own stack, returns r1 * 2 */
	expect("bpf-to-bpf call preserves r6-r9", 10 + 30 + 0x77,
	       P(BPF_MOV64_IMM(R6, 6), BPF_MOV64_IMM(R7, 7), BPF_MOV64_IMM(R8, 8), BPF_MOV64_IMM(R9, 9),
		 BPF_ST_MEM(BPF_DW, R10, -8, 0x77), BPF_MOV64_IMM(R1, 5), BPF_CALL_REL(7),
		 BPF_ALU64_REG(BPF_ADD, R0, R6), BPF_ALU64_REG(BPF_ADD, R0, R7), BPF_ALU64_REG(BPF_ADD, R0, R8),
		 BPF_ALU64_REG(BPF_ADD, R0, R9), BPF_LDX_MEM(BPF_DW, R1, R10, -8), BPF_ALU64_REG(BPF_ADD, R0, R1),
		 BPF_EXIT_INSN(),
		 /* f (insn 14) */
		 BPF_MOV64_IMM(R6, 100), BPF_MOV64_IMM(R7, 100), BPF_MOV64_IMM(R8, 100), BPF_MOV64_IMM(R9, 100),
		 BPF_ST_MEM(BPF_DW, R10, -8, 0x99), BPF_MOV64_REG(R0, R1), BPF_ALU64_IMM(BPF_LSH, R0, 1),
		 BPF_EXIT_INSN()));
	/* a callee reads its caller's stack through a pointer (allowed in both engines) */
	expect("callee reads caller stack", 0x4242,
	       P(BPF_ST_MEM(BPF_DW, R10, -16, 0x4242), BPF_MOV64_REG(R1, R10), BPF_ALU64_IMM(BPF_ADD, R1, -16),
		 BPF_CALL_REL(1), BPF_EXIT_INSN(), BPF_LDX_MEM(BPF_DW, R0, R1, 0), BPF_EXIT_INSN()));
	/* recursion f(n) = n ? 1 + f(n-1) : 0 : depth n + 1 frames incl. main */
	for (int e = 0; e < 2; e++) {
		for (int n = 5; n <= 6; n++) {
			const struct skep_insn rec[] = {
				BPF_MOV64_IMM(R1, n), BPF_CALL_REL(1), BPF_EXIT_INSN(),
				/* f */
				BPF_MOV64_IMM(R0, 0), BPF_JMP_IMM(BPF_JEQ, R1, 0, 5), BPF_MOV64_REG(R6, R1),
				BPF_ALU64_IMM(BPF_SUB, R1, 1), BPF_CALL_REL(-5), BPF_ALU64_IMM(BPF_ADD, R0, 1),
				BPF_ALU64_REG(BPF_ADD, R0, R6), BPF_EXIT_INSN(),
			};
			uint8_t m[8];
			uint64_t r0 = 0;
			char err[512], nm[64];
			int rc = run_on((enum skep_engine)e, rec, sizeof rec / sizeof rec[0], m, 8, &r0, err, sizeof err);
			/* f(n) returns n + (n + n-1 + ... + 1) */
			snprintf(nm, sizeof nm, "%s: recursion to %d frames", engine_name[e], n + 2);
			if (n + 2 <= SKEP_MAX_CALL_DEPTH)
				CHECK(rc == 0 && r0 == (uint64_t)(n + n * (n + 1) / 2), nm, "rc %d r0 %llu %s", rc,
				      (unsigned long long)r0, err);
			else
				CHECK(0, nm, "bad test");
		}
		char nm[64];
		snprintf(nm, sizeof nm, "%s: 9th frame refused", engine_name[e]);
		expect_fail(nm, (enum skep_engine)e, -E2BIG, "insn 7: the call stack of 9 frames is too deep",
			    P(BPF_MOV64_IMM(R1, 7), BPF_CALL_REL(1), BPF_EXIT_INSN(),
			      BPF_MOV64_IMM(R0, 0), BPF_JMP_IMM(BPF_JEQ, R1, 0, 5), BPF_MOV64_REG(R6, R1),
			      BPF_ALU64_IMM(BPF_SUB, R1, 1), BPF_CALL_REL(-5), BPF_ALU64_IMM(BPF_ADD, R0, 1),
			      BPF_ALU64_REG(BPF_ADD, R0, R6), BPF_EXIT_INSN()));
		snprintf(nm, sizeof nm, "%s: infinite recursion refused", engine_name[e]);
		expect_fail(nm, (enum skep_engine)e, -E2BIG, "too deep",
			    P(BPF_CALL_REL(-1), BPF_EXIT_INSN()));
	}
	/* each frame has its own stack: a callee's r10 is 512 below its caller's */
	expect("callee r10 is a fresh frame", 512,
	       P(BPF_MOV64_REG(R6, R10), BPF_CALL_REL(3), BPF_ALU64_REG(BPF_SUB, R6, R0), BPF_MOV64_REG(R0, R6),
		 BPF_EXIT_INSN(), BPF_MOV64_REG(R0, R10), BPF_EXIT_INSN()));
}

static uint64_t h_sum(uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e)
{
	return a + 2 * b + 3 * c + 4 * d + 5 * e;
}
static uint64_t h_seven(uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e) { return 7; }

static void test_helpers(void)
{
	const struct skep_insn prog[] = {
		BPF_MOV64_IMM(R1, 1), BPF_MOV64_IMM(R2, 10), BPF_MOV64_IMM(R3, 100), BPF_MOV64_IMM(R4, 1000),
		BPF_MOV64_IMM(R5, 10000), BPF_CALL_HELPER(17), BPF_EXIT_INSN(),
	};
	for (int e = 0; e < 2; e++) {
		skep_prog *p = skep_prog_new();
		skep_prog_load(p, prog, 7);
		skep_prog_set_engine(p, (enum skep_engine)e);
		uint64_t r0 = 0;
		uint8_t m[8];
		int rc = skep_prog_run_mem(p, m, 8, &r0);
		char nm[64];
		snprintf(nm, sizeof nm, "%s: unbound helper", engine_name[e]);
		CHECK(rc == -ENOSYS && strstr(skep_prog_error(p), "insn 5: call to helper 17 which is not bound"), nm,
		      "rc %d '%s'", rc, skep_prog_error(p));
		skep_prog_set_helper(p, 17, h_sum);
		rc = skep_prog_run_mem(p, m, 8, &r0);
		snprintf(nm, sizeof nm, "%s: helper gets r1..r5", engine_name[e]);
		CHECK(rc == 0 && r0 == 54321, nm, "rc %d r0 %llu", rc, (unsigned long long)r0);
		skep_prog_set_helper(p, 17, h_seven);
		rc = skep_prog_run_mem(p, m, 8, &r0);
		snprintf(nm, sizeof nm, "%s: helper rebound", engine_name[e]);
		CHECK(rc == 0 && r0 == 7, nm, "rc %d r0 %llu", rc, (unsigned long long)r0);
		skep_prog_set_helper(p, 17, NULL);
		rc = skep_prog_run_mem(p, m, 8, &r0);
		snprintf(nm, sizeof nm, "%s: helper unbound again", engine_name[e]);
		CHECK(rc == -ENOSYS, nm, "rc %d", rc);
		skep_prog_free(p);
		snprintf(nm, sizeof nm, "%s: kfunc call", engine_name[e]);
		expect_fail(nm, (enum skep_engine)e, -ENOSYS, "insn 0: call to kfunc 3",
			    P(BPF_CALL_KFUNC(3), BPF_EXIT_INSN()));
		snprintf(nm, sizeof nm, "%s: helper id -1", engine_name[e]);
		expect_fail(nm, (enum skep_engine)e, -ENOSYS, "helper 4294967295 which is not bound",
			    P(BPF_CALL_HELPER(-1), BPF_EXIT_INSN()));
	}
}

static void test_ldpkt(void)
{
	uint8_t pkt[64] = {0x12, 0x34, 0x56, 0x78, 0x9a};
	pkt[63] = 0xee;
	expect_mem("ld_abs b", 0x34, P(BPF_LD_ABS(BPF_B, 1), BPF_EXIT_INSN()), pkt, NULL);
	expect_mem("ld_abs h big-endian", 0x3456, P(BPF_LD_ABS(BPF_H, 1), BPF_EXIT_INSN()), pkt, NULL);
	expect_mem("ld_abs w big-endian", 0x3456789a, P(BPF_LD_ABS(BPF_W, 1), BPF_EXIT_INSN()), pkt, NULL);
	expect_mem("ld_abs last byte", 0xee, P(BPF_LD_ABS(BPF_B, 63), BPF_EXIT_INSN()), pkt, NULL);
	expect_mem("ld_abs out of bounds exits with 0", 0,
		   P(BPF_MOV64_IMM(R0, 5), BPF_LD_ABS(BPF_W, 61), BPF_MOV64_IMM(R0, 9), BPF_EXIT_INSN()), pkt, NULL);
	expect_mem("ld_abs negative offset exits with 0", 0,
		   P(BPF_LD_ABS(BPF_B, -1), BPF_MOV64_IMM(R0, 9), BPF_EXIT_INSN()), pkt, NULL);
	expect_mem("ld_ind", 0x5678, P(BPF_MOV64_IMM(R3, 1), BPF_LD_IND(BPF_H, R3, 1), BPF_EXIT_INSN()), pkt, NULL);
	expect_mem("ld_ind negative imm", 0x789a, P(BPF_MOV64_IMM(R3, 5), BPF_LD_IND(BPF_H, R3, -2), BPF_EXIT_INSN()),
		   pkt, NULL);
	expect_mem("ld_ind out of bounds exits with 0", 0,
		   P(BPF_MOV64_IMM(R3, 63), BPF_LD_IND(BPF_H, R3, 0), BPF_MOV64_IMM(R0, 9), BPF_EXIT_INSN()), pkt, NULL);
	expect_mem("ld_ind uses the low 32 bits of src", 0x12,
		   P(BPF_LD_IMM64(R3, 0x100000000ull), BPF_LD_IND(BPF_B, R3, 0), BPF_EXIT_INSN()), pkt, NULL);
	/* no packet at all */
	skep_prog *p = skep_prog_new();
	const struct skep_insn prog[] = {BPF_MOV64_IMM(R0, 5), BPF_LD_ABS(BPF_B, 0), BPF_EXIT_INSN()};
	skep_prog_load(p, prog, 3);
	struct skep_run_args a = {0};
	uint64_t r0 = 1;
	int rc = skep_prog_run(p, &a, &r0);
	CHECK(rc == 0 && r0 == 0, "ld_abs without packet exits with 0", "rc %d r0 %llu", rc, (unsigned long long)r0);
	skep_prog_free(p);
}

/* Tail calls (helper 12, exec.h): the target replaces the caller's frame; failures and
 * the 34th tail call of a run fall through. */
static void test_tail_calls(void)
{
	skep_prog *target = skep_prog_new(), *self = skep_prog_new(), *unloaded = skep_prog_new();
	skep_prog *slots[3] = {target, NULL, unloaded};
	struct skep_prog_array arr = {3, slots};
	uint64_t parr = (uint64_t)(uintptr_t)&arr;
	/* target: r0 = data[0] + 100 + r6 (r6 as left by the caller) */
	const struct skep_insn tgt[] = {BPF_LDX_MEM(BPF_B, R0, R1, 0), BPF_ALU64_IMM(BPF_ADD, R0, 100),
					BPF_ALU64_REG(BPF_ADD, R0, R6), BPF_EXIT_INSN()};
	skep_prog_load(target, tgt, 4);
	/* the checked engine only follows prog arrays the program references (a hand-built
	 * table is refused): it runs tail calls through real PROG_ARRAY maps in
	 * test_tailcall.c */
	for (int e = 0; e < 1; e++) {
		char nm[96];
		uint8_t m[8] = {3};
		uint64_t r0 = 0;
		int rc;
		for (int idx = 0; idx < 5; idx++) {
			const struct skep_insn caller[] = {
				BPF_MOV64_IMM(R6, 20), BPF_LD_IMM64(R2, parr), BPF_MOV64_IMM(R3, idx),
				BPF_CALL_HELPER(12), BPF_MOV64_IMM(R0, 1), BPF_EXIT_INSN(),
			};
			rc = run_on((enum skep_engine)e, caller, 7, m, 8, &r0, NULL, 0);
			snprintf(nm, sizeof nm, "%s: tail call to slot %d%s", engine_name[e], idx,
				 idx == 0 ? "" : idx == 1 ? " (empty) falls through" : idx == 2 ? " (not loaded) falls through"
				 : " (out of range) falls through");
			CHECK(rc == 0 && r0 == (idx == 0 ? 123u : 1u), nm, "rc %d r0 %llu", rc, (unsigned long long)r0);
		}
		/* from a subprogram: the target's exit returns to the subprogram's caller */
		const struct skep_insn sub[] = {
			BPF_MOV64_IMM(R6, 1), BPF_CALL_REL(2), BPF_ALU64_REG(BPF_ADD, R0, R6), BPF_EXIT_INSN(),
			BPF_MOV64_IMM(R6, 40), BPF_LD_IMM64(R2, parr), BPF_MOV64_IMM(R3, 0), BPF_CALL_HELPER(12),
			BPF_MOV64_IMM(R0, 7), BPF_EXIT_INSN(),
		};
		rc = run_on((enum skep_engine)e, sub, sizeof sub / sizeof sub[0], m, 8, &r0, NULL, 0);
		snprintf(nm, sizeof nm, "%s: tail call from a subprogram returns to its caller", engine_name[e]);
		CHECK(rc == 0 && r0 == 3 + 100 + 40 + 1, nm, "rc %d r0 %llu", rc, (unsigned long long)r0);
		/* a program tail-calling itself runs 1 + 33 times */
		struct skep_prog_array one = {1, (skep_prog *const[]){self}};
		const struct skep_insn loop[] = {
			BPF_LDX_MEM(BPF_DW, R0, R1, 0), BPF_ALU64_IMM(BPF_ADD, R0, 1), BPF_STX_MEM(BPF_DW, R1, R0, 0),
			BPF_LD_IMM64(R2, (uint64_t)(uintptr_t)&one), BPF_MOV64_IMM(R3, 0), BPF_CALL_HELPER(12),
			BPF_LDX_MEM(BPF_DW, R0, R1, 0), BPF_EXIT_INSN(),
		};
		skep_prog_load(self, loop, sizeof loop / sizeof loop[0]);
		skep_prog_set_engine(self, (enum skep_engine)e);
		uint64_t counter = 0;
		rc = skep_prog_run_mem(self, &counter, 8, &r0);
		snprintf(nm, sizeof nm, "%s: at most 33 tail calls per run", engine_name[e]);
		CHECK(rc == 0 && r0 == 34 && counter == 34, nm, "rc %d r0 %llu counter %llu", rc,
		      (unsigned long long)r0, (unsigned long long)counter);
		rc = skep_prog_run_mem(self, &counter, 8, &r0);
		snprintf(nm, sizeof nm, "%s: the tail call budget is per run", engine_name[e]);
		CHECK(rc == 0 && counter == 68, nm, "rc %d counter %llu", rc, (unsigned long long)counter);
	}
	skep_prog_free(target);
	skep_prog_free(self);
	skep_prog_free(unloaded);
}

static void test_checked(void)
{
	struct { const char *name; const char *frag; struct skep_insn insn; } bad[] = {
		{"stack underflow", "insn 1: 8-byte store to 0x", BPF_STX_MEM(BPF_DW, R10, R0, -520)},
		{"stack overflow", "insn 1: 4-byte load from 0x", BPF_LDX_MEM(BPF_W, R0, R10, 0)},
		{"stack straddle top", "(r10 - 2) is outside", BPF_LDX_MEM(BPF_W, R0, R10, -2)},
		{"region end", "(r1 + 61) is outside the stack, context and caller memory",
		 BPF_LDX_MEM(BPF_W, R0, R1, 61)},
		{"region before start", "1-byte store to", BPF_ST_MEM(BPF_B, R1, -1, 0)},
		{"null pointer", "(r0 + 0) is outside", BPF_LDX_MEM(BPF_B, R0, R0, 0)},
		{"atomic out of region", "insn 1: 8-byte atomic access to", BPF_ATOMIC_OP(BPF_DW, BPF_ADD, R1, R0, 64)},
		{"atomic misaligned", "not aligned", BPF_ATOMIC_OP(BPF_W, BPF_ADD, R1, R0, 2)},
		{"cmpxchg below stack", "atomic access", BPF_ATOMIC_OP(BPF_DW, BPF_CMPXCHG, R10, R1, -520)},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char nm[96];
		snprintf(nm, sizeof nm, "checked refuses: %s", bad[i].name);
		expect_fail(nm, SKEP_ENGINE_CHECKED, -EFAULT, bad[i].frag,
			    P(BPF_MOV64_IMM(R0, 0), bad[i].insn, BPF_MOV64_IMM(R0, 1), BPF_EXIT_INSN()));
	}
	/* a dead callee frame is not accessible once it returned */
	expect_fail("checked refuses a returned frame's stack", SKEP_ENGINE_CHECKED, -EFAULT, "insn 1: 8-byte load",
		    P(BPF_CALL_REL(2), BPF_LDX_MEM(BPF_DW, R0, R0, 0), BPF_EXIT_INSN(),
		      BPF_MOV64_REG(R0, R10), BPF_ALU64_IMM(BPF_ADD, R0, -8), BPF_EXIT_INSN()));
	/* read-only region: loads fine, stores and atomics refused */
	uint8_t ro[16] = {42};
	struct skep_region reg = {ro, sizeof ro, 0};
	struct skep_run_args a = {.r = {(uint64_t)(uintptr_t)ro}, .regions = &reg, .nregions = 1};
	const struct skep_insn ld[] = {BPF_LDX_MEM(BPF_B, R0, R1, 0), BPF_EXIT_INSN()};
	const struct skep_insn st[] = {BPF_MOV64_IMM(R0, 0), BPF_ST_MEM(BPF_B, R1, 3, 1), BPF_EXIT_INSN()};
	const struct skep_insn at[] = {BPF_MOV64_IMM(R0, 0), BPF_ATOMIC_OP(BPF_DW, BPF_XCHG, R1, R0, 8),
				       BPF_EXIT_INSN()};
	skep_prog *p = skep_prog_new();
	skep_prog_set_engine(p, SKEP_ENGINE_CHECKED);
	uint64_t r0 = 0;
	skep_prog_load(p, ld, 2);
	int rc = skep_prog_run(p, &a, &r0);
	CHECK(rc == 0 && r0 == 42, "checked: load from read-only region", "rc %d %s", rc, skep_prog_error(p));
	skep_prog_load(p, st, 3);
	rc = skep_prog_run(p, &a, &r0);
	CHECK(rc == -EFAULT && strstr(skep_prog_error(p), "insn 1: 1-byte store to") &&
	      strstr(skep_prog_error(p), "(r1 + 3) is in read-only memory") && ro[3] == 0,
	      "checked: store to read-only region", "rc %d %s", rc, skep_prog_error(p));
	skep_prog_load(p, at, 3);
	rc = skep_prog_run(p, &a, &r0);
	CHECK(rc == -EFAULT && strstr(skep_prog_error(p), "read-only"), "checked: atomic on read-only region",
	      "rc %d %s", rc, skep_prog_error(p));
	/* an overlapping writable region wins */
	struct skep_region two[2] = {{ro, sizeof ro, 0}, {ro, sizeof ro, 1}};
	a.regions = two;
	a.nregions = 2;
	skep_prog_load(p, st, 3);
	rc = skep_prog_run(p, &a, &r0);
	CHECK(rc == 0 && ro[3] == 1, "checked: writable alias of a read-only region", "rc %d %s", rc,
	      skep_prog_error(p));
	skep_prog_free(p);
}

static void test_limit_and_errors(void)
{
	const struct skep_insn loop[] = {BPF_MOV64_IMM(R0, 0), BPF_ALU64_IMM(BPF_ADD, R0, 1), BPF_JMP_A(-2)};
	skep_prog *p = skep_prog_new();
	int rc = skep_prog_load(p, loop, 3);
	skep_prog_set_engine(p, SKEP_ENGINE_CHECKED);
	skep_prog_set_insn_limit(p, 1001);
	uint64_t r0 = 0;
	uint8_t m[8];
	rc = skep_prog_run_mem(p, m, 8, &r0);
	CHECK(rc == -E2BIG && strstr(skep_prog_error(p), "instruction limit of 1001") &&
	      strstr(skep_prog_error(p), "insn 1:") && skep_prog_insn_count(p) == 1001,
	      "insn limit stops an endless loop", "rc %d '%s' count %llu", rc, skep_prog_error(p),
	      (unsigned long long)skep_prog_insn_count(p));
	skep_prog_free(p);

	const struct skep_insn sum[] = {BPF_MOV64_IMM(R0, 0), BPF_MOV64_IMM(R1, 1), BPF_ALU64_REG(BPF_ADD, R0, R1),
					BPF_ALU64_IMM(BPF_ADD, R1, 1), BPF_JMP_IMM(BPF_JLE, R1, 100, -3),
					BPF_EXIT_INSN()};
	p = skep_prog_new();
	skep_prog_load(p, sum, 6);
	skep_prog_set_engine(p, SKEP_ENGINE_CHECKED);
	rc = skep_prog_run_mem(p, m, 8, &r0);
	CHECK(rc == 0 && skep_prog_insn_count(p) == 2 + 300 + 1, "insn count of a checked run", "rc %d count %llu",
	      rc, (unsigned long long)skep_prog_insn_count(p));
	skep_prog_set_insn_limit(p, 303);
	rc = skep_prog_run_mem(p, m, 8, &r0);
	CHECK(rc == 0 && r0 == 5050, "limit equal to the count is enough", "rc %d %s", rc, skep_prog_error(p));
	skep_prog_set_insn_limit(p, 302);
	rc = skep_prog_run_mem(p, m, 8, &r0);
	CHECK(rc == -E2BIG && strstr(skep_prog_error(p), "insn 5:"), "limit one short stops at exit", "rc %d %s", rc,
	      skep_prog_error(p));
	skep_prog_set_engine(p, SKEP_ENGINE_INTERP);
	rc = skep_prog_run_mem(p, m, 8, &r0);
	CHECK(rc == 0 && r0 == 5050 && skep_prog_insn_count(p) == 0, "fast engine ignores limit, count 0",
	      "rc %d count %llu", rc, (unsigned long long)skep_prog_insn_count(p));
	size_t n = 0;
	const struct skep_insn *ins = skep_prog_insns(p, &n);
	CHECK(n == 6 && ins && !memcmp(ins, sum, sizeof sum), "skep_prog_insns returns a copy", "n %zu", n);
	CHECK(skep_prog_engine(p) == SKEP_ENGINE_INTERP, "engine getter", "%d", skep_prog_engine(p));

	/* load errors come from the validator and name the instruction */
	const struct skep_insn badop[] = {BPF_MOV64_IMM(R0, 0), BPF_RAW_INSN(0xff, 0, 0, 0, 0), BPF_EXIT_INSN()};
	rc = skep_prog_load(p, badop, 3);
	CHECK(rc == -EINVAL && strstr(skep_prog_error(p), "insn 1:"), "load refuses unknown opcode", "rc %d '%s'",
	      rc, skep_prog_error(p));
	const struct skep_insn noexit[] = {BPF_MOV64_IMM(R0, 0)};
	rc = skep_prog_load(p, noexit, 1);
	CHECK(rc == -EINVAL && strstr(skep_prog_error(p), "fall off"), "load refuses falling off the end",
	      "rc %d '%s'", rc, skep_prog_error(p));
	/* the failed loads left the previous program intact */
	rc = skep_prog_run_mem(p, m, 8, &r0);
	CHECK(rc == 0 && r0 == 5050, "failed load keeps the old program", "rc %d %s", rc, skep_prog_error(p));
	skep_prog_free(p);

	p = skep_prog_new();
	rc = skep_prog_run_mem(p, m, 8, &r0);
	CHECK(rc == -EINVAL && *skep_prog_error(p), "run before load", "rc %d", rc);
	CHECK(skep_prog_set_engine(p, (enum skep_engine)7) == -EINVAL, "unknown engine refused", "%s",
	      skep_prog_error(p));
	skep_prog_free(p);
	skep_prog_free(NULL);
}

int main(void)
{
	test_alu();
	test_shifts();
	test_div();
	test_movsx_end();
	test_jumps();
	test_memory();
	test_atomics();
	test_atomic_threads();
	test_calls();
	test_helpers();
	test_ldpkt();
	test_tail_calls();
	test_checked();
	test_limit_and_errors();
	return t_done();
}
