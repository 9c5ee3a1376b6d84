"""Sun-hours: hours of direct sun over one day at points of a scene.

Sample times are ``t = 00:00 + k·step`` in the scene's time zone. A sample
counts ``step`` minutes at a point when the sun is above the horizon (geometric
elevation > 0), the point faces it (``normal · sun > 0`` when normals are
given) and the ray from the point towards the sun hits none of the scene's
triangles. Rays are cast in one batch with a real accelerator: embree
(``embreex``) when installed, else trimesh's rtree intersector, else VTK's
OBB tree (one call per ray: a last resort).

Everything here is data: no Qt and no rendering objects.
"""

from __future__ import annotations

import csv
import math
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from datetime import date as Date
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from twin.layer import Layer
    from twin.scene import Scene

#: the scene's default time zone: Indochina Time (Vietnam), no daylight saving
ICT = timezone(timedelta(hours=7))
#: how far a ray starts off its surface (m), so it does not hit its own face
RAY_OFFSET = 0.05
#: layers that never cast shadows: sensor markers and point clouds
NON_OCCLUDING_KINDS = frozenset({"points", "pointcloud"})
#: layers whose top is the ground for :func:`ground_grid`
GROUND_KINDS = frozenset({"terrain", "areas", "roads"})
_BATCH_RAYS = 2_000_000  # rays per accelerator call: bounds the memory of one batch


# -- time and sun ---------------------------------------------------------------


def parse_tz(tz: str | tzinfo | None) -> tzinfo:
    """``"+07:00"``, ``"UTC"`` or a tzinfo -> tzinfo (default: ICT, +07:00)."""
    if tz is None:
        return ICT
    if isinstance(tz, tzinfo):
        return tz
    text = tz.strip()
    if text.upper() in ("Z", "UTC", "GMT"):
        return UTC
    sign = -1 if text.startswith("-") else 1
    body = text.lstrip("+-")
    try:
        hours, _, minutes = body.partition(":")
        offset = timedelta(hours=int(hours), minutes=int(minutes or 0))
    except ValueError:
        raise ValueError(f"time zone {tz!r}: expected an offset such as +07:00") from None
    if offset > timedelta(hours=14):
        raise ValueError(f"time zone {tz!r}: offset out of range")
    return timezone(sign * offset)


