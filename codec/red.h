/*
 * RTP payload for redundant audio data, RED (RFC 2198).
 *
 * On weak links an Opus sender may repeat its last frames inside each new packet: one loss
 * then costs nothing as long as the next packet arrives. The relay reads RED to forward the
 * primary encoding alone to receivers that did not negotiate RED, and the client writes it.
 *
 * A RED payload is a list of block headers followed by the blocks' data in the same order.
 * Each redundant block has a 4-octet header (RFC 2198 §3):
 *
 *    0                   1                    2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |F|   block PT  |  timestamp offset         |   block length    |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * F = 1 says another header follows. The last header, of the primary encoding, is one
 * octet with F = 0; the primary's length is what remains of the payload and its timestamp
 * is the RTP header's:
 *
 *    0 1 2 3 4 5 6 7
 *   +-+-+-+-+-+-+-+-+
 *   |0|   Block PT  |
 *   +-+-+-+-+-+-+-+-+
 *
 * The timestamp offset (14 bits, unsigned) is subtracted from the RTP timestamp to give the
 * redundant block's timestamp; the block length (10 bits) counts its data octets.
 */
#ifndef CQ_CODEC_RED_H
#define CQ_CODEC_RED_H

#include <stddef.h>
#include <stdint.h>

#define CQ_RED_HEADER_SIZE         4      /* header of a redundant block */
#define CQ_RED_PRIMARY_HEADER_SIZE 1      /* header of the primary block */
#define CQ_RED_MAX_TS_OFFSET       16383u /* 14 bits */
#define CQ_RED_MAX_BLOCK_LEN       1023u  /* 10 bits */

/* One block of a RED payload. On parse, data points into the caller's payload (a view:
 * valid as long as the payload is); on write, data is read from. */
typedef struct {
    uint8_t pt;          /* payload type of the block, 0..127 */
    uint16_t ts_offset;  /* RTP timestamp minus this block's timestamp; 0 for the primary */
    size_t len;          /* bytes of data; at most 1023 for a redundant block */
    const uint8_t *data; /* len bytes (NULL allowed when len is 0) */
} cq_red_block_t;

/*
 * Parses the RED payload [payload, payload + len) into blocks[0 .. n), redundant blocks
 * first in packet order, the primary block last (ts_offset 0, the rest of the payload,
 * possibly empty). Block data is not copied.
 *
 * Returns n, the number of blocks (at least 1), or:
 *   CQ_ETRUNCATED  the payload ends inside the headers (no primary header, or a 4-octet
 *                  header cut short), including len == 0;
 *   CQ_EMALFORMED  the redundant blocks' lengths add up to more than the data that follows
 *                  the headers;
 *   CQ_ENOBUFS     the payload is well formed but has more than cap blocks;
 *   CQ_EINVAL      more than INT_MAX blocks (a payload of gigabytes, never a packet).
 * The whole payload is checked before anything is stored, so blocks is untouched on any
 * failure.
 */
int cq_red_parse(const uint8_t *payload, size_t len, cq_red_block_t *blocks, size_t cap);

/* Bytes cq_red_write needs for blocks[0 .. n): 4 per redundant header, 1 for the primary's,
 * plus all data. 0 when n is 0. */
size_t cq_red_size(const cq_red_block_t *blocks, size_t n);

/*
 * Writes a RED payload from blocks[0 .. n) (redundant blocks first, the primary last) into
 * [buf, buf + cap). Block data is copied and must not overlap buf.
 *
 * Returns the number of bytes written, or:
 *   CQ_EINVAL   n is 0, a payload type is above 127, a redundant block's ts_offset or len
 *               does not fit its 14- or 10-bit field, the primary has a nonzero ts_offset
 *               (it has no such field), data is NULL with len > 0, or the total does not
 *               fit an int;
 *   CQ_ENOBUFS  cap is smaller than cq_red_size (nothing useful is written).
 */
int cq_red_write(const cq_red_block_t *blocks, size_t n, uint8_t *buf, size_t cap);

/*
 * Turns a RED packet into its primary encoding alone, for a receiver that cannot take the
 * redundancy (the relay, to a downlink too narrow for it): the RTP header [pkt, pkt +
 * header_len) is copied with the primary block's payload type (marker bit kept) and the
 * padding bit cleared, followed by primary->data (as cq_red_parse gave it). Returns the
 * packet's length, or CQ_ENOBUFS when it does not fit cap, or CQ_EINVAL for a header
 * shorter than RTP's 12 bytes or a payload type above 127. out must not overlap pkt.
 */
int cq_red_primary_packet(const uint8_t *pkt, size_t header_len, const cq_red_block_t *primary,
                          uint8_t *out, size_t cap);

#endif
