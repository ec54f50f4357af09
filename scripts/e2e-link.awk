# One link's figures from its chasqui-netsim --series CSV (docs/NETSIM.md), as JSON:
#   awk -f scripts/e2e-link.awk NAME.netsim.csv
#   {"up": {...}, "down": {...}}
# scripts/e2e.sh puts them in report.json ("links"); scripts/e2e-check.sh reads them there.
#
# The target "the relay never sends a receiver more than its link's capacity for longer
# than 2 s" (issue 7, docs/E2E.md) is measured here as overload_s, per direction:
#
#   - a sample (250 ms) of a capped link is *standing* when its queue held a standing
#     delay at the sample's end, queue_ms >= min(250 ms, half the queue's limit), or the
#     queue overflowed during it (drop_queue > 0): the link was full;
#   - a sample is *over capacity* when it is standing and the bits offered to the link in
#     the half second up to its end (it and the sample before: what the sender sent, lost
#     packets included) exceed the bits the capacity allowed in that time;
#   - overload_s is the longest run of consecutive over-capacity samples, in seconds.
#
# Both halves are needed: a queue may stand for seconds while it drains a backlog (after a
# rate drop) with the sender already below the capacity, and a sender may exceed the
# capacity for a moment (a keyframe) that the queue absorbs. The half second smooths the
# frames a 250 ms sample happens to hold (15 frames a second: 3 or 4), and a run ends at
# most a sample after the sender came back under. Uncapped links give 0.
BEGIN { FS = "," }
NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
{
    d = $col["dir"]
    k = ++n[d]
    t = $col["t_s"] + 0
    dt[d, k] = t - (k > 1 ? last[d] : 0)
    last[d] = t
    cap = $col["capacity_bps"] + 0
    off = $col["offered_bps"] + 0
    capb[d, k] = cap * dt[d, k]
    offb[d, k] = off * dt[d, k]
    q = $col["queue_ms"] + 0
    lim = $col["queue_limit_ms"] + 0
    thr = lim / 2 < 250 ? lim / 2 : 250
    standing[d, k] = cap > 0 && (q >= thr || $col["drop_queue"] > 0)
    if (cap > 0) { capsum[d] += cap * dt[d, k]; captime[d] += dt[d, k] }
    offsum[d] += off * dt[d, k]
    delsum[d] += $col["delivered_bps"] * dt[d, k]
    time[d] += dt[d, k]
    if ($col["queue_ms_max"] > qmax[d]) qmax[d] = $col["queue_ms_max"] + 0
    qs[d, k] = q
    if (standing[d, k]) stood[d] += dt[d, k]
    dq[d] += $col["drop_queue"]; dl[d] += $col["drop_loss"] + $col["drop_burst"]
    doo[d] += $col["drop_outage"]; dp[d] += $col["drop_pool"]
}
function longest_overload(d,    k, o, c, prev, run, best) {
    best = 0; run = 0
    for (k = 1; k <= n[d]; k++) {
        # The half second: this sample and the one before, unless that one was uncapped
        # (netsim writes capacity 0 for a sample uncapped for any of its time), when it
        # allowed any number of bits: this sample is judged alone.
        prev = k > 1 && capb[d, k - 1] > 0
        o = offb[d, k] + (prev ? offb[d, k - 1] : 0)
        c = capb[d, k] + (prev ? capb[d, k - 1] : 0)
        if (standing[d, k] && o > c) { run += dt[d, k]; if (run > best) best = run } else run = 0
    }
    return best
}
function p95(d,    i, m, tmp, x, y, z) {
    m = n[d]
    if (m == 0) return 0
    for (i = 1; i <= m; i++) tmp[i] = qs[d, i]
    # Insertion sort: a minute is 240 samples.
    for (x = 2; x <= m; x++) { z = tmp[x]; for (y = x - 1; y >= 1 && tmp[y] > z; y--) tmp[y + 1] = tmp[y]; tmp[y + 1] = z }
    return tmp[int(0.95 * (m - 1)) + 1]
}
function dir_json(d) {
    return sprintf("{\"capacity_kbps\": %.1f, \"offered_kbps\": %.1f, \"delivered_kbps\": %.1f, " \
        "\"queue_ms_p95\": %d, \"queue_ms_max\": %d, \"standing_s\": %.2f, \"overload_s\": %.2f, " \
        "\"drop_queue\": %d, \"drop_loss\": %d, \"drop_outage\": %d, \"drop_pool\": %d}",
        captime[d] > 0 ? capsum[d] / captime[d] / 1000 : 0,
        time[d] > 0 ? offsum[d] / time[d] / 1000 : 0, time[d] > 0 ? delsum[d] / time[d] / 1000 : 0,
        p95(d), qmax[d], stood[d], longest_overload(d), dq[d], dl[d], doo[d], dp[d])
}
END { printf "{\"up\": %s, \"down\": %s}\n", dir_json("up"), dir_json("down") }
