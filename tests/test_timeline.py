"""One clock, one timeline: what has data, the nearest data, alerts on scrubbing,
and the timeline dock on the Việt Trì pilot (zoom, step, speed, jumps, no data)."""

from __future__ import annotations

import os
from datetime import datetime, timedelta

import numpy as np
import pytest
from conftest import SCENES
from test_sim_overlays import boxes_layer, sensor_set

from twin.scene import Scene
from twin.sim.clock import ICT, Clock, from_ms, to_ms
from twin.sim.overlays.alerts import AlertMonitor
from twin.sim.simulation import STATUS_NO_DATA, STATUS_OK, Simulation, TimeRange
from twin.sim.store import HistoryStore

T0 = datetime(2025, 6, 1, tzinfo=ICT)
HOUR = 3600_000


def _sim(with_data: bool = True) -> Simulation:
    """Three sensors with 10 hourly values each (sensor b has a hole 03:00-06:00)
    and a two-phase plan on a four-box layer."""
    scene = Scene(crs="EPSG:9208", origin=[568000.0, 2357000.0, 0.0])
    scene.add_layer(boxes_layer(
        4, start=np.array(["2026-01-01", "2026-03-01", "2027-01-01", ""], object),
        end=np.array(["2026-06-30", "2026-12-31", "2027-12-31", ""], object),
        phase=np.array(["1", "1", "2", ""], object)))
    sensors = sensor_set()
    store = HistoryStore(":memory:", sensors.ids.tolist())
    if with_data:
        t = to_ms(T0) + np.arange(10) * HOUR
        keep_b = (np.arange(10) < 3) | (np.arange(10) > 6)
        store.ingest(np.zeros(10, int), t, np.full(10, 50.0))
        store.ingest(np.ones(keep_b.sum(), int), t[keep_b], np.full(keep_b.sum(), 50.0))
    clock = Clock(T0, T0 + timedelta(days=1000))
    return Simulation(scene, sensors, store, clock=clock)


def test_time_ranges_per_source():
    sim = _sim()
    tour = ("Tour", T0 + timedelta(hours=2), T0 + timedelta(hours=3))
    ranges = sim.time_ranges(tours=[tour])
    assert ranges[0] == TimeRange("sensors", "sensors", to_ms(T0), to_ms(T0) + 9 * HOUR)
    plans = [r for r in ranges if r.kind == "plan"]
    assert [r.label for r in plans] == ["buildings: 1", "buildings: 2"]
    assert plans[0].start == to_ms(datetime(2026, 1, 1, tzinfo=ICT))
    assert plans[0].end == to_ms(datetime(2026, 12, 31, tzinfo=ICT))
    assert plans[1].start == to_ms(datetime(2027, 1, 1, tzinfo=ICT))
    assert ranges[-1] == TimeRange("tour", "Tour", to_ms(tour[1]), to_ms(tour[2]))
    assert [r.kind for r in _sim(with_data=False).time_ranges()] == ["plan", "plan"]


def test_nearest_data_time_and_values_status():
    sim = _sim()
    sim.clock.set_time(T0 + timedelta(days=3))  # past all data
    assert sim.values_status() == [STATUS_NO_DATA] * 3
    assert sim.nearest_data_time(sim.clock.time) == T0 + timedelta(hours=9)
    assert sim.nearest_data_time(sim.clock.time, sensor_row=2) is None  # c never reported
    # b's hole: 03:00..06:00 missing; at 04:40 the nearest of b is 07:00, of a 05:00
    t = T0 + timedelta(hours=4, minutes=40)
    assert sim.nearest_data_time(t, 1) == T0 + timedelta(hours=7)
    assert sim.nearest_data_time(to_ms(t), 0) == T0 + timedelta(hours=5)
    sim.clock.set_time(T0 + timedelta(hours=1))
    assert sim.values_status() == [STATUS_OK, STATUS_OK, STATUS_NO_DATA]


def test_scrubbing_shows_past_alerts_as_history_and_never_raises_them_again():
    s = sensor_set()
    values = {0: [120.0, 50.0, 10.0], 1: [160.0, 50.0, 10.0], 2: [90.0, 50.0, 10.0]}
    mon = AlertMonitor(s)
    raised = []
    mon.alert_raised.connect(raised.append)

    def at(k: int) -> list:
        t = T0 + timedelta(minutes=15 * k)
        return mon.update(t, to_ms(t), np.array(values[min(k, 2)]))

    at(0)
    assert [(a.sensor, a.level, a.live) for a in at(1)] == [("a", "alarm", False)]
    at(2)  # back to normal: one more event
    assert [a.level for a in raised] == ["alarm", "normal"]
    at(0)  # scrub back: silent
    assert at(1) == [] and [a.level for a in mon.recent] == ["alarm"]  # history
    assert mon.recent[0].time == T0 + timedelta(minutes=15) and not mon.recent[0].live
    assert at(2) == [] and len(raised) == 2 and len(mon.alerts) == 2
    assert [a.level for a in mon.history(to_ms(T0 + timedelta(minutes=15)))] == ["alarm"]


