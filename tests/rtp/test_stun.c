#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "rtp/error.h"
#include "rtp/stun.h"
#include "support/test_rand.h"

/* ---- RFC 5769 test vectors -------------------------------------------------------------
 * Copied from RFC 5769 §2.1-§2.4 and checked byte by byte against two independent
 * transcriptions; the tests below also recompute every MESSAGE-INTEGRITY and FINGERPRINT
 * in them, which a wrong byte would break. */

static const char rfc5769_password[] = "VOkJxbRl1RmTxUk/WvJxBt";
static const uint8_t rfc5769_tid[CQ_STUN_TID_SIZE] = {0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34,
                                                      0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae};

/* §2.1 Sample Request: SOFTWARE "STUN test client", PRIORITY, ICE-CONTROLLED, USERNAME
 * "evtj:h6vY" (padded with three 0x20 bytes), MESSAGE-INTEGRITY, FINGERPRINT. */
/* clang-format off */
static const uint8_t rfc5769_request[] = {
    0x00, 0x01, 0x00, 0x58, 0x21, 0x12, 0xa4, 0x42, /* header */
    0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae, /* transaction id */
    0x80, 0x22, 0x00, 0x10, /* SOFTWARE, 16 bytes */
    0x53, 0x54, 0x55, 0x4e, 0x20, 0x74, 0x65, 0x73, 0x74, 0x20, 0x63, 0x6c,
    0x69, 0x65, 0x6e, 0x74,
    0x00, 0x24, 0x00, 0x04, /* PRIORITY, 4 bytes */
    0x6e, 0x00, 0x01, 0xff,
    0x80, 0x29, 0x00, 0x08, /* ICE-CONTROLLED, 8 bytes */
    0x93, 0x2f, 0xf9, 0xb1, 0x51, 0x26, 0x3b, 0x36,
    0x00, 0x06, 0x00, 0x09, /* USERNAME, 9 bytes */
    0x65, 0x76, 0x74, 0x6a, 0x3a, 0x68, 0x36, 0x76, 0x59, 0x20, 0x20, 0x20,
    0x00, 0x08, 0x00, 0x14, /* MESSAGE-INTEGRITY, 20 bytes */
    0x9a, 0xea, 0xa7, 0x0c, 0xbf, 0xd8, 0xcb, 0x56, 0x78, 0x1e, 0xf2, 0xb5,
    0xb2, 0xd3, 0xf2, 0x49, 0xc1, 0xb5, 0x71, 0xa2,
    0x80, 0x28, 0x00, 0x04, /* FINGERPRINT, 4 bytes */
    0xe5, 0x7a, 0x3b, 0xcf,
};
/* clang-format on */

/* §2.2 Sample IPv4 Response: SOFTWARE "test vector" (one 0x20 pad byte),
 * XOR-MAPPED-ADDRESS 192.0.2.1:32853, MESSAGE-INTEGRITY, FINGERPRINT. */
/* clang-format off */
static const uint8_t rfc5769_ipv4_response[] = {
    0x01, 0x01, 0x00, 0x3c, 0x21, 0x12, 0xa4, 0x42, /* header */
    0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae, /* transaction id */
    0x80, 0x22, 0x00, 0x0b, /* SOFTWARE, 11 bytes */
    0x74, 0x65, 0x73, 0x74, 0x20, 0x76, 0x65, 0x63, 0x74, 0x6f, 0x72, 0x20,
    0x00, 0x20, 0x00, 0x08, /* XOR-MAPPED-ADDRESS, 8 bytes */
    0x00, 0x01, 0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43,
    0x00, 0x08, 0x00, 0x14, /* MESSAGE-INTEGRITY, 20 bytes */
    0x2b, 0x91, 0xf5, 0x99, 0xfd, 0x9e, 0x90, 0xc3, 0x8c, 0x74, 0x89, 0xf9,
    0x2a, 0xf9, 0xba, 0x53, 0xf0, 0x6b, 0xe7, 0xd7,
    0x80, 0x28, 0x00, 0x04, /* FINGERPRINT, 4 bytes */
    0xc0, 0x7d, 0x4c, 0x96,
};
/* clang-format on */

/* §2.3 Sample IPv6 Response: as §2.2 with [2001:db8:1234:5678:11:2233:4455:6677]:32853. */
/* clang-format off */
static const uint8_t rfc5769_ipv6_response[] = {
    0x01, 0x01, 0x00, 0x48, 0x21, 0x12, 0xa4, 0x42, /* header */
    0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae, /* transaction id */
    0x80, 0x22, 0x00, 0x0b, /* SOFTWARE, 11 bytes */
    0x74, 0x65, 0x73, 0x74, 0x20, 0x76, 0x65, 0x63, 0x74, 0x6f, 0x72, 0x20,
    0x00, 0x20, 0x00, 0x14, /* XOR-MAPPED-ADDRESS, 20 bytes */
    0x00, 0x02, 0xa1, 0x47, 0x01, 0x13, 0xa9, 0xfa, 0xa5, 0xd3, 0xf1, 0x79,
    0xbc, 0x25, 0xf4, 0xb5, 0xbe, 0xd2, 0xb9, 0xd9,
    0x00, 0x08, 0x00, 0x14, /* MESSAGE-INTEGRITY, 20 bytes */
    0xa3, 0x82, 0x95, 0x4e, 0x4b, 0xe6, 0x7b, 0xf1, 0x17, 0x84, 0xc9, 0x7c,
    0x82, 0x92, 0xc2, 0x75, 0xbf, 0xe3, 0xed, 0x41,
    0x80, 0x28, 0x00, 0x04, /* FINGERPRINT, 4 bytes */
    0xc8, 0xfb, 0x0b, 0x4c,
};
/* clang-format on */

/* §2.4 Sample Request with Long-Term Authentication: USERNAME "マトリックス" (UTF-8, two
 * 0x00 pad bytes), NONCE "f//499k954d6OL34oL9FSTvy64sA", REALM "example.org" (one 0x00
 * pad byte), MESSAGE-INTEGRITY; no FINGERPRINT. */
/* clang-format off */
static const uint8_t rfc5769_long_term_request[] = {
    0x00, 0x01, 0x00, 0x60, 0x21, 0x12, 0xa4, 0x42, /* header */
    0x78, 0xad, 0x34, 0x33, 0xc6, 0xad, 0x72, 0xc0, 0x29, 0xda, 0x41, 0x2e, /* transaction id */
    0x00, 0x06, 0x00, 0x12, /* USERNAME, 18 bytes */
    0xe3, 0x83, 0x9e, 0xe3, 0x83, 0x88, 0xe3, 0x83, 0xaa, 0xe3, 0x83, 0x83,
    0xe3, 0x82, 0xaf, 0xe3, 0x82, 0xb9, 0x00, 0x00,
    0x00, 0x15, 0x00, 0x1c, /* NONCE, 28 bytes */
    0x66, 0x2f, 0x2f, 0x34, 0x39, 0x39, 0x6b, 0x39, 0x35, 0x34, 0x64, 0x36,
    0x4f, 0x4c, 0x33, 0x34, 0x6f, 0x4c, 0x39, 0x46, 0x53, 0x54, 0x76, 0x79,
    0x36, 0x34, 0x73, 0x41,
    0x00, 0x14, 0x00, 0x0b, /* REALM, 11 bytes */
    0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x2e, 0x6f, 0x72, 0x67, 0x00,
    0x00, 0x08, 0x00, 0x14, /* MESSAGE-INTEGRITY, 20 bytes */
    0xf6, 0x70, 0x24, 0x65, 0x6d, 0xd6, 0x4a, 0x3e, 0x02, 0xb8, 0xe0, 0x71,
    0x2e, 0x85, 0xc9, 0xa2, 0x8c, 0xa8, 0x96, 0x66,
};
/* clang-format on */

static const uint8_t rfc5769_long_term_tid[CQ_STUN_TID_SIZE] = {0x78, 0xad, 0x34, 0x33, 0xc6, 0xad,
                                                                0x72, 0xc0, 0x29, 0xda, 0x41, 0x2e};
static const char ltc_username[] = "\xe3\x83\x9e\xe3\x83\x88\xe3\x83\xaa\xe3\x83\x83\xe3\x82\xaf"
                                   "\xe3\x82\xb9"; /* マトリックス */
static const char ltc_nonce[] = "f//499k954d6OL34oL9FSTvy64sA";
static const char ltc_realm[] = "example.org";

static const uint8_t *pw(void) {
    return (const uint8_t *)rfc5769_password;
}
#define PW_LEN (sizeof rfc5769_password - 1)

/* Long-term credentials (RFC 8489 §9.2.2, as RFC 5389 had it): key = MD5(username ":"
 * realm ":" SASLprep(password)). SASLprep maps the RFC's password "TheMªtrⅨ" to
 * "TheMatrIX" (NFKC folds ª to a and Ⅸ to IX); the test starts from the prepared form, as
 * chasqui itself never uses long-term credentials. */
static void ltc_key(uint8_t key[16]) {
    char input[64];
    int n = snprintf(input, sizeof input, "%s:%s:%s", ltc_username, ltc_realm, "TheMatrIX");
    assert_true(n > 0 && (size_t)n < sizeof input);
    unsigned int md_len = 0;
    assert_int_equal(EVP_Digest(input, (size_t)n, key, &md_len, EVP_md5(), NULL), 1);
    assert_int_equal(md_len, 16);
}

/* Finds where an attribute of the given type starts in a message, or 0. Used to place
 * flips and cuts relative to the layout, independent of the parser under test. */
