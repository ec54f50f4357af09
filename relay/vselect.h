/*
 * The video selector of one consumer: which of a publisher's simulcast packets go to one
 * subscriber, and under which numbers, so that its decoder sees one continuous VP8 stream
 * whatever layer is forwarded.
 *
 * Spatial layers (simulcast streams) are independent encodings: the selector moves to a
 * new one only at a keyframe of that layer, and keeps forwarding the old one until that
 * keyframe comes (the caller asks the publisher for it: cq_vsel_wanted_layer); a layer
 * left for a lower one goes at its base frame rate (TID 0) meanwhile. On the way
 * it takes any keyframe that brings it closer to the target without passing it. Temporal
 * layers are thinned by the TID of the VP8 descriptor: down at once at a frame boundary,
 * up at a layer-sync frame (Y bit) or a keyframe, as RFC 7741 §4.2 allows.
 *
 * Rewriting: sequence numbers and PictureIDs close up over what the selector drops and
 * continue across switches (relay/seqmap.h), so real losses stay visible as holes a
 * receiver can NACK; timestamps and TL0PICIDX get one offset per run of a layer, so they
 * keep counting across a switch by the time that passed.
 *
 * Plain value owned by the consumer; pure logic (no I/O, no allocation, no clock: the
 * caller passes the time), so it is tested without sockets.
 */
#ifndef CQ_RELAY_VSELECT_H
#define CQ_RELAY_VSELECT_H

#include <stdbool.h>
#include <stdint.h>

#include "relay/seqmap.h"

/* VP8's RTP clock (RFC 7741 §4.1), for the time that passes across a switch. */
#define CQ_VSEL_CLOCK_HZ 90000u
/* Temporal layers VP8 can signal (TID is 2 bits). */
#define CQ_VSEL_MAX_TEMPORAL 3

/* What the selector needs to know of a packet: its layer, numbers and descriptor. */
typedef struct {
    uint8_t layer; /* spatial layer (simulcast stream) it arrived on */
    uint16_t seq;
    uint32_t ts;
    bool frame_start; /* first packet of a frame (VP8 S = 1, PID = 0) */
    bool keyframe;    /* first packet of a keyframe */
    bool has_tid;
    uint8_t tid;
    bool layer_sync; /* Y: the frame depends only on TL0 frames */
    bool has_picture_id;
    bool picture_id_15bit;
    uint16_t picture_id;
    bool has_tl0picidx;
    uint8_t tl0picidx;
} cq_vsel_packet_t;

/* The numbers a forwarded packet goes out with (picture_id, tl0picidx: only where the
 * packet has them). */
typedef struct {
    uint16_t seq;
    uint32_t ts;
    uint16_t picture_id;
    uint8_t tl0picidx;
} cq_vsel_out_t;

typedef enum {
    CQ_VSEL_FORWARD = 0,
    CQ_VSEL_DROP_PAUSED,   /* the subscriber receives no video from this publisher */
    CQ_VSEL_DROP_WAITING,  /* no layer forwarded yet: waiting for a keyframe */
    CQ_VSEL_DROP_LAYER,    /* another spatial layer than the one forwarded */
    CQ_VSEL_DROP_TEMPORAL, /* above the temporal layer forwarded */
    CQ_VSEL_DROP_LATE,     /* from before the current run, or too late to number */
} cq_vsel_verdict_t;

typedef struct {
    int8_t spatial;          /* layer forwarded; -1: none */
    int8_t spatial_target;   /* layer wanted; -1: none (paused) */
    uint8_t temporal;        /* highest TID forwarded */
    uint8_t temporal_target; /* highest TID wanted */
    cq_seqmap_t seq, picture_id;
    bool ts_started;
    uint32_t ts_delta;    /* out = in + ts_delta within the current run */
    uint32_t ts_last_out; /* newest timestamp sent, and when */
    uint64_t ts_last_us;
    bool tl0_started;
    uint8_t tl0_delta, tl0_last_out;
    uint64_t switches; /* spatial switches made */
} cq_vsel_t;

/* Resets *s: nothing forwarded, target layer 0 with every temporal layer. */
void cq_vsel_init(cq_vsel_t *s);

/* Sets what the subscriber should get: spatial layer (-1 pauses video at once) and the
 * highest temporal layer (clamped to CQ_VSEL_MAX_TEMPORAL). A new spatial target takes
 * effect at its next keyframe; the temporal one at the next frame that allows it. */
void cq_vsel_set_target(cq_vsel_t *s, int spatial, unsigned temporal);

/* The spatial layer a keyframe is awaited on (the target, while another layer or none
 * is forwarded), or -1 when none is. */
int cq_vsel_wanted_layer(const cq_vsel_t *s);

/*
 * Decides for packet p, arriving at now_us: on CQ_VSEL_FORWARD, *out holds the numbers
 * to write into the subscriber's copy. Any other verdict says why it is dropped (*out is
 * then unspecified). Packets must be given in arrival order, each once per consumer.
 */
cq_vsel_verdict_t cq_vsel_on_packet(cq_vsel_t *s, const cq_vsel_packet_t *p, uint64_t now_us,
                                    cq_vsel_out_t *out);

#endif
