/* An embedder-defined program type: a hook an HTTP-like server runs on each request.
 *
 * The program sees struct req_ctx (its own ABI: 32-bit fields, body/body_end as 32-bit
 * "pointers" like xdp_md's data/data_end); the server keeps struct req_real, where the
 * body pointers are 64-bit. Skep rewrites the program's context accesses from one to the
 * other at load. The program may call one helper of the server's, req_log(code). */
#ifndef REQHOOK_H
#define REQHOOK_H

#include <stdint.h>

#include "skep/progtype.h"

#define REQHOOK_PROG_TYPE (SKEP_PROG_TYPE_EMBEDDER_BASE + 1)
#define REQHOOK_HELPER_LOG 0x1010u   /* above SKEP_HELPER_USER_BASE */

/* What the program sees (offsets are the ABI). */
struct req_ctx {
	uint32_t method;       /* 0: 1 = GET, 2 = POST, ... (read) */
	uint32_t client_ip;    /* 4: IPv4, network order (read) */
	uint32_t body;         /* 8: start of the body (read, packet pointer) */
	uint32_t body_end;     /* 12: end of the body (read, packet end) */
	uint32_t status;       /* 16: the verdict, an HTTP status (read/write) */
};

/* What the server passes in r1. */
struct req_real {
	uint64_t body, body_end;
	uint32_t method, client_ip, status, pad;
};

/* Register the type (once). 0 or a negative errno. */
int reqhook_register(void);

/* Codes req_log received (the last 16) and how many. */
extern uint32_t reqhook_log[16];
extern unsigned reqhook_nlog;

#endif
