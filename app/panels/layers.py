"""Layers dock: visibility, opacity, style, zoom-to, remove, X-ray; IFC spatial tree.

Each control is a one-line call into :class:`twin.scene.Scene`; the tree listens
to the scene's events and rebuilds, blocking its own echo while it does.
IFC layers (``layer.tree``) expand into project/site/building/storey nodes
(each node's children are made when it is first expanded) whose check boxes
hide those features through ``Scene.set_feature_visibility``.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDockWidget,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPushButton,
    QSlider,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.i18n import Translatable, tr
from twin.layer import Layer, TreeNode
from twin.scene import Scene

XRAY_OPACITY = 0.2
NUMERIC_KINDS = "fiu"


class LayersPanel(Translatable, QDockWidget):
    """The layer tree plus controls for the current layer."""

    zoom_requested = Signal(object, object)  # layer, rows (None: whole layer)
    #: colour a layer by the live values of its sensors of a kind: (layer, kind | None)
    sensor_style_requested = Signal(object, object)
    #: "Open attribute table" in the context menu: (layer)
    attribute_table_requested = Signal(object)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("layers_dock")
        self.scene: Scene | None = None
        #: layer -> sensor kinds attached to its features (set by the window when a
        #: simulation runs), offered as "colour by sensor" choices
        self.sensor_kinds = lambda layer: []
        self._sensor_style: dict[Layer, str] = {}
        self._nodes: dict[int, tuple[Layer, TreeNode]] = {}
        #: items whose children are made when first expanded (a 273-storey tower's
        #: tree must not cost the GUI thread when the model arrives)
        self._unfilled: set[int] = set()
        self._xray: dict[Layer, float] = {}
        #: streamed layers' rows and controls (app.stream_layers.StreamRows; the window sets it)
        self.streams = None
        body = QWidget()
        box = QVBoxLayout(body)
        box.setContentsMargins(2, 2, 2, 2)
        self.tree = QTreeWidget()
        self.tree.itemChanged.connect(self._on_item_changed)
        self.tree.currentItemChanged.connect(lambda *_: self._sync_controls())
        self.tree.itemDoubleClicked.connect(lambda *_: self.zoom_to_current())
        self.tree.itemExpanded.connect(self._fill)
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.tree.customContextMenuRequested.connect(self._context_menu)
        box.addWidget(self.tree, 1)
        form = QFormLayout()
        self.opacity = QSlider(Qt.Orientation.Horizontal)
        self.opacity.setRange(0, 100)
        self.opacity.valueChanged.connect(self._on_opacity)
        self.opacity_label = QLabel()
        form.addRow(self.opacity_label, self.opacity)
        self.style_box = QComboBox()
        self.style_box.activated.connect(self._on_style)
        self.style_label = QLabel()
        form.addRow(self.style_label, self.style_box)
        box.addLayout(form)
        row = QHBoxLayout()
        self.zoom_button = QPushButton()
        self.zoom_button.clicked.connect(self.zoom_to_current)
        self.xray_button = QPushButton()
        self.xray_button.setCheckable(True)
        self.xray_button.toggled.connect(self._on_xray)
        self.remove_button = QPushButton()
        self.remove_button.clicked.connect(self.remove_current)
        for b in (self.zoom_button, self.xray_button, self.remove_button):
            row.addWidget(b)
        box.addLayout(row)
        self.setWidget(body)
        self.retranslate()

    def retranslate(self) -> None:
        """Texts in the installed language; the tree is rebuilt for its tooltips
        and the colour-by choices."""
        self.setWindowTitle(tr("Layers"))
        self.tree.setHeaderLabels([tr("Layer"), tr("Features")])
        self.opacity_label.setText(tr("Opacity"))
        self.style_label.setText(tr("Colour by"))
        self.zoom_button.setText(tr("Zoom to"))
        self.xray_button.setText(tr("X-ray"))
        self.remove_button.setText(tr("Remove"))
        if self.scene is not None:
            self.refresh()

    # -- binding --------------------------------------------------------------------
    def bind(self, scene: Scene) -> None:
        """Show ``scene`` (and stop listening to the previous one)."""
        if self.scene is not None:
            self.scene.events.layer_added.disconnect(self._on_layer_added)
            self.scene.events.layer_removed.disconnect(self._on_layer_removed)
            self.scene.events.layer_changed.disconnect(self._on_layer_changed)
        self.scene = scene
        self._xray.clear()
        self._sensor_style.clear()
        scene.events.layer_added.connect(self._on_layer_added)
        scene.events.layer_removed.connect(self._on_layer_removed)
        scene.events.layer_changed.connect(self._on_layer_changed)
        self.refresh()

    def refresh(self, *_: object) -> None:
        current = self.current_layer()
        stream = self.streams.current() if self.streams is not None else None
        self.tree.blockSignals(True)
        self.tree.clear()
        self._nodes.clear()
        self._unfilled.clear()
        for layer in self.scene.layers:
            item = self._layer_row(layer, self.tree.topLevelItemCount())
            if layer is current:
                self.tree.setCurrentItem(item)
        if self.streams is not None:
            self.streams.add_rows(self.tree, stream.name if stream is not None else None)
        if self.tree.currentItem() is None and self.tree.topLevelItemCount():
            self.tree.setCurrentItem(self.tree.topLevelItem(self.tree.topLevelItemCount() - 1))
        self.tree.resizeColumnToContents(0)
        self.tree.blockSignals(False)
        self._sync_controls()

    def _layer_row(self, layer: Layer, index: int) -> QTreeWidgetItem:
        """A layer's row (and its IFC tree's top nodes) at ``index`` among the top rows."""
        item = QTreeWidgetItem([layer.name, str(len(layer.features))])
        item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
        item.setCheckState(0, _check(layer.visible))
        item.setData(0, Qt.ItemDataRole.UserRole, layer.name)
        tip = "\n".join(layer.warnings[:20]) or tr("no warnings")
        item.setToolTip(0, f"{layer.kind} — {layer.n_triangles} {tr('triangles')}\n{tip}")
        self.tree.insertTopLevelItem(index, item)
        if layer.tree is not None:
            hidden = self.scene.hidden_features(layer)
            for child in layer.tree.children or [layer.tree]:
                self._add_node(item, layer, child, hidden)
        return item

    def _on_layer_added(self, layer: Layer) -> None:
        """One new row where the layer sits in the scene's order (a whole
        rebuild grows with every layer and node already listed)."""
        index = next((i for i, la in enumerate(self.scene.layers) if la is layer), None)
        if index is None or index > self.tree.topLevelItemCount():
            self.refresh()
            return
        self.tree.blockSignals(True)
        item = self._layer_row(layer, index)
        if self.tree.currentItem() is None:
            self.tree.setCurrentItem(item)
        self.tree.resizeColumnToContents(0)
        self.tree.blockSignals(False)
        self._sync_controls()

    def _on_layer_removed(self, layer: Layer) -> None:
        """Its row and its tree nodes go; the rest stay as they are."""
        try:
            item = self.layer_item(layer.name)
        except KeyError:
            self.refresh()
            return
        mine = [k for k, (owner, _) in self._nodes.items() if owner is layer]
        for k in mine:
            del self._nodes[k]
            self._unfilled.discard(k)
        self.tree.blockSignals(True)
        self.tree.takeTopLevelItem(self.tree.indexOfTopLevelItem(item))
        if self.tree.currentItem() is None and self.tree.topLevelItemCount():
            self.tree.setCurrentItem(self.tree.topLevelItem(self.tree.topLevelItemCount() - 1))
        self.tree.blockSignals(False)
        self._sync_controls()

    def _add_node(self, parent: QTreeWidgetItem, layer: Layer, node: TreeNode, hidden) -> None:
        rows = node.all_rows()
        item = QTreeWidgetItem([f"{node.name or node.kind}", str(len(rows))])
        item.setToolTip(0, f"{node.kind} {node.id}")
        item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
        shown = not (rows and hidden[rows].all())
        item.setCheckState(0, _check(shown))
        self._nodes[id(item)] = (layer, node)
        parent.addChild(item)
        if node.children:
            item.setChildIndicatorPolicy(QTreeWidgetItem.ChildIndicatorPolicy.ShowIndicator)
            self._unfilled.add(id(item))

    def _fill(self, item: QTreeWidgetItem) -> None:
        """Make the children of a tree node's item, once (on expand, or a lookup)."""
        if id(item) not in self._unfilled:
            return
        self._unfilled.discard(id(item))
        layer, node = self._nodes[id(item)]
        hidden = self.scene.hidden_features(layer)
        blocked = self.tree.blockSignals(True)
        for child in node.children:
            self._add_node(item, layer, child, hidden)
        self.tree.blockSignals(blocked)

    # -- lookups --------------------------------------------------------------------
    def layer_item(self, name: str) -> QTreeWidgetItem:
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            if item.data(0, Qt.ItemDataRole.UserRole) == name:
                return item
        raise KeyError(name)

    def node_item(self, layer_name: str, node_name: str) -> QTreeWidgetItem:
        """The tree item of an IFC node (e.g. a storey) by its displayed name."""
        top = self.layer_item(layer_name)
        stack = [top.child(i) for i in range(top.childCount())]
        while stack:
            item = stack.pop()
            if item.text(0) == node_name:
                return item
            self._fill(item)
            stack.extend(item.child(i) for i in range(item.childCount()))
        raise KeyError(node_name)

    def current_layer(self) -> Layer | None:
        item = self.tree.currentItem() if self.scene else None
        while item is not None and item.parent() is not None:
            item = item.parent()
        if item is None:
            return None
        try:
            return self.scene.layer(item.data(0, Qt.ItemDataRole.UserRole))
        except KeyError:
            return None

    def select_layer(self, name: str) -> None:
        self.tree.setCurrentItem(self.layer_item(name))

    # -- slots ----------------------------------------------------------------------
    def _on_item_changed(self, item: QTreeWidgetItem, column: int) -> None:
        if column != 0 or (self.streams is not None and self.streams.item_changed(item)):
            return
        checked = item.checkState(0) == Qt.CheckState.Checked
        node = self._nodes.get(id(item))
        if node is not None:
            layer, tree_node = node
            self.scene.set_feature_visibility(layer, tree_node.all_rows(), checked)
            return
        self.scene.set_visible(self.scene.layer(item.data(0, Qt.ItemDataRole.UserRole)), checked)

    def _on_layer_changed(self, layer: Layer, what: str) -> None:
        if what in ("style", "visible") and layer is self.current_layer():
            self._sync_controls()
        if what == "visible":
            try:
                item = self.layer_item(layer.name)
            except KeyError:
                return
            self.tree.blockSignals(True)
            item.setCheckState(0, _check(layer.visible))
            self.tree.blockSignals(False)

    def _sync_controls(self) -> None:
        if self.streams is not None and self.streams.sync_controls():
            return
        layer = self.current_layer()
        enabled = layer is not None
        for w in (
            self.opacity,
            self.style_box,
            self.zoom_button,
            self.xray_button,
            self.remove_button,
        ):
            w.setEnabled(enabled)
        if layer is None:
            return
        self.opacity.blockSignals(True)
        self.opacity.setValue(round(layer.style.opacity * 100))
        self.opacity.blockSignals(False)
        self.style_box.clear()
        for key, label in self.style_choices(layer):
            self.style_box.addItem(label, key)
        current = layer.style.attribute if layer.style.mode == "attribute" else layer.style.mode
        if layer in self._sensor_style:
            current = f"sensor:{self._sensor_style[layer]}"
        index = self.style_box.findData(current)
        self.style_box.setCurrentIndex(max(index, 0))
        self.xray_button.blockSignals(True)
        self.xray_button.setChecked(layer in self._xray)
        self.xray_button.blockSignals(False)

    def style_choices(self, layer: Layer) -> list[tuple[str, str]]:
        """(key, label): by class, native colours, solid, each numeric attribute,
        then each kind of sensor sitting on the layer's features."""
        out = [("class", tr("Class")), ("native", tr("Source colours")), ("solid", tr("Solid"))]
        for name, column in layer.features.attributes.items():
            if column.dtype.kind in NUMERIC_KINDS:
                out.append((name, tr("Attribute: {0}").replace("{0}", name)))
        for kind in self.sensor_kinds(layer):
            out.append((f"sensor:{kind}", tr("Sensor: {0}").replace("{0}", kind)))
        return out

    def _on_opacity(self, value: int) -> None:
        if self.streams is not None and self.streams.on_opacity(value):
            return
        layer = self.current_layer()
        if layer is not None:
            self._xray.pop(layer, None)
            self.scene.set_opacity(layer, value / 100)

    def _on_style(self, index: int) -> None:
        if self.streams is not None and self.streams.on_style(index):
            return
        layer = self.current_layer()
        if layer is None:
            return
        self.set_style(layer, self.style_box.itemData(index))

    def set_style(self, layer: Layer, key: str) -> None:
        if key.startswith("sensor:"):
            self._sensor_style[layer] = key.removeprefix("sensor:")
            self.sensor_style_requested.emit(layer, self._sensor_style[layer])
            self._sync_controls()
            return
        if self._sensor_style.pop(layer, None) is not None:
            self.sensor_style_requested.emit(layer, None)
        if key in ("class", "native", "solid"):
            self.scene.restyle(layer, mode=key)
        else:
            self.scene.restyle(layer, mode="attribute", attribute=key, clim=None)

    def _on_xray(self, on: bool) -> None:
        layer = self.current_layer()
        if layer is not None:
            self.set_xray(layer, on)

    def set_xray(self, layer: Layer, on: bool) -> None:
        """Make a layer see-through (to look inside a building), or restore its opacity."""
        if on and layer not in self._xray:
            self._xray[layer] = layer.style.opacity
            self.scene.set_opacity(layer, XRAY_OPACITY)
        elif not on and layer in self._xray:
            self.scene.set_opacity(layer, self._xray.pop(layer))

    def zoom_to_current(self) -> None:
        layer = self.current_layer()
        if layer is None:
            return
        item = self.tree.currentItem()
        node = self._nodes.get(id(item))
        self.zoom_requested.emit(layer, node[1].all_rows() if node else None)

    def _context_menu(self, pos) -> None:
        """Right-click on a layer: its attribute table, its CRS record
        (app.panels.crs_record) and labels."""
        if self.streams is not None and self.streams.context_menu(pos):
            return
        layer = self.current_layer()
        if layer is None or self.tree.itemAt(pos) is None:
            return
        menu = QMenu(self)
        menu.addAction(
            tr("Open attribute table"), lambda: self.attribute_table_requested.emit(layer)
        )
        menu.addAction(tr("CRS operations…"), lambda: self.show_crs_operations(layer))
        self.label_menu(layer, menu.addMenu(tr("Label by")))
        menu.exec(self.tree.viewport().mapToGlobal(pos))

    def label_menu(self, layer: Layer, menu: QMenu) -> QMenu:
        """"Label by": no labels, or one of the layer's columns (text columns
        first); the current choice is checked."""
        current = getattr(layer.style, "label", None)
        table = layer.features
        names = table.column_names()
        text_first = sorted(names, key=lambda c: (table.column(c).dtype.kind in NUMERIC_KINDS,
                                                  c != "name"))
        for column in [None, *text_first]:
            action = menu.addAction(tr("No labels") if column is None else column)
            action.setCheckable(True)
            action.setChecked(column == current)
            action.triggered.connect(lambda _=False, c=column: self.set_label(layer, c))
        return menu

    def set_label(self, layer: Layer, column: str | None) -> None:
        """Label ``layer``'s features by ``column`` in the view (None: no labels)."""
        self.scene.restyle(layer, label=column)

    def show_crs_operations(self, layer: Layer):
        """The read-only record of the CRS operations that placed ``layer``."""
        from app.panels.crs_record import show_crs_operations

        self._crs_dialog = show_crs_operations(layer, self)
        return self._crs_dialog

    def remove_current(self) -> None:
        layer = self.current_layer()
        if layer is not None:
            self._xray.pop(layer, None)
            self.scene.remove_layer(layer)


def _check(on: bool) -> Qt.CheckState:
    return Qt.CheckState.Checked if on else Qt.CheckState.Unchecked
