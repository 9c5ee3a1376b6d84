"""GeoJSON / GeoPackage / Shapefile import: heights, reprojection, bad features."""

from __future__ import annotations

import numpy as np
import pyogrio.raw
import pytest
import shapely
from conftest import ROOT, polygon_feature, write_geojson
from pyproj import Transformer

import importers
from importers.errors import ImportFailed
from twin.scene import Scene

VNU = ROOT / "assets" / "hanoi_vnu" / "vnu_buildings.geojson"


def square(lon: float, lat: float, d: float = 0.0003) -> list[tuple[float, float]]:
    return [(lon, lat), (lon + d, lat), (lon + d, lat + d), (lon, lat + d), (lon, lat)]


@pytest.fixture
def scene() -> Scene:
    return Scene(crs="EPSG:9208", origin=[567000.0, 2358000.0, 0.0], default_height=9.0)


def test_vnu_osm_buildings_import_with_heights_from_tags():
    scene = Scene(crs="EPSG:3405", origin=[581200.0, 2326800.0, 0.0], default_height=15.0)
    [layer] = importers.open(VNU, scene)
    table = layer.features
    assert len(table) == 63
    assert layer.kind == "buildings"
    e2 = table.find("607615931")  # building:levels=5 in other_tags
    assert table.names[e2] == "E2"
    assert table.bounds[e2, 5] == pytest.approx(5 * 3.2)
    a6 = int(np.flatnonzero(table.names == "A6")[0])  # height=27 in other_tags
    assert table.bounds[a6, 5] == pytest.approx(27.0)
    c5 = int(np.flatnonzero(table.names == "C5")[0])  # no height data -> scene default
    assert table.bounds[c5, 5] == pytest.approx(15.0)
    assert any("no height" in w for w in layer.warnings)
    assert set(np.unique(layer.cell_features)) == set(range(63))


def test_footprints_are_reprojected_into_the_scene_crs(tmp_path, scene):
    path = write_geojson(
        tmp_path / "one.geojson", [polygon_feature("b1", square(105.401, 21.322), height=20)]
    )
    [layer] = importers.open(path, scene)
    xmin, xmax, ymin, ymax, zmin, zmax = layer.features.bounds[0]
    lon, lat = np.array(square(105.401, 21.322)).T
    ex, ey = Transformer.from_crs(4326, 9208, always_xy=True).transform(lon, lat)
    expected = [
        ex.min() - 567000.0,
        ex.max() - 567000.0,
        ey.min() - 2358000.0,
        ey.max() - 2358000.0,
    ]
    assert [xmin, xmax, ymin, ymax] == pytest.approx(expected, abs=0.01)  # float32 mesh
    assert (zmin, zmax) == (0.0, 20.0)


def test_height_fallbacks_levels_then_default_and_min_height(tmp_path, scene):
    feats = [
        polygon_feature("h", square(105.400, 21.32), height=30.5),
        polygon_feature("lv", square(105.401, 21.32), **{"building:levels": 4}),
        polygon_feature("none", square(105.402, 21.32)),
        polygon_feature("raised", square(105.403, 21.32), height=20, min_height=8),
    ]
    [layer] = importers.open(write_geojson(tmp_path / "h.geojson", feats), scene)
    tops = dict(zip(layer.features.ids, layer.features.bounds[:, 5], strict=True))
    bases = dict(zip(layer.features.ids, layer.features.bounds[:, 4], strict=True))
    assert tops == pytest.approx({"h": 30.5, "lv": 12.8, "none": 9.0, "raised": 20.0})
    assert bases["raised"] == pytest.approx(8.0)


