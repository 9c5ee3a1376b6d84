"""Which products are table rows, and which of them go to the geometry kernel.

The geometry kernel is only worth calling on products with a surface
representation: an ``Axis`` curve or a 2D annotation yields no triangles, and
handing the kernel every product (its default filter) costs ~3x the whole raw
loop on a file of 1,400 breakline annotations. So the worker decides per
product first, and that decision sits on the import's critical path before
the kernel starts: it must cost microseconds per product.

:func:`select` does it in bulk: one ``is_a()`` per product, per-class facts
(subtraction? space?) from the schema once per class, and representation
kinds read through positional ``get_argument`` calls (not IfcOpenShell's name
lookup, ~8 us a call through ``__getattr__``) and decided once per
(identifier, type) pair. :func:`classify` is the one-product form, for
restarts and damaged instances.

Needs only IfcOpenShell: ``bench/bench_ifc.py`` loads this file alone so that
its raw loop computes geometry for the same elements without importing the
importer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: Representation types and identifiers that carry no surfaces: products with
#: only these are rows in the table but are not sent to the geometry kernel
#: (alignment curves can take minutes there and yield no triangles).
CURVE_TYPES = frozenset(
    {
        "curve",
        "curve2d",
        "curve3d",
        "geometriccurveset",
        "annotation2d",
        "point",
        "pointcloud",
        "segment",
        "edge",
        "lightsource",
        "vertex",
    }
)
CURVE_IDENTIFIERS = frozenset({"axis", "footprint", "annotation", "profile", "lighting"})
BOX_TYPES = frozenset({"boundingbox"})
#: Products that cut others: never rows, never drawn.
SUBTRACTIONS = ("IfcOpeningElement", "IfcFeatureElementSubtraction")
MAX_MAPPING_DEPTH = 8

_ATTR_INDEX: dict[tuple[str, str], tuple[int, int]] = {}
_FORWARD, _INVERSE = 1, 2


def text(value: Any) -> str:
    """A clean display string: None -> '', never invalid UTF-8 or NUL."""
    if value is None:
        return ""
    s = value if isinstance(value, str) else str(value)
    if not (s.isascii() and "\x00" not in s):  # the common case skips the re-encoding
        s = s.encode("utf-8", "replace").decode("utf-8").replace("\x00", "")
    return s[:1000]


def attr(entity: Any, name: str, default: Any = None) -> Any:
    """An attribute that may be absent in this schema or damaged in this file.

    Faster than ``getattr(entity, name)``: IfcOpenShell resolves a name that
    the class lacks (``PredefinedType`` on an IFC2X3 wall) through its EXPRESS
    rules module, ~100 us a miss; here category and index are looked up once
    per (schema, class, name).
    """
    if entity is None:
        return default
    try:
        key = (entity.is_a(True), name)
        found = _ATTR_INDEX.get(key)
        if found is None:
            category = int(entity.get_attribute_category(name))
            index = entity.get_argument_index(name) if category == _FORWARD else -1
            found = _ATTR_INDEX[key] = (category, index)
        category, index = found
        if category == _FORWARD:
            value = entity.get_argument(index)
        elif category == _INVERSE:
            value = getattr(entity, name)
        else:
            return default
    except (AttributeError, RuntimeError, ValueError, TypeError, IndexError):
        return default
    return default if value is None else value


def classify(product: Any) -> str:
    """How to get triangles for a product: ``"body"`` (geometry kernel),
    ``"box"`` (only an IfcBoundingBox: we draw the box), or ``"none"``."""
    rep = attr(product, "Representation")
    reps = attr(rep, "Representations", ()) if rep is not None else ()
    return _combine({rep_kind(r) for r in reps or ()})


def _combine(kinds: set[str]) -> str:
    if "body" in kinds:
        return "body"
    return "box" if "box" in kinds else "none"


def rep_kind(rep: Any, depth: int = 0) -> str:
    """The kind of one IfcRepresentation (mapped ones by what they map)."""
    rid = text(attr(rep, "RepresentationIdentifier")).lower()
    rtype = text(attr(rep, "RepresentationType")).lower()
    if rtype == "mappedrepresentation":
        if depth >= MAX_MAPPING_DEPTH:
            return "none"
        kinds = set()
        for item in attr(rep, "Items", ()) or ():
            source = attr(item, "MappingSource")
            mapped = attr(source, "MappedRepresentation") if source is not None else None
            if mapped is not None:
                kinds.add(rep_kind(mapped, depth + 1))
        return _combine(kinds)
    return _kind_of(rid, rtype)


def _kind_of(rid: str, rtype: str) -> str:
    if rtype in BOX_TYPES or rid == "box":
        return "box"
    if rtype in CURVE_TYPES or rid in CURVE_IDENTIFIERS:
        return "none"
    return "body"


@dataclass
class Selection:
    """The table's rows (products with a representation, subtractions left out)
    in file order, each row's kind, and which rows are spaces."""

    rows: list[Any]
    kinds: list[str]
    is_space: list[bool]

    def of_kind(self, kind: str, spaces: bool = True) -> list[Any]:
        return [
            p
            for p, k, sp in zip(self.rows, self.kinds, self.is_space, strict=True)
            if k == kind and (spaces or not sp)
        ]


