"""CRS names as city-model files write them, and the move into scene-local metres.

CityJSON writes ``https://www.opengis.net/def/crs/EPSG/0/7415``, CityGML
``urn:ogc:def:crs,crs:EPSG::25832,crs:EPSG::5783`` or German AdV names such as
``urn:adv:crs:DE_DHDN_3GK4*DE_DHHN92_NH``. Most are compound (horizontal +
vertical). The scene reprojects x/y only, so a compound CRS is reduced to its
horizontal part and heights are kept as written (a vertical datum shift would
need geoid grids the app does not ship); that choice is recorded in warnings
only when the vertical datum differs from the scene's in a way we can see.
"""

from __future__ import annotations

import re
from functools import lru_cache

import numpy as np
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError, ProjError

from twin.geo import PROJ_LOCK, parse_crs, transform_xy
from twin.scene import Scene

#: German AdV CRS names (CityGML from the Länder) -> EPSG codes (horizontal part).
ADV_CRS = {
    "DE_DHDN_3GK2": "EPSG:31466",
    "DE_DHDN_3GK3": "EPSG:31467",
    "DE_DHDN_3GK4": "EPSG:31468",
    "DE_DHDN_3GK5": "EPSG:31469",
    "ETRS89_UTM32": "EPSG:25832",
    "ETRS89_UTM33": "EPSG:25833",
    "DE_ETRS89_UTM32": "EPSG:25832",
    "DE_ETRS89_UTM33": "EPSG:25833",
}
_ADV = re.compile(r"urn:adv:crs:([A-Za-z0-9_]+)")
#: Coordinates beyond this (metres or degrees) are treated as corrupt: no real
#: city lies 10,000 km from its CRS origin, and float32 would lose it anyway.
MAX_ABS_COORD = 1e8
#: Degrees added on every side of a projected CRS's area of use before a
#: coordinate counts as out of range (about 1,100 km): generous enough for data
#: labelled with a neighbouring zone, tight enough to catch garbage and values
#: that cannot be a place the CRS was made for.
AREA_MARGIN_DEG = 10.0


def normalize_crs(text: object) -> str | None:
    """A CRS string twin.geo can parse, reduced to 2D; None when none is declared.

    Raises
    ------
    ValueError
        When a CRS is declared but neither pyproj nor the AdV table knows it.
    """
    if text is None:
        return None
    if isinstance(text, int):
        text = f"EPSG:{text}"
    if isinstance(text, dict):  # CityJSON 0.x {"epsg": 7415}
        text = f"EPSG:{text.get('epsg')}" if text.get("epsg") else None
        if text is None:
            return None
    spec = str(text).strip()
    if not spec:
        return None
    m = _ADV.match(spec)
    if m:
        code = ADV_CRS.get(m.group(1))
        if code is None:
            raise ValueError(f"unknown AdV CRS {spec!r}")
        return code
    try:
        crs = CRS.from_user_input(spec)
    except CRSError:
        raise ValueError(f"unknown CRS {spec!r}") from None
    return crs_2d(crs, spec)


def crs_2d(crs: CRS, fallback: str) -> str:
    """The horizontal part of ``crs`` as ``EPSG:n`` where possible, else WKT."""
    if crs.is_compound and crs.sub_crs_list:
        crs = crs.sub_crs_list[0]
    elif len(crs.axis_info) > 2:
        try:
            crs = crs.to_2d()
        except CRSError:
            return fallback
    code = crs.to_epsg(min_confidence=90)
    return f"EPSG:{code}" if code else crs.to_wkt()


def source_crs(declared: object, scene: Scene, notes: list[str]) -> str:
    """The CRS to read a file in: its own, else the scene's with a warning."""
    try:
        crs = normalize_crs(declared)
    except ValueError as exc:
        notes.append(f"{exc}; assumed the scene CRS {scene.crs} (positions may be wrong)")
        return scene.crs
    if crs is None:
        notes.append(f"no CRS declared; assumed the scene CRS {scene.crs}")
        return scene.crs
    try:
        parse_crs(crs)
    except ValueError as exc:
        notes.append(f"{exc}; assumed the scene CRS {scene.crs}")
        return scene.crs
    return crs


