/*
 * The RTP header-extension payloads chasqui uses, and their names.
 *
 * cq_rtp_ext_find (rtp/rtp.h) gives an element's data and length; the parsers here read
 * that value, and the writers produce the value that goes into a cq_rtp_ext_t for
 * cq_rtp_header_write. Which id carries which extension is agreed out of band: the relay
 * announces the URIs below with the ids of enum cq_rtpext_id in its join answer.
 *
 * Parsers return 0 (or, for strings, the string length) and fill their output, or
 * CQ_EMALFORMED when the value has the wrong length or breaks its syntax; outputs are
 * untouched on failure. Writers return the bytes written, or CQ_EINVAL for a value the
 * format cannot carry, or CQ_ENOBUFS when cap is too small; they write nothing then.
 */
#ifndef CQ_RTP_RTPEXT_H
#define CQ_RTP_RTPEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Extension URIs (a=extmap), spelled once for signaling and the join answer. */
#define CQ_RTPEXT_URI_AUDIO_LEVEL   "urn:ietf:params:rtp-hdrext:ssrc-audio-level"
#define CQ_RTPEXT_URI_ABS_SEND_TIME "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
#define CQ_RTPEXT_URI_TRANSPORT_CC                                                                 \
    "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"
#define CQ_RTPEXT_URI_MID          "urn:ietf:params:rtp-hdrext:sdes:mid"
#define CQ_RTPEXT_URI_RID          "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id"
#define CQ_RTPEXT_URI_REPAIRED_RID "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id"

/*
 * The ids the relay announces for those URIs, and so the ids chasqui clients send and
 * the relay reads. All fit the one-byte form (1..14) and every value below fits in 16
 * bytes when ids stay short, so chasqui's own packets never need the two-byte form.
 */
enum cq_rtpext_id {
    CQ_RTPEXT_ID_MID = 1,
    CQ_RTPEXT_ID_ABS_SEND_TIME = 2,
    CQ_RTPEXT_ID_TRANSPORT_CC = 3,
    CQ_RTPEXT_ID_AUDIO_LEVEL = 4,
    CQ_RTPEXT_ID_RID = 10,
    CQ_RTPEXT_ID_REPAIRED_RID = 11,
};

/* ---- ssrc-audio-level (RFC 6464 §3) ------------------------------------------------------
 *
 *    0                   1
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |  ID   | len=0 |V| level       |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * V: the sender's voice-activity flag. level: the audio level in -dBov, 0 (loudest) to
 * 127 (silence, -127 dBov or quieter). The relay's active-speaker detection reads it
 * without decoding audio. */
#define CQ_RTPEXT_AUDIO_LEVEL_SIZE 1
#define CQ_RTPEXT_AUDIO_LEVEL_MAX  127

typedef struct {
    bool voice;    /* V flag */
    uint8_t level; /* 0..127, in -dBov */
} cq_rtpext_audio_level_t;

/* Returns 0, or CQ_EMALFORMED unless len is 1. */
int cq_rtpext_audio_level_parse(const uint8_t *data, size_t len, cq_rtpext_audio_level_t *out);

/* Returns 1, or CQ_EINVAL (level > 127) or CQ_ENOBUFS. */
int cq_rtpext_audio_level_write(const cq_rtpext_audio_level_t *al, uint8_t *buf, size_t cap);

/* ---- transport-wide sequence number (draft-holmer-rmcat-transport-wide-cc-extensions-01
 * §2) -----------------------------------------------------------------------------------
 *
 *    0                   1                   2
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |  ID   | L=1   |transport-wide sequence number |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * One counter per sender across all its SSRCs; the receiver's TWCC feedback reports the
 * arrival time of each number, which drives the relay's bandwidth estimation. */
#define CQ_RTPEXT_TRANSPORT_CC_SIZE 2

/* Returns 0, or CQ_EMALFORMED unless len is 2. */
int cq_rtpext_transport_cc_parse(const uint8_t *data, size_t len, uint16_t *seq);

/* Returns 2, or CQ_ENOBUFS. */
int cq_rtpext_transport_cc_write(uint16_t seq, uint8_t *buf, size_t cap);

