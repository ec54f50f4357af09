#include "cc/minwin.h"

#include <string.h>

void cq_minwin_init_slots(cq_minwin_t *w, unsigned slots, int64_t slot_us) {
    memset(w, 0, sizeof *w);
    w->seconds = slots < 1 ? 1 : slots > CQ_MINWIN_MAX_SECONDS ? CQ_MINWIN_MAX_SECONDS : slots;
    w->slot_us = slot_us < 1 ? 1 : slot_us;
}

void cq_minwin_init(cq_minwin_t *w, unsigned seconds) {
    cq_minwin_init_slots(w, seconds, 1000000);
}

double cq_minwin_update(cq_minwin_t *w, double v, int64_t now_us) {
    int64_t sec = now_us / w->slot_us;
    if (!w->started || sec >= w->sec + (int64_t)w->seconds) {
        /* Every slot is v: a second without values adds nothing below it. */
        for (unsigned k = 0; k < w->seconds; k++)
            w->least[k] = v;
        w->sec = sec;
        w->started = true;
    }
    for (; w->sec < sec; w->sec++)
        w->least[(w->sec + 1) % w->seconds] = v;
    double *slot = &w->least[w->sec % w->seconds];
    if (v < *slot)
        *slot = v;
    double least = *slot;
    for (unsigned k = 0; k < w->seconds; k++)
        least = w->least[k] < least ? w->least[k] : least;
    return least;
}
