"""Distributed builds on Ray: a local cluster (2 CPUs) builds a 20,000-file dataset with
examples/ray_build.py, shard tasks each calling DatasetCache.build, once with a
per-item transform and once with a model in an actor fed batches. Every content is
transformed exactly once across the tasks, and `verify` is clean.

Skipped when Ray is not installed, unless SMARTCACHE_REQUIRE_RAY=1 (CI sets it)."""

import importlib.util
import os
import sys
from pathlib import Path

import pytest

import smartcache
from conftest import REPO

FILES = 20_000
DISTINCT = 19_000  # the last 1,000 files repeat contents of the first ones


@pytest.fixture(scope="module")
def ray_build():
    try:
        import ray
    except ImportError:
        if os.environ.get("SMARTCACHE_REQUIRE_RAY") == "1":
            pytest.fail("ray is not installed (pip install ray)")
        pytest.skip("ray is not installed")
    spec = importlib.util.spec_from_file_location("ray_build", REPO / "examples" / "ray_build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": os.pathsep.join(sys.path)}})
    yield module
    ray.shutdown()


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("ray") / "data"
    files = []
    for i in range(FILES):
        d = root / f"d{i // 1000:02d}"
        if i % 1000 == 0:
            d.mkdir(parents=True)
        p = d / f"s{i:05d}.txt"
        p.write_text(f"sample {i % DISTINCT}\n")
        files.append(p)
    return root, files


@pytest.mark.parametrize("mode", ["tasks", "actor"])
def test_ray_builds_every_content_once(ray_build, dataset, tmp_path, mode):
    root, files = dataset
    cache_dir = tmp_path / "cache"
    results, stats = ray_build.build(root, cache_dir, "v", mode=mode, shards=4)

    assert [r["failures"] for r in results] == [[]] * 4
    calls = sum(r["calls"] for r in results)
    assert calls == sum(r["transformed"] for r in results) == DISTINCT
    if mode == "actor":
        assert stats == {"loads": 1, "calls": DISTINCT}

    cache = smartcache.DatasetCache(cache_dir, ray_build.PRODUCER)
    verify = cache.verify()
    assert verify.clean, verify.problems[:5]
    assert (verify.entries, verify.artifacts_checked) == (FILES, DISTINCT)
    assert cache.status(root, "v").clean
    for i in (0, 1, 18_999, 19_000, 19_999):
        art = cache.get(files[i], "v")
        assert Path(art).read_text() == f"SAMPLE {i % DISTINCT}\n"
    assert cache.get(files[19_001], "v") == cache.get(files[1], "v")
