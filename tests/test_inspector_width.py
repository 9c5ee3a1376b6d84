"""The inspector keeps property values readable beside long property-set names."""

from __future__ import annotations

import os

import numpy as np
import pytest
import pyvista as pv

from twin.features import FeatureTable
from twin.layer import Layer

pytestmark = pytest.mark.gui

if not os.environ.get("DISPLAY"):
    pytest.skip("no X display (install xvfb: pytest-xvfb starts it)", allow_module_level=True)

LONG_SET = "Pset_WallCommon_ExtendedManufacturerInformationForTheVietTriPilotDistrict"
LONG_KEY = "ThermalTransmittanceOfTheWholeAssemblyIncludingFinishes"


def _layer() -> Layer:
    mesh = pv.Box().triangulate()
    mesh.cell_data["feature"] = np.zeros(mesh.n_cells, np.int32)
    table = FeatureTable(
        np.array(["2O2Fr$t4X7Zf8NOew3FLOH"], dtype=object),
        np.array(["IfcWallStandardCase"], dtype=object),
        np.array(["Tường ngoài"], dtype=object),
        np.array([[-1, 1, -1, 1, -1, 1]], float),
    )
    layer = Layer("BIM", mesh, table, kind="bim")
    layer.details = lambda _row: {
        LONG_SET: {"IsExternal": True, LONG_KEY: 0.35, "FireRating": "REI 120"},
        "Qto_WallBaseQuantities": {"Length": 12.5},
    }
    return layer


def test_value_column_keeps_40_percent_of_a_250_px_dock(qtbot, tmp_path):
    from PySide6.QtWidgets import QMainWindow

    from app.panels.inspector import InspectorPanel

    window = QMainWindow()
    qtbot.addWidget(window)
    panel = InspectorPanel(window)
    window.setCentralWidget(panel)
    window.resize(250, 400)
    window.show()
    qtbot.waitExposed(window)
    panel.show_feature(_layer(), 0)
    qtbot.wait(50)
    tree = panel.tree
    width = tree.viewport().width()
    assert width <= 250
    value_width = tree.columnWidth(1) if tree.columnWidth(1) else width - tree.columnWidth(0)
    visible_value = min(value_width, width - tree.columnWidth(0))
    assert visible_value >= 0.4 * width, (tree.columnWidth(0), tree.columnWidth(1), width)
    assert panel.value(LONG_KEY, LONG_SET) == "0.35"
    # the full texts are in the tooltips
    group = next(
        tree.topLevelItem(i)
        for i in range(tree.topLevelItemCount())
        if tree.topLevelItem(i).text(0) == LONG_SET
    )
    assert group.toolTip(0) == LONG_SET
    assert group.isFirstColumnSpanned()
    children = [group.child(j) for j in range(group.childCount())]
    child = next(c for c in children if c.text(0) == LONG_KEY)
    assert child.toolTip(0) == LONG_KEY and child.toolTip(1) == "0.35"
    # narrower or wider, the split follows the width
    window.resize(600, 400)
    qtbot.wait(50)
    assert tree.columnWidth(0) <= 0.5 * tree.viewport().width() + 1
    window.resize(250, 400)
    qtbot.wait(50)
    panel.grab().save(str(tmp_path / "inspector_250.png"))
    if os.environ.get("CITYTWIN_SHOTS"):
        panel.grab().save(os.path.join(os.environ["CITYTWIN_SHOTS"], "inspector_250.png"))
