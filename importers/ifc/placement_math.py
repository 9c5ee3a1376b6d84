"""Where an IFC model is in the world: the pure placement maths, parent side.

:mod:`importers.ifc.georef` reads the georeferencing records out of a file in
the worker (IfcOpenShell); this module turns those plain records into a
placement and never imports IfcOpenShell, so the app process can use it (the
placement dialog, the write-back, the scene fitting). :func:`resolve` picks
the first method that works, in the order of issue 3:

1. ``IfcMapConversion`` / ``IfcMapConversionScaled`` / ``IfcRigidOperation``
   into an ``IfcProjectedCRS`` named by EPSG code or given as WKT;
2. ``IfcProjectedCRS`` alone (model coordinates are map coordinates);
3. the IFC2X3 property-set convention (same maths as 1);
4. the user's ``at = [E, N, H, rotation]`` in the scene CRS (before the site's
   latitude/longitude, which is metre-accurate at best; with
   ``override_georef`` before everything);
5. ``IfcSite`` RefLatitude/RefLongitude/RefElevation and true north;
6. nothing: the model is put at the scene origin, with a warning.

Every method yields an affine map from model metres to coordinates of a source
CRS; :func:`scene_affine` then composes it with the reprojection into the
scene CRS. A conversion that puts the model outside its CRS's area of use
(eastings in millimetres, a model georeferenced twice) is not trusted
silently: the alternative readings are tried and the warning says which one
was assumed. numpy, plus pyproj for the CRS work (imported lazily).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from importers.ifc.selection import text

METHOD_MAP = "IfcMapConversion"
METHOD_CRS_ONLY = "IfcProjectedCRS"
METHOD_EPSET = "ePSet_MapConversion (IFC2X3)"
METHOD_SITE = "IfcSite reference latitude/longitude"
METHOD_USER = "user placement (at)"
METHOD_NONE = "none (placed at the scene origin)"
WGS84 = "EPSG:4326"


@dataclass
class Placement:
    """How model coordinates (metres) become coordinates of ``crs``.

    ``affine`` maps homogeneous model points to ``crs`` coordinates in that
    CRS's own axis units (x, y) and metres (z). ``crs`` is None only for the
    fallbacks that place directly in the scene CRS.
    """

    method: str
    crs: str | None
    affine: np.ndarray
    warnings: list[str] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)
    #: the CRS the file declared, when ``crs`` is a helper CRS built for it
    declared: str | None = None


@lru_cache(maxsize=64)
def _crs(spec: str):
    from pyproj import CRS

    crs = CRS.from_user_input(spec)
    if crs.is_compound and crs.sub_crs_list:
        crs = crs.sub_crs_list[0]
    return crs


def resolve_crs(rec: dict[str, Any] | None) -> tuple[str | None, str | None]:
    """The CRS of an IfcProjectedCRS record as a string pyproj takes, or
    ``(None, why)``. Tries the WKT, the name (``EPSG:31467``, a URN, bare digits),
    then the description, since files put the code in either."""
    if not rec:
        return None, "no target CRS"
    candidates = []
    if rec.get("wkt"):
        candidates.append(rec["wkt"])
    for key in ("name", "description"):
        value = (rec.get(key) or "").strip()
        if not value:
            continue
        if value.isdigit():
            value = f"EPSG:{value}"
        if "EPSG" in value.upper() and "::" in value:  # urn:ogc:def:crs:EPSG::31467
            value = "EPSG:" + value.rsplit(":", 1)[-1]
        candidates.append(value)
    problems = []
    for cand in candidates:
        try:
            crs = _crs(cand)
        except Exception:
            problems.append(cand[:60])
            continue
        if not crs.is_projected and not crs.is_geographic:
            problems.append(cand[:60])
            continue
        auth = crs.to_authority(min_confidence=90)
        return (f"{auth[0]}:{auth[1]}" if auth else crs.to_wkt()), None
    shown = ", ".join(repr(p) for p in problems) or repr(rec.get("name"))
    return None, f"CRS {shown} is not one pyproj knows"


def _unit_of(crs_spec: str) -> float:
    crs = _crs(crs_spec)
    try:
        factor = float(crs.axis_info[0].unit_conversion_factor)
    except (IndexError, AttributeError, TypeError):
        factor = 1.0
    return factor if math.isfinite(factor) and factor > 0 else 1.0


def _plausible(crs_spec: str, x: float, y: float) -> bool:
    """Does map point (x, y) (native units) lie in the CRS's area of use?"""
    if not (math.isfinite(x) and math.isfinite(y)):
        return False
    crs = _crs(crs_spec)
    if crs.is_geographic:
        return abs(x) <= 180 and abs(y) <= 90
    try:
        from twin.geo import transform_xy

        lon, lat = transform_xy(np.array([x]), np.array([y]), crs_spec, WGS84)
        lon, lat = float(lon[0]), float(lat[0])
    except Exception:
        return False
    if not (math.isfinite(lon) and math.isfinite(lat) and abs(lat) <= 90):
        return False
    area = crs.area_of_use
    if area is None:
        return abs(x) < 1e8 and abs(y) < 1e8
    margin = max(1.0, 0.1 * (area.east - area.west))
    west, east = area.west - margin, area.east + margin
    lon_ok = west <= lon <= east or (east > 180 and lon + 360 <= east)
    return lon_ok and area.south - margin <= lat <= area.north + margin


