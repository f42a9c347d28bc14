"""The dataset cache from Python, end to end: Python transforms, lookups, failures,
batches, and Ctrl-C during a build."""

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

import smartcache
from conftest import make_files, run_cli


def upper(src, dst):
    """A transform: the content upper-cased."""
    Path(dst).write_bytes(Path(src).read_bytes().upper())


@pytest.fixture
def data(tmp_path):
    """Twelve files, two of them with the same content as another."""
    contents = [f"item {i}" for i in range(10)] + ["item 3", "item 7"]
    return tmp_path / "data", make_files(tmp_path / "data", contents)


def test_build_get_status_verify(tmp_path, data):
    root, files = data
    cache = smartcache.DatasetCache(tmp_path / "cache", "upper@1")
    calls = []
    lock = threading.Lock()

    def transform(src, dst):
        with lock:
            calls.append(src)
        upper(src, dst)

    before = cache.status(root, "up")
    assert before.counts["new"] == 12 and before.counts["missing_artifacts"] == 12
    assert not before.clean
    assert cache.get(files[0], "up") is None  # not built yet

    report = cache.build(root, "up", transform, jobs=2)
    assert (report.new, report.transformed, report.deduplicated) == (12, 10, 2)
    assert report.failures == []
    assert len(calls) == 10 and all(isinstance(c, str) for c in calls)
    for f in files:
        art = cache.get(f, "up")
        assert isinstance(art, str) and art.startswith(cache.cache_dir + "/objects/")
        assert Path(art).read_bytes() == f.read_bytes().upper()
    # Identical contents share one artifact.
    assert cache.get(files[3], "up") == cache.get(files[10], "up")
    assert cache.get_many([files[0], files[1], tmp_path / "nope"], "up") == [
        cache.get(files[0], "up"), cache.get(files[1], "up"), None]
    assert cache.status(root, "up").clean
    v = cache.verify()
    assert v.clean and (v.entries, v.artifacts_checked) == (12, 10)
    export = cache.export("up")
    assert export["producer"] == "upper@1" and len(export["artifacts"]) == 12

    # Nothing changed: a second build runs nothing.
    calls.clear()
    again = cache.build(root, "up", transform)
    assert (again.transformed, again.unchanged, len(calls)) == (0, 12, 0)

    # One file changed: served no more until rebuilt, then one transform.
    files[5].write_text("item 5, edited")
    assert cache.get(files[5], "up") is None
    st = cache.status(root, "up")
    assert st.counts["changed"] == 1
    [changed] = [f for f in st.files if f["state"] == "changed"]
    assert changed["path"] == str(files[5])
    again = cache.build(root, "up", transform)
    assert (again.changed, again.transformed, calls) == (1, 1, [str(files[5])])
    assert Path(cache.get(files[5], "up")).read_text() == "ITEM 5, EDITED"

    # Another producer's artifacts are never served.
    other = smartcache.DatasetCache(tmp_path / "cache", "upper@2")
    assert other.get(files[0], "up") is None

    # The CLI sees what the package built.
    code, out, _ = run_cli("dataset", "get", files[1], "--cache", tmp_path / "cache",
                           "--variant", "up")
    assert (code, out.strip()) == (0, cache.get(files[1], "up"))


def test_a_raising_transform_is_a_recorded_failure(tmp_path, data):
    root, files = data
    cache = smartcache.DatasetCache(tmp_path / "cache", "picky@1")

    def picky(src, dst):
        if src.endswith("f0004.bin"):
            raise ValueError("cannot decode f0004")
        upper(src, dst)

    report = cache.build(root, "v", picky)
    assert report.failures == [(str(files[4]), "ValueError: cannot decode f0004")]
    assert report.transformed == 9
    assert cache.get(files[4], "v") is None
    assert cache.get(files[5], "v") is not None
    st = cache.status(root, "v")
    assert st.counts["failed"] == 1
    [failed] = [f for f in st.files if f.get("failure")]
    assert failed["failure"] == "ValueError: cannot decode f0004"
    # The CLI shows the same failure.
    code, out, _ = run_cli("dataset", "status", root, "--cache", tmp_path / "cache",
                           "--variant", "v", "--producer", "picky@1", "--json")
    assert [f["failure"] for f in json.loads(out)["files"] if "failure" in f] == [
        "ValueError: cannot decode f0004"]
    # Fixed transform: only the failed item runs again.
    calls = []
    report = cache.build(root, "v", lambda s, d: (calls.append(s), upper(s, d)))
    assert (report.transformed, calls, report.failures) == (1, [str(files[4])], [])


