"""The outbound IOC link (twin.sim.ioc_link) against real mosquitto brokers.

- ``citytwin ingest --csv --publish``: a subscriber on the IOC broker gets every
  live alert exactly once by message id, across a graceful restart of that broker
  in the middle (the outbox resends); the CSV history imported at start publishes
  nothing; a late subscriber reads the retained current values and status;
- an outbox written while the IOC broker is down survives a SIGKILL of the link;
- scrubbing a simulation's clock over past alerts publishes nothing, while a
  live crossing does.

Every payload is validated against docs/ioc-mqtt.schema.json. Skipped where the
``mosquitto`` binary is missing (``apt-get install mosquitto``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from test_ingest_durable import MOSQUITTO, ROOT, ShippedBroker, wait_for

from twin.sim.clock import ICT, from_ms, to_ms
from twin.sim.health import SEVERITY
from twin.sim.ioc_link import ID_NAMESPACE, IocError, IocLink, attach, parse_target

pytestmark = pytest.mark.skipif(MOSQUITTO is None, reason="mosquitto binary not found")
mqtt = pytest.importorskip("paho.mqtt.client", reason="paho-mqtt>=2 is not installed")
SCHEMA = json.loads((ROOT / "docs" / "ioc-mqtt.schema.json").read_text())
PREFIX = "ioc/viettri"
LEVEL = {0: "normal", 1: "warning", 2: "alarm"}


def validate(doc: dict) -> None:
    """Against the published JSON Schema (jsonschema when installed, else the
    required keys and the closed key set of the payload's type)."""
    try:
        import jsonschema
    except ImportError:
        spec = SCHEMA["$defs"][doc["type"]]
        assert set(spec["required"]) <= set(doc) <= set(spec["properties"])
        return
    jsonschema.validate(doc, SCHEMA)


class Subscriber:
    """A QoS 1 subscriber to ``<prefix>/#`` with a persistent session (it misses
    nothing while the broker restarts); records (topic, doc, retain flag)."""

    def __init__(self, port: int, client_id: str) -> None:
        from paho.mqtt.packettypes import PacketTypes
        from paho.mqtt.properties import Properties

        self.got: list[tuple[str, dict, bool]] = []
        self.lock = threading.Lock()
        self.c = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2,
                             client_id=client_id, protocol=mqtt.MQTTv5)
        self.c.reconnect_delay_set(0.1, 0.5)
        self.c.on_connect = lambda c, *_: c.subscribe(f"{PREFIX}/#", qos=1)
        self.c.on_message = self._on_message
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = 3600
        self.c.connect_async("127.0.0.1", port, clean_start=False, properties=props)
        self.c.loop_start()
        assert wait_for(self.c.is_connected, 10)

    def _on_message(self, client, userdata, msg) -> None:
        doc = json.loads(msg.payload)
        with self.lock:
            self.got.append((msg.topic, doc, bool(msg.retain)))

    def of(self, kind: str) -> list[dict]:
        with self.lock:
            return [d for _, d, _ in self.got if d.get("type") == kind]

    def close(self) -> None:
        self.c.disconnect()
        self.c.loop_stop()


def scene_text(feed_port: int, n: int, csv: str | None = None) -> str:
    lines = ['[scene]', 'name = "ioc test"', 'crs = "EPSG:9208"',
             'origin = [568000.0, 2357000.0, 0.0]', '']
    for i in range(n):
        lines += ['[[sensors]]', f'id = "S{i}"', 'kind = "water_level"', 'unit = "m"',
                  f'location = [{568000 + 10 * i}.0, 2357000.0]',
                  'thresholds = { warning = 5.0, alarm = 10.0 }', '']
    lines += ['[[feeds]]', 'type = "mqtt"', 'name = "gauges"', 'host = "127.0.0.1"',
              f'port = {feed_port}', 'topic = "ct/+"', 'client_id = "ct-ioc-ingest"', '']
    if csv:
        cols = ", ".join(f'S{i} = "S{i}"' for i in range(n))
        lines += ['[[feeds]]', 'type = "csv"', 'name = "history"', f'path = "{csv}"',
                  f'columns = {{ {cols} }}', '']
    return "\n".join(lines)


