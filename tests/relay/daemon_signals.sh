#!/usr/bin/env bash
# chasqui-relay as an operator meets it: it starts on its own (making its operator key and
# database under var/), serves its API, says where media goes, stops cleanly on SIGINT and
# SIGTERM (exit 0; in the sanitizer build LeakSanitizer fails the exit on any leak),
# survives kill -9 without losing a scheduled session, and refuses bad options and a
# taken port with a clear message.
# Usage: daemon_signals.sh path/to/chasqui-relay
set -u
relay=$(realpath "$1")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
fail() { echo "FAIL: $*"; for f in "$work"/*.log; do [ -e "$f" ] && sed 's/^/  | /' "$f"; done; exit 1; }

# Starts the relay with the given arguments, waits (bounded) for its start-up line.
start() {
    local log=$1; shift
    "$relay" "$@" 2>"$work/$log.log" &
    pid=$!
    for _ in $(seq 100); do
        grep -q "API on TCP" "$work/$log.log" 2>/dev/null && return 0
        kill -0 "$pid" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

api() { # METHOD PATH [BODY]: prints the status, then the body
    curl -s -o "$work/body" -w '%{http_code}' -X "$1" -H "Authorization: Bearer $(cat var/operator.key)" \
        ${3:+-d "$3"} "http://127.0.0.1:$http_port$2"
}
http_port_of() { sed -n 's/.*API on TCP \([0-9]*\).*/\1/p' "$work/$1.log"; }

for sig in TERM INT; do
    start "$sig" --media-port 0 --http-port 0 --workers 2 || fail "did not start ($sig run)"
    kill -"$sig" "$pid"
    # Bounded wait for the exit.
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && { kill -9 "$pid"; fail "still running 10 s after SIG$sig"; }
    wait "$pid"; rc=$?
    [ "$rc" -eq 0 ] || fail "exit status $rc after SIG$sig"
    grep -q "SIG$sig received: stopping" "$work/$sig.log" || fail "no stop line for SIG$sig"
    grep -q "2 media workers stopped, 0 sessions closed" "$work/$sig.log" ||
        fail "the relay was not shut down after SIG$sig"
    grep -q "stopped$" "$work/$sig.log" || fail "no final line after SIG$sig"
done

# First start made the operator key (0600) and said where; the API answers with it only.
[ "$(stat -c %a var/operator.key)" = 600 ] || fail "operator key is not mode 0600"
grep -q "operator key created in var/operator.key" "$work/TERM.log" || fail "key path not printed"
start api --media-port 0 --http-port 0 || fail "did not start (API run)"
http_port=$(http_port_of api)
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$http_port/healthz")" = 200 ] ||
    fail "/healthz"
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$http_port/api/telecentres")" = 401 ] ||
    fail "the API answered without the operator key"
[ "$(api POST /api/telecentres '{"name":"Cachicoto","district":"Monzón"}')" = 201 ] ||
    fail "telecentre not created: $(cat "$work/body")"
tc=$(sed -n 's/.*"id":\([0-9]*\).*/\1/p' "$work/body")
start_at=$(date -u -d '+2 hours' +%Y-%m-%dT%H:00:00Z)
end_at=$(date -u -d '+3 hours' +%Y-%m-%dT%H:00:00Z)
[ "$(api POST /api/sessions "{\"title\":\"Cacao\",\"start\":\"$start_at\",\"end\":\"$end_at\",\"mode\":\"conference\",\"telecentres\":[$tc]}")" = 201 ] ||
    fail "session not scheduled: $(cat "$work/body")"
session=$(sed -n 's/^{"id":\([0-9]*\).*/\1/p' "$work/body")
# kill -9 right after the answer: what was acknowledged must be there after a restart.
kill -9 "$pid"; wait "$pid" 2>/dev/null
start again --media-port 0 --http-port 0 || fail "did not restart after kill -9"
http_port=$(http_port_of again)
[ "$(api GET "/api/sessions/$session")" = 200 ] || fail "session lost to kill -9: $(cat "$work/body")"
grep -q '"title":"Cacao"' "$work/body" || fail "session changed by kill -9: $(cat "$work/body")"
# A session open for joining survives a restart too: after it, the relay carries it again
# and a telecentre can join it.
soon=$(date -u -d '+2 minutes' +%Y-%m-%dT%H:%M:00Z)
later=$(date -u -d '+62 minutes' +%Y-%m-%dT%H:%M:00Z)
[ "$(api POST /api/sessions "{\"title\":\"Ya\",\"start\":\"$soon\",\"end\":\"$later\",\"mode\":\"conference\",\"telecentres\":[$tc]}")" = 201 ] ||
    fail "open session not scheduled: $(cat "$work/body")"
open_session=$(sed -n 's/^{"id":\([0-9]*\).*/\1/p' "$work/body")
[ "$(api POST "/api/sessions/$open_session/tokens" "{\"telecentre\":$tc,\"role\":\"participant\"}")" = 201 ] ||
    fail "token: $(cat "$work/body")"
token=$(sed -n 's/.*"token":"\([^"]*\)".*/\1/p' "$work/body")
kill -TERM "$pid"; wait "$pid" || fail "exit status after the restart"
start third --media-port 0 --http-port 0 || fail "did not restart with an open session"
http_port=$(http_port_of third)
grep -q "session $open_session: media on UDP" "$work/third.log" || fail "open session not carried"
[ "$(api POST "/api/sessions/$open_session/join" "{\"token\":\"$token\"}")" = 200 ] ||
    fail "join after restart: $(cat "$work/body")"
grep -q '"ice":{"ufrag":' "$work/body" || fail "join answer: $(cat "$work/body")"
kill -TERM "$pid"; wait "$pid" || fail "exit status after the third start"

# A taken port: a clear error and a failing exit, not a crash.
start first --media-port 0 --http-port 0 || fail "did not start (port test)"
port=$(sed -n 's/.*API on TCP [0-9]*, media on UDP \([0-9]*\).*/\1/p' "$work/first.log")
[ -n "$port" ] || fail "start-up line names no port"
"$relay" --media-port "$port" --http-port 0 2>"$work/second.log"; rc=$?
kill -TERM "$pid"; wait "$pid"
[ "$rc" -eq 1 ] || fail "a taken port gave exit status $rc, wanted 1"
grep -q "cannot listen for media on UDP $port" "$work/second.log" || fail "no clear message for a taken port"

# Options.
"$relay" --help >"$work/help.log" 2>&1 || fail "--help failed"
grep -q -- "--media-port" "$work/help.log" || fail "--help does not document --media-port"
# scripts/e2e.sh gives an ablation's switch only to a relay whose --help lists it.
for sw in --no-adapt --no-copies; do
    grep -q -- "$sw" "$work/help.log" || fail "--help does not document $sw"
done
"$relay" --version | grep -q "^chasqui-relay [0-9]" || fail "--version"
for bad in "--workers 0" "--workers 99" "--media-port 70000" "--media-port x" "--http-port -1" \
    "--public-ip nowhere" "--log-level loud" "--nonsense" "extra"; do
    # shellcheck disable=SC2086
    "$relay" $bad >/dev/null 2>"$work/bad.log"; rc=$?
    [ "$rc" -eq 2 ] || fail "'$bad' gave exit status $rc, wanted 2"
    [ -s "$work/bad.log" ] || fail "'$bad' gave no message"
done
echo "daemon signals and options: ok"
