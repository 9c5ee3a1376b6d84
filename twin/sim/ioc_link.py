"""Outbound link to the provincial IOC: live alerts and current values over MQTT, QoS 1.

The IOC's portal subscribes to one topic tree (docs/ioc-mqtt.md,
docs/ioc-mqtt.schema.json)::

    <prefix>/alerts/<sensor>   each live alert (raised or cleared), QoS 1, not retained
    <prefix>/values/<sensor>   the sensor's current value, QoS 1, retained
    <prefix>/status            "online" / "offline", QoS 1, retained; "offline" is
                               also the connection's last will

Why it is built this way:

- **live only.** An alert goes out only when it was raised from live data while
  following wall time (:attr:`Alert.live`) and its observation is younger than
  ``max_age_s``; a value only when its observation is that young and newer than
  the last one sent. Scrubbing the timeline, replaying a CSV or importing
  history produces old observation times, so nothing of it is published as new;
- **durable.** Every message first goes into an outbox (its own SQLite file,
  WAL) and leaves it only when the broker has acknowledged it (PUBACK). A broker
  outage or a restart of this process resends what is left; an unsent current
  value is replaced by a newer one of the same sensor (only "current" matters);
- **stable ids.** A message's ``id`` is a UUID 5 of what it says (sensor,
  observation time, levels), so a copy (QoS 1 resend, an alert met again after
  a restart, the app and ``citytwin ingest`` both publishing) carries the same id
  and a subscriber de-duplicates on it. Alerts already acknowledged are
  remembered (``sent`` table) and not queued again.

Two drivers feed a link: :class:`LiveWatch` (headless ``citytwin ingest``: an
:class:`AlertMonitor` following wall time over the store) and :func:`attach`
(the app: the simulation's own alerts, in Live mode).
"""

from __future__ import annotations

import logging
import math
import os
import socket
import sqlite3
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

import numpy as np
import orjson

from twin.sim.clock import ICT, from_ms, to_ms
from twin.sim.overlays.alerts import LEVEL_NAMES, Alert
from twin.sim.sensors import SensorSet

log = logging.getLogger(__name__)

#: the payloads' ``schema`` field; bumped on an incompatible change
SCHEMA = "citytwin-ioc/1"
#: message ids are UUID 5 in this namespace (fixed: ids must agree across hosts)
ID_NAMESPACE = uuid.UUID("6f3c1d52-8a0e-5b7c-9d41-2b7e0c6a9f10")
#: environment variable with the IOC broker password (else the secrets store)
PASSWORD_ENV = "CITYTWIN_IOC_PASSWORD"
#: observations older than this (wall clock) are history, never published as new
MAX_AGE_S = 900.0

_OUTBOX_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    msg_id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,             -- alert | value
    key TEXT UNIQUE,                -- values: one pending message per sensor
    topic TEXT NOT NULL,
    payload BLOB NOT NULL,
    retain INTEGER NOT NULL,
    queued INTEGER NOT NULL         -- wall-clock ms
);
CREATE TABLE IF NOT EXISTS sent (msg_id TEXT PRIMARY KEY, acked INTEGER NOT NULL)
    WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS value_cursor (sensor TEXT PRIMARY KEY, t INTEGER NOT NULL)
    WITHOUT ROWID;
"""


class IocError(ValueError):
    """A bad ``--publish`` address or outbox file: one line naming it."""


@dataclass(frozen=True)
class IocTarget:
    """Where to publish: ``mqtt://[user@]host[:port]/prefix`` (``mqtts://``: TLS)."""

    host: str
    port: int
    prefix: str
    user: str | None = None
    tls: bool = False

    @property
    def url(self) -> str:
        user = f"{quote(self.user, safe='')}@" if self.user else ""
        return f"{'mqtts' if self.tls else 'mqtt'}://{user}{self.host}:{self.port}/{self.prefix}"


