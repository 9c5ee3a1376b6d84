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
"""

from __future__ import annotations

import contextlib
import json
import math
import re
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import numpy as np

from importers.errors import ImportCancelled, ImportFailed

Progress = Callable[[int, int], None]

SUFFIXES = (".gltf", ".glb", ".obj", ".ply", ".stl")
#: Default triangle budget of one file (after instancing); a layer of this size
#: still renders interactively on a laptop GPU.
DEFAULT_MAX_TRIANGLES = 5_000_000
#: OBJ/PLY/STL bytes per triangle that a file within the triangle budget can need
#: (binary STL uses 50, a textured OBJ with normals about 120).
BYTES_PER_TRIANGLE = 400
#: Files larger than this are refused before reading (the decoder holds them whole).
MAX_FILE_BYTES = 4 * 1024**3
#: Coordinates beyond this (m) are corrupt (importers.georef.MAX_ABS_COORD).
MAX_ABS_COORD = 1e8
#: Texture images larger than this (decoded pixels) are not sampled (pixel bombs).
MAX_TEXTURE_PIXELS = 64_000_000
#: Textures are sampled from a copy at most this many pixels on a side.
TEXTURE_SAMPLE_SIZE = 512
NEUTRAL_RGB = (200, 200, 200)
#: A model centred further than this (m) from its own origin is centred at the
#: scene origin when no ``at`` is given (the IFC importer's rule).
FAR_FROM_ORIGIN = 1000.0
#: A model larger than this (m) after unit scaling probably has the wrong unit.
SUSPICIOUS_SIZE = 5000.0
DEFAULT_UP = {".gltf": "y", ".glb": "y", ".obj": "y", ".ply": "z", ".stl": "z"}
FORMAT_NAMES = {".gltf": "glTF", ".glb": "GLB", ".obj": "OBJ", ".ply": "PLY", ".stl": "STL"}
#: Y-up -> Z-up: (x, y, z) -> (x, -z, y).
Y_UP_TO_Z_UP = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])


# -- options ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class MeshOptions:
    """Options of one mesh import (scene-file ``options`` table, CLI).

    Attributes
    ----------
    up : ``"y"`` or ``"z"``, the file's up axis (default by format, module doc).
    unit : metres per file unit (0.001 for millimetres), > 0.
    at : ``(E, N, H, rotation_deg)`` of the model origin in the scene CRS, or None.
    max_triangles : triangle budget after instancing; a larger file is refused.
    """

    up: str = "z"
    unit: float = 1.0
    at: tuple[float, float, float, float] | None = None
    max_triangles: int = DEFAULT_MAX_TRIANGLES
    explicit: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def from_mapping(cls, options: dict[str, Any] | None, suffix: str) -> MeshOptions:
        """Validate an option mapping; a bad key or value raises ValueError with one line."""
        opts = dict(options or {})
        for shared in ("layer", "kind", "name"):
            opts.pop(shared, None)
        known = sorted(f.name for f in fields(cls) if f.name != "explicit")
        unknown = sorted(set(opts) - set(known))
        if unknown:
            raise ValueError(
                f"unknown mesh option(s) {', '.join(unknown)}; known: {', '.join(known)}"
            )
        kw: dict[str, Any] = {"up": DEFAULT_UP.get(suffix, "z")}
        if "up" in opts:
            up = opts["up"]
            if not isinstance(up, str) or up.lower() not in ("y", "z"):
                raise ValueError(f'option \'up\' must be "y" or "z", got {up!r}')
            kw["up"] = up.lower()
        if "unit" in opts:
            unit = opts["unit"]
            if (
                isinstance(unit, bool)
                or not isinstance(unit, int | float)
                or not math.isfinite(unit)
                or not 1e-6 <= unit <= 1e6
            ):
                raise ValueError(
                    f"option 'unit' must be metres per file unit (e.g. 0.001), got {unit!r}"
                )
            kw["unit"] = float(unit)
        if opts.get("at") is not None:
            kw["at"] = _at(opts["at"])
        if "max_triangles" in opts:
            n = opts["max_triangles"]
            if isinstance(n, bool) or not isinstance(n, int | float) or int(n) != n or n < 1:
                raise ValueError(f"option 'max_triangles' must be a whole number >= 1, got {n!r}")
            kw["max_triangles"] = int(n)
        return cls(**kw, explicit=frozenset(opts))


def _at(value: Any) -> tuple[float, float, float, float]:
    """``E,N[,H[,rotation]]`` as a list or a comma-separated string (``--at``)."""
    bad = f"option 'at' must be E,N[,H[,rotation_deg]] (finite numbers), got {value!r}"
    if isinstance(value, str):
        value = [v for v in value.split(",") if v.strip()]
    try:
        nums = [float(v) for v in value]
    except (TypeError, ValueError):
        raise ValueError(bad) from None
    if not 2 <= len(nums) <= 4 or not all(math.isfinite(v) and abs(v) < 1e9 for v in nums):
        raise ValueError(bad)
    nums += [0.0] * (4 - len(nums))
    return (nums[0], nums[1], nums[2], nums[3])


# -- side files ---------------------------------------------------------------------------------
class SafeResolver:
    """Reads side files (``.bin``, ``.mtl``, textures) from the model's folder only.

    A name that is a URL, absolute (``/``, ``C:``, ``\\\\server``) or leads out of
    the folder through ``..`` is refused, never read or fetched; refused and
    missing names are recorded for the warnings and errors.
    """

    def __init__(self, folder: Path) -> None:
        self.root = Path(folder).resolve()
        self.refused: list[str] = []
        self.missing: list[str] = []

    def path(self, name: Any) -> Path | None:
        if not isinstance(name, str) or not name.strip():
            self.missing.append(str(name))
            return None
        name = name.strip()
        if (
            "://" in name
            or name.lower().startswith(("data:", "file:"))
            or name.startswith(("\\\\", "//", "/", "\\"))
            or re.match(r"^[A-Za-z]:", name)
        ):
            self.refused.append(name)
            return None
        for candidate_name in dict.fromkeys((name, unquote(name))):
            candidate = (self.root / candidate_name.replace("\\", "/")).resolve()
            if not candidate.is_relative_to(self.root):
                self.refused.append(name)
                return None
            if candidate.is_file():
                return candidate
        self.missing.append(name)
        return None

    def read(self, name: Any) -> bytes | None:
        p = self.path(name)
        if p is None:
            return None
        try:
            return p.read_bytes()
        except OSError:
            self.missing.append(str(name))
            return None

    def trimesh_resolver(self):
        """This resolver as a ``trimesh.resolvers.Resolver`` (for the glTF loader)."""
        from trimesh import resolvers

        outer = self

        class _Resolver(resolvers.Resolver):
            def __init__(self) -> None:
                pass

            def get(self, key: str) -> bytes:
                data = outer.read(key)
                if data is None:
                    raise FileNotFoundError(key)
                return data

            def write(self, name: str, data: Any) -> None:
                raise PermissionError("importers never write side files")

            def namespaced(self, namespace: str):
                raise PermissionError("namespaced side files are not supported")

            def keys(self):
                return iter(())

        return _Resolver()

    def summary(self) -> list[str]:
        notes = []
        if self.refused:
            notes.append(
                f"{len(self.refused)} side files refused (outside the model's folder or a "
                f"URL; never read): {_sample(self.refused)}"
            )
        if self.missing:
            notes.append(f"{len(self.missing)} side files missing: {_sample(self.missing)}")
        return notes


def _sample(names: list[str], n: int = 5) -> str:
    uniq = list(dict.fromkeys(names))
    text = ", ".join(uniq[:n])
    return text + (f" and {len(uniq) - n} more" if len(uniq) > n else "")


# -- the model, format-independent --------------------------------------------------------------
@dataclass
class _Geometry:
    """One distinct mesh: ``vertices`` (n, 3) float64 file units, ``faces`` (m, 3)
    int64, ``rgba`` (m, 4) uint8 per face."""

    name: str
    vertices: np.ndarray
    faces: np.ndarray
    rgba: np.ndarray


@dataclass
class _Node:
    """One feature: a geometry placed by ``transform`` (4, 4) float64, file units."""

    name: str
    geometry: int
    transform: np.ndarray
    kind: str


@dataclass
class _Model:
    geometries: list[_Geometry]
    nodes: list[_Node]
    format: str
    notes: list[str]
    info: dict[str, Any] = field(default_factory=dict)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    msg = text[0] if text else ""
    msg = msg[:200]
    return f"{type(exc).__name__}: {msg}" if msg else type(exc).__name__


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


# -- glTF / GLB / PLY / STL via trimesh ---------------------------------------------------------
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


def _neutral(n: int) -> np.ndarray:
    out = np.empty((n, 4), dtype=np.uint8)
    out[:, :3] = NEUTRAL_RGB
    out[:, 3] = 255
    return out


def _rgba(value: Any) -> np.ndarray | None:
    """A colour as (4,) uint8, from uint8 or 0..1 floats; None if unusable."""
    if value is None:
        return None
    arr = np.asarray(value).reshape(-1)
    if arr.size not in (3, 4):
        return None
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)):
            return None
        arr = np.round(np.clip(arr, 0.0, 1.0) * 255)
    arr = np.clip(arr.astype(np.float64), 0, 255).astype(np.uint8)
    return np.append(arr, 255).astype(np.uint8) if arr.size == 3 else arr


def _image_array(image: Any) -> np.ndarray | None:
    """(h, w, 3) uint8 of a PIL image, shrunk to :data:`TEXTURE_SAMPLE_SIZE`."""
    if image is None:
        return None
    try:
        if image.width * image.height > MAX_TEXTURE_PIXELS:
            return None
        img = image.convert("RGB")
        if max(img.size) > TEXTURE_SAMPLE_SIZE:
            img = img.copy()
            img.thumbnail((TEXTURE_SAMPLE_SIZE, TEXTURE_SAMPLE_SIZE))
        return np.asarray(img, dtype=np.uint8)
    except (AttributeError, OSError, ValueError):
        return None


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


# -- OBJ ----------------------------------------------------------------------------------------
def _read_obj(path: Path, opts: MeshOptions, cancel: threading.Event | None) -> _Model:
    """A small OBJ reader: one feature per ``o``/``g`` name, ``usemtl`` colours
    from the ``mtllib`` (``Kd``, ``d``, mean ``map_Kd`` colour), ``v x y z r g b``
    vertex colours; faces fan-triangulated with numpy."""
    data = path.read_bytes()
    if b"\x00" in data[:4096]:
        raise ImportFailed(path, "is binary, not an OBJ text file")
    text = data.decode("utf-8", errors="replace")
    del data
    resolver = SafeResolver(path.parent)
    notes: list[str] = []
    v_lines: list[str] = []
    f_lines: list[str] = []
    f_vcount: list[int] = []
    f_seg: list[int] = []
    segments: list[tuple[int, int]] = []  # (feature row, material) per run of faces
    rows: dict[str, int] = {}
    row_kind: list[str] = []
    materials: dict[str, int] = {}
    mtllibs: list[str] = []
    obj_name, grp_name = "", ""
    seg, mat = -1, -1

    def current_row() -> int:
        if obj_name and grp_name and grp_name != obj_name:
            name, kind = f"{obj_name}/{grp_name}", "group"
        elif grp_name:
            name, kind = grp_name, "group"
        else:
            name, kind = obj_name or path.stem, "object"
        if name not in rows:
            rows[name] = len(rows)
            row_kind.append(kind)
        return rows[name]

    # One pass that only sorts lines; numbers are parsed in bulk afterwards.
    for i, line in enumerate(text.splitlines()):
        head = line[:2]
        if head == "v ":
            v_lines.append(line[2:])
        elif head == "f ":
            if seg < 0:
                segments.append((current_row(), mat))
                seg = len(segments) - 1
            f_lines.append(line[2:])
            f_vcount.append(len(v_lines))
            f_seg.append(seg)
        elif head in ("o ", "g "):
            name = line[2:].strip()
            if head == "o ":
                obj_name, grp_name = name, ""
            else:
                grp_name = name if name != "default" else ""
            seg = -1
        elif line.startswith("usemtl"):
            mat = materials.setdefault(line[6:].strip(), len(materials))
            seg = -1
        elif line.startswith("mtllib"):
            mtllibs.extend(line[6:].split())
        if cancel is not None and not i & 0xFFFFF and cancel.is_set():
            raise ImportCancelled(str(path))
    del text
    if not f_lines:
        what = "vertices but no faces (a point cloud?)" if v_lines else "no vertices or faces"
        raise ImportFailed(path, f"has {what}; is it an OBJ file?")

    vertices, vcolors, n_bad_v = _obj_vertices(v_lines)
    del v_lines
    if n_bad_v:
        notes.append(f"{n_bad_v:,} vertex lines unreadable; faces using them dropped")
    flat, lens = _obj_face_indices(f_lines)
    del f_lines
    line_of = np.repeat(np.arange(len(lens)), lens)
    bad_line = (lens < 3) | (np.bincount(line_of[flat == 0], minlength=len(lens)) > 0)
    n_lines_bad = int(bad_line.sum())
    vc_rep = np.repeat(np.array(f_vcount, dtype=np.int64), lens)
    # OBJ indices are 1-based; negative ones count back from the last vertex so far.
    idx = np.where(flat < 0, vc_rep + flat, flat - 1)
    idx[flat == 0] = -1
    starts = np.cumsum(lens) - lens
    ntri = np.where(bad_line, 0, lens - 2)
    poly = np.repeat(np.arange(len(lens)), ntri)
    j = np.arange(int(ntri.sum())) - np.repeat(np.cumsum(ntri) - ntri, ntri)
    base = starts[poly]
    faces = np.column_stack([idx[base], idx[base + j + 1], idx[base + j + 2]])
    seg_arr = np.array(segments, dtype=np.int64).reshape(-1, 2)
    tri_seg = np.array(f_seg, dtype=np.int64)[poly]
    tri_row, tri_mat = seg_arr[tri_seg, 0], seg_arr[tri_seg, 1]
    if n_lines_bad:
        notes.append(f"{n_lines_bad:,} face lines unreadable (fewer than 3 corners or bad index)")

    lut = _obj_materials(mtllibs, materials, resolver, notes)
    rgba = lut[np.where(tri_mat >= 0, tri_mat, len(lut) - 1)]
    if vcolors is not None:
        ok = np.all((faces >= 0) & (faces < len(vertices)), axis=1)
        col = vcolors[np.clip(faces[ok], 0, len(vertices) - 1)].mean(axis=1)
        rgba[ok, :3] = np.round(col).astype(np.uint8)
    notes.extend(resolver.summary())

    # One geometry per feature row: shared vertex array, faces split by row.
    order = np.argsort(tri_row, kind="stable")
    counts = np.bincount(tri_row, minlength=len(rows))
    bounds = np.concatenate([[0], np.cumsum(counts)])
    names = list(rows)
    geometries = []
    nodes = []
    for r, name in enumerate(names):
        sel = order[bounds[r] : bounds[r + 1]]
        geometries.append(_Geometry(name, vertices, faces[sel], rgba[sel]))
        nodes.append(_Node(name, r, np.eye(4), row_kind[r]))
    info = {"format": "OBJ", "materials": len(materials)}
    return _Model(geometries, nodes, "OBJ", notes, info)


def _obj_face_indices(lines: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Vertex indices of face lines (``1``, ``1/2``, ``1//3``, ``1/2/3`` corners),
    flattened, and the corner count per line; 0 marks an unreadable corner."""
    body = "\n".join(lines)
    if "/" in body:
        body = re.sub(r"/\S*", "", body)
    lens = np.fromiter(map(len, map(str.split, body.split("\n"))), dtype=np.int64)
    tokens = body.split()
    try:
        flat = np.array(tokens, dtype=np.int64)
    except (ValueError, OverflowError):
        flat = np.array([_int_or(t) for t in tokens], dtype=np.int64)
    return flat, lens