def test_one_bad_feature_never_fails_the_import(tmp_path, scene):
    bowtie = [
        (105.42, 21.32),
        (105.4203, 21.3203),
        (105.4203, 21.32),
        (105.42, 21.3203),
        (105.42, 21.32),
    ]
    feats = [
        polygon_feature("good", square(105.40, 21.32), height=12),
        polygon_feature(
            "nan", [(105.41, 21.32), (float("nan"), 21.32), (105.4103, 21.3203), (105.41, 21.32)]
        ),
        polygon_feature("bowtie", bowtie, height=10),
        polygon_feature("unclosed", square(105.43, 21.32)[:-1], height=10),
        {"type": "Feature", "properties": {"id": "nogeom"}, "geometry": None},
        polygon_feature(
            "degrees?", [(567000, 2358000), (567030, 2358000), (567030, 2358030), (567000, 2358000)]
        ),
    ]
    [layer] = importers.open(write_geojson(tmp_path / "bad.geojson", feats), scene)
    ids = set(layer.features.ids)
    assert ids == {"good", "bowtie", "unclosed"}
    text = " | ".join(layer.warnings)
    assert "NaN or infinite coordinates (ids: nan)" in text
    assert "empty or unreadable geometry (ids: nogeom)" in text
    assert "outside longitude/latitude range" in text and "degrees?" in text
    assert "repaired with make_valid (ids: bowtie)" in text
    assert "Non closed ring" in text
    bow = layer.features.find("bowtie")
    assert layer.features.bounds[bow, 5] == pytest.approx(10.0)


def test_holes_survive_import(tmp_path, scene):
    outer = square(105.40, 21.32, 0.001)
    hole = square(105.4003, 21.3203, 0.0004)[::-1]
    [layer] = importers.open(
        write_geojson(tmp_path / "c.geojson", [polygon_feature("court", outer, [hole], height=9)]),
        scene,
    )
    cx, cy = Transformer.from_crs(4326, 9208, always_xy=True).transform(105.4005, 21.3205)
    x, y = cx - 567000.0, cy - 2358000.0
    hits, _ = layer.mesh.ray_trace([x, y, 100.0], [x, y, -100.0])
    assert len(hits) == 0


def test_lines_become_ribbons_and_points_markers(tmp_path, scene):
    feats = [
        {
            "type": "Feature",
            "properties": {"id": "r1", "highway": "primary", "width": 12},
            "geometry": {"type": "LineString", "coordinates": [[105.40, 21.32], [105.41, 21.32]]},
        },
        {
            "type": "Feature",
            "properties": {"id": "r2", "highway": "residential"},
            "geometry": {"type": "LineString", "coordinates": [[105.40, 21.33], [105.41, 21.33]]},
        },
        {
            "type": "Feature",
            "properties": {"id": "p1", "name": "Trạm quan trắc"},
            "geometry": {"type": "Point", "coordinates": [105.405, 21.325]},
        },
    ]
    layers = importers.open(write_geojson(tmp_path / "mix.geojson", feats), scene)
    kinds = {la.kind: la for la in layers}
    assert set(kinds) == {"roads", "points"}
    roads = kinds["roads"]
    length = shapely.length(
        shapely.LineString(
            np.column_stack(
                Transformer.from_crs(4326, 9208, always_xy=True).transform(
                    [105.40, 105.41], [21.32, 21.32]
                )
            )
        )
    )
    r1 = roads.cells_of([roads.features.find("r1")])
    assert roads.mesh.extract_cells(np.flatnonzero(r1)).area == pytest.approx(length * 12, rel=1e-3)
    r2 = roads.cells_of([roads.features.find("r2")])
    assert roads.mesh.extract_cells(np.flatnonzero(r2)).area == pytest.approx(length * 6, rel=2e-2)
    assert kinds["points"].features.names[0] == "Trạm quan trắc"


@pytest.mark.parametrize("driver,suffix", [("GPKG", ".gpkg"), ("ESRI Shapefile", ".shp")])
def test_geopackage_and_shapefile_in_a_projected_crs(tmp_path, scene, driver, suffix):
    geoms = [
        shapely.box(567100, 2358100, 567120, 2358130),
        shapely.box(567200, 2358200, 567210, 2358205),
    ]
    path = tmp_path / f"blocks{suffix}"
    pyogrio.raw.write(
        path,
        shapely.to_wkb(np.array(geoms, dtype=object)),
        field_data=[np.array(["a", "b"], dtype=object), np.array([15.0, 6.0])],
        fields=["id", "height"],
        layer="blocks",
        driver=driver,
        crs="EPSG:9208",
        geometry_type="Polygon",
    )
    [layer] = importers.open(path, scene)
    assert list(layer.features.ids) == ["a", "b"]
    assert layer.features.bounds[0] == pytest.approx([100, 120, 100, 130, 0, 15], abs=1e-3)