class _ClassFacts:
    """(subtraction?, space?) per class name, from the schema's supertype chain
    once per class; from ``is_a`` on the product where the schema cannot say."""

    def __init__(self, f: Any) -> None:
        try:
            import ifcopenshell.ifcopenshell_wrapper as wrapper

            self.schema = wrapper.schema_by_name(f.schema_identifier)
        except Exception:
            self.schema = None
        self.memo: dict[str, tuple[bool, bool]] = {}

    def of(self, product: Any, cls: str) -> tuple[bool, bool]:
        known = self.memo.get(cls)
        if known is None:
            line = self._lineage(cls)
            if line is None:
                known = _asked(product)
            else:
                known = (any(s in line for s in SUBTRACTIONS), "IfcSpace" in line)
            self.memo[cls] = known
        return known

    def _lineage(self, cls: str) -> frozenset[str] | None:
        names: set[str] = set()
        try:
            decl = self.schema.declaration_by_name(cls)
            while decl is not None and len(names) < 64:
                names.add(decl.name())
                decl = decl.supertype()
        except Exception:
            return None
        return frozenset(names)


def _asked(product: Any) -> tuple[bool, bool]:
    """(subtraction?, space?) of one product, asked through ``is_a``."""
    return any(product.is_a(s) for s in SUBTRACTIONS), bool(product.is_a("IfcSpace"))


# Positions fixed by the schemas (IfcProduct.Representation, IfcProductRepresentation.
# Representations, IfcRepresentation.RepresentationIdentifier / RepresentationType):
# the same in IFC2X3, IFC4 and IFC4X3, and checked against the schema at run time.
_POSITIONS = {
    ("IfcProduct", "Representation"): 6,
    ("IfcProductRepresentation", "Representations"): 2,
    ("IfcRepresentation", "RepresentationIdentifier"): 1,
    ("IfcRepresentation", "RepresentationType"): 2,
}


def _positions_hold(schema: Any) -> bool:
    try:
        for (cls, name), index in _POSITIONS.items():
            attrs = schema.declaration_by_name(cls).all_attributes()
            if attrs[index].name() != name:
                return False
    except Exception:
        return False
    return True


def select(f: Any) -> Selection:
    """Rows, kinds and spaces for every product of ``f`` (see module docstring).

    Falls back to :func:`classify` per product where the fast path cannot
    trust a position or meets a damaged instance.
    """
    try:
        products = f.by_type("IfcProduct")
    except RuntimeError:
        return Selection([], [], [])
    facts = _ClassFacts(f)
    fast = facts.schema is not None and _positions_hold(facts.schema)
    by_pair: dict[tuple[Any, Any], str] = {}  # (identifier, type) -> kind
    mapped: dict[int, str] = {}  # mapped IfcRepresentation id -> kind
    rows: list[Any] = []
    kinds: list[str] = []
    is_space: list[bool] = []
    for p in products:
        try:
            subtraction, space = facts.of(p, p.is_a())
            if subtraction:
                continue
            if fast:
                shape = p.get_argument(6)
                if shape is None:
                    continue
                kind = _shape_kind(shape, by_pair, mapped)
            else:
                if attr(p, "Representation") is None:
                    continue
                kind = classify(p)
        except (RuntimeError, ValueError, TypeError, IndexError, AttributeError):
            # a damaged instance: the one-product rule, which tolerates it
            try:
                subtraction, space = _asked(p)
                if subtraction or attr(p, "Representation") is None:
                    continue
                kind = classify(p)
            except (RuntimeError, ValueError, TypeError, AttributeError):
                continue
        rows.append(p)
        kinds.append(kind)
        is_space.append(space)
    return Selection(rows, kinds, is_space)


def _shape_kind(shape: Any, by_pair: dict[tuple[Any, Any], str], mapped: dict[int, str]) -> str:
    """Kind of an IfcProductRepresentation: plain representations memoised by
    their (identifier, type) strings, mapped ones by instance."""
    found = set()
    for rep in shape.get_argument(2) or ():
        pair = (rep.get_argument(1), rep.get_argument(2))
        kind = by_pair.get(pair)
        if kind is None:
            rid_text, rtype_text = text(pair[0]).lower(), text(pair[1]).lower()
            if rtype_text == "mappedrepresentation":
                rid = rep.id()
                kind = mapped.get(rid)
                if kind is None:
                    kind = mapped[rid] = rep_kind(rep)
            else:
                kind = by_pair[pair] = _kind_of(rid_text, rtype_text)
        found.add(kind)
    return _combine(found)
