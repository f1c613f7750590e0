/* skep trace: maps printed by BTF type, log2 histograms as bpftrace's hist bar charts,
 * ring buffer records by their event struct.
 *
 * Call sites: the 8-byte key of a map whose name's last word (after the last '_', or
 * the whole name) is ip, ips, pc, pcs, site, sites, caller, callers, addr or addrs is a
 * user address of the traced processes, printed as bcc/bpftrace print stack frames:
 * "func+0x1a (/path/of/file)" ("0x7f.. (/path)" when no function symbol covers it; the
 * plain number when no mapping of a traced process held it). With -j the key stays the
 * number and "key_sym" carries that text. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "btf_print.h"
#include "skep/btf.h"
#include "skep/map.h"
#include "trace.h"

int trace_hist_kind(const skep_object *obj, const skep_object_map *m)
{
	const struct skep_btf *btf = skep_object_btf(obj);
	uint32_t vt = skep_object_map_btf_value_type_id(m);
	struct skep_btf_type bt;
	if (btf && vt && !skep_btf_type(btf, skep_btf_resolve(btf, vt), &bt) && bt.kind != SKEP_BTF_INT &&
	    bt.kind != SKEP_BTF_ARRAY)
		return 0;  /* a struct, say: not counts */
	uint32_t t = skep_object_map_type(m), ks = skep_object_map_key_size(m),
		 vs = skep_object_map_value_size(m);
	if (strncmp(skep_object_map_name(m), "hist", 4))
		return 0;
	if (t != SKEP_MAP_TYPE_ARRAY && t != SKEP_MAP_TYPE_HASH && t != SKEP_MAP_TYPE_LRU_HASH &&
	    t != SKEP_MAP_TYPE_PERCPU_ARRAY && t != SKEP_MAP_TYPE_PERCPU_HASH)
		return 0;
	if ((ks == 4 || ks == 8) && (vs == 4 || vs == 8))
		return 1;
	if (vs >= 8 && vs % 4 == 0)
		return 2;
	return 0;
}

static int percpu(uint32_t t)
{
	return t == SKEP_MAP_TYPE_PERCPU_ARRAY || t == SKEP_MAP_TYPE_PERCPU_HASH ||
	       t == SKEP_MAP_TYPE_LRU_PERCPU_HASH;
}

static uint64_t uint_at(const uint8_t *p, size_t size)
{
	uint64_t v = 0;
	memcpy(&v, p, size < 8 ? size : 8);  /* little-endian */
	return size == 4 ? (uint32_t)v : v;
}

/* "1K", "512", "2M": bpftrace's hist labels */
static void slot_bound(char *buf, size_t len, uint64_t v)
{
	static const char sfx[] = "KMGTPE";
	int i = -1;
	while (v >= 1024 && v % 1024 == 0 && i < 5) {
		v /= 1024;
		i++;
	}
	if (i < 0)
		snprintf(buf, len, "%llu", (unsigned long long)v);
	else
		snprintf(buf, len, "%llu%c", (unsigned long long)v, sfx[i]);
}

/* slot 0: the value 0; slot k: [2^(k-1), 2^k) (bcc's log2l) */
static void slot_range(unsigned k, uint64_t *lo, uint64_t *hi)
{
	*lo = k ? 1ULL << (k - 1) : 0;
	*hi = k ? (k >= 64 ? UINT64_MAX : (1ULL << k) - 1) : 0;
}

/* The symbol of a call-site key (see the top), or NULL. */
static const char *site_key(const char *map, const void *key, size_t key_size, char *buf, size_t len)
{
	if (!key || key_size != 8 || !sym_is_site_name(map))
		return NULL;
	return sym_format(uint_at(key, 8), buf, len) ? NULL : buf;
}

/* "@map[key]" with the key symbolized when it is a call site */
static void key_text(FILE *f, const char *map, const struct skep_btf *btf, uint32_t kt, const void *key,
		     size_t ks)
{
	char sym[4400];
	fprintf(f, "@%s[", map);
	if (site_key(map, key, ks, sym, sizeof sym))
		fputs(sym, f);
	else
		trace_value_line(f, btf, kt, key, ks);
	fputc(']', f);
}

