"""CityGML appearances (1.0, 2.0, 3.0): materials colour faces, parameterized
textures are drawn through the same atlas as CityJSON's (:mod:`twin.textures`).

The reader streams, so appearances are reduced to plain records as each
``appearance`` / ``appearanceMember`` element is read (it is freed right after):
per theme, the ``X3DMaterial`` diffuse colours by target id and the
``ParameterizedTexture`` coordinates by ring id. Global appearances may come
after the geometry they target; nothing is matched until the whole file is read.

Matching: a texture names rings (2.0 ``textureCoordinates ring="#id"``, 3.0
also parallel ``app:ring`` elements), so each ring of a polygon looks up its
own coordinates. A material names surfaces: the polygon itself or a surface
aggregate above it (``MultiSurface``, ``CompositeSurface``, ``Shell``...), the
nearest one wins. One theme is drawn: the ``theme`` option, else the first in
the file (as CityJSON's default); the layer info names it and the others.

Images are resolved against the GML file's folder and never leave it
(:func:`importers.sidefiles.side_file`, as CityJSON). Whatever cannot be used
(a missing or refused image, coordinates that do not fit their ring, back-face
data, georeferenced textures) leaves the face its material or default colour
and is counted in one warning per kind, never raised.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from lxml import etree

from importers import surfaces as sf
from importers.cityjson.appearance import TOTAL_TEXTURE_PIXELS, load_texture
from importers.sidefiles import side_file
from twin import textures
from twin.textures import TextureLayout

GML_IDS = ("{http://www.opengis.net/gml}id", "{http://www.opengis.net/gml/3.2}id")
XLINK_HREF = "{http://www.w3.org/1999/xlink}href"
#: X3D's default diffuse colour, for a material that gives none.
DEFAULT_DIFFUSE = (0.8, 0.8, 0.8)


def gml_id(el: etree._Element) -> str | None:
    return el.get(GML_IDS[0]) or el.get(GML_IDS[1])


def _local(tag: Any) -> str:
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def _child(el: etree._Element, name: str) -> etree._Element | None:
    """The first child called ``name`` in any namespace (lxml's C iterator;
    ``find("{*}name")`` goes through ElementPath, several times slower)."""
    return next(el.iterchildren(f"{{*}}{name}"), None)


def _ref(text: str | None) -> str:
    """``#id`` or ``file.gml#id`` -> ``id``."""
    return (text or "").strip().rpartition("#")[2]


def _floats(text: str | None) -> list[float] | None:
    """Whitespace-separated numbers (plain floats: these lists are short and
    many, where numpy's per-call cost would dominate), or None."""
    try:
        return [float(v) for v in (text or "").split()]
    except ValueError:
        return None


def surface_ids(el: etree._Element) -> tuple[str, ...]:
    """gml:ids of the geometry aggregates around a polygon, nearest first
    (``MultiSurface``, ``CompositeSurface``, ``Shell``, ``Solid``...): the ids a
    material may target. Stops at the first element outside the GML namespace
    (the ``lodN...`` property), so it costs a few steps per polygon."""
    out: list[str] = []
    for anc in el.iterancestors():
        tag = anc.tag
        if not isinstance(tag, str) or not tag.startswith("{http://www.opengis.net/gml"):
            break
        gid = gml_id(anc)
        if gid:
            out.append(gid)
    return tuple(out)


@dataclass(frozen=True)
class PolygonRef:
    """What the geometry reader knows of one polygon for appearance matching.

    ring_ids : gml:id of each ring in the reader's order (exterior first).
    reversed : the rings' points were reversed (``OrientableSurface`` "-").
    """

    polygon_id: str | None
    ring_ids: tuple[str | None, ...]
    aggregate_ids: tuple[str, ...]
    reversed: bool


@dataclass
class _Material:
    rgb: tuple[int, int, int]
    transparency: float
    targets: list[str]


@dataclass
class _Texture:
    image: str
    rings: dict[str, np.ndarray]  # ring id -> (k, 2) float64 coordinates


@dataclass
class _Theme:
    items: list[_Material | _Texture | str] = field(default_factory=list)  # str: href


@dataclass
class Painted:
    """What :meth:`Appearances.paint` leaves for the layer: per triangle
    opacity (None when all opaque) and the texture layout (None: no texture)."""

    opacity: np.ndarray | None = None
    layout: TextureLayout | None = None


