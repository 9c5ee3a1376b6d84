"""GeoTIFF DEM -> a terrain layer (a triangulated grid), and ground heights.

The raster is read through rasterio already decimated (GDAL averages blocks of
cells, ignoring nodata) to fit a triangle budget, so a 30,000 x 30,000 DEM never
has to sit in memory at full size. Size is checked against a pixel budget from
the header before anything is read (RELIABILITY C2); nodata, NaN, the
-3.4e38 float sentinel and absurd values are masked instead of becoming spikes
(C1). Cells become two triangles each when all their corners are valid.

:func:`sample_height` gives the ground height under scene-local points, and
:func:`drape` sets the objects of another layer on the ground, so buildings
from footprints or city models stand on the terrain instead of floating at 0.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from importers.errors import ImportCancelled, ImportFailed
from importers.georef import crs_2d, scene_extent, source_crs, to_local
from twin import crs_record
from twin.features import FeatureTable
from twin.geo import transform_xy
from twin.layer import Layer
from twin.meshing import TriMesh
from twin.scene import Scene
from twin.style import Style

Progress = Callable[[int, int], None]

DEFAULT_MAX_TRIANGLES = 1_000_000
#: Rasters declaring more pixels than this are refused before reading.
DEFAULT_MAX_PIXELS = 1_000_000_000
#: Elevations outside this range (metres) are treated as nodata.
VALID_Z = (-12_000.0, 9_000.0)
#: Hypsometric tint: (relative height 0..1, RGB).
TINT = np.array(
    [
        [0.00, 96, 140, 86],
        [0.25, 150, 175, 105],
        [0.50, 200, 190, 140],
        [0.75, 170, 140, 110],
        [1.00, 235, 232, 225],
    ]
)


@dataclass
class _Grid:
    """The decimated height grid in the raster's CRS, for :func:`sample_height`."""

    z: np.ndarray  # (h, w) float64 world heights, NaN where nodata
    inverse: Any  # affine: source x/y -> (col, row) of cell centres
    crs: str
    scene_crs: str
    origin: np.ndarray


_GRIDS: weakref.WeakKeyDictionary[Layer, _Grid] = weakref.WeakKeyDictionary()


def _budget(options: dict[str, Any], scene: Scene, key: str, default: int) -> int:
    value = options.get(key, getattr(scene, key, None))
    return int(value) if value else default


