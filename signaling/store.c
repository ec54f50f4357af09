#include "signaling/store.h"

#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "rtp/error.h"

/* Bumped with every change to the schema below; a database from a newer chasqui is
 * refused rather than misread. */
#define SCHEMA_VERSION 3
#define STR_(x)        #x
#define STR(x)         STR_(x)

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS telecentre("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL,"
    "  district TEXT NOT NULL,"
    "  contact TEXT NOT NULL,"
    "  created INTEGER NOT NULL,"
    "  deleted INTEGER NOT NULL DEFAULT 0);"
    /* Unique among those still listed: a deleted telecentre's name can be taken again. */
    "CREATE UNIQUE INDEX IF NOT EXISTS telecentre_name ON telecentre(name) WHERE deleted = 0;"
    "CREATE TABLE IF NOT EXISTS session("
    "  id INTEGER PRIMARY KEY,"
    "  title TEXT NOT NULL,"
    "  start_s INTEGER NOT NULL,"
    "  end_s INTEGER NOT NULL CHECK(end_s > start_s),"
    "  open_before_s INTEGER NOT NULL CHECK(open_before_s >= 0),"
    "  mode INTEGER NOT NULL CHECK(mode IN (0, 1)),"
    "  state INTEGER NOT NULL CHECK(state BETWEEN 0 AND 4),"
    "  ended_s INTEGER NOT NULL DEFAULT 0,"
    "  created INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS session_start ON session(start_s);"
    "CREATE TABLE IF NOT EXISTS member("
    "  session_id INTEGER NOT NULL REFERENCES session(id) ON DELETE CASCADE,"
    "  telecentre_id INTEGER NOT NULL REFERENCES telecentre(id),"
    "  presenter INTEGER NOT NULL,"
    "  PRIMARY KEY(session_id, telecentre_id));"
    "CREATE TABLE IF NOT EXISTS attendance("
    "  id INTEGER PRIMARY KEY,"
    "  session_id INTEGER NOT NULL REFERENCES session(id),"
    "  telecentre_id INTEGER NOT NULL,"
    "  role INTEGER NOT NULL,"
    "  joined_s INTEGER NOT NULL,"
    "  left_s INTEGER NOT NULL DEFAULT 0,"
    "  packets_in INTEGER NOT NULL DEFAULT 0, packets_out INTEGER NOT NULL DEFAULT 0,"
    "  bytes_in INTEGER NOT NULL DEFAULT 0, bytes_out INTEGER NOT NULL DEFAULT 0,"
    "  lost INTEGER NOT NULL DEFAULT 0, rtt_ms INTEGER NOT NULL DEFAULT 0,"
    "  jitter_ms INTEGER NOT NULL DEFAULT 0, nacks INTEGER NOT NULL DEFAULT 0,"
    "  rtx INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX IF NOT EXISTS attendance_session ON attendance(session_id, joined_s);"
    /* Version 3: telecentres the operator removed from a session, which never join it
     * again. An older database gains the table as it opens. */
    "CREATE TABLE IF NOT EXISTS removal("
    "  session_id INTEGER NOT NULL REFERENCES session(id),"
    "  telecentre_id INTEGER NOT NULL,"
    "  removed_s INTEGER NOT NULL,"
    "  PRIMARY KEY(session_id, telecentre_id));";

enum stmt {
    TC_INSERT,
    TC_GET,
    TC_UPDATE,
    TC_BUSY,
    TC_DELETE,
    TC_LIST,
    SS_INSERT,
    SS_GET,
    SS_UPDATE,
    SS_STATE,
    SS_LIST,
    MB_INSERT,
    MB_CLEAR,
    MB_LIST,
    AT_OPEN,
    AT_CLOSE,
    AT_CLOSE_ALL,
    AT_LIST,
    RM_INSERT,
    RM_GET,
    TX_BEGIN,
    TX_COMMIT,
    TX_ROLLBACK,
    NSTMT
};

static const char *const sql[NSTMT] = {
    [TC_INSERT] = "INSERT INTO telecentre(name, district, contact, created) VALUES(?, ?, ?, ?)",
    [TC_GET] = "SELECT id, name, district, contact, created FROM telecentre "
               "WHERE id = ? AND deleted = 0",
    [TC_UPDATE] = "UPDATE telecentre SET name = ?, district = ?, contact = ? "
                  "WHERE id = ? AND deleted = 0",
    [TC_BUSY] = "SELECT count(*) FROM member JOIN session ON session.id = member.session_id "
                "WHERE member.telecentre_id = ? AND session.state < 3",
    [TC_DELETE] = "UPDATE telecentre SET deleted = 1 WHERE id = ? AND deleted = 0",
    [TC_LIST] = "SELECT id, name, district, contact, created FROM telecentre "
                "WHERE deleted = 0 ORDER BY name",
    [SS_INSERT] = "INSERT INTO session(title, start_s, end_s, open_before_s, mode, state, "
                  "created) VALUES(?, ?, ?, ?, ?, 0, ?)",
    [SS_GET] = "SELECT id, title, start_s, end_s, open_before_s, mode, state, ended_s, created "
               "FROM session WHERE id = ?",
    [SS_UPDATE] = "UPDATE session SET title = ?, start_s = ?, end_s = ?, open_before_s = ?, "
                  "mode = ? WHERE id = ?",
    [SS_STATE] = "UPDATE session SET state = ?, ended_s = ? WHERE id = ?",
    [SS_LIST] = "SELECT id FROM session WHERE (? >> state) & 1 ORDER BY start_s, id",
    [MB_INSERT] = "INSERT INTO member(session_id, telecentre_id, presenter) "
                  "SELECT ?, id, ? FROM telecentre WHERE id = ? AND deleted = 0",
    [MB_CLEAR] = "DELETE FROM member WHERE session_id = ?",
    [MB_LIST] = "SELECT telecentre_id, presenter FROM member WHERE session_id = ? "
                "ORDER BY telecentre_id",
    [AT_OPEN] = "INSERT INTO attendance(session_id, telecentre_id, role, joined_s) "
                "VALUES(?, ?, ?, ?)",
    [AT_CLOSE] = "UPDATE attendance SET left_s = ?, packets_in = ?, packets_out = ?, "
                 "bytes_in = ?, bytes_out = ?, lost = ?, rtt_ms = ?, jitter_ms = ?, nacks = ?, "
                 "rtx = ? WHERE id = ?",
    [AT_CLOSE_ALL] = "UPDATE attendance SET left_s = ? WHERE left_s = 0",
    [AT_LIST] = "SELECT id, session_id, telecentre_id, role, joined_s, left_s, packets_in, "
                "packets_out, bytes_in, bytes_out, lost, rtt_ms, jitter_ms, nacks, rtx "
                "FROM attendance WHERE session_id = ? ORDER BY joined_s, id",
    [RM_INSERT] = "INSERT INTO removal(session_id, telecentre_id, removed_s) VALUES(?, ?, ?)",
    [RM_GET] = "SELECT count(*) FROM removal WHERE session_id = ? AND telecentre_id = ?",
    [TX_BEGIN] = "BEGIN IMMEDIATE",
    [TX_COMMIT] = "COMMIT",
    [TX_ROLLBACK] = "ROLLBACK",
};

struct cq_store {
    sqlite3 *db;
    sqlite3_stmt *st[NSTMT];
};

/* Maps an SQLite result to chasqui's codes: constraint violations are the caller's
 * (a duplicate name, a missing reference), everything else is the storage's. */
static int map_rc(int rc) {
    switch (rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_DONE:
    case SQLITE_ROW:
        return 0;
    case SQLITE_CONSTRAINT:
        return rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY ? CQ_EEXIST
                                                                                    : CQ_EINVAL;
    case SQLITE_NOMEM:
        return CQ_ENOMEM;
    default:
        return CQ_EIO;
    }
}

static sqlite3_stmt *stmt(struct cq_store *s, enum stmt k) {
    sqlite3_reset(s->st[k]);
    sqlite3_clear_bindings(s->st[k]);
    return s->st[k];
}

/* Runs a statement that returns no rows. */
static int exec(sqlite3_stmt *st) {
    int rc = sqlite3_step(st);
    int err = map_rc(rc);
    sqlite3_reset(st);
    return err;
}

static void copy_text(char *dst, size_t cap, sqlite3_stmt *st, int col) {
    const unsigned char *t = sqlite3_column_text(st, col);
    size_t n = t ? strnlen((const char *)t, cap - 1) : 0;
    if (n)
        memcpy(dst, t, n);
    dst[n] = '\0';
}

/* A field that does not fit its fixed size, or holds a NUL, is refused whole. */
static bool fits(const char *s, size_t max) {
    return strnlen(s, max + 1) <= max;
}

int cq_store_open(struct cq_store **out, const char *path) {
    struct cq_store *s = calloc(1, sizeof *s);
    if (s == NULL)
        return CQ_ENOMEM;
    int err = CQ_EIO;
    if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
        SQLITE_OK)
        goto fail;
    sqlite3_extended_result_codes(s->db, 1); /* tells a duplicate from a bad reference */
    sqlite3_busy_timeout(s->db, 2000);
    /* WAL: readers never block the writer; FULL: a commit is on disk before it returns, so
     * a killed process loses nothing it acknowledged. */
    if (sqlite3_exec(s->db,
                     "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;",
                     NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(s->db, schema, NULL, NULL, NULL) != SQLITE_OK)
        goto fail;
    sqlite3_stmt *v;
    if (sqlite3_prepare_v2(s->db, "SELECT value FROM meta WHERE key = 'schema'", -1, &v, NULL) !=
        SQLITE_OK)
        goto fail;
    int version = sqlite3_step(v) == SQLITE_ROW ? sqlite3_column_int(v, 0) : 0;
    sqlite3_finalize(v);
    if (version > SCHEMA_VERSION) {
        err = CQ_EVERSION;
        goto fail;
    }
    /* The schema above has just brought an older database up to this version: say so, so
     * that an older chasqui refuses it rather than misreads it. (Versions 1 and 2 wrote
     * 1 here whatever they were.) */
    if (version < SCHEMA_VERSION &&
        sqlite3_exec(
            s->db,
            "INSERT OR REPLACE INTO meta(key, value) VALUES('schema', " STR(SCHEMA_VERSION) ")",
            NULL, NULL, NULL) != SQLITE_OK)
        goto fail;
    for (int k = 0; k < NSTMT; k++)
        if (sqlite3_prepare_v3(s->db, sql[k], -1, SQLITE_PREPARE_PERSISTENT, &s->st[k], NULL) !=
            SQLITE_OK)
            goto fail;
    *out = s;
    return 0;
fail:
    cq_store_close(s);
    return err;
}

void cq_store_close(struct cq_store *s) {
    if (s == NULL)
        return;
    for (int k = 0; k < NSTMT; k++)
        sqlite3_finalize(s->st[k]);
    sqlite3_close(s->db);
    free(s);
}

const char *cq_store_errmsg(const struct cq_store *s) {
    return sqlite3_errmsg(s->db);
}

static int check_telecentre(const cq_telecentre_t *t) {
    if (!fits(t->name, CQ_STORE_NAME_MAX) || !fits(t->district, CQ_STORE_NAME_MAX) ||
        !fits(t->contact, CQ_STORE_CONTACT_MAX) || t->name[0] == '\0')
        return CQ_EINVAL;
    return 0;
}

int cq_store_telecentre_create(struct cq_store *s, cq_telecentre_t *t, int64_t now_s) {
    int err = check_telecentre(t);
    if (err)
        return err;
    sqlite3_stmt *st = stmt(s, TC_INSERT);
    sqlite3_bind_text(st, 1, t->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, t->district, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, t->contact, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, now_s);
    if ((err = exec(st)) != 0)
        return err;
    t->id = sqlite3_last_insert_rowid(s->db);
    t->created_s = now_s;
    return 0;
}

static void read_telecentre(sqlite3_stmt *st, cq_telecentre_t *t) {
    t->id = sqlite3_column_int64(st, 0);
    copy_text(t->name, sizeof t->name, st, 1);
    copy_text(t->district, sizeof t->district, st, 2);
    copy_text(t->contact, sizeof t->contact, st, 3);
    t->created_s = sqlite3_column_int64(st, 4);
}

int cq_store_telecentre_get(struct cq_store *s, int64_t id, cq_telecentre_t *out) {
    sqlite3_stmt *st = stmt(s, TC_GET);
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        read_telecentre(st, out);
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? CQ_ENOENT : map_rc(rc);
}

int cq_store_telecentre_update(struct cq_store *s, const cq_telecentre_t *t) {
    int err = check_telecentre(t);
    if (err)
        return err;
    sqlite3_stmt *st = stmt(s, TC_UPDATE);
    sqlite3_bind_text(st, 1, t->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, t->district, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, t->contact, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, t->id);
    if ((err = exec(st)) != 0)
        return err;
    return sqlite3_changes(s->db) == 1 ? 0 : CQ_ENOENT;
}

int cq_store_telecentre_delete(struct cq_store *s, int64_t id) {
    sqlite3_stmt *st = stmt(s, TC_BUSY);
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    int64_t busy = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_reset(st);
    if (busy < 0)
        return map_rc(rc);
    if (busy > 0)
        return CQ_EBADSTATE;
    st = stmt(s, TC_DELETE);
    sqlite3_bind_int64(st, 1, id);
    int err = exec(st);
    if (err)
        return err;
    return sqlite3_changes(s->db) == 1 ? 0 : CQ_ENOENT;
}

int cq_store_telecentre_each(struct cq_store *s, int (*fn)(const cq_telecentre_t *, void *),
                             void *ctx) {
    sqlite3_stmt *st = stmt(s, TC_LIST);
    int rc, out = 0;
    while (out == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        cq_telecentre_t t;
        read_telecentre(st, &t);
        out = fn(&t, ctx);
    }
    if (out == 0 && rc != SQLITE_DONE)
        out = map_rc(rc);
    sqlite3_reset(st);
    return out;
}

static int check_session(const cq_session_t *ss) {
    if (!fits(ss->title, CQ_STORE_TITLE_MAX) || ss->title[0] == '\0' || ss->end_s <= ss->start_s ||
        ss->open_before_s < 0 || ss->nmembers > CQ_STORE_MAX_MEMBERS ||
        (ss->mode != CQ_SESSION_CONFERENCE && ss->mode != CQ_SESSION_BROADCAST))
        return CQ_EINVAL;
    return 0;
}

/* Within a transaction: replaces the session's members; a member that is not a listed
 * telecentre is CQ_ENOENT, a telecentre named twice CQ_EEXIST. */
static int put_members(struct cq_store *s, const cq_session_t *ss) {
    sqlite3_stmt *st = stmt(s, MB_CLEAR);
    sqlite3_bind_int64(st, 1, ss->id);
    int err = exec(st);
    for (size_t i = 0; err == 0 && i < ss->nmembers; i++) {
        st = stmt(s, MB_INSERT);
        sqlite3_bind_int64(st, 1, ss->id);
        sqlite3_bind_int(st, 2, ss->members[i].presenter ? 1 : 0);
        sqlite3_bind_int64(st, 3, ss->members[i].telecentre_id);
        if ((err = exec(st)) == 0 && sqlite3_changes(s->db) != 1)
            err = CQ_ENOENT;
    }
    return err;
}

/* Runs the rest of a write as one transaction, committed or rolled back whole. */
static int finish(struct cq_store *s, int err) {
    int end = exec(stmt(s, err == 0 ? TX_COMMIT : TX_ROLLBACK));
    return err != 0 ? err : end;
}

/* Binds a session's own fields, in the order SS_INSERT and SS_UPDATE both take them. */
static sqlite3_stmt *bind_session(sqlite3_stmt *st, const cq_session_t *ss) {
    sqlite3_bind_text(st, 1, ss->title, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, ss->start_s);
    sqlite3_bind_int64(st, 3, ss->end_s);
    sqlite3_bind_int64(st, 4, ss->open_before_s);
    sqlite3_bind_int(st, 5, (int)ss->mode);
    return st;
}

int cq_store_session_create(struct cq_store *s, cq_session_t *ss, int64_t now_s) {
    int err = check_session(ss);
    if (err || (err = exec(stmt(s, TX_BEGIN))) != 0)
        return err;
    sqlite3_stmt *st = bind_session(stmt(s, SS_INSERT), ss);
    sqlite3_bind_int64(st, 6, now_s);
    if ((err = exec(st)) == 0) {
        ss->id = sqlite3_last_insert_rowid(s->db);
        err = put_members(s, ss);
    }
    if ((err = finish(s, err)) != 0)
        return err;
    ss->state = CQ_SESSION_SCHEDULED;
    ss->ended_s = 0;
    ss->created_s = now_s;
    return 0;
}

int cq_store_session_get(struct cq_store *s, int64_t id, cq_session_t *out) {
    sqlite3_stmt *st = stmt(s, SS_GET);
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        sqlite3_reset(st);
        return rc == SQLITE_DONE ? CQ_ENOENT : map_rc(rc);
    }
    out->id = sqlite3_column_int64(st, 0);
    copy_text(out->title, sizeof out->title, st, 1);
    out->start_s = sqlite3_column_int64(st, 2);
    out->end_s = sqlite3_column_int64(st, 3);
    out->open_before_s = sqlite3_column_int64(st, 4);
    out->mode = (cq_session_mode_t)sqlite3_column_int(st, 5);
    out->state = (cq_session_state_t)sqlite3_column_int(st, 6);
    out->ended_s = sqlite3_column_int64(st, 7);
    out->created_s = sqlite3_column_int64(st, 8);
    sqlite3_reset(st);
    st = stmt(s, MB_LIST);
    sqlite3_bind_int64(st, 1, id);
    out->nmembers = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && out->nmembers < CQ_STORE_MAX_MEMBERS) {
        out->members[out->nmembers].telecentre_id = sqlite3_column_int64(st, 0);
        out->members[out->nmembers].presenter = sqlite3_column_int(st, 1) != 0;
        out->nmembers++;
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : map_rc(rc);
}

