/* In-process uprobes and uretprobes (src/attach): victim functions with different first
 * instructions (written in assembly so the bytes are known), entry arguments through
 * pt_regs, return values, recursion, longjmp, cookie and func_ip, exact byte
 * restoration, the breakpoint fallback, threads calling while attaching/detaching,
 * programs of a clang-built object attached by section name, and refusals. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "check.h"
#include "insn_macros.h"
#include "skep/attach.h"
#include "skep/helpers.h"
#include "skep/map.h"
#include "skep/object.h"
#include "skep/prog.h"
#include "attach/attach_internal.h"

/* ---- victims */
__asm__(
	".text\n"
	".p2align 4\n.globl v_push\n.type v_push,@function\n"
	"v_push: push %rbp\n mov %rsp,%rbp\n lea (%rdi,%rsi),%rax\n pop %rbp\n ret\n"
	".size v_push,.-v_push\n"
	".p2align 4\n.globl v_endbr\n.type v_endbr,@function\n"
	"v_endbr: endbr64\n lea (%rdi,%rsi),%rax\n ret\n"
	".size v_endbr,.-v_endbr\n"
	".p2align 4\n.globl v_lea\n.type v_lea,@function\n"
	"v_lea: lea v_data(%rip),%rax\n mov (%rax),%rax\n add %rdi,%rax\n add %rsi,%rax\n ret\n"
	".size v_lea,.-v_lea\n"
	".p2align 4\n.globl v_nop5\n.type v_nop5,@function\n"
	"v_nop5: nopl 0x0(%rax,%rax,1)\n lea (%rdi,%rsi),%rax\n ret\n"
	".size v_nop5,.-v_nop5\n"
	".p2align 4\n.globl v_tiny\n.type v_tiny,@function\n"
	"v_tiny: lea (%rdi,%rsi),%eax\n ret\n"
	".size v_tiny,.-v_tiny\n"
	".p2align 4\n.globl v_loop\n.type v_loop,@function\n"       /* rdi * rsi, rsi >= 1 */
	"v_loop: xor %eax,%eax\n 1: add %rdi,%rax\n dec %rsi\n jnz 1b\n ret\n"
	".size v_loop,.-v_loop\n"
	".p2align 4\n.globl v_six\n.type v_six,@function\n"
	"v_six: lea (%rdi,%rsi),%rax\n add %rdx,%rax\n add %rcx,%rax\n add %r8,%rax\n add %r9,%rax\n ret\n"
	".size v_six,.-v_six\n"
	".p2align 4\n.globl v_fact\n.type v_fact,@function\n"
	"v_fact: push %rbx\n mov %rdi,%rbx\n cmp $1,%rdi\n jbe 1f\n lea -1(%rdi),%rdi\n call v_fact\n"
	" imul %rbx,%rax\n pop %rbx\n ret\n 1: mov $1,%eax\n pop %rbx\n ret\n"
	".size v_fact,.-v_fact\n"
	".p2align 4\n.globl v_seven\n.type v_seven,@function\n"
	"v_seven: mov $7,%eax\n ret\n"
	".size v_seven,.-v_seven\n"
	".p2align 4\n.globl v_call\n.type v_call,@function\n"      /* 7 + rdi */
	"v_call: call v_seven\n add %rdi,%rax\n ret\n"
	".size v_call,.-v_call\n"
	".p2align 4\n.globl v_jcc\n.type v_jcc,@function\n"       /* rdi ? rdi + 1 : -1 */
	"v_jcc: test %rdi,%rdi\n je 1f\n lea 1(%rdi),%rax\n ret\n 1: mov $-1,%rax\n ret\n"
	".size v_jcc,.-v_jcc\n"
	".p2align 4\n.globl v_fadd\n.type v_fadd,@function\n"     /* a + b in xmm0 */
	"v_fadd: nopl 0x0(%rax,%rax,1)\n addsd %xmm1,%xmm0\n ret\n"
	".size v_fadd,.-v_fadd\n"
	".data\n.p2align 3\nv_data: .quad 1000\n.text\n");
double v_fadd(double, double);

