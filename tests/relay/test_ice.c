#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "relay/ice.h"
#include "rtp/error.h"

static const char *relay_ufrag = "r3lay";
static const char *relay_pwd = "relay-password-1234567";

typedef struct {
    bool username, integrity, fingerprint, controlled, use_candidate;
    uint16_t unknown_attr; /* a comprehension-required type the relay does not know, or 0 */
    const char *pwd;
} req_opts_t;

/* A Binding request as chasqui's client (or a browser) sends it. */
static size_t build_request(uint8_t *buf, size_t cap, const req_opts_t *o) {
    static const uint8_t tid[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    cq_stun_writer_t w;
    assert_true(
        cq_stun_writer_init(&w, buf, cap, CQ_STUN_METHOD_BINDING, CQ_STUN_CLASS_REQUEST, tid) >= 0);
    if (o->username)
        assert_true(cq_stun_add_username(&w, "r3lay:cl1ent", 12) >= 0);
    assert_true(cq_stun_add_priority(&w, 0x6e0001ff) >= 0);
    if (o->controlled)
        assert_true(cq_stun_add_ice_controlled(&w, 42) >= 0);
    else
        assert_true(cq_stun_add_ice_controlling(&w, 42) >= 0);
    if (o->use_candidate)
        assert_true(cq_stun_add_use_candidate(&w) >= 0);
    if (o->unknown_attr)
        assert_true(cq_stun_add_attr(&w, o->unknown_attr, "abcd", 4) >= 0);
    if (o->integrity)
        assert_true(cq_stun_add_message_integrity(&w, (const uint8_t *)o->pwd, strlen(o->pwd)) >=
                    0);
    if (o->fingerprint)
        assert_true(cq_stun_add_fingerprint(&w) >= 0);
    return cq_stun_writer_len(&w);
}

static const req_opts_t good = {.username = true,
                                .integrity = true,
                                .fingerprint = true,
                                .use_candidate = true,
                                .pwd = "relay-password-1234567"};

static void check(const uint8_t *req, size_t len, cq_stun_view_t *v, const char *pwd,
                  cq_ice_result_t *r) {
    assert_int_equal(cq_stun_parse(req, len, v), (int)len);
    cq_ice_check(req, len, v, pwd, pwd ? strlen(pwd) : 0, r);
}

static void test_ice_check_authenticated_request_succeeds(void **state) {
    (void)state;
    uint8_t req[256], resp[256];
    size_t len = build_request(req, sizeof req, &good);
    cq_stun_view_t v;
    assert_int_equal(cq_stun_parse(req, len, &v), (int)len);
    const char *ufrag;
    size_t ufrag_len;
    assert_int_equal(cq_ice_request_ufrag(&v, &ufrag, &ufrag_len), 0);
    assert_int_equal(ufrag_len, strlen(relay_ufrag));
    assert_memory_equal(ufrag, relay_ufrag, ufrag_len);

    cq_ice_result_t r;
    cq_ice_check(req, len, &v, relay_pwd, strlen(relay_pwd), &r);
    assert_int_equal(r.verdict, CQ_ICE_SUCCESS);
    assert_true(r.nominated);
    assert_true(r.authenticated);
    assert_int_equal(r.priority, 0x6e0001ff);

    /* The answer echoes the transaction, names the address seen, and the client can check
     * it with the same password. */
    cq_udp_addr_t from;
    assert_int_equal(cq_udp_addr_parse(&from, "2001:db8::5", 50123), 0);
    int n = cq_ice_write_success(&v, &from, relay_pwd, strlen(relay_pwd), resp, sizeof resp);
    assert_true(n > 0);
    cq_stun_view_t rv;
    assert_int_equal(cq_stun_parse(resp, (size_t)n, &rv), n);
    assert_int_equal(rv.cls, CQ_STUN_CLASS_SUCCESS);
    assert_memory_equal(rv.tid, v.tid, CQ_STUN_TID_SIZE);
    assert_int_equal(cq_stun_check_integrity(resp, (size_t)n, &rv, (const uint8_t *)relay_pwd,
                                             strlen(relay_pwd)),
                     0);
    assert_int_equal(cq_stun_check_fingerprint(resp, (size_t)n, &rv), 0);
    cq_udp_addr_t mapped;
    cq_ice_addr_from_stun(&rv.xor_mapped_address, &mapped);
    assert_true(cq_udp_addr_equal(&mapped, &from));
    assert_int_equal(cq_ice_write_success(&v, &from, relay_pwd, strlen(relay_pwd), resp, 30),
                     CQ_ENOBUFS);
}

/* Consent refreshes without USE-CANDIDATE authenticate but do not nominate. */
static void test_ice_check_without_use_candidate_is_not_nominated(void **state) {
    (void)state;
    uint8_t req[256];
    req_opts_t o = good;
    o.use_candidate = false;
    o.fingerprint = false; /* FINGERPRINT is optional to STUN; its absence is no error */
    size_t len = build_request(req, sizeof req, &o);
    cq_stun_view_t v;
    cq_ice_result_t r;
    check(req, len, &v, relay_pwd, &r);
    assert_int_equal(r.verdict, CQ_ICE_SUCCESS);
    assert_false(r.nominated);
}

/* Wrong password or unknown ufrag: 401, and the answer carries no MESSAGE-INTEGRITY (the
 * relay cannot prove anything to someone it does not know) and is no larger than the
 * request. */
static void test_ice_check_wrong_credentials_answer_401(void **state) {
    (void)state;
    uint8_t req[256], resp[256];
    size_t len = build_request(req, sizeof req, &good);
    cq_stun_view_t v;
    cq_ice_result_t r;
    const char *pwds[] = {"not-the-password", NULL};
    for (int i = 0; i < 2; i++) {
        check(req, len, &v, pwds[i], &r);
        assert_int_equal(r.verdict, CQ_ICE_ERROR);
        assert_int_equal(r.error_code, 401);
        assert_false(r.authenticated);
        int n = cq_ice_write_error(&v, &r, relay_pwd, strlen(relay_pwd), resp, sizeof resp);
        assert_true(n > 0);
        assert_true((size_t)n <= len);
        cq_stun_view_t rv;
        assert_int_equal(cq_stun_parse(resp, (size_t)n, &rv), n);
        assert_int_equal(rv.cls, CQ_STUN_CLASS_ERROR);
        assert_int_equal(rv.error_code, 401);
        assert_false(rv.attrs & CQ_STUN_HAS_MESSAGE_INTEGRITY);
        assert_int_equal(cq_stun_check_fingerprint(resp, (size_t)n, &rv), 0);
    }
}

static void test_ice_check_controlled_client_is_role_conflict(void **state) {
    (void)state;
    uint8_t req[256], resp[256];
    req_opts_t o = good;
    o.controlled = true;
    size_t len = build_request(req, sizeof req, &o);
    cq_stun_view_t v;
    cq_ice_result_t r;
    check(req, len, &v, relay_pwd, &r);
    assert_int_equal(r.verdict, CQ_ICE_ERROR);
    assert_int_equal(r.error_code, 487);
    int n = cq_ice_write_error(&v, &r, relay_pwd, strlen(relay_pwd), resp, sizeof resp);
    cq_stun_view_t rv;
    assert_int_equal(cq_stun_parse(resp, (size_t)n, &rv), n);
    assert_int_equal(rv.error_code, 487);
    /* Authenticated, so the error is signed and the client may believe it. */
    assert_int_equal(cq_stun_check_integrity(resp, (size_t)n, &rv, (const uint8_t *)relay_pwd,
                                             strlen(relay_pwd)),
                     0);
}

static void test_ice_check_unknown_required_attribute_is_420(void **state) {
    (void)state;
    uint8_t req[256], resp[256];
    req_opts_t o = good;
    o.unknown_attr = 0x0031;
    size_t len = build_request(req, sizeof req, &o);
    cq_stun_view_t v;
    cq_ice_result_t r;
    check(req, len, &v, relay_pwd, &r);
    assert_int_equal(r.verdict, CQ_ICE_ERROR);
    assert_int_equal(r.error_code, 420);
    int n = cq_ice_write_error(&v, &r, relay_pwd, strlen(relay_pwd), resp, sizeof resp);
    cq_stun_view_t rv;
    assert_int_equal(cq_stun_parse(resp, (size_t)n, &rv), n);
    assert_int_equal(rv.error_code, 420);
    assert_int_equal(rv.unknown_attributes_count, 1);
    assert_int_equal(cq_stun_view_unknown_attribute(&rv, 0), 0x0031);
    assert_int_equal(cq_ice_write_error(&v, &r, relay_pwd, strlen(relay_pwd), resp, 24),
                     CQ_ENOBUFS);
}

/* What the relay never answers: unauthenticated shapes, bad fingerprints, other classes. */
static void test_ice_check_drops_what_it_must_not_answer(void **state) {
    (void)state;
    uint8_t req[256];
    cq_stun_view_t v;
    cq_ice_result_t r;
    const char *ufrag;
    size_t ufrag_len;

    req_opts_t o = good;
    o.integrity = false;
    size_t len = build_request(req, sizeof req, &o);
    check(req, len, &v, relay_pwd, &r);
    assert_int_equal(r.verdict, CQ_ICE_DROP);
    assert_int_equal(cq_ice_request_ufrag(&v, &ufrag, &ufrag_len), CQ_EINVAL);

    o = good;
    o.username = false;
    len = build_request(req, sizeof req, &o);
    check(req, len, &v, relay_pwd, &r);
    assert_int_equal(r.verdict, CQ_ICE_DROP);

    /* A FINGERPRINT that does not match: not STUN, silence. The tampered byte is inside
     * FINGERPRINT's value, so the message still parses. */
    len = build_request(req, sizeof req, &good);
    req[len - 1] ^= 1;
    check(req, len, &v, relay_pwd, &r);
    assert_int_equal(r.verdict, CQ_ICE_DROP);

    /* A success response sent to the relay is not a request. */
    static const uint8_t tid[12] = {0};
    cq_stun_writer_t w;
    assert_true(cq_stun_writer_init(&w, req, sizeof req, CQ_STUN_METHOD_BINDING,
                                    CQ_STUN_CLASS_SUCCESS, tid) >= 0);
    assert_true(cq_stun_add_username(&w, "r3lay:cl1ent", 12) >= 0);
    assert_true(cq_stun_add_message_integrity(&w, (const uint8_t *)relay_pwd, strlen(relay_pwd)) >=
                0);
    len = cq_stun_writer_len(&w);
    check(req, len, &v, relay_pwd, &r);
    assert_int_equal(r.verdict, CQ_ICE_DROP);
    assert_int_equal(cq_ice_request_ufrag(&v, &ufrag, &ufrag_len), CQ_EINVAL);
}

static void test_ice_request_ufrag_needs_colon(void **state) {
    (void)state;
    uint8_t req[256];
    static const uint8_t tid[12] = {0};
    cq_stun_writer_t w;
    assert_true(cq_stun_writer_init(&w, req, sizeof req, CQ_STUN_METHOD_BINDING,
                                    CQ_STUN_CLASS_REQUEST, tid) >= 0);
    assert_true(cq_stun_add_username(&w, "nocolon", 7) >= 0);
    assert_true(cq_stun_add_message_integrity(&w, (const uint8_t *)"k", 1) >= 0);
    size_t len = cq_stun_writer_len(&w);
    cq_stun_view_t v;
    assert_int_equal(cq_stun_parse(req, len, &v), (int)len);
    const char *ufrag;
    size_t ufrag_len;
    assert_int_equal(cq_ice_request_ufrag(&v, &ufrag, &ufrag_len), CQ_EMALFORMED);
}

static void test_ice_addr_conversion_round_trips(void **state) {
    (void)state;
    const char *ips[] = {"192.0.2.1", "2001:db8:1234:5678:11:2233:4455:6677"};
    for (int i = 0; i < 2; i++) {
        cq_udp_addr_t a, b;
        cq_stun_addr_t s;
        assert_int_equal(cq_udp_addr_parse(&a, ips[i], 32853), 0);
        cq_ice_addr_to_stun(&a, &s);
        assert_int_equal(s.family, i == 0 ? CQ_STUN_FAMILY_IPV4 : CQ_STUN_FAMILY_IPV6);
        assert_int_equal(s.port, 32853);
        cq_ice_addr_from_stun(&s, &b);
        assert_true(cq_udp_addr_equal(&a, &b));
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ice_check_authenticated_request_succeeds),
        cmocka_unit_test(test_ice_check_without_use_candidate_is_not_nominated),
        cmocka_unit_test(test_ice_check_wrong_credentials_answer_401),
        cmocka_unit_test(test_ice_check_controlled_client_is_role_conflict),
        cmocka_unit_test(test_ice_check_unknown_required_attribute_is_420),
        cmocka_unit_test(test_ice_check_drops_what_it_must_not_answer),
        cmocka_unit_test(test_ice_request_ufrag_needs_colon),
        cmocka_unit_test(test_ice_addr_conversion_round_trips),
    };
    return cmocka_run_group_tests_name("relay/ice", tests, NULL, NULL);
}
