"""See-through cells (IFC glazing): per-cell opacity drawn as RGBA, depth-peeled.

The synthetic scene is one layer, as an IFC model is: a blue pane in front of an
opaque red box in front of a green wall, all on the camera's axis, so the
centre pixel of a render tells how the three were blended.
"""

from __future__ import annotations

import numpy as np
import pytest
import pyvista as pv
from conftest import DATA, SHARED

import importers
from twin.features import FeatureTable
from twin.layer import Layer
from twin.render import COLOR_ARRAY, HIGHLIGHT_MIN_ALPHA, SceneView, use_offscreen_gl
from twin.scene import Bookmark, Scene
from twin.style import HIGHLIGHT_RGB, NATIVE_CELL_ARRAY, NATIVE_OPACITY_ARRAY, Style

pytestmark = pytest.mark.render

SIZE = (300, 200)
PANE, BOX, WALL = 0, 1, 2
PANE_RGB, BOX_RGB, WALL_RGB = (40, 60, 230), (230, 30, 30), (30, 200, 40)
FZK_HAUS = SHARED / "ifc" / "ifc4" / "AC20-FZK-Haus.ifc"


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("CITYTWIN_CACHE_DIR", str(tmp_path / "cache"))


def pane_scene(pane_opacity: float | None, mode: str = "native") -> tuple[Scene, Layer]:
    """Pane (y = 0), box (y = 3..5) and wall (y = 8), one layer; camera on -y."""
    parts = [
        pv.Box(bounds=(-3, 3, -0.1, 0.1, 0, 4)),
        pv.Box(bounds=(-1, 1, 3, 5, 1, 3)),
        pv.Box(bounds=(-6, 6, 8, 8.5, 0, 6)),
    ]
    meshes = []
    for row, (part, rgb) in enumerate(zip(parts, (PANE_RGB, BOX_RGB, WALL_RGB), strict=True)):
        part = part.triangulate()
        part.cell_data["feature"] = np.full(part.n_cells, row, dtype=np.int32)
        part.cell_data[NATIVE_CELL_ARRAY] = np.tile(np.array(rgb, np.uint8), (part.n_cells, 1))
        opacity = 1.0 if row != PANE or pane_opacity is None else pane_opacity
        part.cell_data[NATIVE_OPACITY_ARRAY] = np.full(part.n_cells, opacity, np.float32)
        meshes.append(part)
    mesh = meshes[0].merge(meshes[1:])
    if pane_opacity is None:
        del mesh.cell_data[NATIVE_OPACITY_ARRAY]
    bounds = np.array([p.bounds for p in parts], dtype=np.float64)
    table = FeatureTable(
        np.array(["pane", "box", "wall"], dtype=object),
        np.array(["IfcWindow", "IfcBuildingElementProxy", "IfcWall"], dtype=object),
        np.array(["pane", "box", "wall"], dtype=object),
        bounds,
    )
    layer = Layer("glass", mesh, table, kind="bim", style=Style(mode=mode))
    scene = Scene(crs="EPSG:9208")
    scene.add_layer(layer)
    scene.add_bookmark(Bookmark("axis", (0.0, -20.0, 2.0), (0.0, 5.0, 2.0)))
    return scene, layer


@pytest.fixture
def plotter():
    use_offscreen_gl()
    p = pv.Plotter(off_screen=True, window_size=list(SIZE))
    yield p
    p.close()


