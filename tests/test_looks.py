"""Looks (twin.render.looks): each option changes the picture of a small scene
the way it should, and removing them gives back the plain picture."""

from __future__ import annotations

import numpy as np
import pytest
import pyvista as pv

from twin.features import FeatureTable
from twin.layer import Layer
from twin.render import SceneView, save_png, use_offscreen_gl
from twin.render import looks as lk
from twin.scene import Bookmark, Scene
from twin.style import Style

pytestmark = pytest.mark.render

SIZE = (200, 150)


def _table(n: int, bounds: np.ndarray) -> FeatureTable:
    ids = np.array([f"b{i}" for i in range(n)], dtype=object)
    return FeatureTable(ids, np.array(["Building"] * n, dtype=object), ids, bounds)


def boxes_scene(cloud: bool = False) -> Scene:
    """Two boxes on the ground (a grey plane layer), seen from above at an angle;
    with ``cloud``, a point cloud layer of a dome beside them."""
    scene = Scene(crs="EPSG:9208")
    parts = [pv.Box(bounds=(-6, -1, -3, 3, 0, 6)), pv.Box(bounds=(2, 6, -2, 2, 0, 3))]
    meshes = []
    for row, part in enumerate(parts):
        part = part.triangulate()
        part.cell_data["feature"] = np.full(part.n_cells, row, dtype=np.int32)
        meshes.append(part)
    mesh = meshes[0].merge(meshes[1:])
    bounds = np.array([p.bounds for p in parts], dtype=np.float64)
    scene.add_layer(
        Layer(
            "boxes",
            mesh,
            _table(2, bounds),
            kind="buildings",
            style=Style(mode="solid", color=(200, 200, 200)),
        )
    )
    if cloud:
        rng = np.random.default_rng(1)
        n = 4000
        xy = rng.uniform(-4, 4, (n, 2))
        z = np.clip(4 - 0.25 * (xy**2).sum(1), 0, None) + 0.1
        pts = pv.PolyData(np.c_[xy[:, 0], xy[:, 1] - 9, z])
        pts.cell_data["feature"] = np.zeros(pts.n_cells, dtype=np.int32)
        scene.add_layer(
            Layer(
                "cloud",
                pts,
                _table(1, np.array([pts.bounds])),
                kind="pointcloud",
                style=Style(mode="solid", color=(64, 128, 255)),
            )
        )
    scene.add_bookmark(Bookmark("look", (14.0, -22.0, 18.0), (0.0, -2.0, 1.0)))
    return scene


@pytest.fixture
def view():
    use_offscreen_gl()
    made: list[tuple[pv.Plotter, SceneView]] = []

    def make(cloud: bool = False) -> SceneView:
        p = pv.Plotter(off_screen=True, window_size=list(SIZE))
        v = SceneView(boxes_scene(cloud), p)
        v.apply_bookmark("look")
        made.append((p, v))
        return v

    yield make
    for p, v in made:
        v.close()
        p.close()


def shot(view: SceneView) -> np.ndarray:
    view.plotter.render()
    return np.asarray(view.plotter.screenshot(return_img=True))[:, :, :3].astype(float) / 255


def box_mask(view: SceneView) -> np.ndarray:
    """Pixels where the boxes are drawn (everything else hidden)."""
    for a in [*view.overlay_actors.values(), view._ground]:
        if a is not None:
            a.SetVisibility(False)
    img = shot(view)
    for a in [*view.overlay_actors.values(), view._ground]:
        if a is not None:
            a.SetVisibility(True)
    bg = shot_background(view)
    return np.abs(img - bg).sum(2) > 0.05


def shot_background(view: SceneView) -> np.ndarray:
    actors = [*view.actors.values(), *view.overlay_actors.values(), view._ground]
    for a in actors:
        if a is not None:
            a.SetVisibility(False)
    img = shot(view)
    for a in actors:
        if a is not None:
            a.SetVisibility(True)
    return img


def luminance(img: np.ndarray) -> np.ndarray:
    return img @ np.array([0.299, 0.587, 0.114])


