"""glTF/GLB (and PLY/STL) through trimesh: header and budget checks before any
buffer is decoded, then geometries, node transforms and per-face colours from
materials, textures and vertex colours.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from importers.errors import ImportFailed
from importers.mesh.common import (
    FORMAT_NAMES,
    MeshOptions,
    SafeResolver,
    _Geometry,
    _image_array,
    _Model,
    _neutral,
    _Node,
    _one_line,
    _rgba,
    _sample,
)


def _check_gltf_header(path: Path) -> dict:
    """A clear error for files that are not glTF 2.0 at all, before decoding."""
    with path.open("rb") as f:
        head = f.read(12)
    if path.suffix.lower() == ".glb":
        if head[:4] != b"glTF":
            raise ImportFailed(path, "is not a GLB file (no 'glTF' magic bytes)")
        version = struct.unpack("<I", head[4:8])[0] if len(head) >= 8 else 0
        if version != 2:
            raise ImportFailed(path, f"is GLB version {version}; only glTF 2.0 is supported")
    doc = _gltf_header(path)
    if doc is None:
        what = "its JSON chunk is unreadable" if path.suffix.lower() == ".glb" else "is not JSON"
        raise ImportFailed(path, f"is not a valid glTF file: {what}")
    asset = doc.get("asset")
    version = str(asset.get("version", "")) if isinstance(asset, dict) else ""
    if not version.startswith("2"):
        found = f"version {version!r}" if version else "no asset version"
        raise ImportFailed(path, f"is not glTF 2.0 ({found}); only glTF 2.0 is supported")
    required = doc.get("extensionsRequired")
    required = set(required) if isinstance(required, list) else set()
    if "KHR_draco_mesh_compression" in required:
        try:
            import DracoPy  # noqa: F401  (trimesh decodes Draco with it)
        except ImportError:
            raise ImportFailed(
                path,
                "is Draco-compressed (KHR_draco_mesh_compression) and DracoPy is not "
                "installed; export it without Draco compression",
            ) from None
    if "EXT_meshopt_compression" in required:
        raise ImportFailed(
            path, "uses EXT_meshopt_compression, which cannot be decoded; export without it"
        )
    return doc


def _gltf_header(path: Path) -> dict | None:
    """The glTF JSON (``.gltf`` whole, ``.glb`` first chunk) or None when unreadable."""
    try:
        with path.open("rb") as f:
            if path.suffix.lower() == ".glb":
                head = f.read(20)
                if len(head) < 20 or head[:4] != b"glTF":
                    return None
                length, kind = struct.unpack("<II", head[12:20])
                if kind != 0x4E4F534A or length > 256 * 1024**2:
                    return None
                data = f.read(length)
            else:
                data = f.read()
        doc = json.loads(data)
    except (OSError, ValueError, RecursionError, struct.error):
        return None
    return doc if isinstance(doc, dict) else None


def _check_gltf_budget(path: Path, doc: dict, opts: MeshOptions) -> None:
    """Refuse a glTF whose declared triangles (node instances x primitive indices)
    exceed the budget, before any buffer is decoded."""
    try:
        accessors = doc.get("accessors") or []
        per_mesh = []
        for mesh in doc.get("meshes") or []:
            n = 0
            for prim in mesh.get("primitives") or []:
                if prim.get("mode", 4) not in (4, 5, 6):
                    continue
                acc = prim.get("indices")
                if acc is None:
                    acc = (prim.get("attributes") or {}).get("POSITION")
                if isinstance(acc, int) and 0 <= acc < len(accessors):
                    n += int(accessors[acc].get("count", 0)) // 3
            per_mesh.append(n)
        total = sum(
            per_mesh[node["mesh"]]
            for node in doc.get("nodes") or []
            if isinstance(node, dict)
            and isinstance(node.get("mesh"), int)
            and 0 <= node["mesh"] < len(per_mesh)
        )
    except (AttributeError, TypeError, ValueError, KeyError):
        return  # malformed: the decoder will say what is wrong
    if total > opts.max_triangles:
        raise ImportFailed(
            path,
            f"declares {total:,} triangles, over the budget of {opts.max_triangles:,} "
            "(option max_triangles)",
        )


def _read_trimesh(path: Path, suffix: str, doc: dict | None) -> _Model:
    import trimesh

    resolver = SafeResolver(path.parent)
    fmt = FORMAT_NAMES[suffix]
    kwargs: dict[str, Any] = {"process": False}
    if suffix in (".gltf", ".glb"):
        kwargs["merge_primitives"] = True
    try:
        with path.open("rb") as f:
            loaded = trimesh.load_scene(
                f,
                file_type=suffix[1:],
                resolver=resolver.trimesh_resolver(),
                **kwargs,
            )
    except MemoryError:
        raise ImportFailed(path, "is too large to decode in memory") from None
    except Exception as exc:  # trimesh raises many types for damaged files
        if resolver.refused:
            raise ImportFailed(
                path,
                f"refers to {resolver.refused[0]!r}, outside its folder or a URL; not read",
            ) from None
        if resolver.missing:
            raise ImportFailed(path, f"its side file {resolver.missing[0]!r} is missing") from None
        raise ImportFailed(path, f"cannot be read as {fmt}: {_one_line(exc)}") from None
    notes = resolver.summary()
    geometries: list[_Geometry] = []
    index: dict[str, int] = {}
    skipped: list[str] = []
    bad_colors: list[str] = []
    textures: dict[int, np.ndarray | None] = {}  # id(PIL image) -> sampled copy
    for gname, geom in loaded.geometry.items():
        if not isinstance(geom, trimesh.Trimesh):
            skipped.append(f"{gname} ({type(geom).__name__})")
            continue
        faces = np.asarray(geom.faces, dtype=np.int64).reshape(-1, 3)
        vertices = np.asarray(geom.vertices, dtype=np.float64).reshape(-1, 3)
        try:
            rgba = _face_colors(geom, faces, textures)
        except Exception:  # a damaged material must not cost the geometry
            bad_colors.append(gname)
            rgba = _neutral(len(faces))
        index[gname] = len(geometries)
        geometries.append(_Geometry(str(gname), vertices, faces, rgba))
    if skipped:
        notes.append(
            f"{len(skipped)} geometries without triangles skipped (points or lines): "
            f"{_sample(skipped)}"
        )
    if bad_colors:
        notes.append(f"materials of {_sample(bad_colors)} unreadable; drawn in grey")
    nodes: list[_Node] = []
    graph = loaded.graph
    try:
        for node_name in graph.nodes_geometry:
            transform, gname = graph[node_name]
            if gname in index:
                matrix = np.asarray(transform, dtype=np.float64).reshape(4, 4)
                nodes.append(_Node(str(node_name), index[gname], matrix, "node"))
    except Exception as exc:  # cycles and dangling links in the node tree
        raise ImportFailed(path, f"its node hierarchy is broken: {_one_line(exc)}") from None
    info: dict[str, Any] = {"format": fmt}
    if suffix in (".gltf", ".glb"):
        doc = doc or {}
        nodes.sort(key=_gltf_order(doc))
        asset = doc.get("asset") if isinstance(doc.get("asset"), dict) else {}
        if asset.get("generator"):
            info["generator"] = str(asset["generator"])
    return _Model(geometries, nodes, fmt, notes, info)


def _gltf_order(doc: dict) -> Callable[[_Node], int]:
    """Sort key putting nodes in the file's order (trimesh walks the tree from the
    end); names are made unique the way trimesh's loader makes them."""
    from trimesh.util import unique_name

    index: dict[str, int] = {}
    counts: dict[str, int] = {}
    raw = doc.get("nodes") if isinstance(doc.get("nodes"), list) else []
    for i, node in enumerate(raw):
        name = node.get("name", str(i)) if isinstance(node, dict) else str(i)
        index[unique_name(str(name), index, counts=counts)] = i
    return lambda node: index.get(node.name, len(index))


