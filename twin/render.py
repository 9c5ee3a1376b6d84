"""Binds a :class:`~twin.scene.Scene` to any pyvista plotter.

The app's ``QtInteractor`` and the headless renderer share :class:`SceneView`,
so a headless image is what a planner sees. One actor per layer; colours are a
per-cell uint8 RGB array updated in place (a numpy gather) when a style or the
selection changes; picking maps cell -> feature row through the layer's
``feature`` array, helped by a cached static cell locator per layer.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import pyvista as pv

from twin.layer import Layer
from twin.scene import Bookmark, Scene
from twin.style import HIGHLIGHT_RGB, cell_colors

COLOR_ARRAY = "rgb"
#: VTK's ghost array; cells flagged HIDDENCELL are skipped by mappers (per-storey hiding)
GHOST_ARRAY = "vtkGhostType"
HIDDEN_CELL = 32
BACKGROUND_TOP = "#9ec3e6"
BACKGROUND_BOTTOM = "#eef3f7"
GROUND_COLOR = "#c9cfc4"


def use_offscreen_gl() -> None:
    """Prefer EGL for offscreen renders (no X server needed), unless the user
    chose a window class already (e.g. ``vtkOSMesaRenderWindow``)."""
    os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")


@dataclass
class Pick:
    """What a click hit: the layer, the feature row, and the world point."""

    layer: Layer
    row: int
    cell: int
    world: np.ndarray

    @property
    def attributes(self) -> dict:
        return self.layer.features.row(self.row)


class SceneView:
    """Draws a scene into ``plotter`` and keeps it in sync with the scene's events."""

    def __init__(self, scene: Scene, plotter: pv.Plotter, ground: bool = True) -> None:
        self.scene = scene
        self.plotter = plotter
        self.actors: dict[Layer, pv.Actor] = {}
        self._base_colors: dict[Layer, np.ndarray] = {}
        self._selection: tuple[Layer, np.ndarray] | None = None
        self._locators: dict[Layer, object] = {}
        self._ground: pv.Actor | None = None
        self._section = None
        plotter.set_background(BACKGROUND_BOTTOM, top=BACKGROUND_TOP)
        for layer in scene.layers:
            self._add(layer)
        if ground:
            self._add_ground()
        scene.events.layer_added.connect(self._on_added)
        scene.events.layer_removed.connect(self._on_removed)
        scene.events.layer_changed.connect(self._on_changed)

    def close(self) -> None:
        """Stop listening to the scene (a closed plotter must never be asked to render)."""
        self.scene.events.layer_added.disconnect(self._on_added)
        self.scene.events.layer_removed.disconnect(self._on_removed)
        self.scene.events.layer_changed.disconnect(self._on_changed)

    # -- layers -> actors --------------------------------------------------------
    def _add(self, layer: Layer) -> None:
        mesh = layer.mesh
        if mesh.n_cells == 0:
            return
        colors = self._base_cell_colors(layer)
        self._base_colors[layer] = colors
        mesh.cell_data[COLOR_ARRAY] = colors.copy()
        self._apply_hidden(layer)
        actor = self.plotter.add_mesh(
            mesh,
            scalars=COLOR_ARRAY,
            rgb=True,
            opacity=layer.style.opacity,
            show_scalar_bar=False,
            name=f"layer:{id(layer)}",
            pickable=True,
            reset_camera=False,
            smooth_shading=False,
        )
        actor.SetVisibility(layer.visible)
        self.actors[layer] = actor

    def _add_ground(self) -> None:
        bounds = self.scene.local_bounds(visible_only=False)
        if bounds is None:
            return
        cx, cy = (bounds[0] + bounds[1]) / 2, (bounds[2] + bounds[3]) / 2
        size = max(bounds[1] - bounds[0], bounds[3] - bounds[2]) * 3 + 200
        plane = pv.Plane(
            center=(cx, cy, bounds[4] - 0.05), direction=(0, 0, 1), i_size=size, j_size=size
        )
        self._ground = self.plotter.add_mesh(
            plane, color=GROUND_COLOR, pickable=False, name="ground", reset_camera=False
        )

    def _on_added(self, layer: Layer) -> None:
        self._add(layer)
        self.plotter.render()

    def _on_removed(self, layer: Layer) -> None:
        actor = self.actors.pop(layer, None)
        self._base_colors.pop(layer, None)
        self._locators.pop(layer, None)
        if self._selection and self._selection[0] is layer:
            self._selection = None
        if actor is not None:
            self.plotter.remove_actor(actor, render=True)

    def _on_changed(self, layer: Layer, what: str) -> None:
        actor = self.actors.get(layer)
        if actor is None:
            return
        if what == "visible":
            actor.SetVisibility(layer.visible)
        elif what == "style":
            self._base_colors[layer] = self._base_cell_colors(layer)
            actor.GetProperty().SetOpacity(layer.style.opacity)
            self._recolor(layer)
        elif what == "features":
            self._apply_hidden(layer)
        elif what == "mesh":
            self.plotter.remove_actor(actor, render=False)
            del self.actors[layer]
            self._locators.pop(layer, None)
            self._add(layer)
        self.plotter.render()

    def _apply_hidden(self, layer: Layer) -> None:
        """Flag cells of hidden features HIDDENCELL so mappers and pickers skip them."""
        hidden = self.scene.hidden_features(layer)
        if hidden.any():
            ghost = np.where(hidden[layer.cell_features], HIDDEN_CELL, 0).astype(np.uint8)
            layer.mesh.cell_data[GHOST_ARRAY] = ghost
        elif GHOST_ARRAY in layer.mesh.cell_data:
            del layer.mesh.cell_data[GHOST_ARRAY]
        layer.mesh.Modified()
        self._locators.pop(layer, None)

    # -- section plane ---------------------------------------------------------------
    def set_section(self, origin, normal) -> None:
        """Clip every layer actor by the plane (scene-local origin, normal); keeps
        the half-space the normal points away from, as in a BIM section box face."""
        import vtk

        plane = vtk.vtkPlane()
        plane.SetOrigin(*np.asarray(origin, dtype=float))
        plane.SetNormal(*(-np.asarray(normal, dtype=float)))
        self._section = plane
        for actor in self.actors.values():
            mapper = actor.GetMapper()
            mapper.RemoveAllClippingPlanes()
            mapper.AddClippingPlane(plane)
        self.plotter.render()

    def clear_section(self) -> None:
        self._section = None
        for actor in self.actors.values():
            actor.GetMapper().RemoveAllClippingPlanes()
        self.plotter.render()

    @staticmethod
    def _base_cell_colors(layer: Layer) -> np.ndarray:
        return cell_colors(layer.mesh.cell_data, layer.cell_features, layer.features, layer.style)

    def _recolor(self, layer: Layer) -> None:
        """Write the layer's per-cell colours in place and mark them modified."""
        target = layer.mesh.cell_data[COLOR_ARRAY]
        target[:] = self._base_colors[layer]
        if self._selection and self._selection[0] is layer:
            target[layer.cells_of(self._selection[1])] = HIGHLIGHT_RGB
        layer.mesh.Modified()

    # -- selection -----------------------------------------------------------------
    def select(self, layer: Layer | None, rows: np.ndarray | list[int] | None = None) -> None:
        """Highlight features (rows of ``layer``); ``select(None)`` clears."""
        previous = self._selection[0] if self._selection else None
        self._selection = None if layer is None else (layer, np.asarray(rows, dtype=np.intp))
        for la in {previous, layer} - {None}:
            if la in self.actors:
                self._recolor(la)
        self.plotter.render()

    @property
    def selection(self) -> tuple[Layer, np.ndarray] | None:
        return self._selection

    # -- camera --------------------------------------------------------------------
    def apply_bookmark(self, bookmark: Bookmark | str) -> None:
        bm = self.scene.bookmark(bookmark) if isinstance(bookmark, str) else bookmark
        cam = self.plotter.camera
        cam.position = tuple(self.scene.to_local(bm.position))
        cam.focal_point = tuple(self.scene.to_local(bm.focal_point))
        cam.up = bm.view_up
        cam.view_angle = bm.view_angle
        self.plotter.reset_camera_clipping_range()

    def current_bookmark(self, name: str) -> Bookmark:
        """The current camera as a bookmark in world coordinates."""
        cam = self.plotter.camera
        return Bookmark(
            name=name,
            position=tuple(float(v) for v in self.scene.to_world(cam.position)),
            focal_point=tuple(float(v) for v in self.scene.to_world(cam.focal_point)),
            view_up=tuple(float(v) for v in cam.up),
            view_angle=float(cam.view_angle),
        )

    def overview(self) -> None:
        """A south-east oblique view of everything visible."""
        bounds = self.scene.local_bounds()
        if bounds is None:
            self.plotter.reset_camera()
            return
        center = np.array([(bounds[0] + bounds[1]) / 2, (bounds[2] + bounds[3]) / 2, bounds[4]])
        extent = max(bounds[1] - bounds[0], bounds[3] - bounds[2], 50.0)
        direction = np.array([0.55, -0.75, 0.65])
        direction /= np.linalg.norm(direction)
        cam = self.plotter.camera
        cam.focal_point = tuple(center)
        cam.position = tuple(center + direction * extent * 1.15)
        cam.up = (0.0, 0.0, 1.0)
        cam.view_angle = 30.0
        self.plotter.reset_camera_clipping_range()

    def zoom_to(self, layer: Layer, rows: np.ndarray | list[int]) -> None:
        b = layer.features.bounds[np.asarray(rows, dtype=np.intp)]
        lo = np.nanmin(b[:, 0::2], axis=0)
        hi = np.nanmax(b[:, 1::2], axis=0)
        center = (lo + hi) / 2
        radius = max(float(np.linalg.norm(hi - lo)) / 2, 10.0)
        cam = self.plotter.camera
        direction = np.asarray(cam.position) - np.asarray(cam.focal_point)
        direction /= np.linalg.norm(direction) or 1.0
        cam.focal_point = tuple(center)
        cam.position = tuple(center + direction * radius * 3.5)
        self.plotter.reset_camera_clipping_range()
        self.plotter.render()

    # -- picking -------------------------------------------------------------------
    def pick(self, x: float, y: float) -> Pick | None:
        """Pick at display coordinates (pixels, origin bottom-left)."""
        import vtk

        picker = vtk.vtkCellPicker()
        picker.SetTolerance(0.0005)
        for layer, actor in self.actors.items():
            if actor.GetVisibility():
                picker.AddLocator(self._locator(layer))
        renderer = self.plotter.renderer
        if not picker.Pick(x, y, 0, renderer):
            return None
        actor = picker.GetActor()
        cell = picker.GetCellId()
        for layer, la_actor in self.actors.items():
            if la_actor is actor and cell >= 0:
                if self.scene.hidden_features(layer)[layer.feature_at_cell(cell)]:
                    return None
                world = self.scene.to_world(np.asarray(picker.GetPickPosition()))
                return Pick(layer, layer.feature_at_cell(cell), int(cell), world)
        return None

    def _locator(self, layer: Layer):
        import vtk

        loc = self._locators.get(layer)
        if loc is None:
            loc = vtk.vtkStaticCellLocator()
            loc.SetDataSet(layer.mesh)
            loc.BuildLocator()
            self._locators[layer] = loc
        return loc

    def display_point(self, world_xyz: np.ndarray) -> tuple[float, float]:
        """Display coordinates (pixels, origin bottom-left) of a world point."""
        renderer = self.plotter.renderer
        local = self.scene.to_local(world_xyz)
        renderer.SetWorldPoint(*local, 1.0)
        renderer.WorldToDisplay()
        x, y, _ = renderer.GetDisplayPoint()
        return float(x), float(y)


