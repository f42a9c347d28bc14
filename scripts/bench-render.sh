#!/bin/sh
# Render-cache benchmark on a generated script, with the plain approach side by side.
#
#   scripts/bench-render.sh                 5,000 nodes, 1,000 frames, 3 runs each
#   NODES=1000 FRAMES=200 RUNS=5 scripts/bench-render.sh
#   SCALE=only scripts/bench-render.sh      only the scaling table (5,000 and 50,000 nodes)
#   SCALE=no scripts/bench-render.sh        only the 5,000-node targets below
#   SC=/path/to/smartcache SCALE=only ...   the scaling table of another build (before/after)
#
# Targets (5,000 nodes, 10% of knobs animated, 1,000 frames):
#   record of every frame            < 2 s
#   check of the unchanged script    < 0.5 s
#   storage (master/ + manifests/)   < 5x one frame's full manifest, < 1.2x with nothing
#                                      animated
# The plain approach (examples/plain_manifest.rs: serialize each frame's whole manifest
# as JSON and hash it) runs on the same script; the table prints plain/ours ratios of
# time and of storage (the plain approach storing one manifest per distinct frame).
#
# Times are wall-clock medians over RUNS runs of the release binary (hyperfine when
# installed, else a timing loop), process start and script parsing included. Storage is
# the sum of file sizes under the cache's master/ and manifests/ right after `record`
# (a check adds a snapshot and its own batch object; those are not counted), against
# `smartcache manifest -f MID | wc -c` (pretty-printed JSON, the target's measure); the
# ratio to the same manifest without indentation is printed too.
#
# The scaling table (issue 15; SIZES, default "5000 50000" nodes, 10% animated, FRAMES
# frames) prints per size the median wall time of `graph --json` (reading the script),
# `record` of every frame into an empty cache, and `check` of the unchanged script, the
# peak resident memory of record and check (`/usr/bin/time -f %M`, one run each), the
# time and peak of a check after one knob edit (the first static `rotate`: every frame
# is outdated and explained from the recorded setup and the new one, both in memory),
# and the ratios the issue targets (peak memory: the largest of the three). The four
# commands of every size run in turn, RUNS rounds of them (no hyperfine: a change of
# the machine's load between one command's runs and the next's would skew a ratio),
# and each ratio is the median of the rounds' ratios:
#   record / graph          <= 15    (record of 1,000 frames)
#   check / graph           <= 2     (check of the unchanged script)
#   peak memory / script    <= 10    (at 50,000 nodes)
#   largest / smallest size <= 11x the time for 10x the nodes (record and check)
# On a loaded machine the wall times are noisy: scripts/bench-compare.sh with
# COUNT=instructions gives repeatable old/new ratios of record and check.
set -eu
NODES=${NODES:-5000}
FRAMES=${FRAMES:-1000}
RUNS=${RUNS:-3}
SCALE=${SCALE:-yes}
SIZES=${SIZES:-5000 50000}
here=$(cd "$(dirname "$0")/.." && pwd)

(cd "$here" && cargo build --release --quiet --bin smartcache \
    --example gen_script --example plain_manifest)
