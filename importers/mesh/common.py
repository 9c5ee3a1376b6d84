"""What every mesh format shares: the options, the limits, the side-file
resolver and the format-independent model (geometries placed by nodes) that the
readers fill and :mod:`importers.mesh.placement` places.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from importers.sidefiles import side_file

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
        """The side file ``name`` (see :func:`importers.sidefiles.side_file`), or
        None, recording it as refused or missing."""
        found, refused = side_file(self.root, name)
        if found is None:
            text = name.strip() if isinstance(name, str) and name.strip() else str(name)
            (self.refused if refused else self.missing).append(text)
        return found

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
    from twin.errors import first_line

    return first_line(exc, with_type=True, limit=200)


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
