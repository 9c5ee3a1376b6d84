"""Sensors dock: live value per sensor, the selected sensor's history chart, alerts.

The chart is a small QPainter line plot (QtCharts is not in PySide6-Essentials
and pyqtgraph would be one more dependency for one line); clicking an alert
or a sensor flies the camera to it.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QPainter, QPen, QPolygonF
from PySide6.QtWidgets import (
    QDockWidget,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app import i18n
from app.i18n import Translatable, tr
from twin.locale_format import format_datetime, format_significant

LEVEL_COLORS = {1: QColor(250, 170, 30), 2: QColor(230, 30, 30)}
REFRESH_MS = 250


class HistoryChart(QWidget):
    """A time series (epoch ms, values) with warning/alarm lines and the clock time."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setMinimumHeight(120)
        self.t = np.empty(0)
        self.v = np.empty(0)
        self.title = ""
        self.now_ms: float | None = None
        self.thresholds: list[tuple[float, QColor]] = []

    def set_series(self, t, v, title: str, thresholds=(), now_ms=None) -> None:
        self.t = np.asarray(t, dtype=float)
        self.v = np.asarray(v, dtype=float)
        self.title = title
        self.thresholds = list(thresholds)
        self.now_ms = now_ms
        self.update()

    def paintEvent(self, _event) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(252, 252, 252))
        p.drawText(6, 14, self.title)
        ok = np.isfinite(self.v)
        if ok.sum() < 2:
            p.drawText(6, 34, tr("no history"))
            return
        t, v = self.t[ok], self.v[ok]
        lo = min(v.min(), *(x for x, _ in self.thresholds)) if self.thresholds else v.min()
        hi = max(v.max(), *(x for x, _ in self.thresholds)) if self.thresholds else v.max()
        hi = hi if hi > lo else lo + 1.0
        w, h, top, left = self.width() - 12, self.height() - 28, 20, 6
        t0, t1 = t[0], t[-1] if t[-1] > t[0] else t[0] + 1

        def xy(tt, vv):
            return left + (tt - t0) / (t1 - t0) * w, top + (1 - (vv - lo) / (hi - lo)) * h

        for value, color in self.thresholds:
            p.setPen(QPen(color, 1, Qt.PenStyle.DashLine))
            y = xy(t0, value)[1]
            p.drawLine(QPointF(left, y), QPointF(left + w, y))
        stride = max(1, len(t) // max(w, 1))
        xs, ys = xy(t[::stride], v[::stride])
        p.setPen(QPen(QColor(31, 119, 180), 1.5))
        p.drawPolyline(QPolygonF([QPointF(a, b) for a, b in zip(xs, ys, strict=True)]))
        if self.now_ms is not None and t0 <= self.now_ms <= t1:
            p.setPen(QPen(QColor(0, 0, 0), 1))
            x = xy(self.now_ms, lo)[0]
            p.drawLine(QPointF(x, top), QPointF(x, top + h))
        p.setPen(QColor(80, 80, 80))
        lang = i18n.current()
        p.drawText(left, self.height() - 4,
                   f"{format_significant(lo, lang, 3)} – {format_significant(hi, lang, 3)}")


class SensorsPanel(Translatable, QDockWidget):
    """Sensor values at the clock time, a history chart, and the alert list."""

    fly_requested = Signal(object)  # (3,) scene-local position

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("sensors_dock")
        self.sim = None
        split = QSplitter(Qt.Orientation.Vertical)
        self.table = QTableWidget(0, 4)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.currentCellChanged.connect(lambda r, *_: self.show_history(r))
        self.table.cellDoubleClicked.connect(lambda r, _c: self.fly_to_sensor(r))
        self.chart = HistoryChart()
        table_box = QWidget()
        tlay = QVBoxLayout(table_box)
        tlay.setContentsMargins(0, 0, 0, 0)
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
        self.alerts.itemClicked.connect(self._on_alert)
        lay.addWidget(self.alerts)
        for w in (table_box, self.chart, alerts_box):
            split.addWidget(w)
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
        self.table.setHorizontalHeaderLabels([tr("Sensor"), tr("Kind"), tr("Value"), tr("Unit")])
        self.alerts_label.setText(tr("Alerts"))
        self.chart.update()
        if self.sim is not None:
            self._alerts_key = None
            self.refresh()

    def bind(self, sim) -> None:
        if self.sim is not None:
            self.sim.clock.events.time_changed.disconnect(self._mark)
        self.sim = sim
        self.setEnabled(sim is not None)
        if sim is None:
            return
        sim.clock.events.time_changed.connect(self._mark)
        self.refresh()

    def _mark(self, *_: object) -> None:
        self._dirty = True  # coalesce: a playing clock moves 10 times a second

    def _refresh_if_dirty(self) -> None:
        if self._dirty and self.sim is not None:
            self._dirty = False
            self.refresh()

    def refresh(self) -> None:
        s, sim = self.sim.sensors, self.sim
        if self.table.rowCount() != len(s):
            self.table.setRowCount(len(s))
            for i in range(len(s)):
                for c, text in enumerate((s.ids[i], s.kinds[i], "", s.units[i])):
                    self.table.setItem(i, c, QTableWidgetItem(str(text)))
        no_data = tr("no data at this time")
        for i in range(len(s)):
            value = sim.values[i]
            item = self.table.item(i, 2)
            item.setText(format_significant(value, i18n.current(), 4, missing="—"))
            item.setToolTip(no_data if not np.isfinite(value) else "")
            color = LEVEL_COLORS.get(int(sim.levels[i]))
            item.setBackground(color if color is not None else QColor(0, 0, 0, 0))
        # Past alerts are history up to the clock time; live ones are marked.
        alerts = sim.alerts.history(sim.clock.ms)
        key = (len(alerts), alerts[-1] if alerts else None)
        if self._alerts_key != key:
            self._alerts_key = key
            self.alerts.clear()
            for alert in alerts[-500:][::-1]:
                mark = tr("LIVE") + " " if alert.live else ""
                self.alerts.addItem(mark + alert.text())
                self.alerts.item(self.alerts.count() - 1).setData(
                    Qt.ItemDataRole.UserRole, alert.sensor
                )
        row = self.table.currentRow()
        if row >= 0:
            self.show_history(row)
        self._show_no_data(row)

    def _show_no_data(self, row: int) -> None:
        """Say why values are missing and offer the nearest time with data: for
        the selected sensor when it has none, else for any sensor without one."""
        sim = self.sim
        status = sim.values_status()
        missing = [i for i, st in enumerate(status) if st != "ok"]
        if not missing:
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
        self.nearest_time = sim.nearest_data_time(sim.clock.time, which)
        self.nodata_label.setText(text)
        self.nodata_label.show()
        if self.nearest_time is not None and (which is not None or len(missing) == len(status)):
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

    def show_history(self, row: int) -> None:
        if self.sim is None or not (0 <= row < len(self.sim.sensors)):
            return
        s, c = self.sim.sensors, self.sim.clock
        from twin.sim.clock import to_ms

        t, v = self.sim.store.series(str(s.ids[row]), to_ms(c.start), to_ms(c.end))
        thresholds = [
            (float(x), LEVEL_COLORS[k])
            for k, x in ((1, s.warning[row]), (2, s.alarm[row]))
            if np.isfinite(x)
        ]
        self.chart.set_series(
            t, v, f"{s.ids[row]} — {s.kinds[row]} ({s.units[row]})", thresholds, c.ms
        )

    def select_sensor(self, row: int) -> None:
        """Show one sensor: its row selected, its history charted, the dock raised."""
        self.show()
        self.raise_()
        self.table.selectRow(row)
        self.show_history(row)

    def fly_to_sensor(self, row: int) -> None:
        if self.sim is not None and 0 <= row < len(self.sim.sensors):
            self.fly_requested.emit(np.asarray(self.sim.sensors.positions[row], dtype=float))

    def _on_alert(self, item) -> None:
        sensor = item.data(Qt.ItemDataRole.UserRole)
        row = self.sim.sensors.index(sensor)
        self.table.setCurrentCell(row, 0)
        self.fly_to_sensor(row)
