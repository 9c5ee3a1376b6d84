"""Orthophoto basemaps: a real Landsat image (tests/data/imagery, CC0) warped into
another UTM zone, drawn headless, and the colours on screen at known ground
points compared with the source pixels; the same image as MBTiles; damaged files."""

from __future__ import annotations

import io
import math
import sqlite3
from pathlib import Path

import numpy as np
import pytest
import rasterio
from conftest import DATA

import importers
from importers.errors import ImportFailed
from twin.geo import transform_xy
from twin.scene import Scene

IMAGE = DATA / "imagery" / "landsat7_rgb_byte.tif"
SRC_CRS = "EPSG:32618"
#: the scene is in the next UTM zone west: the image turns by ~2.5 degrees
SCENE_CRS = "EPSG:32617"
ORIGIN = (800000.0, 2720000.0, 0.0)
SIZE = (320, 240)


def _scene() -> Scene:
    return Scene(crs=SCENE_CRS, origin=list(ORIGIN), name="orthophoto test")


def _source() -> tuple[np.ndarray, rasterio.Affine]:
    with rasterio.open(IMAGE) as ds:
        return ds.read(), ds.transform


def _flat_points(n_per_band: int = 2) -> list[tuple[float, float, np.ndarray]]:
    """Ground points (source CRS) whose 15 x 15 pixel neighbourhood is nearly one
    colour, from dark water to bright land, with that neighbourhood's mean colour:
    a render that puts the image a pixel off (or averages texels) still shows it
    there, a wrong placement does not."""
    from scipy.ndimage import uniform_filter

    img, transform = _source()
    f = img.astype(np.float64)
    mean = uniform_filter(f, size=(1, 15, 15))
    var = uniform_filter(f * f, size=(1, 15, 15)) - mean * mean
    std = np.sqrt(np.maximum(var, 0)).max(axis=0)
    inside = uniform_filter((img.min(axis=0) > 0).astype(np.float64), 31) > 0.999
    smooth = inside & (std < 5) & (img.max(axis=0) < 240)
    rows, cols = np.nonzero(smooth)
    bright = mean[:, rows, cols].sum(axis=0)
    out = []
    for lo, hi in ((0, 80), (80, 200), (200, 765)):
        pick = np.flatnonzero((bright >= lo) & (bright < hi))
        assert pick.size, f"no smooth pixels between brightness {lo} and {hi}"
        for k in pick[np.linspace(0, pick.size - 1, n_per_band).astype(int)]:
            r, c = rows[k], cols[k]
            x, y = transform @ (c + 0.5, r + 0.5)
            out.append((x, y, np.round(mean[:, r, c]).astype(int)))
    return out


def _top_down_colours(scene: Scene, layer, points) -> list[np.ndarray]:
    """A headless top-down frame of ``layer`` (textures on, as by default on
    software GL) and the pixel at each ground point (source CRS)."""
    from twin.render import OffscreenRenderer
    from twin.render.looks import LookOptions

    b = layer.features.bounds[0]
    with OffscreenRenderer(scene, SIZE, looks=LookOptions(textures=True), captions=False,
                           simulation=None) as r:
        cam = r.plotter.camera
        cx, cy = (b[0] + b[1]) / 2, (b[2] + b[3]) / 2
        cam.parallel_projection = True
        cam.focal_point = (cx, cy, 0.0)
        cam.position = (cx, cy, 4e5)
        cam.up = (0.0, 1.0, 0.0)
        cam.parallel_scale = (b[3] - b[2]) / 2 * 1.02
        frame = r.frame()
        out = []
        for x, y, _ in points:
            ex, ey = transform_xy(np.array([x]), np.array([y]), SRC_CRS, scene.crs)
            dx, dy = r.view.display_point(np.array([ex[0], ey[0], 0.0]))
            out.append(frame[SIZE[1] - 1 - round(dy), round(dx)].astype(int))
        return out


@pytest.fixture(scope="module")
def warped():
    scene = _scene()
    (layer,) = importers.open(IMAGE, scene, {}, importer="orthophoto")
    scene.add_layer(layer)
    return scene, layer


