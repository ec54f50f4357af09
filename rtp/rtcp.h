/*
 * RTCP compound packets (RFC 3550 §6), feedback messages (RFC 4585, RFC 5104) and REMB
 * (draft-alvestrand-rmcat-remb): walk, parse and write, without allocating.
 *
 * The relay terminates RTCP on every leg. A datagram that SRTP has already decrypted is
 * walked packet by packet with cq_rtcp_iter_next(), which checks the framing that every
 * packet shares (version 2, a length that fits the datagram, padding only on the last
 * packet) and yields a cq_rtcp_header_t view. The view is then handed to the parser of its
 * type (cq_rtcp_sr_parse, cq_rtcp_nack_parse, ..., or cq_twcc_parse in rtp/twcc.h), which
 * checks the rules of that type and fills a small view whose pointers point into the
 * caller's datagram: nothing is copied, and every view lives as long as the datagram.
 *
 *   cq_rtcp_iter_t it;
 *   cq_rtcp_header_t h;
 *   int n;
 *   cq_rtcp_iter_init(&it, buf, len);
 *   while ((n = cq_rtcp_iter_next(&it, &h)) > 0) {
 *       if (h.pt == CQ_RTCP_PT_RR) { cq_rtcp_rr_t rr; if (cq_rtcp_rr_parse(&h, &rr) == 0) ... }
 *   }
 *   if (n < 0) ... drop and count: the datagram is malformed
 *
 * RFC 3550 §A.2 wants a receiver to reject the whole compound when any packet in it is
 * malformed; a caller that must not act on half a datagram runs cq_rtcp_validate() first.
 * Reduced-size RTCP (RFC 5506) is accepted: a compound may start with any packet type,
 * because browsers send NACK, PLI and transport-wide feedback alone.
 *
 * Writers follow one shape: cq_rtcp_<type>_size() gives the exact size and
 * cq_rtcp_<type>_write(..., buf, cap) writes one packet and returns its size, CQ_ENOBUFS
 * when cap is too small or CQ_EINVAL when the arguments cannot be encoded. Several packets
 * are put one after another in one datagram with cq_rtcp_compound_t.
 */
#ifndef CQ_RTP_RTCP_H
#define CQ_RTP_RTCP_H

#include <stddef.h>
#include <stdint.h>

/* Packet types (RFC 3550 §12.1, RFC 4585 §6.1). */
#define CQ_RTCP_PT_SR    200
#define CQ_RTCP_PT_RR    201
#define CQ_RTCP_PT_SDES  202
#define CQ_RTCP_PT_BYE   203
#define CQ_RTCP_PT_APP   204
#define CQ_RTCP_PT_RTPFB 205 /* transport-layer feedback */
#define CQ_RTCP_PT_PSFB  206 /* payload-specific feedback */

/* Feedback message types, carried in the count field of RTPFB and PSFB packets. */
#define CQ_RTCP_FMT_NACK 1  /* RTPFB: generic NACK (RFC 4585 §6.2.1) */
#define CQ_RTCP_FMT_TWCC 15 /* RTPFB: transport-wide CC feedback (rtp/twcc.h) */
#define CQ_RTCP_FMT_PLI  1  /* PSFB: picture loss indication (RFC 4585 §6.3.1) */
#define CQ_RTCP_FMT_FIR  4  /* PSFB: full intra request (RFC 5104 §4.3.1) */
#define CQ_RTCP_FMT_AFB  15 /* PSFB: application layer feedback, used by REMB */

/* SDES item types (RFC 3550 §6.5). */
#define CQ_RTCP_SDES_END   0
#define CQ_RTCP_SDES_CNAME 1

/* Fixed wire sizes, in bytes. */
#define CQ_RTCP_HEADER_SIZE 4      /* V, P, count, PT, length */
#define CQ_RTCP_REPORT_SIZE 24     /* one report block */
#define CQ_RTCP_SR_SIZE     28     /* SR without report blocks */
#define CQ_RTCP_RR_SIZE     8      /* RR without report blocks */
#define CQ_RTCP_FB_SIZE     12     /* feedback header: header + sender and media SSRC */
#define CQ_RTCP_PLI_SIZE    12     /* a PLI is the bare feedback header */
#define CQ_RTCP_REMB_SIZE   20     /* REMB without its SSRC list */
#define CQ_RTCP_MAX_COUNT   31     /* the 5-bit count field */
#define CQ_RTCP_MAX_SIZE    262144 /* (0xffff + 1) 32-bit words */