def _helmert(
    e: float, n: float, h: float, theta: float, sx: float, sy: float, sz: float, native: float
) -> np.ndarray:
    """Model metres -> map (x, y in CRS units; z metres)."""
    c, s = math.cos(theta), math.sin(theta)
    a = np.array(
        [
            [sx * c, -sy * s, 0.0, e],
            [sx * s, sy * c, 0.0, n],
            [0.0, 0.0, sz, h],
            [0.0, 0.0, 0.0, 1.0],
        ]
    )
    a[:2] /= native
    return a


def _theta(xaa: Any, xao: Any) -> float:
    try:
        a, o = float(xaa if xaa is not None else 1.0), float(xao if xao is not None else 0.0)
    except (TypeError, ValueError):
        return 0.0
    if not (math.isfinite(a) and math.isfinite(o)) or (a == 0 and o == 0):
        return 0.0
    return math.atan2(o, a)


def _effective_scale(scale: Any, unit_m: float, map_unit_m: float, notes: list[str]) -> float:
    """Metres of map per metre of model, from IfcMapConversion.Scale.

    IFC4 defines Scale as the unit conversion from project to map units; IFC4.3
    made it a pure scale factor and converts units implicitly; exporters do
    both and often omit it (revit-ifc #784). So: Scale near the project->map
    unit ratio is read the IFC4 way; near 1 the IFC4.3 way; omitted means
    "convert the units"; anything that would shrink or blow up the model more
    than twofold is reported and replaced by plain unit conversion.
    """
    ratio = unit_m / map_unit_m
    if scale is None:
        return 1.0
    try:
        s = float(scale)
    except (TypeError, ValueError):
        s = float("nan")
    if not math.isfinite(s) or s <= 0:
        notes.append(f"IfcMapConversion.Scale {scale!r} is not a positive number; assumed 1")
        return 1.0
    if abs(ratio - 1.0) > 1e-9 and abs(s - ratio) <= 1e-3 * ratio:
        return 1.0  # IFC4 reading: Scale is the unit conversion
    factor = s  # IFC4.3 reading (and IFC4 when units agree): a pure scale factor
    if not 0.5 <= factor <= 2.0:
        notes.append(
            f"IfcMapConversion.Scale {s:g} would scale the model by {factor:g}; "
            "it was ignored (units converted from the project unit to the map unit)"
        )
        return 1.0
    return factor


def _model_center(bbox: np.ndarray | None) -> np.ndarray:
    if bbox is None or not np.all(np.isfinite(bbox)):
        return np.zeros(3)
    return (bbox[0] + bbox[1]) / 2


