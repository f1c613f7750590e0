/* A tiny test harness: every test program counts its checks and ends with
 * "summary: P passed, F failed, S skipped", which tests/run.sh adds up. */
#ifndef SKEP_TEST_CHECK_H
#define SKEP_TEST_CHECK_H

#include <stdio.h>

extern int t_passed, t_failed, t_skipped;
extern int t_verbose;

/* One named test: passes if cond, else prints the formatted reason. */
void t_result(int cond, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void t_skip(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Print the summary line; returns the exit status for main. */
int t_done(void);
/* Directory of the source tree (SKEP_ROOT or "."), for finding test data. */
const char *t_root(void);

#define CHECK(cond, name, ...) t_result((cond), (name), __VA_ARGS__)

#endif
