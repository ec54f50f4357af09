# Sourced by the client's shell tests.

# client_test_start RELAY CTL CLIENT: sets relay, ctl and client, a work folder the test
# runs in (removed at exit, the daemon and the clients cpid1 and cpid2 killed), fail()
# that prints the daemon's and clients' logs, starts the daemon (tests/support/daemon.sh:
# pid, port, server) and defines c(), chasqui-ctl against it.
client_test_start() {
    relay=$(realpath "$1")
    ctl=$(realpath "$2")
    client=$(realpath "$3")
    work=$(mktemp -d)
    pid=''
    cpid1=''
    cpid2=''
    trap 'kill -9 $pid $cpid1 $cpid2 2>/dev/null; rm -rf "$work"' EXIT
    cd "$work" || exit 1
    fail() {
        echo "FAIL: $*"
        for f in daemon.log c1.log c2.log; do [ -f "$f" ] && sed "s/^/  $f | /" "$f"; done
        exit 1
    }
    # shellcheck source=../support/daemon.sh
    . "$(dirname "${BASH_SOURCE[0]}")/../support/daemon.sh"
    start_daemon
    c() { "$ctl" --server "$server" "$@"; }
}

# With c() calling chasqui-ctl against the daemon and fail() reporting, adds Cachicoto (1) and Anda (2), schedules session 1 for both (open
# now, live in two minutes) and sets t1 and t2 to their participant tokens.
two_telecentres_in_a_session() {
    c telecentre add Cachicoto --district Monzón >/dev/null || fail "telecentre add"
    c telecentre add Anda --district Monzón >/dev/null || fail "telecentre add"
    local start end
    start=$(date -u -d '+2 min' +%Y-%m-%dT%H:%M:00Z)
    end=$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:00Z)
    c session schedule --title "Precios del cacao" --start "$start" --end "$end" \
        --telecentres 1,2 >/dev/null || fail "schedule"
    t1=$(c token issue --session 1 --telecentre 1 --role participant | head -1)
    t2=$(c token issue --session 1 --telecentre 2 --role participant | head -1)
    [ -n "$t1" ] && [ -n "$t2" ] || fail "token issue"
}
