"""CityJSON import throughput against the JSON-parse floor (PERFORMANCE.md B4).

For the largest files in ``../shared/data/cityjson/real`` (and, with ``--tile``,
a synthetic city made by tiling the largest one K times side by side), time:

- ``json.load`` of the file (the floor the issue sets: import within 3x of it),
- ``orjson.loads`` (what our importer parses with),
- ours: ``importers.open(path, scene, importer="cityjson")`` -> one Layer with
  triangles, feature table, semantic codes and colours,
- cjio's loader (``cjio.cityjson.reader``) and cjio's loader + ``triangulate``,
  when cjio is installed (a peer that produces comparable output).

Each is run ``--runs`` times after a warm-up; min and median seconds, peak RSS
growth (kernel VmHWM, reset before each run), CityObjects/s and triangles/s are
reported. Run from the repository root::

    .venv/bin/python bench/bench_cityjson.py            # ~1-2 min
    .venv/bin/python bench/bench_cityjson.py --quick    # seconds
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import gc
import json
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT.parent / "shared" / "data" / "cityjson" / "real"


def _status_kb(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise KeyError(key)


def _trim_heap() -> None:
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def measure(fn: Callable[[], object]) -> tuple[float, float, object]:
    """(seconds, peak RSS growth MB, result) of one call."""
    gc.collect()
    _trim_heap()
    try:
        Path("/proc/self/clear_refs").write_text("5")
        hwm = True
    except OSError:
        hwm = False
    rss0 = _status_kb("VmRSS")
    t0 = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - t0
    peak = (_status_kb("VmHWM") - rss0) / 1024 if hwm else float("nan")
    return seconds, peak, result


def repeat(fn: Callable[[], object], runs: int) -> dict:
    fn()  # warm-up (imports, PROJ database, page cache)
    times, peaks, result = [], [], None
    for _ in range(runs):
        s, p, result = measure(fn)
        times.append(s)
        peaks.append(p)
        del result
        result = None
    s, p, result = measure(fn)
    times.append(s)
    peaks.append(p)
    return {"min": min(times), "median": statistics.median(times), "peak": max(peaks),
            "runs": len(times), "result": result}  # fmt: skip


def tiled(src: Path, k: int, out: Path) -> Path:
    """A synthetic city: ``src`` repeated k times on a grid (ids and indices shifted)."""
    doc = json.loads(src.read_text(encoding="utf-8"))
    verts = doc["vertices"]
    n = len(verts)
    xs = [v[0] for v in verts]
    ys = [v[1] for v in verts]
    dx, dy = max(xs) - min(xs) + 1000, max(ys) - min(ys) + 1000
    side = int(k**0.5 + 0.999)

    def shift(b, off):
        return [shift(x, off) for x in b] if isinstance(b, list) else b + off

    objects, all_verts = {}, []
    for t in range(k):
        ox, oy = (t % side) * dx, (t // side) * dy
        all_verts.extend([v[0] + ox, v[1] + oy, v[2]] for v in verts)
        for oid, obj in doc["CityObjects"].items():
            o = dict(obj)
            o["geometry"] = [
                {**g, "boundaries": shift(g["boundaries"], t * n)} for g in obj.get("geometry", [])
            ]
            for key in ("parents", "children"):
                if key in o:
                    o[key] = [f"{p}-{t}" for p in o[key]]
            objects[f"{oid}-{t}"] = o
    doc["CityObjects"], doc["vertices"] = objects, all_verts
    doc.get("metadata", {}).pop("geographicalExtent", None)
    out.write_text(json.dumps(doc, separators=(",", ":")), encoding="utf-8")
    return out


def bench_file(path: Path, runs: int, with_cjio: bool) -> list[dict]:
    import orjson

    import importers

    size_mb = path.stat().st_size / 2**20
    scene = importers.scene_for(path)
    rows = []

    def json_load():
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)

    doc = json_load()
    n_obj = len(doc["CityObjects"])
    del doc
    floor = repeat(json_load, runs)
    rows.append({"method": "json.load (floor)", **floor, "objects": n_obj, "tris": None})

    def json_load_nogc():
        gc.disable()
        try:
            return json_load()
        finally:
            gc.enable()

    r = repeat(json_load_nogc, runs)
    rows.append({"method": "json.load, gc paused", **r, "objects": n_obj, "tris": None})
    r = repeat(lambda: orjson.loads(path.read_bytes()), runs)
    rows.append({"method": "orjson.loads", **r, "objects": n_obj, "tris": None})
    r = repeat(lambda: importers.open(path, scene, importer="cityjson"), runs)
    tris = r["result"][0].n_triangles
    assert len(r["result"][0].features) == n_obj
    rows.append({"method": "**ours** (importers.cityjson)", **r, "objects": n_obj, "tris": tris})
    if with_cjio:
        try:
            from cjio import cityjson as cj
        except ImportError:
            cj = None
        if cj is not None:

            def cjio_load():
                with open(path, encoding="utf-8") as fh:
                    return cj.reader(fh)

            r = repeat(cjio_load, runs)
            rows.append({"method": "cjio reader", **r, "objects": n_obj, "tris": None})

            def cjio_tri():
                m = cjio_load()
                m.triangulate(sloppy=True)
                return m

            if size_mb < 5:  # pure-Python triangulation: ~1.5 s per MB
                r = repeat(cjio_tri, max(1, runs // 2))
                rows.append({"method": "cjio reader + triangulate", **r, "objects": n_obj,
                             "tris": None})  # fmt: skip
    for row in rows:
        row["file"] = path.name
        row["size_mb"] = size_mb
        row["x_floor"] = row["median"] / floor["median"]
        row.pop("result", None)
    return rows


def table(rows: list[dict]) -> str:
    out = [
        "| file | MB | method | min s | median s | runs | x json.load (median) "
        "| CityObjects/s | triangles/s | peak RSS MB |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        ops = f"{r['objects'] / r['median']:,.0f}" if r["objects"] else "-"
        tps = f"{r['tris'] / r['median']:,.0f}" if r["tris"] else "-"
        out.append(
            f"| {r['file']} | {r['size_mb']:.1f} | {r['method']} | {r['min']:.3f} | "
            f"{r['median']:.3f} | {r['runs']} | {r['x_floor']:.2f} | {ops} | {tps} | "
            f"{r['peak']:.0f} |"
        )
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--files", type=int, default=2, help="largest N real files")
    ap.add_argument("--tile", type=int, default=9, help="synthetic: largest file x K (0: off)")
    ap.add_argument("--no-cjio", action="store_true")
    ap.add_argument("--quick", action="store_true", help="1 run, 1 file, no tiling")
    args = ap.parse_args()
    if args.quick:
        args.runs, args.files, args.tile = 1, 1, 0
    if not REAL.is_dir():
        raise SystemExit(f"no corpus at {REAL}")
    files = sorted(REAL.glob("*.city.json"), key=lambda p: -p.stat().st_size)[: args.files]
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}")  # fmt: skip
    rows: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        if args.tile > 1:
            files.append(tiled(files[0], args.tile, Path(tmp) / f"tiled_x{args.tile}.city.json"))
        for path in files:
            print(f"... {path.name}", flush=True)
            rows.extend(bench_file(path, args.runs, not args.no_cjio))
    print()
    print(table(rows))
    ours = [r for r in rows if r["method"].startswith("**ours")]
    worst = max(r["x_floor"] for r in ours)
    verdict = "MET" if worst <= 3.0 else "MISSED"
    print(f"\nTarget: import within 3x of json.load: {verdict} (worst {worst:.2f}x)")


if __name__ == "__main__":
    main()
