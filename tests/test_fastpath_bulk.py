"""The fast path's bulk read of numbers from the file's text (importers.ifc.fastpath.bulk)
and their resolution into placements and extrusions (.resolved).

The reference is IfcOpenShell: every entity read in bulk must carry the values
IfcOpenShell reads, and every matrix and loop the per-entity code computes.
Definitions spelt in ways the bulk reader does not handle must be absent, never
misread: inside strings and comments, after END-ISO-10303-21, defined twice.
"""

from __future__ import annotations

import sys
from pathlib import Path

import ifcopenshell
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from ifc_towers import write_tower  # noqa: E402

from importers.ifc.fastpath import bulk  # noqa: E402
from importers.ifc.fastpath.placement import Placements, axis2  # noqa: E402
from importers.ifc.fastpath.profiles import profile_loops  # noqa: E402
from importers.ifc.fastpath.resolved import resolve  # noqa: E402
from importers.ifc.header import scan_instances  # noqa: E402

UNIT = 0.001  # the towers are in millimetres


@pytest.fixture(scope="module")
def tower(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("bulk") / "tower.ifc"
    write_tower(path, 0.2, seed=11, bays=3)
    return path


def _table(tables: bulk.Bulk, kind: str) -> dict[int, np.ndarray]:
    t = tables[kind]
    return {int(i): row for i, row in zip(t.ids, t.cols, strict=True)}


def test_every_simple_entity_is_read_with_ifcopenshells_values(tower):
    f = ifcopenshell.open(str(tower))
    _, tables = bulk.scan(tower)
    for kind, ifc in (("cartesianpoint", "IfcCartesianPoint"), ("direction", "IfcDirection")):
        got = _table(tables, kind)
        entities = f.by_type(ifc)
        assert len(got) == len(entities) > 10
        for e in entities:
            want = np.full(3, np.nan)
            want[: len(e[0])] = e[0]
            np.testing.assert_array_equal(got[e.id()], want)
    solids = _table(tables, "extrudedareasolid")
    entities = f.by_type("IfcExtrudedAreaSolid")
    assert len(solids) == len(entities) > 10
    for e in entities:
        want = [e[0].id(), e[1].id() if e[1] is not None else np.nan, e[2].id(), e[3]]
        np.testing.assert_array_equal(solids[e.id()], want)
    styled = tables.styled
    assert len(styled) == len(f.by_type("IfcStyledItem"))
    for st in f.by_type("IfcStyledItem"):
        assert styled[st.id()] == (st.Item.id(), tuple(s.id() for s in st.Styles))


def test_placements_and_extrusions_resolve_as_the_per_entity_code(tower):
    f = ifcopenshell.open(str(tower))
    _, tables = bulk.scan(tower)
    known = resolve(tables, UNIT)
    plain = Placements(UNIT)
    placements = f.by_type("IfcLocalPlacement")
    assert len(known.placement_rows) == len(placements)
    for p in placements:
        m = known.placements[known.placement_rows[p.id()]]
        np.testing.assert_allclose(m, plain.of(p), rtol=0, atol=1e-12)
    rect = [e for e in f.by_type("IfcExtrudedAreaSolid") if e[0].is_a("IfcRectangleProfileDef")]
    assert len(known.extrusion_rows) == len(rect) > 10
    for e in rect:
        row = known.extrusion_rows[e.id()]
        np.testing.assert_allclose(known.loops[row], profile_loops(e[0], UNIT)[0], atol=1e-12)
        np.testing.assert_allclose(known.frames[row], axis2(e[1], UNIT), atol=1e-12)
        d = np.array(e[2][0])
        np.testing.assert_allclose(known.directions[row], d / np.linalg.norm(d), atol=1e-15)
        assert known.depths[row] == pytest.approx(e[3] * UNIT, rel=1e-15)


def test_chunk_boundaries_change_nothing(tower):
    """Chunks cut after any ';' (here every few hundred bytes) read the same tables."""
    whole = bulk.scan(tower)[1]
    reader = bulk.Reader()
    scan_instances(tower, chunk=700, each=reader.feed)
    small = reader.finish(np.zeros(0, np.int64))
    assert whole.kinds.keys() == small.kinds.keys()
    for kind, t in whole.kinds.items():
        np.testing.assert_array_equal(t.ids, small.kinds[kind].ids)
        np.testing.assert_array_equal(t.cols, small.kinds[kind].cols)
    assert whole.styled == small.styled


_TRICKY = """ISO-10303-21;
HEADER;
FILE_DESCRIPTION(('ViewDefinition [CoordinationView]'),'2;1');
FILE_NAME('tricky.ifc','2026-12-03T00:00:00',(''),(''),'','','');
FILE_SCHEMA(('IFC4'));
ENDSEC;
DATA;
#1=IFCCARTESIANPOINT((1.,2.,3.));
#2=  IFCCARTESIANPOINT((4.,5.));
#3=IFCDIRECTION((0.,0.,1.));
#4=IFCPROPERTYSINGLEVALUE('n','#9=IFCCARTESIANPOINT((7.,7.,7.));',$,$);
/* #10=IFCCARTESIANPOINT((8.,8.,8.)); */
#11=IFCCARTESIANPOINT((1.,/* two */2.,3.));
#12=IFCRECTANGLEPROFILEDEF(.AREA.,'300x200; it''s named',$,300.,200.);
#13=IFCRECTANGLEPROFILEDEF(.CURVE.,$,$,300.,200.);
#14=IFCEXTRUDEDAREASOLID(#12,$,#3,IFCPOSITIVELENGTHMEASURE(5.));
#15=IFCCARTESIANPOINT((1.,2.,3.));
#15=IFCCARTESIANPOINT((4.,5.,6.));
#16=IFCSTYLEDITEM(#14,(#20,#21),'two styles');
#17=IFCSTYLEDITEM(#14,(#20),$);
#18=IFCLOCALPLACEMENT($,#19);
#19=IFCAXIS2PLACEMENT3D(#1,$,$);
#20=ifccartesianpoint((1.,1.,1.));
#21=IFCCARTESIANPOINT((1.E-3,-2.5E+02,0.));
#22=IFCCARTESIANPOINT ((9.,9.,9.));
#23=IFCDIRECTION((#1,0.,1.));
#24=IFCAXIS2PLACEMENT3D(#1,#3,$,#3);
#25=IFCEXTRUDEDAREASOLID(#12,#19,#3,2500.);
ENDSEC;
END-ISO-10303-21;
#30=IFCCARTESIANPOINT((3.,3.,3.));
"""


def test_only_plain_definitions_are_read(tmp_path):
    path = tmp_path / "tricky.ifc"
    path.write_text(_TRICKY, encoding="utf-8")
    _, tables = bulk.scan(path)
    points = _table(tables, "cartesianpoint")
    # not: #9 (in a string), #10 (in a comment), #15 (defined twice), #20 (lower case),
    # #22 (a blank before '('), #30 (after END-ISO-10303-21)
    assert sorted(points) == [1, 2, 11, 21]
    np.testing.assert_array_equal(points[2], [4.0, 5.0, np.nan])
    np.testing.assert_array_equal(points[11], [1.0, 2.0, 3.0])  # a comment is a blank
    np.testing.assert_array_equal(points[21], [1e-3, -250.0, 0.0])
    assert sorted(_table(tables, "direction")) == [3]  # not #23: a reference among numbers
    rects = _table(tables, "rectangleprofiledef")
    assert sorted(rects) == [12]  # named: read; .CURVE.: not an area
    np.testing.assert_array_equal(rects[12], [np.nan, 300.0, 200.0])
    solids = _table(tables, "extrudedareasolid")
    assert sorted(solids) == [25]  # not #14: a typed depth
    np.testing.assert_array_equal(solids[25], [12, 19, 3, 2500.0])
    assert sorted(_table(tables, "axis2placement3d")) == [19]  # not #24: four arguments
    assert tables.styled == {16: (14, (20, 21)), 17: (14, (20,))}
    known = resolve(tables, 1.0)
    np.testing.assert_array_equal(known.placements[known.placement_rows[18]][:3, 3], [1, 2, 3])
    assert list(known.extrusion_rows) == [25]


def test_a_failing_chunk_gives_up_the_bulk_read_not_the_scan(tower, monkeypatch):
    plain = scan_instances(tower)

    def broken(self, arr, ids, eq):
        raise IndexError("a bug in the bulk reader")

    monkeypatch.setattr(bulk.Reader, "_read", broken)
    found, tables = bulk.scan(tower)
    np.testing.assert_array_equal(found.ids, plain.ids)
    np.testing.assert_array_equal(found.starts, plain.starts)
    assert not tables.kinds and not tables.styled
    assert resolve(tables, UNIT).extrusion_rows == {}


def test_ids_out_of_file_order_are_found(tmp_path):
    """Exporters need not write ids in order: lookups must not assume it."""
    lines = [
        "#9=IFCLOCALPLACEMENT(#5,#8);",
        "#8=IFCAXIS2PLACEMENT3D(#7,$,$);",
        "#7=IFCCARTESIANPOINT((0.,0.,3.));",
        "#5=IFCLOCALPLACEMENT($,#4);",
        "#4=IFCAXIS2PLACEMENT3D(#2,$,$);",
        "#2=IFCCARTESIANPOINT((10.,20.,0.));",
    ]
    body = "\n".join(lines)
    text = _TRICKY.split("DATA;")[0] + f"DATA;\n{body}\nENDSEC;\nEND-ISO-10303-21;\n"
    path = tmp_path / "reversed.ifc"
    path.write_text(text, encoding="utf-8")
    known = resolve(bulk.scan(path)[1], 1.0)
    np.testing.assert_array_equal(known.placements[known.placement_rows[9]][:3, 3], [10, 20, 3])
    np.testing.assert_array_equal(known.placements[known.placement_rows[5]][:3, 3], [10, 20, 0])
