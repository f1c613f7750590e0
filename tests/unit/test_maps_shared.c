/* Maps shared between processes: pinning, opening, concurrent atomic adds from two
 * processes and several threads (exact totals), concurrent hash inserts/deletes,
 * and recovery of locks whose owner died. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "maps/map.h"
#include "skep/map.h"

#define ADDS 200000
#define NKEYS 8

static char pin_arr[64], pin_hash[64];

struct adder { skep_map *arr, *hash; int seed; };

/* Atomic adds through the program-side fast path (a pointer into the shared mapping). */
static void *add_loop(void *p)
{
	struct adder *a = p;
	for (int i = 0; i < ADDS; i++) {
		uint32_t k = (uint32_t)(i + a->seed) % NKEYS;
		uint64_t *v = map_lookup_fast(a->arr, &k);
		__atomic_fetch_add(v, 1, __ATOMIC_RELAXED);
		uint64_t *h = map_lookup_fast(a->hash, &k);
		__atomic_fetch_add(h, 2, __ATOMIC_RELAXED);
	}
	return NULL;
}

static int child_adds(void)
{
	skep_map *arr = skep_map_open_pinned(pin_arr), *hash = skep_map_open_pinned(pin_hash);
	if (!arr || !hash)
		return 10;
	pthread_t t[2];
	struct adder a[2] = { { arr, hash, 3 }, { arr, hash, 5 } };
	for (int i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, add_loop, &a[i]);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	skep_map_close(arr);
	skep_map_close(hash);
	return 0;
}

static void cross_process_adds(void)
{
	skep_map *arr = skep_map_create(SKEP_MAP_TYPE_ARRAY, "adds", 4, 8, NKEYS, NULL);
	skep_map *hash = skep_map_create(SKEP_MAP_TYPE_HASH, "hadds", 4, 8, 64, NULL);
	CHECK(arr && hash, "create shared maps", "%s", skep_map_error(NULL));
	if (!arr || !hash)
		return;
	uint64_t zero = 0;
	for (uint32_t k = 0; k < NKEYS; k++)
		skep_map_update_elem(hash, &k, &zero, SKEP_NOEXIST);
	CHECK(skep_map_pin(arr, pin_arr) == 0 && skep_map_pin(hash, pin_hash) == 0, "pin", "%s", skep_map_error(arr));
	pid_t pid = fork();
	if (pid == 0)
		_exit(child_adds());
	pthread_t t[2];
	struct adder a[2] = { { arr, hash, 0 }, { arr, hash, 1 } };
	for (int i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, add_loop, &a[i]);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	int st = 0;
	waitpid(pid, &st, 0);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child process", "status 0x%x", st);
	uint64_t sa = 0, sh = 0, v;
	for (uint32_t k = 0; k < NKEYS; k++) {
		skep_map_lookup_elem(arr, &k, &v);
		sa += v;
		skep_map_lookup_elem(hash, &k, &v);
		sh += v;
	}
	CHECK(sa == 4ull * ADDS, "array: 2 processes x 2 threads of atomic adds", "total %llu, want %llu",
	      (unsigned long long)sa, 4ull * ADDS);
	CHECK(sh == 8ull * ADDS, "hash: 2 processes x 2 threads of atomic adds", "total %llu, want %llu",
	      (unsigned long long)sh, 8ull * ADDS);
	/* a second process sees the pin's metadata */
	skep_map *again = skep_map_open_pinned(pin_hash);
	struct skep_map_info info;
	CHECK(again && skep_map_get_info(again, &info) == 0 && info.type == SKEP_MAP_TYPE_HASH && info.key_size == 4 &&
	      info.value_size == 8 && info.max_entries == 64 && !strcmp(info.name, "hadds") &&
	      info.id == skep_map_uid(hash), "open pinned: header", "type %u", again ? info.type : 0);
	skep_map_close(again);
	CHECK(skep_map_pin(arr, pin_arr) == -EEXIST, "pin twice: EEXIST", "%s", skep_map_error(arr));
	CHECK(skep_map_unpin(pin_arr) == 0 && skep_map_unpin(pin_hash) == 0, "unpin", "%s", skep_map_error(NULL));
	CHECK(skep_map_unpin(pin_arr) == -ENOENT, "unpin missing: ENOENT", "%s", "failed");
	skep_map_close(arr);
	skep_map_close(hash);
}

/* Two processes insert and delete their own keys in one small hash map while looking
 * up each other's: no key is lost, none duplicated, the count stays exact. */