def test_the_image_is_warped_into_the_scene_crs(warped):
    _, layer = warped
    assert layer.kind == "basemap"
    assert layer.crs == SRC_CRS
    assert layer.info["texture_size"][0] == pytest.approx(791, abs=20)
    # Corners: the footprint's extreme valid pixels, reprojected with pyproj on
    # their own, are where the mesh's extremes are (within the quads cut at the
    # nodata edge: 4 texels of ~300 m, plus one).
    img, transform = _source()
    rows, cols = np.nonzero(img.min(axis=0) > 0)
    x, y = transform @ (cols + 0.5, rows + 0.5)
    ex, ey = transform_xy(np.asarray(x), np.asarray(y), SRC_CRS, SCENE_CRS)
    corners = np.column_stack([ex, ey])
    pts = np.asarray(layer.mesh.points, dtype=np.float64)[:, :2] + np.asarray(ORIGIN[:2])
    # the footprint is a turned rectangle: its west-, south-, east- and north-most
    # corners are four different points, each where the mesh has its own
    for axis in (0, 1):
        for pick in (np.argmin, np.argmax):
            want = corners[pick(corners[:, axis])]
            got = pts[pick(pts[:, axis])]
            # along the cut edge a corner may move by a few quads; across it, by one
            assert abs(got[axis] - want[axis]) < 2 * 4 * 313.0, (axis, got, want)
            assert np.hypot(*(got - want)) < 8_000, (axis, got, want)


@pytest.mark.render
def test_a_ground_point_shows_the_source_pixel_colour(warped):
    scene, layer = warped
    points = _flat_points()
    got = _top_down_colours(scene, layer, points)
    for (x, y, want), seen in zip(points, got, strict=True):
        assert np.abs(seen - want).max() <= 10, (x, y, want, seen)


@pytest.mark.render
def test_mbtiles_of_the_same_image_give_the_same_colours(warped, tmp_path):
    path = _write_mbtiles(tmp_path / "landsat.mbtiles", zooms=(7, 8, 9))
    scene = _scene()
    (layer,) = importers.open(path, scene, {})
    scene.add_layer(layer)
    assert layer.info["zoom"] == 9
    assert layer.info["format"].startswith("MBTiles")
    # opened alone, it gets a UTM scene from its tiles' lon/lat bounds
    assert importers.scene_for(path).crs.startswith("EPSG:326")
    points = _flat_points()
    from_tiles = _top_down_colours(scene, layer, points)
    for (x, y, want), seen in zip(points, from_tiles, strict=True):
        assert np.abs(seen - want).max() <= 16, (x, y, want, seen)
    b_tif, b_mb = warped[1].features.bounds[0], layer.features.bounds[0]
    assert np.allclose(b_tif[:4], b_mb[:4], atol=3000.0)


def test_extent_option_warps_only_that_part(tmp_path):
    scene = _scene()
    cx, cy = 760000.0, 2720000.0
    opts = {"extent": [cx - 20000, cy - 10000, cx + 20000, cy + 10000], "resolution": 100.0}
    (layer,) = importers.open(IMAGE, scene, opts, importer="orthophoto")
    b = layer.features.bounds[0] + np.array([ORIGIN[0]] * 2 + [ORIGIN[1]] * 2 + [0, 0])
    assert b[0] >= cx - 20000 - 1 and b[1] <= cx + 20000 + 1
    assert b[2] >= cy - 10000 - 1 and b[3] <= cy + 10000 + 1
    assert layer.info["texture_size"] == [400, 200]
    far = {"extent": [0.0, 0.0, 1000.0, 1000.0]}
    with pytest.raises(ImportFailed, match="does not overlap"):
        importers.open(IMAGE, scene, far, importer="orthophoto")


def test_draped_on_terrain_vertices_follow_the_ground(tmp_path):
    """A scene file drapes the basemap on a DEM; the texture stays where it was."""
    dem = tmp_path / "dem.tif"
    x0, y0 = 180000.0, 2760000.0
    z = np.add.outer(np.linspace(200, 0, 41), np.linspace(0, 100, 41)).astype(np.float32)
    with rasterio.open(dem, "w", driver="GTiff", width=41, height=41, count=1, dtype="float32",
                       crs=SRC_CRS, transform=rasterio.Affine(500, 0, x0, 0, -500, y0)) as ds:
        ds.write(z, 1)
    import shutil

    shutil.copy(IMAGE, tmp_path / "ortho.tif")
    scene_file = tmp_path / "s.toml"
    scene_file.write_text(
        f'[scene]\ncrs = "{SRC_CRS}"\norigin = [190000.0, 2750000.0, 0.0]\n'
        '[[layers]]\nname = "dem"\npath = "dem.tif"\n'
        '[[layers]]\nname = "ortho"\npath = "ortho.tif"\nimporter = "orthophoto"\n'
        'drape = "dem"\n',
        encoding="utf-8",
    )
    scene = importers.open_scene(scene_file)
    ortho = scene.layer("ortho")
    from importers.terrain import sample_height
    from twin.textures import TCOORDS_ARRAY, atlas_of, textured_cells

    pts = np.asarray(ortho.mesh.points, dtype=np.float64)
    ground = sample_height(scene.layer("dem"), pts[:, :2])
    on = np.isfinite(ground)
    assert on.sum() > 100 and np.ptp(pts[on, 2]) > 100
    assert np.allclose(pts[on, 2], ground[on], atol=0.05)
    # texture coordinates still follow plan position: u = (x - left) / width
    tc = np.asarray(ortho.mesh.point_data[TCOORDS_ARRAY], dtype=np.float64)
    left = pts[:, 0].min()
    width = pts[:, 0].max() - left
    assert np.allclose(tc[:, 0], (pts[:, 0] - left) / width, atol=2e-3)
    # the re-cut mesh still carries its image and draws every cell with it
    assert atlas_of(ortho.mesh).shape[:2] == tuple(ortho.info["texture_size"][::-1])
    assert textured_cells(ortho.mesh).all()


