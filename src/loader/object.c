/* The object API: open (parse, find programs and maps, link), load (create maps, put
 * their ids in, load programs), the accessors, close. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loader.h"
#include "isa/isa.h"
#include "skep/progtype.h"
#include "skep/verifier.h"

static _Thread_local char open_err[512];

int obj_fail(skep_object *obj, int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(obj->err, sizeof obj->err, fmt, ap);
	va_end(ap);
	return err;
}

const char *skep_object_error(const skep_object *obj) { return obj ? obj->err : open_err; }

static int find_sections(skep_object *obj)
{
	const struct elf_file *ef = &obj->ef;
	for (size_t i = 1; i < ef->nsecs; i++) {
		const struct elf_sec *s = &ef->secs[i];
		static const char *const once[] = {".text", ".maps", "maps", "license", "version", ".BTF", ".BTF.ext"};
		for (size_t k = 0; k < sizeof once / sizeof *once; k++)
			for (size_t j = 1; j < i && !strcmp(s->name, once[k]); j++)
				if (!strcmp(ef->secs[j].name, s->name))
					return obj_fail(obj, -EINVAL, "sections %zu and %zu are both named '%s'", j, i, s->name);
		if (!strcmp(s->name, ".text") && (s->flags & SHF_EXECINSTR))
			obj->text_sec = i;
		else if (!strcmp(s->name, ".maps"))
			obj->maps_sec = i;
		else if (!strcmp(s->name, "maps"))
			obj->legacy_maps_sec = i;
		else if (!strcmp(s->name, "license") && s->data) {
			if (!s->size || !memchr(s->data, 0, s->size))
				return obj_fail(obj, -EINVAL, "section 'license': not a NUL-terminated string");
			if (!(obj->license = strdup((const char *)s->data)))
				return obj_fail(obj, -ENOMEM, "out of memory");
		} else if (!strcmp(s->name, "version") && s->data) {
			if (s->size != 4)
				return obj_fail(obj, -EINVAL, "section 'version': %llu bytes, 4 expected",
						(unsigned long long)s->size);
			obj->kversion = elf_u32(s->data);
		} else if (!strcmp(s->name, ".BTF") && s->data) {
			if (!(obj->btf = calloc(1, sizeof *obj->btf)))
				return obj_fail(obj, -ENOMEM, "out of memory");
			int rc = btf_parse(obj->btf, s->data, s->size, obj->err, sizeof obj->err);
			if (rc)
				return rc;
			btf_fixup_datasec(obj->btf, ef);
		} else if (!strcmp(s->name, ".BTF.ext") && s->data) {
			obj->btf_ext = s->data;
			obj->btf_ext_len = s->size;
		}
	}
	return 0;
}

static int open_obj(skep_object *obj)
{
	int rc = elf_parse(&obj->ef, obj->buf, obj->len, obj->err, sizeof obj->err);
	rc = rc ? rc : find_sections(obj);
	rc = rc ? rc : progs_collect(obj);
	rc = rc ? rc : maps_collect(obj);
	for (size_t i = 0; !rc && i < obj->nprogs; i++)
		rc = prog_link(obj, &obj->progs[i]);
	return rc;
}

static int open_common(uint8_t *buf, size_t len, const char *name, skep_object **out)
{
	*out = NULL;
	skep_object *obj = calloc(1, sizeof *obj);
	if (!obj || !(obj->name = strdup(name))) {
		free(obj);
		free(buf);
		snprintf(open_err, sizeof open_err, "out of memory");
		return -ENOMEM;
	}
	obj->buf = buf;
	obj->len = len;
	int rc = open_obj(obj);
	if (rc) {
		snprintf(open_err, sizeof open_err, "%s", obj->err);
		skep_object_close(obj);
		return rc;
	}
	open_err[0] = 0;
	*out = obj;
	return 0;
}

/* libbpf: the base name, up to its first '.'. */
static char *name_of_path(const char *path, char *buf, size_t len)
{
	const char *b = strrchr(path, '/');
	snprintf(buf, len, "%s", b ? b + 1 : path);
	char *dot = strchr(buf, '.');
	if (dot)
		*dot = 0;
	return buf;
}