def _int_or(token: str) -> int:
    try:
        value = int(token)
    except ValueError:
        return 0
    return value if abs(value) < 2**62 else 0


def _obj_vertices(lines: list[str]) -> tuple[np.ndarray, np.ndarray | None, int]:
    """(n, 3) float64 positions (NaN rows where unreadable), optional (n, 3)
    0..255 vertex colours, and the count of unreadable lines."""
    n = len(lines)
    if not n:
        return np.empty((0, 3)), None, 0
    try:
        arr = np.array(" ".join(lines).split(), dtype=np.float64)
        if arr.size == 3 * n:
            return arr.reshape(n, 3), None, 0
        if arr.size == 6 * n:
            arr = arr.reshape(n, 6)
            return arr[:, :3].copy(), _vertex_color_scale(arr[:, 3:]), 0
    except ValueError:
        pass
    pos = np.full((n, 3), np.nan)
    col = np.full((n, 3), np.nan)
    bad = 0
    for i, line in enumerate(lines):
        toks = line.split()
        try:
            vals = [float(t) for t in toks[:7]]
        except ValueError:
            bad += 1
            continue
        if len(vals) < 3:
            bad += 1
            continue
        pos[i] = vals[:3]
        if len(vals) >= 6:
            col[i] = vals[3:6] if len(vals) == 6 else vals[4:7] if len(vals) == 7 else vals[3:6]
    has = np.all(np.isfinite(col), axis=1)
    colors = _vertex_color_scale(np.where(has[:, None], col, 200 / 255)) if has.any() else None
    return pos, colors, bad


