"""IFC4X3 alignments (road and rail centre lines) and other axis-only products as 3D polylines.

Worker side, :func:`extract` turns every ``IfcAlignment`` (and every other
product whose only shape is an ``Axis`` / ``FootPrint`` curve: a wall axis, a
grid, an annotation axis) into densified polylines in model metres, with the
product's ``ObjectPlacement`` applied, plus one record per product (GlobalId,
name, class, length, start station). Parent side, :func:`build_layer` places
them into the scene exactly as the element layer is placed (the same
:class:`~importers.ifc.georef.Placement` and scene affine) and makes one layer
of ``line`` cells, one feature row per product.

How the curves are sampled. The alignment curves of IFC4X3 (``IfcCompositeCurve``
of ``IfcCurveSegment``, ``IfcGradientCurve``, ``IfcSegmentedReferenceCurve``,
``IfcOffsetCurveByDistances``) map to IfcOpenShell *function items*, which its
``function_item_evaluator`` evaluates at a distance along the curve in a few
microseconds. ``ifcopenshell.geom.create_shape`` on the same curve builds an
OpenCASCADE wire edge by edge, which is quadratic in the number of samples (a
19.7 km alignment at the default 0.5 m step takes 82 s there, 0.16 s here), so
it is only used for the small classic curves (polylines, trimmed circles,
curve sets). The step is chosen per curve from its length, from
:data:`MIN_STEP_M` up, so that a curve has at most about :data:`MAX_POINTS`
vertices: for a 20 km line that is a 7 m step, about 2 cm of chord error on a
300 m radius.

A curve the kernel evaluates with a jump (segments that do not meet, a
mis-encoded segment length) is split at the jump and reported, rather than
drawn with a straight line across the gap.

Everything crossing the process boundary is plain, JSON-able data (the cache
stores ``meta`` as JSON), see :func:`extract`. Nothing here imports Qt;
pyvista is imported by :func:`build_layer` only.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import numpy as np

#: Key of the alignment record in a payload's ``meta``.
META_KEY = "alignments"
#: Version of the record's layout (bump on change; readers skip other versions).
FORMAT = 1
#: Target number of vertices per curve (long curves get a longer step).
MAX_POINTS = 3000
#: Shortest and longest sampling step along a curve (metres).
MIN_STEP_M = 1.0
MAX_STEP_M = 25.0
#: A step longer than the parameter step by this much (plus 50 %) is a gap (metres).
GAP_TOLERANCE_M = 0.01
#: Coordinates are rounded to this many decimals of a metre (0.1 mm) for the meta record.
DECIMALS = 4
#: Curve and layout lengths further apart than this (metres and fraction) are reported.
LENGTH_TOLERANCE_M = 0.5
LENGTH_TOLERANCE = 0.001
#: Wall-clock budget for all curves of one file (seconds); the rest is skipped with a warning.
TIME_BUDGET_S = 60.0

#: Parts of an alignment: drawn through their alignment, never on their own.
ALIGNMENT_PARTS = (
    "IfcAlignmentSegment",
    "IfcAlignmentHorizontal",
    "IfcAlignmentVertical",
    "IfcAlignmentCant",
    "IfcReferent",
)
#: Representation identifiers that hold a centre line, best first.
CURVE_REPRESENTATIONS = ("axis", "footprint")

#: Layer colours by class: alignments in a strong red-orange that reads against
#: buildings, ground and sky; other axes in a quiet blue.
CLASS_COLORS: dict[str, tuple[int, int, int]] = {
    "IfcAlignment": (235, 70, 35),
    "IfcGrid": (70, 110, 190),
}
LINE_WIDTH_PX = 4.0


# -- worker side ------------------------------------------------------------------


def extract(
    f: Any,
    unit_m: float | None = None,
    budget_s: float = TIME_BUDGET_S,
    shapeless: list[Any] | None = None,
) -> dict:
    """Centre lines of the alignments (and other axis-only products) of an open file.

    Parameters
    ----------
    f : ifcopenshell.file
    unit_m : metres per project length unit (read from the file when None); the
        placements are scaled by it, the kernel's curves are in metres already.
    budget_s : wall-clock budget; curves not reached in time are reported.
    shapeless : the products the worker already found to have no body or box
        (saves a second scan of every product); None: scan here.

    Returns
    -------
    dict, JSON-able (lists, str, float, int, None), with keys

    ``format`` : :data:`FORMAT`
    ``points`` : flat list of 3 * n floats, model metres (placement applied)
    ``chain_start`` : k + 1 ints, first vertex of each polyline, then n
    ``chain_row`` : k ints, record row of each polyline
    ``records`` : columns, one entry per drawn product: ``step`` (STEP id),
        ``guid``, ``name``, ``cls``, ``predefined_type``, ``representation``
        (``Axis`` or ``FootPrint``), ``curve`` (IFC class of the curve),
        ``dimensions`` (3, or 2 for a plan-only curve drawn at its placement's
        height), ``length`` (metres along the curve in plan, as the kernel
        parametrises it), ``length_3d`` (metres, of the drawn polyline),
        ``start_station`` (metres, or None), ``layout_length`` (metres, of the
        business-logic layout, or None), ``gaps`` (jumps the curve was split at)
    ``warnings`` : one line per product that could not be drawn, or was drawn
        with gaps, naming its GlobalId and the reason
    ``seconds`` : time spent

    Never raises for a broken product; a file that cannot be listed at all
    gives an empty record with a warning.
    """
    t0 = time.perf_counter()
    out_points: list[np.ndarray] = []
    chain_len: list[int] = []
    chain_row: list[int] = []
    records: dict[str, list] = {k: [] for k in _RECORD_KEYS}
    warnings: list[str] = []
    try:
        if unit_m is None:
            from importers.ifc.georef import project_unit

            unit_m = project_unit(f)[0]
        products = _candidates(f, shapeless)
    except Exception as exc:  # a file the listing itself fails on
        products = []
        warnings.append(f"alignments could not be listed: {_one_line(exc)}")
    for k, product in enumerate(products):
        if time.perf_counter() - t0 > budget_s:
            left = len(products) - k
            warnings.append(
                f"alignments: {left} centre lines not drawn: over the {budget_s:g} s budget"
            )
            break
        try:
            got = _product_lines(product, float(unit_m))
        except Exception as exc:
            got = _Failure(_one_line(exc))
        if isinstance(got, _Failure):
            if got.reason:
                warnings.append(f"{_label(product)}: centre line not drawn: {got.reason}")
            continue
        chains, rec, notes = got
        row = len(records["guid"])
        for key in _RECORD_KEYS:
            records[key].append(rec.get(key))
        for chain in chains:
            out_points.append(chain)
            chain_len.append(len(chain))
            chain_row.append(row)
        warnings.extend(f"{_label(product)}: {n}" for n in notes)
    points = np.concatenate(out_points) if out_points else np.empty((0, 3))
    starts = np.concatenate([[0], np.cumsum(chain_len, dtype=np.int64)])
    return {
        "format": FORMAT,
        "points": np.round(points, DECIMALS).ravel().tolist(),
        "chain_start": starts.tolist(),
        "chain_row": chain_row,
        "records": records,
        "warnings": warnings,
        "seconds": round(time.perf_counter() - t0, 4),
    }


_RECORD_KEYS = (
    "step",
    "guid",
    "name",
    "cls",
    "predefined_type",
    "representation",
    "curve",
    "dimensions",
    "length",
    "length_3d",
    "start_station",
    "layout_length",
    "gaps",
)


class _Failure:
    """Why a product gives no line ('' : not a centre-line product, say nothing)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason


