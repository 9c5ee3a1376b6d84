"""Scene -> OGC 3D Tiles (tileset.json + b3dm tiles) for the IOC web portal.

Each visible layer becomes a quadtree of tiles: its features are split by their
centre until a tile holds at most ``max_triangles`` triangles, so a large layer
streams as many small tiles, not one blob. Every feature lies in exactly one
tile (all of its triangles go with its centre), so the batch tables together
list each feature with geometry once, with its id, class, name and attributes.

Placement (see :mod:`twin.export.ecef`): the root tile's transform is the
east-north-up frame at the scene origin; vertices reach it through an exact
pyproj transform to ECEF; each leaf then carries a translation to its own centre
so the float32 vertices of the GLB are small. Scene z is written as the height
above the ellipsoid (no geoid model is applied, see docs/ioc-3dtiles.md).
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from twin.export.b3dm import b3dm_bytes, batch_table
from twin.export.ecef import (
    EnuFrame,
    ExportError,
    origin_frame,
    scene_to_frame,
    single_frame_residual,
)
from twin.export.gltf import triangles_glb
from twin.geo import crs_label, parse_crs

TILESET = "tileset.json"
TILES_DIR = "tiles"
BUILTIN_COLUMNS = ("id", "name", "class", "layer")
__all__ = ["ExportError", "TilesetReport", "export_3dtiles"]
MIN_HALF = 0.01  # m: a flat tile (a land-use area) still gets a box with volume


@dataclass
class LayerExport:
    name: str
    kind: str
    features: int
    tiles: int
    triangles: int
    without_geometry: int


@dataclass
class TilesetReport:
    """What an export wrote: for the command's summary and for tests."""

    path: Path
    layers: list[LayerExport] = field(default_factory=list)
    residual_m: float = 0.0

    @property
    def tiles(self) -> int:
        return sum(la.tiles for la in self.layers)

    @property
    def features(self) -> int:
        return sum(la.features for la in self.layers)

    @property
    def triangles(self) -> int:
        return sum(la.triangles for la in self.layers)


def _box(lo: np.ndarray, hi: np.ndarray, centre: np.ndarray | None = None) -> list[float]:
    """3D Tiles ``box``: centre and three half-axes, axis-aligned in the tile frame."""
    mid = (lo + hi) / 2 if centre is None else (lo + hi) / 2 - centre
    half = np.maximum((hi - lo) / 2, MIN_HALF)
    return [float(v) for v in (*mid, half[0], 0, 0, 0, half[1], 0, 0, 0, half[2])]


def _translation(c: np.ndarray) -> list[float]:
    return [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, float(c[0]), float(c[1]), float(c[2]), 1]


def _quadtree(
    xy: np.ndarray, weight: np.ndarray, rows: np.ndarray, lo: np.ndarray, size: float,
    max_weight: int, depth: int, max_depth: int, path: str,
) -> list[tuple[str, np.ndarray]] | tuple[str, np.ndarray]:
    """Split feature ``rows`` (centres ``xy``) into quadrants until each leaf is light
    enough; returns a leaf ``(path, rows)`` or a list of subtrees."""
    if weight[rows].sum() <= max_weight or depth >= max_depth or len(rows) <= 1:
        return (path, rows)
    half = size / 2
    east = xy[rows, 0] >= lo[0] + half
    north = xy[rows, 1] >= lo[1] + half
    out = []
    for q, (e, n) in enumerate(((False, False), (True, False), (False, True), (True, True))):
        sub = rows[(east == e) & (north == n)]
        if len(sub):
            sub_lo = lo + np.array([half * e, half * n])
            out.append(_quadtree(xy, weight, sub, sub_lo, half, max_weight, depth + 1,
                                 max_depth, f"{path}{q}"))
    return out


def _columns(layer) -> dict[str, np.ndarray]:
    t = layer.features
    cols = {"id": t.ids, "name": t.names, "class": t.classes,
            "layer": np.full(len(t), layer.name, dtype=object)}
    for key, col in t.attributes.items():
        if key in BUILTIN_COLUMNS:
            if np.array_equal(col.astype(str), cols[key].astype(str)):
                continue  # the source column the importer already took as id/name/class
            key = f"attr_{key}"
        cols[key] = col
    return cols


def _triangle_colors(layer, feat: np.ndarray, n_tris: int) -> np.ndarray:
    from twin.style import cell_colors, feature_colors

    if layer.mesh.is_all_triangles and n_tris == layer.mesh.n_cells:  # cells are the triangles
        return cell_colors(layer.mesh.cell_data, layer.cell_features, layer.features, layer.style)
    return feature_colors(layer.features, layer.style)[feat]


