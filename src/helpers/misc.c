/* Process facts, random numbers, signals, checksums. */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "helpers.h"
#include "maps/map.h"

/* bpf_get_prandom_u32: a per-thread xorshift64* seeded from getrandom (the kernel's is a
 * per-CPU prandom state, equally not for cryptography) */
static __thread uint64_t rnd_state;
HELPER(get_prandom_u32)
{
	uint64_t x = rnd_state;
	if (__builtin_expect(!x, 0)) {
		if (getrandom(&x, sizeof x, GRND_NONBLOCK) != sizeof x)
			x = (uint64_t)(uintptr_t)&x ^ (uint64_t)map_tid() << 32;
		x |= 1;
	}
	x ^= x >> 12, x ^= x << 25, x ^= x >> 27;
	rnd_state = x;
	return (uint32_t)((x * 0x2545f4914f6cdd1dull) >> 32);
}

HELPER(get_smp_processor_id)
{
	int c = sched_getcpu();
	return c < 0 ? 0 : (uint64_t)c;
}

HELPER(get_numa_node_id)
{
	unsigned cpu = 0, node = 0;
	return syscall(SYS_getcpu, &cpu, &node, NULL) ? 0 : node;
}

HELPER(get_current_pid_tgid) { return (uint64_t)(uint32_t)getpid() << 32 | map_tid(); }
HELPER(get_current_uid_gid) { return (uint64_t)getgid() << 32 | (uint32_t)getuid(); }

void current_comm(char comm[16])
{
	memset(comm, 0, 16);
	if (prctl(PR_GET_NAME, comm))
		strcpy(comm, "?");
	comm[15] = 0;
}

/* strscpy_pad(buf, comm, size): the name cut to size - 1, NUL-padded */
HELPER(get_current_comm)
{
	char *buf = PTR(r1), comm[16];
	uint32_t size = (uint32_t)r2;
	if (!size)
		return 0;
	current_comm(comm);
	size_t n = strnlen(comm, size - 1);
	memcpy(buf, comm, n);
	memset(buf + n, 0, size - n);
	return 0;
}

/* What the attach layer tells helpers about the current event. */
static __thread uint64_t cur_func_ip, cur_cookie;
void skep_helper_set_func_ip(uint64_t ip) { cur_func_ip = ip; }
void skep_helper_set_attach_cookie(uint64_t cookie) { cur_cookie = cookie; }
HELPER(get_func_ip) { return cur_func_ip; }
HELPER(get_attach_cookie) { return cur_cookie; }

/* bpf_send_signal: to the current process; _thread: to the current thread. As the
 * kernel, sig must be a valid signal number (0..64); 0 only checks. */
HELPER(send_signal)
{
	if (r1 > 64)
		return RET(-EINVAL);
	return kill(getpid(), (int)r1) ? RET(-errno) : 0;
}

HELPER(send_signal_thread)
{
	if (r1 > 64)
		return RET(-EINVAL);
	return syscall(SYS_tgkill, getpid(), map_tid(), (int)r1) ? RET(-errno) : 0;
}

/* bpf_csum_diff as the kernel computes it since 6.13 (the same on every architecture):
 * x86's 32-bit csum_partial over from and to, combined as csum_sub(to + seed, from),
 * then folded to 16 bits (csum_from32to16). Sizes need not be multiples of 4 any more,
 * and there is no 512-byte scratch buffer to limit them (the verifier bounds them). */
static uint32_t csum_partial(const uint8_t *p, uint32_t len, uint32_t seed)
{
	uint64_t acc = seed;
	uint32_t i = 0;
	for (; i + 4 <= len; i += 4) {
		uint32_t w;
		memcpy(&w, p + i, 4);
		acc += w;
	}
	if (len & 2) {
		uint16_t h;
		memcpy(&h, p + i, 2);
		acc += h;
		i += 2;
	}
	if (len & 1)
		acc += p[i];
	acc = (acc & 0xffffffffu) + (acc >> 32);
	acc = (acc & 0xffffffffu) + (acc >> 32);
	return (uint32_t)acc;
}

static uint32_t csum_add(uint32_t a, uint32_t b)
{
	uint32_t r = a + b;
	return r + (r < b);
}

HELPER(csum_diff)
{
	const uint8_t *from = PTR(r1), *to = PTR(r3);
	uint32_t fs = (uint32_t)r2, ts = (uint32_t)r4, seed = (uint32_t)r5, w;
	if (!ts)
		w = ~csum_partial(from, fs, ~seed);
	else if (!fs)
		w = csum_partial(to, ts, seed);
	else
		w = csum_add(csum_partial(to, ts, seed), ~csum_partial(from, fs, 0));
	w += w >> 16 | w << 16;   /* csum_from32to16 */
	return w >> 16;
}
