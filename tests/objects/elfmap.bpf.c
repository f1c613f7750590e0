/* iproute2's struct bpf_elf_map (36 bytes), as tc-loaded programs such as Cilium's use. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct bpf_elf_map {
	__u32 type, size_key, size_value, max_elem, flags, id, pinning, inner_id, inner_idx;
};

struct bpf_elf_map SEC("maps") cls_counts = {
	.type = BPF_MAP_TYPE_ARRAY, .size_key = 4, .size_value = 8, .max_elem = 2, .pinning = 0,
};
struct bpf_elf_map SEC("maps") cls_inner = {
	.type = BPF_MAP_TYPE_HASH, .size_key = 4, .size_value = 4, .max_elem = 8, .id = 7,
};
struct bpf_elf_map SEC("maps") cls_outer = {
	.type = BPF_MAP_TYPE_ARRAY_OF_MAPS, .size_key = 4, .size_value = 4, .max_elem = 2,
	.inner_id = 7, .inner_idx = 1,
};

SEC("classifier")
int cls_main(struct __sk_buff *skb)
{
	__u32 k = 0;
	__u64 *v = bpf_map_lookup_elem(&cls_counts, &k);
	if (v)
		(*v)++;
	return bpf_map_lookup_elem(&cls_outer, &k) ? 1 : 0;
}

char __license[] SEC("license") = "GPL";