int skep_object_open_file(const char *path, const struct skep_object_open_opts *opts, skep_object **obj)
{
	*obj = NULL;
	FILE *f = fopen(path, "rb");
	if (!f) {
		int e = errno;
		snprintf(open_err, sizeof open_err, "%s: %s", path, strerror(e));
		return -e;
	}
	size_t n = 0, cap = 1 << 16;
	uint8_t *buf = malloc(cap);
	while (buf) {
		n += fread(buf + n, 1, cap - n, f);
		if (n < cap)
			break;
		uint8_t *p = cap < (1ul << 31) ? realloc(buf, cap *= 2) : NULL;
		if (!p)
			free(buf);
		buf = p;
	}
	int bad = !buf || ferror(f);
	fclose(f);
	if (bad) {
		free(buf);
		snprintf(open_err, sizeof open_err, "%s: %s", path, buf ? "read error" : "out of memory (or over 2 GiB)");
		return buf ? -EIO : -ENOMEM;
	}
	char name[256];
	if (opts && opts->sz >= offsetof(struct skep_object_open_opts, object_name) + sizeof(char *) &&
	    opts->object_name)
		snprintf(name, sizeof name, "%s", opts->object_name);
	else
		name_of_path(path, name, sizeof name);
	int rc = open_common(buf, n, name, obj);
	if (rc) {  /* name the file in the message */
		char m[sizeof open_err];
		size_t k = (size_t)snprintf(m, sizeof m, "%.200s: ", path);
		snprintf(m + k, sizeof m - k, "%.300s", open_err);
		memcpy(open_err, m, sizeof m);
	}
	return rc;
}

int skep_object_open_mem(const void *buf, size_t len, const struct skep_object_open_opts *opts, skep_object **obj)
{
	*obj = NULL;
	uint8_t *copy = malloc(len ? len : 1);
	if (!copy) {
		snprintf(open_err, sizeof open_err, "out of memory");
		return -ENOMEM;
	}
	memcpy(copy, buf, len);
	char name[256];
	if (opts && opts->sz >= offsetof(struct skep_object_open_opts, object_name) + sizeof(char *) &&
	    opts->object_name)
		snprintf(name, sizeof name, "%s", opts->object_name);
	else  /* as libbpf names an object opened from memory */
		snprintf(name, sizeof name, "%lx-%lx", (unsigned long)(uintptr_t)buf, (unsigned long)len);
	return open_common(copy, len, name, obj);
}

const char *skep_program_unsupported(const skep_program *p)
{
	if (!p->def && !p->type)
		return "unknown section name: set a program type with skep_program_set_type";
	if (p->def ? !(p->def->flags & SEC_RUNS) : !prog_type_runs(p->type))
		return "this program type needs the kernel: Skep cannot run it";
	return NULL;
}

/* ---- verification: the object's maps as the verifier sees them */

/* Offset of a struct bpf_spin_lock member of the value type, or -1. */
static int32_t spin_lock_off(const skep_object *obj, uint32_t value_type)
{
	struct skep_btf_type t, mt;
	struct skep_btf_member m;
	uint32_t id = obj->btf && value_type ? skep_btf_resolve(obj->btf, value_type) : 0;
	if (!id || skep_btf_type(obj->btf, id, &t) || t.kind != SKEP_BTF_STRUCT)
		return -1;
	for (uint32_t i = 0; i < t.vlen && !skep_btf_member(obj->btf, id, i, &m); i++)
		if (!skep_btf_type(obj->btf, skep_btf_resolve(obj->btf, m.type), &mt) &&
		    mt.kind == SKEP_BTF_STRUCT && !strcmp(mt.name, "bpf_spin_lock"))
			return (int32_t)(m.bit_offset / 8);
	return -1;
}

/* A lddw's imm names a map by its index in the object before load, by its map id once
 * the program's relocations hold ids (load_prog puts them in just before it creates the
 * skep_prog). */
struct map_ctx {
	const skep_object *obj;
	int by_id;
};

static int obj_map_info(void *ctx, int src, int32_t imm, struct skep_verifier_map *out)
{
	const struct map_ctx *c = ctx;
	const skep_object *obj = c->obj;
	const struct skep_object_map *m = NULL;
	if (src != BPF_PSEUDO_MAP_FD)
		return -EBADF;
	if (!c->by_id)
		m = imm >= 0 && (size_t)imm < obj->nmaps ? &obj->maps[imm] : NULL;
	for (size_t i = 0; c->by_id && i < obj->nmaps && !m; i++)
		if (obj->maps[i].handle && skep_map_id(obj->maps[i].handle) == (uint32_t)imm)
			m = &obj->maps[i];
	if (!m)
		return -EBADF;
	out->type = m->type;
	out->key_size = m->key_size;
	out->value_size = m->value_size;
	out->max_entries = m->max_entries;
	out->map_flags = m->map_flags;   /* .rodata: BPF_F_RDONLY_PROG */
	out->spin_lock_off = spin_lock_off(obj, m->btf_value);
	if (m->inner) {
		out->inner = m->inner;
		out->inner_type = m->inner->type;
		out->inner_key_size = m->inner->key_size;
		out->inner_value_size = m->inner->value_size;
	}
	return 0;
}

