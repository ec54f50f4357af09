#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "relay/udp.h"
#include "rtp/error.h"

/* Loopback only, port 0 everywhere: tests must not collide with each other or a relay. */

static cq_udp_sendq_t sendq; /* ~55 KiB: static, not on the test's stack */

static void open_loopback(cq_udp_t *u, const char *host) {
    assert_int_equal(cq_udp_open(u, host, 0, 0, 0), 0);
    assert_true(u->fd >= 0);
}

/* Receives until n datagrams arrived or a bounded number of empty polls passed (loopback
 * delivers synchronously, so the bound is never reached when the code is right). */
static unsigned recv_n(cq_udp_t *u, cq_udp_dgram_t *msgs, uint8_t (*bufs)[2048], unsigned n) {
    unsigned got = 0;
    for (int tries = 0; got < n && tries < 1000; tries++) {
        for (unsigned i = got; i < n; i++) {
            msgs[i].data = bufs[i];
            msgs[i].cap = sizeof bufs[i];
        }
        int r = cq_udp_recv(u, msgs + got, n - got);
        assert_true(r >= 0);
        got += (unsigned)r;
    }
    return got;
}

static void test_udp_sendq_flush_batches_to_peer(void **state) {
    (void)state;
    cq_udp_t a, b;
    open_loopback(&a, "127.0.0.1");
    open_loopback(&b, "127.0.0.1");
    cq_udp_addr_t to;
    assert_int_equal(cq_udp_addr_parse(&to, "127.0.0.1", (uint16_t)cq_udp_local_port(&b)), 0);

    cq_udp_sendq_init(&sendq, &a);
    for (unsigned i = 0; i < 10; i++) {
        uint8_t *slot = cq_udp_sendq_slot(&sendq);
        memset(slot, (int)i, 100 + i);
        assert_int_equal(cq_udp_sendq_commit(&sendq, 100 + i, &to), 0);
    }
    assert_int_equal(sendq.count, 10);
    assert_int_equal(cq_udp_sendq_flush(&sendq), 10);
    assert_int_equal(sendq.count, 0);
    assert_int_equal(sendq.sent, 10);

    cq_udp_dgram_t msgs[CQ_UDP_BATCH];
    static uint8_t bufs[CQ_UDP_BATCH][2048];
    assert_int_equal(recv_n(&b, msgs, bufs, 10), 10);
    for (unsigned i = 0; i < 10; i++) {
        assert_int_equal(msgs[i].len, 100 + i);
        assert_false(msgs[i].truncated);
        assert_int_equal(msgs[i].data[0], i);
        assert_int_equal(msgs[i].data[msgs[i].len - 1], i);
        assert_int_equal(msgs[i].from.family, 4);
        assert_int_equal(msgs[i].from.port, cq_udp_local_port(&a));
    }
    /* Nothing more waits: a non-blocking receive says so with 0, not an error. */
    msgs[0].data = bufs[0];
    msgs[0].cap = sizeof bufs[0];
    assert_int_equal(cq_udp_recv(&b, msgs, 1), 0);
    cq_udp_close(&a);
    cq_udp_close(&b);
    cq_udp_close(&a); /* closing twice is harmless */
}

/* More than a batch: asking for a slot on a full queue flushes it first. */
static void test_udp_sendq_slot_flushes_when_full(void **state) {
    (void)state;
    cq_udp_t a, b;
    open_loopback(&a, "127.0.0.1");
    open_loopback(&b, "127.0.0.1");
    cq_udp_addr_t to;
    assert_int_equal(cq_udp_addr_parse(&to, "127.0.0.1", (uint16_t)cq_udp_local_port(&b)), 0);
    cq_udp_sendq_init(&sendq, &a);
    for (unsigned i = 0; i < CQ_UDP_BATCH + 5; i++) {
        uint8_t *slot = cq_udp_sendq_slot(&sendq);
        slot[0] = (uint8_t)i;
        assert_int_equal(cq_udp_sendq_commit(&sendq, 1, &to), 0);
    }
    assert_int_equal(sendq.count, 5);
    assert_int_equal(sendq.sent, CQ_UDP_BATCH);
    cq_udp_sendq_flush(&sendq);

    cq_udp_dgram_t msgs[CQ_UDP_BATCH];
    static uint8_t bufs[CQ_UDP_BATCH][2048];
    assert_int_equal(recv_n(&b, msgs, bufs, CQ_UDP_BATCH), CQ_UDP_BATCH);
    assert_int_equal(recv_n(&b, msgs, bufs, 5), 5);
    assert_int_equal(msgs[4].data[0], CQ_UDP_BATCH + 4);
    cq_udp_close(&a);
    cq_udp_close(&b);
}

/* A datagram the kernel refuses (port 0 is not a destination) is skipped and counted;
 * the datagrams around it still go out in the same flush. */