def _apply(a: np.ndarray, p: np.ndarray) -> np.ndarray:
    return a[:3, :3] @ p + a[:3, 3]


def _from_conversion(
    op: dict[str, Any],
    crs_spec: str,
    crs_rec: dict[str, Any],
    unit_m: float,
    bbox: np.ndarray | None,
    method: str,
) -> Placement | None:
    """An IfcMapConversion/IfcRigidOperation (or the IFC2X3 pset) as a Placement,
    or None (with the reason in ``op['_why']``) when no reading is plausible."""
    notes: list[str] = []
    native = _unit_of(crs_spec)
    map_unit_m = crs_rec.get("map_unit_m") or native
    if crs_rec.get("map_unit_m") is None and not crs_rec.get("_pset"):
        pass
    e, n = op.get("eastings"), op.get("northings")
    if e is None or n is None:
        op["_why"] = "eastings/northings missing"
        return None
    h = float(op.get("height") or 0.0)
    theta = _theta(op.get("xaa"), op.get("xao"))
    scale = _effective_scale(op.get("scale"), unit_m, map_unit_m, notes)
    fx, fy, fz = [*(op.get("factors") or ()), 1.0, 1.0, 1.0][:3]
    if any(not 0.9 <= v <= 1.1 for v in (fx, fy, fz)):
        notes.append(
            f"{op.get('cls', 'IfcMapConversionScaled')} factors ({fx:g}, {fy:g}, {fz:g}) "
            "are far from 1; applied as given"
        )
    center = _model_center(bbox)
    readings = [("map units", map_unit_m)]
    if abs(unit_m - map_unit_m) > 1e-12:
        readings.append(("the project length unit", unit_m))
    chosen = None
    for label, e_unit in readings:
        a = _helmert(
            e * e_unit, n * e_unit, h * e_unit, theta, scale * fx, scale * fy, scale * fz, native
        )
        pt = _apply(a, center)
        if _plausible(crs_spec, pt[0], pt[1]):
            chosen = (label, a)
            break
    # D2: the model's own coordinates already look like map coordinates.
    double = None
    if np.hypot(center[0], center[1]) > 1e5 and abs(e) + abs(n) > 1e3:
        a0 = _helmert(0.0, 0.0, h * map_unit_m, theta * 0, scale, scale, scale, native)
        pt0 = _apply(a0, center)
        if _plausible(crs_spec, pt0[0], pt0[1]):
            double = a0
    if chosen is None and double is not None:
        notes.append(
            f"georeferenced twice: the model's coordinates are already map coordinates in "
            f"{crs_spec} and {method} adds ({e:g}, {n:g}) on top; the conversion's offset "
            "was ignored"
        )
        return Placement(method, crs_spec, double, notes, {"assumed": "model coordinates are map"})
    if chosen is None:
        op["_why"] = f"it puts the model at ({e:g}, {n:g}), outside the area of use of {crs_spec}"
        return None
    label, a = chosen
    if label != "map units":
        notes.append(
            f"{method} eastings/northings ({e:g}, {n:g}) are implausible for {crs_spec} in "
            f"its map unit; assumed they were written in {label} "
            f"({e * unit_m / native:.3f}, {n * unit_m / native:.3f})"
        )
    if double is not None:
        notes.append(
            f"the model's own coordinates look like map coordinates and {method} also "
            "moves it: possibly georeferenced twice; the conversion was applied as written"
        )
    facts = {
        "eastings": e,
        "northings": n,
        "height": h,
        "rotation_deg": round(math.degrees(theta), 9),
        "scale": scale,
        "map_unit_m": map_unit_m,
        "project_unit_m": unit_m,
    }
    return Placement(method, crs_spec, a, notes, facts)


def _pick_operation(ops: list[dict[str, Any]], notes: list[str]) -> list[dict[str, Any]]:
    """Model-context conversions first; differing duplicates are reported."""
    ordered = sorted(ops, key=lambda o: (o.get("context_type", "").lower() != "model", o["step"]))
    keyset = {
        (o.get("eastings"), o.get("northings"), o.get("height"), o.get("xaa"), o.get("xao"))
        for o in ordered
    }
    if len(keyset) > 1:
        notes.append(
            f"{len(ordered)} coordinate operations that differ; used #{ordered[0]['step']} "
            f"({ordered[0]['cls']} of the {ordered[0].get('context_type') or '?'} context)"
        )
    return ordered


