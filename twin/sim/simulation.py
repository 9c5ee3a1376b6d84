"""Scene + Clock + Store + feeds + overlay data: everything time-dependent.

This is the one object the GUI, the tour exporter and tests use::

    sim = Simulation.from_scene(scene)      # sensors, feeds, plans of scene.spec
    sim.start()                             # feeds run in their own threads
    sim.clock.set_time(t)                   # -> sim.update() -> events.updated
    sim.values, sim.levels, sim.alerts.alerts, sim.legends, sim.flood_counts

It holds numpy arrays and announces changes; it never draws. The render
package (:class:`twin.render.overlays.SimulationOverlay`) listens to
``events.updated`` and turns the arrays into glyphs, the heat map, the water
sheet and status outlines, in the window and offscreen alike.

Updates are cheap numpy work (values-at-t is one grouped SQLite query; colours
are gathers into existing arrays), so the app may call :meth:`update` from its
clock timer at 10-30 Hz.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
from psygnal import Signal, SignalGroup

from twin.scene import Scene
from twin.sim.clock import ICT, Clock, from_ms, to_ms
from twin.sim.feeds import make_feeds
from twin.sim.feeds.base import Feed
from twin.sim.feeds.synthetic import SyntheticFeed
from twin.sim.health import FeedHealth, HealthMonitor
from twin.sim.overlays.alerts import AlertMonitor
from twin.sim.overlays.flood import FloodModel, river_points
from twin.sim.overlays.heatmap import HeatMap
from twin.sim.overlays.planned import (
    CONSTRUCTION,
    PLANNED,
    REMOVED,
    LayerPlan,
    PlanItem,
    layer_plan,
    parse_plans,
)
from twin.sim.overlays.thematic import Legend, ThematicOverlay
from twin.sim.rules import HistoryRules, flood_warning
from twin.sim.sensors import SensorSet, parse_sensors, resolve_sensors
from twin.sim.store import HistoryStore

log = logging.getLogger(__name__)

#: Feature status codes, in rising precedence: a feature shows the highest one it
#: has, as a coloured outline (the fill is always the user's "Colour by").
STATUS_NONE, STATUS_PLANNED, STATUS_CONSTRUCTION, STATUS_FLOODED, STATUS_WARNING, \
    STATUS_ALARM = range(6)
STATUS_RGB = np.array(
    [(0, 0, 0), (120, 190, 255), (255, 140, 0), (0, 215, 235), (250, 170, 30), (230, 30, 30)],
    dtype=np.uint8,
)


@dataclass(frozen=True)
class TimeRange:
    """A span of the timeline that has something to show: ``kind`` is
    ``"sensors"``, ``"plan"`` or ``"tour"``; ``start``/``end`` in epoch ms (the
    store's unit), so the timeline draws them without converting."""

    kind: str
    label: str
    start: int
    end: int


#: what :meth:`Simulation.values_status` says per sensor
STATUS_OK, STATUS_NO_DATA = "ok", "no data at this time"


class SimulationEvents(SignalGroup):
    """What the render package listens to; the simulation never knows who listens."""

    #: values, levels, plan states, flood and thematic colours were recomputed
    updated = Signal()


@dataclass
class SimOptions:
    """Which overlays are on (the app's toggles read and write these)."""

    glyphs: bool = True
    heatmap_kind: str | None = "air_quality"
    heatmap_opacity: float = 0.45
    alerts: bool = True
    planned: bool = True
    flood: bool = True
    glyph_size: float = 12.0


class Simulation:
    """Everything time-dependent about a scene."""

    def __init__(self, scene: Scene, sensors: SensorSet, store: HistoryStore,
                 feeds: list[Feed] | None = None, plans: list[PlanItem] | None = None,
                 clock: Clock | None = None, options: SimOptions | None = None) -> None:
        self.scene, self.sensors, self.store = scene, sensors, store
        self.feeds = list(feeds or [])
        #: per-feed state, rate, errors and problems for the window (twin.sim.health)
        self.health = HealthMonitor(self.feeds)
        self.options = options or SimOptions()
        self.plans: dict[str, LayerPlan] = {}
        for layer in scene.layers:
            lp = layer_plan(layer, plans or [])
            if lp is not None:
                self.plans[layer.name] = lp
        self.clock = clock or self._default_clock()
        self.alerts = AlertMonitor(sensors, stamp=self._message_time)
        #: history rules (leak by night minimum flow, pressure drop): twin.sim.rules
        self.rules = HistoryRules(sensors, store)
        #: district flood warning (river gauges + manholes) and its causes, kind -> count
        self.flood_warning: tuple[int, dict[str, int]] = (-1, {})
        self.values = np.full(len(sensors), np.nan)
        self.levels = np.full(len(sensors), -1, dtype=np.int8)
        self.plan_states: dict[str, np.ndarray] = {}
        self.thematic: dict[str, ThematicOverlay] = {}
        self.legends: dict[str, Legend] = {}
        self.flood_level_override: float | None = None
        self.flood_counts: dict[str, int] = {}
        self.flood: FloodModel | None = None
        self.heatmap: HeatMap | None = None
        self.events = SimulationEvents()
        self._bound = False
        self._was_visible: dict[str, bool] = {}
        self._hidden_by_plan: dict[str, np.ndarray] = {}
        bounds = scene.local_bounds(visible_only=False)
        if bounds is not None and self.options.flood:
            self._make_flood(bounds)
        if self.options.glyphs or self.options.heatmap_kind:
            self.make_heatmap()
        self.clock.events.time_changed.connect(self._on_time)

    # -- construction ------------------------------------------------------------------
    @classmethod
    def from_scene(cls, scene: Scene, store_path: Path | str = ":memory:",
                   start_feeds: bool = False, options: SimOptions | None = None) -> Simulation:
        """Build from the ``sensors``, ``feeds`` and ``plans`` of ``scene.spec``."""
        spec = scene.spec
        extra = spec.extra if spec is not None else {}
        path = spec.path if spec is not None else Path("scene")
        sensors = resolve_sensors(parse_sensors(path, extra.get("sensors")), scene, path)
        store = HistoryStore(store_path, sensors.ids.tolist())
        feeds = make_feeds(path, extra.get("feeds"), sensors, store)
        plans = parse_plans(path, extra.get("plans"))
        sim = cls(scene, sensors, store, feeds, plans, options=options)
        if start_feeds:
            sim.start()
        return sim

    def _default_clock(self) -> Clock:
        """A timeline from the synthetic demo window (else the store's data, else
        the last day) to the end of the last planned project, so one slider
        scrubs both sensor history and the plan's phases."""
        synth = [f for f in self.feeds if isinstance(f, SyntheticFeed)]
        step = timedelta(minutes=15)
        if synth:
            start = min(to_ms(f.start_time) for f in synth)
            end = max(to_ms(f.end_time) for f in synth)
            step = min(f.step for f in synth)
        elif (rng := self.store.time_range()) is not None:
            start, end = rng
        else:
            now = datetime.now(ICT).replace(minute=0, second=0, microsecond=0)
            start, end = to_ms(now - timedelta(days=1)), to_ms(now + timedelta(hours=1))
        for lp in self.plans.values():
            ends = lp.end[lp.end >= 0]
            if ends.size:
                end = max(end, int(ends.max()) + 90 * 86_400_000)
        return Clock(from_ms(start), from_ms(end), step=step)

    def start(self) -> None:
        """Start every feed in its own thread."""
        for feed in self.feeds:
            feed.start()

    def add_feed(self, feed: Feed, start: bool = True) -> Feed:
        """A feed connected while running (the window's "Connect feed…"): it
        writes into this simulation's store, and stops with it on :meth:`close`."""
        self.feeds.append(feed)
        self.health.feeds.append(feed)  # shown in the health dock like the scene's feeds
        if hasattr(feed, "stale_s"):
            feed.stale_s = self.health.stale_after(feed)
        if start:
            feed.start()
        return feed

    def remove_feed(self, feed: Feed) -> None:
        feed.stop(timeout=2.0)
        for feeds in (self.feeds, self.health.feeds):
            if feed in feeds:
                feeds.remove(feed)

    def run_feeds_now(self) -> None:
        """Run the finite feeds (synthetic, CSV) to completion in this thread, for
        headless renders and tests; live feeds are left alone."""
        for feed in self.feeds:
            if feed.kind in ("synthetic", "csv"):
                feed._guarded_run()
        if not any(f.kind == "synthetic" for f in self.feeds):
            rng = self.store.time_range()
            if rng is not None:
                self.clock.start, self.clock.end = from_ms(rng[0]), from_ms(rng[1])

    def close(self) -> None:
        for feed in self.feeds:
            feed.stop(timeout=2.0)
        self.clock.events.time_changed.disconnect(self._on_time)
        self.release_scene()
        self.store.close()

    # -- the timeline --------------------------------------------------------------------
    def time_ranges(self, tours: Iterable[tuple[str, datetime | int, datetime | int]] = ()
                    ) -> list[TimeRange]:
        """What has data, per source: the sensor history (from the store), each
        plan phase (per layer, from its LayerPlan), and ``tours`` given as
        ``(label, start, end)`` with aware datetimes or ms. The timeline draws
        them as bands and offers jumps to their starts."""
        out: list[TimeRange] = []
        rng = self.store.time_range()
        if rng is not None:
            out.append(TimeRange("sensors", "sensors", rng[0], rng[1]))
        for name, lp in self.plans.items():
            planned = lp.start >= 0
            for phase in sorted(set(lp.phase[planned].tolist()), key=str):
                rows = planned & (lp.phase == phase)
                label = f"{name}: {phase}" if phase else name
                out.append(TimeRange("plan", label, int(lp.start[rows].min()),
                                     int(lp.end[rows].max())))
        for label, start, end in tours:
            out.append(TimeRange("tour", str(label), _ms(start), _ms(end)))
        return out

    def nearest_data_time(self, t: datetime | int, sensor_row: int | None = None
                          ) -> datetime | None:
        """The time nearest ``t`` where ``sensor_row`` (None: any sensor) has a
        value in the store, so "no data at this time" can offer where data are."""
        ms = self.store.nearest_time(_ms(t), sensor_row)
        return None if ms is None else from_ms(ms)

    def values_status(self) -> list[str]:
        """Per sensor, why its value shows or not at the clock time:
        ``STATUS_OK`` or ``STATUS_NO_DATA`` (no observation within the store's
        freshness window, or a gap), instead of a bare dash."""
        ok = np.isfinite(np.asarray(self.values, dtype=float))
        return np.where(ok, STATUS_OK, STATUS_NO_DATA).tolist()

    def _message_time(self, row: int, t_ms: int) -> int | None:
        """Alerts' stamp: the time of the observation behind a value."""
        try:
            return self.store.observed_at(row, t_ms)
        except Exception:  # a broken store must not stop alerts
            return None

    @property
    def live(self) -> bool:
        return self.alerts.live

    def set_live(self, on: bool) -> None:
        """Live mode: the clock follows wall time (:meth:`follow_now`) and only
        crossings seen now are live alerts."""
        self.alerts.live = bool(on)
        if on:
            self.follow_now()

    def follow_now(self, now: datetime | None = None) -> None:
        """Extend the clock's end to ``now`` (default: wall time) and move there,
        so values just written by a live feed show without scrubbing."""
        now = now or datetime.now(ICT)
        if to_ms(now) > to_ms(self.clock.end):
            self.clock.end = now
        self.clock.set_time(now)

    def feed_reports(self) -> list[dict]:
        return [f.report() for f in self.feeds]

    def feed_health(self, now: float | None = None) -> list[FeedHealth]:
        """Each feed's state (connected / reconnecting / stale / error ...), last data
        time, rate, errors and problems, polled now (see :mod:`twin.sim.health`)."""
        return self.health.poll(now)

    # -- the scene -----------------------------------------------------------------------
    def bind_scene(self) -> None:
        """Let the clock drive the scene: planned projects' layers become visible
        (the clock decides which of their features stand) and removed features
        are hidden. :meth:`release_scene` puts the user's visibility back."""
        if self._bound:
            return
        self._bound = True
        if self.options.planned:
            self._was_visible = {name: self.scene.layer(name).visible for name in self.plans}
            for name in self.plans:
                self.scene.set_visible(self.scene.layer(name), True)
        self.update()

    def release_scene(self) -> None:
        if not self._bound:
            return
        self._bound = False
        for name, hide in self._hidden_by_plan.items():
            if hide.any() and _has_layer(self.scene, name):
                self.scene.set_feature_visibility(self.scene.layer(name), np.flatnonzero(hide),
                                                  True)
        self._hidden_by_plan = {}
        for name, visible in self._was_visible.items():
            if _has_layer(self.scene, name):
                self.scene.set_visible(self.scene.layer(name), visible)
        self._was_visible = {}

    @property
    def heatmap_rows(self) -> np.ndarray:
        """Sensor rows the heat map interpolates (empty when it is off)."""
        kind = self.options.heatmap_kind
        return self.sensors.of_kind(kind) if kind else np.empty(0, dtype=np.intp)

    def make_heatmap(self) -> HeatMap | None:
        """The heat-map grid over the scene (None: off, or no sensor of its kind)."""
        rows = self.heatmap_rows
        bounds = self.scene.local_bounds(visible_only=False)
        if bounds is None or rows.size == 0:
            return None
        heatmap = HeatMap(bounds, unit=str(self.sensors.units[rows[0]]),
                          title=str(self.options.heatmap_kind))
        self.heatmap = heatmap
        self.legends["heatmap"] = heatmap.legend
        return heatmap

    def _make_flood(self, bounds) -> None:
        rows = self.sensors.of_kind("water_level")
        if rows.size == 0 and self.flood_level_override is None:
            return
        river = np.empty((0, 2))
        for layer in self.scene.layers:
            if layer.kind == "areas" or "river" in set(layer.features.classes.astype(str)):
                river = np.vstack([river, river_points(layer)])
        params = self.sensors.params[int(rows[0])] if rows.size else {}
        self.flood = FloodModel(river, bounds, bank=params.get("bank", 2.5),
                                slope=params.get("slope", 0.008))

    def set_thematic(self, layer_name: str, attribute: str | None = None,
                     kind: str | None = None, cmap: str = "RdYlGn_r",
                     clim: tuple[float, float] | None = None) -> None:
        """Colour a layer by an attribute or by its attached sensors of ``kind``;
        both None turns thematic colouring of that layer off."""
        self.scene.layer(layer_name)
        if attribute is None and kind is None:
            self.thematic.pop(layer_name, None)
            self.legends.pop(f"thematic:{layer_name}", None)
        else:
            self.thematic[layer_name] = ThematicOverlay(layer_name, attribute, kind, cmap, clim)
        self.update()

    def set_flood_level(self, level: float | None) -> None:
        """Slider: force the water level (m above datum); None follows the sensor."""
        self.flood_level_override = level
        if self.flood is None and level is not None:
            bounds = self.scene.local_bounds(visible_only=False)
            if bounds is not None:
                self._make_flood(bounds)
        self.update()

    def _on_time(self, _t) -> None:
        self.update()

    def flood_level(self) -> float:
        if self.flood_level_override is not None:
            return float(self.flood_level_override)
        rows = self.sensors.of_kind("water_level")
        vals = self.values[rows]
        return float(np.nanmax(vals)) if np.isfinite(vals).any() else np.nan

    # -- the update --------------------------------------------------------------------
    def update(self, render: bool = True) -> None:
        """Read values at the clock time, raise alerts, refresh every overlay's
        data, then announce it (``render=False``: recompute without announcing)."""
        t, t_ms = self.clock.time, self.clock.ms
        try:
            self.values = self.store.values_at(t_ms)
        except Exception as exc:  # a broken store must not stop rendering
            log.warning("values at %s: %s", t, exc)
        if self.options.alerts:
            judged = self.values
            extra = reason = None
            if self.rules.active:
                try:
                    res = self.rules.evaluate(t_ms, self.values)
                    judged, extra, reason = res.values, res.extra, res.reason
                except Exception as exc:  # a broken store must not stop alerts
                    log.warning("alert rules at %s: %s", t, exc)
            self.alerts.update(t, t_ms, judged, extra, reason)
        self.levels = self.alerts.levels
        self.flood_warning = flood_warning(self.sensors, self.levels)
        for name, lp in self.plans.items():
            self.plan_states[name] = lp.states(t_ms)
        if self.flood is not None:
            self.flood.set_level(self.flood_level())
        if self.heatmap is not None:
            rows = self.heatmap_rows
            self.heatmap.update(self.sensors.positions[rows, :2], self.values[rows])
        self._count_flooded()
        for layer in self.scene.layers:
            them = self.thematic.get(layer.name)
            if them is not None:
                _, legend = them.colors(layer, self.sensors, self.values)
                self.legends[f"thematic:{layer.name}"] = legend
        if self._bound:
            self._hide_removed()
        if render:
            self.events.updated.emit()

    def _count_flooded(self) -> None:
        self.flood_counts = {}
        if self.flood is None or not np.isfinite(self.flood.level):
            return
        for layer in self.scene.layers:
            if layer.kind in ("buildings", "roads", "lines", "bim") or layer.name in self.plans:
                self.flood_counts[layer.name] = int(self.flood.flooded(layer).sum())

    def thematic_colors(self, layer) -> np.ndarray | None:
        """(n_features, 3) uint8 colours of ``layer`` coloured by its sensors (the
        user's "Colour by → sensor"), or None when the layer keeps its style."""
        them = self.thematic.get(layer.name)
        if them is None:
            return None
        rgb, legend = them.colors(layer, self.sensors, self.values)
        self.legends[f"thematic:{layer.name}"] = legend
        return rgb

    def feature_status(self, layer) -> np.ndarray | None:
        """(n_features,) uint8 status code of each feature at the clock time, the
        highest of: planned, under construction, flooded, sensor warning, sensor
        alarm (``STATUS_*``); None when nothing applies to the layer. Drawn as
        outlines, so they never hide the user's colours."""
        n = len(layer.features)
        status = np.zeros(n, dtype=np.uint8)
        states = self.plan_states.get(layer.name)
        if states is not None and self.options.planned and len(states) == n:
            status[states == PLANNED] = STATUS_PLANNED
            status[states == CONSTRUCTION] = STATUS_CONSTRUCTION
        if self.flood is not None and np.isfinite(self.flood.level) \
                and layer.name in self.flood_counts:
            wet = self.flood.flooded(layer)
            status[wet] = np.maximum(status[wet], STATUS_FLOODED)
        if self.options.alerts:
            on_layer = self.sensors.layer == layer.name
            for level, code in ((1, STATUS_WARNING), (2, STATUS_ALARM)):
                rows = self.sensors.row[on_layer & (self.levels == level)]
                rows = rows[(rows >= 0) & (rows < n)]
                status[rows] = np.maximum(status[rows], code)
        return status if status.any() else None

    def _hide_removed(self) -> None:
        """Hide the features a plan has removed by the clock time (model state:
        every view of the scene follows)."""
        for name, states in self.plan_states.items():
            layer = self.scene.layer(name)
            hide = (states == REMOVED) if self.options.planned else np.zeros(len(states), bool)
            prev = self._hidden_by_plan.get(name)
            if prev is not None and np.array_equal(prev, hide):
                continue
            self._hidden_by_plan[name] = hide
            shown = np.flatnonzero(~hide)
            if hide.any():
                self.scene.set_feature_visibility(layer, np.flatnonzero(hide), False)
            if shown.size:
                self.scene.set_feature_visibility(layer, shown, True)

    # -- queries for the app -------------------------------------------------------------
    def plan_summary(self) -> dict[str, dict[str, int]]:
        """layer -> state name -> feature count, at the clock time."""
        names = {PLANNED: "planned", CONSTRUCTION: "under construction", 2: "built",
                 REMOVED: "removed"}
        return {
            layer: {names[s]: int((st == s).sum()) for s in names}
            for layer, st in self.plan_states.items()
        }

    def sensor_table(self) -> list[dict]:
        """One dict per sensor (id, kind, value, unit, level) for the app's list."""
        s = self.sensors
        return [
            {"id": s.ids[i], "kind": s.kinds[i], "value": float(self.values[i]),
             "unit": s.units[i], "level": int(self.levels[i]), "layer": s.layer[i],
             "row": int(s.row[i])}
            for i in range(len(s))
        ]


def _ms(t: datetime | int | float) -> int:
    return to_ms(t) if isinstance(t, datetime) else int(t)


def _has_layer(scene: Scene, name: str) -> bool:
    return any(layer.name == name for layer in scene.layers)
