"""glTF/GLB/OBJ/PLY/STL importer (importers/mesh/): real files, written by hand or
by trimesh's exporters, read back through the public ``importers.open``."""

from __future__ import annotations

import base64
import importlib.util
import json
import struct
import threading
from pathlib import Path

import numpy as np
import pytest
import trimesh
from conftest import DATA

import importers
from importers import ImportCancelled, ImportFailed
from twin.scene import Scene

ORIGIN = np.array([560_000.0, 2_360_000.0, 15.0])


@pytest.fixture
def scene() -> Scene:
    return Scene(crs="EPSG:9208", origin=ORIGIN.copy())


# -- writing glTF by hand --------------------------------------------------------------------------
def gltf_doc(meshes, nodes, scene_nodes=None, materials=None, uri=None):
    """A glTF 2.0 document and its binary buffer.

    meshes : list of meshes, each a list of primitives ``{"positions": (n, 3),
        "indices": (m, 3), "material": int | None, "colors": (n, 4) | None}``.
    uri : buffer uri (default: embedded as a base64 data URI).
    """
    blob = bytearray()
    views, accessors = [], []

    def add(arr, target, comp, typ):
        arr = np.ascontiguousarray(arr)
        while len(blob) % 4:
            blob.append(0)
        views.append(
            {"buffer": 0, "byteOffset": len(blob), "byteLength": arr.nbytes, "target": target}
        )
        blob.extend(arr.tobytes())
        acc = {"bufferView": len(views) - 1, "componentType": comp, "count": len(arr)}
        acc["type"] = typ
        if typ == "VEC3":
            acc["min"], acc["max"] = arr.min(axis=0).tolist(), arr.max(axis=0).tolist()
        accessors.append(acc)
        return len(accessors) - 1

    out_meshes = []
    for prims in meshes:
        out = []
        for p in prims:
            attrs = {"POSITION": add(np.asarray(p["positions"], np.float32), 34962, 5126, "VEC3")}
            if p.get("colors") is not None:
                attrs["COLOR_0"] = add(np.asarray(p["colors"], np.float32), 34962, 5126, "VEC4")
            idx = add(np.asarray(p["indices"], np.uint32).ravel(), 34963, 5125, "SCALAR")
            prim = {"attributes": attrs, "indices": idx}
            if p.get("material") is not None:
                prim["material"] = p["material"]
            out.append(prim)
        out_meshes.append({"name": f"mesh{len(out_meshes)}", "primitives": out})
    doc = {
        "asset": {"version": "2.0", "generator": "citytwin tests"},
        "scene": 0,
        "scenes": [{"nodes": scene_nodes if scene_nodes is not None else list(range(len(nodes)))}],
        "nodes": nodes,
        "meshes": out_meshes,
        "accessors": accessors,
        "bufferViews": views,
        "buffers": [{"byteLength": len(blob)}],
    }
    if materials:
        doc["materials"] = materials
    if uri is None:
        uri = "data:application/octet-stream;base64," + base64.b64encode(bytes(blob)).decode()
    doc["buffers"][0]["uri"] = uri
    return doc, bytes(blob)


def write_glb(path: Path, doc: dict, blob: bytes) -> Path:
    doc = json.loads(json.dumps(doc))
    doc["buffers"][0].pop("uri", None)
    js = json.dumps(doc).encode()
    js += b" " * (-len(js) % 4)
    blob += b"\0" * (-len(blob) % 4)
    body = struct.pack("<II", len(js), 0x4E4F534A) + js
    body += struct.pack("<II", len(blob), 0x004E4942) + blob
    path.write_bytes(struct.pack("<4sII", b"glTF", 2, 12 + len(body)) + body)
    return path


TRI = {"positions": [[0, 0, 0], [1, 0, 0], [0, 1, 0]], "indices": [[0, 1, 2]]}
RED = {"pbrMetallicRoughness": {"baseColorFactor": [1.0, 0.0, 0.0, 1.0]}}
GREEN = {"pbrMetallicRoughness": {"baseColorFactor": [0.0, 1.0, 0.0, 1.0]}}


