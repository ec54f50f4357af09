/*
 * The recorder's ring and writer: a ring that wraps and drops (counted) when full, a slow
 * disk that never blocks the producer, and a disk under the free-space floor that stops
 * the recording with a notice. The slow disk is a write hook that holds the writer until
 * the test lets it go; the disk's free space is a function the test sets: both happen at
 * a known point, so nothing depends on how fast this machine is.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <dirent.h>
#include <unistd.h>
#include <stdatomic.h>
#include <uv.h>

#include "codec/recfile.h"
#include "relay/recorder.h"
#include "rtp/error.h"
#include "support/recread.h"

typedef struct {
    uv_sem_t entered; /* posted when the writer first waits in the hook */
    uv_sem_t release; /* the writer goes on once posted */
    _Atomic bool hold;
    _Atomic bool announced;
    _Atomic uint64_t free_bytes;
    uv_thread_t producer;       /* the test's own thread, as the relay's worker */
    _Atomic int producer_reads; /* free-space reads made on it */
    char dir[64];
} fixture_t;

static void slow_write(void *arg) {
    fixture_t *f = arg;
    if (!atomic_load(&f->hold))
        return;
    if (!atomic_exchange(&f->announced, true))
        uv_sem_post(&f->entered);
    uv_sem_wait(&f->release);
}

static int fake_free(void *arg, const char *dir, uint64_t *out) {
    (void)dir;
    fixture_t *f = arg;
    uv_thread_t self = uv_thread_self();
    if (uv_thread_equal(&self, &f->producer))
        atomic_fetch_add(&f->producer_reads, 1);
    *out = atomic_load(&f->free_bytes);
    return 0;
}

