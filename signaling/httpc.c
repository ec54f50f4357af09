#include "signaling/httpc.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "rtp/error.h"

/* Responses larger than this are not the API's. */
#define MAX_RESPONSE (8 * 1024 * 1024)

int cq_httpc_url_parse(const char *url, cq_httpc_url_t *out) {
    static const char scheme[] = "http://";
    if (strncmp(url, scheme, sizeof scheme - 1) != 0)
        return CQ_EINVAL;
    const char *p = url + sizeof scheme - 1, *host_end;
    const char *rest;
    if (*p == '[') {
        host_end = strchr(p, ']');
        if (host_end == NULL)
            return CQ_EINVAL;
        p++;
        rest = host_end + 1;
    } else {
        host_end = p + strcspn(p, ":/");
        rest = host_end;
    }
    size_t n = (size_t)(host_end - p);
    if (n == 0 || n > CQ_HTTPC_HOST_MAX)
        return CQ_EINVAL;
    unsigned long port = 80;
    if (*rest == ':') {
        char *end;
        port = strtoul(rest + 1, &end, 10);
        if (end == rest + 1 || port == 0 || port > 65535)
            return CQ_EINVAL;
        rest = end;
    }
    if (!(*rest == '\0' || (rest[0] == '/' && rest[1] == '\0')))
        return CQ_EINVAL;
    memcpy(out->host, p, n);
    out->host[n] = '\0';
    out->port = (uint16_t)port;
    return 0;
}

int cq_httpc_response_parse(const char *data, size_t len, cq_httpc_response_t *res) {
    const char *end = memmem(data, len, "\r\n\r\n", 4);
    int major, minor, status;
    if (end == NULL || len < 12 || sscanf(data, "HTTP/%d.%d %3d", &major, &minor, &status) != 3 ||
        status < 100 || status > 599)
        return CQ_EMALFORMED;
    const char *body = end + 4;
    size_t body_len = len - (size_t)(body - data);
    /* Content-Length, if present, bounds the body; a body shorter than it was cut. */
    for (const char *line = memchr(data, '\n', (size_t)(end - data)); line && line < end;
         line = memchr(line + 1, '\n', (size_t)(end - line - 1))) {
        if (strncasecmp(line + 1, "content-length:", 15) == 0) {
            size_t cl = strtoul(line + 16, NULL, 10);
            if (cl > body_len)
                return CQ_EMALFORMED;
            body_len = cl;
        }
    }
    res->body = malloc(body_len + 1);
    if (res->body == NULL)
        return CQ_ENOMEM;
    memcpy(res->body, body, body_len);
    res->body[body_len] = '\0';
    res->body_len = body_len;
    res->status = status;
    return 0;
}

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for fd to be ready for events, until deadline_ms (now_ms's clock). The deadline is
 * the whole request's: a wait per step let a server that sent a byte a second hold a
 * request, and the operator at chasqui-ctl, for as long as it liked. */
static int wait_for(int fd, short events, int64_t deadline_ms) {
    int64_t left = deadline_ms - now_ms();
    if (left <= 0)
        return -ETIMEDOUT;
    struct pollfd p = {fd, events, 0};
    int n = poll(&p, 1, left > INT32_MAX ? INT32_MAX : (int)left);
    return n > 0 ? 0 : n == 0 ? -ETIMEDOUT : -errno;
}

static int connect_to(const cq_httpc_url_t *url, int64_t deadline_ms) {
    char port[8];
    snprintf(port, sizeof port, "%u", (unsigned)url->port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai;
    if (getaddrinfo(url->host, port, &hints, &ai) != 0)
        return CQ_ERESOLVE; /* a mistyped name is not a network that is down */
    int err = -ECONNREFUSED;
    for (struct addrinfo *a = ai; a != NULL; a = a->ai_next) {
        int fd = socket(a->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
            continue;
        if (connect(fd, a->ai_addr, a->ai_addrlen) == 0 ||
            (errno == EINPROGRESS && (err = wait_for(fd, POLLOUT, deadline_ms)) == 0)) {
            int so = 0;
            socklen_t sl = sizeof so;
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &so, &sl);
            if (so == 0) {
                freeaddrinfo(ai);
                return fd;
            }
            err = -so;
        } else if (errno != EINPROGRESS) {
            err = -errno;
        }
        close(fd);
    }
    freeaddrinfo(ai);
    return err;
}

int cq_httpc_request(const cq_httpc_url_t *url, const char *method, const char *path,
                     const char *authorization, const char *body, int timeout_ms,
                     cq_httpc_response_t *res) {
    int64_t deadline = now_ms() + timeout_ms;
    int fd = connect_to(url, deadline);
    if (fd < 0)
        return fd;
    size_t blen = body ? strlen(body) : 0;
    char head[1024];
    int n = snprintf(head, sizeof head,
                     "%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n%s%s%s"
                     "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
                     method, path, url->host, authorization ? "Authorization: " : "",
                     authorization ? authorization : "", authorization ? "\r\n" : "", blen);
    int err = 0;
    if (n < 0 || (size_t)n >= sizeof head)
        err = CQ_EINVAL;
    const char *parts[2] = {head, body};
    size_t lens[2] = {(size_t)(n > 0 ? n : 0), blen};
    for (int k = 0; k < 2 && err == 0; k++)
        for (size_t off = 0; off < lens[k] && err == 0;) {
            if ((err = wait_for(fd, POLLOUT, deadline)) != 0)
                break;
            ssize_t w = send(fd, parts[k] + off, lens[k] - off, MSG_NOSIGNAL);
            if (w < 0 && errno != EAGAIN)
                err = -errno;
            else if (w > 0)
                off += (size_t)w;
        }
    char *buf = NULL;
    size_t have = 0, cap = 0;
    while (err == 0) {
        if (have == cap) {
            cap = cap ? cap * 2 : 16384;
            char *grown = cap <= MAX_RESPONSE ? realloc(buf, cap) : NULL;
            if (grown == NULL) {
                err = CQ_ENOMEM;
                break;
            }
            buf = grown;
        }
        if ((err = wait_for(fd, POLLIN, deadline)) != 0)
            break;
        ssize_t r = recv(fd, buf + have, cap - have, 0);
        if (r == 0)
            break;
        if (r < 0) {
            if (errno != EAGAIN)
                err = -errno;
            continue;
        }
        have += (size_t)r;
    }
    close(fd);
    if (err == 0)
        err = cq_httpc_response_parse(buf ? buf : "", have, res);
    free(buf);
    return err;
}
