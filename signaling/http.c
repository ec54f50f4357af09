#include "signaling/http.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <jansson.h>
#include <libwebsockets.h>

#include "rtp/error.h"
#include "signaling/api.h"
#include "signaling/hub.h"
#include "signaling/log.h"

/* Longest path, query and Authorization header taken; longer ones are refused (414/431
 * would be kinder, but no legitimate client of this API comes near). */
#define MAX_PATH  512
#define MAX_QUERY 256
#define MAX_AUTH  256
/* A response goes out in pieces of this size, one per writable callback. */
#define WRITE_CHUNK 4096

struct cq_http {
    struct lws_context *ctx;
    struct cq_api *api;
    struct cq_hub *hub;
    uint16_t port;
    bool stopping;
};

/* One HTTP exchange on a connection (lws keeps one per connection, reused across
 * keep-alive requests; everything is reset when a request starts). */
struct exchange {
    char method[8];
    char path[MAX_PATH + 1];
    char query[MAX_QUERY + 1];
    char auth[MAX_AUTH + 1];
    bool has_query, has_auth;
    char local[INET6_ADDRSTRLEN]; /* the address the client reached us on */
    char peer[INET6_ADDRSTRLEN];  /* the client's */
    char *body;                   /* malloc'd as it arrives */
    size_t body_len, body_expected;
    cq_api_response_t res;
    bool res_ready;
    size_t sent; /* of res.body, or of the file */
    FILE *file;  /* res.file, open while it is sent */
    size_t file_len;
};

static const struct {
    enum lws_token_indexes token;
    const char *name;
} methods[] = {
    {WSI_TOKEN_GET_URI, "GET"},       {WSI_TOKEN_POST_URI, "POST"},
    {WSI_TOKEN_PUT_URI, "PUT"},       {WSI_TOKEN_PATCH_URI, "PATCH"},
    {WSI_TOKEN_DELETE_URI, "DELETE"}, {WSI_TOKEN_OPTIONS_URI, "OPTIONS"},
    {WSI_TOKEN_HEAD_URI, "HEAD"},
};

static void exchange_reset(struct exchange *x) {
    if (x->file != NULL)
        fclose(x->file);
    free(x->body);
    cq_api_response_free(&x->res);
    memset(x, 0, sizeof *x);
}

/* Sends the response's status line and headers, then asks to write the body. */
static int start_response(struct lws *wsi, struct exchange *x) {
    uint8_t buf[LWS_PRE + 1024];
    uint8_t *start = buf + LWS_PRE, *p = start, *end = buf + sizeof buf - 1;
    cq_api_response_t *r = &x->res;
    size_t len = r->body_len;
    if (r->file != NULL) {
        struct stat st;
        if ((x->file = fopen(r->file, "rb")) == NULL || fstat(fileno(x->file), &st) != 0)
            return -1; /* gone since the API looked: the client sees the connection close */
        x->file_len = len = (size_t)st.st_size;
    }
    const char *type = r->content_type ? r->content_type : r->body ? "application/json" : NULL;
    if (lws_add_http_common_headers(wsi, (unsigned)r->status, type, (lws_filepos_t)len, &p, end) !=
        0)
        return -1;
    if (r->allow != NULL &&
        lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_ALLOW, (const uint8_t *)r->allow,
                                     (int)strlen(r->allow), &p, end) != 0)
        return -1;
    if (lws_finalize_write_http_header(wsi, start, &p, end) != 0)
        return -1;
    x->res_ready = true;
    if (len == 0)
        return lws_http_transaction_completed(wsi) ? -1 : 0;
    lws_callback_on_writable(wsi);
    return 0;
}

