"""Sensors dock: live value per sensor, filters, history charts, alerts.

The table filters by kind, state (ok / warning / alarm / no data) and text
(id, name or kind, in either language) by hiding rows: the row stays the
sensor's index, so picks, alerts and "fly to" keep addressing rows directly,
and a filter over the pilot's 309 rows costs about a millisecond
(bench/bench_sensor_filter.py). Charts are pyqtgraph: a date axis in the
scene's time zone, mouse zoom and pan, warning/alarm lines, the clock time,
and one curve per selected sensor so several can be compared.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QItemSelectionModel, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDockWidget,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app import i18n
from app.i18n import Translatable, tr
from app.panels.sensor_table_model import LEVEL_COLORS, SensorTableModel, translated
from twin.locale_format import format_datetime, format_significant
from twin.sim import kinds as kind_catalogue

REFRESH_MS = 250
#: states the table filters by, in the order of the filter box
STATES = ("ok", "warning", "alarm", "no data")
#: curve colours of compared sensors (matplotlib's tab10, colour-blind friendlier)
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf",
           "#7f7f7f")
#: at most this many sensors overlaid in one chart (more is unreadable)
MAX_CURVES = len(PALETTE)


def state_label(state: str) -> str:
    return {"ok": tr("ok"), "warning": tr("warning"), "alarm": tr("alarm"),
            "no data": tr("no data")}.get(state, state)


def sensor_states(values: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """(n,) str state per sensor: no data (NaN value), alarm, warning or ok."""
    levels = np.asarray(levels)
    return np.where(~np.isfinite(values), "no data",
                    np.where(levels == 2, "alarm", np.where(levels == 1, "warning", "ok")))


class HistoryChart(QWidget):
    """Time series (epoch ms, values) of one or more sensors on a real date axis.

    Mouse: drag pans, wheel zooms (right-drag zooms per axis), the "A" button
    fits the data again. The x axis is in seconds since the epoch, labelled in
    the scene's time zone (``set_timezone``), not the machine's.
    """

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        import pyqtgraph as pg

        self._pg = pg
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.axis = pg.DateAxisItem(orientation="bottom", utcOffset=-7 * 3600)
        self.plot = pg.PlotWidget(axisItems={"bottom": self.axis}, background="w")
        self.plot.setMinimumHeight(90)  # a 768-px laptop screen must fit the window
        self.item = self.plot.getPlotItem()
        self.item.showGrid(x=True, y=True, alpha=0.25)
        self.item.setMouseEnabled(x=True, y=True)
        self.legend = self.item.addLegend(offset=(6, 6), brush=pg.mkBrush(255, 255, 255, 210))
        self.now_line = pg.InfiniteLine(angle=90, movable=False,
                                        pen=pg.mkPen((0, 0, 0), width=1))
        self.item.addItem(self.now_line, ignoreBounds=True)
        lay.addWidget(self.plot)
        self.curves: list = []
        self.threshold_lines: list = []
        self.series: list[tuple[str, np.ndarray, np.ndarray]] = []
        self.title = ""

    def set_timezone(self, tz) -> None:
        """Label the axis in ``tz`` (a fixed-offset ``datetime.timezone``)."""
        offset = tz.utcoffset(None)
        self.axis.utcOffset = -int(offset.total_seconds()) if offset is not None else 0
        self.axis.picture = None
        self.axis.update()

    @property
    def t(self) -> np.ndarray:
        """Epoch ms of the first series (empty without one)."""
        return self.series[0][1] if self.series else np.empty(0)

    @property
    def v(self) -> np.ndarray:
        return self.series[0][2] if self.series else np.empty(0)

    def set_series(self, series, thresholds=(), now_ms=None, title: str = "",
                   unit: str = "") -> None:
        """Replace the curves: ``series`` is ``[(label, t_ms, values)]`` (NaN breaks
        a line: a gap stays a gap), ``thresholds`` ``[(value, QColor, label)]``."""
        pg = self._pg
        for c in self.curves:
            self.item.removeItem(c)
        for line in self.threshold_lines:
            self.item.removeItem(line)
        self.legend.clear()
        self.curves, self.threshold_lines = [], []
        self.series = [(str(label), np.asarray(t, dtype=np.int64), np.asarray(v, dtype=float))
                       for label, t, v in series]
        for k, (label, t, v) in enumerate(self.series):
            curve = self.item.plot(t / 1000.0, v, name=label, connect="finite",
                                   pen=pg.mkPen(PALETTE[k % len(PALETTE)], width=1.6))
            self.curves.append(curve)
        for value, color, text in thresholds:
            line = pg.InfiniteLine(pos=float(value), angle=0, movable=False, label=text,
                                   labelOpts={"position": 0.97, "color": color,
                                              "anchors": [(1, 1), (1, 1)]},
                                   pen=pg.mkPen(color, width=1, style=Qt.PenStyle.DashLine))
            self.item.addItem(line)
            self.threshold_lines.append(line)
        has_data = any(np.isfinite(v).sum() >= 1 for _, _, v in self.series)
        self.title = title if has_data else f"{title} — {tr('no history')}".lstrip(" —")
        self.item.setTitle(self.title, size="9pt")
        self.item.setLabel("left", unit)
        self.set_now(now_ms)
        self.fit()

    def fit(self) -> None:
        """Show all the data and the threshold lines (a new selection starts here; the
        user's zoom and pan then stay until the selection changes)."""
        ts = [t for t, v in ((t, v) for _, t, v in self.series) if t.size]
        vals = [v[np.isfinite(v)] for _, _, v in self.series]
        vals += [np.array([line.value() for line in self.threshold_lines])]
        vals = np.concatenate(vals) if vals else np.empty(0)
        if not ts or not vals.size:
            self.item.enableAutoRange()
            return
        x0 = min(float(t[0]) for t in ts) / 1000.0
        x1 = max(float(t[-1]) for t in ts) / 1000.0
        lo, hi = float(vals.min()), float(vals.max())
        hi = hi if hi > lo else lo + 1.0
        hi += 0.08 * (hi - lo)  # room for the label above the top threshold line
        self.item.getViewBox().setRange(xRange=(x0, max(x1, x0 + 1.0)), yRange=(lo, hi),
                                        padding=0.04)

    def set_now(self, now_ms) -> None:
        """Move the clock-time line (None hides it)."""
        self.now_line.setVisible(now_ms is not None)
        if now_ms is not None:
            self.now_line.setValue(float(now_ms) / 1000.0)


class SensorsPanel(Translatable, QDockWidget):
    """Sensor values at the clock time (filterable), history charts, and the alert list."""

    fly_requested = Signal(object)  # (3,) scene-local position

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("sensors_dock")
        self.sim = None
        split = QSplitter(Qt.Orientation.Vertical)
        self.model = SensorTableModel(self)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.verticalHeader().setVisible(False)
        # rows of one height: the view lays out 5,000 rows without measuring each
        self.table.verticalHeader().setSectionResizeMode(
            self.table.verticalHeader().ResizeMode.Fixed)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        # several rows selected: their histories are overlaid in one chart
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setWordWrap(False)
        self.table.setMinimumHeight(60)  # the dock must not set the window's height
        self.table.selectionModel().selectionChanged.connect(self._on_selection)
        self.table.doubleClicked.connect(lambda index: self.fly_to_sensor(index.row()))
        self.chart = HistoryChart()
        self._chart_key: tuple | None = None
        self.filter_text = QLineEdit()
        self.filter_text.setClearButtonEnabled(True)
        self.filter_kind = QComboBox()
        self.filter_state = QComboBox()
        self.filter_count = QLabel()
        self.filter_text.textChanged.connect(self.apply_filter)
        self.filter_kind.currentIndexChanged.connect(self.apply_filter)
        self.filter_state.currentIndexChanged.connect(self.apply_filter)
        self._hidden = np.zeros(0, dtype=bool)
        self._search = np.empty(0, dtype=str)
        filters = QHBoxLayout()  # the text on its own line: the dock column is narrow
        for w, stretch in ((self.filter_kind, 1), (self.filter_state, 1), (self.filter_count, 0)):
            filters.addWidget(w, stretch)
        table_box = QWidget()
        tlay = QVBoxLayout(table_box)
        tlay.setContentsMargins(0, 0, 0, 0)
        tlay.addWidget(self.filter_text)
        tlay.addLayout(filters)
        tlay.addWidget(self.table)
        nodata = QHBoxLayout()
        self.nodata_label = QLabel()
        self.nodata_label.setWordWrap(True)
        self.nearest_button = QPushButton()
        self.nearest_button.clicked.connect(self.go_to_nearest)
        nodata.addWidget(self.nodata_label, 1)
        nodata.addWidget(self.nearest_button)
        tlay.addLayout(nodata)
        self.nearest_time = None
        self._alerts_key: tuple | None = None
        self.nodata_label.hide()
        self.nearest_button.hide()
        alerts_box = QWidget()
        lay = QVBoxLayout(alerts_box)
        lay.setContentsMargins(0, 0, 0, 0)
        self.alerts_label = QLabel()
        lay.addWidget(self.alerts_label)
        self.alerts = QListWidget()
        self.alerts.setMinimumHeight(40)
        self.alerts.itemClicked.connect(self._on_alert)
        lay.addWidget(self.alerts)
        for w, stretch in ((table_box, 3), (self.chart, 3), (alerts_box, 1)):
            split.addWidget(w)
            split.setStretchFactor(split.count() - 1, stretch)
        split.setSizes([320, 240, 90])  # the table first, then the chart; alerts below
        self.setWidget(split)
        self._dirty = False
        self.timer = QTimer(self)
        self.timer.setInterval(REFRESH_MS)
        self.timer.timeout.connect(self._refresh_if_dirty)
        self.timer.start()
        self.retranslate()

    def retranslate(self) -> None:
        """Texts in the installed language (the chart draws its own on repaint)."""
        self.setWindowTitle(tr("Sensors and alerts"))
        self.model.set_texts([tr("Sensor"), tr("Kind"), tr("Value"), tr("Unit"), tr("State")],
                             {x: state_label(x) for x in STATES}, tr("no data at this time"))
        self.alerts_label.setText(tr("Alerts"))
        self.filter_text.setPlaceholderText(tr("Filter: id, name or kind…"))
        self._fill_filter_boxes()
        if self.sim is not None:
            self._alerts_key = None
            self._chart_key = None
            self._fill_static_columns()
            self.refresh()

    def bind(self, sim) -> None:
        if self.sim is not None:
            self.sim.clock.events.time_changed.disconnect(self._mark)
        self.sim = sim
        self._chart_key = None
        self.setEnabled(sim is not None)
        self.model.set_sensors(None, i18n.current())
        self._hidden = np.zeros(0, dtype=bool)
        self._fill_filter_boxes()
        if sim is None:
            return
        from twin.sun import scene_timezone

        self.chart.set_timezone(scene_timezone(sim.scene))
        s = sim.sensors
        # what the text filter searches: id, name and the kind in both languages
        kinds = np.asarray(s.kinds, dtype=object)
        columns = [np.asarray(s.ids, dtype=object), np.asarray(s.names, dtype=object), kinds]
        columns += [translated(kinds, lambda k, lang=lang: kind_catalogue.kind_name(k, lang))
                    for lang in ("en", "vi")]
        search = columns[0].astype(str)
        for column in columns[1:]:
            search = np.char.add(np.char.add(search, " "), column.astype(str))
        self._search = np.char.lower(search)
        sim.clock.events.time_changed.connect(self._mark)
        self.refresh()

    def _mark(self, *_: object) -> None:
        self._dirty = True  # coalesce: a playing clock moves 10 times a second

    def _refresh_if_dirty(self) -> None:
        if self._dirty and self.sim is not None:
            self._dirty = False
            self.refresh()

    # -- filters ---------------------------------------------------------------------------
    def _fill_filter_boxes(self) -> None:
        """Kinds present in the simulation (names in the UI language) and the states."""
        lang = i18n.current()
        kinds = sorted({str(k) for k in self.sim.sensors.kinds}) if self.sim is not None else []
        for box, items in (
            (self.filter_kind, [(tr("All kinds"), "")]
             + [(kind_catalogue.kind_name(k, lang), k) for k in kinds]),
            (self.filter_state, [(tr("All states"), "")] + [(state_label(x), x) for x in STATES]),
        ):
            keep = box.currentData()
            box.blockSignals(True)
            box.clear()
            for label, key in items:
                box.addItem(label, key)
            box.setCurrentIndex(max(box.findData(keep), 0) if keep else 0)
            box.blockSignals(False)

    def set_filter(self, text: str | None = None, kind: str | None = None,
                   state: str | None = None) -> None:
        """Set any of the three filters (``""``: all) and apply them."""
        if text is not None:
            self.filter_text.blockSignals(True)
            self.filter_text.setText(text)
            self.filter_text.blockSignals(False)
        for box, key in ((self.filter_kind, kind), (self.filter_state, state)):
            if key is not None:
                box.blockSignals(True)
                box.setCurrentIndex(max(box.findData(key), 0))
                box.blockSignals(False)
        self.apply_filter()

    def filter_mask(self) -> np.ndarray:
        """(n,) bool: the sensors the filters let through (vectorised over all rows)."""
        sim = self.sim
        n = len(sim.sensors)
        mask = np.ones(n, dtype=bool)
        kind = self.filter_kind.currentData()
        if kind:
            mask &= sim.sensors.kinds.astype(str) == kind
        state = self.filter_state.currentData()
        if state:
            mask &= sensor_states(sim.values, sim.levels) == state
        text = self.filter_text.text().strip().lower()
        if text and len(self._search) == n:
            mask &= np.char.find(self._search, text) >= 0
        return mask

    def apply_filter(self) -> None:
        """Hide the rows the filters exclude (only rows whose visibility changes)."""
        if self.sim is None or self.model.rowCount() != len(self.sim.sensors):
            return
        hide = ~self.filter_mask()
        if self._hidden.shape != hide.shape:
            self._hidden = np.zeros_like(hide)
        changed = np.flatnonzero(hide != self._hidden)
        if changed.size:
            # one relayout for the batch, not one per row: 5,000 rows 114 -> 14 ms
            self.table.setUpdatesEnabled(False)
            for i in changed:
                self.table.setRowHidden(int(i), bool(hide[i]))
            self.table.setUpdatesEnabled(True)
        self._hidden = hide
        self.filter_count.setText(tr("{0} of {1}").replace("{0}", str(int((~hide).sum())))
                                  .replace("{1}", str(hide.size)))

    def visible_rows(self) -> list[int]:
        """Sensor rows the table shows now."""
        return [i for i in range(self.model.rowCount()) if not self.table.isRowHidden(i)]

    def cell_text(self, row: int, column: int) -> str:
        """What the table shows in one cell (columns: sensor, kind, value, unit, state)."""
        return self.model.text(row, column)

    def current_row(self) -> int:
        """The table's current sensor row, -1 for none."""
        return self.table.currentIndex().row()

    def set_current_row(self, row: int) -> None:
        """Make ``row`` the current (and only selected) row, scrolled into view."""
        index = self.model.index(row, 0)
        self.table.selectionModel().setCurrentIndex(
            index, QItemSelectionModel.SelectionFlag.ClearAndSelect
            | QItemSelectionModel.SelectionFlag.Rows)
        self.table.scrollTo(index)

    def _fill_static_columns(self) -> None:
        """Id, kind and unit (kind and unit in the UI language): a model reset
        shows every row again, so the filters are applied afresh."""
        self.model.set_sensors(self.sim.sensors, i18n.current())
        self._hidden = np.zeros(len(self.sim.sensors), dtype=bool)

    def refresh(self) -> None:
        s, sim = self.sim.sensors, self.sim
        if self.model.rowCount() != len(s):
            self._fill_static_columns()
        # whole columns at once: the view formats only the rows it shows
        self.model.set_values(sim.values, sim.levels, sensor_states(sim.values, sim.levels))
        self.apply_filter()
        # Past alerts are history up to the clock time; live ones are marked.
        alerts = sim.alerts.history(sim.clock.ms)
        key = (len(alerts), alerts[-1] if alerts else None)
        if self._alerts_key != key:
            self._alerts_key = key
            self.alerts.clear()
            for alert in alerts[-500:][::-1]:
                mark = tr("LIVE") + " " if alert.live else ""
                self.alerts.addItem(mark + alert.display(i18n.current()))
                self.alerts.item(self.alerts.count() - 1).setData(
                    Qt.ItemDataRole.UserRole, alert.sensor
                )
        row = self.current_row()
        self._update_chart()
        self._show_no_data(row)

    def _show_no_data(self, row: int) -> None:
        """Say why values are missing and offer the nearest time with data: for
        the selected sensor when it has none, else for any sensor without one."""
        sim = self.sim
        status = sim.values_status()
        missing = np.flatnonzero(np.asarray(status) != "ok")
        if missing.size == 0:
            self.nearest_time = None
            self.nodata_label.hide()
            self.nearest_button.hide()
            return
        if 0 <= row < len(status) and status[row] != "ok":
            which, text = row, tr("{0}: no data at this time.").replace(
                "{0}", str(sim.sensors.ids[row]))
        elif len(missing) == len(status):
            which, text = None, tr("No data at this time for any sensor.")
        else:
            which = None
            text = tr("No data at this time for {0} of {1} sensors.").replace(
                "{0}", str(len(missing))).replace("{1}", str(len(status)))
        # offered for one sensor or for all; a store query per tick otherwise buys nothing
        offer = which is not None or len(missing) == len(status)
        self.nearest_time = sim.nearest_data_time(sim.clock.time, which) if offer else None
        self.nodata_label.setText(text)
        self.nodata_label.show()
        if self.nearest_time is not None:
            self.nearest_button.setText(tr("Nearest data: {0}").replace(
                "{0}", format_datetime(self.nearest_time, i18n.current())))
            self.nearest_button.show()
        else:
            self.nearest_button.hide()

    def go_to_nearest(self) -> None:
        """Move the clock to the offered nearest time with data."""
        if self.sim is not None and self.nearest_time is not None:
            self.sim.clock.set_time(self.nearest_time)
            self.refresh()

    # -- charts ----------------------------------------------------------------------------
    def selected_rows(self) -> list[int]:
        """Selected sensor rows in table order (the first :data:`MAX_CURVES` are charted)."""
        return sorted({i.row() for i in self.table.selectionModel().selectedRows()})

    def _on_selection(self) -> None:
        self._update_chart()

    def show_history(self, row: int) -> None:
        """Chart ``row`` (with the other selected rows when it is one of them)."""
        if self.sim is None or not (0 <= row < len(self.sim.sensors)):
            return
        rows = self.selected_rows()
        self._update_chart(rows if row in rows else [row])

    def _update_chart(self, rows: list[int] | None = None) -> None:
        """Reload the curves when the selection, the timeline or the stored data changed;
        otherwise only move the clock line (the panel refreshes 4 times a second)."""
        if self.sim is None:
            return
        s, c = self.sim.sensors, self.sim.clock
        rows = [r for r in (self.selected_rows() if rows is None else rows)
                if 0 <= r < len(s)][:MAX_CURVES]
        from twin.sim.clock import to_ms

        lang = i18n.current()
        key = (tuple(rows), to_ms(c.start), to_ms(c.end), self.sim.store.time_range(), lang)
        if key == self._chart_key:
            self.chart.set_now(c.ms)
            return
        self._chart_key = key
        series: list = []
        owners: dict[tuple[int, float], list[str]] = {}  # one line per distinct threshold
        for r in rows:
            t, v = self.sim.store.series(str(s.ids[r]), to_ms(c.start), to_ms(c.end))
            series.append((str(s.ids[r]), t, v))
            for level, x in ((1, s.warning[r]), (2, s.alarm[r])):
                if np.isfinite(x):
                    owners.setdefault((level, float(x)), []).append(str(s.ids[r]))
        thresholds = []
        for (level, x), ids in owners.items():
            name = tr("warning") if level == 1 else tr("alarm")
            text = f"{name} {format_significant(x, lang, 4)}"
            if len(ids) < len(rows):  # not shared by every charted sensor: say whose
                text = f"{', '.join(ids[:3])}{'…' if len(ids) > 3 else ''}: {text}"
            thresholds.append((x, LEVEL_COLORS[level], text))
        units = {kind_catalogue.unit_text(s.units[r], lang) for r in rows}
        unit = units.pop() if len(units) == 1 else ""
        if len(rows) == 1:
            r = rows[0]
            title = f"{s.ids[r]} — {kind_catalogue.kind_name(s.kinds[r], lang)} ({unit})"
        elif rows:
            title = tr("{0} sensors compared").replace("{0}", str(len(rows)))
        else:
            title = tr("Select one or more sensors to chart their history")
        self.chart.set_series(series, thresholds, c.ms, title, unit)

    def select_sensor(self, row: int) -> None:
        """Show one sensor: its row selected, its history charted, the dock raised."""
        self.show()
        self.raise_()
        if 0 <= row < len(self._hidden) and self._hidden[row]:
            self.set_filter("", "", "")  # a picked sensor must not stay filtered out
        self.set_current_row(row)
        self.show_history(row)

    def fly_to_sensor(self, row: int) -> None:
        if self.sim is not None and 0 <= row < len(self.sim.sensors):
            self.fly_requested.emit(np.asarray(self.sim.sensors.positions[row], dtype=float))

    def _on_alert(self, item) -> None:
        sensor = item.data(Qt.ItemDataRole.UserRole)
        row = self.sim.sensors.index(sensor)
        self.set_current_row(row)
        self.fly_to_sensor(row)
