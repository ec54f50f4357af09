/*
 * chasqui-ctl: the operator's command line over the district server's HTTP API
 * (docs/PROTOCOL.md). Tables for people by default, the server's JSON with --json for
 * scripts, and exit codes scripts can trust:
 *
 *   0  done                       3  the server cannot be reached, or failed (5xx)
 *   1  the server refused (4xx)   4  the operator key cannot be read
 *   2  the command line is wrong
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "rtp/error.h"
#include "signaling/httpc.h"

enum { EXIT_OK = 0, EXIT_REFUSED = 1, EXIT_USAGE = 2, EXIT_SERVER = 3, EXIT_KEY = 4 };

#define TIMEOUT_MS 10000

typedef struct {
    cq_httpc_url_t url;
    const char *server;
    const char *key_file;
    char auth[128]; /* "" until the first request reads the key */
    bool json;
} ctl_t;

/* Each command's part of the usage, for "chasqui-ctl COMMAND --help". */
static const struct {
    const char *command, *text;
} helps[] = {
    {"telecentre", "  telecentre add NAME --district D [--contact C]\n"
                   "  telecentre list\n"
                   "  telecentre rm ID\n"},
    {"session", "  session schedule --title T --start ISO --end ISO --telecentres ID,ID,...\n"
                "                   [--mode conference|broadcast] [--presenters ID,...]\n"
                "                   [--open-before MINUTES]\n"
                "  session list [--filter upcoming|running|live|past|all]\n"
                "  session show ID | session cancel ID | session end ID | session history ID\n"
                "  session hands ID             raised hands, in the order they went up\n"
                "  session promote ID TC        a joined viewer becomes a speaker\n"
                "  session demote ID TC         a promoted viewer goes back to watching\n"
                "  session mute ID TC [--off]   the relay drops (--off: forwards again) its sound\n"
                "  session remove ID TC         out of the session for good: it cannot re-join\n"
                "  session recording ID [on|off]   start or stop recording; its raw files\n"},
    {"token", "  token issue --session ID --telecentre ID --role presenter|participant|viewer\n"
              "              [--expires ISO]\n"},
    {"status", "  status    sessions open or live, and each telecentre's link in them\n"},
};

static void usage(FILE *out) {
    fprintf(out, "usage: chasqui-ctl [--server URL] [--key-file PATH] [--json] COMMAND ...\n\n");
    for (size_t i = 0; i < sizeof helps / sizeof helps[0]; i++)
        fputs(helps[i].text, out);
    fprintf(out, "\n"
                 "Times are UTC, like 2026-11-23T14:00:00Z. The server defaults to\n"
                 "http://127.0.0.1:8080 ($CHASQUI_SERVER), the key file to var/operator.key\n"
                 "($CHASQUI_KEY_FILE). Exit status: 0 done, 1 refused by the server, 2 bad\n"
                 "command line, 3 server unreachable or failing, 4 operator key unreadable.\n"
                 "COMMAND --help shows one command's usage.\n");
}

/* "--help" anywhere after a known command prints that command's usage; otherwise the whole
 * usage. Asked before the key is read: help must work where there is no key. */
static bool help_asked(int argc, char **argv) {
    bool asked = false;
    for (int i = 1; i < argc && !asked; i++)
        asked = strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0;
    if (!asked)
        return false;
    for (size_t i = 0; i < sizeof helps / sizeof helps[0]; i++)
        if (strcmp(argv[0], helps[i].command) == 0) {
            printf("usage: chasqui-ctl [--server URL] [--key-file PATH] [--json] %s ...\n\n%s",
                   helps[i].command, helps[i].text);
            return true;
        }
    usage(stdout);
    return true;
}

/* Whether s is one of the NULL-terminated names. */
static bool one_of(const char *s, const char *const *names) {
    while (*names != NULL && strcmp(s, *names) != 0)
        names++;
    return *names != NULL;
}

static int bad_usage(const char *what) {
    fprintf(stderr, "chasqui-ctl: %s\n\n", what);
    usage(stderr);
    return EXIT_USAGE;
}

static int read_key(ctl_t *c, const char *path) {
    FILE *f = fopen(path, "r");
    char key[80] = "";
    bool ok = f != NULL && fgets(key, sizeof key, f) != NULL;
    if (f)
        fclose(f);
    key[strcspn(key, "\r\n")] = '\0';
    if (!ok || strlen(key) != 64) {
        fprintf(stderr, "chasqui-ctl: cannot read the operator key from %s\n", path);
        return EXIT_KEY;
    }
    snprintf(c->auth, sizeof c->auth, "Bearer %s", key);
    return EXIT_OK;
}

