"""The window's area and height tools, the copy of a result, and the
measurements kept in the project.

Area: each click adds a corner; from the third on, the polygon's plan area
(and its area draped on a terrain layer, when the scene has one) is shown and
updated; a click on the first corner closes it, and the next click starts a
new polygon. Height: two clicks give the vertical between them. Every finished
result joins :attr:`MeasureTools.kept`, which the project saves
(``Project.measurements``); Edit → Copy measurement puts the latest on the
clipboard as text.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QGuiApplication

from app import i18n
from app.i18n import tr
from twin.measure import AreaMeasurement, from_record, measure_height, record
from twin.render.measure_marks import measure_polygon

#: Kept measurements per project (oldest dropped first).
MAX_KEPT = 100
#: A click this close to the first corner (pixels) closes the polygon.
CLOSE_PX = 10.0


class MeasureTools:
    """Area and height picking for a window with ``view``, ``world_at`` and a status bar."""

    def __init__(self, window) -> None:
        self.window = window
        self.mode: str | None = None  # "area" | "height" | None
        self.points: list[np.ndarray] = []
        #: finished measurements, oldest first (distance, area, height)
        self.kept: list = []

    @property
    def view(self):
        return self.window.view

    def _say(self, text: str) -> None:
        self.window.statusBar().showMessage(text)

    def start(self, mode: str | None) -> None:
        """Begin drawing an area or picking a height (None: stop; results stay drawn)."""
        self.mode, self.points = mode, []
        if mode == "area":
            self._say(tr("Area: click the corners of the polygon"))
        elif mode == "height":
            self._say(tr("Height: click the lower and the upper point"))

    def click(self, x: float, y: float):
        """A click in the 3D view while a tool is on; returns the measurement if one is done."""
        if self.mode == "area" and len(self.points) >= 3:
            fx, fy = self.view.display_point(self.points[0])
            if np.hypot(fx - x, fy - y) <= CLOSE_PX:
                self.points = []
                self._say(tr("Area closed; click to start a new polygon"))
                return self.kept[-1] if self.kept else None
        world = self.window.world_at(x, y)
        if world is None or self.mode is None:
            return None
        lang = i18n.current()
        if self.mode == "height":
            self.points = [*self.points[-1:], world] if len(self.points) < 2 else [world]
            if len(self.points) < 2:
                self._say(tr("Height: click the second point"))
                return None
            m = measure_height(*self.points)
            self.view.marks.show_height(m, lang)
            self.keep(m)
            return m
        self.points.append(world)
        if len(self.points) < 3:
            self._say(tr("Area: click the next corner"))
            return None
        m = measure_polygon(self.view.scene, np.array(self.points))
        self.view.marks.show_area(m, lang)
        # the polygon grows with each click: replace the previous, unfinished one
        if self.kept and isinstance(self.kept[-1], AreaMeasurement) and len(self.points) > 3:
            self.kept.pop()
        self.keep(m)
        return m

    def keep(self, m) -> None:
        self.kept.append(m)
        del self.kept[:-MAX_KEPT]
        self._say(m.text(i18n.current()) + "  " + tr("(Ctrl+Shift+C copies)"))

    def copy_latest(self) -> str | None:
        """Put the latest measurement's text on the clipboard."""
        if not self.kept:
            self._say(tr("No measurement to copy"))
            return None
        text = self.kept[-1].text(i18n.current())
        QGuiApplication.clipboard().setText(text)
        self._say(tr("Copied: {0}").replace("{0}", text))
        return text

    def clear(self) -> None:
        self.points = []
        self.view.marks.clear()

    def records(self) -> list[dict]:
        return [record(m) for m in self.kept]

    def restore(self, records: list[dict]) -> None:
        """Measurements of an opened project; the latest area and height are drawn."""
        self.kept = []
        for d in records:
            try:
                self.kept.append(from_record(d))
            except ValueError:
                continue
        self.view.marks.clear()
        lang = i18n.current()
        for kind in ("area", "height"):
            last = next((m for m in reversed(self.kept) if record(m)["kind"] == kind), None)
            if last is not None:
                self.view.marks.show(last, lang)

    def marks(self) -> tuple:
        """What the view draws, for its :class:`~twin.viewstate.ViewState`."""
        return tuple(m for m in (self.view.marks.area, self.view.marks.height) if m is not None)
