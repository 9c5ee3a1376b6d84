"""Extrude + merge N building footprints three ways and compare.

(a) ours   : ``twin.meshing.extrude_polygons(...).to_polydata()`` (one vectorised pass)
(b) naive  : one ``pyvista.PolyData`` per building, ``extrude(capping=True)``,
             ``triangulate()``, then ``pyvista.merge(list)``
(c) floor  : what the raw libraries cost: ``shapely.get_coordinates`` over all
             footprints plus one ``mapbox_earcut`` call per footprint (and per
             non-convex footprint only, which is all ``extrude_polygons`` sends to earcut)

Run from the repository root::

    .venv/bin/python bench/bench_extrude.py              # 10k and 100k, ~3-4 min
    .venv/bin/python bench/bench_extrude.py --quick      # 1k and 10k, seconds
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import gc
import platform
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import mapbox_earcut
import numpy as np
import pyvista as pv
import shapely
import trimesh

sys.path.insert(0, str(Path(__file__).resolve().parent))
from footprints import City, make_city

from twin.meshing import extrude_polygons

# -- measuring ----------------------------------------------------------------------


def _status_kb(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise KeyError(key)


def _reset_peak_rss() -> bool:
    """Reset the kernel's RSS high-water mark (Linux >= 4.0); False if not allowed."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


@dataclass
class Sample:
    seconds: float
    peak_mb: float  # RSS high-water mark above the RSS at the start of the run