int skep_program_source_line(const skep_program *p, size_t insn, char *buf, size_t len)
{
	const struct skep_line_info *best = NULL;
	for (size_t i = 0; i < p->nlines; i++)
		if (p->lines[i].insn <= insn && (!best || p->lines[i].insn >= best->insn))
			best = &p->lines[i];
	if (len)
		buf[0] = 0;
	if (!best || !len)
		return 0;
	const char *file = best->file ? best->file : "", *slash = strrchr(file, '/');
	const char *text = best->text ? best->text : "";
	while (*text == ' ' || *text == '\t')
		text++;
	return snprintf(buf, len, "%s:%u: %s", slash ? slash + 1 : file, best->line, text);
}

/* " (file:line: text)" after a refusal's message, when there is line info. */
static void add_source_line(const skep_program *p, struct skep_verify_result *r)
{
	char src[200];
	size_t k = strlen(r->msg);
	if (r->accepted || r->insn < 0 || !skep_program_source_line(p, (size_t)r->insn, src, sizeof src))
		return;
	snprintf(r->msg + k, sizeof r->msg - k, " (%s)", src);
}

static int verify_opts(const skep_program *p, const struct skep_verify_opts *opts, struct map_ctx *c,
		       struct skep_verify_opts *o)
{
	memset(o, 0, sizeof *o);
	if (opts)
		memcpy(o, opts, opts->sz && opts->sz < sizeof *o ? opts->sz : sizeof *o);
	o->sz = sizeof *o;
	o->prog_type = p->type;
	o->expected_attach_type = p->attach_type;
	c->obj = p->obj;
	c->by_id = p->prog != NULL;
	o->map_info = obj_map_info;
	o->map_ctx = c;
	return 0;
}

int skep_program_verify(const skep_program *p, const struct skep_verify_opts *opts,
			struct skep_verify_result *result)
{
	struct skep_verify_opts o;
	struct map_ctx c;
	verify_opts(p, opts, &c, &o);
	int rc = skep_verify(p->insns, p->n, &o, result);
	if (!rc)
		add_source_line(p, result);
	return rc;
}

static int load_prog(skep_object *obj, struct skep_program *p, const struct skep_object_load_opts *lo)
{
	const char *why = skep_program_unsupported(p);
	if (why)
		return obj_fail(obj, -EOPNOTSUPP, "program '%s' (section '%s', type %s): %s", p->name,
				obj->ef.secs[p->sec].name, prog_type_name(p->type), why);
	if (p->core_err)
		return obj_fail(obj, -EOPNOTSUPP, "%s", p->core_err);
	for (size_t i = 0; i < p->nrelos; i++) {
		const struct prog_relo *r = &p->relos[i];
		p->insns[r->insn].imm = (int32_t)skep_map_id(obj->maps[r->map].handle);
	}
	if (!(p->prog = skep_prog_new()))
		return obj_fail(obj, -ENOMEM, "out of memory");
	int rc = skep_prog_set_type(p->prog, p->type);
	if (rc)
		return obj_fail(obj, rc, "program '%s' (section '%s', type %s): %s", p->name,
				obj->ef.secs[p->sec].name, prog_type_name(p->type), skep_prog_error(p->prog));
	if (lo->no_verify) {
		rc = skep_prog_set_unverified(p->prog) ?: skep_prog_load(p->prog, p->insns, p->n);
		if (rc)
			return obj_fail(obj, rc, "program '%s': %s", p->name, skep_prog_error(p->prog));
		return 0;
	}
	struct skep_verify_opts vo = {.sz = sizeof vo, .log_level = lo->log_level, .log_buf = lo->log_buf,
				      .log_size = lo->log_buf ? lo->log_size : 0};
	struct skep_verify_opts o;
	struct map_ctx c;
	struct skep_verify_result r;
	memset(&r, 0, sizeof r);
	verify_opts(p, &vo, &c, &o);
	rc = skep_prog_load_verified(p->prog, p->insns, p->n, &o, &r);
	if (rc && r.msg[0] && !r.accepted) {
		add_source_line(p, &r);
		rc = obj_fail(obj, rc, "program '%s': %s", p->name, r.msg);
	} else if (rc) {
		rc = obj_fail(obj, rc, "program '%s': %s", p->name, skep_prog_error(p->prog));
	}
	skep_verify_result_free(&r);
	return rc;
}

