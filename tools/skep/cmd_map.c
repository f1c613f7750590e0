/* skep map: maps from the command line, as bpftool's "map" command.
 *
 * A MAP is a pinned map (PIN, "pinned PIN", or its path in the pin directory), shared
 * with every process that opens it, or a map of an ELF object (OBJ.o NAME), created by
 * loading the object (programs are not loaded), so global data shows its initial
 * values. Object maps have their BTF: dumps print keys and values by field, and keys
 * and values may be given typed ("key 42", "value '{\"count\": 7}'"). Pins carry no
 * BTF: hex bytes only. Output as bpftool's (text and -j); errors as {"error": ...} with
 * -j; exit status 0 done, 1 refused (the reason on stderr), 2 bad usage. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "btf_print.h"
#include "cmds.h"
#include "json.h"
#include "util.h"
#include "skep/btf.h"
#include "skep/map.h"
#include "skep/object.h"

static const char usage_text[] =
	"usage: skep map { list | show | dump | lookup | update | delete | getnext | pin | unpin | create | help } [-j]\n"
	"\n"
	"  skep map list [OBJ.o]                 pinned maps (in SKEP_PIN_DIR, default /dev/shm), or an object's maps\n"
	"  skep map show MAP\n"
	"  skep map dump MAP | OBJ.o             all entries (every map of OBJ.o)\n"
	"  skep map lookup MAP key KEY\n"
	"  skep map update MAP key KEY value VALUE [any|exist|noexist]\n"
	"  skep map delete MAP key KEY\n"
	"  skep map getnext MAP [key KEY]        the key after KEY (the first without)\n"
	"  skep map push|enqueue MAP value VALUE  queue and stack maps (update without a key)\n"
	"  skep map pop|dequeue|peek MAP\n"
	"  skep map pin OBJ.o NAME PIN           create the object's map NAME and pin it as PIN\n"
	"  skep map unpin PIN\n"
	"  skep map create PIN type TYPE key KEY_SIZE value VALUE_SIZE entries MAX_ENTRIES\n"
	"                  [flags FLAGS] [name NAME]\n"
	"\n"
	"  MAP    PIN | pinned PIN | OBJ.o [name] NAME [pinned PIN]\n"
	"         PIN: a pinned map's name (the file SKEP_PIN_DIR/skep-PIN; that path works too),\n"
	"         shared by every process; OBJ.o NAME: a map of an ELF object, created by\n"
	"         loading the object (without its programs): global data holds its initial values;\n"
	"         OBJ.o NAME pinned PIN: that map pinned as PIN (an existing pin is reused), with\n"
	"         the object's BTF: typed access to a pinned map\n"
	"  KEY, VALUE\n"
	"         bytes as bpftool: \"0x2a 0 0 0\" (each byte in C notation, one per argument),\n"
	"         \"hex 2a 00 00 00\", or one argument \"2a 00 00 00\" (hex);\n"
	"         typed, for maps of an object (their BTF gives the types): one argument such as\n"
	"         42, -1, RED, '{\"count\": 7, \"name\": \"abc\"}', '{count: 7}', '[1, 2]'\n"
	"         (members not given are zero). A pin alone has no BTF: bytes only (name it\n"
	"         through its object, OBJ.o NAME pinned PIN, for types).\n"
	"         Per-CPU maps: the value is written to every CPU; lookups show each CPU.\n"
	"  TYPE   hash array prog_array perf_event_array percpu_hash percpu_array stack_trace\n"
	"         lru_hash lru_percpu_hash lpm_trie array_of_maps hash_of_maps queue stack\n"
	"         ringbuf bloom_filter (or the kernel's number)\n"
	"  -j     JSON (bpftool's): hex bytes, and \"formatted\" keys and values with BTF\n"
	"\n"
	"Dumps are as bpftool's: with BTF, keys and values by field name (per-CPU values as\n"
	"\"values\": [{\"cpu\": 0, \"value\": ...}]); without, \"key: 2a 00 00 00  value: ...\".\n"
	"Exit status: 0 done; 1 refused: no such map or key, a key or value that does not fit the\n"
	"map, the operation failed (why on stderr, or {\"error\": ...} on stdout with -j); 2 bad\n"
	"usage: unknown subcommand, argument or flag.\n";

static int json_out;
static struct json jw;

static int fail(int rc, const char *fmt, ...)
{
	char msg[700];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (json_out) {
		json_init(&jw, stdout);
		json_obj(&jw, NULL);
		json_str(&jw, "error", msg);
		json_end(&jw);
		json_nl(&jw);
	} else {
		fprintf(stderr, "skep map: %s%s\n", msg, rc == 2 ? " (try: skep map help)" : "");
	}
	return rc;
}

/* ---- a map, pinned or from an object */
struct mapref {
	skep_map *map;
	skep_object *obj;            /* object maps: keeps the BTF alive */
	skep_object_map *om;
	const struct skep_btf *btf;
	uint32_t key_tid, val_tid;
	char pin[256];               /* pin name, "" for an object map */
	struct skep_map_info info;
	int percpu;
	size_t vstride, vbytes;      /* per-CPU: round_up(value_size, 8) a CPU; the whole value */
};

