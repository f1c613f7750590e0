/* Runs every tests/cases/ ** / *.case on each engine (interpreter, checked interpreter,
 * JIT when available) and checks r0, memory, or the expected error / fault; then
 * checks that every op of the opcode table was exercised by some case. The format
 * is in tests/cases/README.md. */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cases.h"
#include "check.h"
#include "isa/isa.h"
#include "skep/prog.h"

#define CASE_TIMEOUT 10            /* seconds per run: a hang is a failure, not a stuck suite */
#define CHECKED_INSN_LIMIT 50000000u

/* Helpers the runner binds for the "call" cases (see README). */
#define HELPER_WSUM 1000           /* r1 + 2*r2 + 3*r3 + 4*r4 + 5*r5 */
#define HELPER_MIX  1001           /* r1 * 31 ^ r2: a second, non-commutative helper */
static uint64_t h_wsum(uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e)
{
	return a + 2 * b + 3 * c + 4 * d + 5 * e;
}
static uint64_t h_mix(uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e)
{
	return a * 31 ^ b;
}

static const struct {
	const char *name;
	enum skep_engine e;
} engines[] = {
	{"interp", SKEP_ENGINE_INTERP},
	{"checked", SKEP_ENGINE_CHECKED},
	{"jit", SKEP_ENGINE_JIT},
};
#define NENGINES (sizeof engines / sizeof engines[0])

static char cur_name[512];

static void on_alarm(int sig)
{
	static const char m1[] = "FAIL ", m2[] = ": timed out\n";
	(void)!write(1, m1, sizeof m1 - 1);
	(void)!write(1, cur_name, strlen(cur_name));
	(void)!write(1, m2, sizeof m2 - 1);
	_exit(1);
}

static void hex(char *out, size_t cap, const uint8_t *b, size_t n)
{
	size_t k = 0;
	out[0] = 0;
	for (size_t i = 0; i < n && k + 4 < cap; i++)
		k += (size_t)snprintf(out + k, cap - k, "%s%02x", i ? " " : "", b[i]);
	if (n && k + 4 >= cap && cap > 4)
		strcpy(out + cap - 4, "...");
}

/* Does msg contain frag? A " ... " in frag matches any text: every piece must appear, in order. */
static int frag_match(const char *msg, const char *frag)
{
	static const char sep[] = " ... ";
	while (*frag) {
		const char *e = strstr(frag, sep);
		size_t n = e ? (size_t)(e - frag) : strlen(frag);
		const char *at = memmem(msg, strlen(msg), frag, n);
		if (!at)
			return 0;
		msg = at + n;
		frag += n;
		if (e)
			frag += sizeof sep - 1;
	}
	return 1;
}

/* One case on one engine: 1 if it behaves as expected, else 0 with why filled. */
static int run_case(const struct test_case *c, const struct skep_insn *insns, size_t n,
		    const char *asm_err, enum skep_engine engine, char *why, size_t wl)
{
	if (asm_err) {
		if (c->error && frag_match(asm_err, c->error))
			return 1;
		if (c->error)
			snprintf(why, wl, "expected error '%s', assembler said '%s'", c->error, asm_err);
		else
			snprintf(why, wl, "does not assemble: %s", asm_err);
		return 0;
	}
	skep_prog *p = skep_prog_new();
	if (!p) {
		snprintf(why, wl, "out of memory");
		return 0;
	}
	int ok = 0, r = skep_prog_set_engine(p, engine);
	if (r) {
		snprintf(why, wl, "set_engine: %s", strerror(-r));
		goto out;
	}
	skep_prog_set_helper(p, HELPER_WSUM, h_wsum);
	skep_prog_set_helper(p, HELPER_MIX, h_mix);
	if (engine == SKEP_ENGINE_CHECKED)
		skep_prog_set_insn_limit(p, CHECKED_INSN_LIMIT);
	r = skep_prog_load(p, insns, n);
	if (r) {
		const char *msg = skep_prog_error(p);
		if (c->error && frag_match(msg, c->error))
			ok = 1;
		else if (c->error)
			snprintf(why, wl, "expected error '%s', load said '%s'", c->error, msg);
		else
			snprintf(why, wl, "load failed (%s): %s", strerror(-r), msg);
		goto out;
	}
	/* the run sees an exact-size copy of mem, so sanitizers catch any overrun */
	uint8_t *mem = NULL;
	size_t len = c->has_mem ? c->mem_len : 0;
	if (len) {
		mem = malloc(len);
		if (!mem) {
			snprintf(why, wl, "out of memory");
			goto out;
		}
		memcpy(mem, c->mem, len);
	}
	uint64_t r0 = 0xdeadbeefdeadbeefull;
	if (c->mem_readonly) {  /* as skep_prog_run_mem, but the region is read-only */
		struct skep_region region = {mem, len, 0};
		struct skep_run_args a = {.r = {(uint64_t)(uintptr_t)mem, len}, .regions = &region,
					  .nregions = 1, .pkt = mem, .pkt_len = len};
		r = skep_prog_run(p, &a, &r0);
	} else {
		r = skep_prog_run_mem(p, mem, len, &r0);
	}
	const char *msg = skep_prog_error(p);
	if (c->fault) {
		if (r == -EFAULT && frag_match(msg, c->fault))
			ok = 1;
		else if (r)
			snprintf(why, wl, "expected fault '%s', got %s: '%s'", c->fault, strerror(-r), msg);
		else
			snprintf(why, wl, "expected fault '%s', ran to r0 = 0x%" PRIx64, c->fault, r0);
	} else if (c->error) {
		if (r && frag_match(msg, c->error))
			ok = 1;
		else if (r)
			snprintf(why, wl, "expected error '%s', run said %s: '%s'", c->error, strerror(-r), msg);
		else
			snprintf(why, wl, "expected error '%s', ran to r0 = 0x%" PRIx64, c->error, r0);
	} else if (r) {
		snprintf(why, wl, "run failed (%s): %s; expected r0 = 0x%" PRIx64, strerror(-r), msg,
			 c->result);
	} else if (r0 != c->result) {
		snprintf(why, wl, "r0 = 0x%" PRIx64 " (%" PRId64 "), expected 0x%" PRIx64 " (%" PRId64 ")",
			 r0, (int64_t)r0, c->result, (int64_t)c->result);
	} else if (c->has_mem_out && len && memcmp(mem, c->mem_out, len)) {
		size_t at = 0;
		while (mem[at] == c->mem_out[at])
			at++;
		char got[200], want[200];
		hex(got, sizeof got, mem, len);
		hex(want, sizeof want, c->mem_out, len);
		snprintf(why, wl, "memory differs at byte %zu: got [%s], expected [%s]", at, got, want);
	} else {
		ok = 1;
	}
	free(mem);
out:
	skep_prog_free(p);
	return ok;
}

