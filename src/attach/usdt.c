/* USDT probes, as libbpf's usdt.c attaches them: every site of PROVIDER:NAME in the
 * binary's .note.stapsdt is hooked at its nop (uprobe_attach_at); its semaphore, if
 * any, is incremented while attached (the kernel's ref_ctr_offset, done here in the
 * process's own memory). When the program's object includes <bpf/usdt.bpf.h>, each
 * site's argument spec is parsed into struct __bpf_usdt_spec, written to the object's
 * __bpf_usdt_specs map under a spec id, the id is the link's cookie (what
 * bpf_get_attach_cookie returns, as LINUX_HAS_BPF_COOKIE is 1) and also goes into
 * __bpf_usdt_ip_to_spec_id by address; bpf_usdt_arg then reads the arguments from the
 * probe's pt_regs exactly as in the kernel. The user's cookie is in the spec
 * (bpf_usdt_cookie). */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attach_internal.h"
#include "elf_symbols.h"
#include "usdt.h"
#include "loader/loader.h"

/* ---- argument specs (libbpf 1.1 parse_usdt_arg / calc_pt_regs_off, x86-64) */

static const struct {
	const char *names[4];
	int16_t off;   /* offsetof(struct pt_regs, ...) */
} regs[] = {
	{{"rip", "eip", "", ""}, 128},        {{"rax", "eax", "ax", "al"}, 80},
	{{"rbx", "ebx", "bx", "bl"}, 40},     {{"rcx", "ecx", "cx", "cl"}, 88},
	{{"rdx", "edx", "dx", "dl"}, 96},     {{"rsi", "esi", "si", "sil"}, 104},
	{{"rdi", "edi", "di", "dil"}, 112},   {{"rbp", "ebp", "bp", "bpl"}, 32},
	{{"rsp", "esp", "sp", "spl"}, 152},   {{"r8", "r8d", "r8w", "r8b"}, 72},
	{{"r9", "r9d", "r9w", "r9b"}, 64},    {{"r10", "r10d", "r10w", "r10b"}, 56},
	{{"r11", "r11d", "r11w", "r11b"}, 48}, {{"r12", "r12d", "r12w", "r12b"}, 24},
	{{"r13", "r13d", "r13w", "r13b"}, 16}, {{"r14", "r14d", "r14w", "r14b"}, 8},
	{{"r15", "r15d", "r15w", "r15b"}, 0},
};

int usdt_reg_off(const char *name)
{
	for (size_t i = 0; i < sizeof regs / sizeof *regs; i++)
		for (int k = 0; k < 4; k++)
			if (*regs[i].names[k] && !strcmp(regs[i].names[k], name))
				return regs[i].off;
	return -1;
}

static const char *skip_ws(const char *s)
{
	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r' || *s == '\f' || *s == '\v')
		s++;
	return s;
}

/* scanf's %d / %ld: leading space, optional sign, decimal digits. */
static int scan_num(const char **s, long long *v, long long lo, long long hi)
{
	const char *p = skip_ws(*s);
	int neg = *p == '-';
	if (*p == '-' || *p == '+')
		p++;
	if (*p < '0' || *p > '9')
		return -1;
	unsigned long long x = 0;
	int big = 0;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (x > (ULLONG_MAX - 9) / 10)
			big = 1;
		else
			x = x * 10 + (unsigned)(*p - '0');
	}
	long long r;
	if (big || x > (unsigned long long)LLONG_MAX + neg)
		r = neg ? LLONG_MIN : LLONG_MAX;
	else
		r = neg ? (long long)(0 - x) : (long long)x;
	*v = r < lo ? lo : r > hi ? hi : r;
	*s = p;
	return 0;
}

/* "%%%15[^)]" after optional space and '(' handled by the caller: "%" then up to 15
 * characters other than ')'. */
static int scan_reg(const char **s, char *reg, int upto_paren)
{
	const char *p = *s;
	if (*p != '%')
		return -1;
	p++;
	int n = 0;
	while (*p && n < 15 && (upto_paren ? *p != ')' : (*p != ' ' && *p != '\t' && *p != '\n')))
		reg[n++] = *p++;
	reg[n] = 0;
	if (!n)
		return -1;
	*s = p;
	return 0;
}

#define ERR(...) snprintf(err, errlen, __VA_ARGS__)

