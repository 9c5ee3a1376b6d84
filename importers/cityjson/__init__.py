"""CityJSON 1.0 / 1.1 / 2.0 (``.city.json``) and CityJSONSeq (``.city.jsonl``).

One file becomes one layer: a merged triangle mesh whose cells carry the
CityObject row (``feature``), the semantic surface code (``surface``, names in
``layer.info["surface_types"]``) and a default colour (``rgb_default``: roofs
red, walls pale, ground dark; objects without semantics by type), plus a feature
table with one row per CityObject (class = its type, every attribute a column).

Why it is fast: the JSON is parsed with orjson; vertices become one numpy array
(``vertices * scale + translate``) in one call; boundaries are flattened for
all geometries of a type together with ``itertools.chain`` and ``map(len, ...)``
(C loops, no per-vertex Python), and triangulation is batched
(:func:`importers.surfaces.triangulate_rings`). The per-object Python work is
choosing the LoD and appending references to lists.

What it does with bad input: an object whose geometry points at a missing
vertex, is malformed, or has out-of-range coordinates loses that geometry and is
named in a warning; the rest loads. Semantic, material and texture indices that
overflow their arrays are ignored with a warning. Versions before 1.0 are
refused with an error naming the version.
"""

from __future__ import annotations

import contextlib
import gc
import json
import re
import threading
from collections import Counter
from collections.abc import Callable
from itertools import chain, repeat
from pathlib import Path
from typing import Any

import numpy as np

from importers import surfaces as sf
from importers.errors import ImportCancelled, ImportFailed
from importers.georef import finite_rows, normalize_crs, scene_extent, source_crs, to_local
from twin.features import FeatureTable, feature_bounds
from twin.layer import Layer
from twin.meshing import TriMesh
from twin.scene import Scene
from twin.style import Style

try:  # orjson is 2-4x faster than json on CityJSON; json is the fallback.
    import orjson
except ImportError:  # pragma: no cover - orjson is a dependency
    orjson = None  # type: ignore[assignment]

Progress = Callable[[int, int], None]

#: CityObject types of CityJSON 1.0-2.0 (first- and second-level).
KNOWN_TYPES = frozenset(
    {
        "Building", "BuildingPart", "BuildingInstallation", "BuildingConstructiveElement",
        "BuildingFurniture", "BuildingStorey", "BuildingRoom", "BuildingUnit",
        "Bridge", "BridgePart", "BridgeInstallation", "BridgeConstructiveElement",
        "BridgeRoom", "BridgeFurniture", "CityFurniture", "CityObjectGroup",
        "GenericCityObject", "LandUse", "OtherConstruction", "PlantCover",
        "SolitaryVegetationObject", "TINRelief", "TransportSquare", "Railway", "Road",
        "Tunnel", "TunnelPart", "TunnelInstallation", "TunnelConstructiveElement",
        "TunnelHollowSpace", "TunnelFurniture", "WaterBody", "Waterway",
    }
)  # fmt: skip
SURFACE_DEPTH = {"MultiSurface": 0, "CompositeSurface": 0, "Solid": 1}
SURFACE_DEPTH.update({"MultiSolid": 2, "CompositeSolid": 2})
MAX_COLUMNS = 500
#: Objects whose stream is flushed into numpy arrays at a time (CityJSONSeq).
FLUSH_OBJECTS = 20_000
MARKER_SIZE = 0.6
LINE_WIDTH = 0.4
#: Texture images larger than this (decoded pixels) are refused (pixel bombs).
MAX_TEXTURE_PIXELS = 64_000_000


# -- reading the file -------------------------------------------------------------------------
def _loads(data: bytes | str, path: Path) -> Any:
    """orjson first; stdlib json for what orjson refuses (integers beyond 64 bits,
    NaN), so such files reach the checks that explain what is wrong with them."""
    if orjson is not None:
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            pass
    try:
        return json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise ImportFailed(path, f"is not valid JSON: {exc}") from None


class _Source:
    """What a CityJSON file or CityJSONSeq stream declares, plus its chunks
    (the whole document, or one CityJSONFeature each)."""

    def __init__(self, header: dict, kind: str, chunks: Any, total: int = 1) -> None:
        self.header = header
        self.kind = kind
        self.chunks = chunks
        self.total = total  # chunks expected, for progress


def _check_header(doc: Any, path: Path, notes: list[str]) -> str:
    """Validate type and version; return the version text."""
    if not isinstance(doc, dict):
        raise ImportFailed(path, "is not a CityJSON object (top level is not a JSON object)")
    typ = doc.get("type")
    version = doc.get("version")
    vtext = str(version) if version is not None else ""
    m = re.search(r"(\d+)\.(\d+)", vtext)
    if typ is None:
        if "CityObjects" not in doc:
            raise ImportFailed(path, "is not CityJSON: no 'type' and no 'CityObjects'")
        notes.append("top-level 'type' is missing (must be \"CityJSON\"); read as CityJSON")
    elif typ not in ("CityJSON", "CityJSONFeature"):
        if typ == "CityModel" and m and (int(m.group(1)), int(m.group(2))) < (1, 0):
            pass  # pre-1.0 draft: refused below with its version
        else:
            raise ImportFailed(path, f"is not CityJSON: type is {typ!r}")
    if m is None:
        if version is not None:
            raise ImportFailed(path, f"has an unreadable CityJSON version {version!r}")
        notes.append("no 'version'; read as CityJSON 2.0")
        return "2.0"
    major, minor = int(m.group(1)), int(m.group(2))
    if (major, minor) < (1, 0):
        raise ImportFailed(
            path,
            f"is CityJSON version {vtext}, which is not supported: CityTwin reads CityJSON "
            "1.0, 1.1 and 2.0 (upgrade it with cjio: cjio FILE upgrade save OUT.city.json)",
        )
    if major > 2:
        notes.append(f"CityJSON version {vtext} is newer than 2.0; read as 2.0")
    return f"{major}.{minor}"


