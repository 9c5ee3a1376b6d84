"""Columnar feature table: one row per feature of a layer.

A layer's merged mesh carries an int32 cell array ``feature`` that indexes these
rows, so picking is ``cell -> feature[cell] -> row`` and recolouring is a gather.
Columns are numpy arrays (object dtype for text), never lists of dicts, so a
filter such as ``height > 30`` is one vectorised comparison.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np


def _as_column(values: Any, n: int, name: str) -> np.ndarray:
    arr = np.asarray(values)
    if arr.dtype.kind in "US":
        arr = arr.astype(object)
    if arr.shape != (n,):
        raise ValueError(f"column {name!r} has shape {arr.shape}, expected ({n},)")
    return arr


@dataclass
class FeatureTable:
    """Features of one layer.

    Attributes
    ----------
    ids : (n,) object
        Stable identifiers (source id, GlobalId, ...), as text.
    classes : (n,) object
        Feature class used for styling (``residential``, ``IfcWall`` ...).
    names : (n,) object
        Display names (may be empty strings).
    bounds : (n, 6) float64
        ``xmin, xmax, ymin, ymax, zmin, zmax`` per feature, scene-local metres.
    attributes : mapping of name -> (n,) array
        Every other column of the source, numeric columns as float64 with NaN
        for missing values.
    """

    ids: np.ndarray
    classes: np.ndarray
    names: np.ndarray
    bounds: np.ndarray
    attributes: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = len(self.ids)
        self.ids = _as_column(self.ids, n, "id")
        self.classes = _as_column(self.classes, n, "class")
        self.names = _as_column(self.names, n, "name")
        self.bounds = np.asarray(self.bounds, dtype=np.float64).reshape(n, 6)
        self.attributes = {k: _as_column(v, n, k) for k, v in self.attributes.items()}

    @classmethod
    def empty(cls) -> FeatureTable:
        e = np.empty(0, dtype=object)
        return cls(e, e.copy(), e.copy(), np.empty((0, 6)))

    def __len__(self) -> int:
        return len(self.ids)

    def column(self, name: str) -> np.ndarray:
        """A column by name: ``id``, ``class``, ``name`` or any attribute."""
        builtin = {"id": self.ids, "class": self.classes, "name": self.names}
        if name in builtin:
            return builtin[name]
        try:
            return self.attributes[name]
        except KeyError:
            raise KeyError(f"no column {name!r}; have {', '.join(self.column_names())}") from None

    def column_names(self) -> list[str]:
        return ["id", "class", "name", *self.attributes]

    def row(self, index: int) -> dict[str, Any]:
        """All values of one feature as plain Python values (for the inspector)."""
        out: dict[str, Any] = {
            "id": self.ids[index],
            "class": self.classes[index],
            "name": self.names[index],
        }
        for key, col in self.attributes.items():
            value = col[index]
            out[key] = value.item() if isinstance(value, np.generic) else value
        out["bounds"] = tuple(float(v) for v in self.bounds[index])
        return out

    def class_counts(self) -> dict[str, int]:
        return dict(sorted(Counter(self.classes.tolist()).items()))

    def find(self, feature_id: str) -> int:
        """Row of the feature with this id (first match)."""
        hits = np.flatnonzero(self.ids == feature_id)
        if hits.size == 0:
            raise KeyError(f"no feature with id {feature_id!r}")
        return int(hits[0])

    @staticmethod
    def concat(tables: list[FeatureTable]) -> FeatureTable:
        """Stack tables; attributes missing from a table are filled with None/NaN."""
        if not tables:
            return FeatureTable.empty()
        keys: dict[str, None] = {}
        for t in tables:
            keys.update(dict.fromkeys(t.attributes))
        attrs: dict[str, np.ndarray] = {}
        for key in keys:
            present = [t.attributes[key] for t in tables if key in t.attributes]
            numeric = all(p.dtype.kind in "fiub" for p in present)
            fill = np.nan if numeric else None
            parts = [
                t.attributes[key] if key in t.attributes else np.full(len(t), fill, dtype=object)
                for t in tables
            ]
            attrs[key] = np.concatenate(
                [p.astype(np.float64 if numeric else object) for p in parts]
            )
        return FeatureTable(
            np.concatenate([t.ids for t in tables]),
            np.concatenate([t.classes for t in tables]),
            np.concatenate([t.names for t in tables]),
            np.concatenate([t.bounds for t in tables]),
            attrs,
        )


def feature_bounds(points: np.ndarray, point_feature: np.ndarray, n: int) -> np.ndarray:
    """Per-feature axis-aligned bounds from points tagged with their feature row.

    Parameters
    ----------
    points : (m, 3) float
    point_feature : (m,) int, row of each point
    n : number of features

    Returns
    -------
    (n, 6) float64 ``xmin, xmax, ymin, ymax, zmin, zmax``; NaN for features
    without points.
    """
    out = np.full((n, 6), np.nan)
    if len(points) == 0:
        return out
    for axis in range(3):
        lo = np.full(n, np.inf)
        hi = np.full(n, -np.inf)
        np.minimum.at(lo, point_feature, points[:, axis])
        np.maximum.at(hi, point_feature, points[:, axis])
        out[:, 2 * axis] = lo
        out[:, 2 * axis + 1] = hi
    out[~np.isfinite(out)] = np.nan
    return out


def as_mapping(table: FeatureTable) -> Mapping[str, np.ndarray]:
    """Every column by name, for filters and styling."""
    return {name: table.column(name) for name in table.column_names()}
