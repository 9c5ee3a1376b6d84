"""Search dock: find features by text (name, id, GlobalId) or by simple
conditions (``height > 30``, ``class = IfcWall``); list, highlight, zoom.

The matching is :func:`twin.query.search` (vectorised, no eval); this panel
only lists the rows and forwards clicks. A streamed layer (scene ``stream =
true``) is searched over the features its tiles hold now: :attr:`SearchPanel.streamed`
gives their snapshot layers (``app.stream_layers.loaded_layer``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDockWidget,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.i18n import Translatable, tr
from twin.layer import Layer
from twin.query import QueryError, search
from twin.scene import Scene

MAX_LISTED = 500


class SearchPanel(Translatable, QDockWidget):
    """Query box, layer choice and the list of matches."""

    #: a result was clicked: (layer, row)
    feature_activated = Signal(object, int)
    #: matches to highlight / zoom to: (layer, rows)
    highlight_requested = Signal(object, object)
    zoom_requested = Signal(object, object)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("search_dock")
        self.scene: Scene | None = None
        self.results: list[tuple[Layer, np.ndarray]] = []
        #: the loaded features of each shown streamed layer, as layers (the window sets it)
        self.streamed: Callable[[], list[Layer]] = list
        self._listed: list[tuple[Layer, int]] = []  # what each list row stands for
        self._found: int | None = None  # the count the summary shows, if it shows one
        body = QWidget()
        box = QVBoxLayout(body)
        box.setContentsMargins(2, 2, 2, 2)
        self.query = QLineEdit()
        self.query.returnPressed.connect(self.run)
        self.layer_box = QComboBox()
        row = QHBoxLayout()
        row.addWidget(self.layer_box, 1)
        self.find_button = QPushButton()
        self.find_button.clicked.connect(self.run)
        row.addWidget(self.find_button)
        self.zoom_button = QPushButton()
        self.zoom_button.clicked.connect(self.zoom_to_results)
        row.addWidget(self.zoom_button)
        self.summary = QLabel("")
        self.list = QListWidget()
        self.list.currentItemChanged.connect(self._on_current)
        self.list.itemDoubleClicked.connect(self._on_double)
        box.addWidget(self.query)
        box.addLayout(row)
        box.addWidget(self.summary)
        box.addWidget(self.list, 1)
        self.setWidget(body)
        self.retranslate()

    def retranslate(self) -> None:
        """Texts in the installed language, the layer choice and result count included."""
        self.setWindowTitle(tr("Search and filter"))
        self.query.setPlaceholderText(tr("name, id, GlobalId — or height > 30, class = IfcWall"))
        self.find_button.setText(tr("Find"))
        self.zoom_button.setText(tr("Zoom to results"))
        if self.scene is not None:
            self._refresh_layers()
        if self._found is not None:
            self._show_found(self._found)

    def bind(self, scene: Scene) -> None:
        if self.scene is not None:
            self.scene.events.layer_added.disconnect(self._refresh_layers)
            self.scene.events.layer_removed.disconnect(self._refresh_layers)
        self.scene = scene
        scene.events.layer_added.connect(self._refresh_layers)
        scene.events.layer_removed.connect(self._refresh_layers)
        self._refresh_layers()
        self.results = []
        self.list.clear()

    def _refresh_layers(self, *_: object) -> None:
        keep = self.layer_box.currentData()
        self.layer_box.clear()
        self.layer_box.addItem(tr("All layers"), None)
        for name in [la.name for la in self.scene.layers] + [s.name for s in self.scene.streams]:
            self.layer_box.addItem(name, name)
        self.layer_box.setCurrentIndex(max(self.layer_box.findData(keep), 0))

    def run(self, text: str | None = None) -> int:
        """Search and list the matches; returns how many features matched."""
        if text is not None:
            self.query.setText(text)
        text = self.query.text()
        chosen = self.layer_box.currentData()
        layers = list(self.scene.layers) + self.streamed()
        if chosen:
            layers = [la for la in layers if la.name == chosen]
        self.results = []
        errors = []
        for layer in layers:
            try:
                rows = search(layer.features, text)
            except QueryError as exc:
                errors.append(str(exc))
                continue
            if rows.size:
                self.results.append((layer, rows))
        self.list.clear()
        self._listed = []
        total = sum(len(r) for _, r in self.results)
        for layer, rows in self.results:
            for row in rows[: max(0, MAX_LISTED - self.list.count())]:
                name = layer.features.names[row] or ""
                item = QListWidgetItem(f"{name}  [{layer.features.ids[row]}] — {layer.name}")
                item.setData(Qt.ItemDataRole.UserRole, len(self._listed))
                self._listed.append((layer, int(row)))
                self.list.addItem(item)
        if errors and not self.results:
            self._found = None
            self.summary.setText(errors[0])
        else:
            self._show_found(total)
        if self.results:
            layer, rows = max(self.results, key=lambda lr: len(lr[1]))
            self.highlight_requested.emit(layer, rows)
        return total

    def _show_found(self, total: int) -> None:
        self._found = total
        self.summary.setText(tr("{0} features found").replace("{0}", str(total)))

    def _item_target(self, item: QListWidgetItem | None) -> tuple[Layer, int] | None:
        if item is None:
            return None
        index = item.data(Qt.ItemDataRole.UserRole)
        return self._listed[index] if 0 <= index < len(self._listed) else None

    def _on_current(self, item: QListWidgetItem | None, *_: object) -> None:
        target = self._item_target(item)
        if target is not None:
            self.feature_activated.emit(*target)

    def _on_double(self, item: QListWidgetItem) -> None:
        target = self._item_target(item)
        if target is not None:
            self.zoom_requested.emit(target[0], [target[1]])

    def zoom_to_results(self) -> None:
        if self.results:
            layer, rows = max(self.results, key=lambda lr: len(lr[1]))
            self.zoom_requested.emit(layer, rows)
