/*
 * SRTP and SRTCP (RFC 3711, RFC 7714) over libsrtp2.
 *
 * The relay terminates SRTP on every leg: it unprotects each packet in place with the
 * sender's inbound context and protects each forwarded copy with the receiver's outbound
 * context. One cq_srtp_t is one direction of one participant, covering every SSRC that
 * direction carries (libsrtp2's ssrc_any_* templates: a stream per SSRC is made on its
 * first packet), with one suite and one master key + salt from signaling (SDES-style).
 *
 * Suites: AEAD_AES_128_GCM (RFC 7714) is preferred: on Debian's NSS-backed libsrtp2 it
 * costs about a quarter of AES_CM_128_HMAC_SHA1_80, which stays for compatibility.
 *
 * Memory: the cq_srtp_t is caller-owned. libsrtp2 allocates its own session state inside
 * cq_srtp_init (srtp_create) and frees it in cq_srtp_close; chasqui's code calls no
 * allocator. Protect and unprotect work in the caller's buffer.
 *
 * Threads: a context is used by one thread at a time (the worker that owns the
 * participant); cq_srtp_global_init is safe to call from any thread, any number of times.
 */
#ifndef CQ_RTP_SRTP_H
#define CQ_RTP_SRTP_H

#include <stddef.h>
#include <stdint.h>

#include <srtp2/srtp.h>

typedef enum {
    CQ_SRTP_AES_CM_128_HMAC_SHA1_80 = 1,
    CQ_SRTP_AEAD_AES_128_GCM = 2,
} cq_srtp_suite_t;

typedef enum {
    CQ_SRTP_INBOUND,  /* unprotect what a peer sends */
    CQ_SRTP_OUTBOUND, /* protect what we send to a peer */
} cq_srtp_direction_t;

/* Keying material per suite: master key followed by master salt. */
#define CQ_SRTP_AES_CM_KEY_LEN  30 /* 16 + 14 */
#define CQ_SRTP_AES_GCM_KEY_LEN 28 /* 16 + 12 */
#define CQ_SRTP_MAX_KEY_LEN     30

/* Room protect may use past the packet: libsrtp2 may write up to this much (tag + MKI),
 * whatever the suite, so buffers handed to protect keep it free. */
#define CQ_SRTP_PROTECT_HEADROOM SRTP_MAX_TRAILER_LEN

/* Replay window (packets) when the caller passes 0: libsrtp2's default. Video on lossy,
 * reordering radio links may want more (up to CQ_SRTP_MAX_REPLAY_WINDOW): packets older than the
 * window are refused as replays (CQ_EREPLAY) even when genuine. */
#define CQ_SRTP_DEFAULT_REPLAY_WINDOW 128
/* libsrtp2 refuses windows of 0x8000 and more. */
#define CQ_SRTP_MAX_REPLAY_WINDOW 0x7fff

typedef struct {
    srtp_t session;
    cq_srtp_suite_t suite;
    cq_srtp_direction_t direction;
    int last_status; /* libsrtp2's srtp_err_status_t of the last failure, for log lines */
} cq_srtp_t;

/* Initialises libsrtp2 once per process. Returns 0 or CQ_ECRYPTO. cq_srtp_init calls it. */
int cq_srtp_global_init(void);

/* Keying-material length of a suite (30 or 28), or 0 for an unknown suite. */
size_t cq_srtp_key_len(cq_srtp_suite_t suite);

/* Bytes protect adds to an RTP packet (the auth tag: 10 for AES-CM-80, 16 for GCM) and to
 * an RTCP packet (tag + the 4-byte E flag and SRTCP index). 0 for an unknown suite. Used to
 * size MTU budgets: a forwarded packet grows by exactly this much. */
size_t cq_srtp_rtp_overhead(cq_srtp_suite_t suite);
size_t cq_srtp_rtcp_overhead(cq_srtp_suite_t suite);

