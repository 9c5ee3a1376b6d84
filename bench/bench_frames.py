"""Frame time: one merged actor (``twin.render.SceneView``) vs one actor per building.

Both scenes hold the same N extruded buildings with the same colours, are drawn
offscreen (EGL) at the same size and follow the same fixed camera orbit. For
each we report build time (meshes, then actors), the first frame (which uploads
the buffers) and the median / p95 / min of the orbit frames. A frame is
``render_window.Render()`` followed by ``WaitForCompletion()`` (glFinish), so
asynchronous GL work is inside the timing.

Run from the repository root::

    .venv/bin/python bench/bench_frames.py                      # 10k buildings, 1280x720
    .venv/bin/python bench/bench_frames.py --n 2000 --size 640x360
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_extrude import naive_building
from footprints import City, make_city

from twin.features import FeatureTable
from twin.layer import Layer
from twin.meshing import extrude_polygons
from twin.render import BACKGROUND_BOTTOM, BACKGROUND_TOP, SceneView, save_png, use_offscreen_gl
from twin.scene import Scene
from twin.style import Style, feature_colors

CRS = "EPSG:32648"  # UTM 48N; the scene is local metres anyway
CLASSES = ["residential", "shophouse", "apartment", "office", "commercial", "school"]
CLASS_P = [0.45, 0.2, 0.12, 0.1, 0.1, 0.03]


@dataclass
class Result:
    label: str
    actors: int
    triangles: int
    build_s: dict[str, float] = field(default_factory=dict)
    first_frame_s: float = 0.0
    frames_s: list[float] = field(default_factory=list)
    note: str = ""
    msaa: int = 0
    image: np.ndarray | None = None

    def pct(self, q: float) -> float:
        return float(np.percentile(self.frames_s, q)) * 1e3


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def frame(plotter) -> float:
    """One full frame, GL pipeline drained."""
    win = plotter.render_window
    t0 = time.perf_counter()
    win.Render()
    win.WaitForCompletion()
    return time.perf_counter() - t0


def orbit(plotter, city: City, i: int, count: int) -> None:
    """Camera ``i`` of ``count`` on a 35-degree-high circle around the city."""
    xmin, ymin, xmax, ymax = city.bounds
    centre = np.array([(xmin + xmax) / 2, (ymin + ymax) / 2, 0.0])
    radius = 1.3 * max(xmax - xmin, ymax - ymin)
    az = 2 * np.pi * i / count
    el = np.radians(35.0)
    offset = radius * np.array([np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)])
    cam = plotter.camera
    cam.focal_point = tuple(centre)
    cam.position = tuple(centre + offset)
    cam.up = (0.0, 0.0, 1.0)
    cam.view_angle = 30.0
    plotter.reset_camera_clipping_range()


def classes_for(city: City, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.choice(np.array(CLASSES, dtype=object), size=len(city), p=CLASS_P)


def new_plotter(size: tuple[int, int], msaa: int | None):
    """A plotter as the app makes one; ``msaa`` overrides pyvista's multisampling."""
    import pyvista as pv

    plotter = pv.Plotter(off_screen=True, window_size=list(size))
    plotter.set_background(BACKGROUND_BOTTOM, top=BACKGROUND_TOP)
    if msaa is not None:
        plotter.render_window.SetMultiSamples(msaa)
    return plotter


# -- the two scenes -------------------------------------------------------------------


def build_merged(city: City, classes: np.ndarray, args: argparse.Namespace) -> tuple:
    res = Result("merged (1 actor, SceneView)", 1, 0)
    n = len(city)

    def mesh():
        tm = extrude_polygons(city.geoms, np.zeros(n), city.heights)
        return tm, tm.to_polydata()

    res.build_s["meshes"], (_tm, poly) = timed(mesh)

    def scene_and_actor():
        feats = FeatureTable(
            ids=np.arange(n).astype(str),
            classes=classes,
            names=np.full(n, "", dtype=object),
            bounds=_bounds(city),
            attributes={"height": city.heights},
        )
        scene = Scene(CRS)
        scene.add_layer(Layer("buildings", poly, feats, kind="buildings"))
        plotter = new_plotter(args.size, args.msaa)
        view = SceneView(scene, plotter, ground=False)
        return plotter, view

    res.build_s["actors"], (plotter, view) = timed(scene_and_actor)
    res.triangles = int(poly.n_cells)
    return res, plotter, view


def _bounds(city: City) -> np.ndarray:
    b = shapely.bounds(city.geoms)  # xmin, ymin, xmax, ymax
    z = np.zeros(len(city))
    return np.column_stack([b[:, 0], b[:, 2], b[:, 1], b[:, 3], z, city.heights])


def build_separate(city: City, classes: np.ndarray, args: argparse.Namespace) -> tuple:
    res = Result("separate (1 actor per building)", len(city), 0)
    res.build_s["meshes"], meshes = timed(
        lambda: [naive_building(g, h) for g, h in zip(city.geoms, city.heights, strict=True)]
    )
    table = FeatureTable(np.arange(len(city)).astype(str), classes, classes, _bounds(city))
    colors = feature_colors(table, Style())

    def actors():
        plotter = new_plotter(args.size, args.msaa)
        for mesh, rgb in zip(meshes, colors, strict=True):
            plotter.add_mesh(
                mesh,
                color=tuple(int(c) for c in rgb),
                reset_camera=False,
                smooth_shading=False,
                pickable=True,
            )
        return plotter

    res.build_s["actors"], plotter = timed(actors)
    res.triangles = int(sum(m.n_cells for m in meshes))
    return res, plotter


