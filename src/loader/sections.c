/* Section names to program types and attach types: libbpf's section_defs table
 * (libbpf 1.x, src/libbpf.c), in its order, since the first match wins.  "name+"
 * matches "name" and "name/anything"; others match exactly.  SEC_RUNS marks the types
 * Skep can run; the others are recognised and refused at load by name. */
#include <string.h>

#include "loader.h"

/* The kernel's enum bpf_prog_type */
enum {
	T_UNSPEC, T_SOCKET_FILTER, T_KPROBE, T_SCHED_CLS, T_SCHED_ACT, T_TRACEPOINT, T_XDP,
	T_PERF_EVENT, T_CGROUP_SKB, T_CGROUP_SOCK, T_LWT_IN, T_LWT_OUT, T_LWT_XMIT, T_SOCK_OPS,
	T_SK_SKB, T_CGROUP_DEVICE, T_SK_MSG, T_RAW_TRACEPOINT, T_CGROUP_SOCK_ADDR,
	T_LWT_SEG6LOCAL, T_LIRC_MODE2, T_SK_REUSEPORT, T_FLOW_DISSECTOR, T_CGROUP_SYSCTL,
	T_RAW_TRACEPOINT_WRITABLE, T_CGROUP_SOCKOPT, T_TRACING, T_STRUCT_OPS, T_EXT, T_LSM,
	T_SK_LOOKUP, T_SYSCALL, T_NETFILTER, T_COUNT
};

/* The kernel's enum bpf_attach_type */
enum {
	A_CGROUP_INET_INGRESS, A_CGROUP_INET_EGRESS, A_CGROUP_INET_SOCK_CREATE, A_CGROUP_SOCK_OPS,
	A_SK_SKB_STREAM_PARSER, A_SK_SKB_STREAM_VERDICT, A_CGROUP_DEVICE, A_SK_MSG_VERDICT,
	A_CGROUP_INET4_BIND, A_CGROUP_INET6_BIND, A_CGROUP_INET4_CONNECT, A_CGROUP_INET6_CONNECT,
	A_CGROUP_INET4_POST_BIND, A_CGROUP_INET6_POST_BIND, A_CGROUP_UDP4_SENDMSG,
	A_CGROUP_UDP6_SENDMSG, A_LIRC_MODE2, A_FLOW_DISSECTOR, A_CGROUP_SYSCTL,
	A_CGROUP_UDP4_RECVMSG, A_CGROUP_UDP6_RECVMSG, A_CGROUP_GETSOCKOPT, A_CGROUP_SETSOCKOPT,
	A_TRACE_RAW_TP, A_TRACE_FENTRY, A_TRACE_FEXIT, A_MODIFY_RETURN, A_LSM_MAC, A_TRACE_ITER,
	A_CGROUP_INET4_GETPEERNAME, A_CGROUP_INET6_GETPEERNAME, A_CGROUP_INET4_GETSOCKNAME,
	A_CGROUP_INET6_GETSOCKNAME, A_XDP_DEVMAP, A_CGROUP_INET_SOCK_RELEASE, A_XDP_CPUMAP,
	A_SK_LOOKUP, A_XDP, A_SK_SKB_VERDICT, A_SK_REUSEPORT_SELECT,
	A_SK_REUSEPORT_SELECT_OR_MIGRATE, A_PERF_EVENT, A_TRACE_KPROBE_MULTI, A_LSM_CGROUP,
	A_STRUCT_OPS, A_NETFILTER, A_TCX_INGRESS, A_TCX_EGRESS, A_TRACE_UPROBE_MULTI,
	A_CGROUP_UNIX_CONNECT, A_CGROUP_UNIX_SENDMSG, A_CGROUP_UNIX_RECVMSG,
	A_CGROUP_UNIX_GETPEERNAME, A_CGROUP_UNIX_GETSOCKNAME, A_NETKIT_PRIMARY, A_NETKIT_PEER,
};

