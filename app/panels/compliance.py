"""Planning compliance dock: every building's lot, value and limit per rule,
violations first; violating buildings and lots coloured in the view with a
legend; a click flies to the building. It follows the timeline: a planned
building is checked from its phase's start.

Reading the lots' and buildings' polygons goes through the importers' sandboxed
reader (seconds), so it runs once per scene in a worker thread that only reads
the scene; the check itself (tens of milliseconds) runs on the GUI thread
whenever the clock crosses a plan phase.
"""

from __future__ import annotations

import contextlib
import logging
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QCheckBox,
    QDockWidget,
    QFileDialog,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.i18n import Translatable, tr
from twin.compliance import colors
from twin.compliance import report as rp

log = logging.getLogger(__name__)

POLL_MS = 150
#: a table of a whole province would stall the GUI: the rows past this are left out
MAX_ROWS = 5000
BAD = QColor(190, 20, 20)
ROLE = Qt.ItemDataRole.UserRole


class CompliancePanel(Translatable, QDockWidget):
    """The "Planning compliance" dock of a :class:`app.main_window.MainWindow`."""

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.window_ = window
        self.setObjectName("compliance_dock")
        self.sim = None
        self.check = None  # twin.compliance.scene_check.SceneCheck once prepared
        self.result = None
        self._active_key: bytes | None = None
        self._lots_visible: bool | None = None
        self._legend_was: bool | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="compliance")
        self._future: Future | None = None
        self._dirty = False
        self._closed = False
        self._timer = QTimer(self)
        self._timer.setInterval(POLL_MS)
        self._timer.timeout.connect(self._poll)

        body = QWidget(self)
        layout = QVBoxLayout(body)
        self.summary = QLabel(body)
        self.summary.setWordWrap(True)
        self.colour_box = QCheckBox(body)
        self.colour_box.setChecked(True)
        self.colour_box.toggled.connect(self._apply_colours)
        self.export_button = QPushButton(body)
        self.export_button.clicked.connect(self._ask_export)
        self.table = QTableWidget(0, 6, body)
        self.table.setMinimumHeight(60)  # the dock must not set the window's height
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.verticalHeader().setVisible(False)
        self.table.cellClicked.connect(self._clicked)
        layout.addWidget(self.summary)
        layout.addWidget(self.colour_box)
        layout.addWidget(self.table)
        layout.addWidget(self.export_button)
        self.setWidget(body)
        self.visibilityChanged.connect(self._visibility)
        self.retranslate()

    # -- language -------------------------------------------------------------------------
    def retranslate(self) -> None:
        self.setWindowTitle(tr("Planning compliance"))
        self.colour_box.setText(tr("Colour buildings and lots by compliance"))
        self.export_button.setText(tr("Export CSV…"))
        self.table.setHorizontalHeaderLabels(
            [tr("Building"), tr("Lot"), tr("Indicator"), tr("Value"), tr("Limit"), tr("Status")]
        )
        if self.result is not None:
            self._fill()

    @property
    def lang(self) -> str:
        return getattr(self.window_.view.annotations, "language", "en")

    # -- binding --------------------------------------------------------------------------
    def bind(self, sim) -> None:
        """A scene was opened (``sim``: its simulation, or None): forget the old check."""
        if self.sim is not None:
            with contextlib.suppress(TypeError, ValueError):
                self.sim.events.updated.disconnect(self._on_sim_updated)
        self._clear_colours()
        self.sim, self.check, self.result, self._active_key = sim, None, None, None
        self._future = None
        self.table.setRowCount(0)
        specs = self._specs()
        self.setEnabled(bool(specs))
        self.summary.setText("" if specs else tr("This scene declares no planning lots."))
        if sim is not None:
            # after the simulation overlay's own recolouring (connected first)
            sim.events.updated.connect(self._on_sim_updated)
        if specs and self.isVisible():
            self._start()

    def _specs(self) -> list:
        spec = self.window_.scene.spec
        return list(spec.compliance) if spec is not None else []

    def _visibility(self, visible: bool) -> None:
        if visible and self.check is None and self._future is None and self._specs():
            self._start()
        if visible:
            self._timer.start()
            self._dirty = True
        else:
            self._timer.stop()
            self._clear_colours()

    def _start(self) -> None:
        if self._closed:
            return
        from importers.geometry2d import layer_geometries
        from twin.compliance.scene_check import prepare

        scene, spec = self.window_.scene, self._specs()[0]
        self.summary.setText(tr("Reading lots and footprints…"))
        self._future = self._executor.submit(
            prepare, scene, spec, lambda layer: layer_geometries(layer, scene)
        )
        self._timer.start()

    def _poll(self) -> None:
        fut = self._future
        if fut is not None and fut.done():
            self._future = None
            try:
                self.check = fut.result()
            except Exception as exc:  # bad input must not take the window down
                log.exception("compliance check could not start")
                self.summary.setText(tr("Compliance check failed: {0}").replace(
                    "{0}", str(exc).splitlines()[0] if str(exc) else type(exc).__name__))
                return
            self._dirty = True
        if self._dirty and self.check is not None:
            self._dirty = False
            self.refresh()

    def _on_sim_updated(self, *_: object) -> None:
        self._dirty = True
        if self.result is not None and self.colour_box.isChecked() and self.isVisible():
            self._apply_colours()  # the overlay just reset the colours

    # -- checking -------------------------------------------------------------------------
    def when(self):
        if self.sim is not None:
            return self.sim.clock.time
        spec = self.window_.scene.spec
        return spec.time if spec is not None else None

    def refresh(self) -> None:
        """Re-check when the buildings standing at the clock time changed."""
        when = self.when()
        active = self.check.active(when)
        key = active.tobytes()
        if key == self._active_key:
            return
        self._active_key = key
        self.result = self.check.run(when)
        self._fill()
        self._apply_colours()

    def _fill(self) -> None:
        res, lang = self.result, self.lang
        viol = res.violations()
        self.summary.setText(
            tr("{0} buildings checked: {1} violations by {2} buildings, {3} on no lot.")
            .replace("{0}", str(int(res.checked.sum()))).replace("{1}", str(len(viol)))
            .replace("{2}", str(int(res.failing.sum())))
            .replace("{3}", str(int(res.unassigned.sum())))
            + "".join(f"\n⚠ {w}" for w in res.warnings[:3])
            + (f"\n⚠ … (+{len(res.warnings) - 3})" if len(res.warnings) > 3 else "")
        )
        self.summary.setToolTip("\n".join(res.warnings))
        rows = rp.rows(res, lang)
        if len(rows) > MAX_ROWS:  # violations come first: none is cut
            cut = max(MAX_ROWS, len(viol))
            self.summary.setText(self.summary.text() + "\n" + tr(
                "The list shows the first {0} of {1} rows; the CSV export has them all.")
                .replace("{0}", str(cut)).replace("{1}", str(len(rows))))
            rows = rows[:cut]
        table = self.table
        table.setUpdatesEnabled(False)
        table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            rule = row["rule"]
            unit = f" {row['unit']}" if row["unit"] else ""
            ok = row["complies"]
            cells = (
                row["building"],
                row["lot"] or "–",
                rp.word(rule, lang) if rule else "",
                rp.number(row["value"], lang) + unit if row["value"] is not None else "",
                rp.number(row["limit"], lang) + unit if row["limit"] is not None else "",
                tr("Complies") if ok else tr("Breaks the limit") if ok is False
                else tr("On no lot"),
            )
            for c, text in enumerate(cells):
                # a refill rewrites the items it has (replacing one makes Qt delete
                # it under its Python wrapper: a crash seen once in CI on a refill)
                item = table.item(r, c)
                if item is None:
                    item = QTableWidgetItem()
                    table.setItem(r, c, item)
                item.setText(text)
                item.setData(ROLE, (row["layer"], row["row"]))
                item.setToolTip(row["note"] or "")
                item.setForeground(BAD if ok is False else table.palette().text())
        table.setUpdatesEnabled(True)
        table.resizeColumnsToContents()

    # -- view -----------------------------------------------------------------------------
    def _apply_colours(self, *_: object) -> None:
        view, scene = self.window_.view, self.window_.scene
        if self.result is None or not self.colour_box.isChecked():
            self._clear_colours()
            return
        res = self.result
        for name in dict.fromkeys(res.buildings.layer.tolist()):
            with contextlib.suppress(KeyError):
                layer = scene.layer(name)
                view.set_feature_colors(layer, colors.building_colors(res, name,
                                                                      len(layer.features)))
        lots = self.check.lots_layer
        if self._lots_visible is None:
            self._lots_visible = lots.visible
            scene.set_visible(lots, True)
        view.set_feature_colors(lots, colors.lot_colors(res))
        self._set_legend(colors.legend(self.lang))
        action = getattr(self.window_, "legend_action", None)
        if action is not None and self._legend_was is None:
            # the colours need their key: the legend comes on with them
            self._legend_was = action.isChecked()
            action.setChecked(True)
        view.request_frame()

    def _clear_colours(self) -> None:
        view, scene = self.window_.view, self.window_.scene
        if self.result is not None:
            for name in dict.fromkeys(self.result.buildings.layer.tolist()):
                with contextlib.suppress(KeyError):
                    layer = scene.layer(name)
                    thematic = self.sim.thematic_colors(layer) if self.sim is not None else None
                    view.set_feature_colors(layer, thematic)
        if self.check is not None:
            lots = self.check.lots_layer
            if lots in scene.layers:
                view.set_feature_colors(lots, None)
                if self._lots_visible is not None:
                    scene.set_visible(lots, self._lots_visible)
        self._lots_visible = None
        self._set_legend(None)
        action = getattr(self.window_, "legend_action", None)
        if action is not None and self._legend_was is not None:
            action.setChecked(self._legend_was)
        self._legend_was = None
        view.request_frame()

    def _set_legend(self, spec) -> None:
        ann = self.window_.view.annotations
        extra = getattr(ann, "extra_specs", None)
        if extra is None:
            return
        kept = [s for s in extra if getattr(s, "key", None) != colors.LEGEND_KEY]
        ann.extra_specs = kept + ([spec] if spec is not None else [])
        if getattr(ann, "legend_on", False):
            ann.refresh_legend()

    def _clicked(self, row: int, _column: int) -> None:
        """Select the building and fly to it."""
        item = self.table.item(row, 0)
        if item is None:
            return
        name, feature = item.data(ROLE)
        try:
            layer = self.window_.scene.layer(name)
        except KeyError:
            return
        if int(feature) < 0:  # a whole IFC model
            self.window_.zoom_to(layer)
            return
        self.window_.select_feature(layer, int(feature))
        b = layer.features.bounds[int(feature)]
        center = np.array([(b[0] + b[1]) / 2, (b[2] + b[3]) / 2, (b[4] + b[5]) / 2])
        size = max(b[1] - b[0], b[3] - b[2], b[5] - b[4], 30.0)
        self.window_.fly_to(center, distance=float(size) * 4.0)

    def _ask_export(self) -> None:
        if self.result is None:
            return
        path, _ = QFileDialog.getSaveFileName(self, tr("Export CSV…"), "compliance.csv",
                                              "CSV (*.csv)")
        if path:
            self.export_csv(path)

    def export_csv(self, path: str) -> int:
        """Every value against its limit (violations first), as ``citytwin comply --csv``."""
        return rp.write_csv(path, self.result, self.lang)

    def shutdown(self) -> None:
        """The window closes: no more checks start (binding to no scene may follow)."""
        self._closed = True
        self._timer.stop()
        self._executor.shutdown(wait=False, cancel_futures=True)
