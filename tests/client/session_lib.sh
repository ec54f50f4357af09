# Sourced by the client's shell tests: with c() calling chasqui-ctl against the daemon and
# fail() reporting, adds Cachicoto (1) and Anda (2), schedules session 1 for both (open
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