def test_live_alerts_are_stamped_with_the_message_time():
    sim = _sim()
    sim.clock.end = T0 + timedelta(days=1)
    sim.set_live(True)
    assert sim.live and sim.clock.end > T0 + timedelta(days=1)  # the end extends to now
    assert abs((sim.clock.time - datetime.now(ICT)).total_seconds()) < 60
    msg = datetime.now(ICT).replace(microsecond=0) - timedelta(minutes=3)
    raised = []
    sim.alerts.alert_raised.connect(raised.append)
    sim.store.ingest(np.array([0]), np.array([to_ms(msg)]), np.array([190.0]))
    sim.follow_now()
    assert [(a.sensor, a.level, a.live) for a in raised] == [("a", "alarm", True)]
    assert raised[0].time == msg  # the message's time, not the clock's
    sim.set_live(False)
    assert not sim.alerts.live


# -- the timeline dock on the pilot scene ----------------------------------------------------
PILOT = SCENES / "viet_tri.toml"
gui = pytest.mark.gui
needs_display = pytest.mark.skipif(not os.environ.get("DISPLAY"),
                                   reason="no X display (install xvfb: pytest-xvfb starts it)")


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    """The window on the pilot scene, with throw-away settings and no modal boxes."""
    from PySide6.QtCore import QSettings
    from qt_actions import show_window

    import importers
    from app import main_window as mw

    for kind in ("warning", "critical", "information"):
        monkeypatch.setattr(mw.QMessageBox, kind,
                            lambda *_a, **_k: mw.QMessageBox.StandardButton.Ok)
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    w = mw.MainWindow(importers.open_scene(PILOT), scene_path=PILOT, settings=settings)
    show_window(qtbot, w, size=(1100, 700))
    yield w
    w.close()


@gui
@needs_display
def test_default_window_is_the_sensor_data_and_speed_fits_it(window):
    panel, sim = window.timeline_panel, window.sim
    first, last = sim.store.time_range()
    t0, t1 = panel.window()
    assert (last - first) / (t1 - t0) >= 0.9  # the 2 days fill the slider
    assert t0 <= first and last <= t1
    seconds = (t1 - t0) / 1000 / sim.clock.speed
    assert 10 <= seconds <= 60
    c = sim.clock
    assert to_ms(c.end) - to_ms(c.start) > 365 * 86_400_000  # the clock still spans the plan
    kinds = {r.kind for r in panel.ranges}
    assert {"sensors", "plan"} <= kinds


@gui
@needs_display
def test_zoom_narrows_the_window_and_the_step_with_it(window):
    panel, sim = window.timeline_panel, window.sim
    panel.show_all()
    wide, step_wide = panel.window(), sim.clock.step_size
    assert step_wide >= timedelta(days=7)  # not 15 minutes on a 5-year slider
    panel.zoom_in_button.click()
    panel.zoom(0.01)
    narrow, step_narrow = panel.window(), sim.clock.step_size
    assert narrow[1] - narrow[0] < (wide[1] - wide[0]) / 100
    assert step_narrow < step_wide
    before = sim.clock.ms
    panel.fwd_button.click()
    assert sim.clock.ms - before == step_narrow.total_seconds() * 1000
    span = narrow[1] - narrow[0]
    assert 0.002 * span <= step_narrow.total_seconds() * 1000 <= 0.05 * span


@gui
@needs_display
def test_jump_to_a_plan_phase_moves_the_clock_there(window):
    panel, sim = window.timeline_panel, window.sim
    phases = [(label, ms) for label, ms in panel.jumps() if ms is not None
              and any(r.kind == "plan" and r.start == ms for r in panel.ranges)]
    assert phases
    label, ms = phases[-1]
    panel._fill_jump_menu()
    action = next(a for a in panel.jump_menu.actions() if a.text().startswith(label))
    action.trigger()
    assert sim.clock.ms == ms
    t0, t1 = panel.window()
    assert t0 <= ms <= t1
    assert panel.time_label.text() == f"{sim.clock.time:%Y-%m-%d %H:%M}"


