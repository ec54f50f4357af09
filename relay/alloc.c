#include "relay/alloc.h"

#include <string.h>

/* The options of one stream, cheapest first: layer 0 at every frame rate, then each layer
 * above at its full frame rate only. A larger picture at half the frame rate (7.5 of a
 * telecentre's 15 pictures a second) looks worse than a smaller one that moves, and is
 * under the 10 a second a conversation needs: frame rate goes before resolution. */
#define MAX_OPTIONS (CQ_ALLOC_SPATIAL * CQ_ALLOC_TEMPORAL)

typedef struct {
    cq_alloc_choice_t at[MAX_OPTIONS];
    uint32_t price[MAX_OPTIONS];
    int n;
    int prev;         /* index of the last run's choice; -1: paused or none */
    int current;      /* index chosen so far in this run; -1: paused */
    bool hold;        /* stepped down lately: no step up yet */
    bool larger_hold; /* stepped down to a smaller picture lately: no larger one yet
                         (CQ_ALLOC_LASTED_US) */
    bool frozen;      /* nothing measured: it stays lowest until something is */
    bool fresh;       /* its first run with a price (cq_alloc_stream_t.priced) */
} options_t;

void cq_alloc_steady_init(cq_alloc_steady_t *st) {
    cq_minwin_init(&st->least, CQ_ALLOC_STEADY_SECONDS);
    st->last_bps = 0;
}

uint32_t cq_alloc_steady_update(cq_alloc_steady_t *st, uint32_t budget_bps, uint64_t now_us) {
    if (budget_bps > st->last_bps * CQ_ALLOC_PROBED_JUMP)
        cq_minwin_init(&st->least, CQ_ALLOC_STEADY_SECONDS);
    st->last_bps = budget_bps;
    return (uint32_t)cq_minwin_update(&st->least, budget_bps, (int64_t)now_us);
}

uint32_t cq_alloc_demand_bps(const cq_alloc_result_t *r) {
    double want = r->want_bps * CQ_ALLOC_UP_HEADROOM;
    if (want < r->probe_bps)
        want = r->probe_bps;
    return want > UINT32_MAX ? UINT32_MAX : (uint32_t)want;
}

static uint32_t larger_wait_us(const cq_alloc_stream_t *s) {
    return s->larger_hold_us ? s->larger_hold_us : CQ_ALLOC_UP_HOLD_US;
}

void cq_alloc_stream_init(cq_alloc_stream_t *s) {
    memset(s, 0, sizeof *s);
    s->max_temporal = CQ_ALLOC_TEMPORAL - 1;
}

