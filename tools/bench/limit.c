#include "tools/bench/limit.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "rtp/bytes.h"
#include "rtp/error.h"
#include "rtp/rtp.h"
#include "tools/bench/thread.h"

/* As the relay's worker: receive slots with room for SRTP to work in place, and a bound
 * on batches per wake-up (relay/router_internal.h). */
#define RX_SLOT     1536
#define MAX_BATCHES 8
#define WAIT_MS     5

/* A member as the forwarder sees it: where it receives and what it sends. */
struct member {
    cq_udp_addr_t addr;
    cq_srtp_t in, out; /* what it protects with (its limit key), its key_out */
    bool has_in, has_out;
    const cq_bench_member_t *def;
};

struct cq_bench_limit {
    const cq_bench_scenario_t *sc;
    struct member *m;
    size_t n;
    uint32_t *by_port; /* open addressing: port -> member index + 1 */
    size_t table_size; /* a power of two */
    cq_udp_t udp;
    cq_udp_addr_t addr;
    int epfd;
    cq_bench_thread_t thread;
    uint64_t datagrams, queued, dropped; /* queued: copies handed to the send queue */
    atomic_uint_fast64_t out[3];
    cq_udp_sendq_t *q;
    uint8_t (*rx)[RX_SLOT];
};

static size_t slot_of(const struct cq_bench_limit *l, uint16_t port) {
    return (port * 0x9e3779b1u) & (l->table_size - 1);
}

static struct member *find(const struct cq_bench_limit *l, const cq_udp_addr_t *a) {
    for (size_t i = slot_of(l, a->port);; i = (i + 1) & (l->table_size - 1)) {
        uint32_t v = l->by_port[i];
        if (v == 0)
            return NULL;
        if (cq_udp_addr_equal(&l->m[v - 1].addr, a))
            return &l->m[v - 1];
    }
}

/* Forwards one datagram from sender src to every receiver of its SSRC. */
static void forward(struct cq_bench_limit *l, struct member *src, uint8_t *pkt, size_t len) {
    if (len < CQ_RTP_FIXED_HEADER_SIZE || cq_srtp_unprotect(&src->in, pkt, &len) != 0) {
        l->dropped++;
        return;
    }
    uint32_t ssrc = cq_load_be32(pkt + CQ_RTP_SSRC_OFFSET);
    const cq_bench_member_t *d = src->def;
    for (unsigned si = 0; si < d->nstreams; si++) {
        const cq_bench_stream_t *st = &d->streams[si];
        if (st->ssrc != ssrc)
            continue;
        for (unsigned k = 0; k < st->ndest; k++) {
            struct member *to = &l->m[l->sc->dests[st->dest0 + k]];
            uint8_t *slot = cq_udp_sendq_slot(l->q);
            size_t n = len;
            memcpy(slot, pkt, len);
            if (cq_srtp_protect(&to->out, slot, &n, CQ_UDP_SLOT_SIZE) != 0 ||
                cq_udp_sendq_commit(l->q, n, &to->addr) != 0) {
                l->dropped++;
                continue;
            }
            l->queued++;
        }
        return;
    }
}

/* Counts for the main thread, after each batch: what the queue refused (in any of its
 * flushes, full or explicit) comes off what was queued. */
static void publish(struct cq_bench_limit *l) {
    uint64_t refused = l->q->dropped_full + l->q->dropped_error;
    atomic_store_explicit(&l->out[0], l->datagrams, memory_order_relaxed);
    atomic_store_explicit(&l->out[1], l->queued - refused, memory_order_relaxed);
    atomic_store_explicit(&l->out[2], l->dropped + refused, memory_order_relaxed);
}

/* The socket is readable: as the relay's cq_router_on_readable, batch after batch, each
 * sent on with one sendmmsg. Not inlined, so callgrind can collect it by name. */
__attribute__((noinline)) void cq_bench_limit_on_readable(struct cq_bench_limit *l);
__attribute__((noinline)) void cq_bench_limit_on_readable(struct cq_bench_limit *l) {
    cq_udp_dgram_t msgs[CQ_UDP_BATCH];
    for (int batch = 0; batch < MAX_BATCHES; batch++) {
        for (unsigned i = 0; i < CQ_UDP_BATCH; i++)
            msgs[i] = (cq_udp_dgram_t){.data = l->rx[i], .cap = RX_SLOT};
        int n = cq_udp_recv(&l->udp, msgs, CQ_UDP_BATCH);
        if (n <= 0)
            break;
        for (int i = 0; i < n; i++) {
            l->datagrams++;
            struct member *src = msgs[i].truncated ? NULL : find(l, &msgs[i].from);
            if (src == NULL || !src->has_in) {
                l->dropped++;
                continue;
            }
            forward(l, src, msgs[i].data, msgs[i].len);
        }
        cq_udp_sendq_flush(l->q);
        publish(l);
        if (n < CQ_UDP_BATCH)
            break;
    }
}

