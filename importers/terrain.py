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
    local = to_local(world, src_crs, scene)
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

    Bilinear on the terrain grid; NaN outside it or over nodata. Works for
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
    top = z[r0, c0] * (1 - fc) + z[r0, c0 + 1] * fc
    bottom = z[r0 + 1, c0] * (1 - fc) + z[r0 + 1, c0 + 1] * fc
    out = top * (1 - fr) + bottom * fr - origin[2]
    return np.where(inside, out, np.nan)


def _ray_heights(layer: Layer, xy: np.ndarray) -> np.ndarray:
    import vtk

    mesh = layer.mesh
    out = np.full(len(xy), np.nan)
    if mesh.n_cells == 0:
        return out
    loc = vtk.vtkStaticCellLocator()
    loc.SetDataSet(mesh)
    loc.BuildLocator()
    zlo, zhi = mesh.bounds[4] - 1.0, mesh.bounds[5] + 1.0
    t = vtk.reference(0.0)
    hit = [0.0, 0.0, 0.0]
    pcoords = [0.0, 0.0, 0.0]
    sub = vtk.reference(0)
    for i, (x, y) in enumerate(xy.tolist()):
        if loc.IntersectWithLine([x, y, zhi], [x, y, zlo], 1e-6, t, hit, pcoords, sub):
            out[i] = hit[2]
    return out


def drape(terrain: Layer, layer: Layer) -> int:
    """Move each feature of ``layer`` vertically so its lowest point sits on
    the ground (the lowest terrain height under its vertices).

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
    shift = np.where(np.isfinite(gmin) & np.isfinite(zmin), gmin - zmin, 0.0)
    dz = np.zeros(len(pts))
    dz[used] = shift[pf]
    mesh.points = (pts + np.column_stack([np.zeros_like(dz), np.zeros_like(dz), dz])).astype(
        np.float32
    )
    layer.features.bounds[:, 4:6] += shift[:, None]
    return int(np.count_nonzero(shift))


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
