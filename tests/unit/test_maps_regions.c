/* The checked engine's view of map memory (src/helpers/maprefs.c: prog_map_regions):
 * values of inner maps that ARRAY_OF_MAPS / HASH_OF_MAPS lookups return are readable
 * and writable; a map's header and control data are readable but not writable;
 * BPF_F_RDONLY_PROG values are read-only. Programs are loaded unverified-but-trusted
 * (skep_prog_load), so the checked engine checks every access itself. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "insn_macros.h"
#include "maps/map.h"
#include "skep/map.h"
#include "skep/prog.h"

static size_t map_ld(struct skep_insn *p, size_t n, int dst, uint32_t id)
{
	struct skep_insn two[2] = {BPF_LD_IMM64_RAW(dst, BPF_PSEUDO_MAP_FD, id)};
	p[n] = two[0], p[n + 1] = two[1];
	return n + 2;
}

/* r0 = lookup(map, &key 0) (the key at r10 - 4); if !r0 exit 1000 */
static size_t lookup0(struct skep_insn *p, size_t n, int map_reg_is_r0, uint32_t id)
{
	p[n++] = BPF_ST_MEM(BPF_W, 10, -4, 0);
	if (map_reg_is_r0)
		p[n++] = BPF_MOV64_REG(1, 0);
	else
		n = map_ld(p, n, 1, id);
	p[n++] = BPF_MOV64_REG(2, 10);
	p[n++] = BPF_ALU64_IMM(BPF_ADD, 2, -4);
	p[n++] = BPF_CALL_HELPER(1);
	p[n++] = BPF_JMP_IMM(BPF_JNE, 0, 0, 2);
	p[n++] = BPF_MOV64_IMM(0, 1000);
	p[n++] = BPF_EXIT_INSN();
	return n;
}

/* Run on the checked engine: 0 and *r0, or the error. */
static int run_checked(const struct skep_insn *in, size_t n, uint64_t *r0, char *msg, size_t msz)
{
	skep_prog *p = skep_prog_new();
	int err = p ? skep_prog_load(p, in, n) : -ENOMEM;
	if (!err)
		err = skep_prog_set_engine(p, SKEP_ENGINE_CHECKED);
	struct skep_run_args a;
	memset(&a, 0, sizeof a);
	if (!err)
		err = skep_prog_run(p, &a, r0);
	snprintf(msg, msz, "%s", p ? skep_prog_error(p) : "");
	skep_prog_free(p);
	return err;
}

/* outer[0] = inner; the program looks the inner map up, adds 5 to its value at key 0 and
 * returns it. */
static void inner_values(uint32_t outer_type)
{
	const char *what = outer_type == SKEP_MAP_TYPE_ARRAY_OF_MAPS ? "array of maps" : "hash of maps";
	skep_map *inner = skep_map_create(SKEP_MAP_TYPE_ARRAY, "in", 4, 8, 4, NULL);
	struct skep_map_create_opts o = {.sz = sizeof o, .inner_map = inner};
	skep_map *outer = inner ? skep_map_create(outer_type, "out", 4, 4, 4, &o) : NULL;
	CHECK(inner && outer, "maps created", "%s", skep_map_error(NULL));
	if (!inner || !outer)
		goto out;
	uint32_t k = 0, id = skep_map_id(inner);
	uint64_t v = 37;
	CHECK(skep_map_update_elem(outer, &k, &id, SKEP_ANY) == 0 && skep_map_update_elem(inner, &k, &v, SKEP_ANY) == 0,
	      "outer[0] = inner, inner[0] = 37", "%s", skep_map_error(outer));
	struct skep_insn p[64];
	size_t n = lookup0(p, 0, 0, skep_map_id(outer));
	n = lookup0(p, n, 1, 0);
	p[n++] = BPF_LDX_MEM(BPF_DW, 1, 0, 0);
	p[n++] = BPF_ALU64_IMM(BPF_ADD, 1, 5);
	p[n++] = BPF_STX_MEM(BPF_DW, 0, 1, 0);
	p[n++] = BPF_LDX_MEM(BPF_DW, 0, 0, 0);
	p[n++] = BPF_EXIT_INSN();
	uint64_t r0 = 0;
	char msg[300];
	int err = run_checked(p, n, &r0, msg, sizeof msg);
	uint64_t now = 0;
	skep_map_lookup_elem(inner, &k, &now);
	CHECK(err == 0 && r0 == 42 && now == 42, "checked engine: an inner map's value is readable and writable",
	      "%s: err %d r0 %llu value %llu: %s", what, err, (unsigned long long)r0, (unsigned long long)now, msg);
out:
	skep_map_close(outer);
	skep_map_close(inner);
}

/* From a value pointer, read or write at the map's first byte (its header). */
static void header(uint32_t type, uint32_t flags)
{
	struct skep_map_create_opts o = {.sz = sizeof o, .map_flags = flags};
	skep_map *m = skep_map_create(type, "hdr", 4, 8, 8, &o);
	CHECK(m != NULL, "map created", "%s", skep_map_error(NULL));
	if (!m)
		return;
	uint32_t k = 0;
	uint64_t v = 1;
	skep_map_update_elem(m, &k, &v, SKEP_ANY);
	const char *what = type == SKEP_MAP_TYPE_ARRAY ? "array" : "hash";
	for (int write = 0; write < 2; write++) {
		for (int at_value = 0; at_value < 2; at_value++) {
			struct skep_insn p[32];
			size_t n = lookup0(p, 0, 0, skep_map_id(m));
			if (!at_value) {   /* r0 -> the map's base: minus the value's offset in the mapping */
				uint8_t *val = map_lookup_fast(m, &k);
				p[n++] = BPF_ALU64_IMM(BPF_SUB, 0, (int32_t)(val - m->base));
			}
			if (write)
				p[n++] = BPF_ST_MEM(BPF_DW, 0, 0, 7);
			p[n++] = BPF_LDX_MEM(BPF_DW, 0, 0, 0);
			p[n++] = BPF_EXIT_INSN();
			uint64_t r0 = 0;
			char msg[300];
			int err = run_checked(p, n, &r0, msg, sizeof msg);
			int rdonly = flags & SKEP_F_RDONLY_PROG;
			int want_ok = !write || (at_value && !rdonly);
			char name[160];
			snprintf(name, sizeof name, "checked engine: %s %s%s %s %s", what, rdonly ? "(BPF_F_RDONLY_PROG) " : "",
				 write ? "write to" : "read of", at_value ? "a value" : "the map's header",
				 want_ok ? "allowed" : "refused (-EFAULT)");
			CHECK(want_ok ? err == 0 : err == -EFAULT && strstr(msg, "insn"), name, "err %d: %s", err, msg);
		}
	}
	skep_map_close(m);
}

int main(void)
{
	inner_values(SKEP_MAP_TYPE_ARRAY_OF_MAPS);
	inner_values(SKEP_MAP_TYPE_HASH_OF_MAPS);
	header(SKEP_MAP_TYPE_ARRAY, 0);
	header(SKEP_MAP_TYPE_HASH, 0);
	header(SKEP_MAP_TYPE_ARRAY, SKEP_F_RDONLY_PROG);
	return t_done();
}
