/* The join answer as the client reads it: the server's own shape parses whole; each field
 * wrong or missing is refused by name; tokens give their session. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "client/join.h"
#include "rtp/error.h"

/* The answer of docs/PROTOCOL.md with one field replaced: %s is spliced in. */
static const char answer_fmt[] =
    "{\"session\": 7, \"telecentre\": 3, \"role\": \"participant\", \"mode\": \"conference\","
    " \"media\": {\"address\": \"198.51.100.7\", \"port\": %s,"
    " \"ice\": {\"ufrag\": \"Xk3abc\", \"pwd\": \"abcdefghijklmnopqrstuvwx\"},"
    " \"srtp\": {\"suite\": %s,"
    " \"key_to_relay\": %s,"
    " \"key_from_relay\": \"1b1a191817161514131211100f0e0d0c0b0a09080706050403020100\"}},"
    " \"ssrcs\": {\"audio\": 1234, \"video\": [11, 12, 13], \"rtx\": %s},"
    " \"participants\": [{\"telecentre\": 5, \"role\": \"presenter\"}]}";

static const char *good_key = "\"000102030405060708090a0b0c0d0e0f101112131415161718191a1b\"";

static int parse(const char *port, const char *suite, const char *key, const char *rtx,
                 cq_join_t *j, char *why) {
    char text[2048];
    snprintf(text, sizeof text, answer_fmt, port, suite, key, rtx);
    return cq_join_parse(text, strlen(text), j, why, 64);
}

static void test_server_answer_parses(void **state) {
    (void)state;
    cq_join_t j;
    char why[64];
    assert_int_equal(parse("40000", "\"AEAD_AES_128_GCM\"", good_key, "[21, 22, 23]", &j, why), 0);
    assert_int_equal(j.session, 7);
    assert_int_equal(j.telecentre, 3);
    assert_string_equal(j.role, "participant");
    assert_string_equal(j.mode, "conference");
    assert_string_equal(j.address, "198.51.100.7");
    assert_int_equal(j.port, 40000);
    assert_string_equal(j.ufrag, "Xk3abc");
    assert_string_equal(j.pwd, "abcdefghijklmnopqrstuvwx");
    assert_int_equal(j.suite, CQ_SRTP_AEAD_AES_128_GCM);
    for (int i = 0; i < CQ_SRTP_AES_GCM_KEY_LEN; i++) {
        assert_int_equal(j.key_tx[i], i);
        assert_int_equal(j.key_rx[i], CQ_SRTP_AES_GCM_KEY_LEN - 1 - i);
    }
    assert_int_equal(j.audio_ssrc, 1234);
    assert_int_equal(j.video_layers, 3);
    assert_int_equal(j.video_ssrc[2], 13);
    assert_int_equal(j.rtx_ssrc[0], 21);
    assert_int_equal(j.participants, 1);
}

static void test_each_bad_field_is_named(void **state) {
    (void)state;
    cq_join_t j;
    char why[64];
    const char *gcm = "\"AEAD_AES_128_GCM\"", *rtx = "[21, 22, 23]";
    assert_int_equal(parse("0", gcm, good_key, rtx, &j, why), CQ_EMALFORMED);
    assert_string_equal(why, "media.port");
    assert_int_equal(parse("70000", gcm, good_key, rtx, &j, why), CQ_EMALFORMED);
    assert_string_equal(why, "media.port");
    assert_int_equal(parse("\"40000\"", gcm, good_key, rtx, &j, why), CQ_EMALFORMED);
    assert_string_equal(why, "media.port");
    assert_int_equal(parse("40000", "\"NULL_CIPHER\"", good_key, rtx, &j, why), CQ_EMALFORMED);
    assert_string_equal(why, "media.srtp.suite");
    /* A key of the wrong length for the suite, or not hex. */
    assert_int_equal(parse("40000", "\"AES_CM_128_HMAC_SHA1_80\"", good_key, rtx, &j, why),
                     CQ_EMALFORMED);
    assert_string_equal(why, "media.srtp.key_to_relay");
    assert_int_equal(parse("40000", gcm,
                           "\"zz0102030405060708090a0b0c0d0e0f101112131415161718191a1b\"", rtx, &j,
                           why),
                     CQ_EMALFORMED);
    assert_string_equal(why, "media.srtp.key_to_relay");
    /* RTX SSRCs must pair with the video's. */
    assert_int_equal(parse("40000", gcm, good_key, "[21, 22]", &j, why), CQ_EMALFORMED);
    assert_string_equal(why, "ssrcs.rtx");
    assert_int_equal(parse("40000", gcm, good_key, "[21, 0, 23]", &j, why), CQ_EMALFORMED);
    assert_string_equal(why, "ssrcs.rtx");
    assert_int_equal(cq_join_parse("[1, 2]", 6, &j, why, sizeof why), CQ_EMALFORMED);
    assert_string_equal(why, "not a JSON object");
    assert_int_equal(cq_join_parse("{\"session\": 1}", 14, &j, why, sizeof why), CQ_EMALFORMED);
    assert_string_equal(why, "telecentre");
    /* Cut anywhere, the answer never parses. */
    char text[2048];
    snprintf(text, sizeof text, answer_fmt, "40000", gcm, good_key, rtx);
    for (size_t n = 0; n < strlen(text); n += 7)
        assert_int_equal(cq_join_parse(text, n, &j, why, sizeof why), CQ_EMALFORMED);
}

static void test_viewer_without_ssrcs(void **state) {
    (void)state;
    const char *viewer =
        "{\"session\": 2, \"telecentre\": 9, \"role\": \"viewer\", \"mode\": \"broadcast\","
        " \"media\": {\"address\": \"::1\", \"port\": 40001, \"ice\": {\"ufrag\": \"u\","
        " \"pwd\": \"p\"}, \"srtp\": {\"suite\": \"AEAD_AES_128_GCM\", \"key_to_relay\":"
        " \"000102030405060708090a0b0c0d0e0f101112131415161718191a1b\", \"key_from_relay\":"
        " \"000102030405060708090a0b0c0d0e0f101112131415161718191a1b\"}},"
        " \"ssrcs\": {\"audio\": 0, \"video\": [], \"rtx\": []}, \"participants\": []}";
    cq_join_t j;
    char why[64];
    assert_int_equal(cq_join_parse(viewer, strlen(viewer), &j, why, sizeof why), 0);
    assert_string_equal(j.role, "viewer");
    assert_string_equal(j.address, "::1");
    assert_int_equal(j.audio_ssrc, 0);
    assert_int_equal(j.video_layers, 0);
    assert_int_equal(j.participants, 0);
}

static void test_token_session(void **state) {
    (void)state;
    uint32_t s = 0;
    assert_int_equal(cq_join_token_session("cq1-17-3-participant-1795428540-ab.cd", &s), 0);
    assert_int_equal(s, 17);
    assert_int_equal(cq_join_token_session("cq1-0-3-x", &s), CQ_EINVAL);
    assert_int_equal(cq_join_token_session("cq2-17-3-x", &s), CQ_EINVAL);
    assert_int_equal(cq_join_token_session("cq1-17", &s), CQ_EINVAL);
    assert_int_equal(cq_join_token_session("cq1-99999999999-3-x", &s), CQ_EINVAL);
    assert_int_equal(cq_join_token_session(NULL, &s), CQ_EINVAL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_server_answer_parses),
        cmocka_unit_test(test_each_bad_field_is_named),
        cmocka_unit_test(test_viewer_without_ssrcs),
        cmocka_unit_test(test_token_session),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
