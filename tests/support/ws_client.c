#include "support/ws_client.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Waits for more bytes; returns how many arrived, 0 on EOF, -1 on time-out. */
static int fill(cq_test_ws_t *ws, int timeout_ms) {
    struct pollfd p = {ws->fd, POLLIN, 0};
    if (poll(&p, 1, timeout_ms) <= 0)
        return -1;
    ssize_t n = recv(ws->fd, ws->buf + ws->have, sizeof ws->buf - ws->have, 0);
    if (n <= 0)
        return 0;
    ws->have += (size_t)n;
    return (int)n;
}

static void consume(cq_test_ws_t *ws, size_t n) {
    memmove(ws->buf, ws->buf + n, ws->have - n);
    ws->have -= n;
}

int cq_test_ws_open(cq_test_ws_t *ws, uint16_t port) {
    memset(ws, 0, sizeof *ws);
    ws->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if (ws->fd < 0 || connect(ws->fd, (struct sockaddr *)&a, sizeof a) != 0)
        return -1;
    char req[512];
    int n = snprintf(req, sizeof req,
                     "GET /ws HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: chasqui\r\n\r\n",
                     (unsigned)port);
    if (send(ws->fd, req, (size_t)n, MSG_NOSIGNAL) != n)
        return -1;
    for (int waited = 0; waited < 3000; waited += 100) {
        char *end = ws->have ? memmem(ws->buf, ws->have, "\r\n\r\n", 4) : NULL;
        if (end != NULL) {
            bool ok = ws->have >= 12 && memcmp(ws->buf, "HTTP/1.1 101", 12) == 0;
            consume(ws, (size_t)(end + 4 - ws->buf));
            return ok ? 0 : -1;
        }
        if (fill(ws, 100) == 0)
            return -1;
    }
    return -1;
}

void cq_test_ws_close(cq_test_ws_t *ws) {
    if (ws->fd >= 0)
        close(ws->fd);
    ws->fd = -1;
}

int cq_test_ws_send(cq_test_ws_t *ws, const char *text) {
    size_t len = strlen(text);
    uint8_t frame[16 + 8192];
    if (len > 8192)
        return -1;
    size_t h = 0;
    frame[h++] = 0x81; /* FIN, text */
    if (len < 126) {
        frame[h++] = (uint8_t)(0x80 | len);
    } else {
        frame[h++] = 0x80 | 126;
        frame[h++] = (uint8_t)(len >> 8);
        frame[h++] = (uint8_t)len;
    }
    static const uint8_t mask[4] = {0x12, 0x34, 0x56, 0x78};
    memcpy(frame + h, mask, 4);
    h += 4;
    for (size_t i = 0; i < len; i++)
        frame[h + i] = (uint8_t)text[i] ^ mask[i % 4];
    return send(ws->fd, frame, h + len, MSG_NOSIGNAL) == (ssize_t)(h + len) ? 0 : -1;
}

int cq_test_ws_recv(cq_test_ws_t *ws, char *out, size_t cap, int timeout_ms) {
    for (int waited = 0; waited <= timeout_ms; waited += 50) {
        const uint8_t *b = (const uint8_t *)ws->buf;
        if (ws->have >= 2) {
            size_t len = b[1] & 0x7f, h = 2;
            if (len == 126 && ws->have >= 4) {
                len = (size_t)b[2] << 8 | b[3];
                h = 4;
            }
            if ((len < 126 || h == 4) && ws->have >= h + len) {
                uint8_t op = b[0] & 0x0f;
                if (op == 0x8) { /* close */
                    consume(ws, h + len);
                    return 0;
                }
                size_t n = len < cap - 1 ? len : cap - 1;
                memcpy(out, b + h, n);
                out[n] = '\0';
                consume(ws, h + len);
                if (op == 0x1)
                    return (int)n;
                continue; /* ping, pong: not for the test */
            }
        }
        int r = fill(ws, 50);
        if (r == 0)
            return 0;
    }
    return -1;
}
