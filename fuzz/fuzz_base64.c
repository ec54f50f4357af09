/* Fuzz target for the strict base64 decoder (SRTP keys arrive through it in JSON): what
 * decodes must re-encode to exactly the input, since the decoder accepts one encoding per
 * byte string; nothing may read past the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rtp/base64.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 4096)
        return 0;
    uint8_t out[3072];
    int n = cq_base64_decode((const char *)data, size, out, sizeof out);
    if (n < 0)
        return 0;
    char text[4097];
    int len = cq_base64_encode(out, (size_t)n, text, sizeof text);
    if (len < 0 || (size_t)len != size || memcmp(text, data, size) != 0)
        abort();
    return 0;
}
