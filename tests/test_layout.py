"""Room for the view: tabbed docks, saved layout, reset, presentation mode, and
a north arrow and scale bar that stay whole at every window size."""

from __future__ import annotations

import os

import numpy as np
import pytest
from conftest import SCENES
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QDockWidget

import importers

pytestmark = pytest.mark.gui

if not os.environ.get("DISPLAY"):
    pytest.skip("no X display (install xvfb: pytest-xvfb starts it)", allow_module_level=True)

PILOT = SCENES / "viet_tri.toml"


def _settings(path) -> QSettings:
    return QSettings(str(path), QSettings.Format.IniFormat)


def _window(qtbot, settings, size=None):
    from app.main_window import MainWindow

    window = MainWindow(importers.open_scene(PILOT), scene_path=PILOT, settings=settings)
    qtbot.addWidget(window)
    if size is not None:
        window.resize(*size)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()  # shortcuts (F9, F11 ...) go to the active window
    qtbot.waitUntil(window.isActiveWindow, timeout=3000)
    qtbot.wait(150)  # the column is sized once the window has its size
    return window


def _on_screen(widget) -> bool:
    """Shown and not covered by another tab of its dock group."""
    return widget.isVisible() and not widget.visibleRegion().isEmpty()


def _shot(window, name: str) -> None:
    folder = os.environ.get("CITYTWIN_SHOTS")
    if folder:
        window.grab().save(os.path.join(folder, name))


@pytest.mark.parametrize("size", [None, (1920, 1080)], ids=["default", "1920x1080"])
def test_the_view_gets_60_percent_with_layers_and_attributes_in_sight(qtbot, tmp_path, size):
    window = _window(qtbot, _settings(tmp_path / "s.ini"), size)
    try:
        expected = size or (1400, 860)
        assert (window.width(), window.height()) == expected
        view = window.plotter.interactor
        assert view.width() >= 0.6 * window.width(), (view.width(), window.width())
        assert _on_screen(window.layers_panel.tree)
        assert _on_screen(window.inspector.tree)
        # the panels are tabbed, not stacked side by side
        tabbed = window.tabifiedDockWidgets(window.inspector)
        assert window.search_panel in tabbed and window.sensors_panel in tabbed
        assert window.bookmarks_panel in window.tabifiedDockWidgets(window.layers_panel)
        _shot(window, f"layout_{expected[0]}x{expected[1]}.png")
    finally:
        window.close()


def test_in_vietnamese_too(qtbot, tmp_path):
    from app import i18n

    settings = _settings(tmp_path / "s.ini")
    settings.setValue("language", "vi")
    i18n.install("vi")
    try:
        window = _window(qtbot, settings)
        assert window.plotter.interactor.width() >= 0.6 * window.width()
        window.close()
    finally:
        i18n.install("en")


def test_layout_is_saved_restored_and_reset(qtbot, tmp_path):
    ini = tmp_path / "s.ini"
    window = _window(qtbot, _settings(ini))
    window.sensors_panel.raise_()
    window.bookmarks_panel.hide()
    window.resize(1200, 800)
    qtbot.wait(50)
    window.close()
    stored = _settings(ini)
    assert stored.value("window/state") is not None
    assert stored.value("window/geometry") is not None

    again = _window(qtbot, _settings(ini))
    try:
        assert (again.width(), again.height()) == (1200, 800)
        assert again.bookmarks_panel.isHidden()
        assert _on_screen(again.sensors_panel.widget())
        # View -> Reset layout: the default arrangement comes back
        reset = next(a for a in again.view_menu.actions() if a.text() == "Reset layout")
        reset.trigger()
        qtbot.wait(100)
        assert not again.bookmarks_panel.isHidden()
        assert _on_screen(again.inspector.tree) and _on_screen(again.layers_panel.tree)
        assert again.plotter.interactor.width() >= 0.6 * again.width()
    finally:
        again.close()


