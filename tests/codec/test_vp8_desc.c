#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "support/test_bytes.h"

#include "codec/vp8_desc.h"
#include "rtp/error.h"
#include "support/test_rand.h"

#define PROPERTY_SEED       0x7638646573630001ull
#define PROPERTY_ITERATIONS 20000

/* Names the first field in which two descriptors differ, or NULL if none does. */
static const char *desc_diff(const cq_vp8_desc_t *a, const cq_vp8_desc_t *b) {
#define DIFF(f)                                                                                    \
    if (a->f != b->f)                                                                              \
    return #f
    DIFF(extended);
    DIFF(non_reference);
    DIFF(start);
    DIFF(partition);
    DIFF(has_picture_id);
    DIFF(has_tl0picidx);
    DIFF(has_tid);
    DIFF(has_keyidx);
    DIFF(picture_id_15bit);
    DIFF(picture_id);
    DIFF(tl0picidx);
    DIFF(tid);
    DIFF(y);
    DIFF(keyidx);
    DIFF(size);
    DIFF(picture_id_offset);
    DIFF(tl0picidx_offset);
#undef DIFF
    return NULL;
}

/* A heap copy of exactly n bytes, so that the sanitizer build catches a read past the end
 * of a truncated input (a prefix of a larger array would hide it). */

/* ---- parse: hand-built descriptors, byte for byte ------------------------------------ */

/* The shortest descriptor: X = 0, so one octet and nothing optional. 0x30 is N = 1, S = 1,
 * PID = 0: a non-reference frame's first packet. */
static void test_vp8_desc_parse_mandatory_octet_only(void **state) {
    (void)state;
    const uint8_t pkt[] = {0x30, 0xaa};
    cq_vp8_desc_t d;
    assert_int_equal(cq_vp8_desc_parse(pkt, sizeof pkt, &d), 1);
    assert_false(d.extended);
    assert_true(d.non_reference);
    assert_true(d.start);
    assert_int_equal(d.partition, 0);
    assert_true(cq_vp8_desc_starts_frame(&d));
    assert_false(d.has_picture_id || d.has_tl0picidx || d.has_tid || d.has_keyidx);
    assert_int_equal(d.size, 1);
    assert_int_equal(d.picture_id_offset, 0);
    assert_int_equal(d.tl0picidx_offset, 0);

    /* A later partition's first packet: S = 1 but PID = 3, so no payload header. */
    const uint8_t part3[] = {0x13, 0xaa};
    assert_int_equal(cq_vp8_desc_parse(part3, sizeof part3, &d), 1);
    assert_true(d.start);
    assert_int_equal(d.partition, 3);
    assert_false(cq_vp8_desc_starts_frame(&d));
}

/* What a browser sends on a simulcast layer with three temporal layers: every extension,
 * 15-bit PictureID. 90 e0 | 92 34 | 56 | a5: X, S; I, L, T; M = 1, PictureID 0x1234;
 * TL0PICIDX 0x56; TID 2, Y 1, KEYIDX 5. */
static void test_vp8_desc_parse_all_extensions_15bit(void **state) {
    (void)state;
    const uint8_t pkt[] = {0x90, 0xe0, 0x92, 0x34, 0x56, 0xa5, 0x50};
    cq_vp8_desc_t d;
    assert_int_equal(cq_vp8_desc_parse(pkt, sizeof pkt, &d), 6);
    assert_true(d.extended);
    assert_false(d.non_reference);
    assert_true(d.start);
    assert_int_equal(d.partition, 0);
    assert_true(d.has_picture_id);
    assert_true(d.has_tl0picidx);
    assert_true(d.has_tid);
    assert_false(d.has_keyidx);
    assert_true(d.picture_id_15bit);
    assert_int_equal(d.picture_id, 0x1234);
    assert_int_equal(d.tl0picidx, 0x56);
    assert_int_equal(d.tid, 2);
    assert_true(d.y);
    assert_int_equal(d.keyidx, 5); /* raw bits: K = 0, so a receiver ignores them */
    assert_int_equal(d.size, 6);
    assert_int_equal(d.picture_id_offset, 2);
    assert_int_equal(d.tl0picidx_offset, 4);
}

