"""Coordinate reference systems and transforms, all through pyproj.

Every transformer is built with ``always_xy=True`` (lon/lat and easting/northing
order, never the authority's axis order) and cached, because building a PROJ
pipeline costs milliseconds and importers ask for the same pair many times.
"""

from __future__ import annotations

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


class CRSResolutionError(ValueError):
    """A CRS string that pyproj cannot resolve."""


@lru_cache(maxsize=64)
def parse_crs(spec: str | int) -> CRS:
    """Resolve ``"EPSG:9208"``, ``9208``, a WKT or a PROJ string to a pyproj CRS."""
    try:
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
    return Transformer.from_crs(parse_crs(src), parse_crs(dst), always_xy=True)


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
    tx, ty = transformer(src, dst).transform(
        np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    )
    return np.asarray(tx, dtype=np.float64), np.asarray(ty, dtype=np.float64)


def crs_label(spec: str | int) -> str:
    """Short human label such as ``EPSG:9208 (VN-2000 / TM-3 104-45)``."""
    crs = parse_crs(spec)
    if crs.is_engineering:
        return f"local ({crs.name})"
    auth = crs.to_authority()
    code = f"{auth[0]}:{auth[1]}" if auth else "custom"
    return f"{code} ({crs.name})"
