"""CityObjects into feature rows and flat surface arrays: LoD choice, boundary
flattening, semantics, templates and parent/child links. Nothing here reads the
file (:mod:`importers.cityjson.source`) or paints colours
(:mod:`importers.cityjson.appearance`).
"""

from __future__ import annotations

from collections import Counter
from itertools import chain, repeat
from pathlib import Path
from typing import Any

import numpy as np

from importers import surfaces as sf
from importers.cityjson.source import _transform, _vertex
from importers.errors import ImportFailed

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


#: Objects whose stream is flushed into numpy arrays at a time (CityJSONSeq).
FLUSH_OBJECTS = 20_000


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

    def __init__(
        self,
        path: Path,
        header: dict,
        options: dict[str, Any],
        notes: list[str],
        flush_objects: int = FLUSH_OBJECTS,
    ):
        self.path = path
        self.flush_objects = flush_objects
        self.notes = notes
        self.options = options
        self.lod = _LodChooser(options.get("lod"))
        #: bake the mean texture colour into the default colours (``textures``)
        self.bake_textures = bool(options.get("textures", False))
        #: keep the images for the Textures look (``draw_textures``, default on)
        self.draw_textures = bool(options.get("draw_textures", True))
        self.textures_on = self.bake_textures or self.draw_textures
        self.materials_on = bool(options.get("materials", True))
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
        if self.pending >= self.flush_objects:
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


def _uv(v: Any) -> list[float]:
    try:
        return [float(v[0]), float(v[1])]
    except (TypeError, ValueError, IndexError, OverflowError):
        return [np.nan, np.nan]


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