static void thread_main(void *arg) {
    struct cq_bench_limit *l = arg;
    while (cq_bench_thread_running(&l->thread)) {
        struct epoll_event ev;
        if (epoll_wait(l->epfd, &ev, 1, WAIT_MS) > 0)
            cq_bench_limit_on_readable(l);
    }
}

/* Sets up member i: its address and the contexts of the directions it uses. */
static int add_member(struct cq_bench_limit *l, size_t i, const cq_bench_ep_t *ep) {
    struct member *m = &l->m[i];
    const cq_relay_participant_params_t *p = &l->sc->members[i].params;
    size_t klen = cq_srtp_key_len(p->suite);
    m->def = &l->sc->members[i];
    m->addr = ep->local;
    int err;
    if (m->def->nstreams > 0) {
        uint8_t key[CQ_SRTP_MAX_KEY_LEN];
        cq_bench_scenario_limit_key(p, key);
        if ((err = cq_srtp_init(&m->in, p->suite, CQ_SRTP_INBOUND, key, klen, 1024)) != 0)
            return err;
        m->has_in = true;
    }
    if ((err = cq_srtp_init(&m->out, p->suite, CQ_SRTP_OUTBOUND, p->key_out, klen, 0)) != 0)
        return err;
    m->has_out = true;
    size_t k = slot_of(l, m->addr.port);
    while (l->by_port[k] != 0)
        k = (k + 1) & (l->table_size - 1);
    l->by_port[k] = (uint32_t)(i + 1);
    return 0;
}

int cq_bench_limit_create(struct cq_bench_limit **out, const cq_bench_scenario_t *s,
                          const cq_bench_ep_t *eps, int sockbuf) {
    struct cq_bench_limit *l = calloc(1, sizeof *l);
    if (l == NULL)
        return CQ_ENOMEM;
    l->sc = s;
    l->udp.fd = -1;
    l->epfd = -1;
    l->table_size = 16;
    while (l->table_size < 2 * s->nmembers)
        l->table_size *= 2;
    int err = CQ_ENOMEM;
    l->m = calloc(s->nmembers, sizeof *l->m);
    l->by_port = calloc(l->table_size, sizeof *l->by_port);
    l->rx = aligned_alloc(64, sizeof *l->rx * CQ_UDP_BATCH);
    l->q = aligned_alloc(64, (sizeof *l->q + 63u) / 64u * 64u);
    if (l->m == NULL || l->by_port == NULL || l->rx == NULL || l->q == NULL)
        goto fail;
    l->n = s->nmembers;
    for (size_t i = 0; i < s->nmembers; i++)
        if ((err = add_member(l, i, &eps[i])) != 0)
            goto fail;
    if ((err = cq_udp_open(&l->udp, "127.0.0.1", 0, sockbuf, sockbuf)) != 0)
        goto fail;
    int port = cq_udp_local_port(&l->udp);
    if (port <= 0 || (err = cq_udp_addr_parse(&l->addr, "127.0.0.1", (uint16_t)port)) != 0) {
        err = port < 0 ? port : CQ_EINVAL;
        goto fail;
    }
    cq_udp_sendq_init(l->q, &l->udp);
    struct epoll_event ev = {.events = EPOLLIN};
    if ((l->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
        epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->udp.fd, &ev) != 0) {
        err = -errno;
        goto fail;
    }
    *out = l;
    return 0;
fail:
    cq_bench_limit_destroy(l);
    return err;
}

const cq_udp_addr_t *cq_bench_limit_addr(const struct cq_bench_limit *l) {
    return &l->addr;
}

int cq_bench_limit_start(struct cq_bench_limit *l) {
    return cq_bench_thread_start(&l->thread, "cq-bench-limit", CQ_BENCH_ALLOCS_LIMIT, thread_main,
                                 l);
}

void cq_bench_limit_counters(struct cq_bench_limit *l, cq_bench_limit_counters_t *out) {
    *out = (cq_bench_limit_counters_t){
        .datagrams = atomic_load_explicit(&l->out[0], memory_order_relaxed),
        .forwarded = atomic_load_explicit(&l->out[1], memory_order_relaxed),
        .dropped = atomic_load_explicit(&l->out[2], memory_order_relaxed),
        .cpu_ns = cq_bench_thread_cpu_ns(&l->thread),
    };
}

void cq_bench_limit_destroy(struct cq_bench_limit *l) {
    if (l == NULL)
        return;
    cq_bench_thread_stop(&l->thread);
    if (l->epfd >= 0)
        close(l->epfd);
    cq_udp_close(&l->udp);
    for (size_t i = 0; l->m != NULL && i < l->n; i++) {
        if (l->m[i].has_in)
            cq_srtp_close(&l->m[i].in);
        if (l->m[i].has_out)
            cq_srtp_close(&l->m[i].out);
    }
    free(l->m);
    free(l->by_port);
    free(l->rx);
    free(l->q);
    free(l);
}
