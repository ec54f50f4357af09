/*
 * Join tokens: what the operator gives a telecentre so it can join one session, in one
 * role, until a time. A token is printable ASCII, safe in JSON and on a command line:
 *
 *     cq1-<session>-<telecentre>-<role>-<expires>-<nonce>.<mac>
 *
 * with decimal ids and Unix time, role "presenter", "participant" or "viewer", 16 hex
 * digits of random nonce (two tokens for the same scope differ), and mac the HMAC-SHA256
 * of everything before the dot under the server's secret, in 64 lowercase hex digits.
 * Nothing is stored per token: the signature is the proof.
 */
#ifndef CQ_SIGNALING_TOKEN_H
#define CQ_SIGNALING_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#define CQ_TOKEN_MAX 192 /* longest token, NUL excluded */

typedef enum { CQ_ROLE_PRESENTER = 0, CQ_ROLE_PARTICIPANT, CQ_ROLE_VIEWER } cq_role_t;

typedef struct {
    int64_t session_id;
    int64_t telecentre_id;
    cq_role_t role;
    int64_t expires_s; /* Unix time after which the token is refused */
    char nonce[17];    /* 16 hex digits; filled by cq_token_issue */
} cq_token_claims_t;

/* "presenter", "participant", "viewer"; and back (CQ_EINVAL for anything else). */
const char *cq_token_role_name(cq_role_t role);
int cq_token_role_parse(const char *name, cq_role_t *out);

/* Writes a token for c (its nonce drawn here and stored in c) into out (cap bytes, at
 * least CQ_TOKEN_MAX + 1). Returns 0, CQ_EINVAL (ids not positive, an unknown role, a
 * secret shorter than 16 bytes) or CQ_ECRYPTO. */
int cq_token_issue(const uint8_t *secret, size_t secret_len, cq_token_claims_t *c, char *out,
                   size_t cap);

/*
 * Checks token (NUL-terminated) at time now and fills *out. Returns 0, or:
 *   CQ_EMALFORMED  not a token of this form (including one longer than CQ_TOKEN_MAX);
 *   CQ_EAUTH       its signature does not match: forged, tampered, or another server's;
 *   CQ_EEXPIRED    genuine, but past its expiry (*out is filled, so the caller can say
 *                  which session it was for).
 * The comparison of signatures takes the same time wherever they differ.
 */
int cq_token_verify(const uint8_t *secret, size_t secret_len, const char *token, int64_t now,
                    cq_token_claims_t *out);

#endif
