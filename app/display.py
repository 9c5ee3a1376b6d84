"""Is there a screen to open a window on?"""

from __future__ import annotations

import os
import sys


def display_problem() -> str | None:
    """None when a GUI can open; otherwise why not, in words."""
    if os.environ.get("QT_QPA_PLATFORM", "").startswith("offscreen"):
        return "QT_QPA_PLATFORM=offscreen has no OpenGL window for the 3D view"
    if sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    ):
        return "no display found (DISPLAY and WAYLAND_DISPLAY are not set)"
    return None
