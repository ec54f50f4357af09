/*
 * One worker's UDP socket, read and written in batches.
 *
 * On the machines chasqui runs on a system call costs about a microsecond, as much as the
 * SRTP work on a packet, so the relay never sends or receives one datagram per call:
 * recvmmsg fills up to a batch of caller-owned buffers, and forwarded copies are queued in
 * a send queue whose scratch slots are sent with one sendmmsg. (libuv 1.44's
 * uv_udp_try_send sends one datagram per call, which halves what a core forwards, so the
 * worker polls the socket's fd with uv_poll_t and uses this module instead.)
 *
 * The socket is dual-stack: bound to [::] with IPV6_V6ONLY off, IPv4 peers appear as
 * v4-mapped addresses. Where the kernel has no IPv6, it falls back to an IPv4 socket.
 * Addresses handed out by this module are normalised (see cq_udp_addr_t) so that the
 * same peer always compares equal whichever socket family saw it.
 *
 * Nothing here allocates after cq_udp_sendq_init; nothing here logs. Errors are returned
 * and counted by the caller.
 */
#ifndef CQ_RELAY_UDP_H
#define CQ_RELAY_UDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Datagrams per recvmmsg/sendmmsg call. 32 captures most of the gain (measured for
 * DESIGN.md: 3-4x over one call per datagram) while keeping a batch's latency small. */
#define CQ_UDP_BATCH 32

/* Largest datagram the relay accepts or sends: an Ethernet MTU less IPv4 and UDP headers.
 * Larger datagrams are truncated by the kernel and dropped as such. */
#define CQ_UDP_MAX_DATAGRAM 1472

/* A peer's transport address in one canonical form: IPv4 as 4 bytes (never v4-mapped),
 * IPv6 as 16. Plain value: compare with cq_udp_addr_equal, hash with cq_udp_addr_hash. */
typedef struct {
    uint8_t family; /* 4 or 6; 0 when unset */
    uint16_t port;  /* host order */
    uint8_t ip[16]; /* first 4 bytes for IPv4, rest zero */
} cq_udp_addr_t;

typedef struct {
    int fd;
    bool ipv6; /* the socket is AF_INET6 (dual-stack) */
} cq_udp_t;

/* One datagram of a receive batch. The caller points data/cap at its buffer before the
 * call; cq_udp_recv fills len, truncated and from. */
typedef struct {
    uint8_t *data;
    size_t cap;
    size_t len;
    bool truncated; /* the datagram was larger than cap: drop it */
    cq_udp_addr_t from;
} cq_udp_dgram_t;

/*
 * Opens a non-blocking UDP socket bound to host:port ("::" or NULL for every address of
 * both families, "0.0.0.0" for IPv4 only, or a literal address; port 0 picks a free one)
 * with receive and send buffers of at least the given sizes (0 keeps the kernel's; the
 * kernel may cap them at net.core.rmem_max/wmem_max: cq_udp_buffer_sizes tells what was
 * granted). Returns 0 or a negated errno (CQ_EINVAL for an unparsable host).
 */
int cq_udp_open(cq_udp_t *u, const char *host, uint16_t port, int rcvbuf, int sndbuf);

/* Closes the socket; safe on a closed or never-opened (fd -1) cq_udp_t. */
void cq_udp_close(cq_udp_t *u);

/* The locally bound port (useful after binding port 0), or a negated errno. */
int cq_udp_local_port(const cq_udp_t *u);

/* The receive and send buffer sizes the kernel granted. Returns 0 or a negated errno. */
int cq_udp_buffer_sizes(const cq_udp_t *u, int *rcvbuf, int *sndbuf);

/*
 * Receives up to n (<= CQ_UDP_BATCH) datagrams into msgs[0..n) with one recvmmsg.
 * Returns the number received (0 when nothing is waiting: the socket is non-blocking),
 * or a negated errno for a socket error (ECONNREFUSED-style ICMP errors on an unconnected
 * socket are not reported by Linux, so any error here is worth logging).
 */
int cq_udp_recv(cq_udp_t *u, cq_udp_dgram_t *msgs, unsigned n);