/* Prog arrays' initial slots (`.values = { [i] = &prog }`), once the programs are loaded,
 * as libbpf: the update takes the program's id (libbpf's prog fd). Programs not loaded
 * (autoload off) leave their slot empty. */
static int init_prog_arrays(skep_object *obj)
{
	for (size_t i = 0; i < obj->nmaps; i++) {
		const struct skep_object_map *m = &obj->maps[i];
		for (size_t k = 0; k < m->ninit; k++) {
			if (!m->handle || m->init[k].prog < 0 || !obj->progs[m->init[k].prog].prog)
				continue;
			uint32_t id = skep_prog_id(obj->progs[m->init[k].prog].prog);
			int rc = skep_map_update_elem(m->handle, &m->init[k].slot, &id, 0);
			if (rc)
				return obj_fail(obj, rc, "map '%s' slot %u (program '%s'): %s", m->name,
						m->init[k].slot, obj->progs[m->init[k].prog].name,
						skep_map_error(m->handle));
		}
	}
	return 0;
}

int skep_object_load(skep_object *obj)
{
	return skep_object_load_with(obj, NULL);
}

int skep_object_load_with(skep_object *obj, const struct skep_object_load_opts *opts)
{
	struct skep_object_load_opts lo = {0};
	if (opts)
		memcpy(&lo, opts, opts->sz && opts->sz < sizeof lo ? opts->sz : sizeof lo);
	if (obj->loaded)
		return obj_fail(obj, -EBUSY, "object '%s' is already loaded", obj->name);
	obj->loaded = 1;  /* even if it fails: as libbpf, a failed load is not retried */
	int rc = maps_create(obj);
	for (size_t i = 0; !rc && i < obj->nprogs; i++)
		if (obj->progs[i].autoload)
			rc = load_prog(obj, &obj->progs[i], &lo);
	return rc ?: init_prog_arrays(obj);
}

void skep_object_close(skep_object *obj)
{
	if (!obj)
		return;
	for (size_t i = 0; i < obj->nprogs; i++) {
		struct skep_program *p = &obj->progs[i];
		skep_prog_free(p->prog);
		free(p->name);
		free(p->insns);
		free(p->relos);
		free(p->lines);
		free(p->funcs);
		free(p->core_err);
	}
	for (size_t i = 0; i < obj->nmaps; i++)
		map_free(&obj->maps[i]);
	free(obj->progs);
	free(obj->maps);
	btf_free(obj->btf);
	free(obj->btf);
	elf_free(&obj->ef);
	free(obj->buf);
	free(obj->name);
	free(obj->license);
	free(obj);
}

const char *skep_object_name(const skep_object *obj) { return obj->name; }
const char *skep_object_license(const skep_object *obj) { return obj->license ? obj->license : ""; }
uint32_t skep_object_kversion(const skep_object *obj) { return obj->kversion; }
int skep_object_loaded(const skep_object *obj) { return obj->loaded; }
const struct skep_btf *skep_object_btf(const skep_object *obj) { return obj->btf; }

skep_program *skep_object_next_program(const skep_object *obj, const skep_program *prev)
{
	size_t i = prev ? (size_t)(prev - obj->progs) + 1 : 0;
	return i < obj->nprogs ? &obj->progs[i] : NULL;
}

skep_program *skep_object_find_program_by_name(const skep_object *obj, const char *name)
{
	for (size_t i = 0; i < obj->nprogs; i++)
		if (!strcmp(obj->progs[i].name, name))
			return &obj->progs[i];
	return NULL;
}

const char *skep_program_name(const skep_program *p) { return p->name; }
const char *skep_program_section_name(const skep_program *p) { return p->obj->ef.secs[p->sec].name; }
uint32_t skep_program_type(const skep_program *p) { return p->type; }
uint32_t skep_program_expected_attach_type(const skep_program *p) { return p->attach_type; }
const char *skep_program_attach_target(const skep_program *p) { return p->target ? p->target : ""; }
int skep_program_autoload(const skep_program *p) { return p->autoload; }
skep_prog *skep_program_prog(const skep_program *p) { return p->prog; }

int skep_program_set_type(skep_program *p, uint32_t type)
{
	if (p->obj->loaded)
		return -EBUSY;
	p->type = type;
	p->def = NULL;   /* the type is now the caller's: whether it runs depends on it alone */
	return 0;
}

