"""CityGML 1.0 / 2.0 / 3.0 (``.gml``, ``.xml``) -> one layer.

Read with lxml's ``iterparse`` so large files stream: each top-level
``cityObjectMember`` is turned into flat arrays as soon as it is complete and
then freed. The parser is hardened: no network, no DTD loading, no entity
expansion, no huge-tree mode, and any ``<!DOCTYPE>`` is refused outright
(CityGML needs none, and DTDs are how billion-laughs and external-entity
attacks get in).

What becomes what: every CityObject (Building, BuildingPart, Room, Road,
TINRelief, WaterBody, ... and unknown ADE types at the top level) is a feature
row; thematic surfaces (RoofSurface, WallSurface, ...) give the semantic code of
the polygons beneath them; ``lodN...`` property names give the LoD, and each
object shows its highest LoD unless the ``lod`` option names another.
Geometry: ``gml:Polygon``, ``Triangle``, ``Rectangle`` and ``PolygonPatch``
rings (``posList``, ``pos`` or legacy ``coordinates``), ``OrientableSurface``
orientation, ``xlink:href`` surface references, inline implicit geometries
(template + matrix + reference point); curves become thin strips and points
small markers. Generic attributes (2.0 ``gen:stringAttribute``, 3.0
``gen:StringAttribute``) and simple property elements become columns.
Appearances (local and global, one theme) colour faces with ``X3DMaterial`` and
draw ``ParameterizedTexture`` images from the file's folder:
:mod:`importers.citygml_appearance`.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from lxml import etree

from importers import citygml_appearance as appearance
from importers import surfaces as sf
from importers.errors import ImportCancelled, ImportFailed
from importers.georef import finite_rows, normalize_crs, scene_extent, source_crs, to_local
from importers.surface_layer import SurfaceModel, build_layer
from twin import crs_record
from twin.geo import parse_crs
from twin.layer import Layer
from twin.meshing import TriMesh
from twin.scene import Scene

Progress = Callable[[int, int], None]

#: lxml settings for untrusted XML (RELIABILITY G2).
SAFE_PARSE = {
    "resolve_entities": False,
    "no_network": True,
    "huge_tree": False,
    "load_dtd": False,
    "dtd_validation": False,
    "remove_comments": True,
    "remove_pis": True,
}
XLINK_HREF = "{http://www.w3.org/1999/xlink}href"
MEMBER_TAGS = (
    "{*}cityObjectMember", "{*}featureMember", "{*}featureMembers", "{*}Envelope",
    "{*}appearanceMember",
)  # fmt: skip

CITYOBJECT_TYPES = frozenset(
    {
        "Building", "BuildingPart", "BuildingInstallation", "IntBuildingInstallation",
        "BuildingFurniture", "Room", "BuildingRoom", "BuildingConstructiveElement",
        "Storey", "BuildingUnit", "Road", "Railway", "Track", "Square", "Waterway",
        "Bridge", "BridgePart", "BridgeInstallation", "IntBridgeInstallation",
        "BridgeConstructionElement", "BridgeConstructiveElement", "BridgeRoom",
        "BridgeFurniture", "Tunnel", "TunnelPart", "TunnelInstallation",
        "IntTunnelInstallation", "HollowSpace", "TunnelFurniture",
        "TunnelConstructiveElement", "WaterBody", "LandUse", "PlantCover",
        "SolitaryVegetationObject", "ReliefFeature", "TINRelief", "MassPointRelief",
        "BreaklineRelief", "RasterRelief", "CityFurniture", "GenericCityObject",
        "GenericOccupiedSpace", "GenericUnoccupiedSpace", "GenericLogicalSpace",
        "CityObjectGroup", "OtherConstruction",
    }
)  # fmt: skip
#: CityGML names -> CityJSON type names, so colours and classes agree across formats.
TYPE_ALIASES = {
    "Room": "BuildingRoom",
    "IntBuildingInstallation": "BuildingInstallation",
    "Storey": "BuildingStorey",
    "Track": "Railway",
    "Square": "TransportSquare",
    "HollowSpace": "TunnelHollowSpace",
    "IntBridgeInstallation": "BridgeInstallation",
    "IntTunnelInstallation": "TunnelInstallation",
    "BridgeConstructionElement": "BridgeConstructiveElement",
    "GenericOccupiedSpace": "GenericCityObject",
    "GenericUnoccupiedSpace": "GenericCityObject",
    "GenericLogicalSpace": "GenericCityObject",
}
THEMATIC = frozenset(sf.SURFACE_TYPES[1:]) | {"OuterFloorSurface", "OuterCeilingSurface"}
POLYGONS = frozenset({"Polygon", "Triangle", "Rectangle", "PolygonPatch"})
LINES = frozenset({"LineString", "LineStringSegment"})
GENERIC_V2 = re.compile(r"^(string|int|double|date|uri|measure)Attribute$")
GENERIC_V3 = re.compile(r"^(String|Int|Double|Date|Uri|Measure|Code)Attribute$")
LOD_NAME = re.compile(r"^lod(\d)")
NUMBER = re.compile(r"[-+]?(0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?")
#: Code-list properties: numeric-looking codes that must stay text.
CODE_PROPERTIES = frozenset({"function", "usage", "class", "roofType", "type"})
LINE_WIDTH = 0.4
MARKER_SIZE = 0.6


def _local(tag: Any) -> str:
    if not isinstance(tag, str):
        return ""
    return tag.rpartition("}")[2]


def _version(namespace: str | None) -> str | None:
    m = re.search(r"opengis\.net/citygml/(\d\.\d)", namespace or "")
    if m:
        return m.group(1)
    if namespace == "http://www.opengis.net/citygml/profiles/base/1.0":
        return "1.0"
    return None


#: the prolog read for a DOCTYPE before the parser sees the file
PROLOG_BYTES = 1 << 20
_FIRST_ELEMENT = re.compile(rb"<[A-Za-z_]")


def _declares_dtd(path: Path) -> bool:
    """Whether the prolog (before the root element) holds a ``<!DOCTYPE``.
    Read as bytes: newer libxml2 builds stop a billion-laughs DTD with their
    own amplification error before the parser reports the DTD, so the
    refusal must not depend on the parser."""
    with open(path, "rb") as fh:
        head = fh.read(PROLOG_BYTES)
    root = _FIRST_ELEMENT.search(head)
    return b"<!DOCTYPE" in (head[: root.start()] if root else head)


def _refuse_dtd(path: Path) -> ImportFailed:
    return ImportFailed(
        path,
        "declares a DTD (<!DOCTYPE ...>), refused: CityGML needs none, and DTD "
        "entities allow entity-expansion (billion laughs) and external-entity attacks",
    )


def _prolog(path: Path) -> tuple[str | None, str]:
    """Refuse DTDs before anything can be expanded; return (namespace, root name)."""
    if _declares_dtd(path):
        raise _refuse_dtd(path)
    try:
        for _, el in etree.iterparse(str(path), events=("start",), **SAFE_PARSE):
            if el.getroottree().docinfo.internalDTD is not None:  # one the byte scan missed
                raise _refuse_dtd(path)
            q = etree.QName(el)
            return q.namespace, q.localname
    except etree.XMLSyntaxError as exc:
        raise ImportFailed(path, f"is not well-formed XML: {exc}") from None
    raise ImportFailed(path, "is empty")


def _coords(text: str | None, dim: int) -> np.ndarray:
    if not text:
        return np.empty((0, 3))
    vals = np.fromstring(text, sep=" ")
    if dim == 2:
        vals = vals[: len(vals) // 2 * 2].reshape(-1, 2)
        return np.column_stack([vals, np.zeros(len(vals))])
    return vals[: len(vals) // 3 * 3].reshape(-1, 3)


def _ring_points(ring: etree._Element, dim: int) -> np.ndarray:
    """Points of a ``LinearRing``/``LineString`` from posList, pos or coordinates."""
    out: list[np.ndarray] = []
    for child in ring:
        name = _local(child.tag)
        d = int(child.get("srsDimension") or child.get("dimension") or dim)
        if name == "posList":
            return _coords(child.text, d)
        if name == "pos":
            out.append(_coords(child.text, d))
        elif name == "coordinates":
            text = child.text or ""
            cs, ts = child.get("cs", ","), child.get("ts", " ")
            dec = child.get("decimal", ".")
            tuples = [t for t in re.split(re.escape(ts) if ts.strip() else r"\s+", text) if t]
            if dec != ".":
                tuples = [t.replace(dec, ".") for t in tuples]
            rows = [t.split(cs) for t in tuples]
            width = max((len(r) for r in rows), default=3)
            pts = np.array(
                [[float(v) for v in r] + [0.0] * (width - len(r)) for r in rows], dtype=np.float64
            ).reshape(-1, width)
            if width == 2:
                pts = np.column_stack([pts, np.zeros(len(pts))])
            return pts[:, :3]
        elif name == "pointProperty" or name == "Point":
            for sub in child.iter("{*}pos"):
                out.append(_coords(sub.text, int(sub.get("srsDimension") or d)))
    return np.vstack(out) if out else np.empty((0, 3))


class _Builder:
    """Collects feature rows and geometry of a whole file, member by member."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.lod_option = options.get("lod")
        self.options = options
        self.ids: list[str] = []
        self.types: list[str] = []
        self.names: list[str] = []
        self.attrs: list[dict[str, Any]] = []
        self.parent: list[str] = []
        self.obj_lod: list[str] = []
        self.codes = sf.SurfaceCodes()
        self.srs_list: list[str | None] = []
        # accepted geometry, flat
        self.coords: list[np.ndarray] = []
        self.ring_len: list[int] = []
        self.surf_rings: list[int] = []
        self.surf_row: list[int] = []
        self.surf_code: list[int] = []
        self.surf_srs: list[int] = []
        self.line_pts: list[np.ndarray] = []
        self.line_row: list[int] = []
        self.line_srs: list[int] = []
        self.point_pts: list[np.ndarray] = []
        self.point_row: list[int] = []
        self.point_srs: list[int] = []
        self.hrefs: set[str] = set()
        self.defined: set[str] = set()
        self.templates: dict[str, list[tuple[list[np.ndarray], int]]] = {}
        self.problems: dict[str, list[str]] = {}
        self.lod_fallbacks = 0
        self.default_srs: str | None = None
        #: appearance records and, per accepted surface, what they may target
        self.appearance = appearance.Appearances()
        self._refs: dict[int, appearance.PolygonRef] = {}  # _pending index -> polygon

    def problem(self, reason: str, oid: str) -> None:
        self.problems.setdefault(reason, []).append(oid)

    def srs_index(self, srs: str | None) -> int:
        srs = srs or self.default_srs
        try:
            return self.srs_list.index(srs)
        except ValueError:
            self.srs_list.append(srs)
            return len(self.srs_list) - 1

    # -- one top-level object --
    def add_member(self, el: etree._Element) -> None:
        self._pending: list[tuple] = []  # (kind, row, lod, code, srs, payload, gml_id)
        self._sem_refs: dict[str, int] = {}
        self._new_object(el, parent_id="", srs=el.get("srsName"))
        self._accept()

    def _new_object(self, el: etree._Element, parent_id: str, srs: str | None) -> int:
        row = len(self.ids)
        name = _local(el.tag)
        oid = el.get("{http://www.opengis.net/gml}id") or el.get(
            "{http://www.opengis.net/gml/3.2}id"
        )
        oid = oid or f"{name}#{row}"
        self.ids.append(oid)
        self.types.append(TYPE_ALIASES.get(name, name))
        self.names.append("")
        self.attrs.append({})
        self.parent.append(parent_id)
        self.obj_lod.append("")
        self._walk(el, row, -1, 0, srs, False, None, top=True)
        return row

    def _walk(
        self,
        el: etree._Element,
        row: int,
        lod: int,
        code: int,
        srs: str | None,
        rev: bool,
        xf: tuple[np.ndarray, np.ndarray] | None,
        top: bool = False,
    ) -> None:
        for child in el:
            tag = child.tag
            if not isinstance(tag, str):
                continue
            name = tag.rpartition("}")[2]
            gid = child.get("{http://www.opengis.net/gml}id") or child.get(
                "{http://www.opengis.net/gml/3.2}id"
            )
            if gid:
                self.defined.add(gid)
            csrs = child.get("srsName") or srs
            if name == "appearance":
                self.appearance.add(child)
                continue
            if name in CITYOBJECT_TYPES:
                self._new_object(child, self.ids[row], csrs)
                continue
            if name in POLYGONS:
                self._polygon(child, row, lod, code, csrs, rev, xf, gid)
                continue
            if name in LINES:
                pts = _ring_points(child, int(child.get("srsDimension") or 3))
                self._pending.append(("line", row, lod, code, csrs, self._xf(pts, xf), gid))
                continue
            if name == "Point":
                pts = _ring_points(child, int(child.get("srsDimension") or 3))
                self._pending.append(("point", row, lod, code, csrs, self._xf(pts, xf), gid))
                continue
            if name in THEMATIC:
                self._walk(child, row, lod, self.codes.code(name), csrs, rev, xf)
                continue
            if name == "OrientableSurface":
                flip = child.get("orientation") == "-"
                self._walk(child, row, lod, code, csrs, rev ^ flip, xf)
                continue
            if name == "ImplicitGeometry":
                self._implicit(child, row, lod, code, csrs)
                continue
            href = child.get(XLINK_HREF)
            if href:
                target = href.lstrip("#")
                if len(child) == 0 and name.endswith(("Member", "Surface", "Geometry")):
                    self.hrefs.add(target)
                    if code:
                        self._sem_refs[target] = code
                elif top and name not in ("member", "groupMember"):
                    self.attrs[row][name] = href
                continue
            m = LOD_NAME.match(name)
            if m:
                self._walk(child, row, int(m.group(1)), code, csrs, rev, xf)
                continue
            if top and self._attribute(child, name, row):
                continue
            if len(child):
                self._walk(child, row, lod, code, csrs, rev, xf)

    def _attribute(self, child: etree._Element, name: str, row: int) -> bool:
        """Simple properties and generic attributes of the object itself."""
        if name == "name":
            if not self.names[row] and child.text:
                self.names[row] = child.text.strip()
            return True
        if GENERIC_V2.match(name):
            value = child.find("{*}value")
            key = child.get("name")
            if key:
                self.attrs[row][key] = _typed(value.text if value is not None else None, name)
            return True
        if name == "genericAttributeSet":
            for sub in child:
                sub_name = _local(sub.tag)
                if GENERIC_V2.match(sub_name) or GENERIC_V3.match(sub_name):
                    self._attribute(sub, sub_name, row)
            return True
        if name == "genericAttribute":
            for sub in child:
                self._attribute(sub, _local(sub.tag), row)
            return True
        if GENERIC_V3.match(name):
            key_el = child.find("{*}name")
            value = child.find("{*}value")
            if key_el is not None and key_el.text:
                self.attrs[row][key_el.text.strip()] = _typed(
                    value.text if value is not None else None, name
                )
            return True
        if name in ("boundedBy", "appearance", "externalReference", "address"):
            return name in ("appearance", "externalReference")
        if len(child) == 0:
            text = (child.text or "").strip()
            if text:
                is_code = name in CODE_PROPERTIES
                self.attrs[row][name] = text if is_code else _typed(text, "simple")
            return True
        return False

    def _polygon(
        self,
        el: etree._Element,
        row: int,
        lod: int,
        code: int,
        srs: str | None,
        rev: bool,
        xf: tuple[np.ndarray, np.ndarray] | None,
        gid: str | None,
    ) -> None:
        dim = int(el.get("srsDimension") or 3)
        rings: list[np.ndarray] = []
        ring_ids: list[str | None] = []
        for part in el:
            pname = _local(part.tag)
            if pname in ("exterior", "outerBoundaryIs", "interior", "innerBoundaryIs"):
                for ring in part:
                    if _local(ring.tag) == "LinearRing":
                        pts = _ring_points(ring, dim)
                        if rev:
                            pts = pts[::-1]
                        if pname in ("exterior", "outerBoundaryIs"):
                            rings.insert(0, pts)
                            ring_ids.insert(0, appearance.gml_id(ring))
                        else:
                            rings.append(pts)
                            ring_ids.append(appearance.gml_id(ring))
        if rings:
            rings = [self._xf(r, xf) for r in rings]
            self._refs[len(self._pending)] = appearance.PolygonRef(
                gid, tuple(ring_ids), appearance.surface_ids(el), rev
            )
            self._pending.append(("poly", row, lod, code, srs, rings, gid))

    @staticmethod
    def _xf(pts: np.ndarray, xf: tuple[np.ndarray, np.ndarray] | None) -> np.ndarray:
        if xf is None or not len(pts):
            return pts
        m, ref = xf
        return pts @ m[:3, :3].T + m[:3, 3] + ref

    def _implicit(self, el: etree._Element, row: int, lod: int, code: int, srs: str | None) -> None:
        """Implicit geometry: template (inline, or by xlink to an earlier one)
        moved by its 4x4 matrix to its reference point."""
        matrix = el.find("{*}transformationMatrix")
        ref_el = el.find("{*}referencePoint")
        try:
            m = np.eye(4)
            if matrix is not None and matrix.text:
                m = np.fromstring(matrix.text, sep=" ").reshape(4, 4)
            ref = np.zeros(3)
            if ref_el is not None:
                pts = _ring_points(ref_el, 3)
                ref = pts[0] if len(pts) else ref
                srs = next((p.get("srsName") for p in ref_el.iter("{*}Point")), None) or srs
        except ValueError:
            self.problem("implicit geometry with a bad matrix", self.ids[row])
            return
        rel = el.find("{*}relativeGMLGeometry")
        if rel is None:
            return
        href = rel.get(XLINK_HREF)
        if href:
            tpl = self.templates.get(href.lstrip("#"))
            if tpl is None:
                self.hrefs.add(href.lstrip("#"))
                return
            for rings, tcode in tpl:
                moved = [self._xf(r, (m, ref)) for r in rings]
                self._pending.append(("poly", row, lod, tcode or code, srs, moved, None))
            return
        start = len(self._pending)
        self._walk(rel, row, lod, code, srs, False, None)
        local = self._pending[start:]
        del self._pending[start:]
        for child in rel:
            gid = child.get("{http://www.opengis.net/gml}id") or child.get(
                "{http://www.opengis.net/gml/3.2}id"
            )
            if gid:
                self.templates[gid] = [(p[5], p[3]) for p in local if p[0] == "poly"]
        for kind, r, lo, c, s, payload, gid in local:
            if kind == "poly":
                payload = [self._xf(ring, (m, ref)) for ring in payload]
            else:
                payload = self._xf(payload, (m, ref))
            self._pending.append((kind, r, lo, c, s, payload, gid))

    def _accept(self) -> None:
        """Keep, per object, the geometry of the chosen LoD; flatten it."""
        by_row: dict[int, set[int]] = {}
        for _kind, row, lod, *_ in self._pending:
            by_row.setdefault(row, set()).add(lod)
        chosen: dict[int, int] = {}
        for row, lods in by_row.items():
            known = sorted(x for x in lods if x >= 0)
            pick = self._choose(known)
            chosen[row] = pick
            self.obj_lod[row] = str(pick) if pick >= 0 else ""
        for i, (kind, row, lod, code, srs, payload, gid) in enumerate(self._pending):
            if lod >= 0 and lod != chosen[row]:
                continue
            if kind == "poly":
                if code == 0 and gid and gid in self._sem_refs:
                    code = self._sem_refs[gid]
                rings = [r for r in payload if len(r)]
                if not rings:
                    continue
                self.coords.extend(rings)
                self.ring_len.extend(len(r) for r in rings)
                self.surf_rings.append(len(rings))
                self.surf_row.append(row)
                self.surf_code.append(code)
                self.surf_srs.append(self.srs_index(srs))
                self.appearance.add_surface(self._refs.get(i), payload)
            elif kind == "line" and len(payload) >= 2:
                self.line_pts.append(payload)
                self.line_row.append(row)
                self.line_srs.append(self.srs_index(srs))
            elif kind == "point" and len(payload):
                self.point_pts.append(payload)
                self.point_row.append(row)
                self.point_srs.append(self.srs_index(srs))
        self._pending = []
        self._refs = {}

    def _choose(self, known: list[int]) -> int:
        if not known:
            return -1
        opt = self.lod_option
        if opt is None or str(opt).lower() == "highest":
            return known[-1]
        if str(opt).lower() == "lowest":
            return known[0]
        try:
            want = int(float(opt))
        except (TypeError, ValueError):
            return known[-1]
        if want in known:
            return want
        self.lod_fallbacks += 1
        lower = [x for x in known if x < want]
        return lower[-1] if lower else known[0]


