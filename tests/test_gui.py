"""The real window under Xvfb: click a building, read its attributes, toggle a layer."""

from __future__ import annotations

import os

import numpy as np
import pytest
from conftest import SCENES
from PySide6.QtCore import QSettings, Qt
from qt_actions import click, grab, show_window

import importers

pytestmark = pytest.mark.gui

if not os.environ.get("DISPLAY"):
    pytest.skip("no X display (install xvfb: pytest-xvfb starts it)", allow_module_level=True)


@pytest.fixture
def main_window(qtbot, tmp_path):
    from app.main_window import MainWindow

    scene = importers.open_scene(SCENES / "hanoi_vnu.toml")
    window = MainWindow(
        scene, settings=QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    )
    show_window(qtbot, window)
    yield window
    window.close()


def test_click_a_building_and_read_its_attributes(qtbot, main_window):
    layer = main_window.scene.layers[0]
    row = int(np.flatnonzero(layer.features.names == "A6")[0])
    b = layer.features.bounds[row]
    roof = main_window.scene.to_world([(b[0] + b[1]) / 2, (b[2] + b[3]) / 2, b[5]])
    click(qtbot, main_window, roof)
    assert main_window.last_pick is not None
    assert main_window.attribute("name") == "A6"
    assert main_window.attribute("height") == "27"
    assert main_window.attribute("layer") == layer.name
    assert "A6" in main_window.statusBar().currentMessage()
    selection = main_window.view.selection
    assert selection is not None and selection[1].tolist() == [row]


def test_toggling_a_layer_changes_the_pixels(qtbot, main_window):
    before = grab(main_window)
    item = main_window.layer_item(main_window.scene.layers[0].name)
    item.setCheckState(0, Qt.CheckState.Unchecked)
    assert main_window.scene.layers[0].visible is False
    hidden = grab(main_window)
    changed = np.any(np.abs(before - hidden) > 30, axis=2).mean()
    assert changed > 0.05
    item.setCheckState(0, Qt.CheckState.Checked)
    shown = grab(main_window)
    assert np.any(np.abs(before - shown) > 30, axis=2).mean() < 0.01


def test_bookmark_box_moves_the_camera(qtbot, main_window):
    start = main_window.plotter.camera.position
    main_window.go_to_bookmark("Tòa A6")
    assert main_window.plotter.camera.position != start
    bm = main_window.view.current_bookmark("now")
    expected = main_window.scene.bookmark("Tòa A6")
    assert np.allclose(bm.position, expected.position, atol=1e-6)
