"""A quadtree of tiles over a layer's extent, and which tiles a camera needs.

A whole city (10^5-10^6 buildings) cannot be one merged mesh: it would take
minutes to read and gigabytes to hold, and most of it is off screen or far
away. The layer is cut into quadtree tiles instead, each owning the features
whose bounding-box centre lies in it (so every feature belongs to exactly one
tile) and each knowing its feature count and the box its features reach
(slightly larger than the tile). The view streams tiles by these boxes.

The tree is built from cell counts when a store can count them
(:func:`quadtree_from_cells`, on Z-order keys): a server's ``GROUP BY`` per
cell gives the tiles every row would; far blocks come from the same kind of
per-cell aggregate (:func:`blocks_from_cells`) without reading a feature.

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

    ``cell`` is the (T, 4) xmin, ymin, xmax, ymax the tile owns; ``reach`` the
    (T, 4) box its features' geometry covers; ``count`` the features it owns;
    ``depth`` its quadtree level; ``fids`` the (T,) arrays of the source ids
    (GeoPackage fid) of its features, or ``()`` when the index came from
    aggregates (counts per cell, no ids: a read keeps the rows it owns by key).
    Coordinates are in the source CRS.

    Ownership is by integer key, not by float comparisons: with ``root`` =
    (x0, y0, side), a feature whose box centre is ``c`` has the key
    ``floor((c - (x0, y0)) * 2**d / side)`` at depth ``d`` (:func:`centre_keys`),
    and tile ``t`` owns the features whose key at ``depth[t]`` is ``key[t]``.
    Scaling by a power of two is exact in floating point, so a key computed in
    SQL at depth ``d`` is the same as one computed in numpy at a deeper depth
    and shifted: a server and this module agree on every feature's tile.
    """

    cell: np.ndarray
    reach: np.ndarray
    count: np.ndarray
    depth: np.ndarray
    fids: tuple[np.ndarray, ...]
    key: np.ndarray = field(default_factory=lambda: np.empty((0, 2), np.int64))
    root: tuple[float, float, float] = (0.0, 0.0, 1.0)

    def __len__(self) -> int:
        return len(self.count)

    @property
    def extent(self) -> tuple[float, float, float, float]:
        lo = self.cell[:, :2].min(axis=0)
        hi = self.cell[:, 2:].max(axis=0)
        return float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1])

    def scale(self, depth: int) -> float:
        """Keys per source unit at ``depth`` (``2**depth / side``)."""
        return float(2.0**depth / self.root[2])

    def tile_of(self, keys: np.ndarray, depth: int) -> np.ndarray:
        """(n,) tile owning each (n, 2) cell key at ``depth`` (at least as deep
        as every tile); -1 for a cell no tile owns."""
        keys = np.asarray(keys, np.int64).reshape(-1, 2)
        shift = depth - self.depth
        if len(self) == 0 or shift.min() < 0:
            raise ValueError("cells must be at least as deep as every tile")
        # each tile covers a contiguous Morton range at ``depth``
        lo = morton(self.key[:, 0] << shift, self.key[:, 1] << shift)
        hi = lo + (np.int64(1) << (2 * shift))
        order = np.argsort(lo)
        code = morton(keys[:, 0], keys[:, 1])
        i = np.searchsorted(lo[order], code, side="right") - 1
        t = order[np.clip(i, 0, None)]
        return np.where((i >= 0) & (code < hi[t]), t, -1)


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


def quadtree_root(centre_lo, centre_hi) -> tuple[float, float, float]:
    """(x0, y0, side) of the root square over box centres from ``centre_lo`` to
    ``centre_hi``: the last centre falls inside the half-open root."""
    lo, hi = np.asarray(centre_lo, np.float64), np.asarray(centre_hi, np.float64)
    side = float(max(hi - lo)) or 1.0
    return float(lo[0]), float(lo[1]), side * (1 + 1e-9)


def snapped_root(extent) -> tuple[float, float, float]:
    """(x0, y0, side) of a root square over a layer ``extent`` (xmin, ymin, xmax,
    ymax), snapped to a step of 1/128 to 1/64 of the span (a power of two): an
    estimate of the extent (PostGIS table statistics, off by centimetres) and
    the exact one (a GeoPackage's R-tree) give the same root, so both stores
    tile alike, and the root stays within ~1.5 % of the extent (a looser root
    moves the depth where tiles reach ``MAX_FEATURES``: 3x the tiles for the
    1M city)."""
    x0, y0, x1, y1 = (float(v) for v in extent)
    span = max(x1 - x0, y1 - y0, 1e-9)
    step = 2.0 ** (np.floor(np.log2(span)) - 7)
    side = float(np.ceil((span + step) / step) * step)
    return float(np.floor(x0 / step) * step), float(np.floor(y0 / step) * step), side


def block_depth(tiles: Tiles, cell: float = BLOCK_CELL) -> int:
    """The quadtree depth whose cells are the far blocks: the one nearest to
    ``cell`` metres (177-354 m for 250 m), and no shallower than any tile (each
    block inside one tile)."""
    side = tiles.root[2]
    d = int(np.round(np.log2(max(side / cell, 1.0))))
    return max(d, int(tiles.depth.max(initial=0)))


