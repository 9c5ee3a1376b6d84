"""Feed health without a window: states, recovery, thresholds, rate, problem lists.

Time is passed to ``poll(now=...)`` so a 300 s threshold is tested in
milliseconds; the feeds are real (base ``Feed.write`` into a real store, a real
CSV file with bad rows, a real MQTT client facing a closed port).
"""

from __future__ import annotations

import socket
import time
from pathlib import Path

import numpy as np
import pytest

from twin.project import Project, parse_project, to_json
from twin.scenefile import SceneFileError
from twin.sim.feeds import make_feed
from twin.sim.feeds.base import Feed
from twin.sim.feeds.csv_replay import CsvReplayFeed
from twin.sim.health import DEFAULT_STALE_AFTER_S, HealthMonitor, state_text, worst
from twin.sim.sensors import SensorSet
from twin.sim.store import HistoryStore


def _sensors(n: int = 2) -> SensorSet:
    return SensorSet(
        ids=np.array([f"S{i}" for i in range(n)], object),
        kinds=np.array(["water_level"] * n, object), units=np.array(["m"] * n, object),
        names=np.array([""] * n, object), positions=np.zeros((n, 3)),
        layer=np.array([None] * n, object), row=np.full(n, -1, np.int64),
        warning=np.full(n, np.nan), alarm=np.full(n, np.nan), params=[{} for _ in range(n)],
    )


class PushFeed(Feed):
    """A live feed whose source is the test: ``push`` goes through ``Feed.write``."""

    kind = "push"

    def run(self) -> None:
        self.status = "running"
        self._stop.wait()

    def push(self, n: int = 1) -> None:
        t = int(time.time() * 1000)
        self.write(np.zeros(n, dtype=np.int64), t + np.arange(n), np.ones(n))


@pytest.fixture
def live():
    sensors = _sensors()
    store = HistoryStore(":memory:", sensors.ids.tolist())
    feed = PushFeed("live", sensors, store)
    feed.start()
    deadline = time.time() + 5
    while feed.status != "running" and time.time() < deadline:
        time.sleep(0.01)
    yield feed
    feed.stop()
    store.close()


def test_a_silent_feed_goes_stale_and_recovers_when_data_return(live):
    mon = HealthMonitor([live], default_stale_after_s=300)
    live.push()
    t0 = time.time()
    (h,) = mon.poll(t0)
    assert h.state == "connected" and h.last_message is not None
    (h,) = mon.poll(t0 + 299)
    assert h.state == "connected"
    (h,) = mon.poll(t0 + 301)
    assert h.state == "stale" and mon.overall() == "stale"
    live.push()  # data return
    (h,) = mon.poll(t0 + 302)
    assert h.state == "connected" and mon.overall() == "connected"
    assert h.last_message == pytest.approx(t0 + 302)


def test_a_feed_that_connects_but_never_sends_is_timed_from_its_start(live):
    mon = HealthMonitor([live], default_stale_after_s=10)
    t0 = time.time()
    assert mon.poll(t0)[0].state == "connected"
    assert mon.poll(t0)[0].last_message is None
    assert mon.poll(t0 + 11)[0].state == "stale"


def test_thresholds_scene_then_window_override_then_back(tmp_path):
    sensors = _sensors()
    store = HistoryStore(":memory:", sensors.ids.tolist())
    table = {"type": "synthetic", "name": "demo", "start": _aware(), "stale_after_s": 30}
    scene_feed = make_feed(tmp_path / "s.toml", table, "feeds[0]", sensors, store)
    plain_table = {k: v for k, v in table.items() if k != "stale_after_s"} | {"name": "plain"}
    plain = make_feed(tmp_path / "s.toml", plain_table, "feeds[1]", sensors, store)
    mon = HealthMonitor([scene_feed, plain])
    assert mon.stale_after(scene_feed) == 30.0
    assert mon.stale_after(plain) == DEFAULT_STALE_AFTER_S == 300.0
    mon.set_stale_after("demo", 5)
    assert mon.stale_after(scene_feed) == 5.0
    assert mon.poll()[0].stale_after_s == 5.0
    mon.set_stale_after("demo", None)
    assert mon.stale_after(scene_feed) == 30.0
    with pytest.raises(ValueError, match="positive"):
        mon.set_stale_after("demo", 0)
    assert mon.apply_overrides({"demo": 60.0, "gone": 9.0}) == [
        "stale threshold for feed 'gone': no such feed in the scene"]
    assert mon.stale_after(scene_feed) == 60.0
    store.close()


@pytest.mark.parametrize("bad", [-1, 0, "5"])
def test_a_bad_scene_threshold_is_one_line_naming_the_key(tmp_path, bad):
    sensors = _sensors()
    store = HistoryStore(":memory:", sensors.ids.tolist())
    table = {"type": "synthetic", "start": _aware(), "stale_after_s": bad}
    with pytest.raises(SceneFileError) as err:
        make_feed(tmp_path / "s.toml", table, "feeds[0]", sensors, store)
    assert "feeds[0].stale_after_s" in str(err.value) and "\n" not in str(err.value)
    store.close()


