"""Putting a tour's state on a view: camera, layer visibility, caption.

The window's tour preview, the video export and the render check all go
through :func:`apply_state`, so a rehearsed tour is the exported one.
"""

from __future__ import annotations

from collections.abc import Sequence

from twin.render.captions import Caption
from twin.render.clipping import fit_clipping_range
from twin.scene import Scene
from twin.tour import TourState, layer_matches


def layer_visibility(scene: Scene) -> dict[str, bool]:
    """Layer name -> visible, to restore after a tour changed some."""
    return {layer.name: layer.visible for layer in scene.layers}


def apply_state(
    view,
    state: TourState,
    base_visibility: dict[str, bool] | None = None,
    caption: Caption | None = None,
) -> None:
    """Point ``view``'s camera (a :class:`twin.render.SceneView`) at a tour state,
    set layer visibility and the caption. Does not render.

    Layers the tour shows or hides somewhere get the tour's visibility once
    their keyframe is reached and their ``base_visibility`` (what they had
    before the tour) until then, so scrubbing backwards undoes a hide. Layers
    the tour never names are left alone.
    """
    scene = view.scene
    cam = view.plotter.renderer.GetActiveCamera()
    c = state.camera
    cam.SetPosition(*scene.to_local(c.position))
    cam.SetFocalPoint(*scene.to_local(c.focal_point))
    cam.SetViewUp(*c.view_up)
    cam.SetViewAngle(c.view_angle)
    cam.OrthogonalizeViewUp()
    fit_clipping_range(view.plotter.renderer, scene)
    if base_visibility is not None and state.layers:
        for layer in scene.layers:
            if not any(layer_matches(layer.name, name) for name in state.layers):
                continue
            wanted = base_visibility.get(layer.name, layer.visible)
            for name, visible in state.visibility.items():
                if layer_matches(layer.name, name):
                    wanted = visible
            scene.set_visible(layer, wanted)
    if caption is not None:
        caption.set(state.caption, state.caption_opacity)


def restore_visibility(
    scene: Scene, visibility: dict[str, bool], only: Sequence[str] | None = None
) -> None:
    """Put layers back as ``visibility`` recorded them; with ``only``, just the
    layers answering to those (tour) names, leaving the others to whoever
    changed them since (e.g. the simulation clock showing a planned project)."""
    for layer in scene.layers:
        if layer.name not in visibility:
            continue
        if only is not None and not any(layer_matches(layer.name, n) for n in only):
            continue
        scene.set_visible(layer, visibility[layer.name])

