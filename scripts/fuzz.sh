#!/usr/bin/env bash
# Builds the libFuzzer targets with clang + ASan + UBSan (build/fuzz) and runs each one
# for the given number of seconds (default 60), starting from its committed seed corpus.
# New interesting inputs go to build/fuzz/corpus/<format>/, never into the repository;
# a crash stops the run and leaves crash-* in build/fuzz/artifacts/<format>/: minimise it,
# fix the bug, and commit the input under fuzz/crashers/<format>/ so ctest replays it.
#   scripts/fuzz.sh [seconds] [format...]
# CHASQUI_FUZZ_BUILD names another build directory (default build/fuzz).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
out=${CHASQUI_FUZZ_BUILD:-build/fuzz}

./scripts/install-deps.sh
CC=clang cmake -S . -B "$out" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCHASQUI_FUZZ=ON \
    -DCHASQUI_SANITIZE=ON -DCHASQUI_TESTS=OFF >/dev/null
if [ $# -gt 0 ]; then
    formats=("$@")
    targets=()
    for f in "${formats[@]}"; do targets+=(--target "fuzz_$f"); done
    cmake --build "$out" -j"$(nproc)" "${targets[@]}" >/dev/null
else
    cmake --build "$out" -j"$(nproc)" >/dev/null
    formats=()
    for src in fuzz/fuzz_*.c; do
        f=$(basename "$src" .c)
        formats+=("${f#fuzz_}")
    done
fi

status=0
for f in "${formats[@]}"; do
    mkdir -p "$out/corpus/$f" "$out/artifacts/$f"
    dict=()
    [ -f "fuzz/dict/$f.dict" ] && dict=(-dict="fuzz/dict/$f.dict")
    printf 'fuzz %-12s %ss ... ' "$f" "$seconds"
    if "$out/bin/fuzz_$f" -max_total_time="$seconds" -print_final_stats=1 \
        -artifact_prefix="$out/artifacts/$f/" "${dict[@]}" \
        "$out/corpus/$f" "fuzz/corpus/$f" >"$out/$f.log" 2>&1; then
        runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/$f.log")
        echo "clean, ${runs:-?} runs"
    else
        echo "FINDING (see $out/$f.log and $out/artifacts/$f/)"
        status=1
    fi
done
exit $status
