#include "client/wsframe.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/sha.h>

#include "rtp/base64.h"
#include "rtp/error.h"

#define MAX_ANSWER 8192

static const char ws_guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

void cq_ws_key(const uint8_t random16[16], char key[CQ_WS_KEY_LEN + 1]) {
    cq_base64_encode(random16, 16, key, CQ_WS_KEY_LEN + 1);
}

int cq_ws_request(const char *host, uint16_t port, const char *path, const char *key, char *out,
                  size_t cap) {
    if (host == NULL || path == NULL || path[0] != '/' || key == NULL ||
        strlen(key) != CQ_WS_KEY_LEN)
        return CQ_EINVAL;
    /* An IPv6 literal goes in brackets in Host. */
    bool v6 = strchr(host, ':') != NULL;
    int n = snprintf(out, cap,
                     "GET %s HTTP/1.1\r\nHost: %s%s%s:%u\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                     "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: chasqui\r\n\r\n",
                     path, v6 ? "[" : "", host, v6 ? "]" : "", (unsigned)port, key);
    return n > 0 && (size_t)n < cap ? n : CQ_ENOBUFS;
}

/* The value of header name in the block [head, end), trimmed, or NULL. Names match
 * without case (RFC 9110 §5.1). */
static const char *header(const char *head, const char *end, const char *name, size_t *vlen) {
    size_t nlen = strlen(name);
    for (const char *line = head; line < end;) {
        const char *eol = memchr(line, '\n', (size_t)(end - line));
        if (eol == NULL)
            eol = end;
        if ((size_t)(eol - line) > nlen && strncasecmp(line, name, nlen) == 0 &&
            line[nlen] == ':') {
            const char *v = line + nlen + 1, *ve = eol;
            while (v < ve && (*v == ' ' || *v == '\t'))
                v++;
            while (ve > v && (ve[-1] == '\r' || ve[-1] == ' ' || ve[-1] == '\t'))
                ve--;
            *vlen = (size_t)(ve - v);
            return v;
        }
        line = eol + 1;
    }
    return NULL;
}

/* Whether the comma-separated value [v, v + n) holds token, without case. */
static bool has_token(const char *v, size_t n, const char *token) {
    size_t tlen = strlen(token);
    for (size_t i = 0; i < n;) {
        while (i < n && (v[i] == ' ' || v[i] == ','))
            i++;
        size_t j = i;
        while (j < n && v[j] != ',' && v[j] != ' ')
            j++;
        if (j - i == tlen && strncasecmp(v + i, token, tlen) == 0)
            return true;
        i = j;
    }
    return false;
}

int cq_ws_answer_check(const char *buf, size_t len, const char *key) {
    const char *end = memmem(buf, len < MAX_ANSWER ? len : MAX_ANSWER, "\r\n\r\n", 4);
    if (end == NULL)
        return len >= MAX_ANSWER ? CQ_EMALFORMED : CQ_EAGAIN;
    end += 4;
    if (len < 12 || memcmp(buf, "HTTP/1.1 ", 9) != 0)
        return CQ_EMALFORMED;
    if (memcmp(buf + 9, "101", 3) != 0)
        return CQ_EACCES;
    size_t n;
    const char *v;
    if ((v = header(buf, end, "Upgrade", &n)) == NULL || !has_token(v, n, "websocket"))
        return CQ_EMALFORMED;
    if ((v = header(buf, end, "Connection", &n)) == NULL || !has_token(v, n, "upgrade"))
        return CQ_EMALFORMED;
    if ((v = header(buf, end, "Sec-WebSocket-Protocol", &n)) == NULL || n != 7 ||
        memcmp(v, "chasqui", 7) != 0)
        return CQ_EMALFORMED;
    /* Accept = base64(SHA-1(key + GUID)): proof the server read this request. */
    char joined[CQ_WS_KEY_LEN + sizeof ws_guid];
    snprintf(joined, sizeof joined, "%s%s", key, ws_guid);
    uint8_t digest[SHA_DIGEST_LENGTH];
    SHA1((const unsigned char *)joined, strlen(joined), digest);
    char accept[32];
    int alen = cq_base64_encode(digest, sizeof digest, accept, sizeof accept);
    if ((v = header(buf, end, "Sec-WebSocket-Accept", &n)) == NULL || alen < 0 ||
        n != (size_t)alen || memcmp(v, accept, n) != 0)
        return CQ_EMALFORMED;
    return (int)(end - buf);
}

int cq_ws_frame_parse(const uint8_t *buf, size_t len, cq_ws_frame_t *f) {
    if (len < 2)
        return 0;
    uint8_t b0 = buf[0], b1 = buf[1];
    uint8_t opcode = b0 & 0x0f;
    if ((b0 & 0x70) != 0 || (b1 & 0x80) != 0) /* reserved bits; a server never masks */
        return CQ_EMALFORMED;
    bool control = opcode >= 0x8;
    if ((opcode > CQ_WS_BINARY && opcode < CQ_WS_CLOSE) || opcode > CQ_WS_PONG)
        return CQ_EMALFORMED;
    size_t hl = 2;
    uint64_t plen = b1 & 0x7f;
    if (plen == 126) {
        if (len < 4)
            return 0;
        plen = (uint64_t)buf[2] << 8 | buf[3];
        if (plen < 126)
            return CQ_EMALFORMED;
        hl = 4;
    } else if (plen == 127) {
        if (len < 10)
            return 0;
        plen = 0;
        for (int i = 0; i < 8; i++)
            plen = plen << 8 | buf[2 + i];
        if (plen <= 0xffff)
            return CQ_EMALFORMED;
        hl = 10;
    }
    if (control && (plen > 125 || !(b0 & 0x80)))
        return CQ_EMALFORMED;
    if (plen > CQ_WS_MAX_FRAME)
        return CQ_EMALFORMED;
    if (len - hl < plen)
        return 0;
    *f = (cq_ws_frame_t){
        .fin = (b0 & 0x80) != 0, .opcode = opcode, .payload = buf + hl, .len = (size_t)plen};
    return (int)(hl + plen);
}

int cq_ws_frame_write(uint8_t opcode, const uint8_t *payload, size_t len, const uint8_t mask[4],
                      uint8_t *out, size_t cap) {
    if ((opcode >= CQ_WS_CLOSE && len > 125) || len > CQ_WS_MAX_FRAME || opcode > CQ_WS_PONG)
        return CQ_EINVAL;
    size_t hl = len < 126 ? 2 : len <= 0xffff ? 4 : 10;
    if (cap < hl + 4 + len)
        return CQ_ENOBUFS;
    out[0] = (uint8_t)(0x80 | opcode);
    if (len < 126) {
        out[1] = (uint8_t)(0x80 | len);
    } else if (len <= 0xffff) {
        out[1] = 0x80 | 126;
        out[2] = (uint8_t)(len >> 8);
        out[3] = (uint8_t)len;
    } else {
        out[1] = 0x80 | 127;
        for (int i = 0; i < 8; i++)
            out[2 + i] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
    }
    memcpy(out + hl, mask, 4);
    for (size_t i = 0; i < len; i++)
        out[hl + 4 + i] = payload[i] ^ mask[i & 3];
    return (int)(hl + 4 + len);
}
