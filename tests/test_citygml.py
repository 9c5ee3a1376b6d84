"""CityGML importer: real 2.0/3.0 files, hardened XML parsing, edge cases, the corpus."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import DATA, run_cli
from lxml import etree

import importers
from importers import citygml
from importers.errors import ImportFailed
from twin.scene import Scene

GML = DATA / "citygml"
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"

HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<CityModel xmlns="http://www.opengis.net/citygml/2.0" xmlns:gml="http://www.opengis.net/gml"
 xmlns:bldg="http://www.opengis.net/citygml/building/2.0"
 xmlns:gen="http://www.opengis.net/citygml/generics/2.0"
 xmlns:xlink="http://www.w3.org/1999/xlink">
"""


def ring(points: list[tuple[float, float, float]], dim: int = 3) -> str:
    coords = " ".join(" ".join(str(v) for v in p[:dim]) for p in [*points, points[0]])
    return (
        f'<gml:LinearRing><gml:posList srsDimension="{dim}">{coords}</gml:posList></gml:LinearRing>'
    )


def polygon(points, gid: str = "", holes=()) -> str:
    ident = f' gml:id="{gid}"' if gid else ""
    inner = "".join(f"<gml:interior>{ring(h)}</gml:interior>" for h in holes)
    return f"<gml:Polygon{ident}><gml:exterior>{ring(points)}</gml:exterior>{inner}</gml:Polygon>"


def box_faces(x0: float, y0: float, w: float, h: float):
    """Outward faces of a w x w x h box: (name, points)."""
    x1, y1 = x0 + w, y0 + w
    b = [(x0, y0, 0), (x0, y1, 0), (x1, y1, 0), (x1, y0, 0)]
    t = [(x0, y0, h), (x1, y0, h), (x1, y1, h), (x0, y1, h)]
    walls = [
        [(x0, y0, 0), (x1, y0, 0), (x1, y0, h), (x0, y0, h)],
        [(x1, y0, 0), (x1, y1, 0), (x1, y1, h), (x1, y0, h)],
        [(x1, y1, 0), (x0, y1, 0), (x0, y1, h), (x1, y1, h)],
        [(x0, y1, 0), (x0, y0, 0), (x0, y0, h), (x0, y1, h)],
    ]
    return [("GroundSurface", b), ("RoofSurface", t)] + [("WallSurface", w_) for w_ in walls]


def building(bid: str, x0: float = 0.0, lod: int = 2, extra: str = "") -> str:
    surfaces = "".join(
        f"<bldg:boundedBy><bldg:{name}><bldg:lod{lod}MultiSurface><gml:MultiSurface>"
        f"<gml:surfaceMember>{polygon(pts, f'{bid}-p{i}')}</gml:surfaceMember>"
        f"</gml:MultiSurface></bldg:lod{lod}MultiSurface></bldg:{name}></bldg:boundedBy>"
        for i, (name, pts) in enumerate(box_faces(x0, 0.0, 10.0, 6.0))
    )
    return (
        f'<cityObjectMember><bldg:Building gml:id="{bid}"><gml:name>{bid}</gml:name>'
        f'<gen:stringAttribute name="owner"><gen:value>city</gen:value></gen:stringAttribute>'
        f'<bldg:measuredHeight uom="m">6.0</bldg:measuredHeight>{extra}{surfaces}'
        f"</bldg:Building></cityObjectMember>"
    )


def write(path: Path, body: str, srs: str | None = "EPSG:25832") -> Path:
    env = ""
    if srs:
        env = (
            f'<gml:boundedBy><gml:Envelope srsName="{srs}"><gml:lowerCorner>0 0 0</gml:lowerCorner>'
            f"<gml:upperCorner>100 100 10</gml:upperCorner></gml:Envelope></gml:boundedBy>"
        )
    path.write_text(HEAD + env + body + "</CityModel>\n", encoding="utf-8")
    return path