typedef long (*vfn)(long, long, long, long, long, long);
long v_push(long, long), v_endbr(long, long), v_lea(long, long), v_nop5(long, long),
	v_tiny(long, long), v_loop(long, long), v_six(long, long, long, long, long, long),
	v_fact(long), v_call(long), v_jcc(long);

/* called through volatile pointers so the compiler cannot fold the calls */
static long call2(long (*volatile f)(long, long), long a, long b) { return f(a, b); }

/* ---- programs: an embedder helper records what the program saw */
#define H_REC 0x1000
struct rec {
	uint64_t regs[21];
	uint64_t ip, cookie;
};
static struct rec last;
static uint64_t nrec;
static uint64_t rets[64];
static unsigned nrets;

static int reenter;
static long reenter_result;
static uint64_t h_rec(uint64_t ctx, uint64_t ip, uint64_t cookie, uint64_t r4, uint64_t r5)
{
	if (reenter) {   /* a helper calling a probed function: its probe must not run */
		long (*volatile f)(long) = v_jcc;
		reenter_result = f(10);
	}
	/* C code may use vector registers: clobber the argument ones on purpose */
	__asm__ volatile("xorpd %%xmm0,%%xmm0\n xorpd %%xmm1,%%xmm1" ::: "xmm0", "xmm1");
	memcpy(last.regs, (void *)ctx, sizeof last.regs);
	last.ip = ip;
	last.cookie = cookie;
	if (nrets < 64)
		rets[nrets] = last.regs[10];   /* ax */
	nrets++;
	__atomic_fetch_add(&nrec, 1, __ATOMIC_RELAXED);
	return 0;
}

enum { R0, R1, R2, R3, R4, R5, R6, R7 };
static skep_prog *prog_rec(void)
{
	static const struct skep_insn in[] = {
		BPF_MOV64_REG(R6, R1),
		BPF_CALL_HELPER(173),   /* bpf_get_func_ip(ctx) */
		BPF_MOV64_REG(R7, R0),
		BPF_MOV64_REG(R1, R6),
		BPF_CALL_HELPER(174),   /* bpf_get_attach_cookie(ctx) */
		BPF_MOV64_REG(R3, R0),
		BPF_MOV64_REG(R1, R6),
		BPF_MOV64_REG(R2, R7),
		BPF_CALL_HELPER(H_REC),
		BPF_MOV64_IMM(R0, 0),
		BPF_EXIT_INSN(),
	};
	skep_prog *p = skep_prog_new();
	skep_prog_set_engine(p, SKEP_ENGINE_JIT);
	if (skep_prog_load(p, in, sizeof in / sizeof in[0])) {
		printf("load: %s\n", skep_prog_error(p));
		exit(1);
	}
	return p;
}

static int reset(void)
{
	memset(&last, 0, sizeof last);
	nrets = 0;
	__atomic_store_n(&nrec, 0, __ATOMIC_RELAXED);
	return 0;
}

/* ---- entry probes on each kind of first instruction */
static const struct victim {
	const char *name;
	long (*f)(long, long);
	long expect;           /* f(3, 4) */
	const char *mode;
} victims[] = {
	{"v_push", v_push, 7, "jmp"},
	{"v_endbr", v_endbr, 7, "jmp"},
	{"v_lea", v_lea, 1007, "jmp"},
	{"v_nop5", v_nop5, 7, "jmp"},
	{"v_tiny", v_tiny, 7, "int3"},      /* 4 bytes: shorter than the jump */
	{"v_loop", v_loop, 12, "int3"},     /* its loop jumps back into the first 5 bytes */
};

