/* bpf_strncmp, bpf_strtol, bpf_strtoul with the kernel's exact rules
 * (kernel/bpf/helpers.c: __bpf_strtoull). */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "helpers.h"

/* bpf_strncmp(s1, s1_sz, s2): the kernel's generic strncmp, which returns -1, 0 or 1 */
HELPER(strncmp)
{
	const unsigned char *a = PTR(r1), *b = PTR(r3);
	uint32_t n = (uint32_t)r2;
	for (uint32_t i = 0; i < n; i++) {
		if (a[i] != b[i])
			return RET(a[i] < b[i] ? -1 : 1);
		if (!a[i])
			return 0;
	}
	return 0;
}

#define STRTOX_MAX 63   /* bytes parsed after the spaces and sign, as the kernel's str[64] */

/* the kernel's isspace: \t..\r, ' ', and Latin-1's no-break space (160) */
static int kspace(unsigned char c) { return c == ' ' || (c >= '\t' && c <= '\r') || c == 0xa0; }

/* __bpf_strtoull: spaces, an optional '-', then at most 63 bytes parsed in base 0, 8, 10
 * or 16 (0 and 0x prefixes as _parse_integer_fixup_radix). Returns the bytes consumed
 * or -EINVAL (nothing parsed, bad flags) / -ERANGE (overflow); *neg for '-'. */
static long parse(const char *buf, size_t len, uint64_t flags, uint64_t *res, int *neg)
{
	char s[STRTOX_MAX + 1];
	unsigned base = (unsigned)(flags & 0x1f);
	if (!buf || !len)
		return -EINVAL;
	if (base != 0 && base != 8 && base != 10 && base != 16)
		return -EINVAL;
	if (flags & ~0x1full)
		return -EINVAL;
	size_t i = 0;
	while (i < len && kspace((unsigned char)buf[i]))
		i++;
	*neg = i < len && buf[i] == '-';
	i += (size_t)*neg;
	size_t rest = len - i;
	if (!rest)
		return -EINVAL;
	if (rest > STRTOX_MAX)
		rest = STRTOX_MAX;
	memcpy(s, buf + i, rest);
	s[rest] = 0;
	const char *p = s;
	if (base == 0) {
		if (p[0] == '0')
			base = (p[1] | 0x20) == 'x' && ((p[2] >= '0' && p[2] <= '9') ||
							((p[2] | 0x20) >= 'a' && (p[2] | 0x20) <= 'f')) ? 16 : 8;
		else
			base = 10;
	}
	if (base == 16 && p[0] == '0' && (p[1] | 0x20) == 'x')
		p += 2;
	/* _parse_integer_limit */
	uint64_t v = 0;
	size_t digits = 0;
	int overflow = 0;
	for (;; p++, digits++) {
		unsigned c = (unsigned char)*p, d;
		if (c >= '0' && c <= '9')
			d = c - '0';
		else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
			d = (c | 0x20) - 'a' + 10;
		else
			break;
		if (d >= base)
			break;
		if ((v >> 60) && v > (UINT64_MAX - d) / base)
			overflow = 1;
		v = v * base + d;
	}
	if (overflow)
		return -ERANGE;
	if (!digits)
		return -EINVAL;
	*res = v;
	return (long)(i + (size_t)(p - s));
}

/* On error the result is zeroed, as the kernel does since 6.12. */
HELPER(strtol)
{
	uint64_t v;
	int neg;
	long n = parse(PTR(r1), r2, r3, &v, &neg);
	if (n >= 0 && (neg ? v > (uint64_t)INT64_MAX + 1 : v > INT64_MAX))
		n = -ERANGE;
	v = n < 0 ? 0 : neg ? -v : v;
	memcpy(PTR(r4), &v, 8);
	return RET(n);
}

HELPER(strtoul)
{
	uint64_t v;
	int neg;
	long n = parse(PTR(r1), r2, r3, &v, &neg);
	if (n >= 0 && neg)
		n = -EINVAL;
	v = n < 0 ? 0 : v;
	memcpy(PTR(r4), &v, 8);
	return RET(n);
}