def test_flat_basemap_lies_at_its_z():
    scene = _scene()
    (layer,) = importers.open(IMAGE, scene, {"z": -0.5, "max_size": 256}, importer="orthophoto")
    assert np.allclose(np.asarray(layer.mesh.points)[:, 2], -0.5)
    assert max(layer.info["texture_size"]) <= 256


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("garbage.tif", b"II*\x00" + bytes(range(256)) * 8, "cannot be read as an orthophoto"),
        ("truncated.tif", None, "cannot be read as an orthophoto"),
        ("garbage.mbtiles", b"not a database at all" * 50, "is not an MBTiles file"),
    ],
)
def test_a_damaged_file_is_one_line_naming_it(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(IMAGE.read_bytes()[:30_000] if content is None else content)
    with pytest.raises(ImportFailed) as info:
        importers.open(path, _scene(), {}, importer="orthophoto")
    text = str(info.value)
    assert text.startswith(str(path)) and "\n" not in text
    assert message in text


def test_mbtiles_without_tiles_or_with_broken_tiles(tmp_path):
    empty = tmp_path / "empty.mbtiles"
    with sqlite3.connect(empty) as db:
        db.execute("CREATE TABLE metadata (name text, value text)")
    with pytest.raises(ImportFailed, match="no 'tiles' table"):
        importers.open(empty, _scene(), {})
    broken = tmp_path / "broken.mbtiles"
    with sqlite3.connect(broken) as db:
        _schema(db)
        for x in range(3):
            db.execute("INSERT INTO tiles VALUES (9, ?, 300, ?)", (140 + x, b"\x89PNG broken"))
    with pytest.raises(ImportFailed, match="none of its 3 tiles at zoom 9 could be decoded"):
        importers.open(broken, _scene(), {})


# -- an MBTiles writer for the test (web-mercator XYZ tiles, TMS rows) -----------------

MERC = 20037508.342789244


def _schema(db: sqlite3.Connection) -> None:
    db.execute("CREATE TABLE metadata (name text, value text)")
    db.execute("CREATE TABLE tiles (zoom_level integer, tile_column integer, "
               "tile_row integer, tile_data blob)")
    db.executemany("INSERT INTO metadata VALUES (?, ?)",
                   [("name", "landsat"), ("format", "png"), ("type", "baselayer")])


def _write_mbtiles(path: Path, zooms: tuple[int, ...]) -> Path:
    """Cut the GeoTIFF into 256 px PNG tiles with rasterio and Pillow."""
    from PIL import Image
    from rasterio.enums import Resampling
    from rasterio.warp import reproject, transform_bounds

    with rasterio.open(IMAGE) as ds:
        src = ds.read()
        mask = ds.dataset_mask()
        left, bottom, right, top = transform_bounds(ds.crs, "EPSG:3857", *ds.bounds)
        with sqlite3.connect(path) as db:
            _schema(db)
            for z in zooms:
                size = 2 * MERC / 2**z
                for tx in range(math.floor((left + MERC) / size),
                                math.floor((right + MERC) / size) + 1):
                    for ty in range(math.floor((MERC - top) / size),
                                    math.floor((MERC - bottom) / size) + 1):
                        t = rasterio.Affine(size / 256, 0, -MERC + tx * size,
                                            0, -size / 256, MERC - ty * size)
                        out = np.zeros((4, 256, 256), dtype=np.uint8)
                        bands = np.concatenate([src, mask[None]])
                        reproject(bands, out, src_transform=ds.transform, src_crs=ds.crs,
                                  dst_transform=t, dst_crs="EPSG:3857",
                                  resampling=Resampling.bilinear)
                        if not out[3].any():
                            continue
                        buf = io.BytesIO()
                        Image.fromarray(np.moveaxis(out, 0, -1), "RGBA").save(buf, "PNG")
                        db.execute("INSERT INTO tiles VALUES (?, ?, ?, ?)",
                                   (z, tx, 2**z - 1 - ty, buf.getvalue()))
    return path
