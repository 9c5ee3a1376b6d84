"""Sensor table filters: hiding rows (what the panel does) against a QSortFilterProxyModel.

Times, in the real :class:`app.panels.sensors.SensorsPanel` bound to a simulation:

- one filter change (text "aq", kind, state "alarm", cleared) with row hiding,
- the panel's refresh at a clock tick (every visible value re-written, filter re-applied),
- the same text filter through a QSortFilterProxyModel over a QStandardItemModel of the
  same rows (regular expression on a search column, evaluated in C++), the usual
  alternative.

Runs on the Việt Trì pilot (309 sensors) and on a layer-less scene of ``--n`` sensors
(default 5,000) to see how both scale. Needs a display: ``xvfb-run -a``.

    xvfb-run -a .venv/bin/python bench/bench_sensor_filter.py --repeat 7
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _timed(fn, repeat: int) -> tuple[float, float]:
    """min and median wall ms of ``fn()`` after one warm-up."""
    fn()
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        runs.append((time.perf_counter() - t0) * 1000)
    return min(runs), statistics.median(runs)


def pilot_sim():
    import importers
    from twin.sim.simulation import Simulation

    scene = importers.open_scene(ROOT / "scenes" / "viet_tri.toml")
    sim = Simulation.from_scene(scene)
    sim.run_feeds_now()
    from twin.viewstate import scene_time

    sim.clock.set_time(scene_time(scene))
    return sim


def synthetic_sim(n: int):
    """n sensors of 8 kinds, values and alert levels drawn at random (seeded)."""
    from twin.scene import Scene
    from twin.sim.sensors import SensorSet
    from twin.sim.simulation import Simulation
    from twin.sim.store import HistoryStore

    kinds = np.array(["air_quality", "noise", "traffic", "water_level", "energy",
                      "water_pressure", "waste", "parking"], object)
    rng = np.random.default_rng(14)
    k = kinds[rng.integers(0, len(kinds), n)]
    sensors = SensorSet(
        ids=np.array([f"{x[:2].upper()}-{i:05d}" for i, x in enumerate(k)], object), kinds=k,
        units=np.array(["u"] * n, object), names=np.array([""] * n, object),
        positions=np.column_stack([rng.uniform(0, 2000, n), rng.uniform(0, 2000, n),
                                   np.zeros(n)]),
        layer=np.array([None] * n, object), row=np.full(n, -1, np.int64),
        warning=np.full(n, 70.0), alarm=np.full(n, 90.0), params=[{} for _ in range(n)],
    )
    scene = Scene(crs="EPSG:9208", origin=(568000.0, 2357000.0, 0.0), name="bench")
    sim = Simulation(scene, sensors, HistoryStore(":memory:", sensors.ids.tolist()))
    values = rng.uniform(0, 100, n)
    values[rng.random(n) < 0.05] = np.nan
    sim.values = values
    sim.levels = np.where(values > 90, 2, np.where(values > 70, 1, 0)).astype(np.int8)
    sim.update = lambda render=True: None  # keep the drawn values: there is no store data
    return sim


def panel_class(path: str | None):
    """The panel to measure: this tree's, or one loaded from ``path`` (an older
    ``app/panels/sensors.py``, e.g. ``git show REV:app/panels/sensors.py > FILE``),
    so the two are timed in one run on the same machine state."""
    if path is None:
        from app.panels.sensors import SensorsPanel

        return SensorsPanel
    import importlib.util

    spec = importlib.util.spec_from_file_location("sensors_baseline", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.SensorsPanel


def measure(sim, label: str, repeat: int, baseline: str | None = None) -> dict:
    from PySide6.QtCore import QRegularExpression, QSortFilterProxyModel
    from PySide6.QtGui import QStandardItem, QStandardItemModel
    from PySide6.QtWidgets import QApplication, QTableView

    SensorsPanel = panel_class(baseline)
    app = QApplication.instance()
    panel = SensorsPanel()
    panel.resize(500, 700)
    panel.show()
    t0 = time.perf_counter()
    panel.bind(sim)
    app.processEvents()
    bind_ms = (time.perf_counter() - t0) * 1000
    n = len(sim.sensors)
    out = {"scene": label, "rows": n, "bind_ms": bind_ms}

    def cycle(**kw):
        def run():
            panel.set_filter(**kw)
            app.processEvents()
            panel.set_filter(text="", kind="", state="")
            app.processEvents()
        return run

    kind = str(sim.sensors.kinds[0])
    for name, kw in (("text", {"text": "aq"}), ("kind", {"kind": kind}),
                     ("state", {"state": "alarm"})):
        out[f"hide_{name}"] = _timed(cycle(**kw), repeat)
    out["refresh"] = _timed(lambda: (panel.refresh(), app.processEvents()), repeat)
    # a playing clock: every value moves between ticks (the states and colours may too)
    rng = np.random.default_rng(7)
    base = np.array(sim.values, dtype=float)

    def moving_tick():
        sim.values = base + rng.normal(0.0, 5.0, len(base))
        sim.levels = np.where(sim.values > 90, 2, np.where(sim.values > 70, 1, 0)).astype(np.int8)
        panel.refresh()
        app.processEvents()

    out["refresh_moving"] = _timed(moving_tick, repeat)
    sim.values = base

    # the alternative: a proxy model filtering a search column by regular expression
    model = QStandardItemModel(n, 6)
    for i in range(n):
        for c, text in enumerate((sim.sensors.ids[i], sim.sensors.kinds[i], "1.0", "u", "ok",
                                  panel._search[i])):
            model.setItem(i, c, QStandardItem(str(text)))
    proxy = QSortFilterProxyModel()
    proxy.setSourceModel(model)
    proxy.setFilterKeyColumn(5)
    view = QTableView()
    view.setModel(proxy)
    view.setColumnHidden(5, True)
    view.resize(500, 700)
    view.show()
    app.processEvents()

    def proxy_cycle():
        proxy.setFilterRegularExpression(QRegularExpression(QRegularExpression.escape("aq")))
        app.processEvents()
        proxy.setFilterRegularExpression(QRegularExpression(""))
        app.processEvents()

    out["proxy_text"] = _timed(proxy_cycle, repeat)
    view.close()
    panel.close()
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=5000, help="sensors of the synthetic scene")
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--baseline", metavar="FILE",
                    help="also measure the SensorsPanel of this file (an older sensors.py)")
    args = ap.parse_args()
    from PySide6.QtWidgets import QApplication

    _app = QApplication.instance() or QApplication([])
    rows = []
    for _ in range(2 if args.baseline else 1):  # interleaved: baseline, ours, baseline, ours
        for which in ([args.baseline, None] if args.baseline else [None]):
            tag = " (baseline)" if which else ""
            rows += [measure(pilot_sim(), "Việt Trì pilot" + tag, args.repeat, which),
                     measure(synthetic_sim(args.n), f"synthetic {args.n:,}{tag}", args.repeat,
                             which)]
    print(f"repeat {args.repeat} after one warm-up; ms min / median; a filter 'cycle' is "
          "set + cleared, each followed by processEvents (paint)")
    print("| scene | rows | bind | text filter (hide rows) | kind filter | state filter | "
          "refresh at a clock tick, values unchanged | refresh, every value moved | "
          "text filter (proxy model) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        cells = [f"{r[k][0]:.1f} / {r[k][1]:.1f}" for k in
                 ("hide_text", "hide_kind", "hide_state", "refresh", "refresh_moving",
                  "proxy_text")]
        print(f"| {r['scene']} | {r['rows']:,} | {r['bind_ms']:.0f} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
