"""Picking through cached static cell locators (``twin.render.picking``).

Small offscreen scenes: boxes at known places, a section plane, a line network.
Every test also checks that no pick tested every cell of a data set.
"""

from __future__ import annotations

import os
import threading

import numpy as np
import pytest
import pyvista as pv
from vtkmodules.vtkCommonDataModel import vtkPlane
from vtkmodules.vtkRenderingCore import vtkCellPicker

from twin.render import picking

pytestmark = pytest.mark.render
SIZE = (320, 240)


@pytest.fixture(autouse=True)
def no_brute_force():
    picking.stats.reset()
    yield
    assert picking.stats.brute_force == 0, picking.stats


def _boxes(bounds: list[tuple[float, ...]]) -> pv.PolyData:
    parts = []
    for i, b in enumerate(bounds):
        box = pv.Box(bounds=b).triangulate()
        box.cell_data["feature"] = np.full(box.n_cells, i, dtype=np.int32)
        parts.append(box)
    return pv.merge(parts)


def _plotter() -> pv.Plotter:
    os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")  # no X server
    return pv.Plotter(off_screen=True, window_size=list(SIZE))


def _display(renderer, world) -> tuple[float, float]:
    renderer.SetWorldPoint(*np.asarray(world, dtype=float), 1.0)
    renderer.WorldToDisplay()
    x, y, _ = renderer.GetDisplayPoint()
    return x, y


@pytest.fixture(scope="module")
def city():
    """A 6 x 4 grid of boxes 6 m wide, 10 m apart, 3-20 m tall, seen from 35 degrees."""
    rng = np.random.default_rng(7)
    heights = rng.uniform(3, 20, 24)
    bounds = [
        (10 * i, 10 * i + 6, 10 * j, 10 * j + 6, 0.0, float(heights[4 * i + j]))
        for i in range(6)
        for j in range(4)
    ]
    mesh = _boxes(bounds)
    mesh.cell_data["rgb"] = np.full((mesh.n_cells, 3), 200, dtype=np.uint8)
    plotter = _plotter()
    actor = plotter.add_mesh(mesh, scalars="rgb", rgb=True, reset_camera=False)
    plotter.camera_position = [(28, -55, 50), (28, 18, 0), (0, 0, 1)]
    plotter.renderer.ResetCameraClippingRange()
    plotter.render()
    cache = picking.LocatorCache()
    cache.prebuild([mesh])
    yield plotter, actor, mesh, bounds, cache
    plotter.close()


def test_clicking_a_roof_picks_that_box(city):
    plotter, actor, mesh, bounds, cache = city
    for k in (0, 5, 13, 22):
        b = bounds[k]
        roof = np.array([(b[0] + b[1]) / 2, (b[2] + b[3]) / 2, b[5]])
        x, y = _display(plotter.renderer, roof)
        hit = picking.pick_ray(plotter.renderer, x, y, [(actor, mesh)], cache=cache)
        assert hit is not None
        assert mesh.cell_data["feature"][hit.cell_id] == k
        assert hit.position.dtype == np.float64
        np.testing.assert_allclose(hit.position, roof, atol=1e-4)
    assert picking.stats.locator_queries == 4
    assert picking.stats.click_builds == 0


def test_a_miss_returns_none(city):
    plotter, actor, mesh, _, cache = city
    assert picking.pick_ray(plotter.renderer, 2, SIZE[1] - 2, [(actor, mesh)], cache=cache) is None
    assert picking.pick_ray(plotter.renderer, 2, 2, [], cache=cache) is None


