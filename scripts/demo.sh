#!/usr/bin/env bash
# The README demo: a district server and three synthetic telecentres of the Monzón valley
# in one conference. Starts chasqui-relay, lets chasqui-ctl add the telecentres, schedule
# the session and issue the tokens, runs three chasqui-client for a while, then prints
# what each telecentre received. Everything it writes stays under the output folder:
# the server's database and log, each telecentre's recordings (<out>/<name>/<id>.y4m,
# .wav), stats (<out>/<name>.json) and log.
#   scripts/demo.sh [seconds]        (default 30)
# CHASQUI_BIN names the programs' folder (default build/bin), CHASQUI_DEMO_OUT the
# output folder (default var/demo).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}
bin=$(realpath "${CHASQUI_BIN:-build/bin}")
out=${CHASQUI_DEMO_OUT:-var/demo}
names=(Cachicoto Anda Pucayacu)

rm -rf "$out"
mkdir -p "$out"
out=$(realpath "$out")
pid=
cpids=()
cleanup() {
    for p in "${cpids[@]}"; do kill "$p" 2>/dev/null || true; done
    [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
}
trap cleanup EXIT

# Ports the kernel picks, so the demo runs beside a relay already serving on 8080.
"$bin/chasqui-relay" --http-port 0 --media-port 0 --bind 127.0.0.1 --db "$out/chasqui.db" \
    --operator-key-file "$out/operator.key" 2>"$out/server.log" &
pid=$!
for _ in $(seq 100); do
    grep -q "API on TCP" "$out/server.log" && break
    sleep 0.1
done
port=$(sed -n 's/.*API on TCP \([0-9]*\).*/\1/p' "$out/server.log")
if [ -z "$port" ]; then
    echo "demo: the server did not start; its log:" >&2
    cat "$out/server.log" >&2
    exit 1
fi
server="http://127.0.0.1:$port"
ctl() { "$bin/chasqui-ctl" --server "$server" --key-file "$out/operator.key" "$@"; }

echo "demo: server on $server; adding ${#names[@]} telecentres and a session"
for n in "${names[@]}"; do ctl telecentre add "$n" --district Monzón >/dev/null; done
start=$(date -u -d '+2 min' +%Y-%m-%dT%H:%M:00Z)
end=$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:00Z)
ctl session schedule --title "Precios del cacao" --start "$start" --end "$end" \
    --telecentres 1,2,3 >/dev/null

echo "demo: ${#names[@]} telecentres in the session for $seconds s (synthetic camera and microphone)"
for i in "${!names[@]}"; do
    id=$((i + 1))
    n=${names[$i]}
    token=$(ctl token issue --session 1 --telecentre "$id" --role participant | head -1)
    "$bin/chasqui-client" --server "$server" --token "$token" --video synth --audio synth \
        --headless --size 320x180 --kbps 300 --duration "$seconds" --out "$out/$n" \
        --stats "$out/$n.json" 2>"$out/$n.log" &
    cpids+=($!)
done
failed=0
for p in "${cpids[@]}"; do wait "$p" || failed=1; done
cpids=()
kill "$pid"
wait "$pid" 2>/dev/null || true
pid=

# One row per telecentre and what it received from each other one.
printf '\n%-10s %-10s %7s %6s %8s %8s %8s %8s %9s\n' RECEIVER FROM PICTURES FPS "PSNR dB" \
    "DELAY ms" FREEZES AUDIO CONCEALED
for i in "${!names[@]}"; do
    n=${names[$i]}
    if [ ! -f "$out/$n.json" ]; then
        echo "$n: no stats (see $out/$n.log)"
        failed=1
        continue
    fi
    jq -r --argjson names '["Cachicoto","Anda","Pucayacu"]' --arg me "$n" '
        .received[] | [$me, ($names[.telecentre - 1] // (.telecentre | tostring)),
          (.video.frames_decoded // 0), ((.video.fps // 0) * 10 | round / 10),
          ((.video.synth.psnr_avg // 0) * 10 | round / 10),
          ((.video.synth.latency_ms_avg // 0) | round), (.video.freezes // 0),
          (.audio.played // 0), (.audio.concealed // 0)] | @tsv' "$out/$n.json" |
        while IFS=$'\t' read -r me from pics fps psnr delay freezes played concealed; do
            printf '%-10s %-10s %7s %6s %8s %8s %8s %8s %9s\n' "$me" "$from" "$pics" "$fps" \
                "$psnr" "$delay" "$freezes" "$played" "$concealed"
        done
done
cat <<EOF

PICTURES: video frames decoded; PSNR: how close each picture is to what was painted (above
30 dB looks clean); DELAY: capture to decoded; FREEZES: pauses longer than three frames;
AUDIO and CONCEALED: 20 ms frames played from packets, and made up for lost ones.
Recordings, stats and logs are in $out/.
EOF
exit $failed
