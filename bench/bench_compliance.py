"""Planning compliance: 60,000 buildings against 10,000 lots, vectorised vs a loop.

The bench city (``footprints.make_city``, seeded) gets a 100 x 100 grid of lots
over its extent (lot edges cut through buildings, so many touch two or four
lots), seeded random indicators, and red lines along every second lot row and
column. Times ``twin.compliance`` end to end (lot validation, then
``rules.check``: STRtree assignment, density with its overlap test, FAR,
setback to the red lines) next to a per-building Python loop computing the same
numbers in the same run, and checks that the two agree.

    python bench/bench_compliance.py [--buildings 60000] [--lots 10000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parent))
from footprints import make_city
from machine import cpu_model

from twin.compliance.buildings import from_columns
from twin.compliance.indicators import lot_table
from twin.compliance.rules import TOLERANCE, check


def setup(n_buildings: int, n_lots: int, seed: int):
    city = make_city(n_buildings, seed=seed)
    x0, y0, x1, y1 = city.bounds
    k = round(np.sqrt(n_lots))
    xs, ys = np.linspace(x0 - 1, x1 + 1, k + 1), np.linspace(y0 - 1, y1 + 1, k + 1)
    gx, gy = np.meshgrid(xs[:-1], ys[:-1])
    gx2, gy2 = np.meshgrid(xs[1:], ys[1:])
    lots = shapely.box(gx.ravel(), gy.ravel(), gx2.ravel(), gy2.ravel())
    rng = np.random.default_rng(seed)
    m = len(lots)
    cols = {
        "max_height": rng.uniform(20, 90, m),
        "max_floors": rng.integers(5, 25, m).astype(float),
        "max_density": rng.uniform(30, 90, m),
        "max_far": rng.uniform(1, 8, m),
        "setback": rng.uniform(0, 6, m),
    }
    for values in cols.values():  # 10 % of lots without each indicator: no rule
        values[rng.random(m) < 0.1] = np.nan
    ids = np.array([f"L{i}" for i in range(m)], dtype=object)
    red = np.concatenate([
        shapely.linestrings([[[x, y0 - 1], [x, y1 + 1]] for x in xs[::2]]),
        shapely.linestrings([[[x0 - 1, y], [x1 + 1, y]] for y in ys[::2]]),
    ])
    b_ids = np.array([f"B{i}" for i in range(len(city))], dtype=object)
    return city, ids, lots, cols, red, b_ids


def vectorised(city, ids, lots, cols, red, b_ids):
    table = lot_table(ids, lots, cols)
    bs = from_columns(b_ids, city.geoms, {"height": city.heights})
    return check(bs, table, red)


def loop(city, lots, cols, red, b_ids):
    """The same check one building at a time (per-building STRtree queries)."""
    tree, red_tree = shapely.STRtree(lots), shapely.STRtree(red)
    n, m = len(city.geoms), len(lots)
    lot = np.full(n, -1)
    cover, gfa = np.zeros(m), np.zeros(m)
    floors = np.floor(city.heights / 3.2 + 0.5)
    setback = np.full(n, np.nan)
    for i, fp in enumerate(city.geoms):
        best, best_area = -1, 1e-6
        for j in tree.query(fp, predicate="intersects"):
            a = fp.intersection(lots[j]).area
            if a > best_area:
                best, best_area = int(j), a
        lot[i] = best
        if best < 0:
            continue
        cover[best] += fp.area
        gfa[best] += fp.area * floors[i]
        nearest = red_tree.query_nearest(fp)[0]
        setback[i] = fp.distance(red[nearest])
    fails = 0
    for i in range(n):
        j = lot[i]
        if j < 0:
            continue
        area = lots[j].area
        checks = (
            city.heights[i] > cols["max_height"][j] + TOLERANCE["max_height"],
            floors[i] > cols["max_floors"][j] + TOLERANCE["max_floors"],
            cover[j] / area * 100 > cols["max_density"][j] + TOLERANCE["max_density"],
            gfa[j] / area > cols["max_far"][j] + TOLERANCE["max_far"],
            setback[i] < cols["setback"][j] - TOLERANCE["setback"],
        )
        fails += sum(bool(c) for c in checks)
    return lot, fails


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--buildings", type=int, default=60_000)
    ap.add_argument("--lots", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    data = setup(args.buildings, args.lots, args.seed)
    city, ids, lots, cols, red, b_ids = data
    times, cpu, stages = [], [], []
    for _ in range(args.repeat):
        c0, t0 = time.process_time(), time.perf_counter()
        table = lot_table(ids, lots, cols)
        t1 = time.perf_counter()
        bs = from_columns(b_ids, city.geoms, {"height": city.heights})
        t2 = time.perf_counter()
        res = check(bs, table, red)
        t3 = time.perf_counter()
        cpu.append(time.process_time() - c0)
        times.append(t3 - t0)
        stages.append((t1 - t0, t2 - t1, t3 - t2))
    c0, t0 = time.process_time(), time.perf_counter()
    lot_loop, fails_loop = loop(city, lots, cols, red, b_ids)
    t_loop, cpu_loop = time.perf_counter() - t0, time.process_time() - c0
    same_lot = np.array_equal(lot_loop, res.lot)
    fails = int(sum(f.sum() for f in res.fails.values()))
    best = int(np.argmin(times))
    touching = np.bincount(shapely.STRtree(lots).query(city.geoms, predicate="intersects")[0],
                           minlength=len(city.geoms))
    print(f"{len(city.geoms):,} buildings, {len(lots):,} lots, {len(red)} red lines; "
          f"{(touching > 1).sum():,} buildings touch more than one lot")
    print(f"machine: {platform.machine()} {cpu_model()}, Python {platform.python_version()}, "
          f"shapely {shapely.__version__}")
    print(f"load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs "
          "(wall time includes waiting for a CPU; CPU time does not)")
    print("| stage | wall s |\n|---|---|")
    print(f"| lot table (indicators, validity, overlap test) | {stages[best][0]:.3f} |")
    print(f"| buildings (heights, floors, GFA) | {stages[best][1]:.3f} |")
    print(f"| check (assign, density, FAR, setback) | {stages[best][2]:.3f} |")
    print("\n| run | wall s | CPU s |\n|---|---|---|")
    print(f"| **vectorised end to end, best of {args.repeat}** | **{min(times):.3f}** | "
          f"**{min(cpu):.3f}** |")
    print(f"| vectorised, median of {args.repeat} | {np.median(times):.3f} | "
          f"{np.median(cpu):.3f} |")
    print(f"| per-building loop, same run | {t_loop:.3f} | {cpu_loop:.3f} |")
    print(f"\nspeed-up x{t_loop / min(times):.1f} (CPU x{cpu_loop / min(cpu):.1f}); "
          f"same lots: {same_lot}; violations {fails:,} (loop {fails_loop:,}); "
          f"checked {int(res.checked.sum()):,}")
    return 0 if same_lot and fails == fails_loop else 1


if __name__ == "__main__":
    raise SystemExit(main())
