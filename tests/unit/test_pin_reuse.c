/* skep_object_map_set_pin_name: what `skep trace` shares its maps with the traced
 * process by (libbpf's bpf_map__set_pin_path reuse). Two loads of the same object with
 * the same pin names share every map, global data included, and the second load does
 * not reset the first one's contents; a pinned map with other parameters is refused;
 * a pin name cannot change after load. Objects: $(O)/examples/{funclatency,bashreadline}.o. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "skep/map.h"
#include "skep/object.h"

static char dir[512], pindir[256];

static skep_object *load(const char *name, const char *prefix, int *rc)
{
	char path[700], pin[300];
	snprintf(path, sizeof path, "%s/%s.o", dir, name);
	skep_object *obj = NULL;
	*rc = skep_object_open_file(path, NULL, &obj);
	if (*rc)
		return NULL;
	for (skep_object_map *m = NULL; (m = skep_object_next_map(obj, m));) {
		snprintf(pin, sizeof pin, "%s%s", prefix, skep_object_map_name(m));
		CHECK(skep_object_map_set_pin_name(m, pin) == 0, "set_pin_name before load", "%s", pin);
	}
	*rc = skep_object_load(obj);
	return obj;
}

int main(int argc, char **argv)
{
	const char *s = strrchr(argv[0], '/');
	snprintf(dir, sizeof dir, "%.*s/../examples", s ? (int)(s - argv[0]) : 1, s ? argv[0] : ".");
	snprintf(pindir, sizeof pindir, "/dev/shm/skep-pin-reuse.%d", (int)getpid());
	if (mkdir(pindir, 0700)) {
		CHECK(0, "pin directory", "%s", pindir);
		return t_done();
	}
	setenv("SKEP_PIN_DIR", pindir, 1);

	int rc1, rc2;
	skep_object *a = load("funclatency", "t.", &rc1), *b = load("funclatency", "t.", &rc2);
	CHECK(rc1 == 0 && rc2 == 0, "the same object loads twice with the same pins", "%d %d: %s", rc1, rc2,
	      skep_object_error(rc1 ? a : b));
	if (!rc1 && !rc2) {
		skep_map *ma = skep_object_map_handle(skep_object_find_map_by_name(a, "calls"));
		skep_map *mb = skep_object_map_handle(skep_object_find_map_by_name(b, "calls"));
		uint32_t k = 0;
		uint64_t v = 41, got = 0;
		CHECK(skep_map_update_elem(ma, &k, &v, 0) == 0, "update through the first", "%s", skep_map_error(ma));
		CHECK(skep_map_lookup_elem(mb, &k, &got) == 0 && got == 41, "the second sees it: one map", "%llu",
		      (unsigned long long)got);
		skep_map *ha = skep_object_map_handle(skep_object_find_map_by_name(a, "start"));
		skep_map *hb = skep_object_map_handle(skep_object_find_map_by_name(b, "start"));
		uint32_t tid = 7;
		uint64_t ts = 123;
		skep_map_update_elem(hb, &tid, &ts, 0);
		got = 0;
		CHECK(skep_map_lookup_elem(ha, &tid, &got) == 0 && got == 123, "hash maps shared both ways", "%llu",
		      (unsigned long long)got);
		CHECK(skep_object_map_set_pin_name(skep_object_find_map_by_name(a, "calls"), "x") == -EBUSY,
		      "no pin name change after load", "calls");
	}
	skep_object_close(a);
	skep_object_close(b);

	/* global data: the second load keeps what the first one's user wrote */
	a = load("bashreadline", "g.", &rc1);
	CHECK(rc1 == 0, "an object with .bss loads with pins", "%s", skep_object_error(a));
	size_t sz = 0;
	uint64_t *bss = rc1 ? NULL : skep_object_bss(a, &sz);
	CHECK(bss && sz >= 8, ".bss mapped after load", "%p %zu", (void *)bss, sz);
	if (bss && sz >= 8) {
		bss[0] = 0x5eed;
		b = load("bashreadline", "g.", &rc2);
		uint64_t *bss2 = rc2 ? NULL : skep_object_bss(b, &sz);
		CHECK(bss2 && bss2[0] == 0x5eed, "a reused .bss is not reset by the second load", "%llx",
		      bss2 ? (unsigned long long)bss2[0] : 0ULL);
		skep_object_close(b);
	}
	skep_object_close(a);

	/* a name pinned with other parameters: refused, naming the map and the pin */
	a = load("funclatency", "t.", &rc1);
	skep_object *c = NULL;
	char path[700];
	snprintf(path, sizeof path, "%s/mallocstacks.o", dir);
	rc2 = skep_object_open_file(path, NULL, &c);
	if (!rc2) {
		skep_object_map_set_pin_name(skep_object_find_map_by_name(c, "sites"), "t.start");
		rc2 = skep_object_load(c);
		CHECK(rc2 == -EINVAL && strstr(skep_object_error(c), "t.start") && strstr(skep_object_error(c), "other parameters"),
		      "a pinned map of another shape is refused", "%d %s", rc2, skep_object_error(c));
	} else {
		CHECK(0, "open mallocstacks.o", "%s", skep_object_error(NULL));
	}
	skep_object_close(c);
	skep_object_close(a);

	char cmd[400];
	snprintf(cmd, sizeof cmd, "rm -rf %s", pindir);
	CHECK(system(cmd) == 0, "cleanup", "%s", pindir);
	return t_done();
}
