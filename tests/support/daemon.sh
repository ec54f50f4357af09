# Sourced by the shell tests that run the daemon: with $relay (chasqui-relay), $work (the
# test's folder, its current directory) and fail() defined, start_daemon starts it on ports
# the kernel picks, waits (bounded) for its API line, and sets pid, port and server.
start_daemon() {
    "$relay" --http-port 0 --media-port 0 2>"$work/daemon.log" &
    pid=$!
    for _ in $(seq 100); do
        grep -q "API on TCP" "$work/daemon.log" && break
        sleep 0.1
    done
    port=$(sed -n 's/.*API on TCP \([0-9]*\).*/\1/p' "$work/daemon.log")
    [ -n "$port" ] || fail "daemon did not start"
    server="http://127.0.0.1:$port"
}
