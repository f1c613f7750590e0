/* Map helpers: r1 is the struct skep_map * a lddw map_fd resolved to (maprefs.c); the
 * map layer's fast paths return the kernel's values and errno. */
#include "helpers.h"
#include "maps/map.h"

#define MAP(r) ((struct skep_map *)(uintptr_t)(r))

HELPER(map_lookup_elem) { return (uintptr_t)map_lookup_fast(MAP(r1), PTR(r2)); }
HELPER(map_update_elem) { return RET(map_update_fast(MAP(r1), PTR(r2), PTR(r3), r4)); }
HELPER(map_delete_elem) { return RET(map_delete_fast(MAP(r1), PTR(r2))); }
HELPER(map_push_elem) { return RET(map_push_fast(MAP(r1), PTR(r2), r3)); }
HELPER(map_pop_elem) { return RET(map_pop_fast(MAP(r1), PTR(r2))); }
HELPER(map_peek_elem) { return RET(map_peek_fast(MAP(r1), PTR(r2))); }

/* cpu >= the possible CPUs gives NULL, as the kernel's nr_cpu_ids check */
HELPER(map_lookup_percpu_elem)
{
	return r3 > UINT32_MAX ? 0 : (uintptr_t)map_lookup_percpu_fast(MAP(r1), PTR(r2), (uint32_t)r3);
}

/* struct bpf_spin_lock is the map layer's robust lock word (works across processes) */
HELPER(spin_lock)
{
	map_lock((map_lock_t *)PTR(r1));
	return 0;
}

HELPER(spin_unlock)
{
	map_unlock((map_lock_t *)PTR(r1));
	return 0;
}
