"""Frame cost of the sun's shadows on this machine's GL, in one interleaved run.

The pilot district (``scenes/viet_tri.toml``) drawn offscreen at 1280x720 from
the "overview" bookmark, orbiting half a degree a frame, at 2025-06-21 16:00
+07:00. Configurations alternate (plain light kit, sun, sun + shadows 2048,
sun + shadows 1024) in rounds of ``--per-round`` timed frames after one
untimed frame (a switch bakes new maps); we report medians and ratios to plain.

Run from the repository root::

    .venv/bin/python bench/bench_shadows.py            # prints the table
    .venv/bin/python bench/bench_shadows.py --append   # and appends it to bench/RESULTS.md
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import importers  # noqa: E402
from twin.render import OffscreenRenderer  # noqa: E402
from twin.render.lighting import SunLight, set_shadows  # noqa: E402
from twin.sun import ICT  # noqa: E402

WHEN = dt.datetime(2025, 6, 21, 16, 0, tzinfo=ICT)
CONFIGS = ("plain", "sun", "sun+shadows 2048", "sun+shadows 1024")
INTERACTIVE_MS = 150.0


def configure(r: OffscreenRenderer, sun: SunLight, name: str) -> None:
    """Put the renderer in one configuration (from any other)."""
    if name == "plain":
        sun.remove()  # also turns shadows off
        return
    sun.apply(r.plotter, r.scene, WHEN)
    if name == "sun":
        set_shadows(r.plotter, False)
    else:
        set_shadows(r.plotter, True, int(name.rsplit(" ", 1)[1]))


def measure(r: OffscreenRenderer, frames: int, per_round: int) -> dict[str, list[float]]:
    sun = SunLight()
    times: dict[str, list[float]] = {k: [] for k in CONFIGS}
    cam = r.plotter.camera
    while min(len(v) for v in times.values()) < frames:
        for name in CONFIGS:
            configure(r, sun, name)
            r.frame()  # untimed
            for _ in range(per_round):
                cam.Azimuth(0.5)
                t0 = time.perf_counter()
                r.frame()
                times[name].append(time.perf_counter() - t0)
    configure(r, sun, "plain")
    return times


def table(times: dict[str, list[float]]) -> str:
    plain = statistics.median(times["plain"])
    rows = ["| lighting | median ms | x plain | interactive (< 150 ms) |", "|---|---|---|---|"]
    for name, t in times.items():
        med = statistics.median(t)
        ok = "yes" if med * 1000 < INTERACTIVE_MS else "no"
        rows.append(f"| {name} | {med * 1000:.1f} | {med / plain:.2f} | {ok} |")
    return "\n".join(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scene", default=str(ROOT / "scenes" / "viet_tri.toml"))
    ap.add_argument("--size", default="1280x720")
    ap.add_argument("--frames", type=int, default=9)
    ap.add_argument("--per-round", type=int, default=3)
    ap.add_argument("--append", action="store_true", help="append to bench/RESULTS.md")
    args = ap.parse_args()
    w, h = (int(v) for v in args.size.lower().split("x"))
    scene = importers.open_scene(args.scene)
    with OffscreenRenderer(scene, (w, h), simulation=None, looks=None, sun=True) as r:
        gl = r.renderer_info()
        r.view.apply_bookmark("overview")
        r.frame()
        times = measure(r, args.frames, args.per_round)
    text = table(times)
    print(f"GL: {gl}; {w}x{h}, {args.frames} frames each, interleaved")
    print(text)
    if args.append:
        cmd = "python bench/bench_shadows.py " + " ".join(sys.argv[1:])
        with open(ROOT / "bench" / "RESULTS.md", "a", encoding="utf-8") as f:
            f.write(
                f"\n## Shadows: frame cost of the sun's shadow map ({dt.date.today().isoformat()})"
                f"\n\n`{cmd.strip()}` — pilot district, \"overview\", {w}x{h}, GL `{gl}`, "
                f"{WHEN.isoformat()}, median of {args.frames} orbiting frames per "
                f"configuration, interleaved in one run.\n\n{text}\n"
            )


if __name__ == "__main__":
    main()