/* One argument: its length in the string, or a negative errno. */
static int parse_arg(const char *str, int num, struct usdt_arg_spec *arg, int *sz, char *err, size_t errlen)
{
	char reg[16] = "";
	long long size, off = 0;
	const char *p = str;
	int type = -1;
	if (scan_num(&p, &size, INT32_MIN, INT32_MAX) || *(p = skip_ws(p)) != '@')
		goto bad;
	p = skip_ws(p + 1);
	const char *q = p;
	/* libbpf's four sscanf patterns, in its order */
	if (!scan_num(&q, &off, LONG_MIN, LONG_MAX) && *(q = skip_ws(q)) == '(') {
		q = skip_ws(q + 1);          /* " %ld ( %%%15[^)] ) ": -4@-20(%rbp) */
		if (!scan_reg(&q, reg, 1) && *(q = skip_ws(q)) == ')')
			type = USDT_ARG_REG_DEREF, p = q + 1;
	} else if (*p == '(') {
		q = skip_ws(p + 1);          /* " ( %%%15[^)] ) ": 8@(%rsp) */
		if (!scan_reg(&q, reg, 1) && *(q = skip_ws(q)) == ')')
			type = USDT_ARG_REG_DEREF, off = 0, p = q + 1;
	} else if (*p == '%') {
		if (!scan_reg(&p, reg, 0))   /* " %%%15s ": -4@%eax */
			type = USDT_ARG_REG, off = 0;
	} else if (*p == '$') {
		q = p + 1;                   /* " $%ld ": 4@$71 */
		if (!scan_num(&q, &off, LONG_MIN, LONG_MAX))
			type = USDT_ARG_CONST, p = q;
	}
	if (type < 0)
		goto bad;
	arg->arg_type = (uint32_t)type;
	arg->val_off = (uint64_t)off;
	arg->reg_off = 0;
	if (type != USDT_ARG_CONST) {
		int ro = usdt_reg_off(reg);
		if (ro < 0) {
			if (strchr(reg, ','))
				ERR("USDT argument #%d '%.*s': scaled-index addressing (%%base,%%index,scale) is not "
				    "supported (libbpf 1.1 does not parse it either)", num, (int)strcspn(str, " "), str);
			else
				ERR("USDT argument #%d '%.*s': unrecognized register '%s'", num, (int)strcspn(skip_ws(str), " "),
				    skip_ws(str), reg);
			return -ENOENT;
		}
		arg->reg_off = (int16_t)ro;
	}
	*sz = (int)size;
	return (int)(skip_ws(p) - str);
bad:
	ERR("USDT argument #%d: unrecognized spec '%.*s'", num, (int)strcspn(skip_ws(str), " "), skip_ws(str));
	return -EINVAL;
}

int usdt_parse_spec(const char *args, uint64_t cookie, struct usdt_spec *spec, char *err, size_t errlen)
{
	memset(spec, 0, sizeof *spec);
	if (errlen)
		err[0] = 0;
	spec->usdt_cookie = cookie;
	const char *s = args;
	while (*s) {
		if (spec->arg_cnt >= USDT_MAX_ARG_CNT) {
			ERR("more than %d USDT arguments in '%s'", USDT_MAX_ARG_CNT, args);
			return -E2BIG;
		}
		struct usdt_arg_spec *a = &spec->args[spec->arg_cnt];
		int sz, len = parse_arg(s, spec->arg_cnt, a, &sz, err, errlen);
		if (len < 0)
			return len;
		a->arg_signed = sz < 0;
		if (sz < 0)
			sz = -sz;
		if (sz != 1 && sz != 2 && sz != 4 && sz != 8) {
			ERR("USDT argument #%d '%.*s': unsupported size %d (1, 2, 4 or 8)", spec->arg_cnt,
			    (int)strcspn(skip_ws(s), " "), skip_ws(s), sz);
			return -EINVAL;
		}
		a->arg_bitshift = (int8_t)(64 - sz * 8);
		s += len;
		spec->arg_cnt++;
	}
	return 0;
}

/* ---- spec ids: one set per __bpf_usdt_specs map (libbpf's usdt_manager) */

struct spec_ids {
	skep_map *map;
	uint32_t max, used_cnt;
	uint8_t *used;
	struct spec_ids *next;
};
static struct spec_ids *id_sets;
static pthread_mutex_t id_mu = PTHREAD_MUTEX_INITIALIZER;

