"""One product -> its triangles in the product's frame, or Unsupported.

:func:`check` is the cheap look taken before the kernel starts (which
representation, which item types, the opening boolean proved), so the
kernel is told up front which elements are its own; :func:`build` does the
numpy work afterwards, while the kernel's threads run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from importers.ifc.fastpath import mesh, openings
from importers.ifc.fastpath.bulk import Bulk
from importers.ifc.fastpath.placement import Placements, Unsupported, operator
from importers.ifc.fastpath.profiles import profile_loops
from importers.ifc.fastpath.resolved import Resolved, resolve
from importers.ifc.fastpath.styles import Style, Styles

ITEMS = {"IfcExtrudedAreaSolid", "IfcTriangulatedFaceSet", "IfcPolygonalFaceSet", "IfcMappedItem"}
CURVES = {"IfcPolyline", "IfcIndexedPolyCurve"}
PROFILES = {
    "IfcRectangleProfileDef",
    "IfcArbitraryClosedProfileDef",
    "IfcArbitraryProfileDefWithVoids",
}


#: Context types whose Body the kernel meshes (its own default list).
MODEL_CONTEXTS = {"model", "design", "model view", "detail view"}


@dataclass
class Recipe:
    """What :func:`build` needs for one product."""

    step: int
    key: str  # geometry sharing key (same key: same triangles)
    items: list[Any]
    matrix: np.ndarray  # geometry frame -> model metres (the kernel's placement)
    item_frame: np.ndarray = field(default_factory=lambda: np.eye(4))
    cut: tuple | None = None  # openings.cut result


class Context:
    """Per-file state shared by all products. ``bulk``: numbers read from the
    file's text (:mod:`.bulk`); what they cover is not read entity by entity."""

    def __init__(self, f: Any, unit: float, bulk: Bulk | None = None) -> None:
        self.unit = unit
        self.axes = Placements(unit)
        self.loops: dict[int, list[np.ndarray]] = {}
        self.known: Resolved | None = None
        self.extrusion_rows: dict[int, int] = {}
        if bulk is not None:
            self.known = resolve(bulk, unit)
            self.axes.rows, self.axes.table = self.known.placement_rows, self.known.placements
            self.extrusion_rows = self.known.extrusion_rows
        self.contexts: dict[int, bool] = {}
        #: True when materials carry styles: unstyled items would take the
        #: material's colour in the kernel, so they are left to it.
        try:
            self.needs_styles = bool(f.by_type("IfcMaterialDefinitionRepresentation"))
        except RuntimeError:
            self.needs_styles = False
        self.styled = Styles(f, bulk.styled if bulk is not None else None)
        self.voids: dict[int, list[Any]] = {}
        for rel in f.by_type("IfcRelVoidsElement"):
            self.voids.setdefault(rel[4].id(), []).append(rel[5])  # host, opening
        self.projected = {rel[4].id() for rel in _by_type(f, "IfcRelProjectsElement")}

    def style(self, item: Any) -> Style | None:
        return self.styled.of(item.id())

    def extrusion(self, item_id: int) -> tuple[list[np.ndarray], np.ndarray, np.ndarray, float]:
        """Loops, position, unit direction and depth of an extrusion of a
        rectangle read in bulk (its id must be in ``extrusion_rows``)."""
        k, row = self.known, self.extrusion_rows[item_id]
        assert k is not None
        return [k.loops[row]], k.frames[row], k.directions[row], float(k.depths[row])


def _by_type(f: Any, name: str) -> list[Any]:
    try:
        return f.by_type(name)
    except RuntimeError:  # not in this schema
        return []


def body(product: Any, ctx: Context) -> Any:
    """The one 'Body' shape representation in a model context."""
    pds = product[6]  # Representation
    if pds is None:
        raise Unsupported("no representation")
    reps = [r for r in pds[2] if r[1] == "Body"]  # Representations, RepresentationIdentifier
    if len(reps) != 1:
        raise Unsupported("not exactly one Body representation")
    if not _is_model(reps[0][0], ctx):  # ContextOfItems
        raise Unsupported("not a model context")
    return reps[0]


