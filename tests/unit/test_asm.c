/* The assembler and disassembler: every op round-trips through text for many field
 * values (with and without labels, index and byte columns), the text is llvm-objdump's
 * (byte-compared against llvm-mc-19 where it is installed), the other accepted
 * spellings assemble to the expected bytes, errors name the line and the reason, and
 * random input never crashes. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "isa/isa.h"
#include "isa/text.h"

static const int32_t imms[] = {0, 1, -1, INT32_MIN, INT32_MAX, 0x10, 1000, -8};
static const int16_t offs[] = {0, 1, -1, -32768, 32767, 8, -8, 2};
#define NV 8
#define NINST 11 /* instances per op: each register 0..10 once, each imm/off value once */

/* Instance k of op (two slots for lddw); returns the slot count. */
static int instance(int op, int k, struct skep_insn in[2])
{
	const struct isa_opinfo *oi = &isa_ops[op];
	memset(in, 0, 2 * sizeof *in);
	in->code = oi->code;
	if (oi->fields & F_DST) in->dst = (uint8_t)(k % 11);
	if ((oi->fields & F_SRC) && oi->sel != SEL_SRC) in->src = (uint8_t)((k * 3 + 1) % 11);
	if ((oi->fields & F_OFF) && oi->sel != SEL_OFF && op != OP_CALL_KFUNC) in->off = offs[k % NV];
	if ((oi->fields & F_IMM) && oi->sel != SEL_IMM) in->imm = imms[(k + 3) % NV];
	if (oi->sel == SEL_OFF) in->off = (int16_t)oi->selval;
	if (oi->sel == SEL_IMM) in->imm = oi->selval;
	if (oi->sel == SEL_SRC) in->src = (uint8_t)oi->selval;
	if (oi->kind != K_LDDW)
		return 1;
	if (strstr(oi->text, "$L") || strstr(oi->text, "$n"))
		in[1].imm = imms[(k + 5) % NV];
	return 2;
}

static size_t program_of(int op, struct skep_insn *p)
{
	size_t n = 0;
	for (int k = 0; k < NINST; k++)
		n += (size_t)instance(op, k, &p[n]);
	return n;
}

static int same(const struct skep_insn *a, const struct skep_insn *b, size_t n, size_t *at)
{
	for (size_t i = 0; i < n; i++)
		if (memcmp(&a[i], &b[i], sizeof *a)) {
			*at = i;
			return 0;
		}
	return 1;
}

static void roundtrip_all(void)
{
	CHECK(isa_asm_patterns_ok(), "asm/templates", "a template of optable.def does not tokenize");
	static const struct { unsigned flags; const char *name; } modes[] = {
		{0, "plain"},
		{SKEP_DISASM_LABELS, "labels"},
		{SKEP_DISASM_INDEX, "index"},
		{SKEP_DISASM_INDEX | SKEP_DISASM_LABELS | SKEP_DISASM_OPCODES, "all"},
	};
	struct skep_insn prog[2 * NINST];
	for (int op = 0; op < OP__COUNT; op++) {
		size_t n = program_of(op, prog);
		/* each instance alone: consumed count, no placeholder left */
		int ok = 1;
		char buf[160], why[200] = "";
		for (size_t i = 0; i < n;) {
			int k = skep_insn_disasm(&prog[i], n - i, buf, sizeof buf);
			if (k != (isa_ops[op].kind == K_LDDW ? 2 : 1) || strchr(buf, '$') || strstr(buf, "invalid")) {
				ok = 0;
				snprintf(why, sizeof why, "insn %zu: %d '%s'", i, k, buf);
				break;
			}
			i += (size_t)k;
		}
		char name[96];
		snprintf(name, sizeof name, "disasm/%s", isa_ops[op].name);
		CHECK(ok, name, "%s", why);
		for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++) {
			char *text = skep_disasm_text(prog, n, modes[m].flags);
			struct skep_insn *back = NULL;
			size_t nb = 0, at = 0;
			struct skep_diag d = {0};
			int err = text ? skep_assemble(text, &back, &nb, &d) : -ENOMEM;
			snprintf(name, sizeof name, "roundtrip/%s/%s", modes[m].name, isa_ops[op].name);
			int good = !err && nb == n && same(prog, back, n, &at);
			char got[160] = "", want[160] = "";
			if (!err && nb == n && !good) {
				skep_insn_disasm(&back[at], nb - at, got, sizeof got);
				skep_insn_disasm(&prog[at], n - at, want, sizeof want);
			}
			CHECK(good, name, "err %d '%s', %zu of %zu insns, first difference at %zu: '%s' for '%s'\n%s",
			      err, d.msg, nb, n, at, got, want, text ? text : "");
			free(text);
			free(back);
		}
	}
}

/* The whole table as one program, with labels: jumps land all over it. */
static void roundtrip_everything(void)
{
	struct skep_insn *p = calloc(OP__COUNT * 2 * NINST, sizeof *p);
	size_t n = 0;
	for (int op = 0; op < OP__COUNT; op++)
		n += program_of(op, p + n);
	unsigned flags[] = {SKEP_DISASM_LABELS, SKEP_DISASM_LABELS | SKEP_DISASM_INDEX | SKEP_DISASM_OPCODES};
	for (int f = 0; f < 2; f++) {
		char *text = skep_disasm_text(p, n, flags[f]);
		struct skep_insn *back = NULL;
		size_t nb = 0, at = 0;
		struct skep_diag d = {0};
		int err = skep_assemble(text, &back, &nb, &d);
		int labels = 0;
		for (const char *s = text; (s = strstr(s, "\nL")); s++)
			labels++;
		CHECK(!err && nb == n && same(p, back, n, &at) && labels > 50, f ? "roundtrip/whole-table-all" :
		      "roundtrip/whole-table-labels", "err %d '%s' n %zu/%zu at %zu labels %d", err, d.msg, nb, n, at, labels);
		free(back);
		free(text);
	}
	free(p);
}

