/*
 * Fuzz target for RTCP compounds: walks the datagram, parses every packet as its type, and
 * for each one that parses writes it again and checks that parsing the written packet
 * gives the same thing (parse(write(parse(x))) == parse(x)). Any difference aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rtp/cqlu.h"
#include "rtp/error.h"
#include "rtp/rtcp.h"
#include "rtp/twcc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Written packets go here; as large as any RTCP packet can be. */
static uint8_t out[CQ_RTCP_MAX_SIZE];

static void check(int cond) {
    if (!cond)
        abort();
}

/* Walks a packet just written: it must be exactly one packet of the size returned. */
static cq_rtcp_header_t rewalk(int len) {
    check(len > 0 && len % 4 == 0);
    cq_rtcp_iter_t it;
    cq_rtcp_header_t h;
    cq_rtcp_iter_init(&it, out, (size_t)len);
    check(cq_rtcp_iter_next(&it, &h) == len);
    check(cq_rtcp_iter_next(&it, &h) == 0);
    return h;
}

static int report_equal(const cq_rtcp_report_t *a, const cq_rtcp_report_t *b) {
    return a->ssrc == b->ssrc && a->fraction_lost == b->fraction_lost &&
           a->cumulative_lost == b->cumulative_lost && a->highest_seq == b->highest_seq &&
           a->jitter == b->jitter && a->lsr == b->lsr && a->dlsr == b->dlsr;
}

static void check_reports(const cq_rtcp_reports_t *a, const cq_rtcp_reports_t *b) {
    check(a->count == b->count);
    for (size_t i = 0; i < a->count; i++) {
        cq_rtcp_report_t ra = cq_rtcp_report_at(a, i), rb = cq_rtcp_report_at(b, i);
        check(report_equal(&ra, &rb));
    }
}

static void fuzz_sr(const cq_rtcp_header_t *h) {
    cq_rtcp_sr_t a, b;
    if (cq_rtcp_sr_parse(h, &a) != 0)
        return;
    cq_rtcp_report_t blocks[CQ_RTCP_MAX_COUNT];
    for (size_t i = 0; i < a.reports.count; i++)
        blocks[i] = cq_rtcp_report_at(&a.reports, i);
    cq_rtcp_header_t h2 =
        rewalk(cq_rtcp_sr_write(a.ssrc, &a.info, blocks, a.reports.count, out, sizeof out));
    check(cq_rtcp_sr_parse(&h2, &b) == 0);
    check(a.ssrc == b.ssrc && a.info.ntp == b.info.ntp && a.info.rtp_ts == b.info.rtp_ts &&
          a.info.packet_count == b.info.packet_count && a.info.octet_count == b.info.octet_count);
    check_reports(&a.reports, &b.reports);
}

static void fuzz_rr(const cq_rtcp_header_t *h) {
    cq_rtcp_rr_t a, b;
    if (cq_rtcp_rr_parse(h, &a) != 0)
        return;
    cq_rtcp_report_t blocks[CQ_RTCP_MAX_COUNT];
    for (size_t i = 0; i < a.reports.count; i++)
        blocks[i] = cq_rtcp_report_at(&a.reports, i);
    if (a.reports.count > 0) {
        cq_rtcp_report_t found;
        check(cq_rtcp_report_find(&a.reports, blocks[0].ssrc, &found) == 0);
    }
    cq_rtcp_header_t h2 =
        rewalk(cq_rtcp_rr_write(a.ssrc, blocks, a.reports.count, out, sizeof out));
    check(cq_rtcp_rr_parse(&h2, &b) == 0);
    check(a.ssrc == b.ssrc);
    check_reports(&a.reports, &b.reports);
}

static void fuzz_sdes(const cq_rtcp_header_t *h) {
    cq_rtcp_sdes_t a, b;
    if (cq_rtcp_sdes_parse(h, &a) != 0)
        return;
    cq_rtcp_sdes_chunk_t chunks[CQ_RTCP_MAX_COUNT];
    size_t n = 0, pos = 0;
    while (cq_rtcp_sdes_next_chunk(&a, &pos, &chunks[n])) {
        /* Every item of a parsed chunk is reachable, and find agrees with the walk. */
        size_t ipos = 0;
        cq_rtcp_sdes_item_t item, found;
        while (cq_rtcp_sdes_next_item(&chunks[n], &ipos, &item))
            check(cq_rtcp_sdes_find(&a, chunks[n].ssrc, item.type, &found) == 0);
        check(ipos == chunks[n].items_len);
        n++;
    }
    check(n == a.chunk_count && pos == a.len);
    cq_rtcp_header_t h2 = rewalk(cq_rtcp_sdes_write(chunks, n, out, sizeof out));
    check(cq_rtcp_sdes_parse(&h2, &b) == 0);
    check(b.chunk_count == n);
    pos = 0;
    for (size_t i = 0; i < n; i++) {
        cq_rtcp_sdes_chunk_t c;
        check(cq_rtcp_sdes_next_chunk(&b, &pos, &c) == 1);
        check(c.ssrc == chunks[i].ssrc && c.items_len == chunks[i].items_len);
        check(c.items_len == 0 || memcmp(c.items, chunks[i].items, c.items_len) == 0);
    }
}

