"""Tiny IFC models built in memory for the IFC importer tests.

Georeferencing cases (units, map conversions, IFC2X3 property sets, site
latitude/longitude, VN-2000) need exact, known inputs, which no sample file
gives, so :func:`make_model` writes them with IfcOpenShell. The tests in this
module only check that the factory itself produces what it promises.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import ifcopenshell
import ifcopenshell.guid
import pytest


@dataclass
class Box:
    """An extruded rectangle: min corner ``at`` and ``size``, in project units."""

    at: tuple[float, float, float] = (0.0, 0.0, 0.0)
    size: tuple[float, float, float] = (1.0, 1.0, 1.0)
    cls: str = "IfcBuildingElementProxy"
    name: str = "box"
    color: tuple[float, float, float] | None = None
    transparency: float = 0.0


@dataclass
class Model:
    schema: str = "IFC4"
    unit_mm: bool = False
    boxes: list[Box] = field(default_factory=lambda: [Box()])
    #: dict(E, N, H, xaa, xao, scale, cls="IfcMapConversion"/"IfcMapConversionScaled")
    map_conversion: dict | None = None
    #: dict(name="EPSG:9208", map_unit="METRE"|"MILLIMETRE"|None, wkt=None)
    crs: dict | None = None
    #: IFC2X3 convention: {"ePSet_MapConversion": {...}, "ePSet_ProjectedCRS": {...}}
    epsets: dict | None = None
    site_latlon: tuple[float, float, float] | None = None
    site_at: tuple[float, float, float] = (0.0, 0.0, 0.0)
    true_north: tuple[float, float] | None = None
    mapped_instances: int = 0
    spaces: int = 0
    psets: dict = field(default_factory=dict)


def _dms(value: float) -> tuple[int, int, int, int]:
    sign = -1 if value < 0 else 1
    v = abs(value)
    d = int(v)
    m = int((v - d) * 60)
    s_float = (v - d - m / 60) * 3600
    s = int(s_float)
    micro = round((s_float - s) * 1e6)
    return (sign * d, sign * m, sign * s, sign * micro)


def make_model(path: Path, model: Model) -> Path:
    """Write ``model`` as an IFC file at ``path`` and return the path."""
    f = ifcopenshell.file(schema=model.schema)
    g = ifcopenshell.guid.new
    person = f.createIfcPerson(None, "t", None, None, None, None, None, None)
    org = f.createIfcOrganization(None, "t", None, None, None)
    pao = f.createIfcPersonAndOrganization(person, org, None)
    app = f.createIfcApplication(org, "1", "citytwin tests", "citytwin")
    owner = f.createIfcOwnerHistory(pao, app, None, "ADDED", None, None, None, 0)
    length = f.createIfcSIUnit(None, "LENGTHUNIT", "MILLI" if model.unit_mm else None, "METRE")
    angle = f.createIfcSIUnit(None, "PLANEANGLEUNIT", None, "RADIAN")
    units = f.createIfcUnitAssignment([length, angle])
    origin = f.createIfcCartesianPoint((0.0, 0.0, 0.0))
    wcs = f.createIfcAxis2Placement3D(origin, None, None)
    north = f.createIfcDirection(model.true_north) if model.true_north else None
    ctx = f.createIfcGeometricRepresentationContext(None, "Model", 3, 1e-5, wcs, north)
    body = f.createIfcGeometricRepresentationSubContext(
        "Body", "Model", None, None, None, None, ctx, None, "MODEL_VIEW", None
    )
    project = f.createIfcProject(g(), owner, "P", None, None, None, None, [ctx], units)

    def placement(xyz, rel=None):
        p = f.createIfcAxis2Placement3D(f.createIfcCartesianPoint(tuple(map(float, xyz))))
        return f.createIfcLocalPlacement(rel, p)

    site_pl = placement(model.site_at)
    lat = lon = elev = None
    if model.site_latlon is not None:
        lat, lon = _dms(model.site_latlon[0]), _dms(model.site_latlon[1])
        elev = model.site_latlon[2]
    site = f.createIfcSite(
        g(), owner, "Site", None, None, site_pl, None, None, "ELEMENT", lat, lon, elev, None, None
    )
    bldg_pl = placement((0, 0, 0), site_pl)
    building = f.createIfcBuilding(g(), owner, "B", None, None, bldg_pl, None, None, "ELEMENT")
    storey_pl = placement((0, 0, 0), bldg_pl)
    storey = f.createIfcBuildingStorey(
        g(), owner, "Ground floor", None, None, storey_pl, None, None, "ELEMENT", 0.0
    )
    f.createIfcRelAggregates(g(), owner, None, None, project, [site])
    f.createIfcRelAggregates(g(), owner, None, None, site, [building])
    f.createIfcRelAggregates(g(), owner, None, None, building, [storey])
    up = f.createIfcDirection((0.0, 0.0, 1.0))

    def solid(size):
        prof_pl = f.createIfcAxis2Placement2D(
            f.createIfcCartesianPoint((size[0] / 2, size[1] / 2)), None
        )
        prof = f.createIfcRectangleProfileDef("AREA", None, prof_pl, size[0], size[1])
        return f.createIfcExtrudedAreaSolid(prof, wcs, up, size[2])

    def style(item, color, transparency):
        rgb = f.createIfcColourRgb(None, *color)
        if model.schema == "IFC2X3":
            rendering = f.createIfcSurfaceStyleRendering(
                rgb, transparency, None, None, None, None, None, None, "FLAT"
            )
            ss = f.createIfcSurfaceStyle(None, "BOTH", [rendering])
            assign = f.createIfcPresentationStyleAssignment([ss])
            f.createIfcStyledItem(item, [assign], None)
        else:
            rendering = f.createIfcSurfaceStyleRendering(
                rgb, transparency, None, None, None, None, None, None, "FLAT"
            )
            ss = f.createIfcSurfaceStyle(None, "BOTH", [rendering])
            f.createIfcStyledItem(item, [ss], None)

    elements = []
    for i, box in enumerate(model.boxes):
        item = solid(box.size)
        if box.color is not None:
            style(item, box.color, box.transparency)
        rep = f.createIfcShapeRepresentation(body, "Body", "SweptSolid", [item])
        shape = f.createIfcProductDefinitionShape(None, None, [rep])
        el = f.create_entity(
            box.cls,
            GlobalId=g(),
            OwnerHistory=owner,
            Name=box.name if box.name != "box" else f"box {i}",
            ObjectPlacement=placement(box.at, storey_pl),
            Representation=shape,
        )
        elements.append(el)
    if model.mapped_instances:
        unit = 1000.0 if model.unit_mm else 1.0
        rep = f.createIfcShapeRepresentation(
            body, "Body", "SweptSolid", [solid((0.5 * unit, 0.5 * unit, 0.5 * unit))]
        )
        rmap = f.createIfcRepresentationMap(wcs, rep)
        for k in range(model.mapped_instances):
            op = f.createIfcCartesianTransformationOperator3D(
                None, None, f.createIfcCartesianPoint((0.0, 0.0, 0.0)), 1.0, None
            )
            item = f.createIfcMappedItem(rmap, op)
            mrep = f.createIfcShapeRepresentation(body, "Body", "MappedRepresentation", [item])
            shape = f.createIfcProductDefinitionShape(None, None, [mrep])
            cls = "IfcFurnishingElement"
            el = f.create_entity(
                cls,
                GlobalId=g(),
                OwnerHistory=owner,
                Name=f"chair {k}",
                ObjectPlacement=placement(((k % 10) * unit, (k // 10) * unit, 0.0), storey_pl),
                Representation=shape,
            )
            elements.append(el)
    for k in range(model.spaces):
        unit = 1000.0 if model.unit_mm else 1.0
        rep = f.createIfcShapeRepresentation(
            body, "Body", "SweptSolid", [solid((3 * unit, 3 * unit, 2.5 * unit))]
        )
        shape = f.createIfcProductDefinitionShape(None, None, [rep])
        sp = f.createIfcSpace(
            g(),
            owner,
            f"room {k}",
            None,
            None,
            placement((k * 4 * unit, -5 * unit, 0), storey_pl),
            shape,
            None,
            "ELEMENT",
            "INTERNAL",
            None,
        )
        f.createIfcRelAggregates(g(), owner, None, None, storey, [sp])
    f.createIfcRelContainedInSpatialStructure(g(), owner, None, None, elements, storey)
    for el in elements[:1]:
        for pset_name, props in model.psets.items():
            values = [
                f.createIfcPropertySingleValue(k, None, f.create_entity("IfcLabel", str(v)), None)
                for k, v in props.items()
            ]
            pset = f.createIfcPropertySet(g(), owner, pset_name, None, values)
            f.createIfcRelDefinesByProperties(g(), owner, None, None, [el], pset)
    if model.crs is not None and model.schema != "IFC2X3":
        map_unit = None
        if model.crs.get("map_unit") == "METRE":
            map_unit = f.createIfcSIUnit(None, "LENGTHUNIT", None, "METRE")
        elif model.crs.get("map_unit") == "MILLIMETRE":
            map_unit = f.createIfcSIUnit(None, "LENGTHUNIT", "MILLI", "METRE")
        crs = f.createIfcProjectedCRS(model.crs["name"], None, None, None, None, None, map_unit)
        if model.map_conversion is not None:
            mc = model.map_conversion
            args = [
                ctx,
                crs,
                float(mc["E"]),
                float(mc["N"]),
                float(mc.get("H", 0.0)),
                mc.get("xaa"),
                mc.get("xao"),
                mc.get("scale"),
            ]
            if mc.get("cls") == "IfcMapConversionScaled":
                f.create_entity("IfcMapConversionScaled", *args, *mc["factors"])
            else:
                f.createIfcMapConversion(*args)
    if model.epsets:
        for name, props in model.epsets.items():
            values = []
            for k, v in props.items():
                if isinstance(v, float):
                    nominal = f.create_entity("IfcReal", v)
                else:
                    nominal = f.create_entity("IfcLabel", str(v))
                values.append(f.createIfcPropertySingleValue(k, None, nominal, None))
            pset = f.createIfcPropertySet(g(), owner, name, None, values)
            f.createIfcRelDefinesByProperties(g(), owner, None, None, [project], pset)
    f.write(str(path))
    return path


# -- the factory's own checks --------------------------------------------------------


@pytest.mark.parametrize("schema", ["IFC2X3", "IFC4", "IFC4X3_ADD2"])
def test_factory_writes_parseable_models(tmp_path, schema):
    path = make_model(
        tmp_path / "m.ifc",
        Model(schema=schema, boxes=[Box(), Box(at=(2, 0, 0), color=(1, 0, 0))], spaces=1),
    )
    f = ifcopenshell.open(str(path))
    assert f.schema_identifier == schema
    assert len(f.by_type("IfcBuildingElementProxy")) == 2
    assert len(f.by_type("IfcSpace")) == 1


def test_factory_dms_roundtrip():
    for value in (21.3, -105.4567891, 0.000001):
        d, m, s, u = _dms(value)
        assert abs(d + m / 60 + s / 3600 + u / 3.6e9 - value) < 1e-9
