/* The kernel as the oracle: see kernel.h. */
#include "kernel.h"

#include <errno.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define ETH_HLEN 14
#define XDP_MAX_DATA 3000   /* well inside one page minus XDP headroom and tailroom */
#define SKB_MAX_DATA 3000

static struct skep_insn mk(uint8_t code, int dst, int src, int16_t off, int32_t imm)
{
	struct skep_insn i = {code, (uint8_t)dst, (uint8_t)src, off, imm};
	return i;
}

static long sys_bpf(int cmd, union bpf_attr *attr)
{
	return syscall(__NR_bpf, cmd, attr, sizeof(*attr));
}

/* The first line of the log and the last one that is not the closing statistics. */
static void log_reason(const char *log, char *out, size_t outlen)
{
	const char *first = log, *fe = strchr(log, '\n');
	if (!fe)
		fe = log + strlen(log);
	const char *last = NULL, *le = NULL;
	for (const char *p = log; *p;) {
		const char *e = strchr(p, '\n');
		if (!e)
			e = p + strlen(p);
		if (e > p && strncmp(p, "processed ", 10) && strncmp(p, "verification time", 17) &&
		    strncmp(p, "stack depth", 11))
			last = p, le = e;
		p = *e ? e + 1 : e;
	}
	if (!*log)
		snprintf(out, outlen, "(empty verifier log)");
	else if (!last || last == first)
		snprintf(out, outlen, "%.*s", (int)(fe - first), first);
	else
		snprintf(out, outlen, "%.*s ... %.*s", (int)(fe - first), first, (int)(le - last), last);
}

int kernel_prog_load(int prog_type, const struct skep_insn *insns, size_t n,
		     char *log, size_t log_size)
{
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.prog_type = (uint32_t)prog_type;
	a.insns = (uint64_t)(uintptr_t)insns;
	a.insn_cnt = (uint32_t)n;
	a.license = (uint64_t)(uintptr_t)"GPL";
	if (log && log_size) {
		log[0] = 0;
		a.log_buf = (uint64_t)(uintptr_t)log;
		a.log_size = (uint32_t)(log_size > UINT32_MAX ? UINT32_MAX : log_size);
		a.log_level = 1;
	}
	long fd = sys_bpf(BPF_PROG_LOAD, &a);
	if (fd < 0 && errno == EAGAIN)   /* the kernel asks to retry loads that raced */
		fd = sys_bpf(BPF_PROG_LOAD, &a);
	return fd < 0 ? -errno : (int)fd;
}

int kernel_test_run(int fd, const void *data_in, size_t len_in, const void *ctx, size_t ctx_len,
		    uint32_t repeat, uint32_t *retval, uint32_t *duration_ns,
		    void *data_out, size_t *data_out_len)
{
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.test.prog_fd = (uint32_t)fd;
	a.test.data_in = (uint64_t)(uintptr_t)data_in;
	a.test.data_size_in = (uint32_t)len_in;
	a.test.ctx_in = (uint64_t)(uintptr_t)ctx;
	a.test.ctx_size_in = (uint32_t)ctx_len;
	a.test.repeat = repeat;
	if (data_out && data_out_len) {
		a.test.data_out = (uint64_t)(uintptr_t)data_out;
		a.test.data_size_out = (uint32_t)*data_out_len;
	}
	if (sys_bpf(BPF_PROG_TEST_RUN, &a) < 0)
		return -errno;
	if (retval)
		*retval = a.test.retval;
	if (duration_ns)
		*duration_ns = a.test.duration;
	if (data_out && data_out_len)
		*data_out_len = a.test.data_size_out;
	return 0;
}

int kernel_available(char *why, size_t whylen)
{
	static int cached = -1;
	static char reason[160];
	if (cached < 0) {
		struct skep_insn p[2] = {mk(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0),
					 mk(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)};
		int fd = kernel_prog_load(KERNEL_PROG_SOCKET_FILTER, p, 2, NULL, 0);
		cached = fd >= 0;
		if (fd >= 0)
			close(fd);
		else if (fd == -EPERM || fd == -EACCES)
			snprintf(reason, sizeof(reason), "bpf(BPF_PROG_LOAD) not permitted (%s): run as root "
				 "or with CAP_BPF+CAP_PERFMON+CAP_NET_ADMIN", strerror(-fd));
		else
			snprintf(reason, sizeof(reason), "bpf(BPF_PROG_LOAD) unavailable: %s", strerror(-fd));
	}
	if (why && whylen)
		snprintf(why, whylen, "%s", cached ? "" : reason);
	return cached;
}