int cq_store_session_update(struct cq_store *s, const cq_session_t *ss) {
    int err = check_session(ss);
    if (err || (err = exec(stmt(s, TX_BEGIN))) != 0)
        return err;
    sqlite3_stmt *st = bind_session(stmt(s, SS_UPDATE), ss);
    sqlite3_bind_int64(st, 6, ss->id);
    if ((err = exec(st)) == 0 && sqlite3_changes(s->db) != 1)
        err = CQ_ENOENT;
    if (err == 0)
        err = put_members(s, ss);
    return finish(s, err);
}

int cq_store_session_set_state(struct cq_store *s, int64_t id, cq_session_state_t state,
                               int64_t ended_s) {
    sqlite3_stmt *st = stmt(s, SS_STATE);
    sqlite3_bind_int(st, 1, (int)state);
    sqlite3_bind_int64(st, 2, ended_s);
    sqlite3_bind_int64(st, 3, id);
    int err = exec(st);
    if (err)
        return err;
    return sqlite3_changes(s->db) == 1 ? 0 : CQ_ENOENT;
}

int cq_store_session_each(struct cq_store *s, unsigned state_mask,
                          int (*fn)(const cq_session_t *, void *), void *ctx) {
    /* The ids first, then each session whole: fn may write to the store (a state change),
     * which must not happen while the list statement is still stepping. */
    int64_t *ids = NULL;
    size_t n = 0, cap = 0;
    sqlite3_stmt *st = stmt(s, SS_LIST);
    sqlite3_bind_int64(st, 1, (sqlite3_int64)state_mask);
    int rc, out = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            int64_t *grown = realloc(ids, cap * sizeof *ids);
            if (grown == NULL) {
                out = CQ_ENOMEM;
                break;
            }
            ids = grown;
        }
        ids[n++] = sqlite3_column_int64(st, 0);
    }
    sqlite3_reset(st);
    if (out == 0 && rc != SQLITE_DONE)
        out = map_rc(rc);
    cq_session_t *one = out == 0 ? malloc(sizeof *one) : NULL;
    if (out == 0 && one == NULL)
        out = CQ_ENOMEM;
    for (size_t i = 0; i < n && out == 0; i++) {
        int err = cq_store_session_get(s, ids[i], one);
        if (err != CQ_ENOENT)
            out = err ? err : fn(one, ctx);
    }
    free(one);
    free(ids);
    return out;
}

