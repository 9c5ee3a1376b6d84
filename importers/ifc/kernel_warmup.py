"""Pay the geometry kernel's first-use costs once per session, not once per import.

The first iterator a process builds costs 6-10 ms more than the next ones
(the kernel's lazy set-up, per schema), and every import runs in a fresh
worker. The worker forkserver imports this module at start-up (see
:func:`importers.ifc.runner.context`), which meshes one extruded box per
schema on one thread, so every worker forks with that set-up done.

One thread on purpose: the forkserver must not own a thread pool when it
forks. Nothing here may fail the forkserver: errors are swallowed (the worker
then just pays the cost itself).
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


def _warm_for_workers() -> None:
    try:
        from importers.ifc.options import IfcOptions
        from importers.ifc.worker import geometry_settings

        warm(IfcOptions().kernel, geometry_settings())
    except Exception:
        pass


_warm_for_workers()