def _open_source(path: Path, notes: list[str]) -> _Source:
    data = path.read_bytes()
    if path.name.lower().endswith(".jsonl"):
        lines = [ln for ln in data.splitlines() if ln.strip()]
        first: Any = None
        if lines:
            try:
                first = orjson.loads(lines[0]) if orjson is not None else json.loads(lines[0])
            except (ValueError, TypeError):
                first = None
        if first is None:
            # Not JSON Lines (e.g. a pretty-printed CityJSONFeature): one document.
            doc = _loads(data, path)
            if isinstance(doc, dict) and doc.get("type") == "CityJSONFeature":
                notes.append("not one JSON object per line; read as a single CityJSONFeature")
                return _Source({"type": "CityJSON", "version": "2.0"}, "CityJSONSeq", [doc])
            return _Source(doc, "CityJSON", [doc])
        if isinstance(first, dict) and first.get("type") == "CityJSONFeature":
            notes.append("CityJSONSeq without a CityJSON header line; no transform assumed")
            feats = _features(lines, 0, path, notes)
            return _Source({"type": "CityJSON"}, "CityJSONSeq", feats, len(lines))
        return _Source(first, "CityJSONSeq", _features(lines, 1, path, notes), len(lines) - 1)
    doc = _loads(data, path)
    del data
    return _Source(doc, "CityJSON", [doc])


def _features(lines: list[bytes], start: int, path: Path, notes: list[str]):
    """Parse CityJSONFeature lines lazily, skipping (and counting) bad ones."""
    bad: list[int] = []
    for i in range(start, len(lines)):
        try:
            feat = orjson.loads(lines[i]) if orjson is not None else json.loads(lines[i])
        except (ValueError, TypeError):
            try:
                feat = json.loads(lines[i])
            except (ValueError, TypeError):
                bad.append(i + 1)
                continue
        if not isinstance(feat, dict) or feat.get("type") != "CityJSONFeature":
            bad.append(i + 1)
            continue
        yield feat
    if bad:
        notes.append(
            f"{len(bad)} lines skipped: not a valid CityJSONFeature (lines {sf.sample_ids(bad)})"
        )


# -- LoD choice -------------------------------------------------------------------------------
def _lod_value(lod: Any) -> float:
    try:
        return float(lod)
    except (TypeError, ValueError):
        return -1.0


def _lod_text(lod: Any) -> str:
    if lod is None:
        return ""
    if isinstance(lod, float) and lod.is_integer():
        return str(int(lod))
    return str(lod)


class _LodChooser:
    """Picks an object's geometries: the highest LoD by default, or the one the
    ``lod`` option names (``"2.2"``; ``2`` means the highest 2.x), falling back
    to the nearest lower (else higher) LoD when an object lacks it."""

    def __init__(self, option: Any) -> None:
        text = "highest" if option is None else str(option).strip().lower()
        self.mode = text if text in ("highest", "lowest") else "exact"
        self.want = text
        self.want_value = _lod_value(text) if self.mode == "exact" else 0.0
        self.major_only = self.mode == "exact" and "." not in text
        self.fallbacks = 0

    def choose(self, lods: list[str]) -> str:
        uniq = set(lods)
        if len(uniq) == 1 and self.mode != "exact":
            return lods[0]
        values = {lod: _lod_value(lod) for lod in uniq}
        if self.mode == "highest":
            return max(uniq, key=lambda x: values[x])
        if self.mode == "lowest":
            return min(uniq, key=lambda x: values[x])
        if self.want in uniq:
            return self.want
        if self.major_only:
            same = [lod for lod in uniq if int(values[lod]) == int(self.want_value)]
            if same:
                return max(same, key=lambda x: values[x])
        self.fallbacks += 1
        lower = [lod for lod in uniq if values[lod] <= self.want_value]
        if lower:
            return max(lower, key=lambda x: values[x])
        return min(uniq, key=lambda x: values[x])


# -- collecting geometry ---------------------------------------------------------------------
class _Family:
    """Geometries of one boundary depth, as parallel lists of references."""

    __slots__ = ("bounds", "depth", "geoms", "rows", "voff")

    def __init__(self, depth: int) -> None:
        self.depth = depth
        self.bounds: list[Any] = []
        self.rows: list[int] = []
        self.voff: list[int] = []
        self.geoms: list[dict] = []

    def add(self, bounds: Any, row: int, voff: int, geom: dict) -> None:
        self.bounds.append(bounds)
        self.rows.append(row)
        self.voff.append(voff)
        self.geoms.append(geom)


def _expand(lists: list, owner: np.ndarray) -> tuple[list, np.ndarray]:
    """One nesting level down: the items of every list and the owner of each."""
    lens = np.fromiter(map(len, lists), dtype=np.int64, count=len(lists))
    return list(chain.from_iterable(lists)), np.repeat(owner, lens)


def _surfaces_of(bounds: list, depth: int) -> tuple[list, np.ndarray]:
    """Surfaces (lists of rings) of many geometries of one depth, and the
    geometry each came from."""
    items, owner = bounds, np.arange(len(bounds))
    for _ in range(depth + 1):
        items, owner = _expand(items, owner)
    return items, owner


