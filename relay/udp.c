#include "relay/udp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "rtp/error.h"

static const uint8_t v4_mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

static int set_buffer(int fd, int opt, int force_opt, int size) {
    if (size <= 0)
        return 0;
    /* A relay's receive buffer must absorb a burst of every participant's video while the
     * worker is busy: with CAP_NET_ADMIN the FORCE option goes past net.core.rmem_max;
     * without it the kernel caps the request at that maximum, and the caller reads back
     * what was granted (docs/OPERATOR.md says how to raise the sysctl). */
    if (setsockopt(fd, SOL_SOCKET, force_opt, &size, sizeof size) == 0)
        return 0;
    if (setsockopt(fd, SOL_SOCKET, opt, &size, sizeof size) != 0)
        return -errno;
    return 0;
}

static int open_family(cq_udp_t *u, int family, const struct sockaddr *sa, socklen_t len,
                       int rcvbuf, int sndbuf) {
    int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int err = 0;
    if (family == AF_INET6) {
        int off = 0;
        /* Dual stack only when bound to the wildcard; a literal IPv6 address stays v6. */
        if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off) != 0) {
            err = -errno;
            goto fail;
        }
    }
    if ((err = set_buffer(fd, SO_RCVBUF, SO_RCVBUFFORCE, rcvbuf)) != 0 ||
        (err = set_buffer(fd, SO_SNDBUF, SO_SNDBUFFORCE, sndbuf)) != 0)
        goto fail;
    if (bind(fd, sa, len) != 0) {
        err = -errno;
        goto fail;
    }
    u->fd = fd;
    u->ipv6 = family == AF_INET6;
    return 0;
fail:
    close(fd);
    return err;
}

int cq_udp_open(cq_udp_t *u, const char *host, uint16_t port, int rcvbuf, int sndbuf) {
    u->fd = -1;
    u->ipv6 = false;
    struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6, .sin6_port = htons(port)};
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(port)};

    if (host == NULL || strcmp(host, "::") == 0) {
        sin6.sin6_addr = in6addr_any;
        int err = open_family(u, AF_INET6, (struct sockaddr *)&sin6, sizeof sin6, rcvbuf, sndbuf);
        if (err != -EAFNOSUPPORT && err != -EADDRNOTAVAIL)
            return err;
        /* No IPv6 in this kernel: serve IPv4 alone rather than not at all. */
        sin.sin_addr.s_addr = htonl(INADDR_ANY);
        return open_family(u, AF_INET, (struct sockaddr *)&sin, sizeof sin, rcvbuf, sndbuf);
    }
    if (inet_pton(AF_INET, host, &sin.sin_addr) == 1)
        return open_family(u, AF_INET, (struct sockaddr *)&sin, sizeof sin, rcvbuf, sndbuf);
    if (inet_pton(AF_INET6, host, &sin6.sin6_addr) == 1)
        return open_family(u, AF_INET6, (struct sockaddr *)&sin6, sizeof sin6, rcvbuf, sndbuf);
    return CQ_EINVAL;
}

void cq_udp_close(cq_udp_t *u) {
    if (u->fd >= 0)
        close(u->fd);
    u->fd = -1;
}

int cq_udp_local_port(const cq_udp_t *u) {
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(u->fd, (struct sockaddr *)&ss, &len) != 0)
        return -errno;
    cq_udp_addr_t a;
    int err = cq_udp_addr_from_sockaddr(&a, (struct sockaddr *)&ss, len);
    return err < 0 ? err : a.port;
}

int cq_udp_buffer_sizes(const cq_udp_t *u, int *rcvbuf, int *sndbuf) {
    socklen_t len = sizeof *rcvbuf;
    if (getsockopt(u->fd, SOL_SOCKET, SO_RCVBUF, rcvbuf, &len) != 0)
        return -errno;
    len = sizeof *sndbuf;
    if (getsockopt(u->fd, SOL_SOCKET, SO_SNDBUF, sndbuf, &len) != 0)
        return -errno;
    return 0;
}

