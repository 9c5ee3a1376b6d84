"""The synthetic Việt Trì district: reproducible, valid, non-overlapping, and the
committed GeoPackage is the one the default scene expects."""

from __future__ import annotations

import importlib.util
import sys

import numpy as np
import pyogrio
import pyogrio.raw
import pytest
import shapely
from conftest import ROOT


def _load_generator():
    """The generator by path: it is a tool in ``tools/``, not an installed package."""
    path = ROOT / "tools" / "synth" / "district.py"
    spec = importlib.util.spec_from_file_location("tools.synth.district", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while building
    spec.loader.exec_module(module)
    return module


_gen = _load_generator()
BUILDING_CLASSES = _gen.BUILDING_CLASSES
LAYERS = _gen.LAYERS
LEVEL_HEIGHT = _gen.LEVEL_HEIGHT
ZONES = _gen.ZONES
District = _gen.District
generate_district = _gen.generate_district
write_geopackage = _gen.write_geopackage

ASSET = ROOT / "assets" / "viet_tri" / "viet_tri_district.gpkg"


@pytest.fixture(scope="module")
def small() -> District:
    return generate_district(seed=269, target_buildings=300)


def _same(a: District, b: District) -> bool:
    for name in LAYERS:
        la, lb = a.layers[name], b.layers[name]
        if len(la) != len(lb):
            return False
        if not np.array_equal(shapely.to_wkb(la.geometry), shapely.to_wkb(lb.geometry)):
            return False
        if list(la.columns) != list(lb.columns):
            return False
        for key, col in la.columns.items():
            nan = col.dtype.kind == "f"
            if col.dtype != lb.columns[key].dtype:
                return False
            if not np.array_equal(col, lb.columns[key], equal_nan=nan):
                return False
    return True


def test_same_seed_gives_identical_geometry_and_attributes(small):
    assert _same(small, generate_district(seed=269, target_buildings=300))


def test_another_seed_gives_another_district(small):
    assert not _same(small, generate_district(seed=7, target_buildings=300))


def test_target_sets_the_building_count(small):
    assert len(small.buildings) == 300


def test_buildings_are_valid_and_never_overlap(small):
    geoms = small.buildings.geometry
    assert shapely.is_valid(geoms).all()
    assert set(shapely.get_type_id(geoms)) <= {3, 6}  # Polygon, MultiPolygon
    left, right = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    assert (left == right).all(), "buildings touch or overlap"


def test_buildings_keep_off_carriageways_and_open_land(small):
    roads = small.roads
    carriageway = shapely.union_all(
        shapely.buffer(roads.geometry, roads.columns["width"] / 2, cap_style="flat")
    )
    assert not shapely.intersects(carriageway, small.buildings.geometry).any()
    open_land = shapely.union_all(small.landuse.geometry)
    assert not shapely.intersects(open_land, small.buildings.geometry).any()


def test_classes_zones_and_notable_sites(small):
    cols = small.buildings.columns
    classes = set(cols["class"])
    assert {"station", "school", "hospital", "government", "shophouse"} <= classes
    assert classes <= set(BUILDING_CLASSES)
    assert set(cols["zone"]) <= set(ZONES)
    assert "Ga Việt Trì" in set(cols["name"])
    assert "Bệnh viện Đa khoa tỉnh Phú Thọ" in set(cols["name"])
    holes = shapely.get_num_interior_rings(shapely.get_geometry(small.buildings.geometry, 0))
    assert (holes[cols["class"] == "school"] > 0).any(), "a courtyard school has a hole"


def test_levels_agree_with_height_where_both_are_given(small):
    cols = small.buildings.columns
    height, levels = cols["height"], cols["building:levels"]
    both = ~np.isnan(height) & (levels > 0)
    assert both.any()
    assert np.array_equal(np.round(height[both] / LEVEL_HEIGHT), levels[both])


def test_pois_and_roads(small):
    assert 100 <= len(small.pois) <= 300
    assert {"bus_stop", "street_light", "air_quality_station"} <= set(small.pois.columns["class"])
    road_classes = set(small.roads.columns["class"])
    assert {"primary", "secondary", "rail"} <= road_classes
    assert "Đại lộ Hùng Vương" in set(small.roads.columns["name"])


def test_geopackage_round_trip(tmp_path, small):
    path = tmp_path / "district.gpkg"
    write_geopackage(small, path)
    assert [name for name, _ in pyogrio.list_layers(path)] == list(LAYERS)
    meta, _, wkb, fields = pyogrio.raw.read(path, layer="buildings")
    assert meta["crs"] == "EPSG:9208"
    cols = dict(zip(meta["fields"], fields, strict=True))
    assert list(cols["name"]) == list(small.buildings.columns["name"])  # diacritics intact
    missing = small.buildings.columns["building:levels"] == 0
    assert np.isnan(cols["building:levels"][missing]).all()  # 0 is written as NULL
    assert shapely.equals(shapely.from_wkb(wkb), small.buildings.geometry).all()


def test_writing_twice_gives_the_same_bytes(tmp_path, small):
    first, second = tmp_path / "a.gpkg", tmp_path / "b.gpkg"
    write_geopackage(small, first)
    write_geopackage(small, second)
    assert first.read_bytes() == second.read_bytes()


def test_committed_geopackage():
    assert ASSET.exists(), "run python -m tools.synth.district -o " + str(ASSET)
    assert ASSET.stat().st_size < 3_000_000
    assert {name for name, _ in pyogrio.list_layers(ASSET)} == set(LAYERS)
    for layer in LAYERS:
        assert pyogrio.read_info(ASSET, layer=layer)["crs"] == "EPSG:9208"
    info = pyogrio.read_info(ASSET, layer="buildings")
    assert info["features"] >= 2000
    meta, _, wkb, fields = pyogrio.raw.read(ASSET, layer="buildings")
    cols = dict(zip(meta["fields"], fields, strict=True))
    assert {"station", "school", "hospital"} <= set(cols["class"])
    assert np.isnan(cols["height"]).any() and not np.isnan(cols["height"]).all()
    assert shapely.is_valid(shapely.from_wkb(wkb)).all()