int cq_store_attendance_open(struct cq_store *s, cq_attendance_t *a) {
    sqlite3_stmt *st = stmt(s, AT_OPEN);
    sqlite3_bind_int64(st, 1, a->session_id);
    sqlite3_bind_int64(st, 2, a->telecentre_id);
    sqlite3_bind_int(st, 3, a->role);
    sqlite3_bind_int64(st, 4, a->joined_s);
    int err = exec(st);
    if (err == 0)
        a->id = sqlite3_last_insert_rowid(s->db);
    return err;
}

int cq_store_attendance_close(struct cq_store *s, const cq_attendance_t *a) {
    sqlite3_stmt *st = stmt(s, AT_CLOSE);
    sqlite3_bind_int64(st, 1, a->left_s);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)a->packets_in);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)a->packets_out);
    sqlite3_bind_int64(st, 4, (sqlite3_int64)a->bytes_in);
    sqlite3_bind_int64(st, 5, (sqlite3_int64)a->bytes_out);
    sqlite3_bind_int64(st, 6, a->lost);
    sqlite3_bind_int64(st, 7, a->rtt_ms);
    sqlite3_bind_int64(st, 8, a->jitter_ms);
    sqlite3_bind_int64(st, 9, (sqlite3_int64)a->nacks);
    sqlite3_bind_int64(st, 10, (sqlite3_int64)a->rtx);
    sqlite3_bind_int64(st, 11, a->id);
    int err = exec(st);
    if (err)
        return err;
    return sqlite3_changes(s->db) == 1 ? 0 : CQ_ENOENT;
}

