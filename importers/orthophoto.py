"""Orthophoto basemaps: a GeoTIFF/COG or an MBTiles file as a textured ground layer.

The image is warped into the scene CRS (``rasterio.warp``) as one north-up
texture of at most :data:`twin.textures.MAX_ATLAS_SIDE` texels a side, laid on
a grid of quads in scene-local metres at ``z`` (flat), or draped on a terrain
layer (:func:`drape`). The texture travels with the mesh the way appearance
textures do (:mod:`twin.textures`: field-data image, ``tcoords``, ``textured``
cells), so the window and the offscreen renderer draw it through the one
render path; with textures off each quad shows the mean colour of its pixels.

Why read decimated and then warp: a province orthophoto COG is tens of
thousands of pixels a side. ``DatasetReader.read(out_shape=...)`` lets GDAL use
the file's overviews, so only about as many pixels as the texture holds are
ever decoded; warping that small array is then cheap. MBTiles are mosaicked at
the deepest zoom whose tiles over the wanted area fit the same budget.

GDAL and image decoding run in a child process (:mod:`importers.sandbox`): a
damaged TIFF or tile ends the child, never the app, and each failure is one
line naming the file.
"""

from __future__ import annotations

import math
import threading
from pathlib import Path
from typing import Any

import numpy as np

from importers.errors import ImportCancelled, ImportFailed

#: Texels of the image along one side of a mesh quad, at least; bigger images get
#: bigger quads so that a basemap stays under ~130,000 triangles.
MIN_BLOCK_PX = 4
MAX_QUADS_SIDE = 256
#: A warped pixel counts as image where its interpolated coverage is at least this
#: (of 255): the edge of the image, and nodata, are cut at whole quads.
COVERED = 250
#: The source is read (averaged through its overviews) at up to this many times
#: the texture's resolution before warping. 1: GDAL's bilinear warp widens its
#: kernel when it shrinks an image, and 1.5x costs ~6x the 1:1 warp (4.8 s
#: against 0.8 s for a 4096² texture); the averaging read already filters.
OVERSAMPLE = 1.0
WEB_MERCATOR = "EPSG:3857"
#: Half the side of the web-mercator square (metres).
MERC_HALF = 20037508.342789244
#: Fraction of the loaded content's extent added around it when no ``extent`` is given.
EXTENT_MARGIN = 0.25


def read(
    path: Path,
    scene: Any,
    options: dict[str, Any],
    progress=None,
    cancel: threading.Event | None = None,
) -> list[Any]:
    """Import an orthophoto as one ``basemap`` layer.

    Options
    -------
    extent : [xmin, ymin, xmax, ymax] in the scene CRS (world metres): the part
        of the image to warp. Default: the layers loaded so far plus a quarter
        of their size around them, else the whole image.
    max_size : texture side cap in texels (default and upper limit 4096).
    resolution : metres per texel (default: the source's, within ``max_size``).
    zoom : MBTiles zoom level (default: the deepest that fits ``max_size``).
    z : height of a flat basemap, scene-local metres (default 0).
    """
    from importers import sandbox
    from twin.geo import LOCAL_CRS
    from twin.textures import MAX_ATLAS_SIDE

    path = Path(path)
    if scene.crs == LOCAL_CRS:
        raise ImportFailed(path, "the scene has no real CRS to place an orthophoto in")
    max_side = int(options.get("max_size", MAX_ATLAS_SIDE))
    if not 16 <= max_side <= MAX_ATLAS_SIDE:
        raise ImportFailed(path, f"max_size must be 16..{MAX_ATLAS_SIDE}, got {max_side}")
    window = _wanted_extent(path, scene, options)
    resolution = options.get("resolution")
    zoom = options.get("zoom")
    found = sandbox.call(
        path,
        "importers.orthophoto:warp_image",
        str(path),
        str(scene.crs),
        window,
        max_side,
        None if resolution is None else float(resolution),
        None if zoom is None else int(zoom),
        cancel=cancel,
    )
    if "error" in found:
        raise ImportFailed(path, found["error"])
    if cancel is not None and cancel.is_set():
        raise ImportCancelled(str(path))
    if progress is not None:
        progress(1, 2)
    layer = _layer(path, scene, found, float(options.get("z", 0.0)))
    if progress is not None:
        progress(2, 2)
    return [layer]


