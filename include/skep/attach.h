/* Skep: programs on events of this process. Uprobes and uretprobes on functions of
 * the running process (the main executable or a loaded shared library), USDT probes,
 * and attach by a libbpf section name.
 *
 *   skep_link *l;
 *   if (skep_attach_uprobe(prog, "/lib/x86_64-linux-gnu/libc.so.6", "malloc", 0, 0, &l))
 *           fail(skep_attach_error());
 *   ...                                   // every malloc() now runs prog first
 *   skep_link_destroy(l);                 // original bytes restored
 *
 * The program's context (r1) is a struct pt_regs (x86-64, as the kernel's) filled from
 * the live registers at the probe, so libbpf's PT_REGS_PARM1..6 / PT_REGS_RC and
 * BPF_KPROBE / BPF_KRETPROBE / BPF_UPROBE / BPF_URETPROBE work; bpf_get_func_ip
 * returns the probed address and bpf_get_attach_cookie the link's cookie.
 *
 * A hit while a program of the same thread is running (a helper calling a probed
 * function) skips the programs, as the kernel's bpf_prog_active does. Return probes
 * replace the return address on entry (per-thread shadow stack, 64 frames deep);
 * longjmp out of probed frames is handled, C++ exceptions unwinding through one are
 * not (as with the kernel's uretprobes). Skep uses SIGTRAP (breakpoint sites and
 * patching) and SIGRTMAX-2 (a brief rendezvous of running threads while a jump is
 * written); the process must not take them over.
 *
 * Errors are a negative errno; skep_attach_error() (per thread) says why. */
#ifndef SKEP_ATTACH_H
#define SKEP_ATTACH_H

#include <stdint.h>

#include "object.h"
#include "prog.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct skep_link skep_link;

/* Attach prog to a function of this process. binary_path names the executable or a
 * shared library as a path, a soname ("libc.so.6") or NULL for the main executable.
 * symbol_or_offset is "malloc", "malloc+4", or a file offset "0x1234" (as the kernel's
 * uprobe offsets). retprobe 0: run on entry; 1: run when the function returns (r1's
 * pt_regs then holds the return value in rax). cookie is what bpf_get_attach_cookie
 * returns. 0 with *link set, or a negative errno (-ENOENT unknown binary or symbol,
 * -EINVAL a function the patcher cannot rewrite and no fallback, -EPERM memory that
 * cannot be made writable, -EBUSY already probed in an incompatible way). */
int skep_attach_uprobe(skep_prog *prog, const char *binary_path, const char *symbol_or_offset,
		       int retprobe, uint64_t cookie, skep_link **link);

/* Attach prog at the USDT probe provider:name of binary_path (path, soname or NULL for
 * the main executable), with the probe's arguments available to libbpf's usdt.bpf.h
 * (bpf_usdt_arg, BPF_USDT) when prog comes from an object that includes it. Every site
 * of the probe is attached; its semaphore, if any, is incremented while attached. */
int skep_attach_usdt(skep_program *prog, const char *binary_path, const char *provider,
		     const char *name, uint64_t cookie, skep_link **link);

/* Attach a loaded object program by its section name, as libbpf's bpf_program__attach:
 * "uprobe/PATH:SYMBOL[+OFFSET]", "uretprobe/...", "usdt/PATH:PROVIDER:NAME" (also
 * "uprobe.s/" and "uretprobe.s/"). -ENOTSUP for a section that names no target (attach
 * those with skep_attach_uprobe). */
int skep_program_attach(skep_program *prog, skep_link **link);

/* Detach: restores the original bytes exactly (once no other link uses the site) and
 * frees the link. NULL is ignored. A thread that entered the program just before may
 * still be running it: free the program only once such runs are over (there is no RCU
 * grace period here). The site's trampoline page stays for good (a thread may still be
 * in it) and is reused when the address is attached again. */
int skep_link_destroy(skep_link *link);

/* What a link is attached to, for listings: "uprobe:/lib/.../libc.so.6:malloc". */
const char *skep_link_desc(const skep_link *link);
/* The probed address in this process. */
uint64_t skep_link_addr(const skep_link *link);
/* How the site is hooked: "jmp" (patched jump to a trampoline) or "int3" (breakpoint
 * fallback). */
const char *skep_link_mode(const skep_link *link);
/* Hits (program runs) so far; counted without a locked instruction, so threads
 * racing on one link may lose a few. */
uint64_t skep_link_hits(const skep_link *link);

/* The last attach error of this thread ("" if none). */
const char *skep_attach_error(void);

#ifdef __cplusplus
}
#endif
#endif
