"""3D Tiles export time: the Việt Trì pilot scene and the seeded bench city.

Times ``twin.export.tiles3d.export_3dtiles`` alone (the scene is loaded first, not
timed), median of ``--repeat`` runs, and reports tiles, features, triangles and
the bytes written; then the same for the 10,000-building bench city (one layer),
which shows how the quadtree splits a large layer.

    python bench/bench_3dtiles.py [--repeat 3] [--buildings 10000] [--max-triangles 10000]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_sunhours import city_scene

from app.loading import load_any
from app.paths import DEFAULT_SCENE
from twin.export.tiles3d import export_3dtiles


def run(name: str, scene, repeat: int, max_triangles: int) -> None:
    times, cpu = [], []
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as d:
            t0, c0 = time.perf_counter(), time.process_time()
            report = export_3dtiles(scene, Path(d) / "tiles", max_triangles=max_triangles)
            times.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
            size = sum(p.stat().st_size for p in (Path(d) / "tiles").rglob("*") if p.is_file())
    print(f"| {name} | {report.features:,} | {report.triangles:,} | {report.tiles} | "
          f"{size / 1e6:.1f} | {statistics.median(times):.2f} | {statistics.median(cpu):.2f} | "
          f"{report.residual_m:.2f} |")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--buildings", type=int, default=10_000)
    p.add_argument("--max-triangles", type=int, default=10_000)
    args = p.parse_args()
    print(f"{platform.machine()}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}, "
          f"Python {platform.python_version()}, "
          f"max {args.max_triangles} triangles per tile, median of {args.repeat}")
    print("| scene | features | triangles | tiles | MB | export wall s | CPU s | "
          "1-frame residual m |")
    print("|---|---|---|---|---|---|---|---|")
    run("Việt Trì pilot (4 layers)", load_any(DEFAULT_SCENE), args.repeat, args.max_triangles)
    scene, _ = city_scene(args.buildings, seed=1)
    run(f"bench city ({args.buildings:,} buildings)", scene, args.repeat, args.max_triangles)


if __name__ == "__main__":
    main()
