"""Attribute table of one layer, like QGIS's: every feature, sortable, filterable,
its selection shared with the 3D view, exportable as CSV or GeoJSON.

The model is virtual: it holds the layer's columnar :class:`twin.features.FeatureTable`
and one int array ``order`` (the shown rows, in shown order), and formats a
cell only when the view paints it, so 100,000 features open at once. Sorting
is a stable numpy argsort of the column (missing values last, both
directions) and filtering is :func:`twin.query.search`, the query language of
the search panel; neither goes through Qt's per-item comparisons.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import (
    QAbstractTableModel,
    QItemSelection,
    QItemSelectionModel,
    QModelIndex,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDockWidget,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QMessageBox,
    QPushButton,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app import i18n
from app.i18n import Translatable, tr
from twin.layer import Layer
from twin.locale_format import format_number
from twin.query import QueryError, search

NUMERIC = "fiub"
ROW_HEIGHT_PAD = 6
#: widest a column gets when fitted to its contents (px); the user can widen it
MAX_COLUMN_PX = 260
#: rows sampled to fit the column widths
FIT_SAMPLE_ROWS = 40
#: height of the bottom dock area when a table opens: share of the window, at least px
TABLE_SHARE, TABLE_MIN_PX = 0.33, 240


def _missing(column: np.ndarray) -> np.ndarray:
    """(n,) bool: None, empty text or NaN."""
    if column.dtype.kind in NUMERIC:
        return np.isnan(column) if column.dtype.kind == "f" else np.zeros(len(column), bool)
    out = np.fromiter(
        (v is None or v == "" or (isinstance(v, float) and v != v) for v in column),
        dtype=bool, count=len(column),
    )
    return out


def _as_numbers(column: np.ndarray) -> np.ndarray | None:
    """A text column whose values are all numbers (or missing) as float64, else None."""
    if column.dtype.kind in NUMERIC:
        return column.astype(np.float64)
    try:
        return np.array([np.nan if v is None or v == "" else float(v) for v in column])
    except (TypeError, ValueError):
        return None


def sort_rows(column: np.ndarray, ascending: bool = True) -> np.ndarray:
    """Row order sorting ``column``: stable, missing values (None, "", NaN) last
    in both directions; numbers by value, text case-insensitively."""
    numbers = _as_numbers(column)
    if numbers is not None:
        missing = np.isnan(numbers)
        keys = numbers if ascending else -numbers
    else:
        missing = _missing(column)
        text = np.array([str(v).casefold() for v in column], dtype=object)
        _, rank = np.unique(text.astype(str), return_inverse=True)
        rank[missing] = 0  # missing values keep their order among themselves
        keys = rank if ascending else -rank
    order = np.argsort(keys, kind="stable")
    return order[np.argsort(missing[order], kind="stable")]


class FeatureTableModel(QAbstractTableModel):
    """One layer's feature table as a Qt model: rows are ``order`` (shown rows
    of the feature table), columns its column names."""

    def __init__(self, layer: Layer, parent=None) -> None:
        super().__init__(parent)
        self.layer = layer
        # an attribute named like a built-in column (a source's own "id") is that column
        self.columns = list(dict.fromkeys(layer.features.column_names()))
        self._data = [layer.features.column(c) for c in self.columns]
        self._numeric = [c.dtype.kind in NUMERIC for c in self._data]
        n = len(layer.features)
        self._sorted = np.arange(n, dtype=np.intp)  # every row in sort order
        self._mask: np.ndarray | None = None  # filter result (None: all rows)
        self.order = self._sorted
        self._position: np.ndarray | None = None  # feature row -> shown row, lazily
        self.filter_text = ""
        self.sort_column: int | None = None
        self.ascending = True

    # -- Qt model -------------------------------------------------------------------
    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: B008 (Qt's signature)
        return 0 if parent.isValid() else len(self.order)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.columns)

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if role == Qt.ItemDataRole.DisplayRole or role == Qt.ItemDataRole.ToolTipRole:
            value = self._data[index.column()][self.order[index.row()]]
            return self.display(value)
        if role == Qt.ItemDataRole.TextAlignmentRole and self._numeric[index.column()]:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def headerData(self, section: int, orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if orientation == Qt.Orientation.Horizontal:
            return self.columns[section] if 0 <= section < len(self.columns) else None
        return str(int(self.order[section]) + 1) if 0 <= section < len(self.order) else None

    @staticmethod
    def display(value) -> str:
        """A cell's text in the UI language (decimal comma in Vietnamese)."""
        if value is None:
            return ""
        if isinstance(value, (float, np.floating, np.integer)) and not isinstance(value, bool):
            return format_number(value, i18n.current())
        return str(value)

    def sort(self, column: int, order=Qt.SortOrder.AscendingOrder) -> None:
        """Sort by a column (the view calls this on a header click)."""
        if not 0 <= column < len(self.columns):
            return
        self.beginResetModel()
        self.sort_column = column
        self.ascending = order == Qt.SortOrder.AscendingOrder
        self._sorted = sort_rows(self._data[column], self.ascending)
        self._apply()
        self.endResetModel()

    # -- filtering and row mapping ------------------------------------------------------
    def set_filter(self, text: str) -> int:
        """Show only rows matching ``text`` (:func:`twin.query.search`: a condition
        such as ``height > 30 and class = residential``, else a text search of
        id/name); empty shows all. Raises :class:`QueryError` on a bad query
        (the shown rows stay as they were). Returns how many rows are shown."""
        text = text.strip()
        mask = None
        if text:
            mask = np.zeros(len(self.layer.features), dtype=bool)
            mask[search(self.layer.features, text)] = True
        self.beginResetModel()
        self.filter_text, self._mask = text, mask
        self._apply()
        self.endResetModel()
        return len(self.order)

    def _apply(self) -> None:
        s = self._sorted
        self.order = s if self._mask is None else s[self._mask[s]]
        self._position = None

    def feature_rows(self, view_rows: np.ndarray) -> np.ndarray:
        """Feature-table rows of shown rows."""
        return self.order[np.asarray(view_rows, dtype=np.intp)]

    def view_rows(self, feature_rows) -> np.ndarray:
        """Shown rows of feature-table rows, sorted; rows filtered out are dropped."""
        if self._position is None:
            pos = np.full(len(self.layer.features), -1, dtype=np.intp)
            pos[self.order] = np.arange(len(self.order))
            self._position = pos
        rows = np.asarray(feature_rows, dtype=np.intp)
        rows = rows[(rows >= 0) & (rows < len(self._position))]
        found = self._position[rows]
        return np.unique(found[found >= 0])


