"""What the planning department's own files cost: a large DXF plan and a large orthophoto.

DXF: a seeded drawing of N lots (closed polylines with a kerb arc each), N lot
codes (TEXT) and N/2 trees (INSERT) is written once; it is then imported
end to end (``importers.open``: ezdxf.recover in the reader child, meshes, three
layers), and the text-to-lot attachment alone is timed two ways on the same
polygons for the first 2,000 texts: the importer's one STRtree query
(``importers.dxf.attach_texts``) against a per-text loop, each text tested
against every lot with one vectorised ``shapely.contains``.

Orthophoto: a seeded RGB GeoTIFF of S x S pixels (0.5 m, VN-2000) is written
twice, tiled and deflated with overviews (a COG-like file) and plain; each is
imported into a 4096- and a 1024-texel basemap (``importers.open(...,
importer="orthophoto")``), interleaved: what overviews save once the texture
is much coarser than the image, and what compression costs when it is not.

    .venv/bin/python bench/bench_planning_files.py [--lots 20000] [--size 12000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
X0, Y0 = 566000.0, 2355000.0


def write_dxf(path: Path, lots: int, seed: int = 15) -> None:
    import ezdxf

    rng = np.random.default_rng(seed)
    doc = ezdxf.new("R2010")
    doc.header["$INSUNITS"] = 6
    tree = doc.blocks.new("CAY_XANH")
    tree.add_circle((0, 0), 1.5)
    msp = doc.modelspace()
    per_row = math.ceil(math.sqrt(lots))
    for i in range(lots):
        x = X0 + (i % per_row) * 24.0
        y = Y0 + (i // per_row) * 34.0
        w, d = rng.uniform(12, 20), rng.uniform(20, 30)
        pts = [(x, y, 0, 0, 0), (x + w, y, 0, 0, 0), (x + w, y + d - 3, 0, 0, 0.41421356),
               (x + w - 3, y + d, 0, 0, 0), (x, y + d, 0, 0, 0)]
        msp.add_lwpolyline(pts, format="xyseb", close=True, dxfattribs={"layer": "LO_DAT"})
        msp.add_text(f"LK-{i:05d}", height=2.0,
                     dxfattribs={"layer": "TEXT_LO_DAT"}).set_placement((x + w / 2, y + d / 2))
        if i % 2 == 0:
            msp.add_blockref("CAY_XANH", (x + w + 2, y + 2), dxfattribs={"layer": "KY_HIEU"})
    doc.saveas(path)


def write_tiff(path: Path, size: int, overviews: bool, seed: int = 15) -> None:
    import rasterio
    from rasterio.enums import Resampling

    rng = np.random.default_rng(seed)
    profile = {"driver": "GTiff", "width": size, "height": size, "count": 3, "dtype": "uint8",
               "crs": "EPSG:9208", "transform": rasterio.Affine(0.5, 0, X0, 0, -0.5, Y0 + size / 2)}
    if overviews:
        profile.update(tiled=True, blockxsize=512, blockysize=512, compress="deflate")
    with rasterio.open(path, "w", **profile) as ds:
        step = 1024
        for r0 in range(0, size, step):
            h = min(step, size - r0)
            yy, xx = np.mgrid[r0:r0 + h, 0:size]
            base = (np.sin(xx / 300.0) + np.cos(yy / 410.0)) * 60 + 120
            for b in range(3):
                band = base + b * 20 + rng.normal(0, 12, base.shape)
                ds.write(np.clip(band, 0, 255).astype(np.uint8), b + 1,
                         window=rasterio.windows.Window(0, r0, size, h))
        if overviews:
            ds.build_overviews([2, 4, 8, 16, 32], Resampling.average)


def _median(values: list[float]) -> float:
    return statistics.median(values)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lots", type=int, default=20000)
    parser.add_argument("--size", type=int, default=12000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--parts", default="dxf,ortho", help="dxf, ortho or both (dxf,ortho)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if "dxf" in args.parts:
            bench_dxf(args.lots, args.repeat, Path(tmp), sys.stdout)
        if "ortho" in args.parts:
            bench_ortho(args.size, args.repeat, Path(tmp), sys.stdout)
    return 0


def bench_dxf(lots: int, repeat: int, tmp: Path, out) -> None:
    import shapely

    import importers
    from importers import dxf
    from twin.scene import Scene

    plan = tmp / "plan.dxf"
    t = time.perf_counter()
    write_dxf(plan, lots)
    out.write(f"DXF: {lots:,} lots, {plan.stat().st_size / 2**20:.1f} MB written in "
              f"{time.perf_counter() - t:.1f} s\n")
    scene = Scene(crs="EPSG:9208", origin=[X0, Y0, 0.0], name="bench")
    opened = []
    for _ in range(repeat):
        t = time.perf_counter()
        layers = importers.open(plan, scene, {"crs": "EPSG:9208"})
        opened.append(time.perf_counter() - t)
    labelled = int((layers[0].features.column("label") != "").sum())
    out.write(f"  import end to end: min {min(opened):.2f} s, median {_median(opened):.2f} s "
              f"({sum(len(la.features) for la in layers):,} features, "
              f"{labelled:,} lots labelled)\n")
    found = dxf.parse(str(plan), dxf.FLATTEN_M)
    geoms = shapely.from_wkb(found["wkb"])
    is_poly = shapely.get_dimensions(geoms) == 2
    m = min(2000, len(found["texts"]))
    xy, texts = found["text_xy"][:m], found["texts"][:m]
    tree_t, loop_t = [], []
    for _ in range(repeat):
        t = time.perf_counter()
        labels, _ = dxf.attach_texts(geoms, is_poly, xy, texts)
        tree_t.append(time.perf_counter() - t)
        t = time.perf_counter()
        naive = _naive_attach(geoms, is_poly, xy, texts)
        loop_t.append(time.perf_counter() - t)
    assert list(labels) == list(naive), "the two attachments disagree"
    out.write(f"  {m:,} texts -> lot: STRtree {_median(tree_t) * 1e3:.0f} ms, per-text loop "
              f"{_median(loop_t) * 1e3:.0f} ms (x{_median(loop_t) / _median(tree_t):.0f})\n")


def bench_ortho(size: int, repeat: int, tmp: Path, out) -> None:
    import importers
    from twin.scene import Scene

    tiffs = {}
    for name, ovr in (("overviews", True), ("plain", False)):
        path = tmp / f"{name}.tif"
        t = time.perf_counter()
        write_tiff(path, size, ovr)
        tiffs[name] = path
        out.write(f"GeoTIFF {size}x{size} {name}: {path.stat().st_size / 2**20:.0f} MB "
                  f"written in {time.perf_counter() - t:.1f} s\n")
    for side in (4096, 1024):
        times: dict[str, list[float]] = {k: [] for k in tiffs}
        for _ in range(repeat):
            for name, path in tiffs.items():
                sc = Scene(crs="EPSG:9208", origin=[X0, Y0, 0.0], name="bench")
                t = time.perf_counter()
                (layer,) = importers.open(path, sc, {"max_size": side}, importer="orthophoto")
                times[name].append(time.perf_counter() - t)
        for name, ts in times.items():
            out.write(f"  basemap import, max_size {side} ({name}): min {min(ts):.2f} s, "
                      f"median {_median(ts):.2f} s -> texture {layer.info['texture_size']}, "
                      f"{layer.mesh.n_cells:,} triangles\n")
        out.write(f"  plain / overviews (median, max_size {side}): "
                  f"{_median(times['plain']) / _median(times['overviews']):.1f}\n")


def _naive_attach(geoms, is_poly, text_xy, texts):
    """The obvious loop: every text against every lot, smallest holder wins."""
    import shapely

    rows = np.flatnonzero(is_poly)
    areas = shapely.area(geoms[rows])
    labels = np.full(len(geoms), "", dtype=object)
    parts: dict[int, list[str]] = {}
    polys = geoms[rows]
    for k, (x, y) in enumerate(text_xy):
        hits = np.flatnonzero(shapely.contains(polys, shapely.Point(x, y)))
        if hits.size:
            best = hits[np.argmin(areas[hits])]
            parts.setdefault(int(rows[best]), []).append(texts[k])
    for row, ps in parts.items():
        labels[row] = "; ".join(ps)
    return labels


if __name__ == "__main__":
    raise SystemExit(main())
