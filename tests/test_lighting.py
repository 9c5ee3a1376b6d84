"""SunLight (twin.render.lighting): the light and the sky follow the sun.

A 10 m box on a ground plane over the Việt Trì origin, rendered at 160x120."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from twin.sun import ICT

pytestmark = pytest.mark.render
os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")

SIZE = (160, 120)
DAY = (2025, 6, 21)
OUT = Path(__file__).resolve().parent / "output"


def _scene():
    from twin.scene import Scene

    return Scene(crs="EPSG:9208", origin=[568300.0, 2357700.0, 0.0], name="box")


def _plotter(camera=((-40.0, -80.0, 16.0), (0.0, 0.0, 6.0))):
    import pyvista as pv

    p = pv.Plotter(off_screen=True, window_size=list(SIZE))
    p.set_background("#eef3f7", top="#9ec3e6")
    p.add_mesh(pv.Box((-5, 5, -5, 5, 0, 10)), color="#d8d2c4")
    p.add_mesh(pv.Plane(center=(0, 0, 0), i_size=200, j_size=200), color="#a9b59a")
    p.camera.position, p.camera.focal_point = camera
    p.camera.up = (0, 0, 1)
    return p


def _luma(img: np.ndarray) -> np.ndarray:
    rgb = img[..., :3].astype(np.float64)
    return 0.2126 * rgb[..., 0] + 0.7152 * rgb[..., 1] + 0.0722 * rgb[..., 2]


def _render(hour: float, camera=None, plotter=None) -> np.ndarray:
    from twin.render.lighting import SunLight

    p = plotter or (_plotter() if camera is None else _plotter(camera))
    light = SunLight()
    h, m = int(hour), round((hour % 1) * 60)
    light.apply(p, _scene(), datetime(*DAY, h, m, tzinfo=ICT))
    img = p.screenshot(return_img=True)
    p.close()
    return img


def test_noon_dusk_night() -> None:
    noon, dusk, night = _render(12), _render(18.5), _render(22)
    ln, lk = _luma(noon).mean(), _luma(night).mean()
    assert 0.05 * ln < lk < 0.40 * ln, (ln, lk)  # dark, but readable
    # The sky (top-left corner, the zenith side) is blue by day, dark blue at night,
    # and different again at dusk.
    sky = {k: img[2, 2, :3].astype(int) for k, img in (("noon", noon), ("dusk", dusk),
                                                        ("night", night))}
    assert sky["noon"][2] > sky["noon"][0]  # blue
    for a, b in (("noon", "dusk"), ("dusk", "night"), ("noon", "night")):
        assert np.abs(sky[a] - sky[b]).sum() > 40, (a, b, sky)
    assert sky["night"].sum() < 0.4 * sky["noon"].sum() and sky["night"][2] >= sky["night"][0]
    # The box stays visible at night: it differs from the ground around it.
    OUT.mkdir(exist_ok=True)
    from PIL import Image

    Image.fromarray(np.hstack([noon, dusk, night])[..., :3]).save(OUT / "sun_noon_dusk_night.png")


def _face(hour: float, side: float) -> float:
    """Mean luminance of the east (side=+1) or west (side=-1) wall, seen square on."""
    img = _render(hour, camera=((side * 40.0, 0.0, 5.0), (0.0, 0.0, 5.0)))
    h, w = img.shape[:2]
    return float(_luma(img[h // 2 - 8 : h // 2 + 8, w // 2 - 8 : w // 2 + 8]).mean())


def test_east_and_west_walls_swap() -> None:
    east9, west9 = _face(9, +1), _face(9, -1)
    east15, west15 = _face(15, +1), _face(15, -1)
    assert east9 > west9 + 20, (east9, west9)
    assert west15 > east15 + 20, (west15, east15)


def test_remove_restores_and_cache() -> None:
    from twin.render.lighting import SunLight

    p = _plotter()
    ren = p.renderer
    before = (ren.GetLights().GetNumberOfItems(), ren.GetBackground(), ren.GetBackground2())
    light = SunLight()
    when = datetime(*DAY, 12, 0, tzinfo=ICT)
    pos = light.apply(p, _scene(), when)
    assert light.on and ren.GetLights().GetNumberOfItems() == len(light.lights) == 5
    mtime = ren.GetMTime()
    assert light.apply(p, _scene(), when.replace(second=30)) is pos  # same minute: no work
    assert ren.GetMTime() == mtime
    light.remove()
    after = (ren.GetLights().GetNumberOfItems(), ren.GetBackground(), ren.GetBackground2())
    assert after == before and not light.on
    p.close()


def test_phases() -> None:
    from twin.render.lighting import look_at_elevation, phase

    assert [phase(e) for e in (45, 3, -3, -20)] == ["day", "dusk", "dusk", "night"]
    assert look_at_elevation(-30).sun_intensity == 0.0
    assert look_at_elevation(60).sun_intensity > look_at_elevation(3).sun_intensity > 0
