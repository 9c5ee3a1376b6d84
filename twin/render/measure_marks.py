"""Area and height measurements drawn in the view, and the terrain they drape on.

The distance measurement lives in :mod:`twin.render.annotations`; areas and
heights are drawn here the same way (named pyvista actors, tubes so that line
widths hold offscreen, labels in the bundled font), so the window, screenshots
and printed maps show them alike (``ViewState.marks``).
"""

from __future__ import annotations

import numpy as np

from twin.measure import AreaMeasurement, HeightMeasurement, measure_area
from twin.render.captions import font_file
from twin.render.scalebar import ui_scale

AREA_RGB = "#1f77b4"
HEIGHT_RGB = "#9467bd"
#: layer kinds whose surface an area is draped on
TERRAIN_KINDS = ("terrain",)


def terrain_mesh(scene) -> tuple[np.ndarray, np.ndarray] | None:
    """(points, triangles) of the visible terrain layers, scene-local; None without one."""
    pts, tris, base = [], [], 0
    for layer in scene.layers:
        if layer.kind not in TERRAIN_KINDS or not layer.visible or not layer.mesh.n_cells:
            continue
        mesh = layer.mesh if layer.mesh.is_all_triangles else layer.mesh.triangulate()
        faces = np.asarray(mesh.faces).reshape(-1, 4)[:, 1:]
        pts.append(np.asarray(mesh.points, dtype=np.float64))
        tris.append(faces + base)
        base += mesh.n_points
    if not pts:
        return None
    return np.vstack(pts), np.vstack(tris)


def measure_polygon(scene, world_points) -> AreaMeasurement:
    """Plan area and, over a terrain layer, draped area of a polygon drawn
    through ``world_points``; the measurement keeps the world points."""
    world = np.asarray(world_points, dtype=np.float64).reshape(-1, 3)
    local = scene.to_local(world)
    m = measure_area(local, terrain_mesh(scene))
    return AreaMeasurement(tuple(tuple(map(float, p)) for p in world), m.plan_area,
                           m.draped_area, m.perimeter)


class MeasureMarks:
    """The view's drawn area and height measurements (the latest of each)."""

    NAMES = ("area_line", "area_fill", "area_label", "area_label-labels",
             "height_line", "height_label", "height_label-labels")

    def __init__(self, view) -> None:
        self.view = view
        self.area: AreaMeasurement | None = None
        self.height: HeightMeasurement | None = None
        self.pending: list[np.ndarray] = []  # vertices of a polygon being drawn (world)

    @property
    def plotter(self):
        return self.view.plotter

    def _scale(self) -> float:
        return ui_scale(self.plotter.window_size[1])

    def show_area(self, m: AreaMeasurement, lang: str = "en") -> None:
        """Outline and label of a measured polygon (world points)."""
        import pyvista as pv

        scene = self.view.scene
        local = scene.to_local(np.asarray(m.points, dtype=np.float64))
        s = self._scale()
        ring = np.vstack([local, local[:1]])
        line = self.plotter.add_lines(np.repeat(ring, 2, axis=0)[1:-1], color=AREA_RGB,
                                      width=3 * s, name="area_line")
        line.GetProperty().SetRenderLinesAsTubes(True)
        if len(local) >= 3:
            faces = np.concatenate([[len(local)], np.arange(len(local))])
            fill = pv.PolyData(local, faces=faces).triangulate()
            self.plotter.add_mesh(fill, color=AREA_RGB, opacity=0.25, name="area_fill",
                                  pickable=False, reset_camera=False, render=False)
        self.plotter.add_point_labels(
            local.mean(axis=0)[None, :], [m.text(lang)], name="area_label",
            font_file=str(font_file()), font_size=max(8, round(14 * s)), show_points=False,
            always_visible=True, reset_camera=False, render=False,
        )
        self.area = m
        self.view.request_frame()

    def show_height(self, m: HeightMeasurement, lang: str = "en") -> None:
        """The vertical from the lower pick to the upper one's level, and its label."""
        scene = self.view.scene
        a, b = scene.to_local(np.asarray(m.a)), scene.to_local(np.asarray(m.b))
        lo, hi = (a, b) if a[2] <= b[2] else (b, a)
        corner = np.array([lo[0], lo[1], hi[2]])
        s = self._scale()
        line = self.plotter.add_lines(np.array([lo, corner, corner, hi]), color=HEIGHT_RGB,
                                      width=3 * s, name="height_line")
        line.GetProperty().SetRenderLinesAsTubes(True)
        self.plotter.add_point_labels(
            ((lo + corner) / 2)[None, :], [m.text(lang)], name="height_label",
            font_file=str(font_file()), font_size=max(8, round(14 * s)), show_points=False,
            always_visible=True, reset_camera=False, render=False,
        )
        self.height = m
        self.view.request_frame()

    def show(self, m, lang: str = "en") -> None:
        if isinstance(m, AreaMeasurement):
            self.show_area(m, lang)
        elif isinstance(m, HeightMeasurement):
            self.show_height(m, lang)

    def clear(self) -> None:
        self.plotter.remove_actor(list(self.NAMES), render=False)
        self.area = self.height = None
        self.pending = []
        self.view.request_frame()
