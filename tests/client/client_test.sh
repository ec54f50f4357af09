#!/usr/bin/env bash
# chasqui-client against a running daemon, as a district runs it: the operator adds two
# telecentres and a session and issues tokens; each telecentre joins with its token, sends
# synthetic video and audio for a few seconds, and records the other. The stats files and
# the recordings must show that each saw and heard the other. Then the exit codes.
# The session is recorded meanwhile, and each telecentre's recording converted to WebM.
# Usage: client_test.sh chasqui-relay chasqui-ctl chasqui-client chasqui-rec2webm
set -u
relay=$(realpath "$1")
ctl=$(realpath "$2")
client=$(realpath "$3")
rec2webm=$(realpath "$4")
work=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; rm -rf "$work"' EXIT
cd "$work"
fail() {
    echo "FAIL: $*"
    for f in daemon.log c1.log c2.log; do [ -f "$f" ] && sed "s/^/  $f | /" "$f"; done
    exit 1
}

# shellcheck source=../support/daemon.sh
. "$(dirname "$(realpath "$0")")/../support/daemon.sh"
start_daemon
c() { "$ctl" --server "$server" "$@"; }

# shellcheck source=session_lib.sh
. "$(dirname "$(realpath "$0")")/session_lib.sh"
two_telecentres_in_a_session

# Both telecentres for up to a minute; the operator ends the session after five seconds
# and both must leave by themselves. Small pictures keep the sanitizer build quick.
start_client() {
    local i=$1 token=t$1
    # Telecentre 2 sends 60 ms of sound per packet, as on a weak link.
    "$client" --server "$server" --token "${!token}" --video synth --audio synth --headless \
        --size 320x180 --kbps 300 --duration 60 --out "$work/out$i" --stats "$work/s$i.json" \
        --series "$work/series$i.csv" --audio-ms $((i == 2 ? 60 : 20)) 2>"$work/c$i.log" &
    eval "cpid$i=$!"
}
wait_log() { # file pattern: bounded wait for a line
    for _ in $(seq 100); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
    fail "no '$2' in $1"
}
start_client 1
wait_log "$work/c1.log" "in touch with the district server"
start_client 2
wait_log "$work/c1.log" "telecentre 2 joined"
c session recording 1 on >/dev/null || fail "recording on"
wait_log "$work/c1.log" "this session is being recorded"
c session recording 1 on >/dev/null || fail "recording on, again" # no second notice
sleep 2
# The machine holds telecentre 2 up for 0.3 s (as a busy one does): it says so itself.
kill -STOP "$cpid2" && sleep 0.3 && kill -CONT "$cpid2"
sleep 3
c session end 1 >/dev/null || fail "session end"
for i in 1 2; do
    pid_var=cpid$i
    for _ in $(seq 150); do kill -0 "${!pid_var}" 2>/dev/null || break; sleep 0.1; done
    kill -0 "${!pid_var}" 2>/dev/null && fail "client $i still running 15 s after the end"
    wait "${!pid_var}" || fail "client $i exited $?"
    grep -q "the session has ended" "$work/c$i.log" || fail "client $i did not hear the end"
done
announced=$(grep -c "this session is being recorded" "$work/c1.log")
[ "$announced" = 1 ] || fail "the recording was announced $announced times"