/* Hands the request to the API and starts sending what it says. */
static int answer(struct lws *wsi, struct cq_http *h, struct exchange *x) {
    cq_api_request_t req = {.method = x->method,
                            .path = x->path,
                            .query = x->has_query ? x->query : NULL,
                            .authorization = x->has_auth ? x->auth : NULL,
                            .body = x->body,
                            .body_len = x->body_len,
                            .local_address = x->local[0] ? x->local : NULL,
                            .peer_address = x->peer[0] ? x->peer : NULL};
    cq_api_handle(h->api, &req, &x->res);
    return start_response(wsi, x);
}

/* An answer made here rather than by the API (the request never reached it). */
static int refuse(struct lws *wsi, struct exchange *x, int status, const char *error,
                  const char *reason) {
    char body[256];
    int n = snprintf(body, sizeof body, "{\"error\":\"%s\",\"reason\":\"%s\"}", error, reason);
    x->res.status = status;
    x->res.body = strdup(body);
    x->res.body_len = x->res.body ? (size_t)n : 0;
    return start_response(wsi, x);
}

/* An address of this connection: the server's (mine, as a telecentre would send media to
 * it) or the client's. An IPv4 address on the dual-stack socket shows as ::ffff:a.b.c.d
 * and is written a.b.c.d. */
static void address_of(struct lws *wsi, bool mine, char *out, size_t cap) {
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    out[0] = '\0';
    int fd = lws_get_socket_fd(wsi);
    if (fd < 0 || (mine ? getsockname(fd, (struct sockaddr *)&ss, &len)
                        : getpeername(fd, (struct sockaddr *)&ss, &len)) != 0)
        return;
    if (ss.ss_family == AF_INET) {
        inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, out, (socklen_t)cap);
    } else if (ss.ss_family == AF_INET6) {
        const struct in6_addr *a = &((struct sockaddr_in6 *)&ss)->sin6_addr;
        if (IN6_IS_ADDR_V4MAPPED(a))
            inet_ntop(AF_INET, &a->s6_addr[12], out, (socklen_t)cap);
        else
            inet_ntop(AF_INET6, a, out, (socklen_t)cap);
    }
}

/* Reads method, path, query and Authorization at the start of a request. Returns false
 * when one is too long (the request is refused). */
static bool read_request(struct lws *wsi, struct exchange *x, const char *uri) {
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
        if (lws_hdr_total_length(wsi, methods[i].token) > 0)
            snprintf(x->method, sizeof x->method, "%s", methods[i].name);
    if (strnlen(uri, MAX_PATH + 1) > MAX_PATH)
        return false;
    snprintf(x->path, sizeof x->path, "%s", uri);
    int n = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_URI_ARGS);
    if (n > MAX_QUERY)
        return false;
    if (n > 0)
        x->has_query = lws_hdr_copy(wsi, x->query, sizeof x->query, WSI_TOKEN_HTTP_URI_ARGS) >= 0;
    n = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_AUTHORIZATION);
    if (n > MAX_AUTH)
        return false;
    if (n > 0)
        x->has_auth = lws_hdr_copy(wsi, x->auth, sizeof x->auth, WSI_TOKEN_HTTP_AUTHORIZATION) >= 0;
    address_of(wsi, true, x->local, sizeof x->local);
    address_of(wsi, false, x->peer, sizeof x->peer);
    char len[24];
    if (lws_hdr_copy(wsi, len, sizeof len, WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0)
        x->body_expected = (size_t)strtoull(len, NULL, 10);
    return true;
}