static void test_udp_sendq_flush_skips_refused_datagram(void **state) {
    (void)state;
    cq_udp_t a, b;
    open_loopback(&a, "127.0.0.1");
    open_loopback(&b, "127.0.0.1");
    cq_udp_addr_t good, bad;
    assert_int_equal(cq_udp_addr_parse(&good, "127.0.0.1", (uint16_t)cq_udp_local_port(&b)), 0);
    assert_int_equal(cq_udp_addr_parse(&bad, "127.0.0.1", 0), 0);
    cq_udp_sendq_init(&sendq, &a);
    const cq_udp_addr_t *order[3] = {&good, &bad, &good};
    for (unsigned i = 0; i < 3; i++) {
        cq_udp_sendq_slot(&sendq)[0] = (uint8_t)i;
        assert_int_equal(cq_udp_sendq_commit(&sendq, 1, order[i]), 0);
    }
    assert_int_equal(cq_udp_sendq_flush(&sendq), 2);
    assert_int_equal(sendq.dropped_error, 1);
    assert_true(sendq.last_error < 0);

    cq_udp_dgram_t msgs[2];
    static uint8_t bufs[2][2048];
    assert_int_equal(recv_n(&b, msgs, bufs, 2), 2);
    assert_int_equal(msgs[0].data[0], 0);
    assert_int_equal(msgs[1].data[0], 2);
    cq_udp_close(&a);
    cq_udp_close(&b);
}

static void test_udp_recv_reports_truncation(void **state) {
    (void)state;
    cq_udp_t a, b;
    open_loopback(&a, "127.0.0.1");
    open_loopback(&b, "127.0.0.1");
    cq_udp_addr_t to;
    assert_int_equal(cq_udp_addr_parse(&to, "127.0.0.1", (uint16_t)cq_udp_local_port(&b)), 0);
    uint8_t big[300] = {0};
    assert_int_equal(cq_udp_send_one(&a, big, sizeof big, &to), 0);
    uint8_t small[100];
    cq_udp_dgram_t m = {.data = small, .cap = sizeof small};
    int r = 0;
    for (int tries = 0; r == 0 && tries < 1000; tries++)
        r = cq_udp_recv(&b, &m, 1);
    assert_int_equal(r, 1);
    assert_true(m.truncated);
    cq_udp_close(&a);
    cq_udp_close(&b);
}

/* The default socket serves IPv4 and IPv6 peers; IPv4 peers appear in canonical form (not
 * v4-mapped), so a peer's address is the same whichever family's socket saw it. */
static void test_udp_dual_stack_normalises_ipv4(void **state) {
    (void)state;
    cq_udp_t relay, v4, v6;
    open_loopback(&relay, "::");
    if (!relay.ipv6) {
        cq_udp_close(&relay);
        skip(); /* a kernel without IPv6: cq_udp_open fell back to IPv4, as it should */
    }
    open_loopback(&v4, "127.0.0.1");
    uint16_t port = (uint16_t)cq_udp_local_port(&relay);
    cq_udp_addr_t to4, to6;
    assert_int_equal(cq_udp_addr_parse(&to4, "127.0.0.1", port), 0);
    assert_int_equal(cq_udp_send_one(&v4, (const uint8_t *)"v4", 2, &to4), 0);

    cq_udp_dgram_t msgs[2];
    static uint8_t bufs[2][2048];
    assert_int_equal(recv_n(&relay, msgs, bufs, 1), 1);
    assert_int_equal(msgs[0].from.family, 4);
    assert_int_equal(msgs[0].from.port, cq_udp_local_port(&v4));
    cq_udp_addr_t back;
    assert_int_equal(cq_udp_addr_parse(&back, "127.0.0.1", (uint16_t)cq_udp_local_port(&v4)), 0);
    assert_true(cq_udp_addr_equal(&msgs[0].from, &back));

    /* Answer through the dual-stack socket's send queue. */
    cq_udp_sendq_init(&sendq, &relay);
    memcpy(cq_udp_sendq_slot(&sendq), "ok", 2);
    assert_int_equal(cq_udp_sendq_commit(&sendq, 2, &msgs[0].from), 0);
    assert_int_equal(cq_udp_sendq_flush(&sendq), 1);
    assert_int_equal(recv_n(&v4, msgs, bufs, 1), 1);
    assert_memory_equal(msgs[0].data, "ok", 2);

    if (cq_udp_open(&v6, "::1", 0, 0, 0) == 0) {
        assert_int_equal(cq_udp_addr_parse(&to6, "::1", port), 0);
        assert_int_equal(cq_udp_send_one(&v6, (const uint8_t *)"v6", 2, &to6), 0);
        assert_int_equal(recv_n(&relay, msgs, bufs, 1), 1);
        assert_int_equal(msgs[0].from.family, 6);
        assert_int_equal(msgs[0].from.ip[15], 1);
        cq_udp_close(&v6);
    }
    cq_udp_close(&v4);
    cq_udp_close(&relay);
}

