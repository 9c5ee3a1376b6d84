"""Streamed layers (scene ``stream = true``) as rows of the layers dock.

A streamed city has no single :class:`~twin.layer.Layer`: its features live in
whichever quadtree tiles are resident in the view
(:class:`twin.render.tiled.TileStream`), and tiles come and go with the camera.
So the dock shows it as one row of its own kind, and each control acts on the
stream, which applies it to the tiles drawn now and to every tile still to come:

* the check box shows/hides all tiles, and a hidden stream reads nothing;
* "Colour by" and opacity set one style shared by all tiles; colouring by an
  attribute fixes its scale (``clim``) from the features loaded at that moment,
  or each tile would scale its own colours;
* the attribute table is a snapshot of the features loaded now (one row per
  building, the finest detail loaded), titled with how many; its selection
  highlights buildings by id, in whichever tile holds them, at any detail.

The panel stays ignorant of streams except for a few one-line hooks that ask
this module first (:class:`StreamRows`).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pyvista as pv
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMenu, QTreeWidget, QTreeWidgetItem

from app.i18n import tr
from twin.features import FeatureTable
from twin.layer import FEATURE_ARRAY, Layer
from twin.style import Style
from twin.tiles import BLOCKS

#: marks a layers-dock row that stands for a streamed layer
STREAM_ROLE = Qt.ItemDataRole.UserRole + 7
NUMERIC_KINDS = "fiu"


def stream_style(stream) -> Style:
    """The style the stream's tiles draw with: its own, else the first tile's
    (the importer's), else the default."""
    if stream.style is not None:
        return stream.style
    first = next(iter(stream.resident.values()), None)
    return first[0].style if first is not None else Style()


def loaded_tiles(stream) -> list[Layer]:
    """The resident tiles that hold buildings (not far blocks), one per tile:
    its finest detail."""
    finest: dict[int, tuple[int, Layer]] = {}
    for (t, d), (layer, _) in stream.resident.items():
        if d != BLOCKS and (t not in finest or d < finest[t][0]):
            finest[t] = (d, layer)
    return [finest[t][1] for t in sorted(finest)]


def loaded_counts(stream) -> tuple[int, int]:
    """(tiles with buildings loaded, buildings they hold): the tiles' own counts,
    no table touched (cheap enough for every pump)."""
    tiles = {t for t, d in stream.resident if d != BLOCKS}
    return len(tiles), int(sum(int(stream.tiles.count[t]) for t in tiles))


def loaded_layer(stream) -> Layer:
    """The features of the stream's loaded tiles as one layer (a snapshot; no
    mesh: the tiles draw them). It carries the stream's name and marker, so a
    selection made on it highlights the same buildings in the tiles."""
    tiles = loaded_tiles(stream)  # tiles own disjoint features: no building twice
    table = FeatureTable.concat([la.features for la in tiles])
    mesh = pv.PolyData()
    mesh.cell_data[FEATURE_ARRAY] = np.empty(0, dtype=np.int32)
    kind = tiles[0].kind if tiles else "buildings"
    layer = Layer(stream.name, mesh, table, kind=kind, style=stream_style(stream))
    layer.info.update({"stream": stream.name, "loaded_features": len(table)})
    return layer


class StreamRows:
    """The streamed layers' rows of a main window's layers dock, and their controls."""

    def __init__(self, window) -> None:
        self.window = window
        self._items: dict[str, QTreeWidgetItem] = {}
        self._shown: dict[str, tuple] = {}
        #: stream name -> the layer its open attribute table shows
        self.tables: dict[str, Layer] = {}

    # -- lookups ----------------------------------------------------------------------
    @property
    def panel(self):
        return self.window.layers_panel

    def streams(self) -> list:
        view = getattr(self.window, "view", None)
        return list(view.streams) if view is not None else []

    def stream(self, name: str):
        return next((s for s in self.streams() if s.name == name), None)

    def stream_of(self, item: QTreeWidgetItem | None):
        """The stream a (top-level) row stands for, else None."""
        if item is None or item.parent() is not None or not item.data(0, STREAM_ROLE):
            return None
        return self.stream(item.data(0, Qt.ItemDataRole.UserRole))

    def current(self):
        """The stream of the dock's current row, else None."""
        return self.stream_of(self.panel.tree.currentItem())

    def _source(self, stream):
        """The scene's :class:`~twin.tiles.TiledSource` of a stream (what is saved)."""
        scene = self.window.scene
        return next((s for s in scene.streams if s.name == stream.name), None)

    # -- rows -------------------------------------------------------------------------
    def add_rows(self, tree: QTreeWidget, current: str | None = None) -> None:
        """One checkable row per streamed layer, after the layers' rows."""
        self._items.clear()
        self._shown.clear()
        for stream in self.streams():
            item = QTreeWidgetItem([stream.name, ""])
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(0, _check(stream.visible))
            item.setData(0, Qt.ItemDataRole.UserRole, stream.name)
            item.setData(0, STREAM_ROLE, True)
            tree.addTopLevelItem(item)
            self._items[stream.name] = item
            if stream.name == current:
                tree.setCurrentItem(item)
        self.refresh_counts()

    def refresh_counts(self) -> None:
        """Loaded tiles and features in each row (text and tooltip), when they changed."""
        for name, item in self._items.items():
            stream = self.stream(name)
            if stream is None:
                continue
            tiles, loaded = loaded_counts(stream)
            key = (tiles, loaded, stream.visible)
            if self._shown.get(name) == key:
                continue
            self._shown[name] = key
            total = int(stream.tiles.count.sum())
            first = next(iter(stream.resident.values()), None)
            kind = first[0].kind if first is not None else "buildings"
            item.setText(0, f"{name} — {tr('streamed')}")
            item.setText(1, f"{loaded} / {total}")
            item.setToolTip(
                0,
                tr("{0} — streamed: {1} of {2} tiles loaded, {3} of {4} features")
                .replace("{0}", kind).replace("{1}", str(tiles))
                .replace("{2}", str(len(stream.tiles))).replace("{3}", str(loaded))
                .replace("{4}", str(total)),
            )
            if stream is self.current():  # tiles with new columns may have come
                self._sync_choices(stream)

    def item_changed(self, item: QTreeWidgetItem) -> bool:
        """A row's check box changed: True when it was a stream's (handled here)."""
        stream = self.stream_of(item)
        if stream is None:
            return False
        self.set_visible(stream, item.checkState(0) == Qt.CheckState.Checked)
        return True

    def set_visible(self, stream, on: bool) -> None:
        """Show or hide every tile of ``stream`` (a hidden stream loads nothing)."""
        stream.set_visible(on)
        source = self._source(stream)
        if source is not None:
            source.visible = bool(on)
        item = self._items.get(stream.name)
        if item is not None and (item.checkState(0) == Qt.CheckState.Checked) != bool(on):
            tree = self.panel.tree
            tree.blockSignals(True)
            item.setCheckState(0, _check(on))
            tree.blockSignals(False)
        self.refresh_counts()
        self.window.view.request_frame()

    def follow_sources(self) -> None:
        """Give the view's streams their sources' visibility and style (a project
        just set them on the scene) and show them in the rows."""
        for stream in self.streams():
            source = self._source(stream)
            if source is None:
                continue
            if source.style is not None and source.style != stream.style:
                stream.set_style(source.style)
            if bool(source.visible) != stream.visible:
                self.set_visible(stream, source.visible)
        self.panel.refresh()

    # -- controls -------------------------------------------------------------------------
    def sync_controls(self) -> bool:
        """Set the dock's controls for the current row: True when it is a stream's."""
        stream = self.current()
        if stream is None:
            return False
        p = self.panel
        for w in (p.opacity, p.style_box):
            w.setEnabled(True)
        for w in (p.zoom_button, p.xray_button, p.remove_button):
            w.setEnabled(False)
        style = stream_style(stream)
        p.opacity.blockSignals(True)
        p.opacity.setValue(round(style.opacity * 100))
        p.opacity.blockSignals(False)
        self._sync_choices(stream, force=True)
        return True

    def _sync_choices(self, stream, force: bool = False) -> None:
        """The colour-by choices of the loaded tiles, rebuilt only when they changed."""
        box = self.panel.style_box
        choices = self.style_choices(stream)
        if not force and [box.itemData(i) for i in range(box.count())] == [k for k, _ in choices]:
            return
        box.blockSignals(True)
        box.clear()
        for key, label in choices:
            box.addItem(label, key)
        style = stream_style(stream)
        current = style.attribute if style.mode == "attribute" else style.mode
        box.setCurrentIndex(max(box.findData(current), 0))
        box.blockSignals(False)

    def style_choices(self, stream) -> list[tuple[str, str]]:
        """What the dock offers other layers: class, native, solid, then each
        numeric attribute of the loaded buildings."""
        out = [("class", tr("Class")), ("native", tr("Source colours")), ("solid", tr("Solid"))]
        names: dict[str, None] = {}
        for layer in loaded_tiles(stream):
            for name, column in layer.features.attributes.items():
                if column.dtype.kind in NUMERIC_KINDS:
                    names[name] = None
        out += [(n, tr("Attribute: {0}").replace("{0}", n)) for n in names]
        return out

    def on_style(self, index: int) -> bool:
        stream = self.current()
        if stream is None:
            return False
        self.set_style(stream, self.panel.style_box.itemData(index))
        return True

    def on_opacity(self, value: int) -> bool:
        stream = self.current()
        if stream is None:
            return False
        self._restyle(stream, dataclasses.replace(stream_style(stream), opacity=value / 100))
        return True

    def set_style(self, stream, key: str) -> None:
        """Colour the stream by ``class``/``native``/``solid`` or a numeric attribute,
        whose scale is fixed from the buildings loaded now."""
        style = stream_style(stream)
        if key in ("class", "native", "solid"):
            style = dataclasses.replace(style, mode=key)
        else:
            values = [la.features.column(key) for la in loaded_tiles(stream)
                      if key in la.features.attributes]
            v = np.concatenate(values).astype(np.float64) if values else np.empty(0)
            v = v[np.isfinite(v)]
            clim = (float(v.min()), float(v.max())) if len(v) else None
            style = dataclasses.replace(style, mode="attribute", attribute=key, clim=clim)
        self._restyle(stream, style)

    def _restyle(self, stream, style: Style) -> None:
        stream.set_style(style)
        source = self._source(stream)
        if source is not None:
            source.style = style
        if stream is self.current():
            self._sync_choices(stream, force=True)
        self.window.view.request_frame()

    # -- attribute table -----------------------------------------------------------------
    def context_menu(self, pos) -> bool:
        """Right-click on a stream's row: its attribute table (loaded features)."""
        p = self.panel
        stream = self.stream_of(p.tree.itemAt(pos))
        if stream is None:
            return False
        menu = QMenu(p)
        menu.addAction(tr("Open attribute table"), lambda: self.open_table(stream))
        menu.exec(p.tree.viewport().mapToGlobal(pos))
        return True

    def open_table(self, stream):
        """The attribute table over the features loaded now (a fresh snapshot each
        time: the previous one closes), titled with their count."""
        tables = self.window.attribute_tables
        old = self.tables.pop(stream.name, None)
        if old is not None:
            tables.close_layer(old)
        layer = loaded_layer(stream)
        self.tables[stream.name] = layer
        table = tables.open(layer)  # titled with the count (layer.info["loaded_features"])
        selection = self.window.view.selection
        if selection is not None:  # a building picked in a tile before the table opened
            self.follow_selection(*selection)
        return table

    def follow_selection(self, layer: Layer | None, rows) -> None:
        """A building picked in a tile: select it in the stream's open table too."""
        name = None if layer is None else layer.info.get("stream")
        snapshot = self.tables.get(name) if name else None
        if snapshot is None or snapshot is layer:
            return
        table = self.window.attribute_tables.dock(snapshot)
        if table is None:
            self.tables.pop(name, None)
            return
        ids = layer.features.ids[np.asarray(rows, dtype=np.intp)]
        table.select_rows(np.flatnonzero(np.isin(snapshot.features.ids, ids)))


def _check(on: bool) -> Qt.CheckState:
    return Qt.CheckState.Checked if on else Qt.CheckState.Unchecked
