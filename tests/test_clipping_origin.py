"""Clipping range that follows the content near the camera, and judging the
scene origin (float32 precision far from it, re-centring)."""

from __future__ import annotations

import math
import os
import time

import numpy as np
import pytest
import shapely
import vtk

from twin.features import FeatureTable, feature_bounds
from twin.layer import Layer
from twin.meshing import extrude_polygons
from twin.origin import (
    FLOAT32_GUARD_M,
    distance_to_content,
    float32_error_mm,
    judge_import,
    judge_layer_extent,
    picking_error_mm,
    recentre,
)
from twin.render.clipping import MIN_NEAR_M, content_depth_range, fit_clipping_range
from twin.scene import Bookmark, Scene

ORIGIN = np.array([567_000.0, 2_358_000.0, 0.0])  # Việt Trì, VN-2000 metres
RED = (200, 40, 40)


def blocks(name: str, xy, size: float = 10.0, height: float = 12.0) -> tuple[Layer, np.ndarray]:
    """A layer of square blocks at scene-local ``xy`` (n, 2); also the float64
    vertices it was built from (what a float32 mesh only approximates)."""
    xy = np.atleast_2d(np.asarray(xy, dtype=np.float64))
    n = len(xy)
    geoms = np.array([shapely.box(x, y, x + size, y + size) for x, y in xy], dtype=object)
    tri = extrude_polygons(geoms, np.zeros(n), np.full(n, height))
    mesh = tri.to_polydata()
    fb = feature_bounds(np.asarray(mesh.points, np.float64), _point_rows(tri), n)
    table = FeatureTable([f"{name}{i}" for i in range(n)], ["residential"] * n, [""] * n, fb)
    return Layer(name=name, mesh=mesh, features=table), tri.points


def _point_rows(tri) -> np.ndarray:
    rows = np.zeros(len(tri.points), dtype=np.int64)
    rows[tri.triangles.ravel()] = np.repeat(tri.feature, 3)
    return rows


class _Renderer:
    """Just what the clipping code reads from a renderer: a camera and an aspect."""

    def __init__(self, aspect: float = 4 / 3) -> None:
        self.camera = vtk.vtkCamera()
        self.aspect = aspect

    def GetActiveCamera(self):
        return self.camera

    def GetTiledAspectRatio(self) -> float:
        return self.aspect


def _aim(camera, position, focal_point, view_angle: float = 30.0) -> None:
    camera.SetPosition(*position)
    camera.SetFocalPoint(*focal_point)
    camera.SetViewUp(0, 0, 1)
    camera.SetViewAngle(view_angle)
    camera.OrthogonalizeViewUp()


# -- clipping, no GL ------------------------------------------------------------------


def _city(n_side: int = 40, spacing: float = 20.0) -> Scene:
    scene = Scene(crs="EPSG:9208", origin=ORIGIN)
    i, j = np.meshgrid(np.arange(n_side), np.arange(n_side))
    xy = np.column_stack([i.ravel(), j.ravel()]) * spacing
    layer, _ = blocks("city", xy, size=12.0, height=25.0)
    rng = np.random.default_rng(7)
    layer.features.bounds[:, 5] = rng.uniform(4, 60, len(xy))  # varied heights
    scene.add_layer(layer)
    return scene


def _sampled_depths(scene: Scene, camera, aspect: float) -> np.ndarray:
    """Depths of points (corners and random points) of every visible feature box
    that lie inside the exact view frustum: what must never be clipped."""
    rng = np.random.default_rng(1)
    eye = np.array(camera.GetPosition())
    d = np.array(camera.GetDirectionOfProjection())
    up = np.array(camera.GetViewUp())
    right = np.cross(d, up)
    tan_v = math.tan(math.radians(camera.GetViewAngle()) / 2)
    tan_h = tan_v * aspect
    out = []
    for layer in scene.layers:
        if not layer.visible:
            continue
        fb = layer.features.bounds
        lo, hi = fb[:, 0::2], fb[:, 1::2]
        corners = np.array([[i, j, k] for i in (0, 1) for j in (0, 1) for k in (0, 1)])
        t = np.vstack([corners, rng.uniform(0, 1, (56, 3))])
        pts = (lo[:, None, :] + t[None] * (hi - lo)[:, None, :]).reshape(-1, 3) - eye
        z = pts @ d
        inside = (z > 0) & (np.abs(pts @ up) <= z * tan_v) & (np.abs(pts @ right) <= z * tan_h)
        out.append(z[inside])
    return np.concatenate(out)


