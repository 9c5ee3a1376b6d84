"""Layer styles and the per-cell colours they produce.

A style yields one RGB colour per *feature*; the renderer gathers them to cells
with ``colors[layer.mesh.cell_data["feature"]]``, so restyling a layer of a
million triangles is a numpy gather, not a loop.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from twin.features import FeatureTable

StyleMode = Literal["class", "attribute", "solid", "native"]

#: Default colours by feature class (RGB 0-255): warm for living, cool for work,
#: saturated for public services so they stand out in an overview.
CLASS_PALETTE: dict[str, tuple[int, int, int]] = {
    "residential": (226, 214, 196),
    "shophouse": (236, 190, 150),
    "apartment": (205, 190, 215),
    "office": (150, 185, 220),
    "commercial": (240, 170, 120),
    "school": (250, 220, 90),
    "hospital": (235, 95, 95),
    "station": (190, 80, 200),
    "government": (120, 160, 120),
    "industrial": (165, 160, 150),
    "religious": (210, 140, 60),
    "yes": (220, 210, 195),
    "university": (250, 210, 110),
    "primary": (90, 90, 95),
    "secondary": (110, 110, 115),
    "residential_road": (135, 135, 140),
    "service": (150, 150, 150),
    "rail": (80, 60, 50),
    "park": (120, 180, 100),
    "green": (140, 190, 110),
    "water": (90, 150, 210),
    "river": (80, 140, 200),
    "plaza": (200, 195, 185),
    "parking": (170, 170, 175),
}

HIGHLIGHT_RGB = (255, 230, 0)


@dataclass
class Style:
    """How a layer is coloured.

    ``mode="class"`` uses ``class_colors`` then :data:`CLASS_PALETTE`, and a
    stable hash colour for unknown classes; ``mode="attribute"`` maps a numeric
    column through a matplotlib-named colormap over ``clim`` (auto when None);
    ``mode="solid"`` paints everything ``color``; ``mode="native"`` uses the
    colours the source file carries (IFC styles, CityJSON semantic surfaces):
    a per-cell ``rgb_default`` array on the mesh, else a per-feature hex
    ``color`` attribute, else the class palette.

    ``line_width`` (screen pixels) applies to layers drawn as line cells only
    (alignments, centre lines); surfaces ignore it. ``label`` names the column
    shown as labels (names over buildings, street names on roads).
    """

    mode: StyleMode = "class"
    color: tuple[int, int, int] = (210, 210, 210)
    attribute: str | None = None
    cmap: str = "viridis"
    clim: tuple[float, float] | None = None
    opacity: float = 1.0
    class_colors: dict[str, tuple[int, int, int]] = field(default_factory=dict)
    missing_color: tuple[int, int, int] = (160, 160, 160)
    line_width: float = 3.0
    #: "Label by": the column whose values label the features in the view
    #: (twin.render.labels); None: no labels
    label: str | None = None


def hash_color(name: str) -> tuple[int, int, int]:
    """A stable, mid-brightness colour for a class with no palette entry."""
    h = zlib.crc32(name.encode("utf-8"))
    r, g, b = (h & 0xFF), (h >> 8) & 0xFF, (h >> 16) & 0xFF
    return (80 + r * 150 // 255, 80 + g * 150 // 255, 80 + b * 150 // 255)


def class_colors(classes: np.ndarray, style: Style) -> np.ndarray:
    """(n, 3) uint8 colours, resolving each *distinct* class once."""
    uniq, inverse = np.unique(classes.astype(str), return_inverse=True)
    lut = np.array(
        [style.class_colors.get(c) or CLASS_PALETTE.get(c) or hash_color(c) for c in uniq],
        dtype=np.uint8,
    ).reshape(-1, 3)
    return lut[inverse.ravel()]


def colormap_lut(name: str, n: int = 256) -> np.ndarray:
    """(n, 3) uint8 samples of a named matplotlib colormap (``_r`` reverses it).
    Unknown names raise ValueError naming the colormap."""
    import matplotlib

    try:
        cmap = matplotlib.colormaps[name]
    except KeyError:
        raise ValueError(f"unknown colormap {name!r}") from None
    samples = np.asarray(cmap(np.linspace(0.0, 1.0, n)))[:, :3]
    return np.round(samples * 255).astype(np.uint8)


def attribute_colors(values: np.ndarray, style: Style) -> tuple[np.ndarray, tuple[float, float]]:
    """Map numeric values through the style's colormap; NaN gets ``missing_color``."""
    vals = np.asarray(values, dtype=np.float64)
    finite = np.isfinite(vals)
    if style.clim is not None:
        lo, hi = style.clim
    elif finite.any():
        lo, hi = float(vals[finite].min()), float(vals[finite].max())
    else:
        lo, hi = 0.0, 1.0
    span = hi - lo if hi > lo else 1.0
    lut = colormap_lut(style.cmap)
    idx = np.clip((np.nan_to_num(vals, nan=lo) - lo) / span, 0.0, 1.0) * (len(lut) - 1)
    out = lut[np.round(idx).astype(np.intp)]
    out[~finite] = style.missing_color
    return out, (lo, hi)


