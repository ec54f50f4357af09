/*
 * The client's link against a real relay on loopback. Telecentre A reaches the relay
 * through a small UDP proxy on the test's loop, which can swallow everything (an outage:
 * the VSAT dish in a storm) and come back from a new port (the NAT rebinding that often
 * follows); B reaches it directly. Every wait is bounded by uv timers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <uv.h>

#include "client/link.h"
#include "relay/relay.h"
#include "rtp/error.h"
#include "rtp/rtp.h"
#include "support/media.h"

#define SESSION 3

/* The proxy: inner socket faces link A, outer socket faces the relay. */
typedef struct {
    uv_udp_t inner, outer;
    struct sockaddr_storage client, relay;
    bool have_client, blackhole;
    unsigned drop_checks; /* STUN requests from the client to lose, the next ones */
    /* STUN answers from the relay to hold back slow_ms, the next ones (one at a time). */
    unsigned slow_answers;
    uint64_t slow_ms;
    uv_timer_t slow;
    bool slow_open;
    uint8_t held[2048];
    size_t held_len;
    uint8_t buf[2048];
} proxy_t;

typedef struct {
    int ups, downs;
    bool up;
    int media_in;
    cq_test_media_info_t last;
} side_t;

typedef struct {
    uv_loop_t loop;
    struct cq_relay *relay;
    uint16_t port;
    cq_relay_participant_params_t params[2];
    proxy_t proxy;
    struct cq_link *link[2];
    side_t side[2];
} fixture_t;

static void make_params(cq_relay_participant_params_t *p, int i) {
    memset(p, 0, sizeof *p);
    p->id = (uint32_t)(i + 1);
    snprintf(p->ice_ufrag, sizeof p->ice_ufrag, "link%d", i);
    snprintf(p->ice_pwd, sizeof p->ice_pwd, "password-of-link-test-%d", i);
    p->suite = CQ_SRTP_AEAD_AES_128_GCM;
    for (int k = 0; k < CQ_SRTP_MAX_KEY_LEN; k++) {
        p->key_in[k] = (uint8_t)(i * 29 + k);
        p->key_out[k] = (uint8_t)(i * 13 + k + 77);
    }
    p->audio_ssrc = 0xa1000000u + (uint32_t)i;
    p->subscribe_all = true;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
    (void)suggested;
    proxy_t *p = h->data;
    *buf = uv_buf_init((char *)p->buf, sizeof p->buf);
}

static void forward(uv_udp_t *to, const uv_buf_t *buf, ssize_t n, const struct sockaddr *dst) {
    uv_buf_t b = uv_buf_init(buf->base, (unsigned)n);
    (void)uv_udp_try_send(to, &b, 1, dst);
}

static void on_inner(uv_udp_t *u, ssize_t n, const uv_buf_t *buf, const struct sockaddr *addr,
                     unsigned flags) {
    (void)flags;
    proxy_t *p = u->data;
    if (n <= 0 || addr == NULL)
        return;
    memcpy(&p->client, addr, sizeof(struct sockaddr_in));
    p->have_client = true;
    if (p->drop_checks > 0 && (buf->base[0] & 0xc0) == 0) { /* STUN, not (S)RTP */
        p->drop_checks--;
        return;
    }
    if (!p->blackhole)
        forward(&p->outer, buf, n, (const struct sockaddr *)&p->relay);
}

static void on_slow(uv_timer_t *t) {
    proxy_t *p = t->data;
    uv_buf_t b = uv_buf_init((char *)p->held, (unsigned)p->held_len);
    forward(&p->inner, &b, (ssize_t)p->held_len, (const struct sockaddr *)&p->client);
    p->held_len = 0;
}