static size_t find_attr(const uint8_t *msg, size_t len, uint16_t type) {
    size_t off = CQ_STUN_HEADER_SIZE;
    while (off + 4 <= len) {
        uint16_t t = (uint16_t)(msg[off] << 8 | msg[off + 1]);
        size_t n = (size_t)(msg[off + 2] << 8 | msg[off + 3]);
        if (t == type)
            return off;
        off += 4 + ((n + 3) & ~(size_t)3);
    }
    return 0;
}

/* ---- CRC-32 and HMAC-SHA1 ------------------------------------------------------------- */

static void test_stun_crc32_check_value(void **state) {
    (void)state;
    assert_int_equal(cq_stun_crc32((const uint8_t *)"123456789", 9), 0xCBF43926u);
    assert_int_equal(cq_stun_crc32(NULL, 0), 0);
    /* One zero byte: zlib's crc32(0, "\0", 1). */
    assert_int_equal(cq_stun_crc32((const uint8_t *)"", 1), 0xD202EF8Du);
}

/* RFC 2202 §3, all seven HMAC-SHA-1 test cases. */
static void test_stun_hmac_sha1_rfc2202(void **state) {
    (void)state;
    uint8_t k0b[20], kaa20[20], kaa80[80], k0c[20], kseq[25], ddd[50], dcd[50];
    memset(k0b, 0x0b, sizeof k0b);
    memset(kaa20, 0xaa, sizeof kaa20);
    memset(kaa80, 0xaa, sizeof kaa80);
    memset(k0c, 0x0c, sizeof k0c);
    for (size_t i = 0; i < sizeof kseq; i++)
        kseq[i] = (uint8_t)(i + 1);
    memset(ddd, 0xdd, sizeof ddd);
    memset(dcd, 0xcd, sizeof dcd);

    static const char d6[] = "Test Using Larger Than Block-Size Key - Hash Key First";
    static const char d7[] =
        "Test Using Larger Than Block-Size Key and Larger Than One Block-Size Data";
    const struct {
        const uint8_t *key;
        size_t key_len;
        const uint8_t *data;
        size_t data_len;
        uint8_t digest[20];
    } cases[] = {
        {k0b, 20, (const uint8_t *)"Hi There", 8, {0xb6, 0x17, 0x31, 0x86, 0x55, 0x05, 0x72,
                                                   0x64, 0xe2, 0x8b, 0xc0, 0xb6, 0xfb, 0x37,
                                                   0x8c, 0x8e, 0xf1, 0x46, 0xbe, 0x00}},
        {(const uint8_t *)"Jefe",
         4,
         (const uint8_t *)"what do ya want for nothing?",
         28,
         {0xef, 0xfc, 0xdf, 0x6a, 0xe5, 0xeb, 0x2f, 0xa2, 0xd2, 0x74,
          0x16, 0xd5, 0xf1, 0x84, 0xdf, 0x9c, 0x25, 0x9a, 0x7c, 0x79}},
        {kaa20, 20, ddd, 50, {0x12, 0x5d, 0x73, 0x42, 0xb9, 0xac, 0x11, 0xcd, 0x91, 0xa3,
                              0x9a, 0xf4, 0x8a, 0xa1, 0x7b, 0x4f, 0x63, 0xf1, 0x75, 0xd3}},
        {kseq, 25, dcd, 50, {0x4c, 0x90, 0x07, 0xf4, 0x02, 0x62, 0x50, 0xc6, 0xbc, 0x84,
                             0x14, 0xf9, 0xbf, 0x50, 0xc8, 0x6c, 0x2d, 0x72, 0x35, 0xda}},
        {k0c, 20, (const uint8_t *)"Test With Truncation", 20, {0x4c, 0x1a, 0x03, 0x42, 0x4b,
                                                                0x55, 0xe0, 0x7f, 0xe7, 0xf2,
                                                                0x7b, 0xe1, 0xd5, 0x8b, 0xb9,
                                                                0x32, 0x4a, 0x9a, 0x5a, 0x04}},
        {kaa80, 80, (const uint8_t *)d6, sizeof d6 - 1, {0xaa, 0x4a, 0xe5, 0xe1, 0x52, 0x72, 0xd0,
                                                         0x0e, 0x95, 0x70, 0x56, 0x37, 0xce, 0x8a,
                                                         0x3b, 0x55, 0xed, 0x40, 0x21, 0x12}},
        {kaa80, 80, (const uint8_t *)d7, sizeof d7 - 1, {0xe8, 0xe9, 0x9d, 0x0f, 0x45, 0x23, 0x7d,
                                                         0x78, 0x6d, 0x6b, 0xba, 0xa7, 0x96, 0x5c,
                                                         0x78, 0x08, 0xbb, 0xff, 0x1a, 0x91}},
    };
    assert_int_equal(sizeof d6 - 1, 54);
    assert_int_equal(sizeof d7 - 1, 73);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t out[20];
        assert_int_equal(cq_stun_hmac_sha1(cases[i].key, cases[i].key_len, cases[i].data,
                                           cases[i].data_len, out),
                         0);
        assert_memory_equal(out, cases[i].digest, 20);
    }
}

/* Keys on both sides of the 64-byte block (where the key is hashed first), against
 * OpenSSL's own HMAC as the reference. */
static void test_stun_hmac_sha1_matches_openssl(void **state) {
    (void)state;
    const uint64_t seed = 2202;
    cq_test_rand_t r = {seed};
    uint8_t key[160], data[300], ours[20], ref[20];
    for (int i = 0; i < 2000; i++) {
        size_t key_len = cq_test_rand_below(&r, sizeof key);
        size_t data_len = cq_test_rand_below(&r, sizeof data);
        cq_test_rand_fill(&r, key, key_len);
        cq_test_rand_fill(&r, data, data_len);
        unsigned int ref_len = 0;
        assert_non_null(HMAC(EVP_sha1(), key, (int)key_len, data, data_len, ref, &ref_len));
        assert_int_equal(cq_stun_hmac_sha1(key, key_len, data, data_len, ours), 0);
        if (memcmp(ours, ref, sizeof ref) != 0)
            fail_msg("seed %" PRIu64 " iteration %d: key %zu data %zu", seed, i, key_len, data_len);
    }
}

/* ---- Parsing the RFC 5769 vectors ----------------------------------------------------- */

static void test_stun_parse_rfc5769_request(void **state) {
    (void)state;
    const uint8_t *m = rfc5769_request;
    size_t len = sizeof rfc5769_request;
    cq_stun_view_t v;
    assert_int_equal(cq_stun_parse(m, len, &v), (int)len);
    assert_int_equal(v.len, 108);
    assert_int_equal(v.method, CQ_STUN_METHOD_BINDING);
    assert_int_equal(v.cls, CQ_STUN_CLASS_REQUEST);
    assert_ptr_equal(v.tid, m + 8);
    assert_memory_equal(v.tid, rfc5769_tid, CQ_STUN_TID_SIZE);
    assert_int_equal(v.attrs, CQ_STUN_HAS_SOFTWARE | CQ_STUN_HAS_PRIORITY |
                                  CQ_STUN_HAS_ICE_CONTROLLED | CQ_STUN_HAS_USERNAME |
                                  CQ_STUN_HAS_MESSAGE_INTEGRITY | CQ_STUN_HAS_FINGERPRINT);
    assert_int_equal(v.software_len, 16);
    assert_memory_equal(v.software, "STUN test client", 16);
    assert_int_equal(v.priority, 0x6e0001ffu);
    assert_true(v.tie_breaker == 0x932ff9b151263b36ull);
    assert_int_equal(v.username_len, 9);
    assert_memory_equal(v.username, "evtj:h6vY", 9);
    assert_int_equal(v.integrity_offset, 76);
    assert_int_equal(v.fingerprint_offset, 100);
    assert_int_equal(v.unknown_required_count, 0);

    assert_int_equal(cq_stun_check_integrity(m, len, &v, pw(), PW_LEN), 0);
    assert_int_equal(cq_stun_check_fingerprint(m, len, &v), 0);
    assert_int_equal(cq_stun_check_integrity(m, len, &v, pw(), PW_LEN - 1), CQ_EAUTH);
    assert_int_equal(cq_stun_check_integrity(m, len, &v, (const uint8_t *)"wrong", 5), CQ_EAUTH);

    const char *rx, *tx;
    size_t rx_len, tx_len;
    assert_int_equal(cq_stun_username_split(v.username, v.username_len, &rx, &rx_len, &tx, &tx_len),
                     0);
    assert_int_equal(rx_len, 4);
    assert_memory_equal(rx, "evtj", 4);
    assert_int_equal(tx_len, 4);
    assert_memory_equal(tx, "h6vY", 4);
}

static void test_stun_parse_rfc5769_ipv4_response(void **state) {
    (void)state;
    const uint8_t *m = rfc5769_ipv4_response;
    size_t len = sizeof rfc5769_ipv4_response;
    cq_stun_view_t v;
    assert_int_equal(cq_stun_parse(m, len, &v), (int)len);
    assert_int_equal(v.method, CQ_STUN_METHOD_BINDING);
    assert_int_equal(v.cls, CQ_STUN_CLASS_SUCCESS);
    assert_memory_equal(v.tid, rfc5769_tid, CQ_STUN_TID_SIZE);
    assert_int_equal(v.attrs, CQ_STUN_HAS_SOFTWARE | CQ_STUN_HAS_XOR_MAPPED_ADDRESS |
                                  CQ_STUN_HAS_MESSAGE_INTEGRITY | CQ_STUN_HAS_FINGERPRINT);
    assert_int_equal(v.software_len, 11);
    assert_memory_equal(v.software, "test vector", 11);
    assert_int_equal(v.xor_mapped_address.family, CQ_STUN_FAMILY_IPV4);
    assert_int_equal(v.xor_mapped_address.port, 32853);
    static const uint8_t addr[16] = {192, 0, 2, 1};
    assert_memory_equal(v.xor_mapped_address.addr, addr, 16);
    assert_int_equal(cq_stun_check_integrity(m, len, &v, pw(), PW_LEN), 0);
    assert_int_equal(cq_stun_check_fingerprint(m, len, &v), 0);
}