def centre(image: np.ndarray) -> np.ndarray:
    """Mean colour of the 5x5 pixels at the image centre, as int."""
    h, w = image.shape[:2]
    return image[h // 2 - 2 : h // 2 + 3, w // 2 - 2 : w // 2 + 3, :3].reshape(-1, 3).mean(0)


def shot(view: SceneView) -> np.ndarray:
    view.plotter.render()
    return np.asarray(view.plotter.screenshot(return_img=True))[:, :, :3].astype(int)


def test_half_transparent_pane_shows_the_box_behind_it(output_dir):
    from twin.render import render_image, save_png

    glass = render_image(pane_scene(0.5)[0], SIZE, "axis").astype(int)
    solid = render_image(pane_scene(1.0)[0], SIZE, "axis").astype(int)
    r, g, b = centre(glass)
    sr, sg, sb = centre(solid)
    ok = (
        # opaque: the pane's own blue, nothing of the red box behind it
        sr < 40
        and sb > 120
        # see-through: blue and red blended (the pane is a slab: its two faces
        # leave a quarter of the red) ...
        and r > 50
        and b > 60
        and r > sr + 25
        # ... and the wall hidden behind the opaque box stays hidden (a weighted
        # average OIT would mix its green into the pixel)
        and g < 60
    )
    if not ok:
        save_png(glass.astype(np.uint8), output_dir / "transparency_pane.png")
    assert ok, f"glass {(r, g, b)}, opaque {(sr, sg, sb)}; see transparency_pane.png"


def test_layer_opacity_multiplies_cell_opacity(plotter):
    scene, layer = pane_scene(0.5)
    view = SceneView(scene, plotter, ground=False)
    view.apply_bookmark("axis")
    full = centre(shot(view))
    scene.set_opacity(layer, 0.3)  # X-ray of a layer that has glass
    assert plotter.renderer.GetUseDepthPeeling()
    xray = centre(shot(view))
    # the opaque box turns see-through too: the wall's green comes through
    assert xray[1] > full[1] + 20, (full, xray)
    assert view.cell_colors(layer).shape[1] == 4
    view.close()


def test_opaque_layers_keep_rgb_and_the_opaque_pass(plotter):
    scenes = [pane_scene(None), pane_scene(1.0), pane_scene(0.5, mode="class")]
    for scene, layer in scenes:
        view = SceneView(scene, plotter, ground=False)
        try:
            assert view.cell_colors(layer).shape == (layer.mesh.n_cells, 3)
            assert not view.actors[layer].HasTranslucentPolygonalGeometry()
            assert not plotter.renderer.GetUseDepthPeeling()
        finally:
            view.close()
            plotter.clear_actors()


def test_style_switch_turns_see_through_cells_on_and_off(plotter):
    scene, layer = pane_scene(0.5, mode="class")
    view = SceneView(scene, plotter, ground=False)
    view.apply_bookmark("axis")
    assert view.cell_colors(layer).shape[1] == 3
    scene.restyle(layer, mode="native")
    rgba = view.cell_colors(layer)
    assert rgba.shape[1] == 4
    assert view.actors[layer].HasTranslucentPolygonalGeometry()
    assert plotter.renderer.GetUseDepthPeeling()
    pane = layer.cell_features == PANE
    assert np.all(rgba[pane, 3] == 128) and np.all(rgba[~pane, 3] == 255)
    assert np.all(rgba[pane, :3] == PANE_RGB)
    r, _, b = centre(shot(view))
    assert r > 60 and b > 60
    # depth peeling into a multisampled framebuffer draws nothing: MSAA went off
    assert plotter.render_window.GetMultiSamples() == 0
    scene.restyle(layer, mode="class")
    assert view.cell_colors(layer).shape[1] == 3
    assert not view.actors[layer].HasTranslucentPolygonalGeometry()
    assert not plotter.renderer.GetUseDepthPeeling()
    view.close()


def test_selection_overlays_and_hidden_cells_keep_the_alpha(plotter):
    scene, layer = pane_scene(0.2)
    view = SceneView(scene, plotter, ground=False)
    view.apply_bookmark("axis")
    pane = layer.cell_features == PANE
    alpha = round(0.2 * 255)

    view.select(layer, [PANE])  # a selected pane reads as selected, still see-through
    rgba = view.cell_colors(layer)
    assert np.all(rgba[pane, :3] == HIGHLIGHT_RGB)
    assert np.all(rgba[pane, 3] == HIGHLIGHT_MIN_ALPHA)
    view.select(None)
    assert np.all(rgba[pane, :3] == PANE_RGB) and np.all(rgba[pane, 3] == alpha)

    colours = np.array([[200, 0, 200], [0, 0, 0], [255, 255, 255]], dtype=np.uint8)
    view.set_feature_colors(layer, colours)  # an overlay recolours; glass stays glass
    assert np.all(rgba[pane, :3] == (200, 0, 200)) and np.all(rgba[pane, 3] == alpha)
    assert np.all(rgba[~pane, 3] == 255)
    view.set_feature_colors(layer, None)

    with_box = centre(shot(view))
    scene.set_feature_visibility(layer, [BOX], False)  # the actor draws a copy
    drawn = view.actors[layer].GetMapper().GetInput()
    copy = np.asarray(drawn.GetCellData().GetArray(COLOR_ARRAY))
    assert copy.shape == (int((layer.cell_features != BOX).sum()), 4)
    assert sorted(np.unique(copy[:, 3]).tolist()) == [alpha, 255]
    without_box = centre(shot(view))
    # through the pane: the red box before, the green wall once it is hidden
    assert with_box[0] > without_box[0] + 40 and without_box[1] > with_box[1] + 40

    view.set_section((0.0, 4.0, 0.0), (0.0, 1.0, 0.0))  # cut off the wall behind
    cut = centre(shot(view))
    # through the pane: the pale sky now, no longer the saturated green wall
    assert cut[1] - cut[0] < without_box[1] - without_box[0] - 40, (without_box, cut)
    view.close()


def _ifc_scene(path) -> tuple[Scene, Layer]:
    probe = importers.open(path, Scene(crs="EPSG:3857"))[0].mesh.bounds
    scene = Scene(crs="EPSG:3857", origin=np.array([round(probe[0], -1), round(probe[2], -1), 0]))
    layers = importers.open(path, scene)
    for layer in layers:
        scene.add_layer(layer)
    return scene, layers[0]


def _window_patch(view: SceneView, layer: Layer, row: int) -> tuple[slice, slice]:
    """Pixel rows/columns (top-down) of the middle half of a feature's projected
    bounding box (a window: the glass, less most of the frame)."""
    b = layer.features.bounds[row]
    corners = np.array(np.meshgrid(b[0:2], b[2:4], b[4:6])).reshape(3, -1).T
    xy = np.array([view.display_point(view.scene.to_world(c)) for c in corners])
    h = view.plotter.window_size[1]
    (x0, y0), (x1, y1) = xy.min(axis=0), xy.max(axis=0)
    qx, qy = (x1 - x0) / 4, (y1 - y0) / 4
    rows = slice(max(int(h - 1 - (y1 - qy)), 0), max(int(h - 1 - (y0 + qy)), 1))
    return rows, slice(max(int(x0 + qx), 0), max(int(x1 - qx), 1))


def _glass_against_opaque(scene: Scene, layer: Layer, row: int, plotter, bookmark):
    view = SceneView(scene, plotter)
    view.apply_bookmark(bookmark)
    glass = shot(view)
    rows, cols = _window_patch(view, layer, row)
    opacity = layer.mesh.cell_data.pop(NATIVE_OPACITY_ARRAY)
    scene.restyle(layer)  # same style, now without see-through cells
    assert view.cell_colors(layer).shape[1] == 3
    opaque = shot(view)
    layer.mesh.cell_data[NATIVE_OPACITY_ARRAY] = opacity
    view.close()
    return glass, opaque, (rows, cols)


def test_ifc_see_through_element_differs_from_its_opaque_render(plotter, output_dir):
    """Sample_entities: distribution boards in a 90 % transparent case (IFC2X3)."""
    from twin.render import save_png

    scene, layer = _ifc_scene(DATA / "ifc" / "Sample_entities.ifc")
    assert layer.info["has_transparency"] is True
    see_through = layer.mesh.cell_data[NATIVE_OPACITY_ARRAY] < 1
    rows = np.unique(layer.cell_features[see_through])
    assert len(rows) and see_through.sum() < layer.n_triangles
    b = layer.features.bounds[rows[0]]
    centre_w = scene.to_world([(b[0] + b[1]) / 2, (b[2] + b[3]) / 2, (b[4] + b[5]) / 2])
    radius = max(float(np.linalg.norm(b[1::2] - b[0::2])), 1.0)
    eye = centre_w + np.array([0.6, -1.0, 0.5]) * radius * 2.5
    scene.add_bookmark(Bookmark("near", tuple(eye), tuple(centre_w)))
    glass, opaque, _ = _glass_against_opaque(scene, layer, int(rows[0]), plotter, "near")
    view = SceneView(scene, plotter)
    view.apply_bookmark("near")
    scene.set_visible(layer, False)
    empty = shot(view)  # what lies behind the model: ground and sky
    view.close()
    changed = np.abs(glass - opaque).sum(axis=-1) > 60
    # the cases' pixels show what lies behind them, nearly as if they were absent
    to_empty = np.abs(glass - empty).sum(axis=-1)[changed].mean()
    opaque_to_empty = np.abs(opaque - empty).sum(axis=-1)[changed].mean()
    ok = changed.sum() > 0.02 * changed.size and to_empty < opaque_to_empty / 2
    if not ok:
        save_png(glass.astype(np.uint8), output_dir / "transparency_sample_entities.png")
    assert ok, (changed.sum(), to_empty, opaque_to_empty)


@pytest.mark.skipif(not FZK_HAUS.exists(), reason=f"shared IFC sample missing: {FZK_HAUS}")
def test_fzk_haus_windows_show_the_rooms_behind(plotter, output_dir):
    from twin.render import save_png

    scene, layer = _ifc_scene(FZK_HAUS)
    assert layer.info["has_transparency"] is True  # glass in opaque frames
    row = int(np.flatnonzero(layer.features.names == "Terrassentuer")[0])
    b = layer.features.bounds[row]
    door = np.array([(b[0] + b[1]) / 2, (b[2] + b[3]) / 2, (b[4] + b[5]) / 2])
    house = layer.mesh.center
    out = np.array([np.sign(door[0] - house[0]), 0.0, 0.0])  # the door faces east
    eye = scene.to_world(door + 6 * (out + np.array([0.0, 0.35, 0.15])))
    scene.add_bookmark(Bookmark("door", tuple(eye), tuple(scene.to_world(door - 2 * out))))
    glass, opaque, patch = _glass_against_opaque(scene, layer, row, plotter, "door")
    # opaque, the panes are the glass's own near-black; see-through, the room behind
    panes = opaque[patch].sum(axis=-1) < 120
    brighter = glass[patch].sum(axis=-1) > opaque[patch].sum(axis=-1) + 60
    ok = panes.mean() > 0.2 and brighter[panes].mean() > 0.8
    if not ok:
        save_png(glass.astype(np.uint8), output_dir / "transparency_fzk_haus.png")
    assert ok, (panes.mean(), brighter[panes].mean())


def test_a_drawing_prepared_on_another_thread_is_adopted_and_draws_the_same(plotter):
    """An import's worker builds the layer's colours and actor (SceneView.prepare);
    adding the layer then adopts that actor, and the picture is the one the view
    would have built itself, see-through cells included. A layer changed after
    its drawing was prepared is drawn from what it is now."""
    import threading

    scene, layer = pane_scene(0.4)
    scene.remove_layer(layer)
    view = SceneView(scene, plotter, ground=False)
    view.apply_bookmark("axis")
    worker = threading.Thread(target=view.prepare, args=([layer],))
    worker.start()
    worker.join()
    prepared = view._prepared[layer].actor
    scene.add_layer(layer)
    assert view.actors[layer] is prepared and not view._prepared
    adopted = shot(view)
    scene.remove_layer(layer)
    scene.add_layer(layer)  # built here, on this thread
    assert view.actors[layer] is not prepared
    assert np.array_equal(shot(view), adopted)
    assert view.actors[layer].HasTranslucentPolygonalGeometry()

    scene.remove_layer(layer)
    view.prepare([layer])
    stale = view._prepared[layer].actor
    layer.style = Style(mode="class")  # changed between prepare and add
    scene.add_layer(layer)
    assert view.actors[layer] is not stale
    assert not view.actors[layer].HasTranslucentPolygonalGeometry()
