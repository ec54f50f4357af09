/*
 * Reading back what the relay's recorder wrote (codec/recfile.h), for relay tests.
 */
#ifndef CQ_TEST_RECREAD_H
#define CQ_TEST_RECREAD_H

#include <stddef.h>
#include <stdint.h>

#include "codec/recfile.h"

typedef struct {
    uint64_t arrival_us;
    const uint8_t *pkt; /* into the caller's buffer */
    size_t len;
} cq_test_record_t;

/* Reads the recording at path into buf (cap bytes), its header into *h and its records
 * into rec[0 .. max). Returns how many records, or -1 when the file cannot be opened or
 * its header is not there yet (still in the writer's buffer). A record cut short (half
 * flushed) ends the list. */
long cq_test_recfile_read(const char *path, uint8_t *buf, size_t cap, cq_recfile_header_t *h,
                          cq_test_record_t *rec, size_t max);

#endif
