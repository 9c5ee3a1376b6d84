"""First layer ready from a PostGIS table of N buildings vs the same from a GeoPackage.

For each N (default 10,000 and 100,000; add 1,000,000 with ``--sizes``) the
seeded synthetic city (:mod:`bench.footprints`, placed in VN-2000 / TM-3 104-45
at Việt Trì) is written to a GeoPackage and loaded into a private PostGIS
cluster (tests/pg_cluster.py, Unix socket) with ``citytwin db load``'s code.
Then, interleaved ``--repeat`` times, it times ``importers.open`` of

- the whole PostGIS table (``postgis``), with the time to the rows in hand
  (``fetch``: connect, checks, server-side cursor) apart from meshing;
- the whole GeoPackage layer (``gpkg``, the sandboxed GDAL read + the same meshing);
- a 1 km x 1 km bounding box of the table (``bbox``), the read a streaming view makes.

Each figure is wall time from the call to the layer list in hand, in a warm process
(imports and the reader pool are started by reading a 1,000-building city first).
It also reports the load (COPY + GiST index + ANALYZE) rate and the peak RSS.

    .venv/bin/python bench/bench_postgis.py [--sizes 10000 100000 1000000] [--repeat 3]
        [--append-results]
"""

from __future__ import annotations

import argparse
import platform
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from bench.footprints import make_city  # noqa: E402
from bench.machine import cpu_model  # noqa: E402

CRS = "EPSG:9208"
#: the synthetic city's south-west corner, in Việt Trì (VN-2000 / TM-3 104-45)
CORNER = np.array([566000.0, 2355000.0])
BBOX_SIDE = 1000.0


def write_gpkg(n: int, folder: Path) -> tuple[Path, tuple[float, float, float, float]]:
    """The city of ``n`` buildings as a GeoPackage layer ``buildings`` with id,
    class, height and levels columns; its path and bounds."""
    import pyogrio
    import shapely

    city = make_city(n, seed=7)
    geoms = shapely.transform(city.geoms, lambda xy: xy + CORNER)
    rng = np.random.default_rng(7)
    path = folder / f"city_{n}.gpkg"
    fields = ["id", "class", "height", "building:levels"]
    data = [
        np.array([f"B-{i:07d}" for i in range(n)], dtype=object),
        rng.choice(np.array(["residential", "shophouse", "office"], dtype=object), n),
        np.round(city.heights, 2),
        np.maximum(1, np.round(city.heights / 3.2)).astype(np.int32),
    ]
    pyogrio.raw.write(path, shapely.to_wkb(geoms), data, fields, layer="buildings",
                      driver="GPKG", geometry_type="Polygon", crs=CRS)
    b = shapely.total_bounds(geoms)
    return path, (float(b[0]), float(b[1]), float(b[2]), float(b[3]))


def timed(fn) -> tuple[float, object]:
    started = time.perf_counter()
    out = fn()
    return time.perf_counter() - started, out


def measure(n: int, url: str, folder: Path, repeat: int) -> dict:
    """One city size: load it, then time the reads interleaved."""
    import importers
    from app import db_cmd
    from importers import postgis
    from twin.scene import Scene

    gpkg, bounds = write_gpkg(n, folder)
    table = f"city_{n}"
    data = db_cmd.read_file(gpkg, "buildings")
    load_s, _ = timed(lambda: db_cmd.load(data, url, table, None, "geom", "fail"))
    cx, cy = (bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2
    scene = Scene(crs=CRS, origin=[round(cx, -2), round(cy, -2), 0.0])
    half = BBOX_SIDE / 2
    box = [cx - half, cy - half, cx + half, cy + half]
    cases = {
        "postgis": lambda: importers.open(url, scene, {"table": table}),
        "fetch": lambda: postgis.fetch(url, scene, {"table": table}),
        "gpkg": lambda: importers.open(gpkg, scene, {"layer": "buildings"}),
        "bbox": lambda: importers.open(url, scene, {"table": table, "bbox": box}),
    }
    times: dict[str, list[float]] = {k: [] for k in cases}
    counts: dict[str, int] = {}
    for _ in range(repeat):
        for name, fn in cases.items():
            took, out = timed(fn)
            times[name].append(took)
            counts[name] = (len(out["wkb"]) if isinstance(out, dict)
                            else sum(len(la.features) for la in out))
    assert counts["postgis"] == counts["gpkg"] == n, counts
    return {"n": n, "load_s": load_s, "bbox_n": counts["bbox"],
            **{k: (min(v), statistics.median(v)) for k, v in times.items()}}


def run(sizes: list[int], repeat: int) -> tuple[list[dict], str]:
    import pg_cluster

    reason = pg_cluster.missing()
    if reason:
        raise SystemExit(f"bench_postgis: {reason}")
    cluster = pg_cluster.PgCluster().start()
    rows = []
    try:
        with tempfile.TemporaryDirectory(prefix="citytwin-bench-pg-") as tmp:
            measure(1000, cluster.url(), Path(tmp), 1)  # warm-up: imports, reader pool
            for n in sizes:
                rows.append(measure(n, cluster.url(), Path(tmp), repeat))
                print(_row(rows[-1]), flush=True)
    finally:
        cluster.stop()
    import psycopg
    import shapely

    versions = (f"Python {platform.python_version()}, PostgreSQL 15 + PostGIS "
                f"(Debian), psycopg {psycopg.__version__}, shapely {shapely.__version__}")
    return rows, versions


def _row(r: dict) -> str:
    def cell(key: str) -> str:
        lo, med = r[key]
        return f"{lo:.2f} / {med:.2f}"

    ratio = r["postgis"][0] / r["gpkg"][0]
    return (f"| {r['n']:,} | {r['load_s']:.1f} ({r['n'] / r['load_s']:,.0f} rows/s) | "
            f"{cell('postgis')} | {cell('fetch')} | {cell('gpkg')} | **{ratio:.2f}** | "
            f"{cell('bbox')} ({r['bbox_n']:,}) |")


HEADER = (
    "| buildings | db load s (rate) | PostGIS layer ready min / med (s) | of which rows "
    "fetched (s) | GeoPackage layer ready min / med (s) | PostGIS / GeoPackage (min) | "
    "1 km² bbox read min / med (s) (features) |\n|---:|---:|---:|---:|---:|---:|---:|"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--append-results", action="store_true",
                        help="append a section to bench/RESULTS.md")
    args = parser.parse_args()
    print(HEADER, flush=True)
    started = time.perf_counter()
    rows, versions = run(args.sizes, args.repeat)
    wall = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak_mb:,.0f} MB; {wall:.0f} s wall")
    if args.append_results:
        import os

        cmd = "bench/bench_postgis.py " + " ".join(sys.argv[1:])
        text = (
            f"\n## PostGIS layer source (issue 15)\n\nMachine: {cpu_model()}, {os.cpu_count()} "
            f"cores, Linux {platform.release()}; {versions}. Command: `.venv/bin/python {cmd}` "
            f"({wall:.0f} s wall, {args.repeat} interleaved repeats after a warm-up; peak "
            f"RSS of the bench process {peak_mb:,.0f} MB).\n\n{HEADER}\n"
            + "\n".join(_row(r) for r in rows) + "\n"
        )
        with open(ROOT / "bench" / "RESULTS.md", "a", encoding="utf-8") as fh:
            fh.write(text)


if __name__ == "__main__":
    main()
