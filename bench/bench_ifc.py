"""IFC import: bare ``ifcopenshell.geom.iterator`` loop vs our import, cold and cached.

For each of the largest IFC files in ``../shared/data/ifc`` (or the files given),
in one run and interleaved (raw, ours, raw, ours, ...) so that the load of this
shared machine hits both alike:

raw
    ``ifcopenshell.open`` + ``geom.iterator`` with the settings and thread count
    the importer uses (hybrid kernel, ``use-world-coords`` off) over the same
    elements the importer sends to the kernel (products with a body
    representation, openings excluded; choosing them is *not* timed here but is
    in ours), copying every shape's vertices, faces and matrix into numpy. Run
    in a fresh child process per repetition (timed inside it, interpreter
    start-up excluded) so its parse memory does not pollute our numbers.
cold
    ``importers.open(path, scene)`` with the cache off: worker process start,
    parse, semantics, geometry, transfer, placement, merged PolyData, table.
cached
    the same call with the cache on, the entry already written.

kernel only
    ours cold with the fast path off (``fastpath = false``: the importer before
    issue 20), so "not slower than today" is measured in the same run.

Reports min and median of ``--repeat`` runs (after one warm-up of each), the
ratios against the targets (issue 20: cold >= 2x faster than raw on the towers,
not slower than kernel-only on the shared models; cached >= 20 x faster than
cold), elements/s, triangles, and peak RSS: the raw child's (RUSAGE_CHILDREN),
the import's (``import_peak_rss_mb``: the worker's peak while its fast-path
helpers ran plus their private memory, or its own peak after them, whichever
is higher: what the import held at once), the worker's own (``ru_maxrss``),
and this process's.

Run from the repository root::

    .venv/bin/python bench/bench_ifc.py                  # 4 largest files, 5 repeats
    .venv/bin/python bench/bench_ifc.py --repeat 3 FILE.ifc ...
    .venv/bin/python bench/bench_ifc.py --append-results  # also append to bench/RESULTS.md
    .venv/bin/python bench/bench_ifc.py --towers 20 150 --repeat 3  # the seeded towers only
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from machine import cpu_model

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED_IFC = ROOT.parent / "shared" / "data" / "ifc"

RAW_CHILD = r"""
import json, sys, time, resource
import numpy as np
import ifcopenshell, ifcopenshell.geom
import importlib.util
path, threads, kernel, ifc_dir, filter_mode = sys.argv[1:6]
threads, plain = int(threads), filter_mode == "plain"
def load(name):
    # one of the importer's IfcOpenShell-only modules, alone (no pyvista, pyproj here)
    spec = importlib.util.spec_from_file_location(name, f"{ifc_dir}/{name}.py")
    module = sys.modules[name] = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
selection = load("selection")  # the importer's element filter
s = ifcopenshell.geom.settings()
s.set("use-world-coords", False)
s.set("weld-vertices", True)
s.set("apply-default-materials", True)
# the kernel's first-use set-up, done before timing as the importer's forkserver does
load("kernel_warmup").warm(kernel, s)
def cpu():
    u = resource.getrusage(resource.RUSAGE_SELF)
    return u.ru_utime + u.ru_stime
c0 = cpu()
t0 = time.perf_counter()
f = ifcopenshell.open(path)
t_sel = time.perf_counter()
c_sel = cpu()
# "plain": the iterator's own element filter, as a script would call it
todo = None if plain else selection.select(f).of_kind("body")
t0 += time.perf_counter() - t_sel  # choosing the elements is not part of "raw"
c0 += cpu() - c_sel
n = tris = 0
if todo or plain:
    it = ifcopenshell.geom.iterator(s, f, threads, include=todo, geometry_library=kernel)
    if it.initialize():
        while True:
            shape = it.get()
            g = shape.geometry
            v = np.frombuffer(g.verts_buffer, dtype=np.float64).reshape(-1, 3).copy()
            fc = np.frombuffer(g.faces_buffer, dtype=np.int32).reshape(-1, 3).copy()
            m = np.frombuffer(shape.transformation_buffer, dtype=np.float64).copy()
            n += 1
            tris += len(fc)
            if not it.next():
                break
