#include "relay/ice.h"

#include <string.h>

#include "rtp/error.h"

/* What this relay calls itself in SOFTWARE is left out on purpose: every byte of an
 * answer to an unauthenticated request is a byte an attacker could reflect. */

int cq_ice_request_ufrag(const cq_stun_view_t *v, const char **ufrag, size_t *ufrag_len) {
    if (v->method != CQ_STUN_METHOD_BINDING || v->cls != CQ_STUN_CLASS_REQUEST)
        return CQ_EINVAL;
    const uint32_t need = CQ_STUN_HAS_USERNAME | CQ_STUN_HAS_MESSAGE_INTEGRITY;
    if ((v->attrs & need) != need)
        return CQ_EINVAL;
    const char *remote;
    size_t remote_len;
    return cq_stun_username_split(v->username, v->username_len, ufrag, ufrag_len, &remote,
                                  &remote_len);
}

static void set_error(cq_ice_result_t *r, uint16_t code) {
    r->verdict = CQ_ICE_ERROR;
    r->error_code = code;
}

void cq_ice_check(const uint8_t *msg, size_t len, const cq_stun_view_t *v, const char *pwd,
                  size_t pwd_len, cq_ice_result_t *r) {
    memset(r, 0, sizeof *r);
    r->verdict = CQ_ICE_DROP;
    if (v->method != CQ_STUN_METHOD_BINDING || v->cls != CQ_STUN_CLASS_REQUEST)
        return;
    /* RFC 8489 §6.3: a FINGERPRINT that does not match means this is not STUN at all. */
    if ((v->attrs & CQ_STUN_HAS_FINGERPRINT) && cq_stun_check_fingerprint(msg, len, v) != 0)
        return;
    /* Too little to authenticate: dropping keeps answers from outgrowing requests. */
    const uint32_t need = CQ_STUN_HAS_USERNAME | CQ_STUN_HAS_MESSAGE_INTEGRITY;
    if ((v->attrs & need) != need)
        return;
    /* §9.1.3: an unknown user or a wrong HMAC is 401, without MESSAGE-INTEGRITY. */
    if (pwd == NULL || cq_stun_check_integrity(msg, len, v, (const uint8_t *)pwd, pwd_len) != 0) {
        set_error(r, 401);
        return;
    }
    r->authenticated = true;
    if (v->unknown_required_count > 0) {
        set_error(r, 420);
        return;
    }
    if (v->attrs & CQ_STUN_HAS_ICE_CONTROLLED) {
        set_error(r, 487);
        return;
    }
    r->verdict = CQ_ICE_SUCCESS;
    r->nominated = (v->attrs & CQ_STUN_HAS_USE_CANDIDATE) != 0;
    r->priority = (v->attrs & CQ_STUN_HAS_PRIORITY) ? v->priority : 0;
}

void cq_ice_addr_to_stun(const cq_udp_addr_t *a, cq_stun_addr_t *s) {
    memset(s, 0, sizeof *s);
    s->family = a->family == 6 ? CQ_STUN_FAMILY_IPV6 : CQ_STUN_FAMILY_IPV4;
    s->port = a->port;
    memcpy(s->addr, a->ip, a->family == 6 ? 16 : 4);
}

void cq_ice_addr_from_stun(const cq_stun_addr_t *s, cq_udp_addr_t *a) {
    memset(a, 0, sizeof *a);
    a->family = s->family == CQ_STUN_FAMILY_IPV6 ? 6 : 4;
    a->port = s->port;
    memcpy(a->ip, s->addr, a->family == 6 ? 16 : 4);
}

int cq_ice_write_success(const cq_stun_view_t *v, const cq_udp_addr_t *from, const char *pwd,
                         size_t pwd_len, uint8_t *out, size_t cap) {
    cq_stun_writer_t w;
    cq_stun_addr_t mapped;
    cq_ice_addr_to_stun(from, &mapped);
    int rc;
    if ((rc = cq_stun_writer_init(&w, out, cap, CQ_STUN_METHOD_BINDING, CQ_STUN_CLASS_SUCCESS,
                                  v->tid)) < 0 ||
        (rc = cq_stun_add_xor_mapped_address(&w, &mapped)) < 0 ||
        (rc = cq_stun_add_message_integrity(&w, (const uint8_t *)pwd, pwd_len)) < 0 ||
        (rc = cq_stun_add_fingerprint(&w)) < 0)
        return rc;
    return (int)cq_stun_writer_len(&w);
}

static const char *reason_of(uint16_t code) {
    switch (code) {
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 420:
        return "Unknown Attribute";
    case 487:
        return "Role Conflict";
    default:
        return "Server Error";
    }
}

int cq_ice_write_error(const cq_stun_view_t *v, const cq_ice_result_t *result, const char *pwd,
                       size_t pwd_len, uint8_t *out, size_t cap) {
    cq_stun_writer_t w;
    const char *reason = reason_of(result->error_code);
    int rc;
    if ((rc = cq_stun_writer_init(&w, out, cap, CQ_STUN_METHOD_BINDING, CQ_STUN_CLASS_ERROR,
                                  v->tid)) < 0 ||
        (rc = cq_stun_add_error_code(&w, result->error_code, reason, strlen(reason))) < 0)
        return rc;
    if (result->error_code == 420 && (rc = cq_stun_add_unknown_attributes(
                                          &w, v->unknown_required, v->unknown_required_count)) < 0)
        return rc;
    if (result->authenticated && pwd != NULL &&
        (rc = cq_stun_add_message_integrity(&w, (const uint8_t *)pwd, pwd_len)) < 0)
        return rc;
    if ((rc = cq_stun_add_fingerprint(&w)) < 0)
        return rc;
    return (int)cq_stun_writer_len(&w);
}
