/*
 * A telecentre's one UDP flow to the relay, on the client's libuv loop: it binds with
 * ICE-lite checks (client/ice_check.h), keeps consent with a check every 2.5 s, protects
 * and sends RTP and RTCP with SRTP, and hands back what it receives, decrypted. Outages
 * are the normal case on these links: a check unanswered after a second goes again, and
 * when checks go unanswered for 5 s (the last one for a second), and no feedback showed
 * the relay hearing us meanwhile (cq_link_heard), the link says it is down, keeps
 * checking (every half second, then every 2.5 s again once answered) and carries on when
 * the path returns, without joining again. A lossy path is not an outage: it takes three
 * checks lost in a row, not two, to call the link down. A new source port from a NAT
 * rebinding is followed by the relay because every check nominates.
 *
 * Owned by its loop's thread. Everything it is given is copied.
 */
#ifndef CQ_CLIENT_LINK_H
#define CQ_CLIENT_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "rtp/srtp.h"

struct cq_link;

typedef struct {
    const char *relay_address; /* IPv4 or IPv6 literal, from the join answer */
    uint16_t relay_port;
    const char *relay_ufrag, *relay_pwd;
    cq_srtp_suite_t suite;
    const uint8_t *key_tx, *key_rx; /* key_to_relay, key_from_relay */
    /* Called on the loop's thread with plain packets, valid and writable during the call
     * (the receiver unwraps RTX in place). */
    void (*on_rtp)(void *ctx, uint8_t *pkt, size_t len);
    void (*on_rtcp)(void *ctx, uint8_t *pkt, size_t len);
    void (*on_state)(void *ctx, bool up); /* bound, or checks unanswered for 5 s */
    void *ctx;
} cq_link_config_t;

/* Opens the socket and starts checking. Returns 0, CQ_EINVAL (an address that is not a
 * literal, a bad suite) or a libuv error. */
int cq_link_create(struct cq_link **out, uv_loop_t *loop, const cq_link_config_t *cfg);

/* Closes the socket and timers; the link is freed once their close callbacks ran (keep
 * the loop running). NULL is fine. */
void cq_link_close(struct cq_link *l);

bool cq_link_up(const struct cq_link *l);

/*
 * The relay showed that it hears us: transport-wide feedback about packets we sent, which
 * it sends only while they arrive. That proves the path both ways as an answered check
 * does, so it keeps an up link up. Checks still carry consent (RFC 7675) and bring a down
 * link back: while down no media goes, so no feedback can come. Without it, three checks
 * lost in a row on a path that carried media throughout (a 3G link loses a tenth of them,
 * both ways counted) said the link down, and the telecentre's media stopped for a second
 * or more: on weak-3g-3, one run in seven.
 */
void cq_link_heard(struct cq_link *l);

/* Protects and sends a plain RTP or RTCP packet. Returns 0, CQ_EAGAIN (not bound yet: the
 * packet is dropped, as real-time media should be), or an error. */
int cq_link_send_rtp(struct cq_link *l, const uint8_t *pkt, size_t len);
int cq_link_send_rtcp(struct cq_link *l, const uint8_t *pkt, size_t len);

/* The local UDP port (for tests and the log), or a libuv error. */
int cq_link_local_port(const struct cq_link *l);

/* Counters. check_errors are authenticated error answers: a relay that answers 401 has
 * forgotten this participant (removed, restarted), and only a new join helps. */
typedef struct {
    uint64_t checks_sent, answers, check_errors, downs;
    uint64_t packets_out, packets_in, auth_failures, send_drops, send_errors;
} cq_link_stats_t;
void cq_link_stats(const struct cq_link *l, cq_link_stats_t *out);

#endif
