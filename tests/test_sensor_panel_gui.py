"""The sensors dock and the feed-health dock in the real window, under Xvfb.

The scene is small and layer-less: six sensors of two kinds placed by location,
a CSV history with three bad lines, and an MQTT feed on a real mosquitto that
the test publishes to, so "stale" and its recovery are the broker's silence and
the broker's data, not a flag set by the test.
"""

from __future__ import annotations

import json
import os
import time
from datetime import datetime, timedelta

import numpy as np
import pytest
from conftest import OUTPUT

pytestmark = pytest.mark.gui

if not os.environ.get("DISPLAY"):
    pytest.skip("no X display (install xvfb: pytest-xvfb starts it)", allow_module_level=True)

from test_sim_mqtt import MOSQUITTO, Broker, free_port  # noqa: E402

from twin.sim.clock import ICT, to_ms  # noqa: E402

T0 = datetime(2025, 6, 1, 0, 0, tzinfo=ICT)
HOURS = 48
WL, NS = ["WL-1", "WL-2", "WL-3"], ["NS-1", "NS-2", "NS-3"]


def _write_scene(tmp, port: int):
    """Water levels rise to 4.5 m (WL-1: alarm), 3.5 m (WL-2: warning), 2 m (WL-3: ok)
    at hour 30; NS-3 has no data at all; lines 5, 9 and 13 are bad."""
    header = ["time", *WL, *NS]
    lines = [",".join(header)]
    for h in range(HOURS):
        bump = np.exp(-((h - 30) / 4.0) ** 2)
        row = [f"{(T0 + timedelta(hours=h)).isoformat()}",
               f"{1.0 + 3.5 * bump:.3f}", f"{1.0 + 2.5 * bump:.3f}", f"{1.0 + 1.0 * bump:.3f}",
               f"{55 + 10 * np.sin(h / 3):.1f}", f"{60 + 5 * np.cos(h / 4):.1f}", "N/A"]
        lines.append(",".join(row))
        if h in (2, 5, 8):
            lines.append(f"{(T0 + timedelta(hours=h, minutes=30)).isoformat()},oops,1,1,1,1,1")
    (tmp / "obs.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    text = ['[scene]', 'name = "sensor panel"', 'crs = "EPSG:9208"',
            'origin = [568000.0, 2357000.0, 0.0]', '', '[[bookmarks]]', 'name = "overview"',
            'position = [568050.0, 2356800.0, 300.0]', 'focal_point = [568050.0, 2357000.0, 0.0]',
            '']
    for i, sid in enumerate(WL + NS):
        kind = "water_level" if sid in WL else "noise"
        text += ['[[sensors]]', f'id = "{sid}"', f'kind = "{kind}"',
                 f'location = [{568000 + 20 * i}.0, 2357000.0]']
        text += ['thresholds = { warning = 3.0, alarm = 4.0 }'] if kind == "water_level" \
            else ['thresholds = { warning = 70, alarm = 80 }']
        text.append('')
    text += ['[[feeds]]', 'type = "csv"', 'name = "history.csv"', 'path = "obs.csv"',
             'columns = { ' + ", ".join(f'"{c}" = "{c}"' for c in WL + NS) + ' }', '',
             '[[feeds]]', 'type = "mqtt"', 'name = "broker"', 'host = "127.0.0.1"',
             f'port = {port}', 'topic = "ct/+"', 'client_id = "ct-panel-test"',
             'stale_after_s = 2', '']
    path = tmp / "scene.toml"
    path.write_text("\n".join(text), encoding="utf-8")
    return path


@pytest.fixture
def broker(tmp_path):
    if MOSQUITTO is None:
        pytest.skip("mosquitto binary not found (apt-get install mosquitto)")
    (tmp_path / "broker").mkdir()
    b = Broker(tmp_path / "broker", free_port())
    b.start()
    yield b
    b.stop()


