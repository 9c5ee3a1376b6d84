"""IFC georeferencing: every method of issue 3, landing in a VN-2000 scene to 1 cm.

Models are built in memory (see ``test_ifc_factory.py``) at Việt Trì, so the
expected positions are known exactly; expectations are computed with pyproj
directly, independently of the importer's composed affine maps.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from conftest import DATA
from pyproj import Geod, Transformer
from test_ifc_factory import Box, Model, make_model

import importers
from importers.errors import ImportFailed
from importers.ifc import georef
from twin.scene import Scene

IFC_DATA = DATA / "ifc"
LON, LAT = 105.4012, 21.3227  # Việt Trì, Phú Thọ
SCENE_CRS = "EPSG:9208"  # VN-2000 / TM-3 104-45
TOL = 0.01  # 1 cm


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("CITYTWIN_CACHE_DIR", str(tmp_path / "cache"))


def _xy(src: str, dst: str, x: float, y: float) -> tuple[float, float]:
    tx, ty = Transformer.from_crs(src, dst, always_xy=True).transform(x, y)
    return float(tx), float(ty)


@pytest.fixture(scope="module")
def vn_scene_origin() -> np.ndarray:
    e, n = _xy("EPSG:4326", SCENE_CRS, LON, LAT)
    return np.array([round(e, -2), round(n, -2), 0.0])


def scene(origin) -> Scene:
    return Scene(crs=SCENE_CRS, origin=origin)


def load(path: Path, sc: Scene, **options):
    layers = importers.open(path, sc, options)
    return layers[0], layers


def corners(at, size) -> np.ndarray:
    at, size = np.asarray(at, float), np.asarray(size, float)
    unit = np.array([[i & 1, i >> 1 & 1, i >> 2 & 1] for i in range(8)], dtype=float)
    return at + unit * size


def assert_lands(layer, expected_world: np.ndarray, origin: np.ndarray, tol: float = TOL):
    """Every expected world point has a mesh vertex within ``tol`` metres."""
    pts = np.asarray(layer.mesh.points, dtype=np.float64)
    local = expected_world - origin
    d = np.sqrt(((local[:, None, :] - pts[None, :, :]) ** 2).sum(-1)).min(axis=1)
    assert d.max() < tol, f"misplaced by up to {d.max():.4f} m (tolerance {tol} m)"


def map_to_world(src_crs, e0, n0, h0, theta, local_pts):
    c, s = math.cos(theta), math.sin(theta)
    e = e0 + c * local_pts[:, 0] - s * local_pts[:, 1]
    n = n0 + s * local_pts[:, 0] + c * local_pts[:, 1]
    tx, ty = Transformer.from_crs(src_crs, SCENE_CRS, always_xy=True).transform(e, n)
    return np.column_stack([tx, ty, h0 + local_pts[:, 2]])


BOX = Box(at=(10.0, 20.0, 0.0), size=(4.0, 2.0, 3.0))
BOX_MM = Box(at=(10000.0, 20000.0, 0.0), size=(4000.0, 2000.0, 3000.0))


@pytest.mark.parametrize(
    ("src_crs", "unit_mm", "scale"),
    [
        ("EPSG:9208", False, None),  # already in the scene CRS
        ("EPSG:3405", True, None),  # VN-2000 / UTM 48N, mm project, Scale omitted
        ("EPSG:3405", True, 0.001),  # ... Scale as the IFC4 unit conversion
        ("EPSG:32648", False, None),  # WGS 84 / UTM 48N: datum change into VN-2000
        ("EPSG:32648", True, 1.0),  # ... mm project, Scale 1 read the IFC4.3 way
    ],
)
def test_map_conversion_lands_in_vn2000_scene(tmp_path, vn_scene_origin, src_crs, unit_mm, scale):
    e0, n0 = _xy("EPSG:4326", src_crs, LON, LAT)
    theta = math.radians(30.0)
    path = make_model(
        tmp_path / "m.ifc",
        Model(
            unit_mm=unit_mm,
            boxes=[BOX_MM if unit_mm else BOX],
            crs={"name": src_crs, "map_unit": "METRE"},
            map_conversion={
                "E": e0,
                "N": n0,
                "H": 12.5,
                "xaa": math.cos(theta),
                "xao": math.sin(theta),
                "scale": scale,
            },
        ),
    )
    layer, _ = load(path, scene(vn_scene_origin))
    assert layer.info["georeferencing"] == "IfcMapConversion"
    assert layer.crs == src_crs
    expected = map_to_world(src_crs, e0, n0, 12.5, theta, corners(BOX.at, BOX.size))
    assert_lands(layer, expected, vn_scene_origin)
    assert not any("implausible" in w for w in layer.warnings)


def test_map_conversion_scaled_factors(tmp_path, vn_scene_origin):
    e0, n0 = _xy("EPSG:4326", "EPSG:9208", LON, LAT)
    path = make_model(
        tmp_path / "m.ifc",
        Model(
            schema="IFC4X3_ADD2",
            boxes=[BOX],
            crs={"name": "EPSG:9208", "map_unit": "METRE"},
            map_conversion={
                "E": e0,
                "N": n0,
                "H": 0.0,
                "xaa": 1.0,
                "xao": 0.0,
                "scale": None,
                "cls": "IfcMapConversionScaled",
                "factors": (0.9996, 0.9996, 1.0),
            },
        ),
    )
    layer, _ = load(path, scene(vn_scene_origin))
    assert layer.info["georeferencing"] == "IfcMapConversionScaled"
    local = corners(BOX.at, BOX.size)
    local[:, :2] *= 0.9996
    expected = map_to_world("EPSG:9208", e0, n0, 0.0, 0.0, local)
    assert_lands(layer, expected, vn_scene_origin)


def test_eastings_in_millimetres_are_not_trusted(tmp_path, vn_scene_origin):
    """D4: a mm project whose exporter wrote eastings in mm: warned, then read as mm."""
    e0, n0 = _xy("EPSG:4326", "EPSG:3405", LON, LAT)
    path = make_model(
        tmp_path / "m.ifc",
        Model(
            unit_mm=True,
            boxes=[BOX_MM],
            crs={"name": "EPSG:3405", "map_unit": "METRE"},
            map_conversion={"E": e0 * 1000, "N": n0 * 1000, "H": 0.0, "xaa": 1.0, "xao": 0.0},
        ),
    )
    layer, _ = load(path, scene(vn_scene_origin))
    notes = [w for w in layer.warnings if "implausible" in w]
    assert notes and "project length unit" in notes[0], layer.warnings
    expected = map_to_world("EPSG:3405", e0, n0, 0.0, 0.0, corners(BOX.at, BOX.size))
    assert_lands(layer, expected, vn_scene_origin)


def test_implausible_conversion_falls_back_with_warning(tmp_path, vn_scene_origin):
    """Eastings that fit no reading are refused; the model is not thrown 5,000 km away."""
    path = make_model(
        tmp_path / "m.ifc",
        Model(
            boxes=[BOX],
            crs={"name": "EPSG:3405", "map_unit": "METRE"},
            map_conversion={"E": 9.9e9, "N": -7.0e9, "H": 0.0},
        ),
    )
    layer, _ = load(path, scene(vn_scene_origin))
    assert layer.info["georeferencing"] == georef.METHOD_NONE
    assert any("IfcMapConversion" in w and "not used" in w for w in layer.warnings)
    assert any("placed at the scene origin" in w for w in layer.warnings)
    assert np.abs(layer.mesh.bounds).max() < 100


def test_ifc2x3_epset_map_conversion(tmp_path, vn_scene_origin):
    e0, n0 = _xy("EPSG:4326", "EPSG:3405", LON, LAT)
    theta = math.radians(-12.0)
    path = make_model(
        tmp_path / "m.ifc",
        Model(
            schema="IFC2X3",
            unit_mm=True,
            boxes=[BOX_MM],
            epsets={
                "ePSet_MapConversion": {
                    "Eastings": e0,
                    "Northings": n0,
                    "OrthogonalHeight": 7.0,
                    "XAxisAbscissa": math.cos(theta),
                    "XAxisOrdinate": math.sin(theta),
                },
                "ePSet_ProjectedCRS": {"Name": "EPSG:3405", "MapUnit": "METRE"},
            },
        ),
    )
    layer, _ = load(path, scene(vn_scene_origin))
    assert layer.info["georeferencing"] == georef.METHOD_EPSET
    assert layer.info["schema"] == "IFC2X3"
    expected = map_to_world("EPSG:3405", e0, n0, 7.0, theta, corners(BOX.at, BOX.size))
    assert_lands(layer, expected, vn_scene_origin)


@pytest.mark.parametrize(("true_north", "azimuth"), [(None, 90.0), ((1.0, 0.0), 0.0)])
def test_site_latitude_longitude(tmp_path, vn_scene_origin, true_north, azimuth):
    """Site reference point -> WGS 84 -> VN-2000; model +x is east, or north when the
    context's true north points along +x."""
    path = make_model(
        tmp_path / "m.ifc",
        Model(
            boxes=[Box(at=(10.0, 0.0, 0.0), size=(1.0, 1.0, 1.0))],
            site_latlon=(LAT, LON, 15.0),
            true_north=true_north,
        ),
    )
    layer, _ = load(path, scene(vn_scene_origin))
    assert layer.info["georeferencing"] == georef.METHOD_SITE
    assert layer.crs == "EPSG:4326"
    lon2, lat2, _ = Geod(ellps="WGS84").fwd(LON, LAT, azimuth, 10.0)
    e, n = _xy("EPSG:4326", SCENE_CRS, lon2, lat2)
    assert_lands(layer, np.array([[e, n, 15.0]]), vn_scene_origin)


