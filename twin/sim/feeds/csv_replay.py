"""CSV replay: a time column and value columns, each mapped to a sensor.

``N/A``, ``NA``, ``null``, ``-`` and empty cells are *gaps* (stored as NULL,
shown as "no data"), never zeros. A row whose time does not parse, or whose
field count is wrong, is counted in ``bad_rows`` and skipped; a value cell that
is neither a number nor a gap marker is counted in ``malformed``. Naive
timestamps take the feed's timezone (``+07:00`` for Vietnamese data).
"""

from __future__ import annotations

import csv
import math
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from twin.sim.clock import ICT, to_ms
from twin.sim.feeds.base import Feed
from twin.sim.sensors import SensorSet
from twin.sim.store import HistoryStore

GAP_MARKERS = frozenset({"", "n/a", "na", "nan", "null", "none", "-", "--"})
BATCH = 20_000


def parse_value(text: str) -> float | None:
    """Float, NaN for a gap marker, None when malformed (a word, ``inf``)."""
    s = text.strip()
    if s.lower() in GAP_MARKERS:
        return math.nan
    try:
        v = float(s.replace(",", ".")) if s.count(",") == 1 and "." not in s else float(s)
    except ValueError:
        return None
    return v if math.isfinite(v) else None


def parse_time(text: str, tz: timezone) -> int | None:
    """Epoch ms of an ISO 8601 timestamp (``Z`` accepted), None when it does not parse."""
    s = text.strip()
    if not s:
        return None
    try:
        t = datetime.fromisoformat(s[:-1] + "+00:00" if s.endswith("Z") else s)
    except ValueError:
        return None
    if t.tzinfo is None:
        t = t.replace(tzinfo=tz)
    return to_ms(t)


class CsvReplayFeed(Feed):
    """Load one CSV file into the store (history replay; the clock then plays it).

    Parameters
    ----------
    path : the CSV file (UTF-8, header row).
    columns : CSV column -> sensor id.
    time_column : name of the timestamp column.
    tz : timezone for naive timestamps.
    """

    kind = "csv"

    def __init__(self, name: str, sensors: SensorSet, store: HistoryStore, path: Path | str,
                 columns: dict[str, str], time_column: str = "time",
                 tz: timezone = ICT) -> None:
        super().__init__(name, sensors, store, future_ms=None)
        self.path = Path(path)
        self.columns = dict(columns)
        self.time_column = time_column
        self.tz = tz

    def run(self) -> None:
        self.status = "running"
        try:
            handle = self.path.open(newline="", encoding="utf-8-sig")
        except OSError as exc:
            self.fail(f"{self.path}: cannot read: {exc.strerror or exc}")
            return
        with handle:
            reader = csv.reader(handle)
            header = next(reader, None)
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
            sens: list[int] = []
            times: list[int] = []
            vals: list[float] = []
            for line_no, row in enumerate(reader, start=2):
                if self._stop.is_set():
                    return
                if len(row) != len(header):
                    if not any(cell.strip() for cell in row):
                        continue  # blank line
                    self.counters["bad_rows"] += 1
                    self.last_error = f"line {line_no}: {len(row)} fields, expected {len(header)}"
                    continue
                t = parse_time(row[ti], self.tz)
                if t is None:
                    self.counters["bad_rows"] += 1
                    self.last_error = f"line {line_no}: bad time {row[ti]!r}"
                    continue
                for ci, si in cols:
                    v = parse_value(row[ci])
                    if v is None:
                        self.counters["malformed"] += 1
                        self.last_error = f"line {line_no}: bad value {row[ci]!r}"
                        continue
                    sens.append(si)
                    times.append(t)
                    vals.append(v)
                if len(sens) >= BATCH:
                    self.write(np.array(sens, dtype=np.int64), times, vals)
                    sens, times, vals = [], [], []
            self.write(np.array(sens, dtype=np.int64), times, vals)
        self.counters["rows"] = line_no - 1 if "line_no" in locals() else 0
