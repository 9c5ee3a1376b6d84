"""LoD1 blocks are closed solids with the right volume; holes stay holes."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
import trimesh

from twin.meshing import TriMesh, extrude_polygons, markers, ribbons


def _solid(mesh: TriMesh, row: int) -> trimesh.Trimesh:
    tris = mesh.triangles[mesh.feature == row]
    used, inverse = np.unique(tris, return_inverse=True)
    return trimesh.Trimesh(mesh.points[used], inverse.reshape(-1, 3), process=True)


COURTYARD = shapely.Polygon(
    [(0, 0), (30, 0), (30, 20), (0, 20)], holes=[[(10, 5), (10, 15), (20, 15), (20, 5)]]
)
L_SHAPE = shapely.Polygon([(0, 0), (0, 10), (5, 10), (5, 5), (10, 5), (10, 0)])  # clockwise
TWO_PARTS = shapely.MultiPolygon([shapely.box(0, 0, 4, 4), shapely.box(10, 10, 13, 12)])
BOX = shapely.box(100, 100, 112, 108)


@pytest.mark.parametrize(
    ("geom", "height"), [(COURTYARD, 12.0), (L_SHAPE, 7.5), (TWO_PARTS, 3.0), (BOX, 40.0)]
)
def test_extruded_footprint_is_watertight_and_volume_is_area_times_height(geom, height):
    mesh = extrude_polygons(np.array([geom], dtype=object), np.zeros(1), np.array([height]))
    solid = _solid(mesh, 0)
    assert solid.is_watertight
    assert solid.is_winding_consistent
    assert solid.volume == pytest.approx(geom.area * height, rel=1e-9)
    assert solid.volume > 0  # normals point outwards


def test_base_elevation_shifts_the_block():
    mesh = extrude_polygons(np.array([BOX], dtype=object), np.array([5.0]), np.array([25.0]))
    assert mesh.points[:, 2].min() == 5.0
    assert mesh.points[:, 2].max() == 25.0
    assert _solid(mesh, 0).volume == pytest.approx(BOX.area * 20.0)


def test_courtyard_hole_survives():
    mesh = extrude_polygons(np.array([COURTYARD], dtype=object), np.zeros(1), np.array([12.0]))
    poly = mesh.to_polydata()
    in_hole, _ = poly.ray_trace([15.0, 10.0, 50.0], [15.0, 10.0, -50.0])
    on_roof, _ = poly.ray_trace([5.0, 10.0, 50.0], [5.0, 10.0, -50.0])
    assert len(in_hole) == 0
    assert len(on_roof) == 2  # roof and floor
    roof = mesh.triangles[(mesh.feature == 0)]
    z = mesh.points[roof][:, :, 2]
    roof_tris = mesh.points[roof[np.all(z == 12.0, axis=1)]]
    area = (
        0.5
        * np.linalg.norm(
            np.cross(roof_tris[:, 1] - roof_tris[:, 0], roof_tris[:, 2] - roof_tris[:, 0]), axis=1
        ).sum()
    )
    assert area == pytest.approx(COURTYARD.area)


def test_many_footprints_keep_their_feature_rows():
    geoms = np.array([BOX, L_SHAPE, COURTYARD], dtype=object)
    mesh = extrude_polygons(geoms, np.zeros(3), np.array([10.0, 20.0, 30.0]))
    for row, geom in enumerate(geoms):
        solid = _solid(mesh, row)
        assert solid.volume == pytest.approx(geom.area * (row + 1) * 10.0)
    poly = mesh.to_polydata()
    assert poly.cell_data["feature"].dtype == np.int32
    assert poly.n_cells == len(mesh.triangles)


def test_ribbon_area_matches_buffered_line():
    line = shapely.LineString([(0, 0), (100, 0)])
    mesh = ribbons(np.array([line], dtype=object), np.array([8.0]), np.array([0.1]))
    assert mesh.to_polydata().area == pytest.approx(800.0, rel=1e-6)
    assert np.all(mesh.points[:, 2] == pytest.approx(0.1))


def test_markers_are_closed_prisms_at_their_points():
    pts = np.array([[0.0, 0.0, 0.0], [50.0, 20.0, 3.0]])
    mesh = markers(pts, radius=2.0, height=5.0)
    for row in range(2):
        solid = _solid(mesh, row)
        assert solid.is_watertight
        assert solid.bounds[0][2] == pytest.approx(pts[row, 2])
        assert solid.bounds[1][2] == pytest.approx(pts[row, 2] + 5.0)
