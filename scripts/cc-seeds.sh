#!/usr/bin/env bash
# On how many draws of the link's dice each of the estimator's simulated scenarios holds
# (tests/cc/test_estimator.c runs each on one seed; CQ_CC_SEED picks another):
#   scripts/cc-seeds.sh [BINARY] [SEEDS]
# BINARY: the built test (default build/test/tests/cc/cc_test_estimator); SEEDS: how many,
# from 1 (default 40). Prints, per scenario, the seeds it failed on; exits 0 either way:
# this measures, the unit test asserts. A change to cc/estimator.c is compared by running
# it before and after (docs/E2E.md, "The estimator's simulations over seeds").
set -uo pipefail
bin=${1:-build/test/tests/cc/cc_test_estimator}
seeds=${2:-40}
[ -x "$bin" ] || { echo "cc-seeds: no test binary at $bin" >&2; exit 2; }
declare -A failed
names=()
fail() { # scenario seed
    [ -n "${failed[$1]+x}" ] || names+=("$1")
    failed[$1]+=" $2"
}
for ((seed = 1; seed <= seeds; seed++)); do
    # A binary that dies (a sanitizer's abort, a signal cmocka does not catch) or hangs
    # names no scenario: it counts against the seed as a whole.
    out=$(CQ_CC_SEED=$seed timeout 120 "$bin" 2>&1)
    rc=$?
    mapfile -t bad < <(sed -n 's/^\[  FAILED  \] \(test_[a-z0-9_]*\)$/\1/p' <<<"$out" | sort -u)
    for name in "${bad[@]}"; do fail "$name" "$seed"; done
    [ "$rc" = 0 ] || [ ${#bad[@]} -gt 0 ] || fail "(the binary: exit $rc)" "$seed"
done
echo "cc-seeds: $seeds seeds of $(basename "$bin")"
if [ ${#names[@]} -eq 0 ]; then
    echo "cc-seeds: every scenario held on every seed"
    exit 0
fi
for name in "${names[@]}"; do
    n=$(wc -w <<<"${failed[$name]}")
    echo "cc-seeds: $name failed on $n of $seeds:${failed[$name]}"
done