static int churn(skep_map *m, uint32_t base, int rounds)
{
	for (int r = 0; r < rounds; r++) {
		for (uint32_t k = 0; k < 50; k++) {
			uint32_t key = base + k;
			uint64_t v = key * 3ull;
			if (skep_map_update_elem(m, &key, &v, SKEP_NOEXIST))
				return 1;
		}
		for (uint32_t k = 0; k < 50; k++) {
			uint32_t key = base + k;
			uint64_t *v = map_lookup_fast(m, &key);
			if (!v || *v != key * 3ull)
				return 2;
			uint64_t nv = key * 3ull;
			if (skep_map_update_elem(m, &key, &nv, SKEP_EXIST))   /* replace: new element, old freed */
				return 4;
		}
		for (uint32_t k = 0; k < 50; k++) {
			uint32_t key = base + k;
			if (skep_map_delete_elem(m, &key))
				return 3;
		}
	}
	return 0;
}

static void cross_process_churn(void)
{
	skep_map *m = skep_map_create(SKEP_MAP_TYPE_HASH, "churn", 4, 8, 128, NULL);
	if (!m)
		return;
	pid_t pid = fork();
	if (pid == 0)
		_exit(churn(m, 1000, 300));   /* the child inherits the shared mapping */
	int mine = churn(m, 5000, 300), st = 0;
	waitpid(pid, &st, 0);
	CHECK(mine == 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "two processes insert/replace/delete",
	      "parent %d, child status 0x%x", mine, st);
	uint32_t k;
	CHECK(skep_map_get_next_key(m, NULL, &k) == -ENOENT, "map empty afterwards", "a key is left");
	skep_map_close(m);
}

/* A child takes a lock and dies: the next locker takes it over. */
static void owner_death(void)
{
	struct skep_map_create_opts o = { .sz = sizeof o, .has_spin_lock = 1, .spin_lock_off = 0 };
	skep_map *m = skep_map_create(SKEP_MAP_TYPE_ARRAY, "locked", 4, 16, 2, &o);
	skep_map *q = skep_map_create(SKEP_MAP_TYPE_QUEUE, "lq", 0, 8, 4, NULL);
	CHECK(m && q, "create lock maps", "%s", skep_map_error(NULL));
	if (!m || !q)
		return;
	uint32_t k = 1;
	pid_t pid = fork();
	if (pid == 0) {
		map_lock(map_lookup_fast(m, &k));   /* the value's bpf_spin_lock */
		map_lock((map_lock_t *)q->ctl);      /* the queue's own lock */
		_exit(0);                            /* dies holding both */
	}
	int st;
	waitpid(pid, &st, 0);
	uint64_t before = map_lock_recoveries;
	uint8_t v[16] = { 0 }, out[16];
	v[8] = 42;
	int r = skep_map_update_elem(m, &k, v, SKEP_F_LOCK);
	int r2 = skep_map_lookup_elem_flags(m, &k, out, SKEP_F_LOCK);
	CHECK(r == 0 && r2 == 0 && out[8] == 42 && !out[0], "value lock of a dead process is recovered",
	      "update %d lookup %d", r, r2);
	uint64_t x = 7;
	CHECK(skep_map_update_elem(q, NULL, &x, 0) == 0 && skep_map_lookup_and_delete_elem(q, NULL, &x) == 0 && x == 7,
	      "queue lock of a dead process is recovered", "%s", skep_map_error(q));
	CHECK(map_lock_recoveries - before == 2, "recoveries counted", "%llu",
	      (unsigned long long)(map_lock_recoveries - before));
	skep_map_close(m);
	skep_map_close(q);
}

/* Children killed (SIGKILL) at random points while updating: afterwards the maps
 * still work, hold no more than max_entries, and their iteration agrees with their
 * element count; a ring buffer record reserved by a dead producer is discarded. */
static void busy_child(skep_map *m, int kind)
{
	uint64_t s = (uint64_t)getpid() * 2654435761u;
	for (;;) {
		s = s * 6364136223846793005ull + 1;
		uint32_t k = (uint32_t)(s >> 33) % 300;
		uint64_t v = k;
		if (kind == 0 || kind == 1) {
			skep_map_update_elem(m, &k, &v, SKEP_ANY);
			if (s & 1)
				skep_map_delete_elem(m, &k);
		} else if (kind == 2) {
			skep_map_update_elem(m, NULL, &v, SKEP_EXIST);
			skep_map_lookup_and_delete_elem(m, NULL, &v);
		} else {
			void *r = map_ringbuf_reserve(m, 16, 0);
			if (r)
				map_ringbuf_submit(r, 0);
		}
	}
}

static int count_cb(void *ctx, void *d, size_t n) { ++*(int *)ctx; return 0; }

