/* Verify-only helper prototypes: every kernel helper of bpf_helper_defs.h that Skep's
 * runtime does not implement (src/helpers/table.c holds the ones it does), so that a
 * program written for the kernel verifies offline. A program calling one of these
 * loads, and a call reached at run time fails with -ENOSYS naming the helper.
 *
 * Prototypes follow the kernel's bpf_func_proto (net/core/filter.c,
 * kernel/trace/bpf_trace.c, kernel/bpf/helpers.c, ...). Argument kinds Skep's public
 * prototype vocabulary lacks (sockets, BTF-typed kernel objects, timers, dynptrs) use
 * the verifier's private KA_* / KR_* kinds (verifier.h). */
#include <stddef.h>

#include "skep/helpers.h"
#include "verifier.h"

#define MAP   SKEP_ARG_CONST_MAP_PTR
#define KEY   SKEP_ARG_PTR_TO_MAP_KEY
#define VALN  (SKEP_ARG_PTR_TO_MAP_VALUE | SKEP_ARG_MAYBE_NULL)
#define ANY   SKEP_ARG_ANYTHING
#define CTX   SKEP_ARG_PTR_TO_CTX
#define CTXN  SKEP_ARG_PTR_TO_CTX_OR_NULL
#define MEM   SKEP_ARG_PTR_TO_MEM                              /* read and written */
#define RMEM  (SKEP_ARG_PTR_TO_MEM | SKEP_ARG_RDONLY)
#define RMEMN (SKEP_ARG_PTR_TO_MEM | SKEP_ARG_RDONLY | SKEP_ARG_MAYBE_NULL)
#define UMEM  SKEP_ARG_PTR_TO_UNINIT_MEM
#define FIXW  (SKEP_ARG_PTR_TO_MEM | SKEP_ARG_UNINIT | SKEP_ARG_WRITE | SKEP_ARG_FIXED_SIZE)
#define FIXRW (SKEP_ARG_PTR_TO_MEM | SKEP_ARG_WRITE | SKEP_ARG_FIXED_SIZE)
#define FIXR  (SKEP_ARG_PTR_TO_MEM | SKEP_ARG_RDONLY | SKEP_ARG_FIXED_SIZE)
#define SZ    SKEP_ARG_CONST_SIZE
#define SZ0   SKEP_ARG_CONST_SIZE_OR_ZERO
#define FUNC  SKEP_ARG_PTR_TO_FUNC
#define STKN  SKEP_ARG_PTR_TO_STACK_OR_NULL
#define ASZ   SKEP_ARG_CONST_ALLOC_SIZE_OR_ZERO
#define SK    KA_SOCK
#define SKREL (KA_SOCK | KA_RELEASE)
#define BTF   KA_BTF
#define BTFN  (KA_BTF | SKEP_ARG_MAYBE_NULL)
#define TIMER KA_MAP_VALUE
#define DYN   KA_DYNPTR
#define DYNU  KA_DYNPTR_UNINIT

#define INT   SKEP_RET_INTEGER
#define VOID  SKEP_RET_VOID
#define MAPV  SKEP_RET_PTR_TO_MAP_VALUE
#define MAPVN SKEP_RET_PTR_TO_MAP_VALUE_OR_NULL
#define MEMN  SKEP_RET_PTR_TO_MEM_OR_NULL
#define SOCKN (KR_SOCK | SKEP_RET_MAYBE_NULL)
#define SOCKR (KR_SOCK | SKEP_RET_MAYBE_NULL | KR_ACQUIRE)   /* a reference: sk_release it */
#define OBJ   KR_BTF
#define OBJN  (KR_BTF | SKEP_RET_MAYBE_NULL)

/* K: plain; KP: may take packet pointers (the kernel's .pkt_access); KS: with the sizes of
 * fixed-size memory arguments */
#define K(ID, NAME, RET, ...) {"bpf_" #NAME, ID, RET, {__VA_ARGS__}, {0}, 0, 0, 0}
#define KP(ID, NAME, RET, ...) {"bpf_" #NAME, ID, RET, {__VA_ARGS__}, {0}, 0, 0, 1}
#define KS(ID, NAME, PKT, RET, A, S) {"bpf_" #NAME, ID, RET, A, S, 0, 0, PKT}
#define L(...) {__VA_ARGS__}

