#include "codec/opus_toc.h"

#include "rtp/error.h"

/* RFC 6716 Table 2: configs come in groups of four (SILK, CELT) or two (hybrid) frame
 * sizes. Frame sizes are given here in 48 kHz samples: 2.5 ms = 120. */
uint16_t cq_opus_config_frame_samples(uint8_t config) {
    static const uint16_t silk[4] = {480, 960, 1920, 2880}; /* 10, 20, 40, 60 ms */
    static const uint16_t hybrid[2] = {480, 960};           /* 10, 20 ms */
    static const uint16_t celt[4] = {120, 240, 480, 960};   /* 2.5, 5, 10, 20 ms */
    config &= 0x1f;
    if (config < 12)
        return silk[config & 3];
    if (config < 16)
        return hybrid[config & 1];
    return celt[config & 3];
}

static void toc_mode_bandwidth(uint8_t config, cq_opus_toc_t *toc) {
    if (config < 12) {
        toc->mode = CQ_OPUS_MODE_SILK;
        toc->bandwidth = (cq_opus_bandwidth_t)(CQ_OPUS_BW_NARROW + config / 4);
    } else if (config < 16) {
        toc->mode = CQ_OPUS_MODE_HYBRID;
        toc->bandwidth = config < 14 ? CQ_OPUS_BW_SUPERWIDE : CQ_OPUS_BW_FULL;
    } else {
        /* CELT has no medium band: NB, WB, SWB, FB. */
        static const cq_opus_bandwidth_t celt_bw[4] = {CQ_OPUS_BW_NARROW, CQ_OPUS_BW_WIDE,
                                                       CQ_OPUS_BW_SUPERWIDE, CQ_OPUS_BW_FULL};
        toc->mode = CQ_OPUS_MODE_CELT;
        toc->bandwidth = celt_bw[(config - 16) / 4];
    }
}

int cq_opus_toc_parse(const uint8_t *payload, size_t len, cq_opus_toc_t *toc) {
    if (len < 1)
        return CQ_ETRUNCATED;

    cq_opus_toc_t t = {0};
    t.config = (uint8_t)(payload[0] >> 3);
    t.stereo = (uint8_t)((payload[0] >> 2) & 1);
    t.code = (uint8_t)(payload[0] & 3);
    t.frame_samples = cq_opus_config_frame_samples(t.config);
    toc_mode_bandwidth(t.config, &t);

    switch (t.code) {
    case 0:
        t.frame_count = 1;
        break;
    case 1:
        /* R3: two frames of equal size, so what follows the TOC has even length. */
        if ((len - 1) % 2 != 0)
            return CQ_EMALFORMED;
        t.frame_count = 2;
        break;
    case 2:
        /* R4: the first frame's length is coded in one or two bytes after the TOC. */
        if (len < 2)
            return CQ_ETRUNCATED;
        if (payload[1] >= 252 && len < 3)
            return CQ_ETRUNCATED;
        t.frame_count = 2;
        break;
    default:
        if (len < 2)
            return CQ_ETRUNCATED;
        t.frame_count = (uint8_t)(payload[1] & 0x3f);
        if (t.frame_count == 0)
            return CQ_EMALFORMED;
        break;
    }

    /* R5: no packet lasts more than 120 ms; at most 48 frames of 2.5 ms. */
    uint32_t samples = (uint32_t)t.frame_count * t.frame_samples;
    if (samples > CQ_OPUS_MAX_PACKET_SAMPLES)
        return CQ_EMALFORMED;
    t.packet_samples = (uint16_t)samples;

    *toc = t;
    return 0;
}
