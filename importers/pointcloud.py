"""LAS / LAZ / COPC point clouds (laspy, lazrs) -> a points layer.

Every point is a VTK vertex cell, so the layer fits the one-actor, per-cell
colour model: ``feature`` is the point's ASPRS class row (the feature table has
one row per class present, so "hide vegetation" is a class filter), and
``rgb_default`` carries the colour: the file's RGB, else classification, else
height, or what the ``color`` option asks for.

A point budget (option ``max_points``, default 2 million) bounds memory: the
file is read in chunks and thinned by a fixed stride, never loaded whole.
Heights are converted to metres from the CRS's vertical (or, lacking one,
horizontal) unit, because US lidar often comes in feet.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyvista as pv

from importers.errors import ImportCancelled, ImportFailed
from importers.georef import crs_2d, scene_extent, source_crs, to_local
from twin import crs_record
from twin.features import FeatureTable, feature_bounds
from twin.layer import FEATURE_ARRAY, Layer
from twin.scene import Scene
from twin.style import Style

Progress = Callable[[int, int], None]

DEFAULT_MAX_POINTS = 2_000_000
CHUNK = 1_000_000
#: ASPRS LAS 1.4 standard classes.
ASPRS = {
    0: "Never classified", 1: "Unclassified", 2: "Ground", 3: "Low vegetation",
    4: "Medium vegetation", 5: "High vegetation", 6: "Building", 7: "Low point (noise)",
    8: "Model key-point", 9: "Water", 10: "Rail", 11: "Road surface", 12: "Overlap",
    13: "Wire guard", 14: "Wire conductor", 15: "Transmission tower",
    16: "Wire connector", 17: "Bridge deck", 18: "High noise",
}  # fmt: skip
CLASS_RGB = {
    0: (170, 170, 170), 1: (190, 190, 190), 2: (165, 125, 80), 3: (150, 200, 110),
    4: (90, 170, 70), 5: (40, 120, 40), 6: (225, 90, 70), 7: (255, 0, 255),
    8: (200, 200, 0), 9: (60, 120, 220), 10: (120, 80, 60), 11: (90, 90, 95),
    12: (230, 230, 120), 13: (250, 180, 0), 14: (250, 140, 0), 15: (200, 60, 200),
    16: (250, 200, 0), 17: (130, 130, 150), 18: (255, 0, 128),
}  # fmt: skip


def _z_factor(crs_wkt: Any) -> float:
    """Metres per unit of the vertical axis (horizontal unit when there is none)."""
    if crs_wkt is None:
        return 1.0
    from pyproj import CRS

    crs = CRS.from_user_input(crs_wkt)
    if crs.is_compound and len(crs.sub_crs_list) > 1:
        axis = crs.sub_crs_list[1].axis_info
    elif crs.is_projected:
        axis = crs.axis_info
    else:
        return 1.0
    return float(axis[0].unit_conversion_factor) if axis else 1.0


def read(
    path: Path,
    scene: Scene,
    options: dict[str, Any],
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> list[Layer]:
    """Import a LAS/LAZ/COPC file as one points layer.

    Options
    -------
    max_points : point budget (default 2,000,000; a scene attribute
        ``max_points`` also works); larger files are thinned by a stride.
    color : ``"rgb"``, ``"classification"`` or ``"height"`` (default: RGB when
        the file has it, else classification when it has more than one class,
        else height).
    """
    import laspy
    from laspy.errors import LaspyException

    path = Path(path)
    notes: list[str] = []
    budget = int(
        options.get("max_points", getattr(scene, "max_points", None) or DEFAULT_MAX_POINTS)
    )
    try:
        reader = laspy.open(path)
    except (LaspyException, OSError, ValueError) as exc:
        raise ImportFailed(path, f"cannot be read as LAS/LAZ: {exc}") from None
    with reader:
        header = reader.header
        total = int(header.point_count)
        if total == 0:
            raise ImportFailed(path, "has no points")
        crs_obj = _las_crs(header, notes)
        declared = crs_2d(crs_obj, crs_obj.to_wkt()) if crs_obj is not None else None
        src_crs = source_crs(declared, scene, notes)
        zf = _z_factor(crs_obj.to_wkt()) if crs_obj is not None else 1.0
        if zf != 1.0:
            notes.append(f"heights converted to metres (x{zf:g} from the CRS's unit)")
        stride = max(1, math.ceil(total / max(budget, 1)))
        if stride > 1:
            notes.append(f"thinned {total:,} points by 1/{stride} to stay within {budget:,}")
        dims = set(header.point_format.dimension_names)
        has_rgb = {"red", "green", "blue"} <= dims
        xyz_parts, cls_parts, rgb_parts = [], [], []
        done = 0
        offset = 0
        try:
            for chunk in reader.chunk_iterator(CHUNK):
                if cancel is not None and cancel.is_set():
                    raise ImportCancelled(str(path))
                n = len(chunk)
                take = np.arange((-offset) % stride, n, stride)
                offset += n
                xyz_parts.append(
                    np.column_stack(
                        [
                            np.asarray(chunk.x)[take],
                            np.asarray(chunk.y)[take],
                            np.asarray(chunk.z)[take] * zf,
                        ]
                    )
                )
                cls_parts.append(np.asarray(chunk.classification)[take].astype(np.int32))
                if has_rgb:
                    rgb_parts.append(
                        np.column_stack(
                            [
                                np.asarray(chunk.red)[take],
                                np.asarray(chunk.green)[take],
                                np.asarray(chunk.blue)[take],
                            ]
                        )
                    )
                done += n
                if progress is not None:
                    progress(done, total)
        except (LaspyException, ValueError, OSError) as exc:
            if not xyz_parts:
                raise ImportFailed(path, f"cannot be decoded: {exc}") from None
            notes.append(f"decoding stopped early ({exc}); {done:,} of {total:,} points read")
    xyz = np.concatenate(xyz_parts)
    classes = np.concatenate(cls_parts)
    ops: list = []
    units = (f"z: x{zf:.10g} to metres (the CRS's vertical unit)",) if zf != 1.0 else ()
    local = to_local(xyz, src_crs, scene, ops, units)
    notes.extend(crs_record.warnings_of(ops))
    ok = np.all(np.isfinite(local), axis=1)
    if not ok.all():
        notes.append(f"{int((~ok).sum()):,} points with unusable coordinates dropped")
    local, classes = local[ok], classes[ok]
    rgb16 = np.concatenate(rgb_parts)[ok] if rgb_parts else None
    uniq, inverse = np.unique(classes, return_inverse=True)
    inverse = inverse.ravel().astype(np.int32)
    mode = options.get("color")
    if mode is None:
        if rgb16 is not None and rgb16.any():
            mode = "rgb"
        elif len(uniq) > 1:
            mode = "classification"
        else:
            mode = "height"
    if mode == "rgb" and (rgb16 is None or not rgb16.any()):
        notes.append("no RGB in the file; coloured by height")
        mode = "height"
    colors = _colors(mode, local, classes, rgb16, scene)

    cloud = pv.PolyData(local.astype(np.float32))
    if cloud.n_cells != len(local):  # pyvista adds one vertex cell per point
        cloud.verts = np.column_stack([np.ones(len(local), np.int64), np.arange(len(local))])
    cloud.cell_data[FEATURE_ARRAY] = inverse
    cloud.cell_data["rgb_default"] = colors
    cloud.cell_data["classification"] = classes.astype(np.uint8)
    counts = np.bincount(inverse, minlength=len(uniq))
    names = np.array([ASPRS.get(int(c), f"Class {int(c)}") for c in uniq], dtype=object)
    table = FeatureTable(
        np.array([f"class-{int(c)}" for c in uniq], dtype=object),
        names.copy(),
        names,
        feature_bounds(local, inverse, len(uniq)),
        {"classification": uniq.astype(np.float64), "points": counts.astype(np.float64)},
    )
    info = {
        "format": f"LAS {header.version} point format {header.point_format.id}"
        + (" (LAZ)" if path.suffix.lower() == ".laz" else ""),
        "points_in_file": total,
        "points_loaded": len(local),
        "point_budget": budget,
        "color": mode,
        "classes": {str(int(c)): int(n) for c, n in zip(uniq, counts, strict=True)},
    }
    return [
        Layer(
            name=path.name.split(".")[0],
            mesh=cloud,
            features=table,
            kind="pointcloud",
            style=Style(mode="native"),
            warnings=notes,
            source=path,
            crs=src_crs,
            info=info,
            crs_operations=ops,
        )
    ]


def _las_crs(header: Any, notes: list[str]) -> Any:
    """The file's CRS (pyproj) from its WKT and GeoTIFF-key records, or None.

    When both exist and name different CRSs (seen: a WKT of NAD83(2011) Nebraska
    in US feet beside GeoTIFF keys of EPSG:32104 in metres), the LAS 1.4 rule
    picks one (the WKT when the header's WKT bit is set, else the GeoTIFF
    keys), unless the header's extent lies outside that CRS's area of use and
    inside the other's; a warning names both and the one used.
    """
    from laspy.vlrs.known import GeoKeyDirectoryVlr, WktCoordinateSystemVlr

    found: dict[str, Any] = {}
    failed = []
    records = list(header.vlrs) + list(header.evlrs or [])
    for rec in records:
        if not isinstance(rec, WktCoordinateSystemVlr | GeoKeyDirectoryVlr):
            continue
        kind = "WKT" if isinstance(rec, WktCoordinateSystemVlr) else "GeoTIFF keys"
        try:
            crs = rec.parse_crs()
        except Exception as exc:  # laspy raises several types for bad GeoTIFF keys
            failed.append(type(exc).__name__)
            continue
        if crs is not None:
            found.setdefault(kind, crs)
    if not found:
        if failed:
            notes.append(f"CRS records could not be read ({failed[0]}); none assumed")
        return None
    if len(found) == 1:
        return next(iter(found.values()))
    wkt, keys = found["WKT"], found["GeoTIFF keys"]
    name_w, name_k = crs_2d(wkt, wkt.to_wkt()), crs_2d(keys, keys.to_wkt())
    if name_w == name_k or wkt.equals(keys, ignore_axis_order=True):
        return wkt
    first = "WKT" if header.global_encoding.wkt else "GeoTIFF keys"
    other = "GeoTIFF keys" if first == "WKT" else "WKT"
    why = "the LAS 1.4 rule: " + (
        "the header's WKT bit is set" if first == "WKT" else "the header's WKT bit is not set"
    )
    lo, hi = header.mins, header.maxs
    box = (float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1]))
    fits = {k: crs_record.in_area_of_use(crs_2d(c, c.to_wkt()), box) for k, c in found.items()}
    used = first
    if fits[first] is False and fits[other] is True:
        used = other
        why = f"the points lie in its area of use and not in that of the {first}"
    label = {k: f"{c.name} ({crs_2d(c, c.to_wkt())[:40]})" for k, c in found.items()}
    notes.append(
        f"the WKT names {label['WKT']} but the GeoTIFF keys name {label['GeoTIFF keys']}; "
        f"used the {used} ({why})"
    )
    return found[used]


def _colors(
    mode: str, local: np.ndarray, classes: np.ndarray, rgb16: np.ndarray | None, scene: Scene
) -> np.ndarray:
    if mode == "rgb" and rgb16 is not None:
        rgb = rgb16.astype(np.float64)
        if rgb.max() > 255:
            rgb = rgb / 257.0
        return np.clip(rgb, 0, 255).astype(np.uint8)
    if mode == "classification":
        lut = np.array([CLASS_RGB.get(i, (200, 200, 200)) for i in range(256)], dtype=np.uint8)
        return lut[np.clip(classes, 0, 255)]
    from twin.style import colormap_lut

    z = local[:, 2]
    lo, hi = (np.percentile(z, 2), np.percentile(z, 98)) if len(z) else (0.0, 1.0)
    t = np.clip((z - lo) / (hi - lo), 0, 1) if hi > lo else np.zeros_like(z)
    lut = colormap_lut("viridis")
    return lut[np.round(t * (len(lut) - 1)).astype(np.intp)]


def extent(path: Path) -> tuple[str | None, tuple[float, float, float, float]]:
    """The declared CRS (horizontal) and the header's x/y bounds."""
    import laspy
    from laspy.errors import LaspyException

    try:
        with laspy.open(path) as reader:
            h = reader.header
            crs_obj = _las_crs(h, [])  # bad GeoTIFF keys: treated as undeclared
            lo, hi = h.mins, h.maxs
    except (LaspyException, OSError, ValueError) as exc:
        raise ImportFailed(path, f"cannot be read as LAS/LAZ: {exc}") from None
    crs = crs_2d(crs_obj, crs_obj.to_wkt()) if crs_obj is not None else None
    return scene_extent(crs, (float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1])))
