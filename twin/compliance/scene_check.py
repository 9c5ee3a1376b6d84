"""A scene's ``[[compliance]]`` checks at one moment of its plan.

The layers a check names are the scene's layers; their 2D geometries come
through ``geometries(layer) -> (geoms, repaired_rows)``, which the caller
supplies (``importers.geometry2d.layer_geometries``: ``twin`` never imports
``importers``). Plan phases decide which buildings exist: a planned building is
checked from its phase's start (under construction counts), a demolished one no
longer after its demolition ends. Without a time, the scene file's ``[scene]
time`` is used; a scene without one is checked as its plan ends (every phase built).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import shapely

from twin.compliance.buildings import BuildingSet, from_columns
from twin.compliance.ifc import ifc_building
from twin.compliance.indicators import DEFAULT_COLUMNS, LotTable, lot_table
from twin.compliance.rules import CheckResult, check
from twin.layer import Layer
from twin.scene import Scene
from twin.scenefile import ComplianceSpec
from twin.sim.clock import to_ms
from twin.sim.overlays.planned import BUILT, CONSTRUCTION, NOT_IN_PLAN, layer_plan, parse_plans

Geometries = Callable[[Layer], tuple[np.ndarray, np.ndarray]]
#: plan states in which a building stands and is checked
STANDING = (NOT_IN_PLAN, CONSTRUCTION, BUILT)


@dataclass
class SceneCheck:
    """A check bound to its scene: lots and geometries read once, re-run per time."""

    scene: Scene
    spec: ComplianceSpec
    lots: LotTable
    lots_layer: Layer
    buildings: BuildingSet
    #: per building layer name: (first row in ``buildings``, LayerPlan or None)
    layers: dict[str, tuple[int, object]] = field(default_factory=dict)
    red_lines: np.ndarray | None = None
    warnings: list[str] = field(default_factory=list)

    def run(self, when: datetime | None) -> CheckResult:
        """The check at ``when`` (None: every planned building built, removed ones gone)."""
        self.buildings.active = self.active(when)
        result = check(self.buildings, self.lots, self.red_lines)
        result.warnings = self.warnings + result.warnings
        return result

    def active(self, when: datetime | None) -> np.ndarray:
        out = np.ones(len(self.buildings), dtype=bool)
        for first, plan in self.layers.values():
            if plan is None:
                continue
            t = to_ms(when) if when is not None else np.iinfo(np.int64).max
            standing = np.isin(plan.states(t), STANDING)
            rows = self.buildings.row[first:]
            if len(rows) and rows[0] < 0:  # a whole IFC model: stands if any part does
                k = int(np.sum(self.buildings.layer[first:] == self.buildings.layer[first]))
                out[first : first + k] = standing.any()
            else:
                out[first : first + len(standing)] = standing
        out &= ~shapely.is_missing(self.buildings.footprints)
        return out


def layers_named(scene: Scene, name: str) -> list[Layer]:
    """The layers a scene-file layer name became (a mixed file: ``name: part``)."""
    return [la for la in scene.layers if la.name == name or la.name.startswith(name + ": ")]


def prepare(scene: Scene, spec: ComplianceSpec, geometries: Geometries) -> SceneCheck:
    """Read the lots, red lines and buildings a ``[[compliance]]`` table names.

    Raises ``KeyError`` naming a layer the scene does not hold.
    """
    columns = {**DEFAULT_COLUMNS, **spec.columns}
    lots_layer = _one_polygon_layer(scene, spec.lots)
    geoms, repaired = geometries(lots_layer)
    lots = lot_table(
        lots_layer.features.ids, geoms, lots_layer.features.attributes, spec.columns,
        spec.below_ground_counts_far, repaired,
    )
    red = None
    if spec.red_lines is not None:
        parts = [geometries(la)[0] for la in layers_named(scene, spec.red_lines)]
        red = np.concatenate(parts) if parts else np.empty(0, dtype=object)
        red = red[~shapely.is_missing(red)]
    plans = parse_plans(scene.spec.path, scene.spec.extra.get("plans")) if scene.spec else []
    sets, layers, first = [], {}, 0
    for name in spec.buildings:
        for layer in layers_named(scene, name):
            if layer.kind == "bim":  # a placed IFC model: one building
                fps, _ = geometries(layer)
                outline = shapely.union_all(fps[~shapely.is_missing(fps)])
                bs = ifc_building(layer, outline, _spaces_of(scene, layer))
            elif layer.kind in ("buildings", "areas"):
                fps, _ = geometries(layer)
                b = layer.features.bounds
                bs = from_columns(
                    layer.features.ids, fps, layer.features.attributes, layer.name,
                    columns["levels"], drawn_top=b[:, 5], drawn_base=b[:, 4],
                )
            else:
                continue  # the road of a plan file, its points, an IFC model's spaces
            layers[layer.name] = (first, layer_plan(layer, plans))
            first += len(bs)
            sets.append(bs)
    if not sets:
        raise KeyError(f"no building layer among {', '.join(spec.buildings)}")
    return SceneCheck(scene, spec, lots, lots_layer, BuildingSet.concat(sets), layers, red)


def _spaces_of(scene: Scene, model: Layer) -> Layer | None:
    """The hidden ``IfcSpace`` layer imported with an IFC model."""
    for la in scene.layers:
        if la.kind == "bim-spaces" and la.source == model.source:
            return la
    return None


def _one_polygon_layer(scene: Scene, name: str) -> Layer:
    found = layers_named(scene, name)
    polys = [la for la in found if la.kind not in ("roads", "lines", "points")]
    if not polys:
        raise KeyError(f"no layer {name!r} with polygons")
    return polys[0]


def check_scene(
    scene: Scene, geometries: Geometries, when: datetime | None = None
) -> list[tuple[SceneCheck, CheckResult]]:
    """Every ``[[compliance]]`` table of the scene, checked at ``when`` (default:
    the scene file's time)."""
    if scene.spec is None:
        return []
    when = when if when is not None else scene.spec.time
    out = []
    for spec in scene.spec.compliance:
        sc = prepare(scene, spec, geometries)
        out.append((sc, sc.run(when)))
    return out