@pytest.fixture
def window(qtbot, tmp_path, broker, monkeypatch):
    from PySide6.QtCore import QSettings
    from qt_actions import show_window

    import importers
    from app import main_window as mw

    for kind in ("warning", "critical", "information"):
        monkeypatch.setattr(mw.QMessageBox, kind,
                            lambda *_a, **_k: mw.QMessageBox.StandardButton.Ok)
    path = _write_scene(tmp_path, broker.port)
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    w = mw.MainWindow(importers.open_scene(path), scene_path=path, settings=settings)
    show_window(qtbot, w, size=(1200, 800))
    assert w.sim is not None, w.statusBar().currentMessage()
    w.sim.clock.set_time(T0 + timedelta(hours=30))
    w.sensors_panel.refresh()
    yield w
    w.close()


def _ids(panel) -> list[str]:
    return [str(panel.sim.sensors.ids[r]) for r in panel.visible_rows()]


def test_table_filters_by_kind_state_and_text(qtbot, window):
    panel = window.sensors_panel
    assert _ids(panel) == WL + NS and panel.filter_count.text().startswith("6")
    panel.filter_kind.setCurrentIndex(panel.filter_kind.findData("noise"))
    assert _ids(panel) == NS
    panel.filter_kind.setCurrentIndex(0)
    for state, expect in (("alarm", ["WL-1"]), ("warning", ["WL-2"]), ("no data", ["NS-3"]),
                          ("ok", ["WL-3", "NS-1", "NS-2"])):
        panel.filter_state.setCurrentIndex(panel.filter_state.findData(state))
        assert _ids(panel) == expect, state
        assert {panel.cell_text(r, 4) for r in panel.visible_rows()} == {state}
    panel.filter_state.setCurrentIndex(0)
    qtbot.keyClicks(panel.filter_text, "ns-")
    assert _ids(panel) == NS
    panel.filter_text.clear()
    panel.filter_text.insert("Tiếng ồn")  # the kind's Vietnamese name (QTest types ASCII only)
    assert _ids(panel) == NS
    # the clock moves: a state filter follows the values
    panel.set_filter(text="", state="alarm")
    window.sim.clock.set_time(T0 + timedelta(hours=2))
    panel.refresh()
    assert _ids(panel) == []
    panel.set_filter(state="")
    assert _ids(panel) == WL + NS
    # a sensor picked in the 3D view is shown even when a filter hid it
    panel.set_filter(kind="noise")
    panel.select_sensor(0)
    assert 0 in panel.visible_rows() and panel.current_row() == 0


def test_chart_has_a_date_axis_thresholds_and_one_curve_per_selected_sensor(qtbot, window):
    import pyqtgraph as pg
    from PySide6.QtCore import QItemSelectionModel

    panel = window.sensors_panel
    panel.raise_()
    chart = panel.chart
    assert isinstance(chart.axis, pg.DateAxisItem)
    panel.set_current_row(0)
    assert len(chart.curves) == 1 and chart.v.size == HOURS
    model = panel.table.selectionModel()
    model.select(panel.table.model().index(1, 0), QItemSelectionModel.SelectionFlag.Select
                 | QItemSelectionModel.SelectionFlag.Rows)
    assert panel.selected_rows() == [0, 1]
    assert len(chart.curves) == 2
    x, y = chart.curves[1].getData()
    t, v = window.sim.store.series("WL-2", 0, 2**62)
    assert np.allclose(x, t / 1000.0) and np.allclose(y, v)
    assert sorted(line.value() for line in chart.threshold_lines) == [3.0, 4.0]
    # the axis reads scene time (+07:00), whatever the machine's zone
    from pyqtgraph.graphicsItems.DateAxisItem import DAY_HOUR_ZOOM_LEVEL, HOUR_SPACING

    chart.axis.zoomLevel = DAY_HOUR_ZOOM_LEVEL
    eight = to_ms(T0 + timedelta(hours=8)) / 1000.0  # 01:00 UTC
    assert chart.axis.tickStrings([eight], 1, HOUR_SPACING) == ["08:00"]
    # zoom: the view box follows the mouse wheel, and a clock move keeps the zoom
    (x0, x1), (y0, y1) = chart.item.viewRange()
    assert x0 <= t[0] / 1000.0 and t[-1] / 1000.0 <= x1  # the new selection is fitted
    assert y0 <= min(v.min(), 3.0) and max(v.max(), 4.0) <= y1  # data and thresholds
    chart.item.getViewBox().scaleBy((0.5, 1.0))
    (z0, z1), _ = chart.item.viewRange()
    assert z1 - z0 == pytest.approx((x1 - x0) / 2, rel=0.05)
    window.sim.clock.set_time(T0 + timedelta(hours=31))
    panel.refresh()
    assert chart.item.viewRange()[0][1] - chart.item.viewRange()[0][0] \
        == pytest.approx(z1 - z0, rel=0.01)
    assert chart.now_line.value() == to_ms(T0 + timedelta(hours=31)) / 1000.0
    OUTPUT.mkdir(parents=True, exist_ok=True)
    panel.setFloating(True)
    panel.resize(640, 760)
    qtbot.wait(200)
    panel.grab().save(str(OUTPUT / "sensor_panel.png"))