/* ------------------------------------------------------------------------------------ */
/* Walking a compound packet                                                             */

/* One packet of a compound, as the common header describes it. The pointers point into
 * the datagram the iterator walks. */
typedef struct {
    const uint8_t *data; /* the packet's first byte (its header) */
    size_t size;         /* the whole packet, header and padding included: (length + 1) * 4 */
    const uint8_t *body; /* data + 4: what follows the common header */
    size_t body_len;     /* bytes of body, padding excluded */
    uint8_t count;       /* RC, SC or FMT: the low 5 bits of the first byte */
    uint8_t pt;          /* packet type */
    uint8_t padded;      /* 1 if the P bit was set (then this is the last packet) */
} cq_rtcp_header_t;

typedef struct {
    const uint8_t *p;
    const uint8_t *end;
    int err; /* sticky: once the walk fails, every later call returns the same code */
} cq_rtcp_iter_t;

/* Starts a walk over the datagram [data, data + len), which the caller keeps alive and
 * unchanged for as long as it uses the iterator or any view it yields. */
void cq_rtcp_iter_init(cq_rtcp_iter_t *it, const uint8_t *data, size_t len);

/*
 * Yields the next packet of the compound into *h. Returns the packet's size in bytes (> 0),
 * 0 when the datagram has been walked to its end, or a negative code: CQ_ETRUNCATED (a
 * header cut short, or a length that runs past the datagram), CQ_EVERSION (version not 2),
 * CQ_EMALFORMED (a packet type outside 192..223 that RFC 5761 §4 leaves to RTP, padding on
 * a packet that is not the last, or a padding count of 0 or larger than the packet). *h is
 * untouched unless a packet is yielded. Errors are sticky.
 */
int cq_rtcp_iter_next(cq_rtcp_iter_t *it, cq_rtcp_header_t *h);

/* Walks the whole datagram as RFC 3550 §A.2 asks before anything in it is used. Returns
 * the number of packets (> 0), or the first error cq_rtcp_iter_next() meets; an empty
 * datagram is CQ_ETRUNCATED. Only the common headers are checked, not the type rules. */
int cq_rtcp_validate(const uint8_t *data, size_t len);

/* Writes a common header (V=2, P=0) for a packet of packet_len bytes at p. packet_len must
 * be a multiple of 4 in [4, CQ_RTCP_MAX_SIZE] and count at most 31: that is the caller's
 * duty (every writer in rtp/ checks it before calling). */
void cq_rtcp_header_write(uint8_t *p, uint8_t count, uint8_t pt, size_t packet_len);

/* ------------------------------------------------------------------------------------ */
/* Sender and receiver reports (RFC 3550 §6.4)                                            */

/* One report block, decoded. */
typedef struct {
    uint32_t ssrc;           /* the source this block reports on */
    uint8_t fraction_lost;   /* fixed point, 8 fractional bits */
    int32_t cumulative_lost; /* signed 24 bits on the wire: duplicates can make it negative */
    uint32_t highest_seq;    /* extended highest sequence number received */
    uint32_t jitter;         /* interarrival jitter, in RTP timestamp units */
    uint32_t lsr;            /* middle 32 bits of the NTP time of the last SR, or 0 */
    uint32_t dlsr;           /* delay since that SR, in 1/65536 s */
} cq_rtcp_report_t;

/* The report blocks of an SR or RR, left on the wire: cq_rtcp_report_at() decodes one. */
typedef struct {
    const uint8_t *data; /* count * CQ_RTCP_REPORT_SIZE bytes */
    uint8_t count;
} cq_rtcp_reports_t;

/* The sender information of an SR. */
typedef struct {
    uint64_t ntp;          /* NTP timestamp, 32.32 fixed point seconds */
    uint32_t rtp_ts;       /* the same instant on the RTP clock */
    uint32_t packet_count; /* packets sent since the start */
    uint32_t octet_count;  /* payload octets sent since the start */
} cq_rtcp_sender_info_t;

typedef struct {
    uint32_t ssrc;
    cq_rtcp_sender_info_t info;
    cq_rtcp_reports_t reports;
} cq_rtcp_sr_t;

typedef struct {
    uint32_t ssrc;
    cq_rtcp_reports_t reports;
} cq_rtcp_rr_t;

/* Parse an SR or RR. Profile-specific extensions after the report blocks are allowed
 * (RFC 3550 §6.4.1) and ignored. Return 0, CQ_EINVAL (h is not of that type) or
 * CQ_EMALFORMED (the packet is shorter than its fixed part plus RC report blocks). The
 * output is untouched on failure. */
