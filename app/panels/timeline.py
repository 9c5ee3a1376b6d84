"""Timeline dock: a date/time slider over the scene's range, play/pause, speed.

The slider edits :class:`twin.sim.clock.Clock`; overlays (planned projects,
sensor glyphs, alerts) follow through the simulation's own subscription. A
GUI QTimer advances the clock while playing, so nothing renders off the GUI
thread.
"""

from __future__ import annotations

import time

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QComboBox,
    QDockWidget,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from app.i18n import Translatable, tr

SLIDER_STEPS = 2000
TICK_MS = 100
SPEEDS = ((60.0, "1 min/s"), (3600.0, "1 h/s"), (86_400.0, "1 day/s"), (30 * 86_400.0, "30 days/s"))


def speed_labels() -> list[str]:
    """The SPEEDS labels in the installed language (literals, for the .ts)."""
    return [tr("1 min/s"), tr("1 h/s"), tr("1 day/s"), tr("30 days/s")]


class TimelinePanel(Translatable, QDockWidget):
    """Controls for ``sim.clock`` of a :class:`twin.sim.simulation.Simulation`."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("timeline_dock")
        self.sim = None
        body = QWidget()
        box = QVBoxLayout(body)
        box.setContentsMargins(4, 2, 4, 2)
        row = QHBoxLayout()
        self.play_button = QPushButton()
        self.play_button.setCheckable(True)
        self.play_button.toggled.connect(self._on_play)
        self.back_button = QPushButton("◀")
        self.back_button.clicked.connect(lambda: self.sim and self.sim.clock.step(-1))
        self.fwd_button = QPushButton("▶")
        self.fwd_button.clicked.connect(lambda: self.sim and self.sim.clock.step(1))
        self.speed_box = QComboBox()
        for speed, label in SPEEDS:
            self.speed_box.addItem(label, speed)
        self.speed_box.setCurrentIndex(2)
        self.speed_box.currentIndexChanged.connect(self._on_speed)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, SLIDER_STEPS)
        self.slider.valueChanged.connect(self._on_slider)
        self.time_label = QLabel("")
        for w in (self.play_button, self.back_button, self.fwd_button, self.speed_box):
            row.addWidget(w)
        row.addWidget(self.slider, 1)
        row.addWidget(self.time_label)
        box.addLayout(row)
        self.plan_label = QLabel("")
        self.plan_label.setWordWrap(True)
        box.addWidget(self.plan_label)
        self.setWidget(body)
        self.timer = QTimer(self)
        self.timer.setInterval(TICK_MS)
        self.timer.timeout.connect(self._tick)
        self._last_tick = time.monotonic()
        self.retranslate()

    def retranslate(self) -> None:
        """Texts in the installed language, the plan summary included."""
        self.setWindowTitle(tr("Timeline"))
        for i, label in enumerate(speed_labels()):
            self.speed_box.setItemText(i, label)
        self._label_play()
        if self.sim is not None:
            self.plan_label.setText(self.plan_text())

    def _label_play(self) -> None:
        self.play_button.setText(tr("Pause") if self.play_button.isChecked() else tr("Play"))

    def bind(self, sim) -> None:
        if self.sim is not None:
            self.sim.clock.events.time_changed.disconnect(self._on_time)
            self.sim.clock.events.state_changed.disconnect(self._on_state)
        self.sim = sim
        self.setEnabled(sim is not None)
        if sim is None:
            return
        sim.clock.events.time_changed.connect(self._on_time)
        sim.clock.events.state_changed.connect(self._on_state)
        self._on_speed(self.speed_box.currentIndex())
        self._on_time(sim.clock.time)

    # -- clock <-> slider ---------------------------------------------------------------
    def _fraction(self) -> float:
        c = self.sim.clock
        span = (c.end - c.start).total_seconds() or 1.0
        return (c.time - c.start).total_seconds() / span

    def set_fraction(self, f: float) -> None:
        """Move the clock to a fraction of its range (0 = start, 1 = end)."""
        c = self.sim.clock
        c.set_time(c.start + (c.end - c.start) * min(max(f, 0.0), 1.0))

    def _on_slider(self, value: int) -> None:
        if self.sim is not None:
            self.set_fraction(value / SLIDER_STEPS)

    def _on_time(self, t) -> None:
        self.slider.blockSignals(True)
        self.slider.setValue(round(self._fraction() * SLIDER_STEPS))
        self.slider.blockSignals(False)
        self.time_label.setText(f"{t:%Y-%m-%d %H:%M}")
        self.plan_label.setText(self.plan_text())

    def plan_text(self) -> str:
        labels = {
            "planned": tr("planned"),
            "under construction": tr("under construction"),
            "built": tr("built"),
            "removed": tr("removed"),
        }
        parts = []
        for layer, counts in self.sim.plan_summary().items():
            shown = ", ".join(f"{labels.get(k, k)} {v}" for k, v in counts.items() if v)
            if shown:
                parts.append(f"{layer}: {shown}")
        return "\n".join(parts)

    def _on_play(self, on: bool) -> None:
        if self.sim is None:
            return
        if on:
            self.sim.clock.play()
        else:
            self.sim.clock.pause()

    def _on_state(self, state: str) -> None:
        playing = state == "playing"
        self.play_button.blockSignals(True)
        self.play_button.setChecked(playing)
        self._label_play()
        self.play_button.blockSignals(False)
        if playing:
            self._last_tick = time.monotonic()
            self.timer.start()
        else:
            self.timer.stop()

    def _on_speed(self, index: int) -> None:
        if self.sim is not None:
            self.sim.clock.set_speed(float(self.speed_box.itemData(index)))

    def _tick(self) -> None:
        now = time.monotonic()
        self.sim.clock.advance(now - self._last_tick)
        self._last_tick = now
