"""Parents of the IFC product classes, so a search for a class finds its subclasses.

``class = IfcWall`` should find ``IfcWallStandardCase`` (IFC2X3/IFC4) and every
other subtype, as the schema says; twin may not import IfcOpenShell (it runs in
the app process), so the inheritance is a static table.

Generated once with IfcOpenShell 0.9.0's schema API (``ifcopenshell_wrapper``):
every subtype of ``IfcProduct`` in IFC2X3, IFC4 and IFC4X3_ADD2, mapped to its
supertype in each schema (a tuple when the schemas disagree, e.g. IfcWall is an
IfcBuildingElement in IFC4 and an IfcBuiltElement in IFC4X3)::

    import ifcopenshell.ifcopenshell_wrapper as w
    for name in ("IFC2X3", "IFC4", "IFC4X3_ADD2"):
        stack = [w.schema_by_name(name).declaration_by_name("IfcProduct")]
        while stack:
            e = stack.pop()
            if e.name() != "IfcProduct":
                parents.setdefault(e.name(), set()).add(e.supertype().name())
            stack.extend(e.subtypes())
"""

from __future__ import annotations

from functools import lru_cache

#: class -> its supertype(s) across IFC2X3, IFC4 and IFC4X3 (generated, see above)
IFC_PARENTS: dict[str, tuple[str, ...]] = {
    "IfcActuator": ('IfcDistributionControlElement',),
    "IfcAirTerminal": ('IfcFlowTerminal',),
    "IfcAirTerminalBox": ('IfcFlowController',),
    "IfcAirToAirHeatRecovery": ('IfcEnergyConversionDevice',),
    "IfcAlarm": ('IfcDistributionControlElement',),
    "IfcAlignment": ('IfcLinearPositioningElement',),
    "IfcAlignmentCant": ('IfcLinearElement',),
    "IfcAlignmentHorizontal": ('IfcLinearElement',),
    "IfcAlignmentSegment": ('IfcLinearElement',),
    "IfcAlignmentVertical": ('IfcLinearElement',),
    "IfcAnnotation": ('IfcProduct',),
    "IfcAudioVisualAppliance": ('IfcFlowTerminal',),
    "IfcBeam": ('IfcBuildingElement', 'IfcBuiltElement'),
    "IfcBeamStandardCase": ('IfcBeam',),
    "IfcBearing": ('IfcBuiltElement',),
    "IfcBoiler": ('IfcEnergyConversionDevice',),
    "IfcBorehole": ('IfcGeotechnicalAssembly',),
    "IfcBridge": ('IfcFacility',),
    "IfcBridgePart": ('IfcFacilityPart',),
    "IfcBuilding": ('IfcFacility', 'IfcSpatialStructureElement'),
    "IfcBuildingElement": ('IfcElement',),
    "IfcBuildingElementComponent": ('IfcBuildingElement',),
    "IfcBuildingElementPart": ('IfcBuildingElementComponent', 'IfcElementComponent'),
    "IfcBuildingElementProxy": ('IfcBuildingElement', 'IfcBuiltElement'),
    "IfcBuildingStorey": ('IfcSpatialStructureElement',),
    "IfcBuiltElement": ('IfcElement',),
    "IfcBurner": ('IfcEnergyConversionDevice',),
    "IfcCableCarrierFitting": ('IfcFlowFitting',),
    "IfcCableCarrierSegment": ('IfcFlowSegment',),
    "IfcCableFitting": ('IfcFlowFitting',),
    "IfcCableSegment": ('IfcFlowSegment',),
    "IfcCaissonFoundation": ('IfcDeepFoundation',),
    "IfcChamferEdgeFeature": ('IfcEdgeFeature',),
    "IfcChiller": ('IfcEnergyConversionDevice',),
    "IfcChimney": ('IfcBuildingElement', 'IfcBuiltElement'),
    "IfcCivilElement": ('IfcElement',),
    "IfcCoil": ('IfcEnergyConversionDevice',),
    "IfcColumn": ('IfcBuildingElement', 'IfcBuiltElement'),
    "IfcColumnStandardCase": ('IfcColumn',),
    "IfcCommunicationsAppliance": ('IfcFlowTerminal',),
    "IfcCompressor": ('IfcFlowMovingDevice',),
    "IfcCondenser": ('IfcEnergyConversionDevice',),
    "IfcController": ('IfcDistributionControlElement',),
    "IfcConveyorSegment": ('IfcFlowSegment',),
    "IfcCooledBeam": ('IfcEnergyConversionDevice',),
    "IfcCoolingTower": ('IfcEnergyConversionDevice',),
    "IfcCourse": ('IfcBuiltElement',),
    "IfcCovering": ('IfcBuildingElement', 'IfcBuiltElement'),
    "IfcCurtainWall": ('IfcBuildingElement', 'IfcBuiltElement'),
    "IfcDamper": ('IfcFlowController',),
    "IfcDeepFoundation": ('IfcBuiltElement',),
    "IfcDiscreteAccessory": ('IfcElementComponent',),
    "IfcDistributionBoard": ('IfcFlowController',),
    "IfcDistributionChamberElement": ('IfcDistributionFlowElement',),
    "IfcDistributionControlElement": ('IfcDistributionElement',),
    "IfcDistributionElement": ('IfcElement',),
    "IfcDistributionFlowElement": ('IfcDistributionElement',),
    "IfcDistributionPort": ('IfcPort',),
    "IfcDoor": ('IfcBuildingElement', 'IfcBuiltElement'),
    "IfcDoorStandardCase": ('IfcDoor',),
    "IfcDuctFitting": ('IfcFlowFitting',),
    "IfcDuctSegment": ('IfcFlowSegment',),
    "IfcDuctSilencer": ('IfcFlowTreatmentDevice',),
    "IfcEarthworksCut": ('IfcFeatureElementSubtraction',),
    "IfcEarthworksElement": ('IfcBuiltElement',),
    "IfcEarthworksFill": ('IfcEarthworksElement',),
    "IfcEdgeFeature": ('IfcFeatureElementSubtraction',),
    "IfcElectricAppliance": ('IfcFlowTerminal',),
    "IfcElectricDistributionBoard": ('IfcFlowController',),
    "IfcElectricDistributionPoint": ('IfcFlowController',),
    "IfcElectricFlowStorageDevice": ('IfcFlowStorageDevice',),
    "IfcElectricFlowTreatmentDevice": ('IfcFlowTreatmentDevice',),
    "IfcElectricGenerator": ('IfcEnergyConversionDevice',),
    "IfcElectricMotor": ('IfcEnergyConversionDevice',),
    "IfcElectricTimeControl": ('IfcFlowController',),
    "IfcElectricalElement": ('IfcElement',),
    "IfcElement": ('IfcProduct',),
    "IfcElementAssembly": ('IfcElement',),
    "IfcElementComponent": ('IfcElement',),
    "IfcEnergyConversionDevice": ('IfcDistributionFlowElement',),
    "IfcEngine": ('IfcEnergyConversionDevice',),
    "IfcEquipmentElement": ('IfcElement',),
    "IfcEvaporativeCooler": ('IfcEnergyConversionDevice',),
    "IfcEvaporator": ('IfcEnergyConversionDevice',),
    "IfcExternalSpatialElement": ('IfcExternalSpatialStructureElement',),
    "IfcExternalSpatialStructureElement": ('IfcSpatialElement',),
    "IfcFacility": ('IfcSpatialStructureElement',),
    "IfcFacilityPart": ('IfcSpatialStructureElement',),
    "IfcFacilityPartCommon": ('IfcFacilityPart',),
    "IfcFan": ('IfcFlowMovingDevice',),
    "IfcFastener": ('IfcElementComponent',),
    "IfcFeatureElement": ('IfcElement',),
    "IfcFeatureElementAddition": ('IfcFeatureElement',),
    "IfcFeatureElementSubtraction": ('IfcFeatureElement',),
    "IfcFilter": ('IfcFlowTreatmentDevice',),
    "IfcFireSuppressionTerminal": ('IfcFlowTerminal',),
    "IfcFlowController": ('IfcDistributionFlowElement',),
    "IfcFlowFitting": ('IfcDistributionFlowElement',),
    "IfcFlowInstrument": ('IfcDistributionControlElement',),
    "IfcFlowMeter": ('IfcFlowController',),
    "IfcFlowMovingDevice": ('IfcDistributionFlowElement',),
    "IfcFlowSegment": ('IfcDistributionFlowElement',),
    "IfcFlowStorageDevice": ('IfcDistributionFlowElement',),
    "IfcFlowTerminal": ('IfcDistributionFlowElement',),
    "IfcFlowTreatmentDevice": ('IfcDistributionFlowElement',),
    "IfcFooting": ('IfcBuildingElement', 'IfcBuiltElement'),
    "IfcFurnishingElement": ('IfcElement',),
    "IfcFurniture": ('IfcFurnishingElement',),
    "IfcGeographicElement": ('IfcElement',),
    "IfcGeomodel": ('IfcGeotechnicalAssembly',),
    "IfcGeoslice": ('IfcGeotechnicalAssembly',),
    "IfcGeotechnicalAssembly": ('IfcGeotechnicalElement',),
    "IfcGeotechnicalElement": ('IfcElement',),
    "IfcGeotechnicalStratum": ('IfcGeotechnicalElement',),
    "IfcGrid": ('IfcPositioningElement', 'IfcProduct'),
    "IfcHeatExchanger": ('IfcEnergyConversionDevice',),
    "IfcHumidifier": ('IfcEnergyConversionDevice',),
    "IfcImpactProtectionDevice": ('IfcElementComponent',),
    "IfcInterceptor": ('IfcFlowTreatmentDevice',),
    "IfcJunctionBox": ('IfcFlowFitting',),
    "IfcKerb": ('IfcBuiltElement',),
    "IfcLamp": ('IfcFlowTerminal',),
    "IfcLightFixture": ('IfcFlowTerminal',),
    "IfcLinearElement": ('IfcProduct',),
    "IfcLinearPositioningElement": ('IfcPositioningElement',),
    "IfcLiquidTerminal": ('IfcFlowTerminal',),
    "IfcMarineFacility": ('IfcFacility',),
    "IfcMarinePart": ('IfcFacilityPart',),
    "IfcMechanicalFastener": ('IfcElementComponent', 'IfcFastener'),
    "IfcMedicalDevice": ('IfcFlowTerminal',),
    "IfcMember": ('IfcBuildingElement', 'IfcBuiltElement'),
    "IfcMemberStandardCase": ('IfcMember',),
    "IfcMobileTelecommunicationsAppliance": ('IfcFlowTerminal',),
    "IfcMooringDevice": ('IfcBuiltElement',),
    "IfcMotorConnection": ('IfcEnergyConversionDevice',),
    "IfcNavigationElement": ('IfcBuiltElement',),
    "IfcOpeningElement": ('IfcFeatureElementSubtraction',),
    "IfcOpeningStandardCase": ('IfcOpeningElement',),
    "IfcOutlet": ('IfcFlowTerminal',),
    "IfcPavement": ('IfcBuiltElement',),
    "IfcPile": ('IfcBuildingElement', 'IfcDeepFoundation'),
    "IfcPipeFitting": ('IfcFlowFitting',),
    "IfcPipeSegment": ('IfcFlowSegment',),
    "IfcPlate": ('IfcBuildingElement', 'IfcBuiltElement'),
    "IfcPlateStandardCase": ('IfcPlate',),
    "IfcPort": ('IfcProduct',),
    "IfcPositioningElement": ('IfcProduct',),
    "IfcProjectionElement": ('IfcFeatureElementAddition',),
    "IfcProtectiveDevice": ('IfcFlowController',),
    "IfcProtectiveDeviceTrippingUnit": ('IfcDistributionControlElement',),
    "IfcProxy": ('IfcProduct',),
    "IfcPump": ('IfcFlowMovingDevice',),
    "IfcRail": ('IfcBuiltElement',),
    "IfcRailing": ('IfcBuildingElement', 'IfcBuiltElement'),
    "IfcRailway": ('IfcFacility',),
    "IfcRailwayPart": ('IfcFacilityPart',),
    "IfcRamp": ('IfcBuildingElement', 'IfcBuiltElement'),
    "IfcRampFlight": ('IfcBuildingElement', 'IfcBuiltElement'),
    "IfcReferent": ('IfcPositioningElement',),
    "IfcReinforcedSoil": ('IfcEarthworksElement',),
    "IfcReinforcingBar": ('IfcReinforcingElement',),
    "IfcReinforcingElement": ('IfcBuildingElementComponent', 'IfcElementComponent'),
    "IfcReinforcingMesh": ('IfcReinforcingElement',),
    "IfcRoad": ('IfcFacility',),
    "IfcRoadPart": ('IfcFacilityPart',),
    "IfcRoof": ('IfcBuildingElement', 'IfcBuiltElement'),
    "IfcRoundedEdgeFeature": ('IfcEdgeFeature',),
    "IfcSanitaryTerminal": ('IfcFlowTerminal',),
    "IfcSensor": ('IfcDistributionControlElement',),
    "IfcShadingDevice": ('IfcBuildingElement', 'IfcBuiltElement'),
    "IfcSign": ('IfcElementComponent',),
    "IfcSignal": ('IfcFlowTerminal',),
    "IfcSite": ('IfcSpatialStructureElement',),
    "IfcSlab": ('IfcBuildingElement', 'IfcBuiltElement'),
    "IfcSlabElementedCase": ('IfcSlab',),
    "IfcSlabStandardCase": ('IfcSlab',),
    "IfcSolarDevice": ('IfcEnergyConversionDevice',),
    "IfcSpace": ('IfcSpatialStructureElement',),
    "IfcSpaceHeater": ('IfcFlowTerminal',),
    "IfcSpatialElement": ('IfcProduct',),
    "IfcSpatialStructureElement": ('IfcProduct', 'IfcSpatialElement'),
    "IfcSpatialZone": ('IfcSpatialElement',),
    "IfcStackTerminal": ('IfcFlowTerminal',),
    "IfcStair": ('IfcBuildingElement', 'IfcBuiltElement'),
    "IfcStairFlight": ('IfcBuildingElement', 'IfcBuiltElement'),
    "IfcStructuralAction": ('IfcStructuralActivity',),
    "IfcStructuralActivity": ('IfcProduct',),
    "IfcStructuralConnection": ('IfcStructuralItem',),
    "IfcStructuralCurveAction": ('IfcStructuralAction',),
    "IfcStructuralCurveConnection": ('IfcStructuralConnection',),
    "IfcStructuralCurveMember": ('IfcStructuralMember',),
    "IfcStructuralCurveMemberVarying": ('IfcStructuralCurveMember',),
    "IfcStructuralCurveReaction": ('IfcStructuralReaction',),
    "IfcStructuralItem": ('IfcProduct',),
    "IfcStructuralLinearAction": ('IfcStructuralAction', 'IfcStructuralCurveAction'),
    "IfcStructuralLinearActionVarying": ('IfcStructuralLinearAction',),
    "IfcStructuralMember": ('IfcStructuralItem',),
    "IfcStructuralPlanarAction": ('IfcStructuralAction', 'IfcStructuralSurfaceAction'),
    "IfcStructuralPlanarActionVarying": ('IfcStructuralPlanarAction',),
    "IfcStructuralPointAction": ('IfcStructuralAction',),
    "IfcStructuralPointConnection": ('IfcStructuralConnection',),
    "IfcStructuralPointReaction": ('IfcStructuralReaction',),
    "IfcStructuralReaction": ('IfcStructuralActivity',),
    "IfcStructuralSurfaceAction": ('IfcStructuralAction',),
    "IfcStructuralSurfaceConnection": ('IfcStructuralConnection',),
    "IfcStructuralSurfaceMember": ('IfcStructuralMember',),
    "IfcStructuralSurfaceMemberVarying": ('IfcStructuralSurfaceMember',),
    "IfcStructuralSurfaceReaction": ('IfcStructuralReaction',),
    "IfcSurfaceFeature": ('IfcFeatureElement',),
    "IfcSwitchingDevice": ('IfcFlowController',),
    "IfcSystemFurnitureElement": ('IfcFurnishingElement',),
    "IfcTank": ('IfcFlowStorageDevice',),
    "IfcTendon": ('IfcReinforcingElement',),
    "IfcTendonAnchor": ('IfcReinforcingElement',),
    "IfcTendonConduit": ('IfcReinforcingElement',),
    "IfcTrackElement": ('IfcBuiltElement',),
    "IfcTransformer": ('IfcEnergyConversionDevice',),
    "IfcTransportElement": ('IfcElement', 'IfcTransportationDevice'),
    "IfcTransportationDevice": ('IfcElement',),
    "IfcTubeBundle": ('IfcEnergyConversionDevice',),
    "IfcUnitaryControlElement": ('IfcDistributionControlElement',),
    "IfcUnitaryEquipment": ('IfcEnergyConversionDevice',),
    "IfcValve": ('IfcFlowController',),
    "IfcVehicle": ('IfcTransportationDevice',),
    "IfcVibrationDamper": ('IfcElementComponent',),
    "IfcVibrationIsolator": ('IfcElementComponent',),
    "IfcVirtualElement": ('IfcElement',),
    "IfcVoidingFeature": ('IfcFeatureElementSubtraction',),
    "IfcWall": ('IfcBuildingElement', 'IfcBuiltElement'),
    "IfcWallElementedCase": ('IfcWall',),
    "IfcWallStandardCase": ('IfcWall',),
    "IfcWasteTerminal": ('IfcFlowTerminal',),
    "IfcWindow": ('IfcBuildingElement', 'IfcBuiltElement'),
    "IfcWindowStandardCase": ('IfcWindow',),
}  # fmt: skip

#: Lower-case name -> the schema's spelling.
_CANONICAL = {
    name.lower(): name for name in {*IFC_PARENTS, *(p for ps in IFC_PARENTS.values() for p in ps)}
}


def ancestors(name: str) -> set[str]:
    """Every supertype of ``name`` up to IfcProduct (empty for unknown names)."""
    out: set[str] = set()
    stack = list(IFC_PARENTS.get(_CANONICAL.get(name.lower(), name), ()))
    while stack:
        parent = stack.pop()
        if parent not in out:
            out.add(parent)
            stack.extend(IFC_PARENTS.get(parent, ()))
    return out


@lru_cache(maxsize=256)
def descendants(name: str) -> frozenset[str]:
    """Lower-case names of ``name`` and all its subclasses (just ``name`` when it
    is no IFC class), for case-insensitive matching of a class column."""
    key = _CANONICAL.get(name.lower())
    if key is None:
        return frozenset({name.lower()})
    return frozenset(
        {key.lower()} | {child.lower() for child in IFC_PARENTS if key in ancestors(child)}
    )


__all__ = ["IFC_PARENTS", "ancestors", "descendants"]
