"""User preferences: one typed record with its defaults, its QSettings form, its dialog.

The window reads :class:`Preferences` when it starts and puts a changed one into
effect at once (language, autosave timer); the record is read and written
without a window in tests. Keys stay those earlier versions wrote
(``language``, ``autosave_minutes``), so existing settings carry over.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLineEdit,
    QSpinBox,
    QWidget,
)

from app import i18n
from app.i18n import tr

AUTOSAVE_MINUTES = 5
MAX_AUTOSAVE_MINUTES = 24 * 60


@dataclass(frozen=True)
class Preferences:
    """``language``: ``"auto"`` (the system locale) or a key of :data:`i18n.LANGUAGES`;
    ``autosave_minutes``: minutes between autosaves of the project, 0 = off;
    ``ioc_url``: ``mqtt://host:port/prefix`` where live alerts and current values
    go (twin.sim.ioc_link, docs/ioc-mqtt.md), empty = off; no password in it."""

    language: str = "auto"
    autosave_minutes: int = AUTOSAVE_MINUTES
    ioc_url: str = ""

    @classmethod
    def load(cls, settings: QSettings) -> Preferences:
        """The stored preferences; a missing or unreadable value gives its default."""
        language = str(settings.value("language", "auto"))
        if language not in ("auto", *i18n.LANGUAGES):
            language = "auto"
        try:
            minutes = float(settings.value("autosave_minutes", AUTOSAVE_MINUTES))
        except (TypeError, ValueError):
            minutes = AUTOSAVE_MINUTES
        if not math.isfinite(minutes):
            minutes = AUTOSAVE_MINUTES
        # Round a fractional interval up: 0.5 min must not read as "off".
        minutes = min(max(math.ceil(minutes), 0), MAX_AUTOSAVE_MINUTES)
        return cls(language, int(minutes), str(settings.value("ioc_url", "") or "").strip())

    def save(self, settings: QSettings) -> None:
        settings.setValue("language", self.language)
        settings.setValue("autosave_minutes", self.autosave_minutes)
        settings.setValue("ioc_url", self.ioc_url)
        settings.sync()


class PreferencesDialog(QDialog):
    """Language and autosave interval; :meth:`preferences` reads the choice back."""

    def __init__(self, prefs: Preferences, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("preferences_dialog")
        self.setWindowTitle(tr("Preferences"))
        form = QFormLayout(self)
        self.language_box = QComboBox()
        for key, label in language_choices():
            self.language_box.addItem(label, key)
        self.language_box.setCurrentIndex(max(self.language_box.findData(prefs.language), 0))
        form.addRow(tr("Language"), self.language_box)
        self.autosave_spin = QSpinBox()
        self.autosave_spin.setRange(0, MAX_AUTOSAVE_MINUTES)
        self.autosave_spin.setSuffix(" " + tr("min"))
        self.autosave_spin.setSpecialValueText(tr("Off"))
        self.autosave_spin.setValue(prefs.autosave_minutes)
        self.autosave_spin.setToolTip(
            tr("Minutes between autosaves of the project; 0 turns it off")
        )
        form.addRow(tr("Autosave every"), self.autosave_spin)
        self.ioc_edit = QLineEdit(prefs.ioc_url)
        self.ioc_edit.setPlaceholderText("mqtt://host:1883/citytwin/viettri")
        self.ioc_edit.setToolTip(
            tr("Publish live alerts and current values to the provincial IOC over MQTT; "
               "empty: off. The password comes from CITYTWIN_IOC_PASSWORD or the keyring.")
        )
        form.addRow(tr("IOC link"), self.ioc_edit)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        form.addRow(self.buttons)

    def preferences(self) -> Preferences:
        return Preferences(str(self.language_box.currentData()), self.autosave_spin.value(),
                           self.ioc_edit.text().strip())


def language_choices() -> list[tuple[str, str]]:
    """(key, label) for every language choice; each language is named in itself."""
    return [("auto", tr("System")), *i18n.LANGUAGES.items()]
