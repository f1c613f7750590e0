/* The handwritten case files (every *.case below tests/cases) run in the kernel: every case with
 * an expected "-- result" (and no "-- kernel skip:" line) must give the same r0 and, if
 * it has one, the same "-- mem-out" in the kernel (through tests/lib/kernel.c) as the
 * file says. This checks the expectations themselves against the reference, so the
 * interpreter's own case runner (test_cases) compares Skep with the kernel's semantics.
 *
 * A case the kernel verifier refuses is a SKIP with the verifier's reason; a case whose
 * kernel result differs is a FAILURE printing both. SKEP_CASES_DIR overrides the folder. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cases.h"
#include "check.h"
#include "kernel.h"

static void print_hex(const char *label, const uint8_t *m, size_t n)
{
	printf("  %s:", label);
	for (size_t i = 0; i < n; i++)
		printf("%s%02x", i % 16 ? " " : "\n    ", m[i]);
	printf("%s\n", n ? "" : " (empty)");
}

int main(void)
{
	char why[256];
	if (!kernel_available(why, sizeof(why))) {
		t_skip("cases-kernel", "the kernel cannot be the oracle here: %s", why);
		return t_done();
	}
	char dir[1024];
	const char *d = getenv("SKEP_CASES_DIR");
	if (d && *d)
		snprintf(dir, sizeof(dir), "%s", d);
	else
		snprintf(dir, sizeof(dir), "%s/tests/cases", t_root());
	char **paths = NULL;
	size_t np = 0;
	int rc = case_list(dir, &paths, &np);
	CHECK(rc == 0 && np > 0, "cases-kernel: case files found", "%s: %s", dir,
	      rc ? strerror(-rc) : "no *.case files");

	size_t ran = 0, agree = 0, refused = 0, marked = 0, other = 0, broken = 0, stacked = 0;
	size_t skip_root = strlen(dir) + 1;
	for (size_t i = 0; i < np; i++) {
		const char *name = strlen(paths[i]) > skip_root ? paths[i] + skip_root : paths[i];
		struct test_case c;
		char err[512];
		if (case_load(paths[i], &c, err, sizeof(err))) {
			broken++;
			CHECK(0, name, "does not parse: %s", err);
			continue;
		}
		if (!c.has_result) {   /* an expected load error or fault: nothing for the kernel to run */
			other++;
			case_free(&c);
			continue;
		}
		if (c.kernel_skip) {
			marked++;
			t_skip(name, "marked kernel skip: %s", c.kernel_skip);
			case_free(&c);
			continue;
		}
		struct skep_insn *insns = NULL;
		size_t n = 0;
		if (case_insns(&c, &insns, &n, err, sizeof(err))) {
			broken++;
			CHECK(0, name, "no instructions: %s", err);
			case_free(&c);
			continue;
		}
		size_t len = c.has_mem ? c.mem_len : 0;
		uint8_t *mem = malloc(len ? len : 1);
		if (len)
			memcpy(mem, c.mem, len);
		uint64_t r0 = 0;
		struct kernel_info info;
		int k = mem ? kernel_run_mem(insns, n, mem, len, &r0, &info) : -ENOMEM;
		if (k == KERNEL_REFUSED) {
			refused++;
			t_skip(name, "kernel verifier refuses it (%s)", info.reason);
		} else if (k == KERNEL_NOPERM || k == KERNEL_TOOBIG) {
			refused++;
			t_skip(name, "%s", info.reason);
		} else if (k) {
			CHECK(0, name, "the kernel run failed: %d %s", k, mem ? info.reason : "out of memory");
		} else {
			ran++;
			int mem_ok = !c.has_mem_out || (c.mem_out_len == len && !memcmp(c.mem_out, mem, len));
			int ok = r0 == c.result && mem_ok;
			agree += ok;
			stacked += info.stack_copy;
			CHECK(ok, name, "the kernel (%s) gives r0 = %#" PRIx64 " (%" PRId64 "), the case expects %#" PRIx64
			      " (%" PRId64 ")%s", info.prog_type != KERNEL_PROG_XDP ? "socket filter" : info.stack_copy ? "xdp, data on the stack" : "xdp", r0,
			      (int64_t)r0, c.result, (int64_t)c.result, mem_ok ? "" : "; and mem-out differs:");
			if (!mem_ok) {
				print_hex("kernel mem-out", mem, len);
				print_hex("expected mem-out", c.mem_out, c.mem_out_len);
			}
		}
		free(mem);
		free(insns);
		case_free(&c);
	}
	printf("cases-kernel: %zu case files: %zu run in the kernel (%zu agree; %zu of them on a stack copy "
	       "of the data, for atomics), %zu refused by the kernel verifier, %zu marked kernel skip, "
	       "%zu expect an error or fault (not run), %zu broken\n",
	       np, ran, agree, stacked, refused, marked, other, broken);
	if (paths)
		case_list_free(paths, np);
	return t_done();
}
