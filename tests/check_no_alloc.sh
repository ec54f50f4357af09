#!/bin/sh
# Fails if a static archive refers to any C heap allocator. Used by ctest on the pure
# layers (rtp/, the payload half of codec/), which must work in caller-owned buffers only.
set -eu
archive=$1
[ -f "$archive" ] || { echo "no such archive: $archive" >&2; exit 2; }
found=$(nm -u "$archive" | awk '{print $NF}' |
    grep -Ex '(malloc|calloc|realloc|reallocarray|free|strdup|strndup|aligned_alloc|posix_memalign|memalign|valloc|asprintf|vasprintf)(@.*)?' |
    sort -u || true)
if [ -n "$found" ]; then
    echo "$archive refers to the heap allocator:" >&2
    # Name the object files that do, to point at the culprit.
    nm -A -u "$archive" | grep -Ew "$(echo "$found" | paste -sd'|')" >&2
    exit 1
fi
echo "$(basename "$archive"): no allocator symbols"
