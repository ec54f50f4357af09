/* Fuzz target for the client's reading of the join answer (what the server sends decides
 * where the client sends media and with which keys): any input either parses into fields
 * that are all in range, or fails naming a field; nothing may read past the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "client/join.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 8192)
        return 0;
    cq_join_t j;
    char why[64] = "";
    if (cq_join_parse((const char *)data, size, &j, why, sizeof why) != 0) {
        if (why[0] == '\0')
            abort(); /* a refusal always says what */
        return 0;
    }
    if (j.session == 0 || j.telecentre == 0 || j.port == 0 || j.address[0] == '\0' ||
        j.ufrag[0] == '\0' || j.pwd[0] == '\0' || j.video_layers > CQ_SENDER_MAX_LAYERS ||
        memchr(j.role, '\0', sizeof j.role) == NULL)
        abort();
    for (unsigned i = 0; i < j.video_layers; i++)
        if (j.video_ssrc[i] == 0 || j.rtx_ssrc[i] == 0)
            abort();
    return 0;
}
