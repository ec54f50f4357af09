/*
 * Fuzz target for the video selector and its numbering (relay/vselect.h, relay/seqmap.h).
 * Not a parser, but the piece of the relay that turns what publishers send, in whatever
 * order the network delivers it, into the numbers a receiver trusts: the input drives a
 * stream of packets (layer, sequence jumps and reordering, keyframes, TIDs, sync bits,
 * PictureIDs) and preference changes. Whatever happens, two different publisher packets
 * must never be given the same outgoing sequence number while both are recent (a receiver
 * would take one for the other), and a forwarded packet must belong to the layer being
 * forwarded.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "relay/vselect.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What each of the last 4096 outgoing numbers was given to. */
#define WINDOW 4096

typedef struct {
    bool used;
    uint8_t layer;
    uint16_t in_seq;
    uint16_t out_seq;
} given_t;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static given_t given[WINDOW];
    memset(given, 0, sizeof given);
    cq_vsel_t s;
    cq_vsel_init(&s);
    uint16_t seq[3] = {65500, 100, 30000};
    uint32_t ts[3] = {0xfffff000u, 5, 77};
    uint16_t pid[3] = {32760, 0, 500};
    uint64_t now = 1000;
    for (size_t i = 0; i + 3 <= size; i += 3) {
        uint8_t a = data[i], b = data[i + 1], c = data[i + 2];
        if (a == 0xff) { /* a preference change */
            cq_vsel_set_target(&s, (int)(b % 4) - 1, c % 4);
            continue;
        }
        uint8_t layer = (uint8_t)(a % 3);
        /* Mostly the next packet; sometimes a jump back (reordering, a repair) or ahead
         * (loss). */
        int step = (b & 0x80) ? -(int)(b & 0x1f) : (b & 0x40) ? (int)(b & 0x3f) : 1;
        seq[layer] = (uint16_t)(seq[layer] + step);
        bool start = (c & 1) != 0;
        if (start && step > 0) {
            ts[layer] += 3000;
            pid[layer] = (uint16_t)((pid[layer] + 1) & 0x7fff);
        }
        now += (uint64_t)(c >> 4) * 1000u;
        cq_vsel_packet_t p = {
            .layer = layer,
            .seq = seq[layer],
            .ts = ts[layer],
            .frame_start = start,
            .keyframe = start && (c & 2) != 0,
            .has_tid = (a & 0x80) != 0,
            .tid = (uint8_t)((a >> 2) & 3),
            .layer_sync = (a & 0x40) != 0,
            .has_picture_id = true,
            .picture_id_15bit = true,
            .picture_id = pid[layer],
            .has_tl0picidx = true,
            .tl0picidx = (uint8_t)(pid[layer] / 4),
        };
        cq_vsel_out_t out;
        if (cq_vsel_on_packet(&s, &p, now, &out) != CQ_VSEL_FORWARD)
            continue;
        if (s.spatial != (int8_t)layer)
            abort();
        given_t *g = &given[out.seq % WINDOW];
        if (g->used && g->out_seq == out.seq && (g->layer != layer || g->in_seq != p.seq))
            abort();
        *g = (given_t){true, layer, p.seq, out.seq};
    }
    return 0;
}
