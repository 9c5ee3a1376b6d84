"""Sun study dock: animate a day's sun, map sun-hours on the ground, and compare
the plan before and after a phase.

Ray casting takes seconds on a city, so it runs in a worker thread
(:class:`concurrent.futures.ThreadPoolExecutor`) that only reads the scene; a
GUI QTimer polls the future and draws the result, so the window never blocks
and nothing renders off the GUI thread. Results draw as small coloured squares
on the ground (one per grid point) through the view's overlay actors.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
import pyvista as pv
from PySide6.QtCore import QDate, QTimer
from PySide6.QtWidgets import (
    QDateEdit,
    QDockWidget,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QInputDialog,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.i18n import Translatable, tr
from twin.analysis import sunhours as sh
from twin.analysis import sunstudy as ss
from twin.sim.clock import ICT

if TYPE_CHECKING:
    from twin.analysis.sunhours import Grid

log = logging.getLogger(__name__)

OVERLAY = "sunhours"
#: the ramp of sun-hours and the diverging map of a before/after difference
HOURS_CMAP = "inferno"
DIFF_CMAP = "RdBu"
#: an animated day plays in about this many wall seconds
ANIMATE_SECONDS = 10.0
ANIMATE_TICK_MS = 50
POLL_MS = 100
#: squares float this far above the ground so they do not z-fight with it (m)
LIFT_M = 0.6
#: Façade points at most this far apart (the ground grid's spacing is often coarser).
FACADE_MAX_SPACING_M = 3.0


@dataclass
class SunResult:
    """What the last computation produced: the grid, values and how to colour them."""

    grid: Grid | None  # None for façade points (no raster: no PNG)
    values: np.ndarray
    kind: str  # "hours" or "difference"
    clim: tuple[float, float]
    label: str
    facade: tuple[np.ndarray, np.ndarray] | None = None  # (points, outward normals)

    @property
    def points(self) -> np.ndarray:
        return self.facade[0] if self.grid is None else self.grid.points


def squares_mesh(points: np.ndarray, size: float, rgb: np.ndarray) -> pv.PolyData:
    """One flat square of side ``size`` centred on each point, coloured per point;
    squares (not GL points) keep their ground size when zooming."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 3)
    h = size / 2.0
    corners = np.array([[-h, -h, 0.0], [h, -h, 0.0], [h, h, 0.0], [-h, h, 0.0]])
    verts = (pts[:, None, :] + corners[None, :, :] + [0.0, 0.0, LIFT_M]).reshape(-1, 3)
    n = len(pts)
    ids = np.arange(4 * n).reshape(n, 4)
    faces = np.column_stack([np.full(n, 4), ids]).ravel()
    mesh = pv.PolyData(verts, faces)
    mesh.cell_data["rgb"] = np.asarray(rgb, dtype=np.uint8).reshape(-1, 3)
    return mesh


