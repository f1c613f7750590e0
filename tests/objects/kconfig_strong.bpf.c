/* A strong CONFIG_ extern: Skep has no kernel configuration, so it is refused by name
 * (libbpf would read /proc/config.gz). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

extern _Bool LINUX_HAS_BPF_COOKIE __kconfig;
extern unsigned int CONFIG_HZ __kconfig;

SEC("xdp")
int uses_hz(struct xdp_md *ctx)
{
	return LINUX_HAS_BPF_COOKIE + (CONFIG_HZ > 100);
}

char LICENSE[] SEC("license") = "GPL";
