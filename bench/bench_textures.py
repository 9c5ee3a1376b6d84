"""Frame cost of the Textures look: textured / untextured frame time.

Two scenes, each drawn offscreen at 1280x720 orbiting half a degree a frame,
plain and textured frames interleaved in rounds of three after one untimed
frame (a switch re-uploads the mapper's buffers), 15 timed frames each:

- ``rotterdam``: the cjio Rotterdam sample with its one shipped image (one
  textured roof among 16 LoD2 buildings, seen from close by);
- ``synthetic``: a 20 x 20 grid of CityJSON boxes whose four walls and roof
  all carry the same 1024² image, filling the frame: the worst case, every
  building pixel a texture fetch.

Also reports the import time with and without ``draw_textures`` (atlas packing
and point splitting). Run from the repository root::

    .venv/bin/python bench/bench_textures.py            # prints the table
    .venv/bin/python bench/bench_textures.py --append   # and appends it to bench/RESULTS.md
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import importers  # noqa: E402
from twin.render import OffscreenRenderer  # noqa: E402
from twin.render import looks as lk  # noqa: E402

SAMPLE = ROOT.parent / "shared" / "data" / "cityjson" / "real" / "rotterdam"
IMAGE = SAMPLE / "appearances" / "0320_4_15.jpg"


def rotterdam(folder: Path) -> Path:
    (folder / "appearances").mkdir(parents=True)
    shutil.copy(IMAGE, folder / "appearances" / IMAGE.name)
    return Path(shutil.copy(SAMPLE / "rotterdam_subset.city.json", folder))


def synthetic(folder: Path, n: int = 20) -> Path:
    """An n x n grid of 12 x 12 x 15 m boxes, walls and roofs textured."""
    (folder / "appearances").mkdir(parents=True)
    shutil.copy(IMAGE, folder / "appearances" / "wall.jpg")
    verts, objects = [], {}
    for i in range(n):
        for j in range(n):
            x, y, b = i * 20, j * 20, len(verts)
            verts += [[x, y, 0], [x + 12, y, 0], [x + 12, y + 12, 0], [x, y + 12, 0],
                      [x, y, 15], [x + 12, y, 15], [x + 12, y + 12, 15], [x, y + 12, 15]]
            faces = [[b, b + 1, b + 5, b + 4], [b + 1, b + 2, b + 6, b + 5],
                     [b + 2, b + 3, b + 7, b + 6], [b + 3, b, b + 4, b + 7],
                     [b + 4, b + 5, b + 6, b + 7]]
            objects[f"b{i}_{j}"] = {"type": "Building", "geometry": [{
                "type": "MultiSurface", "lod": "2", "boundaries": [[f] for f in faces],
                "texture": {"rgb": {"values": [[[0, 0, 1, 2, 3]]] * 5}},
            }]}
    doc = {"type": "CityJSON", "version": "2.0", "CityObjects": objects,
           "transform": {"scale": [1, 1, 1], "translate": [0, 0, 0]}, "vertices": verts,
           "appearance": {"textures": [{"type": "JPG", "image": "appearances/wall.jpg"}],
                          "vertices-texture": [[0, 0], [1, 0], [1, 1], [0, 1]]}}
    path = folder / "grid.city.json"
    path.write_text(json.dumps(doc))
    return path


def load(path: Path, **options):
    scene = importers.scene_for(path)
    t0 = time.perf_counter()
    [layer] = importers.open(path, scene, options)
    elapsed = time.perf_counter() - t0
    scene.add_layer(layer)
    return scene, layer, elapsed


def measure(path: Path, size: tuple[int, int], frames: int, per_round: int) -> dict:
    scene, layer, t_tex = load(path)
    t_plain = min(load(path, draw_textures=False)[2] for _ in range(3))
    t_tex = min([t_tex] + [load(path)[2] for _ in range(2)])
    times: dict[str, list[float]] = {"plain": [], "textures": []}
    with OffscreenRenderer(scene, size, simulation=None, looks=None) as r:
        gl = r.renderer_info()
        r.view.overview()
        cam = r.plotter.camera
        cam.Zoom(1.6)
        r.frame()
        while min(len(v) for v in times.values()) < frames:
            for name in times:
                lk.apply_looks(r.view, lk.LookOptions(textures=name == "textures"))
                r.frame()
                for _ in range(per_round):
                    cam.Azimuth(0.5)
                    t0 = time.perf_counter()
                    r.frame()
                    times[name].append(time.perf_counter() - t0)
    plain = statistics.median(times["plain"])
    textured = statistics.median(times["textures"])
    return {"gl": gl, "plain_ms": plain * 1e3, "tex_ms": textured * 1e3,
            "ratio": textured / plain, "import_plain_ms": t_plain * 1e3,
            "import_tex_ms": t_tex * 1e3, "cells": layer.mesh.n_cells}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="1280x720")
    ap.add_argument("--frames", type=int, default=15)
    ap.add_argument("--per-round", type=int, default=3)
    ap.add_argument("--append", action="store_true", help="append to bench/RESULTS.md")
    args = ap.parse_args()
    w, h = (int(v) for v in args.size.lower().split("x"))
    rows = ["| scene | triangles | plain ms | textured ms | x plain | import ms plain / "
            "textured |", "|---|---|---|---|---|---|"]
    gl = ""
    with tempfile.TemporaryDirectory() as tmp:
        for name, make in (("rotterdam", rotterdam), ("synthetic", synthetic)):
            res = measure(make(Path(tmp) / name), (w, h), args.frames, args.per_round)
            gl = res["gl"]
            rows.append(f"| {name} | {res['cells']} | {res['plain_ms']:.1f} | "
                        f"{res['tex_ms']:.1f} | {res['ratio']:.2f} | "
                        f"{res['import_plain_ms']:.0f} / {res['import_tex_ms']:.0f} |")
    text = "\n".join(rows)
    print(f"GL: {gl}; {w}x{h}, {args.frames} frames each, interleaved")
    print(text)
    if args.append:
        cmd = "python bench/bench_textures.py " + " ".join(sys.argv[1:])
        with open(ROOT / "bench" / "RESULTS.md", "a", encoding="utf-8") as f:
            f.write(
                f"\n## Textures look: frame cost ({dt.date.today().isoformat()})\n\n"
                f"`{cmd.strip()}` — {w}x{h}, GL `{gl}`, median of {args.frames} orbiting "
                "frames per configuration, interleaved in one run; import = best of 3.\n\n"
                f"{text}\n"
            )


if __name__ == "__main__":
    main()