def test_transform_batch_keeps_a_model_loaded(tmp_path, data):
    root, files = data
    loads = []
    batches = []

    class Model:
        def __init__(self):
            loads.append(1)

        def __call__(self, pairs):
            batches.append(len(pairs))
            out = []
            for src, dst in pairs:
                if src.endswith("f0002.bin"):
                    out.append("corrupt input")
                    continue
                upper(src, dst)
                out.append(None)
            return out

    model = Model()
    cache = smartcache.DatasetCache(tmp_path / "cache", "model@1")
    report = cache.build(root, "emb", transform_batch=model, batch_size=4, jobs=1)
    assert loads == [1]
    assert sum(batches) == 10 and max(batches) <= 4
    assert report.failures == [(str(files[2]), "corrupt input")]
    assert report.transformed == 9
    assert Path(cache.get(files[9], "emb")).read_text() == "ITEM 9"

    # A batch that raises fails every item of that batch with the message.
    def broken(pairs):
        raise RuntimeError("GPU out of memory")

    report = cache.build(root, "emb2", transform_batch=broken, batch_size=100)
    assert len(report.failures) == 12
    assert {e for _, e in report.failures} == {"RuntimeError: GPU out of memory"}


def test_bad_arguments_are_exceptions(tmp_path, data):
    root, _ = data
    cache = smartcache.DatasetCache(tmp_path / "cache", "p@1")
    with pytest.raises(smartcache.DatasetError) as e:
        cache.build(root, "v", upper, shard="3/2")
    assert str(e.value) == "invalid shard `3/2`: expected K/N with 1 <= K <= N"
    code, _, err = run_cli("dataset", "build", root, "--cache", tmp_path / "cache",
                           "--variant", "v", "--exec", "cp {in} {out}", "--shard", "3/2")
    assert (code, err) == (2, f"error: {e.value}\n")
    with pytest.raises(ValueError, match="exactly one of transform and transform_batch"):
        cache.build(root, "v")
    with pytest.raises(TypeError):
        cache.status(42, "v")
    with pytest.raises(smartcache.DatasetError) as e:
        cache.build(root, "", upper)
    assert "a variant name must be non-empty" in str(e.value)
    # Sharded builds split the work without overlap.
    seen = []
    r1 = cache.build(root, "s", lambda s, d: (seen.append(s), upper(s, d)), shard="1/2")
    r2 = cache.build(root, "s", lambda s, d: (seen.append(s), upper(s, d)), shard="2/2")
    assert r1.transformed + r2.transformed == 10 and len(seen) == len(set(seen)) == 10


def test_a_data_loader_loop(tmp_path):
    """Lookups per sample, in a loop, from a handle kept open: the same answers as
    get_many and the CLI."""
    files = make_files(tmp_path / "data", [f"sample {i}" for i in range(2000)])
    cache = smartcache.DatasetCache(tmp_path / "cache", "copy@1")
    report = cache.build(tmp_path / "data", "t",
                         transform_batch=lambda pairs: [shutil.copyfile(s, d) and None
                                                        for s, d in pairs])
    assert report.transformed == 2000
    loader = smartcache.DatasetCache(tmp_path / "cache", "copy@1")
    served = [loader.get(f, "t") for f in files for _ in range(3)][::3]
    assert served == loader.get_many(files, "t")
    assert all(Path(p).read_bytes() == f.read_bytes() for p, f in zip(served, files))