def _one_line(exc: BaseException) -> str:
    from twin.errors import first_line

    return first_line(exc, with_type=True, limit=200)


def _label(product: Any) -> str:
    try:
        name = product.Name
        guid = product.GlobalId
        cls = product.is_a()
    except Exception:
        return f"#{product.id()}"
    return f"{cls} {guid}" + (f" {name!r}" if name else "")


def _candidates(f: Any, shapeless: list[Any] | None = None) -> list[Any]:
    """Alignments, then other products with an axis or footprint curve and no
    body or box (the element layer draws those), alignment parts excluded, and
    annotations too (drafting lines, not centre lines)."""
    from importers.ifc.selection import classify

    try:
        alignments = list(f.by_type("IfcAlignment"))
    except RuntimeError:  # not in this schema
        alignments = []
    seen = {a.id() for a in alignments}
    if shapeless is None:
        shapeless = [
            p
            for p in f.by_type("IfcProduct")
            if p.Representation is not None and classify(p) == "none"
        ]
    others = []
    for p in shapeless:
        if p.id() in seen or p.is_a("IfcAnnotation") or p.is_a("IfcOpeningElement"):
            continue
        if any(p.is_a(c) for c in ALIGNMENT_PARTS):
            continue
        reps = p.Representation.Representations or ()
        if any(_rid(r) in CURVE_REPRESENTATIONS for r in reps):
            others.append(p)
    return alignments + others