/* ---- exact text, as llvm-objdump prints it ---- */

static void expect_text(const char *name, struct skep_insn a, struct skep_insn b, const char *want)
{
	struct skep_insn p[2] = {a, b};
	char buf[128];
	int k = skep_insn_disasm(p, 2, buf, sizeof buf);
	CHECK(k > 0 && !strcmp(buf, want), name, "got %d '%s', want '%s'", k, buf, want);
}

#define I(c, d, s, o, i) ((struct skep_insn){(c), (d), (s), (o), (i)})
static const struct skep_insn Z = {0};

static void text_forms(void)
{
	expect_text("text/ldx", I(0x61, 0, 1, 4, 0), Z, "r0 = *(u32 *)(r1 + 4)");
	expect_text("text/stx-neg", I(0x7b, 10, 1, -8, 0), Z, "*(u64 *)(r10 - 8) = r1");
	expect_text("text/st", I(0x62, 10, 0, -8, 5), Z, "*(u32 *)(r10 - 8) = 0x5");
	expect_text("text/alu32", I(0x0c, 2, 3, 0, 0), Z, "w2 += w3");
	expect_text("text/imm-neg", I(0x04, 2, 0, 0, -1), Z, "w2 += -0x1");
	expect_text("text/imm-min", I(0xb7, 1, 0, 0, INT32_MIN), Z, "r1 = -0x80000000");
	expect_text("text/jsgt", I(0x65, 1, 0, 3, 16), Z, "if r1 s> 0x10 goto +3");
	expect_text("text/jmp32-back", I(0x66, 1, 0, -3, -16), Z, "if w1 s> -0x10 goto -3");
	expect_text("text/lddw", I(0x18, 1, 0, 0, 0x55667788), I(0, 0, 0, 0, 0x11223344),
		    "r1 = 0x1122334455667788 ll");
	expect_text("text/lddw-neg", I(0x18, 1, 0, 0, -1), I(0, 0, 0, 0, -1), "r1 = -0x1 ll");
	expect_text("text/lock-add", I(0xdb, 10, 1, -8, 0), Z, "lock *(u64 *)(r10 - 8) += r1");
	expect_text("text/fetch-add", I(0xdb, 10, 0, -8, 1), Z, "r0 = atomic_fetch_add((u64 *)(r10 - 8), r0)");
	expect_text("text/cmpxchg", I(0xdb, 10, 1, -8, 0xf1), Z, "r0 = cmpxchg_64(r10 - 8, r0, r1)");
	expect_text("text/call", I(0x85, 0, 0, 0, 1), Z, "call 0x1");
	expect_text("text/call-local", I(0x85, 0, 1, 0, -3), Z, "call -3");
	expect_text("text/exit", I(0x95, 0, 0, 0, 0), Z, "exit");
	expect_text("text/movsx", I(0xbf, 1, 2, 8, 0), Z, "r1 = (s8)r2");
	expect_text("text/bswap", I(0xd7, 1, 0, 0, 16), Z, "r1 = bswap16 r1");
	expect_text("text/gotol", I(0x06, 0, 0, 0, 3), Z, "gotol +3");
	expect_text("text/ldind", I(0x48, 0, 1, 0, 0), Z, "r0 = *(u16 *)skb[r1]");
	expect_text("text/ldind-imm", I(0x48, 0, 1, 0, 4), Z, "r0 = *(u16 *)skb[r1 + 4]");
	expect_text("text/ldabs", I(0x28, 0, 0, 0, 4), Z, "r0 = *(u16 *)skb[0x4]");
	expect_text("text/map-value", I(0x18, 1, 2, 0, 3), I(0, 0, 0, 0, 16), "r1 = map_value(0x3, 0x10) ll");

	/* invalid instructions */
	char buf[128];
	struct skep_insn bad[2] = {I(0xff, 0, 0, 0, 0), Z};
	int k = skep_insn_disasm(bad, 2, buf, sizeof buf);
	CHECK(k == -EINVAL && !strcmp(buf, "<invalid: unknown opcode 0xff>"), "invalid/opcode", "%d '%s'", k, buf);
	bad[0] = I(0xdb, 1, 2, 0, 0x33);
	k = skep_insn_disasm(bad, 2, buf, sizeof buf);
	CHECK(k == -EINVAL && strstr(buf, "no variant with imm 51"), "invalid/atomic-imm", "%d '%s'", k, buf);
	bad[0] = I(0x95, 0, 0, 0, 7);
	k = skep_insn_disasm(bad, 2, buf, sizeof buf);
	CHECK(k == -EINVAL && strstr(buf, "reserved imm 7"), "invalid/reserved", "%d '%s'", k, buf);
	bad[0] = I(0xbf, 11, 1, 0, 0);
	k = skep_insn_disasm(bad, 2, buf, sizeof buf);
	CHECK(k == -EINVAL && strstr(buf, "r11"), "invalid/register", "%d '%s'", k, buf);
	bad[0] = I(0x18, 1, 0, 0, 0);
	k = skep_insn_disasm(bad, 1, buf, sizeof buf);
	CHECK(k == -EINVAL && strstr(buf, "second half"), "invalid/lddw-alone", "%d '%s'", k, buf);
	bad[1] = I(0x18, 0, 0, 0, 0);
	k = skep_insn_disasm(bad, 2, buf, sizeof buf);
	CHECK(k == -EINVAL && strstr(buf, "second half"), "invalid/lddw-half", "%d '%s'", k, buf);
	k = skep_insn_disasm(bad, 0, buf, sizeof buf);
	CHECK(k == -EINVAL, "invalid/empty", "%d", k);
	/* a small buffer truncates, never overflows */
	char small[6] = "xxxxx";
	k = skep_insn_disasm((struct skep_insn[]){I(0x61, 0, 1, 4, 0)}, 1, small, 5);
	CHECK(k == 1 && !strcmp(small, "r0 ="), "disasm/truncate", "%d '%s'", k, small);
	k = skep_insn_disasm((struct skep_insn[]){I(0x61, 0, 1, 4, 0)}, 1, small, 0);
	CHECK(k == 1 && small[0] == 'r', "disasm/size0", "%d", k);

	/* program text: index, labels, opcodes, helper comment, invalid lines */
	struct skep_insn p[] = {I(0xb7, 0, 0, 0, 0), I(0x15, 1, 0, 1, 0), I(0x85, 0, 0, 0, 1),
				I(0x05, 0, 0, -3, 0), I(0xff, 0, 0, 0, 0), I(0x95, 0, 0, 0, 0)};
	char *t = skep_disasm_text(p, 6, SKEP_DISASM_INDEX | SKEP_DISASM_LABELS);
	const char *want = "    0: r0 = 0x0\nL1:\n    1: if r1 == 0x0 goto L3\n    2: call 0x1  # bpf_map_lookup_elem\n"
			   "L3:\n    3: goto L1\n    4: <invalid: unknown opcode 0xff>\n    5: exit\n";
	CHECK(t && !strcmp(t, want), "text/program", "got:\n%s", t ? t : "(null)");
	free(t);
	t = skep_disasm_text(p, 1, SKEP_DISASM_OPCODES);
	CHECK(t && !strcmp(t, "b7 00 00 00 00 00 00 00  r0 = 0x0\n"), "text/opcodes", "got '%s'", t ? t : "(null)");
	free(t);
	t = skep_disasm_text(p, 0, SKEP_DISASM_INDEX);
	CHECK(t && !*t, "text/empty", "got '%s'", t ? t : "(null)");
	free(t);
}

