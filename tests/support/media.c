#include "support/media.h"

#include <string.h>

#include "rtp/bytes.h"

#define AUDIO_BODY 60
#define VIDEO_BODY 900

static size_t write_tag_and_body(uint8_t *p, int sender, uint32_t ssrc, uint16_t seq, size_t body) {
    p[0] = (uint8_t)sender;
    cq_store_be32(p + 1, ssrc);
    cq_store_be16(p + 5, seq);
    for (size_t k = 0; k < body; k++)
        p[CQ_TEST_TAG_SIZE + k] = (uint8_t)(k ^ seq);
    return CQ_TEST_TAG_SIZE + body;
}

size_t cq_test_audio_packet(uint8_t *buf, int sender, uint32_t ssrc, uint16_t seq, uint32_t ts) {
    cq_rtp_header_t h = {.payload_type = 111, .seq = seq, .timestamp = ts, .ssrc = ssrc};
    int n = cq_rtp_header_write(&h, NULL, 0, buf, 64);
    if (n <= 0)
        return 0;
    return (size_t)n + write_tag_and_body(buf + n, sender, ssrc, seq, AUDIO_BODY);
}

size_t cq_test_video_packet(uint8_t *buf, int sender, uint32_t ssrc, const cq_test_vp8_frame_t *f) {
    cq_rtp_header_t h = {
        .payload_type = 96, .marker = true, .seq = f->seq, .timestamp = f->ts, .ssrc = ssrc};
    int n = cq_rtp_header_write(&h, NULL, 0, buf, 64);
    if (n <= 0)
        return 0;
    size_t len = (size_t)n;
    cq_vp8_desc_t d = {.extended = true,
                       .start = true,
                       .has_picture_id = true,
                       .picture_id_15bit = true,
                       .picture_id = f->picture_id,
                       .has_tl0picidx = true,
                       .has_tid = true,
                       .tl0picidx = f->tl0picidx,
                       .tid = f->tid,
                       .y = f->layer_sync};
    if (cq_vp8_desc_write(&d, buf + len, 6) != 6)
        return 0;
    len += 6;
    /* Frame tag: P = 0 on keyframes, show_frame set; then the start code and 160x90. */
    static const uint8_t key[10] = {0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 160, 0, 90, 0};
    static const uint8_t inter[10] = {0x11, 0x02, 0x00, 0, 0, 0, 0, 0, 0, 0};
    memcpy(buf + len, f->keyframe ? key : inter, 10);
    len += 10;
    return len + write_tag_and_body(buf + len, sender, ssrc, f->seq, VIDEO_BODY);
}

int cq_test_media_read(const cq_rtp_view_t *v, cq_test_media_info_t *out) {
    memset(out, 0, sizeof *out);
    const uint8_t *p = v->payload;
    size_t len = v->payload_len;
    out->video = v->payload_type == 96;
    if (out->video) {
        if (cq_vp8_desc_parse(p, len, &out->desc) != 6 || len < CQ_TEST_VP8_PREFIX)
            return -1;
        out->keyframe = (p[6] & 1) == 0;
        p += CQ_TEST_VP8_PREFIX;
        len -= CQ_TEST_VP8_PREFIX;
    }
    if (len < CQ_TEST_TAG_SIZE)
        return -1;
    out->sender = p[0];
    out->ssrc = cq_load_be32(p + 1);
    out->seq = cq_load_be16(p + 5);
    out->body_intact = true;
    for (size_t k = CQ_TEST_TAG_SIZE; k < len; k++)
        if (p[k] != (uint8_t)((k - CQ_TEST_TAG_SIZE) ^ out->seq))
            out->body_intact = false;
    return 0;
}
