#!/bin/sh
# Generate a tree of large files: gen-dataset-large.sh DIR [TOTAL_MB] [FILE_MB]
# TOTAL_MB (default 2048) of random data in files of FILE_MB (default 128).
set -eu
dir=${1:?usage: gen-dataset-large.sh DIR [TOTAL_MB] [FILE_MB]}
total=${2:-2048}
each=${3:-128}
mkdir -p "$dir"
n=$(( (total + each - 1) / each ))
i=0
while [ "$i" -lt "$n" ]; do
    head -c "$((each * 1024 * 1024))" /dev/urandom > "$dir/$(printf 'plate.%04d.exr' "$i")"
    i=$((i + 1))
done
