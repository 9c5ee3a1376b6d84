"""The bulk-read numbers (:mod:`.bulk`) as the fast path uses them, in metres.

Every axis placement, local placement chain, rectangle profile and extrusion
is computed for the whole file in a few numpy passes, by the same rules as
:func:`.placement.axis2`, :meth:`.placement.Placements.of` and
:func:`.profiles.profile_loops` (which stay the reference: the tests compare
the two on every entity). An entity those rules refuse, or whose references
were not read in bulk, is left out: the per-entity code then reads it through
IfcOpenShell and raises exactly as before.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from importers.ifc.fastpath.bulk import Bulk, Entities

#: Longest placement chain followed (as :meth:`.placement.Placements.of`).
MAX_DEPTH = 256


@dataclass
class Resolved:
    """Rows of arrays by id (dicts of ints and a few big arrays: a matrix
    object per entity would cost the import some 50 MB on a 20 MB tower)."""

    #: IfcLocalPlacement id -> row of ``placements`` (4x4, metres)
    placement_rows: dict[int, int]
    placements: np.ndarray
    #: IfcExtrudedAreaSolid id (of a rectangle) -> row of the arrays below
    extrusion_rows: dict[int, int]
    loops: np.ndarray  # (n, 4, 2) the rectangle, counter-clockwise, in the position's XY
    frames: np.ndarray  # (n, 4, 4) the extrusion's position
    directions: np.ndarray  # (n, 3) unit extrusion direction
    depths: np.ndarray  # (n,) metres


def resolve(bulk: Bulk, unit: float) -> Resolved:
    """Every placement and rectangle extrusion of the file (``unit``: metres
    per file unit)."""
    ax_ids, ax_mats = _axes(bulk, unit)
    p_ids, p_mats = _placements(bulk["localplacement"], ax_ids, ax_mats)
    r_ids, loops = _rectangles(bulk, ax_ids, ax_mats, unit)
    e_ids, rows = _extrusions(bulk, unit, r_ids, ax_ids)
    prof, pos, d, depth = rows
    frames = np.broadcast_to(np.eye(4), (len(pos), 4, 4)).copy()
    frames[pos >= 0] = ax_mats[pos[pos >= 0]]
    loops = loops[prof]
    for shared in (p_mats, loops, frames, d, depth):  # views of them reach every element
        shared.flags.writeable = False
    return Resolved(
        dict(zip(p_ids.tolist(), range(len(p_ids)), strict=True)), p_mats,
        dict(zip(e_ids.tolist(), range(len(e_ids)), strict=True)), loops, frames, d, depth,
    )  # fmt: skip


def _refs(col: np.ndarray) -> np.ndarray:
    return np.where(np.isnan(col), -1, col).astype(np.int64)


def _unit_vectors(bulk: Bulk, ids: np.ndarray, dims: int) -> tuple[np.ndarray, np.ndarray]:
    """Directions ``ids`` normalised over all their coordinates (as
    ``placement._unit``), and which are usable: present, with ``dims``
    coordinates at least (exactly 3 where ``dims`` is 3), finite, not null."""
    table = bulk["direction"]
    row, ok = _find(table.ids, ids)
    v = table.cols[row] if len(table.ids) else np.full((len(ids), 3), np.nan)
    given = ~np.isnan(v)
    count = given.sum(axis=1)
    ok &= (count == 3) if dims == 3 else (count >= dims)
    w = np.where(given, v, 0.0)
    n = np.sqrt(w[:, 0] * w[:, 0] + w[:, 1] * w[:, 1] + w[:, 2] * w[:, 2])
    ok &= np.isfinite(n) & (n >= 1e-12)
    with np.errstate(invalid="ignore", divide="ignore"):
        return w / n[:, None], ok


def _points(bulk: Bulk, ids: np.ndarray, unit: float, least: int) -> tuple[np.ndarray, np.ndarray]:
    """Points ``ids`` in metres, missing coordinates 0; usable where present
    with ``least`` coordinates or more."""
    table = bulk["cartesianpoint"]
    row, ok = _find(table.ids, ids)
    p = table.cols[row] if len(table.ids) else np.full((len(ids), 3), np.nan)
    ok &= (~np.isnan(p)).sum(axis=1) >= least
    return np.where(np.isnan(p), 0.0, p * unit), ok


def _axes(bulk: Bulk, unit: float) -> tuple[np.ndarray, np.ndarray]:
    """Ids (sorted) and 4x4 matrices of the usable 3D and 2D axis placements."""
    ids3, m3 = _axes3(bulk, unit)
    ids2, m2 = _axes2(bulk, unit)
    ids, mats = np.concatenate([ids3, ids2]), np.concatenate([m3, m2])
    order = np.argsort(ids, kind="stable")
    return ids[order], mats[order]


def _axes3(bulk: Bulk, unit: float) -> tuple[np.ndarray, np.ndarray]:
    t = bulk["axis2placement3d"]
    if len(t.ids) == 0:
        return np.zeros(0, np.int64), np.zeros((0, 4, 4))
    loc, ok = _points(bulk, _refs(t.cols[:, 0]), unit, 1)
    axis_id, ref_id = _refs(t.cols[:, 1]), _refs(t.cols[:, 2])
    z, z_ok = _unit_vectors(bulk, axis_id, 3)
    z = np.where((axis_id < 0)[:, None], [0.0, 0.0, 1.0], z)
    ok &= z_ok | (axis_id < 0)
    # without a reference direction the kernel picks X by its own rule unless Z is up
    ok &= (ref_id >= 0) | (z[:, 2] >= 1.0 - 1e-12)
    x, x_ok = _unit_vectors(bulk, ref_id, 3)
    x = np.where((ref_id < 0)[:, None], [1.0, 0.0, 0.0], x)
    ok &= x_ok | (ref_id < 0)
    d = x[:, 0] * z[:, 0] + x[:, 1] * z[:, 1] + x[:, 2] * z[:, 2]
    x = x - d[:, None] * z
    n = np.sqrt(x[:, 0] * x[:, 0] + x[:, 1] * x[:, 1] + x[:, 2] * x[:, 2])
    ok &= n >= 1e-9
    with np.errstate(invalid="ignore", divide="ignore"):
        x = x / n[:, None]
    y = np.stack(
        [z[:, 1] * x[:, 2] - z[:, 2] * x[:, 1], z[:, 2] * x[:, 0] - z[:, 0] * x[:, 2],
         z[:, 0] * x[:, 1] - z[:, 1] * x[:, 0]], axis=1,
    )  # fmt: skip
    m = np.zeros((int(ok.sum()), 4, 4))
    m[:, :3, 0], m[:, :3, 1], m[:, :3, 2], m[:, :3, 3] = x[ok], y[ok], z[ok], loc[ok]
    m[:, 3, 3] = 1.0
    return t.ids[ok], m


def _axes2(bulk: Bulk, unit: float) -> tuple[np.ndarray, np.ndarray]:
    t = bulk["axis2placement2d"]
    if len(t.ids) == 0:
        return np.zeros(0, np.int64), np.zeros((0, 4, 4))
    loc, ok = _points(bulk, _refs(t.cols[:, 0]), unit, 2)
    ref_id = _refs(t.cols[:, 1])
    x, x_ok = _unit_vectors(bulk, ref_id, 2)
    x = np.where((ref_id < 0)[:, None], [1.0, 0.0, 0.0], x)
    ok &= x_ok | (ref_id < 0)
    x, loc = x[ok], loc[ok]
    m = np.zeros((len(x), 4, 4))
    m[:, 0, 0], m[:, 0, 1], m[:, 0, 3] = x[:, 0], -x[:, 1], loc[:, 0]
    m[:, 1, 0], m[:, 1, 1], m[:, 1, 3] = x[:, 1], x[:, 0], loc[:, 1]
    m[:, 2, 2] = m[:, 3, 3] = 1.0
    return t.ids[ok], m


def _placements(
    t: Entities, ax_ids: np.ndarray, ax_mats: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Local placement chains, parents first, a level per pass: the ids and
    matrices of those resolved (finite, every link read in bulk)."""
    if len(t.ids) == 0 or len(ax_ids) == 0:
        return np.zeros(0, np.int64), np.zeros((0, 4, 4))
    parent = _refs(t.cols[:, 0])
    at, todo = _find(ax_ids, _refs(t.cols[:, 1]))
    rel = ax_mats[at]
    up, has_up = _find(t.ids, parent)
    mats = np.full_like(rel, np.nan)
    done = np.zeros(len(t.ids), bool)
    for _ in range(MAX_DEPTH):
        now = todo & ((parent < 0) | (has_up & done[up]))
        if not now.any():
            break
        roots = now & (parent < 0)
        mats[roots] = rel[roots]
        linked = now & ~roots
        mats[linked] = mats[up[linked]] @ rel[linked]
        done |= now
        todo &= ~now
    done &= np.isfinite(mats).all(axis=(1, 2))
    return t.ids[done], mats[done]


