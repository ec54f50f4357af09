/*
 * Link profiles and the script language of chasqui-netsim (link.h). The numbers of each
 * profile, and why, are in docs/NETSIM.md; keep the two in step.
 */
#include "tools/netsim/link.h"

#include <string.h>

#include "rtp/error.h"

/* ---- profiles ---------------------------------------------------------------------------- */

/* 3g-weak's bursts: a Gilbert channel (no loss in good, all lost in bad). A loss burst is
 * one stay in bad, geometric with mean 1 / r = 3.3 packets; the long-run loss is the time
 * in bad, p / (p + r), which is 5 % when p = r * 0.05 / 0.95 = r / 19. */
#define G3_BURST_R 0.3
#define G3_BURST_P (G3_BURST_R / 19.0)

/* The healthy link of collapse and outage: a decent rural broadband line, so that what a
 * test sees comes from the collapse or the outage and nothing else. */
static const cq_netsim_params_t HEALTHY_1M = {.rate_bps = 1000000, .queue_ms = 200, .delay_ms = 20};

static void add_change(cq_netsim_plan_t *plan, uint32_t at_ms, bool up,
                       const cq_netsim_params_t *p) {
    cq_netsim_change_t *c = &plan->changes[plan->nchanges++];
    c->at_ms = at_ms;
    c->up = up;
    c->params = *p;
}

static void add_both(cq_netsim_plan_t *plan, uint32_t at_ms, const cq_netsim_params_t *p) {
    add_change(plan, at_ms, true, p);
    add_change(plan, at_ms, false, p);
}

static void profile_lan(cq_netsim_plan_t *plan) {
    plan->up = plan->down = (cq_netsim_params_t){.delay_ms = 1};
}

static void profile_rural_radio(cq_netsim_plan_t *plan) {
    plan->up = plan->down = (cq_netsim_params_t){
        .rate_bps = 512000, .queue_ms = 250, .delay_ms = 40, .jitter_ms = 10, .loss = 0.02};
}

static void profile_vsat(cq_netsim_plan_t *plan) {
    cq_netsim_params_t p = {.queue_ms = 300, .delay_ms = 300, .jitter_ms = 20, .loss = 0.01};
    plan->up = plan->down = p;
    plan->up.rate_bps = 384000;
    plan->down.rate_bps = 1000000;
}

static void profile_3g_weak(cq_netsim_plan_t *plan) {
    plan->up = plan->down = (cq_netsim_params_t){.rate_bps = 256000,
                                                 .queue_ms = 500,
                                                 .delay_ms = 80,
                                                 .jitter_ms = 40,
                                                 .ge_p = G3_BURST_P,
                                                 .ge_r = G3_BURST_R,
                                                 .ge_loss_good = 0.0,
                                                 .ge_loss_bad = 1.0};
}

static void profile_collapse(cq_netsim_plan_t *plan) {
    /* The modem's buffer is bytes: sized for 200 ms at 1 Mbit/s, it holds 3.1 s at
     * 64 kbit/s. The delay a sender sees climbing is the signal it has to act on. */
    cq_netsim_params_t healthy = HEALTHY_1M, collapsed = HEALTHY_1M;
    healthy.queue_ms = collapsed.queue_ms = 0;
    healthy.queue_bytes = collapsed.queue_bytes = 25000;
    collapsed.rate_bps = 64000;
    plan->up = plan->down = healthy;
    add_both(plan, 20000, &collapsed);
    add_both(plan, 40000, &healthy);
}

static void profile_outage(cq_netsim_plan_t *plan) {
    cq_netsim_params_t down = HEALTHY_1M;
    down.down = true;
    plan->up = plan->down = HEALTHY_1M;
    add_both(plan, 20000, &down);
    add_both(plan, 22000, &HEALTHY_1M);
    plan->period_ms = 30000;
}

static const struct {
    const char *name;
    void (*fill)(cq_netsim_plan_t *plan);
} PROFILES[] = {
    {"lan", profile_lan},         {"rural-radio", profile_rural_radio}, {"vsat", profile_vsat},
    {"3g-weak", profile_3g_weak}, {"collapse", profile_collapse},       {"outage", profile_outage},
};

