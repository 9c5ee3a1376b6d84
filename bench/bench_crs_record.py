"""What keeping the CRS record costs an import (issue 16).

Times :func:`importers.georef.to_local` on N points (default 2,000,000, the
point-cloud budget) VN-2000 / TM-3 104-45 -> WGS 84 / UTM 48N with and without
the record (``ops=[]``), interleaved, plus :func:`twin.crs_record.record_transform`
alone. Run: ``.venv/bin/python bench/bench_crs_record.py [--n N] [--repeat R]``.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from importers.georef import to_local
from twin.crs_record import record_transform
from twin.scene import Scene


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2_000_000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    rng = np.random.default_rng(1)
    xyz = rng.random((args.n, 3)) * [3000.0, 3000.0, 60.0] + [566000.0, 2356000.0, 10.0]
    scene = Scene("EPSG:32648", (534000.0, 2357000.0, 0.0))
    to_local(xyz[:10], "EPSG:9208", scene, [])  # build and cache the transformer
    plain, recorded = [], []
    for _ in range(args.repeat):
        t = time.perf_counter()
        to_local(xyz, "EPSG:9208", scene)
        plain.append(time.perf_counter() - t)
        t = time.perf_counter()
        to_local(xyz, "EPSG:9208", scene, [])
        recorded.append(time.perf_counter() - t)
    t = time.perf_counter()
    for _ in range(100):
        record_transform("EPSG:9208", "EPSG:32648", (566000, 2356000, 569000, 2359000))
    alone = (time.perf_counter() - t) / 100
    p, r = statistics.median(plain), statistics.median(recorded)
    print("| points | to_local s | with record s | overhead | record_transform ms |")
    print("|---|---|---|---|---|")
    print(f"| {args.n:,} | {p:.3f} | {r:.3f} | {100 * (r - p) / p:+.1f} % | {alone * 1000:.2f} |")


if __name__ == "__main__":
    main()