static void test_entry(skep_prog *p)
{
	for (size_t i = 0; i < sizeof victims / sizeof victims[0]; i++) {
		const struct victim *v = &victims[i];
		uint8_t before[16], during[16], after[16];
		char name[128];
		memcpy(before, (void *)v->f, 16);
		skep_link *l;
		int rc = skep_attach_uprobe(p, NULL, v->name, 0, 0x1234 + i, &l);
		snprintf(name, sizeof name, "%s: attach", v->name);
		CHECK(rc == 0, name, "%d %s", rc, skep_attach_error());
		if (rc)
			continue;
		snprintf(name, sizeof name, "%s: mode %s", v->name, v->mode);
		CHECK(!strcmp(skep_link_mode(l), v->mode), name, "got %s", skep_link_mode(l));
		memcpy(during, (void *)v->f, 16);
		snprintf(name, sizeof name, "%s: first byte patched", v->name);
		CHECK(during[0] == (strcmp(v->mode, "jmp") ? 0xcc : 0xe9), name, "0x%02x", during[0]);
		snprintf(name, sizeof name, "%s: address", v->name);
		CHECK(skep_link_addr(l) == (uint64_t)v->f, name, "%lx vs %p",
		      (unsigned long)skep_link_addr(l), (void *)v->f);
		reset();
		long r = call2(v->f, 3, 4);
		snprintf(name, sizeof name, "%s: result unchanged", v->name);
		CHECK(r == v->expect, name, "%ld, expected %ld", r, v->expect);
		snprintf(name, sizeof name, "%s: program ran once with args, ip, cookie", v->name);
		CHECK(nrec == 1 && last.regs[14] == 3 && last.regs[13] == 4 &&
		      last.regs[16] == (uint64_t)v->f && last.ip == (uint64_t)v->f &&
		      last.cookie == 0x1234 + i, name,
		      "n=%lu di=%lu si=%lu ip=%lx func_ip=%lx cookie=%lx", (unsigned long)nrec,
		      (unsigned long)last.regs[14], (unsigned long)last.regs[13],
		      (unsigned long)last.regs[16], (unsigned long)last.ip, (unsigned long)last.cookie);
		/* sp: the caller's sp at entry, pointing at the return address */
		snprintf(name, sizeof name, "%s: pt_regs sp/cs/ss", v->name);
		CHECK((last.regs[19] & 15) == 8 && last.regs[17] == 0x33 && last.regs[20] == 0x2b, name,
		      "sp=%lx", (unsigned long)last.regs[19]);
		for (int k = 0; k < 1000; k++)
			call2(v->f, k, 1);
		snprintf(name, sizeof name, "%s: 1000 more hits", v->name);
		CHECK(nrec == 1001 && skep_link_hits(l) == 1001, name, "%lu %lu", (unsigned long)nrec,
		      (unsigned long)skep_link_hits(l));
		rc = skep_link_destroy(l);
		memcpy(after, (void *)v->f, 16);
		snprintf(name, sizeof name, "%s: detach restores the bytes", v->name);
		CHECK(rc == 0 && !memcmp(before, after, 16), name, "rc %d", rc);
		reset();
		r = call2(v->f, 3, 4);
		snprintf(name, sizeof name, "%s: no hit after detach", v->name);
		CHECK(nrec == 0 && r == v->expect, name, "%lu", (unsigned long)nrec);
	}
}