/* ---- other spellings ---- */

static void expect_asm(const char *name, const char *text, const struct skep_insn *want, size_t n)
{
	struct skep_insn *p = NULL;
	size_t np = 0, at = 0;
	struct skep_diag d = {0};
	int err = skep_assemble(text, &p, &np, &d);
	char got[128] = "", exp[128] = "";
	int good = !err && np == n && same(p, want, n, &at);
	if (!err && np == n && !good) {
		skep_insn_disasm(&p[at], np - at, got, sizeof got);
		snprintf(exp, sizeof exp, "%02x %d %d %d %d", want[at].code, want[at].dst, want[at].src,
			 want[at].off, want[at].imm);
		snprintf(got + strlen(got), sizeof got - strlen(got), " = %02x %d %d %d %d", p[at].code, p[at].dst,
			 p[at].src, p[at].off, p[at].imm);
	}
	CHECK(good, name, "err %d '%s' n %zu/%zu; at %zu got '%s' want '%s'", err, d.msg, np, n, at, got, exp);
	free(p);
}
#define ASM(name, text, ...)                                                          \
	do {                                                                          \
		const struct skep_insn w_[] = {__VA_ARGS__};                           \
		expect_asm(name, text, w_, sizeof w_ / sizeof w_[0]);                  \
	} while (0)

