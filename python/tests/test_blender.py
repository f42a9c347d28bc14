"""The extension inside Debian's Blender (3.4, system Python 3.11), headless.

The built package is copied into a directory that is put first on Blender's
sys.path; Blender's own Python then imports the abi3 extension and runs both engines.
Without Blender this test is skipped, unless SMARTCACHE_REQUIRE_BLENDER=1 (CI sets it).
"""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

import smartcache
from conftest import make_files

BLENDER = shutil.which("blender")

SCRIPT = """
import json, shutil, sys
from pathlib import Path
sys.path.insert(0, {site!r})
import smartcache
shot, work = Path({shot!r}), Path({work!r})
script = smartcache.Script.read(shot / "comp.nk")
cache = smartcache.RenderCache(work / "render")
cache.record(script, "Write1", frames="1001-1100")
text = (shot / "comp.nk").read_text().replace("x1050 1.2", "x1050 1.4")
(shot / "comp.nk").write_text(text)
report = cache.check(smartcache.Script.read(shot / "comp.nk"), "Write1")
data = smartcache.DatasetCache(work / "dataset", "copy@1")
built = data.build(work / "data", "v", lambda s, d: shutil.copyfile(s, d))
art = data.get(work / "data" / "f0001.bin", "v")
print("RESULT " + json.dumps({{
    "python": sys.version.split()[0],
    "module": smartcache._smartcache.__file__,
    "outdated": report.outdated,
    "reason": report.frames[49].reasons[0].text,
    "transformed": built.transformed,
    "artifact": Path(art).read_text(),
}}))
"""


def test_blender_imports_and_runs_both_engines(tmp_path, shot):
    if BLENDER is None:
        if os.environ.get("SMARTCACHE_REQUIRE_BLENDER") == "1":
            pytest.fail("blender is not installed (apt-get install blender)")
        pytest.skip("blender is not installed")
    site = tmp_path / "site"
    shutil.copytree(Path(smartcache.__file__).parent, site / "smartcache",
                    ignore=shutil.ignore_patterns("__pycache__"))
    make_files(tmp_path / "data", ["zero", "one", "two"])
    code = SCRIPT.format(site=str(site), shot=str(shot), work=str(tmp_path))
    out = subprocess.run(
        [BLENDER, "--background", "--factory-startup", "--python-exit-code", "1",
         "--python-expr", code],
        capture_output=True, text=True, timeout=300)
    lines = [l for l in out.stdout.splitlines() if l.startswith("RESULT ")]
    assert out.returncode == 0 and lines, out.stdout + out.stderr
    result = json.loads(lines[0][len("RESULT "):])
    assert result["python"].startswith("3.11")
    assert result["module"] == str(site / "smartcache" / "_smartcache.abi3.so")
    assert result["outdated"] == "1041-1059"
    assert result["reason"] == "Grade1.white key at 1050 changed 1.2 -> 1.4"
    assert (result["transformed"], result["artifact"]) == (3, "one")