static void test_args_ret(skep_prog *p)
{
	skep_link *l, *l2;
	int rc = skep_attach_uprobe(p, NULL, "v_six", 0, 0, &l);
	reset();
	vfn six = (vfn)(void *)v_six;
	long r = rc ? 0 : ((vfn volatile)six)(1, 2, 3, 4, 5, 6);
	CHECK(rc == 0 && r == 21 && last.regs[14] == 1 && last.regs[13] == 2 && last.regs[12] == 3 &&
	      last.regs[11] == 4 && last.regs[9] == 5 && last.regs[8] == 6,
	      "PT_REGS_PARM1..6 (di si dx cx r8 r9)", "rc %d %s", rc, skep_attach_error());
	/* return probe on the same site, after the entry probe */
	int rc2 = skep_attach_uprobe(p, NULL, "v_six", 1, 77, &l2);
	reset();
	r = ((vfn volatile)six)(1, 2, 3, 4, 5, 100);
	CHECK(rc2 == 0 && r == 115 && nrec == 2 && rets[1] == 115 && last.cookie == 77 &&
	      last.ip == (uint64_t)v_six, "entry + return probe on one site: rax = return value",
	      "rc %d n=%lu ret=%lu %s", rc2, (unsigned long)nrec, (unsigned long)rets[1],
	      skep_attach_error());
	skep_link_destroy(l);
	reset();
	r = ((vfn volatile)six)(1, 1, 1, 1, 1, 1);
	CHECK(nrec == 1 && rets[0] == 6 && r == 6, "return probe alone after the entry link goes",
	      "n=%lu", (unsigned long)nrec);
	skep_link_destroy(l2);
	reset();
	((vfn volatile)six)(1, 1, 1, 1, 1, 1);
	CHECK(nrec == 0, "no hit after both detach", "n=%lu", (unsigned long)nrec);

	/* recursion: v_fact(5) returns 1, 2, 6, 24, 120 innermost first */
	rc = skep_attach_uprobe(p, NULL, "v_fact", 1, 0, &l);
	reset();
	long (*volatile fact)(long) = v_fact;
	r = rc ? 0 : fact(5);
	CHECK(rc == 0 && r == 120 && nrets == 5 && rets[0] == 1 && rets[1] == 2 && rets[2] == 6 &&
	      rets[3] == 24 && rets[4] == 120, "uretprobe under recursion",
	      "rc %d r=%ld n=%u %lu %lu %lu", rc, r, nrets, (unsigned long)rets[0],
	      (unsigned long)rets[1], (unsigned long)rets[4]);
	/* deeper than the shadow stack (64): the outer frames are not probed, none lost */
	reset();
	r = fact(20);
	CHECK(r == 2432902008176640000L && nrets == 20, "uretprobe recursion 20 deep", "n=%u", nrets);
	skep_link_destroy(l);

	/* first instruction a call, and a conditional jump in the displaced bytes */
	rc = skep_attach_uprobe(p, NULL, "v_call", 0, 0, &l);
	rc2 = skep_attach_uprobe(p, NULL, "v_call", 1, 0, &l2);
	reset();
	long (*volatile vc)(long) = v_call;
	r = vc(5);
	CHECK(rc == 0 && rc2 == 0 && r == 12 && nrec == 2 && rets[1] == 12 &&
	      !strcmp(skep_link_mode(l), "jmp"), "call as first instruction (relocated)",
	      "rc %d %d r=%ld n=%lu %s", rc, rc2, r, (unsigned long)nrec, skep_attach_error());
	skep_link_destroy(l);
	skep_link_destroy(l2);
	rc = skep_attach_uprobe(p, NULL, "v_jcc", 0, 0, &l);
	reset();
	long (*volatile vj)(long) = v_jcc;
	long a = vj(0), b2 = vj(41);
	CHECK(rc == 0 && a == -1 && b2 == 42 && nrec == 2 && !strcmp(skep_link_mode(l), "jmp"),
	      "conditional jump in the displaced bytes", "rc %d %ld %ld n=%lu", rc, a, b2,
	      (unsigned long)nrec);
	skep_link_destroy(l);
}

/* ---- recursion guard and vector registers */
static void test_guard_xmm(skep_prog *p)
{
	skep_link *l;
	int rc = skep_attach_uprobe(p, NULL, "v_jcc", 0, 0, &l);
	reset();
	reenter = 1;
	long (*volatile vj)(long) = v_jcc;
	long r = vj(5);
	reenter = 0;
	CHECK(rc == 0 && r == 6 && reenter_result == 11 && nrec == 1,
	      "a probed function called from inside a program runs, its probe is skipped",
	      "rc %d r=%ld inner=%ld n=%lu", rc, r, reenter_result, (unsigned long)nrec);
	skep_link_destroy(l);

	/* xmm0/xmm1 arguments survive a program that calls helpers (saved) and the empty one */
	static const struct skep_insn empty[] = {BPF_MOV64_IMM(R0, 0), BPF_EXIT_INSN()};
	skep_prog *e = skep_prog_new();
	skep_prog_set_engine(e, SKEP_ENGINE_JIT);
	skep_prog_load(e, empty, 2);
	skep_prog *progs[2] = {p, e};
	for (int k = 0; k < 2; k++) {
		rc = skep_attach_uprobe(progs[k], NULL, "v_fadd", 0, 0, &l);
		double (*volatile fa)(double, double) = v_fadd;
		reset();
		double d = fa(1.25, 2.5);
		int hits = (int)skep_link_hits(l);
		skep_link_destroy(l);
		CHECK(rc == 0 && d == 3.75 && hits == 1,
		      k ? "xmm arguments intact, empty program" : "xmm arguments intact, helper-calling program",
		      "rc %d %g hits %d %s", rc, d, hits, skep_attach_error());
	}
	skep_prog_free(e);
}