def test_file_in_another_projected_crs_is_reprojected(tmp_path, scene):
    ex, ey = Transformer.from_crs(4326, 3405, always_xy=True).transform(105.401, 21.322)
    path = tmp_path / "utm.gpkg"
    pyogrio.raw.write(
        path,
        shapely.to_wkb(np.array([shapely.box(ex, ey, ex + 10, ey + 10)])),
        field_data=[np.array(["u"], dtype=object)],
        fields=["id"],
        driver="GPKG",
        crs="EPSG:3405",
        geometry_type="Polygon",
    )
    [layer] = importers.open(path, scene)
    tx, ty = Transformer.from_crs(4326, 9208, always_xy=True).transform(105.401, 21.322)
    assert layer.features.bounds[0, 0] == pytest.approx(tx - 567000.0, abs=0.05)
    assert layer.features.bounds[0, 2] == pytest.approx(ty - 2358000.0, abs=0.05)


@pytest.mark.parametrize(
    ("content", "expect"),
    [
        ('{"type": "FeatureCollection", "features": [', "bad.geojson"),
        ("this is not json at all", "bad.geojson"),
        ('{"type": "FeatureCollection", "features": []}', "no usable geometry"),
    ],
)
def test_unreadable_geojson_gives_one_line_error_naming_the_file(tmp_path, scene, content, expect):
    path = tmp_path / "bad.geojson"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ImportFailed) as info:
        importers.open(path, scene)
    message = str(info.value)
    assert "\n" not in message
    assert str(path) in message
    assert expect in message


def test_unknown_extension_and_missing_file(tmp_path, scene):
    (tmp_path / "x.xyz").write_text("1 2 3")
    with pytest.raises(ImportFailed, match=r"unsupported file type '\.xyz'"):
        importers.open(tmp_path / "x.xyz", scene)
    with pytest.raises(ImportFailed, match="file not found"):
        importers.open(tmp_path / "missing.geojson", scene)


def test_underground_works_stay_below_ground(tmp_path):
    """The plan's 2-level car park (min_height -9, height -0.4) is a body from -9 m
    to -0.4 m, not a 9 m block on the station square (the default height)."""
    from conftest import polygon_feature, write_geojson

    import importers
    from twin.scene import Scene

    e, n = 568300.0, 2357700.0
    ring = [(e, n), (e + 40, n), (e + 40, n + 30), (e, n + 30), (e, n)]
    path = write_geojson(tmp_path / "park.geojson", [
        polygon_feature("PARK-U", ring, height=-0.4, min_height=-9.0),
        polygon_feature("KIOSK", [(x + 60, y) for x, y in ring], height=3.0),
        polygon_feature("NO-HEIGHT", [(x + 120, y) for x, y in ring]),
    ], crs="EPSG:9208")
    scene = Scene(crs="EPSG:9208", origin=np.array([e, n, 0.0]), default_height=9.0)
    (layer,) = importers.open(path, scene)
    bounds = {fid: layer.features.bounds[i] for i, fid in enumerate(layer.features.ids)}
    assert bounds["PARK-U"][4] == pytest.approx(-9.0)
    assert bounds["PARK-U"][5] == pytest.approx(-0.4)
    assert bounds["KIOSK"][5] == pytest.approx(3.0)
    assert bounds["NO-HEIGHT"][5] == pytest.approx(9.0)  # still the scene default
    notes = layer.warnings + layer.info.get("notes", [])
    assert any("1 footprints had no height" in w for w in notes)
