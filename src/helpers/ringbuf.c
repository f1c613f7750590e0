/* Ring buffer and perf event output helpers over the map layer's rings. */
#include "helpers.h"
#include "maps/map.h"

#define MAP(r) ((struct skep_map *)(uintptr_t)(r))

HELPER(ringbuf_output) { return RET(map_ringbuf_output(MAP(r1), PTR(r2), r3, r4)); }
HELPER(ringbuf_reserve) { return (uintptr_t)map_ringbuf_reserve(MAP(r1), r2, r3); }
HELPER(ringbuf_submit)
{
	map_ringbuf_submit(PTR(r1), r2);
	return 0;
}
HELPER(ringbuf_discard)
{
	map_ringbuf_discard(PTR(r1), r2);
	return 0;
}
HELPER(ringbuf_query) { return map_ringbuf_query(MAP(r1), r2); }

/* bpf_perf_event_output(ctx, map, flags, data, size): the context is not sampled */
HELPER(perf_event_output) { return RET(map_perf_output(MAP(r2), r3, PTR(r4), r5)); }