/* ---- longjmp out of a probed function */
static jmp_buf jb;
__attribute__((noinline)) static void jumper(long x)
{
	if (x)
		longjmp(jb, 1);
}
__attribute__((noinline)) long lj_victim(long x);
__attribute__((noinline)) long lj_victim(long x)
{
	void (*volatile j)(long) = jumper;
	j(x);
	__asm__ volatile("" ::: "memory");
	return x + 100;
}

static void test_longjmp(skep_prog *p)
{
	skep_link *l;
	int rc = skep_attach_uprobe(p, NULL, "lj_victim", 1, 0, &l);
	CHECK(rc == 0, "attach uretprobe to a C function", "%s", skep_attach_error());
	if (rc)
		return;
	long (*volatile f)(long) = lj_victim;
	reset();
	int jumped = 0;
	for (int i = 0; i < 100; i++) {   /* 100 abandoned frames: more than the shadow depth */
		if (!setjmp(jb))
			f(1);
		else
			jumped++;
	}
	long r = f(0);
	CHECK(jumped == 100 && r == 100 && nrets == 1 && rets[0] == 100,
	      "longjmp out of a uretprobe'd function, then a normal return",
	      "jumped %d r=%ld n=%u", jumped, r, nrets);
	skep_link_destroy(l);
}

/* ---- threads while attaching and detaching */
static volatile int stop, go;
static long thread_calls[4];

static void *worker(void *arg)
{
	long idx = (long)arg, n = 0;
	long (*volatile f)(long, long) = idx & 1 ? v_push : v_lea;
	while (!stop) {
		long r = f(idx, 1);
		if (r != (idx & 1 ? idx + 1 : 1000 + idx + 1))
			abort();
		n++;
	}
	thread_calls[idx] = n;
	return NULL;
}

static void *fixed_worker(void *arg)
{
	long (*volatile f)(long, long) = v_nop5;
	while (!go)
		;
	for (int i = 0; i < 100000; i++)
		f(i, 1);
	return arg;
}

static void test_threads(skep_prog *p)
{
	pthread_t t[4];
	stop = 0;
	for (long i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, worker, (void *)i);
	uint8_t b1[16], b2[16];
	memcpy(b1, (void *)v_push, 16);
	memcpy(b2, (void *)v_lea, 16);
	int fails = 0, ran = 0;
	const char *mode = "";
	for (int k = 0; k < 200; k++) {
		skep_link *l1, *l2;
		uint64_t before = __atomic_load_n(&nrec, __ATOMIC_RELAXED);
		/* resolved once: what is stressed here is patching, not ELF reading */
		if (uprobe_attach_at(p, (uint64_t)v_push, (uint64_t)v_push,
				     (uint64_t)((char *)v_endbr - (char *)v_push), 0, 0, "v_push", &l1) ||
		    uprobe_attach_at(p, (uint64_t)v_lea, (uint64_t)v_lea,
				     (uint64_t)((char *)v_nop5 - (char *)v_lea), k & 1, 0, "v_lea", &l2)) {
			fails++;
			break;
		}
		for (volatile int s = 0; s < 20000; s++)
			;
		ran += __atomic_load_n(&nrec, __ATOMIC_RELAXED) != before;
		mode = skep_link_mode(l1);
		skep_link_destroy(l2);
		skep_link_destroy(l1);
	}
	stop = 1;
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	CHECK(!fails && ran > 0 && !memcmp(b1, (void *)v_push, 16) && !memcmp(b2, (void *)v_lea, 16) &&
	      !strcmp(mode, "jmp"),
	      "200 attach/detach cycles with 4 threads calling: no crash, bytes restored",
	      "fails %d ran %d mode %s calls %ld %ld %s", fails, ran, mode, thread_calls[0], thread_calls[1],
	      skep_attach_error());

	/* exact counts while attached */
	skep_link *l;
	int rc = skep_attach_uprobe(p, NULL, "v_nop5", 0, 0, &l);
	reset();
	go = 0;
	for (long i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, fixed_worker, (void *)i);
	go = 1;
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	CHECK(rc == 0 && nrec == 400000, "4 threads x 100000 calls: exact count", "rc %d n=%lu", rc,
	      (unsigned long)nrec);
	skep_link_destroy(l);
}

