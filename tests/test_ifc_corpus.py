"""The IFC importer over every IFC file in ``../shared/data/ifc``.

Good files: the table has exactly one row per IfcProduct with a representation
(openings and spaces excluded; spaces go to the hidden second layer), counted
directly with IfcOpenShell. Malformed, ``fail-*`` and legacy files: a partial
import with warnings or one ImportFailed line, never another exception.
Skipped, with the reason shown, when the shared data folder is absent.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import ifcopenshell
import numpy as np
import pytest
from pyproj import Transformer

import importers
from importers.errors import ImportFailed
from importers.ifc.header import prepare_source
from twin.scene import Scene

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
IFC_ROOT = SHARED / "ifc"
FILES = sorted(
    p for p in IFC_ROOT.rglob("*") if p.suffix.lower() in (".ifc", ".ifczip")
) if IFC_ROOT.is_dir() else []  # fmt: skip
#: Files whose refusal is the right answer (legacy schemas, not STEP at all).
MUST_FAIL = {
    "legacy/IFCR2_Buildings_2_IFC20.ifc": "IFC20_LONGFORM",
    "legacy/bimserver_ifc4_IFC4RC4.ifc": "IFC4RC4",
    "malformed/unterminated-comment.ifc": "not an IFC file",
}

needs_shared = pytest.mark.skipif(
    not FILES, reason=f"shared IFC corpus not found at {IFC_ROOT} (../shared/data is absent)"
)


@pytest.fixture(scope="module", autouse=True)
def _cache(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("CITYTWIN_CACHE_DIR", str(tmp_path_factory.mktemp("ifc-cache")))
    yield
    mp.undo()


def direct_counts(path: Path) -> tuple[int, int]:
    """(elements, spaces) straight from IfcOpenShell, on the file the importer reads
    (inflated from ifcZIP, schema name made final)."""
    with tempfile.TemporaryDirectory() as tmp:
        source, _ = prepare_source(path, Path(tmp))
        f = ifcopenshell.open(str(source))
        products = [p for p in f.by_type("IfcProduct") if p.Representation is not None]
        products = [p for p in products if not p.is_a("IfcOpeningElement")]
        spaces = sum(1 for p in products if p.is_a("IfcSpace"))
        return len(products) - spaces, spaces


@needs_shared
@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(IFC_ROOT)))
def test_corpus_file(path: Path):
    rel = str(path.relative_to(IFC_ROOT))
    scene = Scene(crs="EPSG:3857")
    try:
        layers = importers.open(path, scene, {"element_timeout": 60})
    except ImportFailed as exc:
        text = str(exc)
        assert "\n" not in text and "internal error" not in text
        assert rel in MUST_FAIL, f"{rel} was refused: {text}"
        assert MUST_FAIL[rel] in text
        return
    assert rel not in MUST_FAIL, f"{rel} should have been refused"
    main = layers[0]
    elements, spaces = direct_counts(path)
    assert len(main.features) == elements
    assert sum(len(la.features) for la in layers if la.kind == "bim-spaces") == spaces
    assert main.info["elements"] == elements
    assert main.n_triangles == main.info["triangles"]
    failed = [w for w in main.warnings if w.startswith("geometry failed:")]
    assert len(failed) == main.info["geometry_failures"]
    assert (main.features.attributes["geometry"] == "failed").sum() == len(failed)
    if main.n_triangles:
        assert np.all(np.isfinite(main.mesh.points))
        assert main.mesh.cell_data["rgb_default"].shape == (main.n_triangles, 3)
    if "malformed" in rel or Path(rel).name.startswith("fail-"):
        assert main.warnings, f"{rel} is damaged but imported without a warning"


@needs_shared
def test_map_conversion_in_us_feet_agrees_with_the_site_latitude():
    """pass-grf005: the EPSG:2240 (US survey feet) map conversion must put the model
    origin where the same file's site reference latitude/longitude says it is."""
    from importers.ifc import georef, runner
    from importers.ifc.options import IfcOptions

    path = IFC_ROOT / "bsi_validation_rules" / "pass-grf005-unit_conversion_factor.ifc"
    origin = np.array([644000.0, 3871900.0, 0.0])
    raw = runner.read_extent(path, IfcOptions())["georef"]
    placement = georef.resolve(raw, None, "EPSG:32616", origin)
    assert placement.method == "IfcMapConversion"
    to_local, _ = georef.scene_affine(placement, "EPSG:32616", origin, None)
    model_origin = to_local[:3, 3]
    lat = 34 + 58 / 60 + 46 / 3600 + 151461 / 3.6e9
    lon = -(85 + 25 / 60 + 21 / 3600 + 36307 / 3.6e9)
    e, n = Transformer.from_crs("EPSG:4326", "EPSG:32616", always_xy=True).transform(lon, lat)
    assert np.hypot(model_origin[0] - (e - origin[0]), model_origin[1] - (n - origin[1])) < 0.05
    layer = importers.open(path, Scene(crs="EPSG:32616", origin=origin))[0]
    b = layer.mesh.bounds  # the terrain is modelled in feet: ~1 km wide in metres
    assert 500 < b[1] - b[0] < 2000
