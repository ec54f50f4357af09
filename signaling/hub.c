#include "signaling/hub.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "rtp/error.h"
#include "signaling/log.h"

/* Longest request taken from a telecentre: they are a few fields each. */
#define MAX_REQUEST 4096

typedef struct {
    void *conn;
    int64_t session, telecentre;
    cq_role_t role;
    bool muted;
    int64_t pinned; /* 0: none */
} member_t;

/* A telecentre of a session, for what is kept of it beyond its connection: a raised hand
 * (since_s its time) or the operator's mute. */
typedef struct {
    int64_t session, telecentre, since_s;
} mark_t;

/* Marks in the order they were made: for hands, the queue the operator answers. */
typedef struct {
    mark_t *v;
    size_t n, cap;
} marks_t;

struct cq_hub {
    cq_hub_send_fn send;
    void *send_ctx;
    bool has_media;
    cq_media_ops_t media;
    cq_hub_clock_fn clock;
    void *clock_ctx;
    member_t *members;
    size_t n, cap;
    marks_t hands, operator_muted;
};

int cq_hub_create(struct cq_hub **out, const cq_hub_config_t *cfg) {
    if (cfg->send == NULL)
        return CQ_EINVAL;
    struct cq_hub *h = calloc(1, sizeof *h);
    if (h == NULL)
        return CQ_ENOMEM;
    h->send = cfg->send;
    h->send_ctx = cfg->send_ctx;
    h->clock = cfg->clock;
    h->clock_ctx = cfg->clock_ctx;
    if (cfg->media != NULL) {
        h->media = *cfg->media;
        h->has_media = true;
    }
    *out = h;
    return 0;
}

void cq_hub_destroy(struct cq_hub *h) {
    if (h != NULL) {
        free(h->members);
        free(h->hands.v);
        free(h->operator_muted.v);
    }
    free(h);
}

/* Room for one more in a growing array of *cap elements of size bytes, n of them used.
 * Returns 0 or CQ_ENOMEM (the array untouched). */
static int grow(void **v, size_t n, size_t *cap, size_t size) {
    if (n < *cap)
        return 0;
    size_t more = *cap ? *cap * 2 : 16;
    void *grown = realloc(*v, more * size);
    if (grown == NULL)
        return CQ_ENOMEM;
    *v = grown;
    *cap = more;
    return 0;
}

static ptrdiff_t mark_find(const marks_t *m, int64_t session, int64_t telecentre) {
    for (size_t i = 0; i < m->n; i++)
        if (m->v[i].session == session && m->v[i].telecentre == telecentre)
            return (ptrdiff_t)i;
    return -1;
}

/* Appends a mark (at the end: the queue's order), or keeps the one there (and its time).
 * Returns 0 or CQ_ENOMEM. */
static int mark_add(marks_t *m, int64_t session, int64_t telecentre, int64_t now) {
    if (mark_find(m, session, telecentre) >= 0)
        return 0;
    if (grow((void **)&m->v, m->n, &m->cap, sizeof m->v[0]) != 0)
        return CQ_ENOMEM;
    m->v[m->n++] = (mark_t){session, telecentre, now};
    return 0;
}

/* Removes a mark, keeping the order of the others. Returns whether there was one. */
static bool mark_remove(marks_t *m, int64_t session, int64_t telecentre) {
    ptrdiff_t i = mark_find(m, session, telecentre);
    if (i < 0)
        return false;
    memmove(&m->v[i], &m->v[i + 1], (m->n - (size_t)i - 1) * sizeof m->v[0]);
    m->n--;
    return true;
}

static void marks_drop_session(marks_t *m, int64_t session) {
    size_t kept = 0;
    for (size_t i = 0; i < m->n; i++)
        if (m->v[i].session != session)
            m->v[kept++] = m->v[i];
    m->n = kept;
}

static int64_t now_of(const struct cq_hub *h) {
    return h->clock ? h->clock(h->clock_ctx) : (int64_t)time(NULL);
}

static member_t *find(const struct cq_hub *h, const void *conn) {
    for (size_t i = 0; i < h->n; i++)
        if (h->members[i].conn == conn)
            return &h->members[i];
    return NULL;
}

