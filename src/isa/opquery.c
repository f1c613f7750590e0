/* The opcode table, read-only, for tools that describe the instruction set. */
#include <errno.h>

#include "isa.h"

static const char *const groups[] = {
	[K_ALU] = "alu", [K_NEG] = "alu", [K_MOV] = "mov", [K_MOVSX] = "mov", [K_END] = "byteswap",
	[K_JA] = "jmp", [K_JCOND] = "jmp", [K_CALL] = "call", [K_EXIT] = "exit", [K_LDDW] = "lddw",
	[K_LDX] = "load", [K_ST] = "store", [K_STX] = "store", [K_ATOMIC] = "atomic",
	[K_LDPKT] = "packet",
};

int skep_isa_op(size_t i, struct skep_isa_op *out)
{
	if (i >= OP__COUNT)
		return -ENOENT;
	const struct isa_opinfo *o = &isa_ops[i];
	*out = (struct skep_isa_op){o->name, o->text, groups[o->kind], o->code, o->cpu};
	return 0;
}
