/* LPM_TRIE: the kernel's longest-prefix-match trie (lpm_trie.c) over a node pool in
 * shared memory.  Keys are { u32 prefixlen; u8 data[key_size - 4] } (big-endian bit
 * order); nodes link by index; intermediate nodes (flag IM) hold no value.  Writers
 * hold one robust lock and bump a sequence word (odd while writing); lookups take no
 * lock and retry if the sequence moved, so they always see a consistent tree.
 * get_next_key walks in the kernel's postorder. */
#include <string.h>

#include "maps/map.h"

#define LPM_FLAGS (SKEP_F_NO_PREALLOC | SKEP_F_NUMA_NODE | SKEP_F_RDONLY | SKEP_F_WRONLY | \
		   SKEP_F_RDONLY_PROG | SKEP_F_WRONLY_PROG)
#define IM 1u

struct lpm_ctl {
	map_lock_t lock;
	uint32_t seq;
	uint32_t root;          /* node index + 1 */
	uint32_t n_entries;
	uint32_t free_head, next_unused, nnodes, pad;
	uint64_t reserved;      /* bytes backed so far (the trie is never preallocated) */
};

struct lnode {
	uint32_t child[2];      /* index + 1 */
	uint32_t prefixlen, flags;
	uint8_t data[];         /* data_size, then the value at round8(data_size) */
};

static int lpm_check(struct map_attr *a, char *err, size_t n)
{
	if (!a->max_entries || !(a->map_flags & SKEP_F_NO_PREALLOC) || (a->map_flags & ~LPM_FLAGS) ||
	    a->key_size < 5 || a->key_size > 260 || !a->value_size || a->value_size > (1u << 22) - 256 - 24)
		return attr_fail(err, n, -EINVAL,
				 "lpm trie: needs BPF_F_NO_PREALLOC, key_size 5..260 (is %u), value_size "
				 "1..4194024 (is %u), max_entries > 0", a->key_size, a->value_size);
	return 0;
}

static uint32_t node_size(uint32_t ks, uint32_t vs) { return 16 + round8(ks - 4) + round8(vs); }

static uint64_t lpm_layout(const struct map_attr *a, uint64_t *d, uint64_t *l)
{
	return MAP_HDR_SIZE + 64 + 2ull * a->max_entries * node_size(a->key_size, a->value_size);
}

static void lpm_attach(struct skep_map *m)
{
	m->ctl = m->base + MAP_HDR_SIZE;
	m->data = m->base + MAP_HDR_SIZE + 64;
	m->esize = node_size(m->key_size, m->value_size);
}

static uint64_t lpm_lazy(const struct map_attr *a) { return MAP_HDR_SIZE + 64; }

static void lpm_init(struct skep_map *m)
{
	((struct lpm_ctl *)m->ctl)->nnodes = 2 * m->max_entries;
	((struct lpm_ctl *)m->ctl)->reserved = MAP_HDR_SIZE + 64;
}

#define C(m) ((struct lpm_ctl *)(m)->ctl)
#define DS(m) ((m)->key_size - 4)
static inline struct lnode *N(struct skep_map *m, uint32_t i) { return i ? (struct lnode *)(m->data + (size_t)(i - 1) * m->esize) : NULL; }
static inline uint32_t I(struct skep_map *m, struct lnode *n) { return n ? (uint32_t)(((uint8_t *)n - m->data) / m->esize) + 1 : 0; }
static inline uint8_t *V(struct skep_map *m, struct lnode *n) { return n->data + round8(DS(m)); }
static inline uint32_t KPL(const void *key) { uint32_t p; memcpy(&p, key, 4); return p; }
static inline const uint8_t *KD(const void *key) { return (const uint8_t *)key + 4; }
static inline int bit(const uint8_t *d, uint32_t i) { return (d[i / 8] >> (7 - i % 8)) & 1; }

static uint32_t match(struct skep_map *m, const struct lnode *n, const void *key)
{
	uint32_t limit = n->prefixlen < KPL(key) ? n->prefixlen : KPL(key), i = 0;
	const uint8_t *a = n->data, *b = KD(key);
	while (i + 8 <= limit && a[i / 8] == b[i / 8])
		i += 8;
	while (i < limit && bit(a, i) == bit(b, i))
		i++;
	return i;
}

static struct lnode *node_alloc(struct skep_map *m)
{
	struct lpm_ctl *c = C(m);
	struct lnode *n;
	if (c->free_head) {
		n = N(m, c->free_head);
		c->free_head = n->child[0];
	} else if (c->next_unused < c->nnodes &&
		   !map_reserve(m, &c->reserved, (uint64_t)(m->data - m->base) + (uint64_t)(c->next_unused + 1) * m->esize))
		n = N(m, ++c->next_unused);
	else
		return NULL;
	memset(n, 0, 16);
	return n;
}