def _is_model(context: Any, state: Context) -> bool:
    """Whether a representation context is one whose Body the kernel meshes."""
    key = context.id() if context is not None else 0
    known = state.contexts.get(key)
    if known is None:
        c = context
        while c is not None and c.is_a("IfcGeometricRepresentationSubContext"):
            c = c.ParentContext
        known = c is not None and str(c.ContextType).lower() in MODEL_CONTEXTS
        state.contexts[key] = known
    return known


def _check_items(items: Any, ctx: Context, depth: int = 0) -> None:
    if not items:
        raise Unsupported("no items")
    for it in items:
        kind = it.is_a()
        if kind not in ITEMS:
            raise Unsupported(kind)
        if kind == "IfcMappedItem":
            if depth > 0 or it.id() in ctx.styled:
                raise Unsupported("nested or styled mapped item")
            target = it.MappingTarget
            if target is not None and target.is_a() != "IfcCartesianTransformationOperator3D":
                raise Unsupported(target.is_a())
            _check_items(it.MappingSource.MappedRepresentation.Items, ctx, depth + 1)
            continue
        style = ctx.style(it)
        if style is None and ctx.needs_styles:
            raise Unsupported("colour may come from a material")
        if kind == "IfcExtrudedAreaSolid" and it.id() not in ctx.extrusion_rows:
            prof = it[0]  # SweptArea
            if prof.is_a() not in PROFILES:
                raise Unsupported(prof.is_a())
            if prof.is_a() != "IfcRectangleProfileDef":
                curves = [prof[2], *(prof[3] if len(prof) > 3 else ())]  # Outer, InnerCurves
                if any(c.is_a() not in CURVES for c in curves):
                    raise Unsupported("curved profile")
                for c in curves:
                    segments = c[1] if c.is_a() == "IfcIndexedPolyCurve" else None
                    if segments and any(seg.is_a() != "IfcLineIndex" for seg in segments):
                        raise Unsupported("arc segment")
        elif kind == "IfcPolygonalFaceSet" and any(
            fc.is_a() != "IfcIndexedPolygonalFace" for fc in it.Faces
        ):
            raise Unsupported("polygonal face with voids")


def check(product: Any, ctx: Context) -> Recipe:
    """A recipe for ``product``, or Unsupported (the kernel then takes it)."""
    step = product.id()
    if step in ctx.projected:
        raise Unsupported("projection")
    rep = body(product, ctx)
    items = list(rep[3])  # Items
    _check_items(items, ctx)
    matrix = ctx.axes.of(product[5])  # ObjectPlacement
    voids = ctx.voids.get(step, ())
    if voids:
        if len(items) != 1:
            raise Unsupported("openings in a multi-item body")
        host = openings.box_of(items[0], ctx.unit, ctx.axes)
        inv = np.linalg.inv(matrix)
        boxes = []
        for op in voids:
            if op.id() in ctx.voids or op.id() in ctx.projected:
                raise Unsupported("opening with its own openings")
            op_items = body(op, ctx)[3]
            if len(op_items) != 1:
                raise Unsupported("opening with several items")
            frame, lo, hi = openings.box_of(op_items[0], ctx.unit, ctx.axes)
            boxes.append((inv @ ctx.axes.of(op.ObjectPlacement) @ frame, lo, hi))
        plan = openings.cut(host, boxes)
        return Recipe(step, f"fp-void-{step}", items, matrix, cut=plan)
    if len(items) == 1 and items[0].is_a() == "IfcMappedItem":
        it = items[0]
        src = it.MappingSource
        target = operator(it.MappingTarget, ctx.unit) @ ctx.axes.axis(src.MappingOrigin)
        return Recipe(
            step, f"fp-map-{src.id()}", list(src.MappedRepresentation.Items), matrix @ target
        )
    return Recipe(step, f"fp-rep-{rep.id()}", items, matrix)


