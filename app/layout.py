"""Where the main window's docks go, how their layout persists, and the
presentation mode: room for the 3D view.

One column of tabbed docks leaves the view three quarters of the window's
width (two side columns of panels whose buttons want ~290 px each left it 59 %
in Vietnamese): layers | bookmarks on top, attributes | search | sensors |
sun study | tour (and any dock another module adds) below, so the layer
tree and the clicked feature's attributes are both in sight; the timeline
(and docked attribute tables) at the bottom. Each dock can be closed, floated
or dragged elsewhere (the View menu toggles them back); *Hide panels*
collapses them all at once, and *Reset layout* puts this arrangement back.

Geometry and dock layout are kept in the window's QSettings under
``window/geometry`` and ``window/state``, stamped with :data:`LAYOUT_VERSION`:
a state saved by an older arrangement is ignored instead of restored.

Presentation mode (F11) shows only the view, full screen; PageDown/PageUp
(or Right/Left, a presenter's clicker) step through the scene's bookmarks and
then its tours' stops; F11 or Esc restores the window as it was.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QByteArray, QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDockWidget, QMainWindow, QTabBar, QTabWidget, QToolBar

from app.i18n import tr

log = logging.getLogger(__name__)

#: bump when the default arrangement changes: older saved states are then ignored
LAYOUT_VERSION = 2
#: the side column: tabs on top, tabs below (docks not named anywhere join these)
TOP = ("layers_dock", "bookmarks_dock")
BELOW = ("inspector_dock", "search_dock", "sensors_dock", "sunstudy_dock", "tour_dock")
BOTTOM = ("timeline_dock",)
#: the tab in front in each group: the layer tree and the clicked feature's attributes
RAISED = ("layers_dock", "inspector_dock", "timeline_dock")
#: share of the window's width for the column, and its bounds (px)
COLUMN_SHARE, COLUMN_PX = 0.22, (280, 420)
#: share of the column's height for the layer tree's group
TOP_SHARE = 0.42
GEOMETRY_KEY, STATE_KEY = "window/geometry", "window/state"
#: after asking for full screen, when to check that the window got it
FULL_SCREEN_CHECK_MS = 150


@dataclass
class Stop:
    """One stop of a presentation: a bookmark, or a tour keyframe."""

    label: str
    go: Callable[[], None]


def _clamp(value: float, bounds: tuple[int, int]) -> int:
    return int(min(max(value, bounds[0]), bounds[1]))


class WindowLayout(QObject):
    """The dock arrangement, its persistence and the presentation mode of a window.

    Built at the end of the window's ``__init__`` (its docks and toolbars
    exist); the default arrangement is applied at the first show when no
    saved one was restored, so docks other modules add meanwhile take part.
    """

    def __init__(self, window: QMainWindow, settings) -> None:
        super().__init__(window)
        self.window = window
        self.settings = settings
        self.restored = False
        self._arranged_names: set[str] = set()
        self._shown = False
        self.presenting = False
        self._before: tuple[QByteArray, QByteArray, bool, bool] | None = None
        self._stops: list[Stop] = []
        self.stop_index = -1
        self._collapsed: list[QDockWidget] = []
        #: which docks are shown by default (captured before anything is restored)
        self._default_visible = {d.objectName(): not d.isHidden() for d in self.docks()}
        window.setDockOptions(
            QMainWindow.DockOption.AnimatedDocks
            | QMainWindow.DockOption.AllowTabbedDocks
            | QMainWindow.DockOption.AllowNestedDocks
            | QMainWindow.DockOption.GroupedDragging
        )
        for area in (Qt.DockWidgetArea.LeftDockWidgetArea, Qt.DockWidgetArea.RightDockWidgetArea):
            window.setTabPosition(area, QTabWidget.TabPosition.North)
        self._build_actions()
        window.installEventFilter(self)

    # -- docks --------------------------------------------------------------------------
    def docks(self) -> list[QDockWidget]:
        """The window's own docks (not those of nested windows), in creation order."""
        return [d for d in self.window.findChildren(QDockWidget) if d.parent() is self.window]

    def _dock(self, name: str) -> QDockWidget | None:
        return next((d for d in self.docks() if d.objectName() == name), None)

    def arrange_default(self) -> None:
        """Put every dock in its column, tabbed, and size the columns."""
        w = self.window
        left, bottom = Qt.DockWidgetArea.LeftDockWidgetArea, Qt.DockWidgetArea.BottomDockWidgetArea
        groups: list[tuple[Qt.DockWidgetArea, list[str]]] = [
            (left, list(TOP)), (left, list(BELOW)), (bottom, list(BOTTOM))
        ]
        known = set(TOP) | set(BELOW) | set(BOTTOM)
        for dock in self.docks():
            name = dock.objectName()
            if name not in known:  # attribute tables at the bottom, other panels below
                groups[2 if name.startswith("attribute_table_dock") else 1][1].append(name)
        # Heads first: splitting beside a dock that is already tabbed would
        # tab the new one instead (Qt: "a single tab can contain only one dock").
        heads: list[QDockWidget | None] = []
        for area, names in groups:
            head = next((d for n in names if (d := self._dock(n)) is not None), None)
            heads.append(head)
            if head is None:
                continue
            head.setFloating(False)
            if area == left and heads[0] is not None and head is not heads[0]:
                w.splitDockWidget(heads[0], head, Qt.Orientation.Vertical)
            else:
                w.addDockWidget(area, head)
        for (_area, names), head in zip(groups, heads, strict=True):
            for name in names:
                dock = self._dock(name)
                if dock is None:
                    continue
                if dock is not head:
                    dock.setFloating(False)
                    w.tabifyDockWidget(head, dock)
                dock.setVisible(self._default_visible.get(name, True))
        for toolbar in w.findChildren(QToolBar):
            if toolbar.parent() is w:
                w.addToolBar(Qt.ToolBarArea.TopToolBarArea, toolbar)
                toolbar.show()
        for name in RAISED:
            dock = self._dock(name)
            if dock is not None and not dock.isHidden():
                dock.raise_()
        self._size_columns()
        self.style_tab_bars()
        self._arranged_names = {d.objectName() for d in self.docks()}

    def style_tab_bars(self) -> None:
        """Dock tabs keep their full titles and scroll, instead of eliding to "S…"."""
        for bar in self.window.findChildren(QTabBar):
            if bar.parent() is self.window:
                bar.setElideMode(Qt.TextElideMode.ElideNone)
                bar.setUsesScrollButtons(True)
                bar.setExpanding(False)

    def _size_columns(self) -> None:
        """The column at a share of the window's width (the view keeps the rest),
        the layer tree's group at a share of its height."""
        w = self.window
        top = next((d for n in TOP if (d := self._dock(n)) is not None and not d.isHidden()), None)
        below = next((d for n in BELOW if (d := self._dock(n)) is not None
                      and not d.isHidden()), None)
        column = [d for d in (top, below) if d is not None]
        if not column:
            return
        width = _clamp(max(w.width(), 1) * COLUMN_SHARE, COLUMN_PX)
        w.resizeDocks(column[:1], [width], Qt.Orientation.Horizontal)
        if top is not None and below is not None:
            height = top.height() + below.height()
            w.resizeDocks([top, below], [round(height * TOP_SHARE),
                                         round(height * (1 - TOP_SHARE))], Qt.Orientation.Vertical)

    def reset(self) -> None:
        """View → Reset layout: the default arrangement, out of presentation mode."""
        if self.presenting:
            self.set_presentation(False)
        self.collapse_action.setChecked(False)
        self.arrange_default()

    # -- persistence ----------------------------------------------------------------------
    def restore(self) -> bool:
        """Geometry and dock layout from the settings; False when none (or an
        older layout's) was stored."""
        geometry = self.settings.value(GEOMETRY_KEY)
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.window.restoreGeometry(geometry)
        state = self.settings.value(STATE_KEY)
        self.restored = isinstance(state, QByteArray) and self.window.restoreState(
            state, LAYOUT_VERSION
        )
        self.style_tab_bars()
        if not self.restored:
            # arranged before the window is shown: no dock flashes to the front
            # (a panel may start work when it becomes visible)
            self.arrange_default()
        return self.restored

    def save(self) -> None:
        """Geometry and dock layout into the settings (the window as it was
        before presentation mode, if presenting)."""
        if self.presenting and self._before is not None:
            geometry, state = self._before[0], self._before[1]
        else:
            geometry, state = self.window.saveGeometry(), self.window.saveState(LAYOUT_VERSION)
        self.settings.setValue(GEOMETRY_KEY, geometry)
        self.settings.setValue(STATE_KEY, state)
        self.settings.sync()

    def eventFilter(self, obj, event) -> bool:
        if obj is self.window:
            kind = event.type()
            if kind == QEvent.Type.Show and not self._shown:
                self._shown = True
                if not self.restored:
                    if {d.objectName() for d in self.docks()} != self._arranged_names:
                        self.arrange_default()  # a dock was added after the window was built
                    # once the window has its final size, the columns again
                    QTimer.singleShot(0, self._size_columns)
                self.style_tab_bars()
            elif kind == QEvent.Type.LanguageChange:
                self.retranslate()
        return False

    # -- actions ----------------------------------------------------------------------------
    def _action(self, slot, keys=(), checkable: bool = False) -> QAction:
        action = QAction(self.window)
        action.setShortcuts([QKeySequence(k) for k in keys])
        action.setCheckable(checkable)
        (action.toggled if checkable else action.triggered).connect(slot)
        self.window.addAction(action)  # shortcuts work with menus and toolbars hidden
        return action

    def _build_actions(self) -> None:
        self.presentation_action = self._action(self.set_presentation, ["F11"], checkable=True)
        self.leave_action = self._action(lambda: self.set_presentation(False), ["Esc"])
        self.next_action = self._action(lambda: self.step(1), ["PgDown", "Right", "Space"])
        self.previous_action = self._action(lambda: self.step(-1), ["PgUp", "Left"])
        self.collapse_action = self._action(self.collapse, ["F9"], checkable=True)
        self.reset_action = self._action(self.reset)
        for a in (self.leave_action, self.next_action, self.previous_action):
            a.setEnabled(False)  # presentation keys only while presenting
        self.retranslate()

    def add_to_menu(self, menu) -> None:
        """Presentation mode, Hide panels and Reset layout in the View menu."""
        menu.addSeparator()
        for a in (self.presentation_action, self.collapse_action, self.reset_action):
            menu.addAction(a)

    def retranslate(self) -> None:
        for action, text in (
            (self.presentation_action, tr("Presentation mode")),
            (self.leave_action, tr("Leave presentation mode")),
            (self.next_action, tr("Next stop")),
            (self.previous_action, tr("Previous stop")),
            (self.collapse_action, tr("Hide panels")),
            (self.reset_action, tr("Reset layout")),
        ):
            action.setText(text)
            keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
            action.setToolTip(f"{text} ({keys})" if keys else text)

    # -- collapse --------------------------------------------------------------------------
    def collapse(self, on: bool) -> None:
        """Hide every open dock (the view takes the window), or bring them back."""
        if on:
            self._collapsed = [d for d in self.docks() if d.isVisible()]
            for dock in self._collapsed:
                dock.hide()
        else:
            for dock in self._collapsed:
                dock.show()
            self._collapsed = []

    # -- presentation ---------------------------------------------------------------------
    def set_presentation(self, on: bool) -> None:
        """Full-screen 3D view without docks, menus, toolbars or status bar (F11)."""
        w = self.window
        on = bool(on)
        if on == self.presenting:
            self.presentation_action.setChecked(on)
            return
        self.presenting = on
        if on:
            self._before = (w.saveGeometry(), w.saveState(LAYOUT_VERSION), w.isMaximized(),
                            w.menuBar().isVisible())
            for dock in self.docks():
                dock.hide()
            if hasattr(w, "attribute_tables"):  # table windows of their own, too
                w.attribute_tables.hide_windows(True)
            for toolbar in w.findChildren(QToolBar):
                toolbar.hide()
            w.menuBar().hide()
            w.statusBar().hide()
            self._stops = self.stops()
            self.stop_index = -1
            w.showFullScreen()
            # without a window manager (a kiosk, an IOC wall display) nobody
            # honours the full-screen request: take the screen ourselves
            QTimer.singleShot(FULL_SCREEN_CHECK_MS, self._fill_screen)
        else:
            geometry, state, maximized, menu = self._before or (None, None, False, True)
            self._before = None
            w.showMaximized() if maximized else w.showNormal()
            if geometry is not None:
                w.restoreGeometry(geometry)
            w.menuBar().setVisible(menu)
            w.statusBar().show()
            if state is not None:
                w.restoreState(state, LAYOUT_VERSION)
            if hasattr(w, "attribute_tables"):
                w.attribute_tables.hide_windows(False)
            panel = getattr(w, "tour_panel", None)
            if panel is not None and panel.status != panel.STOPPED:
                panel.stop()
        for a in (self.leave_action, self.next_action, self.previous_action):
            a.setEnabled(on)
        self.presentation_action.blockSignals(True)
        self.presentation_action.setChecked(on)
        self.presentation_action.blockSignals(False)
        w.plotter.interactor.setFocus()

    def _fill_screen(self) -> None:
        w = self.window
        screen = w.screen().geometry()
        if self.presenting and w.isFullScreen() and w.geometry() != screen:
            w.setGeometry(screen)

    def stops(self) -> list[Stop]:
        """The scene's bookmarks, then each tour's keyframes, in order."""
        w = self.window
        out = [Stop(bm.name, lambda n=bm.name: self._go_bookmark(n)) for bm in w.scene.bookmarks]
        panel = getattr(w, "tour_panel", None)
        tours = panel.tours if panel is not None else []
        for tour in tours:
            if not tour.keyframes:
                continue
            arrive = tour.path.arrive
            for i, key in enumerate(tour.keyframes):
                label = key.caption or key.bookmark or f"{tour.name} {i + 1}"
                out.append(Stop(label, lambda t=tour, s=float(arrive[i]): self._go_tour(t, s)))
        return out

    def _go_bookmark(self, name: str) -> None:
        panel = getattr(self.window, "tour_panel", None)
        if panel is not None and panel.status != panel.STOPPED:
            panel.stop()  # layers and clock back as before the tour
        self.window.go_to_bookmark(name)

    def _go_tour(self, tour, t: float) -> None:
        panel = self.window.tour_panel
        if panel.tour is not tour:
            panel.select(tour.name)
        panel.seek(t)

    def step(self, delta: int) -> Stop | None:
        """Go to the next (``delta`` 1) or previous (-1) stop; None when there is none."""
        if not self._stops:
            return None
        if self.stop_index < 0:
            self.stop_index = 0 if delta > 0 else len(self._stops) - 1
        else:
            self.stop_index = (self.stop_index + delta) % len(self._stops)
        stop = self._stops[self.stop_index]
        try:
            stop.go()
        except Exception:  # a broken stop must not end the presentation
            log.exception("presentation stop %s", stop.label)
        self.window.request_render()
        return stop
