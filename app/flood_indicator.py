"""Status-bar flag for the district flood warning.

The simulation joins the river gauges and the manholes into one warning
(``twin.sim.rules.flood_warning``); an operator must see it without opening the
sensor table, so it sits beside the feed health in the status bar, hidden while
all is normal.
"""

from __future__ import annotations

import contextlib

from PySide6.QtWidgets import QLabel

from app import i18n
from app.i18n import tr
from twin.sim.kinds import kind_name

#: text colour per level (1 warning, 2 alarm), as the alert glyphs
LEVEL_COLOURS = {1: "#c77c00", 2: "#c0282d"}


class FloodIndicator(QLabel):
    """Shows "Flood warning" / "Flood alarm" with the causes; hidden when normal."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("flood_indicator")
        self.sim = None
        self.level = -1
        self.causes: dict[str, int] = {}
        self.hide()

    def bind(self, sim) -> None:
        """Follow ``sim`` (None: show nothing)."""
        if self.sim is not None:
            with contextlib.suppress(TypeError, ValueError):
                self.sim.events.updated.disconnect(self.refresh)
        self.sim = sim
        if sim is not None:
            sim.events.updated.connect(self.refresh)
        self.refresh()

    def refresh(self, *_: object) -> None:
        level, causes = getattr(self.sim, "flood_warning", (-1, {})) if self.sim else (-1, {})
        self.level, self.causes = level, dict(causes)
        if level < 1:
            self.hide()
            return
        lang = i18n.current()
        head = tr("Flood alarm") if level >= 2 else tr("Flood warning")
        why = ", ".join(f"{kind_name(k, lang)}: {n}" for k, n in sorted(causes.items()))
        self.setText(f"⚠ {head}" + (f" ({why})" if why else ""))
        colour = LEVEL_COLOURS[min(level, 2)]
        self.setStyleSheet(f"QLabel {{ color: {colour}; font-weight: bold; }}")
        self.setToolTip(tr("River gauges and manholes at warning level or above"))
        self.show()
