"""Appearance textures: the CityJSON importer keeps the images (one atlas) and
each corner's texture coordinates, and the Textures look draws them.

The Rotterdam sample (cjio's ``rotterdam_subset``) names 73 images but ships
one, ``appearances/0320_4_15.jpg``: it textures one roof (7 points, building
``{CD98680D-...}``); the 72 missing ones must fall back to the surfaces' own
colours with one warning. The sample is copied into a temporary folder (the
shared data folder is read-only), so a test can also take the image away.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import pyvista as pv
from PIL import Image, ImageDraw, ImageFilter

import importers
from twin import textures as tx

SAMPLE = Path(__file__).resolve().parents[2] / "shared" / "data" / "cityjson" / "real"
SUBSET = SAMPLE / "rotterdam" / "rotterdam_subset.city.json"
IMAGE = SAMPLE / "rotterdam" / "appearances" / "0320_4_15.jpg"
ROOF_OWNER = "{CD98680D-A8DD-4106-A18E-15EE2A908D75}"
# The roof's texture coordinates as the file writes them (vertices-texture 693-699).
ROOF_UV = [(0.033, 0.8854), (0.0372, 0.8803), (0.1023, 0.9349), (0.0507, 0.9991),
           (0.0003, 0.9573), (0.0482, 0.9), (0.0321, 0.8865)]
SIZE = (320, 240)

needs_sample = pytest.mark.skipif(not SUBSET.exists(), reason="shared Rotterdam sample missing")


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    folder = tmp_path / "rotterdam"
    (folder / "appearances").mkdir(parents=True)
    shutil.copy(SUBSET, folder / SUBSET.name)
    shutil.copy(IMAGE, folder / "appearances" / IMAGE.name)
    return folder / SUBSET.name


def _open(path: Path, **options):
    scene = importers.scene_for(path)
    [layer] = importers.open(path, scene, options)
    scene.add_layer(layer)
    return scene, layer


# -- atlas arithmetic (no files) -----------------------------------------------------


def test_atlas_places_every_image_where_its_coordinates_point() -> None:
    rng = np.random.default_rng(3)
    images = [rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
              for h, w in ((40, 60), (17, 33), (64, 8))]
    atlas = tx.pack(images)
    assert (atlas.image[: tx.WHITE, : tx.WHITE] == 255).all()
    H, W = atlas.image.shape[:2]
    uv = rng.uniform(0.02, 0.98, (30, 3, 2))
    which = rng.integers(0, 3, 30)
    out, ok, clamped = tx.atlas_uv(atlas, which, uv)
    assert ok.all() and clamped == 0
    for t in range(30):
        for k in range(3):
            img = images[which[t]]
            h, w = img.shape[:2]
            src = img[int((1 - uv[t, k, 1]) * h), int(uv[t, k, 0] * w)]
            col = int(out[t, k, 0] * W)
            row = int((1 - out[t, k, 1]) * H)
            np.testing.assert_array_equal(atlas.image[row, col], src)


def test_untextured_corners_point_at_white_and_tiles_are_counted() -> None:
    atlas = tx.pack([np.zeros((10, 10, 3), np.uint8)])
    uv = np.array([[[0.1, 0.1], [0.9, 0.1], [0.5, 0.9]],     # inside
                   [[2.1, 3.1], [2.9, 3.1], [2.5, 3.9]],     # one unit further: moved back
                   [[0.0, 0.0], [3.0, 0.0], [0.0, 3.0]],     # tiles 3x: clamped
                   [[np.nan, 0], [0, 0], [0, 0]]])           # bad values: untextured
    out, ok, clamped = tx.atlas_uv(atlas, np.array([0, 0, 0, 0]), uv)
    np.testing.assert_allclose(out[0], out[1], atol=1e-6)
    assert clamped == 1 and ok.tolist() == [True, True, True, False]
    H, W = atlas.image.shape[:2]
    r, c = int((1 - out[3, 0, 1]) * H), int(out[3, 0, 0] * W)
    assert (atlas.image[r, c] == 255).all()


def test_points_split_only_where_coordinates_differ() -> None:
    pts = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]], float)
    tris = np.array([[0, 1, 2], [0, 2, 3]])
    same = np.array([[[0, 0], [1, 0], [1, 1]], [[0, 0], [1, 1], [0, 1]]], np.float32)
    p, t, uv = tx.split_points(pts, tris, same)
    assert len(p) == 4  # a shared edge with shared coordinates stays shared
    other = same.copy()
    other[1, 0] = (0.5, 0.5)
    p, t, uv = tx.split_points(pts, tris, other)
    assert len(p) == 5
    np.testing.assert_array_equal(p[t], pts[tris])  # same geometry
    np.testing.assert_array_equal(uv[t], other)


# -- the importer -----------------------------------------------------------------------


@needs_sample
def test_importer_keeps_the_image_and_warns_once_about_the_missing_ones(sample) -> None:
    _, layer = _open(sample)
    mesh = layer.mesh
    cells = tx.textured_cells(mesh)
    assert cells is not None and mesh.active_texture_coordinates is not None
    owners = set(layer.features.ids[layer.cell_features[cells]])
    assert owners == {ROOF_OWNER}
    assert 5 <= cells.sum() <= 6  # the 7-point roof
    atlas = tx.atlas_of(mesh)
    assert atlas is not None and atlas.shape[0] >= 1024 and atlas.shape[1] >= 1024
    missing = [w for w in layer.warnings if "textures not used" in w]
    assert len(missing) == 1 and "72 textures" in missing[0]
    assert "appearances/0320_7_8.jpg" in missing[0]
    assert layer.info["textures"] == "1 of 73 images drawn"
    # the default colours are the semantic ones (baking is the `textures` option)
    roof = np.asarray(mesh.cell_data["rgb_default"])[cells]
    assert (roof == roof[0]).all()


@needs_sample
def test_no_image_at_all_means_no_texture_and_one_warning(sample) -> None:
    (sample.parent / "appearances" / IMAGE.name).unlink()
    _, layer = _open(sample)
    assert tx.atlas_of(layer.mesh) is None and tx.textured_cells(layer.mesh) is None
    missing = [w for w in layer.warnings if "textures not used" in w]
    assert len(missing) == 1 and "73 textures" in missing[0]


@needs_sample
def test_draw_textures_off_keeps_the_plain_mesh(sample) -> None:
    _, layer = _open(sample, draw_textures=False)
    assert tx.atlas_of(layer.mesh) is None
    assert not any("textures not used" in w for w in layer.warnings)


# -- drawing ------------------------------------------------------------------------------


class _TopDown:
    """A parallel top-down view centred on the textured roof, 1 px = ``mpp`` m."""

    def __init__(self, scene, layer, textures: bool, mpp: float = 0.05) -> None:
        from twin.render import OffscreenRenderer
        from twin.render.looks import LookOptions

        self.layer = layer
        cells = tx.textured_cells(layer.mesh)
        ids = np.flatnonzero(cells) if cells is not None else np.flatnonzero(
            layer.features.ids[layer.cell_features] == ROOF_OWNER)
        self.roof = layer.mesh.extract_cells(ids).points
        self.centre = self.roof.mean(axis=0)
        self.mpp = mpp
        self.r = OffscreenRenderer(scene, SIZE, simulation=None,
                                   looks=LookOptions(textures=textures))
        cam = self.r.plotter.camera
        cam.ParallelProjectionOn()
        c = self.centre
        cam.focal_point = tuple(c)
        cam.position = (c[0], c[1], c[2] + 100.0)
        cam.up = (0.0, 1.0, 0.0)
        cam.parallel_scale = SIZE[1] / 2 * mpp
        self.r.plotter.reset_camera_clipping_range()

    def pixel_of(self, xy: np.ndarray) -> np.ndarray:
        """(col, row) image coordinates of scene-local x, y."""
        d = (np.asarray(xy) - self.centre[:2]) / self.mpp
        return np.c_[SIZE[0] / 2 + d[:, 0], SIZE[1] / 2 - d[:, 1]]

    def roof_mask(self, shrink: int = 7) -> np.ndarray:
        """The roof's pixels, a few pixels in from its outline."""
        mask = Image.new("L", SIZE, 0)
        ring = self.pixel_of(_roof_corners(self.r.scene))
        ImageDraw.Draw(mask).polygon([tuple(p) for p in ring], fill=255)
        mask = mask.filter(ImageFilter.MinFilter(shrink))
        return np.asarray(mask) > 0

    def close(self) -> None:
        self.r.close()


