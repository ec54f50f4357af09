#include "tools/rec2webm/webm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/channel_layout.h>
#include <libavutil/mem.h>

#include "rtp/error.h"

struct cq_webm {
    AVFormatContext *fmt;
    AVStream *video, *audio;
    bool header_written;
    AVPacket *pkt;
};

static int av_failed(const char *what, int averr) {
    char msg[AV_ERROR_MAX_STRING_SIZE] = "";
    av_strerror(averr, msg, sizeof msg);
    fprintf(stderr, "chasqui-rec2webm: %s: %s\n", what, msg);
    return CQ_EIO;
}

/* RFC 7845 §5.1: the identification header Matroska's Opus track carries as its codec
 * private data. Pre-skip 0: the recording starts where the sender's stream was, with
 * nothing of the encoder's own to trim; mapping family 0 (mono or stereo). */
static int opus_head(AVCodecParameters *par, unsigned channels) {
    uint8_t *h = av_mallocz(19 + AV_INPUT_BUFFER_PADDING_SIZE);
    if (h == NULL)
        return CQ_ENOMEM;
    memcpy(h, "OpusHead", 8);
    h[8] = 1; /* version */
    h[9] = (uint8_t)channels;
    /* h[10..11] pre-skip 0, little-endian; then the input rate: */
    h[12] = 48000 & 0xff;
    h[13] = (48000 >> 8) & 0xff;
    /* h[14..15] 0, h[16..17] output gain 0, h[18] mapping family 0 */
    par->extradata = h;
    par->extradata_size = 19;
    return 0;
}

static void free_webm(struct cq_webm *w) {
    if (w->fmt != NULL) {
        if (w->fmt->pb != NULL)
            avio_closep(&w->fmt->pb);
        avformat_free_context(w->fmt);
    }
    av_packet_free(&w->pkt);
    free(w);
}

int cq_webm_open(struct cq_webm **out, const char *path, const cq_webm_config_t *cfg) {
    if ((!cfg->video && !cfg->audio) || (cfg->video && (cfg->width == 0 || cfg->height == 0)) ||
        (cfg->audio && cfg->channels != 1 && cfg->channels != 2))
        return CQ_EINVAL;
    struct cq_webm *w = calloc(1, sizeof *w);
    if (w == NULL)
        return CQ_ENOMEM;
    int err = CQ_ENOMEM, averr;
    if ((averr = avformat_alloc_output_context2(&w->fmt, NULL, "webm", path)) < 0) {
        err = av_failed("webm muxer", averr);
        goto fail;
    }
    if ((w->pkt = av_packet_alloc()) == NULL)
        goto fail;
    if (cfg->video) {
        if ((w->video = avformat_new_stream(w->fmt, NULL)) == NULL)
            goto fail;
        AVCodecParameters *par = w->video->codecpar;
        par->codec_type = AVMEDIA_TYPE_VIDEO;
        par->codec_id = AV_CODEC_ID_VP8;
        par->width = (int)cfg->width;
        par->height = (int)cfg->height;
        w->video->time_base = (AVRational){1, 1000};
    }
    if (cfg->audio) {
        if ((w->audio = avformat_new_stream(w->fmt, NULL)) == NULL)
            goto fail;
        AVCodecParameters *par = w->audio->codecpar;
        par->codec_type = AVMEDIA_TYPE_AUDIO;
        par->codec_id = AV_CODEC_ID_OPUS;
        par->sample_rate = 48000;
        av_channel_layout_default(&par->ch_layout, (int)cfg->channels);
        if ((err = opus_head(par, cfg->channels)) != 0)
            goto fail;
        w->audio->time_base = (AVRational){1, 1000};
    }
    if ((averr = avio_open(&w->fmt->pb, path, AVIO_FLAG_WRITE)) < 0) {
        err = av_failed(path, averr);
        goto fail;
    }
    if ((averr = avformat_write_header(w->fmt, NULL)) < 0) {
        err = av_failed("webm header", averr);
        goto fail;
    }
    w->header_written = true;
    *out = w;
    return 0;
fail:
    free_webm(w);
    return err;
}

int cq_webm_write(struct cq_webm *w, bool video, int64_t pts_us, int64_t duration_us, bool key,
                  const uint8_t *data, size_t len) {
    AVStream *st = video ? w->video : w->audio;
    if (st == NULL || len > INT32_MAX)
        return CQ_EINVAL;
    AVPacket *pkt = w->pkt;
    int averr = av_new_packet(pkt, (int)len);
    if (averr < 0)
        return av_failed("packet", averr);
    memcpy(pkt->data, data, len);
    AVRational us = {1, 1000000};
    pkt->stream_index = st->index;
    pkt->pts = pkt->dts = av_rescale_q(pts_us, us, st->time_base);
    pkt->duration = av_rescale_q(duration_us, us, st->time_base);
    pkt->flags = key || !video ? AV_PKT_FLAG_KEY : 0;
    /* Interleaved: the muxer holds each track's packets until the other's catch up, so
     * callers may write sound and picture in any order that keeps each track's own. */
    averr = av_interleaved_write_frame(w->fmt, pkt);
    av_packet_unref(pkt);
    return averr < 0 ? av_failed("write", averr) : 0;
}

int cq_webm_close(struct cq_webm *w) {
    if (w == NULL)
        return 0;
    int err = 0, averr;
    if (w->header_written && (averr = av_write_trailer(w->fmt)) < 0)
        err = av_failed("webm trailer", averr);
    free_webm(w);
    return err;
}
