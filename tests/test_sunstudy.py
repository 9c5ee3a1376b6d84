"""Sun study: which planned features stand when, what a phase does to the sun-hours,
and the dock that maps them in the window."""

from __future__ import annotations

import os
from datetime import datetime

import numpy as np
import pytest
from test_sunhours import DAY, boxes_layer, scene_with

from twin.analysis import sunstudy as ss
from twin.sim.clock import ICT, to_ms
from twin.sim.overlays.planned import PlanItem, layer_plan

pytest.importorskip("pvlib")

T0 = datetime(2026, 1, 1, tzinfo=ICT)
T1 = datetime(2026, 6, 1, tzinfo=ICT)


class FakeSim:
    """Just the plans of a Simulation: all plan_masks and before_after_phase read."""

    def __init__(self, plans):
        self.plans = plans


def _city():
    # an existing low block, a tower built in phase "A", a shed demolished in phase "A"
    layer = boxes_layer(
        "city",
        [(0, 10, 0, 10, 0, 6), (40, 50, 0, 10, 0, 40), (-200, -190, 0, 10, 0, 30)],
    )
    items = [
        PlanItem("p0", "tower", "city", "A", T0, T1, ["b1"], "build"),
        PlanItem("p1", "demolish", "city", "A", T0, T1, ["b2"], "remove"),
    ]
    scene = scene_with(layer)
    return scene, FakeSim({"city": layer_plan(layer, items)})


def test_plan_masks_follow_states() -> None:
    _scene, sim = _city()
    before = ss.plan_masks(sim, to_ms(T0) - 1)["city"]
    during = ss.plan_masks(sim, datetime(2026, 3, 1, tzinfo=ICT))["city"]
    after = ss.plan_masks(sim, T1)["city"]
    assert before.tolist() == [True, False, True]  # planned tower does not stand yet
    assert during.tolist() == [True, True, True]  # both being worked on: both stand
    assert after.tolist() == [True, True, False]  # the shed is gone
    assert [(p.label, p.start_ms, p.end_ms) for p in ss.plan_phases(sim)] == [
        ("A", to_ms(T0), to_ms(T1))
    ]


def test_before_after_phase_shades_next_to_the_tower() -> None:
    scene, sim = _city()
    pts = np.array(
        [
            [60.0, 5.0, 0.0],  # 10 m east of the tower: shaded in the afternoon
            [45.0, 60.0, 0.0],  # north of it, but the June sun at 21° N is north too
            [5.0, -300.0, 0.0],  # far away
        ]
    )
    before, after, diff = ss.before_after_phase(scene, sim, pts, None, DAY, T1, 15, before_time=T0)
    np.testing.assert_array_equal(diff, after - before)
    assert diff[0] < -1.0
    assert diff[1] == 0.0 and diff[2] == 0.0
    # at the phase's start the tower is scaffolding already: it shades from then on
    _b, _a, d_start = ss.before_after_phase(scene, sim, pts[:1], None, DAY, T0, 15)
    assert d_start[0] < -1.0


@pytest.mark.gui
def test_panel_computes_and_draws_sun_hours(qtbot, tmp_path, monkeypatch) -> None:
    if not os.environ.get("DISPLAY"):
        pytest.skip("no X display")
    from PySide6.QtCore import QSettings, Qt
    from qt_actions import show_window
    from test_app_window import PILOT

    import importers
    from app import main_window as mw
    from app.panels import sunstudy as panel_mod

    for kind in ("warning", "critical", "information"):
        monkeypatch.setattr(mw.QMessageBox, kind, lambda *_a, **_k: None)
        monkeypatch.setattr(panel_mod.QMessageBox, kind, lambda *_a, **_k: None)
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    window = mw.MainWindow(importers.open_scene(PILOT), scene_path=PILOT, settings=settings)
    panel = panel_mod.SunStudyPanel(window)
    window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, panel)
    show_window(qtbot, window, size=(1200, 760))
    try:
        assert window.sunstudy_panel.day() == window.sim.clock.time.date()  # not today
        panel.spacing_spin.setValue(200.0)
        panel.step_spin.setValue(60)
        panel.compute_button.click()
        assert panel.busy()
        qtbot.waitUntil(lambda: not panel.busy(), timeout=30_000)
        assert "sunhours" in window.view.overlay_actors
        r = panel.result
        assert r is not None and len(r.values) > 10
        assert (r.values >= 0).all() and (r.values <= 14).all()
        assert r.values.max() > 8  # open ground gets most of the day
        spec = panel.legend_spec()
        assert spec.has_ramp and spec.clim == (0.0, r.clim[1]) and spec.unit == "h"
        panel.export_csv(str(tmp_path / "s.csv"))
        panel.export_png(str(tmp_path / "s.png"))
        assert (tmp_path / "s.csv").read_text().count("\n") == len(r.values) + 1
        assert (tmp_path / "s.png").stat().st_size > 0
        # the walls of a selected building (the CLI's sunhours --features)
        layer = next(la for la in window.scene.layers if la.kind == "buildings")
        window.view.select(layer, [0])
        panel.facade_button.click()
        qtbot.waitUntil(lambda: not panel.busy(), timeout=30_000)
        f = panel.result
        assert f.grid is None and len(f.values) > 4
        assert (f.values >= 0).all() and (f.values <= 14).all() and f.values.max() > 0
        cells = np.flatnonzero(np.asarray(layer.mesh.cell_data["feature"]) == 0)
        x0, x1, y0, y1, *_ = layer.mesh.extract_cells(cells).bounds
        pts = f.points
        assert (pts[:, 0] >= x0 - 1).all() and (pts[:, 0] <= x1 + 1).all()
        assert (pts[:, 1] >= y0 - 1).all() and (pts[:, 1] <= y1 + 1).all()
        assert "sunhours" in window.view.overlay_actors and not panel.png_button.isEnabled()
        panel.export_csv(str(tmp_path / "f.csv"))
        assert (tmp_path / "f.csv").read_text().count("\n") == len(f.values) + 1
        out = os.environ.get("SUNSTUDY_SHOT")
        if out:
            window.view.request_frame()
            window.plotter.render()
            qtbot.wait(200)
            window.grab().save(out)
        phases = panel.phases()
        assert phases
        panel.compute_phase(phases[0])
        qtbot.waitUntil(lambda: not panel.busy(), timeout=30_000)
        assert panel.result.kind == "difference" and np.isfinite(panel.result.values).all()
        # the day plays from sunrise to sunset; the clock follows
        monkeypatch.setattr(panel_mod, "ANIMATE_SECONDS", 0.3)
        panel.animate_day()
        rise, sset = panel.daylight()
        qtbot.waitUntil(lambda: not panel._anim.isActive(), timeout=5_000)
        assert window.sim.clock.time == sset and 5 <= rise.hour <= 6
        panel.clear()
        assert "sunhours" not in window.view.overlay_actors
    finally:
        panel.shutdown()
        window.close()
