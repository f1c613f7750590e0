/* bpf_trace_printk, bpf_trace_vprintk and bpf_snprintf: the kernel's format rules
 * (bpf_bprintf_prepare) and output (bstr_printf).
 *
 * Accepted: %% and, per argument, [flags 0+- space][width] then d i u x X with
 * optional l or ll (32-bit unless l), c, s, p (plain, K, x: the value as 16 hex digits;
 * s, S, B: "0x" and the address, as the kernel prints an unknown symbol), pks pus (a
 * string), pi4 pI4 pi6 pI6 (an address read from the pointer). Anything else, a
 * precision, more specifiers than arguments, or a non-printable character in the format
 * is -EINVAL; strings and addresses are read fault-tolerantly (a bad pointer prints ""
 * or zeros). As the kernel, every argument goes through a 512-byte buffer: strings are
 * cut to what is left of it and a full buffer is -ENOSPC. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

#define BIN_MAX 512   /* MAX_BPRINTF_BIN_ARGS */
#define MAX_VARARGS 12

struct out {
	char *p;
	size_t size, len;
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->p && o->len < o->size) {
		size_t room = o->size - o->len;
		memcpy(o->p + o->len, s, n < room ? n : room);
	}
	o->len += n;
}

/* Append one conversion: spec is the C format of it ("%-5lld"). */
static void putf(struct out *o, const char *spec, ...) __attribute__((format(printf, 2, 3)));
static void putf(struct out *o, const char *spec, ...)
{
	char tmp[BIN_MAX + 64];
	va_list ap;
	va_start(ap, spec);
	int n = vsnprintf(tmp, sizeof tmp, spec, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof tmp) {
		put(o, tmp, (size_t)n);
		return;
	}
	/* a wide field: pad first, then the text (widths are bounded by the format) */
	char *big = NULL;
	va_start(ap, spec);
	if (vasprintf(&big, spec, ap) >= 0)
		put(o, big, strlen(big));
	va_end(ap);
	free(big);
}

static int kprint(unsigned char c) { return c >= 0x20 && c < 0x7f; }
static int kspace(unsigned char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }
static int kpunct(unsigned char c) { return kprint(c) && !isalnum(c) && c != ' '; }

