"""Write a user placement into a copy of an IFC file, as the file's own georeferencing.

A model placed by hand (``at``, the placement dialog) lands in the right spot
only with CityTwin's options; the engineer can hand on a copy that carries the
placement as an ``IfcMapConversion`` into an ``IfcProjectedCRS`` (VN-2000,
the scene's EPSG code), or in IFC2X3 as ``ePSet_MapConversion`` /
``ePSet_ProjectedCRS`` on the project, both written with
``ifcopenshell.api.georeference``. Opened without options the copy is placed
the same way: the importer reads the conversion before anything else.

IfcOpenShell is native code and must not be loaded into the app process
(tests/test_boundaries.py), so :func:`write_placement_copy` runs
:func:`write_in_child` in one of the importers' child processes through
:func:`importers.sandbox.call`; this module imports IfcOpenShell only inside
that function.
"""

from __future__ import annotations

import contextlib
import math
from pathlib import Path
from typing import Any

from importers.ifc.placement_math import map_conversion

#: Schemas whose georeferencing ``ifcopenshell.api.georeference`` writes.
SUPPORTED_SCHEMAS = ("IFC2X3", "IFC4", "IFC4X3")


class WriteBackError(ValueError):
    """The placement cannot be written into this file (shown as one line)."""


def crs_facts(crs: str) -> dict[str, Any]:
    """IfcProjectedCRS attributes of a scene CRS (``EPSG:9208``), from pyproj in
    the parent, so the child needs no CRS database."""
    from pyproj import CRS

    c = CRS.from_user_input(crs)
    auth = c.to_authority(min_confidence=90)
    if not c.is_projected or auth is None:
        raise WriteBackError(f"{crs} is not a projected CRS with an EPSG code")
    projection = ""
    zone = ""
    if c.coordinate_operation is not None:
        projection = c.coordinate_operation.method_name or ""
        zone = c.coordinate_operation.name or ""
    factor = 1.0
    with contextlib.suppress(IndexError, TypeError, AttributeError):
        factor = float(c.axis_info[0].unit_conversion_factor)
    if abs(factor - 1.0) > 1e-12:
        raise WriteBackError(f"{crs} is not in metres")
    return {
        "Name": f"{auth[0]}:{auth[1]}",
        "Description": c.name,
        "GeodeticDatum": c.datum.name if c.datum is not None else "",
        "MapProjection": projection,
        "MapZone": zone,
    }


def write_placement_copy(
    src: Path | str, dst: Path | str, at: tuple[float, ...], crs: str
) -> dict[str, Any]:
    """Copy ``src`` to ``dst`` with the placement ``at`` (E, N, H, rotation in
    degrees, in ``crs``) as its georeferencing, replacing what it had; returns
    what was written. Runs in a child process; raises :class:`WriteBackError`
    for a file it cannot write, :class:`importers.errors.ImportFailed` when the
    child dies."""
    from importers import sandbox

    src, dst = Path(src), Path(dst)
    if src.resolve() == dst.resolve():
        raise WriteBackError("write the placement into a copy, not over the original file")
    if src.suffix.lower() != ".ifc":
        raise WriteBackError(f"{src.name}: only plain .ifc files can be written back")
    values = [float(v) for v in at] + [0.0] * (4 - len(at))
    if not all(math.isfinite(v) for v in values):
        raise WriteBackError("the placement must be finite numbers")
    return sandbox.call(
        src,
        "importers.ifc.writeback:write_in_child",
        str(src),
        str(dst),
        values[:4],
        crs_facts(crs),
    )


def write_in_child(src: str, dst: str, at: list[float], crs: dict[str, Any]) -> dict[str, Any]:
    """Child side: open, remove the old georeferencing, add the new, write ``dst``."""
    import ifcopenshell
    import ifcopenshell.api.georeference as georeference
    import ifcopenshell.util.unit as unit_util

    f = ifcopenshell.open(src)
    schema = f.schema_identifier if hasattr(f, "schema_identifier") else f.schema
    family = next((s for s in SUPPORTED_SCHEMAS if schema.upper().startswith(s)), None)
    if family is None:
        raise WriteBackError(f"schema {schema} is not supported for writing georeferencing")
    if not f.by_type("IfcProject"):
        raise WriteBackError("the file has no IfcProject to georeference")
    if not f.by_type("IfcGeometricRepresentationContext", include_subtypes=False):
        raise WriteBackError("the file has no model context to georeference")
    unit_m = float(unit_util.calculate_unit_scale(f))
    conversion = map_conversion(tuple(at), unit_m)
    # nothing to remove, or a half-written one: added anew below either way
    with contextlib.suppress(Exception):
        georeference.remove_georeferencing(f)
    georeference.add_georeferencing(f, ifc_class="IfcMapConversion", name=crs["Name"])
    projected = {k: v for k, v in crs.items() if v}
    if family == "IFC2X3":
        # ePSet_ProjectedCRS on the project: MapUnit is a unit name there.
        projected["MapUnit"] = "METRE"
        georeference.edit_georeferencing(
            f, coordinate_operation=conversion, projected_crs=projected
        )
    else:
        projected["MapUnit"] = f.createIfcSIUnit(None, "LENGTHUNIT", None, "METRE")
        georeference.edit_georeferencing(
            f, coordinate_operation=conversion, projected_crs=projected
        )
    f.write(dst)
    return {
        "schema": schema,
        "crs": crs["Name"],
        "at": at,
        "written": dst,
        "method": "ePSet_MapConversion" if family == "IFC2X3" else "IfcMapConversion",
    }


__all__ = ["WriteBackError", "crs_facts", "write_in_child", "write_placement_copy"]
