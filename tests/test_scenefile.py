"""Scene files: valid ones load; each mistake is one line naming file and key."""

from __future__ import annotations

import pytest
from conftest import SCENES, run_cli

import importers
from twin.scenefile import SceneFileError, load_scene_spec, parse_scene

VALID = """
[scene]
name = "Test"
crs = "EPSG:9208"
origin = [567000.0, 2358000, 0]

[[layers]]
name = "Buildings"
path = "b.geojson"
style = { by = "attribute", attribute = "height", cmap = "viridis", range = [0, 60] }

[[bookmarks]]
name = "overview"
position = [567500, 2357500, 800]
focal_point = [567000, 2358000, 0]
"""


def test_valid_scene_parses_with_paths_relative_to_the_file(tmp_path):
    spec = parse_scene(VALID, tmp_path / "s.toml")
    assert spec.crs == "EPSG:9208"
    assert spec.origin == (567000.0, 2358000.0, 0.0)
    assert spec.layers[0].path == (tmp_path / "b.geojson").resolve()
    assert spec.layers[0].style.mode == "attribute"
    assert spec.layers[0].style.clim == (0.0, 60.0)
    assert spec.bookmarks[0].view_up == (0.0, 0.0, 1.0)


@pytest.mark.parametrize(
    ("old", "new", "key", "problem"),
    [
        ('crs = "EPSG:9208"', 'crs = "EPSG:4326"', "scene.crs", "not a projected CRS"),
        ('crs = "EPSG:9208"', 'crs = "EPSG:99999999"', "scene.crs", "unknown CRS"),
        ('crs = "EPSG:9208"\n', "", "scene.crs", "is required but missing"),
        (
            "origin = [567000.0, 2358000, 0]",
            "origin = [1, 2]",
            "scene.origin",
            "expected a list of 3 numbers",
        ),
        (
            "origin = [567000.0, 2358000, 0]",
            'origin = "here"',
            "scene.origin",
            "expected a list, got a string",
        ),
        ('name = "Test"', 'name = "Test"\ncolour = 3', "scene.colour", "unknown key"),
        ('by = "attribute"', 'by = "rainbow"', "layers[0].style.by", "expected one of"),
        ("range = [0, 60]", "range = [60, 0]", "layers[0].style.range", "must be increasing"),
        ('path = "b.geojson"', "path = 5", "layers[0].path", "expected a string"),
        (
            "focal_point = [567000, 2358000, 0]",
            "focal_point = [567500, 2357500, 800]",
            "bookmarks[0].position",
            "equals focal_point",
        ),
        (
            'name = "overview"',
            'name = "overview"\nview_angle = 400',
            "bookmarks[0].view_angle",
            "between 1 and 170",
        ),
    ],
)
def test_each_mistake_names_file_key_and_problem(tmp_path, old, new, key, problem):
    path = tmp_path / "bad.toml"
    with pytest.raises(SceneFileError) as info:
        parse_scene(VALID.replace(old, new, 1), path)
    text = str(info.value)
    assert text.startswith(f"{path}: {key}: ")
    assert problem in text
    assert "\n" not in text


def test_invalid_toml_and_non_utf8(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text("[scene\ncrs = 1", encoding="utf-8")
    with pytest.raises(SceneFileError, match="not valid TOML"):
        load_scene_spec(path)
    path.write_bytes(b'[scene]\nname = "\xff\xfe"\n')
    with pytest.raises(SceneFileError, match="not UTF-8"):
        load_scene_spec(path)


def test_scene_files_cannot_execute_code(tmp_path):
    """TOML has no code; a pickle or YAML tag is just text that fails validation."""
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.toml"
    path.write_text(
        VALID + f"\n[plugin]\nrun = \"__import__('os').system('touch {marker}')\"\n",
        encoding="utf-8",
    )
    with pytest.raises(SceneFileError, match="plugin: unknown key"):
        load_scene_spec(path)
    assert not marker.exists()


def test_scene_with_missing_layer_file_names_the_data_file(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text(VALID, encoding="utf-8")
    with pytest.raises(importers.ImportFailed) as info:
        importers.open_scene(path)
    assert str(info.value) == f"{tmp_path / 'b.geojson'}: file not found"


def test_bundled_scenes_are_valid_and_have_three_bookmarks():
    for name in ("viet_tri.toml", "hanoi_vnu.toml"):
        spec = load_scene_spec(SCENES / name)
        names = [b.name for b in spec.bookmarks]
        assert len(names) >= 3
        assert {"overview", "street level"} <= set(names)


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("[scene]\norigin = [0, 0, 0]\n", "scene.crs: is required but missing"),
        ("[scene\n", "not valid TOML"),
    ],
)
def test_cli_reports_bad_scene_in_one_line_with_exit_code_2(tmp_path, content, fragment):
    path = tmp_path / "bad.toml"
    path.write_text(content, encoding="utf-8")
    for args in (["info", str(path)], ["render", str(path), "-o", str(tmp_path / "x.png")]):
        result = run_cli(*args)
        assert result.returncode == 2
        assert "Traceback" not in result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1
        assert str(path) in lines[0] and fragment in lines[0]
        assert not (tmp_path / "x.png").exists()


def test_cli_reports_bad_geojson_in_one_line_with_exit_code_2(tmp_path):
    path = tmp_path / "broken.geojson"
    path.write_text('{"type": "FeatureCollection", "features": [', encoding="utf-8")
    result = run_cli("info", str(path))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert str(path) in result.stderr