def _find(sorted_ids: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index of each of ``ids`` in ``sorted_ids`` and whether it is there."""
    if len(sorted_ids) == 0:
        return np.zeros(len(ids), np.int64), np.zeros(len(ids), bool)
    at = np.minimum(np.searchsorted(sorted_ids, ids), len(sorted_ids) - 1)
    return at, (sorted_ids[at] == ids) & (ids >= 0)


def _rectangles(
    bulk: Bulk, ax_ids: np.ndarray, ax_mats: np.ndarray, unit: float
) -> tuple[np.ndarray, np.ndarray]:
    """Sorted ids of the usable rectangle profiles and their loops (n, 4, 2)."""
    t = bulk["rectangleprofiledef"]
    if len(t.ids) == 0:
        return np.zeros(0, np.int64), np.zeros((0, 4, 2))
    pos = _refs(t.cols[:, 0])
    at, found = _find(ax_ids, pos)
    x, y = t.cols[:, 1] * unit / 2, t.cols[:, 2] * unit / 2
    ok = (x > 0) & (y > 0) & (found | (pos < 0))
    m = np.where((pos < 0)[:, None, None], np.eye(4), ax_mats[at] if len(ax_ids) else np.nan)
    corners = np.stack([np.stack([-x, -y], 1), np.stack([x, -y], 1),
                        np.stack([x, y], 1), np.stack([-x, y], 1)], axis=1)  # fmt: skip
    loops = corners @ np.swapaxes(m[:, :2, :2], 1, 2) + m[:, None, :2, 3]
    lx, ly = loops[..., 0], loops[..., 1]
    area = 0.5 * (lx * np.roll(ly, -1, axis=1) - np.roll(lx, -1, axis=1) * ly).sum(axis=1)
    ok &= np.abs(area) >= 1e-14
    loops[area < 0] = loops[area < 0, ::-1]  # counter-clockwise, as profiles.oriented
    return t.ids[ok], loops[ok]


def _extrusions(
    bulk: Bulk, unit: float, r_ids: np.ndarray, ax_ids: np.ndarray
) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
    """Ids of the extrusions of usable rectangles, and per extrusion: its
    rectangle's row, its position's row (-1: none), unit direction, depth."""
    t = bulk["extrudedareasolid"]
    if len(t.ids) == 0:
        empty = np.zeros(0, np.int64)
        return empty, (empty, empty, np.zeros((0, 3)), np.zeros(0))
    d, ok = _unit_vectors(bulk, _refs(t.cols[:, 2]), 3)
    prof, has_prof = _find(r_ids, _refs(t.cols[:, 0]))
    pos_id = _refs(t.cols[:, 1])
    pos, has_pos = _find(ax_ids, pos_id)
    ok &= has_prof & (has_pos | (pos_id < 0))
    pos = np.where(pos_id < 0, -1, pos)
    return t.ids[ok], (prof[ok], pos[ok], d[ok], t.cols[ok, 3] * unit)
