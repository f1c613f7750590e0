/* Section names of libbpf's table: those Skep runs and some it refuses. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define P(sec, name) SEC(sec) int name(void *ctx) { return __LINE__; }
P("xdp", s_xdp)
P("socket", s_socket)
P("tc", s_tc)
P("classifier", s_classifier)
P("action", s_action)
P("tc/ingress", s_tc_ingress)
P("uprobe/libc.so.6:malloc", s_uprobe)
P("uretprobe//usr/bin/bash:readline", s_uretprobe)
P("usdt/libc.so.6:libc:setjmp", s_usdt)
P("tracepoint/syscalls/sys_enter_read", s_tracepoint)
P("tp/sched/sched_switch", s_tp)
P("raw_tp/sys_enter", s_raw_tp)
P("perf_event", s_perf_event)
P("kprobe/do_sys_open", s_kprobe)
P("kretprobe/do_sys_open", s_kretprobe)
P("fentry/do_unlinkat", s_fentry)
P("cgroup_skb/ingress", s_cgroup_skb)
P("cgroup/connect4", s_connect4)
P("lsm/file_open", s_lsm)
P("sk_msg", s_sk_msg)
P("xdp.frags", s_xdp_frags)
P("sockops", s_sockops)
P("flow_dissector", s_flow)

char LICENSE[] SEC("license") = "GPL";