/* ---- refusals */
static void test_refusals(skep_prog *p)
{
	skep_link *l;
	int rc = skep_attach_uprobe(p, NULL, "no_such_function_xyz", 0, 0, &l);
	CHECK(rc == -ENOENT && strstr(skep_attach_error(), "no_such_function_xyz") && !l,
	      "unknown symbol refused, named", "%d %s", rc, skep_attach_error());
	rc = skep_attach_uprobe(p, "libnotmapped.so.9", "foo", 0, 0, &l);
	CHECK(rc == -ENOENT && strstr(skep_attach_error(), "libnotmapped.so.9"),
	      "binary not mapped refused, named", "%d %s", rc, skep_attach_error());
	rc = skep_attach_uprobe(p, NULL, "", 0, 0, &l);
	CHECK(rc == -EINVAL, "empty symbol refused", "%d %s", rc, skep_attach_error());
	rc = skep_attach_uprobe(NULL, NULL, "v_push", 0, 0, &l);
	CHECK(rc == -EINVAL, "no program refused", "%d %s", rc, skep_attach_error());
	CHECK(skep_link_destroy(NULL) == 0, "destroy NULL", "-");
	rc = skep_attach_uprobe(p, NULL, "v_fact+1", 1, 0, &l);
	CHECK(rc == -EINVAL && strstr(skep_attach_error(), "entry") && strstr(skep_attach_error(), "v_fact"),
	      "uretprobe inside a function refused", "%d %s", rc, skep_attach_error());
	/* an entry probe at sym+off works (here the mov after push %rbx) */
	rc = skep_attach_uprobe(p, NULL, "v_fact+1", 0, 0, &l);
	reset();
	long (*volatile fact)(long) = v_fact;
	long r = fact(3);
	CHECK(rc == 0 && r == 6 && nrec == 3 && last.ip == (uint64_t)v_fact + 1 && last.regs[14] == 1,
	      "entry probe at SYMBOL+OFFSET", "rc %d r=%ld n=%lu %s", rc, r, (unsigned long)nrec,
	      skep_attach_error());
	skep_link_destroy(l);
	rc = skep_attach_uprobe(p, NULL, "0x0", 0, 0, &l);
	CHECK(rc < 0 && *skep_attach_error(), "file offset 0 (the ELF header) refused", "%d %s", rc,
	      skep_attach_error());
	skep_link_destroy(rc ? NULL : l);
}

/* No permission to write code: a process whose policy forbids both ways of writing
 * text (pwrite to /proc/self/mem, mprotect), as a seccomp filter (or an SELinux
 * execmod rule) does. The attach must fail with -EPERM and a message, leaving the
 * function's bytes as they were. Run in a child, where the filter stays. */
static void test_no_permission(skep_prog *p)
{
	uint8_t before[8];
	memcpy(before, (const void *)v_nop5, sizeof before);
	pid_t pid = fork();
	if (pid == 0) {
		/* classic BPF (linux/filter.h's macros clash with the eBPF ones here):
		 * ld [nr]; jeq pwrite64 → deny; jeq mprotect → deny; allow; deny: EPERM */
		struct { uint16_t code; uint8_t jt, jf; uint32_t k; } f[] = {
			{0x20, 0, 0, offsetof(struct seccomp_data, nr)},
			{0x15, 2, 0, __NR_pwrite64},
			{0x15, 1, 0, __NR_mprotect},
			{0x06, 0, 0, SECCOMP_RET_ALLOW},
			{0x06, 0, 0, SECCOMP_RET_ERRNO | EPERM},
		};
		struct { unsigned short len; void *filter; } fp = {sizeof f / sizeof f[0], f};
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fp))
			_exit(3);
		skep_link *l = NULL;
		int rc = skep_attach_uprobe(p, NULL, "v_nop5", 0, 0, &l);
		int same = !memcmp(before, (const void *)v_nop5, sizeof before);
		_exit(rc == -EPERM && !l && *skep_attach_error() && same ? 0 : rc == 0 ? 1 : same ? 2 : 4);
	}
	int st = 0;
	waitpid(pid, &st, 0);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	      "no permission to write code: -EPERM, a message, bytes unchanged",
	      "child status %d (1 attached, 2 other error, 3 no seccomp, 4 bytes changed)",
	      WIFEXITED(st) ? WEXITSTATUS(st) : -1);
}

