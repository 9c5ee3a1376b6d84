"""What every element *is*: the feature-table columns, the spatial tree, and the
property sets shown when a user picks an element.

Worker side (:func:`extract`) walks the relationship entities once
(containment, aggregation, nesting, typing, material association) into dicts, so
the per-element columns cost a few dict look-ups each instead of IfcOpenShell's
per-element inverse queries. Damaged relationships (a missing material, a
dangling reference, a cycle) are skipped with a warning, never fatal.

Parent side builds the :class:`~twin.features.FeatureTable` columns and
:class:`~twin.layer.TreeNode` trees, and :class:`Details` reads property and
quantity sets lazily: the worker is gone by then, so the file is reopened in
this process the first time someone asks, and kept (one or two files) for the
next question.
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np

from importers.ifc.selection import attr, text

COLUMNS = ("guid", "cls", "name", "predefined_type", "storey", "type", "material", "object_type")
MAX_DEPTH = 64


# -- worker side ------------------------------------------------------------------


def _is(entity: Any, cls: str) -> bool:
    try:
        return bool(entity.is_a(cls))
    except (RuntimeError, AttributeError, TypeError):
        return False


def _by_type(f: Any, cls: str) -> list[Any]:
    try:
        return list(f.by_type(cls))
    except (RuntimeError, TypeError):  # class not in this schema
        return []


def _related(rel: Any, name: str) -> list[Any]:
    value = attr(rel, name, ())
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return [v for v in value if v is not None]
    return [value]


def material_name(mat: Any, depth: int = 0) -> str:
    """Readable name of any IfcMaterialSelect (layer sets as 'A / B / C')."""
    if mat is None or depth > 6:
        return ""
    if _is(mat, "IfcMaterial"):
        return text(attr(mat, "Name"))
    for usage, inner in (
        ("IfcMaterialLayerSetUsage", "ForLayerSet"),
        ("IfcMaterialProfileSetUsage", "ForProfileSet"),
    ):
        if _is(mat, usage):
            return material_name(attr(mat, inner), depth + 1)
    for kind, name_attr, parts_attr in (
        ("IfcMaterialLayerSet", "LayerSetName", "MaterialLayers"),
        ("IfcMaterialProfileSet", "Name", "MaterialProfiles"),
        ("IfcMaterialConstituentSet", "Name", "MaterialConstituents"),
    ):
        if _is(mat, kind):
            name = text(attr(mat, name_attr))
            if name:
                return name
            parts = [
                material_name(attr(p, "Material"), depth + 1) for p in _related(mat, parts_attr)
            ]
            return " / ".join(dict.fromkeys(p for p in parts if p))
    if _is(mat, "IfcMaterialList"):
        parts = [material_name(m, depth + 1) for m in _related(mat, "Materials")]
        return " / ".join(dict.fromkeys(p for p in parts if p))
    if any(
        _is(mat, k) for k in ("IfcMaterialLayer", "IfcMaterialProfile", "IfcMaterialConstituent")
    ):
        return material_name(attr(mat, "Material"), depth + 1)
    return text(attr(mat, "Name"))


def _spatial(entity: Any) -> bool:
    return (
        _is(entity, "IfcSpatialStructureElement")
        or _is(entity, "IfcSpatialElement")
        or _is(entity, "IfcProject")
    )


def extract(f: Any, products: list[Any]) -> dict[str, Any]:
    """Feature-table columns, spatial tree and relationship warnings.

    Returns a JSON-able dict: ``columns`` (name -> list, one entry per product,
    plus ``step``), ``tree`` (nested dicts of spatial nodes with the STEP ids
    of the products directly in them) and ``warnings``.
    """
    warnings: list[str] = []
    container: dict[int, Any] = {}
    parent: dict[int, Any] = {}
    children: dict[int, list[Any]] = {}
    type_of: dict[int, Any] = {}
    material_of: dict[int, Any] = {}

    for rel in _by_type(f, "IfcRelContainedInSpatialStructure"):
        structure = attr(rel, "RelatingStructure")
        if structure is None:
            continue
        for el in _related(rel, "RelatedElements"):
            container.setdefault(el.id(), structure)
    for rel_type in ("IfcRelAggregates", "IfcRelNests"):
        for rel in _by_type(f, rel_type):
            whole = attr(rel, "RelatingObject")
            if whole is None:
                continue
            for part in _related(rel, "RelatedObjects"):
                if part.id() == whole.id():
                    continue
                if part.id() not in parent:
                    parent[part.id()] = whole
                    children.setdefault(whole.id(), []).append(part)
    for rel in _by_type(f, "IfcRelDefinesByType"):
        rtype = attr(rel, "RelatingType")
        if rtype is None:
            continue
        for obj in _related(rel, "RelatedObjects"):
            type_of.setdefault(obj.id(), rtype)
    empty_material_rels = 0
    for rel in _by_type(f, "IfcRelAssociatesMaterial"):
        mat = attr(rel, "RelatingMaterial")
        if mat is None:
            empty_material_rels += 1
            continue
        for obj in _related(rel, "RelatedObjects"):
            material_of.setdefault(obj.id(), mat)
    if empty_material_rels:
        warnings.append(
            f"{empty_material_rels} IfcRelAssociatesMaterial without a material; "
            "their elements show the default colour and no material name"
        )

    spatial_cls: dict[str, bool] = {}

    def spatial(entity: Any) -> bool:
        cls = entity.is_a()
        known = spatial_cls.get(cls)
        if known is None:
            known = spatial_cls[cls] = _spatial(entity)
        return known

    def nearest_container(eid: int) -> Any:
        seen: set[int] = set()
        cur_id = eid
        for _ in range(MAX_DEPTH):
            if cur_id in seen:
                break
            seen.add(cur_id)
            if cur_id in container:
                return container[cur_id]
            up = parent.get(cur_id)
            if up is None:
                return None
            if spatial(up):
                return up
            cur_id = up.id()
        return None

    storey_memo: dict[int, str] = {}

    def storey_of(place: Any) -> str:
        """Name of the storey at or above a spatial element (memoised per element)."""
        if place is None:
            return ""
        pid = place.id()
        if pid in storey_memo:
            return storey_memo[pid]
        out, cur, seen = "", place, set()
        while cur is not None and cur.id() not in seen and len(seen) < MAX_DEPTH:
            seen.add(cur.id())
            if cur.is_a() == "IfcBuildingStorey":
                out = text(attr(cur, "Name")) or f"#{cur.id()}"
                break
            cur = parent.get(cur.id()) or container.get(cur.id())
        storey_memo[pid] = out
        return out

    fields = _Fields(f)
    cols: dict[str, list[Any]] = {k: [] for k in ("step", *COLUMNS, "container")}
    for p in products:
        pid = p.id()
        cls = p.is_a()
        get = fields.getter(p, cls)
        ptype = type_of.get(pid)
        predefined = text(get("PredefinedType"))
        if predefined in ("", "NOTDEFINED") and ptype is not None:
            predefined = text(attr(ptype, "PredefinedType")) or predefined
        object_type = text(get("ObjectType"))
        if predefined == "USERDEFINED" and object_type:
            predefined = object_type
        mat = material_of.get(pid)
        if mat is None and ptype is not None:
            mat = material_of.get(ptype.id())
        place = nearest_container(pid)
        cols["step"].append(pid)
        cols["guid"].append(text(get("GlobalId")))
        cols["cls"].append(cls)
        cols["name"].append(text(get("Name")))
        cols["predefined_type"].append(predefined)
        cols["storey"].append(storey_of(p) if cls == "IfcBuildingStorey" else storey_of(place))
        cols["type"].append(text(attr(ptype, "Name")) if ptype is not None else "")
        cols["material"].append(material_name(mat))
        cols["object_type"].append(object_type)
        cols["container"].append(place.id() if place is not None else -1)
    tree = _tree(f, children, cols)
    return {"columns": cols, "tree": tree, "warnings": warnings}


class _Fields:
    """Per-class attribute indices, so a row costs one ``is_a`` and a few
    ``get_argument`` calls instead of IfcOpenShell's name resolution."""

    def __init__(self, f: Any) -> None:
        import ifcopenshell.ifcopenshell_wrapper as wrapper

        try:
            self.schema = wrapper.schema_by_name(f.schema_identifier)
        except Exception:
            self.schema = None
        self.index: dict[str, dict[str, int]] = {}

    def getter(self, entity: Any, cls: str):
        idx = self.index.get(cls)
        if idx is None:
            try:
                decl = self.schema.declaration_by_name(cls)
                idx = {a.name(): i for i, a in enumerate(decl.all_attributes())}
            except Exception:
                idx = {}
            self.index[cls] = idx

        def get(name: str) -> Any:
            i = idx.get(name)
            if i is None:
                return None
            try:
                return entity.get_argument(i)
            except (RuntimeError, ValueError, TypeError, IndexError):
                return None

        return get


