/*
 * Transport-wide congestion control feedback (draft-holmer-rmcat-transport-wide-cc-
 * extensions-01 §3.1): an RTPFB message, FMT 15, that tells a media sender when each of
 * its packets arrived, by the transport-wide sequence number every packet carries in the
 * transport-wide-cc header extension, whatever its stream.
 *
 * The relay reads this feedback from receivers (their downlink estimate) and writes it to
 * publishers and clients; the shared congestion controller consumes the parsed result. Both
 * directions work in caller arrays: one cq_twcc_packet_t per reported sequence number.
 *
 * Times. The wire carries a 24-bit signed reference time in units of 64 ms and, for each
 * received packet, a delta in units of 250 us from the previously received packet of the
 * feedback (from the reference time for the first one). Parsing gives every received
 * packet an absolute arrival time in microseconds on the feedback sender's clock:
 * reference_time * 64000 plus the sum of the deltas so far, exact, with no rounding.
 * Writing rounds each arrival time to the nearest multiple of 250 us counted from
 * reference_time * 64000 (a time exactly half-way rounds up) and codes the difference of
 * successive rounded times, so the error of a written time is at most 125 us and never
 * accumulates along the feedback.
 */
#ifndef CQ_RTP_TWCC_H
#define CQ_RTP_TWCC_H

#include <stddef.h>
#include <stdint.h>

#include "rtp/rtcp.h"

/* Feedback header: RTCP header, sender and media SSRC, base sequence number, status count,
 * reference time and feedback count. Chunks and deltas follow. */
#define CQ_TWCC_HEADER_SIZE 20

#define CQ_TWCC_TICK_US     250   /* unit of a receive delta */
#define CQ_TWCC_REF_UNIT_US 64000 /* unit of the reference time */
#define CQ_TWCC_MAX_RUN     8191  /* longest run a run-length chunk holds (13 bits) */

/* The fixed fields of one feedback message. */
typedef struct {
    uint32_t sender_ssrc;
    uint32_t media_ssrc;
    uint16_t base_seq;      /* transport-wide sequence number of the first packet reported */
    uint16_t status_count;  /* packets reported, from base_seq on */
    int32_t reference_time; /* units of 64 ms; 24 bits signed on the wire */
    uint8_t fb_count;       /* feedback packet count, to detect lost feedback */
} cq_twcc_fb_t;

/* The status of one transport-wide sequence number. */
typedef struct {
    int64_t arrival_us; /* when it arrived (see "Times" above); meaningless if not received */
    uint16_t seq;
    uint8_t received; /* 1 if it arrived, 0 if the feedback reports it as not received */
} cq_twcc_packet_t;

/*
 * Parses a transport-wide feedback message (h from cq_rtcp_iter_next(), RTPFB FMT 15) into
 * *fb and pkts[0 .. status_count), one entry per sequence number from base_seq on, in
 * order (the numbers wrap from 65535 to 0).
 *
 * Returns status_count, or a negative code: CQ_EINVAL (h is not TWCC feedback),
 * CQ_ENOBUFS (status_count > cap), CQ_EMALFORMED (shorter than its header, a status count
 * of 0, chunks or deltas that run past the packet, a run-length chunk of length 0, the
 * reserved status symbol 3 for a packet the feedback reports, or more than 3 bytes after
 * the last delta). The last chunk may describe more packets than status_count; the extra
 * slots are padding and are ignored, whatever they hold. *fb is untouched on failure;
 * pkts may have been written.
 */
int cq_twcc_parse(const cq_rtcp_header_t *h, cq_twcc_fb_t *fb, cq_twcc_packet_t *pkts, size_t cap);

/*
 * Writes one feedback message for pkts[0 ..), which must be in increasing transport-wide
 * sequence order (each 1..32767 after the one before, across the 65535 -> 0 wrap); a
 * sequence number skipped between two entries is reported as not received. Only
 * sender_ssrc, media_ssrc, reference_time (its low 24 bits go on the wire) and fb_count
 * are taken from *fb; the base sequence number is pkts[0].seq. The caller usually sets
 * reference_time to cq_twcc_reference_time() of the first received packet.
 *
 * Packets are taken in order while the feedback still fits in cap bytes, its status count
 * in 16 bits, and each receive delta in 16 signed bits of 250 us (+-8.19 s); the first
 * that does not stops it. *consumed says how many entries went in, and the caller starts
 * the next feedback (with its own reference time and fb_count + 1) from pkts[*consumed].
 * Chunks are chosen compactly: run-length chunks for long runs of one status, two-bit
 * vectors where a large or negative delta occurs, one-bit vectors otherwise.
 *
 * Returns the size written (a multiple of 4, zero-padded, P bit clear so the packet can
 * sit anywhere in a compound), or CQ_EINVAL (n == 0, entries out of order, or the first
 * received packet too far from the reference time to be coded), CQ_ENOBUFS (not even the
 * first entry fits in cap). *consumed is set only on success.
 */
int cq_twcc_write(const cq_twcc_fb_t *fb, const cq_twcc_packet_t *pkts, size_t n, uint8_t *buf,
                  size_t cap, size_t *consumed);

/* The reference time (units of 64 ms, rounded down, clamped to the int32_t range) for a
 * feedback whose first received packet arrived at arrival_us: with it the first delta is
 * in [0, 64 ms] and needs at most the two-byte form, usually the one-byte form. */
int32_t cq_twcc_reference_time(int64_t arrival_us);

#endif
