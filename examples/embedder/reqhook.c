/* The request hook type: its context descriptor, its helper, and its test run (ctx_in is
 * a struct req_ctx with method, client_ip and status; data_in is the body; ctx_out gets
 * the status back). Uses only Skep's public headers. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reqhook.h"
#include "skep/testrun.h"

uint32_t reqhook_log[16];
unsigned reqhook_nlog;

/* long req_log(u32 code): remember the code; returns how many were logged */
static uint64_t req_log(uint64_t code, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5)
{
	(void)r2, (void)r3, (void)r4, (void)r5;
	reqhook_log[reqhook_nlog++ % 16] = (uint32_t)code;
	return reqhook_nlog;
}

#define REAL(f) (uint16_t)offsetof(struct req_real, f)
static const struct skep_ctx_field fields[] = {
	{"method", 0, 4, SKEP_CTX_READ, SKEP_CTX_SCALAR, SKEP_CTX_NARROW, REAL(method), 4},
	{"client_ip", 4, 4, SKEP_CTX_READ, SKEP_CTX_SCALAR, SKEP_CTX_NARROW, REAL(client_ip), 4},
	{"body", 8, 4, SKEP_CTX_READ, SKEP_CTX_PKT_DATA, 0, REAL(body), 8},
	{"body_end", 12, 4, SKEP_CTX_READ, SKEP_CTX_PKT_END, 0, REAL(body_end), 8},
	{"status", 16, 4, SKEP_CTX_RW, SKEP_CTX_SCALAR, 0, REAL(status), 4},
};
/* req_log, and a few of the kernel's: map lookup/update/delete, ktime_get_ns */
static const uint32_t helpers[] = {REQHOOK_HELPER_LOG, 1, 2, 3, 5};
static const struct skep_helper_bind binds[] = {{REQHOOK_HELPER_LOG, req_log}};

static int test_init(const struct skep_prog_type_desc *d, const struct skep_test_run_opts *o,
		     struct skep_test_env *env)
{
	(void)d;
	struct req_ctx in = {0};
	if (o->ctx_in) {
		if (o->ctx_size_in > sizeof in) {
			snprintf(env->err, sizeof env->err, "ctx_in is larger than struct req_ctx");
			return -E2BIG;
		}
		memcpy(&in, o->ctx_in, o->ctx_size_in);
	}
	struct req_real *r = calloc(1, sizeof *r);
	uint8_t *body = malloc(o->data_size_in ? o->data_size_in : 1);
	env->ctx = r, env->buf = body;   /* freed by Skep */
	if (!r || !body)
		return -ENOMEM;
	if (o->data_size_in)
		memcpy(body, o->data_in, o->data_size_in);
	env->buf_size = o->data_size_in;
	r->method = in.method, r->client_ip = in.client_ip, r->status = in.status;
	r->body = (uint64_t)(uintptr_t)body;
	r->body_end = r->body + o->data_size_in;
	env->regions[0] = (struct skep_region){r, sizeof *r, 1};
	env->regions[1] = (struct skep_region){body, o->data_size_in, 0};
	env->nregions = 2;
	return 0;
}

static int test_finish(const struct skep_prog_type_desc *d, struct skep_test_run_opts *o,
		       struct skep_test_env *env)
{
	(void)d;
	const struct req_real *r = env->ctx;
	if (o->ctx_out) {
		struct req_ctx out = {r->method, r->client_ip, 0, (uint32_t)(r->body_end - r->body), r->status};
		if (o->ctx_size_out < sizeof out)
			return -ENOSPC;
		memcpy(o->ctx_out, &out, sizeof out);
		o->ctx_size_out = sizeof out;
	}
	o->data_size_out = 0;
	return 0;
}

static const struct skep_prog_type_desc reqhook = {
	.name = "reqhook",
	.type = REQHOOK_PROG_TYPE,
	.ctx_size = sizeof(struct req_ctx),
	.real_ctx_size = sizeof(struct req_real),
	.fields = fields,
	.nfields = sizeof fields / sizeof fields[0],
	.helpers = helpers,
	.nhelpers = sizeof helpers / sizeof helpers[0],
	.binds = binds,
	.nbinds = sizeof binds / sizeof binds[0],
	.ret_min = 0, .ret_max = 1,
	.flags = SKEP_PT_PKT_READ | SKEP_PT_RET_RANGE,
	.test_init = test_init,
	.test_finish = test_finish,
};

int reqhook_register(void)
{
	int err = skep_prog_type_register(&reqhook);
	return err == -EEXIST && skep_prog_type_by_id(REQHOOK_PROG_TYPE) == &reqhook ? 0 : err;
}
