#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "rtp/error.h"
#include "signaling/opkey.h"

static char dir[64];

static int setup(void **state) {
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/chasqui-opkey-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* First start: directories and a 0600 file with 64 hex digits; later starts read it. */
static void test_opkey_created_once_then_read(void **state) {
    (void)state;
    char path[128], key[CQ_OPKEY_LEN + 1], again[CQ_OPKEY_LEN + 1];
    snprintf(path, sizeof path, "%s/var/deep/operator.key", dir);
    bool created;
    assert_int_equal(cq_opkey_load_or_create(path, key, sizeof key, &created), 0);
    assert_true(created);
    assert_int_equal(strlen(key), CQ_OPKEY_LEN);
    assert_int_equal(strspn(key, "0123456789abcdef"), CQ_OPKEY_LEN);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    char parent[128];
    snprintf(parent, sizeof parent, "%s/var", dir);
    assert_int_equal(stat(parent, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    assert_int_equal(cq_opkey_load_or_create(path, again, sizeof again, &created), 0);
    assert_false(created);
    assert_string_equal(key, again);
    /* Two keys made apart are different (256 random bits). */
    char other[128];
    snprintf(other, sizeof other, "%s/other.key", dir);
    assert_int_equal(cq_opkey_load_or_create(other, again, sizeof again, &created), 0);
    assert_string_not_equal(key, again);
    assert_int_equal(cq_opkey_load_or_create(path, key, CQ_OPKEY_LEN, &created), CQ_EINVAL);
}

/* A key others can read may have leaked: refused until the operator fixes it. A file that
 * is not a key is not silently replaced. */
static void test_opkey_refuses_open_or_bad_files(void **state) {
    (void)state;
    char path[128], key[CQ_OPKEY_LEN + 1];
    bool created;
    snprintf(path, sizeof path, "%s/operator.key", dir);
    assert_int_equal(cq_opkey_load_or_create(path, key, sizeof key, &created), 0);
    assert_int_equal(chmod(path, 0644), 0);
    assert_int_equal(cq_opkey_load_or_create(path, key, sizeof key, &created), CQ_EACCES);
    assert_int_equal(chmod(path, 0600), 0);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("not-a-key\n", f);
    fclose(f);
    assert_int_equal(cq_opkey_load_or_create(path, key, sizeof key, &created), CQ_EMALFORMED);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("0123456789abcdef0123456789abcdef0123456789abcdef0123456789ABCDEF\n", f);
    fclose(f);
    assert_int_equal(cq_opkey_load_or_create(path, key, sizeof key, &created), CQ_EMALFORMED);
    /* A directory where the file should be. */
    snprintf(path, sizeof path, "%s/adir", dir);
    assert_int_equal(mkdir(path, 0700), 0);
    assert_int_equal(cq_opkey_load_or_create(path, key, sizeof key, &created), CQ_EIO);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_opkey_created_once_then_read, setup, teardown),
        cmocka_unit_test_setup_teardown(test_opkey_refuses_open_or_bad_files, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