def y_up_to_z_up(p):
    """The conversion the importer promises: (x, y, z) -> (x, -z, y)."""
    p = np.asarray(p, dtype=np.float64)
    return np.column_stack([p[:, 0], -p[:, 2], p[:, 1]])


def feature_points(layer, name: str) -> np.ndarray:
    """Scene-local corner points of one feature's triangles, (k, 3, 3)."""
    row = int(np.flatnonzero(layer.features.names == name)[0])
    cells = np.flatnonzero(layer.cell_features == row)
    faces = layer.mesh.regular_faces[cells]
    return np.asarray(layer.mesh.points, dtype=np.float64)[faces]


def assert_one_line(exc: ImportFailed, path: Path, *words: str) -> None:
    text = str(exc)
    assert "\n" not in text, text
    assert "Traceback" not in text
    assert text.startswith(str(path)), text
    for word in words:
        assert word in text, text


# -- OBJ -------------------------------------------------------------------------------------------
OBJ_TWO = """\
# two named objects, Y-up, with a material library
mtllib two.mtl
o Tower
v 0 0 0
v 4 0 0
v 4 20 0
v 0 20 0
usemtl brick
f 1 2 3 4
o Annex
v 10 0 0
v 12 0 0
v 12 3 -5
usemtl glass
f -3 -2 -1
"""
MTL_TWO = """\
newmtl brick
Kd 0.8 0.2 0.1
newmtl glass
Kd 0.2 0.4 1.0
"""


def write_two_objects(folder: Path) -> Path:
    (folder / "two.mtl").write_text(MTL_TWO)
    path = folder / "two.obj"
    path.write_text(OBJ_TWO)
    return path


def test_obj_objects_become_named_features_with_mtl_colours(tmp_path, scene):
    path = write_two_objects(tmp_path)
    [layer] = importers.open(path, scene)
    assert list(layer.features.names) == ["Tower", "Annex"]
    assert layer.n_triangles == 3  # the quad is fanned into two triangles
    rgb = layer.mesh.cell_data["rgb_default"]
    tower = layer.cell_features == 0
    assert (rgb[tower] == [204, 51, 26]).all()
    assert (rgb[~tower] == [51, 102, 255]).all()
    # Y-up: the tower's 20 m along file +Y stands up along scene +Z.
    pts = feature_points(layer, "Tower").reshape(-1, 3)
    assert np.ptp(pts[:, 2]) == pytest.approx(20.0)
    annex = feature_points(layer, "Annex")[0]
    np.testing.assert_allclose(annex, y_up_to_z_up([[10, 0, 0], [12, 0, 0], [12, 3, -5]]))
    assert any("no georeferencing" in w for w in layer.warnings)
    assert layer.style.mode == "native"


def test_obj_at_places_rotates_and_scales(tmp_path, scene):
    path = write_two_objects(tmp_path)
    e, n, h = ORIGIN[0] + 100.0, ORIGIN[1] - 50.0, 20.0
    opts = {"at": [e, n, h, 90.0], "unit": 0.001, "up": "z"}
    [layer] = importers.open(path, scene, opts)
    annex = feature_points(layer, "Annex")[0]
    model = np.array([[10, 0, 0], [12, 0, 0], [12, 3, -5]]) * 0.001  # Z-up, millimetres
    turned = np.column_stack([-model[:, 1], model[:, 0], model[:, 2]])  # 90 deg anticlockwise
    world = turned + np.array([e, n, h])
    np.testing.assert_allclose(annex, world - ORIGIN, atol=1e-6)
    np.testing.assert_allclose(scene.to_world(annex), world, atol=1e-6)
    assert layer.info["placement"]["method"] == "user placement (at)"
    assert not any("no georeferencing" in w for w in layer.warnings)


