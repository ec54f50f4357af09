#include "tools/bench/callgrind.h"

#include <fcntl.h>
#include <inttypes.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <jansson.h>

extern char **environ;

/* Valgrind runs the forwarders some 50 times slower: by default they are offered what
 * makes about this many copies a second, which they forward without falling behind
 * (a backlog left at the end would be counted in instructions and not in packets). */
#define DEFAULT_OUT_PPS  3000.0
#define DEFAULT_DURATION "2"

typedef struct {
    char *mode; /* --mode of the child */
    char *fn;   /* what callgrind collects */
    uint64_t ir, forwarded;
} measurement_t;

/* The child's command line: valgrind, then this program with argv's options, less those
 * this run sets itself. */
static char **child_args(char *self, int argc, char **argv, char *toggle, char *out, char *mode,
                         char *rate_default) {
    char **a = calloc((size_t)argc + 16, sizeof *a);
    if (a == NULL)
        return NULL;
    size_t n = 0;
    bool rate = false, duration = false;
    a[n++] = "valgrind";
    a[n++] = "--quiet";
    a[n++] = "--tool=callgrind";
    a[n++] = "--collect-atstart=no";
    a[n++] = toggle;
    a[n++] = out;
    a[n++] = self;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--callgrind") == 0 || strcmp(argv[i], "--json") == 0 ||
            strncmp(argv[i], "--mode=", 7) == 0)
            continue;
        if (strcmp(argv[i], "--mode") == 0) {
            i++;
            continue;
        }
        rate |= strncmp(argv[i], "--rate", 6) == 0;
        duration |= strncmp(argv[i], "--duration", 10) == 0;
        a[n++] = argv[i];
    }
    if (!rate) {
        a[n++] = "--rate";
        a[n++] = rate_default;
    }
    if (!duration) {
        a[n++] = "--duration";
        a[n++] = DEFAULT_DURATION;
    }
    a[n++] = "--mode";
    a[n++] = mode;
    a[n++] = "--json";
    return a;
}

/* The total of the events callgrind collected (its "totals:" line). */
static int read_totals(const char *path, uint64_t *ir) {
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    char line[512];
    int found = -1;
    while (fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "totals: %" SCNu64, ir) == 1 || sscanf(line, "summary: %" SCNu64, ir) == 1)
            found = 0;
    fclose(f);
    return found;
}

static int run_one(char *self, int argc, char **argv, char *rate, const char *dir,
                   measurement_t *m) {
    char toggle[128], out[512], json[512];
    snprintf(toggle, sizeof toggle, "--toggle-collect=%s", m->fn);
    snprintf(out, sizeof out, "--callgrind-out-file=%s/%s.callgrind", dir, m->mode);
    snprintf(json, sizeof json, "%s/%s.json", dir, m->mode);
    char **args = child_args(self, argc, argv, toggle, out, m->mode, rate);
    if (args == NULL)
        return -1;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, json, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    pid_t pid;
    int status = 0;
    int err = posix_spawnp(&pid, "valgrind", &fa, NULL, args, environ);
    posix_spawn_file_actions_destroy(&fa);
    free(args);
    if (err != 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0) {
        fprintf(stderr, "chasqui-bench: valgrind (%s) failed\n", m->mode);
        return -1;
    }
    json_error_t jerr;
    json_t *j = json_load_file(json, 0, &jerr);
    json_t *total = json_object_get(json_object_get(j, m->mode), "forwarded_measured");
    m->forwarded = json_is_integer(total) ? (uint64_t)json_integer_value(total) : 0;
    json_decref(j);
    if (m->forwarded == 0 || read_totals(out + strlen("--callgrind-out-file="), &m->ir) != 0) {
        fprintf(stderr, "chasqui-bench: no count in %s\n", dir);
        return -1;
    }
    return 0;
}

int cq_bench_callgrind(char *self, int argc, char **argv, const cq_bench_opts_t *o) {
    cq_bench_scenario_t sc;
    if (cq_bench_scenario_create(&sc, o->kind, o->size, o->sessions, o->suite) != 0)
        return -1;
    char rate[32];
    snprintf(rate, sizeof rate, "%.0f", DEFAULT_OUT_PPS * sc.in_pps / sc.out_pps);
    cq_bench_scenario_close(&sc);
    char dir[] = "/tmp/chasqui-bench-callgrind.XXXXXX";
    if (mkdtemp(dir) == NULL) {
        perror("chasqui-bench: mkdtemp");
        return -1;
    }
    measurement_t m[2] = {{.mode = "relay", .fn = "cq_router_on_readable"},
                          {.mode = "limit", .fn = "cq_bench_limit_on_readable"}};
    for (int i = 0; i < 2; i++)
        if (run_one(self, argc, argv, rate, dir, &m[i]) != 0)
            return -1;
    double relay = (double)m[0].ir / (double)m[0].forwarded;
    double limit = (double)m[1].ir / (double)m[1].forwarded;
    bool json = false;
    for (int i = 1; i < argc; i++)
        json |= strcmp(argv[i], "--json") == 0;
    if (json) {
        json_t *j =
            json_pack("{s:{s:f, s:f, s:f, s:I, s:I, s:s}}", "callgrind", "relay_ir_per_packet",
                      relay, "limit_ir_per_packet", limit, "ratio", relay > 0 ? limit / relay : 0,
                      "relay_forwarded", (json_int_t)m[0].forwarded, "limit_forwarded",
                      (json_int_t)m[1].forwarded, "files", dir);
        json_dumpf(j, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(6));
        fputc('\n', stdout);
        json_decref(j);
    } else {
        printf("relay  %.0f instructions per forwarded packet (%" PRIu64 " packets)\n", relay,
               m[0].forwarded);
        printf("limit  %.0f instructions per forwarded packet (%" PRIu64 " packets)\n", limit,
               m[1].forwarded);
        printf("ratio  %.3f (limit / relay)\ncallgrind files in %s\n",
               relay > 0 ? limit / relay : 0, dir);
    }
    return 0;
}