static void print_hist(struct trace_out *o, const char *map, const skep_object *obj, uint32_t key_type,
		       const void *key, size_t key_size, const uint64_t *slots, unsigned n, double elapsed,
		       int final)
{
	unsigned lo = n, hi = 0;
	uint64_t max = 0;
	for (unsigned k = 0; k < n; k++)
		if (slots[k]) {
			lo = lo < k ? lo : k;
			hi = k;
			max = slots[k] > max ? slots[k] : max;
		}
	if (lo == n)
		return;
	if (o->json) {
		json_obj(&o->j, NULL);
		json_str(&o->j, "type", "hist");
		json_str(&o->j, "map", map);
		json_f64(&o->j, "time", elapsed);
		json_bool(&o->j, "final", final);
		if (key)
			btf_json_value(&o->j, "key", skep_object_btf(obj), key_type, key, key_size);
		char sym[4400];
		if (site_key(map, key, key_size, sym, sizeof sym))
			json_str(&o->j, "key_sym", sym);
		json_arr(&o->j, "buckets");
		for (unsigned k = lo; k <= hi; k++) {
			uint64_t a, b;
			slot_range(k, &a, &b);
			json_obj(&o->j, NULL);
			json_u64(&o->j, "min", a);
			json_u64(&o->j, "max", b);
			json_u64(&o->j, "count", slots[k]);
			json_end(&o->j);
		}
		json_end(&o->j);
		json_end(&o->j);
		json_nl(&o->j);
		return;
	}
	if (key)
		key_text(o->f, map, skep_object_btf(obj), key_type, key, key_size);
	else
		fprintf(o->f, "@%s", map);
	fputs(":\n", o->f);
	for (unsigned k = lo; k <= hi; k++) {
		uint64_t a, b;
		char la[24], lb[24], label[64];
		slot_range(k, &a, &b);
		slot_bound(la, sizeof la, a);
		if (k < 2)
			snprintf(label, sizeof label, "[%s]", la);
		else {
			slot_bound(lb, sizeof lb, b + 1);
			snprintf(label, sizeof label, "[%s, %s)", la, lb);
		}
		char bar[53];
		unsigned w = (unsigned)(slots[k] * 52 / max);
		memset(bar, '@', w);
		memset(bar + w, ' ', 52 - w);
		bar[52] = 0;
		fprintf(o->f, "%-20s %8llu |%s|\n", label, (unsigned long long)slots[k], bar);
	}
	fputc('\n', o->f);
}

/* A value as the host reads it (per-CPU: summed when it is an integer, else CPU 0's). */
static size_t host_value(uint32_t type, uint32_t vs, uint8_t *raw, int ncpu)
{
	if (!percpu(type))
		return vs;
	size_t stride = (vs + 7) / 8 * 8;
	if (vs == 4 || vs == 8) {
		uint64_t sum = 0;
		for (int c = 0; c < ncpu; c++)
			sum += uint_at(raw + c * stride, vs);
		memcpy(raw, &sum, vs);
	}
	return vs;
}

void trace_value_line(FILE *f, const struct skep_btf *btf, uint32_t type_id, const void *data, size_t size)
{
	if (!btf || !type_id) {
		btf_print_value(f, NULL, 0, data, size, 0);
		return;
	}
	struct json j;   /* one line: the JSON form of the value */
	json_init(&j, f);
	btf_json_value(&j, NULL, btf, type_id, data, size);
}

static int printable(const skep_object_map *m)
{
	switch (skep_object_map_type(m)) {
	case SKEP_MAP_TYPE_HASH: case SKEP_MAP_TYPE_ARRAY: case SKEP_MAP_TYPE_PERCPU_HASH:
	case SKEP_MAP_TYPE_PERCPU_ARRAY: case SKEP_MAP_TYPE_LRU_HASH: case SKEP_MAP_TYPE_LRU_PERCPU_HASH:
	case SKEP_MAP_TYPE_LPM_TRIE:
		break;
	default:
		return 0;
	}
	/* not: read-only data, externs, and libbpf's own maps (usdt.bpf.h's __bpf_usdt_*) */
	const char *sec = skep_object_map_section(m), *name = skep_object_map_name(m), *dot = strrchr(name, '.');
	return strncmp(sec, ".rodata", 7) && strcmp(sec, ".kconfig") && strncmp(name, "__", 2) &&
	       !(dot && (!strncmp(dot, ".rodata", 7) || !strcmp(dot, ".kconfig")));
}