/* 7-bit PictureID, the largest one: 80 80 7f. */
static void test_vp8_desc_parse_7bit_picture_id(void **state) {
    (void)state;
    const uint8_t pkt[] = {0x80, 0x80, 0x7f, 0x00};
    cq_vp8_desc_t d;
    assert_int_equal(cq_vp8_desc_parse(pkt, sizeof pkt, &d), 3);
    assert_true(d.has_picture_id);
    assert_false(d.picture_id_15bit);
    assert_int_equal(d.picture_id, 127);
    assert_int_equal(d.picture_id_offset, 2);
    assert_false(d.start);

    /* And the largest 15-bit one: ff ff. */
    const uint8_t big[] = {0x80, 0x80, 0xff, 0xff, 0x00};
    assert_int_equal(cq_vp8_desc_parse(big, sizeof big, &d), 4);
    assert_true(d.picture_id_15bit);
    assert_int_equal(d.picture_id, 32767);
}

/* RFC 7741 §4.2: with K = 1 and T = 0 the TID/Y/KEYIDX octet is still there (its TID|Y part
 * ignored); with T = 1 and K = 0 likewise (KEYIDX ignored); T and K share one octet. */
static void test_vp8_desc_parse_tk_octet_shared(void **state) {
    (void)state;
    cq_vp8_desc_t d;
    const uint8_t k_only[] = {0x80, 0x10, 0xff, 0x00}; /* TID 3, Y 1, KEYIDX 31 raw */
    assert_int_equal(cq_vp8_desc_parse(k_only, sizeof k_only, &d), 3);
    assert_false(d.has_tid);
    assert_true(d.has_keyidx);
    assert_int_equal(d.keyidx, 31);
    assert_int_equal(d.tid, 3); /* raw: present in the octet, meaningless since T = 0 */
    assert_true(d.y);

    const uint8_t t_and_k[] = {0x80, 0x30, 0x4a, 0x00}; /* TID 1, Y 0, KEYIDX 10 */
    assert_int_equal(cq_vp8_desc_parse(t_and_k, sizeof t_and_k, &d), 3);
    assert_true(d.has_tid);
    assert_true(d.has_keyidx);
    assert_int_equal(d.tid, 1);
    assert_false(d.y);
    assert_int_equal(d.keyidx, 10);

    /* I and K, no L or T: 80 90 | 05 | 03. */
    const uint8_t i_k[] = {0x80, 0x90, 0x05, 0x03, 0x00};
    assert_int_equal(cq_vp8_desc_parse(i_k, sizeof i_k, &d), 4);
    assert_int_equal(d.picture_id, 5);
    assert_int_equal(d.keyidx, 3);
    assert_int_equal(d.tl0picidx_offset, 0);
}

/* X = 1 with no optional field set is legal: two octets. Reserved bits are ignored. */
static void test_vp8_desc_parse_reserved_bits_ignored(void **state) {
    (void)state;
    cq_vp8_desc_t d;
    const uint8_t empty_ext[] = {0x80, 0x00, 0x00};
    assert_int_equal(cq_vp8_desc_parse(empty_ext, sizeof empty_ext, &d), 2);
    assert_true(d.extended);

    /* R bits (0x40, 0x08) and RSV (0x0f) all set: the same descriptor as 90 e0 ... */
    const uint8_t reserved[] = {0xd8, 0xef, 0x92, 0x34, 0x56, 0xa5, 0x50};
    const uint8_t clean[] = {0x90, 0xe0, 0x92, 0x34, 0x56, 0xa5, 0x50};
    cq_vp8_desc_t c;
    assert_int_equal(cq_vp8_desc_parse(reserved, sizeof reserved, &d), 6);
    assert_int_equal(cq_vp8_desc_parse(clean, sizeof clean, &c), 6);
    assert_null(desc_diff(&d, &c));
}

/* Builds, independently of the writer under test, the descriptor bytes for one combination
 * of I/L/T/K and M, with fixed field values; returns the length. */
static size_t build_combo(uint8_t *b, unsigned iltk, bool m) {
    size_t n = 0;
    b[n++] = 0x90; /* X, S */
    b[n++] = (uint8_t)(iltk << 4);
    if (iltk & 8) {
        if (m) {
            b[n++] = 0x80 | 0x2b;
            b[n++] = 0xcd;
        } else {
            b[n++] = 0x2b;
        }
    }
    if (iltk & 4)
        b[n++] = 0xee;
    if (iltk & 3)
        b[n++] = 0x9f; /* TID 2, Y 0, KEYIDX 31 */
    return n;
}

/* Every combination of I, L, T, K and both PictureID widths: sizes, values and offsets;
 * L without T refused. Then every truncation of each one. */
