"""A metric scale bar for the 3D view, recomputed at the focal point on every frame.

VTK's ``vtkLegendScaleActor`` measures at the near plane, which in a
perspective city view shows nonsense; a planner wants "this bar is 100 m
where I am looking". Metres per pixel at the focal distance ``d`` are
``2 d tan(angle / 2) / height_px``; the bar takes the round length (1, 2, 5
× 10^k m) closest to a fifth of the view's width.
"""

from __future__ import annotations

import math

import vtk


def nice_length(target_m: float) -> float:
    """The 1-2-5 series value at or below ``target_m`` (metres, > 0)."""
    if not (target_m > 0 and math.isfinite(target_m)):
        return 0.0
    exp = math.floor(math.log10(target_m))
    base = 10.0**exp
    return max(f * base for f in (1, 2, 5) if f * base <= target_m * (1 + 1e-9))


#: Reference window height for annotation sizes (the app's default viewport).
REFERENCE_HEIGHT_PX = 800.0


def ui_scale(height_px: int) -> float:
    """Annotation size factor for a window ``height_px`` tall (1 at ~800 px), so
    a 3840x2160 export draws its annotations at that size, not scaled up."""
    return max(0.5, float(height_px) / REFERENCE_HEIGHT_PX)


def metres_per_pixel(distance: float, view_angle_deg: float, height_px: int) -> float:
    return 2.0 * distance * math.tan(math.radians(view_angle_deg) / 2.0) / max(height_px, 1)


class ScaleBar:
    """Bottom-centre bar + label on a renderer; call :meth:`remove` to take it away."""

    def __init__(self, renderer) -> None:
        self.renderer = renderer
        self.points = vtk.vtkPoints()
        self.points.SetNumberOfPoints(6)
        lines = vtk.vtkCellArray()
        for a, b in ((0, 1), (2, 3), (4, 5)):
            lines.InsertNextCell(2)
            lines.InsertCellPoint(a)
            lines.InsertCellPoint(b)
        poly = vtk.vtkPolyData()
        poly.SetPoints(self.points)
        poly.SetLines(lines)
        mapper = vtk.vtkPolyDataMapper2D()
        mapper.SetInputData(poly)
        self.poly = poly
        self.bar = vtk.vtkActor2D()
        self.bar.SetMapper(mapper)
        self.bar.GetProperty().SetColor(0.1, 0.1, 0.1)
        self.bar.GetProperty().SetLineWidth(3)
        self.text = vtk.vtkTextActor()
        prop = self.text.GetTextProperty()
        prop.SetFontSize(14)
        prop.SetColor(0.1, 0.1, 0.1)
        prop.SetJustificationToCentered()
        prop.SetBackgroundColor(1.0, 1.0, 1.0)
        prop.SetBackgroundOpacity(0.6)
        renderer.AddViewProp(self.bar)
        renderer.AddViewProp(self.text)
        self.length_m = 0.0
        self._tag = renderer.AddObserver("StartEvent", self.update)

    def update(self, *_: object) -> None:
        width, height = self.renderer.GetSize()
        cam = self.renderer.GetActiveCamera()
        mpp = metres_per_pixel(cam.GetDistance(), cam.GetViewAngle(), height)
        self.length_m = nice_length(mpp * width / 5)
        px = self.length_m / mpp if mpp > 0 else 0
        s = ui_scale(height)
        x0, y, tick = width / 2 - px / 2, 18 * s, 5 * s
        self.bar.GetProperty().SetLineWidth(3 * s)
        self.text.GetTextProperty().SetFontSize(max(8, round(14 * s)))
        for i, (x, yy) in enumerate(
            ((x0, y), (x0 + px, y), (x0, y - tick), (x0, y + tick), (x0 + px, y - tick),
             (x0 + px, y + tick))
        ):
            self.points.SetPoint(i, x, yy, 0)
        self.points.Modified()
        self.poly.Modified()
        m = self.length_m
        self.text.SetInput(f"{m / 1000:g} km" if m >= 1000 else f"{m:g} m")
        self.text.SetPosition(width / 2, y + 8 * s)

    def remove(self) -> None:
        self.renderer.RemoveObserver(self._tag)
        self.renderer.RemoveViewProp(self.bar)
        self.renderer.RemoveViewProp(self.text)
