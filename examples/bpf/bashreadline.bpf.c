/* Lines typed into bash, like bcc's bashreadline: a uretprobe on readline() of
 * /bin/bash (exported in Debian's bash's .dynsym) reads the returned string and sends
 * it with the pid through a ring buffer; `skep trace` prints each record by the BTF
 * type "struct bashreadline_event" (see cmd_trace.c: <ring buffer name>_event).
 *
 *   skep trace build/examples/bashreadline.o -- bash -i
 */
#ifndef __TARGET_ARCH_x86
#define __TARGET_ARCH_x86
#endif
#include <linux/bpf.h>
#include <linux/ptrace.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

struct bashreadline_event {
	__u32 pid;
	char line[80];
};

/* Puts the record's type into the object's BTF (a type used only inside a function is
 * not), so `skep trace` can print the records by field. */
const struct bashreadline_event *unused_event __attribute__((unused));

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} bashreadline SEC(".maps");

SEC("uretprobe//bin/bash:readline")
int BPF_KRETPROBE(printret, const void *ret)
{
	if (!ret)
		return 0;
	struct bashreadline_event *e = bpf_ringbuf_reserve(&bashreadline, sizeof *e, 0);
	if (!e)
		return 0;
	e->pid = bpf_get_current_pid_tgid() >> 32;
	bpf_probe_read_user_str(e->line, sizeof e->line, ret);
	bpf_ringbuf_submit(e, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
