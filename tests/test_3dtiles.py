"""``citytwin export --3dtiles`` and ``citytwin serve``, proved by two real readers.

1. CesiumGS's 3d-tiles-tools (npm) reads every tile: the feature count, ids and
   attributes match the scene, and each feature's vertices, put through the
   tileset's transforms, land where pyproj puts the scene's vertices in ECEF.
2. CesiumJS in headless Chromium (software WebGL) loads the served page offline:
   the page says the tileset loaded, a pick at the window position of a known
   building (from its VN-2000 coordinates, through pyproj to WGS 84) returns
   its id and attributes, and the screenshot differs there from one of an empty
   tileset.

Both need the npm packages and Debian chromium that .ci/setup.sh installs; the
tests skip, naming what is missing, only when those are absent.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, polygon_feature, run_cli, write_geojson
from pyproj import Transformer

NODE_MODULES = ROOT / ".cache" / "web" / "node_modules"
CHROMIUM = shutil.which("chromium")
NODE = shutil.which("node")
ORIGIN = (568300.0, 2357700.0)  # Việt Trì, VN-2000 / TM-3 104-45 (EPSG:9208)

# id, offset from the origin (m), footprint side (m), height (m), class, name
BUILDINGS = [
    ("TOWER", (1200.0, 900.0), 30.0, 60.0, "office", "Tháp thử nghiệm"),
    ("B1", (1140.0, 900.0), 20.0, 15.0, "residential", "Nhà B1"),
    ("B2", (1260.0, 890.0), 20.0, 12.0, "residential", "Nhà B2"),
    ("B3", (1200.0, 980.0), 24.0, 20.0, "school", "Trường B3"),
    ("B4", (-300.0, -250.0), 20.0, 9.0, "shophouse", "Nhà phố B4"),
]


def needs(*what: tuple[bool, str]):
    missing = [name for ok, name in what if not ok]
    return pytest.mark.skipif(bool(missing), reason="not installed (run .ci/setup.sh): "
                              + ", ".join(missing))


HAVE_NODE = (NODE is not None, "node")
HAVE_TOOLS = ((NODE_MODULES / "3d-tiles-tools").is_dir(), "npm 3d-tiles-tools in .cache/web")
HAVE_CESIUM = ((NODE_MODULES / "cesium" / "Build" / "Cesium" / "Cesium.js").is_file(),
               "npm cesium in .cache/web")
HAVE_PLAYWRIGHT = ((NODE_MODULES / "playwright-core").is_dir(),
                   "npm playwright-core in .cache/web")
HAVE_CHROMIUM = (CHROMIUM is not None, "Debian chromium")


def _square(cx: float, cy: float, side: float) -> list[tuple[float, float]]:
    h = side / 2
    ring = [(cx - h, cy - h), (cx + h, cy - h), (cx + h, cy + h), (cx - h, cy + h)]
    return [*ring, ring[0]]


@pytest.fixture(scope="module")
def scene_file(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("scene3dtiles")
    feats = [
        polygon_feature(fid, _square(ORIGIN[0] + dx, ORIGIN[1] + dy, side), height=h,
                        levels=round(h / 3.3), name=name, **{"class": cls})
        for fid, (dx, dy), side, h, cls, name in BUILDINGS
    ]
    write_geojson(d / "buildings.geojson", feats, crs="EPSG:9208")
    (d / "scene.toml").write_text(
        '[scene]\nname = "3D Tiles test"\ncrs = "EPSG:9208"\n'
        f"origin = [{ORIGIN[0]}, {ORIGIN[1]}, 0.0]\n\n"
        '[[layers]]\nname = "Công trình"\npath = "buildings.geojson"\nimporter = "vector"\n'
        'options = { kind = "buildings" }\nstyle = { by = "class" }\n',
        encoding="utf-8",
    )
    return d / "scene.toml"


@pytest.fixture(scope="module")
def exported(scene_file, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site") / "tiles"
    r = run_cli("export", str(scene_file), "--3dtiles", str(out), "--max-triangles", "20")
    assert r.returncode == 0, r.stderr
    assert "5 features" in r.stdout
    return out


# -- the tileset itself ---------------------------------------------------------------


def test_export_splits_into_tiles_and_georeferences_the_root(exported):
    doc = json.loads((exported / "tileset.json").read_text(encoding="utf-8"))
    assert doc["asset"]["version"] == "1.0"
    root = doc["root"]
    # the root transform is the ENU frame at the scene origin: its translation is the
    # origin in ECEF, its third column the ellipsoid normal there
    m = np.array(root["transform"]).reshape(4, 4).T
    ecef = Transformer.from_crs("EPSG:9208", "EPSG:4978", always_xy=True).transform(*ORIGIN, 0.0)
    assert m[:3, 3] == pytest.approx(ecef, abs=1e-3)
    lon, lat = Transformer.from_crs("EPSG:9208", "EPSG:4326", always_xy=True).transform(*ORIGIN)
    lo, la = np.radians([lon, lat])
    assert m[:3, 2] == pytest.approx([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo),
                                      np.sin(la)], abs=1e-9)
    uris = sorted(p.relative_to(exported).as_posix() for p in exported.rglob("*.b3dm"))
    assert len(uris) >= 2  # --max-triangles 20 splits five buildings into several tiles

    def contents(t):
        return ([t["content"]["uri"]] if "content" in t else []) + [
            u for c in t.get("children", []) for u in contents(c)]

    assert sorted(contents(root)) == uris
    for uri in uris:  # b3dm layout: each part starts on an 8-byte boundary (3D Tiles spec)
        data = (exported / uri).read_bytes()
        magic, version, length, ftj, ftb, btj, btb = struct.unpack("<4sIIIIII", data[:28])
        assert (magic, version, length) == (b"b3dm", 1, len(data))
        glb = 28 + ftj + ftb + btj + btb
        assert (28 + ftj) % 8 == 0 and glb % 8 == 0 and len(data) % 8 == 0
        assert data[glb:glb + 4] == b"glTF"
    meta = doc["extras"]["citytwin"]
    assert meta["crs"] == "EPSG:9208"
    # B4 lies ~390 m from the origin and TOWER 1.5 km: the shortcut would be metres off
    assert 1.0 < meta["single_frame_residual_m"] < 20.0


def test_reexport_replaces_tiles_and_a_foreign_folder_is_refused(scene_file, tmp_path):
    out = tmp_path / "t"
    assert run_cli("export", str(scene_file), "--3dtiles", str(out),
                   "--max-triangles", "20").returncode == 0
    many = len(list(out.rglob("*.b3dm")))
    r = run_cli("export", str(scene_file), "--3dtiles", str(out))
    assert r.returncode == 0, r.stderr
    assert len(list(out.rglob("*.b3dm"))) == 1 < many  # no stale tiles left behind
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    r = run_cli("export", str(scene_file), "--3dtiles", str(other))
    assert r.returncode == 2
    assert "not empty" in r.stderr and r.stderr.count("\n") == 1
    assert (other / "notes.txt").read_text() == "mine"


def test_a_scene_without_georeferencing_is_refused_in_one_line(tmp_path):
    r = run_cli("export", str(ROOT / "tests" / "data" / "mesh" / "Box.gltf"),
                "--3dtiles", str(tmp_path / "t"))
    assert r.returncode == 2
    assert "not georeferenced" in r.stderr and r.stderr.count("\n") == 1
    assert not (tmp_path / "t" / "tileset.json").exists()


def test_serve_serves_page_tiles_and_cesium_on_loopback_only(server, exported):
    import urllib.error
    import urllib.request

    with urllib.request.urlopen(server) as r:
        assert "text/html" in r.headers["Content-Type"]
        assert b"/cesium/Cesium.js" in r.read()
    with urllib.request.urlopen(server + "tiles/tileset.json") as r:
        assert r.headers["Access-Control-Allow-Origin"] == "*"  # a portal on another origin
        assert json.loads(r.read())["asset"]["version"] == "1.0"
    uri = next(exported.rglob("*.b3dm")).relative_to(exported).as_posix()
    with urllib.request.urlopen(server + "tiles/" + uri) as r:
        assert r.read(4) == b"b3dm"
    for bad in ("tiles/%2e%2e/%2e%2e/etc/passwd", "tiles/../scene.toml", "nothing.html",
                "web/../serve_cmd.py"):
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(server + bad)
        assert err.value.code == 404, bad
    port = int(server.rsplit(":", 1)[1].strip("/"))
    # bound to 127.0.0.1 alone: a server on every interface (0.0.0.0) would also answer
    # on 127.0.0.2, which Linux routes to the loopback device too
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) == 0
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.2", port)) != 0


def test_serve_refuses_a_folder_without_tileset(tmp_path):
    r = run_cli("serve", str(tmp_path), "--port", "0")
    assert r.returncode == 2
    assert "no tileset.json" in r.stderr


# -- reader 1: 3d-tiles-tools ----------------------------------------------------------


@needs(HAVE_NODE, HAVE_TOOLS)
def test_3d_tiles_tools_reads_every_tile_at_the_right_place(exported, scene_file):
    from app.loading import load_any
    from twin.analysis.sunhours import layer_triangles

    r = subprocess.run(
        [NODE, str(ROOT / "tests" / "test_3dtiles_reader.cjs"), str(NODE_MODULES),
         str(exported / "tileset.json")],
        capture_output=True, text=True, timeout=120,
    )
    assert r.returncode == 0, r.stderr
    read = json.loads(r.stdout)
    scene = load_any(scene_file)
    [layer] = scene.layers
    table = layer.features
    assert len(read["tiles"]) >= 2
    for tile in read["tiles"]:
        assert tile["max_batch_id"] == tile["batch_length"] - 1
        assert set(tile["columns"].values()) == {tile["batch_length"]}
    assert sum(t["batch_length"] for t in read["tiles"]) == len(table) == len(BUILDINGS)
    feats = {f["properties"]["id"]: f for f in read["features"].values()}
    assert sorted(feats) == sorted(table.ids.tolist())
    tower = feats["TOWER"]["properties"]
    assert tower["name"] == "Tháp thử nghiệm" and tower["class"] == "office"
    assert tower["layer"] == "Công trình" and tower["levels"] == 18
    # positions: mean of each feature's triangle corners, scene -> ECEF with pyproj
    pts, tris, feat = layer_triangles(layer)
    to_ecef = Transformer.from_crs("EPSG:9208", "EPSG:4978", always_xy=True)
    for row, fid in enumerate(table.ids):
        corners = scene.to_world(pts[tris[feat == row]].reshape(-1, 3))
        x, y, z = to_ecef.transform(corners[:, 0], corners[:, 1], corners[:, 2])
        want = np.array([x.mean(), y.mean(), z.mean()])
        assert feats[fid]["vertices"] == len(corners)
        assert np.linalg.norm(np.array(feats[fid]["ecef"]) - want) < 0.01, fid


# -- reader 2: CesiumJS in Chromium ----------------------------------------------------


@pytest.fixture
def server(exported, scene_file):
    """``citytwin serve`` on a free port, with an empty tileset beside the real one."""
    from twin.export.tiles3d import export_3dtiles
    from twin.scene import Scene

    export_3dtiles(Scene(crs="EPSG:9208", origin=[*ORIGIN, 0.0]), exported / "empty")
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", str(exported), "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        line = proc.stdout.readline()
        m = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        assert m, (line, proc.stderr.read() if proc.poll() is not None else "")
        yield f"http://127.0.0.1:{m.group(1)}/"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@needs(HAVE_NODE, HAVE_CESIUM, HAVE_PLAYWRIGHT, HAVE_CHROMIUM)
def test_cesium_shows_the_buildings_at_their_real_position(server, tmp_path):
    from twin.imagecompare import read_png

    to_wgs = Transformer.from_crs("EPSG:9208", "EPSG:4326", always_xy=True)

    def at(fid: str, height: float) -> dict:
        (dx, dy), = [b[1] for b in BUILDINGS if b[0] == fid]
        lon, lat = to_wgs.transform(ORIGIN[0] + dx, ORIGIN[1] + dy)
        return {"name": fid, "lon": lon, "lat": lat, "height": height}

    targets = [at("TOWER", 30.0), at("B1", 7.0),
               {**at("TOWER", 0.0), "name": "ground", "lat": at("TOWER", 0)["lat"] - 0.0004}]
    look = {**at("TOWER", 25.0), "heading": 15.0, "pitch": -30.0, "range": 320.0}
    job = {
        "chromium": CHROMIUM, "width": 480, "height": 360, "timeout_ms": 240_000,
        "look_at": look, "targets": targets,
        "pages": [
            {"name": "full", "url": server + "?view=none",
             "screenshot": str(tmp_path / "full.png")},
            {"name": "empty", "url": server + "?view=none&tileset=tiles/empty/tileset.json",
             "screenshot": str(tmp_path / "empty.png")},
        ],
    }
    r = subprocess.run(
        [NODE, str(ROOT / "tests" / "test_3dtiles_browser.cjs"), str(NODE_MODULES),
         json.dumps(job)], capture_output=True, text=True, timeout=600,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    out = json.loads(r.stdout)
    keep = os.environ.get("CITYTWIN_3DTILES_SHOTS")
    if keep:  # for a person to look at
        for name in ("full", "empty"):
            shutil.copy(tmp_path / f"{name}.png", Path(keep) / f"3dtiles_{name}.png")
    full, empty = out["full"], out["empty"]
    for page in (full, empty):
        assert page["state"] == "loaded", page
        assert page["outside"] == []  # offline: nothing requested beyond 127.0.0.1
        assert page["console_errors"] == []
        assert "loaded" in page["title"]
    tower = full["picks"]["TOWER"]
    assert tower["id"] == "TOWER", full["picks"]
    assert tower["properties"]["name"] == "Tháp thử nghiệm"
    assert tower["properties"]["class"] == "office"
    assert tower["properties"]["height"] == pytest.approx(60.0)
    assert full["picks"]["B1"]["id"] == "B1"  # beside the tower, not behind it
    assert full["picks"]["ground"]["id"] is None
    assert empty["picks"]["TOWER"]["id"] is None
    # pixels: around the tower's window position the two screenshots differ
    a = read_png(tmp_path / "full.png").astype(np.int16)[..., :3]
    b = read_png(tmp_path / "empty.png").astype(np.int16)[..., :3]
    x, y = (round(v) for v in tower["xy"])
    region = (slice(max(y - 12, 0), y + 12), slice(max(x - 12, 0), x + 12))
    diff = np.abs(a - b).sum(axis=-1)  # summed over R, G, B
    assert diff[region].mean() > 40 and (diff[region] > 20).mean() > 0.9
    gx, gy = (round(v) for v in full["picks"]["ground"]["xy"])
    assert diff[gy - 3:gy + 3, gx - 3:gx + 3].mean() < 10  # bare ground is the same in both