def _wanted_extent(path: Path, scene: Any, options: dict[str, Any]) -> list[float] | None:
    value = options.get("extent")
    if value is not None:
        ok = isinstance(value, list | tuple) and len(value) == 4
        ok = ok and all(isinstance(v, int | float) and math.isfinite(v) for v in value)
        if not ok or value[2] <= value[0] or value[3] <= value[1]:
            what = f"option extent must be [xmin, ymin, xmax, ymax], got {value!r}"
            raise ImportFailed(path, what)
        return [float(v) for v in value]
    bounds = scene.local_bounds(visible_only=False) if scene.layers else None
    if bounds is None:
        return None
    o = scene.origin
    mx = EXTENT_MARGIN * max(bounds[1] - bounds[0], 1.0)
    my = EXTENT_MARGIN * max(bounds[3] - bounds[2], 1.0)
    return [
        bounds[0] + o[0] - mx, bounds[2] + o[1] - my, bounds[1] + o[0] + mx, bounds[3] + o[1] + my
    ]


def _layer(path: Path, scene: Any, found: dict[str, Any], z: float) -> Any:
    """The warped image -> a Layer of textured quads (one feature)."""
    from twin import crs_record
    from twin.features import FeatureTable
    from twin.layer import Layer
    from twin.meshing import TriMesh
    from twin.style import NATIVE_CELL_ARRAY, Style
    from twin.textures import TCOORDS_ARRAY, TEXTURED_ARRAY, attach

    rgba = found["rgba"]
    h, w = rgba.shape[:2]
    a, _, c, _, e, f = found["transform"]
    valid = rgba[..., 3] >= COVERED
    block = max(MIN_BLOCK_PX, math.ceil(max(w, h) / MAX_QUADS_SIDE))
    nx, ny = math.ceil(w / block), math.ceil(h / block)
    keep = _blocks(valid, block, ny, nx).all(axis=(1, 3))
    if not keep.any():
        raise ImportFailed(path, "has no image pixels inside the scene extent (all nodata)")
    # Vertices on block corners: texel edges, so the image lands where its pixels are.
    px = np.minimum(np.arange(nx + 1) * block, w).astype(np.float64)
    py = np.minimum(np.arange(ny + 1) * block, h).astype(np.float64)
    gx, gy = np.meshgrid(px, py)
    points = np.column_stack(
        [
            c + a * gx.ravel() - scene.origin[0],
            f + e * gy.ravel() - scene.origin[1],
            np.full(gx.size, z),
        ]
    )
    tcoords = np.column_stack([gx.ravel() / w, 1.0 - gy.ravel() / h]).astype(np.float32)
    qj, qi = np.nonzero(keep)
    v00 = qj * (nx + 1) + qi
    v10, v01, v11 = v00 + 1, v00 + nx + 1, v00 + nx + 2
    # counter-clockwise seen from above (rows go south): up-facing triangles
    tris = np.concatenate([np.column_stack([v01, v10, v00]), np.column_stack([v01, v11, v10])])
    used = np.zeros(len(points), dtype=bool)
    used[tris.ravel()] = True
    remap = np.cumsum(used) - 1
    mesh = TriMesh(points[used], remap[tris], np.zeros(len(tris), dtype=np.int32))
    poly = mesh.to_polydata()
    poly.point_data[TCOORDS_ARRAY] = tcoords[used]
    poly.point_data.active_texture_coordinates_name = TCOORDS_ARRAY
    poly.cell_data[TEXTURED_ARRAY] = np.ones(len(tris), dtype=np.uint8)
    means = _block_means(rgba[..., :3], valid, block, ny, nx)[qj, qi]
    poly.cell_data[NATIVE_CELL_ARRAY] = np.concatenate([means, means])
    attach(poly, _bleed(rgba[..., :3], valid))
    lo, hi = mesh.points.min(axis=0), mesh.points.max(axis=0)
    bounds = np.array([[lo[0], hi[0], lo[1], hi[1], lo[2], hi[2]]])
    pixel = float(abs(a))
    table = FeatureTable(
        np.array([path.stem], dtype=object),
        np.array(["orthophoto"], dtype=object),
        np.array([path.name], dtype=object),
        bounds,
        {"pixel_size_m": np.array([pixel])},
    )
    notes = list(found.get("notes", []))
    src_crs = found["src_crs"] or scene.crs
    if not found["src_crs"]:
        notes.append(f"no CRS declared; assumed the scene CRS {scene.crs}")
    world = np.array([[c, f + e * h, 0.0], [c + a * w, f, 0.0]])
    ops = [
        crs_record.record_transform(
            src_crs,
            scene.crs,
            crs_record.bounds_of(world),
            origin=scene.origin,
            units=("image: warped with rasterio.warp (bilinear) into a north-up grid",),
        )
    ]
    info = {
        "format": found["format"],
        "source_size": list(found["source_size"]),
        "texture_size": [w, h],
        "pixel_size_m": round(pixel, 4),
        "quad_px": block,
    }
    if found.get("zoom") is not None:
        info["zoom"] = found["zoom"]
    return Layer(
        name=path.stem,
        mesh=poly,
        features=table,
        kind="basemap",
        style=Style(mode="native"),
        warnings=notes,
        source=path,
        crs=src_crs,
        info=info,
        crs_operations=ops,
    )