/* Makes the request; on success returns EXIT_OK and the parsed JSON (NULL for 204). */
static int call(ctl_t *c, const char *method, const char *path, json_t *body, json_t **out) {
    /* The key is read only when a request needs it: a wrong command line is exit 2 even
     * where there is no key. */
    int rc = c->auth[0] == '\0' ? read_key(c, c->key_file) : EXIT_OK;
    *out = NULL;
    if (rc != EXIT_OK) {
        json_decref(body);
        return rc;
    }
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    cq_httpc_response_t res;
    int err = cq_httpc_request(&c->url, method, path, c->auth, text, TIMEOUT_MS, &res);
    free(text);
    if (err != 0) {
        fprintf(stderr, "chasqui-ctl: cannot reach %s: %s\n", c->server,
                err > -4096 ? strerror(-err) : cq_strerror(err));
        return EXIT_SERVER;
    }
    json_t *o = res.body_len ? json_loads(res.body, 0, NULL) : NULL;
    if (res.status < 400 && res.body_len && o == NULL) {
        /* Not the API's answer (a proxy's page, another service on that port): its
         * fields would print empty, as if the server had nothing. */
        fprintf(stderr,
                "chasqui-ctl: %s answered %d with something other than JSON: is it "
                "the chasqui server?\n",
                c->server, res.status);
        rc = EXIT_SERVER;
    } else if (res.status >= 400) {
        const char *reason = json_string_value(json_object_get(o, "reason"));
        const char *field = json_string_value(json_object_get(o, "field"));
        fprintf(stderr, "chasqui-ctl: the server says %d: %s%s%s%s\n", res.status,
                reason ? reason : res.body, field ? " (field: " : "", field ? field : "",
                field ? ")" : "");
        rc = res.status >= 500 ? EXIT_SERVER : EXIT_REFUSED;
        json_decref(o);
        o = NULL;
    } else if (c->json && res.body_len) {
        printf("%s\n", res.body);
    }
    free(res.body);
    *out = o;
    return rc;
}

/* A decimal id > 0, or -1. */
static long long parse_id(const char *s) {
    char *end;
    long long v = strtoll(s, &end, 10);
    return *s != '\0' && *end == '\0' && v > 0 ? v : -1;
}

/* "1,2,3" as a JSON array of ids, or NULL (an id that is no positive number, an empty one
 * between commas). Read in place, whatever its length: a copy into a fixed buffer cut a
 * long list short without a word, an id in half at the cut. */
static json_t *parse_ids(const char *s) {
    json_t *a = json_array();
    for (const char *p = s;;) {
        char *end;
        long long id = strtoll(p, &end, 10);
        if (a == NULL || end == p || id <= 0 || (*end != ',' && *end != '\0')) {
            json_decref(a);
            return NULL;
        }
        json_array_append_new(a, json_integer(id));
        if (*end == '\0')
            return a;
        p = end + 1;
    }
}

static const char *str(json_t *o, const char *k) {
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

static long long num(json_t *o, const char *k) {
    return (long long)json_integer_value(json_object_get(o, k));
}

static void print_telecentres(json_t *list) {
    printf("%-6s %-28s %-20s %s\n", "ID", "NAME", "DISTRICT", "CONTACT");
    size_t i;
    json_t *t;
    json_array_foreach(list, i, t) {
        printf("%-6lld %-28s %-20s %s\n", num(t, "id"), str(t, "name"), str(t, "district"),
               str(t, "contact"));
    }
}

static void print_session(json_t *s, bool long_form) {
    printf("%-6lld %-10s %-10s %-20s %-20s %s\n", num(s, "id"), str(s, "state"), str(s, "mode"),
           str(s, "start"), str(s, "end"), str(s, "title"));
    if (!long_form)
        return;
    printf("  opens for joining at %s\n", str(s, "opens"));
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(s, "telecentres"), i, t) {
        printf("  telecentre %-6lld %-28s %s\n", num(t, "id"), str(t, "name"),
               json_is_true(json_object_get(t, "presenter")) ? "presenter" : "");
    }
}

static void session_header(void) {
    printf("%-6s %-10s %-10s %-20s %-20s %s\n", "ID", "STATE", "MODE", "START", "END", "TITLE");
}