def expected_alert_id(sensor: str, t_ms: int, previous: int, level: int) -> str:
    return str(uuid.uuid5(ID_NAMESPACE, f"alert/{sensor}/{t_ms}/{LEVEL[previous]}/"
                                        f"{LEVEL[level]}"))


def test_parse_target():
    t = parse_target("mqtt://ops@ioc.phutho.gov.vn:1884/citytwin/viettri/")
    assert (t.host, t.port, t.prefix, t.user, t.tls) == (
        "ioc.phutho.gov.vn", 1884, "citytwin/viettri", "ops", False)
    assert parse_target("mqtts://h/p").port == 8883
    for bad in ("http://h/p", "mqtt://h", "mqtt://h:1883/a/#", "mqtt://u:secret@h/p",
                "mqtt://h:99999/p"):
        with pytest.raises(IocError):
            parse_target(bad)


def test_live_alerts_arrive_once_across_a_broker_restart(tmp_path):
    """``citytwin ingest --csv --publish``: 4 gauges step through normal, warning,
    alarm and back twice; the IOC broker is restarted (SIGTERM) half way. The
    subscriber's ids are exactly the crossings' ids, each at least once; the CSV
    history (with alarms, 2 h old) publishes nothing; a late subscriber reads
    each gauge's last value, retained, and the status "offline" after a stop."""
    feed_broker = ShippedBroker(tmp_path / "feed")
    ioc = ShippedBroker(tmp_path / "ioc")
    feed_broker.start()
    ioc.start()
    n = 4
    old = to_ms(datetime.now(ICT) - timedelta(hours=2))
    rows = ["time," + ",".join(f"S{i}" for i in range(n))]
    rows += [f"{from_ms(old + k * 60_000, ICT).isoformat()}," + ",".join(
        [str(v)] * n) for k, v in enumerate([1, 7, 12, 2, 11, 1])]  # crossings, 2 h ago
    (tmp_path / "hist.csv").write_text("\n".join(rows) + "\n")
    scene = tmp_path / "scene.toml"
    scene.write_text(scene_text(feed_broker.port, n, "hist.csv"))
    store, outbox = tmp_path / "history.sqlite", tmp_path / "outbox.sqlite"
    sub = Subscriber(ioc.port, "ioc-portal")
    pub = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2,
                      client_id="gauge-pub", protocol=mqtt.MQTTv311)
    pub.connect("127.0.0.1", feed_broker.port)
    pub.loop_start()
    log = (tmp_path / "ingest.log").open("wb")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "ingest", str(scene), "--store", str(store), "--csv",
         "--publish", f"mqtt://127.0.0.1:{ioc.port}/{PREFIX}", "--outbox", str(outbox)],
        stdout=log, stderr=log, cwd=ROOT, env=env)
    text = lambda: (tmp_path / "ingest.log").read_text()  # noqa: E731
    expected: set[str] = set()
    last: dict[str, tuple[int, float]] = {}
    try:
        assert wait_for(lambda: ": running" in text() and "IOC" in text() and
                        "connected" in text(), 30), text()
        levels = dict.fromkeys(range(n), 0)
        steps = [1.0, 6.0, 11.0, 2.0, 7.0, 12.0, 6.5, 0.5]
        for k, v in enumerate(steps):
            if k == 4:  # half way: the IOC broker restarts, alerts wait in the outbox
                ioc.stop()
                time.sleep(0.2)
            for i in range(n):
                t = int(time.time() * 1000)
                value = v + 0.1 * i
                pub.publish(f"ct/S{i}", json.dumps({"time": t, "value": value}), qos=1
                            ).wait_for_publish(5)
                lvl = 2 if value >= 10 else 1 if value >= 5 else 0
                if k > 0 and lvl != levels[i]:
                    expected.add(expected_alert_id(f"S{i}", t, levels[i], lvl))
                levels[i] = lvl
                last[f"S{i}"] = (t, value)
            time.sleep(0.6)  # several ingest ticks (0.1 s) see each step
            if k == 4:
                ioc.start()
        assert wait_for(lambda: {d["id"] for d in sub.of("alert")} >= expected, 30), (
            sorted(expected - {d["id"] for d in sub.of("alert")}), text())
        time.sleep(1.5)  # the last values (1 s period) and any stray extras
        proc.send_signal(15)
        assert proc.wait(30) == 0, text()
    finally:
        if proc.poll() is None:
            proc.kill()
        pub.loop_stop()
        log.close()
    alerts = sub.of("alert")
    ids = [d["id"] for d in alerts]
    assert set(ids) == expected and len(expected) == 4 * 7  # each crossing, no other
    assert not [d for d in alerts if to_ms(datetime.fromisoformat(d["time"])) < old + 3600_000]
    for d in alerts:
        validate(d)
    assert {d["event"] for d in alerts} == {"raised", "cleared"}
    assert "reconnects 1" in text() and "0 waiting" in text()  # the restart was seen
    sub.close()
    # a late subscriber (new session) reads the retained current values and status
    late = Subscriber(ioc.port, "late-portal")
    try:
        assert wait_for(lambda: len(late.of("value")) >= n and late.of("status"), 10)
    finally:
        late.close()
        ioc.stop()
        feed_broker.stop()
    with late.lock:
        assert all(retain for _, _, retain in late.got)
        assert not [t for t, _, _ in late.got if "/alerts/" in t]  # alerts are not retained
    for d in late.of("value"):
        validate(d)
        t, value = last[d["sensor"]]
        assert d["value"] == pytest.approx(value) and to_ms(datetime.fromisoformat(d["time"])) == t
    status = late.of("status")[-1]
    validate(status)
    assert (status["status"], status["reason"]) == ("offline", "stopped")


