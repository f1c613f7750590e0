/* The __sk_buff types: SOCKET_FILTER, SCHED_CLS, SCHED_ACT and CGROUP_SKB, with the
 * field access of the kernel's sk_filter_, tc_cls_act_ and cg_skb_is_valid_access, and
 * the test run of bpf_prog_test_run_skb. The real context keeps every scalar field at
 * its UAPI offset (so narrow loads need no shifting) and puts the packet pointers,
 * 64-bit, after the UAPI struct. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "progtypes.h"

/* struct __sk_buff offsets used by the test run */
enum {
	SKB_LEN = 0, SKB_PKT_TYPE = 4, SKB_MARK = 8, SKB_PROTOCOL = 16, SKB_PRIORITY = 32,
	SKB_INGRESS_IFINDEX = 36, SKB_IFINDEX = 40, SKB_CB = 48, SKB_CB_END = 68,
	SKB_FAMILY = 88, SKB_REMOTE_IP4 = 92, SKB_LOCAL_IP4 = 96, SKB_REMOTE_IP6 = 100,
	SKB_LOCAL_IP6 = 116, SKB_TSTAMP = 152, SKB_WIRE_LEN = 160, SKB_GSO_SEGS = 164,
	SKB_SK = 168, SKB_GSO_SIZE = 176, SKB_HWTSTAMP = 184,
};
/* struct bpf_sock offsets */
enum {
	SOCK_FAMILY = 4, SOCK_SRC_IP4 = 24, SOCK_SRC_IP6 = 28, SOCK_DST_IP4 = 52, SOCK_DST_IP6 = 56,
	SOCK_STATE = 72, SOCK_RX_QUEUE_MAPPING = 76,
};

#define R SKEP_CTX_READ
#define RW SKEP_CTX_RW
#define N SKEP_CTX_NARROW
#define P(f) (uint16_t)offsetof(struct pt_skb_ctx, f)
/* name, off, size, flags, kind, real_off, real_size, then the access for socket_filter,
 * sched_cls/act and cgroup_skb (0 = refused) */
