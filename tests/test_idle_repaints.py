"""An idle window does not repaint itself. Beside the 3D view (a GL widget) any
repaint of the window makes Qt compose the whole window through GL, 45-70 ms a
time on software GL: a status-bar clock in seconds or an indicator restyled on
every poll stalled the GUI thread once a second (bench/bench_attribute_table.py)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from PySide6.QtCore import QEvent, QObject

ROOT = Path(__file__).resolve().parents[1]


class PaintCounter(QObject):
    """Counts paint events of the widgets inside one top-level window."""

    def __init__(self, window) -> None:
        super().__init__()
        self.window = window
        self.painted: list[str] = []

    def eventFilter(self, obj, event) -> bool:
        if event.type() == QEvent.Type.Paint and hasattr(obj, "window") \
                and obj.window() is self.window:
            self.painted.append(type(obj).__name__ + ":" + (obj.objectName() or ""))
        return False


@pytest.mark.gui
def test_an_idle_window_paints_nothing(qtbot, tmp_path):
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication
    from qt_actions import show_window

    import importers
    from app import main_window as mw

    path = ROOT / "scenes" / "viet_tri.toml"
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    window = mw.MainWindow(importers.open_scene(path), scene_path=path, settings=settings)
    show_window(qtbot, window)
    try:
        counter = PaintCounter(window)
        app = QApplication.instance()
        app.installEventFilter(counter)
        try:
            # settled: the first frames drawn and the panels filled (a quiet second)
            deadline = time.monotonic() + 30.0
            while time.monotonic() < deadline:
                seen = len(counter.painted)
                qtbot.wait(1000)
                if len(counter.painted) == seen:
                    break
            counter.painted.clear()
            qtbot.wait(3200)  # three health polls and three clock ticks
        finally:
            app.removeEventFilter(counter)
        # a minute may turn over once in the clock
        rest = [p for p in counter.painted if "QLabel" not in p]
        from collections import Counter
        assert rest == [], Counter(rest).most_common()
        assert len(counter.painted) <= 2, counter.painted
    finally:
        window.close()
