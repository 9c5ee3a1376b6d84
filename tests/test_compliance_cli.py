"""`citytwin comply` through the real CLI: tiny scenes written here, and the Việt Trì demo."""

from __future__ import annotations

import base64
import csv
import io
import json
import re

import numpy as np
import pytest
from conftest import SCENES, polygon_feature, run_cli, write_geojson

CRS = "urn:ogc:def:crs:EPSG::9208"
X0, Y0 = 568000.0, 2357000.0


def rect(x0, y0, x1, y1):
    return [(X0 + x0, Y0 + y0), (X0 + x1, Y0 + y0), (X0 + x1, Y0 + y1), (X0 + x0, Y0 + y1),
            (X0 + x0, Y0 + y0)]


def make_scene(tmp_path, lots, buildings, plan=None, compliance=True, extra=""):
    write_geojson(tmp_path / "lots.geojson", lots, CRS)
    write_geojson(tmp_path / "buildings.geojson", buildings, CRS)
    names = '"buildings"'
    layers = """
[[layers]]
name = "lots"
path = "lots.geojson"
options = { kind = "areas" }

[[layers]]
name = "buildings"
path = "buildings.geojson"
"""
    if plan is not None:
        write_geojson(tmp_path / "plan.geojson", plan, CRS)
        layers += '\n[[layers]]\nname = "plan"\npath = "plan.geojson"\n'
        names += ', "plan"'
    text = f"""[scene]
name = "test"
crs = "EPSG:9208"
origin = [{X0}, {Y0}, 0.0]
time = 2025-06-01T09:00:00+07:00
{layers}
"""
    if compliance:
        text += f'\n[[compliance]]\nlots = "lots"\nbuildings = [{names}]\n{extra}'
    path = tmp_path / "scene.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


LOTS = [
    polygon_feature("A", rect(0, 0, 40, 40), max_height=20.0, max_density=60.0, setback=2.0),
    polygon_feature("B", rect(40, 0, 80, 40), land_use="park"),  # no indicators
]


def test_all_comply_exits_0_with_the_exact_json(tmp_path):
    scene = make_scene(tmp_path, LOTS, [
        polygon_feature("H1", rect(5, 5, 15, 15), height=9.0),
        polygon_feature("H2", rect(50, 5, 60, 15), height=90.0),  # lot B: no rules
        polygon_feature("OFF", rect(200, 200, 210, 210), height=9.0),
    ])
    out = run_cli("comply", scene, "--json")
    assert out.returncode == 0, out.stderr
    # H2 stands on lot B, which has no indicators: not checked, not unassigned either
    assert json.loads(out.stdout) == {"checked": 1, "violations": [], "unassigned": ["OFF"]}


def test_violations_exit_1_and_csv_lists_violations_first(tmp_path):
    scene = make_scene(tmp_path, LOTS, [
        polygon_feature("OK", rect(5, 5, 15, 15), height=9.0),
        polygon_feature("TALL", rect(20, 20, 30, 30), height=24.5),
        # 1 m from the lot edge: setback 2 m broken
        polygon_feature("EDGE", rect(1, 30, 10, 38), height=6.0),
    ])
    target = tmp_path / "out.csv"
    out = run_cli("comply", scene, "--json", "--csv", str(target))
    assert out.returncode == 1, out.stderr
    doc = json.loads(out.stdout)
    assert doc["checked"] == 3 and doc["unassigned"] == []
    assert doc["violations"] == [
        {"building": "TALL", "lot": "A", "rule": "max_height", "value": 24.5, "limit": 20.0},
        {"building": "EDGE", "lot": "A", "rule": "setback", "value": 1.0, "limit": 2.0},
    ]
    with target.open(encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["complies"] for r in rows[:2]] == ["False", "False"]
    assert {r["complies"] for r in rows[2:]} == {"True"}
    floors = [r for r in rows if r["rule"] == "max_density"]
    assert floors and all("lot" in r["note"] for r in floors)