static int is_percpu(uint32_t t)
{
	return t == SKEP_MAP_TYPE_PERCPU_HASH || t == SKEP_MAP_TYPE_PERCPU_ARRAY ||
	       t == SKEP_MAP_TYPE_LRU_PERCPU_HASH;
}

static void ref_close(struct mapref *r)
{
	if (r->obj)
		skep_object_close(r->obj);
	else if (r->map)
		skep_map_close(r->map);
	memset(r, 0, sizeof *r);
}

static void ref_fill(struct mapref *r)
{
	skep_map_get_info(r->map, &r->info);
	r->percpu = is_percpu(r->info.type);
	uint32_t ncpu = r->info.ncpus ? r->info.ncpus : (uint32_t)skep_num_possible_cpus();
	r->info.ncpus = ncpu;
	r->vstride = r->percpu ? ((size_t)r->info.value_size + 7) / 8 * 8 : r->info.value_size;
	r->vbytes = r->percpu ? r->vstride * ncpu : r->info.value_size;
}

static int looks_like_object(const char *s)
{
	struct stat st;
	return ends_with(s, ".o") || (!stat(s, &st) && S_ISREG(st.st_mode) && is_elf_file(s));
}

/* A pin given as NAME or as its path in the pin directory. */
static const char *pin_name(const char *arg)
{
	const char *dir = skep_map_pin_dir();
	size_t n = strlen(dir);
	if (!strncmp(arg, dir, n) && arg[n] == '/' && !strncmp(arg + n + 1, "skep-", 5))
		return arg + n + 6;
	return arg;
}

static int open_pinned(struct mapref *r, const char *arg)
{
	memset(r, 0, sizeof *r);
	snprintf(r->pin, sizeof r->pin, "%s", pin_name(arg));
	r->map = skep_map_open_pinned(r->pin);
	if (!r->map)
		return fail(1, "%s", skep_map_error(NULL));
	ref_fill(r);
	return 0;
}

static void map_names(skep_object *obj, char *buf, size_t len);

/* Open and load an object without its programs; with pin, its map name is pinned as
 * pin (an existing compatible pin is reused, as libbpf's bpf_map__set_pin_path). */
static skep_object *load_object(const char *path, const char *name, const char *pin)
{
	char err[512];
	skep_object *obj = open_object(path, err, sizeof err);
	if (!obj) {
		fail(1, "%s", err);
		return NULL;
	}
	for (skep_program *p = skep_object_next_program(obj, NULL); p; p = skep_object_next_program(obj, p))
		skep_program_set_autoload(p, 0);
	if (pin) {
		skep_object_map *m = skep_object_find_map_by_name(obj, name);
		if (!m) {
			char names[400];
			map_names(obj, names, sizeof names);
			fail(1, "%s: no map '%s' (maps: %s)", path, name, *names ? names : "none");
			skep_object_close(obj);
			return NULL;
		}
		skep_object_map_set_pin_name(m, pin);
	}
	if (skep_object_load(obj)) {
		fail(1, "%s: %s", path, skep_object_error(obj));
		skep_object_close(obj);
		return NULL;
	}
	return obj;
}

static void map_names(skep_object *obj, char *buf, size_t len)
{
	size_t n = 0;
	buf[0] = 0;
	for (skep_object_map *m = skep_object_next_map(obj, NULL); m && n + 1 < len; m = skep_object_next_map(obj, m))
		n += (size_t)snprintf(buf + n, len - n, "%s%s", n ? ", " : "", skep_object_map_name(m));
}

static int ref_from_object_map(struct mapref *r, skep_object *obj, skep_object_map *m)
{
	memset(r, 0, sizeof *r);
	r->om = m;
	r->map = skep_object_map_handle(m);
	if (!r->map)
		return fail(1, "map '%s' was not created", skep_object_map_name(m));
	r->btf = skep_object_btf(obj);
	r->key_tid = r->btf ? skep_object_map_btf_key_type_id(m) : 0;
	r->val_tid = r->btf ? skep_object_map_btf_value_type_id(m) : 0;
	if (r->btf && !r->val_tid && skep_object_map_initial_value(m, NULL))   /* global data: its DATASEC, as libbpf */
		r->val_tid = skep_btf_find(r->btf, skep_object_map_section(m), SKEP_BTF_DATASEC);
	ref_fill(r);
	return 0;
}

static int open_object_map(struct mapref *r, const char *path, const char *name, const char *pin)
{
	memset(r, 0, sizeof *r);
	skep_object *obj = load_object(path, name, pin);
	if (!obj)
		return 1;
	skep_object_map *m = skep_object_find_map_by_name(obj, name);
	if (!m) {
		char names[400];
		map_names(obj, names, sizeof names);
		skep_object_close(obj);
		return fail(1, "%s: no map '%s' (maps: %s)", path, name, *names ? names : "none");
	}
	int rc = ref_from_object_map(r, obj, m);
	r->obj = obj;
	if (pin)
		snprintf(r->pin, sizeof r->pin, "%s", pin);
	if (rc)
		ref_close(r);
	return rc;
}