CHILD = textwrap.dedent("""
    import json, sys, time
    from pathlib import Path
    import smartcache

    data, cache_dir, marks = map(Path, sys.argv[1:4])
    def slow(src, dst):
        time.sleep(0.05)
        Path(dst).write_bytes(Path(src).read_bytes())
        # Written once the output is complete: the transform has finished.
        (marks / Path(src).name).touch()

    cache = smartcache.DatasetCache(cache_dir, "slow@1")
    print("started", flush=True)
    try:
        cache.build(data, "v", slow, jobs=2)
        print(json.dumps({"interrupted": False}), flush=True)
    except KeyboardInterrupt:
        print(json.dumps({"interrupted": True}), flush=True)
        sys.exit(130)
""")


def test_ctrl_c_cancels_a_build_and_keeps_what_finished(tmp_path):
    files = make_files(tmp_path / "data", [f"slow {i}" for i in range(200)])
    marks = tmp_path / "marks"
    marks.mkdir()
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(tmp_path / "data"), str(tmp_path / "cache"),
         str(marks)],
        stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "started"
    deadline = time.monotonic() + 60
    while len(list(marks.iterdir())) < 10:
        assert time.monotonic() < deadline, "the build did not start"
        time.sleep(0.01)
    child.send_signal(signal.SIGINT)
    out, _ = child.communicate(timeout=60)
    assert child.returncode == 130
    assert json.loads(out) == {"interrupted": True}

    finished = sorted(p.name for p in marks.iterdir())
    assert 10 <= len(finished) < 200
    cache = smartcache.DatasetCache(tmp_path / "cache", "slow@1")
    # Everything that finished was recorded: it is served, nothing else is.
    served = sorted(f.name for f in files if cache.get(f, "v") is not None)
    assert served == finished
    assert cache.status(tmp_path / "data", "v").counts["missing_artifacts"] == 200 - len(finished)
    # The next build runs exactly what is left: nothing lost, nothing run twice.
    rest = []
    report = cache.build(tmp_path / "data", "v",
                         lambda s, d: (rest.append(Path(s).name), shutil.copyfile(s, d)))
    assert report.transformed == len(rest) == 200 - len(finished)
    assert sorted(rest + finished) == sorted(f.name for f in files)
    assert cache.verify().clean


def test_get_through_a_symlinked_directory(tmp_path, data):
    """Lookups take the path as given when it is indexed, else its canonical form."""
    root, files = data
    cache = smartcache.DatasetCache(tmp_path / "cache", "upper@1")
    cache.build(root, "up", upper)
    (tmp_path / "link").symlink_to(root)
    via_link = tmp_path / "link" / files[2].name
    assert cache.get(via_link, "up") == cache.get(files[2], "up") is not None
    assert cache.get(root / ".." / "data" / files[2].name, "up") == cache.get(files[2], "up")


@pytest.mark.skipif(sys.platform != "linux", reason="the watcher needs inotify")
def test_status_is_served_by_a_running_watcher(tmp_path, data, monkeypatch):
    from conftest import cli_path

    root, files = data
    cache = smartcache.DatasetCache(tmp_path / "cache", "upper@1")
    cache.build(root, "up", upper)
    watcher = subprocess.Popen(
        [str(cli_path()), "dataset", "watch", str(root), "--cache", str(tmp_path / "cache")],
        stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not cache.status(root, "up").watched:
            assert time.monotonic() < deadline, "the watcher did not start serving"
            time.sleep(0.05)
        files[2].write_text("item 2, edited")
        (root / "sub").mkdir()
        (root / "sub" / "new.txt").write_text("new")
        watched = cache.status(root, "up")
        monkeypatch.setenv("SMARTCACHE_NO_WATCH", "1")
        walked = cache.status(root, "up")
        assert watched.watched and not walked.watched
        assert watched.counts == walked.counts
        assert watched.files == walked.files
        assert (watched.counts["changed"], watched.counts["new"]) == (1, 1)
    finally:
        watcher.kill()
        err = watcher.communicate()[1]
    assert err.startswith("watching 12 files in 1 directory"), err
