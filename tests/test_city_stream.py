"""Whole-city scale: quadtree tiles, frustum choice, streamed tiles in a view."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from tools.synth.city import generate_city, write_city
from twin.tiles import (
    BLOCKS,
    FULL,
    LOD,
    block_boxes,
    box_distance,
    build_quadtree,
    choose_detail,
    frustum_visible,
)

N_CITY = 3000


@pytest.fixture(scope="module")
def city_gpkg(tmp_path_factory):
    path = tmp_path_factory.mktemp("city") / "city.gpkg"
    write_city(generate_city(N_CITY, seed=7), path)
    return path


def _scene(path):
    import pyogrio

    from twin.scene import Scene

    b = pyogrio.read_info(str(path), layer="buildings", force_total_bounds=True)["total_bounds"]
    return Scene(crs="EPSG:9208", origin=np.array([(b[0] + b[2]) / 2, (b[1] + b[3]) / 2, 0.0]))


def test_city_generator_is_seeded_with_roads_and_parks():
    a, b = generate_city(500, seed=3), generate_city(500, seed=3)
    assert len(a.buildings) == 500
    assert shapely.equals_exact(a.buildings.geometry, b.buildings.geometry, 0).all()
    assert len(a.roads) > 0 and len(a.landuse) > 0
    assert set(a.buildings.columns) >= {"id", "class", "height", "building:levels"}


def test_quadtree_tiles_cover_every_feature_exactly_once():
    rng = np.random.default_rng(0)
    centre = rng.uniform(0, 5000, (20_000, 2)) ** [1.0, 1.0]
    centre[:5000] = rng.normal(2500, 100, (5000, 2))  # a dense core forces deep tiles
    half = rng.uniform(3, 15, (20_000, 2))
    boxes = np.hstack([centre - half, centre + half])
    fids = np.arange(20_000) + 1
    tiles = build_quadtree(fids, boxes, max_features=500)
    owned = np.concatenate(tiles.fids)
    assert np.array_equal(np.sort(owned), fids)
    assert tiles.count.sum() == 20_000 and tiles.count.max() <= 500
    assert tiles.depth.max() > tiles.depth.min()  # the core is split deeper
    for t in range(len(tiles)):
        c = centre[tiles.fids[t] - 1]
        x0, y0, x1, y1 = tiles.cell[t]
        assert ((c[:, 0] >= x0) & (c[:, 0] < x1) & (c[:, 1] >= y0) & (c[:, 1] < y1)).all()
        b = boxes[tiles.fids[t] - 1]
        assert (b[:, :2] >= tiles.reach[t, :2]).all() and (b[:, 2:] <= tiles.reach[t, 2:]).all()


def test_frustum_picks_the_tiles_a_camera_sees():
    import vtk

    # a row of 100 m tiles along x, from -1000 to 1000; the camera at the origin looks +x
    xs = np.arange(-1000.0, 1000.0, 100.0)
    boxes = np.column_stack([xs, np.full_like(xs, -50), np.zeros_like(xs),
                             xs + 100, np.full_like(xs, 50), np.full_like(xs, 30)])
    # and one tile far to the side, outside a 30 degree view
    boxes = np.vstack([boxes, [400, 900, 0, 500, 1000, 30]])
    cam = vtk.vtkCamera()
    cam.SetPosition(0, 0, 10)
    cam.SetFocalPoint(100, 0, 10)
    cam.SetViewUp(0, 0, 1)
    cam.SetViewAngle(30)
    cam.SetClippingRange(1, 5000)
    planes = np.zeros(24)
    cam.GetFrustumPlanes(4 / 3, planes)
    seen = frustum_visible(planes, boxes)
    ahead = np.flatnonzero(seen)
    assert set(ahead) == set(range(10, 20)), ahead  # the tile holding the camera and those ahead
    assert not seen[-1]
    detail = choose_detail(seen, box_distance(np.array([0, 0, 10]), boxes), 500.0, 800.0)
    # tile k starts (k - 10) * 100 m ahead: full detail up to 500 m, blocks to 800 m
    assert (detail[10:16] == FULL).all() and (detail[16:19] == LOD).all()
    assert detail[19] == -1 and (detail[:10] == -1).all()
    three = choose_detail(seen, box_distance(np.array([0, 0, 10]), boxes), 500.0, 800.0, 600.0)
    assert three[16] == LOD and (three[17:19] == BLOCKS).all() and three[19] == -1


def test_far_blocks_merge_buildings_per_ground_cell():
    # four houses in one 250 m cell, one in the next; one house has no height
    boxes = np.array([[0, 0, 10, 10], [20, 0, 30, 12], [0, 40, 8, 50], [100, 100, 110, 130],
                      [300, 0, 310, 10]], dtype=float)
    heights = np.array([9.0, 30.0, np.nan, 12.0, 7.0])
    out, med, counts = block_boxes(boxes, heights, cell=250.0)
    order = np.argsort(out[:, 0])
    assert np.array_equal(counts[order], [4, 1])
    assert np.array_equal(out[order], [[0, 0, 110, 130], [300, 0, 310, 10]])
    assert np.array_equal(med[order], [12.0, 7.0])  # median of 9, 12, 30 (NaN left out)


@pytest.mark.render
def test_streamed_layer_draws_and_picks_like_the_plain_layer(city_gpkg, tmp_path):
    from importers import vector
    from importers.tile_reader import GpkgTileReader
    from twin.render.offscreen import OffscreenRenderer
    from twin.render.tiled import TileStream

    def street_camera(plotter):
        cam = plotter.renderer.GetActiveCamera()
        cam.SetPosition(-60.0, -300.0, 40.0)
        cam.SetFocalPoint(40.0, 0.0, 5.0)
        cam.SetViewUp(0, 0, 1)
        cam.SetViewAngle(40)

    plain = _scene(city_gpkg)
    plain.add_layer(vector.read(city_gpkg, plain, {"layer": "buildings"})[0])
    with OffscreenRenderer(plain, (320, 240), captions=False, simulation=None, looks=None) as r:
        r.plotter.remove_actor(r.view._ground)
        street_camera(r.plotter)
        expected = r.frame()

    scene = _scene(city_gpkg)
    reader = GpkgTileReader(city_gpkg, "buildings", scene)
    tiles = reader.index(max_features=150)
    assert len(tiles) > 8
    boxes = reader.local_boxes(tiles, z_top=100.0)
    with OffscreenRenderer(scene, (320, 240), captions=False, simulation=None, looks=None) as r:
        street_camera(r.plotter)
        stream = TileStream(
            r.view, tiles, boxes, lambda t, d: reader.read(tiles, t, d), near=5000.0
        )
        stream.settle()
        assert not stream.errors
        drawn = {t for t, d in stream.resident}
        assert 0 < len(drawn) < len(tiles)  # culled: not the whole city
        got = r.frame()
        differ = np.abs(got.astype(int) - expected.astype(int)).max(axis=2) > 40
        assert differ.mean() < 0.02, differ.mean()
        hit = r.view.pick(160, 120)
        assert hit is not None
        attrs = hit.attributes
        assert attrs["id"].startswith("VTC-B-") and attrs["height"] > 0
        assert hit.layer.info["detail"] == FULL
        stream.close()


@pytest.mark.render
def test_memory_ceiling_evicts_least_recently_drawn_tiles(city_gpkg):
    from importers.tile_reader import GpkgTileReader
    from twin.render.offscreen import OffscreenRenderer
    from twin.render.tiled import TileStream

    scene = _scene(city_gpkg)
    reader = GpkgTileReader(city_gpkg, "buildings", scene)
    tiles = reader.index(max_features=150)
    boxes = reader.local_boxes(tiles, z_top=100.0)
    with OffscreenRenderer(scene, (320, 240), captions=False, simulation=None, looks=None) as r:
        stream = TileStream(r.view, tiles, boxes, lambda t, d: reader.read(tiles, t, d),
                            near=400.0, memory_bytes=1)
        cam = r.plotter.renderer.GetActiveCamera()
        cam.SetViewUp(0, 0, 1)
        first = None
        for x in (-800.0, 0.0, 800.0):  # pan along the city
            cam.SetPosition(x, -600.0, 50.0)
            cam.SetFocalPoint(x, 0.0, 0.0)
            stream.settle()
            shown = {k for k, (_, a) in stream.resident.items() if a.GetVisibility()}
            # over the ceiling, only what is drawn now stays resident
            assert set(stream.resident) == shown
            first = first or shown
        assert not (first & set(stream.resident))  # the first view's tiles were evicted
        assert stream.bytes == sum(
            la.mesh.GetActualMemorySize() * 1024 for la, _ in stream.resident.values()
        )
        stream.close()


def _scene_file(tmp_path, gpkg, stream: bool):
    import pyogrio

    b = pyogrio.read_info(str(gpkg), layer="buildings", force_total_bounds=True)["total_bounds"]
    text = f"""
