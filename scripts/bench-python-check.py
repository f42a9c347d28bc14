#!/usr/bin/env python3
"""A host panel's check after an edit: `RenderCache.check` in-process, warm against cold.

Generates a script of NODES nodes (default 50,000; 10% of knobs animated, FRAMES frames,
default 1,000) with `examples/gen_script`, records every frame of Write1 with the Python
package, then, RUNS times (default 3), edits one knob of one node (a different node each
time, a static knob and an animated one in turn), re-reads the script and checks it:

  * cold: a new `RenderCache` on the same cache directory (nothing kept in memory), as a
    process started for the check pays;
  * warm: the `RenderCache` that recorded (or checked last), which keeps the record
    digests and decoded setups of its last run (`smartcache.render::Warm`).

Both checks write no snapshot (`snapshot=False`, what a panel re-checking on every edit
does) and must give the same report. Prints the median time of each and the ratio
warm/cold (issue 15's goal: at most 0.2 at 50,000 nodes). Reading the script is timed
apart (`Script.read`), as the panel re-reads it either way.

A benchmark, not a test: read the ratio rather than the absolute times.

    cargo build --release --example gen_script
    python3 -m venv /tmp/v && /tmp/v/bin/pip install ./python
    /tmp/v/bin/python scripts/bench-python-check.py [--nodes 50000] [--runs 3]
"""

import argparse
import re
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import smartcache

REPO = Path(__file__).resolve().parents[1]


def gen_script(nodes: int, frames: int, out: Path) -> None:
    gen = REPO / "target/release/examples/gen_script"
    if not gen.is_file():
        subprocess.run(["cargo", "build", "--release", "--quiet", "--example", "gen_script"],
                       cwd=REPO, check=True)
    with out.open("w") as f:
        subprocess.run([str(gen), "--nodes", str(nodes), "--animated", "0.1",
                        "--frames", str(frames)], stdout=f, check=True)


def edit(text: str, run: int) -> str:
    """Change one knob of one node: in turn a static `rotate` and an animated curve key,
    a different occurrence each run."""
    if run % 2 == 0:
        pattern = re.compile(r"^ rotate (\d+\.\d+)$", re.M)
        repl = lambda m: f" rotate {float(m.group(1)) + 0.001:.3f}"
    else:
        pattern = re.compile(r"^( white \{\{curve x1001 )(\d+\.\d+)", re.M)
        repl = lambda m: f"{m.group(1)}{float(m.group(2)) + 0.001:.3f}"
    matches = list(pattern.finditer(text))
    m = matches[(run * 7919) % len(matches)]
    return text[: m.start()] + repl(m) + text[m.end():]


def timed(f):
    t = time.perf_counter()
    out = f()
    return time.perf_counter() - t, out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--nodes", type=int, default=50000)
    ap.add_argument("--frames", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="smartcache-bench-check."))
    try:
        nk = work / "bench.nk"
        gen_script(args.nodes, args.frames, nk)
        text = nk.read_text()
        cache_dir = work / "cache"
        frames = f"1001-{1000 + args.frames}"
        warm = smartcache.RenderCache(cache_dir)
        t_record, _ = timed(lambda: warm.record(smartcache.Script.read(nk), "Write1",
                                                frames=frames))
        reads, colds, warms = [], [], []
        for run in range(args.runs):
            text = edit(text, run)
            nk.write_text(text)
            t_read, script = timed(lambda: smartcache.Script.read(nk))
            t_cold, cold_report = timed(lambda: smartcache.RenderCache(cache_dir).check(
                script, "Write1", frames=frames, snapshot=False))
            t_warm, warm_report = timed(lambda: warm.check(
                script, "Write1", frames=frames, snapshot=False))
            if warm_report.to_json() != cold_report.to_json():
                raise SystemExit(f"run {run}: warm and cold checks disagree")
            reads.append(t_read)
            colds.append(t_cold)
            warms.append(t_warm)
            print(f"run {run}: read {t_read:.3f} s, cold check {t_cold:.3f} s, "
                  f"warm check {t_warm:.3f} s ({warm_report.outdated or 'none'} outdated)")
        cold, hot = statistics.median(colds), statistics.median(warms)
        print(f"{args.nodes} nodes, {args.frames} frames: record {t_record:.2f} s; "
              f"medians of {args.runs}: read {statistics.median(reads):.3f} s, "
              f"cold check {cold:.3f} s, warm check {hot:.3f} s")
        print(f"warm/cold = {hot / cold:.3f} (goal <= 0.2)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
