"""Labels: frame cost with 10,000 label candidates against the unlabelled frame.

The bench city (``footprints.make_city``, 10,000 extruded buildings) is drawn
by the one ``OffscreenRenderer`` at 1280x720 and every building gets a
Vietnamese name ("Nhà 1234 Hùng Vương"). Three configurations, interleaved
frame by frame so that machine noise hits all alike:

- ``plain``: no labels;
- ``labels, moving``: labels on and the camera orbits half a degree every
  frame, so every frame re-projects 10,000 anchors, re-places and re-composes
  the label image (the worst case, dragging the view);
- ``labels, still``: labels on, camera still (a frame for a clock tick or a
  recolour): the label image is re-used.

Run from the repository root::

    .venv/bin/python bench/bench_labels.py                 # 10,000 candidates, 1280x720
    .venv/bin/python bench/bench_labels.py --n 2000 --frames 9 --png /tmp/labels.png
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from footprints import make_city

from twin.features import FeatureTable
from twin.layer import Layer
from twin.meshing import extrude_polygons
from twin.render import OffscreenRenderer, save_png, use_offscreen_gl
from twin.scene import Scene
from twin.style import Style

STREETS = ["Hùng Vương", "Trần Phú", "Nguyễn Tất Thành", "Hai Bà Trưng", "Châu Phong",
           "Nguyễn Du", "Lạc Long Quân", "Âu Cơ", "Tiên Dung", "Kim Đồng"]


def bench_scene(n: int) -> Scene:
    city = make_city(n, seed=1)
    tm = extrude_polygons(city.geoms, np.zeros(n), city.heights)
    import shapely

    b2 = shapely.bounds(city.geoms)
    bounds = np.column_stack([b2[:, 0], b2[:, 2], b2[:, 1], b2[:, 3], np.zeros(n), city.heights])
    names = np.array([f"Nhà {i} {STREETS[i % len(STREETS)]}" for i in range(n)], dtype=object)
    table = FeatureTable(np.arange(n).astype(str), np.full(n, "residential", dtype=object),
                         names, bounds, {"height": city.heights})
    layer = Layer("buildings", tm.to_polydata(), table, kind="buildings",
                  style=Style(mode="class"))
    scene = Scene(crs="EPSG:9208")
    scene.add_layer(layer)
    return scene


def orbit(r: OffscreenRenderer, step: int) -> None:
    """A 35-degree-high view of the middle of the city, turned ``step`` half degrees."""
    scene = r.scene
    b = scene.local_bounds()
    centre = np.array([(b[0] + b[1]) / 2, (b[2] + b[3]) / 2, 0.0])
    radius = 0.35 * max(b[1] - b[0], b[3] - b[2])
    az = np.radians(30.0 + 0.5 * step)
    el = np.radians(35.0)
    cam = r.plotter.camera
    cam.focal_point = tuple(centre)
    cam.position = tuple(centre + radius * np.array(
        [np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)]))
    cam.up = (0.0, 0.0, 1.0)
    cam.view_angle = 40.0


def timed_frame(r: OffscreenRenderer) -> tuple[float, float]:
    """(wall, CPU) seconds of one drained frame. CPU time counts this process's
    threads only (llvmpipe renders in them), so it holds on a shared, loaded
    machine where wall time does not."""
    t0, c0 = time.perf_counter(), time.process_time()
    r.ren_win.Render()
    r.ren_win.WaitForCompletion()
    return time.perf_counter() - t0, time.process_time() - c0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=10_000, help="buildings = label candidates")
    ap.add_argument("--size", default="1280x720")
    ap.add_argument("--frames", type=int, default=15)
    ap.add_argument("--png", type=Path, help="save a labelled frame here")
    args = ap.parse_args()
    w, h = (int(v) for v in args.size.split("x"))
    use_offscreen_gl()
    scene = bench_scene(args.n)
    layer = scene.layers[0]
    times: dict[str, list[tuple[float, float]]] = {
        "plain": [], "labels, moving": [], "labels, still": []}
    place_s: list[float] = []
    with OffscreenRenderer(scene, (w, h), simulation=None) as r:
        gl = r.renderer_info()
        orbit(r, 0)
        layer.style.label = "name"
        t0 = time.perf_counter()
        r.frame()  # warm-up: measures the 10,000 texts once, uploads buffers
        first = time.perf_counter() - t0
        for i in range(1, args.frames + 1):
            layer.style.label = None
            orbit(r, i)
            times["plain"].append(timed_frame(r))
            layer.style.label = "name"
            orbit(r, i + 0.5)
            times["labels, moving"].append(timed_frame(r))
            place_s.append(r.view.labels.last_s)
            times["labels, still"].append(timed_frame(r))
        shown = len(r.view.labels.placed.texts)
        if args.png:
            save_png(r.frame(), args.png)
    def med(name: str, i: int) -> float:
        return statistics.median(t[i] for t in times[name])

    print(f"{args.n:,} candidates, {w}x{h}, GL {gl}; first labelled frame {first * 1e3:.0f} ms "
          f"(measures every text once); {shown} labels shown; median of {args.frames} frames")
    print("| frame | wall ms | x plain | CPU ms | x plain |")
    print("|---|---|---|---|---|")
    for name in times:
        print(f"| {name} | {med(name, 0) * 1e3:.1f} | {med(name, 0) / med('plain', 0):.2f} "
              f"| {med(name, 1) * 1e3:.1f} | {med(name, 1) / med('plain', 1):.2f} |")
    print(f"placement + composition per moving frame: median {statistics.median(place_s) * 1e3:.1f}"
          f" ms")


if __name__ == "__main__":
    main()
