/*
 * cq_httpc_request against a server on loopback: a child process that answers as a test
 * tells it to, whole or a byte at a time.
 */
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "rtp/error.h"
#include "signaling/httpc.h"

static const char answer[] = "HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n{\"ok\":true}";

typedef struct {
    pid_t child;
    uint16_t port;
} server_t;

/* The child: one connection, the request read up to its blank line, then the answer,
 * whole or a byte every gap_ms; then it closes and exits. */
static void serve(int listener, unsigned gap_ms) {
    int fd = accept(listener, NULL, NULL);
    if (fd < 0)
        _exit(1);
    char req[2048];
    size_t have = 0;
    while (have < sizeof req - 1) {
        ssize_t r = recv(fd, req + have, sizeof req - 1 - have, 0);
        if (r <= 0)
            _exit(1);
        have += (size_t)r;
        req[have] = '\0';
        if (strstr(req, "\r\n\r\n") != NULL)
            break;
    }
    size_t len = sizeof answer - 1;
    for (size_t off = 0; off < len;) {
        size_t n = gap_ms ? 1 : len - off;
        ssize_t w = send(fd, answer + off, n, MSG_NOSIGNAL);
        if (w <= 0)
            _exit(0); /* the client gave up: as it should have */
        off += (size_t)w;
        if (gap_ms)
            usleep(gap_ms * 1000);
    }
    close(fd);
    _exit(0);
}

static void server_start(server_t *s, unsigned gap_ms) {
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(listener >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(listener, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(listener, 1), 0);
    socklen_t alen = sizeof a;
    assert_int_equal(getsockname(listener, (struct sockaddr *)&a, &alen), 0);
    s->port = ntohs(a.sin_port);
    s->child = fork();
    assert_true(s->child >= 0);
    if (s->child == 0)
        serve(listener, gap_ms);
    close(listener);
}

static void server_end(server_t *s) {
    kill(s->child, SIGTERM);
    int status;
    assert_int_equal(waitpid(s->child, &status, 0), s->child);
}

/* A server answering a byte every gap_ms is read whole within timeout_ms. */
static void expect_answer(unsigned gap_ms, int timeout_ms) {
    server_t s;
    server_start(&s, gap_ms);
    cq_httpc_url_t url = {.host = "127.0.0.1", .port = s.port};
    cq_httpc_response_t res;
    assert_int_equal(
        cq_httpc_request(&url, "GET", "/api/sessions", "Bearer k", NULL, timeout_ms, &res), 0);
    assert_int_equal(res.status, 200);
    assert_string_equal(res.body, "{\"ok\":true}");
    free(res.body);
    server_end(&s);
}

static void test_httpc_answer_read(void **state) {
    (void)state;
    expect_answer(0, 5000);
}

/* A server that sends a byte every 100 ms would answer whole in 5 s; the request gives it
 * 1 s in all, though no single wait is longer than 100 ms. */
static void test_httpc_whole_request_bounded(void **state) {
    (void)state;
    server_t s;
    server_start(&s, 100);
    cq_httpc_url_t url = {.host = "127.0.0.1", .port = s.port};
    cq_httpc_response_t res;
    assert_int_equal(cq_httpc_request(&url, "GET", "/api/sessions", NULL, NULL, 1000, &res),
                     -ETIMEDOUT);
    server_end(&s);
}

/* The same server given time enough is read whole: the limit is the request's, and a
 * slow answer inside it is an answer. */
static void test_httpc_slow_answer_inside_limit(void **state) {
    (void)state;
    expect_answer(20, 30000);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_httpc_answer_read),
        cmocka_unit_test(test_httpc_whole_request_bounded),
        cmocka_unit_test(test_httpc_slow_answer_inside_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
