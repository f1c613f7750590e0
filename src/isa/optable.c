/* The opcode table and the decoder: instruction -> op. */
#include "isa.h"

const struct isa_opinfo isa_ops[OP__COUNT] = {
#define X(name, code, sel, selval, fields, kind, cpu, text) \
	[OP_##name] = {#name, (code), (sel), (selval), (fields), (kind), (cpu), (text)},
#include "optable.def"
#undef X
};

/* Ops sharing an opcode byte are contiguous runs in no particular order, so the
 * decoder keeps, per byte, the first op and how many follow with the same byte.
 * Built once; a race only writes the same values twice. */
static struct { uint16_t first, count; } by_code[256];
static volatile int index_ready;

static void build_index(void)
{
	for (int c = 0; c < 256; c++)
		by_code[c].count = 0;
	for (int op = 0; op < OP__COUNT; op++) {
		uint8_t c = isa_ops[op].code;
		if (by_code[c].count == 0)
			by_code[c].first = (uint16_t)op;
		by_code[c].count++;
	}
	__atomic_store_n(&index_ready, 1, __ATOMIC_RELEASE);
}

static int selector_matches(const struct isa_opinfo *oi, const struct skep_insn *in)
{
	switch (oi->sel) {
	case SEL_OFF: return in->off == oi->selval;
	case SEL_IMM: return in->imm == oi->selval;
	case SEL_SRC: return in->src == oi->selval;
	default: return 1;
	}
}

enum isa_op isa_decode(const struct skep_insn *in)
{
	if (!__atomic_load_n(&index_ready, __ATOMIC_ACQUIRE))
		build_index();
	unsigned first = by_code[in->code].first, count = by_code[in->code].count;
	/* ops of one byte are adjacent in the table (the .def groups them), but tolerate
	 * gaps by scanning the whole run from first */
	for (unsigned op = first; count && op < OP__COUNT; op++) {
		if (isa_ops[op].code != in->code)
			continue;
		count--;
		if (selector_matches(&isa_ops[op], in))
			return (enum isa_op)op;
	}
	return OP_INVALID;
}

int skep_insn_cpu_version(const struct skep_insn *insn)
{
	enum isa_op op = isa_decode(insn);
	return op == OP_INVALID ? 0 : isa_ops[op].cpu;
}
