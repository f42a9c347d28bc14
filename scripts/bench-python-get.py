#!/usr/bin/env python3
"""A data loader's lookups: `DatasetCache.get` per sample, in-process, against the CLI.

Generates FILES small files (default 100,000) in a temporary directory, builds them into
a cache with the Python package (`transform_batch`, copying), then, from a new handle as
a data loader would open it:

  * GETS `get` calls (default 10,000) on random sources, each timed on its own: the
    median and the 90th percentile per call (goal: under 20 us);
  * CLI_GETS calls of `smartcache dataset get` (a process per lookup, as a loader that
    shells out pays): the median per call;

and prints the ratio. A benchmark, not a test: run it on a quiet machine and read the
ratio rather than the absolute times.

    python3 -m venv /tmp/v && /tmp/v/bin/pip install ./python
    cargo build --release
    /tmp/v/bin/python scripts/bench-python-get.py [--files 100000] [--gets 10000]
"""

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import smartcache

REPO = Path(__file__).resolve().parents[1]


def cli() -> Path:
    for p in [os.environ.get("SMARTCACHE_BIN"), REPO / "target/release/smartcache",
              REPO / "target/debug/smartcache"]:
        if p and Path(p).is_file():
            return Path(p)
    sys.exit("build the CLI first (cargo build --release) or set SMARTCACHE_BIN")


def copy_batch(pairs):
    for src, dst in pairs:
        shutil.copyfile(src, dst)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=100_000)
    ap.add_argument("--gets", type=int, default=10_000)
    ap.add_argument("--cli-gets", type=int, default=50)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="smartcache-bench-get-") as tmp:
        tmp = Path(tmp)
        data = tmp / "data"
        files = []
        t = time.perf_counter()
        for i in range(args.files):
            d = data / f"d{i // 1000:03d}"
            if i % 1000 == 0:
                d.mkdir(parents=True)
            p = d / f"sample{i:06d}.bin"
            p.write_bytes(f"sample {i}\n".encode() * (1 + i % 7))
            files.append(p)
        print(f"generated {args.files:,} files in {time.perf_counter() - t:.1f} s")

        t = time.perf_counter()
        report = smartcache.DatasetCache(tmp / "cache", "copy@1").build(
            data, "train", transform_batch=copy_batch, batch_size=256)
        assert not report.failures, report.failures[:3]
        print(f"built {report.transformed:,} artifacts in {time.perf_counter() - t:.1f} s")

        # A data loader opens the cache once and looks up a sample at a time.
        loader = smartcache.DatasetCache(tmp / "cache", "copy@1")
        rng = random.Random(7)
        sample = [rng.choice(files) for _ in range(args.gets)]
        times = []
        clock = time.perf_counter_ns
        for p in sample:
            t0 = clock()
            art = loader.get(p, "train")
            times.append(clock() - t0)
            if art is None:
                sys.exit(f"not served: {p}")
        med = statistics.median(times) / 1000
        p90 = sorted(times)[int(len(times) * 0.9)] / 1000
        print(f"get, in-process: {args.gets:,} calls on a {args.files:,}-entry cache, "
              f"median {med:.1f} us, p90 {p90:.1f} us per call "
              f"(first call, which opens the index: {times[0] / 1000:.0f} us)")

        binary = cli()
        cli_times = []
        for p in sample[: args.cli_gets]:
            t0 = clock()
            out = subprocess.run([str(binary), "dataset", "get", str(p), "--cache",
                                  str(tmp / "cache"), "--variant", "train"],
                                 capture_output=True, text=True)
            cli_times.append(clock() - t0)
            if out.returncode != 0:
                sys.exit(out.stderr)
        cli_med = statistics.median(cli_times) / 1000
        print(f"get, CLI ({binary.relative_to(REPO) if binary.is_relative_to(REPO) else binary}): "
              f"{args.cli_gets} calls, median {cli_med / 1000:.2f} ms per call")
        print(f"ratio CLI / in-process: {cli_med / med:,.0f}x "
              f"(against the 0.5 s per CLI get the issue measured before the index "
              f"rework: {500_000 / med:,.0f}x)")


if __name__ == "__main__":
    main()
