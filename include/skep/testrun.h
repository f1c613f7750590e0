/* Skep: test runs with BPF_PROG_TEST_RUN's semantics (the kernel's net/bpf/test_run.c).
 * The program's type (skep_prog_set_type) builds the context from data_in/ctx_in as the
 * kernel's test run for that type does, the program runs repeat times on it, and
 * data_out/ctx_out get what it left. The options have the shape of libbpf's
 * struct bpf_test_run_opts. */
#ifndef SKEP_TESTRUN_H
#define SKEP_TESTRUN_H

#include <stddef.h>
#include <stdint.h>

#include "prog.h"
#include "progtype.h"

#ifdef __cplusplus
extern "C" {
#endif

struct skep_test_run_opts {
	const void *data_in;     /* packet (types with one) */
	void *data_out;          /* packet as the program left it, or NULL */
	uint32_t data_size_in;
	uint32_t data_size_out;  /* in: capacity of data_out (0 = unlimited, as the kernel);
				  * out: the full size, even when data_out was too small (-ENOSPC) */
	const void *ctx_in;      /* the context the program sees (xdp_md, __sk_buff, pt_regs ...) */
	void *ctx_out;
	uint32_t ctx_size_in;
	uint32_t ctx_size_out;   /* in: capacity; out: the context's size */
	uint32_t retval;         /* out: r0's low 32 bits of the last run */
	int repeat;              /* runs (0 = 1); the context is not reset between runs */
	uint32_t duration;       /* out: mean ns per run */
	uint32_t flags;          /* must be 0 */
};

/* Run p (loaded, with a type) as BPF_PROG_TEST_RUN. 0 or a negative errno, with
 * skep_prog_error(p) saying why: -EINVAL for options the kernel refuses for the type,
 * -E2BIG for a non-zero tail of ctx_in past the context, -ENOSPC when data_out or ctx_out
 * was too small (they are then filled up to their capacity, and the sizes, retval and
 * duration are set), -EOPNOTSUPP for a type without test runs; a failing run's error
 * (checked engine) as skep_prog_run. */
int skep_prog_test_run(skep_prog *p, struct skep_test_run_opts *opts);

/* What a type's test_init builds and the runs use (see struct skep_prog_type_desc). */
struct skep_test_env {
	void *ctx;                    /* the in-memory context: malloc'ed by test_init, freed
				       * by the driver */
	uint8_t *buf;                 /* the packet's buffer, or NULL; freed by the driver */
	size_t buf_size;
	const void *pkt;              /* what ld_abs/ld_ind read, and its length */
	size_t pkt_len;
	struct skep_region regions[4];/* memory the checked engine allows (ctx, buffer, ...) */
	size_t nregions;
	uint32_t ctx_max;             /* highest context byte the program accesses + 1 */
	void *priv;                   /* the type's, freed by the driver */
	int no_result;                /* set by test_finish when, as the kernel, the run's
				       * retval, duration and data_size_out are not reported */
	char err[256];
};

#ifdef __cplusplus
}
#endif
#endif
