"""Surface colours of representation items, named as the kernel names them.

The kernel reports a style as a material called ``<shading entity>-<id>``
with the IfcSurfaceStyle's id, so the fast path and the kernel share one
material row per style. Styles the fast path cannot reproduce exactly
(rendering with a separate diffuse colour, textures) raise Unsupported.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from importers.ifc.fastpath.placement import Unsupported


class Style(NamedTuple):
    iid: int
    name: str
    rgb: tuple[float, float, float]
    transparency: float


def _surface_styles(styled: Any) -> list[Any]:
    out = []
    for s in styled.Styles or ():
        if s.is_a("IfcPresentationStyleAssignment"):
            out.extend(x for x in s.Styles or () if x.is_a("IfcSurfaceStyle"))
        elif s.is_a("IfcSurfaceStyle"):
            out.append(s)
    return out


def styled_items(f: Any) -> dict[int, list[Any]]:
    """Item id -> its IfcStyledItems, read once per file (the inverse
    attribute costs a lookup per element)."""
    out: dict[int, list[Any]] = {}
    for st in f.by_type("IfcStyledItem"):
        if st.Item is not None:
            out.setdefault(st.Item.id(), []).append(st)
    return out


def item_style(
    item: Any, cache: dict[int, Style | None], styled: dict[int, list[Any]]
) -> Style | None:
    """The style of one item (None: unstyled, the palette decides)."""
    styled_by = styled.get(item.id())
    if not styled_by:
        return None
    surfaces = [s for st in styled_by for s in _surface_styles(st)]
    if len(surfaces) != 1:
        raise Unsupported("several or non-surface styles")
    surface = surfaces[0]
    key = surface.id()
    if key in cache:
        style = cache[key]
        if style is None:
            raise Unsupported("style")
        return style
    cache[key] = None
    shading = [x for x in surface.Styles or () if x.is_a("IfcSurfaceStyleShading")]
    if len(shading) != 1 or len(surface.Styles) != 1:
        raise Unsupported("textured or multi-part surface style")
    sh = shading[0]
    if sh.is_a("IfcSurfaceStyleRendering") and sh.DiffuseColour is not None:
        raise Unsupported("rendering with a diffuse colour")
    c = sh.SurfaceColour
    t = getattr(sh, "Transparency", None)
    style = Style(
        key, f"{sh.is_a()}-{sh.id()}", (float(c.Red), float(c.Green), float(c.Blue)),
        float(t) if t is not None else 0.0,
    )  # fmt: skip
    cache[key] = style
    return style
