"""The Blender add-on in real headless Blender, against Blender's own pixels.

A scene (tests/scene.py: an image sequence, a driven blur, an animated mix, a switch, a
node group) is rendered and recorded with the add-on's command line. For each edit
(tests/cases.py), the edited scene is rendered again and checked with the add-on: the
frames the check calls outdated must be exactly the expected ones, every frame it calls
valid must render to the same pixels, every frame it calls outdated to different ones
(decoded pixels, not file bytes). Then a check writes an OpenJD job for the outdated
frames, `openjd run` renders and records them with Blender, and a new check is valid.

Needs `blender` (Debian's 3.4) and the smartcache package installed in this Python;
without Blender the tests fail unless SMARTCACHE_REQUIRE_BLENDER=0 (then they skip).
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import cases  # noqa: E402
import png  # noqa: E402

ADDON = HERE.parent
BLENDER = shutil.which("blender")
ENTRY = "import smartcache_blender; smartcache_blender.main()"


@pytest.fixture(scope="session")
def site(tmp_path_factory):
    """A directory holding the installed smartcache package, for Blender's Python."""
    if BLENDER is None:
        if os.environ.get("SMARTCACHE_REQUIRE_BLENDER") == "0":
            pytest.skip("blender is not installed")
        pytest.fail("blender is not installed (apt-get install blender)")
    import smartcache

    site = tmp_path_factory.mktemp("site")
    shutil.copytree(Path(smartcache.__file__).parent, site / "smartcache",
                    ignore=shutil.ignore_patterns("__pycache__"))
    return site


def env_for(site):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(site), str(ADDON)])
    return env


def blender(site, *args, check=True, timeout=900):
    cmd = [BLENDER, "--background", "--factory-startup", "--python-use-system-env",
           "--python-exit-code", "2", *map(str, args)]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env_for(site))
    if check and out.returncode != 0:
        raise AssertionError("%s\nexit %d\n%s\n%s" % (" ".join(cmd), out.returncode,
                                                       out.stdout[-4000:], out.stderr[-4000:]))
    return out


def runner(site, blend, *args):
    pre = [blend] if blend else []
    return blender(site, *pre, "--python", HERE / "runner.py", "--", *args)


def addon(site, blend, *args, check=True):
    return blender(site, blend, "--python-expr", ENTRY, "--", *args, check=check)


def last_json(text):
    """The JSON document the add-on printed (Blender prints its own lines around it)."""
    start = text.index("\n{") + 1 if not text.startswith("{") else 0
    end = text.rindex("\n}") + 2
    return json.loads(text[start:end])


@pytest.fixture(scope="session")
def shot(site, tmp_path_factory):
    """The scene built, rendered and recorded."""
    d = tmp_path_factory.mktemp("shot")
    runner(site, None, "build", d)
    runner(site, d / "base.blend", "render", d, d / "base")
    out = addon(site, d / "base.blend", "record", "--cache-dir", d / "cache", "--json")
    assert last_json(out.stdout)["frames"] == "1-12"
    return d


def pixels(path):
    return png.decode(str(path))


def test_export_reads_back_as_the_same_graph(site, shot, tmp_path):
    """Export fidelity: every node, socket link, group, knob and animation the scene has
    is in the graph, and smartcache reads it back whole."""
    out = tmp_path / "scene.json"
    addon(site, shot / "base.blend", "export", out)
    graph = json.loads(out.read_text())
    assert graph["format"] == "smartcache-graph" and graph["host"] == "blender"
    nodes = {n["name"]: n for n in graph["nodes"]}
    assert sorted(nodes) == sorted([
        "Plate", "Blur", "Reroute", "Mix", "Unused", "Switch", "Group", "Group.Input_Input_0",
        "Group.Invert", "Group.Output", "Render_Layers", "Over", "Composite", "Viewer"])
    knobs = {(n["name"], k["name"]): k for n in graph["nodes"] for k in n.get("knobs", [])}
    # Links name the output socket they read.
    assert nodes["Mix"]["inputs"] == [None, {"node": "Reroute", "socket": "Output"}, None]
    assert nodes["Group.Invert"]["inputs"] == [None, "Group.Input_Input_0"]
    assert nodes["Group"]["group"] is True
    assert nodes["Group.Output"]["inputs"] == [{"node": "Group.Invert", "socket": "Color"}]
    # The image sequence as a clip of absolute, #-padded paths.
    assert knobs[("Plate", "file")]["value"] == str(shot / "plates" / "plate.####.png")
    assert [knobs[("Plate", k)]["value"] for k in ("first", "last", "frame", "before")] == \
        ["0", "12", "0", "hold"]
    # Animation: the Mix factor's F-curve; drivers with their variables.
    fac = knobs[("Mix", "in_Fac")]["fcurve"]
    assert [(k["frame"], k["interpolation"]) for k in fac["keys"]] == \
        [(1.0, "LINEAR"), (6.0, "LINEAR"), (12.0, "LINEAR")]
    assert knobs[("Blur", "size_x")]["driver"] == \
        {"type": "SCRIPTED", "expression": "frame / 3", "variables": []}
    assert knobs[("Blur", "size_y")]["driver"]["variables"] == [
        {"name": "fac", "type": "SINGLE_PROP", "targets": [{"knob": "Mix.in_Fac"}]}]
    # The 3D scene a Render Layers node renders: named, and hashed by content (data.py).
    assert knobs[("Render_Layers", "scene")]["value"] == "Scene"
    assert len(knobs[("Render_Layers", "scene_data")]["value"]) == 64
    root = {k["name"]: k.get("value") for k in graph["root"]}
    assert (root["resolution_x"], root["resolution_y"], root["view_transform"]) == \
        ("64", "36", "Filmic")
    # smartcache reads it: the same nodes, with the Blender profile.
    smartcache_bin = os.environ.get("SMARTCACHE_BIN")
    if smartcache_bin:
        g = subprocess.run([smartcache_bin, "graph", str(out), "--json"], capture_output=True,
                           text=True, check=True)
        assert sorted(n["name"] for n in json.loads(g.stdout)["nodes"]) == sorted(nodes)


