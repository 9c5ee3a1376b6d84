"""The record of every CRS operation, per layer (issue 16), and its warnings.

Every case opens a real file through the real importer: a plain VN-2000
GeoJSON, a Hà Nội 1972 file in a VN-2000 scene (ballpark), VN-2000 coordinates
of a place in Thailand (outside the area of use), a CityJSON whose vertices lie
1,158 km from its own ``geographicalExtent``, a LAS whose WKT and GeoTIFF keys
disagree, and an IFC with an IfcMapConversion in millimetres. The files in
``tests/data/crs`` are written by ``tests/data/crs/make_crs_files.py``.
"""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path

import laspy
import numpy as np
import pytest
from conftest import DATA, run_cli
from pyproj import CRS, Transformer

import importers
from twin.crs_record import extent_mismatch, record_transform
from twin.origin import recentre
from twin.scene import Scene

CRS_DATA = DATA / "crs"
VIET_TRI = (568000.0, 2358000.0, 0.0)
REQUIRED = ("source", "target", "operation", "accuracy_m", "ballpark", "in_area_of_use")


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("CITYTWIN_CACHE_DIR", str(tmp_path / "cache"))


def _open(path: Path, scene: Scene | None = None):
    scene = scene if scene is not None else importers.scene_for(path)
    layers = importers.open(path, scene)
    for layer in layers:
        scene.add_layer(layer)
    return scene, layers[0]


def _source_xy(path: Path) -> np.ndarray:
    feats = json.loads(path.read_text(encoding="utf-8"))["features"]
    return np.array([p for f in feats for p in f["geometry"]["coordinates"][0]], dtype=float)


def test_plain_vn2000_geojson_in_its_own_crs():
    _, layer = _open(CRS_DATA / "vn2000_viet_tri.geojson", Scene("EPSG:9208", VIET_TRI))
    [rec] = layer.crs_operations
    assert (rec.source_epsg, rec.target_epsg) == (9208, 9208)
    assert rec.operation == "none (same CRS)" and rec.accuracy_m == 0.0
    assert rec.ballpark is False and rec.in_area_of_use is True
    assert rec.origin_subtracted == VIET_TRI
    w, s, e, n = rec.extent_lonlat
    assert 105.39 < w < e < 105.41 and 21.30 < s < n < 21.32
    assert [a.of.split()[0] for a in rec.areas] == ["source"]
    assert "Phu Tho" in rec.areas[0].name
    assert rec.warnings == [] and layer.warnings == []


def test_vn2000_into_utm_records_the_datum_shift_that_moved_the_vertices():
    """The recorded PROJ pipeline, run on its own, gives the layer's vertices."""
    path = CRS_DATA / "vn2000_viet_tri.geojson"
    utm = Scene("EPSG:32648", (534000.0, 2357000.0, 0.0))
    _, layer = _open(path, utm)
    [rec] = layer.crs_operations
    assert rec.target_epsg == 32648 and rec.source_epsg == 9208
    assert "VN-2000 to WGS 84" in rec.operation
    assert rec.accuracy_m == 1.0 and rec.ballpark is False and rec.in_area_of_use is True
    assert "helmert" in rec.definition and len(rec.areas) == 3  # source, target, operation
    assert any("Vietnam" in a.name for a in rec.areas if a.of.startswith("operation"))
    src = _source_xy(path)
    x, y = Transformer.from_pipeline(rec.definition).transform(src[:, 0], src[:, 1])
    expect = np.column_stack([x, y]) - np.array(rec.origin_subtracted[:2])
    pts = np.asarray(layer.mesh.points)[:, :2]
    gap = np.min(np.linalg.norm(pts[:, None, :] - expect[None, :, :], axis=2), axis=0)
    assert gap.max() < 0.005  # every footprint corner is a vertex, to float32


def test_ballpark_operation_warns():
    """Hà Nội 1972 (the old datum) into a VN-2000 scene: PROJ has no datum
    transformation between them, only a ballpark offset."""
    _, layer = _open(CRS_DATA / "hn72_gk18_viet_tri.geojson", Scene("EPSG:9208", VIET_TRI))
    [rec] = layer.crs_operations
    assert rec.source_epsg == 2044 and rec.target_epsg == 9208
    assert rec.ballpark is True and "Ballpark geographic offset" in rec.operation
    assert rec.accuracy_m is None
    assert any("axis order of EPSG:2044" in u for u in rec.units)
    [warning] = [w for w in layer.warnings if "ballpark" in w]
    assert "Hanoi 1972" in warning and "VN-2000" in warning
    assert rec.warnings == [warning]


