#include "client/join.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "rtp/error.h"

static int fail(char *why, size_t cap, const char *field) {
    if (cap > 0)
        snprintf(why, cap, "%s", field);
    return CQ_EMALFORMED;
}

/* The object at a dotted path ("media.ice.ufrag"), or NULL. */
static json_t *at(json_t *root, const char *path) {
    char part[32];
    json_t *o = root;
    while (o != NULL && *path != '\0') {
        size_t n = strcspn(path, ".");
        if (n >= sizeof part)
            return NULL;
        memcpy(part, path, n);
        part[n] = '\0';
        o = json_is_object(o) ? json_object_get(o, part) : NULL;
        path += n + (path[n] == '.');
    }
    return o;
}

static int get_uint(json_t *root, const char *path, uint64_t max, uint64_t *out) {
    json_t *v = at(root, path);
    if (!json_is_integer(v) || json_integer_value(v) < 0 || (uint64_t)json_integer_value(v) > max)
        return CQ_EMALFORMED;
    *out = (uint64_t)json_integer_value(v);
    return 0;
}

static int get_str(json_t *root, const char *path, char *out, size_t cap) {
    const char *s = json_string_value(at(root, path));
    if (s == NULL || s[0] == '\0' || strlen(s) >= cap)
        return CQ_EMALFORMED;
    memcpy(out, s, strlen(s) + 1);
    return 0;
}

static int hex_digit(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int get_key(json_t *root, const char *path, size_t len, uint8_t *key) {
    const char *s = json_string_value(at(root, path));
    if (s == NULL || strlen(s) != 2 * len)
        return CQ_EMALFORMED;
    for (size_t i = 0; i < len; i++) {
        int hi = hex_digit(s[2 * i]), lo = hex_digit(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return CQ_EMALFORMED;
        key[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

/* An array of 0..max SSRCs (non-zero, 32 bits). Returns the count or CQ_EMALFORMED. */
static int get_ssrcs(json_t *root, const char *path, uint32_t *out, size_t max) {
    json_t *a = at(root, path);
    if (!json_is_array(a) || json_array_size(a) > max)
        return CQ_EMALFORMED;
    for (size_t i = 0; i < json_array_size(a); i++) {
        json_t *v = json_array_get(a, i);
        if (!json_is_integer(v) || json_integer_value(v) <= 0 ||
            json_integer_value(v) > (json_int_t)UINT32_MAX)
            return CQ_EMALFORMED;
        out[i] = (uint32_t)json_integer_value(v);
    }
    return (int)json_array_size(a);
}

static int parse(json_t *root, cq_join_t *j, char *why, size_t cap) {
    uint64_t v;
    char suite[40];
    if (get_uint(root, "session", UINT32_MAX, &v) != 0 || v == 0)
        return fail(why, cap, "session");
    j->session = (uint32_t)v;
    if (get_uint(root, "telecentre", UINT32_MAX, &v) != 0 || v == 0)
        return fail(why, cap, "telecentre");
    j->telecentre = (uint32_t)v;
    if (get_str(root, "role", j->role, sizeof j->role) != 0)
        return fail(why, cap, "role");
    if (get_str(root, "mode", j->mode, sizeof j->mode) != 0)
        return fail(why, cap, "mode");
    if (get_str(root, "media.address", j->address, sizeof j->address) != 0)
        return fail(why, cap, "media.address");
    if (get_uint(root, "media.port", 65535, &v) != 0 || v == 0)
        return fail(why, cap, "media.port");
    j->port = (uint16_t)v;
    if (get_str(root, "media.ice.ufrag", j->ufrag, sizeof j->ufrag) != 0)
        return fail(why, cap, "media.ice.ufrag");
    if (get_str(root, "media.ice.pwd", j->pwd, sizeof j->pwd) != 0)
        return fail(why, cap, "media.ice.pwd");
    if (get_str(root, "media.srtp.suite", suite, sizeof suite) != 0 ||
        cq_srtp_suite_from_name(suite, &j->suite) != 0)
        return fail(why, cap, "media.srtp.suite");
    size_t klen = cq_srtp_key_len(j->suite);
    if (get_key(root, "media.srtp.key_to_relay", klen, j->key_tx) != 0)
        return fail(why, cap, "media.srtp.key_to_relay");
    if (get_key(root, "media.srtp.key_from_relay", klen, j->key_rx) != 0)
        return fail(why, cap, "media.srtp.key_from_relay");
    /* A viewer sends nothing: its answer may carry no SSRCs at all. */
    json_t *audio = at(root, "ssrcs.audio");
    if (audio != NULL && !json_is_null(audio)) {
        if (get_uint(root, "ssrcs.audio", UINT32_MAX, &v) != 0)
            return fail(why, cap, "ssrcs.audio");
        j->audio_ssrc = (uint32_t)v;
    }
    if (at(root, "ssrcs.video") != NULL) {
        int nv = get_ssrcs(root, "ssrcs.video", j->video_ssrc, CQ_SENDER_MAX_LAYERS);
        int nr = get_ssrcs(root, "ssrcs.rtx", j->rtx_ssrc, CQ_SENDER_MAX_LAYERS);
        if (nv < 0)
            return fail(why, cap, "ssrcs.video");
        if (nr != nv)
            return fail(why, cap, "ssrcs.rtx");
        j->video_layers = (unsigned)nv;
    }
    json_t *p = at(root, "participants");
    j->participants = json_is_array(p) ? (unsigned)json_array_size(p) : 0;
    return 0;
}

int cq_join_parse(const char *json, size_t len, cq_join_t *out, char *why, size_t cap) {
    memset(out, 0, sizeof *out);
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(root)) {
        json_decref(root);
        return fail(why, cap, "not a JSON object");
    }
    int rc = parse(root, out, why, cap);
    json_decref(root);
    return rc;
}

int cq_join_token_session(const char *token, uint32_t *session) {
    if (token == NULL || strncmp(token, "cq1-", 4) != 0)
        return CQ_EINVAL;
    const char *p = token + 4;
    char *end;
    if (*p < '1' || *p > '9')
        return CQ_EINVAL;
    unsigned long v = strtoul(p, &end, 10);
    if (*end != '-' || v > UINT32_MAX)
        return CQ_EINVAL;
    *session = (uint32_t)v;
    return 0;
}