class Appearances:
    """Appearance records of one file, gathered while it streams, and the
    polygons they may apply to (one :class:`PolygonRef` per accepted surface)."""

    def __init__(self) -> None:
        self.themes: dict[str, _Theme] = {}
        self.by_id: dict[str, _Material | _Texture] = {}
        self.surfaces: list[PolygonRef | None] = []
        self.skipped: Counter[str] = Counter()

    # -- reading ----------------------------------------------------------------------
    def add(self, prop: etree._Element) -> None:
        """An ``appearance`` (on a city object) or ``appearanceMember`` (global)."""
        for el in prop:
            if _local(el.tag) == "Appearance":
                self.add_appearance(el)
        if prop.get(XLINK_HREF):
            self.skipped["appearances given by reference (xlink:href)"] += 1

    def add_appearance(self, el: etree._Element) -> None:
        """One ``Appearance``: its theme and surface data (or references to it)."""
        theme_el = _child(el, "theme")
        theme = (theme_el.text or "").strip() if theme_el is not None else ""
        items = self.themes.setdefault(theme, _Theme()).items
        for member in el:
            if _local(member.tag) not in ("surfaceDataMember", "surfaceData"):
                continue
            href = member.get(XLINK_HREF)
            if href:
                items.append(_ref(href))
                continue
            for data in member:
                rec = self._surface_data(data)
                if rec is None:
                    continue
                items.append(rec)
                gid = gml_id(data)
                if gid:
                    self.by_id[gid] = rec

    def _surface_data(self, el: etree._Element) -> _Material | _Texture | None:
        kind = _local(el.tag)
        front = _child(el, "isFront")
        if front is not None and (front.text or "").strip().lower() in ("false", "0"):
            self.skipped["back-face materials and textures (isFront false)"] += 1
            return None
        if kind == "X3DMaterial":
            return _material(el)
        if kind == "ParameterizedTexture":
            if next(el.iter("{*}TexCoordGen"), None) is not None:
                self.skipped["textures placed by TexCoordGen"] += 1
            return _texture(el, self.skipped)
        if kind:
            self.skipped[f"{kind} appearances"] += 1
        return None

    def add_surface(self, ref: PolygonRef | None, rings: list[np.ndarray]) -> None:
        """One accepted surface, in the order the reader keeps them; ``rings``
        are the polygon's rings before empty ones were dropped."""
        if ref is not None and len(ref.ring_ids) != len(rings):
            ref = None
        elif ref is not None and not all(len(r) for r in rings):
            kept = tuple(i for i, r in zip(ref.ring_ids, rings, strict=True) if len(r))
            ref = PolygonRef(ref.polygon_id, kept, ref.aggregate_ids, ref.reversed)
        self.surfaces.append(ref)

    # -- matching ---------------------------------------------------------------------
    def choose_theme(self, wanted: object, notes: list[str]) -> str | None:
        if not self.themes:
            return None
        if wanted is not None and str(wanted) in self.themes:
            return str(wanted)
        first = next(iter(self.themes))
        if wanted is not None:
            notes.append(
                f"appearance theme {wanted!r} is not in the file; drew {first!r} "
                f"(themes: {sf.sample_ids(list(self.themes))})"
            )
        return first

    def _theme_items(self, theme: str) -> tuple[list[_Material], list[_Texture], int]:
        mats: list[_Material] = []
        texs: list[_Texture] = []
        missing = 0
        for item in self.themes[theme].items:
            rec = self.by_id.get(item) if isinstance(item, str) else item
            if rec is None:
                missing += 1
            elif isinstance(rec, _Material):
                mats.append(rec)
            else:
                texs.append(rec)
        return mats, texs, missing

    def paint(
        self,
        theme: str,
        rgb: np.ndarray,
        tri: sf.Triangulation,
        ring_len: np.ndarray,
        surf_rings: np.ndarray,
        folder: Path,
        options: dict[str, Any],
        notes: list[str],
    ) -> tuple[dict[str, Any], Painted]:
        """Materials into ``rgb`` (the surface triangles come first), the
        texture layout and opacity into :class:`Painted`, facts for the info."""
        mats, texs, missing = self._theme_items(theme)
        n_surf = len(surf_rings)
        refs = self.surfaces if len(self.surfaces) == n_surf else [None] * n_surf
        facts: dict[str, Any] = {
            "appearance_theme": theme,
            "appearance_themes": list(self.themes),
        }
        out = Painted()
        if missing:
            notes.append(
                f"appearance theme {theme!r}: {missing} surface data references point to "
                "ids not in the file; those faces keep their colour"
            )
        for what, n in self.skipped.items():
            notes.append(f"{n} {what} not drawn; those faces keep their colour")
        surf_mat = _surface_materials(mats, refs) if options.get("materials", True) else None
        m = len(tri.tri_surface)
        if surf_mat is not None:
            tri_mat = surf_mat[tri.tri_surface]
            has = tri_mat >= 0
            lut = np.array([mt.rgb for mt in mats], dtype=np.uint8).reshape(-1, 3)
            rgb[:m][has] = lut[tri_mat[has]]
            facts["materials"] = f"{int(np.count_nonzero(surf_mat >= 0))} surfaces coloured"
            alpha = np.array([1.0 - mt.transparency for mt in mats], dtype=np.float32)
            if has.any() and (alpha[tri_mat[has]] < 1.0).any():
                out.opacity = np.ones(len(rgb), dtype=np.float32)
                out.opacity[:m][has] = alpha[tri_mat[has]]
        if not texs or not options.get("draw_textures", True):
            facts["textures"] = "off" if texs else "none in the theme"
            return facts, out
        surf_tex, point_uv, bad = _surface_uv(texs, refs, ring_len, surf_rings)
        if bad:
            notes.append(
                f"{bad} textured surfaces have texture coordinates that do not match their "
                "rings' points; drawn without the texture"
            )
        # One atlas entry per image file, however many textures name it.
        name_of = np.array([t.image for t in texs], dtype=object)
        used = list(dict.fromkeys(name_of[np.unique(surf_tex[surf_tex >= 0])].tolist()))
        images = _load_images(folder, used, notes)
        ok = [(n, img) for n, img in zip(used, images, strict=True) if img is not None]
        drawn = [img for _, img in ok]
        slot_of = {n: k for k, (n, _) in enumerate(ok)}
        slot = np.array([slot_of.get(n, -1) for n in name_of], dtype=np.int64)
        facts["textures"] = (
            f"{len(drawn)} of {len(used)} images drawn" if used else "none matched a surface"
        )
        if not drawn or not m:
            return facts, out
        atlas = textures.pack(drawn)
        tri_tex = surf_tex[tri.tri_surface]
        image = np.where(tri_tex >= 0, slot[np.maximum(tri_tex, 0)], -1)
        corner_uv, textured, clamped = textures.atlas_uv(atlas, image, point_uv[tri.tris])
        if clamped:
            notes.append(
                f"{clamped} textured triangles repeat their image; drawn stretched to one "
                "copy (the texture atlas cannot tile)"
            )
        out.layout = TextureLayout(corner_uv, textured, atlas.image, clamped)
        return facts, out


