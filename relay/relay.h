/*
 * chasqui-relay's C API: the SFU as the signaling server (and tests) drive it.
 *
 * Threads: every function here is called from one thread, the owner's (the main loop).
 * Each call is carried to the worker that holds the session and waits for it there
 * (relay/worker.h), so it returns with the change applied or an error, never half done.
 * Nothing here is called from a worker.
 *
 * Ownership: the relay copies what it is given (credentials, keys); callers keep nothing
 * alive for it.
 */
#ifndef CQ_RELAY_RELAY_H
#define CQ_RELAY_RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "rtp/srtp.h"

struct cq_relay;

/* What a worker tells the owner. Events are values: nothing in them points anywhere. */
typedef enum {
    CQ_RELAY_EVENT_BOUND = 1,    /* first authenticated check: media can flow */
    CQ_RELAY_EVENT_MOVED,        /* rebound to a new address (NAT rebinding) */
    CQ_RELAY_EVENT_CONSENT_LOST, /* silent past the consent time: unbound */
    CQ_RELAY_EVENT_SPEAKER,      /* the session's active speaker changed (0: nobody) */
    CQ_RELAY_EVENT_LAYER,        /* participant now receives publisher's video at layer */
    /* The session's recording stopped by itself: the disk went under the free-space floor
     * or its files could not be written (participant_id is 0). */
    CQ_RELAY_EVENT_RECORDING_STOPPED,
} cq_relay_event_type_t;

typedef struct {
    cq_relay_event_type_t type;
    uint32_t session_id;
    uint32_t participant_id;
    uint64_t time_us;      /* monotonic, when the worker saw it */
    uint32_t publisher_id; /* LAYER: whose video */
    int32_t layer;         /* LAYER: the spatial layer now forwarded (-1: none) */
} cq_relay_event_t;

/* Events waiting beyond this are dropped (and counted) rather than allocated for. */
#define CQ_RELAY_EVENT_QUEUE 4096

#define CQ_RELAY_MAX_WORKERS 16
#define CQ_RELAY_MAX_LAYERS  3  /* simulcast spatial layers per publisher */
#define CQ_RELAY_UFRAG_MAX   32 /* ICE ufrag, ice-chars (RFC 8445 §5.3: 4..256; ours short) */
#define CQ_RELAY_PWD_MAX     64 /* ICE password, at least 22 characters */

typedef struct {
    const char *host;      /* bind address; NULL or "::" for every address, both families */
    uint16_t port;         /* worker i listens on port + i; 0 lets each pick (tests) */
    unsigned workers;      /* 0 for 1 */
    int socket_buffer;     /* receive and send buffer per socket, bytes; 0: 4 MiB */
    unsigned consent_s;    /* a bound participant silent this long is unbound; 0: 30 s */
    unsigned stats_log_ms; /* each participant's counters logged (info) this often; 0: 10 s */
    /* Estimates each downlink but neither paces nor allocates by it (the e2e ablation). */
    bool no_adapt;
    /* Never sends a base layer twice on a long, lossy round trip (PROTECT_RTT_US: the
     * e2e ablation of the copies). */
    bool no_copies;
    /* Woken (uv_async_send) when events are queued, if not NULL: an async handle on the
     * owner's loop, whose callback drains cq_relay_poll_events. It must outlive the relay. */
    uv_async_t *events_notify;
    /* Recordings go to <recording_dir>/session-<id>/ (NULL: "var/recordings"), and stop
     * when the disk holding it has less than recording_min_free bytes free (0: 512 MiB). */
    const char *recording_dir;
    uint64_t recording_min_free;
    /* For tests, NULL otherwise: replaces statvfs (0 or a negative errno, *out the free
     * bytes), so a full disk can be simulated. Called from the workers' and the recorders'
     * threads. */
    int (*recording_free_bytes)(void *arg, const char *dir, uint64_t *out);
    /* For tests, NULL otherwise: runs on a recorder's thread before each packet it writes
     * (a slow disk is simulated by making it wait). */
    void (*recording_before_write)(void *arg);
    void *recording_hook_arg;
} cq_relay_config_t;