def _blocks(arr: np.ndarray, block: int, ny: int, nx: int, fill: Any = False) -> np.ndarray:
    """(ny, block, nx, block, ...) view of ``arr`` padded with ``fill`` to whole blocks."""
    h, w = arr.shape[:2]
    pad = [(0, ny * block - h), (0, nx * block - w)] + [(0, 0)] * (arr.ndim - 2)
    padded = np.pad(arr, pad, constant_values=fill)
    return padded.reshape(ny, block, nx, block, *arr.shape[2:])


def _block_means(rgb: np.ndarray, valid: np.ndarray, block: int, ny: int, nx: int) -> np.ndarray:
    """(ny, nx, 3) uint8 mean colour of each block's valid pixels (the untextured look)."""
    # integer sums (a block holds at most 64 x 64 texels: 255 * 4096 fits in uint32),
    # so a 4096² image never becomes a float64 copy of 400 MB
    masked = np.where(valid[..., None], rgb, 0).astype(np.uint8)
    total = _blocks(masked, block, ny, nx, 0).sum(axis=(1, 3), dtype=np.uint32)
    count = np.maximum(_blocks(valid, block, ny, nx).sum(axis=(1, 3), dtype=np.uint32), 1)
    return np.round(total / count[..., None]).astype(np.uint8)


def _bleed(rgb: np.ndarray, valid: np.ndarray, steps: int = 2) -> np.ndarray:
    """Copy edge colours into the first ``steps`` nodata texels around the image,
    so linear filtering at a cut quad's edge does not blend in black."""
    out = np.where(valid[..., None], rgb, 0).astype(np.uint8)
    have = valid.copy()
    for _ in range(steps):
        grow = have.copy()
        for dy, dx in ((0, 1), (0, -1), (1, 0), (-1, 0)):
            src = np.roll(have, (dy, dx), axis=(0, 1))
            take = src & ~grow
            if take.any():
                out[take] = np.roll(out, (dy, dx), axis=(0, 1))[take]
                grow |= take
        have = grow
    return out


def drape(terrain: Any, layer: Any) -> None:
    """Lay a basemap on a terrain layer: every vertex follows the ground
    (:func:`importers.terrain.drape_vertices`, which re-cuts the quads along the
    terrain's grid into a new mesh without point or field data), then the texture
    coordinates are recomputed from plan position, which the basemap's north-up
    grid fixes, and the image is attached again."""
    from importers import terrain as terrain_mod
    from twin.textures import TCOORDS_ARRAY, TEXTURED_ARRAY, atlas_of, attach

    mesh = layer.mesh
    image = atlas_of(mesh)
    tc = np.asarray(mesh.point_data[TCOORDS_ARRAY], dtype=np.float64)
    xy = np.asarray(mesh.points, dtype=np.float64)[:, :2]
    # plan position -> texture coordinate is affine per axis: two extreme points fix it
    ix, iy = np.argmin(xy[:, 0]), np.argmax(xy[:, 0])
    jy, jx = np.argmin(xy[:, 1]), np.argmax(xy[:, 1])
    su = (tc[iy, 0] - tc[ix, 0]) / (xy[iy, 0] - xy[ix, 0])
    sv = (tc[jx, 1] - tc[jy, 1]) / (xy[jx, 1] - xy[jy, 1])
    u0, v0 = tc[ix, 0] - su * xy[ix, 0], tc[jy, 1] - sv * xy[jy, 1]
    terrain_mod.drape_vertices(terrain, layer)
    mesh = layer.mesh
    pts = np.asarray(mesh.points, dtype=np.float64)
    mesh.point_data[TCOORDS_ARRAY] = np.column_stack(
        [u0 + su * pts[:, 0], v0 + sv * pts[:, 1]]
    ).astype(np.float32)
    mesh.point_data.active_texture_coordinates_name = TCOORDS_ARRAY
    if TEXTURED_ARRAY not in mesh.cell_data:
        mesh.cell_data[TEXTURED_ARRAY] = np.ones(mesh.n_cells, dtype=np.uint8)
    if image is not None and atlas_of(mesh) is None:
        attach(mesh, image)