/* Suite names as signaling spells them ("AES_CM_128_HMAC_SHA1_80", "AEAD_AES_128_GCM").
 * name returns NULL for an unknown suite; from_name returns 0 or CQ_EUNSUPPORTED. */
const char *cq_srtp_suite_name(cq_srtp_suite_t suite);
int cq_srtp_suite_from_name(const char *name, cq_srtp_suite_t *suite);

/*
 * Creates a context for one direction. key is the suite's master key + salt
 * (cq_srtp_key_len bytes; copied, the caller may wipe it afterwards). replay_window is
 * in packets (0 for the default; 64..CQ_SRTP_MAX_REPLAY_WINDOW).
 * Returns 0, CQ_EINVAL (unknown suite or direction, wrong key length, window out of
 * range), CQ_ENOMEM or CQ_ECRYPTO (libsrtp2 failed: s->last_status says why).
 * On failure *s holds no session and cq_srtp_close on it is harmless.
 */
int cq_srtp_init(cq_srtp_t *s, cq_srtp_suite_t suite, cq_srtp_direction_t direction,
                 const uint8_t *key, size_t key_len, unsigned replay_window);

/* Frees the libsrtp2 session. Safe on a failed or already closed context. */
void cq_srtp_close(cq_srtp_t *s);

/*
 * Protects the RTP packet [pkt, pkt + *len) in place; *len grows by the tag. cap is the
 * buffer's size and must be at least *len + CQ_SRTP_PROTECT_HEADROOM.
 * Returns 0, CQ_ENOBUFS (cap too small: nothing is touched), CQ_EINVAL (not an outbound
 * context, or a packet libsrtp2 cannot parse), CQ_EREPLAY (this SSRC's sequence number was
 * protected before) or another mapped libsrtp2 failure.
 */
int cq_srtp_protect(cq_srtp_t *s, uint8_t *pkt, size_t *len, size_t cap);

/*
 * Unprotects the SRTP packet [pkt, pkt + *len) in place; on success *len shrinks to the
 * plain RTP packet. Returns 0, CQ_EAUTH (tag check failed: forged, corrupted or wrong
 * key), CQ_EREPLAY (seen before, or older than the window), CQ_EMALFORMED / CQ_ETRUNCATED
 * (not an SRTP packet), or another mapped failure. On failure the packet must be dropped:
 * its bytes may have been partly decrypted.
 */
int cq_srtp_unprotect(cq_srtp_t *s, uint8_t *pkt, size_t *len);

/* The same for RTCP (SRTCP adds the E flag + index and the tag). */
int cq_srtp_protect_rtcp(cq_srtp_t *s, uint8_t *pkt, size_t *len, size_t cap);
int cq_srtp_unprotect_rtcp(cq_srtp_t *s, uint8_t *pkt, size_t *len);

/* The name of a libsrtp2 status ("srtp_err_status_auth_fail"), for log lines; never NULL. */
const char *cq_srtp_status_name(int status);

/* The CQ_E* code chasqui reports for a libsrtp2 status (0 for srtp_err_status_ok). */
int cq_srtp_status_to_error(int status);

/* Keying material to base64 for signaling (NUL-terminated into out). Returns the number
 * of characters, CQ_EINVAL (key_len does not match the suite) or CQ_ENOBUFS. */
int cq_srtp_key_to_base64(cq_srtp_suite_t suite, const uint8_t *key, size_t key_len, char *out,
                          size_t cap);

/* Keying material from base64: decodes into key (cap >= cq_srtp_key_len(suite)) and checks
 * the length against the suite. Returns the key length, CQ_EMALFORMED (not strict base64),
 * CQ_EINVAL (wrong length for the suite) or CQ_ENOBUFS. */
int cq_srtp_key_from_base64(cq_srtp_suite_t suite, const char *b64, size_t len, uint8_t *key,
                            size_t cap);

#endif
