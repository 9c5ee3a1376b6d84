"""A placed IFC model as one building: its storeys and its own floor areas.

An IFC file placed in the scene is one project, usually one building; its
elements are not buildings. Floors are its ``IfcBuildingStorey`` nodes (those
starting at or above the ground count toward ``max_floors``; the others are
basements). Gross floor area comes from the model's own quantities when it has
them, spaces first (``Qto_SpaceBaseQuantities.GrossFloorArea``), else floor
slabs (``Qto_SlabBaseQuantities.GrossArea``), and otherwise footprint x floors;
``gfa_source`` says which. Basement storeys become a second, underground row, so
they count toward the land-use coefficient only where the lot says so.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import shapely

from twin.compliance.buildings import GFA_FOOTPRINT, GFA_IFC, LEVEL_HEIGHT, BuildingSet
from twin.layer import Layer, TreeNode

STOREY = "IfcBuildingStorey"
#: (quantity set, quantity) read for floor area, in order of preference
SPACE_AREAS = (("Qto_SpaceBaseQuantities", "GrossFloorArea"), ("BaseQuantities", "GrossFloorArea"))
SLAB_AREAS = (("Qto_SlabBaseQuantities", "GrossArea"), ("BaseQuantities", "GrossArea"))
#: a storey whose lowest element is above this (m) stands above the ground
GROUND_TOLERANCE_M = 0.5


def _walk(node: TreeNode | None) -> Iterator[TreeNode]:
    if node is None:
        return
    yield node
    for child in node.children:
        yield from _walk(child)


def storeys(layer: Layer) -> list[TreeNode]:
    return [n for n in _walk(layer.tree) if n.kind == STOREY]


def _area(layer: Layer, row: int, keys: tuple[tuple[str, str], ...]) -> float | None:
    details = layer.feature_details(row)
    for group, name in keys:
        value = details.get(group, {}).get(name)
        if isinstance(value, int | float) and np.isfinite(value) and value > 0:
            return float(value)
    return None


def quantity_areas(layer: Layer, rows: np.ndarray, keys) -> tuple[float, float, int]:
    """Above- and below-ground sums of a quantity over ``rows``, and how many had it."""
    above = below = 0.0
    found = 0
    zmin = layer.features.bounds[:, 4]
    for row in rows:
        area = _area(layer, int(row), keys)
        if area is None:
            continue
        found += 1
        if zmin[row] >= -GROUND_TOLERANCE_M:
            above += area
        else:
            below += area
    return above, below, found


def ifc_building(layer: Layer, footprint, spaces: Layer | None = None) -> BuildingSet:
    """One row for the model above ground (and one for its basements, if any)."""
    b = layer.features.bounds
    ok = np.all(np.isfinite(b), axis=1)
    top = float(b[ok, 5].max()) if ok.any() else np.nan
    levels = storeys(layer)
    zmin = b[:, 4]
    above_storeys = below_storeys = 0
    for node in levels:
        rows = np.asarray(node.all_rows(), dtype=np.intp)
        rows = rows[ok[rows]] if rows.size else rows
        if rows.size == 0:
            continue
        if zmin[rows].min() >= -GROUND_TOLERANCE_M:
            above_storeys += 1
        else:
            below_storeys += 1
    estimated = above_storeys == 0
    floors = float(above_storeys) if not estimated else float(np.floor(top / LEVEL_HEIGHT + 0.5))
    area_above, area_below, found = 0.0, 0.0, 0
    if spaces is not None and len(spaces.features):
        area_above, area_below, found = quantity_areas(
            spaces, np.arange(len(spaces.features)), SPACE_AREAS)
    if not found:
        slabs = np.flatnonzero(layer.features.classes == "IfcSlab")
        area_above, area_below, found = quantity_areas(layer, slabs, SLAB_AREAS)
    fp_area = float(shapely.area(footprint)) if footprint is not None else 0.0
    source = GFA_IFC if found else GFA_FOOTPRINT
    gfa_above = area_above if found else fp_area * floors
    gfa_below = area_below if found else fp_area * below_storeys
    rows = [(layer.name, top, floors, gfa_above, False)]
    if below_storeys or area_below > 0:
        rows.append((f"{layer.name} (below ground)", np.nan, np.nan, gfa_below, True))
    n = len(rows)
    return BuildingSet(
        ids=np.array([r[0] for r in rows], dtype=object),
        layer=np.full(n, layer.name, dtype=object),
        row=np.full(n, -1, dtype=np.int64),  # the whole model
        footprints=np.array([footprint] * n, dtype=object),
        height=np.array([r[1] for r in rows]),
        floors=np.array([r[2] for r in rows]),
        floors_estimated=np.array([estimated and not r[4] for r in rows]),
        gfa=np.array([r[3] for r in rows]),
        gfa_source=np.full(n, source, dtype=object),
        underground=np.array([r[4] for r in rows]),
        active=np.ones(n, dtype=bool),
    )
