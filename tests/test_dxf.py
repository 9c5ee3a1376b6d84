"""DXF detailed plans: the synthetic Việt Trì plan (tools/synth/dxf_plan.py, seed
269) read into scenes in VN-2000; lots, red lines, symbols, texts; damaged files."""

from __future__ import annotations

import math

import ezdxf
import numpy as np
import pytest
import shapely
from conftest import DATA

import importers
from importers.errors import ImportFailed
from tools.synth import dxf_plan
from twin.geo import transform_xy
from twin.scene import Scene

PLAN = DATA / "plan_viet_tri.dxf"
ORIGIN = (567800.0, 2357000.0, 0.0)


def _scene(crs: str = "EPSG:9208", origin=ORIGIN) -> Scene:
    return Scene(crs=crs, origin=list(origin), name="dxf test")


def _open(options=None, scene=None, path=PLAN):
    scene = scene or _scene()
    layers = importers.open(path, scene, {"crs": "EPSG:9208", **(options or {})})
    return scene, {la.name.split("(")[-1].rstrip(")"): la for la in layers}


@pytest.fixture(scope="module")
def plan():
    return _open()


def test_the_committed_plan_is_what_the_generator_makes():
    """Same seed, same entities (handles, layers, coordinates): the file is reproducible."""
    def entities(doc):
        return [(e.dxf.handle, e.dxftype(), e.dxf.layer,
                 str(e.dxf.insert) if e.dxf.is_supported("insert") else "",
                 str(list(e.vertices())) if e.dxftype() == "LWPOLYLINE" else "")
                for e in doc.modelspace()]

    assert entities(ezdxf.readfile(PLAN)) == entities(dxf_plan.make(269))
    assert PLAN.stat().st_size < 300_000


def test_lots_zones_lines_and_symbols_become_three_layers(plan):
    _, layers = plan
    assert set(layers) == {"polygons", "lines", "points"}
    poly, lines, points = layers["polygons"], layers["lines"], layers["points"]
    assert poly.kind == "areas" and lines.kind == "roads" and points.kind == "points"
    cad = poly.features.column("cad_layer")
    doc = dxf_plan.make(269)
    closed_lots = [e for e in doc.modelspace().query("LWPOLYLINE[layer=='LO_DAT']") if e.closed]
    assert (cad == "LO_DAT").sum() == len(closed_lots)
    assert set(cad) == {"RANH_GIOI_QH", "LO_DAT", "HATCH_CAY_XANH", "HO_NUOC"}
    assert set(lines.features.column("cad_layer")) == {"CHI_GIOI_DUONG_DO", "TIM_DUONG"}
    # the class is the CAD layer, so a plan is coloured by layer
    assert list(lines.features.classes) == list(lines.features.column("cad_layer"))
    assert set(points.features.column("block")) == {"CAY_XANH", "COT_DEN", "MOC_GIOI"}
    markers = points.features.column("block") == "MOC_GIOI"
    assert sorted(points.features.column("so")[markers]) == ["M1", "M2", "M3", "M4"]
    assert set(points.features.names[markers]) == {"MOC_GIOI"}


def test_each_lot_carries_the_text_written_inside_it(plan):
    _, layers = plan
    t = layers["polygons"].features
    lots = t.column("cad_layer") == "LO_DAT"
    labels = t.column("label")[lots]
    codes = [lab.split(";")[0] for lab in labels if lab]
    # every lot but the park's (its code is on the hatch, the smaller polygon) has one
    assert len(codes) == lots.sum() - 1 and len(set(codes)) == len(codes)
    assert all(c.startswith(("LK-", "HH-")) for c in codes)
    # a code's block letter matches where the lot lies: A south-west ... D north-east
    for lab, b in zip(labels, t.bounds[lots], strict=True):
        if lab:
            cx = (b[0] + b[1]) / 2 + ORIGIN[0] - dxf_plan.X0
            cy = (b[2] + b[3]) / 2 + ORIGIN[1] - dxf_plan.Y0
            east = int(cx > dxf_plan.ROAD_X)
            block = "AB"[east] if cy < dxf_plan.ROAD_Y else "CD"[east]
            assert lab.split(";")[0][3] == block, (lab, cx, cy)
    indicators = [lab for lab in labels if "MĐXD" in lab]
    assert indicators and all("Tầng cao" in lab for lab in indicators)
    park = t.column("cad_layer") == "HATCH_CAY_XANH"
    assert list(t.column("label")[park]) == ["CX-D01"]
    # the title lies outside every polygon: it labels nothing, and says so
    assert any("1 texts lie in no polygon" in w for w in layers["polygons"].warnings)


