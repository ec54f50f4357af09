/*
 * One continuous outgoing number space made from input numbers that are sometimes dropped
 * and sometimes come from a different source: the sequence numbers (16 bits) and VP8
 * PictureIDs (15 or 7 bits) a subscriber sees while the relay drops temporal layers and
 * switches between simulcast streams.
 *
 * Within a run (one source), an input maps to input + delta. Each packet the relay drops
 * on purpose takes one off delta for every newer input, so a receiver sees no hole where
 * a temporal layer was thinned out; a packet lost on the way keeps its number, so the
 * hole stays visible and the receiver can NACK it. _restart begins a new run: its first
 * input gets the number after the highest given so far, whatever the new source numbers.
 *
 * A late (reordered or repaired) input is numbered exactly as if it had come in order, as
 * long as it is newer than the run's start and the drops newer than it are still
 * remembered (CQ_SEQMAP_DROPS of them). What cannot be numbered exactly is refused rather
 * than given a number that would collide with another packet's.
 *
 * A plain value the caller owns (one per consumer and field); no allocation, no I/O.
 */
#ifndef CQ_RELAY_SEQMAP_H
#define CQ_RELAY_SEQMAP_H

#include <stdbool.h>
#include <stdint.h>

/* Drops remembered: at 30 frames/s with the top temporal layer dropped (half the frames,
 * a couple of packets each), about two seconds, longer than a repair stays useful. */
#define CQ_SEQMAP_DROPS 128

typedef struct {
    uint32_t mask;        /* size of the run's number space - 1 */
    bool started;         /* a run has begun */
    bool any_out;         /* out_highest is meaningful */
    uint32_t base_in;     /* inputs older than this belong to no run we can number */
    uint32_t in_highest;  /* newest input seen in the run, forwarded or dropped */
    uint32_t out_highest; /* newest number given, across runs */
    uint32_t delta;       /* out = in + delta for inputs newer than every remembered drop */
    uint16_t drops[CQ_SEQMAP_DROPS]; /* dropped inputs of the run, a ring, oldest first */
    unsigned ndrops, head;
} cq_seqmap_t;

/* Resets *m: no run, nothing given. */
void cq_seqmap_init(cq_seqmap_t *m);

/*
 * Begins a run at input `first` in a space of `bits` bits (2..16): the next call to
 * cq_seqmap_forward with `first` gives the number after the highest given so far (in the
 * run's space), or `first` itself if nothing was ever given. Inputs older than `first`
 * are refused from then on. Returns 0, or CQ_EINVAL for a width out of range.
 */
int cq_seqmap_restart(cq_seqmap_t *m, uint32_t first, unsigned bits);

/*
 * The outgoing number of input `in` of the current run, in *out. Returns 0, or:
 *   CQ_EBADSTATE  no run has begun;
 *   CQ_ENOENT     `in` was dropped (a late copy of a packet the relay chose to drop);
 *   CQ_EREPLAY    `in` is older than the run, or older than the drops still remembered,
 *                 so its number cannot be known exactly.
 * An input equal to the newest gives the same number again (packets of one frame share
 * a PictureID).
 */
int cq_seqmap_forward(cq_seqmap_t *m, uint32_t in, uint32_t *out);

/*
 * Records that input `in` of the current run will not be sent: newer inputs close up over
 * it. Dropping an input that is already dropped changes nothing. Returns 0, or:
 *   CQ_EBADSTATE  no run has begun;
 *   CQ_EREPLAY    `in` is older than the newest input seen and was not dropped before:
 *                 numbers were already given past it, so its hole stays (the receiver
 *                 sees it as a loss).
 */
int cq_seqmap_drop(cq_seqmap_t *m, uint32_t in);

#endif
