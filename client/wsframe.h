/*
 * The client's side of RFC 6455, as the district server speaks it (libwebsockets, the
 * "chasqui" subprotocol): the opening handshake (request, and the 101 answer checked down
 * to Sec-WebSocket-Accept), and frames: masked ones written, the server's unmasked ones
 * parsed with every rule a client must enforce (no mask from a server, no reserved bits,
 * control frames short and unfragmented, lengths in their shortest form).
 *
 * Pure: the caller's buffers, no I/O, no allocation.
 */
#ifndef CQ_CLIENT_WSFRAME_H
#define CQ_CLIENT_WSFRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CQ_WS_KEY_LEN    24    /* base64 of 16 random bytes */
#define CQ_WS_MAX_FRAME  65536 /* larger frames are refused: the server sends at most 8 KiB */
#define CQ_WS_MAX_HEADER 14    /* 2 + 8 (length) + 4 (mask) */

enum {
    CQ_WS_CONTINUATION = 0x0,
    CQ_WS_TEXT = 0x1,
    CQ_WS_BINARY = 0x2,
    CQ_WS_CLOSE = 0x8,
    CQ_WS_PING = 0x9,
    CQ_WS_PONG = 0xA,
};

/* Writes the GET request for ws://host:port/path with the key (CQ_WS_KEY_LEN characters,
 * NUL-terminated, from cq_ws_key). Returns its length, or CQ_ENOBUFS / CQ_EINVAL. */
int cq_ws_request(const char *host, uint16_t port, const char *path, const char *key, char *out,
                  size_t cap);

/* The base64 key from 16 random bytes, into key[CQ_WS_KEY_LEN + 1]. */
void cq_ws_key(const uint8_t random16[16], char key[CQ_WS_KEY_LEN + 1]);

/*
 * Checks the server's answer to the request made with key, [buf, buf + len) as received so
 * far. Returns the length of the header block (what follows is already frames), or:
 *   CQ_EAGAIN      not all of it yet;
 *   CQ_EACCES      a complete answer other than 101 (the server said no);
 *   CQ_EMALFORMED  a 101 without the right Upgrade, Connection, Sec-WebSocket-Accept or
 *                  subprotocol, or a header block over 8 KiB.
 */
int cq_ws_answer_check(const char *buf, size_t len, const char *key);

typedef struct {
    bool fin;
    uint8_t opcode;
    const uint8_t *payload; /* into the buffer given to cq_ws_frame_parse */
    size_t len;
} cq_ws_frame_t;

/*
 * Parses the frame at the start of [buf, buf + len). Returns its whole size (header and
 * payload) and *f, 0 when more bytes are needed, or CQ_EMALFORMED (a masked frame, reserved
 * bits or opcodes, a control frame fragmented or over 125 bytes, a length not in its
 * shortest form, or over CQ_WS_MAX_FRAME).
 */
int cq_ws_frame_parse(const uint8_t *buf, size_t len, cq_ws_frame_t *f);

/* Writes one final frame of opcode with payload, masked with mask (RFC 6455 §5.3: the
 * caller draws a fresh random mask per frame). Returns its size, CQ_ENOBUFS or CQ_EINVAL
 * (a control frame over 125 bytes, a payload over CQ_WS_MAX_FRAME). */
int cq_ws_frame_write(uint8_t opcode, const uint8_t *payload, size_t len, const uint8_t mask[4],
                      uint8_t *out, size_t cap);

#endif
