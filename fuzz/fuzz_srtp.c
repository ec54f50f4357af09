/* Fuzz target for SRTP/SRTCP unprotect: the relay hands every datagram from a bound
 * address to libsrtp2 through this wrapper, so attacker bytes must give an error or a
 * plain packet no longer than the input, never a crash. The first byte picks the suite
 * and RTP or RTCP. Fresh contexts per input keep runs deterministic (replay state would
 * otherwise carry over between inputs). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rtp/srtp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1 || size > 2048)
        return 0;
    static const uint8_t key[CQ_SRTP_MAX_KEY_LEN] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10,
                                                     11, 12, 13, 14, 15, 16, 17, 18, 19, 20,
                                                     21, 22, 23, 24, 25, 26, 27, 28, 29, 30};
    cq_srtp_suite_t suite =
        (data[0] & 1) ? CQ_SRTP_AEAD_AES_128_GCM : CQ_SRTP_AES_CM_128_HMAC_SHA1_80;
    int rtcp = (data[0] & 2) != 0;
    cq_srtp_t rx;
    if (cq_srtp_init(&rx, suite, CQ_SRTP_INBOUND, key, cq_srtp_key_len(suite), 0) != 0)
        abort();
    uint8_t buf[2048];
    size_t len = size - 1;
    memcpy(buf, data + 1, len);
    int rc = rtcp ? cq_srtp_unprotect_rtcp(&rx, buf, &len) : cq_srtp_unprotect(&rx, buf, &len);
    if (rc == 0 && len > size - 1)
        abort();
    cq_srtp_close(&rx);
    return 0;
}
