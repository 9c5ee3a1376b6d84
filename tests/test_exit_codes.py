"""One set of exit codes for every command (README "Exit codes"), internal errors
as one line plus a crash log, empty renders said out loud, and no traceback at
exit on valid input (issue 18)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, run_cli

from app import cli

PLAN = ROOT / "assets" / "viet_tri" / "plan.geojson"
CITYJSON = ROOT / "tests" / "data" / "cityjson" / "multi_lod.city.json"
EMPTY_SCENE = """
[scene]
name = "nothing"
crs = "EPSG:9208"
origin = [568000.0, 2357100.0, 0.0]
"""


def test_codes_are_distinct_and_as_documented():
    assert (cli.EXIT_OK, cli.EXIT_FINDINGS, cli.EXIT_BAD_INPUT, cli.EXIT_INTERNAL) == (0, 1, 2, 3)
    assert cli.EXIT_CHECK_FAILED == cli.EXIT_FINDINGS
    assert cli.EXIT_NOTHING_TO_DRAW == 4
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Exit codes", 1)[1].split("\n#", 1)[0]
    for code in ("0", "1", "2", "3", "4", "130"):
        assert f"| {code} |" in section


# -- 3: internal errors ---------------------------------------------------------------
def _bug(_args) -> int:
    raise RuntimeError("a bug in CityTwin\nwith a second line")


@pytest.fixture
def buggy(monkeypatch):
    """``citytwin info`` that hits a bug, without the reader processes."""
    monkeypatch.setattr(cli, "start_reader_processes", lambda: None)
    monkeypatch.setattr(cli, "cmd_info", _bug)


def test_an_internal_error_exits_3_with_one_line_naming_a_crash_log(
    buggy, tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    assert cli.main(["info", "x.geojson"]) == cli.EXIT_INTERNAL
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("citytwin: internal error (RuntimeError): a bug in CityTwin; ")
    logs = list((tmp_path / "state" / "citytwin").glob("crash-*.log"))
    assert len(logs) == 1 and str(logs[0]) in err
    text = logs[0].read_text(encoding="utf-8")
    assert "Traceback (most recent call last)" in text and "with a second line" in text
    assert "info x.geojson" in text


def test_the_crash_log_falls_back_to_the_temp_folder(buggy, tmp_path, monkeypatch, capsys):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("", encoding="utf-8")
    monkeypatch.setenv("XDG_STATE_HOME", str(blocker))  # state folder cannot be made
    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(temp))
    assert cli.main(["info", "x.geojson"]) == cli.EXIT_INTERNAL
    logs = list(temp.glob("citytwin-crash-*.log"))
    assert len(logs) == 1 and str(logs[0]) in capsys.readouterr().err
    assert cli.main(["info", "x.geojson"]) == cli.EXIT_INTERNAL  # same second: a new file
    assert len(list(temp.glob("citytwin-crash-*.log"))) == 2


def test_debug_shows_the_traceback_instead(buggy):
    with pytest.raises(RuntimeError, match="a bug"):
        cli.main(["--debug", "info", "x.geojson"])


def test_the_real_process_exits_3(tmp_path):
    script = (
        "import sys\n"
        "from app import cli\n"
        "cli.cmd_render = lambda args: 1 / 0\n"
        "sys.exit(cli.main(sys.argv[1:]))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "XDG_STATE_HOME": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", script, "render", str(PLAN), "-o", str(tmp_path / "x.png")],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=120,
    )
    assert done.returncode == 3, done.stderr
    assert done.stderr.count("\n") == 1 and "ZeroDivisionError" in done.stderr
    assert "Traceback" not in done.stderr
    assert len(list((tmp_path / "citytwin").glob("crash-*.log"))) == 1


# -- 2: bad input, for every command --------------------------------------------------
@pytest.mark.parametrize(
    "args",
    [
        ["info", "missing.geojson"],
        ["render", "missing.geojson", "-o", "{tmp}/x.png"],
        ["render", str(PLAN), "-o", "{tmp}/x.png", "--size", "1x1"],
        ["tour", "missing.toml", "-o", "{tmp}/x.mp4"],
        ["tour", str(ROOT / "scenes" / "hanoi_vnu.toml"), "-o", "{tmp}/x.gif"],
        ["check", str(PLAN), "--baseline", "{tmp}/none"],
        ["check", str(PLAN), "--baseline", "{tmp}", "--junit", "{tmp}/no/such/dir/j.xml"],
        ["info"],
        ["frobnicate"],
    ],
    ids=lambda a: " ".join(a[:1] + [Path(x).name for x in a[1:2]] + a[2:3] + a[-1:]),
)
def test_bad_input_exits_2_with_one_line(tmp_path, args):
    done = run_cli(*(a.replace("{tmp}", str(tmp_path)) for a in args))
    assert done.returncode == cli.EXIT_BAD_INPUT, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert lines and ("error:" in lines[-1])


def test_tour_checks_path_and_size_with_the_exporters_rules(tmp_path):
    """One place checks a video's path and size: the CLI's messages are the
    exporter's (twin.render.video)."""
    from twin.render.video import check_size, check_video_path

    args = cli.build_parser().parse_args(
        ["tour", str(ROOT / "scenes" / "hanoi_vnu.toml"), "-o", str(tmp_path / "x.mp4"),
         "--size", "161x90"]
    )
    with pytest.raises(ValueError) as expected:
        check_size(args.size)
    with pytest.raises(cli.UserError) as got:
        cli.cmd_tour(args)
    assert str(got.value) == str(expected.value)
    args.size, args.output = (160, 90), tmp_path / "nowhere" / "x.mp4"
    with pytest.raises(FileNotFoundError) as expected:
        check_video_path(args.output)
    with pytest.raises(cli.UserError) as got:
        cli.cmd_tour(args)
    assert str(got.value) == str(expected.value)


