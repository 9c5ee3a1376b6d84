"""GeoJSON, GeoPackage, Shapefile and FlatGeobuf through pyogrio (GDAL).

Polygons become closed LoD1 blocks, lines road ribbons, points markers, all
reprojected into the scene CRS and shifted by its origin. One bad feature never
fails the import: empty, non-finite or unrepairable geometries are skipped and
counted in the layer's warnings; invalid polygons are repaired with
``shapely.make_valid``.
"""

from __future__ import annotations

import re
import threading
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import shapely

from importers import gdal_read, georef
from importers.errors import ImportCancelled, ImportFailed
from twin import crs_record, meshing
from twin.features import FeatureTable, feature_bounds
from twin.geo import WGS84, CRSResolutionError, crs_label, parse_crs
from twin.layer import Layer
from twin.scene import Scene

LEVEL_HEIGHT = 3.2
#: Road width (m) by class when a line has no usable ``width``.
ROAD_WIDTHS = {
    "primary": 14.0,
    "trunk": 16.0,
    "secondary": 10.0,
    "tertiary": 8.0,
    "residential": 6.0,
    "service": 4.0,
    "footway": 2.0,
    "rail": 3.0,
}
CLASS_FIELDS = (
    "class",
    "building",
    "highway",
    "railway",
    "landuse",
    "leisure",
    "natural",
    "amenity",
    "type",
)
ID_FIELDS = ("id", "osm_id", "osm_way_id", "gml_id", "fid")
POLYGON, LINE, POINT = "polygon", "line", "point"
_HSTORE = re.compile(r'"((?:[^"\\]|\\.)*)"=>"((?:[^"\\]|\\.)*)"')


def extent(path: Path) -> tuple[str, tuple[float, float, float, float]]:
    """Declared CRS (GeoJSON defaults to WGS 84) and the bounds of the features of
    the first layer that :func:`read` keeps: a feature with any non-finite or
    out-of-range coordinate (:func:`importers.georef.in_range`) is left out
    whole, so one bad feature cannot throw the scene origin off."""
    found = _read_isolated(path, gdal_read.FIRST_LAYER, geometry_only=True)
    if not found["layers"]:
        raise ImportFailed(path, "has no layers")
    first = next(iter(found["layers"].values()))
    info = first["info"]
    crs = info.get("crs") or (WGS84 if info.get("driver") == "GeoJSON" else None)
    if crs is None:
        raise ImportFailed(path, "declares no CRS; open it from a scene file that sets one")
    wkb = first["wkb"]
    n = 0 if wkb is None else len(wkb)
    coords, owner = shapely.get_coordinates(_decode(wkb, n), return_index=True)
    dropped = np.zeros(n, dtype=bool)
    dropped[owner[~georef.in_range(coords, crs)]] = True
    coords = coords[~dropped[owner]]
    if len(coords) == 0:
        raise ImportFailed(path, "has no features with usable coordinates")
    lo, hi = coords.min(axis=0), coords.max(axis=0)
    return crs, (float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1]))


def _read_isolated(
    path: Path, layer: str | None, geometry_only: bool = False, cancel=None
) -> dict[str, Any]:
    from importers import sandbox

    found = sandbox.call(
        path, "importers.gdal_read:read", str(path), layer, geometry_only, cancel=cancel
    )
    if "error" in found:
        raise ImportFailed(path, found["error"])
    return found


def read(
    path: Path,
    scene: Scene,
    options: dict[str, Any],
    progress=None,
    cancel: threading.Event | None = None,
) -> list[Layer]:
    """Import one OGR layer (``options["layer"]``) or every layer of the file."""
    found = _read_isolated(path, options.get("layer"), cancel=cancel)
    if "layer" in options and options["layer"] not in found["names"]:
        raise ImportFailed(
            path, f"has no layer {options['layer']!r}; layers: {', '.join(found['names'])}"
        )
    out: list[Layer] = []
    names = list(found["layers"])
    for i, name in enumerate(names):
        if cancel is not None and cancel.is_set():
            raise ImportCancelled(str(path))
        out.extend(read_layer(path, name, found["layers"][name], scene, options))
        if progress is not None:
            progress(i + 1, len(names))
    return out