/* MAP at argv[*i]: PIN | pinned PIN | OBJ.o NAME [pinned PIN]; *i moves past it. */
static int open_ref(struct mapref *r, int argc, char **argv, int *i)
{
	if (*i >= argc)
		return fail(2, "no map given (PIN or OBJ.o NAME)");
	const char *a = argv[*i];
	if (!strcmp(a, "pinned")) {
		if (*i + 1 >= argc)
			return fail(2, "'pinned' needs a pin name");
		*i += 2;
		return open_pinned(r, argv[*i - 1]);
	}
	if (looks_like_object(a)) {
		if (*i + 2 < argc && !strcmp(argv[*i + 1], "name"))   /* bpftool's "name NAME" */
			(*i)++;
		if (*i + 1 >= argc)
			return fail(2, "%s: which map? (OBJ.o NAME)", a);
		const char *name = argv[*i + 1], *pin = NULL;
		*i += 2;
		if (*i < argc && !strcmp(argv[*i], "pinned")) {
			if (*i + 1 >= argc)
				return fail(2, "'pinned' needs a pin name");
			pin = pin_name(argv[*i + 1]);
			*i += 2;
		}
		return open_object_map(r, a, name, pin);
	}
	*i += 1;
	return open_pinned(r, a);
}

/* ---- keys and values from arguments */
static int is_flag_word(const char *s) { return !strcmp(s, "any") || !strcmp(s, "exist") || !strcmp(s, "noexist"); }

static int is_byte(const char *s, int base)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, base);
	return *s && !*end && v <= 0xff && !errno && *s != '-';
}

/* The arguments of "key ..." or "value ..." up to the next keyword: bytes (bpftool's
 * parse_bytes: one byte an argument in C notation, or after "hex" in hex), one quoted
 * argument of hex bytes, or one typed value when BTF knows the type. */
static int parse_arg(struct mapref *r, const char *what, uint32_t tid, size_t size, int argc, char **argv,
		     int *i, void *out)
{
	int start = *i, hex = 0;
	if (*i < argc && !strcmp(argv[*i], "hex")) {
		hex = 1;
		start = ++*i;
	}
	while (*i < argc && strcmp(argv[*i], "key") && strcmp(argv[*i], "value") && !is_flag_word(argv[*i]))
		(*i)++;
	int n = *i - start;
	char err[400];
	if (n == 0)
		return fail(2, "%s: no %s given", what, what);
	if (!hex && n == 1 && r->btf && tid) {
		if (btf_parse_value(r->btf, tid, argv[start], out, size, err, sizeof err))
			return fail(1, "%s: %s", what, err);
		return 0;
	}
	if (!hex && n == 1 && !tid && r->om && size == 4 && skep_object_map_initial_value(r->om, NULL)) {
		/* global data: the key has no BTF (as libbpf's); it is the u32 index 0 */
		char *end;
		errno = 0;
		unsigned long long v = strtoull(argv[start], &end, 0);
		if (*end || errno || v > UINT32_MAX || argv[start][0] == '-')
			return fail(1, "%s: '%s' is not an index", what, argv[start]);
		uint32_t k = (uint32_t)v;
		memcpy(out, &k, 4);
		return 0;
	}
	if (!hex && n == 1 && strpbrk(argv[start], " \t,")) {
		if (btf_parse_value(NULL, 0, argv[start], out, size, err, sizeof err))
			return fail(1, "%s: %s (the map's %s is %zu bytes)", what, err, what, size);
		return 0;
	}
	if (!hex && n > 1 && r->btf && tid && !is_byte(argv[start], 0))
		return fail(2, "%s: a typed %s is one argument (quote it); unexpected '%s'", what, what, argv[start + 1]);
	if ((size_t)n > size && is_byte(argv[start], hex ? 16 : 0) && !is_byte(argv[start + size], hex ? 16 : 0))
		return fail(2, "unexpected argument '%s' after the %s's %zu bytes (flags: any, exist, noexist)",
			    argv[start + size], what, size);
	if ((size_t)n != size)
		return fail(1, "%s: expected %zu byte%s, got %d (the map's %s is %zu bytes%s)", what, size,
			    size == 1 ? "" : "s", n, what, size,
			    r->btf && tid ? "" : "; without BTF, bytes only");
	for (int k = 0; k < n; k++) {
		const char *s = argv[start + k];
		if (!is_byte(s, hex ? 16 : 0))
			return fail(1, "%s: byte %d: '%s' is not a byte (0..255%s)", what, k, s,
				    hex ? ", hex" : ", C notation: 42, 0x2a, 052");
		((uint8_t *)out)[k] = (uint8_t)strtoul(s, NULL, hex ? 16 : 0);
	}
	return 0;
}

/* ---- printing, as bpftool */
static void fprint_hex(FILE *f, const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++) {
		const char *pfx = "";
		if (i && !(i % 16))
			fputc('\n', f);
		else if (i && !(i % 8))
			fputs("  ", f);
		else if (i)
			pfx = " ";
		fprintf(f, "%s%02x", pfx, b[i]);
	}
}

static void entry_plain(const struct mapref *r, const void *key, const void *value)
{
	const struct skep_map_info *in = &r->info;
	if (!in->key_size && !r->percpu) {   /* queue, stack: values only */
		printf("value:%c", in->value_size > 16 ? '\n' : ' ');
		fprint_hex(stdout, value, in->value_size);
		printf("\n");
	} else if (!r->percpu) {
		int break_names = in->key_size > 16 || in->value_size > 16;
		int single = in->key_size + in->value_size <= 24 && !break_names;
		printf("key:%c", break_names ? '\n' : ' ');
		fprint_hex(stdout, key, in->key_size);
		printf(single ? "  " : "\n");
		printf("value:%c", break_names ? '\n' : ' ');
		fprint_hex(stdout, value, in->value_size);
		printf("\n");
	} else {
		printf("key:\n");
		fprint_hex(stdout, key, in->key_size);
		printf("\n");
		for (uint32_t c = 0; c < in->ncpus; c++) {
			printf("value (CPU %02u):%c", c, in->value_size > 16 ? '\n' : ' ');
			fprint_hex(stdout, (const uint8_t *)value + c * r->vstride, in->value_size);
			printf("\n");
		}
	}
}

