"""Seeded synthetic elevation: smooth random relief and a small GeoTIFF writer.

A pilot scene on terrain needs a DEM even where no open one can be bundled; these
helpers make one that is reproducible (the same seed gives the same bytes) and
small enough to commit. The city-specific landform (valley, river, hills) is the
caller's; this module only supplies the texture of hillsides and the file.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

NODATA = -9999.0


def relief(
    rng: np.random.Generator, modes: int = 24, wavelengths: tuple[float, float] = (250.0, 2500.0)
) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """Smooth random relief: a sum of ``modes`` plane waves, roughly in [-1, 1].

    Wavelengths are log-uniform in ``wavelengths`` (metres) with amplitude
    proportional to wavelength, so long ridges dominate and short ones add
    texture, as on real hillsides. Returns ``f(x, y)`` on arrays.
    """
    lam = np.exp(rng.uniform(np.log(wavelengths[0]), np.log(wavelengths[1]), modes))
    theta = rng.uniform(0.0, np.pi, modes)
    phase = rng.uniform(0.0, 2 * np.pi, modes)
    amp = lam / np.sqrt((lam**2).sum())
    kx, ky = 2 * np.pi * np.cos(theta) / lam, 2 * np.pi * np.sin(theta) / lam

    def f(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
        out = np.zeros(np.broadcast(x, y).shape)
        for k in range(modes):
            out += amp[k] * np.sin(kx[k] * x + ky[k] * y + phase[k])
        return out / np.sqrt(0.5)

    return f


def smoothstep(t: np.ndarray) -> np.ndarray:
    """0 below 0, 1 above 1, a C1 ramp between (a hillside's foot and brow)."""
    t = np.clip(t, 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def write_geotiff(
    path: str | Path,
    z: np.ndarray,
    west: float,
    north: float,
    cell: float,
    crs: str,
    tags: dict[str, str],
) -> None:
    """Write a north-up float32 DEM (row 0 at ``north``), deflate-compressed.

    ``tags`` go into the GeoTIFF metadata (generator, seed, what is synthetic).
    No timestamp is written, so the same grid gives the same bytes.
    """
    import rasterio
    from rasterio.transform import from_origin

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    path.with_name(path.name + ".aux.xml").unlink(missing_ok=True)
    data = np.where(np.isfinite(z), z, NODATA).astype(np.float32)
    profile = {
        "driver": "GTiff",
        "height": data.shape[0],
        "width": data.shape[1],
        "count": 1,
        "dtype": "float32",
        "crs": crs,
        "transform": from_origin(west, north, cell, cell),
        "nodata": NODATA,
        "compress": "deflate",
        "predictor": 3,
        "tiled": False,
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data, 1)
        dst.update_tags(**tags)
