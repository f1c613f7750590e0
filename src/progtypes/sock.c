/* Verify-only types (described for the verifier, no test run, as in the kernel):
 * CGROUP_SOCK (struct bpf_sock, attach type inet_sock_create), CGROUP_SOCK_ADDR
 * (struct bpf_sock_addr) and SOCK_OPS (struct bpf_sock_ops), with the access of the
 * kernel's sock_filter_, sock_addr_ and sock_ops_is_valid_access. The real layout is the
 * UAPI one (programs of these types never run in Skep yet). */
#include "progtypes.h"

#define R SKEP_CTX_READ
#define RW SKEP_CTX_RW
#define N SKEP_CTX_NARROW
#define S(nm, off, sz, acc, fl) {nm, off, sz, acc, SKEP_CTX_SCALAR, fl, off, sz}
#define PTR(nm, off, kind) {nm, off, 8, R, kind, 0, off, 8}

static const struct skep_ctx_field sock_fields[] = {
	S("bound_dev_if", 0, 4, RW, 0), S("family", 4, 4, R, N), S("type", 8, 4, R, N),
	S("protocol", 12, 4, R, N), S("mark", 16, 4, RW, 0), S("priority", 20, 4, RW, 0),
	S("src_ip4", 24, 4, R, N), S("src_ip6[0]", 28, 4, R, N), S("src_ip6[1]", 32, 4, R, N),
	S("src_ip6[2]", 36, 4, R, N), S("src_ip6[3]", 40, 4, R, N), S("src_port", 44, 4, R, N),
	S("dst_port", 48, 2, R, N), S("dst_ip4", 52, 4, R, N), S("dst_ip6[0]", 56, 4, R, N),
	S("dst_ip6[1]", 60, 4, R, N), S("dst_ip6[2]", 64, 4, R, N), S("dst_ip6[3]", 68, 4, R, N),
	S("state", 72, 4, R, N), S("rx_queue_mapping", 76, 4, R, N),
};

static const struct skep_ctx_field sock_addr_fields[] = {
	S("user_family", 0, 4, R, 0), S("user_ip4", 4, 4, RW, N), S("user_ip6[0]", 8, 4, RW, N),
	S("user_ip6[1]", 12, 4, RW, N), S("user_ip6[2]", 16, 4, RW, N), S("user_ip6[3]", 20, 4, RW, N),
	S("user_port", 24, 4, RW, N), S("family", 28, 4, R, 0), S("type", 32, 4, R, 0),
	S("protocol", 36, 4, R, 0), S("msg_src_ip4", 40, 4, RW, N),
	S("msg_src_ip6[0]", 44, 4, RW, N), S("msg_src_ip6[1]", 48, 4, RW, N),
	S("msg_src_ip6[2]", 52, 4, RW, N), S("msg_src_ip6[3]", 56, 4, RW, N),
	PTR("sk", 64, SKEP_CTX_SOCK_OR_NULL),
};

#define U(nm, off) S(nm, off, 4, R, 0)
static const struct skep_ctx_field sock_ops_fields[] = {
	U("op", 0), S("args[0]/reply", 4, 4, RW, 0), S("args[1]", 8, 4, RW, 0),
	S("args[2]", 12, 4, RW, 0), S("args[3]", 16, 4, RW, 0), U("family", 20), U("remote_ip4", 24),
	U("local_ip4", 28), U("remote_ip6[0]", 32), U("remote_ip6[1]", 36), U("remote_ip6[2]", 40),
	U("remote_ip6[3]", 44), U("local_ip6[0]", 48), U("local_ip6[1]", 52), U("local_ip6[2]", 56),
	U("local_ip6[3]", 60), U("remote_port", 64), U("local_port", 68), U("is_fullsock", 72),
	U("snd_cwnd", 76), U("srtt_us", 80), U("bpf_sock_ops_cb_flags", 84), U("state", 88),
	U("rtt_min", 92), U("snd_ssthresh", 96), U("rcv_nxt", 100), U("snd_nxt", 104),
	U("snd_una", 108), U("mss_cache", 112), U("ecn_flags", 116), U("rate_delivered", 120),
	U("rate_interval_us", 124), U("packets_out", 128), U("retrans_out", 132),
	U("total_retrans", 136), U("segs_in", 140), U("data_segs_in", 144), U("segs_out", 148),
	U("data_segs_out", 152), U("lost_out", 156), U("sacked_out", 160),
	S("sk_txhash", 164, 4, RW, 0), S("bytes_received", 168, 8, R, 0),
	S("bytes_acked", 176, 8, R, 0), PTR("sk", 184, SKEP_CTX_SOCK_OR_NULL),
	PTR("skb_data", 192, SKEP_CTX_PKT_DATA), PTR("skb_data_end", 200, SKEP_CTX_PKT_END),
	U("skb_len", 208), U("skb_tcp_flags", 212), S("skb_hwtstamp", 216, 8, R, 0),
};

/* 14 get_current_pid_tgid, 15 uid_gid, 16 comm, 46 get_socket_cookie, 80 cgroup_id,
 * 81 get_local_storage, 107/108 sk_storage, 122 get_netns_cookie, 123 ancestor cgroup */
static const uint32_t sock_helpers[] = {PT_HELPERS_BASE, 14, 15, 16, 46, 80, 81, 107, 108, 122, 123};
/* plus 64 bind, 49 setsockopt, 57 getsockopt, 84-86/99 socket lookups */
static const uint32_t sock_addr_helpers[] = {PT_HELPERS_BASE, 14, 15, 16, 46, 49, 57, 64, 80, 81,
					     84, 85, 86, 99, 107, 108, 122, 123};
/* 49 setsockopt, 57 getsockopt, 59 sock_ops_cb_flags_set, 53 sock_map_update, 70
 * sock_hash_update, 142-144 tcp header options */
static const uint32_t sock_ops_helpers[] = {PT_HELPERS_BASE, 25, 46, 49, 53, 57, 59, 70, 81, 107,
					    108, 116, 122, 142, 143, 144};

#define VDESC(var, nm, id, fl, hl, sz) \
	const struct skep_prog_type_desc var = { \
		.name = nm, .type = id, .ctx_size = sz, .real_ctx_size = sz, .fields = fl, \
		.nfields = PT_ARRAY_SIZE(fl), .helpers = hl, .nhelpers = PT_ARRAY_SIZE(hl), \
		.ret_min = 0, .ret_max = 1, .flags = SKEP_PT_VERIFY_ONLY | SKEP_PT_RET_RANGE, \
	};

VDESC(pt_cgroup_sock, "cgroup_sock", SKEP_PROG_TYPE_CGROUP_SOCK, sock_fields, sock_helpers, 80)
VDESC(pt_cgroup_sock_addr, "cgroup_sock_addr", SKEP_PROG_TYPE_CGROUP_SOCK_ADDR, sock_addr_fields,
      sock_addr_helpers, 72)
VDESC(pt_sock_ops, "sock_ops", SKEP_PROG_TYPE_SOCK_OPS, sock_ops_fields, sock_ops_helpers, 224)