#define R SEC_RUNS
#define P SEC_PLUS
static const struct sec_def defs[] = {
	{"socket", T_SOCKET_FILTER, 0, R},
	{"sk_reuseport/migrate", T_SK_REUSEPORT, A_SK_REUSEPORT_SELECT_OR_MIGRATE, 0},
	{"sk_reuseport", T_SK_REUSEPORT, A_SK_REUSEPORT_SELECT, 0},
	{"kprobe", T_KPROBE, 0, P},
	{"uprobe", T_KPROBE, 0, P | R},
	{"uprobe.s", T_KPROBE, 0, P | R},
	{"kretprobe", T_KPROBE, 0, P},
	{"uretprobe", T_KPROBE, 0, P | R},
	{"uretprobe.s", T_KPROBE, 0, P | R},
	{"kprobe.multi", T_KPROBE, A_TRACE_KPROBE_MULTI, P},
	{"kretprobe.multi", T_KPROBE, A_TRACE_KPROBE_MULTI, P},
	{"uprobe.multi", T_KPROBE, A_TRACE_UPROBE_MULTI, P},
	{"uretprobe.multi", T_KPROBE, A_TRACE_UPROBE_MULTI, P},
	{"uprobe.multi.s", T_KPROBE, A_TRACE_UPROBE_MULTI, P},
	{"uretprobe.multi.s", T_KPROBE, A_TRACE_UPROBE_MULTI, P},
	{"ksyscall", T_KPROBE, 0, P},
	{"kretsyscall", T_KPROBE, 0, P},
	{"usdt", T_KPROBE, 0, P | R},
	{"usdt.s", T_KPROBE, 0, P | R},
	{"tc/ingress", T_SCHED_CLS, A_TCX_INGRESS, R},
	{"tc/egress", T_SCHED_CLS, A_TCX_EGRESS, R},
	{"tcx/ingress", T_SCHED_CLS, A_TCX_INGRESS, R},
	{"tcx/egress", T_SCHED_CLS, A_TCX_EGRESS, R},
	{"tc", T_SCHED_CLS, 0, R},
	{"classifier", T_SCHED_CLS, 0, R},
	{"action", T_SCHED_ACT, 0, R},
	{"netkit/primary", T_SCHED_CLS, A_NETKIT_PRIMARY, R},
	{"netkit/peer", T_SCHED_CLS, A_NETKIT_PEER, R},
	{"tracepoint", T_TRACEPOINT, 0, P | R},
	{"tp", T_TRACEPOINT, 0, P | R},
	{"raw_tracepoint", T_RAW_TRACEPOINT, 0, P | R},
	{"raw_tp", T_RAW_TRACEPOINT, 0, P | R},
	{"raw_tracepoint.w", T_RAW_TRACEPOINT_WRITABLE, 0, P},
	{"raw_tp.w", T_RAW_TRACEPOINT_WRITABLE, 0, P},
	{"tp_btf", T_TRACING, A_TRACE_RAW_TP, P},
	{"fentry", T_TRACING, A_TRACE_FENTRY, P},
	{"fmod_ret", T_TRACING, A_MODIFY_RETURN, P},
	{"fexit", T_TRACING, A_TRACE_FEXIT, P},
	{"fentry.s", T_TRACING, A_TRACE_FENTRY, P},
	{"fmod_ret.s", T_TRACING, A_MODIFY_RETURN, P},
	{"fexit.s", T_TRACING, A_TRACE_FEXIT, P},
	{"freplace", T_EXT, 0, P},
	{"lsm", T_LSM, A_LSM_MAC, P},
	{"lsm.s", T_LSM, A_LSM_MAC, P},
	{"lsm_cgroup", T_LSM, A_LSM_CGROUP, P},
	{"iter", T_TRACING, A_TRACE_ITER, P},
	{"iter.s", T_TRACING, A_TRACE_ITER, P},
	{"syscall", T_SYSCALL, 0, 0},
	{"xdp.frags/devmap", T_XDP, A_XDP_DEVMAP, R},
	{"xdp/devmap", T_XDP, A_XDP_DEVMAP, R},
	{"xdp.frags/cpumap", T_XDP, A_XDP_CPUMAP, R},
	{"xdp/cpumap", T_XDP, A_XDP_CPUMAP, R},
	{"xdp.frags", T_XDP, A_XDP, R},
	{"xdp", T_XDP, A_XDP, R},
	{"perf_event", T_PERF_EVENT, 0, R},
	{"lwt_in", T_LWT_IN, 0, 0},
	{"lwt_out", T_LWT_OUT, 0, 0},
	{"lwt_xmit", T_LWT_XMIT, 0, 0},
	{"lwt_seg6local", T_LWT_SEG6LOCAL, 0, 0},
	{"sockops", T_SOCK_OPS, A_CGROUP_SOCK_OPS, 0},
	{"sk_skb/stream_parser", T_SK_SKB, A_SK_SKB_STREAM_PARSER, 0},
	{"sk_skb/stream_verdict", T_SK_SKB, A_SK_SKB_STREAM_VERDICT, 0},
	{"sk_skb/verdict", T_SK_SKB, A_SK_SKB_VERDICT, 0},
	{"sk_skb", T_SK_SKB, 0, 0},
	{"sk_msg", T_SK_MSG, A_SK_MSG_VERDICT, 0},
	{"lirc_mode2", T_LIRC_MODE2, A_LIRC_MODE2, 0},
	{"flow_dissector", T_FLOW_DISSECTOR, A_FLOW_DISSECTOR, 0},
	{"cgroup_skb/ingress", T_CGROUP_SKB, A_CGROUP_INET_INGRESS, 0},
	{"cgroup_skb/egress", T_CGROUP_SKB, A_CGROUP_INET_EGRESS, 0},
	{"cgroup/skb", T_CGROUP_SKB, 0, 0},
	{"cgroup/sock_create", T_CGROUP_SOCK, A_CGROUP_INET_SOCK_CREATE, 0},
	{"cgroup/sock_release", T_CGROUP_SOCK, A_CGROUP_INET_SOCK_RELEASE, 0},
	{"cgroup/sock", T_CGROUP_SOCK, A_CGROUP_INET_SOCK_CREATE, 0},
	{"cgroup/post_bind4", T_CGROUP_SOCK, A_CGROUP_INET4_POST_BIND, 0},
	{"cgroup/post_bind6", T_CGROUP_SOCK, A_CGROUP_INET6_POST_BIND, 0},
	{"cgroup/bind4", T_CGROUP_SOCK_ADDR, A_CGROUP_INET4_BIND, 0},
	{"cgroup/bind6", T_CGROUP_SOCK_ADDR, A_CGROUP_INET6_BIND, 0},
	{"cgroup/connect4", T_CGROUP_SOCK_ADDR, A_CGROUP_INET4_CONNECT, 0},
	{"cgroup/connect6", T_CGROUP_SOCK_ADDR, A_CGROUP_INET6_CONNECT, 0},
	{"cgroup/connect_unix", T_CGROUP_SOCK_ADDR, A_CGROUP_UNIX_CONNECT, 0},
	{"cgroup/sendmsg4", T_CGROUP_SOCK_ADDR, A_CGROUP_UDP4_SENDMSG, 0},
	{"cgroup/sendmsg6", T_CGROUP_SOCK_ADDR, A_CGROUP_UDP6_SENDMSG, 0},
	{"cgroup/sendmsg_unix", T_CGROUP_SOCK_ADDR, A_CGROUP_UNIX_SENDMSG, 0},
	{"cgroup/recvmsg4", T_CGROUP_SOCK_ADDR, A_CGROUP_UDP4_RECVMSG, 0},
	{"cgroup/recvmsg6", T_CGROUP_SOCK_ADDR, A_CGROUP_UDP6_RECVMSG, 0},
	{"cgroup/recvmsg_unix", T_CGROUP_SOCK_ADDR, A_CGROUP_UNIX_RECVMSG, 0},
	{"cgroup/getpeername4", T_CGROUP_SOCK_ADDR, A_CGROUP_INET4_GETPEERNAME, 0},
	{"cgroup/getpeername6", T_CGROUP_SOCK_ADDR, A_CGROUP_INET6_GETPEERNAME, 0},
	{"cgroup/getpeername_unix", T_CGROUP_SOCK_ADDR, A_CGROUP_UNIX_GETPEERNAME, 0},
	{"cgroup/getsockname4", T_CGROUP_SOCK_ADDR, A_CGROUP_INET4_GETSOCKNAME, 0},
	{"cgroup/getsockname6", T_CGROUP_SOCK_ADDR, A_CGROUP_INET6_GETSOCKNAME, 0},
	{"cgroup/getsockname_unix", T_CGROUP_SOCK_ADDR, A_CGROUP_UNIX_GETSOCKNAME, 0},
	{"cgroup/sysctl", T_CGROUP_SYSCTL, A_CGROUP_SYSCTL, 0},
	{"cgroup/getsockopt", T_CGROUP_SOCKOPT, A_CGROUP_GETSOCKOPT, 0},
	{"cgroup/setsockopt", T_CGROUP_SOCKOPT, A_CGROUP_SETSOCKOPT, 0},
	{"cgroup/dev", T_CGROUP_DEVICE, A_CGROUP_DEVICE, 0},
	{"struct_ops", T_STRUCT_OPS, 0, P},
	{"struct_ops.s", T_STRUCT_OPS, 0, P},
	{"sk_lookup", T_SK_LOOKUP, A_SK_LOOKUP, 0},
	{"netfilter", T_NETFILTER, A_NETFILTER, 0},
};
#undef R
#undef P

