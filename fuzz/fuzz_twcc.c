/*
 * Fuzz target for transport-wide feedback. The input is the body of an RTPFB FMT 15
 * packet (what follows the 4-byte RTCP header), so every mutation lands on the feedback
 * itself. What parses into a bounded array is written again and parsed again:
 *   - in one feedback with room to spare, which must give back exactly the same packets;
 *   - in feedbacks capped at a size taken from the input, each starting where the one
 *     before stopped with its own reference time, which together must give back the same
 *     statuses and arrival times.
 * Any difference aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rtp/error.h"
#include "rtp/rtcp.h"
#include "rtp/twcc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_PACKETS 2048

/* Times come back modulo the 24-bit reference time: 2^24 * 64 ms. */
#define REF_WRAP_US ((int64_t)(1 << 24) * CQ_TWCC_REF_UNIT_US)

static uint8_t out[CQ_RTCP_MAX_SIZE];
static cq_twcc_packet_t parsed[MAX_PACKETS], again[MAX_PACKETS];

static void check(int cond) {
    if (!cond)
        abort();
}

static int reparse(int len, cq_twcc_fb_t *fb) {
    check(len >= CQ_TWCC_HEADER_SIZE && len % 4 == 0);
    cq_rtcp_iter_t it;
    cq_rtcp_header_t h;
    cq_rtcp_iter_init(&it, out, (size_t)len);
    check(cq_rtcp_iter_next(&it, &h) == len);
    return cq_twcc_parse(&h, fb, again, MAX_PACKETS);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    cq_rtcp_header_t h = {
        .data = data,
        .size = size + 4,
        .body = data,
        .body_len = size,
        .count = CQ_RTCP_FMT_TWCC,
        .pt = CQ_RTCP_PT_RTPFB,
    };
    cq_twcc_fb_t fb, fb2;
    int n = cq_twcc_parse(&h, &fb, parsed, MAX_PACKETS);
    if (n <= 0)
        return 0;
    check(n == fb.status_count);
    check(fb.reference_time >= -(1 << 23) && fb.reference_time < (1 << 23));

    /* One feedback, all of it. */
    size_t consumed = 0;
    int len = cq_twcc_write(&fb, parsed, (size_t)n, out, sizeof out, &consumed);
    check(consumed == (size_t)n);
    check(reparse(len, &fb2) == n);
    check(fb2.base_seq == fb.base_seq && fb2.status_count == fb.status_count &&
          fb2.reference_time == fb.reference_time && fb2.fb_count == fb.fb_count &&
          fb2.sender_ssrc == fb.sender_ssrc && fb2.media_ssrc == fb.media_ssrc);
    for (int i = 0; i < n; i++) {
        check(again[i].seq == parsed[i].seq && again[i].received == parsed[i].received);
        check(!parsed[i].received || again[i].arrival_us == parsed[i].arrival_us);
    }

    /* Split at a cap the input chooses (its 16th byte): 24 .. 1044 bytes. */
    size_t cap = 24 + 4 * (size_t)data[15];
    size_t idx = 0;
    while (idx < (size_t)n) {
        cq_twcc_fb_t part = fb;
        for (size_t j = idx; j < (size_t)n; j++) {
            if (parsed[j].received) {
                part.reference_time = cq_twcc_reference_time(parsed[j].arrival_us);
                break;
            }
        }
        len = cq_twcc_write(&part, parsed + idx, (size_t)n - idx, out, cap, &consumed);
        check(len > 0 && (size_t)len <= cap);
        check(consumed >= 1 && consumed <= (size_t)n - idx);
        check(reparse(len, &fb2) == (int)consumed);
        for (size_t k = 0; k < consumed; k++) {
            const cq_twcc_packet_t *p = &parsed[idx + k], *q = &again[k];
            check(p->seq == q->seq && p->received == q->received);
            check(!p->received || (q->arrival_us - p->arrival_us) % REF_WRAP_US == 0);
        }
        idx += consumed;
    }
    return 0;
}
