/*
 * A telecentre taking part in a session, on a libuv loop: its link to the relay, what it
 * publishes (sender), what it receives (receiver), its sources and its file sinks, and
 * the timers that drive them (a picture every 1/fps s, an audio frame every 20 ms, the
 * receiver every 10 ms, sender reports every second). The program (chasqui-client) adds
 * the join through signaling and the stats file; tests use it as it is.
 *
 * Sources: "synth" (client/synth.h: pictures that carry their frame number and capture
 * time, audio that carries its frame index), a .y4m or .wav file (played in a loop), a
 * camera ("/dev/videoN", client/v4l2.h), the microphone ("mic", client/sdlio.h: SDL's
 * audio must be started), or NULL for none. Sinks, when out_dir is set, for each
 * remote telecentre: <out_dir>/<telecentre><suffix>.y4m (pictures scaled to the first size
 * received, so one file stays one size across layer switches), .wav (what was played) and .ivf (the
 * VP8 as it came, from the first keyframe after the telecentre was named).
 */
#ifndef CQ_CLIENT_ENDPOINT_H
#define CQ_CLIENT_ENDPOINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "cc/estimator.h"
#include "client/link.h"
#include "client/ratealloc.h"
#include "client/receiver.h"
#include "client/sender.h"
#include "client/sdlio.h"

struct cq_endpoint;

typedef struct {
    /* The media part of the join answer. */
    const char *relay_address;
    uint16_t relay_port;
    const char *relay_ufrag, *relay_pwd;
    cq_srtp_suite_t suite;
    const uint8_t *key_tx, *key_rx;
    /* What to publish: ssrcs, layers, rates, audio_frame_ms (20, 40 or 60: longer packets
     * spend less on headers on a weak link; 0 is 20). send, ctx and cname are the
     * endpoint's; width and height are taken from a .y4m source. */
    cq_sender_config_t sender;
    const char *cname;
    const char *video_source, *audio_source;
    const char *out_dir;
    const char *sink_suffix; /* after the telecentre id in file names ("-2"); NULL: none */
    bool no_nack;            /* the receiver never asks for repairs (an ablation) */
    bool no_copies;          /* TL0 never goes twice (cq_ratealloc_plan_t.protect_tl0) */
    /* The encoders keep the configured rates and layers whatever the uplink does (an
     * ablation: the uplink is still estimated, for the stats, but nothing follows it). */
    bool no_adapt;
    /* A window and speakers (client/sdlio.h, borrowed: they outlive the endpoint) where
     * each remote telecentre is shown and heard, once its CNAME named it; NULL: none. */
    struct cq_sdl_window *window;
    struct cq_sdl_speaker *speaker;
    /* When create fails on a source, a line for the user is written here (why_cap bytes),
     * e.g. "/dev/video1: not a camera (no video capture capability)". May be NULL. */
    char *why;
    size_t why_cap;
} cq_endpoint_config_t;

/* Returns 0, CQ_EINVAL (config), CQ_EIO (a source or sink file), or what the link, the
 * sender or the receiver refused. */
int cq_endpoint_create(struct cq_endpoint **out, uv_loop_t *loop, const cq_endpoint_config_t *cfg);

/* Stops the timers, closes files and the link; freed once libuv closed its handles (run
 * the loop). NULL is fine. */
void cq_endpoint_close(struct cq_endpoint *e);

/* A gap between the loop's 10 ms ticks this long is a stall: ten ticks missed, far past
 * what a busy but running loop shows (10-30 ms), and enough to delay sound audibly. */
#define CQ_ENDPOINT_STALL_US 100000u

typedef struct {
    bool up;
    cq_link_stats_t link;
    cq_sender_stats_t sent;
    uint64_t twcc_stamped; /* RTP packets sent with a transport-wide sequence number */
    /* The uplink loop: the estimate from the relay's feedback, the layers the relay says
     * anyone uses, and (adapt, once planned) what the encoders were last told. */
    bool adapt;
    cq_cc_stats_t uplink;
    uint64_t uplink_feedbacks, probe_packets;
    uint64_t
        layer_packets_dropped; /* waiting in the pacer when the plan switched their layer off */
    /* The video pacer's counters (client/pacer.h): a packet it drops never reaches the
     * link, so the relay sees a hole that no link loss explains. */
    uint64_t pacer_queued, pacer_sent, pacer_full, pacer_flushed, pacer_stale;
    uint64_t pacer_max_delay_us;
    uint8_t layers_used;
    bool layers_known;
    unsigned low_kbps;   /* the relay's ceiling on the lowest layer; 0: none */
    unsigned sound_kbps; /* the room it says our sound has; 0: none */
    bool planned;
    cq_ratealloc_plan_t plan;
    /* The event loop: how often two of its 10 ms ticks came CQ_ENDPOINT_STALL_US or more
     * apart (the machine did not run this process: everything it sends and plays was held
     * up that long), and the longest gap between two. */
    uint64_t loop_stalls;
    uint64_t loop_gap_max_us;
    size_t remotes;
    cq_receiver_remote_stats_t remote[CQ_RECEIVER_MAX_REMOTES];
} cq_endpoint_stats_t;

void cq_endpoint_stats(const struct cq_endpoint *e, cq_endpoint_stats_t *out);

/* Telecentre left the session: its place in the window and the speakers is freed. */
void cq_endpoint_forget(struct cq_endpoint *e, uint32_t telecentre);

#endif