def render_image(
    scene: Scene,
    size: tuple[int, int] = (1280, 720),
    bookmark: str | Bookmark | None = None,
) -> np.ndarray:
    """Render ``scene`` offscreen and return an (h, w, 3) uint8 image."""
    use_offscreen_gl()
    plotter = pv.Plotter(off_screen=True, window_size=list(size))
    view = None
    try:
        view = SceneView(scene, plotter)
        if bookmark is None:
            view.overview()
        else:
            view.apply_bookmark(bookmark)
        return np.asarray(plotter.screenshot(return_img=True))[:, :, :3].copy()
    finally:
        if view is not None:
            view.close()
        plotter.close()


def save_png(image: np.ndarray, path) -> None:
    """Write an RGB image as PNG via VTK (no extra imaging dependency)."""
    import vtk
    from vtk.util.numpy_support import numpy_to_vtk

    h, w = image.shape[:2]
    data = vtk.vtkImageData()
    data.SetDimensions(w, h, 1)
    flat = np.ascontiguousarray(image[::-1]).reshape(-1, image.shape[2])
    data.GetPointData().SetScalars(numpy_to_vtk(flat, deep=True))
    writer = vtk.vtkPNGWriter()
    writer.SetFileName(str(path))
    writer.SetInputData(data)
    writer.Write()
    if writer.GetErrorCode():
        raise OSError(f"{path}: could not write PNG (error {writer.GetErrorCode()})")
