#!/usr/bin/env bash
# The targets of issues 6 and 7 (docs/E2E.md), checked on the reports scripts/e2e.sh wrote:
#   e2e-check.sh OUT SCENARIO...
# Prints each target missed and exits 1 if any was. Issue 7's (adaptivity) are asserted
# only for the scenarios in issue7_asserted below; for the others they are measured: their
# figures are printed and never fail.
set -uo pipefail
out=$1
shift
missed=0
miss() { echo "e2e-check: $*"; missed=1; }

# Which scenarios issue 7's own targets (sound, pictures, recovery) are asserted for: the
# one place that says so. The rest are measured. Its capacity target holds for every
# scenario and is asserted in all (judge7_all). ./test.sh checks lan-2, outage, radio-3,
# vsat-3, collapse and broadcast-20 (tests/CMakeLists.txt); weak-3g-3 still misses about
# one minute run in twenty (docs/E2E.md), so it is not run there, and
# `scripts/e2e.sh --check weak-3g-3` is how its targets are read meanwhile.
issue7_asserted=" weak-3g-3 collapse "

# The suite sends 320x180 in two simulcast layers (scripts/e2e.sh): the lowest is 90 high.
lowest_height=90
top_height=180

# A verdict on one of issue 7's targets that holds for every scenario: met, or a miss.
judge7_all() { # scenario ok(0/1) text
    if [ "$2" = 1 ]; then
        echo "e2e-check: $1: issue 7: met: $3"
    else
        miss "$1 issue 7 target missed: $3"
    fi
}

# A verdict on one of issue 7's targets: a miss where asserted, a line of figures where not.
judge7() { # scenario ok(0/1) text
    if [ "$2" = 1 ] || [[ "$issue7_asserted" == *" $1 "* ]]; then
        judge7_all "$@"
    else
        echo "e2e-check: $1: issue 7 (measured, not asserted): missed: $3"
    fi
}

# The clients' series files of a scenario (NAME.csv), each with its start on the
# scenario's time line (clock.csv, scripts/e2e.sh): "FILE OFFSET" lines.
client_series() {
    local dir=$1
    if [ -f "$dir/clock.csv" ]; then
        awk -F, -v d="$dir" 'NR > 1 { print d "/" $1 ".csv " $3 }' "$dir/clock.csv" |
            while read -r f o; do [ -f "$f" ] && echo "$f $o"; done
    else
        for f in "$dir"/*.csv; do
            case "$f" in *.netsim.csv | */relay*.csv | */clock.csv) continue ;; esac
            [ -f "$f" ] && echo "$f 0"
        done
    fi
    return 0
}

# Every client clock.csv names has its series, with rows: the targets judged from the
# series would otherwise hold over what is not there (a client that wrote nothing).
series_present() {
    local sc=$1 dir="$out/$1" name
    [ -f "$dir/clock.csv" ] || { miss "$sc: no clock.csv to find the clients' series by"; return 0; }
    while read -r name; do
        [ -n "$name" ] || continue
        if [ ! -f "$dir/$name.csv" ]; then
            miss "$sc: no series of $name ($name.csv)"
        elif [ "$(awk 'END { print NR }' "$dir/$name.csv")" -lt 2 ]; then
            miss "$sc: $name's series has no rows"
        fi
    done < <(awk -F, 'NR > 1 { print $1 }' "$dir/clock.csv")
    return 0
}

# One-way delay of each profile (docs/NETSIM.md): a path between two telecentres crosses
# the sender's link up and the receiver's link down.
delay_of() {
    case "$1" in
    lan) echo 1 ;; rural-radio) echo 40 ;; vsat) echo 300 ;; 3g-weak) echo 80 ;; *) echo 0 ;;
    esac
}

