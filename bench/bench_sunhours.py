"""Sun-hours over the bench city: 10,000 ground points x one day at 15-minute steps.

End to end (sample points, sun positions, occluder build, all shadow rays) with
the accelerator ``twin.analysis.sunhours`` picks, next to a naive per-ray Python
loop (Möller-Trumbore in numpy against every triangle) over a few rays,
extrapolated to the same ray count, in the same run.

    python bench/bench_sunhours.py [--buildings 10000] [--points 10000] [--naive-rays 40]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from footprints import make_city

from twin.analysis import sunhours as sh
from twin.features import FeatureTable
from twin.layer import Layer
from twin.meshing import extrude_polygons
from twin.scene import Scene

CRS = "EPSG:9208"
ORIGIN = [567000.0, 2358000.0, 0.0]  # Việt Trì, VN-2000 / TM-3


def city_scene(n: int, seed: int) -> tuple[Scene, float]:
    """The seeded bench city extruded into one buildings layer; and its build seconds."""
    t0 = time.perf_counter()
    city = make_city(n, seed=seed)
    tm = extrude_polygons(city.geoms, np.zeros(n), city.heights)
    poly = tm.to_polydata()
    import shapely

    b = shapely.bounds(city.geoms)
    bounds = np.column_stack([b[:, 0], b[:, 2], b[:, 1], b[:, 3], np.zeros(n), city.heights])
    feats = FeatureTable(np.arange(n).astype(str), np.full(n, "building", dtype=object),
                         np.full(n, "", dtype=object), bounds)
    scene = Scene(CRS, origin=ORIGIN, name="bench city")
    scene.add_layer(Layer("buildings", poly, feats, kind="buildings"))
    return scene, time.perf_counter() - t0


def naive_occluded(v: np.ndarray, f: np.ndarray, origin: np.ndarray, d: np.ndarray) -> bool:
    """One ray against every triangle (Möller-Trumbore), no acceleration structure."""
    a, b, c = v[f[:, 0]], v[f[:, 1]], v[f[:, 2]]
    e1, e2 = b - a, c - a
    p = np.cross(d, e2)
    det = (e1 * p).sum(axis=1)
    ok = np.abs(det) > 1e-12
    inv = np.where(ok, 1.0 / np.where(ok, det, 1.0), 0.0)
    s = origin - a
    u = (s * p).sum(axis=1) * inv
    q = np.cross(s, e1)
    w = (q @ d) * inv
    t = (e2 * q).sum(axis=1) * inv
    return bool((ok & (u >= 0) & (w >= 0) & (u + w <= 1) & (t > 1e-9)).any())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--buildings", type=int, default=10_000)
    ap.add_argument("--points", type=int, default=10_000)
    ap.add_argument("--step", type=float, default=15.0)
    ap.add_argument("--date", default="2025-06-21")
    ap.add_argument("--naive-rays", type=int, default=40)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)

    scene, build_s = city_scene(args.buildings, args.seed)
    tris = scene.layers[0].n_triangles

    t0 = time.perf_counter()
    b = scene.local_bounds()
    area = (b[1] - b[0]) * (b[3] - b[2])
    spacing = float(np.sqrt(area / (args.points * 1.6)))  # ~1.6x: buildings cover some
    grid = sh.ground_grid_detail(scene, spacing)
    rng = np.random.default_rng(args.seed)
    pick = np.sort(rng.choice(len(grid.points), size=min(args.points, len(grid.points)),
                              replace=False))
    pts, nrm = grid.points[pick], grid.normals[pick]
    t1 = time.perf_counter()
    res = sh.sun_hours_detail(scene, pts, nrm, args.date, args.step)
    t2 = time.perf_counter()
    end_to_end = t2 - t0

    # the naive baseline over a few of the same rays
    occ = sh.scene_occluders(scene)
    sun = res.sun
    dirs = sun.directions[sun.up]
    k = args.naive_rays
    ri = rng.integers(0, len(pts), k)
    rj = rng.integers(0, len(dirs), k)
    origins = pts[ri] + sh.RAY_OFFSET * nrm[ri]
    tn0 = time.perf_counter()
    naive = np.array([naive_occluded(occ.vertices, occ.faces, origins[i], dirs[rj[i]])
                      for i in range(k)])
    tn = time.perf_counter() - tn0
    fast = occ.occluded(origins, dirs[rj])
    agree = int((naive == fast).sum())
    naive_total = tn / k * res.n_rays

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"Python {platform.python_version()}")
    print(f"city: {args.buildings} buildings, {tris} triangles (built in {build_s:.2f} s)")
    print(f"points: {len(pts)} ground points (grid {spacing:.2f} m, {len(grid.points)} kept "
          f"outside buildings, in {t1 - t0:.2f} s)")
    print(f"sun: {args.date}, {len(sun.directions)} samples every {args.step:g} min, "
          f"{int(sun.up.sum())} above the horizon")
    tm = res.timings
    print(f"accelerator: {res.backend}; rays cast: {res.n_rays}")
    print(f"sun-hours: sun {tm['sun']:.3f} s, build {tm['build']:.3f} s, rays {tm['rays']:.3f} s"
          f" ({res.n_rays / max(tm['rays'], 1e-9) / 1e6:.2f} M rays/s)")
    print(f"end to end (grid + sun + build + rays): {end_to_end:.2f} s")
    print(f"naive per-ray loop: {k} rays in {tn:.2f} s ({tn / k * 1e3:.1f} ms/ray) -> "
          f"{naive_total:.0f} s for {res.n_rays} rays (x{naive_total / tm['rays']:.0f}); "
          f"agrees with the accelerator on {agree}/{k} rays")
    print(f"hours: mean {res.hours.mean():.2f}, min {res.hours.min():.2f}, "
          f"max {res.hours.max():.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
