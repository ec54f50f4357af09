/*
 * ICE-lite binding checks at the relay (RFC 8445 §2.5, §7.3; RFC 8489 §6.3, §9.1).
 *
 * A relay with a public address needs no candidate gathering: it is a lite agent, always
 * in the controlled role, that answers the client's Binding requests. A request that
 * authenticates with the participant's credentials (short-term: HMAC-SHA1 keyed with the
 * relay-side ICE password given in the join answer) proves the sender knows them, so the
 * relay may bind that participant to the request's 5-tuple (or move it there when its NAT
 * rebinds) and answer with the address it saw.
 *
 * The check runs in two steps because the credentials belong to the session logic:
 * cq_ice_request_ufrag names the relay-side ufrag the request is for, the caller finds the
 * participant and its password, and cq_ice_check decides. Nothing here allocates or does
 * I/O; the caller sends what cq_ice_write_* produced.
 *
 * What is answered and what is not: the relay answers only Binding requests that carry
 * USERNAME and MESSAGE-INTEGRITY. Anything less is dropped in silence, so an answer is
 * never larger than the request that caused it and the relay cannot be used to amplify a
 * spoofed flood.
 */
#ifndef CQ_RELAY_ICE_H
#define CQ_RELAY_ICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "relay/udp.h"
#include "rtp/stun.h"

typedef enum {
    CQ_ICE_DROP,    /* say nothing (not for us, unauthenticated garbage, bad fingerprint) */
    CQ_ICE_ERROR,   /* answer with result.error_code (cq_ice_write_error) */
    CQ_ICE_SUCCESS, /* authenticated: answer with cq_ice_write_success, bind or refresh */
} cq_ice_verdict_t;

typedef struct {
    cq_ice_verdict_t verdict;
    uint16_t error_code; /* 400, 401, 420 or 487 when verdict is CQ_ICE_ERROR */
    bool nominated;      /* USE-CANDIDATE: the client chose this pair */
    bool authenticated;  /* MESSAGE-INTEGRITY verified (an error answer may then carry MI) */
    uint32_t priority;   /* PRIORITY of the client's candidate, 0 if absent */
} cq_ice_result_t;

/*
 * For a parsed STUN message v: if it is a Binding request with USERNAME and
 * MESSAGE-INTEGRITY, points *ufrag at the relay-side ufrag (the part of USERNAME before the
 * colon, inside the caller's buffer) and returns 0. Otherwise returns CQ_EINVAL (not a
 * request we answer: drop it) or CQ_EMALFORMED (a USERNAME without "local:remote").
 */
int cq_ice_request_ufrag(const cq_stun_view_t *v, const char **ufrag, size_t *ufrag_len);

/*
 * Decides on a Binding request [msg, msg + len) parsed as v, for the participant whose
 * relay-side password is pwd (NULL when no participant has that ufrag). The order follows
 * RFC 8489 §6.3: a present but wrong FINGERPRINT is dropped; missing USERNAME or
 * MESSAGE-INTEGRITY is dropped too (RFC 8489 would answer 400, but an unauthenticated
 * answer is what a reflection attack wants); an unknown ufrag or wrong MESSAGE-INTEGRITY
 * is 401;
 * unknown comprehension-required attributes are 420; a client claiming the controlled
 * role is 487 (a lite agent cannot take the controlling role, RFC 8445 §7.3.1.1).
 * Fills *result; cannot fail otherwise.
 */
void cq_ice_check(const uint8_t *msg, size_t len, const cq_stun_view_t *v, const char *pwd,
                  size_t pwd_len, cq_ice_result_t *result);

/* Writes the Binding success response to request v: XOR-MAPPED-ADDRESS of from,
 * MESSAGE-INTEGRITY keyed with pwd, FINGERPRINT. Returns its length or CQ_ENOBUFS. */
int cq_ice_write_success(const cq_stun_view_t *v, const cq_udp_addr_t *from, const char *pwd,
                         size_t pwd_len, uint8_t *out, size_t cap);

/* Writes a Binding error response to request v with the code of result (and, for 420, the
 * UNKNOWN-ATTRIBUTES list). It carries MESSAGE-INTEGRITY only when the request
 * authenticated (pwd given), and FINGERPRINT always. Returns its length or CQ_ENOBUFS. */
int cq_ice_write_error(const cq_stun_view_t *v, const cq_ice_result_t *result, const char *pwd,
                       size_t pwd_len, uint8_t *out, size_t cap);

/* Converts a transport address to STUN's form and back. */
void cq_ice_addr_to_stun(const cq_udp_addr_t *a, cq_stun_addr_t *s);
void cq_ice_addr_from_stun(const cq_stun_addr_t *s, cq_udp_addr_t *a);

#endif