/* bpftool's do_dump_btf: {"key": ..., "value": ...} or "values" per CPU. */
static void entry_formatted_pjson(const struct mapref *r, struct pjson *p, const void *key, const void *value)
{
	pjson_obj(p, NULL);
	if (r->key_tid)
		btf_pjson_value(p, "key", r->btf, r->key_tid, key, r->info.key_size);
	if (!r->percpu) {
		btf_pjson_value(p, "value", r->btf, r->val_tid, value, r->info.value_size);
	} else {
		pjson_arr(p, "values");
		for (uint32_t c = 0; c < r->info.ncpus; c++) {
			pjson_obj(p, NULL);
			pjson_u64(p, "cpu", c);
			btf_pjson_value(p, "value", r->btf, r->val_tid, (const uint8_t *)value + c * r->vstride,
					r->info.value_size);
			pjson_end(p);
		}
		pjson_end(p);
	}
	pjson_end(p);
}

static void entry_formatted_json(const struct mapref *r, const void *key, const void *value)
{
	json_obj(&jw, "formatted");
	if (r->key_tid)
		btf_json_value(&jw, "key", r->btf, r->key_tid, key, r->info.key_size);
	if (!r->percpu) {
		btf_json_value(&jw, "value", r->btf, r->val_tid, value, r->info.value_size);
	} else {
		json_arr(&jw, "values");
		for (uint32_t c = 0; c < r->info.ncpus; c++) {
			json_obj(&jw, NULL);
			json_u64(&jw, "cpu", c);
			btf_json_value(&jw, "value", r->btf, r->val_tid, (const uint8_t *)value + c * r->vstride,
				       r->info.value_size);
			json_end(&jw);
		}
		json_end(&jw);
	}
	json_end(&jw);
}

/* bpftool's print_entry_json */
static void entry_json(const struct mapref *r, const void *key, const void *value)
{
	json_obj(&jw, NULL);
	if (r->info.key_size)
		json_hex_bytes(&jw, "key", key, r->info.key_size);
	if (!r->percpu) {
		json_hex_bytes(&jw, "value", value, r->info.value_size);
	} else {
		json_arr(&jw, "values");
		for (uint32_t c = 0; c < r->info.ncpus; c++) {
			json_obj(&jw, NULL);
			json_u64(&jw, "cpu", c);
			json_hex_bytes(&jw, "value", (const uint8_t *)value + c * r->vstride, r->info.value_size);
			json_end(&jw);
		}
		json_end(&jw);
	}
	if (r->btf && r->val_tid)
		entry_formatted_json(r, key, value);
	json_end(&jw);
}

static int has_btf(const struct mapref *r) { return r->btf && r->val_tid; }

/* ---- show */
static long long memlock(const struct mapref *r)
{
	struct stat st;
	return fstat(skep_map_fd(r->map), &st) ? -1 : (long long)st.st_size;
}

static void show_json_fields(const struct mapref *r)
{
	const struct skep_map_info *in = &r->info;
	char tn[128];
	json_u64(&jw, "id", in->id);
	json_str(&jw, "type", map_type_str(in->type));
	json_str(&jw, "name", in->name);
	json_u64(&jw, "flags", in->map_flags);
	json_u64(&jw, "bytes_key", in->key_size);
	json_u64(&jw, "bytes_value", in->value_size);
	json_u64(&jw, "max_entries", in->max_entries);
	long long ml = memlock(r);
	if (ml >= 0)
		json_u64(&jw, "bytes_memlock", (uint64_t)ml);
	json_u64(&jw, "frozen", in->frozen);
	if (*r->pin) {
		char path[600];
		snprintf(path, sizeof path, "%s/skep-%s", skep_map_pin_dir(), r->pin);
		json_arr(&jw, "pinned");
		json_str(&jw, NULL, path);
		json_end(&jw);
	}
	if (r->om) {
		json_str(&jw, "object_name", skep_object_map_name(r->om));
		json_str(&jw, "section", skep_object_map_section(r->om));
	}
	if (r->btf && r->key_tid) {
		btf_type_name(r->btf, r->key_tid, tn, sizeof tn);
		json_str(&jw, "btf_key_type", tn);
	}
	if (r->btf && r->val_tid) {
		btf_type_name(r->btf, r->val_tid, tn, sizeof tn);
		json_str(&jw, "btf_value_type", tn);
	}
}

