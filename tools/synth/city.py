"""Seeded whole-city synthetic Việt Trì (tens of thousands to millions of buildings).

The pilot district (:mod:`tools.synth.district`) is hand-planned and has ~2,400
buildings; streaming, tiling and the whole-city benchmarks need the scale of a
whole city (≥ 60,000 buildings) and a 1,000,000-building stress city. Planning
each block by hand does not scale, so this city reuses the grid-of-blocks
footprints of :func:`bench.footprints.make_city` (non-overlapping, mixed shapes
and heights), cuts streets between the blocks, turns a seeded share of blocks
into parks, and writes the district's GeoPackage schema (``buildings``,
``roads``, ``landuse``, ``pois``) in EPSG:9208 through
:func:`tools.synth.district.write_geopackage`, rotated onto Hùng Vương's axis
around the district's anchor. Same seed, same bytes.

    python -m tools.synth.city -o /tmp/viet_tri_city.gpkg --buildings 60000
    python -m tools.synth.city -o ~/.cache/citytwin/city_1m.gpkg --buildings 1000000

Load into PostGIS with the existing ``citytwin db load FILE --to URL --table NAME``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import shapely

from bench.footprints import LOT, LOTS_PER_BLOCK, STREET, lot_centres, make_city
from tools.synth.district import (
    ANCHOR_LONLAT,
    AXIS_DEG,
    CRS,
    LANDUSE_HEIGHT,
    LEVEL_HEIGHT,
    District,
    LayerData,
    local_to_crs,
    write_geopackage,
)

PARK_SHARE = 0.04
"""Share of city blocks left as parks (their buildings are not built)."""
PREFIX = "VTC"


def _block_pitch() -> tuple[float, float]:
    bx, by = LOTS_PER_BLOCK
    return bx * LOT + STREET, by * LOT + STREET


def _classes(heights: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Building class by height: houses low, apartments and offices tall."""
    mid = np.where(heights < 30.0, "shophouse", "apartment")
    cls = np.where(heights < 14.0, "residential", mid).astype(object)
    tall = heights >= 30.0
    cls[tall & (rng.random(len(heights)) < 0.3)] = "office"
    return cls


def generate_city(buildings: int = 60_000, seed: int = 269) -> District:
    """A city of exactly ``buildings`` footprints with its streets and parks."""
    rng = np.random.default_rng(seed)
    per_block = LOTS_PER_BLOCK[0] * LOTS_PER_BLOCK[1]
    n = int(np.ceil(buildings / (1 - PARK_SHARE) * 1.02)) + per_block
    city = make_city(n, seed)
    block = np.arange(n) // per_block
    park_block = rng.random(block.max() + 1) < PARK_SHARE
    keep = np.flatnonzero(~park_block[block])[:buildings]
    n_blocks = int(block[keep[-1]]) + 1

    centres = lot_centres(n)[keep]
    half = (centres.min(axis=0) + centres.max(axis=0)) / 2  # the city centres on the anchor
    to_crs = local_to_crs(ANCHOR_LONLAT, AXIS_DEG, CRS)

    def place(geoms: np.ndarray) -> np.ndarray:
        return shapely.transform(geoms, lambda xy: to_crs(xy - half))

    heights = np.round(city.heights[keep], 2)
    levels = np.maximum(1, np.round(heights / LEVEL_HEIGHT)).astype(np.int32)
    b_geoms = place(city.geoms[keep])
    zone = np.where(np.hypot(*(centres - half).T) < 2500.0, "old_town", "new_urban").astype(object)
    buildings_layer = LayerData(
        b_geoms,
        {
            "id": np.array([f"{PREFIX}-B-{k + 1:07d}" for k in range(len(keep))], dtype=object),
            "name": np.full(len(keep), "", dtype=object),
            "class": _classes(heights, rng),
            "height": heights,
            "building:levels": levels,
            "min_height": np.zeros(len(keep)),
            "zone": zone,
        },
        "MultiPolygon",
    )

    # Streets run down the middle of the gaps between blocks.
    px, py = _block_pitch()
    blocks_x = int(np.ceil(np.sqrt(-(-n // per_block))))
    blocks_y = -(-n_blocks // blocks_x)
    xs = np.arange(blocks_x + 1) * px - STREET / 2
    ys = np.arange(blocks_y + 1) * py - STREET / 2
    lines = [shapely.linestrings([[x, ys[0]], [x, ys[-1]]]) for x in xs]
    lines += [shapely.linestrings([[xs[0], y], [xs[-1], y]]) for y in ys]
    cls = ["primary" if k % 6 == 0 else "residential" for k in range(len(xs))]
    cls += ["primary" if k % 6 == 0 else "residential" for k in range(len(ys))]
    n_roads = len(lines)
    roads = LayerData(
        place(np.array(lines, dtype=object)),
        {
            "id": np.array([f"{PREFIX}-R-{k + 1:05d}" for k in range(n_roads)], dtype=object),
            "name": np.array([f"Đường số {k + 1}" for k in range(n_roads)], dtype=object),
            "class": np.array(cls, dtype=object),
            "width": np.array([14.0 if c == "primary" else 8.0 for c in cls]),
            "lanes": np.array([4 if c == "primary" else 2 for c in cls], dtype=np.int32),
        },
        "LineString",
    )

    parks = np.flatnonzero(park_block[:n_blocks])
    bx0 = (parks % blocks_x) * px
    by0 = (parks // blocks_x) * py
    park_geoms = shapely.box(bx0, by0, bx0 + px - STREET, by0 + py - STREET)
    landuse = LayerData(
        place(park_geoms),
        {
            "id": np.array([f"{PREFIX}-L-{k + 1:05d}" for k in range(len(parks))], dtype=object),
            "name": np.array([f"Công viên {k + 1}" for k in range(len(parks))], dtype=object),
            "class": np.full(len(parks), "park", dtype=object),
            "height": np.full(len(parks), LANDUSE_HEIGHT["park"]),
        },
        "Polygon",
    )
    pois = LayerData(
        shapely.centroid(landuse.geometry),
        {
            "id": np.array([f"{PREFIX}-P-{k + 1:05d}" for k in range(len(parks))], dtype=object),
            "name": landuse.columns["name"].copy(),
            "class": np.full(len(parks), "park", dtype=object),
        },
        "Point",
    )
    return District(buildings_layer, roads, landuse, pois, seed)


def write_city(city: District, path: str | Path) -> None:
    """Write the city's four layers (spatially indexed) into one GeoPackage."""
    meta = {
        "generator": "tools.synth.city",
        "seed": str(city.seed),
        "synthetic": "yes: a grid city for whole-city scale tests, not a real plan",
    }
    write_geopackage(city, path, meta)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.synth.city",
        description="Generate a whole-city synthetic Việt Trì (EPSG:9208) as a GeoPackage.",
    )
    parser.add_argument("-o", "--output", type=Path, required=True, help="GeoPackage to write")
    parser.add_argument("--buildings", type=int, default=60_000, help="buildings (default 60000)")
    parser.add_argument("--seed", type=int, default=269, help="random seed (default 269)")
    args = parser.parse_args(argv)
    if args.buildings < 1:
        parser.error("--buildings must be at least 1")
    t0 = time.perf_counter()
    city = generate_city(args.buildings, args.seed)
    t1 = time.perf_counter()
    write_city(city, args.output)
    t2 = time.perf_counter()
    sys.stdout.write(
        f"{len(city.buildings)} buildings, {len(city.roads)} roads, {len(city.landuse)} parks "
        f"-> {args.output} (generate {t1 - t0:.1f} s, write {t2 - t1:.1f} s)\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
