"""Legends: the model agrees with the renderer's colours, every fixed word has a
Vietnamese text, and the overlay paints exactly what the model says."""

from __future__ import annotations

import os

os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")

import numpy as np
import pytest

from twin.features import FeatureTable
from twin.layer import Layer
from twin.render.legend_model import (
    KIND_SHAPES,
    MAX_ENTRIES,
    WORDS,
    LegendSpec,
    Swatch,
    alert_legend,
    flood_legend,
    format_number,
    heatmap_legend,
    plan_legend,
    sensor_legend,
    style_legend,
    translate,
)
from twin.style import CLASS_PALETTE, Style, attribute_colors, feature_colors


def make_layer(classes: list[str], style: Style | None = None, lines: bool = False,
               **attributes) -> Layer:
    """One quad (or one line) per feature, so the layer is as small as it gets."""
    import pyvista as pv

    n = len(classes)
    if lines:
        pts = np.column_stack([np.arange(2 * n, dtype=float), np.zeros(2 * n), np.zeros(2 * n)])
        mesh = pv.PolyData(pts, lines=np.column_stack([np.full(n, 2), np.arange(0, 2 * n, 2),
                                                       np.arange(1, 2 * n, 2)]).ravel())
    else:
        mesh = pv.Plane(i_resolution=max(n, 1), j_resolution=1).triangulate()
        mesh = mesh.extract_cells(np.arange(n)).extract_surface(algorithm="dataset_surface") \
            if mesh.n_cells != n else mesh
    mesh.cell_data["feature"] = np.arange(mesh.n_cells, dtype=np.int32) % max(n, 1)
    table = FeatureTable(np.array([f"F{i}" for i in range(n)], dtype=object),
                         np.array(classes, dtype=object), np.array([""] * n, dtype=object),
                         np.zeros((n, 6)), {k: np.asarray(v) for k, v in attributes.items()})
    return Layer("Công trình (buildings)", mesh, table, style=style or Style())


class FakeSensors:
    def __init__(self, kinds, warning, alarm) -> None:
        self.kinds = np.array(kinds, dtype=object)
        self.warning = np.array(warning, dtype=float)
        self.alarm = np.array(alarm, dtype=float)


# ------------------------------------------------------------------ model
def test_class_legend_lists_present_classes_in_renderer_colours() -> None:
    classes = ["residential", "school", "residential", "hospital", "mystery", "residential"]
    layer = make_layer(classes, Style(class_colors={"school": (1, 2, 3)}))
    spec = style_legend(layer)
    assert spec is not None and spec.cmap is None and spec.title == layer.name
    colors = feature_colors(layer.features, layer.style)
    expected = {translate(c): tuple(int(v) for v in colors[classes.index(c)]) for c in classes}
    assert {s.label: s.rgb for s in spec.swatches} == expected
    assert spec.swatches[0].label == "Residential"  # the most frequent first
    assert expected["School"] == (1, 2, 3) and "mystery" in expected  # unknown passes through
    vi = style_legend(layer, "vi")
    assert [s.label for s in vi.swatches][:1] == ["Nhà ở"]
    assert {"Trường học", "Bệnh viện"} <= {s.label for s in vi.swatches}


def test_class_legend_summarises_the_tail() -> None:
    classes = [f"c{i:02d}" for i in range(20)]
    spec = style_legend(make_layer(classes))
    assert len(spec.swatches) == MAX_ENTRIES
    assert spec.swatches[-1] == Swatch((0, 0, 0), f"+{20 - MAX_ENTRIES + 1} other", "none")
    assert style_legend(make_layer(classes), "vi").swatches[-1].label.endswith("loại khác")


def test_attribute_legend_uses_the_renderers_range() -> None:
    heights = np.array([3.0, np.nan, 27.5, 12.0])
    layer = make_layer(["a"] * 4, Style(mode="attribute", attribute="height", cmap="magma"),
                       height=heights)
    spec = style_legend(layer)
    assert spec.title == "height" and spec.cmap == "magma"
    assert spec.clim == attribute_colors(heights, layer.style)[1] == (3.0, 27.5)
    assert spec.swatches == (Swatch(layer.style.missing_color, "No data"),)
    layer.style.clim = (0.0, 50.0)
    assert style_legend(layer).clim == (0.0, 50.0)
    assert style_legend(layer, "vi").tick_labels() == ("0", "50")
    text = make_layer(["a", "b"], Style(mode="attribute", attribute="use"), use=["shop", "home"])
    assert {s.label for s in style_legend(text).swatches} == {"shop", "home"}
    assert style_legend(make_layer(["a"], Style(mode="attribute", attribute="missing"))) is None


def test_solid_native_empty_and_line_layers() -> None:
    solid = style_legend(make_layer(["a", "b"], Style(mode="solid", color=(9, 8, 7))))
    assert solid.swatches == (Swatch((9, 8, 7), "All features"),)
    assert style_legend(make_layer(["a"], Style(mode="native"))) is None
    assert style_legend(make_layer([])) is None
    roads = style_legend(make_layer(["primary", "service"], lines=True), "vi")
    assert {s.shape for s in roads.swatches} == {"line"}
    assert {s.label for s in roads.swatches} == {"Đường chính", "Đường nội bộ"}


