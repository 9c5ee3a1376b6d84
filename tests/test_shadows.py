"""Shadows (twin.render.lighting.set_shadows): the sun's shadow map pass.

A 10 x 10 x 20 m box on a 300 m ground over the Việt Trì origin, seen from
straight above (parallel projection, 1 px ≈ 1 m) at 200x150, under the low
sun of 2025-06-21 17:00 +07:00 (azimuth ≈ 288°, WNW; elevation ≈ 21.5°). The
shadow must fall where the geometry says: along the azimuth + 180°, h / tan(e)
long (≈ 51 m), and nowhere on the sun's side.
"""

from __future__ import annotations

import math
import os
from datetime import datetime

import numpy as np
import pytest
import pyvista as pv

from twin.features import FeatureTable
from twin.layer import Layer
from twin.scene import Scene
from twin.sun import ICT, sun_direction_local

pytestmark = pytest.mark.render
os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")

SIZE = (200, 150)
H = 20.0  # box height (m)
HALF = 5.0  # box half-width (m)
EVENING = datetime(2025, 6, 21, 17, 0, tzinfo=ICT)
NIGHT = datetime(2025, 6, 21, 22, 0, tzinfo=ICT)


def _layer() -> Layer:
    """One box (feature 0) and a ground square (feature 1) in one layer."""
    box = pv.Box(bounds=(-HALF, HALF, -HALF, HALF, 0.0, H)).triangulate()
    ground = pv.Plane(center=(0, 0, 0), i_size=300, j_size=300, i_resolution=30,
                      j_resolution=30).triangulate()
    box.cell_data["feature"] = np.zeros(box.n_cells, dtype=np.int32)
    ground.cell_data["feature"] = np.ones(ground.n_cells, dtype=np.int32)
    mesh = pv.merge([box, ground])
    bounds = np.array([[-HALF, HALF, -HALF, HALF, 0, H], [-150, 150, -150, 150, 0, 0]], float)
    table = FeatureTable(np.array(["BOX", "GROUND"], object),
                         np.array(["office", "ground"], object), np.array(["", ""], object),
                         bounds)
    return Layer("boxes", mesh, table, kind="buildings")


def _scene() -> Scene:
    scene = Scene(crs="EPSG:9208", origin=[568300.0, 2357700.0, 0.0], name="shadow box")
    scene.add_layer(_layer())
    return scene


class _Shot:
    """A top-down offscreen view of the scene, lit by the sun."""

    def __init__(self) -> None:
        from twin.render import SceneView, use_offscreen_gl
        from twin.render.lighting import SunLight

        use_offscreen_gl()
        self.scene = _scene()
        self.plotter = pv.Plotter(off_screen=True, window_size=list(SIZE))
        self.view = SceneView(self.scene, self.plotter, ground=False)
        cam = self.plotter.camera
        cam.ParallelProjectionOn()
        cam.position, cam.focal_point, cam.up = (0, 0, 500), (0, 0, 0), (0, 1, 0)
        cam.parallel_scale = SIZE[1] / 2  # 1 px = 1 m
        self.plotter.renderer.ResetCameraClippingRange()
        self.sun = SunLight()

    def image(self, when: datetime) -> np.ndarray:
        self.sun.apply(self.plotter, self.scene, when)
        self.plotter.render()  # a screenshot alone may hand back the last frame
        return np.asarray(self.plotter.screenshot(return_img=True))[..., :3]

    def pixel(self, x: float, y: float) -> tuple[int, int]:
        """(row, col) of the ground point (x, y) in the image."""
        import vtk

        c = vtk.vtkCoordinate()
        c.SetCoordinateSystemToWorld()
        c.SetValue(float(x), float(y), 0.0)
        dx, dy = c.GetComputedDoubleDisplayValue(self.plotter.renderer)
        return SIZE[1] - 1 - round(dy), round(dx)

    def close(self) -> None:
        self.sun.remove()
        self.view.close()
        self.plotter.close()


@pytest.fixture
def shot():
    s = _Shot()
    yield s
    s.close()


def _luma(img: np.ndarray) -> np.ndarray:
    rgb = img.astype(np.float64)
    return 0.2126 * rgb[..., 0] + 0.7152 * rgb[..., 1] + 0.0722 * rgb[..., 2]


def _patch(img: np.ndarray, rc: tuple[int, int], r: int = 2) -> float:
    row, col = rc
    assert r <= row < SIZE[1] - r and r <= col < SIZE[0] - r, rc
    return float(_luma(img[row - r:row + r + 1, col - r:col + r + 1]).mean())


def _shadow_points(shot: _Shot) -> tuple[tuple[float, float], tuple[float, float]]:
    """A ground point inside the shadow (away from the sun, beyond the box) and
    its mirror on the sun's side."""
    from twin.sun import scene_sun

    pos = scene_sun(shot.scene, EVENING)
    length = H / math.tan(math.radians(pos.apparent_elevation_deg))
    assert 40 < length < 60, length  # the low sun: a long shadow
    away = -sun_direction_local(pos.azimuth_deg, 0.0)[:2]
    t = (2.0 * HALF + length) / 2.0  # halfway between the wall and the shadow's tip
    return tuple(away * t), tuple(-away * t)  # type: ignore[return-value]


