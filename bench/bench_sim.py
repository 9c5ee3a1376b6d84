"""Simulation speed: sensor recolour, history ingest, MQTT ingest beside a render loop.

Three measurements (targets from issue 5 / PERFORMANCE.md B7, B8):

- **recolour**: a layer of 1 M triangles (10 k features, 100 cells each, shuffled)
  coloured from 10 k sensor values: thematic colours per feature (colormap LUT)
  then ``SceneView.set_feature_colors`` (``np.take`` into the existing uint8 cell
  array + ``Modified``; no actor rebuild). Target <= 10 ms per update.
- **store**: ``HistoryStore.ingest`` of 500 k observations in 50 k batches into a
  WAL file, plus a repeat of the same batches (idempotent duplicates), plus
  ``values_at`` over 10 k sensors. Target >= 50 k obs/s.
- **mqtt**: a local mosquitto; a publisher process sends 10 k msg/s (JSON, QoS 1)
  for ``--seconds``; :class:`MqttFeed` ingests while a 30 Hz "render" thread
  measures how late its ticks fire (max stall). Target: keeps up (all messages
  stored, ingest rate ~ publish rate) and no stall over 50 ms.

Run from the repository root::

    .venv/bin/python bench/bench_sim.py [--append]
"""

from __future__ import annotations

import argparse
import getpass
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")