def check(ok: bool, name: str, images: list[np.ndarray], output_dir, msg: str) -> None:
    if not ok:
        save_png(
            (np.concatenate(images, axis=1) * 255).astype(np.uint8), output_dir / f"{name}.png"
        )
    assert ok, f"{msg}; see {name}.png"


def test_edges_add_dark_pixels_on_box_outlines(view, output_dir):
    v = view()
    plain = shot(v)
    lk.apply_looks(v, lk.LookOptions(edges=True))
    edged = shot(v)
    dark_plain = (luminance(plain) < 0.3).sum()
    dark_edged = (luminance(edged) < 0.3).sum()
    # the outlines of two boxes: a few hundred pixels at this size
    check(
        dark_edged > dark_plain + 150,
        "looks_edges",
        [plain, edged],
        output_dir,
        f"dark pixels {dark_plain} -> {dark_edged}",
    )
    lk.remove_looks(v)
    assert np.abs(shot(v) - plain).mean() < 0.002


def test_edges_skip_triangulation_diagonals():
    scene = boxes_scene()
    edges = lk.building_edges(scene.layers[0])
    assert edges is not None
    # 12 box edges each, nothing across the (triangulated) faces
    assert edges.n_cells == 24
    assert lk.building_edges(scene.layers[0]) is edges  # cached


def test_ambient_occlusion_darkens_where_box_meets_ground(view, output_dir):
    v = view()
    plain = shot(v)
    lk.apply_looks(v, lk.LookOptions(ambient_occlusion=True))
    ao = shot(v)
    # ground pixels next to a box (a dilated box mask minus the box) get darker
    mask = box_mask(v)
    ring = np.zeros_like(mask)
    for dy in range(-4, 5):
        for dx in range(-4, 5):
            ring |= np.roll(np.roll(mask, dy, 0), dx, 1)
    ring &= ~mask
    drop = float((luminance(plain) - luminance(ao))[ring].mean())
    check(drop > 0.01, "looks_ao", [plain, ao], output_dir, f"mean darkening {drop:.4f}")
    lk.remove_looks(v)
    assert np.abs(shot(v) - plain).mean() < 0.002


def test_eye_dome_changes_a_point_cloud(view, output_dir):
    v = view(cloud=True)
    plain = shot(v)
    lk.apply_looks(v, lk.LookOptions(eye_dome=True))
    edl = shot(v)
    diff = float(np.abs(edl - plain).mean())
    check(diff > 0.005, "looks_edl", [plain, edl], output_dir, f"mean diff {diff:.4f}")
    lk.remove_looks(v)
    assert np.abs(shot(v) - plain).mean() < 0.002


def test_eye_dome_needs_a_point_cloud(view):
    v = view()
    plain = shot(v)
    lk.apply_looks(v, lk.LookOptions(eye_dome=True))
    assert np.abs(shot(v) - plain).mean() < 0.002


def test_all_looks_and_back(view):
    v = view(cloud=True)
    plain = shot(v)
    lk.apply_looks(v, lk.LookOptions.all())
    assert lk.applied_looks(v) == lk.LookOptions.all()
    assert np.abs(shot(v) - plain).mean() > 0.005
    lk.apply_looks(v, lk.LookOptions.all())  # idempotent: replaces, never stacks
    lk.remove_looks(v)
    lk.remove_looks(v)
    assert lk.applied_looks(v) == lk.LookOptions()
    assert np.abs(shot(v) - plain).mean() < 0.002


def test_default_looks_follow_the_measured_rule():
    soft = lk.default_looks("llvmpipe (LLVM 15.0.6, 256 bits)")
    assert soft == lk.LookOptions(**lk.SOFTWARE_DEFAULTS)
    assert lk.default_looks("NVIDIA H200/PCIe/SSE2") == lk.LookOptions.all()
    assert lk.default_looks("Mesa softpipe") == soft


def test_parse():
    assert lk.LookOptions.parse("all") == lk.LookOptions.all()
    assert lk.LookOptions.parse("none") == lk.LookOptions()
    assert lk.LookOptions.parse("ao,edges") == lk.LookOptions(ambient_occlusion=True, edges=True)
    with pytest.raises(ValueError):
        lk.LookOptions.parse("bloom")