sc=${SC:-"$here/target/release/smartcache"}
gen="$here/target/release/examples/gen_script"
plain="$here/target/release/examples/plain_manifest"
work=$(mktemp -d "${TMPDIR:-/tmp}/smartcache-bench-render.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
first=1001
last=$((1000 + FRAMES))
mid=$(( (first + last) / 2 ))
# CRAGL_SMARTCACHE_DELETE_SETUP_SOURCE_FILE would make storage trivially small.
unset CRAGL_SMARTCACHE_DELETE_SETUP_SOURCE_FILE SMARTCACHE_RULES || true

if command -v hyperfine >/dev/null 2>&1; then
    have_hyperfine=1
else
    have_hyperfine=0
    echo "note: hyperfine not found (apt-get install -y hyperfine); using a timing loop" >&2
fi

# median_ms PREPARE CMD: median wall time of RUNS runs of CMD in milliseconds, PREPARE
# (a shell command, may be `true`) run before each.
median_ms() {
    if [ "$have_hyperfine" = 1 ]; then
        hyperfine -N --runs "$RUNS" --prepare "$1" --export-json "$work/h.json" "$2" \
            >/dev/null 2>&1
        sed -n 's/.*"median": *\([0-9.e+-]*\).*/\1/p' "$work/h.json" | head -1 |
            awk '{ printf "%.1f", $1 * 1000 }'
    else
        i=0
        while [ "$i" -lt "$RUNS" ]; do
            sh -c "$1" >/dev/null 2>&1
            s=$(date +%s%N)
            sh -c "$2" >/dev/null 2>&1 || echo "error: $2 failed" >&2
            e=$(date +%s%N)
            echo $(( (e - s) / 1000 ))
            i=$((i + 1))
        done | sort -n | awk '{ a[NR] = $1 } END { printf "%.1f", a[int((NR + 1) / 2)] / 1000 }'
    fi
}

# plain_runs CMD OUT: run CMD RUNS times, its outputs one per line in OUT.
plain_runs() {
    : > "$2"
    i=0
    while [ "$i" -lt "$RUNS" ]; do
        sh -c "$1" >> "$2"
        i=$((i + 1))
    done
}

# median_field FILE FIELD: median of `FIELD=value` over the lines of FILE.
median_field() {
    tr ' ' '\n' < "$1" | sed -n "s/^$2=//p" |
        sort -n | awk '{ a[NR] = $1 } END { printf "%.1f", a[int((NR + 1) / 2)] }'
}

# bytes DIR...: sum of the sizes of the files under DIR...
bytes() { find "$@" -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
# verdict VALUE LIMIT: pass when VALUE < LIMIT.
verdict() { awk -v a="$1" -v b="$2" 'BEGIN { print (a < b) ? "pass" : "FAIL" }'; }

rows="$work/rows"
: > "$rows"
row() { printf '%-40s %14s %12s  %-5s %s\n' "$1" "$2" "$3" "$4" "$5" >> "$rows"; }

# ms CMD [any]: wall time of one run of CMD in milliseconds; with a second argument, a
# failing exit status is expected.
ms() {
    s=$(date +%s%N)
    sh -c "$1" >/dev/null 2>&1 || [ -n "${2:-}" ] || echo "error: $1 failed" >&2
    e=$(date +%s%N)
    awk -v d=$((e - s)) 'BEGIN { printf "%.1f", d / 1e6 }'
}

# median: the median of the numbers on standard input.
median() { sort -n | awk '{ a[NR] = $1 } END { printf "%.2f", a[int((NR + 1) / 2)] }'; }

# peak_kb CMD: peak resident memory of one run of CMD, in kB.
peak_kb() {
    /usr/bin/time -f '%M' -o "$work/peak" sh -c "exec $1" >/dev/null 2>&1 || true
    tail -1 "$work/peak"
}

# scale_round N: one round of graph, record, check and edited check at size N, their
# times appended to its rounds file.
scale_round() {
    nk="$work/scale-$1.nk"
    cache="$work/scale-cache-$1"
    args="$nk --node Write1 --frames $first-$last --cache-dir $cache"
    edit_args="$work/scale-$1-edited.nk --node Write1 --frames $first-$last --cache-dir $cache"
    g=$(ms "$sc graph $nk --json")
    rm -rf "$cache"
    r=$(ms "$sc record $args")
    c=$(ms "$sc check $args")
    ed=$(ms "$sc check $edit_args" outdated)
    echo "$g $r $c $ed" >> "$work/rounds-$1"
}

scale_table() {
    srows="$work/srows"
    : > "$srows"
    srow() { printf '%-8s %9s %9s %9s %9s %8s %8s %9s %9s %9s %9s %8s\n' "$@" >> "$srows"; }
    srow nodes script graph record check rec/gr chk/gr rec-peak chk-peak edit edit-peak peak/scr
    for n in $SIZES; do
        "$gen" --nodes "$n" --animated 0.1 --frames "$FRAMES" > "$work/scale-$n.nk"
        # One knob edited: a check that explains every frame (exit status 1: outdated).
        awk '!done && /^ rotate [0-9]/ { print $0 "1"; done = 1; next } { print }' \
            "$work/scale-$n.nk" > "$work/scale-$n-edited.nk"
        : > "$work/rounds-$n"
    done
    # Rounds of every size's graph, record, check and edited check in turn, so that a
    # change of the machine's load falls on both sides of a ratio: the ratios (of
    # commands, and of sizes) are medians of the rounds' ratios, the times medians of
    # the rounds' times.
    i=0
    while [ "$i" -lt "$RUNS" ]; do
        for n in $SIZES; do
            scale_round "$n"
        done
        i=$((i + 1))
    done
    prev=""
    for n in $SIZES; do
        nk="$work/scale-$n.nk"
        cache="$work/scale-cache-$n"
        args="$nk --node Write1 --frames $first-$last --cache-dir $cache"
        edit_args="$work/scale-$n-edited.nk --node Write1 --frames $first-$last --cache-dir $cache"
        size=$(wc -c < "$nk")
        rounds="$work/rounds-$n"
        gr_ms=$(awk '{ print $1 }' "$rounds" | median)
        rec_ms=$(awk '{ print $2 }' "$rounds" | median)
        chk_ms=$(awk '{ print $3 }' "$rounds" | median)
        edit_ms=$(awk '{ print $4 }' "$rounds" | median)
        rec_gr=$(awk '{ print $2 / $1 }' "$rounds" | median)
        chk_gr=$(awk '{ print $3 / $1 }' "$rounds" | median)
        rm -rf "$cache"
        rec_kb=$(peak_kb "$sc record $args")
        chk_kb=$(peak_kb "$sc check $args")
        edit_kb=$(peak_kb "$sc check $edit_args")
        peak=$rec_kb
        [ "$chk_kb" -gt "$peak" ] && peak=$chk_kb
        [ "$edit_kb" -gt "$peak" ] && peak=$edit_kb
        srow "$n" "$(awk -v b="$size" 'BEGIN { printf "%.1fMB", b / 1e6 }')" \
            "${gr_ms}ms" "${rec_ms}ms" "${chk_ms}ms" "$rec_gr" \
            "$chk_gr" "$((rec_kb / 1024))MB" "$((chk_kb / 1024))MB" \
            "${edit_ms}ms" "$((edit_kb / 1024))MB" "$(ratio "$((peak * 1024))" "$size")"
        if [ -n "$prev" ]; then
            grow() { paste -d' ' "$work/rounds-$prev" "$rounds" | awk -v c="$1" '{ print $(c + 4) / $c }' | median; }
            echo "$n vs $prev nodes: record x$(grow 2) (<= 11), check x$(grow 3) (<= 11)" >> "$work/sgrowth"
        fi
        prev=$n
        rm -rf "$cache"
    done
    echo "== scaling: $FRAMES frames, 10% of knobs animated; $sc"
    cat "$srows"
    [ -f "$work/sgrowth" ] && cat "$work/sgrowth"
    echo "targets: rec/gr <= 15, chk/gr <= 2, peak/scr <= 10 (at 50,000 nodes; record, check and check after an edit)"
    echo "(times and ratios: medians of $RUNS rounds, every size's commands in turn in each; peaks: one run each; $(nproc) cores)"
}

if [ "$SCALE" = only ]; then
    scale_table
    exit 0
fi

for animated in 0.1 0; do
    nk="$work/synthetic-$animated.nk"
    "$gen" --nodes "$NODES" --animated "$animated" --frames "$FRAMES" > "$nk"
    cache="$work/cache-$animated"
    args="$nk --node Write1 --frames $first-$last --cache-dir $cache"

    rec_ms=$(median_ms "rm -rf $cache" "$sc record $args")
    rm -rf "$cache"
    "$sc" record $args > "$work/record.out"
    stored=$(bytes "$cache/master" "$cache/manifests")
    one=$("$sc" manifest "$nk" --node Write1 -f "$mid" | wc -c)
    chk_ms=$(median_ms true "$sc check $args")
    "$sc" check $args > "$work/check.out" || {
        echo "error: check of the unchanged script did not pass:" >&2
        tail -3 "$work/check.out" >&2
        exit 1
    }
    plain_runs "$plain $nk --node Write1 --frames $first-$last" "$work/plain.out"
    plain_ms=$(median_field "$work/plain.out" total_ms)
    plain_bytes=$(head -1 "$work/plain.out" | tr ' ' '\n' | sed -n 's/^bytes=//p')
    one_compact=$(head -1 "$work/plain.out" | tr ' ' '\n' | sed -n 's/^one_bytes=//p')
    store_x=$(ratio "$stored" "$one")
    if [ "$animated" = 0 ]; then limit_x=1.2; else limit_x=5; fi

    echo "== $NODES nodes, animated $animated, $FRAMES frames: $(cat "$work/record.out")"
    row "[animated $animated] record $FRAMES frames" "${rec_ms} ms" "< 2000 ms" \
        "$(verdict "$rec_ms" 2000)" "plain/ours $(ratio "$plain_ms" "$rec_ms") (plain ${plain_ms} ms)"
    row "[animated $animated] check unchanged" "${chk_ms} ms" "< 500 ms" \
        "$(verdict "$chk_ms" 500)" "plain/ours $(ratio "$plain_ms" "$chk_ms")"
    row "[animated $animated] storage / one manifest" "${store_x}x" "< ${limit_x}x" \
        "$(verdict "$store_x" "$limit_x")" \
        "$stored B vs $one B; plain/ours $(ratio "$plain_bytes" "$stored") (plain $plain_bytes B)"
    row "[animated $animated] storage / compact manifest" "$(ratio "$stored" "$one_compact")x" \
        "(info)" "" "one frame's manifest without indentation: $one_compact B"
done

echo
printf '%-40s %14s %12s  %-5s %s\n' target measured limit "" "side by side"
cat "$rows"
echo "(medians of $RUNS runs; $(nproc) cores; hyperfine=$have_hyperfine)"
if [ "$SCALE" != no ]; then
    echo
    scale_table
fi
