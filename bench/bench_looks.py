"""Frame time of each look (``twin.render.looks``) as a ratio to the plain frame.

The pilot district (``scenes/viet_tri.toml``) is drawn offscreen at 1280x720
from the "overview" bookmark, orbiting half a degree a frame. The
configurations alternate in one run (plain, ao, plain, edges, ...) in rounds of
three timed frames after one untimed frame (a look switch reallocates its
framebuffers), 15 timed frames each; we report the medians and the ratios to
plain. The pilot has no point cloud, so the eye-dome pass is forced on for its
row: it is what a scene with one pays.

Run from the repository root::

    .venv/bin/python bench/bench_looks.py                # prints the table
    .venv/bin/python bench/bench_looks.py --append       # and appends it to bench/RESULTS.md
    .venv/bin/python bench/bench_looks.py --png out.png  # plain | all looks, side by side
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import importers  # noqa: E402
from twin.render import OffscreenRenderer, save_png  # noqa: E402
from twin.render import looks as lk  # noqa: E402

CONFIGS: dict[str, lk.LookOptions] = {
    "ambient_occlusion": lk.LookOptions(ambient_occlusion=True),
    "edges": lk.LookOptions(edges=True),
    "eye_dome": lk.LookOptions(eye_dome=True),
    "all": lk.LookOptions.all(),
}


def set_looks(r: OffscreenRenderer, name: str) -> None:
    """Apply one configuration; the eye-dome pass is forced (no cloud in the pilot)."""
    lk.remove_looks(r.view)
    lk._set_eye_dome(r.view, False)
    if name == "plain":
        return
    lk.apply_looks(r.view, CONFIGS[name])
    if CONFIGS[name].eye_dome:
        lk._set_eye_dome(r.view, True)


def measure(r: OffscreenRenderer, frames: int, per_round: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {"plain": [], **{k: [] for k in CONFIGS}}
    order = [x for name in CONFIGS for x in ("plain", name)]
    cam = r.plotter.camera
    step = 0
    while min(len(v) for v in times.values()) < frames:
        for name in order:
            if len(times[name]) >= frames:
                continue
            set_looks(r, name)
            r.frame()  # untimed: the switch's framebuffers
            for _ in range(per_round):
                cam.Azimuth(0.5)
                step += 1
                t0 = time.perf_counter()
                r.frame()
                times[name].append(time.perf_counter() - t0)
    set_looks(r, "plain")
    return times


def table(times: dict[str, list[float]]) -> str:
    plain = statistics.median(times["plain"])
    rows = ["| looks | median ms | x plain |", "|---|---|---|"]
    for name, t in times.items():
        med = statistics.median(t)
        rows.append(f"| {name} | {med * 1e3:.1f} | {med / plain:.2f} |")
    return "\n".join(rows)


def side_by_side(r: OffscreenRenderer, path: Path) -> None:
    r.view.apply_bookmark("overview")
    set_looks(r, "plain")
    plain = r.frame()
    set_looks(r, "all")
    looks = r.frame()
    set_looks(r, "plain")
    gap = np.full((plain.shape[0], 8, 3), 255, np.uint8)
    save_png(np.concatenate([plain, gap, looks], axis=1), path)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scene", default=str(ROOT / "scenes" / "viet_tri.toml"))
    ap.add_argument("--size", default="1280x720")
    ap.add_argument("--frames", type=int, default=15)
    ap.add_argument("--per-round", type=int, default=3)
    ap.add_argument("--append", action="store_true", help="append to bench/RESULTS.md")
    ap.add_argument("--png", help="save plain | all looks side by side here")
    args = ap.parse_args()
    w, h = (int(v) for v in args.size.lower().split("x"))
    scene = importers.open_scene(args.scene)
    with OffscreenRenderer(scene, (w, h), simulation=None) as r:
        gl = r.renderer_info()
        r.view.apply_bookmark("overview")
        r.frame()
        times = measure(r, args.frames, args.per_round)
        if args.png:
            side_by_side(r, Path(args.png))
    text = table(times)
    radius, bias, kernel = (None, None, None)
    with OffscreenRenderer(scene, (64, 64), simulation=None) as r:
        radius, bias, kernel = lk.ssao_parameters(r.view)
    print(f"GL: {gl}; {w}x{h}, {args.frames} frames each, interleaved")
    print(f"SSAO radius {radius:.2f} m, bias {bias:.3f} m, kernel {kernel}")
    print(text)
    if args.append:
        cmd = "python bench/bench_looks.py " + " ".join(sys.argv[1:])
        with open(ROOT / "bench" / "RESULTS.md", "a", encoding="utf-8") as f:
            f.write(
                f"\n## Looks: frame cost of each option ({dt.date.today().isoformat()})\n\n"
                f'`{cmd.strip()}` — pilot district, "overview", {w}x{h}, GL `{gl}`, '
                f"median of {args.frames} orbiting frames per configuration, interleaved "
                f"in one run. SSAO radius {radius:.2f} m, kernel {kernel}; eye-dome "
                f"forced on (no point cloud in the pilot).\n\n{text}\n"
            )


if __name__ == "__main__":
    main()