@pytest.mark.parametrize(
    ("position", "focal_point"),
    [
        ((205.0, -30.0, 1.7), (205.0, 400.0, 6.0)),  # street level, looking up the city
        ((396.0, 396.0, 1.7), (600.0, 700.0, 3.0)),  # inside the grid, diagonal
        ((-600.0, -500.0, 400.0), (400.0, 400.0, 0.0)),  # oblique overview
        ((400.0, 400.0, 2000.0), (400.0, 401.0, 0.0)),  # top-down
    ],
)
def test_range_holds_everything_in_view_and_is_tight(position, focal_point):
    scene = _city()
    ren = _Renderer()
    _aim(ren.camera, position, focal_point)
    near, far = fit_clipping_range(ren, scene, extra_bounds=())
    assert ren.camera.GetClippingRange() == pytest.approx((near, far))
    depths = _sampled_depths(scene, ren.camera, ren.aspect)
    assert len(depths) > 100
    assert near <= depths.min()  # nothing in view is clipped in front ...
    assert far >= depths.max()  # ... or behind
    print(
        f"near {near:.2f} (sampled {depths.min():.2f}), far {far:.0f} (sampled {depths.max():.0f})"
    )
    assert near >= 0.5 * depths.min() or near == MIN_NEAR_M  # and no looser than need be
    assert far <= 1.5 * depths.max() + 50


def test_a_tiny_layer_far_away_does_not_move_near():
    scene = _city(10)
    ren = _Renderer()
    _aim(ren.camera, (105.0, -20.0, 1.7), (105.0, 300.0, 4.0))
    alone = fit_clipping_range(ren, scene, extra_bounds=())
    for where in ([354_000.0, 354_000.0], [95.0, 500_000.0]):  # aside, straight ahead
        far_layer, _ = blocks("far", [where], size=30)
        scene.add_layer(far_layer)
        assert fit_clipping_range(ren, scene, extra_bounds=())[0] == pytest.approx(alone[0])
        scene.remove_layer(far_layer)


def test_hidden_layers_and_features_do_not_count_and_nothing_in_front_falls_back():
    scene = Scene(crs="EPSG:9208", origin=ORIGIN)
    near_block, _ = blocks("near", [[-5.0, 5.0]])
    back, _ = blocks("back", [[-5.0, 100.0]])
    scene.add_layer(near_block)
    scene.add_layer(back)
    ren = _Renderer()
    _aim(ren.camera, (0.0, 0.0, 6.0), (0.0, 50.0, 6.0))
    assert fit_clipping_range(ren, scene, extra_bounds=())[0] < 5.0
    scene.set_visible(near_block, False)
    assert fit_clipping_range(ren, scene, extra_bounds=())[0] > 90.0
    scene.set_visible(near_block, True)
    scene.set_feature_visibility(near_block, [0], False)
    assert fit_clipping_range(ren, scene, extra_bounds=())[0] > 90.0
    _aim(ren.camera, (0.0, 0.0, 6.0), (0.0, -50.0, 6.0))  # everything behind
    near, far = fit_clipping_range(ren, scene, extra_bounds=())
    assert content_depth_range(ren, scene, extra_bounds=()) is None
    assert 0 < near < far


