"""The actor of one batch of a model that is still loading (issue 20).

Built on the import's thread, handed to the GUI thread ready to draw
(``SceneView.add_overlay_actor`` takes a ready prop): the GUI thread then only
adds it to the renderer, microseconds, where ``plotter.add_mesh`` spent
5-40 ms per batch checking and wrapping the mesh. Nothing here touches a
render window, so building it off the GUI thread is safe; the mapper uploads
the batch's triangles in the frame that first draws it.
"""

from __future__ import annotations

import numpy as np
import pyvista as pv
import vtk

#: Cell array of uint8 RGB colours drawn as they are.
RGB_ARRAY = "rgb"


def batch_actor(mesh: pv.PolyData) -> vtk.vtkActor:
    """An unpickable, flat-shaded actor drawing ``mesh``'s cells in their
    ``rgb`` colours (as the final layer's native style draws them)."""
    actor = rgb_actor(mesh, RGB_ARRAY)
    actor.GetMapper().Update()
    actor.PickableOff()
    return actor


def rgb_actor(mesh: pv.PolyData, array: str) -> vtk.vtkActor:
    """A flat-shaded actor drawing ``mesh``'s cells in the uint8 RGB colours of
    cell array ``array`` (untouched colour when it is missing). A bare VTK
    actor: ``plotter.add_mesh`` spends 3-10 ms checking and wrapping each mesh,
    which hundreds of streamed tiles or preview batches cannot afford."""
    mapper = vtk.vtkPolyDataMapper()
    mapper.SetInputData(mesh)
    if array in mesh.cell_data:
        mesh.cell_data[array] = np.ascontiguousarray(mesh.cell_data[array], dtype=np.uint8)
        mapper.SetScalarModeToUseCellFieldData()
        mapper.SelectColorArray(array)
        mapper.SetColorModeToDirectScalars()
        mapper.ScalarVisibilityOn()
    else:
        mapper.ScalarVisibilityOff()
    actor = vtk.vtkActor()
    actor.SetMapper(mapper)
    actor.GetProperty().SetInterpolationToFlat()
    return actor


def batch_group() -> vtk.vtkAssembly:
    """The one prop holding every batch actor of an import: the view gets one
    overlay actor per import, not one per batch, so removing the preview when
    the final layer arrives is one call (121 ``remove_actor`` calls cost the
    GUI thread 5-45 ms on the 20 MB tower), and the clipping fit reads one
    box per frame instead of one per batch."""
    group = vtk.vtkAssembly()
    group.PickableOff()
    return group


def show_batch(view, name: str, group: vtk.vtkAssembly, actor: vtk.vtkActor) -> None:
    """Add a batch actor to ``group``, the import's overlay actor ``name`` in
    ``view`` (added at the first batch), without the immediate render that
    ``plotter.add_actor`` does by default (the caller asks the view for a
    frame: one per draw, drawn on the next paint)."""
    if view.overlay_actors.get(name) is not group:
        view.remove_overlay_actor(name)
        view.plotter.add_actor(
            group, name=f"overlay:{name}", reset_camera=False, pickable=False, render=False
        )
        view.overlay_actors[name] = group
    group.AddPart(actor)


def last_frame_seconds(view) -> float:
    """What the view's last frame cost (VTK's own count; 0 before the first)."""
    try:
        return float(view.plotter.renderer.GetLastRenderTimeInSeconds())
    except (AttributeError, TypeError):
        return 0.0
