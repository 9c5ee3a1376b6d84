"""A streamed city as a layer: GUI-thread cost of its layer controls.

The streamed Việt Trì city (``tools.synth.city``, default 60,000 buildings) is
drawn offscreen (EGL) with many tiles resident at full detail, then each
control the layers dock and the window apply to a stream is timed on the
resident tiles (the GUI thread runs all of them):

* **select**: ``SceneView.select`` of one building in a tile, i.e. the highlight
  by id across every resident tile (``TileStream.highlight``) and clearing the
  previous one;
* **restyle**: colour by ``height`` with one fixed scale, every resident tile
  recoloured (``TileStream.set_style``);
* **snapshot**: the attribute table's layer over the loaded buildings
  (``app.stream_layers.loaded_layer``: concatenated tables, one row per building);
* **counts**: the layers-dock row's loaded tile/feature counts (run every 40 ms pump).

Run from the repository root::

    .venv/bin/python bench/bench_stream_layers.py            # city in ~/.cache/citytwin
    .venv/bin/python bench/bench_stream_layers.py --append   # and append to RESULTS.md
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "citytwin"


def timed(fn, repeat: int) -> tuple[float, float]:
    """(median, max) milliseconds of ``repeat`` calls."""
    out = []
    for i in range(repeat):
        t0 = time.perf_counter()
        fn(i)
        out.append((time.perf_counter() - t0) * 1000)
    return statistics.median(out), max(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=60_000, help="buildings in the city")
    ap.add_argument("--near", type=float, default=2500.0, help="full-detail radius (m)")
    ap.add_argument("--distance", type=float, default=2000.0,
                    help="camera distance south of the centre (m), at half that height")
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--append", action="store_true", help="append to bench/RESULTS.md")
    args = ap.parse_args(argv)

    import pyogrio

    from app.stream_layers import loaded_counts, loaded_layer
    from importers.tile_reader import open_stream
    from twin.render.offscreen import OffscreenRenderer
    from twin.scene import Scene
    from twin.style import Style
    from twin.tiles import FULL

    path = CACHE / f"city_{args.n}.gpkg"
    if not path.exists():
        from tools.synth.city import generate_city, write_city

        path.parent.mkdir(parents=True, exist_ok=True)
        write_city(generate_city(args.n, seed=269), path)
    b = pyogrio.read_info(str(path), layer="buildings", force_total_bounds=True)["total_bounds"]
    scene = Scene(crs="EPSG:9208",
                  origin=np.array([round((b[0] + b[2]) / 2, -2), round((b[1] + b[3]) / 2, -2), 0]))
    scene.streams.append(open_stream(path, "buildings", scene))
    with OffscreenRenderer(scene, (1280, 720), captions=False, simulation=None,
                           looks=None) as r:
        (stream,) = r.view.streams
        stream.near = args.near
        cam = r.plotter.renderer.GetActiveCamera()
        cam.SetPosition(0.0, -args.distance, args.distance / 2)
        cam.SetFocalPoint(0.0, 0.0, 0.0)
        cam.SetViewUp(0, 0, 1)
        t0 = time.perf_counter()
        r.frame()
        first_s = time.perf_counter() - t0
        full = [la for (t, d), (la, _) in stream.resident.items() if d == FULL]
        cells = sum(la.mesh.n_cells for la, _ in stream.resident.values())
        rng = np.random.default_rng(0)
        picks = [(full[i], int(rng.integers(len(full[i].features))))
                 for i in rng.integers(len(full), size=args.repeat)]
        release = r.view.hold()  # select asks for a frame: time the model work only
        select = timed(lambda i: r.view.select(picks[i][0], [picks[i][1]]), args.repeat)
        heights = np.concatenate([la.features.column("height") for la in full])
        styles = [Style(mode="attribute", attribute="height",
                        clim=(float(np.nanmin(heights)), float(np.nanmax(heights)))),
                  Style(mode="class")]
        restyle = timed(lambda i: stream.set_style(dataclasses.replace(styles[i % 2])),
                        args.repeat)
        snapshot = timed(lambda i: loaded_layer(stream), max(3, args.repeat // 3))
        counts = timed(lambda i: loaded_counts(stream), args.repeat)
        n_loaded = loaded_counts(stream)[1]
        n_full = sum(len(la.features) for la in full)
        n_resident = len(stream.resident)
        r.view.select(None)
        release()
    rows = [
        ("select one building (its tile found by box and id, highlighted; the last cleared)",
         select),
        ("restyle every resident tile (colour by height / by class)", restyle),
        ("attribute-table snapshot of the loaded buildings", snapshot),
        ("layers-dock row counts (each 40 ms pump)", counts),
    ]
    head = (f"{args.n:,}-building city, 1280x720, camera {args.distance:.0f} m off at "
            f"{args.distance / 2:.0f} m, near "
            f"{args.near:.0f} m: {n_resident} tiles resident ({len(full)} full "
            f"detail, {n_full:,} buildings; {n_loaded:,} buildings loaded in all; "
            f"{cells:,} triangles), first frame {first_s:.1f} s")
    print(head)
    lines = ["| control (GUI thread) | median ms | max ms |", "|---|---|---|"]
    lines += [f"| {name} | {med:.2f} | {mx:.2f} |" for name, (med, mx) in rows]
    print("\n".join(lines))
    if args.append:
        day = time.strftime("%Y-%m-%d")
        cmd = "python bench/bench_stream_layers.py --append"
        for flag, value, default in (("--n", args.n, 60_000), ("--near", args.near, 2500.0),
                                     ("--distance", args.distance, 2000.0)):
            if value != default:
                cmd += f" {flag} {value:g}"
        text = (f"\n## Streamed layers as window layers: control costs ({day})\n\n`{cmd}` — "
                f"{head}; {args.repeat} repeats.\n\n" + "\n".join(lines) + "\n")
        with open(ROOT / "bench" / "RESULTS.md", "a", encoding="utf-8") as f:
            f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
