"""What TLS costs the durable MQTT ingest: drain rate over plain TCP vs TLS.

One mosquitto with the shipped settings (assets/mosquitto/citytwin.conf:
persistence, max_inflight_messages 1000, TCP_NODELAY) and two listeners (plain
and TLS, the test CA and server
certificate of tests/test_mqtt_tls.py, a password file made by
``mosquitto_passwd``). For each round, N QoS 1 messages are queued for the
subscriber's persistent session while it is away (an anonymous publisher
process on the plain port), then :class:`MqttFeed` drains them with acknowledge
after commit, logged in with user and password, over plain TCP or over TLS;
rounds interleave the two modes. Also times the connection itself (TCP vs TLS
handshake + login), median of 20.

Run from the repository root (about a minute)::

    .venv/bin/python bench/bench_mqtt_tls.py [--messages 20000] [--rounds 5] [--append]
"""

from __future__ import annotations

import argparse
import getpass
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from test_ingest_durable import (  # noqa: E402
    LOCAL_KEYS,
    SHIPPED_CONF,
    now_ms,
    start_publisher,
)
from test_mqtt_tls import (  # noqa: E402
    MOSQUITTO,
    MOSQUITTO_PASSWD,
    PASSWORD,
    USER,
    free_port,
    make_ca,
    make_leaf,
    wait_for,
)


class TwoListenerBroker:
    def __init__(self, d: Path) -> None:
        self.ca = make_ca(d, "bench-ca")
        server = make_leaf(d, "broker", self.ca)
        passwd = d / "passwd"
        subprocess.run([MOSQUITTO_PASSWD, "-b", "-c", str(passwd), USER, PASSWORD], check=True)
        self.plain, self.tls = free_port(), free_port()
        shipped = []  # the durability and throughput settings CityTwin ships
        for line in SHIPPED_CONF.read_text().splitlines():
            key = line.split("#", 1)[0].split()
            if key and key[0] not in LOCAL_KEYS:
                shipped.append(line)
        (d / "db").mkdir()
        conf = d / "mosquitto.conf"
        conf.write_text("\n".join([
            *shipped, f"persistence_location {d / 'db'}/",
            "per_listener_settings false", "allow_anonymous true", f"password_file {passwd}",
            f"listener {self.plain} 127.0.0.1",
            f"listener {self.tls} 127.0.0.1", f"cafile {self.ca[0]}",
            f"certfile {server[0]}", f"keyfile {server[1]}", f"user {getpass.getuser()}",
            f"log_dest file {d / 'broker.log'}", ""]))
        self.proc = subprocess.Popen([MOSQUITTO, "-c", str(conf)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        time.sleep(0.5)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def _feed(broker: TwoListenerBroker, store, tls: bool, client_id: str):
    from twin.sim.feeds.mqtt import MqttFeed
    from twin.sim.ingest import bare_sensors

    ids = [f"S{i}" for i in range(10)]
    return MqttFeed("bench", bare_sensors(ids), store, host="localhost",
                    port=broker.tls if tls else broker.plain, topic="ct/+", client_id=client_id,
                    username=USER, password=PASSWORD, tls=tls,
                    ca_file=str(broker.ca[0]) if tls else None)


def drain_rate(broker: TwoListenerBroker, tmp: Path, n: int, tls: bool, tag: str) -> float:
    from twin.sim.store import HistoryStore

    ids = [f"S{i}" for i in range(10)]
    store = HistoryStore(tmp / f"h-{tag}.sqlite", ids)
    cid = f"bench-{tag}"
    feed = _feed(broker, store, tls, cid)
    feed.start()  # the persistent session, then away
    assert wait_for(feed.connected.is_set, 15), feed.last_error
    feed.stop()
    pub = start_publisher(broker.plain, n, 1e9, 10, now_ms(), f"pub-{tag}")
    _out, err = pub.communicate(timeout=600)
    assert pub.returncode == 0, err
    feed = _feed(broker, store, tls, cid)
    start = time.perf_counter()
    feed.start()
    ok = wait_for(lambda: feed.counters["written"] >= n, 300)
    elapsed = time.perf_counter() - start
    feed.stop()
    store.close()
    assert ok, f"drained {feed.counters['written']} of {n}: {feed.last_error}"
    return n / elapsed


def connect_ms(broker: TwoListenerBroker, tls: bool, times: int = 20) -> float:
    import ssl

    import paho.mqtt.client as mqtt

    out = []
    for i in range(times):
        c = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2,
                        client_id=f"conn-{tls}-{i}", protocol=mqtt.MQTTv5)
        c.username_pw_set(USER, PASSWORD)
        if tls:
            c.tls_set_context(ssl.create_default_context(cafile=str(broker.ca[0])))
        t = time.perf_counter()
        c.connect("localhost", broker.tls if tls else broker.plain)
        while not c.is_connected():
            c.loop(0.01)
        out.append((time.perf_counter() - t) * 1000)
        c.disconnect()
    return statistics.median(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--messages", type=int, default=20_000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--append", action="store_true", help="append a section to RESULTS.md")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench_mqtt_tls_"))
    load0 = os.getloadavg()[0]
    broker = TwoListenerBroker(tmp)
    rates: dict[bool, list[float]] = {False: [], True: []}
    try:
        conn = {tls: connect_ms(broker, tls) for tls in (False, True)}
        for r in range(args.rounds):
            for tls in (False, True):
                rate = drain_rate(broker, tmp, args.messages, tls, f"{r}{int(tls)}")
                rates[tls].append(rate)
                print(f"round {r} tls={tls}: {rate:,.0f} msg/s", flush=True)
    finally:
        broker.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    load1 = os.getloadavg()[0]
    plain, tls = statistics.median(rates[False]), statistics.median(rates[True])
    rows = [f"| {name} | {statistics.median(v):,.0f} | {max(v):,.0f} | "
            f"{', '.join(f'{x:,.0f}' for x in v)} | {conn[mode]:.1f} |"
            for name, mode, v in (("plain TCP", False, rates[False]),
                                  ("TLS (test CA, P-256)", True, rates[True]))]
    text = "\n".join([
        "## MQTT over TLS: what encryption costs the durable ingest (issue 14)", "",
        f"`python bench/bench_mqtt_tls.py --messages {args.messages} --rounds {args.rounds}` "
        f"— {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"load {load0:.1f} → {load1:.1f}. {args.messages:,} QoS 1 messages queued for the "
        "persistent session, then drained by `MqttFeed` (acknowledge after commit), "
        "logged in with user and password; rounds interleaved.", "",
        "| link | median msg/s | best | rounds | connect + login, median of 20 (ms) |",
        "|---|---|---|---|---|", *rows, "",
        f"TLS / plain: {tls / plain:.2f}x the drain rate.", ""])
    print(text)
    if args.append:
        with open(ROOT / "bench" / "RESULTS.md", "a", encoding="utf-8") as f:
            f.write("\n" + text)


if __name__ == "__main__":
    main()