def test_obj_missing_mtl_and_bad_faces_load_the_rest_with_warnings(tmp_path, scene):
    path = tmp_path / "broken.obj"
    path.write_text(
        "mtllib nowhere.mtl\no A\nv 0 0 0\nv 1 0 0\nv 0 1 0\nv nan 0 0\n"
        "usemtl x\nf 1 2 3\nf 1 2 4\nf 1 2 99\nf 1 2\nf a b c\n"
    )
    [layer] = importers.open(path, scene)
    assert layer.n_triangles == 1
    assert (layer.mesh.cell_data["rgb_default"] == [200, 200, 200]).all()
    text = " | ".join(layer.warnings)
    assert "nowhere.mtl" in text
    assert "NaN or infinite" in text
    assert "do not exist" in text
    assert "face lines unreadable" in text


def test_obj_mtllib_outside_the_folder_is_not_read(tmp_path, scene):
    secret = tmp_path / "secret.mtl"
    secret.write_text("newmtl x\nKd 0 1 0\n")
    folder = tmp_path / "model"
    folder.mkdir()
    path = folder / "m.obj"
    path.write_text(
        f"mtllib ../secret.mtl\nmtllib {secret}\nmtllib http://example.com/a.mtl\n"
        "v 0 0 0\nv 1 0 0\nv 0 1 0\nusemtl x\nf 1 2 3\n"
    )
    [layer] = importers.open(path, scene)
    assert (layer.mesh.cell_data["rgb_default"] == [200, 200, 200]).all()  # never green
    assert any("3 side files refused" in w for w in layer.warnings)


def test_obj_groups_and_vertex_colours(tmp_path, scene):
    path = tmp_path / "g.obj"
    path.write_text(
        "o House\ng roof\nv 0 0 0 1 0 0\nv 1 0 0 1 0 0\nv 0 1 0 1 0 0\nf 1 2 3\n"
        "g walls\nv 0 0 1 0 0 1\nv 1 0 1 0 0 1\nv 0 1 1 0 0 1\nf 4 5 6\n"
    )
    [layer] = importers.open(path, scene, {"up": "z"})
    assert list(layer.features.names) == ["House/roof", "House/walls"]
    assert layer.mesh.cell_data["rgb_default"].tolist() == [[255, 0, 0], [0, 0, 255]]


# -- glTF ------------------------------------------------------------------------------------------
def test_gltf_instanced_mesh_is_placed_by_each_node(tmp_path, scene):
    """One mesh, two nodes: a translated copy and a copy turned 90 deg about glTF +Y."""
    doc, _ = gltf_doc(
        [[{**TRI, "material": 0}]],
        [
            {"name": "left", "mesh": 0, "translation": [10.0, 2.0, 0.0]},
            {"name": "right", "mesh": 0, "rotation": [0.0, 0.7071068, 0.0, 0.7071068]},
        ],
        materials=[RED],
    )
    path = tmp_path / "inst.gltf"
    path.write_text(json.dumps(doc))
    [layer] = importers.open(path, scene)
    assert list(layer.features.names) == ["left", "right"]
    assert layer.info["meshes"] == 1 and layer.info["instanced_meshes"] == 1
    assert layer.n_triangles == 2
    tri = np.array(TRI["positions"], dtype=np.float64)
    np.testing.assert_allclose(
        feature_points(layer, "left")[0], y_up_to_z_up(tri + np.array([10, 2, 0])), atol=1e-6
    )
    # +90 deg about +Y: (x, y, z) -> (z, y, -x)
    turned = np.column_stack([tri[:, 2], tri[:, 1], -tri[:, 0]])
    np.testing.assert_allclose(feature_points(layer, "right")[0], y_up_to_z_up(turned), atol=1e-6)
    assert (layer.mesh.cell_data["rgb_default"] == [255, 0, 0]).all()
    assert list(layer.features.attributes["mesh"]) == ["mesh0", "mesh0"]
    [mesh_node] = layer.tree.children
    assert mesh_node.name == "mesh0" and mesh_node.all_rows() == [0, 1]