def test_an_older_layout_is_not_restored(qtbot, tmp_path):
    """A state saved by the old side-by-side arrangement (no version) is ignored."""
    from app.main_window import MainWindow

    ini = tmp_path / "s.ini"
    old = MainWindow(importers.open_scene(PILOT), scene_path=PILOT, settings=_settings(ini))
    qtbot.addWidget(old)
    old.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, old.inspector)
    state = old.saveState()  # version 0, as the window saved it before
    old.close()  # (saves its own state: overwritten below)
    stored = _settings(ini)
    stored.setValue("window/state", state)
    stored.sync()
    window = _window(qtbot, _settings(ini))
    try:
        assert not window.window_layout.restored
        assert window.dockWidgetArea(window.inspector) == Qt.DockWidgetArea.LeftDockWidgetArea
    finally:
        window.close()


def test_hide_panels_collapses_every_dock_and_brings_them_back(qtbot, tmp_path):
    window = _window(qtbot, _settings(tmp_path / "s.ini"))
    try:
        before = window.plotter.interactor.width()
        shown = [d for d in window.findChildren(QDockWidget) if d.isVisible()]
        qtbot.keyClick(window, Qt.Key.Key_F9)
        qtbot.wait(50)
        assert not any(d.isVisible() for d in window.findChildren(QDockWidget))
        assert window.plotter.interactor.width() == window.centralWidget().width() > before
        qtbot.keyClick(window, Qt.Key.Key_F9)
        qtbot.wait(50)
        assert all(d.isVisible() for d in shown)
    finally:
        window.close()


def test_presentation_mode_full_screen_steps_and_restores(qtbot, tmp_path):
    window = _window(qtbot, _settings(tmp_path / "s.ini"))
    try:
        screen = window.screen().geometry()
        view = window.plotter.interactor
        qtbot.keyClick(view, Qt.Key.Key_F11)
        qtbot.waitUntil(lambda: view.width() == screen.width(), timeout=3000)
        qtbot.wait(100)
        assert window.window_layout.presenting
        assert not window.menuBar().isVisible() and not window.toolbar.isVisible()
        assert not window.statusBar().isVisible()
        assert not any(d.isVisible() for d in window.findChildren(QDockWidget))
        assert (view.width(), view.height()) == (screen.width(), screen.height())
        # PageDown walks the bookmarks in order, then the tours' stops
        names = [bm.name for bm in window.scene.bookmarks]
        stops = window.window_layout.stops()
        assert [s.label for s in stops[: len(names)]] == names
        for name in names[:2]:
            qtbot.keyClick(view, Qt.Key.Key_PageDown)
            bm = window.scene.bookmark(name)
            focal = window.scene.to_world(window.plotter.camera.focal_point)
            assert np.allclose(focal, bm.focal_point, atol=0.01)
        qtbot.keyClick(view, Qt.Key.Key_PageUp)  # back to the first
        focal = window.scene.to_world(window.plotter.camera.focal_point)
        assert np.allclose(focal, window.scene.bookmark(names[0]).focal_point, atol=0.01)
        qtbot.keyClick(view, Qt.Key.Key_Left)  # wraps round to the last stop
        assert window.window_layout.stop_index == len(stops) - 1
        if window.tour_panel is not None and len(stops) > len(names):
            assert window.tour_panel.status == window.tour_panel.PAUSED  # a tour stop
        # Esc leaves: menus, toolbar, docks and the window size come back
        qtbot.keyClick(view, Qt.Key.Key_Escape)
        qtbot.waitUntil(lambda: not window.isFullScreen(), timeout=3000)
        qtbot.wait(100)
        assert not window.window_layout.presenting
        assert window.menuBar().isVisible() and window.toolbar.isVisible()
        assert _on_screen(window.layers_panel.tree) and _on_screen(window.inspector.tree)
        assert (window.width(), window.height()) == (1400, 860)
        if window.tour_panel is not None:
            assert window.tour_panel.status == window.tour_panel.STOPPED
        # outside presentation mode the arrow keys are the view's again
        index = window.window_layout.stop_index
        qtbot.keyClick(view, Qt.Key.Key_PageDown)
        assert window.window_layout.stop_index == index
    finally:
        window.close()