bool cq_hub_has(const struct cq_hub *h, void *conn) {
    return find(h, conn) != NULL;
}

size_t cq_hub_count(const struct cq_hub *h, int64_t session) {
    size_t n = 0;
    for (size_t i = 0; i < h->n; i++)
        n += h->members[i].session == session;
    return n;
}

/* Sends o (taking the reference) to one connection. */
static void send_to(struct cq_hub *h, void *conn, json_t *o, bool close) {
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (text != NULL)
        h->send(conn, text, strlen(text), close, h->send_ctx);
    free(text);
}

/* Sends o (taking the reference) to everyone in session but `except`. */
static void broadcast(struct cq_hub *h, int64_t session, const void *except, json_t *o) {
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (text == NULL)
        return;
    size_t len = strlen(text);
    for (size_t i = 0; i < h->n; i++)
        if (h->members[i].session == session && h->members[i].conn != except)
            h->send(h->members[i].conn, text, len, false, h->send_ctx);
    free(text);
}

static void error_to(struct cq_hub *h, void *conn, const char *reason) {
    send_to(h, conn, json_pack("{s:s, s:s}", "type", "error", "reason", reason), false);
}

int cq_hub_add(struct cq_hub *h, void *conn, int64_t session, int64_t telecentre, cq_role_t role) {
    for (size_t i = 0; i < h->n; i++) {
        member_t *m = &h->members[i];
        if (m->session == session && m->telecentre == telecentre && m->conn != conn) {
            /* A reconnect: the old connection is stale (its keys were replaced). */
            send_to(h, m->conn,
                    json_pack("{s:s, s:s}", "type", "replaced", "reason",
                              "this telecentre joined again on another connection"),
                    true);
            *m = h->members[--h->n];
            break;
        }
    }
    if (grow((void **)&h->members, h->n, &h->cap, sizeof h->members[0]) != 0)
        return CQ_ENOMEM;
    h->members[h->n++] =
        (member_t){.conn = conn, .session = session, .telecentre = telecentre, .role = role};
    broadcast(h, session, conn,
              json_pack("{s:s, s:I, s:s}", "type", "joined", "telecentre", (json_int_t)telecentre,
                        "role", cq_token_role_name(role)));
    return 0;
}

void cq_hub_remove(struct cq_hub *h, void *conn) {
    member_t *m = find(h, conn);
    if (m == NULL)
        return;
    int64_t session = m->session, telecentre = m->telecentre;
    *m = h->members[--h->n];
    /* Gone from the session, it no longer asks to speak (its mute stays: the operator's
     * decision holds if it comes back). */
    mark_remove(&h->hands, session, telecentre);
    broadcast(h, session, NULL,
              json_pack("{s:s, s:I}", "type", "left", "telecentre", (json_int_t)telecentre));
}

/* {"type": "max_layer", "spatial": -1..2, "temporal": 0..3}: what of every publisher's
 * video this telecentre wants (a weak link asks for less; -1 turns video off). */
static void max_layer(struct cq_hub *h, member_t *m, json_t *o) {
    json_t *sp = json_object_get(o, "spatial"), *tp = json_object_get(o, "temporal");
    if (!json_is_integer(sp) || json_integer_value(sp) < -1 ||
        json_integer_value(sp) >= CQ_MEDIA_MAX_LAYERS ||
        (tp != NULL &&
         (!json_is_integer(tp) || json_integer_value(tp) < 0 || json_integer_value(tp) > 3))) {
        error_to(h, m->conn, "max_layer needs spatial -1..2 and temporal 0..3");
        return;
    }
    if (!h->has_media) {
        error_to(h, m->conn, "the media plane is not running");
        return;
    }
    int spatial = (int)json_integer_value(sp);
    unsigned temporal = tp ? (unsigned)json_integer_value(tp) : 3;
    int err = h->media.max_layers(h->media.ctx, (uint32_t)m->session, (uint32_t)m->telecentre,
                                  spatial, temporal);
    if (err != 0) {
        error_to(h, m->conn, "the media plane refused the layers (not joined to it?)");
        return;
    }
    send_to(h, m->conn,
            json_pack("{s:s, s:i, s:i}", "type", "max_layer", "spatial", spatial, "temporal",
                      (int)temporal),
            false);
}