static void show_plain(const struct mapref *r)
{
	const struct skep_map_info *in = &r->info;
	printf("%u: %s  ", in->id, map_type_str(in->type));
	if (*in->name)
		printf("name %s  ", in->name);
	printf("flags 0x%x\n", in->map_flags);
	printf("\tkey %uB  value %uB  max_entries %u", in->key_size, in->value_size, in->max_entries);
	long long ml = memlock(r);
	if (ml >= 0)
		printf("  memlock %lldB", ml);
	printf("\n");
	if (in->frozen)
		printf("\tfrozen\n");
	if (*r->pin)
		printf("\tpinned %s/skep-%s\n", skep_map_pin_dir(), r->pin);
	if (r->om)
		printf("\tobject map %s  section %s\n", skep_object_map_name(r->om), skep_object_map_section(r->om));
	if (r->btf && (r->key_tid || r->val_tid)) {
		char k[128] = "", v[128] = "";
		if (r->key_tid)
			btf_type_name(r->btf, r->key_tid, k, sizeof k);
		if (r->val_tid)
			btf_type_name(r->btf, r->val_tid, v, sizeof v);
		printf("\tbtf");
		if (*k)
			printf("  key %s", k);
		if (*v)
			printf("  value %s", v);
		printf("\n");
	}
}

static int do_show(int argc, char **argv)
{
	struct mapref r;
	int i = 1, rc = open_ref(&r, argc, argv, &i);
	if (rc)
		return rc;
	if (i < argc) {
		ref_close(&r);
		return fail(2, "show: unexpected argument '%s'", argv[i]);
	}
	if (json_out) {
		json_init(&jw, stdout);
		json_obj(&jw, NULL);
		show_json_fields(&r);
		json_end(&jw);
		json_nl(&jw);
	} else {
		show_plain(&r);
	}
	ref_close(&r);
	return 0;
}

/* ---- list */
static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int list_pins(void)
{
	const char *dir = skep_map_pin_dir();
	DIR *d = opendir(dir);
	if (!d)
		return fail(1, "cannot read the pin directory %s: %s", dir, strerror(errno));
	char **names = NULL;
	size_t n = 0, cap = 0;
	for (struct dirent *e; (e = readdir(d));) {
		if (strncmp(e->d_name, "skep-", 5) || !e->d_name[5])
			continue;
		if (n == cap) {
			char **nn = realloc(names, (cap = cap ? cap * 2 : 16) * sizeof *nn);
			if (!nn)
				break;
			names = nn;
		}
		if ((names[n] = strdup(e->d_name + 5)))
			n++;
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof *names, cmp_str);
	if (json_out) {
		json_init(&jw, stdout);
		json_arr(&jw, NULL);
	}
	for (size_t k = 0; k < n; k++) {
		struct mapref r = {0};
		snprintf(r.pin, sizeof r.pin, "%s", names[k]);
		r.map = skep_map_open_pinned(names[k]);
		if (!r.map) {   /* not a map (another Skep version, a foreign file): say so, go on */
			fprintf(stderr, "skep map: %s/skep-%s: %s\n", dir, names[k], skep_map_error(NULL));
		} else {
			ref_fill(&r);
			if (json_out) {
				json_obj(&jw, NULL);
				show_json_fields(&r);
				json_end(&jw);
			} else {
				show_plain(&r);
			}
			skep_map_close(r.map);
		}
		free(names[k]);
	}
	free(names);
	if (json_out) {
		json_end(&jw);
		json_nl(&jw);
	}
	return 0;
}

/* An object's maps as the loader reads them (nothing created). */
static void print_obj_map(const skep_object_map *m, int first, const char *indent)
{
	if (json_out) {
		printf("%s{\"name\": \"%s\", \"type\": \"%s\", \"key_size\": %u, \"value_size\": %u, "
		       "\"max_entries\": %u, \"flags\": %u, \"section\": \"%s\", \"pinning\": %u",
		       first ? "" : ", ", skep_object_map_name(m), map_type_str(skep_object_map_type(m)),
		       skep_object_map_key_size(m), skep_object_map_value_size(m), skep_object_map_max_entries(m),
		       skep_object_map_flags(m), skep_object_map_section(m), skep_object_map_pinning(m));
		if (skep_object_map_inner(m)) {
			printf(", \"inner\": ");
			print_obj_map(skep_object_map_inner(m), 1, "");
		}
		printf("}");
		return;
	}
	printf("%s%s: %s  key %uB  value %uB  max_entries %u  flags 0x%x", indent, skep_object_map_name(m),
	       map_type_str(skep_object_map_type(m)), skep_object_map_key_size(m), skep_object_map_value_size(m),
	       skep_object_map_max_entries(m), skep_object_map_flags(m));
	if (*indent == 0)
		printf("  section %s", skep_object_map_section(m));
	if (skep_object_map_pinning(m))
		printf("  pinned by name");
	printf("\n");
	if (skep_object_map_inner(m))
		print_obj_map(skep_object_map_inner(m), 0, "\tinner ");
}

static int do_list(int argc, char **argv)
{
	if (argc > 2)
		return fail(2, "list: unexpected argument '%s'", argv[2]);
	if (argc < 2)
		return list_pins();
	char err[512];
	skep_object *obj = open_object(argv[1], err, sizeof err);
	if (!obj)
		return fail(1, "%s", err);
	if (json_out)
		printf("[");
	int first = 1;
	for (skep_object_map *m = skep_object_next_map(obj, NULL); m; m = skep_object_next_map(obj, m), first = 0)
		print_obj_map(m, first, "");
	if (json_out)
		printf("]\n");
	skep_object_close(obj);
	return 0;
}

