"""Sensor glyphs: pixel-sized whatever the distance, pickable by projection, hideable."""

from __future__ import annotations

import os

os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")

import numpy as np
import pytest
import pyvista as pv
from PIL import Image

from twin.render.glyphs import (
    LEVEL_RGB,
    MAX_PX,
    MIN_PX,
    GlyphOverlay,
    glyph_style,
    size_factor,
)
from twin.sim.sensors import SensorSet

SIZE = (320, 240)
#: values and levels (-1 no data, 0 normal, 2 alarm) of the three sensors below
VALUES = np.array([40.0, 160.0, 80.0])
LEVELS = np.array([0, 2, 0], np.int8)


def three_sensors() -> SensorSet:
    """Two air-quality stations (thresholds 100/150) on roofs, one traffic counter."""
    ids = ["AQ-1", "AQ-2", "TR-1"]
    return SensorSet(
        ids=np.array(ids, object),
        kinds=np.array(["air_quality", "air_quality", "traffic"], object),
        units=np.array(["AQI", "AQI", "veh/h"], object),
        names=np.array(["", "", ""], object),
        positions=np.array([[0.0, 0.0, 10.0], [300.0, 0.0, 10.0], [0.0, 300.0, 0.0]]),
        layer=np.array([None] * 3, object),
        row=np.full(3, -1, np.int64),
        warning=np.array([100.0, 100.0, np.nan]),
        alarm=np.array([150.0, 150.0, np.nan]),
        params=[{} for _ in ids],
    )


def scene(sensors: SensorSet | None = None) -> tuple[pv.Plotter, GlyphOverlay]:
    g = GlyphOverlay(sensors or three_sensors())
    g.update(VALUES, LEVELS)
    p = pv.Plotter(off_screen=True, window_size=SIZE)
    p.set_background("black")
    for actor in g.actors.values():
        p.add_actor(actor, reset_camera=False)
    g.attach(p.renderer)
    return p, g


def look(p: pv.Plotter, position, focal) -> np.ndarray:
    cam = p.camera
    cam.position, cam.focal_point, cam.up, cam.view_angle = position, focal, (0, 0, 1), 30.0
    p.reset_camera_clipping_range()
    p.render()
    return np.asarray(p.screenshot(return_img=True))[:, :, :3]


def extent_px(img: np.ndarray, xy: np.ndarray, half: int = 24) -> int:
    """Largest bounding-box side of the lit pixels around display point ``xy``."""
    h = img.shape[0]
    cx, cy = round(xy[0]), round(h - 1 - xy[1])
    crop = img[max(cy - half, 0):cy + half + 1, max(cx - half, 0):cx + half + 1]
    ys, xs = np.nonzero(crop.max(axis=2) > 12)
    if ys.size == 0:
        return 0
    return int(max(np.ptp(ys), np.ptp(xs)) + 1)


def centre(g: GlyphOverlay, p: pv.Plotter, row: int) -> tuple[np.ndarray, float]:
    rows, xy, _, radius = g.screen(p.renderer)
    i = int(np.flatnonzero(rows == row)[0])
    return xy[i], float(radius[i])


# -- sizes without a camera --------------------------------------------------------------
def test_size_factor_band_and_alert_floors():
    warn, alarm = np.full(5, 100.0), np.full(5, 150.0)
    f = size_factor(np.array([0.0, 50.0, 120.0, 160.0, np.nan]),
                    np.array([0, 0, 1, 2, -1]), warn, alarm)
    assert f.dtype == np.float32 and f.min() >= 0.6 and f.max() <= 1.0
    assert f[0] == pytest.approx(0.6) and f[4] == pytest.approx(0.6)  # zero, no data
    assert f[0] < f[1] < f[2] < f[3] == pytest.approx(1.0)
    # lower is worse (alarm < warning): an alarming low pressure still draws full size
    low = size_factor(np.array([0.5]), np.array([2]), np.array([2.0]), np.array([1.0]))
    assert low[0] == pytest.approx(1.0)


def test_glyph_style_keeps_world_scale_and_colours():
    scale, rgb = glyph_style(np.array([0.0, 150.0, np.nan]), np.array([0, 2, -1]),
                             "air_quality", np.full(3, 100.0), np.full(3, 150.0), 5.0)
    assert scale.tolist() == pytest.approx([3.0, 7.0, 2.5])
    assert rgb.tolist() == [LEVEL_RGB[1].tolist(), LEVEL_RGB[3].tolist(), LEVEL_RGB[0].tolist()]


def test_update_orders_sizes_before_any_camera():
    g = GlyphOverlay(three_sensors(), base_size=6.0)
    assert g.count("air_quality") == 2 and g.count("traffic") == 1
    g.update(VALUES, LEVELS)
    scale = g.points["air_quality"].point_data["scale"]
    assert 0 < scale[0] < scale[1] == pytest.approx(6.0)  # alarm = max size = base_size
    assert g.pixel_size("air_quality")[1] == MAX_PX


