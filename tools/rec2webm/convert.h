/*
 * chasqui-rec2webm's work: raw recordings of one participant (codec/recfile.h: its sound
 * and its video layers) into one WebM file, without re-encoding.
 */
#ifndef CQ_TOOLS_REC2WEBM_CONVERT_H
#define CQ_TOOLS_REC2WEBM_CONVERT_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint64_t video_frames, video_lost, video_waiting; /* written; dropped (depack.h) */
    uint64_t audio_packets, audio_missing;            /* written; sequence gaps */
    uint64_t audio_recovered;      /* of the missing, restored from RED's redundant copies */
    uint64_t malformed;            /* packets that were not RTP */
    unsigned width, height, layer; /* of the video converted */
    int64_t duration_us;           /* from the first packet to the last's end */
    size_t stays;                  /* the participant's stays (a rejoin starts another) */
} cq_rec2webm_report_t;

/*
 * Converts the recordings inputs[0 .. n) of one participant into out. Its stays (each
 * rejoin sends with new SSRCs into new files) are told apart by when their packets
 * arrived and follow each other in the file; of each, the sound and the video file of the
 * highest simulcast layer given. Returns 0 and fills *rep, CQ_EINVAL (no packets at all,
 * files of different participants or sessions, two files of the same kind and layer at
 * once), CQ_EMALFORMED / CQ_EVERSION (a file is not a recording), CQ_ENOENT (nothing
 * could be converted: no keyframe, no sound), CQ_EIO or CQ_ENOMEM.
 */
int cq_rec2webm_convert(const char *const *inputs, size_t n, const char *out,
                        cq_rec2webm_report_t *rep);

#endif