def _epset_op(raw: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]] | None:
    ps = raw.get("epsets") or {}
    conv, crs = ps.get("ePSet_MapConversion"), ps.get("ePSet_ProjectedCRS")
    if not conv:
        return None

    def num(key: str, default: float | None) -> float | None:
        try:
            v = float(conv.get(key))
        except (TypeError, ValueError):
            return default
        return v if math.isfinite(v) else default

    op = {
        "step": -1,
        "cls": "ePSet_MapConversion",
        "eastings": num("Eastings", None),
        "northings": num("Northings", None),
        "height": num("OrthogonalHeight", 0.0),
        "xaa": num("XAxisAbscissa", None),
        "xao": num("XAxisOrdinate", None),
        "scale": num("Scale", None),
    }
    crs_rec = {
        "name": text((crs or {}).get("Name") or conv.get("TargetCRS") or ""),
        "description": text((crs or {}).get("Description") or ""),
        "map_unit_m": _unit_label((crs or {}).get("MapUnit")),
        "wkt": "",
        "_pset": True,
    }
    return op, crs_rec


def _unit_label(label: Any) -> float | None:
    key = text(label).strip().upper().replace(" ", "")
    table = {
        "METRE": 1.0, "METER": 1.0, "M": 1.0, "MILLIMETRE": 0.001, "MILLIMETER": 0.001,
        "MM": 0.001, "CENTIMETRE": 0.01, "CENTIMETER": 0.01, "FOOT": 0.3048, "FT": 0.3048,
        "USSURVEYFOOT": 1200 / 3937,
    }  # fmt: skip
    return table.get(key)


def local_tm(lat: float, lon: float, base: str = WGS84) -> str:
    """A transverse Mercator CRS on WGS 84 centred on (lat, lon): east/north
    metres of a tangent plane there, to within millimetres over a site."""
    from pyproj import CRS
    from pyproj.crs import ProjectedCRS
    from pyproj.crs.coordinate_operation import TransverseMercatorConversion

    conv = TransverseMercatorConversion(
        latitude_natural_origin=lat,
        longitude_natural_origin=lon,
        false_easting=0.0,
        false_northing=0.0,
        scale_factor_natural_origin=1.0,
    )
    return ProjectedCRS(conversion=conv, geodetic_crs=CRS(base)).to_wkt()


def _site_placement(raw: dict[str, Any]) -> Placement | None:
    site = raw.get("site") or {}
    lat, lon = site.get("lat"), site.get("lon")
    if lat is None or lon is None or not (abs(lat) <= 90 and abs(lon) <= 180):
        return None
    if lat == 0 and lon == 0:
        return None  # exporters write (0, 0, 0) for "unknown"
    notes = []
    origin = np.zeros(3)
    if site.get("matrix") is not None:
        origin = np.asarray(site["matrix"], dtype=np.float64)[:3, 3]
    north = None
    for ctx in raw.get("contexts") or []:
        if ctx.get("true_north") and (north is None or ctx.get("type", "").lower() == "model"):
            north = ctx["true_north"]
    angle = 0.0
    if north is not None and len(north) >= 2 and (north[0] or north[1]):
        # rotate the model so that its true-north direction points to +y
        angle = math.atan2(float(north[0]), float(north[1]))
    c, s = math.cos(angle), math.sin(angle)
    rot = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    a = np.eye(4)
    a[:3, :3] = rot
    a[:3, 3] = -rot @ origin + np.array([0.0, 0.0, float(site.get("elevation") or 0.0)])
    notes.append(
        "placed by the IfcSite reference latitude/longitude (no map conversion); expect "
        "metre-level accuracy at best"
    )
    facts = {
        "latitude": lat,
        "longitude": lon,
        "elevation": site.get("elevation"),
        "true_north_deg": round(math.degrees(angle), 6),
    }
    return Placement(METHOD_SITE, local_tm(lat, lon), a, notes, facts, declared=WGS84)