static void test_vp8_desc_parse_every_combination(void **state) {
    (void)state;
    for (unsigned iltk = 0; iltk < 16; iltk++) {
        for (int m = 0; m < 2; m++) {
            uint8_t b[CQ_VP8_DESC_MAX_SIZE + 1];
            size_t n = build_combo(b, iltk, m);
            b[n] = 0x00; /* one byte of VP8 data */
            bool i = iltk & 8, l = iltk & 4, t = iltk & 2, k = iltk & 1;
            cq_vp8_desc_t d;
            int rc = cq_vp8_desc_parse(b, n + 1, &d);
            if (l && !t) {
                assert_int_equal(rc, CQ_EMALFORMED);
                continue;
            }
            assert_int_equal(rc, (int)n);
            assert_int_equal(d.has_picture_id, i);
            assert_int_equal(d.has_tl0picidx, l);
            assert_int_equal(d.has_tid, t);
            assert_int_equal(d.has_keyidx, k);
            size_t off = 2;
            if (i) {
                assert_int_equal(d.picture_id_offset, off);
                assert_int_equal(d.picture_id_15bit, m);
                assert_int_equal(d.picture_id, m ? 0x2bcd : 0x2b);
                off += m ? 2 : 1;
            } else {
                assert_int_equal(d.picture_id_offset, 0);
                assert_int_equal(d.picture_id, 0);
            }
            if (l) {
                assert_int_equal(d.tl0picidx_offset, off);
                assert_int_equal(d.tl0picidx, 0xee);
                off++;
            } else {
                assert_int_equal(d.tl0picidx_offset, 0);
            }
            if (t || k) {
                assert_int_equal(d.tid, 2);
                assert_false(d.y);
                assert_int_equal(d.keyidx, 31);
                off++;
            } else {
                assert_int_equal(d.tid, 0);
                assert_int_equal(d.keyidx, 0);
            }
            assert_int_equal(off, n);

            /* Truncated at every length: short of the descriptor, or descriptor alone. */
            for (size_t cut = 0; cut <= n; cut++) {
                cq_vp8_desc_t u = {.tl0picidx = 0x77};
                uint8_t *in = cq_test_exact_copy(b, cut);
                rc = cq_vp8_desc_parse(in, cut, &u);
                free(in);
                assert_int_equal(rc, cut < n ? CQ_ETRUNCATED : CQ_EMALFORMED);
                assert_int_equal(u.tl0picidx, 0x77); /* untouched */
            }
        }
    }
}

static void test_vp8_desc_parse_errors(void **state) {
    (void)state;
    cq_vp8_desc_t d = {.picture_id = 999};
    assert_int_equal(cq_vp8_desc_parse(NULL, 0, &d), CQ_ETRUNCATED);

    /* RFC 7741 §4.2: L = 1 requires T = 1. */
    const uint8_t l_no_t[] = {0x80, 0x40, 0x05, 0x00};
    assert_int_equal(cq_vp8_desc_parse(l_no_t, sizeof l_no_t, &d), CQ_EMALFORMED);
    const uint8_t l_k_no_t[] = {0x80, 0x50, 0x05, 0x00, 0x00};
    assert_int_equal(cq_vp8_desc_parse(l_k_no_t, sizeof l_k_no_t, &d), CQ_EMALFORMED);

    /* A descriptor with no VP8 data after it. */
    const uint8_t alone[] = {0x10};
    assert_int_equal(cq_vp8_desc_parse(alone, sizeof alone, &d), CQ_EMALFORMED);
    const uint8_t alone_ext[] = {0x90, 0xa0, 0x01, 0x40};
    assert_int_equal(cq_vp8_desc_parse(alone_ext, sizeof alone_ext, &d), CQ_EMALFORMED);

    /* M = 1 but only one PictureID octet. */
    const uint8_t short_m[] = {0x80, 0x80, 0x80};
    assert_int_equal(cq_vp8_desc_parse(short_m, sizeof short_m, &d), CQ_ETRUNCATED);
    assert_int_equal(d.picture_id, 999);
}

/* ---- rewrite in place ---------------------------------------------------------------- */

