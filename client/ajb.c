#include "client/ajb.h"

#include <string.h>

#include "codec/opus_toc.h"
#include "rtp/error.h"
#include "rtp/seq.h"

/* Above the target by this much, the buffer drops a frame; below by this, it adds one. */
#define SHRINK_MARGIN_MS 10
#define GROW_MARGIN_MS   10
/* Dropping frames to catch up: the delay is judged by its least over LOOK_FRAMES played
 * (a second), so that jitter, which moves it up and down all the time, drops nothing; a
 * second whose least was over the target by more than SHRINK_MARGIN_MS lets the excess go
 * in the next: one frame in SHRINK_EVERY played (a quarter faster, which keeps up with a
 * modem's queue draining), every other frame (twice as fast) when the excess is over
 * FAR_MS, after an outage or a collapsed link delivered seconds of backlog at once.
 * Either way the next frame must be here, so that a frame dropped is followed by sound,
 * not by concealment. */
#define LOOK_FRAMES  25
#define SHRINK_EVERY 4
#define FAR_MS       200
/* Headroom over the measured spread: one frame. */
#define HEADROOM_MS 20

static int64_t ticks(int64_t us) {
    return us * 48 / 1000; /* the Opus RTP clock: 48 kHz */
}

void cq_ajb_init(cq_ajb_t *j) {
    memset(j, 0, sizeof *j);
    j->target_ms = CQ_AJB_MIN_MS;
    j->last_samples = CQ_AJB_FRAME;
}

static cq_ajb_slot_t *slot_for(cq_ajb_t *j, uint32_t ts) {
    return &j->slot[(ts / CQ_AJB_FRAME) % CQ_AJB_SLOTS];
}

/* The jitter spread of recent packets: the 95th percentile of their transit time above the
 * quickest, in ms. */
static unsigned spread_ms(const cq_ajb_t *j) {
    if (j->ntransit < 2)
        return 0;
    int64_t sorted[CQ_AJB_HISTORY];
    memcpy(sorted, j->transit, j->ntransit * sizeof sorted[0]);
    for (unsigned i = 1; i < j->ntransit; i++) /* small: insertion sort */
        for (unsigned k = i; k > 0 && sorted[k - 1] > sorted[k]; k--) {
            int64_t t = sorted[k];
            sorted[k] = sorted[k - 1];
            sorted[k - 1] = t;
        }
    int64_t p95 = sorted[(j->ntransit - 1) * 95 / 100];
    return (unsigned)((p95 - sorted[0]) / 48);
}

static int64_t min_transit(const cq_ajb_t *j) {
    int64_t m = j->transit[0];
    for (unsigned i = 1; i < j->ntransit; i++)
        if (j->transit[i] < m)
            m = j->transit[i];
    return m;
}

/* The span of the RED copies recent packets carried, in ms: a copy of a lost packet
 * comes that much after it, and is of use only if the buffer waits for it. */
static unsigned red_span_ms(const cq_ajb_t *j) {
    uint32_t m = 0;
    for (unsigned i = 0; i < j->ntransit; i++)
        if (j->red_span[i] > m)
            m = j->red_span[i];
    return m / 48;
}

static void set_target(cq_ajb_t *j) {
    /* A copy of the packet just before is what the headroom covers already; a deeper one
     * is waited for on top of it, as the jitter may delay its carrier as much as any. */
    unsigned red = red_span_ms(j);
    unsigned t = spread_ms(j) + HEADROOM_MS + (red > 20 ? red : 0) + j->hold_ms;
    j->target_ms = t < CQ_AJB_MIN_MS ? CQ_AJB_MIN_MS : t > CQ_AJB_MAX_MS ? CQ_AJB_MAX_MS : t;
}

void cq_ajb_set_hold_ms(cq_ajb_t *j, unsigned ms) {
    j->hold_ms = ms;
    set_target(j);
}

static void store(cq_ajb_slot_t *s, uint32_t ts, uint16_t samples, const uint8_t *payload,
                  size_t len, bool redundant) {
    s->used = true;
    s->ts = ts;
    s->samples = samples;
    s->len = (uint16_t)len;
    s->redundant = redundant;
    memcpy(s->data, payload, len);
}

