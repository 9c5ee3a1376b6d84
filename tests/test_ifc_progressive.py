"""IFC models appear progressively (issue 20): batches reach the view while the
worker still meshes, the final layer is the one a plain import gives, and a
cancelled import keeps what was shown, marked partial and never cached.

Real towers from ``bench/ifc_towers.py`` (seeded, written to a temporary
folder), the real worker process, the real window under Xvfb.
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from ifc_towers import write_tower  # noqa: E402

import importers  # noqa: E402
from importers.errors import PartialImport  # noqa: E402
from importers.ifc import progressive, streaming  # noqa: E402
from twin.style import NATIVE_CELL_ARRAY  # noqa: E402


@pytest.fixture(scope="module")
def tower(tmp_path_factory) -> Path:
    """~1 MB, 14 storeys, ~1,300 elements: several batches."""
    path = tmp_path_factory.mktemp("tower") / "tower.ifc"
    write_tower(path, 1.0, seed=11, bays=3)
    return path


@pytest.fixture(scope="module")
def big_tower(tmp_path_factory) -> Path:
    """~5 MB: long enough to cancel midway."""
    path = tmp_path_factory.mktemp("big") / "big tower.ifc"
    write_tower(path, 5.0, seed=12, bays=4)
    return path


@pytest.fixture()
def cache_dir(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("CITYTWIN_CACHE_DIR", str(folder))
    return folder


def _plain(path: Path, scene):
    return importers.open(path, scene, {"cache": False})[0]


def _same_layer(a, b) -> None:
    """The same triangles in the same places, the same rows."""
    assert a.mesh.n_cells == b.mesh.n_cells
    np.testing.assert_allclose(a.mesh.bounds, b.mesh.bounds, atol=1e-4)
    assert list(a.features.ids) == list(b.features.ids)
    np.testing.assert_array_equal(a.mesh.cell_data["feature"], b.mesh.cell_data["feature"])
    np.testing.assert_allclose(a.mesh.points, b.mesh.points, atol=1e-4)


# -- pure parts -----------------------------------------------------------------------


def test_batches_start_small_and_cover_everything():
    spans = list(streaming.batches(5000, first=256, most=2048))
    assert spans[0] == (0, 256) and spans[1] == (256, 768)
    assert all(b - a <= 2048 for a, b in spans)
    assert [a for a, _ in spans[1:]] == [b for _, b in spans[:-1]] and spans[-1][1] == 5000
    assert list(streaming.batches(0)) == []


def test_kernel_heavy_needs_enough_elements_seen():
    assert not streaming.kernel_heavy(200, 256)  # too early to tell
    assert streaming.kernel_heavy(200, 1024)
    assert not streaming.kernel_heavy(20, 2048)


def test_storeys_come_bottom_first(tower):
    import ifcopenshell

    from importers.ifc import selection

    f = ifcopenshell.open(str(tower))
    products = selection.select(f).of_kind("body", True)
    ordered = streaming.storey_order(f, products)
    assert sorted(p.id() for p in ordered) == sorted(p.id() for p in products)
    storey_of = {}
    for rel in f.by_type("IfcRelContainedInSpatialStructure"):
        for e in rel.RelatedElements:
            storey_of[e.id()] = float(rel.RelatingStructure.Elevation)
    levels = [storey_of[p.id()] for p in ordered if p.id() in storey_of]
    assert levels == sorted(levels) and len(set(levels)) > 3


# -- headless: the same worker API, with a preview sink ----------------------------------


def test_headless_batches_add_up_to_the_plain_import(tower, cache_dir, monkeypatch):
    # every chunk the worker sends becomes a batch: a fast machine meshes this small
    # tower within the window's 0.4 s between batches, and the test must not depend on it
    monkeypatch.setattr(progressive, "MIN_INTERVAL_S", 0.0)
    scene = importers.scene_for(tower)
    batches: list[progressive.PreviewBatch] = []
    layers = importers.ifc.read(tower, scene, {"cache": False}, preview=batches.append)
    layer = layers[0]
    assert len(batches) >= 2
    # the last few elements may come with the final layer rather than a batch
    assert sum(b.mesh.n_cells for b in batches) <= layer.mesh.n_cells
    assert batches[-1].shown > 0.5 * layer.info["elements_with_geometry"]
    # each batch is drawn where the final layer draws it, in the final colours
    final = {}
    rgb = layer.mesh.cell_data[NATIVE_CELL_ARRAY]
    feature = layer.mesh.cell_data["feature"]
    for b in batches:
        rows = np.unique(b.mesh.cell_data["feature"])
        final_lo = layer.features.bounds[rows][:, 0::2].min(axis=0)
        final_hi = layer.features.bounds[rows][:, 1::2].max(axis=0)
        np.testing.assert_allclose(b.bounds[0::2], final_lo, atol=1e-3)
        np.testing.assert_allclose(b.bounds[1::2], final_hi, atol=1e-3)
        assert not final.keys() & set(rows.tolist())  # no element twice
        final.update(dict.fromkeys(rows.tolist()))
    assert len(final) == batches[-1].shown
    for b in batches:  # each row's colours are the final layer's
        for cell in (0, b.mesh.n_cells // 2, b.mesh.n_cells - 1):
            row = int(b.mesh.cell_data["feature"][cell])
            assert tuple(b.mesh.cell_data["rgb"][cell]) in {tuple(c) for c in rgb[feature == row]}
    # bottom storey first: the first batch is no higher than the model's middle
    zmid = (layer.mesh.bounds[4] + layer.mesh.bounds[5]) / 2
    assert batches[0].bounds[5] < zmid
    _same_layer(layer, _plain(tower, scene))


def test_headless_cancel_keeps_a_partial_layer_and_caches_nothing(big_tower, cache_dir):
    scene = importers.scene_for(big_tower)
    cancel = threading.Event()
    batches: list[progressive.PreviewBatch] = []

    def sink(batch):
        batches.append(batch)
        if len(batches) == 2:
            cancel.set()

    with pytest.raises(PartialImport) as caught:
        importers.ifc.read(big_tower, scene, {}, None, cancel, preview=sink)
    layer = caught.value.layers[0]
    shown = sum(b.mesh.n_cells for b in batches)
    assert layer.name.endswith(progressive.PARTIAL_SUFFIX)
    assert "partial" in layer.warnings[0] and layer.info["partial"]["why"] == "cancelled"
    assert 0 < layer.info["partial"]["done"] < layer.info["partial"]["total"]
    assert layer.mesh.n_cells >= shown  # nothing that was shown is lost
    status = layer.features.attributes["geometry"]
    assert (status == progressive.NOT_LOADED).sum() > 0
    assert not list(cache_dir.rglob("*.ctifc"))
    # a plain (non-preview) cancel still raises ImportCancelled with nothing kept
    cancel2 = threading.Event()
    cancel2.set()
    with pytest.raises(importers.ImportCancelled) as plain:
        importers.ifc.read(big_tower, scene, {}, None, cancel2)
    assert not isinstance(plain.value, PartialImport)


# -- the window -------------------------------------------------------------------------


gui = pytest.mark.gui
needs_display = pytest.mark.skipif(not os.environ.get("DISPLAY"), reason="no X display")


@pytest.fixture
def window_for(qtbot, tmp_path, cache_dir):
    """A window on a scene fitted to a file (as ``citytwin open FILE`` makes it)."""
    from PySide6.QtCore import QSettings

    from app import main_window as mw

    made = []

    def make(path: Path):
        settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
        window = mw.MainWindow(importers.scene_for(path), settings=settings)
        window.resize(900, 640)
        qtbot.addWidget(window)
        window.show()
        qtbot.waitExposed(window)
        made.append(window)
        return window

    yield make
    for window in made:
        window.close()


def _previews(window) -> list[str]:
    """One name per batch actor in the view (the parts of each import's group)."""
    from app.import_preview import PREFIX

    names = []
    for name, group in window.view.overlay_actors.items():
        if name.startswith(PREFIX):
            names += [f"{name}:{i}" for i in range(group.GetParts().GetNumberOfItems())]
    return names


@gui
@needs_display
def test_window_draws_batches_before_the_import_ends(qtbot, window_for, tower, output_dir,
                                                     monkeypatch):
    from qt_actions import grab

    from app import import_preview

    # every chunk a batch, every batch drawn at once: a fast machine meshes this small
    # tower within the 0.3-0.4 s the window leaves between batches and draws
    monkeypatch.setattr(progressive, "MIN_INTERVAL_S", 0.0)
    monkeypatch.setattr(import_preview, "MIN_INTERVAL_S", 0.0)
    monkeypatch.setattr(import_preview, "FRAME_SHARE", 0.0)
    window = window_for(tower)
    empty = grab(window)
    seen: list[tuple[int, bool]] = []  # (preview actors in the view, import finished?)
    finished = []
    job = window.start_import(tower)
    job.succeeded.connect(lambda _layers: finished.append(True))
    job.batch.connect(lambda _b: seen.append((len(_previews(window)), bool(finished))))
    shots = []
    job.batch.connect(lambda _b: shots.append(grab(window)) if len(shots) < 1 else None)
    with qtbot.waitSignal(job.done, timeout=120_000):
        pass
    assert len(seen) >= 2, "the model should arrive in several batches"
    # batches are actors in the view while the import still runs (drawn at
    # once or, when frames are slow, together with the next ones)
    counts = [n for n, _ in seen]
    assert counts[0] == 1 and counts == sorted(counts) and counts[-1] >= 2
    assert not any(done for _, done in seen)
    assert len(job.preview.add_ms) >= 2
    assert job.preview.first_shown_s is not None
    # the first batch changed the picture (real triangles, not a box)
    h, w = min(shots[0].shape[0], empty.shape[0]), min(shots[0].shape[1], empty.shape[1])
    changed = np.abs(shots[0][:h, :w] - empty[:h, :w]).sum(axis=2) > 30
    assert changed.mean() > 0.002
    from PIL import Image

    output_dir.mkdir(parents=True, exist_ok=True)
    Image.fromarray(shots[0].astype(np.uint8)).save(output_dir / "ifc_progressive_first_batch.png")
    # at the end one real layer replaces the preview actors
    assert _previews(window) == []
    layer = window.scene.layers[-1]
    assert not layer.name.endswith(progressive.PARTIAL_SUFFIX)
    _same_layer(layer, _plain(tower, window.scene))


@gui
@needs_display
def test_cancel_midway_keeps_the_partial_model_and_clicks_do_not_crash(
    qtbot, window_for, big_tower, cache_dir
):
    from PySide6.QtWidgets import QPushButton
    from qt_actions import click

    window = window_for(big_tower)
    before = len(window.scene.layers)
    job = window.start_import(big_tower)
    cells: list[int] = []
    job.batch.connect(lambda b: cells.append(b.mesh.n_cells))
    with qtbot.waitSignal(job.batch, timeout=120_000) as first:
        pass
    batch = first.args[0]
    # a click on the model while it loads picks nothing and breaks nothing
    centre = np.asarray(batch.bounds).reshape(3, 2).mean(axis=1)
    click(qtbot, window, window.scene.to_world(centre))
    qtbot.wait(50)
    job.dialog.findChild(QPushButton).click()  # the progress dialog's Cancel button
    with qtbot.waitSignal(job.done, timeout=60_000):
        pass
    assert _previews(window) == []
    assert len(window.scene.layers) == before + 1
    layer = window.scene.layers[-1]
    assert layer.name.endswith(progressive.PARTIAL_SUFFIX)
    assert "partial" in layer.warnings[0]
    assert layer.mesh.n_cells >= sum(cells) > 0  # nothing that was shown is lost
    assert layer.info["partial"]["done"] < layer.info["partial"]["total"]
    assert not list(cache_dir.rglob("*.ctifc"))
    # the partial layer is a real layer: a click on it picks one of its rows
    rows = np.flatnonzero(np.isfinite(layer.features.bounds).all(axis=1))
    b = layer.features.bounds[rows[0]]
    window.view.zoom_to(layer, [int(rows[0])])
    qtbot.wait(50)
    pick = window.view.pick(*window.view.display_point(window.scene.to_world(
        np.array([(b[0] + b[1]) / 2, (b[2] + b[3]) / 2, (b[4] + b[5]) / 2])
    )))  # fmt: skip
    assert pick is not None and pick.layer is layer and pick.row >= 0
    assert window.view.pick is not None
