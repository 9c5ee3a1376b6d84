"""Coordinate reference systems and transforms, all through pyproj.

Every transformer is built with ``always_xy=True`` (lon/lat and easting/northing
order, never the authority's axis order) and cached, because building a PROJ
pipeline costs milliseconds and importers ask for the same pair many times.

PROJ calls go through :data:`PROJ_LOCK`: the app transforms on the GUI thread
(coordinates under the mouse) while an import transforms in its worker thread,
and a cached transformer building its per-thread PROJ object while another
thread used it crashed the process (a segfault inside pyproj, seen once in the
test suite). Transforms are vectorised, so holding the lock costs microseconds.
"""

from __future__ import annotations

import threading
from functools import lru_cache

import numpy as np
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError

WGS84 = "EPSG:4326"
#: A local engineering CRS in metres, for data that declares no CRS at all (an
#: un-georeferenced IFC or CityJSON opened on its own): it has no relation to
#: the Earth, so transforms to any other CRS fail loudly instead of guessing.
LOCAL_CRS = (
    'ENGCRS["CityTwin local (metres)",EDATUM["Local origin"],CS[Cartesian,2],'
    'AXIS["easting (X)",east,ORDER[1],LENGTHUNIT["metre",1]],'
    'AXIS["northing (Y)",north,ORDER[2],LENGTHUNIT["metre",1]]]'
)


#: Serialises PROJ work across threads (see the module docstring).
PROJ_LOCK = threading.RLock()


class CRSResolutionError(ValueError):
    """A CRS string that pyproj cannot resolve."""


@lru_cache(maxsize=64)
def parse_crs(spec: str | int) -> CRS:
    """Resolve ``"EPSG:9208"``, ``9208``, a WKT or a PROJ string to a pyproj CRS."""
    try:
        with PROJ_LOCK:
            return CRS.from_user_input(spec)
    except CRSError as exc:
        raise CRSResolutionError(f"unknown CRS {spec!r}: {exc}") from None


def require_projected(crs: CRS, what: str = "scene CRS") -> None:
    """Scenes are metric: a geographic CRS would make extrusion heights meaningless.
    A local engineering CRS in metres (:data:`LOCAL_CRS`) is accepted too."""
    if not (crs.is_projected or crs.is_engineering):
        raise CRSResolutionError(f"{what} {crs.to_string()} is not a projected CRS in metres")
    unit = crs.axis_info[0].unit_name if crs.axis_info else ""
    if unit not in ("metre", "meter"):
        raise CRSResolutionError(f"{what} {crs.to_string()} has unit {unit!r}, not metres")


@lru_cache(maxsize=64)
def transformer(src: str | int, dst: str | int) -> Transformer:
    """Cached ``src -> dst`` transformer in x/y (easting/northing, lon/lat) order."""
    with PROJ_LOCK:
        return Transformer.from_crs(parse_crs(src), parse_crs(dst), always_xy=True)


def operation_used(src: str | int, dst: str | int, x: float, y: float) -> Transformer:
    """The PROJ operation that the cached ``src -> dst`` :func:`transformer`
    applies at (x, y), for :mod:`twin.crs_record`.

    A pair with several candidate operations (a datum shift published for one
    country, a ballpark offset elsewhere) is resolved per point, so only a
    transform tells which one ran; this asks the very transformer the
    importers use, under the lock, at a point of their data. Falls back to the
    transformer itself when PROJ used none (a point it cannot transform).
    """
    from pyproj.exceptions import ProjError

    t = transformer(src, dst)
    with PROJ_LOCK:
        t.transform(float(x), float(y))
        try:
            return t.get_last_used_operation()
        except ProjError:
            return t


def transform_xy(x: np.ndarray, y: np.ndarray, src: str | int, dst: str | int):
    """Transform coordinate arrays; identical CRSs are returned unchanged (no copy).

    Returns
    -------
    x, y : (n,) float64 arrays in ``dst``.
    """
    if parse_crs(src) == parse_crs(dst):
        return np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if parse_crs(src).is_engineering or parse_crs(dst).is_engineering:
        raise CRSResolutionError(
            "cannot transform between a local (un-georeferenced) CRS and a real one"
        )
    with PROJ_LOCK:
        tx, ty = transformer(src, dst).transform(
            np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
        )
    return np.asarray(tx, dtype=np.float64), np.asarray(ty, dtype=np.float64)


@lru_cache(maxsize=128)
def crs_authority(spec: str | int) -> tuple[str, str] | None:
    """The authority and code of a CRS (``("EPSG", "9208")``), or None for a
    custom one. Matching a WKT without an ID searches PROJ's whole database
    (about 0.3 s), so each CRS is identified once per process."""
    crs = parse_crs(spec)
    try:
        with PROJ_LOCK:
            auth = crs.to_authority(min_confidence=70)
    except CRSError:  # a custom WKT pyproj cannot match
        return None
    return (auth[0], auth[1]) if auth else None


def crs_label(spec: str | int) -> str:
    """Short human label such as ``EPSG:9208 (VN-2000 / TM-3 104-45)``."""
    crs = parse_crs(spec)
    if crs.is_engineering:
        return f"local ({crs.name})"
    auth = crs_authority(spec)
    code = f"{auth[0]}:{auth[1]}" if auth else "custom"
    return f"{code} ({crs.name})"


def utm_zone(x: float, y: float, crs: str | int = WGS84) -> tuple[str, float, float] | None:
    """The WGS 84 UTM zone CRS (``"EPSG:326xx"``/``"EPSG:327xx"``) at a point, and
    the point's easting/northing in it; None where no zone applies.

    Lon/lat data opens in a metric scene: the zone of its centre keeps scale error
    small. Every importer asks here so the choice is made one way.
    """
    from pyproj.aoi import AreaOfInterest
    from pyproj.database import query_utm_crs_info

    lon, lat = transform_xy(np.array([x]), np.array([y]), crs, WGS84)
    lo, la = float(lon[0]), float(lat[0])
    info = query_utm_crs_info(datum_name="WGS 84", area_of_interest=AreaOfInterest(lo, la, lo, la))
    if not info:
        return None
    utm = f"EPSG:{info[0].code}"
    ux, uy = transform_xy(np.array([x]), np.array([y]), crs, utm)
    return utm, float(ux[0]), float(uy[0])
