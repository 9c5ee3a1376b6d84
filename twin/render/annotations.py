"""What the view writes over the twin: selection label, measurement, north arrow,
scale bar and legends.

The app asks the view's :class:`Annotations` for these instead of adding
actors to the plotter, so the screenshot export and headless renders, which
put the same state on their own view, draw them too. Sizes follow the render
window's height: a 3840x2160 export is drawn at that size, not scaled up.
"""

from __future__ import annotations

import math

import numpy as np

from twin.layer import Layer
from twin.measure import Measurement, measure
from twin.render.captions import font_file
from twin.render.scalebar import ScaleBar, ui_scale


class NorthArrow:
    """A 2D arrow in the lower-left corner pointing to grid north (scene +Y),
    recomputed from the camera before every frame; works offscreen, unlike
    VTK's orientation widget, which needs an interactor."""

    def __init__(self, renderer) -> None:
        import vtk

        self.renderer = renderer
        self.points = vtk.vtkPoints()
        self.points.SetNumberOfPoints(4)
        cells = vtk.vtkCellArray()
        cells.InsertNextCell(3, [0, 1, 3])
        cells.InsertNextCell(3, [1, 2, 3])
        self.poly = vtk.vtkPolyData()
        self.poly.SetPoints(self.points)
        self.poly.SetPolys(cells)
        colours = vtk.vtkUnsignedCharArray()
        colours.SetNumberOfComponents(3)
        for rgb in ((200, 30, 30), (120, 20, 20)):
            colours.InsertNextTuple3(*rgb)
        self.poly.GetCellData().SetScalars(colours)
        mapper = vtk.vtkPolyDataMapper2D()
        mapper.SetInputData(self.poly)
        self.arrow = vtk.vtkActor2D()
        self.arrow.SetMapper(mapper)
        self.text = vtk.vtkTextActor()
        prop = self.text.GetTextProperty()
        prop.SetFontFamily(vtk.VTK_FONT_FILE)
        prop.SetFontFile(str(font_file()))
        prop.SetColor(0.1, 0.1, 0.1)
        prop.SetBold(True)
        prop.SetJustificationToCentered()
        prop.SetVerticalJustificationToCentered()
        self.text.SetInput("N")
        renderer.AddViewProp(self.arrow)
        renderer.AddViewProp(self.text)
        self.angle = 0.0
        self._tag = renderer.AddObserver("StartEvent", self.update)

    def north_angle(self) -> float:
        """Screen angle of grid north (radians, counter-clockwise from up)."""
        cam = self.renderer.GetActiveCamera()
        focal = np.asarray(cam.GetFocalPoint(), dtype=float)
        ends = []
        step = np.array([0.0, max(cam.GetDistance(), 1.0) * 0.01, 0.0])
        for p in (focal, focal + step):
            self.renderer.SetWorldPoint(*p, 1.0)
            self.renderer.WorldToDisplay()
            ends.append(np.asarray(self.renderer.GetDisplayPoint()[:2]))
        dx, dy = ends[1] - ends[0]
        if math.hypot(dx, dy) < 1e-9:  # looking straight along north
            return 0.0
        return math.atan2(-dx, dy)

    #: the arrow, at any angle, and its "N" fit in a circle of this radius
    #: (unit: :func:`ui_scale`): tip at 22, the letter's centre at 33, its half height ~8
    REACH = 41.0
    #: gap to the view's edges, same unit
    MARGIN = 8.0

    def update(self, *_: object) -> None:
        width, height = self.renderer.GetSize()
        # Sized by the view's height, shrunk when the view is so small (a narrow
        # window, a docked thumbnail) that it would take more than half of the
        # shorter side; placed a margin away from the lower-left corner, so it
        # is whole at every angle and every window size.
        room = max(min(width, height), 1) / 4.0
        s = min(ui_scale(height), room / (self.REACH + self.MARGIN))
        self.angle = self.north_angle()
        cx = cy = (self.REACH + self.MARGIN) * s
        r = 22 * s
        shape = np.array([(0.0, 1.0), (0.62, -0.75), (0.0, -0.35), (-0.62, -0.75)]) * r
        c, si = math.cos(self.angle), math.sin(self.angle)
        rot = shape @ np.array([[c, si], [-si, c]])
        for i, (x, y) in enumerate(rot):
            self.points.SetPoint(i, cx + x, cy + y, 0.0)
        self.points.Modified()
        self.poly.Modified()
        tip = np.array([-si, c]) * (r + 11 * s)
        self.text.GetTextProperty().SetFontSize(max(8, round(15 * s)))
        self.text.SetPosition(cx + tip[0], cy + tip[1])

    def remove(self) -> None:
        self.renderer.RemoveObserver(self._tag)
        self.renderer.RemoveViewProp(self.arrow)
        self.renderer.RemoveViewProp(self.text)


