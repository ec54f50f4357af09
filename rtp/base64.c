#include "rtp/base64.h"

#include <stdbool.h>

#include "rtp/error.h"

static const char alphabet[64] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int cq_base64_encode(const uint8_t *data, size_t len, char *out, size_t cap) {
    size_t need = cq_base64_encoded_size(len);
    if (cap < need + 1)
        return CQ_ENOBUFS;
    size_t o = 0, i = 0;
    for (; i + 3 <= len; i += 3) {
        uint32_t v = (uint32_t)data[i] << 16 | (uint32_t)data[i + 1] << 8 | data[i + 2];
        out[o++] = alphabet[v >> 18];
        out[o++] = alphabet[(v >> 12) & 63];
        out[o++] = alphabet[(v >> 6) & 63];
        out[o++] = alphabet[v & 63];
    }
    if (i < len) {
        uint32_t v = (uint32_t)data[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t)data[i + 1] << 8;
        out[o++] = alphabet[v >> 18];
        out[o++] = alphabet[(v >> 12) & 63];
        out[o++] = i + 1 < len ? alphabet[(v >> 6) & 63] : '=';
        out[o++] = '=';
    }
    out[o] = '\0';
    return (int)o;
}

/* The 6-bit value of an alphabet character, or -1. */
static int sextet(char c) {
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

int cq_base64_decode(const char *in, size_t len, uint8_t *out, size_t cap) {
    if (len % 4 != 0)
        return CQ_EMALFORMED;
    size_t o = 0;
    for (size_t i = 0; i < len; i += 4) {
        bool last = i + 4 == len;
        int pad = 0;
        if (last && in[i + 3] == '=')
            pad = in[i + 2] == '=' ? 2 : 1;
        int s[4];
        for (int k = 0; k < 4 - pad; k++) {
            s[k] = sextet(in[i + (size_t)k]);
            if (s[k] < 0)
                return CQ_EMALFORMED;
        }
        for (int k = 4 - pad; k < 4; k++)
            s[k] = 0;
        /* With two pads, the second character's low 4 bits are unused and must be zero;
         * with one, the third character's low 2 bits. Anything else would let two
         * encodings stand for the same key. */
        if ((pad == 2 && (s[1] & 15) != 0) || (pad == 1 && (s[2] & 3) != 0))
            return CQ_EMALFORMED;
        size_t n = (size_t)(3 - pad);
        if (o + n > cap)
            return CQ_ENOBUFS;
        uint32_t v =
            (uint32_t)s[0] << 18 | (uint32_t)s[1] << 12 | (uint32_t)s[2] << 6 | (uint32_t)s[3];
        out[o++] = (uint8_t)(v >> 16);
        if (n > 1)
            out[o++] = (uint8_t)(v >> 8);
        if (n > 2)
            out[o++] = (uint8_t)v;
    }
    return (int)o;
}
