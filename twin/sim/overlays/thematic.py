"""Thematic colouring: a layer's features by an attribute or by attached sensors.

The result is one RGB per feature plus a :class:`Legend` (colormap, range, unit)
that the app draws and a tour caption can quote.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from twin.layer import Layer
from twin.sim.sensors import SensorSet
from twin.style import colormap_lut, feature_colors


@lru_cache(maxsize=32)
def _lut(cmap: str) -> np.ndarray:
    """Colormap samples, looked up once per name (the lookup costs milliseconds)."""
    lut = colormap_lut(cmap)
    lut.flags.writeable = False
    return lut


def value_colors(vals: np.ndarray, cmap: str,
                 clim: tuple[float, float] | None) -> tuple[np.ndarray, tuple[float, float]]:
    """(n, 3) uint8 colours of values through ``cmap`` over ``clim`` (data range
    when None); NaN rows are left for the caller (they get the first colour)."""
    finite = np.isfinite(vals)
    if clim is not None:
        lo, hi = clim
    elif finite.any():
        lo, hi = float(vals[finite].min()), float(vals[finite].max())
    else:
        lo, hi = 0.0, 1.0
    lut = _lut(cmap)
    scale = (len(lut) - 1) / (hi - lo if hi > lo else 1.0)
    idx = np.clip((np.nan_to_num(vals, nan=lo) - lo) * scale, 0, len(lut) - 1)
    return lut[(idx + 0.5).astype(np.intp)], (lo, hi)


@dataclass
class Legend:
    """What a colour means: ``title`` in ``unit``, ``cmap`` over ``clim``."""

    title: str
    cmap: str
    clim: tuple[float, float]
    unit: str = ""

    def colors(self, n: int = 8) -> np.ndarray:
        """(n, 3) uint8 swatches from low to high, for the app's legend widget."""
        return colormap_lut(self.cmap, n)

    def ticks(self, n: int = 5) -> list[float]:
        return [float(v) for v in np.linspace(self.clim[0], self.clim[1], n)]


def sensor_feature_values(sensors: SensorSet, values: np.ndarray, layer_name: str,
                          n_features: int, kind: str | None = None) -> np.ndarray:
    """(n_features,) mean value of the sensors attached to each feature; NaN where
    none is attached or none has data (bincount, no loop)."""
    sel = (sensors.layer == layer_name) & (sensors.row >= 0) & np.isfinite(values)
    if kind is not None:
        sel &= sensors.kinds == kind
    rows = sensors.row[sel]
    total = np.bincount(rows, weights=values[sel], minlength=n_features)
    count = np.bincount(rows, minlength=n_features)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


@dataclass
class ThematicOverlay:
    """Colour ``layer`` by ``attribute`` (a numeric column) or by the value of the
    sensors of ``kind`` attached to its features. ``clim`` None = data range."""

    layer: str
    attribute: str | None = None
    kind: str | None = None
    cmap: str = "RdYlGn_r"
    clim: tuple[float, float] | None = None
    unit: str = ""

    def colors(self, layer: Layer, sensors: SensorSet,
               values: np.ndarray) -> tuple[np.ndarray, Legend]:
        """(n_features, 3) uint8 and the legend. Features with no value keep a
        washed-out version of their style colour, so the measured ones stand out."""
        n = len(layer.features)
        if self.attribute is not None:
            col = layer.features.column(self.attribute)
            try:
                vals = np.asarray(col, dtype=np.float64)
            except (TypeError, ValueError):
                raise ValueError(f"column {self.attribute!r} is not numeric") from None
            title = self.attribute
        else:
            vals = sensor_feature_values(sensors, values, self.layer, n, self.kind)
            title = self.kind or "sensors"
            if not self.unit and self.kind is not None and (sensors.kinds == self.kind).any():
                self.unit = str(sensors.units[np.flatnonzero(sensors.kinds == self.kind)[0]])
        rgb, clim = value_colors(vals, self.cmap, self.clim)
        missing = ~np.isfinite(vals)
        if missing.any():
            base = feature_colors(layer.features, layer.style)[missing].astype(np.float64)
            rgb[missing] = np.round(base * 0.45 + 255 * 0.55).astype(np.uint8)
        return rgb, Legend(title=title, cmap=self.cmap, clim=clim, unit=self.unit)
