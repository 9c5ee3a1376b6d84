"""Colours of a compliance result: violating buildings and lots red, complying
ones green, unchecked grey; and the legend that explains them. Plain arrays:
the view applies them with ``SceneView.set_feature_colors``."""

from __future__ import annotations

import numpy as np

from twin.compliance.report import word
from twin.compliance.rules import CheckResult

BREAKS = (214, 40, 40)
COMPLIES = (70, 170, 90)
NOT_CHECKED = (190, 190, 190)
LOT_BREAKS = (245, 170, 160)
LOT_COMPLIES = (200, 230, 190)
LOT_NO_RULES = (225, 222, 210)
LEGEND_KEY = "compliance"


def building_colors(result: CheckResult, layer_name: str, n: int) -> np.ndarray:
    """(n, 3) uint8 for the features of one building layer."""
    out = np.tile(np.array(NOT_CHECKED, np.uint8), (n, 1))
    b = result.buildings
    # checked: on a lot with at least one indicator; a building on a lot without
    # any is not shown as complying with rules that do not exist
    ruled = result.checked
    mine = np.flatnonzero(b.layer == layer_name)
    if mine.size and b.row[mine[0]] < 0:  # a whole IFC model
        if ruled[mine].any():
            out[:] = BREAKS if result.failing[mine].any() else COMPLIES
        return out
    rows = b.row[mine]
    out[rows[ruled[mine]]] = COMPLIES
    out[rows[result.failing[mine]]] = BREAKS
    return out


def lot_colors(result: CheckResult) -> np.ndarray:
    """(n_lots, 3) uint8: lots with a violation, lots with rules, lots without."""
    out = np.tile(np.array(LOT_NO_RULES, np.uint8), (len(result.lots), 1))
    out[result.lots.has_rules()] = LOT_COMPLIES
    out[result.failing_lots] = LOT_BREAKS
    return out


def legend(lang: str = "en"):
    """The legend of these colours (a ``twin.render.legend_model.LegendSpec``)."""
    from twin.render.legend_model import LegendSpec, Swatch

    return LegendSpec(
        key=LEGEND_KEY,
        title=word("title", lang),
        swatches=(
            Swatch(BREAKS, word("breaks", lang)),
            Swatch(COMPLIES, word("complies", lang)),
            Swatch(NOT_CHECKED, word("not_checked", lang)),
            Swatch(LOT_BREAKS, word("lot", lang) + ": " + word("breaks", lang)),
            Swatch(LOT_COMPLIES, word("lot", lang) + ": " + word("complies", lang)),
        ),
        lang=lang,
    )