class AttributeTableDock(Translatable, QDockWidget):
    """The attribute table of one layer: filter line, table, selection tools."""

    #: the user selected rows in the table: (layer, feature rows)
    selection_changed = Signal(object, object)
    zoom_requested = Signal(object, object)

    def __init__(self, layer: Layer, scene, parent=None) -> None:
        super().__init__(parent)
        self.layer, self.scene = layer, scene
        self._syncing = False
        self._status = ""
        self.model = FeatureTableModel(layer, self)
        body = QWidget()
        box = QVBoxLayout(body)
        box.setContentsMargins(2, 2, 2, 2)
        top = QHBoxLayout()
        self.filter_edit = QLineEdit()
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.returnPressed.connect(self.apply_filter)
        top.addWidget(self.filter_edit, 1)
        self.zoom_button = QPushButton()
        self.zoom_button.clicked.connect(self.zoom_to_selection)
        self.clear_button = QPushButton()
        self.clear_button.clicked.connect(lambda: self.table.clearSelection())
        self.export_button = QToolButton()
        self.export_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.export_button)
        self.export_actions: dict[str, QAction] = {}
        for key in ("csv", "geojson-wgs84", "geojson-scene"):
            action = menu.addAction("")
            action.triggered.connect(lambda _=False, k=key: self.ask_export(k))
            self.export_actions[key] = action
        self.export_button.setMenu(menu)
        for w in (self.zoom_button, self.clear_button, self.export_button):
            top.addWidget(w)
        box.addLayout(top)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        # no indicator first: enabling sorting sorts by the indicator's column at once
        self.table.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        self.table.setSortingEnabled(True)
        self.table.horizontalHeader().setSortIndicatorShown(True)
        self.table.setWordWrap(False)
        rows = self.table.verticalHeader()
        rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        rows.setDefaultSectionSize(self.table.fontMetrics().height() + ROW_HEIGHT_PAD)
        self.table.selectionModel().selectionChanged.connect(self._on_selection)
        self.table.doubleClicked.connect(lambda _i: self.zoom_to_selection())
        box.addWidget(self.table, 1)
        self.summary = QLabel("")
        box.addWidget(self.summary)
        self.setWidget(body)
        self._fit_columns()
        self.retranslate()

    def retranslate(self) -> None:
        self.setWindowTitle(tr("Attribute table: {0}").replace("{0}", self.layer.name))
        self.filter_edit.setPlaceholderText(
            tr("Filter: name, id — or height > 30 and class = residential"))
        self.zoom_button.setText(tr("Zoom to selection"))
        self.clear_button.setText(tr("Clear selection"))
        self.export_button.setText(tr("Export selection"))
        self.export_actions["csv"].setText(tr("CSV…"))
        self.export_actions["geojson-wgs84"].setText(tr("GeoJSON, WGS 84…"))
        self.export_actions["geojson-scene"].setText(
            tr("GeoJSON, scene CRS ({0})…").replace("{0}", self.scene.crs_label))
        self.model.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, 0)
        self._update_summary()

    def _fit_columns(self) -> None:
        """Columns fitted to their first rows (not 1,000 rows, Qt's default
        sample, which cost 0.4 s of Python calls), capped."""
        header = self.table.horizontalHeader()
        header.setResizeContentsPrecision(FIT_SAMPLE_ROWS)
        for c in range(self.model.columnCount()):
            width = min(max(self.table.sizeHintForColumn(c), header.sectionSizeHint(c)),
                        MAX_COLUMN_PX)
            header.resizeSection(c, width)

    # -- selection ------------------------------------------------------------------
    def selected_rows(self) -> np.ndarray:
        """Feature-table rows selected in the table (sorted, unique)."""
        parts = [
            self.model.order[r.top(): r.bottom() + 1]
            for r in self.table.selectionModel().selection()
        ]
        if not parts:
            return np.empty(0, dtype=np.intp)
        return np.unique(np.concatenate(parts))

    def select_rows(self, feature_rows, scroll: bool = True) -> int:
        """Select these features in the table (the 3D selection, mirrored); rows
        filtered out are not shown and not selected. Emits nothing."""
        view_rows = self.model.view_rows(feature_rows)
        selection = QItemSelection()
        last = self.model.columnCount() - 1
        if len(view_rows) and last >= 0:
            breaks = np.flatnonzero(np.diff(view_rows) != 1) + 1
            starts = view_rows[np.r_[0, breaks]]
            ends = view_rows[np.r_[breaks - 1, len(view_rows) - 1]]
            for a, b in zip(starts.tolist(), ends.tolist(), strict=True):
                selection.select(self.model.index(a, 0), self.model.index(b, last))
        self._syncing = True
        try:
            self.table.selectionModel().select(
                selection, QItemSelectionModel.SelectionFlag.ClearAndSelect
            )
        finally:
            self._syncing = False
        if scroll and len(view_rows):
            self.table.scrollTo(self.model.index(int(view_rows[0]), 0))
        self._update_summary()
        return len(view_rows)

    def _on_selection(self, *_: object) -> None:
        self._update_summary()
        if not self._syncing:
            self.selection_changed.emit(self.layer, self.selected_rows())

    def zoom_to_selection(self) -> None:
        rows = self.selected_rows()
        if len(rows) == 0:
            rows = self.model.order
        finite = np.all(np.isfinite(self.layer.features.bounds[rows]), axis=1)
        if finite.any():
            self.zoom_requested.emit(self.layer, rows[finite])

    # -- filter ----------------------------------------------------------------------
    def apply_filter(self, text: str | None = None) -> int | None:
        """Filter with the search panel's query language; keeps the selected
        features that still match. Returns the shown count (None: bad query)."""
        if text is not None:
            self.filter_edit.setText(text)
        before = self.selected_rows()
        try:
            shown = self.model.set_filter(self.filter_edit.text())
        except QueryError as exc:
            self._status = str(exc)
            self._update_summary()
            return None
        self._status = ""
        kept = self.select_rows(before, scroll=False)
        if kept != len(before):
            self.selection_changed.emit(self.layer, self.selected_rows())
        self._update_summary()
        return shown

    def _update_summary(self) -> None:
        if self._status:
            self.summary.setText(self._status)
            return
        n = self.model.rowCount()
        total = len(self.layer.features)
        selected = sum(r.height() for r in self.table.selectionModel().selection())
        self.summary.setText(
            tr("{0} of {1} features shown, {2} selected")
            .replace("{0}", str(n)).replace("{1}", str(total)).replace("{2}", str(selected))
        )

    # -- export ----------------------------------------------------------------------
    def export_rows(self) -> np.ndarray:
        """What an export writes: the selection, else every shown row."""
        rows = self.selected_rows()
        return rows if len(rows) else np.sort(self.model.order)

    def export(self, path, kind: str):
        """Write :meth:`export_rows` to ``path``: ``csv``, ``geojson-wgs84`` or
        ``geojson-scene``; returns the :class:`twin.feature_export.ExportReport`."""
        from twin.feature_export import write_csv, write_geojson

        rows = self.export_rows()
        if kind == "csv":
            return write_csv(self.layer, rows, path)
        crs = "scene" if kind == "geojson-scene" else "wgs84"
        return write_geojson(self.layer, rows, path, self.scene, crs=crs)

    def ask_export(self, kind: str) -> None:
        from twin.feature_export import BOUNDS, ExportError

        suffix, pattern = (".csv", "CSV (*.csv)") if kind == "csv" else \
            (".geojson", "GeoJSON (*.geojson *.json)")
        path, _ = QFileDialog.getSaveFileName(
            self, tr("Export selection"), self.layer.name + suffix, pattern)
        if not path:
            return
        try:
            report = self.export(path, kind)
        except ExportError as exc:
            QMessageBox.warning(self, tr("Export selection"), str(exc))
            return
        text = tr("Exported {0} features to {1}").replace("{0}", str(report.count)) \
            .replace("{1}", str(path))
        boxes = report.sources.get(BOUNDS, 0)
        if boxes:
            text += " — " + tr("{0} without a footprint in the mesh: bounding boxes written") \
                .replace("{0}", str(boxes))
        self._status = text
        self._update_summary()
        self._status = ""