def scene(crs: str = "EPSG:25832") -> Scene:
    return Scene(crs=crs)


def load(path: Path, sc: Scene | None = None, **options):
    layers = importers.open(path, sc or scene(), options, importer="citygml")
    assert len(layers) == 1
    return layers[0]


# -- real files --------------------------------------------------------------------------------
def test_v2_and_v3_of_the_same_building_agree():
    v2 = load(GML / "CityGML_v2_extended.gml", scene("EPSG:31468"))
    v3 = load(GML / "CityGML_v3_extended.gml", scene("EPSG:31468"))
    assert v2.info["version"] == "2.0" and v3.info["version"] == "3.0"
    for layer in (v2, v3):
        assert layer.features.class_counts() == {"Building": 1}
        assert layer.crs == "EPSG:31468"  # from urn:adv:crs:DE_DHDN_3GK4*DE_DHHN92_NH
        assert layer.info["lod_used"] == {"2": 1}
        names = layer.info["surface_types"]
        present = {names[c] for c in np.unique(layer.mesh.cell_data["surface"])}
        assert {"RoofSurface", "WallSurface", "GroundSurface"} <= present
        assert layer.features.column("StandLK")[0] == "2014-07-28"
        assert layer.features.column("Gemeindeschluessel")[0] == "09175128"
    assert v2.n_triangles == v3.n_triangles > 0
    assert np.allclose(v2.mesh.bounds, v3.mesh.bounds)


def test_berlin_building_attributes_and_crs():
    layer = load(GML / "Berlin_Moabit_1Bldg_v2.gml", scene("EPSG:25833"))
    assert layer.crs == "EPSG:25833"
    assert len(layer.features) == 1 and layer.n_triangles >= 6
    cols = layer.features.column_names()
    assert "H_First_Max" in cols
    # world bounds match the file's envelope
    b = layer.mesh.bounds
    assert 388662 < b[0] < b[1] < 388695


def test_lod0_railway_curves_and_legacy_coordinates():
    layer = load(GML / "LOD0_Railway_NoiseADE_v200.gml", scene("EPSG:31466"))
    assert layer.features.class_counts() == {"Railway": 1}
    assert layer.n_triangles > 0 and layer.info["lod_used"] == {"0": 1}
    b = layer.mesh.bounds
    assert b[0] == pytest.approx(2524175, abs=1.0) and b[3] == pytest.approx(5707338, abs=1.0)


def test_extent_reads_envelope_and_adv_names():
    crs, box = citygml.extent(GML / "CityGML_v2_extended.gml")
    assert crs == "EPSG:31468" and box[0] == pytest.approx(4490655.5)


# -- hardened parsing (RELIABILITY G2) ----------------------------------------------------------
def test_billion_laughs_is_refused_quickly(tmp_path):
    ents = ['<!ENTITY lol "lol">'] + [
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
        for i in range(1, 10)
    ]
    doc = (
        '<?xml version="1.0"?>\n<!DOCTYPE CityModel [\n' + "\n".join(ents) + "\n]>\n"
        '<CityModel xmlns="http://www.opengis.net/citygml/2.0" '
        'xmlns:gml="http://www.opengis.net/gml"><cityObjectMember>'
        "<GenericCityObject><gml:name>&lol9;</gml:name></GenericCityObject>"
        "</cityObjectMember></CityModel>"
    )
    path = tmp_path / "lol.gml"
    path.write_text(doc, encoding="utf-8")
    start = time.perf_counter()
    with pytest.raises(ImportFailed, match="DTD"):
        load(path)
    assert time.perf_counter() - start < 2.0
    with pytest.raises(ImportFailed, match="DTD"):
        citygml.extent(path)


