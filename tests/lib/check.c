#include "check.h"

#include <stdarg.h>
#include <stdlib.h>

int t_passed, t_failed, t_skipped;
int t_verbose = -1;

static int verbose(void)
{
	if (t_verbose < 0)
		t_verbose = getenv("SKEP_TEST_VERBOSE") != NULL;
	return t_verbose;
}

void t_result(int cond, const char *name, const char *fmt, ...)
{
	if (cond) {
		t_passed++;
		if (verbose())
			printf("ok   %s\n", name);
		return;
	}
	t_failed++;
	printf("FAIL %s: ", name);
	va_list ap;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

void t_skip(const char *name, const char *fmt, ...)
{
	t_skipped++;
	printf("SKIP %s: ", name);
	va_list ap;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

int t_done(void)
{
	printf("summary: %d passed, %d failed, %d skipped\n", t_passed, t_failed, t_skipped);
	return t_failed ? 1 : 0;
}

const char *t_root(void)
{
	const char *r = getenv("SKEP_ROOT");
	return r && *r ? r : ".";
}
