"""Attribute table of one layer, like QGIS's: every feature, sortable, filterable,
its selection shared with the 3D view, exportable as CSV or GeoJSON.

The model is virtual: it holds the layer's columnar :class:`twin.features.FeatureTable`
and one int array ``order`` (the shown rows, in shown order), and formats a
cell only when the view paints it, so 100,000 features open at once. Sorting
is a stable numpy argsort of the column (missing values last, both
directions) and filtering is :func:`twin.query.search`, the query language of
the search panel; neither goes through Qt's per-item comparisons.

Like QGIS, a table opens in a window of its own by default, and docks at the
bottom of the main window on request (View → *Dock attribute tables*, or the
same toggle in each table's toolbar; kept in QSettings). A window of its own
has its own backing store: scrolling it repaints only the table, whereas
a table inside the main window makes Qt compose that whole window through GL
(the 3D view is a ``QOpenGLWidget``) on every repaint, and opening a dock
shrinks the 3D view, which then draws a new frame. Docking and undocking move
the same :class:`AttributeTable` widget between containers, so its model, sort,
filter, selection and scroll position stay as they were.
"""

from __future__ import annotations

import numpy as np
import shiboken6
from PySide6.QtCore import (
    QAbstractTableModel,
    QByteArray,
    QEvent,
    QItemSelection,
    QItemSelectionModel,
    QModelIndex,
    QObject,
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
#: QSettings keys: tables docked in the main window (else a window each), and the
#: last table window's geometry
DOCKED_KEY, GEOMETRY_KEY = "attribute_table/docked", "attribute_table/geometry"
#: a table window's first size: share of the main window's width, height (px);
#: each further open window is offset by CASCADE_PX so none hides another
WINDOW_SHARE, WINDOW_HEIGHT_PX, CASCADE_PX = 0.8, 380, 28


#: roles as plain ints: ``data`` runs ~900 times per repaint (7 roles per cell),
#: and comparing or combining Qt's enum members there costs more than the cell's text
DISPLAY_ROLE, TOOLTIP_ROLE = int(Qt.ItemDataRole.DisplayRole), int(Qt.ItemDataRole.ToolTipRole)
ALIGN_ROLE = int(Qt.ItemDataRole.TextAlignmentRole)
ALIGN_NUMBER = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)


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

    def data(self, index: QModelIndex, role: int = DISPLAY_ROLE):
        if role in (DISPLAY_ROLE, TOOLTIP_ROLE):
            return self.display(self._data[index.column()][self.order[index.row()]])
        if role == ALIGN_ROLE and self._numeric[index.column()]:
            return ALIGN_NUMBER
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


class AttributeTable(Translatable, QWidget):
    """The attribute table of one layer: filter line, table, selection tools.
    Shown in a :class:`TableWindow` or a :class:`TableDock` (its ``container``)."""

    #: the user selected rows in the table: (layer, feature rows)
    selection_changed = Signal(object, object)
    zoom_requested = Signal(object, object)

    def __init__(self, layer: Layer, scene, parent=None) -> None:
        super().__init__(parent)
        self.layer, self.scene = layer, scene
        self._syncing = False
        self._status = ""
        self.container: QWidget | None = None
        self.model = FeatureTableModel(layer, self)
        box = QVBoxLayout(self)
        box.setContentsMargins(2, 2, 2, 2)
        self.toolbar = top = QHBoxLayout()
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
        self._fit_columns()
        self.retranslate()

    def add_tool(self, action: QAction) -> QToolButton:
        """A button for ``action`` at the end of the toolbar (the dock toggle)."""
        button = QToolButton()
        button.setDefaultAction(action)
        self.toolbar.addWidget(button)
        return button

    def title(self) -> str:
        title = tr("Attribute table: {0}").replace("{0}", self.layer.name)
        loaded = self.layer.info.get("loaded_features")  # a streamed layer's snapshot
        if loaded is not None:
            title += " — " + tr("loaded features: {0}").replace("{0}", str(loaded))
        return title

    def top_row(self) -> int:
        """The first row in sight (kept when the table moves to another container)."""
        return max(self.table.rowAt(0), 0)

    def retranslate(self) -> None:
        self.setWindowTitle(self.title())
        if self.container is not None:
            self.container.setWindowTitle(self.title())
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


