"""Fast picking: one cached cell locator per drawn geometry, queried along the click ray.

Why not ``vtkCellPicker.AddLocator``: the picker uses a locator only when the
locator's data set *is* the mapper's input object. pyvista's ``add_mesh`` feeds
the mapper through a pass-through algorithm, so the drawn data object is a
shallow copy of the layer mesh; a locator built on the layer mesh is silently
ignored and every click tests every cell (~200 ms on 1.38 M triangles). Here the
ray is cast by hand and sent straight to a ``vtkStaticCellLocator``.

Cache key: the geometry, not the data object. Shallow copies share their
``vtkPoints`` and ``vtkCellArray`` objects, so the layer mesh, the mapper's
input and any other shallow copy share one locator (same cell ids). A locator
is rebuilt only when those geometry objects change (identity, MTime, cell
count): recolouring touches cell data only and never rebuilds. VTK's own
check would rebuild on *any* ``Modified()`` of the data set (a colour edit made
the next query cost 0.19 s), so every cached locator has
``UseExistingSearchStructure`` on and this module decides when to rebuild.
Edit cells through ``SetPolys``/``SetLines`` or call ``Modified()`` on the data
set after an in-place edit: a data set whose own MTime has not moved since it
was last checked is not re-inspected. One locator costs ~65 MiB for 1.38 M
triangles (VTK caches every cell's bounds).

Building off the click path, measured on the 2-core VM, VTK 9.7.2 wheel,
1,377,852 triangles (``bench/bench_pick.py``, ``bench/RESULTS.md`` "Picking"):

* ``vtkStaticCellLocator.BuildLocator`` takes 0.13-0.15 s (the first one in a
  process ~0.35 s: fresh memory) and holds the GIL throughout: called from a
  plain Python thread it froze the main thread for the whole build (165-214 ms
  in two runs). A plain thread therefore does not help.
* It is SMP-threaded (``vtkSMPTools``), but the wheel's default backend is
  ``Sequential``; ``STDThread`` is compiled in (TBB and OpenMP are not).
  ``VTK_SMP_BACKEND_IN_USE=STDThread`` before VTK loads (or
  ``vtkSMPTools.SetBackend("STDThread")``) saved ~10% on 2 cores (0.12 s
  instead of 0.13 s); this module leaves that process-wide choice to the app.
* ``vtkAlgorithm.Update`` *does* release the GIL in this wheel. So
  :meth:`LocatorCache.prebuild_async` attaches the locator to a private
  geometry-sharing copy of the data set (``vtkPointSet.SetCellLocator``) and
  runs a one-point ``vtkProbeFilter`` on it: the probe's ``FindCell`` builds
  that very locator inside ``Update``. A 1 ms timer in the main thread then
  ran late by at most 2-10 ms (several runs) during the 0.17-0.5 s build. If a
  VTK version stops building it there, the worker falls back to
  ``BuildLocator`` (correct, just holding the GIL; ``stats.background_builds``
  tells which happened).

Warm picks then take 0.03-0.05 ms (median; p95 <= 0.1 ms) on that city, hit
or miss, against 140-195 ms for ``vtkCellPicker`` without a usable locator.
A click that arrives while a build is running waits for that build (it never
starts a second one). Line and point data sets (road centre lines drawn as
tubes a few pixels wide) need a pick tolerance in *pixels*; VTK's locator
walks only the bins the ray passes through, so a line lying in a neighbouring
bin within the tolerance would be missed. They get a small numpy uniform grid
(:class:`SegmentGrid`, 8-9 ms to build for 17k street segments, 0.16-0.27 ms
a pick) queried along a ray widened by the tolerance instead.

:data:`stats` counts locator queries, builds and brute-force scans, so a test
can fail when a pick ever tests every cell or builds on the click path.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from types import SimpleNamespace
from typing import Any

import numpy as np
from vtkmodules.util.numpy_support import vtk_to_numpy
from vtkmodules.vtkCommonCore import reference, vtkPoints
from vtkmodules.vtkCommonDataModel import (
    vtkGenericCell,
    vtkPointSet,
    vtkPolyData,
    vtkStaticCellLocator,
)
from vtkmodules.vtkFiltersCore import vtkProbeFilter

#: A grid query that tests at least this many segments and all of them counts as
#: a brute-force scan (tiny data sets are allowed to fit in one bin).
BRUTE_FORCE_MIN_CELLS = 64
#: Grid cells per segment piece aimed at by :class:`SegmentGrid`.
_SEGMENTS_PER_BIN = 4
_MAX_BINS = 1 << 22
_MAX_RAY_STEPS = 4096


@dataclass
class PickStats:
    """Counters for tests and benchmarks (not thread-exact; good enough to assert 0)."""

    locator_queries: int = 0  # IntersectWithLine on a built static cell locator
    grid_queries: int = 0  # line/point data set queries through a SegmentGrid
    grid_candidates: int = 0  # segments tested exactly by those queries
    brute_force: int = 0  # queries that tested every cell of a data set
    builds: int = 0  # locators/grids built (any thread)
    background_builds: int = 0  # of which built with the GIL released (probe filter)
    click_builds: int = 0  # builds forced by a query (nothing prebuilt or it was stale)
    waits: int = 0  # queries that waited for a running background build

    def reset(self) -> None:
        for f in fields(self):
            setattr(self, f.name, 0)


stats = PickStats()


@dataclass(frozen=True)
class PickHit:
    """What the ray hit. ``position`` is in world (scene-local) coordinates;
    ``distance`` runs along the pick ray from the near clipping plane, so hits
    from different actors compare. ``offset_px`` is how far the ray passed from
    a line or point (0 for surfaces)."""

    actor: Any
    dataset: Any
    cell_id: int
    position: np.ndarray
    distance: float
    offset_px: float = 0.0


# -- geometry identity ---------------------------------------------------------------


def _geometry(ds) -> tuple:
    """The objects that define cell ids and positions (shared by shallow copies)."""
    if isinstance(ds, vtkPolyData):
        return (ds.GetPoints(), ds.GetVerts(), ds.GetLines(), ds.GetPolys(), ds.GetStrips())
    return (ds,)


def _mesh_mtime(parts: tuple) -> int:
    """Newest change to points or cells; cell/point *data* (colours) is not included."""
    t = 0
    for obj in parts:
        if obj is None:
            continue
        t = max(t, obj.GetMTime())
        if hasattr(obj, "GetConnectivityArray"):  # vtkCellArray's MTime ignores its arrays
            t = max(t, obj.GetOffsetsArray().GetMTime(), obj.GetConnectivityArray().GetMTime())
    return t


def is_thin(ds) -> bool:
    """Lines and/or points only: picked with a pixel tolerance, not by exact ray hits."""
    return (
        isinstance(ds, vtkPolyData)
        and ds.GetNumberOfPolys() == 0
        and ds.GetNumberOfStrips() == 0
        and (ds.GetNumberOfLines() + ds.GetNumberOfVerts()) > 0
    )


def _proxy(ds):
    """A data set sharing ``ds``'s geometry but nothing else, owned by the cache:
    the locator may attach to it and build its cell map without touching the
    caller's (possibly drawn) object."""
    if isinstance(ds, vtkPolyData):
        p = vtkPolyData()
        p.SetPoints(ds.GetPoints())
        p.SetVerts(ds.GetVerts())
        p.SetLines(ds.GetLines())
        p.SetPolys(ds.GetPolys())
        p.SetStrips(ds.GetStrips())
        return p
    p = ds.NewInstance()
    p.ShallowCopy(ds)
    for attrs in (p.GetPointData(), p.GetCellData(), p.GetFieldData()):
        attrs.Initialize()
    return p


