"""First overview frame of the 1M-building city (every tile at once), from the
source tree given as the first argument, so two trees can be timed in turn::

    git worktree add /tmp/wt_head HEAD
    for t in /tmp/wt_head . /tmp/wt_head .; do
        .venv/bin/python bench/bench_overview_first.py $t
    done

The city is ``bench_city_stream.py``'s (``~/.cache/citytwin/city_1000000.gpkg``).
"""

import importlib
import os
import sys
import time


def main() -> int:
    root = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else ".")
    sys.path[:0] = [root, os.path.join(root, "bench")]
    os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")
    b = importlib.import_module("bench_city_stream")
    tile_reader = importlib.import_module("importers.tile_reader")
    offscreen = importlib.import_module("twin.render.offscreen")
    tiled = importlib.import_module("twin.render.tiled")

    big = b.CACHE / "city_1000000.gpkg"
    b.ensure_city(big, 1_000_000)
    scene, extent = b.centre_scene(big)
    reader = tile_reader.GpkgTileReader(big, "buildings", scene)
    tiles = reader.index()
    boxes = reader.local_boxes(tiles, tile_reader.Z_TOP)
    opts = {"captions": False, "simulation": None, "looks": None}
    with offscreen.OffscreenRenderer(scene, (1280, 720), **opts) as r:
        stream = tiled.TileStream(r.view, tiles, boxes, lambda t, d: reader.read(tiles, t, d),
                                  near=600.0, mid=2500.0, blocking=True)
        b.overview_camera(r.plotter, extent)
        t0 = time.perf_counter()
        r.frame()
        first = time.perf_counter() - t0
        t0 = time.perf_counter()
        r.frame()
        second = time.perf_counter() - t0
        n_tiles = len(stream.resident)
    tree = os.path.dirname(os.path.dirname(os.path.dirname(tiled.__file__)))
    print(f"{tree}: first overview {first:.2f} s, next frame {second:.2f} s, tiles "
          f"{n_tiles}, longest tile add {stream.max_add_s * 1000:.1f} ms, "
          f"load {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
