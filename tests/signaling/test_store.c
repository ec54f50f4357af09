#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "rtp/error.h"
#include "signaling/store.h"

static cq_session_t sess, got; /* 4 KB each: not on the stack */

static int64_t add_telecentre(struct cq_store *s, const char *name) {
    cq_telecentre_t t = {0};
    snprintf(t.name, sizeof t.name, "%s", name);
    snprintf(t.district, sizeof t.district, "Monzón");
    snprintf(t.contact, sizeof t.contact, "+51 962 000 000");
    assert_int_equal(cq_store_telecentre_create(s, &t, 1000), 0);
    assert_true(t.id > 0);
    return t.id;
}

static void make_session(int64_t a, int64_t b) {
    memset(&sess, 0, sizeof sess);
    snprintf(sess.title, sizeof sess.title, "Cacao: precios y plagas");
    sess.start_s = 2000000000;
    sess.end_s = 2000003600;
    sess.open_before_s = 600;
    sess.mode = CQ_SESSION_CONFERENCE;
    sess.nmembers = 2;
    sess.members[0] = (cq_member_t){a, true};
    sess.members[1] = (cq_member_t){b, false};
}

static void test_store_telecentres_crud(void **state) {
    (void)state;
    struct cq_store *s;
    assert_int_equal(cq_store_open(&s, ":memory:"), 0);
    int64_t id = add_telecentre(s, "Cachicoto");
    cq_telecentre_t t;
    assert_int_equal(cq_store_telecentre_get(s, id, &t), 0);
    assert_string_equal(t.name, "Cachicoto");
    assert_string_equal(t.district, "Monzón");
    assert_int_equal(t.created_s, 1000);
    /* Names are unique; too long or empty is refused whole. */
    cq_telecentre_t dup = {0};
    snprintf(dup.name, sizeof dup.name, "Cachicoto");
    assert_int_equal(cq_store_telecentre_create(s, &dup, 1), CQ_EEXIST);
    cq_telecentre_t empty = {0};
    assert_int_equal(cq_store_telecentre_create(s, &empty, 1), CQ_EINVAL);
    cq_telecentre_t unterminated;
    memset(&unterminated, 'x', sizeof unterminated);
    assert_int_equal(cq_store_telecentre_create(s, &unterminated, 1), CQ_EINVAL);
    /* Update and list. */
    snprintf(t.contact, sizeof t.contact, "radio 7");
    assert_int_equal(cq_store_telecentre_update(s, &t), 0);
    assert_int_equal(cq_store_telecentre_get(s, id, &t), 0);
    assert_string_equal(t.contact, "radio 7");
    /* Renaming onto another's name is a clash too; an unknown id is not there. */
    add_telecentre(s, "Anda");
    snprintf(t.name, sizeof t.name, "Anda");
    assert_int_equal(cq_store_telecentre_update(s, &t), CQ_EEXIST);
    t.id = 9999;
    snprintf(t.name, sizeof t.name, "Nuevo");
    assert_int_equal(cq_store_telecentre_update(s, &t), CQ_ENOENT);
    cq_store_close(s);
}

static int count_and_first(const cq_telecentre_t *t, void *ctx) {
    int *n = ctx;
    if (*n == 0)
        assert_string_equal(t->name, "Anda"); /* by name */
    (*n)++;
    return 0;
}

static int stop_at_first(const cq_telecentre_t *t, void *ctx) {
    (void)t;
    (void)ctx;
    return 42;
}

