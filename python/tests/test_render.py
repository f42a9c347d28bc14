"""Render-cache validity from Python, end to end on fixtures/render."""

import json
import threading

import pytest

import smartcache
from conftest import edit, run_cli, tree


def test_record_check_explain(shot, tmp_path):
    script = smartcache.Script.read(shot / "comp.nk")
    assert script.frame_range == (1001, 1100)
    assert "Write1" in script.nodes and "Grade1" in script.nodes
    cache = smartcache.RenderCache(tmp_path / "cache")

    rec = cache.record(script, "Write1")
    assert rec.frames == list(range(1001, 1101))
    assert (rec.distinct, rec.master_frames, rec.manifests_kept) == (100, 100, True)
    assert rec.master == str(tmp_path / "cache" / "master" / "hash.json")

    report = cache.check(script, "Write1")
    assert report.valid and report.outdated == "" and report.summary == {"valid": 100}
    assert [f.frame for f in report.frames] == list(range(1001, 1101))

    # Moving every node changes nothing; one animation key outdates what it can move.
    edit(shot / "comp.nk", "x1050 1.2", "x1050 1.4")
    report = cache.check(smartcache.Script.read(shot / "comp.nk"), "Write1")
    assert not report.valid
    assert report.outdated == "1041-1059"
    assert report.summary == {"valid": 81, "outdated": 19}
    f = report.frames[1045 - 1001]
    assert (f.frame, f.status, f.valid) == (1045, "outdated", False)
    [reason] = f.reasons
    assert (reason.kind, reason.node, reason.knob, reason.old, reason.new) == (
        "key", "Grade1", "white", "Lk x1050 1.2", "Lk x1050 1.4")
    assert reason.text == str(reason) == "Grade1.white key at 1050 changed 1.2 -> 1.4"
    assert report.frames[0].status == "valid" and report.frames[0].reasons == []

    explained = cache.explain(1050)
    assert explained.snapshot == report.snapshot == cache.snapshots()[-1]
    assert (explained.status, [r.text for r in explained.reasons]) == (
        "outdated", ["Grade1.white key at 1050 changed 1.2 -> 1.4"])
    assert cache.explain(1001).status == "valid"
    assert len(cache.snapshots()) == 2


def test_frames_as_spec_or_ints(shot, tmp_path):
    script = smartcache.Script.read(shot / "comp.nk")
    cache = smartcache.RenderCache(tmp_path / "cache")
    assert cache.record(script, "Write1", frames="1001-1010x3,1050").frames == [
        1001, 1004, 1007, 1010, 1050]
    assert cache.record(script, "Write1", frames=range(1020, 1023)).frames == [1020, 1021, 1022]
    assert cache.record(script, "Write1", frames=[1060, 1060, 1059]).frames == [1059, 1060]
    report = cache.check(script, "Write1", frames="1001-1003")
    assert report.outdated == "1002-1003"
    assert report.summary == {"valid": 1, "uncached": 2}
    with pytest.raises(smartcache.FramesError) as e:
        cache.check(script, "Write1", frames="1001,10a")
    assert str(e.value) == 'frame list "1001,10a", column 8: expected a frame number'
    assert e.value.col == 8
    with pytest.raises(TypeError, match="a frame must be an int, not str"):
        cache.check(script, "Write1", frames=[1001, "x"])
    with pytest.raises(TypeError, match="frames must be a frame list"):
        cache.check(script, "Write1", frames=3.5)


def test_read_only_check_writes_nothing(shot, tmp_path):
    script = smartcache.Script.read(shot / "comp.nk")
    cache = smartcache.RenderCache(tmp_path / "cache")
    cache.record(script, "Write1", frames="1040-1060")
    edit(shot / "comp.nk", "x1050 1.2", "x1050 1.4")
    edited = smartcache.Script.read(shot / "comp.nk")
    before = tree(tmp_path / "cache")
    report = cache.check(edited, "Write1", frames="1040-1060", snapshot=False)
    assert tree(tmp_path / "cache") == before
    assert report.snapshot is None and cache.snapshots() == []
    assert report.outdated == "1041-1059"
    assert report.frames[5].reasons[0].text == "Grade1.white key at 1050 changed 1.2 -> 1.4"


