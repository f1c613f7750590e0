/* Uprobes in this process: sites, their trampolines, the breakpoint fallback, safe
 * patching, and the hot path that runs the programs.
 *
 * A site is hooked in one of two ways (skep_link_mode):
 *  - "jmp": the first instructions (>= 5 bytes) become `jmp rel32` to a per-site
 *    trampoline within +-1 GiB. The trampoline saves every general register, the flags
 *    and xmm0-15, builds a struct pt_regs, calls uprobe_hit, restores, runs the
 *    displaced instructions (relocated by patch.c) and jumps back.
 *  - "int3": a breakpoint; the SIGTRAP handler builds pt_regs from the ucontext, runs
 *    the programs and resumes at an out-of-line copy of the displaced instruction.
 *    Used when the jump cannot be placed: a function shorter than 5 bytes, a jump into
 *    the bytes the jump would cover, a call among them, an unknown function extent.
 *
 * Patching a jump while other threads run the code (attach):
 *  1. int3 on the first byte, sync cores: from now every hit traps and the SIGTRAP
 *     handler sends it to the trampoline (no hit is lost).
 *  2. rendezvous: every other thread that is running or runnable gets SKEP_SYNC_SIG;
 *     its handler moves a thread paused between the displaced instructions to the same
 *     point of the relocated copy. (Threads asleep in a syscall are not signalled, so
 *     their sleeps are not interrupted: a syscall among the displaced bytes makes the
 *     site use int3.) If a thread does not answer in a second, the site falls back to
 *     int3 mode, which needs no rendezvous.
 *  3. the 4 bytes of rel32, sync; 4. the jmp opcode over the int3, sync.
 * Detach does 1, 3 (the original tail), 4 (the original first byte) and keeps the site
 * and its trampoline page for good: a thread may still be in it, and a later attach of
 * the same address reuses it (so attach/detach loops do not grow memory).
 *
 * Not preserved across a program run: the upper halves of ymm/zmm registers when a
 * helper the program calls uses AVX (Skep's helpers are built without; glibc's string
 * functions they call may). At a function's entry only vector arguments live there.
 * SIGTRAP must not be blocked in threads that hit an int3 site (the kernel then kills
 * the process, as it would for a debugger's breakpoint). */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include <Zydis/Zydis.h>

#include "elf_symbols.h"
#include "skep/helpers.h"
#include "uprobe.h"

#define SKEP_SYNC_SIG (SIGRTMAX - 2)
#define CODE_PAGE 4096
#define RED_ZONE 128
#define XMM_OFF 176                  /* xmm0..15 after pt_regs in the trampoline frame */
#define SAVED_OFF (XMM_OFF + 256)    /* where the trampoline keeps its pre-alignment rsp */
#define XMM_SAVED_OFF (SAVED_OFF + 8)   /* 1: xmm0-15 saved in this frame */
#define FRAME (SAVED_OFF + 16)
_Static_assert(SAVED_OFF == TRAMP_SAVED_OFF, "frame layout");

__thread int uprobe_busy;
static __thread char err_buf[512];
static pthread_mutex_t attach_mu = PTHREAD_MUTEX_INITIALIZER;
static struct site *sites;             /* atomic head */
static struct plist *retired;          /* replaced program lists, kept reachable */

int attach_error(int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err_buf, sizeof err_buf, fmt, ap);
	va_end(ap);
	return -err;
}

const char *skep_attach_error(void) { return err_buf; }

int attach_lock(void) { return pthread_mutex_lock(&attach_mu); }
void attach_unlock(void) { pthread_mutex_unlock(&attach_mu); }

/* ---- the hot path */

HOT void run_probe(const struct probe *p, struct site *s, struct upt_regs *regs)
{
	skep_helper_set_func_ip(s->addr);
	skep_helper_set_attach_cookie(p->cookie);
	if (p->fn) {
		p->fn(regs, 0);
	} else {
		struct skep_run_args a = {.r = {(uint64_t)regs}};
		uint64_t r0;
		skep_prog_run(p->prog, &a, &r0);
	}
	link_hit(p->link);
}

