/*
 * The relay's raw recording format (".cqrec"): one file per participant per stream, the
 * RTP packets as the relay received them (after SRTP), each with its arrival time. The
 * relay writes it without looking into payloads; chasqui-rec2webm reads it and muxes
 * WebM afterwards (docs/ARCHITECTURE.md, "Recording").
 *
 *  file header (32 bytes, big-endian):
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |             magic "CQREC\r\n\x1a" (8 bytes)                   |
 *  |                                                               |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |         version (1)           |     kind      |     layer     |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                             SSRC                              |
 *  |                          session id                           |
 *  |                        participant id                         |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |     wall-clock time the file was opened, µs since 1970 (8)    |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 *  then records until the end of the file, each:
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |          arrival time, µs, the relay's monotonic clock (8)    |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |          length (2)           |   RTP packet (length bytes) ...
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * The arrival clock is the one every stream of a session shares (a session lives on one
 * worker), so the files of one participant can be put side by side: that is how audio and
 * video are aligned. The magic's CR LF and ^Z catch a file mangled as text, as PNG's do. A
 * file cut short by a crash loses at most its last record, which a reader reports as
 * truncated and may ignore.
 *
 * Part of codec/'s payload half: no I/O, no allocation; callers own every buffer.
 */
#ifndef CQ_CODEC_RECFILE_H
#define CQ_CODEC_RECFILE_H

#include <stddef.h>
#include <stdint.h>

#define CQ_RECFILE_MAGIC       "CQREC\r\n\x1a"
#define CQ_RECFILE_VERSION     1
#define CQ_RECFILE_HEADER_SIZE 32
#define CQ_RECFILE_RECORD_HEAD 10     /* arrival time and length */
#define CQ_RECFILE_MAX_PACKET  0xffff /* what the length field holds */

/* What a file holds (the header's kind byte). */
enum { CQ_RECFILE_AUDIO = 0, CQ_RECFILE_VIDEO = 1 };

typedef struct {
    uint8_t kind;  /* CQ_RECFILE_AUDIO or _VIDEO */
    uint8_t layer; /* video: simulcast spatial layer, 0 = lowest */
    uint32_t ssrc, session, participant;
    uint64_t wallclock_us;
} cq_recfile_header_t;

/* Writes the header into buf (at least CQ_RECFILE_HEADER_SIZE bytes). Returns the bytes
 * written, CQ_ENOBUFS or CQ_EINVAL (an unknown kind). */
int cq_recfile_header_write(const cq_recfile_header_t *h, uint8_t *buf, size_t cap);

/* Reads a header. Returns the bytes consumed, CQ_ETRUNCATED, CQ_EMALFORMED (not a
 * recording: the magic differs, or an unknown kind) or CQ_EVERSION. */
int cq_recfile_header_parse(const uint8_t *p, size_t len, cq_recfile_header_t *h);

/* Writes one record's head (its packet follows it) into buf. Returns
 * CQ_RECFILE_RECORD_HEAD, CQ_ENOBUFS, or CQ_EINVAL for an empty or oversized packet. */
int cq_recfile_record_head_write(uint64_t arrival_us, size_t packet_len, uint8_t *buf, size_t cap);

/* Reads one record from [p, p + len): *packet points into p (a view). Returns the record's
 * whole size, CQ_ETRUNCATED (the head or the packet cut short) or CQ_EMALFORMED (length
 * 0). */
int cq_recfile_record_parse(const uint8_t *p, size_t len, uint64_t *arrival_us,
                            const uint8_t **packet, size_t *packet_len);

#endif