static void test_stun_parse_rfc5769_ipv6_response(void **state) {
    (void)state;
    const uint8_t *m = rfc5769_ipv6_response;
    size_t len = sizeof rfc5769_ipv6_response;
    cq_stun_view_t v;
    assert_int_equal(cq_stun_parse(m, len, &v), (int)len);
    assert_int_equal(v.cls, CQ_STUN_CLASS_SUCCESS);
    assert_int_equal(v.xor_mapped_address.family, CQ_STUN_FAMILY_IPV6);
    assert_int_equal(v.xor_mapped_address.port, 32853);
    static const uint8_t addr[16] = {0x20, 0x01, 0x0d, 0xb8, 0x12, 0x34, 0x56, 0x78,
                                     0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77};
    assert_memory_equal(v.xor_mapped_address.addr, addr, 16);
    assert_int_equal(cq_stun_check_integrity(m, len, &v, pw(), PW_LEN), 0);
    assert_int_equal(cq_stun_check_fingerprint(m, len, &v), 0);
}

static void test_stun_parse_rfc5769_long_term(void **state) {
    (void)state;
    const uint8_t *m = rfc5769_long_term_request;
    size_t len = sizeof rfc5769_long_term_request;
    cq_stun_view_t v;
    assert_int_equal(cq_stun_parse(m, len, &v), (int)len);
    assert_int_equal(v.cls, CQ_STUN_CLASS_REQUEST);
    assert_memory_equal(v.tid, rfc5769_long_term_tid, CQ_STUN_TID_SIZE);
    assert_int_equal(v.attrs, CQ_STUN_HAS_USERNAME | CQ_STUN_HAS_NONCE | CQ_STUN_HAS_REALM |
                                  CQ_STUN_HAS_MESSAGE_INTEGRITY);
    assert_int_equal(v.username_len, 18);
    assert_memory_equal(v.username, ltc_username, 18);
    assert_int_equal(v.nonce_len, 28);
    assert_memory_equal(v.nonce, ltc_nonce, 28);
    assert_int_equal(v.realm_len, 11);
    assert_memory_equal(v.realm, ltc_realm, 11);

    uint8_t key[16];
    ltc_key(key);
    assert_int_equal(cq_stun_check_integrity(m, len, &v, key, sizeof key), 0);
    /* The short-term password is the wrong key here. */
    assert_int_equal(cq_stun_check_integrity(m, len, &v, pw(), PW_LEN), CQ_EAUTH);
    assert_int_equal(cq_stun_check_fingerprint(m, len, &v), CQ_ENOENT);
}

/* ---- Building the RFC 5769 vectors byte for byte -------------------------------------- */
/* RFC 5769 was written under RFC 5389, which let senders pick the padding bytes, and its
 * §2.1-§2.3 pad with 0x20 (a space) where RFC 8489 now writes 0. The writer pads with
 * w.pad, so these tests set it to 0x20 and reproduce the vectors exactly; §2.4 pads with
 * 0x00, the writer's default. Receivers ignore padding either way, but MESSAGE-INTEGRITY
 * and FINGERPRINT cover it, so only the right padding gives the RFC's hashes. */

static void test_stun_write_rfc5769_request(void **state) {
    (void)state;
    uint8_t buf[256];
    cq_stun_writer_t w;
    assert_int_equal(cq_stun_writer_init(&w, buf, sizeof buf, CQ_STUN_METHOD_BINDING,
                                         CQ_STUN_CLASS_REQUEST, rfc5769_tid),
                     0);
    w.pad = 0x20;
    assert_int_equal(cq_stun_add_software(&w, "STUN test client", 16), 0);
    assert_int_equal(cq_stun_add_priority(&w, 0x6e0001ff), 0);
    assert_int_equal(cq_stun_add_ice_controlled(&w, 0x932ff9b151263b36ull), 0);
    assert_int_equal(cq_stun_add_username(&w, "evtj:h6vY", 9), 0);
    assert_int_equal(cq_stun_add_message_integrity(&w, pw(), PW_LEN), 0);
    assert_int_equal(cq_stun_add_fingerprint(&w), 0);
    assert_int_equal(cq_stun_writer_len(&w), sizeof rfc5769_request);
    assert_memory_equal(buf, rfc5769_request, sizeof rfc5769_request);
}

static void write_rfc5769_response(const cq_stun_addr_t *a, uint8_t *buf, size_t cap, size_t *len) {
    cq_stun_writer_t w;
    assert_int_equal(cq_stun_writer_init(&w, buf, cap, CQ_STUN_METHOD_BINDING,
                                         CQ_STUN_CLASS_SUCCESS, rfc5769_tid),
                     0);
    w.pad = 0x20;
    assert_int_equal(cq_stun_add_software(&w, "test vector", 11), 0);
    assert_int_equal(cq_stun_add_xor_mapped_address(&w, a), 0);
    assert_int_equal(cq_stun_add_message_integrity(&w, pw(), PW_LEN), 0);
    assert_int_equal(cq_stun_add_fingerprint(&w), 0);
    *len = cq_stun_writer_len(&w);
}

static void test_stun_write_rfc5769_ipv4_response(void **state) {
    (void)state;
    cq_stun_addr_t a = {.family = CQ_STUN_FAMILY_IPV4, .port = 32853, .addr = {192, 0, 2, 1}};
    uint8_t buf[256];
    size_t len;
    write_rfc5769_response(&a, buf, sizeof buf, &len);
    assert_int_equal(len, sizeof rfc5769_ipv4_response);
    assert_memory_equal(buf, rfc5769_ipv4_response, len);
}

static void test_stun_write_rfc5769_ipv6_response(void **state) {
    (void)state;
    cq_stun_addr_t a = {.family = CQ_STUN_FAMILY_IPV6,
                        .port = 32853,
                        .addr = {0x20, 0x01, 0x0d, 0xb8, 0x12, 0x34, 0x56, 0x78, 0x00, 0x11, 0x22,
                                 0x33, 0x44, 0x55, 0x66, 0x77}};
    uint8_t buf[256];
    size_t len;
    write_rfc5769_response(&a, buf, sizeof buf, &len);
    assert_int_equal(len, sizeof rfc5769_ipv6_response);
    assert_memory_equal(buf, rfc5769_ipv6_response, len);
}

static void test_stun_write_rfc5769_long_term(void **state) {
    (void)state;
    uint8_t key[16], buf[256];
    ltc_key(key);
    cq_stun_writer_t w;
    assert_int_equal(cq_stun_writer_init(&w, buf, sizeof buf, CQ_STUN_METHOD_BINDING,
                                         CQ_STUN_CLASS_REQUEST, rfc5769_long_term_tid),
                     0);
    assert_int_equal(cq_stun_add_username(&w, ltc_username, 18), 0);
    assert_int_equal(cq_stun_add_nonce(&w, ltc_nonce, 28), 0);
    assert_int_equal(cq_stun_add_realm(&w, ltc_realm, 11), 0);
    assert_int_equal(cq_stun_add_message_integrity(&w, key, sizeof key), 0);
    assert_int_equal(cq_stun_writer_len(&w), sizeof rfc5769_long_term_request);
    assert_memory_equal(buf, rfc5769_long_term_request, sizeof rfc5769_long_term_request);
}

/* ---- Integrity and fingerprint under tampering ---------------------------------------- */

typedef struct {
    const uint8_t *msg;
    size_t len;
    bool long_term;
} vector_t;

static const vector_t vectors[] = {
    {rfc5769_request, sizeof rfc5769_request, false},
    {rfc5769_ipv4_response, sizeof rfc5769_ipv4_response, false},
    {rfc5769_ipv6_response, sizeof rfc5769_ipv6_response, false},
    {rfc5769_long_term_request, sizeof rfc5769_long_term_request, true},
};
#define N_VECTORS (sizeof vectors / sizeof vectors[0])

/* Flipping any bit pattern of any byte that MESSAGE-INTEGRITY covers (the header, every
 * attribute and its padding, the HMAC itself) either breaks the parse or fails the
 * check; flipping bytes of the FINGERPRINT after it leaves the HMAC valid, as §14.5 says
 * those bytes are outside it. */
