#include "support/recread.h"

#include <stdio.h>

long cq_test_recfile_read(const char *path, uint8_t *buf, size_t cap, cq_recfile_header_t *h,
                          cq_test_record_t *rec, size_t max) {
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return -1;
    size_t len = fread(buf, 1, cap, f);
    fclose(f);
    if (cq_recfile_header_parse(buf, len, h) < 0)
        return -1;
    long n = 0;
    for (size_t at = CQ_RECFILE_HEADER_SIZE; at < len && (size_t)n < max; n++) {
        cq_test_record_t *r = &rec[n];
        int used = cq_recfile_record_parse(buf + at, len - at, &r->arrival_us, &r->pkt, &r->len);
        if (used < 0)
            break;
        at += (size_t)used;
    }
    return n;
}
