/* BPF_PROG_TYPE_XDP: struct xdp_md over a packet buffer with XDP_PACKET_HEADROOM in
 * front, and the test run of the kernel's bpf_prog_test_run_xdp (single buffer). */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "progtypes.h"

/* struct xdp_md as programs see it */
struct xdp_md {
	uint32_t data, data_end, data_meta, ingress_ifindex, rx_queue_index, egress_ifindex;
};

#define R(f) offsetof(struct pt_xdp_ctx, f)
/* All fields are read-only 32-bit reads; egress_ifindex exists only for devmap
 * programs, so it is absent here (the kernel refuses the access). */
static const struct skep_ctx_field xdp_fields[] = {
	{"data", 0, 4, SKEP_CTX_READ, SKEP_CTX_PKT_DATA, 0, R(data), 8},
	{"data_end", 4, 4, SKEP_CTX_READ, SKEP_CTX_PKT_END, 0, R(data_end), 8},
	{"data_meta", 8, 4, SKEP_CTX_READ, SKEP_CTX_PKT_META, 0, R(data_meta), 8},
	{"ingress_ifindex", 12, 4, SKEP_CTX_READ, SKEP_CTX_SCALAR, 0, R(ingress_ifindex), 4},
	{"rx_queue_index", 16, 4, SKEP_CTX_READ, SKEP_CTX_SCALAR, 0, R(rx_queue_index), 4},
};

static const uint32_t xdp_helpers[] = {
	PT_HELPERS_BASE,
	23, 25, 28, 44, 51, 54, /* redirect, perf_event_output, csum_diff, xdp_adjust_head, redirect_map, xdp_adjust_meta */
	65, 69, 84, 85, 86, 99, /* xdp_adjust_tail, fib_lookup, sk_lookup_tcp/udp, sk_release, skc_lookup_tcp */
	100, 110, 121, 163,     /* tcp_check_syncookie, tcp_gen_syncookie, xdp_output, check_mtu */
	188, 189, 190,          /* xdp_get_buff_len, xdp_load_bytes, xdp_store_bytes */
	204, 205, 206, 207,     /* tcp_raw_gen/check_syncookie_ipv4/6 */
};

static const struct skep_helper_bind xdp_binds[] = {
	{44, pt_xdp_adjust_head}, {54, pt_xdp_adjust_meta}, {65, pt_xdp_adjust_tail},
};

/* As bpf_prog_test_run_xdp: data_in at XDP_PACKET_HEADROOM in a page whose tail is kept
 * for skb_shared_info. ctx_in's data is the metadata length (taken from the front of
 * data_in, out of the headroom), data_end the end of the linear part; what follows goes
 * to fragments of up to a page each, as the kernel's multi-buffer test runs. ingress_ifindex
 * and rx_queue_index are passed through (the kernel resolves them to a device's receive
 * queue; Skep has no devices): 0 means the loopback device, ifindex 1, queue 0. */
