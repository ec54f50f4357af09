#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rtp/error.h"
#include "signaling/httpc.h"

static void test_httpc_url_parse(void **state) {
    (void)state;
    cq_httpc_url_t u;
    assert_int_equal(cq_httpc_url_parse("http://127.0.0.1:8080", &u), 0);
    assert_string_equal(u.host, "127.0.0.1");
    assert_int_equal(u.port, 8080);
    assert_int_equal(cq_httpc_url_parse("http://[::1]:9/", &u), 0);
    assert_string_equal(u.host, "::1");
    assert_int_equal(u.port, 9);
    assert_int_equal(cq_httpc_url_parse("http://district.example", &u), 0);
    assert_int_equal(u.port, 80);
    static const char *const bad[] = {"https://x",      "http://",    "http://h:0",
                                      "http://h:99999", "http://h:x", "http://h/api",
                                      "http://[::1",    "ftp://h",    "127.0.0.1:8080"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(cq_httpc_url_parse(bad[i], &u), CQ_EINVAL);
}

static void test_httpc_response_parse(void **state) {
    (void)state;
    cq_httpc_response_t r;
    const char ok[] = "HTTP/1.1 201 Created\r\ncontent-type: application/json\r\n"
                      "Content-Length: 9\r\n\r\n{\"id\":1}\nextra";
    assert_int_equal(cq_httpc_response_parse(ok, sizeof ok - 1, &r), 0);
    assert_int_equal(r.status, 201);
    assert_string_equal(r.body, "{\"id\":1}\n"); /* bounded by Content-Length */
    free(r.body);
    const char no_len[] = "HTTP/1.1 200 OK\r\nx: y\r\n\r\nall of it";
    assert_int_equal(cq_httpc_response_parse(no_len, sizeof no_len - 1, &r), 0);
    assert_string_equal(r.body, "all of it");
    free(r.body);
    const char empty[] = "HTTP/1.1 204 No Content\r\n\r\n";
    assert_int_equal(cq_httpc_response_parse(empty, sizeof empty - 1, &r), 0);
    assert_int_equal(r.body_len, 0);
    free(r.body);
    static const char *const bad[] = {
        "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", /* cut */
        "HTTP/1.1 200 OK\r\n",                                /* no end of headers */
        "SMTP 220 hello\r\n\r\n",
        "HTTP/1.1 999 What\r\n\r\n",
        "",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(cq_httpc_response_parse(bad[i], strlen(bad[i]), &r), CQ_EMALFORMED);
}

/* A host name that resolves to nothing is said to be that, not "no route to host": an
 * operator who mistyped the server's name must not go looking for a network fault. (A name
 * with a space is refused by the resolver itself: nothing leaves the machine.) */
static void test_httpc_unresolvable_host(void **state) {
    (void)state;
    cq_httpc_url_t url = {.host = "no such host", .port = 80};
    cq_httpc_response_t res;
    assert_int_equal(cq_httpc_request(&url, "GET", "/", NULL, NULL, 1000, &res), CQ_ERESOLVE);
    assert_string_equal(cq_strerror(CQ_ERESOLVE), "host name could not be resolved");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_httpc_url_parse),
        cmocka_unit_test(test_httpc_response_parse),
        cmocka_unit_test(test_httpc_unresolvable_host),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
