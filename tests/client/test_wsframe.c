/* The client's WebSocket codec against RFC 6455's own examples (§1.3, §5.7), and against
 * every rule a server's frame can break. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "client/wsframe.h"
#include "rtp/error.h"

#define RFC_KEY    "dGhlIHNhbXBsZSBub25jZQ=="
#define RFC_ACCEPT "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

static void test_key_and_request(void **state) {
    (void)state;
    const uint8_t nonce[16] = "the sample nonce";
    char key[CQ_WS_KEY_LEN + 1];
    cq_ws_key(nonce, key);
    assert_string_equal(key, RFC_KEY);
    char req[512];
    int n = cq_ws_request("192.0.2.1", 8080, "/ws", key, req, sizeof req);
    assert_true(n > 0);
    assert_non_null(strstr(req, "GET /ws HTTP/1.1\r\nHost: 192.0.2.1:8080\r\n"));
    assert_non_null(strstr(req, "Sec-WebSocket-Key: " RFC_KEY "\r\n"));
    assert_non_null(strstr(req, "Sec-WebSocket-Protocol: chasqui\r\n"));
    assert_string_equal(req + n - 4, "\r\n\r\n");
    assert_true(cq_ws_request("::1", 80, "/ws", key, req, sizeof req) > 0);
    assert_non_null(strstr(req, "Host: [::1]:80\r\n"));
    assert_int_equal(cq_ws_request("h", 1, "/ws", key, req, 40), CQ_ENOBUFS);
    assert_int_equal(cq_ws_request("h", 1, "ws", key, req, sizeof req), CQ_EINVAL);
    assert_int_equal(cq_ws_request("h", 1, "/ws", "short", req, sizeof req), CQ_EINVAL);
}

static int check(const char *accept_line, const char *proto_line) {
    char ans[512];
    snprintf(ans, sizeof ans,
             "HTTP/1.1 101 Switching Protocols\r\nupgrade: WebSocket\r\n"
             "Connection: keep-alive, Upgrade\r\n%s%s\r\n\x81\x02hi",
             accept_line, proto_line);
    return cq_ws_answer_check(ans, strlen(ans), RFC_KEY);
}

static void test_answer(void **state) {
    (void)state;
    const char *acc = "Sec-WebSocket-Accept: " RFC_ACCEPT "\r\n";
    const char *proto = "Sec-WebSocket-Protocol: chasqui\r\n";
    int n = check(acc, proto);
    assert_true(n > 0);
    /* The frame after the headers is not part of them. */
    char ans[512];
    snprintf(ans, sizeof ans,
             "HTTP/1.1 101 Switching Protocols\r\nupgrade: WebSocket\r\n"
             "Connection: keep-alive, Upgrade\r\n%s%s\r\n",
             acc, proto);
    assert_int_equal(n, (int)strlen(ans));
    /* Every prefix is "not yet". */
    for (size_t cut = 0; cut < strlen(ans); cut++)
        assert_int_equal(cq_ws_answer_check(ans, cut, RFC_KEY), CQ_EAGAIN);
    assert_int_equal(check("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOx=\r\n", proto),
                     CQ_EMALFORMED);
    assert_int_equal(check("", proto), CQ_EMALFORMED);
    assert_int_equal(check(acc, ""), CQ_EMALFORMED);
    assert_int_equal(check(acc, "Sec-WebSocket-Protocol: chat\r\n"), CQ_EMALFORMED);
    const char *no = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
    assert_int_equal(cq_ws_answer_check(no, strlen(no), RFC_KEY), CQ_EACCES);
    const char *junk = "SSH-2.0-OpenSSH_9.2\r\n\r\n";
    assert_int_equal(cq_ws_answer_check(junk, strlen(junk), RFC_KEY), CQ_EMALFORMED);
    static char huge[9000];
    memset(huge, 'a', sizeof huge);
    assert_int_equal(cq_ws_answer_check(huge, sizeof huge, RFC_KEY), CQ_EMALFORMED);
}

