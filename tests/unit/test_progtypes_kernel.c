/* Program types against the kernel: the same instructions loaded as XDP, SCHED_CLS,
 * SCHED_ACT, SOCKET_FILTER, CGROUP_SKB and RAW_TRACEPOINT programs, test-run in the
 * kernel (BPF_PROG_TEST_RUN) and in Skep on each engine (interpreter, checked, JIT), must
 * agree: both refuse the program or both load it; then the same errno, retval,
 * data_size_out, data_out, ctx_size_out and ctx_out. The programs read every context
 * field, write the writable ones, adjust head/tail/meta and return values. */
#include <errno.h>
#include <linux/bpf.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "check.h"

/* positional test-case initialisers leave the trailing fields zero on purpose */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#include "kernel.h"
#include "skep/insn.h"
#include "skep/prog.h"
#include "skep/progtype.h"
#include "skep/testrun.h"

/* One test run's inputs and outputs (same shape for the kernel and Skep). */
struct io {
	int err;                 /* 0 or -errno of the test run */
	uint32_t retval;
	uint8_t data[20000];
	uint32_t data_size;
	uint8_t ctx[256];
	uint32_t ctx_size;
};

struct tcase {
	const char *name;
	int type;
	const char *text;
	const void *data;
	uint32_t data_len;
	const void *ctx;         /* ctx_in, or NULL */
	uint32_t ctx_len;
	int want_ctx_out;        /* ask for ctx_out */
	int repeat;
	uint32_t data_cap;       /* data_size_out if not 0 */
};

static int kernel_run(const struct tcase *c, const struct skep_insn *in, size_t n, struct io *o,
		      char *why, size_t whylen)
{
	static char log[1 << 16];
	int fd = kernel_prog_load(c->type, in, n, log, sizeof log);
	if (fd < 0) {
		snprintf(why, whylen, "%.200s", log);
		return fd;
	}
	union bpf_attr a;
	memset(&a, 0, sizeof a);
	a.test.prog_fd = (uint32_t)fd;
	a.test.data_in = (uint64_t)(uintptr_t)c->data;
	a.test.data_size_in = c->data_len;
	if (c->type != KERNEL_PROG_SOCKET_FILTER || c->data) {
		a.test.data_out = (uint64_t)(uintptr_t)o->data;
		a.test.data_size_out = c->data_cap ? c->data_cap : sizeof o->data;
	}
	if (!c->data)
		a.test.data_out = 0, a.test.data_size_out = 0;
	a.test.ctx_in = (uint64_t)(uintptr_t)c->ctx;
	a.test.ctx_size_in = c->ctx_len;
	if (c->want_ctx_out) {
		a.test.ctx_out = (uint64_t)(uintptr_t)o->ctx;
		a.test.ctx_size_out = sizeof o->ctx;
	}
	a.test.repeat = (uint32_t)c->repeat;
	o->err = syscall(__NR_bpf, BPF_PROG_TEST_RUN, &a, sizeof a) < 0 ? -errno : 0;
	o->retval = a.test.retval;
	o->data_size = a.test.data_size_out;
	o->ctx_size = c->want_ctx_out ? a.test.ctx_size_out : 0;
	close(fd);
	return 0;
}

static int skep_run(const struct tcase *c, const struct skep_insn *in, size_t n, int engine,
		    struct io *o, char *why, size_t whylen)
{
	skep_prog *p = skep_prog_new();
	int err = skep_prog_set_engine(p, (enum skep_engine)engine);
	if (!err)
		err = skep_prog_set_type(p, (uint32_t)c->type);
	if (!err)
		err = skep_prog_load(p, in, n);
	if (err) {
		snprintf(why, whylen, "%s", skep_prog_error(p));
		skep_prog_free(p);
		return err;
	}
	struct skep_test_run_opts t = {
		.data_in = c->data, .data_size_in = c->data_len,
		.data_out = c->data ? o->data : NULL,
		.data_size_out = c->data ? (c->data_cap ? c->data_cap : sizeof o->data) : 0,
		.ctx_in = c->ctx, .ctx_size_in = c->ctx_len,
		.ctx_out = c->want_ctx_out ? o->ctx : NULL, .ctx_size_out = c->want_ctx_out ? sizeof o->ctx : 0,
		.repeat = c->repeat,
	};
	o->err = skep_prog_test_run(p, &t);
	if (o->err)
		snprintf(why, whylen, "%s", skep_prog_error(p));
	o->retval = t.retval;
	o->data_size = c->data ? t.data_size_out : 0;
	o->ctx_size = c->want_ctx_out ? t.ctx_size_out : 0;
	skep_prog_free(p);
	return 0;
}

static void hexdiff(const char *what, const uint8_t *k, const uint8_t *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (k[i] != s[i]) {
			printf("  %s first differs at byte %zu: kernel %02x skep %02x\n", what, i, k[i], s[i]);
			printf("  kernel:");
			for (size_t j = i & ~(size_t)15; j < n && j < (i & ~(size_t)15) + 32; j++)
				printf(" %02x", k[j]);
			printf("\n  skep:  ");
			for (size_t j = i & ~(size_t)15; j < n && j < (i & ~(size_t)15) + 32; j++)
				printf(" %02x", s[j]);
			printf("\n");
			return;
		}
}

static const char *const engine_name[] = {"interp", "checked", "jit"};

/* Run c in the kernel and on every engine; every difference is a failure. Returns 1 if
 * the kernel loaded the program. */
