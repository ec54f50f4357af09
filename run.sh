#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine, builds chasqui (optimised, in build/) and runs the
# main job: the district relay, chasqui-relay (Ctrl-C stops it). Arguments go to it.
#   ./run.sh demo [seconds]   instead: a server and three synthetic telecentres in one
#                             session (scripts/demo.sh), results under var/demo/
set -euo pipefail
cd "$(dirname "$0")"

./scripts/install-deps.sh

jobs=$(nproc 2>/dev/null || echo 2)
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCHASQUI_TESTS=OFF >/dev/null
cmake --build build -j"$jobs"

if [ "${1:-}" = demo ]; then
    shift
    exec ./scripts/demo.sh "$@"
fi

if [ -x build/bin/chasqui-relay ]; then
    exec build/bin/chasqui-relay "$@"
fi

echo "run.sh: build/bin/chasqui-relay was not built; see the build output above." >&2
exit 1
