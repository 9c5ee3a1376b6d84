"""CityJSON / CityJSONSeq importer: real files, synthetic edge cases, the corpus."""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path

import numpy as np
import pytest
from conftest import DATA, run_cli

import importers
from importers import cityjson
from importers.errors import ImportCancelled, ImportFailed
from twin.geo import transform_xy
from twin.scene import Scene

CJ = DATA / "cityjson"
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
RD = "EPSG:28992"

#: A unit cube (after the 0.001 scale) as one outward-facing shell.
CUBE = [
    [[[0, 3, 2, 1]], [[4, 5, 6, 7]], [[0, 1, 5, 4]], [[1, 2, 6, 5]], [[2, 3, 7, 6]], [[3, 0, 4, 7]]]
]
CUBE_VERTS = [[0, 0, 0], [1000, 0, 0], [1000, 1000, 0], [0, 1000, 0]]
CUBE_VERTS += [[0, 0, 1000], [1000, 0, 1000], [1000, 1000, 1000], [0, 1000, 1000]]


def write_cj(path: Path, objects: dict, vertices: list, **extra) -> Path:
    doc = {
        "type": "CityJSON",
        "version": "2.0",
        "transform": {"scale": [0.001, 0.001, 0.001], "translate": [100000.0, 400000.0, 0.0]},
        "metadata": {"referenceSystem": "https://www.opengis.net/def/crs/EPSG/0/28992"},
        "CityObjects": objects,
        "vertices": vertices,
    }
    doc.update(extra)
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def rd_scene() -> Scene:
    return Scene(crs=RD, origin=np.array([100000.0, 400000.0, 0.0]))


def load(path: Path, scene: Scene | None = None, **options):
    layers = importers.open(path, scene or rd_scene(), options, importer="cityjson")
    assert len(layers) == 1
    return layers[0]


def cube_solid(lod: str = "2", semantics: bool = False) -> dict:
    g: dict = {"type": "Solid", "lod": lod, "boundaries": CUBE}
    if semantics:
        g["semantics"] = {
            "surfaces": [
                {"type": "GroundSurface"},
                {"type": "RoofSurface"},
                {"type": "WallSurface"},
            ],
            "values": [[0, 1, 2, 2, 2, None]],
        }
    return g


# -- real files --------------------------------------------------------------------------------
def test_multi_lod_highest_by_default_with_semantic_colours():
    layer = load(CJ / "multi_lod.city.json")
    assert len(layer.features) == 10
    assert set(layer.features.classes) == {"Building"}
    assert layer.info["lod_used"] == {"2.2": 10}
    assert layer.info["version"] == "2.0"
    mesh = layer.mesh
    names = layer.info["surface_types"]
    codes = np.asarray(mesh.cell_data["surface"])
    present = {names[c] for c in np.unique(codes)}
    assert {"RoofSurface", "WallSurface", "GroundSurface"} <= present
    rgb = np.asarray(mesh.cell_data["rgb_default"])
    assert rgb.dtype == np.uint8 and rgb.shape == (mesh.n_cells, 3)
    roof = codes == names.index("RoofSurface")
    assert np.all(rgb[roof] == (196, 82, 64))
    assert layer.style.mode == "native"
    # every building has triangles, and bounds come from them
    assert np.isfinite(layer.features.bounds).all()
    assert set(np.unique(layer.cell_features)) == set(range(10))


def test_lod_option_picks_another_lod():
    low = load(CJ / "multi_lod.city.json", lod="1.2")
    assert low.info["lod_used"] == {"1.2": 10}
    assert low.n_triangles < load(CJ / "multi_lod.city.json").n_triangles
    # a major number means the highest of that family
    assert load(CJ / "multi_lod.city.json", lod=1).info["lod_used"] == {"1.3": 10}
    lowest = load(CJ / "multi_lod.city.json", lod="lowest")
    assert lowest.info["lod_used"] == {"1.2": 10}
    missing = load(CJ / "multi_lod.city.json", lod="3")
    assert missing.info["lod_used"] == {"2.2": 10}
    assert any("no LoD 3" in w for w in missing.warnings)