def test_sensor_legend_matches_glyph_shapes_and_colours() -> None:
    from twin.render.glyphs import KIND_RGB, LEVEL_RGB, _shape

    sensors = FakeSensors(["air_quality", "street_light", "traffic", "water_level", "traffic"],
                          [100, np.nan, np.nan, 3.0, np.nan], [150, np.nan, np.nan, 4.0, np.nan])
    spec = sensor_legend(sensors)
    rows = {s.label: s for s in spec.swatches}
    assert rows["Air quality"].rgb == tuple(LEVEL_RGB[1]) and rows["Air quality"].shape == "sphere"
    assert rows["Street light"].rgb == KIND_RGB["street_light"]
    assert rows["Traffic"].shape == "pin" and rows["Water level"].shape == "cylinder"
    assert [s.rgb for s in spec.swatches[-4:]] == [tuple(c) for c in LEVEL_RGB]
    assert [s.label for s in sensor_legend(sensors, "vi").swatches[-4:]] == [
        "Không có dữ liệu", "Bình thường", "Cảnh báo", "Báo động"]
    # the icon names follow the glyph meshes: same icon <=> same mesh
    meshes = {k: _shape(k) for k in [*KIND_SHAPES, "noise"]}
    meshes = {k: m[0] if isinstance(m, tuple) else m for k, m in meshes.items()}
    sig = {k: (m.n_points, m.n_cells) for k, m in meshes.items()}
    for a in sig:
        for b in sig:
            same = KIND_SHAPES.get(a, "sphere") == KIND_SHAPES.get(b, "sphere")
            assert (sig[a] == sig[b]) == same, (a, b)
    assert len(sensor_legend(FakeSensors([], [], [])).swatches) == 4


def test_a_district_with_every_domain_lists_domains_not_kinds() -> None:
    """Seventeen kinds would fill the view: past eight, one row per decree domain."""
    from twin.sim.kinds import KINDS

    kinds = sorted(KINDS)
    assert len(kinds) > 8
    nan = [np.nan] * len(kinds)
    spec = sensor_legend(FakeSensors(kinds, nan, nan), "vi")
    labels = [s.label for s in spec.swatches]
    domains = {k.domain for k in KINDS.values()}
    assert len(labels) <= len(domains) + 5 + 2  # domains (+ lone kinds), heading, states
    assert "Cấp nước (4)" in labels and "Thoát nước và ngập lụt (3)" in labels
    few = sensor_legend(FakeSensors(kinds[:3], nan[:3], nan[:3]))
    assert len(few.swatches) == 3 + 1 + 4  # a few kinds keep a row each


def test_overlay_legends() -> None:
    from twin.render.overlays import FLOOD_RGB
    from twin.sim import simulation as sim
    from twin.sim.overlays.thematic import Legend

    heat = heatmap_legend(Legend("air_quality", "RdYlGn_r", (0.0, 200.0), "AQI"), "vi")
    assert (heat.title, heat.cmap, heat.clim) == ("Chất lượng không khí", "RdYlGn_r", (0, 200))
    assert heat.tick_labels() == ("0 AQI", "200 AQI")
    def drawn(status: str) -> tuple[int, ...]:
        return tuple(int(v) for v in sim.STATUS_RGB[getattr(sim, f"STATUS_{status}")])

    plan = plan_legend()
    assert [s.shape for s in plan.swatches] == ["outline"] * 3
    assert [s.rgb for s in plan.swatches[:2]] == [drawn("PLANNED"), drawn("CONSTRUCTION")]
    assert len(plan_legend(demolition=False).swatches) == 2
    assert [s.rgb for s in alert_legend().swatches] == [drawn("WARNING"), drawn("ALARM")]
    assert drawn("WARNING") == (250, 170, 30) and drawn("ALARM") == (230, 30, 30)
    flood = flood_legend("vi", level=3.25)
    assert flood.swatches[0].rgb == tuple(FLOOD_RGB) == (45, 105, 200)
    assert flood.swatches[1].rgb == drawn("FLOODED") and flood.swatches[1].shape == "outline"
    assert flood.swatches[-1].label == "Mực nước: 3,25 m"


def test_every_fixed_word_is_translated() -> None:
    for key, (en, vi) in WORDS.items():
        assert en and vi and vi != en, key
        assert any(ord(ch) > 127 for ch in vi), f"{key}: {vi!r} has no Vietnamese letters"
        assert translate(key, "vi") == vi and translate(en, "vi") == vi
    assert set(CLASS_PALETTE) <= set(WORDS)
    from twin.sim.sensors import KINDS

    assert set(KINDS) <= set(WORDS)
    english = {en for en, _ in WORDS.values()} | {"+{n} other"}
    sensors = FakeSensors(list(KINDS), [1.0] * len(KINDS), [2.0] * len(KINDS))
    specs = [sensor_legend(sensors, "vi"), plan_legend("vi"), alert_legend("vi"),
             flood_legend("vi", 1.0), style_legend(make_layer(list(CLASS_PALETTE)[:10]), "vi")]
    for spec in specs:
        for text in (spec.title, *(s.label for s in spec.swatches)):
            assert text not in english, f"untranslated {text!r} in {spec.key}"