static int compare(const struct tcase *c)
{
	struct skep_insn *in;
	size_t n;
	struct skep_diag d;
	if (skep_assemble(c->text, &in, &n, &d)) {
		CHECK(0, c->name, "assembling: %s", d.msg);
		return 0;
	}
	static struct io ko, so;
	char kwhy[256] = "", swhy[256] = "";
	memset(&ko, 0, sizeof ko);
	int kl = kernel_run(c, in, n, &ko, kwhy, sizeof kwhy);
	for (int e = 0; e < 3; e++) {
		char name[160];
		snprintf(name, sizeof name, "%s/%s", c->name, engine_name[e]);
		memset(&so, 0, sizeof so);
		int sl = skep_run(c, in, n, e, &so, swhy, sizeof swhy);
		if (kl || sl) {
			CHECK(!kl == !sl, name, "load: kernel %d (%s), skep %d (%s)", kl, kwhy, sl, swhy);
			continue;
		}
		int ok = ko.err == so.err && ko.retval == so.retval && ko.data_size == so.data_size &&
			 ko.ctx_size == so.ctx_size &&
			 !memcmp(ko.data, so.data, ko.data_size < sizeof ko.data ? ko.data_size : sizeof ko.data) &&
			 !memcmp(ko.ctx, so.ctx, ko.ctx_size < sizeof ko.ctx ? ko.ctx_size : sizeof ko.ctx);
		CHECK(ok, name, "kernel: err %d retval %#x data %u ctx %u; skep: err %d (%s) retval %#x data %u ctx %u",
		      ko.err, ko.retval, ko.data_size, ko.ctx_size, so.err, swhy, so.retval, so.data_size,
		      so.ctx_size);
		if (!ok) {
			hexdiff("data_out", ko.data, so.data, ko.data_size < so.data_size ? ko.data_size : so.data_size);
			hexdiff("ctx_out", ko.ctx, so.ctx, ko.ctx_size < so.ctx_size ? ko.ctx_size : so.ctx_size);
		}
	}
	free(in);
	return !kl;
}

