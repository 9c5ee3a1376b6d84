"""What a person does to the real window in tests: look at the 3D view, click in it."""

from __future__ import annotations

import time

import numpy as np
from PySide6.QtCore import QPoint, Qt, QTimer


def grab(window) -> np.ndarray:
    """The 3D view's pixels, (h, w, 3) int, after a fresh render."""
    window.plotter.render()
    return np.asarray(window.plotter.screenshot(return_img=True))[:, :, :3].astype(int)


def click(qtbot, window, world_xyz) -> None:
    """A real mouse click on the 3D widget at a world point's pixel."""
    x, y = window.view.display_point(world_xyz)
    widget = window.plotter.interactor
    ratio = widget.devicePixelRatioF()
    # The interactor flips Qt's y (top-down) into VTK's: y_vtk = height_px - 1 - y_qt.
    pos = QPoint(round(x / ratio), round((widget.height() * ratio - 1 - y) / ratio))
    qtbot.mouseClick(widget, Qt.MouseButton.LeftButton, pos=pos)


def show_window(qtbot, window, size: tuple[int, int] = (900, 640)):
    """Show a main window the way the GUI tests expect it: a fixed size, on
    screen, exposed, looking at the scene's overview."""
    window.resize(*size)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    window.go_to_bookmark("overview")
    return window


class Heartbeat:
    """A timer on the GUI thread; ``gaps`` holds the seconds between its beats,
    so the longest gap is the longest the window could not answer."""

    def __init__(self, interval_ms: int = 10) -> None:
        self.gaps: list[float] = []
        self._last = time.perf_counter()
        self.timer = QTimer()
        self.timer.timeout.connect(self._beat)
        self.timer.start(interval_ms)

    def _beat(self) -> None:
        now = time.perf_counter()
        self.gaps.append(now - self._last)
        self._last = now

    def stop(self) -> list[float]:
        self.timer.stop()
        return self.gaps
