"""Appearance textures on a layer's one mesh: an atlas image, per-point
texture coordinates and a per-cell flag, so a textured city model stays one
actor (one draw call) however many images it names.

Why an atlas and not one mesh per image: the view draws one actor per layer
(colours, picking, hiding and sections all assume it); packing the images
into one picture keeps that, and the GPU draws the layer in one call.

The price is that a texture cannot repeat (tile) inside an atlas: each
triangle is moved by whole texture units into [0, 1] when it fits there, and
clamped at the image's border when it spans more than one unit (counted in
:attr:`TextureLayout.clamped`). Untextured corners point at a white block, so
that VTK's "texture x cell colour" leaves their own colour as it is.

The atlas travels with the mesh as field data (:func:`attach`, :func:`atlas_of`):
shallow copies of the mesh (the view's, a hidden-feature copy) keep it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Point array of the texture coordinates (the mesh's active ones).
TCOORDS_ARRAY = "tcoords"
#: Cell array: 1 where an appearance texture draws the cell.
TEXTURED_ARRAY = "textured"
#: Field data: the atlas pixels ((h * w, 3) uint8) and its shape (h, w).
ATLAS_ARRAY = "texture_atlas"
ATLAS_SHAPE_ARRAY = "texture_atlas_shape"
#: Largest atlas side (texels): 4096² RGB is 48 MiB, within every GL's limit.
MAX_ATLAS_SIDE = 4096
#: Texels copied around each image (edge colours) so filtering does not bleed.
PAD = 2
#: The white block's side (texels), top-left of the atlas.
WHITE = 8


@dataclass
class TextureLayout:
    """What an importer hands to :func:`textured_polydata`.

    corner_uv : (m, 3, 2) float32 atlas coordinates of each triangle corner
        (the first m triangles of the mesh; later ones are untextured).
    textured : (m,) bool, the triangles an image draws.
    atlas : (h, w, 3) uint8, first row at the top.
    clamped : triangles whose coordinates spanned more than one image (tiled).
    """

    corner_uv: np.ndarray
    textured: np.ndarray
    atlas: np.ndarray
    clamped: int = 0


@dataclass
class Atlas:
    """Packed images: ``rects[i]`` = (x0, y0, w, h) in texels of image ``i``."""

    image: np.ndarray
    rects: np.ndarray

    @property
    def white_uv(self) -> tuple[float, float]:
        h, w = self.image.shape[:2]
        return (WHITE / 2) / w, 1.0 - (WHITE / 2) / h


def _resize(img: np.ndarray, scale: float) -> np.ndarray:
    if scale >= 1.0:
        return img
    from PIL import Image

    h, w = img.shape[:2]
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return np.asarray(Image.fromarray(img).resize(size, Image.Resampling.BOX))


def _shelves(sizes: list[tuple[int, int]], width: int) -> tuple[list[tuple[int, int]], int]:
    """Shelf packing (tallest first): top-left corner of each padded size, and height."""
    order = sorted(range(len(sizes)), key=lambda i: -sizes[i][1])
    pos: list[tuple[int, int]] = [(0, 0)] * len(sizes)
    x, y, shelf = WHITE, 0, WHITE  # the white block opens the first shelf
    for i in order:
        w, h = sizes[i]
        if x + w > width:
            x, y, shelf = 0, y + shelf, 0
        pos[i] = (x, y)
        x += w
        shelf = max(shelf, h)
    return pos, y + shelf


def pack(images: list[np.ndarray], max_side: int = MAX_ATLAS_SIDE) -> Atlas:
    """Pack RGB images into one atlas no larger than ``max_side`` a side,
    shrinking them all alike when they do not fit."""
    images = [np.asarray(i, dtype=np.uint8)[..., :3] for i in images]
    area = sum(i.shape[0] * i.shape[1] for i in images) + WHITE * WHITE
    scale = min(1.0, max_side / np.sqrt(area * 1.15))
    while True:
        scaled = [_resize(i, scale) for i in images]
        sizes = [(i.shape[1] + 2 * PAD, i.shape[0] + 2 * PAD) for i in scaled]
        widest = max([w for w, _ in sizes] + [WHITE])
        width = int(min(max_side, max(widest, np.ceil(np.sqrt(area * 1.15 * scale**2)))))
        pos, height = _shelves(sizes, width)
        if widest <= max_side and height <= max_side:
            break
        scale *= 0.85
    atlas = np.zeros((height, width, 3), dtype=np.uint8)
    atlas[:WHITE, :WHITE] = 255
    rects = np.zeros((len(images), 4), dtype=np.int64)
    for k, (img, (x, y)) in enumerate(zip(scaled, pos, strict=True)):
        h, w = img.shape[:2]
        atlas[y : y + h + 2 * PAD, x : x + w + 2 * PAD] = np.pad(
            img, ((PAD, PAD), (PAD, PAD), (0, 0)), mode="edge"
        )
        rects[k] = (x + PAD, y + PAD, w, h)
    return Atlas(atlas, rects)


def atlas_uv(
    atlas: Atlas, image: np.ndarray, uv: np.ndarray
) -> tuple[np.ndarray, np.ndarray, int]:
    """Atlas coordinates of triangle corners.

    image : (m,) atlas image of each triangle (-1: untextured).
    uv : (m, 3, 2) the corners' coordinates in their own image (v up).
    Returns (m, 3, 2) float32 atlas coordinates (v up), (m,) bool textured,
    and how many triangles were clamped (tiled textures).
    """
    m = len(image)
    out = np.empty((m, 3, 2), dtype=np.float32)
    out[:] = atlas.white_uv
    ok = (image >= 0) & np.isfinite(uv).all(axis=(1, 2))
    if not ok.any():
        return out, ok, 0
    sel = np.flatnonzero(ok)
    t = uv[sel].astype(np.float64)
    t = t - np.floor(t.min(axis=1, keepdims=True) + 1e-9)  # whole units into [0, 1]
    clamped = int(np.count_nonzero((t > 1.0 + 1e-6).any(axis=(1, 2))))
    t = np.clip(t, 0.0, 1.0)
    x0, y0, w, h = (atlas.rects[image[sel], k][:, None] for k in range(4))
    H, W = atlas.image.shape[:2]
    # Texel centres half a texel inside the image: linear filtering stays in it.
    px = x0 + np.clip(t[..., 0] * w, 0.5, w - 0.5)
    py = y0 + np.clip((1.0 - t[..., 1]) * h, 0.5, h - 0.5)  # rows from the top
    out[sel, :, 0] = px / W
    out[sel, :, 1] = 1.0 - py / H
    return out, ok, clamped


def split_points(
    points: np.ndarray, triangles: np.ndarray, corner_uv: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Points duplicated where corners that share a vertex need different
    texture coordinates (VTK keeps them per point): one point per distinct
    (vertex, u, v). Returns points, triangles, (n, 2) float32 coordinates."""
    vid = triangles.reshape(-1).astype(np.int64)
    uv = np.ascontiguousarray(corner_uv.reshape(-1, 2), dtype=np.float32)
    key = np.empty(len(vid), dtype=[("v", np.int64), ("u", np.uint32), ("w", np.uint32)])
    key["v"] = vid
    bits = uv.view(np.uint32)
    key["u"], key["w"] = bits[:, 0], bits[:, 1]
    uniq, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    del uniq
    return points[vid[first]], inverse.reshape(-1, 3).astype(np.int64), uv[first]


