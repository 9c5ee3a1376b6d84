"""MQTT live feed (paho 2): topics mapped to sensors, JSON payloads, QoS 1.

Durable ingest (issue 14; ../shared/RELIABILITY.md section E):

- **acknowledge after commit.** The client runs with ``manual_ack``: a QoS 1
  message is acknowledged only once its observations are committed to the
  history store. Until then the broker keeps it, so a killed process loses
  nothing: the broker re-delivers, and the store's (sensor, time) key turns the
  copy into a counted duplicate (a differing value is a *conflict*, kept);
- **batched transactions.** ``on_message`` only parses into a buffer; a writer
  thread commits every ``batch`` messages or ``flush_s`` seconds, whichever is
  first, then acknowledges that batch's message ids in arrival order. The broker
  may have ``receive_maximum`` messages unacknowledged towards us (MQTT 5), so
  the next batch arrives while one commits;
- a **persistent session** (fixed client id, ``clean_start=False``, a session
  expiry), the subscription renewed in ``on_connect``; a message parsed before a
  reconnect is committed but not acknowledged (its id belongs to the old
  connection: the broker re-sends it, and the copy is acknowledged);
- ``connect_async`` + ``loop_start``: a broker that is down at start is retried
  with backoff (the first delay jittered so a fleet does not reconnect in lockstep);
- bad JSON, invalid UTF-8, NaN, strings, missing fields: counted in
  ``malformed``, listed in :attr:`MqttFeed.problems` (topic, reason) and the last
  ones kept in :attr:`MqttFeed.quarantine`; they are acknowledged (re-sending
  them would not make them good) and the client keeps running;
- **gaps:** a payload may carry ``"seq"``, the publisher's per-sensor message
  number; the store records missing numbers per sensor (:meth:`HistoryStore.seq_gaps`),
  e.g. messages a broker lost after acknowledging them to their publisher.

Payloads: ``{"time": ISO-8601 or epoch ms, "value": number, "seq": int}`` (also
``t``/``v``), optionally ``"sensor"`` overriding the topic, or a JSON list of such
objects (batched publishing). The sensor id is the topic level matched by the
first ``+`` in :attr:`topic` (or the rest of the topic for ``#``), unless
``topics`` maps a topic (or a filter) to a sensor id.

Connection (issue 14, connect from the window): TLS with a CA file (else the
system's CAs) and an optional client certificate, user name and password (the
password from :mod:`twin.sim.secrets`, never a file the user shares). A broker
that refuses the login, or whose certificate is not trusted, is not retried:
retrying cannot fix either, so the feed fails at once with one line saying so
(:attr:`MqttFeed.error_code` ``"auth"`` / ``"tls_untrusted"`` tells the window
which); a broker that is down or unreachable is retried with backoff.
"""

from __future__ import annotations

import json
import logging
import math
import os
import random
import ssl
import sys
import threading
import time
from collections import deque
from datetime import datetime

import numpy as np

from twin.sim.clock import ICT, to_ms
from twin.sim.feeds.base import Feed
from twin.sim.feeds.csv_replay import TIME_RANGE
from twin.sim.problems import ProblemLog
from twin.sim.sensors import SensorSet
from twin.sim.store import HistoryStore

log = logging.getLogger(__name__)

#: MQTT 5 session expiry asked for: the broker keeps our queue this long while we
#: are away (a week: an ingest host down over a long weekend loses nothing).
SESSION_EXPIRY_S = 7 * 86_400

#: CONNACK reason codes that retrying cannot fix (MQTT 5 numbering; paho maps
#: 3.1.1's 2/4/5 onto 133/134/135): client id refused, bad user name or password,
#: not authorised, banned, bad authentication method
FATAL_CONNACK = {133: "auth", 134: "auth", 135: "auth", 138: "auth", 140: "auth"}


