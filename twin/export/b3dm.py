"""Batched 3D Model (b3dm, 3D Tiles 1.0) tiles: a GLB plus a batch table.

b3dm is the tile format every 3D Tiles reader handles (CesiumJS, py3dtiles,
3d-tiles-tools, most portal viewers), and its JSON batch table carries the
feature properties a click in the portal shows. Layout: a 28-byte header, the
feature table JSON (``BATCH_LENGTH``), the batch table JSON, then the GLB, each
part padded so the next starts on an 8-byte boundary.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Mapping
from typing import Any

import numpy as np

from twin.plain_value import plain_value

HEADER_BYTES = 28


def _padded_json(obj: Any, start: int) -> bytes:
    """JSON text padded with spaces so that ``start + len`` is a multiple of 8."""
    data = json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return data + b" " * (-(start + len(data)) % 8)


def batch_table(columns: Mapping[str, np.ndarray], rows: np.ndarray) -> dict[str, list]:
    """The batch table of the features ``rows`` (in batch-id order)."""
    return {name: [plain_value(v) for v in col[rows]] for name, col in columns.items()}


def b3dm_bytes(glb: bytes, batch_length: int, table: dict[str, list]) -> bytes:
    """One b3dm tile wrapping ``glb`` whose ``_BATCHID`` runs 0..batch_length-1."""
    ft = _padded_json({"BATCH_LENGTH": int(batch_length)}, HEADER_BYTES)
    bt = _padded_json(table, HEADER_BYTES + len(ft)) if table else b""
    glb = glb + b"\0" * (-len(glb) % 8)
    total = HEADER_BYTES + len(ft) + len(bt) + len(glb)
    header = struct.pack("<4sIIIIII", b"b3dm", 1, total, len(ft), 0, len(bt), 0)
    return header + ft + bt + glb
