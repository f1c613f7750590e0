/* Robust cross-process locks and wake-ups on shared words.
 *
 * A lock word holds its owner's thread id.  A waiter spins, then yields, and every
 * so often checks whether the owner still exists; if not (the process died holding
 * it), it takes the lock over with a compare-and-swap from the dead id, so exactly
 * one waiter wins.  Caveats, documented: ids are those of the owner's pid namespace
 * (processes sharing a map must share it), and an owner id equal to our own means a
 * stale lock (our code never nests one lock), which we take over too. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <linux/futex.h>
#endif

#include "maps/map.h"

__thread uint32_t map_tid_cache;
uint64_t map_lock_recoveries;
static pthread_once_t tid_once = PTHREAD_ONCE_INIT;

static void tid_reset(void) { map_tid_cache = 0; }  /* the child of fork has a new id */
static void tid_init(void) { pthread_atfork(NULL, NULL, tid_reset); }

uint32_t map_tid_slow(void)
{
	pthread_once(&tid_once, tid_init);
	map_tid_cache = (uint32_t)syscall(SYS_gettid);
	return map_tid_cache;
}

static int owner_dead(uint32_t owner, uint32_t self)
{
	if (owner == self)
		return 1;
	return kill((pid_t)owner, 0) < 0 && errno == ESRCH;
}

int map_tid_alive(uint32_t tid)
{
	int saved = errno, alive = !(kill((pid_t)tid, 0) < 0 && errno == ESRCH);
	errno = saved;
	return alive;
}

int map_lock_slow(map_lock_t *l, uint32_t tid)
{
	for (unsigned spins = 1;; spins++) {
		uint32_t cur = __atomic_load_n(l, __ATOMIC_RELAXED);
		if (cur == 0) {
			if (__atomic_compare_exchange_n(l, &cur, tid, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
				return 0;
			continue;
		}
		if (spins < 64) {
#if defined(__x86_64__) || defined(__i386__)
			__builtin_ia32_pause();
#endif
			continue;
		}
		if ((spins & 63) == 0 && owner_dead(cur, tid)) {
			int saved = errno;
			if (__atomic_compare_exchange_n(l, &cur, tid, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
				__atomic_fetch_add(&map_lock_recoveries, 1, __ATOMIC_RELAXED);
				errno = saved;
				return 1;
			}
			errno = saved;
			continue;
		}
		sched_yield();
	}
}

#ifdef __linux__
void map_wake(uint32_t *word)
{
	__atomic_fetch_add(word, 1, __ATOMIC_RELEASE);
	syscall(SYS_futex, word, FUTEX_WAKE, INT32_MAX, NULL, NULL, 0);
}

int map_wait(uint32_t *word, uint32_t seen, int timeout_ms)
{
	struct timespec ts, *tp = NULL;
	if (timeout_ms >= 0) {
		ts.tv_sec = timeout_ms / 1000;
		ts.tv_nsec = (long)(timeout_ms % 1000) * 1000000L;
		tp = &ts;
	}
	if (syscall(SYS_futex, word, FUTEX_WAIT, seen, tp, NULL, 0) < 0) {
		if (errno == ETIMEDOUT)
			return -ETIMEDOUT;
		if (errno == EINTR)
			return -EINTR;
	}
	return 0;
}
#else
void map_wake(uint32_t *word) { __atomic_fetch_add(word, 1, __ATOMIC_RELEASE); }

int map_wait(uint32_t *word, uint32_t seen, int timeout_ms)
{
	struct timespec ts = { 0, 1000000L };
	for (int waited = 0; timeout_ms < 0 || waited < timeout_ms; waited++) {
		if (__atomic_load_n(word, __ATOMIC_ACQUIRE) != seen)
			return 0;
		nanosleep(&ts, NULL);
	}
	return -ETIMEDOUT;
}
#endif
