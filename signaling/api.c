#include "signaling/api.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <dirent.h>
#include <sys/stat.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "rtp/error.h"
#include "rtp/srtp.h"
#include "signaling/hub.h"
#include "signaling/isotime.h"
#include "signaling/log.h"
#include "signaling/store.h"
#include "signaling/token.h"

#define MIN_OPERATOR_KEY 16
#define MIN_SECRET       16
#define MAX_SECRET       128
#define MAX_OPERATOR_KEY 128
/* A session lasts at most this long: a typo in an end date must not book a week. */
#define MAX_SESSION_S (12 * 3600)
/* The joining window before the start, unless the request says otherwise. */
#define DEFAULT_OPEN_BEFORE_S 600
#define MAX_OPEN_BEFORE_S     (2 * 3600)

/* A telecentre that joined a media session, and its history row. */
typedef struct {
    int64_t telecentre_id;
    cq_role_t role; /* its token's */
    int64_t attendance_id;
    int64_t joined_s;
    /* A viewer the operator made a speaker: it joins (again) as a participant until it is
     * demoted. Kept here, in memory, for as long as the media session runs: a restart of
     * the daemon forgets it, and the telecentre joins again as the viewer its token says. */
    bool promoted;
} joined_t;

/* A session the media plane runs (open or live), and who joined it. */
typedef struct {
    int64_t id;
    uint16_t port;
    bool seen;   /* still open or live at the last sync */
    bool warned; /* told its participants it ends soon */
    int64_t end_s;
    joined_t *joined;
    size_t njoined, cap;
} media_session_t;

/* Failed attempts from one client address in the current window. */
#define FAILURE_SLOTS 256
typedef struct {
    char address[48];
    int64_t window_start;
    unsigned count;
} failures_t;

/* Those in a live session are told this long before its end. */
#define ENDING_NOTICE_S 60

struct cq_api {
    struct cq_store *store;
    struct cq_hub *hub;
    failures_t failures[FAILURE_SLOTS]; /* a small table; the stalest entry gives way */
    bool has_media;
    cq_media_ops_t media;
    char public_ip[64];
    media_session_t *live; /* the media sessions, unordered */
    size_t nlive, cap_live;
    char key[MAX_OPERATOR_KEY + 1];
    size_t key_len;
    cq_api_clock_fn clock;
    void *clock_ctx;
    uint8_t secret[MAX_SECRET];
    size_t secret_len;
    cq_session_t scratch; /* one session at a time: 4 KB off the stack */
};

static const char *const state_names[] = {"scheduled", "open", "live", "ended", "cancelled"};
static const char *const mode_names[] = {"conference", "broadcast"};

static int64_t now_of(const struct cq_api *a) {
    return a->clock ? a->clock(a->clock_ctx) : (int64_t)time(NULL);
}

int cq_api_create(struct cq_api **out, const cq_api_config_t *cfg) {
    size_t klen = cfg->operator_key ? strnlen(cfg->operator_key, MAX_OPERATOR_KEY + 1) : 0;
    if (cfg->store == NULL || klen < MIN_OPERATOR_KEY || klen > MAX_OPERATOR_KEY ||
        cfg->token_secret == NULL || cfg->token_secret_len < MIN_SECRET ||
        cfg->token_secret_len > MAX_SECRET)
        return CQ_EINVAL;
    struct cq_api *a = calloc(1, sizeof *a);
    if (a == NULL)
        return CQ_ENOMEM;
    a->store = cfg->store;
    a->hub = cfg->hub;
    memcpy(a->key, cfg->operator_key, klen);
    a->key_len = klen;
    a->clock = cfg->clock;
    a->clock_ctx = cfg->clock_ctx;
    memcpy(a->secret, cfg->token_secret, cfg->token_secret_len);
    a->secret_len = cfg->token_secret_len;
    if (cfg->media != NULL) {
        a->media = *cfg->media;
        a->has_media = true;
    }
    if (cfg->public_ip != NULL)
        snprintf(a->public_ip, sizeof a->public_ip, "%s", cfg->public_ip);
    /* Telecentres in a session when the last run stopped are not in it now: their
     * history ends here, the best this run can know. */
    int closed = 0;
    if (cq_store_attendance_close_all(a->store, now_of(a), &closed) == 0 && closed > 0)
        cq_log(CQ_LOG_WARN, "sig", "%d attendance record%s left open by the last run closed",
               closed, closed == 1 ? "" : "s");
    *out = a;
    return 0;
}

void cq_api_destroy(struct cq_api *a) {
    if (a == NULL)
        return;
    OPENSSL_cleanse(a->key, sizeof a->key);
    OPENSSL_cleanse(a->secret, sizeof a->secret);
    for (size_t i = 0; i < a->nlive; i++)
        free(a->live[i].joined);
    free(a->live);
    free(a);
}

void cq_api_response_free(cq_api_response_t *res) {
    free(res->body);
    res->body = NULL;
    free(res->file);
    res->file = NULL;
}

/* ---- responses ---------------------------------------------------------------------- */

/* Takes the reference to body (NULL: no body). */
static void respond(cq_api_response_t *res, int status, json_t *body) {
    res->status = status;
    res->body = NULL;
    res->body_len = 0;
    if (body != NULL) {
        res->body = json_dumps(body, JSON_COMPACT);
        json_decref(body);
        if (res->body == NULL) {
            res->status = 500;
            return;
        }
        res->body_len = strlen(res->body);
    }
}

