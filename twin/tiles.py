"""A quadtree of tiles over a layer's extent, and which tiles a camera needs.

A whole city (10^5-10^6 buildings) cannot be one merged mesh: it would take
minutes to read and gigabytes to hold, and most of it is off screen or far
away. The layer is cut into quadtree tiles instead, each owning the features
whose bounding-box centre lies in it (so every feature belongs to exactly one
tile) and each knowing its feature count and the box its features reach
(slightly larger than the tile). The view streams tiles by these boxes.

Pure numpy, no VTK and no readers: the readers (GeoPackage, PostGIS) live in
:mod:`importers.tile_reader`, the drawing in :mod:`twin.render.tiled`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: a tile is split while it owns more features than this (about 20 ms of meshing)
MAX_FEATURES = 2000
MAX_DEPTH = 12
FULL, LOD, BLOCKS = 0, 1, 2
"""Detail levels: ``FULL`` = the importer's own mesh with attributes; ``LOD`` =
one bounding-box block per building, for tiles beyond the near radius;
``BLOCKS`` = one block per :data:`BLOCK_CELL` square of ground (the box of the
buildings centred in it, at their median height), for the far city."""
BLOCK_CELL = 250.0


@dataclass(frozen=True)
class Tiles:
    """The leaves of the quadtree, as columns (one row per tile).

    ``cell`` is the (T, 4) xmin, ymin, xmax, ymax the tile owns (feature centres
    in ``[xmin, xmax) x [ymin, ymax)``); ``reach`` the (T, 4) box its features'
    geometry covers; ``count`` the features it owns; ``depth`` its quadtree
    level; ``fids`` the (T,) arrays of the source ids (GeoPackage fid, row id)
    of its features. Coordinates are in the source CRS.
    """

    cell: np.ndarray
    reach: np.ndarray
    count: np.ndarray
    depth: np.ndarray
    fids: tuple[np.ndarray, ...]

    def __len__(self) -> int:
        return len(self.count)

    @property
    def extent(self) -> tuple[float, float, float, float]:
        lo = self.cell[:, :2].min(axis=0)
        hi = self.cell[:, 2:].max(axis=0)
        return float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1])


@dataclass(eq=False)
class TiledSource:
    """A streamed layer of a scene: its tiles, their scene-local (T, 6) boxes, and
    ``read(t, detail) -> Layer`` (thread-safe; called from worker threads).
    ``style`` is the scene file's style for the layer (None: the importer's)."""

    name: str
    tiles: Tiles
    boxes: np.ndarray
    read: Callable[[int, int], Any]
    style: Any = None
    visible: bool = True
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def n_features(self) -> int:
        return int(self.tiles.count.sum())


def build_quadtree(
    fids: np.ndarray,
    boxes: np.ndarray,
    max_features: int = MAX_FEATURES,
    max_depth: int = MAX_DEPTH,
) -> Tiles:
    """Quadtree leaves over features with source ids ``fids`` and (n, 4) bounding
    ``boxes`` (xmin, ymin, xmax, ymax). Empty leaves are dropped."""
    fids = np.asarray(fids, dtype=np.int64)
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    if len(fids) != len(boxes):
        raise ValueError("fids and boxes differ in length")
    if len(fids) == 0:
        empty = np.empty((0, 4))
        return Tiles(empty, empty, np.empty(0, np.int64), np.empty(0, np.int64), ())
    centre = (boxes[:, :2] + boxes[:, 2:]) / 2
    lo, hi = centre.min(axis=0), centre.max(axis=0)
    side = float(max(hi - lo)) or 1.0
    side *= 1 + 1e-9  # the last centre falls inside the half-open root
    cells, reach, count, depth, owned = [], [], [], [], []
    stack = [(lo[0], lo[1], side, 0, np.arange(len(fids)))]
    while stack:
        x0, y0, s, d, idx = stack.pop()
        if len(idx) <= max_features or d >= max_depth:
            b = boxes[idx]
            cells.append((x0, y0, x0 + s, y0 + s))
            reach.append((*b[:, :2].min(axis=0), *b[:, 2:].max(axis=0)))
            count.append(len(idx))
            depth.append(d)
            owned.append(fids[idx])
            continue
        h = s / 2
        c = centre[idx]
        qx = (c[:, 0] >= x0 + h).astype(np.int8)
        qy = (c[:, 1] >= y0 + h).astype(np.int8)
        quad = qx + 2 * qy
        order = np.argsort(quad, kind="stable")
        splits = np.searchsorted(quad[order], [1, 2, 3])
        for q, part in enumerate(np.split(idx[order], splits)):
            if len(part):
                stack.append((x0 + h * (q % 2), y0 + h * (q // 2), h, d + 1, part))
    return Tiles(
        np.array(cells, dtype=np.float64),
        np.array(reach, dtype=np.float64),
        np.array(count, dtype=np.int64),
        np.array(depth, dtype=np.int64),
        tuple(owned),
    )


def frustum_visible(planes: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """(T,) mask of axis-aligned (T, 6) boxes (xmin, ymin, zmin, xmax, ymax, zmax)
    that are at least partly inside the frustum given as (k, 4) planes
    ``a x + b y + c z + d >= 0`` inside (VTK's ``GetFrustumPlanes`` convention;
    pass its first four, the sides: the near and far planes follow the clipping
    range, which is fitted to what is drawn, so they would cull what is not yet).

    Conservative (a box straddling two planes near a corner may count as seen),
    which is what culling needs: never drop a tile that is on screen."""
    planes = np.asarray(planes, dtype=np.float64).reshape(-1, 4)
    lo, hi = boxes[:, None, :3], boxes[:, None, 3:]
    n = planes[None, :, :3]
    positive = np.where(n >= 0, hi, lo)  # the corner farthest along each normal
    dist = np.einsum("tpk,tpk->tp", positive, np.broadcast_to(n, positive.shape))
    return np.all(dist + planes[None, :, 3] >= 0, axis=1)


def box_distance(point: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """(T,) distance from a 3D ``point`` to each (T, 6) box (0 inside)."""
    p = np.asarray(point, dtype=np.float64)
    gap = np.maximum(np.maximum(boxes[:, :3] - p, p - boxes[:, 3:]), 0.0)
    return np.sqrt((gap**2).sum(axis=1))


def choose_detail(
    visible: np.ndarray,
    distance: np.ndarray,
    near: float,
    far: float,
    mid: float | None = None,
) -> np.ndarray:
    """(T,) detail per tile: ``FULL`` within ``near`` metres, ``LOD`` up to ``mid``
    (default ``far``), ``BLOCKS`` up to ``far``, -1 (not drawn) beyond or off screen."""
    mid = far if mid is None else mid
    detail = np.select(
        [distance <= near, distance <= mid, distance <= far], [FULL, LOD, BLOCKS], -1
    )
    return np.where(visible, detail, -1)


def block_boxes(
    boxes: np.ndarray,
    heights: np.ndarray,
    cell: float = BLOCK_CELL,
    areas: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Merge building (n, 4) ``boxes`` into one box per ``cell``-metre square
    holding their centres: ((k, 4) boxes, (k,) median heights, (k,) counts).
    NaN heights are left out of the median (a block with none gets NaN).

    With the footprint ``areas``, each box shrinks about its centre to the
    built area it stands for: streets and yards stay open, so the far city
    reads as blocks, not as one carpet."""
    if len(boxes) == 0:
        return np.empty((0, 4)), np.empty(0), np.empty(0, np.int64)
    centre = (boxes[:, :2] + boxes[:, 2:]) / 2
    key = np.floor(centre / cell).astype(np.int64)
    _, group, counts = np.unique(key, axis=0, return_inverse=True, return_counts=True)
    group = group.ravel()
    k = len(counts)
    out = np.empty((k, 4))
    for col, fn in ((0, np.minimum), (1, np.minimum), (2, np.maximum), (3, np.maximum)):
        out[:, col] = np.inf if fn is np.minimum else -np.inf
        fn.at(out[:, col], group, boxes[:, col])
    order = np.lexsort((heights, group))  # NaN sort last within each group
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    finite = np.zeros(k, np.int64)
    np.add.at(finite, group, np.isfinite(heights).astype(np.int64))
    sorted_h = heights[order]
    mid = np.where(finite > 0, starts + np.maximum(finite - 1, 0) // 2, starts)
    med = np.where(finite > 0, sorted_h[mid], np.nan)
    if areas is not None:
        built = np.zeros(k)
        np.add.at(built, group, areas)
        box_area = (out[:, 2] - out[:, 0]) * (out[:, 3] - out[:, 1])
        # no thinner than 60 %: a sparse block must still read as built at a distance
        scale = np.sqrt(np.clip(built / np.maximum(box_area, 1e-9), 0.36, 1.0))[:, None]
        c, half = (out[:, :2] + out[:, 2:]) / 2, (out[:, 2:] - out[:, :2]) / 2 * scale
        out = np.hstack([c - half, c + half])
    return out, med, counts