def test_glb_node_hierarchy_and_two_materials(tmp_path, scene):
    """A parent's transform reaches its child; a two-primitive mesh stays one feature."""
    prim2 = {"positions": [[0, 0, 0], [0, 0, 1], [0, 1, 0]], "indices": [[0, 1, 2]], "material": 1}
    doc, blob = gltf_doc(
        [[{**TRI, "material": 0}, prim2]],
        [
            {"name": "site", "children": [1], "translation": [0, 0, -100]},
            {"name": "hall", "mesh": 0},
        ],
        scene_nodes=[0],
        materials=[RED, GREEN],
    )
    path = write_glb(tmp_path / "h.glb", doc, blob)
    [layer] = importers.open(path, scene)
    assert list(layer.features.names) == ["hall"]
    assert sorted(layer.mesh.cell_data["rgb_default"].tolist()) == [[0, 255, 0], [255, 0, 0]]
    # glTF -100 along Z (towards the viewer) is +100 north in the scene.
    assert layer.mesh.bounds[2] == pytest.approx(99.0) and layer.mesh.bounds[3] == pytest.approx(
        100.0
    )


def test_gltf_vertex_colours(tmp_path, scene):
    colors = [[0, 0, 1, 1], [0, 0, 1, 1], [0, 0, 1, 1]]
    doc, _ = gltf_doc([[{**TRI, "colors": colors}]], [{"name": "n", "mesh": 0}])
    path = tmp_path / "vc.gltf"
    path.write_text(json.dumps(doc))
    [layer] = importers.open(path, scene)
    assert layer.mesh.cell_data["rgb_default"].tolist() == [[0, 0, 255]]


def test_y_up_glb_from_trimesh_stands_up(tmp_path, scene):
    """trimesh's own GLB exporter; a box 10 m tall along glTF's +Y ends 10 m tall in Z."""
    box = trimesh.creation.box(extents=[2.0, 10.0, 3.0])
    box.apply_translation([0, 5.0, 0])
    box.visual.vertex_colors = [10, 120, 30, 255]
    path = tmp_path / "tall.glb"
    trimesh.Scene({"tower": box}).export(path)
    [layer] = importers.open(path, scene)
    b = layer.mesh.bounds
    np.testing.assert_allclose([b[1] - b[0], b[3] - b[2], b[5] - b[4]], [2.0, 3.0, 10.0], atol=1e-5)
    assert b[4] == pytest.approx(0.0, abs=1e-5)
    assert layer.n_triangles == 12
    assert (layer.mesh.cell_data["rgb_default"] == [10, 120, 30]).all()


def test_khronos_box_sample(scene):
    """Khronos glTF-Sample-Models 'Box': a Z-up cube turned Y-up by its root node matrix."""
    [layer] = importers.open(DATA / "mesh" / "Box.gltf", scene)
    assert layer.n_triangles == 12
    np.testing.assert_allclose(layer.mesh.bounds, [-0.5, 0.5, -0.5, 0.5, -0.5, 0.5], atol=1e-6)
    assert (layer.mesh.cell_data["rgb_default"] == [204, 0, 0]).all()
    assert layer.info["generator"] == "COLLADA2GLTF"


def test_gltf_external_bin_and_missing_bin(tmp_path, scene):
    doc, blob = gltf_doc([[TRI]], [{"name": "n", "mesh": 0}], uri="data.bin")
    path = tmp_path / "ext.gltf"
    path.write_text(json.dumps(doc))
    (tmp_path / "data.bin").write_bytes(blob)
    [layer] = importers.open(path, scene)
    assert layer.n_triangles == 1
    (tmp_path / "data.bin").unlink()
    with pytest.raises(ImportFailed) as err:
        importers.open(path, scene)
    assert_one_line(err.value, path, "data.bin", "missing")


@pytest.mark.parametrize("uri", ["../outside.bin", "/etc/hostname", "http://example.com/x.bin"])
def test_gltf_uri_outside_the_folder_is_refused(tmp_path, scene, uri):
    doc, blob = gltf_doc([[TRI]], [{"name": "n", "mesh": 0}], uri=uri)
    (tmp_path / "outside.bin").write_bytes(blob)
    folder = tmp_path / "model"
    folder.mkdir()
    path = folder / "esc.gltf"
    path.write_text(json.dumps(doc))
    with pytest.raises(ImportFailed) as err:
        importers.open(path, scene)
    assert_one_line(err.value, path, "outside its folder or a URL")