def _vertex_color_scale(col: np.ndarray) -> np.ndarray:
    """OBJ vertex colours are 0..1 (some tools write 0..255)."""
    col = np.nan_to_num(col, nan=0.8)
    return np.clip(col if col.max() > 1.0 else col * 255.0, 0, 255)


def _obj_materials(
    mtllibs: list[str], materials: dict[str, int], resolver: SafeResolver, notes: list[str]
) -> np.ndarray:
    """(n_materials + 1, 4) uint8 colour per ``usemtl`` name; the last row is the
    neutral colour for faces without a (known) material."""
    lut = _neutral(len(materials) + 1)
    if not materials:
        return lut
    found: dict[str, np.ndarray] = {}
    for lib in mtllibs:
        data = resolver.read(lib)
        if data is None:
            continue
        current = None
        kd: dict[str, np.ndarray] = {}
        tex: dict[str, str] = {}
        alpha: dict[str, float] = {}
        for line in data.decode("utf-8", errors="replace").splitlines():
            toks = line.split()
            if not toks:
                continue
            key = toks[0]
            if key == "newmtl" and len(toks) > 1:
                current = " ".join(toks[1:])
            elif current is None:
                continue
            elif key == "Kd" and len(toks) >= 4:
                with contextlib.suppress(ValueError):
                    kd[current] = np.clip(np.array(toks[1:4], dtype=np.float64), 0, 1)
            elif key == "map_Kd" and len(toks) > 1:
                tex[current] = toks[-1]
            elif key in ("d", "Tr") and len(toks) > 1:
                try:
                    value = float(toks[1])
                except ValueError:
                    continue
                alpha[current] = value if key == "d" else 1.0 - value
        for name in set(kd) | set(tex):
            rgb = kd.get(name)
            if name in tex:
                img = _load_image(resolver, tex[name])
                if img is not None:
                    mean = img.reshape(-1, 3).mean(axis=0) / 255.0
                    rgb = mean * (rgb if rgb is not None else 1.0)
            if rgb is None:
                continue
            a = (
                float(np.clip(alpha.get(name, 1.0), 0, 1))
                if np.isfinite(alpha.get(name, 1.0))
                else 1.0
            )
            found[name] = np.round(np.append(np.clip(rgb, 0, 1), a) * 255).astype(np.uint8)
    unknown = []
    for name, i in materials.items():
        if name in found:
            lut[i] = found[name]
        else:
            unknown.append(name)
    if unknown and mtllibs:
        notes.append(
            f"{len(unknown)} materials not found in the .mtl; drawn in grey: {_sample(unknown)}"
        )
    elif unknown:
        notes.append("no material library (mtllib); drawn in grey")
    return lut