static int id_alloc(skep_map *map, uint32_t max)
{
	pthread_mutex_lock(&id_mu);
	struct spec_ids *s = id_sets;
	while (s && s->map != map)
		s = s->next;
	if (!s && (s = calloc(1, sizeof *s)) && !(s->used = calloc(max ? max : 1, 1))) {
		free(s);
		s = NULL;
	}
	int id = -ENOMEM;
	if (s && !s->map) {
		s->map = map;
		s->max = max;
		s->next = id_sets;
		id_sets = s;
	}
	for (uint32_t i = 0; s && i < s->max; i++)
		if (!s->used[i]) {
			s->used[i] = 1;
			s->used_cnt++;
			id = (int)i;
			break;
		}
	if (s && id < 0)
		id = -E2BIG;
	pthread_mutex_unlock(&id_mu);
	return id;
}

static void id_free(skep_map *map, int id)
{
	pthread_mutex_lock(&id_mu);
	for (struct spec_ids **pp = &id_sets; *pp; pp = &(*pp)->next) {
		struct spec_ids *s = *pp;
		if (s->map != map || id < 0 || (uint32_t)id >= s->max || !s->used[id])
			continue;
		s->used[id] = 0;
		if (!--s->used_cnt) {   /* the map may go with its object: forget it */
			*pp = s->next;
			free(s->used);
			free(s);
		}
		break;
	}
	pthread_mutex_unlock(&id_mu);
}

/* ---- attach */

struct usdt_state {
	skep_map *specs, *ips;
	int *ids;              /* spec ids allocated (-1: none) */
	size_t nids;
	uint64_t *ip_keys;     /* addresses put in __bpf_usdt_ip_to_spec_id */
	size_t nips;
	uint16_t **semas;      /* semaphores incremented */
	size_t nsemas;
};

static void state_free(void *arg)
{
	struct usdt_state *st = arg;
	for (size_t i = 0; i < st->nsemas; i++)
		__atomic_fetch_sub(st->semas[i], 1, __ATOMIC_SEQ_CST);
	for (size_t i = 0; st->ips && i < st->nips; i++) {
		long key = (long)st->ip_keys[i];
		skep_map_delete_elem(st->ips, &key);
	}
	for (size_t i = 0; i < st->nids; i++)
		if (st->ids[i] >= 0)
			id_free(st->specs, st->ids[i]);
	free(st->ids);
	free(st->ip_keys);
	free(st->semas);
	free(st);
}

static skep_map *obj_map(skep_program *prog, const char *name, uint32_t *max, uint32_t *vsize)
{
	skep_object_map *m = prog->obj ? skep_object_find_map_by_name(prog->obj, name) : NULL;
	if (!m)
		return NULL;
	*max = skep_object_map_max_entries(m);
	*vsize = skep_object_map_value_size(m);
	return skep_object_map_handle(m);
}

