"""Triangles: from ``ifcopenshell.geom`` shapes to instanced arrays (worker side)
and from instanced arrays to one merged, placed mesh (parent side).

Worker side, :class:`Collector` keeps each distinct triangulation once, keyed by
the iterator's geometry id (mapped representations share it, so 4,000 chairs are
one mesh and 4,000 placements), copies the kernel's buffers with
``np.frombuffer`` (no per-vertex Python), and streams chunks so that work already
done survives a worker that is later killed.

Parent side, :func:`expand` turns instances into one vertex and triangle array
with a few vectorised gathers; every element's vertices are contiguous, so per
element bounds are a ``reduceat``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from importers.ifc.payload import ARRAYS

#: Flush a chunk to the parent this often (s) or at this many bytes.
FLUSH_SECONDS = 0.5
FLUSH_BYTES = 32 * 1024 * 1024
#: Vertices transformed per block in :func:`expand` (bounds temporary memory).
BLOCK = 1 << 18


class Collector:
    """Accumulates iterator shapes into payload chunks (runs in the worker).

    Parameters
    ----------
    send : called with each chunk (a dict of arrays, see
        :data:`importers.ifc.payload.ARRAYS`, plus ``g_first``/``m_first``).
    is_style : tells whether a material's instance id names an IFC style (True)
        or a bare IfcMaterial / kernel default (False: palette colour).
    g_first, m_first : global numbering offsets (a restarted worker continues
        where the killed one's last chunk ended).
    """

    def __init__(
        self,
        send: Callable[[dict[str, Any]], None],
        is_style: Callable[[int], bool],
        g_first: int = 0,
        m_first: int = 0,
    ) -> None:
        self.send = send
        self.is_style = is_style
        self.geom_index: dict[str, int] = {}
        self.mat_index: dict[tuple[int, str, tuple[float, ...]], int] = {}
        self.g_next = self.g_first = g_first
        self.m_next = self.m_first = m_first
        self.n_elements = 0
        self.n_triangles = 0
        self.empty: dict[int, str] = {}
        self.nf_of: dict[int, int] = {}
        self.by_name: dict[str, int] = {}
        self._reset()

    def _reset(self) -> None:
        self.g_first, self.m_first = self.g_next, self.m_next
        self.verts: list[np.ndarray] = []
        self.faces: list[np.ndarray] = []
        self.fmat: list[np.ndarray] = []
        self.g_nv: list[int] = []
        self.g_nf: list[int] = []
        self.m_rgba: list[tuple[float, float, float, float]] = []
        self.m_styled: list[bool] = []
        self.e_step: list[int] = []
        self.e_geom: list[int] = []
        self.e_matrix: list[np.ndarray] = []
        self.bytes = 0
        self.last_flush = time.monotonic()

    def _material(self, mat: Any) -> int:
        # The kernel names a style after its STEP id ("IfcSurfaceStyleRendering-176"),
        # so the name alone finds a known one: one call instead of five.
        try:
            name = str(mat.name)
        except (RuntimeError, TypeError, AttributeError):
            name = ""
        known = self.by_name.get(name) if name else None
        if known is not None:
            return known
        idx = self._new_material(mat, name)
        if name:
            self.by_name[name] = idx
        return idx

    def _new_material(self, mat: Any, name: str) -> int:
        try:
            iid = int(mat.instance_id())
            rgb = tuple(float(c) for c in mat.get_color().components)
            transparency = float(mat.transparency)
        except (RuntimeError, TypeError, ValueError, AttributeError):
            iid, rgb, transparency = -1, (0.8, 0.8, 0.8), 0.0
        return self._row(iid, name, rgb, transparency)

    def material_row(self, iid: int, name: str, rgb: tuple, transparency: float) -> int:
        """A style read by the fast path: the row the kernel's material of the
        same name has or will have (one row per style on both paths)."""
        known = self.by_name.get(name)
        if known is None:
            known = self.by_name[name] = self._row(iid, name, rgb, transparency)
        return known

    def _row(self, iid: int, name: str, rgb: tuple, transparency: float) -> int:
        if not all(math.isfinite(c) for c in rgb):
            rgb = (0.8, 0.8, 0.8)
        if not math.isfinite(transparency):
            transparency = 0.0
        key = (iid, name, (*rgb, transparency))
        idx = self.mat_index.get(key)
        if idx is None:
            idx = self.mat_index[key] = self.m_next
            self.m_next += 1
            rgba = (*(min(max(c, 0.0), 1.0) for c in rgb), 1.0 - min(max(transparency, 0.0), 1.0))
            self.m_rgba.append(rgba)  # type: ignore[arg-type]
            self.m_styled.append(iid > 0 and self.is_style(iid))
        return idx

    def add(self, shape: Any) -> None:
        """One iterator (or ``create_shape``) result."""
        geo = shape.geometry
        gid = str(geo.id)
        gi = self.geom_index.get(gid)
        if gi is None:
            verts = np.frombuffer(geo.verts_buffer, dtype=np.float64)
            faces = np.frombuffer(geo.faces_buffer, dtype=np.int32)
            nv = verts.size // 3
            if verts.size % 3 or faces.size % 3:
                verts, faces, nv = verts[:0], faces[:0], 0
            faces = faces.reshape(-1, 3)
            if len(faces) and (faces.min() < 0 or faces.max() >= nv):
                faces = faces[:0]
            mids = np.frombuffer(geo.material_ids_buffer, dtype=np.int32)
            mats = list(geo.materials)
            lut = np.array([self._material(m) for m in mats] + [-1], dtype=np.int32)
            if mids.size == len(faces):
                fmat = lut[np.where((mids >= 0) & (mids < len(mats)), mids, len(mats))]
            else:
                fmat = np.full(len(faces), lut[0] if mats else -1, dtype=np.int32)
            gi = self.geom_index[gid] = self.g_next
            self.g_next += 1
            self.verts.append(verts.reshape(-1, 3))
            self.faces.append(faces)
            self.fmat.append(fmat)
            self.g_nv.append(nv)
            self.g_nf.append(len(faces))
            self.nf_of[gi] = len(faces)
            self.bytes += verts.nbytes + faces.nbytes
        nf = self.nf_of[gi]
        step = int(shape.id)
        if nf == 0:
            self.empty[step] = "geometry has no surfaces (curves or points only)"
            return
        matrix = np.frombuffer(shape.transformation_buffer, dtype=np.float64)
        self.e_step.append(step)
        self.e_geom.append(gi)
        self.e_matrix.append(matrix.reshape(4, 4).T)
        self.n_elements += 1
        self.n_triangles += nf
        if self.bytes > FLUSH_BYTES or time.monotonic() - self.last_flush > FLUSH_SECONDS:
            self.flush()

    def add_mesh(self, key: str, verts: np.ndarray, faces: np.ndarray, fmat: np.ndarray) -> int:
        """A geometry meshed by the fast path; its row (place it with :meth:`add_instance`)."""
        gi = self.geom_index[key] = self.g_next
        self.g_next += 1
        self.verts.append(np.asarray(verts, dtype=np.float64).reshape(-1, 3))
        self.faces.append(np.asarray(faces, dtype=np.int32).reshape(-1, 3))
        self.fmat.append(np.asarray(fmat, dtype=np.int32))
        self.g_nv.append(len(verts))
        self.g_nf.append(len(faces))
        self.nf_of[gi] = len(faces)
        self.bytes += self.verts[-1].nbytes + self.faces[-1].nbytes
        return gi

    def add_instance(self, step: int, gi: int, matrix: np.ndarray) -> None:
        """One element showing geometry row ``gi`` under ``matrix`` (model metres)."""
        self.e_step.append(int(step))
        self.e_geom.append(gi)
        self.e_matrix.append(np.asarray(matrix, dtype=np.float64).reshape(4, 4))
        self.n_elements += 1
        self.n_triangles += self.nf_of[gi]
        if self.bytes > FLUSH_BYTES or time.monotonic() - self.last_flush > FLUSH_SECONDS:
            self.flush()

    def add_arrays(self, step: int, verts: np.ndarray, faces: np.ndarray, matrix: np.ndarray):
        """An element whose triangles were built here (bounding-box fallback)."""
        gi = self.g_next
        self.g_next += 1
        self.geom_index[f"box-{step}"] = gi
        self.verts.append(np.asarray(verts, dtype=np.float64).reshape(-1, 3))
        self.faces.append(np.asarray(faces, dtype=np.int32).reshape(-1, 3))
        self.fmat.append(np.full(len(faces), -1, dtype=np.int32))
        self.g_nv.append(len(verts))
        self.g_nf.append(len(faces))
        self.nf_of[gi] = len(faces)
        self.e_step.append(int(step))
        self.e_geom.append(gi)
        self.e_matrix.append(np.asarray(matrix, dtype=np.float64).reshape(4, 4))
        self.n_elements += 1
        self.n_triangles += len(faces)

    def adopt(self, chunk: dict[str, Any], numbers: Any) -> None:
        """Send a chunk another process's collector made (a fast-path helper,
        :mod:`importers.ifc.fastpath.spread`), its rows renumbered by
        ``numbers`` to follow this collector's; what this one holds goes first."""
        if self.g_nv or self.e_step or self.m_rgba:
            self.flush()
        out, triangles = numbers.chunk(chunk, self.g_next, self.m_next)
        self.g_next += len(chunk["g_nv"])
        self.m_next += len(chunk["m_rgba"])
        self.n_elements += len(chunk["e_step"])
        self.n_triangles += triangles
        self.send(out)
        self._reset()

    def flush(self) -> None:
        """Send what has accumulated (also when empty: it doubles as a heartbeat)."""
        chunk = {
            "g_first": self.g_first,
            "m_first": self.m_first,
            "g_nv": np.array(self.g_nv, dtype=np.int64),
            "g_nf": np.array(self.g_nf, dtype=np.int64),
            "g_verts": _cat(self.verts, (3,), np.float64),
            "g_faces": _cat(self.faces, (3,), np.int32),
            "g_fmat": _cat(self.fmat, (), np.int32),
            "m_rgba": np.array(self.m_rgba, dtype=np.float32).reshape(-1, 4),
            "m_styled": np.array(self.m_styled, dtype=np.bool_),
            "e_step": np.array(self.e_step, dtype=np.int64),
            "e_geom": np.array(self.e_geom, dtype=np.int32),
            "e_matrix": (np.stack(self.e_matrix) if self.e_matrix else np.empty((0, 4, 4))).astype(
                np.float64
            ),
        }
        assert set(chunk) - {"g_first", "m_first"} == set(ARRAYS)
        self.send(chunk)
        self._reset()