/* ---- program text builders ---- */
static char prog[16384];
static size_t plen;
static void emit(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void emit(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	plen += (size_t)vsnprintf(prog + plen, sizeof prog - plen, fmt, ap);
	va_end(ap);
	if (plen < sizeof prog - 1)
		prog[plen++] = '\n', prog[plen] = 0;
}
static void begin(void) { plen = 0; prog[0] = 0; }

static const char *usz(int size) { return size == 1 ? "u8" : size == 2 ? "u16" : size == 4 ? "u32" : "u64"; }

struct acc { int off, size; };

/* Packet types with data/data_end at doff/eoff: load each field, store it as a u64 at
 * data + 14 + 8 * k (the packet holds them), return ret. */
static const char *fields_to_packet(int doff, int eoff, const struct acc *a, size_t na, int ret)
{
	begin();
	emit("r6 = r1");
	emit("r7 = *(u32 *)(r6 + %d)", doff);
	emit("r8 = *(u32 *)(r6 + %d)", eoff);
	emit("r0 = 1");
	emit("r2 = r7");
	emit("r2 += %zu", 14 + 8 * na);
	emit("if r2 > r8 goto out");
	for (size_t k = 0; k < na; k++) {
		emit("r3 = *(%s *)(r6 + %d)", usz(a[k].size), a[k].off);
		emit("*(u64 *)(r7 + %zu) = r3", 14 + 8 * k);
	}
	emit("r0 = %d", ret);
	emit("out:");
	emit("exit");
	return prog;
}

/* Load each field (up to 5) and store it into cb[k] (u32): ctx_out shows them. */
static const char *fields_to_cb(const struct acc *a, size_t na, int ret)
{
	begin();
	for (size_t k = 0; k < na; k++)
		emit("r%zu = *(%s *)(r1 + %d)", 2 + k, usz(a[k].size), a[k].off);
	for (size_t k = 0; k < na; k++)
		emit("*(u32 *)(r1 + %zu) = r%zu", 48 + 4 * k, 2 + k);
	emit("r0 = %d", ret);
	emit("exit");
	return prog;
}

static uint8_t pkt_ip4[128], pkt_ip6[128], pkt_small[14], pkt_bcast[64], pkt_other[64], pkt_8023[60];

static void make_packets(void)
{
	/* IPv4/UDP to a unicast MAC that is not the loopback's */
	uint8_t *p = pkt_ip4;
	for (int i = 0; i < 128; i++)
		p[i] = (uint8_t)(i * 7 + 3);
	memset(p, 0, 6);                         /* dst 00:..: PACKET_HOST on loopback */
	p[12] = 0x08, p[13] = 0x00;
	p[14] = 0x45;
	memcpy(p + 26, "\x0a\x00\x00\x01\x0a\x00\x00\x02", 8);
	p = pkt_ip6;
	for (int i = 0; i < 128; i++)
		p[i] = (uint8_t)(i * 13 + 1);
	p[0] = 0x02;                             /* unicast, not ours: PACKET_OTHERHOST */
	p[12] = 0x86, p[13] = 0xdd;
	p[14] = 0x60;
	memset(pkt_small, 0x11, sizeof pkt_small);
	pkt_small[12] = 0x08, pkt_small[13] = 0x06;
	memset(pkt_bcast, 0xff, 6);
	for (int i = 6; i < 64; i++)
		pkt_bcast[i] = (uint8_t)i;
	pkt_bcast[12] = 0x08, pkt_bcast[13] = 0x00;
	memset(pkt_other, 0, sizeof pkt_other);
	pkt_other[0] = 0x01, pkt_other[5] = 0x42;   /* multicast */
	pkt_other[12] = 0x88, pkt_other[13] = 0xcc;
	for (int i = 0; i < 60; i++)
		pkt_8023[i] = (uint8_t)(0x30 + i);
	pkt_8023[0] = 0;
	pkt_8023[12] = 0x00, pkt_8023[13] = 0x2e;   /* a length: 802.3 */
	pkt_8023[14] = 0xff, pkt_8023[15] = 0xff;
}

/* ---- XDP ---- */
static void xdp_cases(void)
{
	struct acc all[] = {{0, 4}, {4, 4}, {8, 4}, {12, 4}, {16, 4}};
	struct tcase c = {"xdp/read-fields", KERNEL_PROG_XDP, NULL, pkt_ip4, 128};
	/* data/data_end/data_meta differ by address: store differences instead */
	begin();
	emit("r6 = r1");
	emit("r2 = *(u32 *)(r6 + 0)");
	emit("r3 = *(u32 *)(r6 + 4)");
	emit("r4 = *(u32 *)(r6 + 8)");
	emit("r0 = 1");
	emit("r5 = r2");
	emit("r5 += 64");
	emit("if r5 > r3 goto out");
	emit("r5 = r3");
	emit("r5 -= r2");
	emit("*(u32 *)(r2 + 14) = r5");
	emit("r5 = r2");
	emit("r5 -= r4");
	emit("*(u32 *)(r2 + 18) = r5");
	emit("r5 = *(u32 *)(r6 + 12)");
	emit("*(u32 *)(r2 + 22) = r5");
	emit("r5 = *(u32 *)(r6 + 16)");
	emit("*(u32 *)(r2 + 26) = r5");
	emit("r0 = 2");
	emit("out:");
	emit("exit");
	c.text = prog;
	compare(&c);
	(void)all;

	c.name = "xdp/read-fields-ctx";
	static const uint32_t md[6] = {0, 100, 0, 0, 0, 0};
	c.ctx = md, c.ctx_len = sizeof md, c.want_ctx_out = 1;
	compare(&c);
	static const uint32_t md_meta[6] = {8, 120, 0, 0, 0, 0};
	c.name = "xdp/read-fields-meta";
	c.ctx = md_meta;
	compare(&c);
	c.ctx = NULL, c.ctx_len = 0, c.want_ctx_out = 0;

	c.name = "xdp/egress_ifindex-refused";
	c.text = "r0 = *(u32 *)(r1 + 20)\nexit";
	compare(&c);
	c.name = "xdp/narrow-refused";
	c.text = "r0 = *(u8 *)(r1 + 12)\nexit";
	compare(&c);
	c.name = "xdp/write-refused";
	c.text = "r2 = 1\n*(u32 *)(r1 + 12) = r2\nr0 = 2\nexit";
	compare(&c);
	c.name = "xdp/dw-refused";
	c.text = "r0 = *(u64 *)(r1 + 0)\nexit";
	compare(&c);

	static const char *rets[] = {"0", "1", "2", "3", "4", "0x7eadbeef", "-1"};
	for (size_t i = 0; i < sizeof rets / sizeof rets[0]; i++) {
		char name[64], text[64];
		snprintf(name, sizeof name, "xdp/return-%s", rets[i]);
		snprintf(text, sizeof text, "r0 = %s\nexit", rets[i]);
		c.name = name, c.text = text;
		compare(&c);
	}

	c.name = "xdp/swap-mac-tx";
	c.text = "r2 = *(u32 *)(r1 + 0)\n"
		 "r3 = *(u32 *)(r1 + 4)\n"
		 "r0 = 0\n"
		 "r4 = r2\n"
		 "r4 += 14\n"
		 "if r4 > r3 goto +10\n"
		 "r4 = *(u32 *)(r2 + 0)\n"
		 "r5 = *(u16 *)(r2 + 4)\n"
		 "r6 = *(u32 *)(r2 + 6)\n"
		 "r7 = *(u16 *)(r2 + 10)\n"
		 "*(u32 *)(r2 + 0) = r6\n"
		 "*(u16 *)(r2 + 4) = r7\n"
		 "*(u32 *)(r2 + 6) = r4\n"
		 "*(u16 *)(r2 + 10) = r5\n"
		 "r0 = 3\n"
		 "*(u8 *)(r2 + 13) = 0x99\n"
		 "exit";
	compare(&c);

	/* adjust_head: the return value goes into the packet, and the new head is written */
	static const int heads[] = {-4, -14, 4, 20, -216, -217, -256, -300, 114, 115, 200};
	static char texts[16][1024];
	for (size_t i = 0; i < sizeof heads / sizeof heads[0]; i++) {
		char *t = texts[i];
		snprintf(t, 1024,
			 "r6 = r1\n"
			 "r2 = %d\n"
			 "call 44\n"
			 "r7 = r0\n"
			 "r2 = *(u32 *)(r6 + 0)\n"
			 "r3 = *(u32 *)(r6 + 4)\n"
			 "r4 = r2\n"
			 "r4 += 14\n"
			 "r0 = 1\n"
			 "if r4 > r3 goto +3\n"
			 "*(u64 *)(r2 + 0) = r7\n"
			 "*(u16 *)(r2 + 8) = 0x5aa5\n"
			 "r0 = 2\n"
			 "exit", heads[i]);
		char name[64];
		snprintf(name, sizeof name, "xdp/adjust_head%+d", heads[i]);
		c.name = name, c.text = t;
		compare(&c);
	}
	static const int tails[] = {10, -5, -114, -115, 3400, 3648, 3649, -1000};
	for (size_t i = 0; i < sizeof tails / sizeof tails[0]; i++) {
		char *t = texts[i];
		snprintf(t, 1024,
			 "r6 = r1\n"
			 "r2 = %d\n"
			 "call 65\n"
			 "r7 = r0\n"
			 "r2 = *(u32 *)(r6 + 0)\n"
			 "r3 = *(u32 *)(r6 + 4)\n"
			 "r4 = r2\n"
			 "r4 += 14\n"
			 "r0 = 1\n"
			 "if r4 > r3 goto +2\n"
			 "*(u64 *)(r2 + 0) = r7\n"
			 "r0 = 2\n"
			 "exit", tails[i]);
		char name[64];
		snprintf(name, sizeof name, "xdp/adjust_tail%+d", tails[i]);
		c.name = name, c.text = t;
		compare(&c);
	}
	static const int metas[] = {-4, -8, -32, -36, -6, 4, -216, -220};
	for (size_t i = 0; i < sizeof metas / sizeof metas[0]; i++) {
		char *t = texts[i];
		snprintf(t, 1024,
			 "r6 = r1\n"
			 "r2 = %d\n"
			 "call 54\n"
			 "r7 = r0\n"
			 "r2 = *(u32 *)(r6 + 8)\n"   /* meta */
			 "r3 = *(u32 *)(r6 + 0)\n"   /* data */
			 "r4 = r2\n"
			 "r4 += 4\n"
			 "if r4 > r3 goto +1\n"
			 "*(u32 *)(r2 + 0) = 0x0badf00d\n"
			 "r2 = *(u32 *)(r6 + 0)\n"
			 "r3 = *(u32 *)(r6 + 4)\n"
			 "r4 = r2\n"
			 "r4 += 14\n"
			 "r0 = 1\n"
			 "if r4 > r3 goto +2\n"
			 "*(u64 *)(r2 + 0) = r7\n"
			 "r0 = 2\n"
			 "exit", metas[i]);
		char name[64];
		snprintf(name, sizeof name, "xdp/adjust_meta%+d", metas[i]);
		c.name = name, c.text = t;
		c.ctx = md_meta, c.ctx_len = sizeof md_meta, c.want_ctx_out = 1;
		compare(&c);
		snprintf(name, sizeof name, "xdp/adjust_meta%+d-noctx", metas[i]);
		c.ctx = NULL, c.ctx_len = 0, c.want_ctx_out = 0;
		compare(&c);
	}
	/* head then tail then meta, with ctx_out */
	c.name = "xdp/adjust-all";
	c.text = "r6 = r1\n"
		 "r2 = -20\n"
		 "call 44\n"
		 "r1 = r6\n"
		 "r2 = 7\n"
		 "call 65\n"
		 "r1 = r6\n"
		 "r2 = -16\n"
		 "call 54\n"
		 "r0 = 2\n"
		 "exit";
	c.ctx = md_meta, c.ctx_len = sizeof md_meta, c.want_ctx_out = 1;
	compare(&c);
	c.repeat = 3;
	c.name = "xdp/adjust-all-repeat3";
	compare(&c);
	c.repeat = 0;

	/* test-run refusals */
	c.text = "r0 = 2\nexit";
	c.name = "xdp/short-packet", c.data = pkt_small, c.data_len = 13, c.ctx = NULL, c.ctx_len = 0;
	compare(&c);
	c.name = "xdp/eth-only", c.data_len = 14;
	compare(&c);
	static const uint32_t bad1[6] = {0, 100, 4, 0, 0, 0}, bad2[6] = {6, 100, 0, 0, 0, 0},
			      bad3[6] = {0, 200, 0, 0, 0, 0}, bad4[6] = {36, 100, 0, 0, 0, 0},
			      bad5[6] = {0, 100, 0, 0, 1, 0}, bad6[6] = {0, 100, 0, 0, 0, 3},
			      bad7[6] = {216, 228, 0, 0, 0, 0}, bad8[6] = {220, 228, 0, 0, 0, 0},
			      bad9[6] = {252, 300, 0, 0, 0, 0}, bad10[6] = {0, 0, 0, 0, 0, 0},
			      bad11[6] = {0, 10, 0, 0, 0, 0}, bad12[6] = {20, 20, 0, 0, 0, 0};
	const uint32_t *bads[] = {bad1, bad2, bad3, bad4, bad5, bad6, bad7, bad8, bad9, bad10,
				  bad11, bad12};
	c.data = pkt_ip4, c.data_len = 128, c.want_ctx_out = 1;
	for (size_t i = 0; i < sizeof bads / sizeof bads[0]; i++) {
		char name[64];
		snprintf(name, sizeof name, "xdp/bad-ctx-%zu", i + 1);
		c.name = name, c.ctx = bads[i], c.ctx_len = 24;
		compare(&c);
	}
	static uint8_t big[32] = {0, 0, 0, 0, 100};
	c.name = "xdp/ctx-tail-zero", c.ctx = big, c.ctx_len = sizeof big;
	compare(&c);
	big[30] = 1;
	c.name = "xdp/ctx-tail-nonzero";
	compare(&c);
	c.name = "xdp/ctx-out-only", c.ctx = NULL, c.ctx_len = 0;
	compare(&c);

	/* multi-buffer: past the linear part (ctx data_end, or a page's worth), fragments */
	static uint8_t jumbo[3 * 4096 + 100];
	for (size_t i = 0; i < sizeof jumbo; i++)
		jumbo[i] = (uint8_t)(i * 31 + i / 256);
	static const uint32_t lin100[6] = {0, 100, 0, 0, 0, 0}, lin0[6] = {0, 0, 0, 0, 0, 0},
			      lin_meta[6] = {8, 60, 0, 0, 0, 0};
	static const int ftails[] = {0, 100, -10, -100, -4000, -5000, 3000, 4000, -8292, -8200, -100000};
	static const uint32_t fsizes[] = {3520, 3521, 5000, 3 * 4096 + 100};
	for (size_t k = 0; k < sizeof fsizes / sizeof fsizes[0]; k++)
		for (int m = 0; m < 4; m++) {
			const uint32_t *ctxs[] = {NULL, lin100, lin0, lin_meta};
			for (size_t i = 0; i < sizeof ftails / sizeof ftails[0]; i++) {
				char *t = texts[i];
				snprintf(t, 1024,
					 "r6 = r1\n"
					 "r2 = %d\n"
					 "call 65\n"
					 "r7 = r0\n"
					 "r2 = *(u32 *)(r6 + 0)\n"
					 "r3 = *(u32 *)(r6 + 4)\n"
					 "r3 -= r2\n"
					 "r7 <<= 16\n"
					 "r7 |= r3\n"
					 "r0 = r7\n"
					 "exit", ftails[i]);
				char name[96];
				snprintf(name, sizeof name, "xdp/frags-%u-ctx%d-tail%+d", fsizes[k], m, ftails[i]);
				struct tcase f = {name, KERNEL_PROG_XDP, t, jumbo, fsizes[k], ctxs[m],
						  ctxs[m] ? 24 : 0, ctxs[m] != NULL};
				compare(&f);
			}
		}
	/* data_out smaller than the packet: the kernel cuts the linear part to make room
	 * for the fragments, or fails before reporting anything if they alone do not fit */
	static const uint32_t caps[] = {4096, 2000, 1480, 1479, 100};
	for (size_t k = 0; k < sizeof caps / sizeof caps[0]; k++) {
		char name[64];
		snprintf(name, sizeof name, "xdp/frags-enospc-%u", caps[k]);
		struct tcase f = {name, KERNEL_PROG_XDP, "r0 = 2\nexit", jumbo, 5000};
		f.data_cap = caps[k];
		compare(&f);
		snprintf(name, sizeof name, "xdp/linear-enospc-%u", caps[k]);
		f.data_len = 3000;
		compare(&f);
	}
	c.name = "xdp/frags-too-many", c.text = "r0 = 2\nexit", c.data = NULL;
	static uint8_t huge[18 * 4096 + 4000];
	c.data = huge, c.data_len = sizeof huge, c.ctx = NULL, c.ctx_len = 0, c.want_ctx_out = 0;
	compare(&c);
}

/* ---- __sk_buff ---- */
static const struct acc skb_common[] = {
	{0, 4}, {4, 4}, {8, 4}, {12, 4}, {16, 4}, {20, 4}, {24, 4}, {28, 4}, {32, 4}, {36, 4},
	{40, 4}, {44, 4}, {48, 4}, {52, 4}, {56, 4}, {60, 4}, {64, 4}, {68, 4}, {84, 4},
	{164, 4}, {176, 4},
};

static void skb_cases(void)
{
	static uint8_t ctx[192];
	uint32_t v;
#define SETU32(off, val) (v = (val), memcpy(ctx + (off), &v, 4))
	SETU32(8, 0x1234);                 /* mark */
	SETU32(32, 7);                     /* priority */
	SETU32(36, 5);                     /* ingress_ifindex */
	for (int i = 0; i < 5; i++)
		SETU32(48 + 4 * i, 0x1000 + (uint32_t)i);
	uint64_t ts = 0x123456789ull;
	memcpy(ctx + 152, &ts, 8);        /* tstamp */
	SETU32(164, 3);                    /* gso_segs */
	SETU32(176, 1400);                 /* gso_size */
	uint64_t hw = 0xabcdef;
	memcpy(ctx + 184, &hw, 8);

	const uint8_t *pkts[] = {pkt_ip4, pkt_ip6, pkt_bcast, pkt_other, pkt_8023, pkt_small};
	const uint32_t plens[] = {128, 128, 64, 64, 60, 14};
	const char *pnames[] = {"ip4", "ip6", "bcast", "mcast", "8023", "eth-only"};

	/* SCHED_CLS / SCHED_ACT: every field into the packet */
	struct acc tc[64];
	size_t ntc = 0;
	for (size_t i = 0; i < sizeof skb_common / sizeof skb_common[0]; i++)
		tc[ntc++] = skb_common[i];
	tc[ntc++] = (struct acc){72, 4};    /* tc_classid */
	tc[ntc++] = (struct acc){160, 4};   /* wire_len */
	tc[ntc++] = (struct acc){152, 8};   /* tstamp */
	tc[ntc++] = (struct acc){184, 8};   /* hwtstamp */
	tc[ntc++] = (struct acc){180, 1};   /* tstamp_type */
	tc[ntc++] = (struct acc){1, 1};     /* narrow: len's second byte */
	tc[ntc++] = (struct acc){16, 2};    /* narrow: protocol */
	tc[ntc++] = (struct acc){49, 1};    /* cb byte */
	tc[ntc++] = (struct acc){56, 8};    /* cb[2..3] as u64 */
	tc[ntc++] = (struct acc){10, 2};    /* narrow mark high half */
	static char tcprog[16384];
	snprintf(tcprog, sizeof tcprog, "%s", fields_to_packet(76, 80, tc, ntc, 0));
	for (int t = 0; t < 2; t++) {
		int type = t ? BPF_PROG_TYPE_SCHED_ACT : BPF_PROG_TYPE_SCHED_CLS;
		const char *tn = t ? "sched_act" : "sched_cls";
		for (size_t k = 0; k < 5; k++) {
			char name[96];
			snprintf(name, sizeof name, "%s/read-fields-%s", tn, pnames[k]);
			struct tcase c = {name, type, tcprog, pkts[k], plens[k] > 128 ? 128 : plens[k]};
			if (plens[k] < 14 + 8 * ntc) {   /* grow the packet so every field fits */
				static uint8_t big[512];
				memset(big, 0, sizeof big);
				memcpy(big, pkts[k], plens[k]);
				c.data = big, c.data_len = (uint32_t)(14 + 8 * ntc);
			}
			compare(&c);
			snprintf(name, sizeof name, "%s/read-fields-%s-ctx", tn, pnames[k]);
			c.ctx = ctx, c.ctx_len = sizeof ctx, c.want_ctx_out = 1;
			compare(&c);
		}
	}
	/* writes, read back into the packet, and ctx_out */
	struct tcase w = {"sched_cls/write-fields", BPF_PROG_TYPE_SCHED_CLS, NULL, pkt_ip4, 128,
			  ctx, sizeof ctx, 1};
	begin();
	emit("r6 = r1");
	emit("r2 = 0x55aa");
	emit("*(u32 *)(r6 + 8) = r2");      /* mark */
	emit("*(u32 *)(r6 + 32) = r2");     /* priority */
	emit("*(u32 *)(r6 + 44) = r2");     /* tc_index */
	emit("*(u32 *)(r6 + 72) = r2");     /* tc_classid */
	emit("r2 = 3");
	emit("*(u32 *)(r6 + 12) = r2");     /* queue_mapping */
	emit("*(u8 *)(r6 + 49) = 0x77");    /* cb byte */
	emit("*(u16 *)(r6 + 54) = 0x6655");
	emit("r2 = 0x1122334455667788 ll");
	emit("*(u64 *)(r6 + 56) = r2");     /* cb[2..3] */
	emit("*(u32 *)(r6 + 64) = 0x99");   /* cb[4] by ST */
	emit("*(u64 *)(r6 + 152) = r2");    /* tstamp */
	emit("r7 = *(u32 *)(r6 + 76)");
	emit("r8 = *(u32 *)(r6 + 80)");
	emit("r0 = 1");
	emit("r2 = r7");
	emit("r2 += 64");
	emit("if r2 > r8 goto out");
	static const int back[] = {8, 12, 32, 44, 72, 48, 52, 56, 60, 64};
	for (size_t k = 0; k < sizeof back / sizeof back[0]; k++) {
		emit("r3 = *(u32 *)(r6 + %d)", back[k]);
		emit("*(u32 *)(r7 + %zu) = r3", 14 + 4 * k);
	}
	emit("r0 = 0");
	emit("out:");
	emit("exit");
	w.text = prog;
	compare(&w);
	w.name = "sched_act/write-fields", w.type = BPF_PROG_TYPE_SCHED_ACT;
	compare(&w);

	/* writes the kernel refuses for tc */
	static const char *const tc_refused[] = {
		"r2 = 1\n*(u32 *)(r1 + 0) = r2\nr0 = 0\nexit",      /* len */
		"r2 = 1\n*(u32 *)(r1 + 16) = r2\nr0 = 0\nexit",     /* protocol */
		"r2 = 1\n*(u16 *)(r1 + 8) = r2\nr0 = 0\nexit",      /* narrow write of mark */
		"r0 = *(u32 *)(r1 + 88)\nexit",                     /* family */
		"r0 = *(u64 *)(r1 + 144)\nexit",                    /* flow_keys */
		"r0 = *(u16 *)(r1 + 76)\nexit",                     /* narrow data */
		"r0 = *(u32 *)(r1 + 192)\nexit",                    /* past the end */
		"r0 = *(u32 *)(r1 + 2)\nexit",                      /* misaligned */
		"r0 = *(u32 *)(r1 + 152)\nexit",                    /* tstamp needs 8 bytes */
		"r0 = *(u32 *)(r1 + 64)\nr0 = *(u64 *)(r1 + 64)\nexit", /* cb[4] as u64 runs past cb */
		"r1 += 8\nr0 = *(u32 *)(r1 + 0)\nexit",            /* modified ctx */
		"r0 = *(u8 *)(r1 + 181)\nexit",                     /* padding */
	};
	for (size_t i = 0; i < sizeof tc_refused / sizeof tc_refused[0]; i++) {
		char name[64];
		snprintf(name, sizeof name, "sched_cls/refused-%zu", i);
		struct tcase c = {name, BPF_PROG_TYPE_SCHED_CLS, tc_refused[i], pkt_ip4, 128};
		compare(&c);
	}

	/* ld_abs / ld_ind and skb_load_bytes in tc and socket filters */
	const char *ldabs =
		"r6 = r1\n"
		"r0 = *(u16 *)skb[12]\n"
		"r7 = r0\n"
		"r0 = *(u8 *)skb[14]\n"
		"r7 <<= 8\n"
		"r7 |= r0\n"
		"r8 = 10\n"
		"r0 = *(u32 *)skb[r8 + 16]\n"
		"r7 += r0\n"
		"r0 = r7\n"
		"exit";
	const char *ldabs_oob = "r6 = r1\nr0 = *(u32 *)skb[126]\nr0 = 7\nexit";
	/* bpf_skb_load_bytes into the stack; the return value and two words into cb[] */
	const char *loadb =
		"r6 = r1\n"
		"r1 = r6\n"
		"r2 = %d\n"
		"r3 = r10\n"
		"r3 += -16\n"
		"r4 = 16\n"
		"call 26\n"
		"*(u32 *)(r6 + 48) = r0\n"
		"r0 = *(u32 *)(r10 - 16)\n"
		"*(u32 *)(r6 + 52) = r0\n"
		"r0 = *(u32 *)(r10 - 4)\n"
		"*(u32 *)(r6 + 56) = r0\n"
		"r0 = 1\n"
		"exit";
	static char lb[4][512];
	const int lboff[] = {0, 100, 112, 113};
	int types[] = {BPF_PROG_TYPE_SCHED_CLS, BPF_PROG_TYPE_SOCKET_FILTER, BPF_PROG_TYPE_CGROUP_SKB};
	const char *tnames[] = {"sched_cls", "socket_filter", "cgroup_skb"};
	for (int t = 0; t < 3; t++) {
		char name[96];
		for (int k = 0; k < 2; k++) {
			snprintf(name, sizeof name, "%s/ld_abs-%s", tnames[t], pnames[k]);
			struct tcase c = {name, types[t], ldabs, pkts[k], plens[k]};
			compare(&c);
		}
		snprintf(name, sizeof name, "%s/ld_abs-out-of-range", tnames[t]);
		struct tcase c = {name, types[t], ldabs_oob, pkt_ip4, 128};
		compare(&c);
		for (int k = 0; k < 4; k++) {
			snprintf(lb[k], sizeof lb[k], loadb, lboff[k]);
			snprintf(name, sizeof name, "%s/skb_load_bytes-%d", tnames[t], lboff[k]);
			struct tcase d = {name, types[t], lb[k], pkt_ip4, 128, NULL, 0, 1};
			compare(&d);
		}
	}

	/* SOCKET_FILTER and CGROUP_SKB: fields into cb (ctx_out), five at a time */
	struct acc sf[64];
	size_t nsf = 0;
	for (size_t i = 0; i < sizeof skb_common / sizeof skb_common[0]; i++)
		sf[nsf++] = skb_common[i];
	sf[nsf++] = (struct acc){0, 1};
	sf[nsf++] = (struct acc){18, 2};
	sf[nsf++] = (struct acc){50, 2};
	struct acc cg[64];
	size_t ncg = 0;
	for (size_t i = 0; i < sizeof skb_common / sizeof skb_common[0]; i++)
		cg[ncg++] = skb_common[i];
	for (int off = 88; off <= 136; off += 4)   /* family .. local_port */
		cg[ncg++] = (struct acc){off, 4};
	cg[ncg++] = (struct acc){152, 8};
	cg[ncg++] = (struct acc){184, 8};
	cg[ncg++] = (struct acc){88, 2};
	for (int t = 1; t < 3; t++) {
		const struct acc *a = t == 1 ? sf : cg;
		size_t na = t == 1 ? nsf : ncg;
		for (size_t g = 0; g < na; g += 5) {
			size_t m = na - g < 5 ? na - g : 5;
			for (size_t k = 0; k < 5; k++) {
				char name[96];
				snprintf(name, sizeof name, "%s/fields-%zu-%s", tnames[t], g, pnames[k]);
				struct tcase c = {name, types[t], fields_to_cb(a + g, m, 1), pkts[k], plens[k],
						  NULL, 0, 1};
				compare(&c);
				snprintf(name, sizeof name, "%s/fields-%zu-%s-ctx", tnames[t], g, pnames[k]);
				c.ctx = ctx, c.ctx_len = sizeof ctx;
				compare(&c);
			}
		}
	}
	/* cgroup_skb: write mark/priority/tstamp, return 0 or 1 (2 refused: ingress) */
	const char *cgw = "r2 = 0x77\n*(u32 *)(r1 + 8) = r2\n*(u32 *)(r1 + 32) = r2\n"
			  "r2 = 0x5555 ll\n*(u64 *)(r1 + 152) = r2\nr0 = 1\nexit";
	struct tcase c = {"cgroup_skb/write", BPF_PROG_TYPE_CGROUP_SKB, cgw, pkt_ip4, 128, ctx, sizeof ctx, 1};
	compare(&c);
	/* (return values outside 0..1 are refused by the kernel's verifier at load: Skep's
	 * verifier checks the type's return range, not this layer) */
	c.name = "cgroup_skb/tc_classid-refused", c.text = "r0 = *(u32 *)(r1 + 72)\nr0 = 1\nexit";
	compare(&c);
	c.name = "cgroup_skb/data_meta-refused", c.text = "r0 = *(u32 *)(r1 + 140)\nr0 = 1\nexit";
	compare(&c);
	/* cgroup_skb data/data_end as the test run sets them */
	c.name = "cgroup_skb/data-pointers";
	c.text = "r2 = *(u32 *)(r1 + 76)\n"
		 "r3 = *(u32 *)(r1 + 80)\n"
		 "r5 = r3\n"
		 "r5 -= r2\n"
		 "*(u32 *)(r1 + 48) = r5\n"
		 "r0 = 0\n"
		 "r4 = r2\n"
		 "r4 += 20\n"
		 "if r4 > r3 goto +3\n"
		 "r0 = *(u32 *)(r2 + 12)\n"
		 "*(u32 *)(r1 + 52) = r0\n"
		 "r0 = 1\n"
		 "exit";
	compare(&c);
	c.name = "socket_filter/write-mark-refused";
	c.type = BPF_PROG_TYPE_SOCKET_FILTER;
	c.text = "r2 = 1\n*(u32 *)(r1 + 8) = r2\nr0 = 0\nexit";
	compare(&c);
	c.name = "socket_filter/data-refused", c.text = "r0 = *(u32 *)(r1 + 76)\nexit";
	compare(&c);
	c.name = "socket_filter/return-0xffff", c.text = "r0 = 0xffff\nexit";
	compare(&c);

	/* test-run input rules */
	c.type = BPF_PROG_TYPE_SCHED_CLS;
	c.text = "r0 = 0\nexit";
	static uint8_t bad[192];
	static const int bad_offs[] = {0, 4, 12, 16, 44, 68, 72, 76, 88, 140, 168, 180};
	for (size_t i = 0; i < sizeof bad_offs / sizeof bad_offs[0]; i++) {
		char name[64];
		memset(bad, 0, sizeof bad);
		bad[bad_offs[i]] = 1;
		snprintf(name, sizeof name, "sched_cls/ctx-in-field-%d", bad_offs[i]);
		c.name = name, c.ctx = bad;
		compare(&c);
	}
	memset(bad, 0, sizeof bad);
	SETU32(0, 0);
	v = 50;
	memcpy(bad + 160, &v, 4);
	c.name = "sched_cls/wire_len-short", c.ctx = bad;
	compare(&c);
	v = 200;
	memcpy(bad + 160, &v, 4);
	c.name = "sched_cls/wire_len-ok";
	compare(&c);
	v = 70000;
	memcpy(bad + 164, &v, 4);
	c.name = "sched_cls/gso_segs-too-many";
	compare(&c);
	c.name = "sched_cls/short-packet", c.ctx = NULL, c.data_len = 13;
	compare(&c);
}

/* __sk_buff.sk: the test run's socket as a struct bpf_sock, with and without
 * bpf_sk_fullsock; fields into cb[] (ctx_out) */
static void sock_cases(void)
{
	static const struct acc common[] = {{4, 4}, {24, 4}, {28, 4}, {32, 4}, {36, 4}, {40, 4}, {44, 4},
					    {48, 2}, {52, 4}, {56, 4}, {60, 4}, {64, 4}, {68, 4}, {72, 4},
					    {4, 2}, {25, 1}};
	static const struct acc full[] = {{0, 4}, {8, 4}, {12, 4}, {16, 4}, {20, 4}, {76, 4}};
	const uint8_t *pkts[] = {pkt_ip4, pkt_ip6, pkt_other};
	const char *pn[] = {"ip4", "ip6", "other"};
	int types[] = {BPF_PROG_TYPE_SCHED_CLS, BPF_PROG_TYPE_CGROUP_SKB, BPF_PROG_TYPE_SOCKET_FILTER};
	const char *tn[] = {"sched_cls", "cgroup_skb", "socket_filter"};
	for (int t = 0; t < 3; t++)
		for (int fs = 0; fs < (t < 2 ? 2 : 1); fs++) {
			const struct acc *a = fs ? full : common;
			size_t na = fs ? sizeof full / sizeof full[0] : sizeof common / sizeof common[0];
			for (size_t g = 0; g < na; g += 4) {
				begin();
				emit("r6 = r1");
				emit("r0 = 1");
				emit("r7 = *(u64 *)(r6 + 168)");
				emit("if r7 == 0 goto null");
				if (fs) {
					emit("r1 = r7");
					emit("call 95");
					emit("if r0 == 0 goto null");
					emit("r7 = r0");
				}
				for (size_t k = g; k < na && k < g + 4; k++) {
					emit("r2 = *(%s *)(r7 + %d)", usz(a[k].size), a[k].off);
					emit("*(u32 *)(r6 + %zu) = r2", 52 + 4 * (k - g));
				}
				emit("r0 = 1");
				emit("exit");
				emit("null:");
				emit("*(u32 *)(r6 + 48) = 0x4e554c4c");
				emit("exit");
				for (int k = 0; k < 3; k++) {
					char name[96];
					snprintf(name, sizeof name, "%s/sk%s-%zu-%s", tn[t], fs ? "-fullsock" : "", g, pn[k]);
					struct tcase c = {name, types[t], prog, pkts[k], 64, NULL, 0, 1};
					compare(&c);
				}
			}
		}
}

static void raw_tp_cases(void)
{
	static const uint64_t args[12] = {1, 2, 3, 0x100000004ull, 5, 6, 7, 8, 9, 10, 11, 12};
	const char *sum = "r0 = *(u64 *)(r1 + 0)\n"
			  "r2 = *(u64 *)(r1 + 8)\n"
			  "r0 += r2\n"
			  "r2 = *(u32 *)(r1 + 28)\n"
			  "r0 += r2\n"
			  "r2 = *(u8 *)(r1 + 24)\n"
			  "r0 += r2\n"
			  "exit";
	struct tcase c = {"raw_tp/sum", BPF_PROG_TYPE_RAW_TRACEPOINT, sum, NULL, 0, args, 32};
	compare(&c);
	c.name = "raw_tp/short-ctx", c.ctx_len = 24;
	compare(&c);
	c.name = "raw_tp/full-ctx", c.ctx_len = 96;
	compare(&c);
	c.name = "raw_tp/too-big-ctx", c.ctx_len = 104;
	compare(&c);
	c.name = "raw_tp/write-refused", c.text = "r2 = 1\n*(u64 *)(r1 + 0) = r2\nr0 = 0\nexit";
	c.ctx_len = 32;
	compare(&c);
	c.name = "raw_tp/beyond-args", c.text = "r0 = *(u64 *)(r1 + 96)\nexit";
	compare(&c);
}

/* What clang-19 -O2 -target bpf makes of a C XDP program whose parser is a separate
 * function given the context (noinline): parse(ctx, 3) returns ip->ttl + 3 +
 * ctx->ingress_ifindex or a negative error; the program drops on error, else grows the
 * head by 4 bytes and writes the result there (XDP_TX). */
static const char clang_xdp[] =
	"r7 = r1\ncall L23\nr6 = r0\nr0 = 0x1\nr6 <<= 0x20\nr6 s>>= 0x20\nr1 = 0x0\n"
	"if r1 s> r6 goto L22\nr1 = r7\nr2 = 0xfffffffc ll\ncall 0x2c\nr1 = r0\nr0 = 0x0\n"
	"if r1 != 0x0 goto L22\nr2 = *(u32 *)(r7 + 4)\nr1 = *(u32 *)(r7 + 0)\nr3 = r1\nr3 += 0x8\n"
	"if r3 > r2 goto L22\n*(u32 *)(r1 + 0) = r6\nr0 = 0x3\nL22:\nexit\n"
	"L23:\nr0 = 0xffffffff ll\nr3 = *(u32 *)(r1 + 4)\nr2 = *(u32 *)(r1 + 0)\nr4 = r2\nr4 += 0xe\n"
	"if r4 > r3 goto L46\nr4 = *(u8 *)(r2 + 12)\nr5 = *(u8 *)(r2 + 13)\nr5 <<= 0x8\nr5 |= r4\n"
	"r0 = 0xfffffffe ll\nif r5 != 0x8 goto L46\nr0 = 0xfffffffd ll\nr4 = r2\nr4 += 0x22\n"
	"if r4 > r3 goto L46\nr1 = *(u32 *)(r1 + 12)\nr0 = *(u8 *)(r2 + 22)\nr0 += r1\nr0 += 0x3\n"
	"L46:\nexit\n";

static void clang_cases(void)
{
	const uint8_t *pkts[] = {pkt_ip4, pkt_ip6, pkt_small, pkt_bcast};
	const uint32_t lens[] = {128, 128, 14, 34};
	for (int k = 0; k < 4; k++) {
		char name[64];
		snprintf(name, sizeof name, "clang/xdp-parse-%d", k);
		struct tcase c = {name, KERNEL_PROG_XDP, clang_xdp, pkts[k], lens[k]};
		compare(&c);
	}
}

int main(void)
{
	char why[256];
	if (!kernel_available(why, sizeof why)) {
		t_skip("progtypes-kernel", "the kernel cannot be the oracle here: %s", why);
		return t_done();
	}
	make_packets();
	xdp_cases();
	skb_cases();
	raw_tp_cases();
	sock_cases();
	clang_cases();
	return t_done();
}
