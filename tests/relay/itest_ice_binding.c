/*
 * ICE-lite over real sockets: a worker answers Binding requests with relay/ice.h the way
 * the relay does, and the test peer (built from rtp/ only) binds to it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "relay/ice.h"
#include "relay/worker.h"
#include "rtp/demux.h"
#include "rtp/error.h"
#include "support/peer.h"

#define RELAY_UFRAG "rlyU"
#define RELAY_PWD   "relay-ice-password-0123"

typedef struct {
    unsigned answered, dropped;
    cq_udp_addr_t last_bound;
} responder_t;

/* The relay's ICE step, minus sessions: one known ufrag with its password. */
static void on_readable(void *ctx, cq_udp_t *udp, uint64_t now_us) {
    responder_t *r = ctx;
    (void)now_us;
    uint8_t bufs[CQ_UDP_BATCH][1500];
    cq_udp_dgram_t msgs[CQ_UDP_BATCH];
    for (;;) {
        for (int i = 0; i < CQ_UDP_BATCH; i++)
            msgs[i] = (cq_udp_dgram_t){.data = bufs[i], .cap = sizeof bufs[i]};
        int n = cq_udp_recv(udp, msgs, CQ_UDP_BATCH);
        if (n <= 0)
            return;
        for (int i = 0; i < n; i++) {
            cq_stun_view_t v;
            const char *ufrag;
            size_t ufrag_len;
            if (cq_demux_classify(msgs[i].data, msgs[i].len) != CQ_DEMUX_STUN ||
                cq_stun_parse(msgs[i].data, msgs[i].len, &v) < 0 ||
                cq_ice_request_ufrag(&v, &ufrag, &ufrag_len) != 0) {
                r->dropped++;
                continue;
            }
            bool known = ufrag_len == strlen(RELAY_UFRAG) && memcmp(ufrag, RELAY_UFRAG, 4) == 0;
            const char *pwd = known ? RELAY_PWD : NULL;
            cq_ice_result_t res;
            cq_ice_check(msgs[i].data, msgs[i].len, &v, pwd, pwd ? strlen(pwd) : 0, &res);
            uint8_t out[256];
            int len;
            if (res.verdict == CQ_ICE_SUCCESS) {
                r->last_bound = msgs[i].from;
                len = cq_ice_write_success(&v, &msgs[i].from, RELAY_PWD, strlen(RELAY_PWD), out,
                                           sizeof out);
            } else if (res.verdict == CQ_ICE_ERROR) {
                len = cq_ice_write_error(&v, &res, pwd, pwd ? strlen(pwd) : 0, out, sizeof out);
            } else {
                r->dropped++;
                continue;
            }
            if (len > 0 && cq_udp_send_one(udp, out, (size_t)len, &msgs[i].from) == 0)
                r->answered++;
        }
    }
}

static const cq_worker_ops_t ops = {on_readable, NULL};

static int read_answered(void *arg) {
    return (int)((responder_t *)arg)->answered;
}

static void open_peer(cq_test_peer_t *p, uint16_t port, const char *ufrag, const char *pwd) {
    static const uint8_t key[CQ_SRTP_MAX_KEY_LEN] = {7};
    cq_test_peer_config_t cfg = {.relay_ip = "127.0.0.1",
                                 .relay_port = port,
                                 .relay_ufrag = ufrag,
                                 .relay_pwd = pwd,
                                 .local_ufrag = "tc01",
                                 .suite = CQ_SRTP_AEAD_AES_128_GCM,
                                 .key_tx = key,
                                 .key_rx = key};
    assert_int_equal(cq_test_peer_open(p, &cfg), 0);
}

static void test_ice_binding_over_loopback(void **state) {
    (void)state;
    responder_t r = {0};
    struct cq_worker *w;
    cq_worker_config_t wc = {.host = "127.0.0.1"};
    assert_int_equal(cq_worker_create(&w, &wc, &ops, &r), 0);
    assert_int_equal(cq_worker_start(w), 0);
    uint16_t port = cq_worker_port(w);

    cq_test_peer_t good, bad_pwd, bad_ufrag;
    open_peer(&good, port, RELAY_UFRAG, RELAY_PWD);
    open_peer(&bad_pwd, port, RELAY_UFRAG, "guessed-password");
    open_peer(&bad_ufrag, port, "nobody", RELAY_PWD);

    /* The authenticated peer is bound, and learns the address the relay saw. */
    assert_int_equal(cq_test_peer_bind(&good, true, 2000), 0);
    assert_int_equal(good.mapped.port, cq_udp_local_port(&good.udp));
    /* Wrong credentials: a 401 that the peer can tell from silence. */
    assert_int_equal(cq_test_peer_bind(&bad_pwd, true, 2000), -401);
    assert_int_equal(cq_test_peer_bind(&bad_ufrag, true, 2000), -401);
    /* Garbage is dropped without an answer. */
    static const uint8_t junk[] = {0x00, 0x01, 0x00, 0x00, 1, 2, 3};
    assert_int_equal(cq_test_peer_send_raw(&good, junk, sizeof junk), 0);
    assert_int_equal(cq_test_peer_bind(&good, false, 2000), 0); /* consent refresh */

    assert_int_equal(cq_worker_call(w, read_answered, &r), 4);
    assert_int_equal(cq_worker_stop(w), 0);
    assert_true(r.dropped >= 1);
    assert_true(cq_udp_addr_equal(&r.last_bound, &good.mapped));
    cq_test_peer_close(&good);
    cq_test_peer_close(&bad_pwd);
    cq_test_peer_close(&bad_ufrag);
    cq_worker_destroy(w);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ice_binding_over_loopback),
    };
    return cmocka_run_group_tests_name("relay/ice_binding", tests, NULL, NULL);
}
