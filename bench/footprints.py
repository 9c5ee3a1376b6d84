"""Seeded synthetic city: building footprints laid out on a grid of city blocks.

Every building sits in its own lot; lots are grouped into blocks separated by
streets, so footprints never overlap or touch. The mix follows a typical
mid-rise city: mostly rectangles 6-30 m a side, ~15% L-shapes, ~3% courtyard
buildings (a polygon with one hole), ~5% rotated off the street grid, and
heights skewed towards low-rise (6-80 m, median ~13 m).

    >>> from bench.footprints import make_city
    >>> city = make_city(1000, seed=1)
    >>> city.geoms.shape, bool(city.heights.min() >= 6)
    ((1000,), True)
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import numpy as np
import shapely

LOT = 34.0  # lot pitch (m): the largest building (30 m) plus a 4 m gap
LOTS_PER_BLOCK = (4, 3)  # lots along x, y in one city block
STREET = 16.0  # street width between blocks (m)
MIN_SIDE, MAX_SIDE = 6.0, 30.0
MIN_HEIGHT, MAX_HEIGHT = 6.0, 80.0
SHARE_L, SHARE_COURTYARD, SHARE_ROTATED = 0.15, 0.03, 0.05


@dataclass
class City:
    """Footprints (scene-local metres), heights and the kind of each building."""

    geoms: np.ndarray  # (n,) shapely Polygons
    heights: np.ndarray  # (n,) float64 metres
    kind: np.ndarray  # (n,) "rect" | "L" | "courtyard"
    rotated: np.ndarray  # (n,) bool

    def __len__(self) -> int:
        return len(self.geoms)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        b = shapely.total_bounds(self.geoms)
        return float(b[0]), float(b[1]), float(b[2]), float(b[3])


def lot_centres(n: int) -> np.ndarray:
    """(n, 2) centres of the first ``n`` lots of a square-ish grid of blocks."""
    bx, by = LOTS_PER_BLOCK
    per_block = bx * by
    n_blocks = -(-n // per_block)
    blocks_x = int(np.ceil(np.sqrt(n_blocks)))
    lot = np.arange(n)
    block, within = np.divmod(lot, per_block)
    block_y, block_x = np.divmod(block, blocks_x)
    lot_y, lot_x = np.divmod(within, bx)
    x = block_x * (bx * LOT + STREET) + (lot_x + 0.5) * LOT
    y = block_y * (by * LOT + STREET) + (lot_y + 0.5) * LOT
    return np.column_stack([x, y]).astype(np.float64)


def _rect_rings(w: np.ndarray, d: np.ndarray) -> np.ndarray:
    """(n, 5, 2) closed counter-clockwise rectangles centred on the origin."""
    hw, hd = w / 2, d / 2
    xs = np.stack([-hw, hw, hw, -hw, -hw], axis=1)
    ys = np.stack([-hd, -hd, hd, hd, -hd], axis=1)
    return np.stack([xs, ys], axis=2)


def _l_rings(w: np.ndarray, d: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(n, 7, 2) L-shapes: a w x d rectangle with one corner notch cut out."""
    hw, hd = w / 2, d / 2
    cut_x = w * rng.uniform(0.35, 0.65, len(w))
    cut_y = d * rng.uniform(0.35, 0.65, len(w))
    xs = np.stack([-hw, hw, hw, hw - cut_x, hw - cut_x, -hw, -hw], axis=1)
    ys = np.stack([-hd, -hd, hd - cut_y, hd - cut_y, hd, hd, -hd], axis=1)
    rings = np.stack([xs, ys], axis=2)
    # Put the notch in a random corner by mirroring.
    flip = rng.integers(0, 2, (len(w), 2)) * 2 - 1
    rings = rings * flip[:, None, :]
    odd = flip[:, 0] * flip[:, 1] < 0  # one mirror flips the winding: restore CCW
    rings[odd] = rings[odd, ::-1]
    return rings


