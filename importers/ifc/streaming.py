"""In what order and in what batches the worker meshes, so the first elements
reach the screen seconds after parsing (issue 20).

The fast path used to look at every element before meshing any (9 s on the
20 MB tower), so nothing was drawn until then. The worker now looks at and
meshes the elements batch by batch, bottom storey first, sending each batch
as soon as it is meshed: the model grows floor by floor. Batches start small
(the first view is what the user waits for) and double up to
:data:`MAX_BATCH`.

Meshing batch by batch leaves the kernel's elements until the end. That is
cheap when they are few (the kernel then runs on every core for a moment),
but a model that is mostly the kernel's wants the kernel's threads running
while Python meshes: :func:`kernel_heavy` says when to switch back to that.
:func:`precheck` finds the kernel's elements from their item types alone
(1.8 s for the 20 MB tower's 26,114 elements where the fast path's full look
takes 8.5 s, the same 273). Starting the kernel's threads on that set after
the first batch, beside the batches, was tried and measured (bench/RESULTS.md,
issue 20): on two cores it gained nothing on the tower (the pre-check costs
the Python core what the overlap saves, and the kernel's threads compete
with the window's software-GL frames for the cores), so the worker does not
do it; it is the first thing to try again with more cores.

Needs only IfcOpenShell's entity API (worker side).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

FIRST_BATCH = 256
MAX_BATCH = 2048
#: Share of kernel elements, once :data:`MIN_SEEN` elements were looked at,
#: above which the rest goes the concurrent way (kernel threads beside the
#: fast path). A kernel element costs ~10x a fast one.
KERNEL_SHARE = 0.10
MIN_SEEN = 1024
#: Aggregation depth followed up to a storey (a plate in a curtain wall in a storey).
MAX_DEPTH = 8


def batches(n: int, first: int = FIRST_BATCH, most: int = MAX_BATCH) -> Iterator[tuple[int, int]]:
    """``(start, stop)`` slices covering ``range(n)``, doubling from ``first`` to ``most``."""
    start, size = 0, max(1, first)
    while start < n:
        stop = min(n, start + size)
        yield start, stop
        start, size = stop, min(most, size * 2)


def kernel_heavy(n_kernel: int, n_seen: int) -> bool:
    """Whether the rest should run with the kernel's threads beside the fast path."""
    return n_seen >= MIN_SEEN and n_kernel > KERNEL_SHARE * n_seen


def precheck(ctx: Any, products: list[Any], keep_off: set[str] | frozenset = frozenset()
             ) -> tuple[list[Any], list[Any]]:  # fmt: skip
    """``(kernel, maybe_fast)``: the products whose representation the fast
    path cannot take by its item types alone (``ctx``: the fast path's
    :class:`~importers.ifc.fastpath.elements.Context`; ``keep_off``:
    GlobalIds that must go to the kernel), and the rest, order kept.

    Any surprise sends the product to the kernel (it is always right there).
    """
    from importers.ifc.fastpath.elements import _check_items, body

    kernel, fast = [], []
    projected, voids = ctx.projected, ctx.voids
    for p in products:
        try:
            if p.id() in projected or (keep_off and str(p.GlobalId) in keep_off):
                raise ValueError("projection or test hook")
            items = body(p, ctx)[3]
            _check_items(items, ctx)
            openings = voids.get(p.id(), ())
            if openings and len(items) != 1:
                raise ValueError("openings in a multi-item body")
            for op in openings:
                if op.id() in voids or op.id() in projected or len(body(op, ctx)[3]) != 1:
                    raise ValueError("opening the fast path does not cut")
        except Exception:
            kernel.append(p)
        else:
            fast.append(p)
    return kernel, fast


def storey_order(f: Any, products: list[Any]) -> list[Any]:
    """``products`` bottom storey first (by elevation, then file order), file
    order kept within a storey; products in no storey come last.

    One pass over the containment and aggregation relations (~40 ms for
    26,000 elements). On any surprise the input order is returned: order is
    a nicety, never a reason to fail an import.
    """
    try:
        rank = _storey_rank(f)
        if not rank:
            return list(products)
        parent: dict[int, int] = {}
        for rel in f.by_type("IfcRelAggregates"):
            whole = rel[4]  # RelatingObject
            for part in rel[5] or ():  # RelatedObjects
                parent[part.id()] = whole.id()
        where: dict[int, int] = {}
        for rel in f.by_type("IfcRelContainedInSpatialStructure"):
            structure = rel[5]  # RelatingStructure
            if structure is None:
                continue
            level = _level_of(structure.id(), rank, parent)
            if level is None:
                continue
            for element in rel[4] or ():  # RelatedElements
                where[element.id()] = level
        last = len(rank)

        def level(p: Any) -> int:
            pid = p.id()
            for _ in range(MAX_DEPTH):
                if pid in where:
                    return where[pid]
                if pid in rank:
                    return rank[pid]
                pid = parent.get(pid)
                if pid is None:
                    break
            return last

        keyed = [(level(p), i) for i, p in enumerate(products)]
        keyed.sort()
        return [products[i] for _, i in keyed]
    except Exception:
        return list(products)


def _storey_rank(f: Any) -> dict[int, int]:
    """Storey id -> its rank by elevation (storeys without one: by file order, after)."""
    storeys = f.by_type("IfcBuildingStorey")
    keyed = []
    for i, s in enumerate(storeys):
        elevation = s.Elevation
        keyed.append((0 if elevation is not None else 1, float(elevation or 0.0), i, s.id()))
    keyed.sort()
    return {sid: r for r, (_, _, _, sid) in enumerate(keyed)}


def _level_of(sid: int, rank: dict[int, int], parent: dict[int, int]) -> int | None:
    """The storey rank of a spatial element (a space's storey), if any."""
    for _ in range(MAX_DEPTH):
        if sid in rank:
            return rank[sid]
        nxt = parent.get(sid)
        if nxt is None:
            return None
        sid = nxt
    return None