#define SKB_FIELDS(X) \
	X("len", 0, 4, N, SCALAR, 0, 4, R, R, R) \
	X("pkt_type", 4, 4, N, SCALAR, 4, 1, R, R, R) \
	X("mark", 8, 4, N, SCALAR, 8, 4, R, RW, RW) \
	X("queue_mapping", 12, 4, N, SCALAR, 12, 2, R, RW, R) \
	X("protocol", 16, 4, N, SCALAR, 16, 2, R, R, R) \
	X("vlan_present", 20, 4, N, SCALAR, 20, 4, R, R, R) \
	X("vlan_tci", 24, 4, N, SCALAR, 24, 2, R, R, R) \
	X("vlan_proto", 28, 4, N, SCALAR, 28, 2, R, R, R) \
	X("priority", 32, 4, N, SCALAR, 32, 4, R, RW, RW) \
	X("ingress_ifindex", 36, 4, N, SCALAR, 36, 4, R, R, R) \
	X("ifindex", 40, 4, N, SCALAR, 40, 4, R, R, R) \
	X("tc_index", 44, 4, N, SCALAR, 44, 2, R, RW, R) \
	X("cb", 48, 20, SKEP_CTX_ANY_SIZE, SCALAR, 48, 20, RW, RW, RW) \
	X("hash", 68, 4, N, SCALAR, 68, 4, R, R, R) \
	X("tc_classid", 72, 4, N, SCALAR, 72, 2, 0, RW, 0) \
	X("data", 76, 4, 0, PKT_DATA, P(data), 8, 0, R, R) \
	X("data_end", 80, 4, 0, PKT_END, P(data_end), 8, 0, R, R) \
	X("napi_id", 84, 4, N, SCALAR, 84, 4, R, R, R) \
	X("family", 88, 4, N, SCALAR, 88, 2, 0, 0, R) \
	X("remote_ip4", 92, 4, 0, SCALAR, 92, 4, 0, 0, R) \
	X("local_ip4", 96, 4, 0, SCALAR, 96, 4, 0, 0, R) \
	X("remote_ip6[0]", 100, 4, 0, SCALAR, 100, 4, 0, 0, R) \
	X("remote_ip6[1]", 104, 4, 0, SCALAR, 104, 4, 0, 0, R) \
	X("remote_ip6[2]", 108, 4, 0, SCALAR, 108, 4, 0, 0, R) \
	X("remote_ip6[3]", 112, 4, 0, SCALAR, 112, 4, 0, 0, R) \
	X("local_ip6[0]", 116, 4, 0, SCALAR, 116, 4, 0, 0, R) \
	X("local_ip6[1]", 120, 4, 0, SCALAR, 120, 4, 0, 0, R) \
	X("local_ip6[2]", 124, 4, 0, SCALAR, 124, 4, 0, 0, R) \
	X("local_ip6[3]", 128, 4, 0, SCALAR, 128, 4, 0, 0, R) \
	X("remote_port", 132, 4, N, SCALAR, 132, 2, 0, 0, R) \
	X("local_port", 136, 4, N, SCALAR, 136, 2, 0, 0, R) \
	X("data_meta", 140, 4, 0, PKT_META, P(data_meta), 8, 0, R, 0) \
	X("tstamp", 152, 8, 0, SCALAR, 152, 8, 0, RW, RW) \
	X("wire_len", 160, 4, N, SCALAR, 160, 4, 0, R, 0) \
	X("gso_segs", 164, 4, N, SCALAR, 164, 2, R, R, R) \
	X("sk", 168, 8, 0, SOCK_OR_NULL, 168, 8, R, R, R) \
	X("gso_size", 176, 4, N, SCALAR, 176, 2, R, R, R) \
	X("tstamp_type", 180, 1, 0, SCALAR, 180, 1, 0, R, 0) \
	X("hwtstamp", 184, 8, 0, SCALAR, 184, 8, 0, R, R)

#define F_SF(nm, o, s, fl, k, ro, rs, sf, tc, cg) {nm, o, s, sf, SKEP_CTX_##k, fl, ro, rs},
#define F_TC(nm, o, s, fl, k, ro, rs, sf, tc, cg) {nm, o, s, tc, SKEP_CTX_##k, fl, ro, rs},
#define F_CG(nm, o, s, fl, k, ro, rs, sf, tc, cg) {nm, o, s, cg, SKEP_CTX_##k, fl, ro, rs},
static const struct skep_ctx_field sf_fields[] = {SKB_FIELDS(F_SF)};
static const struct skep_ctx_field tc_fields[] = {SKB_FIELDS(F_TC)};
static const struct skep_ctx_field cg_fields[] = {SKB_FIELDS(F_CG)};

/* 26 skb_load_bytes, 46 get_socket_cookie, 47 get_socket_uid, 25 perf_event_output,
 * 68 skb_load_bytes_relative, 28 csum_diff */
static const uint32_t sf_helpers[] = {PT_HELPERS_BASE, 25, 26, 28, 46, 47, 68};
static const uint32_t tc_helpers[] = {
	PT_HELPERS_BASE,
	9, 10, 11, 13, 17, 18, 19, 20, 21, 23, 24, 25, 26, 28, 29, 30, 31, 32, 33, 34,
	38, 39, 40, 41, 43, 46, 48, 50, 66, 68, 69, 79, 83, 84, 85, 86, 95, 96, 97, 98,
	99, 100, 107, 108, 110, 124, 128, 129, 135, 136, 137, 138, 139, 140, 151, 152,
	155, 163, 178, 192, 196,
};
static const uint32_t cg_helpers[] = {
	PT_HELPERS_BASE,
	14, 15, 25, 26, 28, 46, 47, 68, 79, 80, 81, 83, 95, 96, 97, 98, 107, 108, 123,
	128, 129, 136, 137, 138, 139, 140, 178, 196,
};

