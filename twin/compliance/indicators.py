"""The lots layer's planning indicators, read into arrays, with bad lots named.

A lot's columns (default names :data:`DEFAULT_COLUMNS`, renamed per scene) give
its limits. A missing column or an empty value means *no rule*, never zero: the
limit is NaN and nothing is compared. Problems with the lots themselves
(invalid polygons, overlaps, negative limits) become one-line warnings naming
the lot; the check still runs on what is usable.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely

#: the rules, in report order; each is also its lot column's default name
RULES = ("max_height", "max_floors", "max_density", "max_far", "setback")
#: indicator -> default column name (``[[compliance]] columns`` overrides)
DEFAULT_COLUMNS: dict[str, str] = {
    **{rule: rule for rule in RULES},
    "land_use": "land_use",
    #: per lot: do parts below ground count toward the land-use coefficient?
    "far_below_ground": "far_below_ground",
    #: on the building layers: storeys
    "levels": "building:levels",
}
#: overlap below this (m²) is a shared edge drawn twice, not two lots on one spot
OVERLAP_M2 = 0.01
_TRUE = {"1", "true", "yes", "y", "co", "có", "x"}


@dataclass
class LotTable:
    """Lots in scene-local metres with one limit array per rule (NaN: no rule)."""

    ids: np.ndarray
    geoms: np.ndarray
    limits: dict[str, np.ndarray]
    land_use: np.ndarray
    below_ground_far: np.ndarray
    warnings: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def area(self) -> np.ndarray:
        return shapely.area(self.geoms)

    def has_rules(self) -> np.ndarray:
        """(n,) bool: lots with at least one indicator."""
        out = np.zeros(len(self), dtype=bool)
        for values in self.limits.values():
            out |= np.isfinite(values)
        return out


def numeric(values: np.ndarray | None, n: int) -> np.ndarray:
    """A column as float64, text such as ``"12,5"`` parsed; NaN where empty or not a number."""
    if values is None:
        return np.full(n, np.nan)
    arr = np.asarray(values)
    if arr.dtype.kind in "fiub":
        return arr.astype(np.float64)
    out = np.full(n, np.nan)
    for i, v in enumerate(arr):
        if v is None or isinstance(v, bool):
            continue
        with contextlib.suppress(ValueError):
            out[i] = float(str(v).strip().replace(",", "."))
    return out


def flags(values: np.ndarray | None, n: int, default: bool) -> np.ndarray:
    """A yes/no column (1/0, true/false, có/không); ``default`` where empty."""
    if values is None:
        return np.full(n, default)
    return np.array([_flag(v, default) for v in np.asarray(values, dtype=object)], dtype=bool)


def _flag(value: Any, default: bool) -> bool:
    if value is None or value == "" or (isinstance(value, float) and not np.isfinite(value)):
        return default
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | float):
        return value != 0
    return str(value).strip().lower() in _TRUE


def lot_table(
    ids: np.ndarray,
    geoms: np.ndarray,
    attributes: Mapping[str, np.ndarray],
    columns: Mapping[str, str] | None = None,
    below_ground_counts_far: bool = False,
    repaired: np.ndarray | None = None,
) -> LotTable:
    """Read indicators and validate lots.

    ``repaired``: rows the reader already repaired with ``make_valid`` (their
    source polygon was invalid), so the warning can still name them.
    """
    names = {**DEFAULT_COLUMNS, **dict(columns or {})}
    ids = np.asarray(ids, dtype=object)
    geoms = np.asarray(geoms, dtype=object).copy()
    n = len(ids)
    warnings: list[str] = []
    limits = {}
    for rule in RULES:
        values = numeric(attributes.get(names[rule]), n)
        negative = np.flatnonzero(values < 0)
        for row in negative:
            warnings.append(
                f"lot {ids[row]}: {names[rule]} = {values[row]:g} is negative; rule ignored"
            )
        values[negative] = np.nan
        limits[rule] = values
    over = np.flatnonzero(limits["max_density"] > 100)
    for row in over:
        warnings.append(
            f"lot {ids[row]}: {names['max_density']} = {limits['max_density'][row]:g} % "
            "is over 100 %; rule ignored"
        )
    limits["max_density"][over] = np.nan
    land = attributes.get(names["land_use"])
    land_use = (
        np.array(["" if v is None else str(v) for v in land], dtype=object)
        if land is not None
        else np.full(n, "", dtype=object)
    )
    below = flags(attributes.get(names["far_below_ground"]), n, below_ground_counts_far)
    geoms, geom_warnings = _valid_polygons(ids, geoms, repaired)
    warnings.extend(geom_warnings)
    warnings.extend(overlap_warnings(ids, geoms))
    return LotTable(ids, geoms, limits, land_use, below, warnings)


def _valid_polygons(
    ids: np.ndarray, geoms: np.ndarray, repaired: np.ndarray | None
) -> tuple[np.ndarray, list[str]]:
    """Repair invalid lots (``make_valid``, polygonal part kept); lots with no
    area become None and are left out of the check."""
    out: list[str] = []
    if repaired is not None:
        for row in np.asarray(repaired, dtype=np.intp):
            out.append(f"lot {ids[row]}: invalid polygon in the source; repaired (make_valid)")
    missing = shapely.is_missing(geoms)
    live = np.flatnonzero(~missing)
    invalid = live[~shapely.is_valid(geoms[live])]
    for row in invalid:
        reason = shapely.is_valid_reason(geoms[row])
        out.append(f"lot {ids[row]}: invalid polygon ({reason}); repaired (make_valid)")
        fixed = shapely.make_valid(geoms[row])
        geoms[row] = _polygonal(fixed)
    dims = np.full(len(geoms), -1)
    live = ~shapely.is_missing(geoms)
    dims[live] = shapely.get_dimensions(geoms[live])
    area = np.zeros(len(geoms))
    area[live] = shapely.area(geoms[live])
    for row in np.flatnonzero((dims != 2) | (area <= 0)):
        out.append(f"lot {ids[row]}: not a polygon with an area; left out")
        geoms[row] = None
    return geoms, out


def _polygonal(geom: Any) -> Any:
    """The polygons of a ``make_valid`` result (which may add lines or points)."""
    if shapely.get_dimensions(geom) == 2 and geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = shapely.get_parts(geom)
    polys = parts[shapely.get_dimensions(parts) == 2] if len(parts) else parts
    return shapely.union_all(polys) if len(polys) else None


def overlap_warnings(ids: np.ndarray, geoms: np.ndarray) -> list[str]:
    """One line per pair of lots that share area (a plan's lots must not overlap)."""
    live = np.flatnonzero(~shapely.is_missing(geoms))
    if live.size < 2:
        return []
    tree = shapely.STRtree(geoms[live])
    a, b = tree.query(geoms[live])  # bounding boxes only
    keep = a < b
    a, b = live[a[keep]], live[b[keep]]
    # Lots that share only an edge (every lot of a plan has such neighbours)
    # can be told apart cheaply when their boxes do not overlap in area;
    # the rest are intersected.
    box_a, box_b = shapely.bounds(geoms[a]), shapely.bounds(geoms[b])
    w = np.minimum(box_a[:, 2], box_b[:, 2]) - np.maximum(box_a[:, 0], box_b[:, 0])
    h = np.minimum(box_a[:, 3], box_b[:, 3]) - np.maximum(box_a[:, 1], box_b[:, 1])
    keep = w * h > OVERLAP_M2
    a, b = a[keep], b[keep]
    if a.size == 0:
        return []
    shared = shapely.area(shapely.intersection(geoms[a], geoms[b]))
    out = []
    for i in np.flatnonzero(shared > OVERLAP_M2):
        out.append(
            f"lot {ids[a[i]]}: overlaps lot {ids[b[i]]} by {shared[i]:.1f} m²; "
            "a building goes to the lot holding more of it"
        )
    return out