static void node_free(struct skep_map *m, struct lnode *n)
{
	n->child[0] = C(m)->free_head;
	n->flags = 0;
	C(m)->free_head = I(m, n);
}

static void wbegin(struct skep_map *m)
{
	map_lock(&C(m)->lock);
	if (C(m)->seq & 1)   /* a writer died mid-change: the tree is still valid (atomic links) */
		C(m)->seq++;
	__atomic_fetch_add(&C(m)->seq, 1, __ATOMIC_ACQ_REL);
}

static void wend(struct skep_map *m)
{
	__atomic_fetch_add(&C(m)->seq, 1, __ATOMIC_RELEASE);
	map_unlock(&C(m)->lock);
}

static void setl(uint32_t *slot, uint32_t v) { __atomic_store_n(slot, v, __ATOMIC_RELEASE); }

static int add_check(struct skep_map *m, uint64_t flags)
{
	if (flags == SKEP_EXIST)
		return map_fail(m, -ENOENT, "no such prefix (BPF_EXIST)");
	if (C(m)->n_entries == m->max_entries)
		return map_fail(m, -ENOSPC, "trie is full (%u entries)", m->max_entries);
	C(m)->n_entries++;
	return 0;
}

static int lpm_update(struct skep_map *m, const void *key, const void *value, uint64_t flags)
{
	uint32_t plen = KPL(key), maxp = DS(m) * 8;
	if (flags > SKEP_EXIST)
		return map_fail(m, -EINVAL, "update flags 0x%llx", (unsigned long long)flags);
	if (plen > maxp)
		return map_fail(m, -EINVAL, "prefixlen %u exceeds %u", plen, maxp);
	wbegin(m);
	int ret = 0;
	struct lnode *nn = node_alloc(m), *node, *im;
	if (!nn) {
		ret = map_fail(m, -ENOMEM, "no free trie node");
		goto out;
	}
	nn->prefixlen = plen;
	memcpy(nn->data, KD(key), DS(m));
	memcpy(V(m, nn), value, m->value_size);
	uint32_t *slot = &C(m)->root, ml = 0;
	while ((node = N(m, *slot))) {
		ml = match(m, node, key);
		if (node->prefixlen != ml || node->prefixlen == plen)
			break;
		slot = &node->child[bit(KD(key), node->prefixlen)];
	}
	if (!node) {
		if ((ret = add_check(m, flags)))
			goto out;
		setl(slot, I(m, nn));
		nn = NULL;
		goto out;
	}
	if (node->prefixlen == ml) {   /* same prefix: replace */
		if (!(node->flags & IM)) {
			if (flags == SKEP_NOEXIST) {
				ret = map_fail(m, -EEXIST, "prefix exists (BPF_NOEXIST)");
				goto out;
			}
		} else if ((ret = add_check(m, flags)))
			goto out;
		nn->child[0] = node->child[0];
		nn->child[1] = node->child[1];
		setl(slot, I(m, nn));
		node_free(m, node);
		nn = NULL;
		goto out;
	}
	if ((ret = add_check(m, flags)))
		goto out;
	if (ml == plen) {   /* the new node is an ancestor of node */
		nn->child[bit(node->data, ml)] = I(m, node);
		setl(slot, I(m, nn));
		nn = NULL;
		goto out;
	}
	if (!(im = node_alloc(m))) {
		C(m)->n_entries--;
		ret = map_fail(m, -ENOMEM, "no free trie node");
		goto out;
	}
	im->prefixlen = ml;
	im->flags = IM;
	memcpy(im->data, node->data, DS(m));
	int b = bit(KD(key), ml);
	im->child[b] = I(m, nn);
	im->child[!b] = I(m, node);
	setl(slot, I(m, im));
	nn = NULL;
out:
	if (nn)
		node_free(m, nn);
	wend(m);
	return ret;
}

static int lpm_delete(struct skep_map *m, const void *key)
{
	uint32_t plen = KPL(key);
	if (plen > DS(m) * 8)
		return map_fail(m, -EINVAL, "prefixlen %u exceeds %u", plen, DS(m) * 8);
	wbegin(m);
	uint32_t *trim = &C(m)->root, *trim2 = trim, ml = 0;
	struct lnode *node, *parent = NULL;
	int ret = 0;
	while ((node = N(m, *trim))) {
		ml = match(m, node, key);
		if (node->prefixlen != ml || node->prefixlen == plen)
			break;
		parent = node;
		trim2 = trim;
		trim = &node->child[bit(KD(key), node->prefixlen)];
	}
	if (!node || node->prefixlen != plen || node->prefixlen != ml || (node->flags & IM)) {
		ret = map_fail(m, -ENOENT, "no such prefix");
		goto out;
	}
	C(m)->n_entries--;
	if (node->child[0] && node->child[1]) {
		node->flags |= IM;
		goto out;
	}
	if (parent && (parent->flags & IM) && !node->child[0] && !node->child[1]) {
		setl(trim2, parent->child[0] == I(m, node) ? parent->child[1] : parent->child[0]);
		node_free(m, parent);
		node_free(m, node);
		goto out;
	}
	setl(trim, node->child[0] ? node->child[0] : node->child[1]);
	node_free(m, node);
out:
	wend(m);
	return ret;
}

