"""Measurements in the view (metres): distance and height between two points,
the plan and terrain-draped area of a drawn polygon, kept as plain records
in the project."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Measurement:
    """``distance`` 3D, ``horizontal`` in plan, ``dh`` = b.z − a.z; all metres."""

    a: tuple[float, float, float]
    b: tuple[float, float, float]
    distance: float
    horizontal: float
    dh: float

    def text(self, lang: str = "en") -> str:
        """The label in the view's language (``"en"`` or ``"vi"``; twin has no
        Qt translator, so the two wordings live here, like the legends')."""
        words = _WORDS.get(lang, _WORDS["en"])
        return (
            f"{self.distance:.2f} m  ({words['plan']} {self.horizontal:.2f} m, "
            f"{words['dh']} {self.dh:+.2f} m)"
        )


#: The measurement label's words per language.
_WORDS = {
    "en": {"plan": "plan", "dh": "Δh"},
    "vi": {"plan": "ngang", "dh": "Δh"},
}


def measure(a, b) -> Measurement:
    """Measure from ``a`` to ``b``: (3,) world coordinates in a projected CRS (float64)."""
    pa = np.asarray(a, dtype=np.float64).reshape(3)
    pb = np.asarray(b, dtype=np.float64).reshape(3)
    d = pb - pa
    return Measurement(
        tuple(map(float, pa)),
        tuple(map(float, pb)),
        float(np.linalg.norm(d)),
        float(np.hypot(d[0], d[1])),
        float(d[2]),
    )


# -- areas and heights ---------------------------------------------------------------------
#: Words of the area and height labels per language (no Qt translator in twin).
_AREA_WORDS = {
    "en": {"area": "area", "plan": "plan", "terrain": "on terrain", "height": "height",
           "perimeter": "perimeter"},
    "vi": {"area": "diện tích", "plan": "mặt bằng", "terrain": "theo địa hình",
           "height": "chiều cao", "perimeter": "chu vi"},
}


@dataclass(frozen=True)
class AreaMeasurement:
    """A drawn polygon (world points, closed implicitly): its plan area (the
    horizontal projection, what a cadastral plan states), its area draped on
    the terrain (NaN without a terrain) and its plan perimeter; m² and m."""

    points: tuple[tuple[float, float, float], ...]
    plan_area: float
    draped_area: float
    perimeter: float

    def text(self, lang: str = "en") -> str:
        """The result as the view and the clipboard give it, in the language's
        number format (Vietnamese: 1.234,5 m²)."""
        w = _AREA_WORDS.get(lang, _AREA_WORDS["en"])
        out = f"{w['area']} {_num(self.plan_area, lang, 1)} m² ({w['plan']})"
        if math.isfinite(self.draped_area):
            out += f", {_num(self.draped_area, lang, 1)} m² ({w['terrain']})"
        return out


@dataclass(frozen=True)
class HeightMeasurement:
    """Vertical height between two picks: ``b.z − a.z`` (m), whatever their plan distance."""

    a: tuple[float, float, float]
    b: tuple[float, float, float]
    height: float

    def text(self, lang: str = "en") -> str:
        w = _AREA_WORDS.get(lang, _AREA_WORDS["en"])
        sign = "+" if self.height >= 0 else "−"
        return (f"{w['height']} {_num(abs(self.height), lang, 2)} m "
                f"(Δh {sign}{_num(abs(self.height), lang, 2)} m)")


def _num(value: float, lang: str, decimals: int) -> str:
    from twin.locale_format import format_number

    return format_number(value, lang, decimals, group=True)


def polygon_plan_area(xy) -> float:
    """Shoelace area of a simple polygon's horizontal projection (m²)."""
    p = np.asarray(xy, dtype=np.float64)[:, :2]
    if len(p) < 3:
        return 0.0
    p = p - p.mean(axis=0)  # small numbers: no cancellation at UTM magnitudes
    x, y = p[:, 0], p[:, 1]
    return float(abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) / 2.0)


