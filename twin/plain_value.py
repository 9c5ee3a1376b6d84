"""One rule for turning a feature-table cell into a JSON/CSV value.

Every export (CSV, GeoJSON, 3D Tiles batch tables) must agree on what a missing
or non-finite value becomes, or a portal and a spreadsheet show the same
feature differently.
"""

from __future__ import annotations

import math
from datetime import date, datetime

import numpy as np


def plain_value(value: object) -> object:
    """A JSON-ready Python value: NaN/inf and None -> None, numpy scalars unwrapped,
    dates as ISO 8601, anything else exotic as its text."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if not isinstance(value, (str, int, float, bool)):
        return str(value)
    return value
