/*
 * What the control plane asks of the media plane, as a table of functions the daemon
 * fills in (relay/sigmedia.h adapts the relay's API to it). It keeps the layers apart:
 * signaling decides who joins which session with which keys; the relay carries packets;
 * neither links the other's internals (DESIGN.md "Layers and folders").
 */
#ifndef CQ_SIGNALING_MEDIA_H
#define CQ_SIGNALING_MEDIA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rtp/srtp.h"

#define CQ_MEDIA_MAX_LAYERS 3
#define CQ_MEDIA_UFRAG_LEN  8  /* ICE ufrag the relay answers to */
#define CQ_MEDIA_PWD_LEN    24 /* ICE password: 144 bits of base-62 */

/* One telecentre in one media session, as the join answer tells it and the relay needs. */
typedef struct {
    uint32_t id;                        /* the telecentre's id: unique in its session */
    char ufrag[CQ_MEDIA_UFRAG_LEN + 1]; /* relay side, for its STUN checks */
    char pwd[CQ_MEDIA_PWD_LEN + 1];
    cq_srtp_suite_t suite;
    uint8_t key_in[CQ_SRTP_MAX_KEY_LEN];  /* the telecentre protects with this */
    uint8_t key_out[CQ_SRTP_MAX_KEY_LEN]; /* the relay protects toward it with this */
    uint32_t audio_ssrc;                  /* 0: sends no audio (a viewer) */
    unsigned video_layers;                /* 0: sends no video */
    uint32_t video_ssrc[CQ_MEDIA_MAX_LAYERS];
    uint32_t video_rtx_ssrc[CQ_MEDIA_MAX_LAYERS];
} cq_media_participant_t;

/* What the media plane has done since it started (counters only grow) and holds now. */
typedef struct {
    uint64_t datagrams, packets_in, bytes_in, packets_out, bytes_out;
    uint64_t nacks_in, rtx_sent, keyframe_requests_sent, send_dropped;
    uint64_t drops_unbound, drops_stun, drops_garbage, drops_auth, drops_replay;
    uint64_t drops_unknown_ssrc, drops_malformed;
    uint64_t sessions, participants, participants_bound; /* now */
} cq_media_totals_t;

/* One participant as the media plane sees it now (counters since it joined). */
typedef struct {
    bool bound; /* its address is known and fresh */
    uint64_t packets_in, bytes_in, packets_out, bytes_out;
    int64_t lost;                /* packets it sent that never reached the relay */
    uint32_t rtt_ms, jitter_ms;  /* 0: not measured yet */
    uint64_t nacks_in, rtx_sent; /* repairs it asked for, and got */
    uint64_t bitrate_in_bps;     /* what it sends, over the last second */
    /* Its downlink as the relay estimates and paces it (0: it sends no transport-wide
     * feedback yet), and the publishers whose video it gets none of for want of room. */
    uint32_t downlink_estimate_bps, downlink_paced_bps, video_paused;
} cq_media_participant_stats_t;

/* Each returns 0 or a CQ_E* code; called on the main loop only. */
typedef struct {
    void *ctx;
    /* Makes the media session; *port is the UDP port its participants send to. */
    int (*session_open)(void *ctx, uint32_t session, uint16_t *port);
    int (*session_close)(void *ctx, uint32_t session);
    /* Adds a participant that receives everyone else and is received by everyone. */
    int (*participant_add)(void *ctx, uint32_t session, const cq_media_participant_t *p);
    int (*participant_remove)(void *ctx, uint32_t session, uint32_t participant);
    /* The operator's mute: the media plane forwards none of participant's sound while it
     * holds. A participant added anew (a re-join) starts unmuted. */
    int (*participant_mute)(void *ctx, uint32_t session, uint32_t participant, bool muted);
    int (*totals)(void *ctx, cq_media_totals_t *out);
    /* The most of every publisher's video a participant wants: spatial layer (-1: no
     * video) and temporal layer (0..3). */
    int (*max_layers)(void *ctx, uint32_t session, uint32_t participant, int spatial,
                      unsigned temporal);
    int (*participant_stats)(void *ctx, uint32_t session, uint32_t participant,
                             cq_media_participant_stats_t *out);
    /* The video layer subscriber receives of publisher now: spatial (-1: none yet, or
     * paused) and temporal. CQ_ENOENT when it does not receive it. */
    int (*received_layer)(void *ctx, uint32_t session, uint32_t subscriber, uint32_t publisher,
                          int *spatial, unsigned *temporal);
    /* Starts (on) or stops recording every publisher of a session; CQ_ENOSPC when the
     * disk is under the relay's free-space floor. Recordings stop by themselves when the
     * disk fills (the relay's event). */
    int (*recording)(void *ctx, uint32_t session, bool on);
    /* Whether the session records now; packets its recording lost (the recorder's ring
     * full: a disk too slow) and times the relay stopped it (disk full, a file it could not
     * write), since the session opened. */
    int (*recording_status)(void *ctx, uint32_t session, bool *on, uint64_t *drops,
                            uint64_t *stops);
    /* The folder a session's raw recordings go to (it may not exist yet): its length, or
     * CQ_ENOBUFS. */
    int (*recording_dir)(void *ctx, uint32_t session, char *buf, size_t cap);
} cq_media_ops_t;

#endif
