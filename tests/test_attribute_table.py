"""Attribute table per layer: sort, filter, selection shared with the 3D view,
zoom, export (CSV, GeoJSON in WGS 84 or the scene CRS) and Vietnamese formats."""

from __future__ import annotations

import csv
import json
import os

import numpy as np
import pytest
import shapely
import shapely.geometry
from conftest import SCENES, polygon_feature, write_geojson
from pyproj import Transformer

import importers
from twin.scene import Scene

PILOT = SCENES / "viet_tri.toml"
BUILDINGS = "Công trình (buildings)"
NAN = float("nan")


# -- sorting (no Qt involved, but the module is the app's) ---------------------------------
def test_numbers_sort_stable_with_missing_last_both_ways():
    from app.panels.attribute_table import sort_rows

    col = np.array([3.0, NAN, 1.0, 3.0, 2.0])
    assert sort_rows(col, True).tolist() == [2, 4, 0, 3, 1]
    assert sort_rows(col, False).tolist() == [0, 3, 4, 2, 1]  # 0 before 3: stable
    ints = np.array([5, -1, 5, 0], dtype=np.int64)
    assert sort_rows(ints, False).tolist() == [0, 2, 3, 1]


def test_text_sorts_case_insensitively_with_missing_last():
    from app.panels.attribute_table import sort_rows

    col = np.array(["b", None, "A", "", "a", "c"], dtype=object)
    assert sort_rows(col, True).tolist() == [2, 4, 0, 5, 1, 3]
    assert sort_rows(col, False).tolist() == [5, 0, 2, 4, 1, 3]
    # numbers kept as text sort as numbers
    assert sort_rows(np.array(["10", "9", None, "9.5"], dtype=object)).tolist() == [1, 3, 0, 2]


# -- footprints ----------------------------------------------------------------------------
def _square(lon, lat, d=0.0003):
    return [(lon, lat), (lon + d, lat), (lon + d, lat + d), (lon, lat + d), (lon, lat)]


def _l_shape(lon, lat, d=0.0004):
    h = d / 2
    return [(lon, lat), (lon + d, lat), (lon + d, lat + h), (lon + h, lat + h),
            (lon + h, lat + d), (lon, lat + d), (lon, lat)]


@pytest.fixture
def blocks(tmp_path):
    """An L-shaped block, a courtyard block (a hole) and a plain one, from a file."""
    yard = _square(105.403, 21.321, 0.0006)
    hole = _square(105.4032, 21.3212, 0.0002)[::-1]
    feats = [
        polygon_feature("L", _l_shape(105.400, 21.320), height=12.5, name="Nhà chữ L"),
        polygon_feature("yard", yard, holes=[hole], height=20.0, name="Sân trong"),
        polygon_feature("plain", _square(105.401, 21.322), height=7.0),
    ]
    path = write_geojson(tmp_path / "blocks.geojson", feats)
    scene = Scene(crs="EPSG:9208", origin=[567000.0, 2358000.0, 0.0])
    [layer] = importers.open(path, scene)
    scene.add_layer(layer)
    source = {f["properties"]["id"]: shapely.geometry.shape(f["geometry"]) for f in feats}
    return scene, layer, source


def _same_area(a, b, tolerance=1e-3) -> bool:
    return a.symmetric_difference(b).area <= tolerance * b.area


def test_geojson_footprints_in_wgs84_are_the_source_polygons(tmp_path, blocks):
    from twin.feature_export import write_geojson as export

    scene, layer, source = blocks
    rows = np.arange(len(layer.features))
    report = export(layer, rows, tmp_path / "out.geojson", scene)
    assert report.count == 3 and report.sources == {"outline": 3}
    doc = json.loads((tmp_path / "out.geojson").read_text(encoding="utf-8"))
    assert doc["type"] == "FeatureCollection" and "crs" not in doc  # RFC 7946
    by_id = {f["id"]: f for f in doc["features"]}
    for fid, expected in source.items():
        feature = by_id[fid]
        geom = shapely.geometry.shape(feature["geometry"])
        assert geom.geom_type == "Polygon"
        assert geom.exterior.is_ccw  # right-hand rule
        assert _same_area(geom, expected), (fid, geom.wkt, expected.wkt)
        assert len(geom.interiors) == len(expected.interiors)
        lon, lat = geom.exterior.coords[0]
        assert 105.39 < lon < 105.41 and 21.31 < lat < 21.33  # lon/lat order
        assert all(len(repr(v).split(".")[1]) <= 7 for v in (lon, lat))
        assert feature["properties"]["geometry_source"] == "outline"
    assert by_id["L"]["properties"]["name"] == "Nhà chữ L"
    assert by_id["yard"]["properties"]["elevation_max"] == pytest.approx(20.0)


