/* skep disasm --jited: the x86-64 code the JIT made, under the eBPF instruction each
 * piece came from.
 *
 * Decoded with Zydis (libzydis-dev): the uprobe layer decodes x86 instructions with it
 * too, so the project carries one x86 decoder, not two; its formatter prints AT&T
 * syntax like objdump and bpftool's "prog dump jited". Offsets are from the start of
 * the code, so the output does not depend on where it was mapped. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <Zydis/Zydis.h>

#include "jited.h"

struct zy {
	ZydisDecoder dec;
	ZydisFormatter fmt;
};

static void zy_init(struct zy *z)
{
	ZydisDecoderInit(&z->dec, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
	ZydisFormatterInit(&z->fmt, ZYDIS_FORMATTER_STYLE_ATT);
	ZydisFormatterSetProperty(&z->fmt, ZYDIS_FORMATTER_PROP_HEX_UPPERCASE, ZYAN_FALSE);
	ZydisFormatterSetProperty(&z->fmt, ZYDIS_FORMATTER_PROP_ADDR_PADDING_ABSOLUTE, ZYDIS_PADDING_DISABLED);
	ZydisFormatterSetProperty(&z->fmt, ZYDIS_FORMATTER_PROP_ADDR_PADDING_RELATIVE, ZYDIS_PADDING_DISABLED);
	ZydisFormatterSetProperty(&z->fmt, ZYDIS_FORMATTER_PROP_DISP_PADDING, ZYDIS_PADDING_DISABLED);
	ZydisFormatterSetProperty(&z->fmt, ZYDIS_FORMATTER_PROP_IMM_PADDING, ZYDIS_PADDING_DISABLED);
}

/* Instructions in [from, to), addressed by offset; a call leaving the code (a helper)
 * also gets its absolute target. */
static void dump(FILE *out, struct zy *z, const struct skep_jited *j, uint32_t from, uint32_t to)
{
	ZydisDecodedInstruction ins;
	ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
	for (uint32_t at = from; at < to;) {
		char text[256];
		if (!ZYAN_SUCCESS(ZydisDecoderDecodeFull(&z->dec, j->code + at, to - at, &ins, ops)) ||
		    !ZYAN_SUCCESS(ZydisFormatterFormatInstruction(&z->fmt, &ins, ops, ins.operand_count_visible,
								  text, sizeof text, at, NULL))) {
			fprintf(out, "%6" PRIx32 ":\t%-24.2x\t(bad)\n", at, j->code[at]);
			at++;
			continue;
		}
		char hex[3 * 12 + 1];
		int k = 0;
		for (unsigned b = 0; b < ins.length && b < 12; b++)
			k += snprintf(hex + k, sizeof hex - (size_t)k, "%02x ", j->code[at + b]);
		fprintf(out, "%6" PRIx32 ":\t%-24s\t%s", at, hex, text);
		if (ins.mnemonic == ZYDIS_MNEMONIC_CALL && ins.length == 5) {
			int32_t rel;
			memcpy(&rel, j->code + at + 1, 4);
			int64_t t = (int64_t)at + 5 + rel;
			if (t < 0 || (uint64_t)t >= j->size)
				fprintf(out, "\t# %p", (const void *)(j->code + t));
		}
		fputc('\n', out);
		at += ins.length;
	}
}

int jited_disasm_print(FILE *out, skep_prog *p)
{
	struct skep_jited j;
	int err = skep_prog_jited(p, &j);
	if (err)
		return err;
	size_t n;
	const struct skep_insn *insns = skep_prog_insns(p, &n);
	struct zy z;
	zy_init(&z);
	if (j.entry) {
		fprintf(out, "<entry of skep_prog_func: an empty run block>:\n");
		dump(out, &z, &j, 0, j.entry);
	}
	if (j.funcs[0].entry > j.entry) {
		fprintf(out, "<guard: saves registers to unwind a failing run>:\n");
		dump(out, &z, &j, j.entry, j.funcs[0].entry);
	}
	for (size_t f = 0; f < j.nfuncs; f++) {
		const struct skep_jited_func *fn = &j.funcs[f];
		fprintf(out, "%s<%s at insn %" PRIu32 ">:\n", f ? "\n" : "", f ? "function" : "main",
			fn->insn);
		fprintf(out, "; prologue\n");
		dump(out, &z, &j, fn->entry, fn->body);
		for (uint32_t i = fn->insn; i < fn->insn_end; i++) {
			char text[256];
			int used = skep_insn_disasm(&insns[i], n - i, text, sizeof text);
			uint32_t end = i + 1 < fn->insn_end ? j.insn_off[i + 1] : fn->epilogue;
			fprintf(out, "; %" PRIu32 ": %s\n", i, text);
			dump(out, &z, &j, j.insn_off[i], end);
			if (used == 2)
				i++;
		}
		fprintf(out, "; epilogue\n");
		dump(out, &z, &j, fn->epilogue, fn->end);
	}
	return 0;
}
