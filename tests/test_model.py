"""Scene, layer, feature table and styles, with no GL and no Qt."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from twin.features import FeatureTable, feature_bounds
from twin.layer import Layer
from twin.meshing import extrude_polygons
from twin.scene import Bookmark, Scene
from twin.style import CLASS_PALETTE, Style, colormap_lut, feature_colors


def make_layer(name: str = "blocks", n: int = 3) -> Layer:
    geoms = np.array([shapely.box(i * 20, 0, i * 20 + 10, 10) for i in range(n)], dtype=object)
    heights = np.arange(1, n + 1) * 10.0
    mesh = extrude_polygons(geoms, np.zeros(n), heights)
    bounds = feature_bounds(mesh.points[mesh.triangles.ravel()], np.repeat(mesh.feature, 3), n)
    table = FeatureTable(
        ids=[f"b{i}" for i in range(n)],
        classes=["school", "hospital", "mystery"][:n],
        names=["Trường", "Bệnh viện", ""][:n],
        bounds=bounds,
        attributes={"height": heights, "note": np.array(["a", None, "c"][:n], dtype=object)},
    )
    return Layer(name=name, mesh=mesh.to_polydata(), features=table)


def test_feature_rows_bounds_and_lookup():
    layer = make_layer()
    t = layer.features
    assert t.row(1)["name"] == "Bệnh viện"
    assert t.row(1)["height"] == 20.0
    assert t.bounds[2].tolist() == [40, 50, 0, 10, 0, 30]
    assert t.find("b2") == 2
    with pytest.raises(KeyError, match="no feature with id 'zz'"):
        t.find("zz")
    assert t.class_counts() == {"hospital": 1, "mystery": 1, "school": 1}
    assert np.array_equal(layer.cells_of([1]), layer.cell_features == 1)


def test_feature_table_concat_fills_missing_columns():
    a = make_layer().features
    b = FeatureTable(["x"], ["park"], ["Công viên"], np.zeros((1, 6)), {"area": [5.0]})
    both = FeatureTable.concat([a, b])
    assert len(both) == 4
    assert np.isnan(both.column("area")[0]) and both.column("area")[3] == 5.0
    assert both.column("note")[3] is None


def test_layer_rejects_cells_pointing_outside_the_table():
    layer = make_layer()
    layer.mesh.cell_data["feature"][0] = 99
    with pytest.raises(ValueError, match="out of range"):
        Layer(name="broken", mesh=layer.mesh, features=layer.features)


def test_class_style_uses_palette_and_stable_fallback():
    layer = make_layer()
    colors = feature_colors(layer.features, Style(mode="class"))
    assert tuple(colors[0]) == CLASS_PALETTE["school"]
    assert tuple(colors[1]) == CLASS_PALETTE["hospital"]
    again = feature_colors(layer.features, Style(mode="class"))
    assert np.array_equal(colors, again)
    custom = feature_colors(
        layer.features, Style(mode="class", class_colors={"mystery": (1, 2, 3)})
    )
    assert tuple(custom[2]) == (1, 2, 3)


def test_attribute_style_maps_range_and_marks_missing():
    layer = make_layer()
    layer.features.attributes["height"][1] = np.nan
    style = Style(mode="attribute", attribute="height", cmap="viridis", clim=(10.0, 30.0))
    colors = feature_colors(layer.features, style)
    lut = colormap_lut("viridis")
    assert tuple(colors[0]) == tuple(lut[0])
    assert tuple(colors[2]) == tuple(lut[-1])
    assert tuple(colors[1]) == style.missing_color


def test_scene_events_reach_subscribers_without_qt():
    scene = Scene(crs="EPSG:9208", origin=[567000, 2358000, 0])
    seen: list[tuple[str, object]] = []
    scene.events.layer_added.connect(lambda la: seen.append(("added", la.name)))
    scene.events.layer_changed.connect(lambda la, what: seen.append((what, la.name)))
    scene.events.layer_removed.connect(lambda la: seen.append(("removed", la.name)))
    first = scene.add_layer(make_layer("blocks"))
    second = scene.add_layer(make_layer("blocks"))
    assert second.name == "blocks (2)"
    scene.set_visible(first, False)
    scene.set_visible(first, False)  # no change, no event
    scene.set_opacity(first, 0.5)
    scene.remove_layer(second)
    assert seen == [
        ("added", "blocks"),
        ("added", "blocks (2)"),
        ("visible", "blocks"),
        ("style", "blocks"),
        ("removed", "blocks (2)"),
    ]


def test_bookmarks_replace_by_name_and_unknown_names_are_listed():
    scene = Scene(crs="EPSG:9208", origin=[0, 0, 0])
    scene.add_bookmark(Bookmark("a", (1, 2, 3), (0, 0, 0)))
    scene.add_bookmark(Bookmark("a", (4, 5, 6), (0, 0, 0)))
    assert [b.position for b in scene.bookmarks] == [(4, 5, 6)]
    with pytest.raises(KeyError, match="have a"):
        scene.bookmark("b")


def test_local_bounds_follow_visibility():
    scene = Scene(crs="EPSG:9208", origin=[0, 0, 0])
    a = scene.add_layer(make_layer("a", 1))
    assert scene.local_bounds().tolist() == [0, 10, 0, 10, 0, 10]
    scene.set_visible(a, False)
    assert scene.local_bounds() is None