def _luma(img: np.ndarray) -> np.ndarray:
    return img.astype(float) @ np.array([0.2126, 0.7152, 0.0722])


def _roof_texels() -> np.ndarray:
    """The roof's corners in the image (texels, rows from the top)."""
    raw = np.asarray(ROOF_UV)
    with Image.open(IMAGE) as im:
        w, h = im.size
    return np.c_[raw[:, 0] * w, (1 - raw[:, 1]) * h]


@needs_sample
def test_textured_roof_shows_the_image(sample, output_dir) -> None:
    from twin.render import save_png

    scene, layer = _open(sample)
    shots = {}
    for on in (False, True):
        view = _TopDown(scene, layer, textures=on)
        try:
            shots[on] = view.r.frame()
            mask = view.roof_mask()
        finally:
            view.close()
    assert mask.sum() > 2000  # the roof covers a good part of the frame
    spread = {on: float(_luma(img[mask]).std()) for on, img in shots.items()}
    if not spread[True] > 5 * max(spread[False], 1.0):
        save_png(np.concatenate([shots[False], shots[True]], 1), output_dir / "textures.png")
    assert spread[False] < 2.0, spread  # one flat roof colour
    assert spread[True] > 5 * max(spread[False], 1.0), spread


@needs_sample
def test_roof_colour_matches_the_image_under_it(sample, output_dir) -> None:
    """Unlit (lighting off on the actor: the pixel is the texel), the roof's mean
    colour is the image's mean under the roof's texture polygon, and its pixels
    follow the image's pattern (an affine map from the roof's corners)."""
    from twin.render import save_png

    scene, layer = _open(sample)
    view = _TopDown(scene, layer, textures=True)
    try:
        view.r.view.actors[layer].GetProperty().LightingOff()
        img = view.r.frame()
        mask = view.roof_mask()
        corners = _roof_corners(scene)
    finally:
        view.close()
    texel = _roof_texels()
    with Image.open(IMAGE) as im:
        src = np.asarray(im.convert("RGB")).astype(float)
    poly = Image.new("L", (src.shape[1], src.shape[0]), 0)
    ImageDraw.Draw(poly).polygon([tuple(p) for p in texel], fill=255)
    under = np.asarray(poly.filter(ImageFilter.MinFilter(5))) > 0
    expected = src[under].mean(axis=0)
    got = img[mask].astype(float).mean(axis=0)
    if np.abs(got - expected).max() > 10:
        save_png(img, output_dir / "textures_unlit.png")
    assert np.abs(got - expected).max() <= 10, (got, expected)
    # Pattern: every roof pixel against the texel an affine map puts it on.
    fit = _affine(corners, texel)
    rows, cols = np.nonzero(mask)
    xy = view.centre[:2] + np.c_[cols + 0.5 - SIZE[0] / 2, SIZE[1] / 2 - rows - 0.5] * view.mpp
    tex = np.c_[xy, np.ones(len(xy))] @ fit
    blurred = np.asarray(Image.fromarray(src.astype(np.uint8)).filter(
        ImageFilter.BoxBlur(1))).astype(float)
    t = np.clip(np.round(tex).astype(int), 0, [src.shape[1] - 1, src.shape[0] - 1])
    want = _luma(blurred[t[:, 1], t[:, 0]])
    corr = float(np.corrcoef(_luma(img[rows, cols]), want)[0, 1])
    assert corr > 0.6, corr


