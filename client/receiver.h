/*
 * What a telecentre receives: the audio and video of every other telecentre, as the relay
 * forwards them (plain RTP and RTCP, after the link's SRTP). Streams are told apart by
 * SSRC and grouped into remotes by the SDES CNAME the relay sends with each sender
 * report ("chasqui-<session>-<telecentre>"), which is also where a remote's telecentre id
 * comes from. Video goes through the video jitter buffer (NACKs, RTX repair, skipping
 * what cannot be decoded, PLI when the picture needs a keyframe) to the VP8 decoder;
 * audio through the adaptive audio jitter buffer to Opus, with FEC and concealment. A
 * telecentre's sound and pictures are kept in step from its sender reports: the one that
 * is ahead waits (pictures in a short line of decoded copies, sound in a deeper buffer).
 * Receiver reports, NACKs and PLIs go back through send_rtcp.
 *
 * Synthetic sources are measured as they arrive: each decoded picture's painted frame
 * number and capture time give order, latency (sender and receiver on one clock: the same
 * machine, or clocks the operator keeps in sync) and PSNR against the picture repainted.
 *
 * Owned by one thread; time is the caller's monotonic microseconds.
 */
#ifndef CQ_CLIENT_RECEIVER_H
#define CQ_CLIENT_RECEIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec/vp8_codec.h"

#define CQ_RECEIVER_MAX_REMOTES 16

struct cq_receiver;

typedef struct {
    uint32_t own_ssrc; /* the SSRC our RTCP comes from */
    bool no_nack;      /* never ask for repairs (to measure what NACK/RTX are worth) */
    void (*send_rtcp)(void *ctx, const uint8_t *pkt, size_t len);
    /* A decoded picture of remote telecentre (0 while its CNAME is unknown), valid during
     * the call; and played audio, 48 kHz mono. Either may be NULL. */
    void (*on_video)(void *ctx, uint32_t telecentre, const cq_i420_t *img);
    /* Each whole VP8 frame as it goes to the decoder (RTP time ts, 90 kHz), for recording
     * what was sent; NULL for none. */
    void (*on_encoded)(void *ctx, uint32_t telecentre, const uint8_t *frame, size_t len,
                       uint32_t ts);
    void (*on_audio)(void *ctx, uint32_t telecentre, const int16_t *pcm, size_t samples);
    void *ctx;
} cq_receiver_config_t;

int cq_receiver_create(struct cq_receiver **out, const cq_receiver_config_t *cfg);
void cq_receiver_destroy(struct cq_receiver *r);

/* A plain RTP packet (the buffer may be modified: RTX is unwrapped in place). */
void cq_receiver_rtp(struct cq_receiver *r, uint8_t *pkt, size_t len, uint64_t now_us);
/* A plain RTCP compound: sender reports, SDES, BYE. */
void cq_receiver_rtcp(struct cq_receiver *r, const uint8_t *pkt, size_t len, uint64_t now_us);

/* Gives out the pictures that are ready, plays the audio that is due and sends the
 * feedback that is due. Call every 10 ms or so. */
void cq_receiver_tick(struct cq_receiver *r, uint64_t now_us);

/* The round trip to the relay (from the sender's reports): how long a missing packet is
 * worth waiting for. */
void cq_receiver_set_rtt(struct cq_receiver *r, uint32_t rtt_us);

typedef struct {
    uint32_t telecentre; /* 0 until the CNAME came */
    /* Video. */
    bool has_video;
    unsigned width, height;
    uint64_t video_packets, video_repaired, frames_decoded, frames_dropped, keyframes;
    /* RTX of a packet already here: a copy sent ahead of loss (the relay protects the base
     * layer on a long round trip), or a repair that crossed its original. */
    uint64_t video_repairs_unneeded;
    /* Holes in the video filled (repaired, or a late packet), and how long they had been
     * open: on average and at most. */
    uint64_t video_holes_filled;
    unsigned video_repair_wait_ms_avg, video_repair_wait_ms_max;
    uint64_t video_bytes;  /* RTP payload, repairs included */
    uint64_t frames_shown; /* decoded and handed on (lip sync may still hold a few) */
    uint64_t plis_wanted;  /* times the picture needed a keyframe */
    uint64_t gaps_passed;  /* losses not waited for: later frames did not need them */
    uint64_t freezes;      /* gaps between pictures over 3 frame times and 200 ms */
    uint64_t freeze_total_ms, freeze_longest_ms;
    /* Synthetic video: painted frames read, and how they came. */
    uint64_t synth_frames, synth_out_of_order;
    uint32_t synth_last_frame;
    /* The latest picture shown was read, and was captured then (ms of uv_hrtime's clock);
     * one not read leaves no capture time to judge it by. */
    bool synth_last_read;
    uint32_t synth_last_capture_ms;
    double psnr_min, psnr_sum; /* over synth_frames */
    double latency_ms_sum, latency_ms_max;
    /* Capture to shown, and mouth to ear (from the sender's reports), as percentiles in
     * 5 ms steps; both assume one clock at both ends (one machine, or synced clocks). */
    unsigned video_latency_ms_p50, video_latency_ms_p95;
    unsigned audio_latency_ms_p50, audio_latency_ms_p95;
    /* Audio. */
    bool has_audio;
    /* Sound played from packets, from a lost packet's copy in a later one (RED), rebuilt
     * from the next packet's FEC, or made up for a loss (a packet missing between two that
     * came, or one that came too late), in 20 ms frames whatever the packets carry. */
    uint64_t audio_packets, audio_played, audio_red, audio_fec, audio_concealed;
    uint64_t audio_malformed; /* packets that were not Opus (or RED of it) */
    uint64_t audio_stretched; /* made up on purpose to deepen the buffer: nothing lost */
    uint64_t audio_gaps;      /* nothing to play: silence (DTX) or the sender gone */
    uint64_t audio_dropped;   /* came, but dropped unplayed to bring a backlog's delay down */
    /* Synthetic sound only: frames rebuilt from FEC that have the lost frame's pitch (truly
     * recovered) and that do not (concealed, whatever the decoder was asked). */
    uint64_t synth_fec_ok, synth_fec_failed;
    uint64_t audio_bytes; /* RTP payload */
    unsigned jitter_buffer_ms;
    /* Lip sync: what each stream is held for it, and how far the sound played after (+) or
     * before (-) its pictures at the last look. */
    unsigned audio_hold_ms, video_hold_ms;
    int av_offset_ms;
} cq_receiver_remote_stats_t;

/* Copies the stats of at most max remotes into out; returns how many there are. */
size_t cq_receiver_stats(const struct cq_receiver *r, cq_receiver_remote_stats_t *out, size_t max);

#endif
