/*
 * Fuzz target for STUN, the parser every unknown address on the relay's port can reach.
 *
 * Any bytes must parse to a self-consistent view or fail with one of the parser's
 * documented codes, and both checks must run on them with a fixed key without touching
 * memory outside the input. When a message parses, it is written again from its view with
 * the writer (same attributes, MESSAGE-INTEGRITY under the fixed key, FINGERPRINT when the
 * original had one) and the copy must parse to the same fields and pass both checks:
 * parse -> write -> parse is the identity on what the view describes. Any mismatch
 * abort()s, which libFuzzer reports as a crash.
 *
 * The seeds in fuzz/corpus/stun/ that carry MESSAGE-INTEGRITY under this key (the chasqui
 * request and answers) let the fuzzer reach the "integrity passes" path too.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rtp/error.h"
#include "rtp/stun.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t fuzz_key[] = "chasqui-relay-ice-pwd-0001";
#define FUZZ_KEY_LEN (sizeof fuzz_key - 1)

static void require(bool ok) {
    if (!ok)
        abort();
}

/* Bytes a view's pointer refers to must lie inside the message it was parsed from. */
static bool inside(const uint8_t *msg, size_t len, const void *p, size_t n) {
    const uint8_t *q = p;
    return q >= msg && q <= msg + len && n <= (size_t)(msg + len - q);
}

static void check_view_bounds(const uint8_t *msg, size_t len, const cq_stun_view_t *v) {
    require(v->len == len && v->tid == msg + 8);
    if (v->attrs & CQ_STUN_HAS_USERNAME)
        require(inside(msg, len, v->username, v->username_len) &&
                v->username_len <= CQ_STUN_MAX_USERNAME);
    if (v->attrs & CQ_STUN_HAS_SOFTWARE)
        require(inside(msg, len, v->software, v->software_len));
    if (v->attrs & CQ_STUN_HAS_REALM)
        require(inside(msg, len, v->realm, v->realm_len));
    if (v->attrs & CQ_STUN_HAS_NONCE)
        require(inside(msg, len, v->nonce, v->nonce_len));
    if (v->attrs & CQ_STUN_HAS_ERROR_CODE)
        require(inside(msg, len, v->error_reason, v->error_reason_len) && v->error_code >= 300 &&
                v->error_code <= 699);
    if (v->attrs & CQ_STUN_HAS_UNKNOWN_ATTRIBUTES)
        require(inside(msg, len, v->unknown_attributes, 2u * v->unknown_attributes_count));
    if (v->attrs & CQ_STUN_HAS_MESSAGE_INTEGRITY)
        require(v->integrity_offset >= CQ_STUN_HEADER_SIZE && v->integrity_offset % 4 == 0 &&
                v->integrity_offset + CQ_STUN_INTEGRITY_ATTR_SIZE <= len);
    if (v->attrs & CQ_STUN_HAS_FINGERPRINT)
        require(v->fingerprint_offset + CQ_STUN_FINGERPRINT_ATTR_SIZE == len);
    if ((v->attrs & CQ_STUN_HAS_MESSAGE_INTEGRITY) && (v->attrs & CQ_STUN_HAS_FINGERPRINT))
        require(v->integrity_offset < v->fingerprint_offset);
    require(!((v->attrs & CQ_STUN_HAS_ICE_CONTROLLING) && (v->attrs & CQ_STUN_HAS_ICE_CONTROLLED)));
    require(v->unknown_required_count <= CQ_STUN_MAX_UNKNOWN);
}

/* Writes the message *v describes into buf; returns the writer's first error. */
static int rebuild(const cq_stun_view_t *v, uint8_t *buf, size_t cap, size_t *len) {
    cq_stun_writer_t w;
    int rc = cq_stun_writer_init(&w, buf, cap, v->method, v->cls, v->tid);
    uint32_t a = v->attrs;
    if (rc == 0 && (a & CQ_STUN_HAS_SOFTWARE))
        rc = cq_stun_add_software(&w, v->software, v->software_len);
    if (rc == 0 && (a & CQ_STUN_HAS_USERNAME))
        rc = cq_stun_add_username(&w, v->username, v->username_len);
    if (rc == 0 && (a & CQ_STUN_HAS_REALM))
        rc = cq_stun_add_realm(&w, v->realm, v->realm_len);
    if (rc == 0 && (a & CQ_STUN_HAS_NONCE))
        rc = cq_stun_add_nonce(&w, v->nonce, v->nonce_len);
    if (rc == 0 && (a & CQ_STUN_HAS_PRIORITY))
        rc = cq_stun_add_priority(&w, v->priority);
    if (rc == 0 && (a & CQ_STUN_HAS_ICE_CONTROLLING))
        rc = cq_stun_add_ice_controlling(&w, v->tie_breaker);
    if (rc == 0 && (a & CQ_STUN_HAS_ICE_CONTROLLED))
        rc = cq_stun_add_ice_controlled(&w, v->tie_breaker);
    if (rc == 0 && (a & CQ_STUN_HAS_USE_CANDIDATE))
        rc = cq_stun_add_use_candidate(&w);
    if (rc == 0 && (a & CQ_STUN_HAS_XOR_MAPPED_ADDRESS))
        rc = cq_stun_add_xor_mapped_address(&w, &v->xor_mapped_address);
    if (rc == 0 && (a & CQ_STUN_HAS_ERROR_CODE))
        rc = cq_stun_add_error_code(&w, v->error_code, v->error_reason, v->error_reason_len);
    if (rc == 0 && (a & CQ_STUN_HAS_UNKNOWN_ATTRIBUTES)) {
        static uint16_t types[0x7FFF];
        for (unsigned i = 0; i < v->unknown_attributes_count; i++)
            types[i] = cq_stun_view_unknown_attribute(v, i);
        rc = cq_stun_add_unknown_attributes(&w, types, v->unknown_attributes_count);
    }
    /* The unknown required attributes go back with empty values: only their types are in
     * the view, and only their types (in order) are compared. */
    for (unsigned i = 0; rc == 0 && i < v->unknown_required_count; i++)
        rc = cq_stun_add_attr(&w, v->unknown_required[i], NULL, 0);
    if (rc == 0 && (a & CQ_STUN_HAS_MESSAGE_INTEGRITY))
        rc = cq_stun_add_message_integrity(&w, fuzz_key, FUZZ_KEY_LEN);
    if (rc == 0 && (a & CQ_STUN_HAS_FINGERPRINT))
        rc = cq_stun_add_fingerprint(&w);
    *len = cq_stun_writer_len(&w);
    return rc;
}