int cq_udp_recv(cq_udp_t *u, cq_udp_dgram_t *msgs, unsigned n) {
    struct mmsghdr hdr[CQ_UDP_BATCH];
    struct iovec iov[CQ_UDP_BATCH];
    struct sockaddr_storage from[CQ_UDP_BATCH];
    if (n > CQ_UDP_BATCH)
        n = CQ_UDP_BATCH;
    for (unsigned i = 0; i < n; i++) {
        iov[i] = (struct iovec){.iov_base = msgs[i].data, .iov_len = msgs[i].cap};
        hdr[i].msg_hdr = (struct msghdr){
            .msg_name = &from[i],
            .msg_namelen = sizeof from[i],
            .msg_iov = &iov[i],
            .msg_iovlen = 1,
        };
        hdr[i].msg_len = 0;
    }
    int got;
    do {
        got = recvmmsg(u->fd, hdr, n, MSG_DONTWAIT, NULL);
    } while (got < 0 && errno == EINTR);
    if (got < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
    for (int i = 0; i < got; i++) {
        msgs[i].len = hdr[i].msg_len;
        msgs[i].truncated = (hdr[i].msg_hdr.msg_flags & MSG_TRUNC) != 0;
        if (cq_udp_addr_from_sockaddr(&msgs[i].from, (struct sockaddr *)&from[i],
                                      hdr[i].msg_hdr.msg_namelen) != 0)
            msgs[i].truncated = true; /* an address we cannot name: treat as unusable */
    }
    return got;
}

void cq_udp_sendq_init(cq_udp_sendq_t *q, cq_udp_t *u) {
    memset(q, 0, offsetof(cq_udp_sendq_t, slots));
    q->udp = u;
}

uint8_t *cq_udp_sendq_slot(cq_udp_sendq_t *q) {
    if (q->count == CQ_UDP_BATCH)
        cq_udp_sendq_flush(q);
    return q->slots[q->count];
}

int cq_udp_sendq_commit(cq_udp_sendq_t *q, size_t len, const cq_udp_addr_t *addr) {
    if (q->count == CQ_UDP_BATCH || len > CQ_UDP_SLOT_SIZE)
        return CQ_EINVAL;
    unsigned i = q->count;
    socklen_t alen = cq_udp_addr_to_sockaddr(addr, q->udp->ipv6, &q->to[i]);
    if (alen == 0)
        return CQ_EINVAL;
    q->iov[i] = (struct iovec){.iov_base = q->slots[i], .iov_len = len};
    q->msgs[i].msg_hdr = (struct msghdr){
        .msg_name = &q->to[i],
        .msg_namelen = alen,
        .msg_iov = &q->iov[i],
        .msg_iovlen = 1,
    };
    q->count++;
    return 0;
}

unsigned cq_udp_sendq_flush(cq_udp_sendq_t *q) {
    unsigned done = 0, sent = 0;
    while (done < q->count) {
        int n = sendmmsg(q->udp->fd, &q->msgs[done], q->count - done, MSG_DONTWAIT);
        if (n > 0) {
            done += (unsigned)n;
            sent += (unsigned)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        int err = n < 0 ? errno : EIO;
        q->last_error = -err;
        if (err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS) {
            /* The socket buffer is full: what waits now would be late anyway. */
            q->dropped_full += q->count - done;
            break;
        }
        /* sendmmsg reports an error only when the first datagram fails: skip that one. */
        q->dropped_error++;
        done++;
    }
    q->sent += sent;
    q->count = 0;
    return sent;
}

int cq_udp_send_one(cq_udp_t *u, const uint8_t *data, size_t len, const cq_udp_addr_t *to) {
    struct sockaddr_storage ss;
    socklen_t alen = cq_udp_addr_to_sockaddr(to, u->ipv6, &ss);
    if (alen == 0)
        return CQ_EINVAL;
    ssize_t n;
    do {
        n = sendto(u->fd, data, len, MSG_DONTWAIT, (struct sockaddr *)&ss, alen);
    } while (n < 0 && errno == EINTR);
    return n < 0 ? -errno : 0;
}

bool cq_udp_addr_equal(const cq_udp_addr_t *a, const cq_udp_addr_t *b) {
    return a->family == b->family && a->port == b->port &&
           memcmp(a->ip, b->ip, a->family == 4 ? 4 : 16) == 0;
}

uint32_t cq_udp_addr_hash(const cq_udp_addr_t *a) {
    /* FNV-1a over the address bytes and port, then a final avalanche so that sequential
     * ports (NAT allocations) spread over an open-addressing table's low bits. */
    uint32_t h = 2166136261u;
    size_t n = a->family == 4 ? 4 : 16;
    for (size_t i = 0; i < n; i++)
        h = (h ^ a->ip[i]) * 16777619u;
    h = (h ^ (uint32_t)(a->port & 0xff)) * 16777619u;
    h = (h ^ (uint32_t)(a->port >> 8)) * 16777619u;
    h ^= h >> 16;
    h *= 0x7feb352du;
    h ^= h >> 15;
    return h;
}

int cq_udp_addr_parse(cq_udp_addr_t *a, const char *ip, uint16_t port) {
    cq_udp_addr_t r = {.port = port};
    if (inet_pton(AF_INET, ip, r.ip) == 1) {
        r.family = 4;
    } else if (inet_pton(AF_INET6, ip, r.ip) == 1) {
        r.family = 6;
        if (memcmp(r.ip, v4_mapped_prefix, 12) == 0) {
            memmove(r.ip, r.ip + 12, 4);
            memset(r.ip + 4, 0, 12);
            r.family = 4;
        }
    } else {
        return CQ_EINVAL;
    }
    *a = r;
    return 0;
}

const char *cq_udp_addr_format(const cq_udp_addr_t *a, char *buf, size_t cap) {
    char ip[INET6_ADDRSTRLEN] = "?";
    if (a->family == 4)
        inet_ntop(AF_INET, a->ip, ip, sizeof ip);
    else if (a->family == 6)
        inet_ntop(AF_INET6, a->ip, ip, sizeof ip);
    if (cap > 0)
        snprintf(buf, cap, a->family == 6 ? "[%s]:%u" : "%s:%u", ip, (unsigned)a->port);
    return buf;
}

socklen_t cq_udp_addr_to_sockaddr(const cq_udp_addr_t *a, bool ipv6_socket,
                                  struct sockaddr_storage *ss) {
    memset(ss, 0, sizeof *ss);
    if (ipv6_socket) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(a->port);
        if (a->family == 4) {
            memcpy(s6->sin6_addr.s6_addr, v4_mapped_prefix, 12);
            memcpy(s6->sin6_addr.s6_addr + 12, a->ip, 4);
        } else if (a->family == 6) {
            memcpy(s6->sin6_addr.s6_addr, a->ip, 16);
        } else {
            return 0;
        }
        return sizeof *s6;
    }
    if (a->family != 4)
        return 0;
    struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
    s4->sin_family = AF_INET;
    s4->sin_port = htons(a->port);
    memcpy(&s4->sin_addr.s_addr, a->ip, 4);
    return sizeof *s4;
}

int cq_udp_addr_from_sockaddr(cq_udp_addr_t *a, const struct sockaddr *sa, socklen_t len) {
    cq_udp_addr_t r = {0};
    if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)(const void *)sa;
        r.family = 4;
        r.port = ntohs(s4->sin_port);
        memcpy(r.ip, &s4->sin_addr.s_addr, 4);
    } else if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)(const void *)sa;
        r.port = ntohs(s6->sin6_port);
        if (memcmp(s6->sin6_addr.s6_addr, v4_mapped_prefix, 12) == 0) {
            r.family = 4;
            memcpy(r.ip, s6->sin6_addr.s6_addr + 12, 4);
        } else {
            r.family = 6;
            memcpy(r.ip, s6->sin6_addr.s6_addr, 16);
        }
    } else {
        return CQ_EINVAL;
    }
    *a = r;
    return 0;
}