for sc in "$@"; do
    r="$out/$sc/report.json"
    [ -f "$r" ] || { miss "$sc: no report"; continue; }
    n=$(jq '.receivers | length' "$r")
    # Everyone receives everyone else; in a broadcast the viewers (every telecentre but the
    # presenter) receive the presenter alone. The telecentres are counted from clock.csv
    # (e2e.sh writes a row for each client it starts), or the report's links without it;
    # not from the receivers present: a run whose clients all failed has none, and every
    # target below would hold over an empty list (nor from the links alone: a link whose
    # netsim died has none).
    if [ -f "$out/$sc/clock.csv" ]; then
        want=$(awk 'END { print NR - 1 }' "$out/$sc/clock.csv")
    else
        want=$(jq '.links | length' "$r")
    fi
    [[ "$sc" == broadcast-* ]] && want_n=$((want - 1)) || want_n=$((want * (want - 1)))
    [ "$want" -ge 2 ] || miss "$sc: $want telecentres in the run (want 2 or more)"
    [ "$n" -ge "$want_n" ] || miss "$sc: only $n receiver entries (want $want_n)"
    case "$sc" in
    lan-2)
        jq -r '.receivers[] | select(.audio.played_pct < 99.9 or .video.psnr_db < 32 or
            .video.longest_freeze_ms > 200) | "\(.name): \(.)"' "$r" |
            while read -r line; do echo "e2e-check: lan-2 target missed: $line"; done
        jq -e '[.receivers[] | select(.audio.played_pct < 99.9 or .video.psnr_db < 32 or
            .video.longest_freeze_ms > 200)] | length == 0' "$r" >/dev/null || missed=1
        ;;
    radio-3 | vsat-3)
        p=$([ "$sc" = radio-3 ] && echo rural-radio || echo vsat)
        limit=$((2 * $(delay_of "$p") + 150))
        # Asserted: sound heard (played from packets or rebuilt from FEC or RED: two lossy
        # links lose 2-4 %) with <= 1 % concealed, >= 10 fps, mouth to ear, which release
        # builds keep 35-55 ms under VSAT's limit and 10-55 under radio's (its relay paces
        # keyframes by what the link carried: docs/E2E.md, "Issue 6, thirteenth session"),
        # and no freeze over 1 s: since the fifteenth session's fixes, longest freezes per
        # run 396-741 ms on radio and 297-820 ms on VSAT (a round trip: docs/E2E.md).
        bad=$(jq --argjson lat "$limit" '[.receivers[] | select(
            .audio.played_pct + .audio.recovered_pct < 99 or .audio.concealed_pct > 1 or
            .video.fps < 10 or .audio.latency_ms_p95 > $lat or
            .video.longest_freeze_ms > 1000)]' "$r")
        [ "$(jq length <<<"$bad")" = 0 ] ||
            miss "$sc targets missed (mouth to ear p95 <= $limit ms, no freeze > 1 s): $(jq -c . <<<"$bad")"
        ;;
    outage)
        series_present "$sc"
        # Behind the outage link: no re-join, and pictures again within 2 s of the link's
        # return (the series has a row a second: at most 2 s of outage + 2 s without frames).
        jq -e '[.receivers[] | select(.rejoins > 0)] | length == 0' "$r" >/dev/null ||
            miss "outage: a telecentre joined again"
        # The link that goes down is the one on the outage profile, whatever it is named.
        down_link=$(jq -r '[.links[] | select(.profile == "outage") | .name][0] // ""' "$r")
        if [ -z "$down_link" ]; then
            miss "outage: no link on the outage profile in the report"
        else
            jq -e '.up.drop_outage + .down.drop_outage > 0' "$out/$sc/$down_link.netsim.json" \
                >/dev/null 2>&1 || miss "outage: the link never went down ($down_link)"
        fi
        # Columns by name, and each sender's rows apart: a receiver of two senders has a row
        # a second for each.
        while read -r csv _; do
            gap=$(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
                $c["t_s"] > 4 { s = $c["telecentre"]
                  if ($c["frames"] == 0) { if (++g[s] > m) m = g[s] } else g[s] = 0 }
                END { print m + 0 }' "$csv")
            [ "$gap" -le 4 ] || miss "outage: $(basename "$csv"): $gap s without pictures"
        done < <(client_series "$out/$sc")
        ;;
    broadcast-*)
        # Issue 9: each viewer gets the layer its own link carries, so one weak centre never
        # lowers what the others receive. Viewers on LAN, radio and VSAT links see the top
        # layer in at least 80 % of the seconds they see pictures (a switch's second counts
        # against it) and lose at most 1 % of the sound; the weak 3G viewers' layers are
        # printed (they take the lowest, which is the point).
        bad=$(jq -c --arg top "$top_height" '[.receivers[] | select(.profile != "3g-weak") |
            (.video.seconds_at_height // {}) as $h |
            ([$h | to_entries[] | select(.key != "0") | .value] | add // 0) as $shown |
            select($shown == 0 or ($h[$top] // 0) < 0.8 * $shown or .audio.concealed_pct > 1) |
            {name, profile, seconds_at_height: $h, concealed_pct: .audio.concealed_pct}]' "$r")
        [ "$(jq length <<<"$bad")" = 0 ] ||
            miss "$sc: a viewer on a good link off the top layer or losing sound: $bad"
        jq -r --arg sc "$sc" '.receivers[] | select(.profile == "3g-weak") |
            "e2e-check: \($sc): weak viewer \(.name): seconds at each height \(.video.seconds_at_height), \(.audio.concealed_pct) % of the sound concealed"' "$r"
        ;;
    *) echo "e2e-check: $sc: no target of issue 6" ;;
    esac

    # ---- issue 7 ----------------------------------------------------------------------
    # Every scenario, asserted in all (since the twenty-sixth session: no scenario's
    # downlink went over for more than 0.5 s in over a hundred runs, docs/E2E.md): the
    # relay never sends a receiver more than its link's capacity for longer than 2 s.
    # overload_s of the relay-to-telecentre side of each link is the longest run of 250 ms
    # samples in which the link's queue stood (delay >= 250 ms, or half its limit if less,
    # or overflowing) and the half second up to it had been offered more bits than the
    # capacity allowed (scripts/e2e-link.awk, docs/E2E.md).
    if jq -e '(.links // []) | length > 0' "$r" >/dev/null; then
        over=$(jq -r '[.links[] | select(.down.overload_s > 2) |
            "\(.name) \(.down.overload_s) s"] | join(", ")' "$r")
        figures=$(jq -r '[.links[] | "\(.name) \(.down.overload_s) s (queue max \(.down.queue_ms_max) ms, \(.down.drop_queue) dropped at the queue)"] | join(", ")' "$r")
        judge7_all "$sc" "$([ -z "$over" ] && echo 1 || echo 0)" \
            "relay to telecentre over capacity at most 2 s: $figures"
    else
        judge7_all "$sc" 0 "no link series (netsim --series) to judge the relay's sending by"
    fi
    case "$sc" in
    weak-3g-3)
        series_present "$sc"
        # Audio <= 3 % concealed; video >= 5 fps (at whatever layer: the lowest is enough),
        # no freeze over 2 s. Over the whole run, per receiver and sender. The client counts
        # freezes between two pictures only, so the series adds what follows the last one:
        # 3 or more whole seconds without a picture after the first is a freeze over 2 s.
        gaps='{}'
        while read -r csv _; do
            who=$(basename "$csv" .csv)
            gaps=$(awk -F, -v who="$who" 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
                { s = $c["telecentre"]
                  if ($c["frames"] > 0) { seen[s] = 1; g[s] = 0 }
                  else if (seen[s] && ++g[s] > m[s]) m[s] = g[s] }
                END { for (s in seen) printf "%s %d\n", s, m[s] }' "$csv" |
                while read -r from secs; do
                    echo "{\"$who\": {\"$from\": $secs}}"
                done | jq -sc --argjson g "$gaps" 'reduce .[] as $x ($g; . * $x)')
        done < <(client_series "$out/$sc")
        bad=$(jq -c --argjson gaps "$gaps" '[.receivers[] |
            . + {gap_s: ($gaps[.receiver][.from | tostring] // 0)} |
            select(.audio.concealed_pct > 3 or .video.fps < 5 or
            .video.longest_freeze_ms > 2000 or .gap_s >= 3) | {name,
            concealed_pct: .audio.concealed_pct, fps: .video.fps,
            longest_freeze_ms: .video.longest_freeze_ms, gap_s}]' "$r")
        figures=$(jq -r --argjson gaps "$gaps" '[.receivers[] |
            "\(.name): \(.audio.concealed_pct) % concealed, \(.video.fps) fps, freeze \(.video.longest_freeze_ms) ms, \($gaps[.receiver][.from | tostring] // 0) s without pictures"] |
            join("; ")' "$r")
        judge7 "$sc" "$([ "$(jq length <<<"$bad")" = 0 ] && echo 1 || echo 0)" \
            "audio <= 3 % concealed, >= 5 fps, no freeze > 2 s: $figures"
        ;;
    collapse)
        series_present "$sc"
        # From each receiver's series, on the scenario's time line (the collapsed link's
        # plan: 64 kbit/s from 20 s to 40 s). A row at T covers the second (T - 1, T].
        #  - audio: concealed / (played + recovered + concealed) over the rows inside
        #    [20, 40] <= 2 % (recovered counts RED and every FEC decode: the series does
        #    not judge FEC by the tone as report.json does). Frames the buffer makes up to
        #    deepen are not losses and not counted, so the frames heard a second (of 50)
        #    are printed beside it;
        #  - layer: every row inside [22, 40] shows no picture or pictures at most the
        #    lowest layer's height (audio-only, or the lowest layer, within 2 s), unless its
        #    picture was captured before 22 s (the row's time less picture_age_ms): what the
        #    sender sent before it could know arrives up to the collapsed modem's 3.1 s queue
        #    later. Such rows are counted and printed as late, not missed; the picture's age
        #    is the queue's, which mouth to ear and the link's queue figures report;
        #  - recovery: the top is the highest picture in (10, 20]; the first row after
        #    40 s at that height (and the row after it too, when there is one) must end
        #    by 50 s.
        while read -r csv off; do
            rows=$(awk -F, -v off="$off" -v low="$lowest_height" '
                NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
                { T = $1 + off; s = $c["telecentre"]; f = $c["frames"]; h = $c["height"]
                  k = ++n[s]; TT[s, k] = T; F[s, k] = f; H[s, k] = h
                  if (T - 1 >= 20 && T <= 40) {
                      a[s] += $c["audio_played"] + $c["audio_recovered"] + $c["audio_concealed"]
                      cc[s] += $c["audio_concealed"]; rows[s]++
                      heard[s] += $c["audio_played"] + $c["audio_recovered"] }
                  if (T - 1 >= 22 && T <= 40 && f > 0 && h > low) {
                      cap = T
                      if ("picture_age_ms" in c && $c["picture_age_ms"] >= 0) cap = T - $c["picture_age_ms"] / 1000
                      if (cap < 22) late[s]++
                      else { bad[s]++; if (!(s in first)) first[s] = T } }
                  if (T > 10 && T <= 20 && f > 0 && h > top[s]) top[s] = h }
                END { for (s in n) {
                    back = -1
                    for (k = 1; k <= n[s]; k++) {
                        if (TT[s, k] - 1 < 40 || top[s] == 0) continue
                        if (F[s, k] > 0 && H[s, k] >= top[s] &&
                            (k == n[s] || (F[s, k + 1] > 0 && H[s, k + 1] >= top[s]))) { back = TT[s, k] - 40; break }
                    }
                    printf "%s %.2f %d %.1f %d %.3f %.1f %.1f %d\n", s, a[s] ? 100 * cc[s] / a[s] : 0, bad[s] + 0,
                        (s in first) ? first[s] : 0, top[s] + 0, back, TT[s, n[s]],
                        rows[s] ? heard[s] / rows[s] : 0, late[s] + 0 }
                }' "$csv")
            who=$(basename "$csv" .csv)
            while read -r from conc bad first top back end heard late; do
                [ -n "$from" ] || continue
                # Telecentre k is the k-th client started (clock.csv).
                from=$(awk -F, -v k="$from" 'NR == k + 1 { n = $1 } END { print (n != "" ? n : k) }' \
                    "$out/$sc/clock.csv" 2>/dev/null || echo "$from")
                judge7 "$sc" "$(awk -v x="$conc" 'BEGIN { print (x <= 2) }')" \
                    "$who <- $from: audio in the 64 kbit/s phase $conc % concealed (<= 2 %; $heard frames a second played or recovered, of 50)"
                judge7 "$sc" "$([ "$bad" = 0 ] && echo 1 || echo 0)" \
                    "$who <- $from: from 22 s to 40 s, $bad s with pictures captured after 22 s above $lowest_height high$([ "$bad" = 0 ] || echo ", the first ending at $first s")$([ "$late" = 0 ] || echo "; $late s showing a larger picture captured before 22 s that the queue let out late")"
                if [ "$top" = 0 ]; then
                    judge7 "$sc" 0 "$who <- $from: no pictures in 10-20 s to know the top layer by"
                elif awk -v b="$back" 'BEGIN { exit !(b < 0) }'; then
                    judge7 "$sc" 0 "$who <- $from: not back at $top high by the end of the run ($end s)"
                else
                    judge7 "$sc" "$(awk -v b="$back" 'BEGIN { print (b <= 10) }')" \
                        "$who <- $from: back at $top high $back s after the recovery (<= 10 s)"
                fi
            done <<<"$rows"
        done < <(client_series "$out/$sc")
        ;;
    esac
done
exit $missed