/*
 * Overwrites in place the transport-wide sequence number of the plain RTP packet
 * [pkt, pkt + len), carried in the element with the given id. A sender writes the element
 * with any value when it builds the packet and stamps the real number only where packets
 * leave in their final order (after pacing), so that numbers follow the wire order as the
 * draft's feedback assumes; a forwarder restamps each copy with its own counter. Only the
 * two value bytes change: no length, padding or other element moves.
 *
 * Returns 0, or what cq_rtp_parse returns for a packet that does not parse, CQ_ENOENT (no
 * element with that id) or CQ_EMALFORMED (the element is not 2 bytes long). Nothing is
 * written on failure.
 */
int cq_rtpext_transport_cc_stamp(uint8_t *pkt, size_t len, uint8_t id, uint16_t seq);

/* ---- abs-send-time (webrtc.org experiments/rtp-hdrext/abs-send-time) ------------------
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |  ID   | len=2 |              absolute send time               |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * The send time in seconds as 6.18 fixed point: the low 6 bits of the seconds and 18
 * bits of fraction (a tick is 1/262144 s, about 3.8 µs). It wraps every 64 s, so only
 * differences between close packets mean anything. */
#define CQ_RTPEXT_ABS_SEND_TIME_SIZE 3
#define CQ_RTPEXT_ABS_SEND_TIME_MASK 0xFFFFFFu
/* Microseconds in one wrap of the 24-bit value: 64 s. */
#define CQ_RTPEXT_ABS_SEND_TIME_WRAP_US 64000000u

/* Returns 0 and the 24-bit value, or CQ_EMALFORMED unless len is 3. */
int cq_rtpext_abs_send_time_parse(const uint8_t *data, size_t len, uint32_t *ast);

/* Returns 3, or CQ_EINVAL (ast above 24 bits) or CQ_ENOBUFS. */
int cq_rtpext_abs_send_time_write(uint32_t ast, uint8_t *buf, size_t cap);

/* The 24-bit value for a time in microseconds (any epoch; the value wraps every 64 s),
 * rounded to the nearest tick. */
uint32_t cq_rtpext_abs_send_time_from_us(uint64_t us);

/* The time in microseconds, within the current 64 s wrap (0..63999999), that a 24-bit
 * value stands for, rounded to the nearest microsecond. Bits above 24 are ignored. */
uint32_t cq_rtpext_abs_send_time_to_us(uint32_t ast);

/* Signed distance in ticks from b to a across the 64 s wrap: in [-2^23, 2^23). */
int32_t cq_rtpext_abs_send_time_diff(uint32_t a, uint32_t b);

/* ---- sdes:mid (RFC 8843), rtp-stream-id and repaired-rtp-stream-id (RFC 8852 §3)
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |  ID   | len=2 |      'l'      |      'o'      |      'w'      |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * The value is the identifier itself, no terminator. As SDES items they are 1..255 bytes
 * (1..16 in the one-byte form). A mid is an SDP token (RFC 5888 identification-tag, the
 * token characters of RFC 4566). A rid follows RFC 8851's rid-id: letters, digits, '-'
 * and '_'. (RFC 8852 §3 says alphanumeric only; the wider RFC 8851 set is what browsers
 * validate against, so chasqui accepts it and never emits anything outside it.) Some
 * senders pad the value with NUL bytes to a fixed size: a value ends at its first NUL,
 * and everything after that must be NUL too.
 *
 * The parsers copy the value into out as a NUL-terminated string and return its length
 * (1..255); cap must be at least that plus one (CQ_RTPEXT_SDES_MAX + 1 always suffices),
 * else CQ_ENOBUFS. The writers take a NUL-terminated string and return its length. */
#define CQ_RTPEXT_SDES_MAX 255

int cq_rtpext_mid_parse(const uint8_t *data, size_t len, char *out, size_t cap);
int cq_rtpext_mid_write(const char *mid, uint8_t *buf, size_t cap);

/* For both rid and repaired-rid. */
int cq_rtpext_rid_parse(const uint8_t *data, size_t len, char *out, size_t cap);
int cq_rtpext_rid_write(const char *rid, uint8_t *buf, size_t cap);

#endif