def parse_target(url: str) -> IocTarget:
    """``mqtt://host:port/prefix`` -> :class:`IocTarget`; IocError says what is wrong."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("mqtt", "mqtts"):
        raise IocError(f"{url}: expected mqtt://host:port/prefix")
    if not parts.hostname:
        raise IocError(f"{url}: no broker host")
    try:
        port = parts.port or (8883 if parts.scheme == "mqtts" else 1883)
    except ValueError:
        raise IocError(f"{url}: bad port") from None
    prefix = unquote(parts.path).strip("/")
    if (not prefix or any(c in prefix for c in "+#\0") or "//" in prefix or "#" in url
            or parts.query):
        raise IocError(f"{url}: the topic prefix must be a plain topic like citytwin/viettri")
    if parts.password:
        raise IocError(f"{url}: no password in the address; set {PASSWORD_ENV} or store it "
                       "in the keyring")
    user = unquote(parts.username) if parts.username else None
    return IocTarget(parts.hostname, port, prefix, user, parts.scheme == "mqtts")


def topic_level(sensor: str) -> str:
    """A sensor id as one topic level ('/', '+', '#' percent-encoded)."""
    return sensor.replace("%", "%25").replace("/", "%2F").replace("+", "%2B").replace("#", "%23")


def iso(t_ms: int) -> str:
    """ISO 8601 with the zone (+07:00), millisecond precision."""
    return from_ms(int(t_ms), ICT).isoformat(timespec="milliseconds")


def _number(v: float) -> float | int:
    return int(v) if float(v).is_integer() and abs(v) < 2**53 else float(v)


def alert_message(alert: Alert, prefix: str, source: str) -> tuple[str, str, bytes]:
    """(id, topic, JSON payload) of one alert. The id depends only on what
    happened (sensor, observation time, levels), never on when it is sent."""
    t_ms = to_ms(alert.time)
    msg_id = str(uuid.uuid5(ID_NAMESPACE, f"alert/{alert.sensor}/{t_ms}/{alert.previous}/"
                                          f"{alert.level}"))
    doc = {
        "schema": SCHEMA, "type": "alert", "id": msg_id, "sensor": alert.sensor,
        "kind": alert.kind, "level": alert.level, "previous": alert.previous,
        "event": "cleared" if alert.level == LEVEL_NAMES[0] else "raised",
        "value": _number(alert.value), "unit": alert.unit, "time": iso(t_ms),
        "queued": iso(int(time.time() * 1000)), "source": source,
    }
    if getattr(alert, "rule", ""):  # raised by a history rule (leak, pressure drop)
        doc["rule"] = alert.rule
    topic = f"{prefix}/alerts/{topic_level(alert.sensor)}"
    return msg_id, topic, orjson.dumps(doc)


def value_message(sensor: str, kind: str, unit: str, t_ms: int, value: float, level: int,
                  prefix: str, source: str) -> tuple[str, str, bytes]:
    """(id, topic, JSON payload) of a sensor's current value (retained)."""
    msg_id = str(uuid.uuid5(ID_NAMESPACE, f"value/{sensor}/{int(t_ms)}"))
    doc = {
        "schema": SCHEMA, "type": "value", "id": msg_id, "sensor": sensor, "kind": kind,
        "value": _number(value), "unit": unit, "level": LEVEL_NAMES.get(int(level), "no data"),
        "time": iso(t_ms), "source": source,
    }
    topic = f"{prefix}/values/{topic_level(sensor)}"
    return msg_id, topic, orjson.dumps(doc)


def status_payload(status: str, client_id: str, reason: str = "") -> bytes:
    doc = {"schema": SCHEMA, "type": "status", "status": status, "client": client_id,
           "time": iso(int(time.time() * 1000))}
    if reason:
        doc["reason"] = reason
    return orjson.dumps(doc)