static const struct skep_helper_bind skb_binds[] = {{26, pt_skb_load_bytes}, {95, pt_sk_fullsock}};

static uint32_t rd32(const uint8_t *b, size_t off) { uint32_t v; memcpy(&v, b + off, 4); return v; }
static void wr32(uint8_t *b, size_t off, uint32_t v) { memcpy(b + off, &v, 4); }

/* bpf_prog_test_run_skb's convert___skb_to_skb: only these fields may be set. */
static int check_ctx_in(const uint8_t *c, struct skep_test_env *env)
{
	static const struct { uint16_t lo, hi; } allowed[] = {
		{SKB_MARK, SKB_MARK + 4}, {SKB_PRIORITY, SKB_IFINDEX + 4}, {SKB_CB, SKB_CB_END},
		{SKB_TSTAMP, SKB_GSO_SEGS + 4}, {SKB_GSO_SIZE, SKB_GSO_SIZE + 4},
		{SKB_HWTSTAMP, SKB_HWTSTAMP + 8},
	};
	for (size_t i = 0; i < PT_SKB_UAPI_SIZE; i++) {
		int ok = !c[i];
		for (size_t k = 0; !ok && k < PT_ARRAY_SIZE(allowed); k++)
			ok = i >= allowed[k].lo && i < allowed[k].hi;
		if (!ok)
			return pt_fail(env, -EINVAL, "__sk_buff in ctx_in: byte %zu is set; only mark, priority, "
				       "ingress_ifindex, ifindex, cb, tstamp, wire_len, gso_segs, gso_size and "
				       "hwtstamp may be", i);
	}
	return 0;
}

/* eth_type_trans on the loopback device (address and broadcast address both
 * 00:00:00:00:00:00): the packet type and the protocol (network order, as skb->protocol). */
static void eth_trans(const uint8_t *f, uint32_t len, uint32_t *pkt_type, uint32_t *proto)
{
	static const uint8_t zero[6];
	*pkt_type = 0;   /* PACKET_HOST */
	if (memcmp(f, zero, 6))
		*pkt_type = f[0] & 1 ? 2 : 3;  /* PACKET_MULTICAST, PACKET_OTHERHOST */
	uint16_t p = (uint16_t)(f[12] << 8 | f[13]);
	if (p >= 0x600)
		*proto = (uint32_t)(f[12] | f[13] << 8);
	else if (len >= PT_ETH_HLEN + 2 && f[14] == 0xff && f[15] == 0xff)
		*proto = 0x0100;   /* htons(ETH_P_802_3) */
	else
		*proto = 0x0400;   /* htons(ETH_P_802_2) */
}