def facade_squares_mesh(
    points: np.ndarray, normals: np.ndarray, size: float, rgb: np.ndarray
) -> pv.PolyData:
    """One square of side ``size`` per façade point, in its wall's plane and lifted
    off it along the outward normal so it is not lost in the wall's own depth."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 3)
    n = np.asarray(normals, dtype=np.float64).reshape(-1, 3)
    up = np.array([0.0, 0.0, 1.0])
    side = np.cross(up, n)
    side /= np.maximum(np.linalg.norm(side, axis=1, keepdims=True), 1e-12)
    h = size / 2.0
    signs = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], dtype=np.float64)
    base = pts + n * LIFT_M
    verts = (base[:, None, :] + h * (signs[None, :, 0:1] * side[:, None, :]
                                     + signs[None, :, 1:2] * up)).reshape(-1, 3)
    k = len(pts)
    faces = np.column_stack([np.full(k, 4), np.arange(4 * k).reshape(k, 4)]).ravel()
    mesh = pv.PolyData(verts, faces)
    mesh.cell_data["rgb"] = np.asarray(rgb, dtype=np.uint8).reshape(-1, 3)
    return mesh


def value_colors(values: np.ndarray, cmap: str, clim: tuple[float, float]) -> np.ndarray:
    """(n, 3) uint8 colours of ``values`` over ``clim`` through a named colormap."""
    from twin.style import colormap_lut

    lut = colormap_lut(cmap)
    lo, hi = clim
    span = hi - lo if hi > lo else 1.0
    k = np.clip(np.round((np.asarray(values, float) - lo) / span * (len(lut) - 1)), 0, len(lut) - 1)
    return lut[k.astype(np.intp)]


class SunStudyPanel(Translatable, QDockWidget):
    """The "Sun study" dock of a :class:`app.main_window.MainWindow`."""

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.window_ = window
        self.setObjectName("sunstudy_dock")
        self.result: SunResult | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sunhours")
        self._future: Future | None = None
        self._on_done: Callable[[Any], None] | None = None
        self._poll = QTimer(self)
        self._poll.setInterval(POLL_MS)
        self._poll.timeout.connect(self._check_future)
        self._anim = QTimer(self)
        self._anim.setInterval(ANIMATE_TICK_MS)
        self._anim.timeout.connect(self._animate_step)
        self._anim_span: tuple[datetime, datetime] | None = None
        self._anim_started = 0.0

        body = QWidget(self)
        form = QFormLayout()
        self.date_edit = QDateEdit(body)
        self.date_edit.setCalendarPopup(True)
        self.date_edit.setDisplayFormat("yyyy-MM-dd")
        d = self._clock_date()
        self.date_edit.setDate(QDate(d.year, d.month, d.day))
        self.step_spin = QSpinBox(body)
        self.step_spin.setRange(1, 180)
        self.step_spin.setValue(15)
        self.spacing_spin = QDoubleSpinBox(body)
        self.spacing_spin.setRange(0.5, 1000.0)
        self.spacing_spin.setDecimals(1)
        self.spacing_spin.setValue(10.0)
        self.date_label, self.step_label, self.spacing_label = QLabel(), QLabel(), QLabel()
        form.addRow(self.date_label, self.date_edit)
        form.addRow(self.step_label, self.step_spin)
        form.addRow(self.spacing_label, self.spacing_spin)
        self.animate_button = QPushButton(body)
        self.animate_button.clicked.connect(self.animate_day)
        self.compute_button = QPushButton(body)
        self.compute_button.clicked.connect(self.compute)
        self.facade_button = QPushButton(body)
        self.facade_button.clicked.connect(self.compute_facades)
        self.phase_button = QPushButton(body)
        self.phase_button.clicked.connect(self.ask_phase)
        self.clear_button = QPushButton(body)
        self.clear_button.clicked.connect(self.clear)
        self.csv_button = QPushButton(body)
        self.csv_button.clicked.connect(self.ask_export_csv)
        self.png_button = QPushButton(body)
        self.png_button.clicked.connect(self.ask_export_png)
        self.progress = QProgressBar(body)
        self.progress.setRange(0, 0)  # busy indicator
        self.progress.hide()
        self.status_label = QLabel(body)
        self.status_label.setWordWrap(True)
        layout = QVBoxLayout(body)
        layout.addLayout(form)
        for w in (
            self.animate_button,
            self.compute_button,
            self.facade_button,
            self.phase_button,
            self.clear_button,
            self.csv_button,
            self.png_button,
            self.progress,
            self.status_label,
        ):
            layout.addWidget(w)
        layout.addStretch(1)
        self.setWidget(body)
        self._update_buttons()
        self.retranslate()

    def retranslate(self) -> None:
        self.setWindowTitle(tr("Sun study"))
        self.date_label.setText(tr("Date"))
        self.step_label.setText(tr("Step (min)"))
        self.spacing_label.setText(tr("Grid spacing (m)"))
        self.animate_button.setText(tr("Animate day"))
        self.compute_button.setText(tr("Compute sun-hours"))
        self.facade_button.setText(tr("Sun-hours on the selected façades"))
        self.facade_button.setToolTip(
            tr("Select buildings in the view (or in the attribute table) first")
        )
        self.phase_button.setText(tr("Before/after phase…"))
        self.clear_button.setText(tr("Clear"))
        self.csv_button.setText(tr("Export CSV…"))
        self.png_button.setText(tr("Export PNG…"))
        if self.result is not None:
            self._show_result_text(self.result)

    # -- inputs --------------------------------------------------------------------
    @property
    def sim(self) -> Any:
        return getattr(self.window_, "sim", None)

    def _clock_date(self) -> date:
        sim = self.sim
        if sim is not None:
            return sim.clock.time.astimezone(ICT).date()
        return datetime.now(ICT).date()

    def follow_clock(self) -> None:
        """A new scene's clock sets the study's date (its sensor day, not today)."""
        d = self._clock_date()
        self.date_edit.setDate(QDate(d.year, d.month, d.day))

    def day(self) -> date:
        q = self.date_edit.date()
        return date(q.year(), q.month(), q.day())

    def busy(self) -> bool:
        return self._future is not None

    def _update_buttons(self) -> None:
        busy = self.busy()
        sim = self.sim
        self.compute_button.setEnabled(not busy)
        self.facade_button.setEnabled(not busy)
        self.phase_button.setEnabled(not busy and sim is not None and bool(sim.plans))
        self.animate_button.setEnabled(sim is not None)
        has = self.result is not None
        self.csv_button.setEnabled(has)
        self.png_button.setEnabled(has and self.result.grid is not None)
        self.clear_button.setEnabled(has and not busy)

    # -- animate the day ------------------------------------------------------------
    def daylight(self) -> tuple[datetime, datetime]:
        """Sunrise and sunset (5-minute resolution) of the chosen date at the scene."""
        sun = sh.sun_samples(self.window_.scene, self.day(), 5, ICT)
        up = np.flatnonzero(sun.up)
        if not len(up):  # polar night: the whole day
            start = datetime.combine(self.day(), time(0), tzinfo=ICT)
            return start, start + timedelta(days=1)
        times = sun.times
        return times[int(up[0])].to_pydatetime(), times[int(up[-1])].to_pydatetime()

    def animate_day(self) -> None:
        """Move the clock from sunrise to sunset in about :data:`ANIMATE_SECONDS`;
        the window's sun light (when on) follows the clock. Again: stop."""
        sim = self.sim
        if sim is None:
            return
        if self._anim.isActive():
            self._anim.stop()
            self.animate_button.setText(tr("Animate day"))
            return
        rise, sset = self.daylight()
        clock = sim.clock
        # the clock clamps to its timeline: widen it to hold the chosen day
        if rise < clock.start:
            clock.start = rise
        if sset > clock.end:
            clock.end = sset
        sun_action = getattr(self.window_, "sun_action", None)
        if sun_action is not None and not sun_action.isChecked():
            sun_action.setChecked(True)  # the animation is about the light
        self._anim_span = (rise, sset)
        import time as _time

        self._anim_started = _time.monotonic()
        clock.set_time(rise)
        self.animate_button.setText(tr("Stop"))
        self._anim.start()

    def _animate_step(self) -> None:
        import time as _time

        sim = self.sim
        if sim is None or self._anim_span is None:
            self._anim.stop()
            return
        rise, sset = self._anim_span
        f = min(1.0, (_time.monotonic() - self._anim_started) / ANIMATE_SECONDS)
        sim.clock.set_time(rise + (sset - rise) * f)
        if f >= 1.0:
            self._anim.stop()
            self.animate_button.setText(tr("Animate day"))

    # -- computing ------------------------------------------------------------------
    def _grid(self) -> Grid:
        return sh.ground_grid_detail(self.window_.scene, float(self.spacing_spin.value()))

    def _hidden_now(self) -> dict[str, np.ndarray] | None:
        sim = self.sim
        return None if sim is None or not sim.plans else ss.hidden_masks(sim, sim.clock.ms)

    def _occluding_layers(self) -> list[str] | None:
        """With a plan, the layers that cast shadows now (planned ones included)."""
        scene, sim = self.window_.scene, self.sim
        if sim is None or not sim.plans:
            return None
        return [
            la.name
            for la in scene.layers
            if (la.visible or la.name in sim.plans) and la.kind not in sh.NON_OCCLUDING_KINDS
        ]

    def compute_facades(self) -> None:
        """Sun-hours on the walls of the buildings selected in the view, about one
        point per ``spacing²`` of wall (the CLI's ``sunhours --features``)."""
        if self.busy():
            return
        chosen = self.window_.view.selection
        if chosen is None or not len(chosen[1]):
            self.status_label.setText(
                tr("Select buildings in the view (or in the attribute table) first")
            )
            return
        layer, rows = chosen
        scene, day, step = self.window_.scene, self.day(), float(self.step_spin.value())
        spacing = min(float(self.spacing_spin.value()), FACADE_MAX_SPACING_M)
        hidden, layers = self._hidden_now(), self._occluding_layers()

        def work() -> SunResult:
            points, normals = sh.facade_points(layer, rows, spacing_m=spacing)
            hours = sh.sun_hours(scene, points, normals, day, step, layers, hidden=hidden)
            top = max(float(hours.max(initial=0.0)), 1e-6)
            label = f"{day.isoformat()} · {len(rows)}"
            return SunResult(None, hours, "hours", (0.0, top), label, (points, normals))

        self._start(work, self._show)

    def compute(self) -> None:
        """Sun-hours on a ground grid over the scene's content, with the plan as it
        stands at the clock time, in the worker thread."""
        if self.busy():
            return
        scene, day, step = self.window_.scene, self.day(), float(self.step_spin.value())
        hidden, layers = self._hidden_now(), self._occluding_layers()

        def work() -> SunResult:
            grid = self._grid()
            hours = sh.sun_hours(scene, grid.points, grid.normals, day, step, layers, hidden=hidden)
            top = max(float(hours.max(initial=0.0)), 1e-6)
            return SunResult(grid, hours, "hours", (0.0, top), day.isoformat())

        self._start(work, self._show)

    def phases(self) -> list[ss.Phase]:
        sim = self.sim
        return [] if sim is None else ss.plan_phases(sim)

    def ask_phase(self) -> None:
        phases = self.phases()
        if not phases:
            return
        labels = [f"{p.label} ({p.start:%Y-%m-%d} – {p.end:%Y-%m-%d})" for p in phases]
        choice, ok = QInputDialog.getItem(
            self, tr("Before/after phase"), tr("Plan phase:"), labels, 0, False
        )
        if ok and choice in labels:
            self.compute_phase(phases[labels.index(choice)])

    def compute_phase(self, phase: ss.Phase) -> None:
        """The sun-hours a phase takes (blue: gained, red: lost) over the ground grid:
        the plan just before the phase starts against the plan once it ends."""
        if self.busy():
            return
        scene, sim, day = self.window_.scene, self.sim, self.day()
        step = float(self.step_spin.value())

        def work() -> SunResult:
            grid = self._grid()
            _b, _a, diff = ss.before_after_phase(
                scene,
                sim,
                grid.points,
                grid.normals,
                day,
                phase.end_ms,
                step,
                before_time=phase.start_ms,
            )
            top = max(float(np.abs(diff).max(initial=0.0)), 0.25)
            return SunResult(grid, diff, "difference", (-top, top), phase.label)

        self._start(work, self._show)

    def _start(self, work: Callable[[], Any], done: Callable[[Any], None]) -> None:
        self._future = self._executor.submit(work)
        self._on_done = done
        self.progress.show()
        self.status_label.setText(tr("Computing sun-hours…"))
        self._update_buttons()
        self._poll.start()

    def _check_future(self) -> None:
        fut = self._future
        if fut is None or not fut.done():
            return
        self._poll.stop()
        self._future = None
        self.progress.hide()
        done, self._on_done = self._on_done, None
        try:
            value = fut.result()
        except Exception as exc:  # shown to the user; the window stays usable
            log.exception("sun-hours failed")
            self.status_label.setText("")
            self._update_buttons()
            QMessageBox.warning(
                self, tr("Sun study"), tr("Sun-hours failed: {0}").replace("{0}", str(exc))
            )
            return
        if done is not None:
            done(value)
        self._update_buttons()

    def wait(self, timeout_s: float = 60.0) -> bool:
        """Block until the running computation is drawn (for tests and scripts)."""
        fut = self._future
        if fut is not None:
            fut.result(timeout=timeout_s)
            self._check_future()
        return self._future is None

    # -- drawing --------------------------------------------------------------------
    def _show(self, result: SunResult) -> None:
        self.result = result
        cmap = HOURS_CMAP if result.kind == "hours" else DIFF_CMAP
        rgb = value_colors(result.values, cmap, result.clim)
        view = self.window_.view
        if len(result.values):
            if result.grid is None:
                spacing = min(float(self.spacing_spin.value()), FACADE_MAX_SPACING_M)
                mesh = facade_squares_mesh(*result.facade, spacing * 0.9, rgb)
            else:
                mesh = squares_mesh(result.grid.points, result.grid.spacing * 0.9, rgb)
            view.add_overlay_actor(
                OVERLAY,
                mesh,
                scalars="rgb",
                rgb=True,
                opacity=0.85,
                lighting=False,
                show_scalar_bar=False,
            )
        else:
            view.remove_overlay_actor(OVERLAY)
        self._set_legend(result)
        self._show_result_text(result)
        view.request_frame()

    def _show_result_text(self, r: SunResult) -> None:
        v = r.values
        if r.kind == "hours":
            text = tr("{0} points, sun-hours {1}–{2} h (mean {3} h)")
            args = (
                len(v),
                f"{v.min(initial=0):.1f}",
                f"{v.max(initial=0):.1f}",
                f"{v.mean() if len(v) else 0:.1f}",
            )
        else:
            text = tr("Phase {0}: {1} points lose sun, {2} gain; at most {3} h lost")
            args = (
                r.label,
                int((v < 0).sum()),
                int((v > 0).sum()),
                f"{-min(0.0, float(v.min(initial=0))):.1f}",
            )
        for i, a in enumerate(args):
            text = text.replace(f"{{{i}}}", str(a))
        self.status_label.setText(text)

    def legend_spec(self, result: SunResult | None = None) -> Any:
        """The ramp legend of what is drawn (None: nothing)."""
        from twin.render.legend_model import LegendSpec

        r = result or self.result
        if r is None:
            return None
        ann = self.window_.view.annotations
        title = tr("Sun-hours") if r.kind == "hours" else tr("Sun-hours change")
        cmap = HOURS_CMAP if r.kind == "hours" else DIFF_CMAP
        return LegendSpec(
            key=OVERLAY,
            title=title,
            cmap=cmap,
            clim=r.clim,
            unit="h",
            lang=getattr(ann, "language", "en"),
        )

    def _set_legend(self, result: SunResult | None) -> None:
        """Hand the legend to the annotations' ``extra_specs`` hook when it has one."""
        ann = self.window_.view.annotations
        extra = getattr(ann, "extra_specs", None)
        if extra is None:
            return
        kept = [s for s in extra if getattr(s, "key", None) != OVERLAY]
        spec = self.legend_spec(result) if result is not None else None
        ann.extra_specs = kept + ([spec] if spec is not None else [])
        if getattr(ann, "legend_on", False):
            ann.refresh_legend()

    def clear(self) -> None:
        self.result = None
        self.window_.view.remove_overlay_actor(OVERLAY)
        self._set_legend(None)
        self.status_label.setText("")
        self._update_buttons()
        self.window_.view.request_frame()

    # -- export ---------------------------------------------------------------------
    def export_csv(self, path: str) -> None:
        r = self.result
        if r is None:
            return
        column = {} if r.kind == "hours" else {"phase": np.full(len(r.values), r.label)}
        sh.write_csv(path, r.points, r.values, self.window_.scene, column)

    def export_png(self, path: str) -> None:
        r = self.result
        if r is None or r.grid is None:
            return  # façade points have no raster
        if r.kind == "hours":
            sh.write_png(path, r.grid, r.values, r.clim[1])
        else:  # shift the difference onto 0..2·top so the heat image's ramp fits it
            from PIL import Image

            top = r.clim[1]
            img = sh.heat_image(
                r.grid,
                r.values + top,
                2 * top,
                cmap=DIFF_CMAP,
                scale=max(1, min(8, 800 // max(r.grid.shape))),
            )
            Image.fromarray(img).save(path)

    def ask_export_csv(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, tr("Export CSV…"), "sunhours.csv", "CSV (*.csv)"
        )
        if path:
            self._export(self.export_csv, path)

    def ask_export_png(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, tr("Export PNG…"), "sunhours.png", "PNG (*.png)"
        )
        if path:
            self._export(self.export_png, path)

    def _export(self, fn: Callable[[str], None], path: str) -> None:
        try:
            fn(path)
        except Exception as exc:
            QMessageBox.warning(self, tr("Sun study"), str(exc))
            return
        self.window_.statusBar().showMessage(tr("Saved {0}").replace("{0}", path), 5000)

    def shutdown(self) -> None:
        """Stop timers and let a running computation finish in the background."""
        self._anim.stop()
        self._poll.stop()
        self._executor.shutdown(wait=False, cancel_futures=True)