dt = time.perf_counter() - t0
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
out = {"seconds": dt, "elements": n, "triangles": tris, "rss_mb": rss, "cpu_s": cpu() - c0}
print(json.dumps(out))
"""


def largest_files(n: int) -> list[Path]:
    files = [p for p in SHARED_IFC.rglob("*.ifc") if "malformed" not in p.parts]
    files = [p for p in files if "legacy" not in p.parts]
    return sorted(files, key=lambda p: p.stat().st_size, reverse=True)[:n]


def settle() -> None:
    """Wait until the spare worker forked after the last import is ready, so
    its fork does not land inside the next timed run (raw or ours)."""
    from importers import childpool

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        spare = childpool._SPARE
        if spare is not None and spare[0].is_alive():
            break
        time.sleep(0.02)
    time.sleep(0.2)


def run_raw(path: Path, threads: int, kernel: str, plain: bool = False) -> dict:
    """The raw loop in a fresh process: on the importer's element selection
    (chosen untimed), or ``plain`` (no include list: the iterator's own filter)."""
    settle()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            RAW_CHILD,
            str(path),
            str(threads),
            kernel,
            str(ROOT / "importers" / "ifc"),
            "plain" if plain else "selected",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=1800,
    )
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
    if out.returncode != 0 or not lines:
        raise RuntimeError(f"raw loop failed on {path}: {out.stderr[-500:]}")
    return json.loads(lines[-1])


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def run_ours(path: Path, cache: bool, fastpath: bool = True) -> tuple[float, list]:
    """Wall seconds and layers; ``layers[0].info["bench_cpu_s"]`` is this process's
    CPU during the call plus the worker's own (all threads). ``fastpath=False``:
    every element to the kernel (the importer before issue 20)."""
    import importers
    from twin.scene import Scene

    scene = Scene(crs="EPSG:3857")
    settle()
    c0 = _cpu()
    t0 = time.perf_counter()
    layers = importers.open(path, scene, {"cache": cache, "fastpath": fastpath})
    dt = time.perf_counter() - t0
    layers[0].info["bench_cpu_s"] = _cpu() - c0 + float(layers[0].info.get("worker_cpu_s") or 0)
    return dt, layers


def stats(values: list[float]) -> tuple[float, float]:
    return min(values), statistics.median(values)