def test_health_dock_lists_the_csv_feeds_bad_lines(qtbot, window):
    dock = window.feed_health_panel
    dock.show_worst()
    dock.poll()
    names = [dock.table.item(r, 0).text() for r in range(dock.table.rowCount())]
    assert names == ["history.csv", "broker"]
    dock.select_feed("history.csv")
    assert dock.table.item(0, 1).text() == "loaded"
    assert dock.table.item(0, 4).text() == "3"
    items = [dock.problems.item(i).text() for i in range(dock.problems.count())]
    assert items == [f"obs.csv:{n}: bad value 'oops' in column 'WL-1'" for n in (5, 9, 13)]
    assert "3 problems" in dock.problems_label.text()
    dock.setFloating(True)
    dock.resize(560, 420)
    qtbot.wait(200)
    OUTPUT.mkdir(parents=True, exist_ok=True)
    dock.grab().save(str(OUTPUT / "feed_health_csv.png"))


def test_status_indicator_turns_stale_then_recovers_when_the_broker_sends_again(qtbot, window,
                                                                                 broker):
    from PySide6.QtCore import Qt
    from test_sim_mqtt import publisher

    dock, indicator = window.feed_health_panel, window.health_indicator
    pub = publisher(broker.port, "ct-panel-pub")

    def send():
        msg = {"sensor": "WL-3", "time": int(time.time() * 1000), "value": 1.25}
        pub.publish("ct/WL-3", json.dumps(msg), qos=1).wait_for_publish(5)

    try:
        def connected_after_send() -> bool:
            send()
            return dock.poll() == "connected"

        qtbot.waitUntil(connected_after_send, timeout=15_000)
        assert indicator.state == "connected" and "connected" in indicator.text()
        qtbot.waitUntil(lambda: dock.poll() == "stale", timeout=15_000)
        assert indicator.state == "stale" and "stale" in indicator.text()
        qtbot.mouseClick(indicator, Qt.MouseButton.LeftButton)
        assert dock.isVisible() and dock.table.currentRow() == 1  # the stale feed
        qtbot.waitUntil(connected_after_send, timeout=15_000)
        assert indicator.state == "connected"
        dock.grab().save(str(OUTPUT / "feed_health.png"))
    finally:
        pub.loop_stop()
        pub.disconnect()


def test_the_window_threshold_is_kept_in_the_project(qtbot, window, tmp_path):
    dock = window.feed_health_panel
    dock.show_worst()
    dock.poll()
    dock.select_feed("broker")
    dock.stale_spin.setValue(45)
    dock.stale_apply.click()
    assert window.sim.health.stale_after(window.sim.feeds[1]) == 45
    project = window.capture_project()
    assert project.feed_stale_after_s == {"broker": 45.0}
    dock.stale_reset.click()
    assert window.sim.health.stale_after(window.sim.feeds[1]) == 2.0  # the scene's
    window.apply_project(project, tmp_path / "p.ctproj")
    assert window.sim.health.stale_after(window.sim.feeds[1]) == 45
