"""Every VTK object of CityTwin: the view, the one offscreen renderer, the
simulation's overlays, annotations (labels, measurement, north arrow, scale
bar, legends, captions) and video frames.

``twin.sim`` holds numpy arrays and events; importers return data; ``app/``
adds nothing to a plotter except through :class:`SceneView`. Import-linter
and ruff contracts in ``pyproject.toml`` keep it so.
"""

from __future__ import annotations

from twin.render.offscreen import (
    FrameRenderer,
    OffscreenRenderer,
    render_image,
    save_png,
    use_offscreen_gl,
)
from twin.render.view import (
    BACKGROUND_BOTTOM,
    BACKGROUND_TOP,
    COLOR_ARRAY,
    HIGHLIGHT_MIN_ALPHA,
    Pick,
    SceneView,
)

__all__ = [
    "BACKGROUND_BOTTOM",
    "BACKGROUND_TOP",
    "COLOR_ARRAY",
    "HIGHLIGHT_MIN_ALPHA",
    "FrameRenderer",
    "OffscreenRenderer",
    "Pick",
    "SceneView",
    "render_image",
    "save_png",
    "use_offscreen_gl",
]
