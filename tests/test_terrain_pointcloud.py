"""Terrain (GeoTIFF DEM) and point cloud (LAS/LAZ/COPC) importers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import DATA, run_cli

import importers
from importers import pointcloud, terrain
from importers.errors import ImportFailed
from twin import meshing
from twin.features import FeatureTable
from twin.geo import transform_xy
from twin.layer import Layer
from twin.scene import Scene

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
PC = DATA / "pointcloud"
X0, Y0, CELL = 570000.0, 2360000.0, 10.0


def plane(x, y):
    return 20.0 + 0.01 * (x - X0) + 0.02 * (y - Y0)


def write_dem(path: Path, n: int = 60, crs: str = "EPSG:3405", dtype: str = "float32",
              nodata: float | None = -9999.0, holes: bool = True) -> Path:  # fmt: skip
    """A planar DEM in VN-2000 / UTM 48N with a nodata hole and a -3.4e38 spike."""
    import rasterio
    from affine import Affine

    cols, rows = np.meshgrid(np.arange(n), np.arange(n))
    x = X0 + (cols + 0.5) * CELL
    y = Y0 + n * CELL - (rows + 0.5) * CELL
    z = plane(x, y).astype(dtype)
    if holes:
        z[10:12, 10:12] = nodata if nodata is not None else np.nan
        z[30, 30] = np.float32(-3.4028234663852886e38)
    profile = {
        "driver": "GTiff", "width": n, "height": n, "count": 1, "dtype": dtype, "crs": crs,
        "transform": Affine(CELL, 0.0, X0, 0.0, -CELL, Y0 + n * CELL), "nodata": nodata,
    }  # fmt: skip
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(z, 1)
    return path


def tm3_scene() -> Scene:
    return Scene(crs="EPSG:9208", origin=np.array([500000.0, 2360000.0, 10.0]))


# -- terrain -------------------------------------------------------------------------------------
def test_dem_becomes_a_reprojected_surface_without_spikes(tmp_path):
    path = write_dem(tmp_path / "dem.tif")
    scene = tm3_scene()
    (layer,) = importers.open(path, scene)
    assert layer.kind == "terrain" and len(layer.features) == 1
    assert layer.features.classes[0] == "terrain"
    assert set(np.unique(layer.cell_features)) == {0}
    z = np.asarray(layer.mesh.points)[:, 2] + scene.origin[2]
    assert z.min() >= 20.0 - 1e-3 and z.max() <= plane(X0 + 600, Y0 + 600) + 1e-3
    assert any("nodata" in w for w in layer.warnings)
    assert layer.mesh.cell_data["rgb_default"].shape == (layer.n_triangles, 3)
    # every triangle faces up
    pts = np.asarray(layer.mesh.points, dtype=np.float64)
    tri = layer.mesh.regular_faces
    n = np.cross(pts[tri[:, 1]] - pts[tri[:, 0]], pts[tri[:, 2]] - pts[tri[:, 0]])
    assert np.all(n[:, 2] > 0)
    # heights sampled anywhere match the plane (VN-2000 UTM 48N -> TM-3 104-45)
    sx = X0 + np.array([55.0, 301.0, 433.3])
    sy = Y0 + np.array([77.0, 250.0, 512.9])
    tx, ty = transform_xy(sx, sy, "EPSG:3405", "EPSG:9208")
    local = np.column_stack([tx - scene.origin[0], ty - scene.origin[1]])
    got = terrain.sample_height(layer, local) + scene.origin[2]
    assert got == pytest.approx(plane(sx, sy), abs=1e-3)
    assert np.isnan(terrain.sample_height(layer, [[1e7, 1e7]]))[0]
    hole = transform_xy(np.array([X0 + 105.0]), np.array([Y0 + 600 - 105.0]), "EPSG:3405",
                        "EPSG:9208")  # fmt: skip
    assert np.isnan(terrain.sample_height(layer, [[hole[0][0] - 500000.0, hole[1][0] - 2360000.0]]))


def test_triangle_budget_decimates(tmp_path):
    path = write_dem(tmp_path / "dem.tif", n=200, holes=False)
    (full,) = importers.open(path, tm3_scene(), {"max_triangles": 10**7})
    assert full.n_triangles == 2 * 199 * 199
    (small,) = importers.open(path, tm3_scene(), {"max_triangles": 5000})
    assert 0 < small.n_triangles <= 5000
    assert any("decimated" in w for w in small.warnings)


def test_raster_size_is_checked_before_reading(tmp_path):
    path = write_dem(tmp_path / "dem.tif", n=100, holes=False)
    with pytest.raises(ImportFailed, match="budget"):
        importers.open(path, tm3_scene(), {"max_pixels": 5000})


def test_nan_and_out_of_dtype_nodata(tmp_path):
    path = write_dem(tmp_path / "nan.tif", nodata=None)
    (layer,) = importers.open(path, tm3_scene())
    z = np.asarray(layer.mesh.points)[:, 2]
    assert np.isfinite(z).all() and z.min() > 0
    ints = write_dem(tmp_path / "u16.tif", dtype="uint16", nodata=0, holes=False)
    (layer16,) = importers.open(ints, tm3_scene())
    assert layer16.n_triangles > 0


def test_no_crs_uses_scene_crs(tmp_path):
    path = write_dem(tmp_path / "nocrs.tif", crs=None, holes=False)
    scene = Scene(crs="EPSG:3405", origin=np.array([X0, Y0, 0.0]))
    (layer,) = importers.open(path, scene)
    assert any("no CRS declared" in w for w in layer.warnings)
    assert layer.mesh.bounds[0] == pytest.approx(CELL / 2, abs=1e-3)


def test_drape_sets_buildings_on_the_ground(tmp_path):
    import shapely

    path = write_dem(tmp_path / "dem.tif", holes=False)
    scene = Scene(crs="EPSG:3405", origin=np.array([X0, Y0, 0.0]))
    (ground,) = importers.open(path, scene)
    boxes = np.array([shapely.box(100, 100, 120, 120), shapely.box(300, 400, 310, 430)])
    mesh = meshing.extrude_polygons(boxes, np.zeros(2), np.full(2, 12.0))
    table = FeatureTable(
        np.array(["a", "b"], dtype=object), np.array(["building"] * 2, dtype=object),
        np.array(["", ""], dtype=object), np.zeros((2, 6)),
    )  # fmt: skip
    buildings = Layer(name="b", mesh=mesh.to_polydata(), features=table)
    assert terrain.drape(ground, buildings) == 2
    pts = np.asarray(buildings.mesh.points, dtype=np.float64)
    for row, (x0, y0) in enumerate([(100, 100), (300, 400)]):
        sel = np.zeros(len(pts), bool)
        sel[buildings.mesh.regular_faces[buildings.cell_features == row].ravel()] = True
        lowest_ground = plane(X0 + x0, Y0 + y0)  # the plane rises with x and y
        assert pts[sel, 2].min() == pytest.approx(lowest_ground, abs=1e-3)
        assert pts[sel, 2].max() - pts[sel, 2].min() == pytest.approx(12.0, abs=1e-3)


def test_shared_dem_loads():
    path = SHARED / "terrain" / "LO19_050M_3318CD_dem.tif"
    if not path.exists():
        pytest.skip(f"shared DEM not found at {path} (../shared/data absent)")
    scene = importers.scene_for(path)
    (layer,) = importers.open(path, scene, {"max_triangles": 200_000})
    lo, hi = layer.info["elevation_range"]
    assert -50 < lo < 10 and 1000 < hi < 1100  # Table Mountain is 1,085 m
    assert 0 < layer.n_triangles <= 200_000
    b = layer.mesh.bounds
    assert b[1] - b[0] == pytest.approx(641 * 25, rel=0.01)


def test_cli_info_on_dem(tmp_path):
    path = write_dem(tmp_path / "dem.tif", holes=False)
    result = run_cli("info", str(path), "--json")
    assert result.returncode == 0, result.stderr
    layer = json.loads(result.stdout)["layers"][0]
    assert layer["kind"] == "terrain" and layer["triangles"] > 0
    assert layer["info"]["format"] == "GeoTIFF DEM"
    assert layer["bounds_world"][0] == pytest.approx(X0 + CELL / 2, abs=0.01)


# -- point clouds --------------------------------------------------------------------------------
def test_las_points_with_classes_and_rgb():
    scene = Scene(crs="EPSG:2991", origin=np.array([637000.0, 851000.0, 0.0]))
    (layer,) = importers.open(PC / "simple.las", scene)
    mesh = layer.mesh
    assert mesh.n_points == 1065 and mesh.n_cells == 1065 and mesh.n_verts == 1065
    assert layer.kind == "pointcloud"
    assert layer.features.class_counts() == {"Ground": 1, "Unclassified": 1}
    assert layer.features.column("points").sum() == 1065
    assert layer.info["color"] == "rgb"
    assert mesh.cell_data["rgb_default"].dtype == np.uint8
    assert any("no CRS declared" in w for w in layer.warnings)


def test_point_budget_and_colour_modes():
    scene = Scene(crs="EPSG:2991", origin=np.array([637000.0, 851000.0, 0.0]))
    (thin,) = importers.open(PC / "simple.las", scene, {"max_points": 100})
    assert 0 < thin.mesh.n_points <= 100
    assert any("thinned" in w for w in thin.warnings)
    (by_class,) = importers.open(PC / "simple.las", scene, {"color": "classification"})
    rgb = np.asarray(by_class.mesh.cell_data["rgb_default"])
    ground = np.asarray(by_class.mesh.cell_data["classification"]) == 2
    assert np.all(rgb[ground] == pointcloud.CLASS_RGB[2])
    (by_height,) = importers.open(PC / "simple.las", scene, {"color": "height"})
    assert by_height.info["color"] == "height"


def test_copc_is_reprojected_with_metres_heights():
    scene = Scene(crs="EPSG:32610", origin=np.array([490000.0, 4880000.0, 0.0]))
    (layer,) = importers.open(PC / "simple.copc.laz", scene)
    assert layer.crs == "EPSG:2991"
    import laspy

    las = laspy.read(PC / "simple.copc.laz")
    ex, ey = transform_xy(np.asarray(las.x[:3]), np.asarray(las.y[:3]), "EPSG:2991", "EPSG:32610")
    pts = np.asarray(layer.mesh.points, dtype=np.float64)
    for x, y in zip(ex - 490000.0, ey - 4880000.0, strict=True):
        assert np.min(np.hypot(pts[:, 0] - x, pts[:, 1] - y)) < 0.05
    # NAVD88 height in US feet -> metres
    assert pts[:, 2].max() == pytest.approx(float(las.z.max()) * 0.3048006, abs=0.01)


def test_bad_point_files(tmp_path):
    (tmp_path / "x.las").write_bytes(b"not a las file at all")
    with pytest.raises(ImportFailed):
        importers.open(tmp_path / "x.las", Scene(crs="EPSG:2991"))


def test_shared_point_clouds_load():
    root = SHARED / "pointcloud"
    files = sorted(root.glob("*.la[sz]")) if root.is_dir() else []
    if not files:
        pytest.skip(f"shared point clouds not found at {root} (../shared/data absent)")
    import laspy

    for path in files:
        scene = Scene(crs="EPSG:2991", origin=np.array([637000.0, 851000.0, 0.0]))
        (layer,) = importers.open(path, scene)
        with laspy.open(path) as r:
            assert layer.mesh.n_points == r.header.point_count, path.name


def test_cli_info_on_copc():
    result = run_cli("info", str(PC / "simple.copc.laz"), "--json")
    assert result.returncode == 0, result.stderr
    layer = json.loads(result.stdout)["layers"][0]
    assert layer["kind"] == "pointcloud" and layer["features"] == 2
    assert layer["info"]["points_loaded"] == 1065