static int on_http(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                   size_t len) {
    struct exchange *x = user;
    struct cq_http *h = lws_context_user(lws_get_context(wsi));
    if (x == NULL) /* a connection that never got as far as a request */
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    switch (reason) {
    case LWS_CALLBACK_HTTP:
        exchange_reset(x);
        if (!read_request(wsi, x, in))
            return refuse(wsi, x, 400, "bad_request", "request line or header too long");
        if (x->method[0] == '\0')
            return refuse(wsi, x, 405, "method_not_allowed", "unknown method");
        if (x->body_expected > CQ_API_MAX_BODY)
            return refuse(wsi, x, 413, "too_large", "the body is too large");
        /* A body is coming when it was announced; answer at its completion. */
        return x->body_expected > 0 ? 0 : answer(wsi, h, x);
    case LWS_CALLBACK_HTTP_BODY:
        if (x->res_ready)
            return 0;
        if (x->body_len + len > CQ_API_MAX_BODY)
            return refuse(wsi, x, 413, "too_large", "the body is too large");
        {
            char *grown = realloc(x->body, x->body_len + len);
            if (grown == NULL)
                return -1;
            x->body = grown;
        }
        memcpy(x->body + x->body_len, in, len);
        x->body_len += len;
        return 0;
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        return x->res_ready ? 0 : answer(wsi, h, x);
    case LWS_CALLBACK_HTTP_WRITEABLE: {
        if (!x->res_ready || (x->res.body == NULL && x->file == NULL))
            return 0;
        uint8_t buf[LWS_PRE + WRITE_CHUNK];
        size_t left = (x->file ? x->file_len : x->res.body_len) - x->sent;
        size_t n = left < WRITE_CHUNK ? left : WRITE_CHUNK;
        if (x->file == NULL)
            memcpy(buf + LWS_PRE, x->res.body + x->sent, n);
        else if (fread(buf + LWS_PRE, 1, n, x->file) != n)
            return -1; /* shorter than it was: the client sees it cut */
        bool last = n == left;
        if (lws_write(wsi, buf + LWS_PRE, n, last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) !=
            (int)n)
            return -1;
        x->sent += n;
        if (!last) {
            lws_callback_on_writable(wsi);
            return 0;
        }
        return lws_http_transaction_completed(wsi) ? -1 : 0;
    }
    case LWS_CALLBACK_CLOSED_HTTP:
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
        exchange_reset(x);
        return 0;
    default:
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    }
}

/* ---- WebSocket ---------------------------------------------------------------------- */

#define WS_MAX_MESSAGE 8192

/* A message waiting to be written, with libwebsockets' headroom before it. */
struct ws_msg {
    struct ws_msg *next;
    size_t len;
    bool close;
    uint8_t data[];
};

struct wsconn {
    struct ws_msg *head, *tail;
    char rx[WS_MAX_MESSAGE];
    size_t rx_len;
    bool overflow;
};

void cq_http_ws_send(void *conn, const char *text, size_t len, bool close, void *ctx) {
    (void)ctx;
    struct lws *wsi = conn;
    struct wsconn *w = lws_wsi_user(wsi);
    struct ws_msg *m = malloc(sizeof *m + LWS_PRE + len);
    if (w == NULL || m == NULL) {
        free(m);
        return; /* out of memory: the message is lost, the connection lives */
    }
    m->next = NULL;
    m->len = len;
    m->close = close;
    memcpy(m->data + LWS_PRE, text, len);
    if (w->tail)
        w->tail->next = m;
    else
        w->head = m;
    w->tail = m;
    lws_callback_on_writable(wsi);
}

static void ws_free(struct wsconn *w) {
    while (w->head != NULL) {
        struct ws_msg *next = w->head->next;
        free(w->head);
        w->head = next;
    }
    w->tail = NULL;
}

/* An answer made here, then the connection closes. */
static void ws_refuse(struct lws *wsi, int status, const char *error, const char *reason) {
    char text[512];
    int n = snprintf(text, sizeof text,
                     "{\"type\":\"error\",\"status\":%d,\"error\":\"%s\",\"reason\":\"%s\"}",
                     status, error, reason);
    cq_http_ws_send(wsi, text, (size_t)n, true, NULL);
}

/* The first message: {"type":"join","session":N,"token":"..."} (and "video_layers", as
 * the route takes it), carried to the API's join route, or "attach" (a telecentre whose
 * media carries on, reconnecting) to its attach route; on success the connection enters
 * the hub. */