static void fail(cq_api_response_t *res, int status, const char *kind, const char *field,
                 const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void fail(cq_api_response_t *res, int status, const char *kind, const char *field,
                 const char *fmt, ...) {
    char reason[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    json_t *o = json_pack("{s:s, s:s}", "error", kind, "reason", reason);
    if (o != NULL && field != NULL)
        json_object_set_new(o, "field", json_string(field));
    respond(res, status, o);
}

/* A store failure: the operator sees a 500, the log says what SQLite said. */
static void storage_failed(struct cq_api *a, cq_api_response_t *res, int err) {
    cq_log(CQ_LOG_ERROR, "sig", "storage: %s (%s)", cq_strerror(err), cq_store_errmsg(a->store));
    fail(res, 500, "storage", NULL, "the server could not read or write its database");
}

/* ---- request bodies ----------------------------------------------------------------- */

/* A problem with one field of a request, said once and carried out as a 400. Both are
 * copies: the field's name may belong to the request's JSON, freed before the answer. */
typedef struct {
    char field[64];
    char reason[160];
} bad_field_t;

static bool bad(bad_field_t *b, const char *field, const char *reason) {
    snprintf(b->field, sizeof b->field, "%s", field);
    snprintf(b->reason, sizeof b->reason, "%s", reason);
    return false;
}

/* Only the fields a route knows may appear: a misspelt one would otherwise be ignored
 * silently, and the operator would think it was set. */
static bool only_known(json_t *o, const char *const *known, bad_field_t *b) {
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v) {
        bool found = false;
        for (const char *const *k = known; *k != NULL && !found; k++)
            found = strcmp(*k, key) == 0;
        if (!found)
            return bad(b, key, "is not a field of this request");
    }
    return true;
}

/* Copies string field `name` into dst (max characters). Absent is fine when !required
 * (dst untouched). */
static bool get_string(json_t *o, const char *name, bool required, bool allow_empty, size_t max,
                       char *dst, bad_field_t *b) {
    json_t *v = json_object_get(o, name);
    if (v == NULL)
        return required ? bad(b, name, "is required") : true;
    if (!json_is_string(v))
        return bad(b, name, "must be a string");
    size_t len = json_string_length(v);
    const char *s = json_string_value(v);
    if (memchr(s, '\0', len) != NULL)
        return bad(b, name, "must not contain NUL characters");
    if (len == 0 && !allow_empty)
        return bad(b, name, "must not be empty");
    if (len > max) {
        char r[64];
        snprintf(r, sizeof r, "must be at most %zu bytes long", max);
        return bad(b, name, r);
    }
    memcpy(dst, s, len);
    dst[len] = '\0';
    return true;
}

static bool get_time(json_t *o, const char *name, bool required, int64_t *out, bad_field_t *b) {
    json_t *v = json_object_get(o, name);
    if (v == NULL)
        return required ? bad(b, name, "is required") : true;
    if (!json_is_string(v) || cq_isotime_parse(json_string_value(v), out) != 0)
        return bad(b, name, "must be a UTC time like 2026-11-23T14:00:00Z");
    return true;
}

/* A JSON array of distinct positive ids, at most max of them. */
static bool get_ids(json_t *o, const char *name, int64_t *ids, size_t max, size_t *n,
                    bad_field_t *b) {
    json_t *v = json_object_get(o, name);
    if (!json_is_array(v))
        return bad(b, name, "must be an array of telecentre ids");
    if (json_array_size(v) > max)
        return bad(b, name, "names too many telecentres");
    size_t i;
    json_t *e;
    *n = 0;
    json_array_foreach(v, i, e) {
        if (!json_is_integer(e) || json_integer_value(e) <= 0)
            return bad(b, name, "must hold positive integer ids");
        int64_t id = (int64_t)json_integer_value(e);
        for (size_t k = 0; k < *n; k++)
            if (ids[k] == id)
                return bad(b, name, "names a telecentre twice");
        ids[(*n)++] = id;
    }
    return true;
}

/* Parses the body as one JSON object, or answers 400. */
static json_t *body_object(const cq_api_request_t *req, cq_api_response_t *res) {
    json_error_t err;
    json_t *o = json_loadb(req->body ? req->body : "", req->body_len, JSON_REJECT_DUPLICATES, &err);
    if (o == NULL) {
        fail(res, 400, "bad_json", NULL, "the body is not JSON: %s (line %d, column %d)", err.text,
             err.line, err.column);
        return NULL;
    }
    if (!json_is_object(o)) {
        json_decref(o);
        fail(res, 400, "bad_json", NULL, "the body must be a JSON object");
        return NULL;
    }
    return o;
}

/* ---- JSON of the model -------------------------------------------------------------- */

static json_t *time_json(int64_t t) {
    char buf[CQ_ISOTIME_LEN + 1];
    return cq_isotime_format(t, buf, sizeof buf) == 0 ? json_string(buf) : json_null();
}

static json_t *telecentre_json(const cq_telecentre_t *t) {
    json_t *o = json_pack("{s:I, s:s, s:s, s:s}", "id", (json_int_t)t->id, "name", t->name,
                          "district", t->district, "contact", t->contact);
    if (o != NULL)
        json_object_set_new(o, "created", time_json(t->created_s));
    return o;
}

static json_t *session_json(struct cq_api *a, const cq_session_t *s) {
    json_t *members = json_array();
    for (size_t i = 0; members != NULL && i < s->nmembers; i++) {
        cq_telecentre_t t;
        json_t *m = json_pack("{s:I, s:b}", "id", (json_int_t)s->members[i].telecentre_id,
                              "presenter", s->members[i].presenter);
        /* A telecentre deleted since is still listed by id in a past session. */
        if (m != NULL && cq_store_telecentre_get(a->store, s->members[i].telecentre_id, &t) == 0)
            json_object_set_new(m, "name", json_string(t.name));
        json_array_append_new(members, m);
    }
    json_t *o =
        json_pack("{s:I, s:s, s:s, s:s, s:o}", "id", (json_int_t)s->id, "title", s->title, "mode",
                  mode_names[s->mode], "state", state_names[s->state], "telecentres", members);
    if (o == NULL)
        return NULL;
    json_object_set_new(o, "start", time_json(s->start_s));
    json_object_set_new(o, "end", time_json(s->end_s));
    json_object_set_new(o, "opens", time_json(s->start_s - s->open_before_s));
    if (s->ended_s != 0)
        json_object_set_new(o, "ended", time_json(s->ended_s));
    return o;
}

/* The role a joined telecentre has now: its token's, or a participant's (it sends and
 * receives) while the operator has promoted it. */
static cq_role_t role_now(const joined_t *j) {
    return j->promoted ? CQ_ROLE_PARTICIPANT : j->role;
}

/* ---- the schedule ------------------------------------------------------------------- */

/* The state the clock gives a session that was neither cancelled nor ended by hand. */
static cq_session_state_t state_at(const cq_session_t *s, int64_t now) {
    if (s->state == CQ_SESSION_CANCELLED || s->state == CQ_SESSION_ENDED)
        return s->state;
    if (now >= s->end_s)
        return CQ_SESSION_ENDED;
    if (now >= s->start_s)
        return CQ_SESSION_LIVE;
    if (now >= s->start_s - s->open_before_s)
        return CQ_SESSION_OPEN;
    return CQ_SESSION_SCHEDULED;
}

typedef struct {
    struct cq_api *a;
    int64_t now;
} tick_t;

static int advance(const cq_session_t *s, void *ctx) {
    tick_t *t = ctx;
    cq_session_state_t next = state_at(s, t->now);
    if (next == s->state)
        return 0;
    int64_t ended = next == CQ_SESSION_ENDED ? s->end_s : 0;
    int err = cq_store_session_set_state(t->a->store, s->id, next, ended);
    if (err == 0)
        cq_log(CQ_LOG_INFO, "sig", "session %" PRId64 " \"%s\": %s -> %s", s->id, s->title,
               state_names[s->state], state_names[next]);
    return err;
}

/* Closes j's history row with what the media plane says of it now (before it goes). */
static void close_attendance(struct cq_api *a, int64_t session, const joined_t *j) {
    cq_attendance_t row = {.id = j->attendance_id, .left_s = now_of(a)};
    cq_media_participant_stats_t st;
    if (a->media.participant_stats(a->media.ctx, (uint32_t)session, (uint32_t)j->telecentre_id,
                                   &st) == 0) {
        row.packets_in = st.packets_in;
        row.packets_out = st.packets_out;
        row.bytes_in = st.bytes_in;
        row.bytes_out = st.bytes_out;
        row.lost = st.lost;
        row.rtt_ms = st.rtt_ms;
        row.jitter_ms = st.jitter_ms;
        row.nacks = st.nacks_in;
        row.rtx = st.rtx_sent;
    }
    int err = cq_store_attendance_close(a->store, &row);
    if (err != 0)
        cq_log(CQ_LOG_ERROR, "sig", "history of session %" PRId64 ": %s", session,
               cq_strerror(err));
}

static media_session_t *find_live(struct cq_api *a, int64_t id) {
    for (size_t i = 0; i < a->nlive; i++)
        if (a->live[i].id == id)
            return &a->live[i];
    return NULL;
}

static joined_t *find_joined(const media_session_t *m, int64_t telecentre) {
    for (size_t i = 0; m != NULL && i < m->njoined; i++)
        if (m->joined[i].telecentre_id == telecentre)
            return &m->joined[i];
    return NULL;
}

/* Opens the media session of a session that is open or live (once). */
static int mark_running(const cq_session_t *s, void *ctx) {
    struct cq_api *a = ctx;
    media_session_t *m = find_live(a, s->id);
    if (m != NULL) {
        m->seen = true;
        m->end_s = s->end_s;
        return 0;
    }
    if (a->nlive == a->cap_live) {
        size_t cap = a->cap_live ? a->cap_live * 2 : 8;
        media_session_t *grown = realloc(a->live, cap * sizeof *grown);
        if (grown == NULL)
            return 0; /* tried again at the next tick */
        a->live = grown;
        a->cap_live = cap;
    }
    uint16_t port = 0;
    int err = a->media.session_open(a->media.ctx, (uint32_t)s->id, &port);
    if (err != 0) {
        cq_log(CQ_LOG_ERROR, "sig", "session %" PRId64 ": media plane refused it: %s", s->id,
               cq_strerror(err));
        return 0;
    }
    a->live[a->nlive++] =
        (media_session_t){.id = s->id, .port = port, .seen = true, .end_s = s->end_s};
    cq_log(CQ_LOG_INFO, "sig", "session %" PRId64 ": media on UDP %u", s->id, (unsigned)port);
    return 0;
}

/* The media plane follows the schedule: a session gets its media session when it opens
 * (or at start-up, if it is already open) and loses it when it ends or is cancelled,
 * which tells everyone still in it (the relay sends them BYE). */
static void sync_media(struct cq_api *a) {
    if (!a->has_media)
        return;
    for (size_t i = 0; i < a->nlive; i++)
        a->live[i].seen = false;
    unsigned running = (1u << CQ_SESSION_OPEN) | (1u << CQ_SESSION_LIVE);
    if (cq_store_session_each(a->store, running, mark_running, a) != 0)
        return; /* keep what runs; the store's failure shows in the next request */
    int64_t now = now_of(a);
    for (size_t i = 0; i < a->nlive;) {
        media_session_t *m = &a->live[i];
        if (m->seen) {
            if (!m->warned && a->hub != NULL && m->end_s - now <= ENDING_NOTICE_S) {
                cq_hub_session_ending(a->hub, m->id, m->end_s - now);
                m->warned = true;
            }
            i++;
            continue;
        }
        if (a->hub != NULL)
            cq_hub_session_ended(a->hub, m->id); /* told, and their connections closed */
        for (size_t k = 0; k < m->njoined; k++)
            close_attendance(a, m->id, &m->joined[k]);
        a->media.session_close(a->media.ctx, (uint32_t)m->id);
        cq_log(CQ_LOG_INFO, "sig", "session %" PRId64 ": media closed, %zu telecentre%s told",
               m->id, m->njoined, m->njoined == 1 ? "" : "s");
        free(m->joined);
        *m = a->live[--a->nlive];
    }
}

void cq_api_tick(struct cq_api *a) {
    tick_t t = {a, now_of(a)};
    unsigned pending =
        (1u << CQ_SESSION_SCHEDULED) | (1u << CQ_SESSION_OPEN) | (1u << CQ_SESSION_LIVE);
    int err = cq_store_session_each(a->store, pending, advance, &t);
    if (err != 0)
        cq_log(CQ_LOG_ERROR, "sig", "schedule: %s (%s)", cq_strerror(err),
               cq_store_errmsg(a->store));
    sync_media(a);
}

/* ---- routes ------------------------------------------------------------------------- */

typedef struct {
    struct cq_api *a;
    const cq_api_request_t *req;
    cq_api_response_t *res;
    int64_t id; /* the {id} in the path, when there is one */
} call_t;

static const char *const telecentre_fields[] = {"name", "district", "contact", NULL};

/* Fills t from body o: every field for a create, the given ones for an update. */
static bool read_telecentre(json_t *o, bool create, cq_telecentre_t *t, bad_field_t *b) {
    return only_known(o, telecentre_fields, b) &&
           get_string(o, "name", create, false, CQ_STORE_NAME_MAX, t->name, b) &&
           get_string(o, "district", create, false, CQ_STORE_NAME_MAX, t->district, b) &&
           get_string(o, "contact", false, true, CQ_STORE_CONTACT_MAX, t->contact, b);
}

static void telecentre_write(call_t *c, bool create) {
    json_t *o = body_object(c->req, c->res);
    if (o == NULL)
        return;
    cq_telecentre_t t = {0};
    bad_field_t b = {{0}, {0}};
    int err = 0;
    if (!create && (err = cq_store_telecentre_get(c->a->store, c->id, &t)) != 0) {
        json_decref(o);
        if (err == CQ_ENOENT)
            fail(c->res, 404, "not_found", NULL, "no telecentre %" PRId64, c->id);
        else
            storage_failed(c->a, c->res, err);
        return;
    }
    bool ok = read_telecentre(o, create, &t, &b);
    json_decref(o);
    if (!ok) {
        fail(c->res, 400, "bad_field", b.field, "%s %s", b.field, b.reason);
        return;
    }
    err = create ? cq_store_telecentre_create(c->a->store, &t, now_of(c->a))
                 : cq_store_telecentre_update(c->a->store, &t);
    if (err == CQ_EEXIST)
        fail(c->res, 409, "conflict", "name", "a telecentre is already called \"%s\"", t.name);
    else if (err != 0)
        storage_failed(c->a, c->res, err);
    else
        respond(c->res, create ? 201 : 200, telecentre_json(&t));
}

static int list_telecentre(const cq_telecentre_t *t, void *ctx) {
    return json_array_append_new(ctx, telecentre_json(t)) == 0 ? 0 : CQ_ENOMEM;
}

static void telecentres(call_t *c) {
    if (strcmp(c->req->method, "POST") == 0) {
        telecentre_write(c, true);
        return;
    }
    json_t *list = json_array();
    int err = list ? cq_store_telecentre_each(c->a->store, list_telecentre, list) : CQ_ENOMEM;
    if (err != 0) {
        json_decref(list);
        storage_failed(c->a, c->res, err);
        return;
    }
    respond(c->res, 200, json_pack("{s:o}", "telecentres", list));
}

static void telecentre(call_t *c) {
    const char *m = c->req->method;
    if (strcmp(m, "PATCH") == 0 || strcmp(m, "PUT") == 0) {
        telecentre_write(c, false);
        return;
    }
    int err;
    if (strcmp(m, "DELETE") == 0) {
        err = cq_store_telecentre_delete(c->a->store, c->id);
        if (err == 0)
            respond(c->res, 204, NULL);
        else if (err == CQ_EBADSTATE)
            fail(c->res, 409, "conflict", NULL,
                 "telecentre %" PRId64 " is invited to a session that is not over", c->id);
    } else {
        cq_telecentre_t t;
        err = cq_store_telecentre_get(c->a->store, c->id, &t);
        if (err == 0)
            respond(c->res, 200, telecentre_json(&t));
    }
    if (err == CQ_ENOENT)
        fail(c->res, 404, "not_found", NULL, "no telecentre %" PRId64, c->id);
    else if (err != 0 && err != CQ_EBADSTATE)
        storage_failed(c->a, c->res, err);
}

static const char *const session_fields[] = {
    "title", "start", "end", "mode", "telecentres", "presenters", "open_before_minutes", NULL};

/* Fills s from body o (every field for a create, the given ones for an update) and checks
 * the whole: times in order and not too long, presenters among the invited, a broadcast
 * with a presenter. */
static bool read_session(json_t *o, bool create, int64_t now, cq_session_t *s, bad_field_t *b) {
    if (!only_known(o, session_fields, b) ||
        !get_string(o, "title", create, false, CQ_STORE_TITLE_MAX, s->title, b) ||
        !get_time(o, "start", create, &s->start_s, b) || !get_time(o, "end", create, &s->end_s, b))
        return false;
    json_t *mode = json_object_get(o, "mode");
    if (mode != NULL) {
        const char *m = json_is_string(mode) ? json_string_value(mode) : "";
        if (strcmp(m, "conference") == 0)
            s->mode = CQ_SESSION_CONFERENCE;
        else if (strcmp(m, "broadcast") == 0)
            s->mode = CQ_SESSION_BROADCAST;
        else
            return bad(b, "mode", "must be \"conference\" or \"broadcast\"");
    } else if (create) {
        return bad(b, "mode", "is required");
    }
    json_t *open = json_object_get(o, "open_before_minutes");
    if (open != NULL) {
        if (!json_is_integer(open) || json_integer_value(open) < 0 ||
            json_integer_value(open) * 60 > MAX_OPEN_BEFORE_S)
            return bad(b, "open_before_minutes", "must be a whole number from 0 to 120");
        s->open_before_s = (int64_t)json_integer_value(open) * 60;
    } else if (create) {
        s->open_before_s = DEFAULT_OPEN_BEFORE_S;
    }
    int64_t invited[CQ_STORE_MAX_MEMBERS], presenters[CQ_STORE_MAX_MEMBERS];
    size_t ninvited = 0, npresenters = 0;
    bool has_invited = json_object_get(o, "telecentres") != NULL;
    bool has_presenters = json_object_get(o, "presenters") != NULL;
    if (has_invited || create) {
        if (!get_ids(o, "telecentres", invited, CQ_STORE_MAX_MEMBERS, &ninvited, b))
            return false;
        if (ninvited == 0)
            return bad(b, "telecentres", "must invite at least one telecentre");
    }
    if (has_presenters &&
        !get_ids(o, "presenters", presenters, CQ_STORE_MAX_MEMBERS, &npresenters, b))
        return false;
    if (has_invited || has_presenters) {
        if (!has_invited) { /* presenters alone: among the members already invited */
            ninvited = s->nmembers;
            for (size_t i = 0; i < ninvited; i++)
                invited[i] = s->members[i].telecentre_id;
        }
        if (!has_presenters) { /* keep the presenters that are still invited */
            for (size_t i = 0; i < s->nmembers; i++)
                if (s->members[i].presenter)
                    presenters[npresenters++] = s->members[i].telecentre_id;
        }
        s->nmembers = ninvited;
        for (size_t i = 0; i < ninvited; i++)
            s->members[i] = (cq_member_t){invited[i], false};
        for (size_t p = 0; p < npresenters; p++) {
            size_t i = 0;
            while (i < ninvited && invited[i] != presenters[p])
                i++;
            if (i == ninvited) {
                if (has_presenters)
                    return bad(b, "presenters", "must be among the invited telecentres");
                continue; /* a presenter no longer invited stops presenting */
            }
            s->members[i].presenter = true;
        }
    }
    if (s->end_s <= s->start_s)
        return bad(b, "end", "must be after start");
    if (s->end_s - s->start_s > MAX_SESSION_S)
        return bad(b, "end", "makes the session longer than 12 hours");
    if ((create || json_object_get(o, "start") != NULL) && s->start_s < now)
        return bad(b, "start", "is in the past");
    if (s->mode == CQ_SESSION_BROADCAST) {
        bool any = false;
        for (size_t i = 0; i < s->nmembers; i++)
            any |= s->members[i].presenter;
        if (!any)
            return bad(b, "presenters", "a broadcast needs at least one presenter");
    }
    return true;
}

/* Answers a store error about a session's members: a telecentre that is not there. */
static void session_store_failed(call_t *c, int err) {
    if (err == CQ_ENOENT)
        fail(c->res, 400, "bad_field", "telecentres", "telecentres names one that does not exist");
    else
        storage_failed(c->a, c->res, err);
}

static void session_write(call_t *c, bool create) {
    json_t *o = body_object(c->req, c->res);
    if (o == NULL)
        return;
    cq_session_t *s = &c->a->scratch;
    memset(s, 0, sizeof *s);
    int err = 0;
    if (!create && (err = cq_store_session_get(c->a->store, c->id, s)) != 0) {
        json_decref(o);
        if (err == CQ_ENOENT)
            fail(c->res, 404, "not_found", NULL, "no session %" PRId64, c->id);
        else
            storage_failed(c->a, c->res, err);
        return;
    }
    if (!create && s->state != CQ_SESSION_SCHEDULED && s->state != CQ_SESSION_OPEN) {
        json_decref(o);
        fail(c->res, 409, "conflict", NULL, "session %" PRId64 " is %s: it can no longer change",
             c->id, state_names[s->state]);
        return;
    }
    bad_field_t b = {{0}, {0}};
    bool ok = read_session(o, create, now_of(c->a), s, &b);
    json_decref(o);
    if (!ok) {
        fail(c->res, 400, "bad_field", b.field, "%s %s", b.field, b.reason);
        return;
    }
    err = create ? cq_store_session_create(c->a->store, s, now_of(c->a))
                 : cq_store_session_update(c->a->store, s);
    if (err != 0) {
        session_store_failed(c, err);
        return;
    }
    cq_api_tick(c->a); /* a session scheduled to start within its window opens at once */
    if ((err = cq_store_session_get(c->a->store, s->id, s)) != 0) {
        storage_failed(c->a, c->res, err);
        return;
    }
    if (create)
        cq_log(CQ_LOG_INFO, "sig", "session %" PRId64 " \"%s\" scheduled", s->id, s->title);
    respond(c->res, create ? 201 : 200, session_json(c->a, s));
}

typedef struct {
    struct cq_api *a;
    json_t *list;
} list_ctx_t;

static int list_session(const cq_session_t *s, void *ctx) {
    list_ctx_t *l = ctx;
    return json_array_append_new(l->list, session_json(l->a, s)) == 0 ? 0 : CQ_ENOMEM;
}

static void sessions(call_t *c) {
    if (strcmp(c->req->method, "POST") == 0) {
        session_write(c, true);
        return;
    }
    unsigned mask = 0x1f;
    const char *q = c->req->query;
    if (q != NULL && *q != '\0') {
        if (strcmp(q, "filter=upcoming") == 0)
            mask = (1u << CQ_SESSION_SCHEDULED) | (1u << CQ_SESSION_OPEN);
        else if (strcmp(q, "filter=live") == 0)
            mask = 1u << CQ_SESSION_LIVE;
        else if (strcmp(q, "filter=running") == 0) /* what the relay carries now */
            mask = (1u << CQ_SESSION_OPEN) | (1u << CQ_SESSION_LIVE);
        else if (strcmp(q, "filter=past") == 0)
            mask = (1u << CQ_SESSION_ENDED) | (1u << CQ_SESSION_CANCELLED);
        else if (strcmp(q, "filter=all") != 0) {
            fail(c->res, 400, "bad_field", "filter", "filter must be upcoming, live, past or all");
            return;
        }
    }
    list_ctx_t l = {c->a, json_array()};
    int err = l.list ? cq_store_session_each(c->a->store, mask, list_session, &l) : CQ_ENOMEM;
    if (err != 0) {
        json_decref(l.list);
        storage_failed(c->a, c->res, err);
        return;
    }
    respond(c->res, 200, json_pack("{s:o}", "sessions", l.list));
}

static void session(call_t *c) {
    const char *m = c->req->method;
    if (strcmp(m, "PATCH") == 0 || strcmp(m, "PUT") == 0) {
        session_write(c, false);
        return;
    }
    cq_session_t *s = &c->a->scratch;
    int err = cq_store_session_get(c->a->store, c->id, s);
    if (err == 0)
        respond(c->res, 200, session_json(c->a, s));
    else if (err == CQ_ENOENT)
        fail(c->res, 404, "not_found", NULL, "no session %" PRId64, c->id);
    else
        storage_failed(c->a, c->res, err);
}

/* Reads the session the path names into s, or answers 404 (500 if the store fails). */
static bool load_session(call_t *c, cq_session_t *s) {
    int err = cq_store_session_get(c->a->store, c->id, s);
    if (err == CQ_ENOENT)
        fail(c->res, 404, "not_found", NULL, "no session %" PRId64, c->id);
    else if (err != 0)
        storage_failed(c->a, c->res, err);
    return err == 0;
}

/* POST /api/sessions/{id}/cancel and /end: cancel what has not started, end what has (or
 * is open for joining). */
static void session_action(call_t *c, bool cancel) {
    cq_session_t *s = &c->a->scratch;
    int err;
    if (!load_session(c, s))
        return;
    bool allowed = cancel ? s->state == CQ_SESSION_SCHEDULED || s->state == CQ_SESSION_OPEN
                          : s->state == CQ_SESSION_OPEN || s->state == CQ_SESSION_LIVE;
    if (!allowed) {
        fail(c->res, 409, "conflict", NULL, "session %" PRId64 " is %s: it cannot be %s", c->id,
             state_names[s->state], cancel ? "cancelled" : "ended");
        return;
    }
    cq_session_state_t next = cancel ? CQ_SESSION_CANCELLED : CQ_SESSION_ENDED;
    int64_t now = now_of(c->a);
    if ((err = cq_store_session_set_state(c->a->store, c->id, next, now)) != 0) {
        storage_failed(c->a, c->res, err);
        return;
    }
    cq_log(CQ_LOG_INFO, "sig", "session %" PRId64 " \"%s\" %s by the operator", s->id, s->title,
           cancel ? "cancelled" : "ended");
    sync_media(c->a); /* those in it are told now, not at the next tick */
    s->state = next;
    s->ended_s = now;
    respond(c->res, 200, session_json(c->a, s));
}

static void session_cancel(call_t *c) {
    session_action(c, true);
}

static void session_end(call_t *c) {
    session_action(c, false);
}

static const char *const token_fields[] = {"telecentre", "role", "expires", NULL};

/* Checks that a token for telecentre t in role may be given for session s: t invited, a
 * presenter's role only to a presenter, and a broadcast's audience as viewers. */
static bool token_allowed(const cq_session_t *s, int64_t t, cq_role_t role, bad_field_t *b) {
    const cq_member_t *m = NULL;
    for (size_t i = 0; i < s->nmembers && m == NULL; i++)
        if (s->members[i].telecentre_id == t)
            m = &s->members[i];
    if (m == NULL)
        return bad(b, "telecentre", "is not invited to this session");
    if (role == CQ_ROLE_PRESENTER && !m->presenter)
        return bad(b, "role", "presenter is only for the session's presenters");
    if (role == CQ_ROLE_PARTICIPANT && s->mode == CQ_SESSION_BROADCAST)
        return bad(b, "role", "a broadcast has presenters and viewers, not participants");
    return true;
}

/* POST /api/sessions/{id}/tokens: a join token for one invited telecentre, in one role,
 * valid until the session's end unless the operator asks for less. */
static void session_tokens(call_t *c) {
    cq_session_t *s = &c->a->scratch;
    int err;
    if (!load_session(c, s))
        return;
    if (s->state == CQ_SESSION_ENDED || s->state == CQ_SESSION_CANCELLED) {
        fail(c->res, 409, "conflict", NULL, "session %" PRId64 " is %s: nobody can join it", c->id,
             state_names[s->state]);
        return;
    }
    json_t *o = body_object(c->req, c->res);
    if (o == NULL)
        return;
    bad_field_t b = {{0}, {0}};
    cq_token_claims_t claims = {.session_id = s->id, .expires_s = s->end_s};
    json_t *t = json_object_get(o, "telecentre");
    json_t *role = json_object_get(o, "role");
    bool ok = only_known(o, token_fields, &b);
    if (ok && (!json_is_integer(t) || json_integer_value(t) <= 0))
        ok = bad(&b, "telecentre", "must be a telecentre id");
    if (ok &&
        (!json_is_string(role) || cq_token_role_parse(json_string_value(role), &claims.role) != 0))
        ok = bad(&b, "role", "must be \"presenter\", \"participant\" or \"viewer\"");
    if (ok)
        claims.telecentre_id = (int64_t)json_integer_value(t);
    ok = ok && get_time(o, "expires", false, &claims.expires_s, &b) &&
         token_allowed(s, claims.telecentre_id, claims.role, &b);
    json_decref(o);
    if (ok && (claims.expires_s <= now_of(c->a) || claims.expires_s > s->end_s))
        ok = bad(&b, "expires", "must be after now and no later than the session's end");
    if (!ok) {
        fail(c->res, 400, "bad_field", b.field, "%s %s", b.field, b.reason);
        return;
    }
    bool removed = false;
    if ((err = cq_store_removal_has(c->a->store, s->id, claims.telecentre_id, &removed)) != 0) {
        storage_failed(c->a, c->res, err);
        return;
    }
    if (removed) { /* its token would be refused at the door */
        fail(c->res, 409, "removed", "telecentre",
             "the operator removed telecentre %" PRId64 " from this session", claims.telecentre_id);
        return;
    }
    char token[CQ_TOKEN_MAX + 1];
    if ((err = cq_token_issue(c->a->secret, c->a->secret_len, &claims, token, sizeof token)) != 0) {
        fail(c->res, 500, "internal", NULL, "could not make a token: %s", cq_strerror(err));
        return;
    }
    cq_log(CQ_LOG_INFO, "sig", "token issued: session %" PRId64 ", telecentre %" PRId64 ", %s",
           s->id, claims.telecentre_id, cq_token_role_name(claims.role));
    json_t *r = json_pack("{s:s, s:I, s:I, s:s}", "token", token, "session", (json_int_t)s->id,
                          "telecentre", (json_int_t)claims.telecentre_id, "role",
                          cq_token_role_name(claims.role));
    if (r != NULL)
        json_object_set_new(r, "expires", time_json(claims.expires_s));
    respond(c->res, 201, r);
}

/* ---- joining ------------------------------------------------------------------------ */

/* Random printable credentials: base-62, from 8 bits each with the rare bytes above 247
 * drawn again, so every character is equally likely. */
static int random_text(char *out, size_t n) {
    static const char alphabet[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    size_t filled = 0;
    while (filled < n) {
        uint8_t bytes[32];
        if (RAND_bytes(bytes, sizeof bytes) != 1)
            return CQ_ECRYPTO;
        for (size_t i = 0; i < sizeof bytes && filled < n; i++)
            if (bytes[i] < 248)
                out[filled++] = alphabet[bytes[i] % 62];
    }
    out[n] = '\0';
    return 0;
}

/* SSRCs for a new participant: random, non-zero, distinct among its own. */
static int random_ssrcs(uint32_t *out, size_t n) {
    for (size_t i = 0; i < n; i++) {
        bool fresh;
        do {
            if (RAND_bytes((uint8_t *)&out[i], sizeof out[i]) != 1)
                return CQ_ECRYPTO;
            fresh = out[i] != 0;
            for (size_t k = 0; k < i && fresh; k++)
                fresh = out[k] != out[i];
        } while (!fresh);
    }
    return 0;
}

/* Keys and SSRCs for telecentre t in role: presenters and participants send audio and
 * the simulcast layers they said they make (video_layers, 0-3), each with RTX; viewers
 * send nothing. */
static int make_participant(int64_t t, cq_role_t role, unsigned video_layers,
                            cq_media_participant_t *p) {
    memset(p, 0, sizeof *p);
    p->id = (uint32_t)t;
    p->suite = CQ_SRTP_AEAD_AES_128_GCM; /* the cheaper suite (docs/PERFORMANCE.md) */
    size_t klen = cq_srtp_key_len(p->suite);
    int err;
    if ((err = random_text(p->ufrag, CQ_MEDIA_UFRAG_LEN)) != 0 ||
        (err = random_text(p->pwd, CQ_MEDIA_PWD_LEN)) != 0)
        return err;
    if (RAND_bytes(p->key_in, (int)klen) != 1 || RAND_bytes(p->key_out, (int)klen) != 1)
        return CQ_ECRYPTO;
    if (role == CQ_ROLE_VIEWER)
        return 0;
    uint32_t ssrcs[1 + 2 * CQ_MEDIA_MAX_LAYERS];
    if ((err = random_ssrcs(ssrcs, sizeof ssrcs / sizeof ssrcs[0])) != 0)
        return err;
    p->audio_ssrc = ssrcs[0];
    p->video_layers = video_layers;
    for (unsigned l = 0; l < video_layers; l++) {
        p->video_ssrc[l] = ssrcs[1 + l];
        p->video_rtx_ssrc[l] = ssrcs[1 + CQ_MEDIA_MAX_LAYERS + l];
    }
    return 0;
}

static json_t *key_json(const uint8_t *key, size_t len) {
    char hex[2 * CQ_SRTP_MAX_KEY_LEN + 1];
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        hex[2 * i] = digits[key[i] >> 4];
        hex[2 * i + 1] = digits[key[i] & 15];
    }
    hex[2 * len] = '\0';
    return json_string(hex);
}

/* The others in m, as the join and attach answers list them. */
static json_t *others_json(const media_session_t *m, int64_t self) {
    json_t *others = json_array();
    for (size_t i = 0; i < m->njoined; i++)
        if (m->joined[i].telecentre_id != self)
            json_array_append_new(others, json_pack("{s:I, s:s}", "telecentre",
                                                    (json_int_t)m->joined[i].telecentre_id, "role",
                                                    cq_token_role_name(role_now(&m->joined[i]))));
    return others;
}

/* What a telecentre needs to send and receive: where, how to bind and encrypt, its SSRCs,
 * the codecs (DESIGN.md "Media transport"), and who else is there. */
static json_t *join_json(struct cq_api *a, const cq_api_request_t *req, const cq_session_t *s,
                         const media_session_t *m, const cq_media_participant_t *p,
                         cq_role_t role) {
    const char *address = a->public_ip[0]      ? a->public_ip
                          : req->local_address ? req->local_address
                                               : "127.0.0.1";
    size_t klen = cq_srtp_key_len(p->suite);
    json_t *video = json_array(), *rtx = json_array();
    for (unsigned l = 0; l < p->video_layers; l++) {
        json_array_append_new(video, json_integer(p->video_ssrc[l]));
        json_array_append_new(rtx, json_integer(p->video_rtx_ssrc[l]));
    }
    json_t *others = others_json(m, p->id);
    return json_pack(
        "{s:I, s:I, s:s, s:s, s:{s:s, s:i, s:{s:s, s:s}, s:{s:s, s:o, s:o}}, "
        "s:{s:I, s:o, s:o}, s:{s:{s:s, s:i, s:i, s:i, s:i}, s:{s:s, s:i, s:i}, s:{s:i}, "
        "s:{s:i, s:i, s:i, s:i}}, s:o}",
        "session", (json_int_t)s->id, "telecentre", (json_int_t)p->id, "role",
        cq_token_role_name(role), "mode", mode_names[s->mode], "media", "address", address, "port",
        (int)m->port, "ice", "ufrag", p->ufrag, "pwd", p->pwd, "srtp", "suite", "AEAD_AES_128_GCM",
        "key_to_relay", key_json(p->key_in, klen), "key_from_relay", key_json(p->key_out, klen),
        "ssrcs", "audio", (json_int_t)p->audio_ssrc, "video", video, "rtx", rtx, "codecs", "audio",
        "name", "opus", "pt", 111, "clock", 48000, "channels", 2, "red", 63, "video", "name", "VP8",
        "pt", 96, "clock", 90000, "rtx", "pt", 97, "extensions", "mid", 1, "abs_send_time", 2,
        "transport_cc", 3, "audio_level", 4, "participants", others);
}

/* Records that telecentre t (its token's role) is in media session m, replacing an
 * earlier entry (whose promotion holds), and opens its history row with the role it has. */
static int note_joined(struct cq_api *a, media_session_t *m, int64_t t, cq_role_t role) {
    joined_t *earlier = find_joined(m, t);
    joined_t j = {t, role, 0, now_of(a), earlier != NULL && earlier->promoted};
    cq_attendance_t row = {
        .session_id = m->id, .telecentre_id = t, .role = (int)role_now(&j), .joined_s = j.joined_s};
    int err = cq_store_attendance_open(a->store, &row);
    if (err != 0)
        return err;
    j.attendance_id = row.id;
    if (earlier != NULL) {
        *earlier = j;
        return 0;
    }
    if (m->njoined == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 8;
        joined_t *grown = realloc(m->joined, cap * sizeof *grown);
        if (grown == NULL)
            return CQ_ENOMEM;
        m->joined = grown;
        m->cap = cap;
    }
    m->joined[m->njoined++] = j;
    return 0;
}

/*
 * The checks a join token passes before it opens session c->id now: 401 for a token that
 * is not genuine or has expired, 403 for a genuine one that does not open this session
 * now (another session, a role no longer allowed, not yet open or over). With
 * video_layers (a join), the body may also say how many simulcast layers the sender makes
 * (default 3); 400 for any other field. Returns the session (c->a->scratch) or NULL once
 * the refusal is written.
 */
static cq_session_t *admit(call_t *c, cq_token_claims_t *claims, unsigned *video_layers) {
    json_t *o = body_object(c->req, c->res);
    if (o == NULL)
        return NULL;
    bad_field_t b = {{0}, {0}};
    static const char *const join_fields[] = {"token", "video_layers", NULL};
    static const char *const fields[] = {"token", NULL};
    char token[CQ_TOKEN_MAX + 1];
    bool ok = only_known(o, video_layers ? join_fields : fields, &b) &&
              get_string(o, "token", true, false, CQ_TOKEN_MAX, token, &b);
    json_t *layers = video_layers ? json_object_get(o, "video_layers") : NULL;
    if (ok && layers != NULL &&
        (!json_is_integer(layers) || json_integer_value(layers) < 0 ||
         json_integer_value(layers) > CQ_MEDIA_MAX_LAYERS))
        ok = bad(&b, "video_layers", "must be 0 to 3 (the simulcast layers this sender makes)");
    if (ok && video_layers)
        *video_layers = layers ? (unsigned)json_integer_value(layers) : CQ_MEDIA_MAX_LAYERS;
    json_decref(o);
    if (!ok) {
        fail(c->res, 400, "bad_field", b.field, "%s %s", b.field, b.reason);
        return NULL;
    }
    int err = cq_token_verify(c->a->secret, c->a->secret_len, token, now_of(c->a), claims);
    if (err == CQ_EEXPIRED) {
        fail(c->res, 401, "token_expired", "token", "this token has expired: ask the operator");
        return NULL;
    }
    if (err != 0) {
        fail(c->res, 401, "bad_token", "token", "this is not a valid join token");
        return NULL;
    }
    if (claims->session_id != c->id) {
        fail(c->res, 403, "wrong_session", "token", "this token is for session %" PRId64,
             claims->session_id);
        return NULL;
    }
    cq_session_t *s = &c->a->scratch;
    if (!load_session(c, s))
        return NULL;
    if (s->state != CQ_SESSION_OPEN && s->state != CQ_SESSION_LIVE) {
        char opens[CQ_ISOTIME_LEN + 1] = "";
        cq_isotime_format(s->start_s - s->open_before_s, opens, sizeof opens);
        fail(c->res, 403, "not_open", NULL, "session %" PRId64 " is %s%s%s", s->id,
             state_names[s->state], s->state == CQ_SESSION_SCHEDULED ? ": joining opens at " : "",
             s->state == CQ_SESSION_SCHEDULED ? opens : "");
        return NULL;
    }
    if (!token_allowed(s, claims->telecentre_id, claims->role, &b)) {
        fail(c->res, 403, "wrong_role", b.field, "the session changed since the token: %s %s",
             b.field, b.reason);
        return NULL;
    }
    bool removed = false;
    if ((err = cq_store_removal_has(c->a->store, s->id, claims->telecentre_id, &removed)) != 0) {
        storage_failed(c->a, c->res, err);
        return NULL;
    }
    if (removed) {
        fail(c->res, 403, "removed", "token",
             "the operator removed telecentre %" PRId64 " from session %" PRId64,
             claims->telecentre_id, s->id);
        return NULL;
    }
    return s;
}

/*
 * POST /api/sessions/{id}/attach {"token"}: a telecentre already in the media session (its
 * control connection dropped while its media carried on) is known again without a new join,
 * so its keys and its place in the relay stay as they are. 409 not_joined when the relay
 * no longer has it: it must join.
 */
static void session_attach(call_t *c) {
    cq_token_claims_t claims;
    cq_session_t *s = admit(c, &claims, NULL);
    if (s == NULL)
        return;
    media_session_t *m = c->a->has_media ? find_live(c->a, s->id) : NULL;
    const joined_t *j = find_joined(m, claims.telecentre_id);
    if (j == NULL) {
        fail(c->res, 409, "not_joined", NULL,
             "telecentre %" PRId64 " is not in session %" PRId64 ": join again",
             claims.telecentre_id, s->id);
        return;
    }
    respond(c->res, 200,
            json_pack("{s:I, s:I, s:s, s:o}", "session", (json_int_t)s->id, "telecentre",
                      (json_int_t)claims.telecentre_id, "role", cq_token_role_name(role_now(j)),
                      "participants", others_json(m, claims.telecentre_id)));
}

/*
 * POST /api/sessions/{id}/join {"token", "video_layers"?}: no operator key, the token is
 * the credential (admit). A telecentre joining again (its link dropped) gets fresh keys; its old
 * participant is removed first. A viewer the operator promoted joins as a participant:
 * SSRCs for its sound and the layers it makes.
 */
static void session_join(call_t *c) {
    cq_token_claims_t claims;
    unsigned layers;
    cq_session_t *s = admit(c, &claims, &layers);
    if (s == NULL)
        return;
    int err;
    media_session_t *m = c->a->has_media ? find_live(c->a, s->id) : NULL;
    if (m == NULL) {
        fail(c->res, 503, "no_media", NULL, "the media plane is not running this session");
        return;
    }
    const joined_t *earlier = find_joined(m, claims.telecentre_id);
    cq_role_t role = earlier != NULL && earlier->promoted ? role_now(earlier) : claims.role;
    cq_media_participant_t p;
    if ((err = make_participant(claims.telecentre_id, role, layers, &p)) != 0) {
        fail(c->res, 500, "internal", NULL, "could not make credentials: %s", cq_strerror(err));
        return;
    }
    uint32_t sid = (uint32_t)s->id;
    if (earlier != NULL) /* a rejoin: its time so far goes to history */
        close_attendance(c->a, s->id, earlier);
    c->a->media.participant_remove(c->a->media.ctx, sid, p.id); /* and it gets fresh keys */
    if ((err = c->a->media.participant_add(c->a->media.ctx, sid, &p)) != 0 ||
        (err = note_joined(c->a, m, claims.telecentre_id, claims.role)) != 0) {
        OPENSSL_cleanse(&p, sizeof p);
        fail(c->res, 503, "no_media", NULL, "the media plane refused the participant: %s",
             cq_strerror(err));
        return;
    }
    /* The relay's new participant starts unmuted; the operator's mute holds over a re-join. */
    if (c->a->hub != NULL && cq_hub_operator_muted(c->a->hub, s->id, claims.telecentre_id) &&
        (err = c->a->media.participant_mute(c->a->media.ctx, sid, p.id, true)) != 0)
        cq_log(CQ_LOG_ERROR, "sig", "session %" PRId64 ": telecentre %" PRId64 " stays unmuted: %s",
               s->id, claims.telecentre_id, cq_strerror(err));
    cq_log(CQ_LOG_INFO, "sig", "session %" PRId64 ": telecentre %" PRId64 " joined as %s", s->id,
           claims.telecentre_id, cq_token_role_name(role));
    respond(c->res, 200, join_json(c->a, c->req, s, m, &p, role));
    OPENSSL_cleanse(&p, sizeof p);
}

typedef struct {
    struct cq_api *a;
    json_t *list;
} history_ctx_t;

static int history_row(const cq_attendance_t *r, void *ctx) {
    history_ctx_t *h = ctx;
    cq_telecentre_t t;
    bool named = cq_store_telecentre_get(h->a->store, r->telecentre_id, &t) == 0;
    json_t *o = json_pack("{s:I, s:s, s:s, s:o, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
                          "telecentre", (json_int_t)r->telecentre_id, "name", named ? t.name : "",
                          "role", cq_token_role_name((cq_role_t)r->role), "joined",
                          time_json(r->joined_s), "packets_in", (json_int_t)r->packets_in,
                          "packets_out", (json_int_t)r->packets_out, "lost", (json_int_t)r->lost,
                          "rtt_ms", (json_int_t)r->rtt_ms, "jitter_ms", (json_int_t)r->jitter_ms,
                          "nacks", (json_int_t)r->nacks, "rtx", (json_int_t)r->rtx, "seconds",
                          (json_int_t)((r->left_s ? r->left_s : now_of(h->a)) - r->joined_s));
    if (o == NULL)
        return CQ_ENOMEM;
    json_object_set_new(o, "left", r->left_s ? time_json(r->left_s) : json_null());
    return json_array_append_new(h->list, o) == 0 ? 0 : CQ_ENOMEM;
}

/* GET /api/sessions/{id}/history: who was there, when, how long and how their link did
 * (figures are those at leaving; a telecentre still in shows "left": null). */
static void session_history(call_t *c) {
    cq_session_t *s = &c->a->scratch;
    if (!load_session(c, s))
        return;
    history_ctx_t h = {c->a, json_array()};
    int err = h.list ? cq_store_attendance_each(c->a->store, s->id, history_row, &h) : CQ_ENOMEM;
    if (err != 0) {
        json_decref(h.list);
        storage_failed(c->a, c->res, err);
        return;
    }
    respond(c->res, 200, json_pack("{s:I, s:o}", "session", (json_int_t)s->id, "history", h.list));
}

/* GET /api/sessions/{id}/live: each telecentre in the running session, as the relay sees
 * its link now. */
static void session_live(call_t *c) {
    cq_session_t *s = &c->a->scratch;
    if (!load_session(c, s))
        return;
    media_session_t *m = c->a->has_media ? find_live(c->a, s->id) : NULL;
    json_t *list = json_array();
    for (size_t i = 0; m != NULL && i < m->njoined; i++) {
        const joined_t *j = &m->joined[i];
        cq_media_participant_stats_t st;
        if (c->a->media.participant_stats(c->a->media.ctx, (uint32_t)s->id,
                                          (uint32_t)j->telecentre_id, &st) != 0)
            continue;
        cq_telecentre_t t;
        bool named = cq_store_telecentre_get(c->a->store, j->telecentre_id, &t) == 0;
        /* The layer it receives of every other telecentre that sends video. */
        json_t *layers = json_array();
        for (size_t k = 0; k < m->njoined; k++) {
            int spatial;
            unsigned temporal;
            if (k == i || role_now(&m->joined[k]) == CQ_ROLE_VIEWER ||
                c->a->media.received_layer(
                    c->a->media.ctx, (uint32_t)s->id, (uint32_t)j->telecentre_id,
                    (uint32_t)m->joined[k].telecentre_id, &spatial, &temporal) != 0)
                continue;
            json_array_append_new(layers, json_pack("{s:I, s:i, s:i}", "telecentre",
                                                    (json_int_t)m->joined[k].telecentre_id,
                                                    "spatial", spatial, "temporal", (int)temporal));
        }
        json_array_append_new(
            list,
            json_pack("{s:I, s:s, s:s, s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
                      "s:I, s:o}",
                      "telecentre", (json_int_t)j->telecentre_id, "name", named ? t.name : "",
                      "role", cq_token_role_name(role_now(j)), "bound", st.bound, "seconds",
                      (json_int_t)(now_of(c->a) - j->joined_s), "bitrate_in_bps",
                      (json_int_t)st.bitrate_in_bps, "packets_in", (json_int_t)st.packets_in,
                      "packets_out", (json_int_t)st.packets_out, "lost", (json_int_t)st.lost,
                      "rtt_ms", (json_int_t)st.rtt_ms, "jitter_ms", (json_int_t)st.jitter_ms, "rtx",
                      (json_int_t)st.rtx_sent, "downlink_estimate_bps",
                      (json_int_t)st.downlink_estimate_bps, "downlink_paced_bps",
                      (json_int_t)st.downlink_paced_bps, "video_paused",
                      (json_int_t)st.video_paused, "receiving", layers));
    }
    respond(c->res, 200,
            json_pack("{s:I, s:s, s:o}", "session", (json_int_t)s->id, "state",
                      state_names[s->state], "participants", list));
}

/* ---- the operator's controls of a running session --------------------------------- */

/* GET /api/sessions/{id}/hands: the raised hands, in the order they went up (the hub
 * keeps the queue: hands are raised over the telecentres' WebSockets). */
static void session_hands(call_t *c) {
    cq_session_t *s = &c->a->scratch;
    if (!load_session(c, s))
        return;
    if (c->a->hub == NULL) {
        fail(c->res, 503, "no_hub", NULL, "this server has no live connections to telecentres");
        return;
    }
    cq_hub_hand_t hands[CQ_STORE_MAX_MEMBERS];
    size_t n = cq_hub_hands(c->a->hub, s->id, hands, CQ_STORE_MAX_MEMBERS);
    if (n > CQ_STORE_MAX_MEMBERS)
        n = CQ_STORE_MAX_MEMBERS; /* no more can be invited, so none more can raise one */
    json_t *list = json_array();
    int64_t now = now_of(c->a);
    for (size_t i = 0; list != NULL && i < n; i++) {
        cq_telecentre_t t;
        bool named = cq_store_telecentre_get(c->a->store, hands[i].telecentre, &t) == 0;
        json_t *o = json_pack("{s:I, s:s, s:o, s:I}", "telecentre", (json_int_t)hands[i].telecentre,
                              "name", named ? t.name : "", "since", time_json(hands[i].since_s),
                              "seconds", (json_int_t)(now - hands[i].since_s));
        json_array_append_new(list, o);
    }
    respond(c->res, 200, json_pack("{s:I, s:o}", "session", (json_int_t)s->id, "hands", list));
}

/* A telecentre an operator's control names, in the session the path names. */
typedef struct {
    cq_session_t *session;
    media_session_t *media; /* NULL: nobody is in the session's media now */
    joined_t *joined;       /* NULL: that telecentre is not in it */
    int64_t telecentre;
    bool muted; /* what a mute asks for */
} target_t;

/*
 * Reads {"telecentre": N} (and {"muted": bool} for a mute) and finds it: 404 for no such
 * session, 400 for a bad body or a telecentre not invited, and, when it must be in the
 * media now (joined), 409 not_running (the session's media does not run) or not_joined.
 * Returns false once the refusal is written.
 */
static bool read_target(call_t *c, bool mute, bool joined, target_t *t) {
    json_t *o = body_object(c->req, c->res);
    if (o == NULL)
        return false;
    static const char *const fields[] = {"telecentre", NULL};
    static const char *const mute_fields[] = {"telecentre", "muted", NULL};
    bad_field_t b = {{0}, {0}};
    json_t *tc = json_object_get(o, "telecentre"), *muted = json_object_get(o, "muted");
    bool ok = only_known(o, mute ? mute_fields : fields, &b);
    if (ok && (!json_is_integer(tc) || json_integer_value(tc) <= 0))
        ok = bad(&b, "telecentre", "must be a telecentre id");
    if (ok && mute && !json_is_boolean(muted))
        ok = bad(&b, "muted", "must be true or false");
    *t = (target_t){.session = &c->a->scratch,
                    .telecentre = ok ? (int64_t)json_integer_value(tc) : 0,
                    .muted = json_is_true(muted)};
    json_decref(o);
    if (!ok) {
        fail(c->res, 400, "bad_field", b.field, "%s %s", b.field, b.reason);
        return false;
    }
    if (!load_session(c, t->session))
        return false;
    bool invited = false;
    for (size_t i = 0; i < t->session->nmembers; i++)
        invited |= t->session->members[i].telecentre_id == t->telecentre;
    if (!invited) {
        fail(c->res, 400, "bad_field", "telecentre", "telecentre is not invited to this session");
        return false;
    }
    t->media = c->a->has_media ? find_live(c->a, t->session->id) : NULL;
    t->joined = find_joined(t->media, t->telecentre);
    if (joined && t->media == NULL)
        fail(c->res, 409, "not_running", NULL, "session %" PRId64 " is %s: nobody is in it",
             t->session->id, state_names[t->session->state]);
    else if (joined && t->joined == NULL)
        fail(c->res, 409, "not_joined", "telecentre",
             "telecentre %" PRId64 " is not in session %" PRId64 " now", t->telecentre,
             t->session->id);
    return !joined || t->joined != NULL;
}

/* What an operator's control answers: the telecentre as it is now. */
static void target_done(call_t *c, const target_t *t) {
    json_t *o = json_pack("{s:I, s:I}", "session", (json_int_t)t->session->id, "telecentre",
                          (json_int_t)t->telecentre);
    if (o != NULL && t->joined != NULL) {
        json_object_set_new(o, "role", json_string(cq_token_role_name(role_now(t->joined))));
        json_object_set_new(o, "promoted", json_boolean(t->joined->promoted));
    }
    if (o != NULL && c->a->hub != NULL)
        json_object_set_new(
            o, "muted",
            json_boolean(cq_hub_operator_muted(c->a->hub, t->session->id, t->telecentre)));
    respond(c->res, 200, o);
}

/*
 * POST /api/sessions/{id}/promote and /demote {"telecentre": N}: a joined viewer becomes a
 * speaker (or goes back to watching). Everyone is told on the hub; the telecentre itself
 * then joins again with its token, and the join answers as for a participant (or a
 * viewer). A telecentre whose token makes it a presenter or participant already speaks
 * and cannot be demoted.
 */
static void promote(call_t *c, bool up) {
    target_t t;
    if (!read_target(c, false, true, &t))
        return;
    joined_t *j = t.joined;
    if (up && (j->role != CQ_ROLE_VIEWER || j->promoted)) {
        fail(c->res, 409, "already_speaker", "telecentre",
             "telecentre %" PRId64 " already speaks (as %s)", t.telecentre,
             cq_token_role_name(role_now(j)));
        return;
    }
    if (!up && j->role != CQ_ROLE_VIEWER) {
        fail(c->res, 409, "cannot_demote", "telecentre",
             "telecentre %" PRId64 " joined as %s: only a promoted viewer can be demoted",
             t.telecentre, cq_token_role_name(j->role));
        return;
    }
    if (!up && !j->promoted) {
        fail(c->res, 409, "not_promoted", "telecentre",
             "telecentre %" PRId64 " is a viewer already", t.telecentre);
        return;
    }
    j->promoted = up;
    if (c->a->hub != NULL)
        cq_hub_promoted(c->a->hub, t.session->id, t.telecentre, up);
    cq_log(CQ_LOG_INFO, "sig", "session %" PRId64 ": telecentre %" PRId64 " %s by the operator",
           t.session->id, t.telecentre, up ? "promoted to speaker" : "demoted to viewer");
    target_done(c, &t);
}

static void session_promote(call_t *c) {
    promote(c, true);
}

static void session_demote(call_t *c) {
    promote(c, false);
}

/*
 * POST /api/sessions/{id}/mute {"telecentre": N, "muted": bool}: the relay stops (or
 * resumes) forwarding that telecentre's sound, and everyone is told, "by": "operator". The
 * hub keeps the mute (a re-join is muted again, and the telecentre cannot unmute itself).
 */
static void session_mute(call_t *c) {
    target_t t;
    if (!read_target(c, true, true, &t))
        return;
    if (c->a->hub == NULL) {
        fail(c->res, 503, "no_hub", NULL, "this server has no live connections to telecentres");
        return;
    }
    int err = c->a->media.participant_mute(c->a->media.ctx, (uint32_t)t.session->id,
                                           (uint32_t)t.telecentre, t.muted);
    if (err != 0) {
        fail(c->res, 503, "no_media", NULL, "the media plane refused the mute: %s",
             cq_strerror(err));
        return;
    }
    if ((err = cq_hub_operator_mute(c->a->hub, t.session->id, t.telecentre, t.muted)) != 0) {
        /* The hub could not keep it (out of memory): the relay is put back as it was, so
         * the two never disagree about who is muted. */
        (void)c->a->media.participant_mute(c->a->media.ctx, (uint32_t)t.session->id,
                                           (uint32_t)t.telecentre, !t.muted);
        fail(c->res, 503, "internal", NULL, "the mute could not be kept: %s", cq_strerror(err));
        return;
    }
    cq_log(CQ_LOG_INFO, "sig", "session %" PRId64 ": telecentre %" PRId64 " %s by the operator",
           t.session->id, t.telecentre, t.muted ? "muted" : "unmuted");
    target_done(c, &t);
}

/* Takes telecentre t out of media session m now: its history row closes, the relay drops
 * it (the others get BYE), and its connection is told and closed. */
static void drop_joined(struct cq_api *a, media_session_t *m, joined_t *j) {
    int64_t t = j->telecentre_id;
    close_attendance(a, m->id, j);
    a->media.participant_remove(a->media.ctx, (uint32_t)m->id, (uint32_t)t);
    *j = m->joined[--m->njoined];
    if (a->hub != NULL)
        cq_hub_evict(a->hub, m->id, t);
}

/*
 * POST /api/sessions/{id}/remove {"telecentre": N}: the telecentre leaves the session and
 * none of its tokens for it joins again (the store keeps that across restarts). One not in
 * the media now is kept out all the same.
 */
static void session_remove(call_t *c) {
    target_t t;
    if (!read_target(c, false, false, &t))
        return;
    if (t.session->state == CQ_SESSION_ENDED || t.session->state == CQ_SESSION_CANCELLED) {
        fail(c->res, 409, "conflict", NULL, "session %" PRId64 " is %s: nobody is in it",
             t.session->id, state_names[t.session->state]);
        return;
    }
    int err = cq_store_removal_add(c->a->store, t.session->id, t.telecentre, now_of(c->a));
    if (err == CQ_EEXIST) {
        fail(c->res, 409, "removed", "telecentre", "telecentre %" PRId64 " was removed already",
             t.telecentre);
        return;
    }
    if (err != 0) {
        storage_failed(c->a, c->res, err);
        return;
    }
    if (t.joined != NULL)
        drop_joined(c->a, t.media, t.joined);
    cq_log(CQ_LOG_INFO, "sig",
           "session %" PRId64 ": telecentre %" PRId64 " removed by the operator", t.session->id,
           t.telecentre);
    respond(c->res, 200,
            json_pack("{s:I, s:I, s:b}", "session", (json_int_t)t.session->id, "telecentre",
                      (json_int_t)t.telecentre, "removed", true));
}

/* Appends to a growing text buffer; on failure the buffer is dropped and NULL kept. */
typedef struct {
    char *text;
    size_t len, cap;
} text_t;

static void put(text_t *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(text_t *t, const char *fmt, ...) {
    for (int tries = 0; t->text != NULL && tries < 2; tries++) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(t->text + t->len, t->cap - t->len, fmt, ap);
        va_end(ap);
        if (n < 0)
            break;
        if ((size_t)n < t->cap - t->len) {
            t->len += (size_t)n;
            return;
        }
        size_t cap = (t->cap + (size_t)n) * 2;
        char *grown = realloc(t->text, cap);
        if (grown == NULL)
            break;
        t->text = grown;
        t->cap = cap;
    }
    free(t->text);
    t->text = NULL;
}

static int count_state(const cq_session_t *s, void *ctx) {
    ((uint64_t *)ctx)[s->state]++;
    return 0;
}

/* GET /metrics: Prometheus text format 0.0.4. Aggregates only, no names: it is served
 * without the operator key, to a scraper on the district's network. */
static void metrics(call_t *c) {
    uint64_t states[5] = {0};
    int err = cq_store_session_each(c->a->store, 0x1f, count_state, states);
    if (err != 0) {
        storage_failed(c->a, c->res, err);
        return;
    }
    text_t t = {malloc(4096), 0, 4096};
    put(&t, "# HELP chasqui_sessions Scheduled sessions by state.\n"
            "# TYPE chasqui_sessions gauge\n");
    for (int i = 0; i < 5; i++)
        put(&t, "chasqui_sessions{state=\"%s\"} %" PRIu64 "\n", state_names[i], states[i]);
    cq_media_totals_t m;
    if (c->a->has_media && c->a->media.totals(c->a->media.ctx, &m) == 0) {
        static const struct {
            const char *name, *help;
            size_t offset;
        } counters[] = {
            {"datagrams", "Datagrams received on the media ports.",
             offsetof(cq_media_totals_t, datagrams)},
            {"packets_in", "Media packets received from telecentres, after SRTP.",
             offsetof(cq_media_totals_t, packets_in)},
            {"bytes_in", "Bytes of those packets.", offsetof(cq_media_totals_t, bytes_in)},
            {"packets_out", "Media packets forwarded to telecentres.",
             offsetof(cq_media_totals_t, packets_out)},
            {"bytes_out", "Bytes of those packets, after SRTP.",
             offsetof(cq_media_totals_t, bytes_out)},
            {"nacks", "Packets telecentres asked again for.",
             offsetof(cq_media_totals_t, nacks_in)},
            {"rtx_sent", "Repairs sent from the relay's cache.",
             offsetof(cq_media_totals_t, rtx_sent)},
            {"keyframe_requests", "Keyframe requests sent to publishers.",
             offsetof(cq_media_totals_t, keyframe_requests_sent)},
        };
        for (size_t i = 0; i < sizeof counters / sizeof counters[0]; i++) {
            uint64_t v;
            memcpy(&v, (const char *)&m + counters[i].offset, sizeof v);
            put(&t,
                "# HELP chasqui_%s_total %s\n# TYPE chasqui_%s_total counter\n"
                "chasqui_%s_total %" PRIu64 "\n",
                counters[i].name, counters[i].help, counters[i].name, counters[i].name, v);
        }
        put(&t, "# HELP chasqui_drops_total Datagrams dropped, by cause.\n"
                "# TYPE chasqui_drops_total counter\n");
        const struct {
            const char *cause;
            uint64_t v;
        } drops[] = {{"unbound", m.drops_unbound},     {"stun", m.drops_stun},
                     {"garbage", m.drops_garbage},     {"auth", m.drops_auth},
                     {"replay", m.drops_replay},       {"unknown_ssrc", m.drops_unknown_ssrc},
                     {"malformed", m.drops_malformed}, {"send", m.send_dropped}};
        for (size_t i = 0; i < sizeof drops / sizeof drops[0]; i++)
            put(&t, "chasqui_drops_total{cause=\"%s\"} %" PRIu64 "\n", drops[i].cause, drops[i].v);
        put(&t,
            "# HELP chasqui_participants Telecentres in media sessions now.\n"
            "# TYPE chasqui_participants gauge\n"
            "chasqui_participants{bound=\"yes\"} %" PRIu64 "\n"
            "chasqui_participants{bound=\"no\"} %" PRIu64 "\n",
            m.participants_bound, m.participants - m.participants_bound);
    }
    if (t.text == NULL) {
        fail(c->res, 500, "internal", NULL, "out of memory");
        return;
    }
    c->res->status = 200;
    c->res->body = t.text;
    c->res->body_len = t.len;
    c->res->content_type = "text/plain; version=0.0.4";
}

/* GET and POST /api/sessions/{id}/recording: whether the session records, and its raw
 * recordings (docs/PROTOCOL.md); POST {"on": true|false} starts or stops it while the
 * session is live. Self-contained, with its own listing, so that it stays one route. */
static void session_recording(call_t *c) {
    cq_session_t *s = &c->a->scratch;
    if (!load_session(c, s))
        return;
    const cq_media_ops_t *m = &c->a->media;
    if (!c->a->has_media || m->recording == NULL || m->recording_dir == NULL) {
        fail(c->res, 501, "no_media", NULL, "this server records nothing");
        return;
    }
    bool live = find_live(c->a, s->id) != NULL, on = false;
    if (strcmp(c->req->method, "POST") == 0) {
        json_t *body = body_object(c->req, c->res);
        if (body == NULL)
            return;
        json_t *v = json_object_get(body, "on");
        bool want = json_is_true(v), valid = json_is_boolean(v);
        json_decref(body);
        if (!valid) {
            fail(c->res, 400, "bad_field", "on", "\"on\" must be true or false");
            return;
        }
        if (!live) {
            fail(c->res, 409, "conflict", NULL, "session %" PRId64 " is %s: nothing to record",
                 c->id, state_names[s->state]);
            return;
        }
        bool was = false;
        uint64_t drops, stops;
        if (m->recording_status != NULL)
            (void)m->recording_status(m->ctx, (uint32_t)s->id, &was, &drops, &stops);
        int err = m->recording(m->ctx, (uint32_t)s->id, want);
        if (err == CQ_ENOSPC) {
            fail(c->res, 507, "no_space", NULL, "the disk is under the relay's free-space floor");
            return;
        }
        if (err != 0) {
            fail(c->res, 503, "media", NULL, "the relay could not: %s", cq_strerror(err));
            return;
        }
        if (c->a->hub != NULL && was != want) /* told once, not at every repeated POST */
            cq_hub_recording(c->a->hub, s->id, want, "operator");
    }
    uint64_t drops = 0, stops = 0;
    if (live && m->recording_status != NULL)
        (void)m->recording_status(m->ctx, (uint32_t)s->id, &on, &drops, &stops);
    char dir[1024], path[1400];
    if (m->recording_dir(m->ctx, (uint32_t)s->id, dir, sizeof dir) < 0) {
        fail(c->res, 500, "internal", NULL, "recording folder name too long");
        return;
    }
    if (c->req->query != NULL && strcmp(c->req->method, "GET") == 0) {
        /* ?file=NAME downloads one of the files: a plain name of the folder, no path. */
        const char *name = strncmp(c->req->query, "file=", 5) == 0 ? c->req->query + 5 : "";
        size_t n =
            strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.");
        struct stat st;
        if (n < 7 || name[n] != '\0' || name[0] == '.' || strcmp(name + n - 6, ".cqrec") != 0) {
            fail(c->res, 400, "bad_field", "file", "file=NAME of a .cqrec file listed here");
            return;
        }
        snprintf(path, sizeof path, "%s/%s", dir, name);
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
            fail(c->res, 404, "not_found", "file", "no recording %s in session %" PRId64, name,
                 c->id);
            return;
        }
        if ((c->res->file = strdup(path)) == NULL) {
            fail(c->res, 500, "internal", NULL, "out of memory");
            return;
        }
        c->res->status = 200;
        c->res->content_type = "application/octet-stream";
        return;
    }
    json_t *files = json_array();
    DIR *d = opendir(dir);
    for (struct dirent *de; d != NULL && (de = readdir(d)) != NULL;) {
        size_t n = strlen(de->d_name);
        struct stat st;
        if (n < 7 || strcmp(de->d_name + n - 6, ".cqrec") != 0 ||
            snprintf(path, sizeof path, "%s/%s", dir, de->d_name) >= (int)sizeof path ||
            stat(path, &st) != 0)
            continue;
        json_array_append_new(
            files, json_pack("{s:s, s:I}", "name", de->d_name, "bytes", (json_int_t)st.st_size));
    }
    if (d != NULL)
        closedir(d);
    respond(c->res, 200,
            json_pack("{s:I, s:b, s:I, s:I, s:s, s:o}", "session", (json_int_t)s->id, "recording",
                      on, "packets_lost", (json_int_t)drops, "stopped_by_relay", (json_int_t)stops,
                      "dir", dir, "files", files));
}

