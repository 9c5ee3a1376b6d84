"""The desktop window: 3D viewport, layer list, attribute inspector, bookmarks.

A thin view over :mod:`twin`: slots call one model method each; the model's
psygnal events keep :class:`twin.render.SceneView` in sync.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QDockWidget,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QTableWidget,
    QTableWidgetItem,
    QToolBar,
)
from pyvistaqt import QtInteractor

from twin.layer import Layer
from twin.render import Pick, SceneView
from twin.scene import Scene

CLICK_SLOP_PX = 4


class MainWindow(QMainWindow):
    """CityTwin's main window over one scene."""

    def __init__(self, scene: Scene) -> None:
        super().__init__()
        self.scene = scene
        self.setWindowTitle(f"CityTwin — {scene.name}")
        self.resize(1400, 860)
        self.plotter = QtInteractor(self)
        self.setCentralWidget(self.plotter.interactor)
        self.view = SceneView(scene, self.plotter)
        self._press: tuple[int, int] | None = None
        self.last_pick: Pick | None = None
        self._build_layers_dock()
        self._build_inspector_dock()
        self._build_toolbar()
        self._install_click_picking()
        scene.events.layer_added.connect(self._refresh_layer_list)
        scene.events.layer_removed.connect(self._refresh_layer_list)
        self.crs_label = QLabel(f"CRS {scene.crs_label}")
        self.statusBar().addPermanentWidget(self.crs_label)
        if scene.bookmarks:
            self.view.apply_bookmark(scene.bookmarks[0])
        else:
            self.view.overview()
        self.statusBar().showMessage(
            f"{len(scene.layers)} layers, "
            f"{sum(len(la.features) for la in scene.layers)} features — click a feature "
            "to inspect it"
        )

    # -- docks -------------------------------------------------------------------------
    def _build_layers_dock(self) -> None:
        self.layer_list = QListWidget()
        self.layer_list.itemChanged.connect(self._on_layer_item_changed)
        dock = QDockWidget("Layers", self)
        dock.setObjectName("layers_dock")
        dock.setWidget(self.layer_list)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, dock)
        self._refresh_layer_list()

    def _refresh_layer_list(self, *_: object) -> None:
        self.layer_list.blockSignals(True)
        self.layer_list.clear()
        for layer in self.scene.layers:
            item = QListWidgetItem(f"{layer.name}  ({len(layer.features)})")
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if layer.visible else Qt.CheckState.Unchecked)
            item.setData(Qt.ItemDataRole.UserRole, layer.name)
            tip = "\n".join(layer.warnings) or "no warnings"
            item.setToolTip(f"{layer.kind} — {layer.n_triangles} triangles\n{tip}")
            self.layer_list.addItem(item)
        self.layer_list.blockSignals(False)

    def _on_layer_item_changed(self, item: QListWidgetItem) -> None:
        layer = self.scene.layer(item.data(Qt.ItemDataRole.UserRole))
        self.scene.set_visible(layer, item.checkState() == Qt.CheckState.Checked)

    def layer_item(self, name: str) -> QListWidgetItem:
        for i in range(self.layer_list.count()):
            item = self.layer_list.item(i)
            if item.data(Qt.ItemDataRole.UserRole) == name:
                return item
        raise KeyError(name)

    def _build_inspector_dock(self) -> None:
        self.inspector = QTableWidget(0, 2)
        self.inspector.setHorizontalHeaderLabels(["Attribute", "Value"])
        self.inspector.horizontalHeader().setStretchLastSection(True)
        self.inspector.verticalHeader().setVisible(False)
        self.inspector.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        dock = QDockWidget("Attributes", self)
        dock.setObjectName("inspector_dock")
        dock.setWidget(self.inspector)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)

    def show_attributes(self, layer: Layer | None, row: int | None) -> None:
        if layer is None or row is None:
            self.inspector.setRowCount(0)
            return
        values = {"layer": layer.name, **layer.features.row(row)}
        shown = [(k, v) for k, v in values.items() if _present(v)]
        self.inspector.setRowCount(len(shown))
        for i, (key, value) in enumerate(shown):
            self.inspector.setItem(i, 0, QTableWidgetItem(str(key)))
            self.inspector.setItem(i, 1, QTableWidgetItem(_format(value)))
        self.inspector.resizeColumnToContents(0)

    def attribute(self, key: str) -> str | None:
        """The inspector's displayed value for ``key`` (used by tests and copy)."""
        for i in range(self.inspector.rowCount()):
            if self.inspector.item(i, 0).text() == key:
                return self.inspector.item(i, 1).text()
        return None

    # -- toolbar -----------------------------------------------------------------------
    def _build_toolbar(self) -> None:
        bar = QToolBar("View", self)
        bar.setObjectName("view_toolbar")
        self.addToolBar(bar)
        home = QAction("Overview", self)
        home.setShortcut(QKeySequence("Home"))
        home.triggered.connect(self._overview)
        bar.addAction(home)
        bar.addWidget(QLabel(" Bookmark: "))
        self.bookmark_box = QComboBox()
        self.bookmark_box.addItems([bm.name for bm in self.scene.bookmarks])
        self.bookmark_box.textActivated.connect(self.go_to_bookmark)
        bar.addWidget(self.bookmark_box)
        quit_action = QAction("Quit", self)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        self.addAction(quit_action)

    def _overview(self) -> None:
        self.view.overview()
        self.plotter.render()

    def go_to_bookmark(self, name: str) -> None:
        self.view.apply_bookmark(name)
        self.plotter.render()

    # -- picking -----------------------------------------------------------------------
    def _install_click_picking(self) -> None:
        iren = self.plotter.iren
        iren.add_observer("LeftButtonPressEvent", self._on_press)
        iren.add_observer("LeftButtonReleaseEvent", self._on_release)

    def _event_position(self) -> tuple[int, int]:
        x, y = self.plotter.iren.interactor.GetEventPosition()
        return int(x), int(y)

    def _on_press(self, *_: object) -> None:
        self._press = self._event_position()

    def _on_release(self, *_: object) -> None:
        pos = self._event_position()
        if self._press is None:
            return
        moved = np.hypot(pos[0] - self._press[0], pos[1] - self._press[1])
        self._press = None
        if moved <= CLICK_SLOP_PX:
            self.pick_at(*pos)

    def pick_at(self, x: float, y: float) -> Pick | None:
        """Select the feature under display point (x, y), origin bottom-left."""
        hit = self.view.pick(x, y)
        self.last_pick = hit
        if hit is None:
            self.view.select(None)
            self.show_attributes(None, None)
            self.statusBar().showMessage("nothing here")
            return None
        self.view.select(hit.layer, [hit.row])
        self.show_attributes(hit.layer, hit.row)
        e, n, h = hit.world
        label = hit.layer.features.names[hit.row] or hit.layer.features.ids[hit.row]
        self.statusBar().showMessage(f"{hit.layer.name}: {label}  at E {e:.2f} N {n:.2f} H {h:.2f}")
        return hit

    def closeEvent(self, event) -> None:
        self.plotter.close()
        super().closeEvent(event)


def _present(value: object) -> bool:
    if value is None:
        return False
    if isinstance(value, float) and not np.isfinite(value):
        return False
    return not (isinstance(value, str) and value == "")


def _format(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.3f}".rstrip("0").rstrip(".")
    if isinstance(value, tuple):
        return ", ".join(_format(v) for v in value)
    return str(value)


def run_app(path: Path) -> int:
    """Load ``path`` (scene or data file) and run the event loop."""
    from app.cli import load_any

    scene = load_any(Path(path))
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("CityTwin")
    window = MainWindow(scene)
    window.show()
    return app.exec()