static int skb_init(const struct skep_prog_type_desc *d, const struct skep_test_run_opts *o,
		    struct skep_test_env *env)
{
	int l2 = d->type == SKEP_PROG_TYPE_SCHED_CLS || d->type == SKEP_PROG_TYPE_SCHED_ACT;
	uint32_t size = o->data_size_in;
	if (size < PT_ETH_HLEN || size > PT_PAGE_SIZE - PT_SKB_HEADROOM - PT_SHINFO_SIZE)
		return pt_fail(env, -EINVAL, "data_size_in %u: an skb test run takes %u to %u bytes",
			       size, PT_ETH_HLEN, PT_PAGE_SIZE - PT_SKB_HEADROOM - PT_SHINFO_SIZE);
	if (!o->data_in)
		return pt_fail(env, -EINVAL, "no data_in");
	uint8_t *in;
	int err = pt_ctx_init(o, PT_SKB_UAPI_SIZE, (void **)&in, env);
	if (err)
		return err;
	env->priv = in;
	if (in && (err = check_ctx_in(in, env)))
		return err;
	env->buf_size = PT_PAGE_SIZE;
	env->buf = calloc(1, env->buf_size);
	struct pt_skb_ctx *s = calloc(1, sizeof *s);
	env->ctx = s;
	if (!env->buf || !s)
		return pt_fail(env, -ENOMEM, "out of memory");
	uint8_t *frame = env->buf + PT_SKB_HEADROOM, *u = s->uapi;
	memcpy(frame, o->data_in, size);
	if (in) {
		if (rd32(in, SKB_WIRE_LEN) && (rd32(in, SKB_WIRE_LEN) < (l2 ? size : size - PT_ETH_HLEN) ||
					       rd32(in, SKB_WIRE_LEN) > 65536))
			return pt_fail(env, -EINVAL, "__sk_buff.wire_len %u is below the packet's length "
				       "or above 65536", rd32(in, SKB_WIRE_LEN));
		if (rd32(in, SKB_GSO_SEGS) > 65535)
			return pt_fail(env, -EINVAL, "__sk_buff.gso_segs %u is above 65535", rd32(in, SKB_GSO_SEGS));
		memcpy(u, in, PT_SKB_UAPI_SIZE);   /* the allowed fields; the rest is zero */
	}
	uint32_t pkt_type, proto;
	eth_trans(frame, size, &pkt_type, &proto);
	uint8_t *net = frame + PT_ETH_HLEN;   /* eth_type_trans pulled the header */
	uint32_t net_len = size - PT_ETH_HLEN;
	wr32(u, SKB_PKT_TYPE, pkt_type);
	wr32(u, SKB_PROTOCOL, proto);
	if (!rd32(u, SKB_IFINDEX) || rd32(u, SKB_IFINDEX) == 1)
		wr32(u, SKB_IFINDEX, 1);   /* the loopback device */
	/* the test run's socket (sk_alloc(AF_UNSPEC), closed): family and addresses from an
	 * IPv4 or IPv6 header, seen through __sk_buff's fields and as the struct bpf_sock
	 * __sk_buff.sk points to */
	uint8_t *so = s->sock;
	if (proto == 0x0008) {
		wr32(u, SKB_FAMILY, 2);
		wr32(so, SOCK_FAMILY, 2);
		if (net_len >= 20) {
			memcpy(u + SKB_LOCAL_IP4, net + 12, 4);
			memcpy(u + SKB_REMOTE_IP4, net + 16, 4);
			memcpy(so + SOCK_SRC_IP4, net + 12, 4);
			memcpy(so + SOCK_DST_IP4, net + 16, 4);
		}
	} else if (proto == 0xdd86) {
		wr32(u, SKB_FAMILY, 10);
		wr32(so, SOCK_FAMILY, 10);
		if (net_len >= 40) {
			memcpy(u + SKB_LOCAL_IP6, net + 8, 16);
			memcpy(u + SKB_REMOTE_IP6, net + 24, 16);
			memcpy(so + SOCK_SRC_IP6, net + 8, 16);
			memcpy(so + SOCK_DST_IP6, net + 24, 16);
		}
	}
	wr32(so, SOCK_STATE, 7);                 /* TCP_CLOSE */
	wr32(so, SOCK_RX_QUEUE_MAPPING, UINT32_MAX);  /* -1: none */
	uint64_t sk = (uint64_t)(uintptr_t)so;
	memcpy(u + SKB_SK, &sk, 8);
	uint8_t *data = l2 ? frame : net;
	uint32_t len = l2 ? size : net_len;
	wr32(u, SKB_LEN, len);
	if (in && !rd32(in, SKB_WIRE_LEN))
		wr32(u, SKB_WIRE_LEN, len);
	s->pkt = (uint64_t)(uintptr_t)data;
	s->pkt_len = len;
	s->magic = PT_CTX_MAGIC;
	if (l2) {   /* bpf_compute_data_pointers: only for the direct-access types */
		s->data = s->data_meta = s->pkt;
		s->data_end = s->pkt + len;
	} else if (d->type == SKEP_PROG_TYPE_CGROUP_SKB) {
		s->data = s->pkt;
		s->data_end = s->pkt + len;
	}
	env->pkt = data;
	env->pkt_len = len;
	env->regions[0] = (struct skep_region){s, sizeof *s, 1};
	env->regions[1] = (struct skep_region){env->buf, env->buf_size, 1};
	env->nregions = 2;
	return 0;
}