def test_double_georeferencing_is_flagged(tmp_path, vn_scene_origin):
    """D2: site already placed at map coordinates *and* a map conversion adding them."""
    e0, n0 = _xy("EPSG:4326", "EPSG:3405", LON, LAT)
    path = make_model(
        tmp_path / "m.ifc",
        Model(
            boxes=[BOX],
            site_at=(e0, n0, 0.0),
            crs={"name": "EPSG:3405", "map_unit": "METRE"},
            map_conversion={"E": e0, "N": n0, "H": 0.0},
        ),
    )
    layer, _ = load(path, scene(vn_scene_origin))
    assert any("georeferenced twice" in w for w in layer.warnings), layer.warnings
    expected = map_to_world("EPSG:3405", e0, n0, 0.0, 0.0, corners(BOX.at, BOX.size))
    assert_lands(layer, expected, vn_scene_origin)


def test_user_placement_and_origin_fallback(tmp_path, vn_scene_origin):
    path = make_model(tmp_path / "m.ifc", Model(boxes=[BOX]))
    sc = scene(vn_scene_origin)
    layer, _ = load(path, sc)
    assert layer.info["georeferencing"] == georef.METHOD_NONE
    assert "not georeferenced; placed at the scene origin" in layer.warnings
    assert_lands(layer, corners(BOX.at, BOX.size) + vn_scene_origin, vn_scene_origin)

    at = (vn_scene_origin[0] + 250.0, vn_scene_origin[1] - 80.0, 20.0, 90.0)
    layer, _ = load(path, sc, at=list(at))
    assert layer.info["georeferencing"] == georef.METHOD_USER
    local = corners(BOX.at, BOX.size)
    expected = np.column_stack([at[0] - local[:, 1], at[1] + local[:, 0], at[2] + local[:, 2]])
    assert_lands(layer, expected, vn_scene_origin)


