#!/usr/bin/env bash
# Checks that every C file follows the committed .clang-format; with --fix, rewrites them.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files -co --exclude-standard -- '*.c' '*.h' 2>/dev/null ||
    find rtp codec relay signaling client tools tests fuzz -name '*.[ch]' 2>/dev/null)
[ ${#files[@]} -eq 0 ] && exit 0
if [ "${1:-}" = "--fix" ]; then
    clang-format -i "${files[@]}"
    exit 0
fi
if ! clang-format --dry-run --Werror "${files[@]}" 2>/tmp/chasqui-format.$$; then
    echo "check-format: these files differ from .clang-format (run scripts/check-format.sh --fix):" >&2
    grep -o '^[^:]*\.[ch]' /tmp/chasqui-format.$$ | sort -u >&2
    rm -f /tmp/chasqui-format.$$
    exit 1
fi
rm -f /tmp/chasqui-format.$$
