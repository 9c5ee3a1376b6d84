"""Lower-third captions drawn in the 3D view: the same caption in the window's
tour preview, a tour video frame and a render check."""

from __future__ import annotations

import textwrap
from pathlib import Path

#: Shipped with the project (assets/fonts/README.md): has Vietnamese glyphs.
FONT_FILE = Path(__file__).resolve().parents[2] / "assets" / "fonts" / "DejaVuSans.ttf"
_SYSTEM_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
#: Caption text height as a fraction of the frame height.
CAPTION_SCALE = 0.042
CAPTION_BOX_RGB = (0.08, 0.12, 0.18)
CAPTION_BOX_OPACITY = 0.72


def font_file() -> Path:
    """The caption font: the shipped DejaVu Sans, else the system copy."""
    for candidate in (FONT_FILE, _SYSTEM_FONT):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"{FONT_FILE}: caption font missing (see assets/fonts/README.md)")


class Caption:
    """A lower-third caption: centred text on a translucent box near the bottom.

    VTK's own text background hugs the glyphs, so the box is a separate 2D
    polygon with padding, drawn before the text. The font is a font *file*
    (``VTK_FONT_FILE``): VTK's built-in Arial/Courier/Times lack Vietnamese
    glyphs such as "ộ" and "ữ". Sizes follow the render window, so the same
    caption works in a 160x90 test frame, a 1080p export and a resized window.
    """

    def __init__(self, renderer, font: Path | None = None, bottom_px: float | None = None) -> None:
        """``bottom_px``: baseline height above the bottom edge; default 5 % of the
        height (the app passes more, to clear its scale bar)."""
        import vtk

        self.renderer = renderer
        self.bottom_px = bottom_px
        self.text = vtk.vtkTextActor()
        prop = self.text.GetTextProperty()
        prop.SetFontFamily(vtk.VTK_FONT_FILE)
        prop.SetFontFile(str(font or font_file()))
        prop.SetColor(1.0, 1.0, 1.0)
        prop.SetJustificationToCentered()
        prop.SetVerticalJustificationToBottom()
        prop.SetLineSpacing(1.1)
        self._points = vtk.vtkPoints()
        self._points.SetNumberOfPoints(4)
        poly = vtk.vtkPolyData()
        poly.SetPoints(self._points)
        cells = vtk.vtkCellArray()
        cells.InsertNextCell(4, [0, 1, 2, 3])
        poly.SetPolys(cells)
        mapper = vtk.vtkPolyDataMapper2D()
        mapper.SetInputData(poly)
        self._poly = poly
        self.box = vtk.vtkActor2D()
        self.box.SetMapper(mapper)
        self.box.GetProperty().SetColor(*CAPTION_BOX_RGB)
        renderer.AddViewProp(self.box)
        renderer.AddViewProp(self.text)
        self._layout_key: tuple | None = None
        self._box: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
        self.current: str | None = None
        self.set(None)

    def set(self, text: str | None, opacity: float = 1.0) -> None:
        """Show ``text`` (None or empty hides it) at ``opacity`` (0..1, fades)."""
        if not text or opacity <= 0.0:
            self.text.SetVisibility(False)
            self.box.SetVisibility(False)
            self.current = None
            return
        w, h = (int(v) for v in self.renderer.GetRenderWindow().GetSize())
        key = (text, w, h)
        if key != self._layout_key:
            self._layout(text, w, h)
            self._layout_key = key
        self.current = text
        self.text.GetTextProperty().SetOpacity(float(opacity))
        self.box.GetProperty().SetOpacity(CAPTION_BOX_OPACITY * float(opacity))
        self.text.SetVisibility(True)
        self.box.SetVisibility(True)

    def _layout(self, text: str, w: int, h: int) -> None:
        # sized on the 16:9 frame that fits, so a tall, narrow app viewport does
        # not get a caption that fills half its width
        size = max(9, round(min(h, w * 9 / 16) * CAPTION_SCALE))
        # DejaVu Sans averages ~0.55 em per character; wrap to 86 % of the width.
        per_line = max(12, int(0.86 * w / (0.55 * size)))
        lines = []
        for para in text.splitlines() or [text]:
            lines += textwrap.wrap(para, per_line) or [""]
        self.text.SetInput("\n".join(lines))
        self.text.GetTextProperty().SetFontSize(size)
        x = w / 2.0
        y = self.bottom_px if self.bottom_px is not None else max(4.0, h * 0.05)
        self.text.SetPosition(x, y)
        bbox = [0.0, 0.0, 0.0, 0.0]
        self.text.GetBoundingBox(self.renderer, bbox)
        pad_x, pad_y = size * 0.7, size * 0.35
        x0, x1 = x + bbox[0] - pad_x, x + bbox[1] + pad_x
        y0, y1 = y + bbox[2] - pad_y, y + bbox[3] + pad_y
        self._box = (x0, x1, y0, y1)
        for i, (px, py) in enumerate(((x0, y0), (x1, y0), (x1, y1), (x0, y1))):
            self._points.SetPoint(i, px, py, 0.0)
        self._points.Modified()
        self._poly.Modified()

    def region(self) -> tuple[slice, slice] | None:
        """Rows and columns of the caption box in an image (top row first), or
        None when no caption is shown; render checks compare it on its own."""
        if self.current is None:
            return None
        h = int(self.renderer.GetRenderWindow().GetSize()[1])
        x0, x1, y0, y1 = self._box
        rows = slice(max(0, int(h - y1)), max(0, int(h - y0) + 1))
        return rows, slice(max(0, int(x0)), max(0, int(x1) + 1))

    def remove(self) -> None:
        self.renderer.RemoveViewProp(self.text)
        self.renderer.RemoveViewProp(self.box)