for i in 1 2; do
    other=$((3 - i))
    s="$work/s$i.json"
    [ -f "$s" ] || fail "no stats from telecentre $i"
    j() { jq -e "$1" "$s" >/dev/null || fail "telecentre $i: $1 is not so: $(jq -c . "$s")"; }
    j ".telecentre == $i and .session == 1 and .link.up"
    j ".link.auth_failures == 0"
    j '.sent.video | length == 2'
    j '.sent.video[1].width == 320 and .sent.video[1].frames >= 30'
    j ".sent.audio.packets >= $((i == 2 ? 50 : 150))"
    j '.seconds < 30'
    j ".received | length == 1"
    j ".received[0].telecentre == $other"
    # What the other painted arrives whole, in order and sharp; what it said is heard.
    j '.received[0].video.synth.frames >= 25'
    j '.received[0].video.synth.out_of_order == 0'
    j '.received[0].video.synth.psnr_avg > 30'
    j '.received[0].audio.played >= 150'
    j '.received[0].audio.played > 10 * .received[0].audio.concealed'
    j '.control.session_ended'
    # On loopback the pacer let every video packet out; its counters add up.
    j '.pacer.queued > 0 and .pacer.full == 0 and .pacer.stale == 0'
    j '.pacer.sent + .pacer.flushed + .pacer.stale <= .pacer.queued'
    # The event loop's ticks were measured, and a stall counted exactly when one was long.
    j '.loop.longest_gap_ms > 0 and ((.loop.stalls == 0) == (.loop.longest_gap_ms < 100))'
    [ "$i" = 1 ] || j '.loop.stalls >= 1 and .loop.longest_gap_ms >= 300'
    [ -s "$work/out$i/$other.y4m" ] || fail "telecentre $i recorded no video of $other"
    [ -s "$work/out$i/$other.wav" ] || fail "telecentre $i recorded no audio of $other"
    head -c 9 "$work/out$i/$other.y4m" | grep -q YUV4MPEG || fail "not a Y4M file"
    grep -q "joined session 1 as participant" "$work/c$i.log" || fail "no join line"
done

