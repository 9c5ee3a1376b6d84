"""Legends: what every colour in the view means, in English or Vietnamese.

The model is plain data (:class:`LegendSpec` of :class:`Swatch` rows or a colour
ramp) so the window, a render check and a tour video draw the same thing
(:class:`twin.render.legends.LegendOverlay`), and tests read it without a GL
context. Colours are never restated here: layer legends ask :mod:`twin.style`
(the functions the renderer calls), sensor legends ask the glyph code, so a
legend cannot drift from the picture. This module imports no VTK or Qt; a few
builders import the renderer's colour helpers lazily when called.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from twin.sim.kinds import KINDS as SENSOR_KINDS

#: Swatch shapes the overlay draws; the 3D names are aliases of their 2D icon.
SHAPES = ("square", "sphere", "circle", "cube", "cone", "triangle", "cylinder", "pin",
          "outline", "line", "none")

#: Sensor kind -> the legend icon of its glyph (mirrors twin.render.glyphs._shape).
KIND_SHAPES: dict[str, str] = {
    "traffic": "pin", "parking": "pin",
    "water_meter": "cube", "waste": "cube", "energy": "cube", "solar": "cube",
    "water_level": "cylinder", "water_pressure": "cylinder", "water_quality": "cylinder",
}
DEFAULT_KIND_SHAPE = "sphere"

#: Outline colours of feature states, as drawn by the simulation overlays
#: (twin.sim.simulation.STATUS_RGB, read from there when it imports; these are
#: the fallbacks). Planned is a light blue in the family of planned.GHOST_RGB.
PLANNED_OUTLINE_RGB = (120, 190, 255)
CONSTRUCTION_OUTLINE_RGB = (255, 140, 0)
FLOODED_OUTLINE_RGB = (20, 90, 230)
WARNING_OUTLINE_RGB = (250, 170, 30)
ALARM_OUTLINE_RGB = (230, 30, 30)
#: Features a plan will demolish (a darker red than the alarm outline).
REMOVED_OUTLINE_RGB = (190, 30, 45)
#: The flood's water sheet (twin.render.overlays.FLOOD_RGB).
FLOOD_WATER_RGB = (45, 105, 200)

#: Class legends list at most this many rows; the rest become "+N other".
MAX_ENTRIES = 12
#: Past this many sensor kinds, the sensor legend lists decree domains instead.
MAX_KIND_ROWS = 8

#: key -> (English, Vietnamese). Keys are the identifiers the data uses (class
#: names, sensor kinds) or the English phrase itself.
WORDS: dict[str, tuple[str, str]] = {
    # titles and headings
    "Sensors": ("Sensors", "Cảm biến"),
    "State": ("State", "Trạng thái"),
    "Heat map": ("Heat map", "Bản đồ nhiệt"),
    "Air quality (AQI)": ("Air quality (AQI)", "Chất lượng không khí (AQI)"),
    "Plan": ("Plan", "Quy hoạch"),
    "Flood": ("Flood", "Ngập lụt"),
    "Alerts": ("Alerts", "Vượt ngưỡng"),
    "Layer": ("Layer", "Lớp"),
    # rows
    "All features": ("All features", "Tất cả đối tượng"),
    "other": ("+{n} other", "+{n} loại khác"),
    "Planned": ("Planned", "Dự kiến xây dựng"),
    "Under construction": ("Under construction", "Đang xây dựng"),
    "To be demolished": ("To be demolished", "Sẽ phá dỡ"),
    "Built": ("Built", "Đã xây dựng"),
    "No data": ("No data", "Không có dữ liệu"),
    "Normal": ("Normal", "Bình thường"),
    "Warning": ("Warning", "Cảnh báo"),
    "Alarm": ("Alarm", "Báo động"),
    "Flood water": ("Flood water", "Vùng nước ngập"),
    "Flooded feature": ("Flooded feature", "Công trình bị ngập"),
    "Water level": ("Water level", "Mực nước"),
    # sensor kinds (twin.sim.sensors.KINDS)
    "air_quality": ("Air quality", "Chất lượng không khí"),
    "noise": ("Noise", "Tiếng ồn"),
    "traffic": ("Traffic", "Giao thông"),
    "parking": ("Parking", "Bãi đỗ xe"),
    "street_light": ("Street light", "Đèn đường"),
    "energy": ("Energy", "Điện năng"),
    "solar": ("Solar power", "Điện mặt trời"),
    "water_meter": ("Water meter", "Đồng hồ nước"),
    "water_pressure": ("Water pressure", "Áp lực nước"),
    "water_quality": ("Water quality", "Chất lượng nước"),
    "water_level": ("Water level", "Mực nước"),
    "waste": ("Waste", "Rác thải"),
    # feature classes (twin.style.CLASS_PALETTE)
    "residential": ("Residential", "Nhà ở"),
    "shophouse": ("Shophouse", "Nhà phố thương mại"),
    "apartment": ("Apartment", "Chung cư"),
    "office": ("Office", "Văn phòng"),
    "commercial": ("Commercial", "Thương mại"),
    "school": ("School", "Trường học"),
    "hospital": ("Hospital", "Bệnh viện"),
    "station": ("Station", "Nhà ga"),
    "government": ("Government", "Cơ quan nhà nước"),
    "industrial": ("Industrial", "Công nghiệp"),
    "religious": ("Religious", "Tôn giáo"),
    "yes": ("Building", "Công trình"),
    "university": ("University", "Trường đại học"),
    "primary": ("Primary road", "Đường chính"),
    "secondary": ("Secondary road", "Đường phụ"),
    "residential_road": ("Residential road", "Đường khu dân cư"),
    "service": ("Service road", "Đường nội bộ"),
    "rail": ("Railway", "Đường sắt"),
    "park": ("Park", "Công viên"),
    "green": ("Green space", "Cây xanh"),
    "water": ("Water", "Mặt nước"),
    "river": ("River", "Sông"),
    "plaza": ("Plaza", "Quảng trường"),
    # buried networks (tools/synth/networks.py, importers/pipes.py)
    "water_main": ("Water main", "Ống cấp nước"),
    "junction": ("Valve chamber", "Hố van"),
    "pressure_node": ("Pressure logger", "Điểm đo áp lực"),
    "district_meter": ("District meter", "Đồng hồ tổng (DMA)"),
    "storm_sewer": ("Storm sewer", "Cống thoát nước mưa"),
    "manhole": ("Manhole", "Hố ga"),
    "gauged_manhole": ("Gauged manhole", "Hố ga có cảm biến mực nước"),
    "outfall": ("Outfall", "Cửa xả"),
}
# sensor kinds the words above lack come from the kinds catalogue
WORDS.update({k: kind.name for k, kind in SENSOR_KINDS.items() if k not in WORDS})
_BY_ENGLISH = {en.casefold(): key for key, (en, _vi) in WORDS.items()}
LANGS = ("en", "vi")


def translate(word: str, lang: str = "en") -> str:
    """The display text of a fixed legend word (a key of :data:`WORDS` or its
    English text) in ``lang``; anything else (layer names, IFC classes, user
    attributes) comes back unchanged."""
    text = str(word)
    key = text if text in WORDS else _BY_ENGLISH.get(text.casefold())
    if key is None:
        return text
    en, vi = WORDS[key]
    return vi if lang == "vi" else en


def format_number(value: float, lang: str = "en", span: float | None = None) -> str:
    """A tick label: decimals from the range's magnitude (0-200 gives whole
    numbers, 0-1 gives two places), Vietnamese swaps the separators (1.234,5)."""
    v = float(value)
    if not math.isfinite(v):
        return "–"
    ref = abs(span) if span is not None and math.isfinite(span) and span > 0 else abs(v)
    decimals = 0 if ref == 0 else min(4, max(0, 2 - math.floor(math.log10(ref))))
    text = f"{v:,.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if text in ("-0", ""):
        text = "0"
    if lang == "vi":
        text = text.translate(str.maketrans({",": ".", ".": ","}))
    return text


@dataclass(frozen=True)
class Swatch:
    """One legend row: a coloured icon and its label. ``shape`` is one of
    :data:`SHAPES` (``none``: text only, for "+N other" and sub-headings)."""

    rgb: tuple[int, int, int]
    label: str
    shape: str = "square"


@dataclass(frozen=True)
class LegendSpec:
    """One legend: categorical ``swatches`` and/or a ramp (``cmap`` over ``clim``
    in ``unit``). ``key`` identifies it (``layer:<name>``, ``sensors`` ...) so a
    view can replace one legend of its stack; ``lang`` formats the ticks."""

    key: str
    title: str
    swatches: tuple[Swatch, ...] = ()
    cmap: str | None = None
    clim: tuple[float, float] | None = None
    unit: str = ""
    lang: str = "en"

    @property
    def has_ramp(self) -> bool:
        return bool(self.cmap) and self.clim is not None

    def tick_labels(self) -> tuple[str, str]:
        """Labels of the ramp's low and high ends, with the unit."""
        if self.clim is None:
            return ("", "")
        lo, hi = (float(v) for v in self.clim)
        span = hi - lo if math.isfinite(hi - lo) else None
        unit = f" {self.unit}" if self.unit else ""
        return (format_number(lo, self.lang, span) + unit,
                format_number(hi, self.lang, span) + unit)


