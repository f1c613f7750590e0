/* Maps an object defines, found at open and created at load, as libbpf does:
 *  - the legacy "maps" section: fixed-size definitions, one per symbol; the size of one
 *    is the section's size over the number of symbols: 20 bytes (libbpf's old struct
 *    bpf_map_def), 28 (the kernel samples' bpf_map_def with inner_map_idx and numa_node,
 *    or iproute2's struct bpf_elf_map with id and pinning), 36 (bpf_elf_map with
 *    inner_id and inner_idx);
 *  - BTF-defined maps in ".maps" (__uint, __type, __array: the variable's BTF type says
 *    everything, the section holds zeroes), their initial slots from ".rel.maps";
 *  - global data: .data, .rodata, .bss and their .name variants, each an mmapable
 *    one-element array whose value is the section. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "loader.h"

#define MAP_ARRAY 2
#define MAP_PROG_ARRAY 3
#define MAP_ARRAY_OF_MAPS 12
#define MAP_HASH_OF_MAPS 13
#define F_NUMA_NODE (1u << 2)
#define F_RDONLY_PROG (1u << 7)
#define F_MMAPABLE (1u << 10)

static struct skep_object_map *map_add(skep_object *obj)
{
	struct skep_object_map *m = realloc(obj->maps, (obj->nmaps + 1) * sizeof *m);
	if (!m)
		return NULL;
	obj->maps = m;
	m += obj->nmaps++;
	memset(m, 0, sizeof *m);
	m->obj = obj;
	return m;
}

void map_free(struct skep_object_map *m)
{
	if (m->inner) {
		map_free(m->inner);
		free(m->inner);
	}
	if (m->mem)
		skep_map_munmap(m->handle, m->mem, m->mem_size);
	if (m->handle)
		skep_map_close(m->handle);
	free(m->name);
	free(m->pin_name);
	free(m->init);
	free(m->data);
	memset(m, 0, sizeof *m);
}

static int is_data_sec(const char *n)
{
	static const char *const pfx[] = {".data", ".rodata", ".bss"};
	for (int i = 0; i < 3; i++) {
		size_t k = strlen(pfx[i]);
		if (!strncmp(n, pfx[i], k) && (n[k] == 0 || n[k] == '.'))
			return 1;
	}
	return 0;
}

/* libbpf's internal_map_name(): "<first 8 of the object>.data", or the section name
 * alone when it has a second dot; characters the kernel refuses become '_'. */
static char *data_map_name(const char *obj, const char *sec)
{
	char buf[16];
	size_t sfx = strlen(sec) > 7 ? strlen(sec) : 7;
	int pfx = strchr(sec + 1, '.') ? 0 : (int)(16 - sfx - 1);
	if (pfx > (int)strlen(obj))
		pfx = (int)strlen(obj);
	if (pfx < 0)
		pfx = 0;
	snprintf(buf, sizeof buf, "%.*s%.*s", pfx, obj, (int)sfx, sec);
	for (char *p = buf; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '_' && *p != '.')
			*p = '_';
	return strdup(buf);
}

static int collect_data(skep_object *obj)
{
	for (size_t i = 1; i < obj->ef.nsecs; i++) {
		const struct elf_sec *s = &obj->ef.secs[i];
		if (!is_data_sec(s->name) || !(s->flags & SHF_ALLOC) || !s->size ||
		    (s->type != SHT_PROGBITS && s->type != SHT_NOBITS))
			continue;
		if (s->size > 0xffffffffu - 8)
			return obj_fail(obj, -E2BIG, "section '%s': %llu bytes is too large for a map value",
					s->name, (unsigned long long)s->size);
		struct skep_object_map *m = map_add(obj);
		if (!m || !(m->name = data_map_name(obj->name, s->name)) || !(m->data = calloc(1, s->size)))
			return obj_fail(obj, -ENOMEM, "out of memory");
		m->kind = MAP_DATA;
		m->sec = i;
		m->type = MAP_ARRAY;
		m->key_size = 4;
		m->value_size = m->data_size = s->size;
		m->max_entries = 1;
		m->rodata = !strncmp(s->name, ".rodata", 7);
		m->map_flags = F_MMAPABLE | (m->rodata ? F_RDONLY_PROG : 0);
		if (s->data)
			memcpy(m->data, s->data, s->size);
	}
	return 0;
}

