"""Sun study over the plan: which features stand at a time, and what a phase does
to the sun-hours around it.

A planned feature casts a shadow once it is physically there: while it is being
built (CONSTRUCTION: scaffolding and a growing frame already shade) and after
(BUILT). A feature still only PLANNED, or REMOVED after its demolition, does not.
Features outside the plan (NOT_IN_PLAN) always stand. Demolitions stand while
being torn down (CONSTRUCTION) and vanish only when REMOVED.

Everything here is data: no Qt and no rendering objects.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date as Date
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

import numpy as np

from twin.analysis.sunhours import sun_hours_difference
from twin.sim.clock import ICT, from_ms, to_ms
from twin.sim.overlays.planned import BUILT, CONSTRUCTION, NOT_IN_PLAN, LayerPlan

if TYPE_CHECKING:
    from twin.scene import Scene

#: plan states whose features cast shadows
STANDING_STATES = (NOT_IN_PLAN, CONSTRUCTION, BUILT)


class HasPlans(Protocol):
    """What this module needs of a :class:`twin.sim.simulation.Simulation`."""

    plans: dict[str, LayerPlan]


def _ms(when: datetime | int) -> int:
    return int(when) if isinstance(when, (int, np.integer)) else to_ms(when)


def plan_masks(sim: HasPlans, when: datetime | int) -> dict[str, np.ndarray]:
    """Per planned layer, a boolean mask of the features standing at ``when``
    (aware datetime or epoch ms). Layers without a plan are not listed: all
    their features stand."""
    t = _ms(when)
    return {name: np.isin(lp.states(t), STANDING_STATES) for name, lp in sim.plans.items()}


def hidden_masks(sim: HasPlans, when: datetime | int) -> dict[str, np.ndarray]:
    """The complement of :func:`plan_masks`: what sun-hours must leave out."""
    return {name: ~mask for name, mask in plan_masks(sim, when).items()}


@dataclass(frozen=True)
class Phase:
    """One plan phase over all layers: its label and when it starts and ends (ms)."""

    label: str
    start_ms: int
    end_ms: int

    @property
    def start(self) -> datetime:
        return from_ms(self.start_ms, ICT)

    @property
    def end(self) -> datetime:
        return from_ms(self.end_ms, ICT)


def plan_phases(sim: HasPlans) -> list[Phase]:
    """The plan's phases in start order; a feature with no phase name counts
    under its layer's name, so every planned feature belongs to one phase."""
    spans: dict[str, tuple[int, int]] = {}
    for name, lp in sim.plans.items():
        planned = lp.start >= 0
        for row in np.flatnonzero(planned):
            label = str(lp.phase[row]) if lp.phase[row] else name
            s, e = int(lp.start[row]), int(lp.end[row])
            lo, hi = spans.get(label, (s, e))
            spans[label] = (min(lo, s), max(hi, e))
    return sorted((Phase(k, s, e) for k, (s, e) in spans.items()), key=lambda p: p.start_ms)


def before_after_phase(
    scene: Scene,
    sim: HasPlans,
    points: np.ndarray,
    normals: np.ndarray | None,
    date: str | Date,
    phase_time: datetime | int,
    step_min: float = 15,
    before_time: datetime | int | None = None,
    layers: Sequence[str] | None = None,
    backend: str | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(before, after, after - before) sun-hours on ``date`` with the plan as it
    stands just before ``phase_time`` (1 ms earlier, or at ``before_time``) and
    at ``phase_time``. Pass a phase's end as ``phase_time`` and its start as
    ``before_time`` to see the whole phase, demolitions included."""
    t_after = _ms(phase_time)
    t_before = _ms(before_time) - 1 if before_time is not None else t_after - 1
    if layers is None:
        # the plan decides which planned features stand, whether or not their layer
        # is drawn at the moment; other layers count when visible
        layers = [la.name for la in scene.layers if la.visible or la.name in sim.plans]
    return sun_hours_difference(
        scene,
        points,
        normals,
        date,
        with_hidden=hidden_masks(sim, t_after),
        without_hidden=hidden_masks(sim, t_before),
        step_min=step_min,
        layers=layers,
        backend=backend,
    )
