"""The sensors dock's table as a model over the simulation's arrays.

A widget table holds one item object per cell, so a clock tick had to visit
every sensor in Python to re-format its value (260 ms at 5,000 sensors, see
bench/RESULTS.md "Sensor table filters"). Here a tick only swaps the value,
level and state arrays and tells the view that those three columns changed:
the view asks :meth:`SensorTableModel.data` for the few dozen cells it shows,
so a tick costs the same at 50 or 50,000 sensors. The row is the sensor's
index in the simulation, as before: picks, alerts and "fly to" address rows
directly, and filters hide rows.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor

from twin.locale_format import format_significant
from twin.sim import kinds as kind_catalogue

#: the columns, in order
ID, KIND, VALUE, UNIT, STATE = range(5)
LEVEL_COLORS = {1: QColor(250, 170, 30), 2: QColor(230, 30, 30)}

Index = QModelIndex | QPersistentModelIndex


class SensorTableModel(QAbstractTableModel):
    """Id, kind, value, unit and state of every sensor; values formatted on demand."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.headers: list[str] = [""] * 5
        self.lang = "en"
        self.ids = np.empty(0, dtype=object)
        self.kinds = np.empty(0, dtype=object)
        self.kind_names = np.empty(0, dtype=object)
        self.units = np.empty(0, dtype=object)
        self.values = np.empty(0)
        self.levels = np.empty(0, dtype=np.int8)
        self.states = np.empty(0, dtype=object)
        #: state -> its label in the UI language
        self.state_labels: dict[str, str] = {}
        self.no_data_tip = ""

    # -- filling ----------------------------------------------------------------------------
    def set_sensors(self, sensors, lang: str) -> None:
        """A new sensor set (or a new language): the static columns, once."""
        self.beginResetModel()
        self.lang = lang
        n = len(sensors) if sensors is not None else 0
        self.ids = np.asarray(sensors.ids if n else [], dtype=object)
        self.kinds = np.asarray(sensors.kinds if n else [], dtype=object)
        # one catalogue call per distinct kind/unit, not per sensor
        self.kind_names = translated(self.kinds, lambda k: kind_catalogue.kind_name(k, lang))
        units = np.asarray(sensors.units if n else [], dtype=object)
        self.units = translated(units, lambda u: kind_catalogue.unit_text(u, lang))
        self.values = np.full(n, np.nan)
        self.levels = np.zeros(n, dtype=np.int8)
        self.states = np.full(n, "no data", dtype=object)
        self.endResetModel()

    def set_values(self, values: np.ndarray, levels: np.ndarray, states: np.ndarray) -> None:
        """The values at the clock's time: only the value and state columns change."""
        n = len(self.ids)
        if n == 0 or len(values) != n:
            return
        self.values = np.array(values, dtype=float, copy=True)
        self.levels = np.asarray(levels, dtype=np.int8).copy()
        self.states = np.asarray(states, dtype=object).copy()
        self.dataChanged.emit(self.index(0, VALUE), self.index(n - 1, STATE))

    def set_texts(self, headers: list[str], state_labels: dict[str, str], no_data_tip: str) -> None:
        """Header, state and tooltip texts in the UI language."""
        self.headers = list(headers)
        self.state_labels = dict(state_labels)
        self.no_data_tip = no_data_tip
        self.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, 4)
        if len(self.ids):
            self.dataChanged.emit(self.index(0, VALUE), self.index(len(self.ids) - 1, STATE))

    # -- Qt's model interface ---------------------------------------------------------------
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 (Qt's default)
        return 0 if parent.isValid() else len(self.ids)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else 5

    def headerData(self, section: int, orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.headers[section] if 0 <= section < 5 else None
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        r, c = index.row(), index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self.text(r, c)
        if role == Qt.ItemDataRole.ToolTipRole:
            if c == KIND:
                return str(self.kinds[r])
            if c == VALUE and not np.isfinite(self.values[r]):
                return self.no_data_tip
            return None
        if role == Qt.ItemDataRole.BackgroundRole and c == VALUE:
            return LEVEL_COLORS.get(int(self.levels[r]))
        return None

    def text(self, row: int, column: int) -> str:
        """What the cell shows."""
        if column == ID:
            return str(self.ids[row])
        if column == KIND:
            return str(self.kind_names[row])
        if column == VALUE:
            return format_significant(self.values[row], self.lang, 4, missing="—")
        if column == UNIT:
            return str(self.units[row])
        state = str(self.states[row])
        return self.state_labels.get(state, state)


def translated(keys: np.ndarray, translate) -> np.ndarray:
    """``translate`` applied to each distinct key, spread back over ``keys``."""
    if len(keys) == 0:
        return np.empty(0, dtype=object)
    uniq, inverse = np.unique(keys.astype(str), return_inverse=True)
    return np.array([translate(k) for k in uniq], dtype=object)[inverse.ravel()]
