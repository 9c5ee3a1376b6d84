"""Tours: the camera path, scene-file validation, headless export, Ctrl-C, the dock."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, SCENES

from twin.scenefile import SceneFileError, load_scene_spec, parse_scene
from twin.tour import (
    EASINGS,
    CameraPose,
    Keyframe,
    Tour,
    ease,
    ease_derivative,
    parse_tours,
    scene_tours,
    tour_to_toml,
)

VN = timezone(timedelta(hours=7))
ASSET = ROOT / "assets" / "hanoi_vnu" / "vnu_buildings.geojson"
LAYER = "Tòa nhà (OSM)"


def kf(pos, foc, duration=4.0, **kw) -> Keyframe:
    return Keyframe(CameraPose(tuple(pos), tuple(foc)), duration, **kw)


def zigzag(**tour_kw) -> Tour:
    """Uneven spacing, heights from street level to 400 m, a turn at each stop."""
    return Tour(
        "zigzag",
        [
            kf((0, -500, 400), (0, 0, 0), 5.0),
            kf((300, -200, 120), (100, 50, 10), 3.0),
            kf((320, 20, 1.7), (340, 200, 10), 6.0),
            kf((-100, 150, 60), (0, 0, 0), 2.0),
            kf((-400, -300, 300), (0, 0, 0), 1.0),
        ],
        **tour_kw,
    )


def positions(tour: Tour, times) -> np.ndarray:
    return np.array([tour.sample(t).camera.position for t in times])


def focals(tour: Tour, times) -> np.ndarray:
    return np.array([tour.sample(t).camera.focal_point for t in times])


# -- the path -----------------------------------------------------------------------
def test_path_passes_through_every_keyframe():
    tour = zigzag()
    path = tour.path
    assert tour.duration == pytest.approx(5 + 3 + 6 + 2 + 1)
    for i, k in enumerate(tour.keyframes):
        cam = tour.sample(path.arrive[i]).camera
        np.testing.assert_allclose(cam.position, k.camera.position, atol=1e-6)
        np.testing.assert_allclose(cam.focal_point, k.camera.focal_point, atol=1e-6)
        assert cam.view_angle == pytest.approx(k.camera.view_angle)


def test_path_is_c1_where_gliding_segments_meet():
    tour = zigzag()
    path = tour.path
    h = 1e-4
    for i in range(1, len(tour.keyframes) - 1):  # interior keyframes, "auto" glides through
        t = path.arrive[i]
        for sample in (positions, focals):
            a, b, c = sample(tour, [t - h, t, t + h])
            left, right = (b - a) / h, (c - b) / h
            speed = max(np.linalg.norm(left), 1.0)
            assert np.linalg.norm(left - right) / speed < 1e-2, (i, left, right)
            assert np.linalg.norm(left) > 1.0  # it glides through, it does not stop
    # and no velocity jump anywhere: dense samples, velocity changes smoothly
    ts = np.linspace(0, tour.duration, 6001)
    v = np.diff(positions(tour, ts), axis=0) / np.diff(ts)[:, None]
    jumps = np.linalg.norm(np.diff(v, axis=0), axis=1)
    assert jumps.max() < 0.05 * np.linalg.norm(v, axis=1).max()


def test_path_is_geometrically_smooth_through_a_stop():
    """Ease-in-out stops at keyframes; the path still has no kink there."""
    tour = Tour("stops", [replace(k, easing="ease-in-out") for k in zigzag().keyframes])
    path = tour.path
    for i in range(1, len(tour.keyframes) - 1):
        t = path.arrive[i]
        p_before = np.array(tour.sample(t - 0.05).camera.position)
        p_at = np.array(tour.sample(t).camera.position)
        p_after = np.array(tour.sample(t + 0.05).camera.position)
        d_in = (p_at - p_before) / np.linalg.norm(p_at - p_before)
        d_out = (p_after - p_at) / np.linalg.norm(p_after - p_at)
        assert np.dot(d_in, d_out) > 0.99  # same direction in and out
        assert np.linalg.norm(p_after - p_at) < 0.05 * np.linalg.norm(
            np.subtract(tour.keyframes[i + 1].camera.position, p_at)
        )  # and it is at rest there


def test_heights_never_overshoot_between_keyframes():
    """A glide down to street level must not dive under the ground first."""
    bundled = [p for p in (SCENES / "hanoi_vnu.toml", SCENES / "viet_tri.toml") if p.exists()]
    for tour in (zigzag(), *(t for p in bundled for t in scene_tours_of(p))):
        path = tour.path
        z = [k.camera.position[2] for k in tour.keyframes]
        for i in range(len(z) - 1):
            ts = np.linspace(path.depart[i], path.arrive[i + 1], 200)
            zs = positions(tour, ts)[:, 2]
            assert zs.min() >= min(z[i], z[i + 1]) - 0.5, (tour.name, i)
            assert zs.max() <= max(z[i], z[i + 1]) + 0.5, (tour.name, i)


def test_two_views_of_one_place_orbit_instead_of_cutting_across():
    """Same focal point, opposite sides: the camera keeps its distance and
    height instead of passing overhead."""
    tour = Tour(
        "orbit",
        [kf((0, -400, 300), (0, 0, 0), 6.0), kf((400, 0, 300), (0, 0, 0), 0.0)],
    )
    mid = np.array(tour.sample(3.0).camera.position)
    assert np.linalg.norm(mid) == pytest.approx(500.0, rel=1e-6)
    assert mid[2] == pytest.approx(300.0, rel=1e-6)


@pytest.mark.parametrize("name", [n for n in EASINGS if n != "auto"])
def test_easings_map_0_1_monotonically_with_their_end_slopes(name):
    slopes = EASINGS[name]
    x = np.linspace(0, 1, 501)
    y = ease(slopes, x)
    assert y[0] == 0.0 and y[-1] == pytest.approx(1.0)
    assert np.all(np.diff(y) >= -1e-12)
    d = ease_derivative(slopes, np.array([0.0, 1.0]))
    assert tuple(d) == pytest.approx(slopes)
    numeric = np.gradient(y, x)
    np.testing.assert_allclose(numeric[1:-1], ease_derivative(slopes, x)[1:-1], atol=1e-3)


def test_auto_easing_starts_and_ends_at_rest_and_stops_for_a_hold():
    tour = zigzag()
    held = Tour("held", list(tour.keyframes))
    held.keyframes[2] = replace(held.keyframes[2], hold=1.5)
    a, b = positions(tour, [1e-4, 2e-4])
    assert np.linalg.norm(b - a) < 1e-3  # starts from rest
    end = tour.path.arrive[-1]
    a, b = positions(tour, [end - 2e-4, end - 1e-4])
    assert np.linalg.norm(b - a) < 1e-3  # and comes to rest at the last keyframe
    path = held.path
    t = path.arrive[2]
    a, b = positions(held, [t - 2e-4, t - 1e-4])
    assert np.linalg.norm(b - a) < 1e-3  # comes to rest before the hold
    np.testing.assert_allclose(
        held.sample(t + 1.0).camera.position, held.keyframes[2].camera.position, atol=1e-9
    )
    assert held.duration == pytest.approx(tour.duration + 1.5)


def test_constant_speed_evens_out_the_apparent_speed():
    def speed_spread(tour: Tour) -> float:
        path = tour.path
        # interior of the gliding stretch (auto easing accelerates at both ends)
        ts = np.linspace(path.depart[1], path.arrive[len(tour.keyframes) - 2], 800)
        p, f = positions(tour, ts), focals(tour, ts)
        step = (
            np.linalg.norm(np.diff(p, axis=0), axis=1) + np.linalg.norm(np.diff(f, axis=0), axis=1)
        ) / 2
        return float(step.std() / step.mean())

    plain, even = zigzag(), zigzag(constant_speed=True)
    assert even.duration == pytest.approx(plain.duration)
    assert speed_spread(even) < 0.03
    assert speed_spread(plain) > 5 * speed_spread(even)
    for i, k in enumerate(even.keyframes):  # still through every keyframe
        np.testing.assert_allclose(
            even.sample(even.path.arrive[i]).camera.position, k.camera.position, atol=1e-6
        )


def test_captions_scene_time_and_visibility_follow_the_timeline():
    t0 = datetime(2025, 6, 1, 8, 0, tzinfo=VN)
    tour = Tour(
        "clock",
        [
            kf((0, -100, 50), (0, 0, 0), 4.0, caption="Toàn cảnh", scene_time=t0),
            kf((100, 0, 50), (0, 0, 0), 4.0, caption="Toàn cảnh", hide=(LAYER,)),
            kf(
                (0, 100, 50),
                (0, 0, 0),
                2.0,
                caption="Quy hoạch",
                show=(LAYER,),
                scene_time=t0 + timedelta(hours=8),
            ),
        ],
    )
    mid = tour.sample(4.0)
    assert mid.caption == "Toàn cảnh" and mid.caption_opacity == 1.0  # repeated: no blink
    assert tour.sample(7.9).caption_opacity < 1.0  # fading out before the next caption
    assert tour.sample(8.0).caption == "Quy hoạch"
    assert tour.sample(0.0).scene_time == t0
    assert tour.sample(4.0).scene_time == t0 + timedelta(hours=4)
    assert tour.sample(4.0).scene_time.utcoffset() == timedelta(hours=7)
    assert tour.sample(10.0).scene_time == t0 + timedelta(hours=8)
    assert tour.sample(1.0).visibility == {}
    assert tour.sample(5.0).visibility == {LAYER: False}
    assert tour.sample(9.0).visibility == {LAYER: True}
    assert tour.sample(-5).time == 0.0 and tour.sample(99).time == tour.duration


# -- scene files ----------------------------------------------------------------------
SCENE_HEAD = f"""
[scene]
name = "test"
crs = "EPSG:3405"
origin = [581200.0, 2326800.0, 0.0]