/* What a participant may publish and how it talks to the relay. */
typedef struct {
    uint32_t id;                            /* unique within its session, chosen by the caller */
    char ice_ufrag[CQ_RELAY_UFRAG_MAX + 1]; /* relay-side ufrag: unique in the relay */
    char ice_pwd[CQ_RELAY_PWD_MAX + 1];     /* relay-side password */
    cq_srtp_suite_t suite;
    uint8_t key_in[CQ_SRTP_MAX_KEY_LEN];  /* what the participant protects with */
    uint8_t key_out[CQ_SRTP_MAX_KEY_LEN]; /* what the relay protects with toward it */
    uint32_t audio_ssrc;                  /* 0: publishes no audio */
    unsigned video_layers;                /* 0..CQ_RELAY_MAX_LAYERS, lowest first */
    uint32_t video_ssrc[CQ_RELAY_MAX_LAYERS];
    uint32_t video_rtx_ssrc[CQ_RELAY_MAX_LAYERS]; /* 0: no RTX for that layer */
    /* Receive every publisher of the session, present and future: every participant that
     * publishes audio or video. Two that publish nothing (a broadcast's viewers) are not
     * tied by a consumer, which would carry nothing and cost its memory and timer visits
     * for every ordered pair (gigabytes at 500 viewers; docs/PERFORMANCE.md). */
    bool subscribe_all;
} cq_relay_participant_params_t;

/* The SSRCs a subscriber sees for one publisher: stable for as long as it is subscribed,
 * whatever layer is forwarded. */
typedef struct {
    uint32_t audio, video, video_rtx;
} cq_relay_consumer_ssrcs_t;

/* Which video of one publisher a subscriber wants: the relay forwards the best layer
 * within these bounds that the publisher sends. The default is every layer. */
typedef struct {
    int max_spatial;       /* highest simulcast layer, 0 = lowest; -1 pauses the video */
    unsigned max_temporal; /* highest temporal layer (VP8 TID), 0..3 */
} cq_relay_layer_prefs_t;

/* Counters of one subscriber receiving one publisher's video. */
typedef struct {
    int spatial;             /* layer forwarded now; -1: none */
    int spatial_target;      /* layer it is moving to (a keyframe is awaited); -1: none */
    unsigned temporal;       /* highest temporal layer forwarded */
    uint64_t packets, bytes; /* video sent */
    uint64_t switches;       /* spatial switches made */
    uint64_t drops_paused, drops_waiting, drops_layer, drops_temporal, drops_late;
    /* packets sent from the cache after a switch at a keyframe whose start came late */
    uint64_t replayed;
} cq_relay_consumer_stats_t;

enum { CQ_RELAY_STREAM_AUDIO, CQ_RELAY_STREAM_VIDEO, CQ_RELAY_STREAM_RTX };

/* Counters of one stream a participant publishes. */
#define CQ_RELAY_MAX_STREAMS (1 + 2 * CQ_RELAY_MAX_LAYERS)
typedef struct {
    uint32_t ssrc;
    uint8_t kind;  /* CQ_RELAY_STREAM_* */
    uint8_t layer; /* spatial layer of video and its RTX */
    bool active;   /* packets arrived in the last second */
    uint64_t packets, bytes;
    int64_t lost;         /* expected - received (RFC 3550 A.3) */
    uint32_t jitter_us;   /* interarrival jitter */
    uint64_t bitrate_bps; /* over the last full second it was sent */
    uint64_t keyframes;   /* video: keyframes received */
} cq_relay_stream_stats_t;

