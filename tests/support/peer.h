/*
 * A telecentre endpoint for relay tests, built only from rtp/ and relay/udp.h: it binds
 * to the relay over ICE-lite (a real, authenticated STUN Binding request), then sends and
 * receives real SRTP. Deliberately independent of the relay's own session code, so tests
 * that use it check the relay from the outside, as a client would.
 *
 * Single-threaded and blocking with bounded waits; for tests only.
 */
#ifndef CQ_TEST_PEER_H
#define CQ_TEST_PEER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "relay/relay.h"
#include "relay/udp.h"
#include "rtp/rtcp.h"
#include "rtp/srtp.h"

typedef struct {
    cq_udp_t udp;
    cq_udp_addr_t relay;
    char relay_ufrag[32], relay_pwd[64], local_ufrag[32];
    cq_srtp_t tx, rx;
    cq_udp_addr_t mapped; /* the address the relay saw, from its Binding response */
    uint64_t tid_counter;
    /* What arrived and was not what the caller waited for. */
    unsigned stun_received, auth_failures, other_received;
} cq_test_peer_t;

typedef struct {
    const char *relay_ip;
    uint16_t relay_port;
    const char *relay_ufrag, *relay_pwd, *local_ufrag;
    cq_srtp_suite_t suite;
    const uint8_t *key_tx, *key_rx; /* master key + salt, cq_srtp_key_len(suite) bytes */
    const char *bind_ip;            /* "127.0.0.1" by default */
} cq_test_peer_config_t;

/* Opens the socket and SRTP contexts. Returns 0 or a CQ_E / negated errno code. */
int cq_test_peer_open(cq_test_peer_t *p, const cq_test_peer_config_t *cfg);
void cq_test_peer_close(cq_test_peer_t *p);

/* Sends an authenticated Binding request (USE-CANDIDATE when nominate) and waits up to
 * timeout_ms for the matching success response, checking its MESSAGE-INTEGRITY and
 * FINGERPRINT. Returns 0, the STUN error code as a negative number (-401, -487),
 * CQ_EAUTH (a response that does not verify) or CQ_EAGAIN (no answer in time). */
int cq_test_peer_bind(cq_test_peer_t *p, bool nominate, int timeout_ms);

/* A test telecentre's parameters: what a test chooses; the rest (ICE credentials from tag
 * and id, GCM keys that differ per participant and direction, subscribed to everyone) is
 * filled the same way in every relay test. */
typedef struct {
    const char *tag;     /* names its ICE ufrag and password (ICE: at least 4 and 22 characters) */
    uint32_t id;         /* participant id, > 0 */
    uint32_t audio_ssrc; /* 0: sends no sound */
    unsigned video_layers; /* 0: sends no video */
    uint32_t video_ssrc;   /* layer l's SSRC is video_ssrc + l ... */
    uint32_t rtx_ssrc;     /* ... and its RTX SSRC rtx_ssrc + l */
} cq_test_telecentre_t;

void cq_test_participant_params(const cq_test_telecentre_t *t, cq_relay_participant_params_t *p);

/* What a telecentre does to join: adds participant p to session of relay (media on port),
 * opens peer with p's credentials and keys (it protects with key_in and unprotects with
 * key_out, as the relay does the reverse) and binds with a nominating check. Returns 0 or
 * the first error; on error the peer is closed. */
int cq_test_peer_join(cq_test_peer_t *peer, struct cq_relay *relay, uint32_t session, uint16_t port,
                      const cq_relay_participant_params_t *p);

/* The set-up most relay tests share: a relay with one worker on 127.0.0.1, one session,
 * and the n telecentres t[] joined to it in order (params into p[], peers into peer[]).
 * Returns 0 or the first error; on error whatever was opened is closed again. */
int cq_test_relay_open(struct cq_relay **relay, uint32_t session, const cq_test_telecentre_t *t,
                       size_t n, cq_relay_participant_params_t *p, cq_test_peer_t *peer);

/* Closes the n peers and destroys the relay. */
void cq_test_relay_close(struct cq_relay *relay, cq_test_peer_t *peer, size_t n);

/* Sends raw bytes to the relay (garbage, replays, forged packets). */
int cq_test_peer_send_raw(cq_test_peer_t *p, const uint8_t *data, size_t len);

/* Protects the plain RTP packet [pkt, pkt + len) and sends it. Returns 0 or an error. */
int cq_test_peer_send_rtp(cq_test_peer_t *p, const uint8_t *pkt, size_t len);
int cq_test_peer_send_rtcp(cq_test_peer_t *p, const uint8_t *pkt, size_t len);

/* Waits up to timeout_ms for the next SRTP or SRTCP packet from the relay and unprotects
 * it into out. Returns its plain length with *is_rtcp set, or CQ_EAGAIN on time-out.
 * Packets that fail to unprotect are counted in auth_failures and skipped. */
int cq_test_peer_recv(cq_test_peer_t *p, uint8_t *out, size_t cap, bool *is_rtcp, int timeout_ms);

/* Called for each packet of each SRTCP compound a peer receives; returning true ends the
 * scan after that compound. */
typedef bool (*cq_test_rtcp_visit_fn)(const cq_rtcp_header_t *h, void *ctx);

/* Receives on p (media is skipped) until a compound made visit return true, or nothing
 * arrives for quiet_ms (bounded: at most 1000 datagrams). Returns whether visit did. */
bool cq_test_peer_scan_rtcp(cq_test_peer_t *p, int quiet_ms, cq_test_rtcp_visit_fn visit,
                            void *ctx);

#endif