def _rid(rep: Any) -> str:
    return (rep.RepresentationIdentifier or "").strip().lower()


def _curve_representation(product: Any) -> tuple[Any, list[Any]] | None:
    """The best centre-line representation and its curve items: ``Axis`` before
    ``FootPrint``, 3D before 2D."""
    rep_holder = product.Representation
    if rep_holder is None:
        return None
    best = None
    for rep in rep_holder.Representations or ():
        rid = _rid(rep)
        if rid not in CURVE_REPRESENTATIONS:
            continue
        items = [
            i
            for i in rep.Items or ()
            if i.is_a("IfcCurve") or i.is_a("IfcGeometricCurveSet") or i.is_a("IfcGeometricSet")
        ]
        if not items:
            continue
        is_3d = (rep.RepresentationType or "").lower() == "curve3d" or any(
            i.is_a("IfcGradientCurve") or i.is_a("IfcSegmentedReferenceCurve") for i in items
        )
        rank = (CURVE_REPRESENTATIONS.index(rid), 0 if is_3d else 1)
        if best is None or rank < best[0]:
            best = (rank, rep, items)
    return None if best is None else (best[1], best[2])


def _product_lines(product: Any, unit_m: float):
    """(chains in model metres, record, notes) or a :class:`_Failure`."""
    import ifcopenshell.geom

    from importers.ifc.georef import _matrix

    is_alignment = product.is_a("IfcAlignment")
    chosen = _curve_representation(product)
    if chosen is None:
        if not is_alignment:
            return _Failure("")
        return _Failure(
            "it has no Axis or FootPrint curve representation (only its business-logic "
            "layout, which is not evaluated)"
        )
    rep, items = chosen
    placement = product.ObjectPlacement
    if placement is None:
        matrix = np.eye(4)
    else:
        m = _matrix(placement, unit_m)
        if m is None:
            return _Failure("its ObjectPlacement cannot be resolved (cyclic or broken)")
        matrix = np.asarray(m, dtype=np.float64)
    settings = ifcopenshell.geom.settings()
    chains: list[np.ndarray] = []
    length = 0.0
    gaps: list[tuple[float, float]] = []
    dims = 2
    for item in items:
        got = _sample(settings, item)
        chains.extend(got[0])
        length += got[1]
        gaps.extend(got[2])
        dims = max(dims, got[3])
    chains = [c for c in chains if len(c) >= 2 and np.all(np.isfinite(c))]
    if not chains:
        return _Failure(f"its {rep.RepresentationIdentifier} curve gave no finite vertices")
    placed = [c @ matrix[:3, :3].T + matrix[:3, 3] for c in chains]
    length_3d = float(sum(np.linalg.norm(np.diff(c, axis=0), axis=1).sum() for c in placed))
    curve_cls = items[0].is_a() if len(items) == 1 else "+".join(sorted({i.is_a() for i in items}))
    rec = {
        "step": product.id(),
        "guid": product.GlobalId or "",
        "name": product.Name or "",
        "cls": product.is_a(),
        "predefined_type": str(getattr(product, "PredefinedType", None) or ""),
        "representation": rep.RepresentationIdentifier or "",
        "curve": curve_cls,
        "dimensions": dims,
        "length": round(length, 4),
        "length_3d": round(length_3d, 4),
        "start_station": _start_station(product, unit_m) if is_alignment else None,
        "layout_length": None,
        "gaps": len(gaps),
    }
    notes = []
    if is_alignment:
        vertical_first = dims == 3 and curve_cls in (
            "IfcGradientCurve",
            "IfcSegmentedReferenceCurve",
        )
        layout, which = _layout_length(product, unit_m, vertical_first)
        if layout is not None:
            rec["layout_length"] = round(layout, 4)
            if abs(length - layout) > max(LENGTH_TOLERANCE_M, LENGTH_TOLERANCE * layout):
                notes.append(
                    f"its {rep.RepresentationIdentifier} curve is {length:.2f} m long as "
                    f"evaluated, its {which} layout {layout:.2f} m"
                )
    if gaps:
        big = max(gaps, key=lambda g: g[1])
        notes.append(
            f"its {rep.RepresentationIdentifier} curve is not continuous as evaluated: "
            f"{len(gaps)} gap{'s' if len(gaps) > 1 else ''}, the largest {big[1]:.3g} m at "
            f"{big[0]:.1f} m along; drawn in {len(placed)} pieces"
        )
    return placed, rec, notes


