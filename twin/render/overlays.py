"""The simulation drawn into a view: glyphs, heat map, water sheet, status outlines.

:class:`twin.sim.simulation.Simulation` computes numpy arrays at the clock time
and emits ``events.updated``; a :class:`SimulationOverlay` per view turns them
into VTK objects. The window, ``citytwin render --time``, ``check``, tour
frames and the screenshot export each put one on their view, so they draw the
same twin.

Style precedence (one table, README "Style precedence"): the fill colour of a
feature is the user's "Colour by" (class, attribute, solid, native, or the
sensor thematic); plan states, flooding and sensor alerts draw as a coloured
outline of the feature (:data:`twin.sim.simulation.STATUS_RGB`, highest status
wins); the selection highlight is drawn over everything while it lasts.
"""

from __future__ import annotations

import numpy as np
import pyvista as pv

from twin.layer import Layer
from twin.render.glyphs import GlyphOverlay
from twin.sim.simulation import STATUS_RGB, Simulation

#: Water sheet colour, also used by the flood legend.
FLOOD_RGB = (45, 105, 200)
STATUS_LINE_WIDTH = 3.0
#: Sensor glyph size band in pixels at an ~800 px tall view (scaled with the view).
GLYPH_MIN_PX, GLYPH_MAX_PX = 6.0, 16.0
#: Names of the overlay props this class owns.
OWN_PREFIXES = ("glyphs:", "heatmap", "flood", "status:")
#: Layer name words that mean "the sensor sites": hiding such a layer hides the glyphs.
SENSOR_LAYER_WORDS = ("sensor", "iot")


class SimulationOverlay:
    """Draws one :class:`Simulation` into one :class:`twin.render.view.SceneView`."""

    def __init__(self, view, sim: Simulation) -> None:
        self.view = view
        self.sim = sim
        self.glyphs: GlyphOverlay | None = None
        self._status_keys: dict[str, bytes] = {}
        self._status_meshes: dict[str, pv.PolyData] = {}
        self._heat: pv.ImageData | None = None
        opts = sim.options
        if opts.glyphs and len(sim.sensors):
            self.glyphs = GlyphOverlay(sim.sensors, base_size=opts.glyph_size,
                                       min_px=GLYPH_MIN_PX, max_px=GLYPH_MAX_PX,
                                       scale_with_window=True)
            for kind, actor in self.glyphs.actors.items():
                view.add_overlay_actor(f"glyphs:{kind}", actor)
            self.glyphs.attach(view.plotter.renderer)
            view.sensor_picker = self.glyphs.pick
        self._heat = heatmap_sheet(sim.heatmap) if sim.heatmap is not None else None
        if self._heat is not None:
            view.add_overlay_actor(
                "heatmap",
                self._heat,
                scalars="rgb",
                rgb=True,
                opacity=opts.heatmap_opacity,
                show_scalar_bar=False,
                lighting=False,
            )
        view.annotations.simulation = sim
        sim.bind_scene()
        sim.events.updated.connect(self.refresh)
        view.scene.events.layer_changed.connect(self._on_layer_changed)
        self.refresh()

    def close(self) -> None:
        """Take every overlay prop away and stop listening (the view stays)."""
        self.sim.events.updated.disconnect(self.refresh)
        self.view.scene.events.layer_changed.disconnect(self._on_layer_changed)
        self.view.annotations.simulation = None
        if self.glyphs is not None:
            self.glyphs.detach()
            self.view.sensor_picker = None
        for name in list(self.view.overlay_actors):
            if name.startswith(OWN_PREFIXES):  # looks (edges) and others stay
                self.view.remove_overlay_actor(name)
        for layer in self.view.scene.layers:
            self.view.set_feature_colors(layer, None)

    # -- drawing ----------------------------------------------------------------------
    def refresh(self) -> None:
        """Write the simulation's current arrays into the props (one frame asked)."""
        sim, view = self.sim, self.view
        self._sync_glyph_visibility()
        if self.glyphs is not None:
            self.glyphs.update(sim.values, sim.levels)
        heat = view.overlay_actors.get("heatmap")
        if self._heat is not None:
            self._heat.point_data["rgb"][:] = sim.heatmap.rgb
            self._heat.Modified()
        if heat is not None:  # no data at this time: no sheet, rather than a grey one
            rows = sim.heatmap_rows
            heat.SetVisibility(bool(rows.size and np.isfinite(sim.values[rows]).any()))
        flood = sim.flood
        sheet = water_sheet(flood) if flood is not None else None
        if sheet is not None and sheet.n_points:
            view.add_overlay_actor("flood", sheet, color=FLOOD_RGB, opacity=0.8,
                                   smooth_shading=False, specular=0.4)
        else:
            view.remove_overlay_actor("flood")
        for layer in view.scene.layers:
            view.set_feature_colors(layer, sim.thematic_colors(layer))
            self._draw_status(layer)
        if view.annotations.legend_on:
            view.annotations.refresh_legend()
        view.request_frame()

    def _draw_status(self, layer: Layer) -> None:
        """Outline the features that have a status, in the status colour."""
        name = f"status:{id(layer)}"
        status = self.sim.feature_status(layer) if layer.visible else None
        if status is not None:
            status = status.copy()
            status[self.view.scene.hidden_features(layer)] = 0
            if not status.any():
                status = None
        key = b"" if status is None else status.tobytes()
        if self._status_keys.get(name) == key:
            return
        self._status_keys[name] = key
        if status is None:
            self.view.remove_overlay_actor(name)
            return
        outline = status_outline(layer, status)
        if outline.n_cells == 0:
            self.view.remove_overlay_actor(name)
            return
        self.view.add_overlay_actor(name, outline, scalars="status_rgb", rgb=True,
                                    line_width=STATUS_LINE_WIDTH, lighting=False,
                                    render_lines_as_tubes=True,  # see annotations
                                    show_scalar_bar=False)

    # -- visibility -------------------------------------------------------------------
    def _on_layer_changed(self, layer: Layer, what: str) -> None:
        if what == "visible":
            self._sync_glyph_visibility()
            self._draw_status(layer)

    def _sync_glyph_visibility(self) -> None:
        """A hidden sensor-sites layer (or the layer sensors are attached to)
        hides its glyphs: a tour that hides the sites hides the sensors too."""
        if self.glyphs is None:
            return
        sensors = self.sim.sensors
        hidden = {la.name for la in self.view.scene.layers if not la.visible}
        site_layers = [la for la in self.view.scene.layers if is_sensor_layer(la.name)]
        all_sites_hidden = bool(site_layers) and all(not la.visible for la in site_layers)
        shown = ~np.isin(sensors.layer.astype(str), list(hidden)) if hidden else \
            np.ones(len(sensors), dtype=bool)
        if all_sites_hidden:
            shown[:] = False
        kinds = sensors.kinds.astype(str)
        self.glyphs.set_visible({str(k) for k in np.unique(kinds[shown])})


