/* The example programs (examples/bpf/NAME.bpf.c, built by clang-14 into $(O)/examples/ and
 * by clang-19 -mcpu=v4 into $(O)/examples/v4/) on real Ethernet/IPv4/IPv6/TCP/UDP/ARP
 * frames: each program runs the same sequence of packets in Skep (object API +
 * skep_prog_test_run, on the interpreter, the checked interpreter and the JIT) and in
 * the kernel (libbpf, dlopen'ed: bpf_object__load + bpf_prog_test_run_opts).  Both must
 * give the same retval, data_out and ctx_out per run, then the same contents of every
 * map (hash maps as sets, per-CPU values summed over CPUs) and the same ring buffer
 * records; the Skep side is also checked against the results the examples promise.
 * The tracing examples (uprobes, USDT) have no test run in the kernel: here they must
 * load (verified) in Skep and in the kernel alike; tests/cli/trace.sh traces them end
 * to end. Every object in the directory must be one or the other. */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "skep/map.h"
#include "skep/object.h"
#include "skep/prog.h"
#include "skep/testrun.h"

static char objdir[512];

/* ---- frames */
struct pkt {
	uint8_t b[256];
	uint32_t len;
};

static const uint8_t mac_a[6] = {0x02, 0, 0, 0, 0, 0xaa}, mac_b[6] = {0x02, 0, 0, 0, 0, 0xbb};

static void be16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8), p[1] = (uint8_t)v; }
static void be32(uint8_t *p, uint32_t v) { be16(p, (uint16_t)(v >> 16)), be16(p + 2, (uint16_t)v); }

static uint16_t csum(const uint8_t *p, size_t n)
{
	uint32_t s = 0;
	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static uint8_t *eth(struct pkt *k, uint16_t type)
{
	memcpy(k->b, mac_b, 6);
	memcpy(k->b + 6, mac_a, 6);
	be16(k->b + 12, type);
	k->len = 14;
	return k->b + 14;
}

/* IPv4 header (ihl words, options zero) around l4len bytes that follow. */
static uint8_t *ipv4(struct pkt *k, uint8_t proto, uint32_t src, uint32_t dst, uint8_t tos, uint16_t l4len,
		     uint16_t frag, int ihl)
{
	uint8_t *ip = eth(k, 0x0800);
	memset(ip, 0, (size_t)ihl * 4);
	ip[0] = (uint8_t)(0x40 | ihl);
	ip[1] = tos;
	be16(ip + 2, (uint16_t)(ihl * 4 + l4len));
	be16(ip + 4, 0x1234);
	be16(ip + 6, frag);
	ip[8] = 64;
	ip[9] = proto;
	be32(ip + 12, src);
	be32(ip + 16, dst);
	be16(ip + 10, csum(ip, (size_t)ihl * 4));
	k->len += (uint32_t)ihl * 4;
	return ip + ihl * 4;
}

static uint8_t *ipv6(struct pkt *k, uint8_t nh, uint8_t tclass, uint16_t plen)
{
	uint8_t *ip = eth(k, 0x86dd);
	memset(ip, 0, 40);
	be32(ip, 6u << 28 | (uint32_t)tclass << 20 | 0x12345);
	be16(ip + 4, plen);
	ip[6] = nh;
	ip[7] = 64;
	ip[8] = 0x20, ip[9] = 0x01, ip[10] = 0x0d, ip[11] = 0xb8, ip[23] = 1;  /* 2001:db8::1 */
	ip[24] = 0x20, ip[25] = 0x01, ip[26] = 0x0d, ip[27] = 0xb8, ip[39] = 2;
	k->len += 40;
	return ip + 40;
}

static void payload(struct pkt *k, uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)('a' + i % 26);
	k->len = (uint32_t)(p + n - k->b);
}

static void tcp(struct pkt *k, uint8_t *p, uint16_t sport, uint16_t dport, size_t n)
{
	memset(p, 0, 20);
	be16(p, sport), be16(p + 2, dport);
	be32(p + 4, 1000);
	p[12] = 5 << 4, p[13] = 0x18;  /* PSH ACK */
	be16(p + 14, 65535);
	payload(k, p + 20, n);
}

static void udp(struct pkt *k, uint8_t *p, uint16_t sport, uint16_t dport, size_t n)
{
	be16(p, sport), be16(p + 2, dport), be16(p + 4, (uint16_t)(8 + n)), be16(p + 6, 0);
	payload(k, p + 8, n);
}

static struct pkt v4_tcp(uint32_t src, uint16_t sport, uint16_t dport, size_t n, uint8_t tos)
{
	struct pkt k;
	tcp(&k, ipv4(&k, 6, src, 0x0a000002, tos, (uint16_t)(20 + n), 0x4000, 5), sport, dport, n);
	return k;
}
static struct pkt v4_udp(uint32_t src, uint16_t sport, uint16_t dport, size_t n, uint8_t tos)
{
	struct pkt k;
	udp(&k, ipv4(&k, 17, src, 0x0a000002, tos, (uint16_t)(8 + n), 0, 5), sport, dport, n);
	return k;
}
static struct pkt v6_tcp(uint16_t dport, uint8_t tclass)
{
	struct pkt k;
	tcp(&k, ipv6(&k, 6, tclass, 20 + 12), 40000, dport, 12);
	return k;
}
static struct pkt v6_udp(uint16_t dport)
{
	struct pkt k;
	udp(&k, ipv6(&k, 17, 0, 8 + 30), 5000, dport, 30);
	return k;
}
static struct pkt arp(void)
{
	struct pkt k;
	uint8_t *a = eth(&k, 0x0806);
	static const uint8_t req[28] = {0, 1, 8, 0, 6, 4, 0, 1, 2, 0, 0, 0, 0, 0xaa, 10, 0, 0, 1,
					0, 0, 0, 0, 0, 0, 10, 0, 0, 2};
	memcpy(a, req, sizeof req);
	k.len += 28;
	memset(k.b, 0xff, 6);
	return k;
}
static struct pkt icmp(uint32_t src)
{
	struct pkt k;
	uint8_t *p = ipv4(&k, 1, src, 0x0a000002, 0, 8 + 16, 0, 5);
	memset(p, 0, 8);
	p[0] = 8;
	payload(&k, p + 8, 16);
	be16(p + 2, csum(p, 24));
	return k;
}
static struct pkt cut(struct pkt k, uint32_t len) { return k.len = len, k; }

