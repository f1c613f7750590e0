/* The helper table: each helper's kernel prototype (what the verifier checks a call
 * against) and Skep's implementation, by kernel id; helpers an embedder registers;
 * and binding them into programs at load. Prototypes follow the kernel's
 * bpf_func_proto of each helper (kernel/bpf/helpers.c, kernel/trace/bpf_trace.c,
 * net/core/filter.c). */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "exec/exec.h"
#include "helpers.h"
#include "isa/isa.h"
#include "isa/text.h"

/* argument shorthands */
#define MAP   SKEP_ARG_CONST_MAP_PTR
#define KEY   SKEP_ARG_PTR_TO_MAP_KEY
#define VAL   SKEP_ARG_PTR_TO_MAP_VALUE
#define UVAL  SKEP_ARG_PTR_TO_UNINIT_MAP_VALUE
#define ANY   SKEP_ARG_ANYTHING
#define CTX   SKEP_ARG_PTR_TO_CTX
#define RMEM  (SKEP_ARG_PTR_TO_MEM | SKEP_ARG_RDONLY)
#define RMEMN (SKEP_ARG_PTR_TO_MEM | SKEP_ARG_RDONLY | SKEP_ARG_MAYBE_NULL)
#define UMEM  SKEP_ARG_PTR_TO_UNINIT_MEM
#define SZ    SKEP_ARG_CONST_SIZE
#define SZ0   SKEP_ARG_CONST_SIZE_OR_ZERO
#define FUNC  SKEP_ARG_PTR_TO_FUNC
#define STKN  SKEP_ARG_PTR_TO_STACK_OR_NULL
#define CSTR  SKEP_ARG_PTR_TO_CONST_STR
#define LONGP (SKEP_ARG_PTR_TO_MEM | SKEP_ARG_UNINIT | SKEP_ARG_WRITE | SKEP_ARG_FIXED_SIZE)
#define INT   SKEP_RET_INTEGER
#define VOID  SKEP_RET_VOID

struct entry {
	struct skep_helper_proto proto;
	skep_helper_fn fn;
};

