"""A record of every CRS operation that put a layer's data into the scene.

A twin joins data in several CRSs (VN-2000 zones, WGS 84, UTM, a foreign
survey in US feet, an IFC model in millimetres) and a wrong datum, zone or unit
moves a layer by metres or kilometres without any error. So each import keeps,
per layer, what was done: source and target CRS, the PROJ operation (its
description and pipeline), PROJ's stated accuracy, whether it is a *ballpark*
(PROJ found no datum transformation and only lined up the ellipsoids: errors of
tens to hundreds of metres), whether the data lie in the areas of use of the
two CRSs and of the operation, the scene origin subtracted and the unit and
axis conversions on the way.

Records are built from the very transformer the import used
(:func:`twin.geo.operation_used` asks the cached :func:`twin.geo.transformer`
at the data's centre), never from a second pipeline. They hold plain values
only, so a layer stays picklable. No Qt here: the app and ``citytwin info`` show
:meth:`CrsOperation.as_dict`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from twin.geo import (
    PROJ_LOCK,
    WGS84,
    crs_authority,
    crs_label,
    operation_used,
    parse_crs,
    transformer,
)

if TYPE_CHECKING:
    from twin.layer import Layer

#: Degrees (about 5 km) by which data may pass an area of use and still count
#: as inside it: EPSG areas are administrative outlines (a province, a 3° band)
#: and a few kilometres past them a projection is just as accurate.
AREA_TOLERANCE_DEG = 0.05
#: A CityJSON's vertices may lie this far (m) from its own declared extent
#: before a warning, at least; a larger model may lie its own size away.
EXTENT_MISMATCH_M = 1000.0


@dataclass
class AreaCheck:
    """One area-of-use test: ``of`` says whose area ("source CRS", "target CRS",
    "operation"), ``bounds`` are (west, south, east, north) degrees."""

    of: str
    name: str
    bounds: tuple[float, float, float, float]
    inside: bool


@dataclass
class CrsOperation:
    """One operation that moved a layer's coordinates (see the module docstring).

    ``accuracy_m`` is PROJ's stated accuracy (None when PROJ states none, as for
    every ballpark); ``in_area_of_use`` is None when nothing could be checked
    (no data extent, or a local engineering CRS). ``units`` lists unit, axis and
    map conversions in words; ``origin_subtracted`` is the scene origin taken off
    at import (a later re-centre is on the layer, ``Layer.origin_shift``).
    """

    source: str
    target: str
    source_epsg: int | None = None
    target_epsg: int | None = None
    step: str = "reprojection"
    operation: str = ""
    definition: str = ""
    accuracy_m: float | None = None
    ballpark: bool = False
    in_area_of_use: bool | None = None
    areas: list[AreaCheck] = field(default_factory=list)
    extent_lonlat: tuple[float, float, float, float] | None = None
    origin_subtracted: tuple[float, float, float] = (0.0, 0.0, 0.0)
    units: list[str] = field(default_factory=list)
    method: str = ""
    warnings: list[str] = field(default_factory=list)

    def as_dict(self, layer: Layer | None = None) -> dict[str, Any]:
        """Plain JSON-able values, with the layer's name and any re-centre."""
        shift = (0.0, 0.0, 0.0) if layer is None else tuple(float(v) for v in layer.origin_shift)
        return {
            "layer": "" if layer is None else layer.name,
            "step": self.step,
            "source": self.source,
            "source_epsg": self.source_epsg,
            "target": self.target,
            "target_epsg": self.target_epsg,
            "operation": self.operation,
            "definition": self.definition,
            "accuracy_m": self.accuracy_m,
            "ballpark": self.ballpark,
            "in_area_of_use": self.in_area_of_use,
            "area_of_use": [
                {"of": a.of, "name": a.name, "bounds": list(a.bounds), "inside": a.inside}
                for a in self.areas
            ],
            "extent_lonlat": None if self.extent_lonlat is None else list(self.extent_lonlat),
            "origin_shift": {
                "scene_origin_subtracted": list(self.origin_subtracted),
                "recentred_by": list(shift),
            },
            "units": list(self.units),
            "method": self.method,
            "warnings": list(self.warnings),
        }


def _epsg(spec: str) -> int | None:
    auth = crs_authority(spec)
    return int(auth[1]) if auth and auth[0] == "EPSG" and auth[1].isdigit() else None


def lonlat_extent(
    crs: str, bounds: Sequence[float] | None
) -> tuple[float, float, float, float] | None:
    """(west, south, east, north) degrees of ``bounds`` (xmin, ymin, xmax, ymax
    in ``crs``), edges densified; None when unknown or not on the Earth."""
    if bounds is None or not np.all(np.isfinite(bounds)):
        return None
    parsed = parse_crs(crs)
    if parsed.is_engineering:
        return None
    x0, y0, x1, y1 = (float(v) for v in bounds)
    if parsed.is_geographic:
        box = (x0, y0, x1, y1)
    else:
        try:
            with PROJ_LOCK:
                box = transformer(crs, WGS84).transform_bounds(x0, y0, x1, y1, densify_pts=21)
        except Exception:  # pyproj raises ProjError or returns inf off the projection
            return None
    if not np.all(np.isfinite(box)) or abs(box[1]) > 90 or abs(box[3]) > 90:
        return None
    return tuple(round(float(v), 6) for v in box)  # type: ignore[return-value]