def _load_image(resolver: SafeResolver, name: str) -> np.ndarray | None:
    p = resolver.path(name)
    if p is None:
        return None
    from PIL import Image

    try:
        with Image.open(p) as img:
            return _image_array(img)
    except (OSError, ValueError, Image.DecompressionBombError):
        resolver.missing.append(name + " (unreadable)")
        return None


# -- placement and layer ------------------------------------------------------------------------
def _model_matrix(opts: MeshOptions) -> np.ndarray:
    """(4, 4) file units and axes -> model metres, Z-up."""
    m = np.eye(4)
    m[:3, :3] = (Y_UP_TO_Z_UP if opts.up == "y" else np.eye(3)) * opts.unit
    return m


_Clean = dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]]


def _clean(model: _Model, notes: list[str]) -> _Clean:
    """Each placed geometry once, without faces at missing or non-finite vertices
    and with only the vertices its faces use: ``{geometry: (vertices (n, 3),
    faces (m, 3) into them, rgba (m, 4))}``."""
    clean: _Clean = {}
    n_oob = n_nan = 0
    for gi in dict.fromkeys(node.geometry for node in model.nodes):
        g = model.geometries[gi]
        nv = len(g.vertices)
        faces = g.faces
        inside = np.all((faces >= 0) & (faces < nv), axis=1)
        n_oob += int((~inside).sum())
        faces, rgba = faces[inside], g.rgba[inside]
        finite = np.all(np.isfinite(g.vertices), axis=1)
        good = finite[faces].all(axis=1) if len(faces) else np.zeros(0, bool)
        n_nan += int((~good).sum())
        faces, rgba = faces[good], rgba[good]
        if nv < 24 * len(faces):  # dense use: an O(n) mask beats sorting
            used = np.zeros(nv, dtype=bool)
            used[faces.ravel()] = True
            remap = np.cumsum(used) - 1
            clean[gi] = (g.vertices[used], remap[faces], rgba)
        else:  # a few faces of a shared vertex array (OBJ objects)
            keep, inverse = np.unique(faces, return_inverse=True)
            clean[gi] = (g.vertices[keep], inverse.reshape(-1, 3), rgba)
    if n_oob:
        notes.append(f"{n_oob:,} triangles dropped: they point at vertices that do not exist")
    if n_nan:
        notes.append(f"{n_nan:,} triangles dropped: their vertices are NaN or infinite")
    return clean


