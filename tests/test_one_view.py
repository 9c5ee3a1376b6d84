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
def window(qtbot, tmp_path, monkeypatch):
    """The window on the pilot scene; message boxes are recorded, not shown."""
    from PySide6.QtCore import QSettings
    from qt_actions import show_window

    from app import main_window as mw

    messages: list[tuple[str, str]] = []

    def record(kind, answer):
        def show(_parent, _title, text, *_a, **_k):
            messages.append((kind, text))
            return answer

        return show

    buttons = mw.QMessageBox.StandardButton
    monkeypatch.setattr(mw.QMessageBox, "warning", record("warning", buttons.Ok))
    monkeypatch.setattr(mw.QMessageBox, "question", record("question", buttons.No))
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    win = mw.MainWindow(importers.open_scene(PILOT), scene_path=PILOT, settings=settings)
    win.messages = messages
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
    # the export's own anti-aliasing keeps every status outline (wide GL lines drew
    # 1 px wide in offscreen renders beside the window's GL context)
    outlined = window.render_view((w, h))
    assert _cyan(outlined) > 0.6 * _cyan(shown) > 0


def _cyan(image: np.ndarray) -> int:
    """Pixels of the flooded-feature outline colour."""
    img = image.astype(int)
    return int(((img[..., 0] < 80) & (img[..., 1] > 170) & (img[..., 2] > 190)).sum())


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


def drag(qtbot, widget, steps: int, dx: int = 6) -> None:
    """A left-button drag across the 3D view, one mouse step at a time, letting
    the event loop paint after each step as it would for a person."""
    from PySide6.QtCore import QEvent, QPointF, Qt
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtWidgets import QApplication

    left, none = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
    x0, y = widget.width() // 3, widget.height() // 2

    def send(kind, x, button, buttons):
        pos = QPointF(x, y)
        event = QMouseEvent(kind, pos, widget.mapToGlobal(pos), button, buttons,
                            Qt.KeyboardModifier.NoModifier)
        QApplication.sendEvent(widget, event)
        QApplication.processEvents()

    send(QEvent.Type.MouseButtonPress, x0, left, left)
    for k in range(1, steps + 1):
        send(QEvent.Type.MouseMove, x0 + k * dx, none, left)
    send(QEvent.Type.MouseButtonRelease, x0 + steps * dx, left, none)
    qtbot.wait(30)


def _renders_during_drag(qtbot, window, steps: int) -> tuple[int, bool]:
    renders = []
    renderer = window.plotter.renderer
    tag = renderer.AddObserver("EndEvent", lambda *_: renders.append(1))
    before = window.view.current_bookmark("before").position
    try:
        drag(qtbot, window.plotter.interactor, steps=steps)
    finally:
        renderer.RemoveObserver(tag)
    moved = not np.allclose(window.view.current_bookmark("after").position, before)
    return len(renders), moved


@gui
@pytest.mark.gui
def test_a_mouse_drag_renders_once_per_input_event(qtbot, window, tmp_path, monkeypatch):
    steps = 8
    renders, moved = _renders_during_drag(qtbot, window, steps)
    assert moved  # it orbits
    assert 1 <= renders <= steps + 2  # press, each step, release: one render each
    # without one-render-per-paint every step renders twice: the test can fail
    from PySide6.QtCore import QSettings

    from app import main_window as mw

    monkeypatch.setattr(mw, "_one_render_per_paint", lambda _plotter: None)
    settings = QSettings(str(tmp_path / "plain.ini"), QSettings.Format.IniFormat)
    plain = mw.MainWindow(importers.open_scene(PILOT), scene_path=PILOT, settings=settings)
    from qt_actions import show_window

    show_window(qtbot, plain, (1200, 760))
    try:
        doubled, _ = _renders_during_drag(qtbot, plain, steps)
    finally:
        plain.close()
    assert doubled >= 2 * steps