const struct sec_def *sec_def_find(const char *name, const char **target)
{
	for (size_t i = 0; i < sizeof defs / sizeof defs[0]; i++) {
		const struct sec_def *d = &defs[i];
		size_t n = strlen(d->prefix);
		if (strncmp(name, d->prefix, n))
			continue;
		if (name[n] == 0 || ((d->flags & SEC_PLUS) && name[n] == '/')) {
			*target = name[n] ? name + n + 1 : "";
			return d;
		}
	}
	*target = "";
	return NULL;
}

static const char *const type_names[T_COUNT] = {
	"unspec", "socket_filter", "kprobe", "sched_cls", "sched_act", "tracepoint", "xdp",
	"perf_event", "cgroup_skb", "cgroup_sock", "lwt_in", "lwt_out", "lwt_xmit", "sock_ops",
	"sk_skb", "cgroup_device", "sk_msg", "raw_tracepoint", "cgroup_sock_addr",
	"lwt_seg6local", "lirc_mode2", "sk_reuseport", "flow_dissector", "cgroup_sysctl",
	"raw_tracepoint_writable", "cgroup_sockopt", "tracing", "struct_ops", "ext", "lsm",
	"sk_lookup", "syscall", "netfilter",
};

/* bpftool's names (libbpf_bpf_prog_type_str). */
const char *prog_type_name(uint32_t type)
{
	return type < T_COUNT ? type_names[type] : "unknown";
}

const char *skep_prog_type_str(uint32_t type) { return prog_type_name(type); }

int prog_type_runs(uint32_t type)
{
	switch (type) {
	case T_SOCKET_FILTER: case T_KPROBE: case T_SCHED_CLS: case T_SCHED_ACT:
	case T_TRACEPOINT: case T_XDP: case T_PERF_EVENT: case T_RAW_TRACEPOINT:
		return 1;
	}
	return 0;
}
