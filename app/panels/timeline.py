"""Timeline dock: one clock, a zoomable window over it, and what has data where.

The clock (:class:`twin.sim.clock.Clock`) spans everything the scene has: the
sensor history, the plan's phases, tours. Its years would squeeze two days of
sensor data into two slider steps, so the slider covers a *window* of the
clock that the user zooms (wheel over the slider or ruler, −/+ buttons) and
pans (Shift+wheel, «/»). The default window is the sensor data; the default
speed plays the window in about :data:`PLAY_SECONDS`; ◀/▶ step 1 % of it. A
ruler under the slider paints date/time ticks and each source's range as a
coloured band, and the Jump menu goes to now (Live), the data's first/last
time and each plan phase. Live follows wall time for live feeds.

A GUI QTimer advances the clock while playing, so nothing renders off the GUI
thread.
"""

from __future__ import annotations

import logging
import math
import time
from datetime import datetime, timedelta

from PySide6.QtCore import QEvent, QObject, QPointF, QRectF, Qt, QTimer
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import (
    QComboBox,
    QDockWidget,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPushButton,
    QSlider,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app import i18n
from app.i18n import Translatable, tr
from twin.locale_format import format_datetime, format_significant
from twin.sim.clock import ICT, from_ms, to_ms

log = logging.getLogger(__name__)

SLIDER_STEPS = 2000
TICK_MS = 100
LIVE_MS = 1000
#: the default speed plays the visible window in this many wall seconds
PLAY_SECONDS = 30.0
#: the narrowest window (zooming stops there)
MIN_WINDOW_MS = 10 * 60_000
#: speed 0 = "fit the window"; the rest are fixed simulated seconds per second
SPEEDS = ((0.0, "Fit window"), (60.0, "1 min/s"), (3600.0, "1 h/s"), (86_400.0, "1 day/s"),
          (30 * 86_400.0, "30 days/s"))
#: the units ◀/▶ steps and ruler ticks are rounded to, in seconds
NICE_SECONDS = (1, 5, 15, 30, 60, 5 * 60, 15 * 60, 30 * 60, 3600, 3 * 3600, 6 * 3600,
                12 * 3600, 86_400, 7 * 86_400, 30 * 86_400, 91 * 86_400, 365 * 86_400)
BAND_COLORS = {"sensors": QColor(31, 119, 180), "plan": QColor(255, 140, 0),
               "tour": QColor(44, 160, 44)}


def speed_labels() -> list[str]:
    """The SPEEDS labels in the installed language (literals, for the .ts)."""
    return [tr("Fit window (~30 s)"), tr("1 min/s"), tr("1 h/s"), tr("1 day/s"),
            tr("30 days/s")]


def nice_step(seconds: float) -> timedelta:
    """The nice unit nearest ``seconds`` (on a log scale): 1 % of a 2-day window
    is 29 min -> 30 min, of a 5-year one 18 days -> 30 days."""
    best = min(NICE_SECONDS, key=lambda s: abs(math.log(s) - math.log(max(seconds, 1.0))))
    return timedelta(seconds=best)


def _tick_unit(span_ms: float, max_ticks: int) -> int:
    """Tick spacing in seconds: the smallest nice unit giving at most ``max_ticks``."""
    for s in NICE_SECONDS:
        if span_ms / (s * 1000) <= max(max_ticks, 1):
            return s
    return NICE_SECONDS[-1]


def _ticks(t0: int, t1: int, unit_s: int) -> list[int]:
    """Tick times (ms) in [t0, t1], on local (+07:00) calendar boundaries."""
    out: list[int] = []
    if unit_s >= 30 * 86_400:  # months, quarters, years: walk the calendar
        months = {30 * 86_400: 1, 91 * 86_400: 3}.get(unit_s, 12)
        d = from_ms(t0)
        y, m = d.year, d.month
        while True:
            t = datetime(y, m, 1, tzinfo=ICT)
            if to_ms(t) > t1:
                return out
            if to_ms(t) >= t0 and (m - 1) % months == 0:
                out.append(to_ms(t))
            y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    offset = 7 * 3600_000  # ticks at local midnights, hours ...
    step = unit_s * 1000
    t = ((t0 + offset + step - 1) // step) * step - offset
    while t <= t1 and len(out) < 500:
        out.append(t)
        t += step
    return out


def _tick_label(ms: int, unit_s: int) -> str:
    d = from_ms(ms)
    if unit_s >= 365 * 86_400:
        return f"{d:%Y}"
    if unit_s >= 30 * 86_400:
        return f"{d:%m/%Y}"
    if unit_s >= 86_400:
        return f"{d:%d/%m/%y}"
    if d.hour == 0 and d.minute == 0:
        return f"{d:%d/%m}"
    return f"{d:%H:%M}"


class TimelineRuler(QWidget):
    """Date/time ticks over the panel's window, each source's range as a band,
    and the clock as a red line; the wheel zooms, a click moves the clock."""

    BAND_H = 5

    def __init__(self, panel: TimelinePanel) -> None:
        super().__init__(panel)
        self.panel = panel
        self.setMinimumHeight(3 * (self.BAND_H + 1) + 20)
        self.setMouseTracking(True)

    def _x(self, ms: float) -> float:
        t0, t1 = self.panel.window()
        return (ms - t0) / max(t1 - t0, 1) * (self.width() - 1)

    def time_at(self, x: float) -> int:
        t0, t1 = self.panel.window()
        return round(t0 + (t1 - t0) * min(max(x / max(self.width() - 1, 1), 0.0), 1.0))

    def paintEvent(self, _event) -> None:
        if self.panel.sim is None:
            return
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(248, 248, 248))
        rows = {"sensors": 0, "plan": 1, "tour": 2}
        for r in self.panel.ranges:
            x0, x1 = self._x(r.start), self._x(r.end)
            if x1 < 0 or x0 > self.width():
                continue
            y = 1 + rows.get(r.kind, 2) * (self.BAND_H + 1)
            color = BAND_COLORS.get(r.kind, QColor(120, 120, 120))
            p.fillRect(QRectF(x0, y, max(x1 - x0, 2.0), self.BAND_H), color)
        t0, t1 = self.panel.window()
        unit = _tick_unit(t1 - t0, self.width() // 70)
        top = 3 * (self.BAND_H + 1) + 1
        p.setPen(QPen(QColor(90, 90, 90), 1))
        font = p.font()
        font.setPointSizeF(max(font.pointSizeF() - 1.5, 6.0))
        p.setFont(font)
        for ms in _ticks(t0, t1, unit):
            x = self._x(ms)
            p.drawLine(QPointF(x, top), QPointF(x, top + 4))
            p.drawText(QPointF(x + 2, top + 14), _tick_label(ms, unit))
        now = self.panel.sim.clock.ms
        if t0 <= now <= t1:
            p.setPen(QPen(QColor(220, 30, 30), 2))
            x = self._x(now)
            p.drawLine(QPointF(x, 0), QPointF(x, self.height()))

    def wheelEvent(self, event) -> None:
        self.panel.wheel(event, self.time_at(event.position().x()))

    def mousePressEvent(self, event) -> None:
        if self.panel.sim is not None and event.button() == Qt.MouseButton.LeftButton:
            self.panel.sim.clock.set_time(from_ms(self.time_at(event.position().x())))


class _SliderWheel(QObject):
    """Wheel over the slider zooms (Shift: pans) instead of nudging the value."""

    def __init__(self, panel: TimelinePanel) -> None:
        super().__init__(panel)
        self.panel = panel

    def eventFilter(self, obj, event) -> bool:
        if event.type() == QEvent.Type.Wheel:
            width = max(obj.width() - 1, 1)
            t0, t1 = self.panel.window()
            at = t0 + (t1 - t0) * min(max(event.position().x() / width, 0.0), 1.0)
            self.panel.wheel(event, round(at))
            return True
        return False


class TimelinePanel(Translatable, QDockWidget):
    """Controls for ``sim.clock`` of a :class:`twin.sim.simulation.Simulation`."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("timeline_dock")
        self.sim = None
        self.ranges: list = []
        self._window = (0, 1)
        body = QWidget()
        box = QVBoxLayout(body)
        box.setContentsMargins(4, 2, 4, 2)
        grid = QGridLayout()
        grid.setHorizontalSpacing(4)
        grid.setVerticalSpacing(0)
        row = QHBoxLayout()
        self.live_button = QPushButton()
        self.live_button.setCheckable(True)
        self.live_button.toggled.connect(self.set_live)
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
        self.speed_box.setCurrentIndex(0)
        self.speed_box.currentIndexChanged.connect(self._on_speed)
        for w in (self.live_button, self.play_button, self.back_button, self.fwd_button,
                  self.speed_box):
            row.addWidget(w)
        grid.addLayout(row, 0, 0)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, SLIDER_STEPS)
        self.slider.valueChanged.connect(self._on_slider)
        self.slider.installEventFilter(_SliderWheel(self))
        grid.addWidget(self.slider, 0, 1)
        self.time_label = QLabel("")
        grid.addWidget(self.time_label, 0, 2)
        nav = QHBoxLayout()
        self.zoom_out_button = QToolButton()
        self.zoom_out_button.setText("−")
        self.zoom_out_button.clicked.connect(lambda: self.zoom(2.0))
        self.zoom_in_button = QToolButton()
        self.zoom_in_button.setText("+")
        self.zoom_in_button.clicked.connect(lambda: self.zoom(0.5))
        self.pan_left_button = QToolButton()
        self.pan_left_button.setText("«")
        self.pan_left_button.clicked.connect(lambda: self.pan(-0.5))
        self.pan_right_button = QToolButton()
        self.pan_right_button.setText("»")
        self.pan_right_button.clicked.connect(lambda: self.pan(0.5))
        self.all_button = QToolButton()
        self.all_button.clicked.connect(self.show_all)
        self.jump_button = QToolButton()
        self.jump_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.jump_menu = QMenu(self.jump_button)
        self.jump_menu.aboutToShow.connect(self._fill_jump_menu)
        self.jump_button.setMenu(self.jump_menu)
        for w in (self.zoom_out_button, self.zoom_in_button, self.pan_left_button,
                  self.pan_right_button, self.all_button, self.jump_button):
            nav.addWidget(w)
        nav.addStretch(1)
        grid.addLayout(nav, 1, 0)
        self.ruler = TimelineRuler(self)
        grid.addWidget(self.ruler, 1, 1)
        self.window_label = QLabel("")
        grid.addWidget(self.window_label, 1, 2)
        grid.setColumnStretch(1, 1)
        box.addLayout(grid)
        self.plan_label = QLabel("")
        self.plan_label.setWordWrap(True)
        box.addWidget(self.plan_label)
        self.setWidget(body)
        self.timer = QTimer(self)
        self.timer.setInterval(TICK_MS)
        self.timer.timeout.connect(self._tick)
        self.live_timer = QTimer(self)
        self.live_timer.setInterval(LIVE_MS)
        self.live_timer.timeout.connect(self._follow_now)
        self._last_tick = time.monotonic()
        self.retranslate()

    def retranslate(self) -> None:
        """Texts in the installed language, the plan summary included."""
        self.setWindowTitle(tr("Timeline"))
        for i, label in enumerate(speed_labels()):
            self.speed_box.setItemText(i, label)
        self._label_play()
        self.live_button.setText(tr("Live"))
        self.live_button.setToolTip(tr("Follow wall time: live feeds show as they arrive"))
        self.zoom_in_button.setToolTip(tr("Zoom in (mouse wheel over the slider)"))
        self.zoom_out_button.setToolTip(tr("Zoom out (mouse wheel over the slider)"))
        self.pan_left_button.setToolTip(tr("Earlier (Shift + mouse wheel)"))
        self.pan_right_button.setToolTip(tr("Later (Shift + mouse wheel)"))
        self.all_button.setText(tr("All"))
        self.all_button.setToolTip(tr("Show the whole timeline"))
        self.jump_button.setText(tr("Jump to"))
        self.back_button.setToolTip(tr("Step back (1 % of the window)"))
        self.fwd_button.setToolTip(tr("Step forward (1 % of the window)"))
        if self.sim is not None:
            self.plan_label.setText(self.plan_text())
            self._label_window()

    def _label_play(self) -> None:
        self.play_button.setText(tr("Pause") if self.play_button.isChecked() else tr("Play"))

    def bind(self, sim) -> None:
        if self.sim is not None:
            self.set_live(False)
            self.sim.clock.events.time_changed.disconnect(self._on_time)
            self.sim.clock.events.state_changed.disconnect(self._on_state)
        self.sim = sim
        self.setEnabled(sim is not None)
        if sim is None:
            return
        sim.clock.events.time_changed.connect(self._on_time)
        sim.clock.events.state_changed.connect(self._on_state)
        self.refresh_ranges()
        self.set_window(*self.default_window())
        self._on_time(sim.clock.time)

    # -- what has data --------------------------------------------------------------
    def _tours(self) -> list[tuple[str, datetime, datetime]]:
        """Tours of the scene that set the clock: (name, first, last scene time)."""
        try:
            from twin.tour import scene_tours

            out = []
            for tour in scene_tours(self.sim.scene):
                times = [k.scene_time for k in tour.keyframes if k.scene_time is not None]
                if times:
                    out.append((tour.name, min(times), max(times)))
            return out
        except Exception as exc:  # a broken tour must not hide the timeline
            log.debug("tours for the timeline: %s", exc)
            return []

    def refresh_ranges(self) -> None:
        """Re-read the sources' ranges (live data extend the sensors' one)."""
        if self.sim is not None:
            self.ranges = self.sim.time_ranges(self._tours())
            self.ruler.update()

    def data_range(self) -> tuple[int, int] | None:
        return next(((r.start, r.end) for r in self.ranges if r.kind == "sensors"), None)

    def default_window(self) -> tuple[int, int]:
        """The sensor data (they fill the slider), else the whole clock."""
        c = self.sim.clock
        rng = self.data_range()
        if rng is None or rng[1] <= rng[0]:
            return to_ms(c.start), to_ms(c.end)
        return rng

    # -- the window ---------------------------------------------------------------
    def window(self) -> tuple[int, int]:
        """The visible part of the clock, (start, end) in epoch ms."""
        return self._window

    def set_window(self, t0: int, t1: int) -> None:
        """Show ``[t0, t1]`` on the slider (kept inside the clock, at least
        MIN_WINDOW_MS); the step and a fitted speed follow."""
        c = self.sim.clock
        lo, hi = to_ms(c.start), to_ms(c.end)
        span = min(max(int(t1 - t0), MIN_WINDOW_MS), max(hi - lo, 1))
        t0 = min(max(int(t0), lo), hi - span)
        self._window = (t0, t0 + span)
        c.step_size = nice_step(span / 1000 * 0.01)
        self._on_speed(self.speed_box.currentIndex())
        self._label_window()
        self._sync_slider()
        self.ruler.update()

    def zoom(self, factor: float, at_ms: int | None = None) -> None:
        """Scale the window by ``factor`` (< 1 narrows) keeping ``at_ms`` (the
        clock by default) at the same place on the slider."""
        t0, t1 = self._window
        at = self.sim.clock.ms if at_ms is None else at_ms
        at = min(max(at, t0), t1)
        self.set_window(round(at - (at - t0) * factor), round(at + (t1 - at) * factor))

    def pan(self, fraction: float) -> None:
        """Move the window by ``fraction`` of its width (negative: earlier)."""
        t0, t1 = self._window
        d = round((t1 - t0) * fraction)
        self.set_window(t0 + d, t1 + d)

    def show_all(self) -> None:
        c = self.sim.clock
        self.set_window(to_ms(c.start), to_ms(c.end))

    def wheel(self, event, at_ms: int) -> None:
        """Mouse wheel: zoom at ``at_ms``; with Shift, pan."""
        if self.sim is None:
            return
        delta = event.angleDelta().y() or event.angleDelta().x()
        if not delta:
            return
        if event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            self.pan(-0.1 if delta > 0 else 0.1)
        else:
            self.zoom(0.8 if delta > 0 else 1.25, at_ms)
        event.accept()

    def _label_window(self) -> None:
        t0, t1 = self._window
        days = (t1 - t0) / 86_400_000
        lang = i18n.current()
        text = tr("{0} days").replace("{0}", format_significant(days, lang, 3)) if days >= 1 \
            else tr("{0} h").replace("{0}", format_significant(days * 24, lang, 3))
        self.window_label.setText(text)

    # -- jumps ----------------------------------------------------------------------
    def jumps(self) -> list[tuple[str, int | None]]:
        """(label, time ms) of each jump; None is now (Live)."""
        out: list[tuple[str, int | None]] = [(tr("Now (Live)"), None)]
        rng = self.data_range()
        if rng is not None:
            out += [(tr("First data"), rng[0]), (tr("Last data"), rng[1])]
        for r in self.ranges:
            if r.kind == "plan":
                out.append((tr("Plan phase: {0}").replace("{0}", r.label), r.start))
            elif r.kind == "tour":
                out.append((tr("Tour: {0}").replace("{0}", r.label), r.start))
        return out

    def _fill_jump_menu(self) -> None:
        self.jump_menu.clear()
        if self.sim is None:
            return
        for label, ms in self.jumps():
            when = "" if ms is None else f"  ({format_datetime(from_ms(ms), i18n.current())})"
            action = self.jump_menu.addAction(label + when)
            action.triggered.connect(lambda _=False, m=ms: self.jump_to(m))

    def jump_to(self, ms: int | None) -> None:
        """Move the clock to ``ms`` (None: now, in Live mode); the window
        follows when the time is outside it."""
        if self.sim is None:
            return
        if ms is None:
            self.live_button.setChecked(True)
            return
        self.live_button.setChecked(False)
        self.sim.clock.set_time(from_ms(ms))

    # -- live -----------------------------------------------------------------------
    def set_live(self, on: bool) -> None:
        """Follow wall time: the clock's end extends to now every second and
        alerts are stamped with their message time."""
        if self.live_button.isChecked() != on:
            self.live_button.setChecked(on)  # re-enters through toggled
            return
        if self.sim is None:
            return
        if on:
            self.sim.clock.pause()
            self.sim.set_live(True)
            self.live_timer.start()
            self._follow_now()
        else:
            self.live_timer.stop()
            self.sim.set_live(False)

    def _follow_now(self) -> None:
        if self.sim is None:
            return
        self.sim.follow_now()
        self.refresh_ranges()
        t0, t1 = self._window
        now = self.sim.clock.ms
        if not t0 <= now <= t1:
            span = t1 - t0
            self.set_window(now - round(span * 0.9), now + round(span * 0.1))
        else:
            self._sync_slider()

    # -- clock <-> slider -------------------------------------------------------------
    def _fraction(self) -> float:
        t0, t1 = self._window
        return (self.sim.clock.ms - t0) / max(t1 - t0, 1)

    def set_fraction(self, f: float) -> None:
        """Move the clock to a fraction of the visible window (0 = start, 1 = end)."""
        t0, t1 = self._window
        self.sim.clock.set_time(from_ms(round(t0 + (t1 - t0) * min(max(f, 0.0), 1.0))))

    def _on_slider(self, value: int) -> None:
        if self.sim is not None:
            self.set_fraction(value / SLIDER_STEPS)

    def _sync_slider(self) -> None:
        self.slider.blockSignals(True)
        self.slider.setValue(round(min(max(self._fraction(), 0.0), 1.0) * SLIDER_STEPS))
        self.slider.blockSignals(False)

    def _on_time(self, t) -> None:
        t0, t1 = self._window
        ms = self.sim.clock.ms
        if not t0 <= ms <= t1:  # playing or a jump left the window: page to it
            span = t1 - t0
            start = ms - span // 2 if ms < t0 or ms - t1 > span else ms
            self.set_window(start, start + span)
        self._sync_slider()
        self.time_label.setText(format_datetime(t, i18n.current()))
        self.plan_label.setText(self.plan_text())
        self.ruler.update()

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
            self.live_button.setChecked(False)
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

    def play_speed(self) -> float:
        """Simulated seconds per second: fixed, or the window in PLAY_SECONDS."""
        speed = float(self.speed_box.currentData() or 0.0)
        if speed <= 0:
            t0, t1 = self._window
            speed = max((t1 - t0) / 1000 / PLAY_SECONDS, 1.0)
        return speed

    def _on_speed(self, _index: int) -> None:
        if self.sim is not None:
            self.sim.clock.set_speed(self.play_speed())

    def _tick(self) -> None:
        now = time.monotonic()
        self.sim.clock.advance(now - self._last_tick)
        self._last_tick = now