static int collect_legacy(skep_object *obj, size_t sec)
{
	const struct elf_sec *s = &obj->ef.secs[sec];
	size_t nsyms = 0;
	for (size_t i = 1; i < obj->ef.nsyms; i++)
		nsyms += obj->ef.syms[i].shndx == sec && obj->ef.syms[i].type != STT_SECTION;
	if (!nsyms)
		return s->size ? obj_fail(obj, -EINVAL, "section '%s': %llu bytes of map definitions but no map symbols",
					  s->name, (unsigned long long)s->size) : 0;
	if (!s->data || s->size % nsyms || s->size / nsyms < 20 || (s->size / nsyms) % 4)
		return obj_fail(obj, -EINVAL, "section '%s': %llu bytes for %zu maps is not a whole number of map definitions "
				"(20, 28 or 36 bytes each)", s->name, (unsigned long long)s->size, nsyms);
	size_t dsz = s->size / nsyms, first = obj->nmaps;
	for (size_t i = 1; i < obj->ef.nsyms; i++) {
		const struct elf_sym *y = &obj->ef.syms[i];
		if (y->shndx != sec || y->type == STT_SECTION)
			continue;
		if (y->value % dsz || y->value >= s->size)
			return obj_fail(obj, -EINVAL, "section '%s': map '%s' at offset %llu is not at a %zu-byte definition",
					s->name, y->name, (unsigned long long)y->value, dsz);
		const uint8_t *d = s->data + y->value;
		struct skep_object_map *m = map_add(obj);
		if (!m || !(m->name = strdup(y->name)))
			return obj_fail(obj, -ENOMEM, "out of memory");
		m->kind = MAP_LEGACY;
		m->sec = sec;
		m->sec_off = y->value;
		m->type = elf_u32(d);
		m->key_size = elf_u32(d + 4);
		m->value_size = elf_u32(d + 8);
		m->max_entries = elf_u32(d + 12);
		m->map_flags = elf_u32(d + 16);
		m->numa_node = (uint32_t)-1;  /* inner index, resolved below */
		if (dsz == 28 && (m->map_flags & F_NUMA_NODE)) {        /* samples: numa_node */
			m->numa_node = elf_u32(d + 24);
			m->map_extra = elf_u32(d + 20);              /* inner_map_idx */
		} else if (dsz == 28 || dsz == 36) {                      /* iproute2 bpf_elf_map */
			uint32_t pin = elf_u32(d + 24);
			m->pinning = pin == 1 || pin == 2;               /* PIN_OBJECT_NS, PIN_GLOBAL_NS */
			m->map_extra = dsz == 36 ? elf_u32(d + 32) : elf_u32(d + 20);  /* inner_idx */
		} else {
			for (size_t k = 20; k < dsz; k++)
				if (d[k])
					return obj_fail(obj, -EINVAL, "map '%s': %zu-byte definition has unknown non-zero "
							"bytes at offset %zu", y->name, dsz, k);
		}
	}
	/* map-in-map: the inner template is another map of the section, by index */
	size_t n = obj->nmaps - first;
	for (size_t i = first; i < obj->nmaps; i++) {
		struct skep_object_map *m = &obj->maps[i];
		uint64_t idx = m->map_extra;
		m->map_extra = 0;
		if (m->numa_node == (uint32_t)-1)
			m->numa_node = 0;
		if (m->type != MAP_ARRAY_OF_MAPS && m->type != MAP_HASH_OF_MAPS)
			continue;
		/* definitions are indexed in section order */
		const struct skep_object_map *in = NULL;
		for (size_t k = first; k < obj->nmaps; k++)
			if (obj->maps[k].sec_off == idx * dsz)
				in = &obj->maps[k];
		if (!in || idx >= n || in == m || in->type == MAP_ARRAY_OF_MAPS || in->type == MAP_HASH_OF_MAPS)
			return obj_fail(obj, -EINVAL, "map '%s': inner map index %llu is not another map of section '%s'",
					m->name, (unsigned long long)idx, s->name);
		m->inner = calloc(1, sizeof *m->inner);
		if (!m->inner || !(m->inner->name = strdup(in->name)))
			return obj_fail(obj, -ENOMEM, "out of memory");
		m->inner->obj = obj;
		m->inner->kind = MAP_LEGACY;
		m->inner->type = in->type;
		m->inner->key_size = in->key_size;
		m->inner->value_size = in->value_size;
		m->inner->max_entries = in->max_entries;
		m->inner->map_flags = in->map_flags;
	}
	return 0;
}