static void test_vp8_desc_set_picture_id_keeps_width(void **state) {
    (void)state;
    cq_vp8_desc_t d;

    /* 7 bits: 130 wraps to 2; the M bit stays 0 and no other byte moves. */
    uint8_t p7[] = {0x90, 0xe0, 0x7f, 0x56, 0xa5, 0x50};
    const uint8_t want7[] = {0x90, 0xe0, 0x02, 0x56, 0xa5, 0x50};
    assert_int_equal(cq_vp8_desc_parse(p7, sizeof p7, &d), 5);
    assert_int_equal(cq_vp8_desc_set_picture_id(p7, sizeof p7, &d, 130), 0);
    assert_memory_equal(p7, want7, sizeof p7);

    /* 15 bits: 32768 + 0x0102 wraps to 0x0102; the M bit stays 1. */
    uint8_t p15[] = {0x90, 0xe0, 0xff, 0xff, 0x56, 0xa5, 0x50};
    const uint8_t want15[] = {0x90, 0xe0, 0x81, 0x02, 0x56, 0xa5, 0x50};
    assert_int_equal(cq_vp8_desc_parse(p15, sizeof p15, &d), 6);
    assert_int_equal(cq_vp8_desc_set_picture_id(p15, sizeof p15, &d, 32768 + 0x0102), 0);
    assert_memory_equal(p15, want15, sizeof p15);

    /* The wrap point itself: 32767 -> 0 as the RFC's counter does. */
    assert_int_equal(cq_vp8_desc_set_picture_id(p15, sizeof p15, &d, 32767), 0);
    assert_int_equal(p15[2], 0xff);
    assert_int_equal(p15[3], 0xff);
    assert_int_equal(cq_vp8_desc_set_picture_id(p15, sizeof p15, &d, 32768), 0);
    assert_int_equal(p15[2], 0x80);
    assert_int_equal(p15[3], 0x00);
}

static void test_vp8_desc_set_tl0picidx(void **state) {
    (void)state;
    cq_vp8_desc_t d;
    uint8_t p[] = {0x90, 0xe0, 0x92, 0x34, 0x56, 0xa5, 0x50};
    const uint8_t want[] = {0x90, 0xe0, 0x92, 0x34, 0xff, 0xa5, 0x50};
    assert_int_equal(cq_vp8_desc_parse(p, sizeof p, &d), 6);
    assert_int_equal(cq_vp8_desc_set_tl0picidx(p, sizeof p, &d, 0xff), 0);
    assert_memory_equal(p, want, sizeof p);
}

static void test_vp8_desc_set_absent_or_foreign(void **state) {
    (void)state;
    cq_vp8_desc_t d;
    uint8_t p[] = {0x90, 0x20, 0x40, 0x50}; /* T only */
    const uint8_t orig[] = {0x90, 0x20, 0x40, 0x50};
    assert_int_equal(cq_vp8_desc_parse(p, sizeof p, &d), 3);
    assert_int_equal(cq_vp8_desc_set_picture_id(p, sizeof p, &d, 5), CQ_ENOENT);
    assert_int_equal(cq_vp8_desc_set_tl0picidx(p, sizeof p, &d, 5), CQ_ENOENT);
    assert_memory_equal(p, orig, sizeof p);

    /* A descriptor applied to a buffer too short for its offsets is refused. */
    uint8_t full[] = {0x90, 0xe0, 0x92, 0x34, 0x56, 0xa5, 0x50};
    assert_int_equal(cq_vp8_desc_parse(full, sizeof full, &d), 6);
    assert_int_equal(cq_vp8_desc_set_picture_id(full, 3, &d, 1), CQ_EINVAL);
    assert_int_equal(cq_vp8_desc_set_tl0picidx(full, 4, &d, 1), CQ_EINVAL);
    assert_int_equal(full[3], 0x34);
}

/* Random descriptor bytes that the parser accepts: random first and extension octets (with
 * T forced when L is set), random field octets, 1..8 bytes of VP8 data. */
static size_t random_descriptor(cq_test_rand_t *r, uint8_t *b) {
    size_t n = 0;
    b[n++] = (uint8_t)cq_test_rand_u32(r);
    if (b[0] & 0x80) {
        uint8_t ext = (uint8_t)cq_test_rand_u32(r);
        if (ext & 0x40)
            ext |= 0x20;
        b[n++] = ext;
        if (ext & 0x80) {
            b[n++] = (uint8_t)cq_test_rand_u32(r);
            if (b[n - 1] & 0x80)
                b[n++] = (uint8_t)cq_test_rand_u32(r);
        }
        if (ext & 0x40)
            b[n++] = (uint8_t)cq_test_rand_u32(r);
        if (ext & 0x30)
            b[n++] = (uint8_t)cq_test_rand_u32(r);
    }
    size_t data = 1 + cq_test_rand_below(r, 8);
    cq_test_rand_fill(r, b + n, data);
    return n + data;
}

/* parse -> rewrite -> parse: only the rewritten fields change, to the wrapped values; the
 * bytes outside them and the M bit are untouched; the length is the same. */