static void tell_muted(struct cq_hub *h, int64_t session, int64_t telecentre, bool muted,
                       bool by_operator) {
    json_t *o = json_pack("{s:s, s:I, s:b}", "type", "muted", "telecentre", (json_int_t)telecentre,
                          "muted", muted);
    if (o != NULL && by_operator)
        json_object_set_new(o, "by", json_string("operator"));
    broadcast(h, session, NULL, o);
}

/* {"type": "mute", "muted": bool}: a telecentre's own mute, told to everyone. One the
 * operator muted cannot unmute itself: the relay would still drop its sound while the
 * others were told they hear it. */
static void self_mute(struct cq_hub *h, member_t *m, json_t *o) {
    json_t *muted = json_object_get(o, "muted");
    if (!json_is_boolean(muted)) {
        error_to(h, m->conn, "mute needs \"muted\": true or false");
        return;
    }
    if (!json_is_true(muted) && cq_hub_operator_muted(h, m->session, m->telecentre)) {
        error_to(h, m->conn, "the operator muted this telecentre: only the operator can unmute it");
        return;
    }
    m->muted = json_is_true(muted);
    tell_muted(h, m->session, m->telecentre, m->muted, false);
}

static void tell_hand(struct cq_hub *h, int64_t session, int64_t telecentre, bool raised) {
    broadcast(h, session, NULL,
              json_pack("{s:s, s:I, s:b}", "type", "hand", "telecentre", (json_int_t)telecentre,
                        "raised", raised));
}

/* {"type": "raise_hand", "raised": bool (default true)}: joins the end of the session's
 * queue (raising it again keeps its place) or leaves it; everyone is told. */
static void raise_hand(struct cq_hub *h, member_t *m, json_t *o) {
    json_t *raised = json_object_get(o, "raised");
    bool up = raised == NULL || json_is_true(raised);
    if (up && mark_add(&h->hands, m->session, m->telecentre, now_of(h)) != 0) {
        error_to(h, m->conn, "the server is out of memory: the hand was not raised");
        return;
    }
    if (!up)
        mark_remove(&h->hands, m->session, m->telecentre);
    tell_hand(h, m->session, m->telecentre, up);
}

void cq_hub_message(struct cq_hub *h, void *conn, const char *text, size_t len) {
    member_t *m = find(h, conn);
    if (m == NULL)
        return;
    if (len > MAX_REQUEST) {
        error_to(h, conn, "request too long");
        return;
    }
    json_t *o = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
    const char *type = json_string_value(json_object_get(o, "type"));
    if (!json_is_object(o) || type == NULL) {
        json_decref(o);
        error_to(h, conn, "a request is a JSON object with a \"type\"");
        return;
    }
    if (strcmp(type, "mute") == 0) {
        self_mute(h, m, o);
    } else if (strcmp(type, "raise_hand") == 0) {
        raise_hand(h, m, o);
    } else if (strcmp(type, "pin") == 0) {
        json_t *t = json_object_get(o, "telecentre");
        if (!json_is_integer(t) || json_integer_value(t) < 0) {
            error_to(h, conn, "pin needs \"telecentre\": an id, or 0 to unpin");
        } else {
            /* Kept for the bandwidth allocation (issue 7), which favours the pinned. */
            m->pinned = (int64_t)json_integer_value(t);
            send_to(h, conn,
                    json_pack("{s:s, s:I}", "type", "pinned", "telecentre", (json_int_t)m->pinned),
                    false);
        }
    } else if (strcmp(type, "max_layer") == 0) {
        max_layer(h, m, o);
    } else {
        error_to(h, conn, "unknown request type");
    }
    json_decref(o);
}

void cq_hub_speaker(struct cq_hub *h, int64_t session, int64_t telecentre) {
    broadcast(h, session, NULL,
              json_pack("{s:s, s:I}", "type", "speaker", "telecentre", (json_int_t)telecentre));
}

