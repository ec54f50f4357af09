#include "cc/sendhist.h"

#include <string.h>

void cq_sendhist_init(cq_sendhist_t *h) {
    memset(h, 0, sizeof *h);
}

void cq_sendhist_add(cq_sendhist_t *h, uint16_t tseq, size_t bytes, int64_t send_us, int probe) {
    cq_sendhist_entry_t *e = &h->e[tseq % CQ_SENDHIST_SIZE];
    *e = (cq_sendhist_entry_t){.send_us = send_us,
                               .bytes = bytes > UINT16_MAX ? UINT16_MAX : (uint16_t)bytes,
                               .tseq = tseq,
                               .probe = (int16_t)(probe < 0 ? CQ_SENDHIST_NO_PROBE : probe),
                               .used = true};
}

const cq_sendhist_entry_t *cq_sendhist_get(const cq_sendhist_t *h, uint16_t tseq) {
    const cq_sendhist_entry_t *e = &h->e[tseq % CQ_SENDHIST_SIZE];
    return e->used && e->tseq == tseq ? e : NULL;
}

cq_sendhist_entry_t *cq_sendhist_find(cq_sendhist_t *h, uint16_t tseq) {
    return cq_sendhist_get(h, tseq) != NULL ? &h->e[tseq % CQ_SENDHIST_SIZE] : NULL;
}