@pytest.mark.parametrize("case", sorted(cases.OUTDATES))
def test_check_agrees_with_the_pixels(site, shot, case):
    edited = shot / ("edited-%s.blend" % case)
    out = shot / ("out-%s" % case)
    plates_backup = shot / ("plates-%s" % case)
    shutil.copytree(shot / "plates", plates_backup)
    try:
        runner(site, shot / "base.blend", "edit", shot, case, out, edited)
        res = addon(site, edited, "check", "--cache-dir", shot / "cache", "--json", check=False)
    finally:
        shutil.rmtree(shot / "plates")
        plates_backup.rename(shot / "plates")
    expected = cases.OUTDATES[case]
    assert res.returncode == (1 if expected else 0), res.stderr[-2000:]
    report = last_json(res.stdout)
    statuses = {f["frame"]: f["status"] for f in report["frames"]}
    outdated = sorted(f for f, s in statuses.items() if s != "valid")
    assert outdated == expected
    for f in cases.FRAMES:
        same = pixels(shot / "base" / ("%04d.png" % f)) == pixels(out / ("%04d.png" % f))
        assert same == (statuses[f] == "valid"), "frame %d: %s but pixels %s" % (
            f, statuses[f], "equal" if same else "differ")
    for f in report["frames"]:
        if f["status"] != "valid":
            assert f["reasons"], f


def test_a_farm_job_renders_only_the_outdated_frames(site, shot, tmp_path):
    """check --openjd writes a job; `openjd run` renders and records its chunks with
    Blender; the next check is valid, and only the outdated frames were rendered."""
    openjd = shutil.which("openjd")
    if openjd is None:
        pytest.fail("openjd is not installed (pip install openjd-cli)")
    shutil.copytree(shot / "cache", tmp_path / "cache")
    edited = shot / "edited-farm.blend"
    runner(site, shot / "base.blend", "edit", shot, "keyframe-outside", tmp_path / "preview", edited)
    farm = tmp_path / "farm"
    render = "blender -b {script} -o %s/#### -F PNG -s {first} -e {last} -a" % farm
    job = tmp_path / "job.json"
    res = addon(site, edited, "check", "--cache-dir", tmp_path / "cache", "--openjd", job,
                "--render-command", render, "--chunk", "4", check=False)
    assert res.returncode == 1, res.stderr[-2000:]
    template = json.loads(job.read_text())
    assert template["steps"][0]["parameterSpace"]["taskParameterDefinitions"][0]["range"] == \
        ["7:10", "11:12"]
    subprocess.run([openjd, "check", str(job)], check=True, capture_output=True)
    # The script is not below the job's folder: given at submission, as the check says.
    assert "submit with -p Script=%s\n" % edited in res.stderr, res.stderr
    run = subprocess.run([openjd, "run", str(job), "--step", "RenderOutdated",
                          "-p", "Script=%s" % edited],
                         capture_output=True, text=True, env=env_for(site), timeout=900)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    assert sorted(p.name for p in farm.iterdir()) == ["%04d.png" % f for f in range(7, 13)]
    again = addon(site, edited, "check", "--cache-dir", tmp_path / "cache", "--json")
    assert {f["status"] for f in last_json(again.stdout)["frames"]} == {"valid"}
