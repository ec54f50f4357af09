#!/usr/bin/env bash
# cppcheck over chasqui's own sources (not tests or fuzz targets, which poke at edges on
# purpose). Warnings, portability and performance findings fail the run; style is left to
# the compiler's warnings and clang-format.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files -co --exclude-standard -- \
    'rtp/*.c' 'cc/*.c' 'codec/*.c' 'relay/*.c' 'signaling/*.c' 'client/*.c' 'tools/*.c' 2>/dev/null)
[ ${#files[@]} -eq 0 ] && exit 0
cppcheck --quiet --enable=warning,portability,performance --inline-suppr \
    --error-exitcode=1 -I . "${files[@]}"
