"""Durable ingest against a real mosquitto started with the configuration CityTwin
ships (assets/mosquitto/citytwin.conf): ``citytwin ingest`` SIGKILLed while a
publisher numbers its messages, graceful broker restarts, conflicts, sequence gaps.

The harness (broker, numbered publisher, ingest process, checker) is also what
bench/bench_ingest.py runs for the full 25-kill measurements. Skipped, with the
reason shown, where the ``mosquitto`` binary is missing (``apt-get install mosquitto``).
"""

from __future__ import annotations

import getpass
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SHIPPED_CONF = ROOT / "assets" / "mosquitto" / "citytwin.conf"
MOSQUITTO = shutil.which("mosquitto") or (
    "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None
)
#: lines of the shipped file that depend on the host: replaced by the harness
LOCAL_KEYS = ("listener", "allow_anonymous", "password_file", "persistence_location",
              "log_dest", "log_type", "user")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(cond, timeout: float = 20.0, step: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(step)
    return cond()


class ShippedBroker:
    """mosquitto with the shipped durability settings, on a free localhost port,
    its persistence in ``tmp``. ``overrides`` replace shipped keys (the bench
    compares autosave settings)."""

    def __init__(self, tmp: Path, port: int | None = None,
                 overrides: dict[str, str] | None = None) -> None:
        self.port = port or free_port()
        self.tmp = tmp
        (tmp / "db").mkdir(parents=True, exist_ok=True)
        overrides = overrides or {}
        lines = []
        for line in SHIPPED_CONF.read_text().splitlines():
            key = line.split("#", 1)[0].split()
            if not key or key[0] in LOCAL_KEYS or key[0] in overrides:
                continue
            lines.append(line)
        lines += [f"{k} {v}" for k, v in overrides.items()]
        lines += [f"listener {self.port} 127.0.0.1", "allow_anonymous true",
                  f"persistence_location {tmp / 'db'}/", f"log_dest file {tmp / 'broker.log'}",
                  # as root, mosquitto would drop to user 'mosquitto' and fail to write here
                  f"user {getpass.getuser()}"]
        self.conf = tmp / "mosquitto.conf"
        self.conf.write_text("\n".join(lines) + "\n")
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen([MOSQUITTO, "-c", str(self.conf)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        ok = wait_for(self._listening, 10)
        if not ok:
            raise RuntimeError(f"mosquitto did not start (see {self.tmp / 'broker.log'})")

    def _listening(self) -> bool:
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
            return True
        except OSError:
            return False

    def stop(self) -> None:
        """Graceful: SIGTERM, mosquitto saves its database and exits."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(15)
        self.proc = None

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(15)
        self.proc = None


def write_scene(tmp: Path, port: int, n_sensors: int = 10, client_id: str = "ct-ingest",
                name: str = "scene.toml", extra: str = "") -> Path:
    """A layer-less scene: ``n_sensors`` placed by location, one MQTT feed."""
    lines = ['[scene]', 'name = "ingest test"', 'crs = "EPSG:9208"',
             'origin = [568000.0, 2357000.0, 0.0]', '']
    for i in range(n_sensors):
        lines += ['[[sensors]]', f'id = "S{i}"', 'kind = "water_level"',
                  f'location = [{568000 + 10 * i}.0, 2357000.0]', '']
    lines += ['[[feeds]]', 'type = "mqtt"', 'name = "broker"', 'host = "127.0.0.1"',
              f'port = {port}', 'topic = "ct/+"', f'client_id = "{client_id}"', extra, '']
    path = tmp / name
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


class IngestProcess:
    """``citytwin ingest SCENE --store FILE`` as a separate process."""

    def __init__(self, scene: Path, store: Path, log: Path) -> None:
        self.scene, self.store, self.log = scene, store, log
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    def start(self, wait_running: bool = True) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self._mark = self.log.stat().st_size if self.log.exists() else 0
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "app.cli", "ingest", str(self.scene), "--store",
                 str(self.store)], stdout=log, stderr=log, cwd=ROOT, env=env)
        self.starts += 1
        if wait_running and not wait_for(self._running, 30):
            raise RuntimeError(f"ingest did not connect: {self.log.read_text()[-2000:]}")

    def _running(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise RuntimeError(f"ingest exited {self.proc.returncode}: "
                               f"{self.log.read_text()[-2000:]}")
        return ": running" in self.log.read_text()[self._mark:]

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(15)

    def terminate(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(30)


PUBLISHER = r"""
import json, sys, time
import paho.mqtt.client as mqtt
port, n, rate, k, t0, cid = (int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]),
                              int(sys.argv[4]), int(sys.argv[5]), sys.argv[6])
c = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2, client_id=cid,
                clean_session=False, protocol=mqtt.MQTTv311)