int cq_store_attendance_close_all(struct cq_store *s, int64_t left_s, int *n) {
    sqlite3_stmt *st = stmt(s, AT_CLOSE_ALL);
    sqlite3_bind_int64(st, 1, left_s);
    int err = exec(st);
    if (err == 0 && n != NULL)
        *n = sqlite3_changes(s->db);
    return err;
}

int cq_store_attendance_each(struct cq_store *s, int64_t session,
                             int (*fn)(const cq_attendance_t *, void *), void *ctx) {
    sqlite3_stmt *st = stmt(s, AT_LIST);
    sqlite3_bind_int64(st, 1, session);
    int rc, out = 0;
    while (out == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        cq_attendance_t a = {
            .id = sqlite3_column_int64(st, 0),
            .session_id = sqlite3_column_int64(st, 1),
            .telecentre_id = sqlite3_column_int64(st, 2),
            .role = sqlite3_column_int(st, 3),
            .joined_s = sqlite3_column_int64(st, 4),
            .left_s = sqlite3_column_int64(st, 5),
            .packets_in = (uint64_t)sqlite3_column_int64(st, 6),
            .packets_out = (uint64_t)sqlite3_column_int64(st, 7),
            .bytes_in = (uint64_t)sqlite3_column_int64(st, 8),
            .bytes_out = (uint64_t)sqlite3_column_int64(st, 9),
            .lost = sqlite3_column_int64(st, 10),
            .rtt_ms = (uint32_t)sqlite3_column_int64(st, 11),
            .jitter_ms = (uint32_t)sqlite3_column_int64(st, 12),
            .nacks = (uint64_t)sqlite3_column_int64(st, 13),
            .rtx = (uint64_t)sqlite3_column_int64(st, 14),
        };
        out = fn(&a, ctx);
    }
    if (out == 0 && rc != SQLITE_DONE)
        out = map_rc(rc);
    sqlite3_reset(st);
    return out;
}

int cq_store_removal_add(struct cq_store *s, int64_t session, int64_t telecentre, int64_t now_s) {
    sqlite3_stmt *st = stmt(s, RM_INSERT);
    sqlite3_bind_int64(st, 1, session);
    sqlite3_bind_int64(st, 2, telecentre);
    sqlite3_bind_int64(st, 3, now_s);
    int err = exec(st);
    return err == CQ_EINVAL ? CQ_ENOENT : err; /* the one reference: the session */
}

int cq_store_removal_has(struct cq_store *s, int64_t session, int64_t telecentre, bool *removed) {
    sqlite3_stmt *st = stmt(s, RM_GET);
    sqlite3_bind_int64(st, 1, session);
    sqlite3_bind_int64(st, 2, telecentre);
    int rc = sqlite3_step(st);
    *removed = rc == SQLITE_ROW && sqlite3_column_int64(st, 0) > 0;
    sqlite3_reset(st);
    return map_rc(rc);
}
