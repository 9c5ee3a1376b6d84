"""Export rows of a layer's feature table: CSV, or GeoJSON with their footprints.

Layers keep one merged mesh and a columnar table, not the source polygons, so
a footprint is recovered from the mesh: the outline of each feature's
downward-facing triangles (the floor of an extruded block, a CityJSON
GroundSurface) or, for features with no floor, of its upward-facing ones
(flat areas, road ribbons), projected to the ground. The boundary edges
(those used by one triangle only, keyed by coordinates rounded to 1 mm so
meshes without shared vertices work too) become polygons, holes included,
through GEOS ``build_area``. Line features export their lines; a feature
whose triangles give no outline (a draped or open surface) falls back to its
bounding box, and the ``geometry_source`` property says which one it got.

GeoJSON follows RFC 7946 in WGS 84 (lon/lat order, 7 decimals ~1 cm,
counter-clockwise exteriors); on request it is written in the scene CRS
(easting/northing, mm) with the pre-RFC ``crs`` member naming it. Numbers are
machine-readable: decimal point, no thousands separators, NaN as empty/null.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import shapely

from twin.geo import WGS84, CRSResolutionError, parse_crs, transform_xy
from twin.layer import Layer
from twin.plain_value import plain_value

WGS84_DECIMALS = 7
SCENE_DECIMALS = 3
QUANTUM_M = 1e-3  # vertices closer than this are one vertex of the outline

#: geometry_source values
OUTLINE, LINES, BOUNDS, POINT, NONE = "outline", "lines", "bounds", "point", "none"


class ExportError(ValueError):
    """An export that cannot be written (message names the file and the cause)."""


@dataclass
class ExportReport:
    """What an export wrote: how many features and where their geometry came from."""

    path: Path
    count: int
    sources: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        parts = ", ".join(f"{n} {k}" for k, n in sorted(self.sources.items()))
        return f"{self.count} features" + (f" ({parts})" if parts else "")


# -- table values -------------------------------------------------------------------------
def _columns(layer: Layer, rows: np.ndarray) -> dict[str, list]:
    table = layer.features
    return {
        name: [plain_value(v) for v in table.column(name)[rows].tolist()]
        for name in table.column_names()
    }


def _csv_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)  # shortest round-tripping form, decimal point
    return str(value)


def write_csv(layer: Layer, rows, path: Path) -> ExportReport:
    """The table rows ``rows`` as UTF-8 CSV (header = column names)."""
    rows = np.asarray(rows, dtype=np.intp)
    columns = _columns(layer, rows)
    names = list(columns)
    path = Path(path)
    try:
        with path.open("w", encoding="utf-8", newline="") as fh:
            out = csv.writer(fh)
            out.writerow(names)
            for i in range(len(rows)):
                out.writerow([_csv_text(columns[n][i]) for n in names])
    except OSError as exc:
        raise ExportError(f"{path}: {exc.strerror or exc}") from None
    return ExportReport(path, len(rows))


# -- geometry ------------------------------------------------------------------------------
def _triangles(mesh) -> tuple[np.ndarray, int]:
    """(m, 3) point ids of the mesh's polygons and the cell id of the first one
    (vertices and lines come first in a PolyData's cell order)."""
    faces = np.asarray(mesh.faces)
    if faces.size == 0:
        return np.empty((0, 3), np.int64), 0
    if faces.size % 4 == 0 and np.all(faces[::4] == 3):
        return faces.reshape(-1, 4)[:, 1:].astype(np.int64), int(mesh.n_verts + mesh.n_lines)
    raise ValueError("not a triangle mesh")


def _outlines(layer: Layer, wanted: np.ndarray) -> dict[int, object]:
    """Row -> footprint polygon (scene-local) for the rows where ``wanted`` is True."""
    mesh = layer.mesh
    cell_feature = np.asarray(layer.cell_features)
    try:
        tri, first = _triangles(mesh)
    except ValueError:
        mesh = mesh.triangulate()  # polygons and strips -> triangles; feature follows
        cell_feature = np.asarray(mesh.cell_data["feature"])
        tri, first = _triangles(mesh)
    if len(tri) == 0:
        return {}
    feat = cell_feature[first : first + len(tri)]
    keep = wanted[feat]
    tri, feat = tri[keep], feat[keep]
    if len(tri) == 0:
        return {}
    pts = np.asarray(mesh.points, dtype=np.float64)
    p0, p1, p2 = pts[tri[:, 0]], pts[tri[:, 1]], pts[tri[:, 2]]
    normal = np.cross(p1 - p0, p2 - p0)
    length = np.linalg.norm(normal, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        nz = np.where(length > 0, normal[:, 2] / length, 0.0)
    down, up = nz < -0.5, nz > 0.5
    has_floor = np.bincount(feat[down], minlength=len(wanted)) > 0
    use = np.where(has_floor[feat], down, up)
    tri, feat = tri[use], feat[use]
    if len(tri) == 0:
        return {}
    # vertices keyed by their ground position (mm), so split vertices still join
    used = np.unique(tri)
    keys = np.round(pts[used, :2] / QUANTUM_M).astype(np.int64)
    uniq, vid_of_used = np.unique(keys, axis=0, return_inverse=True)
    vid = np.empty(int(used.max()) + 1, dtype=np.int64)
    vid[used] = vid_of_used.ravel()
    v = vid[tri]
    a = np.concatenate([v[:, 0], v[:, 1], v[:, 2]])
    b = np.concatenate([v[:, 1], v[:, 2], v[:, 0]])
    f = np.concatenate([feat, feat, feat])
    ok = a != b
    edges = np.column_stack([f[ok], np.minimum(a[ok], b[ok]), np.maximum(a[ok], b[ok])])
    edges, counts = np.unique(edges, axis=0, return_counts=True)
    edges = edges[counts == 1]  # the boundary: edges of one triangle only
    if len(edges) == 0:
        return {}
    xy = uniq.astype(np.float64) * QUANTUM_M
    coords = np.stack([xy[edges[:, 1]], xy[edges[:, 2]]], axis=1)
    lines = shapely.linestrings(coords)
    owners, starts = np.unique(edges[:, 0], return_index=True)
    group = np.repeat(np.arange(len(owners)), np.diff(np.append(starts, len(edges))))
    areas = shapely.build_area(shapely.multilinestrings(lines, indices=group))
    out = {}
    for row, geom in zip(owners.tolist(), areas, strict=True):
        if geom is not None and not geom.is_empty and geom.area > 0:
            out[int(row)] = geom
    return out


def _line_geometries(layer: Layer, wanted: np.ndarray) -> dict[int, object]:
    """Row -> MultiLineString (scene-local xy) of the line cells of wanted rows."""
    mesh = layer.mesh
    if not mesh.n_lines:
        return {}
    flat = np.asarray(mesh.lines)
    cell_feature = np.asarray(layer.cell_features)
    pts = np.asarray(mesh.points, dtype=np.float64)[:, :2]
    parts: dict[int, list] = {}
    i, cell = 0, int(mesh.n_verts)
    while i < len(flat):
        n = int(flat[i])
        row = int(cell_feature[cell])
        if wanted[row] and n >= 2:
            parts.setdefault(row, []).append(pts[flat[i + 1 : i + 1 + n]])
        i += n + 1
        cell += 1
    return {row: shapely.MultiLineString(lines) for row, lines in parts.items()}


def footprints(layer: Layer, rows) -> tuple[np.ndarray, np.ndarray]:
    """(geometries, sources) for ``rows``: shapely geometries in scene-local
    x/y (None where a feature has no finite bounds) and where each came from
    (``outline``, ``lines``, ``bounds``, ``point`` or ``none``)."""
    rows = np.asarray(rows, dtype=np.intp)
    wanted = np.zeros(len(layer.features), dtype=bool)
    wanted[rows] = True
    # point layers (sensor sites ...) draw markers: the point is the feature
    outlines = {} if layer.kind == "points" else _outlines(layer, wanted)
    lines = {} if layer.kind == "points" else _line_geometries(layer, wanted)
    geoms = np.empty(len(rows), dtype=object)
    sources = np.empty(len(rows), dtype=object)
    bounds = layer.features.bounds
    for i, row in enumerate(rows.tolist()):
        if row in outlines:
            geoms[i], sources[i] = outlines[row], OUTLINE
        elif row in lines:
            geoms[i], sources[i] = lines[row], LINES
        else:
            x0, x1, y0, y1 = bounds[row, :4]
            if not np.all(np.isfinite((x0, x1, y0, y1))):
                geoms[i], sources[i] = None, NONE
            elif x1 - x0 > 0 and y1 - y0 > 0 and layer.kind != "points":
                geoms[i], sources[i] = shapely.box(x0, y0, x1, y1), BOUNDS
            else:
                geoms[i], sources[i] = shapely.Point((x0 + x1) / 2, (y0 + y1) / 2), POINT
    return geoms, sources


def _to_crs(geoms: np.ndarray, scene, crs: str) -> tuple[np.ndarray, int]:
    """Scene-local geometries -> ``crs`` ("wgs84" or "scene"), rounded."""
    ox, oy = float(scene.origin[0]), float(scene.origin[1])
    if crs == "scene":
        def move(c: np.ndarray) -> np.ndarray:
            return np.round(c + np.array([ox, oy]), SCENE_DECIMALS)

        return shapely.transform(geoms, move), SCENE_DECIMALS

    def project(c: np.ndarray) -> np.ndarray:
        lon, lat = transform_xy(c[:, 0] + ox, c[:, 1] + oy, scene.crs, WGS84)
        return np.round(np.column_stack([lon, lat]), WGS84_DECIMALS)

    return shapely.transform(geoms, project), WGS84_DECIMALS


def crs_urn(crs: str) -> str | None:
    """``urn:ogc:def:crs:EPSG::9208`` for an EPSG CRS, else None."""
    auth = parse_crs(crs).to_authority()
    return f"urn:ogc:def:crs:{auth[0]}::{auth[1]}" if auth else None


def write_geojson(layer: Layer, rows, path: Path, scene, crs: str = "wgs84") -> ExportReport:
    """The rows as a GeoJSON FeatureCollection with their footprints.

    ``crs="wgs84"`` (RFC 7946) or ``"scene"`` (the scene CRS, named in a
    ``crs`` member, which RFC 7946 readers may ignore). Raises
    :class:`ExportError` when the scene CRS cannot be reprojected (a local CRS)
    or the file cannot be written.
    """
    if crs not in ("wgs84", "scene"):
        raise ValueError(f"crs must be 'wgs84' or 'scene', not {crs!r}")
    path = Path(path)
    rows = np.asarray(rows, dtype=np.intp)
    geoms, sources = footprints(layer, rows)
    polygons = shapely.get_type_id(geoms) == shapely.GeometryType.POLYGON
    polygons |= shapely.get_type_id(geoms) == shapely.GeometryType.MULTIPOLYGON
    geoms = np.where(polygons, shapely.orient_polygons(geoms), geoms)  # CCW exteriors
    try:
        moved, _ = _to_crs(geoms, scene, crs)
    except CRSResolutionError as exc:
        raise ExportError(f"{path}: {exc}; export in the scene CRS instead") from None
    texts = shapely.to_geojson(moved)
    columns = _columns(layer, rows)
    zmin = layer.features.bounds[rows, 4] + float(scene.origin[2])
    zmax = layer.features.bounds[rows, 5] + float(scene.origin[2])
    parts = []
    for i in range(len(rows)):
        props = {name: values[i] for name, values in columns.items()}
        props["geometry_source"] = sources[i]
        props["elevation_min"] = plain_value(round(float(zmin[i]), 3))
        props["elevation_max"] = plain_value(round(float(zmax[i]), 3))
        geometry = texts[i] if moved[i] is not None and not moved[i].is_empty else "null"
        head = json.dumps({"type": "Feature", "id": props["id"], "properties": props},
                          ensure_ascii=False, allow_nan=False)
        parts.append(head[:-1] + ', "geometry": ' + geometry + "}")
    header: dict = {"type": "FeatureCollection", "name": layer.name}
    if crs == "scene":
        urn = crs_urn(scene.crs)
        header["crs"] = {"type": "name", "properties": {"name": urn or scene.crs}}
    head = json.dumps(header, ensure_ascii=False)
    try:
        with path.open("w", encoding="utf-8") as fh:
            fh.write(head[:-1] + ', "features": [\n')
            fh.write(",\n".join(parts))
            fh.write("\n]}\n")
    except OSError as exc:
        raise ExportError(f"{path}: {exc.strerror or exc}") from None
    return ExportReport(path, len(rows), dict(Counter(sources.tolist())))
