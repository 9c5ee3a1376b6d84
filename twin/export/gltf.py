"""A minimal glTF 2.0 binary (GLB) writer for flat-shaded, per-vertex-coloured triangles.

GLB is a 12-byte header and two chunks (JSON, binary); writing it with numpy
keeps the export free of a glTF library and lets every array go out in one
``tobytes``. Triangles are written unindexed (three vertices each) because flat
shading needs a normal per face anyway.
"""

from __future__ import annotations

import json
import struct

import numpy as np

GLB_MAGIC = 0x46546C67  # "glTF"
CHUNK_JSON = 0x4E4F534A
CHUNK_BIN = 0x004E4942
FLOAT = 5126
UNSIGNED_BYTE = 5121
ARRAY_BUFFER = 34962


def _pad(data: bytes, fill: bytes) -> bytes:
    return data + fill * (-len(data) % 4)


def flat_normals(tri_xyz: np.ndarray) -> np.ndarray:
    """(m, 3, 3) triangle corners -> (m, 3) unit normals (degenerate: +up)."""
    n = np.cross(tri_xyz[:, 1] - tri_xyz[:, 0], tri_xyz[:, 2] - tri_xyz[:, 0])
    length = np.linalg.norm(n, axis=1, keepdims=True)
    good = length[:, 0] > 0
    n[good] /= length[good]
    n[~good] = (0.0, 0.0, 1.0)
    return n


def y_up(xyz: np.ndarray) -> np.ndarray:
    """z-up (x, y, z) -> glTF's y-up (x, z, -y); 3D Tiles rotates it back."""
    return np.stack([xyz[..., 0], xyz[..., 2], -xyz[..., 1]], axis=-1)


def triangles_glb(
    tri_xyz: np.ndarray, colors: np.ndarray, batch_ids: np.ndarray | None = None
) -> bytes:
    """GLB of triangles.

    Parameters
    ----------
    tri_xyz : (m, 3, 3) corners in a z-up frame, small numbers (tile-centred).
    colors : (m, 3) uint8 colour per triangle.
    batch_ids : (m,) feature index per triangle, written as the ``_BATCHID``
        vertex attribute that b3dm uses to find a vertex's batch-table row.
    """
    m = len(tri_xyz)
    pos = y_up(np.asarray(tri_xyz, dtype=np.float64)).astype(np.float32).reshape(-1, 3)
    nrm = y_up(flat_normals(np.asarray(tri_xyz, dtype=np.float64)))
    nrm = np.repeat(nrm.astype(np.float32), 3, axis=0)
    rgba = np.empty((m, 4), dtype=np.uint8)
    rgba[:, :3] = colors
    rgba[:, 3] = 255
    rgba = np.repeat(rgba, 3, axis=0)
    arrays: list[tuple[str, np.ndarray, int, str, bool]] = [
        ("POSITION", pos, FLOAT, "VEC3", False),
        ("NORMAL", nrm, FLOAT, "VEC3", False),
        ("COLOR_0", rgba, UNSIGNED_BYTE, "VEC4", True),
    ]
    if batch_ids is not None:
        ids = np.repeat(np.asarray(batch_ids, dtype=np.float32), 3)
        arrays.append(("_BATCHID", ids, FLOAT, "SCALAR", False))

    blob = bytearray()
    views, accessors, attributes = [], [], {}
    for i, (name, arr, ctype, atype, normalized) in enumerate(arrays):
        data = np.ascontiguousarray(arr).tobytes()
        views.append({"buffer": 0, "byteOffset": len(blob), "byteLength": len(data),
                      "target": ARRAY_BUFFER})
        blob += _pad(data, b"\0")
        acc = {"bufferView": i, "componentType": ctype, "count": 3 * m, "type": atype}
        if normalized:
            acc["normalized"] = True
        if name == "POSITION" and m:
            acc["min"] = [float(v) for v in pos.min(axis=0)]
            acc["max"] = [float(v) for v in pos.max(axis=0)]
        accessors.append(acc)
        attributes[name] = i
    doc = {
        "asset": {"version": "2.0", "generator": "CityTwin"},
        "scene": 0,
        "scenes": [{"nodes": [0]}],
        "nodes": [{"mesh": 0}],
        "meshes": [{"primitives": [{"attributes": attributes, "material": 0, "mode": 4}]}],
        "materials": [{
            "pbrMetallicRoughness": {"baseColorFactor": [1, 1, 1, 1], "metallicFactor": 0.0,
                                     "roughnessFactor": 1.0},
            "doubleSided": True,
        }],
        "accessors": accessors,
        "bufferViews": views,
        "buffers": [{"byteLength": len(blob)}],
    }
    js = _pad(json.dumps(doc, separators=(",", ":")).encode(), b" ")
    total = 12 + 8 + len(js) + 8 + len(blob)
    return b"".join([
        struct.pack("<III", GLB_MAGIC, 2, total),
        struct.pack("<II", len(js), CHUNK_JSON), js,
        struct.pack("<II", len(blob), CHUNK_BIN), bytes(blob),
    ])