# What the relay recorded of each, converted: VP8 (the top layer, 320x180) and Opus
# (telecentre 2's in 60 ms packets) of about the five seconds recorded, which ffmpeg
# decodes from end to end without a complaint.
for i in 1 2; do
    files=(var/recordings/session-1/*-p$i-*.cqrec)
    [ ${#files[@]} = 3 ] || fail "recordings of telecentre $i: ${files[*]}"
    "$rec2webm" -o "$work/p$i.webm" "${files[@]}" >"$work/rec$i.log" 2>&1 ||
        fail "rec2webm $i: $(cat "$work/rec$i.log")"
    cat "$work/rec$i.log"
    ffprobe -v error -show_entries stream=codec_name,width:format=duration -of default=nw=1 \
        "$work/p$i.webm" >"$work/probe$i" || fail "ffprobe $i"
    grep -q "^codec_name=vp8$" "$work/probe$i" && grep -q "^width=320$" "$work/probe$i" &&
        grep -q "^codec_name=opus$" "$work/probe$i" || fail "probe $i: $(cat "$work/probe$i")"
    d=$(sed -n 's/^duration=//p' "$work/probe$i")
    awk -v d="$d" 'BEGIN { exit !(d > 3 && d < 9) }' || fail "recording $i lasts $d s"
    # The pictures keep their capture times, a few ms off 15 a second: ffmpeg's encoder
    # (here the null one) would round two of them onto one tick of 1/15 s and complain,
    # so it keeps the file's own time base.
    ffmpeg -v error -i "$work/p$i.webm" -enc_time_base -1 -f null - >"$work/dec$i" 2>&1
    [ ! -s "$work/dec$i" ] || fail "decoding $i: $(head -5 "$work/dec$i"; cat "$work/rec$i.log")"
done

# Exit codes: 1 refused, 2 bad command line, 3 unreachable.
bad="${t1%.*}.0000000000000000000000000000000000000000000000000000000000000000"
"$client" --server "$server" --token "$bad" --video none --audio none --headless \
    --duration 1 2>"$work/err"
[ $? = 1 ] || fail "a forged token was not refused"
grep -q "401 bad_token" "$work/err" || fail "refusal not explained: $(cat "$work/err")"
# No camera on a build machine: the client says which device and why, exit 4, before it
# joins (the session is over by now: a join would be refused with 1).
"$client" --server "$server" --token "$t1" --video /dev/video7 --audio none --headless \
    2>"$work/err"
[ $? = 4 ] || fail "a missing camera should stop the client with status 4"
grep -q "media could not start: /dev/video7" "$work/err" || fail "camera error: $(cat "$work/err")"
"$client" --server "$server" --token "$t1" --video synth --audio synth --headless \
    --size 321x180 2>/dev/null
[ $? = 2 ] || fail "odd size accepted"
"$client" --server "$server" --token "$t1" --video synth --audio synth --headless \
    --audio-ms 30 2>/dev/null
[ $? = 2 ] || fail "30 ms audio packets accepted"
"$client" --server "$server" --token "not-a-token" --video none --audio none --headless \
    2>/dev/null
[ $? = 2 ] || fail "a token that is not one"
"$client" --server http://127.0.0.1:1 --token "$t1" --video none --audio none --headless \
    2>/dev/null
[ $? = 3 ] || fail "unreachable server"
"$client" --help | grep -q "^usage: chasqui-client" || fail "--help"
# scripts/e2e.sh gives an ablation's switch only to a client whose --help lists it.
for sw in --no-nack --no-fec --no-red --no-adapt --no-copies; do
    "$client" --help | grep -q -- "$sw" || fail "--help does not list $sw"
done
# The time series: a row a second for the other telecentre, pictures and sound in most.
head -1 "$work/series1.csv" | grep -q "^t_s,telecentre,kbps,frames,.*,loop_stalls,picture_age_ms$" ||
    fail "series header: $(head -1 "$work/series1.csv")"
rows=$(awk -F, 'NR > 1 && $2 == 2 && $4 > 5 && $7 > 30' "$work/series1.csv" | wc -l)
[ "$rows" -ge 3 ] || fail "series: $(cat "$work/series1.csv")"
# The picture on screen is a loopback's few frames old: its age is read from the capture
# time the synthetic camera paints in (-1 would mean it was not read).
rows=$(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
    $2 == 2 && $4 > 5 && $c["picture_age_ms"] >= 0 && $c["picture_age_ms"] < 1000' \
    "$work/series1.csv" | wc -l)
[ "$rows" -ge 3 ] || fail "series' picture age: $(cat "$work/series1.csv")"
j() { jq -e "$1" "$work/s1.json" >/dev/null || fail "telecentre 1: $1 is not so"; }
j '.control.joined_events >= 1'

# A telecentre as it really runs: window, speakers and microphone. SDL's dummy video and
# disk audio drivers stand in for the screen, the sound card (its output goes to a file)
# and the microphone (it reads what Cachicoto recorded of Anda above).
tail -c +45 "$work/out1/2.wav" >"$work/mic.raw"
start=$(date -u -d '+2 min' +%Y-%m-%dT%H:%M:00Z)
end=$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:00Z)
c session schedule --title "Ventana" --start "$start" --end "$end" --telecentres 1,2 \
    >/dev/null || fail "second session"
t3=$(c token issue --session 2 --telecentre 1 --role participant | head -1)
t4=$(c token issue --session 2 --telecentre 2 --role participant | head -1)
SDL_VIDEODRIVER=dummy SDL_AUDIODRIVER=disk SDL_DISKAUDIOFILE="$work/speaker.raw" \
    SDL_DISKAUDIOFILEIN="$work/mic.raw" "$client" --server "$server" --token "$t3" \
    --video synth --size 320x180 --kbps 300 --duration 5 --stats "$work/s3.json" \
    2>"$work/c3.log" &
cpid3=$!
"$client" --server "$server" --token "$t4" --video synth --audio synth --headless \
    --size 320x180 --kbps 300 --duration 5 --stats "$work/s4.json" 2>"$work/c4.log" &
cpid4=$!
wait "$cpid3" || fail "the windowed client exited $?: $(cat "$work/c3.log")"
wait "$cpid4" || fail "client 4 exited $?"
jq -e '.received[0].video.frames_decoded >= 20 and .received[0].audio.played >= 100 and
    .sent.audio.packets >= 100' "$work/s3.json" >/dev/null ||
    fail "window client: $(jq -c . "$work/s3.json")"
jq -e '.received[0].audio.played >= 100' "$work/s4.json" >/dev/null ||
    fail "the microphone was not heard: $(jq -c .received "$work/s4.json")"
[ "$(tr -d '\0' <"$work/speaker.raw" | head -c 100 | wc -c)" = 100 ] ||
    fail "the speakers played only silence"
echo "client: two telecentres saw and heard each other through the daemon"
