/*
 * The client's ICE checks against the relay's own answering code (relay/ice.h): a check
 * with the right password is answered with the address it came from; a wrong password is
 * a 401; a damaged or foreign answer is never taken for the relay's.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "client/ice_check.h"
#include "relay/ice.h"
#include "rtp/error.h"

static const cq_ice_check_config_t cfg = {.relay_ufrag = "Rk3x9aQ2",
                                          .relay_pwd = "relay-password-0123456789ab",
                                          .local_ufrag = "tc",
                                          .tie_breaker = 42};
static const uint8_t tid[CQ_STUN_TID_SIZE] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};

/* The relay's answer to request req, as it would send it, given its password for the
 * ufrag (NULL: unknown). */
static size_t relay_answer(const uint8_t *req, size_t len, const char *pwd, uint8_t *out,
                           size_t cap) {
    cq_stun_view_t v;
    assert_true(cq_stun_parse(req, len, &v) > 0);
    const char *ufrag;
    size_t ulen;
    assert_int_equal(cq_ice_request_ufrag(&v, &ufrag, &ulen), 0);
    assert_int_equal(ulen, strlen(cfg.relay_ufrag));
    cq_ice_result_t res;
    cq_ice_check(req, len, &v, pwd, pwd ? strlen(pwd) : 0, &res);
    cq_udp_addr_t from = {.family = 4,
                          .port = 53000,
                          .ip = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 198, 51, 100, 7}};
    int n = res.verdict == CQ_ICE_ERROR
                ? cq_ice_write_error(&v, &res, pwd, pwd ? strlen(pwd) : 0, out, cap)
                : cq_ice_write_success(&v, &from, pwd, strlen(pwd), out, cap);
    assert_true(n > 0);
    return (size_t)n;
}

static void test_ice_check_answered(void **state) {
    (void)state;
    uint8_t req[256], ans[256];
    int n = cq_ice_check_write(&cfg, tid, true, req, sizeof req);
    assert_true(n > 0);
    cq_stun_view_t v;
    assert_true(cq_stun_parse(req, (size_t)n, &v) > 0);
    assert_true(v.attrs & CQ_STUN_HAS_USE_CANDIDATE);
    size_t a = relay_answer(req, (size_t)n, cfg.relay_pwd, ans, sizeof ans);
    cq_stun_addr_t mapped;
    memset(&mapped, 0, sizeof mapped);
    assert_int_equal(cq_ice_check_answer(&cfg, tid, ans, a, &mapped), 0);
    assert_int_equal(mapped.port, 53000);
    /* The relay's answer to another transaction is not this one's. */
    uint8_t other[CQ_STUN_TID_SIZE] = {9};
    assert_int_equal(cq_ice_check_answer(&cfg, other, ans, a, &mapped), CQ_ENOENT);
    /* A damaged answer: the fingerprint fails, and nothing is taken from it. */
    ans[a - 10] ^= 0x40;
    assert_int_equal(cq_ice_check_answer(&cfg, tid, ans, a, &mapped), CQ_EAUTH);
    /* Media or garbage is not an answer at all. */
    static const uint8_t rtp[12] = {0x80, 111};
    assert_int_equal(cq_ice_check_answer(&cfg, tid, rtp, sizeof rtp, &mapped), CQ_ENOENT);
}

static void test_ice_check_refused(void **state) {
    (void)state;
    uint8_t req[256], ans[256];
    int n = cq_ice_check_write(&cfg, tid, false, req, sizeof req);
    assert_true(n > 0);
    /* The relay knows the ufrag with another password: 401. */
    size_t a = relay_answer(req, (size_t)n, "another-password-for-this-one", ans, sizeof ans);
    assert_int_equal(cq_ice_check_answer(&cfg, tid, ans, a, NULL), -401);
    /* A success answer keyed with another password is not the relay's. */
    a = relay_answer(req, (size_t)n, cfg.relay_pwd, ans, sizeof ans);
    cq_ice_check_config_t wrong = cfg;
    wrong.relay_pwd = "not-the-password-0123456789";
    assert_int_equal(cq_ice_check_answer(&wrong, tid, ans, a, NULL), CQ_EAUTH);
    /* Credentials too long for a USERNAME: refused at writing. */
    char ufrag[200];
    memset(ufrag, 'u', sizeof ufrag - 1);
    ufrag[sizeof ufrag - 1] = '\0';
    cq_ice_check_config_t long_cfg = cfg;
    long_cfg.relay_ufrag = ufrag;
    assert_int_equal(cq_ice_check_write(&long_cfg, tid, true, req, sizeof req), CQ_EINVAL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ice_check_answered),
        cmocka_unit_test(test_ice_check_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