def _unit(v: float) -> float:
    """Clamped to [0, 1]; NaN -> 0."""
    return min(max(v, 0.0), 1.0) if v == v else 0.0


def _material(el: etree._Element) -> _Material:
    diffuse: list[float] | tuple[float, ...] | None = None
    transp: list[float] | None = None
    targets: list[str] = []
    for child in el:
        name = _local(child.tag)
        if name == "diffuseColor":
            diffuse = _floats(child.text)
        elif name == "transparency":
            transp = _floats(child.text)
        elif name == "target" and child.text:
            targets.append(_ref(child.text))
    if diffuse is None or len(diffuse) != 3:
        diffuse = DEFAULT_DIFFUSE
    r, g, b = (round(_unit(c) * 255) for c in diffuse)
    alpha = _unit(transp[0]) if transp is not None and len(transp) == 1 else 0.0
    return _Material((r, g, b), alpha, targets)


def _texture(el: etree._Element, skipped: Counter[str]) -> _Texture:
    uri = _child(el, "imageURI")
    rings: dict[str, np.ndarray] = {}
    for tcl in el.iter("{*}TexCoordList"):
        coords = [c for c in tcl if _local(c.tag) == "textureCoordinates"]
        ring_els = [c for c in tcl if _local(c.tag) == "ring"]  # 3.0: parallel elements
        for k, c in enumerate(coords):
            rid = c.get("ring") or (ring_els[k].text if k < len(ring_els) else None)
            uv = _floats(c.text)
            if not rid or uv is None or len(uv) % 2:
                skipped["texture coordinate lists unreadable or naming no ring"] += 1
                continue
            rings[_ref(rid)] = np.array(uv, dtype=np.float64).reshape(-1, 2)
    return _Texture((uri.text or "").strip() if uri is not None else "", rings)


def _surface_materials(mats: list[_Material], refs: list[PolygonRef | None]) -> np.ndarray:
    """(s,) material index of each surface (-1: none): the polygon's own id
    first, then the aggregates around it, nearest first."""
    target: dict[str, int] = {}
    for k, mt in enumerate(mats):
        for t in mt.targets:
            target.setdefault(t, k)
    out = np.full(len(refs), -1, dtype=np.int64)
    if not target:
        return out
    for s, ref in enumerate(refs):
        if ref is None:
            continue
        for key in (ref.polygon_id, *ref.aggregate_ids):
            if key is not None and key in target:
                out[s] = target[key]
                break
    return out