/* The oldest packet held, or NULL. */
static cq_ajb_slot_t *oldest(cq_ajb_t *j) {
    cq_ajb_slot_t *best = NULL;
    for (unsigned i = 0; i < CQ_AJB_SLOTS; i++)
        if (j->slot[i].used && (best == NULL || cq_ts_newer(best->ts, j->slot[i].ts)))
            best = &j->slot[i];
    return best;
}

/*
 * Packet ts is a ring's length or more ahead of what plays next: the playout fell that far
 * behind (a caller that stalled, or seconds of backlog arriving at once). Rather than let
 * it overwrite a packet that has not played, the oldest go unplayed (counted as shrunk)
 * and the playout moves on to the oldest that stays.
 */
static void make_room(cq_ajb_t *j, uint32_t ts) {
    uint32_t keep_from = ts - (CQ_AJB_SLOTS - 1) * CQ_AJB_FRAME;
    for (unsigned i = 0; i < CQ_AJB_SLOTS; i++) {
        cq_ajb_slot_t *s = &j->slot[i];
        if (s->used && cq_ts_newer(keep_from, s->ts)) {
            s->used = false;
            j->shrunk++;
        }
    }
    cq_ajb_slot_t *first = oldest(j);
    j->play_ts = first != NULL ? first->ts : ts;
    j->since_shrink = 0;
}

int cq_ajb_put(cq_ajb_t *j, uint16_t seq, uint32_t ts, const uint8_t *payload, size_t len,
               int64_t arrival_us) {
    (void)seq;
    cq_opus_toc_t toc;
    if (cq_opus_toc_parse(payload, len, &toc) != 0)
        return CQ_EMALFORMED;
    if (len > CQ_AJB_PAYLOAD)
        return CQ_ENOBUFS;
    j->transit[j->next_transit] = ticks(arrival_us) - (int64_t)ts;
    j->red_span[j->next_transit] = j->pending_span;
    j->pending_span = 0;
    j->next_transit = (j->next_transit + 1) % CQ_AJB_HISTORY;
    if (j->ntransit < CQ_AJB_HISTORY)
        j->ntransit++;
    set_target(j);
    if (j->started && !cq_ts_newer(ts, j->play_ts) && ts != j->play_ts) {
        j->late++;
        return CQ_EREPLAY;
    }
    if (!j->started && j->first_arrival_us == 0) {
        j->first_arrival_us = arrival_us ? arrival_us : 1;
        j->first_ts = ts;
    }
    if (j->started && (uint32_t)(ts - j->play_ts) >= CQ_AJB_SLOTS * CQ_AJB_FRAME)
        make_room(j, ts);
    cq_ajb_slot_t *s = slot_for(j, ts);
    if (s->used && s->ts != ts && cq_ts_newer(s->ts, ts)) {
        j->late++; /* older than a packet held a ring's length after it */
        return CQ_EREPLAY;
    }
    store(s, ts, toc.packet_samples, payload, len, false);
    return 0;
}

int cq_ajb_put_redundant(cq_ajb_t *j, uint32_t ts, uint32_t primary_ts, const uint8_t *payload,
                         size_t len) {
    cq_opus_toc_t toc;
    if (cq_opus_toc_parse(payload, len, &toc) != 0)
        return CQ_EMALFORMED;
    if (len > CQ_AJB_PAYLOAD)
        return CQ_ENOBUFS;
    uint32_t span = primary_ts - ts;
    if (span <= CQ_AJB_MAX_MS * 48u && span > j->pending_span)
        j->pending_span = span;
    /* Most copies are of packets that came: played already, or waiting. Not late. */
    if (j->started && !cq_ts_newer(ts, j->play_ts) && ts != j->play_ts)
        return 0;
    if (!j->started && (j->first_arrival_us == 0 || cq_ts_newer(j->first_ts, ts)))
        return 0;
    cq_ajb_slot_t *s = slot_for(j, ts);
    if (s->used)
        return 0;
    store(s, ts, toc.packet_samples, payload, len, true);
    return 1;
}

