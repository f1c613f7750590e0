/* The assembler: every op's text template (optable.def) is tokenized once into a
 * pattern, and each line is matched against all patterns; there is no per-opcode
 * parser. Placeholders accept more spellings than the disassembler prints (decimal or
 * hex, the kernel log's "pc+3" and "(r1 +4)", labels, helper names); when a line
 * matches several patterns, the one whose placeholders are spelled as the
 * disassembler spells them wins, which keeps disassembly round-tripping exactly
 * (e.g. "call -0x1" is helper -1, "call -1" a bpf-to-bpf call, as printed). */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "isa.h"
#include "text.h"

#define PAT_MAX 24

/* Other spellings of some ops, as the kernel's verifier log prints them
 * (kernel/bpf/disasm.c); 32-bit atomics there name their registers rN, which the
 * llvm templates accept anyway (see compile_patterns). */
static const struct {
	enum isa_op op;
	uint8_t listed_only; /* only after the log's "(18)" opcode: else "r1 = 5" is a mov */
	const char *text;
} alts[] = {
	{OP_ATOMIC_ADD_FETCH64, 0, "r$s = atomic64_fetch_add((u64 *)(r$d $o), r$s)"},
	{OP_ATOMIC_OR_FETCH64, 0, "r$s = atomic64_fetch_or((u64 *)(r$d $o), r$s)"},
	{OP_ATOMIC_AND_FETCH64, 0, "r$s = atomic64_fetch_and((u64 *)(r$d $o), r$s)"},
	{OP_ATOMIC_XOR_FETCH64, 0, "r$s = atomic64_fetch_xor((u64 *)(r$d $o), r$s)"},
	{OP_XCHG64, 0, "r$s = atomic64_xchg((u64 *)(r$d $o), r$s)"},
	{OP_XCHG32, 0, "r$s = atomic_xchg((u32 *)(r$d $o), r$s)"},
	{OP_CMPXCHG64, 0, "r0 = atomic64_cmpxchg((u64 *)(r$d $o), r0, r$s)"},
	{OP_CMPXCHG32, 0, "r0 = atomic_cmpxchg((u32 *)(r$d $o), r0, r$s)"},
	{OP_LDDW, 1, "r$d = $L"},
};
#define NALT (int)(sizeof alts / sizeof alts[0])
#define NPAT (OP__COUNT + NALT)

/* Patterns 0..OP__COUNT-1 are the table's templates, in table order; then alts. */
static struct {
	struct tok t[PAT_MAX];
	int n, op, alt, listed_only;
} pats[NPAT];
static pthread_once_t pats_once = PTHREAD_ONCE_INIT;

static void compile_patterns(void)
{
	char err[64];
	for (int i = 0; i < NPAT; i++) {
		int op = i < OP__COUNT ? i : (int)alts[i - OP__COUNT].op;
		const struct isa_opinfo *oi = &isa_ops[op];
		const char *s = i < OP__COUNT ? oi->text : alts[i - OP__COUNT].text;
		int n = text_lex(s, s + strlen(s), 1, pats[i].t, PAT_MAX, err, sizeof err);
		pats[i].n = n < 0 ? 0 : n; /* a broken template never matches (test_asm checks) */
		pats[i].op = op;
		pats[i].alt = i >= OP__COUNT;
		pats[i].listed_only = pats[i].alt && alts[i - OP__COUNT].listed_only;
		/* the data register of a narrow load/store may be wN (llvm with alu32) and
		 * that of a 32-bit atomic rN (the kernel log) */
		int narrow = ((oi->kind == K_LDX || oi->kind == K_STX) && BPF_MODE(oi->code) == BPF_MEM &&
			      BPF_SIZE(oi->code) != BPF_DW) ||
			     (oi->kind == K_ATOMIC && BPF_SIZE(oi->code) == BPF_W);
		for (int k = 0; narrow && k < n; k++) {
			struct tok *t = &pats[i].t[k];
			if (t->kind == T_HOLE && t->regc && !(k && tok_is(&t[-1], "(")))
				t->loose = 1;
		}
	}
}

