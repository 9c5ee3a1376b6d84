"""Sun-hours: shadows, overhangs, day length, CSV and the before/after difference.

The scenes are a few boxes near Việt Trì (EPSG:9208, ~21.3° N); the expected
values are worked out by hand from the sun's position (pvlib's SPA)."""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest
import shapely

from twin.analysis import sunhours as sh
from twin.features import FeatureTable
from twin.layer import Layer
from twin.meshing import extrude_polygons
from twin.scene import Scene

pytest.importorskip("pvlib")

ORIGIN = [567000.0, 2358000.0, 0.0]
DAY = "2025-06-21"


def boxes_layer(name: str, boxes: list[tuple[float, float, float, float, float, float]]) -> Layer:
    """A buildings layer of axis-aligned boxes (xmin, xmax, ymin, ymax, zmin, zmax)."""
    geoms = np.array([shapely.box(b[0], b[2], b[1], b[3]) for b in boxes], dtype=object)
    base = np.array([b[4] for b in boxes], dtype=float)
    top = np.array([b[5] for b in boxes], dtype=float)
    poly = extrude_polygons(geoms, base, top).to_polydata()
    n = len(boxes)
    feats = FeatureTable(
        ids=[f"b{i}" for i in range(n)],
        classes=["building"] * n,
        names=[""] * n,
        bounds=np.array(boxes, dtype=float)[:, [0, 1, 2, 3, 4, 5]],
    )
    return Layer(name, poly, feats, kind="buildings")


def scene_with(*layers: Layer) -> Scene:
    scene = Scene(crs="EPSG:9208", origin=ORIGIN, name="sun")
    for layer in layers:
        scene.add_layer(layer)
    return scene


@pytest.fixture(scope="module")
def pole_scene() -> Scene:
    return scene_with(boxes_layer("pole", [(-0.1, 0.1, -0.1, 0.1, 0.0, 30.0)]))


def test_pole_shadow_length(pole_scene: Scene) -> None:
    sun = sh.sun_samples(pole_scene, DAY, step_min=15, at=np.zeros(3))
    # one sample in mid-afternoon with the sun about 35-50° high
    afternoon = np.flatnonzero(sun.azimuth_deg > 180)
    j = int(afternoon[np.argmin(np.abs(sun.elevation_deg[afternoon] - 40.0))])
    assert 35 < sun.elevation_deg[j] < 45
    d = sun.directions[j]
    el = math.radians(sun.elevation_deg[j])
    expected = 30.0 / math.tan(el)
    away = -d[:2] / np.linalg.norm(d[:2])  # along the shadow, on the ground
    dist = np.arange(0.2, 2 * expected, 0.02)
    pts = np.column_stack([dist * away[0], dist * away[1], np.zeros_like(dist)])
    occ = sh.scene_occluders(pole_scene)
    lit = sh.lit_matrix(occ, pts, None, d[None, :])[:, 0]
    shadowed = dist[~lit]
    assert shadowed.size and shadowed.min() < 0.3  # the shadow starts at the pole
    # contiguous shadow, then light
    assert not lit[: len(shadowed)].any()
    length = shadowed.max()
    assert abs(length - expected) / expected < 0.02, (length, expected)


def test_overhang_gets_no_sun() -> None:
    probe = scene_with(boxes_layer("probe", [(0, 1, 0, 1, 0, 1)]))
    sun = sh.sun_samples(probe, DAY, at=np.zeros(3))
    lowest = float(sun.elevation_deg[sun.up].min())  # the lowest sun that counts
    # a slab 3 m up, wide enough that even that sun cannot reach under its centre
    half = 3.0 / math.tan(math.radians(lowest)) + 10.0
    posts = [(x, x + 0.3, y, y + 0.3, 0.0, 3.0) for x in (-5.3, 5.0) for y in (-5.3, 5.0)]
    slab = [(-half, half, -half, half, 3.0, 3.3)]
    scene = scene_with(boxes_layer("shelter", posts + slab))
    hours = sh.sun_hours(scene, np.array([[0.0, 0.0, 0.0]]), None, DAY, step_min=15)
    assert hours[0] == 0.0
    # the normal facing up makes no difference
    up = sh.sun_hours(scene, np.array([[0.0, 0.0, 0.0]]), np.array([[0, 0, 1.0]]), DAY)
    assert up[0] == 0.0