int cq_netsim_profile(const char *name, cq_netsim_plan_t *out) {
    if (!name || !out)
        return CQ_EINVAL;
    for (size_t i = 0; i < sizeof PROFILES / sizeof PROFILES[0]; i++) {
        if (strcmp(name, PROFILES[i].name) == 0) {
            memset(out, 0, sizeof *out);
            PROFILES[i].fill(out);
            return 0;
        }
    }
    return CQ_ENOENT;
}

/* ---- scripts: applying a line to the plan ------------------------------------------------ */

/* The fields a line can name. queue and burst are groups: "queue" sets bytes or ms (and
 * clears the other), "burst" sets the four Gilbert–Elliott numbers. */
enum {
    F_RATE = 1u << 0,
    F_QUEUE = 1u << 1,
    F_DELAY = 1u << 2,
    F_JITTER = 1u << 3,
    F_REORDER = 1u << 4,
    F_LOSS = 1u << 5,
    F_BURST = 1u << 6,
    F_DUPLICATE = 1u << 7,
    F_OUTAGE = 1u << 8,
};

static void copy_fields(cq_netsim_params_t *dst, const cq_netsim_params_t *src, unsigned mask) {
    if (mask & F_RATE)
        dst->rate_bps = src->rate_bps;
    if (mask & F_QUEUE) {
        dst->queue_bytes = src->queue_bytes;
        dst->queue_ms = src->queue_ms;
    }
    if (mask & F_DELAY)
        dst->delay_ms = src->delay_ms;
    if (mask & F_JITTER)
        dst->jitter_ms = src->jitter_ms;
    if (mask & F_REORDER)
        dst->reorder = src->reorder;
    if (mask & F_LOSS)
        dst->loss = src->loss;
    if (mask & F_BURST) {
        dst->ge_p = src->ge_p;
        dst->ge_r = src->ge_r;
        dst->ge_loss_good = src->ge_loss_good;
        dst->ge_loss_bad = src->ge_loss_bad;
    }
    if (mask & F_DUPLICATE)
        dst->duplicate = src->duplicate;
    if (mask & F_OUTAGE)
        dst->down = src->down;
}

/* The groups in which a and b differ. */
static unsigned differing_fields(const cq_netsim_params_t *a, const cq_netsim_params_t *b) {
    unsigned m = 0;
    m |= a->rate_bps != b->rate_bps ? F_RATE : 0u;
    m |= a->queue_bytes != b->queue_bytes || a->queue_ms != b->queue_ms ? F_QUEUE : 0u;
    m |= a->delay_ms != b->delay_ms ? F_DELAY : 0u;
    m |= a->jitter_ms != b->jitter_ms ? F_JITTER : 0u;
    m |= a->reorder != b->reorder ? F_REORDER : 0u;
    m |= a->loss != b->loss ? F_LOSS : 0u;
    m |= a->ge_p != b->ge_p || a->ge_r != b->ge_r || a->ge_loss_good != b->ge_loss_good ||
                 a->ge_loss_bad != b->ge_loss_bad
             ? F_BURST
             : 0u;
    m |= a->duplicate != b->duplicate ? F_DUPLICATE : 0u;
    m |= a->down != b->down ? F_OUTAGE : 0u;
    return m;
}

/*
 * Applies "at at_ms, direction up, set the fields in mask to mod's" to the plan.
 *
 * Every line makes a change (one per direction), lines at 0 s too: the plan's start stays
 * the profile's, and a line at 0 s fires at the start (and again at each period of a
 * periodic plan, harmlessly: it sets what the carried changes below also set). The change
 * holds the params in force at at_ms (the start's, or the latest change of that direction
 * at or before at_ms) with the named fields replaced. A line at the same time as an existing
 * change goes after it, so the script has the last word.
 *
 * Changes already in the plan after at_ms (a profile's) store full params, which would
 * silently undo the line's fields when they fire. So the line's fields are carried into
 * them, up to the first one that sets that field itself: "at 10s both loss 1%" on the
 * collapse profile keeps 1 % loss through its 20 s and 40 s changes, and "at 30s up rate
 * 128kbit" still gives way to its 40 s return to 1 Mbit/s.
 */
