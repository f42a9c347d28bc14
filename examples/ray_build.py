#!/usr/bin/env python3
"""Build a dataset cache on a Ray cluster with the smartcache Python package.

Two ways, both writing into one cache directory that every worker sees:

* ``--mode tasks``: one Ray task per shard; each calls ``DatasetCache.build`` on its
  shard of the sources (``shard="K/N"``, a stable split by path) with a per-item
  Python transform. Builders need no coordination: each writes its own index
  segments, and identical contents in different shards are built once (a builder
  claims a content before transforming it).
* ``--mode actor``: the same shard tasks, but the transform is a model loaded once in
  a Ray actor (a GPU encoder, say): each task's ``transform_batch`` sends its batches
  to the actor, which encodes them and writes the outputs.

On one machine (``ray.init(num_cpus=2)`` unless ``--address`` is given):

    python examples/ray_build.py SOURCES CACHE [--mode tasks|actor] [--shards 8]

On a multi-node cluster, put SOURCES and CACHE on storage every node mounts at the same
path (NFS, Lustre, a cloud filestore) and give the cluster's address
(``--address auto`` on a node of the cluster); see docs/dataset.md, "Distributed builds
on Ray". The transform here upper-cases bytes; put your own in ``transform`` and
``Encoder``.
"""

import argparse
import sys
import time
from pathlib import Path

import ray

import smartcache

PRODUCER = "upper@1"


def transform(src, dst):
    """The per-item transform: write the artifact for `src` at `dst`."""
    Path(dst).write_bytes(Path(src).read_bytes().upper())


@ray.remote
class Encoder:
    """A model loaded once, fed batches (stands for a GPU encoder)."""

    def __init__(self):
        self.loads = 1  # load weights here, once
        self.calls = 0

    def encode(self, pairs):
        self.calls += len(pairs)
        for src, dst in pairs:
            transform(src, dst)

    def stats(self):
        return {"loads": self.loads, "calls": self.calls}


@ray.remote
def build_shard(sources, cache_dir, variant, shard, encoder=None):
    """Build one shard into the shared cache; returns what it did."""
    calls = 0
    if encoder is None:
        def each(src, dst):
            nonlocal calls
            calls += 1
            transform(src, dst)
        kwargs = {"transform": each}
    else:
        def batch(pairs):
            nonlocal calls
            calls += len(pairs)
            ray.get(encoder.encode.remote([(s, d) for s, d in pairs]))
        kwargs = {"transform_batch": batch, "batch_size": 64}
    cache = smartcache.DatasetCache(cache_dir, PRODUCER)
    report = cache.build(sources, variant, shard=shard, jobs=1, **kwargs)
    return {
        "shard": shard,
        "calls": calls,
        "transformed": report.transformed,
        "deduplicated": report.deduplicated,
        "waited": report.waited,
        "failures": report.failures,
    }


def build(sources, cache_dir, variant="v", mode="tasks", shards=8):
    """Build every shard as a Ray task; returns the tasks' results and the encoder's
    stats (mode "actor")."""
    encoder = Encoder.remote() if mode == "actor" else None
    results = ray.get([
        build_shard.remote(str(sources), str(cache_dir), variant, f"{k}/{shards}", encoder)
        for k in range(1, shards + 1)
    ])
    stats = ray.get(encoder.stats.remote()) if encoder is not None else None
    return results, stats


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sources")
    ap.add_argument("cache")
    ap.add_argument("--variant", default="v")
    ap.add_argument("--mode", choices=["tasks", "actor"], default="tasks")
    ap.add_argument("--shards", type=int, default=8)
    ap.add_argument("--address", help="a Ray cluster's address (default: a local one)")
    args = ap.parse_args()
    if args.address:
        ray.init(address=args.address)
    else:
        ray.init(num_cpus=2, include_dashboard=False)
    t = time.perf_counter()
    results, stats = build(args.sources, args.cache, args.variant, args.mode, args.shards)
    elapsed = time.perf_counter() - t
    failures = [f for r in results for f in r["failures"]]
    print(f"{sum(r['transformed'] for r in results)} transformed, "
          f"{sum(r['deduplicated'] for r in results)} deduplicated, "
          f"{len(failures)} failed in {elapsed:.1f} s over {args.shards} shards"
          + (f"; encoder loaded {stats['loads']}x, {stats['calls']} items" if stats else ""))
    verify = smartcache.DatasetCache(args.cache, PRODUCER).verify()
    print(f"verify: {verify.entries} entries, {verify.artifacts_checked} artifacts, "
          f"{len(verify.problems)} problems")
    return 0 if verify.clean and not failures else 1


if __name__ == "__main__":
    sys.exit(main())
