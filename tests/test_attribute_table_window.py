"""The attribute table in a window of its own (the default, as in QGIS) or
docked on request: the toggle keeps the table's state, the choice and the
window's geometry are remembered, and the table goes with its layer and
with the main window."""

from __future__ import annotations

import os

import numpy as np
import pytest
from conftest import SCENES

import importers

PILOT = SCENES / "viet_tri.toml"
BUILDINGS = "Công trình (buildings)"

pytestmark = [
    pytest.mark.gui,
    pytest.mark.skipif(not os.environ.get("DISPLAY"), reason="no X display"),
]


@pytest.fixture
def settings(tmp_path):
    from PySide6.QtCore import QSettings

    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


def _window(qtbot, settings):
    from qt_actions import show_window

    from app import main_window as mw

    window = mw.MainWindow(importers.open_scene(PILOT), scene_path=PILOT, settings=settings)
    return show_window(qtbot, window, (1400, 860))


@pytest.fixture
def main_window(qtbot, settings):
    window = _window(qtbot, settings)
    yield window
    window.close()


def _settle(qtbot, ms: int = 50) -> None:
    qtbot.wait(ms)


def _dock_button(table):
    from PySide6.QtWidgets import QToolButton

    action = _main(table).attribute_tables.dock_action
    return next(b for b in table.findChildren(QToolButton) if b.defaultAction() is action)


def _main(table):
    """The main window of a table, docked or in its own window."""
    from app.main_window import MainWindow

    w = table
    while w is not None and not isinstance(w, MainWindow):
        w = w.parentWidget()
    return w


def test_table_opens_in_its_own_window_and_leaves_the_view_alone(qtbot, main_window):
    from PySide6.QtWidgets import QDockWidget

    window = main_window
    layer = window.scene.layer(BUILDINGS)
    view_size = window.plotter.interactor.size()
    docks_before = {d.objectName() for d in window.findChildren(QDockWidget)}
    table = window.attribute_tables.open(layer)
    qtbot.waitExposed(table.window())
    _settle(qtbot)
    own = table.window()
    assert own is not window and own.isWindow() and own.isVisible()
    assert own.parentWidget() is window  # above the main window, closed with it
    assert own.windowTitle() == f"Attribute table: {BUILDINGS}"
    # nothing docked, the 3D view keeps its size
    assert {d.objectName() for d in window.findChildren(QDockWidget)} == docks_before
    assert window.plotter.interactor.size() == view_size
    assert table.model.rowCount() == len(layer.features)
    assert own.width() >= 600 and own.height() >= 200  # rows to read
    # the toggle is in the View menu and in the table's toolbar, unchecked
    action = window.attribute_tables.dock_action
    assert action in window.view_menu.actions() and not action.isChecked()
    assert _dock_button(table).isVisible()
    # opening again raises the same table
    assert window.attribute_tables.open(layer) is table


def test_docking_and_undocking_keep_the_table_state(qtbot, main_window, settings):
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QDockWidget

    window = main_window
    tables = window.attribute_tables
    layer = window.scene.layer(BUILDINGS)
    heights = layer.features.attributes["height"]
    table = tables.open(layer)
    qtbot.waitExposed(table.window())
    table.table.sortByColumn(table.model.columns.index("height"), Qt.SortOrder.DescendingOrder)
    shown = table.apply_filter("height > 10")
    assert 0 < shown < len(layer.features)
    picked = np.sort(table.model.order[[0, 2, 5]])
    window._highlight(layer, picked)  # a 3D selection, mirrored in the table
    assert table.selected_rows().tolist() == picked.tolist()
    order = table.model.order.copy()
    view_size = window.plotter.interactor.size()
    table.table.scrollTo(table.model.index(30, 0), table.table.ScrollHint.PositionAtTop)
    assert table.top_row() == 30

    qtbot.mouseClick(_dock_button(table), Qt.MouseButton.LeftButton)  # dock it
    _settle(qtbot, 200)
    assert tables.docked and settings.value("attribute_table/docked", type=bool) is True
    assert tables.table(layer) is table  # the same widget, moved
    dock = table.parentWidget()
    assert isinstance(dock, QDockWidget) and dock.parentWidget() is window
    assert dock.objectName().startswith("attribute_table_dock")
    assert window.dockWidgetArea(dock) == Qt.DockWidgetArea.BottomDockWidgetArea
    assert dock.isVisible() and table.window() is window
    assert not table.visibleRegion().isEmpty()  # in sight: its tab in front of the timeline's
    assert dock.windowTitle() == f"Attribute table: {BUILDINGS}"
    assert window.plotter.interactor.height() < view_size.height()  # room made below
    assert np.array_equal(table.model.order, order)
    assert table.filter_edit.text() == "height > 10" and table.model.ascending is False
    assert table.selected_rows().tolist() == picked.tolist()
    assert np.all(np.diff(heights[table.model.order]) <= 0)
    assert table.top_row() == 30  # the same rows in sight
    # table -> 3D still works docked
    table.table.selectRow(1)
    assert window.view.selection[1].tolist() == [int(order[1])]
    top = table.top_row()

    tables.dock_action.trigger()  # the View menu item: back to a window
    _settle(qtbot, 200)
    assert not tables.docked and settings.value("attribute_table/docked", type=bool) is False
    assert tables.table(layer) is table and table.window().isWindow()
    assert table.window() is not window and table.window().isVisible()
    assert not any(d.objectName().startswith("attribute_table_dock")
                   for d in window.findChildren(QDockWidget))  # the dock is gone
    assert table.selected_rows().tolist() == [int(order[1])]
    assert np.array_equal(table.model.order, order) and table.top_row() == top


