"""The synthetic Sơn La pilot scene: a mountain-valley city in EPSG:9206 whose
buildings, roads and sensor sites stand on its terrain (the scene file's
``drape``), with the same kinds of sensors and plans as Việt Trì."""

from __future__ import annotations

import sys
import tomllib

import numpy as np
import pytest
import shapely
from conftest import ROOT, SCENES, run_cli

import importers
from importers import terrain
from importers.errors import ImportFailed
from twin import meshing
from twin.scenefile import SceneFileError, load_scene_spec

sys.path.insert(0, str(ROOT))  # the generator is a tool in tools/, not an installed package
from tools.synth import son_la

SCENE = SCENES / "son_la.toml"
ASSETS = ROOT / "assets" / "son_la"
TERRAIN = "Địa hình (terrain)"
BUILDINGS = "Công trình (buildings)"
ROADS = "Đường (roads)"
LANDUSE = "Mặt đất & cây xanh (land use)"
POIS = "Điểm IoT (sensor sites)"
PLAN = "Quy hoạch (planned projects)"


@pytest.fixture(scope="module")
def scene():
    return importers.open_scene(SCENE)


def _ground_under_vertices(scene, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per feature of layer ``name``: lowest vertex z, lowest and highest ground
    under its vertices (scene-local metres)."""
    layer = scene.layer(name)
    faces = layer.mesh.regular_faces
    pts = np.asarray(layer.mesh.points, dtype=np.float64)
    feat = np.repeat(layer.cell_features, faces.shape[1])
    idx = faces.ravel()
    ground = terrain.sample_height(scene.layer(TERRAIN), pts[idx, :2])
    n = len(layer.features)
    zmin, gmin, gmax = np.full(n, np.inf), np.full(n, np.inf), np.full(n, -np.inf)
    np.minimum.at(zmin, feat, pts[idx, 2])
    np.minimum.at(gmin, feat, ground)
    np.maximum.at(gmax, feat, ground)
    return zmin, gmin, gmax


# -- place -------------------------------------------------------------------------------


def test_crs_and_origin_are_in_the_nam_la_valley(scene):
    from pyproj import Transformer

    spec = load_scene_spec(SCENE)
    assert spec.crs == "EPSG:9206" and scene.crs == "EPSG:9206"
    e, n, z = spec.origin
    assert 480_000 < e < 500_000 and 2_350_000 < n < 2_370_000  # VN-2000 TM-3 104-00
    lon, lat = Transformer.from_crs(9206, 4326, always_xy=True).transform(e, n)
    assert lat == pytest.approx(21.33, abs=0.01) and lon == pytest.approx(103.91, abs=0.01)
    # the origin is on the valley floor: ground within a few metres of the datum
    ground = terrain.sample_height(scene.layer(TERRAIN), [[0.0, 0.0]])[0] + z
    assert 598.0 <= ground < 615.0
    assert "synthetic" in spec.name.lower() or "mô phỏng" in spec.name


def test_terrain_is_a_valley_ringed_by_hills(scene):
    layer = scene.layer(TERRAIN)
    lo, hi = layer.info["elevation_range"]
    assert 590.0 < lo < 605.0 and 950.0 < hi < 1200.0
    # across the valley (WSW-ENE through the origin): floor in the middle, hills at both ends
    d = np.array([np.cos(np.radians(195.0)), np.sin(np.radians(195.0))])  # local +v
    xy = np.array([s * d for s in (-2200.0, -1500.0, 0.0, 1500.0, 2200.0)])
    z = terrain.sample_height(layer, xy) + scene.origin[2]
    assert z[2] < 610.0
    assert z[0] > 800.0 and z[-1] > 800.0 and z[1] > z[2] + 100 and z[3] > z[2] + 100


# -- on the ground -----------------------------------------------------------------------


def test_buildings_stand_on_the_terrain(scene):
    zmin, gmin, gmax = _ground_under_vertices(scene, BUILDINGS)
    ok = np.isfinite(gmin)
    assert ok.all()
    # base at the lowest ground under the footprint (canopies on columns excepted)
    layer = scene.layer(BUILDINGS)
    lifted = np.nan_to_num(np.asarray(layer.features.attributes["min_height"], float)) > 0
    assert np.abs(zmin - gmin)[~lifted].max() < 0.05
    assert (zmin[lifted] > gmin[lifted] + 3.0).all()
    # ordinary houses are not dug into steep slopes
    assert np.percentile(gmax - gmin, 99) < son_la.MAX_SLOPE_RANGE + 1.0
    # not a flat plane: the museum on Khau Cả stands well above the valley floor
    names = layer.features.names.astype(str)
    museum = np.flatnonzero(names == "Di tích Nhà tù Sơn La")
    assert museum.size == 1 and zmin[museum[0]] > np.median(zmin) + 25.0


def test_roads_and_areas_follow_the_ground_between_vertices(scene):
    for name, lift in ((ROADS, 0.6), (LANDUSE, 0.4)):
        layer = scene.layer(name)
        tris = layer.mesh.regular_faces
        pts = np.asarray(layer.mesh.points, dtype=np.float64)
        # every piece lies within one terrain cell, so no chord cuts through the hills
        span = np.ptp(pts[tris][:, :, :2], axis=1)
        assert span.max() <= 25.0 + 1e-3
        # and on the ground as drawn: vertical rays at the terrain mesh agree
        sample = np.random.default_rng(1).choice(len(tris), 300, replace=False)
        drawn = terrain._ray_heights(scene.layer(TERRAIN), pts[tris[sample]].mean(axis=1)[:, :2])
        sampled = terrain.sample_height(scene.layer(TERRAIN), pts[tris[sample]].mean(axis=1)[:, :2])
        np.testing.assert_allclose(drawn, sampled, atol=0.01)
        centres = pts[tris].mean(axis=1)
        ground = terrain.sample_height(scene.layer(TERRAIN), centres[:, :2])
        normal_z = layer.mesh.compute_normals(
            cell_normals=True, point_normals=False, auto_orient_normals=False,
            consistent_normals=False, split_vertices=False,
        ).cell_data["Normals"][:, 2]  # fmt: skip
        v = pts[tris]
        area = np.linalg.norm(np.cross(v[:, 1] - v[:, 0], v[:, 2] - v[:, 0]), axis=1) / 2
        bottom = normal_z < -0.5 if name == LANDUSE else np.ones(len(tris), bool)
        bottom &= area > 0.01  # the normal of a needle is noise
        # every piece lies in one terrain triangle, so it is parallel to the ground
        err = np.abs(centres[bottom, 2] - ground[bottom] - lift)
        assert err.max() < 0.01, name


def test_sensor_sites_are_on_the_ground(scene):
    zmin, gmin, _ = _ground_under_vertices(scene, POIS)
    assert np.abs(zmin - gmin).max() < 0.05


# -- sensors, plans, bookmarks, tour -----------------------------------------------------


def test_same_sensor_kinds_as_viet_tri_and_live_data(scene):
    from twin.sim.simulation import Simulation

    viet_tri = tomllib.loads((SCENES / "viet_tri.toml").read_text(encoding="utf-8"))
    # the utility domains (EV, water supply, drainage) sit on Việt Trì's pipe networks
    from twin.sim.feeds.domains import DOMAIN_KINDS

    wanted = {s["kind"] for s in viet_tri["sensors"]} - DOMAIN_KINDS
    sim = Simulation.from_scene(scene)
    kinds = set(sim.sensors.kinds.astype(str))
    assert wanted <= kinds
    assert {"water_level", "air_quality", "noise", "traffic", "street_light", "waste"} <= kinds
    assert sim.feeds  # the synthetic feed keeps the scene alive offline
    # sensors stand where their sites are: on the ground, not at z = 0
    pos = sim.sensors.positions
    ground = terrain.sample_height(scene.layer(TERRAIN), pos[:, :2])
    assert np.nanmin(pos[:, 2] - ground) > -0.1


def test_plans_have_phases_and_demolish_the_tod_site(scene):
    from twin.sim.overlays.planned import parse_plans
    from twin.sim.simulation import Simulation

    spec = load_scene_spec(SCENE)
    plan = scene.layer(f"{PLAN}: son_la_plan (buildings)")
    phases = set(plan.features.attributes["phase"].astype(str))
    assert {"1", "2", "3"} <= phases | set(
        scene.layer(f"{PLAN}: son_la_plan (roads)").features.attributes["phase"].astype(str)
    )
    items = parse_plans(SCENE, spec.extra["plans"])
    (demolition,) = items
    buildings = scene.layer(BUILDINGS)
    ids = set(buildings.features.ids.astype(str))
    assert demolition.features and set(demolition.features) <= ids
    # exactly the buildings on the TOD site, as the generator finds them
    import pyogrio.raw

    _, _, wkb, fields = pyogrio.raw.read(ASSETS / "son_la_city.gpkg", layer="buildings")
    to_crs = son_la.vt.local_to_crs(son_la.ANCHOR_LONLAT, son_la.AXIS_DEG, son_la.CRS)
    site = shapely.transform(shapely.box(*son_la.TOD_SITE), to_crs)
    on_site = fields[0][shapely.intersects(shapely.from_wkb(wkb), site)]
    assert sorted(demolition.features) == sorted(on_site.astype(str))
    sim = Simulation.from_scene(scene)
    assert BUILDINGS in sim.plans


def test_bookmarks_and_tour(scene):
    from twin.tour import scene_tours

    names = [b.name for b in scene.bookmarks]
    assert len(names) >= 3 and "overview" in names
    for bm in scene.bookmarks:  # every camera is above the ground it looks at
        eye = scene.to_local(bm.position)
        ground = terrain.sample_height(scene.layer(TERRAIN), [eye[:2]])[0]
        assert eye[2] > ground + 1.0, bm.name
    (tour,) = scene_tours(scene)
    assert len(tour.keyframes) >= 4 and tour.duration > 10.0
    assert "mô phỏng" in tour.keyframes[0].caption


def test_layers_are_labelled_synthetic():
    spec = load_scene_spec(SCENE)
    for layer in spec.layers:
        assert layer.attribution and "synthetic" in layer.attribution.lower(), layer.name
    readme = (ASSETS / "README.md").read_text(encoding="utf-8")
    assert "SYNTHETIC" in readme and "seed" in readme and "MIT" in readme
    total = sum(p.stat().st_size for p in ASSETS.iterdir())
    assert total < 5_000_000


# -- generator ---------------------------------------------------------------------------


def test_generator_is_seeded_and_reproducible():
    a = son_la.generate(seed=7, target_buildings=300)
    b = son_la.generate(seed=7, target_buildings=300)
    c = son_la.generate(seed=8, target_buildings=300)
    wkb = [shapely.to_wkb(x[0].buildings.geometry) for x in (a, b, c)]
    assert np.array_equal(wkb[0], wkb[1]) and np.array_equal(a[1], b[1])
    assert not np.array_equal(a[1], c[1])
    assert len(a[0].buildings) == 300
    assert a[0].crs == "EPSG:9206"


def test_bundled_dem_is_the_generated_one():
    import rasterio

    rng = np.random.default_rng(2025)
    valley = son_la.Valley(rng)
    to_crs = son_la.vt.local_to_crs(son_la.ANCHOR_LONLAT, son_la.AXIS_DEG, son_la.CRS)
    rot = son_la.vt._rot(np.radians(son_la.AXIS_DEG))
    origin = to_crs(np.zeros((1, 2)))[0]
    z, west, north = son_la.dem_grid(valley, to_crs, lambda xy: (xy - origin) @ rot)
    with rasterio.open(ASSETS / "son_la_dem.tif") as src:
        assert src.crs.to_epsg() == 9206
        assert src.tags()["seed"] == "2025" and "synthetic" in src.tags()
        assert (src.bounds.left, src.bounds.top) == (west, north)
        np.testing.assert_allclose(src.read(1), z, atol=0.01)


# -- the drape mechanism -----------------------------------------------------------------


def _scene_text(extra: str) -> str:
    dem = (ASSETS / "son_la_dem.tif").as_posix()
    gpkg = (ASSETS / "son_la_city.gpkg").as_posix()
    return f"""
[scene]
crs = "EPSG:9206"
origin = [490470.0, 2359490.0, 598.0]

[[layers]]
name = "ground"
path = "{dem}"

[[layers]]
name = "houses"
path = "{gpkg}"
options = {{ layer = "pois" }}
{extra}
"""


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ('drape = "nowhere"', "layers[1].drape: no earlier layer named 'nowhere'"),
        ('drape = "ground"\ndrape_mode = "melt"', "layers[1].drape_mode: expected one of"),
    ],
)
def test_bad_drape_is_one_line_naming_the_key(tmp_path, extra, message):
    path = tmp_path / "bad.toml"
    path.write_text(_scene_text(extra), encoding="utf-8")
    with pytest.raises(SceneFileError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_scene_spec(path)


def test_drape_on_a_layer_that_is_not_terrain_fails(tmp_path):
    text = _scene_text('drape = "ground"').replace('name = "ground"', 'name = "g0"')
    text = text.replace('drape = "ground"', 'drape = "g0"')
    text = text.replace(
        'path = "' + (ASSETS / "son_la_dem.tif").as_posix() + '"',
        'path = "' + (ASSETS / "plan.geojson").as_posix() + '"',
    )
    path = tmp_path / "not_terrain.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ImportFailed, match="not a terrain layer"):
        importers.open_scene(path)


def test_grid_split_keeps_the_surface_and_joins():
    lines = np.array([shapely.LineString([(-300, 10), (400, 37), (420, 300)])])
    slab = np.array([shapely.Point(0, 0).buffer(60, quad_segs=8).difference(
        shapely.box(-10, -10, 10, 10))])  # fmt: skip
    for mesh in (
        meshing.ribbons(lines, np.array([14.0]), np.array([0.5])).to_polydata(),
        meshing.extrude_polygons(slab, np.zeros(1), np.full(1, 0.3)).to_polydata(),
    ):
        out = terrain.grid_split(mesh, np.array([3.3, -1.7]), np.diag([25.0, -25.0]))
        assert out.area == pytest.approx(mesh.area, rel=1e-9)
        tri = np.asarray(out.points)[out.regular_faces][:, :, :2]
        # every piece inside one grid triangle: one cell, one side of its diagonal
        i, j = (tri[..., 0] - 3.3) / 25.0, (tri[..., 1] + 1.7) / -25.0
        for k in (i, j, i + j):
            cell = np.floor(k.mean(axis=1))
            assert (k >= cell[:, None] - 1e-6).all() and (k <= cell[:, None] + 1 + 1e-6).all()
        edges = lambda m: m.extract_feature_edges(  # noqa: E731
            boundary_edges=True, feature_edges=False, manifold_edges=False,
            non_manifold_edges=True,
        ).compute_cell_sizes()["Length"].sum()  # fmt: skip
        assert edges(out) == pytest.approx(edges(mesh), rel=1e-9)  # no new cracks
        assert set(out.cell_data["feature"]) == set(mesh.cell_data["feature"])


# -- pixels --------------------------------------------------------------------------------


def test_render_is_not_blank(tmp_path):
    from PIL import Image

    out = tmp_path / "son_la.png"
    for bookmark in (None, "Quảng trường Tây Bắc"):
        args = ["render", str(SCENE), "-o", str(out), "--size", "320x240"]
        done = run_cli(*args, *(["--bookmark", bookmark] if bookmark else []))
        assert done.returncode == 0, done.stderr
        img = np.asarray(Image.open(out).convert("RGB")).astype(int)
        assert img.shape == (240, 320, 3)
        colours = np.unique(img.reshape(-1, 3) // 16, axis=0)
        assert len(colours) > 40, bookmark
        # hillsides or ground (green/brown) take a good part of the picture, not only sky
        r, g, b = img[..., 0], img[..., 1], img[..., 2]
        land = (g >= b) & (r > 40)
        assert land.mean() > 0.25, bookmark


def test_heights_from_the_terrain_mesh_alone_match_the_grid(scene):
    """A terrain layer without its height grid (one read from the cache) is sampled by
    vertical rays in one batch: the same heights as the grid, NaN off the terrain."""
    layer = scene.layer(TERRAIN)
    lo, hi = np.asarray(layer.mesh.bounds[0::2]), np.asarray(layer.mesh.bounds[1::2])
    rng = np.random.default_rng(3)
    xy = rng.uniform(lo[:2], hi[:2], (5000, 2))
    xy = np.vstack([xy, [[lo[0] - 50.0, lo[1]], [hi[0] + 1.0, hi[1] + 1.0]]])
    drawn = terrain._ray_heights(layer, xy)
    sampled = terrain.sample_height(layer, xy)
    assert np.isnan(drawn[-2:]).all()
    inside = np.isfinite(sampled[:-2])
    assert inside.mean() > 0.95
    np.testing.assert_allclose(drawn[:-2][inside], sampled[:-2][inside], atol=0.001)