/* ---- BTF-defined maps */

/* __uint(name, val) is "int (*name)[val]": the value is the array's length. */
static int btf_uint(const struct skep_btf *btf, uint32_t type, uint32_t *val)
{
	struct skep_btf_type t, a;
	if (skep_btf_type(btf, btf_skip_mods(btf, type), &t) || t.kind != SKEP_BTF_PTR ||
	    skep_btf_type(btf, btf_skip_mods(btf, t.type), &a) || a.kind != SKEP_BTF_ARRAY)
		return -1;
	*val = a.nelems;
	return 0;
}

static int parse_btf_def(skep_object *obj, struct skep_object_map *m, uint32_t def_type,
			 int inner, uint32_t *values_off)
{
	const struct skep_btf *btf = obj->btf;
	struct skep_btf_type st;
	uint32_t id = btf_skip_mods(btf, def_type);
	if (skep_btf_type(btf, id, &st) || st.kind != SKEP_BTF_STRUCT)
		return obj_fail(obj, -EINVAL, "map '%s': its BTF type is not a struct", m->name);
	uint32_t key_size = 0, value_size = 0;
	*values_off = UINT32_MAX;
	for (uint32_t i = 0; i < st.vlen; i++) {
		struct skep_btf_member mb;
		skep_btf_member(btf, id, i, &mb);
		const char *n = mb.name;
		uint32_t v = 0, *slot = NULL;
		if (!strcmp(n, "type")) slot = &m->type;
		else if (!strcmp(n, "max_entries")) slot = &m->max_entries;
		else if (!strcmp(n, "map_flags")) slot = &m->map_flags;
		else if (!strcmp(n, "numa_node")) slot = &m->numa_node;
		else if (!strcmp(n, "key_size")) slot = &key_size;
		else if (!strcmp(n, "value_size")) slot = &value_size;
		else if (!strcmp(n, "pinning")) slot = &m->pinning;
		if (slot || !strcmp(n, "map_extra")) {
			if (btf_uint(btf, mb.type, &v))
				return obj_fail(obj, -EINVAL, "map '%s': field '%s' is not __uint(%s, ...)", m->name, n, n);
			if (slot)
				*slot = v;
			else
				m->map_extra = v;
			continue;
		}
		if (!strcmp(n, "key") || !strcmp(n, "value")) {
			struct skep_btf_type p;
			skep_btf_type(btf, btf_skip_mods(btf, mb.type), &p);
			int64_t sz = p.kind == SKEP_BTF_PTR ? btf_type_size(btf, p.type) : -1;
			if (sz < 0)
				return obj_fail(obj, -EINVAL, "map '%s': field '%s' is not __type(%s, T) of a sized type",
						m->name, n, n);
			*(n[0] == 'k' ? &m->btf_key : &m->btf_value) = p.type;
			uint32_t *size = n[0] == 'k' ? &m->key_size : &m->value_size;
			*size = (uint32_t)sz;
			continue;
		}
		if (!strcmp(n, "values")) {
			struct skep_btf_type a, p;
			if (inner)
				return obj_fail(obj, -EINVAL, "map '%s': an inner map cannot have values", m->name);
			if (skep_btf_type(btf, btf_skip_mods(btf, mb.type), &a) || a.kind != SKEP_BTF_ARRAY ||
			    a.nelems || skep_btf_type(btf, btf_skip_mods(btf, a.elem_type), &p) ||
			    p.kind != SKEP_BTF_PTR)
				return obj_fail(obj, -EINVAL, "map '%s': field 'values' is not __array(values, T)", m->name);
			*values_off = mb.bit_offset / 8;
			struct skep_btf_type target;
			skep_btf_type(btf, btf_skip_mods(btf, p.type), &target);
			if (target.kind == SKEP_BTF_STRUCT) {   /* map-in-map: the inner template */
				m->inner = calloc(1, sizeof *m->inner);
				if (!m->inner)
					return obj_fail(obj, -ENOMEM, "out of memory");
				m->inner->obj = obj;
				m->inner->kind = MAP_BTF;
				size_t len = strlen(m->name) + 7;
				if (!(m->inner->name = malloc(len)))
					return obj_fail(obj, -ENOMEM, "out of memory");
				snprintf(m->inner->name, len, "%s.inner", m->name);
				uint32_t dummy;
				int rc = parse_btf_def(obj, m->inner, p.type, 1, &dummy);
				if (rc)
					return rc;
			}
			continue;
		}
		return obj_fail(obj, -EINVAL, "map '%s': unknown field '%s' in its definition", m->name, n);
	}
	if (key_size && m->key_size && key_size != m->key_size)
		return obj_fail(obj, -EINVAL, "map '%s': key_size %u does not match key type size %u",
				m->name, key_size, m->key_size);
	if (value_size && m->value_size && value_size != m->value_size)
		return obj_fail(obj, -EINVAL, "map '%s': value_size %u does not match value type size %u",
				m->name, value_size, m->value_size);
	if (!m->key_size)
		m->key_size = key_size;
	if (!m->value_size)
		m->value_size = value_size;
	if ((m->type == MAP_ARRAY_OF_MAPS || m->type == MAP_HASH_OF_MAPS)) {
		if (!m->inner)
			return obj_fail(obj, -EINVAL, "map '%s': a map-in-map needs __array(values, struct {...})", m->name);
		if (!m->value_size)
			m->value_size = 4;
	} else if (m->inner) {
		return obj_fail(obj, -EINVAL, "map '%s': inner map given for map type %u", m->name, m->type);
	}
	if (m->type == MAP_PROG_ARRAY && !m->value_size)
		m->value_size = 4;
	if (m->type == MAP_PROG_ARRAY && !m->key_size)
		m->key_size = 4;
	if (m->type == MAP_ARRAY_OF_MAPS && !m->key_size)
		m->key_size = 4;
	return 0;
}

