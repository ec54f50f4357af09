#!/usr/bin/env bash
# chasqui-bench at a low, fixed load (no saturation search): each scenario once, small.
# Asserts what must hold on any machine, however slow or busy: one JSON object with the
# figures issue 8 names; the relay and the limit forwarder forwarded every copy the routing
# asks for (at this load nothing may be lost, so the relay's layer selection matches the
# scenario's), the receivers got them all, and the sampled SRTP verified; and, with libsrtp2
# on OpenSSL, no heap allocation per forwarded packet. No timing is asserted.
# Usage: bench_smoke.sh path/to/chasqui-bench
set -u
bench=$(realpath "$1")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() {
    echo "FAIL: $*"
    [ -f "$work/out.json" ] && cat "$work/out.json"
    sed 's/^/  | /' "$work/err" 2>/dev/null
    exit 1
}

check() { # name, jq expression that must be true
    jq -e "$2" "$work/out.json" >/dev/null || fail "$1: $2"
}

run() { # scenario arguments...
    "$bench" "$@" --rate 300 --duration 1 --json >"$work/out.json" 2>"$work/err" ||
        fail "chasqui-bench $* exited with $?"
    jq -e 'type == "object"' "$work/out.json" >/dev/null || fail "$*: not one JSON object"
    for key in relay_out_pps_per_core limit_out_pps_per_core ratio latency_us.p50 \
        latency_us.p99 latency_us.p999 allocs_per_packet rss_kib_per_participant \
        offered_packets forwarded_packets; do
        check "$*" ".$key | type == \"number\""
    done
    check "$*" '.workers >= 1 and (.suite | type == "string") and (.scenario | type == "string")'
    for engine in relay limit; do
        check "$* $engine" ".$engine.saturation | .offered > 0 and .expected > 0"
        # The window at real time is there when the rate is at least real time's.
        for w in realtime saturation; do
            check "$* $engine $w" ".$engine.$w | .forwarded == .expected"
            check "$* $engine $w" ".$engine.$w | .received == .expected"
        done
    done
    check "$*" '.latency_us.samples > 0'
    check "$*" '.receivers.verified > 0 and .receivers.auth_failures == 0'
    if [ "$(jq -r .srtp_backend "$work/out.json")" = openssl ]; then
        check "$*" '.allocs_per_packet == 0'
    else
        echo "libsrtp2 is not built on OpenSSL: allocations per packet not checked"
    fi
}

run --scenario fanout --fanout 4
run --scenario conference --participants 3
run --scenario broadcast --viewers 6
# Two workers, a session each: sessions are spread and both forward.
run --scenario fanout --fanout 2 --workers 2
check "two workers" '.sessions == 2 and .relay.saturation.forwarded == .relay.saturation.expected'
echo "chasqui-bench smoke: ok"
