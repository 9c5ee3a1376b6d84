"""Place an IFC model by hand: E, N, H and rotation in the scene CRS.

A model georeferenced elsewhere (or not at all) lands far from a Vietnamese
scene; the engineer types or picks where it belongs. OK re-imports the file
with the same importer options ``citytwin open --at E,N,H,ROT`` gives
(:func:`importers.ifc.placement_math.placement_options`), plus
``override_georef`` when the file's own IfcSite latitude/longitude and map
conversion are to be ignored; the project keeps those options. "Write into a
copy…" stores the placement in a copy of the file as IfcMapConversion +
IfcProjectedCRS, in a child process (:mod:`importers.ifc.writeback`), so the
copy lands in the same place anywhere without options.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.i18n import Translatable, tr
from importers.ifc.placement_math import placement_options
from twin.errors import first_line

#: Largest |coordinate| the fields take (m): beyond any projected CRS.
COORD_LIMIT = 1e8
#: A pick hook: the window calls the callback once with the world point clicked.
PickHook = Callable[[Callable[[np.ndarray | None], None]], None]


def _spin(lo: float, hi: float, decimals: int, suffix: str) -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setRange(lo, hi)
    box.setDecimals(decimals)
    box.setSuffix(suffix)
    box.setMinimumWidth(160)
    return box


class PlacementDialog(Translatable, QDialog):
    """Where one IFC file goes in the scene; :meth:`options` are its import options.

    Not modal, so the 3D view stays clickable for "Pick in view"; the window
    re-imports on ``accepted``.
    """

    #: emitted with the result of a write-back (a dict) or an error message (str)
    written = Signal(object)

    def __init__(
        self,
        path: Path,
        crs: str,
        at: tuple[float, ...] = (0.0, 0.0, 0.0, 0.0),
        override: bool = False,
        pick: PickHook | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("placement_dialog")
        self.path = Path(path)
        self.crs = crs
        self._pick = pick
        self._pool: ThreadPoolExecutor | None = None
        self._future: Future | None = None
        self.file_label = QLabel()
        self.file_label.setWordWrap(True)
        self.e_box = _spin(-COORD_LIMIT, COORD_LIMIT, 3, " m")
        self.n_box = _spin(-COORD_LIMIT, COORD_LIMIT, 3, " m")
        self.h_box = _spin(-1e5, 1e5, 3, " m")
        self.rot_box = _spin(-360.0, 360.0, 4, " °")
        at = [*at, 0.0, 0.0, 0.0, 0.0][:4]
        for box, value in zip((self.e_box, self.n_box, self.h_box, self.rot_box), at, strict=True):
            box.setValue(float(value))
        self.form = QFormLayout()
        self.form.addRow(self.file_label)
        self.e_label, self.n_label = QLabel(), QLabel()
        self.h_label, self.rot_label = QLabel(), QLabel()
        self.form.addRow(self.e_label, self.e_box)
        self.form.addRow(self.n_label, self.n_box)
        self.form.addRow(self.h_label, self.h_box)
        self.form.addRow(self.rot_label, self.rot_box)
        self.override_box = QCheckBox()
        self.override_box.setChecked(override)
        self.pick_button = QPushButton()
        self.pick_button.clicked.connect(self.start_pick)
        self.pick_button.setEnabled(pick is not None)
        self.write_button = QPushButton()
        self.write_button.clicked.connect(self.ask_write_copy)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        row = QHBoxLayout()
        row.addWidget(self.pick_button)
        row.addWidget(self.write_button)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(self.form)
        layout.addWidget(self.override_box)
        layout.addLayout(row)
        layout.addWidget(self.status)
        layout.addWidget(self.buttons)
        self.retranslate()

    def retranslate(self) -> None:
        """Texts in the installed language (the standard buttons translate themselves)."""
        self.setWindowTitle(tr("Place IFC model"))
        self.file_label.setText(
            tr("{0}: coordinates in the scene CRS {1}")
            .replace("{0}", self.path.name)
            .replace("{1}", self.crs)
        )
        self.e_label.setText(tr("Easting (E)"))
        self.n_label.setText(tr("Northing (N)"))
        self.h_label.setText(tr("Height (H)"))
        self.rot_label.setText(tr("Rotation (counter-clockwise from grid east)"))
        self.override_box.setText(tr("Ignore the file's own georeferencing"))
        self.override_box.setToolTip(
            tr(
                "Place by these numbers even where the file has IfcSite latitude/longitude "
                "or an IfcMapConversion"
            )
        )
        self.pick_button.setText(tr("Pick in view"))
        self.write_button.setText(tr("Write placement into a copy of the IFC…"))

    # -- values ------------------------------------------------------------------------
    def at(self) -> tuple[float, float, float, float]:
        """(E, N, H, rotation in degrees) as typed."""
        return (
            self.e_box.value(),
            self.n_box.value(),
            self.h_box.value(),
            self.rot_box.value(),
        )

    def set_point(self, world: np.ndarray | None) -> None:
        """E, N, H from a world point (a pick); None leaves the fields as they are."""
        if world is None:
            self.status.setText(tr("Nothing under the cursor there; try again"))
            return
        self.e_box.setValue(float(world[0]))
        self.n_box.setValue(float(world[1]))
        self.h_box.setValue(float(world[2]))
        self.status.setText(tr("Point picked"))

    def options(self) -> dict[str, Any]:
        """The import options of this placement (the same ``--at`` gives)."""
        return placement_options(self.at(), self.override_box.isChecked())

    # -- pick in view --------------------------------------------------------------------
    def start_pick(self) -> None:
        """Arm the window's one-shot pick: the next click in the 3D view fills E/N/H."""
        if self._pick is None:
            return
        self.status.setText(tr("Click a point in the 3D view"))
        self._pick(self._picked)

    def _picked(self, world: np.ndarray | None) -> None:
        self.set_point(world)
        self.raise_()
        self.activateWindow()

    # -- write back ----------------------------------------------------------------------
    def ask_write_copy(self) -> None:
        """Ask where, then write the copy in a child process (the GUI stays live)."""
        suggested = self.path.with_name(f"{self.path.stem}_placed{self.path.suffix}")
        target, _ = QFileDialog.getSaveFileName(
            self, tr("Write placement into a copy of the IFC…"), str(suggested), "IFC (*.ifc)"
        )
        if target:
            self.write_copy(Path(target))

    def write_copy(self, target: Path) -> Future:
        """Write the placement into ``target`` (a copy of the file) in the background;
        :attr:`written` reports the outcome, also shown in the dialog."""
        from importers.ifc.writeback import write_placement_copy

        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ifc-writeback")
        self.write_button.setEnabled(False)
        self.status.setText(tr("Writing {0}…").replace("{0}", Path(target).name))
        self._future = self._pool.submit(
            write_placement_copy, self.path, target, self.at(), self.crs
        )
        self._poll_write()
        return self._future

    def _poll_write(self) -> None:
        future = self._future
        if future is None:
            return
        if not future.done():
            QTimer.singleShot(50, self._poll_write)
            return
        self._future = None
        self.write_button.setEnabled(True)
        exc = future.exception()
        if exc is not None:
            message = first_line(exc)
            self.status.setText(tr("Not written: {0}").replace("{0}", message))
            QMessageBox.warning(self, tr("Write placement"), message)
            self.written.emit(message)
            return
        result = future.result()
        self.status.setText(
            tr("Wrote {0} with its placement in {1}")
            .replace("{0}", Path(result["written"]).name)
            .replace("{1}", str(result["crs"]))
        )
        self.written.emit(result)

    def done(self, result: int) -> None:
        """Closing lets a running write finish in its child, without waiting."""
        if self._pool is not None:
            self._pool.shutdown(wait=False)
            self._pool = None
        super().done(result)