/* ---- dump */
static int can_iterate(const struct mapref *r, char *why, size_t len)
{
	switch (r->info.type) {
	case SKEP_MAP_TYPE_RINGBUF: case SKEP_MAP_TYPE_QUEUE: case SKEP_MAP_TYPE_STACK:
	case SKEP_MAP_TYPE_BLOOM_FILTER: case SKEP_MAP_TYPE_PERF_EVENT_ARRAY:
		snprintf(why, len, "a %s map has no keys to dump", map_type_str(r->info.type));
		return 0;
	}
	return 1;
}

/* Entries of one map; header: bpftool's form for several maps. */
static int dump_one(struct mapref *r, int header)
{
	char why[128];
	uint8_t *key = calloc(1, r->info.key_size + 1), *next = calloc(1, r->info.key_size + 1);
	uint8_t *value = calloc(1, r->vbytes + 1);
	int rc = 0;
	unsigned count = 0;
	struct pjson pj;
	if (!key || !next || !value) {
		rc = fail(1, "out of memory");
		goto out;
	}
	if (!can_iterate(r, why, sizeof why)) {
		if (header)   /* one map among several: say why, go on */
			goto head;
		rc = fail(1, "%s", why);
		goto out;
	}
head:
	if (json_out) {
		if (header) {
			json_obj(&jw, NULL);
			show_json_fields(r);
			json_arr(&jw, "elements");
		} else {
			json_arr(&jw, NULL);
		}
	} else {
		if (header)
			show_plain(r);
		if (has_btf(r) && can_iterate(r, why, sizeof why)) {
			pjson_init(&pj, stdout, 0);
			pjson_arr(&pj, NULL);
		}
	}
	if (!can_iterate(r, why, sizeof why)) {
		if (!json_out)
			printf("(%s)\n", why);
	} else {
		const void *prev = NULL;
		for (;;) {
			int e = skep_map_get_next_key(r->map, prev, next);
			if (e == -ENOENT)
				break;
			if (e) {
				if (!json_out && has_btf(r))
					printf("\n");
				fprintf(stderr, "skep map: dump: get next key: %s\n", skep_map_error(r->map));
				rc = 1;
				break;
			}
			memcpy(key, next, r->info.key_size);
			prev = key;
			e = skep_map_lookup_elem(r->map, key, value);
			if (e == -ENOENT)   /* deleted meanwhile */
				continue;
			if (e) {
				fprintf(stderr, "skep map: dump: lookup: %s\n", skep_map_error(r->map));
				rc = 1;
				continue;
			}
			count++;
			if (json_out)
				entry_json(r, key, value);
			else if (has_btf(r))
				entry_formatted_pjson(r, &pj, key, value);
			else
				entry_plain(r, key, value);
		}
		if (!json_out && has_btf(r)) {
			pjson_end(&pj);
			printf("\n");
		} else if (!json_out) {
			printf("Found %u element%s\n", count, count == 1 ? "" : "s");
		}
	}
	if (json_out) {
		json_end(&jw);
		if (header)
			json_end(&jw);
	}
out:
	free(key);
	free(next);
	free(value);
	return rc;
}

static int do_dump(int argc, char **argv)
{
	struct mapref r;
	if (argc == 2 && looks_like_object(argv[1])) {   /* every map of an object */
		skep_object *obj = load_object(argv[1], NULL, NULL);
		if (!obj)
			return 1;
		int rc = 0, first = 1;
		if (json_out) {
			json_init(&jw, stdout);
			json_arr(&jw, NULL);
		}
		for (skep_object_map *m = skep_object_next_map(obj, NULL); m; m = skep_object_next_map(obj, m)) {
			if (!skep_object_map_handle(m))
				continue;
			if (!json_out && !first)
				printf("\n");
			first = 0;
			if (ref_from_object_map(&r, obj, m)) {
				rc = 1;
				continue;
			}
			rc |= dump_one(&r, 1);
		}
		if (json_out) {
			json_end(&jw);
			json_nl(&jw);
		}
		skep_object_close(obj);
		return rc;
	}
	int i = 1, rc = open_ref(&r, argc, argv, &i);
	if (rc)
		return rc;
	if (i < argc) {
		ref_close(&r);
		return fail(2, "dump: unexpected argument '%s'", argv[i]);
	}
	if (json_out)
		json_init(&jw, stdout);
	rc = dump_one(&r, 0);
	if (json_out && !rc)
		json_nl(&jw);
	ref_close(&r);
	return rc;
}

/* ---- lookup, update, delete, getnext */
struct elem_args {
	uint8_t *key, *value;
	int has_key, has_value;
	uint64_t flags;
};