def test_data_outside_the_crs_area_of_use_warns():
    _, layer = _open(CRS_DATA / "vn2000_outside_vietnam.geojson")
    [rec] = layer.crs_operations
    assert rec.in_area_of_use is False
    assert [a.inside for a in rec.areas] == [False]
    assert 100.4 < rec.extent_lonlat[0] < 100.6  # Bangkok, not Vietnam
    [warning] = [w for w in layer.warnings if "area of use" in w]
    assert "EPSG:9208" in warning and "longitude 100.5" in warning


def test_data_inside_the_area_of_use_does_not_warn():
    rec = record_transform("EPSG:9208", "EPSG:3405", (568000, 2358000, 569000, 2359000))
    assert rec.in_area_of_use is True and rec.warnings == [] and rec.accuracy_m == 0.0


def test_cityjson_vertices_far_from_their_geographical_extent_warn():
    _, layer = _open(CRS_DATA / "extent_far_from_vertices.city.json")
    [rec] = layer.crs_operations
    [warning] = [w for w in layer.warnings if "geographicalExtent" in w]
    assert "1,158 km" in warning and "latitude 21.3153" in warning
    assert rec.warnings == [warning]
    assert any("CityJSON transform" in u for u in rec.units)


def test_cityjson_vertices_inside_their_extent_do_not_warn():
    _, layer = _open(DATA / "cityjson" / "rotterdam_one.city.json")
    assert not any("geographicalExtent" in w for w in layer.warnings)
    assert layer.crs_operations[0].source_epsg == 28992
    # a 1 km shift is tolerated, a box its own size away too; 2,000 km is not
    assert extent_mismatch("EPSG:28992", (0, 0, 100, 100), (900, 0, 1000, 100)) is None
    far = extent_mismatch("EPSG:4326", (4.0, 52.0, 4.1, 52.1), (4.0, 34.0, 4.1, 34.1))
    assert far is not None and 1.9e6 < far[0] < 2.1e6


def test_las_with_wkt_and_geotiff_keys_naming_different_crss_warns():
    """WKT: NAD83(2011) / Nebraska (ftUS); GeoTIFF keys: EPSG:32104 (metres);
    the coordinates are US feet, so the WKT is the one that fits."""
    scene, layer = _open(CRS_DATA / "wkt_geotiff_conflict.las")
    [warning] = [w for w in layer.warnings if "GeoTIFF keys" in w]
    assert "NAD83(2011) / Nebraska (ftUS)" in warning and "EPSG:32104" in warning
    assert "used the WKT" in warning
    [rec] = layer.crs_operations
    assert rec.source_epsg == 6880 and layer.crs == "EPSG:6880"
    assert any("US survey foot -> metre" in u for u in rec.units)
    assert rec.in_area_of_use is True
    lon, lat = scene.local_to_wgs84(np.asarray(layer.mesh.points).mean(axis=0))[0]
    assert abs(lon + 96.70) < 0.01 and abs(lat - 40.81) < 0.01  # Lincoln, Nebraska


def test_las_with_agreeing_crs_records_is_silent(tmp_path):
    src = laspy.read(CRS_DATA / "wkt_geotiff_conflict.las")
    src.header.add_crs(CRS.from_epsg(6880))  # replaces both records by GeoTIFF keys
    path = tmp_path / "agree.las"
    src.write(path)
    _, layer = _open(path)
    assert not any("GeoTIFF keys" in w for w in layer.warnings)
    assert layer.crs_operations[0].source_epsg == 6880