def textured_polydata(mesh, layout: TextureLayout):
    """The PolyData of a :class:`~twin.meshing.TriMesh` whose first triangles
    ``layout`` textures: points split per texture coordinate, ``tcoords``
    active, ``textured`` per cell and the atlas attached."""
    from twin.meshing import TriMesh

    m = len(layout.corner_uv)
    n = len(mesh.triangles)
    corner = np.empty((n, 3, 2), dtype=np.float32)
    corner[:m] = layout.corner_uv
    white = Atlas(layout.atlas, np.zeros((0, 4), np.int64)).white_uv
    corner[m:] = white
    points, tris, tcoords = split_points(mesh.points, mesh.triangles, corner)
    poly = TriMesh(points, tris, mesh.feature).to_polydata()
    poly.point_data[TCOORDS_ARRAY] = tcoords
    poly.point_data.active_texture_coordinates_name = TCOORDS_ARRAY
    flags = np.zeros(n, dtype=np.uint8)
    flags[:m] = layout.textured
    poly.cell_data[TEXTURED_ARRAY] = flags
    attach(poly, layout.atlas)
    return poly


def attach(poly, atlas: np.ndarray) -> None:
    """Keep the atlas image on the mesh (field data)."""
    h, w = atlas.shape[:2]
    poly.field_data[ATLAS_ARRAY] = np.ascontiguousarray(atlas[..., :3]).reshape(-1, 3)
    poly.field_data[ATLAS_SHAPE_ARRAY] = np.array([h, w], dtype=np.int64)


def atlas_of(poly) -> np.ndarray | None:
    """The (h, w, 3) uint8 atlas a mesh carries, or None."""
    fd = getattr(poly, "field_data", None)
    if fd is None or ATLAS_ARRAY not in fd or ATLAS_SHAPE_ARRAY not in fd:
        return None
    h, w = (int(v) for v in np.asarray(fd[ATLAS_SHAPE_ARRAY]).ravel()[:2])
    pix = np.asarray(fd[ATLAS_ARRAY], dtype=np.uint8)
    if pix.size != h * w * 3:
        return None
    return pix.reshape(h, w, 3)


def textured_cells(poly) -> np.ndarray | None:
    """(n_cells,) bool: the cells an image draws, or None for an untextured mesh."""
    if TEXTURED_ARRAY not in poly.cell_data or poly.active_texture_coordinates is None:
        return None
    return np.asarray(poly.cell_data[TEXTURED_ARRAY]).astype(bool)