void cq_hub_layer(struct cq_hub *h, int64_t session, int64_t subscriber, int64_t publisher,
                  int spatial) {
    for (size_t i = 0; i < h->n; i++)
        if (h->members[i].session == session && h->members[i].telecentre == subscriber) {
            send_to(h, h->members[i].conn,
                    json_pack("{s:s, s:I, s:i}", "type", "layer", "telecentre",
                              (json_int_t)publisher, "spatial", spatial),
                    false);
            return;
        }
}

void cq_hub_session_ending(struct cq_hub *h, int64_t session, int64_t seconds_left) {
    broadcast(
        h, session, NULL,
        json_pack("{s:s, s:I}", "type", "session_ending", "seconds", (json_int_t)seconds_left));
}

void cq_hub_recording(struct cq_hub *h, int64_t session, bool on, const char *why) {
    broadcast(h, session, NULL,
              json_pack("{s:s, s:b, s:s}", "type", "recording", "on", on, "by", why));
}

void cq_hub_session_ended(struct cq_hub *h, int64_t session) {
    marks_drop_session(&h->hands, session);
    marks_drop_session(&h->operator_muted, session);
    for (size_t i = 0; i < h->n;) {
        if (h->members[i].session != session) {
            i++;
            continue;
        }
        void *conn = h->members[i].conn;
        h->members[i] = h->members[--h->n];
        send_to(h, conn, json_pack("{s:s}", "type", "session_ended"), true);
    }
}

size_t cq_hub_hands(const struct cq_hub *h, int64_t session, cq_hub_hand_t *out, size_t max) {
    size_t n = 0;
    for (size_t i = 0; i < h->hands.n; i++) {
        const mark_t *k = &h->hands.v[i];
        if (k->session != session)
            continue;
        if (n < max)
            out[n] = (cq_hub_hand_t){k->telecentre, k->since_s};
        n++;
    }
    return n;
}

bool cq_hub_lower_hand(struct cq_hub *h, int64_t session, int64_t telecentre) {
    if (!mark_remove(&h->hands, session, telecentre))
        return false;
    tell_hand(h, session, telecentre, false);
    return true;
}

void cq_hub_promoted(struct cq_hub *h, int64_t session, int64_t telecentre, bool promoted) {
    if (promoted)
        cq_hub_lower_hand(h, session, telecentre); /* its question is being answered */
    broadcast(h, session, NULL,
              json_pack("{s:s, s:I}", "type", promoted ? "promoted" : "demoted", "telecentre",
                        (json_int_t)telecentre));
}

int cq_hub_operator_mute(struct cq_hub *h, int64_t session, int64_t telecentre, bool muted) {
    if (muted) {
        int err = mark_add(&h->operator_muted, session, telecentre, now_of(h));
        if (err != 0)
            return err;
    } else {
        mark_remove(&h->operator_muted, session, telecentre);
    }
    for (size_t i = 0; i < h->n; i++)
        if (h->members[i].session == session && h->members[i].telecentre == telecentre)
            h->members[i].muted = muted;
    tell_muted(h, session, telecentre, muted, true);
    return 0;
}

bool cq_hub_operator_muted(const struct cq_hub *h, int64_t session, int64_t telecentre) {
    return mark_find(&h->operator_muted, session, telecentre) >= 0;
}

void cq_hub_evict(struct cq_hub *h, int64_t session, int64_t telecentre) {
    mark_remove(&h->hands, session, telecentre);
    mark_remove(&h->operator_muted, session, telecentre);
    for (size_t i = 0; i < h->n;) {
        member_t *m = &h->members[i];
        if (m->session != session || m->telecentre != telecentre) {
            i++;
            continue;
        }
        void *conn = m->conn;
        *m = h->members[--h->n];
        send_to(h, conn,
                json_pack("{s:s, s:s}", "type", "removed", "reason",
                          "the operator removed this telecentre from the session"),
                true);
    }
    /* Told as a departure whether or not its control connection was up: its media is gone
     * from everyone's screens either way. */
    broadcast(h, session, NULL,
              json_pack("{s:s, s:I}", "type", "left", "telecentre", (json_int_t)telecentre));
}
