#!/bin/sh
# Side-by-side benchmarks of the dataset cache against reference tools, on generated
# trees in a temporary directory, in one run. Prints times, ratios and peak memory.
#
#   scripts/bench-dataset.sh                       100,000 small files and a 2 GB tree
#   SMALL=20000 LARGE_MB=0 scripts/bench-dataset.sh    a quicker run (no large files)
#   STATUS_ONLY=1 scripts/bench-dataset.sh         only step 2 (the cache is built
#                                                  once, with the worker, untimed)
#   ROUNDS=3                                       step 2 alternates the commands in
#                                                  rounds and reports the median round
#
# The binaries are taken from $CARGO_TARGET_DIR (default: target/).
#
# On SMALL files (default 100,000):
#   1. build, each into a new cache, 2 job slots: `--exec 'cp {in} {out}'` against
#      `xargs -P2 -n2 cp` over the same files (goal: --exec at least as fast), the same
#      copy under `sh -c` per item (how every --exec ran before direct execution), and a
#      copying `--worker` (scripts/copy-worker.py; goal: 10x the per-item --exec).
#   2. `status` of the unchanged tree against `git status` on the same files committed
#      to git (goal: git/smartcache >= 2). Both as a user runs them by default:
#      `smartcache dataset status DIR --cache C --variant v` (text report: a summary and
#      the files needing attention) and `git status --porcelain` in a repository made by
#      `git init` with no configuration (--porcelain changes only the output format). So
#      git runs with its defaults: core.preloadIndex on (the index entries are lstat'ed
#      by up to 20 threads), core.untrackedCache off and no fsmonitor (every directory
#      is read to find untracked files), status.showUntrackedFiles=normal; its index is
#      in the page cache (read once before). Also printed: the CPU time (user + system)
#      of each, and `find DIR -type f -size -1G` as a reference for the system calls any
#      such status needs (one getdents64 per directory and one fstatat per file, one
#      thread, nothing else). The walking status runs with SMARTCACHE_NO_WATCH=1; the
#      same status is also timed with `smartcache dataset watch` serving the tree
#      (started before the rounds, idle during the others; its own peak is printed).
#   3. `get` per call: the CLI (a process per lookup; goal: a few ms) and the library
#      (one handle, many lookups: examples/dataset_get.rs; goal: microseconds).
#   4. cold-index `status` (every file hashed) against `xxhsum -H2` (goal >= 0.8).
# On LARGE_MB of 128 MB files (0 skips): cold-index status against `xxhsum -H2`.
# Peak memory (max RSS) is printed for each command.
#
# Needs git, xxhsum, python3 and GNU time (/usr/bin/time); uses hyperfine when
# installed (Debian/Ubuntu: `apt-get install -y hyperfine xxhash time`), else a plain
# timing loop. Builds are timed once each (they take minutes on 100,000 files).
set -eu
SMALL=${SMALL:-100000}
LARGE_MB=${LARGE_MB:-2048}
RUNS=${RUNS:-10}
STATUS_ONLY=${STATUS_ONLY:-0}
ROUNDS=${ROUNDS:-3}
here=$(cd "$(dirname "$0")/.." && pwd)
target=${CARGO_TARGET_DIR:-$here/target}

need() {
    command -v "$1" >/dev/null 2>&1 || { echo "missing: $1 ($2)" >&2; exit 2; }
}
need git "apt-get install -y git"
need xxhsum "apt-get install -y xxhash"
need python3 "apt-get install -y python3"
[ -x /usr/bin/time ] || { echo "missing: /usr/bin/time (apt-get install -y time)" >&2; exit 2; }
if ! command -v hyperfine >/dev/null 2>&1; then
    echo "note: hyperfine not found (apt-get install -y hyperfine); using a timing loop" >&2
fi

