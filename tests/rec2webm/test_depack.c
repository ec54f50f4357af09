/*
 * chasqui-rec2webm's depacketizers: VP8 frames across packets (in any arrival order,
 * across the sequence number's wrap), a lost packet dropping its frame and what follows
 * until a keyframe, Opus from plain and RED payloads, and the clock that aligns streams.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "codec/red.h"
#include "codec/vp8_packetizer.h"
#include "rtp/error.h"
#include "rtp/rtp.h"
#include "tools/rec2webm/depack.h"

#define MAX_PKTS 64

typedef struct {
    uint8_t bytes[MAX_PKTS][1300];
    cq_depack_packet_t pkts[MAX_PKTS];
    size_t n;
    uint16_t seq;
} stream_t;

/* A VP8 frame of len bytes: a real payload header (RFC 6386 §9.1: keyframe 64x48, or an
 * interframe), then bytes that say which frame it is. */
static void make_frame(uint8_t *f, size_t len, bool key, uint8_t id) {
    memset(f, id, len);
    uint32_t first_part = 100;
    uint32_t tag = (key ? 0u : 1u) | (1u << 4) | (first_part << 5);
    f[0] = (uint8_t)tag;
    f[1] = (uint8_t)(tag >> 8);
    f[2] = (uint8_t)(tag >> 16);
    if (key) {
        f[3] = 0x9d;
        f[4] = 0x01;
        f[5] = 0x2a;
        f[6] = 64;
        f[7] = 0;
        f[8] = 48;
        f[9] = 0;
    }
}

/* Packetizes frame (RTP timestamp ts) into s at 500 bytes a packet; returns the count. */
static size_t add_frame(stream_t *s, const uint8_t *frame, size_t len, uint32_t ts,
                        uint64_t arrival_us) {
    cq_vp8_desc_t desc = {.extended = true, .has_picture_id = true, .picture_id_15bit = true};
    cq_vp8_packetizer_t pz;
    int pieces = cq_vp8_packetizer_init(&pz, frame, len, &desc, 500);
    assert_true(pieces > 0);
    for (int i = 0; i < pieces; i++) {
        assert_true(s->n < MAX_PKTS);
        uint8_t *b = s->bytes[s->n];
        bool last = false;
        cq_rtp_header_t h = {.payload_type = 96, .seq = s->seq++, .timestamp = ts, .ssrc = 7};
        int hl = cq_rtp_header_write(&h, NULL, 0, b, 1300);
        int pl = cq_vp8_packetizer_next(&pz, b + hl, 1300 - (size_t)hl, &last);
        assert_true(pl > 0);
        b[1] = (uint8_t)(b[1] | (last ? 0x80 : 0)); /* the marker ends the frame */
        s->pkts[s->n++] = (cq_depack_packet_t){
            .arrival_us = arrival_us + (uint64_t)i, .pkt = b, .len = (size_t)(hl + pl)};
    }
    return (size_t)pieces;
}

/* Runs the packets through order and the VP8 depacketizer; frames' first bytes (their
 * ids, at offset 20) into ids. Returns the frames out. */
static size_t run_vp8(stream_t *s, uint8_t *ids, cq_depack_vp8_t *d) {
    static uint8_t buf[1 << 16];
    cq_depack_vp8_init(d, buf, sizeof buf);
    size_t n = cq_depack_order(s->pkts, s->n, NULL), out = 0;
    for (size_t i = 0; i < n; i++) {
        cq_depack_frame_t fr;
        if (cq_depack_vp8_push(d, &s->pkts[i], &fr) == 1)
            ids[out++] = fr.data[20];
    }
    return out;
}

/* Three frames of several packets each, arriving reordered, across the sequence number's
 * wrap: each comes out whole, byte for byte, in order. */
static void test_depack_vp8_frames_across_packets(void **state) {
    (void)state;
    static stream_t s;
    memset(&s, 0, sizeof s);
    s.seq = 65530;
    static uint8_t frames[3][1800];
    make_frame(frames[0], 1800, true, 1);
    make_frame(frames[1], 1200, false, 2);
    make_frame(frames[2], 1700, false, 3);
    add_frame(&s, frames[0], 1800, 1000, 100);
    add_frame(&s, frames[1], 1200, 4000, 200);
    add_frame(&s, frames[2], 1700, 7000, 300);
    /* Swap two packets of the first frame and the last two of all. */
    cq_depack_packet_t t = s.pkts[0];
    s.pkts[0] = s.pkts[1];
    s.pkts[1] = t;
    t = s.pkts[s.n - 1];
    s.pkts[s.n - 1] = s.pkts[s.n - 2];
    s.pkts[s.n - 2] = t;

    static uint8_t buf[1 << 16];
    cq_depack_vp8_t d;
    cq_depack_vp8_init(&d, buf, sizeof buf);
    size_t n = cq_depack_order(s.pkts, s.n, NULL);
    assert_int_equal(n, s.n);
    assert_true(s.pkts[0].ext_seq == 65530);
    assert_true(s.pkts[n - 1].ext_seq == 65530 + (int64_t)n - 1); /* past 65535 */
    size_t out = 0;
    const size_t lens[3] = {1800, 1200, 1700};
    for (size_t i = 0; i < n; i++) {
        cq_depack_frame_t fr;
        if (cq_depack_vp8_push(&d, &s.pkts[i], &fr) != 1)
            continue;
        assert_true(out < 3);
        assert_int_equal(fr.len, lens[out]);
        assert_memory_equal(fr.data, frames[out], lens[out]);
        assert_true(fr.ext_ts == 1000 + 3000 * (int64_t)out);
        assert_int_equal(fr.keyframe, out == 0);
        if (out == 0) {
            assert_int_equal(fr.width, 64);
            assert_int_equal(fr.height, 48);
        }
        out++;
    }
    assert_int_equal(out, 3);
    assert_int_equal(d.lost_frames, 0);
}