/* ---- one run's results, as text both sides produce */
struct out {
	char *s;
	size_t len, cap;
};
static void outf(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void outf(struct out *o, const char *fmt, ...)
{
	va_list ap;
	for (;;) {
		va_start(ap, fmt);
		int n = vsnprintf(o->s ? o->s + o->len : NULL, o->s ? o->cap - o->len : 0, fmt, ap);
		va_end(ap);
		if (o->s && o->len + (size_t)n < o->cap) {
			o->len += (size_t)n;
			return;
		}
		o->cap = o->cap * 2 + (size_t)n + 256;
		o->s = realloc(o->s, o->cap);
	}
}
static void outhex(struct out *o, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		outf(o, "%02x", p[i]);
}

/* Lines of map entries, sorted (hash maps are sets). */
struct lines {
	char **v;
	size_t n;
};
static int cmpstr(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }
static void lines_flush(struct lines *l, struct out *o)
{
	qsort(l->v, l->n, sizeof *l->v, cmpstr);
	for (size_t i = 0; i < l->n; i++)
		outf(o, "%s\n", l->v[i]), free(l->v[i]);
	free(l->v);
	l->v = NULL, l->n = 0;
}
/* "map NAME KEY = VALUE"; per-CPU values summed word by word over ncpu copies. */
static void entry(struct lines *l, const char *name, const uint8_t *k, size_t ks, const uint8_t *v, size_t vs,
		  int percpu, int ncpu)
{
	struct out o = {0};
	outf(&o, "map %s ", name);
	outhex(&o, k, ks);
	outf(&o, " = ");
	if (percpu) {
		size_t stride = (vs + 7) & ~(size_t)7;
		for (size_t w = 0; w < stride; w += 8) {
			uint64_t s = 0, x;
			for (int c = 0; c < ncpu; c++)
				memcpy(&x, v + (size_t)c * stride + w, 8), s += x;
			outhex(&o, (uint8_t *)&s, 8);
		}
	} else if (v) {
		outhex(&o, v, vs);
	}
	l->v = realloc(l->v, (l->n + 1) * sizeof *l->v);
	l->v[l->n++] = o.s;
}
static int is_percpu(uint32_t t) { return t == 5 || t == 6 || t == 10; }

/* Map kinds without plain key/value reads, the same on both sides: QUEUE and STACK are
 * popped to empty (in their order), a BLOOM_FILTER is asked about each probe value, a
 * map of maps lists the slots that hold a map (the inner maps are dumped themselves). */
enum { K_PLAIN, K_POP, K_BLOOM, K_OUTER, K_RING };
static int kind_of(uint32_t t)
{
	return t == 22 || t == 23 ? K_POP : t == 30 ? K_BLOOM : t == 12 || t == 13 ? K_OUTER
	       : t == 27 ? K_RING : K_PLAIN;
}
static const uint32_t bloom_probe[] = {0x0100000a, 0x0301010a, 0x0501a8c0, 0x0700000b, 0x0900000a};
struct side {
	int (*next)(void *m, const void *k, void *next);
	int (*lookup)(void *m, const void *k, void *v);
	int (*pop)(void *m, void *v);
};
static void dump_map(const struct side *sd, void *m, const char *name, uint32_t t, uint32_t ks, uint32_t vs,
		     int ncpu, struct out *o)
{
	struct lines l = {0};
	uint8_t key[64], next[64], *val = malloc((size_t)((vs + 7) & ~7u) * (size_t)ncpu + 8);
	const char *dot = strchr(name, '.');  /* global data: libbpf prefixes the object name */
	switch (kind_of(t)) {
	case K_POP:
		for (int i = 0; i < 64 && sd->pop(m, val) == 0; i++) {
			outf(o, "map %s pop ", name);
			outhex(o, val, vs);
			outf(o, "\n");
		}
		break;
	case K_BLOOM:
		for (size_t i = 0; i < sizeof bloom_probe / sizeof *bloom_probe; i++) {
			memcpy(val, &bloom_probe[i], 4);
			outf(o, "map %s has %08x: %s\n", name, bloom_probe[i], sd->lookup(m, NULL, val) == 0 ? "maybe" : "no");
		}
		break;
	default:
		for (int first = 1; sd->next(m, first ? NULL : key, next) == 0; first = 0) {
			memcpy(key, next, ks);
			if (sd->lookup(m, key, val) == 0) {
				if (kind_of(t) == K_OUTER)
					entry(&l, name, key, ks, NULL, 0, 0, 1);  /* "= ": holds a map */
				else
					entry(&l, dot ? dot : name, key, ks, val, vs, is_percpu(t), ncpu);
			}
		}
		lines_flush(&l, o);
	}
	free(val);
}

/* ---- the examples */
struct run {
	const char *prog;
	struct pkt pkt;
	uint32_t retval;      /* what the example promises */
	const struct pkt *want;  /* and the packet it leaves, when it changes it */
};

struct example {
	const char *obj;
	struct run runs[16];
	int nruns;
	int ctx;               /* compare __sk_buff ctx_out */
	void (*config)(void *rodata, size_t size);   /* before load */
	void (*check)(const char *obj, const char *res);  /* the promised map contents */
};

static int has(const char *s, const char *sub) { return strstr(s, sub) != NULL; }
static int count_of(const char *s, const char *sub)
{
	int n = 0;
	for (; (s = strstr(s, sub)); s++)
		n++;
	return n;
}

/* "map NAME <key> = <value>" with a u32 key and u64 value */
static int has_u32_u64(const char *res, const char *map, uint32_t k, uint64_t v)
{
	char want[128];
	struct out o = {0};
	outhex(&o, (uint8_t *)&k, 4);
	outf(&o, " = ");
	outhex(&o, (uint8_t *)&v, 8);
	snprintf(want, sizeof want, "map %s %s\n", map, o.s);
	free(o.s);
	return has(res, want);
}

#define XDP_ABORTED 0
#define XDP_DROP 1
#define XDP_PASS 2
#define XDP_TX 3
#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (b) << 16 | (c) << 8 | (d))

static uint32_t plen[16];   /* lengths of the xdp_parse packets */

static void check_xdp_parse(const char *obj, const char *res)
{
	static const uint64_t want[8] = {1, 1, 5, 2, 2, 3, 2, 1};  /* other arp v4 v6 tcp udp drop short */
	int ok = 1;
	for (uint32_t k = 0; k < 8; k++)
		ok &= has_u32_u64(res, "proto_count", k, want[k]);
	CHECK(ok, "xdp_parse: packets per protocol", "%s:\n%s", obj, res);
	uint32_t s1 = __builtin_bswap32(IP(10, 0, 0, 1)), s3 = __builtin_bswap32(IP(10, 0, 0, 3));
	CHECK(has_u32_u64(res, "src_bytes", s1, plen[0] + plen[1] + plen[9]) &&
	      has_u32_u64(res, "src_bytes", s3, plen[2] + plen[7]) && count_of(res, "map src_bytes ") == 2,
	      "xdp_parse: bytes per IPv4 source", "%s:\n%s", obj, res);
}

static void check_socket(const char *obj, const char *res)
{
	/* http_only: 2 accepted, 4 rejected; http_ldabs: 2 accepted, 3 rejected (the cut
	 * packet aborts in ld_abs before counting) */
	CHECK(has_u32_u64(res, "verdicts", 0, 7) && has_u32_u64(res, "verdicts", 1, 4) &&
	      has(res, "map sport_hits 409c = 04000000\n") && has(res, "map sport_hits 0f27 = 04000000\n") == 0,
	      "socket_filter: verdicts and source ports", "%s:\n%s", obj, res);
}

/* A u32 of run i's ctx_out (from the result text), or ~0u. */
static uint32_t ctx_u32(const char *res, int i, int off)
{
	const char *l = res;
	for (; i > 0 && l; i--)
		if ((l = strchr(l, '\n')))
			l++;
	const char *c = l ? strstr(l, " ctx ") : NULL, *e = l ? strchr(l, '\n') : NULL;
	uint8_t b[4];
	if (!c || !e || c + 5 + 2 * (off + 4) > e)
		return ~0u;
	for (int k = 0; k < 4; k++)
		sscanf(c + 5 + 2 * (off + k), "%2hhx", &b[k]);
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static void check_tc(const char *obj, const char *res)
{
	/* __sk_buff: mark at 8, priority at 32 */
	CHECK(ctx_u32(res, 1, 8) == 0x12e && ctx_u32(res, 1, 32) == 5 && ctx_u32(res, 4, 8) == 0x10a &&
	      ctx_u32(res, 4, 32) == 1 && ctx_u32(res, 3, 8) == 0x100 && ctx_u32(res, 3, 32) == 0,
	      "tc_classifier: mark and priority from DSCP", "%s: %#x %u %#x %u\n%s", obj, ctx_u32(res, 1, 8),
	      ctx_u32(res, 1, 32), ctx_u32(res, 4, 8), ctx_u32(res, 4, 32), res);
	/* classes: 0 (dscp 0, 1, remarked 48), 5 (46), 1 (v6 AF11 = 10) */
	CHECK(has_u32_u64(res, "class_count", 0, 3) && has_u32_u64(res, "class_count", 5, 1) &&
	      has_u32_u64(res, "class_count", 1, 1), "tc_classifier: packets per class", "%s:\n%s", obj, res);
}

struct cfg { uint16_t bounce_port; uint8_t swap_macs; };
static void config_globals(void *rodata, size_t size)
{
	CHECK(rodata && size == sizeof(struct cfg), "globals_calls: .rodata image before load", "%p %zu", rodata, size);
	if (rodata && size >= sizeof(struct cfg))
		((struct cfg *)rodata)->bounce_port = 5353, ((struct cfg *)rodata)->swap_macs = 1;
}
static void check_globals(const char *obj, const char *res)
{
	/* kinds of the 6 packets: 3 2 2 0 1 1; weights start 1 10 100 1000 and each packet
	 * adds one to its kind's weight before adding it to the score */
	uint64_t w[4] = {1, 10, 100, 1000}, score = 0;
	static const int kinds[6] = {3, 2, 2, 0, 1, 1};
	for (int i = 0; i < 6; i++)
		score += ++w[kinds[i]];
	struct out o = {0};
	outf(&o, "map .data 00000000 = ");
	outhex(&o, (uint8_t *)w, sizeof w);
	/* .bss: packets, bounced, score, last_len in an order the compiler picks: look for
	 * the values as words */
	CHECK(has(res, o.s), "globals_calls: .data table learned", "%s: want %s\n%s", obj, o.s, res);
	const char *bss = strstr(res, "map .bss 00000000 = ");
	int found = 0;
	uint64_t want[3] = {6, 1, score};
	for (int i = 0; bss && i < 3; i++) {
		struct out h = {0};
		outhex(&h, (uint8_t *)&want[i], 8);
		const char *e = strchr(bss, '\n'), *f = strstr(bss + 20, h.s);
		found += f && f < e && (f - (bss + 20)) % 16 == 0;
		free(h.s);
	}
	CHECK(found == 3, "globals_calls: .bss counters", "%s: score %llu\n%s", obj, (unsigned long long)score, res);
	free(o.s);
}

static void check_ringbuf(const char *obj, const char *res)
{
	int n = count_of(res, "event ");
	CHECK(n == 4 && has_u32_u64(res, "stats", 0, 4) && has_u32_u64(res, "stats", 1, 0) &&
	      has(res, "event 00000000") && has(res, "event 03000000"), "ringbuf_events: 4 events in order",
	      "%s: %d events\n%s", obj, n, res);
}

static uint32_t mlen[8];   /* lengths of the map_kinds packets */

static void check_map_kinds(const char *obj, const char *res)
{
	CHECK(has_u32_u64(res, "stats", 0, 4) && has_u32_u64(res, "stats", 1, 2) && has_u32_u64(res, "stats", 2, 1),
	      "map_kinds: bloom filter new/repeated sources", "%s:\n%s", obj, res);
	CHECK(has(res, "map seen has 0100000a: maybe\nmap seen has 0301010a: maybe\nmap seen has 0501a8c0: maybe\n"
		       "map seen has 0700000b: maybe\nmap seen has 0900000a: no\n"),
	      "map_kinds: bloom filter contents", "%s:\n%s", obj, res);
	CHECK(has_u32_u64(res, "class_packets", 0, 1) && has_u32_u64(res, "class_packets", 1, 2) &&
	      has_u32_u64(res, "class_packets", 2, 2) && has_u32_u64(res, "class_packets", 3, 1),
	      "map_kinds: LPM classes counted in an LRU per-CPU hash", "%s:\n%s", obj, res);
	CHECK(has(res, "map recent_q pop c0a80105\nmap recent_q pop 0b000007\nmap recent_q pop 0a000001\n"
		       "map recent_q pop 0a010103\n") &&
	      has(res, "map recent_s pop 0a010103\nmap recent_s pop 0a000001\nmap recent_s pop 0b000007\n"
		       "map recent_s pop c0a80105\n"),
	      "map_kinds: queue and stack keep the last four", "%s:\n%s", obj, res);
	CHECK(has_u32_u64(res, "bytes_c1", 0, mlen[0] + mlen[4]) && has_u32_u64(res, "bytes_c2", 0, mlen[1] + mlen[6]) &&
	      has(res, "map by_class 01000000 = \nmap by_class 02000000 = \n"),
	      "map_kinds: array of maps", "%s:\n%s", obj, res);
	CHECK(has(res, "map prefixes 080000000a000000 = 01000000\n") &&
	      has(res, "map prefixes 100000000a010000 = 02000000\n") &&
	      has(res, "map prefixes 10000000c0a80000 = 03000000\n"), "map_kinds: LPM trie", "%s:\n%s", obj, res);
}

static struct example examples[6];

static void build_examples(void)
{
	struct example *e = examples;
	e->obj = "xdp_parse";
	struct pkt xp[10] = {
		v4_tcp(IP(10, 0, 0, 1), 1234, 80, 20, 0), v4_udp(IP(10, 0, 0, 1), 5000, 9, 10, 0),
		v4_udp(IP(10, 0, 0, 3), 5000, 53, 30, 0), v6_tcp(443, 0), v6_udp(9), arp(),
		cut(v4_tcp(IP(10, 0, 0, 1), 1, 2, 0, 0), 14 + 10), v4_udp(IP(10, 0, 0, 3), 0, 0, 40, 0),
		cut(v4_tcp(IP(10, 0, 0, 1), 1, 2, 0, 0), 14), icmp(IP(10, 0, 0, 1)),
	};
	be16(xp[7].b + 14 + 6, 0x00b9);                      /* a later fragment (offset 185*8) */
	be16(xp[7].b + 14 + 10, 0), be16(xp[7].b + 14 + 10, csum(xp[7].b + 14, 20));
	be16(xp[8].b + 12, 0x88cc);                          /* LLDP: not parsed */
	static const uint32_t xr[10] = {XDP_PASS, XDP_DROP, XDP_PASS, XDP_PASS, XDP_DROP,
					XDP_PASS, XDP_DROP, XDP_PASS, XDP_PASS, XDP_PASS};
	for (int i = 0; i < 10; i++)
		e->runs[i] = (struct run){"xdp_parse", xp[i], xr[i], NULL}, plen[i] = xp[i].len;
	e->nruns = 10;
	e->check = check_xdp_parse;

	e++;
	e->obj = "socket_filter";
	struct pkt sp[6] = {
		v4_tcp(IP(10, 0, 0, 1), 40000, 80, 100, 0), v4_tcp(IP(10, 0, 0, 1), 40001, 443, 10, 0),
		v4_udp(IP(10, 0, 0, 1), 40000, 80, 10, 0), v6_tcp(80, 0),
		cut(v4_tcp(IP(10, 0, 0, 1), 9999, 80, 0, 0), 14 + 20 + 2), v4_tcp(IP(10, 0, 0, 1), 40000, 80, 7, 0),
	};
	for (int i = 0; i < 6; i++) {
		uint32_t ok = i == 0 || i == 5 ? sp[i].len - 14 : 0;
		e->runs[2 * i] = (struct run){"http_only", sp[i], ok, NULL};
		e->runs[2 * i + 1] = (struct run){"http_ldabs", sp[i], ok, NULL};
	}
	e->nruns = 12;
	e->check = check_socket;

	e++;
	e->obj = "tc_classifier";
	struct pkt tp[6] = {
		v4_tcp(IP(10, 0, 0, 1), 1, 80, 10, 0), v4_udp(IP(10, 0, 0, 1), 1, 5004, 40, 46 << 2),
		v4_tcp(IP(10, 0, 0, 1), 1, 80, 10, 1 << 2), v4_udp(IP(10, 0, 0, 1), 1, 179, 10, 48 << 2 | 1),
		v6_tcp(22, 10 << 2), arp(),
	};
	static const uint32_t tr[6] = {0, 0, 2, 0, 0, 0};   /* TC_ACT_OK, TC_ACT_SHOT */
	static struct pkt remarked;   /* DSCP 48 -> 0, ECN kept, checksum recomputed */
	remarked = v4_udp(IP(10, 0, 0, 1), 1, 179, 10, 1);
	for (int i = 0; i < 6; i++)
		e->runs[i] = (struct run){"classify", tp[i], tr[i], i == 3 ? &remarked : NULL};
	e->nruns = 6;
	e->ctx = 1;
	e->check = check_tc;

	e++;
	e->obj = "globals_calls";
	struct pkt gp[6] = {
		v4_udp(IP(10, 0, 0, 1), 1, 5353, 20, 0), v4_udp(IP(10, 0, 0, 1), 1, 7, 20, 0),
		v4_tcp(IP(10, 0, 0, 1), 1, 5353, 0, 0), arp(), v4_udp(IP(10, 0, 0, 1), 1, 5353, 20, 0),
		cut(v4_tcp(IP(10, 0, 0, 1), 1, 2, 0, 0), 20),
	};
	gp[4].b[14] = 0x46;   /* IHL 6: options, kind 1 */
	static const uint32_t gr[6] = {XDP_TX, XDP_PASS, XDP_PASS, XDP_PASS, XDP_PASS, XDP_PASS};
	static struct pkt swapped;   /* MAC addresses swapped */
	swapped = gp[0];
	memcpy(swapped.b, gp[0].b + 6, 6), memcpy(swapped.b + 6, gp[0].b, 6);
	for (int i = 0; i < 6; i++)
		e->runs[i] = (struct run){"bounce", gp[i], gr[i], i == 0 ? &swapped : NULL};
	e->nruns = 6;
	e->config = config_globals;
	e->check = check_globals;

	e++;
	e->obj = "ringbuf_events";
	struct pkt rp[4] = {v4_tcp(IP(192, 168, 1, 1), 1, 80, 5, 0), arp(), v6_udp(53), icmp(IP(10, 9, 8, 7))};
	for (int i = 0; i < 4; i++)
		e->runs[i] = (struct run){"xdp_events", rp[i], XDP_PASS, NULL};
	e->nruns = 4;
	e->check = check_ringbuf;

	e++;
	e->obj = "map_kinds";
	struct pkt mp[7] = {
		v4_udp(IP(10, 0, 0, 1), 1, 53, 10, 0), v4_tcp(IP(10, 1, 1, 3), 1, 80, 20, 0),
		v4_udp(IP(192, 168, 1, 5), 1, 53, 30, 0), v4_tcp(IP(11, 0, 0, 7), 1, 80, 40, 0),
		v4_udp(IP(10, 0, 0, 1), 1, 53, 50, 0), arp(), v4_tcp(IP(10, 1, 1, 3), 1, 80, 60, 0),
	};
	for (int i = 0; i < 7; i++)
		e->runs[i] = (struct run){"xdp_maps", mp[i], XDP_PASS, NULL}, mlen[i] = mp[i].len;
	e->nruns = 7;
	e->check = check_map_kinds;
}

/* The run's line: program, errno, retval, data_out, ctx_out (the whole __sk_buff). */
static void out_run(struct out *o, const struct run *r, int err, uint32_t retval, const uint8_t *data,
		    uint32_t dlen, const uint8_t *ctx, uint32_t clen)
{
	outf(o, "run %s err %d retval %u data ", r->prog, err, retval);
	outhex(o, data, dlen);
	if (clen) {
		outf(o, " ctx ");
		outhex(o, ctx, clen);
	}
	outf(o, "\n");
}

#define SKB_CTX 192   /* sizeof(struct __sk_buff) */

/* ---- Skep */
static int skep_event(void *ctx, void *data, size_t size)
{
	struct out *o = ctx;
	outf(o, "event ");
	outhex(o, data, size);
	outf(o, "\n");
	return 0;
}

static int sk_next(void *m, const void *k, void *n) { return skep_map_get_next_key(m, k, n); }
static int sk_lookup(void *m, const void *k, void *v) { return skep_map_lookup_elem(m, k, v); }
static int sk_pop(void *m, void *v) { return skep_map_lookup_and_delete_elem(m, NULL, v); }

static int run_skep(const struct example *ex, enum skep_engine engine, struct out *o)
{
	char path[600];
	snprintf(path, sizeof path, "%s/%s.o", objdir, ex->obj);
	skep_object *obj = NULL;
	int rc = skep_object_open_file(path, NULL, &obj);
	if (rc) {
		outf(o, "open: %d %s\n", rc, skep_object_error(NULL));
		return rc;
	}
	if (ex->config) {
		size_t sz = 0;
		void *ro = skep_object_rodata(obj, &sz);
		ex->config(ro, sz);
	}
	if ((rc = skep_object_load(obj))) {
		outf(o, "load: %d %s\n", rc, skep_object_error(obj));
		skep_object_close(obj);
		return rc;
	}
	for (skep_program *p = NULL; (p = skep_object_next_program(obj, p));)
		if (skep_program_prog(p)) {
			skep_prog *sp = skep_program_prog(p);
			if ((rc = skep_prog_set_engine(sp, engine)))
				outf(o, "engine %s: %d\n", skep_program_name(p), rc);
			CHECK(skep_prog_engine(sp) == engine, "example runs on the engine chosen", "%s %s: engine %d: %s",
			      ex->obj, skep_program_name(p), skep_prog_engine(sp),
			      skep_prog_fallback_reason(sp) ? skep_prog_fallback_reason(sp) : "");
		}
	for (int i = 0; i < ex->nruns; i++) {
		const struct run *r = &ex->runs[i];
		skep_program *sp = skep_object_find_program_by_name(obj, r->prog);
		skep_prog *p = sp ? skep_program_prog(sp) : NULL;
		uint8_t data[512], ctx[SKB_CTX] = {0};
		struct skep_test_run_opts t = {.data_in = r->pkt.b, .data_size_in = r->pkt.len, .data_out = data,
					       .data_size_out = sizeof data};
		if (ex->ctx)
			t.ctx_out = ctx, t.ctx_size_out = sizeof ctx;
		int err = p ? skep_prog_test_run(p, &t) : -ENOENT;
		if (err)
			fprintf(stderr, "%s %s run %d: %s\n", ex->obj, r->prog, i, p ? skep_prog_error(p) : "no program");
		out_run(o, r, err, t.retval, data, err ? 0 : t.data_size_out, ctx, ex->ctx ? SKB_CTX : 0);
	}
	int ncpu = skep_num_possible_cpus();
	static const struct side sd = {sk_next, sk_lookup, sk_pop};
	for (skep_object_map *om = NULL; (om = skep_object_next_map(obj, om));) {
		skep_map *m = skep_object_map_handle(om);
		uint32_t t = skep_map_type(m);
		if (t == SKEP_MAP_TYPE_RINGBUF) {
			skep_ringbuf_consumer *c = skep_ringbuf_consumer_new(m, skep_event, o);
			int n = c ? skep_ringbuf_consumer_consume(c) : -ENOMEM;
			outf(o, "ring %s consumed %d\n", skep_object_map_name(om), n);
			skep_ringbuf_consumer_free(c);
			continue;
		}
		dump_map(&sd, m, skep_object_map_name(om), t, skep_map_key_size(m), skep_map_value_size(m), ncpu, o);
	}
	skep_object_close(obj);
	return 0;
}

/* ---- the kernel, through libbpf */
static struct {
	void *h;
	__typeof__(bpf_object__open_file) *open;
	__typeof__(bpf_object__load) *load;
	__typeof__(bpf_object__close) *close;
	__typeof__(bpf_object__find_map_by_name) *find_map;
	__typeof__(bpf_object__next_map) *next_map;
	__typeof__(bpf_object__find_program_by_name) *find_prog;
	__typeof__(bpf_program__fd) *prog_fd;
	__typeof__(bpf_map__initial_value) *initial_value;
	__typeof__(bpf_map__set_initial_value) *set_initial_value;
	__typeof__(bpf_map__name) *map_name;
	__typeof__(bpf_map__type) *map_type;
	__typeof__(bpf_map__key_size) *key_size;
	__typeof__(bpf_map__value_size) *value_size;
	__typeof__(bpf_map__fd) *map_fd;
	__typeof__(bpf_map_get_next_key) *get_next_key;
	__typeof__(bpf_map_lookup_elem) *lookup;
	__typeof__(bpf_map_lookup_and_delete_elem) *lookup_and_delete;
	__typeof__(bpf_prog_test_run_opts) *test_run;
	__typeof__(libbpf_num_possible_cpus) *ncpus;
	__typeof__(ring_buffer__new) *rb_new;
	__typeof__(ring_buffer__consume) *rb_consume;
	__typeof__(ring_buffer__free) *rb_free;
	__typeof__(libbpf_set_print) *set_print;
} lb;

static int libbpf_init(void)
{
	if (!(lb.h = dlopen("libbpf.so.1", RTLD_NOW)))
		return -1;
#define S(f, n) *(void **)&lb.f = dlsym(lb.h, #n)
	S(open, bpf_object__open_file); S(load, bpf_object__load); S(close, bpf_object__close);
	S(find_map, bpf_object__find_map_by_name); S(next_map, bpf_object__next_map);
	S(find_prog, bpf_object__find_program_by_name); S(prog_fd, bpf_program__fd);
	S(initial_value, bpf_map__initial_value); S(set_initial_value, bpf_map__set_initial_value); S(map_name, bpf_map__name); S(map_type, bpf_map__type);
	S(key_size, bpf_map__key_size); S(value_size, bpf_map__value_size); S(map_fd, bpf_map__fd);
	S(get_next_key, bpf_map_get_next_key); S(lookup, bpf_map_lookup_elem); S(lookup_and_delete, bpf_map_lookup_and_delete_elem);
	S(test_run, bpf_prog_test_run_opts); S(ncpus, libbpf_num_possible_cpus);
	S(rb_new, ring_buffer__new); S(rb_consume, ring_buffer__consume); S(rb_free, ring_buffer__free);
	S(set_print, libbpf_set_print);
#undef S
	return lb.open && lb.load && lb.test_run && lb.rb_new && lb.rb_free && lb.set_print && lb.set_initial_value && lb.lookup_and_delete ? 0 : -1;
}

static int k_next(void *m, const void *k, void *n) { return lb.get_next_key((int)(intptr_t)m, k, n); }
static int k_lookup(void *m, const void *k, void *v) { return lb.lookup((int)(intptr_t)m, k, v); }
static int k_pop(void *m, void *v) { return lb.lookup_and_delete((int)(intptr_t)m, NULL, v); }

static int run_kernel(const struct example *ex, struct out *o)
{
	char path[600];
	snprintf(path, sizeof path, "%s/%s.o", objdir, ex->obj);
	struct bpf_object *obj = lb.open(path, NULL);
	if (!obj || (uintptr_t)obj >= (uintptr_t)-4095) {
		outf(o, "open: failed\n");
		return -1;
	}
	if (ex->config) {
		struct bpf_map *rm = lb.find_map(obj, ".rodata");
		size_t sz = 0;
		const void *init = rm ? lb.initial_value(rm, &sz) : NULL;
		void *copy = init ? malloc(sz) : NULL;
		if (copy) {  /* as a loader without a skeleton: change a copy and set it */
			memcpy(copy, init, sz);
			ex->config(copy, sz);
			if (lb.set_initial_value(rm, copy, sz))
				outf(o, "set_initial_value failed\n");
		} else {
			outf(o, "no .rodata\n");
		}
		free(copy);
	}
	int rc = lb.load(obj);
	if (rc) {
		outf(o, "load: %d\n", rc);
		lb.close(obj);
		return rc;
	}
	for (int i = 0; i < ex->nruns; i++) {
		const struct run *r = &ex->runs[i];
		struct bpf_program *p = lb.find_prog(obj, r->prog);
		uint8_t data[512], ctx[SKB_CTX] = {0};
		LIBBPF_OPTS(bpf_test_run_opts, t, .data_in = r->pkt.b, .data_size_in = r->pkt.len, .data_out = data,
			    .data_size_out = sizeof data);
		if (ex->ctx)
			t.ctx_out = ctx, t.ctx_size_out = sizeof ctx;
		int err = p ? lb.test_run(lb.prog_fd(p), &t) : -ENOENT;
		if (err < 0)
			err = -errno;
		out_run(o, r, err, t.retval, data, err ? 0 : t.data_size_out, ctx, ex->ctx ? SKB_CTX : 0);
	}
	int ncpu = lb.ncpus();
	static const struct side sd = {k_next, k_lookup, k_pop};
	for (struct bpf_map *m = NULL; (m = lb.next_map(obj, m));) {
		uint32_t t = (uint32_t)lb.map_type(m);
		int fd = lb.map_fd(m);
		if (t == BPF_MAP_TYPE_RINGBUF) {
			struct ring_buffer *rb = lb.rb_new(fd, skep_event, o, NULL);
			int n = rb ? lb.rb_consume(rb) : -ENOMEM;
			outf(o, "ring %s consumed %d\n", lb.map_name(m), n);
			lb.rb_free(rb);
			continue;
		}
		dump_map(&sd, (void *)(intptr_t)fd, lb.map_name(m), t, lb.key_size(m), lb.value_size(m), ncpu, o);
	}
	lb.close(obj);
	return 0;
}

static int silent(enum libbpf_print_level level, const char *fmt, va_list ap) { return 0; }

/* The first line where a and b differ, for the message. */
static void first_diff(const char *a, const char *b, char *buf, size_t len)
{
	while (*a && *a == *b) {
		const char *ea = strchr(a, '\n'), *eb = strchr(b, '\n');
		if (!ea || !eb || ea - a != eb - b || memcmp(a, b, (size_t)(ea - a)))
			break;
		a = ea + 1, b = eb + 1;
	}
	snprintf(buf, len, "skep:   %.*s\nkernel: %.*s", (int)strcspn(a, "\n"), a, (int)strcspn(b, "\n"), b);
}

static void test_example(const struct example *ex, const char *dir, int kernel_ok)
{
	static const enum skep_engine engines[] = {SKEP_ENGINE_INTERP, SKEP_ENGINE_CHECKED, SKEP_ENGINE_JIT};
	static const char *const names[] = {"interp", "checked", "jit"};
	struct out k = {0};
	if (kernel_ok && run_kernel(ex, &k) == -EPERM) {
		t_skip("kernel comparison", "%s%s: no permission to load BPF programs (run as root)", ex->obj, dir);
		kernel_ok = 0;
	}
	for (int e = 0; e < 3; e++) {
		struct out s = {0};
		char tag[128];
		snprintf(tag, sizeof tag, "%s%s %s", ex->obj, dir, names[e]);
		int rc = run_skep(ex, engines[e], &s);
		CHECK(rc == 0, "example loads and runs", "%s: %s", tag, s.s ? s.s : "");
		if (rc)
			continue;
		/* the promised retvals */
		int bad = 0;
		const char *line = s.s;
		for (int i = 0; i < ex->nruns; i++, line = strchr(line, '\n') + 1) {
			char want[128];
			snprintf(want, sizeof want, "run %s err 0 retval %u data ", ex->runs[i].prog, ex->runs[i].retval);
			if (strncmp(line, want, strlen(want)))
				bad++, fprintf(stderr, "%s run %d: want '%s', got %.80s\n", tag, i, want, line);
			const struct pkt *w = ex->runs[i].want;
			if (w) {
				struct out h = {0};
				outhex(&h, w->b, w->len);
				const char *d = line + strlen(want);
				CHECK(!strncmp(d, h.s, h.len) && (d[h.len] == '\n' || d[h.len] == ' '), "example packet out",
				      "%s run %d:\nwant %s\ngot  %.*s", tag, i, h.s, (int)strcspn(d, " \n"), d);
				free(h.s);
			}
		}
		CHECK(!bad, "example retvals", "%s: %d runs differ", tag, bad);
		ex->check(tag, s.s);
		if (kernel_ok) {
			char diff[2048];
			first_diff(s.s, k.s ? k.s : "", diff, sizeof diff);
			CHECK(k.s && !strcmp(s.s, k.s), "example agrees with the kernel", "%s:\n%s", tag, diff);
			if (getenv("SKEP_EXAMPLES_DUMP") && e == 0)  /* both sides' results in full */
				printf("== %s skep\n%s== kernel\n%s", tag, s.s, k.s ? k.s : "");
		}
		free(s.s);
	}
	free(k.s);
}

/* ---- the tracing examples: loaded, not run (tests/cli/trace.sh runs them under skep trace) */
static const char *const traced[] = {"mallocstacks", "funclatency", "bashreadline", "usdt_ticks"};

static void test_traced(const char *name, const char *dir, int kernel_ok)
{
	char path[600];
	snprintf(path, sizeof path, "%s/%s.o", objdir, name);
	skep_object *obj = NULL;
	int rc = skep_object_open_file(path, NULL, &obj);
	if (!rc)
		rc = skep_object_load(obj);
	CHECK(rc == 0, "tracing example loads in Skep", "%s%s: %s", name, dir, skep_object_error(obj));
	int n = 0;
	for (skep_program *p = NULL; !rc && (p = skep_object_next_program(obj, p)); n++)
		CHECK(skep_program_prog(p) && skep_program_type(p) == BPF_PROG_TYPE_KPROBE, "tracing example is a kprobe program",
		      "%s%s %s: type %u", name, dir, skep_program_name(p), skep_program_type(p));
	CHECK(rc || n > 0, "tracing example has programs", "%s%s", name, dir);
	skep_object_close(obj);
	if (!kernel_ok)
		return;
	struct bpf_object *ko = lb.open(path, NULL);
	if (!ko || (uintptr_t)ko >= (uintptr_t)-4095) {
		CHECK(0, "tracing example opens in libbpf", "%s%s", name, dir);
		return;
	}
	rc = lb.load(ko);
	if (rc == -EPERM)
		t_skip("tracing example in the kernel", "%s%s: no permission to load BPF programs (run as root)", name, dir);
	else
		CHECK(rc == 0, "tracing example loads in the kernel", "%s%s: %d", name, dir, rc);
	lb.close(ko);
}

/* Every NAME.o of the directory is compared with the kernel above or listed as traced. */
static void check_all_covered(const char *dir)
{
	DIR *d = opendir(objdir);
	CHECK(d != NULL, "example directory", "%s", objdir);
	for (struct dirent *e; d && (e = readdir(d));) {
		size_t len = strlen(e->d_name);
		if (len < 3 || strcmp(e->d_name + len - 2, ".o"))
			continue;
		int found = 0;
		for (size_t i = 0; i < sizeof examples / sizeof *examples; i++)
			found |= examples[i].obj && strlen(examples[i].obj) == len - 2 && !strncmp(examples[i].obj, e->d_name, len - 2);
		for (size_t i = 0; i < sizeof traced / sizeof *traced; i++)
			found |= strlen(traced[i]) == len - 2 && !strncmp(traced[i], e->d_name, len - 2);
		CHECK(found, "every example is tested", "%s%s/%s: neither compared with the kernel nor listed as traced "
		      "(tests/unit/test_examples.c)", "examples", dir, e->d_name);
	}
	if (d)
		closedir(d);
}

int main(int argc, char **argv)
{
	const char *s = strrchr(argv[0], '/');
	char base[512];
	snprintf(base, sizeof base, "%.*s/../examples", s ? (int)(s - argv[0]) : 1, s ? argv[0] : ".");
	if (getenv("SKEP_EXAMPLEDIR"))
		snprintf(base, sizeof base, "%s", getenv("SKEP_EXAMPLEDIR"));
	int kernel_ok = libbpf_init() == 0;
	CHECK(kernel_ok, "libbpf", "cannot dlopen libbpf.so.1 (apt-get install libbpf-dev)");
	if (kernel_ok)
		lb.set_print(silent);
	build_examples();
	static const char *const dirs[2] = {"", "/v4"};
	for (int d = 0; d < 2; d++) {
		snprintf(objdir, sizeof objdir, "%s%s", base, dirs[d]);
		if (d && access(objdir, F_OK))
			break;  /* no clang-19 */
		for (size_t i = 0; i < sizeof examples / sizeof *examples; i++)
			test_example(&examples[i], dirs[d], kernel_ok);
		for (size_t i = 0; i < sizeof traced / sizeof *traced; i++)
			test_traced(traced[i], dirs[d], kernel_ok);
		check_all_covered(dirs[d]);
	}
	if (lb.h)
		dlclose(lb.h);
	return t_done();
}
