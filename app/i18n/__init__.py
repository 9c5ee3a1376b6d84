"""UI language: Qt translation files (``citytwin_vi.ts`` -> ``.qm``) and the chooser.

Every user-visible string goes through :func:`tr` (one translation context,
``CityTwin``), so ``citytwin_vi.ts`` is the single list a translator edits.
The ``.qm`` is built from it with ``pyside6-lrelease``; if the ``.qm`` is
missing (a checkout without the build step) :func:`install` compiles the
``.ts`` into an in-memory :class:`DictTranslator` instead, so Vietnamese
always works.

The language switches live: :func:`install` swaps the translator, Qt sends
every widget a ``LanguageChange`` event, and each window and panel (through
:class:`Translatable`) sets its texts again in its ``retranslate()`` — the
one place where each of its strings is written.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QEvent, QLocale, QTranslator

HERE = Path(__file__).resolve().parent
CONTEXT = "CityTwin"
LANGUAGES = {"en": "English", "vi": "Tiếng Việt"}


def tr(text: str) -> str:
    """Translate ``text`` with the installed translator (identity for English)."""
    return QCoreApplication.translate(CONTEXT, text)


def choose_language(preference: str | None, system_locale: str | None = None) -> str:
    """``"vi"`` or ``"en"``: the preference if it names one, else the system locale."""
    if preference in LANGUAGES:
        return preference
    name = system_locale if system_locale is not None else QLocale.system().name()
    return "vi" if name.lower().startswith("vi") else "en"


def read_ts(path: Path) -> dict[tuple[str, str], str]:
    """(context, source) -> translation from a Qt Linguist ``.ts`` file."""
    out: dict[tuple[str, str], str] = {}
    root = ET.parse(path).getroot()  # our own bundled file, not user input
    for ctx in root.iter("context"):
        name = ctx.findtext("name") or ""
        for msg in ctx.iter("message"):
            source = msg.findtext("source")
            trans = msg.find("translation")
            if source and trans is not None and trans.text and trans.get("type") != "obsolete":
                out[(name, source)] = trans.text
    return out


class DictTranslator(QTranslator):
    """A translator over a parsed ``.ts`` (fallback when no ``.qm`` was built)."""

    def __init__(self, table: dict[tuple[str, str], str]) -> None:
        super().__init__()
        self._table = table

    def translate(self, context, source, disambiguation=None, n=-1):
        return self._table.get((context, source)) or None

    def isEmpty(self) -> bool:
        return not self._table


class Translatable:
    """Mixin for a widget with a ``retranslate()`` method: called again whenever
    the installed language changes, so texts switch without a restart.

    List it before the Qt base class: ``class Panel(Translatable, QDockWidget)``.
    """

    def retranslate(self) -> None:
        raise NotImplementedError

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)


#: Contexts in which Qt itself names the standard dialog buttons (QDialogButtonBox,
#: QMessageBox): the generic, GNOME and KDE platform themes.
QT_BUTTON_CONTEXTS = ("QPlatformTheme", "QGnomeTheme", "QKdeTheme", "QDialogButtonBox")


#: Qt's source text of each standard button -> the literal it has in our table
#: (the ``&`` variants are the themes'; :func:`standard_button_texts` lists them).
BUTTON_KEYS = {
    **{k: k for k in ("OK", "Cancel", "&Yes", "&No", "Yes to &All", "N&o to All", "Apply")},
    **{k: k for k in ("Close", "Save", "Save All", "Open", "Discard", "Don't Save", "Help")},
    **{k: k for k in ("Close without Saving", "Reset", "Restore Defaults", "Abort", "Retry")},
    "Ignore": "Ignore",
    "&OK": "OK",
    "&Cancel": "Cancel",
    "&Close": "Close",
    "&Save": "Save",
}


def standard_button_texts() -> list[str]:
    """The standard buttons' texts in the installed language.

    PySide6 ships no ``qtbase_vi.qm``, so OK/Cancel/Yes/No of every dialog would
    stay English in a Vietnamese window: these literals put them into
    ``citytwin_vi.ts`` with the rest, and :class:`ButtonTranslator` serves them.
    """
    return [
        tr("OK"), tr("Cancel"), tr("&Yes"), tr("&No"), tr("Yes to &All"), tr("N&o to All"),
        tr("Apply"), tr("Close"), tr("Save"), tr("Save All"), tr("Open"), tr("Discard"),
        tr("Don't Save"), tr("Help"), tr("Close without Saving"), tr("Reset"),
        tr("Restore Defaults"), tr("Abort"), tr("Retry"), tr("Ignore"),
    ]  # fmt: skip


class ButtonTranslator(QTranslator):
    """Translates Qt's standard button texts through our own translation table
    (installed with it: :func:`install`)."""

    def __init__(self, main: QTranslator) -> None:
        super().__init__()
        self._main = main

    def translate(self, context, source, disambiguation=None, n=-1):
        key = BUTTON_KEYS.get(source) if context in QT_BUTTON_CONTEXTS else None
        return self._main.translate(CONTEXT, key) or None if key is not None else None

    def isEmpty(self) -> bool:
        return False


_installed: list[QTranslator] = []
_current = ["en"]


def current() -> str:
    """The language whose translator is installed (``"en"``: none)."""
    return _current[0]


def install(language: str) -> QTranslator | None:
    """Install the translator for ``language`` on the running QCoreApplication.

    Qt then posts a ``LanguageChange`` event to every widget (see :class:`Translatable`).
    """
    app = QCoreApplication.instance()
    for old in _installed:
        app.removeTranslator(old)
    _installed.clear()
    _current[0] = "en"
    if language == "en":
        return None
    translator: QTranslator = QTranslator()
    qm = HERE / f"citytwin_{language}.qm"
    if not (qm.exists() and translator.load(str(qm))):
        ts = HERE / f"citytwin_{language}.ts"
        if not ts.exists():
            return None
        translator = DictTranslator(read_ts(ts))
    buttons = ButtonTranslator(translator)
    # the button translator first, so it has its say before the LanguageChange
    # the main one triggers reaches the dialogs
    app.installTranslator(buttons)
    app.installTranslator(translator)
    _installed.extend([buttons, translator])
    _current[0] = language
    return translator
