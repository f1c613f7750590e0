#!/usr/bin/env bash
# Quick start, step 1: install what is missing, build Skep, run the demo.
set -euo pipefail
cd "$(dirname "$0")"
scripts/deps.sh
make -j"$(nproc)" all build/tests/test_diff_kernel >/dev/null
exec examples/demo.sh
