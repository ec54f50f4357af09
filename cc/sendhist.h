/*
 * What a sender put on the wire, by transport-wide sequence number: when and how big, so
 * that transport-wide feedback (which tells only when each number arrived) can be turned
 * into delays and rates. It is the sender's half of what the estimator compares.
 *
 * A ring of CQ_SENDHIST_SIZE entries indexed by the sequence number: 2048 packets are 4 s
 * at 500 packets a second (a LAN telecentre receiving five others' top layers), far longer
 * than feedback takes to come back even over VSAT; an entry that has been overwritten by a
 * later number is simply not found. The relay keeps one per receiver: at 4096 entries of
 * 32 bytes it was an eighth of a conference participant's memory (issue 8). A plain value
 * the caller owns; no allocation, no I/O.
 */
#ifndef CQ_CC_SENDHIST_H
#define CQ_CC_SENDHIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CQ_SENDHIST_SIZE 2048

/* No probe cluster (cq_sendhist_add). */
#define CQ_SENDHIST_NO_PROBE (-1)

typedef struct {
    int64_t send_us;
    uint64_t total; /* the sender's bytes sent up to and with this one (its caller's count) */
    uint16_t bytes; /* the whole datagram's payload as sent (RTP + SRTP) */
    uint16_t tseq;  /* transport-wide sequence number */
    int16_t probe;  /* probe cluster the packet was sent for, or CQ_SENDHIST_NO_PROBE */
    bool used;
    bool acked; /* a feedback already reported it received */
} cq_sendhist_entry_t;

_Static_assert(sizeof(cq_sendhist_entry_t) == 24, "an entry packs into 24 bytes");

typedef struct {
    cq_sendhist_entry_t e[CQ_SENDHIST_SIZE];
} cq_sendhist_t;

void cq_sendhist_init(cq_sendhist_t *h);

/* Records packet tseq of `bytes`, sent at send_us, for probe cluster `probe` (or
 * CQ_SENDHIST_NO_PROBE). Replaces whatever the slot held. */
void cq_sendhist_add(cq_sendhist_t *h, uint16_t tseq, size_t bytes, int64_t send_us, int probe);

/* The entry of tseq, or NULL when it was never recorded or has been overwritten. The
 * pointer is valid until the next add; the caller may set its `acked`. */
cq_sendhist_entry_t *cq_sendhist_find(cq_sendhist_t *h, uint16_t tseq);
const cq_sendhist_entry_t *cq_sendhist_get(const cq_sendhist_t *h, uint16_t tseq);

#endif
