/*
 * A small blocking HTTP/1.1 client for chasqui-ctl and the telecentre client: one request
 * per connection (Connection: close), plain http:// only (the district server's API on
 * its own network), bounded waits throughout.
 */
#ifndef CQ_SIGNALING_HTTPC_H
#define CQ_SIGNALING_HTTPC_H

#include <stddef.h>
#include <stdint.h>

#define CQ_HTTPC_HOST_MAX 255

typedef struct {
    char host[CQ_HTTPC_HOST_MAX + 1]; /* a name, an IPv4 address, or IPv6 without brackets */
    uint16_t port;
} cq_httpc_url_t;

/* Parses "http://host[:port][/]" ("[::1]" for IPv6; port 80 when absent). Returns 0 or
 * CQ_EINVAL (another scheme, a path, a bad port, a host too long). */
int cq_httpc_url_parse(const char *url, cq_httpc_url_t *out);

typedef struct {
    int status;
    char *body; /* malloc'd, NUL-terminated (free it); "" when there is none */
    size_t body_len;
} cq_httpc_response_t;

/* Parses a whole response as received until the server closed: the status line, headers
 * (Content-Length, if present, bounds the body) and the body. Returns 0 or CQ_EMALFORMED;
 * res->body is then allocated (CQ_ENOMEM when it cannot be). */
int cq_httpc_response_parse(const char *data, size_t len, cq_httpc_response_t *res);

/* Sends method path with the given headers' values (authorization may be NULL; body may be
 * NULL) and reads the response, in at most timeout_ms from connecting to the server's
 * close. Returns 0 and *res, CQ_ERESOLVE (the host name resolves to nothing), a negated
 * errno (-ECONNREFUSED, -ETIMEDOUT, ...) or CQ_EMALFORMED. */
int cq_httpc_request(const cq_httpc_url_t *url, const char *method, const char *path,
                     const char *authorization, const char *body, int timeout_ms,
                     cq_httpc_response_t *res);

#endif