def _sample(settings: Any, item: Any) -> tuple[list[np.ndarray], float, list, int]:
    """One curve item -> (chains (n, 3) in item coordinates, metres; plan length;
    gaps as (distance along, size); dimensions)."""
    import ifcopenshell.ifcopenshell_wrapper as wrapper

    fn = None
    if item.is_a("IfcBoundedCurve") or item.is_a("IfcOffsetCurveByDistances"):
        fn = wrapper.map_shape(settings, item)
    if fn is not None and isinstance(fn, wrapper.function_item):
        return _sample_function(fn, item)
    return _sample_kernel(settings, item)


def _sample_function(fn: Any, item: Any) -> tuple[list[np.ndarray], float, list, int]:
    import ifcopenshell.geom
    import ifcopenshell.ifcopenshell_wrapper as wrapper

    start, end = float(fn.start()), float(fn.end())
    length = float(fn.length())
    if not (math.isfinite(start) and math.isfinite(end) and math.isfinite(length)):
        raise ValueError("the curve's length is not finite")
    if length <= 0:
        raise ValueError("the curve has zero length")
    step = min(max(length / MAX_POINTS, MIN_STEP_M), MAX_STEP_M)
    settings = ifcopenshell.geom.settings()
    settings.set("function-step-type", 0)  # the parameter is the largest step
    settings.set("function-step-param", float(step))
    ev = wrapper.function_item_evaluator(settings, fn)
    us = np.asarray(ev.evaluation_points(), dtype=np.float64)
    if len(us) < 2 or len(us) > 20 * MAX_POINTS or not np.all(np.isfinite(us)):
        us = np.linspace(start, end, math.ceil(length / step) + 1)
    # one native call per sample (a few microseconds each): the batch form of
    # evaluate returns a taxonomy object that Python cannot read
    mats = np.asarray([ev.evaluate(float(u)) for u in us], dtype=np.float64)
    pts = mats[:, :3, 3]
    ok = np.all(np.isfinite(pts), axis=1)
    pts, us = pts[ok], us[ok]
    dims = 3 if item.is_a("IfcGradientCurve") or item.is_a("IfcSegmentedReferenceCurve") else 2
    if dims == 2 and len(pts) and np.any(np.abs(pts[:, 2]) > 1e-9):
        dims = 3
    chains, gaps = _split_at_gaps(pts, us)
    return chains, length, gaps, dims


def _split_at_gaps(pts: np.ndarray, us: np.ndarray) -> tuple[list[np.ndarray], list]:
    """Split where consecutive samples are much further apart than their
    parameter step (the curve jumps there)."""
    if len(pts) < 2:
        return [pts], []
    d = np.linalg.norm(np.diff(pts, axis=0), axis=1)
    du = np.abs(np.diff(us))
    jump = d > 1.5 * du + GAP_TOLERANCE_M
    cut = np.flatnonzero(jump) + 1
    gaps = [(float(us[i - 1] - us[0]), float(d[i - 1])) for i in cut]
    return np.split(pts, cut), gaps