static void test_vp8_desc_rewrite_property(void **state) {
    (void)state;
    cq_test_rand_t r = {PROPERTY_SEED};
    for (int it = 0; it < PROPERTY_ITERATIONS; it++) {
        uint8_t orig[CQ_VP8_DESC_MAX_SIZE + 8];
        size_t len = random_descriptor(&r, orig);
        cq_vp8_desc_t a, b;
        int rc = cq_vp8_desc_parse(orig, len, &a);
        if (rc <= 0)
            fail_msg("seed %#llx iteration %d: parse failed %d", PROPERTY_SEED, it, rc);

        uint8_t copy[sizeof orig];
        memcpy(copy, orig, len);
        uint16_t pid = (uint16_t)cq_test_rand_u32(&r);
        uint8_t tl0 = (uint8_t)cq_test_rand_u32(&r);
        int rp = cq_vp8_desc_set_picture_id(copy, len, &a, pid);
        int rt = cq_vp8_desc_set_tl0picidx(copy, len, &a, tl0);
        if (rp != (a.has_picture_id ? 0 : CQ_ENOENT) || rt != (a.has_tl0picidx ? 0 : CQ_ENOENT))
            fail_msg("seed %#llx iteration %d: rewrite returned %d %d", PROPERTY_SEED, it, rp, rt);
        if (cq_vp8_desc_parse(copy, len, &b) != rc)
            fail_msg("seed %#llx iteration %d: length changed", PROPERTY_SEED, it);

        cq_vp8_desc_t want = a;
        if (a.has_picture_id)
            want.picture_id = (uint16_t)(pid % (a.picture_id_15bit ? CQ_VP8_PICTURE_ID_15BIT_MOD
                                                                   : CQ_VP8_PICTURE_ID_7BIT_MOD));
        if (a.has_tl0picidx)
            want.tl0picidx = tl0;
        const char *diff = desc_diff(&want, &b);
        if (diff)
            fail_msg("seed %#llx iteration %d: field %s differs", PROPERTY_SEED, it, diff);

        for (size_t i = 0; i < len; i++) {
            bool in_pid = a.has_picture_id && i >= a.picture_id_offset &&
                          i < a.picture_id_offset + (a.picture_id_15bit ? 2u : 1u);
            bool in_tl0 = a.has_tl0picidx && i == a.tl0picidx_offset;
            if (!in_pid && !in_tl0 && copy[i] != orig[i])
                fail_msg("seed %#llx iteration %d: byte %zu changed", PROPERTY_SEED, it, i);
            if (in_pid && i == a.picture_id_offset && (copy[i] & 0x80) != (orig[i] & 0x80))
                fail_msg("seed %#llx iteration %d: M bit changed", PROPERTY_SEED, it);
        }
    }
}

/* ---- write ---------------------------------------------------------------------------- */

static void test_vp8_desc_write_hand_built(void **state) {
    (void)state;
    uint8_t buf[CQ_VP8_DESC_MAX_SIZE];

    cq_vp8_desc_t all = {.start = true,
                         .has_picture_id = true,
                         .picture_id_15bit = true,
                         .picture_id = 0x1234,
                         .has_tl0picidx = true,
                         .tl0picidx = 0x56,
                         .has_tid = true,
                         .tid = 2,
                         .y = true,
                         .keyidx = 5};
    const uint8_t want_all[] = {0x90, 0xe0, 0x92, 0x34, 0x56, 0xa5};
    assert_int_equal(cq_vp8_desc_size(&all), 6);
    assert_int_equal(cq_vp8_desc_write(&all, buf, sizeof buf), 6);
    assert_memory_equal(buf, want_all, 6);

    cq_vp8_desc_t small = {.start = true, .has_picture_id = true, .picture_id = 0x2b};
    const uint8_t want_small[] = {0x90, 0x80, 0x2b};
    assert_int_equal(cq_vp8_desc_write(&small, buf, sizeof buf), 3);
    assert_memory_equal(buf, want_small, 3);

    /* The flag, not the value, chooses the width: PictureID 5 on two octets. */
    small.picture_id_15bit = true;
    small.picture_id = 5;
    const uint8_t want_wide[] = {0x90, 0x80, 0x80, 0x05};
    assert_int_equal(cq_vp8_desc_write(&small, buf, sizeof buf), 4);
    assert_memory_equal(buf, want_wide, 4);

    cq_vp8_desc_t plain = {.non_reference = true, .partition = 7};
    assert_int_equal(cq_vp8_desc_write(&plain, buf, sizeof buf), 1);
    assert_int_equal(buf[0], 0x27);

    cq_vp8_desc_t x_only = {.extended = true};
    const uint8_t want_x[] = {0x80, 0x00};
    assert_int_equal(cq_vp8_desc_write(&x_only, buf, sizeof buf), 2);
    assert_memory_equal(buf, want_x, 2);

    cq_vp8_desc_t k_only = {.has_keyidx = true, .keyidx = 31};
    const uint8_t want_k[] = {0x80, 0x10, 0x1f};
    assert_int_equal(cq_vp8_desc_write(&k_only, buf, sizeof buf), 3);
    assert_memory_equal(buf, want_k, 3);
}