class Annotations:
    """The annotations of one :class:`~twin.render.view.SceneView`."""

    def __init__(self, view) -> None:
        self.view = view
        self.north: NorthArrow | None = None
        self.scale_bar: ScaleBar | None = None
        self.legend = None
        self._legend_specs: list | None = None
        #: legends of analyses drawn in the view (sun-hours ...), after the others
        self.extra_specs: list = []
        self.legend_on = False
        #: "en" or "vi": the language of legends
        self.language = "en"
        #: the simulation drawn in the view (legends of sensors, plans, flood)
        self.simulation = None
        self.label: tuple[str, int] | None = None
        self.measurement: Measurement | None = None
        self._caption = None

    def caption(self, bottom_px: float | None = None):
        """The view's lower-third caption (made on first use); see
        :class:`twin.render.captions.Caption`."""
        if self._caption is None:
            from twin.render.captions import Caption

            self._caption = Caption(self.plotter.renderer, bottom_px=bottom_px)
        return self._caption

    @property
    def plotter(self):
        return self.view.plotter

    # -- selection label ----------------------------------------------------------------
    def label_feature(self, layer: Layer, row: int) -> None:
        """A name tag above the feature (its name, else its id)."""
        name = str(layer.features.names[row] or layer.features.ids[row])
        b = layer.features.bounds[row]
        if not np.all(np.isfinite(b)):
            self.clear_label()
            return
        point = np.array([[(b[0] + b[1]) / 2, (b[2] + b[3]) / 2, b[5] + 2.0]])
        s = ui_scale(self.plotter.window_size[1])
        self.plotter.add_point_labels(
            point, [name], name="selection_label", font_file=str(font_file()),
            font_size=max(8, round(16 * s)), text_color="black", shape_color="#fff8c0",
            shape_opacity=0.85, show_points=False, always_visible=True, reset_camera=False,
            render=False,
        )
        self.label = (layer.name, int(row))
        self.view.request_frame()

    def clear_label(self) -> None:
        self.plotter.remove_actor(["selection_label", "selection_label-labels"], render=False)
        self.label = None
        self.view.request_frame()

    # -- measurement --------------------------------------------------------------------
    def show_measurement(self, a: np.ndarray, b: np.ndarray) -> Measurement:
        """Draw the segment a→b (world) with its distance and height difference."""
        m = measure(a, b)
        scene = self.view.scene
        la, lb = scene.to_local(np.asarray(a, float)), scene.to_local(np.asarray(b, float))
        s = ui_scale(self.plotter.window_size[1])
        line = self.plotter.add_lines(np.array([la, lb]), color="#d62728", width=3 * s,
                                      name="measure_line")
        # wide GL lines draw 1 px wide offscreen once a Qt GL context exists in
        # the process (the export beside the window); tubes draw the same everywhere
        line.GetProperty().SetRenderLinesAsTubes(True)
        self.plotter.add_point_labels(
            ((la + lb) / 2)[None, :], [m.text(self.language)], name="measure_label",
            font_file=str(font_file()), font_size=max(8, round(14 * s)), show_points=False,
            always_visible=True, reset_camera=False, render=False,
        )
        self.measurement = m
        self.view.request_frame()
        return m

    def clear_measurement(self) -> None:
        self.plotter.remove_actor(
            ["measure_line", "measure_label", "measure_label-labels"], render=False
        )
        self.measurement = None
        self.view.request_frame()

    # -- north arrow and scale bar --------------------------------------------------------
    def set_north_and_scale(self, north: bool, scale: bool | None = None) -> None:
        """Show or hide the north arrow and the scale bar (``scale`` follows ``north``)."""
        scale = north if scale is None else scale
        renderer = self.plotter.renderer
        if north and self.north is None:
            self.north = NorthArrow(renderer)
        elif not north and self.north is not None:
            self.north.remove()
            self.north = None
        if scale and self.scale_bar is None:
            self.scale_bar = ScaleBar(renderer)
        elif not scale and self.scale_bar is not None:
            self.scale_bar.remove()
            self.scale_bar = None
        self.view.request_frame()

    # -- legends --------------------------------------------------------------------------
    def set_legend(self, on: bool) -> None:
        """Show the legends of every colour mapping in the view (or hide them)."""
        self.legend_on = bool(on)
        self.refresh_legend()

    def legend_specs(self) -> list:
        """One legend per colour mapping now drawn: layer styles, sensors, heat
        map, plan states, alerts, flood (see :mod:`twin.render.legend_model`)."""
        from twin.render import legend_model as lg

        lang = self.language
        specs = []
        sim = self.simulation
        for layer in reversed(self.view.scene.layers):  # the top layer's legend first
            if not self.view.shows(layer) or not len(layer.features):
                continue  # hidden, or buried outside the underground view
            if sim is not None and _explained_by_simulation(layer, sim):
                continue
            key = f"thematic:{layer.name}"
            them = None if sim is None else sim.legends.get(key)
            spec = lg.heatmap_legend(them, lang, key=key) if them is not None else \
                lg.style_legend(layer, lang)
            if spec is not None:
                specs.append(spec)
        if sim is not None:
            if len(sim.sensors) and sim.options.glyphs:
                specs.append(lg.sensor_legend(sim.sensors, lang))
            heat = sim.legends.get("heatmap")
            if heat is not None and "heatmap" in self.view.overlay_actors \
                    and self.view.overlay_actors["heatmap"].GetVisibility():
                specs.append(lg.heatmap_legend(heat, lang))
            if sim.plans and sim.options.planned:
                specs.append(lg.plan_legend(lang, demolition=False))
            if sim.options.alerts and len(sim.sensors):
                specs.append(lg.alert_legend(lang))
            if sim.flood is not None and "flood" in self.view.overlay_actors:
                level = sim.flood_level()
                specs.append(lg.flood_legend(lang, level=level if np.isfinite(level) else None))
        specs.extend(self.extra_specs)
        return specs

    def refresh_legend(self) -> None:
        if not self.legend_on:
            if self.legend is not None:
                self.legend.set([])
                self._legend_specs = []
            self.view.request_frame()
            return
        if self.legend is None:
            from twin.render.legends import LegendOverlay

            self.legend = LegendOverlay(self.plotter.renderer)
            self._legend_specs = None
        specs = self.legend_specs()
        if specs != self._legend_specs:  # the clock moves often; the legends rarely
            self._legend_specs = specs
            self.legend.set(specs)
            self.view.request_frame()

    def close(self) -> None:
        self.set_north_and_scale(False, False)
        if self._caption is not None:
            self._caption.remove()
            self._caption = None
        if self.legend is not None:
            self.legend.remove()
            self.legend = None


def _explained_by_simulation(layer: Layer, sim) -> bool:
    """Layers whose colours the sensor or plan legends explain already: the
    sensor sites (the glyphs stand on them) and the planned projects."""
    from twin.render.overlays import is_sensor_layer

    plan = sim.plans.get(layer.name)
    if plan is not None and bool((plan.start >= 0).all()):
        return True
    return bool(len(sim.sensors)) and is_sensor_layer(layer.name)
