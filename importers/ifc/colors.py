"""Fallback colours for IFC elements that carry no style of their own.

Chosen to read like an authoring tool's default view: light walls and slabs,
terracotta roofs, glazing light blue and see-through, timber doors, steel grey
structure, grass-green site terrain.
"""

from __future__ import annotations

import numpy as np

#: IFC class (without StandardCase/ElementedCase) -> (r, g, b, transparency).
PALETTE: dict[str, tuple[int, int, int, float]] = {
    "IfcWall": (232, 228, 218, 0.0),
    "IfcCurtainWall": (170, 200, 225, 0.5),
    "IfcSlab": (200, 200, 196, 0.0),
    "IfcRoof": (178, 92, 66, 0.0),
    "IfcCovering": (214, 210, 200, 0.0),
    "IfcWindow": (160, 200, 230, 0.6),
    "IfcPlate": (170, 200, 225, 0.5),
    "IfcDoor": (150, 105, 70, 0.0),
    "IfcColumn": (185, 185, 190, 0.0),
    "IfcBeam": (170, 170, 178, 0.0),
    "IfcMember": (160, 160, 168, 0.0),
    "IfcStair": (205, 200, 190, 0.0),
    "IfcStairFlight": (205, 200, 190, 0.0),
    "IfcRamp": (205, 200, 190, 0.0),
    "IfcRampFlight": (205, 200, 190, 0.0),
    "IfcRailing": (90, 90, 95, 0.0),
    "IfcFooting": (175, 170, 160, 0.0),
    "IfcPile": (175, 170, 160, 0.0),
    "IfcSite": (150, 185, 120, 0.0),
    "IfcGeographicElement": (130, 175, 100, 0.0),
    "IfcSpace": (120, 170, 230, 0.8),
    "IfcFurnishingElement": (196, 160, 110, 0.0),
    "IfcFurniture": (196, 160, 110, 0.0),
    "IfcFlowSegment": (120, 150, 190, 0.0),
    "IfcFlowTerminal": (230, 230, 235, 0.0),
    "IfcFlowFitting": (120, 150, 190, 0.0),
    "IfcDistributionElement": (120, 150, 190, 0.0),
    "IfcBuildingElementProxy": (205, 190, 160, 0.0),
    "IfcReinforcingBar": (140, 70, 60, 0.0),
    "IfcReinforcingElement": (140, 70, 60, 0.0),
    "IfcPavement": (95, 95, 100, 0.0),
    "IfcCourse": (110, 110, 115, 0.0),
    "IfcKerb": (175, 175, 170, 0.0),
    "IfcEarthworksFill": (170, 140, 100, 0.0),
    "IfcEarthworksCut": (170, 140, 100, 0.0),
    "IfcRail": (110, 100, 95, 0.0),
    "IfcTrackElement": (130, 110, 90, 0.0),
    "IfcSign": (235, 200, 60, 0.0),
    "IfcSignal": (220, 80, 60, 0.0),
    "IfcBearing": (150, 150, 155, 0.0),
    "IfcTendon": (140, 70, 60, 0.0),
}
DEFAULT: tuple[int, int, int, float] = (205, 205, 205, 0.0)


def _base_name(cls: str) -> str:
    for suffix in ("StandardCase", "ElementedCase"):
        if cls.endswith(suffix) and len(cls) > len(suffix) + 3:
            return cls[: -len(suffix)]
    return cls


def palette_for(classes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-row fallback colour (n, 3) uint8 and transparency (n,) float,
    resolving each distinct class once."""
    uniq, inverse = np.unique(np.asarray(classes, dtype=object).astype(str), return_inverse=True)
    table = [PALETTE.get(_base_name(c), PALETTE.get(c, DEFAULT)) for c in uniq]
    rgb = np.array([t[:3] for t in table], dtype=np.uint8).reshape(-1, 3)
    alpha = np.array([t[3] for t in table], dtype=np.float64)
    inverse = inverse.ravel()
    return rgb[inverse], alpha[inverse]


def to_hex(rgb: np.ndarray) -> np.ndarray:
    """(n, 3) uint8 -> (n,) object array of ``#rrggbb``."""
    rgb = np.asarray(rgb, dtype=np.uint32).reshape(-1, 3)
    packed = (rgb[:, 0] << 16) | (rgb[:, 1] << 8) | rgb[:, 2]
    uniq, inverse = np.unique(packed, return_inverse=True)
    text = np.array([f"#{int(v):06x}" for v in uniq], dtype=object)
    return text[inverse.ravel()]