class Outbox:
    """Messages not yet acknowledged by the broker, in their own SQLite file.

    A message is written (committed) before it is published and deleted when
    its PUBACK arrives, so neither a broker outage nor a killed process loses it;
    after a crash it is sent again (same id: a copy the subscriber drops).
    """

    def __init__(self, path: Path | str) -> None:
        self.path = str(path)
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(self.path, check_same_thread=False,
                                       isolation_level=None, timeout=10.0)
            if self.path != ":memory:":
                self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_OUTBOX_SCHEMA)
        except sqlite3.Error as exc:
            raise IocError(f"{self.path}: cannot open the IOC outbox: {exc}") from None

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])

    def put_alert(self, msg_id: str, topic: str, payload: bytes) -> bool:
        """Queue an alert; False when it is queued or was acknowledged already."""
        now = int(time.time() * 1000)
        with self._lock:  # one statement, one commit
            cur = self._db.execute(
                "INSERT OR IGNORE INTO outbox (msg_id, kind, key, topic, payload, retain, queued)"
                " SELECT ?, 'alert', NULL, ?, ?, 0, ?"
                " WHERE NOT EXISTS (SELECT 1 FROM sent WHERE msg_id = ?)",
                (msg_id, topic, payload, now, msg_id))
            return cur.rowcount > 0

    def put_values(self, rows: list[tuple[str, int, str, str, bytes]]) -> int:
        """Queue current values ``(sensor, t ms, id, topic, payload)``, one
        transaction; a value not newer than the last queued of its sensor is
        skipped, an unsent older one is replaced. Returns how many were queued."""
        if not rows:
            return 0
        now = int(time.time() * 1000)
        n = 0
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for sensor, t_ms, msg_id, topic, payload in rows:
                    last = self._db.execute("SELECT t FROM value_cursor WHERE sensor = ?",
                                            (sensor,)).fetchone()
                    if last is not None and last[0] >= t_ms:
                        continue
                    self._db.execute("INSERT OR REPLACE INTO value_cursor VALUES (?, ?)",
                                     (sensor, int(t_ms)))
                    self._db.execute("DELETE FROM outbox WHERE key = ?", (sensor,))
                    self._db.execute(
                        "INSERT OR IGNORE INTO outbox (msg_id, kind, key, topic, payload,"
                        " retain, queued) VALUES (?, 'value', ?, ?, ?, 1, ?)",
                        (msg_id, sensor, topic, payload, now))
                    n += 1
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return n

    def pending(self, after_seq: int, limit: int) -> list[tuple[int, str, str, bytes, int]]:
        """Up to ``limit`` queued messages after ``after_seq``, oldest first:
        (seq, kind, topic, payload, retain)."""
        with self._lock:
            return self._db.execute(
                "SELECT seq, kind, topic, payload, retain FROM outbox WHERE seq > ?"
                " ORDER BY seq LIMIT ?", (int(after_seq), int(limit))).fetchall()

    def done(self, seqs: list[int]) -> None:
        """Acknowledged: delete them (alerts' ids go to ``sent``), one transaction."""
        if not seqs:
            return
        now = int(time.time() * 1000)
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                params = [(s,) for s in seqs]
                self._db.executemany(
                    "INSERT OR IGNORE INTO sent SELECT msg_id, ? FROM outbox"
                    " WHERE seq = ? AND kind = 'alert'", [(now, s) for s in seqs])
                self._db.executemany("DELETE FROM outbox WHERE seq = ?", params)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def prune_sent(self, older_than_days: float = 30.0) -> None:
        cutoff = int(time.time() * 1000 - older_than_days * 86_400_000)
        with self._lock:
            self._db.execute("DELETE FROM sent WHERE acked < ?", (cutoff,))