def test_ifc_map_conversion_record():
    """bSI's sample: IfcMapConversion into DHDN / Gauss-Kruger 3, millimetres,
    rotated, opened in an ETRS89 / UTM 32N scene."""
    path = DATA / "ifc" / "pass-grf000-correct_georeferencing.ifc"
    scene = Scene("EPSG:25832", (458700.0, 5438200.0, 0.0))
    _, layer = _open(path, scene)
    [rec] = layer.crs_operations
    facts = layer.info["georeferencing_details"]
    assert rec.step == "IfcMapConversion"
    assert (rec.source_epsg, rec.target_epsg) == (31467, 25832)
    assert "DHDN to ETRS89" in rec.operation and rec.ballpark is False
    assert rec.accuracy_m is not None and rec.in_area_of_use is True
    assert rec.method.startswith("affine fit")
    assert "project length unit: x0.001 to metres (model geometry)" in rec.units
    [conv] = [u for u in rec.units if u.startswith("IfcMapConversion")]
    assert f"eastings {facts['eastings']:.3f}" in conv
    assert f"rotation {facts['rotation_deg']:g}°" in conv and "scale 1" in conv
    assert any("Northing, Easting by the authority" in u for u in rec.units)


def test_mesh_record_holds_its_unit_and_axis_conversion():
    scene = Scene("EPSG:9208", VIET_TRI)
    layers = importers.open(DATA / "mesh" / "Box.gltf", scene, {"at": [568010, 2358020, 5, 30]})
    [rec] = layers[0].crs_operations
    assert rec.step == "user placement (at)" and rec.in_area_of_use is True
    assert "axes: Y-up turned to Z-up (x, -z, y)" in rec.units
    assert "user placement (at): E 568010.000, N 2358020.000, H 5.000, rotation 30°" in rec.units


def test_recentre_and_pickle_keep_the_record():
    scene, layer = _open(CRS_DATA / "vn2000_viet_tri.geojson", Scene("EPSG:9208", VIET_TRI))
    shift = recentre(scene, (567500.0, 2357500.0, 0.0))
    d = layer.crs_operations[0].as_dict(layer)
    assert d["origin_shift"]["scene_origin_subtracted"] == list(VIET_TRI)
    assert d["origin_shift"]["recentred_by"] == pytest.approx(list(shift))
    back = pickle.loads(pickle.dumps(layer))
    assert back.crs_operations == layer.crs_operations


def test_info_json_and_text_list_crs_operations(tmp_path):
    toml = tmp_path / "mixed.toml"
    toml.write_text(
        "[scene]\nname = 'mixed'\ncrs = 'EPSG:9208'\norigin = [568000.0, 2358000.0, 0.0]\n\n"
        f"[[layers]]\nname = 'old'\npath = '{CRS_DATA / 'hn72_gk18_viet_tri.geojson'}'\n\n"
        f"[[layers]]\nname = 'new'\npath = '{CRS_DATA / 'vn2000_viet_tri.geojson'}'\n",
        encoding="utf-8",
    )
    done = run_cli("info", "--json", str(toml))
    assert done.returncode == 0, done.stderr
    ops = json.loads(done.stdout)["crs_operations"]
    assert [op["layer"] for op in ops] == ["old", "new"]
    for op in ops:
        assert all(key in op for key in REQUIRED)
    assert ops[0]["ballpark"] is True and ops[0]["accuracy_m"] is None
    assert ops[1]["ballpark"] is False and ops[1]["in_area_of_use"] is True
    text = run_cli("info", str(toml))
    assert text.returncode == 0, text.stderr
    assert "CRS operations:" in text.stdout and "BALLPARK" in text.stdout


@pytest.mark.gui
@pytest.mark.skipif(not os.environ.get("DISPLAY"), reason="no X display")
def test_dialog_shows_the_record_and_its_warning(qtbot):
    from app.panels.layers import LayersPanel

    scene, layer = _open(CRS_DATA / "hn72_gk18_viet_tri.geojson", Scene("EPSG:9208", VIET_TRI))
    panel = LayersPanel()
    qtbot.addWidget(panel)
    panel.bind(scene)
    dialog = panel.show_crs_operations(panel.current_layer())
    qtbot.addWidget(dialog)
    assert dialog.isVisible() and dialog.windowTitle().endswith(layer.name)
    rows = dict(dialog.rows[0])
    assert "ballpark" in rows["Warning"].lower()
    assert "Ballpark geographic offset from Hanoi 1972 to VN-2000" in dialog.view.toPlainText()
    assert rows["Ballpark"] == "yes" and rows["Stated accuracy"] == "unknown"
    assert rows["Source CRS"].startswith("EPSG:2044")
    dialog.copy_json()
    from PySide6.QtGui import QGuiApplication

    copied = json.loads(QGuiApplication.clipboard().text())
    assert copied[0]["ballpark"] is True