def bench_recolour(n_cells: int = 1_000_000, n_sensors: int = 10_000, runs: int = 30) -> dict:
    import pyvista as pv

    from twin.features import FeatureTable
    from twin.layer import Layer
    from twin.render import SceneView
    from twin.scene import Scene
    from twin.sim.overlays.thematic import ThematicOverlay
    from twin.sim.sensors import SensorSet

    rng = np.random.default_rng(0)
    pts = rng.random((n_cells // 2 + 2, 3)).astype(np.float32) * 1000
    a = rng.integers(0, len(pts), size=(n_cells, 3))
    faces = np.column_stack([np.full(n_cells, 3), a]).ravel()
    mesh = pv.PolyData(pts, faces=faces)
    feature = np.repeat(np.arange(n_sensors, dtype=np.int32), n_cells // n_sensors)
    rng.shuffle(feature)
    mesh.cell_data["feature"] = feature
    n = n_sensors
    table = FeatureTable(np.array([f"F{i}" for i in range(n)], object),
                         np.array(["office"] * n, object), np.array([""] * n, object),
                         np.zeros((n, 6)))
    scene = Scene(crs="EPSG:9208")
    layer = scene.add_layer(Layer("big", mesh, table, kind="buildings"))
    sensors = SensorSet(
        ids=np.array([f"S{i}" for i in range(n)], object),
        kinds=np.array(["air_quality"] * n, object), units=np.array(["AQI"] * n, object),
        names=np.array([""] * n, object), positions=np.zeros((n, 3)),
        layer=np.array(["big"] * n, object), row=np.arange(n, dtype=np.int64),
        warning=np.full(n, 100.0), alarm=np.full(n, 150.0), params=[{}] * n,
    )
    plotter = pv.Plotter(off_screen=True, window_size=[64, 64])
    view = SceneView(scene, plotter, ground=False)
    them = ThematicOverlay("big", kind="air_quality", clim=(0, 200))
    total, gather = [], []
    for i in range(runs + 2):
        values = rng.uniform(0, 200, n)
        t0 = time.perf_counter()
        rgb, _ = them.colors(layer, sensors, values)
        t1 = time.perf_counter()
        view.set_feature_colors(layer, rgb)
        t2 = time.perf_counter()
        if i >= 2:
            total.append((t2 - t0) * 1000)
            gather.append((t2 - t1) * 1000)
    ok = np.array_equal(view.cell_colors(layer), rgb[feature])
    view.close()
    plotter.close()
    return {"cells": n_cells, "sensors": n_sensors, "total_min": min(total),
            "total_med": statistics.median(total), "gather_min": min(gather),
            "gather_med": statistics.median(gather), "correct": ok}


def bench_store(n: int = 500_000, batch: int = 50_000, n_sensors: int = 10_000) -> dict:
    from twin.sim.store import HistoryStore

    tmp = Path(tempfile.mkdtemp())
    store = HistoryStore(tmp / "h.sqlite", [f"S{i}" for i in range(n_sensors)])
    rng = np.random.default_rng(1)
    sensors = np.arange(n) % n_sensors
    t = 1_748_710_800_000 + (np.arange(n) // n_sensors) * 60_000
    v = rng.normal(size=n)
    t0 = time.perf_counter()
    for s in range(0, n, batch):
        store.ingest(sensors[s : s + batch], t[s : s + batch], v[s : s + batch])
    t1 = time.perf_counter()
    for s in range(0, n, batch):
        store.ingest(sensors[s : s + batch], t[s : s + batch], v[s : s + batch])
    t2 = time.perf_counter()
    q = []
    for k in range(10):
        a = time.perf_counter()
        store.values_at(int(t[-1]) - k * 60_000)
        q.append((time.perf_counter() - a) * 1000)
    rows = len(store)
    store.close()
    shutil.rmtree(tmp, ignore_errors=True)
    return {"n": n, "rows": rows, "ingest_per_s": n / (t1 - t0), "dup_per_s": n / (t2 - t1),
            "values_at_ms": statistics.median(q)}


def _publish(port: int, rate: int, seconds: float, n_sensors: int) -> float:
    """Publish ``rate`` msg/s for ``seconds``; returns the publisher's wall time.

    ``mosquitto_pub -l`` (C, Debian package mosquitto-clients) sends one message
    per stdin line, so the publisher is not the bottleneck on a 2-core machine
    (a paho publisher in Python tops out at 3-4 k msg/s there); paced in 10 ms
    slices. Falls back to paho when mosquitto_pub is missing.
    """
    base = 1_748_710_800_000
    total = int(rate * seconds)
    lines = [b'{"sensor": "S%d", "t": %d, "v": %d}\n' % (i % n_sensors, base + i, i)
             for i in range(total)]
    tool = shutil.which("mosquitto_pub")
    start = time.perf_counter()
    if tool:
        proc = subprocess.Popen([tool, "-h", "127.0.0.1", "-p", str(port), "-q", "1",
                                 "-t", "bench/feed", "-l", "-i", "bench-pub"],
                                stdin=subprocess.PIPE)
        step = max(1, rate // 100)
        for s in range(0, total, step):
            ahead = start + s / rate - time.perf_counter()
            if ahead > 0:
                time.sleep(ahead)
            proc.stdin.write(b"".join(lines[s : s + step]))
            proc.stdin.flush()
        proc.stdin.close()
        proc.wait(60)
        return time.perf_counter() - start
    import paho.mqtt.client as mqtt

    c = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2,
                    client_id="bench-pub", protocol=mqtt.MQTTv311)
    c.max_inflight_messages_set(1000)
    c.connect("127.0.0.1", port)
    c.loop_start()
    for i, line in enumerate(lines):
        c.publish("bench/feed", line, qos=1)
        if i % 200 == 0:
            ahead = start + i / rate - time.perf_counter()
            if ahead > 0:
                time.sleep(ahead)
    while c.want_write():
        time.sleep(0.01)
    c.loop_stop()
    c.disconnect()
    return time.perf_counter() - start


def bench_mqtt(rate: int = 10_000, seconds: float = 5.0, n_sensors: int = 10_000) -> dict | None:
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not Path(binary).exists():
        return None
    from twin.sim.feeds.mqtt import MqttFeed
    from twin.sim.sensors import SensorSet
    from twin.sim.store import HistoryStore

    tmp = Path(tempfile.mkdtemp())
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    conf = tmp / "m.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\nmax_queued_messages 0\n"
                    f"max_inflight_messages 1000\nuser {getpass.getuser()}\n")
    broker = subprocess.Popen([binary, "-c", str(conf)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    n = n_sensors
    sensors = SensorSet(
        ids=np.array([f"S{i}" for i in range(n)], object),
        kinds=np.array(["traffic"] * n, object), units=np.array([""] * n, object),
        names=np.array([""] * n, object), positions=np.zeros((n, 3)),
        layer=np.array([None] * n, object), row=np.full(n, -1, np.int64),
        warning=np.full(n, np.nan), alarm=np.full(n, np.nan), params=[{}] * n,
    )
    store = HistoryStore(tmp / "h.sqlite", sensors.ids.tolist())
    feed = MqttFeed("bench", sensors, store, port=port, topic="bench/#", client_id="bench-sub",
                    flush_s=0.05, future_ms=None)
    feed.start()
    while not feed.connected.wait(0.1):
        pass
    stalls: list[float] = []
    stop = threading.Event()

    def render_loop() -> None:  # stands in for the GUI thread's 30 Hz timer
        period = 1 / 30
        nxt = time.perf_counter() + period
        while not stop.is_set():
            time.sleep(max(0.0, nxt - time.perf_counter()))
            now = time.perf_counter()
            stalls.append((now - nxt) * 1000)  # how late this tick fired
            store.values_at(1_748_710_800_000 + 10**9)  # what a live overlay update reads
            nxt = max(nxt + period, now)  # a late tick does not make the next one late

    loop = threading.Thread(target=render_loop)
    loop.start()
    total = int(rate * seconds)
    t0 = time.perf_counter()
    pub_time: list[float] = []
    pub = threading.Thread(target=lambda: pub_time.append(_publish(port, rate, seconds, n)))
    pub.start()
    done_at = None
    deadline = t0 + seconds + 60
    while time.perf_counter() < deadline:
        if feed.counters["written"] >= total:
            done_at = time.perf_counter()
            break
        time.sleep(0.02)
    pub.join(30)
    stop.set()
    loop.join()
    feed.stop()
    broker.terminate()
    broker.wait(10)
    written = feed.counters["written"]
    store.close()
    shutil.rmtree(tmp, ignore_errors=True)
    elapsed = (done_at or time.perf_counter()) - t0
    return {"rate": rate, "seconds": seconds, "sent": total, "stored": written,
            "publisher_s": pub_time[0] if pub_time else float("nan"),
            "ingest_per_s": written / elapsed, "lag_s": elapsed - seconds,
            "max_stall_ms": max(stalls), "p99_stall_ms": float(np.percentile(stalls, 99))}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--append", action="store_true", help="append to bench/RESULTS.md")
    ap.add_argument("--seconds", type=float, default=5.0)
    args = ap.parse_args()
    rc = bench_recolour()
    print(f"recolour {rc['cells']:,} cells from {rc['sensors']:,} sensors: total "
          f"{rc['total_min']:.2f}/{rc['total_med']:.2f} ms (min/median), gather+Modified "
          f"{rc['gather_min']:.2f}/{rc['gather_med']:.2f} ms, correct={rc['correct']}")
    st = bench_store()
    print(f"store: {st['ingest_per_s']:,.0f} obs/s new, {st['dup_per_s']:,.0f} obs/s duplicates, "
          f"rows {st['rows']:,}, values_at(10k) {st['values_at_ms']:.1f} ms")
    mq = bench_mqtt(seconds=args.seconds)
    if mq is None:
        print("mqtt: skipped (no mosquitto)")
    else:
        print(f"mqtt: sent {mq['sent']:,} at {mq['rate']:,}/s, stored {mq['stored']:,}, ingest "
              f"{mq['ingest_per_s']:,.0f}/s (publisher took {mq['publisher_s']:.2f} s), "
              f"finished {mq['lag_s']:.2f} s after the publisher, "
              f"render tick stall max {mq['max_stall_ms']:.1f} ms, p99 {mq['p99_stall_ms']:.1f} ms")
    if args.append:
        with open(ROOT / "bench" / "RESULTS.md", "a", encoding="utf-8") as fh:
            fh.write(
                f"\n## Simulation (bench/bench_sim.py, {time.strftime('%Y-%m-%d')}, "
                f"{platform.machine()}, {os.cpu_count()} cores)\n\n"
                "| measure | result | target |\n| --- | --- | --- |\n"
                f"| recolour 1 M tris from 10 k sensor values (LUT + gather + Modified), "
                f"min / median | {rc['total_min']:.2f} / {rc['total_med']:.2f} ms | <= 10 ms |\n"
                f"| of which gather into the cell array | {rc['gather_min']:.2f} / "
                f"{rc['gather_med']:.2f} ms | |\n"
                f"| store ingest, new rows (WAL, 50 k batches) | {st['ingest_per_s']:,.0f} obs/s "
                f"| >= 50 k obs/s |\n"
                f"| store ingest, duplicates (ignored) | {st['dup_per_s']:,.0f} obs/s | |\n"
                f"| values_at over 10 k sensors | {st['values_at_ms']:.1f} ms | |\n"
            )
            if mq is not None:
                fh.write(
                    f"| MQTT ingest, {mq['rate']:,} msg/s QoS 1 JSON for {mq['seconds']:g} s | "
                    f"stored {mq['stored']:,}/{mq['sent']:,}, {mq['ingest_per_s']:,.0f} msg/s, "
                    f"done {mq['lag_s']:.2f} s after the publisher | keeps up |\n"
                    f"| 30 Hz render-thread tick stall during MQTT ingest, max / p99 | "
                    f"{mq['max_stall_ms']:.1f} / {mq['p99_stall_ms']:.1f} ms | <= 50 ms |\n"
                )


if __name__ == "__main__":
    main()