def read_layer(
    path: Path, layer: str, data: dict[str, Any], scene: Scene, options: dict[str, Any]
) -> list[Layer]:
    """One OGR layer (as read by :func:`gdal_read`) -> up to three layers
    (polygons, lines, points)."""
    info = data["info"]
    notes: list[str] = []
    src_crs = info.get("crs")
    if not src_crs:
        if info.get("driver") == "GeoJSON":
            src_crs = WGS84
        else:
            src_crs = scene.crs
            notes.append(f"no CRS declared; assumed the scene CRS {scene.crs}")
    try:
        parse_crs(src_crs)
    except CRSResolutionError as exc:
        raise ImportFailed(path, str(exc)) from None
    wkb, field_data = data["wkb"], data["field_data"]
    for note in dict.fromkeys(str(m).split(". To avoid")[0] for m in data["notes"]):
        notes.append(f"GDAL: {note}")
    notes.extend(data.get("repairs", []))
    fields = data["fields"]
    columns = {name: _column(values) for name, values in zip(fields, field_data, strict=True)}
    columns.update(_hstore_columns(columns.pop("other_tags", None)))
    n = 0 if wkb is None else len(wkb)
    geoms = _decode(wkb, n)
    ops: list = []
    geoms, skipped = _clean(geoms, src_crs, scene, ops)
    notes.extend(crs_record.warnings_of(ops))
    family = _family(geoms)
    results: list[Layer] = []
    for kind in (POLYGON, LINE, POINT):
        rows = np.flatnonzero(family == kind)
        if rows.size == 0:
            continue
        sub_cols = {k: v[rows] for k, v in columns.items()}
        layer_obj = _build(kind, geoms[rows], sub_cols, rows, scene, options, layer)
        layer_obj.source, layer_obj.crs = path, str(src_crs)
        layer_obj.crs_operations = list(ops)
        layer_obj.warnings = notes + _skip_warnings(skipped, columns) + layer_obj.warnings
        results.append(layer_obj)
    if not results:
        detail = "; ".join(_skip_warnings(skipped, columns)) or "no features"
        raise ImportFailed(path, f"layer {layer!r} has no usable geometry ({detail})")
    if len(results) == 1:
        results[0].name = layer
    else:
        for la in results:
            la.name = f"{layer} ({la.kind})"
    return results


def _column(values: np.ndarray) -> np.ndarray:
    arr = np.asarray(values)
    if arr.dtype.kind in "iub":
        return arr.astype(np.float64) if arr.dtype.kind != "b" else arr
    if arr.dtype.kind == "f":
        return arr.astype(np.float64)
    return arr.astype(object)


def _hstore_columns(other_tags: np.ndarray | None) -> dict[str, np.ndarray]:
    """Expand GDAL's OSM ``other_tags`` (``"k"=>"v",...``) into columns."""
    if other_tags is None:
        return {}
    parsed = [dict(_HSTORE.findall(t)) if isinstance(t, str) else {} for t in other_tags]
    keys = sorted({k for d in parsed for k in d})
    return {k: np.array([d.get(k) for d in parsed], dtype=object) for k in keys}


def _decode(wkb: np.ndarray | None, n: int) -> np.ndarray:
    if n == 0:
        return np.empty(0, dtype=object)
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return shapely.from_wkb(wkb, on_invalid="fix")


