"""``citytwin info/render --at E,N,H[,ROT]`` places an un-georeferenced model."""

from __future__ import annotations

import json

import pytest
from conftest import DATA, run_cli

RAILING = DATA / "ifc" / "railing.ifc"


def test_at_places_an_ungeoreferenced_ifc_in_the_scene_crs():
    result = run_cli("info", str(RAILING), "--at", "568300,2357700,10,30", "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["crs"].startswith("EPSG:9208")
    layer = summary["layers"][0]
    assert layer["info"]["georeferencing"] == "user placement (at)"
    e0, e1, n0, n1, h0, _ = layer["bounds_world"]
    assert abs((e0 + e1) / 2 - 568300) < 50 and abs((n0 + n1) / 2 - 2357700) < 50
    assert h0 >= 9.0


@pytest.mark.parametrize("bad", ["1,2", "a,b,c", "1,2,3,4,5", "nan,1,2"])
def test_bad_at_is_a_usage_error(bad):
    result = run_cli("info", str(RAILING), "--at", bad)
    assert result.returncode == 2
    assert "E,N,H" in result.stderr
    assert "Traceback" not in result.stderr
