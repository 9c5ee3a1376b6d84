"""A printable map page (A4 or A3 landscape) as PDF or PNG, laid out with Qt.

Used by File → Print map… (``app/panels/print_dialog.py``) and by
``citytwin report`` (``app/report_cmd.py``): one layout, two callers. The map
picture comes from the one offscreen renderer
(:func:`twin.render.print_view.render_print_view`) at print resolution; the
page adds the title, legends, a scale bar and north arrow, the CRS, the scene's
date and time, the data sources with their licences, all in Vietnamese or
English. The PDF is Qt's own writer (``QPdfWriter``), text as text: it can be
searched and copied, and ``pdftotext`` reads it.

Only QtGui is needed; with no display the ``offscreen`` platform is used, so a
headless server can print maps.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

#: Landscape page sizes in millimetres.
PAPERS_MM: dict[str, tuple[float, float]] = {"A4": (297.0, 210.0), "A3": (420.0, 297.0)}
#: Print resolution of the map picture (dots per inch).
DEFAULT_DPI = 300
MARGIN_MM = 10.0
GAP_MM = 5.0
TITLE_BAND_MM = 16.0
#: Sidebar width as a fraction of the page width.
SIDEBAR = 0.24
INK = (25, 25, 30)
FRAME = (90, 90, 95)


@dataclass
class PageSpec:
    """What the user chose for the page."""

    title: str
    paper: str = "A4"
    lang: str = "en"
    dpi: int = DEFAULT_DPI

    def __post_init__(self) -> None:
        if self.paper not in PAPERS_MM:
            raise ValueError(f"paper {self.paper!r}: expected one of {', '.join(PAPERS_MM)}")
        if self.lang not in ("en", "vi"):
            raise ValueError(f"language {self.lang!r}: expected en or vi")
        if not 30 <= int(self.dpi) <= 1200:
            raise ValueError(f"dpi {self.dpi}: expected 30..1200")


@dataclass(frozen=True)
class Layout:
    """Page rectangles in millimetres: (x, y, w, h), y down."""

    page: tuple[float, float]
    title: tuple[float, float, float, float]
    map: tuple[float, float, float, float]
    side: tuple[float, float, float, float]


def layout(paper: str) -> Layout:
    w, h = PAPERS_MM[paper]
    m = MARGIN_MM
    side_w = w * SIDEBAR
    top = m + TITLE_BAND_MM
    map_w = w - 2 * m - side_w - GAP_MM
    return Layout(
        page=(w, h),
        title=(m, m, w - 2 * m, TITLE_BAND_MM - 2),
        map=(m, top, map_w, h - top - m),
        side=(m + map_w + GAP_MM, top, side_w, h - top - m),
    )


def map_pixels(spec: PageSpec) -> tuple[int, int]:
    """Size of the map picture at the page's resolution."""
    _, _, w, h = layout(spec.paper).map
    return max(16, round(w / 25.4 * spec.dpi)), max(16, round(h / 25.4 * spec.dpi))


def ensure_gui() -> object:
    """A QGuiApplication (fonts and painting need one); the ``offscreen``
    platform when there is no display, so no window system is required."""
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QGuiApplication

    return QGuiApplication.instance() or QGuiApplication([])


def _font_family() -> str:
    """The bundled DejaVu Sans (every Vietnamese glyph), registered once."""
    from PySide6.QtGui import QFontDatabase

    from twin.render.captions import font_file

    fid = QFontDatabase.addApplicationFont(str(font_file()))
    families = QFontDatabase.applicationFontFamilies(fid) if fid >= 0 else []
    return families[0] if families else "DejaVu Sans"


def nice_length(target: float) -> float:
    from twin.render.scalebar import nice_length as nice

    return nice(target)


class _Painter:
    """Millimetre helpers over a QPainter at ``dpi``."""

    def __init__(self, painter, dpi: float, family: str) -> None:
        self.p, self.k, self.family = painter, dpi / 25.4, family

    def px(self, mm: float) -> float:
        return mm * self.k

    def font(self, pt: float, bold: bool = False):
        from PySide6.QtGui import QFont

        f = QFont(self.family)
        f.setPixelSize(max(1, round(pt / 72.0 * 25.4 * self.k)))
        f.setBold(bold)
        self.p.setFont(f)
        return f

    def rect(self, x: float, y: float, w: float, h: float):
        from PySide6.QtCore import QRectF

        return QRectF(self.px(x), self.px(y), self.px(w), self.px(h))

    def text(self, x: float, y: float, w: float, h: float, s: str, pt: float,
             bold: bool = False, align=None, color=INK) -> float:
        """Draw wrapped text in a box; returns the height used (mm)."""
        from PySide6.QtCore import Qt
        from PySide6.QtGui import QColor, QFontMetricsF

        self.font(pt, bold)
        self.p.setPen(QColor(*color))
        flags = (align if align is not None else Qt.AlignmentFlag.AlignLeft) | \
            Qt.TextFlag.TextWordWrap
        box = self.rect(x, y, w, h)
        used = QFontMetricsF(self.p.font()).boundingRect(box, int(flags), s)
        self.p.drawText(box, int(flags), s)
        return used.height() / self.k


