/* BPF_PROG_TEST_RUN for Skep programs: the type builds the context, the program runs
 * repeat times on it (not reset in between, as the kernel's bpf_test_run), the type
 * writes data_out and ctx_out back. Also the pieces of net/bpf/test_run.c the types
 * share: bpf_ctx_init, bpf_ctx_finish and bpf_test_finish. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "exec/exec.h"
#include "progtypes.h"

int pt_fail(struct skep_test_env *env, int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(env->err, sizeof env->err, fmt, ap);
	va_end(ap);
	return err;
}

int pt_ctx_init(const struct skep_test_run_opts *o, size_t size, void **out,
		struct skep_test_env *env)
{
	*out = NULL;
	if (!o->ctx_in && !o->ctx_out)
		return 0;
	uint8_t *c = calloc(1, size ? size : 1);
	if (!c)
		return pt_fail(env, -ENOMEM, "out of memory");
	if (o->ctx_in) {
		const uint8_t *in = o->ctx_in;
		for (size_t i = size; i < o->ctx_size_in; i++)
			if (in[i]) {
				free(c);
				return pt_fail(env, -E2BIG, "ctx_in has %u bytes, non-zero past the %zu of "
					       "the context (byte %zu)", o->ctx_size_in, size, i);
			}
		memcpy(c, in, o->ctx_size_in < size ? o->ctx_size_in : size);
	}
	*out = c;
	return 0;
}

int pt_ctx_finish(struct skep_test_run_opts *o, const void *ctx, uint32_t size)
{
	if (!ctx || !o->ctx_out)
		return 0;
	uint32_t n = size;
	int err = 0;
	if (n > o->ctx_size_out)
		n = o->ctx_size_out, err = -ENOSPC;
	memcpy(o->ctx_out, ctx, n);
	o->ctx_size_out = size;
	return err;
}

int pt_data_finish(struct skep_test_run_opts *o, const void *data, uint32_t size)
{
	uint32_t n = size;
	int err = 0;
	if (o->data_size_out && n > o->data_size_out)
		n = o->data_size_out, err = -ENOSPC;
	if (o->data_out && n)
		memcpy(o->data_out, data, n);
	o->data_size_out = size;
	return err;
}

/* The plain memory program (type 0): r1 = a copy of data_in, r2 = its length. */
static int plain_init(const struct skep_prog_type_desc *d, const struct skep_test_run_opts *o,
		      struct skep_test_env *env)
{
	if (o->ctx_in || o->ctx_out)
		return pt_fail(env, -EINVAL, "a plain memory program has no context");
	env->buf = malloc(o->data_size_in ? o->data_size_in : 1);
	if (!env->buf)
		return pt_fail(env, -ENOMEM, "out of memory");
	if (o->data_size_in) {
		if (!o->data_in)
			return pt_fail(env, -EINVAL, "data_size_in without data_in");
		memcpy(env->buf, o->data_in, o->data_size_in);
	}
	env->buf_size = o->data_size_in;
	env->pkt = env->buf;
	env->pkt_len = env->buf_size;
	env->regions[0] = (struct skep_region){env->buf, env->buf_size, 1};
	env->nregions = 1;
	return 0;
}

static int plain_finish(const struct skep_prog_type_desc *d, struct skep_test_run_opts *o,
			struct skep_test_env *env)
{
	return pt_data_finish(o, env->buf, (uint32_t)env->buf_size);
}

static const struct skep_prog_type_desc pt_plain = {
	.name = "plain", .test_init = plain_init, .test_finish = plain_finish,
};

static uint64_t now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

int skep_prog_test_run(skep_prog *p, struct skep_test_run_opts *o)
{
	if (!o)
		return prog_fail(p, -EINVAL, "test run without options");
	if (!p->insns)
		return prog_fail(p, -EINVAL, "no program loaded");
	const struct skep_prog_type_desc *d = p->type ? skep_prog_type_by_id(p->type) : &pt_plain;
	if (!d)
		return prog_fail(p, -ENOENT, "unknown program type %u", p->type);
	if (!d->test_init || !d->test_finish)
		return prog_fail(p, -EOPNOTSUPP, "%s programs have no test run", d->name);
	if (o->flags)
		return prog_fail(p, -EINVAL, "test run flags 0x%x are not supported", o->flags);
	struct skep_test_env env;
	memset(&env, 0, sizeof env);
	env.ctx_max = p->ctx_max;
	int err = d->test_init(d, o, &env);
	if (!err) {
		struct skep_run_args a = {
			.r = {(uint64_t)(uintptr_t)(env.ctx ? env.ctx : env.buf), env.ctx ? 0 : env.buf_size},
			.regions = env.regions,
			.nregions = env.nregions,
			.pkt = env.pkt,
			.pkt_len = env.pkt_len,
		};
		uint32_t repeat = o->repeat > 0 ? (uint32_t)o->repeat : 1;
		uint64_t r0 = 0, t0 = now_ns();
		for (uint32_t i = 0; i < repeat && !err; i++)
			err = skep_prog_run(p, &a, &r0);
		uint64_t dt = (now_ns() - t0) / repeat;
		if (!err) {
			uint32_t old_retval = o->retval, old_duration = o->duration;
			o->retval = (uint32_t)r0;
			o->duration = dt > UINT32_MAX ? UINT32_MAX : (uint32_t)dt;
			err = d->test_finish(d, o, &env);
			if (env.no_result)
				o->retval = old_retval, o->duration = old_duration;
			if (err)
				prog_fail(p, err, "%s test run: %s", d->name,
					  env.err[0] ? env.err : err == -ENOSPC ? "data_out or ctx_out too small"
										 : "cannot write the results");
		}
	} else {
		prog_fail(p, err, "%s test run: %s", d->name, env.err[0] ? env.err : "refused");
	}
	free(env.ctx);
	free(env.buf);
	free(env.priv);
	return err;
}