int cq_rtcp_sr_parse(const cq_rtcp_header_t *h, cq_rtcp_sr_t *sr);
int cq_rtcp_rr_parse(const cq_rtcp_header_t *h, cq_rtcp_rr_t *rr);

/* Decodes report block i of a parsed SR or RR. i must be below reports->count; a block
 * past the end reads as all zeros. */
cq_rtcp_report_t cq_rtcp_report_at(const cq_rtcp_reports_t *reports, size_t i);

/* Finds the block about ssrc. Returns 0 and fills *out, or CQ_ENOENT. */
int cq_rtcp_report_find(const cq_rtcp_reports_t *reports, uint32_t ssrc, cq_rtcp_report_t *out);

size_t cq_rtcp_sr_size(size_t report_count);
size_t cq_rtcp_rr_size(size_t report_count);

/* Write an SR or RR with count report blocks (at most 31; the caller reports on more
 * sources with more RRs). cumulative_lost is clamped to the signed 24-bit range. Return the
 * size written, CQ_EINVAL (count > 31) or CQ_ENOBUFS. */
int cq_rtcp_sr_write(uint32_t ssrc, const cq_rtcp_sender_info_t *info,
                     const cq_rtcp_report_t *reports, size_t count, uint8_t *buf, size_t cap);
int cq_rtcp_rr_write(uint32_t ssrc, const cq_rtcp_report_t *reports, size_t count, uint8_t *buf,
                     size_t cap);

/* ------------------------------------------------------------------------------------ */
/* NTP time for LSR, DLSR and round-trip time (RFC 3550 §4, §6.4.1)                        */

/* Seconds between the NTP epoch (1900) and the Unix epoch (1970). */
#define CQ_RTCP_NTP_UNIX_OFFSET 2208988800u

/* Converts microseconds to a 64-bit NTP timestamp (32.32 fixed point seconds) and back.
 * The epoch is the caller's: add CQ_RTCP_NTP_UNIX_OFFSET seconds to Unix time for a
 * wall-clock SR; for RTT alone any clock works, since only our own timestamps come back.
 * NTP seconds are 32 bits: times past 2^32 s wrap into the next era, as on the wire. */
uint64_t cq_rtcp_ntp_from_us(uint64_t us);
uint64_t cq_rtcp_ntp_to_us(uint64_t ntp);

/* The middle 32 bits of an NTP timestamp (16.16 fixed point seconds, units of 1/65536 s):
 * what LSR carries and what an RTT is computed in. */
uint32_t cq_rtcp_ntp_short(uint64_t ntp);

/* Converts a delay in microseconds to 1/65536 s units for DLSR, rounding down and
 * saturating at 0xffffffff (about 18 hours). */
uint32_t cq_rtcp_dlsr_from_us(uint64_t us);

/*
 * Round-trip time from a report block (RFC 3550 §6.4.1): RTT = now - LSR - DLSR, modulo
 * 2^32, in 1/65536 s, where now is cq_rtcp_ntp_short() of the time the report arrived on
 * the clock our SRs used. Returns 0 and *rtt_us, or CQ_ENOENT when lsr is 0 (the reporter
 * has not seen an SR yet). A result a little below zero (DLSR and our clock are both
 * rounded to 1/65536 s, so a near-zero RTT can come out a unit or two negative) is
 * clamped to 0 rather than rejected.
 */
int cq_rtcp_rtt_us(uint32_t now_short, uint32_t lsr, uint32_t dlsr, uint32_t *rtt_us);

/* ------------------------------------------------------------------------------------ */
/* Source description (RFC 3550 §6.5)                                                    */

/* A parsed SDES packet: chunk_count chunks, all checked, in [data, data + len). */
typedef struct {
    const uint8_t *data;
    size_t len;
    uint8_t chunk_count;
} cq_rtcp_sdes_t;

/* One chunk: an SSRC and its item list, without the terminating null item and padding.
 * The item list is type, length, text, type, length, text ...; never a null type. */
typedef struct {
    uint32_t ssrc;
    const uint8_t *items;
    size_t items_len;
} cq_rtcp_sdes_chunk_t;

typedef struct {
    uint8_t type;
    uint8_t len;
    const uint8_t *text; /* not null-terminated */
} cq_rtcp_sdes_item_t;