int skep_attach_usdt(skep_program *prog, const char *binary_path, const char *provider, const char *name,
		     uint64_t cookie, skep_link **link)
{
	*link = NULL;
	char path[4096], err[512], desc[4600];
	const char *bin = binary_path ? binary_path : "the main executable";
	if (!prog || !provider || !*provider || !name || !*name)
		return attach_error(EINVAL, "usdt: no program, provider or name");
	skep_prog *sp = skep_program_prog(prog);
	if (!sp)
		return attach_error(EINVAL, "program %s is not loaded", skep_program_name(prog));
	uint64_t base;
	if (proc_map_offset(binary_path, 0, &base, path, sizeof path, err, sizeof err))
		return attach_error(ENOENT, "%s", err);
	snprintf(desc, sizeof desc, "usdt:%s:%s:%s", path, provider, name);

	struct usdt_note *notes;
	size_t nn;
	int rc = elf_usdt_notes(path, &notes, &nn, err, sizeof err);
	if (rc)
		return attach_error(-rc, "%s", err);
	size_t nsites = 0;
	for (size_t i = 0; i < nn; i++)
		nsites += !strcmp(notes[i].provider, provider) && !strcmp(notes[i].name, name);
	if (!nsites) {
		usdt_notes_free(notes, nn);
		return attach_error(ENOENT, "%s: no USDT probe %s:%s (%zu probe sites in its .note.stapsdt)", bin,
				    provider, name, nn);
	}

	uint32_t smax = 0, svsz = 0, imax = 0, ivsz = 0;
	skep_map *specs = obj_map(prog, "__bpf_usdt_specs", &smax, &svsz);
	skep_map *ips = specs ? obj_map(prog, "__bpf_usdt_ip_to_spec_id", &imax, &ivsz) : NULL;
	struct usdt_state *st = calloc(1, sizeof *st);
	skep_link **links = calloc(nsites, sizeof *links);
	struct elfsym *syms = NULL;
	size_t nsyms = 0, nl = 0;
	if (!st || !links || !(st->ids = malloc(nsites * sizeof *st->ids)) ||
	    !(st->ip_keys = malloc(nsites * sizeof *st->ip_keys)) || !(st->semas = malloc(nsites * sizeof *st->semas))) {
		rc = attach_error(ENOMEM, "out of memory");
		goto fail;
	}
	st->specs = specs;
	st->ips = ips;
	if (specs && svsz != sizeof(struct usdt_spec)) {
		rc = attach_error(EINVAL, "%s: map __bpf_usdt_specs has %u-byte values, not struct __bpf_usdt_spec (%zu)",
				  desc, svsz, sizeof(struct usdt_spec));
		goto fail;
	}
	if (elf_func_symbols(path, &syms, &nsyms, err, sizeof err))
		syms = NULL, nsyms = 0;   /* enclosing functions are a hint only */

	for (size_t i = 0; i < nn; i++) {
		const struct usdt_note *u = &notes[i];
		if (strcmp(u->provider, provider) || strcmp(u->name, name))
			continue;
		uint64_t addr, link_cookie = cookie;
		char mapped[4096];
		if (proc_map_offset(path, u->pc_offset, &addr, mapped, sizeof mapped, err, sizeof err)) {
			rc = attach_error(ENOENT, "%s: site at 0x%" PRIx64 ": %s", desc, u->pc, err);
			goto fail;
		}
		if (specs) {
			struct usdt_spec spec;
			rc = usdt_parse_spec(u->args, cookie, &spec, err, sizeof err);
			if (rc) {
				rc = attach_error(-rc, "%s: site at 0x%" PRIx64 ": %s", desc, u->pc, err);
				goto fail;
			}
			/* sites with the same argument string share a spec (libbpf's specs_hash) */
			int id = -1;
			for (size_t k = 0, j = 0; k < i && id < 0; k++) {
				if (strcmp(notes[k].provider, provider) || strcmp(notes[k].name, name))
					continue;
				if (!strcmp(notes[k].args, u->args))
					id = st->ids[j];
				j++;
			}
			int fresh = id < 0;
			if (fresh && (id = id_alloc(specs, smax)) < 0) {
				rc = attach_error(-id, "%s: no free spec id in __bpf_usdt_specs (%u entries; raise "
						  "BPF_USDT_MAX_SPEC_CNT)", desc, smax);
				goto fail;
			}
			st->ids[st->nids++] = fresh ? id : -1;
			uint32_t key = (uint32_t)id;
			if (fresh && (rc = skep_map_update_elem(specs, &key, &spec, 0))) {
				rc = attach_error(-rc, "%s: __bpf_usdt_specs[%d]: %s", desc, id, skep_map_error(specs));
				goto fail;
			}
			if (ips && ivsz == 4) {
				long ip = (long)addr;
				if (!skep_map_update_elem(ips, &ip, &key, 0))
					st->ip_keys[st->nips++] = addr;
			}
			link_cookie = (uint64_t)id;
		} else {
			st->ids[st->nids++] = -1;
		}
		uint64_t fstart = 0, flen = 0;
		for (size_t k = 0; k < nsyms; k++)
			if (syms[k].size && u->pc >= syms[k].addr && u->pc - syms[k].addr < syms[k].size &&
			    (!flen || syms[k].size < flen)) {
				fstart = addr - (u->pc - syms[k].addr);
				flen = syms[k].size;
			}
		rc = uprobe_attach_at(sp, addr, fstart, flen, 0, link_cookie, desc, &links[nl]);
		if (rc)
			goto fail;
		nl++;
		if (u->sema) {
			uint64_t sa;
			if (proc_map_offset(path, u->sema_offset, &sa, mapped, sizeof mapped, err, sizeof err)) {
				rc = attach_error(ENOENT, "%s: semaphore at 0x%" PRIx64 ": %s", desc, u->sema, err);
				goto fail;
			}
			st->semas[st->nsemas] = (uint16_t *)(uintptr_t)sa;
			__atomic_fetch_add(st->semas[st->nsemas++], 1, __ATOMIC_SEQ_CST);
		}
	}
	rc = link_group_new(links, nl, desc, state_free, st, link);
	if (rc)
		goto fail;
	free(links);
	elfsym_free(syms, nsyms);
	usdt_notes_free(notes, nn);
	return 0;
fail:
	for (size_t i = 0; i < nl; i++)
		skep_link_destroy(links[i]);
	if (st)
		state_free(st);
	free(links);
	elfsym_free(syms, nsyms);
	usdt_notes_free(notes, nn);
	return rc;
}