/* xmm_saved: the trampoline saved xmm0-15 (the int3 path always has them saved). */
HOT void uprobe_hit(struct site *s, struct upt_regs *regs, uint64_t xmm_saved)
{
	const struct plist *pl = __atomic_load_n(&s->pl, __ATOMIC_ACQUIRE);
	/* busy: a helper of a program of this thread hit a probe. need_xmm without the
	 * save: the list changed between the trampoline's decision and now (attach race) */
	if (uprobe_busy || (pl && pl->need_xmm && !(xmm_saved & 0xff))) {
		__atomic_store_n(&s->misses, s->misses + 1, __ATOMIC_RELAXED);
		return;
	}
	uprobe_busy = 1;
	int want_ret = 0;
	for (size_t i = 0; pl && i < pl->n; i++) {
		if (pl->p[i].ret)
			want_ret = 1;
		else
			run_probe(&pl->p[i], s, regs);
	}
	if (want_ret)
		shadow_push(s, regs->sp);
	uprobe_busy = 0;
}

/* ---- trampoline code */

struct emit {
	uint8_t *p;
};
static void b(struct emit *e, int n, ...)
{
	va_list ap;
	va_start(ap, n);
	while (n--)
		*e->p++ = (uint8_t)va_arg(ap, int);
	va_end(ap);
}
static void d32(struct emit *e, int32_t v) { memcpy(e->p, &v, 4); e->p += 4; }
static void d64(struct emit *e, uint64_t v) { memcpy(e->p, &v, 8); e->p += 8; }

/* mov [rsp+off], reg (store) or mov reg, [rsp+off] (load); 0x89 / 0x8b */
static void rsp_mov(struct emit *e, int op, int reg, int32_t off)
{
	b(e, 5, 0x48 | (reg >= 8 ? 4 : 0), op, 0x84 | (reg & 7) << 3, 0x24, 0);
	e->p--;
	d32(e, off);
}
/* movups [rsp+off], xmm (0x11) or movups xmm, [rsp+off] (0x10) */
static void rsp_movups(struct emit *e, int op, int x, int32_t off)
{
	if (x >= 8)
		b(e, 1, 0x44);
	b(e, 4, 0x0f, op, 0x84 | (x & 7) << 3, 0x24);
	d32(e, off);
}
static void rsp_imm(struct emit *e, int32_t off, int32_t imm)   /* mov qword [rsp+off], imm */
{
	b(e, 4, 0x48, 0xc7, 0x84, 0x24);
	d32(e, off);
	d32(e, imm);
}

/* pt_regs offset of x86 register number r (rax=0 ... r15=15; rsp has none) */
static const int8_t preg_off[16] = {
	PT_OFF(ax), PT_OFF(cx), PT_OFF(dx), PT_OFF(bx), -1, PT_OFF(bp), PT_OFF(si), PT_OFF(di),
	PT_OFF(r8), PT_OFF(r9), PT_OFF(r10), PT_OFF(r11), PT_OFF(r12), PT_OFF(r13), PT_OFF(r14),
	PT_OFF(r15),
};

/* xmm0-15 saved or restored; when skip_if is set, only if *skip_if is non-zero (the
 * site's programs call helpers: C code that may use SSE; JIT code alone never does). */
static void xmm_all(struct emit *e, int op, const uint8_t *flag)
{
	uint8_t *jz = NULL;
	if (flag && op == 0x11) {   /* save: decide once, keep the decision in the frame */
		b(e, 2, 0x48, 0xb9);                      /* mov rcx, flag */
		d64(e, (uint64_t)flag);
		b(e, 3, 0x0f, 0xb6, 0x09);                /* movzx ecx, byte [rcx] */
		rsp_mov(e, 0x89, 1, XMM_SAVED_OFF);
	}
	if (flag) {
		b(e, 5, 0x80, 0xbc, 0x24, 0, 0);          /* cmp byte [rsp+XMM_SAVED_OFF],0 */
		e->p -= 2;
		d32(e, XMM_SAVED_OFF);
		b(e, 1, 0);
		b(e, 2, 0x0f, 0x84);                      /* je rel32 (past the moves) */
		jz = e->p;
		d32(e, 0);
	}
	for (int x = 0; x < 16; x++)
		rsp_movups(e, op, x, XMM_OFF + 16 * x);
	if (jz) {
		int32_t d = (int32_t)(e->p - (jz + 4));
		memcpy(jz, &d, 4);
	}
}

