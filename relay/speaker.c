#include "relay/speaker.h"

#include <string.h>

#include "rtp/error.h"

#define NOISE_FLOOR_DBOV 50 /* levels quieter than -50 dBov are not speech here */
#define TAU_US           300000.0f
#define THRESHOLD        4.0f /* score that counts as speaking: ~4 dB above the floor */
#define MARGIN           3.0f /* how much more active a challenger must be */
#define FIRST_HOLD_US    300000u
#define TAKEOVER_HOLD_US 1000000u
#define MIN_INTERVAL_US  1500000u
/* A packet stands for the audio before it; only a gap longer than the longest frame
 * chasqui sends (60 ms) means silence (DTX, or a link that dropped out). */
#define SILENCE_GAP_US 120000u

static cq_speaker_entry_t *find(cq_speaker_t *s, uint32_t id) {
    for (unsigned i = 0; i < CQ_SPEAKER_MAX; i++)
        if (s->e[i].used && s->e[i].id == id)
            return &s->e[i];
    return NULL;
}

void cq_speaker_init(cq_speaker_t *s) {
    memset(s, 0, sizeof *s);
}

int cq_speaker_add(cq_speaker_t *s, uint32_t id) {
    if (id == 0)
        return CQ_EINVAL;
    if (find(s, id) != NULL)
        return CQ_EEXIST;
    for (unsigned i = 0; i < CQ_SPEAKER_MAX; i++) {
        if (!s->e[i].used) {
            s->e[i] = (cq_speaker_entry_t){.id = id, .used = true};
            return 0;
        }
    }
    return CQ_ENOBUFS;
}

void cq_speaker_remove(cq_speaker_t *s, uint32_t id) {
    cq_speaker_entry_t *e = find(s, id);
    if (e != NULL)
        memset(e, 0, sizeof *e);
    /* s->current keeps the id: the next evaluate finds it gone and reports the change. */
}

/* First-order smoothing toward target over the time since the entry was last updated:
 * the weight dt / (dt + tau) needs no exp() and behaves the same for small steps. */
static void move_toward(cq_speaker_entry_t *e, float target, uint64_t now_us) {
    if (e->last_us == 0 || now_us <= e->last_us) {
        if (e->last_us == 0)
            e->last_us = now_us;
        return;
    }
    float dt = (float)(now_us - e->last_us);
    e->score += (target - e->score) * (dt / (dt + TAU_US));
    e->last_us = now_us;
}

void cq_speaker_feed(cq_speaker_t *s, uint32_t id, uint8_t level, bool voice, uint64_t now_us) {
    cq_speaker_entry_t *e = find(s, id);
    if (e == NULL)
        return;
    float activity = 0;
    if (voice && level < NOISE_FLOOR_DBOV)
        activity = (float)(NOISE_FLOOR_DBOV - level);
    if (e->last_us == 0)
        e->last_us = now_us > 20000 ? now_us - 20000 : 0; /* a first packet counts as 20 ms */
    move_toward(e, activity, now_us);
}

bool cq_speaker_evaluate(cq_speaker_t *s, uint64_t now_us, uint32_t *speaker) {
    cq_speaker_entry_t *cur = NULL, *best = NULL;
    for (unsigned i = 0; i < CQ_SPEAKER_MAX; i++) {
        cq_speaker_entry_t *e = &s->e[i];
        if (!e->used)
            continue;
        /* Silence decays the score, but only a real gap is silence: between two packets of
         * a talking participant the score must not depend on when the tick ran. */
        if (e->last_us != 0 && now_us > e->last_us + SILENCE_GAP_US)
            move_toward(e, 0, now_us);
        if (e->id == s->current)
            cur = e;
        if (best == NULL || e->score > best->score)
            best = e;
    }
    uint32_t before = s->current;
    if (cur == NULL && s->current != 0)
        s->current = 0; /* removed */
    if (best != NULL && best->score >= THRESHOLD && best != cur) {
        bool leads = cur == NULL || best->score >= cur->score + MARGIN;
        if (!leads) {
            best->lead_since_us = 0;
        } else {
            if (best->lead_since_us == 0)
                best->lead_since_us = now_us;
            uint64_t hold = cur == NULL ? FIRST_HOLD_US : TAKEOVER_HOLD_US;
            bool held = now_us - best->lead_since_us >= hold;
            bool rested = cur == NULL || now_us - s->changed_us >= MIN_INTERVAL_US;
            if (held && rested) {
                s->current = best->id;
                best->lead_since_us = 0;
            }
        }
    }
    /* Anyone who is not the leading challenger starts their hold anew. */
    for (unsigned i = 0; i < CQ_SPEAKER_MAX; i++)
        if (s->e[i].used && &s->e[i] != best)
            s->e[i].lead_since_us = 0;
    if (s->current != before) {
        s->changed_us = now_us;
        *speaker = s->current;
        return true;
    }
    return false;
}