static void test_rfc_frames(void **state) {
    (void)state;
    cq_ws_frame_t f;
    const uint8_t hello[] = {0x81, 0x05, 'H', 'e', 'l', 'l', 'o'};
    assert_int_equal(cq_ws_frame_parse(hello, sizeof hello, &f), 7);
    assert_true(f.fin);
    assert_int_equal(f.opcode, CQ_WS_TEXT);
    assert_int_equal(f.len, 5);
    assert_memory_equal(f.payload, "Hello", 5);
    for (size_t cut = 0; cut < sizeof hello; cut++)
        assert_int_equal(cq_ws_frame_parse(hello, cut, &f), 0);
    const uint8_t frag1[] = {0x01, 0x03, 'H', 'e', 'l'}, frag2[] = {0x80, 0x02, 'l', 'o'};
    assert_int_equal(cq_ws_frame_parse(frag1, sizeof frag1, &f), 5);
    assert_false(f.fin);
    assert_int_equal(cq_ws_frame_parse(frag2, sizeof frag2, &f), 4);
    assert_true(f.fin);
    assert_int_equal(f.opcode, CQ_WS_CONTINUATION);
    const uint8_t ping[] = {0x89, 0x05, 'H', 'e', 'l', 'l', 'o'};
    assert_int_equal(cq_ws_frame_parse(ping, sizeof ping, &f), 7);
    assert_int_equal(f.opcode, CQ_WS_PING);
    static uint8_t big[10 + 65536] = {0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0};
    assert_int_equal(cq_ws_frame_parse(big, sizeof big, &f), (int)sizeof big);
    assert_int_equal(f.len, 65536);
    uint8_t mid[4 + 256] = {0x82, 0x7e, 0x01, 0x00};
    assert_int_equal(cq_ws_frame_parse(mid, sizeof mid, &f), (int)sizeof mid);
    assert_int_equal(f.len, 256);

    /* §5.7's masked "Hello", as the client writes it. */
    const uint8_t mask[4] = {0x37, 0xfa, 0x21, 0x3d};
    const uint8_t want[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58};
    uint8_t out[300];
    assert_int_equal(
        cq_ws_frame_write(CQ_WS_TEXT, (const uint8_t *)"Hello", 5, mask, out, sizeof out),
        (int)sizeof want);
    assert_memory_equal(out, want, sizeof want);
    uint8_t payload[200];
    memset(payload, 'x', sizeof payload);
    int n = cq_ws_frame_write(CQ_WS_TEXT, payload, sizeof payload, mask, out, sizeof out);
    assert_int_equal(n, 4 + 4 + 200);
    assert_int_equal(out[1], 0x80 | 126);
    assert_int_equal(out[2] << 8 | out[3], 200);
    assert_int_equal(out[8] ^ mask[0], 'x');
    assert_int_equal(cq_ws_frame_write(CQ_WS_PING, payload, 126, mask, out, sizeof out), CQ_EINVAL);
    assert_int_equal(cq_ws_frame_write(CQ_WS_TEXT, payload, 200, mask, out, 100), CQ_ENOBUFS);
}

static void test_broken_frames(void **state) {
    (void)state;
    cq_ws_frame_t f;
    const uint8_t masked[] = {0x81, 0x81, 1, 2, 3, 4, 'x'};
    const uint8_t rsv[] = {0xc1, 0x01, 'x'};
    const uint8_t opcode3[] = {0x83, 0x01, 'x'};
    const uint8_t opcode_b[] = {0x8b, 0x00};
    const uint8_t frag_ping[] = {0x09, 0x00};
    uint8_t long_ping[2 + 126] = {0x89, 0x7e, 0x00, 0x7e};
    const uint8_t lazy16[] = {0x81, 0x7e, 0x00, 0x05, 'H', 'e', 'l', 'l', 'o'};
    const uint8_t lazy64[] = {0x82, 0x7f, 0, 0, 0, 0, 0, 0, 0x01, 0x00};
    const uint8_t too_big[] = {0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 1};
    const uint8_t huge[] = {0x82, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    const struct {
        const uint8_t *b;
        size_t n;
    } bad[] = {{masked, sizeof masked},       {rsv, sizeof rsv},
               {opcode3, sizeof opcode3},     {opcode_b, sizeof opcode_b},
               {frag_ping, sizeof frag_ping}, {long_ping, 4},
               {lazy16, sizeof lazy16},       {lazy64, sizeof lazy64},
               {too_big, sizeof too_big},     {huge, sizeof huge}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = cq_ws_frame_parse(bad[i].b, bad[i].n, &f);
        if (rc != CQ_EMALFORMED)
            fail_msg("case %zu gave %d", i, rc);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_and_request),
        cmocka_unit_test(test_answer),
        cmocka_unit_test(test_rfc_frames),
        cmocka_unit_test(test_broken_frames),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