def _qimage(image: np.ndarray):
    from PySide6.QtGui import QImage

    rgb = np.ascontiguousarray(image[..., :3])
    h, w = rgb.shape[:2]
    return QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


def paint_page(painter, spec: PageSpec, view, dpi: float, printed: datetime) -> None:
    """Lay out one page on ``painter`` (device units: ``dpi`` pixels per inch)."""
    from PySide6.QtCore import QPointF, Qt
    from PySide6.QtGui import QColor, QPen, QPolygonF

    from twin.locale_format import format_datetime, format_number
    from twin.render.print_view import text as words

    lang = spec.lang
    lay = layout(spec.paper)
    g = _Painter(painter, dpi, _font_family())
    painter.setRenderHint(painter.RenderHint.Antialiasing, True)
    painter.fillRect(g.rect(0, 0, *lay.page), QColor(255, 255, 255))
    # title
    g.text(*lay.title, spec.title, 18, bold=True)
    # map and its frame
    mx, my, mw, mh = lay.map
    painter.drawImage(g.rect(mx, my, mw, mh), _qimage(view.image))
    painter.setPen(QPen(QColor(*FRAME), g.px(0.3)))
    painter.setBrush(Qt.BrushStyle.NoBrush)
    painter.drawRect(g.rect(mx, my, mw, mh))

    sx, sy, sw, sh = lay.side
    y = sy
    # north arrow: rotated with the view (grid north of the scene CRS)
    r = 6.0
    cx, cy = sx + r + 1, y + r + 2
    ang = view.north_angle
    c, s = math.cos(ang), math.sin(ang)

    def pt(u: float, v: float) -> QPointF:  # u right, v up, in mm, rotated by the north angle
        ru, rv = u * c - v * s, u * s + v * c
        return QPointF(g.px(cx + ru), g.px(cy - rv))

    painter.setPen(QPen(QColor(*INK), g.px(0.2)))
    painter.setBrush(QColor(200, 30, 30))
    painter.drawPolygon(QPolygonF([pt(0, r), pt(0.62 * r, -0.75 * r), pt(0, -0.35 * r)]))
    painter.setBrush(QColor(120, 20, 20))
    painter.drawPolygon(QPolygonF([pt(0, r), pt(0, -0.35 * r), pt(-0.62 * r, -0.75 * r)]))
    tip = pt(0, r + 3.2)
    g.text(tip.x() / g.k - 5, tip.y() / g.k - 2.2, 10, 4.4, words("north", lang), 10, bold=True,
           align=Qt.AlignmentFlag.AlignCenter)
    # scale bar at the map centre
    bx = sx + 2 * r + 6
    mpp_page = view.metres_per_pixel * view.image.shape[1] / mw  # metres per page mm
    max_mm = sw - (bx - sx) - 2
    length = nice_length(mpp_page * max_mm * 0.8)
    bar_mm = length / mpp_page if mpp_page > 0 else 0.0
    by = cy + 1
    if bar_mm > 0 and math.isfinite(bar_mm):
        painter.setPen(QPen(QColor(*INK), g.px(0.25)))
        for i in range(4):  # alternating black and white quarters
            painter.setBrush(QColor(*INK) if i % 2 == 0 else QColor(255, 255, 255))
            painter.drawRect(g.rect(bx + i * bar_mm / 4, by, bar_mm / 4, 1.6))
        g.text(bx - 5, by + 2, 10, 4, "0", 7, align=Qt.AlignmentFlag.AlignHCenter)
        label = (f"{format_number(length / 1000, lang)} km" if length >= 1000
                 else f"{format_number(length, lang)} m")
        g.text(bx + bar_mm - 10, by + 2, 20, 4, label, 7, align=Qt.AlignmentFlag.AlignHCenter)
        g.text(bx, by - 6, max_mm + 2, 5, words("scale", lang), 7, color=(80, 80, 85))
    y = cy + r + 7
    # legends
    y += g.text(sx, y, sw, 6, words("legend", lang), 11, bold=True) + 1.5
    bottom_block = 62.0 if spec.paper == "A4" else 70.0
    legend_end = sy + sh - bottom_block
    y = _paint_legends(g, view.legends, sx, y, sw, legend_end, lang)
    # facts at the bottom of the sidebar
    y = max(y + 3, legend_end)
    facts = [
        (words("crs", lang), view.crs),
        (words("scene_time", lang),
         format_datetime(view.time, lang) + f" (UTC{_offset(view.time)})" if view.time
         else words("no_time", lang)),
        (words("printed", lang), format_datetime(printed, lang)),
        (words("sources", lang), "\n".join(view.sources)),
    ]
    for head, body in facts:
        y += g.text(sx, y, sw, 5, head, 7.5, bold=True)
        y += g.text(sx, y, sw, 30, body, 7.5) + 1.2
    note = words("perspective", lang) + "  " + words("made_with", lang)
    g.text(sx, min(y, sy + sh - 7), sw, 8, note, 6, color=(110, 110, 115))