static void healthz(call_t *c) {
    respond(c->res, 200, json_pack("{s:s}", "status", "ok"));
}

/* A route: a path pattern ("*" stands for a numeric id), the methods it takes, whether it
 * needs the operator key. */
typedef struct {
    const char *pattern;
    const char *methods; /* as the Allow header lists them: "GET, POST" */
    bool operator_only;
    void (*fn)(call_t *);
} route_t;

static const route_t routes[] = {
    {"/healthz", "GET", false, healthz},
    {"/metrics", "GET", false, metrics},
    {"/api/telecentres", "GET, POST", true, telecentres},
    {"/api/telecentres/*", "GET, PATCH, PUT, DELETE", true, telecentre},
    {"/api/sessions", "GET, POST", true, sessions},
    {"/api/sessions/*", "GET, PATCH, PUT", true, session},
    {"/api/sessions/*/cancel", "POST", true, session_cancel},
    {"/api/sessions/*/end", "POST", true, session_end},
    {"/api/sessions/*/tokens", "POST", true, session_tokens},
    {"/api/sessions/*/join", "POST", false, session_join},
    {"/api/sessions/*/attach", "POST", false, session_attach},
    {"/api/sessions/*/history", "GET", true, session_history},
    {"/api/sessions/*/live", "GET", true, session_live},
    {"/api/sessions/*/hands", "GET", true, session_hands},
    {"/api/sessions/*/promote", "POST", true, session_promote},
    {"/api/sessions/*/demote", "POST", true, session_demote},
    {"/api/sessions/*/mute", "POST", true, session_mute},
    {"/api/sessions/*/remove", "POST", true, session_remove},
    {"/api/sessions/*/recording", "GET, POST", true, session_recording},
};