def test_solids_are_closed_and_outward():
    layer = load(CJ / "multi_lod.city.json")
    mesh = layer.mesh
    tri = mesh.regular_faces
    pts = np.asarray(mesh.points, dtype=np.float64)
    feat = layer.cell_features
    for row in range(3):
        t = tri[feat == row]
        a, b, c = pts[t[:, 0]], pts[t[:, 1]], pts[t[:, 2]]
        centre = pts[t.ravel()].mean(axis=0)
        volume = np.einsum("ij,ij->i", a - centre, np.cross(b - centre, c - centre)).sum() / 6
        assert volume > 10.0  # outward normals give a positive volume


def test_parent_child_links_and_tree():
    layer = load(CJ / "DenHaag_01_subset.city.json")
    table = layer.features
    assert len(table) == 12
    assert table.class_counts() == {"Building": 4, "BuildingPart": 8}
    parts = np.flatnonzero(table.classes == "BuildingPart")
    parents = table.column("parent_id")[parts]
    assert all(p in set(table.ids) for p in parents)
    assert layer.info["version"] == "1.1"
    kinds = {node.name: len(node.rows) for node in layer.tree.children}
    assert kinds == {"Building": 4, "BuildingPart": 8}
    details = layer.feature_details(int(parts[0]))
    assert details["CityJSON"]["parents"] == [parents[0]]


def test_declared_crs_is_reprojected_within_a_millimetre():
    path = CJ / "rotterdam_one.city.json"
    doc = json.loads(path.read_text())
    v = np.array(doc["vertices"][0], dtype=np.float64)
    world = v * doc["transform"]["scale"] + doc["transform"]["translate"]
    scene = Scene(crs="EPSG:32631", origin=np.array([600000.0, 5750000.0, 0.0]))
    layer = load(path, scene)
    assert layer.crs == "EPSG:28992"  # horizontal part of EPSG:7415
    ex, ey = transform_xy(np.array([world[0]]), np.array([world[1]]), RD, "EPSG:32631")
    expected = np.array([ex[0] - 600000.0, ey[0] - 5750000.0, world[2]])
    pts = np.asarray(layer.mesh.points, dtype=np.float64)
    assert np.min(np.linalg.norm(pts - expected, axis=1)) < 0.01  # float32 mesh points
    # float64 feature bounds keep millimetres
    lo = layer.features.bounds[0, [0, 2, 4]]
    assert np.all(lo <= expected + 1e-3)


def test_geometry_template_instance():
    """Two instances of a MultiPoint template: matrix x template + reference point."""
    layer = load(CJ / "corpus_geometry_instance.city.json", Scene(crs=RD))
    assert len(layer.features) == 1 and layer.n_triangles == 16
    centres = np.asarray(layer.mesh.points, dtype=np.float64).reshape(-1, 6, 3).mean(axis=1)
    # 2 * (1, 2, 3) + vertex 0 (0, 0, 0); 1 * (1, 2, 3) + vertex 1 (2, 2, 2)
    expected = np.array([[2.0, 4.0, 6.0], [3.0, 4.0, 5.0]])
    assert np.allclose(np.sort(centres, axis=0), np.sort(expected, axis=0), atol=1e-5)


def test_overflowing_material_index_is_a_warning():
    layer = load(CJ / "cjval_material2_invalid_overflow.city.json")
    assert layer.n_triangles == 12
    assert any("material index out of range" in w for w in layer.warnings)