static int parse_elem(struct mapref *r, int argc, char **argv, int i, int want_value, struct elem_args *a)
{
	memset(a, 0, sizeof *a);
	a->key = calloc(1, r->info.key_size + 1);
	a->value = calloc(1, r->vbytes + 1);
	if (!a->key || !a->value)
		return fail(1, "out of memory");
	while (i < argc) {
		if (!strcmp(argv[i], "key")) {
			i++;
			if (a->has_key)
				return fail(2, "key given twice");
			if (!r->info.key_size)
				return fail(1, "a %s map has no keys", map_type_str(r->info.type));
			int e = parse_arg(r, "key", r->key_tid, r->info.key_size, argc, argv, &i, a->key);
			if (e)
				return e;
			a->has_key = 1;
		} else if (!strcmp(argv[i], "value") && want_value) {
			i++;
			if (a->has_value)
				return fail(2, "value given twice");
			int e = parse_arg(r, "value", r->val_tid, r->info.value_size, argc, argv, &i, a->value);
			if (e)
				return e;
			a->has_value = 1;
		} else if (is_flag_word(argv[i]) && want_value) {
			a->flags = !strcmp(argv[i], "any") ? SKEP_ANY : !strcmp(argv[i], "exist") ? SKEP_EXIST : SKEP_NOEXIST;
			i++;
		} else {
			return fail(2, "unexpected argument '%s'%s", argv[i],
				    want_value ? " (flags: any, exist, noexist)" : "");
		}
	}
	return 0;
}

static void elem_free(struct elem_args *a)
{
	free(a->key);
	free(a->value);
}

static int keyless(const struct mapref *r) { return r->info.key_size == 0; }

static int do_elem(int argc, char **argv)
{
	const char *op = argv[0];
	if (!strcmp(op, "push") || !strcmp(op, "enqueue"))
		op = "update";
	int pop = !strcmp(op, "pop") || !strcmp(op, "dequeue");
	if (!strcmp(op, "peek"))
		op = "lookup";
	int update = !strcmp(op, "update"), lookup = !strcmp(op, "lookup"), del = !strcmp(op, "delete"),
	    getnext = !strcmp(op, "getnext");
	struct mapref r;
	int i = 1, rc = open_ref(&r, argc, argv, &i);
	if (rc)
		return rc;
	struct elem_args a;
	rc = parse_elem(&r, argc, argv, i, update, &a);
	if (!rc && pop && !keyless(&r))
		rc = fail(1, "%s: only for queue and stack maps", op);
	if (!rc && !a.has_key && !keyless(&r) && !getnext)
		rc = fail(2, "%s: no key (key KEY)", op);
	if (!rc && update && !a.has_value)
		rc = fail(2, "update: no value (value VALUE)");
	if (rc)
		goto out;
	if (update && r.percpu)   /* bpftool's fill_per_cpu_value: the same value for every CPU */
		for (uint32_t c = r.info.ncpus; c-- > 0;)
			memmove(a.value + c * r.vstride, a.value, r.info.value_size);
	const void *key = a.has_key ? a.key : NULL;
	if (update) {
		if (skep_map_update_elem(r.map, key, a.value, a.flags))
			rc = fail(1, "update failed: %s", skep_map_error(r.map));
		else if (json_out)
			printf("null\n");
	} else if (del) {
		int e = keyless(&r) ? skep_map_lookup_and_delete_elem(r.map, NULL, a.value)
				    : skep_map_delete_elem(r.map, key);
		if (e)
			rc = fail(1, "delete failed: %s", skep_map_error(r.map));
		else if (json_out)
			printf("null\n");
	} else if (lookup || pop) {
		int e = pop ? skep_map_lookup_and_delete_elem(r.map, NULL, a.value) : skep_map_lookup_elem(r.map, key, a.value);
		if (e == -ENOENT) {
			if (!json_out) {
				printf("key:\n");
				fprint_hex(stdout, a.key, r.info.key_size);
				printf("\n\nNot found\n");
			}
			rc = json_out ? fail(1, "lookup: key not found") : 1;
		} else if (e) {
			rc = fail(1, "lookup failed: %s", skep_map_error(r.map));
		} else if (json_out) {
			json_init(&jw, stdout);
			entry_json(&r, a.key, a.value);
			json_nl(&jw);
		} else if (has_btf(&r)) {
			struct pjson pj;
			pjson_init(&pj, stdout, 0);
			entry_formatted_pjson(&r, &pj, a.key, a.value);
			printf("\n");
		} else {
			entry_plain(&r, a.key, a.value);
		}
	} else if (getnext) {
		uint8_t *next = calloc(1, r.info.key_size + 1);
		int e = next ? skep_map_get_next_key(r.map, key, next) : -ENOMEM;
		if (e == -ENOENT)
			rc = fail(1, "getnext: %s", a.has_key ? "no key after this one" : "the map is empty");
		else if (e)
			rc = fail(1, "getnext failed: %s", next ? skep_map_error(r.map) : "out of memory");
		else if (json_out) {
			json_init(&jw, stdout);
			json_obj(&jw, NULL);
			if (key)
				json_hex_bytes(&jw, "key", key, r.info.key_size);
			else
				json_null(&jw, "key");
			json_hex_bytes(&jw, "next_key", next, r.info.key_size);
			if (r.btf && r.key_tid) {
				json_obj(&jw, "formatted");
				if (key)
					btf_json_value(&jw, "key", r.btf, r.key_tid, key, r.info.key_size);
				btf_json_value(&jw, "next_key", r.btf, r.key_tid, next, r.info.key_size);
				json_end(&jw);
			}
			json_end(&jw);
			json_nl(&jw);
		} else {
			if (key) {
				printf("key:\n");
				fprint_hex(stdout, key, r.info.key_size);
				printf("\n");
			} else {
				printf("key: None\n");
			}
			printf("next key:\n");
			fprint_hex(stdout, next, r.info.key_size);
			printf("\n");
		}
		free(next);
	}
out:
	elem_free(&a);
	ref_close(&r);
	return rc;
}