static void fuzz_bye(const cq_rtcp_header_t *h) {
    cq_rtcp_bye_t a, b;
    if (cq_rtcp_bye_parse(h, &a) != 0)
        return;
    uint32_t ssrcs[CQ_RTCP_MAX_COUNT];
    for (size_t i = 0; i < a.count; i++)
        ssrcs[i] = cq_rtcp_bye_ssrc(&a, i);
    cq_rtcp_header_t h2 = rewalk(
        cq_rtcp_bye_write(ssrcs, a.count, (const char *)a.reason, a.reason_len, out, sizeof out));
    check(cq_rtcp_bye_parse(&h2, &b) == 0);
    check(a.count == b.count && a.reason_len == b.reason_len);
    for (size_t i = 0; i < a.count; i++)
        check(cq_rtcp_bye_ssrc(&b, i) == ssrcs[i]);
    check(a.reason_len == 0 || memcmp(a.reason, b.reason, a.reason_len) == 0);
}

static void fuzz_nack(const cq_rtcp_header_t *h) {
    static cq_rtcp_nack_pair_t pairs[CQ_RTCP_MAX_SIZE / 4];
    static uint16_t seqs[4096];
    cq_rtcp_nack_t a, b;
    if (cq_rtcp_nack_parse(h, &a) != 0)
        return;
    for (size_t i = 0; i < a.count; i++)
        pairs[i] = cq_rtcp_nack_pair_at(&a, i);
    int n = cq_rtcp_nack_expand(&a, seqs, sizeof seqs / sizeof seqs[0]);
    check(n > 0 || n == CQ_ENOBUFS);

    /* One pair expands into increasing numbers, which compact back into that pair. */
    int one = cq_rtcp_nack_expand(&(cq_rtcp_nack_t){.pairs = a.pairs, .count = 1}, seqs, 17);
    cq_rtcp_nack_pair_t back;
    check(one >= 1 && cq_rtcp_nack_compact(seqs, (size_t)one, &back, 1) == 1);
    check(back.pid == pairs[0].pid && back.blp == pairs[0].blp);

    cq_rtcp_header_t h2 =
        rewalk(cq_rtcp_nack_write(a.sender_ssrc, a.media_ssrc, pairs, a.count, out, sizeof out));
    check(cq_rtcp_nack_parse(&h2, &b) == 0);
    check(a.sender_ssrc == b.sender_ssrc && a.media_ssrc == b.media_ssrc && a.count == b.count);
    check(memcmp(a.pairs, b.pairs, 4 * a.count) == 0);
}

static void fuzz_twcc(const cq_rtcp_header_t *h) {
    static cq_twcc_packet_t a[4096], b[4096];
    cq_twcc_fb_t fa, fb;
    int n = cq_twcc_parse(h, &fa, a, 4096);
    if (n <= 0)
        return;
    size_t consumed = 0;
    cq_rtcp_header_t h2 = rewalk(cq_twcc_write(&fa, a, (size_t)n, out, sizeof out, &consumed));
    check(consumed == (size_t)n);
    check(cq_twcc_parse(&h2, &fb, b, 4096) == n);
    check(fa.sender_ssrc == fb.sender_ssrc && fa.media_ssrc == fb.media_ssrc &&
          fa.base_seq == fb.base_seq && fa.status_count == fb.status_count &&
          fa.reference_time == fb.reference_time && fa.fb_count == fb.fb_count);
    for (int i = 0; i < n; i++) {
        check(a[i].seq == b[i].seq && a[i].received == b[i].received);
        check(!a[i].received || a[i].arrival_us == b[i].arrival_us);
    }
}

static void fuzz_pli(const cq_rtcp_header_t *h) {
    cq_rtcp_fb_t a, b;
    if (cq_rtcp_pli_parse(h, &a) != 0)
        return;
    cq_rtcp_header_t h2 = rewalk(cq_rtcp_pli_write(a.sender_ssrc, a.media_ssrc, out, sizeof out));
    check(cq_rtcp_pli_parse(&h2, &b) == 0);
    check(a.sender_ssrc == b.sender_ssrc && a.media_ssrc == b.media_ssrc);
}