/* The register save: on entry rsp = the probed code's rsp. Skips the red zone, pushes
 * flags and rax (plus `slot` bytes above them first), aligns, stores pt_regs at rsp.
 * After it: rax = the pre-alignment rsp (rax, flags, slot above). */
void tramp_save(uint8_t **pp, int slot, const uint8_t *xmm_flag)
{
	struct emit e = {*pp};
	b(&e, 4, 0x48, 0x8d, 0xa4, 0x24);               /* lea rsp,[rsp-RED_ZONE-slot] */
	d32(&e, -(RED_ZONE + slot));
	b(&e, 2, 0x9c, 0x50);                           /* pushfq; push rax */
	b(&e, 3, 0x48, 0x89, 0xe0);                     /* mov rax,rsp */
	b(&e, 4, 0x48, 0x83, 0xe4, 0xf0);               /* and rsp,-16 */
	b(&e, 3, 0x48, 0x81, 0xec);                     /* sub rsp,FRAME */
	d32(&e, FRAME);
	rsp_mov(&e, 0x89, 0, SAVED_OFF);
	for (int r = 1; r < 16; r++)
		if (preg_off[r] >= 0)
			rsp_mov(&e, 0x89, r, preg_off[r]);
	b(&e, 3, 0x48, 0x8b, 0x08);                     /* mov rcx,[rax] */
	rsp_mov(&e, 0x89, 1, PT_OFF(ax));
	b(&e, 4, 0x48, 0x8b, 0x48, 0x08);               /* mov rcx,[rax+8] */
	rsp_mov(&e, 0x89, 1, PT_OFF(flags));
	b(&e, 3, 0x48, 0x8d, 0x88);                     /* lea rcx,[rax+16+slot+RED_ZONE] */
	d32(&e, 16 + slot + RED_ZONE);
	rsp_mov(&e, 0x89, 1, PT_OFF(sp));
	rsp_imm(&e, PT_OFF(orig_ax), -1);
	rsp_imm(&e, PT_OFF(cs), 0x33);
	rsp_imm(&e, PT_OFF(ss), 0x2b);
	xmm_all(&e, 0x11, xmm_flag);
	*pp = e.p;
}

/* Restores what tramp_save saved; rsp ends at the slot (or the probed rsp). The flags
 * come back through sahf (SF ZF AF PF CF) and an add that recreates OF: popfq costs
 * about 20 cycles; the other flags (DF, TF, AC) are never changed on the way. */
void tramp_restore(uint8_t **pp, int slot, const uint8_t *xmm_flag)
{
	struct emit e = {*pp};
	xmm_all(&e, 0x10, xmm_flag);
	for (int r = 1; r < 16; r++)
		if (preg_off[r] >= 0)
			rsp_mov(&e, 0x8b, r, preg_off[r]);
	rsp_mov(&e, 0x8b, 4, SAVED_OFF);                /* mov rsp,[rsp+SAVED_OFF] */
	b(&e, 4, 0x8a, 0x44, 0x24, 0x09);               /* mov al,[rsp+9]: flags 8..15 */
	b(&e, 3, 0xc0, 0xe8, 0x03);                     /* shr al,3 */
	b(&e, 2, 0x24, 0x01);                           /* and al,1: OF */
	b(&e, 2, 0x04, 0x7f);                           /* add al,0x7f: sets OF iff al was 1 */
	b(&e, 4, 0x8a, 0x64, 0x24, 0x08);               /* mov ah,[rsp+8]: flags 0..7 */
	b(&e, 1, 0x9e);                                 /* sahf */
	b(&e, 1, 0x58);                                 /* pop rax */
	b(&e, 4, 0x48, 0x8d, 0xa4, 0x24);               /* lea rsp,[rsp+8+RED_ZONE] */
	d32(&e, 8 + RED_ZONE);
	(void)slot;
	*pp = e.p;
}