acks = [0]
def on_publish(client, userdata, mid, reason_code, properties):
    acks[0] += 1  # once per message, on the broker's PUBACK (also after a resend)
c.on_publish = on_publish
c.max_inflight_messages_set(200)
c.reconnect_delay_set(0.1, 0.5)
c.connect_async("127.0.0.1", port)
c.loop_start()
deadline = time.monotonic() + 10
while not c.is_connected() and time.monotonic() < deadline:
    time.sleep(0.02)
start = time.monotonic()
for i in range(n):
    due = start + i / rate
    lag = due - time.monotonic()
    if lag > 0:
        time.sleep(lag)
    body = json.dumps({"time": t0 + i, "value": i, "seq": i // k})
    c.publish(f"ct/S{i % k}", body, qos=1)  # queued by paho while the broker is away
sent_s = time.monotonic() - start
deadline = time.monotonic() + 120
while acks[0] < n and time.monotonic() < deadline:
    time.sleep(0.05)
print(json.dumps({"published": n, "acked": acks[0], "seconds": sent_s}))
c.disconnect()
c.loop_stop()
"""


def start_publisher(port: int, n: int, rate: float, n_sensors: int, t0: int,
                    client_id: str = "ct-pub") -> subprocess.Popen:
    """A process publishing ``n`` numbered messages (value i, seq i // n_sensors to
    sensor S{i % n_sensors}, time t0 + i ms) at ``rate`` msg/s, QoS 1; it prints a
    JSON line once the broker has acknowledged them all."""
    return subprocess.Popen(
        [sys.executable, "-c", PUBLISHER, str(port), str(n), str(rate), str(n_sensors),
         str(t0), client_id], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def check_store(store_path: Path, n: int, n_sensors: int) -> dict:
    """What the checker reads at the end: which numbers are missing, which twice."""
    from twin.sim.store import HistoryStore

    store = HistoryStore(store_path, None)
    try:
        values = np.concatenate([store.series(f"S{i}", -(2**62), 2**62)[1]
                                 for i in range(n_sensors)])
        stats = store.stats()
        gaps = store.seq_gaps()
        rows = len(store)
    finally:
        store.close()
    got = values.astype(np.int64)
    missing = np.setdiff1d(np.arange(n), got)
    return {"rows": rows, "missing": missing.tolist(), "lost": int(missing.size),
            "doubled": int(got.size - np.unique(got).size), "stats": stats, "gaps": gaps}


def kill_mid_stream(ingest: IngestProcess, store: Path, n_sensors: int, rng: random.Random,
                    grow: int = 150) -> None:
    """SIGKILL ingest while data flow (the store grew by ``grow`` since we looked),
    then start it again."""
    base = check_store(store, 0, n_sensors)["rows"] if store.exists() else 0
    wait_for(lambda: check_store(store, 0, n_sensors)["rows"] >= base + grow, 20, 0.02)
    time.sleep(rng.uniform(0.0, 0.2))
    ingest.kill()
    ingest.start()


def settle(store: Path, n: int, n_sensors: int, quiet_s: float = 3.0,
           timeout: float = 60.0) -> int:
    """Wait until the store holds ``n`` rows or stops growing for ``quiet_s``."""
    last, since = -1, time.monotonic()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = check_store(store, 0, n_sensors)["rows"] if store.exists() else 0
        if rows >= n:
            return rows
        if rows != last:
            last, since = rows, time.monotonic()
        elif time.monotonic() - since > quiet_s:
            return rows
        time.sleep(0.1)
    return last


def now_ms() -> int:
    return int(time.time() * 1000) - 3_600_000


needs_broker = pytest.mark.skipif(
    MOSQUITTO is None, reason="mosquitto binary not found (apt-get install mosquitto)")
pytest.importorskip("paho.mqtt.client", reason="paho-mqtt>=2 is not installed")


@needs_broker
def test_sigkilled_ingest_loses_nothing_and_counts_redeliveries(tmp_path):
    """3 SIGKILLs of ``citytwin ingest`` while 3,000 numbered messages arrive at
    1,000/s: every one is stored once. Acknowledging before the commit loses the
    buffered batch at each kill (tens of messages), which this catches."""
    broker = ShippedBroker(tmp_path / "broker")
    broker.start()
    n, k = 3000, 10
    scene = write_scene(tmp_path, broker.port, k)
    store = tmp_path / "history.sqlite"
    ingest = IngestProcess(scene, store, tmp_path / "ingest.log")
    try:
        ingest.start()
        pub = start_publisher(broker.port, n, 1000, k, now_ms())
        rng = random.Random(14)
        for _ in range(3):
            kill_mid_stream(ingest, store, k, rng)
        out, err = pub.communicate(timeout=120)
        assert out.strip() and json.loads(out)["acked"] == n, err[-3000:]
        settle(store, n, k)
        assert ingest.terminate() == 0, ingest.log.read_text()[-2000:]
    finally:
        if ingest.proc is not None and ingest.proc.poll() is None:
            ingest.kill()
        broker.stop()
    result = check_store(store, n, k)
    assert result["lost"] == 0, result["missing"][:20]
    assert result["rows"] == n and result["doubled"] == 0
    # each kill left received-but-unacknowledged messages: the broker re-delivered
    # them (DUP flag), counted in the store with the batch that committed them
    assert result["stats"].get("redelivered", 0) >= 1, result["stats"]
    assert result["stats"]["written"] == n
    assert result["gaps"] == []  # the broker lost nothing: no sequence gap either


@needs_broker
def test_graceful_broker_restarts_lose_nothing(tmp_path):
    broker = ShippedBroker(tmp_path / "broker")
    broker.start()
    n, k = 3000, 5
    scene = write_scene(tmp_path, broker.port, k, client_id="ct-ingest-b")
    store = tmp_path / "history.sqlite"
    ingest = IngestProcess(scene, store, tmp_path / "ingest.log")
    try:
        ingest.start()
        pub = start_publisher(broker.port, n, 1000, k, now_ms(), "ct-pub-b")
        for _ in range(2):
            time.sleep(0.8)
            broker.stop()
            time.sleep(0.3)
            broker.start()
        out, err = pub.communicate(timeout=120)
        assert out.strip() and json.loads(out)["acked"] == n, err[-3000:]
        settle(store, n, k)
        assert ingest.terminate() == 0
    finally:
        if ingest.proc is not None and ingest.proc.poll() is None:
            ingest.kill()
        broker.stop()
    result = check_store(store, n, k)
    assert result["lost"] == 0 and result["doubled"] == 0, result["missing"][:20]
    assert "reconnecting" in ingest.log.read_text() or "connecting" in ingest.log.read_text()


@needs_broker
def test_conflicts_and_sequence_gaps_are_reported(tmp_path):
    """A re-sent (sensor, time) with another value is a conflict, kept and shown by
    ``citytwin history --report``; missing ``seq`` numbers are a gap per sensor."""
    import paho.mqtt.client as mqtt

    broker = ShippedBroker(tmp_path / "broker")
    broker.start()
    scene = write_scene(tmp_path, broker.port, 2, client_id="ct-ingest-c")
    store = tmp_path / "history.sqlite"
    ingest = IngestProcess(scene, store, tmp_path / "ingest.log")
    t0 = now_ms()
    try:
        ingest.start()
        c = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2,
                        client_id="ct-pub-c", protocol=mqtt.MQTTv311)
        c.connect("127.0.0.1", broker.port)
        c.loop_start()
        msgs = [("S0", 0, 1.5, 0), ("S0", 1, 2.5, 1), ("S0", 1, 9.5, 1),  # conflict
                ("S0", 2, 3.5, 2), ("S0", 2, 3.5, 2),                       # plain duplicate
                ("S0", 5, 4.5, 5), ("S1", 0, 7.0, 0), ("S1", 9, 8.0, 4),    # gaps 3..4, 1..3
                ("S0", 3, 4.0, 3)]                                          # late: fills 3
        for sid, dt, v, seq in msgs:
            body = json.dumps({"time": t0 + dt, "value": v, "seq": seq})
            c.publish(f"ct/{sid}", body, qos=1).wait_for_publish(5)
        c.loop_stop()
        assert wait_for(lambda: check_store(store, 0, 2)["rows"] >= 7, 20)
        assert ingest.terminate() == 0
    finally:
        if ingest.proc is not None and ingest.proc.poll() is None:
            ingest.kill()
        broker.stop()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "app.cli", "history", str(store), "--report",
                           "--json"], capture_output=True, text=True, cwd=ROOT, env=env,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["conflicts"] == [{"sensor": "S0", "t_ms": t0 + 1, "stored": 2.5,
                                    "received": 9.5}]
    assert report["stats"]["duplicates"] == 2 and report["stats"]["conflicts"] == 1
    assert report["seq_gaps"] == [{"sensor": "S0", "first": 4, "last": 4},
                                  {"sensor": "S1", "first": 1, "last": 3}]
    log = ingest.log.read_text()
    assert "duplicates 2" in log and "conflicts 1" in log  # the exit summary
    done = subprocess.run([sys.executable, "-m", "app.cli", "history", str(store), "--sensor",
                           "S0", "--csv"], capture_output=True, text=True, cwd=ROOT, env=env,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "time,value" and [x.split(",")[1] for x in lines[1:]] == [
        "1.5", "2.5", "3.5", "4.0", "4.5"]


@needs_broker
def test_nothing_is_acknowledged_before_it_is_committed(tmp_path):
    """While the store refuses writes (SQLite ``query_only``), messages stay
    unacknowledged at the broker; once it accepts them, the retried batch commits
    and is acknowledged, and a new session gets nothing re-delivered. MQTT 3.1.1."""
    import paho.mqtt.client as mqtt

    from twin.sim.feeds.mqtt import MqttFeed
    from twin.sim.ingest import bare_sensors
    from twin.sim.store import HistoryStore

    broker = ShippedBroker(tmp_path / "broker")
    broker.start()
    ids = ["S0", "S1"]
    store = HistoryStore(tmp_path / "h.sqlite", ids)

    def feed():
        return MqttFeed("f", bare_sensors(ids), store, host="127.0.0.1", port=broker.port,
                        topic="ct/+", client_id="ct-ack", protocol=3, flush_s=0.02,
                        future_ms=None)

    first = feed()
    try:
        first.start()
        assert wait_for(first.connected.is_set, 15)
        with store._lock:  # the disk "fills up" (the writer thread shares the connection)
            store._db.execute("PRAGMA query_only = ON")
        pub = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2,
                          client_id="ct-pub-ack", protocol=mqtt.MQTTv311)
        pub.connect("127.0.0.1", broker.port)
        pub.loop_start()
        t0 = now_ms()
        for i in range(20):
            pub.publish(f"ct/S{i % 2}", json.dumps({"time": t0 + i, "value": i}),
                        qos=1).wait_for_publish(5)
        pub.loop_stop()
        assert wait_for(lambda: first.counters["errors"] >= 2, 10)
        assert first.counters["acked"] == 0 and len(store) == 0
        assert "readonly" in first.last_error
        with store._lock:
            store._db.execute("PRAGMA query_only = OFF")
        assert wait_for(lambda: first.counters["acked"] == 20, 10), first.report()
        assert len(store) == 20
        first.stop()
        second = feed()
        second.start()
        assert wait_for(second.connected.is_set, 15)
        time.sleep(0.5)
        second.stop()
        assert second.counters["messages"] == 0 and second.counters["redelivered"] == 0
    finally:
        first.stop()
        store.close()
        broker.stop()


@needs_broker
def test_refused_login_ends_ingest_with_one_line(tmp_path):
    """A broker that refuses the login is not retried: ``citytwin ingest`` exits
    with status 2 and one line naming the scene, the feed and the refusal, rather
    than running on while it stores nothing."""
    broker = ShippedBroker(tmp_path)
    broker.conf.write_text(broker.conf.read_text().replace("allow_anonymous true",
                                                           "allow_anonymous false"))
    broker.start()
    try:
        scene = write_scene(tmp_path, broker.port, n_sensors=2)
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        done = subprocess.run(
            [sys.executable, "-m", "app.cli", "ingest", str(scene), "--store",
             str(tmp_path / "h.sqlite"), "--quiet"],
            capture_output=True, text=True, cwd=ROOT, env=env, timeout=60)
    finally:
        broker.stop()
    assert done.returncode == 2, done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("citytwin: error: "), done.stderr
    assert str(scene) in last and "'broker'" in last and "refused the login" in last
