"""The default camera frames the content's bounds at every aspect ratio.

Three shapes that the old fixed-distance overview got wrong: a tall office tower
(overflowed the picture), two small buildings far apart (one was cut off) and a
small object (a speck in a 50 m minimum frame). Each is rendered at 16:9, 1:1
and 9:16: all of it must be inside the picture, and it must fill a good part of it.
"""

from __future__ import annotations

import numpy as np
import pytest
import pyvista as pv

from twin.features import FeatureTable
from twin.layer import Layer
from twin.render import SceneView, use_offscreen_gl
from twin.render.view import OVERVIEW_DIRECTION, OVERVIEW_VIEW_ANGLE, frame_bounds
from twin.scene import Scene

pytestmark = pytest.mark.render

SIZES = [(320, 180), (240, 240), (180, 320)]


def _boxes_layer(boxes: list[tuple[float, float, float, float, float, float]]) -> Layer:
    meshes = [pv.Box(bounds=b).triangulate() for b in boxes]
    for i, m in enumerate(meshes):
        m.cell_data["feature"] = np.full(m.n_cells, i, dtype=np.int32)
    mesh = pv.merge(meshes) if len(meshes) > 1 else meshes[0]
    n = len(boxes)
    table = FeatureTable(np.array([f"B{i}" for i in range(n)], object),
                         np.array(["office"] * n, object), np.array([""] * n, object),
                         np.array(boxes, float))
    return Layer("boxes", mesh, table, kind="buildings")


CASES = {
    "tall tower": [(0, 60, 0, 30, 0, 320)],
    "two buildings far apart": [(0, 12, 0, 12, 0, 9), (900, 912, 250, 262, 0, 9)],
    "a speck": [(0, 0.8, 0, 0.8, 0, 1.5)],
}


def _content_box(image: np.ndarray, background: np.ndarray) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) of the pixels that are not background."""
    ink = np.abs(image.astype(int) - background).sum(axis=-1) > 40
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    assert rows.size and cols.size, "nothing drawn"
    return int(rows[0]), int(rows[-1]), int(cols[0]), int(cols[-1])


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_the_overview_frames_everything(case, size):
    use_offscreen_gl()
    scene = Scene(crs="EPSG:9208")
    scene.add_layer(_boxes_layer(CASES[case]))
    plotter = pv.Plotter(off_screen=True, window_size=list(size))
    plotter.set_background("white")
    view = SceneView(scene, plotter, ground=False)
    try:
        plotter.set_background("white")
        view.overview()
        image = np.asarray(plotter.screenshot(return_img=True))[:, :, :3]
    finally:
        view.close()
        plotter.close()
    w, h = size
    top, bottom, left, right = _content_box(image, np.array([255, 255, 255]))
    assert top > 0 and left > 0 and bottom < h - 1 and right < w - 1, "content cut off"
    fill = max((bottom - top) / h, (right - left) / w)
    assert fill > 0.6, f"content fills only {fill:.0%} of the frame"


def test_frame_bounds_keeps_every_corner_inside_the_view_angles():
    bounds = np.array([0, 100, 0, 40, 0, 250], float)
    for aspect in (16 / 9, 1.0, 9 / 16):
        pos, focal = frame_bounds(bounds, OVERVIEW_DIRECTION, OVERVIEW_VIEW_ANGLE, aspect)
        forward = (focal - pos) / np.linalg.norm(focal - pos)
        right = np.cross(forward, (0, 0, 1.0))
        right /= np.linalg.norm(right)
        up = np.cross(right, forward)
        corners = np.array([[x, y, z] for x in bounds[:2] for y in bounds[2:4]
                             for z in bounds[4:]]) - pos
        depth = corners @ forward
        tan_v = np.tan(np.radians(OVERVIEW_VIEW_ANGLE) / 2)
        assert np.all(np.abs(corners @ up) <= depth * tan_v + 1e-6)
        assert np.all(np.abs(corners @ right) <= depth * tan_v * aspect + 1e-6)