/* Options of a subcommand: --name value pairs after its positional arguments. */
static const char *opt(int argc, char **argv, const char *name) {
    for (int i = 0; i + 1 < argc; i++)
        if (strncmp(argv[i], "--", 2) == 0 && strcmp(argv[i] + 2, name) == 0)
            return argv[i + 1];
    return NULL;
}

/* Refuses options the subcommand does not know (a typo must not be ignored). */
static bool only_opts(int argc, char **argv, int first, const char *const *known) {
    for (int i = first; i < argc; i += 2) {
        bool found = false;
        for (const char *const *k = known; *k && !found; k++)
            found = strncmp(argv[i], "--", 2) == 0 && strcmp(argv[i] + 2, *k) == 0;
        if (!found || i + 1 >= argc)
            return false;
    }
    return true;
}

static int telecentre(ctl_t *c, int argc, char **argv) {
    json_t *o;
    int rc;
    if (argc >= 1 && strcmp(argv[0], "list") == 0 && argc == 1) {
        if ((rc = call(c, "GET", "/api/telecentres", NULL, &o)) == EXIT_OK && !c->json)
            print_telecentres(json_object_get(o, "telecentres"));
    } else if (argc >= 2 && strcmp(argv[0], "add") == 0) {
        static const char *const known[] = {"district", "contact", NULL};
        const char *district = opt(argc - 2, argv + 2, "district");
        if (!only_opts(argc, argv, 2, known) || district == NULL)
            return bad_usage("telecentre add NAME --district D [--contact C]");
        const char *contact = opt(argc - 2, argv + 2, "contact");
        json_t *body = json_pack("{s:s, s:s}", "name", argv[1], "district", district);
        if (contact)
            json_object_set_new(body, "contact", json_string(contact));
        if ((rc = call(c, "POST", "/api/telecentres", body, &o)) == EXIT_OK && !c->json)
            printf("telecentre %lld added: %s (%s)\n", num(o, "id"), str(o, "name"),
                   str(o, "district"));
    } else if (argc == 2 && strcmp(argv[0], "rm") == 0 && parse_id(argv[1]) > 0) {
        char path[64];
        snprintf(path, sizeof path, "/api/telecentres/%lld", parse_id(argv[1]));
        if ((rc = call(c, "DELETE", path, NULL, &o)) == EXIT_OK && !c->json)
            printf("telecentre %s removed\n", argv[1]);
    } else {
        return bad_usage("telecentre add|list|rm");
    }
    json_decref(o);
    return rc;
}

static int session_schedule(ctl_t *c, int argc, char **argv) {
    static const char *const known[] = {"title",       "start",      "end",         "mode",
                                        "telecentres", "presenters", "open-before", NULL};
    const char *title = opt(argc, argv, "title"), *start = opt(argc, argv, "start"),
               *end = opt(argc, argv, "end"), *tcs = opt(argc, argv, "telecentres");
    if (!only_opts(argc, argv, 0, known) || !title || !start || !end || !tcs)
        return bad_usage("session schedule needs --title, --start, --end and --telecentres");
    json_t *ids = parse_ids(tcs);
    const char *pres = opt(argc, argv, "presenters"), *open = opt(argc, argv, "open-before");
    json_t *presenters = pres ? parse_ids(pres) : json_array();
    char *rest = NULL;
    long long minutes = open ? strtoll(open, &rest, 10) : -1;
    static const char *const modes[] = {"conference", "broadcast", NULL};
    const char *mode = opt(argc, argv, "mode");
    if (ids == NULL || presenters == NULL ||
        (open && (*open == '\0' || *rest != '\0' || minutes < 0 || minutes > 120)) ||
        (mode && !one_of(mode, modes))) {
        json_decref(ids);
        json_decref(presenters);
        return bad_usage("ids are positive numbers separated by commas; --open-before 0..120; "
                         "--mode conference or broadcast");
    }
    json_t *body =
        json_pack("{s:s, s:s, s:s, s:s, s:o, s:o}", "title", title, "start", start, "end", end,
                  "mode", mode ? mode : "conference", "telecentres", ids, "presenters", presenters);
    if (open)
        json_object_set_new(body, "open_before_minutes", json_integer(minutes));
    json_t *o;
    int rc = call(c, "POST", "/api/sessions", body, &o);
    if (rc == EXIT_OK && !c->json) {
        printf("session %lld scheduled; it opens for joining at %s\n", num(o, "id"),
               str(o, "opens"));
    }
    json_decref(o);
    return rc;
}