static void test_vp8_desc_write_errors(void **state) {
    (void)state;
    uint8_t buf[CQ_VP8_DESC_MAX_SIZE];
    cq_vp8_desc_t d = {.partition = 8};
    assert_int_equal(cq_vp8_desc_write(&d, buf, sizeof buf), CQ_EINVAL);
    d = (cq_vp8_desc_t){.has_tid = true, .tid = 4};
    assert_int_equal(cq_vp8_desc_write(&d, buf, sizeof buf), CQ_EINVAL);
    d = (cq_vp8_desc_t){.has_keyidx = true, .keyidx = 32};
    assert_int_equal(cq_vp8_desc_write(&d, buf, sizeof buf), CQ_EINVAL);
    d = (cq_vp8_desc_t){.has_picture_id = true, .picture_id = 128};
    assert_int_equal(cq_vp8_desc_write(&d, buf, sizeof buf), CQ_EINVAL);
    d.picture_id_15bit = true;
    assert_int_equal(cq_vp8_desc_write(&d, buf, sizeof buf), 4);
    d.picture_id = 32768;
    assert_int_equal(cq_vp8_desc_write(&d, buf, sizeof buf), CQ_EINVAL);
    d = (cq_vp8_desc_t){.has_tl0picidx = true};
    assert_int_equal(cq_vp8_desc_write(&d, buf, sizeof buf), CQ_EINVAL);

    /* Every capacity short of the size. */
    d = (cq_vp8_desc_t){
        .has_picture_id = true, .picture_id_15bit = true, .has_tl0picidx = true, .has_tid = true};
    for (size_t cap = 0; cap < 6; cap++)
        assert_int_equal(cq_vp8_desc_write(&d, buf, cap), CQ_ENOBUFS);
    assert_int_equal(cq_vp8_desc_write(&d, buf, 6), 6);
}

/* write -> parse -> equal, over random values the writer accepts. */
static void test_vp8_desc_write_parse_property(void **state) {
    (void)state;
    cq_test_rand_t r = {PROPERTY_SEED + 1};
    for (int it = 0; it < PROPERTY_ITERATIONS; it++) {
        uint32_t bits = cq_test_rand_u32(&r);
        cq_vp8_desc_t v = {0};
        v.non_reference = bits & 1;
        v.start = bits & 2;
        v.partition = (uint8_t)((bits >> 2) & 7);
        v.has_picture_id = bits & 0x20;
        v.has_tl0picidx = bits & 0x40;
        v.has_tid = (bits & 0x80) || v.has_tl0picidx;
        v.has_keyidx = bits & 0x100;
        v.extended = (bits & 0x200) || v.has_picture_id || v.has_tid || v.has_keyidx;
        if (v.has_picture_id) {
            v.picture_id_15bit = bits & 0x400;
            v.picture_id = (uint16_t)cq_test_rand_below(&r, v.picture_id_15bit ? 32768 : 128);
        }
        if (v.has_tl0picidx)
            v.tl0picidx = (uint8_t)cq_test_rand_u32(&r);
        if (v.has_tid || v.has_keyidx) {
            v.tid = (uint8_t)cq_test_rand_below(&r, 4);
            v.y = bits & 0x800;
            v.keyidx = (uint8_t)cq_test_rand_below(&r, 32);
        }

        uint8_t buf[CQ_VP8_DESC_MAX_SIZE + 1];
        int n = cq_vp8_desc_write(&v, buf, sizeof buf);
        if (n <= 0 || (size_t)n != cq_vp8_desc_size(&v))
            fail_msg("seed %#llx iteration %d: write returned %d", PROPERTY_SEED + 1, it, n);
        buf[n] = 0x9d; /* VP8 data */
        cq_vp8_desc_t p;
        if (cq_vp8_desc_parse(buf, (size_t)n + 1, &p) != n)
            fail_msg("seed %#llx iteration %d: parse disagrees", PROPERTY_SEED + 1, it);
        /* The outputs are the parser's to fill. */
        v.size = p.size;
        v.picture_id_offset = p.picture_id_offset;
        v.tl0picidx_offset = p.tl0picidx_offset;
        const char *diff = desc_diff(&v, &p);
        if (diff)
            fail_msg("seed %#llx iteration %d: field %s differs", PROPERTY_SEED + 1, it, diff);
    }
}

