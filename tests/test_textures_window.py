"""View → Looks → Textures in the real window (Xvfb): the Rotterdam sample's
roof shows its image while the action is checked, and its own colour when not."""

from __future__ import annotations

import os
import shutil

import pytest
from PySide6.QtCore import QSettings

import importers
from twin import textures as tx

pytestmark = pytest.mark.gui

if not os.environ.get("DISPLAY"):
    pytest.skip("no X display (install xvfb: pytest-xvfb starts it)", allow_module_level=True)

from test_textures import IMAGE, SUBSET, needs_sample  # noqa: E402


@needs_sample
def test_textures_action_puts_the_image_on_and_off(qtbot, tmp_path):
    from app import main_window as mw

    folder = tmp_path / "rotterdam"
    (folder / "appearances").mkdir(parents=True)
    shutil.copy(SUBSET, folder / SUBSET.name)
    shutil.copy(IMAGE, folder / "appearances" / IMAGE.name)
    path = folder / SUBSET.name
    scene = importers.scene_for(path)
    [layer] = importers.open(path, scene, {})
    scene.add_layer(layer)
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    window = mw.MainWindow(scene, settings=settings)
    window.resize(640, 480)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    try:
        action = window.look_actions["textures"]
        cells = tx.textured_cells(layer.mesh)
        for on in (True, False, True):
            if action.isChecked() != on:
                action.trigger()
            actor = window.view.actors[layer]
            colors = window.view.cell_colors(layer)
            assert (actor.texture is not None) == on
            assert bool((colors[cells] == 255).all()) == on
    finally:
        window.close()
