/* A CO-RE relocation: refused by Skep, which has no kernel BTF to resolve it. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

struct task_like { int pid; int tgid; } __attribute__((preserve_access_index));

SEC("uprobe/libc.so.6:malloc")
int probe(struct task_like *t)
{
	int tgid = 0;
	bpf_core_read(&tgid, sizeof tgid, &t->tgid);
	return tgid;
}

char LICENSE[] SEC("license") = "GPL";
