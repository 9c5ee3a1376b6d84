"""The one build tail of the surface city models (CityGML and CityJSON).

Each reader gathers objects, rings and attributes its own way; from flat ring
arrays in scene-local metres onwards the work is the same: triangulate, drop
degenerate surfaces, add lines and point markers, compact, colour by type and
semantic surface, bound each object, turn attributes into columns, write the
warnings and the type tree, make the :class:`~twin.layer.Layer`. Keeping it in one
place keeps the two formats from drifting apart.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from importers import surfaces as sf
from importers.errors import ImportCancelled
from twin.features import FeatureTable, feature_bounds
from twin.layer import Layer
from twin.meshing import TriMesh
from twin.style import Style
from twin.textures import TextureLayout, textured_polydata

MAX_COLUMNS = 500

#: ``recolor(rgb, triangulation, n_extra)`` paints materials or textures over the
#: default colours of the surface triangles in place, and returns facts for the
#: layer info (e.g. how many textures were used).
Recolor = Callable[[np.ndarray, sf.Triangulation, int], dict[str, Any]]


@dataclass
class SurfaceModel:
    """What a reader hands over: objects (one row each) and their surfaces as
    flat ring arrays over scene-local ``points``.

    point_index : (k,) int64, the ``points`` row of every ring point.
    ring_len : (r,) int64 points per ring; surf_rings : (s,) rings per surface.
    surface_ok : (s,) bool, surfaces to triangulate (False: already reported).
    surf_row : (s,) object row; surf_code : (s,) semantic code (0 = none).
    extra : lines and point markers, their ``feature`` the object row.
    parents : the first parent id of each object ("" when none).
    problems : ``{reason: [object ids]}``, reported one warning per reason.
    """

    path: Path
    points: np.ndarray
    point_index: np.ndarray
    ring_len: np.ndarray
    surf_rings: np.ndarray
    surface_ok: np.ndarray
    surf_row: np.ndarray
    surf_code: np.ndarray
    ids: list[str]
    types: list[str]
    names: list[str]
    attrs: list[dict[str, Any]]
    obj_lod: list[str]
    parents: list[str]
    codes: sf.SurfaceCodes
    known_types: Collection[str]
    extra: list[TriMesh] = field(default_factory=list)
    problems: dict[str, list[str]] = field(default_factory=dict)


def attribute_columns(
    attrs: list[dict[str, Any]], notes: list[str], max_columns: int = MAX_COLUMNS
) -> dict[str, np.ndarray]:
    """One column per attribute name (the first ``max_columns``): float64 when
    every present value is an int or float that fits, else objects as given.

    Empty or missing attribute sets add no names; an integer too large for a
    float (``OverflowError``) keeps its column exact, as objects.
    """
    keys: dict[str, None] = {}
    for a in attrs:
        if a:
            keys.update(dict.fromkeys(a))
    if len(keys) > max_columns:
        notes.append(f"{len(keys)} attribute names; kept the first {max_columns} as columns")
    out: dict[str, np.ndarray] = {}
    for key in list(keys)[:max_columns]:
        col = [a.get(key) if a else None for a in attrs]
        kinds = set(map(type, col))
        if kinds <= {int, float, type(None)} and kinds - {type(None)}:
            try:
                out[key] = np.array(col, dtype=np.float64)
                continue
            except OverflowError:
                pass
        arr = np.empty(len(col), dtype=object)
        arr[:] = col
        out[key] = arr
    return out


def build_layer(
    m: SurfaceModel,
    *,
    name: str,
    crs: str | None,
    info: dict[str, Any],
    notes: list[str],
    link_notes: Sequence[str] = (),
    type_notes: Sequence[str] = (),
    lod_note: str | None = None,
    recolor: Recolor | None = None,
    texture: Callable[[sf.Triangulation], TextureLayout | None] | None = None,
    details: Callable[[int], dict[str, dict[str, Any]]] | None = None,
    cancel: threading.Event | None = None,
) -> Layer:
    """Triangulate ``m`` and make its layer.

    ``info`` is the format's facts after ``format``/``version``/``lod``; the
    counts of objects and LoDs are added here. Warnings go to ``notes`` in a fixed
    order: dropped surfaces, ``link_notes``, attribute columns, ``type_notes``,
    ``m.problems``, ``lod_note``, missing geometry.
    """
    path = m.path
    n_obj = len(m.ids)
    tri = sf.triangulate_batches(m.points, m.point_index, m.ring_len, m.surf_rings, m.surface_ok)
    if tri.dropped.any():
        dropped_ids = dict.fromkeys(m.ids[r] for r in m.surf_row[tri.dropped])
        notes.append(
            f"{int(tri.dropped.sum())} degenerate surfaces dropped (fewer than 3 distinct "
            f"points or zero area; objects: {sf.sample_ids(dropped_ids)})"
        )
    if cancel is not None and cancel.is_set():
        raise ImportCancelled(str(path))
    tri_v = m.point_index[tri.tris] if len(tri.tris) else np.empty((0, 3), np.int64)
    main = TriMesh(m.points, tri_v, m.surf_row[tri.tri_surface].astype(np.int32))
    mesh = TriMesh.concat([main, *m.extra]) if m.extra else main
    n_extra = len(mesh.triangles) - len(tri_v)
    mesh = sf.compact(mesh) if len(mesh.triangles) else TriMesh.empty()

    # Per triangle: semantic code, then the default colour (type, else surface).
    tri_code = m.surf_code.astype(np.int16)[tri.tri_surface]
    code = np.concatenate([tri_code, np.zeros(n_extra, np.int16)])
    type_rgb = sf.type_colors(m.types) if n_obj else np.empty((0, 3), np.uint8)
    rgb = type_rgb[mesh.feature] if len(mesh.feature) else np.empty((0, 3), np.uint8)
    rgb = np.asarray(rgb, dtype=np.uint8)
    has_code = code > 0
    rgb[has_code] = m.codes.colors()[code[has_code]]
    painted = recolor(rgb, tri, n_extra) if recolor is not None else {}
    # Appearance textures (called after recolor, which reads the images): one
    # atlas, points split per texture coordinate; cells keep their order.
    layout = texture(tri) if texture is not None and len(mesh.triangles) else None
    poly = mesh.to_polydata() if layout is None else textured_polydata(mesh, layout)
    if len(mesh.triangles):
        poly.cell_data["surface"] = code.astype(np.int16)
        poly.cell_data["rgb_default"] = rgb.astype(np.uint8)

    # Feature table.
    if len(mesh.triangles):
        bounds = feature_bounds(
            mesh.points[mesh.triangles.ravel()], np.repeat(mesh.feature, 3), n_obj
        )
    else:
        bounds = np.full((n_obj, 6), np.nan)
    notes.extend(link_notes)
    columns = sf.add_object_columns(
        attribute_columns(m.attrs, notes), m.types, m.obj_lod, m.parents
    )
    classes = np.array(
        [t if t in m.known_types else "GenericCityObject" for t in m.types], dtype=object
    )
    table = (
        FeatureTable(
            np.array(m.ids, dtype=object),
            classes,
            np.array(m.names, dtype=object),
            bounds,
            columns,
        )
        if n_obj
        else FeatureTable.empty()
    )

    notes.extend(type_notes)
    for reason, oids in m.problems.items():
        uniq = list(dict.fromkeys(oids))
        notes.append(f"{len(uniq)} objects: {reason} (ids: {sf.sample_ids(uniq)})")
    if lod_note:
        notes.append(lod_note)
    if n_obj and not len(mesh.triangles):
        notes.append("no drawable geometry (objects are listed without a mesh)")

    counts = Counter(m.types)
    head = {k: info[k] for k in ("format", "version", "lod") if k in info}
    layer_info: dict[str, Any] = {
        **head,
        "lod_used": dict(sorted(Counter(lod for lod in m.obj_lod if lod).items())),
        "object_counts": dict(sorted(counts.items())),
        **{k: v for k, v in info.items() if k not in head},
    }
    layer_info.update(painted)
    kind = (
        "buildings"
        if counts and counts.most_common(1)[0][0].startswith("Building")
        else "citymodel"
    )
    return Layer(
        name=name,
        mesh=poly,
        features=table,
        kind=kind,
        style=Style(mode="native"),
        warnings=notes,
        source=path,
        crs=crs,
        details=details,
        tree=sf.type_tree(path.name, m.types),
        info=layer_info,
    )