/* ---- payload header ------------------------------------------------------------------- */

/* The first ten bytes of a keyframe that libvpx 1.12 emitted for a 640x360 image, checked
 * by hand against RFC 6386 §9.1: tag 0x003350 -> P = 0 (key), VER 0, show_frame 1, first
 * partition 0x3350 >> 5 = 410 bytes; start code 9d 01 2a; width 0x0280 = 640 and height
 * 0x0168 = 360, little-endian, scale 0. */
static const uint8_t keyframe_640x360[] = {0x50, 0x33, 0x00, 0x9d, 0x01,
                                           0x2a, 0x80, 0x02, 0x68, 0x01};

static void test_vp8_frame_header_parse_keyframe_640x360(void **state) {
    (void)state;
    cq_vp8_frame_header_t h;
    assert_int_equal(cq_vp8_frame_header_parse(keyframe_640x360, sizeof keyframe_640x360, &h),
                     CQ_VP8_KEYFRAME_HEADER_SIZE);
    assert_true(h.keyframe);
    assert_int_equal(h.version, 0);
    assert_true(h.show_frame);
    assert_int_equal(h.first_partition_size, 410);
    assert_int_equal(h.width, 640);
    assert_int_equal(h.height, 360);
    assert_int_equal(h.horizontal_scale, 0);
    assert_int_equal(h.vertical_scale, 0);
}

/* The same frame behind a full descriptor, as the relay meets it. */
static void test_vp8_frame_header_parse_after_descriptor(void **state) {
    (void)state;
    uint8_t pkt[6 + sizeof keyframe_640x360];
    const uint8_t desc[] = {0x90, 0xe0, 0x80, 0x00, 0x00, 0x00};
    memcpy(pkt, desc, sizeof desc);
    memcpy(pkt + sizeof desc, keyframe_640x360, sizeof keyframe_640x360);
    cq_vp8_desc_t d;
    int n = cq_vp8_desc_parse(pkt, sizeof pkt, &d);
    assert_int_equal(n, 6);
    assert_true(cq_vp8_desc_starts_frame(&d));
    cq_vp8_frame_header_t h;
    assert_int_equal(cq_vp8_frame_header_parse(pkt + n, sizeof pkt - (size_t)n, &h), 10);
    assert_true(h.keyframe);
    assert_int_equal(h.width, 640);
}

/* The interframe libvpx emitted next: tag 0x000c11 -> P = 1, VER 0, show_frame 1, first
 * partition 0xc11 >> 5 = 96 bytes. Three bytes suffice; no dimensions. */
static void test_vp8_frame_header_parse_interframe(void **state) {
    (void)state;
    const uint8_t inter[] = {0x11, 0x0c, 0x00};
    cq_vp8_frame_header_t h;
    assert_int_equal(cq_vp8_frame_header_parse(inter, sizeof inter, &h), 3);
    assert_false(h.keyframe);
    assert_true(h.show_frame);
    assert_int_equal(h.first_partition_size, 96);
    assert_int_equal(h.width, 0);
    assert_int_equal(h.height, 0);

    /* All three size fields: Size0 = 0, Size1 = 0x2e, Size2 = 0x22 -> 8*46 + 2048*34 =
     * 70000; hidden frame (H = 0), version 5 (RFC 6386 defines only 0..3, but the field
     * has 3 bits and is reported as it is). */
    const uint8_t big[] = {0x0b, 0x2e, 0x22};
    assert_int_equal(cq_vp8_frame_header_parse(big, sizeof big, &h), 3);
    assert_false(h.keyframe);
    assert_false(h.show_frame);
    assert_int_equal(h.version, 5);
    assert_int_equal(h.first_partition_size, 70000);
}

