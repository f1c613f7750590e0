/* Program type contexts for the verifier: which bytes of the context a program may
 * read or write, and what a load gives (a number or a packet pointer) — the kernel's
 * *_is_valid_access functions as data. Until src/progtypes/ provides descriptors
 * (include/skep/progtype.h), these are the verifier's own. */
#include <string.h>
#include <strings.h>

#include "verifier.h"

#define F(o, s, k, w, n) {(o), (s), (k), (w), (n), 0, 0, 0}
#define A(t) (1ull << (t))                      /* an attach type's bit */
#define R4(o) F(o, 4, CF_SCALAR, 0, 1)          /* readable u32, narrow loads ok */
#define W4(o) F(o, 4, CF_SCALAR, 1, 1)          /* read/write u32 */

/* struct __sk_buff, as a socket filter sees it */
static const struct ctx_field skb_socket[] = {
	R4(0), R4(4), R4(8), R4(12), R4(16), R4(20),
	R4(24), R4(28), R4(32), R4(36), R4(40), R4(44),
	W4(48), W4(52), W4(56), W4(60), W4(64),       /* cb[5] */
	R4(68),                                       /* hash */
	R4(84),                                       /* napi_id */
	R4(164), R4(176),                             /* gso_segs, gso_size */
	{168, 8, CF_PTR_SOCK_COMMON, 0, 0, 1, 0, 0},  /* sk: sock_common or NULL */
};

/* struct __sk_buff for tc (sched_cls / sched_act) */
static const struct ctx_field skb_tc[] = {
	R4(0), R4(4), W4(8), W4(12), R4(16), R4(20), R4(24), R4(28), W4(32), R4(36), R4(40), W4(44),
	W4(48), W4(52), W4(56), W4(60), W4(64),
	R4(68), W4(72),                               /* hash, tc_classid */
	F(76, 4, CF_PKT, 0, 0), F(80, 4, CF_PKT_END, 0, 0),
	R4(84),                                       /* napi_id; family..local_port: not for tc */
	F(140, 4, CF_PKT_META, 0, 0),
	{152, 8, CF_SCALAR, 1, 0, 1, 0, 0},           /* tstamp */
	R4(160), R4(164), R4(176),
	{168, 8, CF_PTR_SOCK_COMMON, 0, 0, 1, 0, 0},  /* sk */
	{184, 8, CF_SCALAR, 0, 0, 1, 0, 0},           /* hwtstamp */
};

/* struct __sk_buff for cgroup_skb: read-only packet */
static const struct ctx_field skb_cgroup[] = {
	R4(0), R4(4), W4(8), R4(12), R4(16), R4(20), R4(24), R4(28), W4(32), R4(36), R4(40), R4(44),
	W4(48), W4(52), W4(56), W4(60), W4(64), R4(68),
	F(76, 4, CF_PKT, 0, 0), F(80, 4, CF_PKT_END, 0, 0), R4(84),
	R4(88), R4(92), R4(96), R4(100), R4(104), R4(108), R4(112), R4(116), R4(120), R4(124),
	R4(128), R4(132), R4(136),
	{152, 8, CF_SCALAR, 1, 0, 1, 0, 0},
	R4(164), R4(176),                             /* not wire_len */
	{168, 8, CF_PTR_SOCK_COMMON, 0, 0, 1, 0, 0},
	{184, 8, CF_SCALAR, 0, 0, 1, 0, 0},           /* hwtstamp */
};

/* struct xdp_md */
static const struct ctx_field xdp_md[] = {
	F(0, 4, CF_PKT, 0, 0), F(4, 4, CF_PKT_END, 0, 0), F(8, 4, CF_PKT_META, 0, 0),
	F(12, 4, CF_SCALAR, 0, 0), F(16, 4, CF_SCALAR, 0, 0),
};

/* struct bpf_sock (cgroup_sock, __sock_filter_check_attach_type): bound_dev_if, mark and
 * priority read/write for sock_create/release only; source address and port read-only
 * for post_bind; the rest read-only. Attach types: 2 sock_create, 12/13 post_bind4/6,
 * 34 sock_release (0 is taken as sock_create, as the kernel's load does). */
