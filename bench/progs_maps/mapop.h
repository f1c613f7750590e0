/* One map operation in a loop, for make bench's "Map operations" table: the same
 * object is loaded into the kernel (libbpf) and into Skep (skep_object_*), run as XDP
 * under a test run, and returns how many of its N operations did what they should
 * (the harness checks it is N). Each progs_maps/NAME.c sets MAP_TYPE, ENTRIES (a power
 * of two) and OP_LOOKUP or OP_UPDATE, then includes this file.
 *
 * Keys: a run takes the next N of a counter kept in .bss, scrambled by a multiplicative
 * hash (a bijection on ENTRIES keys), so successive runs walk the whole map rather than
 * the same N keys. The harness fills every key k with the value k first; lookups check
 * that value, updates store it again, so lookups after updates still pass. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define N 1024   /* operations per run */

struct {
	__uint(type, MAP_TYPE);
	__uint(max_entries, ENTRIES);
	__type(key, __u32);
	__type(value, __u64);
} m SEC(".maps");

__u32 next_key;

SEC("xdp")
int bench(struct xdp_md *ctx)
{
	__u32 base = next_key, ok = 0;

	next_key = base + N;
#pragma clang loop unroll(disable)
	for (__u32 i = 0; i < N; i++) {
		__u32 key = ((base + i) * 2654435761u) & (ENTRIES - 1);
#ifdef OP_LOOKUP
		__u64 *v = bpf_map_lookup_elem(&m, &key);
		ok += v && *v == key;
#else
		__u64 val = key;
		ok += bpf_map_update_elem(&m, &key, &val, BPF_ANY) == 0;
#endif
	}
	return ok;
}

char LICENSE[] SEC("license") = "GPL";
