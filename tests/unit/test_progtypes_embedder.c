/* The embedder example (examples/embedder): its program type registers, its hook
 * (filter.s) loads with the context rewritten, and gives the expected verdicts on every
 * engine, both run as the server runs it and as a test run. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../examples/embedder/reqhook.c"
#include "check.h"
#include "skep/insn.h"
#include "skep/prog.h"

static const enum skep_engine engines[] = {SKEP_ENGINE_INTERP, SKEP_ENGINE_CHECKED, SKEP_ENGINE_JIT};
static const char *const ename[] = {"interp", "checked", "jit"};

int main(void)
{
	char path[1024], text[1 << 16];
	snprintf(path, sizeof path, "%s/examples/embedder/filter.s", t_root());
	FILE *f = fopen(path, "r");
	size_t len = f ? fread(text, 1, sizeof text - 1, f) : 0;
	if (f)
		fclose(f);
	text[len] = 0;
	CHECK(len > 0, "embedder/read", "cannot read %s", path);
	struct skep_insn *insns = NULL;
	size_t n = 0;
	struct skep_diag d;
	int err = skep_assemble(text, &insns, &n, &d);
	CHECK(!err, "embedder/assemble", "%s", d.msg);
	CHECK(reqhook_register() == 0 && reqhook_register() == 0, "embedder/register", "failed");
	static const struct { uint32_t method; const char *ip, *body; uint64_t r0; uint32_t status, logged; } reqs[] = {
		{1, "192.168.1.7", "hello", 1, 200, 0},
		{2, "10.1.2.3", "{\"a\": 1}", 1, 200, 1},
		{2, "172.16.0.1", "DROP TABLE users", 0, 403, 0},
		{1, "10.0.0.9", "ok", 1, 200, 0},
		{2, "10.0.0.9", "", 1, 200, 1},
		{2, "11.0.0.9", "DRO", 1, 200, 0},
	};
	for (int e = 0; e < 3 && !err; e++) {
		char name[96];
		skep_prog *p = skep_prog_new();
		int lerr = skep_prog_set_engine(p, engines[e]);
		if (!lerr)
			lerr = skep_prog_set_type(p, REQHOOK_PROG_TYPE);
		if (!lerr)
			lerr = skep_prog_load(p, insns, n);
		snprintf(name, sizeof name, "embedder/load/%s", ename[e]);
		CHECK(!lerr, name, "%s", skep_prog_error(p));
		for (size_t i = 0; !lerr && i < sizeof reqs / sizeof reqs[0]; i++) {
			const char *body = reqs[i].body;
			struct in_addr ip;
			inet_pton(AF_INET, reqs[i].ip, &ip);
			struct req_real r = {(uint64_t)(uintptr_t)body, (uint64_t)(uintptr_t)(body + strlen(body)),
					     reqs[i].method, ip.s_addr, 0, 0};
			struct skep_region reg[2] = {{&r, sizeof r, 1}, {(void *)body, strlen(body) + 1, 0}};
			struct skep_run_args a = {.r = {(uint64_t)(uintptr_t)&r}, .regions = reg, .nregions = 2};
			uint64_t r0 = 99;
			unsigned before = reqhook_nlog;
			int rerr = skep_prog_run(p, &a, &r0);
			snprintf(name, sizeof name, "embedder/run-%zu/%s", i, ename[e]);
			CHECK(!rerr && r0 == reqs[i].r0 && r.status == reqs[i].status &&
			      reqhook_nlog - before == reqs[i].logged &&
			      (!reqs[i].logged || reqhook_log[(reqhook_nlog - 1) % 16] == 201),
			      name, "err %d (%s) r0 %llu status %u logged %u", rerr, skep_prog_error(p),
			      (unsigned long long)r0, r.status, reqhook_nlog - before);
		}
		/* test run: ctx_in/ctx_out and the body as data_in */
		struct req_ctx in = {.method = 2, .status = 7}, out;
		inet_pton(AF_INET, "10.9.9.9", &in.client_ip);
		struct skep_test_run_opts o = {.data_in = "DROP!", .data_size_in = 5, .ctx_in = &in,
					       .ctx_size_in = sizeof in, .ctx_out = &out,
					       .ctx_size_out = sizeof out, .repeat = 10};
		memset(&out, 0, sizeof out);
		int terr = lerr ? lerr : skep_prog_test_run(p, &o);
		snprintf(name, sizeof name, "embedder/test-run/%s", ename[e]);
		CHECK(!terr && o.retval == 0 && out.status == 403 && out.method == 2 && out.body_end == 5 &&
		      o.ctx_size_out == sizeof out, name, "err %d (%s) retval %u status %u", terr,
		      skep_prog_error(p), o.retval, out.status);
		o.data_in = "GET", o.data_size_in = 3, o.repeat = 1;
		terr = lerr ? lerr : skep_prog_test_run(p, &o);
		snprintf(name, sizeof name, "embedder/test-run-short/%s", ename[e]);
		CHECK(!terr && o.retval == 1 && out.status == 200, name, "err %d retval %u status %u", terr,
		      o.retval, out.status);
		uint8_t big[sizeof in + 4] = {0};
		o.ctx_in = big, o.ctx_size_in = sizeof big;
		terr = lerr ? lerr : skep_prog_test_run(p, &o);
		snprintf(name, sizeof name, "embedder/test-run-big-ctx/%s", ename[e]);
		CHECK(terr == -E2BIG && strstr(skep_prog_error(p), "larger than struct req_ctx"), name,
		      "err %d %s", terr, skep_prog_error(p));
		skep_prog_free(p);
	}
	free(insns);
	return t_done();
}