/* Longest-prefix match; the caller validates the result with the sequence word. */
static struct lnode *lookup_raw(struct skep_map *m, const void *key)
{
	struct lnode *found = NULL;
	uint32_t maxp = DS(m) * 8, steps = 0;
	if (KPL(key) > maxp)
		return NULL;
	for (struct lnode *n = N(m, __atomic_load_n(&C(m)->root, __ATOMIC_ACQUIRE)); n && steps++ <= maxp + 1;) {
		uint32_t ml = match(m, n, key);
		if (ml == maxp)
			return n;
		if (ml < n->prefixlen)
			break;
		if (!(n->flags & IM))
			found = n;
		if (n->prefixlen >= maxp)
			break;
		n = N(m, __atomic_load_n(&n->child[bit(KD(key), n->prefixlen)], __ATOMIC_ACQUIRE));
	}
	return found;
}

static void *lpm_elem(struct skep_map *m, const void *key)
{
	for (;;) {
		uint32_t s = __atomic_load_n(&C(m)->seq, __ATOMIC_ACQUIRE);
		if (s & 1) {
			map_lock(&C(m)->lock);   /* wait for the writer (or recover a dead one) */
			map_unlock(&C(m)->lock);
			if (__atomic_load_n(&C(m)->seq, __ATOMIC_ACQUIRE) == s)
				__atomic_compare_exchange_n(&C(m)->seq, &s, s + 1, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED);
			continue;
		}
		struct lnode *n = lookup_raw(m, key);
		if (__atomic_load_n(&C(m)->seq, __ATOMIC_ACQUIRE) == s)
			return n ? V(m, n) : NULL;
	}
}

static int lpm_lookup(struct skep_map *m, const void *key, void *value, uint64_t flags)
{
	map_lock(&C(m)->lock);
	struct lnode *n = lookup_raw(m, key);
	if (n)
		memcpy(value, V(m, n), m->value_size);
	map_unlock(&C(m)->lock);
	return n ? 0 : map_fail(m, -ENOENT, "no matching prefix");
}

static int lpm_next(struct skep_map *m, const void *key, void *next)
{
	uint32_t maxp = DS(m) * 8, sp = 0;
	struct lnode *stack[2048 + 2], *node, *next_node = NULL, *search;
	map_lock(&C(m)->lock);
	int ret = 0;
	search = N(m, C(m)->root);
	if (!search) {
		ret = map_fail(m, -ENOENT, "trie is empty");
		goto out;
	}
	if (!key || KPL(key) > maxp)
		goto leftmost;
	uint32_t ml = 0;
	for (node = search; node;) {
		stack[++sp] = node;
		ml = match(m, node, key);
		if (node->prefixlen != ml || node->prefixlen == KPL(key))
			break;
		node = N(m, node->child[bit(KD(key), node->prefixlen)]);
	}
	if (!node || node->prefixlen != ml || (node->flags & IM))
		goto leftmost;
	node = stack[sp];
	while (sp > 1) {
		struct lnode *parent = stack[sp - 1];
		if (N(m, parent->child[0]) == node && (search = N(m, parent->child[1])))
			goto leftmost;
		if (!(parent->flags & IM)) {
			next_node = parent;
			goto copy;
		}
		node = parent;
		sp--;
	}
	ret = map_fail(m, -ENOENT, "no more prefixes");
	goto out;
leftmost:
	for (node = search; node;) {
		if (node->flags & IM)
			node = N(m, node->child[0]);
		else {
			next_node = node;
			node = N(m, node->child[0]);
			if (!node)
				node = N(m, next_node->child[1]);
		}
	}
copy:
	memcpy(next, &next_node->prefixlen, 4);
	memcpy((uint8_t *)next + 4, next_node->data, DS(m));
out:
	map_unlock(&C(m)->lock);
	return ret;
}

const struct map_ops map_lpm_ops = {
	.name = "lpm_trie", .check = lpm_check, .layout = lpm_layout, .lazy = lpm_lazy, .init = lpm_init, .attach = lpm_attach,
	.lookup = lpm_lookup, .update = lpm_update, .delete = lpm_delete, .next_key = lpm_next,
	.elem_lookup = lpm_elem, .elem_raw = lpm_elem, .elem_update = lpm_update, .elem_delete = lpm_delete,
};