def _inside(extent: Sequence[float], area: Sequence[float], tol: float) -> bool:
    west, south, east, north = area
    lat_ok = extent[1] >= south - tol and extent[3] <= north + tol
    if east >= west:
        return lat_ok and extent[0] >= west - tol and extent[2] <= east + tol
    # an area across the antimeridian: every longitude east of west or west of east
    return lat_ok and all(lon >= west - tol or lon <= east + tol for lon in extent[0::2])


def _area(of: str, aou, extent) -> AreaCheck | None:
    if aou is None:
        return None
    bounds = (float(aou.west), float(aou.south), float(aou.east), float(aou.north))
    return AreaCheck(of, str(aou.name), bounds, _inside(extent, bounds, AREA_TOLERANCE_DEG))


def in_area_of_use(crs: str, bounds: Sequence[float] | None) -> bool | None:
    """Do x/y ``bounds`` in ``crs`` lie in its area of use? None when unknown."""
    extent = lonlat_extent(crs, bounds)
    check = None if extent is None else _area("", parse_crs(crs).area_of_use, extent)
    return None if check is None else check.inside


def _axis_notes(crs, label: str) -> list[str]:
    """Unit and axis-order facts of one CRS that the operation deals with."""
    out: list[str] = []
    axes = crs.axis_info or []
    if crs.is_projected and axes:
        unit, factor = axes[0].unit_name, float(axes[0].unit_conversion_factor)
        if unit not in ("metre", "meter") and math.isfinite(factor):
            out.append(f"x, y of {label}: {unit} -> metre (x{factor:.10g}), in the PROJ operation")
    if len(axes) >= 2 and axes[0].direction.lower() in ("north", "south"):
        out.append(
            f"axis order of {label}: {axes[0].name}, {axes[1].name} by the authority; "
            "coordinates taken east (x) first"
        )
    return out