def test_window_geometry_and_the_docked_choice_are_remembered(qtbot, settings):
    import shiboken6
    from PySide6.QtCore import QRect
    from PySide6.QtWidgets import QDockWidget

    window = _window(qtbot, settings)
    layer = window.scene.layer(BUILDINGS)
    table = window.attribute_tables.open(layer)
    own = table.window()
    qtbot.waitExposed(own)
    own.setGeometry(QRect(130, 170, 700, 300))
    _settle(qtbot)
    geometry = own.geometry()
    own.close()  # the window's close button
    _settle(qtbot)
    assert window.attribute_tables.table(layer) is None
    assert not shiboken6.isValid(own)  # deleted, with its table
    again = window.attribute_tables.open(layer)
    qtbot.waitExposed(again.window())
    assert again is not table and again.window().geometry() == geometry
    window.attribute_tables.dock_action.setChecked(True)
    window.close()
    assert window.attribute_tables.tables == {}

    # a new session: the table opens docked, at the bottom
    second = _window(qtbot, settings)
    try:
        assert second.attribute_tables.dock_action.isChecked()
        table = second.attribute_tables.open(second.scene.layer(BUILDINGS))
        _settle(qtbot, 200)
        assert isinstance(table.parentWidget(), QDockWidget) and table.isVisible()
        # View → Reset layout keeps it at the bottom
        second.window_layout.reset()
        _settle(qtbot)
        from PySide6.QtCore import Qt

        assert second.dockWidgetArea(table.parentWidget()) == \
            Qt.DockWidgetArea.BottomDockWidgetArea
        assert table.isVisible() or table.parentWidget().isVisible()
    finally:
        second.close()


def test_table_window_goes_with_its_layer_and_with_the_main_window(qtbot, main_window):
    import shiboken6

    window = main_window
    tables = window.attribute_tables
    layer = window.scene.layer(BUILDINGS)
    other = next(la for la in window.scene.layers if la is not layer and len(la.features))
    first, second = tables.open(layer), tables.open(other)
    own1, own2 = first.window(), second.window()
    qtbot.waitExposed(own2)
    assert own1 is not own2 and own2.pos() != own1.pos()  # cascaded, not stacked
    window.window_layout.set_presentation(True)  # F11: only the view
    _settle(qtbot)
    assert not own1.isVisible() and not own2.isVisible()
    window.window_layout.set_presentation(False)
    _settle(qtbot)
    assert own1.isVisible() and own2.isVisible()
    window.scene.remove_layer(layer)
    _settle(qtbot)
    assert tables.table(layer) is None
    assert not shiboken6.isValid(own1) or not own1.isVisible()
    window.window_layout.reset()  # Reset layout leaves a table window alone
    _settle(qtbot)
    assert own2.isVisible() and tables.table(other) is second
    window.close()
    _settle(qtbot)
    assert not shiboken6.isValid(own2) or not own2.isVisible()
    assert tables.tables == {}


def test_table_window_speaks_vietnamese(qtbot, main_window):
    from app import i18n

    window = main_window
    table = window.attribute_tables.open(window.scene.layer(BUILDINGS))
    qtbot.waitExposed(table.window())
    i18n.install("vi")
    try:
        _settle(qtbot)
        assert table.window().windowTitle() == f"Bảng thuộc tính: {BUILDINGS}"
        assert table.zoom_button.text() != "Zoom to selection"
    finally:
        i18n.install("en")
    _settle(qtbot)
    assert table.window().windowTitle() == f"Attribute table: {BUILDINGS}"


def test_scrolling_the_table_window_leaves_the_main_window_unpainted(qtbot, main_window):
    """The point of the own window: a scroll repaints the table only. Docked,
    every step is a repaint of the main window (composed through GL with its 3D view)."""
    from PySide6.QtCore import QEvent, QObject

    window = main_window
    for timer in (window.clock_timer, window.feed_health_panel.timer):
        timer.stop()  # the status bar's own ticks repaint the main window, table or not

    class Updates(QObject):
        count = 0

        def eventFilter(self, obj, event) -> bool:
            if event.type() == QEvent.Type.UpdateRequest:
                self.count += 1
            return False

    updates = Updates(window)
    window.installEventFilter(updates)
    layer = window.scene.layer(BUILDINGS)

    def scroll(table) -> int:
        _settle(qtbot, 300)
        before = updates.count
        bar = table.table.verticalScrollBar()
        for value in np.linspace(0, bar.maximum(), 20).round().astype(int).tolist():
            bar.setValue(value)
            qtbot.wait(5)
        return updates.count - before

    table = window.attribute_tables.open(layer)
    qtbot.waitExposed(table.window())
    first = table.top_row()
    assert scroll(table) == 0
    assert table.top_row() > first  # it did scroll
    window.attribute_tables.dock_action.setChecked(True)
    assert scroll(table) >= 10