class IocLink:
    """Publishes queued alerts and values to the IOC broker, QoS 1, from the outbox.

    Parameters
    ----------
    target : the broker and topic prefix (:func:`parse_target`).
    outbox : the outbox file (kept across restarts; ``":memory:"`` only in tests).
    client_id : default ``citytwin-ioc-<host name>-<pid>`` (no session is kept:
        the outbox, not the broker, holds what is unsent).
    password : default: ``$CITYTWIN_IOC_PASSWORD``, else the secrets store
        (twin.sim.secrets) under the target's ``mqtt://user@host:port`` key.
    window : messages published and not yet acknowledged, at most.
    max_age_s : observations older than this are history (never sent as new).
    ca_file : CA certificate for ``mqtts://`` (default: the system's).
    """

    def __init__(self, target: IocTarget | str, outbox: Path | str,
                 client_id: str | None = None, password: str | None = None,
                 window: int = 1000, max_age_s: float = MAX_AGE_S,
                 ca_file: str | None = None, source: str = "citytwin",
                 reconnect: tuple[float, float] = (0.5, 30.0)) -> None:
        self.target = parse_target(target) if isinstance(target, str) else target
        self.outbox = Outbox(outbox)
        # one per process: two publishers with one id would keep disconnecting each other
        self.client_id = client_id or f"citytwin-ioc-{socket.gethostname()[:40]}-{os.getpid()}"
        self.password = password if password is not None else self._password()
        self.window = max(1, min(int(window), 20_000))  # mids must not wrap while in flight
        self.max_age_s = float(max_age_s)
        self.ca_file, self.source, self.reconnect = ca_file, source, reconnect
        self.counters: Counter[str] = Counter()
        self.status = "idle"
        self.last_error = ""
        self.connected = threading.Event()
        self._client = None
        self._stop = threading.Event()
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None
        self._inflight: dict[int, int] = {}  # mid -> outbox seq (pump thread only)
        self._acked: deque[tuple[int, bool]] = deque()  # (mid, ok) from the network thread
        self._cursor = 0  # highest seq handed to the client
        self._last_ack_wall = 0.0

    #: what the feed health monitor (twin.sim.health) shows this link as
    name = "IOC"
    kind = "ioc"
    outgoing = True

    @property
    def prefix(self) -> str:
        return self.target.prefix

    @property
    def last_message_wall(self) -> float:
        """Epoch seconds of the last acknowledgement from the IOC (0: none yet)."""
        return self._last_ack_wall

    def _password(self) -> str | None:
        if os.environ.get(PASSWORD_ENV):
            return os.environ[PASSWORD_ENV]
        if not self.target.user:
            return None
        from twin.sim import secrets

        key = secrets.secret_key("mqtt", f"{self.target.host}:{self.target.port}",
                                 self.target.user)
        try:
            return secrets.lookup(key)
        except Exception as exc:  # an unreadable secrets file: connect without, say why
            self.last_error = str(exc)
            return None

    def report(self) -> dict:
        return {"name": "IOC link", "kind": "ioc", "status": self.status,
                "last_error": self.last_error, "target": self.target.url,
                "queued": len(self.outbox), **dict(self.counters)}

    # -- what goes out -----------------------------------------------------------------
    def _live(self, t_ms: int, now_ms: int | None = None) -> bool:
        now_ms = int(time.time() * 1000) if now_ms is None else now_ms
        return t_ms >= now_ms - self.max_age_s * 1000

    def publish_alert(self, alert: Alert) -> bool:
        """Queue a live alert; history (not live, or an old observation) is
        counted in ``not_live`` and dropped. True when newly queued."""
        if not alert.live or not self._live(to_ms(alert.time)):
            self.counters["not_live"] += 1
            return False
        msg_id, topic, payload = alert_message(alert, self.prefix, self.source)
        try:
            queued = self.outbox.put_alert(msg_id, topic, payload)
        except sqlite3.Error as exc:  # disk full: say so, never break the caller's update
            self._outbox_error(exc)
            return False
        if not queued:
            self.counters["alert_copies"] += 1
            return False
        self.counters["alerts_queued"] += 1
        self._poke()
        return True

    def publish_values(self, sensors: SensorSet, rows: np.ndarray, t_ms: np.ndarray,
                       values: np.ndarray, levels: np.ndarray | None = None) -> int:
        """Queue the current values of sensor ``rows`` observed at ``t_ms``; old
        observations and NaN (no data) are skipped. Returns how many were queued."""
        now = int(time.time() * 1000)
        out = []
        for k, i in enumerate(np.asarray(rows).tolist()):
            t, v = int(t_ms[k]), float(values[k])
            if not math.isfinite(v):
                continue
            if not self._live(t, now):
                self.counters["not_live"] += 1
                continue
            sid = str(sensors.ids[i])
            lvl = -1 if levels is None else int(levels[k])
            msg_id, topic, payload = value_message(sid, str(sensors.kinds[i]),
                                                   str(sensors.units[i]), t, v, lvl,
                                                   self.prefix, self.source)
            out.append((sid, t, msg_id, topic, payload))
        try:
            n = self.outbox.put_values(out)
        except sqlite3.Error as exc:
            self._outbox_error(exc)
            return 0
        self.counters["values_queued"] += n
        if n:
            self._poke()
        return n

    def _outbox_error(self, exc: Exception) -> None:
        self.counters["errors"] += 1
        self.last_error = f"outbox {self.outbox.path}: {exc}"
        log.warning("IOC link: %s", self.last_error)

    # -- the connection ------------------------------------------------------------------
    def _make_client(self):
        import paho.mqtt.client as mqtt

        client = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2,
                             client_id=self.client_id, protocol=mqtt.MQTTv5)
        client.max_inflight_messages_set(self.window)
        client.max_queued_messages_set(0)
        if self.target.user or self.password:
            client.username_pw_set(self.target.user or "", self.password)
        if self.target.tls:
            client.tls_set(ca_certs=self.ca_file)
        status = f"{self.prefix}/status"
        client.will_set(status, status_payload("offline", self.client_id, "connection lost"),
                        qos=1, retain=True)
        client.reconnect_delay_set(*self.reconnect)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        client.suppress_exceptions = True
        return client

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            self.status = "error"
            self.last_error = f"connect refused: {reason_code}"
            self.counters["errors"] += 1
            return
        client.publish(f"{self.prefix}/status", status_payload("online", self.client_id),
                       qos=1, retain=True)
        self.status = "connected"
        self.connected.set()
        self._poke()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        self.connected.clear()
        if not self._stop.is_set():
            self.status = "reconnecting"
            self.counters["reconnects"] += 1
            self.last_error = f"disconnected: {reason_code}"

    def _on_publish(self, client, userdata, mid, reason_code, properties) -> None:
        self._acked.append((mid, not reason_code.is_failure))
        self._last_ack_wall = time.time()
        self._poke()

    def _poke(self) -> None:
        with self._wake:
            self._wake.notify()

    # -- lifecycle -----------------------------------------------------------------------
    def start(self) -> None:
        """Connect (retrying with backoff while the broker is away) and publish
        the outbox in a daemon thread."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="ioc-link", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        self.status = "connecting"
        try:
            self.outbox.prune_sent()
        except sqlite3.Error as exc:
            self.last_error = f"outbox: {exc}"
        try:
            client = self._make_client()
            self._client = client
            client.connect_async(self.target.host, self.target.port, keepalive=30)
        except (OSError, ValueError) as exc:  # e.g. an unreadable CA file
            self.status, self.last_error = "error", f"{self.target.url}: {exc}"
            self.counters["errors"] += 1
            return
        client.loop_start()
        try:
            while not self._stop.is_set():
                with self._wake:
                    self._wake.wait(0.2)
                try:
                    self._pump(client)
                except sqlite3.Error as exc:  # a full disk: report, keep trying
                    self.last_error = f"outbox: {exc}"
                    self.counters["errors"] += 1
                    time.sleep(0.5)
            self._pump(client)
        finally:
            if self.connected.is_set():
                info = client.publish(f"{self.prefix}/status",
                                      status_payload("offline", self.client_id, "stopped"),
                                      qos=1, retain=True)
                deadline = time.monotonic() + 2.0
                while not info.is_published() and time.monotonic() < deadline:
                    time.sleep(0.01)
                self._pump(client)
            client.disconnect()
            client.loop_stop()
            self.status = "stopped"

    def _pump(self, client) -> None:
        """Apply acknowledgements, then hand the client what fits in the window
        (only while connected; paho resends its in-flight messages itself after
        a reconnect, with the same mid)."""
        done, rejected = [], 0
        while self._acked:
            mid, ok = self._acked.popleft()
            seq = self._inflight.pop(mid, None)
            if seq is None:
                continue  # the status message
            done.append(seq)
            rejected += not ok
        if done:
            self.outbox.done(done)
            self.counters["acked"] += len(done) - rejected
            if rejected:  # the broker refused (ACL, quota): resending would not help
                self.counters["rejected"] += rejected
                self.last_error = f"{rejected} message(s) refused by the broker"
        if not self.connected.is_set():
            return
        room = self.window - len(self._inflight)
        if room <= 0:
            return
        for seq, _kind, topic, payload, retain in self.outbox.pending(self._cursor, room):
            info = client.publish(topic, payload, qos=1, retain=bool(retain))
            self._inflight[info.mid] = seq
            self._cursor = seq
            self.counters["published"] += 1

    def stop(self, timeout: float = 5.0) -> None:
        """Give queued messages up to ``timeout`` / 2 to be acknowledged, publish
        "offline" (retained), disconnect; the outbox keeps what is left."""
        if self.connected.is_set() and self._thread is not None and self._thread.is_alive():
            self.wait_drained(timeout / 2)
        self._stop.set()
        self._poke()
        if self._thread is not None:
            self._thread.join(timeout)
        self.status = "stopped"

    def close(self, timeout: float = 5.0) -> None:
        self.stop(timeout)
        self.outbox.close()

    def wait_drained(self, timeout: float = 30.0) -> bool:
        """Until the outbox is empty (every message acknowledged); False on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.outbox) == 0:
                return True
            time.sleep(0.02)
        return len(self.outbox) == 0