def tls_context(ca_file: str | None = None, cert_file: str | None = None,
                key_file: str | None = None) -> ssl.SSLContext:
    """A client TLS context that verifies the broker (certificate and host name)
    against ``ca_file`` (else the system's CAs), optionally presenting a client
    certificate. Raises ValueError naming the file that cannot be read."""
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    try:
        if ca_file:
            ctx.load_verify_locations(cafile=ca_file)
    except (OSError, ssl.SSLError) as exc:
        raise ValueError(f"{ca_file}: not a readable CA certificate (PEM) "
                         f"({getattr(exc, 'strerror', None) or exc})") from None
    try:
        if cert_file:
            ctx.load_cert_chain(cert_file, key_file or None)
    except (OSError, ssl.SSLError) as exc:
        raise ValueError(f"{cert_file}: not a readable client certificate and key (PEM) "
                         f"({getattr(exc, 'strerror', None) or exc})") from None
    return ctx


def describe_connect_error(exc: BaseException, host: str, port: int,
                           tls: bool = False) -> tuple[str, str]:
    """``(error code, one line)`` for an exception raised while connecting:
    codes ``tls_untrusted``, ``tls``, ``refused``, ``unreachable``."""
    where = f"{host}:{port}"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return "tls_untrusted", (f"certificate of {where} is not trusted "
                                 f"({exc.verify_message or exc.reason}): check the CA file")
    if isinstance(exc, ssl.SSLError) or (tls and isinstance(exc, ConnectionResetError)):
        reason = getattr(exc, "reason", None) or exc.strerror or exc
        return "tls", f"TLS handshake with {where} failed ({reason}): is it a TLS port?"
    if isinstance(exc, ConnectionRefusedError):
        return "refused", f"{where} refused the connection: is the broker running on this port?"
    return "unreachable", f"cannot reach {where} ({type(exc).__name__}: {exc})"


def _time_ms(value) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float) and math.isfinite(value):
        return int(value) if TIME_RANGE[0] <= value < TIME_RANGE[1] else None
    if isinstance(value, str):
        s = value.strip()
        try:
            t = datetime.fromisoformat(s[:-1] + "+00:00" if s.endswith("Z") else s)
        except ValueError:
            return None
        try:
            ms = to_ms(t if t.tzinfo else t.replace(tzinfo=ICT))
        except (OverflowError, ValueError, OSError):  # year 1 or 9999 with an offset
            return None
        return ms if TIME_RANGE[0] <= ms < TIME_RANGE[1] else None
    return None


def _matches(filt: str, topic: str) -> bool:
    """MQTT topic filter matching (``+`` one level, ``#`` the rest)."""
    f, t = filt.split("/"), topic.split("/")
    for i, part in enumerate(f):
        if part == "#":
            return True
        if i >= len(t) or (part != "+" and part != t[i]):
            return False
    return len(f) == len(t)


