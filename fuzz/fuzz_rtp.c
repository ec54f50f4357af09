/*
 * Fuzz target for the RTP header (rtp/rtp.h) and the extension payloads (rtp/rtpext.h).
 *
 * Any bytes must either fail to parse with a negative code, or give a view that accounts
 * for every byte; then every extension element is iterated and looked up, every element
 * value is fed to every extension parser (and what parses is written back and compared),
 * the fixed fields and each element value are rewritten in place on a copy, and the header
 * is rebuilt from the view with the builder: parsing the rebuilt packet must give the same
 * fields, payload, padding and extension elements. Any mismatch aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rtp/rtp.h"
#include "rtp/rtpext.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* More elements than this (possible only in inputs far larger than libFuzzer's default
 * max_len) are iterated but not rebuilt. */
#define MAX_ELEMENTS 4096

static cq_rtp_ext_t elements[MAX_ELEMENTS];
/* is_first[i]: no element before i has the same id (only those are reachable by id). */
static uint8_t is_first[MAX_ELEMENTS];

static void check(int ok) {
    if (!ok)
        abort();
}

/* Every extension parser on one value; what parses must write back to the same bytes. */
static void check_payload_parsers(const cq_rtp_ext_t *e) {
    uint8_t buf[CQ_RTPEXT_SDES_MAX + 1];
    char s[CQ_RTPEXT_SDES_MAX + 1];

    cq_rtpext_audio_level_t al;
    if (cq_rtpext_audio_level_parse(e->data, e->len, &al) == 0) {
        check(al.level <= CQ_RTPEXT_AUDIO_LEVEL_MAX);
        check(cq_rtpext_audio_level_write(&al, buf, sizeof buf) == 1 && buf[0] == e->data[0]);
    }
    uint16_t seq;
    if (cq_rtpext_transport_cc_parse(e->data, e->len, &seq) == 0)
        check(cq_rtpext_transport_cc_write(seq, buf, sizeof buf) == 2 &&
              memcmp(buf, e->data, 2) == 0);
    uint32_t ast;
    if (cq_rtpext_abs_send_time_parse(e->data, e->len, &ast) == 0) {
        check(cq_rtpext_abs_send_time_write(ast, buf, sizeof buf) == 3 &&
              memcmp(buf, e->data, 3) == 0);
        check(cq_rtpext_abs_send_time_from_us(cq_rtpext_abs_send_time_to_us(ast)) == ast);
    }
    int n = cq_rtpext_mid_parse(e->data, e->len, s, sizeof s);
    if (n > 0) {
        check((size_t)n <= e->len && strlen(s) == (size_t)n);
        check(cq_rtpext_mid_write(s, buf, sizeof buf) == n && memcmp(buf, e->data, (size_t)n) == 0);
    }
    n = cq_rtpext_rid_parse(e->data, e->len, s, sizeof s);
    if (n > 0) {
        check((size_t)n <= e->len && strlen(s) == (size_t)n);
        check(cq_rtpext_rid_write(s, buf, sizeof buf) == n && memcmp(buf, e->data, (size_t)n) == 0);
    }
}

