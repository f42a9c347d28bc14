"""Shared fixtures: a copy of fixtures/render per test, the smartcache CLI for
comparisons, and small dataset trees."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def cli_path() -> Path:
    """The smartcache binary: $SMARTCACHE_BIN, else target/{debug,release}/smartcache."""
    env = os.environ.get("SMARTCACHE_BIN")
    candidates = [Path(env)] if env else [
        REPO / "target" / "debug" / "smartcache",
        REPO / "target" / "release" / "smartcache",
    ]
    for c in candidates:
        if c.is_file():
            return c
    raise RuntimeError(
        "the smartcache CLI is not built: run `cargo build` or set SMARTCACHE_BIN"
    )


def run_cli(*args, cwd=None):
    """Run the CLI; returns (exit status, stdout, stderr)."""
    out = subprocess.run(
        [str(cli_path()), *map(str, args)], cwd=cwd, capture_output=True, text=True
    )
    return out.returncode, out.stdout, out.stderr


@pytest.fixture
def shot(tmp_path):
    """A copy of fixtures/render (comp.nk, plates/) in a fresh directory."""
    root = tmp_path / "shot"
    shutil.copytree(REPO / "fixtures" / "render", root)
    return root


def edit(path: Path, old: str, new: str):
    """Replace `old` (which must be there) with `new` in a file."""
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new))


def tree(root: Path):
    """Every file under `root` with its bytes."""
    return {
        p.relative_to(root): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def make_files(root: Path, contents):
    """Write files named f0000.bin, f0001.bin, ... with the given contents."""
    root.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, c in enumerate(contents):
        p = root / f"f{i:04d}.bin"
        p.write_bytes(c if isinstance(c, bytes) else c.encode())
        paths.append(p)
    return paths