static void test_store_telecentre_list_and_delete(void **state) {
    (void)state;
    struct cq_store *s;
    assert_int_equal(cq_store_open(&s, ":memory:"), 0);
    int64_t a = add_telecentre(s, "Cachicoto");
    int64_t b = add_telecentre(s, "Anda");
    int n = 0;
    assert_int_equal(cq_store_telecentre_each(s, count_and_first, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(cq_store_telecentre_each(s, stop_at_first, NULL), 42);
    /* Invited to a session not over: cannot go. */
    make_session(a, b);
    assert_int_equal(cq_store_session_create(s, &sess, 1500), 0);
    assert_int_equal(cq_store_telecentre_delete(s, a), CQ_EBADSTATE);
    assert_int_equal(cq_store_session_set_state(s, sess.id, CQ_SESSION_ENDED, 2000003600), 0);
    assert_int_equal(cq_store_telecentre_delete(s, a), 0);
    assert_int_equal(cq_store_telecentre_delete(s, a), CQ_ENOENT);
    cq_telecentre_t t;
    assert_int_equal(cq_store_telecentre_get(s, a, &t), CQ_ENOENT);
    n = 0;
    assert_int_equal(cq_store_telecentre_each(s, count_and_first, &n), 0);
    assert_int_equal(n, 1);
    /* The past session still names it; its name is free again. */
    assert_int_equal(cq_store_session_get(s, sess.id, &got), 0);
    assert_int_equal(got.nmembers, 2);
    add_telecentre(s, "Cachicoto");
    cq_store_close(s);
}

static void test_store_sessions(void **state) {
    (void)state;
    struct cq_store *s;
    assert_int_equal(cq_store_open(&s, ":memory:"), 0);
    int64_t a = add_telecentre(s, "Cachicoto");
    int64_t b = add_telecentre(s, "Anda");
    make_session(a, b);
    assert_int_equal(cq_store_session_create(s, &sess, 1500), 0);
    assert_int_equal(sess.state, CQ_SESSION_SCHEDULED);
    assert_int_equal(cq_store_session_get(s, sess.id, &got), 0);
    assert_string_equal(got.title, sess.title);
    assert_int_equal(got.start_s, sess.start_s);
    assert_int_equal(got.end_s, sess.end_s);
    assert_int_equal(got.open_before_s, 600);
    assert_int_equal(got.nmembers, 2);
    assert_true(got.members[0].telecentre_id == a && got.members[0].presenter);
    assert_true(got.members[1].telecentre_id == b && !got.members[1].presenter);
    /* A member that does not exist: nothing is stored, not even the session. */
    int64_t before = sess.id;
    make_session(a, 777);
    assert_int_equal(cq_store_session_create(s, &sess, 1500), CQ_ENOENT);
    assert_int_equal(cq_store_session_get(s, before + 1, &got), CQ_ENOENT);
    /* The same telecentre twice. */
    make_session(a, a);
    assert_int_equal(cq_store_session_create(s, &sess, 1500), CQ_EEXIST);
    /* Bad times. */
    make_session(a, b);
    sess.end_s = sess.start_s;
    assert_int_equal(cq_store_session_create(s, &sess, 1500), CQ_EINVAL);
    /* Update replaces members; a failed update changes nothing. */
    assert_int_equal(cq_store_session_get(s, before, &got), 0);
    got.nmembers = 1;
    got.members[0] = (cq_member_t){b, true};
    snprintf(got.title, sizeof got.title, "Café");
    assert_int_equal(cq_store_session_update(s, &got), 0);
    got.members[0].telecentre_id = 555;
    assert_int_equal(cq_store_session_update(s, &got), CQ_ENOENT);
    assert_int_equal(cq_store_session_get(s, before, &got), 0);
    assert_string_equal(got.title, "Café");
    assert_int_equal(got.nmembers, 1);
    assert_int_equal(got.members[0].telecentre_id, b);
    assert_int_equal(cq_store_session_set_state(s, 12345, CQ_SESSION_LIVE, 0), CQ_ENOENT);
    cq_store_close(s);
}

static int collect_ids(const cq_session_t *ss, void *ctx) {
    int64_t *ids = ctx;
    while (*ids)
        ids++;
    *ids = ss->id;
    return 0;
}

static void test_store_session_each_by_state(void **state) {
    (void)state;
    struct cq_store *s;
    assert_int_equal(cq_store_open(&s, ":memory:"), 0);
    int64_t a = add_telecentre(s, "Cachicoto");
    int64_t b = add_telecentre(s, "Anda");
    int64_t id[4];
    for (int k = 0; k < 4; k++) {
        make_session(a, b);
        sess.start_s = 2000000000 - k * 100; /* created latest-first by start */
        sess.end_s = sess.start_s + 60;
        assert_int_equal(cq_store_session_create(s, &sess, 1), 0);
        id[k] = sess.id;
    }
    assert_int_equal(cq_store_session_set_state(s, id[1], CQ_SESSION_LIVE, 0), 0);
    assert_int_equal(cq_store_session_set_state(s, id[2], CQ_SESSION_CANCELLED, 5), 0);
    int64_t ids[8] = {0};
    assert_int_equal(cq_store_session_each(s, 1u << CQ_SESSION_SCHEDULED, collect_ids, ids), 0);
    assert_true(ids[0] == id[3] && ids[1] == id[0] && ids[2] == 0); /* by start time */
    memset(ids, 0, sizeof ids);
    assert_int_equal(cq_store_session_each(s,
                                           (1u << CQ_SESSION_ENDED) | (1u << CQ_SESSION_CANCELLED),
                                           collect_ids, ids),
                     0);
    assert_true(ids[0] == id[2] && ids[1] == 0);
    cq_store_close(s);
}

/* A fresh database file at path (a template, filled in) holding Cachicoto and Anda (*a,
 * *b) and a session of both (sess), closed and opened again. */
static struct cq_store *reopened_file(char *path, int64_t *a, int64_t *b) {
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    unlink(path);
    struct cq_store *s;
    assert_int_equal(cq_store_open(&s, path), 0);
    *a = add_telecentre(s, "Cachicoto");
    *b = add_telecentre(s, "Anda");
    make_session(*a, *b);
    assert_int_equal(cq_store_session_create(s, &sess, 1), 0);
    cq_store_close(s);
    assert_int_equal(cq_store_open(&s, path), 0);
    return s;
}

/* What was committed is there after a reopen; a database from a newer schema is refused. */
static void test_store_persists_and_checks_version(void **state) {
    (void)state;
    char path[] = "/tmp/chasqui-store-XXXXXX";
    int64_t a, b;
    struct cq_store *s = reopened_file(path, &a, &b);
    assert_int_equal(cq_store_session_get(s, sess.id, &got), 0);
    assert_int_equal(got.nmembers, 2);
    cq_store_close(s);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(
        sqlite3_exec(db, "UPDATE meta SET value = 99 WHERE key = 'schema'", NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(cq_store_open(&s, path), CQ_EVERSION);
    /* Not a database at all. */
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("this is not sqlite, just a text file that is long enough to have a header.....", f);
    fclose(f);
    char wal[64], shm[64];
    snprintf(wal, sizeof wal, "%s-wal", path);
    snprintf(shm, sizeof shm, "%s-shm", path);
    unlink(wal);
    unlink(shm);
    assert_int_equal(cq_store_open(&s, path), CQ_EIO);
    unlink(path);
}

/* A removal is kept across a reopen, once per session and telecentre, and only for that
 * session; the database says which schema wrote it. */
static void test_store_removal_persists(void **state) {
    (void)state;
    char path[] = "/tmp/chasqui-store-XXXXXX";
    int64_t a, b;
    struct cq_store *s = reopened_file(path, &a, &b);
    bool removed = true;
    assert_int_equal(cq_store_removal_has(s, sess.id, b, &removed), 0);
    assert_false(removed);
    assert_int_equal(cq_store_removal_add(s, sess.id, b, 5), 0);
    assert_int_equal(cq_store_removal_add(s, sess.id, b, 6), CQ_EEXIST);
    assert_int_equal(cq_store_removal_add(s, 9999, b, 6), CQ_ENOENT);
    cq_store_close(s);
    assert_int_equal(cq_store_open(&s, path), 0);
    assert_int_equal(cq_store_removal_has(s, sess.id, b, &removed), 0);
    assert_true(removed);
    assert_int_equal(cq_store_removal_has(s, sess.id, a, &removed), 0);
    assert_false(removed);
    assert_int_equal(cq_store_removal_has(s, sess.id + 1, b, &removed), 0);
    assert_false(removed);
    cq_store_close(s);
    sqlite3 *db;
    sqlite3_stmt *v;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(
        sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = 'schema'", -1, &v, NULL),
        SQLITE_OK);
    assert_int_equal(sqlite3_step(v), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(v, 0), 3);
    sqlite3_finalize(v);
    sqlite3_close(db);
    char side[64];
    snprintf(side, sizeof side, "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", path);
    unlink(side);
    unlink(path);
}

static int collect_attendance(const cq_attendance_t *a, void *ctx) {
    cq_attendance_t *out = ctx;
    while (out->id != 0)
        out++;
    *out = *a;
    return 0;
}

/* History rows: opened at a join, closed with the link's figures, listed by join time;
 * rows a crash left open are closed at the next start. */
static void test_store_attendance(void **state) {
    (void)state;
    struct cq_store *s;
    assert_int_equal(cq_store_open(&s, ":memory:"), 0);
    int64_t a = add_telecentre(s, "Cachicoto"), b = add_telecentre(s, "Anda");
    make_session(a, b);
    assert_int_equal(cq_store_session_create(s, &sess, 1), 0);
    cq_attendance_t first = {.session_id = sess.id, .telecentre_id = a, .role = 1, .joined_s = 100};
    cq_attendance_t second = {.session_id = sess.id, .telecentre_id = b, .role = 2, .joined_s = 50};
    assert_int_equal(cq_store_attendance_open(s, &first), 0);
    assert_int_equal(cq_store_attendance_open(s, &second), 0);
    first.left_s = 700;
    first.packets_in = 30000;
    first.lost = 120;
    first.rtt_ms = 640;
    first.rtx = 90;
    assert_int_equal(cq_store_attendance_close(s, &first), 0);
    int n = 0;
    assert_int_equal(cq_store_attendance_close_all(s, 900, &n), 0);
    assert_int_equal(n, 1); /* only the one still open */
    cq_attendance_t rows[4];
    memset(rows, 0, sizeof rows);
    assert_int_equal(cq_store_attendance_each(s, sess.id, collect_attendance, rows), 0);
    assert_int_equal(rows[0].telecentre_id, b); /* joined first */
    assert_int_equal(rows[0].left_s, 900);
    assert_int_equal(rows[1].telecentre_id, a);
    assert_int_equal(rows[1].left_s, 700);
    assert_int_equal(rows[1].packets_in, 30000);
    assert_int_equal(rows[1].lost, 120);
    assert_int_equal(rows[1].rtt_ms, 640);
    assert_int_equal(rows[1].rtx, 90);
    assert_int_equal(rows[2].id, 0);
    cq_attendance_t ghost = {.id = 999, .left_s = 1};
    assert_int_equal(cq_store_attendance_close(s, &ghost), CQ_ENOENT);
    cq_store_close(s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_store_telecentres_crud),
        cmocka_unit_test(test_store_telecentre_list_and_delete),
        cmocka_unit_test(test_store_sessions),
        cmocka_unit_test(test_store_session_each_by_state),
        cmocka_unit_test(test_store_persists_and_checks_version),
        cmocka_unit_test(test_store_attendance),
        cmocka_unit_test(test_store_removal_persists),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