def _clean(geoms: np.ndarray, src_crs: str, scene: Scene, ops: list | None = None):
    """Drop unusable geometries, reproject to scene-local, repair invalid ones.

    Out-of-range coordinates follow one rule for every CRS
    (:func:`importers.georef.in_range`): a 1e308 easting is as corrupt as a
    longitude of 500, and either would throw the scene origin and bounds off.

    Returns the geometries (None where skipped) and ``{reason: rows}``; the
    record of the reprojection (:mod:`twin.crs_record`) goes to ``ops``.
    """
    skipped: dict[str, np.ndarray] = {}
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    skipped["empty or unreadable geometry"] = np.flatnonzero(missing)
    geoms = np.where(missing, None, geoms)
    coords, owner = shapely.get_coordinates(geoms, return_index=True)
    bad = np.zeros(len(geoms), dtype=bool)
    bad[owner[~np.all(np.isfinite(coords), axis=1)]] = True
    skipped["NaN or infinite coordinates"] = np.flatnonzero(bad & ~missing)
    out_of_range = np.zeros(len(geoms), dtype=bool)
    out_of_range[owner[~georef.in_range(coords, src_crs)]] = True
    out_of_range &= ~bad
    if parse_crs(src_crs).is_geographic:
        reason = "coordinates outside longitude/latitude range (wrong CRS?)"
    else:
        label = crs_label(src_crs)
        reason = f"coordinates far outside the area of use of {label} (wrong CRS or units?)"
    skipped[reason] = np.flatnonzero(out_of_range)
    bad |= out_of_range
    geoms = np.where(bad, None, geoms)
    if ops is not None:
        kept = coords[~bad[owner]] if len(coords) else coords
        origin = (scene.origin[0], scene.origin[1], 0.0)  # heights: option origin_z
        bounds = crs_record.bounds_of(kept)
        ops.append(crs_record.record_transform(src_crs, scene.crs, bounds, origin=origin))

    def to_local(xy: np.ndarray) -> np.ndarray:
        return scene.local_from(xy[:, 0], xy[:, 1], src_crs)

    live = ~shapely.is_missing(geoms)
    geoms[live] = shapely.transform(geoms[live], to_local)
    coords = shapely.get_coordinates(geoms)
    if not np.all(np.isfinite(coords)):
        co, own = shapely.get_coordinates(geoms, return_index=True)
        unproj = np.unique(own[~np.all(np.isfinite(co), axis=1)])
        skipped["cannot be projected into the scene CRS"] = unproj
        geoms[unproj] = None
    invalid = ~shapely.is_missing(geoms) & ~shapely.is_valid(geoms)
    if invalid.any():
        geoms[invalid] = shapely.make_valid(
            geoms[invalid], method="structure", keep_collapsed=False
        )
        still = invalid & (shapely.is_empty(geoms) | ~shapely.is_valid(geoms))
        skipped["invalid geometry that could not be repaired"] = np.flatnonzero(still)
        geoms[still] = None
        skipped["__repaired__"] = np.flatnonzero(invalid & ~still)
    return geoms, skipped


def _family(geoms: np.ndarray) -> np.ndarray:
    """polygon / line / point per geometry, by the dimension of its parts."""
    fam = np.full(len(geoms), "", dtype=object)
    live = ~shapely.is_missing(geoms)
    dims = np.full(len(geoms), -1)
    dims[live] = shapely.get_dimensions(geoms[live])
    fam[dims == 2] = POLYGON
    fam[dims == 1] = LINE
    fam[dims == 0] = POINT
    return fam


def _skip_warnings(skipped: dict[str, np.ndarray], columns: dict[str, np.ndarray]) -> list[str]:
    out = []
    ids = _ids(
        columns, max(1, max((int(r.max()) + 1 for r in skipped.values() if r.size), default=1))
    )
    for reason, rows in skipped.items():
        if rows.size == 0:
            continue
        sample = ", ".join(str(ids[r]) for r in rows[:5]) + (" ..." if rows.size > 5 else "")
        if reason == "__repaired__":
            out.append(f"{rows.size} invalid geometries repaired with make_valid (ids: {sample})")
        else:
            out.append(f"{rows.size} features skipped: {reason} (ids: {sample})")
    return out


def _ids(columns: dict[str, np.ndarray], n: int) -> np.ndarray:
    for key in ID_FIELDS:
        col = columns.get(key)
        if col is not None and len(col) >= n:
            text = np.array([_text(v) for v in col], dtype=object)
            if all(text):
                return text
    return np.array(
        [f"#{i}" for i in range(max(n, max((len(c) for c in columns.values()), default=0)))],
        dtype=object,
    )


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def numeric(values: np.ndarray | None, n: int) -> np.ndarray:
    """Column -> float64, parsing text such as ``"12"``, ``"12.5 m"``; NaN otherwise."""
    if values is None:
        return np.full(n, np.nan)
    if values.dtype.kind in "fiub":
        return values.astype(np.float64)
    out = np.full(n, np.nan)
    for i, v in enumerate(values):
        if isinstance(v, int | float):
            out[i] = v
        elif isinstance(v, str):
            m = re.match(r"\s*([-+]?\d+(?:[.,]\d+)?)\s*(m|meters|metres)?\s*$", v)
            if m:
                out[i] = float(m.group(1).replace(",", "."))
    return out


def _first_text(
    columns: dict[str, np.ndarray], keys: tuple[str, ...], n: int, default: str
) -> np.ndarray:
    out = np.full(n, default, dtype=object)
    unresolved = np.ones(n, dtype=bool)
    for key in keys:
        col = columns.get(key)
        if col is None:
            continue
        text = np.array([_text(v) for v in col], dtype=object)
        take = unresolved & (text != "")
        out[take] = text[take]
        unresolved &= ~take
    return out


