/* Inside the attach layer: what the uprobe core (uprobe.c and friends) offers the
 * USDT and section-name code. */
#ifndef SKEP_ATTACH_INTERNAL_H
#define SKEP_ATTACH_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "skep/attach.h"

/* Hook the instruction at runtime address addr of this process. func_start/func_size
 * bound the enclosing function when known (0/0: unknown; the core then decides whether
 * a patched jump is safe or uses the breakpoint fallback). retprobe as in
 * skep_attach_uprobe. desc is copied (skep_link_desc). 0 or a negative errno with the
 * thread's attach error set. */
int uprobe_attach_at(skep_prog *prog, uint64_t addr, uint64_t func_start, uint64_t func_size,
		     int retprobe, uint64_t cookie, const char *desc, skep_link **link);

/* One link over several (the sites of a USDT probe): destroying it destroys them all,
 * then calls on_destroy(arg) (e.g. to decrement a semaphore). Takes ownership of
 * links[0..n) (the array is copied). */
int link_group_new(skep_link **links, size_t n, const char *desc, void (*on_destroy)(void *),
		   void *arg, skep_link **out);

/* Set this thread's attach error (printf style); returns -err for convenience. */
int attach_error(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