/* Whether path matches pattern; the id that "*" stood for goes to *id. Ids are decimal,
 * positive, without sign or leading zero, below 10^18. */
static bool match(const char *pattern, const char *path, int64_t *id) {
    while (*pattern != '\0') {
        if (*pattern == '*') {
            if (*path < '1' || *path > '9')
                return false;
            int64_t v = 0;
            int digits = 0;
            while (*path >= '0' && *path <= '9') {
                if (++digits > 18)
                    return false;
                v = v * 10 + (*path++ - '0');
            }
            *id = v;
            pattern++;
            continue;
        }
        if (*pattern++ != *path++)
            return false;
    }
    return *path == '\0';
}

static bool method_in(const char *method, const char *methods) {
    size_t n = strlen(method);
    for (const char *p = methods; *p != '\0';) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == n && memcmp(p, method, n) == 0)
            return true;
        p += len;
        while (*p == ',' || *p == ' ')
            p++;
    }
    return false;
}

/* The failure record of addr, made (taking the stalest slot) when absent. */
static failures_t *failures_of(struct cq_api *a, const char *addr, int64_t now) {
    failures_t *stalest = &a->failures[0];
    for (size_t i = 0; i < FAILURE_SLOTS; i++) {
        failures_t *f = &a->failures[i];
        if (strcmp(f->address, addr) == 0) {
            if (now - f->window_start >= CQ_API_FAILURE_WINDOW)
                *f = (failures_t){.window_start = now};
            snprintf(f->address, sizeof f->address, "%s", addr);
            return f;
        }
        if (f->window_start < stalest->window_start)
            stalest = f;
    }
    *stalest = (failures_t){.window_start = now};
    snprintf(stalest->address, sizeof stalest->address, "%s", addr);
    return stalest;
}