static void spellings(void)
{
	ASM("asm/kernel-disp", "r0 = *(u32 *)(r1 +4)", I(0x61, 0, 1, 4, 0));
	ASM("asm/kernel-disp-neg", "*(u64 *)(r10 -8) = r1", I(0x7b, 10, 1, -8, 0));
	ASM("asm/no-disp", "r0 = *(u64 *)(r1)", I(0x79, 0, 1, 0, 0));
	ASM("asm/hex-disp", "r0 = *(u32 *)(r1 + 0x10)", I(0x61, 0, 1, 16, 0));
	ASM("asm/plus-neg-disp", "r0 = *(u32 *)(r1 + -8)", I(0x61, 0, 1, -8, 0));
	ASM("asm/goto-pc", "goto pc+3\ngoto pc-1", I(0x05, 0, 0, 3, 0), I(0x05, 0, 0, -1, 0));
	ASM("asm/if-pc", "if r1 == 0x0 goto pc+2", I(0x15, 1, 0, 2, 0));
	ASM("asm/call-pc", "call pc+3", I(0x85, 0, 1, 0, 3));
	ASM("asm/call-local-signed", "call -1\ncall +2", I(0x85, 0, 1, 0, -1), I(0x85, 0, 1, 0, 2));
	ASM("asm/call-helper-neg-hex", "call -0x1", I(0x85, 0, 0, 0, -1));
	ASM("asm/call-kernel-name", "call bpf_map_lookup_elem#1", I(0x85, 0, 0, 0, 1));
	ASM("asm/call-name", "call bpf_map_lookup_elem\ncall bpf_ktime_get_ns", I(0x85, 0, 0, 0, 1),
	    I(0x85, 0, 0, 0, 5));
	ASM("asm/call-unknown-kernel", "call unknown#195", I(0x85, 0, 0, 0, 195));
	ASM("asm/call-decimal", "call 12", I(0x85, 0, 0, 0, 12));
	ASM("asm/lddw", "r1 = 0x1122334455667788 ll", I(0x18, 1, 0, 0, 0x55667788), I(0, 0, 0, 0, 0x11223344));
	ASM("asm/lddw-max", "r2 = 18446744073709551615 ll", I(0x18, 2, 0, 0, -1), I(0, 0, 0, 0, -1));
	ASM("asm/lddw-min", "r2 = -0x8000000000000000 ll", I(0x18, 2, 0, 0, 0), I(0, 0, 0, 0, INT32_MIN));
	ASM("asm/decimal-imm", "r1 = 16\nr1 = 0x10\nr1 = -16", I(0xb7, 1, 0, 0, 16), I(0xb7, 1, 0, 0, 16),
	    I(0xb7, 1, 0, 0, -16));
	ASM("asm/imm-u32", "r1 = 4294967295\nw1 = 0xffffffff\nr1 = -2147483648", I(0xb7, 1, 0, 0, -1),
	    I(0xb4, 1, 0, 0, -1), I(0xb7, 1, 0, 0, INT32_MIN));
	ASM("asm/w-load", "w0 = *(u32 *)(r1 + 4)\nw3 = *(u8 *)(r2 - 1)", I(0x61, 0, 1, 4, 0), I(0x71, 3, 2, -1, 0));
	ASM("asm/w-store", "*(u32 *)(r10 - 8) = w1\n*(u16 *)(r10 - 2) = w7", I(0x63, 10, 1, -8, 0),
	    I(0x6b, 10, 7, -2, 0));
	ASM("asm/ldind", "r0 = *(u16 *)skb[r1]\nr0 = *(u8 *)skb[r2 + 4]", I(0x48, 0, 1, 0, 0), I(0x50, 0, 2, 0, 4));
	ASM("asm/ldabs", "r0 = *(u32 *)skb[12]", I(0x20, 0, 0, 0, 12));
	ASM("asm/comments", "# only a comment\nexit # trailing\nexit ; semicolon\nexit // slashes\n  \n\t\nexit#glued\n",
	    I(0x95, 0, 0, 0, 0), I(0x95, 0, 0, 0, 0), I(0x95, 0, 0, 0, 0), I(0x95, 0, 0, 0, 0));
	ASM("asm/crlf", "r0 = 1\r\nexit\r\n", I(0xb7, 0, 0, 0, 1), I(0x95, 0, 0, 0, 0));
	ASM("asm/no-spaces", "r0=*(u32*)(r1+4)\nif r1>=r2 goto+1\nw1+=-1", I(0x61, 0, 1, 4, 0), I(0x3d, 1, 2, 1, 0),
	    I(0x04, 1, 0, 0, -1));
	ASM("asm/listing-index", "    0: r0 = 0x0\n    1: exit", I(0xb7, 0, 0, 0, 0), I(0x95, 0, 0, 0, 0));
	ASM("asm/listing-objdump",
	    "       0:\t61 10 04 00 00 00 00 00\tr0 = *(u32 *)(r1 + 0x4)\n"
	    "       1:\t65 01 03 00 10 00 00 00\tif r1 s> 0x10 goto +0x3 <.text+0x28>\n"
	    "       2:\t18 01 00 00 ff ff ff ff 00 00 00 00 ff ff ff ff\tr1 = -0x1 ll",
	    I(0x61, 0, 1, 4, 0), I(0x65, 1, 0, 3, 16), I(0x18, 1, 0, 0, -1), I(0, 0, 0, 0, -1));
	ASM("asm/listing-kernel", "0: (bf) r1 = r10\n1: (07) r1 += -8\n2: (85) call bpf_map_lookup_elem#1\n3: (95) exit",
	    I(0xbf, 1, 10, 0, 0), I(0x07, 1, 0, 0, -8), I(0x85, 0, 0, 0, 1), I(0x95, 0, 0, 0, 0));
	ASM("asm/kernel-atomics",
	    "0: (db) r0 = atomic64_fetch_add((u64 *)(r1 +0), r0)\n1: (c3) r2 = atomic_fetch_or((u32 *)(r10 -4), r2)\n"
	    "2: (c3) lock *(u32 *)(r1 +8) += r2\n3: (db) r1 = atomic64_xchg((u64 *)(r2 +8), r1)\n"
	    "4: (c3) r3 = atomic_xchg((u32 *)(r2 -8), r3)\n5: (db) r0 = atomic64_cmpxchg((u64 *)(r2 +8), r0, r3)\n"
	    "6: (c3) r0 = atomic_cmpxchg((u32 *)(r2 +8), r0, r3)",
	    I(0xdb, 1, 0, 0, 1), I(0xc3, 10, 2, -4, 0x41), I(0xc3, 1, 2, 8, 0), I(0xdb, 2, 1, 8, 0xe1),
	    I(0xc3, 2, 3, -8, 0xe1), I(0xdb, 2, 3, 8, 0xf1), I(0xc3, 2, 3, 8, 0xf1));
	ASM("asm/kernel-lddw", "0: (18) r1 = 0x1122334455667788\n2: (18) r2 = 0x5\n4: (b7) r3 = 5",
	    I(0x18, 1, 0, 0, 0x55667788), I(0, 0, 0, 0, 0x11223344), I(0x18, 2, 0, 0, 5), Z, I(0xb7, 3, 0, 0, 5));
	ASM("asm/labels",
	    "start:\n  r0 = 0\nloop: r0 += 1\n  if r0 < 10 goto loop\n  if w0 != w1 goto out\n"
	    "  gotol start\n  call fn\n  r2 = func fn ll\nout:\n  exit\nfn: r0 = 1\n  goto start\n",
	    I(0xb7, 0, 0, 0, 0), I(0x07, 0, 0, 0, 1), I(0xa5, 0, 0, -2, 10), I(0x5e, 0, 1, 4, 0),
	    I(0x06, 0, 0, 0, -5), I(0x85, 0, 1, 0, 3), I(0x18, 2, 4, 0, 2), I(0, 0, 0, 0, 0), I(0x95, 0, 0, 0, 0),
	    I(0xb7, 0, 0, 0, 1), I(0x05, 0, 0, -11, 0));
	ASM("asm/label-dots", ".LBB0_1: goto .LBB0_1", I(0x05, 0, 0, -1, 0));
	ASM("asm/label-names-like-ops", "exit: goto exit\ncall: exit", I(0x05, 0, 0, -1, 0), I(0x95, 0, 0, 0, 0));
	ASM("asm/label-at-end", "goto end\nend:", I(0x05, 0, 0, 0, 0));
	ASM("asm/pseudo",
	    "r1 = map_fd(3) ll\nr2 = map_value(3, 16) ll\nr3 = map_idx(0) ll\nr4 = map_idx_value(0, 8) ll\n"
	    "r5 = btf_id(5, 0) ll\nr6 = func +5 ll",
	    I(0x18, 1, 1, 0, 3), Z, I(0x18, 2, 2, 0, 3), I(0, 0, 0, 0, 16), I(0x18, 3, 5, 0, 0), Z,
	    I(0x18, 4, 6, 0, 0), I(0, 0, 0, 0, 8), I(0x18, 5, 3, 0, 5), Z, I(0x18, 6, 4, 0, 5), Z);
	ASM("asm/atomics",
	    "lock *(u64 *)(r10 - 8) += r1\nr0 = atomic_fetch_add((u64 *)(r10 - 8), r0)\n"
	    "w1 = xchg32_32(r10 - 8, w1)\nw0 = cmpxchg32_32(r2 + 4, w0, w3)",
	    I(0xdb, 10, 1, -8, 0), I(0xdb, 10, 0, -8, 1), I(0xc3, 10, 1, -8, 0xe1), I(0xc3, 2, 3, 4, 0xf1));
	ASM("asm/alu-misc", "r1 = (s8)r2\nr1 = bswap16 r1\nr1 = be64 r1\nw1 = -w1\nr1 s/= 3\nw2 s%= w3\nr1 s>>= 63",
	    I(0xbf, 1, 2, 8, 0), I(0xd7, 1, 0, 0, 16), I(0xdc, 1, 0, 0, 64), I(0x84, 1, 0, 0, 0),
	    I(0x37, 1, 0, 1, 3), I(0x9c, 2, 3, 1, 0), I(0xc7, 1, 0, 0, 63));
	ASM("asm/gotol", "gotol +3\ngotol -70000", I(0x06, 0, 0, 0, 3), I(0x06, 0, 0, 0, -70000));
	ASM("asm/raw-insn", ".insn 0xff 1 2 -3 0x7fffffff\n.insn 0x18, 15, 15, 65535, 0xffffffff",
	    I(0xff, 1, 2, -3, INT32_MAX), I(0x18, 15, 15, -1, -1));
	ASM("asm/kfunc", "call kfunc 0x10", I(0x85, 0, 2, 0, 16));
	struct skep_insn *p = NULL;
	size_t n = 9;
	int err = skep_assemble("# nothing\n\n", &p, &n, NULL);
	CHECK(!err && n == 0 && p, "asm/empty", "err %d n %zu", err, n);
	free(p);
}