def _geographic_rigid(op: dict[str, Any], raw: dict[str, Any]) -> Placement | None:
    """IfcRigidOperation into an IfcGeographicCRS: the engineering origin sits at
    (FirstCoordinate, SecondCoordinate) = (longitude, latitude), x east, y north
    (the order of Eastings/Northings; a first value beyond +-90 can only be a
    longitude, and bSI's sample writes longitude first)."""
    crs = op.get("crs") or {}
    unit = crs.get("angle_unit_rad") or raw.get("angle_unit_rad")
    first, second = op.get("eastings"), op.get("northings")
    if first is None or second is None:
        return None
    if unit is None:  # no unit anywhere: degrees unless the values only fit radians
        unit = math.pi / 180 if max(abs(first), abs(second)) > 2 * math.pi else 1.0
    lon, lat = math.degrees(first * unit), math.degrees(second * unit)
    if abs(lat) > 90 and abs(lon) <= 90:
        lon, lat = lat, lon
    if not (abs(lat) <= 90 and abs(lon) <= 180):
        return None
    a = np.eye(4)
    a[2, 3] = float(op.get("height") or 0.0) * float(raw.get("unit_m") or 1.0)
    facts = {"latitude": lat, "longitude": lon, "height": a[2, 3]}
    base, _ = resolve_crs(crs)
    if base is None or not _crs(base).is_geographic:
        base = WGS84
    notes = [f"IfcRigidOperation into {base}: origin at latitude {lat:.7f}, longitude {lon:.7f}"]
    placement = Placement("IfcRigidOperation (geographic)", local_tm(lat, lon, base), a, notes)
    placement.facts, placement.declared = facts, base
    return placement


def user_placement(at: tuple[float, ...], scene_crs: str) -> Placement:
    """The user's ``[E, N, H, rotation_deg]`` in the scene CRS: model origin there,
    model x axis turned counter-clockwise from grid east."""
    e, n, h, rot = [*at, 0.0, 0.0][:4]
    theta = math.radians(rot)
    a = _helmert(e, n, h, theta, 1.0, 1.0, 1.0, _unit_of(scene_crs))
    facts = {"at": [e, n, h, rot], "crs": scene_crs}
    return Placement(METHOD_USER, scene_crs, a, [], facts)


