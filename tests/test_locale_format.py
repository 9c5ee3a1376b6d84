"""Vietnamese reads dd/mm/yyyy and a decimal comma; English keeps its formats."""

from __future__ import annotations

import subprocess
import sys
from datetime import date, datetime, timedelta, timezone

import numpy as np
import pytest

from twin.locale_format import (
    format_date,
    format_datetime,
    format_month,
    format_number,
    format_significant,
    parse_number,
)

ICT = timezone(timedelta(hours=7))


@pytest.mark.parametrize(
    ("value", "lang", "decimals", "expected"),
    [
        (12.5, "vi", None, "12,5"),
        (12.5, "en", None, "12.5"),
        (3.0, "vi", None, "3"),
        (0.35, "vi", 2, "0,35"),
        (1234.5, "vi", 1, "1234,5"),
        (-0.0001, "vi", None, "0"),
        (np.float32(2.25), "vi", 2, "2,25"),
        (np.int64(2025), "vi", None, "2025"),  # a year never reads 2.025
        (100, "en", None, "100"),
    ],
)
def test_numbers(value, lang, decimals, expected):
    assert format_number(value, lang, decimals) == expected


def test_grouping_swaps_the_marks_in_vietnamese():
    assert format_number(1234567.891, "vi", 2, group=True) == "1.234.567,89"
    assert format_number(1234567.891, "en", 2, group=True) == "1,234,567.89"


def test_missing_values_and_text():
    assert format_number(None, "vi") == ""
    assert format_number(float("nan"), "vi", missing="—") == "—"
    assert format_number("abc", "en", missing="?") == "?"
    assert format_number(float("inf"), "vi") == "∞"
    assert format_significant(0.0012345, "vi") == "0,001234"
    assert format_significant(12345678, "en") == "1.235e+07"


def test_dates_day_first_in_vietnamese():
    t = datetime(2025, 6, 2, 9, 5, 7, tzinfo=ICT)
    assert format_date(t, "vi") == "02/06/2025"
    assert format_date(date(2025, 6, 2), "en") == "2025-06-02"
    assert format_datetime(t, "vi") == "02/06/2025 09:05"
    assert format_datetime(t, "en") == "2025-06-02 09:05"
    assert format_datetime(t, "vi", seconds=True) == "02/06/2025 09:05:07"
    assert format_month(t, "vi") == "06/2025"
    # an unknown language reads as English
    assert format_date(t, "fr") == "2025-06-02"


def test_round_trip_of_typed_numbers():
    assert parse_number("1.234,5", "vi") == 1234.5
    assert parse_number("12,5", "vi") == 12.5
    assert parse_number("1,234.5", "en") == 1234.5
    with pytest.raises(ValueError):
        parse_number("12,5 m", "vi")


def test_module_needs_no_qt():
    code = "import sys, twin.locale_format; print('PySide6' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