static int apply_line(cq_netsim_plan_t *plan, uint32_t at_ms, bool up,
                      const cq_netsim_params_t *mod, unsigned mask) {
    const cq_netsim_params_t *in_force = up ? &plan->up : &plan->down;
    size_t i = 0;
    for (; i < plan->nchanges && plan->changes[i].at_ms <= at_ms; i++) {
        if (plan->changes[i].up == up)
            in_force = &plan->changes[i].params;
    }
    cq_netsim_params_t before = *in_force;
    if (plan->nchanges == CQ_NETSIM_MAX_CHANGES)
        return CQ_EMALFORMED;
    memmove(&plan->changes[i + 1], &plan->changes[i],
            (plan->nchanges - i) * sizeof plan->changes[0]);
    plan->nchanges++;
    cq_netsim_change_t *line = &plan->changes[i++];
    line->at_ms = at_ms;
    line->up = up;
    line->params = before;
    copy_fields(&line->params, mod, mask);
    for (; i < plan->nchanges && mask; i++) {
        cq_netsim_change_t *c = &plan->changes[i];
        if (c->up != up)
            continue;
        cq_netsim_params_t orig = c->params;
        mask &= ~differing_fields(&orig, &before);
        copy_fields(&c->params, mod, mask);
        before = orig;
    }
    return 0;
}

/* ---- scripts: tokens and numbers --------------------------------------------------------- */

typedef struct {
    const char *s;
    size_t n;
} token_t;

static bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* The next blank-separated token of [*p, end); false at the end of the line. */
static bool next_token(const char **p, const char *end, token_t *t) {
    const char *c = *p;
    while (c < end && is_space(*c))
        c++;
    if (c == end)
        return false;
    t->s = c;
    while (c < end && !is_space(*c))
        c++;
    t->n = (size_t)(c - t->s);
    *p = c;
    return true;
}

static char lower(char c) {
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* Case-insensitive: "Mbit", "KB" and "MS" read as they are meant. */
static bool token_is(const char *s, size_t n, const char *word) {
    size_t wn = strlen(word);
    if (n != wn)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (lower(s[i]) != lower(word[i]))
            return false;
    }
    return true;
}

/* A decimal number without sign or exponent, "12", "1.5", ".5": digits (value) and how
 * many of them follow the point (scale). At most 18 digits, so value < 1e18. The unit is
 * what is left of the token. */
typedef struct {
    uint64_t value;
    unsigned scale;
    token_t unit;
} number_t;

static bool parse_number(token_t t, number_t *num) {
    size_t i = 0, digits = 0;
    bool point = false;
    num->value = 0;
    num->scale = 0;
    for (; i < t.n; i++) {
        char c = t.s[i];
        if (c == '.' && !point) {
            point = true;
        } else if (c >= '0' && c <= '9') {
            if (++digits > 18)
                return false;
            num->value = num->value * 10 + (uint64_t)(c - '0');
            if (point)
                num->scale++;
        } else {
            break;
        }
    }
    num->unit = (token_t){t.s + i, t.n - i};
    return digits > 0;
}

typedef struct {
    const char *name;
    uint64_t scale; /* base units per unit */
} unit_t;

static const unit_t RATE_UNITS[] = {{"bit", 1}, {"kbit", 1000}, {"mbit", 1000000}, {NULL, 0}};
static const unit_t TIME_UNITS[] = {{"ms", 1}, {"s", 1000}, {NULL, 0}};
static const unit_t BYTE_UNITS[] = {{"B", 1}, {"KB", 1000}, {NULL, 0}};

/*
 * A quantity in one of the units, in the base unit (the table's scale 1), exactly: a value
 * that is not a whole number of base units (0.5ms), or larger than max, is refused rather
 * than rounded. A bare 0 needs no unit. Returns false when the unit is not in the table;
 * *ok false when the number is bad.
 */