static uint8_t *emit_entry_tramp(uint8_t *p, struct site *s)
{
	struct emit e;
	tramp_save(&p, 0, &s->need_xmm);
	e.p = p;
	b(&e, 2, 0x48, 0xb9);                           /* mov rcx, addr */
	d64(&e, s->addr);
	rsp_mov(&e, 0x89, 1, PT_OFF(ip));
	b(&e, 2, 0x48, 0xbf);                           /* mov rdi, site */
	d64(&e, (uint64_t)s);
	b(&e, 3, 0x48, 0x89, 0xe6);                     /* mov rsi,rsp */
	rsp_mov(&e, 0x8b, 2, XMM_SAVED_OFF);            /* mov rdx,[rsp+XMM_SAVED_OFF] */
	b(&e, 2, 0x48, 0xb8);                           /* mov rax, uprobe_hit */
	d64(&e, (uint64_t)uprobe_hit);
	b(&e, 2, 0xff, 0xd0);                           /* call rax */
	p = e.p;
	tramp_restore(&p, 0, &s->need_xmm);
	return p;
}

static void emit_jmp(uint8_t *p, uint64_t from, uint64_t to)
{
	p[0] = 0xe9;
	int32_t d = (int32_t)(to - (from + 5));
	memcpy(p + 1, &d, 4);
}

/* ---- signal handlers */

static struct sigaction old_trap;
static struct site *volatile syncing;  /* the site whose rendezvous runs */
static int sync_acks;

static struct site *site_find(uint64_t addr)
{
	for (struct site *s = __atomic_load_n(&sites, __ATOMIC_ACQUIRE); s;
	     s = __atomic_load_n(&s->next, __ATOMIC_ACQUIRE))
		if (s->addr == addr)
			return s;
	return NULL;
}

static void regs_from_uc(struct upt_regs *r, const greg_t *g)
{
	*r = (struct upt_regs){
		.r15 = g[REG_R15], .r14 = g[REG_R14], .r13 = g[REG_R13], .r12 = g[REG_R12],
		.bp = g[REG_RBP], .bx = g[REG_RBX], .r11 = g[REG_R11], .r10 = g[REG_R10],
		.r9 = g[REG_R9], .r8 = g[REG_R8], .ax = g[REG_RAX], .cx = g[REG_RCX],
		.dx = g[REG_RDX], .si = g[REG_RSI], .di = g[REG_RDI], .orig_ax = (uint64_t)-1,
		.ip = g[REG_RIP], .cs = 0x33, .flags = g[REG_EFL], .sp = g[REG_RSP], .ss = 0x2b,
	};
}

static void trap_handler(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;
	greg_t *g = uc->uc_mcontext.gregs;
	struct site *s = si->si_code == SI_KERNEL ? site_find((uint64_t)g[REG_RIP] - 1) : NULL;
	if (!s) {   /* not ours: as the previous disposition would have it */
		if (old_trap.sa_flags & SA_SIGINFO && old_trap.sa_sigaction)
			old_trap.sa_sigaction(sig, si, ucv);
		else if (old_trap.sa_handler != SIG_DFL && old_trap.sa_handler != SIG_IGN)
			old_trap.sa_handler(sig);
		else {
			signal(SIGTRAP, SIG_DFL);
			raise(SIGTRAP);
		}
		return;
	}
	if (s->mode == MODE_JMP) {  /* being patched or unpatched: the trampoline runs it */
		g[REG_RIP] = (greg_t)s->tramp;
		return;
	}
	struct upt_regs r;
	regs_from_uc(&r, g);
	r.ip = s->addr;
	uprobe_hit(s, &r, 1);
	g[REG_RIP] = (greg_t)s->disp;
}

static void sync_handler(int sig, siginfo_t *si, void *ucv)
{
	greg_t *g = ((ucontext_t *)ucv)->uc_mcontext.gregs;
	struct site *s = syncing;
	uint64_t ip = (uint64_t)g[REG_RIP];
	if (s && ip > s->addr && ip < s->addr + s->len && s->map[ip - s->addr] >= 0)
		g[REG_RIP] = (greg_t)(s->disp + s->map[ip - s->addr]);
	__atomic_fetch_add(&sync_acks, 1, __ATOMIC_RELEASE);
	(void)sig, (void)si;
}

static int handlers_init(void)
{
	static int done;
	if (done)
		return 0;
	struct sigaction sa = {0};
	sa.sa_sigaction = trap_handler;
	sa.sa_flags = SA_SIGINFO | SA_RESTART | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTRAP, &sa, &old_trap))
		return attach_error(errno, "sigaction(SIGTRAP): %s", strerror(errno));
	sa.sa_sigaction = sync_handler;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	if (sigaction(SKEP_SYNC_SIG, &sa, NULL))
		return attach_error(errno, "sigaction(SIGRTMAX-2): %s", strerror(errno));
	done = 1;
	return 0;
}

