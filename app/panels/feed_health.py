"""Feed health dock and its status-bar indicator (issue 14: "feed health in the window").

A thin view over :class:`twin.sim.health.HealthMonitor`: once a second it polls
the simulation's monitor and lists each feed's state (coloured), last data
time, rate and error count; selecting a feed lists its first 100 problems
(line or topic and reason) plus a count of the rest, and offers its stale
threshold (seconds), which the project saves. The indicator in the status bar
shows the worst state of all feeds and opens this dock when clicked.
"""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QDockWidget,
    QDoubleSpinBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app import i18n
from app.i18n import Translatable, tr
from twin.locale_format import format_datetime, format_significant
from twin.sim.health import FeedHealth
from twin.sun import scene_timezone

POLL_MS = 1000
STATE_COLORS = {
    "connected": QColor(40, 160, 70), "done": QColor(40, 160, 70),
    "idle": QColor(130, 130, 130), "none": QColor(130, 130, 130),
    "reconnecting": QColor(230, 150, 20), "stale": QColor(220, 120, 0),
    "error": QColor(210, 30, 30),
}


def state_label(state: str) -> str:
    """A state in the installed language (the strings are listed for the .ts file)."""
    return {
        "connected": tr("connected"), "reconnecting": tr("reconnecting"),
        "stale": tr("stale"), "error": tr("error"), "idle": tr("idle"),
        "done": tr("loaded"), "none": tr("no feeds"),
    }.get(state, state)


