"""Project files (twin.project): round trip, forgiving load, atomic save under kill -9."""

from __future__ import annotations

import json
import math
import os
import random
import signal
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import SCENES

from twin import project as projects
from twin.scene import Bookmark, Scene
from twin.style import Style


def _project(tmp_path: Path, n_bookmarks: int = 3) -> projects.Project:
    layer_file = tmp_path / "extra.geojson"
    layer_file.write_text('{"type": "FeatureCollection", "features": []}', encoding="utf-8")
    return projects.Project(
        scene_path=str(SCENES / "viet_tri.toml"),
        camera=Bookmark("camera", (568000.0, 2357000.0, 500.0), (568300.0, 2357700.0, 0.0)),
        added_layers=[projects.AddedLayer(str(layer_file), {"kind": "areas"})],
        bookmarks=[
            Bookmark(f"Góc {i}", (1.0 * i, 2.0, 300.0), (0.0, 0.0, 0.0)) for i in range(n_bookmarks)
        ],
        styles={"Công trình (buildings)": Style(mode="attribute", attribute="height", opacity=0.7)},
        visibility={"Đường (roads)": False},
        hidden_features={"Công trình (buildings)": [0, 5]},
        time_ms=1_800_000_000_000,
    )


def test_a_project_round_trips_with_relative_paths(tmp_path):
    original = _project(tmp_path)
    path = tmp_path / "sub" / "p.ctproj"
    path.parent.mkdir()
    projects.save_project(original, path)
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert not Path(doc["scene"]).is_absolute()
    loaded, warnings = projects.load_project(path)
    assert warnings == []
    assert loaded.scene_path == str(Path(original.scene_path).resolve())
    assert [b.name for b in loaded.bookmarks] == ["Góc 0", "Góc 1", "Góc 2"]
    assert loaded.camera == original.camera
    assert loaded.styles["Công trình (buildings)"] == original.styles["Công trình (buildings)"]
    assert loaded.visibility == {"Đường (roads)": False}
    assert loaded.added_layers[0].options == {"kind": "areas"}
    assert loaded.hidden_features == {"Công trình (buildings)": [0, 5]}
    assert loaded.time_ms == 1_800_000_000_000


def test_nan_camera_unknown_version_and_missing_layers_load_with_warnings(tmp_path):
    path = tmp_path / "p.ctproj"
    projects.save_project(_project(tmp_path), path)
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc["version"] = 99
    doc["camera"]["position"] = [math.nan, 0, 0]
    doc["added_layers"].append({"path": "gone.geojson"})
    doc["bookmarks"].append({"name": "bad", "position": [1, 2], "focal_point": [0, 0, 0]})
    doc["styles"]["x"] = {"mode": "sparkle"}
    path.write_text(json.dumps(doc, allow_nan=True), encoding="utf-8")
    loaded, warnings = projects.load_project(path)
    assert loaded.camera is None
    assert len(loaded.added_layers) == 1 and len(loaded.bookmarks) == 3
    text = "\n".join(warnings)
    for needle in ("version 99", "camera", "gone.geojson", "bookmark 4", "sparkle"):
        assert needle in text


@pytest.mark.parametrize("content", ["", "{", "[]", '{"format": "other"}', "\udcff"])
def test_unusable_files_raise_a_project_error(tmp_path, content):
    path = tmp_path / "p.ctproj"
    path.write_bytes(content.encode("utf-8", "surrogateescape"))
    with pytest.raises(projects.ProjectError):
        projects.load_project(path)


def test_apply_puts_styles_visibility_and_bookmarks_on_a_scene(tmp_path):
    import importers

    scene = importers.open_scene(SCENES / "viet_tri.toml")
    warnings = projects.apply(_project(tmp_path), scene)
    assert scene.layer("Đường (roads)").visible is False
    assert scene.layer("Công trình (buildings)").style.attribute == "height"
    hidden = scene.hidden_features(scene.layer("Công trình (buildings)"))
    assert hidden.nonzero()[0].tolist() == [0, 5]
    assert scene.bookmarks[0].name == "Góc 0"
    assert warnings == []


def test_a_failed_save_keeps_the_original_and_leaves_no_temp_file(tmp_path, monkeypatch):
    path = tmp_path / "p.ctproj"
    projects.save_project(_project(tmp_path, 1), path)
    before = path.read_bytes()

    def disk_full(*_a, **_k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError):
        projects.save_project(_project(tmp_path, 5), path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["extra.geojson", "p.ctproj"]


def test_recovery_is_offered_only_when_newer_and_valid(tmp_path):
    path = tmp_path / "p.ctproj"
    projects.save_project(_project(tmp_path, 1), path)
    assert projects.recovery_candidate(path) is None
    rec = projects.autosave(_project(tmp_path, 2), path)
    os.utime(rec, (time.time() + 5, time.time() + 5))
    assert projects.recovery_candidate(path) == rec
    rec.write_text("{ torn", encoding="utf-8")
    assert projects.recovery_candidate(path) is None  # a corrupt autosave is never offered
    projects.autosave(_project(tmp_path, 2), path)
    os.utime(rec, (time.time() - 100, time.time() - 100))
    assert projects.recovery_candidate(path) is None  # older than the project
    path.write_text("corrupt", encoding="utf-8")
    assert projects.recovery_candidate(path) == rec  # the project is broken: offer it
    projects.discard_recovery(path)
    assert not rec.exists()


def _save_forever(path: Path) -> None:
    """Child process body: save different projects back to back until killed."""
    i = 0
    try:
        while True:
            i += 1
            marks = [
                Bookmark(f"b{i}-{k}", (float(k), 1.0, 2.0), (0.0, 0.0, 0.0)) for k in range(400)
            ]
            projects.save_project(projects.Project(bookmarks=marks), path)
            if i == 1:
                os.write(1, b"r")
    finally:
        os._exit(1)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork (POSIX)")
def test_kill_9_during_saves_leaves_the_old_or_the_new_file(tmp_path):
    """RELIABILITY F1: SIGKILL at random moments of a save loop; always parseable."""
    path = tmp_path / "p.ctproj"
    projects.save_project(projects.Project(bookmarks=[]), path)
    rng = random.Random(7)
    for _ in range(60):
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # child
            os.close(read_end)
            os.dup2(write_end, 1)
            _save_forever(path)
        os.close(write_end)
        assert os.read(read_end, 1) == b"r"
        os.close(read_end)
        time.sleep(rng.uniform(0.0, 0.02))
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        project, warnings = projects.load_project(path)
        assert warnings == []
        assert len(project.bookmarks) in (0, 400)
    assert path.stat().st_size > 0


def test_capture_copies_styles(tmp_path):
    import pyvista as pv

    from twin.features import FeatureTable
    from twin.layer import Layer

    scene = Scene(crs="EPSG:9208")
    mesh = pv.Box().triangulate()
    mesh.cell_data["feature"] = np.zeros(mesh.n_cells, np.int32)
    table = FeatureTable(np.array(["a"]), np.array(["x"]), np.array(["A"]), np.zeros((1, 6)))
    layer = scene.add_layer(Layer("L", mesh, table))
    snap = projects.capture(scene, None)
    layer.style.opacity = 0.1
    assert snap.styles["L"].opacity == 1.0