/* Parses an SDES packet: SC chunks, each an SSRC, items whose lengths fit, and a null item
 * then padding to the next 32-bit boundary; nothing may follow the last chunk. Returns 0,
 * CQ_EINVAL (not an SDES) or CQ_EMALFORMED. *sdes is untouched on failure. */
int cq_rtcp_sdes_parse(const cq_rtcp_header_t *h, cq_rtcp_sdes_t *sdes);

/* Walk the chunks of a parsed SDES, and the items of one chunk. *pos starts at 0 and is
 * advanced. Return 1 and fill the output, or 0 when there is nothing left. */
int cq_rtcp_sdes_next_chunk(const cq_rtcp_sdes_t *sdes, size_t *pos, cq_rtcp_sdes_chunk_t *chunk);
int cq_rtcp_sdes_next_item(const cq_rtcp_sdes_chunk_t *chunk, size_t *pos,
                           cq_rtcp_sdes_item_t *item);

/* Finds the first item of the given type (CQ_RTCP_SDES_CNAME ...) for ssrc. Returns 0 and
 * fills *item, or CQ_ENOENT. */
int cq_rtcp_sdes_find(const cq_rtcp_sdes_t *sdes, uint32_t ssrc, uint8_t type,
                      cq_rtcp_sdes_item_t *item);

/* Size of, and writer for, an SDES with one chunk holding one CNAME of 1..255 bytes. Returns
 * the size written, CQ_EINVAL (bad length) or CQ_ENOBUFS. */
size_t cq_rtcp_sdes_cname_size(size_t cname_len);
int cq_rtcp_sdes_cname_write(uint32_t ssrc, const char *cname, size_t cname_len, uint8_t *buf,
                             size_t cap);

/* Size of, and writer for, an SDES of count (<= 31) chunks whose item lists are given
 * already encoded (as cq_rtcp_sdes_next_chunk() yields them, so a parsed SDES can be
 * written again). The writer adds the null item and the padding. An item list that is not
 * a well-formed sequence of non-null items is CQ_EINVAL; a full buffer, CQ_ENOBUFS. */
size_t cq_rtcp_sdes_size(const cq_rtcp_sdes_chunk_t *chunks, size_t count);
int cq_rtcp_sdes_write(const cq_rtcp_sdes_chunk_t *chunks, size_t count, uint8_t *buf, size_t cap);

/* ------------------------------------------------------------------------------------ */
/* Goodbye (RFC 3550 §6.6)                                                               */

typedef struct {
    const uint8_t *ssrcs; /* count SSRCs, 4 bytes each: cq_rtcp_bye_ssrc() reads one */
    const uint8_t *reason;
    uint8_t count;
    uint8_t reason_len; /* 0 when no reason is given */
} cq_rtcp_bye_t;

/* Parses a BYE: SC SSRCs, then optionally a length byte and a reason padded to 32 bits.
 * Returns 0, CQ_EINVAL (not a BYE) or CQ_EMALFORMED. *bye is untouched on failure. */
int cq_rtcp_bye_parse(const cq_rtcp_header_t *h, cq_rtcp_bye_t *bye);

/* SSRC i of a parsed BYE; i must be below bye->count (reads 0 past the end). */
uint32_t cq_rtcp_bye_ssrc(const cq_rtcp_bye_t *bye, size_t i);

/* Writes a BYE for count (<= 31) SSRCs with an optional reason (reason_len <= 255; none
 * when 0). Returns the size written, CQ_EINVAL or CQ_ENOBUFS. */
size_t cq_rtcp_bye_size(size_t count, size_t reason_len);
int cq_rtcp_bye_write(const uint32_t *ssrcs, size_t count, const char *reason, size_t reason_len,
                      uint8_t *buf, size_t cap);

/* ------------------------------------------------------------------------------------ */
/* Feedback messages (RFC 4585 §6.1)                                                      */

/* The common part of every RTPFB and PSFB message. */
typedef struct {
    uint32_t sender_ssrc;
    uint32_t media_ssrc;
    const uint8_t *fci; /* feedback control information */
    size_t fci_len;
    uint8_t pt;
    uint8_t fmt;
} cq_rtcp_fb_t;

/* Parses the common feedback header of an RTPFB or PSFB. Returns 0, CQ_EINVAL (another
 * type) or CQ_EMALFORMED (shorter than the two SSRCs). *fb is untouched on failure. */
int cq_rtcp_fb_parse(const cq_rtcp_header_t *h, cq_rtcp_fb_t *fb);

