/*
 * RTP retransmission payload format, RTX (RFC 4588 §4).
 *
 * The relay answers NACKs from its packet cache by resending packets on a separate RTX
 * stream (its own SSRC, payload type and sequence numbers), so that retransmissions do not
 * disturb the original stream's sequence numbering and loss statistics. It also receives
 * RTX from publishers and restores the original packets before processing them.
 *
 * An RTX packet copies the original RTP header (version, marker, timestamp, CSRCs, header
 * extension), replaces PT, sequence number and SSRC with the RTX stream's, and prefixes the
 * original payload with the original sequence number (OSN):
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                         RTP Header                            |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |            OSN                |                               |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               |
 *   |                  Original RTP Packet Payload                  |
 *   |                                                               |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * The original's padding is not carried: the RTX packet is written without it and with the
 * P bit clear, and an unwrapped packet likewise ends at its payload.
 *
 * These functions take the RTP header length and the payload length (without padding) from
 * a caller that has already parsed the packet; they touch only the fixed header fields:
 * byte 0 (P bit), byte 1 (PT, keeping the marker), bytes 2-3 (sequence number) and bytes
 * 8-11 (SSRC).
 */
#ifndef CQ_CODEC_RTX_H
#define CQ_CODEC_RTX_H

#include <stddef.h>
#include <stdint.h>

#define CQ_RTX_OSN_SIZE 2 /* the original sequence number in front of the payload */

/* Size of the RTX packet for an original of header_len + payload_len bytes (padding not
 * counted): the same plus the 2-byte OSN. */
size_t cq_rtx_size(size_t header_len, size_t payload_len);

/*
 * Writes into [out, out + cap) the RTX packet for the original RTP packet whose header is
 * pkt[0 .. header_len) and whose payload, without padding, is the payload_len bytes that
 * follow. The header is copied (CSRCs and extension included), then PT (the marker bit is
 * kept), sequence number and SSRC are set to rtx_pt, rtx_seq and rtx_ssrc, the P bit is
 * cleared, the OSN (the original's sequence number) is inserted and the payload copied.
 * pkt is only read; out must not overlap it.
 *
 * Returns the number of bytes written (cq_rtx_size), or:
 *   CQ_EINVAL   header_len < 12 (no RTP header), rtx_pt > 127, or a size that does not fit
 *               an int;
 *   CQ_ENOBUFS  cap is too small (nothing useful is written).
 */
int cq_rtx_wrap(const uint8_t *pkt, size_t header_len, size_t payload_len, uint8_t rtx_pt,
                uint16_t rtx_seq, uint32_t rtx_ssrc, uint8_t *out, size_t cap);

/*
 * Restores in place the original packet from the RTX packet pkt, whose header is
 * pkt[0 .. header_len) and whose payload (OSN included, padding not) is the payload_len
 * bytes that follow: reads the OSN, moves the original payload 2 bytes down over it, sets
 * the sequence number to the OSN, SSRC to ssrc and PT to pt (keeping the marker bit), and
 * clears the P bit since any padding now lies past the returned length.
 *
 * Returns the length of the restored packet (header_len + payload_len - 2), or:
 *   CQ_ETRUNCATED  payload_len < 2: no OSN. Senders (libwebrtc among them) send
 *                  padding-only RTX packets to probe bandwidth; these end up here and
 *                  are to be dropped, counted as probes rather than as errors;
 *   CQ_EINVAL      header_len < 12, pt > 127, or a length that does not fit an int.
 * pkt is untouched on failure.
 */
int cq_rtx_unwrap(uint8_t *pkt, size_t header_len, size_t payload_len, uint8_t pt, uint32_t ssrc);

#endif