def bench_file(
    path: Path, repeat: int, kernel_too: bool = True, warm: bool = True, plain_runs: int = 3
) -> dict:
    """``kernel_too``: also time our import with the fast path off (paired);
    ``warm``: one untimed run of each first (off for the 150 MB tower)."""
    from importers.ifc import cache as ifc_cache
    from importers.ifc.options import IfcOptions

    opts = IfcOptions()
    raw_t, cold_t, raw_info, worker_rss, import_rss = [], [], None, [], []
    raw_cpu, cold_cpu, kern_t, fast_info = [], [], [], {}
    if warm:  # forkserver start, page cache, pyproj databases: not counted
        run_raw(path, opts.threads, opts.kernel)
        run_ours(path, cache=False)
    # Each repeat runs raw and ours back to back, so their ratio sees the same
    # moment of a shared VM whose speed drifts by tens of percent.
    for i in range(repeat):
        order = ["raw", "ours"] if i % 2 == 0 else ["ours", "raw"]
        if kernel_too:
            order.append("kernel only")
        for which in order:
            if which == "raw":
                raw_info = run_raw(path, opts.threads, opts.kernel)
                raw_t.append(raw_info["seconds"])
                raw_cpu.append(raw_info["cpu_s"])
            elif which == "kernel only":
                kern_t.append(run_ours(path, cache=False, fastpath=False)[0])
            else:
                dt, layers = run_ours(path, cache=False)
                cold_t.append(dt)
                cold_cpu.append(layers[0].info["bench_cpu_s"])
                worker_rss.append(layers[0].info.get("worker_peak_rss_mb") or 0.0)
                import_rss.append(layers[0].info.get("import_peak_rss_mb") or 0.0)
                fast_info = layers[0].info.get("fastpath") or {}
    # the plain loop (no include list), for context: what a script calling the
    # iterator without choosing elements pays
    plain = [
        run_raw(path, opts.threads, opts.kernel, plain=True) for _ in range(min(plain_runs, repeat))
    ] or [{"seconds": float("nan"), "elements": 0}]
    if not kernel_too:
        kern_t = [float("nan")]
    # cached: write the entry once, then reopen
    run_ours(path, cache=True)
    ifc_cache.flush()
    cached_t = []
    for _ in range(repeat):
        dt, layers = run_ours(path, cache=True)
        assert layers[0].info["cache"] == "hit", layers[0].info["cache"]
        cached_t.append(dt)
    main = layers[0]
    n_el = sum(len(la.features) for la in layers)
    tris = sum(la.n_triangles for la in layers)
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {
        "file": str(path.relative_to(SHARED_IFC)) if SHARED_IFC in path.parents else str(path),
        "size_mb": path.stat().st_size / 1e6,
        "schema": main.info.get("schema"),
        "elements": n_el,
        "with_geometry": sum(la.info.get("elements_with_geometry", 0) for la in layers),
        "raw_elements": raw_info["elements"],
        "triangles": tris,
        "raw_triangles": raw_info["triangles"],
        "unique_geometries": main.info.get("unique_geometries"),
        "raw": stats(raw_t),
        "raw_cpu": stats(raw_cpu),
        "cold_cpu": stats(cold_cpu),
        "cold": stats(cold_t),
        "paired": sorted(c / r for c, r in zip(cold_t, raw_t, strict=True)),
        "kernel_only": stats(kern_t),
        "fastpath": fast_info,
        "plain": stats([p["seconds"] for p in plain]),
        "plain_elements": plain[0]["elements"],
        "cached": stats(cached_t),
        "raw_rss_mb": raw_info["rss_mb"],
        "raw_children_rss_mb": children,
        "worker_rss_mb": max(worker_rss),
        "import_rss_mb": max(import_rss),
        "parent_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "cache_mb": ifc_cache.entry_path(ifc_cache.key(ifc_cache.file_digest(path), opts))
        .stat()
        .st_size
        / 1e6,
        "threads": opts.threads,
        "kernel": main.info.get("kernel"),
    }


