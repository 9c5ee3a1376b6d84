"""Picking on the 100k-building bench city: ``twin.render.picking`` vs ``vtkCellPicker``.

The city is ``footprints.make_city(N)`` extruded by ``twin.meshing`` into one
merged PolyData (100k buildings: 1,377,852 triangles), drawn as one actor the
way ``SceneView`` draws a layer (``add_mesh`` with a per-cell ``rgb`` array), plus
a street centre-line layer (one 2-point line per block side, drawn as tubes).
Measured, in one run:

- locator build: ``BuildLocator`` in this thread (VTK's Sequential SMP backend,
  then STDThread), :meth:`LocatorCache.prebuild_async` (wall time and the longest
  stall of a 1 ms ticker in the main thread while it builds) and, for contrast,
  ``BuildLocator`` called from a plain Python thread;
- warm picks through :func:`pick_ray` at random pixels of two views (the whole
  city at 35 degrees, a district from 800 m), split into hits, misses whose ray
  crosses the city and misses into the sky (median / p95);
- the same clicks through ``vtkCellPicker`` with ``AddLocator`` on the object the
  mapper draws (every click; the answers are compared), through ``vtkCellPicker``
  with no locator (brute force) and with the locator on the layer mesh, which
  the mapper does not draw (what ``SceneView.pick`` did), on a few clicks;
- the street lines: grid build and warm picks with a 4 px tolerance.

Run from the repository root (about 1-2 minutes on the 2-core VM)::

    .venv/bin/python bench/bench_pick.py [--n 100000] [--clicks 200] [--append]
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT))
os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")

import pyvista as pv  # noqa: E402
from footprints import LOT, LOTS_PER_BLOCK, STREET, City, make_city  # noqa: E402
from machine import cpu_model  # noqa: E402
from vtkmodules.vtkCommonCore import vtkSMPTools, vtkVersion  # noqa: E402
from vtkmodules.vtkCommonDataModel import vtkStaticCellLocator  # noqa: E402
from vtkmodules.vtkRenderingCore import vtkCellPicker  # noqa: E402

from twin.meshing import extrude_polygons  # noqa: E402
from twin.render import picking  # noqa: E402

SIZE = (1280, 720)
LINE_TOLERANCE_PX = 4.0


@dataclass
class Clicks:
    """Per-click timings (ms) of one picker over one view, by outcome."""

    hit: list[float] = field(default_factory=list)
    through: list[float] = field(default_factory=list)  # miss, ray crosses the data
    sky: list[float] = field(default_factory=list)  # miss, ray never enters the bounds

    def add(self, kind: str, ms: float) -> None:
        getattr(self, kind).append(ms)

    def cell(self, kind: str) -> str:
        v = getattr(self, kind)
        if not v:
            return "-"
        return f"{np.median(v):.3f} / {np.percentile(v, 95):.3f} ({len(v)})"


def build_city(n: int, seed: int) -> tuple[City, pv.PolyData]:
    city = make_city(n, seed)
    poly = extrude_polygons(city.geoms, np.zeros(n), city.heights).to_polydata()
    rng = np.random.default_rng(seed)
    poly.cell_data["rgb"] = rng.integers(90, 230, (poly.n_cells, 3), dtype=np.uint8)
    return city, poly


def street_lines(n: int) -> pv.PolyData:
    """Centre lines of the streets around the city blocks of ``footprints.lot_centres``."""
    bx, by = LOTS_PER_BLOCK
    n_blocks = -(-n // (bx * by))
    blocks_x = math.ceil(math.sqrt(n_blocks))
    blocks_y = -(-n_blocks // blocks_x)
    pitch_x, pitch_y = bx * LOT + STREET, by * LOT + STREET
    xs = np.arange(blocks_x + 1) * pitch_x - STREET / 2
    ys = np.arange(blocks_y + 1) * pitch_y - STREET / 2
    gx, gy = np.meshgrid(xs, ys, indexing="ij")  # (nx, ny) street crossings
    pts = np.column_stack([gx.ravel(), gy.ravel(), np.full(gx.size, 0.3)])
    idx = np.arange(gx.size).reshape(gx.shape)
    pairs = np.vstack(
        [
            np.column_stack([idx[:, :-1].ravel(), idx[:, 1:].ravel()]),  # along y
            np.column_stack([idx[:-1, :].ravel(), idx[1:, :].ravel()]),  # along x
        ]
    )
    cells = np.column_stack([np.full(len(pairs), 2), pairs]).ravel()
    return pv.PolyData(pts, lines=cells)


def set_view(plotter, city: City, name: str) -> None:
    xmin, ymin, xmax, ymax = city.bounds
    centre = np.array([(xmin + xmax) / 2, (ymin + ymax) / 2, 0.0])
    radius = 1.3 * max(xmax - xmin, ymax - ymin) if name == "city" else 800.0
    az, el = np.radians(45.0), np.radians(35.0)
    offset = radius * np.array([np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)])
    cam = plotter.camera
    cam.focal_point = tuple(centre)
    cam.position = tuple(centre + offset)
    cam.up = (0.0, 0.0, 1.0)
    cam.view_angle = 30.0
    plotter.renderer.ResetCameraClippingRange()


def timed(fn, *args, **kwargs):
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return (time.perf_counter() - t0) * 1e3, out


def to_display(renderer, pts: np.ndarray) -> np.ndarray:
    """(n, 2) display coordinates of world points (nan behind the camera)."""
    cam = renderer.GetActiveCamera()
    m = cam.GetCompositeProjectionTransformMatrix(renderer.GetTiledAspectRatio(), -1, 1)
    mat = np.array([[m.GetElement(i, j) for j in range(4)] for i in range(4)])
    h = np.column_stack([pts, np.ones(len(pts))]) @ mat.T
    ndc = h[:, :2] / h[:, 3:]
    ndc[h[:, 3] <= 0] = np.nan
    w, hgt = renderer.GetSize()
    x0, y0 = renderer.GetOrigin()
    return np.column_stack([(ndc[:, 0] + 1) / 2 * w + x0, (ndc[:, 1] + 1) / 2 * hgt + y0])


def ticker_stall(start: Callable[[], threading.Thread]) -> tuple[float, float]:
    """(wall ms, longest gap ms) of a 1 ms sleep loop in this thread while the thread
    that ``start`` starts runs: how long a GUI event loop would have been frozen.
    The clock starts before the thread does: it may take the GIL at once."""
    gaps, t0 = [0.0], time.perf_counter()
    last = t0
    thread = start()
    while thread.is_alive():
        time.sleep(0.001)
        now = time.perf_counter()
        gaps.append(now - last)
        last = now
    thread.join()
    return (time.perf_counter() - t0) * 1e3, max(gaps) * 1e3


def bench_builds(poly: pv.PolyData) -> dict[str, float]:
    out: dict[str, float] = {}
    for backend in ("Sequential", "STDThread"):
        vtkSMPTools.SetBackend(backend)
        best = math.inf
        for _ in range(3):
            loc = vtkStaticCellLocator()
            loc.SetDataSet(poly)
            ms, _ = timed(loc.BuildLocator)
            best = min(best, ms)
        out[f"BuildLocator, this thread, SMP {backend} (min of 3)"] = best
    vtkSMPTools.SetBackend("Sequential")
    # a plain Python thread: BuildLocator keeps the GIL
    loc = vtkStaticCellLocator()
    loc.SetDataSet(poly)

    def plain_thread() -> threading.Thread:
        th = threading.Thread(target=loc.BuildLocator)
        th.start()
        return th

    wall, stall = ticker_stall(plain_thread)
    out["BuildLocator in a Python thread: wall"] = wall
    out["BuildLocator in a Python thread: GUI-thread stall"] = stall
    cache = picking.LocatorCache()
    before = picking.stats.background_builds
    wall, stall = ticker_stall(lambda: cache.prebuild_async([poly]))
    out["LocatorCache.prebuild_async: wall"] = wall
    out["LocatorCache.prebuild_async: GUI-thread stall"] = stall
    out["prebuild_async built without the GIL (1 = yes)"] = picking.stats.background_builds - before
    ms, _ = timed(picking.LocatorCache().prebuild, [poly])
    out["LocatorCache.prebuild (sync, incl. BuildCells)"] = ms
    return out


def classify(renderer, x: float, y: float, bounds) -> str:
    """'sky' when the click ray never enters ``bounds``."""
    near, far, _, _ = picking.view_ray(renderer, x, y)
    lo = np.array(bounds[0::2])
    hi = np.array(bounds[1::2])
    t0, t1 = picking._clip_to_box(near, far - near, lo, hi, 0.0, 1.0)
    return "sky" if t1 < t0 else "through"


def same(h, ref, near: np.ndarray) -> bool:
    """Same answer: both miss, same cell, or same distance within 1e-6 relative."""
    if h is None or ref is None:
        return h is None and ref is None
    if h.cell_id == ref[0]:
        return True
    d_ref = float(np.linalg.norm(np.asarray(ref[1]) - near))
    return abs(h.distance - d_ref) <= 1e-6 * max(d_ref, 1.0)


def vtk_pick(picker: vtkCellPicker, renderer, x: float, y: float):
    if picker.Pick(x, y, 0, renderer) and picker.GetCellId() >= 0:
        return picker.GetCellId(), picker.GetPickPosition()
    return None


def bench_views(plotter, actor, poly, city, cache, args) -> tuple[dict, int, int]:
    """Per view: {picker label: Clicks}; plus mismatches and compared clicks."""
    renderer = plotter.renderer
    drawn = actor.GetMapper().GetInput()
    loc_drawn = vtkStaticCellLocator()
    loc_drawn.SetDataSet(drawn)
    loc_drawn.BuildLocator()
    loc_mesh = vtkStaticCellLocator()  # on the layer mesh, as SceneView._locator did
    loc_mesh.SetDataSet(poly)
    loc_mesh.BuildLocator()

    def picker(locator=None):
        p = vtkCellPicker()
        p.SetTolerance(1e-9)  # VTK drops hits on the locator bounds with 0
        p.PickFromListOn()
        p.AddPickList(actor)
        if locator is not None:
            p.AddLocator(locator)
        return p

    with_loc, brute, stale = picker(loc_drawn), picker(), picker(loc_mesh)
    results, mismatches, compared = {}, 0, 0
    rng = np.random.default_rng(args.seed)
    for view in ("city", "district"):
        set_view(plotter, city, view)
        plotter.render()
        rows = {k: Clicks() for k in ("ours", "with_loc", "brute", "stale")}
        xs = rng.uniform(0, SIZE[0] - 1, args.clicks)
        ys = rng.uniform(0, SIZE[1] - 1, args.clicks)
        for i, (x, y) in enumerate(zip(xs, ys, strict=True)):
            ms, hit = timed(picking.pick_ray, renderer, x, y, [(actor, poly)], cache=cache)
            kind = "hit" if hit is not None else classify(renderer, x, y, poly.bounds)
            rows["ours"].add(kind, ms)
            ms, ref = timed(vtk_pick, with_loc, renderer, x, y)
            rows["with_loc"].add(kind, ms)
            near = picking.view_ray(renderer, x, y)[0]
            compared += 1
            mismatches += not same(hit, ref, near)
            if i < args.brute_clicks:
                ms, ref = timed(vtk_pick, brute, renderer, x, y)
                rows["brute"].add(kind, ms)
                mismatches += not same(hit, ref, near)
                compared += 1
                ms, _ = timed(vtk_pick, stale, renderer, x, y)
                rows["stale"].add(kind, ms)
        results[view] = rows
    return results, mismatches, compared


def bench_lines(plotter, lines_actor, lines, city, cache, args) -> tuple[float, dict, dict]:
    renderer = plotter.renderer
    ms_build, _ = timed(cache.prebuild, [lines])
    out, brute_ms = {}, {}
    rng = np.random.default_rng(args.seed + 1)
    a = lines.points[lines.lines.reshape(-1, 3)[:, 1]]
    b = lines.points[lines.lines.reshape(-1, 3)[:, 2]]
    brute = vtkCellPicker()
    brute.PickFromListOn()
    brute.AddPickList(lines_actor)
    brute.SetTolerance(LINE_TOLERANCE_PX / math.hypot(*SIZE))
    for view in ("city", "district"):
        set_view(plotter, city, view)
        plotter.render()
        row = Clicks()
        mid = to_display(renderer, (a + b) / 2)
        seen = np.flatnonzero(
            (mid[:, 0] >= 0) & (mid[:, 0] < SIZE[0]) & (mid[:, 1] >= 0) & (mid[:, 1] < SIZE[1])
        )
        seg = rng.choice(seen, args.clicks)
        f = rng.uniform(0, 1, args.clicks)[:, None]
        on_street = to_display(renderer, a[seg] + f * (b[seg] - a[seg]))
        clicks = on_street + rng.uniform(-8, 8, on_street.shape)
        times_brute = []
        for i, (x, y) in enumerate(clicks):
            if not (0 <= x < SIZE[0] and 0 <= y < SIZE[1]):
                continue
            ms, hit = timed(
                picking.pick_ray,
                renderer,
                x,
                y,
                [(lines_actor, lines)],
                LINE_TOLERANCE_PX,
                cache=cache,
            )
            row.add("hit" if hit is not None else "through", ms)
            if i < args.brute_clicks:
                times_brute.append(timed(vtk_pick, brute, renderer, x, y)[0])
        out[view] = row
        brute_ms[view] = float(np.median(times_brute)) if times_brute else math.nan
    return ms_build, out, brute_ms


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=100_000, help="buildings")
    p.add_argument("--clicks", type=int, default=200, help="random clicks per view")
    p.add_argument("--brute-clicks", type=int, default=8, help="of which also through brute force")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--append", action="store_true", help="append the results to RESULTS.md")
    args = p.parse_args(argv)
    t_start = time.perf_counter()

    ms_city, (city, poly) = timed(build_city, args.n, args.seed)
    lines = street_lines(args.n)
    print(
        f"city: {args.n:,} buildings, {poly.n_cells:,} triangles, {poly.n_points:,} points "
        f"({ms_city / 1e3:.1f} s); streets: {lines.n_cells:,} line cells"
    )
    builds = bench_builds(poly)
    for k, v in builds.items():
        print(f"  {k}: {v:.1f}")

    plotter = pv.Plotter(off_screen=True, window_size=list(SIZE))
    actor = plotter.add_mesh(
        poly, scalars="rgb", rgb=True, smooth_shading=False, reset_camera=False, render=False
    )
    lines_actor = plotter.add_mesh(
        lines, color="#444444", line_width=4, render_lines_as_tubes=True, reset_camera=False
    )
    set_view(plotter, city, "city")
    plotter.render()  # the mapper's input is filled by the first render
    cache = picking.LocatorCache()
    cache.prebuild([poly])
    picking.stats.reset()
    views, mismatches, compared = bench_views(plotter, actor, poly, city, cache, args)
    surface_stats = str(picking.stats)
    ms_grid, line_views, line_brute = bench_lines(plotter, lines_actor, lines, city, cache, args)
    plotter.close()

    head = "| view | picker | hit ms | miss (ray crosses the city) ms | miss (sky) ms |"
    rows = [head, "|---|---|---|---|---|"]
    labels = {
        "ours": "`pick_ray` (static cell locator, cached)",
        "with_loc": "`vtkCellPicker` + `AddLocator` (locator on the mapper's input)",
        "brute": "`vtkCellPicker`, no locator (brute force)",
        "stale": "`vtkCellPicker` + locator on the layer mesh (old `SceneView.pick`)",
    }
    for view, by in views.items():
        for key, label in labels.items():
            c = by[key]
            rows.append(
                f"| {view} | {label} | {c.cell('hit')} | {c.cell('through')} | {c.cell('sky')} |"
            )
    line_rows = ["| view | hit ms | miss ms | `vtkCellPicker` brute force, median ms |"]
    line_rows.append("|---|---|---|---|")
    for view, c in line_views.items():
        line_rows.append(
            f"| {view} | {c.cell('hit')} | {c.cell('through')} | {line_brute[view]:.1f} |"
        )
    warm = [
        np.median(getattr(views[v]["ours"], k))
        for v in views
        for k in ("hit", "through")
        if getattr(views[v]["ours"], k)
    ]
    verdict = "MET" if max(warm) <= 1.0 else "MISSED"
    build_rows = ["| build | ms |", "|---|---|"]
    build_rows += [f"| {k} | {v:.1f} |" for k, v in builds.items()]
    build_rows.append(f"| `SegmentGrid` of the {lines.n_cells:,} street lines | {ms_grid:.1f} |")
    summary = (
        f"Cells are median / p95 (clicks). Answers compared with `vtkCellPicker` on "
        f"{compared} clicks: {mismatches} differ (same cell, or same distance within "
        f"1e-6 relative, counts as equal). Warm pick target <= 1 ms, hit or miss: "
        f"{verdict} (worst median {max(warm):.3f} ms). Counters after the surface "
        f"clicks: `{surface_stats}`."
    )
    text = "\n".join(
        [
            *build_rows,
            "",
            *rows,
            "",
            f"Street centre lines, `pick_ray` with a {LINE_TOLERANCE_PX:g} px tolerance "
            "(clicks within +-8 px of a random point on a street):",
            "",
            *line_rows,
            "",
            summary,
        ]
    )
    print()
    print(text)
    print(f"\ntotal {time.perf_counter() - t_start:.0f} s")
    if args.append:
        cmd = " ".join([".venv/bin/python", "bench/bench_pick.py", *(argv or sys.argv[1:])])
        with open(ROOT / "bench" / "RESULTS.md", "a", encoding="utf-8") as fh:
            fh.write(
                f"\n## Picking (`bench_pick.py`, {time.strftime('%Y-%m-%d')})\n\n"
                f"`{cmd}`: {args.n:,} buildings = {poly.n_cells:,} triangles in one actor, "
                f"{SIZE[0]}x{SIZE[1]}, {args.clicks} random clicks per view; "
                f"{cpu_model()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
                f"VTK {vtkVersion.GetVTKVersion()}.\n\n{text}\n"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
