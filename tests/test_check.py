"""``citytwin check``: baselines, what passes, what is caught, reports and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, run_cli

from twin.imagecompare import compare, read_png
from twin.render.check import check_scene, slug

pytestmark = pytest.mark.render

ASSET = ROOT / "assets" / "hanoi_vnu" / "vnu_buildings.geojson"
LAYER = "Tòa nhà (OSM)"

#: The VNU campus with two bookmarks and a short tour; tests edit a copy of it.
SCENE = f"""
[scene]
name = "check test"
crs = "EPSG:3405"
origin = [581200.0, 2326800.0, 0.0]
default_height = 15.0

[[layers]]
name = "{LAYER}"
path = "{ASSET.as_posix()}"
importer = "vector"
options = {{ kind = "buildings" }}
visible = true

[layers.style]
by = "class"
classes = {{ university = "#f0c75e", dormitory = "#9fc3e0", yes = "#ddd3c4" }}

[[bookmarks]]
name = "overview"
position = [581700.0, 2326180.0, 620.0]
focal_point = [581218.0, 2326783.0, 0.0]

[[bookmarks]]
name = "Tòa A6"
position = [581290.0, 2326760.0, 90.0]
focal_point = [581165.0, 2326904.0, 13.0]

[[tours]]
name = "Ngắn"

[[tours.keyframes]]
bookmark = "overview"
duration = 4.0
caption = "Toàn cảnh"

