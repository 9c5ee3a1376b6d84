"""Preferences, live language switch, measuring by clicks and autosave recovery,
driven through the real window under Xvfb as a planner would: menu clicks, dialog
buttons, mouse clicks in the 3D view."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np
import pytest
from conftest import SCENES
from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtWidgets import QApplication, QDialogButtonBox, QMenu, QMessageBox, QWidget
from qt_actions import click, show_window

import importers
from app import i18n
from app.preferences import AUTOSAVE_MINUTES, Preferences, PreferencesDialog

pytestmark = pytest.mark.gui

if not os.environ.get("DISPLAY"):
    pytest.skip("no X display (install xvfb: pytest-xvfb starts it)", allow_module_level=True)

PILOT = SCENES / "viet_tri.toml"
ONLY_IN_AUTOSAVE = "Chỉ có trong bản tự lưu"


@pytest.fixture
def settings_file(tmp_path):
    """An ini file of its own, so no test reads or writes the user's settings."""
    return tmp_path / "settings.ini"


@pytest.fixture
def main_window(qtbot, settings_file, monkeypatch):
    """The window on the pilot scene in English; warning boxes are answered at once
    (questions are left to the tests).

    The language is put back to English afterwards: the translator is global to
    the application, and other tests read English texts.
    """
    from app import main_window as mw

    for kind in ("warning", "critical", "information"):
        monkeypatch.setattr(mw.QMessageBox, kind, lambda *_a, **_k: QMessageBox.StandardButton.Ok)
    i18n.install("en")
    settings = QSettings(str(settings_file), QSettings.Format.IniFormat)
    settings.setValue("language", "en")
    window = mw.MainWindow(importers.open_scene(PILOT), scene_path=PILOT, settings=settings)
    show_window(qtbot, window)
    yield window
    if i18n.current() != "en":
        i18n.install("en")
    window.close()


# -- what a person does -------------------------------------------------------------------
def open_menu(qtbot, menu: QMenu, parent: QWidget) -> None:
    """Click the entry of ``menu`` in ``parent`` (the menu bar or a menu) and wait
    until the menu is up."""
    qtbot.mouseClick(
        parent, Qt.MouseButton.LeftButton, pos=parent.actionGeometry(menu.menuAction()).center()
    )
    qtbot.waitUntil(menu.isVisible, timeout=3000)


def choose(qtbot, window, *path: str) -> None:
    """Pick a menu entry with the mouse: ``choose(qtbot, window, "&View", "Language",
    "Tiếng Việt")`` opens each menu in turn and clicks the last entry."""
    parent: QWidget = window.menuBar()
    for title in path[:-1]:
        menu = next(a.menu() for a in parent.actions() if a.menu() and a.text() == title)
        open_menu(qtbot, menu, parent)
        parent = menu
    action = next(a for a in parent.actions() if a.text() == path[-1])
    qtbot.mouseClick(parent, Qt.MouseButton.LeftButton, pos=parent.actionGeometry(action).center())


@contextmanager
def when_modal(kind: type, act: Callable[[QWidget], None]) -> Iterator[None]:
    """While the block runs, wait for a modal dialog of ``kind`` and let ``act`` use
    it (its own event loop is running then). A failing ``act`` closes the dialog
    so the test fails instead of hanging."""
    acted: list[QWidget] = []
    errors: list[BaseException] = []
    timer = QTimer()
    timer.setInterval(20)

    def poll() -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, kind) or not box.isVisible():
            return
        timer.stop()
        acted.append(box)
        try:
            act(box)
        except BaseException as exc:  # re-raised below, after the dialog is closed
            errors.append(exc)
            box.reject()

    timer.timeout.connect(poll)
    timer.start()
    try:
        yield
    finally:
        timer.stop()
    if errors:
        raise errors[0]
    assert acted, f"no {kind.__name__} came up"


def click_button(qtbot, button: QWidget) -> None:
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def preferences_dialog(qtbot, window, fill: Callable[[PreferencesDialog], None]) -> None:
    """Tools → Preferences…, let ``fill`` set the fields, press OK."""

    def act(dialog: PreferencesDialog) -> None:
        fill(dialog)
        click_button(qtbot, dialog.buttons.button(QDialogButtonBox.StandardButton.Ok))

    with when_modal(PreferencesDialog, act):
        choose(qtbot, window, window.tools_menu.title(), window.preferences_action.text())


