/*
 * The telecentre's side of ICE-lite (RFC 8445 §2.5, §7.2): the relay answers checks and
 * never sends its own, so the client only writes Binding requests (USERNAME
 * "relay-ufrag:local-ufrag", PRIORITY, ICE-CONTROLLING, USE-CANDIDATE on every check so a
 * NAT rebinding is followed at once, MESSAGE-INTEGRITY keyed by the relay's password,
 * FINGERPRINT) and checks the answers. The same checks refresh consent (RFC 7675).
 *
 * Pure: caller-owned buffers, no I/O, no allocation.
 */
#ifndef CQ_CLIENT_ICE_CHECK_H
#define CQ_CLIENT_ICE_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rtp/stun.h"

typedef struct {
    const char *relay_ufrag, *relay_pwd; /* from the join answer */
    const char *local_ufrag;             /* anything: the relay does not check it */
    uint64_t tie_breaker;                /* random per session */
} cq_ice_check_config_t;

/* Writes a Binding request with transaction id tid into buf. Returns its length, or what
 * the STUN writer refused (CQ_ENOBUFS, CQ_EINVAL for credentials too long). */
int cq_ice_check_write(const cq_ice_check_config_t *cfg, const uint8_t tid[CQ_STUN_TID_SIZE],
                       bool nominate, uint8_t *buf, size_t cap);

/*
 * Checks a datagram as the answer to transaction tid. Returns 0 and the address the relay
 * saw (*mapped, when present), or:
 *   CQ_ENOENT   not a STUN answer to this transaction (ignore it);
 *   CQ_EAUTH    a fingerprint or integrity that does not verify (not from the relay);
 *   a negative STUN error code (-401, -487, ...) from an authenticated error answer.
 */
int cq_ice_check_answer(const cq_ice_check_config_t *cfg, const uint8_t tid[CQ_STUN_TID_SIZE],
                        const uint8_t *buf, size_t len, cq_stun_addr_t *mapped);

#endif
