"""Shared fixtures: paths, headless GL selection, small generated data files."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

# Offscreen renders go through EGL (no X server); the Qt window uses Xvfb.
os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
SCENES = ROOT / "scenes"
SHARED = ROOT.parent / "shared" / "data"
OUTPUT = ROOT / "tests" / "output"


@pytest.fixture
def output_dir() -> Path:
    """Where failing render tests leave their images for a person to look at."""
    OUTPUT.mkdir(parents=True, exist_ok=True)
    return OUTPUT


def write_geojson(path: Path, features: list[dict], crs: str | None = None) -> Path:
    doc: dict = {"type": "FeatureCollection", "features": features}
    if crs:
        doc["crs"] = {"type": "name", "properties": {"name": crs}}
    path.write_text(json.dumps(doc, allow_nan=True), encoding="utf-8")
    return path


def polygon_feature(fid: str, ring: list[tuple[float, float]], holes=(), **props) -> dict:
    return {
        "type": "Feature",
        "properties": {"id": fid, **props},
        "geometry": {
            "type": "Polygon",
            "coordinates": [list(map(list, ring)), *[list(map(list, h)) for h in holes]],
        },
    }


def run_cli(*args: str, cwd: Path | None = None):
    """Run the real ``citytwin`` CLI in a fresh interpreter."""
    import subprocess

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd or ROOT,
        env=env,
        timeout=300,
    )