def resolve(
    raw: dict[str, Any],
    bbox: np.ndarray | None,
    scene_crs: str,
    scene_origin: np.ndarray,
    at: tuple[float, ...] | None = None,
    override: bool = False,
) -> Placement:
    """The placement of a model, trying the methods in order (module docstring).

    ``bbox`` is the (2, 3) min/max corner of the model in model metres (None
    when unknown, as in :func:`importers.ifc.extent`).
    """
    notes: list[str] = list(raw.get("warnings") or [])
    if at is not None and override:
        p = user_placement(at, scene_crs)
        p.warnings = [*notes, "the file's georeferencing was overridden by the user placement"]
        return p
    unit_m = float(raw.get("unit_m") or 1.0)
    skipped: list[str] = []
    ops = _pick_operation(list(raw.get("operations") or []), notes)
    for op in ops:
        crs_spec, why = resolve_crs(op.get("crs"))
        label = op["cls"]
        if crs_spec is None:
            skipped.append(f"{label} #{op['step']} not used: {why}")
            continue
        if op.get("angular"):
            p = _geographic_rigid(op, raw)
            if p is not None:
                p.warnings = notes + skipped + p.warnings
                return p
            skipped.append(f"{label} #{op['step']} not used: implausible latitude/longitude")
            continue
        p = _from_conversion(op, crs_spec, op["crs"] or {}, unit_m, bbox, label)
        if p is not None:
            p.method = label
            p.warnings = notes + skipped + p.warnings + _vertical_note(op.get("crs"))
            return p
        skipped.append(f"{label} #{op['step']} not used: {op.get('_why')}")
    if not ops:
        for rec in raw.get("crs") or []:
            crs_spec, why = resolve_crs(rec)
            if crs_spec is None:
                skipped.append(f"IfcProjectedCRS not used: {why}")
                continue
            center = _model_center(bbox)
            native = _unit_of(crs_spec)
            a = _helmert(0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, native)
            pt = _apply(a, center)
            if _plausible(crs_spec, pt[0], pt[1]) and np.hypot(center[0], center[1]) > 1e3:
                warn = [
                    f"IfcProjectedCRS {crs_spec} without a map conversion: model coordinates "
                    "taken as map coordinates"
                ]
                return Placement(METHOD_CRS_ONLY, crs_spec, a, notes + skipped + warn, {})
            skipped.append(
                f"IfcProjectedCRS {crs_spec} without a map conversion not used: model "
                "coordinates are not map coordinates there"
            )
    ep = _epset_op(raw)
    if ep is not None:
        op, crs_rec = ep
        crs_spec, why = resolve_crs(crs_rec)
        if crs_spec is None:
            skipped.append(f"ePSet_MapConversion not used: {why}")
        else:
            p = _from_conversion(op, crs_spec, crs_rec, unit_m, bbox, METHOD_EPSET)
            if p is not None:
                p.warnings = notes + skipped + p.warnings
                return p
            skipped.append(f"ePSet_MapConversion not used: {op.get('_why')}")
    if at is not None:
        # The user's placement beats the site's latitude/longitude: that is
        # metre-level at best and often the exporter's default location.
        p = user_placement(at, scene_crs)
        site = raw.get("site") or {}
        if _site_placement(raw) is not None:
            skipped.append(
                f"IfcSite latitude {site.get('lat'):.6f}, longitude {site.get('lon'):.6f} not "
                "used: the user placement (at) overrides it"
            )
        p.warnings = notes + skipped
        return p
    p = _site_placement(raw)
    if p is not None:
        p.warnings = notes + skipped + p.warnings
        return p
    center = _model_center(bbox)
    a = np.eye(4)
    a[:3, 3] = np.asarray(scene_origin, dtype=np.float64)
    warn = "not georeferenced; placed at the scene origin"
    if bbox is not None and np.hypot(center[0], center[1]) > 1000:
        a[:2, 3] -= center[:2]
        warn += " (its centre, since its own coordinates are far from 0)"
    return Placement(METHOD_NONE, None, a, [*notes, *skipped, warn], {})


def _vertical_note(rec: dict[str, Any] | None) -> list[str]:
    if rec and rec.get("vertical_datum"):
        return [
            f"vertical datum {rec['vertical_datum']!r} is not transformed; heights are "
            "kept as the file gives them"
        ]
    return []


# -- into the scene ---------------------------------------------------------------

#: Largest misfit (m) of the local affine stand-in for the exact reprojection.
AFFINE_TOLERANCE = 5e-4