def test_low_camera_keeps_the_ground_in_front_and_coarse_extras_do_not_pull_near():
    scene = Scene(crs="EPSG:9208", origin=ORIGIN)
    layer, _ = blocks("b", [[-5.0, 40.0]])
    scene.add_layer(layer)
    ren = _Renderer()
    _aim(ren.camera, (0.0, 0.0, 1.7), (0.0, 50.0, 3.0))
    without = fit_clipping_range(ren, scene, extra_bounds=())[0]
    ground = (-2000.0, 2000.0, -2000.0, 2000.0, -0.05, -0.05)
    near = fit_clipping_range(ren, scene, ground_bounds=ground, extra_bounds=())[0]
    assert without > 30.0
    assert MIN_NEAR_M <= near < 1.75  # a view ray down to the ground is >= 1.75 m long
    # glyphs spread over the district: a box round the eye says nothing of near
    glyphs = (-500.0, 500.0, -500.0, 500.0, 0.0, 30.0)
    assert fit_clipping_range(ren, scene, ground, [glyphs])[0] == pytest.approx(near)


def test_clipping_costs_well_under_a_millisecond_for_100k_features():
    scene = _city(317)  # 100,489 features
    ren = _Renderer()
    timings = {}
    for label, pos, fp in [
        ("street", (3176.0, 3170.0, 1.7), (3176.0, 3400.0, 5.0)),
        ("overview", (7000.0, -4000.0, 5000.0), (3170.0, 3170.0, 0.0)),
    ]:
        _aim(ren.camera, pos, fp)
        fit_clipping_range(ren, scene, extra_bounds=())  # builds the cache
        runs = []
        for _ in range(20):
            t0 = time.perf_counter()
            fit_clipping_range(ren, scene, extra_bounds=())
            runs.append(time.perf_counter() - t0)
        timings[label] = min(runs) * 1e3
    print("fit_clipping_range, 100k features, best of 20 (ms):", timings)
    assert max(timings.values()) < 2.0  # ~0.2-0.6 ms; loose for a loaded CI box


# -- clipping, rendered -----------------------------------------------------------------


@pytest.fixture
def plotter():
    try:
        from twin.render import use_offscreen_gl
    except ImportError:
        os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")
    else:
        use_offscreen_gl()
    import pyvista as pv

    p = pv.Plotter(off_screen=True, window_size=[320, 240])
    yield p
    p.close()


def _draw(plotter, scene: Scene) -> None:
    """The scene as the view draws it: an actor per layer ("layer:<id>") and a
    ground plane ("ground") three times the size of everything."""
    import pyvista as pv

    for layer in scene.layers:
        color = RED if layer.name == "foreground" else (170, 170, 190)
        plotter.add_mesh(layer.mesh, color=color, name=f"layer:{id(layer)}", reset_camera=False)
    b = scene.local_bounds(visible_only=False)
    size = max(b[1] - b[0], b[3] - b[2]) * 3 + 200
    centre = ((b[0] + b[1]) / 2, (b[2] + b[3]) / 2, -0.05)
    plane = pv.Plane(center=centre, direction=(0, 0, 1), i_size=size, j_size=size)
    plotter.add_mesh(plane, color=(120, 160, 90), name="ground", reset_camera=False)


def _image(plotter) -> np.ndarray:
    """A fresh frame (pyvista's screenshot renders only the first time)."""
    plotter.render_window.Render()
    return np.asarray(plotter.screenshot(return_img=True))[:, :, :3].astype(int)


def _pixel(plotter, local_xyz) -> np.ndarray:
    image = _image(plotter)
    ren = plotter.renderer
    ren.SetWorldPoint(*local_xyz, 1.0)
    ren.WorldToDisplay()
    x, y, _ = ren.GetDisplayPoint()
    return image[image.shape[0] - 1 - round(y), round(x)]


def _is_red(rgb: np.ndarray) -> bool:
    return bool(rgb[0] > 120 and rgb[1] < 90 and rgb[2] < 90)


