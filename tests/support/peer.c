#include "support/peer.h"

#include "client/ice_check.h"

#include <poll.h>
#include <stdio.h>
#include <string.h>

#include "rtp/demux.h"
#include "rtp/error.h"
#include "rtp/stun.h"

static void copy_str(char *dst, size_t cap, const char *src) {
    snprintf(dst, cap, "%s", src ? src : "");
}

int cq_test_peer_open(cq_test_peer_t *p, const cq_test_peer_config_t *cfg) {
    memset(p, 0, sizeof *p);
    p->udp.fd = -1;
    copy_str(p->relay_ufrag, sizeof p->relay_ufrag, cfg->relay_ufrag);
    copy_str(p->relay_pwd, sizeof p->relay_pwd, cfg->relay_pwd);
    copy_str(p->local_ufrag, sizeof p->local_ufrag, cfg->local_ufrag ? cfg->local_ufrag : "peer");
    int err = cq_udp_addr_parse(&p->relay, cfg->relay_ip, cfg->relay_port);
    if (err != 0)
        return err;
    err = cq_udp_open(&p->udp, cfg->bind_ip ? cfg->bind_ip : "127.0.0.1", 0, 1 << 20, 1 << 20);
    if (err != 0)
        return err;
    size_t klen = cq_srtp_key_len(cfg->suite);
    if ((err = cq_srtp_init(&p->tx, cfg->suite, CQ_SRTP_OUTBOUND, cfg->key_tx, klen, 0)) != 0 ||
        (err = cq_srtp_init(&p->rx, cfg->suite, CQ_SRTP_INBOUND, cfg->key_rx, klen, 1024)) != 0) {
        cq_test_peer_close(p);
        return err;
    }
    return 0;
}

void cq_test_peer_close(cq_test_peer_t *p) {
    cq_srtp_close(&p->tx);
    cq_srtp_close(&p->rx);
    cq_udp_close(&p->udp);
}

/* Waits for one datagram; returns its length, 0 on time-out, or an error. */
static int wait_datagram(cq_test_peer_t *p, uint8_t *buf, size_t cap, int timeout_ms) {
    struct pollfd pfd = {.fd = p->udp.fd, .events = POLLIN};
    int r = poll(&pfd, 1, timeout_ms);
    if (r <= 0)
        return 0;
    cq_udp_dgram_t m = {.data = buf, .cap = cap};
    int n = cq_udp_recv(&p->udp, &m, 1);
    if (n <= 0)
        return n;
    return m.truncated ? CQ_ETRUNCATED : (int)m.len;
}

int cq_test_peer_bind(cq_test_peer_t *p, bool nominate, int timeout_ms) {
    uint8_t tid[CQ_STUN_TID_SIZE] = {0};
    p->tid_counter++;
    memcpy(tid, &p->tid_counter, sizeof p->tid_counter);
    tid[11] = 0xc9;
    cq_ice_check_config_t ice = {.relay_ufrag = p->relay_ufrag,
                                 .relay_pwd = p->relay_pwd,
                                 .local_ufrag = p->local_ufrag,
                                 .tie_breaker = 0x1122334455667788ull};
    uint8_t req[256];
    int rc = cq_ice_check_write(&ice, tid, nominate, req, sizeof req);
    if (rc < 0)
        return rc;
    if ((rc = cq_test_peer_send_raw(p, req, (size_t)rc)) != 0)
        return rc;

    uint8_t buf[2048];
    for (int waited = 0; waited < timeout_ms; waited += 10) {
        int n = wait_datagram(p, buf, sizeof buf, 10);
        if (n <= 0 || cq_demux_classify(buf, (size_t)n) != CQ_DEMUX_STUN)
            continue;
        cq_stun_addr_t mapped;
        memset(&mapped, 0, sizeof mapped);
        rc = cq_ice_check_answer(&ice, tid, buf, (size_t)n, &mapped);
        if (rc == CQ_ENOENT)
            continue;
        p->stun_received++;
        if (rc != 0)
            return rc;
        if (mapped.port != 0) {
            p->mapped.family = mapped.family == CQ_STUN_FAMILY_IPV6 ? 6 : 4;
            p->mapped.port = mapped.port;
            memcpy(p->mapped.ip, mapped.addr, 16);
        }
        return 0;
    }
    return CQ_EAGAIN;
}

void cq_test_participant_params(const cq_test_telecentre_t *t, cq_relay_participant_params_t *p) {
    memset(p, 0, sizeof *p);
    p->id = t->id;
    p->suite = CQ_SRTP_AEAD_AES_128_GCM;
    p->subscribe_all = true;
    snprintf(p->ice_ufrag, sizeof p->ice_ufrag, "%s-%u", t->tag, t->id);
    snprintf(p->ice_pwd, sizeof p->ice_pwd, "%s-relay-test-password-%u", t->tag, t->id);
    for (int k = 0; k < CQ_SRTP_MAX_KEY_LEN; k++) {
        p->key_in[k] = (uint8_t)(t->id * 7u + (unsigned)k);
        p->key_out[k] = (uint8_t)(t->id * 13u + (unsigned)k + 50u);
    }
    p->audio_ssrc = t->audio_ssrc;
    p->video_layers = t->video_layers;
    for (unsigned l = 0; l < t->video_layers && l < CQ_RELAY_MAX_LAYERS; l++) {
        p->video_ssrc[l] = t->video_ssrc + l;
        p->video_rtx_ssrc[l] = t->rtx_ssrc + l;
    }
}