static void test_stun_check_integrity_every_flipped_byte(void **state) {
    (void)state;
    uint8_t ltc[16];
    ltc_key(ltc);
    static const uint8_t masks[] = {0x01, 0x80, 0x20, 0xff};
    for (size_t k = 0; k < N_VECTORS; k++) {
        const uint8_t *key = vectors[k].long_term ? ltc : pw();
        size_t key_len = vectors[k].long_term ? sizeof ltc : PW_LEN;
        size_t len = vectors[k].len;
        size_t covered = find_attr(vectors[k].msg, len, CQ_STUN_ATTR_MESSAGE_INTEGRITY) +
                         CQ_STUN_INTEGRITY_ATTR_SIZE;
        assert_true(covered > CQ_STUN_INTEGRITY_ATTR_SIZE);
        for (size_t i = 0; i < len; i++) {
            for (size_t b = 0; b < sizeof masks; b++) {
                uint8_t m[128];
                memcpy(m, vectors[k].msg, len);
                m[i] ^= masks[b];
                cq_stun_view_t v;
                if (cq_stun_parse(m, len, &v) < 0)
                    continue;
                int rc = cq_stun_check_integrity(m, len, &v, key, key_len);
                /* CQ_ENOENT: the flip renamed MESSAGE-INTEGRITY into another type. */
                if (i < covered && rc != CQ_EAUTH && rc != CQ_ENOENT)
                    fail_msg("vector %zu byte %zu mask %02x: %d", k, i, masks[b], rc);
                if (i >= covered && rc != 0)
                    fail_msg("vector %zu byte %zu mask %02x: %d", k, i, masks[b], rc);
            }
        }
    }
}

/* CRC-32 catches every error burst up to 32 bits, so any change of a single byte before
 * the FINGERPRINT value, or of the value itself, is detected. */
static void test_stun_check_fingerprint_every_flipped_byte(void **state) {
    (void)state;
    for (size_t k = 0; k < N_VECTORS - 1; k++) { /* §2.4 has no FINGERPRINT */
        size_t len = vectors[k].len;
        for (size_t i = 0; i < len; i++) {
            for (unsigned mask = 1; mask < 256; mask += 17) {
                uint8_t m[128];
                memcpy(m, vectors[k].msg, len);
                m[i] ^= (uint8_t)mask;
                cq_stun_view_t v;
                if (cq_stun_parse(m, len, &v) < 0)
                    continue;
                int rc = cq_stun_check_fingerprint(m, len, &v);
                if (rc != CQ_EMALFORMED && rc != CQ_ENOENT)
                    fail_msg("vector %zu byte %zu mask %02x: %d", k, i, mask, rc);
            }
        }
    }
}

/* The checks refuse a view that does not describe the bytes they are given. */
static void test_stun_check_rejects_mismatched_view(void **state) {
    (void)state;
    cq_stun_view_t v;
    const uint8_t *m = rfc5769_request;
    size_t len = sizeof rfc5769_request;
    assert_int_equal(cq_stun_parse(m, len, &v), (int)len);
    assert_int_equal(cq_stun_check_integrity(m, len - 4, &v, pw(), PW_LEN), CQ_EINVAL);
    assert_int_equal(cq_stun_check_fingerprint(m, len - 4, &v), CQ_EINVAL);
    cq_stun_view_t bad = v;
    bad.integrity_offset = len - 8;
    assert_int_equal(cq_stun_check_integrity(m, len, &bad, pw(), PW_LEN), CQ_EINVAL);
    bad = v;
    bad.fingerprint_offset = 4;
    assert_int_equal(cq_stun_check_fingerprint(m, len, &bad), CQ_EINVAL);
    bad = v;
    bad.attrs &= ~(CQ_STUN_HAS_MESSAGE_INTEGRITY | CQ_STUN_HAS_FINGERPRINT);
    assert_int_equal(cq_stun_check_integrity(m, len, &bad, pw(), PW_LEN), CQ_ENOENT);
    assert_int_equal(cq_stun_check_fingerprint(m, len, &bad), CQ_ENOENT);
}

/* ---- Malformed input ------------------------------------------------------------------ */

static void test_stun_parse_truncated_every_length(void **state) {
    (void)state;
    for (size_t k = 0; k < N_VECTORS; k++) {
        for (size_t cut = 0; cut < vectors[k].len; cut++) {
            /* An exact-size copy, so ASan sees any read past the cut. */
            uint8_t *m = test_malloc(cut > 0 ? cut : 1);
            memcpy(m, vectors[k].msg, cut);
            cq_stun_view_t v = {.len = 12345};
            int rc = cq_stun_parse(m, cut, &v);
            test_free(m);
            if (rc != CQ_ETRUNCATED)
                fail_msg("vector %zu cut at %zu: %d", k, cut, rc);
            assert_int_equal(v.len, 12345); /* untouched on failure */
        }
    }
}

/* Shortening the header's length (and the datagram with it) to every multiple of 4: a
 * cut between attributes leaves a valid shorter message, a cut inside one is an overrun. */
static void test_stun_parse_header_length_cut_every_word(void **state) {
    (void)state;
    for (size_t k = 0; k < N_VECTORS; k++) {
        const uint8_t *msg = vectors[k].msg;
        size_t len = vectors[k].len;
        for (size_t cut = CQ_STUN_HEADER_SIZE; cut < len; cut += 4) {
            bool boundary = false;
            for (size_t off = CQ_STUN_HEADER_SIZE; off <= cut;) {
                if (off == cut) {
                    boundary = true;
                    break;
                }
                size_t n = (size_t)(msg[off + 2] << 8 | msg[off + 3]);
                off += 4 + ((n + 3) & ~(size_t)3);
            }
            uint8_t m[128];
            memcpy(m, msg, cut);
            m[2] = (uint8_t)((cut - 20) >> 8);
            m[3] = (uint8_t)(cut - 20);
            cq_stun_view_t v;
            int rc = cq_stun_parse(m, cut, &v);
            if (boundary ? rc != (int)cut : rc != CQ_EMALFORMED)
                fail_msg("vector %zu cut at %zu: %d", k, cut, rc);
        }
    }
}

static void test_stun_parse_header_errors(void **state) {
    (void)state;
    uint8_t m[128];
    size_t len = sizeof rfc5769_request;
    cq_stun_view_t v;

    memcpy(m, rfc5769_request, len);
    m[0] |= 0x40; /* leading bits must be 00 */
    assert_int_equal(cq_stun_parse(m, len, &v), CQ_EMALFORMED);
    m[0] = 0x80; /* an RTP first byte */
    assert_int_equal(cq_stun_parse(m, len, &v), CQ_EMALFORMED);

    memcpy(m, rfc5769_request, len);
    m[7] ^= 1; /* magic cookie */
    assert_int_equal(cq_stun_parse(m, len, &v), CQ_EVERSION);

    memcpy(m, rfc5769_request, len);
    m[3] = 0x57; /* length not a multiple of 4 */
    assert_int_equal(cq_stun_parse(m, len, &v), CQ_EMALFORMED);
    m[3] = 0x5c; /* longer than the datagram */
    assert_int_equal(cq_stun_parse(m, len, &v), CQ_ETRUNCATED);

    /* Bytes after the message: one datagram, one message. */
    memcpy(m, rfc5769_request, len);
    memset(m + len, 0, 4);
    assert_int_equal(cq_stun_parse(m, len + 4, &v), CQ_EMALFORMED);

    /* A bare header is a valid, empty message. */
    static const uint8_t empty[20] = {0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42};
    assert_int_equal(cq_stun_parse(empty, sizeof empty, &v), 20);
    assert_int_equal(v.attrs, 0);
}

/* Appends a raw attribute (header, value, zero padding) and fixes the header's length:
 * the way to build messages the writer refuses to produce. */
static void append_raw(uint8_t *m, size_t *len, uint16_t type, const void *value, size_t n) {
    m[*len] = (uint8_t)(type >> 8);
    m[*len + 1] = (uint8_t)type;
    m[*len + 2] = (uint8_t)(n >> 8);
    m[*len + 3] = (uint8_t)n;
    if (n > 0)
        memcpy(m + *len + 4, value, n);
    size_t padded = (n + 3) & ~(size_t)3;
    memset(m + *len + 4 + n, 0, padded - n);
    *len += 4 + padded;
    m[2] = (uint8_t)((*len - 20) >> 8);
    m[3] = (uint8_t)(*len - 20);
}

static void start_raw(uint8_t *m, size_t *len) {
    static const uint8_t header[20] = {0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42, 1,  2,
                                       3,    4,    5,    6,    7,    8,    9,    10,   11, 12};
    memcpy(m, header, sizeof header);
    *len = sizeof header;
}

static int parse_raw(const uint8_t *m, size_t len) {
    cq_stun_view_t v;
    return cq_stun_parse(m, len, &v);
}

static void test_stun_parse_attribute_overrun(void **state) {
    (void)state;
    uint8_t m[256];
    size_t len;
    start_raw(m, &len);
    append_raw(m, &len, CQ_STUN_ATTR_USERNAME, "abcd:efgh", 9);
    assert_int_equal(parse_raw(m, len), (int)len);
    m[23] = 13; /* 13 bytes padded to 16: past the 12 the message holds */
    assert_int_equal(parse_raw(m, len), CQ_EMALFORMED);
    m[22] = 0xff; /* 0xff0d */
    assert_int_equal(parse_raw(m, len), CQ_EMALFORMED);
    m[22] = 0;
    m[23] = 12; /* exactly to the end: fine */
    assert_int_equal(parse_raw(m, len), (int)len);
}