static void on_outer(uv_udp_t *u, ssize_t n, const uv_buf_t *buf, const struct sockaddr *addr,
                     unsigned flags) {
    (void)flags;
    (void)addr;
    proxy_t *p = u->data;
    if (n <= 0 || !p->have_client || p->blackhole)
        return;
    if (p->slow_answers > 0 && p->held_len == 0 && (buf->base[0] & 0xc0) == 0 &&
        (size_t)n <= sizeof p->held) {
        p->slow_answers--;
        memcpy(p->held, buf->base, (size_t)n);
        p->held_len = (size_t)n;
        if (!p->slow_open) {
            assert_int_equal(uv_timer_init(u->loop, &p->slow), 0);
            p->slow.data = p;
            p->slow_open = true;
        }
        assert_int_equal(uv_timer_start(&p->slow, on_slow, p->slow_ms, 0), 0);
        return;
    }
    forward(&p->inner, buf, n, (const struct sockaddr *)&p->client);
}

static void open_outer(fixture_t *f) {
    struct sockaddr_in any;
    uv_ip4_addr("127.0.0.1", 0, &any);
    assert_int_equal(uv_udp_init(&f->loop, &f->proxy.outer), 0);
    f->proxy.outer.data = &f->proxy;
    assert_int_equal(uv_udp_bind(&f->proxy.outer, (const struct sockaddr *)&any, 0), 0);
    assert_int_equal(uv_udp_recv_start(&f->proxy.outer, on_alloc, on_outer), 0);
}

static uint16_t open_proxy(fixture_t *f) {
    proxy_t *p = &f->proxy;
    struct sockaddr_in a;
    uv_ip4_addr("127.0.0.1", f->port, (struct sockaddr_in *)&p->relay);
    uv_ip4_addr("127.0.0.1", 0, &a);
    assert_int_equal(uv_udp_init(&f->loop, &p->inner), 0);
    p->inner.data = p;
    assert_int_equal(uv_udp_bind(&p->inner, (const struct sockaddr *)&a, 0), 0);
    assert_int_equal(uv_udp_recv_start(&p->inner, on_alloc, on_inner), 0);
    open_outer(f);
    int len = sizeof a;
    assert_int_equal(uv_udp_getsockname(&p->inner, (struct sockaddr *)&a, &len), 0);
    return ntohs(a.sin_port);
}

static void on_state(void *ctx, bool up) {
    side_t *s = ctx;
    s->up = up;
    if (up)
        s->ups++;
    else
        s->downs++;
}

static void on_rtp(void *ctx, uint8_t *pkt, size_t len) {
    side_t *s = ctx;
    cq_rtp_view_t v;
    if (cq_rtp_parse(pkt, len, &v) > 0 && cq_test_media_read(&v, &s->last) == 0)
        s->media_in++;
}

static cq_link_config_t link_config(fixture_t *f, int i, uint16_t port) {
    cq_relay_participant_params_t *p = &f->params[i];
    return (cq_link_config_t){.relay_address = "127.0.0.1",
                              .relay_port = port,
                              .relay_ufrag = p->ice_ufrag,
                              .relay_pwd = p->ice_pwd,
                              .suite = p->suite,
                              .key_tx = p->key_in,
                              .key_rx = p->key_out,
                              .on_rtp = on_rtp,
                              .on_state = on_state,
                              .ctx = &f->side[i]};
}

static int setup(void **state) {
    static fixture_t f;
    memset(&f, 0, sizeof f);
    assert_int_equal(uv_loop_init(&f.loop), 0);
    cq_relay_config_t cfg = {.host = "127.0.0.1", .workers = 1};
    assert_int_equal(cq_relay_create(&f.relay, &cfg), 0);
    assert_int_equal(cq_relay_session_create(f.relay, SESSION, &f.port), 0);
    for (int i = 0; i < 2; i++) {
        make_params(&f.params[i], i);
        assert_int_equal(cq_relay_participant_add(f.relay, SESSION, &f.params[i]), 0);
    }
    *state = &f;
    return 0;
}

