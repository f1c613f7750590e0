/* A .kconfig extern: refused by name. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

extern unsigned int LINUX_KERNEL_VERSION __kconfig;

SEC("xdp")
int kver(struct xdp_md *ctx)
{
	return LINUX_KERNEL_VERSION > 0x050000;
}

char LICENSE[] SEC("license") = "GPL";
