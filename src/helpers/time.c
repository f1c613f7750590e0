/* Time helpers: the kernel's clocks are the same clocks in user space. */
#include <time.h>

#include "helpers.h"

static inline uint64_t clk(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

HELPER(ktime_get_ns) { return clk(CLOCK_MONOTONIC); }
HELPER(ktime_get_boot_ns) { return clk(CLOCK_BOOTTIME); }
HELPER(ktime_get_coarse_ns) { return clk(CLOCK_MONOTONIC_COARSE); }
HELPER(ktime_get_tai_ns) { return clk(CLOCK_TAI); }

/* jiffies_64: ticks of 1/HZ since boot, starting at INITIAL_JIFFIES ((u32)(-300 * HZ)),
 * so that 32-bit jiffies wrap five minutes after boot. The coarse clock's resolution is
 * the tick (TICK_NSEC), which gives HZ; the count is the coarse monotonic clock's. */
HELPER(jiffies64)
{
	static uint64_t tick;
	uint64_t t = __atomic_load_n(&tick, __ATOMIC_RELAXED);
	if (!t) {
		struct timespec res;
		t = clock_getres(CLOCK_MONOTONIC_COARSE, &res) || res.tv_sec || !res.tv_nsec
			    ? 4000000u : (uint64_t)res.tv_nsec;
		__atomic_store_n(&tick, t, __ATOMIC_RELAXED);
	}
	uint64_t hz = 1000000000u / t;
	return (uint64_t)(uint32_t)(-300 * (int64_t)hz) + clk(CLOCK_MONOTONIC_COARSE) / t;
}
