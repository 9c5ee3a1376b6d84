"""Headless rendering: one actor per layer, picking, and the default scene's baseline."""

from __future__ import annotations

import numpy as np
import pytest
import pyvista as pv
from conftest import ROOT, SCENES

import importers
from twin.imagecompare import compare, read_png
from twin.render import SceneView, render_image, save_png, use_offscreen_gl

pytestmark = pytest.mark.render
BASELINES = ROOT / "tests" / "baselines"


@pytest.fixture(scope="module")
def vnu_scene():
    return importers.open_scene(SCENES / "hanoi_vnu.toml")


@pytest.fixture
def plotter():
    use_offscreen_gl()
    p = pv.Plotter(off_screen=True, window_size=[480, 360])
    yield p
    p.close()


def test_one_actor_per_layer(vnu_scene, plotter):
    view = SceneView(vnu_scene, plotter, ground=False)
    assert len(view.actors) == len(vnu_scene.layers)
    assert len(plotter.renderer.actors) == len(vnu_scene.layers)
    extra = importers.open(ROOT / "assets" / "hanoi_vnu" / "vnu_buildings.geojson", vnu_scene)
    vnu_scene.add_layer(extra[0])
    try:
        assert len(plotter.renderer.actors) == len(vnu_scene.layers) == 2
    finally:
        vnu_scene.remove_layer(extra[0])
    assert len(plotter.renderer.actors) == 1


@pytest.mark.parametrize("name", ["A6", "E1", "Nhà hiệu bộ"])
def test_clicking_a_known_pixel_picks_that_building(vnu_scene, plotter, name):
    view = SceneView(vnu_scene, plotter)
    view.apply_bookmark("overview")
    plotter.render()
    layer = vnu_scene.layers[0]
    row = int(np.flatnonzero(layer.features.names == name)[0])
    b = layer.features.bounds[row]
    roof_centre = vnu_scene.to_world([(b[0] + b[1]) / 2, (b[2] + b[3]) / 2, b[5]])
    x, y = view.display_point(roof_centre)
    hit = view.pick(x, y)
    assert hit is not None
    assert hit.layer is layer
    assert hit.attributes["name"] == name
    assert np.linalg.norm(hit.world[:2] - roof_centre[:2]) < 0.5 * np.hypot(
        b[1] - b[0], b[3] - b[2]
    )
    assert view.pick(2, 2) is None or view.pick(2, 2).layer is not layer


def test_selection_recolours_only_that_feature(vnu_scene, plotter):
    view = SceneView(vnu_scene, plotter)
    layer = vnu_scene.layers[0]
    before = view.cell_colors(layer).copy()
    view.select(layer, [5])
    after = view.cell_colors(layer)
    changed = np.any(before != after, axis=1)
    assert np.array_equal(changed, layer.cell_features == 5)
    view.select(None)
    assert np.array_equal(view.cell_colors(layer), before)


def test_style_by_attribute_changes_colours_in_place(vnu_scene, plotter):
    view = SceneView(vnu_scene, plotter)
    layer = vnu_scene.layers[0]
    array_before = view.cell_colors(layer)
    heights = layer.features.bounds[:, 5].copy()  # roof heights of every building
    layer.features.attributes["roof_z"] = heights
    vnu_scene.restyle(layer, mode="attribute", attribute="roof_z", cmap="viridis")
    try:
        colours = view.cell_colors(layer)
        assert np.shares_memory(colours, array_before)  # written in place, no rebuild
        per_feature = colours[np.searchsorted(layer.cell_features, np.arange(len(heights)))]
        tallest, lowest = int(np.nanargmax(heights)), int(np.nanargmin(heights))
        assert not np.array_equal(per_feature[tallest], per_feature[lowest])
        # viridis runs dark purple (low) to yellow (high): the tallest is the brightest
        assert per_feature[tallest].sum() > per_feature[lowest].sum()
        vnu_scene.restyle(layer, mode="solid", color=(10, 200, 30))
        assert np.all(view.cell_colors(layer) == (10, 200, 30))
    finally:
        vnu_scene.restyle(layer, mode="class")
        del layer.features.attributes["roof_z"]


def test_default_scene_matches_baseline(output_dir):
    """Approve a new baseline by looking at tests/output/viet_tri_overview.png and
    copying it into tests/baselines/ (CI never regenerates baselines)."""
    scene = importers.open_scene(SCENES / "viet_tri.toml")
    image = render_image(scene, (480, 270), "overview")
    actual_path = output_dir / "viet_tri_overview.png"
    save_png(image, actual_path)
    baseline = BASELINES / "viet_tri_overview.png"
    assert baseline.exists(), f"no baseline yet: review {actual_path} and copy it to {baseline}"
    result = compare(image, read_png(baseline))
    if not result.passed:
        save_png(result.diff, output_dir / "viet_tri_overview.diff.png")
    assert result.passed, f"score {result.score:.4f} > {result.tolerance} (see {output_dir})"


def test_comparison_catches_a_missing_layer_and_a_moved_camera():
    scene = importers.open_scene(SCENES / "hanoi_vnu.toml")
    reference = render_image(scene, (320, 200), "overview")
    again = render_image(scene, (320, 200), "overview")
    assert compare(again, reference).score == 0.0
    moved = render_image(scene, (320, 200), "Tòa A6")
    assert not compare(moved, reference).passed
    scene.set_visible(scene.layers[0], False)
    missing = render_image(scene, (320, 200), "overview")
    assert not compare(missing, reference).passed