def test_geojson_in_the_scene_crs_on_request(tmp_path, blocks):
    from twin.feature_export import write_geojson as export

    scene, layer, source = blocks
    row = layer.features.find("yard")
    export(layer, [row], tmp_path / "vn2000.geojson", scene, crs="scene")
    doc = json.loads((tmp_path / "vn2000.geojson").read_text(encoding="utf-8"))
    assert doc["crs"]["properties"]["name"] == "urn:ogc:def:crs:EPSG::9208"
    geom = shapely.geometry.shape(doc["features"][0]["geometry"])
    to_vn = Transformer.from_crs(4326, 9208, always_xy=True)
    expected = shapely.transform(
        source["yard"], lambda c: np.column_stack(to_vn.transform(c[:, 0], c[:, 1])))
    assert _same_area(geom, expected)
    e, n = geom.exterior.coords[0]
    assert 560_000 < e < 575_000 and 2_350_000 < n < 2_370_000


def test_a_feature_without_a_floor_exports_its_bounds_and_says_so(tmp_path):
    import pyvista as pv

    from twin.feature_export import write_geojson as export
    from twin.features import FeatureTable
    from twin.layer import Layer

    # a vertical wall panel only: no face looks up or down
    wall = pv.Plane(center=(5, 0, 5), direction=(0, 1, 0), i_size=10, j_size=10).triangulate()
    wall.cell_data["feature"] = np.zeros(wall.n_cells, np.int32)
    table = FeatureTable(np.array(["w"], object), np.array(["wall"], object),
                         np.array([""], object), np.array([[0, 10, -0.1, 0.1, 0, 10]], float))
    scene = Scene(crs="EPSG:9208", origin=[567000.0, 2358000.0, 0.0])
    layer = scene.add_layer(Layer("walls", wall, table))
    report = export(layer, [0], tmp_path / "w.geojson", scene, crs="scene")
    assert report.sources == {"bounds": 1}
    feature = json.loads((tmp_path / "w.geojson").read_text())["features"][0]
    assert feature["properties"]["geometry_source"] == "bounds"
    assert shapely.geometry.shape(feature["geometry"]).area == pytest.approx(2.0, rel=1e-3)


def test_a_local_scene_refuses_wgs84_with_one_line(tmp_path, blocks):
    from twin.feature_export import ExportError
    from twin.feature_export import write_geojson as export
    from twin.geo import LOCAL_CRS

    _scene, layer, _ = blocks
    local = Scene(crs=LOCAL_CRS, origin=[0.0, 0.0, 0.0])
    with pytest.raises(ExportError, match=r"w\.geojson: .*scene CRS instead"):
        export(layer, [0], tmp_path / "w.geojson", local)
    export(layer, [0], tmp_path / "ok.geojson", local, crs="scene")  # this one works


# -- the table in the window ---------------------------------------------------------------
needs_display = pytest.mark.skipif(not os.environ.get("DISPLAY"), reason="no X display")


@pytest.fixture
def main_window(qtbot, tmp_path, monkeypatch):
    from PySide6.QtCore import QSettings
    from qt_actions import show_window

    from app import main_window as mw

    ok = mw.QMessageBox.StandardButton.Ok
    for kind in ("warning", "critical", "information"):
        monkeypatch.setattr(mw.QMessageBox, kind, lambda *_a, **_k: ok)
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    window = mw.MainWindow(importers.open_scene(PILOT), scene_path=PILOT, settings=settings)
    show_window(qtbot, window, (1400, 860))
    yield window
    window.close()