static int skb_finish(const struct skep_prog_type_desc *d, struct skep_test_run_opts *o,
		      struct skep_test_env *env)
{
	int l2 = d->type == SKEP_PROG_TYPE_SCHED_CLS || d->type == SKEP_PROG_TYPE_SCHED_ACT;
	struct pt_skb_ctx *s = env->ctx;
	uint8_t *frame = env->buf + PT_SKB_HEADROOM, *out = env->priv;
	if (!l2)   /* the Ethernet header goes back in front, zeroed */
		memset(frame, 0, PT_ETH_HLEN);
	int err = pt_data_finish(o, frame, s->pkt_len + (l2 ? 0 : PT_ETH_HLEN));
	if (err || !out)
		return err;
	/* convert_skb_to___skb: what the kernel writes back */
	static const struct { uint16_t off, size; } back[] = {
		{SKB_MARK, 4}, {SKB_PRIORITY, 4}, {SKB_INGRESS_IFINDEX, 4}, {SKB_IFINDEX, 4},
		{SKB_TSTAMP, 8}, {SKB_CB, 20}, {SKB_WIRE_LEN, 4}, {SKB_GSO_SEGS, 4}, {SKB_HWTSTAMP, 8},
	};
	for (size_t i = 0; i < PT_ARRAY_SIZE(back); i++)
		memcpy(out + back[i].off, s->uapi + back[i].off, back[i].size);
	return pt_ctx_finish(o, out, PT_SKB_UAPI_SIZE);
}

#define SKB_DESC(var, nm, id, fl, hl, ret_lo, ret_hi, extra) \
	const struct skep_prog_type_desc var = { \
		.name = nm, .type = id, .ctx_size = PT_SKB_UAPI_SIZE, \
		.real_ctx_size = sizeof(struct pt_skb_ctx), .fields = fl, .nfields = PT_ARRAY_SIZE(fl), \
		.helpers = hl, .nhelpers = PT_ARRAY_SIZE(hl), .binds = skb_binds, \
		.nbinds = PT_ARRAY_SIZE(skb_binds), .ret_min = ret_lo, .ret_max = ret_hi, \
		.flags = extra, .test_init = skb_init, .test_finish = skb_finish, \
	};

SKB_DESC(pt_socket_filter, "socket_filter", SKEP_PROG_TYPE_SOCKET_FILTER, sf_fields, sf_helpers,
	 0, UINT32_MAX, SKEP_PT_LD_ABS)
SKB_DESC(pt_sched_cls, "sched_cls", SKEP_PROG_TYPE_SCHED_CLS, tc_fields, tc_helpers, INT32_MIN,
	 INT32_MAX, SKEP_PT_LD_ABS | SKEP_PT_PKT_READ | SKEP_PT_PKT_WRITE)
SKB_DESC(pt_sched_act, "sched_act", SKEP_PROG_TYPE_SCHED_ACT, tc_fields, tc_helpers, INT32_MIN,
	 INT32_MAX, SKEP_PT_LD_ABS | SKEP_PT_PKT_READ | SKEP_PT_PKT_WRITE)
/* ingress (the default attach type): return 0 (drop) or 1 (pass) */
SKB_DESC(pt_cgroup_skb, "cgroup_skb", SKEP_PROG_TYPE_CGROUP_SKB, cg_fields, cg_helpers, 0, 1,
	 SKEP_PT_PKT_READ | SKEP_PT_RET_RANGE)
