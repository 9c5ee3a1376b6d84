"""Bookmarks dock: save the current camera, rename, delete, restore.

Bookmarks live in the scene (``Scene.bookmarks``) and so in the project file.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDockWidget,
    QHBoxLayout,
    QInputDialog,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.i18n import Translatable, tr
from twin.scene import Scene


class BookmarksPanel(Translatable, QDockWidget):
    """A list of the scene's bookmarks; double-click restores one."""

    restore_requested = Signal(str)
    add_requested = Signal(str)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("bookmarks_dock")
        self.scene: Scene | None = None
        body = QWidget()
        box = QVBoxLayout(body)
        box.setContentsMargins(2, 2, 2, 2)
        self.list = QListWidget()
        self.list.itemDoubleClicked.connect(lambda item: self.restore_requested.emit(item.text()))
        self.list.itemChanged.connect(self._on_renamed)
        box.addWidget(self.list, 1)
        row = QHBoxLayout()
        self.save_button, self.go_button, self.delete_button = buttons = (
            QPushButton(),
            QPushButton(),
            QPushButton(),
        )
        for button, slot in zip(
            buttons, (self.ask_add, self._restore_current, self.delete_current), strict=True
        ):
            button.clicked.connect(slot)
            row.addWidget(button)
        box.addLayout(row)
        self.setWidget(body)
        self.retranslate()

    def retranslate(self) -> None:
        """Texts in the installed language (again on every language change)."""
        self.setWindowTitle(tr("Bookmarks"))
        self.save_button.setText(tr("Save view"))
        self.go_button.setText(tr("Go"))
        self.delete_button.setText(tr("Delete"))

    def bind(self, scene: Scene) -> None:
        if self.scene is not None:
            self.scene.events.bookmarks_changed.disconnect(self.refresh)
        self.scene = scene
        scene.events.bookmarks_changed.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        self.list.blockSignals(True)
        self.list.clear()
        for bm in self.scene.bookmarks:
            item = QListWidgetItem(bm.name)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsEditable)
            item.setData(Qt.ItemDataRole.UserRole, bm.name)
            self.list.addItem(item)
        self.list.blockSignals(False)

    def names(self) -> list[str]:
        return [self.list.item(i).text() for i in range(self.list.count())]

    def ask_add(self) -> None:
        name, ok = QInputDialog.getText(
            self,
            tr("Save view"),
            tr("Bookmark name:"),
            text=tr("View {0}").replace("{0}", str(len(self.scene.bookmarks) + 1)),
        )
        if ok and name.strip():
            self.add_requested.emit(name.strip())

    def _restore_current(self) -> None:
        item = self.list.currentItem()
        if item is not None:
            self.restore_requested.emit(item.text())

    def delete_current(self) -> None:
        item = self.list.currentItem()
        if item is not None:
            self.scene.remove_bookmark(item.data(Qt.ItemDataRole.UserRole))

    def rename(self, old: str, new: str) -> None:
        self.scene.rename_bookmark(old, new)

    def _on_renamed(self, item: QListWidgetItem) -> None:
        old, new = item.data(Qt.ItemDataRole.UserRole), item.text().strip()
        if not new or new == old:
            self.refresh()
            return
        try:
            self.scene.rename_bookmark(old, new)
        except KeyError:
            self.refresh()
