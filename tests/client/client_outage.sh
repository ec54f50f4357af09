#!/usr/bin/env bash
# The district server dies in the middle of a session (kill -9: a power cut) and comes back
# on the same ports. Two telecentres must carry on by themselves: their control connection
# reconnects, the server no longer has them in the relay, so they join again with the same
# token, and pictures flow again. Every wait is bounded.
# Usage: client_outage.sh chasqui-relay chasqui-ctl chasqui-client
set -u
relay=$(realpath "$1")
ctl=$(realpath "$2")
client=$(realpath "$3")
work=$(mktemp -d)
pid=
cpid1=
cpid2=
trap 'kill -9 $pid $cpid1 $cpid2 2>/dev/null; rm -rf "$work"' EXIT
cd "$work"
fail() {
    echo "FAIL: $*"
    for f in daemon.log c1.log c2.log; do [ -f "$f" ] && sed "s/^/  $f | /" "$f"; done
    exit 1
}

# The server must come back where the clients knew it: fixed ports, drawn at random and
# retried if taken.
start_daemon() {
    "$relay" --http-port "$http" --media-port "$media" 2>>"$work/daemon.log" &
    pid=$!
    for _ in $(seq 100); do
        grep -q "API on TCP $http" "$work/daemon.log" && return 0
        kill -0 "$pid" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}
for _ in 1 2 3 4 5; do
    http=$((20000 + RANDOM % 20000))
    media=$((40000 + RANDOM % 20000))
    start_daemon && break
    pid=
done
[ -n "$pid" ] || fail "daemon did not start"
server="http://127.0.0.1:$http"
c() { "$ctl" --server "$server" "$@"; }
# shellcheck source=session_lib.sh
. "$(dirname "$(realpath "$0")")/session_lib.sh"
two_telecentres_in_a_session

for i in 1 2; do
    token=t$i
    token=${!token}
    "$client" --server "$server" --token "$token" --video synth --audio synth --headless \
        --size 320x180 --kbps 300 --duration 90 --stats "$work/s$i.json" 2>"$work/c$i.log" &
    eval "cpid$i=$!"
done
wait_log() { # file pattern seconds [count]
    for _ in $(seq $(($3 * 10))); do
        [ "$(grep -c "$2" "$1" 2>/dev/null)" -ge "${4:-1}" ] && return 0
        sleep 0.1
    done
    fail "not ${4:-1} '$2' in $1 within $3 s"
}
for i in 1 2; do wait_log "$work/c$i.log" "in touch with the district server" 10; done
sleep 2

kill -9 "$pid"
wait "$pid" 2>/dev/null
sleep 2
start_daemon || fail "daemon did not come back on port $http"

# Each joins again by itself, and the other's pictures arrive anew.
for i in 1 2; do wait_log "$work/c$i.log" "joined session 1 as participant" 40 2; done
for i in 1 2; do
    ok=
    for _ in $(seq 150); do
        if jq -e '.control.rejoins >= 1 and .link.up and .control.up and
            (.received | length) == 1 and .received[0].video.frames_decoded >= 10' \
            "$work/s$i.json" >/dev/null 2>&1; then
            ok=1
            break
        fi
        sleep 0.1
    done
    [ -n "$ok" ] || fail "telecentre $i: no pictures after the server came back: $(cat "$work/s$i.json")"
done

c session end 1 >/dev/null || fail "session end"
for i in 1 2; do
    pid_var=cpid$i
    for _ in $(seq 150); do kill -0 "${!pid_var}" 2>/dev/null || break; sleep 0.1; done
    wait "${!pid_var}" || fail "client $i exited $? after the end"
done
cpid1= cpid2=
echo "client outage: both telecentres came back by themselves after the server died"