/* session recording ID [on|off]: starts or stops it (when asked), then shows whether the
 * session records and the raw files it has (docs/OPERATOR.md "Recording a session"). */
static int session_recording(ctl_t *c, int argc, char **argv) {
    bool set = argc == 2, on = set && strcmp(argv[1], "on") == 0;
    if (argc < 1 || argc > 2 || parse_id(argv[0]) < 0 ||
        (set && !on && strcmp(argv[1], "off") != 0))
        return bad_usage("session recording ID [on|off]");
    char path[96];
    snprintf(path, sizeof path, "/api/sessions/%lld/recording", parse_id(argv[0]));
    json_t *o = NULL;
    int rc = call(c, set ? "POST" : "GET", path, set ? json_pack("{s:b}", "on", on) : NULL, &o);
    if (rc == EXIT_OK && !c->json) {
        printf("session %lld: %s; files in %s\n", num(o, "session"),
               json_is_true(json_object_get(o, "recording")) ? "recording" : "not recording",
               str(o, "dir"));
        if (num(o, "packets_lost") > 0 || num(o, "stopped_by_relay") > 0)
            printf("  %lld packets left out (the disk did not keep up); stopped %lld time(s) "
                   "by the relay (disk full or failing)\n",
                   num(o, "packets_lost"), num(o, "stopped_by_relay"));
        size_t i;
        json_t *f;
        json_array_foreach(json_object_get(o, "files"), i, f) {
            printf("%12lld  %s\n", num(f, "bytes"), str(f, "name"));
        }
    }
    json_decref(o);
    return rc;
}

/* session hands ID: the queue the operator answers, oldest hand first. */
static int session_hands(ctl_t *c, long long id) {
    char path[96];
    snprintf(path, sizeof path, "/api/sessions/%lld/hands", id);
    json_t *o;
    int rc = call(c, "GET", path, NULL, &o);
    if (rc == EXIT_OK && !c->json) {
        json_t *list = json_object_get(o, "hands");
        if (json_array_size(list) == 0)
            printf("no hand is raised in session %lld\n", id);
        else
            printf("%-3s %-6s %-24s %-20s %s\n", "#", "ID", "TELECENTRE", "SINCE", "WAITING");
        size_t i;
        json_t *h;
        json_array_foreach(list, i, h) {
            printf("%-3zu %-6lld %-24s %-20s %llds\n", i + 1, num(h, "telecentre"), str(h, "name"),
                   str(h, "since"), num(h, "seconds"));
        }
    }
    json_decref(o);
    return rc;
}

/* session promote|demote|mute|remove ID TC [--off]: the operator's controls of a running
 * session, each a POST of {"telecentre": TC} (and "muted" for mute). */
static int session_control(ctl_t *c, int argc, char **argv) {
    static const char *const actions[] = {"promote", "demote", "mute", "remove", NULL};
    bool mute = strcmp(argv[0], "mute") == 0;
    bool off = mute && argc == 4 && strcmp(argv[3], "--off") == 0;
    long long id = argc >= 3 ? parse_id(argv[1]) : -1, tc = argc >= 3 ? parse_id(argv[2]) : -1;
    if (!one_of(argv[0], actions) || id < 0 || tc < 0 || argc != 3 + off)
        return bad_usage("session promote|demote|remove ID TC, session mute ID TC [--off]");
    char path[96];
    snprintf(path, sizeof path, "/api/sessions/%lld/%s", id, argv[0]);
    json_t *body = json_pack("{s:I}", "telecentre", (json_int_t)tc);
    if (mute)
        json_object_set_new(body, "muted", json_boolean(!off));
    json_t *o;
    int rc = call(c, "POST", path, body, &o);
    if (rc == EXIT_OK && !c->json) {
        static const char *const said[] = {
            "promoted: it joins again as a speaker",
            "demoted: it joins again as a viewer",
            "muted: the relay forwards none of its sound",
            "removed: it cannot join this session again",
        };
        size_t k = 0;
        while (strcmp(actions[k], argv[0]) != 0)
            k++;
        printf("telecentre %lld in session %lld %s\n", tc, id,
               off ? "unmuted: the others hear it again" : said[k]);
    }
    json_decref(o);
    return rc;
}