def _rgb(value: Any) -> tuple[int, int, int]:
    r, g, b = (round(float(c)) for c in np.asarray(value).reshape(-1)[:3])
    return (r, g, b)


def _geometry_shape(layer: Any) -> str:
    """Icon for a layer's cells: polygons a square, centre lines a line, points a dot."""
    mesh = layer.mesh
    try:
        polys, lines = mesh.GetNumberOfPolys() + mesh.GetNumberOfStrips(), mesh.GetNumberOfLines()
        verts = mesh.GetNumberOfVerts()
    except AttributeError:
        return "square"
    if polys == 0 and lines > 0:
        return "line"
    if polys == 0 and lines == 0 and verts > 0:
        return "circle"
    return "square"


def categorical_swatches(values: np.ndarray, colors: np.ndarray, lang: str = "en",
                         shape: str = "square",
                         max_entries: int = MAX_ENTRIES) -> tuple[Swatch, ...]:
    """Rows for the distinct ``values`` (most frequent first) in the colour of their
    first feature in ``colors`` (n, 3); beyond ``max_entries`` rows the tail
    collapses into one "+N other" row."""
    vals = np.asarray(values).astype(str)
    if vals.size == 0:
        return ()
    uniq, first, counts = np.unique(vals, return_index=True, return_counts=True)
    order = np.lexsort((uniq, -counts))
    keep = order if len(order) <= max_entries else order[: max(1, max_entries - 1)]
    rgb = np.asarray(colors).reshape(-1, 3)[first[keep]]
    rows = tuple(Swatch(_rgb(c), translate(u, lang), shape) for u, c in zip(uniq[keep], rgb,
                                                                             strict=True))
    rest = len(order) - len(keep)
    if rest:
        rows += (Swatch((0, 0, 0), translate("other", lang).format(n=rest), "none"),)
    return rows