def _sample_kernel(settings: Any, item: Any) -> tuple[list[np.ndarray], float, list, int]:
    """Classic curves through the geometry kernel: vertices and edges -> chains."""
    import ifcopenshell.geom

    shape = ifcopenshell.geom.create_shape(settings, item)
    verts = np.asarray(shape.verts, dtype=np.float64).reshape(-1, 3)
    edges = np.asarray(shape.edges, dtype=np.int64).reshape(-1, 2)
    if len(edges) == 0:
        raise ValueError(f"the geometry kernel gave no edges for its {item.is_a()}")
    chains = edges_to_chains(verts, edges)
    length = float(sum(np.linalg.norm(np.diff(c[:, :2], axis=0), axis=1).sum() for c in chains))
    dims = 3 if np.any(np.abs(verts[:, 2]) > 1e-9) else 2
    return chains, length, [], dims


def edges_to_chains(verts: np.ndarray, edges: np.ndarray) -> list[np.ndarray]:
    """Consecutive edges sharing a vertex -> polylines (a new one wherever an
    edge does not start where the previous ended)."""
    brk = np.ones(len(edges), dtype=bool)
    brk[1:] = edges[1:, 0] != edges[:-1, 1]
    starts = np.flatnonzero(brk)
    index = np.insert(edges[:, 1], starts, edges[starts, 0])
    bounds = starts + np.arange(len(starts))
    return np.split(verts[index], bounds[1:])


def _start_station(alignment: Any, unit_m: float) -> float | None:
    """Pset_Stationing.Station of the first nested IfcReferent that has one
    (the alignment's start station), from the parent alignment for a child
    one; metres, or None when the file does not say."""
    import ifcopenshell.util.element as element_util

    cur = alignment
    for _ in range(8):
        for rel in getattr(cur, "IsNestedBy", ()) or ():
            for obj in rel.RelatedObjects or ():
                if obj.is_a("IfcReferent"):
                    value = element_util.get_pset(obj, "Pset_Stationing", "Station")
                    if value is not None:
                        value = float(value) * unit_m
                        return value if math.isfinite(value) else None
        parent = _parent_alignment(cur)
        if parent is None:
            return None
        cur = parent
    return None


def _nested(obj: Any) -> list[Any]:
    return [o for rel in getattr(obj, "IsNestedBy", ()) or () for o in rel.RelatedObjects or ()]


def _parent_alignment(alignment: Any) -> Any | None:
    for rel in getattr(alignment, "Decomposes", ()) or ():
        if rel.RelatingObject is not None and rel.RelatingObject.is_a("IfcAlignment"):
            return rel.RelatingObject
    return None


def _layout_length(alignment: Any, unit_m: float, vertical_first: bool) -> tuple[float | None, str]:
    """Length of the alignment's business-logic layout, metres: the sum of its
    horizontal segments' SegmentLength (a child alignment's from its parent),
    or for a curve with heights the vertical segments' HorizontalLength, which
    bound a gradient curve. ``(None, "")`` when the file has no layout."""
    layouts = _nested(alignment)
    vertical = [o for o in layouts if o.is_a("IfcAlignmentVertical")]
    horizontal = [o for o in layouts if o.is_a("IfcAlignmentHorizontal")]
    if not horizontal:
        parent = _parent_alignment(alignment)
        if parent is not None:
            horizontal = [o for o in _nested(parent) if o.is_a("IfcAlignmentHorizontal")]
    order = (("vertical", vertical), ("horizontal", horizontal))
    if not vertical_first:
        order = order[::-1]
    for which, found in order:
        if not found:
            continue
        attr = "HorizontalLength" if which == "vertical" else "SegmentLength"
        total = 0.0
        for seg in _nested(found[0]):
            params = seg.DesignParameters if seg.is_a("IfcAlignmentSegment") else None
            value = getattr(params, attr, None) if params is not None else None
            if value is not None:
                total += abs(float(value))
        if total > 0 and math.isfinite(total):
            return total * unit_m, which
    return None, ""


# -- parent side ------------------------------------------------------------------


