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

#include "cc/arrivals.h"
#include "cc/estimator.h"
#include "cc/minwin.h"
#include "codec/vp8_desc.h"
#include "relay/alloc.h"
#include "relay/consumer.h"
#include "relay/events.h"
#include "signaling/log.h"
#include "relay/map.h"
#include "relay/paceq.h"
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
/* Receive batches per readable event before timers and commands get their turn, and the
 * copies sent after which no further batch is read in that event: 8 batches of a
 * 500-viewer broadcast were 128,000 copies, 0.6 s with the pacers and RTCP waiting
 * (issue 8). 2,048 copies are about 10 ms of a core here (docs/PERFORMANCE.md). */
#define MAX_BATCHES_PER_EVENT 8
#define MAX_COPIES_PER_EVENT  2048u
/* NACK answers: the RTX payload type chasqui announces (DESIGN.md), how long a packet stays
 * in a stream's cache (older repairs are useless to a jitter buffer), how many recent
 * resends each consumer remembers, and the shortest time between two resends of one packet
 * to one receiver (a stand-in for its RTT until the relay measures RTT on each leg: a
 * NACK repeated sooner means the first repair is still on its way). */
#define RTX_PAYLOAD_TYPE   97
#define VIDEO_PAYLOAD_TYPE 96 /* VP8: what a publisher's RTX restores to */
/* Sound with redundancy (RFC 2198), whose primary the relay forwards alone to a receiver
 * whose downlink cannot carry both (DESIGN.md: RED optional). */
#define AUDIO_RED_PAYLOAD_TYPE 63
/* Round-trip time to a participant until its receiver reports measure it: 200 ms, so
 * that NACK retries (every 1.5 RTT) do not fire before a VSAT repair could come back. */
#define RTT_GUESS_US      CQ_NACK_RTT_GUESS_US
#define UPSTREAM_NACK_MAX 64
#define RTX_CACHE_PACKETS CQ_CONSUMER_HISTORY
/* A packet is repaired for as long as a receiver may ask for it: it may wait in the
 * receiver's pacer up to PACE_MAX_AGE_US, and the receiver asks for up to
 * CQ_NACK_MAX_AGE_US after it found it missing. Counted from its arrival at the relay,
 * a second left unanswered every request for what stood 0.6-1 s in a pacer. */
#define RTX_CACHE_AGE_US (PACE_MAX_AGE_US + CQ_NACK_MAX_AGE_US)
/* A switch at a keyframe whose start came late sends on at most this many packets of what
 * followed it (relay/router.c, replay_after_late_keyframe): a 640x360 keyframe is some 40,
 * and the start's repair is a round trip behind them. */
#define REPLAY_MAX_PACKETS 96
/* A packet is resent to one receiver at most once per round trip, and never more often
 * than this (a NACK repeated sooner means the first repair is still on its way). */
#define RESEND_MIN_INTERVAL_US 20000u
/* RTX may use this share of the stream's own bitrate, with a floor so the first NACKs of a
 * new stream are answered, and a burst of a quarter second of that budget. */
#define RTX_SHARE     0.5
#define RTX_FLOOR_BPS 64000.0
/* Keyframe requests from many receivers reach a publisher stream at most this often: a
 * keyframe costs a weak uplink several times a normal frame (issue 3: ~300 ms). A request
 * that brought no keyframe is repeated once two round trips and KEYFRAME_TURN_US have
 * passed: the PLI or the keyframe may have been lost on the way. Two, for the keyframe
 * waits behind what the publisher's uplink holds, on a VSAT modem about as long again as
 * the round trip (one round trip and 300 ms asked VSAT publishers again for keyframes on
 * their way: 3-5 a minute for 2). Repeated after a second at least, a PLI lost on a weak
 * 3G link cost its receivers 1.2 s more of a frozen picture, past 2 s (weak-3g-3). */
