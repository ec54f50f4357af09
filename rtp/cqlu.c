#include "rtp/cqlu.h"

#include <string.h>

#include "rtp/bytes.h"
#include "rtp/error.h"

static const uint8_t name[4] = {'C', 'Q', 'L', 'U'};

_Static_assert(CQ_CQLU_SIZE == CQ_RTCP_HEADER_SIZE + 4 + sizeof name + 4,
               "CQLU: header, SSRC, name and one word");

int cq_cqlu_parse(const cq_rtcp_header_t *h, cq_cqlu_t *out) {
    if (h->pt != CQ_RTCP_PT_APP)
        return CQ_EINVAL;
    /* The name decides whose packet it is; only then is its size our business. */
    if (h->body_len < 8 || memcmp(h->body + 4, name, sizeof name) != 0 ||
        h->count != CQ_CQLU_SUBTYPE)
        return h->body_len < 8 ? CQ_EMALFORMED : CQ_EUNSUPPORTED;
    if (h->body_len < CQ_CQLU_SIZE - CQ_RTCP_HEADER_SIZE)
        return CQ_EMALFORMED;
    out->sender_ssrc = cq_load_be32(h->body);
    out->layers = h->body[11];
    out->low_kbps = cq_load_be16(h->body + 9);
    out->sound_kbps = h->body[8];
    return 0;
}

int cq_cqlu_write(const cq_cqlu_t *m, uint8_t *buf, size_t cap) {
    if (cap < CQ_CQLU_SIZE)
        return CQ_ENOBUFS;
    cq_rtcp_header_write(buf, CQ_CQLU_SUBTYPE, CQ_RTCP_PT_APP, CQ_CQLU_SIZE);
    cq_store_be32(buf + 4, m->sender_ssrc);
    memcpy(buf + 8, name, sizeof name);
    cq_store_be32(buf + 12, (uint32_t)m->sound_kbps << 24 | (uint32_t)m->low_kbps << 8 | m->layers);
    return CQ_CQLU_SIZE;
}
