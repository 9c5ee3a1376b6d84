"""One view: the window, the screenshot export and headless renders draw the same twin.

Each test here fails if a path loses part of the twin: the simulation in a
headless image, an annotation in the export, the user's "Colour by" under a
plan's colours, or the window and the offscreen renderer drawing different
pictures of one state.
"""

from __future__ import annotations

import os
from datetime import datetime

import numpy as np
import pytest
from conftest import SCENES

import importers
from twin.render import OffscreenRenderer, render_image, save_png, use_offscreen_gl
from twin.sim.clock import ICT
from twin.viewstate import ViewState, parse_time

PILOT = SCENES / "viet_tri.toml"
FLOOD_AFTERNOON = datetime(2025, 6, 2, 14, 0, tzinfo=ICT)
BUILDINGS = "Công trình (buildings)"


@pytest.fixture(scope="module")
def pilot():
    use_offscreen_gl()
    return importers.open_scene(PILOT)


def _diff(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference as a fraction of full scale."""
    return float(np.abs(a.astype(int) - b.astype(int)).mean() / 255.0)


def test_time_arguments():
    assert parse_time("2025-06-02T13:00+07:00") == datetime(2025, 6, 2, 13, 0, tzinfo=ICT)
    assert parse_time("2025-06-02T13:00").utcoffset() == ICT.utcoffset(None)  # Vietnam time
    now = datetime(2030, 1, 1, tzinfo=ICT)
    assert parse_time("now", now=now) is now
    with pytest.raises(ValueError, match="ISO 8601"):
        parse_time("tomorrow at noon")


@pytest.mark.render
def test_headless_render_shows_the_simulation_at_the_scene_time(pilot, output_dir):
    """Without --time the pilot renders at its [scene] time with glyphs, heat map and
    plan outlines; the bare scene (no simulation) is a different picture, and so is
    another time: a headless image that lost the simulation fails here."""
    bm = pilot.bookmark("overview")
    with OffscreenRenderer(pilot, (400, 225)) as renderer:
        assert renderer.sim is not None
        assert renderer.sim.clock.time == pilot.spec.time  # declared, not the wall clock
        assert renderer.view.overlay_actors.keys() >= {"heatmap", "glyphs:air_quality"}
        default = renderer.draw(ViewState(camera=bm))
        flood = renderer.draw(ViewState(camera=bm, time=FLOOD_AFTERNOON))
    bare = render_image(pilot, (400, 225), bm, simulation=None)
    save_png(default, output_dir / "one_view_default_time.png")
    assert _diff(default, bare) > 0.02
    assert _diff(flood, default) > 0.01
    # the flood sheet at the crest: strongly blue pixels
    blue = (flood[:, :, 2] > flood[:, :, 0] + 60) & (flood[:, :, 2] > 150)
    assert blue.mean() > 0.01
    # the render left the scene as it found it
    assert all(not pilot.hidden_features(la).any() for la in pilot.layers)


@pytest.mark.render
def test_colour_by_takes_effect_over_plan_states_and_back(pilot, output_dir):
    """The user's Colour by is drawn although plans and alerts colour the same
    buildings (they keep an outline); going back to Class is drawn too."""
    layer = pilot.layer(BUILDINGS)
    bm = pilot.bookmark("Ga Việt Trì (TOD)")
    during_demolition = datetime(2026, 3, 1, 9, 0, tzinfo=ICT)
    state = ViewState(camera=bm, time=during_demolition)
    with OffscreenRenderer(pilot, (400, 225)) as renderer:
        by_class = renderer.draw(state)
        assert f"status:{id(layer)}" in renderer.view.overlay_actors  # demolition outlined
        pilot.restyle(layer, mode="attribute", attribute="height", cmap="viridis")
        try:
            by_height = renderer.draw(state)
            colours = renderer.view.cell_colors(layer)
            assert len(np.unique(colours[:, :3], axis=0)) > 20  # a colour ramp, not a plan
        finally:
            pilot.restyle(layer, mode="class")
        back = renderer.draw(state)
    save_png(by_height, output_dir / "one_view_colour_by_height.png")
    changed = np.abs(by_height.astype(int) - by_class.astype(int)).sum(axis=-1) > 30
    assert changed.mean() > 0.03
    assert _diff(back, by_class) < 0.002


@pytest.mark.render
def test_legends_in_a_render_explain_every_mapping(pilot):
    with OffscreenRenderer(pilot, (640, 360)) as renderer:
        renderer.draw(ViewState(camera="overview", time=FLOOD_AFTERNOON, legend=True))
        specs = renderer.view.annotations.legend_specs()
        keys = {spec.key for spec in specs}
        legend = renderer.view.annotations.legend
        assert legend is not None and legend.region() is not None
    assert {"sensors", "heatmap", "plan", "alerts", "flood"} <= keys
    assert any(spec.swatches and spec.title == BUILDINGS for spec in specs)


# -- the window --------------------------------------------------------------------------
gui = pytest.mark.skipif(not os.environ.get("DISPLAY"), reason="no X display (pytest-xvfb)")


@pytest.fixture
def window(qtbot, tmp_path):
    from PySide6.QtCore import QSettings
    from qt_actions import show_window

    from app.main_window import MainWindow

    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    win = MainWindow(importers.open_scene(PILOT), scene_path=PILOT, settings=settings)
    show_window(qtbot, win, (1200, 760))
    yield win
    win.close()


def _window_in_full_state(window):
    """Glyphs, heat map, flood, plan outlines, a legend and a selection, all on."""
    window.sim.clock.set_time(FLOOD_AFTERNOON)
    layer = window.scene.layer(BUILDINGS)
    row = int(np.nanargmax(layer.features.attributes["height"]))
    window.select_feature(layer, row)
    window.legend_action.setChecked(True)
    return layer, row


@gui
@pytest.mark.gui
def test_window_and_offscreen_renderer_draw_the_same_state(qtbot, window, output_dir):
    from qt_actions import grab

    _window_in_full_state(window)
    qtbot.wait(50)
    shown = grab(window)
    h, w = shown.shape[:2]
    # the same anti-aliasing as the window (none on software GL, 4x on a GPU)
    exported = window.render_view((w, h), window.plotter.ren_win.GetMultiSamples())
    save_png(shown.astype(np.uint8), output_dir / "one_view_window.png")
    save_png(exported, output_dir / "one_view_export.png")
    assert window.view.annotations.legend.region() is not None
    assert "heatmap" in window.view.overlay_actors and window.view.selection is not None
    assert _diff(shown, exported) <= 0.02


@gui
@pytest.mark.gui
def test_export_keeps_every_annotation(qtbot, window, tmp_path):
    """Turn each annotation off in turn: the export changes each time, so none is lost."""
    from twin.imagecompare import read_png

    layer, row = _window_in_full_state(window)
    b = layer.features.bounds[row]
    a = window.scene.to_world(np.array([b[0], b[2], b[5]]))
    window.show_measurement(a, a + np.array([120.0, 40.0, 0.0]))
    size = (640, 400)
    full = read_png(window.export_screenshot(tmp_path / "full.png", size))
    assert full.shape[:2] == (400, 640)
    window.set_measuring(False)  # clears the measurement
    no_measure = window.render_view(size)
    window.legend_action.setChecked(False)
    no_legend = window.render_view(size)
    window.north_action.setChecked(False)
    no_north = window.render_view(size)
    window.select_feature(None, -1)
    no_selection = window.render_view(size)
    for before, after in ((full, no_measure), (no_measure, no_legend), (no_legend, no_north),
                          (no_north, no_selection)):
        changed = np.abs(before[:, :, :3].astype(int) - after.astype(int)).sum(axis=-1) > 40
        assert changed.sum() > 50


@gui
@pytest.mark.gui
def test_a_4k_export_is_rendered_at_that_size_with_the_windows_camera(qtbot, window):
    cam = window.view.current_bookmark("before")
    image = window.render_view((1920, 1080))  # (4K takes long on software GL: same path)
    assert image.shape == (1080, 1920, 3)
    after = window.view.current_bookmark("after")
    assert np.allclose(cam.position, after.position) and np.allclose(cam.focal_point,
                                                                     after.focal_point)