int bprintf(char *outbuf, size_t size, const char *fmt, size_t fmt_size, const uint64_t *args,
	    size_t nargs)
{
	const char *end = fmt_size == SIZE_MAX ? fmt + strlen(fmt) : memchr(fmt, 0, fmt_size);
	if (!end)
		return -EINVAL;
	size_t n = (size_t)(end - fmt);
	/* pass 0 checks everything (nothing is written on error), pass 1 writes */
	for (int pass = 0; pass < 2; pass++) {
		struct out o = {pass ? outbuf : NULL, size ? size - 1 : 0, 0};
		size_t bin = 0, spec_no = 0;
		for (size_t i = 0; i < n; i++) {
			unsigned char c = (unsigned char)fmt[i];
			if (!kprint(c) && !kspace(c))
				return -EINVAL;
			if (c != '%') {
				put(&o, fmt + i, 1);
				continue;
			}
			if (fmt[i + 1] == '%') {
				put(&o, "%", 1);
				i++;
				continue;
			}
			if (spec_no >= nargs)
				return -EINVAL;
			uint64_t a = args[spec_no];
			char spec[32];
			size_t sl = 0, start = i++;
			spec[sl++] = '%';
			while (fmt[i] == '0' || fmt[i] == '+' || fmt[i] == '-' || fmt[i] == ' ')
				i++;
			if (fmt[i] >= '1' && fmt[i] <= '9')
				for (i++; fmt[i] >= '0' && fmt[i] <= '9'; i++)
					;
			size_t fl = i - start - 1;  /* flags and width, copied into spec */
			if (fl > 20)
				return -EINVAL;  /* (the kernel takes any width; ours fits spec[]) */
			memcpy(spec + sl, fmt + start + 1, fl);
			sl += fl;
			size_t argsz = 4;
			if (fmt[i] == 'p') {
				char nx = fmt[i + 1];
				argsz = 8;
				int plain = nx == 0 || kspace((unsigned char)nx) || kpunct((unsigned char)nx);
				if (plain || nx == 'K' || nx == 'x' || nx == 's' || nx == 'S' || nx == 'B') {
					char t[32];
					snprintf(t, sizeof t, "0x%llx", (unsigned long long)a);
					if (nx == 'B') {  /* formatted into the buffer */
						bin += strlen(t) + 1;
					} else {
						bin = (bin + 3) & ~(size_t)3;
						if (BIN_MAX - bin < argsz)
							return -ENOSPC;
						bin += argsz;
					}
					if (nx == 's' || nx == 'S' || nx == 'B') {
						memcpy(spec + sl, "s", 2);
						putf(&o, spec, t);
					} else {  /* pointer_string: 16 digits unless a width is given */
						memcpy(spec + sl, fl ? "llx" : "016llx", fl ? 4 : 7);
						putf(&o, spec, (unsigned long long)a);
					}
					if (!plain) /* the extension, and what bstr_printf swallows after it */
						for (i++; isalnum((unsigned char)fmt[i + 1]); i++)
							;
					spec_no++;
					continue;
				}
				if ((nx == 'k' || nx == 'u') && fmt[i + 2] == 's') {
					i += 2;
					goto str;
				}
				if ((nx != 'i' && nx != 'I') || (fmt[i + 2] != '4' && fmt[i + 2] != '6'))
					return -EINVAL;
				i += 2;
				size_t ipsz = fmt[i] == '4' ? 4 : 16;
				if (BIN_MAX - bin < ipsz)
					return -ENOSPC;
				uint8_t ip[16];
				probe_copy(ip, PTR(a), ipsz);
				char t[48];
				size_t tl = 0;
				if (ipsz == 4)
					tl = (size_t)snprintf(t, sizeof t, nx == 'I' ? "%u.%u.%u.%u" : "%03u.%03u.%03u.%03u",
							      ip[0], ip[1], ip[2], ip[3]);
				else
					for (int k = 0; k < 16; k += 2)
						tl += (size_t)snprintf(t + tl, sizeof t - tl, nx == 'I' && k ? ":%02x%02x" : "%02x%02x",
								       ip[k], ip[k + 1]);
				bin += tl + 1;
				memcpy(spec + sl, "s", 2);
				putf(&o, spec, t);
				while (isalnum((unsigned char)fmt[i + 1]))
					i++;
				spec_no++;
				continue;
			} else if (fmt[i] == 's') {
			str:
				if (fmt[i + 1] != 0 && !kspace((unsigned char)fmt[i + 1]) &&
				    !kpunct((unsigned char)fmt[i + 1]))
					return -EINVAL;
				if (bin == BIN_MAX)
					return -ENOSPC;
				char t[BIN_MAX];
				long got = probe_str(t, PTR(a), BIN_MAX - bin);
				if (got <= 0) {
					t[0] = 0;
					got = 1;
				}
				bin += (size_t)got;
				memcpy(spec + sl, "s", 2);
				putf(&o, spec, t);
				spec_no++;
				continue;
			} else if (fmt[i] == 'c') {
				if (bin == BIN_MAX)
					return -ENOSPC;
				bin++;
				memcpy(spec + sl, "c", 2);
				putf(&o, spec, (int)(unsigned char)a);
				spec_no++;
				continue;
			}
			if (fmt[i] == 'l')
				argsz = 8, i++;
			if (fmt[i] == 'l')
				i++;
			c = (unsigned char)fmt[i];
			if (c != 'i' && c != 'd' && c != 'u' && c != 'x' && c != 'X')
				return -EINVAL;
			bin = (bin + 3) & ~(size_t)3;
			if (BIN_MAX - bin < argsz)
				return -ENOSPC;
			bin += argsz;
			spec[sl++] = 'l', spec[sl++] = 'l';
			spec[sl++] = (char)c, spec[sl] = 0;
			int sgn = c == 'd' || c == 'i';
			if (sgn)
				putf(&o, spec, argsz == 8 ? (long long)a : (long long)(int32_t)a);
			else
				putf(&o, spec, argsz == 8 ? (unsigned long long)a : (unsigned long long)(uint32_t)a);
			spec_no++;
		}
		if (pass) {
			if (size)
				outbuf[o.len < size - 1 ? o.len : size - 1] = 0;
			return o.len > INT32_MAX ? INT32_MAX : (int)o.len;
		}
	}
	return 0;
}

/* bpf_trace_printk(fmt, fmt_size, a1, a2, a3): the message's length, or -EINVAL */
HELPER(trace_printk)
{
	uint64_t args[3] = {r3, r4, r5};
	char msg[SKEP_TRACE_MSG_MAX];
	int n = bprintf(msg, sizeof msg, PTR(r1), (uint32_t)r2, args, 3);
	if (n >= 0)
		trace_pipe_write(msg);
	return RET(n);
}

/* bpf_trace_vprintk(fmt, fmt_size, args, data_len): up to 12 u64 arguments */
HELPER(trace_vprintk)
{
	uint32_t len = (uint32_t)r4;
	if (len % 8 || len > MAX_VARARGS * 8 || (len && !r3))
		return RET(-EINVAL);
	uint64_t args[MAX_VARARGS];
	memcpy(args, PTR(r3), len);
	char msg[SKEP_TRACE_MSG_MAX];
	int n = bprintf(msg, sizeof msg, PTR(r1), (uint32_t)r2, args, len / 8);
	if (n >= 0)
		trace_pipe_write(msg);
	return RET(n);
}

/* bpf_snprintf(str, str_size, fmt, args, data_len): the output's length plus the NUL */
HELPER(snprintf)
{
	uint32_t len = (uint32_t)r5;
	if (len % 8 || len > MAX_VARARGS * 8 || (len && !r4))
		return RET(-EINVAL);
	uint64_t args[MAX_VARARGS];
	if (len)
		memcpy(args, PTR(r4), len);
	int n = bprintf(PTR(r1), (uint32_t)r2, PTR(r3), SIZE_MAX, args, len / 8);
	return n < 0 ? RET(n) : (uint64_t)n + 1;
}