# -- timing ----------------------------------------------------------------------------


def run_frames(res: Result, plotter, city: City, args: argparse.Namespace) -> None:
    orbit(plotter, city, 0, args.frames)
    res.first_frame_s = frame(plotter)
    res.msaa = plotter.render_window.GetMultiSamples()
    warm = [frame(plotter) for _ in range(args.warmup)]
    count = args.frames
    per = statistics.median(warm) if warm else res.first_frame_s
    if per * count > args.budget:
        count = max(5, int(args.budget / per))
        res.note = f"only {count} frames: ~{per:.2f} s/frame over the {args.budget:.0f} s budget"
    for i in range(count):
        orbit(plotter, city, i, count)
        res.frames_s.append(frame(plotter))
    orbit(plotter, city, 1, 8)
    plotter.render_window.Render()
    res.image = np.asarray(plotter.screenshot(return_img=True))[:, :, :3].copy()


def gl_renderer(plotter) -> str:
    report = plotter.render_window.ReportCapabilities()
    for line in report.splitlines():
        if "renderer string" in line.lower():
            return line.split(":", 1)[1].strip()
    return report.splitlines()[0] if report else "unknown"


def print_results(results: list[Result], args: argparse.Namespace) -> None:
    print(
        f"\n{args.n:,} buildings, {args.size[0]}x{args.size[1]}, orbit of {args.frames} frames, "
        f"MSAA samples {results[0].msaa}/{results[1].msaa} (merged/separate)"
    )
    print(
        "| scene | actors | triangles | build meshes s | build actors s | first frame s "
        "| frames | median ms | p95 ms | min ms | fps (median) |"
    )
    print("|" + "---|" * 11)
    for r in results:
        med = r.pct(50)
        print(
            f"| {r.label} | {r.actors:,} | {r.triangles:,} | {r.build_s['meshes']:.2f} "
            f"| {r.build_s['actors']:.2f} | {r.first_frame_s:.2f} | {len(r.frames_s)} "
            f"| {med:.1f} | {r.pct(95):.1f} | {min(r.frames_s) * 1e3:.1f} | {1e3 / med:.1f} |"
        )
    for r in results:
        if r.note:
            print(f"  note ({r.label}): {r.note}")
    merged, separate = results
    ratio = separate.pct(50) / merged.pct(50)
    verdict = "MET" if ratio >= 50 else "MISSED"
    print(f"  merged frames faster by {ratio:.1f}x (median) -> target >= 50x {verdict}")
    build = sum(separate.build_s.values()) + separate.first_frame_s
    build_m = sum(merged.build_s.values()) + merged.first_frame_s
    print(
        f"  build + first frame: merged {build_m:.2f} s, separate {build:.2f} s "
        f"({build / build_m:.0f}x)"
    )
    diff = np.abs(merged.image.astype(int) - separate.image.astype(int))
    print(
        f"  same picture? mean |diff| {diff.mean():.2f}/255, "
        f"pixels off by > 16: {(diff.max(axis=2) > 16).mean():.2%}"
    )


def parse_size(text: str) -> tuple[int, int]:
    w, h = text.lower().split("x")
    return int(w), int(h)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=10_000, help="buildings")
    p.add_argument("--size", type=parse_size, default=(1280, 720), help="WxH pixels")
    p.add_argument("--frames", type=int, default=24, help="frames in the orbit (>= 20)")
    p.add_argument("--warmup", type=int, default=3, help="untimed frames after the first")
    p.add_argument(
        "--budget", type=float, default=60.0, help="seconds of orbit per scene before cutting"
    )
    p.add_argument(
        "--msaa", type=int, help="multisamples (default: pyvista's theme; 0 turns MSAA off)"
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--png-dir", type=Path, help="save the last frame of each scene here")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    use_offscreen_gl()
    t_start = time.perf_counter()
    city = make_city(args.n, args.seed)
    classes = classes_for(city, args.seed)
    # The first plotter of a process pays for EGL/Mesa start-up: keep it out of both builds.
    gl_init_s, first = timed(lambda: new_plotter(args.size, args.msaa))
    first.close()
    print(f"GL start-up (first plotter, not counted below): {gl_init_s:.2f} s")
    results = []
    res, plotter, _view = build_merged(city, classes, args)
    run_frames(res, plotter, city, args)
    renderer = gl_renderer(plotter)
    plotter.close()
    results.append(res)
    print(f"merged done ({time.perf_counter() - t_start:.0f} s)", flush=True)
    res, plotter = build_separate(city, classes, args)
    run_frames(res, plotter, city, args)
    plotter.close()
    results.append(res)
    print(f"GL renderer: {renderer}")
    print_results(results, args)
    if args.png_dir:
        args.png_dir.mkdir(parents=True, exist_ok=True)
        for r, name in zip(results, ("merged", "separate"), strict=True):
            save_png(r.image, args.png_dir / f"frames_{name}.png")
    print(f"total {time.perf_counter() - t_start:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