class HealthIndicator(QToolButton):
    """Status-bar button: a coloured dot and the worst feed state; click opens the dock."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("feed_health_indicator")
        self.setAutoRaise(True)
        self.state = "none"
        self.set_state("none")

    def set_state(self, state: str) -> None:
        """Show ``state``; called on every poll (once a second), so it touches the
        widget only when the text or colour would change: a style sheet set again
        re-lays out and repaints the status bar, and beside a GL view that repaint
        composes the whole window (45-70 ms on software GL)."""
        self.state = state
        color = STATE_COLORS.get(state, STATE_COLORS["idle"]).name()
        text = "● " + tr("Feeds: {0}").replace("{0}", state_label(state))
        if text != self.text():
            self.setText(text)
        sheet = f"QToolButton {{ color: {color}; }}"
        if sheet != self.styleSheet():
            self.setStyleSheet(sheet)
        tip = tr("Feed health: click to show each feed's state and problems")
        if tip != self.toolTip():
            self.setToolTip(tip)


class FeedHealthPanel(Translatable, QDockWidget):
    """One row per feed; the selected feed's problems and stale threshold below."""

    #: the worst state after each poll ("none" without a simulation or feeds)
    health_changed = Signal(str)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("feed_health_dock")
        self.sim = None
        self.health: list[FeedHealth] = []
        split = QSplitter(Qt.Orientation.Vertical)
        self.table = QTableWidget(0, 5)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableWidget.SelectionMode.SingleSelection)
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        for c in range(4):  # a handful of rows: fitting the columns costs nothing
            header.setSectionResizeMode(c, QHeaderView.ResizeMode.ResizeToContents)
        self.table.currentCellChanged.connect(lambda *_: self._show_selected())
        lower = QWidget()
        lay = QVBoxLayout(lower)
        lay.setContentsMargins(0, 0, 0, 0)
        self.problems_label = QLabel()
        self.problems_label.setWordWrap(True)
        self.problems = QListWidget()
        row = QHBoxLayout()
        self.stale_label = QLabel()
        self.stale_spin = QDoubleSpinBox()
        self.stale_spin.setRange(1.0, 7 * 86400.0)
        self.stale_spin.setDecimals(0)
        self.stale_spin.setSingleStep(30.0)
        self.stale_apply = QPushButton()
        self.stale_apply.clicked.connect(self._apply_threshold)
        self.stale_reset = QPushButton()
        self.stale_reset.clicked.connect(self._reset_threshold)
        for w in (self.stale_label, self.stale_spin, self.stale_apply, self.stale_reset):
            row.addWidget(w)
        row.addStretch(1)
        lay.addWidget(self.problems_label)
        lay.addWidget(self.problems)
        lay.addLayout(row)
        split.addWidget(self.table)
        split.addWidget(lower)
        self.setWidget(split)
        self._problems_key: tuple | None = None
        self.timer = QTimer(self)
        self.timer.setInterval(POLL_MS)
        self.timer.timeout.connect(self.poll)
        self.timer.start()
        self.retranslate()
        self._show_selected()

    def retranslate(self) -> None:
        self.setWindowTitle(tr("Feed health"))
        self.table.setHorizontalHeaderLabels(
            [tr("Feed"), tr("State"), tr("Last data"), tr("Rate (/s)"), tr("Errors")])
        self.stale_label.setText(tr("Stale after (s):"))
        self.stale_apply.setText(tr("Apply"))
        self.stale_reset.setText(tr("Scene default"))
        self._problems_key = None
        if self.health:
            self._fill(self.health)

    def bind(self, sim) -> None:
        """Follow ``sim``'s feeds (None: empty, indicator "no feeds")."""
        self.sim = sim
        self.health = []
        self.table.setRowCount(0)
        self._problems_key = None
        self.poll()

    def poll(self, now: float | None = None) -> str:
        """Poll the monitor, refresh the rows, announce and return the worst state."""
        if self.sim is None:
            self.health = []
            state = "none"
        else:
            self.health = self.sim.feed_health(now)
            state = self.sim.health.overall()
            self._fill(self.health)
        self.health_changed.emit(state)
        return state

    def _fill(self, health: list[FeedHealth]) -> None:
        if self.table.rowCount() != len(health):
            self.table.setRowCount(len(health))
            for r in range(len(health)):
                for c in range(5):
                    self.table.setItem(r, c, QTableWidgetItem())
        lang = i18n.current()
        tz = scene_timezone(self.sim.scene) if self.sim is not None else None
        for r, h in enumerate(health):
            when = (format_datetime(datetime.fromtimestamp(h.last_message, tz), lang,
                                    seconds=True) if h.last_message else "—")
            texts = (h.name, state_label(h.state), when,
                     format_significant(h.rate, lang, 3), str(h.errors))
            for c, text in enumerate(texts):
                item = self.table.item(r, c)
                if item.text() != text:
                    item.setText(text)
            state = self.table.item(r, 1)
            state.setForeground(STATE_COLORS.get(h.state, STATE_COLORS["idle"]))
            state.setToolTip(h.detail)
            self.table.item(r, 0).setToolTip(f"{h.kind}: {h.detail}" if h.detail else h.kind)
        self._show_selected()

    def select_feed(self, name: str) -> None:
        """Select a feed by name (the indicator's click lands on the worst one)."""
        for r, h in enumerate(self.health):
            if h.name == name:
                self.table.selectRow(r)
                self.table.setCurrentCell(r, 0)
                return

    def show_worst(self) -> None:
        """Show the dock with the worst feed selected."""
        self.show()
        self.raise_()
        if self.health:
            from twin.sim.health import SEVERITY

            worst = max(self.health, key=lambda h: SEVERITY.get(h.state, 0))
            self.select_feed(worst.name)

    def _selected(self) -> FeedHealth | None:
        r = self.table.currentRow()
        return self.health[r] if 0 <= r < len(self.health) else None

    def _show_selected(self) -> None:
        h = self._selected()
        for w in (self.stale_spin, self.stale_apply, self.stale_reset):
            w.setEnabled(h is not None)
        if h is None:
            self._problems_key = None
            self.problems.clear()
            self.problems_label.setText(tr("Select a feed to list its problems."))
            return
        key = (h.name, h.problem_total, h.detail, i18n.current())
        if key == self._problems_key:
            return
        self._problems_key = key
        if not self.stale_spin.hasFocus():
            self.stale_spin.setValue(h.stale_after_s)
        self.problems.clear()
        for p in h.problems:
            text = str(p) if p.level == "error" else f"{p} ({tr('warning')})"
            self.problems.addItem(text)
        if h.more:
            self.problems.addItem(tr("… and {0} more").replace("{0}", str(h.more)))
        if h.more:
            label = tr("{0}: {1} problems, the first {2} listed").replace(
                "{0}", h.name).replace("{1}", str(h.problem_total)).replace(
                "{2}", str(len(h.problems)))
        elif h.problem_total:
            label = tr("{0}: {1} problems").replace("{0}", h.name).replace(
                "{1}", str(h.problem_total))
        else:
            label = tr("{0}: no problems").replace("{0}", h.name)
        if h.detail and h.state == "error":
            label += "\n" + h.detail
        self.problems_label.setText(label)

    def _apply_threshold(self) -> None:
        h = self._selected()
        if h is not None and self.sim is not None:
            self.sim.health.set_stale_after(h.name, float(self.stale_spin.value()))
            self.poll()

    def _reset_threshold(self) -> None:
        h = self._selected()
        if h is not None and self.sim is not None:
            self.sim.health.set_stale_after(h.name, None)
            self._problems_key = None
            self.poll()
