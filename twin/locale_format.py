"""Numbers and dates as a reader of each UI language expects them, without Qt.

Vietnamese writes dates day first (``02/06/2025``) and numbers with a decimal
comma (``12,5``; thousands, when grouped, with a dot: ``1.234,5``). English
keeps the formats the app has always shown: ISO-like dates (``2025-06-02``)
and a decimal point. These functions serve the window *and* headless reports
(no Qt here, so ``twin`` can use them); files and CLI output never go through
them: they stay machine-readable (ISO 8601, decimal point).
"""

from __future__ import annotations

import math
from datetime import date, datetime

#: languages with their own formats; anything else reads as English
LANGUAGES = ("en", "vi")

_DATE = {"en": "%Y-%m-%d", "vi": "%d/%m/%Y"}
_TIME = {"en": "%H:%M", "vi": "%H:%M"}
_SECONDS = {"en": "%H:%M:%S", "vi": "%H:%M:%S"}
_MONTH = {"en": "%Y-%m", "vi": "%m/%Y"}
_DAY_MONTH = {"en": "%m-%d", "vi": "%d/%m"}
#: (decimal mark, thousands separator)
_MARKS = {"en": (".", ","), "vi": (",", ".")}


def _lang(lang: str | None) -> str:
    return lang if lang in LANGUAGES else "en"


def decimal_mark(lang: str | None) -> str:
    """``"."`` in English, ``","`` in Vietnamese."""
    return _MARKS[_lang(lang)][0]


def format_number(
    x: object,
    lang: str | None = "en",
    decimals: int | None = None,
    *,
    group: bool = False,
    missing: str = "",
) -> str:
    """``x`` with the language's decimal mark.

    ``decimals=None`` shows up to 3 decimals without trailing zeros (``12.5``,
    ``3``); an int fixes them (``12.50``). ``group`` adds thousands separators
    (off by default: years and codes must not read ``2.025``). None, NaN and
    text that is not a number give ``missing``; integers stay integers.
    """
    if x is None or isinstance(x, bool):
        return missing if x is None else str(x)
    try:
        value = float(x)  # numpy scalars, Decimal, numeric strings
    except (TypeError, ValueError):
        return missing
    if math.isnan(value):
        return missing
    if math.isinf(value):
        return "∞" if value > 0 else "-∞"
    sep = "," if group else ""
    if decimals is None:
        text = f"{value:{sep}.3f}".rstrip("0").rstrip(".")
        if text in ("-0", ""):
            text = "0"
    else:
        text = f"{value:{sep}.{max(int(decimals), 0)}f}"
    point, thousands = _MARKS[_lang(lang)]
    if point == ".":
        return text
    return text.translate(str.maketrans({",": thousands, ".": point}))


def format_significant(x: object, lang: str | None = "en", digits: int = 4,
                       missing: str = "") -> str:
    """``x`` to ``digits`` significant figures (``%g``), with the language's mark:
    sensor readings and axis ends, whose magnitude varies."""
    try:
        value = float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return missing
    if math.isnan(value):
        return missing
    text = f"{value:.{digits}g}"
    return text.replace(".", decimal_mark(lang)) if _lang(lang) == "vi" else text


def format_date(d: date | datetime, lang: str | None = "en") -> str:
    """``2025-06-02`` (English) or ``02/06/2025`` (Vietnamese)."""
    return d.strftime(_DATE[_lang(lang)])


def format_datetime(dt: datetime, lang: str | None = "en", seconds: bool = False) -> str:
    """``2025-06-02 09:00`` (English) or ``02/06/2025 09:00`` (Vietnamese), in
    the datetime's own time zone (the scene's local time)."""
    clock = (_SECONDS if seconds else _TIME)[_lang(lang)]
    return f"{format_date(dt, lang)} {dt.strftime(clock)}"


def format_month(d: date | datetime, lang: str | None = "en") -> str:
    """``2025-06`` or ``06/2025``: a month on a time axis."""
    return d.strftime(_MONTH[_lang(lang)])


def format_day_month(d: date | datetime, lang: str | None = "en") -> str:
    """``06-02`` or ``02/06``: a day on a short time axis."""
    return d.strftime(_DAY_MONTH[_lang(lang)])


def parse_number(text: str, lang: str | None = "en") -> float:
    """Read back a number typed the language's way (``12,5`` in Vietnamese);
    raises ``ValueError`` when it is not one."""
    text = text.strip()
    point, thousands = _MARKS[_lang(lang)]
    if point == ",":
        text = text.replace(thousands, "").replace(",", ".")
    else:
        text = text.replace(thousands, "")
    return float(text)
