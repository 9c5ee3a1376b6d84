"""Labels by attribute: shown labels never overlap, the nearest/largest win,
Vietnamese diacritics are drawn, and headless renders carry the labels."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from twin.features import FeatureTable
from twin.layer import Layer
from twin.meshing import extrude_polygons
from twin.render.labels import boxes_for, label_texts, place, project
from twin.scene import Bookmark, Scene
from twin.style import Style


def _disjoint(boxes: np.ndarray) -> bool:
    x0, y0, x1, y1 = (boxes[:, i] for i in range(4))
    overlap = (
        (x0[:, None] < x1[None, :]) & (x0[None, :] < x1[:, None])
        & (y0[:, None] < y1[None, :]) & (y0[None, :] < y1[:, None])
    )
    np.fill_diagonal(overlap, False)
    return not overlap.any()


def test_greedy_placement_keeps_disjoint_boxes_best_first() -> None:
    rng = np.random.default_rng(3)
    n = 5000
    xy = rng.uniform(0, [800, 600], size=(n, 2))
    widths = rng.uniform(20, 140, size=n)
    boxes = boxes_for(xy, widths, 18.0, line=False, lift=3.0)
    pri = rng.uniform(size=n)
    kept = place(boxes, pri, (800, 600))
    assert 50 < len(kept) < n
    assert _disjoint(boxes[kept])
    # wholly on screen
    b = boxes[kept]
    assert (b[:, 0] >= 0).all() and (b[:, 2] <= 800).all() and (b[:, 3] <= 600).all()
    # the best candidate always wins; a dropped one overlaps a better kept one
    on_screen = np.flatnonzero((boxes[:, 0] >= 0) & (boxes[:, 1] >= 0)
                               & (boxes[:, 2] <= 800) & (boxes[:, 3] <= 600))
    best = on_screen[np.argmax(pri[on_screen])]
    assert best in kept
    dropped = np.setdiff1d(on_screen, kept)[:200]
    for d in dropped:  # greedy: each was refused for a better neighbour (grid-rounded)
        better = kept[pri[kept] > pri[d]]
        grown = boxes[better] + [-4, -4, 4, 4]
        hit = ((grown[:, 0] < boxes[d, 2]) & (boxes[d, 0] < grown[:, 2])
               & (grown[:, 1] < boxes[d, 3]) & (boxes[d, 1] < grown[:, 3]))
        assert hit.any()


def test_priority_decides_between_two_overlapping_labels() -> None:
    boxes = np.array([[100, 100, 200, 120], [150, 110, 250, 130]], dtype=float)
    assert place(boxes, np.array([1.0, 2.0]), (400, 300)).tolist() == [1]
    assert place(boxes, np.array([2.0, 1.0]), (400, 300)).tolist() == [0]


def test_projection_matches_vtk() -> None:
    import vtk

    ren = vtk.vtkRenderer()
    win = vtk.vtkRenderWindow()
    win.SetOffScreenRendering(True)
    win.SetSize(400, 300)
    win.AddRenderer(ren)
    cam = ren.GetActiveCamera()
    cam.SetPosition(50, -80, 60)
    cam.SetFocalPoint(0, 0, 0)
    cam.SetViewUp(0, 0, 1)
    pts = np.array([[0.0, 0, 0], [10, 5, 3], [-20, 15, 8]])
    m = cam.GetCompositeProjectionTransformMatrix(400 / 300, -1, 1)
    mat = np.array([[m.GetElement(i, j) for j in range(4)] for i in range(4)])
    xy, w = project(mat, pts, (400, 300))
    for p, q in zip(pts, xy, strict=True):
        ren.SetWorldPoint(*p, 1.0)
        ren.WorldToDisplay()
        assert np.allclose(ren.GetDisplayPoint()[:2], q, atol=0.5)
    assert (w > 0).all()


def test_texts_skip_missing_values() -> None:
    rows, texts = label_texts(np.array(["Ga Việt Trì", "", None, "  Chợ "], dtype=object))
    assert rows.tolist() == [0, 3] and texts.tolist() == ["Ga Việt Trì", "Chợ"]
    rows, texts = label_texts(np.array([12.0, np.nan, 3.5]))
    assert rows.tolist() == [0, 2] and texts.tolist() == ["12", "3.5"]


def test_vietnamese_glyphs_are_real_glyphs_not_the_missing_box() -> None:
    """Each letter of "Đường Hùng Vương" rasterises to its own glyph with the
    bundled font; a font without them draws the same .notdef box for all."""
    from twin.render.labels import TextBitmaps

    fonts = TextBitmaps(24, 1)
    missing = fonts.bitmap("\u0378", "feature")  # an unassigned code point
    for ch in "ĐườngùƯƠỹ":
        glyph = fonts.bitmap(ch, "feature")
        assert glyph.shape != missing.shape or not np.array_equal(glyph, missing), ch
    viet = fonts.bitmap("Đường Hùng Vương", "feature")
    ascii_ = fonts.bitmap("Duong Hung Vuong", "feature")
    assert viet[..., 3].astype(int).sum() > ascii_[..., 3].astype(int).sum()  # marks add ink
    # the marks sit above the capitals' top: ink in the top rows (row 0 is the bottom)
    top = viet.shape[0] - 1 - np.flatnonzero((viet[..., 3] > 128).any(axis=1)).max()
    top_ascii = ascii_.shape[0] - 1 - np.flatnonzero((ascii_[..., 3] > 128).any(axis=1)).max()
    assert top <= top_ascii


# ------------------------------------------------------------------ render
def _blocks(names: list[str], xs: list[float], heights: list[float]) -> Layer:
    geoms = np.array([shapely.box(x - 8, -8, x + 8, 8) for x in xs], dtype=object)
    tm = extrude_polygons(geoms, np.zeros(len(xs)), np.asarray(heights, float))
    b = np.array([[x - 8, x + 8, -8, 8, 0, h] for x, h in zip(xs, heights, strict=True)])
    table = FeatureTable(np.arange(len(xs)).astype(str), np.full(len(xs), "residential", object),
                         np.array(names, dtype=object), b)
    return Layer("blocks", tm.to_polydata(), table, kind="buildings",
                 style=Style(mode="solid", color=(200, 200, 200), label="name"))


def _scene(layer: Layer) -> Scene:
    scene = Scene(crs="EPSG:9208", origin=(0.0, 0.0, 0.0))
    scene.add_layer(layer)
    return scene


@pytest.mark.render
def test_diacritics_are_drawn_in_headless_renders(output_dir) -> None:
    from twin.render import OffscreenRenderer, save_png, use_offscreen_gl
    from twin.viewstate import ViewState

    use_offscreen_gl()
    layer = _blocks(["Đường Hùng Vương"], [0.0], [10.0])
    scene = _scene(layer)
    cam = Bookmark("top", (0.0, -1.0, 120.0), (0.0, 0.0, 0.0), (0.0, 1.0, 0.0), 30.0)
    with OffscreenRenderer(scene, (320, 240), simulation=None, looks=None) as ren:
        with_labels = ren.draw(ViewState(camera=cam))
        placed = ren.view.labels.placed
        layer.style.label = None
        without = ren.draw(ViewState(camera=cam))
    save_png(with_labels, output_dir / "labels_diacritics.png")
    assert placed.texts == ["Đường Hùng Vương"]
    x0, y0, x1, y1 = np.floor(placed.boxes[0]).astype(int)
    rows = slice(240 - y1, 240 - y0)  # display y up -> image rows down
    box = with_labels[rows, x0:x1].astype(int)
    dark = (box.sum(axis=2) < 250)
    assert dark.sum() > 40  # glyph ink
    # the label is gone when "Label by" is off: labels are part of the picture
    assert np.abs(with_labels.astype(int) - without.astype(int))[rows, x0:x1].sum() > 0
    assert (np.abs(with_labels.astype(int) - without.astype(int)).sum(axis=2) > 0).sum() > 60


@pytest.mark.render
def test_dense_labels_do_not_overlap_and_near_ones_win(output_dir) -> None:
    from twin.render import OffscreenRenderer, save_png, use_offscreen_gl
    from twin.viewstate import ViewState

    use_offscreen_gl()
    xs = [float(x) for x in range(0, 400, 20)]
    layer = _blocks([f"Tòa nhà số {i}" for i in range(len(xs))], xs, [8.0] * len(xs))
    scene = _scene(layer)
    # looking along the row from beside its first block: near blocks first
    cam = Bookmark("row", (-60.0, -40.0, 25.0), (200.0, 0.0, 0.0), (0.0, 0.0, 1.0), 50.0)
    with OffscreenRenderer(scene, (320, 240), simulation=None, looks=None) as ren:
        img = ren.draw(ViewState(camera=cam))
        placed = ren.view.labels.placed
        done = ren.view.labels.compositions
        again = ren.frame()  # nothing moved: the label image is reused, not re-placed
        assert ren.view.labels.compositions == done
        assert np.array_equal(again, img)
        scene.set_feature_visibility(layer, [0], False)  # hiding a feature re-places
        ren.frame()
        assert ren.view.labels.compositions == done + 1
        assert 0 not in ren.view.labels.placed.rows.tolist()
    save_png(img, output_dir / "labels_dense.png")
    assert 1 <= len(placed.texts) < len(xs)
    assert _disjoint(placed.boxes)
    assert 0 in placed.rows.tolist()  # the nearest block keeps its label
    assert placed.rows.max() < len(xs) - 1  # the far end of the row is hidden


@pytest.mark.render
def test_street_names_turn_with_their_street(output_dir) -> None:
    """A road running at 45 degrees on screen gets its name along it (ink
    spread along the diagonal), not level across it."""
    from twin.render import OffscreenRenderer, save_png, use_offscreen_gl
    from twin.viewstate import ViewState

    use_offscreen_gl()
    ribbon = shapely.LineString([(-60, -60), (60, 60)]).buffer(4, cap_style="flat")
    tm = extrude_polygons(np.array([ribbon], dtype=object), np.zeros(1), np.full(1, 0.2),
                          walls=False, floor=False)
    b = np.array([[*ribbon.bounds[0::2], *ribbon.bounds[1::2], 0.0, 0.2]])
    table = FeatureTable(np.array(["r1"], object), np.array(["primary"], object),
                         np.array(["Đại lộ Hùng Vương"], object), b)
    road = Layer("roads", tm.to_polydata(), table, kind="roads",
                 style=Style(mode="solid", color=(90, 90, 95), label="name"))
    scene = _scene(road)
    cam = Bookmark("top", (0.0, 0.0, 150.0), (0.0, 0.0, 0.0), (0.0, 1.0, 0.0), 40.0)
    with OffscreenRenderer(scene, (320, 240), simulation=None, looks=None) as ren:
        img = ren.draw(ViewState(camera=cam))
        placed = ren.view.labels.placed
    save_png(img, output_dir / "labels_street.png")
    assert placed.texts == ["Đại lộ Hùng Vương"]
    x0, y0, x1, y1 = placed.boxes[0]
    assert (y1 - y0) > 0.5 * (x1 - x0)  # a turned label's box, not a flat strip
    rows = slice(240 - int(np.ceil(y1)), 240 - int(np.floor(y0)))
    ink = np.argwhere(img[rows, int(x0):int(np.ceil(x1))].sum(axis=2) < 230)  # text, not road
    assert len(ink) > 30
    # image rows grow downwards: a label rising to the right has a negative
    # row-column correlation
    assert np.corrcoef(ink[:, 0], ink[:, 1])[0, 1] < -0.8


def test_scene_file_label_and_attribution(tmp_path) -> None:
    from twin.scenefile import SceneFileError, parse_scene

    text = """
[scene]
crs = "EPSG:9208"
origin = [0.0, 0.0, 0.0]
[[layers]]
path = "roads.geojson"
attribution = "© OpenStreetMap contributors, ODbL 1.0"
style = { by = "class", label = "name" }
"""
    spec = parse_scene(text, tmp_path / "s.toml")
    assert spec.layers[0].style.label == "name"
    assert spec.layers[0].attribution == "© OpenStreetMap contributors, ODbL 1.0"
    with pytest.raises(SceneFileError, match="label"):
        parse_scene(text.replace('label = "name"', "label = 3"), tmp_path / "s.toml")
