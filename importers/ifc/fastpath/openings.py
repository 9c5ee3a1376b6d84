"""The one boolean the fast path does: box-shaped openings straight through a
box-shaped wall.

Proved, not assumed: the host's body is one extruded rectangle swept square
to its profile, each opening's body is one such box too, the opening's axes
are the host's axes up to sign and order, it spans the host completely along
one axis (the same for every opening) and stays strictly inside the host
across the other two, and no two openings touch. The result is then the
host's face with rectangular holes, extruded through the host: exact, so
volume and bounds equal the kernel's. Anything else raises Unsupported.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from importers.ifc.fastpath.placement import Unsupported
from importers.ifc.fastpath.profiles import oriented

#: Metres: openings closer than this to a host face or to each other are
#: left to the kernel (it may weld or keep slivers there).
MARGIN = 1e-5


def box_of(item: Any, unit: float, axes: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """An extruded rectangle swept square to its profile -> (frame 4x4, lo, hi)
    in the item's representation frame."""
    if item.is_a() != "IfcExtrudedAreaSolid":
        raise Unsupported("not an extrusion")
    prof = item.SweptArea
    if prof.is_a() != "IfcRectangleProfileDef" or prof.ProfileType != "AREA":
        raise Unsupported("not a rectangle")
    d = np.array(item.ExtrudedDirection.DirectionRatios, dtype=np.float64)
    d = d / np.linalg.norm(d)
    if abs(abs(d[2]) - 1.0) > 1e-12 or len(d) != 3:
        raise Unsupported("oblique extrusion")
    pm = axes.axis(prof.Position)
    frame = axes.axis(item.Position).copy()
    rot2 = np.eye(4)
    rot2[:2, :2] = pm[:2, :2]
    rot2[:2, 3] = pm[:2, 3]
    frame = frame @ rot2
    hx, hy = float(prof.XDim) * unit / 2, float(prof.YDim) * unit / 2
    depth = float(item.Depth) * unit
    z0, z1 = (0.0, depth) if d[2] > 0 else (-depth, 0.0)
    lo, hi = np.array([-hx, -hy, z0]), np.array([hx, hy, z1])
    if not (np.all(hi - lo > 0) and np.all(np.isfinite(frame))):
        raise Unsupported("empty box")
    return frame, lo, hi


def cut(
    host: tuple[np.ndarray, np.ndarray, np.ndarray],
    openings: list[tuple[np.ndarray, np.ndarray, np.ndarray]],
) -> tuple[np.ndarray, list[np.ndarray], np.ndarray, float, float]:
    """Host box minus through openings (each ``(frame, lo, hi)`` in the host
    product's frame). Returns the plan for :func:`mesh.extrude`:
    ``(frame, loops, axis, start, length)`` where ``frame`` maps a 2D plane
    whose normal is the through axis."""
    hf, hlo, hhi = host
    inv = np.linalg.inv(hf)
    through = None
    rects = []
    for of, olo, ohi in openings:
        rel = inv @ of
        r = rel[:3, :3]
        if not np.allclose(np.abs(r).round(), np.abs(r), atol=1e-9) or not np.allclose(
            np.abs(r).sum(axis=0), 1.0, atol=1e-9
        ):
            raise Unsupported("opening not aligned with its host")
        corners = np.array([[olo[0], olo[1], olo[2]], [ohi[0], ohi[1], ohi[2]]])
        pts = corners @ r.T + rel[:3, 3]
        lo, hi = pts.min(axis=0), pts.max(axis=0)
        spans = (lo <= hlo + 1e-12) & (hi >= hhi - 1e-12)
        if spans.sum() != 1:
            raise Unsupported("opening does not pass straight through")
        axis = int(np.flatnonzero(spans)[0])
        if through is None:
            through = axis
        elif through != axis:
            raise Unsupported("openings through different axes")
        others = [a for a in range(3) if a != axis]
        if np.any(lo[others] < hlo[others] + MARGIN) or np.any(hi[others] > hhi[others] - MARGIN):
            raise Unsupported("opening reaches the host's edge")
        rects.append((lo[others], hi[others]))
    assert through is not None
    for i in range(len(rects)):
        for j in range(i):
            a, b = rects[i], rects[j]
            if np.all(a[0] < b[1] + MARGIN) and np.all(b[0] < a[1] + MARGIN):
                raise Unsupported("openings touch")
    u, v = [a for a in range(3) if a != through]
    # plane axes (u, v, through) as a right-handed frame: flip v if needed
    basis = np.zeros((3, 3))
    basis[u, 0] = 1.0
    basis[v, 1] = 1.0
    basis[through, 2] = 1.0
    sign = 1.0 if np.linalg.det(basis) > 0 else -1.0
    basis[:, 1] *= sign
    outer = np.array(
        [[hlo[u], sign * hlo[v]], [hhi[u], sign * hlo[v]], [hhi[u], sign * hhi[v]],
         [hlo[u], sign * hhi[v]]]
    )  # fmt: skip
    loops = [outer]
    for lo, hi in rects:
        loops.append(np.array([[lo[0], sign * lo[1]], [lo[0], sign * hi[1]],
                               [hi[0], sign * hi[1]], [hi[0], sign * lo[1]]]))  # fmt: skip
    frame = np.eye(4)
    frame[:3, :3] = basis
    frame[through, 3] = hlo[through]
    return hf @ frame, oriented(loops), np.array([0.0, 0.0, 1.0]), 0.0, hhi[through] - hlo[through]
