"""An IFC model on screen while it is meshed: streamed chunks -> preview batches.

The worker sends its elements in chunks (:mod:`importers.ifc.streaming`);
:class:`Preview` listens to the runner (``runner.run(listener=...)``) on the
import's own thread and turns the chunks received since its last batch into
one small scene-local mesh, coloured as the final layer will be, and hands it
to ``sink``. The window draws each batch as its own actor (only the new
triangles go to the GPU, so a batch costs the GUI thread the same at the end
of a large model as at its start) and swaps them all for the real layer when
the import ends. Batches wait for the table (classes give the fallback
colours, spaces stay hidden) and the georeferencing records, which the
worker's table reader sends about a second after parsing.

The placement is resolved once, at the first batch, from the elements
received so far. It equals the final layer's wherever the placement does not
depend on the model's extent (map conversions, site latitude/longitude, a
model near its own origin); an ungeoreferenced model far from its origin is
centred on its first storey until the final layer centres it on the whole.

:func:`mark_partial` labels the layers of a cancelled import.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from importers.ifc import georef
from importers.ifc.colors import palette_for
from importers.ifc.geometry import expand
from importers.ifc.layers import _colors, _lookup, model_bbox
from importers.ifc.options import IfcOptions
from twin.meshing import TriMesh

#: Least time between two batches (s): each costs the window a frame.
MIN_INTERVAL_S = 0.4
#: ... unless this many elements are waiting.
MAX_WAITING = 8000
PARTIAL_SUFFIX = " (partial)"
#: Table status of an element whose geometry never arrived (cancelled import).
NOT_LOADED = "not loaded (import cancelled)"

_TEXT = {
    "en": {
        "partial": "import cancelled after {done} of {total} elements: this layer is partial",
    },
    "vi": {
        "partial": "đã hủy nhập sau {done} trên {total} phần tử: lớp này chưa đầy đủ",
    },
}


def translate(key: str, lang: str = "en", **values: Any) -> str:
    """The message ``key`` in ``lang`` ("en" or "vi")."""
    return _TEXT.get(lang, _TEXT["en"])[key].format(**values)


@dataclass
class PreviewBatch:
    """One batch for the screen.

    ``mesh``: ``pyvista.PolyData`` in scene-local metres with the cell arrays
    ``feature`` (row in the final layer's table) and ``rgb`` (uint8, the final
    layer's native colours). ``elements``: in this batch; ``shown``: in all
    batches so far; ``total``: elements the import will compute; ``seconds``:
    since the preview started; ``bounds``: the batch mesh's
    ``xmin, xmax, ymin, ymax, zmin, zmax``.
    """

    mesh: Any
    elements: int
    shown: int
    total: int
    seconds: float
    bounds: tuple[float, ...]


class _Growing:
    """An array appended to in place (capacity doubles): views of it cost nothing."""

    def __init__(self, dtype: Any, shape: tuple[int, ...]) -> None:
        self.data = np.empty((1024, *shape), dtype=dtype)
        self.n = 0

    def extend(self, values: np.ndarray) -> None:
        k = len(values)
        if self.n + k > len(self.data):
            bigger = np.empty((max(2 * len(self.data), self.n + k), *self.data.shape[1:]),
                              dtype=self.data.dtype)  # fmt: skip
            bigger[: self.n] = self.data[: self.n]
            self.data = bigger
        self.data[self.n : self.n + k] = values
        self.n += k

    def view(self) -> np.ndarray:
        return self.data[: self.n]


_GEOMETRY = {
    "g_nv": (np.int64, ()),
    "g_nf": (np.int64, ()),
    "g_verts": (np.float64, (3,)),
    "g_faces": (np.int32, (3,)),
    "g_fmat": (np.int32, ()),
    "m_rgba": (np.float32, (4,)),
    "m_styled": (np.bool_, ()),
}


class Preview:
    """A runner listener that sends :class:`PreviewBatch` es to ``sink``.

    ``sink`` is called on the import's thread; it should only hand the batch
    over (a Qt signal), not draw it.
    """

    def __init__(
        self,
        path: Path,
        scene: Any,
        opts: IfcOptions,
        sink: Callable[[PreviewBatch], None],
        min_interval_s: float | None = None,
    ) -> None:
        self.path = Path(path)
        self.scene = scene
        self.opts = opts
        self.sink = sink
        self.min_interval_s = MIN_INTERVAL_S if min_interval_s is None else min_interval_s
        self.t0 = time.monotonic()
        self.meta: dict[str, Any] | None = None
        self.semantics: dict[str, Any] | None = None
        self.geometry = {k: _Growing(dt, shape) for k, (dt, shape) in _GEOMETRY.items()}
        self.waiting: list[dict[str, np.ndarray]] = []
        self.n_waiting = 0
        self.shown = 0
        self.batches = 0
        self.last = 0.0
        self._rows: tuple[np.ndarray, np.ndarray] | None = None
        self._palette: tuple[np.ndarray, np.ndarray] | None = None
        self._is_space: np.ndarray | None = None
        self._to_local: np.ndarray | None = None
        self._placement: Any = None

    # -- the runner's listener --------------------------------------------------
    def __call__(self, tag: str, data: Any) -> None:
        if tag == "meta" and self.meta is None:
            self.meta = data
        elif tag == "semantics" and self.semantics is None:
            self.semantics = data
            self._ready_table()
            self.emit(force=True)
        elif tag == "chunk":
            for key in _GEOMETRY:
                self.geometry[key].extend(data[key])
            if len(data["e_step"]):
                self.waiting.append({k: data[k] for k in ("e_step", "e_geom", "e_matrix")})
                self.n_waiting += len(data["e_step"])
            self.emit()

    @property
    def total(self) -> int:
        return len((self.meta or {}).get("targets") or [])

    def _ready_table(self) -> None:
        cols = self.semantics["columns"]
        steps = np.asarray(cols["step"], dtype=np.int64)
        order = np.argsort(steps, kind="stable")
        self._rows = (steps[order], order)
        n = len(steps)
        self._palette = palette_for(np.asarray(cols["cls"], dtype=object)) if n else (
            np.zeros((0, 3), np.uint8), np.zeros(0))  # fmt: skip
        meta = self.meta or {}
        self._is_space = np.asarray(meta.get("is_space") or [False] * n, dtype=bool).reshape(n)

    # -- batches ----------------------------------------------------------------
    def emit(self, force: bool = False) -> PreviewBatch | None:
        """Send what is waiting as one batch, when the table is known and the
        last batch is old enough (or ``force``)."""
        if self.semantics is None or not self.waiting:
            return None
        now = time.monotonic()
        if not force and now - self.last < self.min_interval_s and self.n_waiting < MAX_WAITING:
            return None
        batch = self._build()
        self.waiting, self.n_waiting = [], 0
        self.last = time.monotonic()
        if batch is not None:
            self.batches += 1
            self.sink(batch)
        return batch

    def _arrays(self, elems: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        out = {k: g.view() for k, g in self.geometry.items()}
        out.update(elems)
        return out

    def _build(self) -> PreviewBatch | None:
        keys3 = ("e_step", "e_geom", "e_matrix")
        elems = {k: np.concatenate([w[k] for w in self.waiting]) for k in keys3}
        arrays = self._arrays(elems)
        keys, order = self._rows
        row = _lookup(keys, order, elems["e_step"])
        mine = np.flatnonzero(row >= 0)
        mine = mine[~self._is_space[row[mine]]]  # spaces: a hidden layer at the end
        if len(mine) == 0:
            return None
        if self._placement is None:
            self._place(arrays, mine)
        if self._to_local is not None:
            mats = np.einsum("ij,njk->nik", self._to_local, elems["e_matrix"][mine])
            points, tris, tri_elem, tri_mat, _ = expand(arrays, mine, mats)
        else:
            mats = np.einsum("ij,njk->nik", self._placement.affine, elems["e_matrix"][mine])
            points, tris, tri_elem, tri_mat, _ = expand(arrays, mine, mats)
            georef.reproject_points(points, self._placement, self.scene.crs, self.scene.origin)
        tri_row = row[mine][tri_elem].astype(np.int32)
        base_rgb, base_transp = self._palette
        tri_rgb = _colors(arrays, tri_mat, tri_row, base_rgb, base_transp, len(base_rgb))[0]
        mesh = TriMesh(points, tris, tri_row).to_polydata()
        mesh.cell_data["rgb"] = tri_rgb
        self.shown += len(mine)
        return PreviewBatch(
            mesh=mesh,
            elements=len(mine),
            shown=self.shown,
            total=self.total,
            seconds=time.monotonic() - self.t0,
            bounds=tuple(float(v) for v in mesh.bounds),
        )

    def _place(self, arrays: dict[str, np.ndarray], mine: np.ndarray) -> None:
        """The placement of every batch, resolved once (module docstring)."""
        bbox = model_bbox(arrays, mine)
        raw = (self.semantics or {}).get("georef") or {}
        scene = self.scene
        self._placement = georef.resolve(
            raw, bbox, scene.crs, scene.origin, self.opts.at, self.opts.override_georef
        )
        self._to_local, _ = georef.scene_affine(self._placement, scene.crs, scene.origin, bbox)


def mark_partial(layers: list, partial: dict[str, Any], lang: str = "en") -> None:
    """Label the layers of a cancelled import: name suffix, one warning, the
    ``info["partial"]`` record, and the table status of elements that never
    arrived."""
    message = translate(
        "partial", lang, done=int(partial.get("done", 0)), total=int(partial.get("total", 0))
    )
    for layer in layers:
        if not layer.name.endswith(PARTIAL_SUFFIX):
            layer.name += PARTIAL_SUFFIX
        layer.warnings.insert(0, message)
        layer.info["partial"] = dict(partial)
        status = layer.features.attributes.get("geometry")
        if status is None:
            continue
        bounds = np.asarray(layer.features.bounds)
        missing = (status == "ok") & ~np.isfinite(bounds).all(axis=1)
        status[missing] = NOT_LOADED