/* Is the JIT there? It must load and run a trivial program. */
static int jit_available(void)
{
	struct skep_insn prog[] = {{.code = BPF_ALU64 | BPF_MOV | BPF_K, .imm = 7},
				   {.code = BPF_JMP | BPF_EXIT}};
	skep_prog *p = skep_prog_new();
	uint64_t r0 = 0;
	int ok = p && !skep_prog_set_engine(p, SKEP_ENGINE_JIT) && !skep_prog_load(p, prog, 2) &&
		 !skep_prog_run_mem(p, NULL, 0, &r0) && r0 == 7;
	skep_prog_free(p);
	return ok;
}

/* The parser refuses malformed files with the line and reason. */
static void parser_tests(void)
{
	static const struct {
		const char *name, *text, *frag;
	} bad[] = {
		{"unknown-section", "-- asm\nexit\n-- reslt\n0\n", ":3: unknown section '-- reslt'"},
		{"twice", "-- asm\nexit\n-- result\n0\n-- result\n1\n", ":5: section -- result appears twice"},
		{"no-insns", "-- result\n0\n", "exactly one of -- asm and -- raw"},
		{"asm-and-raw", "-- asm\nexit\n-- raw\n9500000000000000\n-- result\n0\n", "exactly one of -- asm and -- raw"},
		{"no-outcome", "-- asm\nexit\n", "exactly one of -- result, -- error, -- fault"},
		{"two-outcomes", "-- asm\nexit\n-- result\n0\n-- error\nx\n", "exactly one of -- result"},
		{"odd-hex", "-- asm\nexit\n-- mem\n00 1\n-- result\n0\n", "odd number of hex digits in -- mem"},
		{"bad-hex", "-- asm\nexit\n-- mem\n00\n0g\n-- result\n0\n", ":5: 'g' is not a hex digit in -- mem"},
		{"raw-size", "-- raw\n95 00 00 00\n-- result\n0\n", "-- raw has 4 bytes"},
		{"bad-result", "-- asm\nexit\n-- result\n12z\n", "bad result '12z'"},
		{"two-results", "-- asm\nexit\n-- result\n1\n2\n", ":5: expected a single line"},
		{"memout-size", "-- asm\nexit\n-- mem\n00 01\n-- mem-out\n00\n-- result\n0\n", "-- mem-out has 1 bytes but -- mem has 2"},
		{"memout-no-mem", "-- asm\nexit\n-- mem-out\n00\n-- result\n0\n", "-- mem-out needs -- mem"},
		{"memout-ro", "-- asm\nexit\n-- mem-ro\n00\n-- mem-out\n00\n-- result\n0\n", "-- mem-out needs -- mem"},
		{"mem-and-ro", "-- asm\nexit\n-- mem\n00\n-- mem-ro\n00\n-- result\n0\n", ":5: -- mem and -- mem-ro exclude"},
		{"kernel-form", "-- asm\nexit\n-- result\n0\n-- kernel\nno\n", "must say 'skip: <reason>'"},
		{"stray-text", "hello\n-- asm\nexit\n-- result\n0\n", ":1: text before the first section"},
		{"empty-error", "-- asm\nexit\n-- error\n\n", "empty section"},
	};
	char path[] = "/tmp/skep-case-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0, "parse/tmpfile", "mkstemp: %s", strerror(errno));
	if (fd < 0)
		return;
	close(fd);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		FILE *f = fopen(path, "w");
		if (!f)
			break;
		fputs(bad[i].text, f);
		fclose(f);
		struct test_case c;
		char err[256], name[64];
		int r = case_load(path, &c, err, sizeof err);
		snprintf(name, sizeof name, "parse/%s", bad[i].name);
		CHECK(r == -EINVAL && strstr(err, bad[i].frag), name, "got %d '%s', want '%s'", r, err,
		      bad[i].frag);
		if (!r)
			case_free(&c);
	}
	CHECK(frag_match("insn 3: 8-byte load from 0x1234 (r1 + 8) is outside", "insn 3: 8-byte load ... (r1 + 8) is outside") &&
	      !frag_match("insn 3: 8-byte load from (r1 + 8)", "(r1 + 8) ... insn 3") &&
	      !frag_match("insn 3: x", "insn 4") && frag_match("abc", ""),
	      "parse/fragment-match", "the ' ... ' fragment matcher is wrong");
	/* a good one, with every field */
	FILE *f = fopen(path, "w");
	if (f) {
		fputs("# comment\n\n-- raw\nb7 00 00 00 ff ff ff ff  # r0 = -1\n95 00 00 00 00 00 00 00\n"
		      "-- mem\n00 01\n0203\n-- mem-out\n00010203\n-- result\n-0x2\n-- kernel\nskip: because\n", f);
		fclose(f);
		struct test_case c;
		char err[256];
		int r = case_load(path, &c, err, sizeof err);
		CHECK(r == 0 && c.nraw == 2 && c.raw[0].code == 0xb7 && c.raw[0].imm == -1 &&
		      c.raw[1].code == 0x95 && c.mem_len == 4 && c.mem[3] == 3 && c.has_mem_out &&
		      c.has_result && c.result == (uint64_t)-2 && c.kernel_skip &&
		      !strcmp(c.kernel_skip, "because") && !c.error && !c.fault && !c.asm_text,
		      "parse/good", "r %d err '%s'", r, err);
		if (!r)
			case_free(&c);
	}
	f = fopen(path, "w");
	if (f) {
		fputs("-- asm\nexit\n-- mem-ro\naa bb\n-- fault\ninsn 0: ... read-only\n", f);
		fclose(f);
		struct test_case c;
		char err[256];
		int r = case_load(path, &c, err, sizeof err);
		CHECK(r == 0 && c.has_mem && c.mem_readonly && c.mem_len == 2 && c.mem[1] == 0xbb && c.fault &&
		      !strcmp(c.fault, "insn 0: ... read-only") && !c.has_result && c.asm_text &&
		      !strcmp(c.asm_text, "exit\n"), "parse/mem-ro", "r %d err '%s'", r, err);
		if (!r)
			case_free(&c);
	}
	unlink(path);
}

