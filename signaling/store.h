/*
 * The district's persistent state in one SQLite file: telecentres, scheduled sessions with
 * their invited telecentres and presenters. WAL journal with synchronous=FULL, so that a
 * committed change survives the process being killed at any moment (issue 4: kill -9
 * loses no scheduled session); every statement is prepared once at open and bound, never
 * built from strings.
 *
 * One owner thread (the main loop). Strings in and out are copied into fixed fields; a
 * value too long for its field is CQ_EINVAL, never cut.
 */
#ifndef CQ_SIGNALING_STORE_H
#define CQ_SIGNALING_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cq_store;

#define CQ_STORE_NAME_MAX    80  /* telecentre name, district */
#define CQ_STORE_CONTACT_MAX 160 /* telecentre contact (phone, e-mail, person) */
#define CQ_STORE_TITLE_MAX   120 /* session title */
#define CQ_STORE_MAX_MEMBERS 256 /* telecentres invited to one session */

typedef struct {
    int64_t id;
    char name[CQ_STORE_NAME_MAX + 1];
    char district[CQ_STORE_NAME_MAX + 1];
    char contact[CQ_STORE_CONTACT_MAX + 1];
    int64_t created_s; /* Unix time */
} cq_telecentre_t;

typedef enum {
    CQ_SESSION_SCHEDULED = 0,
    CQ_SESSION_OPEN, /* joining window before the start */
    CQ_SESSION_LIVE,
    CQ_SESSION_ENDED,
    CQ_SESSION_CANCELLED,
} cq_session_state_t;

typedef enum { CQ_SESSION_CONFERENCE = 0, CQ_SESSION_BROADCAST } cq_session_mode_t;

typedef struct {
    int64_t telecentre_id;
    bool presenter;
} cq_member_t;

typedef struct {
    int64_t id;
    char title[CQ_STORE_TITLE_MAX + 1];
    int64_t start_s, end_s; /* Unix time, UTC */
    int64_t open_before_s;  /* the joining window opens this long before the start */
    cq_session_mode_t mode;
    cq_session_state_t state;
    int64_t ended_s; /* when it ended or was cancelled; 0 before */
    int64_t created_s;
    size_t nmembers;
    cq_member_t members[CQ_STORE_MAX_MEMBERS];
} cq_session_t;

/* Opens (creating if needed) the database at path; ":memory:" for tests. Returns 0,
 * CQ_EVERSION (a schema newer than this program's), CQ_ENOMEM or CQ_EIO (the file cannot
 * be opened or is not a database: cq_store_errmsg says why, when *out was set). */
int cq_store_open(struct cq_store **out, const char *path);
void cq_store_close(struct cq_store *s);

/* SQLite's message for the last failure, for the log. */
const char *cq_store_errmsg(const struct cq_store *s);

/* Telecentres. Names are unique among the telecentres not deleted (CQ_EEXIST). */
int cq_store_telecentre_create(struct cq_store *s, cq_telecentre_t *t, int64_t now_s);
int cq_store_telecentre_get(struct cq_store *s, int64_t id, cq_telecentre_t *out);
int cq_store_telecentre_update(struct cq_store *s, const cq_telecentre_t *t);
/* Refused with CQ_EBADSTATE while it is invited to a session not yet over; otherwise it
 * leaves the lists but stays in past sessions' history. */
int cq_store_telecentre_delete(struct cq_store *s, int64_t id);
/* Calls fn for each telecentre, by name; fn returning non-zero stops the walk and is
 * returned. */
int cq_store_telecentre_each(struct cq_store *s, int (*fn)(const cq_telecentre_t *, void *),
                             void *ctx);

/* Sessions. Members must be telecentres that exist (CQ_ENOENT otherwise). */
int cq_store_session_create(struct cq_store *s, cq_session_t *sess, int64_t now_s);
int cq_store_session_get(struct cq_store *s, int64_t id, cq_session_t *out);
/* Replaces title, times, mode and members (state and history stay). */
int cq_store_session_update(struct cq_store *s, const cq_session_t *sess);
int cq_store_session_set_state(struct cq_store *s, int64_t id, cq_session_state_t state,
                               int64_t ended_s);
/* Calls fn for each session whose state is in the mask (bit per cq_session_state_t), by
 * start time; fn's session is only valid during the call. */
int cq_store_session_each(struct cq_store *s, unsigned state_mask,
                          int (*fn)(const cq_session_t *, void *), void *ctx);

/* History: one row per time a telecentre was in a session, with what its link did. */
typedef struct {
    int64_t id;
    int64_t session_id, telecentre_id;
    int role;                 /* cq_role_t */
    int64_t joined_s, left_s; /* left_s 0 while still in */
    uint64_t packets_in, packets_out, bytes_in, bytes_out;
    int64_t lost;
    uint32_t rtt_ms, jitter_ms;
    uint64_t nacks, rtx;
} cq_attendance_t;

/* Records that a telecentre joined; a->id receives the row's id. */
int cq_store_attendance_open(struct cq_store *s, cq_attendance_t *a);
/* Records that it left, with its figures (a->id names the row). */
int cq_store_attendance_close(struct cq_store *s, const cq_attendance_t *a);
/* Marks every row still open as left at left_s (a restart cannot know better). Returns
 * 0 or an error; *n (if not NULL) receives how many. */
int cq_store_attendance_close_all(struct cq_store *s, int64_t left_s, int *n);
/* Calls fn for each row of session, by join time. */
int cq_store_attendance_each(struct cq_store *s, int64_t session,
                             int (*fn)(const cq_attendance_t *, void *), void *ctx);

/* Removals: the operator took a telecentre out of a session, and none of its tokens for
 * that session may join it again, across restarts. cq_store_removal_add returns 0,
 * CQ_EEXIST (removed already) or CQ_ENOENT (no such session). */
int cq_store_removal_add(struct cq_store *s, int64_t session, int64_t telecentre, int64_t now_s);
int cq_store_removal_has(struct cq_store *s, int64_t session, int64_t telecentre, bool *removed);

#endif