def _far_layer_file(tmp_path):
    """A square 500 km east of the pilot district, in its CRS (a misplaced layer)."""
    from conftest import polygon_feature, write_geojson

    e, n = 568300.0 + 500_000.0, 2357700.0
    ring = [(e, n), (e + 50, n), (e + 50, n + 50), (e, n + 50), (e, n)]
    return write_geojson(tmp_path / "far.geojson", [polygon_feature("far-1", ring, height=20)],
                         crs="EPSG:9208")


@gui
@pytest.mark.gui
def test_a_far_layer_warns_once_and_keeps_the_foreground(qtbot, window, tmp_path):
    from qt_actions import grab

    window.go_to_bookmark("street level")
    near_view = grab(window)
    job = window.start_import(_far_layer_file(tmp_path))
    with qtbot.waitSignal(job.done, timeout=60_000):
        pass
    qtbot.waitUntil(lambda: bool(window.messages), timeout=5000)
    qtbot.wait(50)
    assert len(window.messages) == 1  # one import, one dialog
    assert "500" in window.messages[0][1] and "km" in window.messages[0][1]
    window.go_to_bookmark("street level")
    after = grab(window)
    near, _far = window.plotter.camera.clipping_range
    assert near < 2.0  # VTK's own range put it near 500 m: the street was cut away
    assert _drawn_fraction(near_view) > 0.9 and _drawn_fraction(after) > 0.9

    # saved and reopened, the project shows what was saved, not sky
    project = tmp_path / "far.ctproj"
    assert window.save_project(project)
    window.open_project(project)
    window.go_to_bookmark("street level")
    reopened = grab(window)
    assert window.plotter.camera.clipping_range[0] < 2.0
    assert _drawn_fraction(reopened) > 0.9


