"""Sensor glyphs: one instanced actor per sensor kind, sized in pixels, coloured by value.

A ``vtkGlyph3DMapper`` draws every sensor of a kind from one point set and one
source shape (instancing on the GPU side, one actor), so 10 000 sensors cost one
draw call. Updating is writing two point arrays in place.

Glyphs are sized on *screen*, not in the world: a glyph of fixed metres is a
boulder in a street view and a speck from the overview. :meth:`GlyphOverlay.attach`
installs a renderer ``StartEvent`` observer that, whenever the camera or the
viewport changed, converts every glyph's pixel size into metres at that glyph's
depth (one vectorised pass) and writes the ``scale`` array and the lifted points
in place. Every render of that renderer (window, offscreen export, video frame)
thus draws the same glyphs for the same camera and viewport size.

:meth:`GlyphOverlay.pick` projects all glyph centres with the camera's composite
projection matrix and compares them with the click in pixels: no VTK picker, no
render pass, microseconds for thousands of sensors.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Iterable

import numpy as np
import pyvista as pv

from twin.sim.sensors import SensorSet

log = logging.getLogger(__name__)

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

#: default on-screen glyph size band, in renderer pixels (a glyph's largest extent)
MIN_PX = 10.0
MAX_PX = 28.0
#: gap between a site and its glyph's base, in pixels (keeps the base out of the roof)
LIFT_PX = 1.0
#: size factor range of :func:`size_factor`; the low end maps to MIN_PX, the high to MAX_PX
FACTOR_LO, FACTOR_HI = 0.6, 1.0
#: size factor floor per alert level (-1 no data, 0 normal, 1 warning, 2 alarm), so that
#: alerting sensors stand out even where *lower* is worse (pressure, tank level)
_LEVEL_FLOOR = np.array([FACTOR_LO, FACTOR_LO, 0.85, FACTOR_HI], dtype=np.float64)


# -- shapes ------------------------------------------------------------------------------
def _pin() -> pv.PolyData:
    """A map pin: a teardrop whose tip touches the site (z = 0), height 1."""
    r, c = 0.32, 0.68  # head radius and centre height; top at c + r = 1
    gamma = np.arccos(r / c)  # where the straight flank meets the head tangentially
    t = np.linspace(gamma, np.pi, 12)
    head = np.column_stack([r * np.sin(t), np.zeros_like(t), c - r * np.cos(t)])
    profile = np.vstack([[0.0, 0.0, 0.0], head])
    surf = pv.MultipleLines(profile).extrude_rotate(resolution=20, capping=False)
    return surf.triangulate().clean().compute_normals(
        auto_orient_normals=True, split_vertices=False
    )


def _shape(kind: str) -> tuple[pv.PolyData, float]:
    """(source shape, centre height as a fraction of the size) for a kind.

    Shapes stand on z = 0 and their largest extent is about 1, so a glyph scale of
    ``s`` metres draws an ``s``-metre glyph whose base is the glyph point. The
    centre is where a click aims (the pin's head, not its tip).
    """
    if kind in ("traffic", "parking", "ev_charger", "ev_power"):
        return _pin(), 0.68
    if kind in ("water_meter", "waste", "energy", "solar"):
        return pv.Cube(center=(0, 0, 0.36), x_length=0.72, y_length=0.72, z_length=0.72), 0.36
    if kind in ("water_level", "water_pressure", "water_quality", "water_flow",
                "manhole_level"):
        shape = pv.Cylinder(center=(0, 0, 0.42), direction=(0, 0, 1), radius=0.38,
                            height=0.84, resolution=20)
        return shape.triangulate().compute_normals(split_vertices=True), 0.42
    return pv.Sphere(center=(0, 0, 0.5), radius=0.5, theta_resolution=18,
                     phi_resolution=12), 0.5


# -- styling -----------------------------------------------------------------------------
def _norm(values: np.ndarray, warning: np.ndarray,
          alarm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(value / reference clipped to [0, 1.5], finite mask).

    The reference is the larger threshold, or the kind's current maximum |value|
    where a sensor has none.
    """
    v = np.asarray(values, dtype=np.float64)
    ref = np.fmax(warning, alarm)  # the larger threshold; NaN only where neither is set
    finite = np.isfinite(v)
    vmax = np.nanmax(np.abs(v)) if finite.any() else 1.0
    ref = np.where(np.isfinite(ref) & (ref > 0), ref, vmax or 1.0)
    return np.clip(np.nan_to_num(v / ref, nan=0.0), 0.0, 1.5), finite


def size_factor(values: np.ndarray, levels: np.ndarray, warning: np.ndarray,
                alarm: np.ndarray) -> np.ndarray:
    """Relative glyph size, float32 (k,) in [0.6, 1.0], independent of any camera.

    Grows with the value relative to the alarm threshold (1.5x of it is full size),
    at least 0.85 at warning and 1.0 at alarm; no data is the smallest.
    """
    norm, finite = _norm(values, warning, alarm)
    f = FACTOR_LO + (FACTOR_HI - FACTOR_LO) * norm / 1.5
    lv = np.clip(np.asarray(levels, dtype=np.intp) + 1, 0, 3)
    f = np.fmax(f, _LEVEL_FLOOR[lv])
    f[~finite] = FACTOR_LO
    return f.astype(np.float32)


def glyph_style(values: np.ndarray, levels: np.ndarray, kind: str, warning: np.ndarray,
                alarm: np.ndarray, base_size: float) -> tuple[np.ndarray, np.ndarray]:
    """(scale (k,) float32, rgb (k, 3) uint8) for sensors of one kind.

    ``scale`` is a *world* size, kept for callers that draw glyphs in metres:
    from 0.6x to 1.8x ``base_size`` with the value; no data draws small and grey.
    :class:`GlyphOverlay` sizes on screen instead (:func:`size_factor`). Sensors with
    thresholds are coloured by level, others fade from grey ("off") to the kind's
    colour.
    """
    norm, finite = _norm(values, warning, alarm)
    scale = (base_size * (0.6 + 0.8 * norm)).astype(np.float32)
    scale[~finite] = base_size * 0.5
    has_thr = np.isfinite(warning) | np.isfinite(alarm)
    full = np.array(KIND_RGB.get(kind, (60, 160, 200)), dtype=np.float64)
    fade = np.clip(norm, 0, 1)[:, None]
    rgb = np.round(OFF_RGB * (1 - fade) + full * fade).astype(np.uint8)
    rgb[has_thr] = LEVEL_RGB[levels[has_thr].astype(np.intp) + 1]
    rgb[~finite] = LEVEL_RGB[0]
    return scale, rgb


# -- camera ------------------------------------------------------------------------------
def _matrix(m) -> np.ndarray:
    return np.array([[m.GetElement(i, j) for j in range(4)] for i in range(4)])


class _Frame:
    """The renderer's projection, once per layout: composite matrix, pixel scale, viewport."""

    __slots__ = ("composite", "height", "origin", "p11", "width")

    def __init__(self, renderer) -> None:
        cam = renderer.GetActiveCamera()
        aspect = renderer.GetTiledAspectRatio()
        self.composite = _matrix(cam.GetCompositeProjectionTransformMatrix(aspect, -1, 1))
        # P[1][1] = 1/tan(view_angle/2) (perspective) or 1/parallel_scale (parallel),
        # horizontal view angles and aspect already folded in.
        self.p11 = cam.GetProjectionTransformMatrix(aspect, -1, 1).GetElement(1, 1)
        self.width, self.height = (int(v) for v in renderer.GetSize())
        self.origin = tuple(int(v) for v in renderer.GetOrigin())

    def clip(self, xyz: np.ndarray) -> np.ndarray:
        """(k, 4) homogeneous clip coordinates; column 3 (w) is the depth along the
        view direction (perspective) or 1 (parallel)."""
        m = self.composite
        return xyz @ m[:, :3].T + m[:, 3]

    def metres_per_pixel(self, w: np.ndarray) -> np.ndarray:
        """World metres one pixel spans at clip depth ``w``: 2·d·tan(va/2)/H in
        perspective, 2·parallel_scale/H in parallel projection; 0 behind the camera."""
        if self.height <= 0 or self.p11 == 0:
            return np.zeros_like(w)
        return np.where(w > 0, 2.0 * w / (self.p11 * self.height), 0.0)

    def inside(self, xy: np.ndarray, margin: np.ndarray) -> np.ndarray:
        """Mask of display points whose disc of radius ``margin`` touches the viewport."""
        x0, y0 = self.origin
        return ((xy[:, 0] > x0 - margin) & (xy[:, 0] < x0 + self.width + margin)
                & (xy[:, 1] > y0 - margin) & (xy[:, 1] < y0 + self.height + margin))

    def display(self, hom: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(display xy (k, 2), drawn mask) of clip coordinates, origin bottom-left.

        Drawn: in front of the camera and within the near/far clipping range.
        """
        w = hom[:, 3]
        front = w > 1e-12
        ndc = hom[:, :3] / np.where(front, w, 1.0)[:, None]
        drawn = front & (np.abs(ndc[:, 2]) <= 1.0)
        xy = np.empty((len(hom), 2))
        xy[:, 0] = self.origin[0] + (ndc[:, 0] + 1.0) * 0.5 * self.width
        xy[:, 1] = self.origin[1] + (ndc[:, 1] + 1.0) * 0.5 * self.height
        return xy, drawn


class GlyphOverlay:
    """Instanced glyph actors for a :class:`SensorSet`, one per kind, sized in pixels.

    ``base_size`` (metres) only matters before the overlay is attached to a
    renderer: the largest glyph is then ``base_size`` metres. Once attached, glyphs
    are ``min_px`` .. ``max_px`` renderer pixels, whatever the distance.
    """

    def __init__(self, sensors: SensorSet, base_size: float = 6.0,
                 kinds: list[str] | None = None, min_px: float = MIN_PX,
                 max_px: float = MAX_PX, lift_px: float = LIFT_PX,
                 scale_with_window: bool = False) -> None:
        """``scale_with_window``: the pixel band is for an ~800 px tall view and
        scales with the view's height like the other annotations (a 270 px
        thumbnail gets smaller glyphs, a 2160 px export larger ones)."""
        import vtk

        self.sensors = sensors
        self.base_size = base_size
        self.min_px, self.max_px, self.lift_px = float(min_px), float(max_px), float(lift_px)
        self.scale_with_window = scale_with_window
        self._ui = 1.0
        self.points: dict[str, pv.PolyData] = {}
        self.rows: dict[str, np.ndarray] = {}
        self.actors: dict[str, object] = {}
        self._sites: dict[str, np.ndarray] = {}
        self._centre: dict[str, float] = {}
        self._factor: dict[str, np.ndarray] = {}
        self._mpp: dict[str, np.ndarray] = {}
        self._renderer = None
        self._tag: int | None = None
        self._key: tuple | None = None
        self._failed = False
        nominal = base_size / self.max_px  # before any camera: the largest glyph = base_size
        for kind in kinds or sorted(set(sensors.kinds.tolist())):
            rows = sensors.of_kind(kind)
            if rows.size == 0:
                continue
            sites = np.ascontiguousarray(sensors.positions[rows], dtype=np.float64)
            poly = pv.PolyData(sites.copy())
            poly.point_data["scale"] = np.zeros(len(rows), dtype=np.float32)
            poly.point_data["rgb"] = np.tile(LEVEL_RGB[0], (len(rows), 1))
            shape, centre = _shape(kind)
            mapper = vtk.vtkGlyph3DMapper()
            mapper.SetInputData(poly)
            mapper.SetSourceData(shape)
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
            self._sites[kind], self._centre[kind] = sites, centre
            self._factor[kind] = np.full(len(rows), FACTOR_LO, dtype=np.float32)
            self._mpp[kind] = np.full(len(rows), nominal)
            self._write(kind)

    # -- data ----------------------------------------------------------------------------
    def count(self, kind: str) -> int:
        """Glyph instances drawn for ``kind`` (= its sensors)."""
        return int(self.points[kind].n_points) if kind in self.points else 0

    def update(self, values: np.ndarray, levels: np.ndarray) -> None:
        """Write sizes and colours in place from all sensors' current values."""
        s = self.sensors
        for kind, rows in self.rows.items():
            w, a = s.warning[rows], s.alarm[rows]
            _, rgb = glyph_style(values[rows], levels[rows], kind, w, a, self.base_size)
            self._factor[kind] = size_factor(values[rows], levels[rows], w, a)
            poly = self.points[kind]
            poly.point_data["rgb"][:] = rgb
            poly.GetPointData().GetArray("rgb").Modified()
            self._write(kind)

    def pixel_size(self, kind: str) -> np.ndarray:
        """(k,) drawn size in pixels of each glyph of ``kind`` (its largest extent)."""
        t = (self._factor[kind].astype(np.float64) - FACTOR_LO) / (FACTOR_HI - FACTOR_LO)
        return (self.min_px + (self.max_px - self.min_px) * np.clip(t, 0.0, 1.0)) * self._ui

    def set_pixel_band(self, min_px: float, max_px: float) -> None:
        """Change the on-screen size band (e.g. times the screen's device pixel ratio)."""
        self.min_px, self.max_px = float(min_px), float(max_px)
        for kind in self.points:
            self._write(kind)

    def _write(self, kind: str) -> None:
        """Scale (metres) and lifted points from pixel sizes and metres-per-pixel."""
        mpp = self._mpp[kind]
        poly = self.points[kind]
        poly.point_data["scale"][:] = self.pixel_size(kind) * mpp
        pts = poly.points
        pts[:, 2] = self._sites[kind][:, 2] + self.lift_px * mpp
        poly.GetPointData().GetArray("scale").Modified()
        poly.GetPoints().Modified()
        poly.Modified()

    # -- visibility ----------------------------------------------------------------------
    def set_visible(self, which: bool | Iterable[str]) -> None:
        """Show all kinds (True), none (False) or exactly the named kinds."""
        keep = None if isinstance(which, bool) else set(which)
        for kind, actor in self.actors.items():
            actor.SetVisibility(bool(which) if keep is None else kind in keep)

    def visible_kinds(self) -> list[str]:
        return [k for k, a in self.actors.items() if a.GetVisibility()]

    # -- camera-following sizes ----------------------------------------------------------
    def attach(self, renderer) -> None:
        """Size glyphs for ``renderer``'s camera before each of its renders.

        The observer holds the overlay weakly, so a forgotten overlay costs nothing.
        """
        self.detach()
        ref = weakref.ref(self)

        def on_start(caller, _event) -> None:
            overlay = ref()
            if overlay is not None:
                overlay._on_start(caller)

        self._renderer = renderer
        self._tag = renderer.AddObserver("StartEvent", on_start)
        self._key = None

    def detach(self) -> None:
        """Stop following the renderer's camera (sizes stay as last laid out)."""
        if self._renderer is not None and self._tag is not None:
            self._renderer.RemoveObserver(self._tag)
        self._renderer, self._tag, self._key = None, None, None

    def _on_start(self, renderer) -> None:
        # A render callback must never raise: VTK would print and carry on, and
        # a broken overlay must not break the window. Report once.
        try:
            self.layout(renderer)
        except Exception:
            if not self._failed:
                self._failed = True
                log.exception("sensor glyph layout failed")

    def layout(self, renderer, force: bool = False) -> bool:
        """Write world sizes for ``renderer``'s current camera; False if unchanged.

        Cheap key: the camera object and its MTime plus the viewport in pixels.
        """
        cam = renderer.GetActiveCamera()
        key = (id(cam), cam.GetMTime(), tuple(renderer.GetSize()), tuple(renderer.GetOrigin()))
        if not force and key == self._key:
            return False
        frame = _Frame(renderer)
        if frame.height <= 0:
            return False
        if self.scale_with_window:
            from twin.render.scalebar import ui_scale

            self._ui = ui_scale(frame.height)
        for kind, sites in self._sites.items():
            self._mpp[kind] = frame.metres_per_pixel(frame.clip(sites)[:, 3])
            self._write(kind)
        self._key = key
        return True

    # -- picking -------------------------------------------------------------------------
    def screen(self, renderer) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(rows, display xy (m, 2), depth (m,), radius px (m,)) of the drawn glyphs.

        Only visible kinds, in front of the camera, within the clipping range and
        touching the viewport;
        centres follow the *current* camera even if nothing rendered since.
        """
        frame = _Frame(renderer)
        out: list[tuple[np.ndarray, ...]] = []
        for kind, sites in self._sites.items():
            if not self.actors[kind].GetVisibility():
                continue
            px = self.pixel_size(kind)
            mpp = frame.metres_per_pixel(frame.clip(sites)[:, 3])
            centres = sites.copy()
            centres[:, 2] += (self.lift_px + self._centre[kind] * px) * mpp
            hom = frame.clip(centres)
            xy, drawn = frame.display(hom)
            r = px / 2
            drawn &= (mpp > 0) & frame.inside(xy, r)
            out.append((self.rows[kind][drawn], xy[drawn], hom[drawn, 3], r[drawn]))
        if not out:
            e = np.empty(0)
            return np.empty(0, np.int64), np.empty((0, 2)), e, e.copy()
        rows, xy, depth, radius = (np.concatenate(c) for c in zip(*out, strict=True))
        return rows, xy, depth, radius

    def pick(self, renderer, x: float, y: float, radius_px: float | None = None) -> int | None:
        """Sensor row whose glyph is drawn under display point (x, y), origin bottom-left.

        Hit: the projected centre lies within the glyph's drawn radius (or
        ``radius_px``); the glyph nearest to the camera wins among overlaps.
        Occlusion by buildings is not tested: glyphs are small and drawn on top of
        their site, and a click meant for a glyph should not miss for a roof edge.
        """
        rows, xy, depth, radius = self.screen(renderer)
        if rows.size == 0:
            return None
        r = radius if radius_px is None else np.full_like(radius, float(radius_px))
        d2 = (xy[:, 0] - x) ** 2 + (xy[:, 1] - y) ** 2
        hit = np.flatnonzero(d2 <= r * r)
        if hit.size == 0:
            return None
        return int(rows[hit[np.argmin(depth[hit])]])