#define H(ID, NAME, FN, GPL, RET, ...) \
	[ID] = {{"bpf_" #NAME, ID, RET, {__VA_ARGS__}, {0}, GPL, 0, 0}, FN}
#define HP(ID, NAME, FN, RET, ...) /* may take packet pointers */ \
	[ID] = {{"bpf_" #NAME, ID, RET, {__VA_ARGS__}, {0}, 0, 0, 1}, FN}

static struct entry std[] = {
	HP(1, map_lookup_elem, hlp_map_lookup_elem, SKEP_RET_PTR_TO_MAP_VALUE_OR_NULL, MAP, KEY),
	HP(2, map_update_elem, hlp_map_update_elem, INT, MAP, KEY, VAL, ANY),
	HP(3, map_delete_elem, hlp_map_delete_elem, INT, MAP, KEY),
	H(4, probe_read, hlp_probe_read, 1, INT, UMEM, SZ0, ANY),
	H(5, ktime_get_ns, hlp_ktime_get_ns, 0, INT),
	H(6, trace_printk, hlp_trace_printk, 1, INT, RMEM, SZ),
	H(7, get_prandom_u32, hlp_get_prandom_u32, 0, INT),
	H(8, get_smp_processor_id, hlp_get_smp_processor_id, 0, INT),
	H(12, tail_call, NULL /* a jump, inside each engine */, 0, INT, CTX, MAP, ANY),
	H(14, get_current_pid_tgid, hlp_get_current_pid_tgid, 0, INT),
	H(15, get_current_uid_gid, hlp_get_current_uid_gid, 0, INT),
	H(16, get_current_comm, hlp_get_current_comm, 0, INT, UMEM, SZ),
	H(25, perf_event_output, hlp_perf_event_output, 1, INT, CTX, MAP, ANY, RMEM, SZ0),
	H(27, get_stackid, hlp_get_stackid, 1, INT, CTX, MAP, ANY),
	HP(28, csum_diff, hlp_csum_diff, INT, RMEMN, SZ0, RMEMN, SZ0, ANY),
	H(42, get_numa_node_id, hlp_get_numa_node_id, 0, INT),
	H(45, probe_read_str, hlp_probe_read_str, 1, INT, UMEM, SZ0, ANY),
	H(67, get_stack, hlp_get_stack, 1, INT, CTX, UMEM, SZ0, ANY),
	H(87, map_push_elem, hlp_map_push_elem, 0, INT, MAP, VAL, ANY),
	H(88, map_pop_elem, hlp_map_pop_elem, 0, INT, MAP, UVAL),
	H(89, map_peek_elem, hlp_map_peek_elem, 0, INT, MAP, UVAL),
	H(93, spin_lock, hlp_spin_lock, 0, VOID, SKEP_ARG_PTR_TO_SPIN_LOCK),
	H(94, spin_unlock, hlp_spin_unlock, 0, VOID, SKEP_ARG_PTR_TO_SPIN_LOCK),
	H(105, strtol, hlp_strtol, 0, INT, RMEM, SZ, ANY, LONGP),
	H(106, strtoul, hlp_strtoul, 0, INT, RMEM, SZ, ANY, LONGP),
	H(109, send_signal, hlp_send_signal, 0, INT, ANY),
	H(112, probe_read_user, hlp_probe_read, 1, INT, UMEM, SZ0, ANY),
	H(113, probe_read_kernel, hlp_probe_read, 1, INT, UMEM, SZ0, ANY),
	H(114, probe_read_user_str, hlp_probe_read_str, 1, INT, UMEM, SZ0, ANY),
	H(115, probe_read_kernel_str, hlp_probe_read_str, 1, INT, UMEM, SZ0, ANY),
	H(117, send_signal_thread, hlp_send_signal_thread, 0, INT, ANY),
	H(118, jiffies64, hlp_jiffies64, 0, INT),
	H(125, ktime_get_boot_ns, hlp_ktime_get_boot_ns, 0, INT),
	H(130, ringbuf_output, hlp_ringbuf_output, 0, INT, MAP, RMEM, SZ0, ANY),
	H(131, ringbuf_reserve, hlp_ringbuf_reserve, 0, SKEP_RET_PTR_TO_RINGBUF_MEM_OR_NULL, MAP,
	  SKEP_ARG_CONST_ALLOC_SIZE_OR_ZERO, ANY),
	H(132, ringbuf_submit, hlp_ringbuf_submit, 0, VOID, SKEP_ARG_PTR_TO_RINGBUF_MEM, ANY),
	H(133, ringbuf_discard, hlp_ringbuf_discard, 0, VOID, SKEP_ARG_PTR_TO_RINGBUF_MEM, ANY),
	H(134, ringbuf_query, hlp_ringbuf_query, 0, INT, MAP, ANY),
	H(160, ktime_get_coarse_ns, hlp_ktime_get_coarse_ns, 0, INT),
	H(164, for_each_map_elem, hlp_for_each_map_elem, 0, INT, MAP, FUNC, STKN, ANY),
	H(165, snprintf, hlp_snprintf, 0, INT, SKEP_ARG_PTR_TO_MEM_OR_NULL, SZ0, CSTR, RMEMN, SZ0),
	H(173, get_func_ip, hlp_get_func_ip, 0, INT, CTX),
	H(174, get_attach_cookie, hlp_get_attach_cookie, 0, INT, CTX),
	H(177, trace_vprintk, hlp_trace_vprintk, 1, INT, RMEM, SZ, RMEMN, SZ0),
	H(181, loop, hlp_loop, 0, INT, ANY, FUNC, STKN, ANY),
	H(182, strncmp, hlp_strncmp, 0, INT, RMEM, SZ, CSTR),
	H(195, map_lookup_percpu_elem, hlp_map_lookup_percpu_elem, 0, SKEP_RET_PTR_TO_MAP_VALUE_OR_NULL,
	  MAP, KEY, ANY),
	H(208, ktime_get_tai_ns, hlp_ktime_get_tai_ns, 0, INT),
};
#define NSTD (sizeof std / sizeof std[0])

/* bpf_strtol/strtoul write a fixed 8 bytes */
static pthread_once_t std_once = PTHREAD_ONCE_INIT;
static void std_init(void)
{
	std[105].proto.arg_size[3] = std[106].proto.arg_size[3] = 8;
}

/* embedder helpers, by id - SKEP_HELPER_USER_BASE */
static struct user {
	struct skep_helper_proto proto;
	skep_helper_fn fn;
	struct user *next;   /* retired registrations */
	char name[64];
} *user[SKEP_HELPER_USER_END - SKEP_HELPER_USER_BASE];
static pthread_rwlock_t user_lock = PTHREAD_RWLOCK_INITIALIZER;

static const struct entry *std_entry(uint32_t id)
{
	pthread_once(&std_once, std_init);
	return id < NSTD && std[id].proto.name ? &std[id] : NULL;
}

const struct skep_helper_proto *skep_helper_proto(uint32_t id)
{
	const struct entry *e = std_entry(id);
	if (e)
		return &e->proto;
	if (id < SKEP_HELPER_USER_BASE || id >= SKEP_HELPER_USER_END)
		return NULL;
	pthread_rwlock_rdlock(&user_lock);
	struct user *u = user[id - SKEP_HELPER_USER_BASE];
	pthread_rwlock_unlock(&user_lock);
	return u ? &u->proto : NULL;  /* never freed: see skep_helper_unregister */
}

skep_helper_fn skep_helper_impl(uint32_t id)
{
	const struct entry *e = std_entry(id);
	if (e)
		return e->fn;
	if (id < SKEP_HELPER_USER_BASE || id >= SKEP_HELPER_USER_END)
		return NULL;
	pthread_rwlock_rdlock(&user_lock);
	struct user *u = user[id - SKEP_HELPER_USER_BASE];
	skep_helper_fn fn = u ? u->fn : NULL;
	pthread_rwlock_unlock(&user_lock);
	return fn;
}

int64_t skep_helper_by_name(const char *name)
{
	if (!name)
		return -1;
	const char *bare = strncmp(name, "bpf_", 4) ? name : name + 4;
	for (uint32_t id = 0; id < NSTD; id++)
		if (std[id].proto.name && !strcmp(std[id].proto.name + 4, bare))
			return id;
	int64_t found = -1;
	pthread_rwlock_rdlock(&user_lock);
	for (uint32_t i = 0; i < SKEP_HELPER_USER_END - SKEP_HELPER_USER_BASE && found < 0; i++)
		if (user[i] && !strcmp(user[i]->name, name))
			found = SKEP_HELPER_USER_BASE + i;
	pthread_rwlock_unlock(&user_lock);
	return found;
}

static int proto_ok(const struct skep_helper_proto *p)
{
	if ((p->ret & SKEP_RET__BASE) > SKEP_RET_PTR_TO_MEM)
		return 0;
	int done = 0;
	for (int i = 0; i < 5; i++) {
		unsigned base = p->arg[i] & SKEP_ARG__BASE;
		if (base > SKEP_ARG_PTR_TO_CONST_STR || (p->arg[i] & ~0x1fffu))
			return 0;
		if (done && base)
			return 0;  /* no argument after an unused one */
		done |= !base;
		/* a size follows the memory it measures */
		if ((base == SKEP_ARG_CONST_SIZE || base == SKEP_ARG_CONST_SIZE_OR_ZERO) &&
		    (!i || (p->arg[i - 1] & SKEP_ARG__BASE) != SKEP_ARG_PTR_TO_MEM))
			return 0;
	}
	return 1;
}

int skep_helper_register(uint32_t id, const char *name, skep_helper_fn fn,
			 const struct skep_helper_proto *proto)
{
	if (id < SKEP_HELPER_USER_BASE || id >= SKEP_HELPER_USER_END || !fn || !proto || !name ||
	    !*name || strlen(name) >= sizeof user[0]->name || !proto_ok(proto))
		return -EINVAL;
	struct user *u = calloc(1, sizeof *u);
	if (!u)
		return -ENOMEM;
	u->proto = *proto;
	u->fn = fn;
	strcpy(u->name, name);
	u->proto.name = u->name;
	u->proto.id = id;
	if (skep_helper_by_name(name) >= 0) {
		free(u);
		return -EEXIST;
	}
	pthread_rwlock_wrlock(&user_lock);
	int err = 0;
	if (user[id - SKEP_HELPER_USER_BASE])
		err = -EEXIST;
	else
		user[id - SKEP_HELPER_USER_BASE] = u;
	pthread_rwlock_unlock(&user_lock);
	if (err)
		free(u);
	return err;
}

/* The prototype stays allocated (a verifier may hold it): unregistering only stops
 * new programs from getting the helper. */
static struct user *retired;
int skep_helper_unregister(uint32_t id)
{
	if (id < SKEP_HELPER_USER_BASE || id >= SKEP_HELPER_USER_END)
		return -ENOENT;
	pthread_rwlock_wrlock(&user_lock);
	struct user *u = user[id - SKEP_HELPER_USER_BASE];
	user[id - SKEP_HELPER_USER_BASE] = NULL;
	if (u) {
		u->next = retired;
		retired = u;
	}
	pthread_rwlock_unlock(&user_lock);
	return u ? 0 : -ENOENT;
}

int prog_bind_helpers(struct skep_prog *p)
{
	for (size_t i = 0; i < p->n; i++) {
		const struct skep_insn *in = &p->insns[i];
		if (in->code != (BPF_JMP | BPF_CALL) || in->src != 0)
			continue;
		uint32_t id = (uint32_t)in->imm;
		if (id < p->nhelpers && p->helpers[id])
			continue;
		skep_helper_fn fn = skep_helper_impl(id);
		if (fn) {
			int err = skep_prog_set_helper(p, id, fn);
			if (err)
				return err;
		}
	}
	return 0;
}

int skep_prog_bind_helpers(skep_prog *p)
{
	return p->insns ? prog_bind_helpers(p) : 0;
}

/* ---- read-only queries for tools (skep feature probe) */

const char *skep_helper_name(uint32_t id)
{
	const struct skep_helper_proto *p = skep_helper_proto(id);
	return p ? p->name : id < SKEP_HELPER_USER_BASE ? isa_helper_name((int32_t)id) : NULL;
}

int skep_helper_runs(uint32_t id)
{
	return id == SKEP_HELPER_TAIL_CALL || skep_helper_impl(id) != NULL;  /* tail calls: in the engines */
}

uint32_t skep_helper_tail_call_limit(void) { return SKEP_MAX_TAIL_CALLS; }