int skep_program_set_autoload(skep_program *p, int autoload)
{
	if (p->obj->loaded)
		return -EBUSY;
	p->autoload = !!autoload;
	return 0;
}

const struct skep_insn *skep_program_insns(const skep_program *p, size_t *n)
{
	*n = p->n;
	return p->insns;
}

const struct skep_line_info *skep_program_line_info(const skep_program *p, size_t *n)
{
	*n = p->nlines;
	return p->lines;
}

const struct skep_func_info *skep_program_func_info(const skep_program *p, size_t *n)
{
	*n = p->nfuncs;
	return p->funcs;
}

/* ---- maps */

skep_object_map *skep_object_next_map(const skep_object *obj, const skep_object_map *prev)
{
	size_t i = prev ? (size_t)(prev - obj->maps) + 1 : 0;
	return i < obj->nmaps ? &obj->maps[i] : NULL;
}

skep_object_map *skep_object_find_map_by_name(const skep_object *obj, const char *name)
{
	for (size_t i = 0; i < obj->nmaps; i++)
		if (!strcmp(obj->maps[i].name, name))
			return &obj->maps[i];
	/* libbpf also finds global data by section name (".rodata") */
	for (size_t i = 0; i < obj->nmaps; i++)
		if (obj->maps[i].kind == MAP_DATA && !strcmp(obj->ef.secs[obj->maps[i].sec].name, name))
			return &obj->maps[i];
	return NULL;
}

const char *skep_object_map_name(const skep_object_map *m) { return m->name; }
uint32_t skep_object_map_type(const skep_object_map *m) { return m->type; }
uint32_t skep_object_map_key_size(const skep_object_map *m) { return m->key_size; }
uint32_t skep_object_map_value_size(const skep_object_map *m) { return m->value_size; }
uint32_t skep_object_map_max_entries(const skep_object_map *m) { return m->max_entries; }
uint32_t skep_object_map_flags(const skep_object_map *m) { return m->map_flags; }
uint64_t skep_object_map_extra(const skep_object_map *m) { return m->map_extra; }
uint32_t skep_object_map_pinning(const skep_object_map *m) { return m->pinning; }

int skep_object_map_set_pin_name(skep_object_map *m, const char *name)
{
	if (m->obj->loaded)
		return -EBUSY;
	char *n = NULL;
	if (name && !(n = strdup(name)))
		return -ENOMEM;
	free(m->pin_name);
	m->pin_name = n;
	return 0;
}
uint32_t skep_object_map_btf_key_type_id(const skep_object_map *m) { return m->btf_key; }
uint32_t skep_object_map_btf_value_type_id(const skep_object_map *m) { return m->btf_value; }
const skep_object_map *skep_object_map_inner(const skep_object_map *m) { return m->inner; }
const char *skep_object_map_section(const skep_object_map *m) { return m->obj->ef.secs[m->sec].name; }
skep_map *skep_object_map_handle(const skep_object_map *m) { return m->handle; }

int skep_object_map_set_max_entries(skep_object_map *m, uint32_t max_entries)
{
	if (m->obj->loaded)
		return -EBUSY;
	if (m->kind == MAP_DATA)
		return -EINVAL;
	m->max_entries = max_entries;
	return 0;
}

void *skep_object_map_initial_value(skep_object_map *m, size_t *size)
{
	if (m->kind != MAP_DATA)
		return NULL;
	if (size)
		*size = m->data_size;
	return m->obj->loaded ? m->mem : m->data;
}

int skep_object_map_set_initial_value(skep_object_map *m, const void *data, size_t size)
{
	if (m->obj->loaded)
		return -EBUSY;
	if (m->kind != MAP_DATA || size != m->data_size)
		return -EINVAL;
	memcpy(m->data, data, size);
	return 0;
}

static void *data_of(skep_object *obj, const char *sec, size_t *size)
{
	for (size_t i = 0; i < obj->nmaps; i++)
		if (obj->maps[i].kind == MAP_DATA && !strcmp(obj->ef.secs[obj->maps[i].sec].name, sec))
			return skep_object_map_initial_value(&obj->maps[i], size);
	if (size)
		*size = 0;
	return NULL;
}

void *skep_object_rodata(skep_object *obj, size_t *size) { return data_of(obj, ".rodata", size); }
void *skep_object_data(skep_object *obj, size_t *size) { return data_of(obj, ".data", size); }
void *skep_object_bss(skep_object *obj, size_t *size) { return data_of(obj, ".bss", size); }
