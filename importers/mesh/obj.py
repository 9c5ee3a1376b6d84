"""OBJ by a small reader of our own: trimesh's loader does not keep object and
group names apart from materials. One feature per ``o``/``g`` name, ``usemtl``
colours from the ``mtllib``, faces fan-triangulated with numpy.
"""

from __future__ import annotations

import contextlib
import re
import threading
from pathlib import Path

import numpy as np

from importers.errors import ImportCancelled, ImportFailed
from importers.mesh.common import (
    MeshOptions,
    SafeResolver,
    _Geometry,
    _image_array,
    _Model,
    _neutral,
    _Node,
    _sample,
)


def _read_obj(path: Path, opts: MeshOptions, cancel: threading.Event | None) -> _Model:
    """A small OBJ reader: one feature per ``o``/``g`` name, ``usemtl`` colours
    from the ``mtllib`` (``Kd``, ``d``, mean ``map_Kd`` colour), ``v x y z r g b``
    vertex colours; faces fan-triangulated with numpy."""
    data = path.read_bytes()
    if b"\x00" in data[:4096]:
        raise ImportFailed(path, "is binary, not an OBJ text file")
    text = data.decode("utf-8", errors="replace")
    del data
    resolver = SafeResolver(path.parent)
    notes: list[str] = []
    v_lines: list[str] = []
    f_lines: list[str] = []
    f_vcount: list[int] = []
    f_seg: list[int] = []
    segments: list[tuple[int, int]] = []  # (feature row, material) per run of faces
    rows: dict[str, int] = {}
    row_kind: list[str] = []
    materials: dict[str, int] = {}
    mtllibs: list[str] = []
    obj_name, grp_name = "", ""
    seg, mat = -1, -1

    def current_row() -> int:
        if obj_name and grp_name and grp_name != obj_name:
            name, kind = f"{obj_name}/{grp_name}", "group"
        elif grp_name:
            name, kind = grp_name, "group"
        else:
            name, kind = obj_name or path.stem, "object"
        if name not in rows:
            rows[name] = len(rows)
            row_kind.append(kind)
        return rows[name]

    # One pass that only sorts lines; numbers are parsed in bulk afterwards.
    for i, line in enumerate(text.splitlines()):
        head = line[:2]
        if head == "v ":
            v_lines.append(line[2:])
        elif head == "f ":
            if seg < 0:
                segments.append((current_row(), mat))
                seg = len(segments) - 1
            f_lines.append(line[2:])
            f_vcount.append(len(v_lines))
            f_seg.append(seg)
        elif head in ("o ", "g "):
            name = line[2:].strip()
            if head == "o ":
                obj_name, grp_name = name, ""
            else:
                grp_name = name if name != "default" else ""
            seg = -1
        elif line.startswith("usemtl"):
            mat = materials.setdefault(line[6:].strip(), len(materials))
            seg = -1
        elif line.startswith("mtllib"):
            mtllibs.extend(line[6:].split())
        if cancel is not None and not i & 0xFFFFF and cancel.is_set():
            raise ImportCancelled(str(path))
    del text
    if not f_lines:
        what = "vertices but no faces (a point cloud?)" if v_lines else "no vertices or faces"
        raise ImportFailed(path, f"has {what}; is it an OBJ file?")

    vertices, vcolors, n_bad_v = _obj_vertices(v_lines)
    del v_lines
    if n_bad_v:
        notes.append(f"{n_bad_v:,} vertex lines unreadable; faces using them dropped")
    flat, lens = _obj_face_indices(f_lines)
    del f_lines
    line_of = np.repeat(np.arange(len(lens)), lens)
    bad_line = (lens < 3) | (np.bincount(line_of[flat == 0], minlength=len(lens)) > 0)
    n_lines_bad = int(bad_line.sum())
    vc_rep = np.repeat(np.array(f_vcount, dtype=np.int64), lens)
    # OBJ indices are 1-based; negative ones count back from the last vertex so far.
    idx = np.where(flat < 0, vc_rep + flat, flat - 1)
    idx[flat == 0] = -1
    starts = np.cumsum(lens) - lens
    ntri = np.where(bad_line, 0, lens - 2)
    poly = np.repeat(np.arange(len(lens)), ntri)
    j = np.arange(int(ntri.sum())) - np.repeat(np.cumsum(ntri) - ntri, ntri)
    base = starts[poly]
    faces = np.column_stack([idx[base], idx[base + j + 1], idx[base + j + 2]])
    seg_arr = np.array(segments, dtype=np.int64).reshape(-1, 2)
    tri_seg = np.array(f_seg, dtype=np.int64)[poly]
    tri_row, tri_mat = seg_arr[tri_seg, 0], seg_arr[tri_seg, 1]
    if n_lines_bad:
        notes.append(f"{n_lines_bad:,} face lines unreadable (fewer than 3 corners or bad index)")

    lut = _obj_materials(mtllibs, materials, resolver, notes)
    rgba = lut[np.where(tri_mat >= 0, tri_mat, len(lut) - 1)]
    if vcolors is not None:
        ok = np.all((faces >= 0) & (faces < len(vertices)), axis=1)
        col = vcolors[np.clip(faces[ok], 0, len(vertices) - 1)].mean(axis=1)
        rgba[ok, :3] = np.round(col).astype(np.uint8)
    notes.extend(resolver.summary())

    # One geometry per feature row: shared vertex array, faces split by row.
    order = np.argsort(tri_row, kind="stable")
    counts = np.bincount(tri_row, minlength=len(rows))
    bounds = np.concatenate([[0], np.cumsum(counts)])
    names = list(rows)
    geometries = []
    nodes = []
    for r, name in enumerate(names):
        sel = order[bounds[r] : bounds[r + 1]]
        geometries.append(_Geometry(name, vertices, faces[sel], rgba[sel]))
        nodes.append(_Node(name, r, np.eye(4), row_kind[r]))
    info = {"format": "OBJ", "materials": len(materials)}
    return _Model(geometries, nodes, "OBJ", notes, info)


