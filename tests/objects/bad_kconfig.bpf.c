/* A .kconfig extern Skep cannot know (a kernel configuration option, not __weak):
 * refused by name. (LINUX_KERNEL_VERSION and the other externs libbpf fills itself
 * are resolved: see kconfig_vars.bpf.c.) */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

extern unsigned int CONFIG_HZ __kconfig;

SEC("xdp")
int kver(struct xdp_md *ctx)
{
	return CONFIG_HZ > 100;
}

char LICENSE[] SEC("license") = "GPL";
