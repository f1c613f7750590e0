/* The server side of the request hook example: register the program type, load the
 * hook (assembly text, examples/embedder/filter.s by default), run it on requests the way
 * a server would (its own in-memory context in r1), then once more as a test run.
 *
 *   make -C examples/embedder && examples/embedder/host [filter.s]
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reqhook.h"
#include "skep/insn.h"
#include "skep/prog.h"
#include "skep/testrun.h"

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	static char buf[1 << 16];
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = 0;
	return buf;
}

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : "examples/embedder/filter.s";
	char *text = read_file(path);
	if (!text) {
		fprintf(stderr, "cannot read %s\n", path);
		return 1;
	}
	struct skep_insn *insns;
	size_t n;
	struct skep_diag d;
	if (skep_assemble(text, &insns, &n, &d)) {
		fprintf(stderr, "%s: %s\n", path, d.msg);
		return 1;
	}
	int err = reqhook_register();
	skep_prog *p = skep_prog_new();
	if (!err)
		err = skep_prog_set_type(p, REQHOOK_PROG_TYPE);
	if (!err)
		err = skep_prog_load(p, insns, n);
	free(insns);
	if (err) {
		fprintf(stderr, "load: %s\n", skep_prog_error(p));
		return 1;
	}
	static const struct { uint32_t method; const char *ip, *body; } reqs[] = {
		{1, "192.168.1.7", "hello"},
		{2, "10.1.2.3", "{\"a\": 1}"},
		{2, "172.16.0.1", "DROP TABLE users"},
		{1, "10.0.0.9", "ok"},
	};
	for (size_t i = 0; i < sizeof reqs / sizeof reqs[0]; i++) {
		const char *body = reqs[i].body;
		struct in_addr ip;
		inet_pton(AF_INET, reqs[i].ip, &ip);
		struct req_real r = {(uint64_t)(uintptr_t)body, (uint64_t)(uintptr_t)(body + strlen(body)),
				     reqs[i].method, ip.s_addr, 0, 0};
		struct skep_run_args a = {.r = {(uint64_t)(uintptr_t)&r}};
		uint64_t r0;
		if ((err = skep_prog_run(p, &a, &r0))) {
			fprintf(stderr, "run: %s\n", skep_prog_error(p));
			return 1;
		}
		printf("%-4s %-12s %-20s -> %s, status %u\n", reqs[i].method == 2 ? "POST" : "GET",
		       reqs[i].ip, body, r0 ? "accept" : "refuse", r.status);
	}
	printf("req_log calls: %u", reqhook_nlog);
	for (unsigned i = 0; i < reqhook_nlog && i < 16; i++)
		printf(" %u", reqhook_log[i]);
	printf("\n");

	/* the same through BPF_PROG_TEST_RUN's interface */
	struct req_ctx in = {.method = 2}, out;
	inet_pton(AF_INET, "10.9.9.9", &in.client_ip);
	struct skep_test_run_opts o = {.data_in = "DROP", .data_size_in = 4, .ctx_in = &in,
				       .ctx_size_in = sizeof in, .ctx_out = &out, .ctx_size_out = sizeof out,
				       .repeat = 1000};
	if ((err = skep_prog_test_run(p, &o))) {
		fprintf(stderr, "test run: %s\n", skep_prog_error(p));
		return 1;
	}
	printf("test run: retval %u, status %u, %u ns per run\n", o.retval, out.status, o.duration);
	skep_prog_free(p);
	return 0;
}
