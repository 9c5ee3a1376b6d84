"""Triangles from polygonal loops and indexed face sets, with numpy.

Every function returns ``(verts (n, 3) float64, faces (m, 3) int64)`` with
outward (counter-clockwise seen from outside) triangles. Extrusions get their
own vertices per cap and per side quad, so flat shading stays crisp, and
their caps are checked against the polygon's area: a profile earcut cannot
triangulate faithfully (self-intersecting, holes outside) raises
:class:`Unsupported` and goes to the kernel.
"""

from __future__ import annotations

import mapbox_earcut
import numpy as np

from importers.ifc.fastpath.placement import Unsupported
from importers.ifc.fastpath.profiles import Loops, signed_area

_QUAD = np.array([[0, 1, 2], [0, 2, 3]], dtype=np.int64)


def cap(loops: Loops) -> tuple[np.ndarray, np.ndarray]:
    """Triangulate oriented loops (outer CCW, holes CW) -> points, CCW triangles."""
    pts = np.concatenate(loops) if len(loops) > 1 else loops[0]
    n = len(pts)
    if len(loops) == 1 and n == 4:
        tri = np.array([[0, 1, 2], [0, 2, 3]], dtype=np.int64)
    else:
        rings = np.cumsum([len(lp) for lp in loops]).astype(np.uint32)
        tri = mapbox_earcut.triangulate_float64(pts, rings).astype(np.int64).reshape(-1, 3)
    a, b, c = pts[tri[:, 0]], pts[tri[:, 1]], pts[tri[:, 2]]
    cross = (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0])
    flip = cross < 0
    if flip.any():
        tri[flip] = tri[flip][:, ::-1]
    want = sum(signed_area(lp) for lp in loops)
    got = 0.5 * float(np.abs(cross).sum())
    if not want > 0 or abs(got - want) > 1e-9 * max(want, 1e-12) + 1e-15:
        raise Unsupported("profile does not triangulate to its own area")
    return pts, tri


def extrude(loops: Loops, direction: np.ndarray, depth: float) -> tuple[np.ndarray, np.ndarray]:
    """A prism: ``loops`` in the XY plane swept by ``direction * depth``
    (``direction`` a unit vector with a non-zero Z)."""
    if abs(direction[2]) < 1e-12 or not depth > 0:
        raise Unsupported("extrusion parallel to its profile or of no depth")
    pts, tri = cap(loops)
    n = len(pts)
    base = np.zeros((n, 3))
    base[:, :2] = pts
    top = base + direction * depth
    lens = [len(lp) for lp in loops]
    starts = np.repeat(np.cumsum([0, *lens[:-1]]), lens)
    local = np.arange(n) - starts
    i0 = np.arange(n)
    i1 = starts + (local + 1) % np.repeat(lens, lens)
    side = np.stack([base[i0], base[i1], top[i1], top[i0]], axis=1).reshape(-1, 3)
    q = 2 * n + 4 * np.arange(n)
    sf = (q[:, None, None] + _QUAD[None]).reshape(-1, 3)
    verts = np.concatenate([base, top, side])
    faces = np.concatenate([tri[:, ::-1], tri + n, sf])
    if direction[2] < 0:
        faces = faces[:, ::-1]
    return verts, faces


def triangulated(coords: np.ndarray, index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``IfcTriangulatedFaceSet``: 0-based (m, 3) indices into ``coords``."""
    if index.ndim != 2 or index.shape[1] != 3 or len(index) == 0:
        raise Unsupported("bad triangle index")
    if index.min() < 0 or index.max() >= len(coords):
        raise Unsupported("triangle index out of range")
    return coords, index


def polygons(coords: np.ndarray, faces: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """``IfcPolygonalFaceSet``: each face (0-based indices) triangulated in its
    own plane (earcut), keeping the face's winding."""
    out: list[np.ndarray] = []
    for face in faces:
        if len(face) < 3 or face.min() < 0 or face.max() >= len(coords):
            raise Unsupported("bad polygon index")
        if len(face) == 3:
            out.append(face[None, :])
            continue
        p = coords[face]
        normal = np.cross(p - np.roll(p, -1, axis=0), p + np.roll(p, -1, axis=0)).sum(axis=0)
        length = float(np.linalg.norm(normal))
        if length < 1e-18:
            raise Unsupported("degenerate polygon")
        normal /= length
        u = np.cross(normal, [1.0, 0.0, 0.0] if abs(normal[0]) < 0.9 else [0.0, 1.0, 0.0])
        u /= np.linalg.norm(u)
        v = np.cross(normal, u)
        flat = np.stack([p @ u, p @ v], axis=1)
        tri = mapbox_earcut.triangulate_float64(flat, np.array([len(face)], dtype=np.uint32))
        tri = tri.astype(np.int64).reshape(-1, 3)
        if len(tri) != len(face) - 2:
            raise Unsupported("polygon did not triangulate")
        a, b, c = flat[tri[:, 0]], flat[tri[:, 1]], flat[tri[:, 2]]
        cross = (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (
            c[:, 0] - a[:, 0]
        )
        flip = cross < 0
        tri[flip] = tri[flip][:, ::-1]
        out.append(face[tri])
    return coords, np.concatenate(out)


def transformed(verts: np.ndarray, m: np.ndarray) -> np.ndarray:
    return verts @ m[:3, :3].T + m[:3, 3]
