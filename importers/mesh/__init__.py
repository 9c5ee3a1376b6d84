"""Triangle meshes from architects' and modellers' tools: glTF/GLB, OBJ, PLY, STL.

One file becomes one layer: a merged triangle mesh whose cells carry their
feature row (``feature``) and a per-triangle colour (``rgb_default``, drawn by the
``native`` style), plus a feature table with one row per scene-graph node (glTF
node, OBJ object/group; PLY and STL hold one mesh, so one row).

Axes and units. The scene is Z-up in metres. glTF is Y-up in metres by its
specification. OBJ has neither, but Blender, SketchUp, 3ds Max and Revit all
export it Y-up by default, so OBJ defaults to Y-up; PLY and STL come from
scanning, photogrammetry and CAD, which are Z-up, so they default to Z-up. Files
in centimetres or millimetres are common and undetectable, so the unit is an
option (``unit``: metres per file unit) and a model that is kilometres across
gets a warning suggesting it. Y-up becomes Z-up by a +90 degree turn about X:
``(x, y, z) -> (x, -z, y)``, the glTF-to-Blender convention (the model's
forward -Z becomes +Y, north).

Placement. Meshes carry no georeferencing. ``at = [E, N, H, rotation_deg]``
puts the model origin at E, N, H of the scene CRS and turns it counter-clockwise
by ``rotation_deg`` (as the IFC importer's ``at``); ``at = [0, 0]`` therefore
reads a file whose coordinates already are scene-CRS coordinates. Without
``at``, the model origin goes to the scene origin, with a warning; a model whose
centre is more than 1 km from its own origin is centred there instead.

How it is fast: glTF/GLB, PLY and STL are decoded by trimesh; each distinct mesh
is then placed by all of its node transforms in one ``einsum`` (instancing costs
no re-triangulation), and the layer is one concatenation. OBJ is read by a small
parser of our own, because trimesh's OBJ loader does not keep object and group
names apart from materials; faces are fan-triangulated with numpy.

Bad input: empty, truncated or garbage files and missing buffers fail with one
line naming the file and the problem; missing .mtl or texture files, faces that
point at missing vertices and NaN/Inf coordinates load what is usable with a
warning. Side files are only read from the model's folder and below: a ``uri``
or ``mtllib`` that is absolute, contains ``..`` out of the folder, or is a URL
is refused (never fetched). ``max_triangles`` bounds the work: a file over it
is refused before its geometry is built.

Where things are: :mod:`~importers.mesh.common` (options, limits, side files, the
model), :mod:`~importers.mesh.gltf` (glTF/GLB, PLY, STL via trimesh),
:mod:`~importers.mesh.obj` and :mod:`~importers.mesh.placement`; this module
reads a file into one layer.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np

from importers.errors import ImportCancelled, ImportFailed
from importers.mesh.common import (
    BYTES_PER_TRIANGLE,
    DEFAULT_MAX_TRIANGLES,
    MAX_FILE_BYTES,
    SUFFIXES,
    MeshOptions,
    Progress,
    SafeResolver,
    _Model,
    _one_line,
)
from importers.mesh.gltf import _check_gltf_budget, _check_gltf_header, _read_trimesh
from importers.mesh.obj import _read_obj
from importers.mesh.placement import _build, _clean, _instance_bounds, _model_matrix, _placement
from twin import crs_record

__all__ = [
    "DEFAULT_MAX_TRIANGLES",
    "SUFFIXES",
    "MeshOptions",
    "Progress",
    "SafeResolver",
    "extent",
    "read",
]


def _precheck(path: Path) -> int:
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ImportFailed(path, f"cannot be read: {_one_line(exc)}") from None
    if size == 0:
        raise ImportFailed(path, "is empty")
    if size > MAX_FILE_BYTES:
        raise ImportFailed(
            path, f"is {size / 1024**3:.1f} GB, over the {MAX_FILE_BYTES / 1024**3:.0f} GB limit"
        )
    return size


def _load(path: Path, opts: MeshOptions, cancel: threading.Event | None) -> _Model:
    suffix = path.suffix.lower()
    size = _precheck(path)
    if suffix in (".gltf", ".glb"):
        doc = _check_gltf_header(path)
        _check_gltf_budget(path, doc, opts)
        return _read_trimesh(path, suffix, doc)
    # Without instancing a file cannot hold many more triangles than its bytes
    # allow; refuse one far over the budget before decoding it whole.
    limit = opts.max_triangles * BYTES_PER_TRIANGLE + 64 * 1024**2
    if size > limit:
        raise ImportFailed(
            path,
            f"is {size / 1024**2:,.0f} MB, more than {opts.max_triangles:,} triangles "
            "need (option max_triangles)",
        )
    if suffix == ".obj":
        return _read_obj(path, opts, cancel)
    return _read_trimesh(path, suffix, None)


def read(
    path: Path,
    scene: Any,
    options: dict[str, Any],
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> list:
    """Import a glTF/GLB/OBJ/PLY/STL file as one layer (module doc).

    Options
    -------
    up : ``"y"`` or ``"z"`` (default: ``y`` for glTF/GLB/OBJ, ``z`` for PLY/STL).
    unit : metres per file unit (default 1; glTF is metres by specification).
    at : ``[E, N, H, rotation_deg]``, the model origin in the scene CRS and a
        counter-clockwise turn; without it the model sits at the scene origin.
    max_triangles : triangle budget after instancing (default 5,000,000).
    """
    from twin.features import FeatureTable, feature_bounds
    from twin.layer import Layer, TreeNode
    from twin.meshing import TriMesh
    from twin.style import NATIVE_OPACITY_ARRAY, Style

    path = Path(path)
    suffix = path.suffix.lower()
    try:
        opts = MeshOptions.from_mapping(options, suffix)
    except ValueError as exc:
        raise ImportFailed(path, str(exc)) from None
    if progress is not None:
        progress(0, 100)
    model = _load(path, opts, cancel)
    notes = list(model.notes)
    if cancel is not None and cancel.is_set():
        raise ImportCancelled(str(path))
    if progress is not None:
        progress(50, 100)
    if not model.nodes:
        raise ImportFailed(path, f"contains no triangle geometry ({model.format})")
    clean = _clean(model, notes)
    to_local, facts = _placement(model, clean, opts, scene, notes)
    ops = [_crs_record(opts, facts, scene)]
    notes.extend(crs_record.warnings_of(ops))
    built = _build(model, clean, to_local, opts, path, notes, progress, cancel)
    if built is None:
        raise ImportFailed(path, "has no usable triangles (all were empty or broken)")
    points, tris, feature, rgba = built
    n = len(model.nodes)
    mesh = TriMesh(points, tris, feature).to_polydata()
    mesh.cell_data["rgb_default"] = np.ascontiguousarray(rgba[:, :3])
    if (rgba[:, 3] < 255).any():
        mesh.cell_data[NATIVE_OPACITY_ARRAY] = (rgba[:, 3] / 255.0).astype(np.float32)
    tri_count = np.bincount(feature, minlength=n).astype(np.float64)
    ids = np.array([node.name for node in model.nodes], dtype=object)
    geom_names = np.array([model.geometries[nd.geometry].name for nd in model.nodes], dtype=object)
    # trimesh names an unnamed glTF node by its index: show its mesh's name instead.
    names = np.where([nd.name.isdigit() for nd in model.nodes], geom_names, ids).astype(object)
    classes = (
        geom_names.copy()
        if model.format in ("glTF", "GLB")
        else np.array([f"{model.format} {nd.kind}" for nd in model.nodes], dtype=object)
    )
    if len(tris):
        fb = feature_bounds(points[tris.ravel()], np.repeat(feature, 3), n)
    else:
        fb = np.full((n, 6), np.nan)
    table = FeatureTable(
        ids,
        classes,
        names,
        fb,
        {"mesh": geom_names, "triangles": tri_count},
    )
    empty = int(np.count_nonzero(tri_count == 0))
    if empty:
        notes.append(f"{empty} nodes have no usable triangles (listed without a mesh)")
    instanced = sum(1 for c in np.bincount([nd.geometry for nd in model.nodes]) if c > 1)
    info: dict[str, Any] = {
        **model.info,
        "up_axis": opts.up,
        "unit_m": opts.unit,
        "placement": facts,
        "nodes": n,
        "meshes": len({nd.geometry for nd in model.nodes}),
        "instanced_meshes": int(instanced),
        "triangles": len(tris),
    }
    if progress is not None:
        progress(100, 100)
    return [
        Layer(
            name=path.stem,
            mesh=mesh,
            features=table,
            kind="mesh",
            style=Style(mode="native"),
            warnings=notes,
            source=path,
            crs=None,
            info=info,
            crs_operations=ops,
            tree=TreeNode(name=path.name, kind="model", rows=list(range(n)))
            if model.format not in ("glTF", "GLB")
            else _mesh_tree(path.name, list(geom_names)),
        )
    ]


def _crs_record(opts: MeshOptions, facts: dict[str, Any], scene: Any):
    """Meshes carry no CRS: the record holds their unit and axis conversion and
    the placement in the scene CRS (its point checked against the area of use)."""
    at = facts.get("at")
    units = [f"file unit x{opts.unit:g} to metres"]
    if opts.up == "y":
        units.append("axes: Y-up turned to Z-up (x, -z, y)")
    place = ""
    if at is not None:
        e, n, h, rot = (float(v) for v in at)
        place = f": E {e:.3f}, N {n:.3f}, H {h:.3f}, rotation {rot:g}°"
    units.append(str(facts.get("method")) + place)
    return crs_record.record_transform(
        scene.crs,
        scene.crs,
        None if at is None else (at[0], at[1], at[0], at[1]),
        origin=scene.origin,
        step=str(facts.get("method")),
        units=units,
    )


def _mesh_tree(name: str, meshes: list[str]):
    """A glTF's tree: one node per mesh, holding the feature rows (nodes) that
    show it, so every instance of a tree or a lamp post toggles at once."""
    from twin.layer import TreeNode

    by_mesh: dict[str, list[int]] = {}
    for row, mesh in enumerate(meshes):
        by_mesh.setdefault(mesh, []).append(row)
    children = [TreeNode(name=m, kind="mesh", rows=r) for m, r in by_mesh.items()]
    return TreeNode(name=name, kind="model", children=children)


def extent(path: Path) -> tuple[str | None, tuple[float, float, float, float]]:
    """``(None, (xmin, ymin, xmax, ymax))``: meshes declare no CRS; the bounds are
    the model's in metres, Z-up (default axes and unit of its format), from the
    placed bounding boxes of its meshes, without building the layer."""
    path = Path(path)
    opts = MeshOptions.from_mapping({}, path.suffix.lower())
    model = _load(path, opts, None)
    bounds = _instance_bounds(model, _clean(model, []), _model_matrix(opts))
    if bounds is None:
        raise ImportFailed(path, f"contains no triangle geometry ({model.format})")
    return None, (
        float(bounds[0, 0]),
        float(bounds[0, 1]),
        float(bounds[1, 0]),
        float(bounds[1, 1]),
    )
