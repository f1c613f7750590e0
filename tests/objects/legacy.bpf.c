/* The legacy "maps" section with the kernel samples' 28-byte struct bpf_map_def. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct bpf_map_def_samples {
	unsigned int type, key_size, value_size, max_entries, map_flags, inner_map_idx, numa_node;
};

struct bpf_map_def_samples counters SEC("maps") = {
	.type = BPF_MAP_TYPE_ARRAY, .key_size = 4, .value_size = 8, .max_entries = 16,
};
struct bpf_map_def_samples flows SEC("maps") = {
	.type = BPF_MAP_TYPE_HASH, .key_size = 8, .value_size = 16, .max_entries = 1024,
	.map_flags = BPF_F_NUMA_NODE, .numa_node = 0,
};

SEC("socket")
int count(struct __sk_buff *skb)
{
	__u32 k = 3;
	__u64 *v = bpf_map_lookup_elem(&counters, &k);
	if (v)
		(*v)++;
	__u64 fk = 3;   /* flows' keys are 8 bytes: a 4-byte key would be read past the stack */
	return bpf_map_lookup_elem(&flows, &fk) != 0;
}

char LICENSE[] SEC("license") = "GPL";
__u32 _version SEC("version") = 0x060c00;
