"""IFC4X3 alignments: centre lines as polylines, checked against the file's own records."""

from __future__ import annotations

import json
import pickle

import ifcopenshell
import numpy as np
import pytest
from conftest import DATA, SHARED

import importers
from importers.ifc import alignment, cache, layers, runner
from importers.ifc.options import IfcOptions
from twin.scene import Bookmark, Scene

#: MIT, buildingSMART/ifc-gherkin-rules (see tests/data/PROVENANCE.md): two rail
#: alignments with gradient curves, a WKT CRS and an IfcRigidOperation.
GRF006 = DATA / "ifc" / "pass-grf006-valid_wkt_specification.ifc"
GRF006_CRS = "EPSG:3065"  # IGM95 / UTM 33N, which its WKT describes
GRF006_ORIGIN = np.array([452700.0, 4539600.0, 0.0])

#: Shared corpus files with alignments (../shared/data), and whether the kernel
#: evaluates their curves to their layout length.
SHARED_FILES = [
    "bsi_validation_rules/multiple_alignments_horizontal_reuse.ifc",
    "bsi_validation_rules/linear_placement_present.ifc",
    "bsi_validation_rules/fail-alb023-different_segment_geometry_types.ifc",
    "ifc4x3_bsi_sample_models/fixed-reference-swept-area-solid.ifc",
    "ifc4x3_bsi_sample_models/linear-placement-of-signal.ifc",
    "ifc4x3_bsi_sample_models/sectioned-solid-horizontal.ifc",
    "ifc4x3_bsi_sample_models/segmented-reference-curve.ifc",
]


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("CITYTWIN_CACHE_DIR", str(tmp_path / "cache"))


def shared(rel: str):
    path = SHARED / "ifc" / rel
    if not path.exists():
        pytest.skip(f"shared corpus file {rel} is not here (../shared/data is absent)")
    return path


def _nested(obj) -> list:
    return [o for rel in obj.IsNestedBy or () for o in rel.RelatedObjects]


def horizontal_length(f, a) -> float | None:
    """Sum of IfcAlignmentHorizontalSegment.SegmentLength (metres) of an
    alignment, or of its parent for a child that reuses the parent's horizontal."""
    unit = ifcopenshell.util.unit.calculate_unit_scale(f)
    for obj in [a, *(r.RelatingObject for r in a.Decomposes or ())]:
        for lay in _nested(obj):
            if lay.is_a("IfcAlignmentHorizontal"):
                segs = [s.DesignParameters for s in _nested(lay) if s.is_a("IfcAlignmentSegment")]
                return sum(abs(p.SegmentLength) for p in segs) * unit
    return None


def vertical_length(f, a) -> float | None:
    unit = ifcopenshell.util.unit.calculate_unit_scale(f)
    for lay in _nested(a):
        if lay.is_a("IfcAlignmentVertical"):
            segs = [s.DesignParameters for s in _nested(lay) if s.is_a("IfcAlignmentSegment")]
            return sum(p.HorizontalLength for p in segs) * unit
    return None


def polylines(data: dict) -> list[tuple[int, np.ndarray]]:
    points, starts, rows = alignment.arrays(data)
    return [(int(r), points[a:b]) for r, a, b in zip(rows, starts[:-1], starts[1:], strict=True)]


# -- extract (worker side) -------------------------------------------------------------


def test_every_alignment_of_the_bundled_file_becomes_a_polyline():
    f = ifcopenshell.open(str(GRF006))
    data = alignment.extract(f)
    rec = data["records"]
    expected = {a.GlobalId: a for a in f.by_type("IfcAlignment")}
    assert len(expected) == 2
    assert sorted(rec["guid"]) == sorted(expected)
    assert set(rec["cls"]) == {"IfcAlignment"}
    assert set(rec["representation"]) == {"Axis"}
    assert set(rec["curve"]) == {"IfcGradientCurve"}
    for row, guid in enumerate(rec["guid"]):
        a = expected[guid]
        assert rec["name"][row] == a.Name and rec["step"][row] == a.id()
        assert rec["dimensions"][row] == 3
        # the layout records say how long the alignment is; both layouts agree here
        assert rec["layout_length"][row] == pytest.approx(vertical_length(f, a), abs=1e-3)
        assert vertical_length(f, a) == pytest.approx(horizontal_length(f, a), abs=1e-3)
    pieces = polylines(data)
    assert {r for r, _ in pieces} == {0, 1}
    for _, pts in pieces:
        assert len(pts) >= 2 and np.all(np.isfinite(pts))
        # map coordinates (the rigid operation is applied later, by the layer)
        assert np.all(np.abs(pts[:, 0] - 452_700) < 2_000)
        assert np.all((pts[:, 2] > 1.9) & (pts[:, 2] < 5.1))


