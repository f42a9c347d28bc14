#!/bin/sh
# Render record and check of the generated benchmark script, this checkout against an
# earlier commit, side by side in one run (the ratio is old/new: above 1 means faster now).
#
#   scripts/bench-compare.sh REV               5,000 nodes, 1,000 frames, 5 runs
#   NODES=50000 RUNS=3 scripts/bench-compare.sh HEAD~3
#
# REV is built in a temporary git worktree (removed afterwards). Both binaries read the
# same generated script; caches start empty for each record run and hold a master for
# each check run. Needs hyperfine (apt-get install -y hyperfine).
#
# On a loaded machine wall time is noise: COUNT=instructions counts the instructions
# each run executes with valgrind's callgrind instead (repeatable whatever else runs;
# about 40x slower), and prints old/new of those.
set -eu
rev=${1:?usage: scripts/bench-compare.sh REV}
NODES=${NODES:-5000}
FRAMES=${FRAMES:-1000}
RUNS=${RUNS:-5}
here=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/smartcache-bench-compare.XXXXXX")
old="$work/old"
cleanup() {
    git -C "$here" worktree remove --force "$old" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT INT TERM
unset CRAGL_SMARTCACHE_DELETE_SETUP_SOURCE_FILE SMARTCACHE_RULES SMARTCACHE_PROFILE || true

git -C "$here" worktree add --detach "$old" "$rev" >/dev/null 2>&1
(cd "$old" && CARGO_TARGET_DIR="$work/old-target" cargo build --release --quiet --bin smartcache)
(cd "$here" && cargo build --release --quiet --bin smartcache --example gen_script)
new_sc="$here/target/release/smartcache"
old_sc="$work/old-target/release/smartcache"
"$here/target/release/examples/gen_script" --nodes "$NODES" --animated 0.1 --frames "$FRAMES" > "$work/bench.nk"
frames="1001-$((1000 + FRAMES))"

median() {
    sed -n 's/.*"median": *\([0-9.e+-]*\).*/\1/p' "$1" | head -1
}

count_instructions() { # CACHE-PREP CMD...: instructions CMD executes
    prep=$1
    shift
    sh -c "$prep"
    valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 >/dev/null |
        sed -n 's/.*Collected : *\([0-9]*\).*/\1/p'
}

if [ "${COUNT:-time}" = instructions ]; then
    for what in record check; do
        for side in old new; do
            eval sc=\$${side}_sc
            cache="$work/cache-$side"
            if [ "$what" = record ]; then
                prep="rm -rf $cache"
            else
                prep="true"
            fi
            n=$(count_instructions "$prep" "$sc" "$what" "$work/bench.nk" --node Write1 \
                --frames "$frames" --cache-dir "$cache")
            eval "${what}_$side=$n"
        done
        eval o=\$${what}_old
        eval n=\$${what}_new
        awk -v w="$what" -v o="$o" -v n="$n" -v r="$rev" 'BEGIN {
            printf "%-7s %s: %14.0f instructions   this checkout: %14.0f   old/new = %.2f\n", w, r, o, n, o/n }'
    done
    exit 0
fi

for what in record check; do
    for side in old new; do
        eval sc=\$${side}_sc
        cache="$work/cache-$side"
        args="$what $work/bench.nk --node Write1 --frames $frames --cache-dir $cache"
        if [ "$what" = record ]; then
            prep="rm -rf $cache"
        else
            rm -rf "$cache"
            "$sc" record "$work/bench.nk" --node Write1 --frames "$frames" --cache-dir "$cache" >/dev/null
            prep="true"
        fi
        hyperfine -N -i --runs "$RUNS" --prepare "$prep" --export-json "$work/$what-$side.json" \
            "$sc $args" >/dev/null 2>&1
    done
    o=$(median "$work/$what-old.json")
    n=$(median "$work/$what-new.json")
    awk -v w="$what" -v o="$o" -v n="$n" -v r="$rev" 'BEGIN {
        printf "%-7s %s: %8.1f ms   this checkout: %8.1f ms   old/new = %.2f\n", w, r, o*1000, n*1000, o/n }'
done
