"""Areas and heights against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from twin.measure import (
    AreaMeasurement,
    draped_area,
    from_record,
    measure,
    measure_area,
    measure_height,
    polygon_plan_area,
    record,
)


def _plane_terrain(slope: float, lo: float = -50.0, hi: float = 50.0, n: int = 11):
    """A tilted plane z = slope * x as a triangulated grid."""
    xs = np.linspace(lo, hi, n)
    gx, gy = np.meshgrid(xs, xs)
    pts = np.column_stack([gx.ravel(), gy.ravel(), slope * gx.ravel()])
    i = np.arange(n - 1)
    a = (i[:, None] * n + i[None, :]).ravel()  # lower-left of every grid cell
    tris = np.vstack([np.column_stack([a, a + 1, a + n + 1]),
                      np.column_stack([a, a + n + 1, a + n])])
    return pts, tris


def test_a_3_4_5_triangle_has_area_6_and_perimeter_12():
    m = measure_area([(0, 0, 5), (3, 0, 5), (3, 4, 9)])
    assert m.plan_area == pytest.approx(6.0)
    assert m.perimeter == pytest.approx(12.0)
    assert math.isnan(m.draped_area)
    # at UTM magnitudes too (no float cancellation), either orientation
    big = np.array([(568300.0, 2357700.0, 0), (568300.0, 2357704.0, 0), (568303.0, 2357700.0, 0)])
    assert polygon_plan_area(big) == pytest.approx(6.0, abs=1e-6)


def test_a_square_on_a_tilted_plane_drapes_to_the_slope_length():
    slope = 0.75  # 36.87 degrees: the surface is 1.25 times the plan
    pts, tris = _plane_terrain(slope)
    square = [(-12.3, -7.1, 0), (7.7, -7.1, 0), (7.7, 12.9, 0), (-12.3, 12.9, 0)]  # 20 x 20,
    # corners off the grid lines, so triangles are clipped
    m = measure_area(square, terrain=(pts, tris))
    assert m.plan_area == pytest.approx(400.0)
    assert m.draped_area == pytest.approx(400.0 * 1.25, rel=1e-9)
    # flat terrain: draped = plan; a polygon off the terrain has no draped area
    flat, _ = _plane_terrain(0.0)
    assert draped_area(square, flat, tris) == pytest.approx(400.0)
    assert draped_area([(200, 200, 0), (210, 200, 0), (210, 210, 0)], pts, tris) == 0.0


def test_draped_area_of_a_ridge():
    # two planes meeting at x = 0 (a roof-like ridge, slopes 3/4 both sides)
    pts, tris = _plane_terrain(0.0)
    pts[:, 2] = -0.75 * np.abs(pts[:, 0])
    tri = [(-10, 0, 0), (10, 0, 0), (0, 10, 0)]  # plan 100, half on each slope
    assert draped_area(tri, pts, tris) == pytest.approx(125.0)


def test_height_between_two_picks():
    m = measure_height((10.0, 20.0, 3.5), (40.0, -5.0, 31.0))
    assert m.height == pytest.approx(27.5)
    assert "27.50 m" in m.text("en") and "chiều cao 27,50 m" in m.text("vi")


def test_records_round_trip_through_json():
    import json

    items = [measure((0, 0, 0), (3, 4, 0)), measure_height((0, 0, 1), (0, 0, 4)),
             AreaMeasurement(((0, 0, 0), (3, 0, 0), (3, 4, 0)), 6.0, 6.5, 12.0)]
    for m in items:
        back = from_record(json.loads(json.dumps(record(m))))
        assert back == m
    with pytest.raises(ValueError):
        from_record({"kind": "area", "points": [[0, 0, 0]]})
    with pytest.raises(ValueError):
        from_record({"kind": "height", "points": [[0, 0, "x"], [1, 1, 1]]})


# ------------------------------------------------------------------ the window
@pytest.mark.gui
def test_window_area_height_copy_project_labels_and_print(qtbot, tmp_path, monkeypatch):
    """The planner's tools in the real window: an area drawn by clicks, a height,
    the result on the clipboard, both kept in the saved project; "Label by" in
    the layer menu; File → Print map's page from the window's state."""
    import os

    if not os.environ.get("DISPLAY"):
        pytest.skip("no X display")
    from conftest import SCENES
    from PySide6.QtCore import QSettings
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QMenu
    from qt_actions import show_window

    import importers
    from app import main_window as mw
    from app.panels.print_dialog import print_window_map
    from app.print_map import PageSpec
    from twin.project import load_project

    for kind in ("warning", "critical", "information"):
        monkeypatch.setattr(mw.QMessageBox, kind, lambda *a, **k: mw.QMessageBox.StandardButton.Ok)
    pilot = SCENES / "viet_tri.toml"
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    window = mw.MainWindow(importers.open_scene(pilot), scene_path=pilot, settings=settings)
    show_window(qtbot, window)
    try:
        scene = window.scene
        # the area tool: three clicks on the ground of a 30 x 40 m right triangle
        corners = [scene.to_world(p) for p in ([0, 0, 0], [30, 0, 0], [30, 40, 0])]
        clicks = iter(corners)
        monkeypatch.setattr(window, "world_at", lambda x, y: next(clicks))
        window.area_action.setChecked(True)
        assert not window.measure_action.isChecked()
        for _ in corners:
            m = window.measure_tools.click(0, 0)
        assert m.plan_area == pytest.approx(600.0)
        assert "area_label-labels" in window.plotter.actors
        # a click on the first corner closes the polygon; the next one starts anew
        first = window.view.display_point(corners[0])
        assert window.measure_tools.click(*first).plan_area == pytest.approx(600.0)
        assert window.measure_tools.points == []
        # the height tool
        picks = iter([scene.to_world([5, 5, 2.0]), scene.to_world([5, 9, 29.5])])
        monkeypatch.setattr(window, "world_at", lambda x, y: next(picks))
        window.height_action.setChecked(True)
        assert not window.area_action.isChecked()
        window.measure_tools.click(0, 0)
        h = window.measure_tools.click(0, 0)
        assert h.height == pytest.approx(27.5)
        window.copy_measure_action.trigger()
        assert "27.50 m" in QGuiApplication.clipboard().text()
        # kept in the project, back on open
        path = tmp_path / "p.citytwin.json"
        assert window.save_project(path)
        kinds = [d["kind"] for d in load_project(path)[0].measurements]
        assert kinds == ["area", "height"]
        window.measure_tools.kept = []
        window.open_project(path)
        assert [type(k).__name__ for k in window.measure_tools.kept] == [
            "AreaMeasurement", "HeightMeasurement"]
        # "Label by" in the layer tree's menu
        roads = window.scene.layer("Đường (roads)")
        menu = window.layers_panel.label_menu(roads, QMenu())
        action = next(a for a in menu.actions() if a.text() == "name")
        action.trigger()
        assert roads.style.label == "name"
        # print the window's view: its labels and marks are in the picture
        out = print_window_map(window, tmp_path / "map.png", PageSpec("Thử in", "A4", "vi", 40))
        assert out.exists() and out.stat().st_size > 10_000
        assert window.view_state().marks  # area and height drawn in print too
    finally:
        window.close()


@pytest.mark.render
def test_area_and_height_marks_are_in_headless_renders(output_dir):
    """ViewState.marks draws the area polygon and the height line offscreen, as
    the window does: a printed map shows the planner's measurements."""
    import shapely

    from twin.features import FeatureTable
    from twin.layer import Layer
    from twin.meshing import extrude_polygons
    from twin.render import OffscreenRenderer, save_png, use_offscreen_gl
    from twin.scene import Bookmark, Scene
    from twin.style import Style
    from twin.viewstate import ViewState

    use_offscreen_gl()
    tm = extrude_polygons(np.array([shapely.box(-5, -5, 5, 5)], dtype=object),
                          np.zeros(1), np.full(1, 20.0))
    table = FeatureTable(np.array(["b"], object), np.array(["office"], object),
                         np.array([""], object), np.array([[-5, 5, -5, 5, 0, 20.0]]))
    scene = Scene(crs="EPSG:9208")
    scene.add_layer(Layer("b", tm.to_polydata(), table, kind="buildings",
                          style=Style(mode="solid", color=(230, 230, 230))))
    cam = Bookmark("v", (0.0, -90.0, 70.0), (0.0, 10.0, 0.0), (0.0, 0.0, 1.0), 40.0)
    area = measure_area([(-30, 10, 0.1), (30, 10, 0.1), (30, 40, 0.1), (-30, 40, 0.1)])
    height = measure_height((6, -6, 0), (6, -6, 20))
    with OffscreenRenderer(scene, (320, 240), simulation=None, looks=None) as ren:
        marked = ren.draw(ViewState(camera=cam, marks=(area, height)))
    with OffscreenRenderer(scene, (320, 240), simulation=None, looks=None) as ren:
        plain = ren.draw(ViewState(camera=cam))
    save_png(marked, output_dir / "measure_marks.png")
    blue = np.array([31, 119, 180])
    near_blue = (np.abs(marked.astype(int) - blue).max(axis=2) < 40).sum()
    assert near_blue > 40  # the polygon's outline
    assert (np.abs(marked.astype(int) - plain.astype(int)).sum(axis=2) > 30).sum() > 500
