"""Read-only dialog: the CRS operations that put one layer into the scene.

Shows :attr:`twin.layer.Layer.crs_operations` (see :mod:`twin.crs_record`)
as one table per operation, warnings first in red, so a planner can
see which datum shift, accuracy and unit conversions stand behind a layer's
position. "Copy as JSON" copies what ``citytwin info --json`` prints.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any

from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from app.i18n import tr
from twin.layer import Layer

WARNING_COLOUR = "#be1e1e"


def _yes_no(value: bool | None) -> str:
    return tr("unknown") if value is None else (tr("yes") if value else tr("no"))


def record_rows(rec: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, value) rows of one ``CrsOperation.as_dict`` record, translated."""
    acc = rec["accuracy_m"]
    shift = rec["origin_shift"]
    rows = [(tr("Warning"), w) for w in rec["warnings"]]
    rows += [
        (tr("Step"), rec["step"]),
        (tr("Source CRS"), rec["source"]),
        (tr("Target CRS"), rec["target"]),
        (tr("PROJ operation"), rec["operation"]),
        (tr("Definition"), rec["definition"] or "—"),
        (tr("Stated accuracy"), tr("unknown") if acc is None else f"{acc:g} m"),
        (tr("Ballpark"), _yes_no(rec["ballpark"])),
        (tr("In area of use"), _yes_no(rec["in_area_of_use"])),
    ]
    if rec["extent_lonlat"] is not None:
        w, s, e, n = rec["extent_lonlat"]
        rows.append((tr("Data extent (lon/lat)"), f"{w:.5f}..{e:.5f}, {s:.5f}..{n:.5f}"))
    for area in rec["area_of_use"]:
        b = ", ".join(f"{v:g}" for v in area["bounds"])
        mark = tr("inside") if area["inside"] else tr("OUTSIDE")
        rows.append((tr("Area of use"), f"{area['of']}: {area['name']} [{b}] — {mark}"))
    subtracted = ", ".join(f"{v:.3f}" for v in shift["scene_origin_subtracted"])
    rows.append((tr("Scene origin subtracted"), subtracted))
    if any(shift["recentred_by"]):
        moved = ", ".join(f"{v:.3f}" for v in shift["recentred_by"])
        rows.append((tr("Re-centred by"), moved))
    rows += [(tr("Units and axes"), u) for u in rec["units"]]
    if rec["method"]:
        rows.append((tr("Applied"), rec["method"]))
    return rows


class CrsOperationsDialog(QDialog):
    """The record of one layer, read-only: an HTML table per operation in a
    text browser, which wraps long PROJ pipelines and lets them be selected."""

    def __init__(self, layer: Layer, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("crs_operations_dialog")
        self.records = [op.as_dict(layer) for op in layer.crs_operations]
        #: per record, its (label, value) rows as shown
        self.rows = [record_rows(rec) for rec in self.records]
        self.setWindowTitle(tr("CRS operations") + f" — {layer.name}")
        box = QVBoxLayout(self)
        self.view = QTextBrowser()
        self.view.setOpenLinks(False)
        self.view.setHtml(self._html())
        box.addWidget(self.view, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.copy_button = QPushButton(tr("Copy as JSON"))
        buttons.addButton(self.copy_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.copy_button.clicked.connect(self.copy_json)
        buttons.rejected.connect(self.reject)
        box.addWidget(buttons)
        self.resize(860, 560)

    def _html(self) -> str:
        if not self.records:
            return f"<p>{escape(tr('No CRS operation is recorded for this layer.'))}</p>"
        red = WARNING_COLOUR
        warning = tr("Warning")
        parts = []
        for rec, rows in zip(self.records, self.rows, strict=True):
            title = f"{rec['step']}: {rec['source']} → {rec['target']}"
            parts.append(f"<h3>{escape(title)}</h3><table cellspacing='0' cellpadding='2'>")
            for label, value in rows:
                style = f" style='color:{red}'" if label == warning else ""
                parts.append(
                    f"<tr{style}><td valign='top' style='white-space:nowrap; padding-right:12px'>"
                    f"<b>{escape(label)}</b></td><td>{escape(value)}</td></tr>"
                )
            parts.append("</table>")
        return "".join(parts)

    def copy_json(self) -> None:
        QGuiApplication.clipboard().setText(json.dumps(self.records, ensure_ascii=False, indent=2))


def show_crs_operations(layer: Layer, parent: QWidget | None = None) -> CrsOperationsDialog:
    """Open the dialog (modeless) and return it."""
    dialog = CrsOperationsDialog(layer, parent)
    dialog.show()
    return dialog
