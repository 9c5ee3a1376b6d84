"""What the rules need of each building: footprint, height, floors, gross floor area.

Heights and floors follow the vector importer's reading of the same columns
(``height``, ``min_height``, ``building:levels``, 3.2 m a storey), so the
building checked is the building drawn. Floors from ``height / 3.2`` are marked
as estimates; gross floor area is footprint x floors unless a placed IFC model
supplies its own (storeys and BaseQuantities areas), and says which.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import shapely

from twin.compliance.indicators import numeric

LEVEL_HEIGHT = 3.2
#: ``gfa_source`` values
GFA_FOOTPRINT, GFA_IFC = "footprint_x_floors", "ifc_quantities"


@dataclass
class BuildingSet:
    """Buildings of one or more layers, one row each, footprints in scene-local metres.

    ``height`` is the top above the ground (NaN for parts entirely below it);
    ``floors`` the storeys counted against ``max_floors`` (above ground);
    ``gfa`` the gross floor area (below-ground storeys included for
    underground parts); ``active`` False for a planned building not yet
    started, or one already demolished, at the checked time.
    """

    ids: np.ndarray
    layer: np.ndarray
    row: np.ndarray
    footprints: np.ndarray
    height: np.ndarray
    floors: np.ndarray
    floors_estimated: np.ndarray
    gfa: np.ndarray
    gfa_source: np.ndarray
    underground: np.ndarray
    active: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def area(self) -> np.ndarray:
        return shapely.area(self.footprints)

    @staticmethod
    def concat(sets: list[BuildingSet]) -> BuildingSet:
        if not sets:
            return from_columns(np.empty(0, dtype=object), np.empty(0, dtype=object), {})
        fields = BuildingSet.__dataclass_fields__
        return BuildingSet(**{k: np.concatenate([getattr(s, k) for s in sets]) for k in fields})


def from_columns(
    ids: np.ndarray,
    footprints: np.ndarray,
    attributes: Mapping[str, np.ndarray],
    layer: str = "",
    levels_column: str = "building:levels",
    drawn_top: np.ndarray | None = None,
    drawn_base: np.ndarray | None = None,
) -> BuildingSet:
    """A vector layer's buildings from its columns.

    Height: ``height``, else ``building:levels`` x 3.2 m, else the drawn top
    (``drawn_top``: the importer's default height). A ``height`` at or below 0
    over a lower ``min_height`` is a part below ground, as in the importer.
    Floors: ``levels_column``, else round(height / 3.2), an estimate. Storeys
    under a raised base (a tower on its podium, a canopy on columns) are not
    floor area: ``building:min_level``, else round(min_height / 3.2).
    """
    n = len(ids)
    height = numeric(attributes.get("height"), n)
    base = numeric(attributes.get("min_height"), n)
    levels = numeric(attributes.get(levels_column), n)
    min_level = numeric(attributes.get("building:min_level"), n)
    underground = np.isfinite(height) & (height <= 0) & np.isfinite(base) & (base < height)
    fallback = np.where(levels > 0, levels * LEVEL_HEIGHT, np.nan)
    if drawn_top is not None:
        fallback = np.where(np.isfinite(fallback), fallback, np.asarray(drawn_top, float))
    height = np.where(~(height > 0) & ~underground, fallback, height)
    if drawn_base is not None:
        base = np.where(np.isfinite(base), base, np.asarray(drawn_base, float))
    base = np.where(np.isfinite(base), base, 0.0)
    has_levels = levels > 0
    estimated = ~has_levels & ~underground
    floors = np.where(has_levels, levels, _storeys(height))
    skipped = np.where(
        min_level > 0, min_level, np.where(base > 0, _storeys(base), 0.0)
    )
    gfa_floors = np.maximum(floors - skipped, 0.0)
    # below ground: the levels column counts the basement storeys if given
    depth = np.where(underground, height - base, 0.0)
    below_floors = np.where(has_levels, levels, np.maximum(_storeys(depth), 1.0))
    gfa_floors = np.where(underground, below_floors, gfa_floors)
    area = shapely.area(footprints) if n else np.zeros(0)
    return BuildingSet(
        ids=np.asarray(ids, dtype=object),
        layer=np.full(n, layer, dtype=object),
        row=np.arange(n, dtype=np.int64),
        footprints=np.asarray(footprints, dtype=object),
        height=np.where(underground, np.nan, height),
        floors=np.where(underground, np.nan, floors),
        floors_estimated=estimated,
        gfa=area * gfa_floors,
        gfa_source=np.full(n, GFA_FOOTPRINT, dtype=object),
        underground=underground,
        active=np.ones(n, dtype=bool),
    )


def _storeys(height: np.ndarray) -> np.ndarray:
    """Storeys of a height at 3.2 m each, rounded half up (12 m -> 4)."""
    with np.errstate(invalid="ignore"):
        return np.floor(np.asarray(height, float) / LEVEL_HEIGHT + 0.5)
