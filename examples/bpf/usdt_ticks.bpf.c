/* USDT probes of our own program (examples/victims/usdt_victim.c: skep_victim:tick with
 * two arguments and skep_victim:done with one, from <sys/sdt.h>), read with libbpf's
 * usdt.bpf.h: each tick is printed through bpf_printk and summed per argument parity;
 * done sends one record through a perf buffer (bpf_perf_event_output).
 *
 *   skep trace build/examples/usdt_ticks.o -- ./build/victims/usdt_victim 5
 *
 * The section names the binary by its base name, which Skep matches against the files
 * the traced process maps (libbpf looks such a name up in $PATH); `--usdt
 * on_tick=PATH:skep_victim:tick` names another binary. */
#ifndef __TARGET_ARCH_x86
#define __TARGET_ARCH_x86
#endif
#include <stdbool.h>
#include <linux/bpf.h>
#include <linux/ptrace.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/usdt.bpf.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);                 /* 0 even ticks, 1 odd ticks */
	__type(value, __u64);               /* sum of the squares */
} squares SEC(".maps");

/* the perf buffer's record; the unused global puts the type into BTF, so `skep trace`
 * prints it by field ("<map>_event") */
struct done_events_event {
	__u32 pid;
	__s32 ticks;
};
const struct done_events_event *unused_done_event __attribute__((unused));

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} done_events SEC(".maps");

SEC("usdt/usdt_victim:skep_victim:tick")
int BPF_USDT(on_tick, int i, long sq)
{
	bpf_printk("tick %d square %ld", i, sq);
	__u32 k = i & 1;
	__u64 *v = bpf_map_lookup_elem(&squares, &k);
	if (v)
		__sync_fetch_and_add(v, sq);
	return 0;
}

SEC("usdt/usdt_victim:skep_victim:done")
int BPF_USDT(on_done, int n)
{
	struct done_events_event e = {.pid = bpf_get_current_pid_tgid() >> 32, .ticks = n};
	bpf_perf_event_output(ctx, &done_events, BPF_F_CURRENT_CPU, &e, sizeof e);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