def test_same_answers_as_vtk_cell_picker(city):
    """300 random clicks: same cell as brute-force vtkCellPicker, or the same
    distance (a ray through a shared edge may name either triangle)."""
    plotter, actor, mesh, _, cache = city
    renderer = plotter.renderer
    brute = vtkCellPicker()
    brute.SetTolerance(0.0)
    brute.PickFromListOn()
    brute.AddPickList(actor)
    rng = np.random.default_rng(1)
    hits = 0
    for x, y in rng.uniform((0, 0), (SIZE[0] - 1, SIZE[1] - 1), (300, 2)):
        ours = picking.pick_ray(renderer, x, y, [(actor, mesh)], cache=cache)
        if not (brute.Pick(x, y, 0, renderer) and brute.GetCellId() >= 0):
            assert ours is None, (x, y)
            continue
        hits += 1
        assert ours is not None, (x, y)
        if ours.cell_id != brute.GetCellId():
            near = picking.view_ray(renderer, x, y)[0]
            ref = np.linalg.norm(np.array(brute.GetPickPosition()) - near)
            assert abs(ours.distance - ref) <= 1e-6 * ref, (x, y)
    assert hits > 100
    assert picking.stats.click_builds == 0


def test_one_locator_serves_every_shallow_copy(city):
    _, actor, mesh, _, cache = city
    drawn = actor.GetMapper().GetInput()  # pyvista draws a shallow copy of ``mesh``
    assert drawn is not mesh
    assert cache.get(drawn) is cache.get(mesh) is cache.get(mesh.copy(deep=False))
    assert picking.stats.builds == 0


@pytest.fixture
def two_boxes():
    """Front box F (y 0..2) and back box B (y 10..12) on the camera's line of sight."""
    mesh = _boxes([(-1, 1, 0, 2, -1, 1), (-1, 1, 10, 12, -1, 1)])
    plotter = _plotter()
    actor = plotter.add_mesh(mesh, reset_camera=False)
    plotter.camera_position = [(0, -20, 0), (0, 0, 0), (0, 0, 1)]
    plotter.renderer.ResetCameraClippingRange()
    plotter.render()
    yield plotter, actor, mesh
    plotter.close()


def _centre_pick(plotter, actor, mesh):
    x, y = SIZE[0] / 2, SIZE[1] / 2
    return picking.pick_ray(plotter.renderer, x, y, [(actor, mesh)], cache=picking.LocatorCache())


def test_section_plane_lets_the_click_through_to_the_box_behind(two_boxes):
    plotter, actor, mesh = two_boxes
    hit = _centre_pick(plotter, actor, mesh)
    assert mesh.cell_data["feature"][hit.cell_id] == 0
    np.testing.assert_allclose(hit.position, (0, 0, 0), atol=1e-6)
    plane = vtkPlane()  # VTK keeps n . (x - o) >= 0: everything beyond y = 5
    plane.SetOrigin(0, 5, 0)
    plane.SetNormal(0, 1, 0)
    actor.GetMapper().AddClippingPlane(plane)
    hit = _centre_pick(plotter, actor, mesh)
    assert mesh.cell_data["feature"][hit.cell_id] == 1
    np.testing.assert_allclose(hit.position, (0, 10, 0), atol=1e-6)
    brute = vtkCellPicker()
    brute.SetTolerance(0.0)
    assert brute.Pick(SIZE[0] / 2, SIZE[1] / 2, 0, plotter.renderer)
    np.testing.assert_allclose(brute.GetPickPosition(), hit.position, atol=1e-6)
    plane.SetNormal(0, -1, 0)  # keep y <= 5 only: F again
    assert mesh.cell_data["feature"][_centre_pick(plotter, actor, mesh).cell_id] == 0


def test_parallel_projection(two_boxes):
    plotter, actor, mesh = two_boxes
    plotter.camera.parallel_projection = True
    plotter.renderer.ResetCameraClippingRange()
    hit = _centre_pick(plotter, actor, mesh)
    np.testing.assert_allclose(hit.position, (0, 0, 0), atol=1e-6)
    x, y = _display(plotter.renderer, (0.5, 0, 0.5))
    hit = picking.pick_ray(plotter.renderer, x, y, [(actor, mesh)], cache=picking.LocatorCache())
    np.testing.assert_allclose(hit.position, (0.5, 0, 0.5), atol=1e-6)


