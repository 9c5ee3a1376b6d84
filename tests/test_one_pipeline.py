"""One pipeline per job: CityGML and CityJSON share their build tail and attribute
columns, every importer confines side files by one rule, one function picks the
UTM zone of a scene, and ``scene.spec`` is a declared field."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

import importers
from importers import surface_layer
from importers.mesh import SafeResolver
from importers.sidefiles import confine, side_file
from twin.geo import utm_zone
from twin.scene import Scene

HUGE = 10**400  # beyond float64: a column that must keep its digits
RD = "EPSG:28992"


def _cityjson(path: Path) -> Path:
    doc = {
        "type": "CityJSON",
        "version": "2.0",
        "transform": {"scale": [1, 1, 1], "translate": [0, 0, 0]},
        "metadata": {"referenceSystem": "https://www.opengis.net/def/crs/EPSG/0/28992"},
        "CityObjects": {
            "b0": {"type": "Building", "attributes": {}},
            "b1": {"type": "Building", "attributes": {"big": HUGE, "floors": 3}},
        },
        "vertices": [],
    }
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def _citygml(path: Path) -> Path:
    path.write_text(
        f"""<?xml version="1.0" encoding="UTF-8"?>
<CityModel xmlns="http://www.opengis.net/citygml/2.0" xmlns:gml="http://www.opengis.net/gml"
 xmlns:bldg="http://www.opengis.net/citygml/building/2.0"
 xmlns:gen="http://www.opengis.net/citygml/generics/2.0">
<gml:boundedBy><gml:Envelope srsName="EPSG:28992"/></gml:boundedBy>
<cityObjectMember><bldg:Building gml:id="b0"/></cityObjectMember>
<cityObjectMember><bldg:Building gml:id="b1">
<gen:intAttribute name="big"><gen:value>{HUGE}</gen:value></gen:intAttribute>
<gen:intAttribute name="floors"><gen:value>3</gen:value></gen:intAttribute>
</bldg:Building></cityObjectMember>
</CityModel>
""",
        encoding="utf-8",
    )
    return path


def _columns(path: Path, importer: str) -> dict[str, np.ndarray]:
    scene = Scene(crs=RD, origin=np.zeros(3))
    (layer,) = importers.open(path, scene, {}, importer=importer)
    return layer.features.attributes


def test_same_attributes_give_the_same_columns_in_both_formats(tmp_path):
    gml = _columns(_citygml(tmp_path / "a.gml"), "citygml")
    cj = _columns(_cityjson(tmp_path / "a.city.json"), "cityjson")
    assert list(gml) == list(cj)
    for key in ("big", "floors"):
        assert gml[key].dtype == cj[key].dtype, key
    assert gml["big"].dtype == object and gml["big"][1] == HUGE  # exact, not inf
    assert gml["big"][0] is None and cj["big"][0] is None
    assert gml["floors"].dtype == np.float64
    np.testing.assert_array_equal(gml["floors"], cj["floors"])  # [nan, 3.0]


def test_attribute_columns_skip_empty_sets_and_keep_huge_ints():
    notes: list[str] = []
    cols = surface_layer.attribute_columns([{}, {"n": 1}, {"n": HUGE}, {"n": 2.5}], notes)
    assert list(cols) == ["n"] and cols["n"].dtype == object
    assert cols["n"][2] == HUGE
    cols = surface_layer.attribute_columns([{}, {"n": 1}, {"n": None}], notes)
    assert cols["n"].dtype == np.float64
    np.testing.assert_array_equal(cols["n"], [np.nan, 1.0, np.nan])
    assert not notes


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    """A model folder with a texture, a sub-folder, a secret beside it and a
    symlink that points out of it."""
    folder = tmp_path / "model"
    (folder / "tex").mkdir(parents=True)
    (folder / "tex" / "wall.png").write_bytes(b"png")
    (folder / "a b.png").write_bytes(b"png")
    (tmp_path / "secret.png").write_bytes(b"secret")
    os.symlink(tmp_path / "secret.png", folder / "link.png")
    return folder


@pytest.mark.parametrize(
    "name",
    [
        "../secret.png",
        "tex/../../secret.png",
        "..%2Fsecret.png",
        "%2E%2E/secret.png",
        "link.png",  # a symlink inside the folder that points out of it
        "/etc/passwd",
        "\\\\server\\share\\x.png",
        "C:\\textures\\x.png",
        "file:///etc/passwd",
        "file:secret.png",
        "data:image/png;base64,AAAA",
        "DATA:image/png;base64,AAAA",
        "http://example.com/x.png",
    ],
)
def test_side_files_outside_the_folder_are_refused(model_dir, name):
    assert confine(model_dir, name) is None
    assert side_file(model_dir, name) == (None, True)
    resolver = SafeResolver(model_dir)
    assert resolver.path(name) is None
    assert resolver.refused and not resolver.missing


@pytest.mark.parametrize("name", ["tex/wall.png", " tex/wall.png ", "tex\\wall.png", "a%20b.png"])
def test_side_files_inside_the_folder_are_found(model_dir, name):
    found = confine(model_dir, name)
    assert found is not None and found.is_relative_to(model_dir.resolve())
    assert SafeResolver(model_dir).path(name) == found


def test_missing_side_file_is_missing_not_refused(model_dir):
    assert side_file(model_dir, "tex/none.png") == (None, False)
    assert side_file(model_dir, "") == (None, False)
    assert side_file(model_dir, None) == (None, False)


def test_cityjson_texture_uses_the_same_rule(model_dir):
    """CityJSON textures follow the mesh rule: ``data:``/``file:`` names are refused."""
    from importers.cityjson import appearance

    assert appearance.confine is confine
    assert side_file(model_dir, "file:tex/wall.png") == (None, True)


def test_utm_zone_is_chosen_once():
    crs, x, y = utm_zone(105.85, 21.03)  # Hà Nội
    assert crs == "EPSG:32648"
    assert 5.8e5 < x < 5.9e5 and 2.32e6 < y < 2.33e6
    south = utm_zone(151.2, -33.9)  # Sydney
    assert south is not None and south[0] == "EPSG:32756"


def test_scene_spec_is_a_declared_field():
    scene = Scene(crs=RD)
    assert scene.spec is None
