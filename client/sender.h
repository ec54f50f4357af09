/*
 * What a telecentre publishes: its camera as VP8 simulcast (one encoder per layer, the
 * lower layers scaled down with libyuv, each with three temporal layers), its microphone as
 * Opus, both as plain RTP for the link to protect. It keeps the recent video packets of
 * each layer to answer the relay's NACKs with RTX (RFC 4588), makes a keyframe when the
 * relay sends PLI for a layer, tells the Opus encoder the loss the relay reports (so its
 * FEC fits the link), and writes sender reports, which is what lets a receiver line up
 * the audio and video of this telecentre.
 *
 * Owned by one thread. Packets leave through the config's send callback, synchronously.
 */
#ifndef CQ_CLIENT_SENDER_H
#define CQ_CLIENT_SENDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec/vp8_codec.h"

#define CQ_SENDER_MAX_LAYERS 3
#define CQ_SENDER_MAX_RED    2
/* A layer switched off while a lower one stays on: the lower one makes a keyframe this
 * long after (cq_sender_set_layers), for the receivers the relay moves to it. Later than
 * the silence from which the relay takes such a keyframe as the sign (relay/router.c:
 * 300 ms), with room for the jitter of a 3G uplink. */
#define CQ_SENDER_DROP_KEY_US 500000u
/* The lowest layer of several goes at a lower frame rate (down to CQ_SENDER_THIN_MIN_PCT of it)
 * where its bitrate would give a picture fewer bits a pixel than this at the rate asked. libvpx
 * keeps to a thin bitrate by skipping pictures, and after a keyframe it skips many in a
 * row: at 160x90, 15 pictures a second and 20 kbit/s (the floor, where the relay's ceiling
 * for a 3G receiver holds layer 0) it skipped 42 % of them with a keyframe every 3 s, up
 * to 10 in a row (0.7 s); planned for 10 a second, the same bits gave as many pictures and
 * never skipped two in a row. A picture lost in such a gap is found lost only when the
 * next comes: on weak-3g-3 a publisher's picture stopped for 2 s at every receiver. */
#define CQ_SENDER_THIN_BITS_PER_PIXEL 0.14
#define CQ_SENDER_THIN_MIN_PCT        50u

/* The payload types and extension ids of the join answer (docs/PROTOCOL.md). */
#define CQ_SENDER_PT_OPUS         111
#define CQ_SENDER_PT_VP8          96
#define CQ_SENDER_PT_RTX          97
#define CQ_SENDER_PT_RED          63
#define CQ_SENDER_EXT_AUDIO_LEVEL 4
/* Every RTP packet (audio, video, RTX) carries a transport-wide sequence number under this
 * id, written as 0 by the sender: the number is stamped where packets actually leave
 * (client/endpoint.c, after the pacer), so it follows the wire order. */
#define CQ_SENDER_EXT_TRANSPORT_CC 3

/* The largest RTP payload the sender writes (VP8 descriptor included): with the RTP header,
 * an extension and the SRTP tag a packet stays well inside a 1200-byte path MTU. */
#define CQ_SENDER_MAX_PAYLOAD 1100

struct cq_sender;

typedef struct {
    uint32_t audio_ssrc; /* 0: no audio */
    unsigned audio_bps;  /* 6000..32000 */
    unsigned audio_frame_ms;
    bool audio_no_fec; /* no in-band FEC (to measure what it is worth) */
    /* Earlier audio packets repeated in each one (RED, RFC 2198), 0..CQ_SENDER_MAX_RED: one
     * while the link loses under 5 %, up to this many above. 0: plain Opus. */
    unsigned audio_red;
    /* Video: layers (0: none) of width/4, /2, /1 for three, /2, /1 for two; each ssrc has
     * its RTX ssrc. The source image is width x height. */
    unsigned video_layers;
    uint32_t video_ssrc[CQ_SENDER_MAX_LAYERS], rtx_ssrc[CQ_SENDER_MAX_LAYERS];
    unsigned width, height, fps;
    unsigned video_kbps; /* all layers together */
    const char *cname;   /* for SDES: the receivers pair audio and video by it */
    /* Called for each packet, plain; rtcp says which kind. */
    void (*send)(void *ctx, const uint8_t *pkt, size_t len, bool rtcp);
    /* Called instead of send for a repair (an RTX answering a NACK; the base layer's
     * copies are not repairs), so that a pacer can let it go ahead of the video waiting:
     * a picture stands still at every receiver until it comes. May be NULL: send. */
    void (*send_repair)(void *ctx, const uint8_t *pkt, size_t len);
    /* A keyframe was asked for on a layer (its video and RTX SSRCs): packets of it still
     * queued by the caller (a pacer) are history. May be NULL. */
    void (*on_keyframe_request)(void *ctx, uint32_t video_ssrc, uint32_t rtx_ssrc);
    void *ctx;
} cq_sender_config_t;

/* Returns 0, CQ_EINVAL (a config out of range) or CQ_ENOMEM, CQ_EIO (a codec). */
int cq_sender_create(struct cq_sender **out, const cq_sender_config_t *cfg);
void cq_sender_destroy(struct cq_sender *s);

/* One captured picture (the configured size), captured at capture_us (monotonic). Encodes
 * and sends every layer. Returns 0 or an error of the encoder or scaler. */
int cq_sender_video(struct cq_sender *s, const cq_i420_t *img, uint64_t capture_us);

/* One frame of mono 48 kHz PCM (audio_frame_ms long), captured at capture_us. */
int cq_sender_audio(struct cq_sender *s, const int16_t *pcm, size_t samples, uint64_t capture_us);

