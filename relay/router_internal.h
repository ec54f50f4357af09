/*
 * Inside the router: its structures and the functions its files share. Internal to
 * relay/router*.c (the router is one module split by concern: router.c the packet path,
 * binding and control; router_rtcp.c the RTCP it terminates on each leg); nothing else
 * includes this header.
 */
#ifndef CQ_RELAY_ROUTER_INTERNAL_H
#define CQ_RELAY_ROUTER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "relay/consumer.h"
#include "relay/events.h"
#include "signaling/log.h"
#include "relay/map.h"
#include "rtp/nack_tracker.h"
#include "relay/router.h"
#include "relay/rtxcache.h"
#include "relay/speaker.h"
#include "relay/udp.h"
#include "rtp/rtcp.h"
#include "rtp/rtp.h"
#include "rtp/rtpstats.h"
#include "rtp/srtp.h"

/* Receive slots: the largest datagram, and room for libsrtp2 to work in place. */
#define RX_SLOT_SIZE 1536
/* Receive batches per readable event before timers and commands get their turn. */
#define MAX_BATCHES_PER_EVENT 8
/* NACK answers: the RTX payload type chasqui announces (DESIGN.md), how long a packet stays
 * in a stream's cache (older repairs are useless to a jitter buffer), how many recent
 * resends each consumer remembers, and the shortest time between two resends of one packet
 * to one receiver (a stand-in for its RTT until the relay measures RTT on each leg: a
 * NACK repeated sooner means the first repair is still on its way). */
#define RTX_PAYLOAD_TYPE   97
#define VIDEO_PAYLOAD_TYPE 96 /* VP8: what a publisher's RTX restores to */
/* Round-trip time to a participant until its receiver reports measure it: 200 ms, so
 * that NACK retries (every 1.5 RTT) do not fire before a VSAT repair could come back. */
#define RTT_GUESS_US      200000u
#define UPSTREAM_NACK_MAX 64
#define RTX_CACHE_PACKETS CQ_CONSUMER_HISTORY
#define RTX_CACHE_AGE_US  1000000u
/* A packet is resent to one receiver at most once per round trip, and never more often
 * than this (a NACK repeated sooner means the first repair is still on its way). */
#define RESEND_MIN_INTERVAL_US 20000u
/* RTX may use this share of the stream's own bitrate, with a floor so the first NACKs of a
 * new stream are answered, and a burst of a quarter second of that budget. */
#define RTX_SHARE     0.5
#define RTX_FLOOR_BPS 64000.0
/* Keyframe requests from many receivers reach a publisher stream at most this often: a
 * keyframe costs a weak uplink several times a normal frame (issue 3: ~300 ms). A request
 * that brought no keyframe is repeated, no sooner than this or two round trips: the PLI
 * or the keyframe may have been lost on the way. */
#define KEYFRAME_REQUEST_INTERVAL_US 300000u
#define KEYFRAME_RETRY_US            1000000u
/* A simulcast layer silent this long is taken as no longer sent (the publisher dropped it
 * for its uplink): its subscribers move to another layer. Long enough for 5 frames/s video
 * across a burst of loss. */
#define LAYER_TIMEOUT_US 1000000u
/* Receiver reports to publishers: once a second. RFC 3550 §6.2 would allow less for a
 * few streams, but a publisher on a weak uplink adapts on these loss figures (and RTT),
 * and a second is what browsers' own reports settle at. */
#define RECEIVER_REPORT_US 1000000u
/* Consent is checked once a second; per tick would scan every participant 50 times. */
#define CONSENT_CHECK_US 1000000u
/* Replay window for media from participants: video on radio links arrives reordered. */
#define INBOUND_REPLAY_WINDOW 1024
/* RFC 8445 §5.3: an ICE password carries at least 128 bits, 22 characters. */
#define MIN_PWD_LEN 22

enum stream_kind {
    STREAM_AUDIO = CQ_RELAY_STREAM_AUDIO,
    STREAM_VIDEO = CQ_RELAY_STREAM_VIDEO,
    STREAM_RTX = CQ_RELAY_STREAM_RTX
};

#define MAX_STREAMS CQ_RELAY_MAX_STREAMS

/* A stream a participant publishes, found by SSRC among its few streams. */
struct stream {
    uint32_t ssrc;
    uint8_t kind;                      /* enum stream_kind */
    uint8_t layer;                     /* spatial layer of video and its RTX */
    uint64_t last_keyframe_request_us; /* 0: never asked */
    uint64_t last_keyframe_us;         /* when the last keyframe started; 0: none yet */
    uint64_t keyframes;
    uint64_t last_packet_us; /* 0: nothing yet */
    cq_rtp_recv_stats_t rx;  /* what the relay received: its receiver reports */
    cq_rtxcache_t cache;     /* video: the last second, for receivers' NACKs */
    cq_nack_tracker_t *nack; /* video: gaps in what the publisher sent */
    /* Bitrate over the last full second, for the RTX budget of its consumers. */
    uint64_t window_start_us, window_bytes, rate_bps;
};

/* One subscriber receiving one publisher (relay/consumer.h holds what it was sent). */
struct consumer {
    struct participant *subscriber;
    struct participant *publisher;
    cq_consumer_t s;
};

