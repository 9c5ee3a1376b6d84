"""Anti-aliasing that the machine's OpenGL can afford.

4x MSAA is free on a GPU but not on Mesa's software rasterisers (llvmpipe on a
VM, a remote desktop or a CI box): there it more than doubles the frame time of
the pilot district (110-170 ms against 49 ms at 567x707 on 2 cores; FXAA would
add ~20 ms back). Every repaint of the view is a full frame on the GUI thread,
and a frame over 100 ms is a frozen window, so on software GL the interactive
view draws without anti-aliasing. Headless renders (``citytwin render``, videos,
baselines, screenshot export) keep their own settings.
"""

from __future__ import annotations

import re
from typing import Any

SOFTWARE_RENDERERS = re.compile(r"llvmpipe|softpipe|swrast|software rasterizer", re.IGNORECASE)


def renderer_string(render_window: Any) -> str:
    """The GL_RENDERER line of an initialised VTK render window ('' if unknown)."""
    try:
        report = render_window.ReportCapabilities() or ""
    except Exception:
        return ""
    for line in report.splitlines():
        if "renderer string" in line.lower():
            return line.split(":", 1)[-1].strip()
    return ""


def is_software(render_window: Any) -> bool:
    return bool(SOFTWARE_RENDERERS.search(renderer_string(render_window)))


def fit_to_renderer(plotter: Any) -> str:
    """Choose anti-aliasing for ``plotter``'s (shown) window; returns the choice."""
    ren_win = plotter.ren_win
    if not is_software(ren_win):
        return "msaa"
    ren_win.SetMultiSamples(0)
    return "none (software OpenGL)"