def record_transform(
    src: str,
    dst: str,
    bounds: Sequence[float] | None,
    *,
    origin: Iterable[float] = (0.0, 0.0, 0.0),
    step: str = "reprojection",
    units: Iterable[str] = (),
    method: str = "per vertex (pyproj)",
) -> CrsOperation:
    """The record of moving data with x/y ``bounds`` (in ``src``) into ``dst``
    and subtracting ``origin``, from the same cached transformer the import used."""
    s, d = parse_crs(src), parse_crs(dst)
    rec = CrsOperation(
        source=crs_label(src),
        target=crs_label(dst),
        source_epsg=_epsg(src),
        target_epsg=_epsg(dst),
        step=step,
        origin_subtracted=tuple(float(v) for v in origin),  # type: ignore[arg-type]
        method=method,
    )
    rec.units.extend(units)
    if not s.is_engineering:
        rec.units.extend(_axis_notes(s, rec.source))
    extent = None if s.is_engineering else lonlat_extent(src, bounds)
    rec.extent_lonlat = extent
    op = None
    if s == d:
        rec.operation, rec.accuracy_m, rec.method = "none (same CRS)", 0.0, "none"
    elif s.is_engineering or d.is_engineering:
        rec.operation = "none (local coordinates used as they are)"
        rec.method = "none"
    else:
        if bounds is not None and np.all(np.isfinite(bounds)):
            cx, cy = (bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2
        else:  # no data extent: ask at the centre of the source's area of use
            aou = s.area_of_use
            lon, lat = ((aou.west + aou.east) / 2, (aou.south + aou.north) / 2) if aou else (0, 0)
            with PROJ_LOCK:
                cx, cy = transformer(WGS84, src).transform(lon, lat)
        op = operation_used(src, dst, cx, cy)
        rec.operation = str(op.description or op.name or "")
        try:
            rec.definition = str(op.definition or op.to_proj4() or "")
        except Exception:  # an operation without a PROJ string form
            rec.definition = ""
        acc = float(op.accuracy) if op.accuracy is not None else -1.0
        rec.accuracy_m = acc if acc >= 0 else None
        rec.ballpark = "ballpark" in rec.operation.lower()
        rec.units.extend(_axis_notes(d, rec.target))
        rec.units.append("z: no vertical datum shift (heights stay in the file's datum)")
    if extent is not None:
        checks = [_area(f"source CRS {rec.source}", s.area_of_use, extent)]
        if s != d:
            checks.append(_area(f"target CRS {rec.target}", d.area_of_use, extent))
        if op is not None:
            checks.append(_area("operation", op.area_of_use, extent))
        rec.areas = [c for c in checks if c is not None]
        rec.in_area_of_use = all(c.inside for c in rec.areas) if rec.areas else None
    rec.warnings = _warnings(rec)
    return rec


def _warnings(rec: CrsOperation) -> list[str]:
    out = []
    if rec.ballpark:
        out.append(
            f"ballpark transformation from {rec.source} to {rec.target}: PROJ knows no datum "
            "transformation between them and only lined up the ellipsoids (errors of tens to "
            "hundreds of metres); check the layer's CRS"
        )
    bad = [a for a in rec.areas if not a.inside]
    if bad and rec.extent_lonlat is not None:
        w, s, e, n = rec.extent_lonlat
        names = "; ".join(f"{a.of} ({a.name})" for a in bad)
        out.append(
            f"data (longitude {w:.4f}..{e:.4f}, latitude {s:.4f}..{n:.4f}) lie outside the area "
            f"of use of {names}; wrong CRS, zone or units?"
        )
    return out


def bounds_of(
    xy: np.ndarray, keep: np.ndarray | None = None
) -> tuple[float, float, float, float] | None:
    """(xmin, ymin, xmax, ymax) of the finite rows of ``xy`` (n, >=2) that
    ``keep`` selects (all by default); None if there are none. Without a copy
    when every row counts: it runs on every vertex of an import."""
    xy = np.asarray(xy, dtype=np.float64)
    if xy.ndim != 2 or xy.shape[1] < 2 or len(xy) == 0:
        return None
    x, y = xy[:, 0], xy[:, 1]  # column by column: 5x faster than axis reductions
    ok = np.isfinite(x) & np.isfinite(y)
    if keep is not None:
        ok &= keep
    if not ok.any():
        return None
    if not ok.all():
        x, y = x[ok], y[ok]
    return (float(x.min()), float(y.min()), float(x.max()), float(y.max()))


def warnings_of(ops: Iterable[CrsOperation]) -> list[str]:
    """Every record's warnings once, in order, for a layer's warning list."""
    return list(dict.fromkeys(w for op in ops for w in op.warnings))


def extent_mismatch(
    crs: str | None, declared: Sequence[float], data: Sequence[float]
) -> tuple[float, str] | None:
    """How far (m) the data's x/y box lies from a box the file declares for them
    (CityJSON ``metadata.geographicalExtent``), when further than
    :data:`EXTENT_MISMATCH_M` and the boxes' own sizes; else None.

    Both boxes are (xmin, ymin, xmax, ymax) in ``crs``; the distance is
    geodesic between their centres on the Earth, planar in a local CRS.
    """
    d = np.asarray(declared, dtype=np.float64)
    a = np.asarray(data, dtype=np.float64)
    if not (np.all(np.isfinite(d)) and np.all(np.isfinite(a))):
        return None
    cd = ((d[0] + d[2]) / 2, (d[1] + d[3]) / 2)
    ca = ((a[0] + a[2]) / 2, (a[1] + a[3]) / 2)
    parsed = parse_crs(crs) if crs else None
    where = ""
    if parsed is None or parsed.is_engineering:
        dist = math.hypot(cd[0] - ca[0], cd[1] - ca[1])
        size = max(math.hypot(d[2] - d[0], d[3] - d[1]), math.hypot(a[2] - a[0], a[3] - a[1]))
    else:
        from pyproj import Geod

        unit = 1.0
        if parsed.is_projected and parsed.axis_info:
            unit = float(parsed.axis_info[0].unit_conversion_factor)
        with PROJ_LOCK:
            if parsed.is_geographic:
                lon, lat = [cd[0], ca[0]], [cd[1], ca[1]]
            else:
                lon, lat = transformer(crs, WGS84).transform([cd[0], ca[0]], [cd[1], ca[1]])
        if not (np.all(np.isfinite(lon)) and np.all(np.isfinite(lat))):
            return None
        if max(abs(lat[0]), abs(lat[1])) > 90:
            return None
        dist = float(Geod(ellps="WGS84").inv(lon[0], lat[0], lon[1], lat[1])[2])
        diag = max(math.hypot(d[2] - d[0], d[3] - d[1]), math.hypot(a[2] - a[0], a[3] - a[1]))
        size = 0.0 if parsed.is_geographic else unit * diag
        where = (
            f" (declared centre longitude {lon[0]:.4f}, latitude {lat[0]:.4f}; vertices at "
            f"longitude {lon[1]:.4f}, latitude {lat[1]:.4f})"
        )
    if dist <= max(EXTENT_MISMATCH_M, size):
        return None
    far = f"{dist / 1000:,.0f} km" if dist >= 10_000 else f"{dist:,.0f} m"
    return dist, f"{far}{where}"


def summary_lines(records: Iterable[dict[str, Any]]) -> list[str]:
    """A short human block of :meth:`CrsOperation.as_dict` records (``info``)."""
    out = []
    for r in records:
        acc = "unknown" if r["accuracy_m"] is None else f"{r['accuracy_m']:g} m"
        area = {True: "in area of use", False: "OUTSIDE area of use", None: "area not checked"}
        out.append(f"- {r['layer']}: {r['source']} -> {r['target']} ({r['step']})")
        out.append(
            f"    {r['operation']}; accuracy {acc}"
            + ("; BALLPARK" if r["ballpark"] else "")
            + f"; {area[r['in_area_of_use']]}"
        )
        for u in r["units"]:
            out.append(f"    {u}")
        for w in r["warnings"]:
            out.append(f"    warning: {w}")
    return out
