#include "rtp/srtp.h"

#include <limits.h>
#include <stdbool.h>
#include <pthread.h>
#include <string.h>

#include "rtp/base64.h"
#include "rtp/error.h"

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static srtp_err_status_t global_status = srtp_err_status_init_fail;

static void global_init_once(void) {
    global_status = srtp_init();
}

int cq_srtp_global_init(void) {
    pthread_once(&global_once, global_init_once);
    return global_status == srtp_err_status_ok ? 0 : CQ_ECRYPTO;
}

size_t cq_srtp_key_len(cq_srtp_suite_t suite) {
    switch (suite) {
    case CQ_SRTP_AES_CM_128_HMAC_SHA1_80:
        return CQ_SRTP_AES_CM_KEY_LEN;
    case CQ_SRTP_AEAD_AES_128_GCM:
        return CQ_SRTP_AES_GCM_KEY_LEN;
    }
    return 0;
}

size_t cq_srtp_rtp_overhead(cq_srtp_suite_t suite) {
    switch (suite) {
    case CQ_SRTP_AES_CM_128_HMAC_SHA1_80:
        return 10;
    case CQ_SRTP_AEAD_AES_128_GCM:
        return 16;
    }
    return 0;
}

size_t cq_srtp_rtcp_overhead(cq_srtp_suite_t suite) {
    size_t tag = cq_srtp_rtp_overhead(suite);
    return tag == 0 ? 0 : tag + 4; /* E flag + 31-bit SRTCP index */
}

const char *cq_srtp_suite_name(cq_srtp_suite_t suite) {
    switch (suite) {
    case CQ_SRTP_AES_CM_128_HMAC_SHA1_80:
        return "AES_CM_128_HMAC_SHA1_80";
    case CQ_SRTP_AEAD_AES_128_GCM:
        return "AEAD_AES_128_GCM";
    }
    return NULL;
}

int cq_srtp_suite_from_name(const char *name, cq_srtp_suite_t *suite) {
    static const cq_srtp_suite_t all[] = {CQ_SRTP_AES_CM_128_HMAC_SHA1_80,
                                          CQ_SRTP_AEAD_AES_128_GCM};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        if (strcmp(name, cq_srtp_suite_name(all[i])) == 0) {
            *suite = all[i];
            return 0;
        }
    }
    return CQ_EUNSUPPORTED;
}

#define CQ_SRTP_STATUS_MAP(X)                                                                      \
    X(ok, 0)                                                                                       \
    X(fail, CQ_ECRYPTO)                                                                            \
    X(bad_param, CQ_EINVAL)                                                                        \
    X(alloc_fail, CQ_ENOMEM)                                                                       \
    X(dealloc_fail, CQ_ECRYPTO)                                                                    \
    X(init_fail, CQ_ECRYPTO)                                                                       \
    X(terminus, CQ_ENOBUFS)                                                                        \
    X(auth_fail, CQ_EAUTH)                                                                         \
    X(cipher_fail, CQ_ECRYPTO)                                                                     \
    X(replay_fail, CQ_EREPLAY)                                                                     \
    X(replay_old, CQ_EREPLAY)                                                                      \
    X(algo_fail, CQ_ECRYPTO)                                                                       \
    X(no_such_op, CQ_ENOTSUP)                                                                      \
    X(no_ctx, CQ_EBADSTATE)                                                                        \
    X(cant_check, CQ_ECRYPTO)                                                                      \
    X(key_expired, CQ_EBADSTATE)                                                                   \
    X(socket_err, CQ_ECRYPTO)                                                                      \
    X(signal_err, CQ_ECRYPTO)                                                                      \
    X(nonce_bad, CQ_EAUTH)                                                                         \
    X(read_fail, CQ_ECRYPTO)                                                                       \
    X(write_fail, CQ_ECRYPTO)                                                                      \
    X(parse_err, CQ_EMALFORMED)                                                                    \
    X(encode_err, CQ_ECRYPTO)                                                                      \
    X(semaphore_err, CQ_ECRYPTO)                                                                   \
    X(pfkey_err, CQ_ECRYPTO)                                                                       \
    X(bad_mki, CQ_EAUTH)                                                                           \
    X(pkt_idx_old, CQ_EREPLAY)                                                                     \
    X(pkt_idx_adv, CQ_EBADSTATE)

const char *cq_srtp_status_name(int status) {
    switch (status) {
#define STATUS_NAME(name, err)                                                                     \
    case srtp_err_status_##name:                                                                   \
        return "srtp_err_status_" #name;
        CQ_SRTP_STATUS_MAP(STATUS_NAME)
#undef STATUS_NAME
    }
    return "srtp_err_status_unknown";
}

int cq_srtp_status_to_error(int status) {
    switch (status) {
#define STATUS_ERR(name, err)                                                                      \
    case srtp_err_status_##name:                                                                   \
        return err;
        CQ_SRTP_STATUS_MAP(STATUS_ERR)
#undef STATUS_ERR
    }
    return CQ_ECRYPTO;
}

static int fail(cq_srtp_t *s, srtp_err_status_t st) {
    s->last_status = (int)st;
    return cq_srtp_status_to_error((int)st);
}

