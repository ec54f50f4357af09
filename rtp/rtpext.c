#include "rtp/rtpext.h"

#include <string.h>

#include "rtp/bytes.h"
#include "rtp/error.h"
#include "rtp/rtp.h"

_Static_assert(CQ_RTPEXT_AUDIO_LEVEL_SIZE == 1, "RFC 6464 §3: one byte, V + 7-bit level");
_Static_assert(CQ_RTPEXT_TRANSPORT_CC_SIZE == 2, "twcc-01 §2: a 16-bit sequence number");
_Static_assert(CQ_RTPEXT_ABS_SEND_TIME_SIZE == 3, "abs-send-time: 24 bits, 6.18 seconds");
_Static_assert(CQ_RTPEXT_ABS_SEND_TIME_WRAP_US == 64u * 1000000u, "6 integer bits: 64 s");
_Static_assert(CQ_RTPEXT_SDES_MAX == 255, "RFC 3550 §6.5: an SDES item is at most 255 bytes");

int cq_rtpext_audio_level_parse(const uint8_t *data, size_t len, cq_rtpext_audio_level_t *out) {
    if (len != CQ_RTPEXT_AUDIO_LEVEL_SIZE)
        return CQ_EMALFORMED;
    out->voice = (data[0] & 0x80) != 0;
    out->level = (uint8_t)(data[0] & 0x7f);
    return 0;
}

int cq_rtpext_audio_level_write(const cq_rtpext_audio_level_t *al, uint8_t *buf, size_t cap) {
    if (al->level > CQ_RTPEXT_AUDIO_LEVEL_MAX)
        return CQ_EINVAL;
    if (cap < CQ_RTPEXT_AUDIO_LEVEL_SIZE)
        return CQ_ENOBUFS;
    buf[0] = (uint8_t)((al->voice ? 0x80 : 0) | al->level);
    return CQ_RTPEXT_AUDIO_LEVEL_SIZE;
}

int cq_rtpext_transport_cc_parse(const uint8_t *data, size_t len, uint16_t *seq) {
    if (len != CQ_RTPEXT_TRANSPORT_CC_SIZE)
        return CQ_EMALFORMED;
    *seq = cq_load_be16(data);
    return 0;
}

int cq_rtpext_transport_cc_write(uint16_t seq, uint8_t *buf, size_t cap) {
    if (cap < CQ_RTPEXT_TRANSPORT_CC_SIZE)
        return CQ_ENOBUFS;
    cq_store_be16(buf, seq);
    return CQ_RTPEXT_TRANSPORT_CC_SIZE;
}

int cq_rtpext_transport_cc_stamp(uint8_t *pkt, size_t len, uint8_t id, uint16_t seq) {
    cq_rtp_view_t v;
    int rc = cq_rtp_parse(pkt, len, &v);
    if (rc < 0)
        return rc;
    uint8_t value[CQ_RTPEXT_TRANSPORT_CC_SIZE];
    cq_store_be16(value, seq);
    rc = cq_rtp_ext_rewrite(pkt, &v, id, value, sizeof value);
    return rc == CQ_EINVAL ? CQ_EMALFORMED : rc;
}

int cq_rtpext_abs_send_time_parse(const uint8_t *data, size_t len, uint32_t *ast) {
    if (len != CQ_RTPEXT_ABS_SEND_TIME_SIZE)
        return CQ_EMALFORMED;
    *ast = cq_load_be24(data);
    return 0;
}

int cq_rtpext_abs_send_time_write(uint32_t ast, uint8_t *buf, size_t cap) {
    if (ast > CQ_RTPEXT_ABS_SEND_TIME_MASK)
        return CQ_EINVAL;
    if (cap < CQ_RTPEXT_ABS_SEND_TIME_SIZE)
        return CQ_ENOBUFS;
    cq_store_be24(buf, ast);
    return CQ_RTPEXT_ABS_SEND_TIME_SIZE;
}

/* A tick is 2^-18 s. Reducing modulo 64 s first keeps the product below 2^44, and the
 * rounding of the last microseconds of a wrap up to 2^24 ticks lands, correctly, on 0. */