def _area(layer, row: int) -> float:
    """Plan area of one flat feature: its top triangles."""
    mesh = layer.mesh.triangulate()
    tri = mesh.faces.reshape(-1, 4)[:, 1:][np.asarray(mesh.cell_data["feature"]) == row]
    xy = np.asarray(mesh.points, dtype=np.float64)[:, :2][tri]
    u, v = xy[:, 1] - xy[:, 0], xy[:, 2] - xy[:, 0]
    a = 0.5 * np.abs(u[:, 0] * v[:, 1] - u[:, 1] * v[:, 0])
    z = np.asarray(mesh.points)[tri][:, :, 2].mean(axis=1)
    return float(a[z > z.min() + 0.01].sum()) if np.ptp(z) > 0.01 else float(a.sum())


def test_bulges_are_arcs_and_a_hatch_keeps_its_hole(plan):
    _, layers = plan
    poly = layers["polygons"]
    t = poly.features
    r = dxf_plan.KERB_R
    kerb_cut = r * r - math.pi * r * r / 4  # a rounded corner takes this off the rectangle
    # block D is the park: the lot is the block with one rounded corner
    x0, y0, x1, y1, _ = dxf_plan._blocks()["D"]
    rect = (x1 - x0) * (y1 - y0)
    unlabelled = (t.column("cad_layer") == "LO_DAT") & (t.column("label") == "")
    park_lot = int(np.flatnonzero(unlabelled)[0])
    assert _area(poly, park_lot) == pytest.approx(rect - kerb_cut, abs=0.5)
    hatch = int(np.flatnonzero(t.column("cad_layer") == "HATCH_CAY_XANH")[0])
    pond = math.pi * 18.0**2
    assert _area(poly, hatch) == pytest.approx(rect - kerb_cut - pond, rel=2e-3)
    circle = int(np.flatnonzero(t.column("cad_layer") == "HO_NUOC")[0])
    assert _area(poly, circle) == pytest.approx(pond, rel=2e-3)


def test_a_vn2000_vertex_lands_where_pyproj_puts_it():
    """The same drawing in a VN-2000 / UTM 48N scene: the plan's south-west
    corner (a lot corner) is where pyproj takes it."""
    origin = (563000.0, 2356000.0, 0.0)
    scene = _scene("EPSG:3405", origin)
    _, layers = _open(scene=scene)
    ex, ey = transform_xy(np.array([dxf_plan.X0]), np.array([dxf_plan.Y0]), "EPSG:9208",
                          "EPSG:3405")
    pts = np.asarray(layers["polygons"].mesh.points, dtype=np.float64)[:, :2]
    d = np.hypot(pts[:, 0] - (ex[0] - origin[0]), pts[:, 1] - (ey[0] - origin[1]))
    assert d.min() < 0.01
    assert abs(ex[0] - dxf_plan.X0) > 1000  # the two grids really differ here


def test_nested_flat_polygons_are_stacked_so_none_flickers(plan):
    """Boundary zone < lot < park hatch; the pond lies in the hatch's hole, not
    on it, so it shares the hatch's level."""
    t = plan[1]["polygons"].features
    top = {c: t.bounds[t.column("cad_layer") == c, 5].max() for c in
           ("RANH_GIOI_QH", "LO_DAT", "HATCH_CAY_XANH", "HO_NUOC")}
    assert top["RANH_GIOI_QH"] < top["LO_DAT"] < top["HATCH_CAY_XANH"]
    assert top["HO_NUOC"] == pytest.approx(top["HATCH_CAY_XANH"])
    lots = t.bounds[t.column("cad_layer") == "LO_DAT", 5]
    assert np.ptp(lots) == pytest.approx(0.0, abs=1e-4)  # side by side: one level