# -- synthetic edge cases ----------------------------------------------------------------------
def test_transform_semantics_and_types(tmp_path):
    path = write_cj(
        tmp_path / "a.city.json",
        {"b1": {"type": "Building", "geometry": [cube_solid(semantics=True)],
                "attributes": {"height": 1.0, "name": "Nhà A", "roofType": "flat"}}},
        CUBE_VERTS,
    )  # fmt: skip
    layer = load(path)
    mesh = layer.mesh
    pts = np.asarray(mesh.points)
    assert np.allclose(pts.min(axis=0), [0, 0, 0]) and np.allclose(pts.max(axis=0), [1, 1, 1])
    assert mesh.n_cells == 12
    names = layer.info["surface_types"]
    codes = np.asarray(mesh.cell_data["surface"])
    counts = {names[c]: int(n) for c, n in zip(*np.unique(codes, return_counts=True), strict=True)}
    assert counts == {"": 2, "GroundSurface": 2, "RoofSurface": 2, "WallSurface": 6}
    # roof triangles face up, ground faces down
    tri = mesh.regular_faces
    n = np.cross(pts[tri[:, 1]] - pts[tri[:, 0]], pts[tri[:, 2]] - pts[tri[:, 0]])
    assert np.all(n[codes == names.index("RoofSurface"), 2] > 0)
    assert np.all(n[codes == names.index("GroundSurface"), 2] < 0)
    table = layer.features
    assert table.names[0] == "Nhà A"
    assert table.column("height").dtype == np.float64
    assert table.column("object_type")[0] == "Building"


def test_every_geometry_type(tmp_path):
    verts = CUBE_VERTS + [[v[0] + 3000, v[1], v[2]] for v in CUBE_VERTS]
    shifted = [[[[i + 8 for i in ring] for ring in s] for s in shell] for shell in CUBE]
    objects = {
        "ms": {"type": "LandUse", "geometry": [
            {"type": "MultiSurface", "lod": "1", "boundaries": [[[0, 1, 2, 3]]]}]},
        "cs": {"type": "Road", "geometry": [
            {"type": "CompositeSurface", "lod": "1", "boundaries": [[[0, 1, 5, 4]]]}]},
        "solid": {"type": "Building", "geometry": [cube_solid()]},
        "msolid": {"type": "Bridge", "geometry": [
            {"type": "MultiSolid", "lod": "1", "boundaries": [CUBE, shifted]}]},
        "csolid": {"type": "Tunnel", "geometry": [
            {"type": "CompositeSolid", "lod": "1", "boundaries": [CUBE]}]},
        "pts": {"type": "CityFurniture", "geometry": [
            {"type": "MultiPoint", "lod": "1", "boundaries": [0, 6]}]},
        "lines": {"type": "Railway", "geometry": [
            {"type": "MultiLineString", "lod": "0", "boundaries": [[0, 1, 2], [8, 9]]}]},
        "tin": {"type": "TINRelief", "geometry": [
            {"type": "CompositeSurface", "lod": "1", "boundaries": [[[0, 1, 2]], [[0, 2, 3]]]}]},
        "plant": {"type": "PlantCover", "geometry": []},
        "water": {"type": "WaterBody"},
        "furn": {"type": "GenericCityObject"},
    }  # fmt: skip
    layer = load(write_cj(tmp_path / "g.city.json", objects, verts))
    per_row = np.bincount(layer.cell_features, minlength=len(layer.features))
    got = dict(zip(layer.features.ids, per_row.tolist(), strict=True))
    assert got["ms"] == 2 and got["cs"] == 2 and got["solid"] == 12
    assert got["msolid"] == 24 and got["csolid"] == 12 and got["tin"] == 2
    assert got["pts"] == 16  # two octahedra
    assert got["lines"] == 6  # three segments, two triangles each
    assert got["plant"] == got["water"] == got["furn"] == 0
    assert layer.info["geometry_counts"]["MultiLineString"] == 1


