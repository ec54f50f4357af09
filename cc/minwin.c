#include "cc/minwin.h"

#include <string.h>

void cq_minwin_init(cq_minwin_t *w, unsigned seconds) {
    memset(w, 0, sizeof *w);
    w->seconds = seconds < 1                       ? 1
                 : seconds > CQ_MINWIN_MAX_SECONDS ? CQ_MINWIN_MAX_SECONDS
                                                   : seconds;
}

double cq_minwin_update(cq_minwin_t *w, double v, int64_t now_us) {
    int64_t sec = now_us / 1000000;
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