def test_planned_building_is_checked_from_its_phase_start(tmp_path):
    plan = [polygon_feature("TOWER", rect(20, 20, 30, 30), height=60.0, phase="2",
                            start="2027-01-01", end="2028-12-31", status="proposed")]
    scene = make_scene(tmp_path, LOTS, [polygon_feature("H1", rect(5, 5, 15, 15), height=9.0)],
                       plan=plan)
    before = run_cli("comply", scene, "--json", "--time", "2026-12-31T23:00+07:00")
    assert before.returncode == 0, before.stderr
    assert json.loads(before.stdout)["checked"] == 1
    during = run_cli("comply", scene, "--json", "--time", "2027-01-02")
    assert during.returncode == 1, during.stderr
    assert json.loads(during.stdout)["violations"] == [
        {"building": "TOWER", "lot": "A", "rule": "max_height", "value": 60.0, "limit": 20.0}]


def test_bad_lots_warn_on_one_line_each_naming_the_lot(tmp_path):
    lots = [
        *LOTS,
        polygon_feature("BOW", [(X0 + 100, Y0), (X0 + 110, Y0 + 10), (X0 + 110, Y0),
                                (X0 + 100, Y0 + 10), (X0 + 100, Y0)], max_height=10.0),
        polygon_feature("OVER", rect(30, 0, 45, 10), max_far=-2.0),
    ]
    scene = make_scene(tmp_path, lots, [polygon_feature("H1", rect(5, 5, 15, 15), height=9.0)])
    out = run_cli("comply", scene)
    assert out.returncode == 0, out.stderr
    warnings = [ln for ln in out.stderr.splitlines() if "warning" in ln]
    assert any("lot BOW: invalid polygon" in w for w in warnings)
    assert any("lot A: overlaps lot OVER" in w for w in warnings)
    assert any("lot OVER: max_far = -2 is negative" in w for w in warnings)
    assert "Traceback" not in out.stderr


@pytest.mark.parametrize("case", ["no_table", "unknown_layer", "bad_time", "missing"])
def test_bad_input_exits_2_with_one_line(tmp_path, case):
    buildings = [polygon_feature("H1", rect(5, 5, 15, 15), height=9.0)]
    args = []
    if case == "no_table":
        scene = make_scene(tmp_path, LOTS, buildings, compliance=False)
    elif case == "unknown_layer":
        scene = make_scene(tmp_path, LOTS, buildings, extra='red_lines = "streets"\n')
    elif case == "bad_time":
        scene = make_scene(tmp_path, LOTS, buildings)
        args = ["--time", "soon"]
    else:
        scene = str(tmp_path / "nothing.toml")
    out = run_cli("comply", scene, *args)
    assert out.returncode == 2, (out.stdout, out.stderr)
    assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr


def test_viet_tri_demo_findings_follow_the_plan_phases():
    scene = str(SCENES / "viet_tri.toml")
    now = run_cli("comply", scene, "--json")  # the scene time, 2025: before the plan
    assert now.returncode == 1, now.stderr
    doc = json.loads(now.stdout)
    assert {(v["lot"], v["rule"]) for v in doc["violations"]} == {("TOD-LK-01", "max_density")}
    assert len(doc["violations"]) >= 8 and doc["unassigned"] == []
    later = run_cli("comply", scene, "--json", "--time", "2026-10-01")  # phase 2 started
    assert later.returncode == 1, later.stderr
    tower = [v for v in json.loads(later.stdout)["violations"] if v["building"] == "PL-TOD-A"]
    assert tower == [{"building": "PL-TOD-A", "lot": "TOD-CT-01", "rule": "max_height",
                      "value": 96.0, "limit": 90.0}]


@pytest.mark.render
def test_html_report_embeds_a_rendered_view_of_each_violation(tmp_path):
    from PIL import Image

    scene = make_scene(tmp_path, LOTS, [
        polygon_feature("OK", rect(5, 5, 15, 15), height=9.0),
        polygon_feature("TALL", rect(20, 20, 30, 30), height=24.5),
    ])
    target = tmp_path / "report.html"
    out = run_cli("comply", scene, "--html", str(target), "--lang", "vi")
    assert out.returncode == 1, out.stderr
    page = target.read_text(encoding="utf-8")
    assert 'lang="vi"' in page and "Chiều cao" in page and "24,5" in page
    images = re.findall(r"data:image/png;base64,([A-Za-z0-9+/=]+)", page)
    assert len(images) == 1  # one violating building, one view
    img = np.asarray(Image.open(io.BytesIO(base64.b64decode(images[0]))).convert("RGB"))
    assert img.shape == (240, 360, 3)
    red = (img[..., 0] > 150) & (img[..., 1] < 80) & (img[..., 2] < 80)
    assert red.sum() > 200  # the violating building, drawn red