# -- 4: nothing to draw; empty layers in info -------------------------------------------
@pytest.mark.render
def test_rendering_nothing_says_so_and_exits_4(tmp_path):
    scene = tmp_path / "empty.toml"
    scene.write_text(EMPTY_SCENE, encoding="utf-8")
    out = tmp_path / "sky.png"
    done = run_cli("render", str(scene), "-o", str(out), "--size", "64x48")
    assert done.returncode == cli.EXIT_NOTHING_TO_DRAW, done.stderr
    assert out.is_file()  # still written: a pipeline that expects the file gets it
    assert "nothing to draw" in done.stderr and done.stderr.count("\n") == 1
    drawn = run_cli("render", str(PLAN), "-o", str(tmp_path / "plan.png"), "--size", "64x48")
    assert drawn.returncode == 0 and "nothing to draw" not in drawn.stderr


def _scene_with_an_empty_layer():
    import pyvista as pv

    from twin.features import FeatureTable
    from twin.layer import Layer
    from twin.scene import Scene

    scene = Scene(crs="EPSG:9208", origin=[568000.0, 2357100.0, 0.0], name="empty")
    empty = np.empty(0, dtype=object)
    table = FeatureTable(empty, empty, empty, np.zeros((0, 6)))
    mesh = pv.PolyData()
    mesh.cell_data["feature"] = np.zeros(0, np.int32)
    scene.add_layer(Layer("nothing", mesh, table, kind="bim"))
    return scene


def test_info_shows_an_empty_layer_as_empty(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))  # a failure's crash log stays here
    monkeypatch.setattr(cli, "start_reader_processes", lambda: None)
    monkeypatch.setattr(cli, "load_any", lambda *a, **k: _scene_with_an_empty_layer())
    assert cli.main(["info", "empty.ifc"]) == 0
    text = capsys.readouterr().out
    assert "world bounds: empty" in text and "1.0..-1.0" not in text
    assert cli.main(["info", "empty.ifc", "--json"]) == 0
    layer = json.loads(capsys.readouterr().out)["layers"][0]
    assert layer["bounds_world"] is None and layer["bounds_local"] is None
    assert cli.nothing_to_draw(_scene_with_an_empty_layer())


def test_info_lists_only_the_surface_types_in_the_file():
    done = run_cli("info", str(CITYJSON), "--json")
    assert done.returncode == 0, done.stderr
    info = json.loads(done.stdout)["layers"][0]["info"]
    assert info["surface_types"] == ["RoofSurface", "WallSurface", "GroundSurface"]


# -- no traceback at exit on valid input -------------------------------------------------
def test_info_runs_end_without_a_traceback():
    """Issue 18: 2 runs in 20 printed an EOFError or 'process object is closed'
    after the output (helper threads still forking or reaping reader processes
    at exit). Ten runs, four at a time: load makes the race likelier."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "app.cli", "info", str(PLAN)]
    results = []
    for _batch in range(3):
        procs = [
            subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             cwd=ROOT, env=env)
            for _ in range(4 if _batch < 2 else 2)
        ]
        results += [(p.communicate(timeout=120), p.returncode) for p in procs]
    assert len(results) == 10
    for (out, err), code in results:
        assert code == 0 and "Traceback" not in err and "Error" not in err, err
        assert "viet_tri_plan" in out


def test_exiting_right_after_a_reader_call_is_clean():
    """The race itself, made likely: exit while the spare reader is being forked
    and the used one reaped. Without runner.shutdown this printed a traceback in
    7 of 20 runs."""
    script = (
        "import sys, time\n"
        "from importers.ifc import runner\n"
        "from importers import sandbox\n"
        "runner.warm_up()\n"
        "time.sleep(float(sys.argv[1]))\n"
        "assert sandbox.call('/dev/null', 'os.path:exists', '/dev/null')\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for k in range(10):
        done = subprocess.run(
            [sys.executable, "-c", script, str((k % 5) * 0.01)],
            capture_output=True, text=True, cwd=ROOT, env=env, timeout=60,
        )
        assert done.returncode == 0 and done.stderr == "", done.stderr
