/* .kconfig externs libbpf resolves itself, plus a __weak unknown one (0): read by a
 * program that stores them in .bss (tests/unit/test_kconfig.c). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

extern unsigned int LINUX_KERNEL_VERSION __kconfig;
extern _Bool LINUX_HAS_BPF_COOKIE __kconfig;
extern _Bool LINUX_HAS_SYSCALL_WRAPPER __kconfig;
extern unsigned long long CONFIG_SKEP_NOT_THERE __kconfig __weak;
extern int LINUX_SKEP_UNKNOWN __kconfig __weak;

unsigned long long out[5];

SEC("xdp")
int read_kconfig(struct xdp_md *ctx)
{
	out[0] = LINUX_KERNEL_VERSION;
	out[1] = LINUX_HAS_BPF_COOKIE;
	out[2] = LINUX_HAS_SYSCALL_WRAPPER;
	out[3] = CONFIG_SKEP_NOT_THERE;
	out[4] = LINUX_SKEP_UNKNOWN;
	return LINUX_KERNEL_VERSION > 0x050000 ? 2 : 1;
}

char LICENSE[] SEC("license") = "GPL";