def extent(path: Path) -> tuple[str | None, tuple[float, float, float, float]]:
    """The image's CRS and bounds (an MBTiles file: its tiles' lon/lat bounds)."""
    from importers import sandbox
    from importers.georef import scene_extent

    found = sandbox.call(path, "importers.orthophoto:header", str(path))
    if "error" in found:
        raise ImportFailed(path, found["error"])
    return scene_extent(found["crs"], found["bounds"])


# -- in the child process -------------------------------------------------------------


def _is_sqlite(path: str) -> bool:
    with open(path, "rb") as fh:
        return fh.read(16) == b"SQLite format 3\x00"


def header(path: str) -> dict[str, Any]:
    """CRS and bounds without reading pixels, or ``{"error": message}``."""
    try:
        if path.lower().endswith(".mbtiles") or _is_sqlite(path):
            with _MBTiles(path) as mb:
                zoom = mb.zooms()[-1]
                x0, y0, x1, y1 = mb.tile_range(zoom)
                left, top = _lonlat(*_tile_corner(zoom, x0, y0))
                right, bottom = _lonlat(*_tile_corner(zoom, x1 + 1, y1 + 1))
                # lon/lat, so that a scene fitted to the file is in UTM, not web mercator
                return {"crs": "EPSG:4326", "bounds": (left, bottom, right, top)}
        import rasterio

        with rasterio.open(path) as ds:
            b = ds.bounds
            return {
                "crs": ds.crs.to_string() if ds.crs else None,
                "bounds": (b.left, b.bottom, b.right, b.top),
            }
    except _Refused as exc:
        return {"error": str(exc)}
    except Exception as exc:
        return {"error": f"cannot be read as an orthophoto: {_one_line(exc)}"}


class _Refused(Exception):
    """A file we understood and refuse, with the one-line reason."""


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:200]


def warp_image(
    path: str,
    dst_crs: str,
    window: list[float] | None,
    max_side: int,
    resolution: float | None,
    zoom: int | None,
) -> dict[str, Any]:
    """The image warped into ``dst_crs``: ``rgba`` (h, w, 4) uint8 (alpha: coverage),
    its north-up ``transform`` (6 affine terms), facts; or ``{"error": message}``."""
    try:
        if path.lower().endswith(".mbtiles") or _is_sqlite(path):
            src = _read_mbtiles(path, dst_crs, window, max_side, zoom)
        else:
            src = _read_geotiff(path, dst_crs, window, max_side)
        return _warp(src, dst_crs, window, max_side, resolution)
    except _Refused as exc:
        return {"error": str(exc)}
    except MemoryError:
        return {"error": "is too large to warp in memory; set a smaller max_size or extent"}
    except Exception as exc:
        return {"error": f"cannot be read as an orthophoto: {_one_line(exc)}"}


def _src_window_bounds(src_crs: Any, dst_crs: str, window: list[float] | None):
    """The wanted scene extent in the source CRS, or None for all of it."""
    if window is None:
        return None
    from rasterio.warp import transform_bounds

    return transform_bounds(dst_crs, src_crs, *window, densify_pts=21)