def test_user_placement_overrides_only_when_asked(tmp_path, vn_scene_origin):
    e0, n0 = _xy("EPSG:4326", SCENE_CRS, LON, LAT)
    path = make_model(
        tmp_path / "m.ifc",
        Model(boxes=[BOX], crs={"name": SCENE_CRS}, map_conversion={"E": e0, "N": n0}),
    )
    at = [vn_scene_origin[0], vn_scene_origin[1], 0.0, 0.0]
    layer, _ = load(path, scene(vn_scene_origin), at=at)
    assert layer.info["georeferencing"] == "IfcMapConversion"
    layer, _ = load(path, scene(vn_scene_origin), at=at, override_georef=True)
    assert layer.info["georeferencing"] == georef.METHOD_USER


def test_bsi_georeferencing_samples():
    sc = Scene(crs="EPSG:31467", origin=np.array([3458700.0, 5440000.0, 0.0]))
    layer, _ = load(IFC_DATA / "pass-grf000-correct_georeferencing.ifc", sc)
    assert layer.info["georeferencing"] == "IfcMapConversion"
    assert layer.crs == "EPSG:31467"
    # mm project, metre map unit, Scale omitted: the 1 m proxy must stay ~1 m wide
    b = layer.mesh.bounds
    assert 0.5 < b[1] - b[0] < 3 and abs(b[0] + 3458700 - 3458715) < 50

    sc = Scene(crs="EPSG:3857")
    layer, _ = load(IFC_DATA / "pass-grf001-ifcmapconversionscaled.ifc", sc)
    assert layer.info["georeferencing"] == "IfcMapConversionScaled"
    assert any("factors (1, 2, 3)" in w for w in layer.warnings)
    layer, _ = load(IFC_DATA / "pass-grf001-ifcrigidoperation.ifc", sc)
    assert layer.info["georeferencing"] == "IfcRigidOperation"
    layer, _ = load(IFC_DATA / "fail-grf004-invalid_epsg_code_non_numerical.ifc", sc)
    assert layer.info["georeferencing"] == georef.METHOD_NONE
    assert any("EPSG:12invalid" in w for w in layer.warnings)

    sc = Scene(crs="EPSG:25832")
    layer, _ = load(IFC_DATA / "pass-grf005-compound_crs.ifc", sc)
    assert layer.info["georeferencing"] == "IfcMapConversion"
    assert any("vertical datum" in w for w in layer.warnings)


