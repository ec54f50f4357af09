#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "rtp/error.h"
#include "tools/bench/scenario.h"

/* Copies the routing asks for, per stream, summed over the scenario. */
static size_t copies(const cq_bench_scenario_t *s) {
    size_t n = 0;
    for (size_t i = 0; i < s->nmembers; i++)
        for (unsigned k = 0; k < s->members[i].nstreams; k++)
            n += s->members[i].streams[k].ndest;
    return n;
}

static void test_scenario_fanout_routes_everything_to_every_receiver(void **state) {
    (void)state;
    cq_bench_scenario_t s;
    assert_int_equal(cq_bench_scenario_create(&s, CQ_BENCH_FANOUT, 10, 1, CQ_SRTP_AEAD_AES_128_GCM),
                     0);
    assert_int_equal(s.nmembers, 11);
    const cq_bench_member_t *pub = &s.members[0];
    assert_int_equal(pub->nstreams, 2); /* sound and one layer */
    assert_int_equal(pub->params.video_layers, 1);
    for (unsigned k = 0; k < pub->nstreams; k++) {
        assert_int_equal(pub->streams[k].ndest, 10);
        for (unsigned d = 0; d < 10; d++)
            assert_int_equal(s.dests[pub->streams[k].dest0 + d], d + 1);
    }
    /* Receivers send nothing: they are subscribed one by one, not to everyone. */
    assert_true(pub->params.subscribe_all);
    for (size_t i = 1; i < s.nmembers; i++) {
        assert_int_equal(s.members[i].nstreams, 0);
        assert_false(s.members[i].params.subscribe_all);
    }
    /* Sound: 50 packets a second; the layer: 900 kbit/s in 1,100-byte packets. */
    assert_true(s.in_pps > 50 + 102 && s.in_pps < 50 + 103);
    assert_true(s.out_pps > 10 * s.in_pps - 1 && s.out_pps < 10 * s.in_pps + 1);
    cq_bench_scenario_close(&s);
}

/* Each telecentre receives every other's sound and low layer, nobody the high one. */
static void test_scenario_conference_routes_low_layers_only(void **state) {
    (void)state;
    cq_bench_scenario_t s;
    assert_int_equal(
        cq_bench_scenario_create(&s, CQ_BENCH_CONFERENCE, 5, 1, CQ_SRTP_AEAD_AES_128_GCM), 0);
    assert_int_equal(s.nmembers, 5);
    for (size_t i = 0; i < s.nmembers; i++) {
        const cq_bench_member_t *m = &s.members[i];
        assert_int_equal(m->params.video_layers, 2);
        assert_true(m->params.subscribe_all);
        assert_true(m->has_prefs);
        assert_int_equal(m->pref_publisher, CQ_RELAY_ALL_PUBLISHERS);
        assert_int_equal(m->prefs.max_spatial, 0);
        assert_int_equal(m->streams[0].ndest, 4); /* sound */
        assert_int_equal(m->streams[1].ndest, 4); /* layer 0 */
        assert_int_equal(m->streams[2].ndest, 0); /* layer 1 */
        for (unsigned d = 0; d < 4; d++)
            assert_int_not_equal(s.dests[m->streams[0].dest0 + d], i);
    }
    assert_int_equal(copies(&s), 5 * 4 * 2);
    cq_bench_scenario_close(&s);
}

static void test_scenario_broadcast_spreads_viewers_over_layers(void **state) {
    (void)state;
    cq_bench_scenario_t s;
    assert_int_equal(
        cq_bench_scenario_create(&s, CQ_BENCH_BROADCAST, 7, 1, CQ_SRTP_AEAD_AES_128_GCM), 0);
    const cq_bench_member_t *p = &s.members[0];
    assert_int_equal(p->nstreams, 4);
    assert_int_equal(p->streams[0].ndest, 7);
    assert_int_equal(p->streams[1].ndest, 3); /* viewers 1, 4, 7 */
    assert_int_equal(p->streams[2].ndest, 2);
    assert_int_equal(p->streams[3].ndest, 2);
    for (unsigned l = 0; l < 3; l++)
        for (unsigned d = 0; d < p->streams[1 + l].ndest; d++) {
            const cq_bench_member_t *v = &s.members[s.dests[p->streams[1 + l].dest0 + d]];
            assert_int_equal(v->prefs.max_spatial, (int)l);
            assert_int_equal(v->pref_publisher, p->params.id);
        }
    cq_bench_scenario_close(&s);
}

/* Sessions repeat the scenario with their own ids, credentials, SSRCs and keys. */
static void test_scenario_sessions_are_independent(void **state) {
    (void)state;
    cq_bench_scenario_t s;
    assert_int_equal(
        cq_bench_scenario_create(&s, CQ_BENCH_FANOUT, 3, 2, CQ_SRTP_AES_CM_128_HMAC_SHA1_80), 0);
    assert_int_equal(s.nmembers, 8);
    const cq_bench_member_t *a = &s.members[0], *b = &s.members[4];
    assert_int_equal(a->session, 1);
    assert_int_equal(b->session, 2);
    assert_int_equal(a->params.id, b->params.id);
    assert_int_equal(a->params.suite, CQ_SRTP_AES_CM_128_HMAC_SHA1_80);
    assert_int_not_equal(a->params.audio_ssrc, b->params.audio_ssrc);
    assert_string_not_equal(a->params.ice_ufrag, b->params.ice_ufrag);
    assert_true(memcmp(a->params.key_in, b->params.key_in, sizeof a->params.key_in) != 0);
    assert_true(memcmp(a->params.key_in, a->params.key_out, sizeof a->params.key_in) != 0);
    assert_true(strlen(a->params.ice_pwd) >= 22);
    for (unsigned d = 0; d < b->streams[0].ndest; d++) /* session 2 routes within itself */
        assert_true(s.dests[b->streams[0].dest0 + d] >= 4);
    cq_bench_scenario_close(&s);
}

static void test_scenario_rejects_bad_arguments(void **state) {
    (void)state;
    cq_bench_scenario_t s;
    assert_int_equal(cq_bench_scenario_create(&s, CQ_BENCH_FANOUT, 0, 1, CQ_SRTP_AEAD_AES_128_GCM),
                     CQ_EINVAL);
    assert_int_equal(
        cq_bench_scenario_create(&s, CQ_BENCH_CONFERENCE, 1, 1, CQ_SRTP_AEAD_AES_128_GCM),
        CQ_EINVAL);
    assert_int_equal(cq_bench_scenario_create(&s, CQ_BENCH_FANOUT, 2, 0, CQ_SRTP_AEAD_AES_128_GCM),
                     CQ_EINVAL);
    assert_int_equal(
        cq_bench_scenario_create(&s, (cq_bench_kind_t)9, 2, 1, CQ_SRTP_AEAD_AES_128_GCM),
        CQ_EINVAL);
    cq_bench_kind_t k;
    assert_int_equal(cq_bench_scenario_from_name("broadcast", &k), 0);
    assert_int_equal(k, CQ_BENCH_BROADCAST);
    assert_int_equal(cq_bench_scenario_from_name("mesh", &k), CQ_EINVAL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scenario_fanout_routes_everything_to_every_receiver),
        cmocka_unit_test(test_scenario_conference_routes_low_layers_only),
        cmocka_unit_test(test_scenario_broadcast_spreads_viewers_over_layers),
        cmocka_unit_test(test_scenario_sessions_are_independent),
        cmocka_unit_test(test_scenario_rejects_bad_arguments),
    };
    return cmocka_run_group_tests_name("bench/scenario", tests, NULL, NULL);
}