def type_minutes(qtbot, dialog: PreferencesDialog, minutes: int) -> None:
    spin = dialog.autosave_spin
    spin.setFocus()
    spin.selectAll()
    qtbot.keyClicks(spin, str(minutes))
    assert spin.value() == minutes


def pick_language(dialog: PreferencesDialog, key: str) -> None:
    box = dialog.language_box
    box.setCurrentIndex(box.findData(key))


# -- language ---------------------------------------------------------------------------
def test_language_switches_live_from_the_menu_and_back_from_preferences(
    qtbot, main_window, settings_file
):
    w = main_window
    assert (w.file_menu.title(), w.layers_panel.windowTitle()) == ("&File", "Layers")

    choose(qtbot, w, "&View", "Language", "Tiếng Việt")
    qtbot.waitUntil(lambda: w.file_menu.title() == "&Tệp", timeout=3000)
    assert w.view_menu.title() == "&Hiển thị"
    assert w.measure_action.text() == "Đo khoảng cách"
    assert w.layers_panel.windowTitle() == "Lớp dữ liệu"
    assert w.layers_panel.toggleViewAction().text() == "Lớp dữ liệu"
    assert w.bookmarks_panel.windowTitle() == "Điểm nhìn đã lưu"
    assert w.bookmarks_panel.save_button.text() == "Lưu góc nhìn"
    assert w.layers_panel.tree.headerItem().text(0) == "Lớp"
    assert w.search_panel.find_button.text() == "Tìm"
    assert w.sensors_panel.windowTitle() == "Cảm biến và cảnh báo"
    assert w.timeline_panel.play_button.text() == "Phát"
    assert w.tour_panel is None or w.tour_panel.windowTitle() == "Tham quan"
    assert w.preferences_action.text() == "Tùy chọn…"
    assert "nhấp vào một đối tượng" in w.statusBar().currentMessage()
    assert w.language_actions["vi"].isChecked()
    assert QSettings(str(settings_file), QSettings.Format.IniFormat).value("language") == "vi"

    preferences_dialog(qtbot, w, lambda d: pick_language(d, "en"))
    qtbot.waitUntil(lambda: w.file_menu.title() == "&File", timeout=3000)
    assert w.layers_panel.windowTitle() == "Layers"
    assert w.bookmarks_panel.save_button.text() == "Save view"
    assert w.language_actions["en"].isChecked()
    assert QSettings(str(settings_file), QSettings.Format.IniFormat).value("language") == "en"


# -- autosave interval ------------------------------------------------------------------------
def test_autosave_interval_from_preferences_restarts_the_timer_and_persists(
    qtbot, main_window, settings_file
):
    timer = main_window.autosave_timer
    assert timer.isActive() and timer.interval() == AUTOSAVE_MINUTES * 60_000

    preferences_dialog(qtbot, main_window, lambda d: type_minutes(qtbot, d, 2))
    assert timer.isActive() and timer.interval() == 2 * 60_000
    stored = QSettings(str(settings_file), QSettings.Format.IniFormat)
    assert int(stored.value("autosave_minutes")) == 2

    preferences_dialog(qtbot, main_window, lambda d: type_minutes(qtbot, d, 0))
    assert not timer.isActive()
    stored = QSettings(str(settings_file), QSettings.Format.IniFormat)
    assert Preferences.load(stored) == Preferences(language="en", autosave_minutes=0)


def test_preferences_read_back_with_defaults_for_bad_values(tmp_path):
    settings = QSettings(str(tmp_path / "p.ini"), QSettings.Format.IniFormat)
    assert Preferences.load(settings) == Preferences("auto", AUTOSAVE_MINUTES)
    settings.setValue("language", "klingon")
    settings.setValue("autosave_minutes", "soon")
    assert Preferences.load(settings) == Preferences("auto", AUTOSAVE_MINUTES)
    settings.setValue("autosave_minutes", 0.5)  # a fraction of a minute is not "off"
    assert Preferences.load(settings).autosave_minutes == 1
    Preferences("vi", 7).save(settings)
    assert Preferences.load(settings) == Preferences("vi", 7)