def style_legend(layer: Any, lang: str = "en") -> LegendSpec | None:
    """The legend of a layer's style, from the colours the renderer computes:
    class mode lists the classes present, attribute mode gives the ramp over the
    range :func:`twin.style.attribute_colors` uses, solid one row; native colours
    (and empty layers, or a style that cannot colour) have no legend."""
    from twin.style import attribute_colors, feature_colors

    style, table = layer.style, layer.features
    if len(table) == 0 or style.mode == "native":
        return None
    key, shape = f"layer:{layer.name}", _geometry_shape(layer)
    if style.mode == "solid":
        row = Swatch(_rgb(style.color), translate("All features", lang), shape)
        return LegendSpec(key, translate(layer.name, lang), (row,), lang=lang)
    try:
        colors = feature_colors(table, style)
    except (KeyError, ValueError):
        return None
    if style.mode == "class":
        return LegendSpec(key, translate(layer.name, lang),
                          categorical_swatches(table.classes, colors, lang, shape), lang=lang)
    if style.mode != "attribute" or not style.attribute:
        return None
    column = table.column(style.attribute)
    title = translate(style.attribute, lang)
    try:
        numeric = np.asarray(column, dtype=np.float64)
    except (TypeError, ValueError):
        return LegendSpec(key, title, categorical_swatches(column, colors, lang, shape),
                          lang=lang)
    _, clim = attribute_colors(numeric, style)
    rows: tuple[Swatch, ...] = ()
    if not np.isfinite(numeric).all():
        rows = (Swatch(_rgb(style.missing_color), translate("No data", lang), shape),)
    return LegendSpec(key, title, rows, cmap=style.cmap,
                      clim=(float(clim[0]), float(clim[1])), lang=lang)


