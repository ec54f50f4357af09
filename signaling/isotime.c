#include "signaling/isotime.h"

#include <stdbool.h>
#include <stdio.h>
#include <time.h>

#include "rtp/error.h"

/* Upper bound of years 1970..9999, exclusive: 10000-01-01T00:00:00Z. */
#define MAX_TIME 253402300800LL

static bool digits(const char *p, int n, int *out) {
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return false;
        v = v * 10 + (p[i] - '0');
    }
    *out = v;
    return true;
}

static bool leap(int y) {
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int cq_isotime_parse(const char *t, int64_t *out_s) {
    int y, mo, d, h, mi, s;
    for (int i = 0; i < CQ_ISOTIME_LEN; i++)
        if (t[i] == '\0')
            return CQ_EMALFORMED;
    if (t[CQ_ISOTIME_LEN] != '\0' || t[4] != '-' || t[7] != '-' || t[10] != 'T' || t[13] != ':' ||
        t[16] != ':' || t[19] != 'Z' || !digits(t, 4, &y) || !digits(t + 5, 2, &mo) ||
        !digits(t + 8, 2, &d) || !digits(t + 11, 2, &h) || !digits(t + 14, 2, &mi) ||
        !digits(t + 17, 2, &s))
        return CQ_EMALFORMED;
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 ||
        d > mdays[mo - 1] + (mo == 2 && leap(y) ? 1 : 0) || h > 23 || mi > 59 || s > 59)
        return CQ_EMALFORMED;
    struct tm tm = {.tm_year = y - 1900,
                    .tm_mon = mo - 1,
                    .tm_mday = d,
                    .tm_hour = h,
                    .tm_min = mi,
                    .tm_sec = s};
    *out_s = (int64_t)timegm(&tm);
    return 0;
}

int cq_isotime_format(int64_t t, char *buf, size_t cap) {
    if (t < 0 || t >= MAX_TIME || cap < CQ_ISOTIME_LEN + 1)
        return CQ_EINVAL;
    time_t tt = (time_t)t;
    struct tm tm;
    if (gmtime_r(&tt, &tm) == NULL ||
        strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) != CQ_ISOTIME_LEN)
        return CQ_EINVAL;
    return 0;
}
