"""MQTT live feed (paho-mqtt 2): topics mapped to sensors, JSON payloads, QoS 1.

Reliability choices (../shared/RELIABILITY.md section E):

- a fixed client id with ``clean_session=False`` (a persistent session), and the
  subscription renewed in ``on_connect``: a broker restart loses no message it
  accepted, and the history store's (sensor, time) key turns re-deliveries into
  counted duplicates, never double rows;
- ``connect_async`` + ``loop_start``: a broker that is down at start is retried
  with backoff (``reconnect_delay_set``; the first delay is jittered so a fleet
  of clients does not reconnect in lockstep);
- ``on_message`` only parses into a ring buffer; a writer thread applies it to
  the store in batches every ``flush_s``, so neither the network thread nor the
  render thread waits on SQLite;
- bad JSON, invalid UTF-8, NaN, strings, missing fields: counted in
  ``malformed``, the last ones kept in :attr:`MqttFeed.quarantine`; the client
  keeps running.

Payloads: ``{"time": ISO-8601 or epoch ms, "value": number}`` (also ``t``/``v``),
optionally ``"sensor"`` overriding the topic, or a JSON list of such objects
(batched publishing). The sensor id is the topic level matched by the first
``+`` in :attr:`topic` (or the rest of the topic for ``#``).
"""

from __future__ import annotations

import json
import logging
import math
import random
import threading
import time
from collections import deque
from datetime import datetime

import numpy as np

from twin.sim.clock import ICT, to_ms
from twin.sim.feeds.base import Feed
from twin.sim.sensors import SensorSet
from twin.sim.store import HistoryStore

log = logging.getLogger(__name__)


def _time_ms(value) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float) and math.isfinite(value):
        return int(value)
    if isinstance(value, str):
        s = value.strip()
        try:
            t = datetime.fromisoformat(s[:-1] + "+00:00" if s.endswith("Z") else s)
        except ValueError:
            return None
        return to_ms(t if t.tzinfo else t.replace(tzinfo=ICT))
    return None


def parse_payload(topic_sensor: str | None, payload: bytes) -> list[tuple[str, int, float]]:
    """Observations in one message; raises ValueError on anything malformed."""
    doc = json.loads(payload.decode("utf-8"))
    items = doc if isinstance(doc, list) else [doc]
    out = []
    for item in items:
        if isinstance(item, int | float) and not isinstance(item, bool):
            item = {"value": item, "time": time.time() * 1000}
        if not isinstance(item, dict):
            raise ValueError(f"expected an object, got {type(item).__name__}")
        sensor = item.get("sensor", topic_sensor)
        raw_t = item.get("time", item.get("t"))
        raw_v = item.get("value", item.get("v"))
        t = _time_ms(raw_t)
        if not isinstance(sensor, str) or t is None:
            raise ValueError("missing sensor or bad time")
        if isinstance(raw_v, bool) or not isinstance(raw_v, int | float):
            raise ValueError(f"value is not a number: {raw_v!r}")
        if not math.isfinite(raw_v):
            raise ValueError("value is NaN or infinite")
        out.append((sensor, t, float(raw_v)))
    return out


class MqttFeed(Feed):
    """Subscribe to ``topic`` on a broker and write what arrives to the store.

    Parameters
    ----------
    host, port : the broker.
    topic : subscription filter, e.g. ``"citytwin/viet_tri/+"``.
    client_id : fixed, so the broker keeps this client's session (QoS 1 queue)
        while it is away.
    qos : 1 by default (at-least-once; duplicates are absorbed by the store).
    reconnect : (min, max) backoff in seconds.
    stale_s : no message for this long while connected -> status ``stale``.
    """

    kind = "mqtt"

    def __init__(self, name: str, sensors: SensorSet, store: HistoryStore, host: str = "localhost",
                 port: int = 1883, topic: str = "citytwin/+", client_id: str = "citytwin",
                 qos: int = 1, username: str | None = None, password: str | None = None,
                 reconnect: tuple[float, float] = (1.0, 120.0), flush_s: float = 0.05,
                 stale_s: float = 300.0, buffer: int = 1_000_000,
                 future_ms: int | None = 24 * 3600_000) -> None:
        super().__init__(name, sensors, store, future_ms=future_ms)
        self.host, self.port, self.topic, self.qos = host, port, topic, qos
        self.client_id = client_id
        self.username, self.password = username, password
        self.reconnect = reconnect
        self.flush_s, self.stale_s = flush_s, stale_s
        self.buffer: deque[tuple[str, int, float]] = deque(maxlen=buffer)
        self.quarantine: deque[tuple[str, bytes, str]] = deque(maxlen=100)
        self.last_message = 0.0
        self.connected = threading.Event()
        self._client = None
        levels = topic.split("/")
        self._level = levels.index("+") if "+" in levels else (
            levels.index("#") if "#" in levels else None)
        self._rest = "#" in levels and "+" not in levels

    # -- paho callbacks (network thread: keep them short, never raise) -----------------
    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            self.last_error = f"connect refused: {reason_code}"
            return
        client.subscribe(self.topic, qos=self.qos)  # renewed on every (re)connect
        self.status = "running"
        self.connected.set()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        self.connected.clear()
        if not self._stop.is_set():
            self.status = "connecting"
            self.counters["reconnects"] += 1
            self.last_error = f"disconnected: {reason_code}"

    def _on_message(self, client, userdata, message) -> None:
        try:
            levels = message.topic.split("/")
            sensor = None
            if self._level is not None and self._level < len(levels):
                sensor = "/".join(levels[self._level:]) if self._rest else levels[self._level]
            obs = parse_payload(sensor, message.payload)
        except Exception as exc:  # malformed: count, keep, carry on
            self.counters["malformed"] += 1
            self.quarantine.append((getattr(message, "topic", "?"), bytes(message.payload),
                                    str(exc)))
            return
        self.buffer.extend(obs)
        self.last_message = time.monotonic()

    # -- lifecycle -----------------------------------------------------------------------
    def run(self) -> None:
        import paho.mqtt.client as mqtt

        self.status = "connecting"
        client = mqtt.Client(
            callback_api_version=mqtt.CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            clean_session=False,
            protocol=mqtt.MQTTv311,
        )
        client.max_inflight_messages_set(100)
        if self.username:
            client.username_pw_set(self.username, self.password)
        lo, hi = self.reconnect
        client.reconnect_delay_set(min_delay=lo * random.uniform(0.75, 1.25), max_delay=hi)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.suppress_exceptions = True
        self._client = client
        client.connect_async(self.host, self.port, keepalive=30)
        client.loop_start()
        self.last_message = time.monotonic()
        try:
            while not self._stop.wait(self.flush_s):
                self.flush()
                if (self.connected.is_set() and self.stale_s
                        and time.monotonic() - self.last_message > self.stale_s):
                    self.status = "stale"
        finally:
            client.disconnect()
            client.loop_stop()
            self.flush()

    def flush(self) -> int:
        """Move everything buffered into the store (one batch); returns rows new."""
        n = len(self.buffer)
        if not n:
            return 0
        items = [self.buffer.popleft() for _ in range(n)]
        sensors = [s for s, _, _ in items]
        t = np.fromiter((o[1] for o in items), dtype=np.int64, count=n)
        v = np.fromiter((o[2] for o in items), dtype=np.float64, count=n)
        try:
            return self.write(sensors, t, v, gaps_ok=False)
        except Exception as exc:  # e.g. disk full: report, keep the client alive
            self.counters["errors"] += 1
            self.last_error = f"store: {exc}"
            log.warning("feed %s: %s", self.name, self.last_error)
            return 0
