"""A layer: one merged mesh plus the feature table its cells point into."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from twin.features import FeatureTable
from twin.style import Style

if TYPE_CHECKING:  # the mesh is a pyvista PolyData; the model never imports pyvista
    import pyvista as pv

    from twin.crs_record import CrsOperation

FEATURE_ARRAY = "feature"


@dataclass
class TreeNode:
    """A node of a layer's hierarchy; ``rows`` are the feature rows directly under it."""

    name: str
    kind: str
    rows: list[int] = field(default_factory=list)
    children: list[TreeNode] = field(default_factory=list)
    id: str = ""

    def all_rows(self) -> list[int]:
        """Rows of this node and every descendant (for per-storey visibility)."""
        out = list(self.rows)
        for child in self.children:
            out.extend(child.all_rows())
        return out


@dataclass(eq=False)
class Layer:
    """One source of data in a scene, drawn by exactly one actor.

    Attributes
    ----------
    name : display name, unique within a scene.
    mesh : merged ``pyvista.PolyData`` in scene-local metres (float32 points
        are fine once the origin is subtracted), with int32 cell data
        ``feature`` giving each cell's row in ``features``.
    features : the feature table.
    kind : what the layer holds (``buildings``, ``roads``, ``areas``,
        ``points``, ``bim`` ...), used for defaults such as pick priority.
    warnings : human-readable problems met while importing (skipped or
        repaired features); the import itself succeeded.
    source : the file it came from, if any.
    crs : the CRS the source was declared in (before reprojection).
    details : optional lazy provider of everything else known about one
        feature (e.g. IFC property and quantity sets), ``row -> {group: {key:
        value}}``; called only when a user inspects a feature.
    tree : optional hierarchy (e.g. IFC project/site/building/storey) as
        :class:`TreeNode`, for the GUI's layer tree.
    info : importer facts shown by ``citytwin info`` (schema, georeferencing
        method, LoD ...), plain JSON-able values.
    origin_shift : what :func:`twin.origin.recentre` has added to the layer's
        local coordinates since it was imported (importers that keep their own
        local grids, e.g. terrain heights, subtract it).
    crs_operations : every CRS operation that put the data into the scene
        (:class:`twin.crs_record.CrsOperation`, plain values), in order.
    """

    name: str
    mesh: pv.PolyData
    features: FeatureTable
    kind: str = "generic"
    style: Style = field(default_factory=Style)
    visible: bool = True
    warnings: list[str] = field(default_factory=list)
    source: Path | None = None
    crs: str | None = None
    details: Callable[[int], dict[str, dict[str, Any]]] | None = None
    tree: TreeNode | None = None
    info: dict[str, Any] = field(default_factory=dict)
    origin_shift: np.ndarray = field(default_factory=lambda: np.zeros(3))
    crs_operations: list[CrsOperation] = field(default_factory=list)

    def __post_init__(self) -> None:
        if FEATURE_ARRAY not in self.mesh.cell_data:
            raise ValueError(f"layer {self.name!r}: mesh has no '{FEATURE_ARRAY}' cell array")
        feat = self.mesh.cell_data[FEATURE_ARRAY]
        if feat.dtype != np.int32:
            self.mesh.cell_data[FEATURE_ARRAY] = feat.astype(np.int32)
        if feat.size and (feat.min() < 0 or feat.max() >= len(self.features)):
            raise ValueError(f"layer {self.name!r}: cell feature index out of range")

    @property
    def cell_features(self) -> np.ndarray:
        """(n_cells,) int32 feature row of every cell."""
        return self.mesh.cell_data[FEATURE_ARRAY]

    @property
    def n_triangles(self) -> int:
        return int(self.mesh.n_cells)

    def feature_details(self, row: int) -> dict[str, dict[str, Any]]:
        """Everything known about one feature beyond its table row (may be slow)."""
        return self.details(row) if self.details is not None else {}

    def feature_at_cell(self, cell_id: int) -> int:
        return int(self.cell_features[cell_id])

    def cells_of(self, rows: np.ndarray) -> np.ndarray:
        """Boolean mask of the cells that belong to the given feature rows."""
        mask = np.zeros(len(self.features), dtype=bool)
        mask[np.asarray(rows, dtype=np.intp)] = True
        return mask[self.cell_features]