/* Scaling bits: width word 0x4140 = scale 1, 320; height 0x80b4 = scale 2, 180. */
static void test_vp8_frame_header_parse_scale_bits(void **state) {
    (void)state;
    const uint8_t key[] = {0x10, 0x00, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x41, 0xb4, 0x80};
    cq_vp8_frame_header_t h;
    assert_int_equal(cq_vp8_frame_header_parse(key, sizeof key, &h), 10);
    assert_int_equal(h.width, 320);
    assert_int_equal(h.horizontal_scale, 1);
    assert_int_equal(h.height, 180);
    assert_int_equal(h.vertical_scale, 2);
    assert_int_equal(h.first_partition_size, 0);

    /* The largest dimensions the 14-bit fields hold. */
    const uint8_t max[] = {0x10, 0x00, 0x00, 0x9d, 0x01, 0x2a, 0xff, 0xff, 0xff, 0x3f};
    assert_int_equal(cq_vp8_frame_header_parse(max, sizeof max, &h), 10);
    assert_int_equal(h.width, 16383);
    assert_int_equal(h.horizontal_scale, 3);
    assert_int_equal(h.height, 16383);
    assert_int_equal(h.vertical_scale, 0);
}

static void test_vp8_frame_header_parse_errors(void **state) {
    (void)state;
    cq_vp8_frame_header_t h = {.width = 77};
    /* Truncated keyframe at every length. */
    for (size_t cut = 0; cut < sizeof keyframe_640x360; cut++) {
        uint8_t *in = cq_test_exact_copy(keyframe_640x360, cut);
        assert_int_equal(cq_vp8_frame_header_parse(in, cut, &h), CQ_ETRUNCATED);
        free(in);
    }
    const uint8_t inter[] = {0x11, 0x0c, 0x00};
    for (size_t cut = 0; cut < sizeof inter; cut++) {
        uint8_t *in = cq_test_exact_copy(inter, cut);
        assert_int_equal(cq_vp8_frame_header_parse(in, cut, &h), CQ_ETRUNCATED);
        free(in);
    }

    /* Each byte of the start code wrong in turn. */
    for (size_t i = 3; i < 6; i++) {
        uint8_t bad[sizeof keyframe_640x360];
        memcpy(bad, keyframe_640x360, sizeof bad);
        bad[i] ^= 0x01;
        assert_int_equal(cq_vp8_frame_header_parse(bad, sizeof bad, &h), CQ_EMALFORMED);
    }
    /* An interframe has no start code: the same bytes with P = 1 parse. */
    uint8_t inter_like[sizeof keyframe_640x360];
    memcpy(inter_like, keyframe_640x360, sizeof inter_like);
    inter_like[0] |= 1;
    inter_like[3] = 0;
    assert_int_equal(cq_vp8_frame_header_parse(inter_like, sizeof inter_like, &h), 3);

    /* Zero width (scale bits set, size 0), then zero height. */
    const uint8_t w0[] = {0x10, 0x00, 0x00, 0x9d, 0x01, 0x2a, 0x00, 0xc0, 0x68, 0x01};
    const uint8_t h0[] = {0x10, 0x00, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0x00, 0x00};
    h.width = 77;
    assert_int_equal(cq_vp8_frame_header_parse(w0, sizeof w0, &h), CQ_EMALFORMED);
    assert_int_equal(cq_vp8_frame_header_parse(h0, sizeof h0, &h), CQ_EMALFORMED);
    assert_int_equal(h.width, 77);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vp8_desc_parse_mandatory_octet_only),
        cmocka_unit_test(test_vp8_desc_parse_all_extensions_15bit),
        cmocka_unit_test(test_vp8_desc_parse_7bit_picture_id),
        cmocka_unit_test(test_vp8_desc_parse_tk_octet_shared),
        cmocka_unit_test(test_vp8_desc_parse_reserved_bits_ignored),
        cmocka_unit_test(test_vp8_desc_parse_every_combination),
        cmocka_unit_test(test_vp8_desc_parse_errors),
        cmocka_unit_test(test_vp8_desc_set_picture_id_keeps_width),
        cmocka_unit_test(test_vp8_desc_set_tl0picidx),
        cmocka_unit_test(test_vp8_desc_set_absent_or_foreign),
        cmocka_unit_test(test_vp8_desc_rewrite_property),
        cmocka_unit_test(test_vp8_desc_write_hand_built),
        cmocka_unit_test(test_vp8_desc_write_errors),
        cmocka_unit_test(test_vp8_desc_write_parse_property),
        cmocka_unit_test(test_vp8_frame_header_parse_keyframe_640x360),
        cmocka_unit_test(test_vp8_frame_header_parse_after_descriptor),
        cmocka_unit_test(test_vp8_frame_header_parse_interframe),
        cmocka_unit_test(test_vp8_frame_header_parse_scale_bits),
        cmocka_unit_test(test_vp8_frame_header_parse_errors),
    };
    return cmocka_run_group_tests_name("codec/vp8_desc", tests, NULL, NULL);
}
