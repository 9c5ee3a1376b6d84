"""Sensor glyphs: one instanced actor per sensor kind, sized and coloured by value.

A ``vtkGlyph3DMapper`` draws every sensor of a kind from one point set and one
source shape (instancing on the GPU side, one actor), so 10 000 sensors cost one
draw call. Updating is writing two point arrays in place.
"""

from __future__ import annotations

import numpy as np
import pyvista as pv

from twin.sim.sensors import SensorSet

#: alert level -> RGB: no data, normal, warning, alarm
LEVEL_RGB = np.array(
    [(150, 150, 150), (46, 170, 90), (245, 160, 30), (220, 40, 40)], dtype=np.uint8
)
#: colour at full value for kinds without thresholds (lights glow, meters are blue ...)
KIND_RGB: dict[str, tuple[int, int, int]] = {
    "street_light": (255, 214, 90),
    "traffic": (230, 90, 60),
    "water_meter": (60, 140, 230),
    "water_level": (30, 90, 200),
    "energy": (250, 200, 40),
    "solar": (255, 170, 0),
    "waste": (140, 100, 60),
}
OFF_RGB = np.array((70, 78, 90), dtype=np.float64)


def _shape(kind: str) -> pv.PolyData:
    if kind in ("traffic", "parking"):
        return pv.Cone(direction=(0, 0, 1), height=1.0, radius=0.45, resolution=12)
    if kind in ("water_meter", "waste", "energy", "solar"):
        return pv.Cube(x_length=0.8, y_length=0.8, z_length=0.8)
    if kind in ("water_level", "water_pressure", "water_quality"):
        return pv.Cylinder(direction=(0, 0, 1), radius=0.4, height=1.0, resolution=16)
    return pv.Sphere(radius=0.5, theta_resolution=14, phi_resolution=10)


def glyph_style(values: np.ndarray, levels: np.ndarray, kind: str, warning: np.ndarray,
                alarm: np.ndarray, base_size: float) -> tuple[np.ndarray, np.ndarray]:
    """(scale (k,) float32, rgb (k, 3) uint8) for sensors of one kind.

    Size grows with the value relative to the alarm threshold (or the kind's
    current maximum), from 0.6x to 1.8x ``base_size``; no data draws small and
    grey. Sensors with thresholds are coloured by level, others fade from grey
    ("off") to the kind's colour.
    """
    v = np.asarray(values, dtype=np.float64)
    ref = np.fmax(warning, alarm)  # the larger threshold; NaN only where neither is set
    finite = np.isfinite(v)
    vmax = np.nanmax(np.abs(v)) if finite.any() else 1.0
    ref = np.where(np.isfinite(ref) & (ref > 0), ref, vmax or 1.0)
    norm = np.clip(np.nan_to_num(v / ref, nan=0.0), 0.0, 1.5)
    scale = (base_size * (0.6 + 0.8 * norm)).astype(np.float32)
    scale[~finite] = base_size * 0.5
    has_thr = np.isfinite(warning) | np.isfinite(alarm)
    full = np.array(KIND_RGB.get(kind, (60, 160, 200)), dtype=np.float64)
    fade = np.clip(norm, 0, 1)[:, None]
    rgb = np.round(OFF_RGB * (1 - fade) + full * fade).astype(np.uint8)
    rgb[has_thr] = LEVEL_RGB[levels[has_thr].astype(np.intp) + 1]
    rgb[~finite] = LEVEL_RGB[0]
    return scale, rgb


class GlyphOverlay:
    """Instanced glyph actors for a :class:`SensorSet`, one per kind."""

    def __init__(self, sensors: SensorSet, base_size: float = 6.0,
                 kinds: list[str] | None = None) -> None:
        import vtk

        self.sensors = sensors
        self.base_size = base_size
        self.points: dict[str, pv.PolyData] = {}
        self.rows: dict[str, np.ndarray] = {}
        self.actors: dict[str, object] = {}
        for kind in kinds or sorted(set(sensors.kinds.tolist())):
            rows = sensors.of_kind(kind)
            if rows.size == 0:
                continue
            pts = sensors.positions[rows].copy()
            pts[:, 2] += base_size
            poly = pv.PolyData(pts)
            poly.point_data["scale"] = np.full(len(rows), base_size, dtype=np.float32)
            poly.point_data["rgb"] = np.tile(LEVEL_RGB[0], (len(rows), 1))
            mapper = vtk.vtkGlyph3DMapper()
            mapper.SetInputData(poly)
            mapper.SetSourceData(_shape(kind))
            mapper.SetScaleArray("scale")
            mapper.SetScaleModeToScaleByMagnitude()
            mapper.OrientOff()
            mapper.SetScalarModeToUsePointFieldData()
            mapper.SelectColorArray("rgb")
            mapper.SetColorModeToDirectScalars()
            mapper.ScalarVisibilityOn()
            actor = vtk.vtkActor()
            actor.SetMapper(mapper)
            actor.PickableOff()
            self.points[kind], self.rows[kind], self.actors[kind] = poly, rows, actor

    def count(self, kind: str) -> int:
        """Glyph instances drawn for ``kind`` (= its sensors)."""
        return int(self.points[kind].n_points) if kind in self.points else 0

    def update(self, values: np.ndarray, levels: np.ndarray) -> None:
        """Write sizes and colours in place from all sensors' current values."""
        s = self.sensors
        for kind, rows in self.rows.items():
            scale, rgb = glyph_style(values[rows], levels[rows], kind, s.warning[rows],
                                     s.alarm[rows], self.base_size)
            poly = self.points[kind]
            poly.point_data["scale"][:] = scale
            poly.point_data["rgb"][:] = rgb
            poly.Modified()