#define SOCK_RW (A(0) | A(2) | A(34))
#define POST4 A(12)
#define POST6 A(13)
static const struct ctx_field bpf_sock[] = {
	{0, 4, CF_SCALAR, 1, 1, 0, SOCK_RW, 0}, R4(4), R4(8), R4(12),
	{16, 4, CF_SCALAR, 1, 1, 0, SOCK_RW, 0}, {20, 4, CF_SCALAR, 1, 1, 0, SOCK_RW, 0},
	{24, 4, CF_SCALAR, 0, 1, 0, POST4, 0},
	{28, 4, CF_SCALAR, 0, 1, 0, POST6, 0}, {32, 4, CF_SCALAR, 0, 1, 0, POST6, 0},
	{36, 4, CF_SCALAR, 0, 1, 0, POST6, 0}, {40, 4, CF_SCALAR, 0, 1, 0, POST6, 0},
	{44, 4, CF_SCALAR, 0, 1, 0, POST4 | POST6, 0},
	R4(48), R4(52), R4(56), R4(60), R4(64), R4(68), R4(72), R4(76),
};

/* struct bpf_sock_addr (sock_addr_is_valid_access): user_ip4 for the IPv4 hooks, user_ip6
 * for the IPv6 ones, msg_src_ip4/6 for sendmsg4/6 only; user_family, family, type and
 * protocol read-only; sk a socket (never NULL) */
#define INET4 (A(8) | A(10) | A(14) | A(19) | A(29) | A(31))
#define INET6 (A(9) | A(11) | A(15) | A(20) | A(30) | A(32))
#define RW4A(o, m) {(o), 4, CF_SCALAR, 1, 1, 0, (m), 0}
static const struct ctx_field sock_addr[] = {
	F(0, 4, CF_SCALAR, 0, 0), RW4A(4, INET4),
	RW4A(8, INET6), RW4A(12, INET6), RW4A(16, INET6), RW4A(20, INET6),
	W4(24), F(28, 4, CF_SCALAR, 0, 0), F(32, 4, CF_SCALAR, 0, 0), F(36, 4, CF_SCALAR, 0, 0),
	RW4A(40, A(14)), RW4A(44, A(15)), RW4A(48, A(15)), RW4A(52, A(15)), RW4A(56, A(15)),
	{64, 8, CF_PTR_SOCK_NN, 0, 0, 1, 0, 0},
};

/* struct bpf_sock_ops: op, args (reply at 4 is the only writable one, with sk_txhash),
 * the socket's fields (read), then the skb's data, data_end, len, tcp_flags, hwtstamp */
static const struct ctx_field sock_ops[] = {
	R4(0), W4(4), R4(8), R4(12), R4(16), R4(20), R4(24), R4(28), R4(32), R4(36), R4(40), R4(44),
	R4(48), R4(52), R4(56), R4(60), R4(64), R4(68), R4(72), R4(76), R4(80), R4(84), R4(88),
	R4(92), R4(96), R4(100), R4(104), R4(108), R4(112), R4(116), R4(120), R4(124), R4(128),
	R4(132), R4(136), R4(140), R4(144), R4(148), R4(152), R4(156), R4(160), W4(164),
	{168, 8, CF_SCALAR, 0, 0, 1, 0, 0}, {176, 8, CF_SCALAR, 0, 0, 1, 0, 0},
	{184, 8, CF_PTR_SOCK, 0, 0, 1, 0, 0},
	{192, 8, CF_PKT, 0, 0, 1, 0, 0}, {200, 8, CF_PKT_END, 0, 0, 1, 0, 0},
	R4(208), R4(212), {216, 8, CF_SCALAR, 0, 0, 1, 0, 0},
};

/* struct bpf_perf_event_data: pt_regs as whole u64s, sample_period and addr also narrow */
#define R8(o) {(o), 8, CF_SCALAR, 0, 0, 1, 0, 0}
static const struct ctx_field perf_event[] = {
	R8(0), R8(8), R8(16), R8(24), R8(32), R8(40), R8(48), R8(56), R8(64), R8(72), R8(80),
	R8(88), R8(96), R8(104), R8(112), R8(120), R8(128), R8(136), R8(144), R8(152), R8(160),
	{168, 8, CF_SCALAR, 0, 1, 1, 0, 0}, {176, 8, CF_SCALAR, 0, 1, 1, 0, 0},
};

