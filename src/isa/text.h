/* Shared by the assembler and disassembler: the tokenizer of assembly lines and
 * templates, and helper names. */
#ifndef SKEP_ISA_TEXT_H
#define SKEP_ISA_TEXT_H

#include <stddef.h>
#include <stdint.h>

enum tok_kind { T_ID = 1, T_NUM, T_PUNCT, T_HOLE };

/* One token; text points into the line (or template) it came from. */
struct tok {
	uint8_t kind;      /* enum tok_kind */
	char hole;         /* T_HOLE: the placeholder letter (d s i n o I j g L) */
	char regc;         /* T_HOLE d/s: 'r' or 'w' as the template writes it */
	uint8_t hex;       /* T_NUM: written as 0x... */
	uint8_t loose;     /* T_HOLE d/s: the other register width is accepted too */
	uint16_t len;
	const char *s;
	uint64_t v;        /* T_NUM: the value */
};

#define TEXT_MAX_TOKENS 64

/* Tokenize [s, e): identifiers, numbers (decimal, 0x hex), operators (maximal munch),
 * and for templates (tmpl=1) "$x" placeholders, "r$d" becoming one register hole.
 * Stops at a comment (';', "//", or '#' unless as in the kernel log's "name#1").
 * Returns the token count, or -1 with err filled. */
int text_lex(const char *s, const char *e, int tmpl, struct tok *out, int max, char *err,
	     size_t errsz);

/* Skip what a listing puts before an instruction: an index "12:", llvm-objdump's raw
 * bytes "b7 01 00 00 ...", the kernel log's opcode "(b7)" (returned in *code, else -1). */
const char *text_skip_listing(const char *s, const char *e, int *code);

/* "r0".."r10" / "w0".."w10": returns the number and sets *cls ('r'/'w'); -1 if the
 * token is no register name, -2 if it looks like one out of range ("r11"). */
int text_reg(const struct tok *t, char *cls);

static inline int tok_is(const struct tok *t, const char *lit)
{
	size_t i = 0;
	for (; i < t->len; i++)
		if (lit[i] != t->s[i])
			return 0;
	return lit[i] == 0;
}

/* Every template tokenizes into an assembler pattern (for the tests). */
int isa_asm_patterns_ok(void);

/* Helper names by kernel id (helper_names.c): NULL / -1 when unknown. */
const char *isa_helper_name(int32_t id);
int32_t isa_helper_id(const char *name, size_t len);

#endif