def test_the_box_casts_its_shadow_away_from_the_sun(shot) -> None:
    from twin.render.lighting import set_shadows, shadow_map_size

    east, west = _shadow_points(shot)
    assert east[0] > 0 > west[0]  # the evening sun is in the west
    plain = shot.image(EVENING)
    set_shadows(shot.plotter, True)
    assert shadow_map_size(shot.plotter) == 2048
    shaded = shot.image(EVENING)
    e, w = shot.pixel(*east), shot.pixel(*west)
    # Without shadows the ground is lit alike on both sides of the box.
    assert abs(_patch(plain, e) - _patch(plain, w)) < 3.0
    # With shadows the ground east of the box is clearly darker; the west is unchanged.
    dark_e = _patch(plain, e) - _patch(shaded, e)
    dark_w = _patch(plain, w) - _patch(shaded, w)
    assert dark_e > 15.0, dark_e
    # The sun's side is not greyed (VTK 9.7 bakes the map at the viewport's
    # aspect: twin.render.lighting corrects the lookup; see
    # test_the_sun_side_is_unchanged).
    assert dark_e > dark_w + 10.0, (dark_e, dark_w)
    # Beyond the shadow's tip the ground is lit again.
    from twin.sun import scene_sun

    pos = scene_sun(shot.scene, EVENING)
    away = -sun_direction_local(pos.azimuth_deg, 0.0)[:2]
    tip = H / math.tan(math.radians(pos.apparent_elevation_deg)) + HALF
    far = shot.pixel(*(away * (tip + 12.0)))
    assert abs(_patch(shaded, far) - _patch(plain, far)) < 3.0


def test_lower_map_size_and_off_restore_the_plain_frame(shot) -> None:
    from twin.render.lighting import set_shadows, shadow_map_size, shadow_pass

    east, _ = _shadow_points(shot)
    e = shot.pixel(*east)
    plain = shot.image(EVENING)
    set_shadows(shot.plotter, True, 1024)
    assert shadow_map_size(shot.plotter) == 1024
    low = shot.image(EVENING)
    assert _patch(low, e) < _patch(plain, e) - 15.0  # still a shadow while moving
    set_shadows(shot.plotter, True, 2048)
    assert shadow_map_size(shot.plotter) == 2048
    set_shadows(shot.plotter, False)
    assert shadow_pass(shot.plotter) is None
    assert shot.plotter.renderer.GetPass() is None  # the plain pipeline
    again = shot.image(EVENING)
    assert np.abs(again.astype(int) - plain.astype(int)).max() <= 2


def test_no_shadow_at_night(shot) -> None:
    from twin.render.lighting import set_shadows

    east, west = _shadow_points(shot)
    e, w = shot.pixel(*east), shot.pixel(*west)
    set_shadows(shot.plotter, True)
    night = shot.image(NIGHT)
    # Only the (unshadowed) moonlight fill and headlight: both sides alike.
    assert abs(_patch(night, e) - _patch(night, w)) < 3.0


def test_sun_light_remove_turns_shadows_off(shot) -> None:
    from twin.render.lighting import set_shadows, shadow_pass

    set_shadows(shot.plotter, True)
    shot.image(EVENING)
    shot.sun.remove()
    assert shadow_pass(shot.plotter) is None
    assert shot.plotter.renderer.GetPass() is None


def test_the_sun_side_is_unchanged(shot) -> None:
    """The lit ground towards the sun keeps its brightness with shadows on, over
    the whole row through the box, in this non-square (4:3) view.

    It used to grey by up to 29 luma in a gradient towards the sun: VTK 9.7
    bakes the shadow map with the viewport's aspect ratio and looks it up at
    aspect 1 (twin.render.lighting, "the shadow map's aspect ratio")."""
    from twin.render.lighting import set_shadows

    _, west = _shadow_points(shot)
    w = shot.pixel(*west)
    plain = shot.image(EVENING)
    set_shadows(shot.plotter, True)
    shaded = shot.image(EVENING)
    assert abs(_patch(shaded, w) - _patch(plain, w)) < 3.0
    # the whole row west of the box, from the frame's edge to the box's wall
    row = w[0]
    box_col = shot.pixel(-HALF - 2.0, 0.0)[1]
    diff = _luma(plain[row, 3:box_col]) - _luma(shaded[row, 3:box_col])
    assert np.abs(diff).max() < 3.0, np.round(diff[::10], 1)


@pytest.mark.parametrize("size", [(240, 120), (120, 200)])
def test_the_sun_side_is_unchanged_at_other_aspects(size) -> None:
    """The correction follows the view's shape (wide and tall frames)."""
    global SIZE
    from twin.render.lighting import set_shadows

    saved, SIZE = SIZE, size
    s = _Shot()
    try:
        _, west = _shadow_points(s)
        east, _ = _shadow_points(s)
        w, e = s.pixel(*west), s.pixel(*east)
        plain = s.image(EVENING)
        set_shadows(s.plotter, True)
        shaded = s.image(EVENING)
        assert abs(_patch(shaded, w) - _patch(plain, w)) < 3.0
        assert _patch(plain, e) - _patch(shaded, e) > 15.0  # the shadow is still there
    finally:
        s.close()
        SIZE = saved
