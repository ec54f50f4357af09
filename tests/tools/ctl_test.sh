#!/usr/bin/env bash
# chasqui-ctl against a running daemon, as README's newcomer uses it: three telecentres,
# a session, tokens; tables and --json; and the exit codes scripts rely on.
# Usage: ctl_test.sh path/to/chasqui-relay path/to/chasqui-ctl
set -u
relay=$(realpath "$1")
ctl=$(realpath "$2")
work=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; rm -rf "$work"' EXIT
cd "$work"
fail() { echo "FAIL: $*"; sed 's/^/  | /' "$work/daemon.log"; exit 1; }

# shellcheck source=../support/daemon.sh
. "$(dirname "$(realpath "$0")")/../support/daemon.sh"
start_daemon
c() { "$ctl" --server "$server" "$@"; }

# Three telecentres, listed as a table and as JSON.
for name in Cachicoto Anda Pucayacu; do
    c telecentre add "$name" --district Monzón --contact "radio 7" >"$work/out" ||
        fail "telecentre add $name: $(cat "$work/out")"
    grep -q "added: $name (Monzón)" "$work/out" || fail "add said: $(cat "$work/out")"
done
c telecentre list >"$work/out" || fail "telecentre list"
[ "$(grep -c Monzón "$work/out")" = 3 ] || fail "table: $(cat "$work/out")"
head -1 "$work/out" | grep -q "^ID  *NAME  *DISTRICT" || fail "no table header"
c --json telecentre list >"$work/out" || fail "telecentre list --json"
grep -q '^{"telecentres":\[{"id":2,"name":"Anda"' "$work/out" || fail "json: $(cat "$work/out")"

