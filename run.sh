#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine, builds chasqui (optimised, in build/) and runs the
# main job: the district relay, once it exists. Arguments go to the relay.
set -euo pipefail
cd "$(dirname "$0")"

./scripts/install-deps.sh

jobs=$(nproc 2>/dev/null || echo 2)
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCHASQUI_TESTS=OFF >/dev/null
cmake --build build -j"$jobs"

if [ -x build/bin/chasqui-relay ]; then
    exec build/bin/chasqui-relay "$@"
fi

# The daemon is issue 3/4 work; until it lands, say plainly what this build contains.
echo "chasqui $(sed -n 's/^project(chasqui VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt): the relay daemon is not built yet."
echo "Built so far (build/lib):"
for lib in build/lib/*.a; do
    [ -e "$lib" ] && echo "  $(basename "$lib")"
done
echo "Run ./test.sh to build and run every test."
