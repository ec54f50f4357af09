#include "codec/rtx.h"

#include <limits.h>
#include <string.h>

#include "rtp/bytes.h"
#include "rtp/error.h"

/* Fixed RTP header (RFC 3550 §5.1): the only fields RTX rewrites sit at fixed offsets. */
#define RTP_FIXED_SIZE 12
#define RTP_OFF_FLAGS  0 /* V(2) P(1) X(1) CC(4) */
#define RTP_OFF_MPT    1 /* M(1) PT(7) */
#define RTP_OFF_SEQ    2
#define RTP_OFF_SSRC   8
#define RTP_P_BIT      0x20u
#define RTP_MARKER_BIT 0x80u

_Static_assert(CQ_RTX_OSN_SIZE == 2, "RFC 4588 §4: the OSN is a 16-bit sequence number");
_Static_assert(RTP_OFF_SSRC + 4 == RTP_FIXED_SIZE, "SSRC ends the fixed RTP header");

size_t cq_rtx_size(size_t header_len, size_t payload_len) {
    return header_len + CQ_RTX_OSN_SIZE + payload_len;
}

/* Rewrites the fixed fields RTX changes, in either direction. */
static void set_stream(uint8_t *hdr, uint8_t pt, uint16_t seq, uint32_t ssrc) {
    hdr[RTP_OFF_FLAGS] = (uint8_t)(hdr[RTP_OFF_FLAGS] & ~RTP_P_BIT);
    hdr[RTP_OFF_MPT] = (uint8_t)((hdr[RTP_OFF_MPT] & RTP_MARKER_BIT) | pt);
    cq_store_be16(hdr + RTP_OFF_SEQ, seq);
    cq_store_be32(hdr + RTP_OFF_SSRC, ssrc);
}

int cq_rtx_wrap(const uint8_t *pkt, size_t header_len, size_t payload_len, uint8_t rtx_pt,
                uint16_t rtx_seq, uint32_t rtx_ssrc, uint8_t *out, size_t cap) {
    if (header_len < RTP_FIXED_SIZE || rtx_pt > 0x7f)
        return CQ_EINVAL;
    if (header_len > (size_t)INT_MAX - CQ_RTX_OSN_SIZE ||
        payload_len > (size_t)INT_MAX - CQ_RTX_OSN_SIZE - header_len)
        return CQ_EINVAL;
    size_t size = cq_rtx_size(header_len, payload_len);
    if (cap < size)
        return CQ_ENOBUFS;

    memcpy(out, pkt, header_len);
    uint16_t osn = cq_load_be16(pkt + RTP_OFF_SEQ);
    set_stream(out, rtx_pt, rtx_seq, rtx_ssrc);
    cq_store_be16(out + header_len, osn);
    if (payload_len > 0)
        memcpy(out + header_len + CQ_RTX_OSN_SIZE, pkt + header_len, payload_len);
    return (int)size;
}

int cq_rtx_unwrap(uint8_t *pkt, size_t header_len, size_t payload_len, uint8_t pt, uint32_t ssrc) {
    if (header_len < RTP_FIXED_SIZE || pt > 0x7f)
        return CQ_EINVAL;
    if (header_len > (size_t)INT_MAX || payload_len > (size_t)INT_MAX - header_len)
        return CQ_EINVAL;
    if (payload_len < CQ_RTX_OSN_SIZE)
        return CQ_ETRUNCATED;

    uint8_t *payload = pkt + header_len;
    uint16_t osn = cq_load_be16(payload);
    /* Source and destination overlap: memmove, never memcpy. */
    memmove(payload, payload + CQ_RTX_OSN_SIZE, payload_len - CQ_RTX_OSN_SIZE);
    set_stream(pkt, pt, osn, ssrc);
    return (int)(header_len + payload_len - CQ_RTX_OSN_SIZE);
}