static void killed_writers(void)
{
	static const uint32_t types[] = { SKEP_MAP_TYPE_HASH, SKEP_MAP_TYPE_LRU_HASH, SKEP_MAP_TYPE_QUEUE, SKEP_MAP_TYPE_RINGBUF };
	static const char *names[] = { "hash", "lru_hash", "queue", "ringbuf" };
	for (int t = 0; t < 4; t++) {
		skep_map *m = t == 2 ? skep_map_create(types[t], "kq", 0, 8, 50, NULL)
			    : t == 3 ? skep_map_create(types[t], "kr", 0, 0, 4096, NULL)
				     : skep_map_create(types[t], "kh", 4, 8, 100, NULL);
		if (!m)
			continue;
		int got = 0;
		skep_ringbuf_consumer *rc = t == 3 ? skep_ringbuf_consumer_new(m, count_cb, &got) : NULL;
		uint64_t rec0 = map_lock_recoveries;
		for (int round = 0; round < 12; round++) {
			pid_t pid = fork();
			if (pid == 0) {
				busy_child(m, t);
				_exit(0);
			}
			for (int i = 0; i < 3 + round % 5; i++) {
				usleep(1000 + (useconds_t)(round * 397 % 2000));
				if (rc)
					skep_ringbuf_consumer_consume(rc);
			}
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
		}
		char name[96];
		alarm(20);   /* a hang fails the test instead of blocking the suite */
		int ok = 1;
		if (t <= 1) {
			for (uint32_t k = 0; k < 300; k++) {
				uint64_t v = k;
				ok &= skep_map_update_elem(m, &k, &v, SKEP_ANY) == 0 || t == 0;
			}
			uint32_t n = 0, a, b;
			const void *prev = NULL;
			while (skep_map_get_next_key(m, prev, &b) == 0 && n < 1000)
				a = b, prev = &a, n++;
			ok &= n <= 100 && (t == 0 || n == map_hash_count(m));
		} else if (t == 2) {
			uint64_t v = 1;
			for (int i = 0; i < 100; i++)
				ok &= skep_map_update_elem(m, NULL, &v, SKEP_EXIST) == 0;
			ok &= skep_map_lookup_and_delete_elem(m, NULL, &v) == 0;
		} else {
			/* deterministic: a producer dies between reserve and submit */
			pid_t pid = fork();
			if (pid == 0) {
				skep_ringbuf_consumer_consume(rc);
				_exit(map_ringbuf_reserve(m, 8, 0) == NULL);
			}
			waitpid(pid, NULL, 0);
			uint64_t v = 42;
			ok &= map_ringbuf_output(m, &v, 8, 0) == 0;
			got = 0;
			for (int i = 0; i < 10 && got == 0; i++)
				skep_ringbuf_consumer_poll(rc, 10);
			ok &= got == 1;
		}
		alarm(0);
		snprintf(name, sizeof name, "%s survives writers killed mid-update (%llu locks recovered)", names[t],
			 (unsigned long long)(map_lock_recoveries - rec0));
		CHECK(ok, name, "invariants broken after kills: %s", skep_map_error(m));
		skep_ringbuf_consumer_free(rc);
		skep_map_close(m);
	}
}

/* When the shared-memory filesystem is full: creation says ENOMEM, and a map that is
 * not preallocated says ENOMEM on insert; nothing dies of SIGBUS.  Runs in a child
 * with its own mount namespace and a 1 MiB tmpfs as the pin directory. */
static int small_tmpfs_child(const char *dir)
{
	if (unshare(CLONE_NEWNS) || mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	    mount("tmpfs", dir, "tmpfs", 0, "size=1m"))
		return 77;
	setenv("SKEP_PIN_DIR", dir, 1);
	errno = 0;
	skep_map *pre = skep_map_create(SKEP_MAP_TYPE_HASH, "pre", 4, 1000, 4000, NULL);
	if (pre || errno != ENOMEM)
		return 1;
	skep_map *lazy = skep_map_create(SKEP_MAP_TYPE_HASH, "lazy", 4, 1000, 4000,
					 &(struct skep_map_create_opts){ .sz = sizeof(struct skep_map_create_opts),
									.map_flags = SKEP_F_NO_PREALLOC });
	if (!lazy)
		return 2;
	uint8_t v[1000] = { 1 };
	int r = 0;
	uint32_t k;
	for (k = 0; k < 4000 && (r = skep_map_update_elem(lazy, &k, v, 0)) == 0; k++)
		;
	if (r != -ENOMEM || k < 100 || k >= 1100)
		return 3;
	k = 5;   /* what is there still works */
	if (skep_map_lookup_elem(lazy, &k, v) || skep_map_delete_elem(lazy, &k) || skep_map_update_elem(lazy, &k, v, 0))
		return 4;
	skep_map_close(lazy);
	return 0;
}

