"""CityJSON 1.0 / 1.1 / 2.0 (``.city.json``) and CityJSONSeq (``.city.jsonl``).

One file becomes one layer: a merged triangle mesh whose cells carry the
CityObject row (``feature``), the semantic surface code (``surface``, names in
``layer.info["surface_types"]``) and a default colour (``rgb_default``: roofs
red, walls pale, ground dark; objects without semantics by type), plus a feature
table with one row per CityObject (class = its type, every attribute a column).

Why it is fast: the JSON is parsed with orjson; vertices become one numpy array
(``vertices * scale + translate``) in one call; boundaries are flattened for
all geometries of a type together with ``itertools.chain`` and ``map(len, ...)``
(C loops, no per-vertex Python), and triangulation is batched
(:func:`importers.surfaces.triangulate_rings`). The per-object Python work is
choosing the LoD and appending references to lists.

What it does with bad input: an object whose geometry points at a missing
vertex, is malformed, or has out-of-range coordinates loses that geometry and is
named in a warning; the rest loads. Semantic, material and texture indices that
overflow their arrays are ignored with a warning. Versions before 1.0 are
refused with an error naming the version.

Where things are: :mod:`~importers.cityjson.source` reads the file or stream,
:mod:`~importers.cityjson.collection` turns objects into rows and flat surface
arrays, :mod:`~importers.cityjson.appearance` bakes materials and textures, and
:func:`importers.surface_layer.build_layer` (shared with CityGML) makes the layer.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from importers import surfaces as sf
from importers.cityjson import collection as _collection
from importers.cityjson.appearance import (
    _bake_colors,
    _bake_textures,
    load_images,
    texture_layout,
)
from importers.cityjson.collection import KNOWN_TYPES, _Collector, _hierarchy_warnings
from importers.cityjson.source import (
    _check_header,
    _gc_paused,
    _open_source,
    _Source,
    _transform,
    _vertex,
)
from importers.errors import ImportCancelled, ImportFailed
from importers.georef import finite_rows, normalize_crs, scene_extent, source_crs, to_local
from importers.surface_layer import SurfaceModel, build_layer
from twin import crs_record
from twin.layer import Layer
from twin.meshing import TriMesh
from twin.scene import Scene
from twin.textures import TextureLayout

Progress = Callable[[int, int], None]

#: Objects whose stream is flushed into numpy arrays at a time (CityJSONSeq);
#: read at each import, so a test can make it small.
FLUSH_OBJECTS = _collection.FLUSH_OBJECTS


MARKER_SIZE = 0.6


LINE_WIDTH = 0.4


def _build_layer(
    c: _Collector,
    source: _Source,
    path: Path,
    scene: Scene,
    src_crs: str,
    declared: Any,
    version: str,
    notes: list[str],
    cancel: threading.Event | None,
) -> Layer:
    c.flush()
    verts_src = np.concatenate(c.vertex_parts) if c.vertex_parts else np.empty((0, 3))
    valid_v = finite_rows(verts_src)
    ops: list = []
    verts = to_local(
        np.where(valid_v[:, None], verts_src, 0.0),
        src_crs,
        scene,
        ops,
        _transform_units(source.header.get("transform")),
        valid_v,
    )
    _extent_check(source.header, verts_src[valid_v], src_crs, ops[-1])
    notes.extend(crs_record.warnings_of(ops))
    valid_v &= finite_rows(verts)
    n_v = len(verts)
    if cancel is not None and cancel.is_set():
        raise ImportCancelled(str(path))

    parts = c.s_parts
    cat = {k: (np.concatenate(v) if v else np.empty(0)) for k, v in parts.items()}
    pv = cat["pv"].astype(np.int64)
    ring_len = cat["ring_len"].astype(np.int64)
    surf_rings = cat["surf_rings"].astype(np.int64)
    s_row = cat["row"].astype(np.int32)
    n_surf = len(surf_rings)
    ring_surf = np.repeat(np.arange(n_surf), surf_rings)
    pt_surf = np.repeat(ring_surf, ring_len)
    bad_pt = (pv < 0) | (pv >= n_v)
    bad_pt[~bad_pt] = ~valid_v[pv[~bad_pt]]
    surface_ok = np.ones(n_surf, dtype=bool)
    if bad_pt.any():
        bad_rows = np.unique(s_row[pt_surf[bad_pt]])
        out_of_range = (pv < 0) | (pv >= n_v)
        oor_rows = set(np.unique(s_row[pt_surf[out_of_range]]).tolist())
        for r in bad_rows.tolist():
            reason = (
                "vertex index out of range (wrong_vertex_index)"
                if r in oor_rows
                else "coordinates not finite or out of range"
            )
            c.problem(f"geometry skipped: {reason}", c.ids[r])
        surface_ok = ~np.isin(s_row, bad_rows)
        pv = np.where(bad_pt, 0, pv)
    del cat["pv"], parts["pv"]

    # Points and lines.
    extra: list[TriMesh] = []
    if c.point_vids:
        vid = np.concatenate(c.point_vids)
        prow = np.concatenate(c.point_rows)
        ok = (vid >= 0) & (vid < n_v)
        ok[ok] = valid_v[vid[ok]]
        for r in np.unique(prow[~ok]).tolist():
            c.problem("point skipped: vertex index out of range", c.ids[r])
        extra.append(sf.point_markers(verts[vid[ok]], prow[ok], MARKER_SIZE))
    if c.seg_a:
        a = np.concatenate(c.seg_a)
        b = np.concatenate(c.seg_b)
        srow = np.concatenate(c.seg_rows)
        ok = (a >= 0) & (a < n_v) & (b >= 0) & (b < n_v)
        ok[ok] = valid_v[a[ok]] & valid_v[b[ok]]
        for r in np.unique(srow[~ok]).tolist():
            c.problem("line skipped: vertex index out of range", c.ids[r])
        extra.append(sf.line_ribbons(verts, a[ok], b[ok], srow[ok], LINE_WIDTH))

    state: dict[str, TextureLayout | None] = {"layout": None}

    def recolor(rgb: np.ndarray, tri: sf.Triangulation, n_extra: int) -> dict[str, Any]:
        """Materials, then textures, over the semantic colours (options)."""
        tri_mat = cat["mat"].astype(np.int32)[tri.tri_surface]
        tri_tex = cat["tex"].astype(np.int32)[tri.tri_surface]
        if c.materials_on and len(tri_mat):
            _bake_colors(c, np.concatenate([tri_mat, np.full(n_extra, -1, np.int32)]), rgb)
        if not c.textures_on:
            return {"textures": "off"}
        point_uv = np.concatenate(parts["uv"]) if parts["uv"] else np.empty(0, np.int64)
        images = load_images(c, path.parent, tri_tex, notes)
        if not images:
            return {"textures": "none in the file"}
        said: list[str] = []
        if c.draw_textures:
            layout = texture_layout(c, images, tri.tris, tri_tex, point_uv)
            state["layout"] = layout
            drawn = 0 if layout is None else sum(img is not None for img in images.values())
            said.append(f"{drawn} of {len(images)} images drawn")
            if layout is not None and layout.clamped:
                notes.append(
                    f"{layout.clamped} textured triangles repeat their image; drawn "
                    "stretched to one copy (the texture atlas cannot tile)"
                )
        if c.bake_textures:
            baked = _bake_textures(c, images, tri.tris, tri_tex, point_uv, rgb)
            said.append(f"{baked} images baked as colours")
        return {"textures": "; ".join(said)}

    link_notes: list[str] = []
    first_parent = _hierarchy_warnings(c, link_notes)
    type_notes: list[str] = []
    if c.unknown_types:
        type_notes.append(
            "unknown CityObject types shown as GenericCityObject: "
            + ", ".join(f"{t} ({n})" for t, n in c.unknown_types.most_common(5))
        )
    if c.unknown_geoms:
        type_notes.append(
            "unsupported geometry types skipped: "
            + ", ".join(f"{t} ({n})" for t, n in c.unknown_geoms.most_common(5))
        )
    model = SurfaceModel(
        path=path,
        points=verts,
        point_index=pv,
        ring_len=ring_len,
        surf_rings=surf_rings,
        surface_ok=surface_ok,
        surf_row=s_row,
        surf_code=cat["code"].astype(np.int16),
        ids=c.ids,
        types=c.types,
        names=[a.get("name") if isinstance(a.get("name"), str) else "" for a in c.attrs],
        attrs=c.attrs,
        obj_lod=c.obj_lod,
        parents=first_parent,
        codes=c.codes,
        known_types=KNOWN_TYPES,
        extra=extra,
        problems=c.problems,
    )
    info: dict[str, Any] = {
        "format": source.kind,
        "version": version,
        "lod": c.lod.want,
        "geometry_counts": dict(sorted(c.geom_counts.items())),
        "surface_types": list(c.codes.names),
        "vertices": int(n_v),
        "crs_declared": None if declared is None else str(declared),
        "textures": "off",
    }
    ext = source.header.get("extensions")
    if isinstance(ext, dict) and ext:
        info["extensions"] = sorted(ext)
    lod_note = (
        f"{c.lod.fallbacks} objects have no LoD {c.lod.want}; used their nearest LoD"
        if c.lod.fallbacks
        else None
    )
    parents, children = c.parents, c.children

    def details(row: int) -> dict[str, dict[str, Any]]:
        links: dict[str, Any] = {}
        if isinstance(parents[row], list):
            links["parents"] = list(parents[row])
        if isinstance(children[row], list):
            links["children"] = list(children[row])
        return {"CityJSON": {"type": c.types[row], "lod": c.obj_lod[row], **links}}

    layer = build_layer(
        model,
        name=_stem(path),
        crs=src_crs,
        info=info,
        notes=notes,
        link_notes=link_notes,
        type_notes=type_notes,
        lod_note=lod_note,
        recolor=recolor,
        texture=lambda _tri: state["layout"],
        details=details,
        cancel=cancel,
    )
    layer.crs_operations = ops
    return layer


def _transform_units(transform: Any) -> tuple[str, ...]:
    """The CityJSON ``transform`` (integer vertices x scale + translate) in words."""
    if not isinstance(transform, dict):
        return ()
    scale, translate = transform.get("scale"), transform.get("translate")
    return (f"vertices: integers x scale {scale} + translate {translate} (CityJSON transform)",)


def _extent_check(header: dict, verts: np.ndarray, crs: str, op: crs_record.CrsOperation) -> None:
    """A warning on the record when the vertices lie far from the file's own
    ``metadata.geographicalExtent``: seen in the wild as a Cape Town model
    placed at 22.5°N without a word. The vertices win; the warning says where
    the file meant to be."""
    metadata = header.get("metadata") if isinstance(header.get("metadata"), dict) else {}
    ext = metadata.get("geographicalExtent")
    data = crs_record.bounds_of(verts[:, :2]) if len(verts) else None
    if data is None or not isinstance(ext, list) or len(ext) != 6:
        return
    try:
        declared = [float(ext[0]), float(ext[1]), float(ext[3]), float(ext[4])]
    except (TypeError, ValueError):
        return
    off = crs_record.extent_mismatch(crs, declared, data)
    if off is not None:
        op.warnings.append(
            f"the vertices lie {off[1]} from the file's own metadata.geographicalExtent; "
            "placed where the vertices say (check the CRS and the transform)"
        )


def _stem(path: Path) -> str:
    name = path.name
    for sfx in (".city.jsonl", ".city.json", ".jsonl", ".json"):
        if name.lower().endswith(sfx):
            return name[: -len(sfx)]
    return path.stem


def read(
    path: Path,
    scene: Scene,
    options: dict[str, Any],
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> list[Layer]:
    """Import a CityJSON file or CityJSONSeq stream as one layer.

    Options
    -------
    lod : ``"highest"`` (default), ``"lowest"``, or a LoD such as ``"2.2"`` or ``1``.
    textures : bake texture colours into ``rgb_default`` (default False).
    draw_textures : keep the texture images (one atlas) and texture coordinates
        for the Textures look (default True); the default colours stay as they are.
    materials : use material diffuse colours (default True, as for CityGML).
    theme : appearance theme to use (default: the first one).
    """
    path = Path(path)
    with _gc_paused():
        return _read(path, scene, options, progress, cancel)


def _read(
    path: Path,
    scene: Scene,
    options: dict[str, Any],
    progress: Progress | None,
    cancel: threading.Event | None,
) -> list[Layer]:
    notes: list[str] = []
    try:
        source = _open_source(path, notes)
    except OSError as exc:
        raise ImportFailed(path, f"cannot be read: {exc.strerror or exc}") from None
    header = source.header
    version = _check_header(header, path, notes)
    metadata = header.get("metadata") if isinstance(header.get("metadata"), dict) else {}
    declared = metadata.get("referenceSystem") or header.get("crs")  # 'crs' is pre-1.0
    src_crs = source_crs(declared, scene, notes)
    c = _Collector(path, header, options, notes, FLUSH_OBJECTS)
    chunks, source.chunks = source.chunks, None
    for done, chunk in enumerate(chunks, start=1):
        if cancel is not None and cancel.is_set():
            raise ImportCancelled(str(path))
        if source.kind == "CityJSONSeq" and chunk is not header:
            _check_feature(chunk, c, notes)
        c.add_chunk(chunk)
        if chunk is header:  # keep metadata; free the geometry once it is collected
            for key in ("CityObjects", "vertices", "appearance"):
                header.pop(key, None)
        if progress is not None and done % 1000 == 0:
            progress(min(done, source.total), source.total + 1)
    layer = _build_layer(c, source, path, scene, src_crs, declared, version, notes, cancel)
    if progress is not None:
        progress(source.total + 1, source.total + 1)
    return [layer]


def _check_feature(feat: dict, c: _Collector, notes: list[str]) -> None:
    objects = feat.get("CityObjects")
    root = feat.get("id")
    if isinstance(objects, dict) and root is not None and root not in objects:
        notes.append(f"CityJSONFeature id {root!r} matches none of its CityObjects")


def extent(path: Path) -> tuple[str | None, tuple[float, float, float, float]]:
    """Declared CRS (horizontal part) and the x/y bounds of the vertices."""
    path = Path(path)
    notes: list[str] = []
    source = _open_source(path, notes)
    header = source.header
    _check_header(header, path, notes)
    metadata = header.get("metadata") if isinstance(header.get("metadata"), dict) else {}
    try:
        crs = normalize_crs(metadata.get("referenceSystem") or header.get("crs"))
    except ValueError as exc:
        raise ImportFailed(path, str(exc)) from None
    scale, translate = _transform(header.get("transform"), path)
    lo = np.full(2, np.inf)
    hi = np.full(2, -np.inf)
    for chunk in source.chunks:
        verts = chunk.get("vertices") if isinstance(chunk, dict) else None
        if not verts:
            continue
        arr = np.array([_vertex(v) for v in verts], dtype=np.float64) * scale + translate
        arr = arr[finite_rows(arr)]
        if len(arr):
            lo = np.minimum(lo, arr[:, :2].min(axis=0))
            hi = np.maximum(hi, arr[:, :2].max(axis=0))
    if not np.all(np.isfinite(lo)):
        extent_md = metadata.get("geographicalExtent")
        if isinstance(extent_md, list) and len(extent_md) == 6:
            return scene_extent(crs, (extent_md[0], extent_md[1], extent_md[3], extent_md[4]))
        raise ImportFailed(path, "has no vertices with usable coordinates")
    return scene_extent(crs, (float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1])))