def test_holes_and_concave_polygons_keep_their_area(tmp_path):
    ring = [
        [0, 0, 0],
        [4000, 0, 0],
        [4000, 1000, 0],
        [1000, 1000, 0],
        [1000, 4000, 0],
        [0, 4000, 0],
    ]
    hole_outer = [[10000, 0, 0], [20000, 0, 0], [20000, 10000, 0], [10000, 10000, 0]]
    hole = [[12000, 2000, 0], [12000, 4000, 0], [14000, 4000, 0], [14000, 2000, 0]]
    verts = ring + hole_outer + hole
    objects = {
        "l": {"type": "LandUse", "geometry": [
            {"type": "MultiSurface", "lod": "1", "boundaries": [[[0, 1, 2, 3, 4, 5]]]}]},
        "h": {"type": "LandUse", "geometry": [
            {"type": "MultiSurface", "lod": "1",
             "boundaries": [[[6, 7, 8, 9], [10, 11, 12, 13]]]}]},
    }  # fmt: skip
    layer = load(write_cj(tmp_path / "h.city.json", objects, verts))
    pts = np.asarray(layer.mesh.points, dtype=np.float64)
    tri = layer.mesh.regular_faces
    area = (
        np.linalg.norm(
            np.cross(pts[tri[:, 1]] - pts[tri[:, 0]], pts[tri[:, 2]] - pts[tri[:, 0]]), axis=1
        )
        / 2
    )
    by = np.bincount(layer.cell_features, weights=area)
    assert by[0] == pytest.approx(7.0) and by[1] == pytest.approx(96.0)


def test_out_of_range_vertex_skips_only_that_object(tmp_path):
    bad = {"type": "MultiSurface", "lod": "1", "boundaries": [[[0, 1, 99]]]}
    path = write_cj(
        tmp_path / "bad.city.json",
        {"ok": {"type": "Building", "geometry": [cube_solid()]},
         "broken": {"type": "Building", "geometry": [bad]},
         "junk": {"type": "Building", "geometry": [
             {"type": "MultiSurface", "lod": "1", "boundaries": [[0, 1, 2]]}]}},
        CUBE_VERTS,
    )  # fmt: skip
    layer = load(path)
    assert len(layer.features) == 3
    assert set(np.unique(layer.cell_features)) == {0}
    text = " | ".join(layer.warnings)
    assert "wrong_vertex_index" in text and "broken" in text
    assert "malformed boundaries" in text and "junk" in text


def test_missing_parent_and_unknown_type_warn(tmp_path):
    path = write_cj(
        tmp_path / "p.city.json",
        {"part": {"type": "BuildingPart", "parents": ["ghost"], "geometry": [cube_solid()]},
         "odd": {"type": "Buildin", "geometry": [cube_solid()]},
         "+x": {"type": "+Potato", "geometry": [cube_solid()]}},
        CUBE_VERTS,
    )  # fmt: skip
    layer = load(path)
    text = " | ".join(layer.warnings)
    assert "parents/children that do not exist" in text
    assert "Buildin" in text
    row = layer.features.find("+x")
    assert layer.features.classes[row] == "GenericCityObject"
    assert layer.features.column("object_type")[row] == "+Potato"
    assert layer.info["object_counts"]["+Potato"] == 1


@pytest.mark.parametrize("version", ["0.9", "0.6", "http://www.cityjson.org/version/0.1"])
def test_old_versions_are_refused_by_name(tmp_path, version):
    path = write_cj(tmp_path / "old.city.json", {}, [], version=version)
    with pytest.raises(ImportFailed, match=re.escape(version)):
        load(path)


