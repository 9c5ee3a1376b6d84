"""Where an IFC model is in the world: reading the records out of the file.

Worker side (IfcOpenShell), :func:`extract` copies every georeferencing record
out of the file as plain data (map conversions, the target CRS and its WKT, the
IFC2X3 ``ePSet_MapConversion``/``ePSet_ProjectedCRS`` convention, the site's
reference latitude/longitude, true north, units). Turning those records into a
placement is pure maths, in :mod:`importers.ifc.placement_math` (no
IfcOpenShell, so the app process may use it); its names are re-exported here so
``georef.resolve``, ``georef.Placement`` & co. keep working.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from importers.ifc.placement_math import (  # noqa: F401 (re-exported)
    AFFINE_TOLERANCE,
    METHOD_CRS_ONLY,
    METHOD_EPSET,
    METHOD_MAP,
    METHOD_NONE,
    METHOD_SITE,
    METHOD_USER,
    WGS84,
    Placement,
    _apply,
    _crs,
    _effective_scale,
    _epset_op,
    _from_conversion,
    _geographic_rigid,
    _helmert,
    _model_center,
    _pick_operation,
    _plausible,
    _site_placement,
    _theta,
    _unit_label,
    _unit_of,
    _vertical_note,
    local_tm,
    reproject_points,
    resolve,
    resolve_crs,
    scene_affine,
    user_placement,
)
from importers.ifc.selection import attr, text

# -- worker side ------------------------------------------------------------------


def _unit_scale(unit: Any) -> float | None:
    if unit is None:
        return None
    try:
        import ifcopenshell.util.unit as unit_util

        value = float(unit_util.get_unit_scale(unit))
    except Exception:
        return None
    return value if math.isfinite(value) and value > 0 else None


def _matrix(placement: Any, unit: float) -> list[list[float]] | None:
    """Object placement -> 4x4 in metres, refusing cyclic or dangling chains."""
    seen: set[int] = set()
    cur = placement
    while cur is not None:
        if cur.id() in seen or len(seen) > 256:
            return None
        seen.add(cur.id())
        cur = attr(cur, "PlacementRelTo")
    try:
        import ifcopenshell.util.placement as placement_util

        m = np.array(placement_util.get_local_placement(placement), dtype=np.float64)
    except Exception:
        return None
    if m.shape != (4, 4) or not np.all(np.isfinite(m)):
        return None
    m[:3, 3] *= unit
    return m.tolist()


def _measure(value: Any) -> tuple[float | None, str]:
    """IfcRigidOperation coordinates are a select: a length or an angle."""
    if value is None:
        return None, ""
    if hasattr(value, "wrappedValue"):
        try:
            return float(value.wrappedValue), value.is_a()
        except (TypeError, ValueError):
            return None, ""
    try:
        return float(value), "IfcLengthMeasure"
    except (TypeError, ValueError):
        return None, ""


def _crs_record(crs: Any, f: Any) -> dict[str, Any] | None:
    if crs is None:
        return None
    rec = {
        "cls": crs.is_a(),
        "name": text(attr(crs, "Name")),
        "description": text(attr(crs, "Description")),
        "geodetic_datum": text(attr(crs, "GeodeticDatum")),
        "vertical_datum": text(attr(crs, "VerticalDatum")),
        "map_projection": text(attr(crs, "MapProjection")),
        "map_zone": text(attr(crs, "MapZone")),
        "map_unit_m": _unit_scale(attr(crs, "MapUnit")),
        "angle_unit_rad": _unit_scale(attr(crs, "AngleUnit")),
        "wkt": "",
    }
    try:
        for wkt in f.by_type("IfcWellKnownText"):
            if attr(wkt, "CoordinateReferenceSystem") == crs:
                rec["wkt"] = text(attr(wkt, "WellKnownText"))
    except RuntimeError:
        pass
    return rec


def _lat_lon(compound: Any) -> float | None:
    try:
        parts = [float(v) for v in compound]
    except (TypeError, ValueError):
        return None
    if not parts or len(parts) > 4:
        return None
    parts += [0.0] * (4 - len(parts))
    value = parts[0] + parts[1] / 60 + parts[2] / 3600 + parts[3] / 3.6e9
    return value if math.isfinite(value) else None


def project_unit(f: Any) -> tuple[float, str | None]:
    """Metres per project length unit, and a warning when it had to be assumed."""
    import ifcopenshell.util.unit as unit_util

    try:
        unit = float(unit_util.calculate_unit_scale(f))
        if not (math.isfinite(unit) and unit > 0):
            raise ValueError
    except Exception:
        return 1.0, "the project length unit could not be read; assumed metres"
    return unit, None


def extract(f: Any) -> dict[str, Any]:
    """All georeferencing records of an open file, as plain data."""
    import ifcopenshell.util.unit as unit_util

    out: dict[str, Any] = {"warnings": []}
    unit, note = project_unit(f)
    if note:
        out["warnings"].append(note)
    out["unit_m"] = unit
    try:
        angle = unit_util.get_project_unit(f, "PLANEANGLEUNIT")
        out["angle_unit_rad"] = _unit_scale(angle) if angle is not None else None
    except Exception:
        out["angle_unit_rad"] = None
    contexts = []
    try:
        ctx_list = f.by_type("IfcGeometricRepresentationContext", include_subtypes=False)
    except RuntimeError:
        ctx_list = []
    for ctx in ctx_list:
        north = attr(ctx, "TrueNorth")
        ratios = attr(north, "DirectionRatios") if north is not None else None
        contexts.append(
            {
                "step": ctx.id(),
                "type": text(attr(ctx, "ContextType")),
                "true_north": [float(v) for v in ratios][:2] if ratios else None,
                "wcs": _matrix_of_axis(attr(ctx, "WorldCoordinateSystem"), unit),
            }
        )
    out["contexts"] = contexts
    ops = []
    for op in _safe_by_type(f, "IfcCoordinateOperation"):
        src = attr(op, "SourceCRS")
        rec: dict[str, Any] = {
            "step": op.id(),
            "cls": op.is_a(),
            "context": src.id() if src is not None else None,
            "context_type": text(attr(src, "ContextType")) if src is not None else "",
            "crs": _crs_record(attr(op, "TargetCRS"), f),
        }
        if op.is_a("IfcMapConversion"):
            rec.update(
                eastings=float(attr(op, "Eastings", 0.0)),
                northings=float(attr(op, "Northings", 0.0)),
                height=float(attr(op, "OrthogonalHeight", 0.0)),
                xaa=attr(op, "XAxisAbscissa"),
                xao=attr(op, "XAxisOrdinate"),
                scale=attr(op, "Scale"),
                factors=[float(attr(op, k, 1.0)) for k in ("FactorX", "FactorY", "FactorZ")],
            )
        elif op.is_a("IfcRigidOperation"):
            first, kind1 = _measure(attr(op, "FirstCoordinate"))
            second, _ = _measure(attr(op, "SecondCoordinate"))
            rec.update(
                eastings=first,
                northings=second,
                height=float(attr(op, "Height", 0.0)),
                angular=kind1 == "IfcPlaneAngleMeasure",
            )
        else:
            continue
        ops.append(rec)
    out["operations"] = ops
    crss = [_crs_record(c, f) for c in _safe_by_type(f, "IfcProjectedCRS")]
    out["crs"] = [c for c in crss if c]
    psets: dict[str, Any] = {}
    holders = _safe_by_type(f, "IfcProject")[:1] + _safe_by_type(f, "IfcSite")[:1]
    for holder in holders:
        for name, values in _epsets(holder).items():
            psets.setdefault(name, values)
    out["epsets"] = psets
    site_rec = None
    for site in _safe_by_type(f, "IfcSite"):
        lat, lon = _lat_lon(attr(site, "RefLatitude")), _lat_lon(attr(site, "RefLongitude"))
        placement = attr(site, "ObjectPlacement")
        matrix = _matrix(placement, unit) if placement is not None else None
        rec = {
            "guid": text(attr(site, "GlobalId")),
            "name": text(attr(site, "Name")),
            "lat": lat,
            "lon": lon,
            "elevation": float(attr(site, "RefElevation", 0.0)) * unit,
            "matrix": matrix,
        }
        if site_rec is None or (site_rec["lat"] is None and lat is not None):
            site_rec = rec
    out["site"] = site_rec
    return out


EPSET_NAMES = ("ePSet_MapConversion", "ePSet_ProjectedCRS")


def _epsets(holder: Any) -> dict[str, dict[str, Any]]:
    """The georeferencing property sets of one object, read directly from its
    IfcRelDefinesByProperties (``util.element.get_pset`` would first resolve the
    object's type through IfcOpenShell's EXPRESS rules, ~30 ms a worker)."""
    out: dict[str, dict[str, Any]] = {}
    for rel in attr(holder, "IsDefinedBy", ()) or ():
        if not rel.is_a("IfcRelDefinesByProperties"):
            continue
        pdef = attr(rel, "RelatingPropertyDefinition")
        name = text(attr(pdef, "Name")) if pdef is not None else ""
        if name not in EPSET_NAMES:
            continue
        values: dict[str, Any] = {}
        for prop in attr(pdef, "HasProperties", ()) or ():
            nominal = attr(prop, "NominalValue")
            if nominal is None:
                continue
            value = getattr(nominal, "wrappedValue", nominal)
            key = text(attr(prop, "Name"))
            values[key] = value if isinstance(value, int | float | str) else text(value)
        out[name] = values
    return out


def _matrix_of_axis(axis: Any, unit: float) -> list[list[float]] | None:
    if axis is None:
        return None
    try:
        import ifcopenshell.util.placement as placement_util

        m = np.array(placement_util.get_axis2placement(axis), dtype=np.float64)
    except Exception:
        return None
    if m.shape != (4, 4) or not np.all(np.isfinite(m)):
        return None
    m[:3, 3] *= unit
    return None if np.allclose(m, np.eye(4)) else m.tolist()


def _safe_by_type(f: Any, cls: str) -> list[Any]:
    try:
        return list(f.by_type(cls))
    except RuntimeError:
        return []


