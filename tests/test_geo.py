"""Coordinates: VN-2000 transforms agree with PROJ and with the published parameters."""

from __future__ import annotations

import numpy as np
import pytest
from pyproj import Transformer

from twin.geo import CRSResolutionError, parse_crs, require_projected, transform_xy
from twin.scene import Scene

# A point in Việt Trì (lon, lat), and PROJ 9 output for it in EPSG:9208.
VIET_TRI_LONLAT = (105.4010, 21.3220)
VIET_TRI_9208 = (567336.573618215, 2358739.7099050223)

# VN-2000 -> WGS 84 (EPSG:6960 family): published 7 parameters, coordinate frame.
VN2000_TOWGS84 = dict(
    x=-191.90441429,
    y=-39.30318279,
    z=-111.45032835,
    rx=-0.00928836,
    ry=0.01975479,
    rz=-0.00427372,
    s=0.252906278,
)


def test_wgs84_to_vn2000_tm3_matches_proj_golden_point():
    x, y = transform_xy(
        np.array([VIET_TRI_LONLAT[0]]), np.array([VIET_TRI_LONLAT[1]]), "EPSG:4326", "EPSG:9208"
    )
    assert abs(x[0] - VIET_TRI_9208[0]) < 1e-3
    assert abs(y[0] - VIET_TRI_9208[1]) < 1e-3


def test_vn2000_operation_is_the_published_helmert_not_a_ballpark():
    """An explicit pipeline from the published parameters lands within 1 mm."""
    inverse = {k: -v for k, v in VN2000_TOWGS84.items()}
    helmert = " ".join(f"+{k}={v}" for k, v in inverse.items())
    pipeline = Transformer.from_pipeline(
        "+proj=pipeline +step +proj=cart +ellps=WGS84 "
        f"+step +proj=helmert {helmert} +convention=coordinate_frame "
        "+step +inv +proj=cart +ellps=WGS84 "
        "+step +proj=tmerc +lat_0=0 +lon_0=104.75 +k=0.9999 +x_0=500000 +y_0=0 +ellps=WGS84"
    )
    ex, ey = pipeline.transform(*VIET_TRI_LONLAT)
    x, y = transform_xy(
        np.array([VIET_TRI_LONLAT[0]]), np.array([VIET_TRI_LONLAT[1]]), "EPSG:4326", "EPSG:9208"
    )
    assert np.hypot(x[0] - ex, y[0] - ey) < 1e-3


def test_round_trip_between_vn2000_projections_within_a_millimetre():
    rng = np.random.default_rng(7)
    lon = rng.uniform(104.5, 106.0, 200)
    lat = rng.uniform(20.5, 22.0, 200)
    x1, y1 = transform_xy(lon, lat, "EPSG:4326", "EPSG:3405")
    x2, y2 = transform_xy(x1, y1, "EPSG:3405", "EPSG:9208")
    x3, y3 = transform_xy(x2, y2, "EPSG:9208", "EPSG:3405")
    assert np.max(np.hypot(x3 - x1, y3 - y1)) < 1e-3


def test_round_trip_through_wgs84_within_two_millimetres():
    """PROJ inverts the 2D seven-parameter Helmert to about 1 mm (heights are not
    carried), so a trip out to WGS 84 and back is held to 2 mm."""
    rng = np.random.default_rng(8)
    x = rng.uniform(480_000, 640_000, 200)
    y = rng.uniform(2_270_000, 2_430_000, 200)
    lon, lat = transform_xy(x, y, "EPSG:9208", "EPSG:4326")
    bx, by = transform_xy(lon, lat, "EPSG:4326", "EPSG:9208")
    assert np.max(np.hypot(bx - x, by - y)) < 2e-3


def test_known_traps_are_far_apart():
    """VN-2000 taken as WGS 84 is ~223 m off; TM-3 read as UTM 48N is kilometres off."""
    lon, lat = np.array([105.7835]), np.array([21.0390])
    vn_x, vn_y = transform_xy(lon, lat, "EPSG:4326", "EPSG:3405")
    wgs_x, wgs_y = transform_xy(lon, lat, "EPSG:4326", "EPSG:32648")
    assert 200 < np.hypot(vn_x - wgs_x, vn_y - wgs_y)[0] < 250
    tm_x, tm_y = transform_xy(lon, lat, "EPSG:4326", "EPSG:9208")
    assert np.hypot(tm_x - vn_x, tm_y - vn_y)[0] > 20_000


def test_lon_lat_order_is_always_xy():
    x, _ = transform_xy(np.array([105.4]), np.array([21.3]), "EPSG:4326", "EPSG:9208")
    assert 500_000 < x[0] < 700_000  # an easting, not a northing


def test_scene_keeps_local_coordinates_small_and_exact():
    scene = Scene(crs="EPSG:9208", origin=[567000.0, 2358000.0, 0.0])
    local = scene.local_from(
        np.array([VIET_TRI_LONLAT[0]]), np.array([VIET_TRI_LONLAT[1]]), "EPSG:4326"
    )
    assert np.allclose(local[0], (336.573618215, 739.7099050223), atol=1e-6)
    lonlat = scene.local_to_wgs84(local)
    assert np.allclose(lonlat[0], VIET_TRI_LONLAT, atol=1e-9)


@pytest.mark.parametrize("bad", ["EPSG:4326", "EPSG:999999", "not a crs"])
def test_scene_crs_must_be_projected_metres(bad):
    with pytest.raises(CRSResolutionError):
        require_projected(parse_crs(bad))


def test_local_crs_for_data_without_any_crs():
    """Un-georeferenced data gets a local metric scene; it never silently lands on Earth."""
    from twin.geo import LOCAL_CRS

    scene = Scene(crs=LOCAL_CRS, origin=[100.0, 200.0, 0.0])
    local = scene.local_from(np.array([105.0]), np.array([205.0]), LOCAL_CRS)
    assert local.tolist() == [[5.0, 5.0]]
    with pytest.raises(CRSResolutionError, match="local"):
        transform_xy(np.array([1.0]), np.array([2.0]), LOCAL_CRS, "EPSG:9208")


def test_cli_info_on_a_file_without_crs_uses_local_coordinates():
    from conftest import DATA, run_cli

    result = run_cli("info", str(DATA / "cityjson" / "multi_lod.city.json"), "--json")
    assert result.returncode == 0, result.stderr
    import json

    summary = json.loads(result.stdout)
    assert summary["crs"].startswith("local")
    assert summary["layers"][0]["features"] == 10
    assert any("CRS" in w for w in summary["layers"][0]["warnings"])
