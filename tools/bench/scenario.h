/*
 * What chasqui-bench puts through the relay: who takes part, what each publishes, and
 * who receives each stream. Pure data (no I/O), built once at start-up; the generator
 * reads the streams, the relay gets the participants and their layer preferences, and
 * the limit forwarder gets the same routing as a table, so both forward the same copies.
 *
 * Media as a telecentre sends it: sound is 50 packets a second of CQ_BENCH_AUDIO_SIZE
 * bytes (Opus in 20 ms frames); video is VP8 simulcast in packets of CQ_BENCH_VIDEO_SIZE
 * bytes at each layer's bitrate, layers weighted 1:3:9 as the client's rate allocator
 * does (client/ratealloc.c), with three temporal layers and a keyframe every two seconds.
 *
 *   fanout      1 publisher (sound + one 900 kbit/s layer), N receivers of everything.
 *   conference  N telecentres, each sending sound + 150/450 kbit/s simulcast and receiving
 *               every other's sound and low layer (cq_relay_set_layer_prefs).
 *   broadcast   1 presenter (sound + 100/300/900 kbit/s), N viewers: viewer i receives
 *               the sound and layer i mod 3.
 *
 * With several sessions (one per relay worker, --workers) the scenario is repeated in
 * each session.
 *
 * Publishers join with subscribe_all (they receive everyone, now and later). Members that
 * send nothing (receivers, viewers) join without it and are subscribed to their session's
 * publishers one by one: with subscribe_all the relay also makes a consumer for every pair
 * of them, N * (N - 1) consumers of ~13 KiB that never carry a packet (1.4 MiB per viewer
 * at 100 viewers, gigabytes at 500; docs/PERFORMANCE.md). chasqui-bench --subscribe-all
 * joins everyone as the daemon does (relay/sigmedia.c), to measure that.
 */
#ifndef CQ_TOOLS_BENCH_SCENARIO_H
#define CQ_TOOLS_BENCH_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "relay/relay.h"
#include "rtp/srtp.h"

/* Plain RTP bytes of a packet (header and extensions included; SRTP adds its tag). */
#define CQ_BENCH_AUDIO_SIZE 100
#define CQ_BENCH_VIDEO_SIZE 1100
#define CQ_BENCH_AUDIO_PPS  50
/* Frames per second a video layer keeps to while it has a packet a frame to send. */
#define CQ_BENCH_VIDEO_FPS 30
/* A keyframe this often, in seconds of media (rounded to a whole temporal pattern). */
#define CQ_BENCH_KEYFRAME_S 2

typedef enum {
    CQ_BENCH_FANOUT = 1,
    CQ_BENCH_CONFERENCE,
    CQ_BENCH_BROADCAST,
} cq_bench_kind_t;

/* One stream a member publishes. */
typedef struct {
    bool video;
    uint8_t layer;            /* spatial layer (video) */
    uint32_t ssrc;            /* as the member announces it */
    uint16_t size;            /* plain RTP bytes of each packet */
    unsigned frame_packets;   /* packets per frame, sent together (1 for sound) */
    double frame_rate;        /* frames (sound: packets) per second of media */
    unsigned keyframe_frames; /* video: a keyframe every this many frames */
    /* Who receives each packet: dests[dest0 .. dest0 + ndest) of the scenario, member
     * indices. */
    unsigned dest0, ndest;
} cq_bench_stream_t;

#define CQ_BENCH_MAX_STREAMS (1 + CQ_RELAY_MAX_LAYERS)

typedef struct {
    cq_relay_participant_params_t params;
    uint32_t session; /* relay session id */
    unsigned nstreams;
    cq_bench_stream_t streams[CQ_BENCH_MAX_STREAMS];
    /* Layer preferences to set once it is in the session: toward pref_publisher (a
     * participant id, or CQ_RELAY_ALL_PUBLISHERS). */
    bool has_prefs;
    uint32_t pref_publisher;
    cq_relay_layer_prefs_t prefs;
} cq_bench_member_t;

typedef struct {
    cq_bench_kind_t kind;
    unsigned size;     /* N: receivers, telecentres or viewers per session */
    unsigned sessions; /* copies of the scenario, one relay session each */
    cq_srtp_suite_t suite;
    cq_bench_member_t *members; /* sessions * members per session, session by session */
    size_t nmembers;
    uint32_t *dests; /* member indices, per stream (see cq_bench_stream_t) */
    size_t ndests;
    /* Packets per second of media at real time: what publishers send, what the relay
     * sends on (the copies the routing asks for). */
    double in_pps, out_pps;
} cq_bench_scenario_t;

/*
 * Builds the scenario: size is N above (1..CQ_BENCH_MAX_SIZE), sessions >= 1. Session ids
 * count from 1; participant ids within a session from 1; ICE credentials, SRTP keys (of
 * the suite) and SSRCs differ for every member. Returns 0, CQ_EINVAL or CQ_ENOMEM.
 */
#define CQ_BENCH_MAX_SIZE 5000
int cq_bench_scenario_create(cq_bench_scenario_t *s, cq_bench_kind_t kind, unsigned size,
                             unsigned sessions, cq_srtp_suite_t suite);
void cq_bench_scenario_close(cq_bench_scenario_t *s);

/* The key a member protects with toward the limit forwarder (into key, cq_srtp_key_len of
 * its suite): not key_in, because the generator keeps one sequence space per forwarder,
 * so that each sees its streams without gaps, and one key on both would encrypt two
 * packets under one keystream. */
void cq_bench_scenario_limit_key(const cq_relay_participant_params_t *p,
                                 uint8_t key[CQ_SRTP_MAX_KEY_LEN]);

/* "fanout", "conference", "broadcast". name returns NULL for an unknown kind; from_name
 * returns 0 or CQ_EINVAL. */
const char *cq_bench_scenario_name(cq_bench_kind_t kind);
int cq_bench_scenario_from_name(const char *name, cq_bench_kind_t *kind);

#endif
