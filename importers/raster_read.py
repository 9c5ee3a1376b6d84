"""The GDAL side of the terrain importer, run in a child process.

:mod:`importers.sandbox` calls :func:`read_grid` in a worker, so a GDAL crash
on a damaged GeoTIFF ends the child, not the app. Budgets are checked from the
header before any pixel is read (RELIABILITY C2), and the grid is read already
decimated to the triangle budget. Imports only rasterio and numpy.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def read_grid(path: str, band: int, max_pixels: int, max_triangles: int) -> dict[str, Any]:
    """Header facts and the decimated elevation grid (float64, NaN where masked),
    or ``{"error": message}``."""
    import rasterio
    from affine import Affine
    from rasterio.enums import Resampling
    from rasterio.errors import RasterioError

    try:
        ds = rasterio.open(path)
    except (RasterioError, OSError) as exc:
        return {"error": f"cannot be read as a raster: {exc}"}
    with ds:
        h, w = ds.height, ds.width
        if h < 2 or w < 2:
            return {"error": f"is {w}x{h} pixels; a DEM needs at least 2x2"}
        if h * w > max_pixels:
            return {
                "error": f"declares {w}x{h} = {w * h:,} pixels, over the budget of "
                f"{max_pixels:,} (set the max_pixels option to allow it)"
            }
        if not 1 <= band <= ds.count:
            return {"error": f"has {ds.count} bands; band {band} asked for"}
        # Decimate: about 2 triangles per cell.
        step = max(1, math.ceil(math.sqrt(h * w * 2 / max(max_triangles, 2))))
        oh, ow = max(2, math.ceil(h / step)), max(2, math.ceil(w / step))
        try:
            data = ds.read(band, out_shape=(oh, ow), resampling=Resampling.average, masked=True)
        except (RasterioError, MemoryError) as exc:
            return {"error": f"cannot be read: {exc}"}
        transform = ds.transform @ Affine.scale(w / ow, h / oh)
        return {
            "size": (w, h),
            "grid": np.ma.filled(data.astype(np.float64), np.nan),
            "transform": tuple(transform)[:6],
            "nodata": ds.nodata,
            "crs_wkt": ds.crs.to_wkt() if ds.crs else None,
        }


def header(path: str) -> dict[str, Any]:
    """CRS (WKT) and bounds from the header only, or ``{"error": message}``."""
    import rasterio
    from rasterio.errors import RasterioError

    try:
        with rasterio.open(path) as ds:
            b = ds.bounds
            return {
                "crs_wkt": ds.crs.to_wkt() if ds.crs else None,
                "bounds": (float(b.left), float(b.bottom), float(b.right), float(b.top)),
            }
    except (RasterioError, OSError) as exc:
        return {"error": f"cannot be read as a raster: {exc}"}
