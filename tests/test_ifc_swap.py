"""The end of a progressive IFC import (issue 20): the final layer replaces the
preview in one frame, the GUI thread does little besides drawing it, and the
layer tree is built as it is expanded; the kernel's elements are found by a
cheap pre-check so they can be meshed while the fast path's batches are.

A real seeded tower (``bench/ifc_towers.py``), the real worker process, the
real window under Xvfb.
"""

from __future__ import annotations

import itertools
import os
import sys
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from ifc_towers import write_tower  # noqa: E402

import importers  # noqa: E402
from importers.ifc import streaming  # noqa: E402


@pytest.fixture(scope="module")
def tower(tmp_path_factory) -> Path:
    """~1 MB, 14 storeys, ~1,300 elements, a few of them the kernel's."""
    path = tmp_path_factory.mktemp("swap") / "tower.ifc"
    write_tower(path, 1.0, seed=11, bays=3)
    return path


def test_the_precheck_finds_the_kernel_set_of_the_full_look(tower):
    import ifcopenshell

    from importers.ifc import georef, selection
    from importers.ifc.fastpath import FastPath

    f = ifcopenshell.open(str(tower))
    products = selection.select(f).of_kind("body", True)
    unit = georef.project_unit(f)[0]
    fast = FastPath(f, unit)
    kernel, maybe = streaming.precheck(fast.ctx, products)
    assert kernel, "the tower has elements only the kernel meshes"
    assert {p.id() for p in kernel} == {p.id() for p in FastPath(f, unit).split(products)}
    ids = {p.id() for p in kernel}
    assert [p.id() for p in maybe] == [p.id() for p in products if p.id() not in ids]
    # GlobalIds kept off the fast path (the crash tests' hooks) go to the kernel
    kept = str(maybe[0].GlobalId)
    assert maybe[0] in streaming.precheck(fast.ctx, products, {kept})[0]


gui = pytest.mark.gui
needs_display = pytest.mark.skipif(not os.environ.get("DISPLAY"), reason="no X display")


@gui
@needs_display
def test_the_swap_is_one_frame_and_short_and_the_tree_fills_on_expand(
    qtbot, tmp_path, monkeypatch, tower
):
    from PySide6.QtCore import QElapsedTimer, QSettings, QTimer

    from app import main_window as mw
    from app.import_preview import SwapWatch

    monkeypatch.setenv("CITYTWIN_CACHE_DIR", str(tmp_path / "cache"))
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    window = mw.MainWindow(importers.scene_for(tower), settings=settings)
    window.resize(900, 640)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)

    clock = QElapsedTimer()
    beats: list[float] = []
    frames: list[list[float]] = []
    ren_win = window.plotter.ren_win

    def now() -> float:
        return clock.nsecsElapsed() / 1e9

    ren_win.AddObserver("StartEvent", lambda *_: frames.append([now(), -1]))
    ren_win.AddObserver("EndEvent", lambda *_: frames[-1].__setitem__(1, now()))
    heart = QTimer()
    heart.timeout.connect(lambda: beats.append(now()))
    clock.start()
    heart.start(5)
    prepared: list[tuple[str, list]] = []
    prepare = window.view.prepare

    def prepare_and_note(layers) -> None:  # the real prepare, noting where it ran
        prepare(layers)
        prepared.append((threading.current_thread().name,
                         [window.view._prepared[la].actor for la in layers]))

    window.view.prepare = prepare_and_note
    job = window.start_import(tower, {"cache": False})
    watch = SwapWatch(window.view, job.preview, tower)
    arrived: list[float] = []
    job.succeeded.connect(lambda _l: arrived.append(now()))
    with qtbot.waitSignal(job.done, timeout=180_000):
        pass
    qtbot.wait(500)  # the final layer's first frames and the panels' later turns
    heart.stop()
    watch.stop()
    took = arrived[0]
    assert job.preview.add_ms, "the tower should have been drawn in batches"

    # atomic: no frame with both the preview and the final layer, none with neither
    assert watch.verdict().startswith("ok"), watch.verdict()
    assert any(p for p, _ in watch.frames) and watch.frames[-1] == (False, True)

    # short: from the swap on, what the GUI thread did besides drawing frames is a
    # small part of the import (relative, so a loaded machine does not fail it)
    spans = [(a, b) for a, b in frames if b >= a]

    def beyond(a: float, b: float) -> float:
        return b - a - sum(max(0.0, min(b, f1) - max(a, f0)) for f0, f1 in spans)

    after = [beyond(a, b) for a, b in itertools.pairwise(beats) if b >= arrived[0]]
    assert after, "the heartbeat stopped"
    assert max(after) < max(0.05 * took, 0.15), f"GUI busy {max(after):.3f} s of {took:.2f} s"

    # the final layer's actor was built on the import's thread, not this one
    layer = window.scene.layers[-1]
    (where, actors), = prepared
    assert where != threading.main_thread().name and window.view.actors[layer] is actors[0]

    # the layer tree: one item per node it shows, children made when expanded
    panel = window.layers_panel
    top = panel.layer_item(layer.name)
    n_nodes = sum(1 for _ in _walk(layer.tree)) - 1
    made_before = sum(1 for _ in _items(top)) - 1
    assert made_before < n_nodes, "the tree should be built as it is expanded"
    t0 = time.perf_counter()
    _expand(top)
    assert time.perf_counter() - t0 < 5.0
    _same_tree(top, layer.tree.children or [layer.tree])


def _walk(node):
    yield node
    for child in node.children:
        yield from _walk(child)


def _items(item):
    yield item
    for i in range(item.childCount()):
        yield from _items(item.child(i))


def _expand(item) -> None:
    """Expand as a user does (each expansion emits itemExpanded)."""
    item.setExpanded(True)
    for i in range(item.childCount()):
        _expand(item.child(i))


def _same_tree(item, nodes) -> None:
    """Every node is an item, in order, with its name and its number of rows."""
    assert item.childCount() == len(nodes)
    for i, node in enumerate(nodes):
        child = item.child(i)
        assert child.text(0) == (node.name or node.kind)
        assert child.text(1) == str(len(node.all_rows()))
        _same_tree(child, node.children)
