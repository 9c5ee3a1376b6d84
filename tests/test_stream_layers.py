"""Streamed city layers are layers of the window: a row in the layers dock whose
check box and colour-by act on every tile, picks that select and highlight a
tile's building, an attribute table over the loaded buildings, and a ground
plane under the streamed city (not tens of metres below it)."""

from __future__ import annotations

import numpy as np
import pytest
import pyvista as pv
from conftest import STREAM_CITY_N as N_CITY  # the shared city_gpkg fixture's size


def _scene_file(tmp_path, gpkg):
    import pyogrio

    b = pyogrio.read_info(str(gpkg), layer="buildings", force_total_bounds=True)["total_bounds"]
    cx, cy = (b[0] + b[2]) / 2, (b[1] + b[3]) / 2
    path = tmp_path / "city.toml"
    path.write_text(
        f"""
[scene]
name = "city"
crs = "EPSG:9208"
origin = [{cx}, {cy}, 0.0]

[[layers]]
name = "buildings"
path = "{gpkg}"
options = {{ layer = "buildings" }}
stream = true

[[bookmarks]]
name = "overview"
position = [{cx + 800}, {cy - 1000}, 900.0]
focal_point = [{cx}, {cy}, 0.0]
""",
        encoding="utf-8",
    )
    return path


def _window(qtbot, tmp_path, gpkg):
    import os

    if not os.environ.get("DISPLAY"):
        pytest.skip("no X display (install xvfb: pytest-xvfb starts it)")
    from PySide6.QtCore import QSettings
    from qt_actions import show_window

    import importers
    from app import main_window as mw

    path = _scene_file(tmp_path, gpkg)
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    window = mw.MainWindow(importers.open_scene(path), scene_path=path, settings=settings)
    show_window(qtbot, window)
    return window


def _street(window, x: float = 0.0) -> None:
    cam = window.plotter.renderer.GetActiveCamera()
    cam.SetPosition(x - 60.0, -300.0, 40.0)
    cam.SetFocalPoint(x + 40.0, 0.0, 5.0)
    cam.SetViewUp(0, 0, 1)
    # drawn now: the frame's start chooses the new view's tiles and queues their reads,
    # so a wait for the pending reads that follows cannot pass before they exist
    window.plotter.render()


def _settled(qtbot, stream) -> None:
    qtbot.waitUntil(lambda: any(a.GetVisibility() for _, a in stream.resident.values()),
                    timeout=30_000)
    qtbot.waitUntil(lambda: not stream._pending, timeout=30_000)
    qtbot.wait(100)  # the last pump's tiles are shown
    stream.view.plotter.render()  # and drawn: the mappers have their input


def _drawn_colors(actor) -> np.ndarray:
    """The colours the tile's actor draws (its mapper's input)."""
    from twin.render.tiled import COLOR_ARRAY

    return np.asarray(pv.wrap(actor.GetMapper().GetInput()).cell_data[COLOR_ARRAY])


