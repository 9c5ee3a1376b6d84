"""Absurd coordinates (1e308, 1e400) in a projected CRS: the feature that holds
them is skipped and counted; the rest of the file loads and fixes the origin."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import polygon_feature, run_cli, write_geojson
from pyproj import Transformer

import importers
from twin.geo import LOCAL_CRS
from twin.scene import Scene

E, N = 566000.0, 2357000.0
SCENE = """
[scene]
name = "Bad coordinates"
crs = "EPSG:9208"
origin = [566000.0, 2357000.0, 0]

[[layers]]
name = "Buildings"
path = "{name}"
"""


def _square(x: float, y: float, size: float = 20.0) -> list[tuple[float, float]]:
    return [(x, y), (x + size, y), (x + size, y + size), (x, y + size), (x, y)]


def _file(tmp_path, bad_x: str) -> object:
    """One good footprint near Hà Nội and one with a vertex at ``bad_x``,
    written as literal JSON text (1e400 cannot be produced by json.dumps)."""
    good = polygon_feature("good", _square(E, N), height=10)
    bad = polygon_feature("bad", [(E, N), (123.0, N), (E + 20, N + 20), (E, N)], height=10)
    path = write_geojson(tmp_path / "city.geojson", [good, bad], crs="EPSG:9208")
    path.write_text(path.read_text().replace("[123.0,", f"[{bad_x},"), encoding="utf-8")
    return path


def _check_layers(layers, scene) -> str:
    [layer] = layers
    assert list(layer.features.ids) == ["good"]
    bounds = np.asarray(layer.mesh.bounds)
    assert np.all(np.isfinite(bounds))
    assert bounds[0] + scene.origin[0] == pytest.approx(E, abs=0.1)
    assert bounds[1] - bounds[0] == pytest.approx(20.0, abs=0.1)
    return " | ".join(layer.warnings)


@pytest.mark.parametrize("bad_x", ["1e308", "-1e308", "1e12"])
def test_absurd_projected_coordinate_skipped_when_opened_alone(tmp_path, bad_x):
    path = _file(tmp_path, bad_x)
    scene = importers.scene_for(path)
    assert scene.crs == "EPSG:9208"
    assert list(scene.origin) == [E, N, 0.0]
    text = _check_layers(importers.open(path, scene), scene)
    assert "1 features skipped: coordinates far outside the area of use of EPSG:9208" in text
    assert "(ids: bad)" in text


def test_absurd_projected_coordinate_in_a_scene_layer_is_skipped_with_a_warning(tmp_path):
    _file(tmp_path, "1e308")
    (tmp_path / "s.toml").write_text(SCENE.format(name="city.geojson"), encoding="utf-8")
    scene = importers.open_scene(tmp_path / "s.toml")
    text = _check_layers(scene.layers, scene)
    assert "area of use" in text and "(ids: bad)" in text


@pytest.mark.parametrize("bad_x", ["1e400", "-1e400", "1" * 400])
def test_number_beyond_float_range_skips_only_its_feature(tmp_path, bad_x):
    path = _file(tmp_path, bad_x)
    scene = importers.scene_for(path)
    assert list(scene.origin) == [E, N, 0.0]
    text = _check_layers(importers.open(path, scene), scene)
    assert "1 features skipped: NaN or infinite coordinates (ids: bad)" in text
    assert "1 numbers beyond the float range" in text


def test_number_beyond_float_range_in_a_property_keeps_the_feature(tmp_path):
    good = polygon_feature("good", _square(E, N), height=10, note=123.5)
    path = write_geojson(tmp_path / "p.geojson", [good], crs="EPSG:9208")
    path.write_text(path.read_text().replace("123.5", "1e999"), encoding="utf-8")
    [layer] = importers.open(path, importers.scene_for(path))
    assert list(layer.features.ids) == ["good"]
    assert any("1 numbers beyond the float range" in w for w in layer.warnings)


def test_cli_info_on_a_1e308_file_shows_a_sane_origin_and_bounds(tmp_path):
    path = _file(tmp_path, "1e308")
    result = run_cli("info", str(path))
    assert result.returncode == 0, result.stderr
    assert "origin [566000.0, 2357000.0, 0.0]" in result.stdout
    assert "inf" not in result.stdout.replace("area of use", "")
    assert "E 566000.0..566020.0" in result.stdout


def test_unreadable_json_still_reports_gdal_error(tmp_path):
    path = tmp_path / "broken.geojson"
    path.write_text('{"type": "FeatureCollection", "features": [1e400', encoding="utf-8")
    scene = Scene(crs="EPSG:9208", origin=[E, N, 0.0])
    with pytest.raises(importers.ImportFailed) as info:
        importers.open(path, scene)
    assert str(info.value).startswith(f"{path}: ")


def test_window_is_the_area_of_use_widened_in_crs_units():
    from importers.georef import MAX_ABS_COORD, coordinate_window, in_range

    x0, y0, x1, y1 = coordinate_window("EPSG:9208")
    assert x0 < 0 < 500000 < 1e6 < x1 < 3e6 and y0 < 1.1e6 and 2.6e6 < y1 < 5e6
    xy = np.array([[E, N], [1e308, N], [np.nan, N], [E, np.inf], [E, -1e7], [MAX_ABS_COORD * 2, N]])
    assert in_range(xy, "EPSG:9208").tolist() == [True, False, False, False, False, False]
    # Lon/lat: the axes' range, the same rule the importer used before.
    ll = np.array([[105.8, 21.0], [181.0, 0.0], [0.0, -91.0], [-180.0, 90.0]])
    assert in_range(ll, "EPSG:4326").tolist() == [True, False, False, True]
    # No area of use (local engineering CRS): only the sanity bound.
    cap = MAX_ABS_COORD
    assert coordinate_window(LOCAL_CRS) == (-cap, -cap, cap, cap)
    # An area of use across the antimeridian (PDC Mercator, 98.69°E to 68°W).
    x, y = Transformer.from_crs(4326, 3832, always_xy=True).transform([-170.0, 120.0], [10.0, 0])
    assert in_range(np.column_stack([x, y]), "EPSG:3832").tolist() == [True, True]