int cq_test_peer_join(cq_test_peer_t *peer, struct cq_relay *relay, uint32_t session, uint16_t port,
                      const cq_relay_participant_params_t *p) {
    int err = cq_relay_participant_add(relay, session, p);
    if (err != 0)
        return err;
    cq_test_peer_config_t cfg = {.relay_ip = "127.0.0.1",
                                 .relay_port = port,
                                 .relay_ufrag = p->ice_ufrag,
                                 .relay_pwd = p->ice_pwd,
                                 .local_ufrag = "peer",
                                 .suite = p->suite,
                                 .key_tx = p->key_in,
                                 .key_rx = p->key_out};
    if ((err = cq_test_peer_open(peer, &cfg)) != 0)
        return err;
    if ((err = cq_test_peer_bind(peer, true, 2000)) != 0)
        cq_test_peer_close(peer);
    return err;
}

int cq_test_relay_open(struct cq_relay **relay, uint32_t session, const cq_test_telecentre_t *t,
                       size_t n, cq_relay_participant_params_t *p, cq_test_peer_t *peer) {
    cq_relay_config_t cfg = {.host = "127.0.0.1", .workers = 1};
    int err = cq_relay_create(relay, &cfg);
    if (err != 0)
        return err;
    uint16_t port;
    size_t joined = 0;
    err = cq_relay_session_create(*relay, session, &port);
    for (; err == 0 && joined < n; joined++) {
        cq_test_participant_params(&t[joined], &p[joined]);
        if ((err = cq_test_peer_join(&peer[joined], *relay, session, port, &p[joined])) != 0)
            break; /* the peer that failed closed itself */
    }
    if (err != 0)
        cq_test_relay_close(*relay, peer, joined);
    return err;
}

void cq_test_relay_close(struct cq_relay *relay, cq_test_peer_t *peer, size_t n) {
    for (size_t i = 0; i < n; i++)
        cq_test_peer_close(&peer[i]);
    cq_relay_destroy(relay);
}

int cq_test_peer_send_raw(cq_test_peer_t *p, const uint8_t *data, size_t len) {
    return cq_udp_send_one(&p->udp, data, len, &p->relay);
}

static int send_protected(cq_test_peer_t *p, const uint8_t *pkt, size_t len, bool rtcp) {
    uint8_t buf[CQ_UDP_MAX_DATAGRAM + CQ_SRTP_PROTECT_HEADROOM];
    if (len > CQ_UDP_MAX_DATAGRAM)
        return CQ_EINVAL;
    memcpy(buf, pkt, len);
    int rc = rtcp ? cq_srtp_protect_rtcp(&p->tx, buf, &len, sizeof buf)
                  : cq_srtp_protect(&p->tx, buf, &len, sizeof buf);
    return rc != 0 ? rc : cq_test_peer_send_raw(p, buf, len);
}

int cq_test_peer_send_rtp(cq_test_peer_t *p, const uint8_t *pkt, size_t len) {
    return send_protected(p, pkt, len, false);
}

int cq_test_peer_send_rtcp(cq_test_peer_t *p, const uint8_t *pkt, size_t len) {
    return send_protected(p, pkt, len, true);
}

int cq_test_peer_recv(cq_test_peer_t *p, uint8_t *out, size_t cap, bool *is_rtcp, int timeout_ms) {
    /* Waits in slices so skipped datagrams do not extend the wait; a timeout of 0 is one
     * non-blocking look. poll returns as soon as something arrives. */
    for (int waited = 0;;) {
        int slice = timeout_ms - waited < 5 ? timeout_ms - waited : 5;
        int n = wait_datagram(p, out, cap, slice);
        if (n <= 0) {
            waited += slice;
            if (waited >= timeout_ms)
                return CQ_EAGAIN;
            continue;
        }
        size_t len = (size_t)n;
        cq_demux_kind_t kind = cq_demux_classify(out, len);
        if (kind != CQ_DEMUX_RTP && kind != CQ_DEMUX_RTCP) {
            p->other_received++;
            continue;
        }
        bool rtcp = kind == CQ_DEMUX_RTCP;
        int rc =
            rtcp ? cq_srtp_unprotect_rtcp(&p->rx, out, &len) : cq_srtp_unprotect(&p->rx, out, &len);
        if (rc != 0) {
            p->auth_failures++;
            continue;
        }
        *is_rtcp = rtcp;
        return (int)len;
    }
}

bool cq_test_peer_scan_rtcp(cq_test_peer_t *p, int quiet_ms, cq_test_rtcp_visit_fn visit,
                            void *ctx) {
    for (int k = 0; k < 1000; k++) {
        uint8_t buf[1600];
        bool rtcp;
        int n = cq_test_peer_recv(p, buf, sizeof buf, &rtcp, quiet_ms);
        if (n == CQ_EAGAIN)
            return false;
        if (n <= 0 || !rtcp)
            continue;
        cq_rtcp_iter_t it;
        cq_rtcp_header_t h;
        bool done = false;
        cq_rtcp_iter_init(&it, buf, (size_t)n);
        while (cq_rtcp_iter_next(&it, &h) > 0)
            done |= visit(&h, ctx);
        if (done)
            return true;
    }
    return false;
}
