#include "codec/recfile.h"

#include <string.h>

#include "rtp/bytes.h"
#include "rtp/error.h"

_Static_assert(sizeof CQ_RECFILE_MAGIC - 1 == 8, "the magic is 8 bytes");
_Static_assert(8 + 2 + 1 + 1 + 4 + 4 + 4 + 8 == CQ_RECFILE_HEADER_SIZE, "header layout");
_Static_assert(8 + 2 == CQ_RECFILE_RECORD_HEAD, "record head layout");

int cq_recfile_header_write(const cq_recfile_header_t *h, uint8_t *buf, size_t cap) {
    if (cap < CQ_RECFILE_HEADER_SIZE)
        return CQ_ENOBUFS;
    if (h->kind != CQ_RECFILE_AUDIO && h->kind != CQ_RECFILE_VIDEO)
        return CQ_EINVAL;
    memcpy(buf, CQ_RECFILE_MAGIC, 8);
    cq_store_be16(buf + 8, CQ_RECFILE_VERSION);
    buf[10] = h->kind;
    buf[11] = h->layer;
    cq_store_be32(buf + 12, h->ssrc);
    cq_store_be32(buf + 16, h->session);
    cq_store_be32(buf + 20, h->participant);
    cq_store_be64(buf + 24, h->wallclock_us);
    return CQ_RECFILE_HEADER_SIZE;
}

int cq_recfile_header_parse(const uint8_t *p, size_t len, cq_recfile_header_t *h) {
    if (len < CQ_RECFILE_HEADER_SIZE)
        return CQ_ETRUNCATED;
    if (memcmp(p, CQ_RECFILE_MAGIC, 8) != 0)
        return CQ_EMALFORMED;
    if (cq_load_be16(p + 8) != CQ_RECFILE_VERSION)
        return CQ_EVERSION;
    if (p[10] != CQ_RECFILE_AUDIO && p[10] != CQ_RECFILE_VIDEO)
        return CQ_EMALFORMED;
    h->kind = p[10];
    h->layer = p[11];
    h->ssrc = cq_load_be32(p + 12);
    h->session = cq_load_be32(p + 16);
    h->participant = cq_load_be32(p + 20);
    h->wallclock_us = cq_load_be64(p + 24);
    return CQ_RECFILE_HEADER_SIZE;
}

int cq_recfile_record_head_write(uint64_t arrival_us, size_t packet_len, uint8_t *buf, size_t cap) {
    if (packet_len == 0 || packet_len > CQ_RECFILE_MAX_PACKET)
        return CQ_EINVAL;
    if (cap < CQ_RECFILE_RECORD_HEAD)
        return CQ_ENOBUFS;
    cq_store_be64(buf, arrival_us);
    cq_store_be16(buf + 8, (uint16_t)packet_len);
    return CQ_RECFILE_RECORD_HEAD;
}

int cq_recfile_record_parse(const uint8_t *p, size_t len, uint64_t *arrival_us,
                            const uint8_t **packet, size_t *packet_len) {
    if (len < CQ_RECFILE_RECORD_HEAD)
        return CQ_ETRUNCATED;
    size_t n = cq_load_be16(p + 8);
    if (n == 0)
        return CQ_EMALFORMED;
    if (len - CQ_RECFILE_RECORD_HEAD < n)
        return CQ_ETRUNCATED;
    *arrival_us = cq_load_be64(p);
    *packet = p + CQ_RECFILE_RECORD_HEAD;
    *packet_len = n;
    return (int)(CQ_RECFILE_RECORD_HEAD + n);
}
