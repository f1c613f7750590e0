/* The log, in the kernel's style: each instruction as it is verified ("12: (61) r2 =
 * *(u32 *)(r1 + 0x4)"), register states ("R1=ctx() R10=fp0"), the reason of a refusal.
 * At level 1 only the failing path stays (the log is cut back when a path ends). */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "verifier.h"

static void vlog_va(struct venv *env, const char *fmt, va_list ap)
{
	struct vlog *l = &env->log;
	if (!l->level || !l->buf || !l->size)
		return;
	size_t room = l->len < l->size ? l->size - l->len : 0;
	int n = vsnprintf(room ? l->buf + l->len : NULL, room, fmt, ap);
	if (n > 0)
		l->len += (size_t)n;
	if (l->len >= l->size)
		l->buf[l->size - 1] = 0;
}

void vlog(struct venv *env, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog_va(env, fmt, ap);
	va_end(ap);
}

void vlog_reset(struct venv *env, size_t pos)
{
	struct vlog *l = &env->log;
	if (!l->buf || pos > l->len)
		return;
	l->len = pos;
	if (pos < l->size)
		l->buf[pos] = 0;
}

static int verr_va(struct venv *env, int code, const char *fmt, va_list ap)
{
	char msg[200];
	vsnprintf(msg, sizeof msg, fmt, ap);
	if (!env->errmsg[0]) {
		int idx = env->cur ? env->cur->insn_idx : -1;
		env->err_insn = idx;
		if (idx >= 0)
			snprintf(env->errmsg, sizeof env->errmsg, "insn %d: %s", idx, msg);
		else
			snprintf(env->errmsg, sizeof env->errmsg, "%s", msg);
	} else {
		/* a second line explains the first (as the kernel's log does) */
		size_t l = strlen(env->errmsg);
		snprintf(env->errmsg + l, sizeof env->errmsg - l, "; %s", msg);
	}
	vlog(env, "%s\n", msg);
	return code;
}

int verr(struct venv *env, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = verr_va(env, -EACCES, fmt, ap);
	va_end(ap);
	return r;
}

int verr_code(struct venv *env, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = verr_va(env, code, fmt, ap);
	va_end(ap);
	return r;
}

static const char *const type_names[VTYPE__COUNT] = {
	[NOT_INIT] = "?", [SCALAR] = "scalar", [PTR_TO_CTX] = "ctx", [CONST_PTR_TO_MAP] = "map_ptr",
	[PTR_TO_MAP_VALUE] = "map_value", [PTR_TO_MAP_KEY] = "map_key", [PTR_TO_STACK] = "fp",
	[PTR_TO_PACKET_META] = "pkt_meta", [PTR_TO_PACKET] = "pkt", [PTR_TO_PACKET_END] = "pkt_end",
	[PTR_TO_MEM] = "mem", [PTR_TO_FUNC] = "func", [PTR_TO_FLOW_KEYS] = "flow_keys",
	[PTR_TO_SOCKET] = "sock", [PTR_TO_BTF_ID] = "ptr_",
};

const char *reg_type_str(uint32_t type)
{
	static __thread char buf[64];
	uint32_t b = BASE_TYPE(type);
	const char *base = b < VTYPE__COUNT ? type_names[b] : "?";
	if (b == PTR_TO_MEM && (type & MEM_RINGBUF))
		base = "ringbuf_mem";
	snprintf(buf, sizeof buf, "%s%s%s", (type & MEM_RDONLY) ? "rdonly_" : "", base,
		 (type & PTR_MAYBE_NULL) ? "_or_null" : "");
	return buf;
}

void vlog_insn(struct venv *env, int idx)
{
	char text[128];
	const struct skep_insn *in = &env->insns[idx];
	if (skep_insn_disasm(in, env->n - (size_t)idx, text, sizeof text) < 0)
		snprintf(text, sizeof text, "(invalid)");
	vlog(env, "%d: (%02x) %s\n", idx, in->code, text);
}

