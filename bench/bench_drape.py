"""What setting layers on terrain costs: the Sơn La scene with and without drape.

Opens ``scenes/son_la.toml`` as is, and a copy without its ``drape`` keys, a few
times each (interleaved), and reports the median open time, the triangles of the
draped layers and the share of the time spent cutting them along the terrain's
grid (``importers.terrain.grid_split``).

    .venv/bin/python bench/bench_drape.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    import importers
    from importers import terrain

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    scene = ROOT / "scenes" / "son_la.toml"
    text = scene.read_text(encoding="utf-8")
    flat = re.sub(r'^drape(_mode)? = "[^"]*"\n', "", text, flags=re.M)
    with tempfile.TemporaryDirectory(dir=ROOT / "scenes") as tmp:
        plain = Path(tmp) / "son_la_flat.toml"
        plain.write_text(flat.replace("../assets/", "../../assets/"), encoding="utf-8")
        split_time = [0.0]
        original = terrain.grid_split

        def timed(*a, **k):
            t = time.perf_counter()
            out = original(*a, **k)
            split_time[0] += time.perf_counter() - t
            return out

        terrain.grid_split = timed
        times: dict[str, list[float]] = {"draped": [], "flat": []}
        splits = []
        for _ in range(args.repeat):
            for name, path in (("draped", scene), ("flat", plain)):
                split_time[0] = 0.0
                t = time.perf_counter()
                sc = importers.open_scene(path)
                times[name].append(time.perf_counter() - t)
                if name == "draped":
                    splits.append(split_time[0])
                    tris = {la.name: la.mesh.n_cells for la in sc.layers}
                else:
                    flat_tris = {la.name: la.mesh.n_cells for la in sc.layers}
    out = sys.stdout
    out.write(f"open_scene, median of {args.repeat}:\n")
    for name, values in times.items():
        out.write(f"  {name}: {statistics.median(values):.2f} s\n")
    out.write(f"  grid_split (draped): {statistics.median(splits):.2f} s\n")
    out.write("triangles (draped / flat):\n")
    for name, n in tris.items():
        out.write(f"  {name}: {n:,} / {flat_tris.get(name, 0):,}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