# -- offscreen renders -------------------------------------------------------------------
@pytest.mark.render
def test_glyphs_keep_their_pixel_size_near_and_far(output_dir):
    p, g = scene()
    try:
        near = look(p, (-60.0, -60.0, 60.0), (0.0, 0.0, 10.0))  # AQ-1 ~93 m away
        Image.fromarray(near).save(output_dir / "glyphs_near.png")
        xy, _ = centre(g, p, 0)
        size_near = extent_px(near, xy)
        want = g.pixel_size("air_quality")[0]
        assert MIN_PX < want < MAX_PX
        assert abs(size_near - want) <= 2, (size_near, want)

        far_pos = (-1500.0, -1500.0, 1500.0)  # ~2600 m: 28x farther
        far = look(p, far_pos, (100.0, 100.0, 0.0))
        rows, xys, _, _ = g.screen(p.renderer)
        assert sorted(rows.tolist()) == [0, 1, 2]
        sizes = {int(r): extent_px(far, xy, half=16) for r, xy in zip(rows, xys, strict=True)}
        assert abs(sizes[0] - size_near) <= 2, (sizes, size_near)
        for r in (0, 1):  # spheres: the drawn size is the band's size
            assert MIN_PX - 1 <= sizes[r] <= MAX_PX + 1, sizes
            assert abs(sizes[r] - g.pixel_size("air_quality")[r]) <= 2, sizes
        assert sizes[1] > sizes[0]  # the alarming station is bigger
        assert MIN_PX * 0.7 <= sizes[2] <= MAX_PX + 1, sizes  # the pin, foreshortened

        # A world-sized glyph (sizes frozen at the near camera) shrinks with distance:
        # the same measurement would fail without screen-space sizing.
        look(p, (-60.0, -60.0, 60.0), (0.0, 0.0, 10.0))
        g.detach()
        frozen = look(p, far_pos, (100.0, 100.0, 0.0))
        assert extent_px(frozen, g.screen(p.renderer)[1][0], half=16) < MIN_PX - 2
    finally:
        p.close()


@pytest.mark.render
def test_glyphs_stand_on_their_sites():
    p, g = scene()
    try:
        look(p, (-60.0, -60.0, 60.0), (0.0, 0.0, 10.0))
        for kind, poly in g.points.items():
            sites = g.sensors.positions[g.rows[kind]]
            lift = poly.points[:, 2] - sites[:, 2]
            scale = poly.point_data["scale"]
            # the base floats one pixel above the site, never metres
            assert np.all(lift > 0) and np.all(lift < scale / MIN_PX * 1.01), kind
    finally:
        p.close()


@pytest.mark.render
def test_pick_hits_the_drawn_glyph_nearest_first_and_respects_visibility():
    p, g = scene()
    try:
        img = look(p, (150.0, -450.0, 350.0), (150.0, 100.0, 0.0))  # all three in view
        h = img.shape[0]
        for row in range(3):
            xy, r = centre(g, p, row)
            assert img[round(h - 1 - xy[1]), round(xy[0])].max() > 12  # drawn there
            assert g.pick(p.renderer, *xy) == row
            assert g.pick(p.renderer, xy[0] + 2 * r, xy[1]) is None
            assert g.pick(p.renderer, xy[0] + 0.8 * r, xy[1]) == row
        xy, _ = centre(g, p, 0)
        g.set_visible({"traffic"})
        assert g.pick(p.renderer, *xy) is None
        assert g.pick(p.renderer, *centre(g, p, 2)[0]) == 2
        g.set_visible(False)
        assert g.pick(p.renderer, *xy) is None and g.visible_kinds() == []
        g.set_visible(True)

        # AQ-1 in front of AQ-2 on one line of sight: the nearer one wins
        img = look(p, (-200.0, 0.0, 10.0), (0.0, 0.0, 10.0))
        xy1, _ = centre(g, p, 0)
        xy2, r2 = centre(g, p, 1)
        assert np.hypot(*(xy1 - xy2)) < r2  # the click is on both discs
        assert g.pick(p.renderer, *xy1) == 0
        r, gr, _ = img[round(h - 1 - xy1[1]), round(xy1[0])].astype(int)
        assert gr > r  # and the green (normal) AQ-1 is what is drawn there, not red AQ-2
    finally:
        p.close()


@pytest.mark.render
def test_glyph_behind_the_camera_is_never_picked():
    p, g = scene()
    try:
        # looking from TR-1's side towards AQ-1: TR-1 is behind, almost on the axis,
        # on the axis, so its mirrored projection falls on the screen centre
        look(p, (0.0, 150.0, 5.0), (0.0, 0.0, 10.0))
        m = p.camera.GetCompositeProjectionTransformMatrix(
            p.renderer.GetTiledAspectRatio(), -1, 1)
        mat = np.array([[m.GetElement(i, j) for j in range(4)] for i in range(4)])
        hom = mat @ np.array([0.0, 300.0, 0.0, 1.0])
        assert hom[3] < 0
        mirror = ((hom[:2] / hom[3]) + 1) / 2 * np.array(SIZE)
        assert 0 <= mirror[0] < SIZE[0] and 0 <= mirror[1] < SIZE[1]
        assert 2 not in g.screen(p.renderer)[0].tolist()
        assert g.points["traffic"].point_data["scale"][0] == 0  # not drawn either
        g.set_visible({"traffic"})
        assert g.pick(p.renderer, *mirror, radius_px=1000) is None
        g.set_visible(True)
        assert g.pick(p.renderer, *mirror, radius_px=1000) in (0, 1)
    finally:
        p.close()


@pytest.mark.render
def test_layout_observer_never_raises_and_detaches():
    p, g = scene()
    try:
        look(p, (-60.0, -60.0, 60.0), (0.0, 0.0, 10.0))
        g._sites["air_quality"] = np.zeros((5, 2))  # broken: layout raises inside VTK
        look(p, (-90.0, -60.0, 60.0), (0.0, 0.0, 10.0))  # no exception escapes
        g.detach()
        before = g.points["traffic"].point_data["scale"].copy()
        look(p, (-900.0, -600.0, 600.0), (0.0, 0.0, 10.0))
        assert np.array_equal(g.points["traffic"].point_data["scale"], before)
    finally:
        p.close()