/* Step 2 of patching: make sure no other thread is paused between the displaced
 * instructions (see the top comment). 0, or -1 when a thread did not answer. */
static int rendezvous(struct site *s)
{
	pid_t me = (pid_t)syscall(SYS_gettid), pid = getpid();
	DIR *d = opendir("/proc/self/task");
	if (!d)
		return -1;
	int sent = 0;
	__atomic_store_n(&sync_acks, 0, __ATOMIC_RELAXED);
	syncing = s;
	struct dirent *de;
	while ((de = readdir(d))) {
		pid_t tid = atoi(de->d_name);
		if (tid <= 0 || tid == me)
			continue;
		char path[64], buf[512];
		snprintf(path, sizeof path, "/proc/self/task/%d/stat", tid);
		FILE *f = fopen(path, "re");
		if (!f)
			continue;
		size_t n = fread(buf, 1, sizeof buf - 1, f);
		fclose(f);
		buf[n] = 0;
		char *c = strrchr(buf, ')');
		if (!c || (c[2] != 'R' && c[2] != 'D'))
			continue;    /* asleep in a syscall, stopped or gone: not in the bytes */
		if (!syscall(SYS_tgkill, pid, tid, SKEP_SYNC_SIG))
			sent++;
	}
	closedir(d);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int rc = 0;
	while (__atomic_load_n(&sync_acks, __ATOMIC_ACQUIRE) < sent) {
		sched_yield();
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (t1.tv_sec - t0.tv_sec >= 2) {
			rc = -1;
			break;
		}
	}
	syncing = NULL;
	return rc;
}

/* ---- sites */

static int site_arm(struct site *s)
{
	static const uint8_t cc = 0xcc;
	int rc = text_write(s->addr, &cc, 1);
	if (rc)
		return rc;
	sync_cores();
	if (s->mode == MODE_INT3)
		return 0;
	if (rendezvous(s)) {   /* a thread did not answer: keep the breakpoint */
		s->mode = MODE_INT3;
		return 0;
	}
	uint8_t j[5];
	emit_jmp(j, s->addr, (uint64_t)s->tramp);
	if ((rc = text_write(s->addr + 1, j + 1, 4)))
		return rc;
	sync_cores();
	rc = text_write(s->addr, j, 1);
	sync_cores();
	return rc;
}

static int site_disarm(struct site *s)
{
	static const uint8_t cc = 0xcc;
	int rc = 0;
	if (s->mode == MODE_JMP) {
		rc = text_write(s->addr, &cc, 1);
		sync_cores();
		rc = rc ? rc : text_write(s->addr + 1, s->orig + 1, 4);
		sync_cores();
	}
	rc = rc ? rc : text_write(s->addr, s->orig, 1);
	sync_cores();
	return rc;
}

static int has_syscall(const struct reloc *r, uint64_t addr)
{
	const uint8_t *p = (const uint8_t *)addr;
	for (size_t i = 0; i + 1 < r->len; i++)
		if (r->map[i] != 0xff && p[i] == 0x0f && (p[i + 1] == 0x05 || p[i + 1] == 0x34))
			return 1;
	return 0;
}