static void dump_map(struct trace_out *o, const skep_object *obj, const skep_object_map *om, double elapsed,
		     int final)
{
	skep_map *m = skep_object_map_handle(om);
	const char *name = skep_object_map_name(om);
	uint32_t type = skep_object_map_type(om), ks = skep_object_map_key_size(om),
		 vs = skep_object_map_value_size(om);
	uint32_t kt = skep_object_map_btf_key_type_id(om), vt = skep_object_map_btf_value_type_id(om);
	const struct skep_btf *btf = skep_object_btf(obj);
	int ncpu = skep_num_possible_cpus(), hk = trace_hist_kind(obj, om);
	size_t vbuf = percpu(type) ? (size_t)ncpu * ((vs + 7) / 8 * 8) : vs;
	uint8_t *key = calloc(1, ks + 8), *next = calloc(1, ks + 8), *val = calloc(1, vbuf + 8);
	unsigned nslots = hk == 1 ? 64 : hk == 2 ? vs / (vs % 8 ? 4 : 8) : 0;
	uint64_t *slots = calloc(nslots + 1, sizeof *slots);
	if (!key || !next || !val || !slots)
		goto out;
	int have = 0, count = 0;
	char *ents = NULL;  /* JSON: the entries, written only if there are any */
	size_t ents_len = 0;
	FILE *ef = o->json && !hk ? open_memstream(&ents, &ents_len) : NULL;
	struct json ej;
	if (ef) {
		json_init(&ej, ef);
		json_arr(&ej, NULL);
	}
	while (skep_map_get_next_key(m, have ? key : NULL, next) == 0) {
		memcpy(key, next, ks);
		have = 1;
		if (skep_map_lookup_elem(m, key, val))
			continue;
		host_value(type, vs, val, ncpu);
		if (hk == 1) {
			uint64_t k = uint_at(key, ks);
			if (k < 64)
				slots[k] += uint_at(val, vs);
			continue;
		}
		if (hk == 2) {
			size_t es = vs % 8 ? 4 : 8;
			for (unsigned i = 0; i < nslots; i++)
				slots[i] = uint_at(val + i * es, es);
			print_hist(o, name, obj, kt, key, ks, slots, nslots, elapsed, final);
			continue;
		}
		if (type == SKEP_MAP_TYPE_ARRAY || type == SKEP_MAP_TYPE_PERCPU_ARRAY) {
			int zero = 1;  /* arrays: only the slots in use, as bpftrace shows maps */
			for (uint32_t i = 0; i < vs && zero; i++)
				zero = !val[i];
			if (zero)
				continue;
		}
		count++;
		if (ef) {
			json_obj(&ej, NULL);
			btf_json_value(&ej, "key", btf, kt, key, ks);
			char sym[4400];
			if (site_key(name, key, ks, sym, sizeof sym))
				json_str(&ej, "key_sym", sym);
			btf_json_value(&ej, "value", btf, vt, val, vs);
			json_end(&ej);
			continue;
		}
		key_text(o->f, name, btf, kt, key, ks);
		fputs(": ", o->f);
		trace_value_line(o->f, btf, vt, val, vs);
		fputc('\n', o->f);
	}
	if (hk == 1)
		print_hist(o, name, obj, 0, NULL, 0, slots, nslots, elapsed, final);
	if (ef) {
		json_end(&ej);
		fclose(ef);
		if (count) {
			json_obj(&o->j, NULL);
			json_str(&o->j, "type", "map");
			json_str(&o->j, "map", name);
			json_f64(&o->j, "time", elapsed);
			json_bool(&o->j, "final", final);
			json_raw(&o->j, "entries", ents);
			json_end(&o->j);
			json_nl(&o->j);
		}
		free(ents);
	} else if (!o->json && count) {
		fputc('\n', o->f);
	}
out:
	free(key);
	free(next);
	free(val);
	free(slots);
}

void trace_dump_maps(struct trace_out *o, const skep_object *obj, double elapsed, int final)
{
	if (!o->json)
		fprintf(o->f, final ? "\n--- maps at exit (%.1fs) ---\n" : "\n--- maps at %.1fs ---\n", elapsed);
	for (skep_object_map *m = skep_object_next_map(obj, NULL); m; m = skep_object_next_map(obj, m))
		if (printable(m) && skep_object_map_handle(m))
			dump_map(o, obj, m, elapsed, final);
	fflush(o->f);
}

void trace_print_record(struct trace_out *o, const skep_object *obj, const char *kind, const char *map,
			const void *data, size_t size)
{
	const struct skep_btf *btf = skep_object_btf(obj);
	uint32_t t = 0;
	if (btf) {
		char name[128];
		snprintf(name, sizeof name, "%s_event", map);
		t = skep_btf_find(btf, name, SKEP_BTF_STRUCT);
		if (!t)
			t = skep_btf_find(btf, "event", SKEP_BTF_STRUCT);
		int64_t ts = t ? skep_btf_type_size(btf, t) : -1;
		if (ts < 0 || (size_t)ts > size)
			t = 0;
		else
			size = (size_t)ts;
	}
	if (o->json) {
		json_obj(&o->j, NULL);
		json_str(&o->j, "type", kind);
		json_str(&o->j, "map", map);
		btf_json_value(&o->j, "data", t ? btf : NULL, t, data, size);
		json_end(&o->j);
		json_nl(&o->j);
		return;
	}
	fprintf(o->f, "@%s: ", map);
	trace_value_line(o->f, t ? btf : NULL, t, data, size);
	fputc('\n', o->f);
	fflush(o->f);
}