def to_local(
    xyz: np.ndarray,
    src_crs: str,
    scene: Scene,
    ops: list | None = None,
    units: tuple[str, ...] = (),
    valid: np.ndarray | None = None,
) -> np.ndarray:
    """Source coordinates (n, 3) -> scene-local float64: x/y reprojected with
    pyproj (always_xy), then the scene origin (x, y and z) subtracted.

    With ``ops``, the record of this operation (:mod:`twin.crs_record`, with
    the importer's ``units`` conversions) is appended to it, describing the
    finite rows (of those ``valid``, where the caller put placeholders)."""
    xyz = np.asarray(xyz, dtype=np.float64).reshape(-1, 3)
    out = np.empty_like(xyz)
    if ops is not None:
        from twin.crs_record import bounds_of, record_transform

        bounds = bounds_of(xyz, valid)
        ops.append(record_transform(src_crs, scene.crs, bounds, origin=scene.origin, units=units))
    if len(xyz) == 0:
        return out
    x, y = transform_xy(xyz[:, 0], xyz[:, 1], src_crs, scene.crs)
    out[:, 0] = x - scene.origin[0]
    out[:, 1] = y - scene.origin[1]
    out[:, 2] = xyz[:, 2] - scene.origin[2]
    return out


def scene_extent(
    crs: str | None, bounds: tuple[float, float, float, float]
) -> tuple[str | None, tuple[float, float, float, float]]:
    """What ``extent()`` should report so :func:`importers.scene_for` can build a
    scene: a projected CRS in metres as is; anything else (US feet, degrees)
    as WGS 84 lon/lat bounds, from which a UTM scene is chosen."""
    if crs is None:
        return None, bounds
    parsed = parse_crs(crs)
    unit = parsed.axis_info[0].unit_name if parsed.axis_info else ""
    if parsed.is_projected and unit in ("metre", "meter"):
        return crs, bounds
    xs = np.array([bounds[0], bounds[2], bounds[0], bounds[2]], dtype=np.float64)
    ys = np.array([bounds[1], bounds[1], bounds[3], bounds[3]], dtype=np.float64)
    lon, lat = transform_xy(xs, ys, crs, "EPSG:4326")
    return "EPSG:4326", (float(lon.min()), float(lat.min()), float(lon.max()), float(lat.max()))


def finite_rows(xyz: np.ndarray) -> np.ndarray:
    """(n,) bool, rows that are finite and within :data:`MAX_ABS_COORD`."""
    if len(xyz) == 0:
        return np.zeros(0, dtype=bool)
    with np.errstate(invalid="ignore"):
        return np.all(np.isfinite(xyz) & (np.abs(xyz) < MAX_ABS_COORD), axis=1)


@lru_cache(maxsize=64)
def coordinate_window(crs: str) -> tuple[float, float, float, float]:
    """(xmin, ymin, xmax, ymax) in ``crs``'s own units (x first, as ``always_xy``)
    outside which a coordinate is corrupt rather than data.

    One rule for every CRS: the domain where the CRS names real places.

    - Geographic: its axes' range, longitude ±180 and latitude ±90.
    - Projected: its area of use, widened by :data:`AREA_MARGIN_DEG` and
      projected into it (edges densified), capped at ±:data:`MAX_ABS_COORD`.
    - No area of use (engineering or custom WKT), or a window that does not
      project to finite numbers: ±:data:`MAX_ABS_COORD` alone, a bound no city
      reaches and float32 rendering could not hold anyway.
    """
    cap = (-MAX_ABS_COORD, -MAX_ABS_COORD, MAX_ABS_COORD, MAX_ABS_COORD)
    try:
        parsed = parse_crs(crs)
    except ValueError:
        return cap
    if parsed.is_geographic:
        return (-180.0, -90.0, 180.0, 90.0)
    area = parsed.area_of_use if parsed.is_projected else None
    if area is None:
        return cap
    west, east = area.west - AREA_MARGIN_DEG, area.east + AREA_MARGIN_DEG
    if area.east < area.west:  # the area crosses the antimeridian
        east += 360.0
    if east - west >= 360.0:
        west, east = -180.0, 180.0
    south = max(area.south - AREA_MARGIN_DEG, -90.0)
    north = min(area.north + AREA_MARGIN_DEG, 90.0)
    try:
        with PROJ_LOCK:
            to_crs = Transformer.from_crs("EPSG:4326", parsed, always_xy=True)
            box = to_crs.transform_bounds(west, south, east, north, densify_pts=21)
    except (CRSError, ProjError):
        return cap
    if not np.all(np.isfinite(box)):
        return cap
    return (
        max(float(box[0]), cap[0]),
        max(float(box[1]), cap[1]),
        min(float(box[2]), cap[2]),
        min(float(box[3]), cap[3]),
    )


def in_range(xy: np.ndarray, crs: str) -> np.ndarray:
    """(n,) bool: rows of ``xy`` (n, >=2; x, y in ``crs``) that are finite and
    inside :func:`coordinate_window`. Importers skip features with any other."""
    xy = np.asarray(xy, dtype=np.float64)
    if len(xy) == 0:
        return np.zeros(0, dtype=bool)
    x0, y0, x1, y1 = coordinate_window(str(crs))
    x, y = xy[:, 0], xy[:, 1]
    with np.errstate(invalid="ignore"):
        return (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)
