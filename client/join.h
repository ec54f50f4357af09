/*
 * The join answer (docs/PROTOCOL.md "Joining"), read into what the endpoint needs: where
 * the relay listens, the ICE credentials, the SRTP suite and keys, this telecentre's SSRCs.
 * Everything is checked; a field missing or out of range names itself in the error, so an
 * operator reading the client's log learns which side is wrong.
 *
 * Pure: the caller's buffers, no I/O.
 */
#ifndef CQ_CLIENT_JOIN_H
#define CQ_CLIENT_JOIN_H

#include <stddef.h>
#include <stdint.h>

#include "client/sender.h"
#include "rtp/srtp.h"

typedef struct {
    uint32_t session, telecentre;
    char role[16]; /* presenter, participant, viewer */
    char mode[16]; /* conference, broadcast */
    char address[64];
    uint16_t port;
    char ufrag[64], pwd[64];
    cq_srtp_suite_t suite;
    uint8_t key_tx[CQ_SRTP_MAX_KEY_LEN], key_rx[CQ_SRTP_MAX_KEY_LEN];
    uint32_t audio_ssrc; /* 0 for a viewer */
    unsigned video_layers;
    uint32_t video_ssrc[CQ_SENDER_MAX_LAYERS], rtx_ssrc[CQ_SENDER_MAX_LAYERS];
    unsigned participants; /* others already there */
} cq_join_t;

/* Parses the answer [json, json + len). Returns 0, or CQ_EMALFORMED with the name of the
 * offending field in why (cap bytes). *out is only meaningful on success. */
int cq_join_parse(const char *json, size_t len, cq_join_t *out, char *why, size_t cap);

/* The session a join token is for ("cq1-<session>-..."): the client needs it for the URL
 * before the server has read the token. Returns 0 or CQ_EINVAL. */
int cq_join_token_session(const char *token, uint32_t *session);

#endif
