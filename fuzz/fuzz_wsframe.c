/* Fuzz target for what the client reads from the district server's WebSocket: the
 * handshake answer, then frames one after another. A parsed frame lies inside the input
 * and obeys the rules the parser claims to enforce; nothing may read past the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "client/wsframe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 70000)
        return 0;
    const char *key = "dGhlIHNhbXBsZSBub25jZQ==";
    int hl = cq_ws_answer_check((const char *)data, size, key);
    size_t pos = hl > 0 ? (size_t)hl : 0;
    if (hl > 0 && (size_t)hl > size)
        abort();
    while (pos < size) {
        cq_ws_frame_t f;
        int n = cq_ws_frame_parse(data + pos, size - pos, &f);
        if (n <= 0)
            break;
        if ((size_t)n > size - pos || f.payload < data + pos ||
            f.payload + f.len != data + pos + (size_t)n || f.len > CQ_WS_MAX_FRAME ||
            (f.opcode >= CQ_WS_CLOSE && (f.len > 125 || !f.fin)))
            abort();
        pos += (size_t)n;
    }
    return 0;
}
