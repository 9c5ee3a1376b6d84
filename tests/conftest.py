"""Shared fixtures: paths, headless GL selection, small generated data files."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

import pytest

# Offscreen renders go through EGL (no X server); the Qt window uses Xvfb.
os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")
# crash logs of CLI runs inside tests go to a throw-away folder, not the user's state
os.environ.setdefault("XDG_STATE_HOME", tempfile.mkdtemp(prefix="citytwin-test-state-"))

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


#: buildings of the small seeded Viet Tri city the streaming tests share
STREAM_CITY_N = 3000


@pytest.fixture(scope="session")
def city_gpkg(tmp_path_factory) -> Path:
    """A seeded whole-city GeoPackage (``tools.synth.city``), written once per run."""
    from tools.synth.city import generate_city, write_city

    path = tmp_path_factory.mktemp("stream_city") / "city.gpkg"
    write_city(generate_city(STREAM_CITY_N, seed=11), path)
    return path


@pytest.fixture(autouse=True)
def no_modal_dialogs(request, monkeypatch):
    """GUI tests never block on a hand-built modal message box nobody will click:
    ``QMessageBox.exec`` called from Python answers Cancel at once (tests that
    expect such a box patch it themselves, after this). Static boxes
    (``QMessageBox.question`` ...) run in C++ and are left to the tests, which
    patch them or drive them as a person would."""
    if request.node.get_closest_marker("gui") is None:
        yield
        return
    from PySide6.QtWidgets import QMessageBox

    monkeypatch.setattr(QMessageBox, "exec", lambda _box: int(QMessageBox.StandardButton.Cancel))
    yield