def test_a_curve_the_kernel_evaluates_with_jumps_is_split_and_reported():
    """IfcOpenShell 0.9 evaluates this file's gradient curves (clothoids with an
    IfcParameterValue start) with two jumps and 100 m short of the layout: the
    line is drawn in pieces, never bridged, and the warning names the GlobalId."""
    data = alignment.extract(ifcopenshell.open(str(GRF006)))
    rec = data["records"]
    assert rec["gaps"] == [2, 2]
    assert len(data["chain_row"]) == 6
    for guid in rec["guid"]:
        mine = [w for w in data["warnings"] if guid in w]
        assert any("not continuous" in w and "drawn in 3 pieces" in w for w in mine), mine
        assert any("long as evaluated, its vertical layout" in w for w in mine), mine


def test_the_record_survives_json_and_pickle():
    """It travels through the worker pipe (pickle) and the cache (meta is JSON)."""
    data = alignment.extract(ifcopenshell.open(str(GRF006)))
    assert json.loads(json.dumps(data, allow_nan=True)) == data
    assert pickle.loads(pickle.dumps(data)) == data
    points, starts, _rows = alignment.arrays(json.loads(json.dumps(data)))
    assert points.dtype == np.float64 and points.shape == (starts[-1], 3)


def test_a_broken_alignment_becomes_a_warning_not_an_exception(monkeypatch):
    f = ifcopenshell.open(str(GRF006))
    first, second = f.by_type("IfcAlignment")
    # a cyclic placement chain
    loop = f.createIfcLocalPlacement(None, first.ObjectPlacement.RelativePlacement)
    other = f.createIfcLocalPlacement(loop, first.ObjectPlacement.RelativePlacement)
    loop.PlacementRelTo = other
    first.ObjectPlacement = other
    data = alignment.extract(f)
    assert data["records"]["guid"] == [second.GlobalId]
    assert any(first.GlobalId in w and "ObjectPlacement" in w for w in data["warnings"])

    # no geometry at all, only the business logic
    second.Representation = None
    data = alignment.extract(f)
    assert data["records"]["guid"] == []
    assert any(
        second.GlobalId in w and "no Axis or FootPrint curve representation" in w
        for w in data["warnings"]
    )

    # and whatever the kernel raises
    def boom(settings, item):
        raise RuntimeError("kernel says no")

    monkeypatch.setattr(alignment, "_sample", boom)
    f2 = ifcopenshell.open(str(GRF006))
    data = alignment.extract(f2)
    assert data["records"]["guid"] == [] and data["chain_row"] == []
    assert sum("RuntimeError: kernel says no" in w for w in data["warnings"]) == 2


def test_a_file_without_alignments_gives_an_empty_record():
    data = alignment.extract(ifcopenshell.open(str(DATA / "ifc" / "Sample_entities.ifc")))
    assert data["records"]["guid"] == [] and data["points"] == [] and data["warnings"] == []
    assert alignment.arrays(data)[0].shape == (0, 3)


def test_edges_become_chains_where_they_connect():
    verts = np.arange(18, dtype=float).reshape(6, 3)
    edges = np.array([[0, 1], [1, 2], [3, 4], [4, 5], [5, 3]])
    chains = alignment.edges_to_chains(verts, edges)
    assert [len(c) for c in chains] == [3, 4]
    assert np.array_equal(chains[1], verts[[3, 4, 5, 3]])