def _instance_bounds(model: _Model, clean: _Clean, to_model: np.ndarray) -> np.ndarray | None:
    """(2, 3) min/max of all placed geometry bounding boxes (cheap, no triangles)."""
    corners = []
    boxes: dict[int, np.ndarray | None] = {}
    for node in model.nodes:
        if node.geometry not in boxes:
            verts = clean[node.geometry][0]
            if not len(verts):
                boxes[node.geometry] = None
                continue
            lo, hi = verts.min(axis=0), verts.max(axis=0)
            boxes[node.geometry] = np.array(
                [
                    [x, y, z, 1.0]
                    for x in (lo[0], hi[0])
                    for y in (lo[1], hi[1])
                    for z in (lo[2], hi[2])
                ]
            )
        box = boxes[node.geometry]
        if box is not None:
            corners.append(box @ (to_model @ node.transform).T)
    if not corners:
        return None
    pts = np.concatenate(corners)[:, :3]
    with np.errstate(invalid="ignore"):
        pts = pts[np.all(np.isfinite(pts) & (np.abs(pts) < MAX_ABS_COORD), axis=1)]
    if not len(pts):
        return None
    return np.stack([pts.min(axis=0), pts.max(axis=0)])


def _placement(
    model: _Model, clean: _Clean, opts: MeshOptions, scene: Any, notes: list[str]
) -> tuple[np.ndarray, dict[str, Any]]:
    """(4, 4) model metres -> scene-local metres, and facts for ``layer.info``."""
    to_model = _model_matrix(opts)
    bounds = _instance_bounds(model, clean, to_model)
    if bounds is not None and "unit" not in opts.explicit:
        size = float(np.max(bounds[1] - bounds[0]))
        if size > SUSPICIOUS_SIZE:
            notes.append(
                f"the model is {size / 1000:.1f} km across in metres; if the file is in "
                "millimetres or centimetres, set option unit = 0.001 or 0.01"
            )
    place = np.eye(4)
    if opts.at is not None:
        e, n, h, rot = opts.at
        c, s = math.cos(math.radians(rot)), math.sin(math.radians(rot))
        place[:2, :2] = [[c, -s], [s, c]]
        place[:3, 3] = np.array([e, n, h]) - np.asarray(scene.origin, dtype=np.float64)
        facts = {"method": "user placement (at)", "at": [e, n, h, rot]}
    else:
        warn = (
            "meshes carry no georeferencing and no 'at' option was given; the model's "
            "origin is placed at the scene origin"
        )
        facts = {"method": "none (placed at the scene origin)"}
        if bounds is not None:
            centre = (bounds[0] + bounds[1]) / 2
            if math.hypot(centre[0], centre[1]) > FAR_FROM_ORIGIN:
                place[:2, 3] = -centre[:2]
                warn = warn.replace("the model's origin", "the model's centre") + (
                    " (its own coordinates are far from 0)"
                )
                facts["shift"] = (-centre[:2]).tolist()
        notes.append(warn + "; set at = [E, N, H, rotation_deg] to place it")
    return place @ to_model, facts