/* RTCP from the relay (plain compound): PLI, NACK, receiver reports. */
int cq_sender_rtcp(struct cq_sender *s, const uint8_t *pkt, size_t len, uint64_t now_us);

/* Sends a sender report with SDES for each stream that has sent something; call about
 * once a second. */
int cq_sender_report(struct cq_sender *s, uint64_t now_us);

/* Sets the total video bitrate, split across the layers in the fixed shares the sender
 * starts with, every layer on at the full frame rate. */
int cq_sender_set_video_kbps(struct cq_sender *s, unsigned kbps);

/*
 * What the uplink allows each layer (client/ratealloc.h decides it): bit i of on says
 * whether layer i is encoded, kbps[i] its bitrate (clamped to libvpx's 20..4000) and
 * fps_pct[i] its share of the configured frame rate (1..100; 67 encodes two pictures in
 * three; less for layer 0 when its bitrate is thin: CQ_SENDER_THIN_BITS_PER_PIXEL, the
 * share taken in its stats). A layer switched off is simply not encoded (its sequence
 * numbers pause), and when a receiver still used it (cq_sender_set_used) the highest layer
 * below it still on makes a keyframe CQ_SENDER_DROP_KEY_US later, the one the relay moves
 * the dropped layer's receivers at; one switched on again starts with a keyframe. kbps
 * and fps_pct have CQ_SENDER_MAX_LAYERS entries; those of layers off are ignored. Returns
 * 0 or the encoder's error.
 */
int cq_sender_set_layers(struct cq_sender *s, uint8_t on, const unsigned *kbps,
                         const unsigned *fps_pct);

/*
 * The layers the relay says a receiver uses (bit i: layer i; CQLU, rtp/cqlu.h), every
 * layer until told. A layer the relay stopped asking for has no receiver left on it (its
 * mask keeps a layer while anyone is on it or waits for it), and those that left asked
 * for their keyframe when they did: the keyframe below it is not made again. Made each
 * time the uplink's plan saw-toothed around a layer, it cost a 160x90 layer at 20 kbit/s
 * 0.6 s of pictures for nothing (weak-3g-3: 5-12 a minute).
 */
void cq_sender_set_used(struct cq_sender *s, uint8_t used);

/*
 * Opus as the uplink allows: bitrate (6000..32000), frame size (20, 40 or 60 ms: from the
 * next cq_sender_audio on, which must then bring that many samples) and the loss the
 * uplink estimator measured, in per cent (Opus is told the larger of it and what the
 * relay's reports say, to size its in-band FEC); bursty: that loss comes in bursts
 * (cq_ratealloc_plan_t.audio_bursty), so RED may repeat its deep copies once the loss is
 * high. Returns 0, CQ_EINVAL (no audio, a value out of range) or CQ_EIO.
 */
int cq_sender_set_audio(struct cq_sender *s, unsigned bps, unsigned frame_ms, unsigned loss_pct,
                        bool bursty);

/* Lean RED (cq_ratealloc_plan_t.audio_red_lean): the packet before is not repeated; each
 * RED packet carries its own data alone. Deep copies, where the loss calls for them
 * (cq_sender_set_audio's bursty), still go. No effect without RED. */
void cq_sender_set_red_lean(struct cq_sender *s, bool lean);

/* Base-layer protection (cq_ratealloc_plan_t.protect_tl0): on the layers whose bit is set
 * in layers, each packet of a TL0 frame but a keyframe's goes twice, the copy as RTX
 * right behind it, so a lost one needs no repair across a long round trip. */
void cq_sender_set_protect_tl0(struct cq_sender *s, uint8_t layers);

/*
 * Writes into buf (cap bytes) a padding-only RTX packet of about size bytes (at most 255
 * bytes of padding: RFC 3550 §5.1's count is one byte) on layer 0's RTX SSRC, with the
 * transport-wide element for the endpoint to stamp: a bandwidth probe (cc/estimator.h)
 * that the relay drops after reading its number. Returns its length, CQ_EINVAL (no video)
 * or CQ_ENOBUFS.
 */
int cq_sender_padding(struct cq_sender *s, size_t size, uint8_t *buf, size_t cap);

typedef struct {
    uint64_t frames, keyframes, skipped, packets, bytes;
    uint64_t decimated; /* pictures left out for a lower frame rate */
    uint64_t restarts;  /* switched on again after a pause */
    unsigned width, height;
    bool on;          /* encoded now */
    unsigned kbps;    /* bitrate the encoder is set to */
    unsigned fps_pct; /* share of the frame rate encoded */
} cq_sender_layer_stats_t;

typedef struct {
    cq_sender_layer_stats_t layer[CQ_SENDER_MAX_LAYERS];
    uint64_t audio_frames, audio_dtx, audio_bytes;
    uint64_t audio_red_blocks; /* earlier packets repeated (RED) */
    uint64_t plis_in, nacks_in, rtx_sent, rtx_missing;
    uint64_t tl0_copies;     /* TL0 packets sent twice (cq_sender_set_protect_tl0) */
    uint64_t rtx_stale;      /* asked for after every receiver has given it up (over 1 s old) */
    unsigned loss_percent;   /* the last loss the relay reported on audio */
    unsigned opus_loss_hint; /* what Opus was told of it, to size its FEC */
    uint32_t rtt_us;         /* from the relay's receiver reports; 0: not known */
    unsigned audio_bps, audio_frame_ms; /* what Opus is set to now */
    uint64_t padding_sent;              /* bandwidth probe packets written */
} cq_sender_stats_t;

void cq_sender_stats(const struct cq_sender *s, cq_sender_stats_t *out);

/* The uplink's round trip as the relay's receiver reports measured it; 0: not yet. */
uint32_t cq_sender_rtt_us(const struct cq_sender *s);

#endif