def _read_geotiff(path: str, dst_crs: str, window: list[float] | None, max_side: int) -> dict:
    """RGB + coverage of the wanted part, read decimated (overviews) to about the
    texture's size, in the source CRS."""
    import rasterio
    from rasterio.enums import ColorInterp, Resampling
    from rasterio.windows import Window, from_bounds

    with rasterio.open(path) as ds:
        if ds.width < 1 or ds.height < 1 or ds.count < 1:
            raise _Refused(f"is {ds.width}x{ds.height} pixels with {ds.count} bands; no image")
        src_crs = ds.crs or dst_crs
        full = Window(0, 0, ds.width, ds.height)
        win = full
        wanted = _src_window_bounds(src_crs, dst_crs, window)
        if wanted is not None:
            try:
                win = from_bounds(*wanted, transform=ds.transform).intersection(full)
            except Exception:
                raise _Refused("does not overlap the scene extent") from None
            win = win.round_offsets().round_lengths()
            if win.width < 1 or win.height < 1:
                raise _Refused("does not overlap the scene extent")
        scale = min(1.0, OVERSAMPLE * max_side / max(win.width, win.height))
        out_h = max(1, round(win.height * scale))
        out_w = max(1, round(win.width * scale))
        interp = list(ds.colorinterp)
        bands = _rgb_bands(interp, ds.count, ColorInterp)
        data = ds.read(bands, window=win, out_shape=(len(bands), out_h, out_w),
                       resampling=Resampling.average)
        mask = ds.dataset_mask(window=win, out_shape=(out_h, out_w),
                               resampling=Resampling.nearest)
        rgb, notes = _to_rgb8(data, mask > 0, ds.colormap(1) if _has_palette(ds) else None)
        transform = _scaled(ds.window_transform(win), win.width / out_w, win.height / out_h)
        return {
            "rgb": rgb,
            "mask": mask,
            "transform": transform,
            "crs": src_crs,
            "declared": ds.crs.to_string() if ds.crs else None,
            "format": f"{ds.driver} orthophoto",
            "size": (ds.width, ds.height),
            "notes": notes,
            "zoom": None,
        }


def _scaled(aff: Any, sx: float, sy: float) -> Any:
    from affine import Affine

    return aff * Affine.scale(sx, sy)


def _has_palette(ds: Any) -> bool:
    try:
        ds.colormap(1)
    except ValueError:
        return False
    return True


def _rgb_bands(interp: list, count: int, ci: Any) -> list[int]:
    """Band numbers to read: red, green, blue by colour interpretation when the
    file says so, else the first three, else the one grey or palette band."""
    if count < 3:
        return [1]
    try:
        return [interp.index(ci.red) + 1, interp.index(ci.green) + 1, interp.index(ci.blue) + 1]
    except ValueError:
        return [1, 2, 3]


def _to_rgb8(data: np.ndarray, valid: np.ndarray, palette: dict | None) -> tuple[np.ndarray, list]:
    """(bands, h, w) of any dtype -> (3, h, w) uint8; 16-bit or float imagery is
    stretched between the 2nd and 98th percentile of its valid pixels."""
    notes: list[str] = []
    if palette is not None and data.shape[0] == 1 and data.dtype.kind in "ui":
        lut = np.zeros((max(256, int(data.max()) + 1), 3), dtype=np.uint8)
        for k, rgba in palette.items():
            if 0 <= k < len(lut):
                lut[k] = rgba[:3]
        return np.moveaxis(lut[data[0]], -1, 0), notes
    if data.shape[0] == 1:
        data = np.repeat(data, 3, axis=0)
    if data.dtype != np.uint8:
        vals = data[:, valid] if valid.any() else data.reshape(3, -1)
        vals = vals[np.isfinite(vals)] if vals.dtype.kind == "f" else vals
        lo, hi = (np.percentile(vals, (2, 98)) if vals.size else (0.0, 1.0))
        span = float(hi - lo) or 1.0
        data = np.clip((np.nan_to_num(data.astype(np.float64)) - lo) / span * 255.0, 0, 255)
        notes.append(f"{vals.dtype} pixels stretched to 8 bits between {lo:g} and {hi:g}")
        data = np.round(data).astype(np.uint8)
    return data, notes


# -- MBTiles ---------------------------------------------------------------------------


