"""CSV replay: a time column and value columns, each mapped to a sensor.

A bad row never stops the feed (issue 14): it is skipped, counted and listed in
:attr:`CsvReplayFeed.problems` as ``file:line: reason`` (the first 100, then a
count of the rest), and every good row of the file is kept:

- the file is decoded **line by line**, so one bad byte loses one line
  (``encoding_errors``), not the file;
- a time that does not parse, or lies outside :data:`TIME_RANGE` (year 0001,
  9999-12-31T23:00-07:00 is past year 9999 in UTC) is one bad row;
- a time **without a zone** takes the feed's declared ``timezone`` with one
  warning naming the first such line (``naive_times`` counts them), or, with
  ``naive_times="refuse"``, is a bad row;
- **numbers** follow the declared ``decimal`` and ``thousands`` separators. With
  the defaults (``.``, none) ``"1,234"`` is a bad value, never 1.234; with
  ``thousands=","`` it is 1234; with ``decimal=","`` it is 1.234;
- **duplicate times** of one column follow the declared policy: ``first``,
  ``last`` or ``mean`` (of the values present), each one listed as a warning and
  counted (``duplicate_times``);
- ``N/A``, ``NA``, ``null``, ``-`` and empty cells are *gaps* (stored as NULL,
  shown as "no data"), never zeros.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import numpy as np

from twin.sim.clock import ICT, to_ms
from twin.sim.feeds.base import Feed
from twin.sim.problems import ProblemLog
from twin.sim.sensors import SensorSet
from twin.sim.store import HistoryStore

GAP_MARKERS = frozenset({"", "n/a", "na", "nan", "null", "none", "-", "--"})
BATCH = 20_000
DUPLICATE_POLICIES = ("first", "last", "mean")
NAIVE_POLICIES = ("assume", "refuse")
#: observation times outside [1900, 2200) are bad rows: a typo'd year must not
#: stretch the timeline over millennia or overflow a conversion
TIME_RANGE = (
    to_ms(datetime(1900, 1, 1, tzinfo=UTC)),
    to_ms(datetime(2200, 1, 1, tzinfo=UTC)),
)


def parse_zone(text: str) -> timezone:
    """``"+07:00"``, ``"-03:30"``, ``"Z"``/``"UTC"`` -> a fixed-offset timezone."""
    s = text.strip()
    if s.upper() in ("Z", "UTC"):
        return UTC
    m = re.fullmatch(r"([+-])(\d{2}):?(\d{2})", s)
    if not m or int(m[2]) > 23 or int(m[3]) > 59:
        raise ValueError(f"expected an offset such as +07:00, got {text!r}")
    delta = timedelta(hours=int(m[2]), minutes=int(m[3]))
    return timezone(delta if m[1] == "+" else -delta)


def number_pattern(decimal: str = ".", thousands: str | None = None) -> re.Pattern:
    """A strict number for the declared separators (grouping in threes)."""
    d = re.escape(decimal)
    whole = r"\d+"
    if thousands:
        whole = rf"(?:\d{{1,3}}(?:{re.escape(thousands)}\d{{3}})+|\d+)"
    return re.compile(rf"[+-]?(?:{whole}(?:{d}\d*)?|{d}\d+)(?:[eE][+-]?\d+)?")


def parse_value(text: str, decimal: str = ".", thousands: str | None = None,
                pattern: re.Pattern | None = None) -> float | None:
    """Float, NaN for a gap marker, None when malformed (a word, ``inf``, or a
    separator the feed did not declare: ``"1,234"`` with the defaults)."""
    s = text.strip()
    if s.lower() in GAP_MARKERS:
        return math.nan
    pattern = pattern or number_pattern(decimal, thousands)
    if not pattern.fullmatch(s):
        return None
    if thousands:
        s = s.replace(thousands, "")
    if decimal != ".":
        s = s.replace(decimal, ".")
    try:
        v = float(s)
    except ValueError:
        return None
    return v if math.isfinite(v) else None


def parse_time(text: str, tz: timezone) -> int | None:
    """Epoch ms of an ISO 8601 timestamp (``Z`` accepted; naive ones take ``tz``),
    None when it does not parse or lies outside :data:`TIME_RANGE`."""
    t, _ = parse_time_checked(text, tz)
    return t


def parse_time_checked(text: str, tz: timezone | None) -> tuple[int | None, str]:
    """``(ms, "")`` or ``(None, reason)``; ``tz=None`` refuses naive times;
    reason ``"naive"`` marks a naive time that took ``tz``."""
    s = text.strip()
    if not s:
        return None, "empty time"
    try:
        t = datetime.fromisoformat(s[:-1] + "+00:00" if s.endswith("Z") else s)
    except ValueError:
        return None, f"bad time {s!r}"
    naive = t.tzinfo is None
    if naive:
        if tz is None:
            return None, f"time {s!r} has no zone (declare timezone, e.g. +07:00)"
        t = t.replace(tzinfo=tz)
    try:
        ms = to_ms(t)
    except (OverflowError, ValueError, OSError):
        return None, f"time {s!r} out of range"
    if not TIME_RANGE[0] <= ms < TIME_RANGE[1]:
        return None, f"time {s!r} out of range (years 1900-2199)"
    return ms, "naive" if naive else ""


class CsvReplayFeed(Feed):
    """Load one CSV file into the store (history replay; the clock then plays it).

    Parameters
    ----------
    path : the CSV file (header row).
    columns : CSV column -> sensor id.
    time_column : name of the timestamp column.
    tz : the feed's declared zone, taken by times written without one.
    encoding : of the file; decoded line by line (an ASCII-compatible encoding:
        utf-8, cp1258, latin-1...). A UTF-8 byte-order mark is skipped.
    decimal, thousands : number separators (``thousands=None``: no grouping).
    duplicates : ``first``, ``last`` or ``mean`` for a column's repeated time.
    naive_times : ``assume`` (take ``tz``, with a warning) or ``refuse``.
    delimiter : field separator (``;`` where ``,`` is the decimal separator).
    """

    kind = "csv"

    def __init__(self, name: str, sensors: SensorSet, store: HistoryStore, path: Path | str,
                 columns: dict[str, str], time_column: str = "time",
                 tz: timezone = ICT, encoding: str = "utf-8", decimal: str = ".",
                 thousands: str | None = None, duplicates: str = "first",
                 naive_times: str = "assume", delimiter: str = ",") -> None:
        super().__init__(name, sensors, store, future_ms=None)
        if duplicates not in DUPLICATE_POLICIES:
            raise ValueError(f"duplicates must be one of {', '.join(DUPLICATE_POLICIES)}")
        if naive_times not in NAIVE_POLICIES:
            raise ValueError(f"naive_times must be one of {', '.join(NAIVE_POLICIES)}")
        if not decimal or decimal == thousands:
            raise ValueError(f"decimal separator {decimal!r} is also the thousands separator")
        self.path = Path(path)
        self.columns = dict(columns)
        self.time_column = time_column
        self.tz = tz
        self.encoding = encoding
        self.decimal, self.thousands = decimal, thousands or None
        self.duplicates = duplicates
        self.naive_times = naive_times
        self.delimiter = delimiter
        self.problems = ProblemLog(100)

    def report(self) -> dict:
        return {**super().report(), "duplicate_policy": self.duplicates,
                "problems": self.problems.total}

    def _problem(self, line: int, reason: str, level: str = "error") -> None:
        self.problems.add(f"{self.path.name}:{line}", reason, level)
        if level == "error":
            self.last_error = f"{self.path.name}:{line}: {reason}"

    def _lines(self, raw: bytes, pos: list[int]) -> Iterator[str]:
        """Decoded lines; an undecodable line is reported and skipped (``pos[0]``:
        the physical line number of the last line handed out)."""
        if raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        for no, chunk in enumerate(raw.splitlines(keepends=True), start=1):
            try:
                text = chunk.decode(self.encoding)
            except UnicodeDecodeError as exc:
                self.counters["encoding_errors"] += 1
                self.counters["bad_rows"] += 1
                self._problem(no, f"not {self.encoding} text (byte {exc.start + 1} of the line)")
                continue
            pos[0] = no
            yield text

    def run(self) -> None:
        self.status = "running"
        self.problems.clear()
        try:
            raw = self.path.read_bytes()
        except OSError as exc:
            self.fail(f"{self.path}: cannot read: {exc.strerror or exc}")
            return
        pos = [0]
        reader = csv.reader(self._lines(raw, pos), delimiter=self.delimiter)
        try:
            header = next(reader, None)
        except csv.Error as exc:
            self.fail(f"{self.path}: header: {exc}")
            return
        if header is None:
            self.fail(f"{self.path}: empty file")
            return
        header = [h.strip() for h in header]
        missing = [c for c in [self.time_column, *self.columns] if c not in header]
        if missing:
            self.fail(f"{self.path}: no column {missing[0]!r}; have {', '.join(header)}")
            return
        ti = header.index(self.time_column)
        cols = [(header.index(c), self.sensors.index(s)) for c, s in self.columns.items()]
        tz = self.tz if self.naive_times == "assume" else None
        pattern = number_pattern(self.decimal, self.thousands)
        sens: list[int] = []
        times: list[int] = []
        vals: list[float] = []
        lines: list[int] = []
        rows = 0
        while True:
            if self._stop.is_set():
                return
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:  # e.g. a NUL byte, an unterminated quote
                self.counters["bad_rows"] += 1
                self._problem(pos[0], f"unreadable row: {exc}")
                continue
            line_no = pos[0]
            if len(row) != len(header):
                if not any(cell.strip() for cell in row):
                    continue  # blank line
                rows += 1
                self.counters["bad_rows"] += 1
                self._problem(line_no, f"{len(row)} fields, expected {len(header)}")
                continue
            rows += 1
            t, why = parse_time_checked(row[ti], tz)
            if t is None:
                self.counters["bad_rows"] += 1
                self._problem(line_no, why)
                continue
            if why == "naive":
                self.counters["naive_times"] += 1
                if self.counters["naive_times"] == 1:
                    self._problem(line_no, f"time {row[ti].strip()!r} has no zone: taken as "
                                  f"{_zone_text(self.tz)} (the feed's timezone), as are the "
                                  "other such rows", "warning")
            for ci, si in cols:
                v = parse_value(row[ci], self.decimal, self.thousands, pattern)
                if v is None:
                    self.counters["malformed"] += 1
                    self._problem(line_no, f"bad value {row[ci].strip()!r} in column "
                                  f"{header[ci]!r}{self._separator_hint(row[ci])}")
                    continue
                sens.append(si)
                times.append(t)
                vals.append(v)
                lines.append(line_no)
        self.counters["rows"] = rows
        self._write(np.array(sens, dtype=np.int64), np.array(times, dtype=np.int64),
                    np.array(vals, dtype=np.float64), np.array(lines, dtype=np.int64))

    def _separator_hint(self, cell: str) -> str:
        other = {",", "."} - {self.decimal, self.thousands or ""}
        return (f" (separator {', '.join(sorted(other))} is not declared: set decimal "
                "or thousands)") if any(c in cell for c in other) else ""

    def _write(self, sens: np.ndarray, t: np.ndarray, v: np.ndarray, lines: np.ndarray) -> None:
        """Apply the duplicate policy within the file (vectorised), then write in
        batches; the store reports rows already there and differing values."""
        if sens.size:
            order = np.lexsort((lines, t, sens))  # by sensor, time, then file order
            sens, t, v, lines = sens[order], t[order], v[order], lines[order]
            start = np.r_[True, (sens[1:] != sens[:-1]) | (t[1:] != t[:-1])]
            group = np.cumsum(start) - 1
            first = np.flatnonzero(start)
            size = np.diff(np.r_[first, sens.size])
            for k in np.flatnonzero(size > 1)[:100]:
                a = first[k]
                self._problem(int(lines[a + 1]), f"time repeats line {int(lines[a])} for "
                              f"{self.sensors.ids[sens[a]]}: {self.duplicates} value kept "
                              "(duplicates policy)", "warning")
            self.counters["duplicate_times"] += int((size - 1).sum())
            pick = first if self.duplicates == "first" else first + size - 1
            out_v = v[pick].copy()
            if self.duplicates == "mean" and (size > 1).any():
                ok = np.isfinite(v)
                total = np.bincount(group, weights=np.where(ok, v, 0.0), minlength=len(first))
                count = np.bincount(group, weights=ok, minlength=len(first))
                with np.errstate(invalid="ignore", divide="ignore"):
                    out_v = np.where(count > 0, total / count, np.nan)
            sens, t, v = sens[first], t[first], out_v
        self.counters["gaps"] += int((~np.isfinite(v)).sum())
        self.counters["received"] += int(sens.size)
        for k in range(0, max(int(sens.size), 1), BATCH):
            res = self.store.write_batch(sens[k:k + BATCH], t[k:k + BATCH], v[k:k + BATCH])
            self.counters["written"] += res.new
            self.counters["duplicates"] += res.duplicates
            self.counters["conflicts"] += len(res.conflicts)
            for sid, tt, old, got in res.conflicts[:10]:
                self.problems.add(f"{self.path.name}", f"{sid} at {tt} ms: {got} differs from "
                                  f"the stored {old}; kept the stored value", "warning")


def _zone_text(tz: timezone) -> str:
    off = tz.utcoffset(None)
    minutes = int(off.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