def _fit(uv: np.ndarray, n: int) -> np.ndarray | None:
    """Coordinates for a ring of ``n`` points: equal counts, or one closing
    point more or less on either side; None when they cannot belong together."""
    if len(uv) == n:
        return uv
    if len(uv) == n + 1 and np.allclose(uv[0], uv[-1]):
        return uv[:-1]
    if len(uv) == n - 1 and len(uv):
        return np.vstack([uv, uv[:1]])
    return None


def _surface_uv(
    texs: list[_Texture],
    refs: list[PolygonRef | None],
    ring_len: np.ndarray,
    surf_rings: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, int]:
    """(s,) texture of each surface (-1: none), (p, 2) coordinates of every
    ring point (NaN where none), and how many surfaces did not fit."""
    by_ring: dict[str, tuple[int, np.ndarray]] = {}
    for t, tex in enumerate(texs):
        for rid, uv in tex.rings.items():
            by_ring.setdefault(rid, (t, uv))
    ring_len = np.asarray(ring_len, dtype=np.int64)
    ring0 = np.concatenate([[0], np.cumsum(surf_rings)]).astype(np.int64)
    pt0 = np.concatenate([[0], np.cumsum(ring_len)]).astype(np.int64)
    point_uv = np.full((int(pt0[-1]), 2), np.nan)
    surf_tex = np.full(len(refs), -1, dtype=np.int64)
    bad = 0
    for s, ref in enumerate(refs):
        if ref is None or not ref.ring_ids or ref.ring_ids[0] not in by_ring:
            continue
        t = by_ring[ref.ring_ids[0]][0]
        spans = []
        for k, rid in enumerate(ref.ring_ids):
            r = int(ring0[s]) + k
            hit = by_ring.get(rid) if rid else None
            uv = _fit(hit[1], int(ring_len[r])) if hit is not None and hit[0] == t else None
            if uv is None and k == 0:
                break
            if uv is not None:
                spans.append((r, uv[::-1] if ref.reversed else uv))
        if not spans:
            bad += 1
            continue
        surf_tex[s] = t
        for r, uv in spans:
            point_uv[pt0[r] : pt0[r + 1]] = uv
    return surf_tex, point_uv, bad


def _load_images(folder: Path, names: list[str], notes: list[str]) -> list[np.ndarray | None]:
    """The images, read once each from the GML file's folder (never outside
    it); one warning names those that cannot be used."""
    found: list[Path | None] = []
    refused = 0
    for name in names:
        path, out = side_file(folder, name)
        found.append(path)
        refused += out
    budget = max(64 * 64, TOTAL_TEXTURE_PIXELS // max(1, sum(p is not None for p in found)))
    images = [load_texture(p, budget) if p is not None else None for p in found]
    bad = [n for n, img in zip(names, images, strict=True) if img is None]
    if bad:
        why = f"; {refused} refused: outside the file's folder or a URL" if refused else ""
        notes.append(
            f"{len(bad)} texture images not used, their surfaces keep their colour "
            f"(missing, too large or unreadable{why}): {sf.sample_ids(bad)}"
        )
    return images


class LayerHooks:
    """The ``recolor`` and ``texture`` steps :func:`importers.surface_layer.build_layer`
    calls, and :meth:`finish` for the per-cell opacity of transparent materials.

    Options: ``theme`` (default: the first in the file), ``materials`` (default
    True: diffuse colours paint the faces), ``draw_textures`` (default True).
    """

    def __init__(
        self,
        app: Appearances,
        options: dict[str, Any],
        folder: Path,
        ring_len: np.ndarray,
        surf_rings: np.ndarray,
        notes: list[str],
    ) -> None:
        self.app, self.options, self.folder = app, options, folder
        self.ring_len, self.surf_rings, self.notes = ring_len, surf_rings, notes
        self.painted = Painted()

    def recolor(self, rgb: np.ndarray, tri: sf.Triangulation, n_extra: int) -> dict[str, Any]:
        theme = self.app.choose_theme(self.options.get("theme"), self.notes)
        if theme is None:
            return {}
        facts, self.painted = self.app.paint(
            theme, rgb, tri, self.ring_len, self.surf_rings, self.folder, self.options, self.notes
        )
        return facts

    def texture(self, _tri: sf.Triangulation) -> TextureLayout | None:
        return self.painted.layout

    def finish(self, mesh: Any) -> None:
        """Transparent materials: per-cell opacity, drawn see-through in the
        native style (:data:`twin.style.NATIVE_OPACITY_ARRAY`)."""
        from twin.style import NATIVE_OPACITY_ARRAY

        opacity = self.painted.opacity
        if opacity is not None and len(opacity) == mesh.n_cells:
            mesh.cell_data[NATIVE_OPACITY_ARRAY] = opacity