class _MBTiles:
    """A read-only MBTiles (SQLite) file."""

    def __init__(self, path: str) -> None:
        import sqlite3

        self.path = path
        try:
            self.db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            names = {r[0] for r in self.db.execute("SELECT name FROM sqlite_master")}
        except sqlite3.DatabaseError as exc:
            raise _Refused(f"is not an MBTiles file (SQLite says: {_one_line(exc)})") from None
        if "tiles" not in names:
            raise _Refused("is not an MBTiles file: it has no 'tiles' table")
        self.meta: dict[str, str] = {}
        if "metadata" in names:
            rows = self.db.execute("SELECT name, value FROM metadata")
            self.meta = {str(k): str(v) for k, v in rows}
        fmt = self.meta.get("format", "").lower()
        if fmt in ("pbf", "mvt"):
            raise _Refused(f"holds vector tiles ({fmt}), not images")

    def __enter__(self) -> _MBTiles:
        return self

    def __exit__(self, *exc: object) -> None:
        self.db.close()

    def zooms(self) -> list[int]:
        zs = [int(r[0]) for r in self.db.execute("SELECT DISTINCT zoom_level FROM tiles")]
        zs = sorted(z for z in zs if 0 <= z <= 30)
        if not zs:
            raise _Refused("has no tiles")
        return zs

    def tile_range(self, zoom: int) -> tuple[int, int, int, int]:
        """(x0, y0, x1, y1) XYZ tile numbers (y from the north) at ``zoom``."""
        row = self.db.execute(
            "SELECT MIN(tile_column), MIN(tile_row), MAX(tile_column), MAX(tile_row) "
            "FROM tiles WHERE zoom_level = ?",
            (zoom,),
        ).fetchone()
        n = 2**zoom
        x0, r0, x1, r1 = (int(v) for v in row)
        return x0, n - 1 - r1, x1, n - 1 - r0  # MBTiles rows count from the south (TMS)


def _tile_corner(zoom: int, x: float, y: float) -> tuple[float, float]:
    """Web-mercator metres of the north-west corner of XYZ tile (x, y)."""
    size = 2 * MERC_HALF / 2**zoom
    return -MERC_HALF + x * size, MERC_HALF - y * size


def _lonlat(x: float, y: float) -> tuple[float, float]:
    """Web-mercator metres -> degrees (spherical, as the tiles are cut)."""
    r = MERC_HALF / math.pi
    return math.degrees(x / r), math.degrees(math.atan(math.sinh(y / r)))


def _read_mbtiles(
    path: str, dst_crs: str, window: list[float] | None, max_side: int, zoom: int | None
) -> dict:
    """Mosaic of the tiles over the wanted area at one zoom, in web mercator."""
    import io

    from PIL import Image

    with _MBTiles(path) as mb:
        zooms = mb.zooms()
        if zoom is not None and zoom not in zooms:
            raise _Refused(f"has no tiles at zoom {zoom}; zooms: {', '.join(map(str, zooms))}")
        wanted = _src_window_bounds(WEB_MERCATOR, dst_crs, window)
        budget = max_side * 2  # zoom levels are a factor 2 apart
        chosen = None
        for z in ([zoom] if zoom is not None else zooms[::-1]):
            x0, y0, x1, y1 = _wanted_tiles(mb, z, wanted)
            if x1 < x0 or y1 < y0:
                continue
            chosen = (z, x0, y0, x1, y1)
            if zoom is not None or max(x1 - x0 + 1, y1 - y0 + 1) * 256 <= budget:
                break
        if chosen is None:
            raise _Refused("has no tiles over the scene extent")
        z, x0, y0, x1, y1 = chosen
        n = 2**z
        rows = mb.db.execute(
            "SELECT tile_column, tile_row, tile_data FROM tiles WHERE zoom_level = ? "
            "AND tile_column BETWEEN ? AND ? AND tile_row BETWEEN ? AND ?",
            (z, x0, x1, n - 1 - y1, n - 1 - y0),
        ).fetchall()
    tiles: dict[tuple[int, int], np.ndarray] = {}
    bad = 0
    side = 0
    for col, trow, blob in rows:
        try:
            with Image.open(io.BytesIO(blob)) as img:
                arr = np.asarray(img.convert("RGBA"))
        except Exception:
            bad += 1
            continue
        if arr.shape[0] != arr.shape[1] or (side and arr.shape[0] != side):
            bad += 1
            continue
        side = arr.shape[0]
        tiles[(int(col) - x0, (n - 1 - int(trow)) - y0)] = arr
    if not tiles:
        what = f"none of its {len(rows)} tiles at zoom {z} could be decoded" if rows else (
            f"has no tiles at zoom {z} over the scene extent")
        raise _Refused(what)
    nx, ny = x1 - x0 + 1, y1 - y0 + 1
    mosaic = np.zeros((ny * side, nx * side, 4), dtype=np.uint8)
    for (i, j), arr in tiles.items():
        mosaic[j * side : (j + 1) * side, i * side : (i + 1) * side] = arr
    left, top = _tile_corner(z, x0, y0)
    res = 2 * MERC_HALF / n / side
    from affine import Affine

    notes = [f"{bad} damaged tiles at zoom {z} left blank"] if bad else []
    return {
        "rgb": np.moveaxis(mosaic[..., :3], -1, 0),
        "mask": mosaic[..., 3],
        "transform": Affine(res, 0.0, left, 0.0, -res, top),
        "crs": WEB_MERCATOR,
        "declared": WEB_MERCATOR,
        "format": f"MBTiles ({mb.meta.get('format', 'png')})",
        "size": (nx * side, ny * side),
        "notes": notes,
        "zoom": z,
    }


