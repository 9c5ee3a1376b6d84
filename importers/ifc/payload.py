"""What the worker hands back: numpy arrays plus plain, JSON-able records.

One format serves three places: the chunks streamed from the worker, the merged
result the parent turns into layers, and the cache file (an ``.npz`` whose
``meta`` entry is UTF-8 JSON), so a cached reopen runs exactly the code a cold
import runs after the worker. Geometry is kept *instanced*: every distinct
triangulation once (``g_*``), and per element a geometry index and a 4x4
placement (``e_*``), all in model coordinates in metres, before any
georeferencing, so the cache does not depend on the scene it is opened into.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: name -> (dtype, trailing shape) of every array in a payload.
ARRAYS: dict[str, tuple[type, tuple[int, ...]]] = {
    "g_nv": (np.int64, ()),  # vertices per distinct geometry
    "g_nf": (np.int64, ()),  # triangles per distinct geometry
    "g_verts": (np.float64, (3,)),  # geometry-local vertices, metres
    "g_faces": (np.int32, (3,)),  # triangles, indices local to their geometry
    "g_fmat": (np.int32, ()),  # material row per triangle (-1: none)
    "m_rgba": (np.float32, (4,)),  # material colour and opacity, 0..1
    "m_styled": (np.bool_, ()),  # colour comes from an IFC style (not a default)
    "e_step": (np.int64, ()),  # STEP id of each element with geometry
    "e_geom": (np.int32, ()),  # its geometry row
    "e_matrix": (np.float64, (4, 4)),  # its placement, model metres
}


def empty_arrays() -> dict[str, np.ndarray]:
    return {k: np.empty((0, *shape), dtype=dt) for k, (dt, shape) in ARRAYS.items()}


@dataclass
class Payload:
    """Arrays (see :data:`ARRAYS`) and ``meta``: schema, element records,
    spatial tree, raw georeferencing records, failures, warnings, statistics."""

    arrays: dict[str, np.ndarray] = field(default_factory=empty_arrays)
    meta: dict[str, Any] = field(default_factory=dict)

    def to_npz_dict(self) -> dict[str, np.ndarray]:
        out = dict(self.arrays)
        text = json.dumps(self.meta, ensure_ascii=False, allow_nan=True, separators=(",", ":"))
        out["meta"] = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
        return out

    @classmethod
    def from_npz(cls, data: Any) -> Payload:
        """From an opened ``np.load`` archive; raises ValueError on a bad one."""
        arrays = {}
        for key, (dt, shape) in ARRAYS.items():
            arr = np.asarray(data[key])
            if arr.dtype != dt or arr.shape[1:] != shape:
                raise ValueError(f"cache entry has a bad array {key!r}")
            arrays[key] = arr
        meta = json.loads(bytes(np.asarray(data["meta"], dtype=np.uint8)).decode("utf-8"))
        payload = cls(arrays, meta)
        payload.validate()
        return payload

    def validate(self) -> None:
        """Cheap consistency checks, so a damaged cache entry is rejected, not drawn."""
        a = self.arrays
        ng = len(a["g_nv"])
        if len(a["g_nf"]) != ng or a["g_nv"].sum() != len(a["g_verts"]):
            raise ValueError("geometry vertex counts do not match")
        if a["g_nf"].sum() != len(a["g_faces"]) or len(a["g_fmat"]) != len(a["g_faces"]):
            raise ValueError("geometry face counts do not match")
        if len(a["e_geom"]) != len(a["e_step"]) or len(a["e_matrix"]) != len(a["e_step"]):
            raise ValueError("element arrays differ in length")
        if len(a["e_geom"]) and (a["e_geom"].min() < 0 or a["e_geom"].max() >= ng):
            raise ValueError("element geometry index out of range")
        if len(a["g_fmat"]) and a["g_fmat"].max() >= len(a["m_rgba"]):
            raise ValueError("material index out of range")


class ChunkMerger:
    """Collects streamed chunks; ``done`` is the set of elements already received."""

    def __init__(self) -> None:
        self.parts: dict[str, list[np.ndarray]] = {k: [] for k in ARRAYS}
        self.n_geoms = 0
        self.n_mats = 0
        self.done: set[int] = set()

    def add(self, chunk: dict[str, Any]) -> None:
        """Chunks number their geometries and materials globally, so appending
        keeps every index valid; a chunk must start where the last one ended."""
        if chunk["g_first"] != self.n_geoms or chunk["m_first"] != self.n_mats:
            raise ValueError("worker chunk out of sequence")
        for key in ARRAYS:
            self.parts[key].append(chunk[key])
        self.n_geoms += len(chunk["g_nv"])
        self.n_mats += len(chunk["m_rgba"])
        self.done.update(int(s) for s in chunk["e_step"])

    def rebase(self) -> tuple[int, int]:
        """Where a new worker must start numbering geometries and materials."""
        return self.n_geoms, self.n_mats

    def arrays(self) -> dict[str, np.ndarray]:
        out = {}
        for key, (dt, shape) in ARRAYS.items():
            parts = self.parts[key]
            out[key] = (
                np.concatenate(parts).astype(dt, copy=False).reshape(-1, *shape)
                if parts
                else np.empty((0, *shape), dtype=dt)
            )
        return out