def _rotate(rings: np.ndarray, angle: np.ndarray) -> np.ndarray:
    c, s = np.cos(angle)[:, None], np.sin(angle)[:, None]
    x, y = rings[..., 0], rings[..., 1]
    return np.stack([c * x - s * y, s * x + c * y], axis=-1)


def make_city(n: int, seed: int = 0) -> City:
    """``n`` footprints with heights, reproducible for a given ``seed``."""
    rng = np.random.default_rng(seed)
    kind = rng.choice(
        np.array(["rect", "L", "courtyard"], dtype=object),
        size=n,
        p=[1 - SHARE_L - SHARE_COURTYARD, SHARE_L, SHARE_COURTYARD],
    )
    rotated = rng.random(n) < SHARE_ROTATED
    # Side lengths: skewed towards small houses, clipped to 6-30 m.
    w = np.clip(rng.lognormal(np.log(13.0), 0.45, n), MIN_SIDE, MAX_SIDE)
    d = np.clip(rng.lognormal(np.log(11.0), 0.45, n), MIN_SIDE, MAX_SIDE)
    big = kind == "courtyard"  # courtyards need room for a hole
    w[big] = rng.uniform(20.0, MAX_SIDE, big.sum())
    d[big] = rng.uniform(20.0, MAX_SIDE, big.sum())
    # A rotated building must still fit its lot: diagonal <= lot pitch - 2 m.
    diag = np.hypot(w, d)
    shrink = np.where(rotated, np.minimum(1.0, (LOT - 2.0) / diag), 1.0)
    w, d = w * shrink, d * shrink
    angle = np.where(rotated, rng.uniform(0.1, np.pi / 2 - 0.1, n), 0.0)
    # Jitter within the lot where the building leaves room.
    slack = (LOT - 2.0 - np.maximum(w, d)) / 2
    jitter = rng.uniform(-1, 1, (n, 2)) * np.where(rotated, 0.0, np.maximum(slack, 0))[:, None]
    centre = lot_centres(n) + jitter
    heights = np.clip(rng.lognormal(np.log(13.0), 0.6, n), MIN_HEIGHT, MAX_HEIGHT)
    heights[big] = np.clip(heights[big], 12.0, 40.0)

    geoms = np.empty(n, dtype=object)
    for name, shell_fn in (("rect", _rect_rings), ("L", _l_rings), ("courtyard", _rect_rings)):
        sel = np.flatnonzero(kind == name)
        if sel.size == 0:
            continue
        shells = shell_fn(w[sel], d[sel], rng) if name == "L" else shell_fn(w[sel], d[sel])
        shells = _rotate(shells, angle[sel]) + centre[sel, None, :]
        holes = None
        if name == "courtyard":
            inner = _rect_rings(w[sel] * rng.uniform(0.3, 0.5, sel.size), d[sel] * 0.4)
            inner = _rotate(inner[:, ::-1], angle[sel]) + centre[sel, None, :]  # clockwise
            holes = inner[:, None, :, :]
        geoms[sel] = shapely.polygons(shells, holes=holes)
    return City(geoms, heights, kind, rotated)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    city = make_city(args.n, args.seed)
    kinds, counts = np.unique(city.kind.astype(str), return_counts=True)
    xmin, ymin, xmax, ymax = city.bounds
    print(f"{len(city)} buildings over {xmax - xmin:.0f} x {ymax - ymin:.0f} m")
    print("kinds:", dict(zip(kinds.tolist(), counts.tolist(), strict=True)))
    print(f"rotated: {city.rotated.sum()}  valid: {shapely.is_valid(city.geoms).all()}")
    print(
        f"heights: min {city.heights.min():.1f}  median {np.median(city.heights):.1f}  "
        f"max {city.heights.max():.1f}"
    )
    union_area = shapely.union_all(city.geoms[: min(len(city), 5000)]).area
    sum_area = shapely.area(city.geoms[: min(len(city), 5000)]).sum()
    print(f"overlap check (first 5000): union/sum area = {union_area / sum_area:.9f}")


if __name__ == "__main__":
    main()
