"""Scene + Clock + Store + feeds + overlays, wired for a :class:`SceneView`.

This is the one object the GUI, the tour exporter and tests use::

    sim = Simulation.from_scene(scene)      # sensors, feeds, plans of scene.spec
    sim.start()                             # feeds run in their own threads
    sim.attach(view)                        # glyphs, heat map, water sheet, colours
    sim.clock.set_time(t)                   # -> sim.update() redraws
    sim.values, sim.levels, sim.alerts.alerts, sim.legends, sim.flood_counts

Updates are cheap numpy work (values-at-t is one grouped SQLite query; colours
are gathers into existing arrays), so the app may call :meth:`update` from its
clock timer at 10-30 Hz.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

from twin.scene import Scene
from twin.sim.clock import ICT, Clock, from_ms, to_ms
from twin.sim.feeds import make_feeds
from twin.sim.feeds.base import Feed
from twin.sim.feeds.synthetic import SyntheticFeed
from twin.sim.overlays.alerts import AlertMonitor
from twin.sim.overlays.flood import FloodModel, river_points
from twin.sim.overlays.glyphs import GlyphOverlay
from twin.sim.overlays.heatmap import HeatMap
from twin.sim.overlays.planned import (
    CONSTRUCTION,
    PLANNED,
    REMOVED,
    LayerPlan,
    PlanItem,
    layer_plan,
    parse_plans,
    plan_colors,
)
from twin.sim.overlays.thematic import Legend, ThematicOverlay
from twin.sim.sensors import SensorSet, parse_sensors, resolve_sensors
from twin.sim.store import HistoryStore

log = logging.getLogger(__name__)
ALERT_RGB = {1: np.array((250, 170, 30), np.uint8), 2: np.array((230, 30, 30), np.uint8)}


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
        self.options = options or SimOptions()
        self.plans: dict[str, LayerPlan] = {}
        for layer in scene.layers:
            lp = layer_plan(layer, plans or [])
            if lp is not None:
                self.plans[layer.name] = lp
        self.clock = clock or self._default_clock()
        self.alerts = AlertMonitor(sensors)
        self.values = np.full(len(sensors), np.nan)
        self.levels = np.full(len(sensors), -1, dtype=np.int8)
        self.plan_states: dict[str, np.ndarray] = {}
        self.thematic: dict[str, ThematicOverlay] = {}
        self.legends: dict[str, Legend] = {}
        self.flood_level_override: float | None = None
        self.flood_counts: dict[str, int] = {}
        self.flood: FloodModel | None = None
        self.heatmap: HeatMap | None = None
        self.glyphs: GlyphOverlay | None = None
        self.view = None
        self._hidden_by_plan: dict[str, np.ndarray] = {}
        bounds = scene.local_bounds(visible_only=False)
        if bounds is not None and self.options.flood:
            self._make_flood(bounds)
        self.clock.events.time_changed.connect(self._on_time)

    # -- construction ------------------------------------------------------------------
    @classmethod
    def from_scene(cls, scene: Scene, store_path: Path | str = ":memory:",
                   start_feeds: bool = False, options: SimOptions | None = None) -> Simulation:
        """Build from the ``sensors``, ``feeds`` and ``plans`` of ``scene.spec``."""
        spec = getattr(scene, "spec", None)
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
        self.detach()
        self.store.close()

    def feed_reports(self) -> list[dict]:
        return [f.report() for f in self.feeds]

    # -- view ----------------------------------------------------------------------------
    def attach(self, view) -> None:
        """Create overlay actors in ``view`` and follow the clock."""
        self.view = view
        if self.options.planned:
            # planned projects are hidden without a clock (they are not built yet);
            # detach() puts the user's visibility back
            self._was_visible = {name: self.scene.layer(name).visible for name in self.plans}
            for name in self.plans:
                self.scene.set_visible(self.scene.layer(name), True)
        bounds = self.scene.local_bounds(visible_only=False)
        opts = self.options
        if opts.glyphs and len(self.sensors):
            self.glyphs = GlyphOverlay(self.sensors, base_size=opts.glyph_size)
            for kind, actor in self.glyphs.actors.items():
                view.add_overlay_actor(f"glyphs:{kind}", actor)
        if bounds is not None and opts.heatmap_kind and \
                self.sensors.of_kind(opts.heatmap_kind).size:
            rows = self.sensors.of_kind(opts.heatmap_kind)
            self.heatmap = HeatMap(bounds, unit=str(self.sensors.units[rows[0]]),
                                   title=opts.heatmap_kind)
            view.add_overlay_actor("heatmap", self.heatmap.mesh, scalars="rgb", rgb=True,
                                   opacity=opts.heatmap_opacity, show_scalar_bar=False,
                                   lighting=False)
            self.legends["heatmap"] = self.heatmap.legend
        self.update()

    def detach(self) -> None:
        if self.view is None:
            return
        for name in list(self.view.overlay_actors):
            self.view.remove_overlay_actor(name)
        for layer in self.scene.layers:
            self.view.set_feature_colors(layer, None)
        for name, hide in self._hidden_by_plan.items():
            if hide.any():
                self.scene.set_feature_visibility(self.scene.layer(name), np.flatnonzero(hide),
                                                  True)
        self._hidden_by_plan = {}
        for name, visible in getattr(self, "_was_visible", {}).items():
            self.scene.set_visible(self.scene.layer(name), visible)
        self._was_visible = {}
        self.view = None

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
        if self.flood is None and self.view is not None and level is not None:
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
        """Read values at the clock time, raise alerts, refresh every overlay."""
        t, t_ms = self.clock.time, self.clock.ms
        try:
            self.values = self.store.values_at(t_ms)
        except Exception as exc:  # a broken store must not stop rendering
            log.warning("values at %s: %s", t, exc)
        if self.options.alerts:
            self.alerts.update(t, t_ms, self.values)
        self.levels = self.alerts.levels
        for name, lp in self.plans.items():
            self.plan_states[name] = lp.states(t_ms)
        if self.flood is not None:
            self.flood.set_level(self.flood_level())
        view = self.view
        if view is None:
            self._count_flooded()
            return
        if self.glyphs is not None:
            self.glyphs.update(self.values, self.levels)
        if self.heatmap is not None:
            rows = self.sensors.of_kind(self.options.heatmap_kind)
            self.heatmap.update(self.sensors.positions[rows, :2], self.values[rows])
            actor = view.overlay_actors.get("heatmap")
            if actor is not None:  # no data at this time: no sheet, rather than a grey one
                actor.SetVisibility(bool(np.isfinite(self.values[rows]).any()))
        if self.flood is not None:
            if self.flood.surface.n_points:
                view.add_overlay_actor("flood", self.flood.surface, color=(45, 105, 200),
                                       opacity=0.8, smooth_shading=False, specular=0.4)
            else:
                view.remove_overlay_actor("flood")
        self._count_flooded()
        self._recolor_layers()
        if render:
            view.plotter.render()

    def _count_flooded(self) -> None:
        self.flood_counts = {}
        if self.flood is None or not np.isfinite(self.flood.level):
            return
        for layer in self.scene.layers:
            if layer.kind in ("buildings", "roads", "lines", "bim") or layer.name in self.plans:
                self.flood_counts[layer.name] = int(self.flood.flooded(layer).sum())

    def feature_colors(self, layer) -> np.ndarray | None:
        """(n_features, 3) uint8 colours of ``layer`` with every overlay applied, or
        None when no overlay touches it (the layer keeps its style)."""
        touched = False
        base = self.view.layer_feature_colors(layer) if self.view else None
        if base is None:
            from twin.style import feature_colors

            base = feature_colors(layer.features, layer.style)
        rgb = base
        them = self.thematic.get(layer.name)
        if them is not None:
            rgb, legend = them.colors(layer, self.sensors, self.values)
            self.legends[f"thematic:{layer.name}"] = legend
            touched = True
        states = self.plan_states.get(layer.name)
        if states is not None and self.options.planned:
            rgb = plan_colors(rgb, states)
            touched = True
        if self.flood is not None and np.isfinite(self.flood.level) \
                and layer.name in self.flood_counts:
            wet = self.flood.flooded(layer)
            if wet.any():
                rgb = self.flood.highlight(rgb, wet)
                touched = True
        if self.options.alerts:
            sel = (self.sensors.layer == layer.name) & (self.levels >= 1)
            if sel.any():
                rgb = rgb.copy()
                for lvl in (1, 2):
                    rows = self.sensors.row[sel & (self.levels == lvl)]
                    rgb[rows] = ALERT_RGB[lvl]
                touched = True
        return rgb if touched else None

    def _recolor_layers(self) -> None:
        view = self.view
        if view is None:
            return
        for layer in self.scene.layers:
            view.set_feature_colors(layer, self.feature_colors(layer))
            states = self.plan_states.get(layer.name)
            if states is not None:
                hide = (states == REMOVED) if self.options.planned else np.zeros(len(states), bool)
                prev = self._hidden_by_plan.get(layer.name)
                if prev is None or not np.array_equal(prev, hide):
                    self._hidden_by_plan[layer.name] = hide
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
