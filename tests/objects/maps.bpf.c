/* BTF-defined maps of several kinds: hash, array, per-CPU, LRU, ring buffer, a pinned
 * map, a prog array with initial values, an array of maps with an inner template and
 * initial values, explicit key_size/value_size. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct val { __u64 packets, bytes; };

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 128);
	__type(key, __u32);
	__type(value, struct val);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u64));
} pcpu SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16);
	__type(key, __u64);
	__type(value, __u32);
} lru SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} skep_ldr_pinned SEC(".maps");

struct inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u32);
};
struct inner inner_a SEC(".maps"), inner_b SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 3);
	__type(key, __u32);
	__array(values, struct inner);
} outer SEC(".maps") = {
	.values = { [0] = &inner_a, [2] = &inner_b },
};

int tail_a(struct __sk_buff *skb);
int tail_b(struct __sk_buff *skb);

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__array(values, int (void *));
} jumps SEC(".maps") = {
	.values = { [1] = (void *)&tail_a, [3] = (void *)&tail_b },
};

SEC("socket")
int tail_a(struct __sk_buff *skb) { return 1; }

SEC("socket")
int tail_b(struct __sk_buff *skb) { return 2; }

SEC("socket")
int entry(struct __sk_buff *skb)
{
	__u32 k = 0;
	struct val *v = bpf_map_lookup_elem(&stats, &k);
	if (v)
		v->packets++;
	__u64 *c = bpf_map_lookup_elem(&pcpu, &k);
	if (c)
		(*c)++;
	__u64 lk = 5;
	bpf_map_update_elem(&lru, &lk, &k, BPF_ANY);
	bpf_ringbuf_output(&events, &k, sizeof k, 0);
	bpf_map_lookup_elem(&skep_ldr_pinned, &k);
	void *in = bpf_map_lookup_elem(&outer, &k);
	if (in)
		bpf_map_lookup_elem(in, &k);
	bpf_tail_call(skb, &jumps, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