/* A new site for addr: decide the mode, build the trampoline page. */
static int site_new(uint64_t addr, uint64_t fstart, uint64_t fsize, struct site **out)
{
	char why[200] = "", why2[200] = "";
	uint8_t *page = near_alloc(addr, CODE_PAGE);
	if (!page)
		return attach_error(ENOMEM, "no memory within 1 GiB of 0x%lx for a trampoline",
				    (unsigned long)addr);
	struct site *s = calloc(1, sizeof *s);
	if (!s) {
		munmap(page, CODE_PAGE);
		return attach_error(ENOMEM, "out of memory");
	}
	s->addr = addr;
	s->code = page;
	memset(s->map, -1, sizeof s->map);
	uint64_t fend = fsize ? fstart + fsize : 0;
	if (fend && (addr < fstart || addr >= fend))
		fend = 0;
	/* jmp mode: trampoline, then the displaced copy, then the jmp back */
	uint8_t *p = page;
	s->tramp = p;
	p = emit_entry_tramp(p, s);
	s->disp = p;
	struct reloc r;
	int ok = reloc_insns(addr, 5, fend, (uint64_t)p, &r, why, sizeof why) == 0;
	if (ok && r.len > 5 && !fend) {
		snprintf(why, sizeof why, "the function's extent is unknown and the first instruction "
			 "is shorter than the 5-byte jump");
		ok = 0;
	}
	if (ok && fend && r.len > 1 && no_jumps_into(fstart, fend, addr, r.len, why2, sizeof why2) != 1) {
		snprintf(why, sizeof why, "%s", why2);
		ok = 0;
	}
	if (ok && has_syscall(&r, addr)) {
		snprintf(why, sizeof why, "a syscall among the displaced instructions");
		ok = 0;
	}
	if (ok) {
		s->mode = MODE_JMP;
	} else {
		/* int3 mode: the displaced copy is the first instruction alone */
		s->mode = MODE_INT3;
		s->tramp = NULL;
		s->disp = page;
		if (reloc_insns(addr, 1, fend, (uint64_t)page, &r, why2, sizeof why2)) {
			munmap(page, CODE_PAGE);
			free(s);
			return attach_error(EINVAL, "cannot probe 0x%lx: %s; breakpoint fallback: %s",
					    (unsigned long)addr, why, why2);
		}
	}
	memcpy(s->disp, r.code, r.size);
	if (!r.ends)
		emit_jmp(s->disp + r.size, (uint64_t)s->disp + r.size, addr + r.len);
	s->len = r.len;
	memcpy(s->orig, (const void *)addr, r.len);
	for (int i = 0; i < PATCH_MAX; i++)
		s->map[i] = r.map[i] == 0xff ? -1 : (int8_t)r.map[i];
	int rc = code_seal(page, CODE_PAGE);
	if (rc) {
		munmap(page, CODE_PAGE);
		free(s);
		return attach_error(-rc, "mprotect of a trampoline: %s", strerror(-rc));
	}
	s->next = sites;
	__atomic_store_n(&sites, s, __ATOMIC_RELEASE);
	*out = s;
	return 0;
}

/* Does a run of this probe's program reach C code (helpers, the interpreter)? Such
 * code may use SSE registers, so the trampoline saves xmm0-15 around it. */
static int prog_needs_xmm(const struct probe *p)
{
	size_t n;
	const struct skep_insn *in = skep_prog_insns(p->prog, &n);
	if (p->ret)   /* runs from the return trampoline, which always saves them */
		return 0;
	if (!p->fn || XMM_ALWAYS)
		return 1;
	for (size_t i = 0; i < n; i++)
		if (in[i].code == 0x85)   /* BPF_JMP | BPF_CALL */
			return 1;
	return 0;
}

/* Replace a site's program list by its programs with p added (or l removed). */
static int plist_set(struct site *s, const struct probe *add, const struct skep_link *del)
{
	struct plist *old = s->pl;
	size_t n = old ? old->n : 0;
	struct plist *pl = malloc(sizeof *pl + (n + 1) * sizeof pl->p[0]);
	if (!pl)
		return -ENOMEM;
	pl->n = 0;
	pl->retired = NULL;
	for (size_t i = 0; i < n; i++)
		if (old->p[i].link != del)
			pl->p[pl->n++] = old->p[i];
	if (add)
		pl->p[pl->n++] = *add;
	uint8_t need = 0;
	for (size_t i = 0; i < pl->n; i++)
		need |= prog_needs_xmm(&pl->p[i]);
	pl->need_xmm = need;
	if (need)   /* raised before the new list is visible, lowered after */
		__atomic_store_n(&s->need_xmm, 1, __ATOMIC_RELEASE);
	__atomic_store_n(&s->pl, pl, __ATOMIC_RELEASE);
	if (!need)
		__atomic_store_n(&s->need_xmm, 0, __ATOMIC_RELEASE);
	if (old) {   /* a thread may still be reading it: kept, reachable */
		old->retired = retired;
		retired = old;
	}
	return 0;
}