/* ---- errors ---- */

static void expect_err(const char *name, const char *text, long line, const char *frag)
{
	struct skep_insn *p = (struct skep_insn *)1;
	size_t n = 7;
	struct skep_diag d = {0};
	int err = skep_assemble(text, &p, &n, &d);
	char pre[32];
	snprintf(pre, sizeof pre, "line %ld: ", line);
	CHECK(err == -EINVAL && d.where == line && !strncmp(d.msg, pre, strlen(pre)) && strstr(d.msg, frag) &&
	      !p && !n, name, "err %d where %ld msg '%s' (want line %ld, '%s')", err, d.where, d.msg, line, frag);
	if (!err)
		free(p);
}

static void errors(void)
{
	expect_err("err/listing-opcode", "0: (b7) exit", 1, "unknown instruction 'exit'");
	expect_err("err/unknown", "exit\nexit\nr1 +== 2\n", 3, "unknown instruction 'r1 +== 2' (closest: 'rD += IMM')");
	expect_err("err/unknown-word", "frobnicate r1", 1, "unknown instruction 'frobnicate r1'");
	expect_err("err/imm32", "exit\nexit\nexit\n\nr1 = 0x100000000", 5,
		   "immediate 0x100000000 does not fit in 32 bits (a 64-bit constant needs 'll')");
	expect_err("err/imm32-neg", "w1 += -2147483649", 1, "immediate -2147483649 does not fit in 32 bits");
	expect_err("err/imm64", "r1 = 0x10000000000000000 ll", 1, "does not fit in 64 bits");
	expect_err("err/imm64-neg", "r1 = -0x8000000000000001 ll", 1, "immediate -0x8000000000000001 does not fit in 64 bits");
	expect_err("err/off16", "r0 = *(u32 *)(r1 + 32768)", 1, "offset 32768 does not fit in 16 bits");
	expect_err("err/off16-neg", "*(u8 *)(r1 - 32769) = 1", 1, "offset -32769 does not fit in 16 bits");
	expect_err("err/jump16", "exit\ngoto +40000", 2, "jump offset 40000 does not fit in 16 bits");
	expect_err("err/undefined-label", "a:\nexit\nexit\nexit\nexit\nexit\nexit\nexit\nif r1 > 2 goto out", 9,
		   "undefined label 'out'");
	expect_err("err/duplicate-label", "x: exit\nexit\nx: exit", 3, "duplicate label 'x' (first defined on line 1)");
	expect_err("err/register-label", "r1: exit", 1, "'r1' is a register name");
	expect_err("err/register", "exit\nr1 = r11", 2, "invalid register 'r11'");
	expect_err("err/same-register", "r1 = -r2", 1, "'r2' must be the same register");
	expect_err("err/unknown-helper", "call bpf_no_such_helper", 1, "'bpf_no_such_helper' is neither a helper nor a label");
	expect_err("err/bad-char", "r1 = @", 1, "unexpected character '@'");
	expect_err("err/bad-byte", "r1 = \x01", 1, "unexpected byte 0x01");
	expect_err("err/bad-number", "r1 = 12ab", 1, "bad number '12ab'");
	expect_err("err/directive", ".text\nexit", 1, "unknown directive '.text'");
	expect_err("err/insn-short", ".insn 1 2", 1, "needs five numbers");
	expect_err("err/insn-long", ".insn 1 2 3 4 5 6", 1, "exactly five numbers");
	expect_err("err/insn-range", ".insn 256 0 0 0 0", 1, "code 256 is out of range");
	expect_err("err/insn-reg", ".insn 0 16 0 0 0", 1, "dst 16 is out of range");
	expect_err("err/lddw-no-ll", "r1 = map_fd(3)", 1, "unknown instruction");
	expect_err("err/width", "w1 += r2", 1, "unknown instruction");
	expect_err("err/w-base", "r0 = *(u32 *)(w1 + 4)", 1, "unknown instruction");
	expect_err("err/w-dw", "w0 = *(u64 *)(r1 + 4)", 1, "unknown instruction");
	expect_err("err/too-many-tokens",
		   "r1 = r1 r1 r1 r1 r1 r1 r1 r1 r1 r1 r1 r1 r1 r1 r1 r1 r1 r1 r1 r1 r1 r1 r1 r1 r1 r1 r1 r1 r1 r1 "
		   "r1 r1 r1 r1 r1 r1 r1 r1 r1 r1 r1 r1 r1 r1 r1 r1 r1 r1 r1 r1 r1 r1 r1 r1 r1 r1 r1 r1 r1 r1 r1 r1 r1",
		   1, "too many tokens");
	/* a label too far for a 16-bit jump */
	size_t big = 40010 * 5 + 64;
	char *t = malloc(big), *q = t;
	q += sprintf(q, "exit\ngoto far\n");
	for (int i = 0; i < 40000; i++)
		q += sprintf(q, "exit\n");
	sprintf(q, "far: exit\n");
	expect_err("err/jump16-label", t, 2, "jump offset 40000 to 'far' does not fit in 16 bits");
	q = t + sprintf(t, "exit\ngotol far\n"); /* gotol reaches */
	for (int i = 0; i < 40000; i++)
		q += sprintf(q, "exit\n");
	sprintf(q, "far: exit\n");
	struct skep_insn *p;
	size_t n;
	struct skep_diag d;
	int err = skep_assemble(t, &p, &n, &d);
	CHECK(!err && n == 40003 && p[1].code == 0x06 && p[1].imm == 40000, "asm/gotol-far", "err %d '%s'", err, d.msg);
	if (!err)
		free(p);
	free(t);
	err = skep_assemble(NULL, &p, &n, &d);
	CHECK(err == -EINVAL, "err/null", "%d", err);
}

