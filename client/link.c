#include "client/link.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "client/ice_check.h"
#include "rtp/demux.h"
#include "rtp/error.h"

enum {
    CHECK_FAST_MS = 500,     /* while unbound or down */
    CHECK_CONSENT_MS = 2500, /* once answered: RFC 7675 asks for 4..6 s ± jitter; we are faster */
    DOWN_AFTER_MS = 5000,
    /* Once up, a check not answered within this goes again at once: the link is down only
     * when the relay has not answered for DOWN_AFTER_MS, and checks 2.5 s apart made that
     * two lost in a row, which VSAT's 1 % each way does about once in 2,500 checks (a
     * telecentre's media dropped for seconds, a few times a day). Now it takes three:
     * once in 100,000. */
    RECHECK_MS = 1000,
    /* On a VSAT hop an answer can come back after two more checks went out, so a few
     * transactions stay answerable. */
    TIDS = 8,
    MAX_DGRAM = 1500,
};

struct cq_link {
    uv_loop_t *loop;
    uv_udp_t udp;
    uv_timer_t timer;
    int open_handles; /* freed when both close callbacks ran */
    struct sockaddr_storage relay;
    char relay_ufrag[64], relay_pwd[64], local_ufrag[16];
    cq_ice_check_config_t ice;
    uint8_t tids[TIDS][CQ_STUN_TID_SIZE];
    unsigned next_tid;
    cq_srtp_t tx, rx;
    bool srtp_tx, srtp_rx;
    bool up, ever_up;
    uint64_t last_answer_ms, created_ms;
    uint64_t last_heard_ms; /* feedback showed the relay hearing us (cq_link_heard) */
    uint64_t last_check_ms; /* when the last check went out; 0: none yet */
    cq_link_config_t cfg;
    cq_link_stats_t stats;
    uint8_t rbuf[MAX_DGRAM + 64];
    bool rbuf_busy;
    uint8_t sbuf[MAX_DGRAM + CQ_SRTP_PROTECT_HEADROOM];
};

static void set_up(struct cq_link *l, bool up) {
    if (l->up == up)
        return;
    l->up = up;
    if (!up)
        l->stats.downs++;
    if (l->cfg.on_state)
        l->cfg.on_state(l->cfg.ctx, up);
}

static int send_raw(struct cq_link *l, uint8_t *buf, size_t len) {
    uv_buf_t b = uv_buf_init((char *)buf, (unsigned)len);
    /* try_send: no request to allocate and nothing queued behind a full socket buffer;
     * a real-time packet that cannot leave now is better dropped. */
    int rc = uv_udp_try_send(&l->udp, &b, 1, (const struct sockaddr *)&l->relay);
    if (rc == UV_EAGAIN || rc == UV_ENOBUFS) {
        l->stats.send_drops++;
        return CQ_EAGAIN;
    }
    if (rc < 0) {
        /* An unreachable network during an outage is what the checks are for. */
        l->stats.send_errors++;
        return rc;
    }
    return 0;
}

static void send_check(struct cq_link *l) {
    uint8_t *tid = l->tids[l->next_tid++ % TIDS];
    if (getrandom(tid, CQ_STUN_TID_SIZE, 0) != CQ_STUN_TID_SIZE)
        memcpy(tid, &l->next_tid, sizeof l->next_tid); /* unique is all that is needed */
    uint8_t req[256];
    int n = cq_ice_check_write(&l->ice, tid, true, req, sizeof req);
    if (n > 0 && send_raw(l, req, (size_t)n) == 0)
        l->stats.checks_sent++;
    l->last_check_ms = uv_now(l->loop);
}

static void on_timer(uv_timer_t *t) {
    struct cq_link *l = t->data;
    uint64_t now = uv_now(l->loop);
    uint64_t last = l->last_heard_ms > l->last_answer_ms ? l->last_heard_ms : l->last_answer_ms;
    uint64_t since = now - (l->ever_up ? last : l->created_ms);
    uint64_t since_check = now - l->last_check_ms;
    /* Down when nothing was answered, nor feedback heard, for DOWN_AFTER_MS and the last
     * check, too, has had RECHECK_MS to be: the third check after the last answer goes
     * 4.5 s after it, and its answer, on a path whose queues had just grown by half a
     * second (a 3G link's do), came after the fifth second: two checks lost on weak-3g-3
     * stopped a telecentre's media for 3-5 s (once down, only checks go, every half
     * second). */
    if (l->up && since >= DOWN_AFTER_MS && since_check >= RECHECK_MS)
        set_up(l, false);
    /* The timer ticks every CHECK_FAST_MS; once up, a check goes every CHECK_CONSENT_MS,
     * or RECHECK_MS after one that is still unanswered. */
    bool unanswered = l->last_answer_ms < l->last_check_ms;
    if (!l->up || l->last_check_ms == 0 || since_check >= CHECK_CONSENT_MS ||
        (unanswered && since_check >= RECHECK_MS))
        send_check(l);
}