#define KEYFRAME_REQUEST_INTERVAL_US 300000u
#define KEYFRAME_TURN_US             100000u
/* A receiver's request that reached the relay within its round trip and this much of the
 * keyframe the relay sent it crossed that keyframe on the way: the keyframe answers it. */
#define KEYFRAME_CROSSED_US 100000u
/* A simulcast layer silent this long is taken as no longer sent (the publisher dropped it
 * for its uplink): its subscribers move to another layer. Long enough for 5 frames/s video
 * across a burst of loss. */
#define LAYER_TIMEOUT_US 1000000u
/* ... or silent this long when a lower layer's keyframe comes after its last packet: a
 * publisher dropping a layer makes one for its receivers CQ_SENDER_DROP_KEY_US later. */
#define LAYER_QUIET_US 300000u
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

/* The control path's period: RTCP, NACK retries, layer reviews. The worker ticks faster
 * (CQ_ROUTER_TICK_MS) for the pacers; the rest runs every fourth tick. */
#define CONTROL_INTERVAL_US 20000u
/* Downlink adaptivity (router_downlink.c). The estimator starts a receiver at a rate any
 * chasqui link carries and is never held below what one voice needs. */
#define DOWNLINK_START_BPS 300000u
#define DOWNLINK_MIN_BPS   40000u
#define DOWNLINK_MAX_BPS   50000000u
/* The first seconds' estimate is the start rate and what the first probes found: a
 * publisher is not told to stop a layer on it (restarting one costs a keyframe on every
 * layer's receivers and a switch), only once the estimate has had this long. */
#define DOWNLINK_SETTLE_US 4000000u
/* Video that waited this long in a receiver's pacer (its congestion window held it: the
 * link collapsed, or its feedback stopped) is dropped rather than sent late. */
#define PACE_MAX_AGE_US 1000000u
/* Media is allocated 90 % of the estimate: repairs (RTX) and RTCP need the rest. */
#define ALLOC_SHARE 0.9
/* RED is stripped for a receiver whose share cannot carry the sound as it comes, and
 * forwarded again once the share holds it with this much room (RED roughly doubles the
 * sound: the two thresholds must not meet). */
#define LEAN_AUDIO_RESUME 1.3
/* How long what the link carried when last seen full stands for it: the receiver's video
 * is paced by it (cq_alloc_pace_bps) for this long after. */
#define PACE_CARRIED_US 30000000
/* A receiver's queue holds at most this long at its pace (video older than this is
 * better dropped and repaired), and never less than a keyframe of the lowest layer. */
#define PACE_QUEUE_US        600000u
#define PACE_QUEUE_MIN_BYTES 24000u
/* Packet buffers shared by every receiver's queue on a worker (6 MiB). */
#define PACE_POOL_PACKETS 4096
/* A video layer silent this long stopped (its publisher dropped it, an outage): the
 * window it stopped in is not its rate. (Sound is left to its windows: with DTX an Opus
 * stream sends a frame every 400 ms while nobody speaks, and its rate is what it costs.) Priced
 * over its silence, a layer that came back after 1.3 s cost 9 kbit/s instead of 56 for its first
 * second, and every receiver was moved up to it, and back down once it was measured, a keyframe
 * each way, every 3 s (weak-3g-3). Longer than a 5 frames/s layer's gap between two frames. */
#define RATE_SILENCE_US 500000u
#define SLOW_WINDOWS    2u /* router.c: frame_rate_update */
/* A video layer is priced from what its first window holds once the window is this old
 * (router_downlink.c: layer_rates): three or four frames at the rates chasqui sends. */
#define PRICE_EARLY_US 400000u
/* Until then a receiver whose estimate was measured under this gets the lowest layer, the
 * top otherwise: twice the start rate, which only a probe finds (router_downlink.c). */
#define UNPRICED_TOP_BPS (2u * DOWNLINK_START_BPS)
/* Layers are re-allocated at most this often (feedback comes every 100 ms). */
#define ALLOC_INTERVAL_US 100000u
/* Probes: padding-only RTX packets (RFC 4588 lets a receiver drop them unread) of at most
 * this much padding behind PROBE_HEADER_BYTES (header, transport-wide number, SRTP's tag),
 * at least this many in a cluster, as many as the bytes the estimator plans take. */