static bool parse_quantity(token_t t, const unit_t *units, uint64_t max, uint64_t *out, bool *ok) {
    number_t num;
    *ok = false;
    if (!parse_number(t, &num))
        return true; /* no digits: bad number, whatever the unit */
    if (num.unit.n == 0 && num.value == 0) {
        *out = 0;
        *ok = true;
        return true;
    }
    const unit_t *u = units;
    while (u->name && !token_is(num.unit.s, num.unit.n, u->name))
        u++;
    if (!u->name)
        return false;
    if (num.value > UINT64_MAX / u->scale)
        return true;
    uint64_t v = num.value * u->scale, div = 1;
    for (unsigned i = 0; i < num.scale; i++)
        div *= 10;
    if (v % div != 0 || v / div > max)
        return true;
    *out = v / div;
    *ok = true;
    return true;
}

static bool parse_rate(token_t t, uint64_t *bps) {
    bool ok;
    return parse_quantity(t, RATE_UNITS, UINT64_MAX, bps, &ok) && ok;
}

static bool parse_ms(token_t t, uint32_t *ms) {
    uint64_t v;
    bool ok;
    if (!parse_quantity(t, TIME_UNITS, UINT32_MAX, &v, &ok) || !ok)
        return false;
    *ms = (uint32_t)v;
    return true;
}

/* A queue is bytes (B, KB) or time (ms, s). */
static bool parse_queue(token_t t, cq_netsim_params_t *p) {
    uint64_t v;
    bool ok;
    if (parse_quantity(t, TIME_UNITS, UINT32_MAX, &v, &ok)) {
        if (!ok)
            return false;
        p->queue_ms = (uint32_t)v;
        p->queue_bytes = 0;
        return true;
    }
    if (!parse_quantity(t, BYTE_UNITS, UINT32_MAX, &v, &ok) || !ok)
        return false;
    p->queue_bytes = (uint32_t)v;
    p->queue_ms = 0;
    return true;
}

/* A probability: "5%" or a fraction "0.05", in [0, 1]. One division, so "5%" and "0.05"
 * give the same double. */
static bool parse_probability(token_t t, double *out) {
    number_t num;
    if (!parse_number(t, &num))
        return false;
    double div = 1.0;
    for (unsigned i = 0; i < num.scale; i++)
        div *= 10.0;
    if (num.unit.n == 1 && num.unit.s[0] == '%')
        div *= 100.0;
    else if (num.unit.n != 0)
        return false;
    double v = (double)num.value / div;
    if (v > 1.0)
        return false;
    *out = v;
    return true;
}

static bool parse_switch(token_t t, bool *out) {
    if (token_is(t.s, t.n, "on"))
        *out = true;
    else if (token_is(t.s, t.n, "off"))
        *out = false;
    else
        return false;
    return true;
}

/* ---- scripts: lines ---------------------------------------------------------------------- */

typedef enum { DIR_UP = 1, DIR_DOWN = 2, DIR_BOTH = 3 } direction_t;

typedef struct {
    uint32_t at_ms;
    direction_t dir;
    cq_netsim_params_t mod; /* the named fields' values */
    unsigned mask;          /* which fields the line names */
} line_t;