def _cat(parts: list[np.ndarray], shape: tuple[int, ...], dtype) -> np.ndarray:
    if not parts:
        return np.empty((0, *shape), dtype=dtype)
    return np.concatenate(parts).astype(dtype, copy=False).reshape(-1, *shape)


def box_mesh(corner: np.ndarray, dims: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Vertices and outward triangles of an axis-aligned box (IfcBoundingBox)."""
    c = np.asarray(corner, dtype=np.float64)
    d = np.asarray(dims, dtype=np.float64)
    unit = np.array(
        [[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0], [0, 0, 1], [1, 0, 1], [1, 1, 1], [0, 1, 1]],
        dtype=np.float64,
    )
    faces = np.array(
        [
            [0, 2, 1], [0, 3, 2], [4, 5, 6], [4, 6, 7], [0, 1, 5], [0, 5, 4],
            [1, 2, 6], [1, 6, 5], [2, 3, 7], [2, 7, 6], [3, 0, 4], [3, 4, 7],
        ],
        dtype=np.int32,
    )  # fmt: skip
    return c + unit * d, faces


# -- parent side ------------------------------------------------------------------


def geometry_bounds(arrays: dict[str, np.ndarray]) -> np.ndarray:
    """(G, 2, 3) min/max corner of every distinct geometry (NaN when empty)."""
    nv = arrays["g_nv"]
    out = np.full((len(nv), 2, 3), np.nan)
    has = nv > 0
    if not has.any():
        return out
    starts = (np.cumsum(nv) - nv)[has]
    verts = arrays["g_verts"]
    out[has, 0] = np.minimum.reduceat(verts, starts, axis=0)
    out[has, 1] = np.maximum.reduceat(verts, starts, axis=0)
    return out


def placed_bounds(
    gbounds: np.ndarray, geom: np.ndarray, matrices: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Min and max corner (n, 3) of each element's geometry box under its matrix
    (the 8 corners transformed: exact for the box, cheap for any model)."""
    if len(geom) == 0:
        return np.empty((0, 3)), np.empty((0, 3))
    lo, hi = gbounds[geom, 0], gbounds[geom, 1]
    sel = np.array([[i >> k & 1 for k in range(3)] for i in range(8)], dtype=bool)
    corners = np.where(sel[None, :, :], hi[:, None, :], lo[:, None, :])  # (n, 8, 3)
    rot, trans = matrices[:, :3, :3], matrices[:, :3, 3]
    world = np.einsum("nij,nkj->nki", rot, corners) + trans[:, None, :]
    return world.min(axis=1), world.max(axis=1)


def expand(
    arrays: dict[str, np.ndarray], elems: np.ndarray, matrices: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Instances -> one mesh.

    Parameters
    ----------
    arrays : payload arrays.
    elems : (k,) rows of ``e_*`` to draw, in output order.
    matrices : (k, 4, 4) float64 transform of each (geometry -> target frame).

    Returns
    -------
    points : (N, 3) float64
    tris : (T, 3) int64 into ``points``
    tri_elem : (T,) int64 position in ``elems`` of each triangle
    tri_mat : (T,) int32 material row (-1: none)
    vstart : (k + 1,) first output vertex of each element (last = N)
    """
    nv_g, nf_g = arrays["g_nv"], arrays["g_nf"]
    gvs = np.cumsum(nv_g) - nv_g
    gfs = np.cumsum(nf_g) - nf_g
    eg = arrays["e_geom"][elems].astype(np.int64)
    nv, nf = nv_g[eg], nf_g[eg]
    vstart = np.concatenate([[0], np.cumsum(nv)]).astype(np.int64)
    n_pts, n_tri = int(vstart[-1]), int(nf.sum())
    # vertex gather: output vertex i of element e reads geometry vertex gvs[g]+i
    vert_elem = np.repeat(np.arange(len(eg)), nv)
    src = np.arange(n_pts, dtype=np.int64) - vstart[:-1][vert_elem] + gvs[eg][vert_elem]
    points = np.empty((n_pts, 3), dtype=np.float64)
    verts = arrays["g_verts"]
    rot = np.ascontiguousarray(matrices[:, :3, :3])
    trans = np.ascontiguousarray(matrices[:, :3, 3])
    for s in range(0, n_pts, BLOCK):
        e = min(n_pts, s + BLOCK)
        ve = vert_elem[s:e]
        points[s:e] = np.einsum("nij,nj->ni", rot[ve], verts[src[s:e]]) + trans[ve]
    fstart = np.concatenate([[0], np.cumsum(nf)]).astype(np.int64)
    tri_elem = np.repeat(np.arange(len(eg)), nf)
    fsrc = np.arange(n_tri, dtype=np.int64) - fstart[:-1][tri_elem] + gfs[eg][tri_elem]
    tris = arrays["g_faces"][fsrc].astype(np.int64) + vstart[:-1][tri_elem][:, None]
    tri_mat = arrays["g_fmat"][fsrc]
    mirrored = np.linalg.det(rot) < 0
    if mirrored.any():
        flip = mirrored[tri_elem]
        tris[flip] = tris[flip][:, ::-1]
    return points, tris, tri_elem, tri_mat, vstart


def element_bounds(points: np.ndarray, vstart: np.ndarray) -> np.ndarray:
    """(k, 6) ``xmin, xmax, ymin, ymax, zmin, zmax`` of each element's contiguous
    vertex range; NaN for elements without vertices."""
    k = len(vstart) - 1
    out = np.full((k, 6), np.nan)
    counts = np.diff(vstart)
    has = counts > 0
    if not has.any():
        return out
    starts = vstart[:-1][has]
    lo = np.minimum.reduceat(points, starts, axis=0)
    hi = np.maximum.reduceat(points, starts, axis=0)
    out[has, 0::2] = lo
    out[has, 1::2] = hi
    return out