def _typed(text: str | None, kind: str) -> Any:
    """Typed generic attributes by their type; simple properties are numbers only
    when they read as plain decimals (``"09175128"`` keeps its leading zero).
    Integers stay exact ints, as CityJSON's do, so one too large for a float keeps
    its digits instead of becoming infinity."""
    if text is None:
        return None
    text = text.strip()
    if kind.lower().startswith("int"):
        try:
            return int(text)
        except ValueError:
            pass
    if kind.lower().startswith(("int", "double", "measure")) or (
        kind == "simple" and NUMBER.fullmatch(text)
    ):
        try:
            return float(text)
        except ValueError:
            return text
    return text


#: The CRS record's words for what :func:`_swap_if_lat_lon` does.
_SWAPPED = ("axis order: srsName gives latitude, longitude; swapped to longitude, latitude",)


def _swap_if_lat_lon(pts: np.ndarray, declared: str | None) -> np.ndarray:
    """GML gives EPSG:4326 as lat, lon in URN/URL forms: swap to lon, lat."""
    if not declared or ("4326" not in declared and "4979" not in declared):
        return pts
    if declared.upper().startswith("EPSG:"):
        return pts  # legacy short form: conventionally lon, lat
    out = pts.copy()
    out[:, [0, 1]] = pts[:, [1, 0]]
    return out