def test_actor_transform_is_honoured(two_boxes):
    plotter, actor, mesh = two_boxes
    actor.SetPosition(3, 0, 0)
    actor.SetScale(1, 1, 2)
    x, y = _display(plotter.renderer, (3.5, 0, 1.5))  # on F's front face, moved
    hit = picking.pick_ray(plotter.renderer, x, y, [(actor, mesh)], cache=picking.LocatorCache())
    assert mesh.cell_data["feature"][hit.cell_id] == 0
    np.testing.assert_allclose(hit.position, (3.5, 0, 1.5), atol=1e-6)
    assert _centre_pick(plotter, actor, mesh) is None  # nothing left at the old place


def test_hidden_actor_is_skipped(two_boxes):
    plotter, actor, mesh = two_boxes
    actor.SetVisibility(False)
    assert _centre_pick(plotter, actor, mesh) is None


@pytest.fixture(scope="module")
def roads():
    """11 x 11 polylines 10 m apart on z = 0 (20 segments each), seen from 40 degrees."""
    ticks = np.linspace(0, 100, 21)
    pts, cells = [], []
    for k in range(11):
        for along_x in (True, False):
            line = np.column_stack(
                [ticks, np.full(21, 10.0 * k), np.zeros(21)]
                if along_x
                else [np.full(21, 10.0 * k), ticks, np.zeros(21)]
            )
            cells.append([21, *range(len(pts) * 21, len(pts) * 21 + 21)])
            pts.append(line)
    lines = pv.PolyData(np.vstack(pts), lines=np.concatenate(cells))
    plotter = _plotter()
    actor = plotter.add_mesh(lines, line_width=3, render_lines_as_tubes=True, reset_camera=False)
    plotter.camera_position = [(50, -60, 90), (50, 45, 0), (0, 0, 1)]
    plotter.renderer.ResetCameraClippingRange()
    plotter.render()
    cache = picking.LocatorCache()
    cache.prebuild([lines])
    yield plotter, actor, lines, cache
    plotter.close()


def _screen_distances(renderer, lines: pv.PolyData, x: float, y: float) -> np.ndarray:
    """Pixel distance from (x, y) to every line cell, projected independently."""
    disp = np.array([_display(renderer, p) for p in lines.points])
    out = []
    for cell in range(lines.n_cells):
        ids = lines.get_cell(cell).point_ids
        a, b = disp[ids[:-1]], disp[ids[1:]]
        ab = b - a
        s = np.clip(((np.array([x, y]) - a) * ab).sum(1) / (ab * ab).sum(1), 0, 1)
        out.append(np.linalg.norm(a + s[:, None] * ab - (x, y), axis=1).min())
    return np.array(out)


def test_lines_are_picked_within_a_few_pixels(roads):
    plotter, actor, lines, cache = roads
    renderer = plotter.renderer
    x, y = _display(renderer, (55, 30, 0))  # on the line y = 30 (cell 6), between crossings
    for dy, expect in ((0.0, True), (2.5, True), (-3.5, True), (6.0, False)):
        hit = picking.pick_ray(renderer, x, y + dy, [(actor, lines)], 4.0, cache=cache)
        assert (hit is not None) == expect, dy
        if expect:
            assert hit.cell_id == 6
            assert abs(hit.position[1] - 30) < 1e-6
            assert hit.offset_px == pytest.approx(abs(dy), abs=0.3)
    assert picking.stats.grid_queries == 4
    assert picking.stats.locator_queries == 0


def test_line_picks_agree_with_screen_space_distances(roads):
    plotter, actor, lines, cache = roads
    renderer = plotter.renderer
    tol = 4.0
    rng = np.random.default_rng(3)
    checked = 0
    for x, y in rng.uniform((20, 20), (SIZE[0] - 20, SIZE[1] - 20), (150, 2)):
        hit = picking.pick_ray(renderer, x, y, [(actor, lines)], tol, cache=cache)
        dist = _screen_distances(renderer, lines, x, y)
        if dist.min() < 0.9 * tol:
            checked += 1
            assert hit is not None, (x, y)
            assert dist[hit.cell_id] < 1.1 * tol, (x, y)
        elif dist.min() > 1.1 * tol:
            assert hit is None, (x, y)
    assert checked > 30
    # the grid tested only a fraction of the 440 segments per click
    assert picking.stats.grid_candidates < 0.5 * 440 * picking.stats.grid_queries