@pytest.mark.gui
def test_stream_row_toggles_every_tile_and_its_style_reaches_new_tiles(
    city_gpkg, tmp_path, qtbot
):
    from PySide6.QtCore import Qt

    from app.stream_layers import STREAM_ROLE
    from twin.style import cell_colors

    window = _window(qtbot, tmp_path, city_gpkg)
    try:
        (stream,) = window.view.streams
        _settled(qtbot, stream)
        item = window.layer_item("buildings")
        assert item.data(0, STREAM_ROLE)
        assert "streamed" in item.text(0)
        n_tiles = len({t for t, d in stream.resident})
        qtbot.waitUntil(lambda: item.text(1).endswith(f"/ {N_CITY}"), timeout=5_000)
        assert f"of {len(stream.tiles)} tiles" in item.toolTip(0)
        assert int(item.text(1).split("/")[0]) > 0
        window._show_summary()  # the status bar counts the stream's features whole
        assert window.statusBar().currentMessage().startswith(f"1 layers, {N_CITY} features")

        # the check box hides every tile and shows the same ones again ...
        shown = {k for k, (_, a) in stream.resident.items() if a.GetVisibility()}
        item.setCheckState(0, Qt.CheckState.Unchecked)
        assert not any(a.GetVisibility() for _, a in stream.resident.values())
        item.setCheckState(0, Qt.CheckState.Checked)
        assert {k for k, (_, a) in stream.resident.items() if a.GetVisibility()} == shown
        # ... and while hidden the stream loads nothing
        item.setCheckState(0, Qt.CheckState.Unchecked)
        assert not stream.visible and not window.scene.streams[0].visible
        assert stream.resident and not any(a.GetVisibility() for _, a in stream.resident.values())
        before = set(stream.resident)
        _street(window, x=900.0)  # a new view: would need other tiles at full detail
        qtbot.wait(600)
        assert not stream._pending and set(stream.resident) <= before
        assert window.view.pick(*window.view.display_point(window.scene.to_world([900, 0, 5])))\
            is None
        item.setCheckState(0, Qt.CheckState.Checked)
        _settled(qtbot, stream)
        assert set(stream.resident) - before  # loading again: the street view's tiles
        assert n_tiles >= 1

        # colour by height: every resident tile, one scale
        panel = window.layers_panel
        panel.tree.setCurrentItem(item)
        index = panel.style_box.findData("height")
        assert index >= 0 and panel.style_box.isEnabled()
        panel.style_box.setCurrentIndex(index)
        panel.style_box.activated.emit(index)
        style = stream.style
        assert style.mode == "attribute" and style.attribute == "height"
        assert style.clim is not None and style.clim[1] > style.clim[0]
        old_keys = set(stream.resident)
        for layer, actor in stream.resident.values():
            want = cell_colors(layer.mesh.cell_data, layer.cell_features, layer.features, style)
            assert np.array_equal(_drawn_colors(actor), want)
        by_class = [cell_colors(la.mesh.cell_data, la.cell_features, la.features,
                                type(style)()) for la, _ in stream.resident.values()]
        assert any(not np.array_equal(_drawn_colors(a), c)
                   for (_, a), c in zip(stream.resident.values(), by_class, strict=True))

        # tiles that load after the change draw with it
        _street(window, x=-900.0)
        _settled(qtbot, stream)
        new = [k for k in stream.resident if k not in old_keys]
        assert new
        for key in new:
            layer, actor = stream.resident[key]
            assert layer.style is style
            want = cell_colors(layer.mesh.cell_data, layer.cell_features, layer.features, style)
            assert np.array_equal(_drawn_colors(actor), want)
    finally:
        window.close()


@pytest.mark.gui
def test_click_on_a_tile_selects_highlights_and_the_table_shows_loaded_features(
    city_gpkg, tmp_path, qtbot
):
    from qt_actions import click

    from app.stream_layers import loaded_counts
    from twin.style import HIGHLIGHT_RGB

    window = _window(qtbot, tmp_path, city_gpkg)
    try:
        (stream,) = window.view.streams
        _street(window)
        _settled(qtbot, stream)
        layer, _ = next(v for k, v in stream.resident.items() if stream._shows(k))
        row = int(np.argmax(layer.features.bounds[:, 5]))
        b = layer.features.bounds[row]
        window.view.look_at(np.array([(b[0] + b[1]) / 2, (b[2] + b[3]) / 2, b[5]]),
                            distance=150.0)
        window.request_render()
        _settled(qtbot, stream)
        roof = window.scene.to_world([(b[0] + b[1]) / 2, (b[2] + b[3]) / 2, b[5]])
        click(qtbot, window, roof)
        hit = window.last_pick
        assert hit is not None
        picked = hit.layer.features.ids[hit.row]
        assert picked.startswith("VTC-B-") and window.attribute("id") == picked
        assert window.attribute("layer") == "buildings"

        def lit(actor_layer, actor, feature_id) -> np.ndarray:
            cells = actor_layer.features.ids[actor_layer.cell_features] == feature_id
            return (_drawn_colors(actor)[cells] == HIGHLIGHT_RGB).all(axis=1)

        tile_actor = next(a for la, a in stream.resident.values() if la is hit.layer)
        assert lit(hit.layer, tile_actor, picked).all()
        others = hit.layer.features.ids[hit.layer.cell_features] != picked
        assert not (_drawn_colors(tile_actor)[others] == HIGHLIGHT_RGB).all(axis=1).any()

        # the table over the loaded buildings (the row's context menu), the pick selected
        from PySide6.QtCore import QTimer
        from PySide6.QtWidgets import QApplication

        tree = window.layers_panel.tree
        item = window.layer_item("buildings")

        def choose_first() -> None:
            menu = QApplication.activePopupWidget()
            menu.actions()[0].trigger()
            menu.close()

        QTimer.singleShot(300, choose_first)
        tree.customContextMenuRequested.emit(tree.visualItemRect(item).center())
        table = window.attribute_tables.dock(window.layers_panel.streams.tables["buildings"])
        snapshot = table.model.layer
        n = len(snapshot.features)
        assert n == loaded_counts(stream)[1] > 0
        assert f"loaded features: {n}" in table.title()
        assert len(set(snapshot.features.ids.tolist())) == n  # one row per building
        assert snapshot.features.ids[table.selected_rows()].tolist() == [picked]

        # a row chosen in the table lights that building in its tile instead
        other = next(r for r in range(n) if snapshot.features.ids[r] != picked
                     and any(snapshot.features.ids[r] in la.features.ids
                             for la, _ in stream.resident.values()))
        table.table.selectRow(int(table.model.view_rows([other])[0]))
        chosen = snapshot.features.ids[other]
        assert window.attribute("id") == chosen
        window.plotter.render()  # tiles the pump added meanwhile get their mapper input
        holders = [(la, a) for la, a in stream.resident.values()  # the drawn tiles holding it
                   if a.GetVisibility() and chosen in la.features.ids]
        assert holders
        assert all(lit(la, a, chosen).all() for la, a in holders)
        assert not lit(hit.layer, tile_actor, picked).any()

        # the search dock finds loaded streamed buildings, and a result selects one
        search = window.search_panel
        assert search.layer_box.findData("buildings") >= 0
        assert search.run(str(picked)) == 1
        search.list.setCurrentRow(0)
        assert window.attribute("id") == picked
        assert lit(hit.layer, tile_actor, picked).all()
        assert search.run("height > 0") == n  # every loaded building, none twice
    finally:
        window.close()