/* ---- pin, unpin, create */
static int do_pin(int argc, char **argv)
{
	if (argc != 4)
		return fail(2, "usage: skep map pin OBJ.o NAME PIN");
	/* loading with the pin name set pins it (or reuses a compatible pin) */
	struct mapref r;
	int rc = open_object_map(&r, argv[1], argv[2], pin_name(argv[3]));
	if (rc)
		return rc;
	if (json_out)
		printf("null\n");
	ref_close(&r);
	return rc;
}

static int do_unpin(int argc, char **argv)
{
	if (argc != 2)
		return fail(2, "usage: skep map unpin PIN");
	if (skep_map_unpin(pin_name(argv[1])))
		return fail(1, "unpin: %s", skep_map_error(NULL));
	if (json_out)
		printf("null\n");
	return 0;
}

static int parse_u32(const char *s, uint32_t *v)
{
	char *end;
	errno = 0;
	unsigned long long x = strtoull(s, &end, 0);
	if (!*s || *end || errno || x > UINT32_MAX || *s == '-')
		return -1;
	*v = (uint32_t)x;
	return 0;
}

static int map_type_by_name(const char *s, uint32_t *t)
{
	if (!parse_u32(s, t))
		return 0;
	for (uint32_t i = 1; i < 64; i++) {
		const char *n = map_type_str(i);
		if (!strcmp(n, "unknown"))
			break;
		if (!strcmp(n, s)) {
			*t = i;
			return 0;
		}
	}
	return -1;
}

static int do_create(int argc, char **argv)
{
	if (argc < 2)
		return fail(2, "create: no pin name");
	const char *pin = pin_name(argv[1]), *name = NULL;
	uint32_t type = 0, ks = 0, vs = 0, entries = 0, flags = 0;
	int have = 0;
	for (int i = 2; i < argc; i += 2) {
		const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!v)
			return fail(2, "create: '%s' needs a value", k);
		if (!strcmp(k, "type")) {
			if (map_type_by_name(v, &type))
				return fail(2, "create: unknown map type '%s'", v);
			have |= 1;
		} else if (!strcmp(k, "key")) {
			if (parse_u32(v, &ks))
				return fail(2, "create: bad key size '%s'", v);
			have |= 2;
		} else if (!strcmp(k, "value")) {
			if (parse_u32(v, &vs))
				return fail(2, "create: bad value size '%s'", v);
			have |= 4;
		} else if (!strcmp(k, "entries")) {
			if (parse_u32(v, &entries))
				return fail(2, "create: bad entries '%s'", v);
			have |= 8;
		} else if (!strcmp(k, "flags")) {
			if (parse_u32(v, &flags))
				return fail(2, "create: bad flags '%s'", v);
		} else if (!strcmp(k, "name")) {
			name = v;
		} else {
			return fail(2, "create: unexpected argument '%s'", k);
		}
	}
	if ((have & 15) != 15)
		return fail(2, "create: needs type, key, value and entries");
	struct skep_map_create_opts o = {.sz = sizeof o, .map_flags = flags};
	char nm[16];
	snprintf(nm, sizeof nm, "%s", name ? name : pin);
	skep_map *m = skep_map_create(type, nm, ks, vs, entries, &o);
	if (!m)
		return fail(1, "create: %s", skep_map_error(NULL));
	int rc = 0;
	if (skep_map_pin(m, pin))
		rc = fail(1, "create: %s", skep_map_error(m));
	else if (json_out)
		printf("null\n");
	skep_map_close(m);
	return rc;
}

int cmd_map(int argc, char **argv)
{
	char *args[256];
	int n = 0;
	json_out = 0;
	for (int i = 0; i < argc && n < 255; i++) {
		if (!strcmp(argv[i], "-j") || !strcmp(argv[i], "--json") || !strcmp(argv[i], "-p") ||
		    !strcmp(argv[i], "--pretty"))
			json_out = 1;
		else
			args[n++] = argv[i];
	}
	args[n] = NULL;
	if (n < 2) {
		fputs(usage_text, stderr);
		return 2;
	}
	const char *sub = args[1];
	for (int i = 1; i < n; i++)
		if (!strcmp(args[i], "--help") || !strcmp(args[i], "-h") || (i == 1 && !strcmp(args[i], "help"))) {
			fputs(usage_text, stdout);
			return 0;
		}
	if (!strcmp(sub, "list"))
		return do_list(n - 1, args + 1);
	if (!strcmp(sub, "show"))
		return do_show(n - 1, args + 1);
	if (!strcmp(sub, "dump"))
		return do_dump(n - 1, args + 1);
	static const char *const elem_ops[] = {"lookup", "update", "delete", "getnext", "push", "pop", "peek",
					       "enqueue", "dequeue"};
	for (size_t k = 0; k < sizeof elem_ops / sizeof *elem_ops; k++)
		if (!strcmp(sub, elem_ops[k]))
			return do_elem(n - 1, args + 1);
	if (!strcmp(sub, "pin"))
		return do_pin(n - 1, args + 1);
	if (!strcmp(sub, "unpin"))
		return do_unpin(n - 1, args + 1);
	if (!strcmp(sub, "create"))
		return do_create(n - 1, args + 1);
	return fail(2, "unknown subcommand '%s'", sub);
}
