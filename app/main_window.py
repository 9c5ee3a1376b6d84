"""The desktop window: 3D viewport in the centre, dockable panels, menus, tools.

A thin view over :mod:`twin`: slots call one model function each and the
model's psygnal events keep :class:`twin.render.SceneView` and the panels in
sync. Panels live in :mod:`app.panels`, imports in :mod:`app.workers`, project
files in :mod:`twin.project`. Window layout, recent files and preferences
persist in QSettings (tests pass their own ini-file settings).
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
from PySide6.QtCore import QSettings, QStandardPaths, Qt, QTimer
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressDialog,
    QSpinBox,
    QToolBar,
)
from pyvistaqt import QtInteractor

import importers
from app import i18n, render_quality
from app.flood_indicator import FloodIndicator
from app.i18n import Translatable, tr
from app.import_preview import ImportPreview
from app.layout import WindowLayout
from app.measure_tools import MeasureTools
from app.panels import feed_connect
from app.panels.attribute_table import AttributeTables
from app.panels.bookmarks import BookmarksPanel
from app.panels.compliance import CompliancePanel
from app.panels.feed_health import FeedHealthPanel, HealthIndicator
from app.panels.inspector import InspectorPanel
from app.panels.layers import LayersPanel
from app.panels.search import SearchPanel
from app.panels.sensors import SensorsPanel
from app.panels.sunstudy import SunStudyPanel
from app.panels.timeline import TimelinePanel
from app.preferences import Preferences, PreferencesDialog, language_choices
from app.stream_layers import StreamRows, loaded_layer
from app.workers import ImportJob, ImportWorker
from twin import project as projects
from twin.layer import Layer
from twin.measure import Measurement
from twin.origin import OriginReport, distance_to_content, judge_import, layer_extent, recentre
from twin.render import OffscreenRenderer, Pick, SceneView, save_png
from twin.render.looks import (
    LookOptions,
    applied_looks,
    apply_looks,
    default_looks,
    default_sun,
)
from twin.render.overlays import SimulationOverlay
from twin.scene import Scene
from twin.sim.store import project_store_path
from twin.viewstate import ViewState, scene_time

log = logging.getLogger(__name__)
CLICK_SLOP_PX = 4
MAX_RECENT = 8
#: A new IFC model further than this (m) from the rest of the scene's content is
#: most likely georeferenced elsewhere: the window offers to place it.
FAR_FROM_CONTENT_M = 50_000.0
HOVER_MS = 60
PROJECT_FILTER = "CityTwin project (*.ctproj)"


def data_file_filter() -> str:
    """File-dialog filters built from the importer registry."""
    groups = [
        f"{imp.name} ({' '.join('*' + s for s in imp.suffixes)})"
        for imp in importers.REGISTRY.values()
    ]
    every = " ".join(sorted({"*" + s for imp in importers.REGISTRY.values() for s in imp.suffixes}))
    return ";;".join([f"{tr('All supported files')} ({every} *.toml)", *groups])


def supported(path: Path) -> bool:
    if path.suffix.lower() in (".toml", projects.SUFFIX):
        return True
    try:
        importers.importer_for(path)
    except importers.ImportFailed:
        return False
    return True


class MainWindow(Translatable, QMainWindow):
    """CityTwin's main window over one scene."""

    #: one-shot receiver of the next click's world point (:meth:`pick_point_once`)
    _pick_once: Callable[[np.ndarray | None], None] | None = None
    #: the open placement dialog (not modal: the view stays clickable)
    placement_dialog = None

    def __init__(
        self,
        scene: Scene,
        scene_path: Path | None = None,
        settings: QSettings | None = None,
    ) -> None:
        super().__init__()
        self.settings = settings if settings is not None else QSettings("CityTwin", "CityTwin")
        self.scene = scene
        self.scene_path = Path(scene_path) if scene_path else _spec_path(scene)
        self.project_path: Path | None = None
        self._history_store: Path | None = None  # the opening project's history file
        self.added_layers: list[projects.AddedLayer] = []
        self.last_pick: Pick | None = None
        self.last_sensor: int | None = None
        self.last_measurement: Measurement | None = None
        self.jobs: list[ImportJob] = []
        self.progress_dialog: QProgressDialog | None = None
        self._press: tuple[int, int] | None = None
        self._measure_points: list[np.ndarray] = []
        self.measure_tools = MeasureTools(self)
        self._hover: tuple[int, int] | None = None
        self._closed = False
        #: anti-aliasing chosen for this GL (None until the window is first shown)
        self.render_quality: str | None = None
        self.sim_overlay: SimulationOverlay | None = None
        self.sun_light = None
        self.resize(1400, 860)
        self.setAcceptDrops(True)

        # auto_update=False: pyvistaqt otherwise re-renders 5 times a second, and a
        # software-GL frame of the pilot scene costs 0.1-0.6 s of the GUI thread.
        self.plotter = QtInteractor(self, auto_update=False)
        self.setCentralWidget(self.plotter.interactor)
        _one_render_per_paint(self.plotter)
        self.view = SceneView(
            scene, self.plotter, request_render=self.request_render, prebuild_locators=True
        )
        self.layers_panel = LayersPanel(self)
        self.layers_panel.streams = StreamRows(self)  # streamed layers are rows too
        self.inspector = InspectorPanel(self)
        self.search_panel = SearchPanel(self)
        self.bookmarks_panel = BookmarksPanel(self)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.layers_panel)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.bookmarks_panel)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.inspector)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.search_panel)
        self.timeline_panel = TimelinePanel(self)
        self.sensors_panel = SensorsPanel(self)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.timeline_panel)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.sensors_panel)
        self.tabifyDockWidget(self.search_panel, self.sensors_panel)
        self.sunstudy_panel = SunStudyPanel(self)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.sunstudy_panel)
        self.tabifyDockWidget(self.sensors_panel, self.sunstudy_panel)
        self.compliance_panel = CompliancePanel(self)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.compliance_panel)
        self.tabifyDockWidget(self.sensors_panel, self.compliance_panel)
        self.feed_health_panel = FeedHealthPanel(self)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.feed_health_panel)
        self.tabifyDockWidget(self.sensors_panel, self.feed_health_panel)
        self.feed_health_panel.hide()  # opened from its status-bar indicator or View
        self.search_panel.raise_()
        self.search_panel.raise_()
        self.sim = None
        self.ioc = None  # (IocLink, detach, sim, url) while live alerts go to the IOC
        self.tour_panel = self._optional_tour_panel()
        self._connect_panels()
        self._build_actions()
        self._build_status_bar()
        self._install_mouse()
        self._bind(scene)
        self._north_and_scale(True)
        self.attribute_tables = AttributeTables(self)
        self.layers_panel.attribute_table_requested.connect(self.attribute_tables.open)
        self.view_menu.addAction(self.attribute_tables.dock_action)
        self.window_layout = WindowLayout(self, self.settings)
        self.window_layout.add_to_menu(self.view_menu)
        self._restore_settings()
        self.autosave_timer = QTimer(self)
        self.autosave_timer.timeout.connect(self.autosave)
        self._apply_autosave(Preferences.load(self.settings).autosave_minutes)
        # streamed tiles (scene `stream = true`) load in threads and join the view here,
        # a few ms of actors at a time (twin.render.tiled)
        self.stream_timer = QTimer(self)
        # 15 ms a pump: with what else the GUI thread does in that gap it stays
        # under 30 ms beyond the frame (bench/bench_stream_stall.py, variant b15)
        self.stream_timer.timeout.connect(lambda: self.view.pump_streams(0.015))
        self.stream_timer.timeout.connect(self.layers_panel.streams.refresh_counts)
        self.stream_timer.start(40)
        self.retranslate()

    # -- assembly ------------------------------------------------------------------------
    def _optional_tour_panel(self):
        """The tour dock (another module) when it is present and builds."""
        try:
            from app.tour_panel import TourPanel

            panel = TourPanel(self)
        except Exception:  # an optional panel must not keep the window from opening
            log.exception("tour panel not available")
            return None
        panel.setObjectName("tour_dock")
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, panel)
        panel.hide()
        return panel

    def _connect_panels(self) -> None:
        self.layers_panel.zoom_requested.connect(self.zoom_to)
        self.search_panel.streamed = lambda: [  # a streamed layer: what its tiles hold now
            loaded_layer(s) for s in self.view.streams if s.visible and s.resident]
        self.search_panel.feature_activated.connect(self.select_feature)
        self.search_panel.highlight_requested.connect(self._highlight)
        self.search_panel.zoom_requested.connect(self.zoom_to)
        self.bookmarks_panel.restore_requested.connect(self.go_to_bookmark)
        self.bookmarks_panel.add_requested.connect(self.save_bookmark)
        self.sensors_panel.fly_requested.connect(self.fly_to)
        self.layers_panel.sensor_kinds = self._sensor_kinds
        self.layers_panel.sensor_style_requested.connect(self._color_by_sensor)

    def _bind(self, scene: Scene) -> None:
        self.scene = scene
        self.inspector.origin = tuple(float(v) for v in scene.origin)
        for panel in (self.layers_panel, self.search_panel, self.bookmarks_panel):
            panel.bind(scene)
        scene.events.bookmarks_changed.connect(self._refresh_bookmark_box)
        scene.events.layer_removed.connect(self._on_layer_removed)
        self._refresh_bookmark_box()
        self._start_simulation(scene)
        self.crs_label.setText(f"CRS {scene.crs_label}")
        self._update_title()
        if scene.bookmarks:
            self.view.apply_bookmark(scene.bookmarks[0])
        else:
            self.view.overview()
        self._show_summary()

    def _show_summary(self) -> None:
        scene = self.scene
        # a streamed layer counts whole (its features in the source), not what is loaded
        n = sum(len(la.features) for la in scene.layers)
        n += sum(source.n_features for source in scene.streams)
        self.statusBar().showMessage(
            tr("{0} layers, {1} features — click a feature to inspect it")
            .replace("{0}", str(len(scene.layers) + len(scene.streams)))
            .replace("{1}", str(n))
        )

    def set_scene(self, scene: Scene, scene_path: Path | None) -> None:
        """Replace the whole scene (project open): new view, panels rebound."""
        old = self.scene
        old.events.bookmarks_changed.disconnect(self._refresh_bookmark_box)
        old.events.layer_removed.disconnect(self._on_layer_removed)
        self._stop_simulation()
        self.attribute_tables.close_all()
        self.view.close()
        self.plotter.clear_actors()
        self.view = SceneView(
            scene, self.plotter, request_render=self.request_render, prebuild_locators=True
        )
        self.scene_path = scene_path
        self.added_layers = []
        self.inspector.show_feature(None, None)
        self._bind(scene)
        self._north_and_scale(self.north_action.isChecked())
        self.set_legend(self.legend_action.isChecked())
        self.set_underground(self.underground_action.isChecked())
        self._look_toggled()
        self.set_sun_light(self.sun_action.isChecked())
        self.request_render()

    def _start_simulation(self, scene: Scene) -> None:
        """Sensors, feeds and planned projects of the scene file, when it has any
        (twin.sim); the timeline and sensor docks stay disabled otherwise."""
        self.sim = None
        self.connected_feeds: list = []  # (feed, table) from File → Connect feed…
        extra = scene.spec.extra if scene.spec is not None else {}
        if any(extra.get(key) for key in ("sensors", "plans", "feeds")):
            try:
                from twin.sim.simulation import Simulation

                # a project keeps its history in its own store (kept across restarts)
                sim = Simulation.from_scene(scene, store_path=self._history_store or ":memory:")
                sim.run_feeds_now()  # finite feeds (synthetic, CSV replay): < 0.3 s
                for feed in sim.feeds:
                    if feed.kind not in ("synthetic", "csv"):
                        feed.start()  # live feeds (MQTT, SensorThings) in their threads
                declared = scene_time(scene)
                if declared is not None:  # the view time renders use too: one twin
                    sim.clock.set_time(declared)
                with self.view.hold_render():
                    self.sim_overlay = SimulationOverlay(self.view, sim)
                self.sim = sim
            except Exception as exc:  # the viewer must open even if the simulation cannot
                self.statusBar().showMessage(
                    tr("Simulation not started: {0}").replace("{0}", _first_line(exc))
                )
        self.timeline_panel.bind(self.sim)
        self.sensors_panel.bind(self.sim)
        self.feed_health_panel.bind(self.sim)
        self.flood_indicator.bind(self.sim)
        self.sunstudy_panel.follow_clock()
        self.compliance_panel.bind(self.sim)
        self._apply_ioc(Preferences.load(self.settings).ioc_url)

    def _apply_ioc(self, url: str) -> None:
        """Publish the simulation's live alerts and values to the IOC at ``url``
        (Preferences; empty: off), through the outbox in the application-data folder."""
        if self.ioc is not None:
            if self.ioc[3] == url and self.ioc[2] is self.sim:
                return
            link, detach, sim, _ = self.ioc
            self.ioc = None
            detach()
            if link in sim.health.feeds:
                sim.health.feeds.remove(link)
            link.close(timeout=2.0)
        if not url or self.sim is None:
            return
        from twin.sim.ioc_link import IocLink, attach

        state = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
        try:
            Path(state).mkdir(parents=True, exist_ok=True)
            link = IocLink(url, Path(state) / "ioc-outbox.sqlite", source=self.scene.name)
        except (ValueError, OSError) as exc:
            self.statusBar().showMessage(tr("IOC link off: {0}").replace("{0}", str(exc)))
            return
        link.start()
        self.ioc = (link, attach(self.sim, link), self.sim, url)
        self.sim.health.feeds.append(link)  # its state in the feed health dock and status bar
        self.feed_health_panel.poll()

    def _stop_simulation(self) -> None:
        self._apply_ioc("")
        if self.sim is not None:
            with contextlib.suppress(TypeError, ValueError):
                self.sim.clock.events.time_changed.disconnect(self._sun_follow)
            self.timeline_panel.bind(None)
            self.sensors_panel.bind(None)
            self.feed_health_panel.bind(None)
            self.flood_indicator.bind(None)
            self.compliance_panel.bind(None)
            if self.sim_overlay is not None:
                self.sim_overlay.close()
                self.sim_overlay = None
            self.sim.close()
            self.sim = None

    def _sensor_kinds(self, layer: Layer) -> list[str]:
        if self.sim is None:
            return []
        s = self.sim.sensors
        return sorted({str(k) for k in s.kinds[s.layer == layer.name]})

    def _color_by_sensor(self, layer: Layer, kind: str | None) -> None:
        """Thematic colouring from live sensor values (twin.sim), or back to the style."""
        if self.sim is not None:
            self.sim.set_thematic(layer.name, kind=kind)

    def fly_to(self, local: np.ndarray, distance: float = 400.0) -> None:
        """Point the camera at a scene-local position, keeping the view direction."""
        self.view.look_at(local, distance)

    def _update_title(self) -> None:
        where = self.project_path.name if self.project_path else self.scene.name
        self.setWindowTitle(f"CityTwin — {where}")

    # -- menus and toolbar -----------------------------------------------------------------
    def _action(self, slot, shortcut=None, checkable: bool = False) -> QAction:
        """An action of the window; its text comes from :meth:`retranslate`."""
        action = QAction(self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.setCheckable(checkable)
        (action.toggled if checkable else action.triggered).connect(slot)
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        self.open_action = self._action(self.ask_open, QKeySequence.StandardKey.Open)
        self.open_project_action = self._action(self.ask_open_project, "Ctrl+Shift+O")
        self.save_action = self._action(self.save, QKeySequence.StandardKey.Save)
        self.save_as_action = self._action(self.ask_save_as, "Ctrl+Shift+S")
        self.screenshot_action = self._action(self.ask_screenshot, "Ctrl+E")
        self.quit_action = self._action(self.close, QKeySequence.StandardKey.Quit)
        self.overview_action = self._action(self.overview, "Home")
        self.bookmark_action = self._action(self.bookmarks_panel.ask_add, "Ctrl+B")
        self.find_action = self._action(self._focus_search, QKeySequence.StandardKey.Find)
        self.measure_action = self._action(self.set_measuring, "M", checkable=True)
        self.area_action = self._action(self.set_area_measuring, "Shift+A", checkable=True)
        self.height_action = self._action(self.set_height_measuring, "Shift+H", checkable=True)
        self.copy_measure_action = self._action(self.measure_tools.copy_latest, "Ctrl+Shift+C")
        self.print_action = self._action(self.ask_print_map, QKeySequence.StandardKey.Print)
        self.connect_feed_action = self._action(lambda: feed_connect.ask_connect_feed(self))
        self.section_action = self._action(self.set_section, "S", checkable=True)
        self.xray_action = self._action(self._xray_current, "X", checkable=True)
        self.north_action = self._action(self._north_and_scale, "N", checkable=True)
        self.north_action.setChecked(True)
        self.legend_action = self._action(self.set_legend, "L", checkable=True)
        self.underground_action = self._action(self.set_underground, "U", checkable=True)
        self.sun_action = self._action(self.set_sun_light, "Shift+S", checkable=True)
        self.shadows_action = self._action(self.set_shadows, checkable=True)
        self.place_action = self._action(lambda: self.ask_place())
        self.preferences_action = self._action(
            self.ask_preferences, QKeySequence.StandardKey.Preferences
        )
        self.preferences_action.setMenuRole(QAction.MenuRole.PreferencesRole)

        menu = self.menuBar()
        self.file_menu = file_menu = menu.addMenu("")
        for a in (
            self.open_action,
            self.open_project_action,
            self.save_action,
            self.save_as_action,
        ):
            file_menu.addAction(a)
        self.recent_menu = file_menu.addMenu("")
        file_menu.addSeparator()
        file_menu.addAction(self.screenshot_action)
        file_menu.addAction(self.print_action)
        file_menu.addAction(self.connect_feed_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        self.view_menu = view_menu = menu.addMenu("")
        view_menu.addAction(self.overview_action)
        view_menu.addAction(self.bookmark_action)
        view_menu.addSeparator()
        self.looks_menu = view_menu.addMenu("")
        self.look_actions: dict[str, QAction] = {}
        for name in ("ambient_occlusion", "edges", "eye_dome", "textures"):
            self.look_actions[name] = action = self._action(self._look_toggled, checkable=True)
            self.looks_menu.addAction(action)
        view_menu.addSeparator()
        docks = [
            self.layers_panel,
            self.inspector,
            self.search_panel,
            self.bookmarks_panel,
            self.timeline_panel,
            self.sensors_panel,
            self.feed_health_panel,
            self.compliance_panel,
        ]
        for dock in docks + ([self.tour_panel] if self.tour_panel else []):
            view_menu.addAction(dock.toggleViewAction())
        view_menu.addSeparator()
        self.language_menu = view_menu.addMenu("")
        group = QActionGroup(self)
        current = Preferences.load(self.settings).language
        self.language_actions: dict[str, QAction] = {}
        for key, _label in language_choices():
            act = self.language_menu.addAction("")
            act.setCheckable(True)
            act.setChecked(key == current)
            act.triggered.connect(lambda _=False, k=key: self.set_language(k))
            group.addAction(act)
            self.language_actions[key] = act
        self.tools_menu = tools = menu.addMenu("")
        for a in (
            self.find_action,
            self.measure_action,
            self.area_action,
            self.height_action,
            self.copy_measure_action,
            self.section_action,
            self.xray_action,
            self.north_action,
            self.legend_action,
            self.underground_action,
            self.sun_action,
            self.shadows_action,
            self.sunstudy_panel.toggleViewAction(),
        ):
            tools.addAction(a)
        tools.addSeparator()
        tools.addAction(self.place_action)
        tools.addSeparator()
        tools.addAction(self.preferences_action)

        self.toolbar = bar = QToolBar(self)
        bar.setObjectName("main_toolbar")
        self.addToolBar(bar)
        for a in (
            self.open_action,
            self.save_action,
            None,
            self.overview_action,
            self.bookmark_action,
            None,
            self.measure_action,
            self.section_action,
            self.xray_action,
            self.north_action,
            self.legend_action,
            self.screenshot_action,
        ):
            bar.addSeparator() if a is None else bar.addAction(a)
        bar.addSeparator()
        self.bookmark_label = QLabel()
        bar.addWidget(self.bookmark_label)
        self.bookmark_box = QComboBox()
        self.bookmark_box.setMinimumContentsLength(14)
        self.bookmark_box.textActivated.connect(self.go_to_bookmark)
        bar.addWidget(self.bookmark_box)
        self._refresh_recent_menu()

    def retranslate(self) -> None:
        """Every text of the window in the installed language: called once built and
        again on each ``LanguageChange`` (the docks retranslate themselves)."""
        for action, text in (
            (self.open_action, tr("Open data…")),
            (self.open_project_action, tr("Open project…")),
            (self.save_action, tr("Save project")),
            (self.save_as_action, tr("Save project as…")),
            (self.screenshot_action, tr("Export screenshot…")),
            (self.quit_action, tr("Quit")),
            (self.overview_action, tr("Overview")),
            (self.bookmark_action, tr("Save view as bookmark")),
            (self.find_action, tr("Find features")),
            (self.measure_action, tr("Measure distance")),
            (self.area_action, tr("Measure area")),
            (self.height_action, tr("Measure height")),
            (self.copy_measure_action, tr("Copy measurement")),
            (self.print_action, tr("Print map…")),
            (self.connect_feed_action, tr("Connect feed…")),
            (self.section_action, tr("Section plane")),
            (self.xray_action, tr("X-ray selected layer")),
            (self.north_action, tr("North arrow and scale")),
            (self.legend_action, tr("Legend")),
            (self.underground_action, tr("Underground view")),
            (self.sun_action, tr("Sun light")),
            (self.shadows_action, tr("Shadows")),
            (self.place_action, tr("Place IFC…")),
            (self.preferences_action, tr("Preferences…")),
        ):
            _label_action(action, text)
        if not self._closed and self.view.annotations.legend_on:
            self.set_legend(True)  # legends in the new language
        self.file_menu.setTitle(tr("&File"))
        self.recent_menu.setTitle(tr("Recent files"))
        self.view_menu.setTitle(tr("&View"))
        self.looks_menu.setTitle(tr("Looks"))
        for name, text in (
            ("ambient_occlusion", tr("Ambient occlusion")),
            ("edges", tr("Building edges")),
            ("eye_dome", tr("Eye-dome lighting (point clouds)")),
            ("textures", tr("Textures")),
        ):
            self.look_actions[name].setText(text)
        self.language_menu.setTitle(tr("Language"))
        self.tools_menu.setTitle(tr("&Tools"))
        for key, label in language_choices():
            self.language_actions[key].setText(label)
        self.toolbar.setWindowTitle(tr("Main"))
        self.health_indicator.set_state(self.health_indicator.state)
        self.flood_indicator.refresh()
        self.bookmark_label.setText(" " + tr("Bookmark:") + " ")
        self._show_summary()

    def _build_status_bar(self) -> None:
        self.coords_label = QLabel("")
        self.crs_label = QLabel("")
        self.clock_label = QLabel("")
        self.health_indicator = HealthIndicator(self)  # worst feed state; click: the dock
        self.feed_health_panel.health_changed.connect(self.health_indicator.set_state)
        self.health_indicator.clicked.connect(self.feed_health_panel.show_worst)
        self.flood_indicator = FloodIndicator(self)  # district flood warning, when raised
        status = (self.flood_indicator, self.health_indicator)
        for w in (*status, self.coords_label, self.crs_label, self.clock_label):
            self.statusBar().addPermanentWidget(w)
        self.clock_timer = QTimer(self)
        self.clock_timer.timeout.connect(self._tick_clock)
        self.clock_timer.start(1000)
        self._tick_clock()

    def _tick_clock(self) -> None:
        from datetime import datetime

        from twin.locale_format import format_datetime

        # to the minute, and only when it changes: beside a GL view, any repaint of the
        # window composes the whole window (45-70 ms a time on software GL), so a
        # seconds display stalled the GUI thread once a second (bench_attribute_table)
        text = format_datetime(datetime.now(), i18n.current())
        if text != self.clock_label.text():
            self.clock_label.setText(text)

    def _refresh_bookmark_box(self) -> None:
        self.bookmark_box.clear()
        self.bookmark_box.addItems([bm.name for bm in self.scene.bookmarks])

    # -- settings ------------------------------------------------------------------------
    def _restore_settings(self) -> None:
        self.window_layout.restore()  # geometry and docks (app.layout)

    def _save_settings(self) -> None:
        self.window_layout.save()

    def recent_files(self) -> list[str]:
        value = self.settings.value("recent", [])
        return [value] if isinstance(value, str) else list(value or [])

    def _remember(self, path: Path) -> None:
        path = str(Path(path).resolve())
        recent = [path] + [p for p in self.recent_files() if p != path]
        self.settings.setValue("recent", recent[:MAX_RECENT])
        self._refresh_recent_menu()

    def _refresh_recent_menu(self) -> None:
        self.recent_menu.clear()
        for p in self.recent_files():
            act = self.recent_menu.addAction(p)
            act.triggered.connect(lambda _=False, path=p: self.open_path(Path(path)))
        self.recent_menu.setEnabled(bool(self.recent_files()))

    # -- preferences ----------------------------------------------------------------------
    def ask_preferences(self) -> None:
        dialog = PreferencesDialog(Preferences.load(self.settings), self)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.apply_preferences(dialog.preferences())
        dialog.deleteLater()

    def set_language(self, key: str) -> None:
        """``"auto"``, ``"en"`` or ``"vi"``: stored, and the texts switch at once."""
        self.apply_preferences(replace(Preferences.load(self.settings), language=key))

    def apply_preferences(self, prefs: Preferences) -> None:
        """Store ``prefs`` and put them into effect now, without a restart."""
        prefs.save(self.settings)
        self._apply_autosave(prefs.autosave_minutes)
        self._apply_ioc(prefs.ioc_url)
        self.language_actions[prefs.language].setChecked(True)
        language = i18n.choose_language(prefs.language)
        if language != i18n.current():
            # Qt posts LanguageChange to every widget: retranslate() runs in each.
            i18n.install(language)

    def _apply_autosave(self, minutes: int) -> None:
        """Run the autosave timer every ``minutes`` (0: stop it); an unchanged
        interval keeps its countdown."""
        interval = minutes * 60_000
        timer = self.autosave_timer
        if minutes <= 0 or self._closed:
            timer.stop()
        elif not (timer.isActive() and timer.interval() == interval):
            timer.start(interval)

    # -- mouse: picking, hover coordinates, measurement ----------------------------------------
    def _install_mouse(self) -> None:
        iren = self.plotter.iren
        iren.add_observer("StartInteractionEvent", lambda *_: self._shadows_while_moving(True))
        iren.add_observer("EndInteractionEvent", lambda *_: self._shadows_while_moving(False))
        iren.add_observer("LeftButtonPressEvent", self._on_press)
        iren.add_observer("LeftButtonReleaseEvent", self._on_release)
        iren.add_observer("MouseMoveEvent", self._on_move)
        self.hover_timer = QTimer(self)
        self.hover_timer.setSingleShot(True)
        self.hover_timer.timeout.connect(self._update_coordinates)

    def _event_position(self) -> tuple[int, int]:
        x, y = self.plotter.iren.interactor.GetEventPosition()
        return int(x), int(y)

    def _on_press(self, *_: object) -> None:
        self._press = self._event_position()

    def _on_release(self, *_: object) -> None:
        pos = self._event_position()
        if self._press is None:
            return
        moved = np.hypot(pos[0] - self._press[0], pos[1] - self._press[1])
        self._press = None
        if moved <= CLICK_SLOP_PX:
            if self._pick_once is not None:
                callback, self._pick_once = self._pick_once, None
                callback(self.world_at(*pos))
            elif self.measure_action.isChecked():
                self.measure_click(*pos)
            elif self.measure_tools.mode is not None:
                self.measure_tools.click(*pos)
            else:
                self.pick_at(*pos)

    def pick_point_once(self, callback: Callable[[np.ndarray | None], None]) -> None:
        """The next click in the 3D view calls ``callback`` with its world point
        (surface, else ground; None off both) instead of selecting or measuring."""
        self._pick_once = callback
        self.statusBar().showMessage(tr("Click a point in the 3D view"))

    def _on_move(self, *_: object) -> None:
        """Coalesce mouse moves: one pick per HOVER_MS at most, on the GUI thread."""
        self._hover = self._event_position()
        if not self.hover_timer.isActive():
            self.hover_timer.start(HOVER_MS)

    def world_at(self, x: float, y: float) -> np.ndarray | None:
        """World point under a display pixel: the picked surface, else the ground plane."""
        hit = self.view.pick(x, y)
        if hit is not None:
            return hit.world
        renderer = self.plotter.renderer
        ends = []
        for z in (0.0, 1.0):
            renderer.SetDisplayPoint(x, y, z)
            renderer.DisplayToWorld()
            w = np.asarray(renderer.GetWorldPoint(), dtype=float)
            ends.append(w[:3] / (w[3] or 1.0))
        a, b = ends
        ground = (self.scene.local_bounds() or np.zeros(6))[4]
        if abs(b[2] - a[2]) < 1e-9:
            return None
        t = (ground - a[2]) / (b[2] - a[2])
        if t < 0:
            return None
        return self.scene.to_world(a + t * (b - a))

    def _update_coordinates(self) -> None:
        if self._hover is None or self._closed:
            return
        world = self.world_at(*self._hover)
        self.coords_label.setText(self.format_coordinates(world))

    def format_coordinates(self, world: np.ndarray | None) -> str:
        """``E … N … H …`` in the scene CRS and ``lat, lon`` in WGS 84."""
        if world is None or not np.all(np.isfinite(world)):
            return ""
        lon, lat = self.scene.local_to_wgs84(self.scene.to_local(world))[0]
        e, n, h = world
        from twin.locale_format import format_number as num

        lang = i18n.current()  # a decimal comma in Vietnamese
        return (f"E {num(e, lang, 2)}  N {num(n, lang, 2)}  H {num(h, lang, 2)}  |  "
                f"WGS 84 {num(lat, lang, 6)}°, {num(lon, lang, 6)}°")

    def pick_at(self, x: float, y: float) -> Pick | None:
        """Select what is under display point (x, y), origin bottom-left: a sensor
        glyph first (it is drawn over its site), else a feature."""
        sensor = self.view.pick_sensor(x, y)
        if sensor is not None and self.sim is not None:
            self.select_sensor(sensor)
            return None
        hit = self.view.pick(x, y)
        self.last_pick = hit
        if hit is None:
            self.select_feature(None, -1)
            self.statusBar().showMessage(tr("nothing here"))
            return None
        self.select_feature(hit.layer, hit.row)
        e, n, h = hit.world
        label = hit.layer.features.names[hit.row] or hit.layer.features.ids[hit.row]
        self.statusBar().showMessage(f"{hit.layer.name}: {label}  at E {e:.2f} N {n:.2f} H {h:.2f}")
        return hit

    def select_sensor(self, row: int) -> None:
        """A clicked sensor: its attributes in the inspector, its history charted."""
        self.select_feature(None, -1)
        record = self.sim.sensor_table()[row]
        self.last_sensor = row
        self.inspector.show_record({tr("Sensor"): record["id"], tr("Kind"): record["kind"],
                                    tr("Value"): record["value"], tr("Unit"): record["unit"],
                                    tr("layer"): record["layer"]})
        self.sensors_panel.select_sensor(row)
        self.statusBar().showMessage(f"{record['id']} ({record['kind']})")

    def select_feature(self, layer: Layer | None, row: int) -> None:
        """Highlight one feature, fill the inspector, label it in the 3D view."""
        self.attribute_tables.follow_selection(layer, [row])
        self.layers_panel.streams.follow_selection(layer, [row])
        if layer is None:
            self.view.select(None)
            self.inspector.show_feature(None, None)
            self.view.annotations.clear_label()
            return
        self.view.select(layer, [row])
        self.inspector.show_feature(layer, row)
        self.view.annotations.label_feature(layer, row)

    def attribute(self, key: str) -> str | None:
        """The inspector's displayed value for ``key`` (used by tests and copy)."""
        return self.inspector.value(tr("layer") if key == "layer" else key)

    def layer_item(self, name: str):
        return self.layers_panel.layer_item(name)

    def _highlight(self, layer: Layer, rows) -> None:
        self.view.select(layer, rows)
        self.attribute_tables.follow_selection(layer, rows)
        self.layers_panel.streams.follow_selection(layer, rows)

    def zoom_to(self, layer: Layer, rows=None) -> None:
        if rows is None:
            rows = np.flatnonzero(np.all(np.isfinite(layer.features.bounds), axis=1))
        if len(rows):
            self.view.zoom_to(layer, rows)

    # -- tools ---------------------------------------------------------------------------
    def set_measuring(self, on: bool) -> None:
        self._measure_points = []
        if not on:
            self.view.annotations.clear_measurement()
        else:
            self.statusBar().showMessage(tr("Measure: click two points"))

    def set_area_measuring(self, on: bool) -> None:
        """Draw a polygon: plan area, and draped area over a terrain layer."""
        self._measure_tool("area", on)

    def set_height_measuring(self, on: bool) -> None:
        """Two picks: the vertical height between them."""
        self._measure_tool("height", on)

    def _measure_tool(self, mode: str, on: bool) -> None:
        if on:  # one measuring tool at a time
            for action in (self.measure_action, self.area_action, self.height_action):
                if action is not (self.area_action if mode == "area" else self.height_action):
                    action.setChecked(False)
            self.measure_tools.start(mode)
        elif self.measure_tools.mode == mode:
            self.measure_tools.start(None)

    def measure_click(self, x: float, y: float) -> Measurement | None:
        world = self.world_at(x, y)
        if world is None:
            return None
        self._measure_points = (
            [*self._measure_points[-1:], world] if len(self._measure_points) < 2 else [world]
        )
        if len(self._measure_points) < 2:
            self.statusBar().showMessage(tr("Measure: click the second point"))
            return None
        a, b = self._measure_points
        return self.show_measurement(a, b)

    def show_measurement(self, a: np.ndarray, b: np.ndarray) -> Measurement:
        """Draw the segment a→b (world) and report distance and height difference."""
        m = self.view.annotations.show_measurement(a, b)
        self.last_measurement = m
        self.statusBar().showMessage(m.text(i18n.current()))
        self.measure_tools.keep(m)
        return m

    def set_section(self, on: bool) -> None:
        """A movable section plane (horizontal first: a plan cut through storeys)."""
        if on:
            self.view.show_section_widget()
        else:
            self.view.hide_section_widget()

    def _xray_current(self, on: bool) -> None:
        layer = self.layers_panel.current_layer() or (
            self.view.selection[0] if self.view.selection else None
        )
        if layer is not None:
            self.layers_panel.set_xray(layer, on)
            self.layers_panel._sync_controls()

    def _north_and_scale(self, on: bool) -> None:
        """North arrow (scene +Y is grid north) and a metric scale bar at the focus."""
        if not self._closed:
            self.view.annotations.set_north_and_scale(on)

    def set_legend(self, on: bool) -> None:
        """Legends of every colour mapping in the view (View → Legend)."""
        if not self._closed:
            self.view.annotations.language = i18n.current()
            self.view.annotations.set_legend(on)

    def set_looks(self, options: LookOptions) -> None:
        """Ambient occlusion, building edges, eye-dome lighting, textures
        (View → Looks); the menu follows."""
        if self._closed:
            return
        apply_looks(self.view, options)
        for name, action in self.look_actions.items():
            action.blockSignals(True)
            action.setChecked(bool(getattr(options, name)))
            action.blockSignals(False)
        self.request_render()

    def _look_toggled(self, *_: object) -> None:
        self.set_looks(LookOptions(**{n: a.isChecked() for n, a in self.look_actions.items()}))

    def set_sun_light(self, on: bool) -> None:
        """Light the view by the sun at the clock time: sky, dusk and night follow
        the timeline (Tools → Sun light; on by default, see ``default_sun``). A
        scene with no place on Earth keeps the light kit, as headless renders do."""
        from twin.render.lighting import SunLight, sun_available

        if self._closed:
            return
        clock = self.sim.clock if self.sim is not None else None
        if clock is not None:
            with contextlib.suppress(TypeError, ValueError):
                clock.events.time_changed.disconnect(self._sun_follow)
        if on and sun_available(self.scene):
            if self.sun_light is None:
                self.sun_light = SunLight()
            if clock is not None:
                clock.events.time_changed.connect(self._sun_follow)
            self._sun_follow()
        elif self.sun_light is not None:
            self.sun_light.remove()  # shadows go with it
            self.sun_light = None
            if not on:
                self.shadows_action.setChecked(False)
        self.request_render()

    def set_shadows(self, on: bool) -> None:
        """The sun casts shadows (turns the sun light on). ~2.6x the frame time on
        software GL, so they are dropped while the view is dragged."""
        from twin.render.lighting import set_shadows

        if self._closed:
            return
        if on and not self.sun_action.isChecked():
            self.sun_action.setChecked(True)
        set_shadows(self.plotter, on and self.sun_light is not None)
        self.request_render()

    def _shadows_while_moving(self, moving: bool) -> None:
        from twin.render.lighting import set_shadows

        if self.shadows_action.isChecked() and self.sun_light is not None:
            set_shadows(self.plotter, not moving)
            if not moving:
                self.request_render()

    def _sun_follow(self, *_: object) -> None:
        # no clock: the scene file's time, as OffscreenRenderer does
        when = self.sim.clock.time if self.sim is not None else scene_time(self.scene)
        if self.sun_light is not None and when is not None and not self._closed:
            self.sun_light.apply(self.plotter, self.scene, when)
            self.request_render()

    def set_underground(self, on: bool) -> None:
        """See and pick underground works: the ground and what covers it turn
        see-through (Tools → Underground view)."""
        if not self._closed:
            self.view.set_underground(on)

    @property
    def scale_bar(self):
        return self.view.annotations.scale_bar

    def view_state(self) -> ViewState:
        """What the window shows, as a state the offscreen renderer can draw."""
        ann = self.view.annotations
        selection = None
        if self.view.selection is not None:
            layer, rows = self.view.selection
            selection = (layer.name, tuple(int(r) for r in rows))
        measurement = None
        if ann.measurement is not None:
            measurement = (np.asarray(ann.measurement.a), np.asarray(ann.measurement.b))
        return ViewState(
            camera=self.view.current_bookmark("export"),
            time=self.sim.clock.time if self.sim is not None else None,
            selection=selection,
            measurement=measurement,
            north_arrow=ann.north is not None,
            scale_bar=ann.scale_bar is not None,
            legend=ann.legend_on,
            section=self.view.section,
            marks=self.measure_tools.marks(),
        )

    def render_view(self, size: tuple[int, int], multi_samples: int | None = None) -> np.ndarray:
        """The window's view rendered offscreen at ``size`` (not scaled up): the
        same camera, clock, overlays and annotations. A narrower picture than
        the window widens the view angle so the window's content stays framed.
        ``multi_samples``: MSAA of the picture (default: the export's 4x, which
        the window may lack on software GL)."""
        state = self.view_state()
        width, height = self.plotter.window_size
        cam = state.camera
        ratio = (width / max(height, 1)) / (size[0] / size[1])
        if ratio > 1.0 and cam is not None:
            half = np.radians(cam.view_angle) / 2
            angle = float(np.degrees(2 * np.arctan(np.tan(half) * ratio)))
            state.camera = replace(cam, view_angle=min(angle, 170.0))
        with OffscreenRenderer(self.scene, size, simulation=self.sim,
                               multi_samples=multi_samples, looks=applied_looks(self.view),
                               sun=self.sun_light is not None) as renderer:
            renderer.view.annotations.language = self.view.annotations.language
            image = renderer.draw(state)
        self.request_render()
        return image

    def export_screenshot(self, path: Path, size: tuple[int, int]) -> Path:
        """Write what the window shows, at ``size``, as a PNG."""
        save_png(self.render_view(size), path)
        return Path(path)

    def ask_screenshot(self) -> None:
        dialog = QDialog(self)
        dialog.setWindowTitle(tr("Export screenshot"))
        form = QFormLayout(dialog)
        width, height = QSpinBox(), QSpinBox()
        for box, value in ((width, 1920), (height, 1080)):
            box.setRange(64, 8192)
            box.setValue(value)
        form.addRow(tr("Width (px)"), width)
        form.addRow(tr("Height (px)"), height)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(dialog.accept)
        buttons.rejected.connect(dialog.reject)
        form.addRow(buttons)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return
        path, _ = QFileDialog.getSaveFileName(
            self, tr("Export screenshot"), "citytwin.png", "PNG (*.png)"
        )
        if path:
            try:
                self.export_screenshot(Path(path), (width.value(), height.value()))
            except OSError as exc:
                QMessageBox.warning(self, tr("Export screenshot"), str(exc))
                return
            self.statusBar().showMessage(tr("Saved {0}").replace("{0}", path))

    def ask_print_map(self):
        """File → Print map…: an A4/A3 landscape page of the view (PDF or PNG)."""
        from app.panels.print_dialog import ask_print_map

        return ask_print_map(self)

    # -- camera / bookmarks ----------------------------------------------------------------
    def overview(self) -> None:
        self.view.overview()
        self.request_render()

    def go_to_bookmark(self, name: str) -> None:
        self.view.apply_bookmark(name)
        self.request_render()

    def save_bookmark(self, name: str) -> None:
        self.scene.add_bookmark(self.view.current_bookmark(name))

    def _focus_search(self) -> None:
        self.search_panel.show()
        self.search_panel.raise_()
        self.search_panel.query.setFocus()

    # -- import --------------------------------------------------------------------------
    def ask_open(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, tr("Open data"), "", data_file_filter())
        if path:
            self.open_path(Path(path))

    def open_path(self, path: Path) -> None:
        """Open a scene file, a project, or a data file (imported into this scene)."""
        path = Path(path)
        if path.suffix.lower() == projects.SUFFIX:
            self.open_project(path)
        elif path.suffix.lower() == ".toml":
            self._open_scene_file(path)
        else:
            self.start_import(path)

    def _open_scene_file(self, path: Path) -> None:
        try:
            scene = importers.open_scene(path)
        except Exception as exc:
            QMessageBox.critical(self, tr("Open scene"), _first_line(exc))
            return
        self.project_path = None
        self.set_scene(scene, path)
        self._remember(path)

    def start_import(
        self, path: Path, options: dict | None = None, importer: str | None = None
    ) -> ImportJob:
        """Import ``path`` in a worker thread with a progress dialog and Cancel."""
        worker = ImportWorker(Path(path), self.scene, options, importer)
        worker.prepare = self.view.prepare
        job = ImportJob(worker, self)
        dialog = QProgressDialog(
            tr("Importing {0}…").replace("{0}", Path(path).name), tr("Cancel"), 0, 0, self
        )
        dialog.setWindowTitle(tr("Import"))
        # An IFC model is drawn while it loads (issue 20): the view stays usable.
        streams = Path(path).suffix.lower() in (".ifc", ".ifczip")
        dialog.setWindowModality(
            Qt.WindowModality.NonModal if streams else Qt.WindowModality.WindowModal
        )
        dialog.setMinimumDuration(300)
        dialog.setAutoClose(False)
        dialog.setAutoReset(False)
        dialog.canceled.connect(job.cancel)
        job.progress.connect(lambda done, total: _set_progress(dialog, done, total))
        job.succeeded.connect(lambda layers: self._import_succeeded(job, layers))
        job.failed.connect(lambda message: self._import_failed(job, message))
        job.cancelled.connect(
            lambda: self.statusBar().showMessage(tr("Import cancelled; nothing was added"))
        )
        job.preview = ImportPreview(self.view, self.scene, self)
        job.batch.connect(lambda batch: self._import_batch(job, batch))
        job.partial.connect(lambda layers: self._import_succeeded(job, layers, partial=True))
        job.done.connect(self._import_finished)
        job.dialog = dialog
        self.progress_dialog = dialog
        self.jobs.append(job)
        job.start()
        return job

    def _import_batch(self, job: ImportJob, batch) -> None:
        """Draw one batch of a model that is still loading (see app.import_preview)."""
        if not self._closed and job.preview.view is self.view:
            job.preview.add(batch)

    def _import_succeeded(self, job: ImportJob, layers: list[Layer], partial: bool = False) -> None:
        if self._closed:
            return
        # Add now, draw on the next turn of the event loop: the panels' updates
        # and the (software-GL) frame are then two short stalls, not one long one.
        release = self.view.hold()
        job.preview.clear()  # the layers replace the preview in the same frame
        record_placement(layers, job.worker.options, self.scene.crs)
        for layer in layers:
            self.scene.add_layer(layer)
        QTimer.singleShot(0, lambda: None if self._closed else release())
        QTimer.singleShot(0, lambda: None if self._closed else self.guard_origin(layers))
        worker = job.worker
        self.added_layers.append(
            projects.AddedLayer(str(worker.path.resolve()), worker.options, worker.importer)
        )
        self._remember(worker.path)
        warnings = sum(len(la.warnings) for la in layers)
        if partial:
            self.statusBar().showMessage(
                tr("Import cancelled: kept what was shown as a partial layer ({0})").replace(
                    "{0}", ", ".join(la.name for la in layers)
                )
            )
            return
        self.statusBar().showMessage(
            tr("Imported {0}: {1} layers, {2} warnings")
            .replace("{0}", worker.path.name)
            .replace("{1}", str(len(layers)))
            .replace("{2}", str(warnings))
        )

    def guard_origin(self, layers: list[Layer]) -> OriginReport | None:
        """One dialog when new data lie far from the scene origin (float32 loses
        precision there) or far from the rest of the content (a wrong CRS or
        placement); offers to re-centre the scene where that helps."""
        report = judge_import(self.scene, layers)
        if self._offer_placement_if_far(layers, report):
            return report
        if report is None:
            return None
        self.statusBar().showMessage(report.message)
        title = tr("Data far from the scene origin")
        if report.recentre_helps:
            answer = QMessageBox.question(self, title, report.message)
            if answer == QMessageBox.StandardButton.Yes:
                self.recentre(report.suggested_origin)
        else:
            QMessageBox.warning(self, title, report.message)
        return report

    def _offer_placement_if_far(self, layers: list[Layer], report: OriginReport | None) -> bool:
        """The far-from-content case of :meth:`guard_origin` (its one dialog): an
        IFC model more than :data:`FAR_FROM_CONTENT_M` from the rest of the
        scene is most likely georeferenced elsewhere; "Place…" opens the
        placement dialog for its file. True when this case applied."""
        far: tuple[float, Layer] | None = None
        for layer in layers:
            box = layer_extent(layer)
            if box is None or not _is_ifc(layer):
                continue
            gap = distance_to_content(self.scene, box, exclude=layers)
            if gap is not None and gap > FAR_FROM_CONTENT_M and (far is None or gap > far[0]):
                far = (gap, layer)
        if far is None:
            return False
        gap, layer = far
        message = (
            tr(
                "{0} lies {1} km from the rest of the scene: it is probably georeferenced "
                "elsewhere. Place it in the scene?"
            )
            .replace("{0}", layer.name)
            .replace("{1}", f"{gap / 1000:,.0f}")
        )
        if report is not None:
            message += "\n\n" + report.message
        self.statusBar().showMessage(message.splitlines()[0])
        if self.ask_far_placement(tr("Model far from the scene"), message):
            self.ask_place(layer, override=True)
        return True

    def ask_far_placement(self, title: str, message: str) -> bool:
        """A warning with "Place…" and Cancel; True when the user chose to place."""
        box = QMessageBox(QMessageBox.Icon.Warning, title, message, parent=self)
        place = box.addButton(tr("Place…"), QMessageBox.ButtonRole.AcceptRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.exec()
        return box.clickedButton() is place

    def ask_place(self, layer: Layer | None = None, override: bool | None = None):
        """Open the placement dialog for ``layer``'s IFC file (default: the selected
        layer, else the last IFC imported); OK re-imports it placed there."""
        from app.placement import PlacementDialog

        layer = layer or self._placeable_layer()
        if layer is None or layer.source is None:
            QMessageBox.information(self, tr("Place IFC…"), tr("Import an IFC model first."))
            return None
        source = Path(layer.source).resolve()
        added = next((a for a in self.added_layers if Path(a.path) == source), None)
        options = dict(added.options) if added is not None else {}
        at = options.get("at")
        if at is None:  # start from the middle of the rest of the content
            others = [la for la in self.scene.layers if la.source != layer.source]
            boxes = [b for la in others if (b := layer_extent(la)) is not None]
            centre = np.zeros(3)
            if boxes:
                lo, hi = np.min([b[0::2] for b in boxes], 0), np.max([b[1::2] for b in boxes], 0)
                centre = (lo + hi) / 2
                centre[2] = lo[2]
            at = [*np.round(self.scene.to_world(centre), 1), 0.0]
        if override is None:
            override = bool(options.get("override_georef"))
        if self.placement_dialog is not None:
            self.placement_dialog.close()
        dialog = PlacementDialog(
            source, self.scene.crs, tuple(at), override, self.pick_point_once, self
        )
        dialog.accepted.connect(lambda: self._place(source, added, dialog.options()))
        self.placement_dialog = dialog
        dialog.show()
        return dialog

    def _place(self, source: Path, added, options: dict) -> ImportJob:
        """Re-import ``source`` with placement ``options`` in place of its layers."""
        merged = {**(added.options if added is not None else {}), **options}
        for layer in [la for la in self.scene.layers if la.source is not None]:
            if Path(layer.source).resolve() == source:
                self.scene.remove_layer(layer)
        return self.start_import(source, merged, added.importer if added is not None else None)

    def _placeable_layer(self) -> Layer | None:
        current = self.inspector.layer or self.layers_panel.current_layer()
        if current is not None and _is_ifc(current):
            return current
        return next((la for la in reversed(self.scene.layers) if _is_ifc(la)), None)

    def recentre(self, origin) -> None:
        """Move the scene origin (world) keeping everything where it is; the
        view, its ground and the simulation's overlays follow."""
        with self.view.hold_render():
            shift = recentre(self.scene, origin)
            self.inspector.origin = tuple(float(v) for v in self.scene.origin)
            self.view.origin_moved(shift)
            if self.sim is not None:  # sensor positions are scene-local: rebuild
                self._stop_simulation()
                self._start_simulation(self.scene)

    def _import_failed(self, job: ImportJob, message: str) -> None:
        job.dialog.reset()
        if not self._closed:
            QMessageBox.warning(self, tr("Import failed"), message)

    def _import_finished(self, job: ImportJob) -> None:
        if job.preview.clear() and not self._closed and job.preview.view is self.view:
            self.view.request_frame()  # failed or cancelled with nothing kept
        job.dialog.reset()
        job.dialog.deleteLater()
        if job in self.jobs:
            self.jobs.remove(job)

    def dragEnterEvent(self, event) -> None:
        urls = event.mimeData().urls() if event.mimeData().hasUrls() else []
        if urls and all(u.isLocalFile() and supported(Path(u.toLocalFile())) for u in urls):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event) -> None:
        for url in event.mimeData().urls():
            self.open_path(Path(url.toLocalFile()))
        event.acceptProposedAction()

    def _on_layer_removed(self, layer: Layer) -> None:
        if layer.source is not None:
            src = str(Path(layer.source).resolve())
            self.added_layers = [a for a in self.added_layers if a.path != src]
        if self.inspector.layer is layer:
            self.select_feature(None, -1)
        self.attribute_tables.close_layer(layer)
        self._show_summary()  # the counts in the status bar no longer hold

    # -- project ----------------------------------------------------------------------------
    def capture_project(self) -> projects.Project:
        project = projects.capture(
            self.scene,
            self.scene_path,
            self.view.current_bookmark("camera"),
            self.added_layers,
            time_ms=self.sim.clock.ms if self.sim is not None else None,
        )
        project.measurements = self.measure_tools.records()
        if self.sim is not None:
            project.feed_stale_after_s = dict(self.sim.health.overrides)
        project.feeds = feed_connect.connected_tables(self)  # never a secret
        return project

    def save(self) -> bool:
        if self.project_path is None:
            return self.ask_save_as()
        return self.save_project(self.project_path)

    def ask_save_as(self) -> bool:
        path, _ = QFileDialog.getSaveFileName(self, tr("Save project"), "", PROJECT_FILTER)
        if not path:
            return False
        if not path.endswith(projects.SUFFIX):
            path += projects.SUFFIX
        return self.save_project(Path(path))

    def save_project(self, path: Path) -> bool:
        try:
            projects.save_project(self.capture_project(), path)
            self._keep_history(Path(path))
        except (OSError, sqlite3.Error) as exc:
            QMessageBox.critical(self, tr("Save project"), f"{path}: {exc.strerror or exc}")
            return False
        projects.discard_recovery(path)
        self.project_path = Path(path)
        self._remember(path)
        self._update_title()
        self.statusBar().showMessage(tr("Saved {0}").replace("{0}", str(path)))
        return True

    def _keep_history(self, project: Path) -> None:
        """The sensor history goes with the project: a history still in memory (or
        in another project's store, on Save As) is copied beside the project file."""
        if self.sim is None:
            return
        dest = project_store_path(project)
        if Path(self.sim.store.path).resolve() != dest.resolve():
            self.sim.store.save_copy(dest)

    def ask_open_project(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, tr("Open project"), "", PROJECT_FILTER)
        if path:
            self.open_project(Path(path))

    def open_project(self, path: Path, source: Path | None = None) -> list[str]:
        """Open a project (from ``source``, e.g. its recovery file, if given).

        Returns the warnings; they are also shown in a message box when any.
        """
        path = Path(path)
        try:
            project, warnings = projects.load_project(source or path)
            scene, more = load_project_scene(project)
        except Exception as exc:
            QMessageBox.critical(self, tr("Open project"), _first_line(exc))
            return [str(exc)]
        warnings += more
        self._history_store = project_store_path(path)
        try:
            self.set_scene(scene, Path(project.scene_path) if project.scene_path else None)
        finally:
            self._history_store = None
        return self.apply_project(project, path, warnings)

    def apply_project(
        self, project: projects.Project, path: Path, warnings: list[str] | None = None
    ) -> list[str]:
        """Put a loaded project's state on the current scene (whose layers it names)."""
        warnings = list(warnings or [])
        self.added_layers = list(project.added_layers)
        with self.view.hold_render():
            warnings += projects.apply(project, self.scene)
            self.layers_panel.streams.follow_sources()
        if project.time_ms is not None and self.sim is not None:
            from twin.sim.clock import from_ms

            self.sim.clock.set_time(from_ms(project.time_ms))
        if self.sim is not None:
            warnings += feed_connect.restore_feeds(self, project.feeds, path)
            warnings += self.sim.health.apply_overrides(project.feed_stale_after_s)
        if project.camera is not None:
            self.view.apply_bookmark(project.camera)
        self.measure_tools.restore(project.measurements)
        if self.isVisible():
            self.guard_origin(list(self.scene.layers))
        self.project_path = Path(path)
        self._remember(path)
        self._update_title()
        self.request_render()
        if warnings and self.isVisible():
            QMessageBox.warning(self, tr("Open project"), "\n".join(warnings[:20]))
        return warnings

    def autosave_path(self) -> Path:
        """Where autosave writes: beside the project, or in the user data folder."""
        if self.project_path is not None:
            return projects.recovery_path(self.project_path)
        return projects.recovery_path(untitled_project_path())

    def autosave(self) -> Path | None:
        target = self.project_path or untitled_project_path()
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            return projects.autosave(self.capture_project(), target)
        except OSError as exc:
            self.statusBar().showMessage(tr("Autosave failed: {0}").replace("{0}", str(exc)))
            return None

    def request_render(self) -> None:
        """A frame on the next repaint (one VTK render; ``plotter.render()``
        renders at once and then again when the widget repaints)."""
        self.plotter.interactor.update()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self.render_quality is None:
            self.render_quality = ""
            # After this event the GL context exists and can name its renderer.
            QTimer.singleShot(0, self._fit_render_quality)

    def _fit_render_quality(self) -> None:
        if not self._closed:
            self.render_quality = render_quality.fit_to_renderer(self.plotter)
            self.view.prewarm_translucency()  # renders (twice)
            # looks this GL affords (a GPU: all; software GL: those within 1.3x a frame)
            gl = render_quality.renderer_string(self.plotter.ren_win)
            self.set_looks(default_looks(gl))
            self.sun_action.setChecked(default_sun(gl))  # the sun and sky, as renders

    # -- closing ----------------------------------------------------------------------------
    def closeEvent(self, event) -> None:
        if not self._closed:
            self._closed = True
            # Every timer of the window and its docks (timeline, tours, hover ...):
            # none may fire into a plotter that is about to be finalized.
            for timer in self.findChildren(QTimer):
                timer.stop()
            for job in list(self.jobs):
                job.cancel()
                job.wait(10_000)
            self.attribute_tables.close_all()  # their own windows go with this one
            self._save_settings()
            self.sunstudy_panel.shutdown()
            self.compliance_panel.shutdown()
            self._stop_simulation()
            self.view.close()
            self.plotter.close()
        super().closeEvent(event)


def _one_render_per_paint(plotter) -> None:
    """Every VTK render of the window happens in the widget's paint.

    VTK's interactor styles render at once on each mouse step, and the frame
    they finish schedules a repaint, which renders again: two renders per step.
    With the interactor's own rendering off, its render requests become
    repaint requests, and the paint renders once."""
    widget = plotter.interactor
    iren = widget.GetRenderWindow().GetInteractor()
    ren_win = widget.GetRenderWindow()
    if iren is None:
        return
    iren.EnableRenderOff()

    def on_render(*_: object) -> None:
        if getattr(widget, "_in_paint", False):
            ren_win.Render()
        else:
            widget.update()

    iren.AddObserver("RenderEvent", on_render)


def _label_action(action: QAction, text: str) -> None:
    """Text and tooltip (with the shortcut, where it has one) of an action."""
    action.setText(text)
    keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
    action.setToolTip(f"{text} ({keys})" if keys else text)


def _set_progress(dialog: QProgressDialog, done: int, total: int) -> None:
    if total > 0:
        dialog.setMaximum(total)
        dialog.setValue(min(done, total))


def _first_line(exc: BaseException) -> str:
    from twin.errors import first_line

    return first_line(exc)


def _is_ifc(layer: Layer) -> bool:
    """A layer read from an IFC file (the ones the placement dialog re-imports)."""
    return layer.source is not None and Path(layer.source).suffix.lower() == ".ifc"


def record_placement(layers: list[Layer], options: dict | None, crs: str) -> None:
    """``layer.info["placement"]``: the user placement these layers were imported with."""
    from importers.ifc.placement_math import placement_record

    record = placement_record(options, crs)
    if record is not None:
        for layer in layers:
            layer.info["placement"] = record


def _spec_path(scene: Scene) -> Path | None:
    spec = scene.spec
    return Path(spec.path) if spec is not None and spec.path else None


def untitled_project_path() -> Path:
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
    return Path(base or Path.home() / ".citytwin") / f"untitled{projects.SUFFIX}"


def load_project_scene(project: projects.Project) -> tuple[Scene, list[str]]:
    """Open the project's scene file and re-import its added layers (skipping failures)."""
    warnings: list[str] = []
    if project.scene_path and Path(project.scene_path).exists():
        scene = importers.open_scene(project.scene_path)
    elif project.added_layers:
        scene = importers.scene_for(project.added_layers[0].path)
    else:
        raise projects.ProjectError(tr("the project names no scene file and no layers"))
    for added in project.added_layers:
        try:
            layers = importers.open(added.path, scene, added.options, importer=added.importer)
        except Exception as exc:
            warnings.append(_first_line(exc))
            continue
        record_placement(layers, added.options, scene.crs)
        for layer in layers:
            scene.add_layer(layer)
    return scene, warnings


def offer_recovery(window: MainWindow, project_path: Path | None) -> bool:
    """On start: if an autosave is newer than the project, ask to restore it."""
    target = project_path or untitled_project_path()
    candidate = projects.recovery_candidate(target)
    if candidate is None:
        return False
    answer = QMessageBox.question(
        window,
        tr("Recover"),
        tr("CityTwin found an autosave newer than the project. Restore it?"),
    )
    if answer == QMessageBox.StandardButton.Yes:
        window.open_project(target, source=candidate)
        if project_path is None:
            window.project_path = None
        return True
    return False


def run_app(path: Path, at: tuple[float, ...] | None = None, crs: str = "EPSG:9208") -> int:
    """Load ``path`` (scene, project or data file) and run the event loop; ``at``
    places an un-georeferenced data file (see ``citytwin open --at``)."""
    from app.loading import load_any, scene_for_file

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("CityTwin")
    app.setOrganizationName("CityTwin")
    settings = QSettings("CityTwin", "CityTwin")
    i18n.install(i18n.choose_language(settings.value("language", "auto")))
    path = Path(path)
    started = time.monotonic()
    if path.suffix.lower() == projects.SUFFIX:
        project, warnings = projects.load_project(path)
        scene, more = load_project_scene(project)
        scene_path = Path(project.scene_path) if project.scene_path else None
        window = MainWindow(scene, scene_path=scene_path, settings=settings)
        window.show()
        window.apply_project(project, path, warnings + more)
        offer_recovery(window, path)
    elif path.suffix.lower() == ".toml":
        window = MainWindow(load_any(path, at, crs), scene_path=path, settings=settings)
        window.show()
        offer_recovery(window, None)
    else:
        # A data file: the window opens at once on a scene fitted to the file's
        # extent, and the file is imported in the background with progress.
        scene, options = scene_for_file(path, at, crs)
        window = MainWindow(scene, settings=settings)
        window.show()
        job = window.start_import(path, options)
        job.succeeded.connect(lambda _layers: window.overview())
    window.statusBar().showMessage(
        window.statusBar().currentMessage() + f"  ({time.monotonic() - started:.1f} s)"
    )
    return app.exec()
