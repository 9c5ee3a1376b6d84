"""Simulation core: clock, history store, sensor declarations (no GL, no network)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from twin.features import FeatureTable
from twin.layer import Layer
from twin.scene import Scene
from twin.scenefile import SceneFileError
from twin.sim.clock import ICT, Clock, from_ms, to_ms
from twin.sim.sensors import levels, parse_sensors, resolve_sensors
from twin.sim.store import HistoryStore

T0 = datetime(2025, 6, 1, tzinfo=ICT)


# -- clock ------------------------------------------------------------------------------
def test_clock_steps_plays_and_clamps():
    clock = Clock(T0, T0 + timedelta(hours=2), speed=600, step=timedelta(minutes=15))
    seen = []
    clock.events.time_changed.connect(seen.append)
    clock.step(2)
    assert clock.time == T0 + timedelta(minutes=30)
    clock.advance(10.0)  # paused: nothing moves
    assert len(seen) == 1
    clock.play()
    clock.advance(1.0)  # 600 simulated seconds
    assert clock.time == T0 + timedelta(minutes=40)
    clock.advance(3600.0)  # runs past the end: clamps and pauses
    assert clock.time == T0 + timedelta(hours=2)
    assert not clock.playing
    clock.set_time(T0 - timedelta(days=5))
    assert clock.time == T0
    assert all(t.tzinfo is not None for t in seen)


def test_clock_refuses_naive_times_and_keeps_offsets():
    with pytest.raises(ValueError, match="timezone"):
        Clock(datetime(2025, 6, 1))
    utc = datetime(2025, 6, 1, 1, 0, tzinfo=UTC)
    assert to_ms(utc) == to_ms(datetime(2025, 6, 1, 8, 0, tzinfo=ICT))
    assert from_ms(to_ms(utc)).utcoffset() == timedelta(hours=7)


# -- store ------------------------------------------------------------------------------
@pytest.fixture
def store(tmp_path: Path):
    s = HistoryStore(tmp_path / "history.sqlite", ["a", "b", "c"])
    yield s
    s.close()


def test_store_is_wal_and_duplicates_are_idempotent(store):
    mode = store._db.execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"
    t = to_ms(T0)
    assert store.ingest([0, 1], [t, t], [1.0, 2.0]) == 2
    assert store.ingest([0, 1], [t, t], [9.0, 9.0]) == 0  # re-delivery: nothing new
    assert len(store) == 2
    assert store.values_at(t)[:2].tolist() == [1.0, 2.0]


def test_store_batched_ingest_values_at_and_window(store):
    t0 = to_ms(T0)
    n = 5000
    times = t0 + np.arange(n, dtype=np.int64) * 60_000
    sensors = np.tile([0, 1], n // 2)
    values = np.arange(n, dtype=float)
    assert store.ingest(sensors, times, values) == n
    at = store.values_at(int(times[101]) + 30_000)
    assert at[1] == 101.0 and at[0] == 100.0
    assert np.isnan(at[2])  # never reported
    tt, vv = store.series("a", int(times[10]), int(times[20]))
    assert tt.tolist() == times[10:21:2].tolist() and vv.tolist() == values[10:21:2].tolist()
    # stale values are not shown as current
    assert np.isnan(store.values_at(int(times[-1]) + 7 * 3600_000)).all()
    assert store.time_range() == (int(times[0]), int(times[-1]))


def test_store_gaps_are_null_and_late_data_lands_in_order(store):
    t0 = to_ms(T0)
    store.ingest([0, 0], [t0, t0 + 120_000], [1.0, np.nan])
    assert np.isnan(store.values_at(t0 + 130_000)[0])  # a gap is "unknown", not 0
    store.ingest([0], [t0 + 60_000], [5.0])  # late arrival
    t, v = store.series(0, t0, t0 + 200_000)
    assert t.tolist() == [t0, t0 + 60_000, t0 + 120_000]
    assert v[:2].tolist() == [1.0, 5.0] and np.isnan(v[2])


def test_store_keeps_sensor_numbering_across_reopen(tmp_path):
    path = tmp_path / "h.sqlite"
    s = HistoryStore(path, ["x", "y"])
    s.ingest([1], [1000], [7.0])
    s.close()
    s = HistoryStore(path, ["y", "z", "x"])
    assert s.values_at(1000)[0] == 7.0
    s.close()


# -- sensors ----------------------------------------------------------------------------
def _scene() -> Scene:
    import pyvista as pv

    scene = Scene(crs="EPSG:9208", origin=[568000.0, 2357000.0, 0.0])
    mesh = pv.PolyData(np.array([[0, 0, 0], [10, 0, 0], [0, 10, 0.0]]), faces=[3, 0, 1, 2] * 3)
    mesh.cell_data["feature"] = np.array([0, 1, 2], dtype=np.int32)
    bounds = np.array([[0, 10, 0, 10, 0, 9], [100, 110, 0, 10, 0, 20], [200, 210, 0, 10, 0, 5.0]])
    table = FeatureTable(np.array(["B1", "B2", "B3"], object),
                         np.array(["office", "school", "office"], object),
                         np.array(["", "", ""], object), bounds)
    scene.add_layer(Layer("buildings", mesh, table, kind="buildings"))
    return scene


def test_sensors_expand_each_attach_and_thresholds():
    specs = parse_sensors("s.toml", [
        {"id": "EM-{id}", "kind": "energy", "each": {"layer": "buildings", "class": "office"}},
        {"id": "P1", "kind": "water_pressure", "location": [568104.0, 2357002.0],
         "attach": "buildings", "thresholds": {"warning": 2.0, "alarm": 1.5}},
    ])
    sensors = resolve_sensors(specs, _scene())
    assert sensors.ids.tolist() == ["EM-B1", "EM-B3", "P1"]
    assert sensors.row.tolist() == [0, 2, 1]
    assert sensors.units.tolist() == ["kW", "kW", "bar"]
    assert np.allclose(sensors.positions[0], [5, 5, 9])
    assert np.allclose(sensors.positions[2], [104, 2, 0])
    # lower is worse for pressure: 1.4 bar is an alarm, 1.8 a warning
    assert levels(np.array([1.4, 1.8, 3.0, np.nan]), np.full(4, 2.0), np.full(4, 1.5)).tolist() \
        == [2, 1, 0, -1]


@pytest.mark.parametrize(
    ("table", "key"),
    [
        ({"id": "x", "kind": "lava", "location": [0, 0]}, "sensors[1].kind"),
        ({"id": "x", "kind": "noise"}, "sensors[1].location"),
        ({"id": "x", "kind": "noise", "location": [0, 0], "thresholds": {"alarm": "hi"}},
         "sensors[1].thresholds.alarm"),
        ({"id": "x", "kind": "noise", "location": [0, 0], "colour": 1}, "sensors[1].colour"),
        ({"id": "x-{id}", "kind": "noise", "location": [0, 0]}, "sensors[1].id"),
    ],
)
def test_sensor_errors_are_one_line_and_name_the_key(table, key):
    good = {"id": "ok", "kind": "noise", "location": [0, 0]}
    with pytest.raises(SceneFileError) as err:
        parse_sensors("city.toml", [good, table])
    text = str(err.value)
    assert "\n" not in text and key in text and "city.toml" in text


def test_sensor_resolution_errors_name_the_key():
    specs = parse_sensors("s.toml", [
        {"id": "m", "kind": "water_meter", "feature": {"layer": "buildings", "id": "B9"}}])
    with pytest.raises(SceneFileError, match=r"sensors\[0\]\.feature"):
        resolve_sensors(specs, _scene(), "s.toml")
    specs = parse_sensors("s.toml", [
        {"id": "m{n}", "kind": "noise", "each": {"layer": "nope", "class": "office"}}])
    with pytest.raises(SceneFileError, match=r"sensors\[0\]\.each\.layer"):
        resolve_sensors(specs, _scene(), "s.toml")