static int setup(void **state) {
    fixture_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    assert_int_equal(uv_sem_init(&f->entered, 0), 0);
    assert_int_equal(uv_sem_init(&f->release, 0), 0);
    atomic_store(&f->free_bytes, 1ull << 40);
    f->producer = uv_thread_self();
    snprintf(f->dir, sizeof f->dir, "/tmp/cq-recorder-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture_t *f = *state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    uv_sem_destroy(&f->entered);
    uv_sem_destroy(&f->release);
    free(f);
    return 0;
}

static struct cq_recorder *make(fixture_t *f, size_t slots) {
    cq_recorder_config_t cfg = {.dir = f->dir,
                                .min_free_bytes = 1u << 20,
                                .ring_slots = slots,
                                .poll_ms = 1,
                                .free_bytes = fake_free,
                                .before_write = slow_write,
                                .hook_arg = f};
    struct cq_recorder *rec;
    assert_int_equal(cq_recorder_create(&rec, &cfg), 0);
    return rec;
}

/* Packet i: 12 + i % 200 bytes whose first bytes say i. */
static bool push(struct cq_recorder *rec, uint32_t session, uint32_t i) {
    uint8_t pkt[256];
    size_t len = 12 + i % 200;
    memset(pkt, (int)(i & 0xff), len);
    pkt[0] = (uint8_t)(i >> 24);
    pkt[1] = (uint8_t)(i >> 16);
    pkt[2] = (uint8_t)(i >> 8);
    pkt[3] = (uint8_t)i;
    cq_recorder_stream_t st = {
        .session = session, .participant = 5, .ssrc = 0x1234, .kind = CQ_RECFILE_VIDEO, .layer = 1};
    return cq_recorder_push(rec, &st, 1000u + i, pkt, len);
}

/* Reads the one file of session into ids[] (their packet numbers); returns how many. */
static size_t read_back(const fixture_t *f, uint32_t session, uint32_t *ids, size_t cap) {
    char dir[128];
    assert_true(cq_recorder_session_dir(f->dir, session, dir, sizeof dir) > 0);
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *de;
    char path[512] = "";
    size_t files = 0;
    while ((de = readdir(d)) != NULL)
        if (strstr(de->d_name, "-p5-video1-00001234.cqrec") != NULL) {
            snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
            files++;
        }
    closedir(d);
    assert_int_equal(files, 1);
    static uint8_t buf[1 << 20];
    static cq_test_record_t rec[1024];
    cq_recfile_header_t h;
    long n = cq_test_recfile_read(path, buf, sizeof buf, &h, rec, 1024);
    assert_true(n >= 0);
    assert_int_equal(h.session, session);
    assert_int_equal(h.participant, 5);
    assert_int_equal(h.kind, CQ_RECFILE_VIDEO);
    assert_int_equal(h.layer, 1);
    for (long i = 0; i < n; i++) {
        const uint8_t *pkt = rec[i].pkt;
        uint32_t id =
            (uint32_t)pkt[0] << 24 | (uint32_t)pkt[1] << 16 | (uint32_t)pkt[2] << 8 | pkt[3];
        assert_int_equal(rec[i].len, 12 + id % 200);
        assert_true(rec[i].arrival_us == 1000u + id);
        assert_int_equal(pkt[rec[i].len - 1], id & 0xff);
        assert_true((size_t)i < cap);
        ids[i] = id;
    }
    return (size_t)n;
}

/* Waits (bounded) until the writer has written want packets. */
static void wait_written(struct cq_recorder *rec, uint64_t want) {
    cq_recorder_stats_t st;
    for (int i = 0; i < 10000; i++) {
        cq_recorder_stats(rec, &st);
        if (st.written >= want)
            return;
        uv_sleep(1);
    }
    fail_msg("the writer wrote %llu of %llu", (unsigned long long)st.written,
             (unsigned long long)want);
}

/* The writer is held inside its first write: the producer's pushes still return, the
 * ring takes what its free slots (less the control reserve) hold and drops the rest,
 * counted. Released, the writer writes exactly what was taken, in order. */
static void test_recorder_push_slow_disk_drops_never_blocks(void **state) {
    fixture_t *f = *state;
    atomic_store(&f->hold, true);
    struct cq_recorder *rec = make(f, 32);
    assert_int_equal(cq_recorder_start(rec, 9), 0);
    assert_true(push(rec, 9, 0));
    uv_sem_wait(&f->entered); /* the writer holds packet 0's slot */
    unsigned taken = 1, dropped = 0;
    for (uint32_t i = 1; i <= 100; i++) {
        if (push(rec, 9, taken))
            taken++;
        else
            dropped++;
    }
    /* 32 slots, 16 kept for control entries, one held by the writer. */
    assert_int_equal(taken, 16);
    assert_int_equal(dropped, 85);
    cq_recorder_stats_t st;
    cq_recorder_stats(rec, &st);
    assert_int_equal(st.pushed, 16);
    assert_int_equal(st.dropped, 85);
    assert_int_equal(st.written, 0);
    /* A stop still fits: the reserve is there for it. */
    atomic_store(&f->hold, false);
    uv_sem_post(&f->release);
    wait_written(rec, 16);
    assert_int_equal(cq_recorder_stop(rec, 9), 0);
    cq_recorder_destroy(rec);
    uint32_t ids[64];
    assert_int_equal(read_back(f, 9, ids, 64), 16);
    for (uint32_t i = 0; i < 16; i++)
        assert_int_equal(ids[i], i);
}

/* A review found a 65th recording accepted and then dropped unseen by the writer, and a
 * session's stop kept out by participants' leavings while the disk stalled. Now a start
 * past CQ_RECORDER_MAX_SESSIONS is refused, a stop frees its place, and leavings leave
 * half the control reserve to starts and stops. */
static void test_recorder_session_limit_and_stop_reserve(void **state) {
    fixture_t *f = *state;
    struct cq_recorder *rec = make(f, 256);
    for (uint32_t s = 1; s <= CQ_RECORDER_MAX_SESSIONS; s++)
        assert_int_equal(cq_recorder_start(rec, s), 0);
    assert_int_equal(cq_recorder_start(rec, 1000), CQ_ENOBUFS);
    assert_int_equal(cq_recorder_stop(rec, 7), 0);
    assert_int_equal(cq_recorder_start(rec, 1000), 0);
    for (uint32_t s = 1; s <= CQ_RECORDER_MAX_SESSIONS; s++)
        if (s != 7)
            assert_int_equal(cq_recorder_stop(rec, s), 0);
    assert_int_equal(cq_recorder_stop(rec, 1000), 0);
    cq_recorder_destroy(rec);

    atomic_store(&f->hold, true);
    rec = make(f, 32);
    assert_int_equal(cq_recorder_start(rec, 9), 0);
    assert_true(push(rec, 9, 0));
    uv_sem_wait(&f->entered); /* the writer holds packet 0's slot */
    for (uint32_t i = 1; i <= 100; i++)
        (void)push(rec, 9, i); /* the ring is full but for the reserve */
    unsigned left = 0;
    for (uint32_t p = 0; p < 20; p++)
        left += cq_recorder_left(rec, 9, p, 1) == 0;
    assert_int_equal(left, 8); /* half the reserve of 16 */
    assert_int_equal(cq_recorder_stop(rec, 9), 0);
    atomic_store(&f->hold, false);
    uv_sem_post(&f->release);
    cq_recorder_destroy(rec);
}

/* 600 packets through a ring of 32, in bursts the writer drains between: the indexes go
 * round the ring many times and every packet comes out once, in order. */
static void test_recorder_ring_wraps(void **state) {
    fixture_t *f = *state;
    struct cq_recorder *rec = make(f, 32);
    assert_int_equal(cq_recorder_start(rec, 3), 0);
    for (uint32_t i = 0; i < 600; i++) {
        assert_true(push(rec, 3, i));
        if (i % 10 == 9)
            wait_written(rec, i + 1);
    }
    cq_recorder_destroy(rec); /* writes what is left, closes the file */
    uint32_t *ids = calloc(700, sizeof *ids);
    assert_int_equal(read_back(f, 3, ids, 700), 600);
    for (uint32_t i = 0; i < 600; i++)
        assert_int_equal(ids[i], i);
    free(ids);
}

/* The disk's free space changes to bytes; returns once the writer has read it (a start
 * reads the writer's last reading, never the disk: bounded, 5 s). */
static void set_free(fixture_t *f, struct cq_recorder *rec, uint64_t bytes) {
    atomic_store(&f->free_bytes, bytes);
    cq_recorder_stats_t st;
    for (int i = 0; i < 500; i++) {
        cq_recorder_stats(rec, &st);
        if (st.free_bytes == bytes)
            return;
        uv_sleep(10);
    }
    fail_msg("the writer never read the free space again");
}

/* Under the floor nothing starts; once started, a disk that fills stops the session with
 * a notice for the producer, the file so far is intact, and later packets are discarded. */
static void test_recorder_full_disk_stops_session(void **state) {
    fixture_t *f = *state;
    struct cq_recorder *rec = make(f, 64);
    atomic_store(&f->producer_reads, 0); /* creating it read the disk once, on this thread */
    set_free(f, rec, 1000);
    assert_int_equal(cq_recorder_start(rec, 4), CQ_ENOSPC);
    set_free(f, rec, 1ull << 30);
    assert_int_equal(cq_recorder_start(rec, 4), 0);
    /* Starts read the writer's last reading: the forwarding thread never waits on a disk
     * that may be stalled (statvfs can block for seconds). */
    assert_int_equal(atomic_load(&f->producer_reads), 0);
    for (uint32_t i = 0; i < 20; i++)
        assert_true(push(rec, 4, i));
    wait_written(rec, 20);
    uint32_t stopped = 0;
    assert_false(cq_recorder_poll_stopped(rec, &stopped));
    atomic_store(&f->free_bytes, (1u << 20) - 1); /* one byte under the floor */
    bool seen = false;
    for (int i = 0; i < 10000 && !seen; i++) {
        seen = cq_recorder_poll_stopped(rec, &stopped);
        if (!seen)
            uv_sleep(1);
    }
    assert_true(seen);
    assert_int_equal(stopped, 4);
    assert_false(cq_recorder_poll_stopped(rec, &stopped)); /* told once */
    for (uint32_t i = 20; i < 30; i++)
        assert_true(push(rec, 4, i));
    cq_recorder_destroy(rec);
    uint32_t ids[64];
    assert_int_equal(read_back(f, 4, ids, 64), 20);
    for (uint32_t i = 0; i < 20; i++)
        assert_int_equal(ids[i], i);
}

/* How many of this process's open files have names holding needle (/proc/self/fd). */
static int open_files_named(const char *needle) {
    DIR *d = opendir("/proc/self/fd");
    assert_non_null(d);
    int n = 0;
    for (struct dirent *de; (de = readdir(d)) != NULL;) {
        char link[300], target[512];
        snprintf(link, sizeof link, "/proc/self/fd/%s", de->d_name);
        ssize_t len = readlink(link, target, sizeof target - 1);
        if (len <= 0)
            continue;
        target[len] = '\0';
        n += strstr(target, needle) != NULL;
    }
    closedir(d);
    return n;
}

/* A participant that leaves and joins again (a new epoch) restarts its sequence numbers:
 * its second stay goes to a file of its own, beside the first; the first stay's file is
 * closed when the relay says it left, while the session still records. */
static void test_recorder_new_stay_new_file(void **state) {
    fixture_t *f = *state;
    struct cq_recorder *rec = make(f, 64);
    assert_int_equal(cq_recorder_start(rec, 6), 0);
    uint8_t pkt[20] = {0x80};
    for (uint32_t epoch = 1; epoch <= 2; epoch++) {
        cq_recorder_stream_t st = {
            .session = 6, .participant = 5, .ssrc = 0x1234, .epoch = epoch, .kind = 1, .layer = 1};
        for (int i = 0; i < 3; i++)
            assert_true(cq_recorder_push(rec, &st, 1, pkt, sizeof pkt));
        if (epoch == 1)
            assert_int_equal(cq_recorder_left(rec, 6, 5, 1), 0);
    }
    int first_open = 1, second_open = 0;
    for (int i = 0; i < 5000 && (first_open != 0 || second_open != 1); i++) {
        first_open = open_files_named("-p5-video1-00001234.cqrec");
        second_open = open_files_named("-p5-video1-00001234-2.cqrec");
        if (first_open != 0 || second_open != 1)
            uv_sleep(1);
    }
    assert_int_equal(first_open, 0);
    assert_int_equal(second_open, 1);
    cq_recorder_destroy(rec);
    assert_int_equal(open_files_named("-p5-video1-00001234-2.cqrec"), 0);
    char dir[128];
    assert_true(cq_recorder_session_dir(f->dir, 6, dir, sizeof dir) > 0);
    DIR *d = opendir(dir);
    assert_non_null(d);
    int first = 0, second = 0;
    for (struct dirent *de; (de = readdir(d)) != NULL;) {
        first += strstr(de->d_name, "-p5-video1-00001234.cqrec") != NULL;
        second += strstr(de->d_name, "-p5-video1-00001234-2.cqrec") != NULL;
    }
    closedir(d);
    assert_int_equal(first, 1);
    assert_int_equal(second, 1);
}

static void test_recorder_create_refuses_odd_ring(void **state) {
    fixture_t *f = *state;
    cq_recorder_config_t cfg = {.dir = f->dir, .ring_slots = 100};
    struct cq_recorder *rec;
    assert_int_equal(cq_recorder_create(&rec, &cfg), CQ_EINVAL);
    cfg.ring_slots = 16; /* no room beyond the control reserve */
    assert_int_equal(cq_recorder_create(&rec, &cfg), CQ_EINVAL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_recorder_session_limit_and_stop_reserve, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_recorder_push_slow_disk_drops_never_blocks, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_recorder_ring_wraps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_recorder_full_disk_stops_session, setup, teardown),
        cmocka_unit_test_setup_teardown(test_recorder_new_stay_new_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_recorder_create_refuses_odd_ring, setup, teardown),
    };
    return cmocka_run_group_tests_name("relay/recorder", tests, NULL, NULL);
}