def test_unknown_words_pass_through_and_numbers_follow_the_language() -> None:
    assert translate("IfcWall", "vi") == "IfcWall"
    assert translate("Quận Hoàn Kiếm", "en") == "Quận Hoàn Kiếm"
    assert translate("school", "en") == "School" and translate("SENSORS", "vi") == "Cảm biến"
    assert format_number(1234.5, "vi", 10.0) == "1.234,5"
    assert format_number(1234.5, "en", 10.0) == "1,234.5"
    assert format_number(0.126, "en", 1.0) == "0.13" and format_number(float("nan")) == "–"
    assert LegendSpec("k", "t", cmap="viridis", clim=(0.0, 1.0), unit="m").tick_labels() == (
        "0 m", "1 m")


# ------------------------------------------------------------------ render
@pytest.fixture(scope="module")
def plotter():
    import pyvista as pv

    p = pv.Plotter(off_screen=True, window_size=(400, 300))
    p.set_background((0.45, 0.5, 0.55))
    yield p
    p.close()


def _shot(p) -> np.ndarray:
    p.render()
    return np.asarray(p.screenshot(return_img=True))[:, :, :3].astype(int)


@pytest.mark.render
def test_overlay_paints_the_legend_and_hides_it(plotter) -> None:
    from twin.render.legends import LegendOverlay
    from twin.style import colormap_lut

    plain = _shot(plotter)
    overlay = LegendOverlay(plotter.renderer)
    layer = make_layer(["residential", "school", "hospital", "station", "park"])
    ramp = LegendSpec("heat", "Chất lượng không khí", cmap="RdYlGn_r", clim=(0.0, 200.0),
                      unit="AQI", lang="vi")
    overlay.set([style_legend(layer, "vi"), ramp, plan_legend("vi")])
    img = _shot(plotter)
    from PIL import Image

    Image.fromarray(img.astype(np.uint8)).save("/tmp/legend_check.png")
    rows, cols = overlay.region()
    assert cols.stop > 300 and rows.start < 30  # top-right corner
    assert np.abs(img[rows, cols] - plain[rows, cols]).sum(-1).mean() > 30
    outside = np.ones(img.shape[:2], dtype=bool)
    outside[rows, cols] = False
    assert np.array_equal(img[outside], plain[outside])
    h = img.shape[0]
    samples = overlay.swatch_centers()
    assert len(samples) == 5 + 3
    for s in samples:
        px = img[h - 1 - s.y, s.x]
        assert np.abs(px - np.array(s.rgb)).max() <= 3, (s, px)
    (_, x0, x1, y0, y1), = overlay.ramp_boxes()
    lut = colormap_lut("RdYlGn_r").astype(int)
    row = h - 1 - round((y0 + y1) / 2)
    assert np.abs(img[row, round(x0) + 1] - lut[0]).max() <= 12
    assert np.abs(img[row, round(x1) - 2] - lut[-1]).max() <= 12

    overlay.set([])
    assert overlay.region() is None
    assert np.array_equal(_shot(plotter), plain)
    overlay.remove()


@pytest.mark.render
def test_overlay_follows_window_size_and_survives_odd_specs(plotter) -> None:
    from twin.render.legends import LegendOverlay

    overlay = LegendOverlay(plotter.renderer, corner="bottom-left")
    odd = [None, LegendSpec("empty", ""),
           LegendSpec("odd", "", (Swatch((999, -5, 7), "", "hexagon"), Swatch((1, 2), "x")),
                      cmap="no-such-map", clim=(float("nan"), float("inf")))]
    overlay.set(odd)
    _shot(plotter)
    assert overlay.region() is not None
    overlay.set([alert_legend()])
    _shot(plotter)
    rows, cols = overlay.region()
    assert cols.start < 20 and rows.stop > 280  # bottom-left
    small = rows.stop - rows.start
    plotter.window_size = (1000, 750)
    img = _shot(plotter)
    rows, cols = overlay.region()
    assert img.shape[:2] == (750, 1000) and rows.stop - rows.start > 1.3 * small
    plotter.window_size = (400, 300)
    crowd = [sensor_legend(FakeSensors(["noise"] * 3, [1, 2, 3], [4, 5, 6]))] * 12
    overlay.set([*crowd, LegendSpec("last", "Last", (Swatch((1, 2, 3), "x"),))])
    img = _shot(plotter)
    rows, cols = overlay.region()
    assert "last" in overlay.dropped and cols.stop <= 400 and rows.stop <= 300
    overlay.remove()
    assert not overlay.texts
    bare = _shot(plotter)[rows, cols]
    assert (bare == img[-1, -1]).all()