static cq_ajb_slot_t *at(cq_ajb_t *j, uint32_t ts) {
    cq_ajb_slot_t *s = slot_for(j, ts);
    return s->used && s->ts == ts ? s : NULL;
}

cq_ajb_action_t cq_ajb_get(cq_ajb_t *j, int64_t now_us, const uint8_t **pkt, size_t *len,
                           unsigned *samples) {
    if (!j->started) {
        cq_ajb_slot_t *first = oldest(j);
        if (first == NULL || now_us - j->first_arrival_us < (int64_t)j->target_ms * 1000)
            return CQ_AJB_WAIT;
        j->started = true;
        j->play_ts = first->ts;
    }
    /* How far behind the quickest packet's arrival the playout runs now, in ms. */
    int64_t delay_ms = (ticks(now_us) - (int64_t)j->play_ts - min_transit(j)) / 48;
    cq_ajb_slot_t *s = at(j, j->play_ts);
    if (j->look_frames == 0 || delay_ms < j->low_delay_ms)
        j->low_delay_ms = delay_ms;
    if (++j->look_frames >= LOOK_FRAMES) {
        int64_t excess_ms = j->low_delay_ms - (int64_t)j->target_ms;
        j->drop_budget = excess_ms > SHRINK_MARGIN_MS ? (unsigned)(excess_ms / 20) : 0;
        j->drop_every = excess_ms > FAR_MS ? 2 : SHRINK_EVERY;
        j->look_frames = 0;
    }
    if (s != NULL && j->drop_budget > 0 && j->since_shrink + 1 >= j->drop_every &&
        at(j, j->play_ts + s->samples) != NULL) {
        /* Too much delay for a whole second, and the next frame is here: drop this one. */
        j->play_ts += s->samples;
        s->used = false;
        j->shrunk++;
        j->drop_budget--;
        j->since_shrink = 0;
        s = at(j, j->play_ts);
    }
    if (s != NULL && delay_ms < (int64_t)j->target_ms - GROW_MARGIN_MS &&
        j->target_ms > CQ_AJB_MIN_MS) {
        /* Too little delay for this link's jitter (or lip sync's hold): stretch by a
         * made-up frame. Nothing was lost, so it is not counted as concealment. */
        *samples = CQ_AJB_FRAME;
        j->stretched++;
        return CQ_AJB_STRETCH;
    }
    if (s != NULL) {
        *pkt = s->data;
        *len = s->len;
        *samples = s->samples;
        j->last_samples = s->samples;
        j->play_ts += s->samples;
        s->used = false;
        j->since_shrink++;
        if (s->redundant) {
            j->red++;
            return CQ_AJB_RED;
        }
        j->played++;
        return CQ_AJB_PLAY;
    }
    cq_ajb_slot_t *first = oldest(j);
    if (first == NULL) {
        /* Nothing queued: late packets, or the sender is in DTX silence. Conceal without
         * moving on, so the packet that comes next still plays in its turn; whether it
         * was a loss shows only if a packet for this time comes late. */
        *samples = CQ_AJB_FRAME;
        j->stretched++;
        return CQ_AJB_GAP;
    }
    if ((uint32_t)(first->ts - j->play_ts) > 10u * CQ_AJB_FRAME) {
        /* A long gap (the end of a DTX silence, an outage): start again at what is here
         * rather than conceal through it. */
        j->play_ts = first->ts;
        return cq_ajb_get(j, now_us, pkt, len, samples);
    }
    /* Lost (or late): the next packet's FEC when it is here, else concealment. */
    uint32_t lost_ts = j->play_ts;
    *samples = j->last_samples;
    j->play_ts += j->last_samples;
    cq_ajb_slot_t *next = at(j, lost_ts + j->last_samples);
    if (next != NULL) {
        *pkt = next->data;
        *len = next->len;
        j->fec++;
        return CQ_AJB_FEC;
    }
    j->concealed++;
    return CQ_AJB_CONCEAL;
}

unsigned cq_ajb_target_ms(const cq_ajb_t *j) {
    return j->target_ms;
}