def _grid(resolution: int, origin, spacing, z: float) -> pv.ImageData:
    """The simulation's (resolution x resolution) grid as VTK image data: points
    in the same order as its arrays (x varying fastest)."""
    return pv.ImageData(dimensions=(resolution, resolution, 1),
                        spacing=(spacing[0], spacing[1], 1.0), origin=(origin[0], origin[1], z))


def heatmap_sheet(heatmap) -> pv.ImageData:
    """The heat map's grid, coloured by its ``rgb`` array (updated in place)."""
    sheet = _grid(heatmap.resolution, heatmap.origin, heatmap.spacing, heatmap.z)
    sheet.point_data["rgb"] = heatmap.rgb.copy()
    return sheet


def water_sheet(flood) -> pv.PolyData:
    """The water surface of a :class:`twin.sim.overlays.flood.FloodModel` at its
    level: the wet part of its grid, each point at its depth (at least 5 cm)."""
    if not flood.wet:
        return pv.PolyData()
    grid = _grid(flood.resolution, flood.origin, flood.spacing, 0.0)
    grid.point_data["depth"] = flood.depth
    wet = grid.threshold(0.0, scalars="depth", all_scalars=False).extract_surface(
        algorithm="dataset_surface"
    )
    pts = np.asarray(wet.points).copy()
    pts[:, 2] = np.clip(wet.point_data["depth"], 0.05, None)
    wet.points = pts
    return wet


def is_sensor_layer(name: str) -> bool:
    lowered = name.lower()
    return any(word in lowered for word in SENSOR_LAYER_WORDS)


def status_outline(layer: Layer, status: np.ndarray) -> pv.PolyData:
    """Feature edges (outline and creases) of the features with a status, one
    line colour per status: a few hundred features cost a few milliseconds."""
    rows = np.flatnonzero(status)
    cells = layer.cells_of(rows)
    if cells.size == 0:
        return pv.PolyData()
    part = layer.mesh.extract_cells(cells).extract_surface(
        pass_cellid=False, algorithm="dataset_surface"
    )
    feature = np.asarray(part.cell_data["feature"], dtype=np.intp)
    part.cell_data["status_rgb"] = STATUS_RGB[status[feature]]
    edges = part.extract_feature_edges(
        feature_angle=30.0, boundary_edges=True, non_manifold_edges=False,
        feature_edges=True, manifold_edges=False,
    )
    edges.cell_data.active_scalars_name = "status_rgb"
    return edges
