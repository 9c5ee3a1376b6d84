"""``citytwin sun`` (app.sun_cmd) through its ``run`` and in a fresh interpreter."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest

from app import sun_cmd
from app.loading import UserError

ROOT = Path(__file__).resolve().parents[1]
SCENE = ROOT / "scenes" / "viet_tri.toml"


def _args(*argv: str) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="citytwin")
    sun_cmd.add_parser(p.add_subparsers(dest="command"))
    return p.parse_args(["sun", *argv])


def test_json(capsys) -> None:
    assert sun_cmd.run(_args(str(SCENE), "--time", "2025-12-21T09:00+07:00", "--json")) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["time"] == "2025-12-21T09:00:00+07:00"
    # Morning in December: the sun is in the south-east, ~28° up.
    assert 120 < out["azimuth_deg"] < 145 and 24 < out["elevation_deg"] < 32
    assert out["apparent_elevation_deg"] > out["elevation_deg"]
    assert out["sunrise"].startswith("2025-12-21T06:")
    assert out["sunset"].startswith("2025-12-21T17:")


def test_text_and_defaults(capsys) -> None:
    # No offset: the scene's zone (+07:00). No --time: the scene's [scene] time.
    assert sun_cmd.run(_args(str(SCENE), "--time", "2025-06-21T12:00")) == 0
    text = capsys.readouterr().out
    assert "azimuth" in text and "(geometric)" in text and "refraction" in text
    assert "sunrise 05:1" in text and "sunset 18:4" in text
    assert sun_cmd.run(_args(str(SCENE))) == 0
    assert "2025-06-02T09:00:00+07:00" in capsys.readouterr().out


def test_other_zone_converted(capsys) -> None:
    sun_cmd.run(_args(str(SCENE), "--time", "2025-06-21T22:00Z", "--json"))
    out = json.loads(capsys.readouterr().out)
    assert out["time"] == "2025-06-22T05:00:00+07:00" and out["sun_up"] is False


def test_scene_timezone(tmp_path, capsys) -> None:
    text = SCENE.read_text(encoding="utf-8").replace(
        "default_height = 9.0", 'default_height = 9.0\ntimezone = "+08:00"', 1
    )
    scene = tmp_path / "tz.toml"
    scene.write_text(text, encoding="utf-8")
    sun_cmd.run(_args(str(scene), "--time", "2025-03-20T12:00", "--json"))
    out = json.loads(capsys.readouterr().out)
    assert out["time"] == "2025-03-20T12:00:00+08:00"
    assert out["sunrise"].endswith("+08:00")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("missing.toml", "--time", "2025-01-01T00:00"), "no such file"),
        ((str(SCENE), "--time", "yesterday"), "not an ISO 8601"),
    ],
)
def test_bad_input(argv, message) -> None:
    with pytest.raises(UserError, match=message):
        sun_cmd.run(_args(*argv))


def test_fresh_interpreter() -> None:
    code = (
        "import sys, argparse; from app import sun_cmd;"
        "p = argparse.ArgumentParser(); sun_cmd.add_parser(p.add_subparsers());"
        f"sys.exit(sun_cmd.run(p.parse_args(['sun', {str(SCENE)!r}, "
        "'--time', '2025-03-20T07:00+07:00', '--json'])))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["azimuth_deg"] > 80
