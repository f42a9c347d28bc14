#!/usr/bin/env bash
# Parse throughput and peak memory of the .nk reader, single-threaded, with the release
# binary's `graph --check` mode: over the shared corpus (about 9 MB of real files) and
# over a generated large script (a long chain with a multi-megabyte knob blob).
#
# Prints, per input: bytes; MB/s of the parser alone (sum of per-file parse times, no
# I/O) and of the whole run (wall clock, and user+sys CPU time from GNU time, which is
# the fairer figure on a shared machine); peak RSS and peak RSS / input. Medians of RUNS.
# Usage: scripts/bench-parse.sh [RUNS]   (SMARTCACHE_SHARED overrides ../shared)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-5}
SHARED=${SMARTCACHE_SHARED:-../shared}
CORPUS="$SHARED/corpus/nk"
[ -d "$CORPUS" ] || { echo "corpus not found at $CORPUS (set SMARTCACHE_SHARED)" >&2; exit 2; }

cargo build --release --quiet
BIN=target/release/smartcache
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# A generated script: 200,000 chained nodes with knobs, plus one 20 MB braced value.
python3 - "$TMP/big.nk" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write("Constant {\n inputs 0\n name N0\n}\n")
    for i in range(1, 200_000):
        f.write(f"Grade {{\n white {{{{curve x1 1 x10 {i}}}}}\n label \"node \\[{i}\\]\"\n name N{i}\n xpos {i}\n}}\n")
    f.write("Primatte3 {\n data {" + "0.125 130560 -4.5e+13\n" * 900_000 + "}\n name Blob\n}\n")
PY

# One measurement: `graph --check` over the paths, under GNU time when available
# (user+sys CPU seconds and max RSS: on a shared, loaded machine CPU time is the fairer
# throughput figure), else the binary's own wall-clock MB/s and VmHWM.
measure() { # label, repeat, paths...
    local label=$1 repeat=$2; shift 2
    local args=() runs_wall=() runs_cpu=() runs_parse=() peak=0 bytes=0 out
    for _ in $(seq "$repeat"); do args+=("$@"); done
    for _ in $(seq "$RUNS"); do
        if [ -x /usr/bin/time ]; then
            out=$(RAYON_NUM_THREADS=1 /usr/bin/time -f 'TIME %U %S %M' "$BIN" graph --check "${args[@]}" 2>&1)
        else
            out=$(RAYON_NUM_THREADS=1 "$BIN" graph --check "${args[@]}")
        fi
        bytes=$(sed -n 's/.*bytes \([0-9]*\),.*/\1/p' <<<"$out" | head -1)
        runs_wall+=("$(sed -n 's/^files .* \([0-9.]*\) MB\/s$/\1/p' <<<"$out" | head -1)")
        runs_parse+=("$(sed -n 's/^parse only .* \([0-9.]*\) MB\/s per thread$/\1/p' <<<"$out")")
        local t; t=$(sed -n 's/^TIME //p' <<<"$out")
        if [ -n "$t" ]; then
            read -r u s m <<<"$t"
            runs_cpu+=("$(python3 -c "print($bytes/1e6/max($u+$s,0.01))")")
            peak=$(python3 -c "print(max($peak, $m/1024))")
        else
            local p; p=$(sed -n 's/^peak memory \([0-9.]*\) MB$/\1/p' <<<"$out")
            peak=$(python3 -c "print(max($peak, ${p:-0}))")
        fi
    done
    median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR ? a[int((NR+1)/2)] : 0)}'; }
    local wall cpu parse
    wall=$(median "${runs_wall[@]}")
    parse=$(median "${runs_parse[@]}")
    cpu=$(median "${runs_cpu[@]:-0}")
    local one=$((bytes / repeat))
    python3 -c "
b=$one; w=$wall; c=$cpu; q=$parse; p=$peak
print(f'{\"$label\":<10} {b/1e6:6.1f} MB x $repeat  parse-only {q:6.1f} MB/s  whole run: wall {w:6.1f} MB/s, cpu {c:6.1f} MB/s  peak RSS {p:6.1f} MB = {p*1048576/b:5.2f}x one input  (medians of $RUNS)')"
}

echo "single-threaded parse via '$BIN graph --check' (includes reading the files; load: $(cut -d' ' -f1-3 /proc/loadavg))"
measure corpus 10 "$CORPUS"
measure generated 1 "$TMP/big.nk"
echo "(peak RSS includes the process baseline of a few MB; target: >= 150 MB/s, < 10x input)"
