"""The planning compliance dock in the real window on the Việt Trì pilot: violations
first, coloured in the view with a legend, a click flies there, the timeline's
plan phases decide which buildings are checked."""

from __future__ import annotations

import os
from datetime import datetime

import numpy as np
import pytest

pytestmark = pytest.mark.gui


def test_panel_lists_colours_flies_and_follows_the_plan(qtbot, tmp_path, monkeypatch) -> None:
    if not os.environ.get("DISPLAY"):
        pytest.skip("no X display")
    from PySide6.QtCore import QSettings
    from qt_actions import grab, show_window
    from test_app_window import PILOT

    import importers
    from app import main_window as mw
    from twin.compliance import colors
    from twin.sim.clock import ICT

    for kind in ("warning", "critical", "information"):
        monkeypatch.setattr(mw.QMessageBox, kind, lambda *_a, **_k: None)
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    window = mw.MainWindow(importers.open_scene(PILOT), scene_path=PILOT, settings=settings)
    show_window(qtbot, window, size=(1280, 800))
    panel = window.compliance_panel
    try:
        assert window.compliance_panel.toggleViewAction() in window.view_menu.actions()
        panel.show()
        panel.raise_()
        qtbot.waitUntil(lambda: panel.result is not None, timeout=90_000)
        # 2025 (the scene time): the shophouse row over its lot's density, first in the table
        first = [panel.table.item(r, 0).text() for r in range(3)]
        assert all(b.startswith("VT-B-000") for b in first)
        assert panel.table.item(0, 1).text() == "TOD-LK-01"
        assert panel.table.item(0, 5).text() != panel.table.item(panel.table.rowCount() - 1, 5)
        assert "PL-TOD-A" not in {v["building"] for v in panel.result.violations()}
        buildings = window.scene.layer("Công trình (buildings)")
        row = buildings.features.find(first[0])
        cells = window.view.cell_colors(buildings)[buildings.cells_of([row])]
        assert (cells[:, :3] == colors.BREAKS).all()
        lots = window.scene.layer("Lô quy hoạch (planning lots)")
        assert lots.visible
        keys = [getattr(s, "key", None) for s in window.view.annotations.extra_specs]
        assert colors.LEGEND_KEY in keys and window.legend_action.isChecked()
        assert panel.export_csv(str(tmp_path / "c.csv")) == panel.table.rowCount()
        assert "TOD-LK-01" in (tmp_path / "c.csv").read_text(encoding="utf-8-sig")
        # a click selects the building and flies the camera to it
        before = np.array(window.plotter.camera.focal_point)
        panel.table.cellClicked.emit(0, 0)
        assert window.view.selection[0] is buildings
        after = np.array(window.plotter.camera.focal_point)
        b = buildings.features.bounds[row]
        assert np.hypot(after[0] - (b[0] + b[1]) / 2, after[1] - (b[2] + b[3]) / 2) < 1.0
        assert np.linalg.norm(after - before) > 1.0
        window.view.request_frame()
        window.plotter.render()
        qtbot.wait(300)
        img = grab(window)
        red = (img[..., 0] > 150) & (img[..., 1] < 70) & (img[..., 2] < 70)
        assert red.sum() > 300  # the row's other shophouses, drawn red
        shot = os.environ.get("COMPLIANCE_SHOT")
        if shot:
            window.grab().save(shot)
        # the timeline moves into phase 2: tower A is built, and breaks its height
        window.sim.clock.set_time(datetime(2026, 10, 1, tzinfo=ICT))
        qtbot.waitUntil(lambda: "PL-TOD-A" in {v["building"] for v in panel.result.violations()},
                        timeout=10_000)
        plan = next(la for la in window.scene.layers
                    if la.name.startswith("Quy hoạch") and la.kind == "buildings")
        tower = plan.features.find("PL-TOD-A")
        assert (window.view.cell_colors(plan)[plan.cells_of([tower])][:, :3]
                == colors.BREAKS).all()
        # hiding the dock puts the colours and the lots' visibility back
        panel.hide()
        qtbot.waitUntil(lambda: not lots.visible, timeout=5_000)
        assert colors.LEGEND_KEY not in [getattr(s, "key", None)
                                         for s in window.view.annotations.extra_specs]
        assert not window.legend_action.isChecked()  # as it was before
    finally:
        panel.shutdown()
        window.close()