static int program_at(const skep_object *obj, size_t sec, uint64_t off)
{
	for (size_t i = 0; i < obj->nprogs; i++)
		if (obj->progs[i].sec == sec && (uint64_t)obj->progs[i].sec_insn * 8 == off)
			return (int)i;
	return -1;
}

/* ".rel.maps": a slot of a "values" array names a program (prog array) or a map. */
static int collect_init_values(skep_object *obj, size_t first, const uint32_t *values_off)
{
	for (size_t rs = 1; rs < obj->ef.nsecs; rs++) {
		const struct elf_sec *r = &obj->ef.secs[rs];
		if (r->type != SHT_REL || r->info != obj->maps_sec)
			continue;
		for (size_t i = 0; i < r->size / 16; i++) {
			struct elf_rel rel;
			elf_rel(&obj->ef, rs, i, &rel);
			if (rel.sym >= obj->ef.nsyms)
				return obj_fail(obj, -EINVAL, "section '%s': relocation %zu: symbol index %u is past the symbol "
						"table (%zu symbols)", r->name, i, rel.sym, obj->ef.nsyms);
			const struct elf_sym *y = &obj->ef.syms[rel.sym];
			struct skep_object_map *m = NULL;
			size_t mi = 0;
			for (size_t k = first; k < obj->nmaps; k++)
				if (values_off[k - first] != UINT32_MAX &&
				    rel.off >= obj->maps[k].sec_off + values_off[k - first] &&
				    (!m || obj->maps[k].sec_off > m->sec_off))
					m = &obj->maps[k], mi = k - first;
			if (!m)
				return obj_fail(obj, -EINVAL, "section '%s': relocation %zu at offset %llu is not in a map's values",
						r->name, i, (unsigned long long)rel.off);
			uint64_t rel_off = rel.off - m->sec_off - values_off[mi];
			struct map_init in = {(uint32_t)(rel_off / 8), -1, -1};
			if (rel_off % 8 || in.slot >= m->max_entries)
				return obj_fail(obj, -EINVAL, "section '%s': relocation %zu: slot at offset %llu of map '%s' is "
						"not one of its %u slots", r->name, i, (unsigned long long)rel_off, m->name,
						m->max_entries);
			if (m->type == MAP_PROG_ARRAY) {
				in.prog = y->type == STT_FUNC ? program_at(obj, y->shndx, y->value) : -1;
				if (in.prog < 0)
					return obj_fail(obj, -EINVAL, "map '%s' slot %u: '%s' is not a program of this object",
							m->name, in.slot, y->name);
			} else {
				uint64_t off;
				in.map = y->shndx == obj->maps_sec ? map_by_sym(obj, y, &off) : -1;
				if (in.map < 0 || obj->maps[in.map].inner)
					return obj_fail(obj, -EINVAL, "map '%s' slot %u: '%s' is not a map of this object",
							m->name, in.slot, y->name);
			}
			struct map_init *v = realloc(m->init, (m->ninit + 1) * sizeof *v);
			if (!v)
				return obj_fail(obj, -ENOMEM, "out of memory");
			m->init = v;
			m->init[m->ninit++] = in;
		}
	}
	return 0;
}