def _trim_heap() -> None:
    """Give freed heap pages back to the OS so the next run's RSS growth is its own."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def measure(fn: Callable[[], object]) -> tuple[Sample, object]:
    """Time one call; peak RSS growth from VmHWM (or tracemalloc if HWM can't be reset)."""
    gc.collect()
    _trim_heap()
    use_hwm = _reset_peak_rss()
    if not use_hwm:
        tracemalloc.start()
    rss0 = _status_kb("VmRSS")
    t0 = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - t0
    if use_hwm:
        peak_mb = (_status_kb("VmHWM") - rss0) / 1024
    else:
        peak_mb = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    return Sample(seconds, peak_mb), result


@dataclass
class Row:
    method: str
    n: int
    samples: list[Sample] = field(default_factory=list)
    triangles: int = 0
    note: str = ""

    @property
    def min_s(self) -> float:
        return min(s.seconds for s in self.samples)

    @property
    def median_s(self) -> float:
        return statistics.median(s.seconds for s in self.samples)

    @property
    def peak_mb(self) -> float:
        return max(s.peak_mb for s in self.samples)


def repeat(method: str, n: int, fn: Callable[[], object], runs: int, tris: Callable) -> Row:
    row = Row(method, n)
    for _ in range(runs):
        sample, result = measure(fn)
        row.samples.append(sample)
        row.triangles = tris(result)
        del result
    return row


# -- (a) ours -------------------------------------------------------------------------


def ours(city: City) -> pv.PolyData:
    return extrude_polygons(city.geoms, np.zeros(len(city)), city.heights).to_polydata()


# -- (b) naive: one PolyData per building ----------------------------------------------


def _ring_xyz(ring: shapely.LinearRing) -> np.ndarray:
    xy = np.asarray(ring.coords)[:-1]
    return np.column_stack([xy, np.zeros(len(xy))])


def naive_building(poly: shapely.Polygon, height: float) -> pv.PolyData:
    """What a pyvista user writes: footprint face -> extrude -> triangulate."""
    if not poly.interiors:
        pts = _ring_xyz(poly.exterior)
        footprint = pv.PolyData(pts, faces=[len(pts), *range(len(pts))])
    else:
        # A face can't have holes: triangulate with the rings as Delaunay constraints.
        rings = [_ring_xyz(poly.exterior)] + [_ring_xyz(r) for r in poly.interiors]
        faces, start = [], 0
        for ring in rings:
            faces += [len(ring), *range(start, start + len(ring))]
            start += len(ring)
        edges = pv.PolyData(np.vstack(rings), faces=faces)
        footprint = edges.delaunay_2d(edge_source=edges)
        solid = footprint.extrude((0.0, 0.0, float(height)), capping=True).triangulate()
        # Delaunay's winding varies and extruding a face-down footprint gives walls
        # and caps that disagree: let VTK make the solid consistent and outward.
        return solid.compute_normals(
            auto_orient_normals=True, point_normals=False, cell_normals=True
        )
    return footprint.extrude((0.0, 0.0, float(height)), capping=True).triangulate()


def naive_buildings(city: City) -> list[pv.PolyData]:
    return [naive_building(g, h) for g, h in zip(city.geoms, city.heights, strict=True)]


def naive(city: City) -> pv.PolyData:
    return pv.merge(naive_buildings(city))


# -- (c) raw-library floor ----------------------------------------------------------------


def earcut_inputs(geoms: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per footprint: (k, 2) ring points without closing points, ring end indices."""
    rings, ring_owner = shapely.get_rings(geoms, return_index=True)
    coords, point_ring = shapely.get_coordinates(rings, return_index=True)
    ring_len = np.bincount(point_ring, minlength=len(rings))
    ring_end = np.cumsum(ring_len)
    keep = np.ones(len(coords), dtype=bool)
    keep[ring_end - 1] = False  # closing point
    xy = coords[keep]
    ends = np.cumsum(ring_len - 1)
    first_ring = np.searchsorted(ring_owner, np.arange(len(geoms)))
    last_ring = np.searchsorted(ring_owner, np.arange(len(geoms)), side="right") - 1
    out = []
    for r0, r1 in zip(first_ring.tolist(), last_ring.tolist(), strict=True):
        p0 = int(ends[r0 - 1]) if r0 else 0
        p1 = int(ends[r1])
        out.append((xy[p0:p1], (ends[r0 : r1 + 1] - p0).astype(np.uint32)))
    return out


def earcut_all(inputs: list[tuple[np.ndarray, np.ndarray]]) -> int:
    n = 0
    for xy, ends in inputs:
        n += len(mapbox_earcut.triangulate_float64(xy, ends)) // 3
    return n


# -- correctness -------------------------------------------------------------------------


def signed_volume(mesh: pv.PolyData) -> float:
    """Divergence-theorem volume: wrong (not just different) if any face is inside-out."""
    p = np.asarray(mesh.points, dtype=np.float64)
    f = mesh.regular_faces
    a, b, c = p[f[:, 0]], p[f[:, 1]], p[f[:, 2]]
    return float(np.einsum("ij,ij->i", a, np.cross(b - a, c - a)).sum() / 6.0)


def volume_check(n: int, seed: int) -> dict[str, float]:
    """Total volume of ours vs naive on an n-building sample (float32 points both)."""
    city = make_city(n, seed + 1)
    expected = float((shapely.area(city.geoms) * city.heights).sum())
    a, b = ours(city), naive(city)
    vol = {
        "analytic": expected,
        "ours": trimesh.Trimesh(a.points, a.regular_faces, process=False).volume,
        "naive": trimesh.Trimesh(b.points, b.regular_faces, process=False).volume,
        # shift up so floors (z = 0) contribute: exposes inward-facing faces
        "ours_signed_z100": signed_volume(a.translate((0, 0, 100.0))),
        "naive_signed_z100": signed_volume(b.translate((0, 0, 100.0))),
    }
    vol["rel_diff"] = abs(vol["ours"] - vol["naive"]) / vol["naive"]
    per = naive_buildings(city)[:200]
    vol["naive_winding_ok"] = float(
        np.mean([trimesh.Trimesh(m.points, m.regular_faces).is_winding_consistent for m in per])
    )
    vol["ours_winding_ok"] = float(trimesh.Trimesh(a.points, a.regular_faces).is_winding_consistent)
    return vol


# -- driver ------------------------------------------------------------------------------


def bench_size(n: int, args: argparse.Namespace, naive_per_building: float | None):
    city = make_city(n, args.seed)
    rows = [repeat("ours", n, lambda: ours(city), args.runs, lambda m: m.n_cells)]

    inputs = earcut_inputs(city.geoms)
    nonconvex = [inputs[i] for i in np.flatnonzero(city.kind != "rect")]
    rows.append(
        repeat(
            "shapely.get_coordinates",
            n,
            lambda: shapely.get_coordinates(city.geoms),
            args.runs,
            lambda c: 0,
        )
    )
    rows.append(
        repeat("earcut, every footprint", n, lambda: earcut_all(inputs), args.runs, lambda t: t)
    )
    rows.append(
        repeat("earcut, non-convex only", n, lambda: earcut_all(nonconvex), args.runs, lambda t: t)
    )
    rows[-1].note = f"{len(nonconvex)} footprints"

    estimate = None if naive_per_building is None else naive_per_building * n
    if args.no_naive:
        return rows
    if estimate is not None and estimate > args.naive_budget:
        rows.append(extrapolated_naive(n, args))
    else:
        runs = args.naive_runs
        if estimate is not None:
            runs = int(max(1, min(args.naive_runs, args.naive_budget // estimate)))
        row = repeat("naive", n, lambda: naive(city), runs, lambda m: m.n_cells)
        row.note = f"{runs} run(s)"
        rows.append(row)
    return rows


def extrapolated_naive(n: int, args: argparse.Namespace) -> Row:
    """Linear fit through measured naive times at 10k and 20k buildings."""
    pts = []
    for m in (10_000, 20_000):
        city = make_city(m, args.seed)
        row = repeat("naive", m, lambda c=city: naive(c), 1, lambda x: x.n_cells)
        pts.append((m, row.min_s, row.triangles, row.peak_mb))
    (n1, t1, tri1, mb1), (n2, t2, tri2, mb2) = pts
    slope = (t2 - t1) / (n2 - n1)
    est = t1 + slope * (n - n1)
    row = Row("naive", n, [Sample(est, mb1 + (mb2 - mb1) / (n2 - n1) * (n - n1))])
    row.triangles = int(tri1 + (tri2 - tri1) / (n2 - n1) * (n - n1))
    row.note = "EXTRAPOLATED from 10k/20k"
    return row


def print_table(rows: list[Row], ours_rows: dict[int, Row]) -> None:
    print(
        "| N | method | min s | median s | runs | triangles | peak RSS MB | ours faster by | note |"
    )
    print("|" + "---|" * 9)
    for r in rows:
        base = ours_rows[r.n]
        ratio = f"{r.median_s / base.median_s:.1f}x" if r.method == "naive" else ""
        tris = f"{r.triangles:,}" if r.triangles else "-"
        print(
            f"| {r.n:,} | {r.method} | {r.min_s:.3f} | {r.median_s:.3f} | {len(r.samples)} "
            f"| {tris} | {r.peak_mb:.0f} | {ratio} | {r.note} |"
        )


def print_floor(rows: list[Row], ours_rows: dict[int, Row]) -> None:
    print("\nFraction of ours (median) that the raw libraries need:")
    by = {(r.n, r.method): r for r in rows}
    for n, base in ours_rows.items():
        coords = by[(n, "shapely.get_coordinates")].median_s
        every = by[(n, "earcut, every footprint")].median_s
        nonconvex = by[(n, "earcut, non-convex only")].median_s
        print(
            f"  N={n:,}: coords+earcut(all) = {coords + every:.3f} s "
            f"({(coords + every) / base.median_s:.0%} of ours); coords+earcut(non-convex) = "
            f"{coords + nonconvex:.3f} s ({(coords + nonconvex) / base.median_s:.0%} of ours)"
        )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    p.add_argument("--runs", type=int, default=7, help="runs of ours and of the floor")
    p.add_argument("--naive-runs", type=int, default=5, help="most runs of the naive path")
    p.add_argument(
        "--naive-budget",
        type=float,
        default=150.0,
        help="seconds one naive run may take before we extrapolate instead",
    )
    p.add_argument("--no-naive", action="store_true", help="skip the naive path (quick look)")
    p.add_argument("--check-n", type=int, default=1000, help="buildings in the volume check")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quick", action="store_true", help="sizes 1k 10k, 3 runs")
    args = p.parse_args(argv)
    if args.quick:
        args.sizes, args.runs, args.naive_runs = [1000, 10_000], 3, 2
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    t_start = time.perf_counter()
    print(
        f"python {platform.python_version()}, numpy {np.__version__}, shapely "
        f"{shapely.__version__}, pyvista {pv.__version__}, vtk {pv.vtk_version_info}"
    )
    print(f"peak RSS via {'VmHWM reset' if _reset_peak_rss() else 'tracemalloc'}")

    vol = volume_check(args.check_n, args.seed)
    ok = vol["rel_diff"] <= 1e-6
    print(
        f"\nVolume check ({args.check_n} buildings): analytic {vol['analytic']:.6e} m3, "
        f"ours {vol['ours']:.6e}, naive {vol['naive']:.6e}, rel diff {vol['rel_diff']:.2e} "
        f"-> {'PASS' if ok else 'FAIL'} (<= 1e-6)"
    )
    print(
        f"  signed volume with z+100 m (inside-out faces show up): ours "
        f"{vol['ours_signed_z100']:.6e}, naive {vol['naive_signed_z100']:.6e}"
    )
    print(
        f"  winding consistent: ours {vol['ours_winding_ok']:.0%}, "
        f"naive {vol['naive_winding_ok']:.0%} of 200 buildings"
    )

    rows: list[Row] = []
    per_building = None
    for n in sorted(args.sizes):
        size_rows = bench_size(n, args, per_building)
        if size_rows[-1].method == "naive":
            per_building = size_rows[-1].median_s / n
        rows += size_rows
        print(f"  done N={n:,} ({time.perf_counter() - t_start:.0f} s elapsed)", flush=True)
    ours_rows = {r.n: r for r in rows if r.method == "ours"}
    print()
    print_table(rows, ours_rows)
    print_floor(rows, ours_rows)
    for n, base in ours_rows.items():
        nv = next((r for r in rows if r.n == n and r.method == "naive"), None)
        if nv is None:
            continue
        verdict = "MET" if nv.median_s / base.median_s >= 20 else "MISSED"
        print(
            f"  target ours >= 20x naive at N={n:,}: {nv.median_s / base.median_s:.1f}x "
            f"-> {verdict}"
        )
    print(f"\ntotal {time.perf_counter() - t_start:.0f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
