"""The real window under Xvfb, driven as a planner would on the Việt Trì pilot scene."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import DATA, SCENES, polygon_feature, write_geojson
from PySide6.QtCore import QMimeData, QPointF, QSettings, Qt, QUrl
from PySide6.QtGui import QDropEvent
from qt_actions import Heartbeat, click, grab, show_window

import importers
from twin.features import FeatureTable
from twin.layer import Layer, TreeNode

pytestmark = pytest.mark.gui

if not os.environ.get("DISPLAY"):
    pytest.skip("no X display (install xvfb: pytest-xvfb starts it)", allow_module_level=True)

PILOT = SCENES / "viet_tri.toml"


@pytest.fixture
def main_window(qtbot, tmp_path, monkeypatch):
    """The window on the pilot scene, with throw-away settings and no modal boxes."""
    from app import main_window as mw

    messages: list[tuple[str, str]] = []

    def record(kind):
        def show(_parent, title, text, *_a, **_k):
            messages.append((kind, text))
            return mw.QMessageBox.StandardButton.Ok

        return show

    for kind in ("warning", "critical", "information"):
        monkeypatch.setattr(mw.QMessageBox, kind, record(kind))
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    window = mw.MainWindow(importers.open_scene(PILOT), scene_path=PILOT, settings=settings)
    window.messages = messages
    show_window(qtbot, window)
    yield window
    window.close()


def _tallest(window):
    layer = window.scene.layer("Công trình (buildings)")
    row = int(np.nanargmax(layer.features.attributes["height"]))
    return layer, row


def test_click_a_building_shows_attributes_label_and_coordinates(qtbot, main_window):
    layer, row = _tallest(main_window)
    main_window.view.zoom_to(layer, [row])
    b = layer.features.bounds[row]
    roof = main_window.scene.to_world([(b[0] + b[1]) / 2, (b[2] + b[3]) / 2, b[5]])
    click(qtbot, main_window, roof)
    assert main_window.last_pick is not None and main_window.last_pick.row == row
    assert main_window.attribute("id") == str(layer.features.ids[row])
    assert main_window.attribute("layer") == layer.name
    assert float(main_window.attribute("height")) == pytest.approx(
        layer.features.attributes["height"][row], abs=1e-3
    )
    assert main_window.view.selection[1].tolist() == [row]
    # bounds in the scene CRS (VN-2000 metres), not scene-local
    west = b[0] + main_window.scene.origin[0]
    assert main_window.attribute("bounds").startswith(f"E {west:.2f} … ")
    assert "selection_label-labels" in main_window.plotter.actors
    text = main_window.format_coordinates(roof)
    assert "WGS 84 21." in text and "°, 105." in text  # Việt Trì: 21.3 N, 105.4 E
    main_window._hover = tuple(round(v) for v in main_window.view.display_point(roof))
    main_window._update_coordinates()  # what the coalesced mouse-move timer calls
    assert main_window.coords_label.text().startswith("E 5")
    assert "WGS 84 21." in main_window.coords_label.text()
    tree = main_window.inspector.tree
    item = next(
        tree.topLevelItem(i)
        for i in range(tree.topLevelItemCount())
        if tree.topLevelItem(i).text(0) == "name"
    )
    tree.setCurrentItem(item)
    from PySide6.QtGui import QGuiApplication

    assert main_window.inspector.copy_current() == item.text(1)
    assert QGuiApplication.clipboard().text() == item.text(1)


def test_filter_height_over_30_lists_and_highlights(qtbot, main_window):
    layer = main_window.scene.layer("Công trình (buildings)")
    panel = main_window.search_panel
    panel.layer_box.setCurrentIndex(panel.layer_box.findData(layer.name))
    found = panel.run("height > 30")
    expected = int(np.sum(layer.features.attributes["height"] > 30))
    assert found == expected > 0
    assert panel.list.count() == min(expected, 500)
    selected_layer, rows = main_window.view.selection
    assert selected_layer is layer and len(rows) == expected
    panel.list.setCurrentRow(0)
    assert main_window.inspector.layer is layer
    assert panel.run("height >") == 0 and "height" in panel.summary.text()


def test_layer_opacity_style_and_xray_go_through_the_model(qtbot, main_window):
    layer = main_window.scene.layer("Công trình (buildings)")
    panel = main_window.layers_panel
    panel.select_layer(layer.name)
    panel.opacity.setValue(50)
    assert layer.style.opacity == pytest.approx(0.5)
    panel.set_style(layer, "height")
    assert layer.style.mode == "attribute" and layer.style.attribute == "height"
    panel.xray_button.setChecked(True)
    assert layer.style.opacity == pytest.approx(0.2)
    panel.xray_button.setChecked(False)
    assert layer.style.opacity == pytest.approx(0.5)
    n_layers, n_features = len(main_window.scene.layers), len(layer.features)
    panel.remove_current()
    assert layer not in main_window.scene.layers
    total = sum(len(la.features) for la in main_window.scene.layers)
    assert main_window.statusBar().currentMessage().startswith(
        f"{n_layers - 1} layers, {total} features"
    ) and n_features > 0


def _storey_layer() -> Layer:
    """Two stacked 20 m boxes as two 'storeys' of a tiny BIM layer."""
    import pyvista as pv

    lower = pv.Box((-20, 20, -20, 20, 0, 20)).triangulate()
    upper = pv.Box((-20, 20, -20, 20, 20, 40)).triangulate()
    mesh = lower.merge(upper)
    mesh.cell_data["feature"] = np.r_[
        np.zeros(lower.n_cells, np.int32), np.ones(upper.n_cells, np.int32)
    ]
    table = FeatureTable(
        np.array(["g0", "g1"], dtype=object),
        np.array(["IfcSlab", "IfcSlab"], dtype=object),
        np.array(["Tầng 1", "Tầng 2"], dtype=object),
        np.array([[-20, 20, -20, 20, 0, 20], [-20, 20, -20, 20, 20, 40]], float),
    )
    tree = TreeNode(
        "Công trình",
        "IfcBuilding",
        children=[
            TreeNode("Tầng 1", "IfcBuildingStorey", [0]),
            TreeNode("Tầng 2", "IfcBuildingStorey", [1]),
        ],
    )
    layer = Layer("BIM test", mesh, table, kind="bim", tree=tree)
    layer.style.mode = "solid"
    layer.style.color = (220, 40, 40)
    return layer


def test_ifc_storeys_expand_and_hide_their_features(qtbot, main_window):
    layer = main_window.scene.add_layer(_storey_layer())
    main_window.view.zoom_to(layer, [0, 1])
    before = grab(main_window)
    item = main_window.layers_panel.node_item(layer.name, "Tầng 2")
    item.setCheckState(0, Qt.CheckState.Unchecked)
    assert main_window.scene.hidden_features(layer).tolist() == [False, True]
    after = grab(main_window)
    assert np.any(np.abs(before - after) > 30, axis=2).mean() > 0.02
    item.setCheckState(0, Qt.CheckState.Checked)
    assert not main_window.scene.hidden_features(layer).any()
    again = grab(main_window)
    assert np.any(np.abs(before - again) > 30, axis=2).mean() < 0.01


def _big_geojson(path: Path, n: int = 4000) -> Path:
    rng = np.random.default_rng(1)
    feats = []
    for i in range(n):
        x, y = 105.40 + rng.random() * 0.02, 21.30 + rng.random() * 0.02
        d = 0.0001
        ring = [(x, y), (x + d, y), (x + d, y + d), (x, y + d), (x, y)]
        feats.append(polygon_feature(f"n{i}", ring, name=f"Nhà {i}", height=float(i % 40)))
    return write_geojson(path, feats)


def test_import_runs_in_a_worker_with_progress_and_keeps_the_gui_live(qtbot, main_window, tmp_path):
    path = _big_geojson(tmp_path / "nhà mới.geojson")
    n_layers = len(main_window.scene.layers)
    heart = Heartbeat()
    t0 = time.perf_counter()
    job = main_window.start_import(path)
    with qtbot.waitSignal(job.done, timeout=60_000):
        pass
    took = time.perf_counter() - t0
    gaps = heart.stop()
    assert len(main_window.scene.layers) == n_layers + 1
    assert main_window.added_layers[-1].path == str(path.resolve())
    assert str(path.resolve()) in main_window.recent_files()
    # The GUI thread kept beating while the worker imported: its longest pause is a
    # small part of the import (relative, so a loaded machine does not fail it; an
    # import on the GUI thread would pause it for the whole import).
    assert max(gaps) < max(0.25 * took, 1.0), f"GUI stalled {max(gaps):.3f} s of {took:.2f} s"


def test_cancelled_and_failed_imports_leave_the_scene_unchanged(qtbot, main_window, tmp_path):
    path = _big_geojson(tmp_path / "a.geojson", 500)
    before = list(main_window.scene.layers)
    job = main_window.start_import(path)
    from PySide6.QtWidgets import QPushButton

    job.dialog.findChild(QPushButton).click()  # the progress dialog's Cancel button
    with qtbot.waitSignal(job.done, timeout=60_000):
        pass
    assert main_window.scene.layers == before
    broken = tmp_path / "broken.geojson"
    broken.write_text('{"type": "FeatureCollection", "features": [', encoding="utf-8")
    job = main_window.start_import(broken)
    with qtbot.waitSignal(job.done, timeout=60_000):
        pass
    assert main_window.scene.layers == before
    kind, text = main_window.messages[-1]
    assert kind == "warning" and "broken.geojson" in text and "\n" not in text


def test_dropping_a_file_starts_an_import(qtbot, main_window, tmp_path):
    path = _big_geojson(tmp_path / "drop.geojson", 50)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    event = QDropEvent(
        QPointF(10, 10),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    before = len(main_window.scene.layers)
    main_window.dropEvent(event)
    job = main_window.jobs[-1]
    outcome: list[str] = []
    job.succeeded.connect(lambda _layers: outcome.append("ok"))
    job.failed.connect(outcome.append)
    with qtbot.waitSignal(job.done, timeout=60_000):
        pass
    assert outcome == ["ok"]  # the drop imported, it did not fail quietly
    assert len(main_window.scene.layers) == before + 1
    added = main_window.scene.layers[-1]
    assert added.source is not None and Path(added.source).resolve() == path.resolve()
    assert len(added.features) == 50


def test_save_and_reopen_a_project_keeps_bookmarks_styles_and_camera(qtbot, main_window, tmp_path):
    main_window.go_to_bookmark("Ga Việt Trì (TOD)")
    main_window.save_bookmark("Góc nhìn của tôi")
    main_window.bookmarks_panel.rename("Góc nhìn của tôi", "Ngã tư Hùng Vương")
    roads = main_window.scene.layer("Đường (roads)")
    main_window.scene.set_visible(roads, False)
    main_window.timeline_panel.set_fraction(0.5)
    clock_ms = main_window.sim.clock.ms
    camera = main_window.view.current_bookmark("c")
    path = tmp_path / "dự án.ctproj"
    assert main_window.save_project(path)
    assert json.loads(path.read_text(encoding="utf-8"))["format"] == "citytwin-project"
    names = [b.name for b in main_window.scene.bookmarks]

    main_window.open_project(PILOT)  # not a project: reported, scene untouched
    assert [b.name for b in main_window.scene.bookmarks] == names
    main_window.set_scene(importers.open_scene(PILOT), PILOT)
    assert "Ngã tư Hùng Vương" not in main_window.bookmarks_panel.names()

    warnings = main_window.open_project(path)
    assert warnings == []
    assert main_window.bookmarks_panel.names() == names
    assert "Ngã tư Hùng Vương" in names
    assert main_window.scene.layer("Đường (roads)").visible is False
    assert main_window.sim.clock.ms == clock_ms
    got = main_window.view.current_bookmark("c")
    assert np.allclose(got.position, camera.position, atol=1e-3)


def test_autosave_writes_a_recovery_file_offered_on_next_start(qtbot, main_window, tmp_path):
    from twin import project as projects

    path = tmp_path / "p.ctproj"
    main_window.save_project(path)
    time.sleep(0.01)
    main_window.save_bookmark("sau lần lưu")
    rec = main_window.autosave()
    assert rec == projects.recovery_path(path) and rec.exists()
    assert projects.recovery_candidate(path) == rec
    main_window.save_project(path)
    assert projects.recovery_candidate(path) is None


def test_tools_measure_section_screenshot(qtbot, main_window, tmp_path):
    a = main_window.scene.to_world([0.0, 0.0, 0.0])
    b = main_window.scene.to_world([30.0, 40.0, 12.0])
    m = main_window.show_measurement(a, b)
    assert m.horizontal == pytest.approx(50.0) and m.dh == pytest.approx(12.0)
    assert "50.00" in main_window.statusBar().currentMessage()
    main_window.section_action.setChecked(True)
    mapper = next(iter(main_window.view.actors.values())).GetMapper()
    assert mapper.GetNumberOfClippingPlanes() == 1
    main_window.section_action.setChecked(False)
    assert mapper.GetNumberOfClippingPlanes() == 0
    out = main_window.export_screenshot(tmp_path / "shot.png", (640, 360))
    from PySide6.QtGui import QImage

    image = QImage(str(out))
    assert (image.width(), image.height()) == (640, 360)


def test_layout_and_recent_files_persist(qtbot, main_window, tmp_path):
    main_window._remember(PILOT)
    main_window.search_panel.hide()
    main_window.close()
    settings = main_window.settings
    assert settings.value("window/state") is not None
    assert str(PILOT.resolve()) in main_window.recent_files()


def test_vietnamese_translation_is_complete_and_loads(qtbot):
    from app import i18n
    from app.i18n.update_ts import extract

    table = i18n.read_ts(i18n.HERE / "citytwin_vi.ts")
    missing = [s for s in extract() if (i18n.CONTEXT, s) not in table]
    assert missing == []
    try:
        assert i18n.install("vi") is not None
        assert i18n.tr("Layers") == "Lớp dữ liệu"
        assert i18n.tr("Measure distance") == "Đo khoảng cách"
    finally:
        i18n.install("en")
    assert i18n.tr("Layers") == "Layers"
    assert i18n.choose_language("auto", "vi_VN") == "vi"
    assert i18n.choose_language(None, "en_US") == "en"
    assert i18n.choose_language("vi", "en_US") == "vi"


def test_timeline_moves_planned_projects_and_sensor_values(qtbot, main_window):
    sim = main_window.sim
    assert sim is not None, "viet_tri.toml declares sensors and plans"
    panel = main_window.timeline_panel
    name = next(n for n in sim.plans if "planned projects" in n and "buildings" in n)
    layer = main_window.scene.layer(name)
    panel.show_all()  # the default window is the sensor data; the plan needs the years
    panel.slider.setValue(0)
    assert sim.plan_summary()[name]["planned"] > 0
    start_text = panel.plan_label.text()
    outline = f"status:{id(layer)}"  # planned projects: outlined, in the user's colours
    assert outline in main_window.view.overlay_actors
    panel.slider.setValue(panel.slider.maximum())
    assert sim.plan_summary()[name]["built"] == len(layer.features)
    assert panel.plan_label.text() != start_text
    assert panel.time_label.text().startswith(f"{sim.clock.end:%Y-%m-%d}")
    assert outline not in main_window.view.overlay_actors  # built: no status left

    sensors = main_window.sensors_panel
    panel.set_fraction(0.0001)
    sensors.refresh()
    assert sensors.table.model().rowCount() == len(sim.sensors)
    assert any(sensors.cell_text(i, 2) != "—" for i in range(len(sim.sensors)))
    sensors.set_current_row(0)
    assert sensors.chart.v.size > 10
    before = main_window.plotter.camera.focal_point
    sensors.fly_to_sensor(0)
    assert np.allclose(main_window.plotter.camera.focal_point, sim.sensors.positions[0])
    assert main_window.plotter.camera.focal_point != before

    buildings = main_window.scene.layer("Công trình (buildings)")
    keys = [k for k, _ in main_window.layers_panel.style_choices(buildings)]
    assert "sensor:energy" in keys
    main_window.layers_panel.set_style(buildings, "sensor:energy")
    assert buildings.name in sim.thematic
    main_window.layers_panel.set_style(buildings, "class")
    assert buildings.name not in sim.thematic

    panel.play_button.setChecked(True)
    t0 = sim.clock.ms
    qtbot.waitUntil(lambda: sim.clock.ms > t0, timeout=3000)
    panel.play_button.setChecked(False)
    assert not sim.clock.playing


IFC_HOUSE = Path(__file__).resolve().parents[2] / "shared" / "data" / "ifc" / "ifc2x3"
IFC_HOUSE = IFC_HOUSE / "AC11-FZK-Haus-IFC.ifc"


@pytest.mark.skipif(not IFC_HOUSE.exists(), reason="shared IFC sample data not present")
def test_import_an_ifc_with_progress_then_cancel_one(qtbot, main_window):
    """The largest shared IFC: progress reaches the dialog, the GUI keeps beating,
    its storeys appear in the layer tree; a second import is cancelled mid-way."""
    if "ifc" not in importers.REGISTRY:
        pytest.skip("IFC importer not registered")
    before = list(main_window.scene.layers)
    job = main_window.start_import(IFC_HOUSE, options={"cache": False})
    seen: list[tuple[int, int]] = []
    job.progress.connect(lambda d, t: seen.append((d, t)))
    heart = Heartbeat()
    t0 = time.perf_counter()
    job_succeeded: list[float] = []
    job.succeeded.connect(lambda _l: job_succeeded.append(max(heart.gaps, default=0.0)))
    with qtbot.waitSignal(job.done, timeout=120_000):
        pass
    took = time.perf_counter() - t0
    heart.stop()
    assert seen and seen[-1][0] == seen[-1][1]
    assert job.dialog.maximum() == seen[-1][1]
    added = [la for la in main_window.scene.layers if la not in before]
    assert added and added[0].tree is not None
    main_window.layers_panel.node_item(added[0].name, "Erdgeschoss")
    # while the worker ran (before the layers were added and drawn) the GUI kept beating
    # (relative to the import's time, so that a loaded machine does not fail it)
    assert job_succeeded, "the import did not succeed"
    stall = job_succeeded[0]
    assert stall < max(0.25 * took, 0.5), f"GUI stalled {stall:.3f} s of {took:.2f} s"

    n = len(main_window.scene.layers)
    job = main_window.start_import(IFC_HOUSE, options={"cache": False})
    cancelled: list[bool] = []
    job.cancelled.connect(lambda: cancelled.append(True))
    qtbot.waitSignal(job.progress, timeout=60_000).wait()
    from PySide6.QtWidgets import QPushButton

    t0 = time.perf_counter()
    job.dialog.findChild(QPushButton).click()
    with qtbot.waitSignal(job.done, timeout=30_000):
        pass
    assert cancelled == [True]
    assert time.perf_counter() - t0 < 10
    assert len(main_window.scene.layers) == n


def test_software_gl_drops_msaa(qtbot, main_window):
    """Under Xvfb the view runs on llvmpipe: 4x MSAA would more than double the
    frame time (over 100 ms a frame), so the window draws without it."""
    from app import render_quality

    qtbot.waitUntil(lambda: bool(main_window.render_quality), timeout=5000)
    ren_win = main_window.plotter.ren_win
    assert "llvmpipe" in render_quality.renderer_string(ren_win).lower()
    assert main_window.render_quality.startswith("none")
    assert ren_win.GetMultiSamples() == 0


def test_open_a_data_file_shows_the_window_before_the_import_ends(qtbot, tmp_path, monkeypatch):
    """`citytwin open model.ifc`: the window is up at once on a scene fitted to
    the file, the import runs in the background, then the view frames it."""
    from PySide6.QtWidgets import QApplication

    from app import main_window as mw

    ifc = DATA / "ifc" / "pass-grf000-correct_georeferencing.ifc"
    ini = tmp_path / "settings.ini"
    monkeypatch.setattr(
        mw, "QSettings", lambda *_a: QSettings(str(ini), QSettings.Format.IniFormat)
    )
    seen: dict = {}

    def event_loop() -> int:
        window = next(  # earlier tests' windows are closed (hidden) but may linger
            w
            for w in QApplication.topLevelWidgets()
            if isinstance(w, mw.MainWindow) and w.isVisible()
        )
        seen["visible_while_importing"] = window.isVisible() and bool(window.jobs)
        seen["layers_at_start"] = len(window.scene.layers)
        qtbot.waitUntil(lambda: not window.jobs and len(window.scene.layers) > 0, timeout=60000)
        seen["layers"] = [layer.name for layer in window.scene.layers]
        window.close()
        return 0

    monkeypatch.setattr(QApplication, "exec", staticmethod(event_loop))
    assert mw.run_app(ifc) == 0
    assert seen["visible_while_importing"] and seen["layers_at_start"] == 0
    assert any(ifc.stem in name for name in seen["layers"])


def test_a_model_change_costs_one_frame_not_two(qtbot, main_window):
    """pyvistaqt repaints after every VTK render and its repaint renders again:
    the window asks for frames through the widget's repaint, so hiding a layer
    draws the (software-GL, ~50-100 ms) scene once."""
    qtbot.waitUntil(lambda: bool(main_window.render_quality), timeout=5000)
    qtbot.wait(200)
    frames = []
    ren_win = main_window.plotter.ren_win
    tag = ren_win.AddObserver("StartEvent", lambda *_: frames.append(1))
    try:
        roads = main_window.scene.layer("Đường (roads)")
        main_window.scene.set_visible(roads, False)
        qtbot.wait(300)
    finally:
        ren_win.RemoveObserver(tag)
    assert len(frames) == 1