static int same_element(const cq_rtp_ext_t *a, const cq_rtp_ext_t *b) {
    return a->id == b->id && a->len == b->len &&
           (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

static int first_of_its_id(size_t i) {
    return is_first[i];
}

static void reverse(const cq_rtp_ext_t *e, uint8_t *out) {
    for (size_t k = 0; k < e->len; k++)
        out[k] = e->data[e->len - 1 - k];
}

/* The fixed-field setters and the element rewriter on a copy: the copy must parse to the
 * new values with the same layout. */
static void check_rewrites(const cq_rtp_view_t *v, const uint8_t *data, size_t size, size_t count) {
    uint8_t *copy = malloc(size);
    check(copy != NULL);
    memcpy(copy, data, size);
    const uint16_t new_seq = (uint16_t)~v->seq;
    cq_rtp_set_seq(copy, new_seq);
    cq_rtp_set_timestamp(copy, ~v->timestamp);
    cq_rtp_set_ssrc(copy, ~v->ssrc);
    cq_rtp_set_payload_type(copy, (uint8_t)(127 - v->payload_type));
    cq_rtp_set_marker(copy, !v->marker);
    for (size_t i = 0; i < count; i++) {
        if (!first_of_its_id(i))
            continue; /* only the first element of an id is reachable by id */
        uint8_t rev[255];
        reverse(&elements[i], rev);
        check(cq_rtp_ext_rewrite(copy, v, elements[i].id, rev, elements[i].len) == 0);
        if (elements[i].len < 255)
            check(cq_rtp_ext_rewrite(copy, v, elements[i].id, rev, elements[i].len + 1u) < 0);
    }
    cq_rtp_view_t w;
    check(cq_rtp_parse(copy, size, &w) == (int)v->header_len);
    check(w.seq == new_seq && w.timestamp == ~v->timestamp && w.ssrc == ~v->ssrc &&
          w.payload_type == 127 - v->payload_type && w.marker == !v->marker &&
          w.payload_len == v->payload_len && w.padding_len == v->padding_len &&
          w.ext_form == v->ext_form && w.csrc_count == v->csrc_count);
    for (size_t i = 0; i < count; i++) {
        if (!first_of_its_id(i))
            continue;
        uint8_t rev[255];
        reverse(&elements[i], rev);
        const uint8_t *d;
        size_t len;
        check(cq_rtp_ext_find(&w, elements[i].id, &d, &len) == 0 && len == elements[i].len &&
              (len == 0 || memcmp(d, rev, len) == 0));
    }
    free(copy);
}

/* Rebuilds the packet from the view with the builder and checks it parses the same. */
static void check_rebuild(const cq_rtp_view_t *v, size_t size, size_t count) {
    cq_rtp_header_t h;
    cq_rtp_header_from_view(v, &h);
    /* An opaque block cannot be expressed as elements: rebuild without it. */
    size_t n = v->ext_form == CQ_RTP_EXT_OPAQUE ? 0 : count;

    /* The rebuilt header is never longer than the original (same CSRCs, a block with no
     * more padding than before, or none), so the original size is enough. */
    uint8_t *out = malloc(size);
    check(out != NULL);
    int hl = cq_rtp_header_write(&h, elements, n, out, size);
    check(hl > 0 && (size_t)hl <= v->header_len && hl == cq_rtp_header_size(&h, elements, n));
    if (v->payload_len)
        memcpy(out + hl, v->payload, v->payload_len);
    size_t len = (size_t)hl + v->payload_len;
    if (v->padding_len) {
        int total = cq_rtp_padding_append(out, len, size, v->padding_len);
        check(total == (int)(len + v->padding_len));
        len = (size_t)total;
    }

    cq_rtp_view_t w;
    check(cq_rtp_parse(out, len, &w) == hl);
    check(w.payload_type == v->payload_type && w.marker == v->marker && w.seq == v->seq &&
          w.timestamp == v->timestamp && w.ssrc == v->ssrc && w.csrc_count == v->csrc_count &&
          w.padding == v->padding && w.padding_len == v->padding_len &&
          w.payload_len == v->payload_len && w.extension == (n > 0));
    check(memcmp(w.csrc, v->csrc, 4u * v->csrc_count) == 0);
    check(v->payload_len == 0 || memcmp(w.payload, v->payload, v->payload_len) == 0);
    if (v->ext_form == CQ_RTP_EXT_ONE_BYTE && n > 0)
        check(w.ext_form == CQ_RTP_EXT_ONE_BYTE);

    cq_rtp_ext_iter_t it;
    cq_rtp_ext_t e;
    cq_rtp_ext_iter_init(&it, &w);
    for (size_t i = 0; i < n; i++)
        check(cq_rtp_ext_iter_next(&it, &e) == 1 && same_element(&e, &elements[i]));
    check(cq_rtp_ext_iter_next(&it, &e) == 0);
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    cq_rtp_view_t v;
    int hl = cq_rtp_parse(data, size, &v);
    if (hl < 0)
        return 0;

    check(hl >= 12 && v.header_len == (size_t)hl && v.pkt == data && v.pkt_len == size);
    check(v.header_len + v.payload_len + v.padding_len == size);
    check(v.payload == data + hl && v.padding == (v.padding_len > 0));
    check(v.extension == (v.ext_form != CQ_RTP_EXT_NONE) && v.ext_len % 4 == 0);

    /* Every element: the iterator cannot fail on a parsed view. */
    cq_rtp_ext_iter_t it;
    cq_rtp_ext_t e;
    size_t count = 0;
    size_t first_index[256]; /* per id, the index of its first element, or SIZE_MAX */
    for (unsigned id = 0; id < 256; id++)
        first_index[id] = SIZE_MAX;
    int rc;
    cq_rtp_ext_iter_init(&it, &v);
    while ((rc = cq_rtp_ext_iter_next(&it, &e)) == 1) {
        check(e.id != 0 && e.data >= v.ext_data && e.data + e.len <= v.ext_data + v.ext_len);
        if (v.ext_form == CQ_RTP_EXT_ONE_BYTE)
            check(e.id <= 14 && e.len >= 1 && e.len <= 16);
        check_payload_parsers(&e);
        if (count < MAX_ELEMENTS) {
            elements[count] = e;
            is_first[count] = first_index[e.id] == SIZE_MAX;
        }
        if (first_index[e.id] == SIZE_MAX)
            first_index[e.id] = count;
        count++;
    }
    check(rc == 0);

    /* Every id: find gives the first element with that id, or nothing if none has it. */
    for (unsigned id = 0; id < 256; id++) {
        const uint8_t *d;
        size_t len;
        int found = cq_rtp_ext_find(&v, (uint8_t)id, &d, &len);
        size_t first = first_index[id];
        if (first == SIZE_MAX)
            check(found < 0);
        else if (first < MAX_ELEMENTS)
            check(found == 0 && d == elements[first].data && len == elements[first].len);
        else
            check(found == 0);
    }

    if (count <= MAX_ELEMENTS) {
        check_rewrites(&v, data, size, count);
        check_rebuild(&v, size, count);
    }
    return 0;
}
