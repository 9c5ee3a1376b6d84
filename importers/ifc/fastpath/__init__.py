"""CityTwin's own meshing of the common IFC representations, beside the kernel.

Extrusions of straight-edged profiles (with inner loops), triangulated and
polygonal face sets, mapped items (meshed once, placed per instance) and
box openings straight through box walls are meshed here with numpy, in the
worker process (and its forked helpers, one per core:
:mod:`importers.ifc.fastpath.spread`), while the IfcOpenShell iterator's
threads mesh everything else (:meth:`FastPath.split` tells it which elements are its own before it
starts). Output goes through the same :class:`~importers.ifc.geometry.Collector`
in the kernel's frame and units, so the cache, the chunks and the parent
cannot tell the two apart. Any exception on an element hands just that
element back to the kernel.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from importers.ifc.fastpath.bulk import Bulk
from importers.ifc.fastpath.elements import Context, Recipe, build, check

#: Part of the cache key: bump when the fast path's output changes.
VERSION = 1


def enabled(job: dict[str, Any]) -> bool:
    """Whether this worker job may use the fast path (option ``fastpath``; the
    careful and the no-openings reruns are the kernel's alone)."""
    if not job.get("fastpath", True):
        return False
    return job.get("strategy") != "careful" and not job.get("no_openings")


class FastPath:
    """The fast path for one parsed file.

    Parameters
    ----------
    f : the open ``ifcopenshell.file``.
    unit : metres per project length unit.
    keep_off : GlobalIds that must go to the kernel (test hooks).
    bulk : numbers read from the file's text (:func:`.bulk.read`), or None
        to read every entity through IfcOpenShell.
    """

    def __init__(
        self, f: Any, unit: float, keep_off: set[str] | None = None, bulk: Bulk | None = None
    ) -> None:
        self.ctx = Context(f, float(unit), bulk)
        self.keep_off = keep_off or set()
        self.recipes: list[tuple[Any, Recipe]] = []
        self.failed: dict[int, str] = {}
        #: GlobalIds whose meshing raises (a test hook: the kernel must take them).
        self.fail_on: set[str] = set()
        #: GlobalIds whose batch kills the helper meshing it (a test hook:
        #: the worker must hand that helper's unsent batches to the kernel).
        self.helper_dies_on: set[str] = set()
        #: GlobalIds whose batch makes the helper meshing it take memory and
        #: wait (a test hook: the runner's watchdog must stop that helper).
        self.helper_bloats_on: set[str] = set()
        self._stats: dict[str, Any] = {}
        #: geometry key -> collector row, kept across :meth:`run` calls (the
        #: worker feeds the fast path in batches: instancing spans them).
        self.shared: dict[str, int] = {}

    def forked(self) -> None:
        """Start afresh in a forked helper: the worker's rows, pending recipes
        and counts mean nothing in the helper's own collector."""
        self.shared = {}
        self.recipes = []
        self._stats = {}

    @property
    def stats(self) -> dict[str, Any]:
        """Elements taken, handed back late, left to the kernel; seconds spent
        (summed over processes); ``processes`` that meshed; ``lost``: elements
        of batches a dead helper never sent (meshed by the kernel instead)."""
        return dict(self._stats)

    def merge_stats(self, stats: dict[str, Any]) -> None:
        """Add another process's counts and seconds (a helper's, same file)."""
        for key, value in stats.items():
            if isinstance(value, (int, float)) and key != "geometries":
                self._add(key, value)

    def record(self, key: str, value: Any) -> None:
        self._stats[key] = value

    def _add(self, key: str, value: float) -> None:
        """Statistics add up over batches (:meth:`split` and :meth:`run` may be called often)."""
        self._stats[key] = round(self._stats.get(key, 0) + value, 4)

    def split(self, targets: list[Any]) -> list[Any]:
        """Take the elements the fast path can mesh; return the kernel's."""
        t0 = time.perf_counter()
        before = len(self.recipes)
        kernel = []
        for p in targets:
            try:
                if self.keep_off and str(p.GlobalId) in self.keep_off:
                    raise ValueError("test hook")
                self.recipes.append((p, check(p, self.ctx)))
            except Exception as exc:
                self.failed[p.id()] = f"{type(exc).__name__}: {exc}"
                kernel.append(p)
        self._add("elements", len(self.recipes) - before)
        self._add("kernel", len(kernel))
        self._add("choose_s", time.perf_counter() - t0)
        return kernel

    def run(self, collector: Any, tick: Callable[[], None]) -> list[Any]:
        """Mesh every taken element into ``collector``; the products whose
        meshing failed (for the kernel)."""
        t0 = time.perf_counter()
        late = []
        shared = self.shared
        for product, recipe in self.recipes:
            try:
                if self.fail_on and str(product.GlobalId) in self.fail_on:
                    raise RuntimeError("test hook: fast path error")
                gi = shared.get(recipe.key)
                if gi is None:
                    verts, faces, runs = build(recipe, self.ctx)
                    if len(faces) == 0 or not np.all(np.isfinite(verts)):
                        raise ValueError("no triangles")
                    mats = [
                        -1
                        if s is None
                        else collector.material_row(s.iid, s.name, s.rgb, s.transparency)
                        for s, _ in runs
                    ]
                    fmat = np.repeat(np.array(mats, dtype=np.int32), [n for _, n in runs])
                    gi = shared[recipe.key] = collector.add_mesh(recipe.key, verts, faces, fmat)
                collector.add_instance(recipe.step, gi, recipe.matrix)
            except Exception as exc:
                self.failed[recipe.step] = f"{type(exc).__name__}: {exc}"
                late.append(product)
                continue
            tick()
        self._add("elements", -len(late))
        self._add("late", len(late))
        self._add("mesh_s", time.perf_counter() - t0)
        self._stats["geometries"] = len(shared)
        self.recipes = []
        return late
