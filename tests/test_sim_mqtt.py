"""MQTT live feed against a real mosquitto broker started on a free localhost port.

Skipped, with the reason shown, where the ``mosquitto`` binary is missing
(Debian/Ubuntu: ``apt-get install mosquitto``).
"""

from __future__ import annotations

import getpass
import shutil
import socket
import subprocess
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from twin.sim.clock import ICT, to_ms
from twin.sim.feeds.mqtt import MqttFeed
from twin.sim.store import HistoryStore

MOSQUITTO = shutil.which("mosquitto") or (
    "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None
)
pytestmark = pytest.mark.skipif(
    MOSQUITTO is None, reason="mosquitto binary not found (apt-get install mosquitto)"
)
pytest.importorskip("paho.mqtt.client", reason="paho-mqtt>=2 is not installed")

T0 = datetime(2025, 6, 1, 8, 0, tzinfo=ICT)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Broker:
    """A throwaway mosquitto with on-disk persistence (sessions survive a restart)."""

    def __init__(self, tmp: Path, port: int) -> None:
        self.port = port
        self.conf = tmp / "mosquitto.conf"
        (tmp / "db").mkdir(exist_ok=True)
        self.conf.write_text(
            f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence true\n"
            f"persistence_location {tmp / 'db'}/\nautosave_interval 1\n"
            "max_queued_messages 0\nlog_dest file " + str(tmp / "broker.log") + "\n"
            # run as whoever runs the tests: as root, mosquitto would otherwise drop to
            # user 'mosquitto' and silently fail to write its persistence file here
            f"user {getpass.getuser()}\n"
        )
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen([MOSQUITTO, "-c", str(self.conf)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("mosquitto did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()  # SIGTERM: mosquitto writes its persistence file
            self.proc.wait(10)
        self.proc = None


@pytest.fixture
def broker(tmp_path):
    b = Broker(tmp_path, free_port())
    yield b
    b.stop()


def publisher(port: int, client_id: str = "test-publisher"):
    import paho.mqtt.client as mqtt

    c = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2, client_id=client_id,
                    clean_session=False, protocol=mqtt.MQTTv311)
    c.reconnect_delay_set(0.1, 0.5)
    c.connect_async("127.0.0.1", port)
    c.loop_start()
    assert wait_for(c.is_connected, 10), "publisher could not connect"
    return c



def _sensors(ids):
    from test_sim_feeds import make_sensors

    return make_sensors(ids)


def wait_for(cond, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.05)
    return cond()


def test_broker_down_at_start_then_restart_mid_stream_loses_nothing(broker):
    ids = ["S1", "S2", "S3"]
    store = HistoryStore(":memory:", ids)
    feed = MqttFeed("live", _sensors(ids), store, port=broker.port, topic="city/+/obs",
                    client_id="citytwin-test", reconnect=(0.2, 1.0), flush_s=0.02,
                    future_ms=None)
    feed.start()  # the broker is not running yet
    time.sleep(0.5)
    assert feed.status == "connecting" and feed.report()["status"] == "connecting"
    broker.start()
    assert wait_for(feed.connected.is_set, 15), feed.last_error
    pub = publisher(broker.port)
    n = 600
    stop_at = 200  # stop the broker once this many are stored; the stream goes on

    def stream():
        for i in range(n):
            t = T0 + timedelta(seconds=i)
            pub.publish(f"city/{ids[i % 3]}/obs",
                        f'{{"time": "{t.isoformat()}", "value": {i}}}', qos=1)
            time.sleep(0.002)

    sent = threading.Thread(target=stream)
    sent.start()
    assert wait_for(lambda: feed.counters["written"] >= stop_at)
    broker.stop()
    time.sleep(0.4)
    broker.start()
    sent.join(30)
    assert wait_for(lambda: len(store) >= n, 30), (len(store), feed.report())
    time.sleep(0.3)
    pub.loop_stop()
    feed.stop()
    assert len(store) == n  # nothing lost, nothing stored twice
    got = np.sort(np.concatenate([store.series(s, 0, 2**62)[1] for s in ids]))
    assert got.tolist() == list(range(n))
    assert feed.counters["reconnects"] >= 1


def test_malformed_payloads_are_counted_and_skipped(broker):
    broker.start()
    ids = ["A"]
    store = HistoryStore(":memory:", ids)
    feed = MqttFeed("live", _sensors(ids), store, port=broker.port, topic="c/+",
                    client_id="citytwin-bad", flush_s=0.02)
    feed.start()
    assert wait_for(feed.connected.is_set, 15)
    pub = publisher(broker.port, "bad-publisher")
    now_ms = to_ms(datetime.now(ICT))
    bad = [b"{not json", b'{"time": 1, "value": NaN}', b'{"time": 1, "value": "high"}',
           b"\xff\xfe", b'{"value": 3}', b"[1, {\"t\": \"yesterday\", \"v\": 1}]"]
    for payload in bad:
        pub.publish("c/A", payload, qos=1).wait_for_publish(5)
    pub.publish("c/A", f'{{"t": {now_ms + 10 * 365 * 86_400_000}, "v": 1}}', qos=1)
    pub.publish("c/A", f'[{{"t": {now_ms}, "v": 42}}]', qos=1).wait_for_publish(5)
    assert wait_for(lambda: len(store) == 1)
    time.sleep(0.1)
    pub.loop_stop()
    feed.stop()
    assert feed.counters["malformed"] == len(bad)
    assert feed.counters["future"] == 1
    assert len(feed.quarantine) == len(bad)
    assert store.values_at(now_ms)[0] == 42.0