static void test_udp_sendq_commit_rejects_unreachable_family(void **state) {
    (void)state;
    cq_udp_t a;
    open_loopback(&a, "127.0.0.1");
    cq_udp_addr_t v6;
    assert_int_equal(cq_udp_addr_parse(&v6, "2001:db8::1", 5000), 0);
    cq_udp_sendq_init(&sendq, &a);
    cq_udp_sendq_slot(&sendq);
    assert_int_equal(cq_udp_sendq_commit(&sendq, 10, &v6), CQ_EINVAL);
    assert_int_equal(cq_udp_sendq_commit(&sendq, CQ_UDP_SLOT_SIZE + 1, &v6), CQ_EINVAL);
    assert_int_equal(sendq.count, 0);
    assert_int_equal(cq_udp_send_one(&a, (const uint8_t *)"x", 1, &v6), CQ_EINVAL);
    cq_udp_close(&a);
}

static void test_udp_open_rejects_bad_host_and_sets_buffers(void **state) {
    (void)state;
    cq_udp_t u;
    assert_int_equal(cq_udp_open(&u, "not-an-address", 0, 0, 0), CQ_EINVAL);
    assert_int_equal(u.fd, -1);
    assert_int_equal(cq_udp_open(&u, "127.0.0.1", 0, 1 << 20, 1 << 20), 0);
    int rcv = 0, snd = 0;
    assert_int_equal(cq_udp_buffer_sizes(&u, &rcv, &snd), 0);
    /* Granted sizes depend on privileges and sysctls, but never fall below the default
     * (and Linux reports double what was set, for its bookkeeping). */
    assert_true(rcv >= 200000);
    assert_true(snd >= 200000);
    cq_udp_close(&u);
}

static void test_udp_addr_parse_format_equal_hash(void **state) {
    (void)state;
    cq_udp_addr_t a, b, c;
    char buf[CQ_UDP_ADDR_STRLEN];
    assert_int_equal(cq_udp_addr_parse(&a, "192.0.2.7", 40000), 0);
    assert_string_equal(cq_udp_addr_format(&a, buf, sizeof buf), "192.0.2.7:40000");
    /* A v4-mapped IPv6 literal is the same peer as the IPv4 address. */
    assert_int_equal(cq_udp_addr_parse(&b, "::ffff:192.0.2.7", 40000), 0);
    assert_true(cq_udp_addr_equal(&a, &b));
    assert_int_equal(cq_udp_addr_hash(&a), cq_udp_addr_hash(&b));
    b.port = 40001;
    assert_false(cq_udp_addr_equal(&a, &b));
    assert_int_equal(cq_udp_addr_parse(&c, "2001:db8::7", 40000), 0);
    assert_string_equal(cq_udp_addr_format(&c, buf, sizeof buf), "[2001:db8::7]:40000");
    assert_false(cq_udp_addr_equal(&a, &c));
    assert_int_equal(cq_udp_addr_parse(&c, "300.1.1.1", 1), CQ_EINVAL);

    /* Consecutive NAT ports must spread over a table's low bits. */
    unsigned seen = 0;
    for (uint16_t p = 0; p < 64; p++) {
        a.port = (uint16_t)(50000 + p);
        seen |= 1u << (cq_udp_addr_hash(&a) & 31);
    }
    assert_true(__builtin_popcount(seen) >= 24);

    struct sockaddr_storage ss;
    assert_int_equal(cq_udp_addr_to_sockaddr(&c, false, &ss), 0); /* v6 on a v4 socket */
    socklen_t len = cq_udp_addr_to_sockaddr(&a, true, &ss);
    assert_true(len > 0);
    assert_int_equal(cq_udp_addr_from_sockaddr(&b, (struct sockaddr *)&ss, len), 0);
    assert_true(cq_udp_addr_equal(&a, &b));
    assert_int_equal(cq_udp_addr_from_sockaddr(&b, (struct sockaddr *)&ss, 4), CQ_EINVAL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_udp_sendq_flush_batches_to_peer),
        cmocka_unit_test(test_udp_sendq_slot_flushes_when_full),
        cmocka_unit_test(test_udp_sendq_flush_skips_refused_datagram),
        cmocka_unit_test(test_udp_recv_reports_truncation),
        cmocka_unit_test(test_udp_dual_stack_normalises_ipv4),
        cmocka_unit_test(test_udp_sendq_commit_rejects_unreachable_family),
        cmocka_unit_test(test_udp_open_rejects_bad_host_and_sets_buffers),
        cmocka_unit_test(test_udp_addr_parse_format_equal_hash),
    };
    return cmocka_run_group_tests_name("relay/udp", tests, NULL, NULL);
}
