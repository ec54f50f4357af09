/*
 * One UDP port, many protocols: classify a datagram by its first byte (RFC 7983 §7) and
 * tell RTCP from RTP on a muxed port (RFC 5761 §4).
 *
 * The relay listens on one UDP port per worker, and everything from a participant arrives
 * there: STUN consent checks, SRTP and SRTCP, later DTLS for browsers. RFC 7983 fixes
 * disjoint ranges of the first byte for each protocol, so one comparison chain decides
 * where a datagram goes before anything else is read:
 *
 *                   +----------------+
 *                   |        [0..3] -+--> STUN
 *                   |      [16..19] -+--> ZRTP
 *       packet -->  |      [20..63] -+--> DTLS
 *                   |      [64..79] -+--> TURN channel
 *                   |    [128..191] -+--> RTP / RTCP
 *                   +----------------+
 *
 * Every other first byte is unknown to chasqui and dropped (RFC 9443 later gives spare
 * ranges to QUIC, which chasqui does not speak). STUN's two leading zero bits, the
 * version 2 of RTP (10xxxxxx) and DTLS content types 20..63 are what make the ranges
 * disjoint; the classification is a hint, and each protocol's parser still validates.
 *
 * Inside [128..191] RTP and RTCP share the second byte: RTCP packet types 192..223 land
 * where RTP's marker bit and payload types 64..95 would be, so RFC 5761 §4 forbids those
 * payload types on a muxed port. The rule below masks the marker bit and calls 64..95
 * RTCP, which is exact for RTCP (all its types there are 192..223) and for any RTP sender
 * that obeys RFC 5761.
 */
#ifndef CQ_RTP_DEMUX_H
#define CQ_RTP_DEMUX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    CQ_DEMUX_UNKNOWN = 0,  /* empty, or a first byte outside every range below */
    CQ_DEMUX_STUN,         /* 0..3 */
    CQ_DEMUX_ZRTP,         /* 16..19 */
    CQ_DEMUX_DTLS,         /* 20..63 */
    CQ_DEMUX_TURN_CHANNEL, /* 64..79 */
    CQ_DEMUX_RTP,          /* 128..191, second byte's payload type outside 64..95 */
    CQ_DEMUX_RTCP,         /* 128..191, second byte 192..223 (or 64..95 with M clear) */
} cq_demux_kind_t;

/* Second-byte rule of RFC 5761 §4: with the top (marker) bit masked, 64..95 is RTCP
 * (packet types 192..223), anything else is an RTP payload type. */
static inline bool cq_demux_is_rtcp_byte(uint8_t second) {
    unsigned pt = second & 0x7Fu;
    return pt >= 64 && pt <= 95;
}

/*
 * The RFC 7983 class of a first byte, with RTP and RTCP not yet told apart: returns
 * CQ_DEMUX_RTP for the whole 128..191 range.
 */
static inline cq_demux_kind_t cq_demux_first_byte(uint8_t b) {
    if (b >= 128)
        return b <= 191 ? CQ_DEMUX_RTP : CQ_DEMUX_UNKNOWN;
    if (b <= 3)
        return CQ_DEMUX_STUN;
    if (b < 16)
        return CQ_DEMUX_UNKNOWN;
    if (b <= 19)
        return CQ_DEMUX_ZRTP;
    if (b <= 63)
        return CQ_DEMUX_DTLS;
    if (b <= 79)
        return CQ_DEMUX_TURN_CHANNEL;
    return CQ_DEMUX_UNKNOWN;
}

/*
 * Classifies the datagram [buf, buf + len), which the caller owns; only the first two
 * bytes are read, and never past len. The media case is tested first, being the common
 * one on the hot path. A datagram of one byte in 128..191 is CQ_DEMUX_UNKNOWN: neither RTP
 * nor RTCP is that short. Never fails; CQ_DEMUX_UNKNOWN is the answer for anything else.
 */
static inline cq_demux_kind_t cq_demux_classify(const uint8_t *buf, size_t len) {
    if (len == 0)
        return CQ_DEMUX_UNKNOWN;
    cq_demux_kind_t kind = cq_demux_first_byte(buf[0]);
    if (kind != CQ_DEMUX_RTP)
        return kind;
    if (len < 2)
        return CQ_DEMUX_UNKNOWN;
    return cq_demux_is_rtcp_byte(buf[1]) ? CQ_DEMUX_RTCP : CQ_DEMUX_RTP;
}

#endif