static int uses_ldpkt(const struct skep_insn *insns, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t c = insns[i].code;
		if (BPF_CLASS(c) == BPF_LD && (BPF_MODE(c) == BPF_ABS || BPF_MODE(c) == BPF_IND))
			return 1;
		if (c == (BPF_LD | BPF_IMM | BPF_DW))
			i++;
	}
	return 0;
}

/* Where the main program ends: the first target of a bpf-to-bpf call or of a
 * function-address lddw (n if none). */
static size_t main_end(const struct skep_insn *insns, size_t n)
{
	size_t end = n;
	for (size_t i = 0; i < n; i++) {
		const struct skep_insn *in = &insns[i];
		int is_call = in->code == (BPF_JMP | BPF_CALL) && in->src == BPF_PSEUDO_CALL;
		int is_func = in->code == (BPF_LD | BPF_IMM | BPF_DW) && in->src == BPF_PSEUDO_FUNC;
		if (is_call || is_func) {
			long t = (long)i + 1 + in->imm;
			if (t > 0 && (size_t)t < end)
				end = (size_t)t;
		}
		if (in->code == (BPF_LD | BPF_IMM | BPF_DW))
			i++;
	}
	return end;
}

/* The deepest r10-relative access of the main program, rounded up to 8 bytes; 512 when
 * it copies r10 into another register (the depth is then unknown). */
static int main_stack_depth(const struct skep_insn *insns, size_t me)
{
	int depth = 0;
	for (size_t i = 0; i < me; i++) {
		const struct skep_insn *in = &insns[i];
		uint8_t cls = BPF_CLASS(in->code);
		int off = 0;
		if (cls == BPF_LDX && in->src == 10)
			off = in->off;
		else if ((cls == BPF_ST || cls == BPF_STX) && in->dst == 10)
			off = in->off;
		else if ((cls == BPF_ALU || cls == BPF_ALU64) && BPF_SRC(in->code) == BPF_X && in->src == 10)
			return 512;
		if (-off > depth)
			depth = -off;
		if (in->code == (BPF_LD | BPF_IMM | BPF_DW))
			i++;
	}
	return (depth + 7) & ~7;
}

struct buf {
	struct skep_insn *v;
	size_t n, cap;
	int oom;
};

static void put(struct buf *b, struct skep_insn in)
{
	if (b->oom)
		return;
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 64;
		struct skep_insn *v = realloc(b->v, cap * sizeof(*v));
		if (!v) {
			free(b->v);
			b->v = NULL;
			b->oom = 1;
			return;
		}
		b->v = v, b->cap = cap;
	}
	b->v[b->n++] = in;
}

/* Copy len bytes between the packet (r1) and the stack at base, through r2. */
static void copy_bytes(struct buf *b, size_t len, int base, int to_stack)
{
	for (size_t i = 0; i < len;) {
		int w = len - i >= 8 ? 8 : len - i >= 4 ? 4 : len - i >= 2 ? 2 : 1;
		uint8_t sz = w == 8 ? BPF_DW : w == 4 ? BPF_W : w == 2 ? BPF_H : BPF_B;
		int16_t po = (int16_t)i, so = (int16_t)(base + (int)i);
		if (to_stack) {
			put(b, mk(BPF_LDX | BPF_MEM | sz, 2, 1, po, 0));
			put(b, mk(BPF_STX | BPF_MEM | sz, 10, 2, so, 0));
		} else {
			put(b, mk(BPF_LDX | BPF_MEM | sz, 2, 10, so, 0));
			put(b, mk(BPF_STX | BPF_MEM | sz, 1, 2, po, 0));
		}
		i += (size_t)w;
	}
}