# -- measuring with the mouse ------------------------------------------------------------
def _two_roofs_in_sight(window):
    """Frame the tallest building and a neighbour 40 m or more away whose roof
    centres both show under their pixels (no taller roof in front, no L-shaped
    footprint around an empty centre); returns the two roof centres (world)."""
    layer = window.scene.layer("Công trình (buildings)")
    b = layer.features.bounds
    ok = np.all(np.isfinite(b), axis=1)
    first = int(np.argmax(np.where(ok, layer.features.attributes["height"], -np.inf)))
    centres = np.c_[(b[:, 0] + b[:, 1]) / 2, (b[:, 2] + b[:, 3]) / 2, b[:, 5]]
    gap = np.hypot(*(centres[:, :2] - centres[first, :2]).T)
    gap[~ok | (gap < 40)] = np.inf
    for second in np.argsort(gap)[:20]:
        rows = [first, int(second)]
        window.view.zoom_to(layer, rows)
        window.plotter.render()
        roofs = [window.scene.to_world(centres[r]) for r in rows]
        if all(_roof_under(window, roof, row) for roof, row in zip(roofs, rows, strict=True)):
            return roofs
    pytest.fail("no two buildings of the pilot scene show their roof centres")


def _roof_under(window, roof, row: int) -> bool:
    """The roof of ``row`` fills the pixels within 2 px of ``roof``'s pixel."""
    x, y = window.view.display_point(roof)
    for dx in (-2, 0, 2):
        for dy in (-2, 0, 2):
            hit = window.view.pick(x + dx, y + dy)
            if hit is None or hit.row != row or abs(hit.world[2] - roof[2]) > 0.01:
                return False
    return True


def test_measure_distance_with_two_clicks_in_the_view(qtbot, main_window):
    w = main_window
    a, b = _two_roofs_in_sight(w)

    click_button(qtbot, w.toolbar.widgetForAction(w.measure_action))
    assert w.measure_action.isChecked()
    click(qtbot, w, a)
    assert w.last_measurement is None
    click(qtbot, w, b)

    m = w.last_measurement
    assert m is not None
    assert m.horizontal == pytest.approx(np.hypot(*(b - a)[:2]), abs=0.5)
    assert m.dh == pytest.approx(b[2] - a[2], abs=0.05)
    assert w.statusBar().currentMessage().startswith(m.text())
    assert {"measure_line", "measure_label-labels"} <= set(w.plotter.actors)
    assert w.last_pick is None  # measuring clicks do not select

    click_button(qtbot, w.toolbar.widgetForAction(w.measure_action))
    assert "measure_line" not in w.plotter.actors


# -- autosave recovery ---------------------------------------------------------------------
@pytest.mark.parametrize("answer", ["Yes", "No"])
def test_recovery_prompt_restores_a_newer_autosave_only_on_yes(
    qtbot, main_window, tmp_path, answer
):
    from app.main_window import offer_recovery
    from twin import project as projects

    w = main_window
    path = tmp_path / "p.ctproj"
    assert w.save_project(path)
    w.save_bookmark(ONLY_IN_AUTOSAVE)
    recovery = w.autosave()
    saved = path.stat().st_mtime
    os.utime(path, (saved - 60, saved - 60))  # the autosave is a minute newer
    assert projects.recovery_candidate(path) == recovery
    w.open_project(path)  # what a restart shows: the saved project
    assert ONLY_IN_AUTOSAVE not in w.bookmarks_panel.names()

    asked: list[str] = []

    def reply(box: QMessageBox) -> None:
        asked.append(box.text())
        click_button(qtbot, box.button(getattr(QMessageBox.StandardButton, answer)))

    with when_modal(QMessageBox, reply):
        restored = offer_recovery(w, path)

    assert asked == ["CityTwin found an autosave newer than the project. Restore it?"]
    assert restored is (answer == "Yes")
    names = w.bookmarks_panel.names()
    assert (ONLY_IN_AUTOSAVE in names) is (answer == "Yes")
    assert (ONLY_IN_AUTOSAVE in [bm.name for bm in w.scene.bookmarks]) is (answer == "Yes")
    assert w.project_path == path


def test_no_prompt_without_a_newer_autosave(qtbot, main_window, tmp_path):
    from app.main_window import offer_recovery

    path = tmp_path / "p.ctproj"
    assert main_window.save_project(path)  # saving discards the recovery file
    assert offer_recovery(main_window, path) is False