/* Generic NACK (RFC 4585 §6.2.1): each pair names a lost packet (PID) and, in BLP, which
 * of the 16 packets after it are lost too (bit i set: PID + i + 1 lost). */
typedef struct {
    uint16_t pid;
    uint16_t blp;
} cq_rtcp_nack_pair_t;

typedef struct {
    uint32_t sender_ssrc;
    uint32_t media_ssrc;
    const uint8_t *pairs; /* count pairs, 4 bytes each: cq_rtcp_nack_pair_at() reads one */
    size_t count;         /* at least 1 */
} cq_rtcp_nack_t;

/* Parses a generic NACK. Returns 0, CQ_EINVAL (not RTPFB FMT 1) or CQ_EMALFORMED (no
 * pair at all, or a part of one). *nack is untouched on failure. */
int cq_rtcp_nack_parse(const cq_rtcp_header_t *h, cq_rtcp_nack_t *nack);

/* Pair i of a parsed NACK; i must be below nack->count (reads {0, 0} past the end). */
cq_rtcp_nack_pair_t cq_rtcp_nack_pair_at(const cq_rtcp_nack_t *nack, size_t i);

/* Lists the sequence numbers a NACK asks for into seqs[0 .. cap), pair by pair, each PID
 * followed by its BLP bits in increasing order (so a NACK written by cq_rtcp_nack_compact
 * expands in the order it was built from). Overlapping pairs give duplicates, which are
 * kept. Returns how many were written, or CQ_ENOBUFS when they do not all fit (seqs then
 * holds the first cap). A NACK asks for at most 17 per pair. */
int cq_rtcp_nack_expand(const cq_rtcp_nack_t *nack, uint16_t *seqs, size_t cap);

/* Packs lost sequence numbers into the fewest pairs. lost[0 .. n) must be strictly
 * increasing in RTP order (each one 1..32767 after the one before, so a list may cross
 * 65535 -> 0). A pair starts at the first number not yet covered and takes every later
 * number up to 16 after it, which for sorted input is the minimum number of pairs. Returns
 * the number of pairs written to pairs[0 .. cap), CQ_EINVAL (n == 0 or not increasing) or
 * CQ_ENOBUFS. */
int cq_rtcp_nack_compact(const uint16_t *lost, size_t n, cq_rtcp_nack_pair_t *pairs, size_t cap);

/* Writes a generic NACK with count >= 1 pairs. Returns the size written, CQ_EINVAL or
 * CQ_ENOBUFS. */
size_t cq_rtcp_nack_size(size_t count);
int cq_rtcp_nack_write(uint32_t sender_ssrc, uint32_t media_ssrc, const cq_rtcp_nack_pair_t *pairs,
                       size_t count, uint8_t *buf, size_t cap);

/* Picture loss indication (RFC 4585 §6.3.1): the feedback header alone. Parse returns 0 and
 * fills *pli (fci_len 0), CQ_EINVAL (not PSFB FMT 1) or CQ_EMALFORMED (not exactly the two
 * SSRCs). Write returns CQ_RTCP_PLI_SIZE or CQ_ENOBUFS. */
int cq_rtcp_pli_parse(const cq_rtcp_header_t *h, cq_rtcp_fb_t *pli);
int cq_rtcp_pli_write(uint32_t sender_ssrc, uint32_t media_ssrc, uint8_t *buf, size_t cap);

/* Full intra request (RFC 5104 §4.3.1): one entry per encoder asked for a keyframe. */
typedef struct {
    uint32_t ssrc;  /* the media sender that should send a decoder refresh point */
    uint8_t seq_nr; /* command sequence number: the same value repeats the same request */
} cq_rtcp_fir_entry_t;

typedef struct {
    uint32_t sender_ssrc;
    uint32_t media_ssrc;    /* RFC 5104 says 0; read as sent, not checked */
    const uint8_t *entries; /* count entries, 8 bytes each: cq_rtcp_fir_entry_at() reads one */
    size_t count;           /* at least 1 */
} cq_rtcp_fir_t;

/* Parses a FIR. Returns 0, CQ_EINVAL (not PSFB FMT 4) or CQ_EMALFORMED (no entry, or an FCI
 * that is not a whole number of 8-byte entries). *fir is untouched on failure. */
int cq_rtcp_fir_parse(const cq_rtcp_header_t *h, cq_rtcp_fir_t *fir);

/* Entry i of a parsed FIR; i must be below fir->count (reads zeros past the end). */
cq_rtcp_fir_entry_t cq_rtcp_fir_entry_at(const cq_rtcp_fir_t *fir, size_t i);