uint32_t cq_rtpext_abs_send_time_from_us(uint64_t us) {
    uint64_t in_wrap = us % CQ_RTPEXT_ABS_SEND_TIME_WRAP_US;
    uint64_t ticks = ((in_wrap << 18) + 500000) / 1000000;
    return (uint32_t)(ticks & CQ_RTPEXT_ABS_SEND_TIME_MASK);
}

uint32_t cq_rtpext_abs_send_time_to_us(uint32_t ast) {
    uint64_t ticks = ast & CQ_RTPEXT_ABS_SEND_TIME_MASK;
    /* The largest value, 2^24 - 1 ticks, rounds to 63999996 µs: never a full wrap. */
    return (uint32_t)((ticks * 1000000 + (1u << 17)) >> 18);
}

int32_t cq_rtpext_abs_send_time_diff(uint32_t a, uint32_t b) {
    uint32_t d = (a - b) & CQ_RTPEXT_ABS_SEND_TIME_MASK;
    return d < (1u << 23) ? (int32_t)d : (int32_t)d - (1 << 24);
}

/* RFC 4566 §9 token-char: printable ASCII except space and the separators
 * " ( ) , / : ; < = > ? @ [ \ ]. */
static bool is_token_char(uint8_t c) {
    if (c < 0x21 || c > 0x7e)
        return false;
    return strchr("\"(),/:;<=>?@[\\]", c) == NULL;
}

/* RFC 8851 §10 rid-id: ALPHA / DIGIT / "-" / "_". */
static bool is_rid_char(uint8_t c) {
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '-' ||
           c == '_';
}

/* Reads an SDES-item string value: it ends at the first NUL (trailing NUL padding), must
 * be 1..255 bytes of allowed characters, and is copied out with a terminator. */
static int sdes_parse(const uint8_t *data, size_t len, char *out, size_t cap,
                      bool (*allowed)(uint8_t)) {
    if (len == 0 || len > CQ_RTPEXT_SDES_MAX)
        return CQ_EMALFORMED;
    size_t n = 0;
    while (n < len && data[n] != 0) {
        if (!allowed(data[n]))
            return CQ_EMALFORMED;
        n++;
    }
    if (n == 0)
        return CQ_EMALFORMED;
    for (size_t i = n; i < len; i++) {
        if (data[i] != 0)
            return CQ_EMALFORMED;
    }
    if (cap < n + 1)
        return CQ_ENOBUFS;
    memcpy(out, data, n);
    out[n] = '\0';
    return (int)n;
}

/* Writes a NUL-terminated identifier of 1..255 allowed characters, without terminator.
 * The scan reads at most 256 characters, so an overlong string fails without being read
 * to its end. */
static int sdes_write(const char *s, uint8_t *buf, size_t cap, bool (*allowed)(uint8_t)) {
    if (s == NULL)
        return CQ_EINVAL;
    size_t n = 0;
    while (n <= CQ_RTPEXT_SDES_MAX && s[n] != '\0') {
        if (!allowed((uint8_t)s[n]))
            return CQ_EINVAL;
        n++;
    }
    if (n == 0 || n > CQ_RTPEXT_SDES_MAX)
        return CQ_EINVAL;
    if (cap < n)
        return CQ_ENOBUFS;
    memcpy(buf, s, n);
    return (int)n;
}

int cq_rtpext_mid_parse(const uint8_t *data, size_t len, char *out, size_t cap) {
    return sdes_parse(data, len, out, cap, is_token_char);
}

int cq_rtpext_mid_write(const char *mid, uint8_t *buf, size_t cap) {
    return sdes_write(mid, buf, cap, is_token_char);
}

int cq_rtpext_rid_parse(const uint8_t *data, size_t len, char *out, size_t cap) {
    return sdes_parse(data, len, out, cap, is_rid_char);
}

int cq_rtpext_rid_write(const char *rid, uint8_t *buf, size_t cap) {
    return sdes_write(rid, buf, cap, is_rid_char);
}
