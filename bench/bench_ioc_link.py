"""IOC link throughput: live alerts and current values published per second,
QoS 1, through the durable outbox, against a real mosquitto with the shipped
configuration (assets/mosquitto/citytwin.conf).

Per round, interleaved so both see the same machine load:

- **link**: N alerts (each its own committed outbox insert, as the alert
  monitor raises them) and N current values (in batches of ``--sensors``, as one
  Live update queues them) into :class:`twin.sim.ioc_link.IocLink`; timed from
  the first queue call until the outbox is empty (every message acknowledged by
  the broker) and a QoS 1 subscriber holds every alert id;
- **raw paho**: the same 2N payloads published by a bare paho client at QoS 1
  with no outbox (the floor: what the broker and client library allow here).

Run from the repository root::

    .venv/bin/python bench/bench_ioc_link.py [--n 5000] [--rounds 3] [--append]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from test_ingest_durable import MOSQUITTO, ShippedBroker, wait_for  # noqa: E402

from twin.sim.clock import ICT, to_ms  # noqa: E402
from twin.sim.ingest import bare_sensors  # noqa: E402
from twin.sim.ioc_link import IocLink  # noqa: E402
from twin.sim.overlays.alerts import Alert  # noqa: E402

PREFIX = "bench/ioc"


class Counter:
    """A QoS 1 subscriber counting distinct alert ids and value messages."""

    def __init__(self, port: int) -> None:
        import paho.mqtt.client as mqtt

        self.ids: set[str] = set()
        self.values = 0
        self.lock = threading.Lock()
        self.c = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2,
                             client_id="bench-sub", protocol=mqtt.MQTTv5)
        self.c.on_connect = lambda c, *_: c.subscribe(f"{PREFIX}/#", qos=1)
        self.c.on_message = self._on
        self.c.connect("127.0.0.1", port)
        self.c.loop_start()
        wait_for(self.c.is_connected, 10)
        time.sleep(0.3)

    def _on(self, client, userdata, msg) -> None:
        doc = json.loads(msg.payload)
        with self.lock:
            if doc.get("type") == "alert":
                self.ids.add(doc["id"])
            elif doc.get("type") == "value":
                self.values += 1

    def reset(self) -> None:
        with self.lock:
            self.ids.clear()
            self.values = 0

    def close(self) -> None:
        self.c.disconnect()
        self.c.loop_stop()


def run_link(port: int, tmp: Path, n: int, n_sensors: int, sub: Counter, r: int) -> dict:
    sensors = bare_sensors([f"S{i}" for i in range(n_sensors)])
    link = IocLink(f"mqtt://127.0.0.1:{port}/{PREFIX}", tmp / f"outbox{r}.sqlite",
                   client_id=f"bench-link-{r}")
    link.start()
    wait_for(link.connected.is_set, 10)
    now = datetime.now(ICT)
    alerts = [Alert(now - timedelta(milliseconds=k), f"S{k % n_sensors}", 11.0, "alarm",
                    "normal", "water_level", "m", live=True) for k in range(n)]
    sub.reset()
    t0 = time.perf_counter()
    base = to_ms(now) - n
    rows = np.arange(n_sensors)
    for k in range(0, n, n_sensors):  # values: one Live update queues a batch
        m = min(n_sensors, n - k)
        link.publish_values(sensors, rows[:m], np.full(m, base + k), np.full(m, 1.0 + k))
    for a in alerts:
        link.publish_alert(a)
    queued = time.perf_counter() - t0
    ok = link.wait_drained(120)
    wait_for(lambda: len(sub.ids) >= n, 60, 0.005)
    dt = time.perf_counter() - t0
    out = {"seconds": dt, "queue_s": queued, "drained": ok, "alerts_received": len(sub.ids),
           "values_queued": link.counters["values_queued"], "acked": link.counters["acked"]}
    link.close()
    return out


def run_raw(port: int, n: int, sub: Counter, r: int) -> dict:
    import paho.mqtt.client as mqtt

    c = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2,
                    client_id=f"bench-raw-{r}", protocol=mqtt.MQTTv5)
    c.max_inflight_messages_set(1000)
    acks = [0]
    c.on_publish = lambda *a: acks.__setitem__(0, acks[0] + 1)
    c.connect("127.0.0.1", port)
    c.loop_start()
    wait_for(c.is_connected, 10)
    body = json.dumps({"schema": "citytwin-ioc/1", "type": "x", "value": 1.0}).encode()
    t0 = time.perf_counter()
    for k in range(2 * n):
        c.publish(f"{PREFIX}/raw/S{k % 50}", body, qos=1)
    wait_for(lambda: acks[0] >= 2 * n, 120, 0.005)
    dt = time.perf_counter() - t0
    c.disconnect()
    c.loop_stop()
    return {"seconds": dt, "acked": acks[0]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=5000, help="alerts (and values) per round")
    ap.add_argument("--sensors", type=int, default=300, help="sensors per value batch")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--append", action="store_true", help="append a section to RESULTS.md")
    args = ap.parse_args()
    if MOSQUITTO is None:
        print("mosquitto not found (apt-get install mosquitto)")
        return 2
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        broker = ShippedBroker(tmp / "broker")
        broker.start()
        sub = Counter(broker.port)
        link_runs, raw_runs = [], []
        try:
            for r in range(args.rounds):
                link_runs.append(run_link(broker.port, tmp, args.n, args.sensors, sub, r))
                raw_runs.append(run_raw(broker.port, args.n, sub, r))
                print(f"round {r}: link {link_runs[-1]}, raw {raw_runs[-1]}", flush=True)
        finally:
            sub.close()
            broker.stop()
    # every queued message is acknowledged, or replaced by a newer value of its
    # sensor before it was sent (only the current value matters)
    msgs = [args.n + r["values_queued"] for r in link_runs]
    rates = [m / r["seconds"] for m, r in zip(msgs, link_runs, strict=True)]
    raw = [r["acked"] / r["seconds"] for r in raw_runs]
    lost = sum(args.n - r["alerts_received"] for r in link_runs)
    lines = [
        "",
        "## IOC link (outbound MQTT, QoS 1, durable outbox)",
        "",
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"load average {os.getloadavg()[0]:.1f} at the end (shared machine), Python "
        f"{platform.python_version()}, mosquitto with assets/mosquitto/citytwin.conf. Command: "
        f"`.venv/bin/python bench/bench_ioc_link.py --n {args.n} --rounds {args.rounds} "
        f"--append` ({args.n} alerts + {args.n} values per round, values in batches of "
        f"{args.sensors}; interleaved with a bare paho QoS 1 publisher).",
        "",
        "| | min | median | max |",
        "|---|---:|---:|---:|",
        f"| link: alerts + values / s (queued -> outbox -> PUBACK -> deleted) | "
        f"{min(rates):,.0f} | {statistics.median(rates):,.0f} | {max(rates):,.0f} |",
        f"| raw paho QoS 1, no outbox: messages / s | {min(raw):,.0f} | "
        f"{statistics.median(raw):,.0f} | {max(raw):,.0f} |",
        f"| link queue time for {2 * args.n} messages (s) | "
        f"{min(r['queue_s'] for r in link_runs):.2f} | "
        f"{statistics.median(r['queue_s'] for r in link_runs):.2f} | "
        f"{max(r['queue_s'] for r in link_runs):.2f} |",
        "",
        f"Acknowledged per round (values replaced before sending are not sent): "
        f"{', '.join(str(r['acked']) for r in link_runs)} of {2 * args.n}. "
        f"Alerts not received by the subscriber over all rounds: {lost}. Link / raw "
        f"(median): {statistics.median(rates) / statistics.median(raw):.2f}.",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.append:
        with (ROOT / "bench" / "RESULTS.md").open("a", encoding="utf-8") as f:
            f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