/* ---- robustness: random input never crashes, errors always name line and reason ---- */

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void fuzz(void)
{
	long iters = getenv("SKEP_FUZZ_ITERS") ? atol(getenv("SKEP_FUZZ_ITERS")) : 4000;
	static const char alphabet[] = " rw0123456789x+-*()[]=<>&|^%/s:#;,.abcdefgilnoptuLkx$!\t\nllgoto if call exit lock u32 skb";
	char line[256], good[128];
	int crashes_would_show = 0, bad_msgs = 0, roundtrip_bad = 0, programs = 0;
	for (long it = 0; it < iters; it++) {
		size_t len;
		if (it % 3 == 0) { /* random bytes, no NUL */
			len = rnd() % 120;
			for (size_t i = 0; i < len; i++)
				line[i] = (char)(rnd() % 255 + 1);
		} else { /* a valid line of a random op, mutated */
			struct skep_insn in[2];
			instance((int)(rnd() % OP__COUNT), (int)(rnd() % NINST), in);
			skep_insn_disasm(in, 2, good, sizeof good);
			len = strlen(good);
			memcpy(line, good, len);
			for (int m = (int)(rnd() % 4); m >= 0 && len; m--) {
				size_t at = rnd() % len;
				switch (rnd() % 3) {
				case 0: line[at] = alphabet[rnd() % (sizeof alphabet - 1)]; break;
				case 1: memmove(line + at, line + at + 1, len - at - 1), len--; break;
				default:
					if (len < sizeof line - 40) {
						size_t k = rnd() % 8;
						memmove(line + at + k, line + at, len - at);
						for (size_t i = 0; i < k; i++)
							line[at + i] = alphabet[rnd() % (sizeof alphabet - 1)];
						len += k;
					}
				}
			}
		}
		line[len] = 0;
		struct skep_insn *p = NULL;
		size_t n = 0;
		struct skep_diag d = {0};
		int err = skep_assemble(line, &p, &n, &d);
		crashes_would_show++;
		if (err && (err != -EINVAL || strncmp(d.msg, "line ", 5) || d.where < 1))
			bad_msgs++;
		free(p);
	}
	/* random programs: the text always prints; when every instruction is valid it
	 * assembles back to the same bytes */
	for (long it = 0; it < iters / 4; it++) {
		struct skep_insn prog[16];
		size_t n = 1 + rnd() % 16;
		for (size_t i = 0; i < n; i++) {
			uint64_t r = rnd();
			if (r & 1) { /* a valid op with random fields */
				int op = (int)((r >> 8) % OP__COUNT);
				struct skep_insn two[2];
				int k = instance(op, (int)((r >> 20) % NINST), two);
				prog[i] = two[0];
				if (k == 2 && i + 1 < n)
					prog[++i] = two[1];
			} else {
				memcpy(&prog[i], &r, sizeof prog[i]);
			}
		}
		char *text = skep_disasm_text(prog, n, (unsigned)(rnd() % 8));
		if (!text) {
			roundtrip_bad++;
			continue;
		}
		struct skep_insn *p = NULL;
		size_t np = 0, at;
		struct skep_diag d;
		int err = skep_assemble(text, &p, &np, &d);
		int valid = !strstr(text, "<invalid");
		if (valid) {
			programs++;
			if (err || np != n || !same(p, prog, n, &at)) {
				if (!roundtrip_bad++)
					printf("fuzz: program does not round-trip (err %d '%s'):\n%s", err, d.msg, text);
			}
		} else if (!err) {
			roundtrip_bad++; /* "<invalid: ...>" must not assemble */
		}
		free(p);
		free(text);
	}
	CHECK(bad_msgs == 0, "fuzz/lines", "%d of %d errors without 'line N:'", bad_msgs, crashes_would_show);
	CHECK(roundtrip_bad == 0 && programs > 0, "fuzz/programs", "%d bad of %ld (%d all-valid)", roundtrip_bad,
	      iters / 4, programs);
}