def test_not_cityjson(tmp_path):
    (tmp_path / "x.city.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ImportFailed, match="not valid JSON"):
        load(tmp_path / "x.city.json")
    (tmp_path / "y.city.json").write_text('{"type": "FeatureCollection"}', encoding="utf-8")
    with pytest.raises(ImportFailed, match="FeatureCollection"):
        load(tmp_path / "y.city.json")


def test_no_crs_uses_scene_crs_with_warning(tmp_path):
    path = write_cj(
        tmp_path / "n.city.json", {"a": {"type": "Building", "geometry": [cube_solid()]}},
        CUBE_VERTS, metadata={},
    )  # fmt: skip
    layer = load(path)
    assert layer.crs == RD
    assert any("no CRS declared" in w for w in layer.warnings)


def test_vn2000_crs_is_honoured(tmp_path):
    # A building declared in VN-2000 / UTM 48N lands in a VN-2000 / TM-3 104-45 scene.
    path = write_cj(
        tmp_path / "vn.city.json", {"a": {"type": "Building", "geometry": [cube_solid()]}},
        CUBE_VERTS, metadata={"referenceSystem": "https://www.opengis.net/def/crs/EPSG/0/3405"},
        transform={"scale": [0.001, 0.001, 0.001], "translate": [575000.0, 2360000.0, 20.0]},
    )  # fmt: skip
    scene = Scene(crs="EPSG:9208", origin=np.array([550000.0, 2360000.0, 0.0]))
    layer = load(path, scene)
    ex, ey = transform_xy(np.array([575000.0]), np.array([2360000.0]), "EPSG:3405", "EPSG:9208")
    lo = layer.features.bounds[0]
    assert abs(lo[0] - (ex[0] - 550000.0)) < 0.01 and abs(lo[2] - (ey[0] - 2360000.0)) < 0.01
    assert lo[4] == pytest.approx(20.0)
    assert layer.crs == "EPSG:3405"


def test_textures_off_by_default_and_paths_cannot_escape(tmp_path):
    from PIL import Image

    folder = tmp_path / "model"
    (folder / "tex").mkdir(parents=True)
    Image.new("RGB", (8, 8), (250, 10, 10)).save(folder / "tex" / "red.png")
    (tmp_path / "secret.png").write_bytes((folder / "tex" / "red.png").read_bytes())
    tex_values = [[[[0, 0, 1, 2, 3]], [[1, 0, 1, 2, 3]]] + [[[None]]] * 4]
    geom = cube_solid()
    geom["texture"] = {"rgb": {"values": tex_values}}
    path = write_cj(
        folder / "t.city.json", {"a": {"type": "Building", "geometry": [geom]}}, CUBE_VERTS,
        appearance={
            "textures": [{"type": "PNG", "image": "tex/red.png"},
                         {"type": "PNG", "image": "../secret.png"}],
            "vertices-texture": [[0, 0], [1, 0], [1, 1], [0, 1]],
        },
    )  # fmt: skip
    plain = load(path)
    assert not np.any(np.all(np.asarray(plain.mesh.cell_data["rgb_default"]) == (250, 10, 10), 1))
    textured = load(path, textures=True)
    rgb = np.asarray(textured.mesh.cell_data["rgb_default"])
    red = np.all(rgb == (250, 10, 10), axis=1)
    assert red.sum() == 2  # the first face only: the second one's image escapes
    assert any("../secret.png" in w for w in textured.warnings)


def test_cityjsonseq_streams_in_batches(tmp_path, monkeypatch):
    monkeypatch.setattr(cityjson, "FLUSH_OBJECTS", 1)
    header = {
        "type": "CityJSON", "version": "2.0", "CityObjects": {}, "vertices": [],
        "transform": {"scale": [0.001, 0.001, 0.001], "translate": [100000.0, 400000.0, 0.0]},
        "metadata": {"referenceSystem": "https://www.opengis.net/def/crs/EPSG/0/28992"},
    }  # fmt: skip
    lines = [json.dumps(header)]
    for i in range(5):
        verts = [[x + i * 2000, y, z] for x, y, z in CUBE_VERTS]
        feat = {
            "type": "CityJSONFeature", "id": f"b{i}", "vertices": verts,
            "CityObjects": {f"b{i}": {"type": "Building", "children": [f"b{i}-p"]},
                            f"b{i}-p": {"type": "BuildingPart", "parents": [f"b{i}"],
                                        "geometry": [cube_solid(semantics=True)]}},
        }  # fmt: skip
        lines.append(json.dumps(feat))
    lines.insert(3, "{broken")
    path = tmp_path / "s.city.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    layer = load(path)
    assert len(layer.features) == 10
    assert layer.n_triangles == 60
    assert layer.info["format"] == "CityJSONSeq"
    b = layer.features.bounds
    parts = layer.features.classes == "BuildingPart"
    assert np.allclose(np.sort(b[parts, 0]), [0, 2, 4, 6, 8])
    assert any("1 lines skipped" in w for w in layer.warnings)


def test_cancel(tmp_path):
    path = write_cj(tmp_path / "c.city.json", {"a": {"type": "Building"}}, [])
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(ImportCancelled):
        importers.open(path, rd_scene(), {}, None, cancel, importer="cityjson")


def test_registry_and_extent():
    assert importers.importer_for(Path("a.city.json")) == "cityjson"
    assert importers.importer_for(Path("a.city.jsonl")) == "cityjson"
    assert importers.importer_for(Path("a.json")) == "vector"
    crs, box = cityjson.extent(CJ / "rotterdam_one.city.json")
    assert crs == "EPSG:28992" and box[0] == pytest.approx(90932.977, abs=1e-3)


def test_cli_info_json():
    result = run_cli("info", str(CJ / "rotterdam_one.city.json"), "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    layer = summary["layers"][0]
    assert layer["info"]["object_counts"] == {"Building": 1}
    assert layer["info"]["lod_used"] == {"2": 1}
    assert layer["triangles"] > 0 and layer["source_crs"] == "EPSG:28992"
    assert "EPSG:28992" in summary["crs"]
    assert layer["bounds_world"][0] == pytest.approx(90932.98, abs=0.05)


# -- the shared corpus -------------------------------------------------------------------------
def _corpus(sub: str) -> list[Path]:
    root = SHARED / "cityjson" / sub
    if not root.is_dir():
        return []
    return sorted(p for p in root.rglob("*") if p.suffix in (".json", ".jsonl"))


def _direct_count(path: Path) -> tuple[str | None, int]:
    """Version and CityObject count straight from the JSON, for comparison."""
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".jsonl":
        docs = []
        for line in text.splitlines():
            try:
                docs.append(json.loads(line))
            except ValueError:
                continue
        if not docs:
            docs = [json.loads(text)]
        n = sum(len(d.get("CityObjects", {})) for d in docs
                if d.get("type") in ("CityJSONFeature", "CityJSON"))  # fmt: skip
        return str(docs[0].get("version", "2.0")), n
    doc = json.loads(text)
    return str(doc.get("version")), len(doc.get("CityObjects", {}))


def _skip_if_no_corpus(files: list[Path]) -> None:
    if not files:
        pytest.skip(f"shared corpus not found at {SHARED / 'cityjson'} (../shared/data absent)")


@pytest.mark.parametrize("sub", ["real", "valid_small", "legacy"])
def test_corpus_valid_files_load_with_every_object(sub):
    files = _corpus(sub)
    _skip_if_no_corpus(files)
    for path in files:
        version, expected = _direct_count(path)
        m = re.search(r"(\d+)\.(\d+)", version or "")
        if m and (int(m.group(1)), int(m.group(2))) < (1, 0):
            with pytest.raises(ImportFailed, match=re.escape(version)):
                load(path)
            continue
        layer = load(path)
        assert len(layer.features) == expected, path.name
        if layer.n_triangles:
            assert np.isfinite(np.asarray(layer.mesh.points)).all(), path.name


def test_corpus_invalid_files_fail_cleanly_or_warn():
    files = _corpus("invalid")
    _skip_if_no_corpus(files)
    for path in files:
        try:
            layer = load(path)
        except ImportFailed as exc:
            assert str(path) in str(exc) and "\n" not in str(exc)
            continue
        assert layer.warnings, f"{path.name} imported without a warning"


def test_batched_triangulation_matches_one_pass():
    from importers import surfaces as sf

    rng = np.random.default_rng(0)
    xyz = rng.random((500, 3)) * 100
    lens = rng.integers(3, 7, 400)
    pv = np.concatenate([rng.choice(500, n, replace=False) for n in lens])
    one = sf.triangulate_rings(xyz, pv, lens, np.ones(400, np.int64))
    many = sf.triangulate_batches(xyz, pv, lens, np.ones(400, np.int64), batch=37)
    assert np.array_equal(np.sort(pv[one.tris], axis=None), np.sort(pv[many.tris], axis=None))
    assert np.array_equal(one.dropped, many.dropped)