def read(
    path: Path,
    scene: Scene,
    options: dict[str, Any],
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> list[Layer]:
    """Import a DEM as one terrain layer.

    Options
    -------
    max_triangles : triangle budget (default 1,000,000; a scene may set
        ``max_triangles`` as an attribute); the grid is decimated to fit.
    max_pixels : refuse rasters declaring more pixels (default 1e9).
    band : band number (default 1).
    z_scale : vertical exaggeration (default 1).
    """
    from affine import Affine

    from importers import sandbox

    path = Path(path)
    notes: list[str] = []
    max_tris = _budget(options, scene, "max_triangles", DEFAULT_MAX_TRIANGLES)
    max_pixels = _budget(options, scene, "max_pixels", DEFAULT_MAX_PIXELS)
    band = int(options.get("band", 1))
    # GDAL runs in a child (importers.raster_read): a damaged TIFF cannot crash the app.
    found = sandbox.call(
        path,
        "importers.raster_read:read_grid",
        str(path),
        band,
        max_pixels,
        max_tris,
        cancel=cancel,
    )
    if "error" in found:
        raise ImportFailed(path, found["error"])
    (w, h), z = found["size"], found["grid"]
    oh, ow = z.shape
    if (oh, ow) != (h, w):
        notes.append(f"decimated {w}x{h} to {ow}x{oh} cells to stay within {max_tris:,} triangles")
    declared = _declared_crs(found["crs_wkt"])
    src_crs = source_crs(declared, scene, notes)
    if cancel is not None and cancel.is_set():
        raise ImportCancelled(str(path))
    transform = Affine(*found["transform"])
    nodata = found["nodata"]
    unit_scale = float(options.get("z_scale", 1.0))
    with np.errstate(invalid="ignore"):
        bad = ~np.isfinite(z) | (z < VALID_Z[0]) | (z > VALID_Z[1])
    if nodata is not None and np.isfinite(nodata):
        bad |= np.isclose(z, nodata, rtol=1e-6)
    n_bad = int(bad.sum())
    if n_bad:
        notes.append(f"{n_bad:,} of {z.size:,} cells are nodata or out of range; left as holes")
    z[bad] = np.nan
    if not np.isfinite(z).any():
        raise ImportFailed(path, "has no valid elevation cells")
    z = z * unit_scale
    if progress is not None:
        progress(1, 2)

    # Vertices at cell centres, reprojected and shifted to scene-local.
    rows, cols = np.mgrid[0:oh, 0:ow]
    xs, ys = _apply(transform, cols.ravel() + 0.5, rows.ravel() + 0.5)
    zs = z.ravel()
    valid = np.isfinite(zs)
    world = np.column_stack([xs, ys, np.where(valid, zs, 0.0)])
    ops: list = []
    units = ("grid: cell centres through the raster's geotransform",)
    if unit_scale != 1.0:
        units += (f"z: elevations x{unit_scale:g} (option z_scale)",)
    local = to_local(world, src_crs, scene, ops, units, valid)
    notes.extend(crs_record.warnings_of(ops))
    valid &= np.all(np.isfinite(local), axis=1)
    idx = np.arange(oh * ow).reshape(oh, ow)
    a, b = idx[:-1, :-1].ravel(), idx[:-1, 1:].ravel()
    c, d = idx[1:, :-1].ravel(), idx[1:, 1:].ravel()
    tris = np.concatenate([np.column_stack([a, c, b]), np.column_stack([b, c, d])])
    tris = tris[np.all(valid[tris], axis=1)]
    # Face up (+z) whatever the raster's row direction and the reprojection do.
    p0, p1, p2 = local[tris[:, 0]], local[tris[:, 1]], local[tris[:, 2]]
    nz = (p1[:, 0] - p0[:, 0]) * (p2[:, 1] - p0[:, 1]) - (p1[:, 1] - p0[:, 1]) * (
        p2[:, 0] - p0[:, 0]
    )
    tris[nz < 0] = tris[nz < 0][:, ::-1]
    mesh = TriMesh(
        np.where(valid[:, None], local, 0.0), tris.astype(np.int64), np.zeros(len(tris), np.int32)
    )
    from importers.surfaces import compact

    mesh = compact(mesh)
    poly = mesh.to_polydata()
    zmin, zmax = float(np.nanmin(z)), float(np.nanmax(z))
    if len(tris):
        centre_z = mesh.points[mesh.triangles].mean(axis=1)[:, 2] + scene.origin[2]
        poly.cell_data["rgb_default"] = _tint(centre_z, zmin, zmax)
        poly.cell_data["elevation"] = centre_z.astype(np.float32)
    pts = mesh.points
    bounds = (
        np.array(
            [
                [
                    pts[:, 0].min(),
                    pts[:, 0].max(),
                    pts[:, 1].min(),
                    pts[:, 1].max(),
                    pts[:, 2].min(),
                    pts[:, 2].max(),
                ]
            ]
        )
        if len(pts)
        else np.full((1, 6), np.nan)
    )
    table = FeatureTable(
        np.array([path.stem], dtype=object),
        np.array(["terrain"], dtype=object),
        np.array([path.stem], dtype=object),
        bounds,
        {"min_elevation": np.array([zmin]), "max_elevation": np.array([zmax])},
    )
    info = {
        "format": "GeoTIFF DEM",
        "raster_size": [w, h],
        "grid_size": [ow, oh],
        "cell_size": [abs(transform.a), abs(transform.e)],
        "elevation_range": [round(zmin, 3), round(zmax, 3)],
        "triangle_budget": max_tris,
        "nodata": None if nodata is None else float(nodata),
    }
    layer = Layer(
        name=path.stem,
        mesh=poly,
        features=table,
        kind="terrain",
        style=Style(mode="native"),
        warnings=notes,
        source=path,
        crs=src_crs,
        info=info,
        crs_operations=ops,
    )
    _GRIDS[layer] = _Grid(z, ~transform, src_crs, scene.crs, scene.origin.copy())
    if progress is not None:
        progress(2, 2)
    return [layer]


def _apply(aff: Any, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """An affine transform on coordinate arrays (without affine's deprecated ``*``)."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    return aff.a * x + aff.b * y + aff.c, aff.d * x + aff.e * y + aff.f


def _tint(z: np.ndarray, lo: float, hi: float) -> np.ndarray:
    t = np.clip((z - lo) / (hi - lo), 0.0, 1.0) if hi > lo else np.zeros_like(z)
    out = np.column_stack([np.interp(t, TINT[:, 0], TINT[:, k]) for k in (1, 2, 3)])
    return out.round().astype(np.uint8)


def sample_height(layer: Layer, xy: np.ndarray) -> np.ndarray:
    """Ground height (scene-local z) under scene-local ``xy`` (n, 2).

    Linear on the terrain's triangles (as drawn); NaN outside it or over nodata. Works for
    layers made by :func:`read` in this process; for any other triangle layer
    (e.g. a cached one) it casts vertical rays at the mesh instead.
    """
    xy = np.atleast_2d(np.asarray(xy, dtype=np.float64))[:, :2]
    grid = _GRIDS.get(layer)
    if grid is None:
        return _ray_heights(layer, xy)
    origin = grid.origin - layer.origin_shift  # a re-centred scene moved the layer
    wx, wy = xy[:, 0] + origin[0], xy[:, 1] + origin[1]
    sx, sy = transform_xy(wx, wy, grid.scene_crs, grid.crs)
    col, row = _apply(grid.inverse, sx, sy)
    col, row = col - 0.5, row - 0.5
    h, w = grid.z.shape
    inside = (col >= 0) & (row >= 0) & (col <= w - 1) & (row <= h - 1)
    c0 = np.clip(np.floor(col).astype(np.int64), 0, w - 2)
    r0 = np.clip(np.floor(row).astype(np.int64), 0, h - 2)
    fc, fr = np.clip(col - c0, 0, 1), np.clip(row - r0, 0, 1)
    z = grid.z
    # Linear on the two triangles each cell is drawn with (split from its
    # top-right to its bottom-left corner, see read): the height of the surface
    # on screen, so what is set on it neither floats nor sinks between vertices.
    za, zb, zc, zd = z[r0, c0], z[r0, c0 + 1], z[r0 + 1, c0], z[r0 + 1, c0 + 1]
    upper = za + fc * (zb - za) + fr * (zc - za)
    lower = zd + (1 - fc) * (zc - zd) + (1 - fr) * (zb - zd)
    out = np.where(fc + fr <= 1.0, upper, lower) - origin[2]
    return np.where(inside, out, np.nan)


def _ray_heights(layer: Layer, xy: np.ndarray) -> np.ndarray:
    """Heights of a triangle layer under ``xy`` by vertical rays, all in one batch
    (embree, else trimesh's intersector; see :class:`twin.analysis.sunhours.Occluders`):
    the ray finds the triangle, the triangle's plane gives the height in float64."""
    from twin.analysis.sunhours import Occluders

    out = np.full(len(xy), np.nan)
    mesh = layer.mesh
    if mesh.n_cells == 0 or len(xy) == 0:
        return out
    tri = mesh.triangulate() if not mesh.is_all_triangles else mesh
    faces = np.asarray(tri.faces, dtype=np.int64).reshape(-1, 4)[:, 1:]
    points = np.asarray(tri.points, dtype=np.float64)
    top = float(points[:, 2].max()) + 1.0
    origins = np.column_stack([xy, np.full(len(xy), top)])
    down = np.tile([0.0, 0.0, -1.0], (len(xy), 1))
    hit = Occluders(points, faces).first_hit(origins, down)
    found = hit >= 0
    a, b, c = (points[faces[hit[found], k]] for k in range(3))
    out[found] = _plane_height(a, b, c, xy[found])
    return out


def _plane_height(a: np.ndarray, b: np.ndarray, c: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """z at ``xy`` on the planes of triangles ``a, b, c`` (each (n, 3)); a triangle
    seen edge-on from above (no area in plan) gives its highest corner."""
    e1, e2, d = b[:, :2] - a[:, :2], c[:, :2] - a[:, :2], xy - a[:, :2]
    det = e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]
    flat = np.abs(det) < 1e-12
    det = np.where(flat, 1.0, det)
    u = (d[:, 0] * e2[:, 1] - d[:, 1] * e2[:, 0]) / det
    v = (e1[:, 0] * d[:, 1] - e1[:, 1] * d[:, 0]) / det
    z = a[:, 2] + u * (b[:, 2] - a[:, 2]) + v * (c[:, 2] - a[:, 2])
    return np.where(flat, np.maximum(np.maximum(a[:, 2], b[:, 2]), c[:, 2]), z)


def drape(terrain: Layer, layer: Layer, relative: bool = False) -> int:
    """Move each feature of ``layer`` vertically so its lowest point sits on
    the ground (the lowest terrain height under its vertices). With
    ``relative``, heights are above the ground instead: z = 0 goes to that
    ground, so a canopy on columns or an underground car park keeps its
    ``min_height`` (what footprints from a vector file carry).

    Returns the number of features moved. Points shared by features take the
    shift of one of them. The caller emits ``layer_changed(layer, "mesh")``.
    """
    mesh = layer.mesh
    if mesh.n_cells == 0:
        return 0
    try:
        faces = mesh.regular_faces
    except ValueError:
        faces = None
    feat = layer.cell_features
    pts = np.asarray(mesh.points, dtype=np.float64)
    point_feature = np.full(len(pts), -1, dtype=np.int64)
    if faces is not None:
        point_feature[faces.ravel()] = np.repeat(feat, faces.shape[1])
    else:
        point_feature[:] = 0
    used = point_feature >= 0
    ground = sample_height(terrain, pts[used, :2])
    n = len(layer.features)
    gmin = np.full(n, np.inf)
    zmin = np.full(n, np.inf)
    pf = point_feature[used]
    ok = np.isfinite(ground)
    np.minimum.at(gmin, pf[ok], ground[ok])
    np.minimum.at(zmin, pf, pts[used, 2])
    shift = np.where(np.isfinite(gmin) & np.isfinite(zmin), gmin - (0.0 if relative else zmin), 0.0)
    dz = np.zeros(len(pts))
    dz[used] = shift[pf]
    mesh.points = (pts + np.column_stack([np.zeros_like(dz), np.zeros_like(dz), dz])).astype(
        np.float32
    )
    layer.features.bounds[:, 4:6] += shift[:, None]
    return int(np.count_nonzero(shift))


def drape_vertices(terrain: Layer, layer: Layer) -> int:
    """Lift every vertex of ``layer`` by the ground height under it, so roads and
    land-use areas follow the terrain (a rigid :func:`drape` would bury a long
    road on a slope). Vertices off the terrain stay where they are.

    The triangles are first cut along the terrain's grid (:func:`grid_split`: a
    land-use polygon or a road comes triangulated with long slivers whose chords
    would cut through the ground), so the layer's mesh is replaced. Returns the
    number of vertices moved; feature z-bounds are recomputed.
    """
    mesh = layer.mesh
    if mesh.n_points == 0:
        return 0
    if mesh.n_cells and mesh.GetPolys().GetNumberOfCells() == mesh.n_cells:
        mesh = grid_split(mesh.triangulate(), *lattice(terrain))
        layer.mesh = mesh
    pts = np.asarray(mesh.points, dtype=np.float64)
    ground = sample_height(terrain, pts[:, :2])
    ok = np.isfinite(ground)
    pts[ok, 2] += ground[ok]
    mesh.points = pts.astype(np.float32)
    polys = mesh.GetPolys()
    if mesh.n_cells and polys.GetNumberOfCells() == mesh.n_cells and len(layer.features):
        # polygon cells only (what the importers build): z-bounds per feature
        from vtkmodules.util.numpy_support import vtk_to_numpy

        sizes = np.diff(vtk_to_numpy(polys.GetOffsetsArray()))
        point_feature = np.repeat(np.asarray(layer.cell_features), sizes)
        z = pts[vtk_to_numpy(polys.GetConnectivityArray()), 2]
        n = len(layer.features)
        lo, hi = np.full(n, np.inf), np.full(n, -np.inf)
        np.minimum.at(lo, point_feature, z)
        np.maximum.at(hi, point_feature, z)
        seen = np.isfinite(lo)
        layer.features.bounds[seen, 4] = lo[seen]
        layer.features.bounds[seen, 5] = hi[seen]
    return int(ok.sum())


def grid_split(mesh: Any, origin: np.ndarray, axes: np.ndarray) -> Any:
    """Cut the triangles of ``mesh`` (in plan) along the lines of a grid and its
    diagonals: with ``p = origin + i * axes[:, 0] + j * axes[:, 1]``, along every
    integer ``i``, ``j`` and ``i + j``. For a terrain layer's grid (cell centres,
    see :func:`lattice`) every piece then lies in one terrain triangle.

    An importer triangulates a long road or a park with slivers hundreds of
    metres long; lifted vertex by vertex onto the ground, their chords would cut
    through the terrain. A crossing point is made once per edge, so neighbouring
    triangles stay joined (no T-junctions). Cell data follow the parent
    triangle; point data are dropped.
    """
    import pyvista as pv

    pts = np.asarray(mesh.points, dtype=np.float64)
    tri = np.asarray(mesh.regular_faces, dtype=np.int64).reshape(-1, 3)
    parent = np.arange(len(tri))
    inv = np.linalg.inv(np.asarray(axes, dtype=np.float64))
    origin = np.asarray(origin, dtype=np.float64)[:2]
    for coef in (inv[0], inv[1], inv[0] + inv[1]):
        val = (pts[:, :2] - origin) @ coef
        pts, tri, parent = _strips(pts, val, tri, parent)
    out = pv.PolyData(pts, np.column_stack([np.full(len(tri), 3), tri]).ravel())
    for name in mesh.cell_data:
        out.cell_data[name] = np.asarray(mesh.cell_data[name])[parent]
    return out


#: a vertex this close to a cut line (in cells: ~2 mm for 25 m) counts as on it, so
#: cutting makes no needle triangles
_SNAP = 1e-4


def _strips(
    pts: np.ndarray, val: np.ndarray, tri: np.ndarray, parent: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cut every triangle into its strips between the lines ``val == k`` (integer
    k): each strip is a convex polygon of the triangle's corners and the points
    where its edges cross the two lines, fanned into triangles. A crossing point
    is keyed by (edge, line), so the triangles on both sides of an edge share it."""
    tv = val[tri]
    first = np.ceil(tv.min(axis=1) + _SNAP).astype(np.int64)
    last = np.floor(tv.max(axis=1) - _SNAP).astype(np.int64)
    spans = first <= last
    if not spans.any():
        return pts, tri, parent
    t, tv, first, last = tri[spans], tv[spans], first[spans], last[spans]
    n_strips = last - first + 2
    row = np.repeat(np.arange(len(t)), n_strips)
    s = np.arange(len(row)) - np.repeat(np.cumsum(n_strips) - n_strips, n_strips)
    lo = (first[row] + s - 1).astype(np.float64)  # strip s lies between lo and lo + 1
    hi = lo + 1.0
    tr, vv = t[row], tv[row]
    lo[s == 0] = vv[s == 0].min(axis=1) - 1.0  # the end strips reach past the corners
    end = s == n_strips[row] - 1
    hi[end] = vv[end].max(axis=1) + 1.0
    # Walk the three edges P -> Q: P if inside, then the crossings in order along P Q.
    slots_ref = np.full((len(row), 9), -1, dtype=np.int64)  # existing vertex index
    slots_key = np.full((len(row), 9, 3), -1, dtype=np.int64)  # (i, j, line) of a crossing
    ok = np.zeros((len(row), 9), dtype=bool)
    for e in range(3):
        i, j = tr[:, e], tr[:, (e + 1) % 3]
        vi, vj = vv[:, e], vv[:, (e + 1) % 3]
        ok[:, 3 * e] = (vi >= lo - _SNAP) & (vi <= hi + _SNAP)
        slots_ref[:, 3 * e] = i
        rising = vj > vi
        for k, level in enumerate((lo, hi)):
            cross = ((vi < level - _SNAP) & (vj > level + _SNAP)) | (
                (vi > level + _SNAP) & (vj < level - _SNAP)
            )
            # the lower line comes first along a rising edge
            slot = 3 * e + 1 + np.where(rising, k, 1 - k)
            r = np.flatnonzero(cross)
            ok[r, slot[r]] = True
            a, b = np.minimum(i, j)[r], np.maximum(i, j)[r]
            slots_key[r, slot[r]] = np.column_stack([a, b, level[r].astype(np.int64)])
    count = ok.sum(axis=1)
    order = np.argsort(~ok, axis=1, kind="stable")  # valid slots first, in walk order
    ref = np.take_along_axis(slots_ref, order, axis=1)
    key = np.take_along_axis(slots_key, order[:, :, None], axis=1)
    is_new = np.take_along_axis(ok & (slots_key[:, :, 0] >= 0), order, axis=1)
    is_new &= np.arange(9) < count[:, None]
    keys = key[is_new]
    uniq, inv = np.unique(keys, axis=0, return_inverse=True)
    a, b = pts[uniq[:, 0]], pts[uniq[:, 1]]
    fa, fb = val[uniq[:, 0]], val[uniq[:, 1]]
    f = (uniq[:, 2] - fa) / (fb - fa)
    new_pts = a + f[:, None] * (b - a)
    ref[is_new] = len(pts) + inv.ravel()
    # Fan each polygon from its first vertex.
    out, owner = [tri[~spans]], [parent[~spans]]
    par = parent[spans][row]
    for m in range(1, 8):
        sel = count >= m + 2
        out.append(np.column_stack([ref[sel, 0], ref[sel, m], ref[sel, m + 1]]))
        owner.append(par[sel])
    return np.vstack([pts, new_pts]), np.concatenate(out), np.concatenate(owner)


def lattice(terrain: Layer) -> tuple[np.ndarray, np.ndarray]:
    """The terrain's vertex grid in scene-local plan coordinates: the origin (a
    cell centre) and the two cell steps as columns. Exact when the DEM is in the
    scene's CRS; otherwise a square grid of the mean cell size, aligned with x/y."""
    grid = _GRIDS.get(terrain)
    if grid is not None and grid.crs == grid.scene_crs:
        fwd = ~grid.inverse
        origin = grid.origin - terrain.origin_shift
        o = np.array(_apply(fwd, 0.5, 0.5), dtype=np.float64) - origin[:2]
        return o, np.array([[fwd.a, fwd.b], [fwd.d, fwd.e]], dtype=np.float64)
    x0, x1, y0, y1 = terrain.mesh.bounds[:4]
    cells = max(terrain.mesh.n_cells / 2.0, 1.0)
    step = max(float(np.sqrt(max((x1 - x0) * (y1 - y0), 1.0) / cells)), 1.0)
    return np.array([x0, y0]), np.eye(2) * step


def extent(path: Path) -> tuple[str | None, tuple[float, float, float, float]]:
    """The raster's CRS (horizontal) and bounds, from the header only (read in a child)."""
    from importers import sandbox

    found = sandbox.call(path, "importers.raster_read:header", str(path))
    if "error" in found:
        raise ImportFailed(path, found["error"])
    return scene_extent(_declared_crs(found["crs_wkt"]), found["bounds"])


def _declared_crs(wkt: str | None) -> str | None:
    """The raster's horizontal CRS as a string pyproj and the scene accept."""
    if not wkt:
        return None
    from pyproj import CRS

    return crs_2d(CRS.from_wkt(wkt), wkt)
