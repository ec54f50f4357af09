#!/usr/bin/env bash
# chasqui-client under the operator's controls (issue 9), as a broadcast runs: Cachicoto
# presents, Anda watches. The operator promotes Anda (its client joins again and its sound
# reaches Cachicoto), mutes it (the client says so), demotes it (it joins again as a
# viewer) and removes it: the client stops with exit status 5 and can never join again.
# Usage: client_operator.sh chasqui-relay chasqui-ctl chasqui-client
set -u
# shellcheck source=session_lib.sh
. "$(dirname "$(realpath "$0")")/session_lib.sh"
client_test_start "$@"
# The operator's controls over plain HTTP (chasqui-ctl's own test covers its commands).
op() { # action telecentre [extra JSON]
    curl -s -o "$work/op.json" -w '%{http_code}' -X POST \
        -H "Authorization: Bearer $(cat var/operator.key)" \
        -d "{\"telecentre\":$2${3:-}}" "$server/api/sessions/1/$1"
}

c telecentre add Cachicoto --district Monzón >/dev/null || fail "telecentre add"
c telecentre add Anda --district Monzón >/dev/null || fail "telecentre add"
start=$(date -u -d '+2 min' +%Y-%m-%dT%H:%M:00Z)
end=$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:00Z)
c session schedule --title "Hackatón" --start "$start" --end "$end" --mode broadcast \
    --telecentres 1,2 --presenters 1 >/dev/null || fail "schedule"
t1=$(c token issue --session 1 --telecentre 1 --role presenter | head -1)
t2=$(c token issue --session 1 --telecentre 2 --role viewer | head -1)
[ -n "$t1" ] && [ -n "$t2" ] || fail "token issue"

start_client() {
    local i=$1 token=t$1
    "$client" --server "$server" --token "${!token}" --video synth --audio synth --headless \
        --size 320x180 --kbps 200 --duration 90 --out "$work/out$i" --stats "$work/s$i.json" \
        2>"$work/c$i.log" &
    eval "cpid$i=$!"
}
wait_log() { # file pattern: bounded wait (15 s) for a line
    for _ in $(seq 150); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
    fail "no '$2' in $1"
}
wait_json() { # file jq-condition: bounded wait (20 s) for the stats file to say so
    for _ in $(seq 200); do jq -e "$2" "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done
    fail "$1 never showed $2: $(jq -c . "$1" 2>/dev/null)"
}

start_client 1
wait_log "$work/c1.log" "in touch with the district server"
start_client 2
wait_log "$work/c2.log" "joined session 1 as viewer"
wait_log "$work/c2.log" "in touch with the district server"

# Anda raises its hand (SIGUSR1, as the window's H key does): the operator's queue has it.
kill -USR1 "$cpid2"
wait_log "$work/c2.log" "hand raised"
for _ in $(seq 100); do
    c --json session hands 1 2>/dev/null | jq -e '.hands[0].telecentre == 2' >/dev/null 2>&1 && break
    sleep 0.1
done
c --json session hands 1 | jq -e '.hands[0].telecentre == 2' >/dev/null ||
    fail "the raised hand is not in the operator's queue: $(c --json session hands 1)"
wait_json "$work/s2.json" '.control.hand_raised and .control.hands_raised == 1'

# Promoted: Anda joins again as a participant and Cachicoto hears it; its hand goes down.
[ "$(op promote 2)" = 200 ] || fail "promote: $(cat "$work/op.json")"
wait_log "$work/c2.log" "the operator made this telecentre a speaker"
wait_log "$work/c2.log" "joined session 1 as participant"
wait_json "$work/s1.json" '.received | map(select(.telecentre == 2)) | .[0].audio.played >= 50'
wait_json "$work/s2.json" '.sent.audio.packets > 0 and .control.promotions == 1'
wait_json "$work/s2.json" '.control.hand_raised == false'
[ "$(c --json session hands 1 | jq '.hands | length')" = 0 ] || fail "a promoted hand stayed in the queue"

# Muted by the operator: the client tells its user.
[ "$(op mute 2 ',"muted":true')" = 200 ] || fail "mute: $(cat "$work/op.json")"
wait_log "$work/c2.log" "the operator muted this telecentre"
wait_json "$work/s2.json" '.control.muted_by_operator'

# Demoted: Anda joins again as a viewer and sends nothing more.
[ "$(op demote 2)" = 200 ] || fail "demote: $(cat "$work/op.json")"
wait_log "$work/c2.log" "a viewer again"
for _ in $(seq 150); do
    [ "$(grep -c "joined session 1 as viewer" "$work/c2.log")" = 2 ] && break
    sleep 0.1
done
[ "$(grep -c "joined session 1 as viewer" "$work/c2.log")" = 2 ] || fail "no re-join as viewer"

# Removed: the client stops with status 5 and says why; its token never joins again.
[ "$(op remove 2)" = 200 ] || fail "remove: $(cat "$work/op.json")"
for _ in $(seq 100); do kill -0 "$cpid2" 2>/dev/null || break; sleep 0.1; done
kill -0 "$cpid2" 2>/dev/null && fail "a removed client still runs"
wait "$cpid2"; rc=$?; cpid2=
[ "$rc" = 5 ] || fail "a removed client exited $rc, wanted 5"
grep -q "the operator removed this telecentre" "$work/c2.log" || fail "removal not explained"
"$client" --server "$server" --token "$t2" --video none --audio none --headless \
    --duration 5 2>"$work/err"
rc=$?
[ "$rc" = 5 ] || fail "a removed telecentre joined again (exit $rc): $(cat "$work/err")"
grep -q "403 removed" "$work/err" || fail "refusal not explained: $(cat "$work/err")"
wait_log "$work/c1.log" "telecentre 2 left"

c session end 1 >/dev/null || fail "session end"
for _ in $(seq 150); do kill -0 "$cpid1" 2>/dev/null || break; sleep 0.1; done
wait "$cpid1" || fail "the presenter's client exited $?"
cpid1=
kill -TERM "$pid"; wait "$pid"; rc=$?; pid=
[ "$rc" = 0 ] || fail "daemon exit status $rc"
echo "chasqui-client under the operator: ok"