def _drawn_fraction(image: np.ndarray) -> float:
    """Share of the lower half of a street view that is not sky (the background)."""
    from twin.render import BACKGROUND_BOTTOM, BACKGROUND_TOP

    low = image[image.shape[0] // 2:].astype(int)
    sky = np.zeros(low.shape[:2], dtype=bool)
    for colour in (BACKGROUND_BOTTOM, BACKGROUND_TOP):
        rgb = np.array([int(colour[i:i + 2], 16) for i in (1, 3, 5)])
        sky |= np.abs(low - rgb).sum(axis=-1) < 30
    return float(1.0 - sky.mean())


@pytest.mark.render
def test_tours_drive_the_clock_and_hide_the_overlays_of_hidden_layers(pilot):
    from twin.tour import scene_tours

    tour = scene_tours(pilot)[0]
    first = tour.sample(0.0)
    last = tour.sample(tour.duration)
    assert first.scene_time is not None and last.scene_time is not None
    sites = "Điểm IoT (sensor sites)"
    with OffscreenRenderer(pilot, (320, 180)) as renderer:
        glyphs = [a for name, a in renderer.view.overlay_actors.items()
                  if name.startswith("glyphs:")]
        renderer.tour_frame(first)
        assert renderer.sim.clock.time == first.scene_time
        assert not pilot.layer(sites).visible  # the tour hides the sensor sites ...
        assert not any(a.GetVisibility() for a in glyphs)  # ... and their sensors
        morning = renderer.sim.values.copy()
        renderer.tour_frame(last)
        assert renderer.sim.clock.time == last.scene_time
        assert pilot.layer(sites).visible
        assert all(a.GetVisibility() for a in glyphs)
        assert not np.array_equal(morning, renderer.sim.values, equal_nan=True)
    assert pilot.layer(sites).visible  # the renderer put the scene back


@gui
@pytest.mark.gui
def test_a_tour_in_the_window_moves_the_timeline(qtbot, window):
    panel = window.tour_panel
    tour = panel.tour
    t = tour.duration - 0.01
    state = tour.sample(t)
    assert state.scene_time is not None
    panel.seek(t)
    assert window.sim.clock.time == state.scene_time  # one clock: sensors, plans, timeline
    assert window.timeline_panel.time_label.text() == f"{state.scene_time:%Y-%m-%d %H:%M}"
    panel.stop()


@pytest.mark.render
def test_picks_go_through_prebuilt_locators_never_every_cell(pilot):
    import pyvista as pv

    from twin.render import SceneView
    from twin.render.picking import stats

    plotter = pv.Plotter(off_screen=True, window_size=[480, 270])
    view = SceneView(pilot, plotter)
    try:
        view.apply_bookmark("Ga Việt Trì (TOD)")
        plotter.render()
        thread = view.prebuild_locators()  # the window does this after every load
        thread.join(timeout=60)
        stats.reset()
        layer = pilot.layer(BUILDINGS)
        row = int(np.flatnonzero(layer.features.classes == "station")[0])
        b = layer.features.bounds[row]
        roof = pilot.to_world(np.array([(b[0] + b[1]) / 2, (b[2] + b[3]) / 2, b[5]]))
        hit = view.pick(*view.display_point(roof))
        assert hit is not None and hit.layer is layer and hit.row == row
        assert stats.brute_force == 0  # never cell by cell
        assert stats.click_builds == 0  # and never a locator built on a click
        assert stats.locator_queries > 0
    finally:
        view.close()
        plotter.close()


@gui
@pytest.mark.gui
def test_clicking_a_sensor_glyph_selects_the_sensor(qtbot, window):
    from PySide6.QtCore import QPoint, Qt

    window.go_to_bookmark("Ga Việt Trì (TOD)")
    window.plotter.render()
    glyphs = window.sim_overlay.glyphs
    rows, xy, depth, _radius = glyphs.screen(window.plotter.renderer)
    assert rows.size, "sensor glyphs on screen"
    k = int(np.argmin(depth))  # the nearest glyph: nothing stands in front of it
    widget = window.plotter.interactor
    ratio = widget.devicePixelRatioF()
    x, y = xy[k]
    pos = QPoint(round(x / ratio), round((widget.height() * ratio - 1 - y) / ratio))
    qtbot.mouseClick(widget, Qt.MouseButton.LeftButton, pos=pos)
    row = int(rows[k])
    assert window.last_sensor == row
    sensor_id = str(window.sim.sensors.ids[row])
    assert window.inspector.value(window.inspector.tree.topLevelItem(0).text(0)) == sensor_id
    assert window.sensors_panel.current_row() == row
    assert window.view.selection is None  # the sensor, not the building behind it


@pytest.mark.render
def test_the_underground_car_park_is_below_ground_and_picked_in_the_underground_view(pilot):
    """PL-PARK-U (min_height -9, height -0.4) stands below the station square: hidden
    by the ground in the normal view, seen and picked in the underground view."""
    from twin.scene import Bookmark

    built = datetime(2027, 7, 1, 12, 0, tzinfo=ICT)
    plan = next(la for la in pilot.layers if "PL-PARK-U" in set(la.features.ids.tolist()))
    row = int(np.flatnonzero(plan.features.ids == "PL-PARK-U")[0])
    b = plan.features.bounds[row]
    assert b[4] == pytest.approx(-9.0) and b[5] == pytest.approx(-0.4)
    centre = pilot.to_world(np.array([(b[0] + b[1]) / 2, (b[2] + b[3]) / 2, -5.0]))
    camera = Bookmark("square", tuple(centre + np.array([60.0, -120.0, 110.0])), tuple(centre))
    with OffscreenRenderer(pilot, (320, 240)) as renderer:
        normal = renderer.draw(ViewState(camera=camera, time=built))
        view = renderer.view
        x, y = view.display_point(centre)
        hit = view.pick(x, y)
        assert hit is None or hit.layer is not plan  # the ground is in front
        view.set_underground(True)
        below = renderer.frame()
        hit = view.pick(x, y)
        assert hit is not None and hit.layer is plan and hit.row == row
        view.set_underground(False)
        again = renderer.frame()
    assert _diff(below, normal) > 0.03  # the ground turned see-through over the car park
    assert _diff(again, normal) < 0.002  # and back
