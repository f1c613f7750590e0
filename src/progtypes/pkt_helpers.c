/* Packet helpers that work on the real context (they are bound to the programs of the
 * types that allow them by skep_prog_set_type): bpf_xdp_adjust_head/tail/meta as the
 * kernel's net/core/filter.c (with multi-buffer tails), bpf_skb_load_bytes, and
 * bpf_sk_fullsock for the socket an __sk_buff test run has. */
#include <errno.h>
#include <string.h>

#include "progtypes.h"

#define EINVAL_RET ((uint64_t)(int64_t)-EINVAL)
#define ENOTSUPP 524   /* the kernel's internal "not supported" */

static struct pt_xdp_ctx *xdp_of(uint64_t ctx)
{
	struct pt_xdp_ctx *x = (struct pt_xdp_ctx *)(uintptr_t)ctx;
	return x && x->magic == PT_CTX_MAGIC ? x : NULL;
}

/* xdp_get_metalen: 0 when metadata is unsupported (data_meta > data) */
static uint64_t metalen(const struct pt_xdp_ctx *x)
{
	return x->data_meta > x->data ? 0 : x->data - x->data_meta;
}

uint64_t pt_xdp_adjust_head(uint64_t ctx, uint64_t off, uint64_t r3, uint64_t r4, uint64_t r5)
{
	struct pt_xdp_ctx *x = xdp_of(ctx);
	if (!x)
		return EINVAL_RET;
	int64_t o = (int32_t)off;
	uint64_t ml = metalen(x);
	uint64_t start = x->hard_start + PT_XDP_FRAME_SIZE + ml;
	uint64_t data = x->data + (uint64_t)o;
	if (data < start || data > x->data_end - PT_ETH_HLEN)
		return EINVAL_RET;
	if (ml)
		memmove((void *)(uintptr_t)(x->data_meta + (uint64_t)o), (void *)(uintptr_t)x->data_meta, ml);
	x->data_meta += (uint64_t)o;
	x->data = data;
	return 0;
}

/* Multi-buffer packets: bpf_xdp_frags_increase_tail / bpf_xdp_frags_shrink_tail work
 * on the fragments (each in its own page, from offset 0). */
static uint64_t frags_tail(struct pt_xdp_ctx *x, int64_t o)
{
	if (o >= 0) {
		uint32_t *last = &x->frag_len[x->nr_frags - 1];
		if (o > (int64_t)(PT_PAGE_SIZE - *last))
			return EINVAL_RET;
		memset((uint8_t *)(uintptr_t)x->frags + (size_t)(x->nr_frags - 1) * PT_PAGE_SIZE + *last, 0,
		       (size_t)o);
		*last += (uint32_t)o;
		return 0;
	}
	int64_t shrink = -o, len = (int64_t)(x->data_end - x->data);
	for (uint32_t i = 0; i < x->nr_frags; i++)
		len += x->frag_len[i];
	if (shrink > len - PT_ETH_HLEN)
		return EINVAL_RET;
	while (x->nr_frags && shrink > 0) {
		uint32_t *f = &x->frag_len[x->nr_frags - 1];
		if (shrink < *f) {
			*f -= (uint32_t)shrink;
			return 0;
		}
		shrink -= *f;
		*f = 0;
		x->nr_frags--;
	}
	if (!x->nr_frags)
		x->data_end -= (uint64_t)shrink;
	return 0;
}

uint64_t pt_xdp_adjust_tail(uint64_t ctx, uint64_t off, uint64_t r3, uint64_t r4, uint64_t r5)
{
	struct pt_xdp_ctx *x = xdp_of(ctx);
	if (!x)
		return EINVAL_RET;
	int64_t o = (int32_t)off;
	if (x->nr_frags)
		return frags_tail(x, o);
	uint64_t hard_end = x->hard_start + x->frame_sz - PT_SHINFO_SIZE;
	uint64_t end = x->data_end + (uint64_t)o;
	if (end > hard_end || end < x->data + PT_ETH_HLEN)
		return EINVAL_RET;
	if (o > 0)   /* the grown part is zeroed */
		memset((void *)(uintptr_t)x->data_end, 0, (size_t)o);
	x->data_end = end;
	return 0;
}

uint64_t pt_xdp_adjust_meta(uint64_t ctx, uint64_t off, uint64_t r3, uint64_t r4, uint64_t r5)
{
	struct pt_xdp_ctx *x = xdp_of(ctx);
	if (!x)
		return EINVAL_RET;
	int64_t o = (int32_t)off;
	uint64_t frame_end = x->hard_start + PT_XDP_FRAME_SIZE;
	uint64_t meta = x->data_meta + (uint64_t)o;
	if (x->data_meta > x->data)
		return (uint64_t)(int64_t)-ENOTSUPP;
	if (meta < frame_end || meta > x->data)
		return EINVAL_RET;
	uint64_t len = x->data - meta;
	if ((len & 3) || len > 255)   /* xdp_metalen_invalid (the headroom keeps it lower) */
		return (uint64_t)(int64_t)-EACCES;
	x->data_meta = meta;
	return 0;
}

/* bpf_skb_load_bytes(skb, offset, to, len): len bytes from offset of skb->data; on
 * failure to is zeroed and -EFAULT returned. */
uint64_t pt_skb_load_bytes(uint64_t ctx, uint64_t off, uint64_t to, uint64_t len, uint64_t r5)
{
	const struct pt_skb_ctx *s = (const struct pt_skb_ctx *)(uintptr_t)ctx;
	uint32_t o = (uint32_t)off, l = (uint32_t)len;
	void *dst = (void *)(uintptr_t)to;
	if (!s || s->magic != PT_CTX_MAGIC || !dst)
		return EINVAL_RET;
	if (o > INT32_MAX || (uint64_t)o + l > s->pkt_len) {
		memset(dst, 0, l);
		return (uint64_t)(int64_t)-EFAULT;
	}
	memcpy(dst, (const void *)(uintptr_t)(s->pkt + o), l);
	return 0;
}

/* bpf_sk_fullsock(sk): the test run's socket is a full socket */
uint64_t pt_sk_fullsock(uint64_t sk, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5)
{
	return sk;
}