static int xdp_init(const struct skep_prog_type_desc *d, const struct skep_test_run_opts *o,
		    struct skep_test_env *env)
{
	struct xdp_md *md;
	int err = pt_ctx_init(o, sizeof *md, (void **)&md, env);
	if (err)
		return err;
	env->priv = md;
	uint32_t headroom = PT_XDP_HEADROOM, meta = 0, linear = o->data_size_in;
	if (md) {
		if (md->data_meta || md->data_end > o->data_size_in || md->data > md->data_end ||
		    (md->data & 3) || md->data > PT_XDP_HEADROOM - PT_XDP_FRAME_SIZE)
			return pt_fail(env, -EINVAL, "xdp_md in ctx_in: data_meta must be 0, data the "
				       "metadata length (a multiple of 4, at most %u) and data <= data_end "
				       "<= data_size_in", PT_XDP_HEADROOM - PT_XDP_FRAME_SIZE);
		if (md->egress_ifindex)
			return pt_fail(env, -EINVAL, "xdp_md.egress_ifindex must be 0");
		if (!md->ingress_ifindex && md->rx_queue_index)
			return pt_fail(env, -EINVAL, "xdp_md.rx_queue_index without ingress_ifindex");
		headroom -= md->data;
		meta = md->data;
		linear = md->data_end;
	}
	uint32_t max_linear = PT_PAGE_SIZE - headroom - PT_SHINFO_SIZE;
	if (linear > max_linear)
		linear = max_linear;
	if (o->data_size_in < meta + PT_ETH_HLEN)
		return pt_fail(env, -EINVAL, "XDP data_in of %u bytes: at least %u (an Ethernet header%s) needed",
			       o->data_size_in, meta + PT_ETH_HLEN, meta ? " after the metadata" : "");
	if (!o->data_in)
		return pt_fail(env, -EINVAL, "no data_in");
	uint32_t rest = o->data_size_in - linear;
	if (rest > PT_XDP_MAX_FRAGS * PT_PAGE_SIZE)
		return pt_fail(env, -ENOMEM, "data_in of %u bytes needs more than %u fragments",
			       o->data_size_in, PT_XDP_MAX_FRAGS);
	size_t size = ((size_t)max_linear + 63) / 64 * 64 + headroom + PT_SHINFO_SIZE;
	if (size < PT_PAGE_SIZE)
		size = PT_PAGE_SIZE;
	size_t fsize = rest ? (size_t)PT_XDP_MAX_FRAGS * PT_PAGE_SIZE : 0;
	env->buf = calloc(1, size + fsize);   /* the frame, then the fragments' pages */
	struct pt_xdp_ctx *x = calloc(1, sizeof *x);
	env->ctx = x;
	if (!env->buf || !x)
		return pt_fail(env, -ENOMEM, "out of memory");
	env->buf_size = size + fsize;
	memcpy(env->buf + headroom, o->data_in, linear);
	uint64_t b = (uint64_t)(uintptr_t)env->buf;
	x->hard_start = b;
	x->frame_sz = PT_PAGE_SIZE;
	x->data_meta = b + headroom;
	x->data = x->data_meta + meta;
	x->data_end = b + headroom + linear;
	x->ingress_ifindex = md && md->ingress_ifindex ? md->ingress_ifindex : 1;
	x->rx_queue_index = md ? md->rx_queue_index : 0;
	x->magic = PT_CTX_MAGIC;
	if (rest) {
		x->frags = b + size;
		const uint8_t *src = (const uint8_t *)o->data_in + linear;
		for (; rest; x->nr_frags++) {
			uint32_t n = rest < PT_PAGE_SIZE ? rest : PT_PAGE_SIZE;
			memcpy(env->buf + size + (size_t)x->nr_frags * PT_PAGE_SIZE, src, n);
			x->frag_len[x->nr_frags] = n;
			src += n, rest -= n;
		}
	}
	env->regions[0] = (struct skep_region){x, sizeof *x, 0};
	env->regions[1] = (struct skep_region){env->buf, size, 1};
	env->nregions = 2;
	return 0;
}

static int xdp_finish(const struct skep_prog_type_desc *d, struct skep_test_run_opts *o,
		      struct skep_test_env *env)
{
	struct pt_xdp_ctx *x = env->ctx;
	struct xdp_md *md = env->priv;
	if (md) {
		md->data = (uint32_t)(x->data - x->data_meta);
		md->data_end = (uint32_t)(x->data_end - x->data_meta);
	}
	uint32_t linear = (uint32_t)(x->data_end - x->data_meta), size = linear;
	for (uint32_t i = 0; i < x->nr_frags; i++)
		size += x->frag_len[i];
	if (x->nr_frags) {   /* bpf_test_finish with fragments: linear part cut first */
		uint32_t frags = size - linear, copy = size;
		int err = 0;
		if (o->data_size_out && copy > o->data_size_out)
			copy = o->data_size_out, err = -ENOSPC;
		if (o->data_out) {
			if (copy < frags) {   /* the kernel fails before reporting anything */
				env->no_result = 1;
				return pt_fail(env, -ENOSPC, "data_out of %u bytes cannot hold the %u bytes "
					       "of fragments", copy, frags);
			}
			uint8_t *out = o->data_out;
			uint32_t at = copy - frags;
			memcpy(out, (const void *)(uintptr_t)x->data_meta, at);
			for (uint32_t i = 0; i < x->nr_frags; i++) {
				if (at >= copy) {
					err = -ENOSPC;
					break;
				}
				uint32_t n = copy - at < x->frag_len[i] ? copy - at : x->frag_len[i];
				memcpy(out + at, (const uint8_t *)(uintptr_t)x->frags + (size_t)i * PT_PAGE_SIZE, n);
				at += n;
			}
		}
		o->data_size_out = size;
		return err ? err : pt_ctx_finish(o, md, sizeof *md);
	}
	int err = pt_data_finish(o, (const void *)(uintptr_t)x->data_meta, size);
	return err ? err : pt_ctx_finish(o, md, sizeof *md);
}

const struct skep_prog_type_desc pt_xdp = {
	.name = "xdp",
	.type = SKEP_PROG_TYPE_XDP,
	.ctx_size = sizeof(struct xdp_md),
	.real_ctx_size = sizeof(struct pt_xdp_ctx),
	.fields = xdp_fields,
	.nfields = PT_ARRAY_SIZE(xdp_fields),
	.helpers = xdp_helpers,
	.nhelpers = PT_ARRAY_SIZE(xdp_helpers),
	.binds = xdp_binds,
	.nbinds = PT_ARRAY_SIZE(xdp_binds),
	.ret_min = 0, .ret_max = 4,   /* XDP_ABORTED .. XDP_REDIRECT; not enforced (as the kernel) */
	.flags = SKEP_PT_PKT_READ | SKEP_PT_PKT_WRITE,
	.test_init = xdp_init,
	.test_finish = xdp_finish,
};
