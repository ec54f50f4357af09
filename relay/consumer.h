/*
 * What the relay keeps for one subscriber receiving one publisher, apart from the
 * pointers that tie the two together (those stay in the router): the stable SSRCs the
 * subscriber sees, the video selector (relay/vselect.h), the history of the video packets
 * it was sent (so a NACK names a packet the relay can find again, whatever layer and
 * numbering it went out with), its RTX budget, and the sender reports it was sent (so its
 * receiver reports give the round-trip time on its leg).
 *
 * A plain value, allocated once per subscription by the router (control path); nothing
 * here allocates or does I/O.
 */
#ifndef CQ_RELAY_CONSUMER_H
#define CQ_RELAY_CONSUMER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "relay/relay.h"
#include "relay/vselect.h"

/* Video packets remembered per consumer: as many as a stream's retransmission cache holds,
 * a second of the fastest layer chasqui's links carry (1 Mbit/s in 1,100-byte packets is
 * 114 a second); a slower stream's cache is bounded by age, not by this. Sized by what is
 * served: at 512 a conference participant's two caches and its consumers' histories
 * alone were over the 1 MiB it may cost (issue 8, docs/PERFORMANCE.md). A power of two. */
#define CQ_CONSUMER_HISTORY 128
/* Sender reports remembered for round-trip times: a receiver reports on the latest one it
 * got, and audio and video each send one about every second or few. */
#define CQ_CONSUMER_SR_MEMORY 8

/* One video packet as it was sent to the subscriber. */
typedef struct {
    bool used;
    uint8_t layer;       /* the publisher's spatial layer it came from */
    uint16_t out_seq;    /* the number the subscriber knows it by */
    uint16_t in_seq;     /* the publisher's number: the key of that layer's cache */
    uint16_t picture_id; /* as sent, where the packet has one */
    uint8_t tl0picidx;
    uint32_t ts_delta;  /* sent timestamp - publisher's */
    uint64_t resent_us; /* last resent as RTX; 0: never */
} cq_consumer_sent_t;

typedef struct {
    cq_relay_consumer_ssrcs_t ssrcs;
    cq_vsel_t vsel;
    cq_relay_layer_prefs_t prefs;
    uint32_t sent_packets[2], sent_octets[2]; /* [0] audio, [1] video; wrap as RFC 3550's */
    uint16_t rtx_seq;                         /* its own sequence space (RFC 4588 §4) */
    double rtx_tokens;                        /* RTX budget, bytes */
    uint64_t rtx_refill_us;
    cq_consumer_sent_t sent[CQ_CONSUMER_HISTORY];
    struct {
        uint32_t ssrc, lsr;
        uint64_t sent_us;
    } srs[CQ_CONSUMER_SR_MEMORY];
    unsigned next_sr;
    cq_relay_consumer_stats_t stats;
} cq_consumer_t;

/* Starts a consumer with its SSRCs and a random RTX sequence start, receiving every layer
 * its preferences allow (none set: all). */
void cq_consumer_init(cq_consumer_t *c, const cq_relay_consumer_ssrcs_t *ssrcs, uint16_t rtx_seq);

/* Remembers a video packet sent to the subscriber. */
void cq_consumer_sent_record(cq_consumer_t *c, uint8_t layer, uint16_t in_seq,
                             const cq_vsel_out_t *out, uint32_t ts_delta);

/* The packet sent as out_seq, if still remembered, or NULL. */
cq_consumer_sent_t *cq_consumer_sent_find(cq_consumer_t *c, uint16_t out_seq);

/*
 * Whether packet e (bytes long) may be resent now: not again within min_interval_us of
 * its last resend (a NACK repeated sooner than a round trip means the repair is still on
 * its way), and within the RTX budget, a token bucket of rate_bps with a quarter second's
 * burst. Takes the tokens and stamps e when it says yes.
 */
bool cq_consumer_may_resend(cq_consumer_t *c, cq_consumer_sent_t *e, size_t bytes, double rate_bps,
                            uint64_t min_interval_us, uint64_t now_us);

/* Remembers that a sender report with NTP time ntp went to the subscriber from ssrc. */
void cq_consumer_sr_sent(cq_consumer_t *c, uint32_t ssrc, uint64_t ntp, uint64_t now_us);

/*
 * The round-trip time a report block from the subscriber gives: it names the SR it last
 * got (LSR) and how long it held it (DLSR). Returns 0 and *rtt_us, or CQ_ENOENT when the
 * block names no SR this consumer remembers sending.
 */
int cq_consumer_rtt(const cq_consumer_t *c, uint32_t ssrc, uint32_t lsr, uint32_t dlsr,
                    uint64_t now_us, uint64_t *rtt_us);

#endif