def _obj_face_indices(lines: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Vertex indices of face lines (``1``, ``1/2``, ``1//3``, ``1/2/3`` corners),
    flattened, and the corner count per line; 0 marks an unreadable corner."""
    body = "\n".join(lines)
    if "/" in body:
        body = re.sub(r"/\S*", "", body)
    lens = np.fromiter(map(len, map(str.split, body.split("\n"))), dtype=np.int64)
    tokens = body.split()
    try:
        flat = np.array(tokens, dtype=np.int64)
    except (ValueError, OverflowError):
        flat = np.array([_int_or(t) for t in tokens], dtype=np.int64)
    return flat, lens


def _int_or(token: str) -> int:
    try:
        value = int(token)
    except ValueError:
        return 0
    return value if abs(value) < 2**62 else 0


def _obj_vertices(lines: list[str]) -> tuple[np.ndarray, np.ndarray | None, int]:
    """(n, 3) float64 positions (NaN rows where unreadable), optional (n, 3)
    0..255 vertex colours, and the count of unreadable lines."""
    n = len(lines)
    if not n:
        return np.empty((0, 3)), None, 0
    try:
        arr = np.array(" ".join(lines).split(), dtype=np.float64)
        if arr.size == 3 * n:
            return arr.reshape(n, 3), None, 0
        if arr.size == 6 * n:
            arr = arr.reshape(n, 6)
            return arr[:, :3].copy(), _vertex_color_scale(arr[:, 3:]), 0
    except ValueError:
        pass
    pos = np.full((n, 3), np.nan)
    col = np.full((n, 3), np.nan)
    bad = 0
    for i, line in enumerate(lines):
        toks = line.split()
        try:
            vals = [float(t) for t in toks[:7]]
        except ValueError:
            bad += 1
            continue
        if len(vals) < 3:
            bad += 1
            continue
        pos[i] = vals[:3]
        if len(vals) >= 6:
            col[i] = vals[3:6] if len(vals) == 6 else vals[4:7] if len(vals) == 7 else vals[3:6]
    has = np.all(np.isfinite(col), axis=1)
    colors = _vertex_color_scale(np.where(has[:, None], col, 200 / 255)) if has.any() else None
    return pos, colors, bad


def _vertex_color_scale(col: np.ndarray) -> np.ndarray:
    """OBJ vertex colours are 0..1 (some tools write 0..255)."""
    col = np.nan_to_num(col, nan=0.8)
    return np.clip(col if col.max() > 1.0 else col * 255.0, 0, 255)


def _obj_materials(
    mtllibs: list[str], materials: dict[str, int], resolver: SafeResolver, notes: list[str]
) -> np.ndarray:
    """(n_materials + 1, 4) uint8 colour per ``usemtl`` name; the last row is the
    neutral colour for faces without a (known) material."""
    lut = _neutral(len(materials) + 1)
    if not materials:
        return lut
    found: dict[str, np.ndarray] = {}
    for lib in mtllibs:
        data = resolver.read(lib)
        if data is None:
            continue
        current = None
        kd: dict[str, np.ndarray] = {}
        tex: dict[str, str] = {}
        alpha: dict[str, float] = {}
        for line in data.decode("utf-8", errors="replace").splitlines():
            toks = line.split()
            if not toks:
                continue
            key = toks[0]
            if key == "newmtl" and len(toks) > 1:
                current = " ".join(toks[1:])
            elif current is None:
                continue
            elif key == "Kd" and len(toks) >= 4:
                with contextlib.suppress(ValueError):
                    kd[current] = np.clip(np.array(toks[1:4], dtype=np.float64), 0, 1)
            elif key == "map_Kd" and len(toks) > 1:
                tex[current] = toks[-1]
            elif key in ("d", "Tr") and len(toks) > 1:
                try:
                    value = float(toks[1])
                except ValueError:
                    continue
                alpha[current] = value if key == "d" else 1.0 - value
        for name in set(kd) | set(tex):
            rgb = kd.get(name)
            if name in tex:
                img = _load_image(resolver, tex[name])
                if img is not None:
                    mean = img.reshape(-1, 3).mean(axis=0) / 255.0
                    rgb = mean * (rgb if rgb is not None else 1.0)
            if rgb is None:
                continue
            a = (
                float(np.clip(alpha.get(name, 1.0), 0, 1))
                if np.isfinite(alpha.get(name, 1.0))
                else 1.0
            )
            found[name] = np.round(np.append(np.clip(rgb, 0, 1), a) * 255).astype(np.uint8)
    unknown = []
    for name, i in materials.items():
        if name in found:
            lut[i] = found[name]
        else:
            unknown.append(name)
    if unknown and mtllibs:
        notes.append(
            f"{len(unknown)} materials not found in the .mtl; drawn in grey: {_sample(unknown)}"
        )
    elif unknown:
        notes.append("no material library (mtllib); drawn in grey")
    return lut


def _load_image(resolver: SafeResolver, name: str) -> np.ndarray | None:
    p = resolver.path(name)
    if p is None:
        return None
    from PIL import Image

    try:
        with Image.open(p) as img:
            return _image_array(img)
    except (OSError, ValueError, Image.DecompressionBombError):
        resolver.missing.append(name + " (unreadable)")
        return None