int uprobe_attach_at(skep_prog *prog, uint64_t addr, uint64_t func_start, uint64_t func_size,
		     int retprobe, uint64_t cookie, const char *desc, skep_link **link)
{
	*link = NULL;
	if (!prog || !addr)
		return attach_error(EINVAL, "%s: no program or no address", desc ? desc : "uprobe");
	if (!desc)
		desc = "uprobe";
	if (!addr_executable(addr, 1))
		return attach_error(EINVAL, "%s: 0x%lx is not in executable code of this process", desc,
				    (unsigned long)addr);
	if (retprobe && func_size && addr != func_start)
		return attach_error(EINVAL, "%s: a return probe must be on the function's entry "
				    "(0x%lx is +%lu into it)", desc, (unsigned long)addr,
				    (unsigned long)(addr - func_start));
	if (retprobe && !uretprobe_tramp())
		return attach_error(ENOMEM, "%s: no memory for the return trampoline", desc);
	struct probe pr = {.fn = skep_prog_func(prog), .prog = prog, .cookie = cookie,
			   .ret = !!retprobe};
	attach_lock();
	int rc = handlers_init();
	struct site *s = site_find(addr);
	if (!rc && !s)
		rc = site_new(addr, func_start, func_size, &s);
	if (rc) {
		attach_unlock();
		return rc;
	}
	pr.link = link_new(s, prog, pr.ret, cookie, desc,
			   s->mode == MODE_JMP ? "jmp" : "int3");
	if (!pr.link || plist_set(s, &pr, NULL)) {
		free(pr.link);
		attach_unlock();
		return attach_error(ENOMEM, "out of memory");
	}
	if (!s->armed) {
		rc = site_arm(s);
		if (rc) {
			plist_set(s, NULL, pr.link);
			attach_unlock();
			free(pr.link);
			return attach_error(-rc, "%s: cannot write the code at 0x%lx: %s", desc,
					    (unsigned long)addr, strerror(-rc));
		}
		s->armed = 1;
	}
	attach_unlock();
	*link = pr.link;
	return 0;
}

/* Called by skep_link_destroy for a single link. */
int site_detach(struct skep_link *l)
{
	struct site *s = link_site(l);
	attach_lock();
	plist_set(s, NULL, l);
	int rc = 0;
	if (!s->pl->n && s->armed) {
		rc = site_disarm(s);
		s->armed = 0;
	}
	attach_unlock();
	return rc ? attach_error(-rc, "cannot restore the code at 0x%lx: %s",
				 (unsigned long)s->addr, strerror(-rc)) : 0;
}

/* ---- by binary and symbol */

int skep_attach_uprobe(skep_prog *prog, const char *binary_path, const char *symbol_or_offset,
		       int retprobe, uint64_t cookie, skep_link **link)
{
	char path[4096], err[512], desc[4600];
	uint64_t base, off, fsize, addr;
	*link = NULL;
	const char *bin = binary_path ? binary_path : "the main executable";
	if (!symbol_or_offset || !*symbol_or_offset)
		return attach_error(EINVAL, "%s: no symbol or offset", bin);
	if (proc_map_offset(binary_path, 0, &base, path, sizeof path, err, sizeof err))
		return attach_error(ENOENT, "%s", err);
	if (elf_resolve(path, symbol_or_offset, &off, &fsize, err, sizeof err))
		return attach_error(ENOENT, "%s", err);
	if (proc_map_offset(binary_path, off, &addr, path, sizeof path, err, sizeof err))
		return attach_error(ENOENT, "%s:%s: %s", path, symbol_or_offset, err);
	/* the enclosing function, for the jump-target check */
	uint64_t fstart = 0, flen = 0;
	struct elfsym *syms;
	size_t n;
	if (!elf_func_symbols(path, &syms, &n, err, sizeof err)) {
		for (size_t i = 0; i < n; i++)
			if (syms[i].size && off >= syms[i].offset && off < syms[i].offset + syms[i].size &&
			    (!flen || syms[i].size < flen)) {
				fstart = addr - (off - syms[i].offset);
				flen = syms[i].size;
			}
		elfsym_free(syms, n);
	}
	snprintf(desc, sizeof desc, "%s:%s:%s", retprobe ? "uretprobe" : "uprobe", path,
		 symbol_or_offset);
	int rc = uprobe_attach_at(prog, addr, fstart, flen, retprobe, cookie, desc, link);
	if (rc && !strstr(err_buf, path)) {
		char tmp[512];
		snprintf(tmp, sizeof tmp, "%s", err_buf);
		attach_error(-rc, "%s: %s", desc, tmp);
	}
	return rc;
}