struct skep_insn *kernel_wrap_mem(const struct skep_insn *insns, size_t n, size_t len,
				  unsigned flags, int *prog_type, size_t *out_n)
{
	struct buf b = {0};
	int32_t L = (int32_t)len;
	int skb = uses_ldpkt(insns, n), high = flags & KERNEL_WRAP_HIGH;
	int stack = !skb && len && (flags & KERNEL_WRAP_STACK);
	size_t me = high || stack ? main_end(insns, n) : n;
	int l8 = (int)((len + 7) & ~(size_t)7), base = 0, save = 0;
	if (stack) {
		base = -(main_stack_depth(insns, me) + l8);
		save = base - 8;
		if (save < -512)
			return NULL;
	}
	if (skb) {
		put(&b, mk(BPF_ALU64 | BPF_MOV | BPF_X, 6, 1, 0, 0));   /* r6 = ctx (r1 stays ctx) */
		put(&b, mk(BPF_ALU64 | BPF_MOV | BPF_K, 2, 0, 0, L));   /* r2 = len */
	} else if (!len) {   /* no data: r1 = 0, r2 = 0, as Skep runs a program without memory */
		put(&b, mk(BPF_ALU64 | BPF_MOV | BPF_K, 1, 0, 0, 0));
		put(&b, mk(BPF_ALU64 | BPF_MOV | BPF_K, 2, 0, 0, 0));
	} else {
		put(&b, mk(BPF_LDX | BPF_MEM | BPF_W, 2, 1, 4, 0));     /* r2 = data_end */
		put(&b, mk(BPF_LDX | BPF_MEM | BPF_W, 1, 1, 0, 0));     /* r1 = data */
		put(&b, mk(BPF_ALU64 | BPF_ADD | BPF_K, 1, 0, 0, L));   /* r1 += len */
		put(&b, mk(BPF_JMP | BPF_JLE | BPF_X, 1, 2, 2, 0));     /* if r1 <= r2 goto +2 */
		put(&b, mk(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0));
		put(&b, mk(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
		put(&b, mk(BPF_ALU64 | BPF_SUB | BPF_K, 1, 0, 0, L));   /* r1 = data */
		if (stack) {   /* the data goes to the stack; the packet pointer waits in a slot */
			put(&b, mk(BPF_STX | BPF_MEM | BPF_DW, 10, 1, (int16_t)save, 0));
			copy_bytes(&b, len, base, 1);
			for (int i = (int)len; i < l8; i++)
				put(&b, mk(BPF_ST | BPF_MEM | BPF_B, 10, 0, (int16_t)(base + i), 0));
			put(&b, mk(BPF_ALU64 | BPF_MOV | BPF_X, 1, 10, 0, 0));
			put(&b, mk(BPF_ALU64 | BPF_ADD | BPF_K, 1, 0, 0, base));
		}
		put(&b, mk(BPF_ALU64 | BPF_MOV | BPF_K, 2, 0, 0, L));   /* r2 = len */
	}
	/* the epilogue the main program's exits jump to (placed right after it) */
	struct buf e = {0};
	if (stack) {
		put(&e, mk(BPF_LDX | BPF_MEM | BPF_DW, 1, 10, (int16_t)save, 0));
		copy_bytes(&e, len, base, 0);
	}
	if (high)
		put(&e, mk(BPF_ALU64 | BPF_RSH | BPF_K, 0, 0, 0, 32));
	if (high || stack)
		put(&e, mk(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
	size_t ne = e.n;
	for (size_t i = 0; i < n && !b.oom && !e.oom; i++) {
		struct skep_insn in = insns[i];
		int lddw2 = i > 0 && insns[i - 1].code == (BPF_LD | BPF_IMM | BPF_DW);
		if (ne && i < me && !lddw2) {
			if (in.code == (BPF_JMP | BPF_EXIT)) {
				long d = (long)me - (long)i - 1;   /* to the epilogue at me */
				in = d <= INT16_MAX ? mk(BPF_JMP | BPF_JA, 0, 0, (int16_t)d, 0)
						    : mk(BPF_JMP32 | BPF_JA, 0, 0, 0, (int32_t)d);
			} else if ((in.code == (BPF_JMP | BPF_CALL) && in.src == BPF_PSEUDO_CALL) ||
				   (in.code == (BPF_LD | BPF_IMM | BPF_DW) && in.src == BPF_PSEUDO_FUNC)) {
				if ((long)i + 1 + in.imm >= (long)me)
					in.imm += (int32_t)ne;   /* the callee moved past the epilogue */
			}
		}
		if (i == me)
			for (size_t k = 0; k < ne; k++)
				put(&b, e.v[k]);
		put(&b, in);
	}
	if (me == n && !e.oom)
		for (size_t k = 0; k < ne; k++)
			put(&b, e.v[k]);
	int oom = b.oom || e.oom;
	free(e.v);
	if (oom) {
		free(b.v);
		return NULL;
	}
	if (prog_type)
		*prog_type = skb ? KERNEL_PROG_SOCKET_FILTER : KERNEL_PROG_XDP;
	*out_n = b.n;
	return b.v;
}

/* Load one variant into *fd; on refusal reload with a log to say why.
 * Returns KERNEL_OK, KERNEL_REFUSED, KERNEL_NOPERM or -errno. */
static int load_variant(const struct skep_insn *insns, size_t n, size_t len, unsigned flags,
			int *fd, struct kernel_info *info)
{
	size_t wn;
	struct skep_insn *w = kernel_wrap_mem(insns, n, len, flags, &info->prog_type, &wn);
	if (!w) {
		snprintf(info->reason, sizeof(info->reason), flags & KERNEL_WRAP_STACK ?
			 "the data does not fit on the stack beside the program's own" : "out of memory");
		return flags & KERNEL_WRAP_STACK ? KERNEL_REFUSED : -ENOMEM;
	}
	int rc = KERNEL_OK;
	*fd = kernel_prog_load(info->prog_type, w, wn, NULL, 0);
	if (*fd < 0) {
		int e = -*fd;
		size_t lsz = 1 << 22;
		char *log = malloc(lsz);
		*fd = log ? kernel_prog_load(info->prog_type, w, wn, log, lsz) : -e;
		if (*fd >= 0)   /* accepted the second time (should not happen): use it */
			;
		else if (e == EPERM || (e == EACCES && (!log || !*log))) {
			info->err = e;
			snprintf(info->reason, sizeof(info->reason), "bpf(BPF_PROG_LOAD): %s (not permitted)",
				 strerror(e));
			rc = KERNEL_NOPERM;
		} else if (log && *log) {
			char r[480];
			info->err = e;
			log_reason(log, r, sizeof(r));
			snprintf(info->reason, sizeof(info->reason), "%s: %s", strerror(e), r);
			rc = KERNEL_REFUSED;
		} else {
			info->err = e;
			snprintf(info->reason, sizeof(info->reason), "bpf(BPF_PROG_LOAD): %s", strerror(e));
			rc = -e;
		}
		free(log);
	}
	free(w);
	return rc;
}

int kernel_run_mem(const struct skep_insn *insns, size_t n, void *mem, size_t len,
		   uint64_t *r0, struct kernel_info *info)
{
	struct kernel_info dummy;
	if (!info)
		info = &dummy;
	memset(info, 0, sizeof(*info));
	int skb = uses_ldpkt(insns, n);
	info->prog_type = skb ? KERNEL_PROG_SOCKET_FILTER : KERNEL_PROG_XDP;
	if (len > (skb ? SKB_MAX_DATA : XDP_MAX_DATA)) {
		snprintf(info->reason, sizeof(info->reason), "data of %zu bytes is more than a %s test run takes",
			 len, skb ? "socket filter" : "XDP");
		return KERNEL_TOOBIG;
	}
	/* the data as the test run sees it: a leading Ethernet header for skbs, padding for XDP */
	size_t head = skb ? ETH_HLEN : 0, in_len = head + len;
	if (in_len < ETH_HLEN)
		in_len = ETH_HLEN;
	size_t cap = in_len + 64;
	uint8_t *in = calloc(1, in_len), *out[2] = {malloc(cap), malloc(cap)};
	int rc = 0, fd[2] = {-1, -1};
	uint32_t ret[2] = {0, 0};
	if (!in || !out[0] || !out[1]) {
		snprintf(info->reason, sizeof(info->reason), "out of memory");
		rc = -ENOMEM;
		goto done;
	}
	if (len)
		memcpy(in + head, mem, len);
	unsigned mode = 0;
	for (int h = 0; h < 2; h++) {
		rc = load_variant(insns, n, len, mode | (h ? KERNEL_WRAP_HIGH : 0), &fd[h], info);
		if (rc == KERNEL_REFUSED && !h && !mode && !skb && len &&
		    strstr(info->reason, "BPF_ATOMIC stores into") && strstr(info->reason, "pkt")) {
			/* atomics on the packet are refused: run on a stack copy of the data */
			mode = KERNEL_WRAP_STACK;
			info->stack_copy = 1;
			rc = load_variant(insns, n, len, mode, &fd[h], info);
		}
		if (rc != KERNEL_OK) {
			if (h == 1 && rc == KERNEL_REFUSED) {   /* the rewrite broke it: say so */
				char r[sizeof(info->reason)];
				memcpy(r, info->reason, sizeof(r));
				snprintf(info->reason, sizeof(info->reason), "high-half variant refused: %.480s", r);
			}
			goto done;
		}
		size_t olen = cap;
		int e = kernel_test_run(fd[h], in, in_len, NULL, 0, 1, &ret[h], NULL, out[h], &olen);
		if (e < 0) {
			info->err = -e;
			snprintf(info->reason, sizeof(info->reason), "bpf(BPF_PROG_TEST_RUN): %s", strerror(-e));
			rc = e == -EPERM ? KERNEL_NOPERM : e;
			goto done;
		}
		if (olen < head + len) {
			snprintf(info->reason, sizeof(info->reason), "test run gave %zu bytes of data out, "
				 "want at least %zu", olen, head + len);
			rc = -EIO;
			goto done;
		}
	}
	if (len && memcmp(out[0] + head, out[1] + head, len)) {
		snprintf(info->reason, sizeof(info->reason), "data out differs between the two runs");
		rc = -EIO;
		goto done;
	}
	if (len)
		memcpy(mem, out[0] + head, len);
	*r0 = (uint64_t)ret[1] << 32 | ret[0];
done:
	for (int h = 0; h < 2; h++)
		if (fd[h] >= 0)
			close(fd[h]);
	free(in);
	free(out[0]);
	free(out[1]);
	return rc;
}