static void on_answer(struct cq_link *l, const uint8_t *buf, size_t len) {
    for (unsigned i = 0; i < TIDS; i++) {
        cq_stun_addr_t mapped;
        int rc = cq_ice_check_answer(&l->ice, l->tids[i], buf, len, &mapped);
        if (rc == CQ_ENOENT)
            continue;
        if (rc != 0) {
            /* An error answer (401: the relay forgot us, the session ended) or a forgery:
             * neither counts as consent. */
            l->stats.check_errors++;
            return;
        }
        l->stats.answers++;
        l->last_answer_ms = uv_now(l->loop);
        l->ever_up = true;
        if (!l->up)
            set_up(l, true);
        return;
    }
}

static bool from_relay(const struct cq_link *l, const struct sockaddr *a) {
    const struct sockaddr *r = (const struct sockaddr *)&l->relay;
    if (a == NULL || a->sa_family != r->sa_family)
        return false;
    if (a->sa_family == AF_INET) {
        const struct sockaddr_in *x = (const void *)a, *y = (const void *)r;
        return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
    }
    const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)r;
    return x->sin6_port == y->sin6_port &&
           memcmp(&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr) == 0;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
    (void)suggested;
    struct cq_link *l = h->data;
    /* One buffer: libuv reads one datagram at a time into it and we are done with it
     * before the next read. */
    *buf = l->rbuf_busy ? uv_buf_init(NULL, 0) : uv_buf_init((char *)l->rbuf, sizeof l->rbuf);
    l->rbuf_busy = buf->base != NULL;
}

static void on_recv(uv_udp_t *u, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *addr,
                    unsigned flags) {
    struct cq_link *l = u->data;
    if (buf->base == (char *)l->rbuf)
        l->rbuf_busy = false;
    if (nread <= 0 || (flags & UV_UDP_PARTIAL) || !from_relay(l, addr))
        return; /* nothing, an error libuv recovers from, a truncation or a stranger */
    uint8_t *pkt = (uint8_t *)buf->base;
    size_t len = (size_t)nread;
    switch (cq_demux_classify(pkt, len)) {
    case CQ_DEMUX_STUN:
        on_answer(l, pkt, len);
        return;
    case CQ_DEMUX_RTP:
        if (cq_srtp_unprotect(&l->rx, pkt, &len) != 0) {
            l->stats.auth_failures++;
            return;
        }
        l->stats.packets_in++;
        if (l->cfg.on_rtp)
            l->cfg.on_rtp(l->cfg.ctx, pkt, len);
        return;
    case CQ_DEMUX_RTCP:
        if (cq_srtp_unprotect_rtcp(&l->rx, pkt, &len) != 0) {
            l->stats.auth_failures++;
            return;
        }
        l->stats.packets_in++;
        if (l->cfg.on_rtcp)
            l->cfg.on_rtcp(l->cfg.ctx, pkt, len);
        return;
    default:
        return;
    }
}

static void on_closed(uv_handle_t *h) {
    struct cq_link *l = h->data;
    if (--l->open_handles == 0) {
        if (l->srtp_tx)
            cq_srtp_close(&l->tx);
        if (l->srtp_rx)
            cq_srtp_close(&l->rx);
        free(l);
    }
}

static int copy_str(char *dst, size_t cap, const char *src) {
    size_t n = src ? strlen(src) : 0;
    if (n == 0 || n >= cap)
        return CQ_EINVAL;
    memcpy(dst, src, n + 1);
    return 0;
}

static int relay_address(struct cq_link *l, const char *ip, uint16_t port) {
    if (ip == NULL || port == 0)
        return CQ_EINVAL;
    if (uv_ip4_addr(ip, port, (struct sockaddr_in *)&l->relay) == 0)
        return 0;
    if (uv_ip6_addr(ip, port, (struct sockaddr_in6 *)&l->relay) == 0)
        return 0;
    return CQ_EINVAL;
}

/* Everything that can fail before a handle exists, so failures free plainly. */
static int prepare(struct cq_link *l, const cq_link_config_t *cfg) {
    int err;
    if ((err = relay_address(l, cfg->relay_address, cfg->relay_port)) != 0 ||
        (err = copy_str(l->relay_ufrag, sizeof l->relay_ufrag, cfg->relay_ufrag)) != 0 ||
        (err = copy_str(l->relay_pwd, sizeof l->relay_pwd, cfg->relay_pwd)) != 0)
        return err;
    size_t klen = cq_srtp_key_len(cfg->suite);
    if (klen == 0 || cfg->key_tx == NULL || cfg->key_rx == NULL)
        return CQ_EINVAL;
    uint64_t rnd[2];
    if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
        return CQ_EIO;
    snprintf(l->local_ufrag, sizeof l->local_ufrag, "%08x", (unsigned)rnd[0]);
    l->ice = (cq_ice_check_config_t){.relay_ufrag = l->relay_ufrag,
                                     .relay_pwd = l->relay_pwd,
                                     .local_ufrag = l->local_ufrag,
                                     .tie_breaker = rnd[1]};
    if ((err = cq_srtp_init(&l->tx, cfg->suite, CQ_SRTP_OUTBOUND, cfg->key_tx, klen, 0)) != 0)
        return err;
    l->srtp_tx = true;
    /* The relay's replay window is 1024 for radio reordering; so is ours. */
    if ((err = cq_srtp_init(&l->rx, cfg->suite, CQ_SRTP_INBOUND, cfg->key_rx, klen, 1024)) != 0)
        return err;
    l->srtp_rx = true;
    return 0;
}

