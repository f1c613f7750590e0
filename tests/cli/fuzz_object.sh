#!/usr/bin/env bash
# The libFuzzer target for opening ELF objects from memory (fuzz/fuzz_object.c), built
# with clang-14 under ASan + UBSan and run for a bounded time (FUZZ_SECONDS, default
# 60; make fuzz runs longer), seeded with the test objects beside $SKEP.
set -u
SKEP=${SKEP:-build/skep}
cd "$(dirname "$0")/../.."
seeds=$(cd "$(dirname "$SKEP")" && pwd)/objects
if ! make -s -C fuzz all >build/fuzz-build.log 2>&1; then
	tail -20 build/fuzz-build.log
	echo "FAIL fuzz build: see build/fuzz-build.log"
	echo "summary: 0 passed, 1 failed, 0 skipped"
	exit 1
fi
if make -s -C fuzz run FUZZ_SECONDS="${FUZZ_SECONDS:-60}" SEEDS="$seeds"; then
	echo "summary: 1 passed, 0 failed, 0 skipped"
else
	echo "FAIL fuzz_object: a crash, leak or sanitizer report (artifacts in build/fuzz/)"
	echo "summary: 0 passed, 1 failed, 0 skipped"
	exit 1
fi