static void on_walk_close(uv_handle_t *h, void *arg) {
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

static int teardown(void **state) {
    fixture_t *f = *state;
    for (int i = 0; i < 2; i++)
        cq_link_close(f->link[i]);
    uv_walk(&f->loop, on_walk_close, NULL);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    cq_relay_destroy(f->relay);
    return 0;
}

/* Runs the loop until done(f) or ms pass. Returns whether done. */
typedef bool (*done_fn)(fixture_t *f);
typedef struct {
    fixture_t *f;
    done_fn done;
    uint64_t deadline;
    bool met;
} wait_t;

static void on_poll(uv_timer_t *t) {
    wait_t *w = t->data;
    w->met = w->done != NULL && w->done(w->f);
    if (w->met || uv_now(t->loop) >= w->deadline)
        uv_stop(t->loop);
}

static bool run_until(fixture_t *f, done_fn done, uint64_t ms) {
    uv_timer_t t;
    wait_t w = {.f = f, .done = done, .deadline = uv_now(&f->loop) + ms};
    uv_timer_init(&f->loop, &t);
    t.data = &w;
    uv_timer_start(&t, on_poll, 10, 10);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(&f->loop, UV_RUN_NOWAIT);
    return w.met;
}

static bool both_up(fixture_t *f) {
    return f->side[0].up && f->side[1].up;
}
static bool a_down(fixture_t *f) {
    return !f->side[0].up;
}
static bool a_up(fixture_t *f) {
    return f->side[0].up;
}
static bool b_got_media(fixture_t *f) {
    return f->side[1].media_in > 0;
}

/* A sends one tagged audio packet; returns whether B received it, whole, within 2 s. */
static bool a_reaches_b(fixture_t *f, uint16_t seq) {
    uint8_t pkt[256];
    size_t len = cq_test_audio_packet(pkt, 0, f->params[0].audio_ssrc, seq, seq * 960u);
    f->side[1].media_in = 0;
    if (cq_link_send_rtp(f->link[0], pkt, len) != 0)
        return false;
    bool got = run_until(f, b_got_media, 2000);
    return got && f->side[1].last.sender == 0 && f->side[1].last.body_intact &&
           !f->side[1].last.video;
}

static void start_links(fixture_t *f) {
    uint16_t proxy_port = open_proxy(f);
    cq_link_config_t a = link_config(f, 0, proxy_port), b = link_config(f, 1, f->port);
    assert_int_equal(cq_link_create(&f->link[0], &f->loop, &a), 0);
    assert_int_equal(cq_link_create(&f->link[1], &f->loop, &b), 0);
}

static void test_binds_and_carries_media(void **state) {
    fixture_t *f = *state;
    start_links(f);
    assert_false(cq_link_up(f->link[0]));
    uint8_t pkt[256];
    size_t len = cq_test_audio_packet(pkt, 0, f->params[0].audio_ssrc, 1, 960);
    /* Before the relay answered, media is refused rather than sent into the void. */
    assert_int_equal(cq_link_send_rtp(f->link[0], pkt, len), CQ_EAGAIN);
    assert_true(run_until(f, both_up, 3000));
    assert_int_equal(f->side[0].ups, 1);
    assert_true(cq_link_local_port(f->link[0]) > 0);

    assert_true(a_reaches_b(f, 2));
    cq_relay_participant_stats_t st;
    assert_int_equal(cq_relay_participant_stats(f->relay, SESSION, 1, &st), 0);
    assert_int_equal(st.packets_in, 1);
    assert_int_equal(st.drops_auth, 0);
    cq_link_stats_t ls;
    cq_link_stats(f->link[1], &ls);
    assert_int_equal(ls.packets_in, 1);
    assert_int_equal(ls.auth_failures, 0);
    assert_true(ls.answers >= 1);
}

/* A lossy path is not an outage: two checks lost in a row (they went 2.5 s apart, and two
 * lost made 5 s unanswered: down) are sent again a second after each, and the link stays
 * up; media flows throughout. */
static void test_lost_checks_are_not_an_outage(void **state) {
    fixture_t *f = *state;
    start_links(f);
    assert_true(run_until(f, both_up, 3000));
    cq_link_stats_t before, after;
    cq_link_stats(f->link[0], &before);
    f->proxy.drop_checks = 2;
    run_until(f, NULL, 9000);
    cq_link_stats(f->link[0], &after);
    assert_int_equal(f->proxy.drop_checks, 0); /* both were sent, and lost */
    assert_int_equal(f->side[0].downs, 0);
    assert_true(f->side[0].up);
    assert_true(after.answers > before.answers);
    assert_true(after.checks_sent - before.checks_sent >= 4); /* 2 lost, then answered */
    assert_true(after.checks_sent - before.checks_sent <= 7); /* not every half second */
    assert_true(a_reaches_b(f, 3));
}

/* Two checks lost in a row, and the answer to the third, sent 4.5 s after the last
 * answer, comes 800 ms late (a 3G link's queues grew): the link stays up. Said down at
 * 5 s, a telecentre on weak-3g-3 stopped its media for 3-5 s. */
static void test_slow_answer_after_lost_checks(void **state) {
    fixture_t *f = *state;
    start_links(f);
    assert_true(run_until(f, both_up, 3000));
    cq_link_stats_t before, after;
    cq_link_stats(f->link[0], &before);
    /* Wait for a fresh answer, then lose the next two checks and hold back the third's
     * answer. */
    while (true) {
        run_until(f, NULL, 20);
        cq_link_stats(f->link[0], &after);
        if (after.answers > before.answers)
            break;
        assert_true(after.checks_sent - before.checks_sent <= 2); /* bounded: one is due */
    }
    f->proxy.drop_checks = 2;
    f->proxy.slow_answers = 1;
    f->proxy.slow_ms = 800;
    run_until(f, NULL, 8000);
    cq_link_stats(f->link[0], &after);
    assert_int_equal(f->proxy.drop_checks, 0);
    assert_int_equal(f->proxy.slow_answers, 0);
    assert_int_equal(f->side[0].downs, 0);
    assert_true(f->side[0].up);
    assert_true(a_reaches_b(f, 4));
}

/* Feedback showing the relay hears us keeps the link up while every check is lost (on
 * weak-3g-3 three in a row are, now and then, on a path that carries media throughout);
 * once it stops too, the link goes down as before. */
static void test_feedback_keeps_link_up(void **state) {
    fixture_t *f = *state;
    start_links(f);
    assert_true(run_until(f, both_up, 3000));
    f->proxy.drop_checks = 1000;
    cq_link_stats_t before, after;
    cq_link_stats(f->link[0], &before);
    for (int i = 0; i < 14; i++) { /* 7 s: past the 5 s that say down without it */
        run_until(f, NULL, 500);
        cq_link_heard(f->link[0]);
    }
    cq_link_stats(f->link[0], &after);
    assert_int_equal(after.answers, before.answers); /* no check came through */
    assert_true(after.checks_sent - before.checks_sent >= 2);
    assert_int_equal(f->side[0].downs, 0);
    assert_true(a_reaches_b(f, 7));

    uint64_t t0 = uv_now(&f->loop);
    assert_true(run_until(f, a_down, 8000));
    assert_true(uv_now(&f->loop) - t0 >= 4500);
    assert_int_equal(f->side[0].downs, 1);
    /* Heard while down: only a check brings the link back. */
    cq_link_heard(f->link[0]);
    run_until(f, NULL, 700);
    assert_false(f->side[0].up);
}

/* The storm: nothing passes for a while. The link says it is down after about 5 s of
 * unanswered checks, checks every half second meanwhile, and when the path comes back
 * from another port carries media again with the same credentials, no new join. */
static void test_outage_and_rebinding(void **state) {
    fixture_t *f = *state;
    start_links(f);
    assert_true(run_until(f, both_up, 3000));
    assert_true(a_reaches_b(f, 1));

    f->proxy.blackhole = true;
    uint64_t t0 = uv_now(&f->loop);
    assert_true(run_until(f, a_down, 9000));
    uint64_t took = uv_now(&f->loop) - t0;
    assert_true(took >= 4500); /* not before the five seconds of silence */
    assert_int_equal(f->side[0].downs, 1);
    assert_true(f->side[1].up); /* B's path was never cut */

    cq_link_stats_t before, after;
    cq_link_stats(f->link[0], &before);
    run_until(f, NULL, 1600);
    cq_link_stats(f->link[0], &after);
    assert_true(after.checks_sent - before.checks_sent >= 3); /* fast checks while down */
    uint8_t pkt[256];
    size_t len = cq_test_audio_packet(pkt, 0, f->params[0].audio_ssrc, 5, 5 * 960u);
    assert_int_equal(cq_link_send_rtp(f->link[0], pkt, len), CQ_EAGAIN);

    /* Back, through a new NAT mapping. */
    uv_close((uv_handle_t *)&f->proxy.outer, NULL);
    uv_run(&f->loop, UV_RUN_NOWAIT); /* the close completes before the handle is reused */
    open_outer(f);
    f->proxy.blackhole = false;
    assert_true(run_until(f, a_up, 2000));
    assert_int_equal(f->side[0].ups, 2);
    assert_true(a_reaches_b(f, 6));
    cq_relay_participant_stats_t st;
    assert_int_equal(cq_relay_participant_stats(f->relay, SESSION, 1, &st), 0);
    assert_int_equal(st.rebinds, 1);
}

/* A relay that answers 401 (wrong password: the participant is not who it says) never
 * brings the link up, and says so in its counters. */
static void test_refused_credentials(void **state) {
    fixture_t *f = *state;
    cq_link_config_t a = link_config(f, 0, f->port);
    a.relay_pwd = "not-the-password-at-all!";
    assert_int_equal(cq_link_create(&f->link[0], &f->loop, &a), 0);
    run_until(f, NULL, 1200);
    assert_false(cq_link_up(f->link[0]));
    assert_int_equal(f->side[0].ups, 0);
    cq_link_stats_t ls;
    cq_link_stats(f->link[0], &ls);
    assert_true(ls.checks_sent >= 2);
    assert_int_equal(ls.answers, 0);
    assert_true(ls.check_errors >= 1); /* the relay's 401s, not taken for consent */
}

static void test_bad_config(void **state) {
    fixture_t *f = *state;
    struct cq_link *l = (struct cq_link *)1;
    cq_link_config_t c = link_config(f, 0, f->port);
    c.relay_address = "relay.example.org"; /* the join answer gives literals */
    assert_int_equal(cq_link_create(&l, &f->loop, &c), CQ_EINVAL);
    assert_null(l);
    c = link_config(f, 0, f->port);
    c.relay_ufrag = "";
    assert_int_equal(cq_link_create(&l, &f->loop, &c), CQ_EINVAL);
    c = link_config(f, 0, 0);
    assert_int_equal(cq_link_create(&l, &f->loop, &c), CQ_EINVAL);
    c = link_config(f, 0, f->port);
    c.suite = (cq_srtp_suite_t)0;
    assert_int_equal(cq_link_create(&l, &f->loop, &c), CQ_EINVAL);
    c = link_config(f, 0, f->port);
    c.key_rx = NULL;
    assert_int_equal(cq_link_create(&l, &f->loop, &c), CQ_EINVAL);
    cq_link_close(NULL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_binds_and_carries_media, setup, teardown),
        cmocka_unit_test_setup_teardown(test_outage_and_rebinding, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lost_checks_are_not_an_outage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_slow_answer_after_lost_checks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_feedback_keeps_link_up, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused_credentials, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_config, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
