#include "client/hubconn.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "client/wsframe.h"
#include "rtp/error.h"

enum {
    PING_EVERY_MS = 15000,
    SILENT_LIMIT_MS = 40000,
    CONNECT_LIMIT_MS = 10000, /* resolving, connecting and the upgrade together */
    RX_CAP = CQ_WS_MAX_FRAME + 8192,
};

typedef enum { RESOLVING, CONNECTING, UPGRADING, OPEN, ENDED } state_t;

struct cq_hubconn {
    uv_loop_t *loop;
    cq_hubconn_config_t cfg;
    char host[256];
    char *first;
    state_t state;
    uv_getaddrinfo_t resolve;
    bool resolving;
    uv_tcp_t tcp;
    uv_connect_t connect;
    uv_timer_t timer;
    int open_handles;
    bool closing;
    char key[CQ_WS_KEY_LEN + 1];
    uint64_t last_heard_ms, last_ping_ms;
    uint8_t rx[RX_CAP];
    size_t rx_len;
    char msg[CQ_WS_MAX_FRAME + 1]; /* a text message being assembled from fragments */
    size_t msg_len;
    bool in_message;
};

typedef struct {
    uv_write_t req;
    uint8_t data[];
} write_t;

static void on_written(uv_write_t *req, int status) {
    (void)status; /* a failed write shows as a failed read too */
    free(req);
}

static int write_bytes(struct cq_hubconn *c, const void *data, size_t len) {
    write_t *w = malloc(sizeof *w + len);
    if (w == NULL)
        return CQ_ENOMEM;
    memcpy(w->data, data, len);
    uv_buf_t b = uv_buf_init((char *)w->data, (unsigned)len);
    int rc = uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_written);
    if (rc != 0)
        free(w);
    return rc;
}

static int write_frame(struct cq_hubconn *c, uint8_t opcode, const void *payload, size_t len) {
    uint8_t mask[4];
    if (getrandom(mask, sizeof mask, 0) != (ssize_t)sizeof mask)
        memcpy(mask, &c->last_heard_ms, sizeof mask);
    size_t cap = len + CQ_WS_MAX_HEADER;
    uint8_t *buf = malloc(cap);
    if (buf == NULL)
        return CQ_ENOMEM;
    int n = cq_ws_frame_write(opcode, payload, len, mask, buf, cap);
    int rc = n < 0 ? n : write_bytes(c, buf, (size_t)n);
    free(buf);
    return rc;
}

/* One of the things libuv holds (the two handles, the resolution) is done with c. */
static void release(struct cq_hubconn *c) {
    if (--c->open_handles == 0) {
        free(c->first);
        free(c);
    }
}

static void on_handle_closed(uv_handle_t *h) {
    release(h->data);
}

/* The end, told once; the handles stay until cq_hubconn_close. */
static void end(struct cq_hubconn *c, const char *why) {
    if (c->state == ENDED)
        return;
    c->state = ENDED;
    uv_timer_stop(&c->timer);
    if (uv_is_active((uv_handle_t *)&c->tcp))
        uv_read_stop((uv_stream_t *)&c->tcp);
    if (c->cfg.on_close != NULL)
        c->cfg.on_close(c->cfg.ctx, why);
}

static void on_frame(struct cq_hubconn *c, const cq_ws_frame_t *f) {
    switch (f->opcode) {
    case CQ_WS_PING:
        write_frame(c, CQ_WS_PONG, f->payload, f->len);
        return;
    case CQ_WS_PONG:
        return;
    case CQ_WS_CLOSE:
        write_frame(c, CQ_WS_CLOSE, f->payload, f->len < 2 ? f->len : 2);
        end(c, "the server closed the connection");
        return;
    case CQ_WS_BINARY:
        end(c, "the server sent binary data");
        return;
    default:
        break;
    }
    /* Text, possibly in fragments. */
    if ((f->opcode == CQ_WS_TEXT) == c->in_message) {
        end(c, "the server broke the message framing");
        return;
    }
    if (c->msg_len + f->len > CQ_WS_MAX_FRAME) {
        end(c, "a message from the server is too large");
        return;
    }
    memcpy(c->msg + c->msg_len, f->payload, f->len);
    c->msg_len += f->len;
    c->in_message = !f->fin;
    if (f->fin) {
        c->msg[c->msg_len] = '\0';
        size_t n = c->msg_len;
        c->msg_len = 0;
        if (c->cfg.on_message != NULL)
            c->cfg.on_message(c->cfg.ctx, c->msg, n);
    }
}

static void consume(struct cq_hubconn *c, size_t n) {
    memmove(c->rx, c->rx + n, c->rx_len - n);
    c->rx_len -= n;
}

static void on_bytes(struct cq_hubconn *c) {
    if (c->state == UPGRADING) {
        int n = cq_ws_answer_check((const char *)c->rx, c->rx_len, c->key);
        if (n == CQ_EAGAIN)
            return;
        if (n < 0) {
            end(c, n == CQ_EACCES ? "the server refused the WebSocket"
                                  : "the server's answer is not a WebSocket upgrade");
            return;
        }
        consume(c, (size_t)n);
        c->state = OPEN;
        if (write_frame(c, CQ_WS_TEXT, c->first, strlen(c->first)) != 0) {
            end(c, "could not send the first message");
            return;
        }
    }
    while (c->state == OPEN) {
        cq_ws_frame_t f;
        int n = cq_ws_frame_parse(c->rx, c->rx_len, &f);
        if (n == 0)
            return;
        if (n < 0) {
            end(c, "the server broke the WebSocket framing");
            return;
        }
        on_frame(c, &f);
        consume(c, (size_t)n);
    }
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
    (void)suggested;
    struct cq_hubconn *c = h->data;
    *buf = uv_buf_init((char *)c->rx + c->rx_len, (unsigned)(RX_CAP - c->rx_len));
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
    (void)buf;
    struct cq_hubconn *c = s->data;
    if (n == UV_ENOBUFS) {
        end(c, "a message from the server is too large");
        return;
    }
    if (n < 0) {
        end(c, n == UV_EOF ? "the server closed the connection" : uv_strerror((int)n));
        return;
    }
    c->rx_len += (size_t)n;
    c->last_heard_ms = uv_now(c->loop);
    on_bytes(c);
}