def _tree(f: Any, children: dict[int, list[Any]], cols: dict[str, list[Any]]) -> dict[str, Any]:
    """Project -> site -> building -> storey (-> space) nodes, each listing the
    STEP ids of the products contained directly in it."""
    direct: dict[int, list[int]] = {}
    for step, where in zip(cols["step"], cols["container"], strict=True):
        direct.setdefault(where, []).append(step)
    seen: set[int] = set()

    def node(entity: Any, depth: int) -> dict[str, Any]:
        seen.add(entity.id())
        kids = []
        if depth < MAX_DEPTH:
            for child in children.get(entity.id(), []):
                if child.id() not in seen and _spatial(child):
                    kids.append(node(child, depth + 1))
        return {
            "step": entity.id(),
            "name": text(attr(entity, "Name")) or text(attr(entity, "LongName")) or entity.is_a(),
            "cls": entity.is_a(),
            "guid": text(attr(entity, "GlobalId")),
            "elements": direct.get(entity.id(), []),
            "children": kids,
        }

    projects = _by_type(f, "IfcProject")
    roots = [node(p, 0) for p in projects]
    placed = set(seen)
    loose = [s for where, steps in direct.items() if where not in placed for s in steps]
    root = (
        roots[0]
        if len(roots) == 1
        else {
            "step": -1,
            "name": "Model",
            "cls": "IfcProject",
            "guid": "",
            "elements": [],
            "children": roots,
        }
    )
    if loose:
        root["children"].append(
            {
                "step": -2,
                "name": "Not in the spatial structure",
                "cls": "",
                "guid": "",
                "elements": loose,
                "children": [],
            }
        )
    return root


