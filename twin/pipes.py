"""Buried networks as meshes: pipes as tubes swept along their centrelines,
manholes and valve chambers as vertical shafts, all below the ground.

GIS pipe layers carry a 2D line, a diameter and an *invert depth* (depth of the
pipe's inside bottom below the ground, at its start and optionally at its end,
for gravity sewers laid to a fall). The centreline therefore runs at
``ground - invert + radius``. Rings of ``sides`` vertices are swept along every
centreline at once (numpy, no per-pipe PolyData): each ring lies in the plane
bisecting the bend at its vertex and is stretched by ``1 / cos(half bend)``
across it, so the tube keeps its true radius through bends; the ends are capped,
so each pipe is a closed tube that picks and lights like a solid.
"""

from __future__ import annotations

import numpy as np
import shapely

from twin.meshing import TriMesh

#: sides of a pipe's ring: round enough up close, 32 triangles a metre of straight pipe
SIDES = 16
#: a shaft stops this far below the ground (its cover is not modelled)
SHAFT_TOP = -0.1


def _unit(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.where(n > 0, n, 1.0)


def centrelines(lines: np.ndarray, invert_start: np.ndarray, invert_end: np.ndarray,
                radius: np.ndarray, ground: float = 0.0):
    """3D centreline vertices of many (multi)lines.

    Returns
    -------
    points : (n, 3) float64
    part : (n,) index of the single line each vertex belongs to
    owner : (p,) feature row of each single line
    """
    parts, owner = shapely.get_parts(np.asarray(lines, dtype=object), return_index=True)
    xy, part = shapely.get_coordinates(parts, return_index=True)
    # drop repeated vertices: a zero-length segment has no direction
    keep = np.ones(len(xy), dtype=bool)
    keep[1:] = ~((part[1:] == part[:-1]) & np.all(xy[1:] == xy[:-1], axis=1))
    xy, part = xy[keep], part[keep]
    seg = np.zeros(len(xy))
    same = np.zeros(len(xy), dtype=bool)
    same[1:] = part[1:] == part[:-1]
    seg[1:] = np.where(same[1:], np.hypot(*(xy[1:] - xy[:-1]).T), 0.0)
    run = np.cumsum(seg)
    first = np.searchsorted(part, np.arange(len(parts)))
    run -= run[np.minimum(first, len(run) - 1)][part] if len(run) else 0.0
    total = np.bincount(part, weights=seg, minlength=len(parts))
    frac = run / np.where(total > 0, total, 1.0)[part]
    row = owner[part]
    inv = invert_start[row] + (invert_end[row] - invert_start[row]) * frac
    z = ground - inv + radius[row]
    return np.column_stack([xy, z]), part, owner


def tubes(lines: np.ndarray, diameter_m: np.ndarray, invert_start: np.ndarray,
          invert_end: np.ndarray | None = None, ground: float = 0.0,
          sides: int = SIDES) -> TriMesh:
    """Closed tubes along lines (scene-local), one feature per input row.

    ``diameter_m`` and invert depths are per row (metres); ``invert_end`` None:
    level pipes. Lines with fewer than two distinct vertices are left out
    (the caller validates and reports them).
    """
    radius = np.asarray(diameter_m, dtype=np.float64) / 2.0
    inv0 = np.asarray(invert_start, dtype=np.float64)
    inv1 = inv0 if invert_end is None else np.asarray(invert_end, dtype=np.float64)
    pts, part, owner = centrelines(lines, inv0, inv1, radius, ground)
    counts = np.bincount(part, minlength=len(owner))
    ok = counts[part] >= 2
    pts, part = pts[ok], part[ok]
    if len(pts) == 0:
        return TriMesh.empty()
    n = len(pts)
    first = np.zeros(n, dtype=bool)
    first[0] = True
    first[1:] = part[1:] != part[:-1]
    last = np.zeros(n, dtype=bool)
    last[-1] = True
    last[:-1] = first[1:]
    # directions of the segment before and after each vertex (ends: their one segment)
    fwd = np.zeros((n, 3))
    fwd[:-1] = pts[1:] - pts[:-1]
    fwd[last] = 0.0
    back = np.zeros((n, 3))
    back[1:] = fwd[:-1]
    back[first] = fwd[first]
    fwd[last] = back[last]
    d_in, d_out = _unit(back), _unit(fwd)
    tangent = _unit(d_in + d_out)
    tangent = np.where(np.linalg.norm(d_in + d_out, axis=1, keepdims=True) < 1e-9, d_out, tangent)
    up = np.array([0.0, 0.0, 1.0])
    u = np.cross(tangent, up)
    flat = np.linalg.norm(u, axis=1) < 1e-9  # a vertical run: any horizontal normal
    u[flat] = np.array([1.0, 0.0, 0.0])
    u = _unit(u)
    v = np.cross(u, tangent)
    # mitre: stretch the ring across the bend so the tube keeps its radius
    cos_half = np.clip(np.einsum("ij,ij->i", tangent, d_out), 0.3, 1.0)
    r = radius[owner[part]]
    ang = np.linspace(0.0, 2 * np.pi, sides, endpoint=False)
    ring = (pts[:, None, :]
            + (r / cos_half)[:, None, None] * np.cos(ang)[None, :, None] * u[:, None, :]
            + r[:, None, None] * np.sin(ang)[None, :, None] * v[:, None, :])
    ring_pts = ring.reshape(-1, 3)
    # walls: a quad per side between a vertex's ring and the next one's
    i = np.flatnonzero(~last)
    s = np.arange(sides)
    s1 = (s + 1) % sides
    a = (i[:, None] * sides + s[None, :]).ravel()
    b = (i[:, None] * sides + s1[None, :]).ravel()
    c = b + sides
    d = a + sides
    walls = np.concatenate([np.column_stack([a, c, b]), np.column_stack([a, d, c])])
    wall_feat = np.tile(np.repeat(owner[part[i]], sides), 2)
    # caps: a fan around a centre point at each end
    ends = np.flatnonzero(first | last)
    centre_idx = len(ring_pts) + np.arange(len(ends))
    ce = np.repeat(centre_idx, sides)
    ra = (ends[:, None] * sides + s[None, :]).ravel()
    rb = (ends[:, None] * sides + s1[None, :]).ravel()
    at_start = np.repeat(first[ends], sides)
    caps = np.where(at_start[:, None], np.column_stack([ce, rb, ra]),
                    np.column_stack([ce, ra, rb]))
    cap_feat = np.repeat(owner[part[ends]], sides)
    return TriMesh(
        np.concatenate([ring_pts, pts[ends]]),
        np.concatenate([walls, caps]).astype(np.int64),
        np.concatenate([wall_feat, cap_feat]).astype(np.int32),
    )


def shafts(xy: np.ndarray, diameter_m: np.ndarray, depth: np.ndarray, rows: np.ndarray,
           ground: float = 0.0, sides: int = SIDES) -> TriMesh:
    """Closed vertical cylinders (manholes, valve chambers) from ``depth`` below
    the ground up to just under it; ``rows`` are their feature rows."""
    xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    k = len(xy)
    if k == 0:
        return TriMesh.empty()
    r = np.asarray(diameter_m, dtype=np.float64) / 2.0
    bottom = ground - np.asarray(depth, dtype=np.float64)
    top = np.minimum(np.maximum(ground + SHAFT_TOP, bottom + 0.05), ground - 0.01)
    ang = np.linspace(0.0, 2 * np.pi, sides, endpoint=False)
    cx, cy = np.cos(ang), np.sin(ang)
    ring_x = xy[:, 0:1] + r[:, None] * cx[None, :]
    ring_y = xy[:, 1:2] + r[:, None] * cy[None, :]
    lower = np.stack([ring_x, ring_y, np.broadcast_to(bottom[:, None], ring_x.shape)], axis=-1)
    upper = np.stack([ring_x, ring_y, np.broadcast_to(top[:, None], ring_x.shape)], axis=-1)
    per = 2 * sides
    pts = np.concatenate([lower, upper], axis=1).reshape(-1, 3)
    s = np.arange(sides)
    s1 = (s + 1) % sides
    walls = np.concatenate([np.column_stack([s, s1, s1 + sides]),
                            np.column_stack([s, s1 + sides, s + sides])])
    fan = np.arange(1, sides - 1)
    top_f = np.column_stack([np.full(sides - 2, sides), fan + sides, fan + 1 + sides])
    bot_f = np.column_stack([np.zeros(sides - 2, int), fan + 1, fan])
    template = np.concatenate([walls, top_f, bot_f])
    tris = (template[None, :, :] + (np.arange(k) * per)[:, None, None]).reshape(-1, 3)
    feat = np.repeat(np.asarray(rows, dtype=np.int32), len(template))
    return TriMesh(pts, tris.astype(np.int64), feat)