def parse_payload(topic_sensor: str | None, payload: bytes) -> list[tuple[str, int, float, int]]:
    """Observations ``(sensor, t ms, value, seq)`` in one message (seq -1: none);
    raises ValueError on anything malformed."""
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
        seq = item.get("seq", -1)
        if isinstance(seq, bool) or not isinstance(seq, int) or seq < -1:
            raise ValueError(f"seq is not a non-negative integer: {seq!r}")
        out.append((sensor, t, float(raw_v), seq))
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
    flush_s, batch : commit (then acknowledge) every ``batch`` messages or
        ``flush_s`` seconds, whichever comes first.
    receive_maximum : QoS 1 messages the broker may send before we acknowledge
        (MQTT 5; a v3.1.1 broker uses its own ``max_inflight_messages``).
    ack_after_commit : False restores the old acknowledge-on-arrival behaviour
        (only for the benchmark that compares the two: it loses data on a kill).
    protocol : 5 (default) or 3 (MQTT 3.1.1).
    buffer : unused, kept for callers of the old signature: nothing is dropped
        any more; what waits for a commit is bounded by ``receive_maximum``.
    stale_s : no message for this long while connected -> status ``stale``
        (back to ``running`` when data return).
    topics : subscription filter -> sensor id ("" : the id from the filter's
        ``+`` level, or the rest for ``#``); replaces ``topic`` when given.
    tls, ca_file, cert_file, key_file : TLS (implied by a CA or client
        certificate); see :func:`tls_context`.
    """

    kind = "mqtt"

    def __init__(self, name: str, sensors: SensorSet, store: HistoryStore, host: str = "localhost",
                 port: int = 1883, topic: str = "citytwin/+", client_id: str = "citytwin",
                 qos: int = 1, username: str | None = None, password: str | None = None,
                 reconnect: tuple[float, float] = (1.0, 120.0), flush_s: float = 0.05,
                 stale_s: float = 300.0, buffer: int = 1_000_000,
                 future_ms: int | None = 24 * 3600_000, batch: int = 500,
                 receive_maximum: int = 2000, ack_after_commit: bool = True,
                 protocol: int = 5, topics: dict[str, str] | None = None, tls: bool = False,
                 ca_file: str | None = None, cert_file: str | None = None,
                 key_file: str | None = None) -> None:
        super().__init__(name, sensors, store, future_ms=future_ms)
        if protocol not in (3, 5):
            raise ValueError(f"protocol must be 3 (3.1.1) or 5, got {protocol}")
        if qos not in (0, 1, 2):
            raise ValueError(f"qos must be 0, 1 or 2, got {qos}")
        self.host, self.port, self.topic, self.qos = host, port, topic, qos
        self.topics = dict(topics) if topics else {topic: ""}
        self.tls = bool(tls or ca_file or cert_file)
        self.ca_file, self.cert_file, self.key_file = ca_file, cert_file, key_file
        #: why the last connection failed, for the window to word it: "" (none),
        #: "auth", "tls_untrusted", "tls", "refused", "unreachable", "config"
        self.error_code = ""
        self.client_id = client_id
        self.username, self.password = username, password
        self.reconnect = reconnect
        self.flush_s, self.stale_s = flush_s, stale_s
        self.batch, self.receive_maximum = max(1, batch), receive_maximum
        self.ack_after_commit, self.protocol = ack_after_commit, protocol
        self.buffer_limit = buffer
        #: (connection generation, mid, qos, observations or None when malformed, dup)
        self.buffer: deque[tuple[int, int, int, list | None, bool]] = deque()
        self.quarantine: deque[tuple[str, bytes, str]] = deque(maxlen=100)
        self.problems = ProblemLog(100)
        self.last_message = 0.0
        self.last_message_wall = 0.0
        self.connected = threading.Event()
        self._client = None
        self._gen = 0
        self._pending: list | None = None  # a popped batch whose commit failed: retried
        #: (link generation, mid, qos) committed, to acknowledge
        self._acks: deque[tuple[int, int, int]] = deque()
        self._ack_lock = threading.Lock()
        self._wake = threading.Condition()
        self._flush_lock = threading.Lock()
        #: exact topics -> sensor; wildcard filters -> (sensor, level, rest of topic)
        self._exact: dict[str, str] = {}
        self._wild: list[tuple[str, str, int | None, bool]] = []
        for filt, sensor in self.topics.items():
            levels = filt.split("/")
            if "+" not in levels and "#" not in levels:
                self._exact[filt] = sensor
                continue
            level = levels.index("+") if "+" in levels else levels.index("#")
            self._wild.append((filt, sensor, level, "#" in levels and "+" not in levels))

    def topic_sensor(self, topic: str) -> str | None:
        """The sensor id a message on ``topic`` is for (None: from the payload)."""
        if topic in self._exact:  # "" : the payload names the sensor
            return self._exact[topic] or None
        levels = topic.split("/")
        for filt, mapped, level, rest in self._wild:
            if len(self._wild) > 1 and not _matches(filt, topic):
                continue
            if mapped:
                return mapped
            if level is not None and level < len(levels):
                return "/".join(levels[level:]) if rest else levels[level]
            return None
        return None

    def report(self) -> dict:
        return {**super().report(), "problems": self.problems.total,
                "last_message": self.last_message_wall or None, "error_code": self.error_code}

    # -- paho callbacks (network thread: keep them short, never raise) -----------------
    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            code = FATAL_CONNACK.get(int(reason_code.value))
            if code is not None:
                self._give_up(code, f"{self.host}:{self.port} refused the login "
                                    f"({reason_code}): check the user name and password")
            else:
                self.last_error = f"connect refused: {reason_code}"
            return
        self._gen += 1  # ids of messages received before now belong to the old link
        self._acks.clear()  # (the broker re-sends those messages; their copies get acked)
        self.error_code = ""
        # renewed on every (re)connect
        client.subscribe([(filt, self.qos) for filt in self.topics])
        self.status = "running"
        self.connected.set()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        was_up = self.connected.is_set()
        self.connected.clear()
        if not self._stop.is_set():
            self.status = "connecting"
            self.counters["reconnects"] += 1
            self.last_error = f"disconnected: {reason_code}"
            if not was_up:  # the socket opened, but the broker hung up before CONNACK
                self.error_code = "closed"
                self.last_error = (f"{self.host}:{self.port} closed the connection before the "
                                   "MQTT login: " + ("is it an MQTT over TLS port?" if self.tls
                                                     else "does this port need TLS?"))

    def _on_connect_fail(self, client, userdata) -> None:
        """paho calls this inside its ``except OSError`` around a (re)connect, so
        the exception it caught is the one being handled (``sys.exc_info``)."""
        exc = sys.exc_info()[1]
        if exc is None:
            return
        code, text = describe_connect_error(exc, self.host, self.port, self.tls)
        if code == "tls_untrusted":
            self._give_up(code, text)
        else:  # down or unreachable: paho retries with backoff
            self.error_code, self.last_error = code, text
            self.status = "connecting"

    def _give_up(self, code: str, text: str) -> None:
        """A failure retrying cannot fix: fail with one line and stop the client."""
        self.error_code = code
        self.fail(text)
        self._stop.set()
        with self._wake:
            self._wake.notify()

    def _on_message(self, client, userdata, message) -> None:
        self._send_acks()  # of batches committed since the last message
        obs = None
        try:
            obs = parse_payload(self.topic_sensor(message.topic), message.payload)
        except Exception as exc:  # malformed: count, keep, acknowledge with its batch
            topic = getattr(message, "topic", "?")
            self.counters["malformed"] += 1
            self.quarantine.append((topic, bytes(message.payload), str(exc)))
            self.problems.add(topic, str(exc))
        self.buffer.append((self._gen, message.mid, message.qos, obs, bool(message.dup)))
        self.last_message = time.monotonic()
        self.last_message_wall = time.time()
        if self.status == "stale":
            self.status = "running"
        if len(self.buffer) >= self.batch:
            with self._wake:
                self._wake.notify()

    # -- lifecycle -----------------------------------------------------------------------
    def _make_client(self):
        import paho.mqtt.client as mqtt

        v5 = self.protocol == 5
        kwargs = {} if v5 else {"clean_session": False}
        client = mqtt.Client(
            callback_api_version=mqtt.CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311,
            manual_ack=self.ack_after_commit,
            **kwargs,
        )
        client.max_inflight_messages_set(100)
        if self.username:
            client.username_pw_set(self.username, self.password)
        if self.tls:
            client.tls_set_context(tls_context(self.ca_file, self.cert_file, self.key_file))
        lo, hi = self.reconnect
        client.reconnect_delay_set(min_delay=lo * random.uniform(0.75, 1.25), max_delay=hi)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_connect_fail = self._on_connect_fail
        client.on_message = self._on_message
        client.suppress_exceptions = True
        connect: dict = {"keepalive": 30}
        if v5:
            from paho.mqtt.packettypes import PacketTypes
            from paho.mqtt.properties import Properties

            props = Properties(PacketTypes.CONNECT)
            props.SessionExpiryInterval = SESSION_EXPIRY_S
            props.ReceiveMaximum = max(1, min(65535, int(self.receive_maximum)))
            connect.update(clean_start=False, properties=props)
        return client, connect

    def run(self) -> None:
        self.status = "connecting"
        self.error_code = ""
        try:
            client, connect = self._make_client()
        except ValueError as exc:  # a CA or client certificate file that cannot be read
            self.error_code = "config"
            self.fail(str(exc))
            return
        self._client = client
        client.connect_async(self.host, self.port, **connect)
        client.loop_start()
        self.last_message = time.monotonic()
        try:
            while not self._stop.is_set():
                with self._wake:
                    if len(self.buffer) < self.batch:
                        self._wake.wait(self.flush_s)
                self._send_acks()  # what no arriving message took along
                self.flush()
                if (self.connected.is_set() and self.stale_s
                        and time.monotonic() - self.last_message > self.stale_s):
                    self.status = "stale"
            self.flush()  # commit and acknowledge what arrived, then leave
            self._send_acks()
        finally:
            client.disconnect()
            client.loop_stop()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        with self._wake:
            self._wake.notify()
        super().stop(timeout)

    def flush(self) -> int:
        """Commit everything buffered (one transaction), then acknowledge it;
        returns rows new. A failed commit (disk full) acknowledges nothing and is
        retried on the next flush: the broker keeps those messages meanwhile."""
        with self._flush_lock:
            items = self._pending
            if items is None:
                n = len(self.buffer)
                if not n:
                    return 0
                items = [self.buffer.popleft() for _ in range(n)]
            try:
                new = self._commit(items)
            except Exception as exc:  # e.g. disk full: report, keep the client alive
                self._pending = items
                self.counters["errors"] += 1
                self.last_error = f"store: {exc}"
                log.warning("feed %s: %s", self.name, self.last_error)
                return 0
            self._pending = None
            self._ack(items)
            return new

    def _commit(self, items: list) -> int:
        obs = [o for _, _, _, msg, _ in items if msg for o in msg]
        redelivered = sum(item[4] for item in items)
        n = len(obs)
        sens = self.sensors.indices([o[0] for o in obs]) if n else np.empty(0, np.int64)
        t = np.fromiter((o[1] for o in obs), dtype=np.int64, count=n)
        v = np.fromiter((o[2] for o in obs), dtype=np.float64, count=n)
        seq = np.fromiter((o[3] for o in obs), dtype=np.int64, count=n)
        keep = sens >= 0
        unknown = int((~keep).sum())
        future = 0
        if self.future_ms is not None and n:
            late = t > int(time.time() * 1000) + self.future_ms
            future = int((late & keep).sum())
            keep &= ~late
        stats = {"messages": len(items), "received": n, "unknown_sensor": unknown,
                 "future": future, "redelivered": redelivered}
        res = self.store.write_batch(sens[keep], t[keep], v[keep],
                                     seq=seq[keep] if (seq[keep] >= 0).any() else None,
                                     stats=stats)
        self.counters["messages"] += len(items)
        self.counters["received"] += n
        self.counters["redelivered"] += redelivered
        self.counters["unknown_sensor"] += unknown
        self.counters["future"] += future
        self.counters["written"] += res.new
        self.counters["duplicates"] += res.duplicates
        self.counters["conflicts"] += len(res.conflicts)
        for sid, tt, old, got in res.conflicts:
            self.problems.add(sid, f"re-delivered at {tt} ms with {got} (stored {old}): "
                              "kept the stored value")
        for sid, lo, hi in res.gaps:
            self.counters["seq_gaps"] += 1
            self.counters["seq_missing"] += hi - lo + 1
            self.problems.add(sid, f"messages {lo}..{hi} missing (seq gap)")
        self.counters["seq_missing"] -= res.filled
        self.counters["seq_filled"] += res.filled
        self.counters["seq_resets"] += res.seq_resets
        return res.new

    def _ack(self, items: list) -> None:
        """Queue acknowledgements of a committed batch, in arrival order (QoS>0
        messages of the current link only). The network thread sends them as the
        next message arrives (:meth:`_send_acks`), so the writer thread never
        wakes it once per message; the writer sends what is left on its next
        tick when nothing arrives (the broker's window is full, or traffic stopped)."""
        if self._client is None or not self.ack_after_commit:
            return
        gen = self._gen
        self._acks.extend((g, mid, qos) for g, mid, qos, _, _ in items if qos and g == gen)

    def _send_acks(self) -> None:
        client = self._client
        if client is None or not self._acks:
            return
        with self._ack_lock:  # one sender at a time keeps them in order
            sent = 0
            while True:
                try:
                    gen, mid, qos = self._acks.popleft()
                except IndexError:
                    break
                if gen == self._gen:  # an id of an older link would ack another message
                    client.ack(mid, qos)
                    sent += 1
        self.counters["acked"] += sent


def feed_from_table(r, name: str, sensors: SensorSet, store: HistoryStore,
                    secret: str | None = None) -> MqttFeed:
    """An MqttFeed from a validated ``[[feeds]] type = "mqtt"`` table (scene file,
    or a project's connected feed): ``r`` is a :class:`twin.scenefile._Reader`.
    The password is never a key: it is ``secret`` (typed in the window) or comes
    from :mod:`twin.sim.secrets` by the broker's address and user name."""
    from twin.sim import secrets

    if "password" in r.table:
        r.used.add("password")
        raise r.fail("password", "passwords never go in scene or project files: use the "
                     f"keyring, {secrets.ENV_VARS['mqtt']} or the file {secrets.secrets_path()}")
    protocol = r.get("protocol", int, 5)
    if protocol not in (3, 5):
        raise r.fail("protocol", "expected 5 (MQTT 5) or 3 (MQTT 3.1.1)")
    for key, default in (("batch", 500), ("flush_ms", 50)):
        if r.get(key, int, default) < 1:
            raise r.fail(key, "must be a positive number")
    qos = r.get("qos", int, 1)
    if qos not in (0, 1, 2):
        raise r.fail("qos", f"expected 0, 1 or 2, got {qos}")
    host, port = r.get("host", str, "localhost"), r.get("port", int, 1883)
    if not 0 < port < 65536:
        raise r.fail("port", f"expected 1..65535, got {port}")
    topics = r.get("topics", dict, None)
    topic = r.get("topic", str, None if topics else ...)
    if topics is not None:
        if not topics or not all(isinstance(v, str) for v in topics.values()):
            raise r.fail("topics", 'expected a table of "topic/filter" = "sensor id" (or "")')
        for filt in topics:
            if not filt or "#" in filt.split("/")[:-1] or any(
                    ("+" in part or "#" in part) and len(part) > 1 for part in filt.split("/")):
                raise r.fail("topics", f"{filt!r} is not a valid MQTT topic filter")
    files = {}
    for key in ("ca_file", "cert_file", "key_file"):
        value = r.get(key, str, None)
        if value:
            file = (r.path.parent / value).resolve()
            if not file.is_file():
                raise r.fail(key, f"file not found: {file}")
            files[key] = str(file)
    username = r.get("username", str, "") or os.environ.get(secrets.MQTT_USER_ENV) or None
    env = r.get("password_env", str, secrets.ENV_VARS["mqtt"])
    password = secret
    if password is None and username:
        try:
            password = secrets.lookup(secrets.secret_key("mqtt", f"{host}:{port}", username), env)
        except secrets.SecretError as exc:
            raise r.fail("username", f"password: {exc}") from None
    return MqttFeed(
        name, sensors, store, host=host, port=port, topic=topic or next(iter(topics)),
        topics={str(k): v for k, v in topics.items()} if topics else None,
        client_id=r.get("client_id", str, "citytwin"), qos=qos,
        batch=r.get("batch", int, 500), flush_s=r.get("flush_ms", int, 50) / 1000.0,
        protocol=protocol, username=username, password=password,
        tls=r.get("tls", bool, False), **files,
    )
