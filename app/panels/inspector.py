"""Inspector dock: every attribute of the picked feature, IFC property sets and
quantities as groups; copy a value with Ctrl+C or the context menu."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QGuiApplication, QKeySequence
from PySide6.QtWidgets import QDockWidget, QTreeWidget, QTreeWidgetItem

from app import i18n
from app.i18n import Translatable, tr
from twin.layer import Layer
from twin.locale_format import format_number

MAX_DETAIL_ROWS = 2000
#: The attribute column never takes more than this share of the tree's width,
#: so values stay readable beside long property-set and property names.
KEY_SHARE = 0.5


class _Tree(QTreeWidget):
    """A tree that refits its key column whenever its width changes."""

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        fit_key_column(self)


def fit_key_column(tree: QTreeWidget) -> None:
    """Key column as wide as its longest key, but at most :data:`KEY_SHARE` of
    the width (longer keys are elided and have tooltips); the value column,
    the last section, stretches over the rest. Group rows span both columns,
    so a long set name does not widen the key column at all."""
    width = tree.viewport().width()
    wanted = tree.sizeHintForColumn(0)
    if width > 0:
        wanted = min(wanted, int(width * KEY_SHARE))
    tree.setColumnWidth(0, max(wanted, 40))


def _item(key: object, value: str) -> QTreeWidgetItem:
    """A key/value row whose tooltips show the full texts (the view may elide them)."""
    item = QTreeWidgetItem([str(key), value])
    item.setToolTip(0, str(key))
    item.setToolTip(1, value)
    return item


class InspectorPanel(Translatable, QDockWidget):
    """Attributes of one feature as a two-column tree (groups expand)."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("inspector_dock")
        self.tree = _Tree()
        self.tree.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.tree.header().setStretchLastSection(True)
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        self.copy_value = QAction(self.tree)
        self.copy_value.setShortcut(QKeySequence.StandardKey.Copy)
        self.copy_value.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.copy_value.triggered.connect(self.copy_current)
        self.copy_row = QAction(self.tree)
        self.copy_row.triggered.connect(lambda: self.copy_current(with_key=True))
        self.tree.addAction(self.copy_value)
        self.tree.addAction(self.copy_row)
        self.setWidget(self.tree)
        self.layer: Layer | None = None
        self.row: int | None = None
        self.retranslate()

    def retranslate(self) -> None:
        """Texts in the installed language; the shown feature is listed again
        because its ``layer`` row and group names are translated too."""
        self.setWindowTitle(tr("Attributes"))
        self.tree.setHeaderLabels([tr("Attribute"), tr("Value")])
        self.copy_value.setText(tr("Copy value"))
        self.copy_row.setText(tr("Copy attribute and value"))
        if self.layer is not None:
            self.show_feature(self.layer, self.row)

    #: the scene origin (world metres) that feature bounds are relative to
    origin: tuple[float, float, float] = (0.0, 0.0, 0.0)

    def show_feature(self, layer: Layer | None, row: int | None) -> None:
        """Fill the tree; property sets come from ``layer.details(row)`` (lazy)."""
        self.layer, self.row = layer, row
        self.tree.clear()
        if layer is None or row is None:
            return
        values = {tr("layer"): layer.name, **layer.features.row(row)}
        if "bounds" in values:  # stored scene-local; shown in the scene CRS (VN-2000)
            values["bounds"] = world_bounds_text(values["bounds"], self.origin)
        for key, value in values.items():
            if _present(value):
                self.tree.addTopLevelItem(_item(key, _format(value)))
        try:
            groups = layer.feature_details(row)
        except Exception as exc:  # a details provider must never break inspection
            groups = {tr("Details"): {tr("error"): str(exc)}}
        shown = 0
        for group, entries in groups.items():
            parent = QTreeWidgetItem([str(group), ""])
            parent.setToolTip(0, str(group))
            font = parent.font(0)
            font.setBold(True)
            parent.setFont(0, font)
            for key, value in (entries or {}).items():
                if shown >= MAX_DETAIL_ROWS:
                    break
                parent.addChild(_item(key, _format(value)))
                shown += 1
            self.tree.addTopLevelItem(parent)
            parent.setFirstColumnSpanned(True)
            parent.setExpanded(True)
        fit_key_column(self.tree)

    def show_record(self, values: dict) -> None:
        """Fill the tree with one plain record (a sensor: id, kind, value ...)."""
        self.layer, self.row = None, None
        self.tree.clear()
        for key, value in values.items():
            if _present(value):
                self.tree.addTopLevelItem(_item(key, _format(value)))
        fit_key_column(self.tree)

    def value(self, key: str, group: str | None = None) -> str | None:
        """Displayed value of ``key`` (top level, or inside ``group``)."""
        items = (
            [self.tree.topLevelItem(i) for i in range(self.tree.topLevelItemCount())]
            if group is None
            else self._group_children(group)
        )
        for item in items:
            if item.text(0) == key and item.childCount() == 0:
                return item.text(1)
        return None

    def groups(self) -> list[str]:
        return [
            self.tree.topLevelItem(i).text(0)
            for i in range(self.tree.topLevelItemCount())
            if self.tree.topLevelItem(i).childCount()
        ]

    def _group_children(self, group: str) -> list[QTreeWidgetItem]:
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            if item.text(0) == group:
                return [item.child(j) for j in range(item.childCount())]
        return []

    def copy_current(self, with_key: bool = False) -> str | None:
        item = self.tree.currentItem()
        if item is None:
            return None
        text = f"{item.text(0)}\t{item.text(1)}" if with_key else item.text(1)
        QGuiApplication.clipboard().setText(text)
        return text


def _present(value: object) -> bool:
    if value is None:
        return False
    if isinstance(value, float) and not np.isfinite(value):
        return False
    return not (isinstance(value, str) and value == "")


def _format(value: object) -> str:
    if isinstance(value, float):  # a decimal comma in Vietnamese
        return format_number(value, i18n.current())
    if isinstance(value, (tuple, list)):
        return ", ".join(_format(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_format(v)}" for k, v in value.items())
    return str(value)


def world_bounds_text(local: tuple[float, ...], origin) -> str:
    """``E a … b, N c … d, H e … f`` (metres, scene CRS) of scene-local bounds."""
    o = [float(v) for v in origin]
    (x0, x1, y0, y1, z0, z1) = (float(v) for v in local)
    lang = i18n.current()

    def f(v: float) -> str:
        return format_number(v, lang, 2)

    return (f"E {f(x0 + o[0])} … {f(x1 + o[0])}, N {f(y0 + o[1])} … {f(y1 + o[1])}, "
            f"H {f(z0 + o[2])} … {f(z1 + o[2])}")