/* Counters of one participant, as the relay saw them. */
typedef struct {
    bool bound;
    uint32_t rtt_us; /* round trip to it, from its receiver reports; 0: not known yet */
    uint64_t packets_in, bytes_in;        /* media received from it, after SRTP */
    uint64_t packets_out, bytes_out;      /* media sent to it */
    uint64_t stun_checks;                 /* authenticated Binding requests */
    uint64_t rebinds;                     /* moves to a new address (NAT rebinding) */
    uint64_t drops_auth;                  /* SRTP authentication failures */
    uint64_t drops_replay;                /* SRTP replays */
    uint64_t drops_unknown_ssrc;          /* SSRCs it did not announce */
    uint64_t drops_malformed;             /* not RTP/RTCP after decryption */
    uint64_t rtcp_in;                     /* RTCP compounds received from it */
    uint64_t keyframe_requests_in;        /* PLI/FIR it sent for video it receives */
    uint64_t keyframe_requests_sent;      /* PLIs the relay sent it, as a publisher */
    uint64_t keyframe_requests_coalesced; /* requests for its video folded into one */
    uint64_t nacks_in;                    /* packets it asked again for (each NACKed seq) */
    uint64_t rtx_sent;                    /* repairs sent to it from the relay's cache */
    uint64_t nacks_limited;    /* not resent: asked again too soon, or over its RTX budget */
    uint64_t nacks_unanswered; /* not in the cache (too old, never received) */
    uint64_t nacks_unsent;     /* of those, numbers never sent it (lost on the way in) */
    uint64_t nacks_sent;       /* packets the relay asked it again for, as a publisher */
    uint64_t rtx_recovered;    /* repairs it sent that restored a missing packet */
    uint64_t rtx_duplicates;   /* repairs of a packet the relay had already: dropped */
    uint64_t tl0_copies;       /* base-layer packets sent it twice on a long round trip */
    /* Its downlink, as the relay estimates and paces it (0 until it sends transport-wide
     * feedback): the estimate, the pace, what video may use after sound, the publishers
     * whose video it gets none of (audio only), what waited or was dropped in the pacer. */
    uint32_t downlink_bps, pace_bps, video_budget_bps;
    uint32_t video_paused;
    uint64_t paced_packets, paced_dropped;
    uint32_t pace_max_wait_us;
    uint64_t probes;       /* probe clusters sent to find room on its downlink */
    uint64_t red_stripped; /* sound sent without its RED copies, for want of room or while
                            * its feedback had stalled */
    /* As a publisher: the ceiling on its lowest layer last told (CQLU), kbit/s; 0: none. */
    uint32_t lowest_layer_ceiling_kbps;
    /* ... and the room for its sound last told, kbit/s; 0: none. */
    uint32_t sound_room_kbps;
    uint64_t muted_dropped; /* sound it sent while muted by the operator: not forwarded */
} cq_relay_participant_stats_t;

/* Counters of a whole worker: what was dropped before any participant was known. */
typedef struct {
    uint64_t datagrams;
    uint64_t drops_unbound;   /* media from an address no participant is bound to */
    uint64_t drops_stun;      /* STUN that was not an answerable, authenticated request */
    uint64_t drops_garbage;   /* neither STUN nor RTP/RTCP, or truncated by the kernel */
    uint64_t stun_errors;     /* error answers sent (401, 420, 487) */
    uint64_t consent_expired; /* participants unbound for silence */
    uint64_t send_dropped;    /* datagrams the socket refused or could not take */
    /* Sums over every participant the worker has had, present and departed, so they only
     * grow (Prometheus counters): */
    uint64_t packets_in, bytes_in, packets_out, bytes_out;
    uint64_t nacks_in, rtx_sent, keyframe_requests_sent;
    uint64_t drops_auth, drops_replay, drops_unknown_ssrc, drops_malformed;
    /* Now: */
    uint64_t sessions, participants, participants_bound;
} cq_relay_worker_stats_t;

/* Starts the workers and binds their sockets. Returns 0 and *out, or an error (a port in
 * use is -EADDRINUSE). */
int cq_relay_create(struct cq_relay **out, const cq_relay_config_t *cfg);

/* The UDP port worker i listens on, or 0 when there is no such worker. */
uint16_t cq_relay_media_port(const struct cq_relay *r, unsigned worker);

/* Stops every worker, closes every session. NULL is fine. */
void cq_relay_destroy(struct cq_relay *r);

/* Creates a session on the least loaded worker and says which UDP port its participants
 * send to. Returns 0, CQ_EEXIST or CQ_ENOMEM. */
int cq_relay_session_create(struct cq_relay *r, uint32_t session_id, uint16_t *media_port);

/* Closes a session: its participants are removed. Returns 0 or CQ_ENOENT. */
int cq_relay_session_close(struct cq_relay *r, uint32_t session_id);

/* Adds a participant. Returns 0, CQ_ENOENT (no session), CQ_EEXIST (id or ufrag taken),
 * CQ_EINVAL (bad parameters: empty credentials, a duplicated or zero SSRC, too many layers,
 * wrong suite) or what SRTP set-up reported. */
int cq_relay_participant_add(struct cq_relay *r, uint32_t session_id,
                             const cq_relay_participant_params_t *p);

/* Removes a participant: nobody receives it any more, and its consumers go. */
int cq_relay_participant_remove(struct cq_relay *r, uint32_t session_id, uint32_t participant_id);

