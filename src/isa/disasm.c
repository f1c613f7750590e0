/* The disassembler: an instruction's op names a text template (optable.def), and the
 * template's placeholders are filled from the fields. The assembler reads the same
 * templates back, so whatever is printed here assembles to the same bytes. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "isa.h"
#include "text.h"

/* Output into a caller's fixed buffer (truncating) or a growing heap one. */
struct sbuf {
	char *p;
	size_t len, cap;
	int grow, oom;
};

static void put(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct sbuf *b, const char *fmt, ...)
{
	if (b->oom || !b->cap)
		return;
	for (;;) {
		va_list ap;
		va_start(ap, fmt);
		int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
		if (b->len + (size_t)n < b->cap) {
			b->len += (size_t)n;
			return;
		}
		if (!b->grow) { /* truncated: keep what fit */
			b->len = b->cap - 1;
			return;
		}
		size_t cap = (b->cap + (size_t)n) * 2;
		char *p = realloc(b->p, cap);
		if (!p) {
			b->oom = 1;
			return;
		}
		b->p = p, b->cap = cap;
	}
}

static void put_raw(struct sbuf *b, const char *s, size_t n)
{
	if (b->oom || !b->cap)
		return;
	if (b->len + n >= b->cap) {
		if (!b->grow) {
			n = b->cap - 1 - b->len;
		} else {
			size_t cap = (b->cap + n) * 2;
			char *p = realloc(b->p, cap);
			if (!p) {
				b->oom = 1;
				return;
			}
			b->p = p, b->cap = cap;
		}
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = 0;
}

/* Signed hex as llvm-objdump prints immediates: 0x10, -0x1, 0x0. */
static void put_hex(struct sbuf *b, int64_t v)
{
	if (v < 0)
		put(b, "-0x%llx", (unsigned long long)(0 - (uint64_t)v));
	else
		put(b, "0x%llx", (unsigned long long)v);
}

/* Why an instruction cannot be printed (NULL if it can): the structural checks of
 * validate.c that concern one instruction, since fields the template does not show
 * would be lost. */
static const char *problem(const struct skep_insn *in, size_t n, enum isa_op op, char *why,
			   size_t size)
{
	static const char *const fname[] = {"", "off", "imm", "src"};
	if (op == OP_INVALID) {
		for (int k = 0; k < OP__COUNT; k++) {
			const struct isa_opinfo *oi = &isa_ops[k];
			if (oi->code != in->code || oi->sel == SEL_NONE)
				continue;
			long v = oi->sel == SEL_OFF ? in->off : oi->sel == SEL_IMM ? in->imm : in->src;
			snprintf(why, size, "opcode 0x%02x has no variant with %s %ld", in->code,
				 fname[oi->sel], v);
			return why;
		}
		snprintf(why, size, "unknown opcode 0x%02x", in->code);
		return why;
	}
	const struct isa_opinfo *oi = &isa_ops[op];
	uint8_t f = oi->fields;
	int src_sel = oi->sel == SEL_SRC;
	if ((f & F_DST) && in->dst > 10)
		snprintf(why, size, "%s with register r%d", oi->name, in->dst);
	else if ((f & F_SRC) && !src_sel && in->src > 10)
		snprintf(why, size, "%s with register r%d", oi->name, in->src);
	else if (!(f & F_DST) && in->dst)
		snprintf(why, size, "%s with reserved dst %d", oi->name, in->dst);
	else if (!(f & F_SRC) && !src_sel && in->src)
		snprintf(why, size, "%s with reserved src %d", oi->name, in->src);
	else if (!(f & F_OFF) && oi->sel != SEL_OFF && in->off)
		snprintf(why, size, "%s with reserved off %d", oi->name, in->off);
	else if (!(f & F_IMM) && oi->sel != SEL_IMM && in->imm)
		snprintf(why, size, "%s with reserved imm %d", oi->name, in->imm);
	else if (oi->kind == K_LDDW && n < 2)
		snprintf(why, size, "lddw without its second half");
	else if (oi->kind == K_LDDW && (in[1].code || in[1].dst || in[1].src || in[1].off))
		snprintf(why, size, "lddw whose second half has code, registers or off set");
	else if (oi->kind == K_LDDW && in[1].imm && !strstr(oi->text, "$L") && !strstr(oi->text, "$n"))
		snprintf(why, size, "%s whose second half has imm %d", oi->name, in[1].imm);
	else if (op == OP_CALL_KFUNC && in->off) /* the template has no place for it */
		snprintf(why, size, "kfunc call with module btf fd index %d", in->off);
	else
		return NULL;
	return why;
}

/* Jump targets: index+1+rel, printed by label when the caller has one there. */
struct labels {
	size_t index, n;
	const unsigned char *is_label;
};

static void put_target(struct sbuf *b, long rel, const struct labels *lb)
{
	if (lb && lb->is_label) {
		long t = (long)lb->index + 1 + rel;
		if (t >= 0 && (size_t)t < lb->n && lb->is_label[t]) {
			put(b, "L%ld", t);
			return;
		}
	}
	put(b, "%+ld", rel);
}

static void put_disp(struct sbuf *b, long v)
{
	put(b, v < 0 ? "- %ld" : "+ %ld", v < 0 ? -v : v);
}

/* Disassemble one instruction into b: consumed count, or -EINVAL after "<invalid: ...>". */
static int disasm_one(struct sbuf *b, const struct skep_insn *in, size_t n, const struct labels *lb)
{
	char why[96];
	if (n == 0) {
		put(b, "<invalid: no instruction>");
		return -EINVAL;
	}
	enum isa_op op = isa_decode(in);
	if (problem(in, n, op, why, sizeof why)) {
		put(b, "<invalid: %s>", why);
		return -EINVAL;
	}
	const struct isa_opinfo *oi = &isa_ops[op];
	for (const char *t = oi->text; *t; t++) {
		if (*t != '$' || !t[1]) {
			size_t k = strcspn(t + 1, "$") + 1;
			put_raw(b, t, k);
			t += k - 1;
			continue;
		}
		switch (*++t) {
		case 'd': put(b, "%d", in->dst); break;
		case 's': put(b, "%d", in->src); break;
		case 'i': put_hex(b, in->imm); break;
		case 'n': put_hex(b, in[1].imm); break;
		case 'o': put_disp(b, in->off); break;
		case 'I': /* ld_ind: llvm writes skb[r1], with no room for an imm; omit a zero */
			if (in->imm)
				put_disp(b, in->imm);
			else if (b->len && b->p[b->len - 1] == ' ')
				b->p[--b->len] = 0;
			break;
		case 'j': put_target(b, in->off, lb); break;
		case 'g': put_target(b, in->imm, lb); break;
		case 'L':
			put_hex(b, (int64_t)((uint64_t)(uint32_t)in->imm | (uint64_t)(uint32_t)in[1].imm << 32));
			break;
		default: put(b, "$%c", *t); break;
		}
	}
	return oi->kind == K_LDDW ? 2 : 1;
}

int skep_insn_disasm(const struct skep_insn *insn, size_t n, char *buf, size_t size)
{
	struct sbuf b = {buf, 0, size, 0, 0};
	if (size)
		buf[0] = 0;
	return disasm_one(&b, insn, n, NULL);
}

/* Instructions at in: 1 or 2 (lddw), or -EINVAL; the op in *op. */
static int insn_len(const struct skep_insn *in, size_t n, enum isa_op *op)
{
	char why[96];
	*op = isa_decode(in);
	if (problem(in, n, *op, why, sizeof why))
		return -EINVAL;
	return isa_ops[*op].kind == K_LDDW ? 2 : 1;
}

/* Where each printed instruction starts (1) and which starts are jump targets (2). */
static unsigned char *mark(const struct skep_insn *insns, size_t n, unsigned flags)
{
	unsigned char *m = calloc(n ? n : 1, 1);
	if (!m)
		return NULL;
	for (size_t i = 0; i < n;) {
		enum isa_op op;
		int k = insn_len(&insns[i], n - i, &op);
		m[i] |= 1;
		i += k > 0 ? (size_t)k : 1;
	}
	if (!(flags & SKEP_DISASM_LABELS))
		return m;
	for (size_t i = 0; i < n; i++) {
		enum isa_op op;
		if (!(m[i] & 1) || insn_len(&insns[i], n - i, &op) < 0)
			continue;
		long rel;
		if (isa_ops[op].kind == K_JCOND || op == OP_JA)
			rel = insns[i].off;
		else if (op == OP_GOTOL || op == OP_CALL_LOCAL || op == OP_LDDW_FUNC)
			rel = insns[i].imm;
		else
			continue;
		long t = (long)i + 1 + rel;
		if (t >= 0 && (size_t)t < n && (m[t] & 1))
			m[t] |= 2;
	}
	return m;
}

char *skep_disasm_text(const struct skep_insn *insns, size_t n, unsigned flags)
{
	struct sbuf b = {malloc(256), 0, 256, 1, 0};
	unsigned char *m = mark(insns, n, flags);
	unsigned char *is_label = NULL;
	if (!b.p || !m)
		goto oom;
	b.p[0] = 0;
	if (flags & SKEP_DISASM_LABELS) {
		is_label = calloc(n ? n : 1, 1);
		if (!is_label)
			goto oom;
		for (size_t i = 0; i < n; i++)
			is_label[i] = (m[i] & 2) != 0;
	}
	for (size_t i = 0; i < n;) {
		if (m[i] & 2)
			put(&b, "L%zu:\n", i);
		if (flags & SKEP_DISASM_INDEX)
			put(&b, "%5zu: ", i);
		size_t line = b.len;
		struct labels lb = {i, n, is_label};
		int k = disasm_one(&b, &insns[i], n - i, &lb);
		size_t used = k > 0 ? (size_t)k : 1;
		if (flags & SKEP_DISASM_OPCODES) { /* llvm-objdump's byte column, before the text */
			char bytes[16 * 3 + 4], *p = bytes;
			for (size_t j = 0; j < used; j++) {
				const struct skep_insn *in = &insns[i + j];
				uint8_t raw[8] = {in->code, (uint8_t)(in->src << 4 | in->dst),
						  (uint8_t)in->off, (uint8_t)((uint16_t)in->off >> 8),
						  (uint8_t)in->imm, (uint8_t)((uint32_t)in->imm >> 8),
						  (uint8_t)((uint32_t)in->imm >> 16), (uint8_t)((uint32_t)in->imm >> 24)};
				for (int q = 0; q < 8; q++)
					p += sprintf(p, "%02x ", raw[q]);
			}
			if (!b.oom) {
				size_t text_len = b.len - line;
				char *text = malloc(text_len + 1);
				if (!text)
					goto oom;
				memcpy(text, b.p + line, text_len + 1);
				b.len = line;
				put(&b, "%-24s %s", bytes, text);
				free(text);
			}
		}
		if (k == 1 && isa_decode(&insns[i]) == OP_CALL) {
			const char *name = isa_helper_name(insns[i].imm);
			if (name)
				put(&b, "  # %s", name);
		}
		put(&b, "\n");
		i += used;
	}
	if (b.oom)
		goto oom;
	free(m);
	free(is_label);
	return b.p;
oom:
	free(b.p);
	free(m);
	free(is_label);
	return NULL;
}
