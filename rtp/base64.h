/*
 * Base64 (RFC 4648 §4, the standard alphabet with '=' padding) into caller buffers.
 *
 * chasqui uses it for SRTP keying material in the JSON join answer, where a key that
 * decodes "almost right" is worse than one that fails: the decoder is strict. It rejects
 * characters outside the alphabet (whitespace included), missing or misplaced padding,
 * and non-zero bits in the last character's unused low bits, so every byte string has
 * exactly one accepted encoding.
 */
#ifndef CQ_RTP_BASE64_H
#define CQ_RTP_BASE64_H

#include <stddef.h>
#include <stdint.h>

/* Characters needed to encode len bytes, not counting a NUL. */
static inline size_t cq_base64_encoded_size(size_t len) {
    return (len + 2) / 3 * 4;
}

/* Upper bound of the bytes a text of len characters decodes to. */
static inline size_t cq_base64_decoded_max(size_t len) {
    return len / 4 * 3;
}

/* Encodes [data, data + len) into out, NUL-terminated. Returns the number of characters
 * (without the NUL), or CQ_ENOBUFS if cap < cq_base64_encoded_size(len) + 1. */
int cq_base64_encode(const uint8_t *data, size_t len, char *out, size_t cap);

/* Decodes the text [in, in + len) into out. Returns the number of bytes, or CQ_EMALFORMED
 * (length not a multiple of 4, a character outside the alphabet, bad padding, non-zero
 * unused bits), or CQ_ENOBUFS when out is too small (out may be partly written then). */
int cq_base64_decode(const char *in, size_t len, uint8_t *out, size_t cap);

#endif
