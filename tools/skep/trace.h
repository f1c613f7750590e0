/* skep trace: printing what a session collected (trace_print.c), shared with
 * cmd_trace.c. */
#ifndef SKEP_TOOL_TRACE_H
#define SKEP_TOOL_TRACE_H

#include <stdint.h>
#include <stdio.h>

#include "json.h"
#include "skep/btf.h"
#include "skep/object.h"

struct trace_out {
	FILE *f;
	int json;
	struct json j;
};

/* Every printable map of obj (see cmd_trace.c for which, and the histogram rule);
 * elapsed: seconds since the command started; final: the dump at exit. */
void trace_dump_maps(struct trace_out *o, const skep_object *obj, double elapsed, int final);
/* Whether the map is printed as log2 histograms, and how: 1 the key is the slot,
 * 2 the value is an array of slots (one histogram per key); 0 not a histogram (also
 * when BTF says the value is neither an integer nor an array). */
int trace_hist_kind(const skep_object *obj, const skep_object_map *m);
/* One ring or perf buffer record, by the BTF struct "<map>_event" or "event" if the object has
 * one that fits, else as hex bytes; kind: "ringbuf" or "perf" (JSON's "type"). */
void trace_print_record(struct trace_out *o, const skep_object *obj, const char *kind, const char *map,
			const void *data, size_t size);

/* A value on one line: the JSON form of its BTF type, or hex bytes without one. */
void trace_value_line(FILE *f, const struct skep_btf *btf, uint32_t type_id, const void *data, size_t size);

/* symbolize.c: call sites as "func+0x1a (path)". sym_capture keeps the text of
 * /proc/PID/maps (the last non-empty one) so addresses still resolve after PID exits;
 * sym_format writes the symbol of a user address (0) or returns -1 when no captured
 * mapping holds it; sym_is_site_name: whether a map's name says its keys are call
 * sites (see trace_print.c). */
void sym_capture(int pid);
int sym_format(uint64_t addr, char *buf, size_t len);
int sym_is_site_name(const char *name);
void sym_free(void);

#endif