def test_open_field_gets_day_length(pole_scene: Scene) -> None:
    import pandas as pd
    import pvlib

    step = 15
    far = np.array([[500.0, 500.0, 0.0]])  # far from the pole: nothing casts on it
    res = sh.sun_hours_detail(pole_scene, far, None, DAY, step_min=step)
    lon, lat = pole_scene.local_to_wgs84(far)[0]
    # geometric day length from the SPA at 1-minute resolution
    minutes = pd.date_range(f"{DAY} 00:00", periods=24 * 60, freq="1min", tz="+07:00")
    el = pvlib.solarposition.get_solarposition(minutes, lat, lon, method="nrel_numpy")
    geometric = float((el["elevation"].to_numpy() > 0).sum()) / 60.0
    assert abs(res.hours[0] - geometric) <= step / 60.0
    # and the apparent sunrise/sunset of the SPA, within a step plus refraction (~8 min)
    rst = pvlib.solarposition.sun_rise_set_transit_spa(minutes[:1], lat, lon)
    apparent = (rst["sunset"].iloc[0] - rst["sunrise"].iloc[0]).total_seconds() / 3600
    assert abs(res.hours[0] - apparent) <= (step + 10) / 60.0
    assert 12.5 < res.hours[0] < 13.5  # June at 21° N
    assert res.backend in ("embree", "trimesh-rtree", "vtk-obbtree")


def test_backends_agree(pole_scene: Scene) -> None:
    pts = np.column_stack([np.linspace(-40, 40, 41), np.full(41, -3.0), np.zeros(41)])
    ref = sh.sun_hours(pole_scene, pts, None, DAY, step_min=30, backend="vtk-obbtree")
    assert (ref < ref.max()).any()  # some points lose sun to the pole
    if sh._has_embree():
        fast = sh.sun_hours(pole_scene, pts, None, DAY, step_min=30, backend="embree")
        np.testing.assert_array_equal(fast, ref)


def test_facing_walls() -> None:
    layer = boxes_layer("block", [(0.0, 10.0, 0.0, 10.0, 0.0, 6.0)])
    scene = scene_with(layer)
    pts, nrm, rows = sh.facade_points(layer, spacing_m=2.0, return_rows=True)
    assert len(pts) > 0 and (rows == 0).all()
    assert np.allclose(np.abs(nrm[:, 2]), 0)
    # outward: each point's normal points away from the block's centre
    centre = np.array([5.0, 5.0])
    assert ((pts[:, :2] - centre) * nrm[:, :2]).sum(axis=1).min() > 0
    # about one point per 4 m² of wall (4 walls of 10 x 6 m)
    assert 0.5 * 240 / 4 <= len(pts) <= 2 * 240 / 4
    hours = sh.sun_hours(scene, pts, nrm, DAY)
    south = nrm[:, 1] < -0.9
    north = nrm[:, 1] > 0.9
    # 21° N in June: the sun stands north of the zenith at noon, so north walls get more
    assert hours[north].mean() > hours[south].mean()


def test_ground_grid_skips_buildings_and_csv(tmp_path) -> None:
    scene = scene_with(boxes_layer("block", [(0.0, 10.0, 0.0, 10.0, 0.0, 6.0)]))
    g = sh.ground_grid_detail(scene, 2.0, bounds=(-10, 20, -10, 20))
    inside = (
        (g.points[:, 0] > 0) & (g.points[:, 0] < 10) & (g.points[:, 1] > 0) & (g.points[:, 1] < 10)
    )
    assert not inside.any()
    assert len(g.points) == 15 * 15 - 25
    hours = sh.sun_hours(scene, g.points, g.normals, DAY, step_min=30)
    out = tmp_path / "sun.csv"
    sh.write_csv(out, g.points, hours, scene)
    rows = list(csv.reader(out.open()))
    assert rows[0] == ["x", "y", "z", "hours"]
    first = [float(v) for v in rows[1]]
    assert first[0] == pytest.approx(g.points[0, 0] + ORIGIN[0], abs=1e-3)
    assert first[1] == pytest.approx(g.points[0, 1] + ORIGIN[1], abs=1e-3)
    assert first[3] == pytest.approx(hours[0], rel=1e-3)
    assert len(rows) == len(g.points) + 1
    png = tmp_path / "sun.png"
    sh.write_png(png, g, hours)
    assert png.stat().st_size > 500


def test_difference_zero_where_no_shadow() -> None:
    existing = boxes_layer("city", [(0.0, 10.0, 0.0, 10.0, 0.0, 6.0), (40, 50, 0, 10, 0, 40)])
    scene = scene_with(existing)
    planned = np.array([False, True])  # the 40 m tower is the plan
    pts = np.array(
        [
            [60.0, 5.0, 0.0],  # 10 m east of the tower: its shadow in the afternoon
            [30.0, 5.0, 0.0],  # 10 m west of it: its shadow in the morning
            # the June sun at 21° N never stands south of east-west: nothing south of
            # the tower or far from it is in its shadow
            [45.0, 60.0, 0.0],
            [5.0, -300.0, 0.0],
        ]
    )
    before, after, diff = sh.sun_hours_difference(
        scene, pts, None, DAY, with_hidden=None, without_hidden={"city": planned}
    )
    np.testing.assert_array_equal(diff, after - before)
    assert diff[2] == 0.0 and diff[3] == 0.0
    assert diff[0] < -1.0 and diff[1] < -1.0
    assert (diff <= 0).all()


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        sh.parse_date("21/06/2025")
    with pytest.raises(ValueError, match="offset"):
        sh.parse_tz("ICT")
    assert len(sh.sample_times(DAY, 15)) == 96