class AttributeTables:
    """The open attribute tables of a main window, one dock per layer, tabbed
    with the timeline at the bottom; their selection follows the 3D view's."""

    def __init__(self, window) -> None:
        self.window = window
        self.docks: dict[int, AttributeTableDock] = {}
        self._count = 0
        self._from_a_table = False  # a table's own selection is on its way to 3D

    def dock(self, layer: Layer) -> AttributeTableDock | None:
        return self.docks.get(id(layer))

    def open(self, layer: Layer) -> AttributeTableDock:
        """Show (or raise) ``layer``'s table, selecting what the 3D view has selected."""
        w = self.window
        dock = self.docks.get(id(layer))
        if dock is None:
            dock = AttributeTableDock(layer, w.scene, w)
            self._count += 1
            dock.setObjectName(f"attribute_table_dock_{self._count}")
            dock.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            dock.selection_changed.connect(self._from_table)
            dock.zoom_requested.connect(w.zoom_to)
            key = id(layer)
            dock.destroyed.connect(lambda *_: self.docks.pop(key, None))
            below = getattr(w, "timeline_panel", None)
            w.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, dock)
            if below is not None and not below.isHidden():
                w.tabifyDockWidget(below, dock)
            self.docks[id(layer)] = dock
            # a table needs rows to read: the bottom area grows to a third of the
            # window, once the dock is in the layout (Qt ignores it before)
            QTimer.singleShot(0, lambda: self._grow(dock))
            selection = w.view.selection
            if selection is not None and selection[0] is layer:
                dock.select_rows(selection[1])
        dock.show()
        dock.raise_()
        return dock

    def _grow(self, dock: AttributeTableDock) -> None:
        w = self.window
        if dock.isVisible() and not dock.isFloating():
            w.resizeDocks([dock], [max(TABLE_MIN_PX, round(w.height() * TABLE_SHARE))],
                          Qt.Orientation.Vertical)

    def close_layer(self, layer: Layer) -> None:
        dock = self.docks.pop(id(layer), None)
        if dock is not None:
            dock.close()

    def close_all(self) -> None:
        """Close every table (the window's scene is being replaced)."""
        for dock in list(self.docks.values()):
            dock.close()
        self.docks.clear()

    def follow_selection(self, layer: Layer | None, rows) -> None:
        """The 3D selection changed: mirror it in the tables (others are cleared)."""
        if self._from_a_table:
            return
        for key, dock in list(self.docks.items()):
            if layer is not None and key == id(layer):
                dock.select_rows(rows)
            else:
                dock.select_rows([], scroll=False)

    def _from_table(self, layer: Layer, rows: np.ndarray) -> None:
        """Rows selected in a table: highlight them in 3D (one row: inspect it too)."""
        w = self.window
        self._from_a_table = True
        try:
            if len(rows) == 1:
                w.select_feature(layer, int(rows[0]))
            elif len(rows) == 0:
                w.select_feature(None, -1)
            else:
                w.view.annotations.clear_label()
                w.inspector.show_feature(None, None)
                w.view.select(layer, rows)
        finally:
            self._from_a_table = False