/* Writes a FIR with count >= 1 entries and a media SSRC of 0. Returns the size written,
 * CQ_EINVAL or CQ_ENOBUFS. */
size_t cq_rtcp_fir_size(size_t count);
int cq_rtcp_fir_write(uint32_t sender_ssrc, const cq_rtcp_fir_entry_t *entries, size_t count,
                      uint8_t *buf, size_t cap);

/* Receiver estimated maximum bitrate (draft-alvestrand-rmcat-remb-03 §2.2). */
typedef struct {
    uint32_t sender_ssrc;
    uint32_t media_ssrc;  /* the draft says 0; read as sent, not checked */
    uint64_t bitrate_bps; /* mantissa << exponent, exactly */
    const uint8_t *ssrcs; /* count SSRCs, 4 bytes each: cq_rtcp_remb_ssrc() reads one */
    uint8_t count;
} cq_rtcp_remb_t;

/* Parses a REMB. Returns 0; CQ_EINVAL (not PSFB FMT 15); CQ_EUNSUPPORTED (an application
 * layer feedback whose identifier is not "REMB": valid, but another application's, so the
 * caller skips it rather than counting it as an attack); CQ_EMALFORMED (no room for the
 * identifier, an SSRC count that disagrees with the length, or a bitrate past 2^64 - 1).
 * *remb is untouched on failure. */
int cq_rtcp_remb_parse(const cq_rtcp_header_t *h, cq_rtcp_remb_t *remb);

/* SSRC i of a parsed REMB; i must be below remb->count (reads 0 past the end). */
uint32_t cq_rtcp_remb_ssrc(const cq_rtcp_remb_t *remb, size_t i);

/* Writes a REMB for count (<= 255) SSRCs. The bitrate is coded with the smallest exponent
 * whose 18-bit mantissa holds it, rounding down: the value sent is never more than
 * bitrate_bps and is exact below 2^18 bps. Returns the size written, CQ_EINVAL or
 * CQ_ENOBUFS. */
size_t cq_rtcp_remb_size(size_t count);
int cq_rtcp_remb_write(uint32_t sender_ssrc, uint64_t bitrate_bps, const uint32_t *ssrcs,
                       size_t count, uint8_t *buf, size_t cap);

/* ------------------------------------------------------------------------------------ */
/* Compound builder                                                                      */

/*
 * Puts packets one after another into one caller buffer. Each packet is written by a
 * writer of this module (or rtp/twcc.h) at cq_rtcp_compound_tail() with
 * cq_rtcp_compound_room() bytes of room, and its result is passed to
 * cq_rtcp_compound_commit():
 *
 *   cq_rtcp_compound_t c;
 *   cq_rtcp_compound_init(&c, buf, sizeof buf);
 *   cq_rtcp_compound_commit(&c, cq_rtcp_rr_write(ssrc, rb, 1, cq_rtcp_compound_tail(&c),
 *                                                cq_rtcp_compound_room(&c)));
 *   cq_rtcp_compound_commit(&c, cq_rtcp_sdes_cname_write(ssrc, cname, cname_len,
 *                                                        cq_rtcp_compound_tail(&c),
 *                                                        cq_rtcp_compound_room(&c)));
 *   int len = cq_rtcp_compound_finish(&c);
 *
 * A packet that fails leaves what was committed before it intact (c.len bytes), so a
 * caller may still send the packets that fit.
 */
typedef struct {
    uint8_t *buf;
    size_t cap;
    size_t len; /* bytes committed so far */
    int err;    /* the first error committed, or 0 */
} cq_rtcp_compound_t;

void cq_rtcp_compound_init(cq_rtcp_compound_t *c, uint8_t *buf, size_t cap);
uint8_t *cq_rtcp_compound_tail(const cq_rtcp_compound_t *c);
size_t cq_rtcp_compound_room(const cq_rtcp_compound_t *c);

/* Takes a writer's result. A negative result is recorded (the first one is kept) and
 * returned. A positive one must be a whole packet just written at the tail: version 2 and
 * a length field that matches it, else CQ_EINVAL; it is then appended. Returns 0 or the
 * error. */
int cq_rtcp_compound_commit(cq_rtcp_compound_t *c, int written);

/* Returns the length of the compound, or the first error committed; an empty compound is
 * CQ_EINVAL. */
int cq_rtcp_compound_finish(const cq_rtcp_compound_t *c);

#endif