class LiveWatch:
    """Headless driver (``citytwin ingest --publish``): a simulation held in Live
    mode, moved to wall time on every :meth:`poll`, so its alerts (thresholds,
    hysteresis, rules) are exactly the app's, published through :func:`attach`."""

    def __init__(self, link: IocLink, sim, value_period_s: float = 1.0) -> None:
        self.link, self.sim = link, sim
        sim.set_live(True)  # the first update only sets the levels: nothing is news yet
        self.detach = attach(sim, link, value_period_s)

    def poll(self, now: datetime | None = None) -> None:
        """Follow wall time once: raises what the data say now."""
        try:
            self.sim.follow_now(now)
        except Exception as exc:  # the ingest itself must keep running
            self.link.counters["errors"] += 1
            self.link.last_error = f"live update: {exc}"
            log.warning("IOC link: %s", self.link.last_error)


def attach(sim, link: IocLink, value_period_s: float = 1.0) -> Callable[[], None]:
    """Publish a :class:`~twin.sim.simulation.Simulation`'s live alerts and, in
    Live mode, its current values (the app's driver); returns the detach call.
    Scrubbing raises no live alert, and old observations never pass the link's
    age check, so only what happens now goes out."""
    state = {"next": 0.0, "version": -1}

    def on_update() -> None:
        if not sim.live or time.monotonic() < state["next"]:
            return
        if sim.store.version == state["version"]:
            return
        state["next"] = time.monotonic() + value_period_s
        state["version"] = sim.store.version
        t_ms = sim.clock.ms
        rows = np.flatnonzero(np.isfinite(sim.values))
        times = np.array([sim.store.observed_at(int(i), t_ms) or 0 for i in rows],
                         dtype=np.int64)
        link.publish_values(sim.sensors, rows, times, sim.values[rows], sim.levels[rows])

    sim.alerts.alert_raised.connect(link.publish_alert)
    sim.events.updated.connect(on_update)

    def detach() -> None:
        sim.alerts.alert_raised.disconnect(link.publish_alert)
        sim.events.updated.disconnect(on_update)

    return detach


def default_outbox(store: Path | str) -> Path:
    """The outbox beside a history store (``x.sqlite`` -> ``x.ioc-outbox.sqlite``)."""
    p = Path(store)
    return p.with_name(p.stem + ".ioc-outbox.sqlite")
