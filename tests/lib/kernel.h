/* The kernel as the oracle: run raw eBPF instructions in the running kernel through
 * the bpf() syscall (BPF_PROG_LOAD + BPF_PROG_TEST_RUN), no libbpf needed.
 *
 * kernel_run_mem() runs a Skep "memory program" (r1 = data, r2 = length, 64-bit r0,
 * may read and write the data) by rewriting it into a program the kernel can test-run:
 *
 *   XDP (the default): the data is the packet (padded to the 14 bytes an XDP test run
 *   needs; r2 still gets the real length). A prologue loads data/data_end from the
 *   xdp_md context, proves data + len <= data_end so the verifier gives the packet
 *   pointer a range, and sets r1 = data, r2 = len. With no data (len 0), r1 = r2 = 0,
 *   as Skep runs a program without memory.
 *
 *   SOCKET_FILTER (programs with ld_abs/ld_ind): the data is the skb's payload (a
 *   zeroed 14-byte Ethernet header is put in front, which the test run pulls off).
 *   Prologue r6 = r1 = ctx (what ld_abs/ld_ind read through; programs written in the
 *   kernel's style do "r6 = r1" themselves), r2 = len. A socket filter cannot touch the
 *   packet directly: a program that also dereferences r1 as the data reads the
 *   __sk_buff context instead, so such a program is not comparable (mark it kernel skip).
 *
 *   Stack copy (XDP, when the verifier refuses atomics on the packet): the prologue
 *   copies the data to the stack below the main program's own slots and keeps the packet
 *   pointer in a slot, r1 = the copy; every exit of the main program first copies the
 *   data back into the packet. Stack accesses must be aligned, packet ones need not.
 *
 * The test run only returns 32 bits of r0, so the program runs twice: as is (low half)
 * and with the main program's exits turned into jumps to "r0 >>= 32; exit" (high half).
 * Exits of bpf-to-bpf subprograms (from the first call target on) are left alone. */
#ifndef SKEP_TEST_KERNEL_H
#define SKEP_TEST_KERNEL_H

#include <stddef.h>
#include <stdint.h>

#include "skep/insn.h"

/* Program types used here (the kernel's BPF_PROG_TYPE_* numbers). */
#define KERNEL_PROG_SOCKET_FILTER 1
#define KERNEL_PROG_XDP           6

/* Outcome of kernel_run_mem (besides negative errno for system errors). */
enum {
	KERNEL_OK = 0,
	KERNEL_REFUSED = 1,  /* the kernel verifier refused the program: see info->reason */
	KERNEL_NOPERM = 2,   /* bpf() not permitted (EPERM/EACCES): callers SKIP */
	KERNEL_TOOBIG = 3,   /* data too large for a test run of this program type */
};

struct kernel_info {
	int prog_type;        /* KERNEL_PROG_* used */
	int stack_copy;       /* ran on a stack copy of the data (see above) */
	int err;              /* errno of the failing call, 0 if none */
	char reason[512];     /* refusal: first and last lines of the verifier log; else why */
};

/* 1 if bpf() program loading works here, 0 if not permitted or unavailable (the reason
 * is copied to why if given). Probed once with a trivial program, then cached. */
int kernel_available(char *why, size_t whylen);

/* Load a program. Returns the fd, or -errno with the verifier's log in log (if given). */
int kernel_prog_load(int prog_type, const struct skep_insn *insns, size_t n,
		     char *log, size_t log_size);

/* One BPF_PROG_TEST_RUN. data_out may be NULL; else *data_out_len is its capacity in and
 * the size the kernel wrote out. ctx may be NULL. duration_ns (may be NULL) is what the
 * kernel reports: the mean time of one run over repeat runs. 0 or -errno. */
int kernel_test_run(int fd, const void *data_in, size_t len_in, const void *ctx, size_t ctx_len,
		    uint32_t repeat, uint32_t *retval, uint32_t *duration_ns,
		    void *data_out, size_t *data_out_len);

/* Run a memory program in the kernel (see above). mem is read and, on KERNEL_OK,
 * replaced by the data as the program left it. Returns KERNEL_* or -errno (with
 * info->reason saying why). */
int kernel_run_mem(const struct skep_insn *insns, size_t n, void *mem, size_t len,
		   uint64_t *r0, struct kernel_info *info);

/* The program kernel_run_mem loads (for printing and debugging): malloc'ed, *out_n set.
 * flags: KERNEL_WRAP_HIGH for the high-half variant, KERNEL_WRAP_STACK for the stack
 * copy. NULL when out of memory or when the data does not fit on the stack. */
#define KERNEL_WRAP_HIGH  1u
#define KERNEL_WRAP_STACK 2u
struct skep_insn *kernel_wrap_mem(const struct skep_insn *insns, size_t n, size_t len,
				  unsigned flags, int *prog_type, size_t *out_n);

#endif