/* ---- a clang-built object attached by section name */
static char objdir[4096];

static void test_object(void)
{
	char path[4200];
	snprintf(path, sizeof path, "%s/uprobe_count.o", objdir);
	skep_object *obj;
	if (skep_object_open_file(path, NULL, &obj)) {
		CHECK(0, "open uprobe_count.o", "%s", skep_object_error(NULL));
		return;
	}
	int rc = skep_object_load(obj);
	CHECK(rc == 0, "load uprobe_count.o", "%s", skep_object_error(obj));
	if (rc) {
		skep_object_close(obj);
		return;
	}
	skep_link *l1 = NULL, *l2 = NULL, *l3 = NULL;
	int r1 = skep_program_attach(skep_object_find_program_by_name(obj, "on_six"), &l1);
	int r2 = skep_program_attach(skep_object_find_program_by_name(obj, "on_fact_ret"), &l2);
	CHECK(r1 == 0 && r2 == 0, "attach by section name (uprobe/, uretprobe/)", "%d %d %s", r1, r2,
	      skep_attach_error());
	int r3 = skep_program_attach(skep_object_find_program_by_name(obj, "no_target"), &l3);
	CHECK(r3 == -ENOTSUP && strstr(skep_attach_error(), "no target"),
	      "a section without target is refused by skep_program_attach", "%d %s", r3,
	      skep_attach_error());
	r3 = skep_attach_uprobe(skep_program_prog(skep_object_find_program_by_name(obj, "no_target")),
				NULL, "v_six", 0, 5, &l3);
	vfn six = (vfn)(void *)v_six;
	long (*volatile fact)(long) = v_fact;
	for (int i = 0; i < 10; i++)
		((vfn volatile)six)(1, 2, 3, 4, 5, i);
	fact(4);
	skep_map *m = skep_object_map_handle(skep_object_find_map_by_name(obj, "counts"));
	uint64_t v[4] = {0};
	for (uint32_t k = 0; m && k < 4; k++)
		skep_map_lookup_elem(m, &k, &v[k]);
	/* counts[0]: entry hits; [1]: sum of PARM1..6; [2]: sum of returns; [3]: cookies */
	CHECK(m && v[0] == 10 && v[1] == 10 * 15 + 45 && v[2] == 1 + 2 + 6 + 24 && v[3] == 50,
	      "BPF_KPROBE / BPF_KRETPROBE programs see args, return values, cookie",
	      "%lu %lu %lu %lu", (unsigned long)v[0], (unsigned long)v[1], (unsigned long)v[2],
	      (unsigned long)v[3]);
	skep_link_destroy(l1);
	skep_link_destroy(l2);
	skep_link_destroy(l3);
	skep_object_close(obj);
}

int main(int argc, char **argv)
{
	const char *s = strrchr(argv[0], '/');
	snprintf(objdir, sizeof objdir, "%.*s/../objects", s ? (int)(s - argv[0]) : 1,
		 s ? argv[0] : ".");
	static const struct skep_helper_proto proto = {
		.ret = SKEP_RET_INTEGER,
		.arg = {SKEP_ARG_ANYTHING, SKEP_ARG_ANYTHING, SKEP_ARG_ANYTHING},
	};
	if (skep_helper_register(H_REC, "test_rec", h_rec, &proto)) {
		printf("cannot register the helper\n");
		return 1;
	}
	skep_prog *p = prog_rec();
	test_entry(p);
	test_args_ret(p);
	test_longjmp(p);
	test_guard_xmm(p);
	test_threads(p);
	test_refusals(p);
	test_no_permission(p);
	test_object();
	skep_prog_free(p);
	(void)argc;
	return t_done();
}