#define PROBE_PADDING      255
#define PROBE_HEADER_BYTES 30
#define PROBE_MIN_PACKETS  10
/* Base-layer protection: on a downlink whose round trip is this long and that lost a
 * packet within the hold, every TL0 packet of video but keyframes goes twice, the copy
 * as RTX right behind it. A lost TL0 packet stops the picture until its repair comes (the
 * frames after it refer to it): a round trip on VSAT, 650-870 ms, two when the repair is
 * lost too, past the 1 s a farmer sees as a break (docs/E2E.md). Rural radio's round trip
 * repairs within a few frames and pays nothing. The allocator prices the copies. */
#define PROTECT_RTT_US       400000u
#define PROTECT_LOSS_HOLD_US 10000000u
/* ... the round trip being the least of the last this many seconds: the path's, not a
 * queue's. A 3G downlink (160 ms there and back) whose queue stood 300-460 ms read 500-600
 * and had its base layer sent twice, which kept the queue standing. */
#define PROTECT_RTT_SECONDS 10
/* Transport-wide feedback parsed at once: more than a 1200-byte message can report. */
#define TWCC_MAX_PACKETS 4096

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
    cq_rtxcache_t cache;     /* video: the last two seconds, for receivers' NACKs */
    cq_nack_tracker_t *nack; /* video: gaps in what the publisher sent */
    /* Bitrate over the last full second it was sent, for the RTX budget of its
     * consumers; and of video, per temporal layer and without its keyframes, for the
     * allocator: a keyframe (often one a receiver just asked for) is a burst the pacing
     * queue absorbs, and priced as a rate it would pause the very stream it was asked
     * for. A window a video layer fell silent in (RATE_SILENCE_US) measures nothing. */
    uint64_t window_start_us, window_bytes, rate_bps;
    uint64_t tid_window_bytes[CQ_ALLOC_TEMPORAL];
    uint32_t tid_rate_bps[CQ_ALLOC_TEMPORAL];
    uint32_t keyframe_ts; /* RTP timestamp of the last keyframe: its packets share it */
    bool has_keyframe_ts;
    /* Video: pictures (RTP timestamps, each counted once, repairs of older ones not) in
     * the rate window, and the last window's pictures a second; a layer above 0 that came
     * slower than CQ_ALLOC_MIN_FPS while layer 0 came faster is not offered until
     * slow_until_us (relay/alloc.h). */
    uint32_t window_frames, frame_ts, fps;
    bool has_frame_ts;
    unsigned slow_windows; /* windows in a row it was slow in */
    uint64_t slow_until_us;
};

/* One subscriber receiving one publisher (relay/consumer.h holds what it was sent). */
struct consumer {
    struct participant *subscriber;
    struct participant *publisher;
    cq_alloc_stream_t alloc; /* its share of the subscriber's downlink */
    /* What cq_router_alloc_spatial said when its target was last set. */
    int8_t alloc_spatial;
    uint8_t alloc_temporal;
    cq_consumer_t s;
    uint64_t keyframe_sent_us; /* when the last keyframe started out to the subscriber */
};

