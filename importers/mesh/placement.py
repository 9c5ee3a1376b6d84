"""From file units to scene-local metres: axes and unit, the ``at`` placement
(or the scene origin, with a warning), cleaning broken faces, and every node
instance of every geometry in one concatenation.
"""

from __future__ import annotations

import math
import threading
from pathlib import Path
from typing import Any

import numpy as np

from importers.errors import ImportCancelled, ImportFailed
from importers.mesh.common import (
    FAR_FROM_ORIGIN,
    MAX_ABS_COORD,
    SUSPICIOUS_SIZE,
    Y_UP_TO_Z_UP,
    MeshOptions,
    Progress,
    _Model,
)


def _model_matrix(opts: MeshOptions) -> np.ndarray:
    """(4, 4) file units and axes -> model metres, Z-up."""
    m = np.eye(4)
    m[:3, :3] = (Y_UP_TO_Z_UP if opts.up == "y" else np.eye(3)) * opts.unit
    return m


_Clean = dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]]


def _clean(model: _Model, notes: list[str]) -> _Clean:
    """Each placed geometry once, without faces at missing or non-finite vertices
    and with only the vertices its faces use: ``{geometry: (vertices (n, 3),
    faces (m, 3) into them, rgba (m, 4))}``."""
    clean: _Clean = {}
    n_oob = n_nan = 0
    for gi in dict.fromkeys(node.geometry for node in model.nodes):
        g = model.geometries[gi]
        nv = len(g.vertices)
        faces = g.faces
        inside = np.all((faces >= 0) & (faces < nv), axis=1)
        n_oob += int((~inside).sum())
        faces, rgba = faces[inside], g.rgba[inside]
        finite = np.all(np.isfinite(g.vertices), axis=1)
        good = finite[faces].all(axis=1) if len(faces) else np.zeros(0, bool)
        n_nan += int((~good).sum())
        faces, rgba = faces[good], rgba[good]
        if nv < 24 * len(faces):  # dense use: an O(n) mask beats sorting
            used = np.zeros(nv, dtype=bool)
            used[faces.ravel()] = True
            remap = np.cumsum(used) - 1
            clean[gi] = (g.vertices[used], remap[faces], rgba)
        else:  # a few faces of a shared vertex array (OBJ objects)
            keep, inverse = np.unique(faces, return_inverse=True)
            clean[gi] = (g.vertices[keep], inverse.reshape(-1, 3), rgba)
    if n_oob:
        notes.append(f"{n_oob:,} triangles dropped: they point at vertices that do not exist")
    if n_nan:
        notes.append(f"{n_nan:,} triangles dropped: their vertices are NaN or infinite")
    return clean


def _instance_bounds(model: _Model, clean: _Clean, to_model: np.ndarray) -> np.ndarray | None:
    """(2, 3) min/max of all placed geometry bounding boxes (cheap, no triangles)."""
    corners = []
    boxes: dict[int, np.ndarray | None] = {}
    for node in model.nodes:
        if node.geometry not in boxes:
            verts = clean[node.geometry][0]
            if not len(verts):
                boxes[node.geometry] = None
                continue
            lo, hi = verts.min(axis=0), verts.max(axis=0)
            boxes[node.geometry] = np.array(
                [
                    [x, y, z, 1.0]
                    for x in (lo[0], hi[0])
                    for y in (lo[1], hi[1])
                    for z in (lo[2], hi[2])
                ]
            )
        box = boxes[node.geometry]
        if box is not None:
            corners.append(box @ (to_model @ node.transform).T)
    if not corners:
        return None
    pts = np.concatenate(corners)[:, :3]
    with np.errstate(invalid="ignore"):
        pts = pts[np.all(np.isfinite(pts) & (np.abs(pts) < MAX_ABS_COORD), axis=1)]
    if not len(pts):
        return None
    return np.stack([pts.min(axis=0), pts.max(axis=0)])