static void ws_join(struct lws *wsi, struct cq_http *h, const char *text, size_t len) {
    json_t *o = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
    const char *type = json_string_value(json_object_get(o, "type"));
    json_t *session = json_object_get(o, "session");
    json_t *token = json_object_get(o, "token");
    bool attach = type != NULL && strcmp(type, "attach") == 0;
    if (type == NULL || (strcmp(type, "join") != 0 && !attach) || !json_is_integer(session) ||
        !json_is_string(token)) {
        json_decref(o);
        ws_refuse(wsi, 400, "bad_request",
                  "the first message must be {type: join or attach, session: id, token: string}");
        return;
    }
    char path[64], local[INET6_ADDRSTRLEN], peer[INET6_ADDRSTRLEN];
    snprintf(path, sizeof path, "/api/sessions/%" JSON_INTEGER_FORMAT "/%s",
             json_integer_value(session), attach ? "attach" : "join");
    json_t *body = json_pack("{s:O}", "token", token);
    json_t *layers = json_object_get(o, "video_layers");
    if (body != NULL && layers != NULL)
        json_object_set(body, "video_layers", layers); /* the route judges it */
    char *btext = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    json_decref(o);
    if (btext == NULL) {
        ws_refuse(wsi, 500, "internal", "out of memory");
        return;
    }
    address_of(wsi, true, local, sizeof local);
    address_of(wsi, false, peer, sizeof peer);
    cq_api_request_t req = {.method = "POST",
                            .path = path,
                            .body = btext,
                            .body_len = strlen(btext),
                            .local_address = local[0] ? local : NULL,
                            .peer_address = peer[0] ? peer : NULL};
    cq_api_response_t res;
    cq_api_handle(h->api, &req, &res);
    free(btext);
    json_t *answer = res.body ? json_loadb(res.body, res.body_len, 0, NULL) : NULL;
    json_t *reply = NULL;
    if (res.status == 200 && answer != NULL) {
        cq_role_t role = CQ_ROLE_VIEWER;
        cq_token_role_parse(json_string_value(json_object_get(answer, "role")), &role);
        if (cq_hub_add(h->hub, wsi, (int64_t)json_integer_value(json_object_get(answer, "session")),
                       (int64_t)json_integer_value(json_object_get(answer, "telecentre")),
                       role) == 0)
            reply = attach ? json_pack("{s:s, s:O}", "type", "attached", "attach", answer)
                           : json_pack("{s:s, s:O}", "type", "welcome", "join", answer);
    } else if (answer != NULL) {
        json_object_set_new(answer, "type", json_string("error"));
        json_object_set_new(answer, "status", json_integer(res.status));
        reply = json_incref(answer);
    }
    json_decref(answer);
    cq_api_response_free(&res);
    char *rtext = reply ? json_dumps(reply, JSON_COMPACT) : NULL;
    bool joined = res.status == 200 && reply != NULL;
    json_decref(reply);
    if (rtext == NULL) {
        ws_refuse(wsi, 500, "internal", "could not answer the join");
        return;
    }
    cq_http_ws_send(wsi, rtext, strlen(rtext), !joined, NULL);
    free(rtext);
}