def _material(
    mat: Any, textures: dict[int, np.ndarray | None]
) -> tuple[np.ndarray | None, np.ndarray | None, bool]:
    """(factor rgba, texture rgb array, see-through) of a trimesh material; each
    texture image is converted once per file (``textures``, by object id)."""
    factor = _rgba(getattr(mat, "baseColorFactor", None))
    texture = getattr(mat, "baseColorTexture", None)
    blend = str(getattr(mat, "alphaMode", "") or "").upper() == "BLEND"
    if factor is None and texture is None:  # SimpleMaterial (OBJ-style)
        factor = _rgba(getattr(mat, "diffuse", None))
        texture = getattr(mat, "image", None)
        blend = factor is not None and factor[3] < 255
    if texture is None:
        return factor, None, blend
    if id(texture) not in textures:
        textures[id(texture)] = _image_array(texture)
    return factor, textures[id(texture)], blend


def _sample_texture(img: np.ndarray, uv: np.ndarray) -> np.ndarray:
    """(k, 3) uint8 texture colours at (k, 2) uv (wrapped, v up)."""
    h, w = img.shape[:2]
    u = np.mod(np.nan_to_num(uv[:, 0]), 1.0)
    v = np.mod(np.nan_to_num(uv[:, 1]), 1.0)
    px = np.clip((u * w).astype(np.int64), 0, w - 1)
    py = np.clip(((1.0 - v) * h).astype(np.int64), 0, h - 1)
    return img[py, px]


