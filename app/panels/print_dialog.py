"""File → Print map…: title, paper (A4/A3 landscape), view (the current one or
a bookmark) and language, then a PDF or PNG page laid out by
:mod:`app.print_map`, the layout ``citytwin report`` prints too."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QLineEdit,
    QMessageBox,
)

from app import i18n
from app.i18n import tr
from app.print_map import PAPERS_MM, PageSpec, map_pixels, print_map

CURRENT_VIEW = ""


class PrintDialog(QDialog):
    """The page's choices; :meth:`spec` and :meth:`bookmark` read them."""

    def __init__(self, parent, title: str, bookmarks: list[str]) -> None:
        super().__init__(parent)
        self.setWindowTitle(tr("Print map"))
        form = QFormLayout(self)
        self.title = QLineEdit(title)
        form.addRow(tr("Title"), self.title)
        self.paper = QComboBox()
        for name in PAPERS_MM:
            self.paper.addItem(tr("{0} landscape").replace("{0}", name), name)
        form.addRow(tr("Paper"), self.paper)
        self.view = QComboBox()
        self.view.addItem(tr("Current view"), CURRENT_VIEW)
        for name in bookmarks:
            self.view.addItem(name, name)
        form.addRow(tr("View"), self.view)
        self.lang = QComboBox()
        for key, label in i18n.LANGUAGES.items():
            self.lang.addItem(label, key)
        self.lang.setCurrentIndex(max(0, self.lang.findData(i18n.current())))
        form.addRow(tr("Language"), self.lang)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def spec(self) -> PageSpec:
        return PageSpec(title=self.title.text().strip(), paper=self.paper.currentData(),
                        lang=self.lang.currentData())

    def bookmark(self) -> str | None:
        return self.view.currentData() or None


def print_window_map(window, path: Path | str, spec: PageSpec,
                     bookmark: str | None = None) -> Path:
    """Print what ``window`` shows (its view state: layers, labels, overlays,
    measurements, section, time), from its camera or a bookmark."""
    from twin.render.looks import applied_looks

    state = window.view_state()
    if bookmark:
        state = replace(state, camera=window.scene.bookmark(bookmark))
    elif state.camera is not None:
        # the page's map is narrower than the window: widen the view angle so
        # what the window shows stays on the page (VTK's angle is vertical)
        win_w, win_h = window.plotter.window_size
        map_w, map_h = map_pixels(spec)
        ratio = (win_w / max(win_h, 1)) / (map_w / map_h)
        if ratio > 1.0:
            half = math.radians(state.camera.view_angle) / 2
            angle = math.degrees(2 * math.atan(math.tan(half) * ratio))
            state = replace(state, camera=replace(state.camera, view_angle=min(angle, 170.0)))
    try:
        return print_map(window.scene, state, path, spec, simulation=window.sim,
                         looks=applied_looks(window.view),
                         sun=getattr(window, "sun_light", None) is not None)
    finally:
        window.request_render()


def ask_print_map(window) -> Path | None:
    """The dialog, a file name, then the page; errors in a message box."""
    names = [b.name for b in window.scene.bookmarks]
    dialog = PrintDialog(window, window.scene.name, names)
    if dialog.exec() != QDialog.DialogCode.Accepted:
        return None
    spec = dialog.spec()
    if not spec.title:
        spec.title = window.scene.name
    path, _ = QFileDialog.getSaveFileName(
        window, tr("Print map"), "citytwin-map.pdf", "PDF (*.pdf);;PNG (*.png)"
    )
    if not path:
        return None
    if Path(path).suffix.lower() not in (".pdf", ".png"):
        path += ".pdf"
    try:
        out = print_window_map(window, path, spec, dialog.bookmark())
    except (OSError, ValueError, KeyError) as exc:
        QMessageBox.warning(window, tr("Print map"), str(exc))
        return None
    window.statusBar().showMessage(tr("Saved {0}").replace("{0}", str(out)))
    return out