[scene]
name = "city"
crs = "EPSG:9208"
origin = [{(b[0] + b[2]) / 2}, {(b[1] + b[3]) / 2}, 0.0]

[[layers]]
name = "buildings"
path = "{gpkg}"
options = {{ layer = "buildings" }}
stream = {str(stream).lower()}

[[bookmarks]]
name = "overview"
position = [{(b[0] + b[2]) / 2 + 800}, {(b[1] + b[3]) / 2 - 1000}, 900.0]
focal_point = [{(b[0] + b[2]) / 2}, {(b[1] + b[3]) / 2}, 0.0]
"""
    path = tmp_path / f"city_{stream}.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.render
def test_scene_file_stream_key_renders_like_the_whole_layer(city_gpkg, tmp_path):
    from importers import open_scene
    from twin.render.offscreen import OffscreenRenderer

    frames = {}
    for stream in (False, True):
        scene = open_scene(_scene_file(tmp_path, city_gpkg, stream))
        assert len(scene.streams) == int(stream) and len(scene.layers) == int(not stream)
        with OffscreenRenderer(scene, (320, 240), captions=False, simulation=None,
                               looks=None) as r:
            if r.view._ground is not None:
                r.plotter.remove_actor(r.view._ground)
            cam = r.plotter.renderer.GetActiveCamera()
            cam.SetPosition(200.0, -250.0, 60.0)
            cam.SetFocalPoint(0.0, 0.0, 0.0)
            cam.SetViewUp(0, 0, 1)
            frames[stream] = r.frame()  # the first frame of a streamed scene is complete
    differ = np.abs(frames[True].astype(int) - frames[False].astype(int)).max(axis=2) > 40
    assert differ.mean() < 0.02, differ.mean()


def test_stream_key_on_a_file_that_is_not_a_geopackage_is_one_line_error(tmp_path):
    from importers import ImportFailed, open_scene

    bad = tmp_path / "b.geojson"
    bad.write_text('{"type": "FeatureCollection", "features": []}', encoding="utf-8")
    (tmp_path / "s.toml").write_text(
        f'[scene]\ncrs = "EPSG:9208"\norigin = [0.0, 0.0, 0.0]\n\n'
        f'[[layers]]\npath = "{bad}"\nstream = true\n',
        encoding="utf-8",
    )
    with pytest.raises(ImportFailed, match="GeoPackage"):
        open_scene(tmp_path / "s.toml")


@pytest.mark.gui
def test_window_streams_tiles_without_blocking_and_clicks_pick_them(city_gpkg, tmp_path, request):
    """The real window: tiles arrive through the window's pump timer (not in the
    frame), and a click on a streamed building fills the inspector."""
    import os

    if not os.environ.get("DISPLAY"):
        pytest.skip("no X display (install xvfb: pytest-xvfb starts it)")
    qtbot = request.getfixturevalue("qtbot")
    from PySide6.QtCore import QSettings
    from qt_actions import click, show_window

    import importers
    from app import main_window as mw

    path = _scene_file(tmp_path, city_gpkg, True)
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    window = mw.MainWindow(importers.open_scene(path), scene_path=path, settings=settings)
    try:
        show_window(qtbot, window)
        (stream,) = window.view.streams
        assert not stream.blocking  # the window pumps; frames never wait for reads
        cam = window.plotter.renderer.GetActiveCamera()
        cam.SetPosition(-60.0, -300.0, 40.0)
        cam.SetFocalPoint(40.0, 0.0, 5.0)
        cam.SetViewUp(0, 0, 1)
        window.request_render()
        qtbot.waitUntil(lambda: any(a.GetVisibility() for _, a in stream.resident.values()),
                        timeout=30_000)
        qtbot.waitUntil(lambda: not stream._pending, timeout=30_000)
        layer, _ = next(v for k, v in stream.resident.items() if stream._shows(k))
        row = int(np.argmax(layer.features.bounds[:, 5]))
        b = layer.features.bounds[row]
        window.view.look_at(np.array([(b[0] + b[1]) / 2, (b[2] + b[3]) / 2, b[5]]),
                            distance=150.0)
        window.request_render()
        qtbot.waitUntil(lambda: not stream._pending, timeout=30_000)
        qtbot.wait(200)
        roof = window.scene.to_world([(b[0] + b[1]) / 2, (b[2] + b[3]) / 2, b[5]])
        click(qtbot, window, roof)
        assert window.last_pick is not None
        assert window.last_pick.layer.features.ids[window.last_pick.row].startswith("VTC-B-")
        assert window.attribute("id").startswith("VTC-B-")
        assert window.attribute("layer") == "buildings"  # the scene file's layer name
    finally:
        window.close()


@pytest.fixture(scope="module")
def pg_city(city_gpkg):
    """The small city loaded into a private PostGIS by the real `citytwin db load`."""
    import pg_cluster

    yield from pg_cluster.city_cluster(city_gpkg)


@pytest.mark.render
def test_postgis_stream_draws_the_same_city_as_the_geopackage_stream(
    pg_city, city_gpkg, tmp_path, monkeypatch
):
    from importers import open_scene
    from twin.render.offscreen import OffscreenRenderer

    monkeypatch.delenv("PGPASSWORD", raising=False)
    monkeypatch.setenv("CITYTWIN_CACHE_DIR", str(tmp_path / "cache"))  # the index cache
    gpkg_scene = _scene_file(tmp_path, city_gpkg, True)
    text = gpkg_scene.read_text(encoding="utf-8").replace(
        f'path = "{city_gpkg}"\noptions = {{ layer = "buildings" }}',
        f'source = "{pg_city}"\ntable = "city"',
    )
    pg_scene = tmp_path / "pg.toml"
    pg_scene.write_text(text, encoding="utf-8")
    frames, counts = {}, {}
    for key, path in (("gpkg", gpkg_scene), ("pg", pg_scene)):
        scene = open_scene(path)
        (source,) = scene.streams
        counts[key] = (len(source.tiles), source.n_features)
        with OffscreenRenderer(scene, (320, 240), captions=False, simulation=None,
                               looks=None) as r:
            cam = r.plotter.renderer.GetActiveCamera()
            cam.SetPosition(200.0, -250.0, 60.0)
            cam.SetFocalPoint(0.0, 0.0, 0.0)
            cam.SetViewUp(0, 0, 1)
            frames[key] = r.frame()
            (stream,) = r.view.streams
            drawn = [la for k, (la, _) in stream.resident.items() if stream._shows(k)]
            if key == "pg":  # each row in one tile: no building read twice
                ids = np.concatenate([la.features.ids for la in drawn if la.info["detail"] == 0])
                assert len(ids) == len(set(ids.tolist())) > 0
    assert counts["pg"] == (counts["gpkg"][0], N_CITY)
    differ = np.abs(frames["pg"].astype(int) - frames["gpkg"].astype(int)).max(axis=2) > 40
    assert differ.mean() < 0.01, differ.mean()
