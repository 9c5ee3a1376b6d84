"""Payload -> layers in a scene: placement, colours, table, tree, details.

Runs in the parent for cold and cached imports alike. Placement is composed
into each element's 4x4 before any vertex is touched (model -> map -> scene
CRS -> minus the scene origin, all float64), so the vertices are transformed
once, and cast to float32 only when the mesh is built.
"""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from importers.ifc import alignment, georef, placement_math
from importers.ifc.colors import palette_for, to_hex
from importers.ifc.geometry import element_bounds, expand, geometry_bounds, placed_bounds
from importers.ifc.options import IfcOptions
from importers.ifc.payload import Payload
from importers.ifc.placing import place_points as place_points  # re-exported
from importers.ifc.semantics import Details, tree_nodes
from twin import crs_record
from twin.features import FeatureTable
from twin.layer import Layer, TreeNode
from twin.meshing import TriMesh
from twin.scene import Scene
from twin.style import NATIVE_CELL_ARRAY, NATIVE_OPACITY_ARRAY, Style

SPACE_OPACITY = 0.35
#: Per-cell opacity (1 - IfcSurfaceStyleRendering.Transparency), present when any
#: surface is see-through: twin's generic native opacity, which the renderer draws
#: per cell (glazing) in the ``native`` style, times the layer's opacity.
OPACITY_CELL_ARRAY = NATIVE_OPACITY_ARRAY