# -- north arrow and scale bar -------------------------------------------------------------
ARROW_RGB = np.array([[200, 30, 30], [120, 20, 20]])
#: area of the arrow's unit shape (shoelace of its four corners) x r^2 is its pixel area
UNIT_AREA = 0.5 * abs(
    sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(
        [(0.0, 1.0), (0.62, -0.75), (0.0, -0.35), (-0.62, -0.75)],
        [(0.62, -0.75), (0.0, -0.35), (-0.62, -0.75), (0.0, 1.0)], strict=True))
)


@pytest.fixture(scope="module")
def pilot():
    return importers.open_scene(PILOT)


@pytest.mark.render
@pytest.mark.parametrize("size", [(160, 120), (900, 160), (1920, 1080)])
@pytest.mark.parametrize("heading", [0.0, 135.0, 270.0])
def test_north_arrow_and_scale_bar_are_whole(pilot, size, heading, output_dir):
    """Rendered through the one offscreen renderer: every pixel of the arrow in
    the picture (its full area, not a clipped part), a margin from the edges,
    and the "N" and the scale bar's label inside the view."""
    from twin.render import OffscreenRenderer, save_png, use_offscreen_gl
    from twin.scene import Bookmark
    from twin.viewstate import ViewState

    use_offscreen_gl()
    scene = pilot
    centre = scene.to_world(np.zeros(3))
    a = np.radians(heading)
    eye = centre + np.array([np.sin(a) * -300, np.cos(a) * -300, 250.0])
    cam = Bookmark("t", tuple(eye), tuple(centre), (0.0, 0.0, 1.0), 30.0)
    w, h = size
    with OffscreenRenderer(scene, size, simulation=None, looks=None) as ren:
        img = ren.draw(ViewState(camera=cam, north_arrow=True, scale_bar=True))
        ann = ren.view.annotations
        text_box = _text_box(ann.north.text, ren.plotter.renderer)
        bar_box = _text_box(ann.scale_bar.text, ren.plotter.renderer)
        r = float(np.linalg.norm(np.array(ann.north.points.GetPoint(0))
                                 - np.array(_centre(ann.north))))
    arrow = np.zeros(img.shape[:2], bool)
    for rgb in ARROW_RGB:
        arrow |= np.abs(img[:, :, :3].astype(int) - rgb).max(axis=2) <= 8
    save_png(img, output_dir / f"north_{w}x{h}_{int(heading)}.png")
    ys, xs = np.nonzero(arrow)
    assert arrow.sum() >= 0.8 * UNIT_AREA * r * r, (arrow.sum(), UNIT_AREA * r * r)
    assert xs.min() >= 2 and ys.max() <= h - 3 and xs.max() < w / 2 and ys.min() > h / 2
    for x0, x1, y0, y1 in (text_box, bar_box):
        assert x0 >= 0 and x1 <= w and y0 >= 0 and y1 <= h, (text_box, bar_box, size)


def _centre(north) -> tuple[float, float, float]:
    pts = np.array([north.points.GetPoint(i) for i in range(4)])
    # the shape's centre is the rotation centre: the mean of tip and notch, scaled back
    tip, notch = pts[0], pts[2]
    return tuple(tip + (notch - tip) * (1.0 / 1.35))


def _text_box(actor, renderer) -> tuple[float, float, float, float]:
    """(x0, x1, y0, y1) of a text actor in viewport pixels (VTK gives it
    relative to the actor's anchor)."""
    box = [0.0] * 4
    actor.GetBoundingBox(renderer, box)
    x, y = actor.GetPosition()
    return box[0] + x, box[1] + x, box[2] + y, box[3] + y
