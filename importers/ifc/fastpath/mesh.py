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
        return pts, _quad_cap(pts)
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
    gather, sides = _sides(tuple(len(lp) for lp in loops))
    verts = np.empty((6 * n, 3))
    verts[:n, :2] = pts
    verts[:n, 2] = 0.0
    np.add(verts[:n], direction * depth, out=verts[n : 2 * n])
    np.take(verts[: 2 * n], gather, axis=0, out=verts[2 * n :])
    faces = np.concatenate([tri[:, ::-1], tri + n, sides])
    if direction[2] < 0:
        faces = faces[:, ::-1]
    return verts, faces


def _quad_cap(pts: np.ndarray) -> np.ndarray:
    """The two triangles of a four-point loop, each turned counter-clockwise,
    checked against the loop's area as :func:`cap` does (plain floats: numpy's
    per-call cost would be most of it, and most walls are rectangles)."""
    (x0, y0), (x1, y1), (x2, y2), (x3, y3) = pts.tolist()
    c1 = (x1 - x0) * (y2 - y0) - (y1 - y0) * (x2 - x0)
    c2 = (x2 - x0) * (y3 - y0) - (y2 - y0) * (x3 - x0)
    want = 0.5 * ((x0 * y1 - x1 * y0) + (x1 * y2 - x2 * y1) + (x2 * y3 - x3 * y2)
                  + (x3 * y0 - x0 * y3))
    got = 0.5 * (abs(c1) + abs(c2))
    if not want > 0 or abs(got - want) > 1e-9 * max(want, 1e-12) + 1e-15:
        raise Unsupported("profile does not triangulate to its own area")
    return _QUAD_CAPS[(c1 < 0) + 2 * (c2 < 0)]


#: the quad cap's triangles with either of them turned over
_QUAD_CAPS = [
    np.array([[0, 1, 2][::a], [0, 2, 3][::b]], dtype=np.int64)
    for b in (1, -1)
    for a in (1, -1)
]
for _cap in _QUAD_CAPS:
    _cap.flags.writeable = False
_SIDES: dict[tuple[int, ...], tuple[np.ndarray, np.ndarray]] = {}


def _sides(lens: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """For loops of these lengths: which of the base and top vertices each
    side quad's four corners copy, and the side triangles (one set per shape
    of profile: most walls share one)."""
    known = _SIDES.get(lens)
    if known is not None:
        return known
    n = sum(lens)
    starts = np.repeat(np.cumsum([0, *lens[:-1]]), lens)
    i0 = np.arange(n)
    i1 = starts + (i0 - starts + 1) % np.repeat(lens, lens)
    gather = np.stack([i0, i1, n + i1, n + i0], axis=1).reshape(-1)
    q = 2 * n + 4 * np.arange(n)
    faces = (q[:, None, None] + _QUAD[None]).reshape(-1, 3)
    gather.flags.writeable = faces.flags.writeable = False
    if len(_SIDES) < 4096:
        _SIDES[lens] = (gather, faces)
    return gather, faces


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
