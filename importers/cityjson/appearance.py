"""Materials and textures: a material's diffuse colour or the mean texture
colour baked into each triangle's default colour, and the images packed into one
atlas with each corner's coordinates in it (:mod:`twin.textures`) for the
Textures look. Images are read only from the file's folder
(:func:`importers.sidefiles.confine`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from importers import surfaces as sf
from importers.cityjson.collection import _Collector
from importers.sidefiles import confine
from twin import textures
from twin.textures import TextureLayout

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


#: Decoded pixels kept for all images of a file together: twice the atlas's
#: 4096² (more would be shrunk when packed anyway), so a city with thousands of
#: images does not hold gigabytes while it loads.
TOTAL_TEXTURE_PIXELS = 2 * 4096 * 4096


def load_texture(path: Path, max_pixels: int = MAX_TEXTURE_PIXELS) -> np.ndarray | None:
    """The image as (h, w, 3) uint8, shrunk to at most ``max_pixels``."""
    from PIL import Image

    try:
        with Image.open(path) as img:
            if img.width * img.height > MAX_TEXTURE_PIXELS:
                return None
            if img.width * img.height > max_pixels:
                side = max(1, int((max_pixels * img.width / img.height) ** 0.5))
                img.draft("RGB", (side, side))  # JPEG: decode at a reduced scale
                img.thumbnail((side, max(1, max_pixels // side)))
            return np.asarray(img.convert("RGB"), dtype=np.uint8)
    except (OSError, ValueError, Image.DecompressionBombError):
        return None


def load_images(
    c: _Collector, folder: Path, tri_tex: np.ndarray, notes: list[str]
) -> dict[int, np.ndarray | None]:
    """The images the triangles use, read once each from the model's folder;
    one warning names those that cannot be used (their surfaces keep their
    own colour)."""
    images: dict[int, np.ndarray | None] = {}
    refused: list[str] = []
    names: dict[int, object] = {}
    paths: dict[int, Path | None] = {}
    for t in np.unique(tri_tex[tri_tex >= 0]).tolist():
        spec = c.textures[t] if t < len(c.textures) else None
        names[t] = spec.get("image") if isinstance(spec, dict) else None
        paths[t] = confine(folder, names[t])
    found = sum(p is not None for p in paths.values())
    budget = max(64 * 64, TOTAL_TEXTURE_PIXELS // max(found, 1))
    for t, path in paths.items():
        image = names[t]
        img = load_texture(path, budget) if path is not None else None
        if img is None:
            refused.append(str(image))
        images[t] = img
    if refused:
        notes.append(
            f"{len(refused)} textures not used, their surfaces keep their colour (missing, "
            f"outside the file's folder, a URL, too large or unreadable): "
            f"{sf.sample_ids(refused)}"
        )
    return images


def texture_layout(
    c: _Collector,
    images: dict[int, np.ndarray | None],
    tri_pos: np.ndarray,
    tri_tex: np.ndarray,
    point_uv: np.ndarray,
) -> TextureLayout | None:
    """The images packed into one atlas and each triangle corner's place in it
    (the ``draw_textures`` option), or None when no triangle has a usable image."""
    usable = [t for t, img in images.items() if img is not None]
    if not len(tri_pos) or not usable:
        return None
    uvs = np.concatenate(c.uv_parts) if c.uv_parts else np.empty((0, 2))
    atlas = textures.pack([images[t] for t in usable])
    slot = np.full(max(usable) + 1, -1, dtype=np.int64)
    slot[usable] = np.arange(len(usable))
    known = (tri_tex >= 0) & (tri_tex < len(slot))
    image = np.full(len(tri_tex), -1, dtype=np.int64)
    image[known] = slot[tri_tex[known]]
    corner = point_uv[tri_pos] if len(point_uv) else np.full(tri_pos.shape, -1)
    image[(corner < 0).any(axis=1)] = -1
    uv = np.full((*tri_pos.shape, 2), np.nan)
    has = image >= 0
    uv[has] = uvs[corner[has]]
    corner_uv, textured, clamped = textures.atlas_uv(atlas, image, uv)
    return TextureLayout(corner_uv, textured, atlas.image, clamped)


def _bake_textures(
    c: _Collector,
    images: dict[int, np.ndarray | None],
    tri_pos: np.ndarray,
    tri_tex: np.ndarray,
    point_uv: np.ndarray,
    rgb: np.ndarray,
) -> int:
    """Mean texture colour under each triangle into ``rgb`` (``textures`` option).

    The untextured picture draws one colour per cell, so the texture is sampled
    at the triangle's centroid and half-way to each corner and averaged: façades
    and roofs get their real tint there too.
    """
    if not len(tri_pos) or not (tri_tex >= 0).any():
        return 0
    uvs = np.concatenate(c.uv_parts) if c.uv_parts else np.empty((0, 2))
    used = 0
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
    return used