static void test_stun_parse_integrity_and_fingerprint_placement(void **state) {
    (void)state;
    uint8_t m[256], hmac[20] = {0};
    size_t len;

    /* Something after FINGERPRINT. */
    start_raw(m, &len);
    append_raw(m, &len, CQ_STUN_ATTR_FINGERPRINT, "\0\0\0\0", 4);
    assert_int_equal(parse_raw(m, len), (int)len);
    append_raw(m, &len, CQ_STUN_ATTR_SOFTWARE, "x", 1);
    assert_int_equal(parse_raw(m, len), CQ_EMALFORMED);

    /* Two MESSAGE-INTEGRITY attributes. */
    start_raw(m, &len);
    append_raw(m, &len, CQ_STUN_ATTR_MESSAGE_INTEGRITY, hmac, 20);
    assert_int_equal(parse_raw(m, len), (int)len);
    append_raw(m, &len, CQ_STUN_ATTR_MESSAGE_INTEGRITY, hmac, 20);
    assert_int_equal(parse_raw(m, len), CQ_EMALFORMED);

    /* Wrong sizes. */
    start_raw(m, &len);
    append_raw(m, &len, CQ_STUN_ATTR_MESSAGE_INTEGRITY, hmac, 16);
    assert_int_equal(parse_raw(m, len), CQ_EMALFORMED);
    uint8_t sha256_sized[32] = {0};
    start_raw(m, &len);
    append_raw(m, &len, CQ_STUN_ATTR_MESSAGE_INTEGRITY, sha256_sized, 32);
    assert_int_equal(parse_raw(m, len), CQ_EMALFORMED);
    start_raw(m, &len);
    append_raw(m, &len, CQ_STUN_ATTR_FINGERPRINT, hmac, 8);
    assert_int_equal(parse_raw(m, len), CQ_EMALFORMED);
}

/* RFC 8489 §14.5: attributes between MESSAGE-INTEGRITY and FINGERPRINT are ignored, not
 * covered by the HMAC, and do not count in the length it was computed with; FINGERPRINT
 * still covers them. */
static void test_stun_parse_ignores_attributes_after_integrity(void **state) {
    (void)state;
    static const uint8_t key[] = "relaypassword0123456789";
    uint8_t m[256];
    cq_stun_writer_t w;
    assert_int_equal(cq_stun_writer_init(&w, m, sizeof m, CQ_STUN_METHOD_BINDING,
                                         CQ_STUN_CLASS_REQUEST, rfc5769_tid),
                     0);
    assert_int_equal(cq_stun_add_username(&w, "rel1:cli1", 9), 0);
    assert_int_equal(cq_stun_add_message_integrity(&w, key, sizeof key - 1), 0);
    size_t len = cq_stun_writer_len(&w);
    append_raw(m, &len, CQ_STUN_ATTR_SOFTWARE, "late", 4);
    append_raw(m, &len, CQ_STUN_ATTR_PRIORITY, "\1\2\3\4", 4);
    append_raw(m, &len, 0x0003, NULL, 0); /* unknown and required, but ignored here */
    append_raw(m, &len, CQ_STUN_ATTR_USERNAME, "evil:evil", 9);
    append_raw(m, &len, CQ_STUN_ATTR_FINGERPRINT, "\0\0\0\0", 4);
    uint32_t crc = cq_stun_crc32(m, len - 8) ^ CQ_STUN_FINGERPRINT_XOR;
    m[len - 4] = (uint8_t)(crc >> 24);
    m[len - 3] = (uint8_t)(crc >> 16);
    m[len - 2] = (uint8_t)(crc >> 8);
    m[len - 1] = (uint8_t)crc;

    cq_stun_view_t v;
    assert_int_equal(cq_stun_parse(m, len, &v), (int)len);
    assert_int_equal(v.attrs, CQ_STUN_HAS_USERNAME | CQ_STUN_HAS_MESSAGE_INTEGRITY |
                                  CQ_STUN_HAS_FINGERPRINT);
    assert_memory_equal(v.username, "rel1:cli1", 9);
    assert_int_equal(v.unknown_required_count, 0);
    assert_int_equal(cq_stun_check_integrity(m, len, &v, key, sizeof key - 1), 0);
    assert_int_equal(cq_stun_check_fingerprint(m, len, &v), 0);
}

static void test_stun_parse_unknown_required_reported(void **state) {
    (void)state;
    uint8_t m[512];
    size_t len;
    start_raw(m, &len);
    append_raw(m, &len, 0x0003, "\0\0\0\0", 4); /* CHANGE-REQUEST (RFC 5780) */
    append_raw(m, &len, 0x8001, NULL, 0);       /* optional: never reported */
    append_raw(m, &len, CQ_STUN_ATTR_MAPPED_ADDRESS, "\0\1\0\1\1\2\3\4", 8); /* known */
    append_raw(m, &len, 0x7FFF, "abc", 3);
    append_raw(m, &len, 0x001C, NULL, 0); /* MESSAGE-INTEGRITY-SHA256: not implemented */
    cq_stun_view_t v;
    assert_int_equal(cq_stun_parse(m, len, &v), (int)len);
    assert_int_equal(v.unknown_required_count, 3);
    assert_int_equal(v.unknown_required[0], 0x0003);
    assert_int_equal(v.unknown_required[1], 0x7FFF);
    assert_int_equal(v.unknown_required[2], 0x001C);

    /* More than fit: the first CQ_STUN_MAX_UNKNOWN are kept. */
    start_raw(m, &len);
    for (uint16_t t = 0x7000; t < 0x7000 + CQ_STUN_MAX_UNKNOWN + 5; t++)
        append_raw(m, &len, t, NULL, 0);
    assert_int_equal(cq_stun_parse(m, len, &v), (int)len);
    assert_int_equal(v.unknown_required_count, CQ_STUN_MAX_UNKNOWN);
    for (unsigned i = 0; i < CQ_STUN_MAX_UNKNOWN; i++)
        assert_int_equal(v.unknown_required[i], 0x7000 + i);
}

/* Every decoded attribute checks its size and value. */
static void test_stun_parse_attribute_values_checked(void **state) {
    (void)state;
    static const struct {
        uint16_t type;
        const char *value;
        size_t len;
        int want;
    } rows[] = {
        {CQ_STUN_ATTR_XOR_MAPPED_ADDRESS, "\0\1\0\0\0\0\0\0", 8, 0},
        {CQ_STUN_ATTR_XOR_MAPPED_ADDRESS, "\0\3\0\0\0\0\0\0", 8, CQ_EMALFORMED}, /* family 3 */
        {CQ_STUN_ATTR_XOR_MAPPED_ADDRESS, "\0\2\0\0\0\0\0\0", 8, CQ_EMALFORMED}, /* v6, 8 B */
        {CQ_STUN_ATTR_XOR_MAPPED_ADDRESS, "\0\1\0\0\0\0\0\0\0\0\0\0", 12, CQ_EMALFORMED},
        {CQ_STUN_ATTR_XOR_MAPPED_ADDRESS, "\0\1\0\0", 4, CQ_EMALFORMED},
        {CQ_STUN_ATTR_XOR_MAPPED_ADDRESS, "", 0, CQ_EMALFORMED},
        {CQ_STUN_ATTR_PRIORITY, "\0\0\0", 3, CQ_EMALFORMED},
        {CQ_STUN_ATTR_PRIORITY, "\0\0\0\0\0", 5, CQ_EMALFORMED},
        {CQ_STUN_ATTR_USE_CANDIDATE, "\0\0\0\0", 4, CQ_EMALFORMED},
        {CQ_STUN_ATTR_ICE_CONTROLLING, "\0\0\0\0", 4, CQ_EMALFORMED},
        {CQ_STUN_ATTR_ICE_CONTROLLED, "\0\0\0\0\0\0\0\0\0\0\0\0", 12, CQ_EMALFORMED},
        {CQ_STUN_ATTR_ERROR_CODE, "\0\0\4\1", 4, 0},               /* 401, empty reason */
        {CQ_STUN_ATTR_ERROR_CODE, "\xff\xff\xfe\x63x", 5, 0},      /* reserved bits ignored */
        {CQ_STUN_ATTR_ERROR_CODE, "\0\0\2\0", 4, CQ_EMALFORMED},   /* class 2 */
        {CQ_STUN_ATTR_ERROR_CODE, "\0\0\7\0", 4, CQ_EMALFORMED},   /* class 7 */
        {CQ_STUN_ATTR_ERROR_CODE, "\0\0\4\x64", 4, CQ_EMALFORMED}, /* number 100 */
        {CQ_STUN_ATTR_ERROR_CODE, "\0\0\4", 3, CQ_EMALFORMED},
        {CQ_STUN_ATTR_UNKNOWN_ATTRIBUTES, "\0\3\0", 3, CQ_EMALFORMED},
        {CQ_STUN_ATTR_UNKNOWN_ATTRIBUTES, "\0\3\0\4\0\5", 6, 0},
        {CQ_STUN_ATTR_UNKNOWN_ATTRIBUTES, "", 0, 0},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        uint8_t m[64];
        size_t len;
        start_raw(m, &len);
        append_raw(m, &len, rows[i].type, rows[i].value, rows[i].len);
        int rc = parse_raw(m, len);
        if (rows[i].want == 0 ? rc != (int)len : rc != rows[i].want)
            fail_msg("row %zu: %d", i, rc);
    }

    cq_stun_view_t v;
    uint8_t m[1024];
    size_t len;
    start_raw(m, &len);
    append_raw(m, &len, CQ_STUN_ATTR_ERROR_CODE, "\xff\xff\xfe\x63x", 5);
    assert_int_equal(cq_stun_parse(m, len, &v), (int)len);
    assert_int_equal(v.error_code, 699);
    assert_int_equal(v.error_reason_len, 1);

    /* Both ICE roles at once. */
    start_raw(m, &len);
    append_raw(m, &len, CQ_STUN_ATTR_ICE_CONTROLLING, "\0\0\0\0\0\0\0\1", 8);
    append_raw(m, &len, CQ_STUN_ATTR_ICE_CONTROLLED, "\0\0\0\0\0\0\0\1", 8);
    assert_int_equal(parse_raw(m, len), CQ_EMALFORMED);

    /* Text limits: 508 bytes of USERNAME is the most RFC 8489 §14.3 allows. */
    char text[CQ_STUN_MAX_TEXT + 1];
    memset(text, 'a', sizeof text);
    start_raw(m, &len);
    append_raw(m, &len, CQ_STUN_ATTR_USERNAME, text, CQ_STUN_MAX_USERNAME);
    assert_int_equal(parse_raw(m, len), (int)len);
    start_raw(m, &len);
    append_raw(m, &len, CQ_STUN_ATTR_USERNAME, text, CQ_STUN_MAX_USERNAME + 1);
    assert_int_equal(parse_raw(m, len), CQ_EMALFORMED);
    static const uint16_t text_types[] = {CQ_STUN_ATTR_SOFTWARE, CQ_STUN_ATTR_REALM,
                                          CQ_STUN_ATTR_NONCE};
    for (size_t i = 0; i < 3; i++) {
        start_raw(m, &len);
        append_raw(m, &len, text_types[i], text, CQ_STUN_MAX_TEXT);
        assert_int_equal(parse_raw(m, len), (int)len);
        start_raw(m, &len);
        append_raw(m, &len, text_types[i], text, CQ_STUN_MAX_TEXT + 1);
        assert_int_equal(parse_raw(m, len), CQ_EMALFORMED);
    }
}

