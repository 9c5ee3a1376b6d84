"""The layers dock follows the scene row by row: adding or removing a layer
leaves the other rows as the user left them (expanded, checked, current)."""

from __future__ import annotations

import numpy as np
import pyvista as pv
from PySide6.QtCore import Qt

from app.panels.layers import LayersPanel
from twin.layer import FeatureTable, Layer, TreeNode
from twin.scene import Scene


def _building(name: str, storeys: int = 3) -> Layer:
    """A stack of boxes, one per storey, with a spatial tree."""
    boxes = [pv.Box((0, 10, 0, 10, 3 * k, 3 * k + 3)).triangulate() for k in range(storeys)]
    mesh = boxes[0].merge(boxes[1:]) if storeys > 1 else boxes[0]
    mesh.cell_data["feature"] = np.repeat(np.arange(storeys, dtype=np.int32),
                                          [b.n_cells for b in boxes])
    table = FeatureTable(
        np.array([f"{name}-{k}" for k in range(storeys)], dtype=object),
        np.array(["IfcSlab"] * storeys, dtype=object),
        np.array([f"Storey {k}" for k in range(storeys)], dtype=object),
        np.array([[0, 10, 0, 10, 3 * k, 3 * k + 3] for k in range(storeys)], float),
    )
    floors = [TreeNode(f"Storey {k}", "IfcBuildingStorey", [k]) for k in range(storeys)]
    tree = TreeNode(name, "IfcBuilding", children=floors)
    return Layer(name, mesh, table, kind="bim", tree=tree)


def _names(panel: LayersPanel) -> list[str]:
    return [panel.tree.topLevelItem(i).text(0) for i in range(panel.tree.topLevelItemCount())]


def test_adding_and_removing_a_layer_leaves_the_other_rows_alone(qtbot):
    scene = Scene(crs="EPSG:3857")
    panel = LayersPanel()
    qtbot.addWidget(panel)
    panel.bind(scene)
    a, b = scene.add_layer(_building("A")), scene.add_layer(_building("B"))
    row_a = panel.layer_item("A")
    row_a.setExpanded(True)
    storey = panel.node_item("A", "Storey 1")
    storey.setCheckState(0, Qt.CheckState.Unchecked)
    assert scene.hidden_features(a).tolist() == [False, True, False]
    panel.select_layer("B")

    c = scene.add_layer(_building("C", storeys=2))
    assert _names(panel) == ["A", "B", "C"]
    assert panel.layer_item("A") is row_a and row_a.isExpanded()
    assert panel.node_item("A", "Storey 1") is storey
    assert panel.current_layer() is b  # the user's choice, not the newcomer
    # the new layer's tree works as if built by a refresh
    panel.node_item("C", "Storey 0").setCheckState(0, Qt.CheckState.Unchecked)
    assert scene.hidden_features(c).tolist() == [True, False]

    scene.remove_layer(b)
    assert _names(panel) == ["A", "C"]
    assert panel.layer_item("A") is row_a and row_a.isExpanded()
    assert all(owner is not b for owner, _ in panel._nodes.values())
    assert panel.current_layer() in (a, c)
    storey.setCheckState(0, Qt.CheckState.Checked)  # still wired to its layer
    assert not scene.hidden_features(a).any()


def test_the_first_layer_becomes_current_and_a_full_refresh_agrees(qtbot):
    scene = Scene(crs="EPSG:3857")
    panel = LayersPanel()
    qtbot.addWidget(panel)
    panel.bind(scene)
    first = scene.add_layer(_building("A"))
    assert panel.current_layer() is first and panel.opacity.isEnabled()
    for name in ("B", "C", "D"):
        scene.add_layer(_building(name))
    scene.remove_layer(scene.layer("C"))
    rows = _names(panel)
    panel.refresh()
    assert _names(panel) == rows == ["A", "B", "D"]
    scene.remove_layer(first)
    scene.remove_layer(scene.layer("B"))
    scene.remove_layer(scene.layer("D"))
    assert _names(panel) == [] and not panel.opacity.isEnabled()
