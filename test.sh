#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine and runs every chasqui test.
#   ./test.sh               everything: unit, integration, e2e, fuzz-regression
#   ./test.sh -L unit       one kind (any ctest arguments are passed through)
# Tests are built with AddressSanitizer + UndefinedBehaviorSanitizer in build/test.
set -euo pipefail
cd "$(dirname "$0")"

./scripts/install-deps.sh

jobs=$(nproc 2>/dev/null || echo 2)
cmake -S . -B build/test -DCMAKE_BUILD_TYPE=Debug -DCHASQUI_SANITIZE=ON \
    -DCHASQUI_TESTS=ON >/dev/null
cmake --build build/test -j"$jobs"

./scripts/check-format.sh
./scripts/static-check.sh

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
ctest --test-dir build/test --output-on-failure -j"$jobs" "$@"