(cd "$here" && cargo build --release --quiet --bin smartcache --example dataset_get)
sc="$target/release/smartcache"
get_lib="$target/release/examples/dataset_get"
work=$(mktemp -d "${TMPDIR:-/tmp}/smartcache-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
echo "work dir: $work ($(nproc) cores; load: $(cut -d' ' -f1-3 /proc/loadavg))"

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

# cpu_ms: mean CPU time (user + system) of the last median_ms run, in milliseconds.
cpu_ms() {
    if [ -f "$work/h.json" ]; then
        u=$(sed -n 's/.*"user": *\([0-9.e+-]*\).*/\1/p' "$work/h.json" | head -1)
        y=$(sed -n 's/.*"system": *\([0-9.e+-]*\).*/\1/p' "$work/h.json" | head -1)
        awk -v u="$u" -v y="$y" 'BEGIN { printf "%.1f", (u + y) * 1000 }'
    else
        echo "n/a"
    fi
}

# timed CMD...: run once; sets $secs (wall) and $mb (max RSS, MB).
timed() {
    /usr/bin/time -f "%e %M" -o "$work/t" sh -c "$*" >"$work/out" 2>&1 || true
    secs=$(tail -1 "$work/t" | cut -d' ' -f1)
    mb=$(tail -1 "$work/t" | awk '{ printf "%.1f", $2 / 1024 }')
}

# peak_mb CMD...: max RSS of one run, in MB.
peak_mb() {
    timed "$@"
    echo "$mb"
}

median_of() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.0f", n / s }'; }

echo "== small files: $SMALL files"
"$here/scripts/gen-dataset-small.sh" "$work/small" "$SMALL"
find "$work/small" -type f | sort > "$work/small.list"
git --git-dir="$work/small.git" --work-tree="$work/small" init -q
git --git-dir="$work/small.git" --work-tree="$work/small" add -A
git --git-dir="$work/small.git" --work-tree="$work/small" -c user.name=b -c user.email=b@b commit -qm gen
# Records made within the racy window of the files' writes would be re-read on every
# status (as git does for racily clean entries); build once the window has passed.
sleep 3
sync

if [ "$STATUS_ONLY" = 1 ]; then
    timed "$sc dataset build $work/small --cache $work/cache --variant v --worker 'exec python3 $here/scripts/copy-worker.py' -j 2"
    # The index is written once the racy window of the build's records has passed, as
    # after the builds below.
    sleep 3
else
timed "$sc dataset build $work/small --cache $work/c-exec --variant v --exec 'cp {in} {out}' -j 2"
exec_s=$secs; exec_mb=$mb
mkdir -p "$work/xargs-out"
awk -v o="$work/xargs-out" '{ printf "%s %s/%d\n", $0, o, NR }' "$work/small.list" > "$work/pairs"
sync
timed "xargs -P2 -n2 cp < $work/pairs"
xargs_s=$secs; xargs_mb=$mb
rm -rf "$work/xargs-out" "$work/c-exec"
sync
timed "$sc dataset build $work/small --cache $work/c-sh --variant v --exec 'cp {in} {out};' -j 2"
sh_s=$secs; sh_mb=$mb
rm -rf "$work/c-sh"
sync
timed "$sc dataset build $work/small --cache $work/cache --variant v --worker 'exec python3 $here/scripts/copy-worker.py' -j 2"
worker_s=$secs; worker_mb=$mb
echo "build --exec cp:   ${exec_s} s ($(rate "$SMALL" "$exec_s") files/s, ${exec_mb} MB)   xargs -P2 -n2 cp ${xargs_s} s (${xargs_mb} MB)   xargs/smartcache = $(ratio "$xargs_s" "$exec_s") (goal >= 1)"
echo "build --exec sh:   ${sh_s} s ($(rate "$SMALL" "$sh_s") files/s, ${sh_mb} MB)   (\`cp {in} {out};\` runs under sh -c, as every --exec did before)"
echo "build --worker:    ${worker_s} s ($(rate "$SMALL" "$worker_s") files/s, ${worker_mb} MB)   --exec cp / --worker = $(ratio "$exec_s" "$worker_s"), --exec sh / --worker = $(ratio "$sh_s" "$worker_s") (goal >= 10)"
timed "$sc dataset build $work/small --cache $work/cache --variant v --worker 'exec python3 $here/scripts/copy-worker.py' -j 2"
noop_s=$secs; noop_mb=$mb
fi

cat "$work/small.git/index" >/dev/null
"$sc" dataset watch "$work/small" --cache "$work/cache" 2>"$work/watch.log" &
watcher=$!
trap 'kill $watcher 2>/dev/null || true; rm -rf "$work"' EXIT INT TERM
tries=0
until "$sc" dataset status "$work/small" --cache "$work/cache" --variant v --json 2>/dev/null | grep -q '"watched": true'; do
    tries=$((tries + 1))
    [ "$tries" -lt 300 ] || { echo "the watcher did not start:" >&2; cat "$work/watch.log" >&2; exit 2; }
    sleep 0.1
done
# On a shared machine the load moves within seconds: the three commands take turns,
# ROUNDS times (RUNS runs each per round), and the median of the rounds is reported.
sc_r=""; git_r=""; find_r=""; scc_r=""; gitc_r=""; findc_r=""; per_round=""
w_r=""; wc_r=""; w_round=""
walking="env SMARTCACHE_NO_WATCH=1 $sc dataset status $work/small --cache $work/cache --variant v"
round=0
while [ "$round" -lt "$ROUNDS" ]; do
    s=$(median_ms "$walking")
    sc_r="$sc_r $s"; scc_r="$scc_r $(cpu_ms)"
    g=$(median_ms "git --git-dir=$work/small.git --work-tree=$work/small status --porcelain")
    git_r="$git_r $g"; gitc_r="$gitc_r $(cpu_ms)"
    f=$(median_ms "find $work/small -type f -size -1G")
    find_r="$find_r $f"; findc_r="$findc_r $(cpu_ms)"
    w=$(median_ms "$sc dataset status $work/small --cache $work/cache --variant v")
    w_r="$w_r $w"; wc_r="$wc_r $(cpu_ms)"
    per_round="$per_round $(ratio "$g" "$s")"
    w_round="$w_round $(ratio "$g" "$w")"
    round=$((round + 1))
done
sc_ms=$(median_of $sc_r); sc_cpu=$(median_of $scc_r)
git_ms=$(median_of $git_r); git_cpu=$(median_of $gitc_r)
find_ms=$(median_of $find_r); find_cpu=$(median_of $findc_r)
w_ms=$(median_of $w_r); w_cpu=$(median_of $wc_r)
sc_mb=$(peak_mb "$walking")
w_mb=$(peak_mb "$sc dataset status $work/small --cache $work/cache --variant v")
watcher_mb=$(awk '/VmHWM/ { printf "%.1f", $2 / 1024 }' /proc/$watcher/status)
git_mb=$(peak_mb "git --git-dir=$work/small.git --work-tree=$work/small status --porcelain")
echo "status unchanged:  smartcache ${sc_ms} ms (${sc_mb} MB)   git status ${git_ms} ms (${git_mb} MB)   git/smartcache = $(ratio "$git_ms" "$sc_ms") (goal >= 2)"
echo "  per round (git/smartcache):${per_round}   CPU (user+sys): smartcache ${sc_cpu} ms, git status ${git_cpu} ms"
echo "  find -size (1 thread: getdents64 + fstatat only) ${find_ms} ms wall, ${find_cpu} ms CPU: git/find = $(ratio "$git_ms" "$find_ms")"
echo "status, watched:   smartcache ${w_ms} ms (${w_mb} MB; CPU ${w_cpu} ms; the watcher ${watcher_mb} MB)   git/smartcache = $(ratio "$git_ms" "$w_ms") (goal >= 2)"
echo "  per round (git/smartcache, watched):${w_round}"
"$sc" dataset status "$work/small" --cache "$work/cache" --variant v | tail -1
kill $watcher 2>/dev/null || true
[ "$STATUS_ONLY" = 1 ] && exit 0
echo "build memory:      first build ${worker_mb} MB, no-op build ${noop_mb} MB (${noop_s} s), status ${sc_mb} MB: first/status = $(ratio "$worker_mb" "$sc_mb"), no-op/status = $(ratio "$noop_mb" "$sc_mb") (goal <= 2)"

one=$(sed -n "$((SMALL / 2))p" "$work/small.list")
get_ms=$(median_ms "$sc dataset get $one --cache $work/cache --variant v")
get_mb=$(peak_mb "$sc dataset get $one --cache $work/cache --variant v")
true_ms=$(median_ms "$sc --version")
awk 'NR % 100 == 0' "$work/small.list" > "$work/get.list"
lib=$("$get_lib" "$work/cache" v "$work/get.list" 3)
echo "get, CLI:          ${get_ms} ms per call (${get_mb} MB; process start alone: ${true_ms} ms)"
echo "get, library:      $lib"

cold_ms=$(median_ms "$sc dataset status $work/small --cache $work/empty-cache-small")
xxh_ms=$(median_ms "xargs -a $work/small.list xxhsum -H2")
echo "cold hash small:   smartcache ${cold_ms} ms   xxhsum -H2 ${xxh_ms} ms   xxhsum/smartcache = $(ratio "$xxh_ms" "$cold_ms") (goal >= 0.8)"
rm -rf "$work/small" "$work/small.git" "$work/cache" "$work/empty-cache-small"

[ "$LARGE_MB" -gt 0 ] || exit 0
echo "== large files: $LARGE_MB MB"
"$here/scripts/gen-dataset-large.sh" "$work/large" "$LARGE_MB"
cat "$work"/large/* >/dev/null
mb=$(du -sm "$work/large" | cut -f1)
cold_ms=$(median_ms "$sc dataset status $work/large --cache $work/empty-cache-large")
large_files=$(ls "$work"/large/* | tr "\n" " ")
xxh_ms=$(median_ms "xxhsum -H2 $large_files")
echo "cold hash large:   smartcache ${cold_ms} ms ($(awk -v m="$mb" -v t="$cold_ms" 'BEGIN{printf "%.0f", m / t * 1000}') MB/s)   xxhsum -H2 ${xxh_ms} ms ($(awk -v m="$mb" -v t="$xxh_ms" 'BEGIN{printf "%.0f", m / t * 1000}') MB/s)   xxhsum/smartcache = $(ratio "$xxh_ms" "$cold_ms") (goal >= 0.8)"
