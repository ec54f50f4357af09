/*
 * chasqui-rec2webm: a participant's raw recordings (the relay's .cqrec files) into one
 * WebM file (VP8 + Opus), without re-encoding. docs/OPERATOR.md, "Recording".
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "rtp/error.h"
#include "tools/rec2webm/convert.h"

static void usage(FILE *out) {
    fprintf(out, "usage: chasqui-rec2webm -o OUT.webm RECORDING.cqrec...\n"
                 "\n"
                 "Converts one participant's recordings (its sound and its video layers, from\n"
                 "the relay's recording folder) into a WebM file, without re-encoding: the\n"
                 "highest video layer given is used. Frames with lost packets are left out,\n"
                 "and the frames after them until the next keyframe.\n");
}

int main(int argc, char **argv) {
    const char *out = NULL;
    const char *inputs[64];
    size_t n = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-o") == 0 && i + 1 < argc) {
            out = argv[++i];
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (argv[i][0] == '-' || n == sizeof inputs / sizeof inputs[0]) {
            usage(stderr);
            return 2;
        } else {
            inputs[n++] = argv[i];
        }
    }
    if (out == NULL || n == 0) {
        usage(stderr);
        return 2;
    }
    cq_rec2webm_report_t rep;
    int err = cq_rec2webm_convert(inputs, n, out, &rep);
    if (err != 0) {
        fprintf(stderr, "chasqui-rec2webm: %s\n", cq_strerror(err));
        return 1;
    }
    printf("%s: %.3f s", out, (double)rep.duration_us / 1e6);
    if (rep.width != 0)
        printf("; video layer %u %ux%u: %" PRIu64 " frames, %" PRIu64 " lost, %" PRIu64
               " dropped awaiting a keyframe",
               rep.layer, rep.width, rep.height, rep.video_frames, rep.video_lost,
               rep.video_waiting);
    if (rep.audio_packets != 0)
        printf("; sound: %" PRIu64 " packets, %" PRIu64 " missing (%" PRIu64 " restored from RED)",
               rep.audio_packets, rep.audio_missing, rep.audio_recovered);
    if (rep.stays > 1)
        printf("; %zu stays (the telecentre joined again), one after the other", rep.stays);
    printf("\n");
    return 0;
}
