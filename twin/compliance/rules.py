"""Compare each building and each lot with the lot's limits.

Height, floors and setback are the building's own; density and the land-use
coefficient (FAR) are the lot's, over all its checked buildings, and every
building on a lot that breaks them is reported with the lot's value. A value
equal to its limit complies; the tolerances below are far under what a plan
states (a setback 1 cm short still fails).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import shapely

from twin.compliance.assign import assign_lots
from twin.compliance.buildings import BuildingSet
from twin.compliance.indicators import RULES, LotTable

#: setback search radii (m): start small, widen by 2x for the buildings not yet reached
FIRST_RADIUS_M, LAST_RADIUS_M = 16.0, 4096.0
#: how far past its limit a value may be and still be "equal" (float noise only)
TOLERANCE = {
    "max_height": 1e-3,  # m
    "max_floors": 1e-6,
    "max_density": 1e-6,  # %
    "max_far": 1e-6,
    "setback": 1e-3,  # m: 1 cm short fails
}


@dataclass
class CheckResult:
    """Per building and rule: value, limit (NaN: no rule) and whether it complies."""

    buildings: BuildingSet
    lots: LotTable
    lot: np.ndarray
    #: standing, on a lot, and that lot has at least one indicator
    checked: np.ndarray
    values: dict[str, np.ndarray]
    limits: dict[str, np.ndarray]
    fails: dict[str, np.ndarray]
    lot_density: np.ndarray
    lot_far: np.ndarray
    #: ``setback`` measured to "red_lines" or "lot_boundary"
    setback_from: str = "lot_boundary"
    warnings: list[str] = field(default_factory=list)

    @property
    def failing(self) -> np.ndarray:
        """(n_buildings,) bool: breaks any rule."""
        out = np.zeros(len(self.buildings), dtype=bool)
        for f in self.fails.values():
            out |= f
        return out

    @property
    def failing_lots(self) -> np.ndarray:
        """(n_lots,) bool: any of its buildings breaks a rule."""
        out = np.zeros(len(self.lots), dtype=bool)
        out[self.lot[self.failing & (self.lot >= 0)]] = True
        return out

    @property
    def without_rules(self) -> np.ndarray:
        """(n_buildings,) bool: standing on a lot that has no indicator."""
        return (self.lot >= 0) & ~self.checked

    @property
    def unassigned(self) -> np.ndarray:
        return self.buildings.active & (self.lot < 0)

    def violations(self) -> list[dict]:
        """``{"building", "lot", "rule", "value", "limit"}`` per broken rule,
        in building order, rules in :data:`RULES` order."""
        b_idx, r_idx = np.nonzero(np.column_stack([self.fails[r] for r in RULES]))
        ids, lots = self.buildings.ids, self.lots.ids
        return [
            {
                "building": str(ids[b]),
                "lot": str(lots[self.lot[b]]),
                "rule": RULES[r],
                "value": _round(self.values[RULES[r]][b]),
                "limit": _round(self.limits[RULES[r]][b]),
            }
            for b, r in zip(b_idx.tolist(), r_idx.tolist(), strict=True)
        ]

    def summary(self) -> dict:
        """The ``--json`` document."""
        return {
            "checked": int(self.checked.sum()),
            "violations": self.violations(),
            "unassigned": [str(i) for i in self.buildings.ids[self.unassigned]],
        }


def _round(value: float) -> float:
    return round(float(value), 3)


def check(
    buildings: BuildingSet,
    lots: LotTable,
    red_lines: np.ndarray | None = None,
) -> CheckResult:
    """Check the active buildings against their lots' limits."""
    n, m = len(buildings), len(lots)
    lot, _ = assign_lots(buildings.footprints, lots.geoms)
    lot[~buildings.active] = -1
    assigned = lot >= 0
    on = np.flatnonzero(assigned)
    above = assigned & ~buildings.underground
    lot_area = np.zeros(m)
    live_lots = ~shapely.is_missing(lots.geoms)
    lot_area[live_lots] = shapely.area(lots.geoms[live_lots])
    coverage = _coverage(buildings.footprints, lot, above, m)
    counts_far = assigned & (~buildings.underground | lots.below_ground_far[np.maximum(lot, 0)])
    gfa = np.bincount(lot[counts_far], weights=buildings.gfa[counts_far], minlength=m)
    with np.errstate(divide="ignore", invalid="ignore"):
        lot_density = np.where(lot_area > 0, coverage / lot_area * 100.0, np.nan)
        lot_far = np.where(lot_area > 0, gfa / lot_area, np.nan)
    setback = np.full(n, np.nan)
    setback_from = "lot_boundary"
    # measured where a lot sets a setback: "no rule" needs no value
    measured = on[~buildings.underground[on] & np.isfinite(lots.limits["setback"][lot[on]])]
    if red_lines is not None and len(red_lines):
        setback_from = "red_lines"
        setback[measured] = _nearest_distance(buildings.footprints[measured], red_lines)
    elif measured.size:
        setback[measured] = shapely.distance(
            buildings.footprints[measured], shapely.boundary(lots.geoms[lot[measured]])
        )
    safe = np.maximum(lot, 0)
    values = {
        "max_height": np.where(above, buildings.height, np.nan),
        "max_floors": np.where(above, buildings.floors, np.nan),
        "max_density": np.where(above, lot_density[safe], np.nan),
        "max_far": np.where(assigned, lot_far[safe], np.nan),
        "setback": setback,
    }
    limits = {r: np.where(assigned, lots.limits[r][safe], np.nan) for r in RULES}
    # checked: on a lot with at least one indicator (a lot without any checks nothing)
    checked = assigned & lots.has_rules()[safe]
    fails = {}
    with np.errstate(invalid="ignore"):
        for r in RULES:
            if r == "setback":
                fails[r] = values[r] < limits[r] - TOLERANCE[r]
            else:
                fails[r] = values[r] > limits[r] + TOLERANCE[r]
    return CheckResult(
        buildings, lots, lot, checked, values, limits, fails, lot_density, lot_far,
        setback_from, list(lots.warnings),
    )


