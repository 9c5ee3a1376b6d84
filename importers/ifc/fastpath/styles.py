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


def _surfaces(style: Any) -> list[Any]:
    """The IfcSurfaceStyles one entry of ``IfcStyledItem.Styles`` stands for."""
    if style.is_a("IfcPresentationStyleAssignment"):
        return [x for x in style.Styles or () if x.is_a("IfcSurfaceStyle")]
    return [style] if style.is_a("IfcSurfaceStyle") else []


def styled_items(
    f: Any, known: dict[int, tuple[int, tuple[int, ...]]] | None = None
) -> dict[int, tuple[int, ...]]:
    """Item id -> the ids of the styles its IfcStyledItems give it, read once
    per file (the inverse attribute costs a lookup per element). ``known``:
    styled items already read from the text (:mod:`.bulk`), by their id."""
    known = known or {}
    out: dict[int, tuple[int, ...]] = {}
    for st in f.by_type("IfcStyledItem"):
        row = known.get(st.id())
        if row is None:
            item = st.Item
            if item is None:
                continue
            row = (item.id(), tuple(s.id() for s in st.Styles or ()))
        out[row[0]] = out.get(row[0], ()) + row[1]
    return out


class Styles:
    """Item styles of one file, each distinct set of styles read once."""

    _UNSUPPORTED = object()

    def __init__(self, f: Any, known: dict[int, tuple[int, tuple[int, ...]]] | None = None):
        self.f = f
        self.by_item = styled_items(f, known)
        self._of_set: dict[tuple[int, ...], Any] = {}

    def __contains__(self, item_id: int) -> bool:
        return item_id in self.by_item

    def of(self, item_id: int) -> Style | None:
        """The style of one item (None: unstyled, the palette decides)."""
        ids = self.by_item.get(item_id)
        if not ids:
            return None
        style = self._of_set.get(ids)
        if style is None:
            self._of_set[ids] = self._UNSUPPORTED
            style = self._of_set[ids] = _style(
                [s for i in ids for s in _surfaces(self.f.by_id(i))]
            )
        if style is self._UNSUPPORTED:
            raise Unsupported("style")
        return style


def _style(surfaces: list[Any]) -> Style:
    """The one shaded surface style of an item, or Unsupported."""
    if len(surfaces) != 1:
        raise Unsupported("several or non-surface styles")
    surface = surfaces[0]
    shading = [x for x in surface.Styles or () if x.is_a("IfcSurfaceStyleShading")]
    if len(shading) != 1 or len(surface.Styles) != 1:
        raise Unsupported("textured or multi-part surface style")
    sh = shading[0]
    if sh.is_a("IfcSurfaceStyleRendering") and sh.DiffuseColour is not None:
        raise Unsupported("rendering with a diffuse colour")
    c = sh.SurfaceColour
    t = getattr(sh, "Transparency", None)
    return Style(
        surface.id(), f"{sh.is_a()}-{sh.id()}", (float(c.Red), float(c.Green), float(c.Blue)),
        float(t) if t is not None else 0.0,
    )  # fmt: skip