def _offset(when: datetime) -> str:
    off = when.utcoffset()
    if off is None:
        return ""
    minutes = int(off.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _paint_legends(g: _Painter, specs, x: float, y: float, w: float, end: float,
                   lang: str) -> float:
    """Legends as a list of titled swatch rows and colour ramps; stops (with
    "…") when the space is used up."""
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QColor, QPen

    from twin.render.legend_model import format_number
    from twin.style import colormap_lut

    p = g.p
    row_h = 4.2
    for spec in specs:
        if y + 2 * row_h > end:
            g.text(x, y, w, row_h, "…", 8)
            return y + row_h
        y += g.text(x, y, w, 8, spec.title, 8, bold=True) + 0.5
        for sw in spec.swatches:
            if y + row_h > end:
                g.text(x, y, w, row_h, "…", 8)
                return y + row_h
            p.setPen(QPen(QColor(60, 60, 60), g.px(0.1)))
            if sw.shape != "none":
                p.setBrush(QColor(*(int(v) for v in sw.rgb)))
                if sw.shape in ("circle", "point"):
                    p.drawEllipse(g.rect(x + 0.3, y + 0.6, 3, 3))
                elif sw.shape == "line":
                    p.setPen(QPen(QColor(*(int(v) for v in sw.rgb)), g.px(1.0)))
                    p.drawLine(g.rect(x, y + 2, 4, 0).topLeft(), g.rect(x, y + 2, 4, 0).topRight())
                else:
                    p.drawRect(g.rect(x, y + 0.6, 4, 3))
            g.text(x + 5.5, y, w - 5.5, row_h, sw.label, 7.5)
            y += row_h
        if spec.cmap and spec.clim:
            n = 64
            cols = np.asarray(colormap_lut(str(spec.cmap), n), dtype=float)
            bar_w = w - 2
            p.setPen(Qt.PenStyle.NoPen)
            for i in range(n):
                p.setBrush(QColor(*(int(v) for v in cols[i])))
                p.drawRect(g.rect(x + i * bar_w / n, y + 0.5, bar_w / n + 0.05, 3))
            lo, hi = spec.clim
            span = hi - lo
            unit = f" {spec.unit}" if spec.unit else ""
            g.text(x, y + 4, w / 2, row_h, format_number(lo, lang, span) + unit, 7)
            g.text(x + w / 2 - 2, y + 4, w / 2, row_h, format_number(hi, lang, span) + unit, 7,
                   align=Qt.AlignmentFlag.AlignRight)
            y += 4 + row_h
        y += 1.5
    return y


def write_page(path: Path | str, spec: PageSpec, view, printed: datetime | None = None) -> Path:
    """Write the page as PDF (``.pdf``, Qt's PDF writer) or PNG (``.png``)."""
    from PySide6.QtCore import QMarginsF, QSizeF
    from PySide6.QtGui import QImage, QPageLayout, QPageSize, QPainter, QPdfWriter

    ensure_gui()
    path = Path(path)
    printed = printed or datetime.now().astimezone()
    w_mm, h_mm = PAPERS_MM[spec.paper]
    suffix = path.suffix.lower()
    tmp = path.with_name(f".{path.name}.tmp{suffix}")
    if suffix == ".pdf":
        writer = QPdfWriter(str(tmp))
        writer.setResolution(int(spec.dpi))
        size = QPageSize(QSizeF(w_mm, h_mm), QPageSize.Unit.Millimeter, spec.paper,
                         QPageSize.SizeMatchPolicy.ExactMatch)
        writer.setPageLayout(QPageLayout(size, QPageLayout.Orientation.Portrait,
                                         QMarginsF(0, 0, 0, 0)))
        writer.setTitle(spec.title)
        writer.setCreator("CityTwin")
        painter = QPainter(writer)
        try:
            paint_page(painter, spec, view, spec.dpi, printed)
        finally:
            painter.end()
        del writer  # flushes the file
    elif suffix == ".png":
        k = spec.dpi / 25.4
        image = QImage(round(w_mm * k), round(h_mm * k), QImage.Format.Format_RGB32)
        image.setDotsPerMeterX(round(spec.dpi / 0.0254))
        image.setDotsPerMeterY(round(spec.dpi / 0.0254))
        painter = QPainter(image)
        try:
            paint_page(painter, spec, view, spec.dpi, printed)
        finally:
            painter.end()
        if not image.save(str(tmp), "PNG"):
            raise OSError(f"{path}: could not write PNG")
    else:
        raise ValueError(f"{path}: expected a .pdf or .png file name")
    if not tmp.exists() or tmp.stat().st_size == 0:
        raise OSError(f"{path}: the page could not be written")
    os.replace(tmp, path)
    return path


def print_map(scene, state, path: Path | str, spec: PageSpec, simulation="auto",
              looks="auto", sun: bool | str = "auto", printed: datetime | None = None) -> Path:
    """Render ``state`` of ``scene`` for the page and write it to ``path``."""
    from twin.render.print_view import render_print_view

    view = render_print_view(scene, map_pixels(spec), state, spec.lang,
                             simulation=simulation, looks=looks, sun=sun)
    return write_page(path, spec, view, printed)