static int session(ctl_t *c, int argc, char **argv) {
    if (argc >= 1 && strcmp(argv[0], "schedule") == 0)
        return session_schedule(c, argc - 1, argv + 1);
    if (argc >= 1 && strcmp(argv[0], "recording") == 0)
        return session_recording(c, argc - 1, argv + 1);
    json_t *o = NULL;
    int rc;
    if (argc >= 1 && strcmp(argv[0], "list") == 0) {
        static const char *const known[] = {"filter", NULL};
        static const char *const filters[] = {"upcoming", "running", "live", "past", "all", NULL};
        const char *filter = opt(argc - 1, argv + 1, "filter");
        if (!only_opts(argc, argv, 1, known) || (filter && !one_of(filter, filters)))
            return bad_usage("session list [--filter upcoming|running|live|past|all]");
        char path[96];
        snprintf(path, sizeof path, "/api/sessions?filter=%s", filter ? filter : "all");
        if ((rc = call(c, "GET", path, NULL, &o)) == EXIT_OK && !c->json) {
            session_header();
            size_t i;
            json_t *s;
            json_array_foreach(json_object_get(o, "sessions"), i, s) {
                print_session(s, false);
            }
        }
    } else if (argc == 2 && parse_id(argv[1]) > 0 &&
               (strcmp(argv[0], "show") == 0 || strcmp(argv[0], "cancel") == 0 ||
                strcmp(argv[0], "end") == 0)) {
        char path[96];
        bool show = strcmp(argv[0], "show") == 0;
        snprintf(path, sizeof path, "/api/sessions/%lld%s%s", parse_id(argv[1]), show ? "" : "/",
                 show ? "" : argv[0]);
        if ((rc = call(c, show ? "GET" : "POST", path, NULL, &o)) == EXIT_OK && !c->json) {
            session_header();
            print_session(o, true);
        }
    } else if (argc == 2 && parse_id(argv[1]) > 0 && strcmp(argv[0], "hands") == 0) {
        return session_hands(c, parse_id(argv[1]));
    } else if (argc >= 1 && (strcmp(argv[0], "promote") == 0 || strcmp(argv[0], "demote") == 0 ||
                             strcmp(argv[0], "mute") == 0 || strcmp(argv[0], "remove") == 0)) {
        return session_control(c, argc, argv);
    } else if (argc == 2 && parse_id(argv[1]) > 0 && strcmp(argv[0], "history") == 0) {
        char path[96];
        snprintf(path, sizeof path, "/api/sessions/%lld/history", parse_id(argv[1]));
        if ((rc = call(c, "GET", path, NULL, &o)) == EXIT_OK && !c->json) {
            printf("%-6s %-24s %-12s %-20s %8s %9s %7s %6s\n", "ID", "TELECENTRE", "ROLE", "JOINED",
                   "MINUTES", "PACKETS", "LOST", "RTT");
            size_t i;
            json_t *r;
            json_array_foreach(json_object_get(o, "history"), i, r) {
                printf("%-6lld %-24s %-12s %-20s %8lld %9lld %7lld %4lldms\n", num(r, "telecentre"),
                       str(r, "name"), str(r, "role"), str(r, "joined"), num(r, "seconds") / 60,
                       num(r, "packets_in"), num(r, "lost"), num(r, "rtt_ms"));
            }
        }
    } else {
        return bad_usage("session schedule|list|show|cancel|end|history|hands|promote|demote|"
                         "mute|remove|recording");
    }
    json_decref(o);
    return rc;
}

static int token(ctl_t *c, int argc, char **argv) {
    static const char *const known[] = {"session", "telecentre", "role", "expires", NULL};
    if (argc < 1 || strcmp(argv[0], "issue") != 0 || !only_opts(argc, argv, 1, known))
        return bad_usage("token issue --session ID --telecentre ID --role ROLE [--expires ISO]");
    const char *s = opt(argc - 1, argv + 1, "session"), *t = opt(argc - 1, argv + 1, "telecentre"),
               *role = opt(argc - 1, argv + 1, "role"), *exp = opt(argc - 1, argv + 1, "expires");
    static const char *const roles[] = {"presenter", "participant", "viewer", NULL};
    if (!s || !t || !role || parse_id(s) < 0 || parse_id(t) < 0 || !one_of(role, roles))
        return bad_usage("token issue needs --session ID, --telecentre ID and "
                         "--role presenter|participant|viewer");
    json_t *body = json_pack("{s:I, s:s}", "telecentre", (json_int_t)parse_id(t), "role", role);
    if (exp)
        json_object_set_new(body, "expires", json_string(exp));
    char path[96];
    snprintf(path, sizeof path, "/api/sessions/%lld/tokens", parse_id(s));
    json_t *o;
    int rc = call(c, "POST", path, body, &o);
    if (rc == EXIT_OK && !c->json)
        printf("%s\n(telecentre %lld, %s, session %lld, valid until %s)\n", str(o, "token"),
               num(o, "telecentre"), str(o, "role"), num(o, "session"), str(o, "expires"));
    json_decref(o);
    return rc;
}