def _rings_of(surfaces: list) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(point vertex ids, ring lengths, rings per surface) of many surfaces."""
    rings = list(chain.from_iterable(surfaces))
    surf_rings = np.fromiter(map(len, surfaces), dtype=np.int64, count=len(surfaces))
    ring_len = np.fromiter(map(len, rings), dtype=np.int64, count=len(rings))
    idx = np.fromiter(chain.from_iterable(rings), dtype=np.int64, count=int(ring_len.sum()))
    return idx, ring_len, surf_rings


def _flat_values(values: Any, depth: int) -> list:
    for _ in range(depth):
        values = list(chain.from_iterable(values))
    return values if isinstance(values, list) else list(values)


class _Collector:
    """Turns CityObjects into feature rows and flat surface arrays."""

    def __init__(self, path: Path, header: dict, options: dict[str, Any], notes: list[str]):
        self.path = path
        self.notes = notes
        self.options = options
        self.lod = _LodChooser(options.get("lod"))
        self.textures_on = bool(options.get("textures", False))
        self.materials_on = bool(options.get("materials", False))
        self.theme = options.get("theme")
        self.codes = sf.SurfaceCodes()
        transform = header.get("transform")
        self.scale, self.translate = _transform(transform, path)
        self.templates, self.template_vertices = _templates(header, notes)
        # feature table columns
        self.ids: list[str] = []
        self.types: list[str] = []
        self.attrs: list[dict] = []
        self.parents: list[Any] = []
        self.children: list[Any] = []
        self.obj_lod: list[str] = []
        self.geom_counts: Counter[str] = Counter()
        # vertex store (source CRS, scaled), per-chunk arrays
        self.vertex_parts: list[np.ndarray] = []
        self.n_vertices = 0
        # appearance store
        self.materials: list[Any] = []
        self.textures: list[Any] = []
        self.uv_parts: list[np.ndarray] = []
        self.n_uv = 0
        # flushed surface arrays
        self.s_parts: dict[str, list[np.ndarray]] = {
            k: [] for k in ("pv", "ring_len", "surf_rings", "row", "code", "mat", "tex", "uv")
        }
        self.families = {d: _Family(d) for d in (0, 1, 2)}
        self.point_rows: list[np.ndarray] = []
        self.point_vids: list[np.ndarray] = []
        self.seg_a: list[np.ndarray] = []
        self.seg_b: list[np.ndarray] = []
        self.seg_rows: list[np.ndarray] = []
        self.pending = 0
        # problems: reason -> object ids
        self.problems: dict[str, list[str]] = {}
        self.unknown_types: Counter[str] = Counter()
        self.unknown_geoms: Counter[str] = Counter()

    def problem(self, reason: str, oid: str) -> None:
        self.problems.setdefault(reason, []).append(oid)

    # -- chunks --
    def add_chunk(self, chunk: dict) -> None:
        objects = chunk.get("CityObjects")
        if not isinstance(objects, dict):
            raise ImportFailed(self.path, "'CityObjects' is missing or not a JSON object")
        vbase = self.n_vertices
        verts = chunk.get("vertices", [])
        vpart = len(self.vertex_parts)
        self._add_vertices(verts)
        mat_base, tex_base, uv_base = self._add_appearance(chunk.get("appearance"))
        ctx = (vbase, mat_base, tex_base, uv_base, len(self.materials), len(self.textures))
        instances: list[tuple[int, Any, Any, int, str]] = []
        for oid, obj in objects.items():
            self._add_object(str(oid), obj, ctx, instances)
        if instances:
            self._add_instances(instances, self.vertex_parts[vpart], ctx)
        if self.pending >= FLUSH_OBJECTS:
            self.flush()

    def _add_vertices(self, verts: Any) -> None:
        if not isinstance(verts, list):
            raise ImportFailed(self.path, "'vertices' is not a JSON array")
        n = len(verts)
        try:
            if n and set(map(len, verts)) != {3}:
                raise TypeError
            arr = np.fromiter(chain.from_iterable(verts), dtype=np.float64, count=3 * n)
        except (TypeError, ValueError, OverflowError):
            arr = np.array([_vertex(v) for v in verts], dtype=np.float64)
            bad = int(np.sum(~np.isfinite(arr).all(axis=1))) if n else 0
            self.notes.append(f"{bad} vertices are not 3 numbers; geometry using them skipped")
        arr = arr.reshape(-1, 3)
        with np.errstate(over="ignore", invalid="ignore"):
            arr = arr * self.scale + self.translate
        self.vertex_parts.append(arr)
        self.n_vertices += n

    def _add_appearance(self, app: Any) -> tuple[int, int, int]:
        bases = (len(self.materials), len(self.textures), self.n_uv)
        if not isinstance(app, dict):
            return bases
        mats = app.get("materials")
        if isinstance(mats, list):
            self.materials.extend(mats)
        texs = app.get("textures")
        if isinstance(texs, list):
            self.textures.extend(texs)
        uvs = app.get("vertices-texture")
        if isinstance(uvs, list) and uvs:
            arr = np.array([_uv(v) for v in uvs], dtype=np.float64).reshape(-1, 2)
            self.uv_parts.append(arr)
            self.n_uv += len(arr)
        return bases

    def _add_object(self, oid: str, obj: Any, ctx: tuple, instances: list) -> None:
        row = len(self.ids)
        self.ids.append(oid)
        self.pending += 1
        if not isinstance(obj, dict):
            self.types.append("GenericCityObject")
            self.attrs.append({})
            self.parents.append(None)
            self.children.append(None)
            self.obj_lod.append("")
            self.problem("not a JSON object", oid)
            return
        typ = obj.get("type")
        if not isinstance(typ, str) or not typ:
            self.problem("no 'type'; shown as GenericCityObject", oid)
            typ = "GenericCityObject"
        elif typ not in KNOWN_TYPES and not typ.startswith("+"):
            self.unknown_types[typ] += 1
        self.types.append(typ)
        attrs = obj.get("attributes")
        self.attrs.append(attrs if isinstance(attrs, dict) else {})
        self.parents.append(obj.get("parents"))
        self.children.append(obj.get("children"))
        geoms = obj.get("geometry")
        if not geoms:
            self.obj_lod.append("")
            return
        if not isinstance(geoms, list):
            self.obj_lod.append("")
            self.problem("'geometry' is not an array", oid)
            return
        lods = []
        for g in geoms:
            if not isinstance(g, dict):
                lods.append("")
            elif g.get("type") == "GeometryInstance":
                lods.append(_lod_text(self._template_lod(g)))
            else:
                lods.append(_lod_text(g.get("lod")))
        chosen = self.lod.choose(lods)
        self.obj_lod.append(chosen)
        vbase = ctx[0]
        for g, lod in zip(geoms, lods, strict=True):
            if lod != chosen or not isinstance(g, dict):
                continue
            gtype = g.get("type")
            self.geom_counts[str(gtype)] += 1
            depth = SURFACE_DEPTH.get(gtype)  # type: ignore[arg-type]
            bounds = g.get("boundaries")
            if depth is not None:
                if not isinstance(bounds, list):
                    self.problem(f"{gtype} without boundaries", oid)
                    continue
                self.families[depth].add(bounds, row, vbase, (g, ctx, oid))  # type: ignore[arg-type]
            elif gtype == "MultiPoint":
                self._add_points(bounds, row, vbase, oid)
            elif gtype == "MultiLineString":
                self._add_lines(bounds, row, vbase, oid)
            elif gtype == "GeometryInstance":
                ref = bounds[0] if isinstance(bounds, list) and bounds else None
                instances.append((row, g.get("template"), g.get("transformationMatrix"), ref, oid))
            else:
                self.unknown_geoms[str(gtype)] += 1

    def _template_lod(self, g: dict) -> Any:
        t = g.get("template")
        if (
            isinstance(t, int)
            and 0 <= t < len(self.templates)
            and isinstance(self.templates[t], dict)
        ):
            return self.templates[t].get("lod")
        return None

    def _add_points(self, bounds: Any, row: int, vbase: int, oid: str) -> None:
        try:
            idx = np.fromiter(bounds, dtype=np.int64) + vbase
        except (TypeError, ValueError):
            self.problem("malformed MultiPoint boundaries", oid)
            return
        self.point_vids.append(idx)
        self.point_rows.append(np.full(len(idx), row, dtype=np.int32))

    def _add_lines(self, bounds: Any, row: int, vbase: int, oid: str) -> None:
        try:
            lines = [np.fromiter(line, dtype=np.int64) + vbase for line in bounds]
        except (TypeError, ValueError):
            self.problem("malformed MultiLineString boundaries", oid)
            return
        for line in lines:
            if len(line) >= 2:
                self.seg_a.append(line[:-1])
                self.seg_b.append(line[1:])
                self.seg_rows.append(np.full(len(line) - 1, row, dtype=np.int32))

    def _add_instances(self, instances: list, chunk_verts: np.ndarray, ctx: tuple) -> None:
        """GeometryInstance: template vertices x matrix + reference point become
        new vertices; the template's boundaries then read like any geometry."""
        for row, t, matrix, ref, oid in instances:
            ok_t = isinstance(t, int) and 0 <= t < len(self.templates)
            tpl = self.templates[t] if ok_t else None
            if not isinstance(tpl, dict):
                self.problem("GeometryInstance refers to a missing template", oid)
                continue
            try:
                m = np.eye(4) if matrix is None else np.asarray(matrix, dtype=np.float64)
                m = m.reshape(4, 4)
                if not isinstance(ref, int) or ref < 0:
                    raise IndexError
                ref_xyz = chunk_verts[ref]
            except (TypeError, ValueError, IndexError):
                self.problem("GeometryInstance with a bad matrix or reference point", oid)
                continue
            moved = self.template_vertices @ m[:3, :3].T + m[:3, 3] + ref_xyz
            base = self.n_vertices
            self.vertex_parts.append(moved)
            self.n_vertices += len(moved)
            gtype = tpl.get("type")
            depth = SURFACE_DEPTH.get(gtype)  # type: ignore[arg-type]
            bounds = tpl.get("boundaries")
            if depth is not None and isinstance(bounds, list):
                self.families[depth].add(bounds, row, base, (tpl, ctx, oid))
            elif gtype == "MultiPoint":
                self._add_points(bounds, row, base, oid)
            elif gtype == "MultiLineString":
                self._add_lines(bounds, row, base, oid)
            else:
                self.problem(f"template of unsupported type {gtype!r}", oid)

    # -- flattening --
    def flush(self) -> None:
        """Flatten the collected geometries into numpy arrays and drop the lists."""
        for depth, fam in self.families.items():
            if fam.bounds:
                self._flush_family(fam)
            self.families[depth] = _Family(depth)
        self.pending = 0

    def _flush_family(self, fam: _Family) -> None:
        depth = fam.depth
        try:
            surfaces, owner = _surfaces_of(fam.bounds, depth)
            pv, ring_len, surf_rings = _rings_of(surfaces)
        except (TypeError, ValueError, OverflowError):
            good = [self._geom_ok(b, depth) for b in fam.bounds]
            for ok, (_, _, oid) in zip(good, fam.geoms, strict=True):
                if not ok:
                    self.problem("malformed boundaries (not nested arrays of indices)", oid)
            keep = [i for i, ok in enumerate(good) if ok]
            if not keep:
                return
            sub = _Family(depth)
            for i in keep:
                sub.add(fam.bounds[i], fam.rows[i], fam.voff[i], fam.geoms[i])
            fam = sub
            surfaces, owner = _surfaces_of(fam.bounds, depth)
            pv, ring_len, surf_rings = _rings_of(surfaces)
        n_geoms = len(fam.bounds)
        n_surf = len(surfaces)
        del surfaces
        geom_surf = np.bincount(owner, minlength=n_geoms)
        voff = np.asarray(fam.voff, dtype=np.int64)
        if voff.any():
            pts_per_surf = np.bincount(
                np.repeat(np.arange(n_surf), surf_rings), weights=ring_len, minlength=n_surf
            ).astype(np.int64)
            pv = pv + np.repeat(voff[owner], pts_per_surf)
        rows = np.asarray(fam.rows, dtype=np.int32)[owner]
        code = self._semantics(fam, geom_surf, depth)
        mat = self._materials(fam, geom_surf, depth)
        tex, uv = self._textures(fam, geom_surf, depth, ring_len, surf_rings)
        parts = self.s_parts
        parts["pv"].append(pv)
        parts["ring_len"].append(ring_len)
        parts["surf_rings"].append(surf_rings)
        parts["row"].append(rows)
        parts["code"].append(code)
        parts["mat"].append(mat)
        parts["tex"].append(tex)
        parts["uv"].append(uv)

    @staticmethod
    def _geom_ok(bounds: Any, depth: int) -> bool:
        try:
            surfaces, _ = _surfaces_of([bounds], depth)
            _rings_of(surfaces)
        except (TypeError, ValueError, OverflowError):
            return False
        return True

    def _semantics(self, fam: _Family, geom_surf: np.ndarray, depth: int) -> np.ndarray:
        """Per-surface semantic code; bad ``values`` are ignored with a warning."""
        vals: list[Any] = []
        base: list[int] = []
        size: list[int] = []
        lut: list[int] = [0]
        code_of = self.codes.code
        for (g, _, oid), n in zip(fam.geoms, geom_surf.tolist(), strict=True):
            sem = g.get("semantics")
            if not sem:
                vals.extend(repeat(None, n))
                base.extend(repeat(0, n))
                size.extend(repeat(0, n))
                continue
            try:
                flat = _flat_values(sem.get("values"), depth)
                surfs = sem.get("surfaces") or []
                if len(flat) != n:
                    raise ValueError
            except (TypeError, ValueError, AttributeError):
                self.problem("semantics 'values' do not match the boundaries", oid)
                vals.extend(repeat(None, n))
                base.extend(repeat(0, n))
                size.extend(repeat(0, n))
                continue
            b = len(lut)
            lut.extend(code_of(s.get("type")) if isinstance(s, dict) else 0 for s in surfs)
            vals.extend(flat)
            base.extend(repeat(b, n))
            size.extend(repeat(len(surfs), n))
        if len(lut) == 1:
            return np.zeros(len(vals), dtype=np.int16)
        try:
            v = np.array(vals, dtype=np.float64)
        except (TypeError, ValueError):
            v = np.array([x if isinstance(x, int | float) else None for x in vals], np.float64)
        has = np.isfinite(v)
        bases = np.asarray(base, dtype=np.int64)
        sizes = np.asarray(size, dtype=np.int64)
        vi = np.where(has, v, -1).astype(np.int64)
        bad = has & ((vi < 0) | (vi >= sizes) | (v != vi))
        if bad.any():
            n_bad = int(bad.sum())
            self.notes.append(f"{n_bad} semantic surface values out of range; shown without")
        ok = has & ~bad
        out = np.zeros(len(v), dtype=np.int16)
        out[ok] = np.asarray(lut, dtype=np.int16)[bases[ok] + vi[ok]]
        return out

    def _materials(self, fam: _Family, geom_surf: np.ndarray, depth: int) -> np.ndarray:
        """Validate every material theme; return the chosen theme's index per surface."""
        out: list[Any] = []
        any_mat = False
        for (g, ctx, oid), n in zip(fam.geoms, geom_surf.tolist(), strict=True):
            mat = g.get("material")
            if not mat:
                out.extend(repeat(-1, n))
                continue
            any_mat = True
            base, end = ctx[1], ctx[4]
            chosen: list[Any] | None = None
            try:
                themes = list(mat.items())
            except AttributeError:
                self.problem("'material' is not an object", oid)
                out.extend(repeat(-1, n))
                continue
            for theme, spec in themes:
                per = _theme_values(spec, depth, n)
                if per is None:
                    self.problem(f"material theme {theme!r} does not match the boundaries", oid)
                    continue
                bad = [x for x in per if x is not None and not (0 <= x < end - base)]
                if bad:
                    self.problem(f"material index out of range in theme {theme!r}", oid)
                    continue
                if chosen is None and (self.theme is None or theme == self.theme):
                    chosen = [base + x if x is not None else -1 for x in per]
            out.extend(chosen if chosen is not None else repeat(-1, n))
        if not any_mat:
            return np.full(len(out), -1, dtype=np.int32)
        return np.asarray(out, dtype=np.int32)

    def _textures(
        self,
        fam: _Family,
        geom_surf: np.ndarray,
        depth: int,
        ring_len: np.ndarray,
        surf_rings: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Validate texture references; with textures on, per-surface image index
        and per-point texture-coordinate index (-1 where none)."""
        n_surf = int(geom_surf.sum())
        tex = np.full(n_surf, -1, dtype=np.int32)
        uv = np.full(int(ring_len.sum()), -1, dtype=np.int64) if self.textures_on else None
        if not any("texture" in g for g, _, _ in fam.geoms):
            return tex, (uv if uv is not None else np.empty(0, np.int64))
        surf0 = np.concatenate([[0], np.cumsum(geom_surf)])
        ring0 = np.concatenate([[0], np.cumsum(surf_rings)])
        pt0 = np.concatenate([[0], np.cumsum(ring_len)])
        for k, (g, ctx, oid) in enumerate(fam.geoms):
            spec = g.get("texture")
            if not spec:
                continue
            tex_base, tex_end, uv_base = ctx[2], ctx[5], ctx[3]
            n_tex, n_uv_chunk = tex_end - tex_base, self.n_uv - uv_base
            s_lo, s_hi = int(surf0[k]), int(surf0[k + 1])
            chosen = False
            for theme, tspec in spec.items() if isinstance(spec, dict) else []:
                found = _texture_refs(tspec, depth, surf_rings[s_lo:s_hi], n_tex, n_uv_chunk)
                if isinstance(found, str):
                    self.problem(f"texture theme {theme!r}: {found}", oid)
                    continue
                if chosen or not self.textures_on or (self.theme and theme != self.theme):
                    continue
                chosen = True
                for si, rings in enumerate(found):
                    if rings is None:
                        continue
                    s = s_lo + si
                    r = int(ring0[s])
                    if any(
                        len(u) != n
                        for u, n in zip(rings[1], ring_len[r : r + len(rings[1])], strict=True)
                    ):
                        self.problem(f"texture theme {theme!r}: uv count differs from ring", oid)
                        continue
                    tex[s] = tex_base + rings[0]
                    if uv is not None:
                        for ri, u in enumerate(rings[1]):
                            p = int(pt0[r + ri])
                            uv[p : p + len(u)] = [x + uv_base for x in u]
        return tex, (uv if uv is not None else np.empty(0, np.int64))


def _texture_refs(
    spec: Any, depth: int, surf_rings: np.ndarray, n_tex: int, n_uv: int
) -> list | str:
    """Per surface ``(image, [uv ids per ring])`` or None (untextured), or the
    reason the theme cannot be used. ``[[null]]`` marks an untextured surface
    whatever its ring count, as the specification allows."""
    try:
        per_surface = _flat_values(spec.get("values"), depth)
    except (TypeError, AttributeError):
        return "values do not match the boundaries"
    if len(per_surface) != len(surf_rings):
        return "values do not match the boundaries"
    out: list = []
    for rings, n_rings in zip(per_surface, surf_rings.tolist(), strict=True):
        if not isinstance(rings, list) or not rings:
            return "values do not match the boundaries"
        first = rings[0]
        if not isinstance(first, list) or not first:
            return "values do not match the boundaries"
        if first[0] is None:
            out.append(None)
            continue
        if len(rings) != n_rings:
            return "values do not match the boundaries"
        t = first[0]
        if not isinstance(t, int) or not 0 <= t < n_tex:
            return "texture index out of range"
        uvs = []
        for ring in rings:
            if not isinstance(ring, list) or not ring or ring[0] != t:
                return "values do not match the boundaries"
            u = ring[1:]
            if not all(isinstance(x, int) and 0 <= x < n_uv for x in u):
                return "texture coordinate index out of range"
            uvs.append(u)
        out.append((t, uvs))
    return out


def _theme_values(spec: Any, depth: int, n: int) -> list | None:
    """A material theme's per-surface indices (``value`` or nested ``values``)."""
    if not isinstance(spec, dict):
        return None
    if "value" in spec:
        v = spec["value"]
        return [v] * n if v is None or isinstance(v, int) else None
    try:
        flat = _flat_values(spec.get("values"), depth)
    except TypeError:
        return None
    if len(flat) != n or not all(x is None or isinstance(x, int) for x in flat):
        return None
    return flat


def _vertex(v: Any) -> list[float]:
    try:
        if len(v) == 3:
            return [float(v[0]), float(v[1]), float(v[2])]
    except (TypeError, ValueError, OverflowError):
        pass
    return [np.nan, np.nan, np.nan]


def _uv(v: Any) -> list[float]:
    try:
        return [float(v[0]), float(v[1])]
    except (TypeError, ValueError, IndexError, OverflowError):
        return [np.nan, np.nan]


def _transform(transform: Any, path: Path) -> tuple[np.ndarray, np.ndarray]:
    if transform is None:
        return np.ones(3), np.zeros(3)
    try:
        scale = np.array(transform["scale"], dtype=np.float64).reshape(3)
        translate = np.array(transform["translate"], dtype=np.float64).reshape(3)
    except (TypeError, KeyError, ValueError, OverflowError):
        raise ImportFailed(
            path, "'transform' must hold 3 'scale' and 3 'translate' numbers"
        ) from None
    if not (np.all(np.isfinite(scale)) and np.all(np.isfinite(translate))):
        raise ImportFailed(path, "'transform' has non-finite scale or translate values")
    return scale, translate


def _templates(header: dict, notes: list[str]) -> tuple[list, np.ndarray]:
    gt = header.get("geometry-templates")
    if not isinstance(gt, dict):
        return [], np.empty((0, 3))
    templates = gt.get("templates") if isinstance(gt.get("templates"), list) else []
    tv = gt.get("vertices-templates") or []
    arr = np.array([_vertex(v) for v in tv], dtype=np.float64).reshape(-1, 3)
    if not np.all(np.isfinite(arr)):
        notes.append("some template vertices are not 3 numbers")
    return templates, arr


# -- building the layer -----------------------------------------------------------------------
def _attribute_columns(attrs: list[dict], notes: list[str]) -> dict[str, np.ndarray]:
    keys: dict[str, None] = {}
    for a in attrs:
        if a:
            keys.update(dict.fromkeys(a))
    if len(keys) > MAX_COLUMNS:
        notes.append(f"{len(keys)} attribute names; kept the first {MAX_COLUMNS} as columns")
    out: dict[str, np.ndarray] = {}
    for key in list(keys)[:MAX_COLUMNS]:
        col = [a.get(key) for a in attrs]
        kinds = set(map(type, col))
        if kinds <= {int, float, type(None)} and kinds - {type(None)}:
            try:
                out[key] = np.array(col, dtype=np.float64)
                continue
            except OverflowError:
                pass
        arr = np.empty(len(col), dtype=object)
        arr[:] = col
        out[key] = arr
    return out


def _hierarchy_warnings(c: _Collector, notes: list[str]) -> list[str]:
    """Parent/child links that point nowhere (cjval parents_children_consistency)."""
    known = set(c.ids)
    missing: list[str] = []
    first_parent = [""] * len(c.ids)
    for i, (oid, parents, children) in enumerate(zip(c.ids, c.parents, c.children, strict=True)):
        if isinstance(parents, list) and parents:
            first_parent[i] = str(parents[0])
            if any(p not in known for p in parents):
                missing.append(oid)
        if isinstance(children, list) and any(ch not in known for ch in children):
            missing.append(oid)
    if missing:
        notes.append(
            f"{len(missing)} objects link to parents/children that do not exist "
            f"(ids: {sf.sample_ids(missing)}); links kept as written"
        )
    return first_parent


def _bake_colors(
    c: _Collector,
    tri_mat: np.ndarray,
    rgb: np.ndarray,
) -> None:
    """Material diffuse colours over the semantic defaults (``materials`` option)."""
    lut = np.full((len(c.materials), 3), -1, dtype=np.int16)
    for i, m in enumerate(c.materials):
        color = m.get("diffuseColor") if isinstance(m, dict) else None
        try:
            lut[i] = np.clip(np.asarray(color, dtype=np.float64).reshape(3), 0, 1) * 255
        except (TypeError, ValueError):
            continue
    has = tri_mat >= 0
    if has.any() and len(lut):
        col = lut[tri_mat[has]]
        ok = col[:, 0] >= 0
        target = np.flatnonzero(has)[ok]
        rgb[target] = col[ok].astype(np.uint8)


def _safe_texture_path(folder: Path, image: Any) -> Path | None:
    """The image path under the file's folder, or None when it would escape it
    (``..``, absolute, drive letter, UNC share or URL) or does not exist."""
    if not isinstance(image, str) or not image:
        return None
    if "://" in image or image.startswith(("\\\\", "//", "/")) or re.match(r"^[A-Za-z]:", image):
        return None
    root = folder.resolve()
    candidate = (root / image.replace("\\", "/")).resolve()
    try:
        candidate.relative_to(root)
    except ValueError:
        return None
    return candidate if candidate.is_file() else None


def _load_texture(path: Path) -> np.ndarray | None:
    from PIL import Image

    try:
        with Image.open(path) as img:
            if img.width * img.height > MAX_TEXTURE_PIXELS:
                return None
            return np.asarray(img.convert("RGB"), dtype=np.uint8)
    except (OSError, ValueError, Image.DecompressionBombError):
        return None


def _bake_textures(
    c: _Collector,
    folder: Path,
    tri_pos: np.ndarray,
    tri_tex: np.ndarray,
    point_uv: np.ndarray,
    rgb: np.ndarray,
    notes: list[str],
) -> int:
    """Mean texture colour under each triangle into ``rgb`` (``textures`` option).

    The renderer draws one colour per cell, so the texture is sampled at the
    triangle's centroid and half-way to each corner and averaged: façades and
    roofs get their real tint without a per-actor texture atlas.
    """
    if not len(tri_pos) or not (tri_tex >= 0).any():
        return 0
    uvs = np.concatenate(c.uv_parts) if c.uv_parts else np.empty((0, 2))
    images: dict[int, np.ndarray | None] = {}
    refused: list[str] = []
    used = 0
    for t in np.unique(tri_tex[tri_tex >= 0]).tolist():
        spec = c.textures[t] if t < len(c.textures) else None
        image = spec.get("image") if isinstance(spec, dict) else None
        path = _safe_texture_path(folder, image)
        img = _load_texture(path) if path is not None else None
        if img is None:
            refused.append(str(image))
        images[t] = img
    for t, img in images.items():
        if img is None:
            continue
        sel = np.flatnonzero(tri_tex == t)
        corner_uv = point_uv[tri_pos[sel]]  # (k, 3)
        ok = np.all(corner_uv >= 0, axis=1)
        sel, corner_uv = sel[ok], corner_uv[ok]
        if not len(sel):
            continue
        uv = uvs[corner_uv]  # (k, 3, 2)
        centre = uv.mean(axis=1, keepdims=True)
        samples = np.concatenate([centre, (uv + centre) / 2], axis=1)  # (k, 4, 2)
        h, w = img.shape[:2]
        u = np.mod(np.nan_to_num(samples[..., 0]), 1.0)
        v = np.mod(np.nan_to_num(samples[..., 1]), 1.0)
        px = np.clip((u * w).astype(np.int64), 0, w - 1)
        py = np.clip(((1.0 - v) * h).astype(np.int64), 0, h - 1)
        rgb[sel] = img[py, px].mean(axis=1).astype(np.uint8)
        used += 1
    if refused:
        notes.append(
            f"{len(refused)} textures not used (missing, outside the file's folder, a URL, "
            f"too large or unreadable): {sf.sample_ids(refused)}"
        )
    return used


def _build_layer(
    c: _Collector,
    source: _Source,
    path: Path,
    scene: Scene,
    src_crs: str,
    declared: Any,
    version: str,
    notes: list[str],
    cancel: threading.Event | None,
) -> Layer:
    c.flush()
    n_obj = len(c.ids)
    verts_src = np.concatenate(c.vertex_parts) if c.vertex_parts else np.empty((0, 3))
    valid_v = finite_rows(verts_src)
    verts = to_local(np.where(valid_v[:, None], verts_src, 0.0), src_crs, scene)
    valid_v &= finite_rows(verts)
    n_v = len(verts)
    if cancel is not None and cancel.is_set():
        raise ImportCancelled(str(path))

    parts = c.s_parts
    cat = {k: (np.concatenate(v) if v else np.empty(0)) for k, v in parts.items()}
    pv = cat["pv"].astype(np.int64)
    ring_len = cat["ring_len"].astype(np.int64)
    surf_rings = cat["surf_rings"].astype(np.int64)
    s_row = cat["row"].astype(np.int32)
    n_surf = len(surf_rings)
    ring_surf = np.repeat(np.arange(n_surf), surf_rings)
    pt_surf = np.repeat(ring_surf, ring_len)
    bad_pt = (pv < 0) | (pv >= n_v)
    bad_pt[~bad_pt] = ~valid_v[pv[~bad_pt]]
    surface_ok = np.ones(n_surf, dtype=bool)
    if bad_pt.any():
        bad_rows = np.unique(s_row[pt_surf[bad_pt]])
        out_of_range = (pv < 0) | (pv >= n_v)
        oor_rows = set(np.unique(s_row[pt_surf[out_of_range]]).tolist())
        for r in bad_rows.tolist():
            reason = (
                "vertex index out of range (wrong_vertex_index)"
                if r in oor_rows
                else "coordinates not finite or out of range"
            )
            c.problem(f"geometry skipped: {reason}", c.ids[r])
        surface_ok = ~np.isin(s_row, bad_rows)
        pv = np.where(bad_pt, 0, pv)
    del cat["pv"], parts["pv"]
    tri = sf.triangulate_batches(verts, pv, ring_len, surf_rings, surface_ok)
    if tri.dropped.any():
        dropped_ids = dict.fromkeys(c.ids[r] for r in s_row[tri.dropped])
        notes.append(
            f"{int(tri.dropped.sum())} degenerate surfaces dropped (fewer than 3 distinct "
            f"points or zero area; objects: {sf.sample_ids(dropped_ids)})"
        )
    tri_v = pv[tri.tris] if len(tri.tris) else np.empty((0, 3), np.int64)
    tri_row = s_row[tri.tri_surface]
    tri_code = cat["code"].astype(np.int16)[tri.tri_surface]
    tri_mat = cat["mat"].astype(np.int32)[tri.tri_surface]
    tri_tex = cat["tex"].astype(np.int32)[tri.tri_surface]
    if cancel is not None and cancel.is_set():
        raise ImportCancelled(str(path))

    # Points and lines.
    extra: list[TriMesh] = []
    if c.point_vids:
        vid = np.concatenate(c.point_vids)
        prow = np.concatenate(c.point_rows)
        ok = (vid >= 0) & (vid < n_v)
        ok[ok] = valid_v[vid[ok]]
        for r in np.unique(prow[~ok]).tolist():
            c.problem("point skipped: vertex index out of range", c.ids[r])
        extra.append(sf.point_markers(verts[vid[ok]], prow[ok], MARKER_SIZE))
    if c.seg_a:
        a = np.concatenate(c.seg_a)
        b = np.concatenate(c.seg_b)
        srow = np.concatenate(c.seg_rows)
        ok = (a >= 0) & (a < n_v) & (b >= 0) & (b < n_v)
        ok[ok] = valid_v[a[ok]] & valid_v[b[ok]]
        for r in np.unique(srow[~ok]).tolist():
            c.problem("line skipped: vertex index out of range", c.ids[r])
        extra.append(sf.line_ribbons(verts, a[ok], b[ok], srow[ok], LINE_WIDTH))

    main = TriMesh(verts, tri_v, tri_row.astype(np.int32))
    mesh = TriMesh.concat([main, *extra]) if extra else main
    n_extra = len(mesh.triangles) - len(tri_v)
    mesh = sf.compact(mesh) if len(mesh.triangles) else TriMesh.empty()

    # Per-triangle arrays: semantic code, default colour.
    code = np.concatenate([tri_code, np.zeros(n_extra, np.int16)])
    type_rgb = sf.type_colors(c.types) if n_obj else np.empty((0, 3), np.uint8)
    rgb = type_rgb[mesh.feature] if len(mesh.feature) else np.empty((0, 3), np.uint8)
    sem_rgb = c.codes.colors()
    has_code = code > 0
    rgb[has_code] = sem_rgb[code[has_code]]
    textured = 0
    if c.materials_on and len(tri_mat):
        _bake_colors(c, np.concatenate([tri_mat, np.full(n_extra, -1, np.int32)]), rgb)
    if c.textures_on:
        point_uv = np.concatenate(parts["uv"]) if parts["uv"] else np.empty(0, np.int64)
        textured = _bake_textures(c, path.parent, tri.tris, tri_tex, point_uv, rgb, notes)

    poly = mesh.to_polydata()
    if len(mesh.triangles):
        poly.cell_data["surface"] = code.astype(np.int16)
        poly.cell_data["rgb_default"] = rgb.astype(np.uint8)

    # Feature table.
    first_parent = _hierarchy_warnings(c, notes)
    classes = np.array(
        [t if (t in KNOWN_TYPES) else "GenericCityObject" for t in c.types], dtype=object
    )
    names = np.array(
        [a.get("name") if isinstance(a.get("name"), str) else "" for a in c.attrs], dtype=object
    )
    if len(mesh.triangles):
        bounds = feature_bounds(
            mesh.points[mesh.triangles.ravel()], np.repeat(mesh.feature, 3), n_obj
        )
    else:
        bounds = np.full((n_obj, 6), np.nan)
    attrs = sf.add_object_columns(
        _attribute_columns(c.attrs, notes), c.types, c.obj_lod, first_parent
    )
    table = (
        FeatureTable(np.array(c.ids, dtype=object), classes, names, bounds, attrs)
        if n_obj
        else FeatureTable.empty()
    )

    # Warnings.
    if c.unknown_types:
        notes.append(
            "unknown CityObject types shown as GenericCityObject: "
            + ", ".join(f"{t} ({n})" for t, n in c.unknown_types.most_common(5))
        )
    if c.unknown_geoms:
        notes.append(
            "unsupported geometry types skipped: "
            + ", ".join(f"{t} ({n})" for t, n in c.unknown_geoms.most_common(5))
        )
    for reason, oids in c.problems.items():
        uniq = list(dict.fromkeys(oids))
        notes.append(f"{len(uniq)} objects: {reason} (ids: {sf.sample_ids(uniq)})")
    if c.lod.fallbacks:
        notes.append(f"{c.lod.fallbacks} objects have no LoD {c.lod.want}; used their nearest LoD")
    if n_obj and not len(mesh.triangles):
        notes.append("no drawable geometry (objects are listed without a mesh)")

    # Tree: one node per type (for per-type visibility), rows in file order.
    tree = sf.type_tree(path.name, c.types)
    counts = Counter(c.types)
    lod_used = Counter(lod for lod in c.obj_lod if lod)
    info: dict[str, Any] = {
        "format": source.kind,
        "version": version,
        "lod": c.lod.want,
        "lod_used": dict(sorted(lod_used.items())),
        "object_counts": dict(sorted(counts.items())),
        "geometry_counts": dict(sorted(c.geom_counts.items())),
        "surface_types": list(c.codes.names),
        "vertices": int(n_v),
        "crs_declared": None if declared is None else str(declared),
        "textures": "off" if not c.textures_on else f"{textured} images baked as colours",
    }
    ext = source.header.get("extensions")
    if isinstance(ext, dict) and ext:
        info["extensions"] = sorted(ext)
    parents, children = c.parents, c.children

    def details(row: int) -> dict[str, dict[str, Any]]:
        links: dict[str, Any] = {}
        if isinstance(parents[row], list):
            links["parents"] = list(parents[row])
        if isinstance(children[row], list):
            links["children"] = list(children[row])
        return {"CityJSON": {"type": c.types[row], "lod": c.obj_lod[row], **links}}

    kind = (
        "buildings"
        if counts and counts.most_common(1)[0][0].startswith("Building")
        else "citymodel"
    )
    return Layer(
        name=_stem(path),
        mesh=poly,
        features=table,
        kind=kind,
        style=Style(mode="native"),
        warnings=notes,
        source=path,
        crs=src_crs,
        details=details,
        tree=tree,
        info=info,
    )


def _stem(path: Path) -> str:
    name = path.name
    for sfx in (".city.jsonl", ".city.json", ".jsonl", ".json"):
        if name.lower().endswith(sfx):
            return name[: -len(sfx)]
    return path.stem


# -- entry points -----------------------------------------------------------------------------
@contextlib.contextmanager
def _gc_paused():
    """Pause the cyclic garbage collector while millions of small lists are made.

    Parsing builds only acyclic containers, yet every allocation burst makes the
    collector rescan the growing heap: on a 4 MB CityJSON that is more than half
    of ``json.load``'s time. Reference counting still frees everything.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def read(
    path: Path,
    scene: Scene,
    options: dict[str, Any],
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> list[Layer]:
    """Import a CityJSON file or CityJSONSeq stream as one layer.

    Options
    -------
    lod : ``"highest"`` (default), ``"lowest"``, or a LoD such as ``"2.2"`` or ``1``.
    textures : bake texture colours into ``rgb_default`` (default False).
    materials : use material diffuse colours (default False).
    theme : appearance theme to use (default: the first one).
    """
    path = Path(path)
    with _gc_paused():
        return _read(path, scene, options, progress, cancel)


def _read(
    path: Path,
    scene: Scene,
    options: dict[str, Any],
    progress: Progress | None,
    cancel: threading.Event | None,
) -> list[Layer]:
    notes: list[str] = []
    try:
        source = _open_source(path, notes)
    except OSError as exc:
        raise ImportFailed(path, f"cannot be read: {exc.strerror or exc}") from None
    header = source.header
    version = _check_header(header, path, notes)
    metadata = header.get("metadata") if isinstance(header.get("metadata"), dict) else {}
    declared = metadata.get("referenceSystem") or header.get("crs")  # 'crs' is pre-1.0
    src_crs = source_crs(declared, scene, notes)
    c = _Collector(path, header, options, notes)
    chunks, source.chunks = source.chunks, None
    for done, chunk in enumerate(chunks, start=1):
        if cancel is not None and cancel.is_set():
            raise ImportCancelled(str(path))
        if source.kind == "CityJSONSeq" and chunk is not header:
            _check_feature(chunk, c, notes)
        c.add_chunk(chunk)
        if chunk is header:  # keep metadata; free the geometry once it is collected
            for key in ("CityObjects", "vertices", "appearance"):
                header.pop(key, None)
        if progress is not None and done % 1000 == 0:
            progress(min(done, source.total), source.total + 1)
    layer = _build_layer(c, source, path, scene, src_crs, declared, version, notes, cancel)
    if progress is not None:
        progress(source.total + 1, source.total + 1)
    return [layer]


def _check_feature(feat: dict, c: _Collector, notes: list[str]) -> None:
    objects = feat.get("CityObjects")
    root = feat.get("id")
    if isinstance(objects, dict) and root is not None and root not in objects:
        notes.append(f"CityJSONFeature id {root!r} matches none of its CityObjects")


def extent(path: Path) -> tuple[str | None, tuple[float, float, float, float]]:
    """Declared CRS (horizontal part) and the x/y bounds of the vertices."""
    path = Path(path)
    notes: list[str] = []
    source = _open_source(path, notes)
    header = source.header
    _check_header(header, path, notes)
    metadata = header.get("metadata") if isinstance(header.get("metadata"), dict) else {}
    try:
        crs = normalize_crs(metadata.get("referenceSystem") or header.get("crs"))
    except ValueError as exc:
        raise ImportFailed(path, str(exc)) from None
    scale, translate = _transform(header.get("transform"), path)
    lo = np.full(2, np.inf)
    hi = np.full(2, -np.inf)
    for chunk in source.chunks:
        verts = chunk.get("vertices") if isinstance(chunk, dict) else None
        if not verts:
            continue
        arr = np.array([_vertex(v) for v in verts], dtype=np.float64) * scale + translate
        arr = arr[finite_rows(arr)]
        if len(arr):
            lo = np.minimum(lo, arr[:, :2].min(axis=0))
            hi = np.maximum(hi, arr[:, :2].max(axis=0))
    if not np.all(np.isfinite(lo)):
        extent_md = metadata.get("geographicalExtent")
        if isinstance(extent_md, list) and len(extent_md) == 6:
            return scene_extent(crs, (extent_md[0], extent_md[1], extent_md[3], extent_md[4]))
        raise ImportFailed(path, "has no vertices with usable coordinates")
    return scene_extent(crs, (float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1])))
