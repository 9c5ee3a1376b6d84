"""Tour dock: play, pause, stop and scrub a scene's tours; record new keyframes.

A thin view over :mod:`twin.tour` and :func:`twin.render.tourstate.apply_state`: a QTimer
on the GUI thread samples the tour at wall-clock time and draws it into the
main window's plotter, with the same caption the video export draws, so what
the presenter rehearses is what the exported video shows. When the tour stops
or ends, the camera and layer visibility return to where they were.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QComboBox,
    QDockWidget,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from app.i18n import Translatable, tr
from twin.render.captions import Caption
from twin.render.tourstate import apply_state, layer_visibility, restore_visibility
from twin.scene import Bookmark
from twin.scenefile import SceneFileError
from twin.tour import Tour, TourState, recorded_keyframe, scene_tours, tour_to_toml

SLIDER_STEPS = 1000
FRAME_MS = 33  # ~30 Hz; on a software renderer frames are dropped, time stays real
CAPTION_BOTTOM_PX = 64  # above the window's scale bar and north arrow


class TourPanel(Translatable, QDockWidget):
    """Tour controls for a main window with ``.scene``, ``.view`` and ``.plotter``.

    Signals
    -------
    state_changed(TourState) : after each drawn moment; the simulation clock can
        follow ``state.scene_time``.
    """

    state_changed = Signal(object)

    STOPPED, PLAYING, PAUSED = "stopped", "playing", "paused"

    def __init__(self, window) -> None:
        super().__init__(window)
        self.setObjectName("tour_dock")
        self.main_window = window
        self._bound_view = None
        self.tours: list[Tour] = []
        self.status = self.STOPPED
        self._time = 0.0
        self._anchor = 0.0
        self._saved_camera: Bookmark | None = None
        self._saved_visibility: dict[str, bool] | None = None
        self._caption: Caption | None = None
        self._last: TourState | None = None
        self._active: Tour | None = None
        self._recorded = 0
        self._message: Callable[[], str] = str  # makes the message line's text
        self._build()
        self.timer = QTimer(self)
        self.timer.setInterval(FRAME_MS)
        self.timer.timeout.connect(self._tick)
        self._bound_view = self.view
        self.reload()
        self.retranslate()

    def retranslate(self) -> None:
        """Texts in the installed language, the message line included."""
        self.setWindowTitle(tr("Tour"))
        self.stop_button.setText(tr("Stop"))
        self.clock_label.setToolTip(tr("Scene time the tour sets for sensors and planned projects"))
        self.caption_edit.setPlaceholderText(tr("caption for the next keyframe (optional)"))
        self.duration_spin.setToolTip(tr("time to glide from this keyframe to the next"))
        self.record_button.setText(tr("Add current view"))
        self.record_button.setToolTip(tr("Append the current view as a keyframe of this tour"))
        self.new_button.setText(tr("New tour"))
        self.copy_button.setText(tr("Copy as TOML"))
        self.copy_button.setToolTip(tr("Copy this tour as a [[tours]] section for the scene file"))
        self._update_controls()
        self.message.setText(self._message())

    def _say(self, message: Callable[[], str]) -> None:
        """Show a message, kept as a function so a language change can redo it."""
        self._message = message
        self.message.setText(message())

    # -- the window's scene (it can be replaced: opening a project) ----------------------
    @property
    def scene(self):
        return self.main_window.scene

    @property
    def view(self):
        return self.main_window.view

    @property
    def plotter(self):
        return self.main_window.plotter

    def _sync(self) -> None:
        """Follow a scene swapped in by the window: drop the old tour state
        (its camera and layers belong to the old scene) and reload the tours."""
        if self._bound_view is self.view:
            return
        self.timer.stop()
        self.status = self.STOPPED
        self._time = 0.0
        self._saved_camera = None
        self._saved_visibility = None
        self._last = None
        if self._caption is not None:
            self._caption.remove()
            self._caption = None
        self._bound_view = self.view
        self.reload()

    def showEvent(self, event) -> None:
        self._sync()
        super().showEvent(event)

    # -- widgets -----------------------------------------------------------------------
    def _build(self) -> None:
        body = QWidget()
        layout = QVBoxLayout(body)
        top = QHBoxLayout()
        self.tour_box = QComboBox()
        self.tour_box.setMinimumContentsLength(18)
        self.tour_box.currentIndexChanged.connect(self._on_tour_selected)
        top.addWidget(self.tour_box, 1)
        self.play_button = QPushButton()
        self.play_button.clicked.connect(self.toggle_play)
        self.stop_button = QPushButton()
        self.stop_button.clicked.connect(self.stop)
        top.addWidget(self.play_button)
        top.addWidget(self.stop_button)
        layout.addLayout(top)

        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, SLIDER_STEPS)
        self.slider.valueChanged.connect(self._on_slider)
        layout.addWidget(self.slider)
        info = QHBoxLayout()
        self.time_label = QLabel("0.0 / 0.0 s")
        self.clock_label = QLabel("")
        info.addWidget(self.time_label)
        info.addStretch(1)
        info.addWidget(self.clock_label)
        layout.addLayout(info)

        rec = QHBoxLayout()
        self.caption_edit = QLineEdit()
        self.duration_spin = QDoubleSpinBox()
        self.duration_spin.setRange(0.5, 600.0)
        self.duration_spin.setValue(4.0)
        self.duration_spin.setSuffix(" s")
        self.record_button = QPushButton()
        self.record_button.clicked.connect(self.record)
        rec.addWidget(self.caption_edit, 1)
        rec.addWidget(self.duration_spin)
        rec.addWidget(self.record_button)
        layout.addLayout(rec)

        more = QHBoxLayout()
        self.new_button = QPushButton()
        self.new_button.clicked.connect(self.new_tour)
        self.copy_button = QPushButton()
        self.copy_button.clicked.connect(self.copy_toml)
        more.addWidget(self.new_button)
        more.addWidget(self.copy_button)
        more.addStretch(1)
        layout.addLayout(more)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        layout.addWidget(self.message)
        layout.addStretch(1)
        self.setWidget(body)

    # -- tours ---------------------------------------------------------------------------
    def reload(self) -> None:
        """(Re)read the scene's tours; a bad tour section is shown, not raised,
        so the rest of the app still opens the scene."""
        self.stop()
        try:
            self.tours = scene_tours(self.scene)
            self._say(lambda: "" if self.tours else tr("This scene has no tours yet."))
        except SceneFileError as exc:
            self.tours = []
            error = str(exc)
            self._say(lambda: tr("Tours not loaded: {0}").replace("{0}", error))
        self._refresh_box()

    def _refresh_box(self, select: int | None = None) -> None:
        self.tour_box.blockSignals(True)
        self.tour_box.clear()
        for tour in self.tours:
            self.tour_box.addItem(tour.name)
        if select is not None:
            self.tour_box.setCurrentIndex(select)
        self.tour_box.blockSignals(False)
        self._update_controls()

    @property
    def tour(self) -> Tour | None:
        i = self.tour_box.currentIndex()
        return self.tours[i] if 0 <= i < len(self.tours) else None

    def select(self, name: str) -> None:
        for i, tour in enumerate(self.tours):
            if tour.name == name:
                self.tour_box.setCurrentIndex(i)
                return
        raise KeyError(name)

    def _on_tour_selected(self, _index: int) -> None:
        self.stop()
        self._update_controls()

    def _update_controls(self) -> None:
        tour = self.tour
        playable = tour is not None and bool(tour.keyframes)
        self.play_button.setEnabled(playable)
        self.stop_button.setEnabled(self.status != self.STOPPED)
        self.slider.setEnabled(playable)
        self.copy_button.setEnabled(playable)
        self.play_button.setText(tr("Pause") if self.status == self.PLAYING else tr("Play"))
        self._update_labels()

    def _update_labels(self) -> None:
        tour = self.tour
        total = tour.duration if tour is not None and tour.keyframes else 0.0
        self.time_label.setText(f"{self._time:.1f} / {total:.1f} s")
        state = self._last if self.status != self.STOPPED else None
        when = state.scene_time if state is not None else None
        self.clock_label.setText(when.strftime("%H:%M %d/%m/%Y") if when else "")

    # -- playback -------------------------------------------------------------------------
    @property
    def time(self) -> float:
        """Seconds into the current tour."""
        return self._time

    def toggle_play(self) -> None:
        if self.status == self.PLAYING:
            self.pause()
        else:
            self.play()

    def play(self) -> None:
        self._sync()
        tour = self.tour
        if tour is None or not tour.keyframes:
            return
        if self.status == self.STOPPED:
            self._save_view()
            self._time = 0.0
        elif self._time >= tour.duration:
            self._time = 0.0
        self._anchor = time.monotonic() - self._time
        self.status = self.PLAYING
        self._show(self._time)
        self.timer.start()
        self._update_controls()

    def pause(self) -> None:
        if self.status != self.PLAYING:
            return
        self.timer.stop()
        self.status = self.PAUSED
        self._update_controls()

    def stop(self) -> None:
        """Stop and put the camera and layers back as they were before the tour."""
        self._sync()
        self.timer.stop()
        was = self.status
        self.status = self.STOPPED
        self._time = 0.0
        self._set_slider(0.0)
        if was != self.STOPPED and not self._closed():
            if self._caption is not None:
                self._caption.set(None)
            tour = self._active
            if self._saved_visibility is not None and tour is not None and tour.keyframes:
                restore_visibility(self.scene, self._saved_visibility, tour.path.layers)
            if self._saved_camera is not None:
                self.view.apply_bookmark(self._saved_camera)
            self.view.request_frame()
        self._saved_camera = None
        self._saved_visibility = None
        self._active = None
        self._update_controls()

    def seek(self, t: float) -> None:
        """Show the tour at ``t`` seconds (scrubbing); keeps playing if it was."""
        self._sync()
        tour = self.tour
        if tour is None or not tour.keyframes:
            return
        if self.status == self.STOPPED:
            self._save_view()
            self.status = self.PAUSED
        self._time = min(max(float(t), 0.0), tour.duration)
        self._anchor = time.monotonic() - self._time
        self._show(self._time)
        self._update_controls()

    def _tick(self) -> None:
        tour = self.tour
        if tour is None or self._closed() or self._bound_view is not self.view:
            self.timer.stop()
            return
        t = time.monotonic() - self._anchor
        if t >= tour.duration:
            self.stop()  # the view returns to where it was
            return
        self._time = t
        self._show(t)

    def _show(self, t: float) -> None:
        tour = self.tour
        if tour is None or self._closed():
            return
        if self._caption is None:
            self._caption = self.view.annotations.caption(bottom_px=CAPTION_BOTTOM_PX)
        state = tour.sample(t)
        sim = getattr(self.main_window, "sim", None)
        if state.scene_time is not None and sim is not None:
            sim.clock.set_time(state.scene_time)  # sensors, plans and the timeline follow
        apply_state(self.view, state, self._saved_visibility, self._caption)
        self.view.request_frame()
        self._last = state
        self._set_slider(t)
        self._update_labels()
        self.state_changed.emit(state)

    def _on_slider(self, value: int) -> None:
        tour = self.tour
        if tour is not None and tour.keyframes:
            self.seek(tour.duration * value / SLIDER_STEPS)

    def _set_slider(self, t: float) -> None:
        tour = self.tour
        total = tour.duration if tour is not None and tour.keyframes else 0.0
        self.slider.blockSignals(True)
        self.slider.setValue(round(SLIDER_STEPS * t / total) if total > 0 else 0)
        self.slider.blockSignals(False)

    def _save_view(self) -> None:
        self._active = self.tour  # the tour whose layers stop() puts back
        self._saved_camera = self.view.current_bookmark("before tour")
        self._saved_visibility = layer_visibility(self.scene)

    def _closed(self) -> bool:
        return bool(getattr(self.plotter, "_closed", False))

    # -- recording ------------------------------------------------------------------------
    def new_tour(self) -> Tour:
        """An empty tour to record into, selected."""
        self._sync()
        self.stop()
        self._recorded += 1
        names = {t.name for t in self.tours}
        name = tr("Recorded tour {0}").replace("{0}", str(self._recorded))
        while name in names:
            self._recorded += 1
            name = tr("Recorded tour {0}").replace("{0}", str(self._recorded))
        tour = Tour(name=name)
        self.tours.append(tour)
        self._refresh_box(select=len(self.tours) - 1)
        self._say(
            lambda: tr("{0}: move the view and press 'Add current view'.").replace("{0}", name)
        )
        return tour

    def record(self) -> None:
        """Append the current view as a keyframe (into a new tour if none)."""
        self._sync()
        if self.status == self.PLAYING:
            self.pause()
        tour = self.tour or self.new_tour()
        bookmark = self.view.current_bookmark(f"keyframe {len(tour.keyframes) + 1}")
        caption = self.caption_edit.text().strip() or None
        tour.add_keyframe(recorded_keyframe(bookmark, self.duration_spin.value(), caption))
        self.caption_edit.clear()
        name, count, seconds = tour.name, str(len(tour.keyframes)), f"{tour.duration:.1f}"
        self._say(
            lambda: (
                tr("{0}: {1} keyframes, {2} s. 'Copy as TOML' to keep it in the scene file.")
                .replace("{0}", name)
                .replace("{1}", count)
                .replace("{2}", seconds)
            )
        )
        self._update_controls()

    def copy_toml(self) -> str:
        tour = self.tour
        if tour is None or not tour.keyframes:
            return ""
        text = tour_to_toml(tour)
        QGuiApplication.clipboard().setText(text)
        name = tour.name
        self._say(lambda: tr("Copied {0} as a [[tours]] section.").replace("{0}", name))
        return text