def draped_area(xy, points, triangles) -> float:
    """Area of the terrain surface inside a polygon (m²).

    ``points`` (m, 3) and ``triangles`` (k, 3) are the terrain's triangle mesh
    (any consistent frame, e.g. scene-local, with ``xy`` in the same one). Each
    terrain triangle is a plane piece: the part of it inside the polygon has
    ``plan area / |cos(slope)|`` of surface, so clipping the triangles against
    the polygon (shapely, vectorised) gives the exact area over a piecewise
    linear terrain. Where the terrain does not reach, nothing is counted.
    """
    import shapely

    poly = np.asarray(xy, dtype=np.float64)[:, :2]
    pts = np.asarray(points, dtype=np.float64)
    tri = np.asarray(triangles, dtype=np.int64).reshape(-1, 3)
    if len(poly) < 3 or not len(tri):
        return 0.0
    shift = poly.mean(axis=0)
    poly = poly - shift
    corners = pts[tri] - np.array([shift[0], shift[1], 0.0])  # (k, 3, 3)
    lo, hi = poly.min(axis=0), poly.max(axis=0)
    cmin, cmax = corners[:, :, :2].min(axis=1), corners[:, :, :2].max(axis=1)
    near = np.flatnonzero((cmax >= lo).all(axis=1) & (cmin <= hi).all(axis=1))
    if not len(near):
        return 0.0
    c = corners[near]
    normal = np.cross(c[:, 1] - c[:, 0], c[:, 2] - c[:, 0])
    nz = np.abs(normal[:, 2])
    steep = nz > 1e-12 * np.linalg.norm(normal, axis=1)  # vertical faces have no plan area
    c, normal, nz = c[steep], normal[steep], nz[steep]
    ring = np.concatenate([c[:, :, :2], c[:, :1, :2]], axis=1)
    shapes = shapely.polygons(ring)
    region = shapely.make_valid(shapely.Polygon(poly))
    inside = shapely.area(shapely.intersection(shapes, region))
    return float(np.sum(inside * np.linalg.norm(normal, axis=1) / nz))


def measure_area(points, terrain: tuple[np.ndarray, np.ndarray] | None = None) -> AreaMeasurement:
    """Measure a polygon drawn through ``points`` ((n, 3) world or local); with
    ``terrain`` = (points, triangles) in the same frame, its draped area too."""
    p = np.asarray(points, dtype=np.float64).reshape(-1, 3)
    closed = np.vstack([p[:, :2], p[:1, :2]]) if len(p) else p[:, :2]
    perimeter = float(np.hypot(*np.diff(closed, axis=0).T).sum()) if len(p) > 1 else 0.0
    draped = math.nan if terrain is None else draped_area(p, terrain[0], terrain[1])
    return AreaMeasurement(tuple(tuple(map(float, q)) for q in p), polygon_plan_area(p),
                           draped, perimeter)


def measure_height(a, b) -> HeightMeasurement:
    """Vertical height from pick ``a`` to pick ``b`` (m)."""
    pa = np.asarray(a, dtype=np.float64).reshape(3)
    pb = np.asarray(b, dtype=np.float64).reshape(3)
    return HeightMeasurement(tuple(map(float, pa)), tuple(map(float, pb)), float(pb[2] - pa[2]))


def record(m) -> dict:
    """A measurement as plain JSON data, for the project file."""
    if isinstance(m, AreaMeasurement):
        return {"kind": "area", "points": [list(p) for p in m.points],
                "plan_area": m.plan_area,
                "draped_area": None if not math.isfinite(m.draped_area) else m.draped_area,
                "perimeter": m.perimeter}
    if isinstance(m, HeightMeasurement):
        return {"kind": "height", "points": [list(m.a), list(m.b)], "height": m.height}
    return {"kind": "distance", "points": [list(m.a), list(m.b)], "distance": m.distance,
            "horizontal": m.horizontal, "dh": m.dh}


def from_record(d: dict):
    """The measurement a :func:`record` stands for (values are recomputed from
    the points; a draped area is kept as saved). Raises ValueError if unusable."""
    try:
        kind = d["kind"]
        pts = np.asarray(d["points"], dtype=np.float64).reshape(-1, 3)
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"unreadable measurement: {exc}") from None
    if not np.isfinite(pts).all():
        raise ValueError("measurement points are not finite")
    if kind == "area" and len(pts) >= 3:
        m = measure_area(pts)
        draped = d.get("draped_area")
        if isinstance(draped, int | float) and math.isfinite(draped):
            m = AreaMeasurement(m.points, m.plan_area, float(draped), m.perimeter)
        return m
    if kind == "height" and len(pts) == 2:
        return measure_height(pts[0], pts[1])
    if kind == "distance" and len(pts) == 2:
        return measure(pts[0], pts[1])
    raise ValueError(f"unknown measurement kind {kind!r} or wrong number of points")