int cq_srtp_init(cq_srtp_t *s, cq_srtp_suite_t suite, cq_srtp_direction_t direction,
                 const uint8_t *key, size_t key_len, unsigned replay_window) {
    memset(s, 0, sizeof *s);
    s->suite = suite;
    s->direction = direction;
    size_t want = cq_srtp_key_len(suite);
    if (want == 0 || key_len != want ||
        (direction != CQ_SRTP_INBOUND && direction != CQ_SRTP_OUTBOUND))
        return CQ_EINVAL;
    if (replay_window == 0)
        replay_window = CQ_SRTP_DEFAULT_REPLAY_WINDOW;
    if (replay_window < 64 || replay_window > CQ_SRTP_MAX_REPLAY_WINDOW)
        return CQ_EINVAL;
    int err = cq_srtp_global_init();
    if (err != 0) {
        s->last_status = (int)global_status;
        return err;
    }

    srtp_policy_t policy;
    memset(&policy, 0, sizeof policy);
    if (suite == CQ_SRTP_AEAD_AES_128_GCM) {
        srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtp);
        srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtcp);
    } else {
        srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtp);
        srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtcp);
    }
    policy.ssrc.type = direction == CQ_SRTP_INBOUND ? ssrc_any_inbound : ssrc_any_outbound;
    /* libsrtp2 copies the key into the session; the const cast is its API's, not a write. */
    policy.key = (unsigned char *)(uintptr_t)key;
    policy.window_size = replay_window;
    /* A repeated outbound index is a bug in our rewriting, never a wish: refuse it. */
    policy.allow_repeat_tx = 0;
    policy.next = NULL;

    srtp_err_status_t st = srtp_create(&s->session, &policy);
    if (st != srtp_err_status_ok) {
        s->session = NULL;
        return fail(s, st);
    }
    return 0;
}

void cq_srtp_close(cq_srtp_t *s) {
    if (s->session != NULL)
        srtp_dealloc(s->session);
    s->session = NULL;
}

/* libsrtp2 takes int lengths; datagrams are far smaller, but check rather than wrap. */
static int to_int_len(size_t len, int *out) {
    if (len > INT_MAX - SRTP_MAX_TRAILER_LEN)
        return CQ_EINVAL;
    *out = (int)len;
    return 0;
}

static int protect(cq_srtp_t *s, uint8_t *pkt, size_t *len, size_t cap, bool rtcp) {
    if (s->session == NULL || s->direction != CQ_SRTP_OUTBOUND)
        return CQ_EINVAL;
    if (cap < *len || cap - *len < CQ_SRTP_PROTECT_HEADROOM)
        return CQ_ENOBUFS;
    int n;
    if (to_int_len(*len, &n) != 0)
        return CQ_EINVAL;
    srtp_err_status_t st =
        rtcp ? srtp_protect_rtcp(s->session, pkt, &n) : srtp_protect(s->session, pkt, &n);
    if (st != srtp_err_status_ok)
        return fail(s, st);
    *len = (size_t)n;
    return 0;
}

static int unprotect(cq_srtp_t *s, uint8_t *pkt, size_t *len, bool rtcp) {
    if (s->session == NULL || s->direction != CQ_SRTP_INBOUND)
        return CQ_EINVAL;
    /* Shorter than a header and a tag cannot be SRTP; libsrtp2 checks too, but saying
     * "truncated" here gives a clearer counter than its generic parse error. */
    size_t min = (rtcp ? 8 : 12) + cq_srtp_rtp_overhead(s->suite);
    if (*len < min)
        return CQ_ETRUNCATED;
    int n;
    if (to_int_len(*len, &n) != 0)
        return CQ_EINVAL;
    srtp_err_status_t st =
        rtcp ? srtp_unprotect_rtcp(s->session, pkt, &n) : srtp_unprotect(s->session, pkt, &n);
    if (st != srtp_err_status_ok)
        return fail(s, st);
    *len = (size_t)n;
    return 0;
}

int cq_srtp_protect(cq_srtp_t *s, uint8_t *pkt, size_t *len, size_t cap) {
    return protect(s, pkt, len, cap, false);
}

int cq_srtp_unprotect(cq_srtp_t *s, uint8_t *pkt, size_t *len) {
    return unprotect(s, pkt, len, false);
}

int cq_srtp_protect_rtcp(cq_srtp_t *s, uint8_t *pkt, size_t *len, size_t cap) {
    return protect(s, pkt, len, cap, true);
}

int cq_srtp_unprotect_rtcp(cq_srtp_t *s, uint8_t *pkt, size_t *len) {
    return unprotect(s, pkt, len, true);
}

int cq_srtp_key_to_base64(cq_srtp_suite_t suite, const uint8_t *key, size_t key_len, char *out,
                          size_t cap) {
    size_t want = cq_srtp_key_len(suite);
    if (want == 0 || key_len != want)
        return CQ_EINVAL;
    return cq_base64_encode(key, key_len, out, cap);
}

int cq_srtp_key_from_base64(cq_srtp_suite_t suite, const char *b64, size_t len, uint8_t *key,
                            size_t cap) {
    size_t want = cq_srtp_key_len(suite);
    if (want == 0)
        return CQ_EINVAL;
    uint8_t tmp[CQ_SRTP_MAX_KEY_LEN + 3];
    int n = cq_base64_decode(b64, len, tmp, sizeof tmp);
    if (n == CQ_ENOBUFS)
        return CQ_EINVAL; /* longer than any suite's key */
    if (n < 0)
        return n;
    if ((size_t)n != want)
        return CQ_EINVAL;
    if (cap < want)
        return CQ_ENOBUFS;
    memcpy(key, tmp, want);
    return n;
}