@pytest.mark.parametrize("rel", SHARED_FILES)
def test_shared_alignments_match_their_layouts(rel):
    path = shared(rel)
    f = ifcopenshell.open(str(path))
    data = alignment.extract(f)
    rec = data["records"]
    by_guid = {a.GlobalId: a for a in f.by_type("IfcAlignment")}
    aligned_rows = [i for i, c in enumerate(rec["cls"]) if c == "IfcAlignment"]
    assert len(aligned_rows) == len(by_guid)
    assert {rec["guid"][i] for i in aligned_rows} == set(by_guid)
    assert data["warnings"] == []
    for i in aligned_rows:
        a = by_guid[rec["guid"][i]]
        expected = horizontal_length(f, a)
        assert expected is not None
        tol = max(0.5, 1e-3 * expected)
        # the curve as evaluated, and the polyline drawn, are as long as the layout
        assert rec["length"][i] == pytest.approx(expected, abs=tol), rec["name"][i]
        assert rec["length_3d"][i] >= rec["length"][i] - tol
        assert rec["gaps"][i] == 0
    for row, pts in polylines(data):
        assert np.all(np.isfinite(pts))
        if row in aligned_rows:
            plan = np.linalg.norm(np.diff(pts[:, :2], axis=0), axis=1).sum()
            assert plan == pytest.approx(rec["length"][row], rel=1e-3, abs=0.5)


def test_the_largest_shared_file_is_fast():
    path = shared("bsi_validation_rules/multiple_alignments_horizontal_reuse.ifc")
    data = alignment.extract(ifcopenshell.open(str(path)))
    assert len(data["records"]["guid"]) == 26
    # 26 alignments, the longest 19.7 km: ~0.5 s here; the OpenCASCADE path took minutes
    assert data["seconds"] < 10
    assert len(data["points"]) // 3 < 26 * (alignment.MAX_POINTS + 200)


# -- layer (parent side) -----------------------------------------------------------------


def grf006_scene() -> Scene:
    return Scene(crs=GRF006_CRS, origin=GRF006_ORIGIN)


def test_the_layer_is_polylines_picking_back_to_globalids():
    scene = grf006_scene()
    out = importers.open(GRF006, scene)
    names = [la.name for la in out]
    assert names == [
        "pass-grf006-valid_wkt_specification",
        "pass-grf006-valid_wkt_specification (alignments)",
    ]
    layer = out[1]
    assert layer.kind == "alignments"
    mesh = layer.mesh
    assert mesh.n_lines == mesh.n_cells == 6 and mesh.GetNumberOfPolys() == 0
    assert mesh.points.dtype == np.float32 and np.all(np.isfinite(mesh.points))
    assert layer.cell_features.dtype == np.int32
    f = ifcopenshell.open(str(GRF006))
    guids = sorted(a.GlobalId for a in f.by_type("IfcAlignment"))
    assert sorted(layer.features.ids) == guids
    assert sorted(layer.features.ids[np.unique(layer.cell_features)]) == guids
    # scene-local: small numbers around the origin, heights as in the file
    b = mesh.bounds
    assert -1000 < b[0] < b[1] < 1000 and -1000 < b[2] < b[3] < 1000
    assert 1.9 < b[4] < b[5] < 5.1
    assert np.all(np.isfinite(layer.features.bounds))
    assert len(layer.warnings) == 4 and all("IfcAlignment" in w for w in layer.warnings)
    assert layer.info["alignments"] == 2 and layer.info["reprojection"] == "affine"
    row = int(np.flatnonzero(layer.features.names == "Alignment 1_Primary route")[0])
    attrs = layer.features.row(row)
    assert attrs["layout_length"] == pytest.approx(873.3682, abs=1e-3)
    assert attrs["representation"] == "Axis" and attrs["gaps"] == 2


