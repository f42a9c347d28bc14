#!/bin/sh
# Side-by-side benchmarks of the dataset cache against reference tools, on generated
# trees in a temporary directory. Prints medians and ratios.
#
#   scripts/bench-dataset.sh            100,000 small files and a 2 GB tree
#   SMALL=20000 LARGE_MB=512 scripts/bench-dataset.sh     a quicker run
#
# Targets:
#   1. `smartcache dataset status` on 100,000 unchanged files no slower than `git status`
#      on the same files committed to a git repository (ratio git/smartcache >= 1).
#   2. Hashing throughput of a cold-index `status` (every file read) at least 0.8x that of
#      `xxhsum -H2` over the same files, page cache warm (ratio xxhsum/smartcache >= 0.8).
#
# Needs git and xxhsum; uses hyperfine when installed (Debian/Ubuntu:
# `apt-get install -y hyperfine xxhash`), else a plain timing loop.
set -eu
SMALL=${SMALL:-100000}
LARGE_MB=${LARGE_MB:-2048}
RUNS=${RUNS:-10}
here=$(cd "$(dirname "$0")/.." && pwd)

need() {
    command -v "$1" >/dev/null 2>&1 || { echo "missing: $1 ($2)" >&2; exit 2; }
}
need git "apt-get install -y git"
need xxhsum "apt-get install -y xxhash"
if ! command -v hyperfine >/dev/null 2>&1; then
    echo "note: hyperfine not found (apt-get install -y hyperfine); using a timing loop" >&2
fi

(cd "$here" && cargo build --release --quiet --bin smartcache)
sc="$here/target/release/smartcache"
work=$(mktemp -d "${TMPDIR:-/tmp}/smartcache-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
echo "work dir: $work"

# median_ms CMD...: median wall time of RUNS runs, in milliseconds (after 2 warm-ups).
median_ms() {
    if command -v hyperfine >/dev/null 2>&1; then
        hyperfine -N -i --warmup 2 --runs "$RUNS" --export-json "$work/h.json" "$*" >/dev/null 2>&1
        sed -n 's/.*"median": *\([0-9.e+-]*\).*/\1/p' "$work/h.json" | head -1 |
            awk '{ printf "%.1f", $1 * 1000 }'
    else
        i=0
        while [ "$i" -lt $((RUNS + 2)) ]; do
            s=$(date +%s%N); sh -c "$*" >/dev/null 2>&1 || true; e=$(date +%s%N)
            [ "$i" -ge 2 ] && echo $(( (e - s) / 1000 ))
            i=$((i + 1))
        done | sort -n | awk '{ a[NR] = $1 } END { printf "%.1f", a[int((NR + 1) / 2)] / 1000 }'
    fi
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

echo "== small files: $SMALL files"
"$here/scripts/gen-dataset-small.sh" "$work/small" "$SMALL"
git --git-dir="$work/small.git" --work-tree="$work/small" init -q
git --git-dir="$work/small.git" --work-tree="$work/small" add -A
git --git-dir="$work/small.git" --work-tree="$work/small" -c user.name=b -c user.email=b@b commit -qm gen
# Records made within the racy window of the files' writes would be re-read on every
# status (as git does for racily clean entries); build once the window has passed.
sleep 3
"$sc" dataset build "$work/small" --cache "$work/small-cache" --variant v --exec 'printf %s {in} > {out}' >/dev/null
cat "$work/small.git/index" >/dev/null
sc_ms=$(median_ms "$sc dataset status $work/small --cache $work/small-cache --variant v")
git_ms=$(median_ms "git --git-dir=$work/small.git --work-tree=$work/small status --porcelain")
echo "status unchanged:  smartcache ${sc_ms} ms   git status ${git_ms} ms   git/smartcache = $(ratio "$git_ms" "$sc_ms") (target >= 1)"
"$sc" dataset status "$work/small" --cache "$work/small-cache" --variant v | tail -1

find "$work/small" -type f > "$work/small.list"
cold_ms=$(median_ms "$sc dataset status $work/small --cache $work/empty-cache-small")
xxh_ms=$(median_ms "xargs -a $work/small.list xxhsum -H2")
echo "cold hash small:   smartcache ${cold_ms} ms   xxhsum -H2 ${xxh_ms} ms   xxhsum/smartcache = $(ratio "$xxh_ms" "$cold_ms") (target >= 0.8)"
rm -rf "$work/small" "$work/small.git" "$work/small-cache" "$work/empty-cache-small"

echo "== large files: $LARGE_MB MB"
"$here/scripts/gen-dataset-large.sh" "$work/large" "$LARGE_MB"
cat "$work"/large/* >/dev/null
mb=$(du -sm "$work/large" | cut -f1)
cold_ms=$(median_ms "$sc dataset status $work/large --cache $work/empty-cache-large")
large_files=$(ls "$work"/large/* | tr "\n" " ")
xxh_ms=$(median_ms "xxhsum -H2 $large_files")
echo "cold hash large:   smartcache ${cold_ms} ms ($(awk -v m="$mb" -v t="$cold_ms" 'BEGIN{printf "%.0f", m / t * 1000}') MB/s)   xxhsum -H2 ${xxh_ms} ms ($(awk -v m="$mb" -v t="$xxh_ms" 'BEGIN{printf "%.0f", m / t * 1000}') MB/s)   xxhsum/smartcache = $(ratio "$xxh_ms" "$cold_ms") (target >= 0.8)"