static int collect_btf_maps(skep_object *obj)
{
	const struct elf_sec *s = &obj->ef.secs[obj->maps_sec];
	if (!obj->btf)
		return obj_fail(obj, -EINVAL, "section '.maps' needs BTF to describe its maps, and the object has no .BTF "
				"(build with clang -g)");
	uint32_t ds = skep_btf_find(obj->btf, ".maps", SKEP_BTF_DATASEC);
	if (!ds)
		return obj_fail(obj, -EINVAL, "section '.maps': no DATASEC '.maps' in the BTF");
	struct skep_btf_type dt;
	skep_btf_type(obj->btf, ds, &dt);
	size_t first = obj->nmaps;
	uint32_t *values_off = calloc(dt.vlen ? dt.vlen : 1, sizeof *values_off);
	if (!values_off)
		return obj_fail(obj, -ENOMEM, "out of memory");
	int rc = 0;
	for (uint32_t i = 0; i < dt.vlen && !rc; i++) {
		struct skep_btf_member v;
		struct skep_btf_type vt;
		skep_btf_member(obj->btf, ds, i, &v);
		skep_btf_type(obj->btf, v.type, &vt);
		if (vt.kind != SKEP_BTF_VAR) {
			rc = obj_fail(obj, -EINVAL, "section '.maps': BTF entry %u is not a variable", i);
			break;
		}
		/* the symbol says where it is (clang may leave DATASEC offsets 0; libbpf also
		 * takes the symbol's) */
		for (size_t k = 1; k < obj->ef.nsyms; k++) {
			const struct elf_sym *y = &obj->ef.syms[k];
			if (y->shndx == obj->maps_sec && y->type != STT_SECTION && !strcmp(y->name, v.name)) {
				v.offset = y->value > UINT32_MAX ? UINT32_MAX : (uint32_t)y->value;
				break;
			}
		}
		if ((uint64_t)v.offset + v.size > s->size) {
			rc = obj_fail(obj, -EINVAL, "map '%s': offset %u + size %u is past section '.maps' (%llu bytes)",
				      v.name, v.offset, v.size, (unsigned long long)s->size);
			break;
		}
		struct skep_object_map *m = map_add(obj);
		if (!m || !(m->name = strdup(v.name))) {
			rc = obj_fail(obj, -ENOMEM, "out of memory");
			break;
		}
		m->kind = MAP_BTF;
		m->sec = obj->maps_sec;
		m->sec_off = v.offset;
		rc = parse_btf_def(obj, m, vt.type, 0, &values_off[i]);
	}
	if (!rc)
		rc = collect_init_values(obj, first, values_off);
	free(values_off);
	return rc;
}

