"""Distance and height measurement between two world points (metres)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Measurement:
    """``distance`` 3D, ``horizontal`` in plan, ``dh`` = b.z − a.z; all metres."""

    a: tuple[float, float, float]
    b: tuple[float, float, float]
    distance: float
    horizontal: float
    dh: float

    def text(self, lang: str = "en") -> str:
        """The label in the view's language (``"en"`` or ``"vi"``; twin has no
        Qt translator, so the two wordings live here, like the legends')."""
        words = _WORDS.get(lang, _WORDS["en"])
        return (
            f"{self.distance:.2f} m  ({words['plan']} {self.horizontal:.2f} m, "
            f"{words['dh']} {self.dh:+.2f} m)"
        )


#: The measurement label's words per language.
_WORDS = {
    "en": {"plan": "plan", "dh": "Δh"},
    "vi": {"plan": "ngang", "dh": "Δh"},
}


def measure(a, b) -> Measurement:
    """Measure from ``a`` to ``b``: (3,) world coordinates in a projected CRS (float64)."""
    pa = np.asarray(a, dtype=np.float64).reshape(3)
    pb = np.asarray(b, dtype=np.float64).reshape(3)
    d = pb - pa
    return Measurement(
        tuple(map(float, pa)),
        tuple(map(float, pb)),
        float(np.linalg.norm(d)),
        float(np.hypot(d[0], d[1])),
        float(d[2]),
    )
