"""Caps for the section plane, and its small handle.

The section plane clips layer actors on the GPU (mapper clipping planes), which
leaves cut solids hollow: one looks into the walls of every building. The cap
is the cut face: each layer's mesh is cut by the plane in one C++ filter
(``vtkPolyDataPlaneCutter``: segments where the triangles cross the plane),
the segments are joined into loops and triangulated with their holes
(``vtkContourTriangulator``), and the result is drawn by one actor per layer
in a solid "poché" colour, as section drawings do. No Python loop runs over
features: a 100,000-building layer is one cutter pass.

Open surfaces (terrain, flat roads) cut into open polylines that enclose
nothing; the triangulator leaves those out, so only closed solids get caps.
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: Cap colour (RGB 0-1): a dark brick red, the convention for cut material.
CAP_RGB = (0.55, 0.22, 0.18)
#: Handle colour (RGB 0-1) and size (pixels, VTK's handle size unit).
HANDLE_RGB = (0.95, 0.55, 0.1)
HANDLE_PX = 4.0
#: Width of the handle's plane as a fraction of the camera distance.
HANDLE_VIEW_FRACTION = 0.12
CAP_PREFIX = "section-cap:"


def cap_polydata(mesh: Any, origin, normal) -> Any:
    """The cap of ``mesh`` (vtkPolyData) cut by the plane (origin, normal):
    triangles in the plane filling every closed cut loop (holes respected)."""
    import vtk

    if not mesh.IsA("vtkPolyData"):  # hidden features drawn as an extracted grid
        surface = vtk.vtkGeometryFilter()
        surface.SetInputData(mesh)
        surface.Update()
        mesh = surface.GetOutput()
    plane = vtk.vtkPlane()
    plane.SetOrigin(*np.asarray(origin, dtype=float))
    plane.SetNormal(*np.asarray(normal, dtype=float))
    cutter = vtk.vtkPolyDataPlaneCutter()
    cutter.SetInputData(mesh)
    cutter.SetPlane(plane)
    tri = vtk.vtkContourTriangulator()
    tri.SetInputConnection(cutter.GetOutputPort())
    tri.TriangulationErrorDisplayOff()
    tri.Update()
    out = vtk.vtkPolyData()
    out.ShallowCopy(tri.GetOutput())
    return out


class SectionCaps:
    """One cap actor per layer actor of a :class:`~twin.render.view.SceneView`,
    rebuilt whenever the section plane moves."""

    def __init__(self, view) -> None:
        self.view = view
        self.actors: dict[Any, Any] = {}

    def update(self, origin, normal) -> None:
        """Cap every visible layer for the plane; ``normal`` points to the
        half-space that is cut away (the view keeps the other one)."""
        import pyvista as pv

        plotter = self.view.plotter
        seen = set()
        for layer, actor in self.view.actors.items():
            if not actor.GetVisibility():
                continue
            cap = cap_polydata(self.view.drawn_mesh(layer), origin, normal)
            if not cap.GetNumberOfCells():
                continue
            seen.add(layer)
            name = f"{CAP_PREFIX}{id(layer)}"
            self.actors[layer] = plotter.add_mesh(
                pv.wrap(cap), color=CAP_RGB, name=name, pickable=False, reset_camera=False,
                render=False, lighting=False,
            )
        for layer in [la for la in self.actors if la not in seen]:
            plotter.remove_actor(self.actors.pop(layer), render=False)

    def clear(self) -> None:
        if self.actors:
            self.view.plotter.remove_actor(list(self.actors.values()), render=False)
        self.actors.clear()


class SectionHandle:
    """A small section-plane handle: VTK's implicit-plane widget (the
    representation kind, whose handle is sized in pixels on every frame) on a
    box around the cut a fraction of the view wide, so the plane drawn, its
    normal arrow and the handle stay small wherever one looks; the plane can
    still be pushed outside that box. ``on_change(origin, normal)`` follows
    every drag."""

    def __init__(self, renderer: Any, interactor: Any, origin, size: float, on_change) -> None:
        import vtk

        rep = vtk.vtkImplicitPlaneRepresentation()
        rep.SetPlaceFactor(1.0)
        o = np.asarray(origin, dtype=float)
        h = max(float(size), 1.0) / 2
        rep.PlaceWidget([o[0] - h, o[0] + h, o[1] - h, o[1] + h, o[2] - h, o[2] + h])
        rep.SetOrigin(*o)
        rep.SetNormal(0.0, 0.0, 1.0)
        rep.SetConstrainToWidgetBounds(False)
        rep.SetOutsideBounds(True)
        rep.SetDrawOutline(False)
        rep.SetOutlineTranslation(False)
        rep.SetScaleEnabled(False)
        rep.SetHandleSize(HANDLE_PX)
        rep.SetTubing(False)
        rep.SetHandleColor(*HANDLE_RGB)
        rep.SetEdgeColor(*HANDLE_RGB)
        rep.GetPlaneProperty().SetColor(*HANDLE_RGB)
        rep.GetPlaneProperty().SetOpacity(0.12)
        rep.GetSelectedPlaneProperty().SetOpacity(0.2)
        rep.GetNormalProperty().SetLineWidth(2.0)
        widget = vtk.vtkImplicitPlaneWidget2()
        widget.SetInteractor(interactor)
        widget.SetCurrentRenderer(renderer)
        widget.SetRepresentation(rep)
        self._plane = vtk.vtkPlane()

        def moved(*_: Any) -> None:
            rep.GetPlane(self._plane)
            on_change(self._plane.GetOrigin(), self._plane.GetNormal())

        widget.AddObserver("InteractionEvent", moved)
        widget.On()
        self.widget, self.rep = widget, rep

    def remove(self) -> None:
        self.widget.Off()
        self.widget.SetInteractor(None)
