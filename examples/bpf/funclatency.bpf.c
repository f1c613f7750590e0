/* Latency of a user function as a log2 histogram of nanoseconds, like bcc's
 * `funclatency -u`: a uprobe stores the entry time per thread, a uretprobe adds the
 * elapsed time to its slot. The sections name no target: attach them with
 *
 *   skep trace build/examples/funclatency.o --uprobe lat_enter=./build/victims/allocs:compute \
 *       --uretprobe lat_exit=./build/victims/allocs:compute -- ./build/victims/allocs
 */
#ifndef __TARGET_ARCH_x86
#define __TARGET_ARCH_x86
#endif
#include <linux/bpf.h>
#include <linux/ptrace.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);                 /* thread id */
	__type(value, __u64);               /* entry time */
} start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 64);
	__type(key, __u32);                 /* log2 slot */
	__type(value, __u64);               /* calls */
} hist_ns SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} calls SEC(".maps");

SEC("uprobe")
int BPF_KPROBE(lat_enter)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u64 ts = bpf_ktime_get_ns();
	bpf_map_update_elem(&start, &tid, &ts, BPF_ANY);
	return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(lat_exit)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u64 *ts = bpf_map_lookup_elem(&start, &tid);
	if (!ts)
		return 0;
	__u64 d = bpf_ktime_get_ns() - *ts;
	bpf_map_delete_elem(&start, &tid);
	__u32 slot = 0;
	for (int i = 0; i < 63 && d; i++) {
		d >>= 1;
		slot++;
	}
	__u64 *n = bpf_map_lookup_elem(&hist_ns, &slot);
	if (n)
		__sync_fetch_and_add(n, 1);
	__u32 k = 0;
	n = bpf_map_lookup_elem(&calls, &k);
	if (n)
		__sync_fetch_and_add(n, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