/* What the relay knows of its downlink to one participant, and the queue that paces it. */
struct downlink {
    cq_cc_t cc;
    cq_paceq_t q;
    bool active;     /* it sends transport-wide feedback: the estimate drives its media */
    bool backlogged; /* in the router's list of queues to drain */
    bool lean_audio; /* the sound's redundancy does not fit: primaries only */
    /* Its congestion window is full (cq_cc_window_full, as of the last control tick):
     * feedback stopped keeping up, its link may have collapsed; primaries only meanwhile. */
    bool stalled;
    bool settled; /* active for DOWNLINK_SETTLE_US: its share may stop layers upstream */
    /* TL0 goes twice (PROTECT_RTT_US); as of the last control tick, from the loss its
     * estimator last saw in what the relay sent it. */
    bool protect_tl0;
    cq_minwin_t rtt_least; /* the round trip's samples, over PROTECT_RTT_SECONDS */
    uint32_t rtt_base_us;  /* their least; 0: none yet */
    uint64_t active_us;    /* its first feedback */
    struct participant *next_backlogged;
    uint64_t next_alloc_us;
    cq_alloc_result_t alloc;
    cq_alloc_steady_t steady; /* the allocator's budget over its last seconds */
    /* What its video budget leaves each video stream it receives (UINT32_MAX: it receives
     * none): what its publishers' lowest layers should fit (router_uplink.c's ceiling). */
    uint32_t stream_share_bps;
    /* What its budget leaves each voice it receives (UINT32_MAX: it receives none, or its
     * link has not cut its estimate lately): what its publishers' sound should be made
     * for where that is thin (the sound's room). */
    uint32_t voice_share_bps;
    uint64_t feedbacks;
    /* The probe cluster going out: padding at probe_bps until probe_left is 0. */
    int probe_id;
    unsigned probe_left;
    uint32_t probe_bps;
    uint64_t probe_next_us;
    uint8_t probe_padding; /* bytes of padding in each of its packets */
};

/* ---- router_uplink.c: feedback to a publisher about its uplink ---------------------- */

/* A layer-use message (CQLU) goes when the mask changes and at least this often: an APP
 * packet lost on the way is repaired within a second. */
#define UPLINK_LAYERS_REPEAT_US 1000000u

/* The lowest layer's ceiling is the least of its receivers' shares over this many
 * seconds: a share saws with its receiver's estimate, and an encoder that followed every
 * tooth would make a picture that fits only at the top of each. */
#define UPLINK_CEILING_SECONDS 5
/* Ceiling changes smaller than this (a fraction of the one told) wait for the next repeat. */
#define UPLINK_CEILING_STEP 0.1
/* The sound's room is told only under this (bit/s per voice): above it any sound fits.
 * Under it a publisher's sound made for its own uplink may not: on weak-3g-3 (256 kbit/s,
 * two voices, rooms of 70-115 kbit/s) a publisher whose uplink was estimated at 560 sent
 * Opus at 32 kbit/s with two deep RED copies, 80 kbit/s a voice on the wire, and its
 * receivers' video was paused for want of what was left (it was 64 kbit/s, under which
 * a room also drops RED's copy: client/ratealloc.h). Told only for a receiver whose
 * estimate the link cut within UPLINK_SOUND_CUT_US. One that
 * receives sound alone and was never congested has an estimate of what it was sent (the
 * estimator grows to 1.5 times what arrives): a voice of 40 kbit/s made it 70, and a room
 * told from that thinned the sound, which lowered the estimate, for good. */
#define UPLINK_SOUND_THIN_BPS 128000u
#define UPLINK_SOUND_CUT_US   10000000
_Static_assert(UPLINK_SOUND_THIN_BPS / 1000 <= UINT8_MAX, "the room fits CQLU's byte");

/* What the relay tells one publisher of its uplink: transport-wide feedback on the
 * packets it sends (their arrival times; cq_arrivals_init in cq_router_uplink_init), and
 * which of its layers are used, with the ceiling on its lowest (rtp/cqlu.h). */
struct uplink {
    cq_arrivals_t arrivals;
    uint8_t layers;       /* the mask last sent */
    bool layers_told;     /* one was sent */
    uint16_t ceiling;     /* the ceiling last sent, kbit/s; 0: none */
    cq_minwin_t ceilings; /* the ceilings of the last UPLINK_CEILING_SECONDS */
    uint8_t sound;        /* the sound's room last sent, kbit/s; 0: none */
    cq_minwin_t sounds;   /* the rooms of the last UPLINK_CEILING_SECONDS */
    uint64_t next_layers_us;
    uint64_t feedbacks, layers_sent; /* compounds sent with feedback, with a CQLU */
};