[[layers]]
name = "{LAYER}"
path = "{ASSET.as_posix()}"

[[bookmarks]]
name = "overview"
position = [581700.0, 2326180.0, 620.0]
focal_point = [581218.0, 2326783.0, 0.0]
"""

GOOD_TOUR = """
[[tours]]
name = "Tham quan"

[[tours.keyframes]]
bookmark = "overview"
duration = 3
caption = "Toàn cảnh"
scene_time = 2025-06-01T08:00:00+07:00

[[tours.keyframes]]
position = [581300.0, 2326600.0, 80.0]
focal_point = [581218.0, 2326783.0, 0.0]
duration = 2
easing = "ease-in-out"
hide = ["Tòa nhà (OSM)"]

[[tours.keyframes]]
position = [581000.0, 2326600.0, 80.0]
focal_point = [581218.0, 2326783.0, 0.0]
view_angle = 45
duration = 0
"""


def tours_from(text: str, path: Path = Path("scene.toml")) -> list[Tour]:
    spec = parse_scene(SCENE_HEAD + text, path)
    return parse_tours(
        spec.extra.get("tours"), path, spec.bookmarks, [la.name for la in spec.layers]
    )


def test_a_good_tour_parses():
    (tour,) = tours_from(GOOD_TOUR)
    assert tour.name == "Tham quan"
    assert [k.bookmark for k in tour.keyframes] == ["overview", None, None]
    assert tour.keyframes[0].scene_time == datetime(2025, 6, 1, 8, tzinfo=VN)
    assert tour.keyframes[1].hide == (LAYER,)
    assert tour.duration == pytest.approx(5.0)


BAD = [
    (
        "duration = 2\neasing",
        "duration = -2\neasing",
        "tours[0].keyframes[1].duration",
        "more than 0",
    ),
    (
        'bookmark = "overview"',
        'bookmark = "nowhere"',
        "tours[0].keyframes[0].bookmark",
        "no bookmark named 'nowhere'",
    ),
    (
        'easing = "ease-in-out"',
        'easing = "bouncy"',
        "tours[0].keyframes[1].easing",
        "expected one of",
    ),
    (
        "2025-06-01T08:00:00+07:00",
        "2025-06-01T08:00:00",
        "tours[0].keyframes[0].scene_time",
        "UTC offset",
    ),
    (
        'hide = ["Tòa nhà (OSM)"]',
        'hide = ["Cầu"]',
        "tours[0].keyframes[1].hide",
        "no layer named 'Cầu'",
    ),
    ("view_angle = 45", "view_angle = 45\nzoom = 2", "tours[0].keyframes[2].zoom", "unknown key"),
    (
        "view_angle = 45",
        "view_angle = 400",
        "tours[0].keyframes[2].view_angle",
        "between 1 and 170",
    ),
    (
        'caption = "Toàn cảnh"',
        'caption = "Toàn cảnh"\nposition = [1.0, 2.0, 3.0]',
        "tours[0].keyframes[0].position",
        "not both",
    ),
    (
        "focal_point = [581218.0, 2326783.0, 0.0]\nview_angle",
        "focal_point = [581000.0, 2326600.0, 80.0]\nview_angle",
        "tours[0].keyframes[2].position",
        "equals focal_point",
    ),
    ('name = "Tham quan"', 'name = "Tham quan"\nspeed = 3', "tours[0].speed", "unknown key"),
]


@pytest.mark.parametrize(
    ("old", "new", "key", "words"), BAD, ids=[b[2] + ":" + b[3][:12] for b in BAD]
)
def test_validation_errors_name_the_tour_and_keyframe(old, new, key, words):
    assert old in GOOD_TOUR
    with pytest.raises(SceneFileError) as info:
        tours_from(GOOD_TOUR.replace(old, new, 1), Path("scenes/demo.toml"))
    err = info.value
    text = str(err)
    assert err.key == key
    assert words in err.message
    assert "'Tham quan'" in text  # the tour by name
    assert text.startswith(f"scenes/demo.toml: {key}: ")
    assert "\n" not in text


def test_tour_level_errors():
    with pytest.raises(SceneFileError, match=r"tours\[1\]\.name: duplicate tour name 'Tham quan'"):
        tours_from(GOOD_TOUR + GOOD_TOUR)
    with pytest.raises(SceneFileError, match=r"tours\[0\]\.keyframes: .*at least one"):
        tours_from('[[tours]]\nname = "x"\nkeyframes = []\n')
    with pytest.raises(SceneFileError, match=r"tours: expected \[\[tours\]\]"):
        tours_from('[tours]\nname = "x"\n')


def test_recorded_tour_round_trips_through_toml():
    (tour,) = tours_from(GOOD_TOUR)
    text = tour_to_toml(tour)
    (again,) = tours_from(text)
    assert again.name == tour.name
    for t in np.linspace(0, tour.duration, 11):
        a, b = tour.sample(t), again.sample(t)
        np.testing.assert_allclose(a.camera.position, b.camera.position, atol=1e-3)
        assert (a.caption, a.scene_time, a.visibility) == (b.caption, b.scene_time, b.visibility)


def scene_tours_of(path: Path) -> list[Tour]:
    spec = load_scene_spec(path)
    return parse_tours(
        spec.extra.get("tours"), path, spec.bookmarks, [la.name for la in spec.layers]
    )


@pytest.mark.parametrize("name", ["hanoi_vnu.toml", "viet_tri.toml"])
def test_bundled_scenes_have_a_presentable_tour(name):
    path = SCENES / name
    if not path.exists():
        pytest.skip(f"{name} is not in the repository yet")
    tours = scene_tours_of(path)
    assert tours, f"{name} has no [[tours]]"
    tour = tours[0]
    assert 20.0 <= tour.duration <= 40.0
    captions = [k.caption for k in tour.keyframes if k.caption]
    assert captions and any(
        set(c) & set("ảạãàáâầấậẩẫăằắặẳẵđêềếệểễôồốộổỗơờớợởỡưừứựửữ") for c in captions
    )
    assert any(k.bookmark for k in tour.keyframes) and any(not k.bookmark for k in tour.keyframes)


# -- export (renders offscreen) ----------------------------------------------------------
render = pytest.mark.render


@pytest.fixture(scope="module")
def vnu():
    import importers

    scene = importers.open_scene(SCENES / "hanoi_vnu.toml")
    return scene, scene_tours(scene)[0]


def _png_hashes(folder: Path) -> list[str]:
    from twin.imagecompare import read_png

    return [hashlib.sha256(read_png(p).tobytes()).hexdigest() for p in sorted(folder.glob("*.png"))]


@render
def test_same_scene_and_tour_give_the_same_frames(vnu, tmp_path):
    from twin.render.video import export_tour, read_video

    scene, tour = vnu
    times = [1.0, 9.5, 19.0, 30.0]  # overview, NW orbit, street descent, east view
    runs = []
    for k in range(2):
        frames = tmp_path / f"frames{k}"
        out = tmp_path / f"run{k}.mp4"
        result = export_tour(
            scene, tour, out, fps=10, size=(160, 90), frames_dir=frames, times=times
        )
        assert result.frames == 4 and result.output == out
        meta, video = read_video(out)
        assert meta["size"] == (160, 90) and len(video) == 4
        runs.append((_png_hashes(frames), [hashlib.sha256(f.tobytes()).hexdigest() for f in video]))
    assert len(runs[0][0]) == 4
    assert runs[0][0] == runs[1][0]  # rendered frames, bit for bit
    assert runs[0][1] == runs[1][1]  # and the encoded video
    assert len(set(runs[0][0])) == 4  # the camera really moved
    assert not list(tmp_path.glob(".*part*"))


@render
def test_frames_show_the_tour_state_and_restore_the_scene(vnu, tmp_path):
    from twin.imagecompare import read_png
    from twin.render.video import export_tour

    scene, tour = vnu
    seen = []
    before = [la.visible for la in scene.layers]
    export_tour(
        scene,
        tour,
        None,
        fps=10,
        size=(160, 90),
        frames_dir=tmp_path,
        times=[0.5],
        on_state=seen.append,
    )
    assert seen[0].scene_time == datetime(2025, 6, 1, 7, 0, tzinfo=VN) + timedelta(
        hours=12 * 0.5 / 35.0
    )
    assert seen[0].caption and (tmp_path / "frame_00000.png").exists()
    assert read_png(tmp_path / "frame_00000.png").shape == (90, 160, 3)
    assert [la.visible for la in scene.layers] == before


@render
def test_tour_changes_only_the_layers_it_names(vnu):
    from twin.render.offscreen import FrameRenderer

    scene, _ = vnu
    layer = scene.layers[0]
    hides = Tour(
        "hides",
        [kf((581700, 2326180, 620), (581218, 2326783, 0), 2.0),
         kf((581600, 2326180, 620), (581218, 2326783, 0), 1.0, hide=(LAYER,))],
    )  # fmt: skip
    ignores = Tour("ignores", [replace(k, hide=()) for k in hides.keyframes])
    with FrameRenderer(scene, (160, 90)) as r:
        r.tour_frame(hides.sample(2.5))
        assert layer.visible is False  # hidden once its keyframe is reached
        r.tour_frame(hides.sample(0.5))
        assert layer.visible is True  # scrubbing back shows it again
        scene.set_visible(layer, False)  # someone else (the clock) hides it
        r.tour_frame(ignores.sample(2.5))
        assert layer.visible is False  # a tour that never names it leaves it alone
    assert layer.visible is True  # closing puts the scene back as it was


@render
def test_captions_draw_vietnamese_diacritics(vnu):
    from twin.render.captions import font_file
    from twin.render.offscreen import FrameRenderer

    scene, tour = vnu
    assert font_file() == ROOT / "assets" / "fonts" / "DejaVuSans.ttf"
    state = tour.sample(0.5)
    with FrameRenderer(scene, (320, 180)) as r:
        bare = r.tour_frame(replace(state, caption=None))
        plain = r.tour_frame(replace(state, caption="Ha Noi"))
        marked = r.tour_frame(replace(state, caption="Hà Nội"))
    band = slice(120, 180)
    assert np.abs(bare[band].astype(int) - plain[band]).max() > 100  # a caption is drawn
    changed = np.any(plain[band] != marked[band], axis=2)
    assert 10 < changed.sum() < 0.2 * changed.size  # accents drawn, same caption otherwise


def _leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if ".part" in p.name]


@render
@pytest.mark.parametrize("keep", [True, False])
def test_ctrl_c_leaves_a_playable_video_or_none(vnu, tmp_path, keep):
    from twin.render.video import ExportInterrupted, export_tour, read_video

    scene, tour = vnu
    out = tmp_path / "tour.mp4"

    def interrupt(p):
        if p.done == 3:
            raise KeyboardInterrupt

    with pytest.raises(ExportInterrupted) as info:
        export_tour(scene, tour, out, fps=5, size=(160, 90), progress=interrupt, keep_partial=keep)
    result = info.value.result
    assert result.interrupted and result.total == round(tour.duration * 5)
    assert _leftovers(tmp_path) == []
    if keep:
        assert result.output == out and result.frames == 3
        meta, frames = read_video(out)
        assert len(frames) == 3 and meta["fps"] == 5
    else:
        assert result.output is None and not out.exists()


@render
def test_ctrl_c_on_the_real_cli_keeps_a_playable_file(tmp_path):
    from twin.render.video import read_video

    out = tmp_path / "tour.mp4"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "app.cli",
            "tour",
            str(SCENES / "hanoi_vnu.toml"),
            "-o",
            str(out),
            "--size",
            "160x90",
            "--fps",
            "10",
        ],
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )
    try:
        for line in proc.stderr:
            if " 10%" in line:  # progress lines come every 10 % in a log
                proc.send_signal(signal.SIGINT)
                break
        rest = proc.stderr.read()
        assert proc.wait(timeout=60) == 130, rest
    finally:
        if proc.poll() is None:
            proc.kill()
    assert "interrupted" in rest and "playable" in rest
    _meta, frames = read_video(out)
    assert 0 < len(frames) < 380
    assert _leftovers(tmp_path) == []


@render
def test_cli_rejects_bad_tour_requests(tmp_path):
    from conftest import run_cli

    bad = run_cli(
        "tour", str(SCENES / "hanoi_vnu.toml"), "--tour", "nope", "-o", str(tmp_path / "x.mp4")
    )
    assert bad.returncode == 2 and "no tour named 'nope'" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1
    odd = run_cli(
        "tour", str(SCENES / "hanoi_vnu.toml"), "-o", str(tmp_path / "x.mp4"), "--size", "161x90"
    )
    assert odd.returncode == 2 and "even" in odd.stderr
    gif = run_cli("tour", str(SCENES / "hanoi_vnu.toml"), "-o", str(tmp_path / "x.gif"))
    assert gif.returncode == 2 and ".gif" in gif.stderr
    listed = run_cli("tour", str(SCENES / "hanoi_vnu.toml"), "--list")
    assert listed.returncode == 0 and "Giới thiệu khu trung tâm" in listed.stdout


@render
@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root ignores permissions")
def test_export_to_a_read_only_folder_fails_cleanly(vnu, tmp_path):
    from twin.render.video import export_tour

    scene, tour = vnu
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(PermissionError, match="cannot write"):
            export_tour(scene, tour, folder / "x.mp4", fps=5, size=(160, 90), times=[0.0])
        assert list(folder.iterdir()) == []
    finally:
        folder.chmod(0o755)


# -- the app's tour dock (Xvfb) -----------------------------------------------------------
@pytest.mark.gui
def test_tour_panel_plays_scrubs_records_and_restores_the_view(qtbot, tmp_path):
    if not os.environ.get("DISPLAY"):
        pytest.skip("no X display (install xvfb: pytest-xvfb starts it)")
    from PySide6.QtCore import QSettings

    import importers
    from app.main_window import MainWindow
    from app.tour_panel import TourPanel

    scene = importers.open_scene(SCENES / "hanoi_vnu.toml")
    # a private settings file, so the test never touches the user's
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    window = MainWindow(scene, settings=settings)
    window.resize(640, 480)
    qtbot.addWidget(window)
    panel = window.tour_panel  # the window builds its own tour dock
    assert isinstance(panel, TourPanel)
    window.show()
    panel.show()
    qtbot.waitExposed(window)
    try:
        window.go_to_bookmark("Tòa A6")
        start = window.view.current_bookmark("start")
        tour = panel.tour
        assert tour is not None and tour.name == "Giới thiệu khu trung tâm"

        panel.play()
        assert panel.status == panel.PLAYING and panel.play_button.text() == "Pause"
        qtbot.waitUntil(lambda: panel.time > 0.3, timeout=5000)
        panel.pause()
        paused_at = panel.time
        qtbot.wait(150)
        assert panel.time == paused_at  # paused means paused

        panel.seek(10.0)  # scrub
        assert panel.slider.value() == round(1000 * 10.0 / tour.duration)
        cam = window.view.current_bookmark("now")
        np.testing.assert_allclose(cam.position, tour.sample(10.0).camera.position, atol=1e-3)
        panel.slider.setValue(500)  # the user drags the slider
        np.testing.assert_allclose(
            window.view.current_bookmark("now").position,
            tour.sample(tour.duration / 2).camera.position,
            atol=1e-3,
        )
        panel.seek(3.0)
        assert panel._caption is not None
        assert panel._caption.current == "Toàn cảnh khu trung tâm ĐHQG Hà Nội"
        assert panel.clock_label.text() == tour.sample(3.0).scene_time.strftime("%H:%M %d/%m/%Y")

        panel.stop()  # back to where the presenter was
        back = window.view.current_bookmark("back")
        np.testing.assert_allclose(back.position, start.position, atol=1e-6)
        np.testing.assert_allclose(back.focal_point, start.focal_point, atol=1e-6)
        assert panel._caption.current is None

        # record: a new tour from two views, then play it to its end
        recorded = panel.new_tour()
        window.go_to_bookmark("overview")
        panel.caption_edit.setText("Toàn cảnh")
        panel.duration_spin.setValue(0.5)
        panel.record()
        window.go_to_bookmark("street level")
        panel.record()
        assert len(recorded.keyframes) == 2 and recorded.keyframes[0].caption == "Toàn cảnh"
        np.testing.assert_allclose(
            recorded.keyframes[1].camera.position,
            window.scene.bookmark("street level").position,
            atol=1e-6,
        )
        assert "[[tours.keyframes]]" in panel.copy_toml()
        before = window.view.current_bookmark("before")
        panel.play()
        qtbot.waitUntil(lambda: panel.status == panel.STOPPED, timeout=8000)
        np.testing.assert_allclose(
            window.view.current_bookmark("after").position, before.position, atol=1e-6
        )
    finally:
        panel.stop()
        window.close()
