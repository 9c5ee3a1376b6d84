"""A user placement of an IFC model in a Vietnamese scene: it beats the site's
latitude/longitude, overrides the file's map conversion when asked, is kept in
a project and in the layer's info, and can be written back into a copy."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from conftest import ROOT
from pyproj import Transformer
from test_ifc_factory import Box, Model, make_model

import importers
from importers.ifc import georef, placement_math
from importers.ifc.writeback import WriteBackError, write_placement_copy
from twin import project as projects
from twin.scene import Scene

LON, LAT = 105.4012, 21.3227  # Việt Trì
SCENE_CRS = "EPSG:9208"
BOX = Box(at=(10.0, 20.0, 0.0), size=(4.0, 2.0, 3.0))
BERLIN = (52.52, 13.40, 34.0)


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("CITYTWIN_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def origin() -> np.ndarray:
    e, n = Transformer.from_crs("EPSG:4326", SCENE_CRS, always_xy=True).transform(LON, LAT)
    return np.array([round(e, -2), round(n, -2), 0.0])


def _scene(origin) -> Scene:
    return Scene(crs=SCENE_CRS, origin=origin)


def world_bounds(layer, scene: Scene) -> np.ndarray:
    b = np.asarray(layer.mesh.bounds, dtype=np.float64)
    return b + np.repeat(scene.origin, 2)


def _at(origin) -> list[float]:
    return [origin[0] + 120.0, origin[1] - 45.0, 12.0, 30.0]


def test_at_beats_the_site_latitude_longitude(tmp_path, origin):
    """--at used to lose to IfcSite RefLatitude/RefLongitude (Berlin here)."""
    path = make_model(tmp_path / "m.ifc", Model(boxes=[BOX], site_latlon=BERLIN))
    sc = _scene(origin)
    far = importers.open(path, sc, {})[0]
    assert far.info["georeferencing"] == georef.METHOD_SITE
    assert np.linalg.norm(world_bounds(far, sc)[::2][:2] - origin[:2]) > 1e6
    layer = importers.open(path, sc, {"at": _at(origin)})[0]
    assert layer.info["georeferencing"] == georef.METHOD_USER
    assert any("IfcSite latitude" in w and "overrides" in w for w in layer.warnings)
    lo = world_bounds(layer, sc)
    assert abs(lo[4] - 12.0) < 0.01  # the box's floor sits at H


def test_override_ignores_the_map_conversion_and_is_recorded(tmp_path, origin):
    e, n = Transformer.from_crs("EPSG:4326", "EPSG:3405", always_xy=True).transform(105.0, 10.8)
    path = make_model(
        tmp_path / "m.ifc",
        Model(boxes=[BOX], crs={"name": "EPSG:3405"}, map_conversion={"E": e, "N": n}),
    )
    sc = _scene(origin)
    options = placement_math.placement_options(_at(origin), override=True)
    assert options == {"at": _at(origin), "override_georef": True}
    assert importers.open(path, sc, {"at": _at(origin)})[0].info["georeferencing"] == (
        "IfcMapConversion"
    )
    layer = importers.open(path, sc, options)[0]
    assert layer.info["georeferencing"] == georef.METHOD_USER
    assert layer.info["georeferencing_details"]["at"] == _at(origin)
    record = placement_math.placement_record(options, SCENE_CRS)
    assert record == {
        "E": _at(origin)[0],
        "N": _at(origin)[1],
        "H": 12.0,
        "rotation_deg": 30.0,
        "crs": SCENE_CRS,
        "overrides_file_georeferencing": True,
    }
    assert placement_math.placement_record({}, SCENE_CRS) is None


def test_a_reopened_project_places_the_model_the_same(tmp_path, origin):
    path = make_model(tmp_path / "m.ifc", Model(boxes=[BOX], site_latlon=BERLIN))
    sc = _scene(origin)
    options = placement_math.placement_options(_at(origin), override=True)
    layer = importers.open(path, sc, options)[0]
    sc.add_layer(layer)
    added = [projects.AddedLayer(str(path), options, None)]
    projects.save_project(projects.capture(sc, None, None, added), tmp_path / "p.ctproj")
    loaded, warnings = projects.load_project(tmp_path / "p.ctproj")
    assert warnings == []
    again = _scene(origin)
    (entry,) = loaded.added_layers
    assert entry.options == options
    layer2 = importers.open(entry.path, again, entry.options, importer=entry.importer)[0]
    np.testing.assert_allclose(world_bounds(layer2, again), world_bounds(layer, sc), atol=1e-3)


@pytest.mark.parametrize(
    "schema, unit_mm, georef_kind",
    [("IFC4", False, "site"), ("IFC4", True, "map"), ("IFC2X3", False, "site")],
)
def test_written_back_copy_lands_in_the_same_place(tmp_path, origin, schema, unit_mm, georef_kind):
    box = Box(at=(10000.0, 20000.0, 0.0), size=(4000.0, 2000.0, 3000.0)) if unit_mm else BOX
    if georef_kind == "map":
        e, n = Transformer.from_crs("EPSG:4326", "EPSG:3405", always_xy=True).transform(105.0, 10.8)
        model = Model(
            schema=schema,
            unit_mm=unit_mm,
            boxes=[box],
            crs={"name": "EPSG:3405"},
            map_conversion={"E": e, "N": n},
            site_latlon=BERLIN,
        )
    else:
        model = Model(schema=schema, unit_mm=unit_mm, boxes=[box], site_latlon=BERLIN)
    path = make_model(tmp_path / "m.ifc", model)
    sc = _scene(origin)
    placed = importers.open(path, sc, placement_math.placement_options(_at(origin), True))[0]
    copy = tmp_path / "m_placed.ifc"
    written = write_placement_copy(path, copy, _at(origin), SCENE_CRS)
    assert written["crs"] == SCENE_CRS and copy.exists()
    again = _scene(origin)
    reopened = importers.open(copy, again, {})[0]
    method = reopened.info["georeferencing"]
    assert method == (georef.METHOD_EPSET if schema == "IFC2X3" else "IfcMapConversion")
    assert reopened.crs == SCENE_CRS
    np.testing.assert_allclose(world_bounds(reopened, again), world_bounds(placed, sc), atol=0.01)
    text = copy.read_text(errors="replace")
    assert "EPSG:9208" in text and "VN-2000" in text


def test_write_back_refuses_the_original_and_non_ifc(tmp_path, origin):
    path = make_model(tmp_path / "m.ifc", Model(boxes=[BOX]))
    with pytest.raises(WriteBackError, match="copy"):
        write_placement_copy(path, path, _at(origin), SCENE_CRS)
    with pytest.raises(WriteBackError, match="projected CRS"):
        write_placement_copy(path, tmp_path / "c.ifc", _at(origin), "EPSG:4326")


def test_placement_maths_and_write_back_load_no_ifcopenshell():
    probe = (
        "import importers.ifc.placement_math, importers.ifc.writeback, importers.ifc.georef\n"
        "import sys\nprint('ifcopenshell' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert out.stdout.strip() == "False"


# -- in the window ----------------------------------------------------------------------

needs_display = pytest.mark.skipif(
    not __import__("os").environ.get("DISPLAY"), reason="no X display (pytest-xvfb starts it)"
)


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    """The window on the pilot scene, throw-away settings, message boxes recorded."""
    from conftest import SCENES
    from PySide6.QtCore import QSettings
    from qt_actions import show_window

    from app import main_window as mw

    messages: list[tuple[str, str]] = []

    def record(kind):
        def show(_parent, _title, text, *_a, **_k):
            messages.append((kind, text))
            return mw.QMessageBox.StandardButton.Ok

        return show

    for kind in ("warning", "critical", "information", "question"):
        monkeypatch.setattr(mw.QMessageBox, kind, record(kind))
    pilot = SCENES / "viet_tri.toml"
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    w = mw.MainWindow(importers.open_scene(pilot), scene_path=pilot, settings=settings)
    w.messages = messages
    show_window(qtbot, w)
    yield w
    if w.placement_dialog is not None:
        w.placement_dialog.close()
    w.close()


def _import(qtbot, window, path, options=None):
    job = window.start_import(path, options=options)
    with qtbot.waitSignal(job.done, timeout=120_000):
        pass
    qtbot.wait(50)  # guard_origin runs on the next turn of the event loop
    return [la for la in window.scene.layers if la.source and la.source.name == path.name]


@pytest.mark.gui
@needs_display
def test_far_ifc_raises_one_dialog_and_is_placed_by_pick(qtbot, window, tmp_path, monkeypatch):
    from qt_actions import click

    path = make_model(tmp_path / "berlin.ifc", Model(boxes=[BOX], site_latlon=BERLIN))
    asked: list[str] = []

    def ask(_title, message):
        asked.append(message)
        return True  # "Place…"

    monkeypatch.setattr(window, "ask_far_placement", ask)
    layers = _import(qtbot, window, path)
    assert layers and layers[0].info["georeferencing"] == georef.METHOD_SITE
    assert len(asked) == 1 and window.messages == [], (asked, window.messages)
    assert "km from the rest of the scene" in asked[0]
    dialog = window.placement_dialog
    assert dialog is not None and dialog.isVisible()
    assert dialog.override_box.isChecked()  # the model was far: ignore its georeferencing

    # pick a roof in the view: E/N/H follow, and the click selects nothing
    buildings = window.scene.layer("Công trình (buildings)")
    row = int(np.nanargmax(buildings.features.attributes["height"]))
    b = buildings.features.bounds[row]
    target = window.scene.to_world(np.array([(b[0] + b[1]) / 2, (b[2] + b[3]) / 2, b[5]]))
    dialog.start_pick()
    click(qtbot, window, target)
    assert window._pick_once is None and window.last_pick is None
    picked = np.array(dialog.at()[:3])
    assert np.linalg.norm(picked[:2] - target[:2]) < 30, (picked, target)
    dialog.rot_box.setValue(15.0)
    dialog.grab().save(str(tmp_path / "placement_dialog.png"))
    if __import__("os").environ.get("CITYTWIN_SHOTS"):
        dialog.grab().save(__import__("os").environ["CITYTWIN_SHOTS"] + "/placement_dialog.png")

    # OK re-imports in place of the far layers, placed where picked, recorded
    n_before = len(window.scene.layers)
    asked.clear()
    dialog.buttons.button(dialog.buttons.StandardButton.Ok).click()
    job = window.jobs[-1]
    with qtbot.waitSignal(job.done, timeout=120_000):
        pass
    qtbot.wait(50)
    placed = [la for la in window.scene.layers if la.source and la.source.name == path.name]
    assert len(window.scene.layers) == n_before and placed
    layer = placed[0]
    assert layer.info["georeferencing"] == georef.METHOD_USER
    assert layer.info["placement"]["overrides_file_georeferencing"] is True
    assert layer.info["placement"]["rotation_deg"] == 15.0
    wb = world_bounds(layer, window.scene)
    assert abs(wb[4] - picked[2]) < 0.05
    assert np.linalg.norm([(wb[0] + wb[1]) / 2 - picked[0], (wb[2] + wb[3]) / 2 - picked[1]]) < 40
    assert asked == [] and window.messages == []  # near the content now: no dialog
    (added,) = [a for a in window.added_layers if a.path == str(path.resolve())]
    assert added.options["override_georef"] is True and added.options["at"][3] == 15.0

    # the project keeps it: reopened, the model lands in the same place
    assert window.save_project(tmp_path / "placed.ctproj")
    from app.main_window import load_project_scene

    project, _ = projects.load_project(tmp_path / "placed.ctproj")
    scene, warnings = load_project_scene(project)
    assert warnings == []
    again = next(la for la in scene.layers if la.source and la.source.name == path.name)
    np.testing.assert_allclose(world_bounds(again, scene), wb, atol=0.01)
    assert again.info["placement"] == layer.info["placement"]


@pytest.mark.gui
@needs_display
def test_placement_dialog_writes_a_copy_and_speaks_vietnamese(qtbot, tmp_path, origin):
    from app import i18n
    from app.panels.timeline import TimelinePanel
    from app.placement import PlacementDialog
    from twin.measure import measure

    path = make_model(tmp_path / "m.ifc", Model(boxes=[BOX], site_latlon=BERLIN))
    dialog = PlacementDialog(path, SCENE_CRS, tuple(_at(origin)), override=True)
    qtbot.addWidget(dialog)
    timeline = TimelinePanel()
    qtbot.addWidget(timeline)
    try:
        i18n.install("vi")
        qtbot.wait(20)
        ok = dialog.buttons.button(dialog.buttons.StandardButton.Ok)
        cancel = dialog.buttons.button(dialog.buttons.StandardButton.Cancel)
        assert (ok.text().replace("&", ""), cancel.text().replace("&", "")) == ("Đồng ý", "Hủy")
        assert dialog.windowTitle() == "Đặt vị trí mô hình IFC"
        speeds = [timeline.speed_box.itemText(i) for i in range(timeline.speed_box.count())]
        assert "1 ngày/giây" in speeds
        dialog.show()
        qtbot.waitExposed(dialog)
        dialog.grab().save(str(tmp_path / "placement_dialog_vi.png"))
        if __import__("os").environ.get("CITYTWIN_SHOTS"):
            shot = __import__("os").environ["CITYTWIN_SHOTS"] + "/placement_dialog_vi.png"
            dialog.grab().save(shot)
    finally:
        i18n.install("en")
    qtbot.wait(20)
    assert dialog.buttons.button(dialog.buttons.StandardButton.Ok).text().replace("&", "") == "OK"
    speeds = [timeline.speed_box.itemText(i) for i in range(timeline.speed_box.count())]
    assert "1 day/s" in speeds
    m = measure((0, 0, 0), (3, 4, 1))
    assert "ngang" in m.text("vi") and "plan" in m.text("en") and "ngang" not in m.text()

    results: list = []
    dialog.written.connect(results.append)
    copy = tmp_path / "m_placed.ifc"
    dialog.write_copy(copy)
    qtbot.waitUntil(lambda: bool(results), timeout=60_000)
    assert isinstance(results[0], dict) and results[0]["crs"] == SCENE_CRS, results
    sc = _scene(origin)
    layer = importers.open(copy, sc, {})[0]
    placed = importers.open(path, _scene(origin), dialog.options())[0]
    np.testing.assert_allclose(world_bounds(layer, sc), world_bounds(placed, sc), atol=0.01)