class TableWindow(QWidget):
    """A table in a top-level window of its own (the default, as in QGIS)."""

    closed = Signal()

    def __init__(self, table: AttributeTable, parent: QWidget) -> None:
        # a window of the main window: above it, closed and deleted with it
        super().__init__(parent, Qt.WindowType.Window)
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(table)

    def closeEvent(self, event) -> None:
        super().closeEvent(event)
        if event.isAccepted():
            self.closed.emit()


class TableDock(QDockWidget):
    """A table docked at the bottom of the main window."""

    closed = Signal()

    def __init__(self, table: AttributeTable, parent: QWidget) -> None:
        super().__init__(parent)
        self.setWidget(table)

    def closeEvent(self, event) -> None:
        super().closeEvent(event)
        if event.isAccepted():
            self.closed.emit()


class AttributeTables(QObject):
    """The open attribute tables of a main window, one per layer, each in a
    window of its own or docked (:attr:`dock_action`); their selection
    follows the 3D view's."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.settings = window.settings
        self.tables: dict[int, AttributeTable] = {}
        self.containers: dict[int, TableWindow | TableDock] = {}
        self._count = 0
        self._from_a_table = False  # a table's own selection is on its way to 3D
        self._put_away: list[TableWindow] = []  # hidden for the presentation mode
        self.dock_action = QAction(window)
        self.dock_action.setCheckable(True)
        self.dock_action.setChecked(bool(self.settings.value(DOCKED_KEY, False, type=bool)))
        self.dock_action.toggled.connect(self.set_docked)
        window.installEventFilter(self)
        self.retranslate()

    def retranslate(self) -> None:
        self.dock_action.setText(tr("Dock attribute tables"))
        self.dock_action.setIconText(tr("Dock"))
        self.dock_action.setToolTip(
            tr("Dock attribute tables in the main window (else each opens in its own window)"))

    def eventFilter(self, obj, event) -> bool:
        if obj is self.window and event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        return False

    @property
    def docked(self) -> bool:
        return self.dock_action.isChecked()

    def table(self, layer: Layer) -> AttributeTable | None:
        return self.tables.get(id(layer))

    dock = table  # the name tests and callers used when every table was a dock

    def open(self, layer: Layer) -> AttributeTable:
        """Show (or raise) ``layer``'s table, selecting what the 3D view has selected."""
        w = self.window
        key = id(layer)
        table = self.tables.get(key)
        if table is None:
            table = AttributeTable(layer, w.scene)
            table.add_tool(self.dock_action)
            table.selection_changed.connect(self._from_table)
            table.zoom_requested.connect(w.zoom_to)
            self.tables[key] = table
            selection = w.view.selection
            if selection is not None and selection[0] is layer:
                table.select_rows(selection[1])
            self._contain(key)
        container = self.containers[key]
        container.show()
        container.raise_()
        if isinstance(container, TableWindow):
            container.activateWindow()
        return table

    def set_docked(self, on: bool) -> None:
        """Dock every table (and the next ones), or give each a window; kept in
        the settings. Each table keeps its model, selection and scroll position."""
        self.settings.setValue(DOCKED_KEY, bool(on))
        for key, old in list(self.containers.items()):
            if isinstance(old, TableDock) == bool(on):
                continue
            table = self.tables[key]
            top, visible = table.top_row(), not old.isHidden()
            self._release(old)
            self._contain(key)
            if visible:  # in sight where it goes (docked: its tab in front)
                self.containers[key].show()
                self.containers[key].raise_()
            QTimer.singleShot(0, lambda t=table, r=top: self._scroll_to(t, r))

    @staticmethod
    def _scroll_to(table: AttributeTable, row: int) -> None:
        if shiboken6.isValid(table):  # the table may be closed by now
            table.table.scrollTo(table.model.index(row, 0),
                                 QAbstractItemView.ScrollHint.PositionAtTop)

    def _contain(self, key: int) -> None:
        """Put a table into a new container of the current mode (not shown yet)."""
        w, table = self.window, self.tables[key]
        self._count += 1
        if self.docked:
            container = TableDock(table, w)
            container.setObjectName(f"attribute_table_dock_{self._count}")
            below = getattr(w, "timeline_panel", None)
            w.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, container)
            if below is not None and not below.isHidden():
                w.tabifyDockWidget(below, container)
            # a table needs rows to read: the bottom area grows to a third of the
            # window, once the dock is in the layout (Qt ignores it before)
            QTimer.singleShot(0, lambda: self._grow(container))
        else:
            container = TableWindow(table, w)
            container.setObjectName(f"attribute_table_window_{self._count}")
            self._place(container)
        table.show()
        table.container = container
        container.setWindowTitle(table.title())
        container.closed.connect(lambda k=key: self._closed(k))
        self.containers[key] = container

    def _place(self, window: TableWindow) -> None:
        """Where the last table window was, else over the lower part of the main
        window; cascaded past the table windows already open."""
        w = self.window
        saved = self.settings.value(GEOMETRY_KEY)
        if not (isinstance(saved, QByteArray) and window.restoreGeometry(saved)):
            width = round(w.width() * WINDOW_SHARE)
            height = min(WINDOW_HEIGHT_PX, max(w.height() // 2, 200))
            corner = w.geometry().bottomLeft()
            window.setGeometry(corner.x() + (w.width() - width) // 2,
                               corner.y() - height - 40, width, height)
        others = sum(isinstance(c, TableWindow) and c.isVisible()
                     for c in self.containers.values())
        if others:
            window.move(window.pos().x() + CASCADE_PX * others,
                        window.pos().y() + CASCADE_PX * others)

    def _grow(self, dock: TableDock) -> None:
        w = self.window
        if shiboken6.isValid(dock) and dock.isVisible() and not dock.isFloating():
            w.resizeDocks([dock], [max(TABLE_MIN_PX, round(w.height() * TABLE_SHARE))],
                          Qt.Orientation.Vertical)

    def _release(self, container: TableWindow | TableDock) -> None:
        """Drop a container (its table moves elsewhere or goes with it)."""
        if isinstance(container, TableWindow):
            self.settings.setValue(GEOMETRY_KEY, container.saveGeometry())
        else:
            self.window.removeDockWidget(container)
        container.closed.disconnect()
        container.hide()
        container.deleteLater()

    def _closed(self, key: int) -> None:
        """A table's window or dock was closed: the table goes."""
        container = self.containers.pop(key, None)
        table = self.tables.pop(key, None)
        if container is not None:
            self._release(container)
        if table is not None:
            table.container = None
            table.deleteLater()

    def hide_windows(self, hidden: bool) -> None:
        """Presentation mode: the table windows out of the way, then back (docked
        tables go with the docks)."""
        if hidden:
            self._put_away = [c for c in self.containers.values()
                              if isinstance(c, TableWindow) and c.isVisible()]
            for window in self._put_away:
                window.hide()
        else:
            for window in self._put_away:
                if window in self.containers.values():
                    window.show()
            self._put_away = []

    def close_layer(self, layer: Layer) -> None:
        self._closed(id(layer))

    def close_all(self) -> None:
        """Close every table (the window closes, or its scene is replaced)."""
        for key in list(self.containers):
            self._closed(key)

    def follow_selection(self, layer: Layer | None, rows) -> None:
        """The 3D selection changed: mirror it in the tables (others are cleared)."""
        if self._from_a_table:
            return
        for key, table in list(self.tables.items()):
            if layer is not None and key == id(layer):
                table.select_rows(rows)
            else:
                table.select_rows([], scroll=False)

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