def table(rows: list[dict]) -> str:
    head = (
        "| file | MB | elements (with geometry) | triangles | raw min / med (s) | "
        "cold min / med (s) | cold / raw wall (min, med) | cold / raw paired: med [min-max] | "
        "plain iterator min / med (s) (elements) | CPU raw / cold, min (s) | "
        "cold / raw CPU | cached min / med | cold / cached (min) | elements/s cold | "
        "peak RSS raw / import (worker + helpers' private) / worker / parent (MB) | "
        "cache MB | raw / cold speed-up (min) | "
        "kernel-only cold min / med (s) | fast path / kernel elements |\n"
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        "---:|---:|---:|\n"
    )
    lines = []
    for r in rows:
        lines.append(
            f"| `{r['file']}` | {r['size_mb']:.1f} | {r['elements']} ({r['with_geometry']}) | "
            f"{r['triangles']:,} | {r['raw'][0]:.2f} / {r['raw'][1]:.2f} | "
            f"{r['cold'][0]:.2f} / {r['cold'][1]:.2f} | "
            f"{r['cold'][0] / r['raw'][0]:.2f} / {r['cold'][1] / r['raw'][1]:.2f} | "
            f"**{statistics.median(r['paired']):.2f}** "
            f"[{r['paired'][0]:.2f}-{r['paired'][-1]:.2f}] | "
            f"{r['plain'][0]:.2f} / {r['plain'][1]:.2f} ({r['plain_elements']}) | "
            f"{r['raw_cpu'][0]:.2f} / {r['cold_cpu'][0]:.2f} | "
            f"{r['cold_cpu'][0] / r['raw_cpu'][0]:.2f} | "
            f"{r['cached'][0] * 1000:.0f} / {r['cached'][1] * 1000:.0f} ms | "
            f"{r['cold'][0] / r['cached'][0]:.0f}x | "
            f"{r['elements'] / r['cold'][1]:.0f} | "
            f"{r['raw_rss_mb']:.0f} / {r['import_rss_mb']:.0f} / {r['worker_rss_mb']:.0f} / "
            f"{r['parent_rss_mb']:.0f} | "
            f"{r['cache_mb']:.1f} | **{r['raw'][0] / r['cold'][0]:.2f}x** | "
            f"{r['kernel_only'][0]:.2f} / {r['kernel_only'][1]:.2f} | "
            f"{r['fastpath'].get('elements', 0)} / {r['fastpath'].get('kernel', '-')} |"
        )
    return head + "\n".join(lines) + "\n"


def machine() -> str:
    cpu = cpu_model()
    import ifcopenshell
    import numpy

    return (
        f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}; "
        f"Python {platform.python_version()}, IfcOpenShell {ifcopenshell.version}, "
        f"numpy {numpy.__version__}"
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("files", nargs="*", type=Path)
    ap.add_argument("--count", type=int, default=4, help="how many of the largest files")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--append-results", action="store_true", help="append to bench/RESULTS.md")
    ap.add_argument(
        "--towers", type=float, nargs="*", default=[],
        help="the seeded bench towers of these sizes (MB, bench/ifc_towers.py), without "
        "warm-up, plain loop or kernel-only run; those of 100 MB or more run once",
    )  # fmt: skip
    ap.add_argument("--no-kernel-only", action="store_true", help="skip the fast-path-off runs")
    args = ap.parse_args()
    from ifc_towers import towers

    tower_files = towers(tuple(args.towers)) if args.towers else []
    files = tower_files + (args.files or ([] if args.towers else largest_files(args.count)))
    if not files:
        print(f"no IFC files (looked in {SHARED_IFC})")
        return 1
    tmp_cache = tempfile.mkdtemp(prefix="citytwin-bench-cache-")
    os.environ["CITYTWIN_CACHE_DIR"] = tmp_cache
    from importers.ifc import warm_up

    warm_up()
    t0 = time.perf_counter()
    rows = []
    for path in files:
        print(f"... {path.name}", flush=True)
        tower = path in tower_files
        big = tower and path.stat().st_size >= 100e6
        rows.append(
            bench_file(
                path,
                1 if big else args.repeat,
                kernel_too=not (tower or args.no_kernel_only),
                warm=not tower,
                plain_runs=0 if tower else 3,
            )
        )
    wall = time.perf_counter() - t0
    text = table(rows)
    print(text)
    print(json.dumps(rows, indent=1))
    if args.append_results:
        cmd = "bench/bench_ifc.py " + " ".join(sys.argv[1:])
        title = "IFC import: fast path on the seeded towers (issue 20)" if args.towers else ""
        section = (
            f"\n## {title or 'IFC import'}\n\n"
            f"Machine: {machine()}. Command: `.venv/bin/python {cmd.strip()}` "
            f"({wall:.0f} s wall, {args.repeat} interleaved repeats after one warm-up; "
            f"{rows[0]['threads']} geometry threads, kernel `{rows[0]['kernel']}`).\n\n" + text
        )
        with open(ROOT / "bench" / "RESULTS.md", "a", encoding="utf-8") as fh:
            fh.write(section)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