/* A scalar's facts, printed only where they say something. */
static int scalar_str(char *b, size_t n, const struct vreg *r)
{
	if (tnum_is_const(r->var_off))
		return snprintf(b, n, "%" PRId64, (int64_t)r->var_off.value);
	int k = snprintf(b, n, "scalar(");
	const char *sep = "";
#define P(cond, fmt, v) \
	if ((cond) && (size_t)k < n) { k += snprintf(b + k, n - (size_t)k, "%s" fmt, sep, v); sep = ","; }
	P(r->id, "id=%u", r->id);
	P(r->smin != INT64_MIN, "smin=%" PRId64, r->smin);
	P(r->smax != INT64_MAX, "smax=%" PRId64, r->smax);
	P(r->umin != 0, "umin=%" PRIu64, r->umin);
	P(r->umax != UINT64_MAX, "umax=%" PRIu64, r->umax);
	P(r->s32_min != INT32_MIN, "smin32=%d", r->s32_min);
	P(r->s32_max != INT32_MAX, "smax32=%d", r->s32_max);
	P(r->u32_min != 0, "umin32=%u", r->u32_min);
	P(r->u32_max != UINT32_MAX, "umax32=%u", r->u32_max);
	if (!tnum_is_unknown(r->var_off) && (size_t)k < n) {
		char tn[48];
		tnum_str(tn, sizeof tn, r->var_off);
		k += snprintf(b + k, n - (size_t)k, "%svar_off=%s", sep, tn);
	}
#undef P
	if ((size_t)k < n)
		k += snprintf(b + k, n - (size_t)k, ")");
	return k;
}

static int reg_str(char *b, size_t n, const struct vreg *r)
{
	if (r->type == SCALAR)
		return scalar_str(b, n, r);
	uint32_t t = BASE_TYPE(r->type);
	if (t == PTR_TO_STACK && r->off == 0 && tnum_equals_const(r->var_off, 0))
		return snprintf(b, n, "fp0");
	if (t == PTR_TO_STACK && tnum_equals_const(r->var_off, 0))
		return snprintf(b, n, "fp%d", r->off);
	int k = snprintf(b, n, "%s(", reg_type_str(r->type));
	const char *sep = "";
	if (r->id && (size_t)k < n) { k += snprintf(b + k, n - (size_t)k, "id=%u", r->id); sep = ","; }
	if (r->ref_obj_id && (size_t)k < n) { k += snprintf(b + k, n - (size_t)k, "%sref_obj_id=%u", sep, r->ref_obj_id); sep = ","; }
	if (r->off && (size_t)k < n) { k += snprintf(b + k, n - (size_t)k, "%soff=%d", sep, r->off); sep = ","; }
	if ((t == PTR_TO_PACKET || t == PTR_TO_PACKET_META) && (size_t)k < n) {
		k += snprintf(b + k, n - (size_t)k, "%sr=%u", sep, r->range);
		sep = ",";
	}
	if (r->map && (size_t)k < n) {
		k += snprintf(b + k, n - (size_t)k, "%sks=%u,vs=%u", sep, r->map->m.key_size, r->map->m.value_size);
		sep = ",";
	}
	if (t == PTR_TO_MEM && (size_t)k < n) {
		k += snprintf(b + k, n - (size_t)k, "%smem_size=%u", sep, r->range);
		sep = ",";
	}
	if (!tnum_equals_const(r->var_off, 0) && (size_t)k < n) {
		char s[200];
		struct vreg tmp = *r;
		tmp.type = SCALAR;
		tmp.id = 0;
		scalar_str(s, sizeof s, &tmp);
		k += snprintf(b + k, n - (size_t)k, "%svar=%s", sep, s);
	}
	if ((size_t)k < n)
		k += snprintf(b + k, n - (size_t)k, ")");
	return k;
}

void vlog_state(struct venv *env, const struct vstate *st, int only_frame)
{
	if (!env->log.level)
		return;
	char b[512];
	for (int fi = 0; fi <= st->curframe; fi++) {
		if (only_frame >= 0 && fi != only_frame)
			continue;
		const struct vframe *f = st->frame[fi];
		if (st->curframe)
			vlog(env, " frame%d:", fi);
		for (int r = 0; r < MAX_BPF_REG; r++) {
			if (f->regs[r].type == NOT_INIT)
				continue;
			reg_str(b, sizeof b, &f->regs[r]);
			vlog(env, " R%d=%s", r, b);
		}
		for (int s = 0; s < f->nslots; s++) {
			const struct vslot *sl = &f->stack[s];
			if (sl->type[BPF_REG_SIZE - 1] == STACK_SPILL) {
				reg_str(b, sizeof b, &sl->spilled);
				vlog(env, " fp%d=%s", -8 * (s + 1), b);
				continue;
			}
			char t[9];
			bool any = false;
			for (int i = 0; i < 8; i++) {
				static const char c[] = "?rm0";
				t[i] = c[sl->type[7 - i]];
				any |= sl->type[7 - i] != STACK_INVALID;
			}
			t[8] = 0;
			if (any)
				vlog(env, " fp%d=%s", -8 * (s + 1), t);
		}
	}
	if (st->nrefs) {
		vlog(env, " refs=");
		for (int i = 0; i < st->nrefs; i++)
			vlog(env, "%s%u", i ? "," : "", st->refs[i].id);
	}
	vlog(env, "\n");
}