/* A send queue: up to CQ_UDP_BATCH datagrams in its own scratch slots, flushed with one
 * sendmmsg. The caller writes a datagram straight into a reserved slot (rewrites the
 * header, protects it with SRTP in place), then commits it with its destination. */
typedef struct cq_udp_sendq cq_udp_sendq_t;

/* Scratch room per slot: the largest datagram plus headroom for an SRTP trailer written
 * past it during protect (libsrtp2 writes at most SRTP_MAX_TRAILER_LEN = 16 + 128). */
#define CQ_UDP_SLOT_SIZE 1664

struct cq_udp_sendq {
    cq_udp_t *udp;
    unsigned count; /* committed, not yet sent */
    /* What a flush could not send: dropped (real-time media that waited would be late)
     * and counted. */
    uint64_t sent, dropped_full, dropped_error;
    int last_error; /* negated errno of the last failed datagram, for the log line */
    struct mmsghdr msgs[CQ_UDP_BATCH];
    struct iovec iov[CQ_UDP_BATCH];
    struct sockaddr_storage to[CQ_UDP_BATCH];
    _Alignas(64) uint8_t slots[CQ_UDP_BATCH][CQ_UDP_SLOT_SIZE];
};

/* Prepares q to send on u. q is caller-owned (it is ~55 KiB: keep it in the worker, not on
 * a small stack). */
void cq_udp_sendq_init(cq_udp_sendq_t *q, cq_udp_t *u);

/* The scratch slot the next committed datagram uses (CQ_UDP_SLOT_SIZE bytes). If the queue
 * is full it is flushed first, so a slot is always available. */
uint8_t *cq_udp_sendq_slot(cq_udp_sendq_t *q);

/* Queues the datagram written into the slot returned by the last cq_udp_sendq_slot, of
 * len bytes (<= CQ_UDP_MAX_DATAGRAM + trailer room), for addr. Returns 0, or CQ_EINVAL
 * for a length beyond the slot or an address the socket cannot reach (an IPv6 peer on an
 * IPv4-only socket): nothing is queued then. */
int cq_udp_sendq_commit(cq_udp_sendq_t *q, size_t len, const cq_udp_addr_t *addr);

/*
 * Sends everything queued with as few sendmmsg calls as the kernel allows. A datagram
 * the kernel refuses (an unroutable address) is skipped and counted in dropped_error;
 * when the socket buffer is full (EAGAIN) the rest of the queue is dropped and counted in
 * dropped_full. The queue is empty afterwards. Returns the number sent by this call.
 */
unsigned cq_udp_sendq_flush(cq_udp_sendq_t *q);

/* Sends one datagram now, outside any queue (STUN answers, RTCP on timers). Returns 0 or
 * a negated errno (-EAGAIN when the socket buffer is full). */
int cq_udp_send_one(cq_udp_t *u, const uint8_t *data, size_t len, const cq_udp_addr_t *to);

/* Address helpers. */
bool cq_udp_addr_equal(const cq_udp_addr_t *a, const cq_udp_addr_t *b);
uint32_t cq_udp_addr_hash(const cq_udp_addr_t *a);
/* Parses a literal "1.2.3.4" or "::1" and a port into *a. Returns 0 or CQ_EINVAL. */
int cq_udp_addr_parse(cq_udp_addr_t *a, const char *ip, uint16_t port);
/* Formats "1.2.3.4:5" or "[::1]:5" into buf (NUL-terminated, truncated to cap). Returns
 * buf, so it can sit in a log call. */
const char *cq_udp_addr_format(const cq_udp_addr_t *a, char *buf, size_t cap);
/* Converts between the canonical form and a sockaddr for a socket of the given family
 * (v6 sockets take v4-mapped addresses). to_sockaddr returns the length, or 0 when the
 * socket cannot reach the address. */
socklen_t cq_udp_addr_to_sockaddr(const cq_udp_addr_t *a, bool ipv6_socket,
                                  struct sockaddr_storage *ss);
int cq_udp_addr_from_sockaddr(cq_udp_addr_t *a, const struct sockaddr *sa, socklen_t len);

/* Room for "[ffff:...:ffff]:65535" and a NUL. */
#define CQ_UDP_ADDR_STRLEN 56

#endif
