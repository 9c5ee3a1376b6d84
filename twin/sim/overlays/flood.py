"""Flood: a water surface at a level from a water-level sensor or a slider.

The pilot districts carry no terrain model, so ground elevation is modelled as
rising away from the river: ``ground = bank + slope * distance_to_river`` (metres
above the gauge datum). Water depth is ``level - ground``; a feature is flooded
when there is water at its centre (an underground car park, base below 0, is
counted like any other: water at its entrance floods it). The surface is drawn
as a depth sheet over the flat scene ground; features below it are highlighted
and counted per layer.
"""

from __future__ import annotations

import numpy as np

from twin.layer import Layer

FLOOD_RGB = np.array((40, 110, 215), dtype=np.float64)


def distance_to(points_xy: np.ndarray, targets_xy: np.ndarray) -> np.ndarray:
    """Distance from each (m, 2) point to the nearest (k, 2) target, chunked."""
    out = np.empty(len(points_xy))
    for s in range(0, len(points_xy), 2048):
        d2 = ((points_xy[s : s + 2048, None, :] - targets_xy[None, :, :]) ** 2).sum(-1)
        out[s : s + 2048] = np.sqrt(d2.min(1))
    return out


def river_points(layer: Layer, classes=("river",), spacing: float = 15.0) -> np.ndarray:
    """(k, 2) points on the river polygons (their triangles' vertices and centres)."""
    rows = np.flatnonzero(np.isin(layer.features.classes.astype(str), list(classes)))
    if rows.size == 0:
        return np.empty((0, 2))
    part = layer.mesh.extract_cells(np.flatnonzero(layer.cells_of(rows)))
    pts = np.vstack([np.asarray(part.points)[:, :2], np.asarray(part.cell_centers().points)[:, :2]])
    # thin to about one point per `spacing` metres: the distance matrix stays small
    key = np.unique(np.round(pts / spacing).astype(np.int64), axis=0, return_index=True)[1]
    return pts[key]


class FloodModel:
    """Ground model, water sheet and per-layer flooded features.

    Parameters
    ----------
    river_xy : (k, 2) scene-local points of the river.
    bounds : scene-local (xmin, xmax, ymin, ymax) of the sheet.
    bank, slope : ground elevation at the river bank (m above datum) and its rise
        per metre of distance from the river.
    """

    def __init__(self, river_xy: np.ndarray, bounds, bank: float = 2.5, slope: float = 0.008,
                 resolution: int = 140) -> None:
        self.river_xy = np.asarray(river_xy, dtype=np.float64)
        self.bank, self.slope = float(bank), float(slope)
        xmin, xmax, ymin, ymax = (float(b) for b in bounds[:4])
        #: the ground grid (x varying fastest): the render package builds the sheet
        self.resolution = int(resolution)
        self.origin = (xmin, ymin)
        self.spacing = ((xmax - xmin) / (resolution - 1), (ymax - ymin) / (resolution - 1))
        gx, gy = np.meshgrid(np.linspace(xmin, xmax, resolution),
                             np.linspace(ymin, ymax, resolution))
        self.grid_ground = self.ground(np.column_stack([gx.ravel(), gy.ravel()]))
        self.level: float = np.nan
        #: water depth (m) per grid point at the current level; <= 0 is dry
        self.depth = np.full(len(self.grid_ground), -1.0)
        self._feature_ground: dict[int, np.ndarray] = {}

    def ground(self, xy: np.ndarray) -> np.ndarray:
        if len(self.river_xy) == 0:
            return np.full(len(xy), self.bank)
        return self.bank + self.slope * distance_to(np.asarray(xy, dtype=np.float64),
                                                    self.river_xy)

    def set_level(self, level: float) -> np.ndarray:
        """Water depth per grid point for ``level`` (m above datum); returns it."""
        self.level = float(level)
        if np.isfinite(self.level):
            self.depth = self.level - self.grid_ground
        else:
            self.depth = np.full(len(self.grid_ground), -1.0)
        return self.depth

    @property
    def wet(self) -> bool:
        """Is any of the grid under water?"""
        return bool((self.depth > 0).any())

    def flooded(self, layer: Layer) -> np.ndarray:
        """(n_features,) bool: water at the feature's centre is above its base."""
        key = id(layer)
        g = self._feature_ground.get(key)
        b = layer.features.bounds
        if g is None or len(g) != len(b):
            centres = np.column_stack([(b[:, 0] + b[:, 1]) / 2, (b[:, 2] + b[:, 3]) / 2])
            g = self.ground(np.nan_to_num(centres, nan=1e12))
            self._feature_ground[key] = g
        if not np.isfinite(self.level):
            return np.zeros(len(b), dtype=bool)
        return (self.level - g) > 0.0

    @staticmethod
    def highlight(base: np.ndarray, flooded: np.ndarray) -> np.ndarray:
        out = base.copy()
        out[flooded] = np.round(base[flooded] * 0.35 + FLOOD_RGB * 0.65).astype(np.uint8)
        return out