static void on_connected(uv_connect_t *req, int status) {
    struct cq_hubconn *c = req->data;
    if (c->state != CONNECTING)
        return;
    if (status != 0) {
        end(c, uv_strerror(status));
        return;
    }
    uint8_t nonce[16];
    if (getrandom(nonce, sizeof nonce, 0) != (ssize_t)sizeof nonce) {
        end(c, "no random numbers");
        return;
    }
    cq_ws_key(nonce, c->key);
    char req_text[512];
    int n = cq_ws_request(c->host, c->cfg.port, "/ws", c->key, req_text, sizeof req_text);
    if (n < 0 || write_bytes(c, req_text, (size_t)n) != 0 ||
        uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0) {
        end(c, "could not send the upgrade");
        return;
    }
    c->state = UPGRADING;
}

static void on_resolved(uv_getaddrinfo_t *r, int status, struct addrinfo *res) {
    struct cq_hubconn *c = r->data;
    c->resolving = false;
    if (c->closing || c->state == ENDED) { /* closed, or gave up waiting, meanwhile */
        uv_freeaddrinfo(res);
        release(c);
        return;
    }
    c->open_handles--; /* cannot reach 0: the handles are open */
    if (status != 0 || res == NULL) {
        uv_freeaddrinfo(res);
        end(c, status == UV_EAI_NONAME ? "the server's name is unknown" : uv_strerror(status));
        return;
    }
    c->state = CONNECTING;
    c->connect.data = c;
    int rc = uv_tcp_connect(&c->connect, &c->tcp, res->ai_addr, on_connected);
    uv_freeaddrinfo(res);
    if (rc != 0)
        end(c, uv_strerror(rc));
}

static void on_timer(uv_timer_t *t) {
    struct cq_hubconn *c = t->data;
    uint64_t now = uv_now(c->loop);
    if (c->state != OPEN) {
        if (now - c->last_heard_ms >= CONNECT_LIMIT_MS)
            end(c, "the server did not answer in time");
        return;
    }
    if (now - c->last_heard_ms >= SILENT_LIMIT_MS) {
        end(c, "the server went silent");
        return;
    }
    if (now - c->last_ping_ms >= PING_EVERY_MS) {
        c->last_ping_ms = now;
        write_frame(c, CQ_WS_PING, "", 0);
    }
}

int cq_hubconn_open(struct cq_hubconn **out, uv_loop_t *loop, const cq_hubconn_config_t *cfg) {
    *out = NULL;
    if (cfg->host == NULL || cfg->host[0] == '\0' || strlen(cfg->host) >= 256 || cfg->port == 0 ||
        cfg->first_message == NULL)
        return CQ_EINVAL;
    struct cq_hubconn *c = calloc(1, sizeof *c);
    if (c == NULL || (c->first = strdup(cfg->first_message)) == NULL) {
        free(c);
        return CQ_ENOMEM;
    }
    c->loop = loop;
    c->cfg = *cfg;
    c->cfg.host = c->cfg.first_message = NULL;
    snprintf(c->host, sizeof c->host, "%s", cfg->host);
    uv_tcp_init(loop, &c->tcp);
    uv_timer_init(loop, &c->timer);
    c->tcp.data = c->timer.data = c->resolve.data = c;
    c->open_handles = 2;
    c->last_heard_ms = uv_now(loop);
    uv_timer_start(&c->timer, on_timer, 1000, 1000);
    char port[8];
    snprintf(port, sizeof port, "%u", (unsigned)cfg->port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    c->state = RESOLVING;
    int rc = uv_getaddrinfo(loop, &c->resolve, on_resolved, c->host, port, &hints);
    if (rc != 0) {
        cq_hubconn_close(c);
        return CQ_EINVAL;
    }
    c->resolving = true;
    c->open_handles++; /* freed only once the resolution has called back */
    *out = c;
    return 0;
}

int cq_hubconn_send(struct cq_hubconn *c, const char *text) {
    if (c->state != OPEN)
        return CQ_EBADSTATE;
    return write_frame(c, CQ_WS_TEXT, text, strlen(text)) == 0 ? 0 : CQ_ENOMEM;
}

void cq_hubconn_close(struct cq_hubconn *c) {
    if (c == NULL || c->closing)
        return;
    if (c->state == OPEN) {
        static const uint8_t normal[2] = {0x03, 0xe8}; /* 1000: going away normally */
        write_frame(c, CQ_WS_CLOSE, normal, sizeof normal);
    }
    c->cfg.on_close = NULL;
    c->cfg.on_message = NULL;
    c->state = ENDED;
    c->closing = true;
    if (c->resolving)
        uv_cancel((uv_req_t *)&c->resolve); /* on_resolved still runs, with UV_ECANCELED */
    uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
    uv_close((uv_handle_t *)&c->timer, on_handle_closed);
}