def ifc_with_quantities(path):
    """Two storeys (a slab each) and two spaces of 9 m² each (Qto_SpaceBaseQuantities),
    placed by IfcMapConversion at 568100, 2357100 (EPSG:9208)."""
    import ifcopenshell
    import ifcopenshell.guid
    from test_ifc_factory import Box, Model, make_model

    make_model(path, Model(
        boxes=[Box(at=(0, 0, 0), size=(10, 8, 3), cls="IfcSlab", name="ground"),
               Box(at=(0, 0, 3), size=(10, 8, 3), cls="IfcSlab", name="first")],
        spaces=2,
        map_conversion=dict(E=X0 + 100, N=Y0 + 100, H=0.0, xaa=1.0, xao=0.0, scale=1.0),
        crs=dict(name="EPSG:9208", map_unit="METRE"),
    ))
    f = ifcopenshell.open(str(path))
    g = ifcopenshell.guid.new
    owner = f.by_type("IfcOwnerHistory")[0]
    ground = f.by_type("IfcBuildingStorey")[0]
    first = f.createIfcBuildingStorey(g(), owner, "First floor", None, None,
                                      ground.ObjectPlacement, None, None, "ELEMENT", 3.0)
    f.createIfcRelAggregates(g(), owner, None, None, f.by_type("IfcBuilding")[0], [first])
    rel = f.by_type("IfcRelContainedInSpatialStructure")[0]
    upper = [e for e in rel.RelatedElements if e.Name == "first"]
    rel.RelatedElements = [e for e in rel.RelatedElements if e.Name != "first"]
    f.createIfcRelContainedInSpatialStructure(g(), owner, None, None, upper, first)
    for space in f.by_type("IfcSpace"):
        area = f.createIfcQuantityArea("GrossFloorArea", None, None, 9.0, None)
        qto = f.createIfcElementQuantity(g(), owner, "Qto_SpaceBaseQuantities", None, None,
                                         [area])
        f.createIfcRelDefinesByProperties(g(), owner, None, None, [space], qto)
    f.write(str(path))
    return path


def test_placed_ifc_model_is_one_building_with_its_storeys_and_quantities(tmp_path):
    pytest.importorskip("ifcopenshell")
    ifc_with_quantities(tmp_path / "house.ifc")
    write_geojson(tmp_path / "lots.geojson", [
        polygon_feature("IFC-LOT", rect(90, 90, 120, 120), max_floors=1, max_far=0.01,
                        max_density=50.0)], CRS)
    (tmp_path / "scene.toml").write_text(f"""[scene]
name = "ifc"
crs = "EPSG:9208"
origin = [{X0}, {Y0}, 0.0]

[[layers]]
name = "lots"
path = "lots.geojson"
options = {{ kind = "areas" }}

[[layers]]
name = "house"
path = "house.ifc"

[[compliance]]
lots = "lots"
buildings = ["house"]
""", encoding="utf-8")
    target = tmp_path / "out.csv"
    out = run_cli("comply", str(tmp_path / "scene.toml"), "--json", "--csv", str(target))
    assert out.returncode == 1, out.stderr
    doc = json.loads(out.stdout)
    assert doc["checked"] == 1
    # two storeys; 2 x 9 m² of spaces on a 900 m² lot: FAR 0.02 (not 10 x 8 x 2 / 900)
    assert [(v["rule"], v["value"], v["limit"]) for v in doc["violations"]] == [
        ("max_floors", 2.0, 1.0), ("max_far", 0.02, 0.01)]
    assert doc["violations"][0]["building"].startswith("house")
    with target.open(encoding="utf-8-sig") as fh:
        rows = {r["rule"]: r for r in csv.DictReader(fh)}
    assert "IFC quantities" in rows["max_far"]["note"]
    assert float(rows["max_density"]["value"]) == pytest.approx(80 / 900 * 100, abs=0.01)