/* Whether a client has failed too often to be heard now; answers 429 if so. */
static bool throttled(struct cq_api *a, const cq_api_request_t *req, cq_api_response_t *res) {
    if (req->peer_address == NULL)
        return false;
    int64_t now = now_of(a);
    failures_t *f = failures_of(a, req->peer_address, now);
    if (f->count < CQ_API_MAX_FAILURES)
        return false;
    fail(res, 429, "too_many_failures", NULL,
         "too many failed attempts from %s: try again in %" PRId64 " s", req->peer_address,
         f->window_start + CQ_API_FAILURE_WINDOW - now);
    return true;
}

/* Counts an authentication failure (401, 403) against the client's address. */
static void note_failure(struct cq_api *a, const cq_api_request_t *req, int status) {
    if (req->peer_address == NULL || (status != 401 && status != 403))
        return;
    failures_t *f = failures_of(a, req->peer_address, now_of(a));
    if (++f->count == CQ_API_MAX_FAILURES)
        cq_log(CQ_LOG_WARN, "sig", "%s: %u failed attempts: refused for %d s", req->peer_address,
               f->count, CQ_API_FAILURE_WINDOW);
}

/* "Authorization: Bearer <key>", compared in constant time. */
static bool operator_ok(const struct cq_api *a, const char *authorization) {
    static const char prefix[] = "Bearer ";
    if (authorization == NULL || strncmp(authorization, prefix, sizeof prefix - 1) != 0)
        return false;
    const char *given = authorization + sizeof prefix - 1;
    size_t n = strnlen(given, MAX_OPERATOR_KEY + 1);
    return n == a->key_len && CRYPTO_memcmp(given, a->key, n) == 0;
}