static uint32_t scaled(uint32_t bps, uint64_t factor) {
    uint64_t v = (uint64_t)bps * factor;
    return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

/* What forwarding (sp, t) costs: measured, or (for a layer not arriving) the layer
 * below's cost scaled up; 0 when nothing below is measured either. */
static uint32_t price_of(const cq_alloc_stream_t *s, int sp, unsigned t) {
    uint64_t factor = 1;
    for (int k = sp; k >= 0; k--, factor *= CQ_ALLOC_LAYER_FACTOR) {
        for (int u = (int)t; u >= 0; u--)
            if (s->rate_bps[k][u] != 0)
                return scaled(s->rate_bps[k][u], factor);
    }
    return 0;
}

static void options_build(const cq_alloc_stream_t *s, uint64_t now_us, options_t *o) {
    o->n = 0;
    o->prev = -1;
    o->current = -1;
    int top = s->max_spatial < (int)s->layers - 1 ? s->max_spatial : (int)s->layers - 1;
    if (top > CQ_ALLOC_SPATIAL - 1)
        top = CQ_ALLOC_SPATIAL - 1; /* rate_bps has no room for more, whatever layers says */
    for (int sp = 1; sp <= top; sp++)
        if ((unsigned)s->slow >> sp & 1u)
            top = sp - 1;
    unsigned tmax =
        s->max_temporal < CQ_ALLOC_TEMPORAL - 1 ? s->max_temporal : CQ_ALLOC_TEMPORAL - 1;
    for (int sp = 0; sp <= top; sp++) {
        unsigned tmin = sp == 0 ? 0 : tmax;
        for (unsigned t = tmin; t <= tmax; t++) {
            o->at[o->n] = (cq_alloc_choice_t){.spatial = (int8_t)sp, .temporal = (uint8_t)t};
            o->price[o->n] = price_of(s, sp, t);
            /* The last run's choice, or the highest option not above it (the limits may
             * have come down since). */
            if (s->choice.spatial > sp || (s->choice.spatial == sp && s->choice.temporal >= t))
                o->prev = o->n;
            o->n++;
        }
    }
    o->hold = s->down_us != 0 && now_us - s->down_us < CQ_ALLOC_UP_HOLD_US;
    o->larger_hold = s->smaller_us != 0 && now_us - s->smaller_us < larger_wait_us(s);
    o->fresh = !s->priced;
    o->frozen = true;
    for (int k = 0; k < o->n; k++)
        if (o->price[k] != 0)
            o->frozen = false;
}

/* What is left to share: of the budget now, and of the steady budget (which may be
 * overspent: only a larger picture has to fit it). */
typedef struct {
    uint32_t now;
    int64_t steady;
    bool larger_ok;             /* the gap since the last larger picture has passed */
    const options_t *larger_by; /* the stream that took one in this run; NULL: none */
} purse_t;

/* Whether option j is a larger picture than the last run's choice. */
static bool larger_than_before(const options_t *o, int j) {
    return o->prev < 0 ? o->at[j].spatial > 0 : o->at[j].spatial > o->at[o->prev].spatial;
}

/* Whether moving to option j brings a keyframe the gap between them is for: a larger
 * picture than what is forwarded now (until its first price, the caller forwards the top,
 * and nothing is larger than that). */
static bool keyframe_step(const options_t *o, int j) {
    return !o->fresh && larger_than_before(o, j);
}

/* Whether s may move from its current option to option j with what is left in *left;
 * steps above the last run's choice need headroom, and a step to a larger picture than
 * the last run's must fit the steady budget too, and be the only one for a while. */
static bool fits(const options_t *o, int j, const purse_t *left) {
    uint32_t mine = o->current >= 0 ? o->price[o->current] : 0;
    double need = o->price[j];
    if (j > o->prev)
        need *= CQ_ALLOC_UP_HEADROOM;
    if (need > (double)left->now + mine)
        return false;
    if (keyframe_step(o, j) && (left->larger_by != NULL ? left->larger_by != o : !left->larger_ok))
        return false; /* one stream's larger picture at a time (it may climb on in this run) */
    return !larger_than_before(o, j) || need <= (double)(left->steady + mine);
}

static void spend(purse_t *left, uint32_t was, uint32_t now) {
    left->now = left->now + was - now;
    left->steady += (int64_t)was - (int64_t)now;
}

/* One step up for s if it fits: updates *left. */
static bool step_up(options_t *o, purse_t *left) {
    int j = o->current + 1;
    if (o->current < 0 || o->frozen || j >= o->n || (j > o->prev && o->hold) ||
        (o->larger_hold && larger_than_before(o, j)) || !fits(o, j, left))
        return false;
    spend(left, o->price[o->current], o->price[j]);
    if (keyframe_step(o, j))
        left->larger_by = o;
    o->current = j;
    return true;
}

typedef enum {
    CLIMB_FLOOR,  /* every stream, within layer 0 up to CQ_ALLOC_FLOOR_TEMPORAL */
    CLIMB_OTHERS, /* the streams without priority, as far as they fit */
} climb_t;

/* Steps streams up one at a time, in service order, round after round while any moves:
 * equal streams climb together rather than the first served taking it all. */
static void climb_in_turns(options_t *opts, const cq_alloc_stream_t *s, const size_t *order,
                           size_t m, climb_t which, purse_t *left) {
    for (bool moved = true; moved;) {
        moved = false;
        for (size_t k = 0; k < m; k++) {
            options_t *o = &opts[k];
            int j = o->current + 1;
            bool may = which == CLIMB_FLOOR
                           ? o->current >= 0 && j < o->n && o->at[j].spatial == 0 &&
                                 o->at[j].temporal <= CQ_ALLOC_FLOOR_TEMPORAL
                           : !s[order[k]].priority;
            if (may && step_up(o, left))
                moved = true;
        }
    }
}

/* The budget a step up of o would need: what is spent plus its extra with headroom. */
static uint32_t probe_for(const options_t *o, uint32_t spent) {
    if (o->n > 0 && o->current < 0 && o->price[0] > 0)
        return spent + (uint32_t)(o->price[0] * CQ_ALLOC_RESUME_HEADROOM); /* to resume */
    int j = o->current + 1;
    /* Nothing to ask for while held, or in the very run that stepped down. */
    if (o->current < 0 || o->frozen || j >= o->n || o->hold || o->current < o->prev ||
        (o->larger_hold && larger_than_before(o, j)))
        return 0;
    double extra = o->price[j] * CQ_ALLOC_UP_HEADROOM - o->price[o->current];
    return extra > 0 ? spent + (uint32_t)extra : 0;
}

void cq_alloc_run(uint32_t budget_bps, uint32_t steady_bps, cq_alloc_stream_t *s, size_t n,
                  uint64_t now_us, cq_alloc_result_t *out) {
    uint64_t larger_us = out->larger_us;
    memset(out, 0, sizeof *out);
    out->larger_us = larger_us;
    for (size_t i = 0; i < n; i++)
        out->audio_bps += s[i].audio_bps;
    purse_t left = {.now = budget_bps > out->audio_bps ? budget_bps - out->audio_bps : 0,
                    .steady = (int64_t)steady_bps - out->audio_bps,
                    .larger_ok = larger_us == 0 || now_us - larger_us >= CQ_ALLOC_LARGER_GAP_US};

    /* The order streams are served in: priority first, each group in the caller's order. */
    size_t order[CQ_ALLOC_MAX_STREAMS] = {0};
    size_t m = 0;
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < n && m < sizeof order / sizeof order[0]; i++)
            if (s[i].priority == (pass == 0))
                order[m++] = i;

    options_t opts[CQ_ALLOC_MAX_STREAMS];
    /* Whether a stream's lowest option fits is judged on what the streams that fit leave:
     * one kept over the budget leaves nothing, and the streams after it, which would fit
     * if it went, would run out their second and be paused in its place. */
    uint32_t fit_left = left.now;
    for (size_t k = 0; k < m; k++) {
        cq_alloc_stream_t *st = &s[order[k]];
        options_t *o = &opts[k];
        options_build(st, now_us, o);
        if (o->n == 0 || o->price[0] == 0) {
            st->short_us = 0; /* a shortfall before this counts no more */
            if (o->n > 0)
                o->current = 0; /* not measured yet: nothing to share, it starts lowest */
            continue;           /* else no video, or the subscriber wants none of it */
        }
        bool paused = st->paused_us != 0;
        double need = o->price[0] * (paused ? CQ_ALLOC_RESUME_HEADROOM : 1.0);
        if (paused && (now_us - st->paused_us < CQ_ALLOC_PAUSE_MIN_US || need > left.now))
            continue; /* stays audio only */
        if (need <= fit_left) {
            st->short_us = 0;
            fit_left -= o->price[0];
        } else if (st->settling) {
            st->short_us = 0;
        } else {
            if (st->short_us == 0)
                st->short_us = now_us ? now_us : 1;
            else if (now_us >= st->short_us && now_us - st->short_us >= CQ_ALLOC_PAUSE_AFTER_US)
                continue; /* becomes audio only */
        }
        o->current = 0;
        left.steady -= o->price[0];
        left.now = o->price[0] < left.now ? left.now - o->price[0] : 0; /* may be over, for now */
    }
    /* Every picture that moves first (layer 0 up to CQ_ALLOC_FLOOR_TEMPORAL), all streams
     * in turns; then the speaker's or presenter's as large as fits, then the others in
     * turns. */
    climb_in_turns(opts, s, order, m, CLIMB_FLOOR, &left);
    for (size_t k = 0; k < m; k++)
        if (s[order[k]].priority)
            while (step_up(&opts[k], &left))
                ;
    climb_in_turns(opts, s, order, m, CLIMB_OTHERS, &left);

    for (size_t k = 0; k < m; k++) {
        cq_alloc_stream_t *st = &s[order[k]];
        options_t *o = &opts[k];
        st->priced = o->n > 0 && !o->frozen;
        if (o->n == 0) {
            st->choice = (cq_alloc_choice_t){.spatial = -1};
            st->paused_us = 0;
            st->cost_bps = 0;
            continue;
        }
        if (o->current < 0) {
            if (st->paused_us == 0) {
                st->paused_us = now_us ? now_us : 1;
                st->down_us = st->paused_us;
                st->smaller_us = st->paused_us;
                st->larger_hold_us = CQ_ALLOC_UP_HOLD_US;
            }
            st->choice = (cq_alloc_choice_t){.spatial = -1};
            st->cost_bps = 0;
            out->paused++;
            continue;
        }
        if (o->current < o->prev)
            st->down_us = now_us ? now_us : 1;
        if (o->prev >= 0 && o->at[o->current].spatial < o->at[o->prev].spatial) {
            /* The larger picture before it is judged at the descent's first step. */
            if (st->smaller_us <= st->larger_us) {
                bool lasted = st->larger_us == 0 || now_us - st->larger_us >= CQ_ALLOC_LASTED_US;
                uint64_t twice = 2u * (uint64_t)larger_wait_us(st);
                st->larger_hold_us = lasted ? CQ_ALLOC_UP_HOLD_US
                                     : twice < CQ_ALLOC_LARGER_HOLD_MAX_US
                                         ? (uint32_t)twice
                                         : CQ_ALLOC_LARGER_HOLD_MAX_US;
            }
            st->smaller_us = now_us ? now_us : 1;
        } else if (larger_than_before(o, o->current)) {
            st->larger_us = now_us ? now_us : 1; /* a resume to a larger picture too */
        }
        st->paused_us = 0;
        st->choice = o->at[o->current];
        st->cost_bps = o->price[o->current];
        out->video_bps += st->cost_bps;
    }
    if (left.larger_by != NULL)
        out->larger_us = now_us ? now_us : 1;
    uint64_t want = out->audio_bps;
    for (size_t k = 0; k < m; k++)
        if (opts[k].n > 0)
            want += opts[k].price[opts[k].n - 1];
    out->want_bps = want > UINT32_MAX ? UINT32_MAX : (uint32_t)want;
    uint32_t spent = out->audio_bps + out->video_bps;
    for (size_t k = 0; k < m && out->probe_bps == 0; k++)
        out->probe_bps = probe_for(&opts[k], spent);
}

uint32_t cq_alloc_pace_bps(uint32_t target_bps, uint32_t carried_bps) {
    double pace = target_bps * CQ_ALLOC_PACE_FACTOR;
    if (carried_bps != 0 && carried_bps < pace)
        pace = carried_bps > target_bps ? carried_bps : target_bps;
    return (uint32_t)pace;
}
