"""Evicted tiles leave the renderer for good (not only the stream's books), and
picking keeps working on what is left and on tiles read again after eviction."""

from __future__ import annotations

import pytest


def _camera(plotter, x: float) -> None:
    cam = plotter.renderer.GetActiveCamera()
    cam.SetPosition(x, -600.0, 50.0)
    cam.SetFocalPoint(x, 0.0, 0.0)
    cam.SetViewUp(0, 0, 1)
    cam.SetViewAngle(40)


def _first_hit(view):
    """The first pixel (scanning the lower half, where the buildings stand) whose
    pick hits something, and the pick."""
    for y in range(20, 120, 8):
        for x in range(40, 300, 20):
            hit = view.pick(x, y)
            if hit is not None:
                return (x, y), hit
    return None, None


def _tile_names(plotter, stream) -> set[str]:
    return {name for name in plotter.actors if str(name).startswith(f"{stream.name}:")}


def _city(city_gpkg):
    """(scene centred on the city, reader, tiles of <= 150 buildings, their boxes)."""
    import numpy as np
    import pyogrio

    from importers.tile_reader import GpkgTileReader
    from twin.scene import Scene

    b = pyogrio.read_info(str(city_gpkg), layer="buildings", force_total_bounds=True)[
        "total_bounds"]
    scene = Scene(crs="EPSG:9208",
                  origin=np.array([(b[0] + b[2]) / 2, (b[1] + b[3]) / 2, 0.0]))
    reader = GpkgTileReader(city_gpkg, "buildings", scene)
    tiles = reader.index(max_features=150)
    return scene, reader, tiles, reader.local_boxes(tiles, z_top=100.0)


@pytest.mark.render
def test_evicted_tiles_leave_the_renderer_and_picking_works_on_the_rest(city_gpkg):
    from twin.render.offscreen import OffscreenRenderer
    from twin.render.tiled import TileStream

    scene, reader, tiles, boxes = _city(city_gpkg)
    with OffscreenRenderer(scene, (320, 240), captions=False, simulation=None, looks=None) as r:
        renderer = r.plotter.renderer
        stream = TileStream(r.view, tiles, boxes, lambda t, d: reader.read(tiles, t, d),
                            near=400.0, memory_bytes=1)  # over the ceiling: keep only the drawn
        _camera(r.plotter, -800.0)
        stream.settle()
        first = dict(stream.resident)
        r.frame()
        pixel, hit = _first_hit(r.view)
        assert hit is not None
        first_id = hit.attributes["id"]
        assert any(hit.layer is layer for layer, _ in first.values())
        others = renderer.GetActors().GetNumberOfItems() - len(first)

        for x in (0.0, 800.0):  # pan on: the first view's tiles are evicted
            _camera(r.plotter, x)
            stream.settle()
        evicted = {k: a for k, (_, a) in first.items() if k not in stream.resident}
        assert evicted, "the pan evicted nothing: the test proves nothing"
        assert not stream.errors
        # gone from VTK's renderer and from pyvista's name -> actor view of it
        assert not any(renderer.HasViewProp(a) for a in evicted.values())
        assert _tile_names(r.plotter, stream) == {stream._actor_name(k) for k in stream.resident}
        assert renderer.GetActors().GetNumberOfItems() == others + len(stream.resident)
        assert len(r.view._pick_cache) <= len(stream.resident)  # their locators went too

        # picking works on what is left: a building of a resident, drawn tile
        r.frame()
        hit = _first_hit(r.view)[1]
        assert hit is not None
        held = {id(layer) for layer, _ in stream.resident.values()}
        assert id(hit.layer) in held
        assert hit.attributes["id"] in set(hit.layer.features.ids)

        # and on the first view's tiles, read again as new actors: the same building
        _camera(r.plotter, -800.0)
        stream.settle()
        r.frame()
        again = r.view.pick(*pixel)
        assert again is not None and again.attributes["id"] == first_id
        assert all(a is not evicted.get(k) for k, (_, a) in stream.resident.items())

        stream.close()
        assert not _tile_names(r.plotter, stream)
        assert renderer.GetActors().GetNumberOfItems() == others


@pytest.mark.render
def test_a_burst_of_evictions_is_spread_over_pumps_within_their_budget(city_gpkg):
    from twin.render.offscreen import OffscreenRenderer
    from twin.render.tiled import TileStream

    scene, reader, tiles, boxes = _city(city_gpkg)
    with OffscreenRenderer(scene, (320, 240), captions=False, simulation=None, looks=None) as r:
        stream = TileStream(r.view, tiles, boxes, lambda t, d: reader.read(tiles, t, d),
                            near=400.0)
        cam = r.plotter.renderer.GetActiveCamera()
        cam.SetPosition(0.0, -6000.0, 6000.0)  # the overview: every tile resident
        cam.SetFocalPoint(0.0, 0.0, 0.0)
        cam.SetViewUp(0, 0, 1)
        stream.settle()
        overview = len(stream.resident)
        assert overview == len(tiles)
        _camera(r.plotter, 0.0)  # down to a street: most tiles are no longer drawn
        stream.settle()
        shown = {k for k, (_, a) in stream.resident.items() if a.GetVisibility()}
        hidden = len(stream.resident) - len(shown)
        assert hidden > 10
        stream.memory_bytes = 1  # now over the ceiling by every hidden tile

        drops = []
        while stream.bytes > 1 and len(stream.resident) > len(shown) and len(drops) < 10_000:
            before = len(stream.resident)
            stream.pump(budget_s=0.001)  # no reads finish: eviction alone, 0.4 ms of it
            drops.append(before - len(stream.resident))
        # a ~0.3 ms drop each: the first pump took a few, the burst needed many pumps
        assert 1 <= drops[0] < hidden and len(drops) > 1
        assert all(d >= 1 for d in drops)  # every pump over the ceiling drops one at least
        assert set(stream.resident) == shown  # in the end only the drawn tiles remain
        assert stream.bytes == sum(
            la.mesh.GetActualMemorySize() * 1024 for la, _ in stream.resident.values())
        stream.close()
