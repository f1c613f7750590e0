/* Data-driven test cases: one *.case file per program with its expected outcome.
 * The format is described in tests/cases/README.md. */
#ifndef SKEP_TEST_CASES_H
#define SKEP_TEST_CASES_H

#include <stddef.h>
#include <stdint.h>

#include "skep/insn.h"

struct test_case {
	char *path;               /* file it came from */
	char *asm_text;           /* "-- asm" section or NULL */
	struct skep_insn *raw;    /* "-- raw" section decoded, or NULL */
	size_t nraw;
	uint8_t *mem; size_t mem_len; int has_mem;
	int has_result; uint64_t result;
	uint8_t *mem_out; size_t mem_out_len; int has_mem_out;
	char *error;              /* expected error fragment or NULL */
	char *fault;              /* expected checked-engine fault fragment or NULL */
	char *kernel_skip;        /* reason or NULL */
	int mem_readonly;         /* "-- mem-ro" instead of "-- mem": the region is read-only */
};

/* Parse the file at path into c (zeroed first). 0 or -errno with err saying
 * "path:line: why". */
int case_load(const char *path, struct test_case *c, char *err, size_t errlen);
/* The case's instructions: assembles asm_text or copies raw into a malloc'ed array.
 * 0 or -errno with err set (the assembler's message for asm that does not assemble). */
int case_insns(const struct test_case *c, struct skep_insn **out, size_t *n, char *err, size_t errlen);
void case_free(struct test_case *c);
/* All *.case files below dir, sorted, recursively. 0 or -errno. */
int case_list(const char *dir, char ***paths, size_t *n);
void case_list_free(char **paths, size_t n);

#endif