@dataclass(frozen=True)
class BlockTable:
    """The far blocks of every tile, precomputed from per-cell aggregates (no
    feature read): rows sorted by ``tile``; ``boxes`` (k, 4) in the source CRS,
    already shrunk to their built area; ``height`` the geometric mean of its
    buildings' heights (NaN: none known); ``count`` the buildings each block
    stands for."""

    tile: np.ndarray
    boxes: np.ndarray
    height: np.ndarray
    count: np.ndarray

    def of(self, t: int) -> slice:
        a, b = np.searchsorted(self.tile, [t, t + 1])
        return slice(int(a), int(b))


def blocks_from_cells(
    tiles: Tiles,
    keys: np.ndarray,
    depth: int,
    count: np.ndarray,
    boxes: np.ndarray,
    area: np.ndarray,
    log_height_sum: np.ndarray,
    height_n: np.ndarray,
) -> BlockTable:
    """One block per aggregated cell at ``depth`` (:func:`block_depth`): its box
    shrunk about its centre to the footprint area it holds (as
    :func:`block_boxes` does: streets and yards stay open, no thinner than 60 %),
    assigned to the tile that owns it. Its height is the geometric mean of its
    buildings' (from the sum of logs: cells merge by adding sums, which a median
    cannot do, and on skewed heights it stays near the median the first blocks
    used: 13.5 m against 13.0 m in the 10k city, where the mean is 15.8 m)."""
    tile = tiles.tile_of(keys, depth)
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    box_area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    area = np.nan_to_num(np.asarray(area, np.float64))
    scale = np.sqrt(np.clip(area / np.maximum(box_area, 1e-9), 0.36, 1.0))[:, None]
    c, half = (boxes[:, :2] + boxes[:, 2:]) / 2, (boxes[:, 2:] - boxes[:, :2]) / 2 * scale
    n = np.asarray(height_n, np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        height = np.where(n > 0, np.exp(np.asarray(log_height_sum, np.float64) / n), np.nan)
    keep = np.flatnonzero(tile >= 0)
    keys = np.asarray(keys, np.int64).reshape(-1, 2)
    # by tile, then in Z order: the same blocks in the same order whichever store
    pick = keep[np.lexsort((morton(keys[keep, 0], keys[keep, 1]), tile[keep]))]
    return BlockTable(tile[pick], np.hstack([c - half, c + half])[pick], height[pick],
                      np.asarray(count, np.int64)[pick])


def centre_keys(boxes: np.ndarray, root: tuple[float, float, float], depth: int) -> np.ndarray:
    """(n, 2) integer cell keys at ``depth`` of the centres of (n, 4) ``boxes``,
    computed as SQL computes them (``((xmin + xmax) / 2 - x0) * scale``, floored);
    centres outside the root clip to its edge cells."""
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    scale = 2.0**depth / root[2]
    kx = np.floor(((boxes[:, 0] + boxes[:, 2]) / 2 - root[0]) * scale)
    ky = np.floor(((boxes[:, 1] + boxes[:, 3]) / 2 - root[1]) * scale)
    top = 2**depth - 1
    return np.column_stack([np.clip(kx, 0, top), np.clip(ky, 0, top)]).astype(np.int64)


def morton(kx: np.ndarray, ky: np.ndarray) -> np.ndarray:
    """Z-order codes of (up to 31-bit) integer keys: x bits even, y bits odd, so a
    quadtree node is one contiguous range of codes and its children the four
    quarters of it (in the order x-low y-low, x-high, y-high, both)."""
    return (_spread(kx) | (_spread(ky) << np.uint64(1))).astype(np.int64)


def _spread(k) -> np.ndarray:
    """The bits of 32-bit ``k`` moved to the even positions of a 64-bit word."""
    x = np.asarray(k, np.int64).astype(np.uint64) & np.uint64(0xFFFFFFFF)
    for shift, mask in ((16, 0x0000FFFF0000FFFF), (8, 0x00FF00FF00FF00FF),
                        (4, 0x0F0F0F0F0F0F0F0F), (2, 0x3333333333333333),
                        (1, 0x5555555555555555)):
        x = (x | (x << np.uint64(shift))) & np.uint64(mask)
    return x


def quadtree_from_cells(
    keys: np.ndarray,
    depth: int,
    counts: np.ndarray,
    reach: np.ndarray,
    root: tuple[float, float, float],
    max_features: int = MAX_FEATURES,
    max_depth: int = MAX_DEPTH,
    fids: np.ndarray | None = None,
) -> tuple[Tiles, np.ndarray]:
    """Quadtree leaves over cells with (n, 2) ``keys`` at ``depth``, each with a
    feature ``counts`` and the (n, 4) ``reach`` of its features (keys may repeat:
    one row per feature is the per-row case, with its ``fids``). A node splits
    while it owns more than ``max_features`` and is above ``max_depth``.

    Returns the tiles and the keys of the cells that would split below
    ``depth`` (empty when ``depth`` >= ``max_depth``): an aggregate read at a
    coarse depth asks again at a finer one for those cells only."""
    keys = np.asarray(keys, np.int64).reshape(-1, 2)
    counts = np.asarray(counts, np.int64)
    reach = np.asarray(reach, np.float64).reshape(-1, 4)
    code = morton(keys[:, 0], keys[:, 1])
    order = np.argsort(code)
    code, counts, reach = code[order], counts[order], reach[order]
    cum = np.concatenate([[0], np.cumsum(counts)])
    leaves: list[tuple[int, int, int, int]] = []  # (depth, prefix, lo row, hi row)
    dense: list[int] = []
    stack = [(0, 0)]
    while stack:
        d, prefix = stack.pop()
        shift = 2 * (depth - d)
        a, b = np.searchsorted(code, [prefix << shift, (prefix + 1) << shift])
        n = int(cum[b] - cum[a])
        if n == 0:
            continue
        if n <= max_features or d >= max_depth or d >= depth:
            if n > max_features and d < max_depth:
                dense.append(prefix)
            else:
                leaves.append((d, prefix, int(a), int(b)))
            continue
        stack.extend((d + 1, (prefix << 2) | q) for q in range(4))
    leaves.sort(key=lambda leaf: leaf[2])  # Morton order: neighbours get near ids
    d = np.array([leaf[0] for leaf in leaves], np.int64)
    prefix = np.array([leaf[1] for leaf in leaves], np.int64)
    a = np.array([leaf[2] for leaf in leaves], np.int64)
    b = np.array([leaf[3] for leaf in leaves], np.int64)
    kx, ky = _unmorton(prefix)
    size = root[2] / 2.0**d
    cell = np.column_stack([root[0] + kx * size, root[1] + ky * size,
                            root[0] + (kx + 1) * size, root[1] + (ky + 1) * size])
    if len(a):
        lo = np.column_stack([np.minimum.reduceat(reach[:, c], a) for c in (0, 1)])
        hi = np.column_stack([np.maximum.reduceat(reach[:, c], a) for c in (2, 3)])
        tile_reach = np.hstack([lo, hi])
    else:
        tile_reach = np.empty((0, 4))
    owned: tuple[np.ndarray, ...] = ()
    if fids is not None:
        sorted_fids = np.asarray(fids, np.int64)[order]
        owned = tuple(sorted_fids[i:j] for i, j in zip(a, b, strict=True))
    tiles = Tiles(cell.reshape(-1, 4), tile_reach, cum[b] - cum[a], d, owned,
                  np.column_stack([kx, ky]).reshape(-1, 2), tuple(root))
    dense_keys = np.column_stack(_unmorton(np.array(dense, np.int64))).reshape(-1, 2)
    return tiles, dense_keys


def _unmorton(code: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    kx, ky = np.zeros_like(code), np.zeros_like(code)
    for bit in range((int(code.max(initial=0)).bit_length() + 1) // 2):
        kx |= ((code >> (2 * bit)) & 1) << bit
        ky |= ((code >> (2 * bit + 1)) & 1) << bit
    return kx, ky


def build_quadtree(
    fids: np.ndarray,
    boxes: np.ndarray,
    max_features: int = MAX_FEATURES,
    max_depth: int = MAX_DEPTH,
    root: tuple[float, float, float] | None = None,
) -> Tiles:
    """Quadtree leaves over features with source ids ``fids`` and (n, 4) bounding
    ``boxes`` (xmin, ymin, xmax, ymax), by integer keys at ``max_depth`` (one
    sort, no per-node copies: ~0.3 s for a million boxes). Empty leaves are
    dropped. ``root`` defaults to the square over the box centres."""
    fids, boxes = _id_boxes(fids, boxes)
    if len(fids) == 0:
        return _no_tiles()
    if root is None:
        centre = (boxes[:, :2] + boxes[:, 2:]) / 2
        root = quadtree_root(centre.min(axis=0), centre.max(axis=0))
    keys = centre_keys(boxes, root, max_depth)
    return quadtree_from_cells(keys, max_depth, np.ones(len(fids), np.int64), boxes, root,
                               max_features, max_depth, fids)[0]


def _id_boxes(fids: np.ndarray, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``fids`` as int64 and ``boxes`` as (n, 4) float64, checked to pair up."""
    fids = np.asarray(fids, dtype=np.int64)
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    if len(fids) != len(boxes):
        raise ValueError("fids and boxes differ in length")
    return fids, boxes


def _no_tiles() -> Tiles:
    empty = np.empty((0, 4))
    return Tiles(empty, empty, np.empty(0, np.int64), np.empty(0, np.int64), ())


def build_quadtree_split(
    fids: np.ndarray,
    boxes: np.ndarray,
    max_features: int = MAX_FEATURES,
    max_depth: int = MAX_DEPTH,
) -> Tiles:
    """The first index (kept for the benchmark's before/after): recursive splits
    by float comparison, copying the index arrays per node (~1.4 s per million)."""
    fids, boxes = _id_boxes(fids, boxes)
    if len(fids) == 0:
        return _no_tiles()
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
