"""Pay the geometry kernel's first-use costs once per session, not once per import.

The first iterator a process builds costs 6-10 ms more than the next ones
(the kernel's lazy set-up, per schema), and every import runs in a fresh
worker. :mod:`importers.ifc.preload` calls :func:`warm` in the worker
forkserver, so every worker forks with that set-up done; ``bench/bench_ifc.py``
calls it in its raw loop's process too, so the comparison stays fair.

One thread on purpose: the forkserver must not own a thread pool when it
forks. Errors are swallowed (a process that cannot warm up just pays the cost
later). Needs only IfcOpenShell, so the benchmark can load this file alone.
"""

from __future__ import annotations

from typing import Any

SCHEMAS = ("IFC2X3", "IFC4", "IFC4X3_ADD2")


def _one_box(schema: str) -> tuple[Any, list[Any]]:
    """A minimal file of ``schema``: one proxy with a 1 m extruded square."""
    import ifcopenshell

    f = ifcopenshell.file(schema=schema)
    origin = f.createIfcCartesianPoint((0.0, 0.0, 0.0))
    axes = f.createIfcAxis2Placement3D(origin, None, None)
    context = f.createIfcGeometricRepresentationContext(None, "Model", 3, 1e-5, axes, None)
    square = f.createIfcRectangleProfileDef(
        "AREA",
        None,
        f.createIfcAxis2Placement2D(f.createIfcCartesianPoint((0.0, 0.0)), None),
        1.0,
        1.0,
    )
    solid = f.createIfcExtrudedAreaSolid(square, axes, f.createIfcDirection((0.0, 0.0, 1.0)), 1.0)
    body = f.createIfcShapeRepresentation(context, "Body", "SweptSolid", [solid])
    shape = f.createIfcProductDefinitionShape(None, None, [body])
    placement = f.createIfcLocalPlacement(None, axes)
    proxy = f.createIfcBuildingElementProxy(
        ifcopenshell.guid.new(), None, "warm-up", None, None, placement, shape, None
    )
    return f, [proxy]


def warm(kernel: str, settings: Any) -> int:
    """Mesh one box per schema with ``kernel``; how many schemas succeeded."""
    import ifcopenshell.geom

    done = 0
    for schema in SCHEMAS:
        try:
            f, products = _one_box(schema)
            it = ifcopenshell.geom.iterator(
                settings, f, 1, include=products, geometry_library=kernel
            )
            if it.initialize():
                while it.next():
                    pass
            done += 1
        except Exception:  # a warm-up never breaks the forkserver
            continue
    return done