#define T(pt, nm, al, sz, fl, minoff, rmin, rmax, pkt, ldabs) \
	{pt, nm, al, sz, fl, sizeof(fl) / sizeof((fl)[0]), minoff, rmin, rmax, pkt, ldabs, 0}
#define TANY(pt, nm, al, sz, minoff, rmin, rmax) \
	{pt, nm, al, sz, NULL, 0, minoff, rmin, rmax, 0, 0, 0}

static const struct ctx_desc descs[] = {
	T(1, "socket_filter", "socket", 192, skb_socket, 0, 0, -1, false, true),
	TANY(2, "kprobe", "uprobe", 168, 0, 0, -1),
	T(3, "sched_cls", "tc", 192, skb_tc, 0, 0, -1, true, true),
	T(4, "sched_act", "action", 192, skb_tc, 0, 0, -1, true, true),
	TANY(5, "tracepoint", "tp", 8192, 8, 0, -1),
	T(6, "xdp", NULL, 24, xdp_md, 0, 0, -1, true, false),
	T(7, "perf_event", NULL, 184, perf_event, 0, 0, -1, false, false),
	T(8, "cgroup_skb", NULL, 192, skb_cgroup, 0, 0, 1, true, true),
	T(9, "cgroup_sock", NULL, 80, bpf_sock, 0, 0, 1, false, false),
	T(13, "sock_ops", NULL, 224, sock_ops, 0, 0, 1, false, false),
	TANY(17, "raw_tracepoint", "raw_tp", 96, 0, 0, -1),
	T(18, "cgroup_sock_addr", NULL, 72, sock_addr, 0, 0, 1, false, false),
};

const struct ctx_desc *ctx_desc_for(uint32_t prog_type)
{
	for (size_t i = 0; i < sizeof descs / sizeof descs[0]; i++)
		if (descs[i].prog_type == prog_type)
			return &descs[i];
	return NULL;
}

int ctx_access_ok(const struct ctx_desc *d, int off, int size, int t, int *kind, int *field_size,
		  uint32_t attach)
{
	*kind = CF_SCALAR;
	*field_size = size;
	if (off < 0 || (uint32_t)off >= d->size || off % size)
		return -1;
	if (!d->fields) {
		/* read-only, any aligned width inside the context */
		if (t == BPF_WRITE && !d->any_write)
			return -1;
		if ((uint32_t)off < d->min_off || (uint32_t)(off + size) > d->size)
			return -1;
		return 0;
	}
	for (int i = 0; i < d->nfields; i++) {
		const struct ctx_field *f = &d->fields[i];
		if (off < f->off || off >= f->off + f->size)
			continue;
		if (t == BPF_WRITE && !f->write)
			return -1;
		if (f->attach && (attach >= 64 || !(f->attach & A(attach))))
			return -1;
		*kind = f->kind;
		*field_size = f->size;
		if (size == f->size && off == f->off)
			return 0;
		/* a u64 field may be read as u32 halves? only narrow loads at its start */
		if (t == BPF_READ && f->narrow && size < f->size && off + size <= f->off + f->size)
			return 0;
		return -1;
	}
	return -1;
}

int skep_verify_type_by_name(const char *name)
{
	if (!name)
		return -1;
	if (!strcasecmp(name, "memory") || !strcmp(name, "0"))
		return 0;
	for (size_t i = 0; i < sizeof descs / sizeof descs[0]; i++)
		if (!strcasecmp(name, descs[i].name) || (descs[i].alias && !strcasecmp(name, descs[i].alias)))
			return (int)descs[i].prog_type;
	if (!strcasecmp(name, "socket"))
		return 1;
	return -1;
}

const char *skep_verify_type_name(uint32_t type)
{
	if (type == 0)
		return "memory";
	const struct ctx_desc *d = ctx_desc_for(type);
	return d ? d->name : NULL;
}