static void full_shm(void)
{
	char dir[] = "/tmp/skep-shm-XXXXXX";
	if (!mkdtemp(dir)) {
		t_skip("full shared memory", "mkdtemp failed");
		return;
	}
	pid_t pid = fork();
	if (pid == 0)
		_exit(small_tmpfs_child(dir));
	int st = 0;
	waitpid(pid, &st, 0);
	rmdir(dir);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 77) {
		t_skip("full shared memory", "cannot mount a small tmpfs here (needs root)");
		return;
	}
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "full shared memory: ENOMEM, never SIGBUS", "child status 0x%x", st);
}

static void bad_pins(void)
{
	char name[64], path[256];
	snprintf(name, sizeof name, "t%d-junk", (int)getpid());
	errno = 0;
	CHECK(!skep_map_open_pinned(name) && errno == ENOENT, "open missing pin: ENOENT", "errno %d", errno);
	CHECK(strstr(skep_map_error(NULL), name) != NULL, "open missing pin: message names it", "%s",
	      skep_map_error(NULL));
	snprintf(path, sizeof path, "%s/skep-%s", skep_map_pin_dir(), name);
	int fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0600);
	char junk[4096];
	memset(junk, 'x', sizeof junk);
	CHECK(fd >= 0 && write(fd, junk, sizeof junk) == (ssize_t)sizeof junk, "write junk file", "%s", "failed");
	close(fd);
	errno = 0;
	CHECK(!skep_map_open_pinned(name) && errno == EINVAL, "open a file that is not a map: EINVAL", "errno %d (%s)",
	      errno, skep_map_error(NULL));
	fd = open(path, O_RDWR | O_TRUNC);
	close(fd);
	errno = 0;
	CHECK(!skep_map_open_pinned(name) && errno == EINVAL, "open an empty file: EINVAL", "errno %d", errno);
	unlink(path);
	skep_map *m = skep_map_create(SKEP_MAP_TYPE_ARRAY, NULL, 4, 4, 1, NULL);
	CHECK(skep_map_pin(m, "") == -EINVAL && skep_map_pin(m, "a/b") == -EINVAL && skep_map_pin(m, "..") == -EINVAL,
	      "bad pin names: EINVAL", "%s", skep_map_error(m));
	/* a pinned map outlives its creator's handle */
	snprintf(name, sizeof name, "t%d-keep", (int)getpid());
	uint32_t k = 0, v = 77, out = 0;
	skep_map_update_elem(m, &k, &v, 0);
	skep_map_pin(m, name);
	skep_map_close(m);
	m = skep_map_open_pinned(name);
	CHECK(m && skep_map_lookup_elem(m, &k, &out) == 0 && out == 77, "pinned map outlives its handles", "%s", "failed");
	skep_map *d = m ? skep_map_dup(m) : NULL;
	CHECK(d && skep_map_lookup_elem(d, &k, &out) == 0 && out == 77 && skep_map_id(d) != skep_map_id(m),
	      "dup handle", "%s", "failed");
	skep_map_close(d);
	skep_map_close(m);
	skep_map_unpin(name);
	/* a header from a future version is refused */
	m = skep_map_create(SKEP_MAP_TYPE_ARRAY, NULL, 4, 4, 1, NULL);
	snprintf(name, sizeof name, "t%d-ver", (int)getpid());
	skep_map_pin(m, name);
	m->hdr->version = 99;
	errno = 0;
	CHECK(!skep_map_open_pinned(name) && errno == EINVAL && strstr(skep_map_error(NULL), "version"),
	      "other version refused", "%s", skep_map_error(NULL));
	m->hdr->version = MAP_VERSION;
	m->hdr->max_entries = 1000;   /* attributes that do not give the object's size */
	errno = 0;
	CHECK(!skep_map_open_pinned(name) && errno == EINVAL && strstr(skep_map_error(NULL), "inconsistent"),
	      "inconsistent header refused", "%s", skep_map_error(NULL));
	m->hdr->max_entries = 1;
	skep_map *again = skep_map_open_pinned(name);
	CHECK(again != NULL, "repaired header opens again", "%s", skep_map_error(NULL));
	skep_map_close(again);
	skep_map_close(m);
	skep_map_unpin(name);
}

int main(void)
{
	snprintf(pin_arr, sizeof pin_arr, "t%d-arr", (int)getpid());
	snprintf(pin_hash, sizeof pin_hash, "t%d-hash", (int)getpid());
	cross_process_adds();
	cross_process_churn();
	owner_death();
	killed_writers();
	full_shm();
	bad_pins();
	return t_done();
}