/* ---- llvm cross-check ---- */

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 1 << 16, n = 0;
	char *b = malloc(cap + 1);
	size_t got;
	while (b && (got = fread(b + n, 1, cap - n, f)) > 0) {
		n += got;
		if (n == cap) {
			char *nb = realloc(b, (cap *= 2) + 1);
			if (!nb)
				free(b);
			b = nb;
		}
	}
	fclose(f);
	if (b)
		b[n] = 0;
	*len = n;
	return b;
}

static void llvm_cross_check(void)
{
	if (system("command -v llvm-mc-19 >/dev/null 2>&1 && command -v llvm-objcopy-19 >/dev/null 2>&1")) {
		t_skip("llvm/all", "llvm-mc-19 or llvm-objcopy-19 not installed");
		return;
	}
	char dir[] = "/tmp/skep-asm-XXXXXX";
	if (!mkdtemp(dir)) {
		t_skip("llvm/all", "mkdtemp failed");
		return;
	}
	/* all instances of all ops, one program, disassembled with labels */
	struct skep_insn *p = calloc(OP__COUNT * 2 * NINST, sizeof *p);
	int *opof = calloc(OP__COUNT * 2 * NINST, sizeof *opof);
	char *starts = calloc(OP__COUNT * 2 * NINST, 1);
	size_t n = 0;
	for (int op = 0; op < OP__COUNT; op++) {
		size_t k = program_of(op, p + n);
		for (size_t i = 0; i < k; i++)
			opof[n + i] = op, starts[n + i] = isa_ops[op].kind != K_LDDW || i % 2 == 0;
		n += k;
	}
	/* one line per instruction start, so llvm's line numbers map back */
	size_t nlines = 0;
	char *text = skep_disasm_text(p, n, SKEP_DISASM_LABELS);
	for (const char *s = text; (s = strchr(s, '\n')); s++)
		nlines++;
	char **lines = calloc(nlines, sizeof *lines);
	size_t *line_insn = calloc(nlines, sizeof *line_insn);
	char *reason = calloc(n, 128);
	nlines = 0;
	size_t at = 0;
	for (char *s = text, *e; *s; s = e + 1) {
		e = strchr(s, '\n');
		*e = 0;
		lines[nlines] = s;
		if (s[strlen(s) - 1] != ':') {
			line_insn[nlines] = at;
			at += isa_ops[opof[at]].kind == K_LDDW ? 2 : 1;
		} else {
			line_insn[nlines] = (size_t)-1;
		}
		nlines++;
	}
	/* text llvm-mc accepts but reads differently: "call -1" is a helper call there (its
	 * local calls need a label), and "kfunc" / "func" are symbol names */
	for (size_t l = 0; l < nlines; l++) {
		size_t i = line_insn[l];
		if (i == (size_t)-1)
			continue;
		if (opof[i] == OP_CALL_LOCAL && !strstr(lines[l], "call L"))
			snprintf(reason + 128 * i, 128, "llvm-mc reads 'call <number>' as a helper call");
		if (opof[i] == OP_CALL_KFUNC || opof[i] == OP_LDDW_FUNC)
			snprintf(reason + 128 * i, 128, "llvm-mc reads '%s' as a symbol name",
				 opof[i] == OP_CALL_KFUNC ? "kfunc" : "func");
	}
	char path[64], cmd[512];
	int round;
	for (round = 0; round < 3; round++) {
		snprintf(path, sizeof path, "%s/x.s", dir);
		FILE *f = fopen(path, "w");
		for (size_t l = 0; l < nlines; l++) {
			size_t i = line_insn[l];
			if (i != (size_t)-1 && reason[128 * i])
				fprintf(f, "%s\n", isa_ops[opof[i]].kind == K_LDDW ? "r0 = 0 ll" : "r0 = 0");
			else
				fprintf(f, "%s\n", lines[l]);
		}
		fclose(f);
		snprintf(cmd, sizeof cmd,
			 "cd %s && llvm-mc-19 -triple bpfel -mcpu=v4 -filetype=obj x.s -o x.o 2>err.txt && "
			 "llvm-objcopy-19 -O binary --only-section=.text x.o x.bin 2>>err.txt", dir);
		if (!system(cmd))
			break;
		snprintf(path, sizeof path, "%s/err.txt", dir);
		size_t elen;
		char *errs = read_file(path, &elen);
		int marked = 0;
		for (char *s = errs; s && (s = strstr(s, "x.s:")); s++) {
			long l = strtol(s + 4, NULL, 10) - 1;
			char *msg = strstr(s, "error: ");
			if (l < 0 || (size_t)l >= nlines || !msg || line_insn[l] == (size_t)-1)
				continue;
			char *nl = strchr(msg, '\n');
			snprintf(reason + 128 * line_insn[l], 128, "llvm-mc: %.*s ('%s')",
				 (int)(nl ? nl - msg - 7 : 60), msg + 7, lines[l]);
			marked++;
		}
		free(errs);
		if (!marked)
			break;
	}
	size_t blen = 0;
	snprintf(path, sizeof path, "%s/x.bin", dir);
	unsigned char *bin = round < 3 ? (unsigned char *)read_file(path, &blen) : NULL;
	if (!bin || blen != n * 8) {
		CHECK(0, "llvm/assemble", "llvm-mc-19 failed or gave %zu bytes for %zu insns (see %s)", blen, n, dir);
	} else {
		for (int op = 0; op < OP__COUNT; op++) {
			int checked = 0, skipped = 0, bad = 0;
			char first_reason[128] = "", first_bad[200] = "";
			for (size_t i = 0; i < n; i++) {
				if (opof[i] != op || !starts[i])
					continue;
				if (reason[128 * i]) {
					if (!skipped++)
						memcpy(first_reason, reason + 128 * i, 128);
					continue;
				}
				size_t k = isa_ops[op].kind == K_LDDW ? 2 : 1;
				unsigned char ours[16];
				for (size_t j = 0; j < k; j++) {
					const struct skep_insn *x = &p[i + j];
					unsigned char raw[8] = {x->code, (unsigned char)(x->src << 4 | x->dst), (unsigned char)x->off,
								(unsigned char)((uint16_t)x->off >> 8), (unsigned char)x->imm,
								(unsigned char)((uint32_t)x->imm >> 8), (unsigned char)((uint32_t)x->imm >> 16),
								(unsigned char)((uint32_t)x->imm >> 24)};
					memcpy(ours + 8 * j, raw, 8);
				}
				checked++;
				if (memcmp(ours, bin + 8 * i, 8 * k) && !bad++) {
					char t[128];
					skep_insn_disasm(&p[i], n - i, t, sizeof t);
					snprintf(first_bad, sizeof first_bad,
						 "'%s': ours %02x %02x %02x%02x %02x%02x%02x%02x llvm %02x %02x %02x%02x %02x%02x%02x%02x",
						 t, ours[0], ours[1], ours[2], ours[3], ours[4], ours[5], ours[6], ours[7],
						 bin[8 * i], bin[8 * i + 1], bin[8 * i + 2], bin[8 * i + 3], bin[8 * i + 4],
						 bin[8 * i + 5], bin[8 * i + 6], bin[8 * i + 7]);
				}
			}
			char name[96];
			snprintf(name, sizeof name, "llvm/%s", isa_ops[op].name);
			if (checked)
				CHECK(!bad, name, "%d of %d differ, first %s", bad, checked, first_bad);
			if (skipped)
				t_skip(name, "%d of %d instances not accepted by llvm: %s", skipped, skipped + checked,
				       first_reason);
		}
	}
	free(bin);
	free(text);
	free(lines);
	free(line_insn);
	free(reason);
	free(p);
	free(opof);
	free(starts);
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd))
		printf("note: could not remove %s\n", dir);
}

int main(void)
{
	roundtrip_all();
	roundtrip_everything();
	text_forms();
	spellings();
	errors();
	fuzz();
	llvm_cross_check();
	return t_done();
}