def building_heights(
    columns: dict[str, np.ndarray], n: int, default: float, options: dict[str, Any]
) -> tuple[np.ndarray, np.ndarray, int]:
    """Base and top elevation per footprint, and how many used the default.

    Height comes from ``height``, else ``building:levels`` x 3.2 m, else the
    default; the base from ``min_height``, else ``building:min_level`` x 3.2 m,
    else 0, plus the ``base_elevation`` option. A negative ``min_height`` with a
    ``height`` at or below 0 is an underground body between the two.
    """
    height = numeric(columns.get(options.get("height_field", "height")), n)
    levels = numeric(columns.get("building:levels"), n) * LEVEL_HEIGHT
    base = numeric(columns.get("min_height"), n)
    # Underground works (a car park from -9 m to -0.4 m): a negative base under a
    # top at or below the ground is a body below ground, never a missing height.
    underground = np.isfinite(height) & (height <= 0) & np.isfinite(base) & (base < height)
    use_levels = ~(height > 0) & (levels > 0) & ~underground
    height = np.where(use_levels, levels, height)
    defaulted = (~(height > 0) | ~np.isfinite(height)) & ~underground
    height = np.where(defaulted, default, height)
    min_level = numeric(columns.get("building:min_level"), n) * LEVEL_HEIGHT
    base = np.where(np.isfinite(base), base, np.where(np.isfinite(min_level), min_level, 0.0))
    base = base + float(options.get("base_elevation", 0.0)) - scene_z(options)
    top = np.maximum(
        height + float(options.get("base_elevation", 0.0)) - scene_z(options), base + 0.1
    )
    return base, top, int(defaulted.sum())


def scene_z(options: dict[str, Any]) -> float:
    return float(options.get("origin_z", 0.0))


def _build(
    kind: str,
    geoms: np.ndarray,
    columns: dict[str, np.ndarray],
    source_rows: np.ndarray,
    scene: Scene,
    options: dict[str, Any],
    layer_name: str,
) -> Layer:
    n = len(geoms)
    fallback_class = {POLYGON: "building", LINE: "road", POINT: "point"}[kind]
    classes = _first_text(
        columns,
        (options["class_field"],) if "class_field" in options else CLASS_FIELDS,
        n,
        options.get("default_class", fallback_class),
    )
    names = _first_text(columns, (options.get("name_field", "name"),), n, "")
    id_keys = (options["id_field"],) if "id_field" in options else ID_FIELDS
    ids = _first_text(columns, id_keys, n, "")
    no_id = ids == ""
    ids[no_id] = [f"{layer_name}#{r}" for r in source_rows[no_id]]
    notes: list[str] = []
    layer_kind = options.get("kind")
    if kind == POLYGON:
        is_area = layer_kind == "areas"
        default = float(options.get("default_height", 0.2 if is_area else scene.default_height))
        base, top, n_default = building_heights(columns, n, default, options)
        if n_default and not is_area:
            notes.append(f"{n_default} footprints had no height or levels; used {default:g} m")
        mesh = meshing.extrude_polygons(geoms, base, top)
        layer_kind = layer_kind or "buildings"
    elif kind == LINE:
        width = numeric(columns.get(options.get("width_field", "width")), n)
        fallback = np.array(
            [ROAD_WIDTHS.get(c, float(options.get("default_width", 6.0))) for c in classes]
        )
        width = np.where(width > 0, width, fallback)
        z = np.full(n, float(options.get("z", 0.15)))
        mesh = meshing.ribbons(geoms, width, z)
        layer_kind = layer_kind or "roads"
    else:
        pts = shapely.get_coordinates(shapely.centroid(geoms), include_z=False)
        z = numeric(columns.get("z"), n)
        pts3 = np.column_stack([pts, np.where(np.isfinite(z), z, 0.0)])
        mesh = meshing.markers(
            pts3,
            radius=float(options.get("marker_radius", 1.5)),
            height=float(options.get("marker_height", 6.0)),
        )
        layer_kind = layer_kind or "points"
    attrs = {k: v for k, v in columns.items()}
    vert_feature = np.repeat(mesh.feature, 3)
    bounds = feature_bounds(mesh.points[mesh.triangles.ravel()], vert_feature, n)
    table = FeatureTable(ids, classes, names, bounds, attrs)
    return Layer(
        name=layer_name, mesh=mesh.to_polydata(), features=table, kind=layer_kind, warnings=notes
    )