/* ---- .kconfig externs: the virtual ones libbpf fills itself (LINUX_KERNEL_VERSION from
 * uname as its get_kernel_version, LINUX_HAS_BPF_COOKIE, LINUX_HAS_SYSCALL_WRAPPER),
 * laid out as libbpf lays them out (bpf_object__collect_externs: by alignment
 * descending, then size, then name) in one read-only array map "<obj>.kconfig". A
 * CONFIG_* or other extern is refused by name unless __weak (then 0, as libbpf). */
struct kext {
	const char *name;
	uint32_t size, align, off;
	int weak;
};

static int kext_cmp(const void *a, const void *b)
{
	const struct kext *x = a, *y = b;
	if (x->align != y->align)
		return x->align > y->align ? -1 : 1;
	if (x->size != y->size)
		return x->size < y->size ? -1 : 1;
	return strcmp(x->name, y->name);
}

static const struct elf_sym *extern_sym(const skep_object *obj, const char *name)
{
	for (size_t i = 1; i < obj->ef.nsyms; i++) {
		const struct elf_sym *y = &obj->ef.syms[i];
		if (y->shndx == SHN_UNDEF && (y->bind == STB_GLOBAL || y->bind == STB_WEAK) && !strcmp(y->name, name))
			return y;
	}
	return NULL;
}

/* The .kconfig externs with their offsets (sorted), or an error naming the extern. */
static int kconfig_layout(skep_object *obj, struct kext **out, size_t *n, uint32_t *total)
{
	*out = NULL;
	*n = *total = 0;
	uint32_t ds = obj->btf ? skep_btf_find(obj->btf, ".kconfig", SKEP_BTF_DATASEC) : 0;
	if (!ds)
		return 0;
	struct skep_btf_type dt;
	skep_btf_type(obj->btf, ds, &dt);
	struct kext *v = calloc(dt.vlen ? dt.vlen : 1, sizeof *v);
	if (!v)
		return obj_fail(obj, -ENOMEM, "out of memory");
	size_t k = 0;
	for (uint32_t i = 0; i < dt.vlen; i++) {
		struct skep_btf_member mb;
		struct skep_btf_type vt, t;
		skep_btf_member(obj->btf, ds, i, &mb);
		skep_btf_type(obj->btf, mb.type, &vt);
		const struct elf_sym *y = vt.kind == SKEP_BTF_VAR ? extern_sym(obj, vt.name) : NULL;
		if (!y)
			continue;   /* declared, never referenced */
		uint32_t id = btf_skip_mods(obj->btf, vt.type);
		skep_btf_type(obj->btf, id, &t);
		int64_t sz = btf_type_size(obj->btf, id);
		uint32_t align = 0;
		if (t.kind == SKEP_BTF_INT || t.kind == SKEP_BTF_ENUM || t.kind == SKEP_BTF_ENUM64)
			align = sz > 0 && sz <= 8 ? (uint32_t)sz : 0;
		else if (t.kind == SKEP_BTF_ARRAY && btf_type_size(obj->btf, t.elem_type) == 1)
			align = 1;  /* char array: a string option */
		if (!align || sz <= 0) {
			free(v);
			return obj_fail(obj, -EOPNOTSUPP, "extern '%s' (.kconfig): type is unsupported (libbpf takes bool, "
					"char, integers, tristate and char arrays)", vt.name);
		}
		v[k++] = (struct kext){vt.name, (uint32_t)sz, align, 0, y->bind == STB_WEAK};
	}
	if (k)
		qsort(v, k, sizeof *v, kext_cmp);
	uint32_t off = 0;
	for (size_t i = 0; i < k; i++) {
		v[i].off = (off + v[i].align - 1) / v[i].align * v[i].align;
		off = v[i].off + v[i].size;
	}
	*out = v;
	*n = k;
	*total = off;
	return 0;
}

/* libbpf's get_kernel_version(): KERNEL_VERSION(a, b, c) of uname's release. */
static uint64_t kernel_version(void)
{
	struct utsname u;
	unsigned a, b, c;
	if (uname(&u) || sscanf(u.release, "%u.%u.%u", &a, &b, &c) != 3)
		return 0;
	return ((uint64_t)a << 16) + (b << 8) + (c > 255 ? 255 : c);
}