# -- parent side ------------------------------------------------------------------


def tree_nodes(tree: dict[str, Any], row_of: dict[int, int], node_cls):
    """Nested dicts -> TreeNode, keeping only rows of this layer; empty branches
    (no rows anywhere below) are dropped except the root."""

    def build(d: dict[str, Any], depth: int):
        rows = [row_of[s] for s in d.get("elements", []) if s in row_of]
        kids = [build(c, depth + 1) for c in d.get("children", []) if depth < MAX_DEPTH]
        kids = [k for k in kids if k is not None]
        if not rows and not kids and depth > 0:
            return None
        return node_cls(
            name=str(d.get("name", "")),
            kind=str(d.get("cls", "")),
            rows=rows,
            children=kids,
            id=str(d.get("guid", "")),
        )

    return build(tree, 0)


def _plain(value: Any) -> Any:
    if isinstance(value, str):
        return text(value)
    if isinstance(value, bool | int | float) or value is None:
        return value
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {text(k): _plain(v) for k, v in value.items()}
    return text(value)


class _OpenFiles:
    """At most two parsed files kept for property look-ups (they cost ~6x file size)."""

    def __init__(self, keep: int = 2) -> None:
        self.keep = keep
        self.files: OrderedDict[tuple, Any] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, path: Path, stamp: tuple) -> Any:
        key = (str(path), *stamp)
        with self.lock:
            if key in self.files:
                self.files.move_to_end(key)
                return self.files[key]
        model = _open_for_details(path)
        with self.lock:
            self.files[key] = model
            while len(self.files) > self.keep:
                self.files.popitem(last=False)
        return model


OPEN_FILES = _OpenFiles()


def _open_for_details(path: Path) -> Any:
    import ifcopenshell

    from importers.ifc.header import prepare_source

    with tempfile.TemporaryDirectory(prefix="citytwin-ifc-") as tmp:
        source, _ = prepare_source(path, Path(tmp))
        return ifcopenshell.open(str(source))


def file_stamp(path: Path) -> tuple:
    st = os.stat(path)
    return (st.st_size, st.st_mtime_ns)


class Details:
    """``row -> {group: {name: value}}`` for a layer, read lazily from the file.

    Groups: ``IFC`` (class, GlobalId, name, description, object type, tag,
    predefined type, storey, type, material), then every property set and
    quantity set of the element and of its type (IfcOpenShell's inheritance
    rules). Errors come back as an ``Error`` group, never as exceptions, since
    the GUI calls this on a click.
    """

    def __init__(self, path: Path, steps: np.ndarray, table: Any) -> None:
        self.path = Path(path)
        self.steps = np.asarray(steps, dtype=np.int64)
        self.table = table
        try:
            self.stamp = file_stamp(self.path)
        except OSError:
            self.stamp = (0, 0)

    def __call__(self, row: int) -> dict[str, dict[str, Any]]:
        base = {"IFC": {k: v for k, v in self.table.row(row).items() if k != "bounds"}}
        try:
            if file_stamp(self.path) != self.stamp:
                return {**base, "Error": {"details": "the file changed since it was imported"}}
            model = OPEN_FILES.get(self.path, self.stamp)
            entity = model.by_id(int(self.steps[row]))
            if text(attr(entity, "GlobalId")) != base["IFC"].get("id"):
                return {**base, "Error": {"details": "element not found in the file"}}
            import ifcopenshell.util.element as element_util

            for key in ("Description", "Tag", "ObjectType", "LongName"):
                value = attr(entity, key)
                if value is not None:
                    base["IFC"][key] = text(value)
            groups = element_util.get_psets(entity)
        except Exception as exc:  # a click must never raise into the GUI
            return {**base, "Error": {"details": f"{type(exc).__name__}: {text(exc)[:200]}"}}
        out = dict(base)
        # Unnamed sets (Name is optional in IFC2X3 exports) sort as "" and show as such.
        for name, props in sorted(groups.items(), key=lambda kv: text(kv[0] or "")):
            clean = {text(k): _plain(v) for k, v in props.items() if k != "id"}
            out[text(name or "(unnamed set)")] = clean
        return out