[[tours.keyframes]]
bookmark = "Tòa A6"
duration = 1.0
caption = "Tòa A6"
"""

CHANGES = {
    "moved camera": (
        "position = [581700.0, 2326180.0, 620.0]\nfocal_point = [581218.0, 2326783.0, 0.0]",
        "position = [581710.0, 2326180.0, 620.0]\nfocal_point = [581228.0, 2326783.0, 0.0]",
        "bookmark-overview.png",
    ),
    "hidden layer": ("visible = true", "visible = false", "bookmark-toa-a6.png"),
    "wrong colour": ('university = "#f0c75e"', 'university = "#5e8cf0"', "bookmark-overview.png"),
    "changed caption": ('caption = "Toàn cảnh"', 'caption = "Quy hoạch"', "tour-ngan-00.png"),
}


def write_scene(folder: Path, old: str = "", new: str = "") -> Path:
    text = SCENE
    if old:
        assert old in text
        text = text.replace(old, new, 1)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "scene.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def baseline(tmp_path_factory) -> Path:
    """Baselines approved once for the module, through the real CLI."""
    root = tmp_path_factory.mktemp("check")
    scene = write_scene(root / "scene")
    base = root / "baselines"
    done = run_cli(
        "check", str(scene), "--baseline", str(base), "--update", "--tours",
        "--tour-frames", "2", "--out", str(root / "first"),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "updated 4 baselines" in done.stdout
    return base


def test_update_writes_baselines_and_a_manifest(baseline):
    names = sorted(p.name for p in baseline.glob("*.png"))
    assert names == [
        "bookmark-overview.png",
        "bookmark-toa-a6.png",
        "tour-ngan-00.png",
        "tour-ngan-01.png",
    ]
    manifest = json.loads((baseline / "baselines.json").read_text(encoding="utf-8"))
    assert manifest["size"] == [320, 180]
    assert manifest["renderer"] and manifest["renderer"] != "unknown"
    assert read_png(baseline / "bookmark-overview.png").shape == (180, 320, 3)


def test_unchanged_scene_passes_with_exit_0(baseline, tmp_path):
    scene = write_scene(tmp_path / "scene")
    out = tmp_path / "out"
    done = run_cli(
        "check", str(scene), "--baseline", str(baseline), "--tours", "--tour-frames", "2",
        "--out", str(out),
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "all 4 images match" in done.stdout
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "PASSED: 4 pass" in report
    assert (out / "report.html").exists()
    assert not (out / "diff").exists()


@pytest.mark.parametrize("change", list(CHANGES))
def test_a_real_change_fails_with_exit_1_a_diff_and_a_report(baseline, tmp_path, change):
    old, new, caught = CHANGES[change]
    scene = write_scene(tmp_path / "scene", old, new)
    out = tmp_path / "out"
    done = run_cli(
        "check", str(scene), "--baseline", str(baseline), "--tours", "--tour-frames", "2",
        "--out", str(out),
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    failed = [line for line in done.stdout.splitlines() if line.startswith("FAIL")]
    assert failed, done.stdout
    diff = out / "diff" / caught
    assert diff.exists() and (out / "actual" / caught).exists()
    red = np.all(read_png(diff) == (230, 30, 30), axis=2)
    assert red.mean() > (0.002 if change == "changed caption" else 0.02)  # the diff shows where
    report = (out / "report.md").read_text(encoding="utf-8")
    assert report.startswith("# Render check") and "FAILED" in report
    assert f"diff/{caught}" in report
    assert f"diff/{caught}" in (out / "report.html").read_text(encoding="utf-8")
    if change == "changed caption":  # only the tour frame differs, in its caption box
        assert len(failed) == 1 and "tour Ngắn" in failed[0] and "caption box" in failed[0]


def test_driver_like_differences_pass(baseline):
    """Edge anti-aliasing differs between Mesa and GPU drivers; turning MSAA off
    changes every silhouette pixel in the same way and must still pass."""
    import importers
    from twin.render.offscreen import FrameRenderer

    scene = importers.open_scene(write_scene(baseline.parent / "aa"))
    with FrameRenderer(scene, (320, 180), captions=False) as r:
        r.ren_win.SetMultiSamples(0)
        aliased = r.bookmark_frame("Tòa A6")
    expected = read_png(baseline / "bookmark-toa-a6.png")
    assert np.abs(aliased.astype(int) - expected).max() > 30  # the pixels do differ
    assert compare(aliased, expected).passed


def test_missing_baseline_fails_and_leaves_the_render_to_review(baseline, tmp_path):
    extra = '\n[[bookmarks]]\nname = "Đường mới"\nposition = [581060.0, 2326520.0, 40.0]\n'
    extra += "focal_point = [581150.0, 2326700.0, 10.0]\n"
    scene = write_scene(tmp_path / "scene", "[[tours]]", extra + "\n[[tours]]")
    out = tmp_path / "out"
    done = run_cli("check", str(scene), "--baseline", str(baseline), "--out", str(out))
    assert done.returncode == 1
    assert "MISSING  bookmark Đường mới" in done.stdout
    assert (out / "actual" / f"bookmark-{slug('Đường mới')}.png").exists()
    assert "STALE    tour-ngan-00.png" in done.stdout  # tours not asked for this time


def test_bad_input_exits_2_with_one_line(tmp_path):
    scene = write_scene(tmp_path / "scene")
    nowhere = run_cli("check", str(scene), "--baseline", str(tmp_path / "nope"))
    assert nowhere.returncode == 2
    assert nowhere.stderr.strip().count("\n") == 0 and "no such baseline folder" in nowhere.stderr
    bad = run_cli("check", str(scene), "--baseline", str(tmp_path), "--tolerance", "2")
    assert bad.returncode == 2 and "out of range" in bad.stderr
    unknown = run_cli("check", str(scene), "--baseline", str(tmp_path), "--tours", "Khác")
    assert unknown.returncode == 2 and "no tour named 'Khác'" in unknown.stderr


def test_api_reports_scores_and_writes_reports(baseline, tmp_path):
    import importers

    scene = importers.open_scene(
        write_scene(tmp_path / "scene", "visible = true", "visible = false")
    )
    report = check_scene(scene, baseline, tmp_path / "out")
    assert not report.passed
    by_file = {item.file: item for item in report.items}
    assert by_file["bookmark-overview.png"].status == "fail"
    assert by_file["bookmark-overview.png"].score > report.tolerance
    assert report.size == (320, 180)  # taken from the manifest
    assert report.markdown.exists() and report.html.exists()
    assert [la.visible for la in scene.layers] == [False]  # the scene is left as it was


@pytest.mark.render
def test_check_draws_the_twin_at_a_time_and_records_it(tmp_path):
    """The baseline manifest records the view time; a check at another time (the
    flood crest) differs, so a check that lost the simulation would pass wrongly."""
    import json
    from datetime import datetime

    from conftest import SCENES

    import importers
    from twin.render import use_offscreen_gl
    from twin.render.check import check_scene
    from twin.sim.clock import ICT

    use_offscreen_gl()
    scene = importers.open_scene(SCENES / "viet_tri.toml")
    scene.bookmarks[:] = scene.bookmarks[:1]  # the overview: enough, and fast
    morning = datetime(2025, 6, 2, 6, 0, tzinfo=ICT)
    base, out = tmp_path / "base", tmp_path / "out"
    check_scene(scene, base, out, size=(240, 135), update=True, when=morning)
    manifest = json.loads((base / "baselines.json").read_text(encoding="utf-8"))
    assert manifest["time"] == morning.isoformat()
    assert check_scene(scene, base, out, size=(240, 135)).passed  # the manifest's time
    crest = check_scene(scene, base, out, size=(240, 135),
                        when=datetime(2025, 6, 2, 14, 0, tzinfo=ICT))
    assert not crest.passed


def test_the_manifest_records_the_light_and_older_baselines_keep_the_light_kit(tmp_path):
    """Baselines record whether the sun lit them; a manifest written before the sun
    was on by default (no record) is checked with the light kit it was made with,
    so upgrading CityTwin does not turn every image red. ``--sun`` overrides."""
    scene = write_scene(tmp_path / "scene", "default_height = 15.0",
                        "default_height = 15.0\ntime = 2025-06-01T09:00:00+07:00")
    base = tmp_path / "base"
    made = run_cli("check", str(scene), "--baseline", str(base), "--update",
                   "--out", str(tmp_path / "u"))
    assert made.returncode == 0, made.stderr
    manifest = json.loads((base / "baselines.json").read_text(encoding="utf-8"))
    assert manifest["sun"] is True  # a scene on Earth, software GL: the sun is the default
    del manifest["sun"]  # as a baseline made by an earlier CityTwin
    (base / "baselines.json").write_text(json.dumps(manifest), encoding="utf-8")
    plain = run_cli("check", str(scene), "--baseline", str(base), "--out", str(tmp_path / "a"))
    assert plain.returncode == 1, plain.stdout  # sun-lit PNGs against light-kit renders
    lit = run_cli("check", str(scene), "--baseline", str(base), "--sun",
                  "--out", str(tmp_path / "b"))
    assert lit.returncode == 0, lit.stdout