int main(void)
{
	parser_tests();

	char dir[4096];
	snprintf(dir, sizeof dir, "%s/tests/cases", t_root());
	char **paths;
	size_t np;
	int r = case_list(dir, &paths, &np);
	CHECK(r == 0, "cases/list", "%s: %s", dir, strerror(-r));
	if (r)
		return t_done();
	CHECK(np >= 300, "cases/count", "only %zu case files under %s", np, dir);

	int have[NENGINES] = {1, 1, jit_available()};
	if (!have[2])
		t_skip("engine/jit", "the JIT does not load and run a trivial program here");

	signal(SIGALRM, on_alarm);
	static unsigned seen[OP__COUNT];
	for (size_t i = 0; i < np; i++) {
		const char *rel = paths[i] + strlen(dir) + 1;
		struct test_case c;
		char err[512];
		snprintf(cur_name, sizeof cur_name, "%s[parse]", rel);
		if ((r = case_load(paths[i], &c, err, sizeof err))) {
			CHECK(0, cur_name, "%s", err);
			continue;
		}
		struct skep_insn *insns = NULL;
		size_t n = 0;
		const char *asm_err = case_insns(&c, &insns, &n, err, sizeof err) ? err : NULL;
		for (size_t k = 0; k < n; k++) {
			enum isa_op op = isa_decode(&insns[k]);
			if (op == OP_INVALID)
				continue;
			seen[op]++;
			if (isa_ops[op].kind == K_LDDW)
				k++;  /* skip the second half */
		}
		for (size_t e = 0; e < NENGINES; e++) {
			if (!have[e] || (c.fault && engines[e].e != SKEP_ENGINE_CHECKED))
				continue;
			char why[1024] = "";
			snprintf(cur_name, sizeof cur_name, "%s[%s]", rel, engines[e].name);
			alarm(CASE_TIMEOUT);
			int ok = run_case(&c, insns, n, asm_err, engines[e].e, why, sizeof why);
			alarm(0);
			CHECK(ok, cur_name, "%s", why);
		}
		free(insns);
		case_free(&c);
	}
	case_list_free(paths, np);

	for (int op = 0; op < OP__COUNT; op++) {
		char name[64];
		snprintf(name, sizeof name, "coverage/%s", isa_ops[op].name);
		CHECK(seen[op] > 0, name, "no case executes %s (%s)", isa_ops[op].name, isa_ops[op].text);
	}
	return t_done();
}