@pytest.mark.render
@pytest.mark.parametrize("far_at", [(354_000.0, 354_000.0), (-15.0, 500_000.0)])
def test_foreground_building_stays_with_a_layer_500_km_away(plotter, far_at):
    scene = Scene(crs="EPSG:9208", origin=ORIGIN)
    scene.add_layer(blocks("foreground", [[-5.0, 6.0]], size=10, height=12)[0])
    scene.add_layer(blocks("street", [[-30.0, 60.0], [20.0, 80.0]], height=20)[0])
    scene.add_layer(blocks("far", [far_at], size=30)[0])  # a CRS-less import, misplaced
    _draw(plotter, scene)
    cam = plotter.camera
    cam.position = (0.0, -2.0, 1.0)
    cam.focal_point = (0.0, 40.0, 4.0)
    cam.up = (0.0, 0.0, 1.0)
    cam.view_angle = 30.0
    facade = (0.0, 6.0, 5.0)

    plotter.renderer.ResetCameraClippingRange()  # VTK alone: the far layer wins
    vtk_near = cam.clipping_range[0]
    assert vtk_near > 100.0
    assert not _is_red(_pixel(plotter, facade))

    near, far = fit_clipping_range(plotter.renderer, scene)
    assert near < 1.0 and far > 100.0
    assert _is_red(_pixel(plotter, facade))
    assert cam.clipping_range[0] == pytest.approx(near)  # a render does not undo it
    # the pavement just in front of the camera (bottom of the image) is drawn
    image = _image(plotter)
    bottom = image[-3, image.shape[1] // 2]
    assert bottom[1] > bottom[0] and bottom[1] > bottom[2]  # ground green, not sky


# -- origin -----------------------------------------------------------------------------


def test_float32_error_is_half_an_ulp():
    assert float32_error_mm(500_000.0) == pytest.approx(15.625, abs=1e-9)
    assert float32_error_mm(-500_000.0) == pytest.approx(15.625, abs=1e-9)
    assert float32_error_mm(20_000.0) == pytest.approx(0.9765625)
    assert float32_error_mm(2_300_000.0) == pytest.approx(125.0)
    assert float32_error_mm(100.0) < 0.01


def test_judge_layer_extent_numbers():
    far = judge_layer_extent(ORIGIN, [499_990, 500_010, -10, 10, 0, 20], name="cityjson")
    assert far.far
    assert far.distance_m == pytest.approx(500_000.0, abs=1.0)
    assert far.error_mm == pytest.approx(15.625, abs=1e-6)
    assert far.suggested_origin.tolist() == [1_067_000.0, 2_358_000.0, 0.0]
    assert far.message == (
        "cityjson: data lie 500.0 km from the scene origin; float32 precision there "
        "is ±15.6 mm. Re-centre the scene on the data?"
    )
    near = judge_layer_extent(ORIGIN, [-300, 800, -200, 400, 0, 50])
    assert not near.far
    assert near.error_mm < 0.05
    assert "Re-centre" not in near.message
    assert judge_layer_extent(ORIGIN, [30_000, 30_010, 0, 1, 0, 1], threshold_m=50_000).far is False
    assert judge_layer_extent(ORIGIN, [30_000, 30_010, 0, 1, 0, 1]).far is True
    assert FLOAT32_GUARD_M == 20_000.0


def test_judge_import_none_for_nearby_data_one_report_for_far_data():
    scene = Scene(crs="EPSG:9208", origin=ORIGIN)
    scene.add_layer(blocks("town", [[0, 0], [50, 50], [-80, 120]])[0])
    nearby = blocks("more", [[300, -200]])[0]
    assert judge_import(scene, [nearby]) is None
    far1 = blocks("far1", [[354_000, 354_000]])[0]
    far2 = blocks("far2", [[100_000, 0]])[0]
    report = judge_import(scene, [nearby, far1, far2])
    assert report is not None  # one report for the import: the worst layer
    assert report.layer == "far1" and report.far
    assert report.distance_m == pytest.approx(math.hypot(354_005, 354_005), rel=1e-6)
    assert report.error_mm == pytest.approx(15.625)
    # far from the rest of the scene too: a placement problem, not an origin one
    assert not report.recentre_helps
    assert "from the rest of the scene" in report.message
    assert "Check the layer's CRS or placement" in report.message
    # the same after adding (the layers being imported are not "the rest")
    scene.add_layer(far1)
    assert judge_import(scene, [far1]).layer == "far1"


def test_judge_import_is_quiet_about_content_spread_over_a_province():
    scene = Scene(crs="EPSG:9208", origin=ORIGIN)
    scene.add_layer(blocks("west", [[-60_000, 0]])[0])
    scene.add_layer(blocks("east", [[60_000, 0]])[0])
    district = blocks("district", [[45_000, 10_000]])[0]  # 46 km out, inside the province
    assert judge_layer_extent(ORIGIN, district.mesh.bounds).far
    assert judge_import(scene, [district]) is None  # no origin would do better


def test_judge_import_on_reopen_offers_to_recentre_a_misplaced_origin():
    scene = Scene(crs="EPSG:9208", origin=ORIGIN - [480_000.0, 0.0, 0.0])
    scene.add_layer(blocks("a", [[480_000, 0], [480_100, 30]])[0])
    scene.add_layer(blocks("b", [[479_900, -40]])[0])
    report = judge_import(scene, scene.layers)
    assert report is not None and report.recentre_helps
    assert "Re-centre the scene on the data?" in report.message
    assert report.error_mm == pytest.approx(15.625)
    # the suggestion is the centre of the content, in whole metres
    assert np.allclose(report.suggested_origin, [567_005.0, 2_358_000.0, 0.0], atol=1.0)
    assert np.all(report.suggested_origin == np.round(report.suggested_origin))


def test_distance_to_content():
    scene = Scene(crs="EPSG:9208", origin=ORIGIN)
    assert distance_to_content(scene, [0, 1, 0, 1, 0, 1]) is None
    town = scene.add_layer(blocks("town", [[0, 0], [90, 0]])[0])  # x 0..100, y 0..10
    assert distance_to_content(scene, [50_100, 50_200, 0, 10, 0, 5]) == pytest.approx(50_000)
    assert distance_to_content(scene, [50, 60, 5, 20, 0, 1]) == 0.0
    assert distance_to_content(scene, [0, 1, 0, 1, 0, 1], exclude=[town]) is None


def test_recentre_keeps_every_vertex_in_the_world_and_reduces_the_error():
    old_origin = ORIGIN - [500_000.0, 0.0, 0.0]
    scene = Scene(crs="EPSG:9208", origin=old_origin)
    true_xy = np.array([[500_000.123, 10.456], [500_050.789, -30.321]])
    layer, exact_local = blocks("district", true_xy)
    scene.add_layer(layer)
    bm = Bookmark("street", (567_000.0, 2_357_990.0, 1.7), (567_000.0, 2_358_040.0, 3.0))
    scene.add_bookmark(bm)
    true_world = exact_local + old_origin
    world_before = scene.to_world(np.asarray(layer.mesh.points, np.float64))
    bounds_before = layer.features.bounds + np.repeat(old_origin, 2)
    # float32 at 500 km: vertices are centimetres off, and the report says so
    assert np.abs(world_before - true_world).max() * 1000 > 5.0
    assert picking_error_mm(scene) == pytest.approx(15.625)
    report = judge_import(scene, scene.layers)
    assert report is not None and report.recentre_helps

    events: list[tuple[str, str]] = []
    scene.events.layer_changed.connect(lambda la, what: events.append((la.name, what)))
    shift = recentre(scene, report.suggested_origin)

    assert np.array_equal(scene.origin, report.suggested_origin)
    assert np.allclose(shift, old_origin - report.suggested_origin)
    world_after = scene.to_world(np.asarray(layer.mesh.points, np.float64))
    assert np.abs(world_after - world_before).max() * 1000 < 1.0  # within 1 mm
    assert layer.mesh.points.dtype == np.float32
    assert np.allclose(layer.features.bounds + np.repeat(scene.origin, 2), bounds_before)
    assert scene.bookmarks == [bm]  # world coordinates: unchanged
    assert events == [("district", "mesh")]
    # float32 near the new origin: the error bound drops from 15.6 mm to microns,
    # and data imported from now on keep them
    assert picking_error_mm(scene) < 0.01
    again, exact_again = blocks(
        "district (re-imported)", true_xy - scene.origin[:2] + old_origin[:2]
    )
    world_again = scene.to_world(np.asarray(again.mesh.points, np.float64))
    assert np.abs(world_again - (exact_again + scene.origin)).max() * 1000 < 0.01
    assert np.allclose(exact_again + scene.origin, true_world)
