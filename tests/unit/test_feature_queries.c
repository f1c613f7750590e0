/* The read-only queries skep feature probe prints from: the opcode table, map types,
 * helper names and whether Skep runs or only verifies them, per program type, and the
 * tail-call limit. */
#include <errno.h>
#include <string.h>

#include "check.h"
#include "skep/helpers.h"
#include "skep/insn.h"
#include "skep/map.h"
#include "skep/progtype.h"
#include "skep/verifier.h"

static void isa(void)
{
	struct skep_isa_op op, o2;
	size_t n = 0, per[5] = {0}, atomics = 0, bad = 0, dup = 0;
	while (!skep_isa_op(n, &op)) {
		bad += !op.name || !op.text || !op.group || op.cpu < 1 || op.cpu > 4;
		per[op.cpu >= 1 && op.cpu <= 4 ? op.cpu : 0]++;
		atomics += op.group && !strcmp(op.group, "atomic");
		for (size_t k = 0; k < n && op.name; k++)
			dup += !skep_isa_op(k, &o2) && !strcmp(o2.name, op.name);
		n++;
	}
	CHECK(n >= 160 && n < 256, "isa/count", "%zu ops", n);
	CHECK(!bad && !dup, "isa/fields", "%zu malformed, %zu duplicate names", bad, dup);
	CHECK(skep_isa_op(n, &op) == -ENOENT && skep_isa_op((size_t)-1, &op) == -ENOENT, "isa/end", "past the end");
	CHECK(per[1] && per[2] == 8 && per[3] && per[4], "isa/versions", "v1 %zu v2 %zu v3 %zu v4 %zu", per[1],
	      per[2], per[3], per[4]);
	CHECK(atomics == 20, "isa/atomics", "%zu atomic ops (add/or/and/xor with and without fetch, xchg, "
	      "cmpxchg, 32 and 64-bit: 20)", atomics);
	/* an op's facts agree with the per-instruction query */
	int found = 0;
	for (size_t i = 0; !skep_isa_op(i, &op); i++)
		if (!strcmp(op.name, "SDIV64_IMM")) {
			struct skep_insn in = {.code = op.code, .off = 1};
			found = op.cpu == 4 && skep_insn_cpu_version(&in) == 4 && !strcmp(op.group, "alu");
		}
	CHECK(found, "isa/sdiv", "SDIV64_IMM: cpu v4, alu, as skep_insn_cpu_version says");
}

static void maps(void)
{
	static const uint32_t have[] = {1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 22, 23, 27, 30};
	int ok = 1;
	for (size_t i = 0; i < sizeof have / sizeof *have; i++)
		ok &= skep_map_type_supported(have[i]) == 1;
	CHECK(ok, "maps/supported", "the 16 map types");
	CHECK(!skep_map_type_supported(0) && !skep_map_type_supported(14) && !skep_map_type_supported(8) &&
	      !skep_map_type_supported(1000), "maps/unsupported", "unspec, devmap, cgroup_array, 1000");
}

static void helpers(void)
{
	CHECK(skep_helper_name(1) && !strcmp(skep_helper_name(1), "bpf_map_lookup_elem"), "helpers/name", "1");
	CHECK(skep_helper_name(9) && !strcmp(skep_helper_name(9), "bpf_skb_store_bytes"), "helpers/kernel-name",
	      "9: the kernel's name without a Skep implementation");
	CHECK(!skep_helper_name(100000), "helpers/unknown-name", "100000");
	CHECK(skep_helper_runs(1) && skep_helper_runs(6) && skep_helper_runs(12), "helpers/runs",
	      "map_lookup_elem, trace_printk, tail_call (in the engines)");
	CHECK(!skep_helper_runs(9) && !skep_helper_runs(100000), "helpers/not-run", "skb_store_bytes, 100000");
	CHECK(skep_verify_helper_proto(1) == skep_helper_proto(1), "helpers/verify-proto", "Skep's own");
	CHECK(skep_verify_helper_proto(9) && !skep_helper_proto(9), "helpers/verify-only",
	      "skb_store_bytes: verified, not run");
	CHECK(!skep_verify_helper_proto(100000), "helpers/verify-unknown", "100000");
	CHECK(skep_helper_tail_call_limit() == 33, "helpers/tail-calls", "%u", skep_helper_tail_call_limit());
}

static void types(void)
{
	const struct skep_prog_type_desc *xdp = skep_prog_type_by_name("xdp");
	const struct skep_prog_type_desc *sock = skep_prog_type_by_name("socket_filter");
	if (!xdp || !sock) {
		CHECK(0, "types/lookup", "xdp or socket_filter missing");
		return;
	}
	/* bpf_xdp_adjust_head (44) has no global implementation: the xdp type binds it */
	CHECK(!skep_helper_runs(44) && skep_prog_type_helper_runs(xdp, 44), "types/bound", "xdp_adjust_head");
	CHECK(!skep_prog_type_helper_runs(sock, 44), "types/not-bound", "socket_filter: no xdp_adjust_head");
	CHECK(skep_prog_type_helper_runs(sock, 1), "types/global", "map_lookup_elem everywhere");
	/* every helper a type lists is known to the verifier or run */
	size_t unknown = 0;
	for (size_t i = 0; i < xdp->nhelpers; i++)
		unknown += !skep_prog_type_helper_runs(xdp, xdp->helpers[i]) && !skep_verify_helper_proto(xdp->helpers[i]);
	CHECK(unknown == 0, "types/xdp-helpers-known", "%zu of xdp's helpers neither run nor verified", unknown);
}

int main(void)
{
	isa();
	maps();
	helpers();
	types();
	return t_done();
}