def _placement(
    model: _Model, clean: _Clean, opts: MeshOptions, scene: Any, notes: list[str]
) -> tuple[np.ndarray, dict[str, Any]]:
    """(4, 4) model metres -> scene-local metres, and facts for ``layer.info``."""
    to_model = _model_matrix(opts)
    bounds = _instance_bounds(model, clean, to_model)
    if bounds is not None and "unit" not in opts.explicit:
        size = float(np.max(bounds[1] - bounds[0]))
        if size > SUSPICIOUS_SIZE:
            notes.append(
                f"the model is {size / 1000:.1f} km across in metres; if the file is in "
                "millimetres or centimetres, set option unit = 0.001 or 0.01"
            )
    place = np.eye(4)
    if opts.at is not None:
        e, n, h, rot = opts.at
        c, s = math.cos(math.radians(rot)), math.sin(math.radians(rot))
        place[:2, :2] = [[c, -s], [s, c]]
        place[:3, 3] = np.array([e, n, h]) - np.asarray(scene.origin, dtype=np.float64)
        facts = {"method": "user placement (at)", "at": [e, n, h, rot]}
    else:
        warn = (
            "meshes carry no georeferencing and no 'at' option was given; the model's "
            "origin is placed at the scene origin"
        )
        facts = {"method": "none (placed at the scene origin)"}
        if bounds is not None:
            centre = (bounds[0] + bounds[1]) / 2
            if math.hypot(centre[0], centre[1]) > FAR_FROM_ORIGIN:
                place[:2, 3] = -centre[:2]
                warn = warn.replace("the model's origin", "the model's centre") + (
                    " (its own coordinates are far from 0)"
                )
                facts["shift"] = (-centre[:2]).tolist()
        notes.append(warn + "; set at = [E, N, H, rotation_deg] to place it")
    return place @ to_model, facts


def _build(
    model: _Model,
    clean: _Clean,
    to_local: np.ndarray,
    opts: MeshOptions,
    path: Path,
    notes: list[str],
    progress: Progress | None,
    cancel: threading.Event | None,
):
    """Points (n, 3) float64 scene-local, triangles (m, 3) int64, feature (m,)
    int32 and rgba (m, 4) uint8 of all node instances, in one concatenation."""
    by_geom: dict[int, list[int]] = {}
    for row, node in enumerate(model.nodes):
        by_geom.setdefault(node.geometry, []).append(row)
    total = sum(len(clean[gi][1]) * len(rows) for gi, rows in by_geom.items())
    if total > opts.max_triangles:
        raise ImportFailed(
            path,
            f"has {total:,} triangles, over the budget of {opts.max_triangles:,} "
            "(option max_triangles)",
        )
    pts_parts, tri_parts, feat_parts, rgba_parts = [], [], [], []
    offset = 0
    done = 0
    for k, (gi, rows) in enumerate(by_geom.items()):
        if cancel is not None and cancel.is_set():
            raise ImportCancelled(str(path))
        verts, faces, rgba = clean[gi]
        if not len(faces):
            continue
        mats = np.stack([to_local @ model.nodes[r].transform for r in rows])  # (k, 4, 4)
        pts = np.einsum("kij,nj->kni", mats[:, :3, :3], verts) + mats[:, None, :3, 3]
        nv = len(verts)
        pts_parts.append(pts.reshape(-1, 3))
        shift = offset + np.arange(len(rows), dtype=np.int64) * nv
        tri_parts.append((faces[None, :, :] + shift[:, None, None]).reshape(-1, 3))
        feat_parts.append(np.repeat(np.array(rows, dtype=np.int32), len(faces)))
        rgba_parts.append(np.tile(rgba, (len(rows), 1)))
        offset += nv * len(rows)
        done += len(faces) * len(rows)
        if progress is not None and (k % 64 == 0 or k == len(by_geom) - 1):
            progress(50 + int(40 * done / max(total, 1)), 100)
    if not tri_parts:
        return None
    points = np.concatenate(pts_parts)
    tris = np.concatenate(tri_parts)
    feature = np.concatenate(feat_parts)
    rgba = np.concatenate(rgba_parts)
    with np.errstate(invalid="ignore"):
        bad = ~np.all(np.isfinite(points) & (np.abs(points) < MAX_ABS_COORD), axis=1)
    if bad.any():
        keep = ~bad[tris].any(axis=1)
        notes.append(f"{int((~keep).sum()):,} triangles dropped: placed out of range")
        tris, feature, rgba = tris[keep], feature[keep], rgba[keep]
        points = np.where(bad[:, None], 0.0, points)
        if not len(tris):
            return None
    return points, tris, feature, rgba