/* RFC 8489 §14: the first occurrence of an attribute is the one that counts. */
static void test_stun_parse_first_occurrence_wins(void **state) {
    (void)state;
    uint8_t m[128];
    size_t len;
    start_raw(m, &len);
    append_raw(m, &len, CQ_STUN_ATTR_USERNAME, "aaaa:bbbb", 9);
    append_raw(m, &len, CQ_STUN_ATTR_PRIORITY, "\0\0\0\7", 4);
    append_raw(m, &len, CQ_STUN_ATTR_USERNAME, "cccc:dddd", 9);
    append_raw(m, &len, CQ_STUN_ATTR_PRIORITY, "\0\0\0\x09", 4);
    append_raw(m, &len, CQ_STUN_ATTR_PRIORITY, "bad", 3); /* a later one is not even read */
    cq_stun_view_t v;
    assert_int_equal(cq_stun_parse(m, len, &v), (int)len);
    assert_memory_equal(v.username, "aaaa:bbbb", 9);
    assert_int_equal(v.priority, 7);
}

/* ---- Writer --------------------------------------------------------------------------- */

static void test_stun_type_encoding(void **state) {
    (void)state;
    assert_int_equal(cq_stun_type(CQ_STUN_METHOD_BINDING, CQ_STUN_CLASS_REQUEST), 0x0001);
    assert_int_equal(cq_stun_type(CQ_STUN_METHOD_BINDING, CQ_STUN_CLASS_INDICATION), 0x0011);
    assert_int_equal(cq_stun_type(CQ_STUN_METHOD_BINDING, CQ_STUN_CLASS_SUCCESS), 0x0101);
    assert_int_equal(cq_stun_type(CQ_STUN_METHOD_BINDING, CQ_STUN_CLASS_ERROR), 0x0111);
    assert_int_equal(cq_stun_type(0x0FFF, CQ_STUN_CLASS_ERROR), 0x3FFF);
    assert_int_equal(cq_stun_type(0x0003, CQ_STUN_CLASS_SUCCESS), 0x0103); /* Allocate */

    /* Every method and class survives write -> parse. */
    uint8_t buf[20];
    for (uint16_t method = 0; method <= 0x0FFF; method++) {
        for (unsigned c = 0; c < 4; c++) {
            cq_stun_writer_t w;
            assert_int_equal(
                cq_stun_writer_init(&w, buf, sizeof buf, method, (cq_stun_class_t)c, rfc5769_tid),
                0);
            cq_stun_view_t v;
            assert_int_equal(cq_stun_parse(buf, 20, &v), 20);
            if (v.method != method || v.cls != (cq_stun_class_t)c)
                fail_msg("method %03x class %u", method, c);
        }
    }
}

static void test_stun_write_error_responses(void **state) {
    (void)state;
    static const struct {
        uint16_t code;
        const char *reason;
    } rows[] = {
        {CQ_STUN_ERROR_BAD_REQUEST, "Bad Request"},
        {CQ_STUN_ERROR_UNAUTHORIZED, "Unauthorized"},
        {CQ_STUN_ERROR_ROLE_CONFLICT, "Role Conflict"},
        {CQ_STUN_ERROR_SERVER_ERROR, ""},
    };
    static const uint8_t key[] = "0123456789abcdefghijkl";
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        uint8_t buf[128];
        cq_stun_writer_t w;
        size_t rlen = strlen(rows[i].reason);
        assert_int_equal(cq_stun_writer_init(&w, buf, sizeof buf, CQ_STUN_METHOD_BINDING,
                                             CQ_STUN_CLASS_ERROR, rfc5769_tid),
                         0);
        assert_int_equal(cq_stun_add_error_code(&w, rows[i].code, rows[i].reason, rlen), 0);
        assert_int_equal(cq_stun_add_message_integrity(&w, key, sizeof key - 1), 0);
        assert_int_equal(cq_stun_add_fingerprint(&w), 0);
        size_t len = cq_stun_writer_len(&w);
        assert_int_equal(len, 20 + CQ_STUN_ATTR_SIZE(4 + rlen) + 24 + 8);
        assert_int_equal(buf[0], 0x01);
        assert_int_equal(buf[1], 0x11);
        /* The ERROR-CODE value: class and number bytes after two reserved zeros. */
        assert_int_equal(buf[24], 0);
        assert_int_equal(buf[25], 0);
        assert_int_equal(buf[26], rows[i].code / 100);
        assert_int_equal(buf[27], rows[i].code % 100);

        cq_stun_view_t v;
        assert_int_equal(cq_stun_parse(buf, len, &v), (int)len);
        assert_int_equal(v.cls, CQ_STUN_CLASS_ERROR);
        assert_int_equal(v.error_code, rows[i].code);
        assert_int_equal(v.error_reason_len, rlen);
        assert_memory_equal(v.error_reason, rows[i].reason, rlen);
        assert_int_equal(cq_stun_check_integrity(buf, len, &v, key, sizeof key - 1), 0);
        assert_int_equal(cq_stun_check_fingerprint(buf, len, &v), 0);
    }

    /* 420 with UNKNOWN-ATTRIBUTES: three types, so the value is padded. */
    uint8_t buf[128];
    cq_stun_writer_t w;
    static const uint16_t unknown[] = {0x0003, 0x7FFF, 0x001C};
    assert_int_equal(cq_stun_writer_init(&w, buf, sizeof buf, CQ_STUN_METHOD_BINDING,
                                         CQ_STUN_CLASS_ERROR, rfc5769_tid),
                     0);
    assert_int_equal(
        cq_stun_add_error_code(&w, CQ_STUN_ERROR_UNKNOWN_ATTRIBUTE, "Unknown Attribute", 17), 0);
    assert_int_equal(cq_stun_add_unknown_attributes(&w, unknown, 3), 0);
    size_t len = cq_stun_writer_len(&w);
    assert_int_equal(len, 20 + CQ_STUN_ATTR_SIZE(4 + 17) + 12);
    static const uint8_t ua[] = {0x00, 0x0a, 0x00, 0x06, 0x00, 0x03,
                                 0x7f, 0xff, 0x00, 0x1c, 0x00, 0x00};
    assert_memory_equal(buf + 48, ua, sizeof ua);
    cq_stun_view_t v;
    assert_int_equal(cq_stun_parse(buf, len, &v), (int)len);
    assert_int_equal(v.error_code, 420);
    assert_int_equal(v.unknown_attributes_count, 3);
    for (unsigned i = 0; i < 3; i++)
        assert_int_equal(cq_stun_view_unknown_attribute(&v, i), unknown[i]);
    assert_int_equal(v.unknown_required_count, 0); /* listed, not present */
}

/* The request chasqui's client sends, written with a given buffer capacity. Returns the
 * first error, checking after every step that the message so far parses whole. */
static int write_client_request(uint8_t *buf, size_t cap, size_t *len) {
    static const uint8_t key[] = "relay-ice-password-0123";
    static const uint8_t tid[12] = {9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2};
    cq_stun_writer_t w;
    int rc = cq_stun_writer_init(&w, buf, cap, CQ_STUN_METHOD_BINDING, CQ_STUN_CLASS_REQUEST, tid);
    for (int step = 0; rc == 0 && step < 7; step++) {
        switch (step) {
        case 0:
            rc = cq_stun_add_username(&w, "Rel4yUfr:CliUfrag", 17);
            break;
        case 1:
            rc = cq_stun_add_priority(&w, 0x6e7f1eff);
            break;
        case 2:
            rc = cq_stun_add_ice_controlling(&w, 0x0123456789abcdefull);
            break;
        case 3:
            rc = cq_stun_add_use_candidate(&w);
            break;
        case 4:
            rc = cq_stun_add_software(&w, "chasqui", 7);
            break;
        case 5:
            rc = cq_stun_add_message_integrity(&w, key, sizeof key - 1);
            break;
        default:
            rc = cq_stun_add_fingerprint(&w);
            break;
        }
        cq_stun_view_t v;
        size_t n = cq_stun_writer_len(&w);
        assert_true(n <= cap);
        assert_int_equal(cq_stun_parse(buf, n, &v), (int)n);
    }
    *len = cq_stun_writer_len(&w);
    return rc;
}