int isa_asm_patterns_ok(void)
{
	pthread_once(&pats_once, compile_patterns);
	for (int i = 0; i < NPAT; i++)
		if (!pats[i].n)
			return 0;
	return 1;
}

/* ---- matching one line against one pattern ---- */

/* A number as written: sign and magnitude, and the source span for messages. */
struct val {
	int set, neg, hex, plus, pc;
	uint64_t mag;
	const char *s;
	int len;
	const struct tok *label; /* a jump target given by name */
	const struct tok *num;   /* the number token, for messages */
};

enum { H_D, H_S, H_I, H_N, H_O, H_II, H_J, H_G, H_L, H__N };

static int hole_slot(char h)
{
	switch (h) {
	case 'd': return H_D;
	case 's': return H_S;
	case 'i': return H_I;
	case 'n': return H_N;
	case 'o': return H_O;
	case 'I': return H_II;
	case 'j': return H_J;
	case 'g': return H_G;
	case 'L': return H_L;
	default: return -1;
	}
}

struct cap {
	int reg[2];
	struct val v[H__N];
};

/* What the assembler knows while matching: the label names of the whole text. */
struct labels;
static long label_find(const struct labels *L, const char *s, size_t len);

static int is_sign(const struct tok *t) { return t->kind == T_PUNCT && (tok_is(t, "+") || tok_is(t, "-")); }

static void span(struct val *v, const struct tok *a, const struct tok *b)
{
	v->s = a->s;
	v->len = (int)(b->s + b->len - a->s);
}

/* [sign] NUMBER at u[k]: tokens used, 0 if none. */
static int read_num(const struct tok *u, int k, int nu, struct val *v)
{
	int i = k, neg = 0, plus = 0;
	if (i < nu && is_sign(&u[i])) {
		neg = u[i].s[0] == '-';
		plus = !neg;
		i++;
	}
	if (i >= nu || u[i].kind != T_NUM)
		return 0;
	v->set = 1;
	v->neg ^= neg;
	v->plus |= plus;
	v->hex = u[i].hex;
	v->mag = u[i].v;
	v->num = &u[i];
	span(v, &u[k], &u[i]);
	return i + 1 - k;
}

struct mstate {
	const struct labels *labels;
	int depth;        /* tokens of the line matched before failing */
	char err[160];    /* a specific reason, when there is one */
};

