"""The dependency rule of DESIGN.md: the model and importers never import Qt."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest
from conftest import ROOT

QT_MODULES = ("PySide6", "pyvistaqt", "qtpy", "PyQt5", "PyQt6")


def _loaded_after(code: str) -> set[str]:
    probe = f"{code}\nimport sys\nprint('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, check=True
    )
    return set(out.stdout.split())


def test_twin_and_importers_load_no_qt():
    modules = _loaded_after(
        "import twin.scene, twin.render, twin.scenefile, twin.meshing, twin.imagecompare\n"
        "import importers, importers.vector\n"
        "from importers import open_scene\n"
        "open_scene('scenes/hanoi_vnu.toml')"
    )
    leaked = sorted(m for m in modules if m.split(".")[0] in QT_MODULES)
    assert leaked == []


def test_twin_never_imports_importers_or_app():
    modules = _loaded_after("import twin.scene, twin.render, twin.scenefile, twin.meshing")
    assert not any(m.split(".")[0] in ("importers", "app") for m in modules)


def test_cli_help_does_not_load_vtk_or_qt():
    modules = _loaded_after("import app.cli")
    assert not any(m.split(".")[0] in ("vtkmodules", "PySide6", "ifcopenshell") for m in modules)


def test_the_app_process_leaves_native_readers_to_workers():
    """Loading IfcOpenShell's library holds the GIL for ~100 ms, and GDAL can
    crash on a damaged file: an IFC import and a vector scene, read through the
    worker processes, must load neither into this process."""
    modules = _loaded_after(
        "import importers\n"
        "from importers import open_scene, open as open_file\n"
        "scene = open_scene('scenes/hanoi_vnu.toml')\n"
        "ifc = 'tests/data/ifc/pass-grf000-correct_georeferencing.ifc'\n"
        "open_file(ifc, scene, {'cache': False})"
    )
    loaded = sorted({m.split(".")[0] for m in modules} & {"ifcopenshell", "pyogrio", "rasterio"})
    assert loaded == []


def test_import_contracts_hold():
    """import-linter's contracts in pyproject.toml: no Qt in twin/importers, app over
    importers over twin, the simulation and the importers never reach the renderer."""
    lint = shutil.which("lint-imports", path=str(ROOT / ".venv" / "bin")) or \
        shutil.which("lint-imports")
    if lint is None:
        pytest.skip("import-linter is not installed (pip install -e '.[test]' installs it)")
    result = subprocess.run([lint], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_render_objects_outside_twin_render_are_refused_by_ruff():
    """The ruff contract (banned-api) that keeps plotters, actors and mappers in
    twin/render: the same code passes there and fails in the model or an importer."""
    ruff = shutil.which("ruff", path=str(ROOT / ".venv" / "bin")) or shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed")
    code = "import pyvista as pv\nimport vtk\n\nplotter = pv.Plotter()\nactor = vtk.vtkActor()\n"
    verdicts = {}
    for name in ("twin/sim/x.py", "importers/x.py", "twin/render/x.py"):
        result = subprocess.run(
            [ruff, "check", "--no-cache", "--select", "TID251", "--stdin-filename", name, "-"],
            cwd=ROOT, input=code, capture_output=True, text=True,
        )
        verdicts[name] = result.stdout.count("TID251")
    assert verdicts == {"twin/sim/x.py": 2, "importers/x.py": 2, "twin/render/x.py": 0}
