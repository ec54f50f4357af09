#include "codec/opus_codec.h"

#include <stdlib.h>

#include <opus.h>

#include "codec/opus_toc.h"
#include "rtp/error.h"

struct cq_opus_enc {
    OpusEncoder *enc;
    unsigned frame_ms;
};

struct cq_opus_dec {
    OpusDecoder *dec;
};

static bool valid_frame(unsigned ms) {
    return ms == 20 || ms == 40 || ms == 60;
}

int cq_opus_enc_create(struct cq_opus_enc **out, const cq_opus_enc_config_t *cfg) {
    if (cfg->bitrate_bps < CQ_OPUS_MIN_BPS || cfg->bitrate_bps > CQ_OPUS_MAX_BPS ||
        !valid_frame(cfg->frame_ms) || cfg->loss_percent > 100)
        return CQ_EINVAL;
    struct cq_opus_enc *e = calloc(1, sizeof *e);
    if (e == NULL)
        return CQ_ENOMEM;
    int err;
    e->enc = opus_encoder_create(CQ_OPUS_RATE, 1, OPUS_APPLICATION_VOIP, &err);
    if (e->enc == NULL) {
        free(e);
        return err == OPUS_ALLOC_FAIL ? CQ_ENOMEM : CQ_EIO;
    }
    e->frame_ms = cfg->frame_ms;
    /* Speech from a farm telecentre: the voice signal type steers the encoder to SILK at
     * these rates; complexity 5 keeps a 2-core PC free for video. */
    opus_encoder_ctl(e->enc, OPUS_SET_SIGNAL(OPUS_SIGNAL_VOICE));
    opus_encoder_ctl(e->enc, OPUS_SET_COMPLEXITY(5));
    opus_encoder_ctl(e->enc, OPUS_SET_BITRATE((opus_int32)cfg->bitrate_bps));
    opus_encoder_ctl(e->enc, OPUS_SET_INBAND_FEC(cfg->fec ? 1 : 0));
    opus_encoder_ctl(e->enc, OPUS_SET_PACKET_LOSS_PERC((opus_int32)cfg->loss_percent));
    opus_encoder_ctl(e->enc, OPUS_SET_DTX(cfg->dtx ? 1 : 0));
    *out = e;
    return 0;
}

void cq_opus_enc_destroy(struct cq_opus_enc *e) {
    if (e != NULL)
        opus_encoder_destroy(e->enc);
    free(e);
}

int cq_opus_enc_set_bitrate(struct cq_opus_enc *e, unsigned bps) {
    if (bps < CQ_OPUS_MIN_BPS || bps > CQ_OPUS_MAX_BPS)
        return CQ_EINVAL;
    return opus_encoder_ctl(e->enc, OPUS_SET_BITRATE((opus_int32)bps)) == OPUS_OK ? 0 : CQ_EIO;
}

int cq_opus_enc_set_loss(struct cq_opus_enc *e, unsigned percent) {
    if (percent > 100)
        return CQ_EINVAL;
    return opus_encoder_ctl(e->enc, OPUS_SET_PACKET_LOSS_PERC((opus_int32)percent)) == OPUS_OK
               ? 0
               : CQ_EIO;
}

int cq_opus_enc_set_frame_ms(struct cq_opus_enc *e, unsigned ms) {
    if (!valid_frame(ms))
        return CQ_EINVAL;
    e->frame_ms = ms;
    return 0;
}

unsigned cq_opus_enc_frame_ms(const struct cq_opus_enc *e) {
    return e->frame_ms;
}

unsigned cq_opus_enc_delay(const struct cq_opus_enc *e) {
    opus_int32 lookahead = 0;
    opus_encoder_ctl(e->enc, OPUS_GET_LOOKAHEAD(&lookahead));
    return lookahead > 0 ? (unsigned)lookahead : 0;
}

int cq_opus_enc_encode(struct cq_opus_enc *e, const int16_t *pcm, size_t samples, uint8_t *out,
                       size_t cap) {
    if (samples != CQ_OPUS_SAMPLES(e->frame_ms) || cap == 0)
        return CQ_EINVAL;
    opus_int32 max = cap > CQ_OPUS_MAX_PACKET * 3 ? CQ_OPUS_MAX_PACKET * 3 : (opus_int32)cap;
    opus_int32 n = opus_encode(e->enc, pcm, (int)samples, out, max);
    if (n == OPUS_BUFFER_TOO_SMALL)
        return CQ_ENOBUFS;
    return n < 0 ? CQ_EIO : (int)n;
}

int cq_opus_dec_create(struct cq_opus_dec **out) {
    struct cq_opus_dec *d = calloc(1, sizeof *d);
    if (d == NULL)
        return CQ_ENOMEM;
    int err;
    d->dec = opus_decoder_create(CQ_OPUS_RATE, 1, &err);
    if (d->dec == NULL) {
        free(d);
        return err == OPUS_ALLOC_FAIL ? CQ_ENOMEM : CQ_EIO;
    }
    *out = d;
    return 0;
}

void cq_opus_dec_destroy(struct cq_opus_dec *d) {
    if (d != NULL)
        opus_decoder_destroy(d->dec);
    free(d);
}

int cq_opus_dec_decode(struct cq_opus_dec *d, const uint8_t *pkt, size_t len, int16_t *pcm,
                       size_t max) {
    cq_opus_toc_t toc;
    /* Our own parser first: libopus is not asked to judge what RFC 6716 already refuses. */
    if (len == 0 || len > CQ_OPUS_MAX_PACKET * 3 || cq_opus_toc_parse(pkt, len, &toc) < 0)
        return CQ_EMALFORMED;
    if (toc.packet_samples > max)
        return CQ_ENOBUFS;
    int n = opus_decode(d->dec, pkt, (opus_int32)len, pcm, (int)max, 0);
    return n < 0 ? CQ_EMALFORMED : n;
}

int cq_opus_dec_recover(struct cq_opus_dec *d, const uint8_t *next, size_t next_len, size_t samples,
                        int16_t *pcm, bool *from_fec) {
    /* LBRR (the FEC) exists only in SILK and hybrid frames; libopus 1.3 has no call that
     * says whether a packet carries it, and decoding one without it conceals instead, so
     * "from FEC" means: a packet that can carry it was at hand. */
    cq_opus_toc_t toc;
    bool fec = next != NULL && next_len > 0 && cq_opus_toc_parse(next, next_len, &toc) >= 0 &&
               toc.mode != CQ_OPUS_MODE_CELT;
    if (from_fec != NULL)
        *from_fec = fec;
    /* With FEC, the next packet decoded in FEC mode gives the lost frame; without, a NULL
     * packet asks for concealment. Either way exactly `samples` come out. */
    int n = opus_decode(d->dec, fec ? next : NULL, fec ? (opus_int32)next_len : 0, pcm,
                        (int)samples, fec ? 1 : 0);
    return n < 0 ? CQ_EIO : n;
}