def read(
    path: Path,
    scene: Scene,
    options: dict[str, Any],
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> list[Layer]:
    """Import a CityGML file as one layer.

    Options: ``lod`` as for CityJSON; ``theme`` (appearance theme, default the
    first), ``materials`` (default True) and ``draw_textures`` (default True):
    :class:`importers.citygml_appearance.LayerHooks`.
    """
    path = Path(path)
    notes: list[str] = []
    namespace, root_name = _prolog(path)
    version = _version(namespace)
    if version is None and root_name != "CityModel":
        raise ImportFailed(path, f"is not CityGML (root element {root_name!r})")
    if version is None:
        notes.append("CityGML version not recognised from the namespace; read as 2.0")
        version = "2.0"
    b = _Builder(options)
    n_members = 0
    try:
        context = etree.iterparse(str(path), events=("end",), tag=MEMBER_TAGS, **SAFE_PARSE)
        for _, el in context:
            parent = el.getparent()
            top = parent is not None and parent.getparent() is None
            name = _local(el.tag)
            if name == "Envelope":
                if b.default_srs is None and el.get("srsName"):
                    b.default_srs = el.get("srsName")
                continue
            if not top:
                continue
            for obj in el:
                if _local(obj.tag) == "Appearance":  # global: matched once all is read
                    b.appearance.add_appearance(obj)
                elif isinstance(obj.tag, str):
                    b.add_member(obj)
                    n_members += 1
            el.clear()
            while el.getprevious() is not None:
                del parent[0]
            if cancel is not None and cancel.is_set():
                raise ImportCancelled(str(path))
            if progress is not None and n_members % 500 == 0:
                progress(n_members, 0)  # total unknown while streaming (0 = busy)
    except etree.XMLSyntaxError as exc:
        if not b.ids:
            raise ImportFailed(path, f"is not well-formed XML: {exc}") from None
        notes.append(f"XML error, rest of the file skipped ({len(b.ids)} objects read): {exc}")
    layer = _build(b, path, scene, version, notes, cancel)
    if progress is not None:
        progress(n_members, n_members)
    return [layer]


def _build(
    b: _Builder,
    path: Path,
    scene: Scene,
    version: str,
    notes: list[str],
    cancel: threading.Event | None,
) -> Layer:
    n_obj = len(b.ids)
    if n_obj == 0:
        raise ImportFailed(path, "has no city objects")
    # Resolve each declared srsName once; coordinates move group by group.
    declared = next((s for s in b.srs_list if s), b.default_srs)
    crs_for: list[str] = []
    for srs in b.srs_list:
        crs_for.append(source_crs(srs or b.default_srs, scene, notes))
    notes[:] = list(dict.fromkeys(notes))
    ring_len = np.asarray(b.ring_len, dtype=np.int64)
    coords = np.concatenate(b.coords) if b.coords else np.empty((0, 3))
    surf_srs = np.asarray(b.surf_srs, dtype=np.int64)
    pt_srs = np.repeat(np.repeat(surf_srs, b.surf_rings), ring_len)
    local = np.zeros_like(coords)
    valid = finite_rows(coords)
    ops: list = []
    for k, crs in enumerate(crs_for):
        sel = pt_srs == k
        if sel.any():
            srs = b.srs_list[k] or b.default_srs
            raw = coords[sel]
            src = _swap_if_lat_lon(raw, srs)
            units = () if src is raw else _SWAPPED
            ok = finite_rows(src)
            local[sel] = to_local(np.where(ok[:, None], src, 0.0), crs, scene, ops, units, ok)
    notes.extend(crs_record.warnings_of(ops))
    valid &= finite_rows(local)
    surf_row = np.asarray(b.surf_row, dtype=np.int32)
    surf_rings = np.asarray(b.surf_rings, dtype=np.int64)
    ring_surf = np.repeat(np.arange(len(surf_rings)), surf_rings)
    pt_surf = ring_surf[np.repeat(np.arange(len(ring_len)), ring_len)]
    bad_surf = np.zeros(len(surf_rings), dtype=bool)
    bad_surf[pt_surf[~valid]] = True
    for r in np.unique(surf_row[bad_surf]).tolist():
        b.problem("surfaces skipped: coordinates not finite or out of range", b.ids[r])
    if cancel is not None and cancel.is_set():
        raise ImportCancelled(str(path))
    extra: list[TriMesh] = []
    if b.line_pts:
        pts, seg_a, seg_b, seg_row = _segments(b, crs_for, scene)
        extra.append(sf.line_ribbons(pts, seg_a, seg_b, seg_row, LINE_WIDTH))
    if b.point_pts:
        pts, prow = _points(b, crs_for, scene)
        extra.append(sf.point_markers(pts, prow, MARKER_SIZE))
    type_notes: list[str] = []
    unresolved = b.hrefs - b.defined
    if unresolved:
        type_notes.append(
            f"{len(unresolved)} xlink:href references point to ids not in the file "
            f"({sf.sample_ids(sorted(unresolved))}); that geometry is missing"
        )
    unknown = Counter(t for t in b.types if t not in sf.TYPE_COLORS)
    if unknown:
        type_notes.append(
            "object types shown as GenericCityObject: "
            + ", ".join(f"{t} ({n})" for t, n in unknown.most_common(5))
        )
    model = SurfaceModel(
        path=path,
        points=local,
        point_index=np.arange(len(local), dtype=np.int64),
        ring_len=ring_len,
        surf_rings=surf_rings,
        surface_ok=~bad_surf,
        surf_row=surf_row,
        surf_code=np.asarray(b.surf_code, dtype=np.int16),
        ids=b.ids,
        types=b.types,
        names=b.names,
        attrs=b.attrs,
        obj_lod=b.obj_lod,
        parents=b.parent,
        codes=b.codes,
        known_types=sf.TYPE_COLORS,
        extra=extra,
        problems=b.problems,
    )
    info: dict[str, Any] = {
        "format": "CityGML",
        "version": version,
        "lod": "highest" if b.lod_option is None else str(b.lod_option),
        "surface_types": list(b.codes.names),
        "crs_declared": declared,
    }
    lod_note = (
        f"{b.lod_fallbacks} objects lack LoD {b.lod_option}; used their nearest"
        if b.lod_fallbacks
        else None
    )
    main_crs = source_crs(declared, scene, [] if crs_for else notes)
    hooks = appearance.LayerHooks(b.appearance, b.options, path.parent, ring_len, surf_rings, notes)
    layer = build_layer(
        model,
        name=path.stem,
        crs=main_crs,
        info=info,
        notes=notes,
        type_notes=type_notes,
        lod_note=lod_note,
        recolor=hooks.recolor,
        texture=hooks.texture,
        cancel=cancel,
    )
    hooks.finish(layer.mesh)
    layer.crs_operations = ops
    return layer


def _segments(b: _Builder, crs_for: list[str], scene: Scene):
    pts_list, a_list, row_list = [], [], []
    base = 0
    for pts, row, k in zip(b.line_pts, b.line_row, b.line_srs, strict=True):
        src = _swap_if_lat_lon(pts, b.srs_list[k] or b.default_srs)
        loc = to_local(src, crs_for[k], scene)
        pts_list.append(loc)
        a_list.append(np.arange(base, base + len(loc) - 1))
        row_list.append(np.full(len(loc) - 1, row, dtype=np.int32))
        base += len(loc)
    pts = np.concatenate(pts_list)
    seg_a = np.concatenate(a_list)
    seg_row = np.concatenate(row_list)
    ok = finite_rows(pts)
    keep = ok[seg_a] & ok[seg_a + 1]
    return np.where(ok[:, None], pts, 0.0), seg_a[keep], seg_a[keep] + 1, seg_row[keep]


def _points(b: _Builder, crs_for: list[str], scene: Scene):
    pts_list, row_list = [], []
    for pts, row, k in zip(b.point_pts, b.point_row, b.point_srs, strict=True):
        src = _swap_if_lat_lon(pts, b.srs_list[k] or b.default_srs)
        pts_list.append(to_local(src, crs_for[k], scene))
        row_list.append(np.full(len(pts), row, dtype=np.int32))
    pts = np.concatenate(pts_list)
    rows = np.concatenate(row_list)
    ok = finite_rows(pts)
    return pts[ok], rows[ok]


def extent(path: Path) -> tuple[str | None, tuple[float, float, float, float]]:
    """Declared CRS and x/y bounds: the root envelope, else a scan of positions."""
    path = Path(path)
    _prolog(path)
    srs: str | None = None
    lo = np.full(2, np.inf)
    hi = np.full(2, -np.inf)
    try:
        for _, el in etree.iterparse(
            str(path),
            events=("end",),
            tag=("{*}Envelope", "{*}posList", "{*}pos", "{*}coordinates"),
            **SAFE_PARSE,
        ):
            name = _local(el.tag)
            if name == "Envelope":
                srs = srs or el.get("srsName")
                continue
            srs = srs or el.get("srsName")
            parent = el.getparent()
            if parent is not None and _local(parent.tag) == "Envelope":
                continue
            dim = int(el.get("srsDimension") or 3)
            if name == "coordinates":
                pts = _ring_points(parent, dim) if parent is not None else np.empty((0, 3))
            else:
                pts = _coords(el.text, dim)
            pts = pts[finite_rows(pts)]
            if len(pts):
                lo = np.minimum(lo, pts[:, :2].min(axis=0))
                hi = np.maximum(hi, pts[:, :2].max(axis=0))
            el.clear()
    except etree.XMLSyntaxError as exc:
        raise ImportFailed(path, f"is not well-formed XML: {exc}") from None
    if not np.all(np.isfinite(lo)):
        raise ImportFailed(path, "has no coordinates")
    try:
        crs = normalize_crs(srs)
    except ValueError as exc:
        raise ImportFailed(path, str(exc)) from None
    if (
        crs is not None
        and parse_crs(crs).is_geographic
        and srs
        and not srs.upper().startswith("EPSG:")
    ):
        lo, hi = lo[::-1], hi[::-1]
    return scene_extent(crs, (float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1])))
