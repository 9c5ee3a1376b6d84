"""`citytwin sun`, `citytwin sunhours` and `render --sun` through the real CLI."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from conftest import SCENES, run_cli

PILOT = str(SCENES / "viet_tri.toml")


def test_sun_prints_position_and_day_for_the_scene():
    out = run_cli("sun", PILOT, "--time", "2025-12-21T09:00+07:00", "--json")
    assert out.returncode == 0, out.stderr
    sun = json.loads(out.stdout)
    assert 120 < sun["azimuth_deg"] < 145 and 20 < sun["elevation_deg"] < 35  # morning, SE
    assert sun["apparent_elevation_deg"] > sun["elevation_deg"]  # refraction lifts it


def test_sun_refuses_a_bad_time_with_one_line():
    out = run_cli("sun", PILOT, "--time", "yesterday")
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def test_sunhours_writes_a_grid_of_hours_in_the_scene_crs(tmp_path):
    target = tmp_path / "hours.csv"
    out = run_cli("sunhours", PILOT, "--date", "2025-06-21", "--grid", "250", "--step", "60",
                  "-o", str(target))
    assert out.returncode == 0, out.stderr
    with target.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert rows and set(rows[0]) >= {"x", "y", "z", "hours"}
    x = np.array([float(r["x"]) for r in rows])
    hours = np.array([float(r["hours"]) for r in rows])
    assert np.all((x > 560_000) & (x < 575_000))  # VN-2000 eastings, not scene-local
    assert hours.min() >= 0 and hours.max() <= 14  # June days at 21 N last ~13.3 h
    assert np.median(hours) > 9  # most of the district's open ground is sunny


@pytest.mark.render
def test_render_lights_the_scene_by_the_sun(tmp_path):
    from twin.imagecompare import read_png

    images = {}
    for name, when in (("noon", "2025-06-02T12:00+07:00"), ("night", "2025-06-02T22:00+07:00")):
        path = tmp_path / f"{name}.png"
        out = run_cli("render", PILOT, "-o", str(path), "--size", "240x135", "--sun",
                      "--time", when, "--looks", "none")
        assert out.returncode == 0, out.stderr
        images[name] = read_png(path)[:, :, :3].astype(float)
    assert images["night"].mean() < 0.6 * images["noon"].mean()  # dark ...
    assert images["night"].mean() > 0.05 * images["noon"].mean()  # ... but readable


@pytest.mark.render
def test_tour_frames_are_lit_by_the_sun_at_their_scene_time():
    import importers
    from twin.render import use_offscreen_gl
    from twin.render.video import export_tour
    from twin.tour import scene_tours

    use_offscreen_gl()
    scene = importers.open_scene(SCENES / "viet_tri.toml")
    tour = scene_tours(scene)[0]
    frames: dict[bool, list[np.ndarray]] = {True: [], False: []}
    for sun in (True, False):
        export_tour(scene, tour, None, size=(160, 90), times=[0.5, tour.duration - 0.5],
                    sun=sun, on_frame=lambda _k, img, sun=sun: frames[sun].append(img))
    dawn, dusk = (f.astype(float) for f in frames[True])
    plain = frames[False][0].astype(float)
    assert np.abs(dawn - plain).mean() > 5  # the sun light, not the light kit
    assert np.abs(dawn - dusk).mean() > 3  # 06:00 and 18:00 differ