void cq_api_handle(struct cq_api *a, const cq_api_request_t *req, cq_api_response_t *res) {
    *res = (cq_api_response_t){0};
    if (req->method == NULL || req->path == NULL) {
        fail(res, 400, "bad_request", NULL, "no method or path");
        return;
    }
    if (req->body_len > CQ_API_MAX_BODY) {
        fail(res, 413, "too_large", NULL, "the body is larger than %d bytes", CQ_API_MAX_BODY);
        return;
    }
    cq_api_tick(a);
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        call_t c = {a, req, res, 0};
        if (!match(routes[i].pattern, req->path, &c.id))
            continue;
        if (!method_in(req->method, routes[i].methods)) {
            fail(res, 405, "method_not_allowed", NULL, "%s takes %s", req->path, routes[i].methods);
            res->allow = routes[i].methods;
            return;
        }
        bool needs_key = routes[i].operator_only;
        if ((needs_key || routes[i].fn == session_join) && throttled(a, req, res))
            return;
        if (needs_key && !operator_ok(a, req->authorization)) {
            fail(res, 401, "unauthorized", NULL,
                 "this needs the operator key as \"Authorization: Bearer <key>\"");
            note_failure(a, req, res->status);
            return;
        }
        routes[i].fn(&c);
        if (routes[i].fn == session_join)
            note_failure(a, req, res->status);
        return;
    }
    fail(res, 404, "not_found", NULL, "no such path");
}