static void test_stun_write_enobufs_every_capacity(void **state) {
    (void)state;
    uint8_t full[256];
    size_t full_len;
    assert_int_equal(write_client_request(full, sizeof full, &full_len), 0);
    assert_int_equal(full_len, 20 + 24 + 8 + 12 + 4 + 12 + 24 + 8);
    for (size_t cap = 0; cap < full_len; cap++) {
        uint8_t *buf = test_malloc(cap > 0 ? cap : 1);
        size_t len = 0;
        int rc = write_client_request(buf, cap, &len);
        if (rc != CQ_ENOBUFS || len > cap)
            fail_msg("cap %zu: %d, %zu bytes", cap, rc, len);
        /* What was written is the start of the full message but for the header's length. */
        if (len >= 20) {
            assert_memory_equal(buf, full, 2);
            assert_memory_equal(buf + 4, full + 4, len - 4);
        }
        test_free(buf);
    }
    uint8_t exact[256];
    size_t len;
    assert_int_equal(write_client_request(exact, full_len, &len), 0);
    assert_memory_equal(exact, full, full_len);
}

static void test_stun_write_state_and_value_errors(void **state) {
    (void)state;
    uint8_t buf[2048];
    cq_stun_writer_t w;
    static const uint8_t key[] = "k";

    assert_int_equal(
        cq_stun_writer_init(&w, buf, sizeof buf, 0x1000, CQ_STUN_CLASS_REQUEST, rfc5769_tid),
        CQ_EINVAL);
    assert_int_equal(cq_stun_add_priority(&w, 1), CQ_EBADSTATE);
    assert_int_equal(cq_stun_add_fingerprint(&w), CQ_EBADSTATE);
    assert_int_equal(cq_stun_writer_init(&w, buf, sizeof buf, 1, (cq_stun_class_t)4, rfc5769_tid),
                     CQ_EINVAL);
    assert_int_equal(cq_stun_writer_init(&w, buf, 19, 1, CQ_STUN_CLASS_REQUEST, rfc5769_tid),
                     CQ_ENOBUFS);
    assert_int_equal(cq_stun_add_use_candidate(&w), CQ_EBADSTATE);

    assert_int_equal(
        cq_stun_writer_init(&w, buf, sizeof buf, 1, CQ_STUN_CLASS_REQUEST, rfc5769_tid), 0);
    char text[CQ_STUN_MAX_TEXT + 1];
    memset(text, 'x', sizeof text);
    assert_int_equal(cq_stun_add_username(&w, text, CQ_STUN_MAX_USERNAME + 1), CQ_EINVAL);
    assert_int_equal(cq_stun_add_software(&w, text, CQ_STUN_MAX_TEXT + 1), CQ_EINVAL);
    assert_int_equal(cq_stun_add_realm(&w, text, CQ_STUN_MAX_TEXT + 1), CQ_EINVAL);
    assert_int_equal(cq_stun_add_nonce(&w, text, CQ_STUN_MAX_TEXT + 1), CQ_EINVAL);
    assert_int_equal(cq_stun_add_error_code(&w, 299, "", 0), CQ_EINVAL);
    assert_int_equal(cq_stun_add_error_code(&w, 700, "", 0), CQ_EINVAL);
    assert_int_equal(cq_stun_add_error_code(&w, 400, text, CQ_STUN_MAX_TEXT + 1), CQ_EINVAL);
    cq_stun_addr_t bad = {.family = 3};
    assert_int_equal(cq_stun_add_xor_mapped_address(&w, &bad), CQ_EINVAL);
    assert_int_equal(cq_stun_add_attr(&w, CQ_STUN_ATTR_MESSAGE_INTEGRITY, text, 20), CQ_EINVAL);
    assert_int_equal(cq_stun_add_attr(&w, CQ_STUN_ATTR_FINGERPRINT, text, 4), CQ_EINVAL);
    assert_int_equal(cq_stun_add_attr(&w, 0x7000, text, 0x10000), CQ_EINVAL);
    assert_int_equal(cq_stun_add_unknown_attributes(&w, NULL, 0x8000), CQ_EINVAL);
    assert_int_equal(cq_stun_writer_len(&w), 20); /* nothing written by any of them */
    assert_int_equal(buf[2], 0);
    assert_int_equal(buf[3], 0);

    /* After MESSAGE-INTEGRITY only FINGERPRINT; after FINGERPRINT nothing. */
    assert_int_equal(cq_stun_add_message_integrity(&w, key, 1), 0);
    assert_int_equal(cq_stun_add_message_integrity(&w, key, 1), CQ_EBADSTATE);
    assert_int_equal(cq_stun_add_priority(&w, 1), CQ_EBADSTATE);
    assert_int_equal(cq_stun_add_attr(&w, 0x7000, NULL, 0), CQ_EBADSTATE);
    assert_int_equal(cq_stun_add_fingerprint(&w), 0);
    assert_int_equal(cq_stun_add_fingerprint(&w), CQ_EBADSTATE);
    assert_int_equal(cq_stun_add_software(&w, "x", 1), CQ_EBADSTATE);
    assert_int_equal(cq_stun_writer_len(&w), 20 + 24 + 8);

    /* The 16-bit length field caps a message even when the buffer is larger. */
    static uint8_t big[CQ_STUN_MAX_MESSAGE_SIZE + 64];
    static uint8_t value[0xFFFF];
    assert_int_equal(
        cq_stun_writer_init(&w, big, sizeof big, 1, CQ_STUN_CLASS_INDICATION, rfc5769_tid), 0);
    assert_int_equal(cq_stun_add_attr(&w, 0x8100, value, 0xFFFF - 3), CQ_ENOBUFS);
    assert_int_equal(cq_stun_add_attr(&w, 0x8100, value, 0xFFFC - 4), 0);
    assert_int_equal(cq_stun_writer_len(&w), CQ_STUN_MAX_MESSAGE_SIZE);
    assert_int_equal(cq_stun_add_use_candidate(&w), CQ_ENOBUFS);
    cq_stun_view_t v;
    assert_int_equal(cq_stun_parse(big, CQ_STUN_MAX_MESSAGE_SIZE, &v), CQ_STUN_MAX_MESSAGE_SIZE);
}

static void test_stun_username_split_cases(void **state) {
    (void)state;
    const char *a = NULL, *b = NULL;
    size_t al = 0, bl = 0;
    assert_int_equal(cq_stun_username_split("ab:cd:ef", 8, &a, &al, &b, &bl), 0);
    assert_int_equal(al, 2);
    assert_int_equal(bl, 5); /* split at the first colon */
    assert_memory_equal(b, "cd:ef", 5);
    assert_int_equal(cq_stun_username_split("abcd", 4, &a, &al, &b, &bl), CQ_EMALFORMED);
    assert_int_equal(cq_stun_username_split(":abc", 4, &a, &al, &b, &bl), CQ_EMALFORMED);
    assert_int_equal(cq_stun_username_split("abc:", 4, &a, &al, &b, &bl), CQ_EMALFORMED);
    assert_int_equal(cq_stun_username_split("", 0, &a, &al, &b, &bl), CQ_EMALFORMED);
    assert_int_equal(al, 2); /* untouched on failure */
}

/* ---- Property: random messages built, parsed, checked --------------------------------- */

typedef struct {
    cq_stun_class_t cls;
    uint8_t tid[12];
    uint8_t pad;
    char username[CQ_STUN_MAX_USERNAME];
    size_t username_len;
    bool has_username;
    char software[64];
    size_t software_len;
    bool has_software;
    bool has_priority;
    uint32_t priority;
    int role; /* 0 none, 1 controlling, 2 controlled */
    uint64_t tie_breaker;
    bool use_candidate;
    bool has_address;
    cq_stun_addr_t address;
    uint16_t error_code;
    char reason[128];
    size_t reason_len;
    uint16_t unknown[12];
    size_t unknown_count;
    bool has_unknown;
    uint8_t key[100];
    size_t key_len;
    bool integrity;
    bool fingerprint;
} spec_t;

static void random_ice_chars(cq_test_rand_t *r, char *out, size_t n) {
    static const char ice[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < n; i++)
        out[i] = ice[cq_test_rand_below(r, 64)];
}

