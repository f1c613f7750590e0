/* The uprobe core's own declarations (uprobe.c, patch.c, retprobe.c, link.c). */
#ifndef SKEP_ATTACH_UPROBE_H
#define SKEP_ATTACH_UPROBE_H

#include <stddef.h>
#include <stdint.h>

#include "attach_internal.h"

/* struct pt_regs, x86-64 kernel layout (asm/ptrace.h): the programs' context. */
struct upt_regs {
	uint64_t r15, r14, r13, r12, bp, bx, r11, r10, r9, r8, ax, cx, dx, si, di;
	uint64_t orig_ax, ip, cs, flags, sp, ss;
};
#define PT_OFF(f) ((int)__builtin_offsetof(struct upt_regs, f))

/* One program on a site, as the hot path reads it. */
struct probe {
	skep_prog_fn fn;           /* JIT entry, or NULL: run through skep_prog_run */
	skep_prog *prog;
	uint64_t cookie;
	int ret;                   /* a return probe */
	struct skep_link *link;    /* for its hit count */
};
/* The programs of a site in attach order: immutable once published (replaced whole). */
struct plist {
	size_t n;
	uint8_t need_xmm;          /* a program calls C code (see prog_needs_xmm) */
	struct plist *retired;     /* chain of replaced lists (kept: a thread may still read) */
	struct probe p[];
};

enum { MODE_JMP = 1, MODE_INT3 = 2 };
#define PATCH_MAX 16             /* bytes displaced at most */

/* A hooked address. Never freed: the signal handlers and threads still in its
 * trampoline may look at it after detach; re-attaching the address reuses it. */
struct site {
	uint64_t addr;
	int mode;                  /* MODE_JMP or MODE_INT3 */
	int armed;                 /* bytes currently patched */
	uint8_t len;               /* bytes displaced (5..PATCH_MAX for jmp, 1 for int3) */
	uint8_t orig[PATCH_MAX];
	int8_t map[PATCH_MAX];     /* original offset -> offset in the displaced copy (-1: none) */
	uint8_t *code;             /* the page: trampoline (jmp) then the displaced copy */
	uint8_t *tramp;            /* entry trampoline (jmp mode) */
	uint8_t *disp;             /* relocated displaced instructions + jmp back */
	struct plist *pl;          /* atomic */
	uint8_t need_xmm;          /* a program calls C code: save xmm0-15 */
	uint64_t misses;           /* hits skipped by the recursion guard */
	struct site *next;         /* atomic; the global list */
};

/* The hot path between a trampoline and the JIT code never touches vector registers
 * (so the trampoline may skip saving them for programs that call no helper). Under
 * AddressSanitizer the runtime's checks may: always save there. */
#define HOT __attribute__((target("general-regs-only")))
#if defined(__SANITIZE_ADDRESS__)
#define XMM_ALWAYS 1
#else
#define XMM_ALWAYS 0
#endif

/* uprobe.c */
HOT void uprobe_hit(struct site *s, struct upt_regs *regs, uint64_t xmm_saved);
HOT void run_probe(const struct probe *p, struct site *s, struct upt_regs *regs);
extern __thread int uprobe_busy;   /* a program of this thread is running */
int attach_lock(void);
/* Trampoline register save/restore (see uprobe.c): slot bytes kept above the saved
 * flags (the return trampoline's return address). */
void tramp_save(uint8_t **pp, int slot, const uint8_t *xmm_flag);
void tramp_restore(uint8_t **pp, int slot, const uint8_t *xmm_flag);
#define TRAMP_SAVED_OFF 432   /* frame offset of the pre-alignment rsp */
void attach_unlock(void);

/* patch.c: decode and relocate the instructions at addr until need bytes are covered. */
struct reloc {
	uint8_t len;               /* bytes of original instructions taken */
	uint8_t map[PATCH_MAX];    /* original offset -> new offset (0xff: not a boundary) */
	uint8_t code[128];         /* relocated copy (without the jmp back) */
	size_t size;
	int ends;                  /* the copy ends in ret/jmp: no jmp back needed */
};
int reloc_insns(uint64_t addr, size_t need, uint64_t func_end, uint64_t new_addr,
		struct reloc *r, char *why, size_t whylen);
/* Are the bytes (addr, addr+len) free of jump targets in [fstart, fend)? 1 yes, 0 no
 * (why says which), -1 the function could not be decoded. */
int no_jumps_into(uint64_t fstart, uint64_t fend, uint64_t addr, size_t len, char *why,
		  size_t whylen);
uint8_t *near_alloc(uint64_t addr, size_t size);
int text_write(uint64_t addr, const void *buf, size_t n);
void sync_cores(void);
int code_seal(uint8_t *page, size_t size);
int addr_executable(uint64_t addr, size_t len);

/* retprobe.c */
HOT void shadow_push(struct site *s, uint64_t sp);
uint64_t uretprobe_tramp(void);    /* address of the shared return trampoline (0: none) */

/* link.c */
struct skep_link *link_new(struct site *s, skep_prog *prog, int ret, uint64_t cookie,
			   const char *desc, const char *mode);
HOT void link_hit(struct skep_link *l);
int site_detach(struct skep_link *l);   /* The hot path between a trampoline and the JIT code never touches vector registers
 * (so the trampoline may skip saving them for programs that call no helper). Under
 * AddressSanitizer the runtime's checks may: always save there. */
#define HOT __attribute__((target("general-regs-only")))
#if defined(__SANITIZE_ADDRESS__)
#define XMM_ALWAYS 1
#else
#define XMM_ALWAYS 0
#endif

/* uprobe.c */
struct site *link_site(const struct skep_link *l);

#endif
