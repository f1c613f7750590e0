/* The opcode table decodes every op it lists back to itself, and the validator
 * refuses each kind of structural error with the instruction index. */
#include <errno.h>
#include <string.h>

#include "check.h"
#include "isa/isa.h"

/* A valid instance of op: selector set, used fields given small legal values. */
static struct skep_insn sample(int op)
{
	const struct isa_opinfo *oi = &isa_ops[op];
	struct skep_insn in = {.code = oi->code};
	if (oi->fields & F_DST) in.dst = 1;
	if (oi->fields & F_SRC) in.src = 2;
	if (oi->fields & F_OFF) in.off = 0;
	if (oi->fields & F_IMM) in.imm = 0;
	if (oi->sel == SEL_OFF) in.off = (int16_t)oi->selval;
	if (oi->sel == SEL_IMM) in.imm = oi->selval;
	if (oi->sel == SEL_SRC) in.src = (uint8_t)oi->selval;
	return in;
}

static void expect_invalid(const char *name, const struct skep_insn *p, size_t n, long where,
			   const char *frag)
{
	struct skep_diag d;
	int err = skep_insns_validate(p, n, 0, &d);
	CHECK(err == -EINVAL && d.where == where && strstr(d.msg, frag), name,
	      "err %d where %ld msg '%s' (want insn %ld, '%s')", err, d.where, d.msg, where, frag);
}

int main(void)
{
	int seen[OP__COUNT] = {0};
	for (int op = 0; op < OP__COUNT; op++) {
		struct skep_insn in = sample(op);
		enum isa_op got = isa_decode(&in);
		char name[64];
		snprintf(name, sizeof name, "decode/%s", isa_ops[op].name);
		CHECK(got == (enum isa_op)op, name, "decoded as %s", got == OP_INVALID ? "invalid" : isa_ops[got].name);
		seen[op]++;
	}
	CHECK(OP__COUNT >= 160, "table/size", "only %d ops", OP__COUNT);

	/* every byte not in the table is refused */
	int unknown = 0;
	for (int c = 0; c < 256; c++) {
		struct skep_insn in = {.code = (uint8_t)c};
		int listed = 0;
		for (int op = 0; op < OP__COUNT; op++)
			listed |= isa_ops[op].code == c;
		if (!listed && isa_decode(&in) != OP_INVALID)
			unknown++;
	}
	CHECK(unknown == 0, "decode/unlisted-bytes", "%d unlisted bytes decoded", unknown);

	struct skep_insn exit1 = {.code = BPF_JMP | BPF_EXIT};
	struct skep_insn p1[] = {{.code = 0xff}, exit1};
	expect_invalid("validate/unknown-opcode", p1, 2, 0, "unknown opcode 0xff");
	struct skep_insn p2[] = {{.code = BPF_ALU64 | BPF_ADD | BPF_K, .dst = 1, .src = 3}, exit1};
	expect_invalid("validate/reserved-src", p2, 2, 0, "reserved field src");
	struct skep_insn p3[] = {{.code = BPF_ALU64 | BPF_ADD | BPF_X, .dst = 1, .src = 2, .imm = 7}, exit1};
	expect_invalid("validate/reserved-imm", p3, 2, 0, "reserved field imm");
	struct skep_insn p4[] = {exit1, {.code = BPF_LD | BPF_IMM | BPF_DW, .dst = 1}};
	expect_invalid("validate/lddw-missing-half", p4, 2, 1, "missing its second half");
	struct skep_insn p5[] = {{.code = BPF_JMP | BPF_JA, .off = 5}, exit1};
	expect_invalid("validate/jump-outside", p5, 2, 0, "outside the program");
	struct skep_insn p6[] = {{.code = BPF_JMP | BPF_JA, .off = 1},
				 {.code = BPF_LD | BPF_IMM | BPF_DW, .dst = 1}, {0}, exit1};
	expect_invalid("validate/jump-into-lddw", p6, 4, 0, "middle of a lddw");
	struct skep_insn p7[] = {{.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst = 11}, exit1};
	expect_invalid("validate/bad-register", p7, 2, 0, "invalid register r11");
	struct skep_insn p8[] = {{.code = BPF_ALU64 | BPF_MOV | BPF_K}};
	expect_invalid("validate/fall-off-end", p8, 1, 0, "fall off the end");
	struct skep_insn p9[] = {{.code = BPF_STX | BPF_ATOMIC | BPF_DW, .dst = 10, .src = 1, .imm = 0x31}, exit1};
	expect_invalid("validate/bad-atomic", p9, 2, 0, "no variant with imm 49");
	struct skep_insn p10[] = {{.code = BPF_ALU64 | BPF_DIV | BPF_X, .dst = 1, .src = 2, .off = 2}, exit1};
	expect_invalid("validate/bad-div-off", p10, 2, 0, "no variant with off 2");
	struct skep_insn p11[] = {{.code = BPF_JMP32 | BPF_JA, .imm = 0}, exit1};
	struct skep_diag d;
	CHECK(skep_insns_validate(p11, 2, 3, &d) == -EINVAL && strstr(d.msg, "cpu v4"), "validate/cpu-version", "%s", d.msg);
	CHECK(skep_insns_validate(p11, 2, 4, &d) == 0, "validate/gotol-ok", "%s", d.msg);
	CHECK(skep_insns_validate(NULL, 0, 0, &d) == -EINVAL, "validate/empty", "%s", d.msg);
	return t_done();
}