/* Frames 1..count of len bytes each (keyframes where bit id of keys is set), 3000 ticks
 * and 1 ms apart; first[id] receives the index of frame id's first packet. */
static void make_stream(stream_t *s, uint8_t count, size_t len, unsigned keys, size_t *first) {
    memset(s, 0, sizeof *s);
    static uint8_t f[1800];
    for (uint8_t id = 1; id <= count; id++) {
        make_frame(f, len, (keys >> id) & 1u, id);
        first[id] = s->n;
        add_frame(s, f, len, 3000u * id, 1000u * id);
    }
}

static void lose_packet(stream_t *s, size_t at) {
    memmove(&s->pkts[at], &s->pkts[at + 1], (s->n - at - 1) * sizeof s->pkts[0]);
    s->n--;
}

/* Key, inter (a packet lost), inter, key, inter: the damaged frame is lost, the next
 * waits for the keyframe, and from the keyframe on all is well. */
static void test_depack_vp8_lost_packet_drops_until_keyframe(void **state) {
    (void)state;
    static stream_t s;
    size_t first[8];
    make_stream(&s, 5, 1400, 1u << 1 | 1u << 4, first);
    lose_packet(&s, first[2] + 1); /* frame 2's second packet */
    uint8_t ids[8];
    cq_depack_vp8_t d;
    assert_int_equal(run_vp8(&s, ids, &d), 3);
    assert_int_equal(ids[0], 1);
    assert_int_equal(ids[1], 4);
    assert_int_equal(ids[2], 5);
    assert_int_equal(d.lost_frames, 1);
    assert_int_equal(d.waiting_dropped, 1);
}

/* A stream whose first packets were lost starts at its first keyframe; a frame's first
 * packet lost loses the frame. */
static void test_depack_vp8_starts_at_keyframe(void **state) {
    (void)state;
    static stream_t s;
    size_t first[8];
    make_stream(&s, 4, 900, 1u << 3, first);
    lose_packet(&s, first[1]); /* frame 1's first packet never arrived */
    uint8_t ids[8];
    cq_depack_vp8_t d;
    assert_int_equal(run_vp8(&s, ids, &d), 2);
    assert_int_equal(ids[0], 3);
    assert_int_equal(ids[1], 4);
    assert_int_equal(d.waiting_dropped, 1); /* frame 2: complete but no keyframe yet */
}

static cq_depack_packet_t parsed(uint8_t *b, size_t len) {
    cq_depack_packet_t p = {.pkt = b, .len = len};
    assert_int_equal(cq_depack_order(&p, 1, NULL), 1);
    return p;
}