def test_a_cache_object_kept_across_edits_checks_as_a_new_one(shot, tmp_path):
    # A panel keeps one RenderCache and re-checks after each edit: it reuses what the
    # last run computed, and must report exactly what a fresh object reports.
    kept = smartcache.RenderCache(tmp_path / "cache")
    kept.record(smartcache.Script.read(shot / "comp.nk"), "Write1", frames="1030-1070")
    edits = [("x1050 1.2", "x1050 1.4", "1041-1059"),
             ("center {960 540}", "center {961 540}", "1030-1070"),
             ("center {961 540}", "center {960 540}", "1041-1059"),
             ("x1050 1.4", "x1050 1.2", "")]
    for old, new, outdated in edits:
        edit(shot / "comp.nk", old, new)
        script = smartcache.Script.read(shot / "comp.nk")
        fresh = smartcache.RenderCache(tmp_path / "cache")
        cold = fresh.check(script, "Write1", frames="1030-1070", snapshot=False)
        warm = kept.check(script, "Write1", frames="1030-1070", snapshot=False)
        assert warm.to_json() == cold.to_json()
        assert warm.outdated == outdated


def test_reports_are_the_cli_json(shot, tmp_path):
    cache = smartcache.RenderCache(shot / "lib")
    script = smartcache.Script.read(shot / "comp.nk")
    rec = json.loads(cache.record(script, "Write1", frames="1001-1002,1050").to_json())
    code, out, _ = run_cli("record", "comp.nk", "--node", "Write1", "--cache-dir", "cli",
                           "--frames", "1001-1002,1050", "--json", cwd=shot)
    cli = json.loads(out)
    assert rec["master"].endswith("lib/master/hash.json")
    rec["master"] = cli["master"]
    assert (code, rec) == (0, cli)

    edit(shot / "comp.nk", "x1050 1.2", "x1050 1.4")
    script = smartcache.Script.read(shot / "comp.nk")
    mine = json.loads(cache.check(script, "Write1", frames="1001-1002,1050").to_json())
    code, out, _ = run_cli("check", "comp.nk", "--node", "Write1", "--cache-dir", "cli",
                           "--frames", "1001-1002,1050", "--json", cwd=shot)
    cli = json.loads(out)
    mine["snapshot"] = cli["snapshot"]
    assert (code, mine) == (1, cli)
    assert cli["summary"] == {"outdated": 1, "valid": 2}


def test_json_graph_from_a_string_hashes_like_the_script(shot, tmp_path):
    code, _, err = run_cli("convert", "comp.nk", "-o", "comp.json", cwd=shot)
    assert code == 0, err
    text = (shot / "comp.json").read_text()
    from_json = smartcache.Script.from_json(text, path=shot / "live.json")
    assert from_json.path == str(shot / "live.json")
    assert sorted(from_json.nodes) == sorted(smartcache.Script.read(shot / "comp.nk").nodes)
    cache = smartcache.RenderCache(tmp_path / "cache")
    cache.record(smartcache.Script.read(shot / "comp.nk"), "Write1", frames="1001-1100")
    # The same graph, exported by a host: every frame is valid.
    assert cache.check(from_json, "Write1").valid
    # Script.read picks the format by content.
    assert smartcache.Script.read(shot / "comp.json").nodes == from_json.nodes


def test_errors_carry_the_cli_messages(shot, tmp_path):
    (shot / "bad.nk").write_text("Blur {\n size 3\n")
    with pytest.raises(smartcache.ParseError) as e:
        smartcache.Script.read(shot / "bad.nk")
    code, _, err = run_cli("graph", shot / "bad.nk")
    assert (code, err) == (2, f"error: {e.value}\n")
    assert (e.value.path, e.value.line, e.value.col) == (str(shot / "bad.nk"), 1, 6)
    assert isinstance(e.value, smartcache.Error)

    with pytest.raises(smartcache.ParseError) as e:
        smartcache.Script.from_json('{"format": "smartcache-graph",\n "version": }')
    assert (e.value.path, e.value.line, e.value.col) == ("<json>", 2, 13)
    assert str(e.value).startswith("<json>:2:13: invalid JSON: ")

    with pytest.raises(smartcache.ParseError) as e:
        smartcache.Script.read(shot / "missing.nk")
    assert str(e.value).startswith(f"{shot / 'missing.nk'}: cannot read the file: ")
    assert (e.value.line, e.value.col) == (None, None)

    (shot / "bad.rules").write_text("knob xpos\nbogus thing\n")
    with pytest.raises(smartcache.ParseError) as e:
        smartcache.RenderCache(tmp_path / "c", rules=shot / "bad.rules")
    assert (e.value.path, e.value.line) == (str(shot / "bad.rules"), 2)

    script = smartcache.Script.read(shot / "comp.nk")
    cache = smartcache.RenderCache(tmp_path / "cache")
    with pytest.raises(smartcache.RenderError) as e:
        cache.record(script, "NoSuchNode")
    code, _, err = run_cli("record", shot / "comp.nk", "--node", "NoSuchNode", "--cache-dir",
                           tmp_path / "cache", cwd=shot)
    assert (code, err) == (2, f"error: {e.value}\n")
    assert str(e.value).endswith('no node named "NoSuchNode" in the script (Write nodes: Write1)')

    with pytest.raises(smartcache.RenderError) as e:
        smartcache.RenderCache(tmp_path / "nothing").check(script, "Write1")
    assert str(e.value) == f"no cache at {tmp_path / 'nothing'}: the directory does not exist"
    cache.record(script, "Write1", frames="1001")
    with pytest.raises(smartcache.RenderError) as e:
        cache.explain(1001)
    assert str(e.value) == f"{tmp_path / 'cache'}: no snapshot yet: run `smartcache check` first"