@gui
@needs_display
def test_no_data_offers_the_nearest_time_and_goes_there(window, tmp_path):
    panel, sim, sensors = window.timeline_panel, window.sim, window.sensors_panel
    first, last = sim.store.time_range()
    sim.clock.set_time(from_ms(last + 30 * 86_400_000))  # a month after the data
    sensors.refresh()
    assert sensors.nodata_label.isVisible()
    assert "no data at this time" in sensors.nodata_label.text().lower()
    assert sensors.nearest_button.isVisible()
    assert sensors.nearest_time == from_ms(last)
    sensors.nearest_button.click()
    assert sim.clock.ms == last
    sensors.refresh()
    assert not sensors.nodata_label.isVisible()
    assert any(sensors.cell_text(i, 2) != "—" for i in range(len(sim.sensors)))
    panel.set_window(first, last)
    panel.set_fraction(0.6)
    window.grab().save(str(tmp_path / "timeline.png"))
    shot = os.environ.get("CITYTWIN_TIMELINE_SHOT")
    if shot:
        window.grab().save(shot)


@gui
@needs_display
def test_wheel_over_the_slider_zooms_and_live_follows_now(window):
    from PySide6.QtCore import QPoint, QPointF, Qt
    from PySide6.QtGui import QWheelEvent
    from PySide6.QtWidgets import QApplication

    panel, sim = window.timeline_panel, window.sim
    t0, t1 = panel.window()
    pos = QPointF(panel.slider.width() / 2, panel.slider.height() / 2)
    event = QWheelEvent(pos, panel.slider.mapToGlobal(pos), QPoint(0, 0), QPoint(0, 120),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
                        Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(panel.slider, event)
    n0, n1 = panel.window()
    assert n1 - n0 < t1 - t0 and t0 <= n0 and n1 <= t1
    panel.live_button.click()
    now = datetime.now(ICT)
    assert sim.live and abs((sim.clock.time - now).total_seconds()) < 5
    assert to_ms(sim.clock.end) >= to_ms(now) - 5000
    w0, w1 = panel.window()
    assert w0 <= sim.clock.ms <= w1
    panel.live_button.click()
    assert not sim.live and not panel.live_timer.isActive()


@gui
@needs_display
def test_the_storm_raises_the_flood_flag_in_the_status_bar_and_it_clears(window):
    """The district flood warning (river gauges + manholes) shows beside the feed
    health while raised, with its causes, and hides again when the water is down."""
    sim, flag = window.sim, window.flood_indicator
    calm = datetime(2025, 6, 1, 14, 0, tzinfo=ICT)  # before the storm
    sim.clock.set_time(calm)
    assert flag.isHidden() and flag.level == 0
    sim.clock.set_time(datetime(2025, 6, 1, 18, 0, tzinfo=ICT))  # the storm: manholes
    assert not flag.isHidden() and flag.level >= 1
    assert flag.causes.get("manhole_level", 0) > 0 and "water_level" not in flag.causes
    assert "Flood" in flag.text() and "manhole" in flag.text().lower()
    sim.clock.set_time(datetime(2025, 6, 2, 12, 0, tzinfo=ICT))  # the river's flood peak
    assert flag.level == 2 and flag.causes.get("water_level", 0) > 0
    sim.clock.set_time(calm)  # scrubbed back: the flag follows the clock
    assert flag.isHidden(), (flag.level, flag.causes)


@gui
@needs_display
def test_a_project_keeps_its_sensor_history_across_restarts(window, tmp_path):
    """Saved once, a project's history lives in its own store beside it: what a live
    feed adds after reopening is still there when the project is opened again."""
    from twin.sim.store import project_store_path

    in_memory = len(window.sim.store)
    project = tmp_path / "pilot.ctproj"
    assert window.save_project(project)
    history = project_store_path(project)
    assert history.exists()

    window.open_project(project)
    assert window.sim.store.path == str(history)
    assert len(window.sim.store) == in_memory  # the synthetic replay adds nothing twice
    late = to_ms(datetime(2025, 6, 3, 6, 0, tzinfo=ICT))  # after the demo's data
    assert window.sim.store.ingest(np.array([0]), np.array([late]), np.array([42.5])) == 1

    window.open_project(project)  # the old simulation (and its store) closed first
    t, v = window.sim.store.series(0, late - 1, late + 1)
    assert t.tolist() == [late] and v.tolist() == [42.5]
