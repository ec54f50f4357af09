#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "rtp/error.h"
#include "signaling/token.h"

static const uint8_t secret[] = "0123456789abcdef0123456789abcdef";
#define SECRET secret, sizeof secret - 1

static void issue(cq_token_claims_t *c, char *tok) {
    *c = (cq_token_claims_t){
        .session_id = 12, .telecentre_id = 345, .role = CQ_ROLE_VIEWER, .expires_s = 2000000000};
    assert_int_equal(cq_token_issue(SECRET, c, tok, CQ_TOKEN_MAX + 1), 0);
}

static void test_token_round_trip(void **state) {
    (void)state;
    cq_token_claims_t c, got;
    char tok[CQ_TOKEN_MAX + 1], other[CQ_TOKEN_MAX + 1];
    issue(&c, tok);
    assert_int_equal(strncmp(tok, "cq1-12-345-viewer-2000000000-", 29), 0);
    assert_int_equal(cq_token_verify(SECRET, tok, 1999999999, &got), 0);
    assert_int_equal(got.session_id, 12);
    assert_int_equal(got.telecentre_id, 345);
    assert_int_equal(got.role, CQ_ROLE_VIEWER);
    assert_int_equal(got.expires_s, 2000000000);
    assert_string_equal(got.nonce, c.nonce);
    assert_int_equal(cq_token_verify(SECRET, tok, 2000000000, &got), 0); /* up to and at */
    /* Expired: said so, and which token it was. */
    memset(&got, 0, sizeof got);
    assert_int_equal(cq_token_verify(SECRET, tok, 2000000001, &got), CQ_EEXPIRED);
    assert_int_equal(got.session_id, 12);
    /* The same scope twice gives two different tokens. */
    issue(&c, other);
    assert_string_not_equal(tok, other);
    cq_role_t r;
    assert_int_equal(cq_token_role_parse("presenter", &r), 0);
    assert_int_equal(r, CQ_ROLE_PRESENTER);
    assert_int_equal(cq_token_role_parse("Presenter", &r), CQ_EINVAL);
    assert_string_equal(cq_token_role_name(CQ_ROLE_PARTICIPANT), "participant");
}

/* Any change to a genuine token, or another server's secret, fails the signature. */
static void test_token_tampering(void **state) {
    (void)state;
    cq_token_claims_t c, got;
    char tok[CQ_TOKEN_MAX + 1];
    issue(&c, tok);
    static const struct {
        const char *from, *to;
    } edits[] = {
        {"-12-", "-13-"},             /* another session */
        {"-345-", "-346-"},           /* another telecentre */
        {"viewer", "presenter"},      /* a better role */
        {"2000000000", "2100000000"}, /* a later expiry */
    };
    for (size_t i = 0; i < sizeof edits / sizeof edits[0]; i++) {
        char t[2 * CQ_TOKEN_MAX];
        const char *at = strstr(tok, edits[i].from);
        assert_non_null(at);
        size_t pre = (size_t)(at - tok);
        snprintf(t, sizeof t, "%.*s%s%s", (int)pre, tok, edits[i].to, at + strlen(edits[i].from));
        assert_int_equal(cq_token_verify(SECRET, t, 1, &got), CQ_EAUTH);
    }
    for (size_t k = 0; k < strlen(tok); k++) { /* every single character flipped */
        char t[CQ_TOKEN_MAX + 1];
        strcpy(t, tok);
        t[k] = t[k] == 'a' ? 'b' : t[k] == '1' ? '2' : 'a';
        int err = cq_token_verify(SECRET, t, 1, &got);
        assert_true(err == CQ_EAUTH || err == CQ_EMALFORMED);
    }
    static const uint8_t other[] = "another-server-secret-0123456789";
    assert_int_equal(cq_token_verify(other, sizeof other - 1, tok, 1, &got), CQ_EAUTH);
}

static void test_token_malformed(void **state) {
    (void)state;
    cq_token_claims_t got;
    char mac[65];
    memset(mac, 'a', 64);
    mac[64] = '\0';
    const char *payloads[] = {
        "",
        "cq1-12-345-viewer-2000000000-0123456789abcdef",   /* no MAC */
        "cq2-12-345-viewer-2000000000-0123456789abcdef.",  /* version */
        "cq1-012-345-viewer-2000000000-0123456789abcdef.", /* leading zero */
        "cq1-0-345-viewer-2000000000-0123456789abcdef.",   /* id 0 */
        "cq1-12-345-owner-2000000000-0123456789abcdef.",   /* role */
        "cq1-12-345-viewer-2000000000-0123456789abcde.",   /* short nonce */
        "cq1-12-345-viewer-2000000000-0123456789ABCDEF.",  /* nonce case */
        "cq1-12--345-viewer-2000000000-0123456789abcdef.",
        "cq1-1234567890123456789-345-viewer-2000000000-0123456789abcdef.",
    };
    for (size_t i = 0; i < sizeof payloads / sizeof payloads[0]; i++) {
        char t[512];
        snprintf(t, sizeof t, "%s%s", payloads[i], i == 1 ? "" : mac);
        assert_int_equal(cq_token_verify(SECRET, t, 1, &got), CQ_EMALFORMED);
    }
    char long_tok[400];
    memset(long_tok, '1', sizeof long_tok - 1);
    long_tok[sizeof long_tok - 1] = '\0';
    assert_int_equal(cq_token_verify(SECRET, long_tok, 1, &got), CQ_EMALFORMED);
    cq_token_claims_t c = {.session_id = 1, .telecentre_id = 1, .role = CQ_ROLE_VIEWER};
    char tok[CQ_TOKEN_MAX + 1];
    assert_int_equal(cq_token_issue(secret, 8, &c, tok, sizeof tok), CQ_EINVAL);
    c.role = (cq_role_t)7;
    assert_int_equal(cq_token_issue(SECRET, &c, tok, sizeof tok), CQ_EINVAL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_token_round_trip),
        cmocka_unit_test(test_token_tampering),
        cmocka_unit_test(test_token_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