static void test_depack_opus_plain_and_red_primary(void **state) {
    (void)state;
    uint8_t b[300];
    cq_rtp_header_t h = {.payload_type = 111, .seq = 1, .timestamp = 960, .ssrc = 9};
    int hl = cq_rtp_header_write(&h, NULL, 0, b, sizeof b);
    memset(b + hl, 0x78, 40);
    cq_depack_packet_t p = parsed(b, (size_t)hl + 40);
    const uint8_t *data;
    size_t len;
    assert_int_equal(cq_depack_opus(&p, &data, &len), 1);
    assert_ptr_equal(data, b + hl);
    assert_int_equal(len, 40);

    /* RED: the previous packet's sound, then this one's (the primary, last). */
    uint8_t older[30], primary[50];
    memset(older, 0x11, sizeof older);
    memset(primary, 0x22, sizeof primary);
    cq_red_block_t blocks[2] = {{.pt = 111, .ts_offset = 960, .len = 30, .data = older},
                                {.pt = 111, .len = 50, .data = primary}};
    h.payload_type = 63;
    hl = cq_rtp_header_write(&h, NULL, 0, b, sizeof b);
    int rl = cq_red_write(blocks, 2, b + hl, sizeof b - (size_t)hl);
    assert_true(rl > 0);
    p = parsed(b, (size_t)(hl + rl));
    assert_int_equal(cq_depack_opus(&p, &data, &len), 1);
    assert_int_equal(len, 50);
    assert_memory_equal(data, primary, 50);
    /* ... and the copy of the packet before it, 960 ticks earlier, for when that one was
     * lost. */
    cq_depack_redundant_t red[4];
    assert_int_equal(cq_depack_red_redundant(&p, red, 4), 1);
    assert_true(red[0].ext_ts == 960 - 960);
    assert_int_equal(red[0].len, 30);
    assert_memory_equal(red[0].data, older, 30);

    /* An empty primary (nothing to play) and a primary that is not Opus. */
    blocks[1].len = 0;
    rl = cq_red_write(blocks, 2, b + hl, sizeof b - (size_t)hl);
    p = parsed(b, (size_t)(hl + rl));
    assert_int_equal(cq_depack_opus(&p, &data, &len), 0);
    blocks[1] = (cq_red_block_t){.pt = 13, .len = 5, .data = primary};
    rl = cq_red_write(blocks, 2, b + hl, sizeof b - (size_t)hl);
    p = parsed(b, (size_t)(hl + rl));
    assert_int_equal(cq_depack_opus(&p, &data, &len), CQ_EUNSUPPORTED);
    /* A RED header that promises more than there is. */
    b[hl] = 0x80 | 111;
    b[hl + 1] = 0;
    b[hl + 2] = 0;
    b[hl + 3] = 0xff;
    p = parsed(b, (size_t)hl + 6);
    assert_true(cq_depack_opus(&p, &data, &len) < 0);
    /* Another payload type altogether. */
    assert_true(cq_depack_red_redundant(&p, red, 4) < 0);
    h.payload_type = 96;
    hl = cq_rtp_header_write(&h, NULL, 0, b, sizeof b);
    p = parsed(b, (size_t)hl + 10);
    assert_int_equal(cq_depack_opus(&p, &data, &len), CQ_EUNSUPPORTED);
    assert_int_equal(cq_depack_red_redundant(&p, red, 4), 0); /* not RED */
}

/* Sound (48 kHz) and video (90 kHz) made at the same instants with unrelated RTP
 * origins, arriving with jitter: each clock's offset comes from its least-delayed packet,
 * and the two put the same instant within a millisecond of each other. A timestamp
 * past the 32-bit wrap keeps counting forward. */
static void test_depack_clock_aligns_streams(void **state) {
    (void)state;
    cq_depack_clock_t a, v;
    cq_depack_clock_init(&a, 48000);
    cq_depack_clock_init(&v, 90000);
    const uint64_t delays[] = {40000, 12000, 25000, 90000, 10000, 33000};
    int64_t a0 = 4294967296LL - 48000, v0 = 123456;
    for (int i = 0; i < 60; i++) {
        uint64_t made = 5000000u + (uint64_t)i * 100000u; /* every 100 ms */
        cq_depack_clock_add(&a, a0 + i * 4800, made + delays[i % 6]);
        cq_depack_clock_add(&v, v0 + i * 9000, made + delays[(i + 3) % 6]);
    }
    for (int i = 0; i < 60; i += 7) {
        int64_t ta = cq_depack_clock_us(&a, a0 + i * 4800);
        int64_t tv = cq_depack_clock_us(&v, v0 + i * 9000);
        assert_true(ta - tv < 1000 && tv - ta < 1000);
        assert_true(ta == 5000000 + i * 100000 + 10000); /* the least delay */
    }
}

/* A hostile recording's times (a timestamp unwrapped 2^31 at a time for thousands of
 * packets, an arrival near the end of the clock) stay defined and within +-2^62 us, so the
 * converter's differences of two times cannot overflow either (UBSan checks this build). */
static void test_depack_clock_hostile_times(void **state) {
    (void)state;
    static const int64_t ts[] = {INT64_MAX, INT64_MIN + 1, INT64_C(9223442263865), -1, 0};
    static const uint64_t arrivals[] = {UINT64_MAX, 0, UINT64_C(1) << 63};
    for (size_t a = 0; a < 3; a++)
        for (size_t i = 0; i < 5; i++) {
            cq_depack_clock_t c;
            cq_depack_clock_init(&c, 48000);
            cq_depack_clock_add(&c, ts[i], arrivals[a]);
            for (size_t k = 0; k < 5; k++) {
                int64_t t = cq_depack_clock_us(&c, ts[k]);
                assert_true(t <= INT64_C(1) << 62 && t >= -(INT64_C(1) << 62));
            }
        }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_depack_vp8_frames_across_packets),
        cmocka_unit_test(test_depack_vp8_lost_packet_drops_until_keyframe),
        cmocka_unit_test(test_depack_vp8_starts_at_keyframe),
        cmocka_unit_test(test_depack_opus_plain_and_red_primary),
        cmocka_unit_test(test_depack_clock_aligns_streams),
        cmocka_unit_test(test_depack_clock_hostile_times),
    };
    return cmocka_run_group_tests_name("rec2webm/depack", tests, NULL, NULL);
}