def _open_from_context_menu(qtbot, window, name):
    """Right-click the layer in the tree and choose "Open attribute table"."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    panel = window.layers_panel
    panel.select_layer(name)
    item = panel.layer_item(name)
    chosen = []

    def choose():
        menu = QApplication.activePopupWidget()
        action = next(a for a in menu.actions() if a.text() == "Open attribute table")
        chosen.append(action.text())
        menu.close()
        action.trigger()

    QTimer.singleShot(200, choose)
    pos = panel.tree.visualItemRect(item).center()
    panel.tree.customContextMenuRequested.emit(pos)
    qtbot.waitUntil(lambda: bool(chosen), timeout=3000)
    return window.attribute_tables.dock(window.scene.layer(name))


@needs_display
@pytest.mark.gui
def test_table_opens_sorts_filters_and_follows_the_3d_selection(qtbot, main_window, tmp_path):
    from PySide6.QtCore import QPoint, Qt
    from qt_actions import click

    window = main_window
    dock = _open_from_context_menu(qtbot, window, BUILDINGS)
    layer = window.scene.layer(BUILDINGS)
    heights = layer.features.attributes["height"]
    assert dock is not None and dock.isVisible()
    model = dock.model
    assert model.rowCount() == len(layer.features)
    assert model.columns[:3] == ["id", "class", "name"] and "height" in model.columns

    # sort: a click on the "height" header, then another (descending)
    col = model.columns.index("height")
    header = dock.table.horizontalHeader()
    dock.table.scrollTo(model.index(0, col))
    for _ in range(2):
        x = header.sectionViewportPosition(col) + header.sectionSize(col) // 2
        qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton,
                         pos=QPoint(x, header.height() // 2))
    shown = heights[model.order]
    finite = shown[np.isfinite(shown)]
    assert model.ascending is False and np.all(np.diff(finite) <= 0)
    assert np.isfinite(shown[: len(finite)]).all()  # missing heights last
    top = int(model.order[0])
    assert heights[top] == np.nanmax(heights)

    # table -> 3D: select the first three rows (click, shift-click)
    rect = dock.table.visualRect(model.index(0, 0))
    qtbot.mouseClick(dock.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert window.view.selection[1].tolist() == [top]
    assert window.attribute("id") == str(layer.features.ids[top])  # one row: inspected
    rect = dock.table.visualRect(model.index(2, 0))
    qtbot.mouseClick(dock.table.viewport(), Qt.MouseButton.LeftButton,
                     Qt.KeyboardModifier.ShiftModifier, rect.center())
    three = sorted(int(r) for r in model.order[:3])
    assert window.view.selection[0] is layer
    assert sorted(window.view.selection[1].tolist()) == three
    colours = window.view.cell_colors(layer)
    from twin.style import HIGHLIGHT_RGB

    picked = layer.cells_of(three)
    assert np.all(colours[picked][:, :3] == HIGHLIGHT_RGB)

    # zoom to the selection moves the camera onto it
    before = np.array(window.plotter.camera.focal_point)
    dock.zoom_button.click()
    after = np.array(window.plotter.camera.focal_point)
    b = layer.features.bounds[three]
    centre = [(b[:, 0].min() + b[:, 1].max()) / 2, (b[:, 2].min() + b[:, 3].max()) / 2]
    assert not np.allclose(before, after) and np.allclose(after[:2], centre, atol=0.5)

    # export the selection
    report = dock.export(tmp_path / "sel.csv", "csv")
    with open(tmp_path / "sel.csv", encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert report.count == 3 and sorted(r["id"] for r in rows) == sorted(
        str(layer.features.ids[r]) for r in three)
    assert {float(r["height"]) for r in rows} == {float(heights[r]) for r in three}
    dock.export(tmp_path / "sel.geojson", "geojson-wgs84")
    doc = json.loads((tmp_path / "sel.geojson").read_text(encoding="utf-8"))
    assert len(doc["features"]) == 3
    lon, lat = shapely.geometry.shape(doc["features"][0]["geometry"]).centroid.coords[0]
    assert 105.3 < lon < 105.5 and 21.2 < lat < 21.4  # Việt Trì, lon/lat order
    dock.export(tmp_path / "sel_vn2000.geojson", "geojson-scene")
    doc = json.loads((tmp_path / "sel_vn2000.geojson").read_text(encoding="utf-8"))
    assert doc["crs"]["properties"]["name"].endswith("EPSG::9208")

    # 3D -> table: click the tallest building in the view
    window.view.zoom_to(layer, [top])
    roof = window.scene.to_world([(b := layer.features.bounds[top])[0] / 2 + b[1] / 2,
                                  (b[2] + b[3]) / 2, b[5]])
    click(qtbot, window, roof)
    assert dock.selected_rows().tolist() == [top]
    # nothing picked: the table's selection is cleared too
    window.select_feature(None, -1)
    assert dock.selected_rows().tolist() == []

    # filter with the search panel's language; a bad query says why and keeps the rows
    n = dock.apply_filter("height > 30 và class != station")
    expected = int(np.sum((heights > 30) & (layer.features.classes != "station")))
    assert n == model.rowCount() == expected
    assert dock.apply_filter("height >") is None
    assert "height" in dock.summary.text() and model.rowCount() == expected
    window._highlight(layer, np.flatnonzero(heights > 30))  # the search panel's highlight
    # only the highlighted rows the filter shows are selected in the table
    assert len(dock.selected_rows()) == expected
    assert set(dock.selected_rows().tolist()) <= set(np.flatnonzero(heights > 30).tolist())


@needs_display
@pytest.mark.gui
def test_cells_read_the_vietnamese_way(qtbot, blocks):
    from PySide6.QtCore import Qt

    from app import i18n
    from app.panels.attribute_table import FeatureTableModel

    _scene, layer, _ = blocks
    model = FeatureTableModel(layer)
    col = model.columns.index("height")
    row = int(np.flatnonzero(model.order == layer.features.find("L"))[0])
    cell = model.index(row, col)
    assert model.data(cell) == "12.5"
    i18n.install("vi")
    try:
        assert model.data(cell) == "12,5"
        align = model.data(cell, Qt.ItemDataRole.TextAlignmentRole)
        assert align & int(Qt.AlignmentFlag.AlignRight)
        # the inspector writes the same value the same way, bounds included
        from app.panels.inspector import InspectorPanel

        inspector = InspectorPanel()
        qtbot.addWidget(inspector)
        inspector.show_feature(layer, layer.features.find("L"))
        assert inspector.value("height") == "12,5"
        assert inspector.value("bounds").startswith("E ") and "," in inspector.value("bounds")
        assert "." not in inspector.value("bounds")
    finally:
        i18n.install("en")