# -- line / point grid ---------------------------------------------------------------


def _expand_boxes(
    lo: np.ndarray, hi: np.ndarray, dims: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """All bin ids in the inclusive integer boxes ``lo..hi`` (n, 3): (owner row, bin id)."""
    span = hi - lo + 1
    count = span.prod(axis=1)
    owner = np.repeat(np.arange(len(lo)), count)
    local = np.arange(owner.size) - np.repeat(np.cumsum(count) - count, count)
    sx, sy = span[owner, 0], span[owner, 1]
    i = lo[owner, 0] + local % sx
    rest = local // sx
    j = lo[owner, 1] + rest % sy
    k = lo[owner, 2] + rest // sy
    return owner, i + dims[0] * (j + dims[1] * k)


def _gather_runs(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Concatenate ``arange(s, s + c)`` for every (s, c), without a Python loop."""
    total = int(counts.sum())
    if total == 0:
        return np.empty(0, dtype=np.int64)
    shift = np.repeat(starts - (np.cumsum(counts) - counts), counts)
    return shift + np.arange(total)


class SegmentGrid:
    """Uniform grid over the segments of a line/point data set (model coordinates).

    Polylines are split into segments, vertices become zero-length segments; long
    segments are binned piecewise so a diagonal street does not fill a block of
    bins. A query walks the ray in bin-sized steps, each step's box widened by
    the pick tolerance at its depth, and tests only the segments in those bins.
    """

    def __init__(self, ds: vtkPolyData) -> None:
        pts = vtk_to_numpy(ds.GetPoints().GetData()).astype(np.float64, copy=False)
        a_idx, b_idx, cell = [], [], []
        n_verts = ds.GetNumberOfVerts()
        for cells, first_id, is_line in ((ds.GetVerts(), 0, False), (ds.GetLines(), n_verts, True)):
            if cells is None or cells.GetNumberOfCells() == 0:
                continue
            off = vtk_to_numpy(cells.GetOffsetsArray()).astype(np.int64)
            conn = vtk_to_numpy(cells.GetConnectivityArray()).astype(np.int64)
            size = np.diff(off)
            if is_line:  # n points -> n - 1 segments; a 1-point line is a point
                per = np.where(size >= 2, size - 1, size)
                step = (size >= 2).astype(np.int64)
            else:  # every vertex of a (poly)vertex cell is a point
                per, step = size, np.zeros_like(size)
            owner = np.repeat(np.arange(len(size)), per)
            first = _gather_runs(off[:-1], per)
            a_idx.append(conn[first])
            b_idx.append(conn[first + step[owner]])
            cell.append(owner + first_id)
        if a_idx:
            self.a = pts[np.concatenate(a_idx)]
            self.b = pts[np.concatenate(b_idx)]
            self.cell = np.concatenate(cell)
        else:
            self.a = self.b = np.empty((0, 3))
            self.cell = np.empty(0, dtype=np.int64)
        self._bin()

    def __len__(self) -> int:
        return len(self.cell)

    def _bin(self) -> None:
        n = len(self.cell)
        if n == 0:
            self.lo = self.h = np.zeros(3)
            self.dims = np.ones(3, dtype=np.int64)
            self.offsets = np.zeros(2, dtype=np.int64)
            self.items = np.empty(0, dtype=np.int64)
            return
        lo = np.minimum(self.a, self.b).min(axis=0)
        hi = np.maximum(self.a, self.b).max(axis=0)
        ext = hi - lo
        big = max(float(ext.max()), 1e-9)
        live = ext > big * 1e-6  # flat axes (a road network's z) get one bin
        target = min(max(n / _SEGMENTS_PER_BIN, 1.0), _MAX_BINS)
        side = (np.prod(ext[live]) / target) ** (1.0 / live.sum()) if live.any() else big
        dims = np.where(live, np.clip(np.ceil(ext / side), 1, 4096), 1).astype(np.int64)
        h = np.where(live, ext / dims, 1.0)
        self.lo, self.h, self.dims = lo, h, dims
        # Pieces no longer than the smallest live bin side: each touches <= 2 bins per axis.
        step = float(h[live].min()) if live.any() else big
        length = np.linalg.norm(self.b - self.a, axis=1)
        pieces = np.maximum(np.ceil(length / step), 1).astype(np.int64)
        seg = np.repeat(np.arange(n), pieces)
        k = np.arange(seg.size) - np.repeat(np.cumsum(pieces) - pieces, pieces)
        f0 = (k / pieces[seg])[:, None]
        f1 = ((k + 1) / pieces[seg])[:, None]
        d = self.b[seg] - self.a[seg]
        p0, p1 = self.a[seg] + f0 * d, self.a[seg] + f1 * d
        blo = self._cell_index(np.minimum(p0, p1))
        bhi = self._cell_index(np.maximum(p0, p1))
        owner, bins = _expand_boxes(blo, bhi, dims)
        key = np.unique(bins * n + seg[owner])  # sorted by bin, no duplicates
        bins_sorted, self.items = np.divmod(key, n)
        n_bins = int(dims.prod())
        self.offsets = np.zeros(n_bins + 1, dtype=np.int64)
        np.cumsum(np.bincount(bins_sorted, minlength=n_bins), out=self.offsets[1:])

    def _cell_index(self, p: np.ndarray) -> np.ndarray:
        ijk = np.floor((p - self.lo) / self.h).astype(np.int64)
        return np.clip(ijk, 0, self.dims - 1)

    def query(
        self,
        p1: np.ndarray,
        p2: np.ndarray,
        px_near: float,
        px_far: float,
        tolerance_px: float,
        t_range: tuple[float, float],
    ) -> tuple[int, float, np.ndarray, float] | None:
        """Best segment within ``tolerance_px`` pixels of the ray ``p1 -> p2``.

        The pixel size grows linearly along the ray from ``px_near`` (at ``p1``)
        to ``px_far`` (at ``p2``), in model units. Only ``t`` in ``t_range`` is
        searched. Returns (index, t on the ray, closest point on the segment,
        offset in pixels), the smallest offset winning, then the nearest.
        """
        n = len(self.cell)
        if n == 0:
            return None
        d = p2 - p1
        t0, t1 = t_range
        r_max = tolerance_px * max(px_near + (px_far - px_near) * t1, px_near)
        t0, t1 = _clip_to_box(p1, d, self.lo - r_max, self.lo + self.h * self.dims + r_max, t0, t1)
        if t1 <= t0:
            return None
        stats.grid_queries += 1
        live = self.dims > 1
        step = float(self.h[live].min()) if live.any() else np.inf
        length = (t1 - t0) * float(np.linalg.norm(d))
        steps = int(min(max(np.ceil(length / step), 1), _MAX_RAY_STEPS)) if live.any() else 1
        ts = np.linspace(t0, t1, steps + 1)
        ends = p1 + ts[:, None] * d
        rad = tolerance_px * np.maximum(px_near + (px_far - px_near) * ts, 0.0)
        r = np.maximum(rad[:-1], rad[1:])[:, None]
        blo = self._cell_index(np.minimum(ends[:-1], ends[1:]) - r)
        bhi = self._cell_index(np.maximum(ends[:-1], ends[1:]) + r)
        _, bins = _expand_boxes(blo, bhi, self.dims)
        bins = np.unique(bins)
        starts = self.offsets[bins]
        cand = np.unique(self.items[_gather_runs(starts, self.offsets[bins + 1] - starts)])
        stats.grid_candidates += cand.size
        if cand.size >= n and n >= BRUTE_FORCE_MIN_CELLS:
            stats.brute_force += 1
        if cand.size == 0:
            return None
        u, s = _closest_params(
            p1 + t0 * d, (t1 - t0) * d, self.a[cand], self.b[cand] - self.a[cand]
        )
        t = t0 + u * (t1 - t0)
        on_ray = p1 + t[:, None] * d
        on_seg = self.a[cand] + s[:, None] * (self.b[cand] - self.a[cand])
        gap = np.linalg.norm(on_ray - on_seg, axis=1)
        px = np.maximum(px_near + (px_far - px_near) * t, 1e-300)
        offset = gap / px
        ok = np.flatnonzero(offset <= tolerance_px)
        if ok.size == 0:
            return None
        best = ok[np.lexsort((t[ok], offset[ok]))[0]]
        return int(cand[best]), float(t[best]), on_seg[best], float(offset[best])


def _closest_params(
    p: np.ndarray, d: np.ndarray, a: np.ndarray, e: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Parameters (u on ``p + u d``, s on ``a + s e``), both clamped to [0, 1], of the
    closest points between one segment and many (vectorised segment-segment)."""
    r = p - a
    aa = float(d @ d)
    ee = np.einsum("ij,ij->i", e, e)
    f = np.einsum("ij,ij->i", e, r)
    c = r @ d
    b = e @ d
    eps = 1e-18
    denom = aa * ee - b * b  # aa ee sin^2(angle): ~0 for parallel segments
    skew = denom > 1e-12 * aa * ee
    safe_ee = np.where(ee > eps, ee, 1.0)
    u = np.where(skew, np.clip((b * f - c * ee) / np.where(skew, denom, 1.0), 0, 1), 0.0)
    s = (b * u + f) / safe_ee
    low, high = s < 0, s > 1
    u = np.where(low, np.clip(-c / aa, 0, 1), np.where(high, np.clip((b - c) / aa, 0, 1), u))
    s = np.clip(s, 0, 1)
    point = ee <= eps  # zero-length segment (a vertex)
    u = np.where(point, np.clip(-c / aa, 0, 1), u)
    s = np.where(point, 0.0, s)
    return u, s


def _clip_to_box(
    p: np.ndarray, d: np.ndarray, lo: np.ndarray, hi: np.ndarray, t0: float, t1: float
) -> tuple[float, float]:
    """Slab test: the part [t0, t1] of ``p + t d`` inside the box (t1 <= t0: none)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ta = (lo - p) / d
        tb = (hi - p) / d
    flat = d == 0
    if np.any(flat & ((p < lo) | (p > hi))):
        return 1.0, 0.0
    ta, tb = np.where(flat, -np.inf, ta), np.where(flat, np.inf, tb)
    return max(t0, float(np.minimum(ta, tb).max())), min(t1, float(np.maximum(ta, tb).min()))


# -- the cache -----------------------------------------------------------------------


class CachedLocator:
    """One cache entry: a static cell locator (surfaces) or a segment grid (lines)."""

    __slots__ = (
        "dropped",
        "eps",
        "error",
        "grid",
        "locator",
        "mtime",
        "n_cells",
        "parts",
        "proxy",
        "ready",
    )

    def __init__(self, parts: tuple, mtime: int, n_cells: int) -> None:
        self.parts = parts  # keeps the geometry wrappers alive: ids stay unique
        self.mtime = mtime
        self.n_cells = n_cells
        self.proxy = None
        self.locator: vtkStaticCellLocator | None = None
        self.eps = 0.0  # least locator tolerance, model units (see _locator_hit)
        self.grid: SegmentGrid | None = None
        self.error: BaseException | None = None
        self.dropped = False  # replaced or evicted: a cached lookup must not return it
        self.ready = threading.Event()

    @property
    def usable(self) -> bool:
        return self.ready.is_set() and self.error is None and not self.dropped

    def fresh(self, ds, parts: tuple) -> bool:
        return (
            self.error is None
            and all(a is b for a, b in zip(parts, self.parts, strict=True))
            and ds.GetNumberOfCells() == self.n_cells
            and _mesh_mtime(parts) <= self.mtime
        )


class LocatorCache:
    """Locators keyed by geometry, built ahead of clicks, safe to query from the GUI
    thread while :meth:`prebuild_async` builds in another thread."""

    def __init__(self) -> None:
        self._entries: dict[tuple[int, ...], CachedLocator] = {}
        self._seen: dict[int, tuple[int, CachedLocator]] = {}  # id(ds) -> (MTime, entry)
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, ds) -> CachedLocator | None:
        """The up-to-date entry for ``ds`` (None for an empty data set). Waits for a
        build in progress; builds here only when nothing usable was prebuilt."""
        seen = self._seen.get(id(ds))
        if seen is not None and seen[0] == ds.GetMTime() and seen[1].usable:
            return seen[1]  # same object, untouched since it was checked
        entry, build = self._claim(ds)
        if entry is None:
            return None
        if build:
            stats.click_builds += 1
            self._build(entry, ds, background=False)
        elif not entry.ready.is_set():
            stats.waits += 1
            entry.ready.wait()
            if entry.error is not None or not entry.fresh(ds, _geometry(ds)):
                return self.get(ds)  # the build finished stale or failed: claim a new one
        if entry.usable:
            if len(self._seen) > 256:
                self._seen.clear()
            # An object's MTime stamp is unique over the process, so (id, MTime)
            # cannot match a later object that reuses the id.
            self._seen[id(ds)] = (ds.GetMTime(), entry)
        return entry

    def prebuild(self, datasets: Iterable) -> None:
        """Build every missing or stale locator now, in this thread (holds the GIL)."""
        self.prune()
        for ds in datasets:
            entry, build = self._claim(ds)
            if build:
                self._build(entry, ds, background=False)

    def prebuild_async(self, datasets: Iterable) -> threading.Thread:
        """Build missing or stale locators in a daemon thread, mostly without the GIL
        (see the module docstring). Queries for those data sets wait for their build."""
        self.prune()
        jobs = []
        for ds in datasets:
            entry, build = self._claim(ds)
            if build:
                jobs.append((entry, ds))
        for _entry, ds in jobs:
            # Bounds and array ranges are cached inside the shared points object;
            # fill those caches here so the worker only reads them while the GUI
            # thread renders the same points.
            ds.GetBounds()
            if isinstance(ds, vtkPointSet) and ds.GetPoints() is not None:
                ds.GetPoints().GetBounds()

        def run() -> None:
            failed = None
            for entry, ds in jobs:
                try:
                    self._build(entry, ds, background=True)
                except Exception as exc:  # entry.error is set: a click rebuilds it
                    failed = failed or exc
            if failed is not None:
                raise failed  # reported by threading.excepthook, after every entry is released

        thread = threading.Thread(target=run, name="citytwin-locators", daemon=True)
        thread.start()
        return thread

    def discard(self, ds) -> None:
        """Forget the locator of ``ds``'s geometry (a layer was removed)."""
        with self._lock:
            entry = self._entries.pop(self._key(_geometry(ds)), None)
            if entry is not None:
                entry.dropped = True

    def prune(self) -> None:
        """Drop entries whose geometry nobody else holds any more (layer gone)."""
        with self._lock:
            for key, entry in list(self._entries.items()):
                if not entry.ready.is_set():
                    continue
                owner = entry.parts[0]  # the points (the data set if not poly data)
                # our own references: the Python wrapper we keep, plus the proxy's
                ours = 1 + isinstance(entry.proxy, vtkPolyData)
                if owner is not None and owner.GetReferenceCount() <= ours:
                    del self._entries[key]
                    entry.dropped = True

    def clear(self) -> None:
        with self._lock:
            for entry in self._entries.values():
                entry.dropped = True
            self._entries.clear()
            self._seen.clear()

    # -- internals ---------------------------------------------------------------
    @staticmethod
    def _key(parts: tuple) -> tuple[int, ...]:
        return tuple(id(p) for p in parts)

    def _claim(self, ds) -> tuple[CachedLocator | None, bool]:
        """(entry, True) when the caller must build it; (entry, False) when it is
        built or being built; (None, False) for an empty data set."""
        if ds is None or ds.GetNumberOfCells() == 0:
            return None, False
        parts = _geometry(ds)
        key = self._key(parts)
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and (not entry.ready.is_set() or entry.fresh(ds, parts)):
                return entry, False
            if entry is not None:
                entry.dropped = True
            entry = CachedLocator(parts, _mesh_mtime(parts), ds.GetNumberOfCells())
            self._entries[key] = entry
            return entry, True

    @staticmethod
    def _build(entry: CachedLocator, ds, background: bool) -> None:
        try:
            if is_thin(ds):
                entry.grid = SegmentGrid(ds)
            else:
                proxy = _proxy(ds)
                loc = vtkStaticCellLocator()
                loc.SetDataSet(proxy)
                built = background and _build_without_gil(loc, proxy)
                if not built:
                    loc.BuildLocator()
                loc.UseExistingSearchStructureOn()  # colour edits must not rebuild it
                if isinstance(proxy, vtkPolyData) and proxy.NeedToBuildCells():
                    proxy.BuildCells()  # else the first query pays for it
                b = np.array(proxy.GetBounds())
                entry.eps = 1e-9 * max(float(np.linalg.norm(b[1::2] - b[0::2])), 1e-3)
                entry.proxy, entry.locator = proxy, loc
                stats.background_builds += int(built)
            stats.builds += 1
        except BaseException as exc:  # a waiting click must not hang
            entry.error = exc
            raise
        finally:
            entry.ready.set()


def _build_without_gil(loc: vtkStaticCellLocator, proxy) -> bool:
    """Build ``loc`` inside ``vtkAlgorithm.Update`` (which releases the GIL): a
    one-point probe of ``proxy`` whose FindCell builds the attached locator.
    True when the locator was built that way."""
    if not isinstance(proxy, vtkPointSet):
        return False
    before = loc.GetBuildTime()
    b = proxy.GetBounds()
    points = vtkPoints()
    points.InsertNextPoint((b[0] + b[1]) / 2, (b[2] + b[3]) / 2, (b[4] + b[5]) / 2)
    probe_at = vtkPolyData()
    probe_at.SetPoints(points)
    probe = vtkProbeFilter()
    probe.SetInputData(probe_at)
    probe.SetSourceData(proxy)
    proxy.SetCellLocator(loc)
    try:
        probe.Update()
    finally:
        proxy.SetCellLocator(None)
    return loc.GetBuildTime() > before


default_cache = LocatorCache()


# -- the ray -------------------------------------------------------------------------


def _display_to_world(renderer, x: float, y: float, z: float) -> np.ndarray:
    renderer.SetDisplayPoint(x, y, z)
    renderer.DisplayToWorld()
    w = renderer.GetWorldPoint()
    return np.array(w[:3]) / w[3]


def view_ray(renderer, x: float, y: float) -> tuple[np.ndarray, np.ndarray, float, float]:
    """World ray through display point (x, y) (pixels, origin bottom-left), from
    the near to the far clipping plane, and the world size of one pixel there.

    Works for perspective and parallel cameras alike: the pixel size is the gap
    to the ray through (x + 1, y), which varies linearly along the ray."""
    ray = _Ray(renderer, x, y)
    return ray.near, ray.far, *ray.pixel_sizes()


class _Ray:
    """The pick ray; the neighbouring pixel's ray only when a tolerance needs it."""

    def __init__(self, renderer, x: float, y: float) -> None:
        self.renderer, self.x, self.y = renderer, x, y
        self.near = _display_to_world(renderer, x, y, 0.0)
        self.far = _display_to_world(renderer, x, y, 1.0)
        self._next: tuple[np.ndarray, np.ndarray] | None = None

    def next_pixel(self) -> tuple[np.ndarray, np.ndarray]:
        """Near and far points of the ray through (x + 1, y)."""
        if self._next is None:
            r, x, y = self.renderer, self.x + 1.0, self.y
            self._next = (_display_to_world(r, x, y, 0.0), _display_to_world(r, x, y, 1.0))
        return self._next

    def pixel_sizes(self) -> tuple[float, float]:
        n1, f1 = self.next_pixel()
        return float(np.linalg.norm(n1 - self.near)), float(np.linalg.norm(f1 - self.far))


def _matrix(actor) -> np.ndarray | None:
    """The actor's model -> world matrix, or None when it is the identity."""
    m = actor.GetMatrix()
    if m.IsIdentity():
        return None
    return np.array([[m.GetElement(i, j) for j in range(4)] for i in range(4)])


def _clip_range(mapper, near: np.ndarray, d: np.ndarray) -> tuple[float, float]:
    """Part of the ray ``near + t d`` (t in [0, 1]) kept by the mapper's clipping
    planes: VTK draws where ``n . (x - o) >= 0``. Planes are in world
    coordinates and t is the same in model coordinates (affine maps keep it)."""
    t0, t1 = 0.0, 1.0
    planes = mapper.GetClippingPlanes() if mapper is not None else None
    if planes is None:
        return t0, t1
    for i in range(planes.GetNumberOfItems()):
        plane = planes.GetItem(i)
        n = np.array(plane.GetNormal())
        f0 = float(n @ (near - np.array(plane.GetOrigin())))
        fd = float(n @ d)
        if fd == 0.0:
            if f0 < 0:
                return 1.0, 0.0
        elif fd > 0:
            t0 = max(t0, -f0 / fd)
        else:
            t1 = min(t1, -f0 / fd)
    return t0, t1


def pick_ray(
    renderer,
    x: float,
    y: float,
    entries: Sequence[tuple[Any, Any]],
    tolerance_px: float = 4.0,
    *,
    surface_tolerance_px: float = 0.0,
    cache: LocatorCache | None = None,
) -> PickHit | None:
    """Nearest hit at display point (x, y) (pixels, origin bottom-left) among
    ``entries`` = (actor, dataset) pairs, ``dataset`` being the drawn geometry (or
    any shallow copy sharing its points and cells: cell ids are the same).

    Surfaces are hit exactly (``surface_tolerance_px`` widens the triangles by at
    most that many pixels). Line/point data sets count as hit when the ray passes
    within ``tolerance_px`` pixels; among those the smallest offset wins. Across
    entries the nearest along the ray wins. Hidden actors and anything on the
    clipped-away side of an actor's clipping planes are skipped; actor
    transforms are honoured. Returns None on a miss.
    """
    cache = cache or default_cache
    ray = _Ray(renderer, x, y)
    d_world = ray.far - ray.near
    length = float(np.linalg.norm(d_world))
    if length == 0.0:
        return None
    best: PickHit | None = None
    best_thin: PickHit | None = None
    for actor, ds in entries:
        if not actor.GetVisibility():
            continue
        t0, t1 = _clip_range(actor.GetMapper(), ray.near, d_world)
        if t1 <= t0:
            continue
        entry = cache.get(ds)
        if entry is None:
            continue
        thin = entry.grid is not None
        needs_px = thin or surface_tolerance_px > 0
        m = _matrix(actor)
        if m is None:
            p1, p2 = ray.near, ray.far
            pn, pf = ray.pixel_sizes() if needs_px else (0.0, 0.0)
        else:  # the ray in model coordinates; pixel sizes from transformed neighbours
            inv = np.linalg.inv(m)
            q = np.array([ray.near, ray.far, *ray.next_pixel()]) @ inv[:3, :3].T + inv[:3, 3]
            p1, p2 = q[0], q[1]
            pn, pf = float(np.linalg.norm(q[2] - p1)), float(np.linalg.norm(q[3] - p2))
        if thin:
            found = entry.grid.query(p1, p2, pn, pf, tolerance_px, (t0, t1))
            if found is None:
                continue
            index, t, point, offset = found
            cell_id = int(entry.grid.cell[index])
            hit = PickHit(actor, ds, cell_id, _to_world(m, point), t * length, offset)
            if best_thin is None or (offset, hit.distance) < (
                best_thin.offset_px,
                best_thin.distance,
            ):
                best_thin = hit
            continue
        found = _locator_hit(entry.locator, p1, p2, pn, pf, t0, t1, surface_tolerance_px, entry.eps)
        if found is None:
            continue
        cell_id, t, point = found
        if best is None or t * length < best.distance:
            best = PickHit(actor, ds, cell_id, _to_world(m, point), t * length)
    if best_thin is not None and (best is None or best_thin.distance < best.distance):
        return best_thin
    return best


def _to_world(m: np.ndarray | None, p: np.ndarray) -> np.ndarray:
    p = np.asarray(p, dtype=np.float64)
    return p.copy() if m is None else m[:3, :3] @ p + m[:3, 3]


def _locator_hit(
    loc: vtkStaticCellLocator,
    p1: np.ndarray,
    p2: np.ndarray,
    px_near: float,
    px_far: float,
    t0: float,
    t1: float,
    tolerance_px: float,
    eps: float,
) -> tuple[int, float, np.ndarray] | None:
    """Nearest cell the segment ``p1 + t (p2 - p1)``, t in [t0, t1], meets: (cell, t, point).

    The tolerance is never below ``eps`` (1e-9 of the data set's diagonal): with
    0, vtkStaticCellLocator drops a hit whose rounded intersection lies a hair
    outside the bin being walked, and the city's outermost walls lie exactly on
    the locator's bounds (a click on them fell through to the floor behind).
    """
    d = p2 - p1
    a, b = p1 + t0 * d, p1 + t1 * d
    tol = eps
    if tolerance_px > 0:  # pixels at the near end of the searched span: never wider
        lo = np.array(loc.GetDataSet().GetBounds()).reshape(3, 2)
        ta, _ = _clip_to_box(p1, d, lo[:, 0], lo[:, 1], t0, t1)
        tol = max(eps, tolerance_px * (px_near + (px_far - px_near) * ta))
    sc = _scratch()
    stats.locator_queries += 1
    if not loc.IntersectWithLine(
        tuple(a), tuple(b), tol, sc.t, sc.x, sc.pcoords, sc.sub, sc.cell_id, sc.cell
    ):
        return None
    return int(sc.cell_id), t0 + float(sc.t) * (t1 - t0), np.array(sc.x)


_local = threading.local()


def _scratch():
    """Per-thread output arguments for IntersectWithLine (allocating them per
    click costs more than the query)."""
    sc = getattr(_local, "scratch", None)
    if sc is None:
        sc = _local.scratch = SimpleNamespace()
        sc.t, sc.sub, sc.cell_id = reference(0.0), reference(0), reference(0)
        sc.x, sc.pcoords = [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]
        sc.cell = vtkGenericCell()
    return sc