def test_a_check_releases_the_gil(shot, tmp_path):
    """Hashing runs with the GIL released: a Python thread makes progress meanwhile."""
    script = smartcache.Script.read(shot / "comp.nk")
    cache = smartcache.RenderCache(tmp_path / "cache")
    ticks = []
    done = threading.Event()

    def tick():
        while not done.is_set():
            ticks.append(1)

    t = threading.Thread(target=tick)
    t.start()
    during = []
    try:
        for _ in range(3):
            # Holding the GIL from here into the call, the main thread lets the ticker
            # run only if the call releases it.
            before = len(ticks)
            cache.record(script, "Write1", frames="-3000-3000")
            during.append(len(ticks) - before)
    finally:
        done.set()
        t.join()
    assert max(during) > 100, during


def test_gizmos_on_the_plugin_path_and_strict(tmp_path, monkeypatch):
    """A gizmo found on plugin_path counts node by node; without it the class is
    unknown, reported, and outdated by strict=True."""
    import shutil
    from conftest import REPO
    monkeypatch.delenv("NUKE_PATH", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    shot = tmp_path / "plugins"
    shutil.copytree(REPO / "fixtures" / "plugins", shot)
    script = smartcache.Script.read(shot / "comp.nk")

    with_gizmos = smartcache.RenderCache(tmp_path / "a", plugin_path=[shot / "gizmos"])
    rec = with_gizmos.record(script, "Glow1", frames="1-3")
    assert rec.unknown_classes == []
    edit(shot / "gizmos" / "effects" / "GlowTool.gizmo", "  xpos 0\n }\n SoftGrade",
         "  xpos 90\n }\n SoftGrade")
    assert with_gizmos.check(script, "Glow1", frames="1-3", strict=True).valid

    without = smartcache.RenderCache(tmp_path / "b")
    rec = without.record(script, "Glow1", frames="1-3")
    assert rec.unknown_classes == ["GlowTool"]
    assert any("GlowTool found neither in the node-class profile" in w for w in rec.warnings)
    report = without.check(script, "Glow1", frames="1-3")
    assert report.valid and report.unknown_classes == ["GlowTool"]
    strict = without.check(script, "Glow1", frames="1-3", strict=True)
    assert (strict.valid, strict.outdated) == (False, "1-3")
    assert [r.text for r in strict.frames[0].reasons] == [
        "strict: class GlowTool is not known to the profile"]
    assert json.loads(strict.to_json())["unknown_classes"] == ["GlowTool"]


def test_record_takes_the_write_nodes_file_as_its_renders(shot, tmp_path):
    """Without `render=`, a Write node's rendered files are its `file` knob's (as the
    CLI's record): a render that disappears is a missing render."""
    renders = shot / "renders"
    renders.mkdir()
    for f in range(1001, 1004):
        (renders / ("comp.%04d.exr" % f)).write_bytes(b"frame %d" % f)
    script = smartcache.Script.read(shot / "comp.nk")
    cache = smartcache.RenderCache(tmp_path / "cache")
    rec = cache.record(script, "Write1", frames="1001-1003")
    assert rec.renders_missing == [] and rec.warnings == []
    assert cache.check(script, "Write1", frames="1001-1003").valid
    (renders / "comp.1002.exr").unlink()
    report = cache.check(script, "Write1", frames="1001-1003")
    assert [(f.frame, f.status) for f in report.frames] == [
        (1001, "valid"), (1002, "missing-render"), (1003, "valid")]
    # Nothing rendered yet: the hashes alone, and nothing said.
    rec = cache.record(script, "Write1", frames="1050-1051")
    assert rec.renders_missing == [] and rec.warnings == []