static int collect_kconfig(skep_object *obj)
{
	struct kext *v;
	size_t n;
	uint32_t size;
	int rc = kconfig_layout(obj, &v, &n, &size);
	if (rc || !n) {
		free(v);
		return rc;
	}
	struct skep_object_map *m = map_add(obj);
	if (!m || !(m->name = data_map_name(obj->name, ".kconfig")) || !(m->data = calloc(1, size))) {
		free(v);
		return obj_fail(obj, -ENOMEM, "out of memory");
	}
	m->kind = MAP_DATA;
	m->sec = 0;   /* no section: externs are undefined symbols */
	m->type = MAP_ARRAY;
	m->key_size = 4;
	m->value_size = m->data_size = size;
	m->max_entries = 1;
	m->rodata = 1;
	m->map_flags = F_MMAPABLE | F_RDONLY_PROG;
	for (size_t i = 0; i < n && !rc; i++) {
		uint64_t val = 0;
		int known = 1;
		if (!strcmp(v[i].name, "LINUX_KERNEL_VERSION"))
			val = kernel_version();
		else if (!strcmp(v[i].name, "LINUX_HAS_BPF_COOKIE") || !strcmp(v[i].name, "LINUX_HAS_SYSCALL_WRAPPER"))
			val = 1;
		else
			known = 0;
		if (!known && !v[i].weak)
			rc = obj_fail(obj, -EOPNOTSUPP, "extern '%s' (.kconfig): %s; declare it __weak to read 0", v[i].name,
				      strncmp(v[i].name, "CONFIG_", 7) ? "not a variable libbpf knows"
								       : "Skep has no kernel configuration");
		else if (known && v[i].align == 1 && v[i].size > 1)
			rc = obj_fail(obj, -EINVAL, "extern '%s' (.kconfig): a char array cannot hold a number", v[i].name);
		for (uint32_t b = 0; b < v[i].size && b < 8; b++)   /* little-endian */
			m->data[v[i].off + b] = (uint8_t)(val >> (8 * b));
	}
	free(v);
	return rc;
}

int kconfig_ref(skep_object *obj, const char *name, uint32_t *off)
{
	struct kext *v;
	size_t n;
	uint32_t size;
	int found = 0;
	if (!kconfig_layout(obj, &v, &n, &size))
		for (size_t i = 0; i < n && !found; i++)
			if (!strcmp(v[i].name, name))
				*off = v[i].off, found = 1;
	free(v);
	for (size_t i = 0; found && i < obj->nmaps; i++)
		if (obj->maps[i].kind == MAP_DATA && !obj->maps[i].sec)   /* the .kconfig map */
			return (int)i;
	return -1;
}

int maps_collect(skep_object *obj)
{
	for (size_t i = 1; i < obj->ef.nsecs; i++) {
		const char *n = obj->ef.secs[i].name;
		if (!strcmp(n, ".ksyms"))
			return obj_fail(obj, -EOPNOTSUPP, "section '%s': kernel symbols do not exist in Skep", n);
	}
	int rc = obj->legacy_maps_sec ? collect_legacy(obj, obj->legacy_maps_sec) : 0;
	if (!rc && obj->maps_sec)
		rc = collect_btf_maps(obj);
	if (!rc)
		rc = collect_data(obj);
	if (!rc)
		rc = collect_kconfig(obj);
	return rc;
}

int map_by_sym(const skep_object *obj, const struct elf_sym *sym, uint64_t *value_off)
{
	*value_off = 0;
	if (sym->shndx == SHN_UNDEF)
		return -1;   /* an extern (see kconfig_ref) */
	for (size_t i = 0; i < obj->nmaps; i++) {
		const struct skep_object_map *m = &obj->maps[i];
		if (m->sec != sym->shndx)
			continue;
		if (m->kind == MAP_DATA) {
			*value_off = sym->value;
			return (int)i;
		}
		if (m->sec_off == sym->value)
			return (int)i;
	}
	return -1;
}

/* ---- load: create */

/* The kernel keeps 15 characters of [A-Za-z0-9_.]. */
static void kernel_name(char out[16], const char *name)
{
	snprintf(out, 16, "%s", name);
	for (char *p = out; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '_' && *p != '.')
			*p = '_';
}