def test_gltf_nan_and_out_of_range_indices_load_the_rest(tmp_path, scene):
    good = {**TRI}
    nan = {"positions": [[0, 0, 0], [np.nan, 0, 0], [0, 1, 0]], "indices": [[0, 1, 2]]}
    doc, _ = gltf_doc([[good], [nan]], [{"name": "ok", "mesh": 0}, {"name": "bad", "mesh": 1}])
    path = tmp_path / "nan.gltf"
    path.write_text(json.dumps(doc))
    [layer] = importers.open(path, scene)
    assert layer.n_triangles == 1
    assert list(layer.features.names) == ["ok", "bad"]
    assert layer.features.attributes["triangles"].tolist() == [1.0, 0.0]
    assert any("NaN or infinite" in w for w in layer.warnings)


def test_triangle_budget(tmp_path, scene):
    doc, _ = gltf_doc([[TRI]], [{"name": f"n{i}", "mesh": 0} for i in range(5)])
    path = tmp_path / "many.gltf"
    path.write_text(json.dumps(doc))
    with pytest.raises(ImportFailed) as err:
        importers.open(path, scene, {"max_triangles": 4})
    assert_one_line(err.value, path, "5 triangles", "max_triangles")
    obj = write_two_objects(tmp_path)
    with pytest.raises(ImportFailed) as err:
        importers.open(obj, scene, {"max_triangles": 2})
    assert_one_line(err.value, obj, "3 triangles", "max_triangles")


@pytest.mark.parametrize("name", ["huge.obj", "huge.stl"])
def test_file_far_over_the_budget_is_refused_before_reading(tmp_path, scene, name):
    path = tmp_path / name
    with path.open("wb") as f:  # sparse: 200 MB of size, no disk used
        f.truncate(200 * 2**20)
    with pytest.raises(ImportFailed) as err:
        importers.open(path, scene, {"max_triangles": 1000})
    assert_one_line(err.value, path, "200 MB", "max_triangles")


# -- PLY / STL -------------------------------------------------------------------------------------
def test_ply_face_colours_and_stl_are_z_up(tmp_path, scene):
    box = trimesh.creation.box(extents=[1.0, 2.0, 3.0])
    box.visual.face_colors = [250, 100, 0, 255]
    ply = tmp_path / "scan.ply"
    ply.write_bytes(box.export(file_type="ply"))
    [layer] = importers.open(ply, scene)
    b = layer.mesh.bounds
    np.testing.assert_allclose([b[1] - b[0], b[3] - b[2], b[5] - b[4]], [1, 2, 3], atol=1e-6)
    assert (layer.mesh.cell_data["rgb_default"] == [250, 100, 0]).all()
    stl = tmp_path / "part.stl"
    stl.write_bytes(box.export(file_type="stl"))
    [layer] = importers.open(stl, scene, {"unit": 0.001})
    b = layer.mesh.bounds
    np.testing.assert_allclose(b[5] - b[4], 0.003, atol=1e-9)
    assert (layer.mesh.cell_data["rgb_default"] == [200, 200, 200]).all()


# -- bad files and options -------------------------------------------------------------------------
def truncated_glb(tmp_path: Path) -> Path:
    doc, blob = gltf_doc([[TRI]], [{"name": "n", "mesh": 0}])
    full = write_glb(tmp_path / "full.glb", doc, blob).read_bytes()
    path = tmp_path / "cut.glb"
    path.write_bytes(full[: len(full) - 30])
    return path


