"""Pipe networks (water supply, drainage) from GIS lines and points, as one layer
of 3D pipes and shafts below the ground (scene file ``importer = "pipes"``).

Lines need ``diameter_mm`` and ``invert_depth`` (m below ground at the start;
``invert_depth_end`` for pipes laid to a fall); points (manholes, chambers) are
shafts from their ``invert_depth`` up to just under the ground, ``diameter_mm``
wide (default 1000). Field names can be changed with the options
``diameter_field``, ``invert_field`` and ``invert_end_field``; ``ground`` sets
the ground elevation (scene metres, default 0).

The file is read like any vector file (GDAL in a sandboxed child, reprojected,
bad geometries skipped and counted): :mod:`importers.vector`. A feature with an
unusable diameter or depth is skipped and named in the layer's warnings; a file
without the fields, or with no usable pipe, fails with one line naming it.
The layer's kind is ``utilities``: the view draws it in the underground view.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np
import shapely

from importers import vector
from importers.errors import ImportFailed
from twin import crs_record, pipes
from twin.features import FeatureTable, feature_bounds
from twin.geo import WGS84
from twin.layer import Layer
from twin.meshing import TriMesh
from twin.scene import Scene

KIND = "utilities"
#: plausible bounds: a 20 mm service to a 6 m culvert; 0-30 m deep
DIAMETER_MM = (10.0, 6000.0)
DEPTH_M = (0.0, 30.0)


def extent(path: Path):
    return vector.extent(path)


def read(path: Path, scene: Scene, options: dict[str, Any], progress=None,
         cancel: threading.Event | None = None) -> list[Layer]:
    found = vector._read_isolated(path, options.get("layer"), cancel=cancel)
    if not found["layers"]:
        raise ImportFailed(path, "has no layers")
    name, data = next(iter(found["layers"].items()))
    layer = read_network(path, name, data, scene, options)
    if progress is not None:
        progress(1, 1)
    return [layer]


def _fail_fields(path: Path, columns: dict[str, np.ndarray], need: list[str]) -> None:
    missing = [f for f in need if f not in columns]
    if missing:
        have = ", ".join(sorted(columns)) or "none"
        raise ImportFailed(path, f"a pipe network needs the field(s) {', '.join(missing)} "
                                 f"(fields: {have})")


def read_network(path: Path, layer_name: str, data: dict[str, Any], scene: Scene,
                 options: dict[str, Any]) -> Layer:
    """One OGR layer (as :mod:`importers.gdal_read` reads it) -> a utilities layer."""
    info = data["info"]
    src_crs = info.get("crs") or (WGS84 if info.get("driver") == "GeoJSON" else scene.crs)
    columns = {k: vector._column(v)
               for k, v in zip(data["fields"], data["field_data"], strict=True)}
    d_field = options.get("diameter_field", "diameter_mm")
    i_field = options.get("invert_field", "invert_depth")
    e_field = options.get("invert_end_field", "invert_depth_end")
    _fail_fields(path, columns, [d_field, i_field])
    wkb = data["wkb"]
    n = 0 if wkb is None else len(wkb)
    geoms = vector._decode(wkb, n)
    ops: list = []
    geoms, skipped = vector._clean(geoms, src_crs, scene, ops)
    notes = list(crs_record.warnings_of(ops))
    diameter = vector.numeric(columns.get(d_field), n) / 1000.0
    inv0 = vector.numeric(columns.get(i_field), n)
    inv1 = vector.numeric(columns.get(e_field), n) if e_field in columns else inv0.copy()
    inv1 = np.where(np.isfinite(inv1), inv1, inv0)
    live = ~shapely.is_missing(geoms)
    dims = np.full(n, -1)
    dims[live] = shapely.get_dimensions(geoms[live])
    line, point = dims == 1, dims == 0
    ids = vector._ids(columns, n)
    lo_d, hi_d = DIAMETER_MM[0] / 1000, DIAMETER_MM[1] / 1000
    bad_d = ~((diameter >= lo_d) & (diameter <= hi_d))
    bad_d &= line | (point & np.isfinite(diameter))  # a shaft may omit its diameter
    diameter = np.where(point & ~np.isfinite(diameter), 1.0, diameter)
    bad_i = ~((inv0 >= DEPTH_M[0]) & (inv0 <= DEPTH_M[1]) & (inv1 >= DEPTH_M[0])
              & (inv1 <= DEPTH_M[1]))
    # a pipe whose crown would stand above the ground is not buried: refuse it
    shallow = (line | point) & ~bad_d & ~bad_i & (np.minimum(inv0, inv1) < np.where(
        line, diameter, 0.0))
    reasons = {
        f"{d_field} missing or outside {DIAMETER_MM[0]:g}-{DIAMETER_MM[1]:g} mm":
            (line | point) & bad_d,
        f"{i_field} missing or outside {DEPTH_M[0]:g}-{DEPTH_M[1]:g} m":
            (line | point) & ~bad_d & bad_i,
        "pipe not buried (invert depth less than its diameter)": shallow,
        "not a line or a point (polygons are not pipes)": live & ~line & ~point,
    }
    drop = np.zeros(n, dtype=bool)
    for reason, mask in reasons.items():
        skipped[reason] = np.flatnonzero(mask)
        drop |= mask
    keep = live & ~drop
    rows = np.flatnonzero(keep)
    if rows.size == 0 or not (line & keep).any():
        detail = "; ".join(vector._skip_warnings(skipped, columns)) or "no features"
        raise ImportFailed(path, f"no usable pipe ({detail})")
    ground = float(options.get("ground", 0.0))
    # feature rows are the kept features in file order
    new_row = np.full(n, -1, dtype=np.int64)
    new_row[rows] = np.arange(rows.size)
    lrows = np.flatnonzero(line & keep)
    tube = pipes.tubes(geoms[lrows], diameter[lrows], inv0[lrows], inv1[lrows], ground)
    tube.feature = new_row[lrows][tube.feature].astype(np.int32)
    prows = np.flatnonzero(point & keep)
    xy = shapely.get_coordinates(shapely.centroid(geoms[prows])) if prows.size else \
        np.empty((0, 2))
    shaft = pipes.shafts(xy, diameter[prows], inv0[prows], new_row[prows], ground)
    mesh = TriMesh.concat([tube, shaft])
    classes = vector._first_text(columns, ("class", "type"), n, "pipe")[rows]
    classes = np.where(point[rows] & (classes == "pipe"), "manhole", classes).astype(object)
    names = vector._first_text(columns, ("name",), n, "")[rows]
    attrs = {k: v[rows] for k, v in columns.items()}
    vert_feature = np.repeat(mesh.feature, 3)
    bounds = feature_bounds(mesh.points[mesh.triangles.ravel()], vert_feature, rows.size)
    table = FeatureTable(ids[:n][rows], classes, names, bounds, attrs)
    out = Layer(name=layer_name, mesh=mesh.to_polydata(), features=table, kind=KIND)
    out.source, out.crs, out.crs_operations = path, str(src_crs), list(ops)
    out.warnings = notes + vector._skip_warnings(skipped, columns)
    out.info = {"pipes": int(lrows.size), "shafts": int(prows.size),
                "length_m": round(float(shapely.length(geoms[lrows]).sum()), 1)}
    return out
