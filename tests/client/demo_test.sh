#!/usr/bin/env bash
# README's demo as a test: scripts/demo.sh, shortened, on the binaries just built. Every
# telecentre must have received every other one with clean pictures and sound.
# Usage: demo_test.sh path/to/bin
set -u
bin=$(realpath "$1")
here=$(dirname "$(realpath "$0")")
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
CHASQUI_BIN="$bin" CHASQUI_DEMO_OUT="$out/demo" "$here/../../scripts/demo.sh" 6 >"$out/table" 2>&1 ||
    { echo "FAIL: demo exited $?"; cat "$out/table"; exit 1; }
cat "$out/table"
rows=$(awk '$1 ~ /^(Cachicoto|Anda|Pucayacu)$/ && $3 > 20 && $5 > 30 && $8 > 150' "$out/table" | wc -l)
[ "$rows" = 6 ] || { echo "FAIL: $rows of 6 pairs received clean pictures and sound"; exit 1; }
for n in Cachicoto Anda Pucayacu; do
    [ "$(find "$out/demo/$n" -name '*.y4m' -size +1k | wc -l)" = 2 ] ||
        { echo "FAIL: $n recorded $(ls "$out/demo/$n")"; exit 1; }
done