BROKEN = {
    "empty.glb": lambda p: p.write_bytes(b""),
    "garbage.glb": lambda p: p.write_bytes(b"\x89PNG not a model" * 40),
    "garbage.gltf": lambda p: p.write_text("{not json"),
    "nomeshes.gltf": lambda p: p.write_text('{"asset": {"version": "2.0"}}'),
    "garbage.obj": lambda p: p.write_bytes(bytes(range(256)) * 8),
    "text.obj": lambda p: p.write_text("hello\nworld\n"),
    "points.obj": lambda p: p.write_text("v 0 0 0\nv 1 1 1\n"),
    "garbage.stl": lambda p: p.write_bytes(b"solid x\nfacet nonsense\n"),
    "garbage.ply": lambda p: p.write_bytes(
        b"ply\nformat ascii 1.0\nelement vertex 3\nend_header\n1 2"
    ),
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_broken_files_fail_with_one_line(tmp_path, scene, name):
    path = tmp_path / name
    BROKEN[name](path)
    with pytest.raises(ImportFailed) as err:
        importers.open(path, scene)
    assert_one_line(err.value, path)


def test_truncated_glb_fails_with_one_line(tmp_path, scene):
    path = truncated_glb(tmp_path)
    with pytest.raises(ImportFailed) as err:
        importers.open(path, scene)
    assert_one_line(err.value, path, "GLB")


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"colour": "red"}, ["unknown mesh option", "colour"]),
        ({"up": "x"}, ["'up'"]),
        ({"unit": -1}, ["'unit'"]),
        ({"unit": "mm"}, ["'unit'"]),
        ({"at": [1.0]}, ["'at'"]),
        ({"at": [1.0, float("nan")]}, ["'at'"]),
        ({"max_triangles": 0}, ["max_triangles"]),
    ],
)
def test_bad_options_fail_with_one_line(tmp_path, scene, options, words):
    path = write_two_objects(tmp_path)
    with pytest.raises(ImportFailed) as err:
        importers.open(path, scene, options)
    assert_one_line(err.value, path, *words)


def test_cancel(tmp_path, scene):
    path = write_two_objects(tmp_path)
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(ImportCancelled):
        importers.open(path, scene, cancel=cancel)


def test_progress_is_reported(tmp_path, scene):
    seen = []
    importers.open(write_two_objects(tmp_path), scene, progress=lambda a, b: seen.append((a, b)))
    assert seen[0] == (0, 100) and seen[-1] == (100, 100)


# -- the registry and lone files -------------------------------------------------------------------
def test_open_dispatches_mesh_files_to_this_importer(tmp_path, scene):
    for suffix in (".glb", ".gltf", ".obj", ".ply", ".stl", ".GLB"):
        assert importers.importer_for(Path("model" + suffix)) == "mesh"
    glb = tmp_path / "a.glb"
    trimesh.Scene({"b": trimesh.creation.box()}).export(glb)
    for path in (glb, write_two_objects(tmp_path)):
        [layer] = importers.open(path, scene)
        assert layer.kind == "mesh" and layer.source == path


def test_far_model_is_centred_and_scene_for_fits_a_lone_file(tmp_path):
    path = tmp_path / "utm.obj"
    path.write_text("v 600000 0 -2300000\nv 600010 0 -2300000\nv 600000 5 -2300000\nf 1 2 3\n")
    crs, bounds = importers.REGISTRY["mesh"].load().extent(path)
    assert crs is None
    np.testing.assert_allclose(bounds, [600000, 2300000, 600010, 2300000])
    scene = importers.scene_for(path)
    [layer] = importers.open(path, scene)
    b = layer.mesh.bounds
    assert abs(b[0]) < 10 and abs(b[2]) < 10  # centred, not 2,300 km out
    assert any("centre" in w for w in layer.warnings)


def textured_quad_files() -> dict[str, bytes]:
    """A quad textured half red (u < 0.5), half blue, exported by trimesh as .gltf files."""
    from PIL import Image

    img = np.zeros((64, 64, 3), np.uint8)
    img[:, :32] = [255, 0, 0]
    img[:, 32:] = [0, 0, 255]
    v = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 0]], dtype=np.float64)
    faces = np.array([[0, 1, 2], [1, 3, 2]])
    uv = np.array([[0.05, 0.5], [0.9, 0.5], [0.05, 0.6], [0.95, 0.5]])  # centroids u 0.33, 0.63
    material = trimesh.visual.material.PBRMaterial(baseColorTexture=Image.fromarray(img))
    visual = trimesh.visual.TextureVisuals(uv=uv, material=material)
    quad = trimesh.Trimesh(v, faces, process=False, visual=visual)
    return trimesh.Scene({"quad": quad}).export(file_type="gltf")


