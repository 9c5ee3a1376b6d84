"""What the worker hands back: numpy arrays plus plain, JSON-able records.

One format serves three places: the chunks streamed from the worker, the merged
result the parent turns into layers, and the cache file (:meth:`Payload.to_bytes`:
a JSON index, the raw arrays and the ``meta`` JSON in one buffer, read back
with one read and zero-copy views), so a cached reopen runs exactly the code a
cold import runs after the worker. Geometry is kept *instanced*: every distinct
triangulation once (``g_*``), and per element a geometry index and a 4x4
placement (``e_*``), all in model coordinates in metres, before any
georeferencing, so the cache does not depend on the scene it is opened into.
"""

from __future__ import annotations

import json
import struct
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


#: First bytes of a cache entry (and its format version).
MAGIC = b"CTIFC1\n"
_ALIGN = 64


def _padded(n: int) -> int:
    return -(-n // _ALIGN) * _ALIGN


def empty_arrays() -> dict[str, np.ndarray]:
    return {k: np.empty((0, *shape), dtype=dt) for k, (dt, shape) in ARRAYS.items()}


@dataclass
class Payload:
    """Arrays (see :data:`ARRAYS`) and ``meta``: schema, element records,
    spatial tree, raw georeferencing records, failures, warnings, statistics."""

    arrays: dict[str, np.ndarray] = field(default_factory=empty_arrays)
    meta: dict[str, Any] = field(default_factory=dict)

    def to_bytes(self) -> bytes:
        """``MAGIC``, the index length (8 bytes), a JSON index of every array
        (dtype, shape, offset) and of ``meta``, then the data, each part on a
        64-byte boundary so the views are aligned."""
        parts: list[bytes] = []
        index: dict[str, Any] = {}
        offset = 0
        for key, (dt, _) in ARRAYS.items():
            arr = np.ascontiguousarray(self.arrays[key], dtype=dt)
            index[key] = [arr.dtype.str, list(arr.shape), offset]
            parts.append(arr.tobytes())
            offset += _padded(len(parts[-1]))
        text = json.dumps(self.meta, ensure_ascii=False, allow_nan=True, separators=(",", ":"))
        parts.append(text.encode("utf-8"))
        index["meta"] = [offset, len(parts[-1])]
        head = json.dumps(index).encode("ascii")
        head += b" " * (_padded(len(MAGIC) + 8 + len(head)) - len(MAGIC) - 8 - len(head))
        body = b"".join(p + b"\0" * (_padded(len(p)) - len(p)) for p in parts)
        return MAGIC + struct.pack("<Q", len(head)) + head + body

    @classmethod
    def from_bytes(cls, data: bytearray) -> Payload:
        """Inverse of :meth:`to_bytes` (views into ``data``, which must be
        writable); raises ValueError on anything malformed."""
        if bytes(data[: len(MAGIC)]) != MAGIC or len(data) < len(MAGIC) + 8:
            raise ValueError("not a CityTwin IFC cache entry")
        (n_head,) = struct.unpack_from("<Q", data, len(MAGIC))
        start = len(MAGIC) + 8 + n_head
        if start > len(data):
            raise ValueError("cache entry index runs past its end")
        try:
            index = json.loads(bytes(data[len(MAGIC) + 8 : start]))
        except ValueError as exc:
            raise ValueError(f"cache entry index unreadable ({exc})") from None
        body = memoryview(data)[start:]
        arrays = {}
        for key, (dt, shape) in ARRAYS.items():
            try:
                dstr, full_shape, offset = index[key]
                arr_dt = np.dtype(dstr)
                count = int(np.prod(full_shape, dtype=np.int64))
                arr = np.frombuffer(body, dtype=arr_dt, count=count, offset=int(offset))
            except (KeyError, TypeError, ValueError) as exc:
                raise ValueError(f"cache entry has a bad array {key!r} ({exc})") from None
            if arr_dt != np.dtype(dt) or tuple(full_shape[1:]) != shape:
                raise ValueError(f"cache entry has a bad array {key!r}")
            arrays[key] = arr.reshape(full_shape)
        try:
            m_off, m_len = index["meta"]
            meta = json.loads(bytes(body[int(m_off) : int(m_off) + int(m_len)]).decode("utf-8"))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"cache entry has a bad meta record ({exc})") from None
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
