/*
 * The HTTP server over real TCP on loopback: the server's loop runs on its own thread,
 * the test speaks raw HTTP/1.1 from plain sockets, so malformed requests can be sent as
 * they are. Every wait is bounded.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <uv.h>

#include "signaling/api.h"
#include "signaling/http.h"
#include "signaling/store.h"

#define KEY "http-test-operator-key-0123456789"

typedef struct {
    uv_thread_t thread;
    uv_loop_t loop;
    uv_async_t stop;
    uv_sem_t ready;
    struct cq_store *store;
    struct cq_api *api;
    struct cq_http *http;
    uint16_t port;
    int err;
} server_t;

static void on_stop(uv_async_t *a) {
    server_t *s = a->data;
    cq_http_stop(s->http);
    uv_close((uv_handle_t *)a, NULL);
}

static void serve(void *arg) {
    server_t *s = arg;
    uv_loop_init(&s->loop);
    uv_async_init(&s->loop, &s->stop, on_stop);
    s->stop.data = s;
    static const char secret[] = "http-test-token-secret-0123456789";
    cq_api_config_t ac = {.operator_key = KEY,
                          .token_secret = (const uint8_t *)secret,
                          .token_secret_len = sizeof secret - 1};
    if ((s->err = cq_store_open(&s->store, ":memory:")) == 0) {
        ac.store = s->store;
        s->err = cq_api_create(&s->api, &ac);
    }
    cq_http_config_t hc = {.loop = &s->loop, .host = "127.0.0.1", .port = 0, .api = s->api};
    if (s->err == 0 && (s->err = cq_http_create(&s->http, &hc)) == 0)
        s->port = cq_http_port(s->http);
    uv_sem_post(&s->ready);
    uv_run(&s->loop, UV_RUN_DEFAULT);
    cq_http_destroy(s->http);
    cq_api_destroy(s->api);
    cq_store_close(s->store);
    s->err = uv_loop_close(&s->loop);
}

static int setup(void **state) {
    server_t *s = calloc(1, sizeof *s);
    uv_sem_init(&s->ready, 0);
    uv_thread_create(&s->thread, serve, s);
    uv_sem_wait(&s->ready);
    if (s->err != 0)
        return -1;
    *state = s;
    return 0;
}

static int teardown(void **state) {
    server_t *s = *state;
    uv_async_send(&s->stop);
    uv_thread_join(&s->thread);
    int err = s->err; /* uv_loop_close's: every handle closed */
    uv_sem_destroy(&s->ready);
    free(s);
    return err == 0 ? 0 : -1;
}

static int connect_to(const server_t *s) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(s->port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}

static void send_all(int fd, const char *data, size_t len) {
    while (len > 0) {
        ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
        if (n <= 0)
            return; /* the server may close first: what it answered is still read */
        data += n;
        len -= (size_t)n;
    }
}

/* Reads one response (headers and a body of Content-Length) into buf, waiting up to 3 s
 * in all; returns its status, or 0 when the connection closed or stayed silent. */
static int read_response(int fd, char *buf, size_t cap, char **body) {
    size_t have = 0;
    *body = NULL;
    for (int waited = 0; waited < 3000;) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 100) == 0) {
            waited += 100;
            continue;
        }
        ssize_t n = recv(fd, buf + have, cap - 1 - have, 0);
        if (n <= 0)
            return 0;
        have += (size_t)n;
        buf[have] = '\0';
        char *end = strstr(buf, "\r\n\r\n");
        if (end == NULL)
            continue;
        const char *cl = strcasestr(buf, "content-length:");
        size_t want = cl ? strtoul(cl + 15, NULL, 10) : 0;
        if (have - (size_t)(end + 4 - buf) >= want) {
            *body = end + 4;
            return atoi(buf + 9);
        }
    }
    return 0;
}

static int request(const server_t *s, const char *raw, char *buf, size_t cap, char **body) {
    int fd = connect_to(s);
    send_all(fd, raw, strlen(raw));
    int status = read_response(fd, buf, cap, body);
    close(fd);
    return status;
}

static void test_http_carries_requests_to_the_api(void **state) {
    server_t *s = *state;
    static char buf[65536];
    char *body;
    assert_int_equal(request(s, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", buf, sizeof buf, &body),
                     200);
    assert_string_equal(body, "{\"status\":\"ok\"}");
    assert_non_null(strcasestr(buf, "content-type: application/json"));
    assert_int_equal(
        request(s, "GET /api/telecentres HTTP/1.1\r\nHost: x\r\n\r\n", buf, sizeof buf, &body),
        401);
    /* One keep-alive connection: a POST with a body, then a list that is longer than one
     * write chunk, then a 405 with its Allow header. */
    int fd = connect_to(s);
    for (int i = 0; i < 60; i++) {
        char json[128], raw[512];
        int n = snprintf(json, sizeof json,
                         "{\"name\":\"Telecentro número %02d\",\"district\":\"Río Tambo\"}", i);
        snprintf(raw, sizeof raw,
                 "POST /api/telecentres HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " KEY
                 "\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
                 n, json);
        send_all(fd, raw, strlen(raw));
        assert_int_equal(read_response(fd, buf, sizeof buf, &body), 201);
    }
    const char *list =
        "GET /api/telecentres HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " KEY "\r\n\r\n";
    send_all(fd, list, strlen(list));
    assert_int_equal(read_response(fd, buf, sizeof buf, &body), 200);
    assert_true(strlen(body) > 4096);
    assert_non_null(strstr(body, "Telecentro número 59"));
    const char *del =
        "DELETE /api/sessions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " KEY "\r\n\r\n";
    send_all(fd, del, strlen(del));
    assert_int_equal(read_response(fd, buf, sizeof buf, &body), 405);
    assert_non_null(strcasestr(buf, "allow: GET, POST"));
    close(fd);
}

/* A body announced larger than the limit is refused before it is read; garbage and a
 * truncated request close only their own connection, and the server goes on serving. */
static void test_http_bad_requests_hurt_only_themselves(void **state) {
    server_t *s = *state;
    static char buf[8192];
    char *body;
    char raw[256];
    snprintf(raw, sizeof raw,
             "POST /api/telecentres HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " KEY
             "\r\nContent-Length: %d\r\n\r\n{",
             CQ_API_MAX_BODY + 1);
    assert_int_equal(request(s, raw, buf, sizeof buf, &body), 413);
    /* Garbage: no answer worth waiting for, and the connection goes. */
    int bad = connect_to(s);
    static const char garbage[] = "\x16\x03\x01\x02\x00 not http at all\r\n\r\n";
    send_all(bad, garbage, sizeof garbage - 1);
    int idle = connect_to(s);
    static const char truncated[] = "GET /healthz HTTP/1.1\r\nHo"; /* stops mid-header */
    send_all(idle, truncated, sizeof truncated - 1);
    assert_int_equal(request(s, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", buf, sizeof buf, &body),
                     200);
    char path[600] = "GET /";
    memset(path + 5, 'a', 560);
    strcpy(path + 565, " HTTP/1.1\r\nHost: x\r\n\r\n");
    int status = request(s, path, buf, sizeof buf, &body);
    assert_true(status == 400 || status == 414 || status == 0); /* refused either way */
    assert_int_equal(request(s, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", buf, sizeof buf, &body),
                     200);
    close(bad);
    close(idle);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_http_carries_requests_to_the_api, setup, teardown),
        cmocka_unit_test_setup_teardown(test_http_bad_requests_hurt_only_themselves, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
