/*
 * chasqui-bench --callgrind: instructions per forwarded packet, counted by valgrind's
 * callgrind, which (unlike time) do not change with what else the machine runs.
 *
 * The bench runs itself twice under valgrind, once measuring the relay and once the
 * limit forwarder, at a fixed low rate (valgrind runs ~50x slower: by default what makes
 * about 3,000 copies a second; --rate overrides it), each time collecting only inside the
 * forwarder's
 * receive handler (--toggle-collect: the relay's cq_router_on_readable, the limit's
 * cq_bench_limit_on_readable), which holds everything a packet costs from recvmmsg to
 * sendmmsg, SRTP included, and nothing of the generator or the receivers. The relay's
 * timer work (RTCP, consent, pacing) runs outside it and is not counted. The counts are
 * zeroed once set-up is over (bindings, every SSRC's first packet, the warm-up: run.c) and
 * each total is divided by the packets that forwarder sent on from then. Needs valgrind
 * on PATH (its header, valgrind/callgrind.h, is a build dependency).
 */
#ifndef CQ_TOOLS_BENCH_CALLGRIND_H
#define CQ_TOOLS_BENCH_CALLGRIND_H

#include "tools/bench/run.h"

/* Runs the two measurements of the scenario o with the command line argv (whose
 * --callgrind is dropped, and --mode and --json replaced) and prints the result, as JSON
 * if argv asks for --json.
 * Returns 0, or -1 when valgrind could not run or its output could not be read. */
int cq_bench_callgrind(char *self, int argc, char **argv, const cq_bench_opts_t *o);

#endif
