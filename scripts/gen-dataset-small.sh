#!/bin/sh
# Generate a tree of many small files: gen-dataset-small.sh DIR [COUNT]
# COUNT files (default 100000) of 64..4159 bytes, 1000 per directory, distinct contents.
# Deterministic: the same COUNT gives the same tree.
set -eu
dir=${1:?usage: gen-dataset-small.sh DIR [COUNT]}
count=${2:-100000}
mkdir -p "$dir"
ndirs=$(( (count + 999) / 1000 ))
i=0
while [ "$i" -lt "$ndirs" ]; do mkdir -p "$dir/$(printf 'd%03d' "$i")"; i=$((i + 1)); done
awk -v root="$dir" -v n="$count" 'BEGIN {
    line = "";
    for (k = 0; k < 64; k++) line = line sprintf("%c", 97 + (k * 7) % 26);
    seed = 12345;
    for (i = 0; i < n; i++) {
        f = sprintf("%s/d%03d/f%06d.dat", root, int(i / 1000), i);
        seed = (seed * 1103515245 + 12345) % 2147483648;
        len = 64 + seed % 4096;
        s = sprintf("file %d seed %d\n", i, seed);
        while (length(s) < len) s = s line "\n";
        printf "%s", substr(s, 1, len) > f;
        close(f);
    }
}'