QUEUER = r"""
import sys, time
from datetime import datetime, timedelta
from twin.sim.clock import ICT, from_ms
from twin.sim.ioc_link import IocLink
from twin.sim.overlays.alerts import Alert
link = IocLink(sys.argv[1], sys.argv[2], client_id="ct-ioc-a", reconnect=(0.1, 0.5))
link.start()
now = from_ms(int(sys.argv[3]), ICT)
for k in range(5):
    assert link.publish_alert(Alert(now - timedelta(seconds=k), f"S{k}", 11.0 + k, "alarm",
                                    "normal", "water_level", "m", live=True))
print("queued", flush=True)
time.sleep(60)
"""


def test_outbox_survives_a_killed_link(tmp_path):
    """Alerts queued while the IOC broker is down stay in the outbox file when the
    process is SIGKILLed; a new link on the same file sends them once the broker
    is up, and never queues an acknowledged alert again."""
    from twin.sim.overlays.alerts import Alert

    ioc = ShippedBroker(tmp_path / "ioc")
    outbox = tmp_path / "outbox.sqlite"
    url = f"mqtt://127.0.0.1:{ioc.port}/{PREFIX}"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    now = datetime.now(ICT).replace(microsecond=0)
    proc = subprocess.Popen([sys.executable, "-c", QUEUER, url, str(outbox), str(to_ms(now))],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "queued"
    finally:
        proc.kill()
        proc.wait(10)
    ioc.start()
    sub = Subscriber(ioc.port, "ioc-portal-b")
    link = IocLink(url, outbox, client_id="ct-ioc-b")
    try:
        assert len(link.outbox) == 5
        link.start()
        assert link.wait_drained(20), link.report()
        assert wait_for(lambda: len(sub.of("alert")) >= 5, 10)
        again = Alert(now - timedelta(seconds=1), "S1", 12.0, "alarm", "normal",
                      "water_level", "m", live=True)
        assert not link.publish_alert(again)  # acknowledged already: never again
        assert not link.publish_alert(Alert(now, "S9", 11.0, "alarm", "normal", live=False))
        old = Alert(now - timedelta(hours=1), "S9", 11.0, "alarm", "normal", live=True)
        assert not link.publish_alert(old)  # an hour old: history, not news
        assert link.counters["not_live"] == 2 and link.counters["alert_copies"] == 1
    finally:
        link.close()
        sub.close()
        ioc.stop()
    got = sub.of("alert")
    assert sorted(d["sensor"] for d in got) == [f"S{k}" for k in range(5)]
    for d in got:
        validate(d)


def test_last_will_says_offline_when_the_link_dies(tmp_path):
    """A SIGKILLed publisher cannot say goodbye: the broker publishes its last
    will, so the retained status reads "offline" / "connection lost"."""
    ioc = ShippedBroker(tmp_path / "ioc")
    ioc.start()
    url = f"mqtt://127.0.0.1:{ioc.port}/{PREFIX}"
    script = ("import sys, time; from twin.sim.ioc_link import IocLink; "
              "IocLink(sys.argv[1], ':memory:', client_id='ct-will').start(); time.sleep(60)")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", script, url], cwd=ROOT, env=env)
    sub = Subscriber(ioc.port, "ioc-portal-will")
    try:
        assert wait_for(lambda: [d for d in sub.of("status") if d["status"] == "online"], 20)
        proc.kill()
        proc.wait(10)
        assert wait_for(lambda: sub.of("status")[-1]["status"] == "offline", 10)
    finally:
        if proc.poll() is None:
            proc.kill()
        sub.close()
        ioc.stop()
    status = sub.of("status")[-1]
    validate(status)
    assert (status["client"], status["reason"]) == ("ct-will", "connection lost")


def _csv_scene(tmp_path: Path, t0: datetime) -> Path:
    rows = ["time,S0"] + [f"{(t0 + timedelta(minutes=15 * k)).isoformat()},{v}"
                          for k, v in enumerate([1, 6, 12, 3, 11, 2, 1])]
    (tmp_path / "hist.csv").write_text("\n".join(rows) + "\n")
    scene = tmp_path / "scene.toml"
    scene.write_text("\n".join([
        '[scene]', 'name = "scrub"', 'crs = "EPSG:9208"', 'origin = [568000.0, 2357000.0, 0.0]',
        '', '[[sensors]]', 'id = "S0"', 'kind = "water_level"', 'unit = "m"',
        'location = [568000.0, 2357000.0]', 'thresholds = { warning = 5.0, alarm = 10.0 }', '',
        '[[feeds]]', 'type = "csv"', 'path = "hist.csv"', 'columns = { S0 = "S0" }', '']))
    return scene


def test_scrubbing_publishes_nothing_but_a_live_crossing_does(tmp_path):
    """A simulation replaying a CSV history (alarms 3 h ago) is scrubbed forward
    and back, also with Live mode on: nothing reaches the IOC. Then a live value
    crosses the alarm threshold now: that one alert and its value arrive."""
    from twin.scene import Scene
    from twin.scenefile import load_scene_spec
    from twin.sim.simulation import Simulation

    ioc = ShippedBroker(tmp_path / "ioc")
    ioc.start()
    t0 = datetime.now(ICT).replace(microsecond=0) - timedelta(hours=3)
    path = _csv_scene(tmp_path, t0)
    spec = load_scene_spec(path)
    sim = Simulation.from_scene(Scene(crs=spec.crs, origin=spec.origin, name=spec.name,
                                      spec=spec))
    sub = Subscriber(ioc.port, "ioc-portal-c")
    link = IocLink(f"mqtt://127.0.0.1:{ioc.port}/{PREFIX}", ":memory:", client_id="ct-ioc-c")
    detach = attach(sim, link, value_period_s=0.0)
    try:
        link.start()
        assert wait_for(link.connected.is_set, 10)
        sim.run_feeds_now()
        raised = []
        sim.alerts.alert_raised.connect(raised.append)
        start, end = to_ms(t0), to_ms(t0) + 6 * 15 * 60_000
        for live in (False, True):
            if live:
                sim.set_live(True)  # the user left Live on and drags the slider back
            for t in [*np.linspace(start - 60_000, end + 60_000, 40), end, start, end]:
                sim.clock.set_time(from_ms(int(t), ICT))
        assert raised  # the scrub did cross the alarms (as history)
        time.sleep(1.0)
        assert link.counters["alerts_queued"] == link.counters["values_queued"] == 0
        assert not sub.of("alert") and not sub.of("value")
        # now a live reading crosses the alarm threshold: published, once
        now = datetime.now(ICT)
        sim.store.ingest(np.array([0]), np.array([to_ms(now) - 1000]), np.array([3.0]))
        sim.follow_now(now)
        later = now + timedelta(seconds=1)
        sim.store.ingest(np.array([0]), np.array([to_ms(later)]), np.array([10.5]))
        sim.follow_now(later + timedelta(milliseconds=10))
        assert wait_for(lambda: sub.of("alert") and sub.of("value"), 10), link.report()
    finally:
        detach()
        link.close()
        sub.close()
        sim.close()
        ioc.stop()
    (alert,) = sub.of("alert")
    validate(alert)
    assert (alert["sensor"], alert["level"], alert["previous"], alert["event"]) == (
        "S0", "alarm", "normal", "raised")
    assert to_ms(datetime.fromisoformat(alert["time"])) == to_ms(later)
    assert alert["time"].endswith("+07:00")
    value = sub.of("value")[-1]
    validate(value)
    assert (value["value"], value["level"]) == (10.5, "alarm")


def test_bad_publish_address_is_one_line_exit_2(tmp_path):
    scene = tmp_path / "scene.toml"
    scene.write_text(scene_text(1883, 1))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "ingest", str(scene), "--store",
         str(tmp_path / "h.sqlite"), "--publish", "mqtt://ops:secret@ioc/vt"],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=60)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "--publish" in done.stderr
    assert "no password in the address" in done.stderr


