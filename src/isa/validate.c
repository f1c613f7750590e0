/* Structural validation of an instruction stream: everything that can be checked
 * without following data flow. The verifier builds on this; the unverified engines
 * rely on it to never decode garbage or jump outside the program. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "isa.h"

static int fail(struct skep_diag *d, size_t i, const char *fmt, ...)
{
	if (d) {
		va_list ap;
		int n = snprintf(d->msg, sizeof d->msg, "insn %zu: ", i);
		va_start(ap, fmt);
		vsnprintf(d->msg + n, sizeof d->msg - (size_t)n, fmt, ap);
		va_end(ap);
		d->where = (long)i;
	}
	return -EINVAL;
}

static const char *sel_field[] = {"", "off", "imm", "src"};

/* Why no op matched: name the field that selects among the ops of this byte. */
static int unknown(struct skep_diag *d, size_t i, const struct skep_insn *in)
{
	for (int op = 0; op < OP__COUNT; op++) {
		const struct isa_opinfo *oi = &isa_ops[op];
		if (oi->code != in->code || oi->sel == SEL_NONE)
			continue;
		long v = oi->sel == SEL_OFF ? in->off : oi->sel == SEL_IMM ? in->imm : in->src;
		return fail(d, i, "opcode 0x%02x has no variant with %s %ld", in->code,
			    sel_field[oi->sel], v);
	}
	return fail(d, i, "unknown opcode 0x%02x", in->code);
}

/* A jump from i by rel lands inside the program and not on a lddw's second half. */
static int check_target(struct skep_diag *d, size_t i, long rel, size_t n,
			const unsigned char *second_half, const char *what)
{
	long t = (long)i + 1 + rel;
	if (t < 0 || (size_t)t >= n)
		return fail(d, i, "%s target %ld is outside the program (0..%zu)", what, t, n - 1);
	if (second_half[t])
		return fail(d, i, "%s target %ld is the middle of a lddw", what, t);
	return 0;
}

int skep_insns_validate(const struct skep_insn *insns, size_t n, int max_cpu,
			struct skep_diag *d)
{
	if (d) {
		d->where = -1;
		d->msg[0] = 0;
	}
	if (n == 0)
		return fail(d, 0, "program has no instructions");
	if (n > SKEP_MAX_INSNS)
		return fail(d, n - 1, "program has %zu instructions, more than the limit of %u", n,
			    SKEP_MAX_INSNS);
	unsigned char *second_half = calloc(n, 1);
	if (!second_half)
		return -ENOMEM;
	int err = 0;
	for (size_t i = 0; i < n && !err; i++) {
		const struct skep_insn *in = &insns[i];
		enum isa_op op = isa_decode(in);
		if (op == OP_INVALID) {
			err = unknown(d, i, in);
			break;
		}
		const struct isa_opinfo *oi = &isa_ops[op];
		uint8_t f = oi->fields;
		if (max_cpu && oi->cpu > max_cpu)
			err = fail(d, i, "%s needs cpu v%d (allowed up to v%d)", oi->name, oi->cpu, max_cpu);
		else if ((f & F_DST) && in->dst > 10)
			err = fail(d, i, "invalid register r%d in dst", in->dst);
		else if ((f & F_SRC) && oi->sel != SEL_SRC && in->src > 10)
			err = fail(d, i, "invalid register r%d in src", in->src);
		else if (!(f & F_DST) && in->dst)
			err = fail(d, i, "reserved field dst is %d, must be 0 for %s", in->dst, oi->name);
		else if (!(f & F_SRC) && oi->sel != SEL_SRC && in->src)
			err = fail(d, i, "reserved field src is %d, must be 0 for %s", in->src, oi->name);
		else if (!(f & F_OFF) && oi->sel != SEL_OFF && in->off && op != OP_EXIT)
			/* exit's off is not checked by the kernel (do_check: only src, dst, imm
			 * and the class), so a program with one loads there: follow it */
			err = fail(d, i, "reserved field off is %d, must be 0 for %s", in->off, oi->name);
		else if (!(f & F_IMM) && oi->sel != SEL_IMM && in->imm)
			err = fail(d, i, "reserved field imm is %d, must be 0 for %s", in->imm, oi->name);
		if (err)
			break;
		if (oi->kind == K_LDDW) {
			if (i + 1 >= n) {
				err = fail(d, i, "lddw is missing its second half");
				break;
			}
			const struct skep_insn *hi = &insns[i + 1];
			if (hi->code || hi->dst || hi->src || hi->off)
				err = fail(d, i + 1, "second half of lddw must have code, registers and off 0");
			else if ((op == OP_LDDW_MAP_FD || op == OP_LDDW_MAP_IDX || op == OP_LDDW_FUNC) && hi->imm)
				err = fail(d, i + 1, "second half of %s must have imm 0", oi->name);
			second_half[++i] = 1;
		}
	}
	/* targets, now that every lddw's second half is known */
	for (size_t i = 0; i < n && !err; i++) {
		const struct skep_insn *in = &insns[i];
		if (second_half[i])
			continue;
		enum isa_op op = isa_decode(in);
		switch (isa_ops[op].kind) {
		case K_JA:
			err = check_target(d, i, op == OP_GOTOL ? in->imm : in->off, n, second_half, "jump");
			break;
		case K_JCOND:
			err = check_target(d, i, in->off, n, second_half, "jump");
			break;
		case K_CALL:
			if (op == OP_CALL_LOCAL)
				err = check_target(d, i, in->imm, n, second_half, "call");
			break;
		case K_LDDW:
			if (op == OP_LDDW_FUNC)
				err = check_target(d, i, in->imm, n, second_half, "function address");
			break;
		default:
			break;
		}
	}
	if (!err) {
		const struct skep_insn *last = &insns[n - 1];
		enum isa_op op = second_half[n - 1] ? OP_INVALID : isa_decode(last);
		if (op != OP_EXIT && op != OP_JA && op != OP_GOTOL)
			err = fail(d, n - 1, "last instruction is not exit or goto: execution could fall off the end");
	}
	free(second_half);
	return err;
}