NATIVE_CELL_ARRAY = "rgb_default"
#: Optional per-cell opacity a source carries with its native colours: (n_cells,)
#: float32, 0 = invisible .. 1 = opaque (IFC: 1 - IfcSurfaceStyleRendering.Transparency).
#: Importers add it only when some cell is see-through.
NATIVE_OPACITY_ARRAY = "opacity"
NATIVE_COLOR_ATTRIBUTE = "color"


def hex_colors(values: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    """Parse ``#rrggbb`` strings per feature; rows that don't parse keep ``fallback``."""
    out = fallback.copy()
    uniq, inverse = np.unique(np.asarray(values, dtype=object).astype(str), return_inverse=True)
    parsed = np.zeros((len(uniq), 3), dtype=np.uint8)
    ok = np.zeros(len(uniq), dtype=bool)
    for i, text in enumerate(uniq):
        t = text.lstrip("#")
        if len(t) == 6:
            try:
                parsed[i] = [int(t[k : k + 2], 16) for k in (0, 2, 4)]
                ok[i] = True
            except ValueError:
                pass
    good = ok[inverse.ravel()]
    out[good] = parsed[inverse.ravel()][good]
    return out


def feature_colors(table: FeatureTable, style: Style) -> np.ndarray:
    """(n_features, 3) uint8 colours of a layer's features under ``style``."""
    n = len(table)
    if style.mode == "solid" or n == 0:
        return np.tile(np.asarray(style.color, dtype=np.uint8), (n, 1))
    if style.mode == "class":
        return class_colors(table.classes, style)
    if style.mode == "native":
        base = class_colors(table.classes, style)
        if NATIVE_COLOR_ATTRIBUTE in table.attributes:
            return hex_colors(table.attributes[NATIVE_COLOR_ATTRIBUTE], base)
        return base
    if style.mode == "attribute":
        if not style.attribute:
            raise ValueError("attribute style needs an 'attribute' name")
        column = table.column(style.attribute)
        try:
            numeric = column.astype(np.float64)
        except (TypeError, ValueError):
            return class_colors(column, style)
        return attribute_colors(numeric, style)[0]
    raise ValueError(f"unknown style mode {style.mode!r}")


def cell_colors(
    mesh_cell_data, cell_features: np.ndarray, table: FeatureTable, style: Style
) -> np.ndarray:
    """(n_cells, 3) uint8 base colours: per-cell native colours where the style
    asks for them and the mesh has them, else the per-feature colours gathered."""
    if style.mode == "native" and NATIVE_CELL_ARRAY in mesh_cell_data:
        return np.asarray(mesh_cell_data[NATIVE_CELL_ARRAY], dtype=np.uint8).reshape(-1, 3)
    return feature_colors(table, style)[cell_features]


def cell_alpha(mesh_cell_data, style: Style) -> np.ndarray | None:
    """(n_cells,) uint8 alpha (255 = opaque) of the cells' native opacity, or
    None when the layer draws opaque: the style is not ``native``, the mesh
    carries no :data:`NATIVE_OPACITY_ARRAY`, or every cell is opaque anyway.

    Only ``native`` mode is see-through: in the class, attribute and solid
    modes the colour *is* the information (a legend entry), and blending it
    with what lies behind would misreport it. The layer's own opacity
    (``style.opacity``, X-ray) applies on top in every mode.
    """
    if style.mode != "native" or NATIVE_OPACITY_ARRAY not in mesh_cell_data:
        return None
    opacity = np.asarray(mesh_cell_data[NATIVE_OPACITY_ARRAY], dtype=np.float32).reshape(-1)
    alpha = np.round(np.clip(np.nan_to_num(opacity, nan=1.0), 0.0, 1.0) * 255).astype(np.uint8)
    return alpha if (alpha < 255).any() else None
