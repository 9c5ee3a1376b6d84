"""twin.query (search and filter), twin.measure, and per-feature visibility in the model."""

from __future__ import annotations

import numpy as np
import pytest

from twin.features import FeatureTable
from twin.measure import measure
from twin.query import Condition, QueryError, evaluate, parse_query, search, text_search


@pytest.fixture
def table() -> FeatureTable:
    return FeatureTable(
        np.array(["b1", "b2", "w1", "w2"], dtype=object),
        np.array(["office", "residential", "IfcWall", "IfcWallStandardCase"], dtype=object),
        np.array(["Tháp Hùng Vương", "Nhà số 2", "", "Tường ngoài"], dtype=object),
        np.zeros((4, 6)),
        {
            "height": np.array([45.0, 12.0, np.nan, 3.0]),
            "GlobalId": np.array(["0a", "0b", "2O2Fr$t4X7Zf8NOew3FLOH", "x"], dtype=object),
            "levels": np.array(["12", "3", "", "1"], dtype=object),
        },
    )


def test_parse_simple_conditions():
    assert parse_query("height > 30") == [Condition("height", ">", "30")]
    assert parse_query("class = IfcWall and height<=3") == [
        Condition("class", "=", "IfcWall"),
        Condition("height", "<=", "3"),
    ]
    assert parse_query("name == 'Nhà số 2'") == [Condition("name", "=", "Nhà số 2")]
    assert parse_query("") == []
    for bad in ("height >", "> 3", "height 30"):
        with pytest.raises(QueryError):
            parse_query(bad)


def test_numeric_conditions_are_vectorised_and_nan_never_matches(table):
    assert search(table, "height > 30").tolist() == [0]
    assert search(table, "height <= 12").tolist() == [1, 3]
    assert search(table, "height != 12").tolist() == [0, 2, 3]  # NaN != 12 is true
    assert search(table, "levels >= 3").tolist() == [0, 1]  # numbers stored as text


def test_text_conditions_are_case_insensitive(table):
    assert search(table, "class = ifcwall").tolist() == [2, 3]  # IfcWallStandardCase too
    assert search(table, "class ~ IfcWall").tolist() == [2, 3]
    assert search(table, "class = IfcWall and height > 100").tolist() == []
    with pytest.raises(QueryError, match="needs a number"):
        evaluate(table, parse_query("class > wall"))
    with pytest.raises(QueryError, match="no column"):
        search(table, "colour = red")


def test_text_search_finds_names_ids_and_globalids(table):
    assert search(table, "hùng vương").tolist() == [0]
    assert search(table, "W2").tolist() == [3]
    assert search(table, "2O2Fr$t4").tolist() == [2]
    assert not text_search(table, "   ").any()


def test_no_eval(table):
    with pytest.raises(QueryError):
        search(table, "__import__('os').system('true') = 1")


def test_measure_reports_distance_plan_distance_and_height_difference():
    m = measure([568000.0, 2357000.0, 10.0], [568030.0, 2357040.0, 22.0])
    assert m.horizontal == pytest.approx(50.0)
    assert m.dh == pytest.approx(12.0)
    assert m.distance == pytest.approx(np.hypot(50.0, 12.0))
    assert "Δh +12.00 m" in m.text()


def test_feature_visibility_is_a_mask_with_an_event():
    import pyvista as pv

    from twin.layer import Layer
    from twin.scene import Scene

    scene = Scene(crs="EPSG:9208")
    mesh = pv.Box().triangulate()
    mesh.cell_data["feature"] = (np.arange(mesh.n_cells) % 3).astype(np.int32)
    t = FeatureTable(
        np.array(["a", "b", "c"]), np.array(["x"] * 3), np.array([""] * 3), np.zeros((3, 6))
    )
    layer = scene.add_layer(Layer("L", mesh, t))
    seen = []
    scene.events.layer_changed.connect(lambda la, what: seen.append(what))
    scene.set_feature_visibility(layer, [1, 2], False)
    assert scene.hidden_features(layer).tolist() == [False, True, True]
    scene.set_feature_visibility(layer, [2], True)
    assert scene.hidden_features(layer).tolist() == [False, True, False]
    assert seen == ["features", "features"]
    scene.remove_layer(layer)
    assert not scene.hidden_features(layer).any()


@pytest.mark.render
def test_hidden_features_are_not_drawn_nor_picked():
    import pyvista as pv

    from twin.layer import Layer
    from twin.render import SceneView, use_offscreen_gl
    from twin.scene import Scene

    use_offscreen_gl()
    scene = Scene(crs="EPSG:9208")
    lower = pv.Box((-10, 10, -10, 10, 0, 10)).triangulate()
    upper = pv.Box((-10, 10, -10, 10, 10, 20)).triangulate()
    mesh = lower.merge(upper)
    mesh.cell_data["feature"] = np.r_[np.zeros(lower.n_cells), np.ones(upper.n_cells)].astype(
        np.int32
    )
    t = FeatureTable(
        np.array(["s1", "s2"]),
        np.array(["IfcSlab"] * 2),
        np.array(["1", "2"]),
        np.array([[-10, 10, -10, 10, 0, 10], [-10, 10, -10, 10, 10, 20]], float),
    )
    layer = scene.add_layer(Layer("BIM", mesh, t))
    plotter = pv.Plotter(off_screen=True, window_size=(200, 200))
    try:
        view = SceneView(scene, plotter, ground=False)
        plotter.camera.position = (0, 0, 100)
        plotter.camera.focal_point = (0, 0, 0)
        plotter.camera.up = (0, 1, 0)
        plotter.reset_camera_clipping_range()
        assert view.pick(100, 100).row == 1
        scene.set_feature_visibility(layer, [1], False)
        assert view.actors[layer].GetMapper().GetInput().GetNumberOfCells() == lower.n_cells
        hit = view.pick(100, 100)
        assert hit is not None and hit.row == 0
        view.select(layer, [0])  # colours still reach the drawn copy
        drawn = view.actors[layer].GetMapper().GetInput()
        assert tuple(np.asarray(drawn.GetCellData().GetArray("rgb"))[0]) == (255, 230, 0)
        scene.set_feature_visibility(layer, [1], True)
        assert view.actors[layer].GetMapper().GetInput().GetNumberOfCells() == mesh.n_cells
    finally:
        view.close()
        plotter.close()
