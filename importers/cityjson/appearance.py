"""Materials and textures baked into the per-triangle default colour: a
material's diffuse colour, or the mean texture colour under each triangle. Texture
images are read only from the file's folder (:func:`importers.sidefiles.confine`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from importers import surfaces as sf
from importers.cityjson.collection import _Collector
from importers.sidefiles import confine

#: Texture images larger than this (decoded pixels) are refused (pixel bombs).
MAX_TEXTURE_PIXELS = 64_000_000


def _bake_colors(
    c: _Collector,
    tri_mat: np.ndarray,
    rgb: np.ndarray,
) -> None:
    """Material diffuse colours over the semantic defaults (``materials`` option)."""
    lut = np.full((len(c.materials), 3), -1, dtype=np.int16)
    for i, m in enumerate(c.materials):
        color = m.get("diffuseColor") if isinstance(m, dict) else None
        try:
            lut[i] = np.clip(np.asarray(color, dtype=np.float64).reshape(3), 0, 1) * 255
        except (TypeError, ValueError):
            continue
    has = tri_mat >= 0
    if has.any() and len(lut):
        col = lut[tri_mat[has]]
        ok = col[:, 0] >= 0
        target = np.flatnonzero(has)[ok]
        rgb[target] = col[ok].astype(np.uint8)


def _load_texture(path: Path) -> np.ndarray | None:
    from PIL import Image

    try:
        with Image.open(path) as img:
            if img.width * img.height > MAX_TEXTURE_PIXELS:
                return None
            return np.asarray(img.convert("RGB"), dtype=np.uint8)
    except (OSError, ValueError, Image.DecompressionBombError):
        return None


def _bake_textures(
    c: _Collector,
    folder: Path,
    tri_pos: np.ndarray,
    tri_tex: np.ndarray,
    point_uv: np.ndarray,
    rgb: np.ndarray,
    notes: list[str],
) -> int:
    """Mean texture colour under each triangle into ``rgb`` (``textures`` option).

    The renderer draws one colour per cell, so the texture is sampled at the
    triangle's centroid and half-way to each corner and averaged: façades and
    roofs get their real tint without a per-actor texture atlas.
    """
    if not len(tri_pos) or not (tri_tex >= 0).any():
        return 0
    uvs = np.concatenate(c.uv_parts) if c.uv_parts else np.empty((0, 2))
    images: dict[int, np.ndarray | None] = {}
    refused: list[str] = []
    used = 0
    for t in np.unique(tri_tex[tri_tex >= 0]).tolist():
        spec = c.textures[t] if t < len(c.textures) else None
        image = spec.get("image") if isinstance(spec, dict) else None
        path = confine(folder, image)
        img = _load_texture(path) if path is not None else None
        if img is None:
            refused.append(str(image))
        images[t] = img
    for t, img in images.items():
        if img is None:
            continue
        sel = np.flatnonzero(tri_tex == t)
        corner_uv = point_uv[tri_pos[sel]]  # (k, 3)
        ok = np.all(corner_uv >= 0, axis=1)
        sel, corner_uv = sel[ok], corner_uv[ok]
        if not len(sel):
            continue
        uv = uvs[corner_uv]  # (k, 3, 2)
        centre = uv.mean(axis=1, keepdims=True)
        samples = np.concatenate([centre, (uv + centre) / 2], axis=1)  # (k, 4, 2)
        h, w = img.shape[:2]
        u = np.mod(np.nan_to_num(samples[..., 0]), 1.0)
        v = np.mod(np.nan_to_num(samples[..., 1]), 1.0)
        px = np.clip((u * w).astype(np.int64), 0, w - 1)
        py = np.clip(((1.0 - v) * h).astype(np.int64), 0, h - 1)
        rgb[sel] = img[py, px].mean(axis=1).astype(np.uint8)
        used += 1
    if refused:
        notes.append(
            f"{len(refused)} textures not used (missing, outside the file's folder, a URL, "
            f"too large or unreadable): {sf.sample_ids(refused)}"
        )
    return used
