/*
 * A minimal, blocking WebSocket client for tests (RFC 6455): the upgrade with subprotocol
 * "chasqui", masked text frames out, unfragmented frames in. Only what the tests need;
 * every wait is bounded.
 */
#ifndef CQ_TEST_WS_CLIENT_H
#define CQ_TEST_WS_CLIENT_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    int fd;
    char buf[16384]; /* bytes received and not yet returned */
    size_t have;
} cq_test_ws_t;

/* Connects to 127.0.0.1:port and upgrades. Returns 0, or -1 (refused, no 101). */
int cq_test_ws_open(cq_test_ws_t *ws, uint16_t port);
void cq_test_ws_close(cq_test_ws_t *ws);

int cq_test_ws_send(cq_test_ws_t *ws, const char *text);

/* The next text message, NUL-terminated, within timeout_ms. Returns its length, 0 when
 * the server closed the connection (a close frame or EOF), -1 on time-out. */
int cq_test_ws_recv(cq_test_ws_t *ws, char *out, size_t cap, int timeout_ms);

#endif