/* Sessions the relay carries now (open for joining, or live), and each telecentre in them
 * as the relay sees its link. */
static int status(ctl_t *c) {
    json_t *o;
    int rc = call(c, "GET", "/api/sessions?filter=running", NULL, &o);
    if (rc != EXIT_OK || c->json) {
        json_decref(o);
        return rc;
    }
    json_t *list = json_object_get(o, "sessions");
    if (json_array_size(list) == 0)
        printf("no session is open or live\n");
    size_t i;
    json_t *s;
    json_array_foreach(list, i, s) {
        printf("session %lld \"%s\", %s until %s\n", num(s, "id"), str(s, "title"), str(s, "state"),
               str(s, "end"));
        char path[96];
        snprintf(path, sizeof path, "/api/sessions/%lld/live", num(s, "id"));
        json_t *live;
        bool quiet = c->json;
        c->json = false;
        rc = call(c, "GET", path, NULL, &live);
        c->json = quiet;
        if (rc != EXIT_OK)
            break;
        printf("  %-6s %-24s %-12s %-6s %9s %7s %6s %7s  %s\n", "ID", "TELECENTRE", "ROLE", "BOUND",
               "KBIT/S IN", "LOST", "RTT", "JITTER", "RECEIVES (id:layer/temporal)");
        size_t k;
        json_t *p;
        json_array_foreach(json_object_get(live, "participants"), k, p) {
            printf("  %-6lld %-24s %-12s %-6s %9lld %7lld %4lldms %5lldms ", num(p, "telecentre"),
                   str(p, "name"), str(p, "role"),
                   json_is_true(json_object_get(p, "bound")) ? "yes" : "no",
                   num(p, "bitrate_in_bps") / 1000, num(p, "lost"), num(p, "rtt_ms"),
                   num(p, "jitter_ms"));
            size_t n;
            json_t *l;
            json_array_foreach(json_object_get(p, "receiving"), n, l) {
                printf(" %lld:%lld/%lld", num(l, "telecentre"), num(l, "spatial"),
                       num(l, "temporal"));
            }
            printf("\n");
        }
        json_decref(live);
    }
    json_decref(o);
    return rc;
}

int main(int argc, char **argv) {
    static const struct option longs[] = {
        {"server", required_argument, NULL, 's'},
        {"key-file", required_argument, NULL, 'k'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    ctl_t c = {.server = getenv("CHASQUI_SERVER"), .key_file = getenv("CHASQUI_KEY_FILE")};
    if (c.server == NULL)
        c.server = "http://127.0.0.1:8080";
    if (c.key_file == NULL)
        c.key_file = "var/operator.key";
    int ch;
    opterr = 0;
    /* "+": options stop at the command, whose own options follow it. */
    while ((ch = getopt_long(argc, argv, "+", longs, NULL)) != -1) {
        switch (ch) {
        case 's':
            c.server = optarg;
            break;
        case 'k':
            c.key_file = optarg;
            break;
        case 'j':
            c.json = true;
            break;
        case 'h':
            usage(stdout);
            return EXIT_OK;
        default:
            return bad_usage("unknown option");
        }
    }
    if (optind >= argc)
        return bad_usage("no command");
    if (help_asked(argc - optind, argv + optind))
        return EXIT_OK;
    if (cq_httpc_url_parse(c.server, &c.url) != 0)
        return bad_usage("--server must be like http://host:port");
    const char *cmd = argv[optind];
    int n = argc - optind - 1;
    char **rest = argv + optind + 1;
    if (strcmp(cmd, "telecentre") == 0)
        return telecentre(&c, n, rest);
    if (strcmp(cmd, "session") == 0)
        return session(&c, n, rest);
    if (strcmp(cmd, "token") == 0)
        return token(&c, n, rest);
    if (strcmp(cmd, "status") == 0 && n == 0)
        return status(&c);
    return bad_usage("unknown command");
}
