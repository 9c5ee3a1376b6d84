"""The installed Qt binding must not corrupt the interpreter over a long session.

PySide6 6.12.0 on Python 3.11 drops one reference to ``None`` on every call of
a method that returns nothing; a window that updates its status bar and
repaints for a while then aborts with "Fatal Python error: none_dealloc".
pyproject.toml keeps that release out; this test catches a binding that
brings the fault back.
"""

from __future__ import annotations

import sys

import pytest

pytestmark = pytest.mark.skipif(
    sys.version_info >= (3, 12), reason="None is immortal from Python 3.12: nothing to drop"
)


def test_void_qt_calls_keep_none_alive(qtbot):
    from PySide6.QtWidgets import QApplication, QLabel

    label = QLabel()
    qtbot.addWidget(label)
    app = QApplication.instance()
    calls = 2000
    before = sys.getrefcount(None)
    for i in range(calls):
        label.setText(str(i))
        label.update()
        app.processEvents()
    lost = before - sys.getrefcount(None)
    # A healthy binding loses nothing; a few stray references may come and go.
    assert lost < calls // 10, f"{lost} references to None lost in {3 * calls} void calls"