def test_a_doctype_is_looked_for_in_the_prolog_only(tmp_path):
    """The refusal reads the bytes before the root element: the same text in
    the body (a CDATA section) is data, not a declaration."""
    body = (
        '<?xml version="1.0"?>\n<!-- exported by a tool -->\n'
        '<CityModel xmlns="http://www.opengis.net/citygml/2.0" '
        'xmlns:gml="http://www.opengis.net/gml"><cityObjectMember>'
        "<GenericCityObject><gml:name><![CDATA[<!DOCTYPE x>]]></gml:name></GenericCityObject>"
        "</cityObjectMember></CityModel>"
    )
    path = tmp_path / "cdata.gml"
    path.write_text(body, encoding="utf-8")
    assert citygml._prolog(path) == ("http://www.opengis.net/citygml/2.0", "CityModel")
    declared = tmp_path / "declared.gml"
    declared.write_text(body.replace("<!-- exported by a tool -->", "<!DOCTYPE CityModel>"),
                        encoding="utf-8")
    with pytest.raises(ImportFailed, match="DTD"):
        citygml._prolog(declared)


def test_external_entity_is_never_read(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-VALUE", encoding="utf-8")
    doc = (
        f'<?xml version="1.0"?>\n<!DOCTYPE CityModel [<!ENTITY xxe SYSTEM "file://{secret}">]>\n'
        '<CityModel xmlns="http://www.opengis.net/citygml/2.0" '
        'xmlns:gml="http://www.opengis.net/gml"><cityObjectMember>'
        '<GenericCityObject gml:id="g"><gml:name>&xxe;</gml:name></GenericCityObject>'
        "</cityObjectMember></CityModel>"
    )
    path = tmp_path / "xxe.gml"
    path.write_text(doc, encoding="utf-8")
    with pytest.raises(ImportFailed) as info:
        load(path)
    assert "TOP-SECRET-VALUE" not in str(info.value)
    # Even past our DTD check, the parser settings never expand entities.
    names = [
        el.text
        for _, el in etree.iterparse(str(path), events=("end",), **citygml.SAFE_PARSE)
        if el.text
    ]
    assert not any("TOP-SECRET" in n for n in names)


def test_not_citygml_and_broken_xml(tmp_path):
    (tmp_path / "a.xml").write_text("<html><body/></html>", encoding="utf-8")
    with pytest.raises(ImportFailed, match="not CityGML"):
        load(tmp_path / "a.xml")
    (tmp_path / "b.gml").write_text("<CityModel", encoding="utf-8")
    with pytest.raises(ImportFailed, match="well-formed"):
        load(tmp_path / "b.gml")


def test_truncated_file_keeps_what_was_read(tmp_path):
    path = write(tmp_path / "t.gml", building("b1") + building("b2", 20.0))
    text = path.read_text(encoding="utf-8")
    path.write_text(text[: text.rindex("<cityObjectMember>") + 60], encoding="utf-8")
    layer = load(path)
    assert list(layer.features.ids[:1]) == ["b1"]
    assert any("XML error" in w for w in layer.warnings)


# -- synthetic edge cases ----------------------------------------------------------------------
def test_synthetic_buildings_semantics_attributes_and_orientation(tmp_path):
    path = write(tmp_path / "s.gml", building("b1") + building("b2", 20.0))
    layer = load(path)
    table = layer.features
    assert list(table.ids) == ["b1", "b2"] and list(table.names) == ["b1", "b2"]
    assert table.column("owner")[1] == "city"
    assert table.column("measuredHeight").dtype == np.float64
    mesh = layer.mesh
    assert mesh.n_cells == 24
    names = layer.info["surface_types"]
    codes = np.asarray(mesh.cell_data["surface"])
    pts = np.asarray(mesh.points, dtype=np.float64)
    tri = mesh.regular_faces
    n = np.cross(pts[tri[:, 1]] - pts[tri[:, 0]], pts[tri[:, 2]] - pts[tri[:, 0]])
    assert np.all(n[codes == names.index("RoofSurface"), 2] > 0)
    assert np.all(n[codes == names.index("GroundSurface"), 2] < 0)
    assert table.bounds[1, 0] == pytest.approx(20.0) and table.bounds[1, 5] == pytest.approx(6.0)


def test_lod_choice_parts_and_hrefs(tmp_path):
    lod1 = (
        "<bldg:lod1Solid><gml:Solid><gml:exterior><gml:CompositeSurface>"
        + "".join(
            f"<gml:surfaceMember>{polygon(p)}</gml:surfaceMember>"
            for _, p in box_faces(0, 0, 10, 3)
        )
        + "</gml:CompositeSurface></gml:exterior></gml:Solid></bldg:lod1Solid>"
    )
    part = (
        '<bldg:consistsOfBuildingPart><bldg:BuildingPart gml:id="part">'
        "<bldg:lod2MultiSurface><gml:MultiSurface>"
        f"<gml:surfaceMember>{polygon(box_faces(50, 0, 5, 5)[1][1])}</gml:surfaceMember>"
        "</gml:MultiSurface></bldg:lod2MultiSurface></bldg:BuildingPart>"
        "</bldg:consistsOfBuildingPart>"
    )
    solid_refs = (
        "<bldg:lod2Solid><gml:Solid><gml:exterior><gml:CompositeSurface>"
        '<gml:surfaceMember xlink:href="#b1-p0"/><gml:surfaceMember xlink:href="#nowhere"/>'
        "</gml:CompositeSurface></gml:exterior></gml:Solid></bldg:lod2Solid>"
    )
    path = write(tmp_path / "l.gml", building("b1", extra=lod1 + part + solid_refs))
    high = load(path)
    assert list(high.features.ids) == ["b1", "part"]
    assert high.features.column("parent_id")[1] == "b1"
    assert high.features.classes[1] == "BuildingPart"
    assert high.info["lod_used"] == {"2": 2}
    per_row = np.bincount(high.cell_features, minlength=2)
    assert per_row.tolist() == [12, 2]  # the href'd polygon is not drawn twice
    assert any("nowhere" in w for w in high.warnings)
    low = load(path, lod=1)
    assert low.features.column("lod")[0] == "1"
    assert np.bincount(low.cell_features, minlength=2)[0] == 12
    assert low.features.bounds[0, 5] == pytest.approx(3.0)


def test_pos_2d_orientable_implicit_and_holes(tmp_path):
    square = [(0, 0, 0), (10, 0, 0), (10, 10, 0), (0, 10, 0)]
    hole = [(2, 2, 0), (2, 4, 0), (4, 4, 0), (4, 2, 0)]
    pos = "".join(f"<gml:pos>{x} {y} 1</gml:pos>" for x, y, _ in [*square, square[0]])
    body = (
        '<cityObjectMember><LandUse xmlns="http://www.opengis.net/citygml/landuse/2.0" '
        'gml:id="lu"><lod1MultiSurface><gml:MultiSurface><gml:surfaceMember>'
        f"{polygon(square, holes=[hole])}</gml:surfaceMember></gml:MultiSurface>"
        "</lod1MultiSurface></LandUse></cityObjectMember>"
        '<cityObjectMember><GenericCityObject xmlns="http://www.opengis.net/citygml/generics/2.0" '
        'gml:id="flat"><lod1Geometry><gml:MultiSurface><gml:surfaceMember>'
        '<gml:OrientableSurface orientation="-"><gml:baseSurface><gml:Polygon><gml:exterior>'
        f"<gml:LinearRing>{pos}</gml:LinearRing></gml:exterior></gml:Polygon></gml:baseSurface>"
        "</gml:OrientableSurface></gml:surfaceMember></gml:MultiSurface></lod1Geometry>"
        "</GenericCityObject></cityObjectMember>"
        '<cityObjectMember><CityFurniture xmlns="http://www.opengis.net/citygml/cityfurniture/2.0" '
        'gml:id="bench"><lod2ImplicitRepresentation><ImplicitGeometry xmlns="http://www.opengis.net/citygml/2.0">'
        "<transformationMatrix>2 0 0 0 0 2 0 0 0 0 2 0 0 0 0 1</transformationMatrix>"
        '<relativeGMLGeometry><gml:MultiSurface gml:id="tpl"><gml:surfaceMember>'
        f"{polygon([(0, 0, 0), (1, 0, 0), (1, 1, 0)])}</gml:surfaceMember></gml:MultiSurface>"
        "</relativeGMLGeometry><referencePoint><gml:Point><gml:pos>100 200 5</gml:pos></gml:Point>"
        "</referencePoint></ImplicitGeometry></lod2ImplicitRepresentation></CityFurniture>"
        "</cityObjectMember>"
    )
    layer = load(write(tmp_path / "e.gml", body))
    pts = np.asarray(layer.mesh.points, dtype=np.float64)
    tri = layer.mesh.regular_faces
    cross = np.cross(pts[tri[:, 1]] - pts[tri[:, 0]], pts[tri[:, 2]] - pts[tri[:, 0]])
    area = np.bincount(layer.cell_features, weights=np.linalg.norm(cross, axis=1) / 2)
    assert area[0] == pytest.approx(96.0) and area[1] == pytest.approx(100.0)
    flat = layer.cell_features == 1
    assert np.all(cross[flat, 2] < 0)  # orientation="-" reversed the ring
    bench = layer.features.bounds[2]
    assert bench[[0, 2, 4]] == pytest.approx([100, 200, 5]) and bench[1] == pytest.approx(102)


def test_no_srs_uses_scene_crs_with_warning(tmp_path):
    layer = load(write(tmp_path / "n.gml", building("b1"), srs=None))
    assert layer.crs == "EPSG:25832"
    assert any("no CRS declared" in w for w in layer.warnings)


def test_streams_many_members(tmp_path):
    body = "".join(building(f"b{i}", 20.0 * i) for i in range(1500))
    path = write(tmp_path / "big.gml", body)
    start = time.perf_counter()
    layer = load(path)
    elapsed = time.perf_counter() - start
    assert len(layer.features) == 1500 and layer.n_triangles == 1500 * 12
    assert elapsed < 20.0


def test_cli_info_json():
    result = run_cli("info", str(GML / "Berlin_Moabit_1Bldg_v2.gml"), "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    layer = summary["layers"][0]
    assert layer["info"]["format"] == "CityGML" and layer["info"]["version"] == "2.0"
    assert layer["info"]["object_counts"] == {"Building": 1}
    assert "EPSG:25833" in summary["crs"] and layer["triangles"] > 0


# -- the shared corpus -------------------------------------------------------------------------
def _direct_count(path: Path) -> int:
    """CityObjects counted straight from the XML: members' children plus nested
    elements of a known CityObject type."""
    tree = etree.parse(str(path), etree.XMLParser(**citygml.SAFE_PARSE))
    root = tree.getroot()
    tops = [
        obj
        for member in root
        if etree.QName(member).localname in ("cityObjectMember", "featureMember")
        for obj in member
        if isinstance(obj.tag, str)
    ]
    nested = sum(
        1
        for top in tops
        for el in top.iterdescendants()
        if isinstance(el.tag, str) and etree.QName(el).localname in citygml.CITYOBJECT_TYPES
    )
    return len(tops) + nested


def test_corpus_every_file_loads_with_every_object():
    root = SHARED / "citygml"
    files = sorted(root.rglob("*.gml")) if root.is_dir() else []
    if not files:
        pytest.skip(f"shared corpus not found at {root} (../shared/data absent)")
    for path in files:
        try:
            crs, _ = citygml.extent(path)
        except ImportFailed:
            crs = None
        sc = scene(crs or "EPSG:25832") if crs and crs.startswith("EPSG:") else scene()
        layer = load(path, sc)
        assert len(layer.features) == _direct_count(path), path.name
        assert layer.n_triangles > 0, path.name
        assert np.isfinite(np.asarray(layer.mesh.points)).all()
