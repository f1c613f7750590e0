/* What `skep trace` (tools/skep/cmd_trace.c) and its agent (libskep-agent.so, preloaded
 * into the traced command) agree on: the environment that arms the agent, the names
 * the session pins its maps under, and the messages the agent sends back.
 *
 * A session is a directory of its own under the pin directory (skep_map_pin_dir(),
 * e.g. /dev/shm/skep-trace.Ab12Cd); SKEP_PIN_DIR points both processes at it, so every
 * pin name below is unique to the session. */
#ifndef SKEP_AGENT_PROTO_H
#define SKEP_AGENT_PROTO_H

#include <stdint.h>

#define AGENT_ENV_OBJ   "SKEP_TRACE_OBJ"    /* absolute path of the BPF object */
#define AGENT_ENV_SPECS "SKEP_TRACE_SPECS"  /* attach specs, one per line: see below */
#define AGENT_ENV_FIRST "SKEP_TRACE_FIRST"  /* pid of the process skep started */
#define AGENT_ENV_ROOT  "SKEP_TRACE_ROOT"   /* --pid-filter: the only pid that arms */
#define AGENT_ENV_PIPE  "SKEP_TRACE_PIPE"   /* read by libskep: the shared trace pipe */

#define AGENT_PIN_PIPE  "trace_pipe"        /* the trace pipe's pin name */
#define AGENT_PIN_MSGS  "agent"             /* the message queue's pin name */
#define AGENT_PIN_MAP   "map."              /* + the object map's name */

/* A spec line: "uprobe PROG PATH:SYMBOL[+OFF]", "uretprobe PROG PATH:SYMBOL[+OFF]" or
 * "usdt PROG PATH:PROVIDER:NAME" (PATH absolute, or a soname / base name). */

/* Messages: a QUEUE map of these (the agent pushes, skep pops). */
enum agent_msg_kind {
	AGENT_READY = 1,   /* text: what was attached ("attached 2: uprobe:...") */
	AGENT_ERROR,       /* the agent could not arm: text says why */
};
struct agent_msg {
	int32_t pid;
	int32_t kind;
	int32_t err;       /* negative errno for AGENT_ERROR */
	int32_t first;     /* sent by the process skep started */
	char text[496];
};
#define AGENT_MSGS_MAX 1024

#endif