def _kind_rgb(kind: str, has_thresholds: bool) -> tuple[int, int, int]:
    """The colour a kind's glyphs usually show: the normal state where thresholds
    colour them, else the kind's full-value colour, both from the glyph code."""
    from twin.render.glyphs import LEVEL_RGB, glyph_style

    if has_thresholds:
        return _rgb(LEVEL_RGB[1])
    nan = np.array([np.nan])
    _, rgb = glyph_style(np.ones(1), np.zeros(1, dtype=np.int8), kind, nan, nan, 1.0)
    return _rgb(rgb[0])


def _by_domain(kinds: list[str], rows: list[Swatch], lang: str) -> list[Swatch]:
    """One row per decree domain (its first kind's glyph, "Water supply (4 kinds)"):
    a district with every domain has too many kinds for a legend beside the view."""
    from twin.sim.kinds import KINDS, domain_name

    groups: dict[str, list[int]] = {}
    for i, kind in enumerate(kinds):
        groups.setdefault(KINDS[kind].domain if kind in KINDS else "", []).append(i)
    out = []
    for domain, members in groups.items():
        first = rows[members[0]]
        if len(members) == 1 or not domain:
            out += [rows[i] for i in members]
            continue
        label = domain_name(kinds[members[0]], lang)
        out.append(Swatch(first.rgb, f"{label} ({len(members)})", first.shape))
    return out


def sensor_legend(sensors: Any, lang: str = "en") -> LegendSpec:
    """One row per sensor kind present (its glyph shape and colour), then the
    state colours: no data, normal, warning, alarm."""
    from twin.render.glyphs import LEVEL_RGB

    kinds = np.asarray(getattr(sensors, "kinds", ()), dtype=object).astype(str)
    thr = np.isfinite(np.asarray(getattr(sensors, "warning", np.full(len(kinds), np.nan)),
                                 dtype=np.float64))
    thr |= np.isfinite(np.asarray(getattr(sensors, "alarm", np.full(len(kinds), np.nan)),
                                  dtype=np.float64))
    rows: list[Swatch] = []
    if kinds.size:
        uniq, inverse = np.unique(kinds, return_inverse=True)
        with_thr = np.bincount(inverse.ravel(), weights=thr, minlength=len(uniq)) > 0
        rows += [Swatch(_kind_rgb(k, bool(t)), translate(k, lang),
                        KIND_SHAPES.get(k, DEFAULT_KIND_SHAPE))
                 for k, t in zip(uniq.tolist(), with_thr.tolist(), strict=True)]
        if len(rows) > MAX_KIND_ROWS:
            rows = _by_domain(uniq.tolist(), rows, lang)
        rows.append(Swatch((0, 0, 0), translate("State", lang), "none"))
    states = ("No data", "Normal", "Warning", "Alarm")
    rows += [Swatch(_rgb(LEVEL_RGB[i]), translate(s, lang), "circle")
             for i, s in enumerate(states)]
    return LegendSpec("sensors", translate("Sensors", lang), tuple(rows), lang=lang)