/* Mutes (or unmutes) a participant's sound: while muted the relay forwards none of it and
 * it never becomes the active speaker; its video is untouched. A participant starts
 * unmuted (a re-join makes a new one). Returns 0 or CQ_ENOENT. */
int cq_relay_participant_mute(struct cq_relay *r, uint32_t session_id, uint32_t participant_id,
                              bool muted);

/* subscriber starts (or stops) receiving publisher. Subscribing twice is CQ_EEXIST, and
 * unsubscribing what is not subscribed CQ_ENOENT. */
int cq_relay_subscribe(struct cq_relay *r, uint32_t session_id, uint32_t subscriber,
                       uint32_t publisher);
int cq_relay_unsubscribe(struct cq_relay *r, uint32_t session_id, uint32_t subscriber,
                         uint32_t publisher);

/* The SSRCs subscriber sees for publisher. Returns 0 or CQ_ENOENT (not subscribed). */
int cq_relay_consumer_ssrcs(struct cq_relay *r, uint32_t session_id, uint32_t subscriber,
                            uint32_t publisher, cq_relay_consumer_ssrcs_t *out);

/* Publisher id meaning "every publisher of the session, now and later". */
#define CQ_RELAY_ALL_PUBLISHERS 0

/* Sets which layers of publisher's video subscriber receives (CQ_RELAY_ALL_PUBLISHERS:
 * of all of them, and of those who join later). Returns 0, CQ_ENOENT (not subscribed, or
 * no such subscriber) or CQ_EINVAL (max_temporal above 3). */
int cq_relay_set_layer_prefs(struct cq_relay *r, uint32_t session_id, uint32_t subscriber,
                             uint32_t publisher, const cq_relay_layer_prefs_t *prefs);

int cq_relay_participant_stats(struct cq_relay *r, uint32_t session_id, uint32_t participant_id,
                               cq_relay_participant_stats_t *out);

/* The streams participant_id publishes, into out[CQ_RELAY_MAX_STREAMS]; *n says how many. */
int cq_relay_stream_stats(struct cq_relay *r, uint32_t session_id, uint32_t participant_id,
                          cq_relay_stream_stats_t *out, size_t *n);

/* What subscriber receives of publisher's video. Returns 0 or CQ_ENOENT (not subscribed). */
int cq_relay_consumer_stats(struct cq_relay *r, uint32_t session_id, uint32_t subscriber,
                            uint32_t publisher, cq_relay_consumer_stats_t *out);

/* A session's recording, as the relay sees it. */
typedef struct {
    bool on;
    uint64_t drops; /* packets lost to the recording (the recorder's ring was full) */
    uint64_t stops; /* times the recorder stopped it (disk space, write errors) */
} cq_relay_recording_status_t;

/* Starts or stops recording every publisher of a session (what arrives, after SRTP, every
 * simulcast layer into its own file: docs/ARCHITECTURE.md "Recording"). Starting what
 * records, or stopping what does not, is 0. Returns 0, CQ_ENOENT (no session), CQ_ENOSPC
 * (the disk is under the floor: nothing starts), CQ_EIO (its free space cannot be read) or
 * CQ_EAGAIN (the recorder is busy with other starts and stops: try again). */
int cq_relay_recording(struct cq_relay *r, uint32_t session_id, bool on);

int cq_relay_recording_status(struct cq_relay *r, uint32_t session_id,
                              cq_relay_recording_status_t *out);

/* The directory recordings go to (the config's, or the default). */
const char *cq_relay_recording_dir(const struct cq_relay *r);

/* CPU time worker i's thread has used since it started, in nanoseconds (its thread's CPU
 * clock: what forwarding costs, apart from any other thread of the process). Returns 0,
 * CQ_ENOENT (no such worker) or CQ_EBADSTATE (stopped). */
int cq_relay_worker_cpu_ns(const struct cq_relay *r, unsigned worker, uint64_t *ns);

/* Sums of every worker's counters. */
int cq_relay_worker_stats(struct cq_relay *r, cq_relay_worker_stats_t *out);

/* Moves up to max queued events, oldest first, into out; returns how many. *dropped (if
 * not NULL) receives the number of events lost to a full queue since the last call. Safe
 * while workers run. */
size_t cq_relay_poll_events(struct cq_relay *r, cq_relay_event_t *out, size_t max,
                            uint64_t *dropped);

#endif