@pytest.mark.gui
@pytest.mark.skipif(not os.environ.get("DISPLAY"), reason="no X display (xvfb-run -a)")
def test_window_preference_publishes_live_alerts(tmp_path, qtbot, monkeypatch):
    """Preferences → IOC link in the real window, then Live on the timeline: the
    status goes online (retained) and a live crossing arrives; the history the
    window replayed at start does not."""
    from PySide6.QtCore import QSettings

    import importers
    from app import main_window as mw
    from app.preferences import Preferences

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))  # the outbox goes there
    ioc = ShippedBroker(tmp_path / "ioc")
    ioc.start()
    path = _csv_scene(tmp_path, datetime.now(ICT).replace(microsecond=0) - timedelta(hours=3))
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    settings.setValue("language", "en")
    window = mw.MainWindow(importers.open_scene(path), scene_path=path, settings=settings)
    window.resize(900, 640)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    sub = Subscriber(ioc.port, "ioc-portal-w")
    try:
        url = f"mqtt://127.0.0.1:{ioc.port}/{PREFIX}"
        window.apply_preferences(Preferences(ioc_url=url))
        assert Preferences.load(settings).ioc_url == url
        assert window.ioc is not None
        assert str(window.ioc[0].outbox.path).startswith(str(tmp_path / "data"))
        assert wait_for(lambda: [d for d in sub.of("status") if d["status"] == "online"], 10)
        window.timeline_panel.set_live(True)
        sim = window.sim
        now = datetime.now(ICT)
        sim.store.ingest(np.array([0]), np.array([to_ms(now)]), np.array([12.0]))
        qtbot.waitUntil(lambda: bool(sub.of("alert")), timeout=10_000)
        alerts, values = sub.of("alert"), sub.of("value")
        # the link is a row of the feed health dock: connected while the IOC answers
        health = window.feed_health_panel

        def ioc_state() -> str | None:
            health.poll()
            return next((h.state for h in health.health if h.kind == "ioc"), None)

        qtbot.waitUntil(lambda: ioc_state() == "connected", timeout=10_000)
        sub.close()
        ioc.stop()  # the IOC goes away: the row says so, and the status bar's worst state too
        qtbot.waitUntil(lambda: ioc_state() == "reconnecting", timeout=10_000)
        assert SEVERITY[health.poll()] >= SEVERITY["reconnecting"]
        ioc.start()
        qtbot.waitUntil(lambda: ioc_state() == "connected", timeout=40_000)  # back by itself
        sub = Subscriber(ioc.port, "ioc-portal-w2")
        window.apply_preferences(Preferences(ioc_url=""))  # off: offline, retained
        assert window.ioc is None
        assert ioc_state() is None  # the row goes with the link
        assert wait_for(lambda: sub.of("status")[-1]["status"] == "offline", 10)
    finally:
        window.close()
        sub.close()
        ioc.stop()
    (alert,) = alerts
    assert (alert["sensor"], alert["level"], alert["time"]) == ("S0", "alarm", iso_ms(now))
    assert not values or all(to_ms(datetime.fromisoformat(d["time"])) == to_ms(now)
                             for d in values)


def iso_ms(t: datetime) -> str:
    return from_ms(to_ms(t), ICT).isoformat(timespec="milliseconds")
