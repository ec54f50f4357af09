#include "signaling/hub.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "rtp/error.h"
#include "signaling/log.h"

/* Longest request taken from a telecentre: they are a few fields each. */
#define MAX_REQUEST 4096

typedef struct {
    void *conn;
    int64_t session, telecentre;
    cq_role_t role;
    bool muted, hand_raised;
    int64_t pinned; /* 0: none */
} member_t;

struct cq_hub {
    cq_hub_send_fn send;
    void *send_ctx;
    bool has_media;
    cq_media_ops_t media;
    member_t *members;
    size_t n, cap;
};

int cq_hub_create(struct cq_hub **out, const cq_hub_config_t *cfg) {
    if (cfg->send == NULL)
        return CQ_EINVAL;
    struct cq_hub *h = calloc(1, sizeof *h);
    if (h == NULL)
        return CQ_ENOMEM;
    h->send = cfg->send;
    h->send_ctx = cfg->send_ctx;
    if (cfg->media != NULL) {
        h->media = *cfg->media;
        h->has_media = true;
    }
    *out = h;
    return 0;
}

void cq_hub_destroy(struct cq_hub *h) {
    if (h != NULL)
        free(h->members);
    free(h);
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
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 16;
        member_t *grown = realloc(h->members, cap * sizeof *grown);
        if (grown == NULL)
            return CQ_ENOMEM;
        h->members = grown;
        h->cap = cap;
    }
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
        json_t *muted = json_object_get(o, "muted");
        if (!json_is_boolean(muted)) {
            error_to(h, conn, "mute needs \"muted\": true or false");
        } else {
            m->muted = json_is_true(muted);
            broadcast(h, m->session, NULL,
                      json_pack("{s:s, s:I, s:b}", "type", "muted", "telecentre",
                                (json_int_t)m->telecentre, "muted", m->muted));
        }
    } else if (strcmp(type, "raise_hand") == 0) {
        json_t *raised = json_object_get(o, "raised");
        m->hand_raised = raised == NULL || json_is_true(raised);
        broadcast(h, m->session, NULL,
                  json_pack("{s:s, s:I, s:b}", "type", "hand", "telecentre",
                            (json_int_t)m->telecentre, "raised", m->hand_raised));
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

void cq_hub_session_ended(struct cq_hub *h, int64_t session) {
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