def scene_affine(
    placement: Placement, scene_crs: str, origin: np.ndarray, bbox: np.ndarray | None
) -> tuple[np.ndarray | None, str]:
    """A 4x4 from model metres to scene-local metres, when one affine map is
    exact to :data:`AFFINE_TOLERANCE` over the model; else ``(None, why)`` and
    the caller reprojects every vertex with pyproj.

    Reprojection between two conformal projections is locally affine, so for a
    building (and most sites) a least-squares affine fitted to a 5 x 5 grid of
    exactly reprojected points replaces millions of pyproj calls; the fit is
    checked on the grid and on the cell centres before it is trusted.
    """
    from twin.geo import parse_crs, transform_xy

    origin = np.asarray(origin, dtype=np.float64)
    shift = np.eye(4)
    shift[:3, 3] = -origin
    if placement.crs is None:
        return shift @ placement.affine, "affine"
    if parse_crs(placement.crs) == parse_crs(scene_crs):
        return shift @ placement.affine, "affine"
    if parse_crs(scene_crs).is_engineering:
        name = placement.declared or placement.crs[:40]
        placement.warnings.append(
            f"the scene has no geographic CRS: the model's coordinates in {name} are used as "
            "local scene coordinates"
        )
        return shift @ placement.affine, "affine"
    lo, hi = (np.zeros(3), np.zeros(3)) if bbox is None else (bbox[0], bbox[1])
    if not (np.all(np.isfinite(lo)) and np.all(np.isfinite(hi))):
        lo, hi = np.zeros(3), np.zeros(3)
    pad = np.maximum((hi - lo) * 0.01, 1.0)
    lo, hi = lo - pad, hi + pad
    t = np.linspace(0.0, 1.0, 9)
    gx, gy = np.meshgrid(lo[0] + (hi[0] - lo[0]) * t, lo[1] + (hi[1] - lo[1]) * t)
    model = np.column_stack([gx.ravel(), gy.ravel(), np.full(gx.size, (lo[2] + hi[2]) / 2)])
    src = model @ placement.affine[:3, :3].T + placement.affine[:3, 3]
    dx, dy = transform_xy(src[:, 0], src[:, 1], placement.crs, scene_crs)
    if not (np.all(np.isfinite(dx)) and np.all(np.isfinite(dy))):
        return None, "not finite"
    fit_idx = np.array([i * 9 + j for i in range(0, 9, 2) for j in range(0, 9, 2)])
    design = np.column_stack([src[fit_idx, 0], src[fit_idx, 1], np.ones(len(fit_idx))])
    # Centre the design for conditioning at UTM magnitudes.
    c = design[:, :2].mean(axis=0)
    design[:, :2] -= c
    coef_x, *_ = np.linalg.lstsq(design, dx[fit_idx] - dx[fit_idx].mean(), rcond=None)
    coef_y, *_ = np.linalg.lstsq(design, dy[fit_idx] - dy[fit_idx].mean(), rcond=None)
    full = np.column_stack([src[:, 0] - c[0], src[:, 1] - c[1], np.ones(len(src))])
    px = full @ coef_x + dx[fit_idx].mean()
    py = full @ coef_y + dy[fit_idx].mean()
    misfit = float(np.max(np.hypot(px - dx, py - dy)))
    if misfit > AFFINE_TOLERANCE:
        return None, f"affine misfit {misfit:.4f} m"
    p3 = np.eye(4)
    p3[0, :2] = coef_x[:2]
    p3[1, :2] = coef_y[:2]
    p3[0, 3] = coef_x[2] + dx[fit_idx].mean() - coef_x[:2] @ c
    p3[1, 3] = coef_y[2] + dy[fit_idx].mean() - coef_y[:2] @ c
    return shift @ p3 @ placement.affine, "affine"


def reproject_points(
    points_src: np.ndarray, placement: Placement, scene_crs: str, origin: np.ndarray
) -> np.ndarray:
    """Exact per-vertex path: source-CRS points -> scene-local (float64, in place)."""
    from twin.geo import transform_xy

    x, y = transform_xy(points_src[:, 0], points_src[:, 1], placement.crs, scene_crs)
    points_src[:, 0] = x - origin[0]
    points_src[:, 1] = y - origin[1]
    points_src[:, 2] -= origin[2]
    return points_src


# -- a user placement as options, info and a map conversion -------------------------


def placement_options(at: tuple[float, ...], override: bool) -> dict[str, Any]:
    """The importer options of a user placement: what ``--at E,N,H,ROT`` gives,
    plus ``override_georef`` when the file's own georeferencing (IfcSite
    latitude/longitude, IfcMapConversion, ePSet_MapConversion) is to be ignored."""
    e, n, h, rot = [*(float(v) for v in at), 0.0, 0.0][:4]
    return {"at": [e, n, h, rot], "override_georef": bool(override)}