def test_extent_reads_georeferencing_without_geometry(tmp_path):
    from importers.ifc import extent

    crs, bounds = extent(IFC_DATA / "pass-grf000-correct_georeferencing.ifc")
    assert crs == "EPSG:31467"
    assert abs(bounds[0] - 3458715.92) < 100 and abs(bounds[1] - 5439966.65) < 100

    path = make_model(tmp_path / "site.ifc", Model(site_latlon=(LAT, LON, 0.0)))
    crs, bounds = extent(path)
    assert crs == "EPSG:32648"  # the UTM zone of the site
    e, n = _xy("EPSG:4326", crs, LON, LAT)
    assert abs(bounds[0] - e) < 1 and abs(bounds[1] - n) < 1

    crs, _ = extent(make_model(tmp_path / "plain.ifc", Model()))
    assert crs is None


def test_scene_for_fits_a_lone_georeferenced_file():
    sc = importers.scene_for(IFC_DATA / "pass-grf000-correct_georeferencing.ifc")
    assert sc.crs == "EPSG:31467"
    assert abs(sc.origin[0] - 3458700) <= 100 and abs(sc.origin[1] - 5440000) <= 100


def test_extent_of_a_legacy_file_is_a_clear_error(tmp_path):
    from importers.ifc import extent

    bad = tmp_path / "old.ifc"
    bad.write_text(
        "ISO-10303-21;\nHEADER;\nFILE_SCHEMA(('IFC2X2_FINAL'));\nENDSEC;\nDATA;\nENDSEC;\n"
        "END-ISO-10303-21;\n"
    )
    with pytest.raises(ImportFailed, match="IFC2X2_FINAL"):
        extent(bad)