static bool same_text(const char *a, uint16_t a_len, const char *b, uint16_t b_len) {
    return a_len == b_len && (a_len == 0 || memcmp(a, b, a_len) == 0);
}

/* Every field the view describes, offsets aside (they depend on attribute order). */
static bool same_fields(const cq_stun_view_t *x, const cq_stun_view_t *y) {
    uint32_t a = x->attrs;
    if (a != y->attrs || x->method != y->method || x->cls != y->cls ||
        memcmp(x->tid, y->tid, CQ_STUN_TID_SIZE) != 0)
        return false;
    if ((a & CQ_STUN_HAS_USERNAME) &&
        !same_text(x->username, x->username_len, y->username, y->username_len))
        return false;
    if ((a & CQ_STUN_HAS_SOFTWARE) &&
        !same_text(x->software, x->software_len, y->software, y->software_len))
        return false;
    if ((a & CQ_STUN_HAS_REALM) && !same_text(x->realm, x->realm_len, y->realm, y->realm_len))
        return false;
    if ((a & CQ_STUN_HAS_NONCE) && !same_text(x->nonce, x->nonce_len, y->nonce, y->nonce_len))
        return false;
    if ((a & CQ_STUN_HAS_PRIORITY) && x->priority != y->priority)
        return false;
    if ((a & (CQ_STUN_HAS_ICE_CONTROLLING | CQ_STUN_HAS_ICE_CONTROLLED)) &&
        x->tie_breaker != y->tie_breaker)
        return false;
    if ((a & CQ_STUN_HAS_XOR_MAPPED_ADDRESS) &&
        (x->xor_mapped_address.family != y->xor_mapped_address.family ||
         x->xor_mapped_address.port != y->xor_mapped_address.port ||
         memcmp(x->xor_mapped_address.addr, y->xor_mapped_address.addr, 16) != 0))
        return false;
    if ((a & CQ_STUN_HAS_ERROR_CODE) &&
        (x->error_code != y->error_code ||
         !same_text(x->error_reason, x->error_reason_len, y->error_reason, y->error_reason_len)))
        return false;
    if ((a & CQ_STUN_HAS_UNKNOWN_ATTRIBUTES) &&
        (x->unknown_attributes_count != y->unknown_attributes_count ||
         (x->unknown_attributes_count > 0 && memcmp(x->unknown_attributes, y->unknown_attributes,
                                                    2u * x->unknown_attributes_count) != 0)))
        return false;
    if (x->unknown_required_count != y->unknown_required_count ||
        memcmp(x->unknown_required, y->unknown_required,
               sizeof x->unknown_required[0] * x->unknown_required_count) != 0)
        return false;
    return true;
}

static uint8_t rebuilt[CQ_STUN_MAX_MESSAGE_SIZE];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    cq_stun_view_t v;
    int n = cq_stun_parse(data, size, &v);
    if (n < 0) {
        require(n == CQ_ETRUNCATED || n == CQ_EMALFORMED || n == CQ_EVERSION);
        return 0;
    }
    require((size_t)n == size);
    check_view_bounds(data, size, &v);

    int rc = cq_stun_check_integrity(data, size, &v, fuzz_key, FUZZ_KEY_LEN);
    require(rc == 0 || rc == CQ_EAUTH ||
            (rc == CQ_ENOENT && !(v.attrs & CQ_STUN_HAS_MESSAGE_INTEGRITY)));
    rc = cq_stun_check_fingerprint(data, size, &v);
    require(rc == 0 || rc == CQ_EMALFORMED ||
            (rc == CQ_ENOENT && !(v.attrs & CQ_STUN_HAS_FINGERPRINT)));

    /* Whatever the parser accepts, the writer can write back, never longer. */
    size_t len = 0;
    require(rebuild(&v, rebuilt, sizeof rebuilt, &len) == 0);
    require(len <= size);
    cq_stun_view_t again;
    require(cq_stun_parse(rebuilt, len, &again) == (int)len);
    require(same_fields(&v, &again));
    if (again.attrs & CQ_STUN_HAS_MESSAGE_INTEGRITY)
        require(cq_stun_check_integrity(rebuilt, len, &again, fuzz_key, FUZZ_KEY_LEN) == 0);
    if (again.attrs & CQ_STUN_HAS_FINGERPRINT)
        require(cq_stun_check_fingerprint(rebuilt, len, &again) == 0);
    return 0;
}