static void fuzz_fir(const cq_rtcp_header_t *h) {
    static cq_rtcp_fir_entry_t entries[CQ_RTCP_MAX_SIZE / 8];
    cq_rtcp_fir_t a, b;
    if (cq_rtcp_fir_parse(h, &a) != 0)
        return;
    for (size_t i = 0; i < a.count; i++)
        entries[i] = cq_rtcp_fir_entry_at(&a, i);
    cq_rtcp_header_t h2 =
        rewalk(cq_rtcp_fir_write(a.sender_ssrc, entries, a.count, out, sizeof out));
    check(cq_rtcp_fir_parse(&h2, &b) == 0);
    /* The media SSRC is written as the 0 RFC 5104 asks for, whatever was read. */
    check(a.sender_ssrc == b.sender_ssrc && b.media_ssrc == 0 && a.count == b.count);
    for (size_t i = 0; i < a.count; i++) {
        cq_rtcp_fir_entry_t e = cq_rtcp_fir_entry_at(&b, i);
        check(e.ssrc == entries[i].ssrc && e.seq_nr == entries[i].seq_nr);
    }
}

static void fuzz_remb(const cq_rtcp_header_t *h) {
    cq_rtcp_remb_t a, b;
    if (cq_rtcp_remb_parse(h, &a) != 0)
        return;
    uint32_t ssrcs[255];
    for (size_t i = 0; i < a.count; i++)
        ssrcs[i] = cq_rtcp_remb_ssrc(&a, i);
    cq_rtcp_header_t h2 =
        rewalk(cq_rtcp_remb_write(a.sender_ssrc, a.bitrate_bps, ssrcs, a.count, out, sizeof out));
    check(cq_rtcp_remb_parse(&h2, &b) == 0);
    /* Any bitrate that parsed is mantissa << exp, which the writer codes exactly. */
    check(a.sender_ssrc == b.sender_ssrc && a.bitrate_bps == b.bitrate_bps && a.count == b.count);
    for (size_t i = 0; i < a.count; i++)
        check(cq_rtcp_remb_ssrc(&b, i) == ssrcs[i]);
}

static void fuzz_cqlu(const cq_rtcp_header_t *h) {
    cq_cqlu_t a, b;
    if (cq_cqlu_parse(h, &a) != 0)
        return;
    cq_rtcp_header_t h2 = rewalk(cq_cqlu_write(&a, out, sizeof out));
    check(cq_cqlu_parse(&h2, &b) == 0);
    check(a.sender_ssrc == b.sender_ssrc && a.layers == b.layers && a.low_kbps == b.low_kbps &&
          a.sound_kbps == b.sound_kbps);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    cq_rtcp_iter_t it;
    cq_rtcp_header_t h;
    int n, packets = 0;
    cq_rtcp_iter_init(&it, data, size);
    while ((n = cq_rtcp_iter_next(&it, &h)) > 0) {
        packets++;
        check(h.data >= data && h.body + h.body_len <= data + size);
        check(h.size == (size_t)n && h.body_len + 4 <= h.size);
        switch (h.pt) {
        case CQ_RTCP_PT_SR:
            fuzz_sr(&h);
            break;
        case CQ_RTCP_PT_RR:
            fuzz_rr(&h);
            break;
        case CQ_RTCP_PT_SDES:
            fuzz_sdes(&h);
            break;
        case CQ_RTCP_PT_BYE:
            fuzz_bye(&h);
            break;
        case CQ_RTCP_PT_APP:
            fuzz_cqlu(&h);
            break;
        case CQ_RTCP_PT_RTPFB:
            if (h.count == CQ_RTCP_FMT_NACK)
                fuzz_nack(&h);
            else if (h.count == CQ_RTCP_FMT_TWCC)
                fuzz_twcc(&h);
            break;
        case CQ_RTCP_PT_PSFB:
            if (h.count == CQ_RTCP_FMT_PLI)
                fuzz_pli(&h);
            else if (h.count == CQ_RTCP_FMT_FIR)
                fuzz_fir(&h);
            else if (h.count == CQ_RTCP_FMT_AFB)
                fuzz_remb(&h);
            break;
        default:
            break;
        }
    }
    /* The validator agrees with the walk. */
    int v = cq_rtcp_validate(data, size);
    check(n < 0 ? v == n : (size == 0 ? v == CQ_ETRUNCATED : v == packets));
    return 0;
}