class _LayerWriter:
    """Writes one layer's tiles and returns its subtree of tileset.json."""

    def __init__(self, out: Path, index: int, layer, frame: EnuFrame, scene,
                 max_triangles: int, max_depth: int) -> None:
        from twin.analysis.sunhours import layer_triangles

        self.out, self.index, self.layer = out, index, layer
        pts, tris, feat = layer_triangles(layer)
        self.feat = feat
        self.tri = scene_to_frame(scene, frame, pts)[tris] if len(tris) else np.empty((0, 3, 3))
        self.colors = _triangle_colors(layer, feat, len(tris)) if len(tris) else None
        self.columns = _columns(layer)
        n = len(layer.features)
        self.counts = np.bincount(feat, minlength=n)
        self.rows = np.flatnonzero(self.counts)
        centres = self.tri.mean(axis=1) if len(tris) else np.empty((0, 3))
        self.xy = np.zeros((n, 2))
        for axis in (0, 1):
            s = np.bincount(feat, weights=centres[:, axis], minlength=n)
            self.xy[self.rows, axis] = s[self.rows] / self.counts[self.rows]
        self.max_triangles, self.max_depth = max_triangles, max_depth
        self.tiles = 0
        order = np.argsort(feat, kind="stable")
        self.tri_order = order
        self.tri_start = np.concatenate([[0], np.cumsum(self.counts)])

    def subtree(self) -> dict[str, Any] | None:
        if not len(self.rows):
            return None
        lo = self.xy[self.rows].min(axis=0)
        size = float(max(np.ptp(self.xy[self.rows], axis=0).max(), 1.0)) * 1.0001
        tree = _quadtree(self.xy, self.counts, self.rows, lo, size, self.max_triangles, 0,
                         self.max_depth, "r")
        return self._node(tree)[0]

    def _node(self, tree) -> tuple[dict[str, Any], np.ndarray, np.ndarray]:
        if isinstance(tree, tuple):
            return self._leaf(*tree)
        kids = [self._node(t) for t in tree]
        lo = np.min([k[1] for k in kids], axis=0)
        hi = np.max([k[2] for k in kids], axis=0)
        node = {
            "boundingVolume": {"box": _box(lo, hi)},
            "geometricError": float(np.linalg.norm(hi - lo)),
            "refine": "ADD",
            "children": [k[0] for k in kids],
        }
        return node, lo, hi

    def _leaf(self, path: str, rows: np.ndarray) -> tuple[dict[str, Any], np.ndarray, np.ndarray]:
        rows = np.sort(rows)
        tri_idx = np.concatenate(
            [self.tri_order[self.tri_start[r]:self.tri_start[r + 1]] for r in rows]
        )
        tri = self.tri[tri_idx]
        lo, hi = tri.reshape(-1, 3).min(axis=0), tri.reshape(-1, 3).max(axis=0)
        centre = (lo + hi) / 2
        batch = np.searchsorted(rows, self.feat[tri_idx])
        glb = triangles_glb(tri - centre, self.colors[tri_idx], batch)
        data = b3dm_bytes(glb, len(rows), batch_table(self.columns, rows))
        rel = f"{TILES_DIR}/{self.index}/{path}.b3dm"
        target = self.out / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        self.tiles += 1
        node = {
            "transform": _translation(centre),
            "boundingVolume": {"box": _box(lo, hi, centre)},
            "geometricError": 0.0,
            "content": {"uri": rel},
        }
        return node, lo, hi


def _prepare(out: Path) -> None:
    """Create ``out`` or reuse a previous export there; never clear a folder that
    is not one (it could hold the user's files)."""
    if out.exists() and not out.is_dir():
        raise ExportError(f"{out}: exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not (out / TILESET).is_file():
        raise ExportError(f"{out}: folder is not empty and holds no {TILESET}; choose a new one")
    out.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(out / TILES_DIR, ignore_errors=True)


def export_3dtiles(
    scene, out: Path, *, max_triangles: int = 10_000, max_depth: int = 8
) -> TilesetReport:
    """Write the scene's visible layers to ``out/tileset.json`` and ``out/tiles/``.

    tileset.json is written last, by rename, so a portal never reads a tileset
    whose tiles are still being written."""
    out = Path(out)
    if parse_crs(scene.crs).is_engineering:
        raise ExportError(
            f"scene CRS {scene.crs_label} is a local engineering CRS: the scene is not "
            "georeferenced, so it has no place on the globe"
        )
    _prepare(out)
    frame = origin_frame(scene)
    report = TilesetReport(out / TILESET)
    children, los, his = [], [], []
    layer_meta = []
    for index, layer in enumerate(la for la in scene.layers if la.visible):
        w = _LayerWriter(out, index, layer, frame, scene, max_triangles, max_depth)
        node = w.subtree()
        n_feat = len(w.rows)
        report.layers.append(LayerExport(layer.name, layer.kind, n_feat, w.tiles, len(w.tri),
                                         len(layer.features) - n_feat))
        layer_meta.append({"name": layer.name, "kind": layer.kind, "features": n_feat,
                           "tiles": w.tiles, "folder": f"{TILES_DIR}/{index}"})
        if node is None:
            continue
        children.append(node)
        flat = w.tri.reshape(-1, 3)
        los.append(flat.min(axis=0))
        his.append(flat.max(axis=0))
    if children:
        lo, hi = np.min(los, axis=0), np.max(his, axis=0)
        bl, bh = scene.local_bounds(visible_only=True).reshape(3, 2).T
        corners = np.array([[x, y, z] for x in (bl[0], bh[0]) for y in (bl[1], bh[1])
                            for z in (bl[2], bh[2])])
        report.residual_m = single_frame_residual(scene, frame, corners)
    else:
        lo, hi = np.full(3, -1.0), np.full(3, 1.0)
    error = float(np.linalg.norm(hi - lo))
    root: dict[str, Any] = {
        "transform": frame.matrix(),
        "boundingVolume": {"box": _box(lo, hi)},
        "geometricError": error,
        "refine": "ADD",
        "children": children,
    }
    doc = {
        "asset": {"version": "1.0", "generator": "CityTwin citytwin export --3dtiles"},
        "geometricError": error,
        "root": root,
        "extras": {"citytwin": {
            "scene": scene.name,
            "crs": scene.crs,
            "crs_label": crs_label(scene.crs),
            "origin": [float(v) for v in scene.origin],
            "root_frame": {"kind": "east-north-up at the scene origin", "lon": frame.lon,
                           "lat": frame.lat, "height": frame.height},
            "heights": "scene z written as height above the WGS 84 ellipsoid",
            "single_frame_residual_m": round(report.residual_m, 3),
            "layers": layer_meta,
        }},
    }
    tmp = out / f".{TILESET}.tmp"
    tmp.write_text(json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(tmp, out / TILESET)
    return report
