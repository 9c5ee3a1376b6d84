"""Vectorised mesh builders: LoD1 blocks, flat areas, ribbons and markers.

Everything here works on whole arrays of features and returns one set of numpy
arrays (points, triangles, triangle->feature), so a layer of 100k buildings is a
handful of numpy operations plus one earcut call per *non-convex* footprint.
The naive alternative (one PolyData per building, then ``pyvista.merge``) is
benchmarked against this in ``bench/bench_extrude.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

import mapbox_earcut
import numpy as np
import pyvista as pv
import shapely

from twin.layer import FEATURE_ARRAY


@dataclass
class TriMesh:
    """Triangles tagged with their feature row.

    points : (n, 3) float64, scene-local metres
    triangles : (m, 3) int64 indices into ``points``
    feature : (m,) int32 feature row per triangle
    """

    points: np.ndarray
    triangles: np.ndarray
    feature: np.ndarray

    @classmethod
    def empty(cls) -> TriMesh:
        return cls(np.empty((0, 3)), np.empty((0, 3), dtype=np.int64), np.empty(0, np.int32))

    @staticmethod
    def concat(parts: list[TriMesh]) -> TriMesh:
        """One concatenation with index offsets (never a pairwise merge)."""
        parts = [p for p in parts if len(p.triangles)]
        if not parts:
            return TriMesh.empty()
        offsets = np.cumsum([0] + [len(p.points) for p in parts[:-1]])
        return TriMesh(
            np.concatenate([p.points for p in parts]),
            np.concatenate([p.triangles + off for p, off in zip(parts, offsets, strict=True)]),
            np.concatenate([p.feature for p in parts]).astype(np.int32, copy=False),
        )

    def to_polydata(self) -> pv.PolyData:
        """A PolyData with float32 points (origin already subtracted) and ``feature``."""
        if len(self.triangles) == 0:
            mesh = pv.PolyData()
            mesh.cell_data[FEATURE_ARRAY] = np.empty(0, dtype=np.int32)
            return mesh
        mesh = pv.PolyData.from_regular_faces(self.points.astype(np.float32), self.triangles)
        mesh.cell_data[FEATURE_ARRAY] = self.feature.astype(np.int32, copy=False)
        return mesh


def _ring_arrays(parts: np.ndarray):
    """Flatten polygons into oriented ring point arrays without closing points.

    Orientation and repeated-point clean-up are done on the coordinate arrays
    (shells counter-clockwise, holes clockwise) instead of through GEOS, which
    would build a new geometry per polygon.

    Returns
    -------
    xy : (m, 2) float64 ring points
    point_ring : (m,) ring index of each point
    ring_part : (r,) polygon-part index of each ring
    ring_start, ring_len : (r,) first point and point count of each ring
    """
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    coords, point_ring = shapely.get_coordinates(rings, return_index=True)
    n_rings = len(rings)
    # Drop the closing point of each ring and any point equal to its predecessor.
    same_ring = np.zeros(len(coords), dtype=bool)
    same_ring[1:] = point_ring[1:] == point_ring[:-1]
    repeated = np.zeros(len(coords), dtype=bool)
    repeated[1:] = same_ring[1:] & np.all(coords[1:] == coords[:-1], axis=1)
    keep = ~repeated
    counts = np.bincount(point_ring, minlength=n_rings)
    closing = (np.cumsum(counts) - 1)[counts > 0]
    keep[closing] &= ~np.all(coords[closing] == coords[closing - counts[counts > 0] + 1], axis=1)
    xy = coords[keep]
    point_ring = point_ring[keep]
    ring_len = np.bincount(point_ring, minlength=n_rings)
    ring_start = (np.cumsum(ring_len) - ring_len).astype(np.int64)
    # Signed area per ring (shoelace); shells must be > 0, holes < 0.
    nxt = np.arange(len(xy)) + 1
    nonempty = ring_len > 0
    nxt[(ring_start + ring_len - 1)[nonempty]] = ring_start[nonempty]
    cross = xy[:, 0] * xy[nxt, 1] - xy[nxt, 0] * xy[:, 1]
    area = np.bincount(point_ring, weights=cross, minlength=n_rings)
    is_shell = np.ones(n_rings, dtype=bool)
    is_shell[1:] = ring_part[1:] != ring_part[:-1]
    flip = np.where(is_shell, area < 0, area > 0)
    if flip.any():
        order = np.arange(len(xy))
        pts_flip = flip[point_ring]
        rel = order - ring_start[point_ring]
        order[pts_flip] = (ring_start + ring_len - 1)[point_ring[pts_flip]] - rel[pts_flip]
        xy = xy[order]
    return xy, point_ring, ring_part, ring_start, ring_len


def _fan_triangles(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Fan triangulation ``(s, s+j, s+j+1)`` of many convex rings at once."""
    n_tri = lengths - 2
    owner = np.repeat(np.arange(len(starts)), n_tri)
    first = np.cumsum(n_tri) - n_tri
    j = np.arange(n_tri.sum()) - np.repeat(first, n_tri) + 1
    s = starts[owner]
    return np.column_stack([s, s + j, s + j + 1]).astype(np.int64), owner