def test_the_mqtt_feed_follows_the_window_threshold(tmp_path):
    from twin.sim.feeds.mqtt import MqttFeed

    sensors = _sensors()
    store = HistoryStore(":memory:", sensors.ids.tolist())
    feed = MqttFeed("broker", sensors, store, port=_closed_port(), topic="t/#")
    mon = HealthMonitor([feed], default_stale_after_s=120)
    assert feed.stale_s == 120
    mon.set_stale_after("broker", 7)
    assert feed.stale_s == 7
    store.close()


def test_rate_is_observations_per_second_over_the_window(live):
    mon = HealthMonitor([live], window_s=10)
    t0 = time.time()
    mon.poll(t0)
    live.push(50)
    assert mon.poll(t0 + 5)[0].rate == pytest.approx(10.0)
    live.push(50)
    assert mon.poll(t0 + 10)[0].rate == pytest.approx(10.0)
    # nothing more for 20 s: the window slides past the bursts
    mon.poll(t0 + 20)
    assert mon.poll(t0 + 30)[0].rate == pytest.approx(0.0)


def test_a_csv_with_bad_rows_lists_the_first_100_and_counts_the_rest(tmp_path):
    lines = ["time,level"]
    for i in range(130):
        lines.append(f"2025-06-01T{i // 60:02d}:{i % 60:02d}:00+07:00,{i}.5")
        lines.append(f"2025-06-01T{i // 60:02d}:{i % 60:02d}:30+07:00,oops{i}")
    path = tmp_path / "obs.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    sensors = _sensors(1)
    store = HistoryStore(":memory:", sensors.ids.tolist())
    feed = CsvReplayFeed("csv", sensors, store, path, columns={"level": "S0"})
    mon = HealthMonitor([feed])
    feed._guarded_run()
    (h,) = mon.poll()
    assert h.state == "done" and h.kind == "csv"
    assert h.errors == 130  # malformed values
    assert len(h.problems) == 100 and h.more == 30 and h.problem_total == 130
    assert str(h.problems[0]) == "obs.csv:3: bad value 'oops0' in column 'level'"
    assert str(h.problems[99]).startswith("obs.csv:201:")
    assert store.series("S0", 0, 2**62)[1].size == 130  # good rows all kept
    store.close()


def test_an_unreadable_csv_is_an_error_with_its_reason(tmp_path):
    sensors = _sensors(1)
    store = HistoryStore(":memory:", sensors.ids.tolist())
    feed = CsvReplayFeed("csv", sensors, store, tmp_path / "missing.csv",
                         columns={"level": "S0"})
    feed._guarded_run()
    (h,) = HealthMonitor([feed]).poll()
    assert h.state == "error" and "missing.csv" in h.detail
    assert h.errors == 1 and "missing.csv" in str(h.problems[0])
    store.close()


def test_an_mqtt_feed_without_a_broker_is_reconnecting_not_connected():
    from twin.sim.feeds.mqtt import MqttFeed

    sensors = _sensors()
    store = HistoryStore(":memory:", sensors.ids.tolist())
    feed = MqttFeed("broker", sensors, store, host="127.0.0.1", port=_closed_port(),
                    topic="t/#", reconnect=(0.1, 0.2))
    mon = HealthMonitor([feed])
    assert mon.poll()[0].state == "idle"
    feed.start()
    try:
        deadline = time.time() + 10
        while mon.poll()[0].state == "idle" and time.time() < deadline:
            time.sleep(0.05)
        assert mon.poll()[0].state == "reconnecting"
    finally:
        feed.stop()
        store.close()


def test_overall_health_is_the_worst_state():
    assert worst([]) == "none"
    assert worst(["done", "connected"]) == "connected"
    assert worst(["connected", "stale", "reconnecting"]) == "stale"
    assert worst(["stale", "error", "idle"]) == "error"
    assert state_text("stale", "vi").startswith("quá hạn")
    assert state_text("reconnecting", "en") == "reconnecting"


def test_project_keeps_per_feed_thresholds_and_drops_bad_ones(tmp_path):
    path = tmp_path / "p.ctproj"
    text = to_json(Project(feed_stale_after_s={"broker": 45.0}), path)
    project, warnings = parse_project(text, path)
    assert project.feed_stale_after_s == {"broker": 45.0} and not warnings
    bad = text.replace("45.0", "-3")
    project, warnings = parse_project(bad, path)
    assert project.feed_stale_after_s == {}
    assert warnings == ["stale threshold of feed 'broker': -3 is not a positive number of "
                        "seconds, ignored"]


def _aware():
    from datetime import datetime

    from twin.sim.clock import ICT

    return datetime(2025, 6, 1, tzinfo=ICT)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_nothing_here_depends_on_qt():
    import subprocess
    import sys

    code = ("import sys, twin.sim.health, twin.sim.simulation; "
            "print(any(m.startswith(('PySide6', 'pyqtgraph')) for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=Path(__file__).resolve().parents[1], timeout=120)
    assert out.stdout.strip() == "False", out.stderr
