"""Heat map: a scalar (AQI by default) interpolated onto a ground grid.

Inverse-distance weighting (power 2) with every station, vectorised as one
(grid points x stations) matrix; a grid of 120 x 120 over the district with a
dozen stations is well under a millisecond of numpy per clock step. This holds
the grid's points and colours as arrays; the render package draws them
(:func:`twin.render.overlays.heatmap_sheet`) and rewrites its colours in place.
"""

from __future__ import annotations

import numpy as np

from twin.sim.overlays.thematic import Legend
from twin.style import colormap_lut


def idw(known_xy: np.ndarray, known_v: np.ndarray, query_xy: np.ndarray,
        power: float = 2.0) -> np.ndarray:
    """Inverse-distance-weighted values at ``query_xy`` (m, 2) from (k, 2) points.

    NaN knowns are ignored; a query on a known point takes its value exactly;
    with no finite known every result is NaN.
    """
    ok = np.isfinite(known_v)
    if not ok.any():
        return np.full(len(query_xy), np.nan)
    kxy, kv = np.asarray(known_xy)[ok], np.asarray(known_v, dtype=np.float64)[ok]
    d2 = ((query_xy[:, None, :] - kxy[None, :, :]) ** 2).sum(-1)
    exact = d2 < 1e-12
    w = 1.0 / np.maximum(d2, 1e-12) ** (power / 2)
    out = (w @ kv) / w.sum(1)
    hit = exact.any(1)
    out[hit] = kv[exact[hit].argmax(1)]
    return out


class HeatMap:
    """A coloured ground grid over ``bounds`` (scene-local xmin, xmax, ymin, ymax).

    Parameters
    ----------
    resolution : grid points per side.
    cmap, clim, unit : colouring and legend (AQI bands by default: 0-200).
    z : height of the sheet above the ground, metres (above roads and parks).
    """

    def __init__(self, bounds, resolution: int = 120, cmap: str = "RdYlGn_r",
                 clim: tuple[float, float] = (0.0, 200.0), unit: str = "AQI",
                 title: str = "air_quality", z: float = 0.6) -> None:
        xmin, xmax, ymin, ymax = (float(b) for b in bounds[:4])
        #: a ``resolution`` x ``resolution`` grid, x varying fastest
        self.resolution, self.z = int(resolution), float(z)
        self.origin = (xmin, ymin)
        self.spacing = ((xmax - xmin) / (resolution - 1), (ymax - ymin) / (resolution - 1))
        gx, gy = np.meshgrid(np.linspace(xmin, xmax, resolution),
                             np.linspace(ymin, ymax, resolution))
        self.xy = np.column_stack([gx.ravel(), gy.ravel()])
        self.values = np.full(len(self.xy), np.nan)
        #: (n, 3) uint8 colour per grid point, rewritten in place by :meth:`update`
        self.rgb = np.zeros((len(self.xy), 3), dtype=np.uint8)
        self.lut = colormap_lut(cmap)
        self.legend = Legend(title=title, cmap=cmap, clim=clim, unit=unit)

    def update(self, known_xy: np.ndarray, known_v: np.ndarray) -> None:
        self.values = idw(known_xy, known_v, self.xy)
        lo, hi = self.legend.clim
        idx = np.clip((np.nan_to_num(self.values, nan=lo) - lo) / (hi - lo), 0, 1)
        rgb = self.lut[np.round(idx * (len(self.lut) - 1)).astype(np.intp)]
        rgb[~np.isfinite(self.values)] = (200, 200, 200)
        self.rgb[:] = rgb