def _item_mesh(item: Any, ctx: Context) -> tuple[np.ndarray, np.ndarray]:
    kind = item.is_a()
    unit = ctx.unit
    if kind == "IfcExtrudedAreaSolid":
        iid = item.id()
        if iid in ctx.extrusion_rows:
            loops, frame, direction, depth = ctx.extrusion(iid)
            verts, faces = mesh.extrude(loops, direction, depth)
            return mesh.transformed(verts, frame), faces
        prof = item[0]
        loops = ctx.loops.get(prof.id())
        if loops is None:
            loops = ctx.loops[prof.id()] = profile_loops(prof, unit)
        # SweptArea, Position, ExtrudedDirection, Depth
        d = np.array(item[2][0], dtype=np.float64)
        n = float(np.sqrt(d @ d))
        if len(d) != 3 or not n > 0:
            raise Unsupported("bad extrusion direction")
        verts, faces = mesh.extrude(loops, d / n, float(item[3]) * unit)
        return mesh.transformed(verts, ctx.axes.axis(item[1])), faces
    if kind in ("IfcTriangulatedFaceSet", "IfcPolygonalFaceSet"):
        coords = np.array(item.Coordinates.CoordList, dtype=np.float64) * unit
        if coords.ndim != 2 or coords.shape[1] != 3 or not np.all(np.isfinite(coords)):
            raise Unsupported("bad coordinates")
        pn = getattr(item, "PnIndex", None)
        remap = np.array(pn, dtype=np.int64) - 1 if pn else None
        if kind == "IfcTriangulatedFaceSet":
            index = np.array(item.CoordIndex, dtype=np.int64) - 1
            if remap is not None:
                index = remap[index]
            return mesh.triangulated(coords, index)
        faces = [np.array(fc.CoordIndex, dtype=np.int64) - 1 for fc in item.Faces]
        if remap is not None:
            faces = [remap[fc] for fc in faces]
        return mesh.polygons(coords, faces)
    if kind == "IfcMappedItem":
        src = item.MappingSource
        m = operator(item.MappingTarget, unit) @ ctx.axes.axis(src.MappingOrigin)
        parts = [_item_mesh(i, ctx) for i in src.MappedRepresentation.Items]
        verts, faces = _merge(parts)
        return mesh.transformed(verts, m), faces
    raise Unsupported(kind)


def _merge(parts: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    if len(parts) == 1:
        return parts[0]
    offsets = np.cumsum([0] + [len(v) for v, _ in parts[:-1]])
    return (
        np.concatenate([v for v, _ in parts]),
        np.concatenate([f + o for (_, f), o in zip(parts, offsets, strict=True)]),
    )


def _styles_of(item: Any, ctx: Context) -> list[Style | None]:
    if item.is_a() == "IfcMappedItem":
        return [
            s for i in item.MappingSource.MappedRepresentation.Items for s in _styles_of(i, ctx)
        ]
    return [ctx.style(item)]


def build(
    recipe: Recipe, ctx: Context
) -> tuple[np.ndarray, np.ndarray, list[tuple[Style | None, int]]]:
    """Vertices, triangles and (style, triangle count) runs in the geometry frame."""
    if recipe.cut is not None:
        frame, loops, axis, _, length = recipe.cut
        verts, faces = mesh.extrude(loops, axis, length)
        verts = mesh.transformed(verts, frame)
        return verts, faces, [(ctx.style(recipe.items[0]), len(faces))]
    parts = []
    runs: list[tuple[Style | None, int]] = []
    for item in recipe.items:
        v, f = _item_mesh(item, ctx)
        styles = _styles_of(item, ctx)
        if len(set(styles)) != 1:
            raise Unsupported("mapped items of several styles")
        parts.append((v, f))
        runs.append((styles[0], len(f)))
    verts, faces = _merge(parts)
    return verts, faces, runs