@pytest.mark.render
def test_ground_plane_lies_at_the_streamed_buildings_base(city_gpkg, tmp_path):
    import importers
    from twin.render.offscreen import OffscreenRenderer

    scene = importers.open_scene(_scene_file(tmp_path, city_gpkg))
    with OffscreenRenderer(scene, (320, 240), captions=False, simulation=None, looks=None) as r:
        cam = r.plotter.renderer.GetActiveCamera()
        cam.SetPosition(-60.0, -300.0, 40.0)
        cam.SetFocalPoint(40.0, 0.0, 5.0)
        cam.SetViewUp(0, 0, 1)
        r.frame()
        (stream,) = r.view.streams
        base = min(float(la.features.bounds[:, 4].min()) for la, _ in stream.resident.values())
        ground = r.view._ground.GetBounds()
        assert abs(ground[4] - base) <= 1.0, (ground[4], base)
        # and it spans the streamed city, not only what is loaded
        x0, y0, x1, y1 = stream.boxes[:, 0].min(), stream.boxes[:, 1].min(), \
            stream.boxes[:, 3].max(), stream.boxes[:, 4].max()
        assert ground[0] <= x0 and ground[1] >= x1 and ground[2] <= y0 and ground[3] >= y1


def test_a_project_keeps_a_streamed_layers_visibility_and_style(tmp_path, city_gpkg):
    """Saved and reopened: the stream's check box and colour-by come back (on the
    scene's source, which a view's stream starts from)."""
    import dataclasses

    import importers
    from twin import project as projects

    path = _scene_file(tmp_path, city_gpkg)
    scene = importers.open_scene(path)
    (source,) = scene.streams
    assert source.visible and source.style is None
    from twin.style import Style

    source.visible = False
    source.style = dataclasses.replace(Style(), mode="attribute", attribute="height",
                                       clim=(3.0, 60.0), opacity=0.5)
    saved = tmp_path / "city.ctproj"
    projects.save_project(projects.capture(scene, path), saved)
    project, warnings = projects.load_project(saved)
    fresh = importers.open_scene(path)
    warnings += projects.apply(project, fresh)
    assert warnings == []
    (again,) = fresh.streams
    assert again.visible is False
    assert (again.style.mode, again.style.attribute, again.style.clim, again.style.opacity) == (
        "attribute", "height", (3.0, 60.0), 0.5)


@pytest.mark.gui
def test_opening_a_project_in_the_window_hides_and_restyles_the_stream(
    city_gpkg, tmp_path, qtbot
):
    from PySide6.QtCore import Qt

    window = _window(qtbot, tmp_path, city_gpkg)
    try:
        (stream,) = window.view.streams
        _settled(qtbot, stream)
        item = window.layer_item("buildings")
        item.setCheckState(0, Qt.CheckState.Unchecked)
        panel = window.layers_panel
        panel.tree.setCurrentItem(item)
        panel.style_box.activated.emit(panel.style_box.findData("height"))  # a user's choice
        saved = tmp_path / "city.ctproj"
        assert window.save_project(saved)
        item.setCheckState(0, Qt.CheckState.Checked)  # changed after saving ...
        panel.style_box.activated.emit(panel.style_box.findData("class"))
        assert stream.style.mode == "class"
        _settled(qtbot, stream)
        window.open_project(saved)  # ... and back as saved
        (stream,) = window.view.streams
        assert not stream.visible
        assert not any(a.GetVisibility() for _, a in stream.resident.values())
        assert stream.style.mode == "attribute" and stream.style.attribute == "height"
        item = window.layer_item("buildings")
        assert item.checkState(0) == Qt.CheckState.Unchecked
    finally:
        window.close()
