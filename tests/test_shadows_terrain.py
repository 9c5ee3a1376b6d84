"""Terrain casts shadows: a 30 m ridge in a small DEM (a real GeoTIFF through the
terrain importer) shades the ground behind it under a low sun, and only there.

The ridge runs north-south through the Việt Trì origin; the evening sun of
2025-06-21 17:00 +07:00 stands in the WNW at ≈ 21.5°, so the ridge's shadow
falls east, about 30 / tan(21.5°) ≈ 76 m long. Seen from straight above at
200x150 (parallel projection).
"""

from __future__ import annotations

import math
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
import pyvista as pv

import importers
from twin.scene import Scene
from twin.sun import ICT

pytestmark = pytest.mark.render

SIZE = (200, 150)
X0, Y0 = 568300.0, 2357700.0  # scene origin (EPSG:9208, Việt Trì)
CELL, N = 2.0, 151  # a 300 m square DEM
RIDGE_H, RIDGE_W = 30.0, 6.0
EVENING = datetime(2025, 6, 21, 17, 0, tzinfo=ICT)


def write_ridge(path: Path) -> Path:
    import rasterio
    from affine import Affine

    cols, _ = np.meshgrid(np.arange(N), np.arange(N))
    x = (cols + 0.5) * CELL - N * CELL / 2  # metres from the origin
    z = (RIDGE_H * np.exp(-((x / RIDGE_W) ** 2))).astype("float32")
    west, north = X0 - N * CELL / 2, Y0 + N * CELL / 2
    profile = {
        "driver": "GTiff", "width": N, "height": N, "count": 1, "dtype": "float32",
        "crs": "EPSG:9208", "transform": Affine(CELL, 0.0, west, 0.0, -CELL, north),
        "nodata": -9999.0,
    }  # fmt: skip
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(z, 1)
    return path


@pytest.fixture
def view(tmp_path):
    from twin.render import SceneView, use_offscreen_gl
    from twin.render.lighting import SunLight

    use_offscreen_gl()
    scene = Scene(crs="EPSG:9208", origin=np.array([X0, Y0, 0.0]), name="ridge")
    for layer in importers.open(write_ridge(tmp_path / "ridge.tif"), scene):
        scene.add_layer(layer)
    plotter = pv.Plotter(off_screen=True, window_size=list(SIZE))
    v = SceneView(scene, plotter, ground=False)
    cam = plotter.camera
    cam.ParallelProjectionOn()
    cam.position, cam.focal_point, cam.up = (0, 0, 500), (0, 0, 0), (0, 1, 0)
    cam.parallel_scale = 100.0  # 200 m tall: 4/3 m a pixel
    plotter.renderer.ResetCameraClippingRange()
    sun = SunLight()
    yield v, sun
    sun.remove()
    v.close()
    plotter.close()


def _image(v, sun) -> np.ndarray:
    sun.apply(v.plotter, v.scene, EVENING)
    v.plotter.render()
    return np.asarray(v.plotter.screenshot(return_img=True))[..., :3]


def _luma_at(v, img: np.ndarray, x: float, y: float = 0.0, r: int = 2) -> float:
    import vtk

    c = vtk.vtkCoordinate()
    c.SetCoordinateSystemToWorld()
    c.SetValue(float(x), float(y), 0.0)
    dx, dy = c.GetComputedDoubleDisplayValue(v.plotter.renderer)
    row, col = SIZE[1] - 1 - round(dy), round(dx)
    patch = img[row - r:row + r + 1, col - r:col + r + 1].astype(float)
    return float((patch @ np.array([0.2126, 0.7152, 0.0722])).mean())


def test_the_ridge_shades_the_ground_behind_it(view) -> None:
    from twin.render.lighting import set_shadows
    from twin.sun import scene_sun

    v, sun = view
    pos = scene_sun(v.scene, EVENING)
    assert 270 < pos.azimuth_deg < 300  # WNW: the shadow falls east
    reach = RIDGE_H / math.tan(math.radians(pos.apparent_elevation_deg))
    assert 65 < reach < 85, reach
    plain = _image(v, sun)
    set_shadows(v.plotter, True)
    shaded = _image(v, sun)
    behind, sunny, beyond = 35.0, -60.0, reach + 30.0
    # flat ground alike on both sides without shadows
    assert abs(_luma_at(v, plain, behind) - _luma_at(v, plain, sunny)) < 3.0
    # behind the ridge: in its shadow
    dark = _luma_at(v, plain, behind) - _luma_at(v, shaded, behind)
    assert dark > 15.0, dark
    # on the sun's side and beyond the shadow's reach: lit as before
    assert abs(_luma_at(v, plain, sunny) - _luma_at(v, shaded, sunny)) < 3.0
    assert abs(_luma_at(v, plain, beyond) - _luma_at(v, shaded, beyond)) < 3.0
