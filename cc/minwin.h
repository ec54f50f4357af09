/*
 * The least value seen over the last few whole seconds, kept as one minimum per second in
 * a ring: the estimator's delay floor (the link's delay with no queue) and the relay's
 * ceiling on a publisher's lowest layer (the weakest receiver's share) both need the
 * minimum of something that saws, over a window long enough to span several teeth.
 *
 * A second with no value adds nothing to the minimum. Time that goes back (a reordered
 * arrival) counts in the newest second; a gap of a whole window or more starts over.
 *
 * Pure: no allocation, no I/O, no clock (the caller passes the time). A plain value.
 */
#ifndef CQ_CC_MINWIN_H
#define CQ_CC_MINWIN_H

#include <stdbool.h>
#include <stdint.h>

#define CQ_MINWIN_MAX_SECONDS 10

typedef struct {
    double least[CQ_MINWIN_MAX_SECONDS]; /* per slot; the newest at sec % seconds */
    unsigned seconds;                    /* slots */
    int64_t slot_us;                     /* how long each is: a second unless set */
    int64_t sec;                         /* the newest slot's number */
    bool started;
} cq_minwin_t;

/* A window of seconds (1..CQ_MINWIN_MAX_SECONDS; out of range is brought into it). */
void cq_minwin_init(cq_minwin_t *w, unsigned seconds);
/* A window of `slots` slots (brought into the same range) of slot_us each (at least 1): a
 * longer span at a coarser grain, the newest slot filling as the others do. */
void cq_minwin_init_slots(cq_minwin_t *w, unsigned slots, int64_t slot_us);

/* Takes v at now_us (microseconds) and returns the least value of the window, v included. */
double cq_minwin_update(cq_minwin_t *w, double v, int64_t now_us);

#endif
