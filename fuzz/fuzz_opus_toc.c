/* Fuzz target for the Opus TOC parser: any bytes must give 0 with a self-consistent TOC,
 * or a negative error, and never touch memory past the input. */
#include <stdint.h>
#include <stdlib.h>

#include "codec/opus_toc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    cq_opus_toc_t toc;
    if (cq_opus_toc_parse(data, size, &toc) == 0) {
        if (toc.frame_count < 1 || toc.frame_count > 48 ||
            toc.packet_samples != toc.frame_count * toc.frame_samples ||
            toc.packet_samples > CQ_OPUS_MAX_PACKET_SAMPLES)
            abort();
    }
    return 0;
}