def _convex_rings(xy: np.ndarray, point_ring: np.ndarray, ring_start, ring_len) -> np.ndarray:
    """True for counter-clockwise rings whose every corner turns left (convex)."""
    nxt = np.arange(len(xy)) + 1
    last = ring_start + ring_len - 1
    nxt[last] = ring_start
    prv = np.arange(len(xy)) - 1
    prv[ring_start] = last
    a = xy[nxt] - xy
    b = xy - xy[prv]
    cross = b[:, 0] * a[:, 1] - b[:, 1] * a[:, 0]
    concave = np.bincount(point_ring, weights=(cross < -1e-9), minlength=len(ring_len))
    return concave == 0


def polygon_caps(parts: np.ndarray):
    """Triangulate oriented polygon parts (CCW shells, CW holes) in 2D.

    Convex single-ring parts take a vectorised fan; the rest go through earcut.

    Returns
    -------
    xy, point_ring, ring_part, ring_start, ring_len : see :func:`_ring_arrays`
    tris : (t, 3) int64 indices into ``xy``, counter-clockwise
    tri_part : (t,) part index of each triangle
    """
    xy, point_ring, ring_part, ring_start, ring_len = _ring_arrays(parts)
    n_parts = len(parts)
    rings_per_part = np.bincount(ring_part, minlength=n_parts)
    part_first_ring = np.concatenate([[0], np.cumsum(rings_per_part)[:-1]]).astype(np.int64)
    shell = part_first_ring[rings_per_part > 0]
    simple = np.zeros(n_parts, dtype=bool)
    valid = rings_per_part > 0
    simple[valid] = (rings_per_part[valid] == 1) & (ring_len[shell] >= 3)
    convex = np.zeros(n_parts, dtype=bool)
    convex[valid] = _convex_rings(xy, point_ring, ring_start, ring_len)[shell]
    fan_parts = np.flatnonzero(simple & convex)
    fan_tris, fan_owner = _fan_triangles(
        ring_start[part_first_ring[fan_parts]], ring_len[part_first_ring[fan_parts]]
    )
    tris = [fan_tris]
    owners = [fan_parts[fan_owner]]
    # Non-convex or holed parts: earcut, with every index computed up front so
    # the Python loop does nothing but call it.
    ear_parts = np.flatnonzero(valid & ~(simple & convex))
    if ear_parts.size:
        r0 = part_first_ring[ear_parts]
        r1 = r0 + rings_per_part[ear_parts]
        p0 = ring_start[r0]
        p1 = ring_start[r1 - 1] + ring_len[r1 - 1]
        part_p0 = np.zeros(n_parts, dtype=np.int64)
        part_p0[ear_parts] = p0
        ring_end_rel = (ring_start + ring_len - part_p0[ring_part]).astype(np.uint32)
        results = [
            mapbox_earcut.triangulate_float64(xy[a:b], ring_end_rel[c:d])
            for a, b, c, d in zip(p0.tolist(), p1.tolist(), r0.tolist(), r1.tolist(), strict=True)
        ]
        counts = np.array([len(r) // 3 for r in results], dtype=np.int64)
        if counts.sum():
            local = np.concatenate(results).astype(np.int64).reshape(-1, 3)
            tris.append(local + np.repeat(p0, counts)[:, None])
            owners.append(np.repeat(ear_parts, counts))
    tri = np.concatenate(tris).astype(np.int64).reshape(-1, 3)
    tri_part = np.concatenate(owners).astype(np.int64)
    # earcut does not promise a winding: make every cap triangle CCW seen from +z.
    a, b, c = xy[tri[:, 0]], xy[tri[:, 1]], xy[tri[:, 2]]
    area2 = (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0])
    flip = area2 < 0
    tri[flip] = tri[flip][:, ::-1]
    return xy, point_ring, ring_part, ring_start, ring_len, tri, tri_part


def explode_polygons(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(Multi)polygons -> single non-empty polygons and the row each came from."""
    types = shapely.get_type_id(geoms)
    if np.all(types == shapely.GeometryType.POLYGON.value):
        parts, owner = geoms, np.arange(len(geoms))
    else:
        parts, owner = shapely.get_parts(geoms, return_index=True)
        polys = shapely.get_type_id(parts) == shapely.GeometryType.POLYGON.value
        parts, owner = parts[polys], owner[polys]
    nonempty = ~shapely.is_empty(parts)
    return parts[nonempty], owner[nonempty]


def extrude_polygons(
    geoms: np.ndarray,
    base: np.ndarray,
    top: np.ndarray,
    *,
    walls: bool = True,
    floor: bool = True,
) -> TriMesh:
    """Closed LoD1 blocks (floor, walls, roof) for many footprints at once.

    Parameters
    ----------
    geoms : (n,) shapely Polygons/MultiPolygons, scene-local metres, valid.
    base, top : (n,) float64 elevation of floor and roof (metres).
    walls, floor : set False for flat areas that only need their top face.

    Returns
    -------
    TriMesh whose ``feature`` is the row in ``geoms``. With walls and floor the
    block is watertight (shared vertices), outward-facing, and its volume is
    ``area * (top - base)``.
    """
    parts, owner = explode_polygons(np.asarray(geoms, dtype=object))
    if len(parts) == 0:
        return TriMesh.empty()
    xy, point_ring, ring_part, ring_start, ring_len, caps, cap_part = polygon_caps(parts)
    m = len(xy)
    point_owner = owner[ring_part[point_ring]]
    z0 = np.asarray(base, dtype=np.float64)[point_owner]
    z1 = np.asarray(top, dtype=np.float64)[point_owner]
    bottom = np.column_stack([xy, z0])
    upper = np.column_stack([xy, z1])
    cap_owner = owner[cap_part]
    tris = [caps + m]
    feats = [cap_owner]
    if floor:
        tris.append(caps[:, ::-1])
        feats.append(cap_owner)
    if walls:
        i = np.arange(m)
        nxt = i + 1
        last = ring_start + ring_len - 1
        nxt[last] = ring_start
        tris.append(np.column_stack([i, nxt, nxt + m]))
        tris.append(np.column_stack([i, nxt + m, i + m]))
        feats += [point_owner, point_owner]
    points = np.concatenate([bottom, upper]) if (walls or floor) else upper
    tri = np.concatenate(tris)
    if not (walls or floor):
        tri = tri - m
    return TriMesh(points, tri, np.concatenate(feats).astype(np.int32))


def ribbons(lines: np.ndarray, widths: np.ndarray, z: np.ndarray) -> TriMesh:
    """Flat road ribbons: each line buffered to its width, top face at ``z``."""
    areas = shapely.buffer(
        np.asarray(lines, dtype=object),
        np.asarray(widths) / 2.0,
        cap_style="flat",
        join_style="round",
        quad_segs=2,
    )
    areas = shapely.make_valid(areas)
    z = np.asarray(z, dtype=np.float64)
    return extrude_polygons(areas, z, z, walls=False, floor=False)


def _prism_template(sides: int, radius: float, height: float):
    ang = np.linspace(0.0, 2 * np.pi, sides, endpoint=False)
    ring = np.column_stack([radius * np.cos(ang), radius * np.sin(ang)])
    verts = np.vstack(
        [np.column_stack([ring, np.zeros(sides)]), np.column_stack([ring, np.full(sides, height)])]
    )
    i = np.arange(sides)
    j = (i + 1) % sides
    walls = np.vstack(
        [np.column_stack([i, j, j + sides]), np.column_stack([i, j + sides, i + sides])]
    )
    top = np.column_stack(
        [np.full(sides - 2, sides), np.arange(1, sides - 1) + sides, np.arange(2, sides) + sides]
    )
    bottom = np.column_stack(
        [np.zeros(sides - 2, int), np.arange(2, sides), np.arange(1, sides - 1)]
    )
    return verts, np.vstack([walls, top, bottom])


def markers(
    points: np.ndarray, radius: float = 1.5, height: float = 6.0, sides: int = 6
) -> TriMesh:
    """A small closed prism at every point (n, 3): instanced by broadcasting."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 3)
    verts, faces = _prism_template(sides, radius, height)
    n, k = len(pts), len(verts)
    all_points = (pts[:, None, :] + verts[None, :, :]).reshape(-1, 3)
    all_tris = (faces[None, :, :] + (np.arange(n) * k)[:, None, None]).reshape(-1, 3)
    feature = np.repeat(np.arange(n, dtype=np.int32), len(faces))
    return TriMesh(all_points, all_tris.astype(np.int64), feature)