def _wanted_tiles(mb: _MBTiles, z: int, wanted) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = mb.tile_range(z)
    if wanted is None:
        return x0, y0, x1, y1
    size = 2 * MERC_HALF / 2**z
    wx0 = math.floor((wanted[0] + MERC_HALF) / size)
    wx1 = math.floor((wanted[2] + MERC_HALF) / size)
    wy0 = math.floor((MERC_HALF - wanted[3]) / size)
    wy1 = math.floor((MERC_HALF - wanted[1]) / size)
    return max(x0, wx0), max(y0, wy0), min(x1, wx1), min(y1, wy1)


# -- warping ----------------------------------------------------------------------------


def _warp(
    src: dict, dst_crs: str, window: list[float] | None, max_side: int, resolution: float | None
) -> dict[str, Any]:
    """Warp the source bands and coverage into a north-up grid in ``dst_crs``."""
    from affine import Affine
    from rasterio.enums import Resampling
    from rasterio.warp import reproject, transform_bounds

    rgb, mask = src["rgb"], src["mask"]
    _, sh, sw = rgb.shape
    st = src["transform"]
    left, bottom, right, top = transform_bounds(
        src["crs"], dst_crs, st.c, st.f + st.e * sh, st.c + st.a * sw, st.f, densify_pts=21
    )
    if not all(map(math.isfinite, (left, bottom, right, top))):
        raise _Refused("its extent cannot be projected into the scene CRS")
    # native: the size of a source pixel in scene metres (the mean over the image)
    native = max(math.sqrt((right - left) * (top - bottom) / max(sw * sh, 1)), 1e-6)
    if window is not None:
        left, bottom = max(left, window[0]), max(bottom, window[1])
        right, top = min(right, window[2]), min(top, window[3])
        if right <= left or top <= bottom:
            raise _Refused("does not overlap the scene extent")
    res = float(resolution) if resolution else native
    res = max(res, max(right - left, top - bottom) / max_side)
    w = max(1, math.ceil((right - left) / res))
    h = max(1, math.ceil((top - bottom) / res))
    dst_t = Affine(res, 0.0, left, 0.0, -res, top)
    bands = np.concatenate([rgb, (mask > 0)[None].astype(np.uint8) * 255]).astype(np.uint8)
    out = np.zeros((4, h, w), dtype=np.uint8)
    reproject(
        source=bands,
        destination=out,
        src_transform=st,
        src_crs=src["crs"],
        dst_transform=dst_t,
        dst_crs=dst_crs,
        resampling=Resampling.bilinear,
        src_nodata=None,
        dst_nodata=None,
        init_dest_nodata=False,
    )
    return {
        "rgba": np.ascontiguousarray(np.moveaxis(out, 0, -1)),
        "transform": tuple(dst_t)[:6],
        "src_crs": src["declared"],
        "format": src["format"],
        "source_size": src["size"],
        "notes": src["notes"],
        "zoom": src["zoom"],
    }