static int on_ws(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                 size_t len) {
    struct wsconn *w = user;
    struct cq_http *h = lws_context_user(lws_get_context(wsi));
    switch (reason) {
    case LWS_CALLBACK_ESTABLISHED:
        if (h->hub == NULL)
            return -1;
        memset(w, 0, sizeof *w);
        return 0;
    case LWS_CALLBACK_RECEIVE:
        if (w->rx_len + len > WS_MAX_MESSAGE)
            w->overflow = true;
        else {
            memcpy(w->rx + w->rx_len, in, len);
            w->rx_len += len;
        }
        if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi) > 0)
            return 0;
        if (w->overflow) {
            lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, NULL, 0);
            return -1;
        }
        if (cq_hub_has(h->hub, wsi))
            cq_hub_message(h->hub, wsi, w->rx, w->rx_len);
        else if (w->head == NULL) /* nothing pending: not already refused */
            ws_join(wsi, h, w->rx, w->rx_len);
        w->rx_len = 0;
        return 0;
    case LWS_CALLBACK_SERVER_WRITEABLE: {
        struct ws_msg *m = w->head;
        if (m == NULL)
            return 0;
        w->head = m->next;
        if (w->head == NULL)
            w->tail = NULL;
        bool close = m->close;
        int n = lws_write(wsi, m->data + LWS_PRE, m->len, LWS_WRITE_TEXT);
        bool ok = n == (int)m->len;
        free(m);
        if (!ok)
            return -1;
        if (close) {
            lws_close_reason(wsi, LWS_CLOSE_STATUS_NORMAL, NULL, 0);
            return -1;
        }
        if (w->head != NULL)
            lws_callback_on_writable(wsi);
        return 0;
    }
    case LWS_CALLBACK_CLOSED:
        if (h->hub != NULL)
            cq_hub_remove(h->hub, wsi);
        ws_free(w);
        return 0;
    default:
        return 0;
    }
}

static const struct lws_protocols protocols[] = {
    {"http", on_http, sizeof(struct exchange), 0, 0, NULL, 0},
    {"chasqui", on_ws, sizeof(struct wsconn), WS_MAX_MESSAGE, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

/* libwebsockets' own log goes to ours: errors and warnings only. */
static void lws_log(int level, const char *line) {
    char copy[CQ_LOG_LINE_MAX];
    snprintf(copy, sizeof copy, "%s", line);
    size_t n = strlen(copy);
    while (n > 0 && (copy[n - 1] == '\n' || copy[n - 1] == '\r'))
        copy[--n] = '\0';
    cq_log(level == LLL_ERR ? CQ_LOG_ERROR : CQ_LOG_WARN, "http", "%s", copy);
}

int cq_http_create(struct cq_http **out, const cq_http_config_t *cfg) {
    struct cq_http *h = calloc(1, sizeof *h);
    if (h == NULL)
        return CQ_ENOMEM;
    h->api = cfg->api;
    h->hub = cfg->hub;
    lws_set_log_level(LLL_ERR | LLL_WARN, lws_log);
    void *foreign[] = {cfg->loop};
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = cfg->port;
    info.iface = cfg->host;
    info.protocols = protocols;
    info.options =
        LWS_SERVER_OPTION_LIBUV | LWS_SERVER_OPTION_HTTP_HEADERS_SECURITY_BEST_PRACTICES_ENFORCE;
    if (cfg->host != NULL && strchr(cfg->host, ':') == NULL)
        info.options |= LWS_SERVER_OPTION_DISABLE_IPV6; /* an IPv4 address was asked for */
    info.foreign_loops = foreign;
    info.user = h;
    info.timeout_secs = 20; /* a client that stops mid-request is dropped */
    h->ctx = lws_create_context(&info);
    if (h->ctx == NULL) {
        free(h);
        return CQ_EIO;
    }
    int port = lws_get_vhost_listen_port(lws_get_vhost_by_name(h->ctx, "default"));
    if (port <= 0) {
        cq_http_destroy(h);
        return CQ_EIO;
    }
    h->port = (uint16_t)port;
    *out = h;
    return 0;
}

uint16_t cq_http_port(const struct cq_http *h) {
    return h->port;
}

void cq_http_stop(struct cq_http *h) {
    if (h == NULL || h->stopping)
        return;
    h->stopping = true;
    lws_context_destroy(h->ctx);
}

void cq_http_destroy(struct cq_http *h) {
    if (h == NULL)
        return;
    /* The second call finishes what the first began once the loop has closed lws's
     * handles (libwebsockets' foreign-loop teardown); alone, it does both. */
    cq_http_stop(h);
    lws_context_destroy(h->ctx);
    free(h);
}