def _build(
    model: _Model,
    clean: _Clean,
    to_local: np.ndarray,
    opts: MeshOptions,
    path: Path,
    notes: list[str],
    progress: Progress | None,
    cancel: threading.Event | None,
):
    """Points (n, 3) float64 scene-local, triangles (m, 3) int64, feature (m,)
    int32 and rgba (m, 4) uint8 of all node instances, in one concatenation."""
    by_geom: dict[int, list[int]] = {}
    for row, node in enumerate(model.nodes):
        by_geom.setdefault(node.geometry, []).append(row)
    total = sum(len(clean[gi][1]) * len(rows) for gi, rows in by_geom.items())
    if total > opts.max_triangles:
        raise ImportFailed(
            path,
            f"has {total:,} triangles, over the budget of {opts.max_triangles:,} "
            "(option max_triangles)",
        )
    pts_parts, tri_parts, feat_parts, rgba_parts = [], [], [], []
    offset = 0
    done = 0
    for k, (gi, rows) in enumerate(by_geom.items()):
        if cancel is not None and cancel.is_set():
            raise ImportCancelled(str(path))
        verts, faces, rgba = clean[gi]
        if not len(faces):
            continue
        mats = np.stack([to_local @ model.nodes[r].transform for r in rows])  # (k, 4, 4)
        pts = np.einsum("kij,nj->kni", mats[:, :3, :3], verts) + mats[:, None, :3, 3]
        nv = len(verts)
        pts_parts.append(pts.reshape(-1, 3))
        shift = offset + np.arange(len(rows), dtype=np.int64) * nv
        tri_parts.append((faces[None, :, :] + shift[:, None, None]).reshape(-1, 3))
        feat_parts.append(np.repeat(np.array(rows, dtype=np.int32), len(faces)))
        rgba_parts.append(np.tile(rgba, (len(rows), 1)))
        offset += nv * len(rows)
        done += len(faces) * len(rows)
        if progress is not None and (k % 64 == 0 or k == len(by_geom) - 1):
            progress(50 + int(40 * done / max(total, 1)), 100)
    if not tri_parts:
        return None
    points = np.concatenate(pts_parts)
    tris = np.concatenate(tri_parts)
    feature = np.concatenate(feat_parts)
    rgba = np.concatenate(rgba_parts)
    with np.errstate(invalid="ignore"):
        bad = ~np.all(np.isfinite(points) & (np.abs(points) < MAX_ABS_COORD), axis=1)
    if bad.any():
        keep = ~bad[tris].any(axis=1)
        notes.append(f"{int((~keep).sum()):,} triangles dropped: placed out of range")
        tris, feature, rgba = tris[keep], feature[keep], rgba[keep]
        points = np.where(bad[:, None], 0.0, points)
        if not len(tris):
            return None
    return points, tris, feature, rgba


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
            tree=TreeNode(name=path.name, kind="model", rows=list(range(n)))
            if model.format not in ("glTF", "GLB")
            else _mesh_tree(path.name, list(geom_names)),
        )
    ]


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
