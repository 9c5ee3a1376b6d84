"""Whole-city streaming: the 1,000,000-building city drawn as quadtree tiles.

Offscreen (EGL) at 1280x720, one run, interleaved frames:

* **first frame** from the 1M GeoPackage: R-tree index -> quadtree -> the tiles a
  street-level camera needs, read and meshed in 2 threads -> drawn; *before*
  (R-tree ``SELECT`` of every row, recursive quadtree, far blocks from geometry)
  and *after* (R-tree node pages decoded with numpy, sorted-key quadtree, far
  blocks from per-cell aggregates), alternated ``--repeat`` times in one run;
* **first overview frame**: every tile at once from above, before and after;
* **street level**: frame time of the streamed city (full detail within
  ``--near`` m, one block per building to ``--mid``, merged blocks to ``--far``,
  so it draws ``--far`` m ahead) against the same view with only its visible
  buildings loaded (the drawn tiles' buildings, full detail, one merged layer);
* **overview**: the whole streamed 1M city from above against the plain
  10,000-building city (same generator) framed the same way;
* **pan**: GUI-thread work per pump while tiles stream in during a street-level
  pan (update + actor adds, the part :class:`twin.render.tiled.TileStream` runs
  on the GUI thread; the reads run in worker threads);
* **memory**: peak RSS of the process after the streamed parts.

Run from the repository root (~3-6 min on 2 cores with llvmpipe)::

    .venv/bin/python bench/bench_city_stream.py            # writes the 1M city to ~/.cache once
    .venv/bin/python bench/bench_city_stream.py --append   # and appends to bench/RESULTS.md
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import resource
import statistics
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "citytwin"


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def ensure_city(path: Path, n: int) -> float:
    """Write the seeded city once (never into the repository); returns seconds."""
    if path.exists():
        return 0.0
    from tools.synth.city import generate_city, write_city

    t0 = time.perf_counter()
    write_city(generate_city(n, seed=269), path)
    return time.perf_counter() - t0


def centre_scene(path: Path):
    import pyogrio

    from twin.scene import Scene

    b = pyogrio.read_info(str(path), layer="buildings", force_total_bounds=True)["total_bounds"]
    origin = np.array([round((b[0] + b[2]) / 2, -2), round((b[1] + b[3]) / 2, -2), 0.0])
    return Scene(crs="EPSG:9208", origin=origin), (b[2] - b[0], b[3] - b[1])


def street_camera(plotter, x: float = 0.0) -> None:
    cam = plotter.renderer.GetActiveCamera()
    cam.SetPosition(x, -40.0, 1.7 + 25.0)  # a planner's drone-ish street view
    cam.SetFocalPoint(x + 300.0, 300.0, 10.0)
    cam.SetViewUp(0, 0, 1)
    cam.SetViewAngle(40)


def overview_camera(plotter, extent: tuple[float, float]) -> None:
    cam = plotter.renderer.GetActiveCamera()
    span = max(extent)
    direction = np.array([0.55, -0.75, 0.65])
    direction /= np.linalg.norm(direction)
    dist = span / 2 / np.tan(np.radians(15)) * 0.9
    cam.SetFocalPoint(0.0, 0.0, 0.0)
    cam.SetPosition(*(direction * dist))
    cam.SetViewUp(0, 0, 1)
    cam.SetViewAngle(30)


def frames(r, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        r.ren_win.Render()
        r.ren_win.WaitForCompletion()
        out.append(time.perf_counter() - t0)
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=1_000_000, help="buildings of the stress city")
    p.add_argument("--district-n", type=int, default=10_000)
    p.add_argument("--size", default="1280x720")
    p.add_argument("--frames", type=int, default=9)
    p.add_argument("--near", type=float, default=600.0)
    p.add_argument("--mid", type=float, default=1500.0)
    p.add_argument("--far", type=float, default=3000.0)
    p.add_argument("--png-dir", type=Path, default=None, help="save street/overview PNGs here")
    p.add_argument("--append", action="store_true", help="append the results to RESULTS.md")
    p.add_argument("--postgis", action="store_true",
                   help="also: first frame from a private PostGIS (db load ~1 min per 1M rows)")
    p.add_argument("--repeat", type=int, default=2, help="before/after first frames, each")
    args = p.parse_args()
    w, h = (int(v) for v in args.size.split("x"))
    if args.png_dir:
        args.png_dir.mkdir(parents=True, exist_ok=True)

    from importers import vector
    from importers.tile_reader import Z_TOP, GpkgTileReader
    from twin.render.offscreen import OffscreenRenderer, save_png
    from twin.render.tiled import TileStream
    from twin.tiles import FULL

    big = CACHE / f"city_{args.n}.gpkg"
    big.parent.mkdir(parents=True, exist_ok=True)
    gen_s = ensure_city(big, args.n)
    opts = {"captions": False, "simulation": None, "looks": None}
    out: dict[str, object] = {"gen_s": gen_s, "load": os.getloadavg()}
    out["firsts"] = first_frames(big, (w, h), opts, args)

    # -- first frame and street level, streamed -----------------------------------
    t0 = time.perf_counter()
    scene, extent = centre_scene(big)
    reader = GpkgTileReader(big, "buildings", scene)
    tiles = reader.index()
    boxes = reader.local_boxes(tiles, Z_TOP)
    t_index = time.perf_counter() - t0

    def read(t: int, d: int):
        return reader.read(tiles, t, d)

    with contextlib.ExitStack() as stack:
        r = stack.enter_context(OffscreenRenderer(scene, (w, h), **opts))
        stream = TileStream(r.view, tiles, boxes, read, near=args.near, mid=args.mid,
                            far=args.far, blocking=True)
        street_camera(r.plotter)
        r.frame()
        first = time.perf_counter() - t0
        drawn = sorted(k for k in stream.resident if stream._shows(k))
        tris_stream = sum(stream.resident[k][0].mesh.n_cells for k in drawn)
        detail_counts = {d: sum(1 for _, dd in drawn if dd == d) for d in (0, 1, 2)}
        # the same view, only its visible buildings, full detail, one merged layer
        fids = np.concatenate([tiles.fids[t] for t, _ in drawn])
        reach = tiles.reach[[t for t, _ in drawn]]
        union = np.array([*reach[:, :2].min(axis=0), *reach[:, 2:].max(axis=0)])
        ref_scene, _ = centre_scene(big)
        ref_scene.add_layer(reader.read_features(union, fids, FULL, "visible"))
        ref = stack.enter_context(OffscreenRenderer(ref_scene, (w, h), **opts))
        if ref.view._ground is not None:
            ref.plotter.remove_actor(ref.view._ground)
        street_camera(ref.plotter)
        ref.frame()
        ref_tris = ref_scene.layers[0].mesh.n_cells
        street_s, ref_s = interleaved(r, ref, args.frames)
        if args.png_dir:
            save_png(r.frame(), args.png_dir / "city_stream_street.png")
        rss_stream = rss_mb()
        pan = pan_stalls(r, stream)
    del ref_scene

    # -- overview: streamed 1M vs plain 10k ------------------------------------------
    small = CACHE / f"city_{args.district_n}.gpkg"
    ensure_city(small, args.district_n)
    dscene, dextent = centre_scene(small)
    dscene.add_layer(vector.read(small, dscene, {"layer": "buildings"})[0])
    with contextlib.ExitStack() as stack:
        r = stack.enter_context(OffscreenRenderer(scene, (w, h), **opts))
        stream = TileStream(r.view, tiles, boxes, read, near=args.near, mid=args.mid,
                            blocking=True)
        overview_camera(r.plotter, extent)
        t2 = time.perf_counter()
        r.frame()
        over_first = time.perf_counter() - t2
        if args.png_dir:
            save_png(r.frame(), args.png_dir / "city_stream_overview_after.png")
        over_tris = sum(la.mesh.n_cells for k, (la, _) in stream.resident.items()
                        if stream._shows(k))
        rss_all = rss_mb()
        d = stack.enter_context(OffscreenRenderer(dscene, (w, h), **opts))
        if d.view._ground is not None:
            d.plotter.remove_actor(d.view._ground)
        overview_camera(d.plotter, dextent)
        d.frame()
        over_s, district_s = interleaved(r, d, args.frames)
        if args.png_dir:
            save_png(r.frame(), args.png_dir / "city_stream_overview.png")
        district_tris = dscene.layers[0].mesh.n_cells
        info = r.renderer_info()

    out["over_before"] = overview_before(big, scene, extent, (w, h), opts, args)
    out["pg"] = postgis_first_frame(big, (w, h), opts, args) if args.postgis else None
    med = statistics.median
    out.update(
        tiles=len(tiles), index_s=t_index, first_s=first, drawn=len(drawn),
        detail_counts=detail_counts, tris_stream=tris_stream, street_ms=med(street_s) * 1e3,
        ref_ms=med(ref_s) * 1e3, ref_buildings=len(fids), ref_tris=ref_tris,
        over_ms=med(over_s) * 1e3, over_first=over_first, over_tris=over_tris,
        district_ms=med(district_s) * 1e3, district_tris=district_tris,
        rss_stream=rss_stream, rss_all=rss_all, pan=pan, gl=info,
    )
    text = report(args, out)
    print(text)
    if args.append:
        with open(ROOT / "bench" / "RESULTS.md", "a", encoding="utf-8") as fh:
            fh.write("\n" + text)
    return 0


def street_first_frame(scene, tiles, boxes, read, size, opts, args, png=None) -> float:
    """Seconds from ``tiles`` in hand to the first complete street frame."""
    from twin.render.offscreen import OffscreenRenderer, save_png
    from twin.render.tiled import TileStream

    t0 = time.perf_counter()
    with OffscreenRenderer(scene, size, **opts) as r:
        stream = TileStream(r.view, tiles, boxes, read, near=args.near, mid=args.mid,
                            far=args.far, blocking=True)
        street_camera(r.plotter)
        image = r.frame()
        took = time.perf_counter() - t0
        stream.close()
    if png is not None:
        save_png(image, png)
    return took


def gpkg_open(big: Path, scene, before: bool):
    """(tiles, boxes, read) of the 1M GeoPackage, the first way or the new one."""
    from importers.tile_reader import Z_TOP, GpkgTileReader
    from twin.tiles import BLOCKS

    reader = GpkgTileReader(big, "buildings", scene)
    tiles = reader.index_split() if before else reader.index()

    def read(t: int, d: int):
        if before and d == BLOCKS:
            return reader.read_geometry_blocks(tiles, t)
        return reader.read(tiles, t, d)

    return tiles, reader.local_boxes(tiles, Z_TOP), read


def first_frames(big: Path, size, opts, args) -> dict[str, list]:
    """Open + index + first street frame from the GeoPackage, before and after,
    alternated ``--repeat`` times (the page cache is warm for both)."""
    out: dict[str, list] = {"before": [], "after": [], "index_before": [], "index_after": []}
    for rep in range(args.repeat):
        for mode in ("before", "after"):
            t0 = time.perf_counter()
            scene, _ = centre_scene(big)
            tiles, boxes, read = gpkg_open(big, scene, mode == "before")
            index_s = time.perf_counter() - t0
            png = (args.png_dir / f"city_stream_street_{mode}.png"
                   if args.png_dir and rep == 0 else None)
            frame_s = street_first_frame(scene, tiles, boxes, read, size, opts, args, png)
            out[mode].append(index_s + frame_s)
            out[f"index_{mode}"].append(index_s)
            out[f"tiles_{mode}"] = len(tiles)
    return out


def overview_before(big: Path, scene, extent, size, opts, args) -> float:
    """The first overview frame the first way (every far tile's blocks built
    from its features' geometry)."""
    from twin.render.offscreen import OffscreenRenderer, save_png
    from twin.render.tiled import TileStream

    tiles, boxes, read = gpkg_open(big, scene, before=True)
    with OffscreenRenderer(scene, size, **opts) as r:
        stream = TileStream(r.view, tiles, boxes, read, near=args.near, mid=args.mid,
                            blocking=True)
        overview_camera(r.plotter, extent)
        t0 = time.perf_counter()
        image = r.frame()
        took = time.perf_counter() - t0
        stream.close()
    if args.png_dir:
        save_png(image, args.png_dir / "city_stream_overview_before.png")
    return took


def postgis_first_frame(big: Path, size, opts, args) -> dict[str, object]:
    """Load the city into a private cluster (tests/pg_cluster.py) with the real
    ``citytwin db load``, then time open + index + tiles + first street frame
    from it, before (every row's Box2D, recursive quadtree, rows kept by their
    geometry's centre) and after (per-cell GROUP BY on the server, rows kept by
    their key in SQL, blocks from aggregates), alternated."""
    import subprocess

    sys.path.insert(0, str(ROOT / "tests"))
    import pg_cluster

    from importers.tile_reader import Z_TOP, PostgisTileReader, open_postgis_stream

    cluster = pg_cluster.PgCluster().start()
    out: dict[str, object] = {"before": [], "after": [], "index_before": [], "index_after": []}
    try:
        t0 = time.perf_counter()
        subprocess.run([str(ROOT / ".venv" / "bin" / "citytwin"), "db", "load", str(big), "--to",
                        cluster.url(), "--table", "city", "--layer", "buildings"],
                       check=True, capture_output=True)
        out["load_s"] = time.perf_counter() - t0
        import tempfile

        runs = [(rep, mode) for rep in range(args.repeat) for mode in ("before", "after")]
        for rep, mode in [*runs, (0, "reopen")]:
            if mode == "after":  # a first open: no index saved by an earlier run
                os.environ["CITYTWIN_CACHE_DIR"] = tempfile.mkdtemp(prefix="ct-bench-")
            t0 = time.perf_counter()
            scene, _ = centre_scene(big)
            if mode == "before":
                reader = PostgisTileReader(cluster.url(), scene, {"table": "city"})
                tiles = reader.index_rows()
                boxes = reader.local_boxes(tiles, Z_TOP)
                read = lambda t, d, r=reader, ti=tiles: r.read_rows(ti, t, d)  # noqa: E731
            else:
                source = open_postgis_stream(cluster.url(), "city", scene, {"table": "city"})
                tiles, boxes, read = source.tiles, source.boxes, source.read
            index_s = time.perf_counter() - t0
            png = (args.png_dir / f"city_stream_street_pg_{mode}.png"
                   if args.png_dir and rep == 0 else None)
            frame_s = street_first_frame(scene, tiles, boxes, read, size, opts, args, png)
            out.setdefault(mode, []).append(index_s + frame_s)  # type: ignore[union-attr]
            out.setdefault(f"index_{mode}", []).append(index_s)  # type: ignore[union-attr]
    finally:
        cluster.stop()
    return out


def interleaved(a, b, n: int) -> tuple[list[float], list[float]]:
    """``n`` frames of each renderer, alternating (load on a shared machine hits both)."""
    fa, fb = [], []
    for _ in range(n):
        fa += frames(a, 1)
        fb += frames(b, 1)
    return fa, fb


def pan_stalls(r, stream) -> dict[str, float]:
    """A street-level pan with a non-blocking stream: each step moves the camera
    20 m, then the GUI-thread loop runs update + pump(25 ms) + a frame; reports
    the longest pump (GUI-thread loading work beyond the frame)."""
    stream.blocking = False
    pumps, adds = [], 0
    for step in range(60):
        street_camera(r.plotter, x=step * 20.0)
        t0 = time.perf_counter()
        stream.update()
        pumps.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        adds += stream.pump(0.025)
        pumps.append(time.perf_counter() - t0)
        r.ren_win.Render()
        time.sleep(0.01)
    return {
        "max_ms": max(pumps) * 1e3,
        "p95_ms": float(np.percentile(pumps, 95)) * 1e3,
        "max_add_ms": stream.max_add_s * 1e3,
        "adds": adds,
        "resident_mb": stream.bytes / 2**20,
    }


def report(args, o: dict) -> str:
    street_ratio = o["street_ms"] / o["ref_ms"]
    over_ratio = o["over_ms"] / o["district_ms"]
    ok = lambda good: "met" if good else "**missed**"  # noqa: E731
    pan = o["pan"]
    fmt = lambda xs: " / ".join(f"{x:.2f}" for x in xs)  # noqa: E731
    f, pg = o["firsts"], o.get("pg")
    rows = [
        (f"index, GeoPackage: before ({f['tiles_before']} tiles) / after "
         f"({f['tiles_after']} tiles), each run", f"{fmt(f['index_before'])} s / "
         f"{fmt(f['index_after'])} s", ""),
        (f"first frame, street level, from the {args.n:,}-building GeoPackage: before, "
         "each run", f"{fmt(f['before'])} s", ""),
        (f"first frame, street level, from the {args.n:,}-building GeoPackage: after, "
         "each run", f"{fmt(f['after'])} s", f"<= 3 s ({ok(max(f['after']) <= 3)})"),
        (f"street frame, streamed ({o['drawn']} tiles by detail {o['detail_counts']}, "
         f"{o['tris_stream']:,} triangles)", f"{o['street_ms']:.1f} ms", ""),
        (f"street frame, only its {o['ref_buildings']:,} visible buildings, one "
         f"full-detail layer ({o['ref_tris']:,} triangles)", f"{o['ref_ms']:.1f} ms", ""),
        *(
            [(f"first frame, street level, from a {args.n:,}-row PostGIS table: before "
              f"(index {fmt(pg['index_before'])} s; `db load` {pg['load_s']:.0f} s)",
              f"{fmt(pg['before'])} s", ""),
             (f"first frame, street level, from a {args.n:,}-row PostGIS table: after "
              f"(index {fmt(pg['index_after'])} s)", f"{fmt(pg['after'])} s",
              f"<= 3 s ({ok(max(pg['after']) <= 3)})"),
             ("the same, reopened (index read from the user cache, "
              f"{fmt(pg['index_reopen'])} s)", f"{fmt(pg['reopen'])} s", "")]
            if pg else []
        ),
        ("first overview frame (every tile's far blocks): before / after",
         f"{o['over_before']:.2f} s / {o['over_first']:.2f} s", ""),
        ("street ratio", f"{street_ratio:.2f}x", f"<= 1.5x ({ok(street_ratio <= 1.5)})"),
        (f"overview frame, streamed ({o['over_tris']:,} triangles)",
         f"{o['over_ms']:.1f} ms", ""),
        (f"overview frame, plain {args.district_n:,}-building city "
         f"({o['district_tris']:,} triangles)", f"{o['district_ms']:.1f} ms", ""),
        ("overview ratio", f"{over_ratio:.2f}x", f"<= 3x ({ok(over_ratio <= 3)})"),
        ("pan: longest GUI-thread step (update or pump), p95",
         f"{pan['max_ms']:.1f} ms, {pan['p95_ms']:.1f} ms ({pan['adds']} tiles added)",
         f"<= 30 ms ({ok(pan['max_ms'] <= 30)})"),
        ("pan: longest single tile add", f"{pan['max_add_ms']:.1f} ms", ""),
        ("peak RSS after street + pan / after overview",
         f"{o['rss_stream']:.0f} MB / {o['rss_all']:.0f} MB",
         f"<= 3 GB ({ok(o['rss_all'] <= 3072)})"),
    ]
    table = "| measure | value | target |\n|---|---|---|\n" + "\n".join(
        f"| {a} | {b} | {c} |" for a, b, c in rows
    )
    return f"""## Whole-city streaming, {args.n:,} buildings (`bench_city_stream.py`)

`.venv/bin/python bench/bench_city_stream.py{' --postgis' if args.postgis else ''}\
{f' --frames {args.frames}' if args.frames != 9 else ''}\
{' --append' if args.append else ''}` \
({time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC), {args.size}, GL `{o['gl']}`, \
{os.cpu_count()} cores, Python {platform.python_version()}. City from `tools/synth/city.py` \
(seed 269) in `~/.cache/citytwin` (generated in {o['gen_s']:.0f} s when absent). \
{o['tiles']} quadtree tiles (<= 2000 buildings each). Load average at start \
{o['load'][0]:.1f} / {o['load'][1]:.1f} / {o['load'][2]:.1f} (1/5/15 min; the machine is \
shared). Street view: full detail within \
{args.near:.0f} m, a box per building to {args.mid:.0f} m, merged ~250 m blocks to \
{args.far:.0f} m (draws {args.far:.0f} m ahead). Median of {args.frames} frames,
interleaved with the frame it is compared to.

{table}

The pan figure is the GUI-thread work of `TileStream.update` + `pump` measured in this
headless loop; the real window is measured by `bench_stream_stall.py`.
"""


if __name__ == "__main__":
    raise SystemExit(main())