/* One keyword and its arguments into line; false when either is bad. */
static bool parse_keyword(token_t kw, const char **p, const char *end, line_t *line) {
    cq_netsim_params_t *m = &line->mod;
    token_t a;
    unsigned field;
    bool ok;
    if (token_is(kw.s, kw.n, "burst")) {
        field = F_BURST;
        ok = next_token(p, end, &a);
        if (ok && token_is(a.s, a.n, "off")) {
            m->ge_p = m->ge_r = m->ge_loss_good = m->ge_loss_bad = 0.0;
        } else {
            ok = ok && parse_probability(a, &m->ge_p) && next_token(p, end, &a) &&
                 parse_probability(a, &m->ge_r) && next_token(p, end, &a) &&
                 parse_probability(a, &m->ge_loss_good) && next_token(p, end, &a) &&
                 parse_probability(a, &m->ge_loss_bad);
        }
    } else {
        if (!next_token(p, end, &a))
            return false;
        if (token_is(kw.s, kw.n, "rate")) {
            field = F_RATE;
            ok = parse_rate(a, &m->rate_bps);
        } else if (token_is(kw.s, kw.n, "queue")) {
            field = F_QUEUE;
            ok = parse_queue(a, m);
        } else if (token_is(kw.s, kw.n, "delay")) {
            field = F_DELAY;
            ok = parse_ms(a, &m->delay_ms);
        } else if (token_is(kw.s, kw.n, "jitter")) {
            field = F_JITTER;
            ok = parse_ms(a, &m->jitter_ms);
        } else if (token_is(kw.s, kw.n, "reorder")) {
            field = F_REORDER;
            ok = parse_switch(a, &m->reorder);
        } else if (token_is(kw.s, kw.n, "loss")) {
            field = F_LOSS;
            ok = parse_probability(a, &m->loss);
        } else if (token_is(kw.s, kw.n, "duplicate")) {
            field = F_DUPLICATE;
            ok = parse_probability(a, &m->duplicate);
        } else if (token_is(kw.s, kw.n, "outage")) {
            field = F_OUTAGE;
            ok = parse_switch(a, &m->down);
        } else {
            return false; /* unknown keyword */
        }
    }
    if (!ok || (line->mask & field)) /* a keyword named twice is a mistake, not an order */
        return false;
    line->mask |= field;
    return true;
}

/* "at TIME DIR KEYWORD ARGS [KEYWORD ARGS ...]" over [p, end), comments already cut. */
static bool parse_line(const char *p, const char *end, line_t *line) {
    token_t t;
    memset(line, 0, sizeof *line);
    if (!next_token(&p, end, &t) || !token_is(t.s, t.n, "at"))
        return false;
    if (!next_token(&p, end, &t) || !parse_ms(t, &line->at_ms))
        return false;
    if (!next_token(&p, end, &t))
        return false;
    if (token_is(t.s, t.n, "up"))
        line->dir = DIR_UP;
    else if (token_is(t.s, t.n, "down"))
        line->dir = DIR_DOWN;
    else if (token_is(t.s, t.n, "both"))
        line->dir = DIR_BOTH;
    else
        return false;
    while (next_token(&p, end, &t)) {
        if (!parse_keyword(t, &p, end, line))
            return false;
    }
    return line->mask != 0; /* "at 5s up" alone says nothing: surely a mistake */
}

int cq_netsim_script_parse(const char *text, size_t len, cq_netsim_plan_t *plan,
                           unsigned *bad_line) {
    if (bad_line)
        *bad_line = 0;
    if ((!text && len) || !plan)
        return CQ_EINVAL;
    /* Work on a copy, so that a script with a bad line leaves the plan as it was. */
    cq_netsim_plan_t work = *plan;
    const char *p = text, *end = text + len;
    unsigned lineno = 0;
    uint32_t last_at = 0;
    while (p < end) {
        lineno++;
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *next = eol ? eol + 1 : end;
        if (!eol)
            eol = end;
        const char *hash = memchr(p, '#', (size_t)(eol - p));
        const char *stop = hash ? hash : eol;
        const char *q = p;
        token_t t;
        p = next;
        if (!next_token(&q, stop, &t))
            continue; /* blank or comment only */

        line_t line;
        bool ok = parse_line(t.s, stop, &line) && line.at_ms >= last_at &&
                  (work.period_ms == 0 || line.at_ms < work.period_ms);
        if (ok && (line.dir & DIR_UP))
            ok = apply_line(&work, line.at_ms, true, &line.mod, line.mask) == 0;
        if (ok && (line.dir & DIR_DOWN))
            ok = apply_line(&work, line.at_ms, false, &line.mod, line.mask) == 0;
        if (!ok) {
            if (bad_line)
                *bad_line = lineno;
            return CQ_EMALFORMED;
        }
        last_at = line.at_ms;
    }
    *plan = work;
    return 0;
}