def _coverage(footprints: np.ndarray, lot: np.ndarray, take: np.ndarray, m: int) -> np.ndarray:
    """Built-over area per lot: the union of its footprints, so a tower standing
    on its podium is not counted twice. Sums areas, then corrects only the lots
    where footprints overlap (rare), by a union of those lots' footprints."""
    idx = np.flatnonzero(take)
    fps = footprints[idx]
    cover = np.bincount(lot[idx], weights=shapely.area(fps), minlength=m)
    if idx.size < 2:
        return cover
    a, b = shapely.STRtree(fps).query(fps, predicate="intersects")
    keep = (a < b) & (lot[idx[a]] == lot[idx[b]])
    a, b = a[keep], b[keep]
    if a.size:
        shared = shapely.area(shapely.intersection(fps[a], fps[b]))
        for lot_id in np.unique(lot[idx[a[shared > 1e-9]]]):
            mine = fps[lot[idx] == lot_id]
            cover[lot_id] = shapely.area(shapely.union_all(mine))
    return cover


def _nearest_distance(geoms: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Distance from each geometry to the nearest target.

    Lines are split into their straight segments, so a distance costs a few
    vertex pairs however long the red line is. Then, instead of one
    nearest-neighbour query per building (slow in GEOS), a few vectorised
    "within distance" queries with a widening radius (see the loop).
    """
    parts = shapely.get_parts(targets)
    lines = parts[shapely.get_dimensions(parts) == 1]
    areas = parts[shapely.get_dimensions(parts) != 1]
    pieces = [areas] if len(areas) else []
    if len(lines):
        coords, owner = shapely.get_coordinates(lines, return_index=True)
        same = owner[1:] == owner[:-1]
        seg = np.stack([coords[:-1][same], coords[1:][same]], axis=1)
        pieces.append(shapely.linestrings(seg))
    targets = np.concatenate(pieces)
    out = np.full(len(geoms), np.inf)
    todo = np.flatnonzero(~shapely.is_missing(geoms))
    radius = FIRST_RADIUS_M
    # "dwithin" pairs cost a fraction of a nearest-neighbour query each; a
    # geometry with any target within the radius has its nearest among them,
    # and the few left search again with a wider one
    while todo.size and radius <= LAST_RADIUS_M:
        tree = shapely.STRtree(geoms[todo])
        t, g = tree.query(targets, predicate="dwithin", distance=radius)
        g = todo[g]
        np.minimum.at(out, g, shapely.distance(geoms[g], targets[t]))
        todo = todo[~np.isfinite(out[todo])]
        radius *= 2
    if todo.size:
        tree = shapely.STRtree(targets)
        (src, _), dist = tree.query_nearest(geoms[todo], return_distance=True,
                                            all_matches=False)
        np.minimum.at(out, todo[src], dist)
    return out