def test_alignments_sit_where_linearly_placed_elements_are():
    """A referent placed by IfcLinearPlacement along the alignment lies on the
    drawn centre line: both layers share one placement."""
    path = shared("ifc4x3_bsi_sample_models/linear-placement-of-signal.ifc")
    scene = Scene(crs="EPSG:3065", origin=np.array([452700.0, 4539600.0, 0.0]))
    bim, lines = importers.open(path, scene)
    assert lines.kind == "alignments"
    referents = np.flatnonzero(bim.features.classes == "IfcReferent")
    fb = bim.features.bounds[referents]
    fb = fb[np.all(np.isfinite(fb), axis=1)]
    assert len(fb) > 5
    centres = np.column_stack([(fb[:, 0] + fb[:, 1]) / 2, (fb[:, 2] + fb[:, 3]) / 2])
    pts = np.asarray(lines.mesh.points[:, :2], dtype=np.float64)
    nearest = np.min(np.linalg.norm(centres[:, None, :] - pts[None, :, :], axis=2), axis=1)
    assert np.median(nearest) < 1.0, nearest


def test_without_an_alignment_record_nothing_changes():
    opts = IfcOptions(cache=False)
    payload = runner.run(GRF006, opts)
    facts: dict = {}
    with_lines = layers.build(GRF006, payload, grf006_scene(), opts, facts)
    del payload.meta[alignment.META_KEY]
    without = layers.build(GRF006, payload, grf006_scene(), opts, facts)
    assert len(with_lines) == 2 and len(without) == 1
    assert without[0].name == with_lines[0].name
    assert len(without[0].features) == len(with_lines[0].features)


def test_a_cached_reopen_restores_the_alignments():
    first = importers.open(GRF006, grf006_scene())
    cache.flush()
    second = importers.open(GRF006, grf006_scene())
    assert second[0].info["cache"] == "hit"
    assert [la.name for la in second] == [la.name for la in first]
    assert np.array_equal(first[1].mesh.points, second[1].mesh.points)
    assert np.array_equal(first[1].cell_features, second[1].cell_features)
    assert list(first[1].features.ids) == list(second[1].features.ids)


@pytest.mark.render
def test_alignments_render_as_visible_lines_and_pick_back(output_dir):
    import pyvista as pv

    from twin.render import SceneView, save_png, use_offscreen_gl

    scene = grf006_scene()
    for la in importers.open(GRF006, scene):
        scene.add_layer(la)
    lines = scene.layers[-1]
    centre = np.asarray(lines.mesh.center)
    world = scene.to_world(centre)
    scene.add_bookmark(Bookmark("top", tuple(world + np.array([0, -300, 700])), tuple(world)))
    use_offscreen_gl()
    plotter = pv.Plotter(off_screen=True, window_size=[640, 480])
    view = SceneView(scene, plotter)
    try:
        view.apply_bookmark("top")
        plotter.render()
        image = np.asarray(plotter.screenshot(return_img=True))[:, :, :3]
        px = image.reshape(-1, 3).astype(int)
        red = (px[:, 0] > 150) & (px[:, 1] < 120) & (px[:, 2] < 100)
        if red.sum() < 400:
            save_png(image, output_dir / "ifc_alignments.png")
        assert red.sum() >= 400, f"{red.sum()} alignment pixels; see ifc_alignments.png"
        # click on a vertex in the middle of each alignment: its GlobalId comes back
        rows = lines.cell_features
        for row in np.unique(rows):
            cell = int(np.flatnonzero(rows == row)[0])
            ids = lines.mesh.get_cell(cell).point_ids
            vertex = lines.mesh.points[ids[len(ids) // 2]]
            x, y = view.display_point(scene.to_world(np.asarray(vertex, dtype=np.float64)))
            for dx in (0.0, 2.0):  # on the line, and two pixels off it
                hit = view.pick(x + dx, y)
                assert hit is not None and hit.layer is lines, (row, dx)
                assert lines.features.ids[hit.row] == lines.features.ids[row]
    finally:
        view.close()
        plotter.close()


def test_lines_lost_with_a_crashed_first_worker_are_reported_not_retried():
    """The centre lines are read once, by the first worker, after the table:
    if that worker dies first, the restart recovers the table and geometry and
    the layer says the lines were not read (a curve that crashes the kernel
    must not crash every restart)."""
    from importers.ifc.worker import FIRST_SEMANTICS_HOOK

    out = importers.open(GRF006, grf006_scene(), {"test_crash": [FIRST_SEMANTICS_HOOK]})
    assert [la.kind for la in out] != [] and not any("alignments" in la.name for la in out)
    assert any("alignment centre lines (if any) were not read" in w for w in out[0].warnings)
