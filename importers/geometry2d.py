"""The 2D geometries behind a layer's features (footprints, lot polygons, lines).

A layer keeps one merged mesh, not its source polygons; analyses that need the
polygons themselves (planning compliance: overlap, area, setback) get them here.
A vector layer's file is read again through the vector importer's own steps
(the sandboxed GDAL read, the same cleaning, reprojection and repair), so rows
line up with the layer's feature table and nothing is re-implemented. Other
layers (IFC, CityJSON, meshes) get the plan outline of their triangles.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import shapely

from importers import vector

if TYPE_CHECKING:
    from twin.layer import Layer
    from twin.scene import Scene

_FAMILY_BY_KIND = {"roads": vector.LINE, "lines": vector.LINE, "points": vector.POINT}


def layer_geometries(layer: Layer, scene: Scene) -> tuple[np.ndarray, np.ndarray]:
    """Row-aligned scene-local geometries of ``layer`` and the rows whose source
    geometry was invalid and repaired with ``make_valid``."""
    source = _vector_source(layer, scene)
    if source is not None:
        found = _reread(layer, scene, *source)
        if found is not None:
            return found
    return plan_outlines(layer), np.empty(0, dtype=np.intp)


def _vector_source(layer: Layer, scene: Scene) -> tuple[Path, str | None] | None:
    """(file, OGR layer name) when ``layer`` came from the vector importer."""
    if layer.source is None:
        return None
    from importers import importer_for
    from importers.errors import ImportFailed

    spec = scene.spec
    for ls in spec.layers if spec is not None else []:
        if layer.name == ls.name or layer.name.startswith(ls.name + ": "):
            if (ls.importer or _guess(ls.path)) != "vector":
                return None
            return Path(ls.path), ls.options.get("layer")
    try:
        return (Path(layer.source), None) if importer_for(Path(layer.source)) == "vector" else None
    except ImportFailed:
        return None


def _guess(path: Path) -> str | None:
    from importers import importer_for
    from importers.errors import ImportFailed

    try:
        return importer_for(path)
    except ImportFailed:
        return None


def _reread(
    layer: Layer, scene: Scene, path: Path, ogr_layer: str | None
) -> tuple[np.ndarray, np.ndarray] | None:
    found = vector._read_isolated(path, ogr_layer)
    data = found["layers"].get(ogr_layer) if ogr_layer else None
    if data is None:
        data = next(iter(found["layers"].values()), None)
    if data is None:
        return None
    src_crs = data["info"].get("crs") or (
        vector.WGS84 if data["info"].get("driver") == "GeoJSON" else scene.crs
    )
    wkb = data["wkb"]
    geoms = vector._decode(wkb, 0 if wkb is None else len(wkb))
    geoms, skipped = vector._clean(geoms, src_crs, scene)
    family = vector._family(geoms)
    want = _FAMILY_BY_KIND.get(layer.kind, vector.POLYGON)
    rows = np.flatnonzero(family == want)
    if rows.size != len(layer.features):  # not the rows the layer was built from
        return None
    repaired = skipped.get("__repaired__", np.empty(0, dtype=np.intp))
    position = np.full(len(geoms), -1, dtype=np.intp)
    position[rows] = np.arange(rows.size)
    repaired = position[repaired]
    return geoms[rows], repaired[repaired >= 0]


def plan_outlines(layer: Layer, whole: bool = False) -> np.ndarray:
    """Per feature (or, ``whole``, one for the layer) the union of its triangles
    seen from above: the footprint of a mesh that keeps no polygons."""
    mesh = layer.mesh if layer.mesh.is_all_triangles else layer.mesh.triangulate()
    n = 1 if whole else len(layer.features)
    out = np.full(n, None, dtype=object)
    if mesh.n_cells == 0:
        return out
    tri = mesh.faces.reshape(-1, 4)[:, 1:]
    xy = np.asarray(mesh.points, dtype=np.float64)[:, :2][tri]
    area = 0.5 * np.abs(np.cross(xy[:, 1] - xy[:, 0], xy[:, 2] - xy[:, 0]))
    keep = area > 1e-6  # walls seen edge-on have no area
    polys = shapely.polygons(np.concatenate([xy, xy[:, :1]], axis=1)[keep])
    owner = np.zeros(len(tri), dtype=np.intp) if whole else np.asarray(mesh.cell_data["feature"])
    owner = owner[keep]
    order = np.argsort(owner, kind="stable")
    bounds = np.searchsorted(owner[order], np.arange(n + 1))
    for i in range(n):
        part = polys[order[bounds[i] : bounds[i + 1]]]
        if len(part):
            out[i] = shapely.make_valid(shapely.union_all(part))
    return out
