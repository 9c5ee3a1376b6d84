"""Pipe networks: GIS lines with diameter and invert depth -> 3D pipes below ground,
pickable in the underground view; damaged network files fail in one line."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import ROOT, run_cli, write_geojson

import importers
from importers.errors import ImportFailed
from twin.scene import Scene

ASSETS = ROOT / "assets" / "viet_tri"
CRS = "EPSG:9208"
ORIGIN = [568300.0, 2357700.0, 0.0]


def _scene() -> Scene:
    return Scene(crs=CRS, origin=ORIGIN, name="t")


def _line(fid, coords, dn, inv, inv_end=None, **props):
    p = {"id": fid, "class": "water_main", "diameter_mm": dn, "invert_depth": inv, **props}
    if inv_end is not None:
        p["invert_depth_end"] = inv_end
    return {"type": "Feature", "properties": p,
            "geometry": {"type": "LineString", "coordinates": coords}}


def _open(path, scene=None):
    scene = scene or _scene()
    layers = importers.open(path, scene, {}, importer="pipes")
    for la in layers:
        scene.add_layer(la)
    return scene, layers[0]


@pytest.mark.parametrize("name", ["water_mains.geojson", "drainage.geojson"])
def test_demo_networks_lie_below_ground(name):
    _, layer = _open(ASSETS / name)
    assert layer.kind == "utilities" and not layer.warnings
    b = layer.features.bounds
    assert np.isfinite(b).all()
    assert (b[:, 5] < 0.0).all(), "a pipe or shaft reaches the ground"
    d = layer.features.attributes["diameter_mm"] / 1000.0
    inv = layer.features.attributes["invert_depth"]
    lines = np.array([c in ("water_main", "storm_sewer") for c in layer.features.classes])
    assert lines.sum() > 300 and (~lines).sum() > 300
    # a pipe's crown sits its diameter above its invert (level mains: exactly)
    level = lines & (inv == layer.features.attributes.get("invert_depth_end", inv))
    assert np.allclose(b[level, 5], -inv[level] + d[level], atol=2e-3)
    assert np.allclose(b[level, 4], -inv[level], atol=2e-3)


def test_generator_reproduces_the_demo_networks_byte_for_byte(tmp_path):
    from tools.synth import networks

    assert networks.main(["--seed", "269", "--out", str(tmp_path)]) == 0
    for name in ("water_mains.geojson", "drainage.geojson"):
        assert (tmp_path / name).read_bytes() == (ASSETS / name).read_bytes()


def _distance_to_polyline(p: np.ndarray, line: np.ndarray) -> np.ndarray:
    """Perpendicular distance from each point to the centreline segment it is
    nearest; a point nearest a joint (a mitred corner) is measured against the
    lines of the segments meeting there."""
    a, b = line[:-1], line[1:]
    ab = b - a
    t = np.einsum("pkj,kj->pk", p[:, None, :] - a[None], ab) / (ab**2).sum(1)
    clipped = np.linalg.norm(p[:, None, :] - (a[None] + np.clip(t, 0, 1)[..., None] * ab[None]),
                             axis=2)
    unclipped = np.linalg.norm(p[:, None, :] - (a[None] + t[..., None] * ab[None]), axis=2)
    nearest = clipped <= clipped.min(1, keepdims=True) + 1e-6
    return np.where(nearest, unclipped, np.inf).min(1)


def test_tube_radius_is_half_the_diameter_through_bends_and_slopes(tmp_path):
    x0, y0 = ORIGIN[0], ORIGIN[1]
    bent = [[x0, y0], [x0 + 40, y0], [x0 + 40, y0 + 30], [x0 + 10, y0 + 60]]
    path = write_geojson(tmp_path / "net.geojson", [
        _line("P1", bent, 600, 2.0),
        _line("P2", [[x0, y0 - 20], [x0 + 80, y0 - 20]], 1000, 1.8, 2.4),
    ], crs=CRS)
    _, layer = _open(path)
    pts = np.asarray(layer.mesh.points, dtype=np.float64)
    feat = layer.cell_features
    faces = layer.mesh.regular_faces
    for row, coords, d, inv0, inv1 in ((0, bent, 0.6, 2.0, 2.0), (1, None, 1.0, 1.8, 2.4)):
        xy = np.asarray(coords if coords else [[x0, y0 - 20], [x0 + 80, y0 - 20]]) - ORIGIN[:2]
        seg = np.r_[0, np.cumsum(np.hypot(*np.diff(xy, axis=0).T))]
        z = -(inv0 + (inv1 - inv0) * seg / seg[-1]) + d / 2
        centre = np.column_stack([xy, z])
        used = np.unique(faces[feat == row])
        p = pts[used]
        dist = _distance_to_polyline(p, centre)
        on_wall = dist > 1e-3  # the cap centres lie on the centreline
        assert on_wall.sum() >= 16 * len(xy)
        err = np.abs(dist[on_wall] - d / 2) / (d / 2)
        assert err.max() < 0.01, f"pipe {row}: radius off by {err.max():.2%}"
        # below ground everywhere
        assert p[:, 2].max() < 0.0


def _damaged_cases(tmp_path):
    x0, y0 = ORIGIN[0], ORIGIN[1]
    good = _line("P1", [[x0, y0], [x0 + 50, y0]], 300, 1.5)
    truncated = tmp_path / "truncated.geojson"
    write_geojson(truncated, [good], crs=CRS)
    truncated.write_text(truncated.read_text()[:70], encoding="utf-8")
    no_field = write_geojson(tmp_path / "no_diameter.geojson", [
        {"type": "Feature", "properties": {"id": "P1", "invert_depth": 1.5},
         "geometry": good["geometry"]}], crs=CRS)
    nonsense = write_geojson(tmp_path / "nonsense.geojson", [
        _line("P1", [[x0, y0], [x0 + 50, y0]], -300, 1.5),
        _line("P2", [[x0, y0], [x0 + 50, y0]], 300, 0.1)], crs=CRS)
    return {"truncated": (truncated, ""), "no_diameter": (no_field, "diameter_mm"),
            "nonsense": (nonsense, "no usable pipe")}


@pytest.mark.parametrize("case", ["truncated", "no_diameter", "nonsense"])
def test_damaged_network_file_is_one_line(tmp_path, case):
    path, words = _damaged_cases(tmp_path)[case]
    with pytest.raises(ImportFailed) as err:
        _open(path)
    text = str(err.value)
    assert "\n" not in text and str(path) in text and words in text


def test_bad_features_are_skipped_and_named(tmp_path):
    x0, y0 = ORIGIN[0], ORIGIN[1]
    path = write_geojson(tmp_path / "mixed.geojson", [
        _line("OK-1", [[x0, y0], [x0 + 50, y0]], 300, 1.5),
        _line("SHALLOW", [[x0, y0 + 5], [x0 + 50, y0 + 5]], 800, 0.5),
        _line("NO-DN", [[x0, y0 + 9], [x0 + 50, y0 + 9]], None, 1.5),
    ], crs=CRS)
    _, layer = _open(path)
    assert layer.features.ids.tolist() == ["OK-1"]
    text = " | ".join(layer.warnings)
    assert "SHALLOW" in text and "not buried" in text and "NO-DN" in text


def test_cli_names_a_damaged_network_in_a_scene(tmp_path):
    path, _ = _damaged_cases(tmp_path)["no_diameter"]
    scene = tmp_path / "s.toml"
    scene.write_text(f'[scene]\nname = "t"\ncrs = "{CRS}"\norigin = {ORIGIN}\n\n'
                     f'[[layers]]\nname = "net"\npath = "{path.name}"\nimporter = "pipes"\n',
                     encoding="utf-8")
    res = run_cli("info", str(scene))
    assert res.returncode == 2, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "no_diameter.geojson" in lines[0] and "diameter_mm" in lines[0]


@pytest.mark.render
def test_pipes_show_and_pick_only_in_the_underground_view(tmp_path, output_dir):
    from twin.render.offscreen import OffscreenRenderer, save_png

    x0, y0 = ORIGIN[0], ORIGIN[1]
    path = write_geojson(tmp_path / "net.geojson", [
        _line("P1", [[x0 - 60, y0], [x0 + 60, y0]], 1200, 2.5, material="HDPE"),
    ], crs=CRS)
    scene, layer = _open(path)
    scene.restyle(layer, mode="solid", color=(230, 20, 200))
    with OffscreenRenderer(scene, (320, 240), simulation=None, looks=None) as r:
        view = r.view
        cam = r.plotter.camera
        cam.focal_point = (0.0, 0.0, -1.9)
        cam.position = (0.0, -40.0, 25.0)
        cam.up = (0.0, 0.0, 1.0)
        normal = r.frame()
        hit_normal = view.pick(160, 120)
        view.set_underground(True)
        under = r.frame()
        hit = view.pick(160, 120)
    save_png(under, output_dir / "pipes_underground.png")
    magenta = (under[..., 0] > 150) & (under[..., 1] < 90) & (under[..., 2] > 130)
    assert magenta.sum() > 500
    gone = (normal[..., 0] > 150) & (normal[..., 1] < 90) & (normal[..., 2] > 130)
    assert gone.sum() == 0
    assert hit_normal is None or hit_normal.layer is not layer
    assert hit is not None and hit.layer is layer
    attrs = hit.attributes
    assert attrs["id"] == "P1" and attrs["diameter_mm"] == 1200 and attrs["material"] == "HDPE"
    assert hit.world[2] < 0.0