struct participant {
    struct session *session;
    struct participant *next; /* in the session */
    uint32_t id;
    /* The transport-wide number the next RTP packet to this participant gets: its
     * feedback then describes the relay's downlink to it, not the publishers' uplinks. */
    uint16_t transport_seq;
    char ufrag[CQ_RELAY_UFRAG_MAX + 1];
    size_t ufrag_len;
    char pwd[CQ_RELAY_PWD_MAX + 1];
    size_t pwd_len;

    bool bound;
    cq_udp_addr_t addr;
    uint64_t last_seen_us;

    cq_srtp_t srtp_in, srtp_out;
    uint32_t rtcp_ssrc; /* the relay's SSRC in RTCP it sends this participant */
    struct stream streams[MAX_STREAMS];
    unsigned nstreams;
    unsigned video_layers;
    uint8_t active_layers;   /* bit i: layer i sent within LAYER_TIMEOUT_US */
    uint64_t video_since_us; /* first video packet; 0: none yet */
    bool subscribe_all;
    bool has_default_prefs;               /* set for every publisher (publisher id 0) */
    cq_relay_layer_prefs_t default_prefs; /* what new subscriptions of it start with */

    /* Who receives this participant: consumers owned here, one per subscriber. */
    struct consumer **consumers;
    size_t nconsumers, cap_consumers;

    cq_relay_participant_stats_t stats;
};

struct session {
    uint32_t id;
    struct participant *participants;
    struct session *next; /* in the router */
    cq_speaker_t speaker;
};

struct cq_router {
    cq_router_config_t cfg;
    cq_map_t sessions; /* id -> session */
    struct session *session_list;
    cq_map_t by_ufrag; /* hash(ufrag) -> participant */
    cq_map_t by_addr;  /* hash(address) -> bound participant */
    uint64_t rng;
    uint64_t next_consent_check_us;
    uint64_t next_report_us;
    uint64_t now_us; /* of the latest readable or tick event: the control path's clock */
    uint64_t next_stats_log_us;
    cq_log_limit_t log_unbound, log_auth, log_garbage; /* one line a second per cause */
    cq_relay_worker_stats_t stats;
    cq_relay_participant_stats_t departed; /* counters of participants gone, summed */
    bool sendq_ready;
    cq_udp_sendq_t sendq;
    _Alignas(64) uint8_t rx[CQ_UDP_BATCH][RX_SLOT_SIZE];
};

/* The index of p's stream with that SSRC, or -1: an index serves const and mutable
 * callers alike. */
static inline int stream_index(const struct participant *p, uint32_t ssrc) {
    for (unsigned i = 0; i < p->nstreams; i++)
        if (p->streams[i].ssrc == ssrc)
            return (int)i;
    return -1;
}

static inline struct consumer *find_consumer(const struct participant *publisher,
                                             const struct participant *subscriber) {
    for (size_t i = 0; i < publisher->nconsumers; i++)
        if (publisher->consumers[i]->subscriber == subscriber)
            return publisher->consumers[i];
    return NULL;
}

static inline struct stream *video_stream(struct participant *p, int layer) {
    for (unsigned i = 0; i < p->nstreams; i++)
        if (p->streams[i].kind == STREAM_VIDEO && p->streams[i].layer == layer)
            return &p->streams[i];
    return NULL;
}

/* The round trip to p as its receiver reports measured it, or a guess until they do. */
static inline uint64_t rtt_of(const struct participant *p) {
    return p->stats.rtt_us ? p->stats.rtt_us : RTT_GUESS_US;
}

/* router.c: stamps sub's next transport-wide number at tseq_at (-1: the packet has no
 * such element), protects the plain RTP packet in the send queue's current slot for sub
 * and queues it; returns the protected length, or 0 when it could not be sent (counted). */
size_t cq_router_queue_rtp(struct cq_router *r, struct participant *sub, uint8_t *slot, size_t len,
                           ptrdiff_t tseq_at);

/* Where the transport-wide number's two bytes sit in the packet v was parsed from (the
 * same in every copy, whose headers keep the original's layout), or -1 when it has none:
 * found once per received packet, written per copy. */
ptrdiff_t cq_router_tseq_offset(const uint8_t *pkt, const cq_rtp_view_t *v);

/* router_rtcp.c: RTCP a participant sent, after SRTCP. */
void cq_router_handle_rtcp(struct cq_router *r, struct participant *p, const uint8_t *data,
                           size_t len, uint64_t now_us);
/* Asks pub for a keyframe of a layer, coalesced per stream. */
void cq_router_request_keyframe(struct cq_router *r, struct participant *pub, int layer,
                                uint64_t now_us);
/* The periodic RR to a publisher, and the NACKs for its gaps that are due. */
void cq_router_send_receiver_report(struct cq_router *r, struct participant *p, uint64_t now_us);
void cq_router_send_upstream_nacks(struct cq_router *r, struct participant *p, uint64_t now_us);
/* BYE to every subscriber of p, which is leaving. */
void cq_router_send_bye(struct cq_router *r, const struct participant *p);

#endif
