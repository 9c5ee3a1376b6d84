"""Legends drawn in the 3D view: the same stack in the window, a render and a video.

A :class:`LegendOverlay` turns :class:`~twin.render.legend_model.LegendSpec` s into 2D props
in a corner of a renderer: one translucent actor for the card backgrounds, one
opaque actor for every icon, ramp and border (per-point colours, so a ramp is a
quad strip coloured from :func:`twin.style.colormap_lut`), and a text actor per
string in the shipped DejaVu Sans (VTK's own fonts lack Vietnamese glyphs).
Sizes follow the viewport height, so a 320x240 test frame, the app window and a
4K export show the same legend at the same proportions. Layout happens on
:meth:`LegendOverlay.set` and again when the viewport size changes (a size
check in a ``StartEvent`` observer), never on an ordinary frame.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
import vtk
from vtkmodules.util.numpy_support import numpy_to_vtk, numpy_to_vtkIdTypeArray

from twin.render.captions import font_file
from twin.render.legend_model import LegendSpec, Swatch

log = logging.getLogger(__name__)


CORNERS = ("top-right", "top-left", "bottom-right", "bottom-left")
PANEL_RGB = (1.0, 1.0, 1.0)
PANEL_OPACITY = 0.86
PANEL_EDGE_RGB = (178, 184, 192)
TITLE_RGB = (0.08, 0.10, 0.13)
LABEL_RGB = (0.13, 0.15, 0.19)
MUTED_RGB = (0.36, 0.38, 0.42)
#: Label font height as a fraction of the viewport's reference height.
LEGEND_SCALE = 0.021
#: Icon aliases: glyph shapes are drawn as their 2D silhouette.
_ICON = {"sphere": "circle", "cube": "square", "cone": "triangle"}
_RAMP_STEPS = 64


class SwatchSample(NamedTuple):
    """Where a swatch's colour can be read: the window pixel in column ``x``, row
    ``y`` counted from the bottom (image row ``height - 1 - y``), is painted in
    ``rgb``: the centre of a filled icon, the left side of an outline."""

    key: str
    label: str
    rgb: tuple[int, int, int]
    shape: str
    x: int
    y: int


class _Metrics(NamedTuple):
    """Sizes of one layout, pixels: fonts (labels, titles, ticks) and spacing."""

    f: int
    ft: int
    fk: int
    pad: float
    row: float
    icon: float
    gap: float
    bar_h: float
    max_text: float
    max_title: float

    @classmethod
    def for_font(cls, f: int, width: int) -> _Metrics:
        return cls(f, max(f + 1, round(f * 1.15)), max(9, round(f * 0.88)), 0.75 * f, 1.5 * f,
                   0.95 * f, 0.6 * f, 0.85 * f, max(4.0 * f, 0.30 * width),
                   max(5.0 * f, 0.36 * width))


class _Ink:
    """Polygons with per-point colours, gathered then turned into one polydata."""

    def __init__(self) -> None:
        self.points: list[np.ndarray] = []
        self.colors: list[np.ndarray] = []

    def add(self, pts: np.ndarray, rgb) -> None:
        pts = np.asarray(pts, dtype=np.float64).reshape(-1, 2)
        col = np.asarray(rgb, dtype=np.float64)
        col = np.broadcast_to(col, (len(pts), 3)) if col.ndim == 1 else col.reshape(-1, 3)
        self.points.append(pts)
        self.colors.append(np.clip(np.round(col), 0, 255).astype(np.uint8))

    def add_quads(self, quads: np.ndarray, rgb) -> None:
        """(m, 4, 2) quads, all in ``rgb``."""
        for q in np.asarray(quads, dtype=np.float64).reshape(-1, 4, 2):
            self.add(q, rgb)

    def polydata(self) -> vtk.vtkPolyData:
        poly = vtk.vtkPolyData()
        if not self.points:
            return poly
        sizes = np.array([len(p) for p in self.points], dtype=np.int64)
        pts = np.vstack(self.points)
        vpts = vtk.vtkPoints()
        vpts.SetData(numpy_to_vtk(np.column_stack([pts, np.zeros(len(pts))]), deep=True))
        offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        cells = vtk.vtkCellArray()
        cells.SetData(numpy_to_vtkIdTypeArray(offsets, deep=True),
                      numpy_to_vtkIdTypeArray(np.arange(offsets[-1], dtype=np.int64), deep=True))
        poly.SetPoints(vpts)
        poly.SetPolys(cells)
        rgb = numpy_to_vtk(np.vstack(self.colors), deep=True)
        rgb.SetName("rgb")
        poly.GetPointData().SetScalars(rgb)
        return poly


def rounded_rect(x0: float, y0: float, x1: float, y1: float, r: float, k: int = 6) -> np.ndarray:
    """(4k, 2) counter-clockwise outline of a rectangle with corner radius ``r``."""
    r = max(0.0, min(r, (x1 - x0) / 2, (y1 - y0) / 2))
    a = np.linspace(0.0, math.pi / 2, k)
    starts = np.array([0.0, 0.5, 1.0, 1.5]) * math.pi
    centres = np.array([(x1 - r, y1 - r), (x0 + r, y1 - r), (x0 + r, y0 + r), (x1 - r, y0 + r)])
    ang = (starts[:, None] + a[None, :]).ravel()
    c = np.repeat(centres, k, axis=0)
    return c + r * np.column_stack([np.cos(ang), np.sin(ang)])


def ring(outer: np.ndarray, inner: np.ndarray) -> np.ndarray:
    """(m, 4, 2) quads filling the band between two outlines of m points each."""
    nxt = np.roll(np.arange(len(outer)), -1)
    return np.stack([outer, outer[nxt], inner[nxt], inner], axis=1)


def _circle(cx: float, cy: float, r: float, k: int = 28) -> np.ndarray:
    a = np.linspace(0.0, 2 * math.pi, k, endpoint=False)
    return np.column_stack([cx + r * np.cos(a), cy + r * np.sin(a)])


def _safe_rgb(rgb) -> np.ndarray:
    try:
        arr = np.asarray(rgb, dtype=np.float64).reshape(-1)[:3]
    except (TypeError, ValueError):
        arr = np.zeros(0)
    if arr.size != 3 or not np.isfinite(arr).all():
        return np.array([128.0, 128.0, 128.0])
    return np.clip(arr, 0, 255)


def _ramp_colors(cmap: str | None, n: int) -> np.ndarray:
    """(n, 3) samples of ``cmap`` through twin.style; a grey ramp if it is unknown."""
    from twin.style import colormap_lut

    try:
        return np.asarray(colormap_lut(str(cmap), n), dtype=np.float64)
    except Exception:  # an unknown name must not take the view down
        return np.repeat(np.linspace(40, 230, n)[:, None], 3, axis=1)


class LegendOverlay:
    """A stack of legends in a corner of ``renderer``; :meth:`set` replaces it,
    ``set([])`` hides it, :meth:`remove` takes every prop away.

    ``corner`` is one of :data:`CORNERS`; ``offset`` (pixels) moves the stack
    away from that corner (e.g. to clear a toolbar); ``scale`` multiplies sizes.
    Cards go down (top corners) or up (bottom corners) and wrap into another
    column when the viewport is too short.
    """

    def __init__(self, renderer, font: Path | None = None, corner: str = "top-right",
                 offset: tuple[float, float] = (0.0, 0.0), scale: float = 1.0) -> None:
        self.renderer = renderer
        self.font = str(font or font_file())
        self.corner = corner if corner in CORNERS else "top-right"
        self.offset = (float(offset[0]), float(offset[1]))
        self.scale = float(scale) if scale and math.isfinite(scale) and scale > 0 else 1.0
        self.specs: list[LegendSpec] = []
        self.panel = self._actor2d(opaque=False)
        self.ink = self._actor2d(opaque=True)
        renderer.AddViewProp(self.panel)
        renderer.AddViewProp(self.ink)
        self.texts: list[vtk.vtkTextActor] = []
        self._size: tuple[int, int] | None = None
        self._cards: list[tuple[float, float, float, float]] = []
        self._samples: list[SwatchSample] = []
        self._ramps: list[tuple[str, float, float, float, float]] = []
        self._visible = True
        #: keys of specs left out because the viewport had no room for them
        self.dropped: list[str] = []
        self._tag = renderer.AddObserver("StartEvent", self._on_start)
        self._hide()

    # ------------------------------------------------------------------ public
    def set(self, specs: Sequence[LegendSpec | None]) -> None:
        """Show ``specs`` top to bottom (None and empty specs are skipped)."""
        self.specs = [s for s in (specs or ()) if isinstance(s, LegendSpec)
                      and (s.swatches or s.has_ramp)]
        self.relayout()

    def set_visible(self, visible: bool) -> None:
        """Toggle without forgetting the specs (the window's legend switch)."""
        self._visible = bool(visible)
        self.relayout()

    @property
    def visible(self) -> bool:
        return self._visible and bool(self._cards)

    def relayout(self) -> None:
        """Lay the stack out for the viewport's current size (no-op once removed)."""
        if self._tag is None:
            return
        w, h = (int(v) for v in self.renderer.GetSize())
        self._size = (w, h)
        if not self.renderer.HasViewProp(self.panel):
            # someone cleared the renderer (plotter.clear()): come back on the next set
            for prop in (self.panel, self.ink, *self.texts):
                self.renderer.AddViewProp(prop)
        if not (self._visible and self.specs) or w < 8 or h < 8:
            self._hide()
            return
        try:
            self._layout(w, h)
        except Exception:  # a legend must never break a render; show nothing instead
            log.exception("legend layout failed")
            self._hide()

    def region(self) -> tuple[slice, slice] | None:
        """Rows and columns (top row first) of the stack in a screenshot of the
        whole window, or None when nothing is shown."""
        if not self._cards:
            return None
        win_h = int(self.renderer.GetRenderWindow().GetSize()[1])
        ox, oy = (int(v) for v in self.renderer.GetOrigin())
        c = np.asarray(self._cards)
        x0, x1 = c[:, 0].min() + ox, c[:, 1].max() + ox
        y0, y1 = c[:, 2].min() + oy, c[:, 3].max() + oy
        top, bottom = max(0, win_h - math.ceil(y1)), max(0, win_h - math.floor(y0))
        return slice(top, bottom), slice(max(0, math.floor(x0)), math.ceil(x1))

    def swatch_centers(self) -> list[SwatchSample]:
        """A pixel of every drawn icon and its colour, in window coordinates."""
        ox, oy = (int(v) for v in self.renderer.GetOrigin())
        return [s._replace(x=s.x + ox, y=s.y + oy) for s in self._samples]

    def ramp_boxes(self) -> list[tuple[str, float, float, float, float]]:
        """(key, x0, x1, y0, y1) of every ramp bar, window pixels (origin bottom-left)."""
        ox, oy = (float(v) for v in self.renderer.GetOrigin())
        return [(k, x0 + ox, x1 + ox, y0 + oy, y1 + oy) for k, x0, x1, y0, y1 in self._ramps]

    def remove(self) -> None:
        """Take every prop and the observer off the renderer."""
        if self._tag is not None:
            self.renderer.RemoveObserver(self._tag)
            self._tag = None
        for prop in (self.panel, self.ink, *self.texts):
            self.renderer.RemoveViewProp(prop)
        self.texts = []
        self._cards, self._samples, self._ramps = [], [], []

    # ---------------------------------------------------------------- internals
    @staticmethod
    def _actor2d(opaque: bool) -> vtk.vtkActor2D:
        mapper = vtk.vtkPolyDataMapper2D()
        mapper.SetInputData(vtk.vtkPolyData())
        actor = vtk.vtkActor2D()
        actor.SetMapper(mapper)
        actor.PickableOff()
        if opaque:
            mapper.ScalarVisibilityOn()
            mapper.SetScalarModeToUsePointData()
            mapper.SetColorModeToDirectScalars()
        else:
            mapper.ScalarVisibilityOff()
            actor.GetProperty().SetColor(*PANEL_RGB)
            actor.GetProperty().SetOpacity(PANEL_OPACITY)
        return actor

    def _on_start(self, *_: object) -> None:
        size = tuple(int(v) for v in self.renderer.GetSize())
        if size != self._size:
            self.relayout()

    def _hide(self) -> None:
        for actor in (self.panel, self.ink, *self.texts):
            actor.SetVisibility(False)
        self._cards, self._samples, self._ramps = [], [], []
        self.dropped = []

    def _text(self, i: int) -> vtk.vtkTextActor:
        while len(self.texts) <= i:
            actor = vtk.vtkTextActor()
            prop = actor.GetTextProperty()
            prop.SetFontFamily(vtk.VTK_FONT_FILE)
            prop.SetFontFile(self.font)
            actor.PickableOff()
            self.renderer.AddViewProp(actor)
            self.texts.append(actor)
        return self.texts[i]

    def _measure(self, actor: vtk.vtkTextActor, text: str, size: int) -> float:
        actor.SetInput(text)
        actor.GetTextProperty().SetFontSize(size)
        bbox = [0.0, 0.0, 0.0, 0.0]
        actor.GetBoundingBox(self.renderer, bbox)
        width = bbox[1] - bbox[0]
        return width if width > 0 else 0.58 * size * len(text)

    def _fit(self, actor: vtk.vtkTextActor, text: str, size: int, max_w: float) -> float:
        """Set ``text`` on ``actor``, shortened with an ellipsis to ``max_w`` pixels."""
        width = self._measure(actor, text, size)
        tries = 0
        while width > max_w and len(text) > 2 and tries < 6:
            keep = max(1, int(len(text) * max_w / width) - 1)
            text = text[:keep].rstrip() + "…"
            width = self._measure(actor, text, size)
            tries += 1
        return width

    def _fit_title(self, actor: vtk.vtkTextActor, text: str, size: int,
                   max_w: float) -> tuple[float, int]:
        """Set a title on ``actor``: one line, else the narrowest two-line split
        that fits, else one shortened line. Returns (width, lines)."""
        width = self._measure(actor, text, size)
        words = text.split()
        if width <= max_w or len(words) < 2:
            return (width if width <= max_w else self._fit(actor, text, size, max_w)), 1
        splits = [" ".join(words[:i]) + "\n" + " ".join(words[i:]) for i in range(1, len(words))]
        widths = [self._measure(actor, t, size) for t in splits]
        best = int(np.argmin(widths))
        if widths[best] <= max_w:
            self._measure(actor, splits[best], size)
            return widths[best], 2
        return self._fit(actor, text, size, max_w), 1

    def _layout(self, w: int, h: int) -> None:
        ref = min(h, w * 0.75) * self.scale
        # below ~10 px DejaVu's stacked Vietnamese marks (ậ, ỡ) smear together; a
        # stack too wide for a small frame shrinks to 9 px, then drops whole columns
        f = max(10, round(ref * LEGEND_SCALE))
        margin = max(4.0, 0.018 * min(w, h))
        avail_w = max(1.0, w - 2 * margin - abs(self.offset[0]))
        avail_h = max(1.0, h - 2 * margin - abs(self.offset[1]))
        while True:
            m = _Metrics.for_font(f, w)
            columns = self._pack(self._measure_cards(m), m.gap, avail_h)
            widths = [max(c[1] for c in col) for col in columns]
            if sum(widths) + m.gap * (len(widths) - 1) <= avail_w or f <= 9:
                break
            f = max(9, math.floor(f * 0.88))
        keep, used = 0, 0.0
        for cw in widths:
            if keep and used + m.gap + cw > avail_w:
                break
            used += (m.gap if keep else 0.0) + cw
            keep += 1
        self.dropped = [card[0].key for col in columns[keep:] for card in col]

        right = self.corner.endswith("right")
        top = self.corner.startswith("top")
        x_edge = (w - margin - self.offset[0]) if right else (margin + self.offset[0])
        panel, ink = _Ink(), _Ink()
        self._cards, self._samples, self._ramps = [], [], []
        shown: set[int] = set()
        for col, cw in zip(columns[:keep], widths[:keep], strict=True):
            x0 = x_edge - cw if right else x_edge
            x_edge = x0 - m.gap if right else x0 + cw + m.gap
            total = sum(c[2] for c in col) + m.gap * (len(col) - 1)
            y_top = (h - margin - self.offset[1]) if top else (margin + self.offset[1] + total)
            for spec, _, ch, items in col:
                self._place(spec, items, x0, y_top, cw, ch, panel, ink, m)
                shown.update(id(it[1]) for it in items if it[0] != "ramp")
                shown.update(id(a) for it in items if it[0] == "ramp" for a in it[4:6])
                y_top -= ch + m.gap

        self.panel.GetMapper().SetInputData(panel.polydata())
        self.ink.GetMapper().SetInputData(ink.polydata())
        self.panel.SetVisibility(True)
        self.ink.SetVisibility(True)
        for actor in self.texts:
            actor.SetVisibility(id(actor) in shown)

    def _measure_cards(self, m: _Metrics) -> list[tuple]:
        """(spec, width, height, items) per card; item positions are offsets from
        the card's top-left corner, downwards."""
        n_text = 0
        cards = []
        for spec in self.specs:
            items: list[tuple] = []
            width, y = 0.0, m.pad
            if spec.title:
                actor = self._text(n_text)
                n_text += 1
                tw, lines = self._fit_title(actor, str(spec.title), m.ft, m.max_title)
                items.append(("title", actor, y - 0.1 * m.ft))
                width, y = max(width, tw), y + m.ft * (1.2 * lines + 0.1)
            if spec.has_ramp:
                lo_t, hi_t = spec.tick_labels()
                lo_a, hi_a = self._text(n_text), self._text(n_text + 1)
                n_text += 2
                lw = self._fit(lo_a, lo_t, m.fk, m.max_text / 2)
                hw = self._fit(hi_a, hi_t, m.fk, m.max_text / 2)
                width = max(width, 7.5 * m.f, lw + hw + m.f)
                y += 0.25 * m.f
                items.append(("ramp", spec, y, y + m.bar_h, lo_a, hi_a))
                y += m.bar_h + 0.25 * m.f + m.fk * 1.35
            for sw in spec.swatches:
                if not isinstance(sw, Swatch):
                    continue
                actor = self._text(n_text)
                n_text += 1
                shape = _ICON.get(sw.shape, sw.shape)
                indent = 0.0 if shape == "none" else m.icon + m.gap
                lw = self._fit(actor, str(sw.label), m.f, m.max_text)
                width = max(width, indent + lw)
                items.append(("row", actor, y + m.row / 2, sw, shape, indent))
                y += m.row
            cards.append((spec, max(width, 3 * m.f) + 2 * m.pad, y + m.pad - 0.2 * m.f, items))
        return cards

    @staticmethod
    def _pack(cards: list[tuple], gap: float, avail: float) -> list[list[tuple]]:
        """Cards into columns no taller than ``avail`` (a taller card gets its own)."""
        columns: list[list[tuple]] = [[]]
        used = 0.0
        for card in cards:
            if columns[-1] and used + gap + card[2] > avail:
                columns.append([])
                used = 0.0
            used += (gap if columns[-1] else 0.0) + card[2]
            columns[-1].append(card)
        return columns if columns[0] else []

    def _place(self, spec: LegendSpec, items: list[tuple], x0: float, y_top: float, cw: float,
               ch: float, panel: _Ink, ink: _Ink, m: _Metrics) -> None:
        """Draw one card whose top-left corner is at (x0, y_top)."""
        x0, y_top, cw, ch = round(x0), round(y_top), round(cw), round(ch)
        f, ft, fk, icon, pad = m.f, m.ft, m.fk, m.icon, m.pad
        x1, y0 = x0 + cw, y_top - ch
        outline = rounded_rect(x0, y0, x1, y_top, 0.45 * f)
        panel.add(outline, (255, 255, 255))
        edge = max(1.0, round(0.07 * f))
        inner = rounded_rect(x0 + edge, y0 + edge, x1 - edge, y_top - edge,
                             max(0.0, 0.45 * f - edge))
        ink.add_quads(ring(outline, inner), PANEL_EDGE_RGB)
        self._cards.append((x0, x1, y0, y_top))
        left = x0 + pad
        for item in items:
            kind = item[0]
            if kind == "title":
                _, actor, dy = item
                self._set_text(actor, left, y_top - dy, ft, TITLE_RGB, "left", "top")
            elif kind == "ramp":
                _, _, ya, yb, lo_a, hi_a = item
                self._ramp(spec, ink, left, x1 - pad, y_top - yb, y_top - ya, f)
                ty = y_top - yb - 0.25 * f
                self._set_text(lo_a, left, ty, fk, MUTED_RGB, "left", "top")
                self._set_text(hi_a, x1 - pad, ty, fk, MUTED_RGB, "right", "top")
            else:
                _, actor, dy, sw, shape, indent = item
                cy = y_top - dy
                muted = shape == "none"
                if not muted:
                    self._icon(ink, spec.key, sw, shape, left + icon / 2, cy, icon)
                self._set_text(actor, left + indent, cy, f, MUTED_RGB if muted else LABEL_RGB,
                               "left", "center")

    @staticmethod
    def _set_text(actor: vtk.vtkTextActor, x: float, y: float, size: int, rgb, halign: str,
                  valign: str) -> None:
        prop = actor.GetTextProperty()
        prop.SetFontSize(size)
        prop.SetColor(*rgb)
        {"left": prop.SetJustificationToLeft, "right": prop.SetJustificationToRight}[halign]()
        {"center": prop.SetVerticalJustificationToCentered,
         "top": prop.SetVerticalJustificationToTop}[valign]()
        actor.SetPosition(round(x), round(y))

    def _ramp(self, spec: LegendSpec, ink: _Ink, xa: float, xb: float, ya: float, yb: float,
              f: int) -> None:
        """A horizontal colour bar, low end left, with a thin dark frame."""
        xa, xb, ya, yb = round(xa), round(xb), round(ya), round(yb)
        b = max(1.0, round(0.06 * f))
        ink.add(np.array([(xa - b, ya - b), (xb + b, ya - b), (xb + b, yb + b), (xa - b, yb + b)]),
                (90, 94, 100))
        n = _RAMP_STEPS
        xs = np.linspace(xa, xb, n + 1)
        cols = _ramp_colors(spec.cmap, n + 1)
        quads = np.stack([np.column_stack([xs[:-1], np.full(n, ya)]),
                          np.column_stack([xs[1:], np.full(n, ya)]),
                          np.column_stack([xs[1:], np.full(n, yb)]),
                          np.column_stack([xs[:-1], np.full(n, yb)])], axis=1)
        qcols = np.stack([cols[:-1], cols[1:], cols[1:], cols[:-1]], axis=1)
        for q, c in zip(quads, qcols, strict=True):
            ink.add(q, c)
        self._ramps.append((spec.key, xa, xb, ya, yb))

    def _icon(self, ink: _Ink, key: str, sw: Swatch, shape: str, cx: float, cy: float,
              s: float) -> None:
        """Draw ``sw``'s icon centred at (cx, cy), ``s`` pixels across."""
        rgb = _safe_rgb(sw.rgb)
        dark = rgb * 0.55
        bw = max(1.0, round(0.08 * s))
        # whole pixels: crisp edges, and a sample pixel that is surely inside
        cx, cy, half = round(cx), round(cy), max(2, round(s / 2))
        sample = (cx, cy)
        if shape == "outline":
            t = max(2.0, round(0.2 * s))
            outer = np.array([(cx - half, cy - half), (cx + half, cy - half),
                              (cx + half, cy + half), (cx - half, cy + half)])
            inner = outer + np.array([(t, t), (-t, t), (-t, -t), (t, -t)])
            ink.add_quads(ring(outer, inner), rgb)
            sample = (cx - half + t // 2, cy)
        elif shape == "line":
            t = max(2.0, round(0.22 * s))
            ink.add(np.array([(cx - 0.65 * s, cy - t / 2), (cx + 0.65 * s, cy - t / 2),
                              (cx + 0.65 * s, cy + t / 2), (cx - 0.65 * s, cy + t / 2)]), rgb)
        elif shape == "circle":
            ink.add(_circle(cx, cy, half * 1.05 + bw), dark)
            ink.add(_circle(cx, cy, half * 1.05), rgb)
        elif shape == "triangle":
            tri = np.array([(cx - 0.58 * s, cy - 0.45 * s), (cx + 0.58 * s, cy - 0.45 * s),
                            (cx, cy + 0.55 * s)])
            centre = tri.mean(0)
            grow = 1.0 + 2.2 * bw / s
            ink.add(centre + (tri - centre) * grow, dark)
            ink.add(tri, rgb)
            sample = tuple(centre)
        elif shape == "pin":
            head, r = np.array([cx, cy + 0.14 * s]), 0.36 * s
            alpha = math.acos(r / (0.64 * s))  # tangent from the tip to the head
            a = np.linspace(-math.pi / 2 + alpha, 1.5 * math.pi - alpha, 24)
            drop = np.vstack([head + r * np.column_stack([np.cos(a), np.sin(a)]),
                              [(cx, cy - half)]])
            ink.add(head + (drop - head) * (1.0 + 2.2 * bw / s), dark)
            ink.add(drop, rgb)
            sample = (cx, cy + 0.14 * s)
        elif shape == "cylinder":
            # a can: narrower than the cube's square, rounded like its caps
            ink.add(rounded_rect(cx - 0.34 * s - bw, cy - half - bw, cx + 0.34 * s + bw,
                                 cy + half + bw, 0.16 * s + bw), dark)
            ink.add(rounded_rect(cx - 0.34 * s, cy - half, cx + 0.34 * s, cy + half, 0.16 * s),
                    rgb)
        else:  # square, and anything unknown
            shape = "square"
            ink.add(np.array([(cx - half - bw, cy - half - bw), (cx + half + bw, cy - half - bw),
                              (cx + half + bw, cy + half + bw), (cx - half - bw, cy + half + bw)]),
                    dark)
            ink.add(np.array([(cx - half, cy - half), (cx + half, cy - half),
                              (cx + half, cy + half), (cx - half, cy + half)]), rgb)
        r, g, b = (int(v) for v in np.round(rgb))
        self._samples.append(SwatchSample(key, str(sw.label), (r, g, b), shape,
                                          math.floor(sample[0]), math.floor(sample[1])))