def test_extruded_by_option_and_red_lines_over_the_lots(plan):
    _, layers = _open({"kind": "buildings", "default_height": 12.0})
    poly = layers["polygons"]
    assert poly.kind == "buildings"
    assert np.nanmax(poly.features.bounds[:, 5]) == pytest.approx(12.0)
    flat = plan[1]
    lines_top = np.asarray(flat["lines"].mesh.points)[:, 2].max()
    assert lines_top > np.asarray(flat["polygons"].mesh.points)[:, 2].max()


def test_no_crs_assumes_the_scene_with_a_warning():
    layers = importers.open(PLAN, _scene(), {})
    assert any("declares no CRS" in w for w in layers[0].warnings)


def test_millimetre_drawings_are_scaled_to_metres(tmp_path):
    doc = ezdxf.new("R2010")
    doc.header["$INSUNITS"] = 4
    msp = doc.modelspace()
    x0, y0 = 567_600_000, 2_356_900_000  # VN-2000 millimetres
    msp.add_lwpolyline([(x0, y0), (x0 + 20000, y0), (x0 + 20000, y0 + 10000), (x0, y0 + 10000)],
                       close=True)
    path = tmp_path / "mm.dxf"
    doc.saveas(path)
    (layer,) = importers.open(path, _scene(), {"crs": "EPSG:9208"})
    b = layer.features.bounds[0]
    assert (b[1] - b[0], b[3] - b[2]) == pytest.approx((20.0, 10.0))
    assert any("scaled to metres" in w for w in layer.warnings)


@pytest.mark.parametrize(
    "content, message",
    [
        (b"\x00\x01garbage" * 100, "is not a readable DXF file"),
        ("0\nSECTION\n2\nENTITIES\n0\nLINE\n8\n0\n10\nnot-a-number\n", None),
        (b"", None),
    ],
)
def test_a_damaged_dxf_is_one_line_naming_it(tmp_path, content, message):
    path = tmp_path / "damaged.dxf"
    if isinstance(content, str):
        path.write_text(content)
    else:
        path.write_bytes(content)
    with pytest.raises(ImportFailed) as info:
        importers.open(path, _scene(), {"crs": "EPSG:9208"})
    text = str(info.value)
    assert text.startswith(str(path)) and "\n" not in text
    if message:
        assert message in text


def test_a_truncated_dxf_keeps_what_it_can_or_fails_in_one_line(tmp_path):
    data = PLAN.read_bytes()
    path = tmp_path / "truncated.dxf"
    path.write_bytes(data[: int(len(data) * 0.8)])
    try:
        layers = importers.open(path, _scene(), {"crs": "EPSG:9208"})
    except ImportFailed as exc:
        assert str(exc).startswith(str(path)) and "\n" not in str(exc)
    else:
        n = sum(len(la.features) for la in layers)
        assert 0 < n < 71  # some of the 24 + 7 + 40 entities survive, not all


def test_a_scene_file_places_the_plan_over_viet_tri(tmp_path):
    scene_file = tmp_path / "plan.toml"
    scene_file.write_text(
        '[scene]\ncrs = "EPSG:9208"\norigin = [567800.0, 2357000.0, 0.0]\n'
        f'[[layers]]\nname = "QHCT"\npath = "{PLAN.as_posix()}"\n'
        'options = { crs = "EPSG:9208" }\n',
        encoding="utf-8",
    )
    scene = importers.open_scene(scene_file)
    assert [la.name for la in scene.layers] == [
        "QHCT: plan_viet_tri (polygons)", "QHCT: plan_viet_tri (lines)",
        "QHCT: plan_viet_tri (points)"]
    lots = scene.layers[0]
    geoms = shapely.box(*(lots.features.bounds[:, [0, 2, 1, 3]].T))
    assert shapely.area(geoms).max() == pytest.approx(dxf_plan.WIDTH * dxf_plan.DEPTH, rel=1e-6)
