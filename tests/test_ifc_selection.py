"""The bulk element selection must choose exactly what the one-product rule chooses.

:func:`importers.ifc.selection.select` decides rows and kinds through positional
attribute reads and per-representation memos, for speed; the reference here
is the plain per-product rule (``classify`` and ``is_a`` on every product).
Any divergence would silently drop or add drawn elements.
"""

from __future__ import annotations

from pathlib import Path

import ifcopenshell
import pytest
from conftest import DATA, SHARED
from test_ifc_factory import Box, Model, make_model

from importers.ifc import selection

SUBTRACTIONS = ("IfcOpeningElement", "IfcFeatureElementSubtraction")


def reference(f) -> tuple[list[int], list[str], list[bool]]:
    try:
        products = f.by_type("IfcProduct")
    except RuntimeError:
        return [], [], []
    rows = [
        p
        for p in products
        if selection.attr(p, "Representation") is not None
        and not any(p.is_a(s) for s in SUBTRACTIONS)
    ]
    return (
        [p.id() for p in rows],
        [selection.classify(p) for p in rows],
        [bool(p.is_a("IfcSpace")) for p in rows],
    )


def chosen(f) -> tuple[list[int], list[str], list[bool]]:
    s = selection.select(f)
    return [p.id() for p in s.rows], s.kinds, s.is_space


def _readable(paths) -> list[Path]:
    out = []
    for p in sorted(paths):
        try:
            ifcopenshell.open(str(p))
        except Exception:
            continue  # the malformed ones: the importer's own tests cover them
        out.append(p)
    return out


@pytest.mark.parametrize("path", _readable((DATA / "ifc").glob("*.ifc")), ids=lambda p: p.name)
def test_bulk_selection_matches_the_one_product_rule(path):
    f = ifcopenshell.open(str(path))
    assert chosen(f) == reference(f)


def test_bulk_selection_matches_on_every_corpus_file():
    corpus = SHARED / "ifc"
    if not corpus.is_dir():
        pytest.skip(f"corpus not present: {corpus} (only in the project's shared data)")
    files = _readable(p for p in corpus.rglob("*.ifc") if "legacy" not in p.parts)
    assert len(files) > 20
    differ = []
    for p in files:
        f = ifcopenshell.open(str(p))
        if chosen(f) != reference(f):
            differ.append(p.name)
    assert differ == []


def test_mapped_spaces_and_openings_are_told_apart(tmp_path):
    path = make_model(
        tmp_path / "m.ifc",
        Model(boxes=[Box(), Box(cls="IfcWall")], mapped_instances=3, spaces=2),
    )
    f = ifcopenshell.open(str(path))
    wall = f.by_type("IfcWall")[0]
    # an opening with a body: a row for neither table nor kernel
    opening = f.create_entity(
        "IfcOpeningElement",
        GlobalId=ifcopenshell.guid.new(),
        ObjectPlacement=wall.ObjectPlacement,
        Representation=wall.Representation,
    )
    # a product whose only shape is an axis curve: a row, not for the kernel
    context = wall.Representation.Representations[0].ContextOfItems
    line = f.createIfcPolyline(
        [f.createIfcCartesianPoint((0.0, 0.0, 0.0)), f.createIfcCartesianPoint((5.0, 0.0, 0.0))]
    )
    axis = f.createIfcShapeRepresentation(context, "Axis", "Curve3D", [line])
    beam = f.create_entity(
        "IfcBeam",
        GlobalId=ifcopenshell.guid.new(),
        ObjectPlacement=wall.ObjectPlacement,
        Representation=f.createIfcProductDefinitionShape(None, None, [axis]),
    )
    s = selection.select(f)
    kind = {p.id(): k for p, k in zip(s.rows, s.kinds, strict=True)}
    space = {p.id(): sp for p, sp in zip(s.rows, s.is_space, strict=True)}
    assert opening.id() not in kind
    assert kind[beam.id()] == "none"
    chairs = [p.id() for p in f.by_type("IfcFurnishingElement")]
    assert len(chairs) == 3 and all(kind[c] == "body" for c in chairs)
    spaces = [p.id() for p in f.by_type("IfcSpace")]
    assert len(spaces) == 2 and all(space[sp] and kind[sp] == "body" for sp in spaces)
    assert [p.id() for p in s.of_kind("body", spaces=False)] == [
        p.id() for p in s.rows if kind[p.id()] == "body" and not space[p.id()]
    ]
    assert chosen(f) == reference(f)


def test_text_cleans_what_it_must_and_keeps_the_rest():
    assert selection.text(None) == ""
    assert selection.text("Tường 200") == "Tường 200"
    assert selection.text("a\x00b") == "ab"
    assert selection.text("bad \udcff surrogate") == "bad ? surrogate"
    assert len(selection.text("x" * 5000)) == 1000


def test_kernel_warm_up_meshes_a_box_in_every_schema():
    from importers.ifc import kernel_warmup
    from importers.ifc.options import IfcOptions
    from importers.ifc.worker import geometry_settings

    assert kernel_warmup.warm(IfcOptions().kernel, geometry_settings()) == len(
        kernel_warmup.SCHEMAS
    )
