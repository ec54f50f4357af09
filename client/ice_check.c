#include "client/ice_check.h"

#include <stdio.h>
#include <string.h>

#include "rtp/error.h"

/* RFC 8445 §5.1.2.1 priority of a host candidate (type 126, local 65535, component 1). */
#define HOST_PRIORITY 0x7effffffu

int cq_ice_check_write(const cq_ice_check_config_t *cfg, const uint8_t tid[CQ_STUN_TID_SIZE],
                       bool nominate, uint8_t *buf, size_t cap) {
    char username[160];
    int ulen = snprintf(username, sizeof username, "%s:%s", cfg->relay_ufrag, cfg->local_ufrag);
    if (ulen < 0 || (size_t)ulen >= sizeof username)
        return CQ_EINVAL;
    cq_stun_writer_t w;
    int rc;
    if ((rc = cq_stun_writer_init(&w, buf, cap, CQ_STUN_METHOD_BINDING, CQ_STUN_CLASS_REQUEST,
                                  tid)) < 0 ||
        (rc = cq_stun_add_username(&w, username, (size_t)ulen)) < 0 ||
        (rc = cq_stun_add_priority(&w, HOST_PRIORITY)) < 0 ||
        (rc = cq_stun_add_ice_controlling(&w, cfg->tie_breaker)) < 0 ||
        (nominate && (rc = cq_stun_add_use_candidate(&w)) < 0) ||
        (rc = cq_stun_add_message_integrity(&w, (const uint8_t *)cfg->relay_pwd,
                                            strlen(cfg->relay_pwd))) < 0 ||
        (rc = cq_stun_add_fingerprint(&w)) < 0)
        return rc;
    return (int)cq_stun_writer_len(&w);
}

int cq_ice_check_answer(const cq_ice_check_config_t *cfg, const uint8_t tid[CQ_STUN_TID_SIZE],
                        const uint8_t *buf, size_t len, cq_stun_addr_t *mapped) {
    cq_stun_view_t v;
    if (cq_stun_parse(buf, len, &v) < 0 || v.method != CQ_STUN_METHOD_BINDING ||
        (v.cls != CQ_STUN_CLASS_SUCCESS && v.cls != CQ_STUN_CLASS_ERROR) ||
        memcmp(v.tid, tid, CQ_STUN_TID_SIZE) != 0)
        return CQ_ENOENT;
    if (cq_stun_check_fingerprint(buf, len, &v) != 0)
        return CQ_EAUTH;
    /* A 401 comes without integrity (the relay could not key it); other answers carry it. */
    if (v.cls == CQ_STUN_CLASS_ERROR && v.error_code == 401)
        return -401;
    if (cq_stun_check_integrity(buf, len, &v, (const uint8_t *)cfg->relay_pwd,
                                strlen(cfg->relay_pwd)) != 0)
        return CQ_EAUTH;
    if (v.cls == CQ_STUN_CLASS_ERROR)
        return -(int)v.error_code;
    if (mapped != NULL && (v.attrs & CQ_STUN_HAS_XOR_MAPPED_ADDRESS))
        *mapped = v.xor_mapped_address;
    return 0;
}
