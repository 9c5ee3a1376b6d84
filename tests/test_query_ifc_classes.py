"""``class = X`` follows the IFC schema's inheritance (twin.ifc_classes)."""

from __future__ import annotations

import numpy as np

from twin.features import FeatureTable
from twin.ifc_classes import IFC_PARENTS, ancestors, descendants
from twin.query import search

CLASSES = [
    "IfcWall",
    "IfcWallStandardCase",
    "IfcWallElementedCase",
    "IfcSlabStandardCase",
    "IfcBeamStandardCase",
    "IfcColumnStandardCase",
    "IfcDoorStandardCase",
    "IfcWindowStandardCase",
    "IfcMemberStandardCase",
    "IfcPlateStandardCase",
    "IfcOpeningStandardCase",
    "IfcSlabElementedCase",
    "IfcSpace",
    "office",
]


def _table(classes: list[str]) -> FeatureTable:
    n = len(classes)
    return FeatureTable(
        np.array([f"e{i}" for i in range(n)], dtype=object),
        np.array(classes, dtype=object),
        np.array([""] * n, dtype=object),
        np.zeros((n, 6)),
        {"height": np.arange(n, dtype=float)},
    )


def test_class_query_finds_subclasses():
    table = _table(CLASSES)
    assert search(table, "class = IfcWall").tolist() == [0, 1, 2]
    assert search(table, "class = ifcwall").tolist() == [0, 1, 2]
    assert search(table, "class = IfcWallStandardCase").tolist() == [1]
    assert search(table, "class = IfcSlab").tolist() == [3, 11]
    assert search(table, "class != IfcWall").tolist() == list(range(3, len(CLASSES)))
    assert search(table, "class = IfcWall and height >= 1").tolist() == [1, 2]
    # every element but the non-IFC class
    assert search(table, "class = IfcProduct").tolist() == list(range(len(CLASSES) - 1))
    # an opening is a feature element, not a building element
    assert search(table, "class = IfcBuildingElement").tolist() == [*range(10), 11]
    assert search(table, "class = office").tolist() == [13]


def test_the_standard_cases_have_their_parents():
    for child, parent in [
        ("IfcWallStandardCase", "IfcWall"),
        ("IfcSlabStandardCase", "IfcSlab"),
        ("IfcBeamStandardCase", "IfcBeam"),
        ("IfcColumnStandardCase", "IfcColumn"),
        ("IfcDoorStandardCase", "IfcDoor"),
        ("IfcWindowStandardCase", "IfcWindow"),
        ("IfcMemberStandardCase", "IfcMember"),
        ("IfcPlateStandardCase", "IfcPlate"),
        ("IfcOpeningStandardCase", "IfcOpeningElement"),
        ("IfcWallElementedCase", "IfcWall"),
        ("IfcSlabElementedCase", "IfcSlab"),
    ]:
        assert parent in ancestors(child)
        assert {"IfcElement", "IfcProduct"} <= ancestors(child)
        assert child.lower() in descendants(parent)
    # IFC4X3 renamed the building element: both chains are kept
    assert {"IfcBuildingElement", "IfcBuiltElement"} <= ancestors("IfcWall")
    assert "IfcProduct" not in IFC_PARENTS