def heatmap_legend(thematic_legend: Any, lang: str = "en", key: str = "heatmap") -> LegendSpec:
    """A ramp legend from a simulation :class:`~twin.sim.overlays.thematic.Legend`
    (heat map, thematic colouring): its title translated, cmap, range and unit."""
    lo, hi = (float(v) for v in thematic_legend.clim)
    return LegendSpec(key, translate(str(thematic_legend.title), lang),
                      cmap=str(thematic_legend.cmap), clim=(lo, hi),
                      unit=str(getattr(thematic_legend, "unit", "") or ""), lang=lang)


def status_rgb(status: str, fallback: tuple[int, int, int]) -> tuple[int, int, int]:
    """The outline colour the simulation draws for ``status`` (``PLANNED``,
    ``CONSTRUCTION``, ``FLOODED``, ``WARNING``, ``ALARM``), else ``fallback``."""
    try:
        from twin.sim import simulation as sim

        return _rgb(sim.STATUS_RGB[getattr(sim, f"STATUS_{status}")])
    except (ImportError, AttributeError, IndexError, TypeError, ValueError):
        return fallback


def plan_legend(lang: str = "en", demolition: bool = True) -> LegendSpec:
    """Plan states, drawn as outlines of the affected features; ``demolition``
    adds the row of features a plan will remove."""
    rows = (Swatch(status_rgb("PLANNED", PLANNED_OUTLINE_RGB), translate("Planned", lang),
                   "outline"),
            Swatch(status_rgb("CONSTRUCTION", CONSTRUCTION_OUTLINE_RGB),
                   translate("Under construction", lang), "outline"))
    if demolition:
        rows += (Swatch(status_rgb("REMOVED", REMOVED_OUTLINE_RGB),
                        translate("To be demolished", lang), "outline"),)
    return LegendSpec("plan", translate("Plan", lang), rows, lang=lang)


def alert_legend(lang: str = "en") -> LegendSpec:
    """Outline colours of features whose sensors are at warning or alarm."""
    rows = (Swatch(status_rgb("WARNING", WARNING_OUTLINE_RGB), translate("Warning", lang),
                   "outline"),
            Swatch(status_rgb("ALARM", ALARM_OUTLINE_RGB), translate("Alarm", lang), "outline"))
    return LegendSpec("alerts", translate("Alerts", lang), rows, lang=lang)


def _flood_water_rgb() -> tuple[int, int, int]:
    try:
        from twin.render.overlays import FLOOD_RGB

        return _rgb(FLOOD_RGB)
    except (ImportError, AttributeError, TypeError, ValueError):
        return FLOOD_WATER_RGB


def flood_legend(lang: str = "en", level: float | None = None, unit: str = "m") -> LegendSpec:
    """The water sheet and the outline of flooded features; with ``level`` a
    text row gives the water level."""
    rows: tuple[Swatch, ...] = (
        Swatch(_flood_water_rgb(), translate("Flood water", lang), "square"),
        Swatch(status_rgb("FLOODED", FLOODED_OUTLINE_RGB), translate("Flooded feature", lang),
               "outline"),
    )
    if level is not None and math.isfinite(level):
        text = f"{translate('Water level', lang)}: {format_number(level, lang, 1.0)} {unit}"
        rows += (Swatch((0, 0, 0), text.strip(), "none"),)
    return LegendSpec("flood", translate("Flood", lang), rows, lang=lang)

