/* The kernel's side: an XDP program that looks up the 2 KiB buffer (one-entry
 * array map, filled by the harness with the same input) and runs the same
 * inline function on it; BPF_PROG_TEST_RUN reports the 32-bit fold. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include PROG_FILE

struct bench_mem { u8 b[MEM_SIZE]; };

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bench_mem);
} mem SEC(".maps");

SEC("xdp")
int bench(struct xdp_md *ctx)
{
	__u32 key = 0;
	struct bench_mem *v = bpf_map_lookup_elem(&mem, &key);

	if (!v)
		return 0;
	return fold32(bench_fn(v->b));
}

char LICENSE[] SEC("license") = "GPL";