def parse_date(value: str | Date) -> Date:
    """``YYYY-MM-DD`` or a date -> date."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, Date):
        return value
    try:
        return Date.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"date {value!r}: expected YYYY-MM-DD") from None


def sample_times(day: str | Date, step_min: float = 15, tz: str | tzinfo | None = None):
    """Aware datetimes 00:00 + k·step of one day in ``tz`` (a pandas DatetimeIndex)."""
    import pandas as pd

    if not 0 < step_min <= 24 * 60:
        raise ValueError(f"step {step_min:g} min out of range (0, 1440]")
    d = parse_date(day)
    zone = parse_tz(tz)
    start = datetime(d.year, d.month, d.day, tzinfo=zone)
    n = math.ceil(24 * 60 / step_min - 1e-9)
    offsets = pd.to_timedelta(np.arange(n) * float(step_min), unit="min")
    return pd.DatetimeIndex(pd.Timestamp(start) + offsets)


@dataclass
class SunSamples:
    """The sun at each sample time, as seen from one place.

    ``directions`` are unit vectors towards the sun in the scene's grid frame
    (x east, y grid north, z up): the true azimuth is turned by the meridian
    convergence of the scene's CRS at that place.
    """

    times: object  # pandas DatetimeIndex, aware
    azimuth_deg: np.ndarray  # (t,) clockwise from true north
    elevation_deg: np.ndarray  # (t,) geometric (no refraction)
    directions: np.ndarray  # (t, 3) float64
    step_min: float
    lon: float
    lat: float
    convergence_deg: float = 0.0  # grid north's angle east of true north

    @property
    def up(self) -> np.ndarray:
        """(t,) True where the sun is above the horizon."""
        return self.elevation_deg > 0.0


def solar_position(lat: float, lon: float, times) -> tuple[np.ndarray, np.ndarray]:
    """(azimuth_deg, geometric elevation_deg) at ``times`` (NREL SPA via pvlib)."""
    import pvlib

    pos = pvlib.solarposition.get_solarposition(times, lat, lon, method="nrel_numpy")
    return pos["azimuth"].to_numpy(np.float64), pos["elevation"].to_numpy(np.float64)


def grid_convergence(scene: Scene, local_xy: np.ndarray) -> float:
    """Angle (degrees, east of true north) of the scene CRS's grid north at a point.

    Measured by projecting a point 0.001° north of it, so it holds for any
    projected CRS without knowing its formula."""
    from twin.geo import WGS84, transform_xy

    lon, lat = scene.local_to_wgs84(np.asarray(local_xy, dtype=np.float64)[:2])[0]
    x, y = transform_xy(np.array([lon, lon]), np.array([lat, lat + 1e-3]), WGS84, scene.crs)
    dx, dy = float(x[1] - x[0]), float(y[1] - y[0])
    # true north points at grid angle atan2(dx, dy) east of grid north
    return -math.degrees(math.atan2(dx, dy))


def sun_samples(
    scene: Scene,
    day: str | Date,
    step_min: float = 15,
    tz: str | tzinfo | None = None,
    at: np.ndarray | None = None,
) -> SunSamples:
    """The sun over one day, seen from ``at`` (scene-local; default the scene's centre)."""
    if at is None:
        b = scene.local_bounds()
        at = np.zeros(3) if b is None else np.array([(b[0] + b[1]) / 2, (b[2] + b[3]) / 2, 0])
    at = np.asarray(at, dtype=np.float64).reshape(-1)
    lon, lat = (float(v) for v in scene.local_to_wgs84(at[:2])[0])
    times = sample_times(day, step_min, tz)
    az, el = solar_position(lat, lon, times)
    conv = grid_convergence(scene, at)
    grid_az = np.radians(az - conv)
    e = np.radians(el)
    dirs = np.column_stack([np.sin(grid_az) * np.cos(e), np.cos(grid_az) * np.cos(e), np.sin(e)])
    return SunSamples(times, az, el, dirs, float(step_min), lon, lat, conv)


# -- occluders ------------------------------------------------------------------


def layer_triangles(layer: Layer) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(points float64, triangles (m, 3) int64, feature (m,) int32) of a layer's mesh.

    Polygons and strips are triangulated; lines and vertices cast no shadow."""
    mesh = layer.mesh
    if mesh.n_cells == 0 or mesh.n_points == 0:
        return np.empty((0, 3)), np.empty((0, 3), np.int64), np.empty(0, np.int32)
    feature = np.asarray(layer.cell_features)
    if mesh.is_all_triangles:
        tris = np.asarray(mesh.regular_faces, dtype=np.int64).reshape(-1, 3)
        return np.asarray(mesh.points, dtype=np.float64), tris, feature.astype(np.int32)
    tri = mesh.triangulate()
    from vtk.util.numpy_support import vtk_to_numpy

    conn = vtk_to_numpy(tri.GetPolys().GetConnectivityArray()).astype(np.int64)
    tris = conn.reshape(-1, 3)
    first = tri.n_verts + tri.n_lines  # vtkPolyData cell order: verts, lines, polys
    feat = np.asarray(tri.cell_data["feature"])[first : first + len(tris)]
    return np.asarray(tri.points, dtype=np.float64), tris, feat.astype(np.int32)


def triangle_soup(
    scene: Scene,
    layers: Iterable[Layer | str] | None = None,
    hidden: Mapping[Layer | str, np.ndarray] | None = None,
    kinds_excluded: frozenset[str] = NON_OCCLUDING_KINDS,
) -> tuple[np.ndarray, np.ndarray]:
    """One (vertices, faces) soup of the occluding triangles, merged once per call.

    ``layers`` default to every visible layer not of a non-occluding kind;
    features hidden in the scene (:meth:`Scene.hidden_features`) or in
    ``hidden`` (a boolean feature mask per layer, or its name) are left out.
    """
    if layers is None:
        chosen = [la for la in scene.layers if la.visible and la.kind not in kinds_excluded]
    else:
        chosen = [scene.layer(la) if isinstance(la, str) else la for la in layers]
    masks: dict[int, np.ndarray] = {}
    for key, mask in (hidden or {}).items():
        layer = scene.layer(key) if isinstance(key, str) else key
        masks[id(layer)] = np.asarray(mask, dtype=bool)
    verts, faces = [], []
    offset = 0
    for layer in chosen:
        pts, tris, feat = layer_triangles(layer)
        if len(tris) == 0:
            continue
        drop = scene.hidden_features(layer).copy()
        extra = masks.get(id(layer))
        if extra is not None:
            if extra.shape != drop.shape:
                raise ValueError(
                    f"layer {layer.name!r}: hidden mask has {extra.size} values, "
                    f"layer has {drop.size} features"
                )
            drop |= extra
        if drop.any():
            tris = tris[~drop[feat]]
        verts.append(pts)
        faces.append(tris + offset)
        offset += len(pts)
    if not verts:
        return np.empty((0, 3)), np.empty((0, 3), np.int64)
    return np.concatenate(verts), np.concatenate(faces)


def _has_embree() -> bool:
    try:
        import embreex  # noqa: F401
    except ImportError:
        return False
    return True


def _has_rtree() -> bool:
    try:
        import rtree  # noqa: F401
    except ImportError:
        return False
    return True


class Occluders:
    """A ray accelerator over one triangle soup.

    ``backend`` is ``"embree"`` (embreex, occlusion queries), ``"trimesh-rtree"``
    (trimesh's rtree intersector) or ``"vtk-obbtree"`` (VTK, one call per ray);
    ``None`` picks the first available. Vertices are shifted to the soup's
    centre so embree's float32 keeps millimetres.
    """

    def __init__(self, vertices: np.ndarray, faces: np.ndarray, backend: str | None = None):
        self.vertices = np.asarray(vertices, dtype=np.float64).reshape(-1, 3)
        self.faces = np.asarray(faces, dtype=np.int64).reshape(-1, 3)
        if backend is None:
            backend = (
                "embree" if _has_embree() else "trimesh-rtree" if _has_rtree() else "vtk-obbtree"
            )
        if backend not in ("embree", "trimesh-rtree", "vtk-obbtree"):
            raise ValueError(f"unknown ray backend {backend!r}")
        self.backend = backend
        self.centre = (
            (self.vertices.min(axis=0) + self.vertices.max(axis=0)) / 2
            if len(self.vertices)
            else np.zeros(3)
        )
        self.extent = float(np.ptp(self.vertices, axis=0).max()) if len(self.vertices) else 0.0
        self._impl = None
        if len(self.faces):
            self._impl = getattr(self, f"_build_{backend.replace('-', '_')}")()

    @property
    def n_triangles(self) -> int:
        return len(self.faces)

    # -- builders
    def _build_embree(self):
        from embreex import rtcore_scene
        from embreex.mesh_construction import TriangleMesh

        scene = rtcore_scene.EmbreeScene()
        TriangleMesh(
            scene=scene,
            vertices=(self.vertices - self.centre).astype(np.float32),
            indices=self.faces.astype(np.int32),
        )
        return scene

    def _build_trimesh_rtree(self):
        import trimesh
        from trimesh.ray.ray_triangle import RayMeshIntersector

        mesh = trimesh.Trimesh(self.vertices - self.centre, self.faces, process=False)
        return RayMeshIntersector(mesh)

    def _build_vtk_obbtree(self):
        import pyvista as pv
        import vtk

        poly = pv.PolyData.from_regular_faces(self.vertices - self.centre, self.faces)
        tree = vtk.vtkOBBTree()
        tree.SetDataSet(poly)
        tree.BuildLocator()
        return tree

    # -- queries
    def occluded(self, origins: np.ndarray, directions: np.ndarray) -> np.ndarray:
        """(n,) True where the ray from each origin along its unit direction hits a triangle."""
        origins = np.asarray(origins, dtype=np.float64).reshape(-1, 3)
        directions = np.asarray(directions, dtype=np.float64).reshape(-1, 3)
        out = np.zeros(len(origins), dtype=bool)
        if self._impl is None or len(origins) == 0:
            return out
        for lo in range(0, len(origins), _BATCH_RAYS):
            hi = min(lo + _BATCH_RAYS, len(origins))
            out[lo:hi] = self._occluded(origins[lo:hi] - self.centre, directions[lo:hi])
        return out

    def first_hit(self, origins: np.ndarray, directions: np.ndarray) -> np.ndarray:
        """(n,) index of the first triangle each ray hits, -1 for none."""
        origins = np.asarray(origins, dtype=np.float64).reshape(-1, 3) - self.centre
        directions = np.asarray(directions, dtype=np.float64).reshape(-1, 3)
        if self._impl is None or len(origins) == 0:
            return np.full(len(origins), -1, dtype=np.int64)
        if self.backend == "embree":
            hit = self._impl.run(origins.astype(np.float32), directions.astype(np.float32))
            return np.asarray(hit, dtype=np.int64)
        if self.backend == "trimesh-rtree":
            return np.asarray(self._impl.intersects_first(origins, directions), dtype=np.int64)
        return self._vtk_rays(origins, directions, first=True)

    def _occluded(self, origins: np.ndarray, directions: np.ndarray) -> np.ndarray:
        if self.backend == "embree":
            hit = self._impl.run(
                origins.astype(np.float32), directions.astype(np.float32), query="OCCLUDED"
            )
            return np.asarray(hit) != -1
        if self.backend == "trimesh-rtree":
            return np.asarray(self._impl.intersects_any(origins, directions), dtype=bool)
        return self._vtk_rays(origins, directions, first=False) >= 0

    def _vtk_rays(self, origins: np.ndarray, directions: np.ndarray, first: bool) -> np.ndarray:
        """The VTK fallback: vtkOBBTree has no batch query, so one call per ray."""
        import vtk

        reach = 4.0 * self.extent + 1e4
        ends = origins + directions * reach
        pts, ids = vtk.vtkPoints(), vtk.vtkIdList()
        out = np.full(len(origins), -1, dtype=np.int64)
        tree = self._impl
        for i in range(len(origins)):
            if tree.IntersectWithLine(origins[i], ends[i], pts, ids) != 0 and ids.GetNumberOfIds():
                out[i] = ids.GetId(0)
        return out


def scene_occluders(
    scene: Scene,
    layers: Iterable[Layer | str] | None = None,
    hidden: Mapping[Layer | str, np.ndarray] | None = None,
    backend: str | None = None,
) -> Occluders:
    """The accelerator over the scene's occluding triangles (see :func:`triangle_soup`)."""
    return Occluders(*triangle_soup(scene, layers, hidden), backend=backend)


# -- sun-hours ------------------------------------------------------------------


@dataclass
class SunHours:
    """Result of one sun-hours run, with what it cost."""

    hours: np.ndarray  # (n,)
    sun: SunSamples
    backend: str
    n_rays: int
    n_triangles: int
    timings: dict[str, float] = field(default_factory=dict)


def lit_matrix(
    occluders: Occluders,
    points: np.ndarray,
    normals: np.ndarray | None,
    directions: np.ndarray,
) -> np.ndarray:
    """(n, t) True where point i sees the sun along ``directions[j]`` (all above horizon)."""
    return _cast(occluders, points, normals, directions)[0]


def _cast(
    occluders: Occluders,
    points: np.ndarray,
    normals: np.ndarray | None,
    directions: np.ndarray,
) -> tuple[np.ndarray, int]:
    """The lit matrix and the number of rays cast: only rays that can count (the
    point faces the sun) are cast, all in one batch."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 3)
    dirs = np.asarray(directions, dtype=np.float64).reshape(-1, 3)
    n, t = len(pts), len(dirs)
    if normals is None:
        lift = np.array([0.0, 0.0, RAY_OFFSET])
        origins = pts + lift
        facing = np.ones((n, t), dtype=bool)
    else:
        nrm = np.asarray(normals, dtype=np.float64).reshape(-1, 3)
        length = np.linalg.norm(nrm, axis=1, keepdims=True)
        nrm = np.divide(nrm, length, out=np.zeros_like(nrm), where=length > 0)
        origins = pts + RAY_OFFSET * nrm
        facing = nrm @ dirs.T > 0.0
    pi, ti = np.nonzero(facing)
    lit = np.zeros((n, t), dtype=bool)
    if len(pi):
        blocked = occluders.occluded(origins[pi], dirs[ti])
        lit[pi, ti] = ~blocked
    return lit, len(pi)


def sun_hours_detail(
    scene: Scene,
    points: np.ndarray,
    normals: np.ndarray | None,
    date: str | Date,
    step_min: float = 15,
    layers: Iterable[Layer | str] | None = None,
    tz: str | tzinfo | None = None,
    hidden: Mapping[Layer | str, np.ndarray] | None = None,
    occluders: Occluders | None = None,
    backend: str | None = None,
) -> SunHours:
    """Sun-hours with the sun samples, the backend that ran and timings."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 3)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    centre = pts.mean(axis=0) if len(pts) else None
    sun = sun_samples(scene, date, step_min, tz, at=centre)
    t1 = time.perf_counter()
    if occluders is None:
        occluders = scene_occluders(scene, layers, hidden, backend)
    t2 = time.perf_counter()
    up = sun.up
    lit, n_rays = _cast(occluders, pts, normals, sun.directions[up])
    t3 = time.perf_counter()
    hours = lit.sum(axis=1) * (sun.step_min / 60.0)
    timings.update(sun=t1 - t0, build=t2 - t1, rays=t3 - t2)
    return SunHours(hours, sun, occluders.backend, n_rays, occluders.n_triangles, timings)


def sun_hours(
    scene: Scene,
    points: np.ndarray,
    normals: np.ndarray | None,
    date: str | Date,
    step_min: float = 15,
    layers: Iterable[Layer | str] | None = None,
    tz: str | tzinfo | None = None,
    hidden: Mapping[Layer | str, np.ndarray] | None = None,
    backend: str | None = None,
) -> np.ndarray:
    """(n,) hours of direct sun on ``date`` at scene-local ``points``.

    ``normals`` (n, 3) make back-facing samples dark and start each ray 5 cm
    along the normal (else 5 cm up). ``layers`` default to the visible ones;
    ``hidden`` leaves features out (a boolean mask per layer)."""
    return sun_hours_detail(
        scene, points, normals, date, step_min, layers, tz, hidden, backend=backend
    ).hours


def sun_hours_difference(
    scene: Scene,
    points: np.ndarray,
    normals: np.ndarray | None,
    date: str | Date,
    with_hidden: Mapping[Layer | str, np.ndarray] | None = None,
    without_hidden: Mapping[Layer | str, np.ndarray] | None = None,
    step_min: float = 15,
    layers: Iterable[Layer | str] | None = None,
    tz: str | tzinfo | None = None,
    backend: str | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(before, after, after - before) for a plan phase.

    *Before* is the scene without the planned features (``without_hidden``: the
    boolean feature masks of what is not built yet, e.g. from the plan states
    of ``twin.sim.overlays.planned``); *after* is with them (``with_hidden``:
    usually nothing, or what the phase demolishes)."""
    before = sun_hours(scene, points, normals, date, step_min, layers, tz, without_hidden, backend)
    after = sun_hours(scene, points, normals, date, step_min, layers, tz, with_hidden, backend)
    return before, after, after - before


# -- sample points ----------------------------------------------------------------


def _plane_z(vertices: np.ndarray, faces: np.ndarray, tri: np.ndarray, xy: np.ndarray):
    """z of the planes of triangles ``tri`` above ``xy`` (NaN for vertical ones)."""
    v0 = vertices[faces[tri, 0]]
    n = np.cross(vertices[faces[tri, 1]] - v0, vertices[faces[tri, 2]] - v0)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = v0[:, 2] - (n[:, 0] * (xy[:, 0] - v0[:, 0]) + n[:, 1] * (xy[:, 1] - v0[:, 1])) / n[:, 2]
    return np.where(np.abs(n[:, 2]) > 1e-12, z, np.nan), n


@dataclass
class Grid:
    """A regular ground grid: kept points, their normals and raster placement."""

    points: np.ndarray  # (k, 3)
    normals: np.ndarray  # (k, 3)
    index: np.ndarray  # (k, 2) int row (y), column (x) in the raster
    shape: tuple[int, int]  # rows, columns
    spacing: float
    bounds: tuple[float, float, float, float]  # xmin, xmax, ymin, ymax


def ground_grid_detail(
    scene: Scene,
    spacing_m: float,
    bounds: Sequence[float] | None = None,
    skip_buildings: bool = True,
    backend: str | None = None,
) -> Grid:
    """Like :func:`ground_grid`, keeping where each point sits in the raster (for PNGs)."""
    if not spacing_m > 0:
        raise ValueError(f"grid spacing {spacing_m!r} must be > 0")
    if bounds is None:
        b = scene.local_bounds()
        if b is None:
            raise ValueError("the scene has nothing visible to lay a grid over")
        bounds = (b[0], b[1], b[2], b[3])
    xmin, xmax, ymin, ymax = (float(v) for v in bounds[:4])
    nx = max(1, math.floor((xmax - xmin) / spacing_m))
    ny = max(1, math.floor((ymax - ymin) / spacing_m))
    if nx * ny > 50_000_000:
        raise ValueError(f"grid of {nx}x{ny} points is too large; use a larger spacing")
    xs = xmin + (np.arange(nx) + 0.5) * spacing_m
    ys = ymin + (np.arange(ny) + 0.5) * spacing_m
    gx, gy = np.meshgrid(xs, ys)
    rows, cols = np.meshgrid(np.arange(ny), np.arange(nx), indexing="ij")
    xy = np.column_stack([gx.ravel(), gy.ravel()])
    index = np.column_stack([rows.ravel(), cols.ravel()])
    z = np.zeros(len(xy))
    normals = np.tile([0.0, 0.0, 1.0], (len(xy), 1))
    ground = [la for la in scene.layers if la.visible and la.kind in GROUND_KINDS]
    top = scene.local_bounds()
    ztop = (float(top[5]) if top is not None else 0.0) + 10.0
    down = np.tile([0.0, 0.0, -1.0], (len(xy), 1))
    if ground:
        occ = Occluders(*triangle_soup(scene, ground), backend=backend)
        tri = occ.first_hit(np.column_stack([xy, np.full(len(xy), ztop)]), down)
        hit = tri >= 0
        zs, n = _plane_z(occ.vertices, occ.faces, tri[hit], xy[hit])
        ok = np.isfinite(zs)
        idx = np.flatnonzero(hit)[ok]
        z[idx] = zs[ok]
        nn = n[ok] * np.sign(n[ok, 2:3])
        normals[idx] = nn / np.linalg.norm(nn, axis=1, keepdims=True)
    keep = np.ones(len(xy), dtype=bool)
    if skip_buildings:
        occ = scene_occluders(scene, backend=backend)
        start = np.column_stack([xy, z + 0.3])
        tri = occ.first_hit(start, down)
        hit = tri >= 0
        zs, n = _plane_z(occ.vertices, occ.faces, tri[hit], xy[hit])
        # a floor (a downward face) right under the point: the point is inside a body
        inside = (n[:, 2] < 0) & (zs >= z[hit] - 0.3)
        keep[np.flatnonzero(hit)[inside]] = False
    pts = np.column_stack([xy, z])
    return Grid(
        pts[keep], normals[keep], index[keep], (ny, nx), float(spacing_m), (xmin, xmax, ymin, ymax)
    )


def ground_grid(
    scene: Scene, spacing_m: float, bounds: Sequence[float] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(points, normals) on the ground every ``spacing_m`` over ``bounds`` (xmin, xmax,
    ymin, ymax; default the visible content): z is the top of the terrain, areas
    or roads below, else 0; points inside a building (over its floor) are left out."""
    g = ground_grid_detail(scene, spacing_m, bounds)
    return g.points, g.normals


def _lattice(m: int) -> np.ndarray:
    """(m², 2) barycentric (u, v) centroids of the m² sub-triangles of a triangle."""
    i, j = np.meshgrid(np.arange(m), np.arange(m), indexing="ij")
    i, j = i.ravel(), j.ravel()
    upward = i + j <= m - 1
    downward = i + j <= m - 2
    up = np.column_stack([i[upward] + 1 / 3, j[upward] + 1 / 3])
    dn = np.column_stack([i[downward] + 2 / 3, j[downward] + 2 / 3])
    return np.vstack([up, dn]) / m


def facade_points(
    layer: Layer,
    rows: Iterable[int] | None = None,
    spacing_m: float = 2.0,
    max_tilt_deg: float = 10.0,
    return_rows: bool = False,
):
    """(points, normals) on the walls of a layer's features (``rows``; default all).

    A wall is a triangle whose normal is within ``max_tilt_deg`` of horizontal.
    Each is split into m² equal sub-triangles (m ≈ √area / spacing) and sampled
    at their centroids, so every point stands for about ``spacing²`` m² of wall.
    Normals are the triangles' own (outward for the closed extruded blocks).
    With ``return_rows`` also the (k,) feature row of each point.
    """
    if not spacing_m > 0:
        raise ValueError(f"façade spacing {spacing_m!r} must be > 0")
    pts, tris, feat = layer_triangles(layer)
    if rows is not None:
        chosen = np.zeros(len(layer.features), dtype=bool)
        chosen[np.asarray(list(rows), dtype=np.intp)] = True
        sel = chosen[feat]
        tris, feat = tris[sel], feat[sel]
    a, b, c = pts[tris[:, 0]], pts[tris[:, 1]], pts[tris[:, 2]]
    cross = np.cross(b - a, c - a)
    area2 = np.linalg.norm(cross, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        normal = cross / area2[:, None]
    wall = (area2 > 1e-9) & (np.abs(normal[:, 2]) <= math.sin(math.radians(max_tilt_deg)))
    a, b, c, normal, area2, feat = a[wall], b[wall], c[wall], normal[wall], area2[wall], feat[wall]
    m = np.maximum(1, np.round(np.sqrt(area2 / 2) / spacing_m)).astype(np.int64)
    out_p, out_n, out_r = [], [], []
    for mm in np.unique(m):
        k = m == mm
        uv = _lattice(int(mm))  # (s, 2)
        ak, bk, ck = a[k], b[k], c[k]
        p = (
            ak[:, None, :]
            + uv[None, :, 0:1] * (bk - ak)[:, None, :]
            + uv[None, :, 1:2] * (ck - ak)[:, None, :]
        )
        out_p.append(p.reshape(-1, 3))
        out_n.append(np.repeat(normal[k], len(uv), axis=0))
        out_r.append(np.repeat(feat[k], len(uv)))
    if out_p:
        points, normals, prow = np.vstack(out_p), np.vstack(out_n), np.concatenate(out_r)
    else:
        points, normals, prow = np.empty((0, 3)), np.empty((0, 3)), np.empty(0, np.int32)
    if return_rows:
        return points, normals, prow
    return points, normals


# -- exports ------------------------------------------------------------------------


def write_csv(
    path: Path | str,
    points_local: np.ndarray,
    hours: np.ndarray,
    scene: Scene,
    extra: Mapping[str, np.ndarray] | None = None,
) -> None:
    """CSV with x, y, z in the scene CRS (origin added back) and hours."""
    world = scene.to_world(np.asarray(points_local, dtype=np.float64).reshape(-1, 3))
    hrs = np.asarray(hours, dtype=np.float64).reshape(-1)
    if len(hrs) != len(world):
        raise ValueError(f"{len(world)} points but {len(hrs)} hours")
    cols = dict(extra or {})
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["x", "y", "z", "hours", *cols])
        extras = [np.asarray(v) for v in cols.values()]
        for i, (x, y, z) in enumerate(world):
            w.writerow(
                [f"{x:.3f}", f"{y:.3f}", f"{z:.3f}", f"{hrs[i]:.4g}", *(e[i] for e in extras)]
            )


def heat_image(
    grid: Grid,
    hours: np.ndarray,
    vmax: float | None = None,
    cmap: str = "inferno",
    scale: int = 1,
) -> np.ndarray:
    """(h, w, 3) uint8 heat map of a ground grid with a legend bar; north up.

    Points left out (inside buildings) are grey."""
    from PIL import Image, ImageDraw

    from twin.style import colormap_lut

    ny, nx = grid.shape
    hrs = np.asarray(hours, dtype=np.float64)
    top = float(vmax) if vmax is not None else max(float(hrs.max(initial=0.0)), 1e-9)
    lut = colormap_lut(cmap)
    img = np.full((ny, nx, 3), 128, dtype=np.uint8)
    k = np.clip(np.round(hrs / top * (len(lut) - 1)), 0, len(lut) - 1).astype(np.intp)
    img[grid.index[:, 0], grid.index[:, 1]] = lut[k]
    img = img[::-1]  # row 0 of the raster is the south edge
    if scale > 1:
        img = np.repeat(np.repeat(img, scale, axis=0), scale, axis=1)
    h, w = img.shape[:2]
    h = max(h, 120)
    legend_w = 90
    canvas = Image.new("RGB", (w + legend_w, h), (255, 255, 255))
    canvas.paste(Image.fromarray(np.ascontiguousarray(img)), (0, 0))
    draw = ImageDraw.Draw(canvas)
    bar_top, bar_bottom = 20, h - 20
    x0 = w + 10
    for y in range(bar_top, bar_bottom):
        f = 1.0 - (y - bar_top) / max(bar_bottom - bar_top - 1, 1)
        draw.line([(x0, y), (x0 + 16, y)], fill=tuple(int(v) for v in lut[round(f * 255)]))
    for f in (0.0, 0.5, 1.0):
        y = bar_bottom - 1 - f * (bar_bottom - bar_top - 1)
        draw.text((x0 + 20, y - 5), f"{f * top:.1f} h", fill=(0, 0, 0))
    draw.text((x0, 4), "sun-hours", fill=(0, 0, 0))
    return np.asarray(canvas)


def write_png(path: Path | str, grid: Grid, hours: np.ndarray, vmax: float | None = None) -> None:
    """Save :func:`heat_image` as PNG (Pillow: no rendering objects needed)."""
    from PIL import Image

    scale = max(1, min(8, 800 // max(grid.shape)))
    Image.fromarray(heat_image(grid, hours, vmax, scale=scale)).save(path)