static skep_map *create_one(skep_object *obj, struct skep_object_map *m, const skep_map *inner)
{
	if (m->type == SKEP_MAP_TYPE_PERF_EVENT_ARRAY && !m->max_entries)
		m->max_entries = (uint32_t)skep_num_possible_cpus();  /* libbpf: one ring per possible CPU */
	char name[16];
	kernel_name(name, m->name);
	struct skep_map_create_opts o = {
		.sz = sizeof o, .map_flags = m->map_flags, .numa_node = m->numa_node,
		.map_extra = m->map_extra, .inner_map = inner,
	};
	const char *pin = m->pin_name ? m->pin_name : name;
	if (m->pinning || m->pin_name) {
		skep_map *pm = skep_map_open_pinned(pin);
		if (pm) {
			struct skep_map_info in;
			skep_map_get_info(pm, &in);
			if (in.type == m->type && in.key_size == m->key_size && in.value_size == m->value_size &&
			    in.max_entries == m->max_entries && in.map_flags == m->map_flags) {
				m->reused = 1;
				return pm;
			}
			skep_map_close(pm);
			obj_fail(obj, -EINVAL, "map '%s': the pinned map '%s' has other parameters (type %u, key %u, value %u, "
				 "max_entries %u, flags 0x%x)", m->name, pin, in.type, in.key_size, in.value_size,
				 in.max_entries, in.map_flags);
			errno = EINVAL;
			return NULL;
		}
	}
	skep_map *h = skep_map_create(m->type, name, m->key_size, m->value_size, m->max_entries, &o);
	if (!h) {
		int e = errno ? errno : EINVAL;
		obj_fail(obj, -e, "map '%s': %s", m->name, skep_map_error(NULL));
		errno = e;
		return NULL;
	}
	if (m->pinning || m->pin_name) {
		int rc = skep_map_pin(h, pin);
		if (rc) {
			obj_fail(obj, rc, "map '%s': pin '%s': %s", m->name, pin, skep_map_error(h));
			skep_map_close(h);
			errno = -rc;
			return NULL;
		}
	}
	return h;
}

static int fill_data(skep_object *obj, struct skep_object_map *m)
{
	uint32_t key = 0;
	int rc = m->reused ? 0 : skep_map_update_elem(m->handle, &key, m->data, 0);
	if (!rc && m->rodata && !m->reused)
		rc = skep_map_freeze(m->handle);
	if (rc)
		return obj_fail(obj, rc, "map '%s': initial value: %s", m->name, skep_map_error(m->handle));
	m->mem = skep_map_mmap(m->handle, !m->rodata, &m->mem_size);
	if (!m->mem)
		return obj_fail(obj, -errno, "map '%s': mmap: %s", m->name, skep_map_error(m->handle));
	return 0;
}

int maps_create(skep_object *obj)
{
	/* maps that others refer to first: plain maps, then maps of maps */
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < obj->nmaps; i++) {
			struct skep_object_map *m = &obj->maps[i];
			if ((m->inner != NULL) != pass)
				continue;
			skep_map *inner = NULL;
			if (m->inner && !(inner = create_one(obj, m->inner, NULL)))
				return -errno;
			m->handle = create_one(obj, m, inner);
			if (inner)
				skep_map_close(inner);  /* the template served its purpose */
			if (!m->handle)
				return -errno;
			if (m->kind == MAP_DATA) {
				int rc = fill_data(obj, m);  /* a reused pinned map keeps its contents */
				if (rc)
					return rc;
			}
			for (size_t k = 0; k < m->ninit; k++) {
				if (m->init[k].map < 0)
					continue;  /* programs: filled once they are loaded */
				uint32_t id = skep_map_id(obj->maps[m->init[k].map].handle);
				int rc = skep_map_update_elem(m->handle, &m->init[k].slot, &id, 0);
				if (rc)
					return obj_fail(obj, rc, "map '%s' slot %u: %s", m->name, m->init[k].slot,
							skep_map_error(m->handle));
			}
		}
	return 0;
}