def placement_record(options: dict[str, Any] | None, crs: str) -> dict[str, Any] | None:
    """``layer.info["placement"]`` for a layer imported with ``options``: where the
    user put it and whether it overrode the file; None without a placement."""
    at = (options or {}).get("at")
    if at is None:
        return None
    e, n, h, rot = [*(float(v) for v in at), 0.0, 0.0][:4]
    return {
        "E": e,
        "N": n,
        "H": h,
        "rotation_deg": rot,
        "crs": crs,
        "overrides_file_georeferencing": bool((options or {}).get("override_georef")),
    }


def map_conversion(at: tuple[float, ...], project_unit_m: float = 1.0) -> dict[str, float]:
    """IfcMapConversion attributes that place a model as ``user_placement(at)``:
    the model origin at (E, N, H) map metres, its x axis ``rotation`` degrees
    counter-clockwise from grid east. Scale is the project-to-map unit ratio
    (the IFC4 reading, which the importer also takes in IFC4X3 files)."""
    e, n, h, rot = [*(float(v) for v in at), 0.0, 0.0][:4]
    theta = math.radians(rot)
    return {
        "Eastings": e,
        "Northings": n,
        "OrthogonalHeight": h,
        "XAxisAbscissa": math.cos(theta),
        "XAxisOrdinate": math.sin(theta),
        "Scale": float(project_unit_m),
    }


# -- the CRS record ---------------------------------------------------------------


def placement_units(placement: Placement, unit_m: float) -> list[str]:
    """The unit, axis and map conversions of ``placement`` in words, for the
    layer's CRS record (:mod:`twin.crs_record`)."""
    f = placement.facts
    out = []
    if abs(unit_m - 1.0) > 1e-12:
        out.append(f"project length unit: x{unit_m:g} to metres (model geometry)")
    if "eastings" in f:
        out.append(
            f"{placement.method}: eastings {f['eastings']:.3f}, northings {f['northings']:.3f}, "
            f"height {f['height']:.3f}, rotation {f['rotation_deg']:g}° (XAxisAbscissa/"
            f"XAxisOrdinate), scale {f['scale']:g}, map unit x{f.get('map_unit_m') or 1:g} m"
        )
    elif "latitude" in f:
        north = f.get("true_north_deg")
        turn = f", true north {north:g}°" if north is not None else ""
        out.append(
            f"{placement.method}: latitude {f['latitude']:.7f}, longitude "
            f"{f['longitude']:.7f} on a local transverse Mercator{turn}"
        )
    elif "at" in f:
        e, n, h, rot = f["at"]
        out.append(f"{placement.method}: E {e:g}, N {n:g}, H {h:g}, rotation {rot:g}°")
    elif placement.method == METHOD_CRS_ONLY:
        out.append(f"{placement.method}: model coordinates taken as map coordinates")
    else:
        out.append(placement.method)
    return out


def crs_operations(
    placement: Placement,
    scene_crs: str,
    origin: np.ndarray,
    bbox: np.ndarray | None,
    affine: bool,
    unit_m: float,
) -> list:
    """The CRS record of an IFC layer: the placement (map conversion, units)
    and the reprojection into the scene, with the model's box mapped into the
    placement's CRS for the area-of-use check."""
    from twin.crs_record import bounds_of, record_transform

    src = placement.crs or scene_crs
    bounds = None
    if bbox is not None and np.all(np.isfinite(bbox)):
        pick = np.array(np.meshgrid([0, 1], [0, 1], [0, 1])).reshape(3, -1).T  # (8, 3)
        corners = np.where(pick == 1, bbox[1], bbox[0])
        bounds = bounds_of(corners @ placement.affine[:3, :3].T + placement.affine[:3, 3])
    if placement.crs is None:  # placed by the scene origin: no map coordinates at all
        bounds = None
    method = (
        f"affine fit to the PROJ operation (misfit <= {AFFINE_TOLERANCE * 1000:g} mm)"
        if affine
        else "per vertex (pyproj)"
    )
    rec = record_transform(
        src,
        scene_crs,
        bounds,
        origin=origin,
        step=placement.method,
        units=placement_units(placement, unit_m),
        method=method,
    )
    if placement.declared and placement.declared != placement.crs:
        rec.units.insert(0, f"declared CRS: {placement.declared}")
    return [rec]