def _roof_corners(scene) -> np.ndarray:
    """Scene-local x, y of the roof's ring, in the file's order (the order of
    :data:`ROOF_UV`): the file's vertices x scale + translate - the scene origin."""
    import json

    doc = json.loads(SUBSET.read_text())
    ring = doc["CityObjects"][ROOF_OWNER]["geometry"][0]["boundaries"][0][0]
    t = doc["transform"]
    raw = np.asarray([doc["vertices"][i] for i in ring], float) * t["scale"] + t["translate"]
    return raw[:, :2] - np.asarray(scene.origin)[:2]


def _affine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(3, 2) least-squares affine map taking points ``a`` to ``b``."""
    fit, *_ = np.linalg.lstsq(np.c_[a, np.ones(len(a))], b, rcond=None)
    return fit


@needs_sample
def test_look_off_and_restyle_give_back_the_plain_picture(sample) -> None:
    from twin.render.looks import LookOptions, apply_looks, remove_looks
    from twin.style import Style

    scene, layer = _open(sample)
    view = _TopDown(scene, layer, textures=False)
    try:
        plain = view.r.frame()
        apply_looks(view.r.view, LookOptions(textures=True))
        textured = view.r.frame()
        assert np.abs(textured.astype(int) - plain.astype(int)).max() > 40
        remove_looks(view.r.view)
        np.testing.assert_array_equal(view.r.frame(), plain)
        # a styled layer shows its style, not the images
        apply_looks(view.r.view, LookOptions(textures=True))
        mask = view.roof_mask()
        layer.style = Style(mode="solid", color=(200, 60, 60))
        scene.events.layer_changed.emit(layer, "style")
        solid = view.r.frame()
        assert view.r.view.actors[layer].texture is None
        assert _luma(solid[mask]).std() < 2.0
    finally:
        view.close()


@needs_sample
def test_a_layer_opened_later_gets_its_texture(sample) -> None:
    """The look is on before the file is opened (the app's default)."""
    from twin.render import OffscreenRenderer
    from twin.render.looks import LookOptions

    scene = importers.scene_for(sample)
    with OffscreenRenderer(scene, (64, 48), simulation=None,
                           looks=LookOptions(textures=True)) as r:
        [layer] = importers.open(sample, scene, {})
        scene.add_layer(layer)
        assert isinstance(r.view.actors[layer].texture, pv.Texture)
        colors = r.view.cell_colors(layer)
        cells = tx.textured_cells(layer.mesh)
        assert (colors[cells] == 255).all() and not (colors[~cells] == 255).all()


@needs_sample
def test_hiding_other_features_keeps_the_texture(sample) -> None:
    """A hidden building is drawn from a copy of the mesh without its cells: the
    copy keeps the texture coordinates, so the roof still shows the image."""
    scene, layer = _open(sample)
    view = _TopDown(scene, layer, textures=True)
    try:
        mask = view.roof_mask()
        before = view.r.frame()
        others = np.flatnonzero(layer.features.ids != ROOF_OWNER)
        scene.set_feature_visibility(layer, others, False)
        after = view.r.frame()
        assert view.r.view.drawn_mesh(layer).n_cells < layer.mesh.n_cells
        assert np.abs(after[mask].astype(int) - before[mask].astype(int)).max() <= 2
        assert _luma(after[mask]).std() > 5.0
    finally:
        view.close()


@needs_sample
def test_images_are_shrunk_to_the_file_budget(sample, monkeypatch) -> None:
    """All images of a file together keep at most TOTAL_TEXTURE_PIXELS decoded
    (a city of thousands of images must not hold gigabytes while loading)."""
    from importers.cityjson import appearance

    monkeypatch.setattr(appearance, "TOTAL_TEXTURE_PIXELS", 256 * 256)
    _, layer = _open(sample)
    atlas = tx.atlas_of(layer.mesh)
    assert atlas is not None and max(atlas.shape[:2]) < 300
    assert tx.textured_cells(layer.mesh).sum() >= 5