def _lookup(sorted_keys: np.ndarray, order: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Row of each wanted STEP id (-1 when absent), vectorised."""
    if len(sorted_keys) == 0:
        return np.full(len(wanted), -1, dtype=np.int64)
    pos = np.clip(np.searchsorted(sorted_keys, wanted), 0, len(sorted_keys) - 1)
    hit = sorted_keys[pos] == wanted
    return np.where(hit, order[pos], -1)


def model_bbox(arrays: dict[str, np.ndarray], elems: np.ndarray) -> np.ndarray | None:
    """(2, 3) min/max corner of the given elements, model metres."""
    if len(elems) == 0:
        return None
    gb = geometry_bounds(arrays)
    lo, hi = placed_bounds(gb, arrays["e_geom"][elems], arrays["e_matrix"][elems])
    ok = np.all(np.isfinite(lo), axis=1) & np.all(np.isfinite(hi), axis=1)
    if not ok.any():
        return None
    return np.stack([lo[ok].min(axis=0), hi[ok].max(axis=0)])


def build(
    path: Path, payload: Payload, scene: Scene, opts: IfcOptions, facts: dict[str, Any]
) -> list[Layer]:
    """The main layer (and the hidden spaces layer when the model has spaces),
    plus a layer of alignment centre lines when ``meta`` has them (see
    :mod:`importers.ifc.alignment`)."""
    meta, arrays = payload.meta, payload.arrays
    cols = meta["columns"]
    n = len(cols["step"])
    steps = np.asarray(cols["step"], dtype=np.int64)
    is_space = np.asarray(meta.get("is_space", [False] * n), dtype=bool).reshape(n)
    order = np.argsort(steps, kind="stable")
    e_row = _lookup(steps[order], order, arrays["e_step"])
    known = np.flatnonzero(e_row >= 0)

    bbox = model_bbox(arrays, known[~is_space[e_row[known]]])
    if bbox is None:
        bbox = model_bbox(arrays, known)
    lines = meta.get(alignment.META_KEY)
    line_bbox = alignment.model_bbox(lines)
    if line_bbox is not None:  # the model's extent includes its alignments
        bbox = (
            line_bbox
            if bbox is None
            else np.stack([np.minimum(bbox[0], line_bbox[0]), np.maximum(bbox[1], line_bbox[1])])
        )
    placement = georef.resolve(
        meta.get("georef") or {}, bbox, scene.crs, scene.origin, opts.at, opts.override_georef
    )
    to_local, _ = georef.scene_affine(placement, scene.crs, scene.origin, bbox)
    unit_m = float((meta.get("georef") or {}).get("unit_m") or 1.0)
    ops = placement_math.crs_operations(
        placement, scene.crs, scene.origin, bbox, to_local is not None, unit_m
    )

    failures = {int(k): str(v) for k, v in (meta.get("failures") or {}).items()}
    common = _file_warnings(meta, cols, placement) + crs_record.warnings_of(ops)
    stem = Path(path).name
    for suffix in (".ifczip", ".ifc"):
        if stem.lower().endswith(suffix):
            stem = stem[: -len(suffix)]
            break
    layers = []
    for spaces in (False, True):
        rows = np.flatnonzero(is_space == spaces)
        if spaces and rows.size == 0:
            continue
        layer = _layer(
            path,
            stem,
            payload,
            scene,
            placement,
            to_local,
            rows,
            e_row,
            known,
            failures,
            spaces,
            common if not spaces else [],
            facts,
        )
        layers.append(layer)
    if lines:
        line_layer = alignment.build_layer(path, stem, lines, placement, to_local, scene)
        if line_layer is not None:
            line_layer.info.update(facts)
            layers.append(line_layer)
        else:  # nothing drawn: say why on the main layer
            layers[0].warnings.extend(lines.get("warnings") or [])
    for layer in layers:
        layer.crs_operations = list(ops)
    record = placement_math.placement_record(opts.as_dict(), scene.crs)
    if record is not None:  # the user's placement, for `citytwin info` and the project
        for layer in layers:
            layer.info["placement"] = record
    return layers


def _file_warnings(meta: dict[str, Any], cols: dict[str, list], placement) -> list[str]:
    out: list[str] = []
    out.extend(meta.get("header_notes") or [])
    out.extend(f"parser: {m}" for m in meta.get("parse_warnings") or [])
    out.extend(meta.get("semantic_warnings") or [])
    out.extend(meta.get("memory_notes") or [])
    out.extend(placement.warnings)
    guids = [g for g in cols["guid"] if g]
    dup = [(g, c) for g, c in Counter(guids).items() if c > 1]
    if dup:
        shown = ", ".join(f"{g} (x{c})" for g, c in dup[:5])
        more = f" and {len(dup) - 5} more" if len(dup) > 5 else ""
        out.append(
            f"{len(dup)} GlobalIds are used by more than one element: {shown}{more}; "
            "they are kept as separate rows"
        )
    if not cols["step"]:
        if meta.get("has_project"):
            out.append("the model has no elements with a representation (nothing to draw)")
        else:
            out.append("the file has no IfcProject and no elements (empty DATA section?)")
    return out


def _layer(
    path: Path,
    stem: str,
    payload: Payload,
    scene: Scene,
    placement: georef.Placement,
    to_local: np.ndarray | None,
    rows: np.ndarray,
    e_row: np.ndarray,
    known: np.ndarray,
    failures: dict[int, str],
    spaces: bool,
    warnings: list[str],
    facts: dict[str, Any],
) -> Layer:
    meta, arrays = payload.meta, payload.arrays
    cols = meta["columns"]
    n_all = len(cols["step"])
    layer_row = np.full(n_all, -1, dtype=np.int64)
    layer_row[rows] = np.arange(len(rows))
    # elements with triangles in this layer, in row order
    mine = known[layer_row[e_row[known]] >= 0]
    mine = mine[np.argsort(layer_row[e_row[mine]], kind="stable")]
    if to_local is not None:
        mats = np.einsum("ij,njk->nik", to_local, arrays["e_matrix"][mine])
        points, tris, tri_elem, tri_mat, vstart = expand(arrays, mine, mats)
        reprojection = "affine"
    else:
        mats = np.einsum("ij,njk->nik", placement.affine, arrays["e_matrix"][mine])
        points, tris, tri_elem, tri_mat, vstart = expand(arrays, mine, mats)
        georef.reproject_points(points, placement, scene.crs, scene.origin)
        reprojection = "per-vertex (pyproj)"
    elem_row = layer_row[e_row[mine]]
    tri_row = elem_row[tri_elem].astype(np.int32)
    n = len(rows)

    def col(name: str) -> np.ndarray:
        values = cols.get(name) or [""] * n_all
        return np.asarray(values, dtype=object)[rows]

    classes = col("cls")
    base_rgb, base_transp = palette_for(classes) if n else (np.zeros((0, 3), np.uint8), np.zeros(0))
    tri_rgb, row_rgb, row_transp, tri_opacity = _colors(
        arrays, tri_mat, tri_row, base_rgb, base_transp, n
    )

    bounds = np.full((n, 6), np.nan)
    if len(mine):
        bounds[elem_row] = element_bounds(points, vstart)
    steps = np.asarray(cols["step"], dtype=np.int64)[rows]
    status = np.full(n, "ok", dtype=object)
    kind = np.asarray(meta.get("kind") or ["body"] * n_all, dtype=object)[rows]
    status[kind == "none"] = "no 3D body"
    status[kind == "box"] = "bounding box"
    fail_rows = _rows_in(steps, failures)
    status[fail_rows] = "failed"
    degraded = {int(k): str(v) for k, v in (meta.get("degraded") or {}).items()}
    degraded_rows = _rows_in(steps, degraded)
    status[degraded_rows] = "without openings"
    attrs = {
        "predefined_type": col("predefined_type"),
        "storey": col("storey"),
        "type": col("type"),
        "material": col("material"),
        "object_type": col("object_type"),
        "geometry": status,
        "ifc_color": to_hex(row_rgb) if n else np.empty(0, dtype=object),
        "ifc_transparency": row_transp,
        "step_id": steps.astype(np.float64),
    }
    table = FeatureTable(col("guid"), classes, col("name"), bounds, attrs)
    mesh = TriMesh(points, tris, tri_row).to_polydata()
    if len(tris):
        mesh.cell_data[NATIVE_CELL_ARRAY] = tri_rgb
        if (tri_opacity < 1).any():
            mesh.cell_data[OPACITY_CELL_ARRAY] = tri_opacity
    names = col("name")
    warn = list(warnings)
    for i in fail_rows:
        label = f" {names[i]!r}" if names[i] else ""
        warn.append(
            f"geometry failed: {table.ids[i] or '#' + str(steps[i])} {classes[i]}{label}: "
            f"{failures[int(steps[i])]}"
        )
    for i in degraded_rows:
        label = f" {names[i]!r}" if names[i] else ""
        warn.append(
            f"geometry simplified: {table.ids[i] or '#' + str(steps[i])} {classes[i]}{label}: "
            f"{degraded[int(steps[i])]}"
        )
    n_box = int((status == "bounding box").sum())
    if n_box:
        warn.append(f"{n_box} elements have only a bounding-box representation; drawn as boxes")
    row_of = dict(zip(steps.tolist(), range(n), strict=True))
    tree = tree_nodes(meta.get("tree") or {}, row_of, TreeNode) if meta.get("tree") else None
    info = {
        "schema": meta.get("schema"),
        "declared_schema": meta.get("declared_schema"),
        "georeferencing": placement.method,
        "crs": _crs_label(placement),
        "georeferencing_details": _jsonable(placement.facts),
        "reprojection": reprojection,
        "elements": n,
        "elements_with_geometry": len(mine),
        "geometry_failures": len(fail_rows),
        "triangles": len(tris),
        "unique_geometries": len(np.unique(arrays["e_geom"][mine])) if len(mine) else 0,
        "has_ifc_colors": True,
        # per triangle: a window's row colour is its opaque frame, its glass is not
        "has_transparency": bool((tri_opacity < 1).any() or (row_transp > 0).any()),
        **facts,
    }
    if spaces:
        info["spaces"] = n
    crs = placement.declared or placement.crs
    layer = Layer(
        name=f"{stem} (spaces)" if spaces else stem,
        mesh=mesh,
        features=table,
        kind="bim-spaces" if spaces else "bim",
        style=Style(mode="native", opacity=SPACE_OPACITY if spaces else 1.0),
        visible=not spaces,
        warnings=warn,
        source=Path(path),
        crs=crs,
        tree=tree,
        info=info,
    )
    layer.details = Details(Path(path), steps, table)
    return layer


def _rows_in(steps: np.ndarray, by_step: dict[int, str]) -> list[int]:
    """Rows whose STEP id is a key of ``by_step`` (usually none: no Python loop then)."""
    if not by_step:
        return []
    hit = np.isin(steps, np.fromiter(by_step, dtype=np.int64, count=len(by_step)))
    return np.flatnonzero(hit).tolist()


def _colors(
    arrays: dict[str, np.ndarray],
    tri_mat: np.ndarray,
    tri_row: np.ndarray,
    base_rgb: np.ndarray,
    base_transp: np.ndarray,
    n: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-triangle RGB (IFC style, else the class palette), per-row dominant
    colour and transparency (the style covering most triangles), and
    per-triangle opacity."""
    m_rgba = arrays["m_rgba"]
    n_mat = len(m_rgba)
    m_rgb = np.round(np.clip(m_rgba[:, :3], 0, 1) * 255).astype(np.uint8).reshape(-1, 3)
    m_transp = 1.0 - m_rgba[:, 3].astype(np.float64)
    styled_mat = np.asarray(arrays["m_styled"], dtype=bool)
    safe = np.clip(tri_mat, 0, max(n_mat - 1, 0))
    styled = (tri_mat >= 0) & (styled_mat[safe] if n_mat else False)
    tri_rgb = base_rgb[tri_row] if len(tri_row) else np.zeros((0, 3), np.uint8)
    tri_opacity = (1.0 - base_transp[tri_row]).astype(np.float32)
    if styled.any():
        tri_rgb[styled] = m_rgb[tri_mat[styled]]
        tri_opacity[styled] = (1.0 - m_transp[tri_mat[styled]]).astype(np.float32)
    row_rgb = base_rgb.copy()
    row_transp = base_transp.astype(np.float64).copy()
    if len(tri_row) and styled.any():
        # The row colour is the style covering most triangles, opaque ones first:
        # a 90 % transparent clearance box must not name the colour of a cabinet.
        opaque = styled & (m_transp[safe] < 0.5)
        done = np.zeros(n, dtype=bool)
        for pick in (opaque, styled):
            pick = pick & ~done[tri_row]
            if not pick.any():
                continue
            key = tri_row[pick].astype(np.int64) * (n_mat + 1) + tri_mat[pick]
            uniq, counts = np.unique(key, return_counts=True)
            row, mat = uniq // (n_mat + 1), uniq % (n_mat + 1)
            best = np.lexsort((-counts, row))
            first = best[np.r_[True, row[best][1:] != row[best][:-1]]]
            r, mt = row[first], mat[first]
            row_rgb[r] = m_rgb[mt]
            row_transp[r] = m_transp[mt]
            done[r] = True
    return tri_rgb, row_rgb, row_transp, tri_opacity


def _crs_label(placement: georef.Placement) -> str | None:
    if placement.crs is None:
        return None
    if placement.declared:
        return placement.declared
    if len(placement.crs) > 40:
        try:
            from twin.geo import parse_crs

            return parse_crs(placement.crs).name
        except Exception:
            return placement.crs[:40]
    return placement.crs


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, np.generic):
        return _jsonable(value.item())
    return value
