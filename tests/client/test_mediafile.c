#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "client/mediafile.h"
#include "rtp/error.h"

static char path[64];

static int setup(void **state) {
    (void)state;
    snprintf(path, sizeof path, "/tmp/chasqui-media-XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0)
        return -1;
    close(fd);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    unlink(path);
    return 0;
}

static void write_bytes(const void *data, size_t len) {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
}

/* Odd sizes: chroma planes round up, as every Y4M reader expects. */
static void test_mediafile_y4m_round_trip(void **state) {
    (void)state;
    enum { W = 161, H = 91, CW = 81, CH = 46 };
    static uint8_t y[W * H], u[CW * CH], v[CW * CH], y2[W * H], u2[CW * CH], v2[CW * CH];
    struct cq_y4m *f;
    assert_int_equal(cq_y4m_create(&f, path, W, H, 15), 0);
    for (int k = 0; k < 2; k++) {
        for (size_t i = 0; i < sizeof y; i++)
            y[i] = (uint8_t)(i * 3 + (size_t)k);
        memset(u, 90 + k, sizeof u);
        memset(v, 160 - k, sizeof v);
        assert_int_equal(cq_y4m_write(f, y, W, u, CW, v, CW), 0);
    }
    cq_y4m_close(f);
    assert_int_equal(cq_y4m_open(&f, path), 0);
    unsigned w, h, fps;
    cq_y4m_size(f, &w, &h, &fps);
    assert_int_equal(w, W);
    assert_int_equal(h, H);
    assert_int_equal(fps, 15);
    for (int k = 0; k < 2; k++) {
        assert_int_equal(cq_y4m_read(f, y2, u2, v2), 0);
        assert_int_equal(y2[10], (uint8_t)(30 + k));
        assert_int_equal(u2[0], 90 + k);
        assert_int_equal(v2[CW * CH - 1], 160 - k);
    }
    assert_memory_equal(y2, y, sizeof y);
    assert_int_equal(cq_y4m_read(f, y2, u2, v2), CQ_ENOENT);
    cq_y4m_close(f);
    /* 4:4:4, a cut frame, not Y4M at all. */
    const char c444[] = "YUV4MPEG2 W16 H16 F30:1 C444\nFRAME\n";
    write_bytes(c444, sizeof c444 - 1);
    assert_int_equal(cq_y4m_open(&f, path), CQ_EUNSUPPORTED);
    const char cut[] = "YUV4MPEG2 W16 H16 F30000:1001\nFRAME\nabc";
    write_bytes(cut, sizeof cut - 1);
    assert_int_equal(cq_y4m_open(&f, path), 0);
    cq_y4m_size(f, &w, &h, &fps);
    assert_int_equal(fps, 30); /* 29.97 rounds */
    assert_int_equal(cq_y4m_read(f, y2, u2, v2), CQ_EMALFORMED);
    cq_y4m_close(f);
    write_bytes("RIFF....", 8);
    assert_int_equal(cq_y4m_open(&f, path), CQ_EMALFORMED);
}

static void test_mediafile_wav(void **state) {
    (void)state;
    struct cq_wav *w;
    int16_t pcm[1000], back[1200];
    for (int i = 0; i < 1000; i++)
        pcm[i] = (int16_t)(i * 37 - 18000);
    assert_int_equal(cq_wav_create(&w, path, 48000), 0);
    assert_int_equal(cq_wav_write(w, pcm, 600), 0);
    assert_int_equal(cq_wav_write(w, pcm + 600, 400), 0);
    cq_wav_close(w);
    /* The sizes in the header were filled in at close. */
    FILE *f = fopen(path, "rb");
    uint8_t h[44];
    assert_int_equal(fread(h, 1, 44, f), 44);
    fclose(f);
    assert_int_equal(h[40] | h[41] << 8, 2000);
    assert_int_equal(h[4] | h[5] << 8, 2036);
    assert_int_equal(cq_wav_open(&w, path), 0);
    assert_int_equal(cq_wav_rate(w), 48000);
    assert_int_equal(cq_wav_read(w, back, 1200), 1000);
    assert_memory_equal(back, pcm, sizeof pcm);
    assert_int_equal(cq_wav_read(w, back, 10), 0);
    cq_wav_close(w);
    /* A stereo file from another tool, with a LIST chunk before the data: mixed down. */
    uint8_t st[] = {'R', 'I', 'F', 'F',  0,   0,   0,   0,   'W',  'A',  'V',  'E',  'f',
                    'm', 't', ' ', 16,   0,   0,   0,   1,   0,    2,    0,    0x80, 0xbb,
                    0,   0,   0,   0xee, 2,   0,   4,   0,   16,   0,    'L',  'I',  'S',
                    'T', 3,   0,   0,    0,   'a', 'b', 'c', 0,    'd',  'a',  't',  'a',
                    8,   0,   0,   0,    100, 0,   200, 0,   0x9c, 0xff, 0x38, 0xff};
    write_bytes(st, sizeof st);
    assert_int_equal(cq_wav_open(&w, path), 0);
    assert_int_equal(cq_wav_read(w, back, 10), 2);
    assert_int_equal(back[0], 150);  /* (100 + 200) / 2 */
    assert_int_equal(back[1], -150); /* (-100 + -200) / 2 */
    cq_wav_close(w);
    st[34] = 8; /* 8-bit samples */
    write_bytes(st, sizeof st);
    assert_int_equal(cq_wav_open(&w, path), CQ_EUNSUPPORTED);
    write_bytes("RIFX", 4);
    assert_int_equal(cq_wav_open(&w, path), CQ_EMALFORMED);
}

static void test_mediafile_ivf(void **state) {
    (void)state;
    struct cq_ivf *v;
    assert_int_equal(cq_ivf_create(&v, path, 320, 180, 30), 0);
    const uint8_t a[] = {1, 2, 3}, b[] = {4, 5};
    assert_int_equal(cq_ivf_write(v, a, sizeof a, 3000), 0);
    assert_int_equal(cq_ivf_write(v, b, sizeof b, 6000), 0);
    cq_ivf_close(v);
    uint8_t file[64];
    FILE *f = fopen(path, "rb");
    size_t n = fread(file, 1, sizeof file, f);
    fclose(f);
    assert_int_equal(n, 32 + 12 + 3 + 12 + 2);
    assert_memory_equal(file, "DKIF", 4);
    assert_memory_equal(file + 8, "VP80", 4);
    assert_int_equal(file[12] | file[13] << 8, 320);
    assert_int_equal(file[24], 2); /* frame count */
    assert_int_equal(file[32], 3); /* first frame's size */
    assert_int_equal(file[36] | file[37] << 8, 3000);
    assert_memory_equal(file + 44, a, 3);
    assert_memory_equal(file + 59, b, 2);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_mediafile_y4m_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mediafile_wav, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mediafile_ivf, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
