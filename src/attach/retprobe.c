/* Return probes: on entry the return address on the stack is replaced by the shared
 * return trampoline and (original address, where it was, site) pushed on a per-thread
 * shadow stack; the trampoline runs the site's return programs with pt_regs (ax = the
 * return value, ip = the original return address, sp = the caller's sp after the
 * return) and returns to the original address.
 *
 * Recursion nests naturally. longjmp (and siglongjmp) out of probed frames leaves
 * stale entries: an entry whose slot lies below the stack pointer of a new entry or a
 * return belongs to a frame that no longer exists and is dropped. A function that
 * tail-calls another probed one shares its slot: the entries chain through the
 * trampoline. Not handled, as for the kernel's uretprobes: C++ exceptions (and other
 * unwinders) that unwind through a probed frame see the trampoline as return address
 * and stop (std::terminate); a probed function that returns on another stack (makecontext
 * / swapcontext coroutines, sigaltstack handlers whose stack lies above the main one);
 * return probes on an address that is not a function's entry. Depth is limited to 64
 * frames per thread as the kernel's MAX_URETPROBE_DEPTH; deeper calls are not probed. */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "uprobe.h"

#define SHADOW_MAX 64

struct shadow_ent {
	uint64_t ret, slot;
	struct site *s;
};
static __thread struct {
	unsigned n;
	struct shadow_ent e[SHADOW_MAX];
} sh;

static uint64_t tramp_addr;

HOT void shadow_push(struct site *s, uint64_t sp)
{
	uint64_t *slot = (uint64_t *)sp;
	int chained = *slot == tramp_addr;
	while (sh.n && (sh.e[sh.n - 1].slot < sp || (sh.e[sh.n - 1].slot == sp && !chained)))
		sh.n--;
	if (sh.n == SHADOW_MAX)
		return;
	sh.e[sh.n++] = (struct shadow_ent){*slot, sp, s};
	*slot = tramp_addr;
}

static uint64_t uretprobe_ret(struct upt_regs *regs)
{
	uint64_t slot = regs->sp - 8;
	while (sh.n && sh.e[sh.n - 1].slot < slot)
		sh.n--;
	if (!sh.n || sh.e[sh.n - 1].slot != slot) {
		static const char msg[] = "skep: uretprobe: return address lost (stack switched?)\n";
		ssize_t w = write(2, msg, sizeof msg - 1);
		(void)w;
		abort();
	}
	struct shadow_ent e = sh.e[--sh.n];
	regs->ip = e.ret;
	if (!uprobe_busy) {
		uprobe_busy = 1;
		const struct plist *pl = __atomic_load_n(&e.s->pl, __ATOMIC_ACQUIRE);
		for (size_t i = 0; pl && i < pl->n; i++)
			if (pl->p[i].ret)
				run_probe(&pl->p[i], e.s, regs);
		uprobe_busy = 0;
	}
	return e.ret;
}

/* The trampoline a hijacked return lands on: rsp = the caller's sp after the return.
 * It keeps an 8-byte slot at rsp-8 for the original address and returns through it. */
uint64_t uretprobe_tramp(void)
{
	static int tried;
	if (tramp_addr || tried)
		return tramp_addr;
	tried = 1;
	uint8_t *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (page == MAP_FAILED)
		return 0;
	uint8_t *p = page;
	tramp_save(&p, 8, NULL);
	static const uint8_t call[] = {
		0x48, 0x89, 0xe7,               /* mov rdi,rsp */
		0x48, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0,  /* mov rax, uretprobe_ret */
		0xff, 0xd0,                     /* call rax */
	};
	memcpy(p, call, sizeof call);
	uint64_t fn = (uint64_t)uretprobe_ret;
	memcpy(p + 5, &fn, 8);
	p += sizeof call;
	/* mov rcx,[rsp+SAVED]; mov [rcx+16+RED_ZONE],rax: the slot above the saved flags */
	static const uint8_t put[] = {0x48, 0x8b, 0x8c, 0x24, 0, 0, 0, 0,
				      0x48, 0x89, 0x81, 0x90, 0, 0, 0};
	memcpy(p, put, sizeof put);
	int32_t off = TRAMP_SAVED_OFF;
	memcpy(p + 4, &off, 4);
	p += sizeof put;
	tramp_restore(&p, 8, NULL);
	*p++ = 0xc3;   /* ret */
	if (mprotect(page, 4096, PROT_READ | PROT_EXEC)) {
		munmap(page, 4096);
		return 0;
	}
	__atomic_store_n(&tramp_addr, (uint64_t)page, __ATOMIC_RELEASE);
	return tramp_addr;
}
