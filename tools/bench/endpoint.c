#include "tools/bench/endpoint.h"

#include <string.h>

#include "client/ice_check.h"
#include "rtp/demux.h"
#include "rtp/error.h"
#include "tools/bench/sys.h"

#define RETRY_NS (100u * 1000000u)

int cq_bench_ep_open(cq_bench_ep_t *e, const cq_relay_participant_params_t *p, uint16_t relay_port,
                     int sockbuf) {
    memset(e, 0, sizeof *e);
    e->udp.fd = -1;
    memcpy(e->ufrag, p->ice_ufrag, sizeof e->ufrag);
    memcpy(e->pwd, p->ice_pwd, sizeof e->pwd);
    int err = cq_udp_addr_parse(&e->relay, "127.0.0.1", relay_port);
    if (err != 0)
        return err;
    e->to = e->relay;
    if ((err = cq_udp_open(&e->udp, "127.0.0.1", 0, sockbuf, sockbuf)) != 0)
        return err;
    int port = cq_udp_local_port(&e->udp);
    if (port <= 0) {
        err = port < 0 ? port : CQ_EINVAL;
        goto fail_udp;
    }
    cq_udp_addr_parse(&e->local, "127.0.0.1", (uint16_t)port);
    size_t klen = cq_srtp_key_len(p->suite);
    if ((err = cq_srtp_init(&e->tx, p->suite, CQ_SRTP_OUTBOUND, p->key_in, klen, 0)) != 0)
        goto fail_udp;
    /* Receivers unprotect only a sample (every so many packets), so the window only has
     * to hold the packets between two samples of one SSRC. */
    if ((err = cq_srtp_init(&e->rx, p->suite, CQ_SRTP_INBOUND, p->key_out, klen,
                            CQ_SRTP_MAX_REPLAY_WINDOW)) != 0)
        goto fail_tx;
    return 0;
fail_tx:
    cq_srtp_close(&e->tx);
fail_udp:
    cq_udp_close(&e->udp);
    return err;
}

void cq_bench_ep_close(cq_bench_ep_t *e) {
    cq_srtp_close(&e->tx);
    cq_srtp_close(&e->rx);
    cq_udp_close(&e->udp);
}

static cq_ice_check_config_t ice_config(const cq_bench_ep_t *e) {
    return (cq_ice_check_config_t){.relay_ufrag = e->ufrag,
                                   .relay_pwd = e->pwd,
                                   .local_ufrag = "bench",
                                   .tie_breaker = 0x6368617371756921ull};
}

static int send_check(cq_bench_ep_t *e) {
    cq_ice_check_config_t ice = ice_config(e);
    uint8_t req[256];
    int n = cq_ice_check_write(&ice, e->tid, true, req, sizeof req);
    return n < 0 ? n : cq_udp_send_one(&e->udp, req, (size_t)n, &e->relay);
}

/* Reads what waits on e's socket; returns 1 once its answer verified, 0 while it waits,
 * or the error an authenticated answer carried. */
static int poll_answer(cq_bench_ep_t *e) {
    uint8_t buf[1500];
    for (;;) {
        cq_udp_dgram_t d = {.data = buf, .cap = sizeof buf};
        int got = cq_udp_recv(&e->udp, &d, 1);
        if (got <= 0)
            return got;
        if (d.truncated || cq_demux_classify(buf, d.len) != CQ_DEMUX_STUN)
            continue;
        cq_ice_check_config_t ice = ice_config(e);
        cq_stun_addr_t mapped;
        int rc = cq_ice_check_answer(&ice, e->tid, buf, d.len, &mapped);
        if (rc == CQ_ENOENT)
            continue;
        return rc == 0 ? 1 : rc;
    }
}

int cq_bench_ep_bind_all(cq_bench_ep_t *eps, size_t n, int timeout_ms) {
    uint64_t start = cq_bench_mono_ns(), next_send = start;
    uint64_t deadline = start + (uint64_t)timeout_ms * 1000000u;
    for (size_t i = 0; i < n; i++) {
        /* A transaction id per endpoint: its index, and a marker byte. */
        memset(eps[i].tid, 0, sizeof eps[i].tid);
        memcpy(eps[i].tid, &i, sizeof i);
        eps[i].tid[CQ_STUN_TID_SIZE - 1] = 0xb5;
        eps[i].bound = false;
    }
    size_t bound = 0;
    while (bound < n) {
        uint64_t now = cq_bench_mono_ns();
        if (now >= deadline)
            return CQ_EAGAIN;
        bool resend = now >= next_send;
        if (resend)
            next_send = now + RETRY_NS;
        for (size_t i = 0; i < n; i++) {
            cq_bench_ep_t *e = &eps[i];
            if (e->bound)
                continue;
            int rc = resend ? send_check(e) : 0;
            if (rc == 0)
                rc = poll_answer(e);
            if (rc < 0 && rc != CQ_EAGAIN)
                return rc;
            if (rc == 1) {
                e->bound = true;
                bound++;
            }
        }
        cq_bench_sleep_ns(200000u);
    }
    return 0;
}