static int fail(struct mstate *m, int depth, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(struct mstate *m, int depth, const char *fmt, ...)
{
	m->depth = depth;
	m->err[0] = 0;
	if (fmt) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(m->err, sizeof m->err, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* Match line tokens u[0..nu) against op's pattern. Returns the score (0 = spelled as
 * the disassembler prints; higher = looser spelling) or -1 with m->depth/err. */
static int match(int pi, const struct tok *u, int nu, struct cap *c, struct mstate *m)
{
	const struct tok *p = pats[pi].t;
	int np = pats[pi].n, k = 0, score = pats[pi].alt, op = pats[pi].op;
	memset(c, 0, sizeof *c);
	c->reg[0] = c->reg[1] = -1;
	if (!np)
		return fail(m, 0, NULL);
	for (int j = 0; j < np; j++) {
		const struct tok *t = &p[j];
		if (t->kind != T_HOLE) {
			if (k >= nu || u[k].kind != t->kind || u[k].len != t->len || memcmp(u[k].s, t->s, t->len))
				return fail(m, k, NULL);
			k++;
			continue;
		}
		int slot = hole_slot(t->hole);
		if (slot < 0)
			return fail(m, k, NULL);
		if (slot == H_D || slot == H_S) {
			char cls = 0;
			int r = k < nu ? text_reg(&u[k], &cls) : -1;
			if (r == -2)
				return fail(m, k, "invalid register '%.*s'", u[k].len, u[k].s);
			if (r < 0 || (cls != t->regc && !t->loose))
				return fail(m, k, NULL);
			score += cls != t->regc;
			if (c->reg[slot] >= 0 && c->reg[slot] != r)
				return fail(m, k, "'%.*s' must be the same register as before", u[k].len, u[k].s);
			c->reg[slot] = r;
			k++;
			continue;
		}
		struct val *v = &c->v[slot];
		int used;
		switch (t->hole) {
		case 'o':
		case 'I': /* displacement: "+ 4", "- 8", "+4", or nothing before ')' / ']' */
			if (k < nu && is_sign(&u[k])) {
				v->neg = u[k].s[0] == '-';
				used = read_num(u, k + 1, nu, v);
				if (!used)
					return fail(m, k + 1, NULL);
				span(v, &u[k], &u[k + used]);
				used++;
				score += t->hole == 'o' && v->hex;
			} else if (k < nu && u[k].kind == T_PUNCT && (tok_is(&u[k], ")") || tok_is(&u[k], "]"))) {
				v->set = 1;
				used = 0;
				score += t->hole == 'o';
			} else {
				return fail(m, k, NULL);
			}
			break;
		case 'j':
		case 'g': /* jump target: "+3", "-2", "pc+3", a label, or a plain number */
			if (k < nu && u[k].kind == T_ID && tok_is(&u[k], "pc") && k + 1 < nu && is_sign(&u[k + 1])) {
				used = read_num(u, k + 1, nu, v);
				if (!used)
					return fail(m, k + 1, NULL);
				used++;
				v->pc = 1;
			} else if (k < nu && u[k].kind == T_ID) {
				char cls;
				if (label_find(m->labels, u[k].s, u[k].len) < 0) {
					if (text_reg(&u[k], &cls) != -1)
						return fail(m, k, NULL);
					return fail(m, k, "undefined label '%.*s'", u[k].len, u[k].s);
				}
				v->set = 1;
				v->label = &u[k];
				span(v, &u[k], &u[k]);
				used = 1;
			} else {
				used = read_num(u, k, nu, v);
				if (!used)
					return fail(m, k, NULL);
				score += v->neg || v->plus ? v->hex : 2;
			}
			break;
		default: /* i, n, L: a number; for a helper call also a helper name */
			if (op == OP_CALL && k < nu && u[k].kind == T_ID) {
				/* "bpf_map_lookup_elem", or the kernel log's "bpf_map_lookup_elem#1" */
				if (k + 2 < nu && tok_is(&u[k + 1], "#") && u[k + 2].kind == T_NUM) {
					v->mag = u[k + 2].v;
					v->num = &u[k + 2];
					used = 3;
				} else {
					int32_t id = isa_helper_id(u[k].s, u[k].len);
					if (id < 0 && label_find(m->labels, u[k].s, u[k].len) >= 0)
						return fail(m, k, NULL); /* a bpf-to-bpf call: CALL_LOCAL */
					if (id < 0)
						return fail(m, k, "'%.*s' is neither a helper nor a label", u[k].len, u[k].s);
					v->mag = (uint64_t)id;
					used = 1;
				}
				v->set = 1;
				span(v, &u[k], &u[k + used - 1]);
				break;
			}
			used = read_num(u, k, nu, v);
			if (!used)
				return fail(m, k, NULL);
			score += !v->hex + 2 * v->plus;
			break;
		}
		k += used;
	}
	if (k == nu)
		return score;
	/* llvm-objdump's annotation after a jump target: "goto +0x3 <.text+0x80>" */
	if (np && p[np - 1].kind == T_HOLE && (p[np - 1].hole == 'j' || p[np - 1].hole == 'g') &&
	    tok_is(&u[k], "<") && tok_is(&u[nu - 1], ">"))
		return score;
	return fail(m, k, NULL);
}

/* ---- value ranges ---- */

static int fits(const struct val *v, int bits, int64_t *out)
{
	uint64_t lim_neg = (uint64_t)1 << (bits - 1);
	uint64_t lim_pos = bits == 64 ? UINT64_MAX : bits == 16 ? lim_neg - 1 : ((uint64_t)1 << bits) - 1;
	if (v->neg ? v->mag > lim_neg : v->mag > lim_pos)
		return 0;
	*out = v->neg ? (int64_t)(0 - v->mag) : (int64_t)v->mag;
	return 1;
}

/* Build the instruction(s) from a match; a range error fills err and returns -1. */
static int build(int op, const struct cap *c, struct skep_insn in[2], char *err, size_t errsz)
{
	const struct isa_opinfo *oi = &isa_ops[op];
	memset(in, 0, 2 * sizeof *in);
	in[0].code = oi->code;
	if (oi->sel == SEL_OFF) in[0].off = (int16_t)oi->selval;
	if (oi->sel == SEL_IMM) in[0].imm = oi->selval;
	if (oi->sel == SEL_SRC) in[0].src = (uint8_t)oi->selval & 0xf;
	if (c->reg[H_D] >= 0) in[0].dst = (uint8_t)c->reg[H_D] & 0xf;
	if (c->reg[H_S] >= 0) in[0].src = (uint8_t)c->reg[H_S] & 0xf;
	static const struct { uint8_t slot, bits; const char *what; } ranges[] = {
		{H_I, 32, "immediate"}, {H_N, 32, "immediate"}, {H_II, 32, "immediate"},
		{H_O, 16, "offset"}, {H_J, 16, "jump offset"}, {H_G, 32, "jump offset"},
		{H_L, 64, "immediate"},
	};
	for (size_t r = 0; r < sizeof ranges / sizeof ranges[0]; r++) {
		const struct val *v = &c->v[ranges[r].slot];
		int64_t x = 0;
		if (!v->set || v->label)
			continue;
		if (!fits(v, ranges[r].bits, &x)) {
			const char *s = v->num ? v->num->s : v->s;
			int len = v->num ? v->num->len : v->len;
			snprintf(err, errsz, "%s %s%.*s does not fit in %d bits%s", ranges[r].what,
				 v->neg ? "-" : "", len, s, ranges[r].bits,
				 op == OP_MOV64_IMM ? " (a 64-bit constant needs 'll')" : "");
			return -1;
		}
		switch (ranges[r].slot) {
		case H_I: case H_II: case H_G: in[0].imm = (int32_t)(uint32_t)x; break;
		case H_N: in[1].imm = (int32_t)(uint32_t)x; break;
		case H_O: case H_J: in[0].off = (int16_t)x; break;
		case H_L:
			in[0].imm = (int32_t)(uint32_t)(uint64_t)x;
			in[1].imm = (int32_t)(uint32_t)((uint64_t)x >> 32);
			break;
		}
	}
	return oi->kind == K_LDDW ? 2 : 1;
}

/* "r$d += $i" -> "rD += IMM", for hints. */
static void render(int pi, char *buf, size_t size)
{
	size_t n = 0;
	const char *text = pi < OP__COUNT ? isa_ops[pi].text : alts[pi - OP__COUNT].text;
	for (const char *t = text; *t && n + 8 < size; t++) {
		const char *r = NULL;
		if (*t == '$' && t[1]) {
			switch (*++t) {
			case 'd': r = "D"; break;
			case 's': r = "S"; break;
			case 'o': r = "+ OFF"; break;
			case 'I': r = "+ IMM"; break;
			case 'j': r = "+OFF"; break;
			case 'g': r = "+IMM"; break;
			case 'L': r = "IMM64"; break;
			default: r = "IMM"; break;
			}
			n += (size_t)snprintf(buf + n, size - n, "%s", r);
		} else {
			buf[n++] = *t;
		}
	}
	buf[n < size ? n : size - 1] = 0;
}

/* ---- labels: names of the whole text, by hash ---- */

struct label {
	const char *s;
	uint32_t len;
	long line, index;
};

struct labels {
	struct label *v;
	size_t n, cap;
	uint32_t *slot; /* index+1 into v, 0 = empty; nslot a power of two */
	size_t nslot;
};

static uint32_t hash(const char *s, size_t len)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return h;
}

static long label_find(const struct labels *L, const char *s, size_t len)
{
	if (!L || !L->nslot)
		return -1;
	for (size_t i = hash(s, len) & (L->nslot - 1);; i = (i + 1) & (L->nslot - 1)) {
		uint32_t k = L->slot[i];
		if (!k)
			return -1;
		const struct label *l = &L->v[k - 1];
		if (l->len == len && !memcmp(l->s, s, len))
			return (long)k - 1;
	}
}

static int label_add(struct labels *L, const char *s, size_t len, long line)
{
	if (L->n == L->cap) {
		size_t cap = L->cap ? L->cap * 2 : 16;
		struct label *v = realloc(L->v, cap * sizeof *v);
		if (!v)
			return -ENOMEM;
		L->v = v, L->cap = cap;
	}
	if ((L->n + 1) * 2 > L->nslot) {
		size_t nslot = L->nslot ? L->nslot * 2 : 64;
		uint32_t *slot = calloc(nslot, sizeof *slot);
		if (!slot)
			return -ENOMEM;
		free(L->slot);
		L->slot = slot, L->nslot = nslot;
		for (size_t k = 0; k < L->n; k++) {
			size_t i = hash(L->v[k].s, L->v[k].len) & (nslot - 1);
			while (slot[i])
				i = (i + 1) & (nslot - 1);
			slot[i] = (uint32_t)k + 1;
		}
	}
	L->v[L->n] = (struct label){s, (uint32_t)len, line, -1};
	size_t i = hash(s, len) & (L->nslot - 1);
	while (L->slot[i])
		i = (i + 1) & (L->nslot - 1);
	L->slot[i] = (uint32_t)++L->n;
	return 0;
}

/* ---- the assembler ---- */

struct fixup {
	size_t insn;
	long label, line;
	char hole; /* 'j' (off) or 'g' (imm) */
};

struct as {
	struct skep_diag *diag;
	struct labels labels;
	struct skep_insn *out;
	size_t n, cap;
	struct fixup *fix;
	size_t nfix, capfix;
};

static int err_at(struct as *a, long line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int err_at(struct as *a, long line, const char *fmt, ...)
{
	if (a->diag) {
		int n = snprintf(a->diag->msg, sizeof a->diag->msg, "line %ld: ", line);
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(a->diag->msg + n, sizeof a->diag->msg - (size_t)n, fmt, ap);
		va_end(ap);
		a->diag->where = line;
	}
	return -EINVAL;
}

static int oom(struct as *a, long line)
{
	if (a->diag) {
		snprintf(a->diag->msg, sizeof a->diag->msg, "line %ld: out of memory", line);
		a->diag->where = line;
	}
	return -ENOMEM;
}

static int emit(struct as *a, const struct skep_insn *in, size_t k)
{
	if (a->n + k > a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 64;
		struct skep_insn *p = realloc(a->out, cap * sizeof *p);
		if (!p)
			return -ENOMEM;
		a->out = p, a->cap = cap;
	}
	memcpy(&a->out[a->n], in, k * sizeof *in);
	a->n += k;
	return 0;
}

static int add_fixup(struct as *a, char hole, long label, long line)
{
	if (a->nfix == a->capfix) {
		size_t cap = a->capfix ? a->capfix * 2 : 16;
		struct fixup *p = realloc(a->fix, cap * sizeof *p);
		if (!p)
			return -ENOMEM;
		a->fix = p, a->capfix = cap;
	}
	a->fix[a->nfix++] = (struct fixup){a->n, label, line, hole};
	return 0;
}

/* ".insn CODE DST SRC OFF IMM": one raw instruction, unchecked. */
static int raw_insn(struct as *a, const struct tok *u, int nu, long line)
{
	static const struct { const char *name; int64_t lo, hi; } f[5] = {
		{"code", 0, 255}, {"dst", 0, 15}, {"src", 0, 15}, {"off", -32768, 65535},
		{"imm", INT32_MIN, UINT32_MAX},
	};
	int64_t x[5];
	int k = 1;
	for (int i = 0; i < 5; i++) {
		struct val v = {0};
		if (i && k < nu && tok_is(&u[k], ","))
			k++;
		int used = read_num(u, k, nu, &v);
		if (!used)
			return err_at(a, line, "'.insn' needs five numbers: CODE DST SRC OFF IMM");
		x[i] = v.mag > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)v.mag;
		if (v.neg)
			x[i] = -x[i];
		if (x[i] < f[i].lo || x[i] > f[i].hi)
			return err_at(a, line, "'.insn' %s %.*s is out of range (%lld..%lld)", f[i].name, v.len,
				      v.s, (long long)f[i].lo, (long long)f[i].hi);
		k += used;
	}
	if (k != nu)
		return err_at(a, line, "'.insn' takes exactly five numbers: CODE DST SRC OFF IMM");
	struct skep_insn in = {(uint8_t)x[0], (uint8_t)x[1], (uint8_t)x[2],
			       (int16_t)(uint16_t)x[3], (int32_t)(uint32_t)x[4]};
	return emit(a, &in, 1) ? oom(a, line) : 0;
}

/* code: the opcode a listing gave before the text ("(bf) r1 = r10"), or -1 */
static int instruction(struct as *a, const struct tok *u, int nu, long line, int code)
{
	if (u[0].kind == T_ID && tok_is(&u[0], ".insn"))
		return raw_insn(a, u, nu, line);
	if (u[0].kind == T_ID && u[0].s[0] == '.')
		return err_at(a, line, "unknown directive '%.*s'", u[0].len, u[0].s);
	struct cap c, best_c = {0};
	struct mstate m = {&a->labels, 0, ""}, deep = {NULL, -1, ""};
	int best = -1, best_score = 0, deep_pat = -1, bad = -1;
	char range_err[160] = "";
	for (int pi = 0; pi < NPAT; pi++) {
		int op = pats[pi].op;
		if (code >= 0 ? isa_ops[op].code != code : pats[pi].listed_only)
			continue;
		/* cheap test of the first two tokens (when one token each) before a full match */
		const struct tok *t = pats[pi].t;
		int j = 0, skip = 0;
		for (; j < 2 && j < pats[pi].n && !skip; j++) {
			if (t[j].kind == T_HOLE && !t[j].regc)
				break;
			char cls;
			if (t[j].kind == T_HOLE && j < nu && text_reg(&u[j], &cls) == -2)
				break; /* "r11": let match() name the bad register */
			skip = j >= nu || (t[j].kind == T_HOLE ? u[j].kind != T_ID :
					   u[j].kind != t[j].kind || u[j].len != t[j].len || memcmp(u[j].s, t[j].s, t[j].len));
		}
		if (skip) {
			if (j - 1 > deep.depth)
				deep.depth = j - 1, deep.err[0] = 0, deep_pat = pi;
			continue;
		}
		int s = match(pi, u, nu, &c, &m);
		if (s < 0) {
			if (m.depth > deep.depth || (m.depth == deep.depth && m.err[0] && !deep.err[0]))
				deep = m, deep_pat = pi;
			continue;
		}
		struct skep_insn in[2];
		char e[160];
		if (build(op, &c, in, e, sizeof e) < 0) {
			if (bad < 0)
				bad = op, memcpy(range_err, e, sizeof e);
			continue;
		}
		if (best < 0 || s < best_score)
			best = op, best_score = s, best_c = c;
	}
	if (best < 0) {
		if (bad >= 0)
			return err_at(a, line, "%s", range_err);
		if (deep.err[0])
			return err_at(a, line, "%s", deep.err);
		const char *s = u[0].s, *e = u[nu - 1].s + u[nu - 1].len;
		char hint[96] = "";
		if (deep.depth > 0 && deep_pat >= 0) {
			char t[64];
			render(deep_pat, t, sizeof t);
			snprintf(hint, sizeof hint, " (closest: '%s')", t);
		}
		return err_at(a, line, "unknown instruction '%.*s'%s", (int)(e - s > 80 ? 80 : e - s), s, hint);
	}
	struct skep_insn in[2];
	char e[160];
	int k = build(best, &best_c, in, e, sizeof e);
	for (int h = H_J; h <= H_G; h++)
		if (best_c.v[h].label &&
		    add_fixup(a, h == H_J ? 'j' : 'g',
			      label_find(&a->labels, best_c.v[h].label->s, best_c.v[h].label->len), line))
			return oom(a, line);
	return emit(a, in, (size_t)k) ? oom(a, line) : 0;
}

/* One line: tokens after any listing prefix, then labels ("name:"), then the rest.
 * Pass 1 only defines labels; pass 2 places them and assembles. */
static int do_line(struct as *a, const char *s, const char *e, long line, int pass)
{
	struct tok u[TEXT_MAX_TOKENS];
	char err[128];
	int code;
	int nu = text_lex(text_skip_listing(s, e, &code), e, 0, u, TEXT_MAX_TOKENS, err, sizeof err);
	if (nu < 0)
		return err_at(a, line, "%s", err);
	int k = 0;
	while (k + 1 < nu && u[k].kind == T_ID && tok_is(&u[k + 1], ":")) {
		char cls;
		if (text_reg(&u[k], &cls) != -1)
			return err_at(a, line, "'%.*s' is a register name, not a label", u[k].len, u[k].s);
		long l = label_find(&a->labels, u[k].s, u[k].len);
		if (pass == 1) {
			if (l >= 0)
				return err_at(a, line, "duplicate label '%.*s' (first defined on line %ld)", u[k].len,
					      u[k].s, a->labels.v[l].line);
			if (label_add(&a->labels, u[k].s, u[k].len, line))
				return oom(a, line);
		} else {
			a->labels.v[l].index = (long)a->n;
		}
		k += 2;
	}
	if (k == nu || pass == 1)
		return 0;
	return instruction(a, u + k, nu - k, line, code);
}

int skep_assemble(const char *text, struct skep_insn **out, size_t *n_out, struct skep_diag *diag)
{
	struct as a = {.diag = diag};
	int err = 0;
	if (diag) {
		diag->where = -1;
		diag->msg[0] = 0;
	}
	if (out)
		*out = NULL;
	if (n_out)
		*n_out = 0;
	if (!text || !out || !n_out)
		return -EINVAL;
	pthread_once(&pats_once, compile_patterns);
	for (int pass = 1; pass <= 2 && !err; pass++) {
		long line = 1;
		for (const char *s = text; !err; line++) {
			const char *e = strchr(s, '\n');
			if (!e)
				e = s + strlen(s);
			err = do_line(&a, s, e, line, pass);
			if (!*e)
				break;
			s = e + 1;
		}
	}
	for (size_t i = 0; i < a.nfix && !err; i++) {
		const struct fixup *f = &a.fix[i];
		const struct label *l = &a.labels.v[f->label];
		long rel = l->index - (long)f->insn - 1;
		if (f->hole == 'j' && (rel < -32768 || rel > 32767))
			err = err_at(&a, f->line, "jump offset %ld to '%.*s' does not fit in 16 bits", rel,
				     (int)l->len, l->s);
		else if (f->hole == 'j')
			a.out[f->insn].off = (int16_t)rel;
		else
			a.out[f->insn].imm = (int32_t)rel;
	}
	free(a.labels.v);
	free(a.labels.slot);
	free(a.fix);
	if (err) {
		free(a.out);
		return err;
	}
	*out = a.out ? a.out : calloc(1, sizeof **out);
	if (!*out)
		return oom(&a, 0);
	*n_out = a.n;
	return 0;
}
