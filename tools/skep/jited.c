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
static void dump(const struct jited_sink *s, struct zy *z, const struct skep_jited *j, uint32_t from, uint32_t to)
{
	ZydisDecodedInstruction ins;
	ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
	for (uint32_t at = from; at < to;) {
		char text[256];
		if (!ZYAN_SUCCESS(ZydisDecoderDecodeFull(&z->dec, j->code + at, to - at, &ins, ops)) ||
		    !ZYAN_SUCCESS(ZydisFormatterFormatInstruction(&z->fmt, &ins, ops, ins.operand_count_visible,
								  text, sizeof text, at, NULL))) {
			s->x86(s->ctx, at, j->code + at, 1, NULL, NULL);
			at++;
			continue;
		}
		const void *target = NULL;
		if (ins.mnemonic == ZYDIS_MNEMONIC_CALL && ins.length == 5) {
			int32_t rel;
			memcpy(&rel, j->code + at + 1, 4);
			int64_t t = (int64_t)at + 5 + rel;
			if (t < 0 || (uint64_t)t >= j->size)
				target = j->code + t;
		}
		s->x86(s->ctx, at, j->code + at, ins.length, text, target);
		at += ins.length;
	}
}

int jited_disasm_walk(skep_prog *p, const struct jited_sink *s)
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
		s->part(s->ctx, JITED_ENTRY, 0, NULL);
		dump(s, &z, &j, 0, j.entry);
	}
	if (j.funcs[0].entry > j.entry) {
		s->part(s->ctx, JITED_GUARD, 0, NULL);
		dump(s, &z, &j, j.entry, j.funcs[0].entry);
	}
	for (size_t f = 0; f < j.nfuncs; f++) {
		const struct skep_jited_func *fn = &j.funcs[f];
		s->part(s->ctx, JITED_FUNC, fn->insn, f ? "function" : "main");
		s->part(s->ctx, JITED_PROLOGUE, fn->insn, NULL);
		dump(s, &z, &j, fn->entry, fn->body);
		for (uint32_t i = fn->insn; i < fn->insn_end; i++) {
			char text[256];
			int used = skep_insn_disasm(&insns[i], n - i, text, sizeof text);
			uint32_t end = i + 1 < fn->insn_end ? j.insn_off[i + 1] : fn->epilogue;
			s->part(s->ctx, JITED_INSN, i, text);
			dump(s, &z, &j, j.insn_off[i], end);
			if (used == 2)
				i++;
		}
		s->part(s->ctx, JITED_EPILOGUE, fn->insn, NULL);
		dump(s, &z, &j, fn->epilogue, fn->end);
	}
	return 0;
}

/* skep disasm --jited's text */
static void text_part(void *ctx, enum jited_part part, uint32_t insn, const char *text)
{
	FILE *out = ctx;
	switch (part) {
	case JITED_ENTRY: fprintf(out, "<entry of skep_prog_func: an empty run block>:\n"); break;
	case JITED_GUARD: fprintf(out, "<guard: saves registers to unwind a failing run>:\n"); break;
	case JITED_FUNC:
		fprintf(out, "%s<%s at insn %" PRIu32 ">:\n", insn ? "\n" : "", text, insn);
		break;
	case JITED_PROLOGUE: fprintf(out, "; prologue\n"); break;
	case JITED_INSN: fprintf(out, "; %" PRIu32 ": %s\n", insn, text); break;
	case JITED_EPILOGUE: fprintf(out, "; epilogue\n"); break;
	}
}

void jited_print_x86(FILE *out, uint32_t off, const uint8_t *bytes, unsigned len, const char *text,
		     const void *target)
{
	if (!text) {
		fprintf(out, "%6" PRIx32 ":\t%-24.2x\t(bad)\n", off, bytes[0]);
		return;
	}
	char hex[3 * 12 + 1];
	int k = 0;
	for (unsigned b = 0; b < len && b < 12; b++)
		k += snprintf(hex + k, sizeof hex - (size_t)k, "%02x ", bytes[b]);
	fprintf(out, "%6" PRIx32 ":\t%-24s\t%s", off, hex, text);
	if (target)
		fprintf(out, "\t# %p", target);
	fputc('\n', out);
}

static void text_x86(void *ctx, uint32_t off, const uint8_t *bytes, unsigned len, const char *text,
		     const void *target)
{
	jited_print_x86(ctx, off, bytes, len, text, target);
}

int jited_disasm_print(FILE *out, skep_prog *p)
{
	struct jited_sink s = {out, text_part, text_x86};
	return jited_disasm_walk(p, &s);
}