static const struct skep_helper_proto kernel_only[] = {
	KP(9, skb_store_bytes, INT, CTX, ANY, RMEM, SZ, ANY),
	K(10, l3_csum_replace, INT, CTX, ANY, ANY, ANY, ANY),
	K(11, l4_csum_replace, INT, CTX, ANY, ANY, ANY, ANY),
	K(13, clone_redirect, INT, CTX, ANY, ANY),
	K(17, get_cgroup_classid, INT, CTX),
	K(18, skb_vlan_push, INT, CTX, ANY, ANY),
	K(19, skb_vlan_pop, INT, CTX),
	K(20, skb_get_tunnel_key, INT, CTX, UMEM, SZ, ANY),
	K(21, skb_set_tunnel_key, INT, CTX, RMEM, SZ, ANY),
	K(22, perf_event_read, INT, MAP, ANY),
	K(23, redirect, INT, ANY, ANY),
	K(24, get_route_realm, INT, CTX),
	KP(26, skb_load_bytes, INT, CTX, ANY, UMEM, SZ),
	K(29, skb_get_tunnel_opt, INT, CTX, UMEM, SZ),
	K(30, skb_set_tunnel_opt, INT, CTX, RMEM, SZ),
	K(31, skb_change_proto, INT, CTX, ANY, ANY),
	K(32, skb_change_type, INT, CTX, ANY),
	K(33, skb_under_cgroup, INT, CTX, MAP, ANY),
	K(34, get_hash_recalc, INT, CTX),
	K(35, get_current_task, INT, 0),
	K(36, probe_write_user, INT, ANY, RMEM, SZ),
	K(37, current_task_under_cgroup, INT, MAP, ANY),
	K(38, skb_change_tail, INT, CTX, ANY, ANY),
	K(39, skb_pull_data, INT, CTX, ANY),
	K(40, csum_update, INT, CTX, ANY),
	K(41, set_hash_invalid, VOID, CTX),
	K(43, skb_change_head, INT, CTX, ANY, ANY),
	K(44, xdp_adjust_head, INT, CTX, ANY),
	K(46, get_socket_cookie, INT, CTX),
	K(47, get_socket_uid, INT, CTX),
	K(48, set_hash, INT, CTX, ANY),
	K(49, setsockopt, INT, CTX, ANY, ANY, RMEM, SZ),
	K(50, skb_adjust_room, INT, CTX, ANY, ANY, ANY),
	K(51, redirect_map, INT, MAP, ANY, ANY),
	K(52, sk_redirect_map, INT, CTX, MAP, ANY, ANY),
	K(53, sock_map_update, INT, CTX, MAP, KEY, ANY),
	K(54, xdp_adjust_meta, INT, CTX, ANY),
	K(55, perf_event_read_value, INT, MAP, ANY, UMEM, SZ),
	K(56, perf_prog_read_value, INT, CTX, UMEM, SZ),
	K(57, getsockopt, INT, CTX, ANY, ANY, UMEM, SZ),
	K(58, override_return, INT, CTX, ANY),
	K(59, sock_ops_cb_flags_set, INT, CTX, ANY),
	K(60, msg_redirect_map, INT, CTX, MAP, ANY, ANY),
	K(61, msg_apply_bytes, INT, CTX, ANY),
	K(62, msg_cork_bytes, INT, CTX, ANY),
	K(63, msg_pull_data, INT, CTX, ANY, ANY, ANY),
	K(64, bind, INT, CTX, RMEM, SZ0),
	K(65, xdp_adjust_tail, INT, CTX, ANY),
	K(66, skb_get_xfrm_state, INT, CTX, ANY, UMEM, SZ, ANY),
	KP(68, skb_load_bytes_relative, INT, CTX, ANY, UMEM, SZ, ANY),
	K(69, fib_lookup, INT, CTX, MEM, SZ, ANY),
	K(70, sock_hash_update, INT, CTX, MAP, KEY, ANY),
	K(71, msg_redirect_hash, INT, CTX, MAP, KEY, ANY),
	K(72, sk_redirect_hash, INT, CTX, MAP, KEY, ANY),
	K(73, lwt_push_encap, INT, CTX, ANY, RMEM, SZ),
	K(74, lwt_seg6_store_bytes, INT, CTX, ANY, RMEM, SZ),
	K(75, lwt_seg6_adjust_srh, INT, CTX, ANY, ANY),
	K(76, lwt_seg6_action, INT, CTX, ANY, RMEM, SZ),
	K(77, rc_repeat, INT, CTX),
	K(78, rc_keydown, INT, CTX, ANY, ANY, ANY),
	K(79, skb_cgroup_id, INT, CTX),
	K(80, get_current_cgroup_id, INT, 0),
	K(81, get_local_storage, MAPV, MAP, ANY),
	K(82, sk_select_reuseport, INT, CTX, MAP, KEY, ANY),
	K(83, skb_ancestor_cgroup_id, INT, CTX, ANY),
	KP(84, sk_lookup_tcp, SOCKR, CTX, RMEM, SZ, ANY, ANY),
	KP(85, sk_lookup_udp, SOCKR, CTX, RMEM, SZ, ANY, ANY),
	K(86, sk_release, INT, SKREL),
	K(90, msg_push_data, INT, CTX, ANY, ANY, ANY),
	K(91, msg_pop_data, INT, CTX, ANY, ANY, ANY),
	K(92, rc_pointer_rel, INT, CTX, ANY, ANY),
	K(95, sk_fullsock, SOCKN, SK),
	K(96, tcp_sock, SOCKN, SK),
	K(97, skb_ecn_set_ce, INT, CTX),
	K(98, get_listener_sock, SOCKN, SK),
	KP(99, skc_lookup_tcp, SOCKR, CTX, RMEM, SZ, ANY, ANY),
	KP(100, tcp_check_syncookie, INT, SK, RMEM, SZ, RMEM, SZ),
	K(101, sysctl_get_name, INT, CTX, UMEM, SZ, ANY),
	K(102, sysctl_get_current_value, INT, CTX, UMEM, SZ),
	K(103, sysctl_get_new_value, INT, CTX, UMEM, SZ),
	K(104, sysctl_set_new_value, INT, CTX, RMEM, SZ),
	K(107, sk_storage_get, MAPVN, MAP, SK, VALN, ANY),
	K(108, sk_storage_delete, INT, MAP, SK),
	KP(110, tcp_gen_syncookie, INT, SK, RMEM, SZ, RMEM, SZ),
	K(111, skb_output, INT, BTF, MAP, ANY, RMEM, SZ0),
	K(116, tcp_send_ack, INT, BTF, ANY),
	K(119, read_branch_records, INT, CTX, UMEM | SKEP_ARG_MAYBE_NULL, SZ0, ANY),
	K(120, get_ns_current_pid_tgid, INT, ANY, ANY, UMEM, SZ),
	K(121, xdp_output, INT, BTF, MAP, ANY, RMEM, SZ0),
	K(122, get_netns_cookie, INT, CTXN),
	K(123, get_current_ancestor_cgroup_id, INT, ANY),
	K(124, sk_assign, INT, CTX, SK | SKEP_ARG_MAYBE_NULL, ANY),
	K(126, seq_printf, INT, BTF, RMEM, SZ, RMEMN, SZ0),
	K(127, seq_write, INT, BTF, RMEM, SZ0),
	K(128, sk_cgroup_id, INT, SK),
	K(129, sk_ancestor_cgroup_id, INT, SK, ANY),
	K(135, csum_level, INT, CTX, ANY),
	K(136, skc_to_tcp6_sock, OBJN, SK),
	K(137, skc_to_tcp_sock, OBJN, SK),
	K(138, skc_to_tcp_timewait_sock, OBJN, SK),
	K(139, skc_to_tcp_request_sock, OBJN, SK),
	K(140, skc_to_udp6_sock, OBJN, SK),
	K(141, get_task_stack, INT, BTF, UMEM, SZ0, ANY),
	K(142, load_hdr_opt, INT, CTX, MEM, SZ, ANY),
	K(143, store_hdr_opt, INT, CTX, RMEM, SZ, ANY),
	K(144, reserve_hdr_opt, INT, CTX, ANY, ANY),
	K(145, inode_storage_get, MAPVN, MAP, BTFN, VALN, ANY),
	K(146, inode_storage_delete, INT, MAP, BTFN),
	K(147, d_path, INT, BTF, UMEM, SZ0),
	K(148, copy_from_user, INT, UMEM, SZ0, ANY),
	K(149, snprintf_btf, INT, UMEM, SZ, RMEM, SZ, ANY),
	K(150, seq_printf_btf, INT, BTF, RMEM, SZ0, ANY),
	K(151, skb_cgroup_classid, INT, CTX),
	K(152, redirect_neigh, INT, ANY, RMEMN, SZ0, ANY),
	K(153, per_cpu_ptr, OBJN, BTF, ANY),
	K(154, this_cpu_ptr, OBJ, BTF),
	K(155, redirect_peer, INT, ANY, ANY),
	K(156, task_storage_get, MAPVN, MAP, BTFN, VALN, ANY),
	K(157, task_storage_delete, INT, MAP, BTF),
	K(158, get_current_task_btf, OBJ, 0),
	K(159, bprm_opts_set, INT, BTF, ANY),
	K(161, ima_inode_hash, INT, BTF, UMEM, SZ),
	K(162, sock_from_file, OBJN, BTF),
	KS(163, check_mtu, 0, INT, L(CTX, ANY, FIXRW, ANY, ANY), L(0, 0, 4)),
	K(166, sys_bpf, INT, ANY, RMEM, SZ),
	K(167, btf_find_by_name_kind, INT, RMEM, SZ, ANY, ANY),
	K(168, sys_close, INT, ANY),
	K(169, timer_init, INT, TIMER, MAP, ANY),
	K(170, timer_set_callback, INT, TIMER, FUNC),
	K(171, timer_start, INT, TIMER, ANY, ANY),
	K(172, timer_cancel, INT, TIMER),
	K(175, task_pt_regs, OBJ, BTF),
	K(176, get_branch_snapshot, INT, UMEM, SZ0, ANY),
	K(178, skc_to_unix_sock, OBJN, SK),
	KS(179, kallsyms_lookup_name, 0, INT, L(RMEM, SZ, ANY, FIXW), L(0, 0, 0, 8)),
	K(180, find_vma, INT, BTF, ANY, FUNC, STKN, ANY),
	KS(183, get_func_arg, 0, INT, L(CTX, ANY, FIXW), L(0, 0, 8)),
	KS(184, get_func_ret, 0, INT, L(CTX, FIXW), L(0, 8)),
	K(185, get_func_arg_cnt, INT, CTX),
	K(186, get_retval, INT, 0),
	K(187, set_retval, INT, ANY),
	K(188, xdp_get_buff_len, INT, CTX),
	K(189, xdp_load_bytes, INT, CTX, ANY, UMEM, SZ),
	K(190, xdp_store_bytes, INT, CTX, ANY, RMEM, SZ),
	K(191, copy_from_user_task, INT, UMEM, SZ0, ANY, BTF, ANY),
	K(192, skb_set_tstamp, INT, CTX, ANY, ANY),
	K(193, ima_file_hash, INT, BTF, UMEM, SZ),
	K(194, kptr_xchg, OBJN, TIMER, BTFN),
	K(196, skc_to_mptcp_sock, OBJN, SK),
	K(197, dynptr_from_mem, INT, UMEM, SZ0, ANY, DYNU),
	K(198, ringbuf_reserve_dynptr, INT, MAP, ANY, ANY, DYNU),
	K(199, ringbuf_submit_dynptr, VOID, DYN, ANY),
	K(200, ringbuf_discard_dynptr, VOID, DYN, ANY),
	K(201, dynptr_read, INT, UMEM, SZ0, DYN, ANY, ANY),
	K(202, dynptr_write, INT, DYN, ANY, RMEM, SZ0, ANY),
	K(203, dynptr_data, MEMN, DYN, ANY, ASZ),
	KS(204, tcp_raw_gen_syncookie_ipv4, 1, INT, L(FIXR, RMEM, SZ0), L(20)),
	KS(205, tcp_raw_gen_syncookie_ipv6, 1, INT, L(FIXR, RMEM, SZ0), L(40)),
	KS(206, tcp_raw_check_syncookie_ipv4, 1, INT, L(FIXR, FIXR), L(20, 20)),
	KS(207, tcp_raw_check_syncookie_ipv6, 1, INT, L(FIXR, FIXR), L(40, 20)),
	K(209, user_ringbuf_drain, INT, MAP, FUNC, STKN, ANY),
	K(210, cgrp_storage_get, MAPVN, MAP, BTF, VALN, ANY),
	K(211, cgrp_storage_delete, INT, MAP, BTF),
};

const struct skep_helper_proto *kernel_helper_proto(uint32_t id)
{
	/* sorted by id: a binary search */
	size_t lo = 0, hi = sizeof kernel_only / sizeof kernel_only[0];
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (kernel_only[mid].id == id)
			return &kernel_only[mid];
		if (kernel_only[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

size_t kernel_helper_count(void) { return sizeof kernel_only / sizeof kernel_only[0]; }
