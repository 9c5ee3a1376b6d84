"""Writes the small CRS-record test files next to this script (deterministic).

Run: ``.venv/bin/python tests/data/crs/make_crs_files.py``. Every file is
synthetic (no third-party data); coordinates are computed with pyproj so that
each file lies where its test needs it.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from pyproj import CRS, Transformer

HERE = Path(__file__).resolve().parent


def _square(x: float, y: float, size: float) -> list[list[float]]:
    return [[x, y], [x + size, y], [x + size, y + size], [x, y + size], [x, y]]


def _geojson(path: Path, epsg: int, lonlats: list[tuple[float, float]], size: float) -> None:
    """Square footprints (``size`` in CRS units) at lon/lat points, in ``epsg``."""
    to = Transformer.from_crs(4326, epsg, always_xy=True)
    feats = []
    for i, (lon, lat) in enumerate(lonlats):
        x, y = to.transform(lon, lat)
        feats.append(
            {
                "type": "Feature",
                "properties": {"id": f"b{i}", "height": 12.0 + 3 * i},
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [[[round(v, 3) for v in p] for p in _square(x, y, size)]],
                },
            }
        )
    doc = {
        "type": "FeatureCollection",
        "crs": {"type": "name", "properties": {"name": f"urn:ogc:def:crs:EPSG::{epsg}"}},
        "features": feats,
    }
    path.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")


def _cityjson_far(path: Path) -> None:
    """A CityJSON in EPSG:9208 whose metadata.geographicalExtent is in Việt Trì
    while its transform puts the vertices about 1,150 km further south."""
    verts = [[0, 0, 0], [10000, 0, 0], [10000, 10000, 0], [0, 10000, 0]]
    verts += [[x, y, 9000] for x, y, _ in verts]
    shell = [
        [[0, 3, 2, 1]], [[4, 5, 6, 7]], [[0, 1, 5, 4]],
        [[1, 2, 6, 5]], [[2, 3, 7, 6]], [[3, 0, 4, 7]],
    ]  # fmt: skip
    doc = {
        "type": "CityJSON",
        "version": "2.0",
        "transform": {"scale": [0.001, 0.001, 0.001], "translate": [568000.0, 1200000.0, 0.0]},
        "metadata": {
            "referenceSystem": "https://www.opengis.net/def/crs/EPSG/0/9208",
            "geographicalExtent": [568000.0, 2358000.0, 0.0, 568010.0, 2358010.0, 9.0],
        },
        "CityObjects": {
            "b1": {
                "type": "Building",
                "geometry": [{"type": "Solid", "lod": "1", "boundaries": [shell]}],
            }
        },
        "vertices": verts,
    }
    path.write_text(json.dumps(doc) + "\n", encoding="utf-8")


def _las_conflict(path: Path) -> None:
    """A LAS 1.2 (point format 3) near Lincoln, Nebraska, in US survey feet of
    NAD83(2011) / Nebraska (ftUS) (EPSG:6880), whose WKT record says so while
    its GeoTIFF keys say EPSG:32104 (NAD83 / Nebraska, metres); the header's
    WKT bit is not set. The case of issue 16."""
    import laspy
    from laspy.vlrs.geotiff import create_geotiff_projection_vlrs
    from laspy.vlrs.known import WktCoordinateSystemVlr

    x0, y0 = Transformer.from_crs(4326, 6880, always_xy=True).transform(-96.70, 40.81)
    header = laspy.LasHeader(point_format=3, version="1.2")
    header.scales = np.array([0.01, 0.01, 0.01])
    header.offsets = np.array([round(x0, -3), round(y0, -3), 0.0])
    header.vlrs.append(WktCoordinateSystemVlr(CRS.from_epsg(6880).to_wkt()))
    header.vlrs.extend(create_geotiff_projection_vlrs(CRS.from_epsg(32104)))
    las = laspy.LasData(header)
    g = np.arange(20, dtype=np.float64)
    gx, gy = np.meshgrid(g * 10.0, g * 10.0)
    las.x = x0 + gx.ravel()
    las.y = y0 + gy.ravel()
    las.z = 1180.0 + 0.5 * gx.ravel() / 10.0
    las.classification = np.full(gx.size, 2, dtype=np.uint8)
    las.write(path)


def main() -> None:
    # Việt Trì (Phú Thọ), plain VN-2000 / TM-3 104-45.
    _geojson(HERE / "vn2000_viet_tri.geojson", 9208, [(105.400, 21.310), (105.402, 21.311)], 20)
    # EPSG:9208 coordinates of a place in Thailand, far outside Vietnam.
    _geojson(HERE / "vn2000_outside_vietnam.geojson", 9208, [(100.50, 13.75)], 20)
    # Hà Nội 1972 / Gauss-Kruger zone 18 (old Vietnamese datum) at Việt Trì.
    _geojson(HERE / "hn72_gk18_viet_tri.geojson", 2044, [(105.400, 21.310)], 20)
    _cityjson_far(HERE / "extent_far_from_vertices.city.json")
    _las_conflict(HERE / "wkt_geotiff_conflict.las")


if __name__ == "__main__":
    main()