def _material_colors(
    mat: Any,
    faces: np.ndarray,
    uv: np.ndarray | None,
    n_vertices: int,
    textures: dict[int, np.ndarray | None],
) -> np.ndarray:
    """(m, 4) uint8 colour per face from one material: base colour factor times
    the texture sampled at each triangle's centroid (mean texture colour when the
    mesh has no texture coordinates)."""
    factor, img, blend = _material(mat, textures)
    out = _neutral(len(faces))
    if factor is not None:
        out[:] = factor
    if img is not None:
        if uv is not None and len(uv) == n_vertices and len(faces):
            tex = _sample_texture(img, uv[faces].mean(axis=1))
        else:
            tex = np.broadcast_to(img.reshape(-1, 3).mean(axis=0), (len(faces), 3))
        scale = (factor[:3] / 255.0) if factor is not None else np.ones(3)
        out[:, :3] = np.clip(tex * scale, 0, 255).astype(np.uint8)
    if not blend:
        out[:, 3] = 255
    return out


def _face_colors(
    geom: Any, faces: np.ndarray, textures: dict[int, np.ndarray | None]
) -> np.ndarray:
    """(m, 4) uint8 per face: vertex or face colours, else the material(s), else grey."""
    from trimesh.visual.color import ColorVisuals
    from trimesh.visual.material import MultiMaterial

    vis = geom.visual
    n_v = len(geom.vertices)
    if isinstance(vis, ColorVisuals):
        kind = vis.kind
        if kind == "face":
            return np.asarray(vis.face_colors, dtype=np.uint8)[:, :4].reshape(-1, 4)
        if kind == "vertex":
            vc = np.asarray(vis.vertex_colors, dtype=np.float64)[:, :4]
            if len(vc) == n_v and len(faces):
                return np.round(vc[faces].mean(axis=1)).astype(np.uint8)
        return _neutral(len(faces))
    mat = getattr(vis, "material", None)
    if mat is None:
        return _neutral(len(faces))
    uv = getattr(vis, "uv", None)
    uv = None if uv is None else np.asarray(uv, dtype=np.float64).reshape(-1, 2)
    if isinstance(mat, MultiMaterial):
        fm = getattr(vis, "face_materials", None)
        out = _neutral(len(faces))
        if fm is None or len(fm) != len(faces):
            return out
        fm = np.asarray(fm, dtype=np.int64)
        for i, sub in enumerate(mat.materials):
            sel = np.flatnonzero(fm == i)
            if len(sel):
                out[sel] = _material_colors(sub, faces[sel], None, n_v, textures)
        return out
    return _material_colors(mat, faces, uv, n_v, textures)
