#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine and runs every chasqui test.
#   ./test.sh               everything: unit, integration, e2e, fuzz-regression
#   ./test.sh -L unit       one kind (any ctest arguments are passed through)
# Tests are built with AddressSanitizer + UndefinedBehaviorSanitizer in build/test; the
# end-to-end suite's radio and VSAT scenarios run the binaries of build/e2e (no sanitizers).
set -euo pipefail
cd "$(dirname "$0")"

./scripts/install-deps.sh

jobs=$(nproc 2>/dev/null || echo 2)
# The end-to-end suite's timed scenarios run the product as it ships: without sanitizers,
# whose CPU on a two-core machine shows in milliseconds of mouth to ear (docs/E2E.md).
cmake -S . -B build/e2e -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCHASQUI_TESTS=OFF >/dev/null
cmake --build build/e2e -j"$jobs" --target chasqui-relay chasqui-client chasqui-netsim \
    chasqui-ctl
cmake -S . -B build/test -DCMAKE_BUILD_TYPE=Debug -DCHASQUI_SANITIZE=ON \
    -DCHASQUI_TESTS=ON -DCHASQUI_E2E_BIN="$PWD/build/e2e/bin" >/dev/null
cmake --build build/test -j"$jobs"

./scripts/check-format.sh
./scripts/static-check.sh

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
ctest --test-dir build/test --output-on-failure -j"$jobs" "$@"