static void random_spec(cq_test_rand_t *r, spec_t *s) {
    memset(s, 0, sizeof *s);
    cq_test_rand_fill(r, s->tid, sizeof s->tid);
    s->pad = (uint8_t)(cq_test_rand_below(r, 2) ? 0 : cq_test_rand_u32(r));
    s->key_len = 1 + cq_test_rand_below(r, sizeof s->key);
    cq_test_rand_fill(r, s->key, s->key_len);
    s->integrity = cq_test_rand_below(r, 10) != 0;
    s->fingerprint = cq_test_rand_below(r, 10) != 0;
    s->has_software = cq_test_rand_below(r, 4) == 0;
    s->software_len = cq_test_rand_below(r, sizeof s->software);
    random_ice_chars(r, s->software, s->software_len);

    switch (cq_test_rand_below(r, 3)) {
    case 0: { /* a connectivity check like chasqui's client sends */
        s->cls = CQ_STUN_CLASS_REQUEST;
        size_t a = 4 + cq_test_rand_below(r, 29), b = 4 + cq_test_rand_below(r, 29);
        if (cq_test_rand_below(r, 20) == 0) /* sometimes any bytes, up to the limit */
            a = cq_test_rand_below(r, (uint32_t)(CQ_STUN_MAX_USERNAME - b));
        random_ice_chars(r, s->username, a);
        s->username[a] = ':';
        random_ice_chars(r, s->username + a + 1, b - 1);
        s->username_len = a + b;
        s->has_username = true;
        s->has_priority = cq_test_rand_below(r, 8) != 0;
        s->priority = cq_test_rand_u32(r);
        s->role = (int)cq_test_rand_below(r, 3);
        s->tie_breaker = cq_test_rand_u64(r);
        s->use_candidate = cq_test_rand_below(r, 2) != 0;
        break;
    }
    case 1: /* a success response */
        s->cls = CQ_STUN_CLASS_SUCCESS;
        s->has_address = true;
        s->address.family = cq_test_rand_below(r, 2) ? CQ_STUN_FAMILY_IPV4 : CQ_STUN_FAMILY_IPV6;
        s->address.port = (uint16_t)cq_test_rand_u32(r);
        cq_test_rand_fill(r, s->address.addr, s->address.family == CQ_STUN_FAMILY_IPV4 ? 4 : 16);
        break;
    default: /* an error response */
        s->cls = CQ_STUN_CLASS_ERROR;
        s->error_code = (uint16_t)(300 + cq_test_rand_below(r, 400));
        s->reason_len = cq_test_rand_below(r, sizeof s->reason);
        random_ice_chars(r, s->reason, s->reason_len);
        s->has_unknown = cq_test_rand_below(r, 3) == 0;
        s->unknown_count = cq_test_rand_below(r, 12);
        for (size_t i = 0; i < s->unknown_count; i++)
            s->unknown[i] = (uint16_t)cq_test_rand_u32(r);
        break;
    }
}

static int build_spec(const spec_t *s, uint8_t *buf, size_t cap, size_t *len) {
    cq_stun_writer_t w;
    int rc = cq_stun_writer_init(&w, buf, cap, CQ_STUN_METHOD_BINDING, s->cls, s->tid);
    w.pad = s->pad;
    if (rc == 0 && s->has_software)
        rc = cq_stun_add_software(&w, s->software, s->software_len);
    if (rc == 0 && s->has_username)
        rc = cq_stun_add_username(&w, s->username, s->username_len);
    if (rc == 0 && s->has_priority)
        rc = cq_stun_add_priority(&w, s->priority);
    if (rc == 0 && s->role == 1)
        rc = cq_stun_add_ice_controlling(&w, s->tie_breaker);
    if (rc == 0 && s->role == 2)
        rc = cq_stun_add_ice_controlled(&w, s->tie_breaker);
    if (rc == 0 && s->use_candidate)
        rc = cq_stun_add_use_candidate(&w);
    if (rc == 0 && s->has_address)
        rc = cq_stun_add_xor_mapped_address(&w, &s->address);
    if (rc == 0 && s->error_code)
        rc = cq_stun_add_error_code(&w, s->error_code, s->reason, s->reason_len);
    if (rc == 0 && s->has_unknown)
        rc = cq_stun_add_unknown_attributes(&w, s->unknown, s->unknown_count);
    if (rc == 0 && s->integrity)
        rc = cq_stun_add_message_integrity(&w, s->key, s->key_len);
    if (rc == 0 && s->fingerprint)
        rc = cq_stun_add_fingerprint(&w);
    *len = cq_stun_writer_len(&w);
    return rc;
}

/* Returns NULL when the view says what the spec built, else what differs. */
static const char *compare(const spec_t *s, const cq_stun_view_t *v, const uint8_t *m, size_t len) {
    uint32_t want = 0;
    want |= s->has_username ? CQ_STUN_HAS_USERNAME : 0;
    want |= s->has_software ? CQ_STUN_HAS_SOFTWARE : 0;
    want |= s->has_priority ? CQ_STUN_HAS_PRIORITY : 0;
    want |= s->role == 1 ? CQ_STUN_HAS_ICE_CONTROLLING : 0;
    want |= s->role == 2 ? CQ_STUN_HAS_ICE_CONTROLLED : 0;
    want |= s->use_candidate ? CQ_STUN_HAS_USE_CANDIDATE : 0;
    want |= s->has_address ? CQ_STUN_HAS_XOR_MAPPED_ADDRESS : 0;
    want |= s->error_code ? CQ_STUN_HAS_ERROR_CODE : 0;
    want |= s->has_unknown ? CQ_STUN_HAS_UNKNOWN_ATTRIBUTES : 0;
    want |= s->integrity ? CQ_STUN_HAS_MESSAGE_INTEGRITY : 0;
    want |= s->fingerprint ? CQ_STUN_HAS_FINGERPRINT : 0;
    if (v->attrs != want)
        return "attribute set";
    if (v->method != CQ_STUN_METHOD_BINDING || v->cls != s->cls || v->len != len)
        return "header";
    if (memcmp(v->tid, s->tid, 12) != 0)
        return "transaction id";
    if (s->has_username &&
        (v->username_len != s->username_len || memcmp(v->username, s->username, s->username_len)))
        return "username";
    if (s->has_software &&
        (v->software_len != s->software_len || memcmp(v->software, s->software, s->software_len)))
        return "software";
    if (s->has_priority && v->priority != s->priority)
        return "priority";
    if (s->role && v->tie_breaker != s->tie_breaker)
        return "tie-breaker";
    if (s->has_address && (v->xor_mapped_address.family != s->address.family ||
                           v->xor_mapped_address.port != s->address.port ||
                           memcmp(v->xor_mapped_address.addr, s->address.addr, 16) != 0))
        return "address";
    if (s->error_code && (v->error_code != s->error_code || v->error_reason_len != s->reason_len ||
                          memcmp(v->error_reason, s->reason, s->reason_len) != 0))
        return "error code";
    if (s->has_unknown) {
        if (v->unknown_attributes_count != s->unknown_count)
            return "unknown attributes count";
        for (unsigned i = 0; i < s->unknown_count; i++)
            if (cq_stun_view_unknown_attribute(v, i) != s->unknown[i])
                return "unknown attributes";
    }
    if (v->unknown_required_count != 0)
        return "unknown required";
    if (s->integrity) {
        if (cq_stun_check_integrity(m, len, v, s->key, s->key_len) != 0)
            return "integrity";
        uint8_t wrong[100];
        memcpy(wrong, s->key, s->key_len);
        wrong[s->key_len - 1] ^= 1;
        if (cq_stun_check_integrity(m, len, v, wrong, s->key_len) != CQ_EAUTH)
            return "integrity under a wrong key";
    }
    if (s->fingerprint && cq_stun_check_fingerprint(m, len, v) != 0)
        return "fingerprint";
    return NULL;
}

static void test_stun_roundtrip_random_messages(void **state) {
    (void)state;
    const uint64_t seed = 8489;
    cq_test_rand_t r = {seed};
    static spec_t s;
    for (int i = 0; i < 5000; i++) {
        random_spec(&r, &s);
        uint8_t buf[1024];
        size_t len;
        int rc = build_spec(&s, buf, sizeof buf, &len);
        if (rc != 0)
            fail_msg("seed %" PRIu64 " iteration %d: build %d", seed, i, rc);
        cq_stun_view_t v;
        rc = cq_stun_parse(buf, len, &v);
        if (rc != (int)len)
            fail_msg("seed %" PRIu64 " iteration %d: parse %d", seed, i, rc);
        const char *diff = compare(&s, &v, buf, len);
        if (diff)
            fail_msg("seed %" PRIu64 " iteration %d: %s differs", seed, i, diff);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stun_crc32_check_value),
        cmocka_unit_test(test_stun_hmac_sha1_rfc2202),
        cmocka_unit_test(test_stun_hmac_sha1_matches_openssl),
        cmocka_unit_test(test_stun_parse_rfc5769_request),
        cmocka_unit_test(test_stun_parse_rfc5769_ipv4_response),
        cmocka_unit_test(test_stun_parse_rfc5769_ipv6_response),
        cmocka_unit_test(test_stun_parse_rfc5769_long_term),
        cmocka_unit_test(test_stun_write_rfc5769_request),
        cmocka_unit_test(test_stun_write_rfc5769_ipv4_response),
        cmocka_unit_test(test_stun_write_rfc5769_ipv6_response),
        cmocka_unit_test(test_stun_write_rfc5769_long_term),
        cmocka_unit_test(test_stun_check_integrity_every_flipped_byte),
        cmocka_unit_test(test_stun_check_fingerprint_every_flipped_byte),
        cmocka_unit_test(test_stun_check_rejects_mismatched_view),
        cmocka_unit_test(test_stun_parse_truncated_every_length),
        cmocka_unit_test(test_stun_parse_header_length_cut_every_word),
        cmocka_unit_test(test_stun_parse_header_errors),
        cmocka_unit_test(test_stun_parse_attribute_overrun),
        cmocka_unit_test(test_stun_parse_integrity_and_fingerprint_placement),
        cmocka_unit_test(test_stun_parse_ignores_attributes_after_integrity),
        cmocka_unit_test(test_stun_parse_unknown_required_reported),
        cmocka_unit_test(test_stun_parse_attribute_values_checked),
        cmocka_unit_test(test_stun_parse_first_occurrence_wins),
        cmocka_unit_test(test_stun_type_encoding),
        cmocka_unit_test(test_stun_write_error_responses),
        cmocka_unit_test(test_stun_write_enobufs_every_capacity),
        cmocka_unit_test(test_stun_write_state_and_value_errors),
        cmocka_unit_test(test_stun_username_split_cases),
        cmocka_unit_test(test_stun_roundtrip_random_messages),
    };
    return cmocka_run_group_tests_name("rtp/stun", tests, NULL, NULL);
}
