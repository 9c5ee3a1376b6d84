"""Pipe networks and domain alert rules: what they cost.

1. Meshing the Việt Trì water and drainage networks (817 pipes, 866 shafts):
   :func:`twin.pipes.tubes` + :func:`twin.pipes.shafts` (one numpy sweep) against
   the naive path, one ``pyvista.Tube`` per pipe then ``pyvista.merge``.
2. One ``Simulation.update`` on the demo (434 sensors) with and without the
   history rules (leak by night minimum flow, pressure drop), interleaved.

    .venv/bin/python bench/bench_pipes.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

import numpy as np
import shapely

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _networks():
    out = []
    for name in ("water_mains", "drainage"):
        doc = json.loads((ROOT / "assets" / "viet_tri" / f"{name}.geojson").read_text())
        for f in doc["features"]:
            p = f["properties"]
            out.append((shapely.from_geojson(json.dumps(f["geometry"])), p["diameter_mm"] / 1000,
                        p["invert_depth"], p.get("invert_depth_end", p["invert_depth"])))
    geoms = np.array([o[0] for o in out], dtype=object)
    shapely.set_coordinates(geoms, shapely.get_coordinates(geoms) - [568300.0, 2357700.0])
    d = np.array([o[1] for o in out])
    i0 = np.array([o[2] for o in out])
    i1 = np.array([o[3] for o in out])
    return geoms, d, i0, i1


def ours(geoms, d, i0, i1):
    from twin.meshing import TriMesh
    from twin.pipes import shafts, tubes

    line = shapely.get_type_id(geoms) == 1
    rows = np.flatnonzero(~line)
    mesh = TriMesh.concat([
        tubes(geoms[line], d[line], i0[line], i1[line]),
        shafts(shapely.get_coordinates(geoms[rows]), d[rows], i0[rows], rows)])
    return mesh.to_polydata()


def naive(geoms, d, i0, i1):
    import pyvista as pv

    parts = []
    for g, dd, a, b in zip(geoms, d, i0, i1, strict=True):
        xy = shapely.get_coordinates(g)
        if len(xy) >= 2:
            z = -np.linspace(a, b, len(xy)) + dd / 2
            parts.append(pv.Spline(np.column_stack([xy, z]), len(xy)).tube(radius=dd / 2,
                                                                         n_sides=16, capping=True))
        else:
            parts.append(pv.Cylinder(center=(xy[0, 0], xy[0, 1], -a / 2), direction=(0, 0, 1),
                                     radius=dd / 2, height=a - 0.1, resolution=16))
    return pv.merge(parts)


def _time(fn, *args, repeat=5):
    runs = []
    out = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn(*args)
        runs.append(time.perf_counter() - t0)
    return min(runs), statistics.median(runs), out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args(argv)
    net = _networks()
    a = _time(ours, *net, repeat=args.repeat)
    b = _time(naive, *net, repeat=max(1, args.repeat // 2))
    print(f"mesh networks ({len(net[0])} features): ours min {a[0]*1000:.1f} ms "
          f"med {a[1]*1000:.1f} ms ({a[2].n_cells:,} triangles); naive Tube+merge "
          f"min {b[0]*1000:.0f} ms med {b[1]*1000:.0f} ms ({b[2].n_cells:,} cells); "
          f"speed-up {b[0]/a[0]:.0f}x")

    import importers
    from twin.sim.simulation import Simulation

    scene = importers.open_scene(ROOT / "scenes" / "viet_tri.toml")
    sim = Simulation.from_scene(scene)
    sim.run_feeds_now()
    start = sim.clock.start
    with_rules, without = [], []
    for k in range(args.repeat * 8):
        for flag, bucket in ((True, with_rules), (False, without)):
            sim.rules.flow_rows = sim.sensors.of_kind("water_flow") if flag else \
                np.empty(0, np.int64)
            sim.rules.drop_warning[:] = 0.3 if flag else np.nan
            sim.rules.drop_alarm[:] = 0.5 if flag else np.nan
            t = start + timedelta(minutes=15 * (k + 80) + (0 if flag else 1))
            t0 = time.perf_counter()
            sim.clock.set_time(t)
            bucket.append(time.perf_counter() - t0)
    print(f"Simulation.update on the demo ({len(sim.sensors)} sensors): with rules med "
          f"{statistics.median(with_rules)*1000:.1f} ms, without med "
          f"{statistics.median(without)*1000:.1f} ms "
          f"(n={len(with_rules)} each, interleaved)")
    sim.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