def test_gltf_texture_is_sampled_per_triangle(tmp_path, scene):
    for name, data in textured_quad_files().items():
        (tmp_path / name).write_bytes(data)
    [layer] = importers.open(tmp_path / "model.gltf", scene)
    assert layer.mesh.cell_data["rgb_default"].tolist() == [[255, 0, 0], [0, 0, 255]]


@pytest.mark.parametrize("uri", ["missing.png", "../tex.png"])
def test_gltf_missing_or_escaping_texture_loads_grey_with_warning(tmp_path, scene, uri):
    from PIL import Image

    Image.new("RGB", (4, 4), (0, 255, 0)).save(tmp_path / "tex.png")
    folder = tmp_path / "model"
    folder.mkdir()
    files = textured_quad_files()
    doc = json.loads(files.pop("model.gltf"))
    doc["images"] = [{"uri": uri}]
    for name, data in files.items():
        (folder / name).write_bytes(data)
    path = folder / "model.gltf"
    path.write_text(json.dumps(doc))
    [layer] = importers.open(path, scene)
    assert layer.n_triangles == 2
    rgb = layer.mesh.cell_data["rgb_default"]
    assert not (rgb == [0, 255, 0]).all(axis=1).any()  # the green file outside is never read
    assert any(uri in w for w in layer.warnings)


@pytest.mark.render
def test_placed_gltf_renders_in_its_own_colour(scene):
    """Geometry first (bounds at the ``at`` point), then one pixel: the box is red."""
    from twin.render import render_image
    from twin.scene import Bookmark

    e, n = ORIGIN[0] + 50.0, ORIGIN[1] + 20.0
    [layer] = importers.open(DATA / "mesh" / "Box.gltf", scene, {"at": [e, n, 0.5, 0], "unit": 10})
    scene.add_layer(layer)
    np.testing.assert_allclose(
        scene.to_world(np.array(layer.mesh.bounds).reshape(3, 2).T),
        [[e - 5, n - 5, -4.5], [e + 5, n + 5, 5.5]],
        atol=1e-4,
    )
    view = Bookmark("box", position=(e - 30, n - 40, 30), focal_point=(e, n, 0.5))
    img = render_image(scene, size=(320, 200), bookmark=view)
    r, g, b = img[100, 160].astype(int)
    assert r > 2 * g and r > 2 * b, (r, g, b)


@pytest.mark.parametrize("ext", ["KHR_draco_mesh_compression", "EXT_meshopt_compression"])
def test_compressed_gltf_without_a_decoder_fails_clearly(tmp_path, scene, ext):
    if ext == "KHR_draco_mesh_compression" and importlib.util.find_spec("DracoPy"):
        pytest.skip("DracoPy is installed, so Draco files are decoded")
    doc, _ = gltf_doc([[TRI]], [{"name": "n", "mesh": 0}])
    doc["extensionsUsed"] = doc["extensionsRequired"] = [ext]
    path = tmp_path / "c.gltf"
    path.write_text(json.dumps(doc))
    with pytest.raises(ImportFailed) as err:
        importers.open(path, scene)
    assert_one_line(err.value, path, ext)


def test_scene_file_places_a_mesh_layer_with_options(tmp_path):
    write_two_objects(tmp_path)
    (tmp_path / "s.toml").write_text(
        '[scene]\nname = "t"\ncrs = "EPSG:9208"\norigin = [560000.0, 2360000.0, 0.0]\n\n'
        '[[layers]]\nname = "Kiosk"\npath = "two.obj"\n'
        "options = { at = [560010.0, 2360020.0, 3.0, 0.0], unit = 0.5 }\n"
    )
    scene = importers.open_scene(tmp_path / "s.toml")
    layer = scene.layer("Kiosk")
    annex = scene.to_world(feature_points(layer, "Annex")[0])
    expected = y_up_to_z_up([[10, 0, 0], [12, 0, 0], [12, 3, -5]]) * 0.5
    np.testing.assert_allclose(annex, expected + np.array([560010.0, 2360020.0, 3.0]), atol=1e-6)