def test_brute_force_counter_fires(roads):
    """A tolerance wider than the whole network makes a grid test every segment."""
    plotter, actor, lines, cache = roads
    picking.pick_ray(plotter.renderer, 160, 120, [(actor, lines)], 1e5, cache=cache)
    assert picking.stats.brute_force == 1
    picking.stats.brute_force = 0  # expected here; the autouse check is for real picks


def test_colour_edits_do_not_rebuild_but_geometry_edits_do(two_boxes):
    plotter, actor, mesh = two_boxes
    cache = picking.LocatorCache()
    cache.prebuild([mesh])
    assert picking.stats.builds == 1
    entry = cache.get(mesh)
    loc = entry.locator
    mesh.cell_data["rgb"] = np.zeros((mesh.n_cells, 3), np.uint8)
    mesh.cell_data["rgb"][:] = 255
    mesh.Modified()
    x, y = SIZE[0] / 2, SIZE[1] / 2
    hit = picking.pick_ray(plotter.renderer, x, y, [(actor, mesh)], cache=cache)
    assert hit.position[1] == pytest.approx(0.0)
    assert cache.get(mesh).locator is loc
    assert picking.stats.builds == 1
    assert loc.GetBuildTime() < mesh.GetMTime()  # VTK alone would rebuild on that query
    mesh.points[:, 1] += 1.5  # move both boxes back: geometry changed
    mesh.GetPoints().Modified()
    hit = picking.pick_ray(plotter.renderer, x, y, [(actor, mesh)], cache=cache)
    assert hit.position[1] == pytest.approx(1.5)
    assert picking.stats.builds == 2
    assert picking.stats.click_builds == 1


def test_prebuild_async_builds_off_the_click_path(two_boxes):
    plotter, actor, mesh = two_boxes
    big = pv.Sphere(theta_resolution=200, phi_resolution=200)  # ~80k triangles
    cache = picking.LocatorCache()
    thread = cache.prebuild_async([mesh, big])
    hit = picking.pick_ray(plotter.renderer, SIZE[0] / 2, SIZE[1] / 2, [(actor, mesh)], cache=cache)
    thread.join()
    assert hit is not None
    assert picking.stats.click_builds == 0
    assert picking.stats.builds == 2
    # built inside vtkProbeFilter.Update, i.e. without holding the GIL
    assert picking.stats.background_builds == 2
    cache.prebuild([mesh, big])  # fresh: nothing to do
    assert picking.stats.builds == 2


def test_prune_forgets_geometry_nobody_draws(two_boxes):
    cache = picking.LocatorCache()
    gone = pv.Sphere()
    cache.prebuild([gone, two_boxes[2]])
    assert len(cache) == 2
    del gone
    cache.prune()
    assert len(cache) == 1
    cache.discard(two_boxes[2])
    assert len(cache) == 0


def test_a_click_during_a_background_build_waits_for_it(two_boxes, monkeypatch):
    plotter, actor, mesh = two_boxes
    release = threading.Event()
    real = picking._build_without_gil

    def slow_build(loc, proxy):
        release.wait(5)
        return real(loc, proxy)

    monkeypatch.setattr(picking, "_build_without_gil", slow_build)
    cache = picking.LocatorCache()
    thread = cache.prebuild_async([mesh])
    threading.Timer(0.2, release.set).start()
    hit = picking.pick_ray(plotter.renderer, SIZE[0] / 2, SIZE[1] / 2, [(actor, mesh)], cache=cache)
    thread.join()
    assert mesh.cell_data["feature"][hit.cell_id] == 0
    assert (picking.stats.waits, picking.stats.builds, picking.stats.click_builds) == (1, 1, 0)