# What chasqui-ctl does not wrap, over HTTP: a change of contact, and the metrics.
key=$(cat var/operator.key)
[ "$(curl -s -o "$work/out" -w '%{http_code}' -X PATCH -H "Authorization: Bearer $key" \
    -d '{"contact":"Rosa"}' "http://127.0.0.1:$port/api/telecentres/1")" = 200 ] ||
    fail "PATCH: $(cat "$work/out")"
grep -q '"contact":"Rosa"' "$work/out" || fail "PATCH said: $(cat "$work/out")"
curl -s "http://127.0.0.1:$port/metrics" >"$work/out" || fail "/metrics"
grep -q '^chasqui_sessions{state="scheduled"} 0$' "$work/out" || fail "metrics: $(head "$work/out")"
grep -q '^chasqui_packets_in_total 0$' "$work/out" || fail "metrics: no media counters"

# A session two hours ahead, shown, listed, with tokens.
start=$(date -u -d '+2 hours' +%Y-%m-%dT%H:00:00Z)
end=$(date -u -d '+3 hours' +%Y-%m-%dT%H:00:00Z)
c session schedule --title "Precios del cacao" --start "$start" --end "$end" \
    --telecentres 1,2,3 --presenters 1 >"$work/out" || fail "schedule: $(cat "$work/out")"
grep -q "session 1 scheduled" "$work/out" || fail "schedule said: $(cat "$work/out")"
c session show 1 >"$work/out" || fail "session show"
grep -q "scheduled  conference" "$work/out" || fail "show: $(cat "$work/out")"
grep -q "Cachicoto.*presenter" "$work/out" || fail "show members: $(cat "$work/out")"
c session list --filter upcoming >"$work/out" || fail "session list"
grep -q "Precios del cacao" "$work/out" || fail "list: $(cat "$work/out")"
c token issue --session 1 --telecentre 2 --role participant >"$work/out" || fail "token issue"
grep -q "^cq1-1-2-participant-" "$work/out" || fail "token: $(cat "$work/out")"
c status >"$work/out" || fail "status"
grep -q "no session is open or live" "$work/out" || fail "status: $(cat "$work/out")"

# Exit codes: refused (1), bad command line (2), unreachable (3), no key (4).
c telecentre rm 99 2>"$work/err"; [ $? = 1 ] || fail "rm of an unknown id"
grep -q "404" "$work/err" || fail "refusal not explained: $(cat "$work/err")"
c token issue --session 1 --telecentre 2 --role presenter 2>"$work/err"; [ $? = 1 ] ||
    fail "presenter token for a non-presenter"
grep -q "field: role" "$work/err" || fail "field not named: $(cat "$work/err")"
c session schedule --title x 2>/dev/null; [ $? = 2 ] || fail "missing options"
c telecentre add X --district D --colour red 2>/dev/null; [ $? = 2 ] || fail "unknown option"
c frobnicate 2>/dev/null; [ $? = 2 ] || fail "unknown command"
"$ctl" --server http://127.0.0.1:1 telecentre list 2>/dev/null; [ $? = 3 ] || fail "unreachable"
c --key-file /nonexistent telecentre list 2>/dev/null; [ $? = 4 ] || fail "missing key"
# Values the server would refuse anyway are caught here as usage errors, before the key
# is read; help works at every level and needs no key.
for bad in "session list --filter soon" "session schedule --title t --start $start --end $end --telecentres 1 --mode lecture" \
    "session schedule --title t --start $start --end $end --telecentres 1 --open-before 10x" \
    "token issue --session 1 --telecentre 2 --role guest"; do
    # shellcheck disable=SC2086
    c --key-file /nonexistent $bad 2>/dev/null; rc=$?
    [ "$rc" = 2 ] || fail "'$bad' gave exit status $rc, wanted 2"
done
for level in "" telecentre session token status; do
    # shellcheck disable=SC2086
    "$ctl" --key-file /nonexistent $level --help >"$work/out" 2>&1 || fail "$level --help"
    grep -q "^usage: chasqui-ctl" "$work/out" || fail "$level --help said: $(cat "$work/out")"
done
"$ctl" --key-file /nonexistent session --help | grep -q -- "--open-before" || fail "session --help"

# A session in its joining window shows in status once live; its history lists nobody
# until someone joins (joining needs a telecentre endpoint: tests/relay/itest_join.c).
soon=$(date -u -d '+1 minute' +%Y-%m-%dT%H:%M:00Z)
later=$(date -u -d '+61 minutes' +%Y-%m-%dT%H:%M:00Z)
c session schedule --title "Ahora" --start "$soon" --end "$later" --telecentres 1,2 >/dev/null ||
    fail "second session"
c status >"$work/out" || fail "status of an open session"
grep -q 'session 2 "Ahora", open until' "$work/out" || fail "status: $(cat "$work/out")"
grep -q "TELECENTRE" "$work/out" || fail "status table: $(cat "$work/out")"
c session history 2 >"$work/out" || fail "history"
[ "$(wc -l <"$work/out")" = 1 ] || fail "history of nobody: $(cat "$work/out")"
# Recording it: on, shown, off (nobody sends yet: no files); not an open session: refused.
c session recording 2 on >"$work/out" || fail "recording on: $(cat "$work/out")"
grep -q "^session 2: recording; files in var/recordings/session-2$" "$work/out" ||
    fail "recording on said: $(cat "$work/out")"
c session recording 2 >"$work/out" && grep -q "^session 2: recording;" "$work/out" ||
    fail "recording shown: $(cat "$work/out")"
c session recording 2 off >"$work/out" && grep -q "^session 2: not recording;" "$work/out" ||
    fail "recording off: $(cat "$work/out")"
c session recording 1 on 2>/dev/null; [ $? = 1 ] || fail "recording a scheduled session"
# A file in the session's folder (as the recorder leaves them) is listed and downloads
# byte for byte, streamed by the server; a name that is not one of them is refused.
head -c 300000 /dev/urandom >"$work/rec.bin"
mkdir -p var/recordings/session-2
{ printf 'CQREC\r\n\032'; cat "$work/rec.bin"; } >var/recordings/session-2/x-p1-audio-1.cqrec
c session recording 2 >"$work/out" && grep -q "^ *300008  x-p1-audio-1.cqrec$" "$work/out" ||
    fail "recording listed: $(cat "$work/out")"
[ "$(curl -s -o "$work/got" -w '%{http_code} %{content_type}' -H "Authorization: Bearer $key" \
    "$server/api/sessions/2/recording?file=x-p1-audio-1.cqrec")" = "200 application/octet-stream" ] ||
    fail "download: $(head -c 300 "$work/got")"
cmp -s "$work/got" var/recordings/session-2/x-p1-audio-1.cqrec || fail "download differs"
for bad in ../../chasqui.db x-p1-audio-1.txt .hidden.cqrec; do
    [ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $key" \
        "$server/api/sessions/2/recording?file=$bad")" = 400 ] || fail "download of $bad"
done
[ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $key" \
    "$server/api/sessions/2/recording?file=none.cqrec")" = 404 ] || fail "download of none"
c session recording 2 maybe 2>/dev/null; [ $? = 2 ] || fail "recording maybe"

# The operator's controls of a running session. A viewer joins over plain HTTP (no media
# flows: the controls act on who is in the session), is promoted, demoted, muted and
# unmuted; then removed, which holds.
c session hands 2 >"$work/out" || fail "session hands"
grep -q "no hand is raised in session 2" "$work/out" || fail "hands: $(cat "$work/out")"
c --json session hands 2 >"$work/out" || fail "session hands --json"
grep -q '^{"session":2,"hands":\[\]}$' "$work/out" || fail "hands json: $(cat "$work/out")"
c session promote 2 2 2>"$work/err"; [ $? = 1 ] || fail "promote of one not joined"
grep -q "409: telecentre 2 is not in session 2" "$work/err" || fail "promote said: $(cat "$work/err")"
viewer=$(c token issue --session 2 --telecentre 2 --role viewer | head -1)
[ "$(curl -s -o "$work/out" -w '%{http_code}' -X POST -d "{\"token\":\"$viewer\"}" \
    "http://127.0.0.1:$port/api/sessions/2/join")" = 200 ] || fail "join: $(cat "$work/out")"
c session promote 2 2 >"$work/out" || fail "promote"
grep -q "telecentre 2 in session 2 promoted: it joins again as a speaker" "$work/out" ||
    fail "promote said: $(cat "$work/out")"
c session promote 2 2 2>"$work/err"; [ $? = 1 ] || fail "promoted twice"
c session promote 2 1 2>/dev/null; [ $? = 1 ] || fail "promote of one not joined"
c session demote 2 2 >"$work/out" || fail "demote"
grep -q "demoted: it joins again as a viewer" "$work/out" || fail "demote said: $(cat "$work/out")"
c session mute 2 2 >"$work/out" || fail "mute"
grep -q "muted: the relay forwards none of its sound" "$work/out" || fail "mute: $(cat "$work/out")"
c --json session mute 2 2 --off >"$work/out" || fail "unmute"
grep -q '"muted":false' "$work/out" || fail "unmute json: $(cat "$work/out")"
c session remove 2 2 >"$work/out" || fail "remove"
grep -q "removed: it cannot join this session again" "$work/out" || fail "remove: $(cat "$work/out")"
c session remove 2 2 2>"$work/err"; [ $? = 1 ] || fail "removed twice"
c token issue --session 2 --telecentre 2 --role viewer 2>"$work/err"; [ $? = 1 ] ||
    fail "a token for a removed telecentre"
[ "$(curl -s -o "$work/out" -w '%{http_code}' -X POST -d "{\"token\":\"$viewer\"}" \
    "http://127.0.0.1:$port/api/sessions/2/join")" = 403 ] || fail "a removed one joined"
grep -q '"error":"removed"' "$work/out" || fail "join refusal: $(cat "$work/out")"
for bad in "session hands x" "session promote 2" "session promote 2 x" "session demote 0 2" \
    "session mute 2 2 --of" "session mute 2 2 --off x" "session remove 2 2 3"; do
    # shellcheck disable=SC2086
    c --key-file /nonexistent $bad 2>/dev/null; rc=$?
    [ "$rc" = 2 ] || fail "'$bad' gave exit status $rc, wanted 2"
done
"$ctl" --key-file /nonexistent session --help | grep -q "session mute ID TC \[--off\]" ||
    fail "session --help lacks the controls"
c session end 2 >/dev/null || fail "end an open session"

# Cancelled, and a telecentre removed once nothing needs it.
c session cancel 1 >"$work/out" || fail "cancel"
grep -q cancelled "$work/out" || fail "cancel said: $(cat "$work/out")"
c telecentre rm 3 >"$work/out" || fail "rm: $(cat "$work/out")"
[ "$(c telecentre list | grep -c Monzón)" = 2 ] || fail "rm did not remove"

# A list of ids is read whole, however long: a bad id past the first kilobyte is refused,
# not cut off with the rest; an empty one between commas is refused too.
for list in "$(seq -s, 1 400),x" "1,,2"; do
    c --key-file /nonexistent session schedule --title t --start "$start" --end "$end" \
        --telecentres "$list" 2>/dev/null; rc=$?
    [ "$rc" = 2 ] || fail "--telecentres '${list: -12}' gave exit status $rc, wanted 2"
done

# Something else on the server's port (perl-base is in every Debian): an answer that is
# not JSON is said to be that, exit 3, not printed as a table of empty fields.
perl -MIO::Socket::INET -e '
    my $s = IO::Socket::INET->new(LocalAddr => "127.0.0.1", LocalPort => 0, Listen => 1)
        or die "listen: $!";
    $| = 1; print $s->sockport, "\n";
    my $c = $s->accept or die "accept: $!";
    while (<$c>) { last if /^\r?$/ }
    print $c "HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\n<html></html>";
    close $c;' >"$work/fake.port" &
fake=$!
for _ in $(seq 50); do [ -s "$work/fake.port" ] && break; sleep 0.1; done
"$ctl" --server "http://127.0.0.1:$(cat "$work/fake.port")" telecentre list >"$work/out" \
    2>"$work/err"; rc=$?
wait "$fake"
[ "$rc" = 3 ] || fail "a page that is not JSON gave exit status $rc, wanted 3: $(cat "$work/out")"
grep -q "something other than JSON" "$work/err" || fail "not-JSON said: $(cat "$work/err")"

kill -TERM "$pid"; wait "$pid"; rc=$?; pid=
[ "$rc" = 0 ] || fail "daemon exit status $rc"
echo "chasqui-ctl: ok"
