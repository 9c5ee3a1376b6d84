"""Planned infrastructure: features shown as planned, under construction, built or
removed depending on the clock.

A plan entry names features (by layer and id, or every feature of a layer that
carries plan attributes) with a ``phase``, ``start`` and ``end``. Attributes
``phase``, ``start``, ``end``, ``status`` on the features themselves (e.g. in
``plan.geojson``) work the same way; a scene-file ``[[plans]]`` table wins.
``action = "remove"`` (or ``status = "to_demolish"``) means the feature exists
until ``start``, is being demolished until ``end`` and is gone after.

States are drawn through the layer's per-cell colours (ghost blue for planned,
construction orange) and per-feature visibility (removed, or not yet drawn for a
"build" item when ``hide_planned``) — never one actor per feature.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import numpy as np

from twin.layer import Layer
from twin.scenefile import SceneFileError, _Reader
from twin.sim.clock import ICT, to_ms

NOT_IN_PLAN, PLANNED, CONSTRUCTION, BUILT, REMOVED = -1, 0, 1, 2, 3
STATE_NAMES = {NOT_IN_PLAN: "existing", PLANNED: "planned", CONSTRUCTION: "under construction",
               BUILT: "built", REMOVED: "removed"}
GHOST_RGB = np.array((220, 235, 255), dtype=np.float64)
CONSTRUCTION_RGB = np.array((245, 150, 40), dtype=np.uint8)


@dataclass
class PlanItem:
    """One ``[[plans]]`` table."""

    key: str
    name: str
    layer: str
    phase: str = ""
    start: datetime | None = None
    end: datetime | None = None
    features: list[str] = field(default_factory=list)  # empty = all with plan attributes
    action: str = "build"


def _as_datetime(value: Any) -> datetime | None:
    """TOML dates/datetimes and ISO text -> aware datetime (dates at 00:00 +07:00)."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=ICT)
    if isinstance(value, date):
        return datetime.combine(value, time(0), tzinfo=ICT)
    return None


def parse_plans(path: Path | str, items: Any) -> list[PlanItem]:
    """Validate ``SceneSpec.extra['plans']``; one-line SceneFileErrors."""
    path = Path(path)
    if items is None:
        return []
    if not isinstance(items, list):
        raise SceneFileError(path, "plans", "expected a list of tables ([[plans]])")
    out = []
    for i, table in enumerate(items):
        key = f"plans[{i}]"
        if not isinstance(table, dict):
            raise SceneFileError(path, key, "expected a table")
        r = _Reader(path, table, key)
        item = PlanItem(key=key, name=r.get("name", str), layer=r.get("layer", str),
                        phase=r.get("phase", str, ""))
        for name in ("start", "end"):
            raw = r.get(name, (datetime, date, str), None)
            value = _as_datetime(raw)
            if raw is not None and value is None:
                raise r.fail(name, f"expected a date like 2026-01-01, got {raw!r}")
            setattr(item, name, value)
        if item.start and item.end and to_ms(item.end) < to_ms(item.start):
            raise r.fail("end", "is before start")
        feats = r.get("features", list, [])
        if not all(isinstance(f, str) for f in feats):
            raise r.fail("features", "expected a list of feature ids")
        item.features = list(feats)
        item.action = r.get("action", str, "build")
        if item.action not in ("build", "remove"):
            raise r.fail("action", f'expected "build" or "remove", got {item.action!r}')
        r.check_unknown()
        out.append(item)
    return out


@dataclass
class LayerPlan:
    """Per-feature plan of one layer: start/end in ms (NaN-free int64, -1 = none)."""

    layer: Layer
    start: np.ndarray
    end: np.ndarray
    remove: np.ndarray
    phase: np.ndarray

    def states(self, t_ms: int) -> np.ndarray:
        """(n_features,) int8 state at ``t_ms``."""
        planned = self.start >= 0
        st = np.full(len(self.start), NOT_IN_PLAN, dtype=np.int8)
        before = planned & (t_ms < self.start)
        during = planned & (t_ms >= self.start) & (t_ms < self.end)
        after = planned & (t_ms >= self.end)
        st[before & ~self.remove] = PLANNED
        st[during] = CONSTRUCTION
        st[after & ~self.remove] = BUILT
        st[after & self.remove] = REMOVED
        return st


def layer_plan(layer: Layer, items: list[PlanItem]) -> LayerPlan | None:
    """Combine feature attributes and scene-file items for ``layer`` (None: no plan)."""
    n = len(layer.features)
    start = np.full(n, -1, dtype=np.int64)
    end = np.full(n, -1, dtype=np.int64)
    remove = np.zeros(n, dtype=bool)
    phase = np.full(n, "", dtype=object)
    attrs = layer.features.attributes
    if "start" in attrs:
        for row in range(n):
            s = _as_datetime(attrs["start"][row])
            if s is None:
                continue
            e = _as_datetime(attrs["end"][row]) if "end" in attrs else None
            start[row] = to_ms(s)
            end[row] = to_ms(e) if e else start[row]
            if "status" in attrs:
                remove[row] = str(attrs["status"][row]) in ("to_demolish", "remove", "removed")
            if "phase" in attrs and attrs["phase"][row] is not None:
                phase[row] = str(attrs["phase"][row])
    for item in items:
        # a file with mixed geometry loads as "<name>: <part>" sub-layers
        if item.layer != layer.name and not layer.name.startswith(item.layer + ": "):
            continue
        if item.features:
            ids = set(layer.features.ids.tolist())
            rows = [layer.features.find(f) for f in item.features if f in ids]
        else:
            rows = np.flatnonzero(start >= 0).tolist()
        for row in rows:
            if item.start is not None:
                start[row] = to_ms(item.start)
            if item.end is not None:
                end[row] = to_ms(item.end)
            end[row] = max(end[row], start[row])
            remove[row] = item.action == "remove"
            if item.phase:
                phase[row] = item.phase
    if not (start >= 0).any():
        return None
    return LayerPlan(layer, start, end, remove, phase)


def plan_colors(base: np.ndarray, states: np.ndarray) -> np.ndarray:
    """Apply states to (n, 3) uint8 feature colours: planned = ghost blue-white,
    under construction = orange, built/existing = unchanged."""
    out = base.copy()
    ghost = states == PLANNED
    out[ghost] = np.round(base[ghost] * 0.15 + GHOST_RGB * 0.85).astype(np.uint8)
    out[states == CONSTRUCTION] = CONSTRUCTION_RGB
    return out
