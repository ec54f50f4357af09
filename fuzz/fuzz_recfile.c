/*
 * Fuzz target for a raw recording (codec/recfile.h) as chasqui-rec2webm reads it: the
 * header, the records, then every packet through the depacketizers (sequence order, VP8
 * frames, Opus from plain or RED payloads, the clock). A recording is a file anyone may
 * hand the tool: any bytes must give frames or errors, never a read past the input. The
 * records must tile the file, and writing the header back must give its bytes again.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec/recfile.h"
#include "rtp/error.h"
#include "tools/rec2webm/depack.h"

#define MAX_PACKETS 256

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    cq_recfile_header_t h;
    int n = cq_recfile_header_parse(data, size, &h);
    if (n < 0)
        return 0;
    uint8_t again[CQ_RECFILE_HEADER_SIZE];
    if (n != CQ_RECFILE_HEADER_SIZE || cq_recfile_header_write(&h, again, sizeof again) != n ||
        memcmp(again, data, (size_t)n) != 0)
        abort();
    static cq_depack_packet_t pkts[MAX_PACKETS];
    size_t count = 0, at = (size_t)n;
    while (at < size && count < MAX_PACKETS) {
        cq_depack_packet_t *p = &pkts[count];
        int used = cq_recfile_record_parse(data + at, size - at, &p->arrival_us, &p->pkt, &p->len);
        if (used < 0)
            break;
        if ((size_t)used > size - at || p->pkt != data + at + CQ_RECFILE_RECORD_HEAD ||
            p->len + CQ_RECFILE_RECORD_HEAD != (size_t)used)
            abort();
        at += (size_t)used;
        count++;
    }
    count = cq_depack_order(pkts, count, NULL);
    for (size_t i = 1; i < count; i++)
        if (pkts[i].ext_seq <= pkts[i - 1].ext_seq) /* sorted, one of each */
            abort();
    static uint8_t frame[1 << 16];
    cq_depack_vp8_t d;
    cq_depack_vp8_init(&d, frame, sizeof frame);
    cq_depack_clock_t clock;
    cq_depack_clock_init(&clock, h.kind == CQ_RECFILE_AUDIO ? 48000 : 90000);
    for (size_t i = 0; i < count; i++) {
        cq_depack_clock_add(&clock, pkts[i].ext_ts, pkts[i].arrival_us);
        cq_depack_frame_t fr;
        if (cq_depack_vp8_push(&d, &pkts[i], &fr) == 1 &&
            (fr.len == 0 || fr.len > sizeof frame || fr.data != frame))
            abort();
        const uint8_t *opus;
        size_t len;
        int r = cq_depack_opus(&pkts[i], &opus, &len);
        if (r == 1 && (opus < pkts[i].pkt || opus + len > pkts[i].pkt + pkts[i].len))
            abort();
        cq_depack_redundant_t red[8];
        int nr = cq_depack_red_redundant(&pkts[i], red, 8);
        for (int k = 0; k < nr; k++)
            if (red[k].data < pkts[i].pkt || red[k].data + red[k].len > pkts[i].pkt + pkts[i].len)
                abort();
    }
    if (count > 0)
        (void)cq_depack_clock_us(&clock, pkts[count - 1].ext_ts);
    return 0;
}