def arrays(data: dict | None) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(points (n, 3) float64 model metres, chain_start (k + 1,) int64, chain_row
    (k,) int64) of an :func:`extract` record, or None when it is missing, of
    another format, or inconsistent (a damaged cache entry)."""
    if not data or data.get("format") != FORMAT:
        return None
    try:
        points = np.asarray(data["points"], dtype=np.float64).reshape(-1, 3)
        starts = np.asarray(data["chain_start"], dtype=np.int64).reshape(-1)
        rows = np.asarray(data["chain_row"], dtype=np.int64).reshape(-1)
        n_rec = len(data["records"]["guid"])
    except (KeyError, TypeError, ValueError):
        return None
    if len(starts) != len(rows) + 1 or starts[0] != 0 or starts[-1] != len(points):
        return None
    if len(rows) and (np.any(np.diff(starts) < 2) or rows.min() < 0 or rows.max() >= n_rec):
        return None
    return points, starts, rows


def model_bbox(data: dict | None) -> np.ndarray | None:
    """(2, 3) min/max corner of the centre lines, model metres (None: none)."""
    got = arrays(data)
    if got is None or len(got[0]) == 0:
        return None
    pts = got[0]
    return np.stack([pts.min(axis=0), pts.max(axis=0)])


def build_layer(
    path: Path,
    stem: str,
    data: dict | None,
    placement: Any,
    to_local: np.ndarray | None,
    scene: Any,
):
    """The centre lines as one layer of ``line`` cells in scene-local metres,
    placed like the element layer (``placement`` / ``to_local`` from
    :func:`importers.ifc.layers.build`), or None when there are none.

    One polyline cell per piece, the ``feature`` cell array naming the record
    row, so picking a line gives its alignment's GlobalId.
    """
    import pyvista as pv

    from importers.ifc.placing import place_points
    from twin.features import FeatureTable, feature_bounds
    from twin.layer import FEATURE_ARRAY, Layer
    from twin.style import Style

    got = arrays(data)
    if got is None or len(got[1]) < 2:
        return None
    points, starts, chain_row = got
    rec = data["records"]
    n = len(rec["guid"])
    local, reprojection = place_points(points, placement, to_local, scene)
    lengths = np.diff(starts)
    cells = np.insert(np.arange(len(local), dtype=np.int64), starts[:-1], lengths)
    mesh = pv.PolyData(local.astype(np.float32), lines=cells)
    mesh.cell_data[FEATURE_ARRAY] = chain_row.astype(np.int32)
    point_row = np.repeat(chain_row, lengths)
    bounds = feature_bounds(local, point_row, n)

    def col(key: str, kind=object) -> np.ndarray:
        values = rec.get(key) or [None] * n
        if kind is object:
            return np.asarray(["" if v is None else str(v) for v in values], dtype=object)
        return np.asarray([np.nan if v is None else v for v in values], dtype=np.float64)

    attrs = {
        "predefined_type": col("predefined_type"),
        "representation": col("representation"),
        "curve": col("curve"),
        "dimensions": col("dimensions", float),
        "length": col("length", float),
        "length_3d": col("length_3d", float),
        "start_station": col("start_station", float),
        "layout_length": col("layout_length", float),
        "gaps": col("gaps", float),
        "step_id": col("step", float),
    }
    classes = col("cls")
    table = FeatureTable(col("guid"), classes, col("name"), bounds, attrs)
    n_alignments = int(np.sum(classes == "IfcAlignment"))
    what = {n: "alignments", 0: "axes"}.get(n_alignments, "alignments and axes")
    crs = placement.declared or placement.crs
    return Layer(
        name=f"{stem} ({what})",
        mesh=mesh,
        features=table,
        kind="alignments",
        style=Style(mode="class", class_colors=dict(CLASS_COLORS), line_width=LINE_WIDTH_PX),
        warnings=list(data.get("warnings") or []),
        source=Path(path),
        crs=crs,
        info={
            "centre_lines": n,
            "alignments": n_alignments,
            "polylines": len(chain_row),
            "vertices": len(local),
            "reprojection": reprojection,
            "extract_seconds": data.get("seconds"),
        },
    )
