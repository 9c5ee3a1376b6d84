"""Polygonal profiles -> 2D loops (outer first, then inner), metres, in the
coordinates of the extrusion (the profile's own Position applied).

Only straight-edged profiles are read: rectangles, ``IfcPolyline`` and
``IfcIndexedPolyCurve`` made of line segments. Arcs, composite curves,
parameterised shapes (I, L, rounded, hollow rectangles...) raise
:class:`~importers.ifc.fastpath.placement.Unsupported`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from importers.ifc.fastpath.placement import Unsupported, axis2

Loops = list[np.ndarray]


def curve_points(curve: Any, unit: float) -> np.ndarray:
    """A closed straight-edged curve -> (n, 2) points without the closing repeat."""
    kind = curve.is_a()
    if kind == "IfcPolyline":
        pts = np.array([p[0] for p in curve[0]], dtype=np.float64)
    elif kind == "IfcIndexedPolyCurve":
        coords = np.array(curve.Points.CoordList, dtype=np.float64)
        segments = curve.Segments
        if segments is None:
            pts = coords
        else:
            idx: list[int] = []
            for seg in segments:
                if seg.is_a() != "IfcLineIndex":
                    raise Unsupported("arc segment")
                ids = list(seg.wrappedValue)
                idx.extend(ids if not idx else ids[1:] if idx[-1] == ids[0] else ids)
            pts = coords[np.array(idx, dtype=np.int64) - 1]
    else:
        raise Unsupported(kind)
    if pts.ndim != 2 or pts.shape[1] < 2:
        raise Unsupported("bad curve points")
    pts = pts[:, :2] * unit
    # drop consecutive repeats and the closing point
    keep = np.ones(len(pts), dtype=bool)
    keep[1:] = np.any(np.abs(np.diff(pts, axis=0)) > 1e-12, axis=1)
    pts = pts[keep]
    if len(pts) > 1 and np.all(np.abs(pts[0] - pts[-1]) <= 1e-12):
        pts = pts[:-1]
    if len(pts) < 3 or not np.all(np.isfinite(pts)):
        raise Unsupported("degenerate curve")
    return pts


def signed_area(loop: np.ndarray) -> float:
    x, y = loop[:, 0], loop[:, 1]
    return 0.5 * float(x[:-1] @ y[1:] - x[1:] @ y[:-1] + x[-1] * y[0] - x[0] * y[-1])


def oriented(loops: Loops) -> Loops:
    """Outer loop counter-clockwise, inner loops clockwise."""
    out = []
    for i, loop in enumerate(loops):
        a = signed_area(loop)
        if abs(a) < 1e-14:
            raise Unsupported("zero-area loop")
        if (a > 0) != (i == 0):
            loop = loop[::-1]
        out.append(np.ascontiguousarray(loop))
    return out


def profile_loops(profile: Any, unit: float) -> Loops:
    """An area profile's loops, oriented (see :func:`oriented`)."""
    if profile[0] != "AREA":  # ProfileType
        raise Unsupported("curve profile")
    kind = profile.is_a()
    if kind == "IfcRectangleProfileDef":  # ProfileType, ProfileName, Position, XDim, YDim
        x, y = float(profile[3]) * unit / 2, float(profile[4]) * unit / 2
        if not (x > 0 and y > 0):
            raise Unsupported("empty rectangle")
        loop = np.array([[-x, -y], [x, -y], [x, y], [-x, y]])
        m = axis2(profile[2], unit)
        loops = [loop @ m[:2, :2].T + m[:2, 3]]
    elif kind == "IfcArbitraryClosedProfileDef":  # ..., OuterCurve
        loops = [curve_points(profile[2], unit)]
    elif kind == "IfcArbitraryProfileDefWithVoids":  # ..., OuterCurve, InnerCurves
        loops = [curve_points(profile[2], unit)]
        loops += [curve_points(c, unit) for c in profile[3]]
    else:
        raise Unsupported(kind)
    return oriented(loops)