/* ---- end router_uplink.c ------------------------------------------------------------- */

struct participant {
    struct session *session;
    struct participant *next; /* in the session */
    uint32_t id;
    /* The transport-wide number the next RTP packet to this participant gets: its
     * feedback then describes the relay's downlink to it, not the publishers' uplinks. */
    uint16_t transport_seq;
    struct downlink *down;
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
    bool muted;                           /* by the operator: its sound goes nowhere */
    bool has_default_prefs;               /* set for every publisher (publisher id 0) */
    cq_relay_layer_prefs_t default_prefs; /* what new subscriptions of it start with */

    /* Who receives this participant: consumers owned here, one per subscriber. */
    struct consumer **consumers;
    size_t nconsumers, cap_consumers;

    cq_relay_participant_stats_t stats;
    struct uplink uplink; /* router_uplink.c */
    uint32_t epoch;       /* tells its stays apart in recordings (cq_recorder_stream_t) */
};

struct session {
    uint32_t id;
    struct participant *participants;
    struct session *next; /* in the router */
    cq_speaker_t speaker;
    /* Its publishers' packets are copied to the worker's recorder (router_record.c): the
     * one test the forwarding path makes per packet for recording. */
    bool recording;
    uint64_t record_drops; /* packets the recorder's ring had no room for */
    uint64_t record_stops; /* recordings the recorder stopped (disk space, write errors) */
    /* When the recording started, and until when its publishers are asked for keyframes
     * (router_record.c): its video begins at one. */
    uint64_t record_since_us, record_keyframes_until_us;
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
    uint64_t copies_per_datagram; /* in the last receive batch, at least 1 */
    uint64_t next_control_us;
    uint32_t joins; /* participants added so far: their epochs */
    /* Pacing: the queues that hold packets now, and the pool their packets live in. */
    struct participant *backlogged;
    cq_paceq_pool_t pool;
    cq_paceq_entry_t *pool_entries;
    uint8_t (*pool_data)[CQ_PACEQ_MTU];
    cq_twcc_packet_t twcc[TWCC_MAX_PACKETS];
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

/* Whether consumer c's subscriber gets each TL0 packet of its video twice: its downlink
 * protects the base layer (PROTECT_RTT_US) and it has an RTX SSRC for the copies. The
 * forwarding path sends by this rule and the allocator prices by it. */
static inline bool tl0_copied(const struct consumer *c) {
    return c->subscriber->down->protect_tl0 && c->s.ssrcs.video_rtx != 0;
}

/* How long a keyframe request to pub may go unanswered before it is asked again. */
static inline uint64_t keyframe_retry_us(const struct participant *pub) {
    uint64_t retry = 2 * rtt_of(pub) + KEYFRAME_TURN_US;
    return retry > KEYFRAME_REQUEST_INTERVAL_US ? retry : KEYFRAME_REQUEST_INTERVAL_US;
}

/*
 * router_downlink.c: the one point where RTP leaves for a participant. The plain packet
 * in the send queue's current slot goes now (stamped with sub's next transport-wide
 * number at tseq_at, -1: it has none; SRTP-protected; queued for sendmmsg) or, when paced
 * and sub's pacer holds packets or has no credit, waits in the pacer. Returns the length
 * sent or queued for pacing, or 0 when it was dropped (counted).
 */
size_t cq_router_queue_rtp(struct cq_router *r, struct participant *sub, uint8_t *slot, size_t len,
                           ptrdiff_t tseq_at, bool paced);
/* Sets up p's downlink state (control path); CQ_ENOMEM. Freed by downlink_free. */
int cq_router_downlink_create(struct participant *p);
void cq_router_downlink_free(struct cq_router *r, struct participant *p);
/* Drops what waits for p (it lost its binding). */
void cq_router_downlink_clear(struct cq_router *r, struct participant *p);
/* Lets out what every pacer allows now. */
void cq_router_pace(struct cq_router *r, uint64_t now_us);
/* Sends p the probe packets due now (once a tick for each bound participant). */
void cq_router_probe(struct cq_router *r, struct participant *p, uint64_t now_us);
/* Transport-wide feedback from p about what the relay sent it. */
void cq_router_on_twcc(struct cq_router *r, struct participant *p, const cq_rtcp_header_t *h,
                       uint64_t now_us);
/* router.c: where consumer c's video should go now (its preferences, the allocator's
 * choice, the layers arriving); asks for the keyframe a switch needs. */
void cq_router_update_target(struct cq_router *r, struct consumer *c, uint64_t now_us);
/* The layer consumer c's subscriber gets of its publisher, as the allocator leaves it
 * (CQ_ALLOC_SPATIAL - 1 while the downlink is not estimated), and the temporal cap. */
int cq_router_alloc_spatial(const struct consumer *c, unsigned *temporal);
/* Whether that choice rests on a settled estimate (DOWNLINK_SETTLE_US). */
bool cq_router_alloc_settled(const struct consumer *c);
/* Once a control tick for bound p: whether its congestion window is full (stalled), and
 * whether its base layer goes twice (protect_tl0; never unless copies). */
void cq_router_downlink_watch(struct participant *p, bool copies, uint64_t now_us);

/* Where the transport-wide number's two bytes sit in the packet v was parsed from (the
 * same in every copy, whose headers keep the original's layout), or -1 when it has none:
 * found once per received packet, written per copy. */
ptrdiff_t cq_router_tseq_offset(const uint8_t *pkt, const cq_rtp_view_t *v);

/* router.c: writes into slot the RTX (RFC 4588) of the plain video packet pkt (parsed: v,
 * its descriptor: desc) under the numbers consumer c's subscriber knows it by (out), with
 * c's RTX SSRC and its next RTX number, which the caller moves on once the copy is
 * queued. Returns its length, or an error (too large for a slot with the OSN). */
int cq_router_rtx_as_sent(const struct consumer *c, const uint8_t *pkt, const cq_rtp_view_t *v,
                          const cq_vp8_desc_t *desc, const cq_vsel_out_t *out, uint8_t *slot);

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

/* ---- router_record.c ------------------------------------------------------------------ */
/* A copy of publisher p's packet [pkt, pkt + len) of stream s, after SRTP, to the
 * recorder; called only while p's session records. */
void cq_router_record(struct cq_router *r, struct participant *p, const struct stream *s,
                      const uint8_t *pkt, size_t len, uint64_t now_us);
/* Once a control tick: sessions whose recording the recorder stopped. */
void cq_router_record_tick(struct cq_router *r, uint64_t now_us);
/* ---- end router_record.c -------------------------------------------------------------- */

/* ---- router_uplink.c ------------------------------------------------------------------ */
/* Starts p's uplink state empty (control path, once p->rtcp_ssrc is set). */
void cq_router_uplink_init(struct participant *p);
/* An RTP packet from p, parsed as v: its transport-wide number, if any, arrived now. */
void cq_router_uplink_packet(struct participant *p, const cq_rtp_view_t *v, uint64_t now_us);
/* For bound p once a tick: the transport-wide feedback and the CQLU that are due. */
void cq_router_uplink_tick(struct cq_router *r, struct participant *p, uint64_t now_us);
/* The layers of pub anyone uses (bit i: spatial layer i), as CQLU carries them. */
uint8_t cq_router_uplink_layers(const struct participant *pub);
/* The most pub's lowest layer should cost now, kbit/s: from the least share of its
 * settled receivers that want its video; UINT16_MAX: no ceiling. Not smoothed. */
uint16_t cq_router_uplink_ceiling(const struct participant *pub);
/* The room for pub's sound, kbit/s: the least share per voice of its settled receivers,
 * where under UPLINK_SOUND_THIN_BPS; 0: none so thin. Not smoothed. */
uint8_t cq_router_uplink_sound(const struct participant *pub);
/* ---- end router_uplink.c -------------------------------------------------------------- */

#endif