int cq_link_create(struct cq_link **out, uv_loop_t *loop, const cq_link_config_t *cfg) {
    *out = NULL;
    struct cq_link *l = calloc(1, sizeof *l);
    if (l == NULL)
        return CQ_ENOMEM;
    l->loop = loop;
    l->cfg = *cfg;
    l->cfg.relay_address = l->cfg.relay_ufrag = l->cfg.relay_pwd = NULL; /* not kept */
    l->cfg.key_tx = l->cfg.key_rx = NULL;
    int err = prepare(l, cfg);
    if (err == 0)
        err = uv_udp_init(loop, &l->udp);
    if (err != 0) {
        if (l->srtp_tx)
            cq_srtp_close(&l->tx);
        if (l->srtp_rx)
            cq_srtp_close(&l->rx);
        free(l);
        return err;
    }
    l->udp.data = l->timer.data = l;
    l->open_handles = 1;
    uv_timer_init(loop, &l->timer); /* cannot fail */
    l->open_handles = 2;
    l->created_ms = uv_now(loop);

    /* The wildcard of the relay's family; the kernel picks the port and the interface. */
    struct sockaddr_storage any;
    memset(&any, 0, sizeof any);
    any.ss_family = l->relay.ss_family;
    if ((err = uv_udp_bind(&l->udp, (const struct sockaddr *)&any, 0)) != 0 ||
        (err = uv_udp_recv_start(&l->udp, on_alloc, on_recv)) != 0 ||
        (err = uv_timer_start(&l->timer, on_timer, 0, CHECK_FAST_MS)) != 0) {
        cq_link_close(l);
        return err;
    }
    /* Enough room for a second of video at the rates these links allow, bursts included. */
    int size = 1 << 20;
    uv_send_buffer_size((uv_handle_t *)&l->udp, &size);
    size = 1 << 20;
    uv_recv_buffer_size((uv_handle_t *)&l->udp, &size);
    *out = l;
    return 0;
}

void cq_link_close(struct cq_link *l) {
    if (l == NULL)
        return;
    l->cfg.on_rtp = NULL;
    l->cfg.on_rtcp = NULL;
    l->cfg.on_state = NULL;
    uv_close((uv_handle_t *)&l->udp, on_closed);
    uv_close((uv_handle_t *)&l->timer, on_closed);
}

void cq_link_heard(struct cq_link *l) {
    if (l->up)
        l->last_heard_ms = uv_now(l->loop);
}

bool cq_link_up(const struct cq_link *l) {
    return l->up;
}

static int send_protected(struct cq_link *l, const uint8_t *pkt, size_t len, bool rtcp) {
    if (!l->up)
        return CQ_EAGAIN;
    if (len > MAX_DGRAM)
        return CQ_EINVAL;
    memcpy(l->sbuf, pkt, len);
    int rc = rtcp ? cq_srtp_protect_rtcp(&l->tx, l->sbuf, &len, sizeof l->sbuf)
                  : cq_srtp_protect(&l->tx, l->sbuf, &len, sizeof l->sbuf);
    if (rc != 0)
        return rc;
    if ((rc = send_raw(l, l->sbuf, len)) == 0)
        l->stats.packets_out++;
    return rc;
}

int cq_link_send_rtp(struct cq_link *l, const uint8_t *pkt, size_t len) {
    return send_protected(l, pkt, len, false);
}

int cq_link_send_rtcp(struct cq_link *l, const uint8_t *pkt, size_t len) {
    return send_protected(l, pkt, len, true);
}

int cq_link_local_port(const struct cq_link *l) {
    struct sockaddr_storage a;
    int n = sizeof a;
    int rc = uv_udp_getsockname(&l->udp, (struct sockaddr *)&a, &n);
    if (rc != 0)
        return rc;
    return ntohs(a.ss_family == AF_INET ? ((struct sockaddr_in *)&a)->sin_port
                                        : ((struct sockaddr_in6 *)&a)->sin6_port);
}

void cq_link_stats(const struct cq_link *l, cq_link_stats_t *out) {
    *out = l->stats;
}
